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
//! A call on a channel whose other party is hosted by another CoreChains
//! instance runs here for the party hosted here, and returns the
//! operation the service tells the other instance with a control memo
//! ([`Upward::Calls`]'s `controls`, [`hrmp::ControlSend`]).
//!
//! The other thing that maps onto JAM is value moved to a JAM service
//! ([`crate::xcm::value_transfer`]: `WithdrawAsset` of the relay token,
//! fee instructions, `DepositAsset` to `(0, X1(GeneralIndex(service)))`):
//! the amount leaves the para's sovereign balance at the service
//! ([`StorageKey::SovereignBalance`]), and the service sends it to the
//! JAM service as a deferred transfer ([`Upward::Value`]), once
//! [`JamAccounts`] says the transfer can be made.
//!
//! A message runs whole or not at all ([`execute`]); [`process`] keeps
//! refused messages with their reasons ([`RefusedUpward`]) under the
//! para's [`StorageKey::UpwardRefused`]: the latest [`MAX_KEPT_REFUSED`],
//! the number of older ones dropped counted under
//! [`StorageKey::UpwardRefusedDropped`] (a para cannot fill the service's
//! storage with messages it refuses, and none goes uncounted).
//!
//! Before any of it, a candidate's upward messages are checked against
//! the relay chain's limits ([`check_upward`], upstream inclusion's
//! `check_upward_messages`): count per candidate, message size, and the
//! queue's count and octets; a candidate over them is refused whole.

use alloc::vec::Vec;

use parajam_corechains_types::state::{HrmpChannelId, StorageKey};
use parajam_corechains_types::{ParaId, RelayChainBlockNumber};
use parity_scale_codec::{Decode, DecodeAll, Encode};

use crate::hrmp::{self, ChannelError};
use crate::store::{Overlay, Storage};
use crate::xcm::{self, Instruction, ValueTransfer, XcmError};
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
    /// It has no `Transact` and is no value transfer to a JAM service:
    /// nothing in it maps onto the service.
    #[error("no Transact and no value transfer: nothing maps onto the CoreChains service")]
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
    /// A value transfer of more than a JAM balance (`u64`) holds.
    #[error("value transfer of {amount}, more than a JAM balance holds")]
    ValueTooLarge {
        /// The amount.
        amount: u128,
    },
    /// A value transfer of more than the para's sovereign balance holds.
    #[error("value transfer of {needs}, the para's sovereign balance holds {holds}")]
    SovereignBalance {
        /// What the sovereign balance holds.
        holds: u64,
        /// What the message withdraws.
        needs: u64,
    },
    /// A value transfer the JAM transfer cannot make.
    #[error("value transfer to service {service}: {refusal}")]
    Transfer {
        /// The destination service.
        service: u32,
        /// Why.
        refusal: TransferCheck,
    },
}

/// Why a JAM transfer cannot be made (GP 0.7.2 `Ω_T`'s refusals, checked
/// before it is made).
// The SCALE derive casts variant indices to `u8`.
#[allow(clippy::cast_possible_truncation)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, thiserror::Error)]
pub enum TransferCheck {
    /// `WHO`: no such service.
    #[error("no such service (WHO)")]
    Who,
    /// `CASH`: the CoreChains service's balance would fall under its threshold.
    #[error("the CoreChains service cannot pay (CASH)")]
    Cash,
}

/// What the service knows of the JAM accounts a value transfer goes to.
pub trait JamAccounts {
    /// Whether a transfer of `amount` to `service` can be made after the
    /// ones already accepted (`Ω_T`'s `WHO` and `CASH`; the gas is the
    /// destination's minimum, so never `LOW`). Accepting it counts it.
    fn accept(&mut self, service: u32, amount: u64) -> Result<(), TransferCheck>;
}

/// No JAM account takes a transfer.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAccounts;

