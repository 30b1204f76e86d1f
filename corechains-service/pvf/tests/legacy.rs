//! The legacy path is the relay chain's executor, with its host functions
//! and its outcomes: a PVF hashing through `ext_hashing_blake2_256` gets
//! the real Blake2b-256; storage is refused (the import is a stub that
//! traps); a trap, endless recursion, an undecodable result, a loop, code
//! beyond wasm MVP and bad code each give the relay chain's error;
//! compressed code prepares as the uncompressed, and a decompression bomb is
//! refused.

use std::time::Duration;

use parajam_corechains_types::{ValidationParams, ValidationResult};
use parajam_pvf::legacy::{self, Config, LegacyError};
use parity_scale_codec::{Decode, Encode};

/// Modes of [`probe`], picked by the first octet of its params.
const EMPTY_RESULT: u8 = 0;
const LOOP: u8 = 1;
const STORAGE: u8 = 2;
const TRAP: u8 = 3;
const HASH: u8 = 4;
const RECURSE: u8 = 5;

/// Where [`probe`] writes its result.
const OUT: i32 = 1024;
/// The length of its result: a `ValidationResult` with a 32-octet head.
const OUT_LEN: i64 = 44;

fn leb_u(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let byte = u8::try_from(v & 0x7f).expect("seven bits");
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn leb_s(mut v: i64, out: &mut Vec<u8>) {
    loop {
        let byte = u8::try_from(v & 0x7f).expect("seven bits");
        v >>= 7;
        let done = (v == 0 && byte & 0x40 == 0) || (v == -1 && byte & 0x40 != 0);
        out.push(if done { byte } else { byte | 0x80 });
        if done {
            return;
        }
    }
}

fn section(id: u8, body: &[u8], module: &mut Vec<u8>) {
    module.push(id);
    leb_u(body.len() as u64, module);
    module.extend_from_slice(body);
}

fn name(s: &str, out: &mut Vec<u8>) {
    leb_u(s.len() as u64, out);
    out.extend_from_slice(s.as_bytes());
}

/// A hand-assembled wasm PVF (MVP instructions only) exporting `memory`,
/// `__heap_base` and `validate_block(ptr, len) -> i64`, importing
/// `ext_hashing_blake2_256_version_1` and `ext_storage_get_version_1`.
/// The first octet of the params picks what it does: return nothing,
/// loop, read storage, trap, recurse without end, or return a
/// `ValidationResult` whose head is the Blake2b-256 of the params, hashed by
/// the host.
fn probe() -> Vec<u8> {
    const I32: u8 = 0x7f;
    const I64: u8 = 0x7e;
    let mut module = b"\0asm\x01\0\0\0".to_vec();
    // Types: 0 (i32, i32) -> i64; 1 (i64) -> i32; 2 (i64) -> i64.
    section(
        1,
        &[
            3, 0x60, 2, I32, I32, 1, I64, 0x60, 1, I64, 1, I32, 0x60, 1, I64, 1, I64,
        ],
        &mut module,
    );
    let mut imports = vec![2];
    for (function, ty) in [
        ("ext_hashing_blake2_256_version_1", 1),
        ("ext_storage_get_version_1", 2),
    ] {
        name("env", &mut imports);
        name(function, &mut imports);
        imports.extend_from_slice(&[0, ty]);
    }
    section(2, &imports, &mut module);
    section(3, &[1, 0], &mut module);
    // One memory of 2 pages; `__heap_base` at the second.
    section(5, &[1, 0, 2], &mut module);
    let mut globals = vec![1, I32, 0, 0x41];
    leb_s(65_536, &mut globals);
    globals.push(0x0b);
    section(6, &globals, &mut module);
    let mut exports = vec![3];
    for (export, kind, index) in [
        ("memory", 2, 0),
        ("validate_block", 0, 2),
        ("__heap_base", 3, 0),
    ] {
        name(export, &mut exports);
        exports.extend_from_slice(&[kind, index]);
    }
    section(7, &exports, &mut module);

    let mut code = vec![1, 1, I32]; // one i32 local: the hash's address
    let mode_is = |mode: u8, code: &mut Vec<u8>| {
        // local.get 0; i32.load8_u; i32.const mode; i32.eq; if
        code.extend_from_slice(&[0x20, 0, 0x2d, 0, 0, 0x41]);
        leb_s(i64::from(mode), code);
        code.extend_from_slice(&[0x46, 0x04, 0x40]);
    };
    mode_is(EMPTY_RESULT, &mut code);
    code.extend_from_slice(&[0x42, 0, 0x0f, 0x0b]); // return 0
    mode_is(LOOP, &mut code);
    code.extend_from_slice(&[0x03, 0x40, 0x0c, 0, 0x0b, 0x0b]); // loop br 0
    mode_is(STORAGE, &mut code);
    code.extend_from_slice(&[0x42, 0, 0x10, 1, 0x0f, 0x0b]); // return storage_get(0)
    mode_is(TRAP, &mut code);
    code.extend_from_slice(&[0x00, 0x0b]); // unreachable
    mode_is(RECURSE, &mut code);
    // return validate_block(ptr, len)
    code.extend_from_slice(&[0x20, 0, 0x20, 1, 0x10, 2, 0x0f, 0x0b]);
    // hash = blake2_256(ptr | len << 32)
    code.extend_from_slice(&[
        0x20, 0, 0xad, 0x20, 1, 0xad, 0x42, 32, 0x86, 0x84, 0x10, 0, 0x21, 2,
    ]);
    // OUT[0] = compact(32); OUT[1..33] = hash; the rest of OUT is zero.
    code.push(0x41);
    leb_s(i64::from(OUT), &mut code);
    code.extend_from_slice(&[0x41]);
    leb_s(0x80, &mut code);
    code.extend_from_slice(&[0x3a, 0, 0]);
    for word in 0..4u64 {
        code.extend_from_slice(&[0x41, 0, 0x20, 2, 0x29, 0]);
        leb_u(word * 8, &mut code);
        code.extend_from_slice(&[0x37, 0]);
        leb_u(
            u64::try_from(OUT).expect("positive") + 1 + word * 8,
            &mut code,
        );
    }
    code.push(0x42);
    leb_s(i64::from(OUT) | OUT_LEN << 32, &mut code);
    code.push(0x0b);
    let mut bodies = vec![1];
    leb_u(code.len() as u64, &mut bodies);
    bodies.extend_from_slice(&code);
    section(10, &bodies, &mut module);
    module
}

/// The probe's params: its mode, then any octets (here encoded
/// `ValidationParams`; the executor does not look at them).
fn params(mode: u8) -> Vec<u8> {
    let mut input = vec![mode];
    input.extend(
        ValidationParams {
            parent_head: parajam_corechains_types::HeadData(vec![7; 3]),
            block_data: parajam_corechains_types::BlockData(vec![1, 2]),
            relay_parent_number: 4,
            relay_parent_storage_root: [9; 32],
        }
        .encode(),
    );
    input
}

#[test]
fn the_real_hashing_host_function_serves_the_pvf() {
    let prepared = legacy::prepare(&probe()).expect("the probe prepares");
    let input = params(HASH);
    let validated = prepared.validate_block(&input).expect("a valid block");
    let result = ValidationResult::decode(&mut &validated.result[..]).expect("decodes");
    assert_eq!(
        result.head_data.0,
        parajam_corechains_service::blake2_256(&input).to_vec()
    );
    assert_eq!(validated.result.len(), 44);
    // Prepared once, executed again: the same octets.
    assert_eq!(prepared.validate_block(&input), Ok(validated));
}

#[test]
fn storage_is_refused_and_a_trap_is_an_invalid_block() {
    let prepared = legacy::prepare(&probe()).expect("the probe prepares");
    for (mode, expected) in [
        (STORAGE, "ext_storage_get_version_1"),
        (TRAP, "unreachable"),
    ] {
        let outcome = prepared.validate_block(&params(mode));
        let Err(LegacyError::Invalid(message)) = &outcome else {
            panic!("mode {mode}: {outcome:?}");
        };
        assert!(message.contains(expected), "mode {mode}: {message}");
        assert!(outcome.is_err_and(|e| e.is_invalid_candidate()));
    }
}

#[test]
fn endless_recursion_hits_the_deterministic_stack_limit() {
    // The instrumented logical stack limit (65,536 items) traps, on the
    // execute worker's big stack, before the native stack runs out.
    let outcome = legacy::validate_block(&probe(), &params(RECURSE));
    assert!(
        matches!(&outcome, Err(LegacyError::Invalid(message)) if message.contains("trap")),
        "{outcome:?}"
    );
}

#[test]
fn an_undecodable_result_is_an_invalid_block() {
    let outcome = legacy::validate_block(&probe(), &params(EMPTY_RESULT));
    assert!(
        matches!(outcome, Err(LegacyError::BadResult(_))),
        "{outcome:?}"
    );
}

#[test]
fn a_loop_times_out() {
    let config = Config {
        exec_timeout: Some(Duration::from_millis(300)),
        ..Config::default()
    };
    let prepared = legacy::prepare_with(&probe(), config).expect("the probe prepares");
    // The looping execution is left running on its thread; the process ends
    // with the test.
    assert_eq!(
        prepared.validate_block(&params(LOOP)),
        Err(LegacyError::TimedOut(Duration::from_millis(300)))
    );
}

#[test]
fn bad_code_fails_preparation() {
    assert!(matches!(
        legacy::prepare(b"junk"),
        Err(LegacyError::Prevalidation(_))
    ));
    // Bulk memory is not in the relay chain's wasm (MVP): `memory.fill`
    // fails prevalidation.
    let mut bulk = b"\0asm\x01\0\0\0".to_vec();
    section(1, &[1, 0x60, 0, 0], &mut bulk);
    section(3, &[1, 0], &mut bulk);
    section(5, &[1, 0, 1], &mut bulk);
    let body = [0, 0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 0x0b, 0, 0x0b];
    let mut bodies = vec![1, u8::try_from(body.len()).expect("short")];
    bodies.extend_from_slice(&body);
    section(10, &bodies, &mut bulk);
    let outcome = legacy::prepare(&bulk);
    assert!(
        matches!(&outcome, Err(LegacyError::Prevalidation(message)) if message.contains("Opcode")),
        "{outcome:?}"
    );
    // An empty module prepares; it has no memory, `__heap_base` or
    // `validate_block`, so executing it is an invalid block.
    let empty = b"\0asm\x01\0\0\0";
    let outcome = legacy::validate_block(empty, &params(HASH));
    assert!(
        matches!(&outcome, Err(LegacyError::Invalid(message)) if message.contains("memory")),
        "{outcome:?}"
    );
}

#[test]
fn compressed_code_prepares_and_a_bomb_is_refused() {
    let code = probe();
    let compressed =
        sp_maybe_compressed_blob::compress_strongly(&code, code.len()).expect("compresses");
    assert_ne!(compressed, code);
    let input = params(HASH);
    assert_eq!(
        legacy::validate_block(&compressed, &input),
        legacy::validate_block(&code, &input)
    );
    let small = Config {
        code_bomb_limit: code.len() - 1,
        ..Config::default()
    };
    assert!(matches!(
        legacy::prepare_with(&compressed, small),
        Err(LegacyError::Decompress(_))
    ));
}
