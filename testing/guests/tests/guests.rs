//! The guest blobs parse with polkavm 0.30, carry the expected exports and
//! imports, agree across their three encodings, and compute what
//! [`parajam_guests::reference`] says on polkavm 0.30's interpreter.

use parajam_guests::{
    all, guest, guests, reference, Guest, BLAKE2, ENTRY, ENTRY_PC, HOSTCALL, HOSTCALL_INDEX,
    HOSTCALL_SYMBOL, SIEVE, SIEVE_MAX_N,
};
use polkavm::program::{Instruction, InstructionSetKind};
use polkavm::{
    ArcBytes, BackendKind, Caller, Config, Engine, InterruptKind, Linker, Module, ModuleConfig,
    ProgramBlob, ProgramCounter, ProgramParts, Reg,
};

/// GP eq. A.18: a dynamic jump here halts; `Y` puts it in `ω0` (the return address).
const HALT_ADDRESS: u64 = 0xffff_0000;

fn parse(bytes: &'static [u8]) -> ProgramBlob {
    ProgramBlob::parse(ArcBytes::from(bytes)).expect("the guest blob parses with polkavm 0.30")
}

fn engine() -> Engine {
    let mut config = Config::new();
    config.set_backend(Some(BackendKind::Interpreter));
    Engine::new(&config).expect("the polkavm interpreter engine")
}

fn export_names(blob: &ProgramBlob) -> Vec<String> {
    blob.exports()
        .map(|export| String::from_utf8_lossy(export.symbol().as_bytes()).into_owned())
        .collect()
}

fn import_names(blob: &ProgramBlob) -> Vec<String> {
    let imports = blob.imports();
    (0..imports.len())
        .map(|index| {
            let symbol = imports.get(index).expect("the import parses");
            String::from_utf8_lossy(symbol.as_bytes()).into_owned()
        })
        .collect()
}

#[test]
fn every_guest_is_a_64_bit_jam_v1_blob_exporting_main() {
    assert_eq!(all().len(), 3);
    assert_eq!(guests().len(), 3);
    for guest in guests() {
        let blob = parse(guest.polkavm);
        assert_eq!(blob.isa(), InstructionSetKind::JamV1, "{}", guest.name);
        assert!(blob.is_64_bit(), "{}", guest.name);
        assert_eq!(export_names(&blob), [ENTRY], "{}", guest.name);
    }
    let names: Vec<&str> = all().iter().map(|&(name, _)| name).collect();
    assert_eq!(names, ["sieve", "blake2", "hostcall"]);
    for &(name, blob) in all() {
        assert_eq!(guest(name).map(|guest| guest.polkavm), Some(blob));
    }
    assert_eq!(guest("sieve").map(|guest| guest.polkavm), Some(SIEVE));
    assert_eq!(guest("blake2").map(|guest| guest.polkavm), Some(BLAKE2));
    assert_eq!(guest("hostcall").map(|guest| guest.polkavm), Some(HOSTCALL));
    assert_eq!(guest("nope"), None);
}

#[test]
fn only_hostcall_imports_and_it_imports_gas_at_index_zero() {
    assert!(import_names(&parse(SIEVE)).is_empty());
    assert!(import_names(&parse(BLAKE2)).is_empty());
    assert_eq!(import_names(&parse(HOSTCALL)), [HOSTCALL_SYMBOL]);
    assert_eq!(HOSTCALL_INDEX, 0);

    let blob = parse(HOSTCALL);
    let ecalls: Vec<u32> = blob
        .instructions()
        .filter_map(|instruction| match instruction.kind {
            Instruction::ecalli(index) => Some(index),
            _ => None,
        })
        .collect();
    assert_eq!(ecalls, [HOSTCALL_INDEX]);
}

#[test]
fn program_counter_zero_jumps_to_main() {
    for guest in guests() {
        let blob = parse(guest.polkavm);
        let main = blob.exports().next().expect("main").program_counter();
        let first = blob.instructions().next().expect("an instruction");
        assert_eq!(first.offset, ProgramCounter(ENTRY_PC), "{}", guest.name);
        assert_eq!(first.kind, Instruction::jump(main.0), "{}", guest.name);
    }
}

