//! The 128-octet memo of the JAM deferred transfers the CoreChains service
//! sends and receives (GP 0.7.2 `W_T` = 128, the `m` of a deferred
//! transfer; see `parajam_corechains_service::jam_transfers`).
//!
//! | octets | field |
//! |---|---|
//! | 0 | version: [`MEMO_VERSION`] |
//! | 1 | kind: [`MemoKind`] (1 HRMP message, 2 value transfer, 3 bounce) |
//! | 2..6 | source para, `E4` (zero when the sender is not a para) |
//! | 6..10 | destination: a para (HRMP, value into a para) or a service id (value out of a para), `E4` |
//! | 10..18 | sequence number, `E8` (HRMP: per channel, from zero; otherwise the sender's) |
//! | 18..22 | the timeslot it was sent at, `E4` |
//! | 22..54 | subject, 32 octets: HRMP the payload's Blake2b-256; value into a para the beneficiary (an `AccountId32`); value out of a para the upward message's Blake2b-256; bounce the bounced memo's Blake2b-256 |
//! | 54..58 | payload length, `E4` (HRMP; zero otherwise) |
//! | 58 | bounce reason ([`BounceReason`]; zero unless kind is bounce) |
//! | 59..128 | zero |
//!
//! [`Memo::decode`] refuses anything else with a typed [`MemoError`].

use crate::{Hash, ParaId};

/// The memo's length, GP `W_T`.
pub const MEMO_LEN: usize = 128;

/// The layout version this module reads and writes.
pub const MEMO_VERSION: u8 = 1;

/// Where the zero padding starts.
const PADDING_AT: usize = 59;

/// What a transfer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MemoKind {
    /// An HRMP message between paras hosted by two CoreChains instances:
    /// the payload is in the sender's storage (`Outbox`).
    Hrmp = 1,
    /// Value: into a para (from any service) or out of a para (to a
    /// service).
    Value = 2,
    /// A transfer sent back, with a [`BounceReason`].
    Bounce = 3,
}

/// Why a transfer was sent back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BounceReason {
    /// The memo does not decode ([`MemoError`]).
    MalformedMemo = 1,
    /// The destination para is not registered at the receiving instance.
    UnknownPara = 2,
    /// The HRMP payload's hash or length is not the memo's.
    HashMismatch = 3,
    /// The destination's queue is full or the message over its size limit.
    QueueFull = 4,
    /// An HRMP message whose sequence number is not its channel's next one.
    OutOfOrder = 5,
    /// An HRMP message from a service that the receiving instance's route
    /// table does not name for the source para.
    UnknownSender = 6,
    /// An HRMP message whose payload is not in the sender's storage.
    PayloadMissing = 7,
    /// An HRMP message on a channel the receiving instance does not have open.
    NoChannel = 8,
    /// A value transfer of more than the receiving side can account for.
    Overflow = 9,
}

impl BounceReason {
    /// The reason with this code.
    pub const fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => Self::MalformedMemo,
            2 => Self::UnknownPara,
            3 => Self::HashMismatch,
            4 => Self::QueueFull,
            5 => Self::OutOfOrder,
            6 => Self::UnknownSender,
            7 => Self::PayloadMissing,
            8 => Self::NoChannel,
            9 => Self::Overflow,
            _ => return None,
        })
    }
}

/// Why a memo does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MemoError {
    /// Not 128 octets.
    #[error("a memo has {0} octets, not 128")]
    Length(usize),
    /// Another layout version.
    #[error("memo version {0}, not 1")]
    Version(u8),
    /// An unknown kind.
    #[error("memo kind {0} is none of 1 (HRMP), 2 (value), 3 (bounce)")]
    Kind(u8),
    /// A bounce with an unknown reason, or another kind with a reason.
    #[error("reason code {code} does not fit memo kind {kind}")]
    Reason {
        /// The kind.
        kind: u8,
        /// The reason octet.
        code: u8,
    },
    /// A payload length on a kind without payload, or none on HRMP.
    #[error("payload length {length} does not fit memo kind {kind}")]
    PayloadLength {
        /// The kind.
        kind: u8,
        /// The length.
        length: u32,
    },
    /// A non-zero octet in the padding.
    #[error("octet {0} of the memo's padding is not zero")]
    Padding(usize),
}

