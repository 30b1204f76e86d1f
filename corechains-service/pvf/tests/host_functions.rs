//! The host-function table end to end, through the misbehaving PVF's
//! script (mode 16) on both engines: the PVM (the CoreChains executor with
//! the PVF artifact as an inner machine) and wasmtime (the relay chain's
//! path, the same PVF built for wasm32) give the same head octets, which
//! are the known answers (RFC 8032, sp-core and sp-io 49 results kept in
//! `script`); failing calls fail the same way on both.

mod script;

use parajam_corechains_service::blake2_256;
use parajam_corechains_types::{self as types, InvalidReason};
use parajam_pvf::wasm::WasmPvf;
use parajam_pvf::{pvm, PvfError, Validated};
use parajam_pvm::{Pvm, PvmFlavor};
use parity_scale_codec::{DecodeAll, Encode};
use script::{unhex, Script};

const GAS: u64 = 1_000_000_000;

fn params(block: &[u8]) -> Vec<u8> {
    types::ValidationParams {
        parent_head: types::HeadData(vec![]),
        block_data: types::BlockData(block.to_vec()),
        relay_parent_number: 9,
        relay_parent_storage_root: [0; 32],
    }
    .encode()
}

/// `block` on the PVM and on wasmtime.
fn both(block: &[u8]) -> (Result<Validated, PvfError>, Result<Validated, PvfError>) {
    let engine = Pvm::new(PvmFlavor::Gp072).expect("pvm");
    let input = params(block);
    let on_pvm = pvm::validate_block(
        &engine,
        engine.preferred_backend(),
        parajam_adder_build::MISBEHAVING_PVF,
        &input,
        GAS,
    )
    .map(|(v, _)| v);
    let wasm = WasmPvf::new(parajam_adder_build::MISBEHAVING_WASM).expect("the wasm PVF compiles");
    let on_wasm = wasm.validate_block(&input, GAS).map(|(v, _)| v);
    (on_pvm, on_wasm)
}

fn head(run: &Validated) -> Vec<u8> {
    types::ValidationResult::decode_all(&mut &run.result[..])
        .expect("a ValidationResult")
        .head_data
        .0
}

/// The head `script` gives, the same on both engines.
fn agreed_head(script: &Script) -> Vec<u8> {
    let (on_pvm, on_wasm) = both(&script.0);
    let (on_pvm, on_wasm) = (
        on_pvm.expect("valid on the PVM"),
        on_wasm.expect("valid on wasm"),
    );
    assert_eq!(on_pvm.result, on_wasm.result, "the engines agree");
    assert_eq!(on_pvm.host_calls, on_wasm.host_calls);
    head(&on_pvm)
}

#[test]
fn signature_checks_agree_on_both_engines_with_the_known_answers() {
    let (ed_sig, ed_pub) = (unhex(script::ED_SIG), unhex(script::ED_PUB));
    let (sr_sig, sr_pub) = (unhex(script::SR_SIG), unhex(script::SR_PUB));
    let (old_sig, old_pub) = (unhex(script::SR_OLD_SIG), unhex(script::SR_OLD_PUB));
    let (ec_sig, ec_pub) = (unhex(script::EC_SIG), unhex(script::EC_PUB));
    let mut bad_ed = ed_sig.clone();
    bad_ed[5] ^= 0x10;
    let s = Script::default()
        .op(0x01, &[&ed_sig, &ed_pub])
        .slice(b"")
        .op(0x01, &[&bad_ed, &ed_pub])
        .slice(b"")
        .op(0x03, &[&sr_sig, &sr_pub])
        .slice(b"parajam")
        .op(0x03, &[&sr_sig, &sr_pub])
        .slice(b"parajan")
        .op(0x02, &[&sr_sig, &sr_pub])
        .slice(b"parajam")
        .op(0x02, &[&old_sig, &old_pub])
        .slice(script::SR_OLD_MSG)
        .op(0x03, &[&old_sig, &old_pub])
        .slice(script::SR_OLD_MSG)
        .op(0x05, &[&ec_sig, &ec_pub])
        .slice(b"parajam")
        .op(0x04, &[&ec_sig, &ec_pub])
        .slice(b"parajam")
        .op(0x05, &[&ec_sig, &ec_pub])
        .slice(b"other")
        .op(0x06, &[&ec_sig, &blake2_256(b"parajam"), &ec_pub])
        // A batch: one good and one bad check fail it.
        .op(0x18, &[])
        .op(0x1a, &[&ed_sig, &ed_pub])
        .slice(b"")
        .op(0x1b, &[&sr_sig, &sr_pub])
        .slice(b"x")
        .op(0x19, &[]);
    assert_eq!(
        agreed_head(&s),
        [1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 0],
        "good, tampered and pre-audit signatures"
    );
}

