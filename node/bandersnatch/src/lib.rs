//! Bandersnatch VRFs of GP appendix G (`bandersnatch.tex`), on `ark-vrf`.
//!
//! * `F_k⟨c⟩(m)`: IETF VRF signatures (96 octets: output point, then the
//!   Schnorr-like proof), used for block seals and the entropy source.
//! * `F̄_r⟨c⟩(m)`: ring VRF proofs (784 octets: output point, then the
//!   Pedersen and ring proofs), used for Safrole tickets, against a ring root
//!   `r = O(keys)` (144 octets, a KZG commitment to the keys).
//! * `Y(s)`: the VRF output hash, first 32 octets, for either kind.
//!
//! Signing (for block authoring and tickets) is [`SecretKey`]: IETF VRF
//! signatures with [`SecretKey::ietf_sign`], ring proofs with
//! [`RingContext::ring_prove`]; secrets are derived from seeds as JIP-5 does.
//!
//! The curve arithmetic, hash-to-curve, transcript and proof systems are
//! `ark-vrf`'s (version 0.1, the one the GP 0.7.2 vectors were made with;
//! see the vectors' `stf/safrole/README.md`). This crate only fixes the
//! encodings and the GP's conventions: a key that is not a curve point is
//! replaced by the padding point when building a ring.

use ark_vrf::ietf::{Prover as IetfProver, Verifier as _};
use ark_vrf::reexports::ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use ark_vrf::ring::{Prover as RingProver, Verifier as RingVerifier};
use ark_vrf::suites::bandersnatch as suite;

mod srs;
pub use srs::ZCASH_SRS;

/// A Bandersnatch public key.
pub type PublicKey = [u8; 32];
/// An IETF VRF signature (`F`).
pub type Signature = [u8; 96];
/// A ring VRF proof (`F̄`).
pub type RingProof = [u8; 784];
/// A ring root / commitment (`γ_z`).
pub type RingRoot = [u8; 144];
/// A VRF output hash `Y(·)`.
pub type VrfOutput = [u8; 32];

/// Why a signature or proof was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VrfError {
    /// The octets do not encode a valid signature/proof (bad point or scalar).
    #[error("malformed VRF signature or proof")]
    Malformed,
    /// The public key is not a point on the curve.
    #[error("public key is not a Bandersnatch point")]
    BadPublicKey,
    /// The ring root does not decode.
    #[error("malformed ring root")]
    BadRingRoot,
    /// The VRF input could not be hashed to the curve.
    #[error("VRF input cannot be mapped to the curve")]
    BadInput,
    /// The signature or proof does not verify.
    #[error("VRF signature or proof does not verify")]
    Invalid,
}

/// Why the ring parameters could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SrsError {
    /// The SRS octets are not an uncompressed KZG setup.
    #[error("SRS does not decode: {0}")]
    Decode(String),
    /// The SRS has too few powers for the ring size.
    #[error("SRS too small for a ring of {0} keys")]
    TooSmall(usize),
}

fn output_hash(output: &ark_vrf::Output<suite::BandersnatchSha512Ell2>) -> VrfOutput {
    let hash = output.hash();
    let mut out = [0u8; 32];
    out.copy_from_slice(&hash[..32]);
    out
}

/// Decodes `T` from exactly `bytes`, accepting only its canonical encoding.
///
/// `ark-vrf` reduces scalars modulo the group order when it reads them, so
/// a proof's challenge `c` and `c + r` would both verify: anyone could
/// re-encode a block seal into a second valid block with another hash.
/// Requiring the octets to be what the value serializes to closes that
/// (and any other non-canonical point or scalar encoding).
/// `output ‖ proof`, compressed, in `N` octets: the 32-octet VRF output
/// first, as the signatures of GP §G (`F` and `\bar F`) lay them out.
fn output_and_proof<const N: usize>(
    output: &impl CanonicalSerialize,
    proof: &impl CanonicalSerialize,
) -> Result<[u8; N], VrfError> {
    let mut out = [0u8; N];
    let (head, tail) = out.split_at_mut(32);
    output
        .serialize_compressed(head)
        .map_err(|_| VrfError::Malformed)?;
    proof
        .serialize_compressed(tail)
        .map_err(|_| VrfError::Malformed)?;
    Ok(out)
}

