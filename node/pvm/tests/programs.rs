//! Standard programs (GP §A.7) through [`Pvm::run_program`]: the guests of
//! `parajam-guests` against their host references on both backends, the
//! memory layout and host-call access, `sbrk`, the module cache, and
//! malformed blobs.

use parajam_guests::{guest, guests, reference, ENTRY_PC, HOSTCALL_INDEX};
use parajam_pvm::testing::{code_blob, standard_blob};
use parajam_pvm::{
    Backend, ExitReason, HostCallAction, HostCallContext, Invocation, MachineState, MemoryFault,
    Program, ProgramResult, Pvm, PvmError, PvmFlavor, StandardProgramError, ARGS_ADDRESS,
    HALT_ADDRESS, MAX_INPUT_SIZE, PAGE_SIZE, STACK_TOP, ZONE_SIZE,
};

fn pvm() -> Pvm {
    Pvm::new(PvmFlavor::Gp072).expect("the interpreter always starts")
}

fn no_host_calls(_: HostCallContext<'_>) -> HostCallAction {
    HostCallAction::Panic
}

/// GP 0.7.2 `gas` (`Ω_G`): charge 10, `ω7 = ϱ'`.
fn gas_host_call(mut ctx: HostCallContext<'_>) -> HostCallAction {
    assert_eq!(ctx.index(), HOSTCALL_INDEX);
    if ctx.charge_gas(10).is_err() {
        return HostCallAction::OutOfGas;
    }
    let gas = u64::try_from(ctx.gas()).expect("not negative");
    ctx.set_reg(7, gas);
    HostCallAction::Continue
}

/// Runs a guest's `main(arg)` from its standard program (`ω7 = arg`).
fn run_guest(
    pvm: &Pvm,
    backend: Backend,
    name: &str,
    arg: u64,
    gas: i64,
) -> parajam_pvm::ProgramOutcome {
    let guest = guest(name).expect("guest");
    let program = Program::from_standard_blob(guest.program).expect("the guest program decodes");
    let mut invocation = Invocation::new(ENTRY_PC, gas, &[]);
    invocation.registers[7] = arg;
    pvm.run_invocation(backend, &program, &invocation, &mut gas_host_call)
        .expect("runs")
}

fn guests_compute_their_references(backend: Backend) {
    let pvm = pvm();
    for n in [0, 1, 2, 1000, 7919, 65_536] {
        let out = run_guest(&pvm, backend, "sieve", n, 100_000_000);
        assert_eq!(out.exit, ExitReason::Halt, "{backend} sieve({n})");
        assert_eq!(
            out.machine.regs[7],
            reference::sieve(n),
            "{backend} sieve({n})"
        );
    }
    let out = run_guest(&pvm, backend, "sieve", 1000, 10_000_000);
    assert_eq!(out.machine.regs[7], 168);
    assert!(out.gas_used() > 1000, "{backend}: {}", out.gas_used());
    for rounds in [0, 1, 3, 40] {
        let out = run_guest(&pvm, backend, "blake2", rounds, 100_000_000);
        assert_eq!(out.exit, ExitReason::Halt, "{backend} blake2({rounds})");
        assert_eq!(out.machine.regs[7], reference::blake2(rounds));
    }
    let out = run_guest(&pvm, backend, "hostcall", 0, 1_000);
    assert_eq!(out.exit, ExitReason::Halt);
    // The guest returns what the host call left in ω7, plus one; the
    // host call saw the gas after charging its 10.
    let host_result = out.machine.regs[7] - 1;
    assert_eq!(out.machine.regs[7], reference::hostcall(host_result));
    // `ecalli` ends no basic block (GP A.3), so the instructions after
    // it were paid with the block, before the host call.
    assert!(host_result < 1_000 - 10);
    assert_eq!(host_result, u64::try_from(out.machine.gas).expect("left"));
}

