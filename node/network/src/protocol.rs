//! The messages of UP 0 (block announcement), CE 128 (block request),
//! CE 133 (work-package submission), CE 134 (work-package sharing), CE 135
//! (work-report distribution) and CE 141 (assurance distribution) (CE 131/132,
//! Safrole ticket distribution, are in [`crate::tickets`]),
//! JAMNP-S "Protocols and streams", in the GP codec (appendix C), and the
//! size limit of each. CE 142 and 143 (preimages) are in
//! [`crate::preimages`], CE 137, 138 and 147 (shards and bundles) in
//! [`crate::shards`].

use parajam_primitives::codec::{self, Compact, Encode};
use parajam_primitives::types::{
    Block, CoreIndex, Ed25519Signature, Header, HeaderHash, OpaqueHash, ReportGuarantee, TimeSlot,
    WorkPackage,
};
use parajam_primitives::{ByteArray, ProtocolParameters};

/// A stream's kind: the first octet its initiator sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// UP 0: block announcements.
    BlockAnnouncement,
    /// CE 128: block request.
    BlockRequest,
    /// CE 133: work-package submission (builder → guarantor).
    WorkPackageSubmission,
    /// CE 134: work-package sharing (guarantor → guarantor).
    WorkPackageSharing,
    /// CE 135: work-report distribution (guarantor → validator).
    WorkReportDistribution,
    /// CE 141: assurance distribution (assurer → validator).
    AssuranceDistribution,
    /// CE 131: a Safrole ticket to its proxy validator.
    TicketToProxy,
    /// CE 132: a Safrole ticket from the proxy to every validator.
    TicketFromProxy,
    /// CE 142: preimage announcement (node → validator).
    PreimageAnnouncement,
    /// CE 143: preimage request (validator → node).
    PreimageRequest,
    /// CE 137: shard distribution (assurer → guarantor).
    ShardDistribution,
    /// CE 138: audit shard request (auditor → assurer).
    AuditShardRequest,
    /// CE 147: bundle request (auditor → guarantor).
    BundleRequest,
}

impl StreamKind {
    /// The kind's octet: UP kinds from 0, CE kinds from 128.
    pub fn octet(self) -> u8 {
        match self {
            Self::BlockAnnouncement => 0,
            Self::BlockRequest => 128,
            Self::WorkPackageSubmission => 133,
            Self::WorkPackageSharing => 134,
            Self::WorkReportDistribution => 135,
            Self::AssuranceDistribution => 141,
            Self::TicketToProxy => 131,
            Self::TicketFromProxy => 132,
            Self::PreimageAnnouncement => 142,
            Self::PreimageRequest => 143,
            Self::ShardDistribution => 137,
            Self::AuditShardRequest => 138,
            Self::BundleRequest => 147,
        }
    }

    /// The kind of `octet`, `None` for kinds this node does not serve.
    pub fn from_octet(octet: u8) -> Option<Self> {
        match octet {
            0 => Some(Self::BlockAnnouncement),
            128 => Some(Self::BlockRequest),
            133 => Some(Self::WorkPackageSubmission),
            134 => Some(Self::WorkPackageSharing),
            135 => Some(Self::WorkReportDistribution),
            141 => Some(Self::AssuranceDistribution),
            131 => Some(Self::TicketToProxy),
            132 => Some(Self::TicketFromProxy),
            142 => Some(Self::PreimageAnnouncement),
            143 => Some(Self::PreimageRequest),
            137 => Some(Self::ShardDistribution),
            138 => Some(Self::AuditShardRequest),
            147 => Some(Self::BundleRequest),
            _ => None,
        }
    }

