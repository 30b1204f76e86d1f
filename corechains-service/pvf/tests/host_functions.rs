//! The host-function table end to end, through the misbehaving PVF's
//! script (mode 16), checked against the real thing: the PVM (the
//! CoreChains executor with the PVF artifact as an inner machine, serving
//! our table) and the relay chain's own PVF executor (`legacy`: the same
//! PVF built for wasm32, served by sp-io 49's host functions) give the same
//! head octets, which are the known answers (RFC 8032, sp-core and sp-io 49
//! results kept in `script`). Failing calls make the block invalid on both:
//! on the PVM with our typed reason, on the relay chain's executor with its
//! own error, which each case names.

mod script;

use parajam_corechains_service::blake2_256;
use parajam_corechains_types::{self as types, InvalidReason};
use parajam_pvf::legacy::{self, LegacyError};
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

/// `block` on the PVM and on the relay chain's executor.
fn both(
    block: &[u8],
) -> (
    Result<Validated, PvfError>,
    Result<legacy::Validated, LegacyError>,
) {
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
    let on_wasm = legacy::validate_block(parajam_adder_build::MISBEHAVING_WASM, &input);
    (on_pvm, on_wasm)
}

fn head(run: &Validated) -> Vec<u8> {
    types::ValidationResult::decode_all(&mut &run.result[..])
        .expect("a ValidationResult")
        .head_data
        .0
}

/// The head `script` gives, the same on both engines. (The relay chain's
/// executor does not count host calls, so only the octets are compared.)
fn agreed_head(script: &Script) -> Vec<u8> {
    let (on_pvm, on_wasm) = both(&script.0);
    let (on_pvm, on_wasm) = (
        on_pvm.expect("valid on the PVM"),
        on_wasm.expect("valid on the relay chain's executor"),
    );
    assert_eq!(on_pvm.result, on_wasm.result, "the engines agree");
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
        // A batch: one good and one bad check fail it. (Not with
        // `ed25519_batch_verify`: sp-io 49's always fails, see below.)
        .op(0x18, &[])
        .op(0x1b, &[&sr_sig, &sr_pub])
        .slice(b"parajam")
        .op(0x1c, &[&ec_sig, &ec_pub])
        .slice(b"other")
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
        .op(0x08, &[&bad_v, &hash])
        .op(0x07, &[&bad_v, &hash])
        .op(0x0a, &[&bad_v, &hash]);
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
    want.extend_from_slice(&[1, 1, 1, 1, 1, 1]); // Err(BadV) three times
    assert_eq!(rest, want);
}

#[test]
fn trie_roots_hashes_and_runtime_versions_agree_on_both_engines() {
    let input = script::trie_input();
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = script::trie_values()
        .into_iter()
        .enumerate()
        .map(|(i, v)| (blake2_256(&i.to_le_bytes())[..(i % 33)].to_vec(), v))
        .collect();
    let pairs = pairs.encode();
    let s = Script::default()
        .op(0x10, &[])
        .slice(&input)
        .op(0x11, &[&[1]])
        .slice(&input)
        .op(0x11, &[&[2]])
        .slice(&input)
        .op(0x13, &[&[1]])
        .slice(&input)
        .op(0x14, &[&[0]])
        .slice(&pairs)
        .op(0x14, &[&[1]])
        .slice(&pairs)
        .op(0x15, &[])
        .slice(&pairs)
        .op(0x21, &[])
        .slice(b"PVM\0not a runtime")
        .op(0x21, &[])
        .slice(parajam_adder_build::WASM);
    let head = agreed_head(&s);
    let mut want = unhex(script::TRIE_BLAKE2_V0);
    want.extend(unhex(script::TRIE_BLAKE2_V1));
    want.extend(unhex(script::TRIE_BLAKE2_V1)); // state version 2 is 1
    want.extend(unhex(script::TRIE_KECCAK_V1));
    assert_eq!(head[..128], want[..]);
    // Three roots (no known answers: the engines agree), then `None` twice:
    // neither is a runtime with a version.
    assert_eq!(head.len(), 128 + 3 * 32 + 2);
    assert_eq!(head[224..], [0, 0]);
}

