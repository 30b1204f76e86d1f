//! The host-call machine interface over parajam's PVM engine, and the
//! engine's [`InnerRunner`]s for the refine inner machines: the live one
//! ([`PvmInnerRunner`], one polkavm instance per machine) and the
//! reference one ([`ReferenceInnerRunner`], a fresh `Ψ` per run over RAM
//! held as data).

use std::collections::BTreeMap;

use parajam_pvm::{
    Backend, CodeBlob, ExitReason, HostCallContext, InitialState, LiveMachine, MachineState,
    MemoryChunk, PageRange, Pvm, PvmError, PAGE_SIZE, REGISTER_COUNT,
};

use crate::refine::{
    covers, Access, InnerExit, InnerFailure, InnerRam, InnerRun, InnerRunner, InnerVm, PageChange,
};
use crate::Machine;

impl Machine for HostCallContext<'_> {
    fn reg(&self, index: usize) -> u64 {
        HostCallContext::reg(self, index)
    }
    fn set_reg(&mut self, index: usize, value: u64) {
        HostCallContext::set_reg(self, index, value);
    }
    fn gas(&self) -> i64 {
        HostCallContext::gas(self)
    }
    fn set_gas(&mut self, gas: i64) {
        HostCallContext::set_gas(self, gas);
    }
    fn is_readable(&self, address: u64, len: u64) -> bool {
        HostCallContext::is_readable(self, address, len)
    }
    fn is_writable(&self, address: u64, len: u64) -> bool {
        HostCallContext::is_writable(self, address, len)
    }
    fn read(&self, address: u64, len: u64) -> Option<Vec<u8>> {
        self.read_memory(address, len).ok()
    }
    fn write(&mut self, address: u64, data: &[u8]) -> bool {
        self.write_memory(address, data).is_ok()
    }
}

/// The PVM action for a host call's [`crate::Control`].
pub fn action(control: crate::Control) -> parajam_pvm::HostCallAction {
    match control {
        crate::Control::Continue => parajam_pvm::HostCallAction::Continue,
        crate::Control::Panic => parajam_pvm::HostCallAction::Panic,
        crate::Control::OutOfGas => parajam_pvm::HostCallAction::OutOfGas,
        crate::Control::Abort => parajam_pvm::HostCallAction::Abort,
    }
}

/// Runs the inner machines of the refine host calls (GP B.8 `machine` …
/// `expunge`) on parajam's PVM, one live polkavm instance per machine
/// ([`PvmInnerVm`]): `machine` makes it, `peek`, `poke` and `pages` act on
/// its memory, `invoke` resumes it, `expunge` (dropping it) frees it.
#[derive(Debug, Clone, Copy)]
pub struct PvmInnerRunner<'a> {
    pvm: &'a Pvm,
    backend: Backend,
}

impl<'a> PvmInnerRunner<'a> {
    /// Inner machines on `pvm`'s `backend`.
    pub fn new(pvm: &'a Pvm, backend: Backend) -> Self {
        Self { pvm, backend }
    }

    /// The backend the inner machines run on.
    pub fn backend(&self) -> Backend {
        self.backend
    }
}

impl<'a> InnerRunner for PvmInnerRunner<'a> {
    type Vm = PvmInnerVm<'a>;

    /// The code is parsed (and its `deblob` checked) once, and its module
    /// compiled once per backend (the engine's module cache). If polkavm
    /// cannot make an instance (the backend missing here, a module it
    /// refuses), the machine still exists, its RAM held as data, and each
    /// `invoke` tries again and fails with an [`InnerFailure`] (a node
    /// failure: the `invoke` host call aborts the run) while it fails.
    fn machine(&mut self, code: &[u8], pc: u64) -> Option<PvmInnerVm<'a>> {
        let code = self.pvm.prepare_code(code).ok()?;
        let memory = match self.pvm.live_machine(self.backend, &code) {
            Ok(live) => Memory::Live(Box::new(live)),
            Err(_) => Memory::Data(InnerRam::default()),
        };
        Some(PvmInnerVm {
            pvm: self.pvm,
            backend: self.backend,
            code,
            pc,
            access: BTreeMap::new(),
            memory,
        })
    }
}

/// Where an inner machine's RAM is.
#[derive(Debug)]
enum Memory {
    /// In its polkavm instance.
    Live(Box<LiveMachine>),
    /// As data, while there is no instance.
    Data(InnerRam),
}

