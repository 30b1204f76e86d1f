//! `traces/<family>/*.bin` (tiny): whole-block import. Each step file
//! carries its pre-state, the block and the post-state; a case imports the
//! block on the pre-state (read into parajam's typed state) and checks the
//! posterior's root and every key/value against the post-state. A block
//! the trace marks invalid (its post-state is its pre-state) must be
//! rejected, and then nothing changes.
//!
//! Service code runs on both PVM backends, which must agree on every
//! invocation (unless the recompiler is unavailable here, in which case
//! the interpreter runs alone and a failure says so).

use std::path::Path;

use parajam_primitives::ProtocolParameters;
use parajam_state::State;
use parajam_stf::block::{import, ImportContext};

use parajam_primitives::types::TraceStep;

use super::traces_codec::TRACE_FAMILIES;
use super::{decode_round_trip, files_with_ext, read, stem};
use crate::{Case, Failure, Outcome};

/// Lists one case per trace step (genesis files are states, not steps).
pub fn collect(dir: &Path, cases: &mut Vec<Case>) {
    let params = ProtocolParameters::TINY;
    let _ = super::stf::SRS_PATH.set(dir.join("stf/safrole/zcash-srs-2-11-uncompressed.bin"));
    for family in TRACE_FAMILIES {
        let sub = dir.join("traces").join(family);
        match files_with_ext(&sub, "bin") {
            Ok(files) => {
                for bin in files.into_iter().filter(|f| stem(f) != "genesis") {
                    let name = format!("{family}/{}", stem(&bin));
                    cases.push(Case::new("traces", Some(params.name), name, move || {
                        check_file(&bin, &params)
                    }));
                }
            }
            Err(e) => cases.push(Case::broken("traces", Some(params.name), e)),
        }
    }
}

fn check_file(bin: &Path, params: &ProtocolParameters) -> Outcome {
    let bytes = read(bin)?;
    let step: TraceStep = decode_round_trip(&bytes, params)?;
    check_step(&step, params)
}

/// Imports `step`'s block on its pre-state and checks the result against
/// its post-state (an invalid block, one whose post-state is its
/// pre-state, must be rejected).
pub(crate) fn check_step(step: &TraceStep, params: &ProtocolParameters) -> Outcome {
    let pre = State::from_key_values(&step.pre_state.keyvals, params)
        .map_err(|e| Failure(format!("pre-state: {e}")))?;
    let (executor, note) = super::shared_executor()?;
    let ring = super::stf::ring_context(usize::from(params.validators_count)).map_err(Failure)?;
    let ctx = ImportContext {
        params,
        executor: &executor,
        ring: &ring,
        prior_root: Some(step.pre_state.state_root),
        // Each step stands alone: its ancestors are not known.
        ancestry: None,
    };
    let invalid = step.post_state == step.pre_state;
    match import(&pre, &step.block, &ctx) {
        Err(e) if invalid => {
            // Rejected, as the trace says; the prior state stands untouched.
            let _ = e;
            Ok(())
        }
        Err(e) => Err(Failure(format!("import failed: {e}{note}"))),
        Ok(_) if invalid => Err(Failure(format!(
            "the trace marks this block invalid, but it imported{note}"
        ))),
        Ok(imported) => {
            let root = imported.state.root();
            if root == step.post_state.state_root {
                return Ok(());
            }
            let got = imported.state.to_key_values();
            let mut lines: Vec<String> =
                parajam_state::diff::diff_key_values(&step.post_state.keyvals, &got, params)
                    .iter()
                    .map(ToString::to_string)
                    .collect();
            lines.truncate(40);
            Err(Failure(format!(
                "post-state root {root} differs from {}{note}\n  {}",
                step.post_state.state_root,
                lines.join("\n  ")
            )))
        }
    }
}
