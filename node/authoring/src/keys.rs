//! Dev validator keys, derived from 32-octet seeds as JIP-5 ("Secret key
//! derivation") prescribes, so that a dev chain's validators are the same
//! as other JAM implementations' dev validators (and as the validators of
//! the conformance vectors' traces):
//!
//! * `ed25519_secret = H("jam_val_key_ed25519" ⌢ seed)`, an RFC 8032
//!   secret key (the seed of the signing key);
//! * `bandersnatch_secret = H("jam_val_key_bandersnatch" ⌢ seed)`, whose
//!   scalar is `SHA-512(bandersnatch_secret)` read little-endian modulo the
//!   group order;
//! * the *trivial seed* of dev validator `i`: `E4(i)` repeated eight times
//!   ([`trivial_seed`]), for testing only.
//!
//! `H` is Blake2b-256. JIP-5 derives no BLS key and no metadata: the BLS key
//! `k_BLS` of a dev validator is 144 zero octets (nothing in GP 0.7.2 reads
//! it; BEEFY signing is out of this node's scope), as in the conformance
//! traces, and its metadata `k_m` is 128 zero octets (the traces put a
//! network address there, which a dev chain without networking has none of).

use ed25519_zebra::{SigningKey, VerificationKeyBytes};
use parajam_bandersnatch::SecretKey;
use parajam_primitives::types::{
    BandersnatchPublic, BlsPublic, Ed25519Public, Ed25519Signature, ValidatorData, ValidatorIndex,
    ValidatorMetadata, ValidatorsData,
};
use parajam_primitives::ByteArray;

/// JIP-5's derivation string of the Ed25519 secret.
pub const ED25519_DERIVATION: &[u8] = b"jam_val_key_ed25519";
/// JIP-5's derivation string of the Bandersnatch secret.
pub const BANDERSNATCH_DERIVATION: &[u8] = b"jam_val_key_bandersnatch";

/// JIP-5's `trivial_seed(i)`: `E4(i)` (little-endian) repeated eight times.
pub fn trivial_seed(index: u32) -> [u8; 32] {
    let mut seed = [0u8; 32];
    for chunk in seed.chunks_exact_mut(4) {
        chunk.copy_from_slice(&index.to_le_bytes());
    }
    seed
}

/// One validator's secrets and the public keys `K` (GP eq. 6.8 – 6.12)
/// that go into the validator sets of the state.
///
/// `Debug` shows the public keys only.
#[derive(Clone)]
pub struct ValidatorSecrets {
    seed: [u8; 32],
    bandersnatch: SecretKey,
    ed25519: SigningKey,
    public: ValidatorData,
}

impl std::fmt::Debug for ValidatorSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidatorSecrets")
            .field("bandersnatch", &self.public.bandersnatch)
            .field("ed25519", &self.public.ed25519)
            .finish_non_exhaustive()
    }
}

impl ValidatorSecrets {
    /// The keys JIP-5 derives from `seed`.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let ed25519_secret = parajam_crypto::blake2b_256_concat(&[ED25519_DERIVATION, &seed]);
        let bandersnatch_secret =
            parajam_crypto::blake2b_256_concat(&[BANDERSNATCH_DERIVATION, &seed]);
        let ed25519 = SigningKey::from(ed25519_secret);
        let bandersnatch = SecretKey::from_seed(&bandersnatch_secret);
        let public = ValidatorData {
            bandersnatch: ByteArray(bandersnatch.public()),
            ed25519: ByteArray(<[u8; 32]>::from(VerificationKeyBytes::from(&ed25519))),
            bls: BlsPublic::ZERO,
            metadata: ValidatorMetadata::ZERO,
        };
        Self {
            seed,
            bandersnatch,
            ed25519,
            public,
        }
    }

    /// Dev validator `index`: the keys of JIP-5's `trivial_seed(index)`.
    pub fn dev(index: u32) -> Self {
        Self::from_seed(trivial_seed(index))
    }

    /// The seed the keys derive from.
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// The public keys `K` as the state holds them.
    pub fn public(&self) -> &ValidatorData {
        &self.public
    }

    /// `k_b`.
    pub fn bandersnatch_public(&self) -> BandersnatchPublic {
        self.public.bandersnatch
    }

    /// `k_e`.
    pub fn ed25519_public(&self) -> Ed25519Public {
        self.public.ed25519
    }

    /// The Bandersnatch secret (seals, entropy sources, tickets).
    pub fn bandersnatch(&self) -> &SecretKey {
        &self.bandersnatch
    }

    /// An Ed25519 signature of `message` (RFC 8032, deterministic).
    pub fn ed25519_sign(&self, message: &[u8]) -> Ed25519Signature {
        ByteArray(self.ed25519.sign(message).to_bytes())
    }
}

/// A set of dev validators, in validator-index order.
#[derive(Debug, Clone)]
pub struct DevKeys {
    validators: Vec<ValidatorSecrets>,
}

impl DevKeys {
    /// Dev validators `0 .. count` (JIP-5 trivial seeds).
    pub fn new(count: u16) -> Self {
        Self {
            validators: (0..u32::from(count)).map(ValidatorSecrets::dev).collect(),
        }
    }

    /// Validators with the keys of `seeds`, in that order.
    pub fn from_seeds(seeds: impl IntoIterator<Item = [u8; 32]>) -> Self {
        Self {
            validators: seeds.into_iter().map(ValidatorSecrets::from_seed).collect(),
        }
    }

    /// How many validators.
    pub fn len(&self) -> usize {
        self.validators.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    /// Validator `index` of the set.
    pub fn get(&self, index: usize) -> Option<&ValidatorSecrets> {
        self.validators.get(index)
    }

    /// Every validator, in order.
    pub fn iter(&self) -> impl Iterator<Item = &ValidatorSecrets> {
        self.validators.iter()
    }

    /// The public keys, in order: a validator set `⟦K⟧_V` for `κ`, `λ`,
    /// `ι` or `γ_k` (when there are `V` of them).
    pub fn validators(&self) -> ValidatorsData {
        ValidatorsData::new(self.validators.iter().map(|v| v.public.clone()).collect())
    }

    /// The validator whose Bandersnatch key is `key`.
    pub fn by_bandersnatch(&self, key: &BandersnatchPublic) -> Option<&ValidatorSecrets> {
        self.validators
            .iter()
            .find(|v| v.public.bandersnatch == *key)
    }

    /// The validator whose Ed25519 key is `key`.
    pub fn by_ed25519(&self, key: &Ed25519Public) -> Option<&ValidatorSecrets> {
        self.validators.iter().find(|v| v.public.ed25519 == *key)
    }

    /// The secrets of validator `index` of the set `keys` (`κ'`, say),
    /// looked up by its Ed25519 key; `None` if `index` is out of range or
    /// the key is not one of these dev validators.
    pub fn of(&self, keys: &ValidatorsData, index: ValidatorIndex) -> Option<&ValidatorSecrets> {
        let key = keys.get(usize::from(index))?;
        self.by_ed25519(&key.ed25519)
            .filter(|v| v.public.bandersnatch == key.bandersnatch)
    }
}
