//! The messages of CE 137 (shard distribution), CE 138 (audit shard
//! request) and CE 147 (bundle request), JAMNP-S "Protocols and streams":
//!
//! ```text
//! CE 137, Assurer -> Guarantor:  --> Erasure-Root ++ Shard Index, FIN
//!                                <-- Bundle Shard; <-- [Segment Shard]; <-- Justification; <-- FIN
//! CE 138, Auditor -> Assurer:    --> Erasure-Root ++ Shard Index, FIN
//!                                <-- Bundle Shard; <-- Justification; <-- FIN
//! CE 147, Auditor -> Guarantor:  --> Erasure-Root, FIN
//!                                <-- Work-Package Bundle; <-- FIN
//! Justification = [0 ++ Hash OR 1 ++ Hash ++ Hash]
//! ```
//!
//! The justification is the co-path `T(s, i, H)` (GP appendix E.1) of
//! shard `i` in the erasure-root tree, whose leaves are `H(bundle shard) ⌢
//! M_B(segment shards)`: each step is a subtree's node, a 32-octet hash
//! (`0 ++ Hash`) or, for a subtree of one leaf, the 64-octet leaf itself
//! (`1 ++ Hash ++ Hash`). CE 138's justification is CE 137's with the
//! shard's segment-shard root appended, the co-path of the bundle shard's
//! hash. Shards are assigned to validators by JAMNP-S "Shard assignment":
//! validator `v` holds shard `(c·R + v) mod V` of a report of core `c`
//! ([`shard_index`]). The streams themselves are served in `service::shards`.

use parajam_merkle::binary::{well_balanced_root, well_balanced_root_from_trace};
use parajam_primitives::types::{CoreIndex, ErasureRoot, ValidatorIndex};
use parajam_primitives::{ByteArray, ProtocolParameters};

use crate::protocol::MessageError;

/// `R`, the recovery threshold: shards needed to rebuild the data (`W_E /
/// 2`: 342 of 1023 for full parameters, 2 of 6 for tiny).
pub fn recovery_threshold(params: &ProtocolParameters) -> usize {
    (params.erasure_piece_size as usize / 2).max(1)
}

/// The shard validator `validator` holds of a report of core `core`
/// (JAMNP-S "Shard assignment"): `(c·R + v) mod V`.
pub fn shard_index(params: &ProtocolParameters, core: CoreIndex, validator: ValidatorIndex) -> u16 {
    let v = usize::from(params.validators_count).max(1);
    let i = (usize::from(core) * recovery_threshold(params) + usize::from(validator)) % v;
    u16::try_from(i).unwrap_or(0)
}

/// The size of one segment's shard: `W_G / R` octets.
pub fn segment_shard_size(params: &ProtocolParameters) -> usize {
    (params.segment_size as usize / recovery_threshold(params)).max(1)
}

/// Most steps a justification may have: the depth of a tree of `V` leaves
/// (one more for CE 138's appended segment root).
fn max_depth(params: &ProtocolParameters) -> usize {
    let v = usize::from(params.validators_count).max(1);
    v.next_power_of_two().trailing_zeros() as usize + 1
}

/// The largest justification accepted: every step a 64-octet leaf.
pub fn justification_limit(params: &ProtocolParameters) -> usize {
    max_depth(params) * 65
}

/// The largest bundle shard accepted: a shard of a `W_B`-octet bundle,
/// `⌈W_B / W_E⌉` pieces of 2 octets.
pub fn bundle_shard_limit(params: &ProtocolParameters) -> usize {
    (params.max_bundle_size as usize).div_ceil((params.erasure_piece_size as usize).max(1)) * 2
}

/// The largest `[Segment Shard]` accepted: `W_X` exports and their
/// paged proofs (one per 64), a shard of each.
pub fn segment_shards_limit(params: &ProtocolParameters) -> usize {
    let exports = params.max_package_exports as usize;
    (exports + exports.div_ceil(64)) * segment_shard_size(params)
}

