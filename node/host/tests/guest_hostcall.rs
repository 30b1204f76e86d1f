//! Host calls served to a real guest program on both PVM backends: the
//! `hostcall` guest calls `gas` (index 0) and returns its answer plus one.

use parajam_host::{general, pvm::action, unknown, HostCall};
use parajam_pvm::{Backend, Program, ProgramResult, Pvm, PvmFlavor};

fn run(backend: Backend, gas: i64) -> (parajam_pvm::ProgramOutcome, Vec<u64>) {
    let pvm = Pvm::with_any_sandbox(PvmFlavor::Gp072).expect("engine");
    let guest = parajam_guests::guest("hostcall").expect("hostcall guest");
    let program = Program::from_standard_blob(guest.program).expect("standard program");
    let mut seen = Vec::new();
    let outcome = pvm
        .run_program(
            backend,
            &program,
            parajam_guests::ENTRY_PC,
            gas,
            &[],
            &mut |mut ctx| {
                let control = match HostCall::from_index(PvmFlavor::Gp072, ctx.index()) {
                    Some(HostCall::Gas) => {
                        let c = general::gas(&mut ctx);
                        if c == parajam_host::Control::Continue {
                            seen.push(ctx.reg(7));
                        }
                        c
                    }
                    _ => unknown(&mut ctx),
                };
                action(control)
            },
        )
        .expect("runs");
    (outcome, seen)
}

fn gas_host_call_answers_the_guest(backend: Backend) {
    let (outcome, seen) = run(backend, 1_000);
    assert_eq!(seen.len(), 1, "{backend:?}: one host call");
    assert!(
        matches!(outcome.result(), ProgramResult::Output(_)),
        "{backend:?}: halts"
    );
    assert_eq!(
        outcome.machine.regs[7],
        parajam_guests::reference::hostcall(seen[0])
    );
    // The host call's 10 gas came out of the budget it reported.
    assert!(seen[0] < 1_000 - 10);
}

fn host_call_without_gas_stops_the_guest(backend: Backend) {
    // Gas the guest spends before its host call: what a full run reports.
    let (_, seen) = run(backend, 1_000);
    let before = 1_000 - 10 - i64::try_from(seen[0]).expect("small");
    // Enough to reach the host call, not enough to pay its 10.
    let (outcome, seen) = run(backend, before + 9);
    assert!(
        seen.is_empty(),
        "{backend:?}: the gas call could not complete"
    );
    assert_eq!(outcome.result(), ProgramResult::OutOfGas, "{backend:?}");
    // With exactly enough, it completes.
    let (outcome, seen) = run(backend, before + 10);
    assert_eq!(seen, vec![0], "{backend:?}: nothing left after the call");
    assert_ne!(outcome.result(), ProgramResult::Panic, "{backend:?}");
}

parajam_pvm::backend_tests! {
    sandbox: any;
    gas_host_call_answers_the_guest,
    host_call_without_gas_stops_the_guest,
}
