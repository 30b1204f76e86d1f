//! HRMP: channels between paras, as the relay chain's `hrmp` pallet keeps
//! them (polkadot-sdk `polkadot/runtime/parachains/src/hrmp.rs`), with the
//! departures listed in the [crate] docs.
//!
//! A candidate of para `p` that the service enacts:
//!
//! - sends its `horizontal_messages`: at most
//!   `hrmp_max_message_num_per_candidate`, recipients strictly ascending
//!   (so at most one message per recipient), each on an open channel from
//!   `p` that is not closing, within the channel's message size, total size
//!   and capacity ([`check_outbound`]); each is appended to its channel with
//!   the timeslot as `sent_at`, and the channel's MQC head advances
//!   ([`queue_outbound`]);
//! - sets its `hrmp_watermark`: the relay parent, or not below the last
//!   watermark, never above the relay parent, and otherwise only on a
//!   timeslot at which `p` received a message ([`check_watermark`]);
//!   every inbound message sent at or before it is removed ([`prune`]).
//!
//! Channels are opened and closed by [`init_open_channel`],
//! [`accept_open_channel`] and [`close_channel`] (from upward XCM,
//! [`crate::ump`]), or declared in genesis ([`open_genesis_channel`]).
//! The same three calls open and close a channel whose other party is
//! hosted by another CoreChains instance: the party hosted here acts, the
//! call returns a [`ControlSend`] for the other instance (sent as a
//! control memo), and that instance runs the same call with the remote
//! party as origin (see the [crate] docs, "Channels between instances").

use alloc::vec::Vec;

use parajam_corechains_types::memo::ChannelControl;
use parajam_corechains_types::state::{HrmpChannelId, InboundHrmpMessage, StorageKey};
use parajam_corechains_types::{OutboundHrmpMessage, ParaId, RelayChainBlockNumber};
use parity_scale_codec::{Decode, Encode};

use crate::dmp::{self, DownwardError};
use crate::store::{Overlay, Storage};
use crate::xcm::Notification;
use crate::{len_u32, mqc, HrmpChannel, HrmpConfig, HrmpOpenRequest};

/// Why a candidate's horizontal messages are refused (upstream
/// `OutboundHrmpAcceptanceErr`, plus closing channels).
// The SCALE derive casts variant indices to `u8`.
#[allow(clippy::cast_possible_truncation)]
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, thiserror::Error)]
pub enum OutboundError {
    /// More messages than `hrmp_max_message_num_per_candidate`.
    #[error("more horizontal messages than permitted ({sent} > {permitted})")]
    MoreMessagesThanPermitted {
        /// How many were sent.
        sent: u32,
        /// The limit.
        permitted: u32,
    },
    /// The recipients are not strictly ascending.
    #[error("horizontal message {idx} is out of order (recipients must be strictly ascending)")]
    NotSorted {
        /// The first message out of order.
        idx: u32,
    },
    /// There is no open channel to the recipient.
    #[error("horizontal message {idx} goes to a channel that is not open: {channel:?}")]
    NoSuchChannel {
        /// The message.
        idx: u32,
        /// Its channel.
        channel: HrmpChannelId,
    },
    /// The channel to the recipient is closing.
    #[error("horizontal message {idx} goes to a closing channel: {channel:?}")]
    ChannelClosing {
        /// The message.
        idx: u32,
        /// Its channel.
        channel: HrmpChannelId,
    },
    /// A message is larger than its channel's `max_message_size`.
    #[error("horizontal message {idx} is {msg_size} octets, its channel takes at most {max_size}")]
    MaxMessageSizeExceeded {
        /// The message.
        idx: u32,
        /// Its size.
        msg_size: u32,
        /// The channel's limit.
        max_size: u32,
    },
    /// A message would take its channel over `max_total_size`.
    #[error(
        "horizontal message {idx} would fill its channel to {total_size} octets (limit {limit})"
    )]
    TotalSizeExceeded {
        /// The message.
        idx: u32,
        /// The channel's total size with it.
        total_size: u32,
        /// The channel's limit.
        limit: u32,
    },
    /// A message would take its channel over `max_capacity`.
    #[error("horizontal message {idx} would fill its channel to {count} messages (limit {limit})")]
    CapacityExceeded {
        /// The message.
        idx: u32,
        /// The channel's message count with it.
        count: u32,
        /// The channel's limit.
        limit: u32,
    },
}

