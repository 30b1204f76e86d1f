//! Random blobs, as GP code blobs (`deblob`, GP A.2) and as standard
//! programs (`Y`, GP A.7), under a small gas limit on both backends: the
//! host never panics or hangs, every run ends in a typed error or a GP exit
//! reason, and the backends agree, at the end and, in lockstep, after every
//! instruction and at every host call. The lockstep run also counts the
//! instructions begun, which is the gas the GP charges (one per instruction
//! in GP 0.7.x) for a run that panics or halts: the gas a run is said to
//! use must be exactly that.
//!
//! Each test is a crosscheck of the two backends (`backends_agree_on_*`),
//! so it runs both in one test rather than one test per backend; where the
//! recompiler cannot start here, only the interpreter's half runs.

use parajam_pvm::testing::{code_blob as code_blob_of, standard_blob};
use parajam_pvm::{
    Backend, ExitReason, HostCallAction, HostCallContext, InitialState, Invocation, MachineState,
    PageRange, Program, Pvm, PvmError, PvmFlavor, PAGE_SIZE,
};
use proptest::prelude::*;

const GAS: i64 = 2_000;

fn pvm() -> &'static Pvm {
    static PVM: std::sync::OnceLock<Pvm> = std::sync::OnceLock::new();
    PVM.get_or_init(|| Pvm::new(PvmFlavor::Gp072).expect("the interpreter always starts"))
}

fn backends() -> Vec<Backend> {
    Backend::ALL
        .into_iter()
        .filter(|&b| pvm().backend_unavailable(b).is_none())
        .collect()
}

/// A well-formed code blob around random code: a jump table of 0..4
/// entries of size 1..=4, random code, random opcode bitmask.
fn code_blob() -> impl Strategy<Value = Vec<u8>> {
    (
        0usize..4,
        1u8..=4,
        proptest::collection::vec(any::<u8>(), 1..120),
        any::<u64>(),
    )
        .prop_flat_map(|(entries, size, code, seed)| {
            proptest::collection::vec(any::<u8>(), entries * usize::from(size)).prop_map(
                move |table| {
                    let mut out = vec![u8::try_from(entries).expect("small"), size];
                    // `E(|c|)` in the GP natural encoding: one or two octets.
                    let len = code.len();
                    if len < 128 {
                        out.push(u8::try_from(len).expect("small"));
                    } else {
                        out.push(0x80 | u8::try_from(len >> 8).expect("small"));
                        out.push(u8::try_from(len & 0xff).expect("small"));
                    }
                    out.extend_from_slice(&table);
                    out.extend_from_slice(&code);
                    // Mostly set bits, so instructions are dense.
                    let mut mask = vec![0u8; len.div_ceil(8)];
                    for (i, byte) in mask.iter_mut().enumerate() {
                        let bits = seed.rotate_left(u32::try_from(i % 64).expect("small"));
                        *byte = 0xff ^ (bits.to_le_bytes()[0] & 0x55);
                    }
                    if let Some(first) = mask.first_mut() {
                        *first |= 1;
                    }
                    // No bits past the code.
                    if len % 8 != 0 {
                        if let Some(last) = mask.last_mut() {
                            *last &= (1u8 << (len % 8)) - 1;
                        }
                    }
                    out.extend(mask);
                    out
                },
            )
        })
}

/// Host calls cost 10 and write `ω7` into guest memory at `ω8` when
/// writable; index 1 halts.
fn host(mut ctx: HostCallContext<'_>) -> HostCallAction {
    if ctx.charge_gas(10).is_err() {
        return HostCallAction::OutOfGas;
    }
    if ctx.index() == 1 {
        return HostCallAction::Halt;
    }
    let value = ctx.reg(7).to_le_bytes();
    if ctx.write_memory(ctx.reg(8), &value).is_err() {
        ctx.set_reg(7, u64::MAX - 2); // OOB
    }
    HostCallAction::Continue
}