/// `Erasure-Root ++ Shard Index`: the request of CE 137 and CE 138.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShardRequest {
    /// The erasure root of the report's package (`u` of its specification).
    pub erasure_root: ErasureRoot,
    /// The shard asked for.
    pub index: u16,
}

impl ShardRequest {
    /// Its size: always 34 octets.
    pub const SIZE: usize = 34;

    /// Its encoding.
    pub fn encode(&self) -> Vec<u8> {
        [&self.erasure_root.0[..], &self.index.to_le_bytes()].concat()
    }

    /// Decodes a whole message.
    pub fn decode(bytes: &[u8]) -> Result<Self, MessageError> {
        let bytes: &[u8; Self::SIZE] = bytes.try_into().map_err(|_| MessageError::Decode {
            what: "shard request",
            reason: format!("{} octets, {} expected", bytes.len(), Self::SIZE),
        })?;
        let mut root = [0u8; 32];
        root.copy_from_slice(&bytes[..32]);
        Ok(Self {
            erasure_root: ByteArray(root),
            index: u16::from_le_bytes([bytes[32], bytes[33]]),
        })
    }
}

/// CE 147's request: the erasure root, 32 octets.
pub fn decode_bundle_request(bytes: &[u8]) -> Result<ErasureRoot, MessageError> {
    let root: [u8; 32] = bytes.try_into().map_err(|_| MessageError::Decode {
        what: "bundle request",
        reason: format!("{} octets, 32 expected", bytes.len()),
    })?;
    Ok(ByteArray(root))
}

/// `Justification`: each step `0 ++ Hash` (a 32-octet node) or `1 ++ Hash
/// ++ Hash` (a 64-octet leaf).
pub fn encode_justification(steps: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(steps.len() * 65);
    for step in steps {
        out.push(u8::from(step.len() == 64));
        out.extend_from_slice(step);
    }
    out
}

/// Decodes a whole `Justification` of at most `max` steps; a step that is
/// neither a node hash nor a leaf is refused.
pub fn decode_justification(bytes: &[u8], max: usize) -> Result<Vec<Vec<u8>>, MessageError> {
    const WHAT: &str = "justification";
    let mut input = bytes;
    let mut steps = Vec::new();
    while let Some((&discriminator, rest)) = input.split_first() {
        let len = match discriminator {
            0 => 32,
            1 => 64,
            d => {
                return Err(MessageError::Invalid {
                    what: WHAT,
                    reason: format!("discriminator {d}, 0 or 1 expected"),
                })
            }
        };
        if rest.len() < len {
            return Err(MessageError::Decode {
                what: WHAT,
                reason: format!("{} octets left for a {len}-octet step", rest.len()),
            });
        }
        if steps.len() == max {
            return Err(MessageError::Invalid {
                what: WHAT,
                reason: format!("more than {max} steps"),
            });
        }
        steps.push(rest[..len].to_vec());
        input = &rest[len..];
    }
    Ok(steps)
}

/// CE 137's response: a validator's bundle shard, its shard of each
/// exported and proof segment, and the justification tying them to the
/// erasure root. Also what a node stores of a shard it holds
/// ([`Shards::to_bytes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shards {
    /// The bundle shard.
    pub bundle_shard: Vec<u8>,
    /// The shard of each segment (exports, then paged proofs), each
    /// [`segment_shard_size`] octets.
    pub segment_shards: Vec<Vec<u8>>,
    /// `T(s, i, H)`: the co-path of the shard's leaf, top down.
    pub justification: Vec<Vec<u8>>,
}

impl Shards {
    /// Each message's limit.
    pub fn limits(params: &ProtocolParameters) -> [usize; 3] {
        [
            bundle_shard_limit(params),
            segment_shards_limit(params),
            justification_limit(params),
        ]
    }

    /// Its three messages.
    pub fn encode(&self) -> [Vec<u8>; 3] {
        [
            self.bundle_shard.clone(),
            self.segment_shards.concat(),
            encode_justification(&self.justification),
        ]
    }