    /// Its name in JAMNP-S (`UP 0`, `CE 128`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::BlockAnnouncement => "UP 0",
            Self::BlockRequest => "CE 128",
            Self::WorkPackageSubmission => "CE 133",
            Self::WorkPackageSharing => "CE 134",
            Self::WorkReportDistribution => "CE 135",
            Self::AssuranceDistribution => "CE 141",
            Self::TicketToProxy => "CE 131",
            Self::TicketFromProxy => "CE 132",
            Self::PreimageAnnouncement => "CE 142",
            Self::PreimageRequest => "CE 143",
            Self::ShardDistribution => "CE 137",
            Self::AuditShardRequest => "CE 138",
            Self::BundleRequest => "CE 147",
        }
    }
}

/// Why a message is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// It does not decode.
    #[error("{what}: {reason}")]
    Decode {
        /// The message.
        what: &'static str,
        /// The decoder's complaint.
        reason: String,
    },
    /// Octets are left after it.
    #[error("{what}: {extra} octets after the message")]
    Trailing {
        /// The message.
        what: &'static str,
        /// Octets left.
        extra: usize,
    },
    /// A field has a value the protocol does not define.
    #[error("{what}: {reason}")]
    Invalid {
        /// The message.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// A block named by its header hash and slot (`Final`, `Leaf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slotted {
    /// The header hash.
    pub hash: HeaderHash,
    /// Its slot.
    pub slot: TimeSlot,
}

impl Slotted {
    fn encode_to(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.hash.0);
        out.extend_from_slice(&self.slot.to_le_bytes());
    }

    fn decode(input: &mut &[u8], what: &'static str) -> Result<Self, MessageError> {
        if input.len() < 36 {
            return Err(MessageError::Decode {
                what,
                reason: format!("{} octets left for a 36-octet hash and slot", input.len()),
            });
        }
        let (hash, rest) = input.split_at(32);
        let (slot, rest) = rest.split_at(4);
        let mut h = [0u8; 32];
        h.copy_from_slice(hash);
        let mut s = [0u8; 4];
        s.copy_from_slice(slot);
        *input = rest;
        Ok(Self {
            hash: ByteArray(h),
            slot: u32::from_le_bytes(s),
        })
    }
}

/// Most leaves a handshake may carry.
pub const MAX_LEAVES: usize = 1024;

/// UP 0's handshake: `Final ++ len++[Leaf]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The latest finalized block.
    pub finalized: Slotted,
    /// The known leaves (descendants of the finalized block without known children).
    pub leaves: Vec<Slotted>,
}

impl Handshake {
    /// The largest handshake accepted.
    pub const LIMIT: usize = 36 + 9 + MAX_LEAVES * 36;

    /// Its encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(36 + 5 + self.leaves.len() * 36);
        self.finalized.encode_to(&mut out);
        Compact(self.leaves.len() as u64).encode_to(&mut out);
        for leaf in &self.leaves {
            leaf.encode_to(&mut out);
        }
        out
    }

    /// Decodes a whole message.
    pub fn decode(bytes: &[u8]) -> Result<Self, MessageError> {
        const WHAT: &str = "handshake";
        let mut input = bytes;
        let finalized = Slotted::decode(&mut input, WHAT)?;
        let (count, rest) =
            codec::decode_general_natural(input).ok_or_else(|| MessageError::Decode {
                what: WHAT,
                reason: "no leaf count".into(),
            })?;
        input = rest;
        let count = usize::try_from(count)
            .ok()
            .filter(|&c| c <= MAX_LEAVES)
            .ok_or_else(|| MessageError::Invalid {
                what: WHAT,
                reason: format!("{count} leaves, at most {MAX_LEAVES}"),
            })?;
        let leaves = (0..count)
            .map(|_| Slotted::decode(&mut input, WHAT))
            .collect::<Result<Vec<_>, _>>()?;
        if !input.is_empty() {
            return Err(MessageError::Trailing {
                what: WHAT,
                extra: input.len(),
            });
        }
        Ok(Self { finalized, leaves })
    }
}

/// UP 0's announcement: `Header ++ Final`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// The announced block's header.
    pub header: Header,
    /// The sender's latest finalized block.
    pub finalized: Slotted,
}