fn decode_canonical<T: CanonicalDeserialize + CanonicalSerialize>(
    bytes: &[u8],
) -> Result<T, VrfError> {
    let value = T::deserialize_compressed(bytes).map_err(|_| VrfError::Malformed)?;
    let mut again = Vec::with_capacity(bytes.len());
    value
        .serialize_compressed(&mut again)
        .map_err(|_| VrfError::Malformed)?;
    if again == bytes {
        Ok(value)
    } else {
        Err(VrfError::Malformed)
    }
}

fn decode_output(bytes: &[u8]) -> Result<suite::Output, VrfError> {
    decode_canonical(bytes)
}

/// `Y(s)`: the output hash of a signature or proof without verifying it
/// (GP uses it for the entropy source before the seal is checked elsewhere).
pub fn vrf_output(signature_or_proof: &[u8]) -> Result<VrfOutput, VrfError> {
    let point = signature_or_proof.get(..32).ok_or(VrfError::Malformed)?;
    Ok(output_hash(&decode_output(point)?))
}

/// Verifies an IETF VRF signature `F_key⟨context⟩(message)` and returns `Y`.
pub fn ietf_verify(
    key: &PublicKey,
    context: &[u8],
    message: &[u8],
    signature: &Signature,
) -> Result<VrfOutput, VrfError> {
    let public =
        suite::Public::deserialize_compressed(&key[..]).map_err(|_| VrfError::BadPublicKey)?;
    let input = suite::Input::new(context).ok_or(VrfError::BadInput)?;
    let output = decode_output(&signature[..32])?;
    let proof: suite::IetfProof = decode_canonical(&signature[32..])?;
    public
        .verify(input, output, message, &proof)
        .map_err(|_| VrfError::Invalid)?;
    Ok(output_hash(&output))
}

/// The ring member a key stands for in `O(keys)` (GP eq. G.3): the key's
/// point, or the padding point when the key has "no corresponding
/// Bandersnatch point". Only that is checked: a point on the curve outside
/// the prime-order subgroup stays in the ring as it is (the jam-conformance
/// trace 1766243493_1016 has such a pending key at an epoch change, and its
/// ring root keeps it).
fn ring_point(key: &PublicKey) -> suite::AffinePoint {
    suite::Public::deserialize_compressed_unchecked(&key[..])
        .map_or_else(|_| suite::RingProofParams::padding_point(), |p| p.0)
}

/// A Bandersnatch secret key: a scalar of the prime-order subgroup, with
/// its public key.
///
/// Used to author blocks (seal and entropy source, [`SecretKey::ietf_sign`])
/// and tickets ([`RingContext::ring_prove`]). `Debug` shows only the public
/// key.
#[derive(Clone)]
pub struct SecretKey(suite::Secret);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey")
            .field("public", &self.public())
            .finish_non_exhaustive()
    }
}

impl SecretKey {
    /// The secret whose scalar is `SHA-512(seed)` read little-endian,
    /// modulo the group order (`ark-vrf`'s `Secret::from_seed`): JIP-5's
    /// `bandersnatch_scalar` for `seed = bandersnatch_secret`.
    pub fn from_seed(seed: &[u8]) -> Self {
        Self(suite::Secret::from_seed(seed))
    }

    /// The public key, compressed.
    pub fn public(&self) -> PublicKey {
        let mut out = [0u8; 32];
        // A compressed Bandersnatch point is exactly 32 octets.
        if self.0.public().serialize_compressed(&mut out[..]).is_err() {
            debug_assert!(false, "a public key is 32 octets");
        }
        out
    }

