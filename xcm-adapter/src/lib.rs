//! The XCM adapter of the CoreChains service: the message queues a
//! parachain's relay chain keeps, kept by the service instead, so that
//! `cumulus-pallet-parachain-system`, unchanged, finds what it expects.
//!
//! - **HRMP channels** ([`hrmp`]): per channel `(sender, recipient)` its
//!   limits, message count, total size and MQC head ([`HrmpChannel`], the
//!   SCALE encoding of upstream `AbridgedHrmpChannel`), its messages
//!   (upstream `InboundHrmpMessage`), and per para its ingress and egress
//!   channel indexes and watermark. A candidate's `horizontal_messages` are
//!   appended to their channels after the relay chain's acceptance checks
//!   ([`hrmp::check_outbound`]); its `hrmp_watermark` is checked and prunes
//!   what the para has processed ([`hrmp::check_watermark`]).
//! - **Downward queues** ([`dmp`]): per para its messages and the MQC head
//!   of all it was ever sent; a candidate's `processed_downward_messages`
//!   prunes them ([`dmp::check_processed`]).
//! - **The MQC head chain** ([`mqc`]), as the relay chain and cumulus
//!   compute it.
//! - **The well-known keys** ([`keys`]) under which the emulated relay
//!   state shows them to a para.
//! - **Upward XCM** ([`ump`], decoded by [`xcm`]): the channel lifecycle a
//!   para drives with `Transact` of the relay chain's `hrmp` calls, with the
//!   notifications sent back down; anything else is refused with a reason
//!   and kept.
//!
//! # Delivery
//!
//! A collator gives a para, in its parachain inherent, its whole downward
//! queue and its inbound channels' contents as the service stores them at
//! the relay parent (the relay chain's `dmq_contents` and
//! `inbound_hrmp_channels_contents`); the relay state it proves at that
//! timeslot has the MQC heads they end at, and parachain-system, unchanged,
//! checks them (a message left out or altered: the block is invalid). The
//! para's `processed_downward_messages` and `hrmp_watermark` then prune
//! them when its block is enacted ([`enact_candidate`]).
//!
//! Every operation reads the service's storage through an [`Overlay`]
//! ([`store`]), validates first and only then writes into the overlay:
//! a refusal (a typed error) leaves it as it was. The service commits the
//! overlay's changes when the whole item is accepted.
//!
//! # Channels between instances
//!
//! A para may have a channel with a para hosted by another CoreChains
//! instance (another JAM service running the same code). Which instance
//! hosts which para is the registrar's declaration (a route,
//! `StorageKey::RemoteRoute`); the channels are the paras' own business,
//! opened and closed by the same upward XCM as within one instance. Each
//! instance keeps the side of the channel its para is on: the sender's
//! instance the channel in the sender's egress index (its messages leave
//! at once, as JAM transfers), the recipient's instance the channel with
//! its messages and MQC head in the recipient's ingress index. A call of
//! the para hosted here on such a channel runs here for its side and
//! returns a [`hrmp::ControlSend`]; the service tells the other instance
//! with a control memo, and the other instance runs the same call with
//! the remote para as origin, for its side:
//!
//! - `hrmp_init_open_channel(recipient)`: the sender's instance checks what
//!   the hrmp pallet checks of the sender (the recipient is known: hosted
//!   here or routed, else `InvalidPara`; limits; no channel or request
//!   yet; the sender's outbound limit) and records the request; the
//!   recipient's instance checks the limits and that no channel or
//!   request exists, records the request and notifies the recipient
//!   (`HrmpNewChannelOpenRequest`, downward).
//! - `hrmp_accept_open_channel(sender)`: the recipient's instance checks
//!   the request and the recipient's inbound limit and opens its side; the
//!   sender's instance turns its request into its side of the channel and
//!   notifies the sender (`HrmpChannelAccepted`).
//! - `hrmp_close_channel`, by either party: each side closes as
//!   [`hrmp::close_channel`] does within one instance (the sender's side
//!   holds nothing and goes at once; the recipient's side goes once the
//!   recipient has processed what it holds); the other party is notified
//!   (`HrmpChannelClosing`).
//!
//! What the other instance refuses is recorded there (an event with the
//! typed [`hrmp::ChannelError`]) and the control transfer is bounced, so
//! the sending instance records its return too.
//!
//! # Departures from the relay chain
//!
//! The relay chain's `hrmp` and `dmp` pallets (polkadot-sdk
//! `polkadot/runtime/parachains`) act on session boundaries and hold
//! deposits; JAM has neither sessions in that sense nor the relay chain's
//! balances. Where the service differs:
//!
//! - **No deposits.** Opening and accepting a channel reserve nothing;
//!   closing refunds nothing.
//! - **A channel opens when it is accepted**, not at the next session
//!   change: `hrmp_accept_open_channel` creates the channel and adds it to
//!   both indexes at once. So there is no confirmed-but-unopened request,
//!   and the recipient's inbound limit counts open channels only.
//! - **A channel closes once drained.** `hrmp_close_channel` takes the
//!   channel out of the sender's egress index at once (cumulus then stops
//!   sending on it) and marks it closing; it stays in the recipient's
//!   ingress index, with its messages, until the recipient's watermark has
//!   pruned them all, and only then is removed. The relay chain removes the
//!   channel and its unprocessed messages at the session change; here
//!   nothing is removed before the recipient processed it.
//! - **No cancel, no force calls.** `hrmp_cancel_open_request` and the
//!   governance calls (`force_*`, `establish_*`, `poke_channel_deposits`)
//!   are refused like any other call the adapter does not map.
//! - **Upward messages run when their block is enacted**, not later from a
//!   message queue, and a message runs whole or not at all: fee
//!   instructions (`WithdrawAsset`, `BuyExecution`, `PayFees`,
//!   `RefundSurplus`, `DepositAsset`, `UnpaidExecution`) are accepted and
//!   do nothing (there is nothing to pay with); `SetTopic` is accepted; any
//!   other instruction refuses the message.
//! - **Upward limits** are the relay chain's acceptance checks
//!   ([`ump::check_upward`]: messages per candidate, message size, queue
//!   count and octets), but the upward queue is always empty between
//!   blocks (messages run when their block is enacted), so the queue
//!   limits bound one candidate's messages. Refused upward messages are
//!   kept up to [`ump::MAX_KEPT_REFUSED`] per para, the older ones
//!   dropped and counted.
//! - **A channel's close request** is stored as the timeslot it was asked
//!   at, not `()`: a JAM `write` of no octets removes the key.
//! - **The downward queue's length limit** is the relay chain's
//!   (`MAX_POSSIBLE_ALLOCATION / max_downward_message_size` messages, one
//!   fewer than the relay chain lets through), and there is no delivery
//!   fee factor; [`HrmpConfig`] stands for the relay chain's host
//!   configuration.
//! - **Genesis channels** ([`hrmp::open_genesis_channel`]) are opened as
//!   the relay chain's `preopen_hrmp_channels` are: the same checks as
//!   open-then-accept, no notifications.
//! - **Routes are declared.** A relay chain knows every para; an instance
//!   knows only the paras it hosts and those the registrar routes to
//!   another instance. A channel to a para that is neither is refused as
//!   to an unregistered para (`InvalidPara`).
//! - **A channel between instances is kept in two halves**, one per
//!   instance, each changed by its own instance in its own accumulation:
//!   a request, an acceptance or a close takes effect on the other side
//!   when its control memo arrives (in the same JAM block when the other
//!   instance accumulates after it, else the next). Each side checks the
//!   limits of its own para (the sender's outbound, the recipient's
//!   inbound channels). A refusal on the other side (e.g. the recipient's
//!   downward queue full) leaves this side as it was after the call: a
//!   request stays pending (there is no cancel), an accepted channel open
//!   on the recipient's side only (either party may close it). The
//!   channel's capacity is enforced by the recipient's side (the sender's
//!   side never counts messages). Declared channels
//!   ([`hrmp::open_remote_channel`], with a route) remain as a shortcut
//!   for tests.