impl Announcement {
    /// The largest announcement accepted: a header with an epoch marker of
    /// `V` keys, a tickets marker of `E` tickets and offenders.
    pub fn limit(params: &ProtocolParameters) -> usize {
        let v = usize::from(params.validators_count);
        let e = usize::try_from(params.epoch_length).unwrap_or(usize::MAX);
        // Fixed fields and markers with room to spare; offenders (32 each)
        // counted as up to `V`.
        4096 + v * 64 + v * 32 + e * 33
    }

    /// Its encoding under `params`.
    pub fn encode(&self, params: &ProtocolParameters) -> Vec<u8> {
        let mut out = codec::with_params(params, || self.header.encode());
        self.finalized.encode_to(&mut out);
        out
    }

    /// Decodes a whole message.
    pub fn decode(bytes: &[u8], params: &ProtocolParameters) -> Result<Self, MessageError> {
        const WHAT: &str = "announcement";
        let mut input = bytes;
        let header: Header =
            codec::decode_prefix(&mut input, params).map_err(|e| MessageError::Decode {
                what: WHAT,
                reason: e.to_string(),
            })?;
        let finalized = Slotted::decode(&mut input, WHAT)?;
        if !input.is_empty() {
            return Err(MessageError::Trailing {
                what: WHAT,
                extra: input.len(),
            });
        }
        Ok(Self { header, finalized })
    }
}

/// CE 128's direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Ascending exclusive: the given block's child, grandchild, ….
    Ascending,
    /// Descending inclusive: the given block, its parent, ….
    Descending,
}

/// CE 128's request: `Header Hash ++ Direction ++ Maximum Blocks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRequest {
    /// The block the sequence starts from.
    pub hash: HeaderHash,
    /// Which way.
    pub direction: Direction,
    /// Most blocks wanted.
    pub max_blocks: u32,
}

impl BlockRequest {
    /// Its size: always 37 octets.
    pub const SIZE: usize = 37;

    /// Its encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::SIZE);
        out.extend_from_slice(&self.hash.0);
        out.push(match self.direction {
            Direction::Ascending => 0,
            Direction::Descending => 1,
        });
        out.extend_from_slice(&self.max_blocks.to_le_bytes());
        out
    }

    /// Decodes a whole message.
    pub fn decode(bytes: &[u8]) -> Result<Self, MessageError> {
        const WHAT: &str = "block request";
        if bytes.len() != Self::SIZE {
            return Err(MessageError::Decode {
                what: WHAT,
                reason: format!("{} octets, {} expected", bytes.len(), Self::SIZE),
            });
        }
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&bytes[..32]);
        let direction = match bytes[32] {
            0 => Direction::Ascending,
            1 => Direction::Descending,
            other => {
                return Err(MessageError::Invalid {
                    what: WHAT,
                    reason: format!("direction {other} (0 or 1)"),
                })
            }
        };
        let mut max = [0u8; 4];
        max.copy_from_slice(&bytes[33..]);
        Ok(Self {
            hash: ByteArray(hash),
            direction,
            max_blocks: u32::from_le_bytes(max),
        })
    }
}

/// Encodes CE 128's response `[Block]` (the blocks one after the other).
pub fn encode_blocks(blocks: &[Block], params: &ProtocolParameters) -> Vec<u8> {
    codec::with_params(params, || {
        let mut out = Vec::new();
        for block in blocks {
            block.encode_to(&mut out);
        }
        out
    })
}

/// Decodes CE 128's response: blocks until the message is consumed, at
/// most `max` of them.
pub fn decode_blocks(
    bytes: &[u8],
    max: u32,
    params: &ProtocolParameters,
) -> Result<Vec<Block>, MessageError> {
    const WHAT: &str = "block response";
    let mut input = bytes;
    let mut blocks = Vec::new();
    while !input.is_empty() {
        if blocks.len() >= max as usize {
            return Err(MessageError::Invalid {
                what: WHAT,
                reason: format!("more than the {max} blocks asked for"),
            });
        }
        let block: Block =
            codec::decode_prefix(&mut input, params).map_err(|e| MessageError::Decode {
                what: WHAT,
                reason: e.to_string(),
            })?;
        blocks.push(block);
    }
    Ok(blocks)
}