/// Why a candidate's HRMP watermark is refused (upstream
/// `HrmpWatermarkAcceptanceErr`).
// The SCALE derive casts variant indices to `u8`.
#[allow(clippy::cast_possible_truncation)]
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, thiserror::Error)]
pub enum WatermarkError {
    /// Below the last watermark.
    #[error("the HRMP watermark {new_watermark} is below the last one, {last_watermark}")]
    AdvancementRule {
        /// The candidate's watermark.
        new_watermark: RelayChainBlockNumber,
        /// The para's last watermark.
        last_watermark: RelayChainBlockNumber,
    },
    /// Above the candidate's relay parent.
    #[error("the HRMP watermark {new_watermark} is ahead of the relay parent {relay_parent}")]
    AheadRelayParent {
        /// The candidate's watermark.
        new_watermark: RelayChainBlockNumber,
        /// Its relay parent.
        relay_parent: RelayChainBlockNumber,
    },
    /// Neither the relay parent nor a timeslot the para received a message at.
    #[error(
        "the HRMP watermark {new_watermark} is not a timeslot at which the para received a message"
    )]
    LandsOnBlockWithNoMessages {
        /// The candidate's watermark.
        new_watermark: RelayChainBlockNumber,
    },
}

/// Why a channel operation is refused (upstream `hrmp` pallet `Error`s,
/// plus an undeliverable notification).
// The SCALE derive casts variant indices to `u8`.
#[allow(clippy::cast_possible_truncation)]
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, thiserror::Error)]
pub enum ChannelError {
    /// A para cannot open a channel to itself.
    #[error("a para cannot open a channel to itself")]
    OpenToSelf,
    /// The recipient (or, in genesis, the sender) is not a registered para.
    #[error("para {0:?} is not registered")]
    InvalidPara(ParaId),
    /// The proposed capacity is zero.
    #[error("the proposed capacity is zero")]
    ZeroCapacity,
    /// The proposed capacity exceeds `hrmp_channel_max_capacity`.
    #[error("the proposed capacity {requested} exceeds the limit {limit}")]
    CapacityExceedsLimit {
        /// What was asked for.
        requested: u32,
        /// The limit.
        limit: u32,
    },
    /// The proposed message size is zero.
    #[error("the proposed message size is zero")]
    ZeroMessageSize,
    /// The proposed message size exceeds `hrmp_channel_max_message_size`.
    #[error("the proposed message size {requested} exceeds the limit {limit}")]
    MessageSizeExceedsLimit {
        /// What was asked for.
        requested: u32,
        /// The limit.
        limit: u32,
    },
    /// The channel is already open (or closing).
    #[error("the channel {0:?} already exists")]
    AlreadyExists(HrmpChannelId),
    /// There is already a request to open the channel.
    #[error("the channel {0:?} is already requested")]
    AlreadyRequested(HrmpChannelId),
    /// The sender has `hrmp_max_parachain_outbound_channels` channels and
    /// requests already.
    #[error("para {para:?} has reached its {limit} outbound channels")]
    OutboundLimitExceeded {
        /// The sender.
        para: ParaId,
        /// The limit.
        limit: u32,
    },
    /// The recipient has `hrmp_max_parachain_inbound_channels` channels.
    #[error("para {para:?} has reached its {limit} inbound channels")]
    InboundLimitExceeded {
        /// The recipient.
        para: ParaId,
        /// The limit.
        limit: u32,
    },
    /// No request to open the channel is pending.
    #[error("no request to open {0:?} is pending")]
    NoOpenRequest(HrmpChannelId),
    /// Only the sender or the recipient may close a channel.
    #[error("para {para:?} is not a participant of {channel:?}")]
    CloseUnauthorized {
        /// Who asked.
        para: ParaId,
        /// The channel.
        channel: HrmpChannelId,
    },
    /// The channel to close is not open.
    #[error("the channel {0:?} is not open")]
    NoSuchChannel(HrmpChannelId),
    /// The channel is already closing.
    #[error("the channel {0:?} is already closing")]
    AlreadyClosing(HrmpChannelId),
    /// The notification to the other party cannot be queued.
    #[error("the notification to para {para:?} cannot be queued: {error}")]
    NotificationUndeliverable {
        /// The other party.
        para: ParaId,
        /// Why.
        error: DownwardError,
    },
}