/// Decodes the GP standard program `E3(|o|) ⌢ E3(|w|) ⌢ E2(z) ⌢ E3(s) ⌢ o ⌢ w ⌢ E4(|c|) ⌢ c`.
struct StandardProgram<'a> {
    ro_data: &'a [u8],
    rw_data: &'a [u8],
    heap_pages: u32,
    stack_size: u32,
    code: &'a [u8],
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, tail) = input.split_at(n);
    *input = tail;
    head
}

fn take_le(input: &mut &[u8], n: usize) -> u32 {
    let mut bytes = [0_u8; 4];
    bytes[..n].copy_from_slice(take(input, n));
    u32::from_le_bytes(bytes)
}

fn decode_standard_program(mut p: &[u8]) -> StandardProgram<'_> {
    let ro_len = take_le(&mut p, 3) as usize;
    let rw_len = take_le(&mut p, 3) as usize;
    let heap_pages = take_le(&mut p, 2);
    let stack_size = take_le(&mut p, 3);
    let ro_data = take(&mut p, ro_len);
    let rw_data = take(&mut p, rw_len);
    let code_len = take_le(&mut p, 4) as usize;
    let code = take(&mut p, code_len);
    assert!(p.is_empty(), "trailing octets after the code");
    StandardProgram {
        ro_data,
        rw_data,
        heap_pages,
        stack_size,
        code,
    }
}

fn parts(guest: &Guest) -> ProgramParts {
    ProgramParts::from_bytes(ArcBytes::from(guest.polkavm)).expect("the guest blob parses")
}

#[test]
fn code_and_standard_program_agree_with_the_polkavm_blob() {
    let page = |size: u32| size.div_ceil(4096) * 4096;
    for guest in guests() {
        let parts = parts(guest);
        assert_eq!(guest.code, &parts.code_and_jump_table[..], "{}", guest.name);
        let program = decode_standard_program(guest.program);
        assert_eq!(program.code, guest.code, "{}", guest.name);
        assert!(
            program.ro_data.starts_with(&parts.ro_data),
            "{}",
            guest.name
        );
        assert_eq!(
            page(u32::try_from(program.ro_data.len()).expect("small")),
            page(parts.ro_data_size)
        );
        assert_eq!(program.rw_data, &parts.rw_data[..], "{}", guest.name);
        let rw_len = u32::try_from(program.rw_data.len()).expect("small");
        assert_eq!(
            page(rw_len) + program.heap_pages * 4096,
            page(parts.rw_data_size)
        );
        assert_eq!(program.stack_size, parts.stack_size, "{}", guest.name);
        assert!(program.stack_size > 0, "{}", guest.name);
    }
    // The sieve table lives in zero-initialised read-write pages.
    let sieve = decode_standard_program(guest("sieve").expect("sieve").program);
    assert!(sieve.heap_pages * 4096 > u32::try_from(SIEVE_MAX_N / 2).expect("small"));
}

#[test]
fn code_hashes_differ() {
    let hashes: Vec<[u8; 32]> = guests().iter().map(Guest::code_hash).collect();
    assert_ne!(hashes[0], hashes[1]);
    assert_ne!(hashes[1], hashes[2]);
    assert_ne!(hashes[0], hashes[2]);
}

#[test]
fn reference_values() {
    assert_eq!(reference::sieve(1000), 168);
    assert_eq!(reference::sieve(1), 0);
    assert_eq!(reference::sieve(2), 1);
    assert_eq!(reference::sieve(SIEVE_MAX_N + 1), u64::MAX);
    assert_eq!(reference::blake2(0), 0);
    assert_eq!(reference::hostcall(41), 42);
}

