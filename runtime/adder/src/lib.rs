//! The adder test parachain: a minimal Polkadot parachain, written from
//! scratch in the style of polkadot-sdk's `test-parachains/adder`, whose
//! validation function (PVF) builds from this one source to wasm (the legacy
//! relay-chain path) and to PVM (JAM's CoreChains service).
//!
//! The para's state is one `u64`. A block says which state it starts from and
//! how much to add; the head commits to the state by its hash:
//!
//! - [`HeadData`] `{ number: u64, parent_hash: [u8; 32], post_state: [u8; 32] }`,
//!   SCALE-encoded in 72 octets (`E8(number) ‖ parent_hash ‖ post_state`);
//! - [`BlockData`] `{ state: u64, add: u64 }`, 16 octets;
//! - `post_state = keccak256(E8(state))` ([`hash_state`]), a head's hash is
//!   `keccak256` of its encoding ([`HeadData::hash`]).
//!
//! Validating a block ([`execute`]): the block's `state` must hash to the
//! parent head's `post_state`; the new head has number `parent.number + 1`,
//! `parent_hash` the parent head's hash, and `post_state` the hash of
//! `state + add` (wrapping).
//!
//! [`validate_block`] is the whole PVF body: it takes the SCALE encoding of
//! `ValidationParams` and returns that of `ValidationResult` (the types of
//! `polkadot-parachain-primitives`, mirrored in `parajam-corechains-types`)
//! with the new head, no code upgrade, no messages, no processed downward
//! messages and `hrmp_watermark = relay_parent_number`, exactly what the
//! upstream adder returns. It allocates nothing and needs no host function,
//! so the PVF entry points (in `runtime/adder-build/guest`) are a few lines
//! of ABI glue around it: the same code runs natively, on wasm and on PVM.
//!
//! Upstream the adder panics (a trap) on an invalid block; the entry points
//! here do the same on any [`Error`].

#![no_std]

mod keccak;
mod scale;

pub use keccak::keccak256;

/// The length of an encoded [`HeadData`].
pub const HEAD_DATA_LEN: usize = 8 + 32 + 32;

/// The length of an encoded [`BlockData`].
pub const BLOCK_DATA_LEN: usize = 8 + 8;

/// The length of the encoded `ValidationResult` [`validate_block`] returns:
/// the head with its two-octet compact length, three empty collections
/// (`None`, `[]`, `[]`) and two `u32`s.
pub const RESULT_LEN: usize = 2 + HEAD_DATA_LEN + 3 + 4 + 4;

/// The head of an adder block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct HeadData {
    /// The block number; the genesis head has 0.
    pub number: u64,
    /// [`HeadData::hash`] of the parent head (zero for the genesis head).
    pub parent_hash: [u8; 32],
    /// [`hash_state`] of the state after the block.
    pub post_state: [u8; 32],
}

impl HeadData {
    /// The genesis head of a para starting from `state`.
    pub fn genesis(state: u64) -> Self {
        Self {
            number: 0,
            parent_hash: [0; 32],
            post_state: hash_state(state),
        }
    }

    /// The SCALE encoding: `E8(number) ‖ parent_hash ‖ post_state`.
    pub fn encode(&self) -> [u8; HEAD_DATA_LEN] {
        let mut out = [0; HEAD_DATA_LEN];
        out[..8].copy_from_slice(&self.number.to_le_bytes());
        out[8..40].copy_from_slice(&self.parent_hash);
        out[40..].copy_from_slice(&self.post_state);
        out
    }

    /// Decodes a head from the front of `bytes` (SCALE `decode`: octets
    /// after the 72 are not looked at).
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let bytes: &[u8; HEAD_DATA_LEN] = bytes
            .get(..HEAD_DATA_LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or(Error::BadParentHead)?;
        let (number, rest) = bytes.split_at(8);
        let (parent_hash, post_state) = rest.split_at(32);
        Ok(Self {
            number: u64::from_le_bytes(number.try_into().map_err(|_| Error::BadParentHead)?),
            parent_hash: parent_hash.try_into().map_err(|_| Error::BadParentHead)?,
            post_state: post_state.try_into().map_err(|_| Error::BadParentHead)?,
        })
    }

    /// `keccak256` of the encoding.
    pub fn hash(&self) -> [u8; 32] {
        keccak256(&self.encode())
    }
}

/// The body of an adder block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct BlockData {
    /// The state the block starts from: the parent's post-state.
    pub state: u64,
    /// What it adds (wrapping).
    pub add: u64,
}

impl BlockData {
    /// The SCALE encoding: `E8(state) ‖ E8(add)`.
    pub fn encode(&self) -> [u8; BLOCK_DATA_LEN] {
        let mut out = [0; BLOCK_DATA_LEN];
        out[..8].copy_from_slice(&self.state.to_le_bytes());
        out[8..].copy_from_slice(&self.add.to_le_bytes());
        out
    }

    /// Decodes a block from the front of `bytes` (octets after the 16 are
    /// not looked at, as SCALE `decode` does upstream).
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let word = |range: core::ops::Range<usize>| {
            bytes
                .get(range)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_le_bytes)
                .ok_or(Error::BadBlockData)
        };
        Ok(Self {
            state: word(0..8)?,
            add: word(8..16)?,
        })
    }
}