impl JamAccounts for NoAccounts {
    fn accept(&mut self, _service: u32, _amount: u64) -> Result<(), TransferCheck> {
        Err(TransferCheck::Who)
    }
}

/// What an executed upward message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upward {
    /// The `hrmp` calls it made, in order, and the channel operations to
    /// tell other CoreChains instances (calls on channels whose other
    /// party is hosted elsewhere), in order.
    Calls {
        /// The calls.
        calls: Vec<HrmpCall>,
        /// The operations the service sends as control memos.
        controls: Vec<hrmp::ControlSend>,
    },
    /// Value to a JAM service, debited from the para's sovereign balance:
    /// the service sends it as a deferred transfer.
    Value {
        /// The destination service.
        service: u32,
        /// The amount.
        amount: u64,
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

/// Runs a value transfer of `para`: checked against its sovereign balance
/// and `accounts`, then debited.
fn execute_value<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    accounts: &mut dyn JamAccounts,
    para: ParaId,
    value: ValueTransfer,
) -> Result<Upward, UpwardRefusal> {
    let amount = u64::try_from(value.amount).map_err(|_| UpwardRefusal::ValueTooLarge {
        amount: value.amount,
    })?;
    let holds: u64 = st
        .read(&StorageKey::SovereignBalance(para))
        .unwrap_or_default();
    let left = holds
        .checked_sub(amount)
        .ok_or(UpwardRefusal::SovereignBalance {
            holds,
            needs: amount,
        })?;
    accounts
        .accept(value.service, amount)
        .map_err(|refusal| UpwardRefusal::Transfer {
            service: value.service,
            refusal,
        })?;
    st.write(StorageKey::SovereignBalance(para), &left);
    Ok(Upward::Value {
        service: value.service,
        amount,
    })
}

/// Runs `para`'s upward message `msg` at timeslot `now`: decoded; a value
/// transfer to a JAM service ([`xcm::value_transfer`]) is checked and
/// debited; otherwise every `Transact` is checked, then each call runs in
/// order. What it did, or why it was refused; refused, it changes nothing.
pub fn execute<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    config: &HrmpConfig,
    accounts: &mut dyn JamAccounts,
    para: ParaId,
    now: RelayChainBlockNumber,
    msg: &[u8],
) -> Result<Upward, UpwardRefusal> {
    let decoded = xcm::decode_upward(msg).map_err(UpwardRefusal::Xcm)?;
    if let Some(value) = xcm::value_transfer(msg, &decoded) {
        return execute_value(st, accounts, para, value);
    }
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
    let mut controls = Vec::new();
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
        match done {
            Ok(control) => controls.extend(control),
            Err(error) => {
                st.restore(checkpoint);
                return Err(UpwardRefusal::Channel { index, error });
            }
        }
    }
    Ok(Upward::Calls {
        calls: calls.into_iter().map(|(_, call)| call).collect(),
        controls,
    })
}

/// The most refused upward messages kept per para.
pub const MAX_KEPT_REFUSED: usize = 64;

/// The relay chain's limits on a candidate's upward messages (its host
/// configuration's `max_upward_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UmpLimits {
    /// The most upward messages one candidate may send.
    pub max_message_num_per_candidate: u32,
    /// The largest upward message, in octets.
    pub max_message_size: u32,
    /// The most messages the para's upward queue may hold.
    pub max_queue_count: u32,
    /// The most octets the para's upward queue may hold.
    pub max_queue_size: u32,
}

