//! Block traces (`traces/schema.asn` of the conformance vectors): a genesis,
//! then one step per block with the state before and after it. Conformance
//! fuzzers record sessions in the same shape.

use jam_codec::{Decode, Encode};

use super::block::{Block, Header};
use super::state::RawState;

/// `TraceStep`: a block with the serialized state before and after it (the
/// same state after as before when the block is invalid).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct TraceStep {
    /// The state the block imports on.
    pub pre_state: RawState,
    /// The block.
    pub block: Block,
    /// The state after it.
    pub post_state: RawState,
}

/// `Genesis`: the genesis header and state of a trace.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Genesis {
    /// The genesis header.
    pub header: Header,
    /// The genesis state.
    pub state: RawState,
}
