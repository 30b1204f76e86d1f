//! Hand-assembled programs in the GP 0.7.2 encoding (GP §A.5, instruction
//! tables), run on the interpreter and, where this machine can run it, also
//! on the recompiler with the outcomes compared.

use super::*;

/// `trap` (GP §A.5.1).
const TRAP: u8 = 0;
/// `fallthrough` (GP §A.5.1).
const FALLTHROUGH: u8 = 1;
/// `store_imm_u8` (GP §A.5.4, two immediates).
const STORE_IMM_U8: u8 = 30;
/// `jump_ind` (GP §A.5.6, one register and one immediate).
const JUMP_IND: u8 = 50;
/// `ecalli` (GP §A.5.2, one immediate).
const ECALLI: u8 = 10;
/// `move_reg` (GP §A.5.9, two registers).
const MOVE_REG: u8 = 100;

/// A code blob with an empty jump table: `E(0) ⌢ E_1(0) ⌢ E(|c|) ⌢ c ⌢ k`,
/// `instruction_starts` giving the offsets whose bitmask bit is set.
fn blob(code: &[u8], instruction_starts: &[usize]) -> Vec<u8> {
    assert!(code.len() < 128, "one-octet length prefix only");
    let mut out = vec![0, 0, u8::try_from(code.len()).expect("short")];
    out.extend_from_slice(code);
    let mut mask = vec![0u8; code.len().div_ceil(8)];
    for &i in instruction_starts {
        mask[i / 8] |= 1 << (i % 8);
    }
    out.extend_from_slice(&mask);
    out
}

fn pvm() -> Pvm {
    Pvm::new(PvmFlavor::Gp072).expect("the interpreter always starts")
}

/// Runs on every backend this machine has, checks they agree, and returns
/// the outcome.
fn run(code: &[u8], init: &InitialState) -> Outcome {
    let pvm = pvm();
    let first = pvm
        .run_code_blob(Backend::Interpreter, code, init)
        .expect("runs");
    if pvm.backend_unavailable(Backend::Compiler).is_none() {
        let compiled = pvm.crosscheck(code, init).expect("backends agree");
        assert_eq!(compiled, first);
    }
    first
}

fn with_gas(gas: i64) -> InitialState {
    InitialState {
        machine: MachineState {
            gas,
            ..MachineState::default()
        },
        ..InitialState::default()
    }
}

#[test]
fn trap_panics_at_its_own_pc() {
    let code = blob(&[FALLTHROUGH, TRAP], &[0, 1]);
    let out = run(&code, &with_gas(100));
    assert_eq!(out.exit, ExitReason::Panic);
    assert_eq!(out.machine.pc, 1);
    assert_eq!(
        out.machine.gas, 98,
        "one gas per instruction, trap included"
    );
}

#[test]
fn running_off_the_end_panics() {
    let code = blob(&[FALLTHROUGH], &[0]);
    let out = run(&code, &with_gas(100));
    assert_eq!(out.exit, ExitReason::Panic);
}

#[test]
fn dynamic_jump_to_halt_address_halts() {
    // jump_ind ω0 + 0, with ω0 = 2^32 − 2^16.
    let code = blob(&[JUMP_IND, 0x00], &[0]);
    let mut init = with_gas(10);
    init.machine.regs[0] = u64::from(HALT_ADDRESS);
    let out = run(&code, &init);
    assert_eq!(out.exit, ExitReason::Halt);
    assert_eq!(out.machine.gas, 9);
    assert_eq!(out.machine.regs, init.machine.regs);
}

#[test]
fn small_gas_runs_out() {
    let code = blob(
        &[FALLTHROUGH, FALLTHROUGH, FALLTHROUGH, TRAP],
        &[0, 1, 2, 3],
    );
    let out = run(&code, &with_gas(2));
    assert_eq!(out.exit, ExitReason::OutOfGas);
    assert_eq!(
        out.machine.pc, 2,
        "the instruction that could not be paid for"
    );
}