#![no_std]

extern crate alloc;

pub mod dmp;
pub mod hrmp;
pub mod keys;
pub mod mqc;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod ump;
pub mod xcm;

use alloc::vec::Vec;

pub use parajam_corechains_types::state::{
    HrmpChannelId, InboundDownwardMessage, InboundHrmpMessage,
};
use parajam_corechains_types::{Hash, RelayChainBlockNumber};
use parity_scale_codec::{Decode, Encode};

pub use store::{Overlay, Storage};

/// An open HRMP channel as a para sees it (upstream `AbridgedHrmpChannel`
/// of `polkadot-primitives`: same fields, same SCALE encoding; the relay
/// chain's `HrmpChannel` adds the deposits, which the service does not
/// take).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Encode, Decode)]
pub struct HrmpChannel {
    /// The most messages the channel may hold at once.
    pub max_capacity: u32,
    /// The most octets of payload the channel may hold at once.
    pub max_total_size: u32,
    /// The largest message, in octets.
    pub max_message_size: u32,
    /// The messages it holds.
    pub msg_count: u32,
    /// The octets of payload it holds.
    pub total_size: u32,
    /// The head of the MQC of every message ever sent on it ([`mqc`]);
    /// `None` until the first.
    pub mqc_head: Option<Hash>,
}