#[test]
fn backends_agree_on_every_guest() {
    let pvm = pvm();
    if pvm.backend_unavailable(Backend::Compiler).is_some() {
        return;
    }
    for (name, arg, gas, runs_out) in [
        ("sieve", 10_000, 10_000_000, false),
        ("sieve", 10_000, 5_000, true),
        ("blake2", 20, 10_000_000, false),
        ("blake2", 20, 7_777, true),
        ("hostcall", 0, 1_000, false),
        ("hostcall", 0, 12, true), // the host call itself runs out
    ] {
        let a = run_guest(&pvm, Backend::Interpreter, name, arg, gas);
        let b = run_guest(&pvm, Backend::Compiler, name, arg, gas);
        assert_eq!(a.exit, b.exit, "{name} with {gas}");
        assert_eq!(a.machine, b.machine, "{name} with {gas}");
        assert_eq!(a.result(), b.result(), "{name} with {gas}");
        if runs_out {
            assert_eq!(a.exit, ExitReason::OutOfGas, "{name} with {gas}");
            assert_eq!(a.result(), ProgramResult::OutOfGas);
        }
    }
    let program =
        Program::from_standard_blob(guest("hostcall").expect("guest").program).expect("decodes");
    let out = pvm
        .crosscheck_program(
            &program,
            &Invocation::new(ENTRY_PC, 1_000, &[]),
            &mut gas_host_call,
        )
        .expect("agree");
    assert_eq!(out.exit, ExitReason::Halt);
}

/// The guests, compiled Rust, on both backends in lockstep: the same pc,
/// registers and gas after every instruction and at the host call.
#[test]
fn backends_agree_on_the_guests_instruction_by_instruction() {
    let pvm = pvm();
    if pvm.backend_unavailable(Backend::Compiler).is_some() {
        return;
    }
    for (name, arg, gas) in [
        ("sieve", 100, 1_000_000),
        ("sieve", 100, 700),
        ("blake2", 1, 1_000_000),
        ("hostcall", 0, 1_000),
        ("hostcall", 0, 12),
    ] {
        let program =
            Program::from_standard_blob(guest(name).expect("guest").program).expect("decodes");
        let mut invocation = Invocation::new(ENTRY_PC, gas, &[]);
        invocation.registers[7] = arg;
        let stepped = pvm
            .crosscheck_program_steps(&program, &invocation, &mut gas_host_call)
            .unwrap_or_else(|e| panic!("{name}({arg}) with {gas}: {e}"));
        let alone = run_guest(&pvm, Backend::Interpreter, name, arg, gas);
        assert_eq!(stepped.outcome.exit, alone.exit, "{name}");
        assert_eq!(stepped.outcome.machine, alone.machine, "{name}");
        assert!(stepped.instructions > 0, "{name}");
    }
}

const TRAP: u8 = 0;
const ECALLI: u8 = 10;
const JUMP: u8 = 40;
const SBRK: u8 = 101;
const MOVE_REG: u8 = 100;
const LOAD_U8: u8 = 52;
const LOAD_IND_U8: u8 = 124;
const BRANCH_EQ_IMM: u8 = 81;

/// A panic in the middle of a basic block charges the instructions run up
/// to and including the one that panicked, not the rest of the block that
/// polkavm charged on entering it (GP §A.4, one gas per instruction), on
/// both backends. Here a load from a page the standard layout leaves
/// inaccessible (a fault in the GP, which `Ψ_M` turns into a panic;
/// polkavm traps) is the second of five instructions.
fn fault_mid_block_program() -> Program {
    // move_reg; load_u8 ω0 ← μ[0x30000]; move_reg; move_reg; trap.
    let code = code_blob(
        &[
            MOVE_REG, 0x10, LOAD_U8, 0x00, 0x00, 0x00, 0x03, MOVE_REG, 0x10, MOVE_REG, 0x10, TRAP,
        ],
        &[0, 2, 7, 9, 11],
    );
    Program::from_standard_blob(&standard_blob(&[], &[], 0, 0, &code)).expect("decodes")
}

fn a_fault_mid_block_charges_the_instructions_run(backend: Backend) {
    let out = pvm()
        .run_program(
            backend,
            &fault_mid_block_program(),
            0,
            100,
            &[],
            &mut no_host_calls,
        )
        .expect("runs");
    assert_eq!(
        (out.exit, out.machine.pc, out.gas_used()),
        (ExitReason::Panic, 0, 2)
    );
    assert_eq!(out.result(), ProgramResult::Panic);
}

/// [`a_fault_mid_block_charges_the_instructions_run`] in lockstep: the
/// backends agree after every instruction, and two instructions ran.
#[test]
fn backends_agree_on_a_fault_mid_block() {
    let pvm = pvm();
    if pvm.backend_unavailable(Backend::Compiler).is_some() {
        return;
    }
    let stepped = pvm
        .crosscheck_program_steps(
            &fault_mid_block_program(),
            &Invocation::new(0, 100, &[]),
            &mut no_host_calls,
        )
        .expect("agree");
    assert_eq!((stepped.instructions, stepped.outcome.gas_used()), (2, 2));
}

