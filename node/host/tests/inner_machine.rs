//! The refine inner-machine host calls (GP B.8 `machine`, `peek`, `poke`,
//! `pages`, `invoke`, `expunge`) running real guest code blobs on both PVM
//! backends through [`PvmInnerRunner`] (live machines) and
//! [`ReferenceInnerRunner`] (a fresh run per `invoke`), driven from an
//! outer machine double.

use parajam_host::pvm::{PvmInnerRunner, ReferenceInnerRunner};
use parajam_host::refine::{self, InnerRunner, InnerVm, RefineContext};
use parajam_host::testing::{self, TestMachine};
use parajam_host::{codes, Machine};
use parajam_pvm::testing::code_blob;
use parajam_pvm::{Backend, Program, Pvm, PvmFlavor, HALT_ADDRESS, PAGE_SIZE, STACK_TOP};

/// Where the outer memory starts, and its size.
const BASE: u64 = 0x10_0000;
const SIZE: u64 = 1 << 20;
/// Outer addresses: the invoke argument block, then space for blobs.
const ARGS_AT: u64 = BASE;
const DATA_AT: u64 = BASE + 4096;

/// The outer machine: plenty of gas and `SIZE` writable octets at `BASE`.
fn outer() -> TestMachine {
    let mut outer = TestMachine::new(1 << 40);
    outer.map(BASE, SIZE / testing::PAGE, true);
    outer
}

/// One outer machine with its refine context, and the inner-machine calls
/// as the host would make them.
struct Host<R: InnerRunner> {
    outer: TestMachine,
    ctx: RefineContext<R::Vm>,
    runner: R,
}

/// What `invoke` left: `ω7`, `ω8`, and the gas and registers written back.
#[derive(Debug)]
struct Invoked {
    status: u64,
    w8: u64,
    gas: i64,
    regs: [u64; 13],
}

impl<'a> Host<PvmInnerRunner<'a>> {
    /// Live inner machines.
    fn new(pvm: &'a Pvm, backend: Backend) -> Self {
        if let Some(why) = pvm.backend_unavailable(backend) {
            panic!("{backend} backend unavailable on this machine: {why}");
        }
        Self::with(PvmInnerRunner::new(pvm, backend))
    }
}

impl<'a> Host<ReferenceInnerRunner<'a>> {
    /// Reference inner machines: a fresh run per `invoke`.
    fn reference(pvm: &'a Pvm, backend: Backend) -> Self {
        Self::with(ReferenceInnerRunner::new(pvm, backend))
    }
}

impl<R: InnerRunner> Host<R> {
    fn with(runner: R) -> Self {
        Self {
            outer: outer(),
            ctx: RefineContext::default(),
            runner,
        }
    }

    /// The pc of inner machine `id`.
    fn pc(&self, id: u64) -> u64 {
        self.ctx.machines[&id].pc()
    }

    /// `machine`: a new inner machine of `code` at `pc`; its id or `HUH`.
    fn machine(&mut self, code: &[u8], pc: u64) -> u64 {
        assert!(self.outer.write(DATA_AT, code));
        let (ctx, runner) = (&mut self.ctx, &mut self.runner);
        self.outer
            .call(&[(7, DATA_AT), (8, code.len() as u64), (9, pc)], |m| {
                refine::new_machine(m, ctx, runner)
            })
    }

    /// `pages` over the octets `[address, address + len)` in mode `mode`.
    fn pages(&mut self, id: u64, address: u32, len: u32, mode: u64) -> u64 {
        let (first, count) = (address / PAGE_SIZE, len.div_ceil(PAGE_SIZE));
        let ctx = &mut self.ctx;
        self.outer.call(
            &[(7, id), (8, first.into()), (9, count.into()), (10, mode)],
            |m| refine::pages(m, ctx),
        )
    }

    /// `poke` of `data` to inner address `address`.
    fn poke(&mut self, id: u64, address: u32, data: &[u8]) -> u64 {
        assert!(self.outer.write(DATA_AT, data));
        let ctx = &mut self.ctx;
        self.outer.call(
            &[
                (7, id),
                (8, DATA_AT),
                (9, address.into()),
                (10, data.len() as u64),
            ],
            |m| refine::poke(m, ctx),
        )
    }

