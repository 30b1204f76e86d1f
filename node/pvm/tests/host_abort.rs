//! A host that cannot serve a call ([`HostCallAction::Abort`]) ends the run
//! with [`PvmError::HostAborted`]: a failure of the node, not an exit of the
//! paper, on either backend.

use parajam_guests::{guest, ENTRY_PC, HOSTCALL_INDEX};
use parajam_pvm::{Backend, HostCallAction, Invocation, Program, Pvm, PvmError, PvmFlavor};

fn aborts_at_the_first_host_call(backend: Backend) {
    let pvm = Pvm::with_any_sandbox(PvmFlavor::Gp072).expect("engine");
    let guest = guest("hostcall").expect("the hostcall guest");
    let program = Program::from_standard_blob(guest.program).expect("decodes");
    let invocation = Invocation::new(ENTRY_PC, 1_000_000, &[]);
    let mut calls = 0;
    let result = pvm.run_invocation(backend, &program, &invocation, &mut |ctx| {
        calls += 1;
        assert_eq!(ctx.index(), HOSTCALL_INDEX);
        HostCallAction::Abort
    });
    assert_eq!(calls, 1, "{backend}: the run stops at the aborted call");
    match result {
        Err(PvmError::HostAborted { index, .. }) => assert_eq!(index, HOSTCALL_INDEX),
        other => panic!("{backend}: {other:?}"),
    }
}

parajam_pvm::backend_tests! {
    sandbox: any;
    aborts_at_the_first_host_call,
}
