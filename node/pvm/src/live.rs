//! A live machine: one polkavm instance of a GP code blob kept for as long
//! as an inner machine lives (GP 0.7.2 appendix B.8, from `machine` to
//! `expunge`), so that its memory stays in the instance between runs and a
//! run after a host call resumes where the last one stopped.
//!
//! Each [`LiveMachine::run`] is `Ψ(p, ı, ϱ, ω, μ)` of GP eq. A.1 with `μ`
//! the instance's memory, and it returns what `invoke` (GP B.8, `Ω_K`)
//! hands back: the exit `ε`, the gas, the registers and the pc `ı'` at
//! which the machine resumes (the instruction after the `ecalli` for a host
//! call, GP §A.6; the faulting instruction for a page fault; zero after a
//! halt or a panic, eq. A.1).
//!
//! # Gas across a host call
//!
//! polkavm charges a basic block's cost when execution enters it. A run
//! that stops at an `ecalli` inside a block has thereby paid for the
//! instructions after it, which GP 0.7.x charges (one gas each, `ϱ_Δ`)
//! only when they run. So a host-call exit gives that unrun tail back
//! ([`CodeBlob::block_tail`]), and remembers it as *prepaid*: the next run,
//! when it resumes at that pc, lets polkavm go on by itself (no new
//! charge) and takes the prepaid gas off first. Either run thus pays one
//! gas per instruction it ran, as the GP does. If the gas given is less
//! than the prepaid tail, polkavm could not have entered that tail either:
//! the run stops out of gas at once, gas, registers and pc unchanged, as a
//! fresh instance entering there would.
//!
//! A page fault is charged the whole block (the GP 0.7.2 PVM test vectors'
//! rule, see `PvmFlavor::unrun_gas`); its resume at the faulting
//! instruction pays from there on again, as a fresh run from that pc does.
//!
//! Any other pc (the first run, a run after a halt, panic or out-of-gas,
//! or a pc the caller chose) enters through `set_next_program_counter`,
//! which charges the whole block it lands in: the part before the pc is
//! given back up front ([`crate::CodeBlob::block_entry_overcharge`]).

use polkavm::{MemoryProtection, ProgramCounter, Reg};

use crate::vm::Instance as RawInstance;

use crate::{
    block_tail, engine_error, registers_of, Backend, CodeBlob, CodeEvent, CodeRun, ExitReason,
    InitialState, Pvm, PvmError, PvmFlavor, REGISTER_COUNT,
};

/// Where polkavm resumes by itself, and the gas of the instructions from
/// there to the end of their block that it has already charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Resume {
    pc: u32,
    prepaid: i64,
}

/// One run of a [`LiveMachine`]: what `invoke` returns (GP B.8, `Ω_K`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveRun {
    /// `ε`: how the run ended.
    pub exit: ExitReason,
    /// `ı'`: where the machine resumes (see the module docs).
    pub pc: u32,
    /// `ϱ'`: the gas left, never more than the run was given.
    pub gas: i64,
    /// `ω'`: the registers.
    pub regs: [u64; REGISTER_COUNT],
}

/// A GP code blob's polkavm instance with its memory, for many runs (an
/// inner machine of GP B.8). Memory starts all inaccessible; pages are made
/// accessible, protected, freed, read and written between runs. Made by
/// [`Pvm::live_machine`].
///
/// It checks no GP access rule itself (the first 64 KiB, page modes):
/// polkavm refuses what it cannot do, with an error.
pub struct LiveMachine {
    flavor: PvmFlavor,
    backend: Backend,
    code: CodeBlob,
    /// `None` only while a run has it.
    instance: Option<RawInstance>,
    halt_pc_known: bool,
    resume: Option<Resume>,
}

impl std::fmt::Debug for LiveMachine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveMachine")
            .field("backend", &self.backend)
            .field("code", &self.code)
            .field("resume", &self.resume)
            .finish_non_exhaustive()
    }
}

impl Pvm {
    /// A live machine of `code` on `backend`, all its memory inaccessible:
    /// its module from the module cache (compiled on a miss) and a new
    /// instance of it.
    pub fn live_machine(&self, backend: Backend, code: &CodeBlob) -> Result<LiveMachine, PvmError> {
        let run = self.start_code(backend, code, &InitialState::default(), false)?;
        let CodeRun {
            instance,
            halt_pc_known,
            ..
        } = run;
        Ok(LiveMachine {
            flavor: self.flavor,
            backend,
            code: code.clone(),
            instance: Some(instance),
            halt_pc_known,
            resume: None,
        })
    }
}