fn check_code_blob(code: &[u8]) -> Result<(), TestCaseError> {
    let init = InitialState {
        machine: MachineState {
            gas: GAS,
            ..MachineState::default()
        },
        pages: vec![PageRange {
            address: 0x20000,
            length: 2 * PAGE_SIZE,
            is_writable: true,
        }],
        memory: Vec::new(),
    };
    let mut outcomes = Vec::new();
    for backend in backends() {
        match pvm().run_code_blob(backend, code, &init) {
            Ok(out) => {
                prop_assert!(out.machine.gas <= GAS);
                outcomes.push(out);
            }
            Err(PvmError::InvalidBlob(_) | PvmError::Module(_)) => {}
            Err(e) => prop_assert!(false, "{backend}: unexpected error {e}"),
        }
    }
    if let [a, b] = &outcomes[..] {
        prop_assert_eq!(a.difference(b), None, "backends disagree on {:?}", code);
        let stepped = match pvm().crosscheck_steps(code, &init) {
            Ok(stepped) => stepped,
            Err(e) => return Err(TestCaseError::fail(format!("{e} on {code:?}"))),
        };
        let mut outcome = stepped.outcome;
        if outcome.exit == ExitReason::Halt {
            // Only a step trace knows the halting pc.
            outcome.machine.pc = a.machine.pc;
        }
        prop_assert_eq!(
            a.difference(&outcome),
            None,
            "lockstep run differs on {:?}",
            code
        );
        if matches!(a.exit, ExitReason::Panic | ExitReason::Halt) {
            let used = u64::try_from(GAS - a.machine.gas).unwrap_or(u64::MAX);
            prop_assert_eq!(used, stepped.instructions, "gas of {:?}", code);
        }
    }
    Ok(())
}

fn check_standard_blob(blob: &[u8], args: &[u8]) -> Result<(), TestCaseError> {
    let program = match Program::from_standard_blob(blob) {
        Ok(program) => program,
        Err(PvmError::InvalidBlob(_) | PvmError::StandardProgram(_)) => return Ok(()),
        Err(e) => return Err(TestCaseError::fail(format!("unexpected error {e}"))),
    };
    let invocation = Invocation::new(0, GAS, args);
    let mut outcomes = Vec::new();
    for backend in backends() {
        match pvm().run_invocation(backend, &program, &invocation, &mut host) {
            Ok(out) => {
                prop_assert!(!matches!(out.exit, ExitReason::HostCall(_)));
                prop_assert!(out.gas_used() <= GAS.unsigned_abs());
                outcomes.push((out.exit, out.machine, out.result()));
            }
            Err(PvmError::Module(_)) => {}
            Err(e) => prop_assert!(false, "{backend}: unexpected error {e}"),
        }
    }
    if let [a, b] = &outcomes[..] {
        prop_assert_eq!(a, b, "backends disagree on {:?}", blob);
        let mut host_calls = 0u64;
        let stepped = pvm().crosscheck_program_steps(&program, &invocation, &mut |ctx| {
            host_calls += 1;
            host(ctx)
        });
        let stepped = match stepped {
            Ok(stepped) => stepped,
            Err(e) => return Err(TestCaseError::fail(format!("{e} on {blob:?}"))),
        };
        let out = &stepped.outcome;
        prop_assert_eq!(
            a,
            &(out.exit, out.machine, out.result()),
            "lockstep run differs on {:?}",
            blob
        );
        // Each host call charges 10 (see `host`).
        if out.exit == ExitReason::Panic {
            let paper = stepped.instructions + 10 * host_calls;
            prop_assert_eq!(out.gas_used(), paper, "gas of {:?}", blob);
        }
    }
    Ok(())
}

/// Addresses around the pages the runs map (`0x20000` writable,
/// `0x21000` read-only for a code blob; both writable heap for a standard
/// program), an unmapped one, and some below 2^16.
fn address() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0x20000u32),
        Just(0x20ffe),
        Just(0x21008),
        Just(0x21fff),
        Just(0x40000),
        Just(0x100),
        Just(0xfff0),
    ]
}

