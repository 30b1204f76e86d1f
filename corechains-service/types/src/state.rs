//! The CoreChains service's storage layout: which storage key holds what.
//!
//! The service keeps its state in its own JAM service storage (GP `a_s`,
//! written by the `write` host call in accumulate, read by `read`). Every key
//! is the SCALE encoding of a [`StorageKey`]: one prefix octet naming the
//! item, then the para id(s) as four little-endian octets each. Every value
//! is the SCALE encoding of the type in this table.
//!
//! | key ([`StorageKey`]) | octets | value |
//! |---|---|---|
//! | [`Paras`](StorageKey::Paras) | `00` | `Vec<ParaId>`: the registered paras, ascending, no duplicates |
//! | [`Head(p)`](StorageKey::Head) | `01 ‖ E4(p)` | [`HeadData`](crate::HeadData): `p`'s current head |
//! | [`Code(p)`](StorageKey::Code) | `02 ‖ E4(p)` | [`ValidationCodeHash`]: `p`'s current PVF |
//! | [`PendingUpgrade(p)`](StorageKey::PendingUpgrade) | `03 ‖ E4(p)` | [`PendingUpgrade`]: a code upgrade waiting for its slot |
//! | [`UpwardQueue(p)`](StorageKey::UpwardQueue) | `04 ‖ E4(p)` | `Vec<`[`UpwardMessage`](crate::UpwardMessage)`>`: messages `p` sent upward waiting to run, oldest first (empty: accumulate runs upward messages when it enacts their block; what it refuses goes to [`UpwardRefused`](StorageKey::UpwardRefused)) |
//! | [`DownwardQueue(p)`](StorageKey::DownwardQueue) | `06 ‖ E4(p)` | `Vec<`[`InboundDownwardMessage`]`>`: messages to `p` from the relay side, oldest first |
//! | [`Config`](StorageKey::Config) | `07` | [`ServiceConfig`]: the authorizer code hash, the code-upgrade delay, the relay-parent age limit and the host configuration the paras see |
//! | [`Build(h)`](StorageKey::Build) | `08 ‖ h` | [`PvmBuild`](crate::PvmBuild): the registered PVM build of the validation code with hash `h` |
//! | [`HrmpChannel(c)`](StorageKey::HrmpChannel) | `09 ‖ E4(s) ‖ E4(r)` | `HrmpChannel` (`parajam-xcm-adapter`; upstream `AbridgedHrmpChannel`): the open channel `c` = `(s, r)`: its limits, message count, total size, MQC head |
//! | [`HrmpChannelContents(c)`](StorageKey::HrmpChannelContents) | `0a ‖ E4(s) ‖ E4(r)` | `Vec<`[`InboundHrmpMessage`]`>`: the messages in channel `c` its recipient has not processed, oldest first |
//! | [`HrmpIngress(p)`](StorageKey::HrmpIngress) | `0b ‖ E4(p)` | `Vec<ParaId>`: the senders of `p`'s inbound channels, ascending |
//! | [`HrmpEgress(p)`](StorageKey::HrmpEgress) | `0c ‖ E4(p)` | `Vec<ParaId>`: the recipients of `p`'s outbound channels that accept messages, ascending |
//! | [`HrmpWatermark(p)`](StorageKey::HrmpWatermark) | `0d ‖ E4(p)` | `u32`: `p`'s last HRMP watermark |
//! | [`DmqMqcHead(p)`](StorageKey::DmqMqcHead) | `0e ‖ E4(p)` | [`Hash`](crate::Hash): the MQC head of every downward message ever queued for `p` (absent: zero) |
//! | [`HrmpOpenRequest(c)`](StorageKey::HrmpOpenRequest) | `0f ‖ E4(s) ‖ E4(r)` | `HrmpOpenRequest` (`parajam-xcm-adapter`): `s`'s request to open `c`, not yet accepted by `r` |
//! | [`HrmpOpenRequestCount(p)`](StorageKey::HrmpOpenRequestCount) | `10 ‖ E4(p)` | `u32`: how many of `p`'s open requests are pending |
//! | [`HrmpCloseRequest(c)`](StorageKey::HrmpCloseRequest) | `11 ‖ E4(s) ‖ E4(r)` | `u32`: channel `c` is closing since this timeslot: it takes no new messages and goes once its recipient has processed the rest (a value, not `()`: a JAM `write` of zero octets removes the key) |
//! | [`UpwardRefused(p)`](StorageKey::UpwardRefused) | `12 ‖ E4(p)` | `Vec<RefusedUpward>` (`parajam-xcm-adapter`): upward messages of `p` that were not executed, with why, oldest first; at most `parajam_xcm_adapter::ump::MAX_KEPT_REFUSED` |
//! | [`UpwardRefusedDropped(p)`](StorageKey::UpwardRefusedDropped) | `13 ‖ E4(p)` | `u32`: how many of `p`'s refused upward messages were dropped (the oldest) to keep `UpwardRefused(p)` within its bound |
//! | [`RemoteRoute(p)`](StorageKey::RemoteRoute) | `14 ‖ E4(p)` | `u32`: the id of the CoreChains service instance that hosts para `p` (not hosted here) |
//! | [`Outbox(o)`](StorageKey::Outbox) | `15 ‖ E4(d) ‖ E4(s) ‖ E4(r) ‖ E8(n)` | `Vec<u8>`: the payload of HRMP message `n` on channel `(s, r)`, sent as a JAM transfer to instance `d`, which reads it from here |
//! | [`RemoteInbound(i)`](StorageKey::RemoteInbound) | `16 ‖ E4(d) ‖ E4(s) ‖ E4(r)` | `u64`: the sequence number the next HRMP message on channel `(s, r)` from instance `d` must have |
//! | [`RemoteOutbound(c)`](StorageKey::RemoteOutbound) | `17 ‖ E4(s) ‖ E4(r)` | `u64`: the sequence number of the next HRMP message on channel `(s, r)` to a para hosted elsewhere |
//! | [`SovereignBalance(p)`](StorageKey::SovereignBalance) | `18 ‖ E4(p)` | `u64`: the relay token `p`'s sovereign account holds at the service (value transferred in for `p`, less what `p` sent out) |
//! | [`ValueSequence`](StorageKey::ValueSequence) | `19` | `u64`: the sequence number of the next value transfer out of a para |
//! | [`OutboxPruned(c)`](StorageKey::OutboxPruned) | `1a ‖ E4(s) ‖ E4(r)` | `u64`: every [`Outbox`](StorageKey::Outbox) entry of channel `(s, r)` (to a para hosted elsewhere) with a lower sequence number was read by the receiving instance and removed (absent: zero) |
//! | [`ControlSequence`](StorageKey::ControlSequence) | `1b` | `u64`: the sequence number of the next control memo (a channel operation told to another instance) |
//!
//! Key `05` (once a per-recipient HRMP queue) is retired: horizontal
//! messages live in their channels ([`HrmpChannelContents`](StorageKey::HrmpChannelContents)).
//!
//! The PVF blobs themselves are not in storage: they are preimages of the
//! service (GP `a_p`, looked up with `historical_lookup` in refine), keyed by
//! their Blake2b-256 hash, which is also their [`ValidationCodeHash`]. A code
//! upgrade to code `h` runs `h`'s registered [`Build`](StorageKey::Build)
//! if it has one (a para's new wasm runtime, recompiled), else `h` itself
//! (the new code is a PVF artifact): the service solicits that preimage
//! (`solicit` with its hash and length), and it becomes the current code
//! once the enactment slot has come and the preimage is available.
//!
//! A para is registered when [`Paras`](StorageKey::Paras) lists it and it has
//! a [`Head`](StorageKey::Head) and a [`Code`](StorageKey::Code); an absent
//! queue key is an empty queue.

