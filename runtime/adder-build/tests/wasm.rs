//! The wasm build of the adder PVF on wasmtime, configured with the wasm
//! features a Polkadot PVF executor allows (no reference types, bulk memory,
//! multi-value or SIMD): it imports nothing, exports `validate_block`,
//! `memory` and `__heap_base`, and, called as the relay chain's executor
//! calls it (the params written at `__heap_base`), gives for ten consecutive
//! adder blocks the same `ValidationResult` octets as the native function and
//! the PVM build, and traps on an invalid block.

use parajam_adder::{BlockData, HeadData};
use parajam_adder_build::{ENTRY, PVM_ENTRY_PC, PVM_PROGRAM, WASM};
use parajam_corechains_types as types;
use parajam_pvm::{Backend, HostCallAction, Program, ProgramResult, Pvm, PvmFlavor};
use parity_scale_codec::Encode;
use wasmtime::{Config, Engine, ExternType, Instance, Module, Store};

fn engine() -> Engine {
    let mut config = Config::new();
    // Reference types need wasmtime's `gc` feature, which is not enabled:
    // they are off as well.
    config
        .wasm_bulk_memory(false)
        .wasm_multi_value(false)
        .wasm_simd(false)
        .wasm_relaxed_simd(false)
        .wasm_multi_memory(false)
        .wasm_tail_call(false)
        .wasm_extended_const(false);
    Engine::new(&config).expect("a wasmtime engine")
}

/// Calls `validate_block` on a fresh instance, as a PVF executor does:
/// `Ok(result octets)`, or the trap.
fn run_wasm(engine: &Engine, module: &Module, input: &[u8]) -> Result<Vec<u8>, String> {
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, module, &[]).expect("instantiates without imports");
    let memory = instance
        .get_memory(&mut store, "memory")
        .expect("exports its memory");
    let heap_base = instance
        .get_global(&mut store, "__heap_base")
        .expect("exports __heap_base")
        .get(&mut store)
        .i32()
        .expect("an i32 global");
    let base = usize::try_from(heap_base).expect("a non-negative address");
    let needed = base + input.len();
    if needed > memory.data_size(&store) {
        let pages = (needed - memory.data_size(&store)).div_ceil(65_536);
        memory
            .grow(&mut store, u64::try_from(pages).expect("small"))
            .expect("the memory grows");
    }
    memory
        .write(&mut store, base, input)
        .expect("the params fit in memory");
    let validate = instance
        .get_typed_func::<(i32, i32), i64>(&mut store, ENTRY)
        .expect("validate_block(i32, i32) -> i64");
    let len = i32::try_from(input.len()).expect("a short input");
    let packed = validate
        .call(&mut store, (heap_base, len))
        .map_err(|trap| format!("{trap:?}"))?;
    let (ptr, len) = types::unpack_ptr_and_len(u64::from_ne_bytes(packed.to_ne_bytes()));
    let mut output = vec![0; len as usize];
    memory
        .read(&store, ptr as usize, &mut output)
        .expect("the result is in memory");
    Ok(output)
}

fn params(parent: &HeadData, block: &BlockData, relay_parent_number: u32) -> Vec<u8> {
    types::ValidationParams {
        parent_head: types::HeadData(parent.encode().to_vec()),
        block_data: types::BlockData(block.encode().to_vec()),
        relay_parent_number,
        relay_parent_storage_root: [0x44; 32],
    }
    .encode()
}

#[test]
fn the_module_imports_nothing_and_exports_the_pvf_abi() {
    let module = Module::new(&engine(), WASM).expect("the PVF compiles under PVF wasm features");
    assert_eq!(module.imports().len(), 0);
    let exports: Vec<(String, ExternType)> = module
        .exports()
        .map(|export| (export.name().to_owned(), export.ty()))
        .collect();
    for name in [ENTRY, "memory", "__heap_base"] {
        assert!(
            exports.iter().any(|(n, _)| n == name),
            "missing export {name}: {exports:?}"
        );
    }
}

#[test]
fn ten_blocks_on_wasmtime_equal_the_native_and_pvm_results() {
    let engine = engine();
    let module = Module::new(&engine, WASM).expect("the PVF compiles");
    let pvm = Pvm::new(PvmFlavor::Gp072).expect("a PVM");
    let program = Program::from_standard_blob(PVM_PROGRAM).expect("a GP standard program");
    let mut state = 7_u64;
    let mut parent = HeadData::genesis(state);
    for (i, add) in [1_u64, 2, 3, 1000, 0, u64::MAX, 17, 42, 1 << 40, 5]
        .into_iter()
        .enumerate()
    {
        let block = BlockData { state, add };
        let number = 50 + u32::try_from(i).expect("small");
        let input = params(&parent, &block, number);
        let native = parajam_adder::validate_block(&input).expect("a valid block");
        let wasm = run_wasm(&engine, &module, &input).expect("validates");
        assert_eq!(wasm, native, "block {}", i + 1);

        let outcome = pvm
            .run_program(
                Backend::Interpreter,
                &program,
                PVM_ENTRY_PC,
                10_000_000,
                &input,
                &mut |_| HostCallAction::Panic,
            )
            .expect("the PVM runs the program");
        let (ptr, len) = types::unpack_ptr_and_len(outcome.machine.regs[7]);
        let on_pvm = outcome
            .read_memory(u64::from(ptr), u64::from(len))
            .expect("the result is readable");
        assert_eq!(wasm, on_pvm, "block {}: wasm and PVM differ", i + 1);

        let head = HeadData::decode(
            &<types::ValidationResult as parity_scale_codec::Decode>::decode(&mut &wasm[..])
                .expect("a ValidationResult")
                .head_data
                .0,
        )
        .expect("an adder head");
        assert_eq!(head.number, parent.number + 1);
        state = state.wrapping_add(add);
        parent = head;
    }
}

#[test]
fn an_invalid_block_traps_on_wasmtime_and_on_the_pvm() {
    let engine = engine();
    let module = Module::new(&engine, WASM).expect("the PVF compiles");
    let pvm = Pvm::new(PvmFlavor::Gp072).expect("a PVM");
    let program = Program::from_standard_blob(PVM_PROGRAM).expect("a GP standard program");
    let parent = HeadData::genesis(5);
    for input in [
        params(&parent, &BlockData { state: 4, add: 1 }, 1),
        params(&parent, &BlockData { state: 5, add: 1 }, 1)[..50].to_vec(),
    ] {
        assert!(run_wasm(&engine, &module, &input).is_err());
        let outcome = pvm
            .run_program(
                Backend::Interpreter,
                &program,
                PVM_ENTRY_PC,
                10_000_000,
                &input,
                &mut |_| HostCallAction::Panic,
            )
            .expect("the PVM runs the program");
        assert_eq!(outcome.result(), ProgramResult::Panic);
    }
}