/// Checks `sender`'s `messages` as the relay chain's `check_outbound_hrmp`
/// does (and refuses closing channels); at most `max_per_candidate`.
pub fn check_outbound<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    sender: ParaId,
    messages: &[OutboundHrmpMessage],
    max_per_candidate: u32,
) -> Result<(), OutboundError> {
    let sent = len_u32(messages.len());
    if sent > max_per_candidate {
        return Err(OutboundError::MoreMessagesThanPermitted {
            sent,
            permitted: max_per_candidate,
        });
    }
    let mut last = None;
    for (idx, message) in (0u32..).zip(messages) {
        if last.is_some_and(|last| message.recipient <= last) {
            return Err(OutboundError::NotSorted { idx });
        }
        last = Some(message.recipient);
        let channel_id = HrmpChannelId {
            sender,
            recipient: message.recipient,
        };
        let Some(channel) = st.channel(channel_id) else {
            return Err(OutboundError::NoSuchChannel {
                idx,
                channel: channel_id,
            });
        };
        if st.is_closing(channel_id) {
            return Err(OutboundError::ChannelClosing {
                idx,
                channel: channel_id,
            });
        }
        let msg_size = len_u32(message.data.len());
        if msg_size > channel.max_message_size {
            return Err(OutboundError::MaxMessageSizeExceeded {
                idx,
                msg_size,
                max_size: channel.max_message_size,
            });
        }
        let total_size = channel.total_size.saturating_add(msg_size);
        if total_size > channel.max_total_size {
            return Err(OutboundError::TotalSizeExceeded {
                idx,
                total_size,
                limit: channel.max_total_size,
            });
        }
        let count = channel.msg_count.saturating_add(1);
        if count > channel.max_capacity {
            return Err(OutboundError::CapacityExceeded {
                idx,
                count,
                limit: channel.max_capacity,
            });
        }
    }
    Ok(())
}

/// Appends `sender`'s `messages`, accepted by [`check_outbound`], to their
/// channels at timeslot `now` (upstream `queue_outbound_hrmp`): the
/// channel's count, total size and MQC head advance.
pub fn queue_outbound<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    sender: ParaId,
    now: RelayChainBlockNumber,
    messages: &[OutboundHrmpMessage],
) {
    for message in messages {
        let id = HrmpChannelId {
            sender,
            recipient: message.recipient,
        };
        let Some(mut channel) = st.channel(id) else {
            continue; // not after `check_outbound`
        };
        channel.msg_count = channel.msg_count.saturating_add(1);
        channel.total_size = channel
            .total_size
            .saturating_add(len_u32(message.data.len()));
        channel.mqc_head = Some(mqc::extend(
            &channel.mqc_head.unwrap_or_default(),
            now,
            &message.data,
        ));
        let mut contents = st.channel_contents(id);
        contents.push(InboundHrmpMessage {
            sent_at: now,
            data: message.data.clone(),
        });
        st.write(StorageKey::HrmpChannel(id), &channel);
        st.write_list(StorageKey::HrmpChannelContents(id), &contents);
    }
}