use alloc::vec::Vec;

use parity_scale_codec::{Decode, Encode, MaxEncodedLen};

use crate::{ParaId, RelayChainBlockNumber, ValidationCodeHash};

/// A key of the service's storage; its SCALE encoding is the storage key.
// The SCALE derive casts variant indices to `u8`.
#[allow(clippy::cast_possible_truncation)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub enum StorageKey {
    /// The registered paras: `Vec<ParaId>`, ascending.
    #[codec(index = 0)]
    Paras,
    /// A para's current head: [`HeadData`](crate::HeadData).
    #[codec(index = 1)]
    Head(ParaId),
    /// A para's current code hash: [`ValidationCodeHash`].
    #[codec(index = 2)]
    Code(ParaId),
    /// A para's scheduled code upgrade: [`PendingUpgrade`].
    #[codec(index = 3)]
    PendingUpgrade(ParaId),
    /// The upward messages a para sent: `Vec<UpwardMessage>`.
    #[codec(index = 4)]
    UpwardQueue(ParaId),
    /// The downward messages waiting for a para: `Vec<InboundDownwardMessage>`.
    #[codec(index = 6)]
    DownwardQueue(ParaId),
    /// The service's configuration: [`ServiceConfig`].
    #[codec(index = 7)]
    Config,
    /// The registered PVM build of the validation code with this hash:
    /// [`PvmBuild`](crate::PvmBuild).
    #[codec(index = 8)]
    Build(ValidationCodeHash),
    /// An open HRMP channel: `HrmpChannel` of `parajam-xcm-adapter`.
    #[codec(index = 9)]
    HrmpChannel(HrmpChannelId),
    /// The messages in an HRMP channel: `Vec<InboundHrmpMessage>`.
    #[codec(index = 10)]
    HrmpChannelContents(HrmpChannelId),
    /// The senders of a para's inbound channels: `Vec<ParaId>`, ascending.
    #[codec(index = 11)]
    HrmpIngress(ParaId),
    /// The recipients of a para's outbound channels: `Vec<ParaId>`, ascending.
    #[codec(index = 12)]
    HrmpEgress(ParaId),
    /// A para's last HRMP watermark: `u32`.
    #[codec(index = 13)]
    HrmpWatermark(ParaId),
    /// The MQC head of a para's downward messages: [`Hash`](crate::Hash).
    #[codec(index = 14)]
    DmqMqcHead(ParaId),
    /// A pending request to open an HRMP channel: `HrmpOpenRequest` of
    /// `parajam-xcm-adapter`.
    #[codec(index = 15)]
    HrmpOpenRequest(HrmpChannelId),
    /// How many open requests a para has pending: `u32`.
    #[codec(index = 16)]
    HrmpOpenRequestCount(ParaId),
    /// A closing HRMP channel: `u32`, the timeslot it was asked to close at.
    #[codec(index = 17)]
    HrmpCloseRequest(HrmpChannelId),
    /// The upward messages of a para that were refused: `Vec<RefusedUpward>`
    /// of `parajam-xcm-adapter`.
    #[codec(index = 18)]
    UpwardRefused(ParaId),
    /// How many refused upward messages of a para were dropped from
    /// [`Self::UpwardRefused`], oldest first, to keep it within its bound:
    /// `u32`.
    #[codec(index = 19)]
    UpwardRefusedDropped(ParaId),
    /// The CoreChains instance hosting a para not hosted here: `u32`.
    #[codec(index = 20)]
    RemoteRoute(ParaId),
    /// An HRMP message's payload waiting for another instance: `Vec<u8>`.
    #[codec(index = 21)]
    Outbox(OutboxId),
    /// The next sequence number expected on a channel from another
    /// instance: `u64`.
    #[codec(index = 22)]
    RemoteInbound(RemoteChannel),
    /// The next sequence number on a channel to a para hosted elsewhere:
    /// `u64`.
    #[codec(index = 23)]
    RemoteOutbound(HrmpChannelId),
    /// What a para's sovereign account holds at the service: `u64`.
    #[codec(index = 24)]
    SovereignBalance(ParaId),
    /// The next value transfer's sequence number: `u64`.
    #[codec(index = 25)]
    ValueSequence,
    /// Below which sequence number a channel's outbox entries are
    /// removed: `u64`.
    #[codec(index = 26)]
    OutboxPruned(HrmpChannelId),
    /// The next control memo's sequence number: `u64`.
    #[codec(index = 27)]
    ControlSequence,
}

