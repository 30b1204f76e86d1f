//! Finding the unpacked JAM conformance vectors, for the conformance runner,
//! the tests and the benches: one locator for all of them.
//!
//! Order: `PARAJAM_VECTORS_DIR` if it is set and holds vectors; otherwise the
//! shared unpack script (`../shared/vectors/unpack` beside the repository),
//! which unpacks them once and prints the directory. Fetched data is never
//! in the repository: everything is read from there.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The trace families shipped under `traces/` (tiny parameters only).
pub const TRACE_FAMILIES: [&str; 6] = [
    "fallback",
    "safrole",
    "storage",
    "storage_light",
    "preimages",
    "preimages_light",
];

/// The vectors could not be found or unpacked.
#[derive(Debug, thiserror::Error)]
#[error(
    "JAM conformance vectors not found: {reason}. Run `DIR=$(../shared/vectors/unpack)` from \
     the repository root (with ../shared beside it), or set PARAJAM_VECTORS_DIR to an unpacked copy"
)]
pub struct MissingVectors {
    /// What was tried.
    pub reason: String,
}

fn looks_unpacked(dir: &Path) -> bool {
    ["codec", "stf", "traces"]
        .iter()
        .all(|d| dir.join(d).is_dir())
}

/// The repository root this crate was built from.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Candidate unpack scripts: beside the repository this was built from, then
/// beside the current directory.
fn unpack_scripts() -> Vec<PathBuf> {
    let mut out = vec![repo_root().join("../shared/vectors/unpack")];
    if let Ok(cwd) = std::env::current_dir() {
        for anc in cwd.ancestors().take(4) {
            out.push(anc.join("../shared/vectors/unpack"));
        }
    }
    out
}

/// Locates (unpacking if needed) the vectors directory.
pub fn locate() -> Result<PathBuf, MissingVectors> {
    if let Some(dir) = std::env::var_os("PARAJAM_VECTORS_DIR").map(PathBuf::from) {
        if looks_unpacked(&dir) {
            return Ok(dir);
        }
    }
    let mut tried = Vec::new();
    for script in unpack_scripts() {
        if !script.is_file() {
            tried.push(format!("{} (absent)", script.display()));
            continue;
        }
        let out = Command::new("bash")
            .arg(&script)
            .output()
            .map_err(|e| MissingVectors {
                reason: format!("could not run {}: {e}", script.display()),
            })?;
        if !out.status.success() {
            return Err(MissingVectors {
                reason: format!(
                    "{} failed: {}",
                    script.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if looks_unpacked(&dir) {
            return Ok(dir);
        }
        tried.push(format!(
            "{} printed {}, which holds no vectors",
            script.display(),
            dir.display()
        ));
    }
    Err(MissingVectors {
        reason: format!("tried {}", tried.join("; ")),
    })
}

/// The vectors directory, located once per process: for tests and benches.
///
/// # Panics
/// If the vectors cannot be found, with [`MissingVectors`]' message.
pub fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| locate().unwrap_or_else(|e| panic!("{e}")))
}