/// Calls `main(args)` by name through polkavm's typed API.
fn call_main(blob: &'static [u8], arg: u64, gas_result: u64) -> u64 {
    let engine = engine();
    let module = Module::from_blob(&engine, &ModuleConfig::new(), parse(blob)).expect("module");
    let mut linker: Linker = Linker::new();
    linker
        .define_typed(HOSTCALL_SYMBOL, move |_: Caller| -> u64 { gas_result })
        .expect("define");
    let mut instance = linker
        .instantiate_pre(&module)
        .expect("imports resolve")
        .instantiate()
        .expect("instance");
    instance
        .call_typed_and_get_result::<u64, (u64,)>(&mut (), ENTRY, (arg,))
        .expect("main returns")
}

#[test]
fn sieve_counts_primes_on_the_interpreter() {
    assert_eq!(call_main(SIEVE, 1000, 0), 168);
    for n in [0, 1, 2, 3, 4, 10, 100, 7919, 65_536, SIEVE_MAX_N] {
        assert_eq!(call_main(SIEVE, n, 0), reference::sieve(n), "n = {n}");
    }
    assert_eq!(call_main(SIEVE, SIEVE_MAX_N + 1, 0), u64::MAX);
}

#[test]
fn blake2_matches_the_host_blake2b() {
    for rounds in [0, 1, 2, 3, 33, 100] {
        assert_eq!(
            call_main(BLAKE2, rounds, 0),
            reference::blake2(rounds),
            "rounds = {rounds}"
        );
    }
}

#[test]
fn hostcall_returns_the_host_result_plus_one() {
    for gas in [0, 41, 1_000_000, u64::MAX] {
        assert_eq!(call_main(HOSTCALL, 0, gas), reference::hostcall(gas));
    }
}

/// Runs a guest the GP way: a module built from the standard program's
/// sections alone (no symbols), entered at [`ENTRY_PC`] with `ω0` = the halt
/// address and the argument in `ω7`, host calls answered by index.
fn run_standard_program(guest: &Guest, arg: u64, gas_result: u64) -> u64 {
    let program = decode_standard_program(guest.program);
    let mut parts = ProgramParts::empty(InstructionSetKind::JamV1);
    parts.ro_data_size = u32::try_from(program.ro_data.len()).expect("small");
    parts.ro_data = ArcBytes::from(program.ro_data);
    let rw_len = u32::try_from(program.rw_data.len()).expect("small");
    parts.rw_data_size = rw_len.div_ceil(4096) * 4096 + program.heap_pages * 4096;
    parts.rw_data = ArcBytes::from(program.rw_data);
    parts.stack_size = program.stack_size;
    parts.code_and_jump_table = ArcBytes::from(program.code);
    let blob = ProgramBlob::from_parts(parts).expect("the standard program's code parses");

    let engine = engine();
    let mut config = ModuleConfig::new();
    config.set_strict(false);
    let module = Module::from_blob(&engine, &config, blob).expect("module");
    let mut instance = module.instantiate().expect("instance");
    instance.set_reg(Reg::RA, HALT_ADDRESS);
    instance.set_reg(Reg::SP, module.default_sp());
    instance.set_reg(Reg::A0, arg);
    instance.set_next_program_counter(ProgramCounter(ENTRY_PC));
    loop {
        match instance.run().expect("run") {
            InterruptKind::Finished => return instance.reg(Reg::A0),
            InterruptKind::Ecalli(index) => {
                assert_eq!(index, HOSTCALL_INDEX, "{}", guest.name);
                instance.set_reg(Reg::A0, gas_result);
            }
            other => panic!("{}: unexpected exit {other:?}", guest.name),
        }
    }
}

#[test]
fn standard_programs_run_from_program_counter_zero() {
    let sieve = guest("sieve").expect("sieve");
    assert_eq!(run_standard_program(sieve, 1000, 0), 168);
    let blake2 = guest("blake2").expect("blake2");
    assert_eq!(run_standard_program(blake2, 5, 0), reference::blake2(5));
    let hostcall = guest("hostcall").expect("hostcall");
    assert_eq!(run_standard_program(hostcall, 0, 99), 100);
}