/// An HRMP message leaving for another CoreChains instance.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, MaxEncodedLen,
)]
pub struct OutboxId {
    /// The instance it goes to.
    pub service: u32,
    /// Its channel.
    pub channel: HrmpChannelId,
    /// Its sequence number on the channel.
    pub sequence: u64,
}

/// A channel whose sender is hosted by another CoreChains instance.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, MaxEncodedLen,
)]
pub struct RemoteChannel {
    /// The instance hosting the sender.
    pub service: u32,
    /// The channel.
    pub channel: HrmpChannelId,
}

/// An HRMP channel's identity (upstream `HrmpChannelId` of
/// `polkadot-primitives`: `sender`, then `recipient`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, MaxEncodedLen,
)]
pub struct HrmpChannelId {
    /// The para that sends on the channel.
    pub sender: ParaId,
    /// The para that receives.
    pub recipient: ParaId,
}

impl HrmpChannelId {
    /// Whether `para` is the sender or the recipient.
    pub fn is_participant(&self, para: ParaId) -> bool {
        self.sender == para || self.recipient == para
    }
}

/// The service's configuration, set at genesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
pub struct ServiceConfig {
    /// The code hash of the CoreChains authorizer (the `u` of the packages
    /// whose results accumulate accepts; see [`AuthConfig`](crate::AuthConfig)).
    pub authorizer_code_hash: crate::Hash,
    /// Timeslots between a block asking for a code upgrade and the new code
    /// becoming current (also the host configuration's
    /// `validation_upgrade_delay` the paras see).
    pub upgrade_delay: u32,
    /// The most timeslots a candidate's relay parent may lie behind the
    /// slot its result is accumulated in.
    pub relay_parent_max_age: u32,
    /// The host configuration the paras see in their relay-chain state
    /// (`validation_upgrade_delay` is replaced by `upgrade_delay`).
    pub host_config: AbridgedHostConfiguration,
}

