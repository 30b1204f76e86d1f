//! The messages of CE 142 (preimage announcement) and CE 143 (preimage
//! request), JAMNP-S "Protocols and streams":
//!
//! ```text
//! CE 142, Node -> Validator:  --> Service ID ++ Hash ++ Preimage Length, FIN; <-- FIN
//! CE 143, Validator -> Node:  --> Hash, FIN;  <-- Preimage, FIN
//! ```
//!
//! `Service ID` and `Preimage Length` are `u32` little-endian; the
//! preimage is the bare octets. The streams themselves are served in
//! `service::preimages`.

use parajam_primitives::types::{OpaqueHash, ServiceId};
use parajam_primitives::ByteArray;

use crate::protocol::MessageError;

/// The largest preimage this node requests or serves (CE 143): a para's
/// PVF artifact is a few MiB; the GP bounds a request's length only by
/// `2^32` (eq. 9.3), JAMNP-S not at all.
pub const MAX_PREIMAGE: usize = 32 << 20;

/// CE 142: the announcer holds the preimage of `hash`, of `length`
/// octets, that service `service` requested (`a_l[(hash, length)]`,
/// GP eq. 9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PreimageAnnouncement {
    /// The requesting service.
    pub service: ServiceId,
    /// `H(p)`.
    pub hash: OpaqueHash,
    /// `|p|`.
    pub length: u32,
}

impl PreimageAnnouncement {
    /// Its size: always 40 octets.
    pub const SIZE: usize = 4 + 32 + 4;

    /// Its encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::SIZE);
        out.extend_from_slice(&self.service.to_le_bytes());
        out.extend_from_slice(&self.hash.0);
        out.extend_from_slice(&self.length.to_le_bytes());
        out
    }

    /// Decodes a whole message.
    pub fn decode(bytes: &[u8]) -> Result<Self, MessageError> {
        const WHAT: &str = "preimage announcement";
        let bytes: &[u8; Self::SIZE] = bytes.try_into().map_err(|_| MessageError::Decode {
            what: WHAT,
            reason: format!("{} octets, {} expected", bytes.len(), Self::SIZE),
        })?;
        let word = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&bytes[4..36]);
        Ok(Self {
            service: word(0),
            hash: ByteArray(hash),
            length: word(36),
        })
    }
}

/// CE 143's request: the hash, 32 octets.
pub fn decode_preimage_request(bytes: &[u8]) -> Result<OpaqueHash, MessageError> {
    let hash: [u8; 32] = bytes.try_into().map_err(|_| MessageError::Decode {
        what: "preimage request",
        reason: format!("{} octets, 32 expected", bytes.len()),
    })?;
    Ok(ByteArray(hash))
}

/// Checks CE 143's response against the announcement it follows: the
/// announced length and hash.
pub fn check_preimage(
    announcement: &PreimageAnnouncement,
    preimage: &[u8],
) -> Result<(), MessageError> {
    const WHAT: &str = "preimage";
    if u32::try_from(preimage.len()).ok() != Some(announcement.length) {
        return Err(MessageError::Invalid {
            what: WHAT,
            reason: format!(
                "{} octets, {} announced",
                preimage.len(),
                announcement.length
            ),
        });
    }
    if parajam_crypto::blake2b_256(preimage) != announcement.hash.0 {
        return Err(MessageError::Invalid {
            what: WHAT,
            reason: format!("not the preimage of {}", announcement.hash),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_announcement_is_service_hash_and_length_in_40_octets() {
        let a = PreimageAnnouncement {
            service: 1000,
            hash: ByteArray([7; 32]),
            length: 300,
        };
        let bytes = a.encode();
        assert_eq!(bytes.len(), PreimageAnnouncement::SIZE);
        assert_eq!(&bytes[..4], &1000u32.to_le_bytes());
        assert_eq!(&bytes[4..36], &[7; 32]);
        assert_eq!(&bytes[36..], &300u32.to_le_bytes());
        assert_eq!(PreimageAnnouncement::decode(&bytes), Ok(a));
        assert!(PreimageAnnouncement::decode(&bytes[..39]).is_err());
        assert!(PreimageAnnouncement::decode(&[bytes.clone(), vec![0]].concat()).is_err());
    }

    #[test]
    fn a_request_is_a_hash_and_a_preimage_must_match_its_announcement() {
        assert_eq!(decode_preimage_request(&[3; 32]), Ok(ByteArray([3; 32])));
        assert!(decode_preimage_request(&[3; 31]).is_err());
        assert!(decode_preimage_request(&[3; 33]).is_err());
        let blob = b"a preimage".to_vec();
        let a = PreimageAnnouncement {
            service: 1,
            hash: ByteArray(parajam_crypto::blake2b_256(&blob)),
            length: 10,
        };
        assert_eq!(check_preimage(&a, &blob), Ok(()));
        assert!(check_preimage(&a, b"another on").is_err());
        assert!(check_preimage(&a, b"a preimag").is_err());
    }
}