impl LiveMachine {
    /// The backend asked for.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The code it runs.
    pub fn code(&self) -> &CodeBlob {
        &self.code
    }

    fn instance_mut(&mut self) -> Result<&mut RawInstance, PvmError> {
        self.instance
            .as_mut()
            .ok_or_else(|| PvmError::Engine("the instance was lost in a failed run".into()))
    }

    /// Makes the pages of `[address, address + length)` accessible and zero:
    /// writable or read-only (`pages` modes 2 and 1, GP B.8). `address` and
    /// `length` are multiples of [`crate::PAGE_SIZE`].
    pub fn map_zeroed(
        &mut self,
        address: u32,
        length: u32,
        writable: bool,
    ) -> Result<(), PvmError> {
        let protection = if writable {
            MemoryProtection::ReadWrite
        } else {
            MemoryProtection::Read
        };
        self.instance_mut()?
            .zero_memory_with_memory_protection(address, length, protection)
            .map_err(engine_error)
    }

    /// Changes the access of accessible pages, keeping their contents
    /// (`pages` modes 4 and 3, GP B.8).
    pub fn set_writable(
        &mut self,
        address: u32,
        length: u32,
        writable: bool,
    ) -> Result<(), PvmError> {
        let instance = self.instance_mut()?;
        if writable {
            instance.unprotect_memory(address, length)
        } else {
            instance.protect_memory(address, length)
        }
        .map_err(engine_error)
    }

    /// Makes pages inaccessible, dropping their contents (`pages` mode 0).
    pub fn unmap(&mut self, address: u32, length: u32) -> Result<(), PvmError> {
        self.instance_mut()?
            .free_pages(address, length)
            .map_err(engine_error)
    }

    /// Reads `buffer.len()` octets at `address`, all on accessible pages.
    pub fn read_into(&mut self, address: u32, buffer: &mut [u8]) -> Result<(), PvmError> {
        self.instance_mut()?.read_memory_into(address, buffer)
    }

    /// Writes `data` at `address`, all on writable pages.
    pub fn write(&mut self, address: u32, data: &[u8]) -> Result<(), PvmError> {
        self.instance_mut()?
            .write_memory(address, data)
            .map_err(engine_error)
    }

    /// `Ψ` from `pc` with `gas` and `regs` on the instance's memory, until
    /// it exits (see the module docs for the gas and the returned pc). An
    /// error is a failure of polkavm, not of the guest; one before the run
    /// starts leaves the machine as it was.
    pub fn run(
        &mut self,
        pc: u32,
        gas: i64,
        regs: [u64; REGISTER_COUNT],
    ) -> Result<LiveRun, PvmError> {
        let gas_per_instruction = self.flavor.gas_per_instruction();
        let natural = self.resume.filter(|r| r.pc == pc);
        if let Some(resume) = natural {
            if gas < resume.prepaid {
                // polkavm could not enter the tail from `pc` with this gas.
                return Ok(LiveRun {
                    exit: ExitReason::OutOfGas,
                    pc,
                    gas,
                    regs,
                });
            }
        }
        let mut instance = self
            .instance
            .take()
            .ok_or_else(|| PvmError::Engine("the instance was lost in a failed run".into()))?;
        self.resume = None;
        let start_gas = if let Some(resume) = natural {
            gas - resume.prepaid
        } else {
            instance.set_next_program_counter(ProgramCounter(pc));
            let overcharge = self.code.block_entry_overcharge(pc) * gas_per_instruction;
            gas.saturating_add(overcharge)
        };
        for (reg, value) in Reg::ALL.into_iter().zip(regs) {
            instance.set_reg(reg, value);
        }
        instance.set_gas(start_gas);
        let mut run = CodeRun {
            flavor: self.flavor,
            code: &self.code,
            instance,
            halt_pc_known: self.halt_pc_known,
            last_step: None,
            steps: 0,
            pending_wide: None,
        };
        let exit = loop {
            match run.next() {
                Ok(CodeEvent::Exit(exit)) => break Ok(exit),
                Ok(CodeEvent::Step(_)) => {}
                Err(e) => break Err(e),
            }
        };
        let instance = run.instance;
        let result = exit
            .and_then(|exit| self.outcome(&instance, exit, pc, gas, start_gas, natural.is_some()));
        self.instance = Some(instance);
        result
    }