/// After a host call the machine goes on in the middle of the `ecalli`'s
/// block. A taken branch to no block start there panics at the branch, the
/// end of the block, so the whole block is charged on both backends.
/// (polkavm's interpreter reports a trap of such a branch at the pc where
/// its run resumed, here the load after the `ecalli`: the interpreter runs
/// code with such a branch step-traced to know the branch.)
fn bad_branch_after_a_host_call_program() -> Program {
    // ecalli 0; load_ind_u8 ω2 ← μ[ω7]; move_reg; branch_eq_imm ω2 = 0 to 3
    // (inside the load); trap.
    let code = code_blob(
        &[
            ECALLI,
            0,
            LOAD_IND_U8,
            0x72,
            MOVE_REG,
            0x10,
            BRANCH_EQ_IMM,
            0x02,
            0xfd,
            TRAP,
        ],
        &[0, 2, 4, 6, 9],
    );
    Program::from_standard_blob(&standard_blob(&[], &[], 0, 0, &code)).expect("decodes")
}

fn a_bad_branch_after_a_host_call_charges_its_whole_block(backend: Backend) {
    let mut calls = 0;
    let out = pvm()
        .run_program(
            backend,
            &bad_branch_after_a_host_call_program(),
            0,
            100,
            &[0],
            &mut |_| {
                calls += 1;
                HostCallAction::Continue
            },
        )
        .expect("runs");
    assert_eq!(calls, 1);
    assert_eq!(
        (out.exit, out.machine.pc, out.gas_used()),
        (ExitReason::Panic, 0, 4)
    );
}

/// [`a_bad_branch_after_a_host_call_charges_its_whole_block`] in lockstep
/// and compared at the host call: the backends agree, four instructions ran.
#[test]
fn backends_agree_on_a_bad_branch_after_a_host_call() {
    let pvm = pvm();
    if pvm.backend_unavailable(Backend::Compiler).is_some() {
        return;
    }
    let program = bad_branch_after_a_host_call_program();
    let invocation = Invocation::new(0, 100, &[0]);
    let stepped = pvm
        .crosscheck_program_steps(&program, &invocation, &mut |_| HostCallAction::Continue)
        .expect("agree");
    assert_eq!((stepped.instructions, stepped.outcome.gas_used()), (4, 4));
    // Compared at the host call only: the interpreter steps here, the
    // compiler does not.
    let out = pvm
        .crosscheck_program(&program, &invocation, &mut |_| HostCallAction::Continue)
        .expect("agree");
    assert_eq!(out.gas_used(), 4);
}