#[test]
fn negative_gas_runs_out_at_once() {
    let code = blob(&[TRAP], &[0]);
    let out = run(&code, &with_gas(-1));
    assert_eq!(out.exit, ExitReason::OutOfGas);
}

/// `store_imm_u8 [0x20000] = 0x2a`: immediate lengths 3 and 1.
fn store_0x20000() -> Vec<u8> {
    blob(&[STORE_IMM_U8, 0x03, 0x00, 0x00, 0x02, 0x2a, TRAP], &[0, 6])
}

#[test]
fn store_to_unmapped_page_faults_with_page_address() {
    let out = run(&store_0x20000(), &with_gas(10));
    assert_eq!(out.exit, ExitReason::PageFault(0x20000));
    assert_eq!(out.machine.pc, 0);
}

#[test]
fn store_to_read_only_page_faults() {
    let mut init = with_gas(10);
    init.pages.push(PageRange {
        address: 0x20000,
        length: PAGE_SIZE,
        is_writable: false,
    });
    let out = run(&store_0x20000(), &init);
    assert_eq!(out.exit, ExitReason::PageFault(0x20000));
}

#[test]
fn store_to_writable_page_lands() {
    let mut init = with_gas(10);
    init.pages.push(PageRange {
        address: 0x20000,
        length: PAGE_SIZE,
        is_writable: true,
    });
    init.memory.push(MemoryChunk {
        address: 0x20010,
        contents: vec![7, 0, 9],
    });
    let out = run(&store_0x20000(), &init);
    assert_eq!(out.exit, ExitReason::Panic);
    assert_eq!(out.machine.pc, 6);
    assert_eq!(
        out.nonzero_memory(),
        vec![
            MemoryChunk {
                address: 0x20000,
                contents: vec![0x2a]
            },
            MemoryChunk {
                address: 0x20010,
                contents: vec![7]
            },
            MemoryChunk {
                address: 0x20012,
                contents: vec![9]
            },
        ]
    );
}

#[test]
fn ecalli_exits_with_host_call() {
    let code = blob(&[ECALLI, 0x05, TRAP], &[0, 2]);
    let out = run(&code, &with_gas(10));
    assert_eq!(out.exit, ExitReason::HostCall(5));
    assert_eq!(out.machine.pc, 0);
}

#[test]
fn bad_blobs_are_typed_errors() {
    let pvm = pvm();
    let init = with_gas(10);
    for bad in [
        vec![],
        vec![0, 0],
        // Code length 2 but one octet of code.
        vec![0, 0, 2, 0],
        // Bitmask too long.
        vec![0, 0, 1, 0, 1, 1],
        // Jump table entry size above 4.
        vec![1, 5, 1, 0, 0, 0, 0, 0, 0, 0, 1],
    ] {
        for backend in Backend::ALL {
            if pvm.backend_unavailable(backend).is_some() {
                continue;
            }
            match pvm.run_code_blob(backend, &bad, &init) {
                Err(PvmError::InvalidBlob(_)) => {}
                other => panic!("{bad:?} on {backend}: {other:?}"),
            }
        }
    }
}

#[test]
fn bad_initial_memory_is_a_typed_error() {
    let pvm = pvm();
    let code = blob(&[TRAP], &[0]);
    let mut init = with_gas(10);
    init.memory.push(MemoryChunk {
        address: 0x20000,
        contents: vec![1],
    });
    assert!(matches!(
        pvm.run_code_blob(Backend::Interpreter, &code, &init),
        Err(PvmError::MemoryNotMapped {
            address: 0x20000,
            ..
        })
    ));
    let mut init = with_gas(10);
    init.pages.push(PageRange {
        address: 0x20001,
        length: PAGE_SIZE,
        is_writable: true,
    });
    assert!(matches!(
        pvm.run_code_blob(Backend::Interpreter, &code, &init),
        Err(PvmError::InvalidPages { .. })
    ));
}

