//! The wasm build of the adder PVF on the relay chain's own PVF executor
//! (`parajam_pvf::legacy`: Polkadot's prepare and execute functions, MVP
//! wasm, its host functions): it imports nothing, exports `validate_block`,
//! `memory` and `__heap_base`, prepares under the relay chain's semantics,
//! gives for ten consecutive adder blocks the same `ValidationResult` octets
//! as the native function and the PVM build, and an invalid block is invalid
//! there (its panic is a trap).

mod common;

use common::{params, run_pvm};
use parajam_adder::{sample_chain, BlockData, HeadData, SampleBlock};
use parajam_adder_build::{ENTRY, PVM_PROGRAM, WASM};
use parajam_corechains_types as types;
use parajam_pvf::legacy::{self, LegacyError};
use parajam_pvm::{Backend, ExitReason, Program, Pvm, PvmFlavor};

/// A LEB128 `u32` at `at`; the value and the position after it.
fn leb(bytes: &[u8], mut at: usize) -> (u32, usize) {
    let mut value = 0u32;
    for shift in (0..35).step_by(7) {
        let byte = bytes[at];
        at += 1;
        value |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
    }
    (value, at)
}

/// The module's import count and export names (its import and export
/// sections).
fn imports_and_exports(module: &[u8]) -> (u32, Vec<String>) {
    assert_eq!(&module[..8], b"\0asm\x01\0\0\0", "a wasm 1 module");
    let (mut imports, mut exports) = (0, Vec::new());
    let mut at = 8;
    while at < module.len() {
        let id = module[at];
        let (size, body) = leb(module, at + 1);
        let end = body + size as usize;
        match id {
            2 => imports = leb(module, body).0,
            7 => {
                let (count, mut p) = leb(module, body);
                for _ in 0..count {
                    let (len, name_at) = leb(module, p);
                    let name_end = name_at + len as usize;
                    exports.push(
                        String::from_utf8(module[name_at..name_end].to_vec())
                            .expect("a UTF-8 name"),
                    );
                    // The kind octet, then the index.
                    p = leb(module, name_end + 1).1;
                }
            }
            _ => {}
        }
        at = end;
    }
    (imports, exports)
}

#[test]
fn the_module_imports_nothing_and_exports_the_pvf_abi() {
    let (imports, exports) = imports_and_exports(WASM);
    assert_eq!(imports, 0);
    for name in [ENTRY, "memory", "__heap_base"] {
        assert!(
            exports.iter().any(|n| n == name),
            "missing export {name}: {exports:?}"
        );
    }
    legacy::prepare(WASM).expect("prepares under the relay chain's semantics");
}

#[test]
fn ten_blocks_on_the_relay_chain_executor_equal_the_native_and_pvm_results() {
    let prepared = legacy::prepare(WASM).expect("the PVF prepares");
    let pvm = Pvm::new(PvmFlavor::Gp072).expect("a PVM");
    let program = Program::from_standard_blob(PVM_PROGRAM).expect("a GP standard program");
    for (i, sample) in sample_chain().enumerate() {
        let SampleBlock { parent, block, .. } = sample;
        let number = 50 + u32::try_from(i).expect("small");
        let input = params(&parent, &block, number);
        let native = parajam_adder::validate_block(&input).expect("a valid block");
        let wasm = prepared.validate_block(&input).expect("validates").result;
        assert_eq!(wasm, native, "block {}", i + 1);

        let (on_pvm, _) = run_pvm(&pvm, Backend::Interpreter, &program, &input).expect("a halt");
        assert_eq!(wasm, on_pvm, "block {}: wasm and PVM differ", i + 1);

        let head = HeadData::decode(
            &<types::ValidationResult as parity_scale_codec::Decode>::decode(&mut &wasm[..])
                .expect("a ValidationResult")
                .head_data
                .0,
        )
        .expect("an adder head");
        assert_eq!(head, sample.head);
    }
}

#[test]
fn an_invalid_block_traps_on_the_relay_chain_executor_and_on_the_pvm() {
    let prepared = legacy::prepare(WASM).expect("the PVF prepares");
    let pvm = Pvm::new(PvmFlavor::Gp072).expect("a PVM");
    let program = Program::from_standard_blob(PVM_PROGRAM).expect("a GP standard program");
    let parent = HeadData::genesis(5);
    for input in [
        params(&parent, &BlockData { state: 4, add: 1 }, 1),
        params(&parent, &BlockData { state: 5, add: 1 }, 1)[..50].to_vec(),
    ] {
        let outcome = prepared.validate_block(&input);
        assert!(
            matches!(&outcome, Err(LegacyError::Invalid(message)) if message.contains("unreachable")),
            "{outcome:?}"
        );
        assert_eq!(
            run_pvm(&pvm, Backend::Interpreter, &program, &input),
            Err(ExitReason::Panic)
        );
    }
}
