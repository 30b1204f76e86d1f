//! `parajam pvf run` end to end: the real binary validates an adder block
//! with the adder's PVF artifact on the PVM and with its wasm build on the
//! relay chain's PVF executor; both print the same result, which is the
//! native adder's. An invalid block fails with a non-zero exit on both
//! engines.

use std::path::Path;
use std::process::Command;

use parajam_adder::{BlockData, HeadData};
use parajam_corechains_types as types;
use parajam_e2e::parajam_binary;
use parity_scale_codec::Encode;

fn params(block: &BlockData) -> Vec<u8> {
    types::ValidationParams {
        parent_head: types::HeadData(HeadData::genesis(0).encode().to_vec()),
        block_data: types::BlockData(block.encode().to_vec()),
        relay_parent_number: 11,
        relay_parent_storage_root: [5; 32],
    }
    .encode()
}

/// `parajam pvf run --<engine> <code> --params <params> --out <out>`: success,
/// stdout and the written result.
fn pvf_run(engine: &str, code: &Path, params: &[u8]) -> (bool, String, Option<Vec<u8>>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let params_path = dir.path().join("params.scale");
    let out_path = dir.path().join("result.scale");
    std::fs::write(&params_path, params).expect("write params");
    let out = Command::new(parajam_binary())
        .args(["pvf", "run", &format!("--{engine}")])
        .arg(code)
        .arg("--params")
        .arg(&params_path)
        .arg("--out")
        .arg(&out_path)
        .output()
        .expect("running parajam pvf run");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        std::fs::read(&out_path).ok(),
    )
}

#[test]
fn the_same_block_gives_the_same_result_on_the_pvm_and_on_wasm() {
    let input = params(&BlockData { state: 0, add: 5 });
    let expected = parajam_adder::validate_block(&input).expect("a valid block");
    let pvf = parajam_adder_build::artifact_path("adder.pvf");
    let wasm = parajam_adder_build::artifact_path("adder.wasm");
    let (ok_pvm, stdout_pvm, out_pvm) = pvf_run("pvm", &pvf, &input);
    let (ok_wasm, stdout_wasm, out_wasm) = pvf_run("wasm", &wasm, &input);
    assert!(ok_pvm, "{stdout_pvm}");
    assert!(ok_wasm, "{stdout_wasm}");
    assert_eq!(out_pvm.as_deref(), Some(&expected[..]));
    assert_eq!(out_wasm.as_deref(), Some(&expected[..]));
    let line = format!("result: 0x{}", hex::encode(expected));
    assert!(stdout_pvm.contains(&line), "{stdout_pvm}");
    assert!(stdout_wasm.contains(&line), "{stdout_wasm}");
    assert!(stdout_pvm.contains("engine: pvm"), "{stdout_pvm}");
    assert!(stdout_pvm.contains("gas used: "), "{stdout_pvm}");
    assert!(stdout_wasm.contains("engine: wasm"), "{stdout_wasm}");
    assert!(stdout_wasm.contains("(prepare "), "{stdout_wasm}");
    assert!(stdout_wasm.contains("hrmp watermark: 11"), "{stdout_wasm}");
    assert!(stdout_pvm.contains("hrmp watermark: 11"), "{stdout_pvm}");
}

#[test]
fn an_invalid_block_fails_on_both_engines() {
    let input = params(&BlockData { state: 1, add: 5 });
    for (engine, code) in [
        ("pvm", parajam_adder_build::artifact_path("adder.pvf")),
        ("wasm", parajam_adder_build::artifact_path("adder.wasm")),
    ] {
        let (ok, stdout, out) = pvf_run(engine, &code, &input);
        assert!(!ok, "{engine}: {stdout}");
        assert!(stdout.contains("invalid: "), "{engine}: {stdout}");
        assert_eq!(out, None, "{engine}: no result written");
    }
}
