//! Shared by the tests and the bench: finding the conformance vectors and
//! reading the key/value states of the traces.
//!
//! Vectors: located by `parajam-vectors`; missing vectors are an error.

#![allow(dead_code)] // each test binary uses a part

use std::path::{Path, PathBuf};

use parajam_primitives::codec::decode_prefix;
use parajam_primitives::types::{Block, Header, RawState};
use parajam_primitives::ProtocolParameters;

pub use parajam_vectors::TRACE_FAMILIES;

/// The unpacked vectors directory, unpacking if needed (`parajam-vectors`).
pub fn vectors_dir() -> Result<PathBuf, String> {
    parajam_vectors::locate().map_err(|e| e.to_string())
}

/// `traces/<family>/*.bin`, sorted; genesis included.
pub fn trace_files(dir: &Path, family: &str) -> Result<Vec<PathBuf>, String> {
    let sub = dir.join("traces").join(family);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&sub)
        .map_err(|e| format!("{}: {e}", sub.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("{}: no .bin files", sub.display()));
    }
    Ok(files)
}

/// The raw states of one trace file, each with a label: `genesis` for a
/// `Genesis {header, state}`, `pre_state`/`post_state` for a
/// `TraceStep {pre_state, block, post_state}` (`traces/schema.asn`).
pub fn states_of(path: &Path) -> Result<Vec<(&'static str, RawState)>, String> {
    let params = ProtocolParameters::TINY;
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let input = &mut bytes.as_slice();
    let err = |e: parajam_primitives::DecodeError| format!("{}: {e}", path.display());
    let states = if path.file_stem().is_some_and(|s| s == "genesis") {
        let _header: Header = decode_prefix(input, &params).map_err(err)?;
        vec![("genesis", decode_prefix(input, &params).map_err(err)?)]
    } else {
        let pre: RawState = decode_prefix(input, &params).map_err(err)?;
        let _block: Block = decode_prefix(input, &params).map_err(err)?;
        let post: RawState = decode_prefix(input, &params).map_err(err)?;
        vec![("pre_state", pre), ("post_state", post)]
    };
    if !input.is_empty() {
        return Err(format!(
            "{}: {} trailing bytes",
            path.display(),
            input.len()
        ));
    }
    Ok(states)
}

/// Every raw state of every trace file, labelled `family/file:which`.
pub fn all_states(dir: &Path) -> Result<Vec<(String, RawState)>, String> {
    let mut out = Vec::new();
    for family in TRACE_FAMILIES {
        for file in trace_files(dir, family)? {
            let stem = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            for (which, state) in states_of(&file)? {
                out.push((format!("{family}/{stem}:{which}"), state));
            }
        }
    }
    Ok(out)
}
