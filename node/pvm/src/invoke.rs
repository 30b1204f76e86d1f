//! Running a standard program with host calls: `Ψ_H` (GP §A.6 "Host Call
//! Definition") over the state `Y(p, a)` builds (GP §A.7), with what `Ψ_M`
//! (GP §A.8 "Argument Invocation Definition") reads back on exit.

use std::fmt;

use polkavm::{MemoryProtection, ProgramCounter, RawInstance, Reg};

use crate::program::{standard_registers, Program, ARGS_ADDRESS, MAX_INPUT_SIZE};
use crate::{engine_error, Backend, ExitReason, MachineState, Pvm, PvmError, REGISTER_COUNT};

/// What the host-call handler tells the machine to do next: the first
/// element of the result of a context mutator `Ω` (GP §A.6,
/// `{▸, ∎, ☇, ∞}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HostCallAction {
    /// `▸`: go on after the `ecalli` (GP's `ı'' = ı' + 1 + skip(ı')`).
    Continue,
    /// `∎`: stop with a halt.
    Halt,
    /// `☇`: stop with a panic.
    Panic,
    /// `∞`: stop, out of gas.
    OutOfGas,
}

/// A guest memory range that is not accessible as asked: the host call
/// sees `N_{address..+length} ⊄ V_μ` (or `⊄ V*_μ` for writes), which GP
/// host calls answer with `OOB` or a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("guest memory {address:#x}+{length:#x} is not accessible")]
pub struct MemoryFault {
    /// The range's first address.
    pub address: u64,
    /// Its length.
    pub length: u64,
}

/// The gas went below zero while charging a host call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("out of gas")]
pub struct OutOfGas;

/// Checks `N_{address..+length}` against the guest's page map (GP
/// eq. `eq:memlayout`, the heap as `sbrk` grew it) and returns it in 32
/// bits. An empty range is always accessible.
fn accessible(
    instance: &RawInstance,
    address: u64,
    length: u64,
    protection: MemoryProtection,
) -> Result<Option<(u32, u32)>, MemoryFault> {
    if length == 0 {
        return Ok(None);
    }
    let fault = MemoryFault { address, length };
    let start = u32::try_from(address).map_err(|_| fault)?;
    let len = u32::try_from(length).map_err(|_| fault)?;
    if u64::from(start) + u64::from(len) > 1 << 32
        || !instance.is_memory_accessible(start, len, protection)
    {
        return Err(fault);
    }
    Ok(Some((start, len)))
}

fn read(instance: &RawInstance, address: u64, length: u64) -> Result<Vec<u8>, MemoryFault> {
    match accessible(instance, address, length, MemoryProtection::Read)? {
        None => Ok(Vec::new()),
        Some((start, len)) => instance
            .read_memory(start, len)
            .map_err(|_| MemoryFault { address, length }),
    }
}

fn registers(instance: &RawInstance) -> [u64; REGISTER_COUNT] {
    let mut regs = [0u64; REGISTER_COUNT];
    for (slot, reg) in regs.iter_mut().zip(Reg::ALL) {
        *slot = instance.reg(reg);
    }
    regs
}

/// The machine as a host call sees it: the `(n, ϱ, ω, μ)` a context
/// mutator of GP §A.6 receives, with `ω` and `μ` mutable in place.
pub struct HostCallContext<'a> {
    index: u32,
    pc: u32,
    instance: &'a mut RawInstance,
}

impl fmt::Debug for HostCallContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostCallContext")
            .field("index", &self.index)
            .field("pc", &self.pc)
            .field("gas", &self.gas())
            .field("registers", &self.registers())
            .finish_non_exhaustive()
    }
}

