//! Shared types of the CoreChains service: what a collator, the service's
//! refine and accumulate code, and a parachain validation function (PVF)
//! exchange.
//!
//! - The parachain primitives of Polkadot's `polkadot-parachain-primitives`
//!   crate (version 24, polkadot-sdk `polkadot/parachain/src/primitives.rs`)
//!   with the same fields and the same SCALE encoding, octet for octet
//!   (the tests check it against that crate): [`ParaId`], [`HeadData`],
//!   [`ValidationCode`], [`ValidationCodeHash`], [`BlockData`],
//!   [`OutboundHrmpMessage`], [`ValidationParams`] and [`ValidationResult`].
//!   They are mirrored rather than reused because the upstream crate pulls in
//!   `sp-core` and `sp-runtime`, which do not build for the PVM target.
//! - What a collator puts in a work item ([`candidate`]): the
//!   [`ParachainCandidate`] payload, with the parachain block (the PoV) as
//!   work-item extrinsic data, and the work output [`CandidateOutput`].
//! - The service's own storage layout ([`state`]).
//! - The memo of the JAM transfers the service sends and receives ([`memo`]).
//! - The PVF artifact the service loads: a recompiled PVF with its entry
//!   point and import names ([`pvf`]).
//!
//! `no_std` with `alloc`; the `std` feature (default) turns on `std` in the
//! codec.
//!
//! # The PVF ABI these types travel through
//!
//! A PVF exports `validate_block(params: *const u8, len: usize) -> u64`: the
//! executor writes the SCALE encoding of [`ValidationParams`] into the PVF's
//! memory and calls it with its address and length; the PVF returns the
//! address and length of the SCALE encoding of [`ValidationResult`] packed
//! as `ptr | len << 32` (sp-core's `to_substrate_wasm_fn_return_value`;
//! [`pack_ptr_and_len`], [`unpack_ptr_and_len`]). A PVF decodes the params
//! without requiring the input to be consumed whole: newer relay chains
//! append a `ValidationParamsExtension` after the four fields.

#![no_std]

extern crate alloc;

pub mod candidate;
pub mod memo;
pub mod pvf;
pub mod state;

use alloc::vec::Vec;

use parity_scale_codec::{CompactAs, Decode, Encode, Error, Input, MaxEncodedLen};

pub use candidate::{
    AuthConfig, AuthScope, CandidateOutput, DownwardMessage, InvalidReason, NewCode,
    ParachainCandidate, PvmBuild, RefineOutput, Registration, RemoteChannelDeclaration,
    RouteDeclaration, WorkItemPayload,
};

/// A 32-octet hash (Polkadot's `H256`, which SCALE-encodes as its 32 octets).
pub type Hash = [u8; 32];

/// A relay-chain block number (Polkadot's `BlockNumber`, a `u32`).
pub type RelayChainBlockNumber = u32;

/// The most upward messages a [`ValidationResult`] may carry
/// (upstream `MAX_UPWARD_MESSAGE_NUM`).
pub const MAX_UPWARD_MESSAGE_NUM: u32 = 16 * 1024;

/// The most horizontal messages a [`ValidationResult`] may carry
/// (upstream `MAX_HORIZONTAL_MESSAGE_NUM`).
pub const MAX_HORIZONTAL_MESSAGE_NUM: u32 = 16 * 1024;

/// A parachain's identifier (upstream `Id`): a `u32`, encoded in four
/// little-endian octets (or compact through [`CompactAs`]).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Encode,
    Decode,
    CompactAs,
    MaxEncodedLen,
)]
pub struct ParaId(pub u32);

impl ParaId {
    /// The para with identifier `id`.
    pub const fn new(id: u32) -> Self {
        Self(id)
    }
}

impl From<u32> for ParaId {
    fn from(id: u32) -> Self {
        Self(id)
    }
}

impl From<ParaId> for u32 {
    fn from(id: ParaId) -> Self {
        id.0
    }
}

/// A parachain's head data, opaque to the relay chain (upstream `HeadData`:
/// a `Vec<u8>`, encoded with its compact length).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct HeadData(pub Vec<u8>);

/// A parachain's validation code, the PVF blob (upstream `ValidationCode`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Encode, Decode)]
pub struct ValidationCode(pub Vec<u8>);

/// The Blake2b-256 hash of a [`ValidationCode`] (upstream
/// `ValidationCodeHash`, a wrapped `H256`: its 32 octets).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, MaxEncodedLen,
)]
pub struct ValidationCodeHash(pub Hash);

impl From<Hash> for ValidationCodeHash {
    fn from(hash: Hash) -> Self {
        Self(hash)
    }
}

