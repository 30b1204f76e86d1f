//! `jam-conformance/traces/<id>/` (tiny): the fuzz traces of
//! davxy/jam-conformance (`fuzz-reports/0.7.2/traces`), one case per
//! directory. Each directory is a short run starting mid-chain, with
//! invalid blocks (post-state = pre-state), forks and mutants; every step
//! is imported on its own pre-state and checked as the `traces` family
//! checks its steps. A step whose block does not even decode must keep its
//! pre-state.
//!
//! These are not among [`crate::collect`]'s families (the `parajam vectors`
//! table counts the released vectors only); [`collect`] lists them for the
//! `fuzz_traces` test target.

use std::path::Path;

use parajam_primitives::types::decode_trace_step;
use parajam_primitives::ProtocolParameters;

use super::traces::check_step;
use super::{files_with_ext, read, stem};
use crate::{Case, Failure, Outcome};

/// One case per trace directory under `dir/jam-conformance/traces`.
pub fn collect(dir: &Path) -> Vec<Case> {
    let params = ProtocolParameters::TINY;
    let _ = super::stf::SRS_PATH.set(dir.join("stf/safrole/zcash-srs-2-11-uncompressed.bin"));
    let root = dir.join("jam-conformance/traces");
    let mut dirs: Vec<_> = match std::fs::read_dir(&root) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect(),
        Err(e) => {
            return vec![Case::broken(
                "fuzz-traces",
                Some(params.name),
                format!("{}: {e}", root.display()),
            )]
        }
    };
    dirs.sort();
    dirs.into_iter()
        .map(|d| {
            let name = stem(&d);
            Case::new("fuzz-traces", Some(params.name), name, move || {
                check_dir(&d, &params)
            })
        })
        .collect()
}

fn check_dir(dir: &Path, params: &ProtocolParameters) -> Outcome {
    let files = files_with_ext(dir, "bin").map_err(Failure)?;
    for bin in files.iter().filter(|f| stem(f) != "genesis") {
        let bytes = read(bin)?;
        let outcome = match decode_trace_step(&bytes, params) {
            Ok(Ok(step)) => check_step(&step, params),
            // Undecodable block, and the trace keeps the pre-state.
            Ok(Err(_)) => Ok(()),
            Err(e) => Err(Failure(format!("does not decode: {e}"))),
        };
        outcome.map_err(|f| Failure(format!("step {}: {f}", stem(bin))))?;
    }
    Ok(())
}