#[test]
fn key_recovery_agrees_on_both_engines_with_the_known_answers() {
    let (ec_sig, ec_pub) = (unhex(script::EC_SIG), unhex(script::EC_PUB));
    let hash = blake2_256(b"parajam");
    let mut bad_v = ec_sig.clone();
    bad_v[64] = 9;
    let mut v27 = ec_sig.clone();
    v27[64] += 27;
    let s = Script::default()
        .op(0x08, &[&ec_sig, &hash])
        .op(0x07, &[&v27, &hash])
        .op(0x0b, &[&ec_sig, &hash])
        .op(0x0a, &[&v27, &hash])
        .op(0x0c, &[&ec_sig, &hash])
        .op(0x08, &[&bad_v, &hash])
        .op(0x09, &[&bad_v, &hash]);
    let head = agreed_head(&s);
    let (uncompressed, rest) = head.split_at(65);
    assert_eq!(uncompressed[0], 0, "Ok");
    assert_eq!(&uncompressed[1..33], &ec_pub[1..], "the key's x");
    assert_eq!(
        u8::from(uncompressed[64] % 2 == 1),
        ec_pub[0] - 2,
        "y's parity is the compressed prefix's"
    );
    let (v1, rest) = rest.split_at(65);
    assert_eq!(v1, uncompressed, "version 1 with v + 27: the same key");
    let mut want = vec![0];
    want.extend_from_slice(&ec_pub);
    want.push(0);
    want.extend_from_slice(&ec_pub);
    want.push(0); // version 3: 0, then the key in place
    want.extend_from_slice(&ec_pub);
    want.extend_from_slice(&[1, 1]); // Err(BadV)
    want.push(0xfe); // version 3: -2, and a zeroed output
    want.extend_from_slice(&[0; 64]);
    assert_eq!(rest, want);
}

#[test]
fn trie_roots_hashes_and_runtime_versions_agree_on_both_engines() {
    let input = script::trie_input();
    let s = Script::default()
        .op(0x10, &[])
        .slice(&input)
        .op(0x11, &[&[1]])
        .slice(&input)
        .op(0x12, &[&[1]])
        .slice(&input)
        .op(0x13, &[&[1]])
        .slice(&input)
        .op(0x20, &[])
        .slice(b"parajam")
        .op(0x21, &[])
        .slice(b"PVM\0not a runtime")
        .op(0x22, &[&4u32.to_le_bytes()])
        .slice(b"junk");
    let mut want = unhex(script::TRIE_BLAKE2_V0);
    want.extend(unhex(script::TRIE_BLAKE2_V1));
    want.extend(unhex(script::TRIE_BLAKE2_V1));
    want.extend(unhex(script::TRIE_KECCAK_V1));
    want.extend(blake2_256(b"parajam"));
    want.push(0); // None
    want.extend((-1i64).to_le_bytes());
    want.extend([0; 4]);
    assert_eq!(agreed_head(&s), want);
}

#[test]
fn failing_calls_fail_alike_on_both_engines() {
    for (block, reason) in [
        (
            vec![3, 9],
            InvalidReason::UnavailableHostFunction(b"ext_storage_get_version_1".to_vec()),
        ),
        (
            Script::default().op(0x30, &[]).0,
            InvalidReason::UnavailableHostFunction(b"ext_storage_get_version_1".to_vec()),
        ),
        (
            Script::default().op(0x31, &[]).0,
            InvalidReason::UnavailableHostFunction(
                b"ext_storage_proof_size_storage_proof_size_version_1".to_vec(),
            ),
        ),
        (
            Script::default().op(0x32, &[]).slice(b"boom").0,
            InvalidReason::Trapped,
        ),
        (
            // A finish without a start.
            Script::default().op(0x19, &[]).0,
            InvalidReason::HostFunctionFailed(b"ext_crypto_finish_batch_verify_version_1".to_vec()),
        ),
        (
            // State version 3 does not exist.
            Script::default().op(0x11, &[&[3]]).slice(&[0]).0,
            InvalidReason::HostFunctionFailed(
                b"ext_trie_blake2_256_ordered_root_version_2".to_vec(),
            ),
        ),
    ] {
        let (on_pvm, on_wasm) = both(&block);
        for run in [on_pvm, on_wasm] {
            match run {
                Err(PvfError::Invalid(r)) => assert_eq!(r, reason, "block {block:?}"),
                other => panic!("block {block:?}: {other:?}"),
            }
        }
    }
}
