//! What the trace-driven tests of this crate share: where the conformance
//! vectors are, and the ring context for their validator count.

#![allow(clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use parajam_bandersnatch::RingContext;
use parajam_primitives::ProtocolParameters;

/// The traces' parameters.
pub const PARAMS: ProtocolParameters = ProtocolParameters::TINY;

/// The vectors directory: `PARAJAM_VECTORS_DIR`, else the shared unpack
/// script beside the repository. Missing vectors fail the test.
pub fn vectors_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("PARAJAM_VECTORS_DIR").map(PathBuf::from) {
            if dir.join("traces").is_dir() {
                return dir;
            }
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/unpack");
        let out = Command::new("bash")
            .arg(&script)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        assert!(
            dir.join("traces").is_dir(),
            "conformance vectors not found (set PARAJAM_VECTORS_DIR)"
        );
        dir
    })
}

pub fn ring() -> &'static RingContext {
    static RING: OnceLock<RingContext> = OnceLock::new();
    RING.get_or_init(|| {
        let srs = std::fs::read(vectors_dir().join("stf/safrole/zcash-srs-2-11-uncompressed.bin"))
            .unwrap();
        RingContext::from_srs(&srs, usize::from(PARAMS.validators_count)).unwrap()
    })
}
