//! Every key/value state of the traces (each genesis, each step's pre- and
//! post-state) reads into a [`State`], serializes back to exactly the same
//! key/value set, and has the trace's state root (GP eq. D.2, D.3).

mod common;

use parajam_primitives::types::{KeyValue, RawState};
use parajam_primitives::ProtocolParameters;
use parajam_state::State;

fn check_state(raw: &RawState) -> Result<(), String> {
    let state = State::from_key_values(&raw.keyvals, &ProtocolParameters::TINY)
        .map_err(|e| format!("from_key_values: {e}"))?;
    let mut expected: Vec<KeyValue> = raw.keyvals.clone();
    expected.sort_by_key(|kv| kv.key);
    let got = state.to_key_values();
    if got != expected {
        let first = got
            .iter()
            .zip(&expected)
            .position(|(g, e)| g != e)
            .unwrap_or(got.len().min(expected.len()));
        return Err(format!(
            "to_key_values differs ({} vs {} pairs; first difference at #{first})",
            got.len(),
            expected.len()
        ));
    }
    if state.root() != raw.state_root {
        return Err(format!(
            "root {} != trace root {}",
            state.root(),
            raw.state_root
        ));
    }
    Ok(())
}

fn check_family(family: &str) {
    let dir = common::vectors_dir().unwrap_or_else(|e| panic!("{e}"));
    let files = common::trace_files(&dir, family).unwrap_or_else(|e| panic!("{e}"));
    let (mut states, mut failures) = (0usize, Vec::new());
    for file in &files {
        let raws = common::states_of(file).unwrap_or_else(|e| panic!("{e}"));
        for (which, raw) in raws {
            states += 1;
            if let Err(e) = check_state(&raw) {
                failures.push(format!("{}:{which}: {e}", file.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {states} states of {family} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // A genesis and 100 steps of two states each.
    assert!(states > 100, "{family}: only {states} states");
}

#[test]
fn fallback() {
    check_family("fallback");
}

#[test]
fn safrole() {
    check_family("safrole");
}

#[test]
fn storage() {
    check_family("storage");
}

#[test]
fn storage_light() {
    check_family("storage_light");
}

#[test]
fn preimages() {
    check_family("preimages");
}

#[test]
fn preimages_light() {
    check_family("preimages_light");
}