#[allow(clippy::too_many_lines)] // one walk over the whole layout
fn memory_layout_is_gp_a7_and_host_access_follows_it(backend: Backend) {
    let pvm = pvm();
    // `ecalli 0; trap`, with 5000 octets of `o`, 3 of `w`, 2 heap pages
    // and a 100-octet stack.
    let code = code_blob(&[ECALLI, 0, TRAP], &[0, 2]);
    let o: Vec<u8> = (0..5000u32).map(|i| i.to_le_bytes()[0] | 1).collect();
    let p = standard_blob(&o, &[7, 8, 9], 2, 100, &code);
    let program = Program::from_standard_blob(&p).expect("decodes");
    assert_eq!(
        (
            program.ro_data_len(),
            program.rw_data_len(),
            program.heap_pages(),
            program.stack_size()
        ),
        (5000, 3, 2, 100)
    );
    let args = b"hello arguments";
    let layout = program.layout(u32::try_from(args.len()).expect("short"));
    let heap = 2 * ZONE_SIZE + ZONE_SIZE; // 2 Z_Z + ⟦5000⟧_Z
    assert_eq!(layout.ro_data, (ZONE_SIZE, 2 * PAGE_SIZE));
    assert_eq!(layout.rw_data, (heap, 3 * PAGE_SIZE));
    assert_eq!(layout.stack, (STACK_TOP - PAGE_SIZE, PAGE_SIZE));
    assert_eq!(layout.args, (ARGS_ADDRESS, PAGE_SIZE));

    let mut calls = 0;
    let out = pvm
        .run_program(
            backend,
            &program,
            0,
            100,
            args,
            &mut |mut ctx: HostCallContext<'_>| {
                calls += 1;
                let regs = ctx.registers();
                assert_eq!(regs[0], u64::from(HALT_ADDRESS));
                assert_eq!(regs[1], u64::from(STACK_TOP));
                assert_eq!(regs[7], u64::from(ARGS_ADDRESS));
                assert_eq!(regs[8], args.len() as u64);
                assert_eq!(ctx.pc(), 0);
                // Arguments: readable to the page end, never writable.
                assert_eq!(ctx.read_memory(regs[7], regs[8]).expect("args"), args);
                assert!(ctx.is_readable(u64::from(ARGS_ADDRESS), u64::from(PAGE_SIZE)));
                assert!(!ctx.is_readable(u64::from(ARGS_ADDRESS), u64::from(PAGE_SIZE) + 1));
                assert_eq!(
                    ctx.write_memory(u64::from(ARGS_ADDRESS), b"x"),
                    Err(MemoryFault {
                        address: u64::from(ARGS_ADDRESS),
                        length: 1
                    })
                );
                // Read-only data: `o` then zeroes to the page end.
                let ro = ctx
                    .read_memory(u64::from(ZONE_SIZE), 2 * u64::from(PAGE_SIZE))
                    .expect("ro");
                assert_eq!(&ro[..5000], &o[..]);
                assert!(ro[5000..].iter().all(|&b| b == 0));
                assert!(!ctx.is_writable(u64::from(ZONE_SIZE), 1));
                assert!(!ctx.is_readable(u64::from(ZONE_SIZE) + 2 * u64::from(PAGE_SIZE), 1));
                // Read-write data and the heap pages.
                assert_eq!(
                    ctx.read_memory(u64::from(heap), 4).expect("rw"),
                    [7, 8, 9, 0]
                );
                assert!(ctx.is_writable(u64::from(heap), 3 * u64::from(PAGE_SIZE)));
                assert!(!ctx.is_readable(u64::from(heap) + 3 * u64::from(PAGE_SIZE), 1));
                assert!(!ctx.is_readable(u64::from(heap) - 1, 1));
                // The stack.
                assert!(ctx.is_writable(
                    u64::from(STACK_TOP) - u64::from(PAGE_SIZE),
                    u64::from(PAGE_SIZE)
                ));
                assert!(!ctx.is_readable(u64::from(STACK_TOP), 1));
                assert!(!ctx.is_readable(u64::from(STACK_TOP) - u64::from(PAGE_SIZE) - 1, 1));
                // Nothing below 2^16 or past 2^32; empty ranges always.
                assert!(!ctx.is_readable(0, 1));
                assert!(!ctx.is_readable(u64::from(u32::MAX), 2));
                assert!(ctx.read_memory(u64::MAX, 0).expect("empty").is_empty());
                // A write lands; the output is what ω7, ω8 point at on a halt.
                ctx.write_memory(u64::from(heap) + 100, b"output")
                    .expect("rw");
                ctx.set_reg(7, u64::from(heap) + 100);
                ctx.set_reg(8, 6);
                // The block `ecalli; trap` was paid on entry (see the
                // crate's `gas_is_charged_per_basic_block_on_entry`).
                assert_eq!(ctx.gas(), 98);
                ctx.set_gas(50);
                HostCallAction::Halt
            },
        )
        .expect("runs");
    assert_eq!(calls, 1);
    assert_eq!(out.exit, ExitReason::Halt);
    assert_eq!(out.gas_used(), 50);
    assert_eq!(out.result(), ProgramResult::Output(b"output".to_vec()));

    // A halt whose ω7/ω8 range is unreadable returns no octets.
    let out = pvm
        .run_program(
            backend,
            &program,
            0,
            100,
            args,
            &mut |mut ctx: HostCallContext<'_>| {
                ctx.set_reg(8, 1 << 40);
                HostCallAction::Halt
            },
        )
        .expect("runs");
    assert_eq!(out.result(), ProgramResult::Output(Vec::new()));
    // Host-call panics and out-of-gas end the run. A panic has run the
    // `ecalli` only: the `trap` after it in its block is given back.
    for (action, result, used) in [
        (HostCallAction::Panic, ProgramResult::Panic, 1),
        (HostCallAction::OutOfGas, ProgramResult::OutOfGas, 100),
    ] {
        let out = pvm
            .run_program(backend, &program, 0, 100, args, &mut |_| action)
            .expect("runs");
        assert_eq!((out.result(), out.gas_used()), (result, used));
    }
    // Continue goes on after the ecalli: the trap, already paid for
    // with its block. After a panic the pc is 0 (GP §A.1).
    let out = pvm
        .run_program(backend, &program, 0, 100, args, &mut |_| {
            HostCallAction::Continue
        })
        .expect("runs");
    assert_eq!((out.exit, out.machine.pc), (ExitReason::Panic, 0));
    assert_eq!(out.gas_used(), 2);
    // Out of gas names the instruction it could not pay for, and has
    // used all the gas it had (GP §A.8: `max(ϱ', 0) = 0`).
    let out = pvm
        .run_program(backend, &program, 0, 1, args, &mut no_host_calls)
        .expect("runs");
    assert_eq!(
        (out.exit, out.machine.pc, out.gas_used()),
        (ExitReason::OutOfGas, 0, 1)
    );
}

