//! `parajam import <trace-dir>` end to end: the real binary on trace
//! directories shaped as conformance fuzzers leave them.

use std::path::Path;
use std::process::Command;

use jam_codec::Encode;
use parajam_e2e::{parajam_binary, trace, vectors};

fn import(dir: &Path) -> (bool, String) {
    let out = Command::new(parajam_binary())
        .args(["import", "--params", "tiny"])
        .arg(dir)
        .output()
        .expect("running parajam import");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_directory_without_genesis_with_a_late_start_and_gaps_imports() {
    let src = vectors().join("traces/storage");
    let dir = tempfile::tempdir().expect("temp dir");
    let steps: Vec<u32> = (30..=40).chain(50..=55).collect();
    for n in &steps {
        let name = format!("{n:08}.bin");
        std::fs::copy(src.join(&name), dir.path().join(&name)).expect("copy step");
    }
    let (ok, stdout) = import(dir.path());
    assert!(ok, "import failed:\n{stdout}");
    assert!(
        stdout.contains(&format!("{} blocks: {} ok", steps.len(), steps.len())),
        "{stdout}"
    );
    // Once at the start, once after the gap.
    assert!(stdout.contains("2 (re)starts"), "{stdout}");
    assert!(stdout.contains("import time: mean"), "{stdout}");
}

#[test]
fn a_differing_post_state_root_fails_the_run() {
    let (genesis, steps) = trace("fallback");
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, bytes: Vec<u8>| {
        std::fs::write(dir.path().join(name), bytes).expect("write step");
    };
    write("genesis.bin", genesis.encode());
    for (i, step) in steps.iter().take(5).enumerate() {
        let mut bytes = step.encode();
        if i == 3 {
            let mut wrong = parajam_e2e::TraceStep {
                pre_state: step.pre_state.clone(),
                block: step.block.clone(),
                post_state: step.post_state.clone(),
            };
            wrong.post_state.state_root.0[0] ^= 1;
            bytes = wrong.encode();
        }
        write(&format!("{:08}.bin", i + 1), bytes);
    }
    let (ok, stdout) = import(dir.path());
    assert!(!ok, "a wrong root must fail the run:\n{stdout}");
    assert!(stdout.contains("MISMATCH"), "{stdout}");
    assert!(stdout.contains("5 blocks: 4 ok"), "{stdout}");
}