    /// `peek` of `len` octets at inner address `address`.
    fn peek(&mut self, id: u64, address: u32, len: u64) -> Option<Vec<u8>> {
        let ctx = &mut self.ctx;
        let status = self.outer.call(
            &[(7, id), (8, DATA_AT), (9, address.into()), (10, len)],
            |m| refine::peek(m, ctx),
        );
        (status == codes::OK).then(|| self.outer.read(DATA_AT, len).expect("outer memory"))
    }

    /// `invoke` with `gas` and `regs`.
    fn invoke(&mut self, id: u64, gas: i64, regs: [u64; 13]) -> Invoked {
        let mut args = Vec::with_capacity(112);
        args.extend(u64::try_from(gas).expect("non-negative").to_le_bytes());
        for r in regs {
            args.extend(r.to_le_bytes());
        }
        assert!(self.outer.write(ARGS_AT, &args));
        let ctx = &mut self.ctx;
        let status = self
            .outer
            .call(&[(7, id), (8, ARGS_AT)], |m| refine::invoke(m, ctx));
        let back = self.outer.read(ARGS_AT, 112).expect("outer memory");
        let word = |i: usize| u64::from_le_bytes(back[i * 8..i * 8 + 8].try_into().expect("8"));
        Invoked {
            status,
            w8: self.outer.regs[8],
            gas: i64::try_from(word(0)).expect("gas fits"),
            regs: std::array::from_fn(|i| word(i + 1)),
        }
    }

    /// `expunge`: the inner machine's pc.
    fn expunge(&mut self, id: u64) -> u64 {
        let ctx = &mut self.ctx;
        self.outer.call(&[(7, id)], |m| refine::expunge(m, ctx))
    }
}

/// `o` and `w` of a standard program (GP eq. `eq:conditions`).
fn data_sections(program: &[u8]) -> (&[u8], &[u8]) {
    let e3 = |at: usize| {
        usize::from(program[at])
            | usize::from(program[at + 1]) << 8
            | usize::from(program[at + 2]) << 16
    };
    let (o, w) = (e3(0), e3(3));
    let start = 11;
    (
        &program[start..start + o],
        &program[start + o..start + o + w],
    )
}

/// The memory the standard layout gives `guest` (GP eq. `eq:memlayout`),
/// set up with `pages` and `poke` on inner machine `id`: `o` read-only,
/// the stack writable, and, when `with_rw`, `w` and the heap pages
/// writable.
fn standard_memory<R: InnerRunner>(host: &mut Host<R>, id: u64, guest: &str, with_rw: bool) {
    let blob = parajam_guests::guest(guest).expect("guest").program;
    let layout = Program::from_standard_blob(blob)
        .expect("standard program")
        .layout(0);
    let (o, w) = data_sections(blob);
    let (ro, rw, stack) = (layout.ro_data, layout.rw_data, layout.stack);
    if ro.1 > 0 {
        assert_eq!(host.pages(id, ro.0, ro.1, 2), codes::OK);
        assert_eq!(host.poke(id, ro.0, o), codes::OK);
        assert_eq!(host.pages(id, ro.0, ro.1, 3), codes::OK, "read-only");
        assert_eq!(host.poke(id, ro.0, &[1]), codes::OOB, "now read-only");
    }
    if with_rw && rw.1 > 0 {
        assert_eq!(host.pages(id, rw.0, rw.1, 2), codes::OK);
        assert_eq!(host.poke(id, rw.0, w), codes::OK);
    }
    assert_eq!(host.pages(id, stack.0, stack.1, 2), codes::OK);
}

/// `ω` at the entry of a guest's `main(arg)`: returns to the halt address,
/// stack pointer at the top of the stack.
fn entry_registers(arg: u64) -> [u64; 13] {
    let mut regs = [0; 13];
    regs[0] = u64::from(HALT_ADDRESS);
    regs[1] = u64::from(STACK_TOP);
    regs[7] = arg;
    regs
}

const GAS: i64 = 10_000_000;

