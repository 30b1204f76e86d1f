//! `traces/<family>/*.bin` (tiny), as codec vectors: every trace step and
//! genesis decodes and re-encodes exactly (header, all extrinsics, raw state),
//! every state component in its key/value state decodes as its typed GP
//! component and re-encodes to the same octets, and the Merkle root of each
//! key/value state equals the root the trace states.
//!
//! Importing the blocks (the trace family proper) is a separate check.

use std::path::Path;

use parajam_primitives::codec::{Decode, Encode};
use parajam_primitives::types::{
    service_of_info_key, AccumulatedQueue, AccumulationOutputs, AuthPools, AuthQueues,
    AvailabilityAssignments, DisputesRecords, EntropyBuffer, Privileges, RawState, ReadyQueue,
    RecentBlocks, SafroleState, ServiceInfo, StateComponent, Statistics, TimeSlot, ValidatorsData,
};
use parajam_primitives::types::{Genesis, TraceStep};
use parajam_primitives::ProtocolParameters;

use super::{decode_round_trip, expect_eq, files_with_ext, read, stem};
use crate::{Case, Failure, Outcome};

pub use parajam_vectors::TRACE_FAMILIES;

/// Lists one case per trace file.
pub fn collect(dir: &Path, cases: &mut Vec<Case>) {
    let params = ProtocolParameters::TINY;
    for family in TRACE_FAMILIES {
        let sub = dir.join("traces").join(family);
        match files_with_ext(&sub, "bin") {
            Ok(files) => {
                for bin in files {
                    let name = format!("{family}/{}", stem(&bin));
                    cases.push(Case::new(
                        "traces-codec",
                        Some(params.name),
                        name,
                        move || check_file(&bin, &params),
                    ));
                }
            }
            Err(e) => cases.push(Case::broken("traces-codec", Some(params.name), e)),
        }
    }
}

fn check_file(bin: &Path, params: &ProtocolParameters) -> Outcome {
    let bytes = read(bin)?;
    if stem(bin) == "genesis" {
        let genesis: Genesis = decode_round_trip(&bytes, params)?;
        check_state("genesis state", &genesis.state, params)
    } else {
        let step: TraceStep = decode_round_trip(&bytes, params)?;
        check_state("pre-state", &step.pre_state, params)?;
        check_state("post-state", &step.post_state, params)
    }
}

fn component<T: Decode + Encode>(value: &[u8], params: &ProtocolParameters) -> Outcome {
    decode_round_trip::<T>(value, params).map(drop)
}

fn check_state(which: &str, state: &RawState, params: &ProtocolParameters) -> Outcome {
    let root = parajam_merkle::state_root(
        state
            .keyvals
            .iter()
            .map(|kv| (&kv.key.0, kv.value.as_slice())),
    );
    expect_eq(&format!("{which} Merkle root"), &root, &state.state_root.0)?;

    let mut seen = Vec::new();
    for kv in &state.keyvals {
        let value = kv.value.as_slice();
        let outcome = if let Some(c) = StateComponent::from_key(&kv.key) {
            seen.push(c);
            match c {
                StateComponent::AuthPools => component::<AuthPools>(value, params),
                StateComponent::AuthQueues => component::<AuthQueues>(value, params),
                StateComponent::RecentBlocks => component::<RecentBlocks>(value, params),
                StateComponent::Safrole => component::<SafroleState>(value, params),
                StateComponent::Disputes => component::<DisputesRecords>(value, params),
                StateComponent::Entropy => component::<EntropyBuffer>(value, params),
                StateComponent::StagingValidators
                | StateComponent::ActiveValidators
                | StateComponent::PreviousValidators => component::<ValidatorsData>(value, params),
                StateComponent::AvailabilityAssignments => {
                    component::<AvailabilityAssignments>(value, params)
                }
                StateComponent::Timeslot => component::<TimeSlot>(value, params),
                StateComponent::Privileges => component::<Privileges>(value, params),
                StateComponent::Statistics => component::<Statistics>(value, params),
                StateComponent::ReadyQueue => component::<ReadyQueue>(value, params),
                StateComponent::Accumulated => component::<AccumulatedQueue>(value, params),
                StateComponent::AccumulationOutputs => {
                    component::<AccumulationOutputs>(value, params)
                }
            }
        } else if service_of_info_key(&kv.key).is_some() {
            component::<ServiceInfo>(value, params)
        } else {
            Ok(()) // storage, preimage and request entries are opaque blobs
        };
        outcome.map_err(|e| Failure(format!("{which}, key {}: {e}", kv.key)))?;
    }
    for c in StateComponent::ALL {
        let n = seen.iter().filter(|s| **s == c).count();
        if n != 1 {
            return Err(Failure(format!(
                "{which}: component {c:?} present {n} times"
            )));
        }
    }
    Ok(())
}