    /// What a run that started at `pc` with `gas` (polkavm given
    /// `start_gas`) returns when it stopped with `exit`; notes where the
    /// next one may resume by itself.
    fn outcome(
        &mut self,
        instance: &RawInstance,
        exit: ExitReason,
        pc: u32,
        gas: i64,
        start_gas: i64,
        resumed: bool,
    ) -> Result<LiveRun, PvmError> {
        let gas_per_instruction = self.flavor.gas_per_instruction();
        let mut left = instance.gas();
        let at = instance.program_counter();
        let tail = |at: ProgramCounter| block_tail(&self.code.blob, at.0);
        let resumes_at = |next: u32| instance.next_program_counter() == Some(ProgramCounter(next));
        let next_pc = match (exit, at) {
            (ExitReason::Halt | ExitReason::Panic, _) => {
                if let (ExitReason::Panic, Some(at)) = (exit, at) {
                    left = left.saturating_add(self.flavor.unrun_gas(exit, tail(at)));
                }
                0
            }
            (ExitReason::HostCall(_), Some(at)) => {
                let next = self
                    .code
                    .next_instruction_offset(at.0)
                    .ok_or_else(|| PvmError::Engine(format!("no ecalli at {}", at.0)))?;
                // The instructions after the `ecalli` in its block are paid
                // for but have not run: give them back, and take them off
                // when the next run goes on from `next`.
                let prepaid = tail(at).saturating_mul(gas_per_instruction);
                left = left.saturating_add(prepaid);
                if resumes_at(next) {
                    self.resume = Some(Resume { pc: next, prepaid });
                }
                next
            }
            (ExitReason::PageFault(_), Some(at)) => {
                left = left.saturating_add(self.flavor.unrun_gas(exit, tail(at)));
                // The whole block is charged, the faulting instruction and
                // its tail included; going on from it pays them again, as
                // the GP charges every instruction run.
                let prepaid = (tail(at) + 1).saturating_mul(gas_per_instruction);
                if resumes_at(at.0) {
                    self.resume = Some(Resume { pc: at.0, prepaid });
                }
                at.0
            }
            // Entering through `set_next_program_counter`, polkavm stops
            // before it knows a pc when it cannot pay for the first block.
            (ExitReason::OutOfGas, _) if !resumed && left >= start_gas => pc,
            (ExitReason::OutOfGas, at) => at.map_or(pc, |at| at.0),
            (ExitReason::HostCall(_) | ExitReason::PageFault(_), None) => {
                return Err(PvmError::Engine(format!("{exit} without a pc")));
            }
        };
        Ok(LiveRun {
            exit,
            pc: next_pc,
            gas: left.min(gas),
            regs: registers_of(instance),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::code_blob as blob;
    use crate::{PvmFlavor, PAGE_SIZE};

    /// `trap`, `ecalli`, `move_reg`, `load_u8` (GP §A.5.1, 2, 9, 5).
    const TRAP: u8 = 0;
    const FALLTHROUGH: u8 = 1;
    const ECALLI: u8 = 10;
    const MOVE_REG: u8 = 100;
    const LOAD_U8: u8 = 52;

    /// A fresh live machine of `code` on `backend`.
    fn machine(backend: Backend, code: &[u8]) -> LiveMachine {
        let pvm = Pvm::new(PvmFlavor::Gp072).expect("the interpreter starts");
        let code = pvm.prepare_code(code).expect("parses");
        pvm.live_machine(backend, &code).expect("an instance")
    }

    /// `fallthrough; move_reg ω0 ← ω1; ecalli 0; move_reg ω0 ← ω1; trap`:
    /// the ecalli in the middle of the block from offset 1.
    fn block_with_ecalli() -> Vec<u8> {
        blob(
            &[FALLTHROUGH, MOVE_REG, 0x10, ECALLI, MOVE_REG, 0x10, TRAP],
            &[0, 1, 3, 4, 6],
        )
    }

    fn a_resumed_machine_pays_one_gas_per_instruction_across_an_ecalli(backend: Backend) {
        let per = PvmFlavor::Gp072.gas_per_instruction();
        let mut m = machine(backend, &block_with_ecalli());
        let b = m.backend();
        // fallthrough, move_reg, ecalli: three instructions.
        let first = m.run(0, 10, [0; 13]).expect("runs");
        assert_eq!(
            (first.exit, first.pc, first.gas),
            (ExitReason::HostCall(0), 4, 10 - 3 * per),
            "{b}"
        );
        // Too little gas for the rest of the block: out of gas at once,
        // nothing changed, and it may still go on from there.
        let short = m.run(4, per, [7; 13]).expect("runs");
        assert_eq!(
            (short.exit, short.pc, short.gas, short.regs),
            (ExitReason::OutOfGas, 4, per, [7; 13]),
            "{b}"
        );
        // move_reg, trap: two instructions, not the whole block again.
        let mut regs = first.regs;
        regs[1] = 42;
        let second = m.run(4, 10, regs).expect("runs");
        assert_eq!(
            (second.exit, second.pc, second.gas, second.regs[0]),
            (ExitReason::Panic, 0, 10 - 2 * per, 42),
            "{b}"
        );
        // After the panic, pc 0 enters anew and pays like the first run.
        let again = m.run(0, 10, [0; 13]).expect("runs");
        assert_eq!((again.exit, again.gas), (first.exit, first.gas), "{b}");
        // A pc other than where it stopped (the block's start) enters
        // there: move_reg, ecalli.
        let elsewhere = m.run(1, 10, [0; 13]).expect("runs");
        assert_eq!(
            (elsewhere.exit, elsewhere.pc, elsewhere.gas),
            (ExitReason::HostCall(0), 4, 10 - 2 * per),
            "{b}"
        );
    }

    /// `load_u8 ω0 ← μ[0x20000]; ecalli 0; load_u8 ω0 ← μ[0x20000]; trap`.
    fn load_ecalli_load() -> Vec<u8> {
        let load = [LOAD_U8, 0x00, 0x00, 0x00, 0x02];
        let mut code = load.to_vec();
        code.push(ECALLI);
        code.extend(load);
        code.push(TRAP);
        blob(&code, &[0, 5, 6, 11])
    }

    fn memory_changed_between_runs_is_what_the_guest_sees(backend: Backend) {
        let per = PvmFlavor::Gp072.gas_per_instruction();
        let mut m = machine(backend, &load_ecalli_load());
        let b = m.backend();
        assert!(m.write(0x20000, &[1]).is_err(), "{b}: not mapped yet");
        m.map_zeroed(0x20000, PAGE_SIZE, false).expect("maps");
        assert!(m.write(0x20000, &[1]).is_err(), "{b}: read-only");
        m.set_writable(0x20000, PAGE_SIZE, true)
            .expect("unprotects");
        m.write(0x20000, &[5]).expect("writes");
        let first = m.run(0, 100, [0; 13]).expect("runs");
        assert_eq!(
            (first.exit, first.regs[0], first.gas),
            (ExitReason::HostCall(0), 5, 100 - 2 * per),
            "{b}"
        );
        // Gone: the second load faults at the page.
        m.unmap(0x20000, PAGE_SIZE).expect("unmaps");
        let fault = m.run(first.pc, first.gas, first.regs).expect("runs");
        assert_eq!(
            (fault.exit, fault.pc, fault.gas),
            (ExitReason::PageFault(0x20000), 6, first.gas - 2 * per),
            "{b}: the faulting load's block charged (load, trap)"
        );
        // Back, with other contents: the load runs again from the fault.
        m.map_zeroed(0x20000, PAGE_SIZE, true).expect("maps");
        m.write(0x20001, &[1, 2]).expect("writes");
        m.write(0x20000, &[9]).expect("writes");
        let mut read = [0u8; 3];
        m.read_into(0x20000, &mut read).expect("reads");
        assert_eq!(read, [9, 1, 2], "{b}");
        let done = m.run(fault.pc, 50, fault.regs).expect("runs");
        assert_eq!(
            (done.exit, done.regs[0], done.gas),
            (ExitReason::Panic, 9, 50 - 2 * per),
            "{b}: load and trap"
        );
    }

    crate::backend_tests! {
        a_resumed_machine_pays_one_gas_per_instruction_across_an_ecalli,
        memory_changed_between_runs_is_what_the_guest_sees,
    }
}