/// Checks `recipient`'s new watermark for a candidate with relay parent
/// `relay_parent` (upstream `check_hrmp_watermark`, the rule since
/// asynchronous backing: the relay parent itself, or the last watermark
/// again, is always allowed).
pub fn check_watermark<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    recipient: ParaId,
    relay_parent: RelayChainBlockNumber,
    new_watermark: RelayChainBlockNumber,
) -> Result<(), WatermarkError> {
    if new_watermark == relay_parent {
        return Ok(());
    }
    if new_watermark > relay_parent {
        return Err(WatermarkError::AheadRelayParent {
            new_watermark,
            relay_parent,
        });
    }
    if let Some(last_watermark) = st.watermark(recipient) {
        if new_watermark < last_watermark {
            return Err(WatermarkError::AdvancementRule {
                new_watermark,
                last_watermark,
            });
        }
        if new_watermark == last_watermark {
            return Ok(());
        }
    }
    // Upstream keeps a digest of the blocks a para received messages at;
    // the unprocessed messages themselves say the same.
    for sender in st.ingress(recipient) {
        let id = HrmpChannelId { sender, recipient };
        if st
            .channel_contents(id)
            .iter()
            .any(|m| m.sent_at == new_watermark)
        {
            return Ok(());
        }
    }
    Err(WatermarkError::LandsOnBlockWithNoMessages { new_watermark })
}

/// Removes every message to `recipient` sent at or before `new_watermark`
/// (accepted by [`check_watermark`]) and records the watermark (upstream
/// `prune_hrmp`); a closing channel left empty is removed.
pub fn prune<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    recipient: ParaId,
    new_watermark: RelayChainBlockNumber,
) {
    let mut ingress = st.ingress(recipient);
    let mut closed = Vec::new();
    for &sender in &ingress {
        let id = HrmpChannelId { sender, recipient };
        let contents = st.channel_contents(id);
        let (pruned, left): (Vec<_>, Vec<_>) = contents
            .into_iter()
            .partition(|m| m.sent_at <= new_watermark);
        if !pruned.is_empty() {
            if let Some(mut channel) = st.channel(id) {
                channel.msg_count = channel.msg_count.saturating_sub(len_u32(pruned.len()));
                let octets = pruned
                    .iter()
                    .fold(0u32, |sum, m| sum.saturating_add(len_u32(m.data.len())));
                channel.total_size = channel.total_size.saturating_sub(octets);
                st.write(StorageKey::HrmpChannel(id), &channel);
            }
            st.write_list(StorageKey::HrmpChannelContents(id), &left);
        }
        if left.is_empty() && st.is_closing(id) {
            closed.push(sender);
        }
    }
    if !closed.is_empty() {
        for &sender in &closed {
            let id = HrmpChannelId { sender, recipient };
            st.remove(StorageKey::HrmpChannel(id));
            st.remove(StorageKey::HrmpCloseRequest(id));
        }
        ingress.retain(|s| !closed.contains(s));
        st.write_list(StorageKey::HrmpIngress(recipient), &ingress);
    }
    st.write(StorageKey::HrmpWatermark(recipient), &new_watermark);
}

/// Checks the limits a channel is opened with (upstream
/// `init_open_channel`'s).
fn check_limits(config: &HrmpConfig, capacity: u32, message_size: u32) -> Result<(), ChannelError> {
    if capacity == 0 {
        return Err(ChannelError::ZeroCapacity);
    }
    if capacity > config.hrmp_channel_max_capacity {
        return Err(ChannelError::CapacityExceedsLimit {
            requested: capacity,
            limit: config.hrmp_channel_max_capacity,
        });
    }
    if message_size == 0 {
        return Err(ChannelError::ZeroMessageSize);
    }
    if message_size > config.hrmp_channel_max_message_size {
        return Err(ChannelError::MessageSizeExceedsLimit {
            requested: message_size,
            limit: config.hrmp_channel_max_message_size,
        });
    }
    Ok(())
}

/// Checks that `notification` can be queued for `para`.
fn check_notification<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    config: &HrmpConfig,
    para: ParaId,
    notification: &[u8],
) -> Result<(), ChannelError> {
    dmp::check_queue(st, config, para, notification)
        .map_err(|error| ChannelError::NotificationUndeliverable { para, error })
}

/// Inserts `item` into the ascending list under `key`.
fn index_insert<S: Storage + ?Sized>(st: &mut Overlay<'_, S>, key: StorageKey, item: ParaId) {
    let mut list: Vec<ParaId> = st.read(&key).unwrap_or_default();
    if let Err(at) = list.binary_search(&item) {
        list.insert(at, item);
    }
    st.write_list(key, &list);
}

