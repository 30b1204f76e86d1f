//! Block traces (`traces/schema.asn` of the conformance vectors): a genesis,
//! then one step per block with the state before and after it. Conformance
//! fuzzers record sessions in the same shape.

use jam_codec::{Decode, Encode};

use crate::codec::{decode, decode_prefix, DecodeError};
use crate::params::ProtocolParameters;

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

/// A trace step whose block does not decode: the fuzz traces carry such
/// blocks, with the post-state equal to the pre-state (the block is
/// rejected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndecodableStep {
    /// The state the block was offered on.
    pub pre_state: RawState,
    /// The block's octets.
    pub block: Vec<u8>,
    /// Why they are not a block.
    pub error: DecodeError,
    /// The state after it.
    pub post_state: RawState,
}

/// Reads a step file: the [`TraceStep`], or, when only its block does not
/// decode, an [`UndecodableStep`]. The post-state of such a step is found
/// as the encoding of the pre-state ending the file (the only post-state
/// a step with an undecodable block can have); a file that is not of
/// either form is an error (the strict decoder's).
pub fn decode_trace_step(
    bytes: &[u8],
    params: &ProtocolParameters,
) -> Result<Result<TraceStep, UndecodableStep>, DecodeError> {
    let strict = match decode::<TraceStep>(bytes, params) {
        Ok(step) => return Ok(Ok(step)),
        Err(e) => e,
    };
    let mut rest = bytes;
    let Ok(pre_state) = decode_prefix::<RawState>(&mut rest, params) else {
        return Err(strict);
    };
    let pre_octets = pre_state.encode();
    let Some(block) = rest.strip_suffix(pre_octets.as_slice()) else {
        return Err(strict);
    };
    let Err(error) = decode::<Block>(block, params) else {
        return Err(strict);
    };
    Ok(Err(UndecodableStep {
        block: block.to_vec(),
        error,
        post_state: pre_state.clone(),
        pre_state,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{KeyValue, StateRoot};

    const P: ProtocolParameters = ProtocolParameters::TINY;

    fn state(byte: u8) -> RawState {
        RawState {
            state_root: StateRoot::from([byte; 32]),
            keyvals: vec![KeyValue {
                key: [byte; 31].into(),
                value: vec![byte; 3].into(),
            }],
        }
    }

    #[test]
    fn a_step_whose_block_does_not_decode_keeps_its_pre_state() {
        let pre = state(1);
        let garbage = [0xff_u8; 10];
        let bytes = [pre.encode(), garbage.to_vec(), pre.encode()].concat();
        let step = decode_trace_step(&bytes, &P)
            .expect("a step")
            .expect_err("the block does not decode");
        assert_eq!(
            (step.pre_state, step.block, step.post_state),
            (pre.clone(), garbage.to_vec(), pre.clone())
        );
        // Any other post-state: the file is not a step.
        let bytes = [pre.encode(), garbage.to_vec(), state(2).encode()].concat();
        assert!(decode_trace_step(&bytes, &P).is_err());
        // A decodable step comes back whole.
        let whole = TraceStep {
            pre_state: pre.clone(),
            block: Block::default(),
            post_state: state(2),
        };
        assert_eq!(decode_trace_step(&whole.encode(), &P), Ok(Ok(whole)));
    }
}
