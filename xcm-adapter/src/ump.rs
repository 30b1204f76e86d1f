//! UMP: the upward XCM a para sends its relay chain, run by the service.
//!
//! What maps onto JAM is the HRMP channel lifecycle: a message whose
//! `Transact`s (with origin kind `Native`: the para itself, as the relay
//! chain's `ChildParachainAsNative` converts it) call the relay chain's
//! `hrmp` pallet ([`HrmpConfig::hrmp_pallet_index`]):
//!
//! | call | index | arguments |
//! |---|---|---|
//! | `hrmp_init_open_channel` | 0 | `recipient: ParaId, proposed_max_capacity: u32, proposed_max_message_size: u32` |
//! | `hrmp_accept_open_channel` | 1 | `sender: ParaId` |
//! | `hrmp_close_channel` | 2 | `channel_id: HrmpChannelId` |
//!
//! A message runs whole or not at all ([`execute`]); [`process`] keeps
//! every refused message with its reason ([`RefusedUpward`]) under the
//! para's [`StorageKey::UpwardRefused`], never dropping one.

use alloc::vec::Vec;

use parajam_corechains_types::state::{HrmpChannelId, StorageKey};
use parajam_corechains_types::{ParaId, RelayChainBlockNumber};
use parity_scale_codec::{Decode, DecodeAll, Encode};

use crate::hrmp::{self, ChannelError};
use crate::store::{Overlay, Storage};
use crate::xcm::{self, Instruction, XcmError};
use crate::{HrmpConfig, RefusedUpward};

/// A call of the relay chain's `hrmp` pallet a para may `Transact`.
// The SCALE derive casts variant indices to `u8`.
#[allow(clippy::cast_possible_truncation)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub enum HrmpCall {
    /// `hrmp_init_open_channel`.
    #[codec(index = 0)]
    InitOpenChannel {
        /// The channel's recipient.
        recipient: ParaId,
        /// Its capacity in messages.
        proposed_max_capacity: u32,
        /// Its largest message.
        proposed_max_message_size: u32,
    },
    /// `hrmp_accept_open_channel`.
    #[codec(index = 1)]
    AcceptOpenChannel {
        /// The channel's sender.
        sender: ParaId,
    },
    /// `hrmp_close_channel`.
    #[codec(index = 2)]
    CloseChannel {
        /// The channel.
        channel_id: HrmpChannelId,
    },
}

/// Why an upward message was not executed.
// The SCALE derive casts variant indices to `u8`.
#[allow(clippy::cast_possible_truncation)]
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, thiserror::Error)]
pub enum UpwardRefusal {
    /// It does not decode, or has an instruction the service does not run.
    #[error("{0}")]
    Xcm(XcmError),
    /// It has no `Transact`: nothing in it maps onto the service.
    #[error("no Transact: nothing maps onto the CoreChains service")]
    NoTransact,
    /// A `Transact` with another origin kind than `Native`.
    #[error("Transact {index} has origin kind {origin_kind}, not Native (0)")]
    OriginKind {
        /// The instruction's position.
        index: u32,
        /// Its origin kind.
        origin_kind: u8,
    },
    /// A `Transact` of a call the service does not run (pallet and call
    /// index, the first two octets; a shorter call gives what there is).
    #[error("Transact {index} calls {call:?}, not an hrmp call the service runs")]
    UnsupportedCall {
        /// The instruction's position.
        index: u32,
        /// The call's first octets.
        call: Vec<u8>,
    },
    /// A channel operation was refused.
    #[error("Transact {index}: {error}")]
    Channel {
        /// The instruction's position.
        index: u32,
        /// Why.
        error: ChannelError,
    },
}

/// The `hrmp` call of a `Transact`, if it is one the service runs.
fn decode_call(config: &HrmpConfig, call: &[u8]) -> Option<HrmpCall> {
    let (&pallet, rest) = call.split_first()?;
    if pallet != config.hrmp_pallet_index {
        return None;
    }
    HrmpCall::decode_all(&mut &rest[..]).ok()
}

/// Runs `para`'s upward message `msg` at timeslot `now`: decoded, every
/// `Transact` checked, then each call in order. The calls it ran, or why
/// it was refused; refused, it changes nothing.
pub fn execute<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    config: &HrmpConfig,
    para: ParaId,
    now: RelayChainBlockNumber,
    msg: &[u8],
) -> Result<Vec<HrmpCall>, UpwardRefusal> {
    let decoded = xcm::decode_upward(msg).map_err(UpwardRefusal::Xcm)?;
    let mut calls = Vec::new();
    for (index, instruction) in (0u32..).zip(&decoded.instructions) {
        if let Instruction::Transact { origin_kind, call } = instruction {
            if *origin_kind != 0 {
                return Err(UpwardRefusal::OriginKind {
                    index,
                    origin_kind: *origin_kind,
                });
            }
            let Some(hrmp_call) = decode_call(config, call) else {
                return Err(UpwardRefusal::UnsupportedCall {
                    index,
                    call: call.iter().copied().take(2).collect(),
                });
            };
            calls.push((index, hrmp_call));
        }
    }
    if calls.is_empty() {
        return Err(UpwardRefusal::NoTransact);
    }
    let checkpoint = st.checkpoint();
    for &(index, call) in &calls {
        let done = match call {
            HrmpCall::InitOpenChannel {
                recipient,
                proposed_max_capacity,
                proposed_max_message_size,
            } => hrmp::init_open_channel(
                st,
                config,
                para,
                recipient,
                proposed_max_capacity,
                proposed_max_message_size,
                now,
            ),
            HrmpCall::AcceptOpenChannel { sender } => {
                hrmp::accept_open_channel(st, config, para, sender, now)
            }
            HrmpCall::CloseChannel { channel_id } => {
                hrmp::close_channel(st, config, para, channel_id, now)
            }
        };
        if let Err(error) = done {
            st.restore(checkpoint);
            return Err(UpwardRefusal::Channel { index, error });
        }
    }
    Ok(calls.into_iter().map(|(_, call)| call).collect())
}

/// Runs `para`'s upward `messages`, sent at timeslot `now`, in order
/// ([`execute`]); each refused one is appended, with its reason, to the
/// para's [`StorageKey::UpwardRefused`]. What happened to each.
pub fn process<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    config: &HrmpConfig,
    para: ParaId,
    now: RelayChainBlockNumber,
    messages: &[Vec<u8>],
) -> Vec<Result<Vec<HrmpCall>, UpwardRefusal>> {
    let mut outcomes = Vec::with_capacity(messages.len());
    let mut refused: Option<Vec<RefusedUpward>> = None;
    for msg in messages {
        let outcome = execute(st, config, para, now, msg);
        if let Err(reason) = &outcome {
            refused
                .get_or_insert_with(|| {
                    st.read(&StorageKey::UpwardRefused(para))
                        .unwrap_or_default()
                })
                .push(RefusedUpward {
                    sent_at: now,
                    msg: msg.clone(),
                    reason: reason.clone(),
                });
        }
        outcomes.push(outcome);
    }
    if let Some(refused) = refused {
        st.write_list(StorageKey::UpwardRefused(para), &refused);
    }
    outcomes
}
