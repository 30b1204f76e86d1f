//! Puts the ring-proof SRS into the binary: the Zcash BLS12-381 powers of
//! tau (`2^11`, uncompressed), as ark-vrf 0.1.1's crates.io package ships
//! it (`data/srs/bls12-381-srs-2-11-uncompressed-zcash.bin`) and the JAM
//! conformance vectors use it. The file is found through `cargo metadata`
//! (ark-vrf's manifest path, wherever cargo keeps its sources, vendored or
//! not), checked against its Blake2b-256 hash, and copied to `OUT_DIR` for
//! `include_bytes!`. Nothing is downloaded beyond the crate itself.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

use blake2::digest::{Update, VariableOutput};

const FILE: &str = "data/srs/bls12-381-srs-2-11-uncompressed-zcash.bin";
/// Blake2b-256 of the SRS file (the same octets as the vectors'
/// `stf/safrole/zcash-srs-2-11-uncompressed.bin`).
const HASH: &str = "454b747c4f9315de1c7e056792358597bdc6f4dcca853801792ee39912ded777";

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let crate_dir =
        ark_vrf_dir().unwrap_or_else(|e| panic!("cannot find ark-vrf 0.1.1's sources: {e}"));
    let path = crate_dir.join(FILE);
    let srs = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut hasher = blake2::Blake2bVar::new(32).expect("32 is a valid output size");
    hasher.update(&srs);
    let mut hash = [0u8; 32];
    hasher.finalize_variable(&mut hash).expect("32 octets");
    let hash = hash.iter().fold(String::new(), |mut text, b| {
        use std::fmt::Write;
        let _ = write!(text, "{b:02x}");
        text
    });
    assert_eq!(
        hash,
        HASH,
        "{} is not the Zcash SRS parajam expects",
        path.display()
    );
    std::fs::write(out.join("zcash-srs-2-11-uncompressed.bin"), srs).expect("writing OUT_DIR");
    println!("cargo:rerun-if-changed=build.rs");
}

/// ark-vrf 0.1.1's package directory, from `cargo metadata` offline for
/// the target being built: without `--filter-platform`, cargo wants every
/// platform's packages (Android's, Windows') and fails offline on a fresh
/// machine that fetched only this one's.
fn ark_vrf_dir() -> Result<PathBuf, String> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target = env::var("TARGET").map_err(|_| "no TARGET")?;
    let manifest = Path::new(&env::var_os("CARGO_MANIFEST_DIR").ok_or("no CARGO_MANIFEST_DIR")?)
        .join("Cargo.toml");
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
            &target,
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata: {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "ark-vrf" && p["version"] == "0.1.1")
        .and_then(|p| p["manifest_path"].as_str())
        .and_then(|m| Path::new(m).parent())
        .map(Path::to_path_buf)
        .ok_or_else(|| "no ark-vrf 0.1.1 package in the workspace's dependencies".into())
}
