//! The table's signature checks and key recovery, computed in the service's
//! own code with the crates sp-core uses (or, for secp256k1, on `k256`'s
//! curve arithmetic with the rules of the library each sp-io version
//! calls), so every answer is the one the relay chain's PVF executor gives:
//!
//! - Ed25519 with ed25519-zebra's ZIP-215 rules, as `sp_core::ed25519`;
//! - sr25519 with schnorrkel in the `substrate` signing context; version 1
//!   of `sr25519_verify` also accepts the pre-audit (schnorrkel 0.1.1)
//!   signatures, as `Pair::verify_deprecated`;
//! - secp256k1 ECDSA recovery as libsecp256k1 (sp-io's version 1: `r` and
//!   `s` reduced modulo the group order) or libsecp256k1's C library
//!   (version 2 and later: `r` or `s` at or above the order is `BadRS`),
//!   high `s` accepted by both. Verification is recovery and comparison
//!   of the compressed key, as `sp_core::ecdsa`.

use k256::elliptic_curve::group::Group;
use k256::elliptic_curve::ops::{LinearCombination, Reduce};
use k256::elliptic_curve::point::DecompressPoint;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::elliptic_curve::subtle::Choice;
use k256::elliptic_curve::PrimeField;
use k256::{AffinePoint, FieldBytes, ProjectivePoint, Scalar, U256};

/// The signing context of Substrate's sr25519 signatures.
const SIGNING_CTX: &[u8] = b"substrate";

/// The secp256k1 group order `n`, big-endian.
const ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
];

/// `ed25519_verify`: is `sig` `public`'s signature of `msg`?
pub fn ed25519_verify(sig: &[u8; 64], msg: &[u8], public: &[u8; 32]) -> bool {
    let Ok(key) = ed25519_zebra::VerificationKey::try_from(*public) else {
        return false;
    };
    key.verify(&ed25519_zebra::Signature::from_bytes(sig), msg)
        .is_ok()
}

/// `sr25519_verify` version 2: a schnorrkel signature in the `substrate`
/// context.
pub fn sr25519_verify(sig: &[u8; 64], msg: &[u8], public: &[u8; 32]) -> bool {
    let Ok(signature) = schnorrkel::Signature::from_bytes(sig) else {
        return false;
    };
    let Ok(key) = schnorrkel::PublicKey::from_bytes(public) else {
        return false;
    };
    key.verify_simple(SIGNING_CTX, msg, &signature).is_ok()
}

/// `sr25519_verify` version 1: as version 2, and also the signatures of
/// schnorrkel before 0.8 (no marker bit).
pub fn sr25519_verify_deprecated(sig: &[u8; 64], msg: &[u8], public: &[u8; 32]) -> bool {
    schnorrkel::PublicKey::from_bytes(public).is_ok_and(|key| {
        key.verify_simple_preaudit_deprecated(SIGNING_CTX, msg, sig)
            .is_ok()
    })
}

/// Why a secp256k1 recovery failed: sp-io's `EcdsaVerifyError` (SCALE
/// index `0, 1, 2`, in-place results `-1, -2, -3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcdsaVerifyError {
    /// `r` or `s` is not below the group order.
    BadRS,
    /// The recovery id is not 0 to 3 (27 to 30 also accepted by recover).
    BadV,
    /// No key recovers: zero `r` or `s`, no curve point at `r`, or the
    /// point at infinity.
    BadSignature,
}

impl EcdsaVerifyError {
    /// The SCALE variant index.
    pub fn index(self) -> u8 {
        match self {
            Self::BadRS => 0,
            Self::BadV => 1,
            Self::BadSignature => 2,
        }
    }

    /// The in-place result code of the version-3 functions.
    pub fn code(self) -> i64 {
        match self {
            Self::BadRS => -1,
            Self::BadV => -2,
            Self::BadSignature => -3,
        }
    }
}

/// How `r` and `s` at or above the group order are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Reduced modulo the order (libsecp256k1's `parse_overflowing`).
    Reduce,
    /// Refused with `BadRS` (the C library's `parse_compact`).
    Reject,
}

/// A recovered public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovered(AffinePoint);

impl Recovered {
    /// `x ‖ y`, 64 octets (the uncompressed encoding without its `04`).
    pub fn uncompressed(&self) -> [u8; 64] {
        let point = self.0.to_encoded_point(false);
        let mut out = [0; 64];
        out.copy_from_slice(&point.as_bytes()[1..]);
        out
    }

    /// The 33-octet compressed encoding.
    pub fn compressed(&self) -> [u8; 33] {
        let point = self.0.to_encoded_point(true);
        let mut out = [0; 33];
        out.copy_from_slice(point.as_bytes());
        out
    }
}