/// A parachain block as the PVF sees it, opaque to the relay chain (upstream
/// `BlockData`; with Cumulus, the encoded proof of validity).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Encode, Decode)]
pub struct BlockData(pub Vec<u8>);

/// An upward (para to relay chain) message: its octets.
pub type UpwardMessage = Vec<u8>;

/// A horizontal (HRMP) message as its sender sees it (upstream
/// `OutboundHrmpMessage<Id>` of `polkadot-core-primitives`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Encode, Decode)]
pub struct OutboundHrmpMessage {
    /// The para whose inbound queue gets the message.
    pub recipient: ParaId,
    /// The message payload.
    pub data: Vec<u8>,
}

/// What a PVF's `validate_block` gets (upstream `ValidationParams`).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct ValidationParams {
    /// The head of the para block the candidate builds on.
    pub parent_head: HeadData,
    /// The candidate's block (the PoV).
    pub block_data: BlockData,
    /// The relay-parent's block number (on JAM: the anchor's).
    pub relay_parent_number: RelayChainBlockNumber,
    /// The relay-parent's storage root (on JAM: the anchor's state root).
    pub relay_parent_storage_root: Hash,
}

/// What newer relay chains append after the encoded [`ValidationParams`]
/// (upstream `ValidationParamsExtension`, sent for V3 candidate
/// descriptors; absent for V1/V2): the variant index is the descriptor
/// version. A PVF that reads [`ValidationParams`] with SCALE `decode` and
/// ignores what follows keeps working.
// The SCALE derive casts variant indices to `u8`.
#[allow(clippy::cast_possible_truncation)]
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum ValidationParamsExtension {
    /// The V3 extension.
    #[codec(index = 3)]
    V3 {
        /// The relay-parent block hash.
        relay_parent: Hash,
        /// The scheduling-parent block hash.
        scheduling_parent: Hash,
    },
}

/// What a PVF's `validate_block` returns (upstream `ValidationResult`).
///
/// `upward_messages` and `horizontal_messages` are upstream `BoundedVec`s:
/// the same encoding as a `Vec`, and decoding refuses more than
/// [`MAX_UPWARD_MESSAGE_NUM`] / [`MAX_HORIZONTAL_MESSAGE_NUM`] items before
/// reading any.
#[derive(Debug, Clone, PartialEq, Eq, Encode)]
pub struct ValidationResult {
    /// The new head of the para.
    pub head_data: HeadData,
    /// A code upgrade the para asks for.
    pub new_validation_code: Option<ValidationCode>,
    /// Messages to the relay chain, in order.
    pub upward_messages: Vec<UpwardMessage>,
    /// Messages to other paras, in order.
    pub horizontal_messages: Vec<OutboundHrmpMessage>,
    /// How many downward messages the para processed, from the first.
    pub processed_downward_messages: u32,
    /// The relay block number up to which all inbound HRMP messages are processed.
    pub hrmp_watermark: RelayChainBlockNumber,
}

impl Decode for ValidationResult {
    fn decode<I: Input>(input: &mut I) -> Result<Self, Error> {
        Ok(Self {
            head_data: HeadData::decode(input)?,
            new_validation_code: Option::<ValidationCode>::decode(input)?,
            upward_messages: decode_bounded_vec(input, MAX_UPWARD_MESSAGE_NUM)?,
            horizontal_messages: decode_bounded_vec(input, MAX_HORIZONTAL_MESSAGE_NUM)?,
            processed_downward_messages: u32::decode(input)?,
            hrmp_watermark: RelayChainBlockNumber::decode(input)?,
        })
    }
}

/// Decodes a `Vec<T>` of at most `bound` items as `BoundedVec<T, ConstU32<bound>>`
/// does: the compact length is checked before any item is read.
fn decode_bounded_vec<T: Decode, I: Input>(input: &mut I, bound: u32) -> Result<Vec<T>, Error> {
    let len = parity_scale_codec::Compact::<u32>::decode(input)?.0;
    if len > bound {
        return Err("BoundedVec exceeds its limit".into());
    }
    let mut items = Vec::new();
    for _ in 0..len {
        items.push(T::decode(input)?);
    }
    Ok(items)
}

/// The `u64` a wasm-ABI function returns for `len` octets at `ptr`:
/// `ptr | len << 32` (sp-core `to_substrate_wasm_fn_return_value`).
pub const fn pack_ptr_and_len(ptr: u32, len: u32) -> u64 {
    (ptr as u64) | ((len as u64) << 32)
}

/// `(ptr, len)` of a packed wasm-ABI return value.
pub const fn unpack_ptr_and_len(packed: u64) -> (u32, u32) {
    #[allow(clippy::cast_possible_truncation)]
    let ptr = packed as u32;
    let len = (packed >> 32) as u32;
    (ptr, len)
}