/// The RFC-145 versions of polkadot-sdk master (hashing, key recovery and
/// trie roots written in place, `runtime_version` into a buffer) are in our
/// table; sp-io 49, the relay chain executor's, does not have them, so
/// there a call is sc-executor's missing-function stub. Each on its own:
/// the PVM's known answer, and the relay chain's refusal.
#[test]
fn rfc145_versions_are_served_on_the_pvm_and_missing_from_sp_io_49() {
    let (ec_sig, ec_pub) = (unhex(script::EC_SIG), unhex(script::EC_PUB));
    let hash = blake2_256(b"parajam");
    let mut bad_v = ec_sig.clone();
    bad_v[64] = 9;
    let input = script::trie_input();
    let mut recovered = vec![0]; // version 3: 0, then the key in place
    recovered.extend_from_slice(&ec_pub);
    let mut bad = vec![0xfe]; // version 3: -2, and a zeroed output
    bad.extend_from_slice(&[0; 64]);
    let mut no_version = (-1i64).to_le_bytes().to_vec();
    no_version.extend([0; 4]);
    for (script, function, want) in [
        (
            Script::default().op(0x0c, &[&ec_sig, &hash]),
            "ext_crypto_secp256k1_ecdsa_recover_compressed_version_3",
            recovered,
        ),
        (
            Script::default().op(0x09, &[&bad_v, &hash]),
            "ext_crypto_secp256k1_ecdsa_recover_version_3",
            bad,
        ),
        (
            Script::default().op(0x12, &[&[1]]).slice(&input),
            "ext_trie_blake2_256_ordered_root_version_3",
            unhex(script::TRIE_BLAKE2_V1),
        ),
        (
            Script::default().op(0x20, &[]).slice(b"parajam"),
            "ext_hashing_blake2_256_version_2",
            blake2_256(b"parajam").to_vec(),
        ),
        (
            Script::default()
                .op(0x22, &[&4u32.to_le_bytes()])
                .slice(b"junk"),
            "ext_misc_runtime_version_version_2",
            no_version,
        ),
    ] {
        let (on_pvm, on_wasm) = both(&script.0);
        assert_eq!(head(&on_pvm.expect("valid on the PVM")), want, "{function}");
        match on_wasm {
            Err(LegacyError::Invalid(m)) => assert!(m.contains(&missing(function)), "{m}"),
            other => panic!("{function} on the relay chain's executor: {other:?}"),
        }
    }
}

/// What the relay chain's executor says when `name` is called: the PVF
/// host functions have no storage, keystore, offchain or panic handler
/// (`executor_interface`'s `HostFunctions`), so those imports are
/// sc-executor's stubs, and calling one is an error.
fn missing(name: &str) -> String {
    format!("call to a missing function env:{name}")
}

#[test]
fn failing_calls_fail_on_both_engines() {
    for (block, reason, message) in [
        (
            vec![3, 9],
            InvalidReason::UnavailableHostFunction(b"ext_storage_get_version_1".to_vec()),
            missing("ext_storage_get_version_1"),
        ),
        (
            Script::default().op(0x30, &[]).0,
            InvalidReason::UnavailableHostFunction(b"ext_storage_get_version_1".to_vec()),
            missing("ext_storage_get_version_1"),
        ),
        (
            Script::default().op(0x31, &[]).0,
            InvalidReason::UnavailableHostFunction(
                b"ext_storage_proof_size_storage_proof_size_version_1".to_vec(),
            ),
            missing("ext_storage_proof_size_storage_proof_size_version_1"),
        ),
        (
            // sp-io's `abort_on_panic` panics with the message; the PVF
            // executor does not have it at all.
            Script::default().op(0x32, &[]).slice(b"boom").0,
            InvalidReason::Trapped,
            missing("ext_panic_handler_abort_on_panic_version_1"),
        ),
        (
            // A finish without a start: sp-io panics (its `expect`).
            Script::default().op(0x19, &[]).0,
            InvalidReason::HostFunctionFailed(b"ext_crypto_finish_batch_verify_version_1".to_vec()),
            "`finish_batch_verify` should only be called after `start_batch_verify`".to_owned(),
        ),
        (
            // sp-io 49's `ed25519_batch_verify` calls `ed25519_verify`,
            // which takes the externalities the call already holds: the
            // host panics, with or without a batch, whatever the signature.
            Script::default()
                .op(0x1a, &[&unhex(script::ED_SIG), &unhex(script::ED_PUB)])
                .slice(b"")
                .0,
            InvalidReason::HostFunctionFailed(
                b"ext_crypto_ed25519_batch_verify_version_1".to_vec(),
            ),
            "host code panicked while being called by the runtime: RefCell already borrowed"
                .to_owned(),
        ),
        (
            // State version 3 does not exist: sp-io's argument conversion
            // fails.
            Script::default().op(0x11, &[&[3]]).slice(&[0]).0,
            InvalidReason::HostFunctionFailed(
                b"ext_trie_blake2_256_ordered_root_version_2".to_vec(),
            ),
            "failed to convert 'u8' (passed as 'u32') into 'sp_storage::StateVersion'".to_owned(),
        ),
    ] {
        let (on_pvm, on_wasm) = both(&block);
        match on_pvm {
            Err(PvfError::Invalid(r)) => assert_eq!(r, reason, "block {block:?}"),
            other => panic!("block {block:?} on the PVM: {other:?}"),
        }
        match on_wasm {
            Err(LegacyError::Invalid(m)) => {
                assert!(m.contains(&message), "block {block:?}: {m}");
            }
            other => panic!("block {block:?} on the relay chain's executor: {other:?}"),
        }
    }
}