    /// Decodes its three messages: the segment shards must be whole
    /// shards of [`segment_shard_size`] octets.
    pub fn decode(messages: &[Vec<u8>], params: &ProtocolParameters) -> Result<Self, MessageError> {
        const WHAT: &str = "shards";
        let [bundle, segments, justification] = messages else {
            return Err(MessageError::Decode {
                what: WHAT,
                reason: format!("{} messages, 3 expected", messages.len()),
            });
        };
        let size = segment_shard_size(params);
        if segments.len() % size != 0 {
            return Err(MessageError::Invalid {
                what: WHAT,
                reason: format!(
                    "{} octets of segment shards, not a multiple of {size}",
                    segments.len()
                ),
            });
        }
        Ok(Self {
            bundle_shard: bundle.clone(),
            segment_shards: segments.chunks(size).map(<[u8]>::to_vec).collect(),
            justification: decode_justification(justification, max_depth(params))?,
        })
    }

    /// The leaf of this shard in the erasure-root tree: `H(bundle shard) ⌢
    /// M_B(segment shards)`.
    pub fn leaf(&self) -> Vec<u8> {
        let mut leaf = parajam_crypto::blake2b_256(&self.bundle_shard).to_vec();
        leaf.extend_from_slice(&well_balanced_root(&self.segment_shards));
        leaf
    }

    /// Checks the shards against `request`: the leaf and justification
    /// give the erasure root of a tree of `V` leaves at the shard index.
    pub fn verify(
        &self,
        request: &ShardRequest,
        params: &ProtocolParameters,
    ) -> Result<(), MessageError> {
        let root = well_balanced_root_from_trace(
            &self.leaf(),
            usize::from(request.index),
            usize::from(params.validators_count),
            &self.justification,
            parajam_crypto::blake2b_256,
        );
        if root == Some(request.erasure_root.0) {
            Ok(())
        } else {
            Err(MessageError::Invalid {
                what: "shards",
                reason: format!(
                    "shard {} does not prove against erasure root {}",
                    request.index, request.erasure_root
                ),
            })
        }
    }

    /// CE 138's answer from these shards: the bundle shard, and the
    /// justification with the segment-shard root appended.
    pub fn audit(&self) -> AuditShard {
        let mut justification = self.justification.clone();
        justification.push(well_balanced_root(&self.segment_shards).to_vec());
        AuditShard {
            bundle_shard: self.bundle_shard.clone(),
            justification,
        }
    }

    /// The three messages, each with its `u32` size, one after the other
    /// (how a node stores a shard it holds).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for message in self.encode() {
            out.extend_from_slice(&u32::try_from(message.len()).unwrap_or(0).to_le_bytes());
            out.extend_from_slice(&message);
        }
        out
    }

    /// Reads [`Shards::to_bytes`] back.
    pub fn from_bytes(bytes: &[u8], params: &ProtocolParameters) -> Result<Self, MessageError> {
        let mut input = bytes;
        let mut messages = Vec::with_capacity(3);
        for _ in 0..3 {
            let (size, rest) = input.split_at_checked(4).ok_or(MessageError::Decode {
                what: "stored shards",
                reason: "no size".into(),
            })?;
            let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]) as usize;
            let (message, rest) = rest.split_at_checked(size).ok_or(MessageError::Decode {
                what: "stored shards",
                reason: format!("{} octets left for a message of {size}", rest.len()),
            })?;
            messages.push(message.to_vec());
            input = rest;
        }
        if !input.is_empty() {
            return Err(MessageError::Trailing {
                what: "stored shards",
                extra: input.len(),
            });
        }
        Self::decode(&messages, params)
    }
}

/// CE 138's response: a bundle shard and its justification (CE 137's with
/// the segment-shard root appended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditShard {
    /// The bundle shard.
    pub bundle_shard: Vec<u8>,
    /// The co-path of `H(bundle shard)`, top down; its last step is the
    /// shard's segment-shard root.
    pub justification: Vec<Vec<u8>>,
}