#[test]
fn nonzero_runs_split_at_zeros() {
    let chunk = MemoryChunk {
        address: 100,
        contents: vec![0, 1, 2, 0, 0, 3],
    };
    assert_eq!(
        chunk.nonzero_runs(),
        vec![
            MemoryChunk {
                address: 101,
                contents: vec![1, 2]
            },
            MemoryChunk {
                address: 105,
                contents: vec![3]
            },
        ]
    );
}

/// polkavm 0.30 charges a basic block's gas when the block is entered, as
/// the PVM test vectors expect (their page faults cost the whole block).
/// GP 0.7.2 read literally charges instruction by instruction, which would
/// leave 99 gas at this host call and run out at pc 4, not 0.
#[test]
fn gas_is_charged_per_basic_block_on_entry() {
    let code = blob(&[ECALLI, 5, MOVE_REG, 0, MOVE_REG, 0, TRAP], &[0, 2, 4, 6]);
    let out = run(&code, &with_gas(100));
    assert_eq!(out.exit, ExitReason::HostCall(5));
    assert_eq!(out.machine.gas, 96);

    let code = blob(
        &[MOVE_REG, 0, MOVE_REG, 0, MOVE_REG, 0, TRAP],
        &[0, 2, 4, 6],
    );
    let out = run(&code, &with_gas(2));
    assert_eq!(out.exit, ExitReason::OutOfGas);
    assert_eq!((out.machine.pc, out.machine.gas), (0, 2));
}

#[test]
fn step_tracing_knows_the_halting_pc() {
    let code = blob(&[FALLTHROUGH, JUMP_IND, 0x00], &[0, 1]);
    let mut init = with_gas(10);
    init.machine.regs[0] = u64::from(HALT_ADDRESS);
    let traced = Pvm::with_options(PvmFlavor::Gp072, PvmOptions { step_tracing: true })
        .expect("the interpreter always starts");
    for backend in Backend::ALL {
        if traced.backend_unavailable(backend).is_some() {
            continue;
        }
        let out = traced.run_code_blob(backend, &code, &init).expect("runs");
        assert_eq!(
            (out.exit, out.machine.pc, out.machine.gas),
            (ExitReason::Halt, 1, 8)
        );
    }
    let untraced = run(&code, &init);
    assert_eq!(
        (untraced.exit, untraced.machine.pc, untraced.machine.gas),
        (ExitReason::Halt, 0, 8)
    );
}

/// `sbrk` (GP §A.5.9, two registers).
const SBRK: u8 = 101;

/// A raw code blob has no standard layout, so `h = 0` (GP §A.5.9) and the
/// instruction means nothing; polkavm's interpreter cannot run it with
/// dynamic paging. It panics, on both backends alike.
#[test]
fn sbrk_without_standard_layout_panics() {
    let code = blob(&[FALLTHROUGH, SBRK, 0x10, TRAP], &[0, 1, 3]);
    let out = run(&code, &with_gas(100));
    assert_eq!((out.exit, out.machine.pc), (ExitReason::Panic, 1));
}

/// polkavm 0.30's backends disagree on the pc a trap reports when a
/// conditional branch (here `branch_eq_imm ω0, 0` reading the zero-padded
/// code beyond the end, GP eq. A.3) targets an offset that starts no basic
/// block: the interpreter blames the block's first instruction, the
/// recompiler the branch. Everything else agrees. GP §A.1 returns `ı = 0`
/// after a panic anyway, so no protocol rule reads this pc.
#[test]
fn trap_pc_of_a_bad_branch_differs_between_backends() {
    let code = blob(&[107, 89], &[0, 1]);
    let pvm = pvm();
    let interpreted = pvm
        .run_code_blob(Backend::Interpreter, &code, &with_gas(100))
        .expect("runs");
    assert_eq!(
        (interpreted.exit, interpreted.machine.pc),
        (ExitReason::Panic, 0)
    );
    if pvm.backend_unavailable(Backend::Compiler).is_none() {
        let compiled = pvm
            .run_code_blob(Backend::Compiler, &code, &with_gas(100))
            .expect("runs");
        assert_eq!((compiled.exit, compiled.machine.pc), (ExitReason::Panic, 1));
        let mut same_pc = compiled.clone();
        same_pc.machine.pc = interpreted.machine.pc;
        assert_eq!(same_pc, interpreted);
    }
}