impl ServiceConfig {
    /// A configuration with `authorizer_code_hash` and `upgrade_delay`, a
    /// relay parent at most [`Self::DEFAULT_RELAY_PARENT_MAX_AGE`] slots old and
    /// [`AbridgedHostConfiguration::DEFAULT`].
    pub const fn new(authorizer_code_hash: crate::Hash, upgrade_delay: u32) -> Self {
        Self {
            authorizer_code_hash,
            upgrade_delay,
            relay_parent_max_age: Self::DEFAULT_RELAY_PARENT_MAX_AGE,
            host_config: AbridgedHostConfiguration::DEFAULT,
        }
    }

    /// The default [`Self::relay_parent_max_age`]: one minute of 6-second
    /// slots.
    pub const DEFAULT_RELAY_PARENT_MAX_AGE: u32 = 10;
}

/// The relay chain's host configuration as a para sees it (upstream
/// `AbridgedHostConfiguration` of `polkadot-primitives`, same fields, same
/// SCALE encoding): the limits cumulus reads from its relay-chain state
/// proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
pub struct AbridgedHostConfiguration {
    /// The largest validation code, in octets.
    pub max_code_size: u32,
    /// The largest head, in octets.
    pub max_head_data_size: u32,
    /// The most upward messages a para's queue may hold.
    pub max_upward_queue_count: u32,
    /// The most octets a para's upward queue may hold.
    pub max_upward_queue_size: u32,
    /// The largest upward message, in octets.
    pub max_upward_message_size: u32,
    /// The most upward messages one candidate may send.
    pub max_upward_message_num_per_candidate: u32,
    /// The most horizontal messages one candidate may send.
    pub hrmp_max_message_num_per_candidate: u32,
    /// Blocks between code upgrades.
    pub validation_upgrade_cooldown: RelayChainBlockNumber,
    /// Blocks between asking for a code upgrade and its enactment.
    pub validation_upgrade_delay: RelayChainBlockNumber,
    /// Asynchronous backing.
    pub async_backing_params: AsyncBackingParams,
}