/// An inner machine on parajam's PVM: a [`LiveMachine`] (one polkavm
/// instance holding the RAM, registers and position) for its whole life.
///
/// * `peek`/`poke`/`pages` check the GP access rules against the page map
///   kept here (the RAM's `V_μ` and `V*_μ`, eq. `eq:pvmmemory`) and then
///   read, write, zero, protect or free the instance's memory.
/// * `invoke` sets gas and registers and runs the instance: after a host
///   call polkavm goes on from the instruction after the `ecalli` by
///   itself, and the machine pays one gas per instruction run across it
///   (see [`LiveMachine`]). A pc the instance did not stop at (the first
///   run, after a halt, a panic or running out of gas) enters there anew.
///   The pc returned is the GP's (B.8 `invoke`, eq. A.1): after a host
///   call the next instruction's, after a page fault or running out of gas
///   the instruction that stopped, after a halt or a panic zero.
/// * A failure of polkavm (not of the guest) is an [`InnerFailure`]: the
///   node failed, and the `invoke` host call aborts the run instead of
///   inventing an outcome. Before a run (no instance could be made, a pc
///   beyond 32 bits) the RAM is left as it was. In a run (the recompiler's
///   sandbox process lost, which no input causes) the RAM is what could be
///   read back from the instance, as data.
#[derive(Debug)]
pub struct PvmInnerVm<'a> {
    pvm: &'a Pvm,
    backend: Backend,
    code: CodeBlob,
    pc: u64,
    /// The accessible pages and their access, while [`Memory::Live`].
    access: BTreeMap<u32, Access>,
    memory: Memory,
}

impl PvmInnerVm<'_> {
    /// Whether its RAM is in a live polkavm instance (rather than held as
    /// data after polkavm failed).
    pub fn is_live(&self) -> bool {
        matches!(self.memory, Memory::Live(_))
    }

    /// Moves the RAM out of the instance into data, after polkavm failed:
    /// what cannot be read back reads as zero.
    fn demote(&mut self) {
        let Memory::Live(live) = &mut self.memory else {
            return;
        };
        let mut ram = InnerRam::default();
        let mut page_data = vec![0u8; PAGE_OCTETS];
        for (&page, &access) in &self.access {
            page_data.fill(0);
            if live
                .read_into(page.wrapping_mul(PAGE_SIZE), &mut page_data)
                .is_err()
            {
                page_data.fill(0);
            }
            ram.set_page(page, access, &page_data);
        }
        self.access.clear();
        self.memory = Memory::Data(ram);
    }

    /// A live instance with the RAM held as data, unless polkavm fails.
    fn promote(
        &self,
        ram: &InnerRam,
    ) -> Result<(LiveMachine, BTreeMap<u32, Access>), InnerFailure> {
        let failed = |what: &str| InnerFailure(format!("a live instance: {what}"));
        let mut live = self
            .pvm
            .live_machine(self.backend, &self.code)
            .map_err(|e| failed(&e.to_string()))?;
        let mut access = BTreeMap::new();
        for (page, page_access, contents) in ram.pages() {
            let address = page
                .checked_mul(PAGE_SIZE)
                .ok_or_else(|| failed("a page beyond 32 bits"))?;
            live.map_zeroed(address, PAGE_SIZE, true)
                .map_err(|e| failed(&e.to_string()))?;
            if contents.iter().any(|&b| b != 0) {
                live.write(address, contents)
                    .map_err(|e| failed(&e.to_string()))?;
            }
            if page_access == Access::Read {
                live.set_writable(address, PAGE_SIZE, false)
                    .map_err(|e| failed(&e.to_string()))?;
            }
            access.insert(page, page_access);
        }
        Ok((live, access))
    }
}

/// The GP exit of an engine exit.
fn inner_exit(exit: ExitReason) -> InnerExit {
    match exit {
        ExitReason::Halt => InnerExit::Halt,
        ExitReason::Panic => InnerExit::Panic,
        ExitReason::OutOfGas => InnerExit::OutOfGas,
        ExitReason::PageFault(address) => InnerExit::Fault(address.into()),
        ExitReason::HostCall(index) => InnerExit::Host(index.into()),
    }
}