    /// `Y` of any signature or proof of this key under `context`: the VRF
    /// output depends on the key and the context only, not on the message
    /// (which lets a block author know `Y(H_S)` before sealing, GP eq. 6.17).
    pub fn vrf_output(&self, context: &[u8]) -> Result<VrfOutput, VrfError> {
        let input = suite::Input::new(context).ok_or(VrfError::BadInput)?;
        Ok(output_hash(&self.0.output(input)))
    }

    /// `F_k⟨context⟩(message)`: an IETF VRF signature (output point, then
    /// the proof), which [`ietf_verify`] accepts with this key's public key.
    pub fn ietf_sign(&self, context: &[u8], message: &[u8]) -> Result<Signature, VrfError> {
        let input = suite::Input::new(context).ok_or(VrfError::BadInput)?;
        let output = self.0.output(input);
        let proof = IetfProver::prove(&self.0, input, output, message);
        output_and_proof(&output, &proof)
    }
}

/// Ring proof parameters for one ring size, built once from a KZG SRS.
///
/// Building them costs milliseconds to seconds (full: 1023 keys); keep one
/// per ring size.
pub struct RingContext {
    params: suite::RingProofParams,
    ring_size: usize,
    /// The last few ring roots by key set: the validator set rarely changes
    /// between epochs, and a commitment costs tens of milliseconds.
    roots: std::sync::Mutex<Vec<(Vec<PublicKey>, RingRoot)>>,
}

/// How many recent ring roots [`RingContext::ring_root`] remembers.
const REMEMBERED_ROOTS: usize = 4;

impl std::fmt::Debug for RingContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingContext")
            .field("ring_size", &self.ring_size)
            .finish_non_exhaustive()
    }
}

impl RingContext {
    /// Builds parameters for rings of `ring_size` keys from an uncompressed
    /// KZG SRS over BLS12-381 (the Zcash powers-of-tau setup, 2^11 powers).
    pub fn from_srs(srs: &[u8], ring_size: usize) -> Result<Self, SrsError> {
        let pcs = suite::PcsParams::deserialize_uncompressed_unchecked(srs)
            .map_err(|e| SrsError::Decode(e.to_string()))?;
        let params = suite::RingProofParams::from_pcs_params(ring_size, pcs)
            .map_err(|_| SrsError::TooSmall(ring_size))?;
        Ok(Self {
            params,
            ring_size,
            roots: std::sync::Mutex::default(),
        })
    }

    /// The ring size these parameters serve.
    pub fn ring_size(&self) -> usize {
        self.ring_size
    }