/// The sieve in an inner machine on `backend`; returns the gas it used.
fn sieve_gas_in_an_inner_machine(backend: Backend) -> i64 {
    let pvm = Pvm::with_any_sandbox(PvmFlavor::Gp072).expect("engine");
    let sieve = parajam_guests::guest("sieve").expect("sieve");
    let n = 1000;
    let expected = parajam_guests::reference::sieve(n);
    assert_eq!(expected, 168);
    let mut host = Host::new(&pvm, backend);
    let id = host.machine(sieve.code, parajam_guests::ENTRY_PC.into());
    assert_eq!(id, 0, "{backend}: first machine");
    standard_memory(&mut host, id, "sieve", true);
    let run = host.invoke(id, GAS, entry_registers(n));
    assert_eq!(run.status, codes::HALT, "{backend}: {run:?}");
    assert_eq!(run.regs[7], expected, "{backend}: primes <= {n}");
    assert!(run.gas > 0 && run.gas < GAS, "{backend}: gas {}", run.gas);
    let gas_used = GAS - run.gas;
    // The sieve's table stays in the inner RAM: 1 is marked composite
    // as 9 = 2·4 + 1, so some byte of the rw data is non-zero.
    let rw = Program::from_standard_blob(sieve.program)
        .expect("standard program")
        .layout(0)
        .rw_data;
    let table = host.peek(id, rw.0, u64::from(rw.1)).expect("readable");
    assert!(table.iter().any(|&b| b != 0), "{backend}: table written");
    // A halt leaves the pc at zero (GP eq. A.1); expunge reports it.
    assert_eq!(host.expunge(id), 0, "{backend}");
    assert_eq!(host.expunge(id), codes::WHO, "{backend}: gone");
    gas_used
}

fn sieve_runs_inside_an_inner_machine(backend: Backend) {
    sieve_gas_in_an_inner_machine(backend);
}

#[test]
fn backends_agree_on_the_sieve_gas_in_an_inner_machine() {
    assert_eq!(
        sieve_gas_in_an_inner_machine(Backend::Interpreter),
        sieve_gas_in_an_inner_machine(Backend::Compiler),
        "both backends charge the same gas"
    );
}

/// The `hostcall` guest in an inner machine on `backend`, stopped at its
/// host call and resumed: the pc it resumes at and the gas left after each run.
fn host_call_outcome(backend: Backend) -> (u64, i64, i64) {
    let pvm = Pvm::with_any_sandbox(PvmFlavor::Gp072).expect("engine");
    let guest = parajam_guests::guest("hostcall").expect("hostcall");
    let mut host = Host::new(&pvm, backend);
    let id = host.machine(guest.code, parajam_guests::ENTRY_PC.into());
    standard_memory(&mut host, id, "hostcall", true);
    let first = host.invoke(id, GAS, entry_registers(0));
    assert_eq!(first.status, codes::HOST, "{backend}: {first:?}");
    assert_eq!(first.w8, u64::from(parajam_guests::HOSTCALL_INDEX));
    // The pc is past the `ecalli`: the next instruction's offset.
    let resume_pc = host.pc(id);
    assert!(resume_pc > 0, "{backend}");
    // The outer host answers the call: ω7 = 41 as its result.
    let mut regs = first.regs;
    regs[7] = 41;
    let second = host.invoke(id, first.gas, regs);
    assert_eq!(second.status, codes::HALT, "{backend}: {second:?}");
    assert_eq!(second.regs[7], parajam_guests::reference::hostcall(41));
    assert_eq!(second.regs[7], 42);
    assert!(second.gas < first.gas);
    // The code was compiled once, and instantiated once per machine: the
    // second run resumed the same instance.
    let stats = pvm.module_cache_stats();
    assert_eq!((stats.misses, stats.hits), (1, 0), "{stats:?}");
    (resume_pc, first.gas, second.gas)
}

fn host_call_stops_the_inner_machine_and_resumes_after_the_ecalli(backend: Backend) {
    host_call_outcome(backend);
}

#[test]
fn backends_agree_on_a_host_call_in_an_inner_machine() {
    assert_eq!(
        host_call_outcome(Backend::Interpreter),
        host_call_outcome(Backend::Compiler)
    );
}

#[test]
fn invalid_code_is_huh() {
    let pvm = Pvm::with_any_sandbox(PvmFlavor::Gp072).expect("engine");
    let mut host = Host::new(&pvm, Backend::Interpreter);
    // `E(|j|) = 0, E1(z) = 0, E(|c|) = 5` but only one octet of code.
    assert_eq!(host.machine(&[0, 0, 5, 0], 0), codes::HUH);
    assert_eq!(host.machine(&[], 0), codes::HUH);
    assert!(host.ctx.machines.is_empty());
    // A valid one-instruction blob (`trap`) is accepted.
    assert_eq!(host.machine(&[0, 0, 1, 0, 1], 0), 0);
}