/// `H(E(header))`, a header's hash (GP eq. 5.2's `H_P` of its children).
pub fn header_hash(header: &Header, params: &ProtocolParameters) -> HeaderHash {
    ByteArray(parajam_crypto::blake2b_256(&codec::with_params(
        params,
        || header.encode(),
    )))
}

/// Checks that `blocks`, the answer to `request`, form the sequence asked
/// for: linked by their parents, starting where the request says.
pub fn check_sequence(
    request: &BlockRequest,
    blocks: &[Block],
    params: &ProtocolParameters,
) -> Result<(), MessageError> {
    const WHAT: &str = "block response";
    let mut expected_parent = match request.direction {
        Direction::Ascending => Some(request.hash),
        Direction::Descending => None,
    };
    let mut expected_hash = match request.direction {
        Direction::Ascending => None,
        Direction::Descending => Some(request.hash),
    };
    for (i, block) in blocks.iter().enumerate() {
        let hash = header_hash(&block.header, params);
        match request.direction {
            Direction::Ascending => {
                if Some(block.header.parent) != expected_parent {
                    return Err(MessageError::Invalid {
                        what: WHAT,
                        reason: format!("block {i} is not the child of the one before"),
                    });
                }
                expected_parent = Some(hash);
            }
            Direction::Descending => {
                if Some(hash) != expected_hash {
                    return Err(MessageError::Invalid {
                        what: WHAT,
                        reason: format!("block {i} is not the parent of the one before"),
                    });
                }
                expected_hash = Some(block.header.parent);
            }
        }
    }
    Ok(())
}

fn decode_error(what: &'static str, e: impl std::fmt::Display) -> MessageError {
    MessageError::Decode {
        what,
        reason: e.to_string(),
    }
}

fn trailing(what: &'static str, input: &[u8]) -> Result<(), MessageError> {
    if input.is_empty() {
        Ok(())
    } else {
        Err(MessageError::Trailing {
            what,
            extra: input.len(),
        })
    }
}