/// A decoded memo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memo {
    /// What the transfer carries.
    pub kind: MemoKind,
    /// The para that sent it (zero when not a para).
    pub source_para: ParaId,
    /// The destination para, or service id for value out of a para.
    pub destination: u32,
    /// The sequence number.
    pub sequence: u64,
    /// The timeslot it was sent at.
    pub sent_at: u32,
    /// The subject: payload hash, beneficiary, message hash or bounced
    /// memo's hash, by kind.
    pub subject: Hash,
    /// The HRMP payload's length (zero for other kinds).
    pub length: u32,
    /// Why it bounced (`Some` exactly for [`MemoKind::Bounce`]).
    pub reason: Option<BounceReason>,
}

impl Memo {
    /// A value memo ([`MemoKind::Value`]): `source_para` (zero from a
    /// service that is not a para) credits `subject` at `destination` (the
    /// para it is for, or the service value out of a para goes to), its
    /// `sequence`-th such transfer, sent at `sent_at`.
    pub fn value(
        source_para: ParaId,
        destination: u32,
        sequence: u64,
        sent_at: u32,
        subject: Hash,
    ) -> Self {
        Self {
            kind: MemoKind::Value,
            source_para,
            destination,
            sequence,
            sent_at,
            subject,
            length: 0,
            reason: None,
        }
    }

    /// The 128 octets.
    pub fn encode(&self) -> [u8; MEMO_LEN] {
        let mut out = [0u8; MEMO_LEN];
        out[0] = MEMO_VERSION;
        out[1] = self.kind as u8;
        out[2..6].copy_from_slice(&self.source_para.0.to_le_bytes());
        out[6..10].copy_from_slice(&self.destination.to_le_bytes());
        out[10..18].copy_from_slice(&self.sequence.to_le_bytes());
        out[18..22].copy_from_slice(&self.sent_at.to_le_bytes());
        out[22..54].copy_from_slice(&self.subject);
        out[54..58].copy_from_slice(&self.length.to_le_bytes());
        out[58] = self.reason.map_or(0, |r| r as u8);
        out
    }

    /// Decodes `memo`, refusing every octet that is not as the layout says.
    pub fn decode(memo: &[u8]) -> Result<Self, MemoError> {
        if memo.len() != MEMO_LEN {
            return Err(MemoError::Length(memo.len()));
        }
        if memo[0] != MEMO_VERSION {
            return Err(MemoError::Version(memo[0]));
        }
        let kind = match memo[1] {
            1 => MemoKind::Hrmp,
            2 => MemoKind::Value,
            3 => MemoKind::Bounce,
            other => return Err(MemoError::Kind(other)),
        };
        let code = memo[58];
        let reason = match (kind, code) {
            (MemoKind::Bounce, code) => {
                Some(BounceReason::from_code(code).ok_or(MemoError::Reason {
                    kind: memo[1],
                    code,
                })?)
            }
            (_, 0) => None,
            (_, code) => {
                return Err(MemoError::Reason {
                    kind: memo[1],
                    code,
                })
            }
        };
        let length = u32_at(memo, 54);
        if (kind == MemoKind::Hrmp) != (length != 0) {
            return Err(MemoError::PayloadLength {
                kind: memo[1],
                length,
            });
        }
        if let Some(at) = (PADDING_AT..MEMO_LEN).find(|&i| memo[i] != 0) {
            return Err(MemoError::Padding(at));
        }
        let mut subject = [0u8; 32];
        subject.copy_from_slice(&memo[22..54]);
        let mut sequence = [0u8; 8];
        sequence.copy_from_slice(&memo[10..18]);
        Ok(Self {
            kind,
            source_para: ParaId(u32_at(memo, 2)),
            destination: u32_at(memo, 6),
            sequence: u64::from_le_bytes(sequence),
            sent_at: u32_at(memo, 18),
            subject,
            length,
            reason,
        })
    }
}

fn u32_at(memo: &[u8], at: usize) -> u32 {
    let mut octets = [0u8; 4];
    octets.copy_from_slice(&memo[at..at + 4]);
    u32::from_le_bytes(octets)
}
