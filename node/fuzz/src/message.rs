//! The messages of fuzzer protocol v1 (`fuzz-proto/fuzz-v1.asn` in
//! `davxy/jam-conformance`) and their JAM encodings.
//!
//! A message is its one-octet tag (the ASN.1 `CHOICE` index) followed by the
//! JAM encoding of its payload. Decoding is strict: an unknown tag, a payload
//! that ends early, octets left after the payload and non-canonical encodings
//! are all errors.

use std::fmt;
use std::ops::{BitAnd, BitOr};

use parajam_primitives::codec::{self, Decode, Encode};
use parajam_primitives::types::{Block, Header, HeaderHash, KeyValue, StateRoot, TimeSlot};
use parajam_primitives::ProtocolParameters;

use crate::error::ProtocolError;

/// The fuzzer protocol version this crate speaks.
pub const FUZZ_VERSION: u8 = 1;

/// The most ancestry items an `Initialize` message may carry (`Ancestry ::=
/// SEQUENCE (SIZE(0..24))`: the tiny lookup-anchor age `L`).
pub const MAX_ANCESTRY_LEN: usize = 24;

/// A set of protocol feature bits (`Features ::= U32`).
///
/// The session's features are the intersection of both peers' sets.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Encode, Decode)]
pub struct Features(pub u32);

impl Features {
    /// No features.
    pub const NONE: Self = Self(0);
    /// `feature-ancestry`: `Initialize` carries the ancestry of the first imported block.
    pub const ANCESTRY: Self = Self(1);
    /// `feature-fork`: the fuzzer may send sibling blocks (forks of depth 1).
    pub const FORK: Self = Self(2);
    /// `feature-reserved`: kept for future extensions.
    pub const RESERVED: Self = Self(1 << 31);
    /// Every feature parajam supports: ancestry and forks.
    pub const PARAJAM: Self = Self(Self::ANCESTRY.0 | Self::FORK.0);

    /// Whether every bit of `other` is set in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The features both sets have.
    #[must_use]
    pub const fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }
}

impl BitAnd for Features {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        self.intersection(rhs)
    }
}

impl BitOr for Features {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl fmt::Debug for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Features({:#x}", self.0)?;
        if self.contains(Self::ANCESTRY) {
            f.write_str(" ancestry")?;
        }
        if self.contains(Self::FORK) {
            f.write_str(" fork")?;
        }
        f.write_str(")")
    }
}

/// A `major.minor.patch` version, one octet each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Encode, Decode)]
pub struct Version {
    /// Major version.
    pub major: u8,
    /// Minor version.
    pub minor: u8,
    /// Patch version.
    pub patch: u8,
}

impl Version {
    /// The Gray Paper version parajam implements: 0.7.2.
    pub const JAM: Self = Self::new(0, 7, 2);

    /// `major.minor.patch`.
    pub const fn new(major: u8, minor: u8, patch: u8) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// `PeerInfo`: the handshake message each peer sends once.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct PeerInfo {
    /// Fuzzer protocol version ([`FUZZ_VERSION`]).
    pub fuzz_version: u8,
    /// The features this peer supports.
    pub features: Features,
    /// JAM (Gray Paper) version.
    pub jam_version: Version,
    /// Application version.
    pub app_version: Version,
    /// Application name (UTF-8).
    pub app_name: String,
}

impl PeerInfo {
    /// parajam's own peer info: protocol version 1, features ancestry and
    /// fork, JAM 0.7.2, this crate's version, app name `parajam`.
    pub fn parajam() -> Self {
        let part = |s: &str| s.parse::<u8>().unwrap_or(0);
        Self {
            fuzz_version: FUZZ_VERSION,
            features: Features::PARAJAM,
            jam_version: Version::JAM,
            app_version: Version::new(
                part(env!("CARGO_PKG_VERSION_MAJOR")),
                part(env!("CARGO_PKG_VERSION_MINOR")),
                part(env!("CARGO_PKG_VERSION_PATCH")),
            ),
            app_name: "parajam".to_owned(),
        }
    }
}

/// `AncestryItem`: one ancestor of the first imported block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Encode, Decode)]
pub struct AncestryItem {
    /// Its timeslot.
    pub slot: TimeSlot,
    /// Its header hash.
    pub header_hash: HeaderHash,
}

/// `Initialize`: set (or reset) the target's state.
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode)]
pub struct Initialize {
    /// A genesis-like header whose hash names `state`; its contents do not
    /// determine the state, which is taken exactly as given.
    pub header: Header,
    /// The full state as key/value pairs.
    pub state: Vec<KeyValue>,
    /// Ancestors of the first block to be imported (including `header`'s
    /// hash), at most [`MAX_ANCESTRY_LEN`]; empty unless both peers have
    /// [`Features::ANCESTRY`].
    pub ancestry: Vec<AncestryItem>,
}