/// The sieve in an inner machine on `backend` without its rw data: the
/// faulting address and pc, and the gas left at the fault and at the end.
fn page_fault_outcome(backend: Backend) -> (u64, u64, i64, i64) {
    let pvm = Pvm::with_any_sandbox(PvmFlavor::Gp072).expect("engine");
    let sieve = parajam_guests::guest("sieve").expect("sieve");
    let rw = Program::from_standard_blob(sieve.program)
        .expect("standard program")
        .layout(0)
        .rw_data;
    let mut host = Host::new(&pvm, backend);
    let id = host.machine(sieve.code, parajam_guests::ENTRY_PC.into());
    // No read-write data: the sieve's table is unmapped.
    standard_memory(&mut host, id, "sieve", false);
    let fault = host.invoke(id, GAS, entry_registers(1000));
    assert_eq!(fault.status, codes::FAULT, "{backend}: {fault:?}");
    let address = fault.w8;
    assert_eq!(address % u64::from(PAGE_SIZE), 0, "{backend}: a page");
    assert!(
        (u64::from(rw.0)..u64::from(rw.0) + u64::from(rw.1)).contains(&address),
        "{backend}: {address:#x} in the rw data {rw:x?}"
    );
    let fault_pc = host.pc(id);
    assert_ne!(fault_pc, 0, "{backend}: stopped inside main");
    // Map the table and go on from the faulting instruction.
    let (_, w) = data_sections(sieve.program);
    assert_eq!(host.pages(id, rw.0, rw.1, 2), codes::OK);
    assert_eq!(host.poke(id, rw.0, w), codes::OK);
    let done = host.invoke(id, fault.gas, fault.regs);
    assert_eq!(done.status, codes::HALT, "{backend}: {done:?}");
    assert_eq!(done.regs[7], 168, "{backend}");
    (address, fault_pc, fault.gas, done.gas)
}

fn page_fault_reports_the_address_and_the_machine_resumes_once_mapped(backend: Backend) {
    page_fault_outcome(backend);
}

#[test]
fn backends_agree_on_a_page_fault_in_an_inner_machine() {
    assert_eq!(
        page_fault_outcome(Backend::Interpreter),
        page_fault_outcome(Backend::Compiler)
    );
}

fn a_panic_and_running_out_of_gas(backend: Backend) {
    let pvm = Pvm::with_any_sandbox(PvmFlavor::Gp072).expect("engine");
    let sieve = parajam_guests::guest("sieve").expect("sieve");
    let mut host = Host::new(&pvm, backend);
    // `trap` panics.
    let id = host.machine(&[0, 0, 1, 0, 1], 0);
    let run = host.invoke(id, 100, [0; 13]);
    assert_eq!(run.status, codes::PANIC, "{backend}: {run:?}");
    assert_eq!(run.gas, 99, "{backend}: one instruction");
    // Too little gas for the sieve.
    let id = host.machine(sieve.code, 0);
    standard_memory(&mut host, id, "sieve", true);
    let run = host.invoke(id, 50, entry_registers(1000));
    assert_eq!(run.status, codes::OOG, "{backend}: {run:?}");
    // Inner machine ids are reused: the trap machine is 0, the sieve 1.
    assert_eq!(id, 1);
}

/// Every exit a guest can make, run on a live machine and on a reference
/// machine (a fresh run per `invoke`, the RAM copied in and out): `invoke`
/// returns the same on both, on every backend, and the RAM ends the same.
fn live_machines_agree_with_the_reference_machines(backend: Backend) {
    let pvm = Pvm::with_any_sandbox(PvmFlavor::Gp072).expect("engine");
    let sieve = parajam_guests::guest("sieve").expect("sieve");
    let hostcall = parajam_guests::guest("hostcall").expect("hostcall");
    let rw = Program::from_standard_blob(sieve.program)
        .expect("standard program")
        .layout(0)
        .rw_data;
    for (guest, code) in [("sieve", sieve.code), ("hostcall", hostcall.code)] {
        let live = scenario(&mut Host::new(&pvm, backend), code, guest, rw);
        let reference = scenario(&mut Host::reference(&pvm, backend), code, guest, rw);
        assert_eq!(
            format!("{live:?}"),
            format!("{reference:?}"),
            "{backend}, {guest}"
        );
    }
}

/// `fallthrough; move_reg ω0 ← ω1; ecalli 3; move_reg ω0 ← ω1; trap`: an
/// `ecalli` in the middle of the block from offset 1.
fn block_with_ecalli() -> Vec<u8> {
    code_blob(&[1, 100, 0x10, 10, 3, 100, 0x10, 0], &[0, 1, 3, 5, 7])
}