fn a_loop_runs_out_of_gas(backend: Backend) {
    let pvm = pvm();
    // `jump 0`: a one-instruction loop.
    let program =
        Program::from_standard_blob(&standard_blob(&[], &[], 0, 0, &code_blob(&[JUMP], &[0])))
            .expect("decodes");
    let out = pvm
        .run_program(backend, &program, 0, 10_000, &[], &mut no_host_calls)
        .expect("runs");
    assert_eq!(out.exit, ExitReason::OutOfGas);
    assert_eq!(out.gas_used(), 10_000);
    assert_eq!(out.result(), ProgramResult::OutOfGas);
}

fn sbrk_grows_the_heap(backend: Backend) {
    let pvm = pvm();
    // `sbrk ω9 ← ω8; ecalli 0; trap`: the host looks at the heap.
    let code = code_blob(&[SBRK, 0x89, ECALLI, 0, TRAP], &[0, 2, 4]);
    let program =
        Program::from_standard_blob(&standard_blob(&[], &[1, 2], 1, 4096, &code)).expect("decodes");
    let (heap, heap_len) = program.layout(0).rw_data;
    assert_eq!(heap_len, 2 * PAGE_SIZE);
    let mut invocation = Invocation::new(0, 100, &[]);
    invocation.registers[8] = 3 * u64::from(PAGE_SIZE) + 5;
    let mut seen = None;
    let out = pvm
        .run_invocation(
            backend,
            &program,
            &invocation,
            &mut |mut ctx: HostCallContext<'_>| {
                seen = Some(ctx.reg(9));
                let end = u64::from(heap + heap_len);
                // The new pages are writable up to the page-rounded top.
                assert!(ctx.is_writable(end, 4 * u64::from(PAGE_SIZE)));
                assert!(!ctx.is_readable(end + 4 * u64::from(PAGE_SIZE), 1));
                ctx.write_memory(end + 1, b"heap").expect("writable");
                HostCallAction::Halt
            },
        )
        .expect("runs");
    assert_eq!(out.exit, ExitReason::Halt);
    // polkavm's sbrk returns the new end of the heap (see the crate docs).
    assert_eq!(
        seen,
        Some(u64::from(heap + heap_len) + 3 * u64::from(PAGE_SIZE) + 5),
        "{backend}"
    );
}

/// What the host call of `sbrk ω9 ← ω8; ecalli 0; trap` sees of the
/// standard layout after an invocation with `args` and `ω8 = grow`, having
/// first written into every writable region it sees: ω9, and the
/// contents or the inaccessibility of the rw data, the stack, the
/// argument zone (its page-rounded length and one page beyond) and the
/// heap above the initial one.
fn layout_seen(
    pvm: &Pvm,
    backend: Backend,
    program: &Program,
    args: &[u8],
    grow: u64,
) -> (
    Vec<String>,
    ExitReason,
    MachineState,
    u64,
    parajam_pvm::ProgramOutcome,
) {
    let layout = program.layout(u32::try_from(args.len()).expect("short"));
    let page = u64::from(PAGE_SIZE);
    let mut invocation = Invocation::new(0, 100, args);
    invocation.registers[8] = grow;
    let mut seen = Vec::new();
    let out = pvm
        .run_invocation(
            backend,
            program,
            &invocation,
            &mut |mut ctx: HostCallContext<'_>| {
                seen.push(format!("ω9 {}", ctx.reg(9)));
                let (rw, rw_len) = layout.rw_data;
                let (stack, stack_len) = layout.stack;
                let (zone, zone_len) = layout.args;
                let heap_end = u64::from(rw) + u64::from(rw_len);
                for (what, address, length) in [
                    ("rw", u64::from(rw), u64::from(rw_len)),
                    ("stack", u64::from(stack), u64::from(stack_len)),
                    ("args", u64::from(zone), u64::from(zone_len) + page),
                    ("heap above", heap_end, 4 * page),
                ] {
                    for at in (address..address + length).step_by(1024) {
                        let read = ctx
                            .read_memory(at, 1024)
                            .map(|b| b.iter().map(|&x| u64::from(x)).sum::<u64>());
                        seen.push(format!("{what} {at:#x}: {read:?}"));
                        if ctx.is_writable(at, 1024) {
                            ctx.write_memory(at, &[0xee; 1024]).expect("writable");
                        }
                    }
                }
                HostCallAction::Halt
            },
        )
        .expect("runs");
    (seen, out.exit, out.machine, out.gas_used(), out)
}

