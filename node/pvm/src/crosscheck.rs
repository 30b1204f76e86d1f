//! Crosscheck: the interpreter and the recompiler run the same code in
//! lockstep, and the first difference is reported.

use std::fmt;

use polkavm::{ProgramCounter, Reg};

use crate::vm::Instance as RawInstance;

use crate::code::CodeBlob;
use crate::error::{engine_error, Divergence, PvmError, Stepped};
use crate::flavor::PvmFlavor;
use crate::quirks::block_tail;
use crate::types::{ExitReason, InitialState, MachineState, MemoryChunk, Outcome, REGISTER_COUNT};

/// Runs two step-traced runs of the same code in lockstep (see
/// [`Pvm::crosscheck_steps`]): `a` the interpreter's, `b` the compiler's.
pub(crate) fn lockstep_code(
    mut a: CodeRun<'_>,
    mut b: CodeRun<'_>,
    init: &InitialState,
) -> Result<Stepped<Outcome>, PvmError> {
    let mut last_pc = None;
    let diverged = |instructions, pc, what| {
        PvmError::DivergenceAt(Divergence {
            instructions,
            host_calls: 0,
            pc,
            what,
        })
    };
    let (exit_a, exit_b) = loop {
        match (a.next()?, b.next()?) {
            (CodeEvent::Step(pc_a), CodeEvent::Step(pc_b)) => {
                if let Some(what) = step_difference(pc_a, pc_b, &a.instance, &b.instance) {
                    return Err(diverged(a.steps - 1, last_pc, what));
                }
                last_pc = Some(pc_a);
            }
            (CodeEvent::Exit(x), CodeEvent::Exit(y)) => break (x, y),
            (x, y) => {
                let what = format!("{x} vs {y}");
                return Err(diverged(a.steps.min(b.steps), last_pc, what));
            }
        }
    };
    let instructions = a.steps;
    let a = a.finish(exit_a, init)?;
    let b = b.finish(exit_b, init)?;
    if let Some(what) = a.difference(&b) {
        return Err(diverged(instructions, last_pc, what));
    }
    Ok(Stepped {
        outcome: a,
        instructions,
    })
}

/// What a run of a code blob stopped for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeEvent {
    /// Step tracing: the pc of the instruction about to run.
    Step(u32),
    /// The machine stopped.
    Exit(ExitReason),
}

impl fmt::Display for CodeEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodeEvent::Step(pc) => write!(f, "next pc {pc}"),
            CodeEvent::Exit(exit) => write!(f, "exit {exit}"),
        }
    }
}

/// A run of a code blob on one backend, interrupt by interrupt.
pub(crate) struct CodeRun<'c> {
    pub(crate) flavor: PvmFlavor,
    pub(crate) code: &'c CodeBlob,
    pub(crate) instance: RawInstance,
    /// Whether both backends step (a step trace asked for, or forced by
    /// `sbrk`), so that the pc of a halting instruction is known alike.
    pub(crate) halt_pc_known: bool,
    /// With step tracing, the pc of the instruction about to run.
    pub(crate) last_step: Option<ProgramCounter>,
    /// The instructions begun, with step tracing.
    pub(crate) steps: u64,
    /// A wide-destination instruction about to run.
    pub(crate) pending_wide: Option<crate::quirks::PendingWide>,
}