/// GP 0.7.x charges one gas per instruction (`ϱ_Δ`): a machine stopped by
/// an `ecalli` in the middle of a basic block pays for the instructions up
/// to the `ecalli`, and resumed, for those after it, not for the whole
/// block again; on both backends, live and reference alike.
fn a_resumed_inner_machine_pays_exactly_one_gas_per_instruction(backend: Backend) {
    let pvm = Pvm::with_any_sandbox(PvmFlavor::Gp072).expect("engine");
    let per = pvm.flavor().gas_per_instruction();
    let code = block_with_ecalli();
    check_gas_across_ecalli(Host::new(&pvm, backend), &code, per, backend.name());
    check_gas_across_ecalli(Host::reference(&pvm, backend), &code, per, "reference");
}

/// `load_u64 ω0 ← μ[0x20000]; ecalli 0; store_u64 μ[0x20008] ← ω0;
/// load_u64 ω1 ← μ[0x21000]; trap`.
fn load_ecalli_store_load() -> Vec<u8> {
    let mut code = vec![58, 0x00, 0x00, 0x00, 0x02]; // load_u64 ω0
    code.push(10); // ecalli 0
    code.extend([62, 0x00, 0x08, 0x00, 0x02]); // store_u64 ω0
    code.extend([58, 0x01, 0x00, 0x10, 0x02]); // load_u64 ω1 ← 0x21000
    code.push(0); // trap
    code_blob(&code, &[0, 5, 6, 11, 16])
}

/// `peek`, `poke` and `pages` between two runs act on the machine's RAM as
/// the guest sees it when resumed, and what it wrote is there to `peek`.
fn peek_poke_and_pages_between_invokes_are_seen_by_the_guest(backend: Backend) {
    let pvm = Pvm::with_any_sandbox(PvmFlavor::Gp072).expect("engine");
    let code = load_ecalli_store_load();
    check_ram_between_invokes(Host::new(&pvm, backend), &code, backend.name());
    check_ram_between_invokes(Host::reference(&pvm, backend), &code, "reference");
}

/// `expunge` drops the machine with its polkavm instance: many machines
/// made and expunged one after the other take the same id and leave
/// nothing behind (on the recompiler, each live instance holds a sandbox
/// process of the engine's pool).
fn expunge_frees_the_machine_and_its_instance(backend: Backend) {
    let pvm = Pvm::with_any_sandbox(PvmFlavor::Gp072).expect("engine");
    let code = block_with_ecalli();
    let mut host = Host::new(&pvm, backend);
    for _ in 0..200 {
        let id = host.machine(&code, 0);
        assert_eq!(id, 0, "{backend}: the least free id");
        assert_eq!(host.pages(id, 0x20000, 4 * 4096, 2), codes::OK);
        let run = host.invoke(id, 100, [0; 13]);
        assert_eq!(run.status, codes::HOST, "{backend}");
        assert_eq!(host.expunge(id), 5, "{backend}: its pc");
        assert!(host.ctx.machines.is_empty(), "{backend}");
    }
    assert_eq!(host.expunge(0), codes::WHO, "{backend}: gone");
}

/// One scenario of [`live_machines_agree_with_the_reference_machines`] on
/// one host: every `invoke`, and the RAM read at the end.
fn scenario<R: InnerRunner>(
    host: &mut Host<R>,
    code: &[u8],
    guest: &str,
    sieve_rw: (u32, u32),
) -> (Vec<Invoked>, Option<Vec<u8>>) {
    let mut runs = Vec::new();
    let id = host.machine(code, parajam_guests::ENTRY_PC.into());
    let with_rw = guest != "sieve";
    standard_memory(host, id, guest, with_rw);
    let first = host.invoke(id, GAS, entry_registers(1000));
    let mut regs = first.regs;
    regs[7] = 41;
    let (status, gas) = (first.status, first.gas);
    runs.push(first);
    if status == codes::FAULT {
        assert_eq!(host.pages(id, sieve_rw.0, sieve_rw.1, 2), codes::OK);
        let (_, w) = data_sections(parajam_guests::guest("sieve").expect("sieve").program);
        assert_eq!(host.poke(id, sieve_rw.0, w), codes::OK);
    }
    // Too little gas, then enough; then again from pc 0 after the end.
    runs.push(host.invoke(id, 1, regs));
    runs.push(host.invoke(id, gas, regs));
    runs.push(host.invoke(id, GAS, entry_registers(7)));
    let ram = host.peek(id, sieve_rw.0, u64::from(sieve_rw.1));
    (runs, ram)
}