/// `secp256k1_ecdsa_recover*`: the key that signed the 32-octet `msg` with
/// `sig` in RSV form; `v` is 0 to 3 or 27 to 30.
pub fn secp256k1_recover(
    sig: &[u8; 65],
    msg: &[u8; 32],
    overflow: Overflow,
) -> Result<Recovered, EcdsaVerifyError> {
    let v = if sig[64] > 26 { sig[64] - 27 } else { sig[64] };
    if v > 3 {
        return Err(EcdsaVerifyError::BadV);
    }
    recover(sig, v, msg, overflow)
}

/// `ecdsa_verify` version 2 (`prehashed: false`, the message is hashed with
/// Blake2b-256) and `ecdsa_verify_prehashed`: does `sig` (with `v` 0 to 3)
/// recover to the compressed key `public`?
pub fn ecdsa_verify(sig: &[u8; 65], msg: &[u8; 32], public: &[u8; 33]) -> bool {
    sig[64] <= 3
        && recover(sig, sig[64], msg, Overflow::Reject).is_ok_and(|key| key.compressed() == *public)
}

/// `ecdsa_verify` version 1: as version 2 with `r` and `s` reduced modulo
/// the order.
pub fn ecdsa_verify_deprecated(sig: &[u8; 65], msg: &[u8; 32], public: &[u8; 33]) -> bool {
    sig[64] <= 3
        && recover(sig, sig[64], msg, Overflow::Reduce).is_ok_and(|key| key.compressed() == *public)
}

/// ECDSA public-key recovery: `Q = r⁻¹ (s R - z G)` with `R` the point of
/// x coordinate `r` (or `r + n` for ids 2 and 3) and y parity `id & 1`.
fn recover(
    sig: &[u8; 65],
    id: u8,
    msg: &[u8; 32],
    overflow: Overflow,
) -> Result<Recovered, EcdsaVerifyError> {
    let sig_r = scalar(&sig[..32], overflow)?;
    let sig_s = scalar(&sig[32..64], overflow)?;
    if bool::from(sig_r.is_zero() | sig_s.is_zero()) {
        return Err(EcdsaVerifyError::BadSignature);
    }
    let mut x_of_r: [u8; 32] = sig_r.to_bytes().into();
    if id & 2 != 0 {
        // `r + n` must still be a field element; the decompression below
        // refuses it when it is not below `p`.
        x_of_r = add_order(&x_of_r).ok_or(EcdsaVerifyError::BadSignature)?;
    }
    let point: Option<AffinePoint> =
        AffinePoint::decompress(&FieldBytes::from(x_of_r), Choice::from(id & 1)).into();
    let point = point.ok_or(EcdsaVerifyError::BadSignature)?;
    let digest = <Scalar as Reduce<U256>>::reduce_bytes(&FieldBytes::from(*msg));
    let r_inv: Option<Scalar> = sig_r.invert().into();
    let r_inv = r_inv.ok_or(EcdsaVerifyError::BadSignature)?;
    let key = ProjectivePoint::lincomb(
        &ProjectivePoint::GENERATOR,
        &-(r_inv * digest),
        &ProjectivePoint::from(point),
        &(r_inv * sig_s),
    );
    if bool::from(key.is_identity()) {
        return Err(EcdsaVerifyError::BadSignature);
    }
    Ok(Recovered(key.to_affine()))
}

/// A big-endian scalar, reduced or refused at or above the order.
fn scalar(bytes: &[u8], overflow: Overflow) -> Result<Scalar, EcdsaVerifyError> {
    let bytes = FieldBytes::clone_from_slice(bytes);
    match overflow {
        Overflow::Reduce => Ok(<Scalar as Reduce<U256>>::reduce_bytes(&bytes)),
        Overflow::Reject => Option::from(Scalar::from_repr(bytes)).ok_or(EcdsaVerifyError::BadRS),
    }
}

/// `x + n` as 32 big-endian octets, if it does not overflow them.
fn add_order(x: &[u8; 32]) -> Option<[u8; 32]> {
    let mut out = [0; 32];
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let sum = u16::from(x[i]) + u16::from(ORDER[i]) + carry;
        out[i] = sum.to_le_bytes()[0];
        carry = sum >> 8;
    }
    (carry == 0).then_some(out)
}

/// sp-io's `crypto` group served to a PVF: the arguments read from its
/// memory, the checks above, the results (and batches) as sp-io has them.
mod serve {
    use alloc::vec::Vec;

    use super::{EcdsaVerifyError, Overflow};
    use crate::host::RefineHost;
    use crate::host_functions::call::{Call, Failed};
    use crate::host_functions::table::Out;

