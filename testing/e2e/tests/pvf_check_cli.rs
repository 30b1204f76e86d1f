//! SLOW (needs `runtime/parachain` built; the main job and the collator's
//! tests build it into the cache): `parajam pvf check` end to end, the
//! real binary on `runtime/parachain`:
//!
//! - four made blocks, with the runtime uploading itself again (`--upgrade
//!   self`: the whole set_code path, authorized in block 1, applied in
//!   block 2, the go-ahead seen by block 4), all identical, enacted, exit
//!   0, the blocks' `ValidationParams` saved;
//! - the saved blocks checked again (`--povs`): identical, exit 0;
//! - a file that is no `ValidationParams`: a clear error, exit 1.

use std::path::Path;
use std::process::Command;

use parajam_e2e::{parajam_binary, runtime_parachain_dir};

/// `parajam pvf check <args>`: success, stdout, stderr.
fn pvf_check(args: &[&str], extra: &[&Path]) -> (bool, String, String) {
    let out = Command::new(parajam_binary())
        .args(["pvf", "check", "--runtime"])
        .arg(runtime_parachain_dir())
        .args(args)
        .args(extra)
        .output()
        .expect("running parajam pvf check");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn slow_pvf_check_reports_identical_blocks_and_rechecks_saved_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let povs = dir.path().join("povs");
    let (ok, stdout, stderr) = pvf_check(
        &[
            "--blocks",
            "4",
            "--upgrade-at",
            "1",
            "--upgrade-delay",
            "1",
            "--pov-dir",
        ],
        &[&povs],
    );
    assert!(ok, "{stdout}\n{stderr}");
    for n in 1..=4 {
        assert!(
            stdout.contains(&format!("block #{n} (relay parent")),
            "{stdout}"
        );
    }
    assert!(stdout.contains("asks for new code 0x"), "{stdout}");
    assert!(
        stdout.contains("the pending code upgrade is now current"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "4 blocks: 4 identical on wasm and PVM, 4 valid, 4 enacted, 1 code upgrade(s) enacted"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("MIGRATION OK"), "{stdout}");
    // The first block is cold (issue 19): the relay chain prepared its
    // code before it, Ξ compiles the PVF in it; both are reported, per
    // block and in total, for each code's first block.
    let first = &stdout
        [stdout.find("block #1 (").expect("block 1")..stdout.find("block #2 (").expect("block 2")];
    assert!(
        first.contains("  cold:  first block on this code: wasm prepare "),
        "{first}"
    );
    let cold_blocks = stdout.matches("  cold:  first block on this code").count();
    assert!(
        stdout.contains(&format!(
            "cold: the first block on each code ({cold_blocks}): wasm prepare+execute "
        )),
        "{stdout}"
    );
    let mut saved: Vec<_> = std::fs::read_dir(&povs)
        .expect("the PoV directory")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    saved.sort();
    let want: Vec<String> = (1..=4).map(|n| format!("block-{n:04}.params")).collect();
    assert_eq!(saved, want);

    let (ok, stdout, stderr) = pvf_check(&["--upgrade", "none", "--povs"], &[&povs]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("4 PoVs: 4 identical on wasm and PVM"),
        "{stdout}"
    );

    std::fs::write(povs.join("block-0005.params"), b"not params").expect("write");
    let (ok, stdout, stderr) = pvf_check(&["--upgrade", "none", "--povs"], &[&povs]);
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("block-0005.params: not an encoded ValidationParams"),
        "{stderr}"
    );
}