fn take<'a>(input: &mut &'a [u8], n: usize, what: &'static str) -> Result<&'a [u8], MessageError> {
    if input.len() < n {
        return Err(MessageError::Decode {
            what,
            reason: format!("{} octets left, {n} needed", input.len()),
        });
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

fn core_of(input: &mut &[u8], what: &'static str) -> Result<CoreIndex, MessageError> {
    let octets = take(input, 2, what)?;
    Ok(u16::from_le_bytes([octets[0], octets[1]]))
}

fn hash_of(input: &mut &[u8], what: &'static str) -> Result<OpaqueHash, MessageError> {
    let mut h = [0u8; 32];
    h.copy_from_slice(take(input, 32, what)?);
    Ok(ByteArray(h))
}

/// Each work item's extrinsic blobs, in item order.
pub type ItemExtrinsics = Vec<Vec<Vec<u8>>>;

/// The extrinsic blobs `package`'s items name, cut from `input` in item
/// order by their lengths (the `[Extrinsic]` of CE 133 and of a bundle).
fn cut_extrinsics(
    package: &WorkPackage,
    input: &mut &[u8],
    what: &'static str,
) -> Result<ItemExtrinsics, MessageError> {
    package
        .items
        .iter()
        .map(|item| {
            item.extrinsic
                .iter()
                .map(|x| Ok(take(input, x.len as usize, what)?.to_vec()))
                .collect()
        })
        .collect()
}

/// CE 133: `Core Index ++ Work-Package`, then `[Extrinsic]` (the extrinsic
/// data the package's items name, one blob after the other).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkPackageSubmission {
    /// The core the package is for.
    pub core: CoreIndex,
    /// The package.
    pub package: WorkPackage,
    /// Each item's extrinsics, in item order.
    pub extrinsics: ItemExtrinsics,
}

impl WorkPackageSubmission {
    /// The first message's limit (JAMNP-S: `2 + 200 × 1024`).
    pub const FIRST_LIMIT: usize = 2 + 200 * 1024;

    /// The second message's limit: `W_B`, the largest bundle.
    pub fn extrinsics_limit(params: &ProtocolParameters) -> usize {
        params.max_bundle_size as usize
    }

    /// Its two messages.
    pub fn encode(&self, params: &ProtocolParameters) -> [Vec<u8>; 2] {
        let mut first = self.core.to_le_bytes().to_vec();
        first.extend(codec::with_params(params, || self.package.encode()));
        let second = self
            .extrinsics
            .iter()
            .flatten()
            .flatten()
            .copied()
            .collect();
        [first, second]
    }

    /// Decodes its two messages.
    pub fn decode(
        first: &[u8],
        second: &[u8],
        params: &ProtocolParameters,
    ) -> Result<Self, MessageError> {
        const WHAT: &str = "work-package submission";
        let mut input = first;
        let core = core_of(&mut input, WHAT)?;
        let package: WorkPackage =
            codec::decode_prefix(&mut input, params).map_err(|e| decode_error(WHAT, e))?;
        trailing(WHAT, input)?;
        let mut input = second;
        let extrinsics = cut_extrinsics(&package, &mut input, WHAT)?;
        trailing(WHAT, input)?;
        Ok(Self {
            core,
            package,
            extrinsics,
        })
    }
}

/// Most segments-root mappings accepted in CE 134.
pub const MAX_MAPPINGS: usize = 1024;

/// CE 134's request: `Core Index ++ Segments-Root Mappings`, then the
/// work-package bundle (`E(p, x#, i#, j#)`, GP eq. 14.16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkPackageSharing {
    /// The core.
    pub core: CoreIndex,
    /// `len++[Work-Package Hash ++ Segments-Root]`.
    pub mappings: Vec<(OpaqueHash, OpaqueHash)>,
    /// The encoded bundle.
    pub bundle: Vec<u8>,
}

impl WorkPackageSharing {
    /// The first message's limit.
    pub const FIRST_LIMIT: usize = 2 + 9 + 64 * MAX_MAPPINGS;

    /// Its two messages.
    pub fn encode(&self) -> [Vec<u8>; 2] {
        let mut first = self.core.to_le_bytes().to_vec();
        Compact(self.mappings.len() as u64).encode_to(&mut first);
        for (package, root) in &self.mappings {
            first.extend_from_slice(&package.0);
            first.extend_from_slice(&root.0);
        }
        [first, self.bundle.clone()]
    }

    /// Decodes its two messages; the bundle must start with a work package
    /// and the extrinsics it names ([`split_bundle`]).
    pub fn decode(
        first: &[u8],
        second: &[u8],
        params: &ProtocolParameters,
    ) -> Result<Self, MessageError> {
        const WHAT: &str = "work-package sharing";
        let mut input = first;
        let core = core_of(&mut input, WHAT)?;
        let (count, rest) =
            codec::decode_general_natural(input).ok_or_else(|| MessageError::Decode {
                what: WHAT,
                reason: "no mapping count".into(),
            })?;
        input = rest;
        let count = usize::try_from(count)
            .ok()
            .filter(|&c| c <= MAX_MAPPINGS)
            .ok_or_else(|| MessageError::Invalid {
                what: WHAT,
                reason: format!("{count} mappings, at most {MAX_MAPPINGS}"),
            })?;
        let mappings = (0..count)
            .map(|_| Ok((hash_of(&mut input, WHAT)?, hash_of(&mut input, WHAT)?)))
            .collect::<Result<Vec<_>, MessageError>>()?;
        trailing(WHAT, input)?;
        split_bundle(second, params)?;
        Ok(Self {
            core,
            mappings,
            bundle: second.to_vec(),
        })
    }
}