impl InnerVm for PvmInnerVm<'_> {
    fn pc(&self) -> u64 {
        self.pc
    }

    fn access(&self, page: u32) -> Option<Access> {
        match &self.memory {
            Memory::Live(_) => self.access.get(&page).copied(),
            Memory::Data(ram) => ram.access(page),
        }
    }

    fn read(&mut self, address: u64, len: u64) -> Option<Vec<u8>> {
        match &mut self.memory {
            Memory::Data(ram) => ram.read(address, len),
            Memory::Live(live) => {
                if !covers(address, len, false, |p| self.access.get(&p).copied()) {
                    return None;
                }
                let mut out = vec![0u8; usize::try_from(len).ok()?];
                if len > 0 {
                    // Covered: within the 32-bit space.
                    live.read_into(u32::try_from(address).ok()?, &mut out)
                        .ok()?;
                }
                Some(out)
            }
        }
    }

    fn write(&mut self, address: u64, data: &[u8]) -> bool {
        if let Memory::Live(live) = &mut self.memory {
            if !covers(address, data.len() as u64, true, |p| {
                self.access.get(&p).copied()
            }) {
                return false;
            }
            if data.is_empty() {
                return true;
            }
            match u32::try_from(address).map(|a| live.write(a, data)) {
                Ok(Ok(())) => return true,
                _ => self.demote(),
            }
        }
        match &mut self.memory {
            Memory::Data(ram) => ram.write(address, data),
            Memory::Live(_) => false,
        }
    }

    fn change_pages(&mut self, first: u32, count: u32, change: PageChange) {
        if count == 0 {
            return;
        }
        if let Memory::Live(live) = &mut self.memory {
            let (Some(address), Some(length)) =
                (first.checked_mul(PAGE_SIZE), count.checked_mul(PAGE_SIZE))
            else {
                self.demote();
                return self.change_pages(first, count, change);
            };
            let done = match change {
                PageChange::Inaccessible => live.unmap(address, length),
                PageChange::Zeroed(access) => {
                    live.map_zeroed(address, length, access == Access::Write)
                }
                PageChange::Protect(access) => {
                    live.set_writable(address, length, access == Access::Write)
                }
            };
            if done.is_ok() {
                for page in first..first.saturating_add(count) {
                    match change {
                        PageChange::Inaccessible => {
                            self.access.remove(&page);
                        }
                        PageChange::Zeroed(access) | PageChange::Protect(access) => {
                            self.access.insert(page, access);
                        }
                    }
                }
                return;
            }
            self.demote();
        }
        if let Memory::Data(ram) = &mut self.memory {
            ram.change_pages(first, count, change);
        }
    }

    fn invoke(&mut self, gas: i64, regs: [u64; REGISTER_COUNT]) -> Result<InnerRun, InnerFailure> {
        let pc = u32::try_from(self.pc)
            .map_err(|_| InnerFailure(format!("pc {} beyond 32 bits", self.pc)))?;
        if let Memory::Data(ram) = &self.memory {
            let (live, access) = self.promote(ram)?;
            self.memory = Memory::Live(Box::new(live));
            self.access = access;
        }
        let Memory::Live(live) = &mut self.memory else {
            return Err(InnerFailure("no live instance".into()));
        };
        let run = match live.run(pc, gas, regs) {
            Ok(run) => run,
            Err(e) => {
                self.demote();
                return Err(InnerFailure(e.to_string()));
            }
        };
        self.pc = run.pc.into();
        Ok(InnerRun {
            exit: inner_exit(run.exit),
            pc: self.pc,
            gas: run.gas,
            regs: run.regs,
        })
    }
}

/// The reference inner machines: each `invoke` one `Ψ` from scratch on a
/// fresh polkavm instance, the RAM copied in as pages and the writable
/// pages copied back out ([`InnerRam`]). Slow (an instance per run), but
/// independent of [`LiveMachine`]'s resume: tests check the live machines
/// against it. Same rules as [`PvmInnerVm`]: the GP pc, a failure of
/// polkavm is an [`InnerFailure`] leaving the machine as it was,
/// and a run resumed after a host call pays one gas per instruction run
/// (the host call's exit gives back the instructions of the `ecalli`'s
/// block after it, which polkavm charged on entering the block; the next
/// run, entering in the middle of that block, gets back the part before
/// its pc, [`CodeBlob::block_entry_overcharge`]).
#[derive(Debug, Clone, Copy)]
pub struct ReferenceInnerRunner<'a> {
    pvm: &'a Pvm,
    backend: Backend,
}

impl<'a> ReferenceInnerRunner<'a> {
    /// Reference inner machines on `pvm`'s `backend`.
    pub fn new(pvm: &'a Pvm, backend: Backend) -> Self {
        Self { pvm, backend }
    }
}

impl<'a> InnerRunner for ReferenceInnerRunner<'a> {
    type Vm = ReferenceInnerVm<'a>;

    fn machine(&mut self, code: &[u8], pc: u64) -> Option<ReferenceInnerVm<'a>> {
        Some(ReferenceInnerVm {
            pvm: self.pvm,
            backend: self.backend,
            code: self.pvm.prepare_code(code).ok()?,
            ram: InnerRam::default(),
            pc,
        })
    }
}

/// A reference inner machine (see [`ReferenceInnerRunner`]): `(code, RAM,
/// pc)` of GP eq. B.5 as data.
#[derive(Debug, Clone)]
pub struct ReferenceInnerVm<'a> {
    pvm: &'a Pvm,
    backend: Backend,
    code: CodeBlob,
    /// Its RAM.
    pub ram: InnerRam,
    pc: u64,
}