    /// `O(keys)`: the ring root of `keys` (GP eq. G.3), keys that are not
    /// curve points replaced by the padding point (`ring_point`).
    ///
    /// The last few results are remembered by key set.
    pub fn ring_root(&self, keys: &[PublicKey]) -> RingRoot {
        let mut roots = self
            .roots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, root)) = roots.iter().find(|(k, _)| k.as_slice() == keys) {
            return *root;
        }
        let root = self.compute_ring_root(keys);
        if roots.len() == REMEMBERED_ROOTS {
            roots.remove(0);
        }
        roots.push((keys.to_vec(), root));
        root
    }

    fn compute_ring_root(&self, keys: &[PublicKey]) -> RingRoot {
        let points: Vec<_> = keys.iter().map(ring_point).collect();
        let commitment = self.params.verifier_key(&points).commitment();
        let mut out = [0u8; 144];
        // A commitment is three compressed G1 points: exactly 144 octets.
        if commitment.serialize_compressed(&mut out[..]).is_err() {
            debug_assert!(false, "ring commitment is 144 octets");
        }
        out
    }

    /// `F̄⟨context⟩(message)` by `secret`, a member of the ring `keys` (at
    /// position `index`, where `keys[index]` is `secret`'s public key): a
    /// proof that [`RingContext::verify`] accepts against
    /// [`ring_root(keys)`](Self::ring_root). [`VrfError::BadPublicKey`] if
    /// `keys[index]` is not `secret`'s key.
    ///
    /// Costs much more than verifying (an index of the ring and a PLONK
    /// proof: about a second for the tiny ring in a release build, several
    /// in a debug build); meant for authoring tickets, not for import.
    pub fn ring_prove(
        &self,
        keys: &[PublicKey],
        index: usize,
        secret: &SecretKey,
        context: &[u8],
        message: &[u8],
    ) -> Result<RingProof, VrfError> {
        if keys.get(index) != Some(&secret.public()) {
            return Err(VrfError::BadPublicKey);
        }
        let points: Vec<_> = keys.iter().map(ring_point).collect();
        let prover = self.params.prover(self.params.prover_key(&points), index);
        let input = suite::Input::new(context).ok_or(VrfError::BadInput)?;
        let output = secret.0.output(input);
        let proof =
            <suite::Secret as RingProver<_>>::prove(&secret.0, input, output, message, &prover);
        output_and_proof(&output, &proof)
    }

    /// Verifies a ring VRF proof `F̄_root⟨context⟩(message)` and returns `Y`.
    pub fn verify(
        &self,
        root: &RingRoot,
        context: &[u8],
        message: &[u8],
        proof: &RingProof,
    ) -> Result<VrfOutput, VrfError> {
        let commitment = suite::RingCommitment::deserialize_compressed(&root[..])
            .map_err(|_| VrfError::BadRingRoot)?;
        let verifier = self
            .params
            .verifier(self.params.verifier_key_from_commitment(commitment));
        let input = suite::Input::new(context).ok_or(VrfError::BadInput)?;
        let output = decode_output(&proof[..32])?;
        let proof: suite::RingProof = decode_canonical(&proof[32..])?;
        <suite::Public as RingVerifier<_>>::verify(input, output, message, &proof, &verifier)
            .map_err(|_| VrfError::Invalid)?;
        Ok(output_hash(&output))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Bandersnatch generator, compressed (a valid point and key).
    fn generator() -> [u8; 32] {
        let mut out = [0u8; 32];
        let point = <suite::AffinePoint as ark_vrf::reexports::ark_ec::AffineRepr>::generator();
        let g = suite::Public::from(point);
        g.serialize_compressed(&mut out[..]).expect("32 octets");
        out
    }

    #[test]
    fn malformed_inputs_are_errors_not_panics() {
        let junk = [0xffu8; 96];
        assert_eq!(vrf_output(&junk), Err(VrfError::Malformed));
        assert_eq!(vrf_output(&[1, 2, 3]), Err(VrfError::Malformed));
        assert_eq!(
            ietf_verify(&[0xff; 32], b"ctx", b"", &junk),
            Err(VrfError::BadPublicKey)
        );
        let key = generator();
        assert!(ietf_verify(&key, b"ctx", b"", &junk).is_err());
        // A well-formed output point with a wrong proof does not verify.
        let mut sig = [0u8; 96];
        sig[..32].copy_from_slice(&key);
        assert_eq!(ietf_verify(&key, b"ctx", b"", &sig), Err(VrfError::Invalid));
    }

    #[test]
    fn ietf_signatures_verify_and_bind_the_message() {
        let secret = SecretKey::from_seed(b"parajam test");
        let key = secret.public();
        let sig = secret.ietf_sign(b"ctx", b"message").expect("sign");
        let y = ietf_verify(&key, b"ctx", b"message", &sig).expect("verifies");
        assert_eq!(y, secret.vrf_output(b"ctx").expect("output"));
        assert_eq!(vrf_output(&sig), Ok(y));
        assert_eq!(
            ietf_verify(&key, b"ctx", b"other", &sig),
            Err(VrfError::Invalid)
        );
        assert_eq!(
            ietf_verify(&key, b"other", b"message", &sig),
            Err(VrfError::Invalid)
        );
        let other = SecretKey::from_seed(b"another").public();
        assert_eq!(
            ietf_verify(&other, b"ctx", b"message", &sig),
            Err(VrfError::Invalid)
        );
    }

    #[test]
    fn srs_errors_are_typed() {
        assert!(matches!(
            RingContext::from_srs(&[1, 2, 3], 6),
            Err(SrsError::Decode(_))
        ));
    }
}