/// A request to open an HRMP channel, waiting for the recipient to accept
/// (upstream `HrmpOpenChannelRequest` without `confirmed`, `_age` and the
/// deposit: an accepted request opens the channel at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
pub struct HrmpOpenRequest {
    /// The largest message the channel will take.
    pub max_message_size: u32,
    /// The most messages it will hold.
    pub max_capacity: u32,
    /// The most octets it will hold ([`HrmpConfig::hrmp_channel_max_total_size`]
    /// when requested).
    pub max_total_size: u32,
}

/// An upward message that was not executed, kept with why.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct RefusedUpward {
    /// The timeslot of the block that sent it.
    pub sent_at: RelayChainBlockNumber,
    /// The message.
    pub msg: Vec<u8>,
    /// Why it was refused.
    pub reason: ump::UpwardRefusal,
}

/// The relay chain's host-configuration limits on messaging that a para
/// does not read from its relay state (the ones it reads are in the
/// service's `AbridgedHostConfiguration`), and how the relay chain is
/// addressed by upward XCM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
pub struct HrmpConfig {
    /// The largest `max_capacity` a channel may be opened with.
    pub hrmp_channel_max_capacity: u32,
    /// The `max_total_size` of every channel.
    pub hrmp_channel_max_total_size: u32,
    /// The largest `max_message_size` a channel may be opened with.
    pub hrmp_channel_max_message_size: u32,
    /// The most outbound channels (and pending open requests) a para may have.
    pub hrmp_max_parachain_outbound_channels: u32,
    /// The most inbound channels a para may have.
    pub hrmp_max_parachain_inbound_channels: u32,
    /// The largest downward message, in octets.
    pub max_downward_message_size: u32,
    /// The index of the relay chain's `hrmp` pallet in its runtime: the
    /// first octet of the calls a para `Transact`s (60 on Polkadot, Kusama
    /// and Rococo).
    pub hrmp_pallet_index: u8,
    /// The XCM version of the notifications sent down (`VersionedXcm`'s
    /// index: 3, 4 or 5).
    pub notification_xcm_version: u8,
}

impl HrmpConfig {
    /// The service's defaults: Polkadot's hrmp pallet index and limits of
    /// the order Polkadot's configuration sets (1000 messages and 100 KiB
    /// per channel, 30 channels each way, 50 KiB downward messages), XCM v5
    /// notifications (the latest of `staging-xcm` 25, polkadot-sdk
    /// stable2609).
    pub const DEFAULT: Self = Self {
        hrmp_channel_max_capacity: 1000,
        hrmp_channel_max_total_size: 100 * 1024,
        hrmp_channel_max_message_size: 100 * 1024,
        hrmp_max_parachain_outbound_channels: 30,
        hrmp_max_parachain_inbound_channels: 30,
        max_downward_message_size: 50 * 1024,
        hrmp_pallet_index: 60,
        notification_xcm_version: 5,
    };