impl HostCallContext<'_> {
    /// `n`, the host-call index (the `ecalli` immediate).
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The pc of the `ecalli` instruction.
    pub fn pc(&self) -> u32 {
        self.pc
    }

    /// `ϱ`, the gas left (the `ecalli`'s block already paid).
    pub fn gas(&self) -> i64 {
        self.instance.gas()
    }

    /// Sets `ϱ`.
    pub fn set_gas(&mut self, gas: i64) {
        self.instance.set_gas(gas);
    }

    /// `ϱ' = ϱ − amount`; `Err` if it went below zero, when a GP host call
    /// returns `∞` ([`HostCallAction::OutOfGas`]). (A handler that goes
    /// on with negative gas runs the rest of the paid-for basic block and
    /// then runs out.)
    pub fn charge_gas(&mut self, amount: u64) -> Result<(), OutOfGas> {
        let amount = i64::try_from(amount).unwrap_or(i64::MAX);
        let gas = self.instance.gas().saturating_sub(amount);
        self.instance.set_gas(gas);
        if gas < 0 {
            Err(OutOfGas)
        } else {
            Ok(())
        }
    }

    /// `ω_i`.
    ///
    /// # Panics
    ///
    /// If `i` is not below [`REGISTER_COUNT`].
    pub fn reg(&self, i: usize) -> u64 {
        self.instance.reg(Reg::ALL[i])
    }

    /// Sets `ω_i`.
    ///
    /// # Panics
    ///
    /// If `i` is not below [`REGISTER_COUNT`].
    pub fn set_reg(&mut self, i: usize, value: u64) {
        self.instance.set_reg(Reg::ALL[i], value);
    }

    /// All of `ω`.
    pub fn registers(&self) -> [u64; REGISTER_COUNT] {
        registers(self.instance)
    }

    /// Sets all of `ω`.
    pub fn set_registers(&mut self, regs: &[u64; REGISTER_COUNT]) {
        for (reg, &value) in Reg::ALL.into_iter().zip(regs) {
            self.instance.set_reg(reg, value);
        }
    }

    /// Whether `N_{address..+length} ⊆ V_μ` (readable).
    pub fn is_readable(&self, address: u64, length: u64) -> bool {
        accessible(self.instance, address, length, MemoryProtection::Read).is_ok()
    }

    /// Whether `N_{address..+length} ⊆ V*_μ` (writable).
    pub fn is_writable(&self, address: u64, length: u64) -> bool {
        accessible(self.instance, address, length, MemoryProtection::ReadWrite).is_ok()
    }

    /// `μ_{address..+length}`, or the fault if any of it is unreadable.
    pub fn read_memory(&self, address: u64, length: u64) -> Result<Vec<u8>, MemoryFault> {
        read(self.instance, address, length)
    }

    /// `μ'_{address..+|data|} = data`, or the fault (and no change) if any
    /// of it is not writable.
    pub fn write_memory(&mut self, address: u64, data: &[u8]) -> Result<(), MemoryFault> {
        let length = data.len() as u64;
        if let Some((start, _)) =
            accessible(self.instance, address, length, MemoryProtection::ReadWrite)?
        {
            self.instance
                .write_memory(start, data)
                .map_err(|_| MemoryFault { address, length })?;
        }
        Ok(())
    }
}

/// A run of a standard program: the `ı`, `ϱ` and `a` of `Ψ_M` (GP §A.8),
/// and the registers `Y` would set (GP eq. `eq:registers`), which a caller
/// may change before the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation<'a> {
    /// `ı`, where execution starts.
    pub entry_pc: u32,
    /// `ϱ`, the gas limit.
    pub gas: i64,
    /// `a`, the arguments, at most `Z_I` octets.
    pub args: &'a [u8],
    /// `ω` at the start.
    pub registers: [u64; REGISTER_COUNT],
}

impl<'a> Invocation<'a> {
    /// The invocation `Ψ_M(p, entry_pc, gas, args, ..)` with the registers
    /// of GP eq. `eq:registers`.
    pub fn new(entry_pc: u32, gas: i64, args: &'a [u8]) -> Self {
        Self {
            entry_pc,
            gas,
            args,
            registers: standard_registers(args.len() as u64),
        }
    }
}

/// What `Ψ_M` returns besides the gas: the output octets on a halt, or `☇`
/// or `∞` (the `R` of GP §A.8).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProgramResult {
    /// A halt: `μ'_{ω'7..+ω'8}` if readable, else empty.
    Output(Vec<u8>),
    /// `☇`: any other exit (panic, or a page fault).
    Panic,
    /// `∞`.
    OutOfGas,
}

/// How a standard program run ended, with its final memory. It holds the
/// polkavm instance (on the compiler, a sandbox worker) until dropped.
pub struct ProgramOutcome {
    /// `ε`: halt, panic, out of gas or (never from polkavm's standard layout,
    /// see [`Pvm::run_invocation`]) page fault; never a host call.
    pub exit: ExitReason,
    /// The final registers and gas, and the pc of the instruction that
    /// caused the exit (out of gas, a page fault, or a host call that
    /// stopped the run); 0 after a halt or a panic, as GP §A.1 says.
    pub machine: MachineState,
    /// The gas the run started with.
    pub gas_limit: i64,
    instance: RawInstance,
}