/// The tag of each message kind (its ASN.1 `CHOICE` index).
pub mod tag {
    /// `peer-info`.
    pub const PEER_INFO: u8 = 0;
    /// `initialize`.
    pub const INITIALIZE: u8 = 1;
    /// `state-root`.
    pub const STATE_ROOT: u8 = 2;
    /// `import-block`.
    pub const IMPORT_BLOCK: u8 = 3;
    /// `get-state`.
    pub const GET_STATE: u8 = 4;
    /// `state`.
    pub const STATE: u8 = 5;
    /// `error`.
    pub const ERROR: u8 = 255;
}

/// One message of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `peer-info [0]`: handshake, both directions.
    PeerInfo(PeerInfo),
    /// `initialize [1]`: fuzzer to target; answered with a state root.
    Initialize(Box<Initialize>),
    /// `state-root [2]`: target to fuzzer, the posterior state root.
    StateRoot(StateRoot),
    /// `import-block [3]`: fuzzer to target; answered with a state root or an error.
    ImportBlock(Box<Block>),
    /// `get-state [4]`: fuzzer to target, the state after the block with this header hash.
    GetState(HeaderHash),
    /// `state [5]`: target to fuzzer, the full key/value state.
    State(Vec<KeyValue>),
    /// `error [255]`: target to fuzzer, a UTF-8 reason (e.g. an invalid block).
    Error(String),
}

impl Message {
    /// The message's tag octet.
    pub fn tag(&self) -> u8 {
        match self {
            Self::PeerInfo(_) => tag::PEER_INFO,
            Self::Initialize(_) => tag::INITIALIZE,
            Self::StateRoot(_) => tag::STATE_ROOT,
            Self::ImportBlock(_) => tag::IMPORT_BLOCK,
            Self::GetState(_) => tag::GET_STATE,
            Self::State(_) => tag::STATE,
            Self::Error(_) => tag::ERROR,
        }
    }

    /// The message's kind as the schema names it (`peer-info`, ...).
    pub fn kind(&self) -> &'static str {
        kind_of(self.tag()).unwrap_or("unknown")
    }

    /// The JAM encoding: tag octet, then the payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.tag()];
        match self {
            Self::PeerInfo(info) => info.encode_to(&mut out),
            Self::Initialize(init) => init.encode_to(&mut out),
            Self::StateRoot(root) => root.encode_to(&mut out),
            Self::ImportBlock(block) => block.encode_to(&mut out),
            Self::GetState(hash) => hash.encode_to(&mut out),
            Self::State(state) => state.encode_to(&mut out),
            Self::Error(reason) => reason.encode_to(&mut out),
        }
        out
    }

    /// Decodes exactly one message from `bytes` (no framing) under `params`.
    pub fn decode(bytes: &[u8], params: &ProtocolParameters) -> Result<Self, ProtocolError> {
        let (&tag, payload) = bytes.split_first().ok_or(ProtocolError::EmptyMessage)?;
        let kind = kind_of(tag).ok_or(ProtocolError::UnknownTag(tag))?;
        let invalid = |source| ProtocolError::Decode { kind, source };
        Ok(match tag {
            tag::PEER_INFO => Self::PeerInfo(codec::decode(payload, params).map_err(invalid)?),
            tag::INITIALIZE => {
                let init: Initialize = codec::decode(payload, params).map_err(invalid)?;
                if init.ancestry.len() > MAX_ANCESTRY_LEN {
                    return Err(ProtocolError::AncestryTooLong {
                        len: init.ancestry.len(),
                        max: MAX_ANCESTRY_LEN,
                    });
                }
                Self::Initialize(Box::new(init))
            }
            tag::STATE_ROOT => Self::StateRoot(codec::decode(payload, params).map_err(invalid)?),
            tag::IMPORT_BLOCK => {
                Self::ImportBlock(Box::new(codec::decode(payload, params).map_err(invalid)?))
            }
            tag::GET_STATE => Self::GetState(codec::decode(payload, params).map_err(invalid)?),
            tag::STATE => Self::State(codec::decode(payload, params).map_err(invalid)?),
            // `kind_of` knows no other tag.
            _ => Self::Error(codec::decode(payload, params).map_err(invalid)?),
        })
    }
}