/// Removes `item` from the ascending list under `key`.
fn index_remove<S: Storage + ?Sized>(st: &mut Overlay<'_, S>, key: StorageKey, item: ParaId) {
    let mut list: Vec<ParaId> = st.read(&key).unwrap_or_default();
    if let Ok(at) = list.binary_search(&item) {
        list.remove(at);
        st.write_list(key, &list);
    }
}

/// Opens `id` with `request`'s limits: the channel, empty, and the
/// indexes of its parties hosted here (both, unless one is hosted by
/// another instance).
fn open<S: Storage + ?Sized>(st: &mut Overlay<'_, S>, id: HrmpChannelId, request: HrmpOpenRequest) {
    let channel = HrmpChannel {
        max_capacity: request.max_capacity,
        max_total_size: request.max_total_size,
        max_message_size: request.max_message_size,
        msg_count: 0,
        total_size: 0,
        mqc_head: None,
    };
    st.write(StorageKey::HrmpChannel(id), &channel);
    if st.is_para(id.sender) {
        index_insert(st, StorageKey::HrmpEgress(id.sender), id.recipient);
    }
    if st.is_para(id.recipient) {
        index_insert(st, StorageKey::HrmpIngress(id.recipient), id.sender);
    }
}

/// A channel operation to tell the CoreChains instance hosting the other
/// party: the service sends it as a control memo
/// (`parajam_corechains_types::memo`, kind control).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlSend {
    /// The instance hosting the other party.
    pub service: u32,
    /// The operation.
    pub control: ChannelControl,
}

/// Where `para` is: hosted here (`None`), or by the instance the route
/// table names (`Some`); neither is `InvalidPara`.
fn locate<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    para: ParaId,
) -> Result<Option<u32>, ChannelError> {
    if st.is_para(para) {
        return Ok(None);
    }
    remote_route(st, para)
        .map(Some)
        .ok_or(ChannelError::InvalidPara(para))
}

/// `origin` asks to open a channel to `recipient` (upstream
/// `hrmp_init_open_channel`): the request waits for the recipient, who is
/// notified (`HrmpNewChannelOpenRequest`, downward).
///
/// Across instances: a recipient hosted by another instance (named by the
/// route table) is not notified here; the request is recorded and
/// returned as a [`ControlSend`] for its instance. That instance runs the
/// same call with the remote `origin` (from the control memo): the
/// recipient's checks (limits, no channel or request yet), the request
/// recorded for its acceptance, the recipient notified; the origin's
/// outbound limit is its own instance's to check.
pub fn init_open_channel<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    config: &HrmpConfig,
    origin: ParaId,
    recipient: ParaId,
    proposed_max_capacity: u32,
    proposed_max_message_size: u32,
    now: RelayChainBlockNumber,
) -> Result<Option<ControlSend>, ChannelError> {
    if origin == recipient {
        return Err(ChannelError::OpenToSelf);
    }
    let remote = locate(st, recipient)?;
    let local_origin = st.is_para(origin);
    if !local_origin && (remote.is_some() || locate(st, origin).is_err()) {
        return Err(ChannelError::InvalidPara(origin));
    }
    check_limits(config, proposed_max_capacity, proposed_max_message_size)?;
    let id = HrmpChannelId {
        sender: origin,
        recipient,
    };
    if st.open_request(id).is_some() {
        return Err(ChannelError::AlreadyRequested(id));
    }
    if st.channel(id).is_some() {
        return Err(ChannelError::AlreadyExists(id));
    }
    let requests = st.open_request_count(origin);
    if local_origin {
        let egress = len_u32(st.egress(origin).len());
        let limit = config.hrmp_max_parachain_outbound_channels;
        if egress.saturating_add(requests) >= limit {
            return Err(ChannelError::OutboundLimitExceeded {
                para: origin,
                limit,
            });
        }
    }
    let notification = Notification::NewChannelOpenRequest {
        sender: origin.0,
        max_message_size: proposed_max_message_size,
        max_capacity: proposed_max_capacity,
    }
    .encode_versioned(config.notification_xcm_version);
    if remote.is_none() {
        check_notification(st, config, recipient, &notification)?;
    }

    st.write(
        StorageKey::HrmpOpenRequest(id),
        &HrmpOpenRequest {
            max_message_size: proposed_max_message_size,
            max_capacity: proposed_max_capacity,
            max_total_size: config.hrmp_channel_max_total_size,
        },
    );
    if local_origin {
        st.write(
            StorageKey::HrmpOpenRequestCount(origin),
            &requests.saturating_add(1),
        );
    }
    match remote {
        None => {
            dmp::queue_checked(st, recipient, now, notification);
            Ok(None)
        }
        Some(service) => Ok(Some(ControlSend {
            service,
            control: ChannelControl::OpenRequest {
                channel: id,
                max_capacity: proposed_max_capacity,
                max_message_size: proposed_max_message_size,
            },
        })),
    }
}