impl fmt::Debug for ProgramOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProgramOutcome")
            .field("exit", &self.exit)
            .field("machine", &self.machine)
            .field("gas_limit", &self.gas_limit)
            .finish_non_exhaustive()
    }
}

impl ProgramOutcome {
    /// `u = ϱ − max(ϱ', 0)` (GP §A.8), never more than the gas given.
    ///
    /// Out of gas, that is all of it: the paper charges instruction by
    /// instruction until the counter goes negative, so `max(ϱ', 0) = 0`.
    /// polkavm charges a basic block on entry and stops before a block it
    /// cannot pay for, leaving the remainder in its counter; that remainder
    /// is spent all the same. (The trace vectors' accumulation gas agrees.)
    pub fn gas_used(&self) -> u64 {
        let remaining = if self.exit == ExitReason::OutOfGas {
            0
        } else {
            self.machine.gas.max(0)
        };
        let used = self.gas_limit.max(0) - remaining;
        u64::try_from(used).unwrap_or(0)
    }

    /// The final `μ'_{address..+length}`, or the fault if unreadable.
    pub fn read_memory(&self, address: u64, length: u64) -> Result<Vec<u8>, MemoryFault> {
        read(&self.instance, address, length)
    }

    /// `R` of `Ψ_M` (GP §A.8): on a halt the octets `μ'_{ω'7..+ω'8}` if
    /// they are readable, else none; `∞` on out of gas; `☇` otherwise.
    pub fn result(&self) -> ProgramResult {
        match self.exit {
            ExitReason::Halt => ProgramResult::Output(
                self.read_memory(self.machine.regs[7], self.machine.regs[8])
                    .unwrap_or_default(),
            ),
            ExitReason::OutOfGas => ProgramResult::OutOfGas,
            _ => ProgramResult::Panic,
        }
    }
}