/// [`a_resumed_inner_machine_pays_exactly_one_gas_per_instruction`] on one host.
fn check_gas_across_ecalli<R: InnerRunner>(mut host: Host<R>, code: &[u8], per: i64, what: &str) {
    let id = host.machine(code, 0);
    let first = host.invoke(id, 100, [0; 13]);
    // fallthrough, move_reg, ecalli.
    assert_eq!(
        (first.status, first.w8, first.gas),
        (codes::HOST, 3, 100 - 3 * per),
        "{what}"
    );
    assert_eq!(host.pc(id), 5, "{what}: after the ecalli");
    let mut regs = first.regs;
    regs[1] = 42;
    let second = host.invoke(id, 100, regs);
    // move_reg, trap.
    assert_eq!(
        (second.status, second.gas, second.regs[0]),
        (codes::PANIC, 100 - 2 * per, 42),
        "{what}"
    );
    assert_eq!(host.pc(id), 0, "{what}: a panic leaves pc 0");
    // Five instructions in all, as one uninterrupted run would pay.
    assert_eq!((100 - first.gas) + (100 - second.gas), 5 * per, "{what}");
}

/// [`peek_poke_and_pages_between_invokes_are_seen_by_the_guest`] on one host.
fn check_ram_between_invokes<R: InnerRunner>(mut host: Host<R>, code: &[u8], what: &str) {
    let id = host.machine(code, 0);
    assert_eq!(host.pages(id, 0x20000, 4096, 2), codes::OK, "{what}");
    assert_eq!(host.poke(id, 0x20000, &7u64.to_le_bytes()), codes::OK);
    let first = host.invoke(id, 100, [0; 13]);
    assert_eq!((first.status, first.regs[0]), (codes::HOST, 7), "{what}");
    // Between the runs: the guest's stored value will be ω0 (set by
    // the parent), and page 0x21 is made readable with contents.
    assert_eq!(host.pages(id, 0x21000, 4096, 2), codes::OK, "{what}");
    assert_eq!(host.poke(id, 0x21000, &99u64.to_le_bytes()), codes::OK);
    assert_eq!(host.pages(id, 0x21000, 4096, 3), codes::OK, "{what}");
    assert_eq!(
        host.poke(id, 0x21000, &[1]),
        codes::OOB,
        "{what}: read-only"
    );
    let mut regs = first.regs;
    regs[0] = 0x1122_3344;
    let second = host.invoke(id, 100, regs);
    assert_eq!(
        (second.status, second.regs[1]),
        (codes::PANIC, 99),
        "{what}: the guest read the poked page"
    );
    assert_eq!(
        host.peek(id, 0x20008, 8),
        Some(0x1122_3344u64.to_le_bytes().to_vec()),
        "{what}: the parent reads what the guest stored"
    );
    // Mode 1 zeroes (read-only); mode 0 takes the page away.
    assert_eq!(host.pages(id, 0x20000, 4096, 1), codes::OK, "{what}");
    assert_eq!(host.peek(id, 0x20008, 8), Some(vec![0; 8]), "{what}");
    assert_eq!(host.pages(id, 0x20000, 4096, 0), codes::OK, "{what}");
    assert_eq!(host.peek(id, 0x20008, 8), None, "{what}: inaccessible");
    assert_eq!(host.pages(id, 0x20000, 4096, 4), codes::HUH, "{what}");
    // Running again from pc 0: the first load faults at the page.
    let third = host.invoke(id, 100, [0; 13]);
    assert_eq!((third.status, third.w8), (codes::FAULT, 0x20000), "{what}");
    // The first 64 KiB are never accessible.
    assert_eq!(host.pages(id, 0xf000, 4096, 2), codes::HUH, "{what}");
    assert_eq!(host.poke(id, 0xf000, &[1]), codes::OOB, "{what}");
    assert_eq!(host.peek(id, 0xf000, 1), None, "{what}");
}

parajam_pvm::backend_tests! {
    sandbox: any;
    sieve_runs_inside_an_inner_machine,
    host_call_stops_the_inner_machine_and_resumes_after_the_ecalli,
    page_fault_reports_the_address_and_the_machine_resumes_once_mapped,
    a_panic_and_running_out_of_gas,
    live_machines_agree_with_the_reference_machines,
    a_resumed_inner_machine_pays_exactly_one_gas_per_instruction,
    peek_poke_and_pages_between_invokes_are_seen_by_the_guest,
    expunge_frees_the_machine_and_its_instance,
}