    /// The most messages a downward queue holds, as the relay chain's `dmp`
    /// pallet bounds it (`dmq_max_length`): `MAX_POSSIBLE_ALLOCATION`
    /// (32 MiB, the wasm allocator's largest allocation) over the largest
    /// message (zero if that is zero). The relay chain refuses a message
    /// only once the queue is longer than that; the service once it is that
    /// long.
    pub const fn max_downward_queue_count(&self) -> u32 {
        const MAX_POSSIBLE_ALLOCATION: u32 = 32 * 1024 * 1024;
        match MAX_POSSIBLE_ALLOCATION.checked_div(self.max_downward_message_size) {
            Some(count) => count,
            None => 0,
        }
    }
}

impl Default for HrmpConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Blake2b-256.
pub fn blake2_256(data: &[u8]) -> Hash {
    use blake2::digest::consts::U32;
    use blake2::{Blake2b, Digest};
    Blake2b::<U32>::digest(data).into()
}

/// A length in octets as the relay chain counts it (a `u32`; saturating,
/// so an impossible length fails every limit).
pub(crate) fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// Why a candidate's messaging is refused.
// The SCALE derive casts variant indices to `u8`.
#[allow(clippy::cast_possible_truncation)]
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, thiserror::Error)]
pub enum MessagingError {
    /// Its `processed_downward_messages`.
    #[error("downward messages: {0}")]
    Downward(dmp::DownwardError),
    /// Its `hrmp_watermark`.
    #[error("HRMP watermark: {0}")]
    Watermark(hrmp::WatermarkError),
    /// Its `horizontal_messages`.
    #[error("horizontal messages: {0}")]
    Outbound(hrmp::OutboundError),
    /// Its `upward_messages`, against the relay chain's limits.
    #[error("upward messages: {0}")]
    Upward(ump::UpwardError),
}

/// What a candidate of a para does to the message queues (its
/// `ValidationResult`'s messaging fields and its relay parent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CandidateMessaging<'a> {
    /// The para.
    pub para: parajam_corechains_types::ParaId,
    /// The candidate's relay parent (a timeslot).
    pub relay_parent: RelayChainBlockNumber,
    /// How many downward messages it processed.
    pub processed_downward_messages: u32,
    /// Its HRMP watermark.
    pub hrmp_watermark: RelayChainBlockNumber,
    /// The messages it sends to other paras.
    pub horizontal_messages: &'a [parajam_corechains_types::OutboundHrmpMessage],
}

/// Enacts `candidate`'s messaging at timeslot `now`, as the relay chain's
/// inclusion does: first every check (downward messages processed, the
/// watermark, the horizontal messages against their channels, at most
/// `max_hrmp_per_candidate`), then the effects (the downward queue and the
/// inbound channels pruned, the messages appended to their channels, or,
/// to a para hosted by another CoreChains instance, put in the outbox:
/// what it returns, for the service to announce with transfers).
/// Refused, it changes nothing.
pub fn enact_candidate<S: Storage + ?Sized>(
    st: &mut Overlay<'_, S>,
    candidate: &CandidateMessaging<'_>,
    now: RelayChainBlockNumber,
    max_hrmp_per_candidate: u32,
) -> Result<Vec<hrmp::RemoteSend>, MessagingError> {
    let para = candidate.para;
    dmp::check_processed(
        st,
        para,
        candidate.relay_parent,
        candidate.processed_downward_messages,
    )
    .map_err(MessagingError::Downward)?;
    hrmp::check_watermark(st, para, candidate.relay_parent, candidate.hrmp_watermark)
        .map_err(MessagingError::Watermark)?;
    hrmp::check_outbound(
        st,
        para,
        candidate.horizontal_messages,
        max_hrmp_per_candidate,
    )
    .map_err(MessagingError::Outbound)?;

    dmp::prune(st, para, candidate.processed_downward_messages);
    hrmp::prune(st, para, candidate.hrmp_watermark);
    let sends = hrmp::send_remote(st, para, candidate.horizontal_messages);
    if sends.is_empty() {
        hrmp::queue_outbound(st, para, now, candidate.horizontal_messages);
    } else {
        let local: Vec<_> = candidate
            .horizontal_messages
            .iter()
            .filter(|m| !sends.iter().any(|s| s.channel.recipient == m.recipient))
            .cloned()
            .collect();
        hrmp::queue_outbound(st, para, now, &local);
    }
    Ok(sends)
}
