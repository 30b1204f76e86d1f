//! The refine inner-machine host calls (GP B.8 `machine`, `peek`, `poke`,
//! `pages`, `invoke`, `expunge`) running real guest code blobs on both PVM
//! backends through [`PvmInnerRunner`], driven from an outer machine double.

use parajam_host::pvm::PvmInnerRunner;
use parajam_host::refine::{self, RefineContext};
use parajam_host::{codes, Control, Machine};
use parajam_pvm::{Backend, Program, Pvm, PvmFlavor, HALT_ADDRESS, PAGE_SIZE, STACK_TOP};

/// The outer machine: registers, gas and one writable memory block.
struct Outer {
    regs: [u64; 13],
    gas: i64,
    memory: Vec<u8>,
}

/// Where the outer memory starts, and its size.
const BASE: u64 = 0x10_0000;
const SIZE: u64 = 1 << 20;
/// Outer addresses: the invoke argument block, then space for blobs.
const ARGS_AT: u64 = BASE;
const DATA_AT: u64 = BASE + 4096;

impl Outer {
    fn new() -> Self {
        Self {
            regs: [0; 13],
            gas: 1 << 40,
            memory: vec![0; usize::try_from(SIZE).expect("fits")],
        }
    }

    fn offset(address: u64, len: u64) -> Option<usize> {
        let end = address.checked_add(len)?;
        (address >= BASE && end <= BASE + SIZE).then(|| usize::try_from(address - BASE).ok())?
    }

    fn call(&mut self, regs: &[(usize, u64)], f: impl FnOnce(&mut Self) -> Control) -> u64 {
        for &(i, v) in regs {
            self.regs[i] = v;
        }
        assert_eq!(f(self), Control::Continue);
        self.regs[7]
    }
}

impl Machine for Outer {
    fn reg(&self, index: usize) -> u64 {
        self.regs[index]
    }
    fn set_reg(&mut self, index: usize, value: u64) {
        self.regs[index] = value;
    }
    fn gas(&self) -> i64 {
        self.gas
    }
    fn set_gas(&mut self, gas: i64) {
        self.gas = gas;
    }
    fn is_readable(&self, address: u64, len: u64) -> bool {
        len == 0 || Self::offset(address, len).is_some()
    }
    fn is_writable(&self, address: u64, len: u64) -> bool {
        self.is_readable(address, len)
    }
    fn read(&self, address: u64, len: u64) -> Option<Vec<u8>> {
        if len == 0 {
            return Some(Vec::new());
        }
        let at = Self::offset(address, len)?;
        Some(self.memory[at..at + usize::try_from(len).ok()?].to_vec())
    }
    fn write(&mut self, address: u64, data: &[u8]) -> bool {
        if data.is_empty() {
            return true;
        }
        let Some(at) = Self::offset(address, data.len() as u64) else {
            return false;
        };
        self.memory[at..at + data.len()].copy_from_slice(data);
        true
    }
}

/// One outer machine with its refine context, and the inner-machine calls
/// as the host would make them.
struct Host<'a> {
    outer: Outer,
    ctx: RefineContext,
    runner: PvmInnerRunner<'a>,
}

/// What `invoke` left: `ω7`, `ω8`, and the gas and registers written back.
#[derive(Debug)]
struct Invoked {
    status: u64,
    w8: u64,
    gas: i64,
    regs: [u64; 13],
}

impl<'a> Host<'a> {
    fn new(pvm: &'a Pvm, backend: Backend) -> Self {
        if let Some(why) = pvm.backend_unavailable(backend) {
            panic!("{backend} backend unavailable on this machine: {why}");
        }
        Self {
            outer: Outer::new(),
            ctx: RefineContext::default(),
            runner: PvmInnerRunner::new(pvm, backend),
        }
    }