impl CodeRun<'_> {
    /// Runs to the next step or exit. A step at an `sbrk` is an exit: a
    /// panic (see [`Pvm::start_code`]).
    pub(crate) fn next(&mut self) -> Result<CodeEvent, PvmError> {
        let interrupt = self.instance.run()?;
        if let Some(pending) = self.pending_wide.take() {
            pending.after(&mut self.instance);
        }
        let interrupt = crate::quirks::mend_store_fault(&self.code.blob, &self.instance, interrupt);
        if let Some(exit) = self.flavor.exit_reason(interrupt) {
            let exit = self.mend_dynamic_jump_fault(exit);
            if exit == ExitReason::Panic {
                self.mend_load_before_bad_jump();
            }
            return Ok(CodeEvent::Exit(exit));
        }
        self.steps += 1;
        self.last_step = self.instance.program_counter();
        let pc = self.last_step.map_or(0, |pc| pc.0);
        // Translated code has its wide destinations rewritten already.
        if let Some(&wide) = self
            .code
            .wide
            .get(&pc)
            .filter(|_| !self.instance.is_translated())
        {
            self.pending_wide = Some(crate::quirks::PendingWide::before(&self.instance, pc, wide));
        }
        if self.code.sbrk_pcs.contains(&pc) {
            // The run stops before the `sbrk` runs. polkavm steps a block's
            // first instruction before it charges the block, so there the
            // charge is still to come: make it as polkavm would (out of gas
            // if the block is dearer than the gas left), so that the panic
            // pays like any other (`finish` gives the unrun tail back).
            if self.code.block_entry_overcharge(pc) == 0 {
                let cost = (block_tail(&self.code.blob, pc) + 1)
                    .saturating_mul(self.flavor.gas_per_instruction());
                let gas = self.instance.gas();
                if gas < cost {
                    return Ok(CodeEvent::Exit(ExitReason::OutOfGas));
                }
                self.instance.set_gas(gas - cost);
            }
            return Ok(CodeEvent::Exit(ExitReason::Panic));
        }
        Ok(CodeEvent::Step(pc))
    }

    /// `exit`, except that a page fault at a dynamic jump is the panic the
    /// GP has there (eq. A.18): polkavm 0.30's generic sandbox reports a
    /// jump through an address outside the jump table as a page fault at
    /// the jump (the Linux sandbox and the interpreter panic). A dynamic
    /// jump reads no memory, so no fault of the GP is ever at one.
    fn mend_dynamic_jump_fault(&self, exit: ExitReason) -> ExitReason {
        let at_dynamic_jump = || {
            self.instance.program_counter().is_some_and(|pc| {
                self.code
                    .blob
                    .code()
                    .get(pc.0 as usize)
                    .is_some_and(|&op| self.flavor.is_dynamic_jump_opcode(op))
            })
        };
        match exit {
            ExitReason::PageFault(_) if at_dynamic_jump() => ExitReason::Panic,
            exit => exit,
        }
    }

    /// After a panic at a `load_imm_jump_ind` (GP §A.5.12): its
    /// `ω'_A = ν_X` holds whatever its jump did (the GP updates both), but
    /// polkavm 0.37's recompiler panics on a jump outside the jump table
    /// before it loads the register. Setting it again is the GP's value on
    /// any backend.
    fn mend_load_before_bad_jump(&mut self) {
        use polkavm::program::Instruction as I;
        let Some(pc) = self.instance.program_counter() else {
            return;
        };
        let Some(instruction) = self.code.blob.instructions_bounded_at(pc).next() else {
            return;
        };
        if instruction.offset != pc {
            return;
        }
        if let I::load_imm_and_jump_indirect(a, _, value, _) = instruction.kind {
            // `ν_X` is sign-extended to 64 bits (GP eq. A.16, `X_n`).
            let value = i64::from(value.cast_signed()).cast_unsigned();
            self.instance.set_reg(a.get(), value);
        }
    }

    /// The outcome of a run that stopped with `exit`.
    ///
    /// The pc of a panic or a page fault is exact on both backends: polkavm
    /// reports the instruction that stopped (a memory access, `trap`, an
    /// invalid opcode, a jump, the implicit trap past the code), except for
    /// a branch to no block start on the interpreter, which runs such code
    /// step-traced (`interpreter_needs_steps`) and then reports it too. From
    /// that pc the block's unrun tail follows from the code alone, and the
    /// flavor decides what of it to give back (`PvmFlavor::unrun_gas`).
    pub(crate) fn finish(self, exit: ExitReason, init: &InitialState) -> Result<Outcome, PvmError> {
        let mut instance = self.instance;
        let regs = registers_of(&instance);
        // polkavm forgets the pc on a halt; only a step trace knows it.
        let pc = match exit {
            ExitReason::Halt if self.halt_pc_known => self.last_step.map_or(0, |pc| pc.0),
            ExitReason::Halt => 0,
            _ => instance.program_counter().map_or(0, |pc| pc.0),
        };
        let mut gas = instance.gas();
        let stopped_at = instance.program_counter();
        if let (ExitReason::Panic | ExitReason::PageFault(_), Some(at)) = (exit, stopped_at) {
            let unrun = block_tail(&self.code.blob, at.0);
            gas = gas.saturating_add(self.flavor.unrun_gas(exit, unrun));
        }
        let memory = init
            .pages
            .iter()
            .map(|range| {
                instance
                    .read_memory(range.address, range.length)
                    .map(|contents| MemoryChunk {
                        address: range.address,
                        contents,
                    })
                    .map_err(engine_error)
            })
            .collect::<Result<_, _>>()?;
        Ok(Outcome {
            exit,
            machine: MachineState { regs, pc, gas },
            memory,
        })
    }
}

/// The registers `ω` of an instance, in GP order.
pub(crate) fn registers_of(instance: &RawInstance) -> [u64; REGISTER_COUNT] {
    let mut regs = [0u64; REGISTER_COUNT];
    for (slot, reg) in regs.iter_mut().zip(Reg::ALL) {
        *slot = instance.reg(reg);
    }
    regs
}

/// How two stepping instances differ in gas or registers, if they do.
/// What differs after both backends stepped, to `pc_a` and `pc_b`: the
/// next pc, else the machines ([`machine_difference`]).
pub(crate) fn step_difference(
    pc_a: u32,
    pc_b: u32,
    a: &RawInstance,
    b: &RawInstance,
) -> Option<String> {
    if pc_a == pc_b {
        machine_difference(a, b)
    } else {
        Some(format!("next pc: {pc_a} vs {pc_b}"))
    }
}

pub(crate) fn machine_difference(a: &RawInstance, b: &RawInstance) -> Option<String> {
    if a.gas() != b.gas() {
        return Some(format!("gas: {} vs {}", a.gas(), b.gas()));
    }
    let (ra, rb) = (registers_of(a), registers_of(b));
    (0..REGISTER_COUNT)
        .find(|&i| ra[i] != rb[i])
        .map(|i| format!("register {i}: {:#x} vs {:#x}", ra[i], rb[i]))
}