/// One instruction that runs on in its basic block or touches memory
/// (GP §A.5): `move_reg`, `load_imm` of an address, `load_u8` from one,
/// `load_ind_u8` and `store_ind_u8` through a register, or a
/// `fallthrough` that ends the block.
fn memory_instruction() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (0u8..13, 0u8..13).prop_map(|(d, s)| vec![100, d | s << 4]),
        (0u8..13, address()).prop_map(|(r, a)| {
            let mut v = vec![51, r];
            v.extend(a.to_le_bytes());
            v
        }),
        (0u8..13, address()).prop_map(|(d, a)| {
            let [x, y, z, _] = a.to_le_bytes();
            vec![52, d, x, y, z]
        }),
        (0u8..13, 0u8..13, any::<u8>()).prop_map(|(d, b, o)| vec![124, d | b << 4, o]),
        (0u8..13, 0u8..13, any::<u8>()).prop_map(|(s, b, o)| vec![120, s | b << 4, o]),
        Just(vec![1]),
    ]
}

/// Straight-line code of such instructions and a final `trap`, with the
/// offsets where they start.
fn straight_line_code() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    proptest::collection::vec(memory_instruction(), 1..24).prop_map(|instructions| {
        let (mut code, mut starts) = (Vec::new(), Vec::new());
        for instruction in instructions.into_iter().chain([vec![0]]) {
            starts.push(code.len());
            code.extend(instruction);
        }
        (code, starts)
    })
}

/// Registers pointing at the interesting addresses.
const REGISTERS: [u64; 13] = [
    0x20000,
    0x21000,
    0x40000,
    0x100,
    0x20ff8,
    0,
    0x1_0000,
    0x21ff0,
    7,
    0x1fff0,
    0x20800,
    0xffff_ffff,
    0x21100,
];

/// The gas a run that panics is said to use is one per instruction begun,
/// wherever in its block the panic (a fault below 2^16, or an inaccessible
/// page of a standard program) strikes; the backends agree in lockstep.
fn check_memory_faults(code: &[u8], starts: &[usize]) -> Result<(), TestCaseError> {
    if backends().len() < 2 {
        return Ok(());
    }
    let blob = code_blob_of(code, starts);
    let init = InitialState {
        machine: MachineState {
            gas: GAS,
            regs: REGISTERS,
            pc: 0,
        },
        pages: vec![
            PageRange {
                address: 0x20000,
                length: PAGE_SIZE,
                is_writable: true,
            },
            PageRange {
                address: 0x21000,
                length: PAGE_SIZE,
                is_writable: false,
            },
        ],
        memory: Vec::new(),
    };
    let stepped = pvm()
        .crosscheck_steps(&blob, &init)
        .map_err(|e| TestCaseError::fail(format!("{e} on {code:?}")))?;
    let out = &stepped.outcome;
    let used = u64::try_from(GAS - out.machine.gas).unwrap_or(u64::MAX);
    match out.exit {
        ExitReason::Panic => prop_assert_eq!(used, stepped.instructions, "{:?}", code),
        // The vectors' rule: the faulting instruction's whole block.
        ExitReason::PageFault(_) => prop_assert!(used >= stepped.instructions, "{:?}", code),
        other => prop_assert!(false, "{other} on {code:?}"),
    }
    for backend in backends() {
        let alone = pvm().run_code_blob(backend, &blob, &init).expect("runs");
        prop_assert_eq!(alone.difference(out), None, "{} on {:?}", backend, code);
    }

    // The same code as a standard program with two heap pages at 0x20000.
    let program = Program::from_standard_blob(&standard_blob(&[], &[], 2, 0, &blob))
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut invocation = Invocation::new(0, GAS, &[]);
    invocation.registers = REGISTERS;
    let stepped = pvm()
        .crosscheck_program_steps(&program, &invocation, &mut host)
        .map_err(|e| TestCaseError::fail(format!("{e} on {code:?}")))?;
    let out = &stepped.outcome;
    prop_assert_eq!(out.exit, ExitReason::Panic);
    prop_assert_eq!(out.gas_used(), stepped.instructions, "{:?}", code);
    for backend in backends() {
        let alone = pvm()
            .run_invocation(backend, &program, &invocation, &mut host)
            .expect("runs");
        prop_assert_eq!((alone.exit, alone.machine), (out.exit, out.machine));
    }
    Ok(())
}