/// An instance handed back by [`Pvm::recycle`] runs the next invocation
/// from `Y(p, a)` exactly as a new one does: written rw data, stack and
/// heap are back to their initial contents, the heap that `sbrk` grew is
/// gone, and the argument zone holds the new (shorter) arguments and
/// nothing of the old.
fn a_recycled_instance_runs_as_a_new_one(backend: Backend) {
    let code = code_blob(&[SBRK, 0x89, ECALLI, 0, TRAP], &[0, 2, 4]);
    let program = Program::from_standard_blob(&standard_blob(&[3; 10], &[1, 2], 1, 4096, &code))
        .expect("decodes");
    let pvm = pvm();
    let long = vec![0xaa; 3 * PAGE_SIZE as usize + 7];
    let first = layout_seen(&pvm, backend, &program, &long, 3 * u64::from(PAGE_SIZE) + 5);
    assert_eq!(first.1, ExitReason::Halt, "{backend}");
    pvm.recycle(first.4);
    for round in 0..3 {
        let again = layout_seen(&pvm, backend, &program, b"xy", 0);
        let fresh = layout_seen(
            &Pvm::new(PvmFlavor::Gp072).expect("starts"),
            backend,
            &program,
            b"xy",
            0,
        );
        assert_eq!(again.0, fresh.0, "{backend}, round {round}");
        assert_eq!(
            (again.1, again.2, again.3),
            (fresh.1, fresh.2, fresh.3),
            "{backend}, round {round}"
        );
        pvm.recycle(again.4);
    }
}