/// `origin` accepts `sender`'s request to open a channel to it (upstream
/// `hrmp_accept_open_channel`): the channel opens at once (the relay chain
/// waits for the session change), and the sender is notified
/// (`HrmpChannelAccepted`, downward).
///
/// Across instances: a sender hosted by another instance is not notified
/// here; the channel opens on this side (in the recipient's ingress
/// index) and the acceptance is returned as a [`ControlSend`] for the
/// sender's instance, which runs the same call with the remote `origin`:
/// its pending request becomes the channel (in the sender's egress
/// index) and the sender is notified.
pub fn accept_open_channel<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    config: &HrmpConfig,
    origin: ParaId,
    sender: ParaId,
    now: RelayChainBlockNumber,
) -> Result<Option<ControlSend>, ChannelError> {
    let id = HrmpChannelId {
        sender,
        recipient: origin,
    };
    let request = st.open_request(id).ok_or(ChannelError::NoOpenRequest(id))?;
    let local_origin = st.is_para(origin);
    let remote = locate(st, sender)?;
    if !local_origin && (remote.is_some() || locate(st, origin).is_err()) {
        return Err(ChannelError::InvalidPara(origin));
    }
    if local_origin {
        let ingress = len_u32(st.ingress(origin).len());
        let limit = config.hrmp_max_parachain_inbound_channels;
        if ingress >= limit {
            return Err(ChannelError::InboundLimitExceeded {
                para: origin,
                limit,
            });
        }
    }
    let notification = Notification::ChannelAccepted {
        recipient: origin.0,
    }
    .encode_versioned(config.notification_xcm_version);
    if remote.is_none() {
        check_notification(st, config, sender, &notification)?;
    }

    st.remove(StorageKey::HrmpOpenRequest(id));
    if remote.is_none() {
        let requests = st.open_request_count(sender).saturating_sub(1);
        if requests == 0 {
            st.remove(StorageKey::HrmpOpenRequestCount(sender));
        } else {
            st.write(StorageKey::HrmpOpenRequestCount(sender), &requests);
        }
    }
    open(st, id, request);
    match remote {
        None => {
            dmp::queue_checked(st, sender, now, notification);
            Ok(None)
        }
        Some(service) => Ok(Some(ControlSend {
            service,
            control: ChannelControl::Accept { channel: id },
        })),
    }
}

