//! Random blobs, as GP code blobs (`deblob`, GP A.2) and as standard
//! programs (`Y`, GP A.7), under a small gas limit on both backends: the
//! host never panics or hangs, every run ends in a typed error or a GP exit
//! reason, and the backends agree.

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

/// `E3(|o|) ⌢ E3(|w|) ⌢ E2(z) ⌢ E3(s) ⌢ o ⌢ w ⌢ E4(|c|) ⌢ c`.
#[allow(clippy::many_single_char_names)] // GP's names
fn standard_blob(o: &[u8], w: &[u8], z: u16, s: u32, c: &[u8]) -> Vec<u8> {
    let mut p = (o.len() as u64).to_le_bytes()[..3].to_vec();
    p.extend_from_slice(&(w.len() as u64).to_le_bytes()[..3]);
    p.extend_from_slice(&z.to_le_bytes());
    p.extend_from_slice(&s.to_le_bytes()[..3]);
    p.extend_from_slice(o);
    p.extend_from_slice(w);
    p.extend_from_slice(&u32::try_from(c.len()).expect("small").to_le_bytes());
    p.extend_from_slice(c);
    p
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
        // The backends may blame different instructions for a trap (see
        // the crate test `trap_pc_of_a_bad_branch_differs_between_backends`).
        let mut b = b.clone();
        if b.exit == ExitReason::Panic {
            b.machine.pc = a.machine.pc;
        }
        prop_assert_eq!(a.difference(&b), None, "backends disagree on {:?}", code);
    }
    Ok(())
}

fn check_standard_blob(blob: &[u8], args: &[u8]) -> Result<(), TestCaseError> {
    let program = match Program::from_standard_blob(blob) {
        Ok(program) => program,
        Err(PvmError::InvalidBlob(_) | PvmError::StandardProgram(_)) => return Ok(()),
        Err(e) => return Err(TestCaseError::fail(format!("unexpected error {e}"))),
    };
    let mut outcomes = Vec::new();
    for backend in backends() {
        match pvm().run_invocation(backend, &program, &Invocation::new(0, GAS, args), &mut host) {
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
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_octets_as_code_blob(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        check_code_blob(&bytes)?;
    }

    #[test]
    fn random_code_as_code_blob(code in code_blob()) {
        check_code_blob(&code)?;
    }

    #[test]
    fn random_octets_as_standard_blob(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        check_standard_blob(&bytes, &[])?;
    }

    #[test]
    fn random_code_as_standard_blob(
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