/// A bundle's work package and the extrinsics of its items (GP eq. 14.16:
/// `E(p, x#, i#, j#)`); the imported segments and justifications after
/// them are left to the caller.
pub fn split_bundle(
    bundle: &[u8],
    params: &ProtocolParameters,
) -> Result<(WorkPackage, ItemExtrinsics), MessageError> {
    const WHAT: &str = "work-package bundle";
    let mut input = bundle;
    let package: WorkPackage =
        codec::decode_prefix(&mut input, params).map_err(|e| decode_error(WHAT, e))?;
    let extrinsics = cut_extrinsics(&package, &mut input, WHAT)?;
    let imports = package
        .items
        .iter()
        .map(|i| i.import_segments.len())
        .sum::<usize>();
    if imports == 0 {
        trailing(WHAT, input)?;
    }
    Ok((package, extrinsics))
}

/// CE 134's response: `Work-Report Hash ++ Ed25519 Signature`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareResponse {
    /// `H(E(r))` of the report the guarantor made.
    pub report_hash: OpaqueHash,
    /// Its signature over `X_G ⌢ H(E(r))` (GP eq. 11.26).
    pub signature: Ed25519Signature,
}

impl ShareResponse {
    /// Its size: always 96 octets.
    pub const SIZE: usize = 96;

    /// Its encoding.
    pub fn encode(&self) -> Vec<u8> {
        [&self.report_hash.0[..], &self.signature.0[..]].concat()
    }

    /// Decodes a whole message.
    pub fn decode(bytes: &[u8]) -> Result<Self, MessageError> {
        const WHAT: &str = "work-package sharing response";
        let mut input = bytes;
        let report_hash = hash_of(&mut input, WHAT)?;
        let mut signature = [0u8; 64];
        signature.copy_from_slice(take(&mut input, 64, WHAT)?);
        trailing(WHAT, input)?;
        Ok(Self {
            report_hash,
            signature: ByteArray(signature),
        })
    }
}

/// CE 135: `Guaranteed Work-Report = Work-Report ++ Slot ++ len++[Validator
/// Index ++ Ed25519 Signature]`, as in the GP (a guarantee, eq. 11.23).
pub mod guaranteed_report {
    use super::{codec, decode_error, Encode, MessageError, ProtocolParameters, ReportGuarantee};

    /// Its limit: `W_R` of outputs plus the report's other fields (well
    /// under this for the tiny and full chains).
    pub fn limit(params: &ProtocolParameters) -> usize {
        params.max_report_output_size as usize + (64 << 10)
    }

    /// Its encoding.
    pub fn encode(guarantee: &ReportGuarantee, params: &ProtocolParameters) -> Vec<u8> {
        codec::with_params(params, || guarantee.encode())
    }

    /// Decodes a whole message: two or three credentials (JAMNP-S).
    pub fn decode(
        bytes: &[u8],
        params: &ProtocolParameters,
    ) -> Result<ReportGuarantee, MessageError> {
        const WHAT: &str = "guaranteed work-report";
        let guarantee: ReportGuarantee =
            codec::decode(bytes, params).map_err(|e| decode_error(WHAT, e))?;
        if !(2..=3).contains(&guarantee.signatures.len()) {
            return Err(MessageError::Invalid {
                what: WHAT,
                reason: format!("{} signatures, 2 or 3 expected", guarantee.signatures.len()),
            });
        }
        Ok(guarantee)
    }
}

/// CE 141: `Assurance = Header Hash (Anchor) ++ Bitfield ++ Ed25519
/// Signature`; the validator is the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assurance {
    /// The anchor: the parent of the block that may include it.
    pub anchor: HeaderHash,
    /// One bit per core, `⌈C / 8⌉` octets.
    pub bitfield: Vec<u8>,
    /// The signature over `X_A ⌢ H(E(anchor, bitfield))` (GP eq. 11.13).
    pub signature: Ed25519Signature,
}