impl AbridgedHostConfiguration {
    /// Polkadot's limits (code 3 MiB, heads 20 KiB, upward queue 1 MiB,
    /// upward messages 64 KiB, 16 upward and 10 horizontal messages per
    /// candidate), no cooldown (the service enforces none), and a delay
    /// that [`ServiceConfig::upgrade_delay`] replaces.
    pub const DEFAULT: Self = Self {
        max_code_size: 3 * 1024 * 1024,
        max_head_data_size: 20 * 1024,
        max_upward_queue_count: 174_762,
        max_upward_queue_size: 1024 * 1024,
        max_upward_message_size: 65_531,
        max_upward_message_num_per_candidate: 16,
        hrmp_max_message_num_per_candidate: 10,
        validation_upgrade_cooldown: 0,
        validation_upgrade_delay: 0,
        async_backing_params: AsyncBackingParams {
            max_candidate_depth: 3,
            allowed_ancestry_len: 2,
        },
    };
}

/// Asynchronous backing parameters (upstream `AsyncBackingParams`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
pub struct AsyncBackingParams {
    /// How many candidates may build on one another before inclusion.
    pub max_candidate_depth: u32,
    /// How many ancestors of the newest relay block may be relay parents.
    pub allowed_ancestry_len: u32,
}

/// The relay chain's code-upgrade go-ahead signal (upstream
/// `UpgradeGoAhead`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
pub enum UpgradeGoAhead {
    /// The upgrade is abandoned.
    #[codec(index = 0)]
    Abort,
    /// The new code is current: the para applies it.
    #[codec(index = 1)]
    GoAhead,
}

/// The relay chain's code-upgrade restriction signal (upstream
/// `UpgradeRestriction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
pub enum UpgradeRestriction {
    /// An upgrade is pending: the para may not ask for another.
    #[codec(index = 0)]
    Present,
}

impl StorageKey {
    /// The storage key's octets.
    pub fn to_key(&self) -> Vec<u8> {
        self.encode()
    }

    /// The key these octets are, if they are exactly one.
    pub fn from_key(mut key: &[u8]) -> Option<Self> {
        let parsed = Self::decode(&mut key).ok()?;
        key.is_empty().then_some(parsed)
    }
}

/// A code upgrade a para asked for (its [`ValidationResult::new_validation_code`](crate::ValidationResult::new_validation_code)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
pub struct PendingUpgrade {
    /// Blake2b-256 of the new code: the preimage the service solicits.
    pub code_hash: ValidationCodeHash,
    /// The new code's length in octets (what `solicit` needs with the hash).
    pub code_len: u32,
    /// The timeslot from which the relay state signals the go-ahead: the
    /// para's first block with a relay parent at or after it applies the
    /// new code (it is still validated with the old one, as on the relay
    /// chain), and the new code is current once that block is enacted.
    pub enact_at: u32,
}

impl PendingUpgrade {
    /// Whether a block with relay parent `relay_parent` sees the go-ahead.
    pub const fn is_due(&self, relay_parent: u32) -> bool {
        self.enact_at <= relay_parent
    }
}

/// A horizontal message in its channel (upstream `InboundHrmpMessage` of
/// `polkadot-core-primitives`: `sent_at`, then `data`; the sender is the
/// channel's).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Encode, Decode)]
pub struct InboundHrmpMessage {
    /// The relay block number (on JAM, the timeslot) at which it was queued.
    pub sent_at: RelayChainBlockNumber,
    /// The message payload.
    pub data: Vec<u8>,
}

/// A downward message in its para's queue (upstream
/// `InboundDownwardMessage`: `sent_at`, then `msg`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Encode, Decode)]
pub struct InboundDownwardMessage {
    /// The relay block number (on JAM, the timeslot) at which it was queued.
    pub sent_at: RelayChainBlockNumber,
    /// The message payload.
    pub msg: Vec<u8>,
}