#[test]
fn the_module_cache_reuses_modules_by_code_hash() {
    let pvm = pvm().with_module_cache_capacity(2);
    let sieve =
        Program::from_standard_blob(guest("sieve").expect("sieve").program).expect("decodes");
    assert_eq!(
        sieve.code_hash(),
        guest("sieve").expect("sieve").code_hash()
    );
    let blake2 =
        Program::from_standard_blob(guest("blake2").expect("blake2").program).expect("decodes");
    let hostcall =
        Program::from_standard_blob(guest("hostcall").expect("hostcall").program).expect("decodes");
    let backend = pvm.preferred_backend();
    pvm.prepare(backend, &sieve).expect("compiles");
    pvm.prepare(backend, &sieve).expect("cached");
    let stats = pvm.module_cache_stats();
    assert_eq!(
        (stats.hits, stats.misses, stats.entries, stats.capacity),
        (1, 1, 1, 2)
    );
    // A second parse of the same blob hits too.
    let again =
        Program::from_standard_blob(guest("sieve").expect("sieve").program).expect("decodes");
    let out = pvm
        .run_program(
            backend,
            &again,
            ENTRY_PC,
            1_000_000,
            &[],
            &mut no_host_calls,
        )
        .expect("runs");
    assert_eq!(out.exit, ExitReason::Halt);
    assert_eq!(pvm.module_cache_stats().hits, 2);
    // The least recently used goes first.
    pvm.prepare(backend, &blake2).expect("compiles");
    pvm.prepare(backend, &sieve).expect("cached");
    pvm.prepare(backend, &hostcall)
        .expect("compiles, evicting blake2");
    pvm.prepare(backend, &sieve).expect("still cached");
    let stats = pvm.module_cache_stats();
    assert_eq!((stats.hits, stats.misses, stats.entries), (4, 3, 2));
    pvm.prepare(backend, &blake2).expect("compiles again");
    assert_eq!(pvm.module_cache_stats().misses, 4);
    pvm.clear_module_cache();
    assert_eq!(pvm.module_cache_stats().entries, 0);

    // Shared between threads.
    let pvm = std::sync::Arc::new(self::pvm());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let pvm = pvm.clone();
            std::thread::spawn(move || {
                let program = Program::from_standard_blob(guests()[0].program).expect("decodes");
                let mut invocation = Invocation::new(ENTRY_PC, 10_000_000, &[]);
                invocation.registers[7] = 100 * (i + 1);
                let out = pvm
                    .run_invocation(
                        pvm.preferred_backend(),
                        &program,
                        &invocation,
                        &mut no_host_calls,
                    )
                    .expect("runs");
                assert_eq!(out.machine.regs[7], reference::sieve(100 * (i + 1)));
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("no panic");
    }
    assert_eq!(
        pvm.module_cache_stats().hits + pvm.module_cache_stats().misses,
        4
    );
}

#[test]
fn malformed_standard_programs_are_typed_errors() {
    let code = code_blob(&[TRAP], &[0]);
    let good = standard_blob(&[1, 2, 3], &[4, 5], 1, 16, &code);
    assert!(Program::from_standard_blob(&good).is_ok());
    // Every proper prefix is truncated.
    for len in 0..good.len() {
        match Program::from_standard_blob(&good[..len]) {
            Err(PvmError::StandardProgram(StandardProgramError::Truncated { .. })) => {}
            other => panic!("prefix of {len}: {other:?}"),
        }
    }
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(matches!(
        Program::from_standard_blob(&trailing),
        Err(PvmError::StandardProgram(
            StandardProgramError::TrailingOctets { count: 1 }
        ))
    ));
    // Lengths larger than the blob.
    let mut huge = standard_blob(&[], &[], 0, 0, &code);
    huge[0..3].copy_from_slice(&[0xff, 0xff, 0xff]);
    assert!(matches!(
        Program::from_standard_blob(&huge),
        Err(PvmError::StandardProgram(StandardProgramError::Truncated {
            field: "o",
            ..
        }))
    ));
    let mut huge_code = standard_blob(&[], &[], 0, 0, &code);
    let at = huge_code.len() - code.len() - 4;
    huge_code[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        Program::from_standard_blob(&huge_code),
        Err(PvmError::StandardProgram(StandardProgramError::Truncated {
            field: "c",
            ..
        }))
    ));
    // The largest sizes the encoding allows still fit GP's condition
    // (5 Z_Z + 3 · 2^24 + 2^28 < 2^32), so the address-space check can
    // never fail for a decodable blob: the heap and stack are huge but legal.
    let big = standard_blob(&[], &[], u16::MAX, (1 << 24) - 1, &code);
    assert!(Program::from_standard_blob(&big).is_ok());
    // A bad code blob.
    let bad_code = standard_blob(&[], &[], 0, 0, &[0, 0, 2, 0]);
    assert!(matches!(
        Program::from_standard_blob(&bad_code),
        Err(PvmError::InvalidBlob(_))
    ));
    // Arguments above Z_I.
    let pvm = pvm();
    let program = Program::from_standard_blob(&good).expect("decodes");
    let args = vec![0; MAX_INPUT_SIZE as usize + 1];
    assert!(matches!(
        pvm.run_program(
            Backend::Interpreter,
            &program,
            0,
            10,
            &args,
            &mut no_host_calls
        ),
        Err(PvmError::ArgumentsTooLong { .. })
    ));
    let args = vec![1; MAX_INPUT_SIZE as usize];
    let out = pvm
        .run_program(
            Backend::Interpreter,
            &program,
            0,
            10,
            &args,
            &mut no_host_calls,
        )
        .expect("Z_I octets are fine");
    assert_eq!(
        out.read_memory(u64::from(ARGS_ADDRESS) + u64::from(MAX_INPUT_SIZE) - 1, 1),
        Ok(vec![1])
    );
}

/// The exits and machines of runs of `ecalli 0; trap` from entry points
/// that start no instruction: each panics.
fn odd_entry_outcomes(pvm: &Pvm, backend: Backend) -> Vec<(ExitReason, MachineState)> {
    let code = code_blob(&[ECALLI, 0, TRAP], &[0, 2]);
    let program =
        Program::from_standard_blob(&standard_blob(&[], &[], 0, 0, &code)).expect("decodes");
    [1, 3, 1000, u32::MAX]
        .into_iter()
        .map(|entry| {
            let out = pvm
                .run_program(backend, &program, entry, 100, &[], &mut no_host_calls)
                .expect("runs");
            assert_eq!(out.exit, ExitReason::Panic, "entry {entry} on {backend}");
            (out.exit, out.machine)
        })
        .collect()
}

fn odd_entry_points_panic_without_harm(backend: Backend) {
    odd_entry_outcomes(&pvm(), backend);
}

#[test]
fn backends_agree_on_odd_entry_points() {
    let pvm = pvm();
    if pvm.backend_unavailable(Backend::Compiler).is_some() {
        return;
    }
    assert_eq!(
        odd_entry_outcomes(&pvm, Backend::Interpreter),
        odd_entry_outcomes(&pvm, Backend::Compiler)
    );
}