/// `add_64` (GP §A.5.13, three registers).
const ADD_64: u8 = 200;

/// GP §A.5 clamps a register number above 12 to `ω12`; polkavm 0.30's
/// recompiler would read 13 to 15 as `ω4`, so such code runs interpreted
/// on both backends and gives the GP result.
#[test]
fn register_numbers_above_12_mean_omega_12_on_both_backends() {
    // add_64 ω13→ω12 = ω0 + ω1; trap.
    let code = blob(&[ADD_64, 0x10, 0x0d, TRAP], &[0, 3]);
    let mut init = with_gas(10);
    init.machine.regs[0] = 5;
    init.machine.regs[1] = 7;
    init.machine.regs[4] = 99;
    let out = run(&code, &init);
    assert_eq!(out.exit, ExitReason::Panic);
    assert_eq!((out.machine.regs[12], out.machine.regs[4]), (12, 99));
    // The same through the nibble of a two-register instruction:
    // move_reg ω14→ω12 = ω1.
    let code = blob(&[MOVE_REG, 0x1e, TRAP], &[0, 2]);
    let out = run(&code, &init);
    assert_eq!((out.machine.regs[12], out.machine.regs[4]), (7, 99));
}

/// `fallthrough; move_reg; ecalli 0; move_reg; trap`: a block from offset 1.
fn block_with_ecalli() -> Vec<u8> {
    blob(
        &[FALLTHROUGH, MOVE_REG, 0x10, ECALLI, MOVE_REG, 0x10, TRAP],
        &[0, 1, 3, 4, 6],
    )
}

#[test]
fn next_instruction_offset_follows_the_bitmask() {
    let (pvm, code) = (pvm(), block_with_ecalli());
    let next = |pc| pvm.next_instruction_offset(&code, pc).expect("parses");
    assert_eq!(next(3), Some(4), "after the ecalli");
    assert_eq!(next(0), Some(1));
    assert_eq!(next(1), Some(3));
    assert_eq!(next(6), Some(7), "the last instruction");
    assert_eq!(
        next(2),
        Some(3),
        "skip is defined at any offset (GP eq. A.3)"
    );
    assert_eq!(next(7), None, "beyond the code");
    assert!(pvm.next_instruction_offset(&[0, 0, 5, 0], 0).is_err());
    assert!(pvm.is_valid_code_blob(&code));
    assert!(!pvm.is_valid_code_blob(&[0, 0, 5, 0]));
}

#[test]
fn entering_a_block_in_the_middle_charges_the_whole_block() {
    let (pvm, code) = (pvm(), block_with_ecalli());
    let overcharge = |pc| pvm.block_entry_overcharge(&code, pc).expect("parses");
    assert_eq!(
        [0, 1, 3, 4, 6].map(overcharge),
        [0, 0, 1, 2, 3],
        "instructions of the block before the pc"
    );
    // Resumed after the ecalli: polkavm charges the whole block
    // (move_reg, ecalli, move_reg, trap), though two of them run.
    let mut init = with_gas(10);
    init.machine.pc = 4;
    let out = run(&code, &init);
    assert_eq!((out.exit, out.machine.gas), (ExitReason::Panic, 6));
    init.machine.gas = 10 + overcharge(4);
    assert_eq!(run(&code, &init).machine.gas, 8, "two instructions paid");
}