    /// `machine`: a new inner machine of `code` at `pc`; its id or `HUH`.
    fn machine(&mut self, code: &[u8], pc: u64) -> u64 {
        assert!(self.outer.write(DATA_AT, code));
        let (ctx, runner) = (&mut self.ctx, &self.runner);
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
        let ctx = &self.ctx;
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
        let (ctx, runner) = (&mut self.ctx, &mut self.runner);
        let status = self
            .outer
            .call(&[(7, id), (8, ARGS_AT)], |m| refine::invoke(m, ctx, runner));
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
fn standard_memory(host: &mut Host<'_>, id: u64, guest: &str, with_rw: bool) {
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

#[test]
fn sieve_runs_inside_an_inner_machine() {
    let pvm = Pvm::new(PvmFlavor::Gp072).expect("engine");
    let sieve = parajam_guests::guest("sieve").expect("sieve");
    let n = 1000;
    let expected = parajam_guests::reference::sieve(n);
    assert_eq!(expected, 168);
    let mut gas_used = Vec::new();
    for backend in Backend::ALL {
        let mut host = Host::new(&pvm, backend);
        let id = host.machine(sieve.code, parajam_guests::ENTRY_PC.into());
        assert_eq!(id, 0, "{backend}: first machine");
        standard_memory(&mut host, id, "sieve", true);
        let run = host.invoke(id, GAS, entry_registers(n));
        assert_eq!(run.status, codes::HALT, "{backend}: {run:?}");
        assert_eq!(run.regs[7], expected, "{backend}: primes <= {n}");
        assert!(run.gas > 0 && run.gas < GAS, "{backend}: gas {}", run.gas);
        gas_used.push(GAS - run.gas);
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
    }
    assert_eq!(
        gas_used[0], gas_used[1],
        "both backends charge the same gas"
    );
}

#[test]
fn host_call_stops_the_inner_machine_and_resumes_after_the_ecalli() {
    let pvm = Pvm::new(PvmFlavor::Gp072).expect("engine");
    let guest = parajam_guests::guest("hostcall").expect("hostcall");
    let mut outcomes = Vec::new();
    for backend in Backend::ALL {
        let mut host = Host::new(&pvm, backend);
        let id = host.machine(guest.code, parajam_guests::ENTRY_PC.into());
        standard_memory(&mut host, id, "hostcall", true);
        let first = host.invoke(id, GAS, entry_registers(0));
        assert_eq!(first.status, codes::HOST, "{backend}: {first:?}");
        assert_eq!(first.w8, u64::from(parajam_guests::HOSTCALL_INDEX));
        // The pc is past the `ecalli`: the next instruction's offset.
        let resume_pc = host.ctx.machines[&id].pc;
        assert!(resume_pc > 0, "{backend}");
        // The outer host answers the call: ω7 = 41 as its result.
        let mut regs = first.regs;
        regs[7] = 41;
        let second = host.invoke(id, first.gas, regs);
        assert_eq!(second.status, codes::HALT, "{backend}: {second:?}");
        assert_eq!(second.regs[7], parajam_guests::reference::hostcall(41));
        assert_eq!(second.regs[7], 42);
        assert!(second.gas < first.gas);
        outcomes.push((resume_pc, first.gas, second.gas));
    }
    assert_eq!(outcomes[0], outcomes[1], "both backends agree");
    // The code was compiled once per backend, not once per run.
    let stats = pvm.module_cache_stats();
    assert_eq!((stats.misses, stats.hits), (2, 2), "{stats:?}");
}

#[test]
fn invalid_code_is_huh() {
    let pvm = Pvm::new(PvmFlavor::Gp072).expect("engine");
    let mut host = Host::new(&pvm, Backend::Interpreter);
    // `E(|j|) = 0, E1(z) = 0, E(|c|) = 5` but only one octet of code.
    assert_eq!(host.machine(&[0, 0, 5, 0], 0), codes::HUH);
    assert_eq!(host.machine(&[], 0), codes::HUH);
    assert!(host.ctx.machines.is_empty());
    // A valid one-instruction blob (`trap`) is accepted.
    assert_eq!(host.machine(&[0, 0, 1, 0, 1], 0), 0);
}

#[test]
fn page_fault_reports_the_address_and_the_machine_resumes_once_mapped() {
    let pvm = Pvm::new(PvmFlavor::Gp072).expect("engine");
    let sieve = parajam_guests::guest("sieve").expect("sieve");
    let rw = Program::from_standard_blob(sieve.program)
        .expect("standard program")
        .layout(0)
        .rw_data;
    let mut outcomes = Vec::new();
    for backend in Backend::ALL {
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
        let fault_pc = host.ctx.machines[&id].pc;
        assert_ne!(fault_pc, 0, "{backend}: stopped inside main");
        // Map the table and go on from the faulting instruction.
        let (_, w) = data_sections(sieve.program);
        assert_eq!(host.pages(id, rw.0, rw.1, 2), codes::OK);
        assert_eq!(host.poke(id, rw.0, w), codes::OK);
        let done = host.invoke(id, fault.gas, fault.regs);
        assert_eq!(done.status, codes::HALT, "{backend}: {done:?}");
        assert_eq!(done.regs[7], 168, "{backend}");
        outcomes.push((address, fault_pc, fault.gas, done.gas));
    }
    assert_eq!(outcomes[0], outcomes[1], "both backends agree");
}

#[test]
fn a_panic_and_running_out_of_gas() {
    let pvm = Pvm::new(PvmFlavor::Gp072).expect("engine");
    let sieve = parajam_guests::guest("sieve").expect("sieve");
    for backend in Backend::ALL {
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
}