/// `keccak256(E8(state))`, the head's commitment to a state.
pub fn hash_state(state: u64) -> [u8; 32] {
    keccak256(&state.to_le_bytes())
}

/// Why a block is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The input is not an encoded `ValidationParams`.
    BadParams,
    /// The parent head is not an encoded [`HeadData`] (exactly 72 octets:
    /// upstream asserts that its hash equals the hash of its re-encoding).
    BadParentHead,
    /// The block data is not an encoded [`BlockData`].
    BadBlockData,
    /// The block's starting state does not hash to the parent's post-state.
    StateMismatch,
    /// The parent is at block number `u64::MAX`.
    NumberOverflow,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::BadParams => "the input is not an encoded ValidationParams",
            Self::BadParentHead => "the parent head is not an encoded adder head",
            Self::BadBlockData => "the block data is not an encoded adder block",
            Self::StateMismatch => "the block's state does not match the parent's post-state",
            Self::NumberOverflow => "the parent head is at the last block number",
        })
    }
}

/// Executes `block` on the parent head `parent` whose hash is `parent_hash`:
/// the new head.
pub fn execute(
    parent_hash: [u8; 32],
    parent: &HeadData,
    block: &BlockData,
) -> Result<HeadData, Error> {
    if hash_state(block.state) != parent.post_state {
        return Err(Error::StateMismatch);
    }
    Ok(HeadData {
        number: parent.number.checked_add(1).ok_or(Error::NumberOverflow)?,
        parent_hash,
        post_state: hash_state(block.state.wrapping_add(block.add)),
    })
}

/// The decoded `ValidationParams`, borrowing the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params<'a> {
    /// `parent_head`'s octets.
    pub parent_head: &'a [u8],
    /// `block_data`'s octets.
    pub block_data: &'a [u8],
    /// `relay_parent_number`.
    pub relay_parent_number: u32,
    /// `relay_parent_storage_root`.
    pub relay_parent_storage_root: [u8; 32],
}

impl<'a> Params<'a> {
    /// Decodes the SCALE encoding of `ValidationParams` from the front of
    /// `input`; later octets (such as a `ValidationParamsExtension`) are
    /// not looked at.
    pub fn decode(input: &'a [u8]) -> Result<Self, Error> {
        let mut reader = scale::Reader::new(input);
        let parent_head = reader.bytes().ok_or(Error::BadParams)?;
        let block_data = reader.bytes().ok_or(Error::BadParams)?;
        let relay_parent_number = reader.u32().ok_or(Error::BadParams)?;
        let relay_parent_storage_root = reader.array().ok_or(Error::BadParams)?;
        Ok(Self {
            parent_head,
            block_data,
            relay_parent_number,
            relay_parent_storage_root,
        })
    }
}

/// The adder's `validate_block`: the encoded `ValidationResult` for the
/// encoded `ValidationParams` `params`, or why the block is invalid.
pub fn validate_block(params: &[u8]) -> Result<[u8; RESULT_LEN], Error> {
    let params = Params::decode(params)?;
    if params.parent_head.len() != HEAD_DATA_LEN {
        return Err(Error::BadParentHead);
    }
    let parent = HeadData::decode(params.parent_head)?;
    let block = BlockData::decode(params.block_data)?;
    let head = execute(keccak256(params.parent_head), &parent, &block)?;
    Ok(encode_result(&head, params.relay_parent_number))
}

/// The encoded `ValidationResult { head_data: head, new_validation_code:
/// None, upward_messages: [], horizontal_messages: [],
/// processed_downward_messages: 0, hrmp_watermark }`.
pub fn encode_result(head: &HeadData, hrmp_watermark: u32) -> [u8; RESULT_LEN] {
    let mut out = [0; RESULT_LEN];
    let mut writer = scale::Writer::new(&mut out);
    writer.bytes(&head.encode());
    writer.raw(&[0, 0, 0]);
    writer.raw(&0_u32.to_le_bytes());
    writer.raw(&hrmp_watermark.to_le_bytes());
    debug_assert_eq!(writer.written(), RESULT_LEN);
    out
}

/// One block of [`sample_chain`]: the parent head, the block, and the
/// head the block makes by the adder's rule (number + 1, the parent's
/// hash, the hash of the state plus the addend, wrapping).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleBlock {
    /// The parent head.
    pub parent: HeadData,
    /// The block on it.
    pub block: BlockData,
    /// The head it makes.
    pub head: HeadData,
}

/// Ten blocks from [`HeadData::genesis`]`(0)`, each on the one before,
/// with addends that cover the cases (small, zero, wrapping past
/// `u64::MAX`, large): the chain the PVF tests run on each engine.
pub fn sample_chain() -> impl Iterator<Item = SampleBlock> {
    let adds = [1_u64, 2, 3, 1000, 0, u64::MAX, 17, 42, 1 << 40, 5];
    let mut state = 0_u64;
    let mut parent = HeadData::genesis(state);
    adds.into_iter().map(move |add| {
        let block = BlockData { state, add };
        state = state.wrapping_add(add);
        let head = HeadData {
            number: parent.number + 1,
            parent_hash: parent.hash(),
            post_state: hash_state(state),
        };
        let sample = SampleBlock {
            parent,
            block,
            head,
        };
        parent = head;
        sample
    })
}

#[cfg(test)]
mod tests;