impl AuditShard {
    /// Each message's limit.
    pub fn limits(params: &ProtocolParameters) -> [usize; 2] {
        [bundle_shard_limit(params), justification_limit(params)]
    }

    /// Its two messages.
    pub fn encode(&self) -> [Vec<u8>; 2] {
        [
            self.bundle_shard.clone(),
            encode_justification(&self.justification),
        ]
    }

    /// Decodes its two messages.
    pub fn decode(messages: &[Vec<u8>], params: &ProtocolParameters) -> Result<Self, MessageError> {
        let [bundle, justification] = messages else {
            return Err(MessageError::Decode {
                what: "audit shard",
                reason: format!("{} messages, 2 expected", messages.len()),
            });
        };
        Ok(Self {
            bundle_shard: bundle.clone(),
            justification: decode_justification(justification, max_depth(params))?,
        })
    }

    /// Checks the shard against `request`: `H(bundle shard) ⌢ last step`
    /// is the leaf, the other steps its co-path to the erasure root.
    pub fn verify(
        &self,
        request: &ShardRequest,
        params: &ProtocolParameters,
    ) -> Result<(), MessageError> {
        let bad = || MessageError::Invalid {
            what: "audit shard",
            reason: format!(
                "shard {} does not prove against erasure root {}",
                request.index, request.erasure_root
            ),
        };
        let (segment_root, path) = self.justification.split_last().ok_or_else(bad)?;
        if segment_root.len() != 32 {
            return Err(bad());
        }
        let mut leaf = parajam_crypto::blake2b_256(&self.bundle_shard).to_vec();
        leaf.extend_from_slice(segment_root);
        let root = well_balanced_root_from_trace(
            &leaf,
            usize::from(request.index),
            usize::from(params.validators_count),
            path,
            parajam_crypto::blake2b_256,
        );
        if root == Some(request.erasure_root.0) {
            Ok(())
        } else {
            Err(bad())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: ProtocolParameters = ProtocolParameters::TINY;

    #[test]
    fn shards_are_assigned_by_core_and_validator_rotated_by_r() {
        // Tiny: R = 2, V = 6.
        assert_eq!(recovery_threshold(&TINY), 2);
        assert_eq!(shard_index(&TINY, 0, 3), 3);
        assert_eq!(shard_index(&TINY, 1, 3), 5);
        assert_eq!(shard_index(&TINY, 1, 5), 1);
        let full = ProtocolParameters::FULL;
        assert_eq!(recovery_threshold(&full), 342);
        assert_eq!(shard_index(&full, 2, 1000), (2 * 342 + 1000) % 1023);
        assert_eq!(segment_shard_size(&TINY), 2052);
        assert_eq!(segment_shard_size(&full), 12);
    }

    #[test]
    fn requests_and_justifications_round_trip_and_refuse_bad_input() {
        let r = ShardRequest {
            erasure_root: ByteArray([9; 32]),
            index: 258,
        };
        let bytes = r.encode();
        assert_eq!(bytes.len(), 34);
        assert_eq!(&bytes[32..], &[2, 1]);
        assert_eq!(ShardRequest::decode(&bytes), Ok(r));
        assert!(ShardRequest::decode(&bytes[..33]).is_err());
        assert!(decode_bundle_request(&[1; 33]).is_err());
        let steps = vec![vec![1; 32], vec![2; 64], vec![3; 32]];
        let j = encode_justification(&steps);
        assert_eq!(j.len(), 33 + 65 + 33);
        assert_eq!((j[0], j[33]), (0, 1));
        assert_eq!(decode_justification(&j, 3), Ok(steps));
        assert!(decode_justification(&j, 2).is_err());
        assert!(decode_justification(&j[..j.len() - 1], 3).is_err());
        assert!(decode_justification(&[2; 33], 3).is_err());
    }
}
