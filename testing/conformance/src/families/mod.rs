//! One module per vector family.

pub mod accumulate;
pub mod codec;
pub mod erasure;
pub mod fuzz_traces;
pub mod pvm;
pub mod shuffle;
pub mod stf;
pub mod traces;
pub mod traces_codec;
pub mod trie;

use std::fmt::Debug;
use std::path::{Path, PathBuf};

use parajam_primitives::codec::{Decode, Encode};
use parajam_primitives::ProtocolParameters;

use crate::Failure;

/// The one PVM engine of the families that run programs (accumulate
/// vectors, traces), started on first use.
pub(crate) fn shared_pvm() -> Result<&'static parajam_pvm::Pvm, Failure> {
    use parajam_pvm::{Pvm, PvmFlavor};
    static PVM: std::sync::OnceLock<Result<Pvm, String>> = std::sync::OnceLock::new();
    PVM.get_or_init(|| Pvm::new(PvmFlavor::Gp072).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Failure(format!("cannot start the PVM: {e}")))
}

/// An executor on [`shared_pvm`]: the interpreter, crosschecked with the
/// recompiler where this machine runs it; and the note a case's result
/// carries when it cannot be (` (interpreter only: why)`, else empty).
pub(crate) fn shared_executor(
) -> Result<(parajam_stf::accumulate::Executor<'static>, String), Failure> {
    let pvm = shared_pvm()?;
    let unavailable = pvm.backend_unavailable(parajam_pvm::Backend::Compiler);
    let executor = parajam_stf::accumulate::Executor {
        pvm,
        backend: parajam_pvm::Backend::Interpreter,
        crosscheck: unavailable.is_none(),
    };
    let note = unavailable
        .map(|why| format!(" (interpreter only: {why})"))
        .unwrap_or_default();
    Ok((executor, note))
}

/// The parameter sets whose vectors are shipped in `tiny/` and `full/` folders.
pub const PARAM_SETS: [ProtocolParameters; 2] =
    [ProtocolParameters::TINY, ProtocolParameters::FULL];

/// Files in `dir` ending in `.ext`, sorted by name.
pub(crate) fn files_with_ext(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("vector directory {} unreadable: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no .{ext} vectors in {}", dir.display()));
    }
    Ok(files)
}

pub(crate) fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))
}

pub(crate) fn read_json(path: &Path) -> Result<serde_json::Value, Failure> {
    let bytes = read(path)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Failure(format!("{} is not JSON: {e}", path.display())))
}

/// Decodes `bytes` as a `T`, re-encodes it and checks the round trip is exact.
pub(crate) fn decode_round_trip<T: Decode + Encode>(
    bytes: &[u8],
    params: &ProtocolParameters,
) -> Result<T, Failure> {
    let value: T = parajam_primitives::decode(bytes, params).map_err(|e| Failure(e.to_string()))?;
    let again = value.encode();
    if again != bytes {
        return Err(Failure(format!(
            "re-encoding differs: {} bytes vs {} in the vector, first difference at offset {}",
            again.len(),
            bytes.len(),
            first_difference(&again, bytes)
        )));
    }
    Ok(value)
}

pub(crate) fn first_difference(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()))
}

/// Compares two values, showing both on mismatch (truncated for readability).
pub(crate) fn expect_eq<T: PartialEq + Debug>(
    what: &str,
    got: &T,
    want: &T,
) -> Result<(), Failure> {
    if got == want {
        return Ok(());
    }
    let clip = |s: String| {
        if s.len() > 2000 {
            format!("{}…", &s[..2000])
        } else {
            s
        }
    };
    Err(Failure(format!(
        "{what} differs\n  got:  {}\n  want: {}",
        clip(format!("{got:?}")),
        clip(format!("{want:?}"))
    )))
}

/// The first place where two JSON values differ, as a path with both sides.
pub(crate) fn json_difference(
    got: &serde_json::Value,
    want: &serde_json::Value,
    path: &str,
) -> Option<String> {
    use serde_json::Value;
    match (got, want) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, wv) in b {
                match a.get(k) {
                    Some(gv) => {
                        if let Some(d) = json_difference(gv, wv, &format!("{path}.{k}")) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{path}.{k}: missing (want {wv})")),
                }
            }
            a.keys()
                .find(|k| !b.contains_key(*k))
                .map(|k| format!("{path}.{k}: unexpected field"))
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return Some(format!("{path}: {} items, want {}", a.len(), b.len()));
            }
            a.iter()
                .zip(b)
                .enumerate()
                .find_map(|(i, (g, w))| json_difference(g, w, &format!("{path}[{i}]")))
        }
        _ if got == want => None,
        _ => Some(format!("{path}: got {got}, want {want}")),
    }
}