#[test]
fn cached_programs_are_parsed_once_per_key_and_bad_ones_not_kept() {
    let pvm = pvm();
    let code = code_blob(&[ECALLI, 0, TRAP], &[0, 2]);
    let p = standard_blob(&[], &[], 0, 0, &code);
    let first = pvm.cached_program([1; 32], &p).expect("valid");
    // A hit returns the program parsed the first time, whatever the octets
    // (the caller promises the key determines them).
    let again = pvm
        .cached_program([1; 32], b"not even a program")
        .expect("cached");
    assert_eq!(again.code_hash(), first.code_hash());
    // A bad blob is an error, and its key stays unknown.
    assert!(pvm.cached_program([2; 32], b"junk").is_err());
    assert!(pvm.cached_program([2; 32], &p).is_ok());
}

/// A PVM whose recompiler runs only in `sandbox`.
fn pvm_in(sandbox: parajam_pvm::Sandbox) -> Pvm {
    let options = parajam_pvm::PvmOptions {
        sandbox: parajam_pvm::SandboxChoice::Only(sandbox),
        ..parajam_pvm::PvmOptions::default()
    };
    Pvm::with_options(PvmFlavor::Gp072, options).expect("the interpreter always starts")
}

/// The guests on the recompiler in `sandbox` give the interpreter's exit,
/// registers, gas and result, with and without running out of gas.
fn sandbox_agrees_with_the_interpreter(sandbox: parajam_pvm::Sandbox) {
    let pvm = pvm_in(sandbox);
    let used = pvm.compiler_sandbox().unwrap_or_else(|| {
        panic!(
            "{sandbox}: {:?}",
            pvm.backend_unavailable(Backend::Compiler)
        )
    });
    assert_eq!(used, sandbox);
    for (name, arg, gas) in [
        ("sieve", 10_000, 10_000_000),
        ("sieve", 10_000, 5_000),
        ("blake2", 20, 10_000_000),
        ("blake2", 20, 7_777),
        ("hostcall", 0, 1_000),
        ("hostcall", 0, 12),
    ] {
        let a = run_guest(&pvm, Backend::Interpreter, name, arg, gas);
        let b = run_guest(&pvm, Backend::Compiler, name, arg, gas);
        assert_eq!(a.exit, b.exit, "{sandbox}: {name} with {gas}");
        assert_eq!(a.machine, b.machine, "{sandbox}: {name} with {gas}");
        assert_eq!(a.result(), b.result(), "{sandbox}: {name} with {gas}");
    }
}

/// The in-process sandbox, asked for explicitly: needs no kernel
/// setting, so it runs on every machine.
#[test]
fn generic_sandbox_agrees_with_the_interpreter() {
    sandbox_agrees_with_the_interpreter(parajam_pvm::Sandbox::Generic);
}

/// polkavm's Linux sandbox, where the kernel lets its worker use
/// userfaultfd (CI sets `vm.unprivileged_userfaultfd = 1`).
#[test]
fn linux_sandbox_agrees_with_the_interpreter() {
    if !userfaultfd_allowed() {
        eprintln!("skipped: vm.unprivileged_userfaultfd is 0 here, the Linux sandbox cannot start");
        return;
    }
    sandbox_agrees_with_the_interpreter(parajam_pvm::Sandbox::Linux);
}

fn userfaultfd_allowed() -> bool {
    std::fs::read_to_string("/proc/sys/vm/unprivileged_userfaultfd")
        .map_or(true, |v| v.trim() == "1")
}

/// By default the recompiler runs in the generic (in-process) sandbox,
/// which needs no kernel setting, and is the preferred backend; the Linux
/// sandbox only when asked for.
#[test]
fn the_default_sandbox_is_the_generic_one() {
    if std::env::var_os("PARAJAM_PVM_SANDBOX").is_some() {
        eprintln!("skipped: PARAJAM_PVM_SANDBOX chooses the sandbox");
        return;
    }
    let pvm = pvm();
    assert_eq!(pvm.compiler_sandbox(), Some(parajam_pvm::Sandbox::Generic));
    assert_eq!(pvm.preferred_backend(), Backend::Compiler);
}

parajam_pvm::backend_tests! {
    guests_compute_their_references,
    a_fault_mid_block_charges_the_instructions_run,
    a_bad_branch_after_a_host_call_charges_its_whole_block,
    memory_layout_is_gp_a7_and_host_access_follows_it,
    a_loop_runs_out_of_gas,
    sbrk_grows_the_heap,
    odd_entry_points_panic_without_harm,
    a_recycled_instance_runs_as_a_new_one,
}
