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
//! | [`UpwardQueue(p)`](StorageKey::UpwardQueue) | `04 ‖ E4(p)` | `Vec<`[`UpwardMessage`](crate::UpwardMessage)`>`: messages `p` sent upward, oldest first |
//! | [`HrmpQueue(r)`](StorageKey::HrmpQueue) | `05 ‖ E4(r)` | `Vec<`[`InboundHrmpMessage`]`>`: messages to `r` from other paras, oldest first |
//! | [`DownwardQueue(p)`](StorageKey::DownwardQueue) | `06 ‖ E4(p)` | `Vec<`[`InboundDownwardMessage`]`>`: messages to `p` from the relay side, oldest first |
//! | [`Config`](StorageKey::Config) | `07` | [`ServiceConfig`]: the authorizer code hash and the code-upgrade delay |
//! | [`Build(h)`](StorageKey::Build) | `08 ‖ h` | [`PvmBuild`](crate::PvmBuild): the registered PVM build of the validation code with hash `h` |
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

use parity_scale_codec::{Decode, Encode};

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
    /// The horizontal messages waiting for a recipient para: `Vec<InboundHrmpMessage>`.
    #[codec(index = 5)]
    HrmpQueue(ParaId),
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
}

/// The service's configuration, set at genesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
pub struct ServiceConfig {
    /// The code hash of the CoreChains authorizer (the `u` of the packages
    /// whose results accumulate accepts; see [`AuthConfig`](crate::AuthConfig)).
    pub authorizer_code_hash: crate::Hash,
    /// Timeslots between a block asking for a code upgrade and the new code
    /// becoming current.
    pub upgrade_delay: u32,
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
    /// The timeslot from which the new code is the para's code.
    pub enact_at: u32,
}

/// A horizontal message in its recipient's queue (upstream
/// `InboundHrmpMessage` of `polkadot-core-primitives`, plus the sender that
/// upstream keeps in the channel's identity).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Encode, Decode)]
pub struct InboundHrmpMessage {
    /// The para that sent it.
    pub sender: ParaId,
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