/// `origin`, the sender or the recipient, closes `channel` (upstream
/// `hrmp_close_channel`): it leaves the sender's egress index at once, and
/// goes once its recipient has processed what it holds (at once if
/// nothing). The other party is notified (`HrmpChannelClosing`, downward).
///
/// Across instances: the other party hosted by another instance is not
/// notified here; the close is returned as a [`ControlSend`] for its
/// instance, which runs the same call with the remote `origin`. Each
/// side closes what it holds: the sender's side holds no messages (they
/// leave at once as transfers) and goes at once; the recipient's side
/// goes once the recipient has processed what it holds, as here.
pub fn close_channel<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    config: &HrmpConfig,
    origin: ParaId,
    channel: HrmpChannelId,
    now: RelayChainBlockNumber,
) -> Result<Option<ControlSend>, ChannelError> {
    if !channel.is_participant(origin) {
        return Err(ChannelError::CloseUnauthorized {
            para: origin,
            channel,
        });
    }
    if st.channel(channel).is_none() {
        return Err(ChannelError::NoSuchChannel(channel));
    }
    if st.is_closing(channel) {
        return Err(ChannelError::AlreadyClosing(channel));
    }
    let other = if origin == channel.sender {
        channel.recipient
    } else {
        channel.sender
    };
    let remote = locate(st, other)?;
    if !st.is_para(origin) && (remote.is_some() || locate(st, origin).is_err()) {
        return Err(ChannelError::InvalidPara(origin));
    }
    let notification = Notification::ChannelClosing {
        initiator: origin.0,
        sender: channel.sender.0,
        recipient: channel.recipient.0,
    }
    .encode_versioned(config.notification_xcm_version);
    if remote.is_none() {
        check_notification(st, config, other, &notification)?;
    }

    index_remove(
        st,
        StorageKey::HrmpEgress(channel.sender),
        channel.recipient,
    );
    if st.channel_contents(channel).is_empty() {
        st.remove(StorageKey::HrmpChannel(channel));
        index_remove(
            st,
            StorageKey::HrmpIngress(channel.recipient),
            channel.sender,
        );
    } else {
        // The timeslot it was asked at: a value, not `()`, because a JAM
        // `write` of zero octets removes the key (GP B.7, `write`).
        st.write(StorageKey::HrmpCloseRequest(channel), &now);
    }
    match remote {
        None => {
            dmp::queue_checked(st, other, now, notification);
            Ok(None)
        }
        Some(service) => Ok(Some(ControlSend {
            service,
            control: ChannelControl::Close {
                channel,
                initiator: origin,
            },
        })),
    }
}

/// Opens `sender → recipient` in genesis (upstream `preopen_hrmp_channels`):
/// the checks of a request and its acceptance, no notifications.
pub fn open_genesis_channel<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    config: &HrmpConfig,
    sender: ParaId,
    recipient: ParaId,
    max_capacity: u32,
    max_message_size: u32,
) -> Result<(), ChannelError> {
    if sender == recipient {
        return Err(ChannelError::OpenToSelf);
    }
    for para in [sender, recipient] {
        if !st.is_para(para) {
            return Err(ChannelError::InvalidPara(para));
        }
    }
    check_limits(config, max_capacity, max_message_size)?;
    let id = HrmpChannelId { sender, recipient };
    if st.channel(id).is_some() {
        return Err(ChannelError::AlreadyExists(id));
    }
    if st.open_request(id).is_some() {
        return Err(ChannelError::AlreadyRequested(id));
    }
    let outbound = len_u32(st.egress(sender).len()).saturating_add(st.open_request_count(sender));
    if outbound >= config.hrmp_max_parachain_outbound_channels {
        return Err(ChannelError::OutboundLimitExceeded {
            para: sender,
            limit: config.hrmp_max_parachain_outbound_channels,
        });
    }
    if len_u32(st.ingress(recipient).len()) >= config.hrmp_max_parachain_inbound_channels {
        return Err(ChannelError::InboundLimitExceeded {
            para: recipient,
            limit: config.hrmp_max_parachain_inbound_channels,
        });
    }
    open(
        st,
        id,
        HrmpOpenRequest {
            max_message_size,
            max_capacity,
            max_total_size: config.hrmp_channel_max_total_size,
        },
    );
    Ok(())
}