/// Why a candidate's upward messages are refused (upstream inclusion's
/// `UmpAcceptanceCheckErr`).
// The SCALE derive casts variant indices to `u8`.
#[allow(clippy::cast_possible_truncation)]
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, thiserror::Error)]
pub enum UpwardError {
    /// More messages than one candidate may send.
    #[error("{sent} upward messages, more than the {permitted} permitted per candidate")]
    MoreMessagesThanPermitted {
        /// Sent.
        sent: u32,
        /// Permitted.
        permitted: u32,
    },
    /// A message over the size limit.
    #[error("upward message {idx} has {msg_size} octets, more than {max_size}")]
    MessageTooLarge {
        /// Its position.
        idx: u32,
        /// Its size.
        msg_size: u32,
        /// The limit.
        max_size: u32,
    },
    /// The queue would hold too many messages.
    #[error("the upward queue would hold {count} messages, more than {limit}")]
    CapacityExceeded {
        /// Queued plus sent.
        count: u32,
        /// The limit.
        limit: u32,
    },
    /// The queue would hold too many octets.
    #[error("the upward queue would hold {total_size} octets, more than {limit}")]
    TotalSizeExceeded {
        /// Queued plus sent.
        total_size: u32,
        /// The limit.
        limit: u32,
    },
}

/// Checks `para`'s upward `messages` against `limits`, with what its
/// upward queue ([`StorageKey::UpwardQueue`]) holds (upstream
/// `check_upward_messages`, in its order). Writes nothing.
pub fn check_upward<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    limits: &UmpLimits,
    para: ParaId,
    messages: &[Vec<u8>],
) -> Result<(), UpwardError> {
    let sent = crate::len_u32(messages.len());
    if sent > limits.max_message_num_per_candidate {
        return Err(UpwardError::MoreMessagesThanPermitted {
            sent,
            permitted: limits.max_message_num_per_candidate,
        });
    }
    let queued: Vec<Vec<u8>> = st.read(&StorageKey::UpwardQueue(para)).unwrap_or_default();
    let mut count = crate::len_u32(queued.len());
    let mut total_size = queued
        .iter()
        .fold(0u32, |sum, m| sum.saturating_add(crate::len_u32(m.len())));
    for (idx, msg) in (0u32..).zip(messages) {
        let msg_size = crate::len_u32(msg.len());
        if msg_size > limits.max_message_size {
            return Err(UpwardError::MessageTooLarge {
                idx,
                msg_size,
                max_size: limits.max_message_size,
            });
        }
        count = count.saturating_add(1);
        total_size = total_size.saturating_add(msg_size);
    }
    if count > limits.max_queue_count {
        return Err(UpwardError::CapacityExceeded {
            count,
            limit: limits.max_queue_count,
        });
    }
    if total_size > limits.max_queue_size {
        return Err(UpwardError::TotalSizeExceeded {
            total_size,
            limit: limits.max_queue_size,
        });
    }
    Ok(())
}

/// Runs `para`'s upward `messages`, sent at timeslot `now`, in order
/// ([`execute`]); each refused one is appended, with its reason, to the
/// para's [`StorageKey::UpwardRefused`], of which the latest
/// [`MAX_KEPT_REFUSED`] are kept (the older ones counted under
/// [`StorageKey::UpwardRefusedDropped`]). What happened to each.
pub fn process<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    config: &HrmpConfig,
    accounts: &mut dyn JamAccounts,
    para: ParaId,
    now: RelayChainBlockNumber,
    messages: &[Vec<u8>],
) -> Vec<Result<Upward, UpwardRefusal>> {
    let mut outcomes = Vec::with_capacity(messages.len());
    let mut refused: Option<Vec<RefusedUpward>> = None;
    for msg in messages {
        let outcome = execute(st, config, accounts, para, now, msg);
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
    if let Some(mut refused) = refused {
        let excess = refused.len().saturating_sub(MAX_KEPT_REFUSED);
        if excess > 0 {
            refused.drain(..excess);
            let dropped: u32 = st
                .read(&StorageKey::UpwardRefusedDropped(para))
                .unwrap_or_default();
            st.write(
                StorageKey::UpwardRefusedDropped(para),
                &dropped.saturating_add(crate::len_u32(excess)),
            );
        }
        st.write_list(StorageKey::UpwardRefused(para), &refused);
    }
    outcomes
}
