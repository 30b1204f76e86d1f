//! The host-call machine interface over parajam's PVM engine, and the
//! engine's [`InnerRunner`] for the refine inner machines ([`PvmInnerRunner`]).

use std::collections::HashMap;
use std::sync::Arc;

use parajam_pvm::{
    Backend, CodeBlob, ExitReason, HostCallContext, InitialState, MachineState, MemoryChunk,
    PageRange, Pvm, PvmError, PAGE_SIZE, REGISTER_COUNT,
};

use crate::refine::{Access, InnerExit, InnerRam, InnerRun, InnerRunner};
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
    }
}

/// Runs the inner machines of the refine host calls (GP B.8 `machine` …
/// `expunge`) on parajam's PVM: `Ψ` of GP eq. A.1 on one backend.
///
/// Each [`InnerRunner::run`] is one `Ψ` from scratch: the inner RAM goes in
/// as pages and comes back out, so an inner machine lives between runs as
/// data ([`InnerRam`]) and any backend can resume it.
///
/// The pc it returns is the GP's: after a host call the instruction after
/// the `ecalli` (`ı' + 1 + skip(ı')`, GP B.8 `invoke`), so the next run
/// resumes there; after a page fault or running out of gas the instruction
/// that stopped; after a halt or a panic zero (GP eq. A.1 returns `ı' = 0`
/// for `∎` and `☇`).
///
/// A run that polkavm cannot even start or finish (an engine failure, the
/// compiler backend missing on this machine, an inner RAM page below
/// `2^16`, a pc beyond 32 bits) is not the guest's fault but must not stop
/// the outer machine: it is reported as a `☇` with the gas, registers and
/// RAM unchanged and pc zero.
///
/// Gas: polkavm charges a basic block's whole cost when execution enters
/// it (one gas per instruction, GP 0.7.x), even when it enters in the
/// middle, as a run resumed after an `ecalli` does. The runner gives the
/// block's instructions before the pc back
/// ([`Pvm::block_entry_overcharge`]), so a run pays from its pc to the end
/// of the block. A machine resumed after a host call thus still pays twice
/// for the instructions after the `ecalli` in its block (its first run paid
/// the whole block on entry): a few gas more than one uninterrupted run,
/// where the GP's one gas per instruction run would charge exactly that.
///
/// Each machine's code is parsed once and its module compiled once (the
/// engine's module cache): the runner keeps the parse by the machine's code
/// `Arc`, which it holds, so a resume after a host call costs no parse.
#[derive(Debug, Clone)]
pub struct PvmInnerRunner<'a> {
    pvm: &'a Pvm,
    backend: Backend,
    /// Parsed code by the address of the machine's code `Arc` (kept alive
    /// here, so the address names that code alone).
    prepared: HashMap<usize, (Arc<[u8]>, CodeBlob)>,
}

impl<'a> PvmInnerRunner<'a> {
    /// Inner machines on `pvm`'s `backend`.
    pub fn new(pvm: &'a Pvm, backend: Backend) -> Self {
        Self {
            pvm,
            backend,
            prepared: HashMap::new(),
        }
    }

    /// The parsed form of `code`, parsed on first use.
    fn prepared(&mut self, code: &Arc<[u8]>) -> Result<CodeBlob, PvmError> {
        let key = Arc::as_ptr(code).cast::<u8>() as usize;
        if let Some((_, blob)) = self.prepared.get(&key) {
            return Ok(blob.clone());
        }
        let blob = self.pvm.prepare_code(code)?;
        self.prepared.insert(key, (Arc::clone(code), blob.clone()));
        Ok(blob)
    }

    /// The backend the inner machines run on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// `Ψ` on `code`, or why polkavm could not run it.
    fn try_run(
        &mut self,
        code: &Arc<[u8]>,
        pc: u64,
        gas: i64,
        regs: [u64; REGISTER_COUNT],
        ram: &mut InnerRam,
    ) -> Result<InnerRun, PvmError> {
        let pc = u32::try_from(pc).map_err(|_| PvmError::Engine(format!("pc {pc:#x}")))?;
        // polkavm charges the whole basic block on entry, also in its middle:
        // give back what the block's instructions before `pc` cost.
        let blob = self.prepared(code)?;
        let overcharge = blob.block_entry_overcharge(pc) * self.pvm.flavor().gas_per_instruction();
        let init = initial_state(pc, gas.saturating_add(overcharge), regs, ram);
        let out = self.pvm.run_code(self.backend, &blob, &init)?;
        let machine = out.machine;
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
                let next = blob
                    .next_instruction_offset(machine.pc)
                    .ok_or_else(|| PvmError::Engine(format!("no ecalli at {}", machine.pc)))?;
                (InnerExit::Host(index.into()), next)
            }
        };
        // Last, so that a failed run leaves the RAM as it was.
        for (range, chunk) in init.pages.iter().zip(&out.memory) {
            if range.is_writable {
                for (i, page) in chunk.contents.chunks(PAGE_OCTETS).enumerate() {
                    let index = range.address / PAGE_SIZE + u32::try_from(i).unwrap_or(0);
                    ram.set_page(index, Access::Write, page);
                }
            }
        }
        Ok(InnerRun {
            exit,
            pc: pc.into(),
            gas: machine.gas.min(gas),
            regs: machine.regs,
        })
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

impl InnerRunner for PvmInnerRunner<'_> {
    fn is_valid_code(&self, code: &[u8]) -> bool {
        self.pvm.is_valid_code_blob(code)
    }

    fn run(
        &mut self,
        code: &Arc<[u8]>,
        pc: u64,
        gas: i64,
        regs: [u64; REGISTER_COUNT],
        ram: &mut InnerRam,
    ) -> InnerRun {
        match self.try_run(code, pc, gas, regs, ram) {
            Ok(run) => run,
            Err(_) => InnerRun {
                exit: InnerExit::Panic,
                pc: 0,
                gas,
                regs,
            },
        }
    }
}