/// The schema's name of the message kind with tag `tag`, if there is one.
pub fn kind_of(tag: u8) -> Option<&'static str> {
    Some(match tag {
        tag::PEER_INFO => "peer-info",
        tag::INITIALIZE => "initialize",
        tag::STATE_ROOT => "state-root",
        tag::IMPORT_BLOCK => "import-block",
        tag::GET_STATE => "get-state",
        tag::STATE => "state",
        tag::ERROR => "error",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use parajam_primitives::codec::DecodeError;

    const P: ProtocolParameters = ProtocolParameters::TINY;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("test hex"))
            .collect()
    }

    #[test]
    fn readme_examples_encode_exactly() {
        // The three worked examples of fuzz-proto/README.md.
        let info = Message::PeerInfo(PeerInfo {
            fuzz_version: 1,
            features: Features::FORK,
            jam_version: Version::new(0, 7, 0),
            app_version: Version::new(0, 1, 25),
            app_name: "fuzzer".into(),
        });
        let bytes = hex("0001020000000007000001190666757a7a6572");
        assert_eq!(info.encode(), bytes);
        assert_eq!(Message::decode(&bytes, &P).expect("decodes"), info);

        let root = hex("4559342d3a32a8cbc3c46399a80753abff8bf785aa9d6f623e0de045ba6701fe");
        let msg = Message::StateRoot(StateRoot::try_from(&root[..]).expect("32 octets"));
        let mut bytes = vec![2];
        bytes.extend_from_slice(&root);
        assert_eq!(msg.encode(), bytes);
        assert_eq!(Message::decode(&bytes, &P).expect("decodes"), msg);

        let reason = "Chain error: block execution failure: preimages error: preimage not required";
        let msg = Message::Error(reason.into());
        let mut bytes = vec![0xff, 0x4c];
        bytes.extend_from_slice(reason.as_bytes());
        assert_eq!(msg.encode(), bytes);
        assert_eq!(Message::decode(&bytes, &P).expect("decodes"), msg);
    }

    #[test]
    fn every_kind_round_trips() {
        let messages = [
            Message::PeerInfo(PeerInfo::parajam()),
            Message::Initialize(Box::new(Initialize {
                ancestry: vec![AncestryItem {
                    slot: 3,
                    header_hash: [7; 32].into(),
                }],
                state: vec![KeyValue {
                    key: [1; 31].into(),
                    value: vec![1, 2, 3].into(),
                }],
                ..Initialize::default()
            })),
            Message::StateRoot([5; 32].into()),
            Message::ImportBlock(Box::default()),
            Message::GetState([9; 32].into()),
            Message::State(Vec::new()),
            Message::Error(String::new()),
        ];
        for msg in messages {
            let bytes = msg.encode();
            assert_eq!(bytes[0], msg.tag());
            assert_eq!(Message::decode(&bytes, &P).expect("round trip"), msg);
        }
    }

    #[test]
    fn strict_decoding() {
        assert!(matches!(
            Message::decode(&[], &P),
            Err(ProtocolError::EmptyMessage)
        ));
        assert!(matches!(
            Message::decode(&[6], &P),
            Err(ProtocolError::UnknownTag(6))
        ));
        let mut bytes = Message::GetState([9; 32].into()).encode();
        bytes.push(0);
        assert!(matches!(
            Message::decode(&bytes, &P),
            Err(ProtocolError::Decode {
                kind: "get-state",
                source: DecodeError::TrailingBytes { .. }
            })
        ));
        bytes.truncate(20);
        assert!(matches!(
            Message::decode(&bytes, &P),
            Err(ProtocolError::Decode {
                source: DecodeError::Invalid { .. },
                ..
            })
        ));
        // Invalid UTF-8 in an error reason.
        assert!(Message::decode(&[0xff, 1, 0xc3], &P).is_err());
    }

    #[test]
    fn ancestry_is_bounded() {
        let init = Initialize {
            ancestry: vec![AncestryItem::default(); MAX_ANCESTRY_LEN + 1],
            ..Initialize::default()
        };
        let bytes = Message::Initialize(Box::new(init)).encode();
        assert!(matches!(
            Message::decode(&bytes, &P),
            Err(ProtocolError::AncestryTooLong { len: 25, max: 24 })
        ));
    }
}
