//! DMP: the downward queue of each para, as the relay chain's `dmp` pallet
//! keeps it (polkadot-sdk `polkadot/runtime/parachains/src/dmp.rs`).
//!
//! A message is queued with the timeslot as `sent_at`, and the para's MQC
//! head advances ([`queue`]); the head is never reset, so it covers every
//! message the para was ever sent. A candidate's
//! `processed_downward_messages` must not exceed the queue, and must be
//! at least one if the oldest message was queued at or before the
//! candidate's relay parent ([`check_processed`]); that many leave the
//! queue, oldest first ([`prune`]).

use alloc::vec::Vec;

use parajam_corechains_types::state::{InboundDownwardMessage, StorageKey};
use parajam_corechains_types::{ParaId, RelayChainBlockNumber};
use parity_scale_codec::{Decode, Encode};

use crate::store::{Overlay, Storage};
use crate::{len_u32, mqc, HrmpConfig};

/// Why a downward message cannot be queued, or a candidate's processed
/// count is refused (upstream `QueueDownwardMessageError` and
/// `ProcessedDownwardMessagesAcceptanceErr`).
// The SCALE derive casts variant indices to `u8`.
#[allow(clippy::cast_possible_truncation)]
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, thiserror::Error)]
pub enum DownwardError {
    /// The message is larger than `max_downward_message_size`.
    #[error("the downward message is {size} octets, at most {max} are allowed")]
    ExceedsMaxMessageSize {
        /// Its size.
        size: u32,
        /// The limit.
        max: u32,
    },
    /// The queue is full.
    #[error("the downward queue holds {len} messages, its limit")]
    QueueFull {
        /// The queue's length.
        len: u32,
    },
    /// The para is not registered.
    #[error("para {0:?} is not registered")]
    Unroutable(ParaId),
    /// The candidate processed more messages than are queued.
    #[error("{processed} downward messages processed, {queued} queued")]
    Underflow {
        /// What the candidate processed.
        processed: u32,
        /// The queue's length.
        queued: u32,
    },
    /// The candidate processed none although the oldest message was queued
    /// at or before its relay parent.
    #[error("no downward message processed, the oldest was queued at {sent_at} (relay parent {relay_parent})")]
    AdvancementRule {
        /// When the oldest message was queued.
        sent_at: RelayChainBlockNumber,
        /// The candidate's relay parent.
        relay_parent: RelayChainBlockNumber,
    },
}

/// Checks that `msg` can be queued for `para` (upstream
/// `can_queue_downward_message`).
pub fn check_queue<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    config: &HrmpConfig,
    para: ParaId,
    msg: &[u8],
) -> Result<(), DownwardError> {
    let size = len_u32(msg.len());
    if size > config.max_downward_message_size {
        return Err(DownwardError::ExceedsMaxMessageSize {
            size,
            max: config.max_downward_message_size,
        });
    }
    let len = len_u32(st.downward_queue(para).len());
    if len >= config.max_downward_queue_count() {
        return Err(DownwardError::QueueFull { len });
    }
    if !st.is_para(para) {
        return Err(DownwardError::Unroutable(para));
    }
    Ok(())
}

/// Queues `msg` for `para` at timeslot `now` (upstream
/// `queue_downward_message`): checked, then appended, and the MQC head
/// advances.
pub fn queue<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    config: &HrmpConfig,
    para: ParaId,
    now: RelayChainBlockNumber,
    msg: Vec<u8>,
) -> Result<(), DownwardError> {
    check_queue(st, config, para, &msg)?;
    queue_checked(st, para, now, msg);
    Ok(())
}

/// Queues `msg`, accepted by [`check_queue`].
pub(crate) fn queue_checked<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    para: ParaId,
    now: RelayChainBlockNumber,
    msg: Vec<u8>,
) {
    let head = mqc::extend(&st.dmq_mqc_head(para), now, &msg);
    let mut queue = st.downward_queue(para);
    queue.push(InboundDownwardMessage { sent_at: now, msg });
    st.write_list(StorageKey::DownwardQueue(para), &queue);
    st.write(StorageKey::DmqMqcHead(para), &head);
}

/// Checks a candidate of `para` with relay parent `relay_parent` that
/// processed `processed` downward messages (upstream
/// `check_processed_downward_messages`).
pub fn check_processed<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    para: ParaId,
    relay_parent: RelayChainBlockNumber,
    processed: u32,
) -> Result<(), DownwardError> {
    let queue = st.downward_queue(para);
    if processed == 0 {
        if let Some(oldest) = queue.first() {
            if oldest.sent_at <= relay_parent {
                return Err(DownwardError::AdvancementRule {
                    sent_at: oldest.sent_at,
                    relay_parent,
                });
            }
        }
    }
    let queued = len_u32(queue.len());
    if processed > queued {
        return Err(DownwardError::Underflow { processed, queued });
    }
    Ok(())
}

/// Removes the `processed` oldest messages of `para`'s queue (accepted by
/// [`check_processed`]; upstream `prune_dmq`).
pub fn prune<S: Storage + ?Sized>(st: &mut Overlay<'_, S>, para: ParaId, processed: u32) {
    if processed == 0 {
        return;
    }
    let mut queue = st.downward_queue(para);
    let processed = usize::try_from(processed).map_or(queue.len(), |p| p.min(queue.len()));
    queue.drain(..processed);
    st.write_list(StorageKey::DownwardQueue(para), &queue);
}
