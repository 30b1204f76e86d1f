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

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use parajam_primitives::types::{KeyValue, StateKey};
use parajam_primitives::ProtocolParameters;
use parajam_pvm::{Backend, Pvm, PvmFlavor};
use parajam_state::State;
use parajam_stf::accumulate::Executor;
use parajam_stf::block::{import, ImportContext};

use parajam_primitives::types::TraceStep;

use super::traces_codec::TRACE_FAMILIES;
use super::{decode_round_trip, files_with_ext, read, stem};
use crate::{Case, Failure, Outcome};

fn shared_pvm() -> Result<&'static Pvm, Failure> {
    static PVM: OnceLock<Result<Pvm, String>> = OnceLock::new();
    PVM.get_or_init(|| Pvm::new(PvmFlavor::Gp072).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Failure(format!("cannot start the PVM: {e}")))
}

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
    let pre = State::from_key_values(&step.pre_state.keyvals, params)
        .map_err(|e| Failure(format!("pre-state: {e}")))?;
    let pvm = shared_pvm()?;
    let unavailable = pvm.backend_unavailable(Backend::Compiler);
    let executor = Executor {
        pvm,
        backend: Backend::Interpreter,
        crosscheck: unavailable.is_none(),
    };
    let ring = super::stf::ring_context(usize::from(params.validators_count)).map_err(Failure)?;
    let ctx = ImportContext {
        params,
        executor: &executor,
        ring: &ring,
        prior_root: Some(step.pre_state.state_root),
        // Each step stands alone: its ancestors are not known.
        ancestry: None,
    };
    let note = unavailable
        .map(|why| format!(" (interpreter only: {why})"))
        .unwrap_or_default();
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
            Err(Failure(format!(
                "post-state root {root} differs from {}{note}\n  {}",
                step.post_state.state_root,
                diff_key_values(&got, &step.post_state.keyvals).join("\n  ")
            )))
        }
    }
}

/// The differing keys of two key/value states, with a name for each.
fn diff_key_values(got: &[KeyValue], want: &[KeyValue]) -> Vec<String> {
    let g: BTreeMap<&StateKey, &[u8]> = got
        .iter()
        .map(|kv| (&kv.key, kv.value.as_slice()))
        .collect();
    let w: BTreeMap<&StateKey, &[u8]> = want
        .iter()
        .map(|kv| (&kv.key, kv.value.as_slice()))
        .collect();
    let mut lines = Vec::new();
    for (k, wv) in &w {
        match g.get(k) {
            None => lines.push(format!("{}: missing", name(k))),
            Some(gv) if gv != wv => {
                if let Some(d) = typed_diff(k, gv, wv) {
                    lines.extend(d);
                } else {
                    lines.push(format!("{}: got {} want {}", name(k), clip(gv), clip(wv)));
                }
            }
            Some(_) => {}
        }
    }
    for (k, gv) in &g {
        if !w.contains_key(k) {
            lines.push(format!("{}: unexpected {}", name(k), clip(gv)));
        }
    }
    lines.truncate(20);
    lines
}

fn name(key: &StateKey) -> String {
    use parajam_primitives::types::{service_of_info_key, StateComponent};
    if let Some(c) = StateComponent::from_key(key) {
        format!("{c:?}")
    } else if let Some(s) = service_of_info_key(key) {
        format!("service {s} info")
    } else {
        let (s, _) = parajam_primitives::types::split_account_entry_state_key(key);
        format!("service {s} entry {key}")
    }
}

fn clip(v: &[u8]) -> String {
    let hex = hex::encode(&v[..v.len().min(160)]);
    if v.len() > 160 {
        format!("0x{hex}… ({} octets)", v.len())
    } else {
        format!("0x{hex}")
    }
}

/// Field-level differences of the statistics component, whose encoding is
/// too long to compare by eye.
fn typed_diff(key: &StateKey, got: &[u8], want: &[u8]) -> Option<Vec<String>> {
    use parajam_primitives::types::{StateComponent, Statistics};
    if StateComponent::from_key(key) != Some(StateComponent::Statistics) {
        return None;
    }
    let p = ProtocolParameters::TINY;
    let g: Statistics = parajam_primitives::decode(got, &p).ok()?;
    let w: Statistics = parajam_primitives::decode(want, &p).ok()?;
    let mut lines = Vec::new();
    let mut cmp = |what: String, a: String, b: String| {
        if a != b {
            lines.push(format!("statistics.{what}: got {a} want {b}"));
        }
    };
    for (i, (a, b)) in g.vals_curr.iter().zip(w.vals_curr.iter()).enumerate() {
        cmp(
            format!("vals_curr[{i}]"),
            format!("{a:?}"),
            format!("{b:?}"),
        );
    }
    for (i, (a, b)) in g.vals_last.iter().zip(w.vals_last.iter()).enumerate() {
        cmp(
            format!("vals_last[{i}]"),
            format!("{a:?}"),
            format!("{b:?}"),
        );
    }
    for (i, (a, b)) in g.cores.iter().zip(w.cores.iter()).enumerate() {
        cmp(format!("cores[{i}]"), format!("{a:?}"), format!("{b:?}"));
    }
    cmp(
        "services".into(),
        format!("{:?}", g.services),
        format!("{:?}", w.services),
    );
    Some(lines)
}
