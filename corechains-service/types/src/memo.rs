//! The 128-octet memo of the JAM deferred transfers the CoreChains service
//! sends and receives (GP 0.7.2 `W_T` = 128, the `m` of a deferred
//! transfer; see `parajam_corechains_service::jam_transfers`).
//!
//! | octets | field |
//! |---|---|
//! | 0 | version: [`MEMO_VERSION`] |
//! | 1 | kind: [`MemoKind`] (1 HRMP message, 2 value transfer, 3 bounce, 4 channel control) |
//! | 2..6 | source para, `E4` (zero when the sender is not a para) |
//! | 6..10 | destination: a para (HRMP, value into a para, control) or a service id (value out of a para), `E4` |
//! | 10..18 | sequence number, `E8` (HRMP: per channel, from zero; control: the sending instance's control counter; otherwise the sender's) |
//! | 18..22 | the timeslot it was sent at, `E4` |
//! | 22..54 | subject, 32 octets: HRMP the payload's Blake2b-256; value into a para the beneficiary (an `AccountId32`); value out of a para the upward message's Blake2b-256; bounce the bounced memo's Blake2b-256; control the operation (below) |
//! | 54..58 | payload length, `E4` (HRMP; zero otherwise) |
//! | 58 | bounce reason ([`BounceReason`]; zero unless kind is bounce) |
//! | 59..128 | zero |
//!
//! [`Memo::decode`] refuses anything else with a typed [`MemoError`].
//!
//! # Control memos (kind 4)
//!
//! A control memo tells the CoreChains instance hosting one end of an HRMP
//! channel what the para at the other end, hosted by the sending instance,
//! did to the channel with its upward XCM ([`ChannelControl`]): asked to
//! open it, accepted it, or closed it. Its amount is zero. Source para is
//! the para that acted (the initiator), destination the para at the other
//! end (hosted by the receiving instance); sequence is the sending
//! instance's control counter (for tracing: JAM delivers each deferred
//! transfer exactly once and in order, GP 0.7.2 §12); payload length and
//! reason are zero. The subject holds the operation:
//!
//! | subject octets | field |
//! |---|---|
//! | 0 | operation: 1 open request, 2 accept, 3 close |
//! | 1..5 | the channel's sender, `E4` |
//! | 5..9 | the channel's recipient, `E4` |
//! | 9..13 | open request: proposed max capacity, `E4` (zero otherwise) |
//! | 13..17 | open request: proposed max message size, `E4` (zero otherwise) |
//! | 17..32 | zero |
//!
//! The parties must fit the operation: an open request comes from the
//! channel's sender to its recipient, an accept from the recipient to the
//! sender, a close from either to the other ([`MemoError::Control`]).
//! The memo authenticates nothing by itself: the receiving instance takes
//! a control memo only from the service its route table names for the
//! source para (the transfer's source `s` is the service whose
//! accumulation called `transfer`, GP 0.7.2 `Ω_T`: it cannot be forged),
//! and only for a destination para it hosts.

use crate::state::HrmpChannelId;
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
    /// A channel operation between two CoreChains instances
    /// ([`ChannelControl`]).
    Control = 4,
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
    /// A control memo whose channel operation the receiving instance
    /// refused (the typed reason is in its `ControlRefused` event).
    ChannelRefused = 10,
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
            10 => Self::ChannelRefused,
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
    #[error("memo kind {0} is none of 1 (HRMP), 2 (value), 3 (bounce), 4 (control)")]
    Kind(u8),
    /// A control memo whose operation is unknown, whose parties do not
    /// fit it, or with limits on an operation that has none.
    #[error("control memo: {0}")]
    Control(ControlError),
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

/// Why a control memo's subject is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// An unknown operation octet.
    #[error("operation {0} is none of 1 (open request), 2 (accept), 3 (close)")]
    Operation(u8),
    /// The source and destination paras are not the channel's parties as
    /// the operation needs them.
    #[error("source and destination are not the channel's parties for the operation")]
    Parties,
    /// Limits on an accept or a close.
    #[error("limits on an operation that has none")]
    Limits,
}

/// A channel operation one CoreChains instance tells another (memo kind
/// [`MemoKind::Control`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelControl {
    /// The channel's sender asked to open it (`hrmp_init_open_channel`).
    OpenRequest {
        /// The channel.
        channel: HrmpChannelId,
        /// Its proposed capacity.
        max_capacity: u32,
        /// Its proposed largest message.
        max_message_size: u32,
    },
    /// The channel's recipient accepted it (`hrmp_accept_open_channel`).
    Accept {
        /// The channel.
        channel: HrmpChannelId,
    },
    /// One party closed it (`hrmp_close_channel`).
    Close {
        /// The channel.
        channel: HrmpChannelId,
        /// The party that closed it.
        initiator: ParaId,
    },
}