impl Pvm {
    /// Runs the standard program `program` from `entry_pc` with `gas` and
    /// arguments `args`, answering host calls with `host`: `Ψ_M(p, ı, ϱ, a,
    /// f, x)` of GP §A.8 up to the final `R`, which
    /// [`ProgramOutcome::result`] applies. See [`Pvm::run_invocation`].
    pub fn run_program(
        &self,
        backend: Backend,
        program: &Program,
        entry_pc: u32,
        gas: i64,
        args: &[u8],
        host: &mut impl FnMut(HostCallContext<'_>) -> HostCallAction,
    ) -> Result<ProgramOutcome, PvmError> {
        self.run_invocation(
            backend,
            program,
            &Invocation::new(entry_pc, gas, args),
            host,
        )
    }

    /// Runs `program` from the state `Y(p, a)` (GP §A.7) with the
    /// invocation's pc, gas and registers: `Ψ_H` of GP §A.6. On `ecalli n`
    /// the machine stops and `host` gets the index, registers, memory and
    /// gas; it returns [`HostCallAction::Continue`] to go on after the
    /// `ecalli`, or another action to stop with that exit.
    ///
    /// The module comes from the cache (compiled on a miss). The layout is
    /// polkavm's own memory map, which is exactly GP eq. `eq:memlayout`
    /// (read-only data at `Z_Z`, read-write data and heap from
    /// `2 Z_Z + ⟦|o|⟧_Z`, the stack below `2^32 − 2 Z_Z − Z_I`, the
    /// arguments at `2^32 − Z_Z − Z_I`, readable for `⟦|a|⟧_P` octets), and
    /// in which `sbrk` (GP §A.5.9) grows the heap from the end of the `z`
    /// pages. In that mode polkavm reports an access to an inaccessible
    /// page as a trap: the exit is [`ExitReason::Panic`] where GP says
    /// `F`, which `Ψ_M` maps to `☇` all the same.
    ///
    /// Gas is charged per basic block on entry, as polkavm 0.30 and the
    /// PVM test vectors do (see the crate tests). Code that names a
    /// register above 12 runs on the interpreter even when the compiler is
    /// asked for (see the crate docs).
    pub fn run_invocation(
        &self,
        backend: Backend,
        program: &Program,
        invocation: &Invocation<'_>,
        host: &mut impl FnMut(HostCallContext<'_>) -> HostCallAction,
    ) -> Result<ProgramOutcome, PvmError> {
        if program.flavor() != self.flavor {
            return Err(PvmError::FlavorMismatch {
                program: program.flavor(),
                pvm: self.flavor,
            });
        }
        let args = invocation.args;
        let args_len = u32::try_from(args.len())
            .ok()
            .filter(|&len| len <= MAX_INPUT_SIZE)
            .ok_or(PvmError::ArgumentsTooLong { length: args.len() })?;
        let module = self.program_module(backend, program)?;
        let mut instance = module.instantiate().map_err(engine_error)?;
        instance
            .set_accessible_aux_size(args_len)
            .map_err(engine_error)?;
        instance
            .write_memory(ARGS_ADDRESS, args)
            .map_err(engine_error)?;
        // The arguments are read-only to the guest and to host calls.
        instance
            .set_host_side_aux_write_protect(true)
            .map_err(engine_error)?;
        for (reg, value) in Reg::ALL.into_iter().zip(invocation.registers) {
            instance.set_reg(reg, value);
        }
        instance.set_gas(invocation.gas);
        instance.set_next_program_counter(ProgramCounter(invocation.entry_pc));

        let (exit, pc) = loop {
            let interrupt = instance.run().map_err(engine_error)?;
            let pc = instance.program_counter().map_or(0, |pc| pc.0);
            match self.flavor.exit_reason(&interrupt) {
                None => {}
                Some(ExitReason::HostCall(index)) => {
                    let action = host(HostCallContext {
                        index,
                        pc,
                        instance: &mut instance,
                    });
                    match action {
                        HostCallAction::Continue => {}
                        HostCallAction::Halt => break (ExitReason::Halt, pc),
                        HostCallAction::Panic => {
                            refund_unrun_tail(&mut instance, program, pc);
                            break (ExitReason::Panic, 0);
                        }
                        HostCallAction::OutOfGas => break (ExitReason::OutOfGas, pc),
                    }
                }
                // GP §A.1: "in the case of a final halt, either through
                // panic or success, the instruction counter returned is
                // zero". (polkavm's backends also disagree on the pc of
                // some traps, such as a branch to a non-block start.)
                // A trap mid-block keeps the whole block's charge: the
                // backends do not agree on a trap's pc, so its unrun tail
                // cannot be told the same way on both (see the crate docs).
                Some(exit @ (ExitReason::Halt | ExitReason::Panic)) => break (exit, 0),
                Some(exit) => break (exit, pc),
            }
        };
        Ok(ProgramOutcome {
            exit,
            machine: MachineState {
                regs: registers(&instance),
                pc,
                gas: instance.gas(),
            },
            gas_limit: invocation.gas,
            instance,
        })
    }

    /// Compiles `program` for `backend` into the module cache, unless it is
    /// there already.
    pub fn prepare(&self, backend: Backend, program: &Program) -> Result<(), PvmError> {
        self.program_module(backend, program).map(drop)
    }

    /// Runs `program` on both backends with the same invocation, `host`
    /// answering the host calls of both runs, and checks that exit,
    /// registers, pc, gas and [`ProgramOutcome::result`] agree; returns the
    /// interpreter's outcome.
    pub fn crosscheck_program(
        &self,
        program: &Program,
        invocation: &Invocation<'_>,
        host: &mut impl FnMut(HostCallContext<'_>) -> HostCallAction,
    ) -> Result<ProgramOutcome, PvmError> {
        let interpreted = self.run_invocation(Backend::Interpreter, program, invocation, host)?;
        let compiled = self.run_invocation(Backend::Compiler, program, invocation, host)?;
        let (a, b) = (&interpreted, &compiled);
        let difference = if a.exit != b.exit {
            Some(format!("exit: {} vs {}", a.exit, b.exit))
        } else if a.machine != b.machine {
            Some(format!("machine: {:?} vs {:?}", a.machine, b.machine))
        } else if a.result() != b.result() {
            Some("output differs".to_owned())
        } else {
            None
        };
        match difference {
            None => Ok(interpreted),
            Some(d) => Err(PvmError::Divergence(d)),
        }
    }
}

/// A host call at `pc` that panics the machine: the GP charges one gas per
/// instruction run, up to and including the `ecalli`, while polkavm
/// charged the whole basic block on entry. Give back the instructions of
/// the block after `pc`, which never ran.
fn refund_unrun_tail(instance: &mut RawInstance, program: &Program, pc: u32) {
    let tail = program.block_tail_instructions(pc) * program.flavor().gas_per_instruction();
    if tail > 0 {
        instance.set_gas(instance.gas().saturating_add(tail));
    }
}
