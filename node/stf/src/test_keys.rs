//! The validator keys the modules' unit tests sign with: six validators,
//! validator `v`'s Ed25519 secret the 32 octets `v + 1`.

use ed25519_zebra::{SigningKey, VerificationKey};
use parajam_primitives::types::{ValidatorData, ValidatorsData};
use parajam_primitives::ByteArray;

/// Validator `v`'s Ed25519 signing key.
pub(crate) fn secret(v: usize) -> SigningKey {
    SigningKey::from([u8::try_from(v).expect("a small index") + 1; 32])
}

/// Six validators with the Ed25519 keys of [`secret`] (the other keys zero).
pub(crate) fn validators() -> ValidatorsData {
    ValidatorsData::new(
        (0..6)
            .map(|v| ValidatorData {
                ed25519: ByteArray(VerificationKey::from(&secret(v)).into()),
                ..ValidatorData::default()
            })
            .collect(),
    )
}