    impl<H: RefineHost> Call<'_, H> {
        /// `ext_crypto_ed25519_verify_version_1(sig, msg, pub)`.
        pub(crate) fn verify_ed25519(
            &mut self,
            batch: bool,
            sig: u64,
            msg: u64,
            public: u64,
        ) -> Result<u64, Failed> {
            let sig = self.array::<64>(sig)?;
            let msg = self.read(msg)?;
            let public = self.array::<32>(public)?;
            if batch {
                // sp-io 49's `ed25519_batch_verify` calls
                // `ed25519_verify`, which asks the externalities it is
                // already running in for `UseDalekExt`: the nested
                // borrow panics, so on the relay chain's executor every
                // call fails. (`sr25519` and `ecdsa` do not ask.)
                return Err(Failed);
            }
            Ok(u64::from(super::ed25519_verify(&sig, &msg, &public)))
        }

        /// `ext_crypto_sr25519_verify_*(sig, msg, pub)`.
        pub(crate) fn verify_sr25519(
            &mut self,
            deprecated: bool,
            batch: bool,
            sig: u64,
            msg: u64,
            public: u64,
        ) -> Result<u64, Failed> {
            let sig = self.array::<64>(sig)?;
            let msg = self.read(msg)?;
            let public = self.array::<32>(public)?;
            let ok = if deprecated {
                super::sr25519_verify_deprecated(&sig, &msg, &public)
            } else {
                super::sr25519_verify(&sig, &msg, &public)
            };
            Ok(self.verified(ok, batch))
        }

        /// `ext_crypto_ecdsa_verify_*(sig, msg, pub)`.
        pub(crate) fn verify_ecdsa(
            &mut self,
            deprecated: bool,
            batch: bool,
            sig: u64,
            msg: u64,
            public: u64,
        ) -> Result<u64, Failed> {
            let sig = self.array::<65>(sig)?;
            let msg = self.read(msg)?;
            let public = self.array::<33>(public)?;
            let hash = crate::blake2_256(&msg);
            let ok = if deprecated {
                super::ecdsa_verify_deprecated(&sig, &hash, &public)
            } else {
                super::ecdsa_verify(&sig, &hash, &public)
            };
            Ok(self.verified(ok, batch))
        }

        /// `ext_crypto_ecdsa_verify_prehashed_version_1(sig, hash, pub)`.
        pub(crate) fn verify_ecdsa_prehashed(
            &mut self,
            sig: u64,
            hash: u64,
            public: u64,
        ) -> Result<u64, Failed> {
            let sig = self.array::<65>(sig)?;
            let hash = self.array::<32>(hash)?;
            let public = self.array::<33>(public)?;
            Ok(u64::from(super::ecdsa_verify(&sig, &hash, &public)))
        }

        /// `ext_crypto_start_batch_verify_version_1`: fails if a batch is open.
        pub(crate) fn start_batch(&mut self) -> Result<u64, Failed> {
            if self.session.batch.replace(true).is_some() {
                return Err(Failed);
            }
            Ok(0)
        }

        /// `ext_crypto_finish_batch_verify_version_1`: did every check of
        /// the batch pass? Fails if none is open.
        pub(crate) fn finish_batch(&mut self) -> Result<u64, Failed> {
            Ok(u64::from(self.session.batch.take().ok_or(Failed)?))
        }

        /// `ext_crypto_secp256k1_ecdsa_recover*(sig, hash[, out])`.
        pub(crate) fn recover_secp256k1(
            &mut self,
            overflow: Overflow,
            compressed: bool,
            out: Out,
            sig: u64,
            hash: u64,
            out_ptr: u64,
        ) -> Result<u64, Failed> {
            let sig = self.array::<65>(sig)?;
            let hash = self.array::<32>(hash)?;
            let key = super::secp256k1_recover(&sig, &hash, overflow);
            let key: Result<Vec<u8>, EcdsaVerifyError> = key.map(|k| {
                if compressed {
                    k.compressed().to_vec()
                } else {
                    k.uncompressed().to_vec()
                }
            });
            match out {
                Out::Allocated => {
                    let mut encoded = Vec::with_capacity(65);
                    match &key {
                        Ok(k) => {
                            encoded.push(0);
                            encoded.extend_from_slice(k);
                        }
                        Err(e) => encoded.extend_from_slice(&[1, e.index()]),
                    }
                    self.allocate_fat(&encoded)
                }
                Out::InPlace => {
                    let len = if compressed { 33 } else { 64 };
                    let written = key.as_deref().unwrap_or(&[0; 64][..len]);
                    self.write(out_ptr, written)?;
                    #[allow(clippy::cast_sign_loss)] // an i32 result, sign-extended
                    Ok(match key {
                        Ok(_) => 0,
                        Err(e) => e.code() as u64,
                    })
                }
            }
        }

        /// A check's result, ANDed into the open batch if `batch`.
        fn verified(&mut self, ok: bool, batch: bool) -> u64 {
            if batch {
                if let Some(all) = &mut self.session.batch {
                    *all &= ok;
                }
            }
            u64::from(ok)
        }
    }
}