impl ChannelControl {
    /// The channel.
    pub const fn channel(&self) -> HrmpChannelId {
        match *self {
            Self::OpenRequest { channel, .. }
            | Self::Accept { channel }
            | Self::Close { channel, .. } => channel,
        }
    }

    /// The para that acted: the memo's source para.
    pub const fn initiator(&self) -> ParaId {
        match *self {
            Self::OpenRequest { channel, .. } => channel.sender,
            Self::Accept { channel } => channel.recipient,
            Self::Close { initiator, .. } => initiator,
        }
    }

    /// The para at the other end: the memo's destination.
    pub fn other(&self) -> ParaId {
        let channel = self.channel();
        if self.initiator() == channel.sender {
            channel.recipient
        } else {
            channel.sender
        }
    }

    /// The 32-octet subject of its memo.
    pub fn subject(&self) -> Hash {
        let (op, capacity, size) = match *self {
            Self::OpenRequest {
                max_capacity,
                max_message_size,
                ..
            } => (1, max_capacity, max_message_size),
            Self::Accept { .. } => (2, 0, 0),
            Self::Close { .. } => (3, 0, 0),
        };
        let channel = self.channel();
        let mut out = [0u8; 32];
        out[0] = op;
        out[1..5].copy_from_slice(&channel.sender.0.to_le_bytes());
        out[5..9].copy_from_slice(&channel.recipient.0.to_le_bytes());
        out[9..13].copy_from_slice(&capacity.to_le_bytes());
        out[13..17].copy_from_slice(&size.to_le_bytes());
        out
    }

    /// The operation a control memo from `source` to `destination` with
    /// `subject` says, checked as the layout says (the subject's padding
    /// is checked by [`Memo::decode`]).
    pub fn from_subject(
        source: ParaId,
        destination: ParaId,
        subject: &Hash,
    ) -> Result<Self, ControlError> {
        let channel = HrmpChannelId {
            sender: ParaId(u32_at(subject, 1)),
            recipient: ParaId(u32_at(subject, 5)),
        };
        let (capacity, size) = (u32_at(subject, 9), u32_at(subject, 13));
        let control = match subject[0] {
            1 => Self::OpenRequest {
                channel,
                max_capacity: capacity,
                max_message_size: size,
            },
            2 => Self::Accept { channel },
            3 => Self::Close {
                channel,
                initiator: source,
            },
            other => return Err(ControlError::Operation(other)),
        };
        if subject[0] != 1 && (capacity, size) != (0, 0) {
            return Err(ControlError::Limits);
        }
        if channel.sender == channel.recipient
            || control.initiator() != source
            || control.other() != destination
        {
            return Err(ControlError::Parties);
        }
        Ok(control)
    }
}

/// Where the zero padding of a control memo's subject starts (octet 22 +
/// 17 of the memo).
const CONTROL_PADDING_AT: usize = 22 + 17;

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

    /// A control memo ([`MemoKind::Control`]) of `control`, the sending
    /// instance's `sequence`-th, sent at `sent_at`.
    pub fn control(control: &ChannelControl, sequence: u64, sent_at: u32) -> Self {
        Self {
            kind: MemoKind::Control,
            source_para: control.initiator(),
            destination: control.other().0,
            sequence,
            sent_at,
            subject: control.subject(),
            length: 0,
            reason: None,
        }
    }

    /// The channel operation of a control memo (`None` for another kind,
    /// or a subject that is not one: [`Memo::decode`] refuses those).
    pub fn channel_control(&self) -> Option<ChannelControl> {
        if self.kind != MemoKind::Control {
            return None;
        }
        ChannelControl::from_subject(self.source_para, ParaId(self.destination), &self.subject).ok()
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
            4 => MemoKind::Control,
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
        if kind == MemoKind::Control {
            ChannelControl::from_subject(
                ParaId(u32_at(memo, 2)),
                ParaId(u32_at(memo, 6)),
                &subject,
            )
            .map_err(MemoError::Control)?;
            if let Some(at) = (CONTROL_PADDING_AT..54).find(|&i| memo[i] != 0) {
                return Err(MemoError::Padding(at));
            }
        }
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