/// Opens `sender → recipient` where one of the two is hosted by another
/// CoreChains instance (messages cross as JAM transfers): the checks of
/// [`open_genesis_channel`] for the local para only (the other's limits
/// are its own instance's business). Only the local para's index lists
/// it: the recipient's ingress, or the sender's egress. Departure from the
/// relay chain: it has no such channels; declared like genesis channels.
pub fn open_remote_channel<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    config: &HrmpConfig,
    sender: ParaId,
    recipient: ParaId,
    max_capacity: u32,
    max_message_size: u32,
) -> Result<(), ChannelError> {
    if sender == recipient {
        return Err(ChannelError::OpenToSelf);
    }
    let inbound = match (st.is_para(sender), st.is_para(recipient)) {
        (false, true) => true,
        (true, false) => false,
        (true, true) => return Err(ChannelError::InvalidPara(recipient)),
        (false, false) => return Err(ChannelError::InvalidPara(sender)),
    };
    check_limits(config, max_capacity, max_message_size)?;
    let id = HrmpChannelId { sender, recipient };
    if st.channel(id).is_some() {
        return Err(ChannelError::AlreadyExists(id));
    }
    if inbound && len_u32(st.ingress(recipient).len()) >= config.hrmp_max_parachain_inbound_channels
    {
        return Err(ChannelError::InboundLimitExceeded {
            para: recipient,
            limit: config.hrmp_max_parachain_inbound_channels,
        });
    }
    if !inbound
        && len_u32(st.egress(sender).len()).saturating_add(st.open_request_count(sender))
            >= config.hrmp_max_parachain_outbound_channels
    {
        return Err(ChannelError::OutboundLimitExceeded {
            para: sender,
            limit: config.hrmp_max_parachain_outbound_channels,
        });
    }
    let channel = HrmpChannel {
        max_capacity,
        max_total_size: config.hrmp_channel_max_total_size,
        max_message_size,
        msg_count: 0,
        total_size: 0,
        mqc_head: None,
    };
    st.write(StorageKey::HrmpChannel(id), &channel);
    if inbound {
        index_insert(st, StorageKey::HrmpIngress(recipient), sender);
    } else {
        index_insert(st, StorageKey::HrmpEgress(sender), recipient);
    }
    Ok(())
}

/// The CoreChains instance hosting `para`, if `para` is not hosted here
/// and the route table names one ([`StorageKey::RemoteRoute`]).
pub fn remote_route<S: Storage + ?Sized>(st: &mut Overlay<'_, S>, para: ParaId) -> Option<u32> {
    if st.is_para(para) {
        return None;
    }
    st.read(&StorageKey::RemoteRoute(para))
}

/// A horizontal message leaving for a para hosted by another instance:
/// its payload is in [`StorageKey::Outbox`], and the service sends the
/// transfer that announces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteSend {
    /// The instance it goes to.
    pub service: u32,
    /// Its channel.
    pub channel: HrmpChannelId,
    /// Its sequence number on the channel.
    pub sequence: u64,
    /// Blake2b-256 of the payload.
    pub hash: crate::Hash,
    /// The payload's length.
    pub length: u32,
}

/// Puts `sender`'s messages (accepted by [`check_outbound`]) to paras
/// hosted elsewhere into the outbox, each under the channel's next
/// sequence number ([`StorageKey::RemoteOutbound`]); the others are left
/// to [`queue_outbound`]. The channel's count and size do not grow: the
/// message leaves at once, and the receiving instance enforces the
/// channel's capacity (bouncing what does not fit).
pub fn send_remote<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    sender: ParaId,
    messages: &[OutboundHrmpMessage],
) -> Vec<RemoteSend> {
    let mut sends = Vec::new();
    for message in messages {
        let Some(service) = remote_route(st, message.recipient) else {
            continue;
        };
        let channel = HrmpChannelId {
            sender,
            recipient: message.recipient,
        };
        let sequence: u64 = st
            .read(&StorageKey::RemoteOutbound(channel))
            .unwrap_or_default();
        st.write(
            StorageKey::Outbox(parajam_corechains_types::state::OutboxId {
                service,
                channel,
                sequence,
            }),
            &message.data,
        );
        st.write(
            StorageKey::RemoteOutbound(channel),
            &sequence.saturating_add(1),
        );
        sends.push(RemoteSend {
            service,
            channel,
            sequence,
            hash: crate::blake2_256(&message.data),
            length: len_u32(message.data.len()),
        });
    }
    sends
}

/// Appends `data`, sent by `sender` (hosted by another instance) to
/// `recipient`, to their channel at timeslot `now`, with the checks and
/// the MQC semantics of a local message ([`check_outbound`],
/// [`queue_outbound`]): open, not closing, within the message size, the
/// total size and the capacity.
pub fn queue_inbound<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    sender: ParaId,
    recipient: ParaId,
    now: RelayChainBlockNumber,
    data: Vec<u8>,
) -> Result<(), OutboundError> {
    let message = [OutboundHrmpMessage { recipient, data }];
    check_outbound(st, sender, &message, 1)?;
    queue_outbound(st, sender, now, &message);
    Ok(())
}