proptest! {
    // Each case compiles four modules: fewer cases than below.
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn backends_agree_on_memory_faults_anywhere_in_a_block((code, starts) in straight_line_code()) {
        check_memory_faults(&code, &starts)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn backends_agree_on_random_octets_as_code_blob(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        check_code_blob(&bytes)?;
    }

    #[test]
    fn backends_agree_on_random_code_as_code_blob(code in code_blob()) {
        check_code_blob(&code)?;
    }

    #[test]
    fn backends_agree_on_random_octets_as_standard_blob(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        check_standard_blob(&bytes, &[])?;
    }

    #[test]
    fn backends_agree_on_random_code_as_standard_blob(
        code in code_blob(),
        o in proptest::collection::vec(any::<u8>(), 0..64),
        w in proptest::collection::vec(any::<u8>(), 0..64),
        z in 0u16..4,
        s in 0u32..10_000,
        args in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        check_standard_blob(&standard_blob(&o, &w, z, s, &code), &args)?;
    }
}

/// Cases the random tests found, kept as plain tests so that every run
/// checks them (proptest's regression file is not read in CI).
#[test]
fn found_cases_agree() {
    // `div_s_32` of one octet, whose destination octet is the next
    // instruction's argument 139: `ω12` by the GP (polkavm wrote `ω11`),
    // then `store_imm_ind_u8` through `ω11` = 0: a store below 2^16,
    // which panics (GP §A.4) on both backends.
    check_code_blob(&[0, 1, 3, 194, 70, 139, 3]).expect("backends agree");
}

/// Loads and stores through a register whose upper 32 bits are set, with
/// offset 0 and with an offset: the GP accesses the address mod 2^32
/// (here the top page, never mapped: a page fault there). polkavm 0.30's
/// generic sandbox compiled the offset-0 forms as accesses of all 64 bits,
/// which wrote outside the guest's mapping (and crashed the process on
/// `2^64 − 2^12`); such code now runs on the interpreter unless trusted.
#[test]
fn accesses_through_wide_registers_stay_in_the_guest() {
    for value in [
        u64::MAX,
        u64::MAX - 1,
        u64::MAX - 0xfff,
        0xffff_ffff_0000_f000,
    ] {
        // `load_imm_64 ω1, value` (GP §A.5.3), then one access through ω1.
        let mut set = vec![20, 1];
        set.extend(value.to_le_bytes());
        for access in [
            vec![70, 1],        // store_imm_ind_u8 [ω1 + 0], 0
            vec![120, 0x12],    // store_ind_u8 [ω2 + 0] = ω1 (through ω2)
            vec![124, 0x12],    // load_ind_u8 ω2 = [ω1 + 0]
            vec![128, 0x12, 8], // load_ind_u32 ω2 = [ω1 + 8]
            vec![73, 1, 0],     // store_imm_ind_u64 [ω1 + 0], 0
        ] {
            // `store_ind_u8` goes through ω2: copy ω1 there first.
            let mut code = set.clone();
            code.extend([100, 0x12]); // move_reg ω2 = ω1
            let starts = vec![0, set.len(), code.len()];
            code.extend(&access);
            let blob = code_blob_of(&code, &starts);
            let init = InitialState {
                machine: MachineState {
                    gas: GAS,
                    ..MachineState::default()
                },
                pages: Vec::new(),
                memory: Vec::new(),
            };
            let outcomes: Vec<_> = backends()
                .into_iter()
                .map(|backend| pvm().run_code_blob(backend, &blob, &init).expect("runs"))
                .collect();
            for out in &outcomes {
                assert!(
                    matches!(out.exit, ExitReason::PageFault(_) | ExitReason::Panic),
                    "{value:#x} {access:?}: {}",
                    out.exit
                );
            }
            if let [a, b] = &outcomes[..] {
                assert_eq!(a.difference(b), None, "{value:#x} {access:?}");
            }
        }
    }
}

/// GP §A.5.13 reads a three-register instruction's destination as
/// `r_D = min(12, c_{ı+2})`, the whole octet: 16 or more is `ω12`, whatever
/// its low nibble (polkavm reads the low nibble only).
#[test]
fn a_destination_octet_of_16_or_more_is_omega_12() {
    let mut regs = [0u64; 13];
    regs[1] = 5;
    regs[2] = 7;
    regs[3] = 1000;
    regs[12] = 2000;
    // (code, instruction starts, what ω3 and ω12 must hold after)
    let cases: [(&[u8], &[usize], u64, u64); 4] = [
        // add_64 ω12 = ω1 + ω2, destination octet 0x13 (low nibble 3).
        (&[200, 0x21, 0x13], &[0], 1000, 12),
        // The same with destination octet 0x1c: ω12 either way.
        (&[200, 0x21, 0x1c], &[0], 1000, 12),
        // cmov_iz ω12 = ω1 if ω0 = 0 (moved), destination octet 0x13.
        (&[218, 0x01, 0x13], &[0], 1000, 5),
        // cmov_nz ω12 = ω1 if ω0 ≠ 0 (kept), destination octet 0x13.
        (&[219, 0x01, 0x13], &[0], 1000, 2000),
    ];
    for (code, starts, omega3, omega12) in cases {
        let blob = code_blob_of(code, starts);
        let init = InitialState {
            machine: MachineState {
                gas: GAS,
                regs,
                pc: 0,
            },
            pages: Vec::new(),
            memory: Vec::new(),
        };
        for backend in backends() {
            let out = pvm().run_code_blob(backend, &blob, &init).expect("runs");
            assert_eq!(out.exit, ExitReason::Panic, "{backend} {code:?}");
            assert_eq!(
                (out.machine.regs[3], out.machine.regs[12]),
                (omega3, omega12),
                "{backend} {code:?}"
            );
            assert_eq!(out.machine.regs[..3], regs[..3], "{backend} {code:?}");
        }
        let stepped = pvm().crosscheck_steps(&blob, &init).expect("agree");
        assert_eq!(stepped.outcome.machine.regs[12], omega12);
    }
}

/// An instruction of GP 0.7.2 (§A.5): any opcode but `sbrk` and the
/// static jumps with 2 to 8 random operand octets (9 for `load_imm_64`:
/// every octet it reads its own, as a compiler has them), or a `jump`, `branch_*_imm` or `branch_*`
/// to a basic block start picked once the code is laid out.
#[derive(Debug, Clone)]
enum Instruction {
    Plain(Vec<u8>),
    Static {
        opcode: u8,
        registers: u8,
        target: proptest::sample::Index,
    },
}

impl Instruction {
    /// Its length: `jump` and its 4-octet offset; `branch_*_imm`, a
    /// register, a 1-octet immediate (`l_X = 1` in the high nibble) and a
    /// 4-octet offset; `branch_*`, two registers and a 4-octet offset.
    fn len(&self) -> usize {
        match self {
            Self::Plain(octets) => octets.len(),
            Self::Static { opcode: 40, .. } => 5,
            Self::Static {
                opcode: 81..=90, ..
            } => 7,
            Self::Static { .. } => 6,
        }
    }

    /// Whether it ends a basic block (GP §A.3's set `T`).
    fn ends_block(&self) -> bool {
        let opcode = match self {
            Self::Plain(octets) => octets[0],
            Self::Static { opcode, .. } => *opcode,
        };
        matches!(opcode, 0 | 1 | 40 | 50 | 80..=90 | 170..=175 | 180)
    }
}

fn any_instruction() -> impl Strategy<Value = Instruction> {
    let opcodes: Vec<u8> = [0u8, 1, 10, 20]
        .into_iter()
        .chain(30..=33)
        .chain(50..=62)
        .chain(70..=73)
        .chain([100])
        .chain(102..=111)
        .chain(120..=161)
        .chain([180])
        .chain(190..=230)
        .collect();
    let statics: Vec<u8> = [40u8].into_iter().chain(81..=90).chain(170..=175).collect();
    prop_oneof![
        4 => (
            proptest::sample::select(opcodes),
            proptest::collection::vec(any::<u8>(), 2..=8),
        )
            .prop_map(|(opcode, mut operands)| {
                // Every octet read the instruction's own: `load_imm_64`'s
                // register and eight immediate octets, and the first
                // immediate of the formats whose length an octet gives.
                let length = |octet: u8| usize::from(octet & 7).min(4);
                let needed = match opcode {
                    20 => 9,
                    30..=33 => 1 + length(operands[0]),
                    70..=73 => 1 + length(operands[0] >> 4),
                    180 => 2 + length(operands[1]),
                    _ => 0,
                };
                if operands.len() < needed {
                    operands.resize(needed, 0x5a);
                }
                let mut v = vec![opcode];
                v.extend(operands);
                Instruction::Plain(v)
            }),
        1 => (proptest::sample::select(statics), any::<u8>(), any::<proptest::sample::Index>())
            .prop_map(|(opcode, registers, target)| Instruction::Static { opcode, registers, target }),
    ]
}

/// Lays out `instructions` and a final `trap`: the code and the offsets
/// where instructions start.
fn lay_out(instructions: &[Instruction]) -> (Vec<u8>, Vec<usize>) {
    let trap = Instruction::Plain(vec![0]);
    let all: Vec<&Instruction> = instructions.iter().chain([&trap]).collect();
    let mut starts = Vec::new();
    let mut at = 0;
    for instruction in &all {
        starts.push(at);
        at += instruction.len();
    }
    // Basic block starts: the first instruction, and each after one that
    // ends a block.
    let block_starts: Vec<usize> = std::iter::once(0)
        .chain(
            all.iter()
                .zip(&starts)
                .filter(|(i, _)| i.ends_block())
                .map(|(i, &s)| s + i.len()),
        )
        .filter(|&s| s < at)
        .collect();
    let mut code = Vec::with_capacity(at);
    for (instruction, &start) in all.iter().zip(&starts) {
        match instruction {
            Instruction::Plain(octets) => code.extend_from_slice(octets),
            Instruction::Static {
                opcode,
                registers,
                target,
            } => {
                let to = *target.get(&block_starts);
                let offset =
                    i32::try_from(to).expect("small") - i32::try_from(start).expect("small");
                code.push(*opcode);
                match opcode {
                    40 => {}
                    81..=90 => code.extend([registers & 0x0f | 0x10, registers >> 4]),
                    _ => code.push(*registers),
                }
                code.extend(offset.to_le_bytes());
            }
        }
    }
    (code, starts)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Code a compiler could emit (every opcode valid, no `sbrk`, static
    /// jumps to block starts, a final `trap`) runs on the recompiler as
    /// polkavm 0.37's, renumbered (`translate`), with every register field
    /// as it comes (nibbles of 13 to 15, destination octets above 12),
    /// from registers with upper bits set (`ω3`, `ω5`, `ω11`): the same as
    /// on the interpreter (polkavm 0.30 on the code as it is), at the end
    /// and after every instruction, with no module refused.
    #[test]
    fn translated_code_runs_as_the_gp_says(
        instructions in proptest::collection::vec(any_instruction(), 1..40),
        high in any::<u32>(),
    ) {
        let (code, starts) = lay_out(&instructions);
        let blob = code_blob_of(&code, &starts);
        if pvm().backend_unavailable(Backend::Compiler).is_none() {
            let prepared = pvm().prepare_code(&blob).expect("parses");
            prop_assert!(pvm().is_translated(Backend::Compiler, &prepared), "{:?}", code);
        }
        let mut regs = REGISTERS;
        regs[3] |= u64::from(high) << 32;
        regs[5] = u64::from(high) << 32 | 0x20010;
        let init = InitialState {
            machine: MachineState { gas: GAS, regs, pc: 0 },
            pages: vec![
                PageRange { address: 0x20000, length: PAGE_SIZE, is_writable: true },
                PageRange { address: 0x21000, length: PAGE_SIZE, is_writable: false },
            ],
            memory: Vec::new(),
        };
        let outcomes = backends()
            .into_iter()
            .map(|backend| pvm().run_code_blob(backend, &blob, &init))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TestCaseError::fail(format!("{e} on {code:?}")))?;
        if let [a, b] = &outcomes[..] {
            prop_assert_eq!(a.difference(b), None, "backends disagree on {:?}", code);
            let stepped = pvm()
                .crosscheck_steps(&blob, &init)
                .map_err(|e| TestCaseError::fail(format!("{e} on {code:?}")))?;
            let mut outcome = stepped.outcome;
            if outcome.exit == ExitReason::Halt {
                outcome.machine.pc = a.machine.pc;
            }
            prop_assert_eq!(a.difference(&outcome), None, "lockstep run differs on {:?}", code);
            if matches!(a.exit, ExitReason::Panic | ExitReason::Halt) {
                let used = u64::try_from(GAS - a.machine.gas).unwrap_or(u64::MAX);
                prop_assert_eq!(used, stepped.instructions, "gas of {:?}", code);
            }
        }
    }
}