impl ReferenceInnerVm<'_> {
    /// `Ψ` from the machine's pc, or why polkavm could not run it.
    fn try_run(&mut self, gas: i64, regs: [u64; REGISTER_COUNT]) -> Result<InnerRun, PvmError> {
        let pc =
            u32::try_from(self.pc).map_err(|_| PvmError::Engine(format!("pc {:#x}", self.pc)))?;
        // polkavm charges the whole basic block on entry, also in its middle:
        // give back what the block's instructions before `pc` cost.
        let per_instruction = self.pvm.flavor().gas_per_instruction();
        let overcharge = self.code.block_entry_overcharge(pc) * per_instruction;
        let init = initial_state(pc, gas.saturating_add(overcharge), regs, &self.ram);
        let out = self.pvm.run_code(self.backend, &self.code, &init)?;
        let machine = out.machine;
        let mut left = machine.gas;
        // Gas is charged per block, so a run that stopped before paying for
        // the first block has its gas (with the overcharge given back) intact.
        let paid_nothing = machine.gas >= init.machine.gas;
        let (exit, pc) = match out.exit {
            ExitReason::Halt => (InnerExit::Halt, 0),
            ExitReason::Panic => (InnerExit::Panic, 0),
            // polkavm has no pc when it cannot pay for entering mid-block.
            ExitReason::OutOfGas if paid_nothing => (InnerExit::OutOfGas, pc),
            ExitReason::OutOfGas => (InnerExit::OutOfGas, machine.pc),
            ExitReason::PageFault(address) => (InnerExit::Fault(address.into()), machine.pc),
            ExitReason::HostCall(index) => {
                let next = self
                    .code
                    .next_instruction_offset(machine.pc)
                    .ok_or_else(|| PvmError::Engine(format!("no ecalli at {}", machine.pc)))?;
                // The instructions after the `ecalli` have not run.
                left = left.saturating_add(self.code.block_tail(machine.pc) * per_instruction);
                (InnerExit::Host(index.into()), next)
            }
        };
        // Last, so that a failed run leaves the RAM as it was.
        for (range, chunk) in init.pages.iter().zip(&out.memory) {
            if range.is_writable {
                for (i, page) in chunk.contents.chunks(PAGE_OCTETS).enumerate() {
                    let index = range.address / PAGE_SIZE + u32::try_from(i).unwrap_or(0);
                    self.ram.set_page(index, Access::Write, page);
                }
            }
        }
        Ok(InnerRun {
            exit,
            pc: pc.into(),
            gas: left.min(gas),
            regs: machine.regs,
        })
    }
}

impl InnerVm for ReferenceInnerVm<'_> {
    fn pc(&self) -> u64 {
        self.pc
    }

    fn access(&self, page: u32) -> Option<Access> {
        self.ram.access(page)
    }

    fn read(&mut self, address: u64, len: u64) -> Option<Vec<u8>> {
        self.ram.read(address, len)
    }

    fn write(&mut self, address: u64, data: &[u8]) -> bool {
        self.ram.write(address, data)
    }

    fn change_pages(&mut self, first: u32, count: u32, change: PageChange) {
        self.ram.change_pages(first, count, change);
    }

    fn invoke(&mut self, gas: i64, regs: [u64; REGISTER_COUNT]) -> Result<InnerRun, InnerFailure> {
        let run = self
            .try_run(gas, regs)
            .map_err(|e| InnerFailure(e.to_string()))?;
        self.pc = run.pc;
        Ok(run)
    }
}

const PAGE_OCTETS: usize = PAGE_SIZE as usize;

/// The inner RAM as a PVM initial state: runs of adjacent pages with the
/// same access as one range each, and the pages that are not all zero as
/// contents.
fn initial_state(pc: u32, gas: i64, regs: [u64; REGISTER_COUNT], ram: &InnerRam) -> InitialState {
    let mut pages: Vec<PageRange> = Vec::new();
    let mut memory: Vec<MemoryChunk> = Vec::new();
    for (index, access, contents) in ram.pages() {
        let address = index.wrapping_mul(PAGE_SIZE);
        let is_writable = access == Access::Write;
        match pages.last_mut() {
            Some(last)
                if last.is_writable == is_writable
                    && u64::from(last.address) + u64::from(last.length) == u64::from(address) =>
            {
                last.length += PAGE_SIZE;
            }
            _ => pages.push(PageRange {
                address,
                length: PAGE_SIZE,
                is_writable,
            }),
        }
        if contents.iter().any(|&b| b != 0) {
            match memory.last_mut() {
                Some(last)
                    if u64::from(last.address) + last.contents.len() as u64
                        == u64::from(address) =>
                {
                    last.contents.extend_from_slice(contents);
                }
                _ => memory.push(MemoryChunk {
                    address,
                    contents: contents.to_vec(),
                }),
            }
        }
    }
    InitialState {
        machine: MachineState { regs, pc, gas },
        pages,
        memory,
    }
}
