//! Refine: validate one parachain block candidate (GP 0.7.2 `Ψ_R` of the
//! CoreChains service).
//!
//! In order, each failure an [`InvalidReason`] in a
//! [`RefineOutput::Invalid`], never a panic:
//!
//! 1. the payload decodes as a [`WorkItemPayload`] (all of it); a
//!    registration, a PVM build or a governance downward message passes
//!    through to accumulate, which checks who sent it;
//! 2. the item's first extrinsic is the block data, hashing to the
//!    candidate's `block_data_hash`;
//! 3. the candidate's anchor is the work context's anchor (its relay
//!    parent and relay-parent storage root go to the PVF as they are, and
//!    into the output: accumulate checks them against the service's
//!    emulated relay-chain state, [`crate::relay_state`], which refine
//!    cannot read);
//! 4. the PVF artifact is the service's preimage of the candidate's code
//!    hash at the lookup anchor (`historical_lookup`), and decodes;
//! 5. the PVF runs on the encoded `ValidationParams`
//!    ([`crate::executor`]) with the gas refine has left, less a reserve
//!    for what follows;
//! 6. what it returned decodes as a `ValidationResult`;
//! 7. the [`CandidateOutput`] fits the work-output limit.

use parajam_corechains_types::{
    BlockData, CandidateOutput, InvalidReason, ParaId, RefineOutput, ValidationResult,
    WorkItemPayload,
};
use parity_scale_codec::{Decode, DecodeAll, Encode};

use crate::executor;
use crate::host::{LogLevel, RefineHost};
use crate::{blake2_256, LOG_TARGET};

/// `W_R`: the largest work-report output blob (GP 0.7.2, 48 KiB), less room
/// for the authorizer trace that shares it.
pub const MAX_OUTPUT: u32 = 48 * 1024 - 1024;

/// The gas refine keeps for itself after the PVF's run.
pub const GAS_RESERVE: u64 = 1_000_000;

/// Refines one work item with payload `payload`.
pub fn refine<H: RefineHost>(host: &mut H, payload: &[u8]) -> RefineOutput {
    let Ok(payload) = WorkItemPayload::decode_all(&mut &payload[..]) else {
        return invalid(host, ParaId(0), InvalidReason::BadPayload);
    };
    let candidate = match payload {
        WorkItemPayload::Register(registration) => return RefineOutput::Register(registration),
        WorkItemPayload::RegisterBuild(build) => return RefineOutput::RegisterBuild(build),
        WorkItemPayload::Downward(message) => return RefineOutput::Downward(message),
        WorkItemPayload::Route(route) => return RefineOutput::Route(route),
        WorkItemPayload::Candidate(candidate) => candidate,
    };
    let para = candidate.para_id;
    match validate(host, &candidate) {
        Ok(output) => {
            host.log(
                LogLevel::Info,
                LOG_TARGET,
                alloc::format!(
                    "para {} block valid: head {} octets, {} upward, {} horizontal messages",
                    para.0,
                    output.head_data.0.len(),
                    output.upward_messages.len(),
                    output.horizontal_messages.len()
                )
                .as_bytes(),
            );
            RefineOutput::Valid(output)
        }
        Err(reason) => invalid(host, para, reason),
    }
}

fn validate<H: RefineHost>(
    host: &mut H,
    candidate: &parajam_corechains_types::ParachainCandidate,
) -> Result<CandidateOutput, InvalidReason> {
    let block_data = host
        .extrinsic(0)
        .filter(|data| blake2_256(data) == candidate.block_data_hash)
        .ok_or(InvalidReason::BlockDataMismatch)?;
    let (anchor, _) = host.context();
    if candidate.anchor != anchor {
        return Err(InvalidReason::ContextMismatch);
    }
    let code = host
        .historical_lookup(&candidate.validation_code_hash.0)
        .ok_or(InvalidReason::CodeUnavailable)?;
    let artifact = parajam_corechains_types::pvf::PvfArtifact::from_bytes(&code)
        .map_err(|_| InvalidReason::BadCode)?;
    drop(code);
    let params = candidate.validation_params(BlockData(block_data)).encode();
    let gas = host.gas().saturating_sub(GAS_RESERVE);
    let run = executor::validate_block(host, &artifact, &params, gas, executor::MAX_RESULT)?;
    // As the relay chain does: decode a prefix, ignore what follows.
    let result =
        ValidationResult::decode(&mut &run.result[..]).map_err(|_| InvalidReason::BadResult)?;
    let output = CandidateOutput::new(candidate, result, blake2_256, &run.result)
        .ok_or(InvalidReason::BadResult)?;
    if output.encoded_size() > MAX_OUTPUT as usize {
        return Err(InvalidReason::OutputTooLarge);
    }
    Ok(output)
}

fn invalid<H: RefineHost>(host: &mut H, para_id: ParaId, reason: InvalidReason) -> RefineOutput {
    host.log(
        LogLevel::Warn,
        LOG_TARGET,
        alloc::format!("para {} block invalid: {reason:?}", para_id.0).as_bytes(),
    );
    RefineOutput::Invalid { para_id, reason }
}