impl Assurance {
    /// Its size under `params`.
    pub fn size(params: &ProtocolParameters) -> usize {
        32 + params.avail_bitfield_bytes() + 64
    }

    /// Its encoding.
    pub fn encode(&self) -> Vec<u8> {
        [&self.anchor.0[..], &self.bitfield, &self.signature.0[..]].concat()
    }

    /// Decodes a whole message.
    pub fn decode(bytes: &[u8], params: &ProtocolParameters) -> Result<Self, MessageError> {
        const WHAT: &str = "assurance";
        if bytes.len() != Self::size(params) {
            return Err(MessageError::Decode {
                what: WHAT,
                reason: format!("{} octets, {} expected", bytes.len(), Self::size(params)),
            });
        }
        let mut input = bytes;
        let anchor = hash_of(&mut input, WHAT)?;
        let bitfield = take(&mut input, params.avail_bitfield_bytes(), WHAT)?.to_vec();
        let mut signature = [0u8; 64];
        signature.copy_from_slice(take(&mut input, 64, WHAT)?);
        Ok(Self {
            anchor,
            bitfield,
            signature: ByteArray(signature),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_round_trips_and_refuses_bad_input() {
        let h = Handshake {
            finalized: Slotted {
                hash: ByteArray([1; 32]),
                slot: 7,
            },
            leaves: vec![
                Slotted {
                    hash: ByteArray([2; 32]),
                    slot: 9,
                },
                Slotted {
                    hash: ByteArray([3; 32]),
                    slot: 10,
                },
            ],
        };
        let bytes = h.encode();
        assert_eq!(bytes.len(), 36 + 1 + 72);
        assert_eq!(&bytes[32..36], &7u32.to_le_bytes());
        assert_eq!(bytes[36], 2);
        assert_eq!(Handshake::decode(&bytes), Ok(h));
        assert!(matches!(
            Handshake::decode(&bytes[..bytes.len() - 1]),
            Err(MessageError::Decode { .. })
        ));
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(
            Handshake::decode(&long),
            Err(MessageError::Trailing { extra: 1, .. })
        ));
        // A leaf count past the limit is refused before any leaf is read.
        let mut many = bytes[..36].to_vec();
        Compact(MAX_LEAVES as u64 + 1).encode_to(&mut many);
        assert!(matches!(
            Handshake::decode(&many),
            Err(MessageError::Invalid { .. })
        ));
    }

    #[test]
    fn block_request_is_37_octets_with_a_defined_direction() {
        let r = BlockRequest {
            hash: ByteArray([4; 32]),
            direction: Direction::Descending,
            max_blocks: 300,
        };
        let bytes = r.encode();
        assert_eq!(bytes.len(), 37);
        assert_eq!(bytes[32], 1);
        assert_eq!(&bytes[33..], &300u32.to_le_bytes());
        assert_eq!(BlockRequest::decode(&bytes), Ok(r));
        let mut bad = bytes.clone();
        bad[32] = 2;
        assert!(matches!(
            BlockRequest::decode(&bad),
            Err(MessageError::Invalid { .. })
        ));
        assert!(BlockRequest::decode(&bytes[..36]).is_err());
    }

    #[test]
    fn garbage_is_no_announcement_and_no_blocks() {
        let params = ProtocolParameters::TINY;
        assert!(Announcement::decode(&[0xff; 40], &params).is_err());
        assert!(decode_blocks(&[0xff; 40], 4, &params).is_err());
        assert_eq!(decode_blocks(&[], 4, &params), Ok(Vec::new()));
    }

    #[test]
    fn stream_kinds_are_0_and_128() {
        assert_eq!(StreamKind::BlockAnnouncement.octet(), 0);
        assert_eq!(StreamKind::BlockRequest.octet(), 128);
        assert_eq!(StreamKind::from_octet(128), Some(StreamKind::BlockRequest));
        assert_eq!(StreamKind::from_octet(129), None);
    }
}
