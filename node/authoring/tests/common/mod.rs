//! What the tests share: the conformance vectors (for the ring-proof SRS
//! and the traces' genesis), one ring context per ring size, one PVM.

#![allow(clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use parajam_bandersnatch::RingContext;

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

/// The ring-proof SRS the vectors ship.
pub fn srs() -> &'static [u8] {
    static SRS: OnceLock<Vec<u8>> = OnceLock::new();
    SRS.get_or_init(|| {
        std::fs::read(vectors_dir().join("stf/safrole/zcash-srs-2-11-uncompressed.bin")).unwrap()
    })
}

/// A ring context for rings of `size` keys.
pub fn ring(size: usize) -> RingContext {
    RingContext::from_srs(srs(), size).unwrap()
}
