//! Running a standard program with host calls: `Ψ_H` (GP §A.6 "Host Call
//! Definition") over the state `Y(p, a)` builds (GP §A.7), with what `Ψ_M`
//! (GP §A.8 "Argument Invocation Definition") reads back on exit.

use std::cell::RefCell;
use std::fmt;

use polkavm::{MemoryProtection, ProgramCounter, Reg};

use crate::vm::{Instance as RawInstance, Interrupt, VmModule as Module};

use crate::program::{standard_registers, Program, ARGS_ADDRESS, MAX_INPUT_SIZE};
use crate::{
    block_tail, interpreter_needs_steps, machine_difference, registers_of, step_difference,
    Backend, Divergence, ExitReason, MachineState, Pvm, PvmError, PvmFlavor, Sandbox, Stepped,
    REGISTER_COUNT,
};

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
    /// Not an exit of the paper: the host failed to serve the call (its
    /// engine, not the guest), so the run has no GP outcome. The run
    /// returns [`PvmError::HostAborted`].
    Abort,
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
            .read_memory_shared(start, len)
            .map_err(|_| MemoryFault { address, length }),
    }
}

fn write(instance: &mut RawInstance, address: u64, data: &[u8]) -> Result<(), MemoryFault> {
    let length = data.len() as u64;
    if let Some((start, _)) = accessible(instance, address, length, MemoryProtection::ReadWrite)? {
        instance
            .write_memory(start, data)
            .map_err(|_| MemoryFault { address, length })?;
    }
    Ok(())
}

/// How many finished instances [`Pvm::recycle`] keeps.
pub(crate) const IDLE_INSTANCES: usize = 4;

/// Gives the pages of the argument zone (polkavm's auxiliary data, `Z_I`
/// = 16 MiB, GP eq. `eq:memlayout`) of a fresh instance back to the
/// kernel, keeping its contents (all zero) and the instance's memory.
///
/// polkavm 0.30's generic sandbox zeroes the whole zone when it loads a
/// module, so all of its 4,096 pages are resident, and it changes the
/// zone's protection three times on every run (to no access and the
/// arguments' pages readable for the guest, back to writable for the
/// host): each `mprotect` then walks 4,096 resident pages, most of the
/// time of a service program that makes thousands of host calls
/// (BENCHMARKS.md, "Where Ξ's time goes"). `reset_memory` maps the zone
/// anew, empty and inaccessible; one run without gas from pc 0 (a block
/// start: its gas check stops the run before any instruction, after one
/// step if the module is step-traced) makes it
/// writable for the host again, so that the arguments can be written. The
/// caller sets the machine (registers, gas, pc) afterwards.
fn release_argument_zone(instance: &mut RawInstance) -> Result<(), PvmError> {
    instance.reset_memory()?;
    instance.set_next_program_counter(ProgramCounter(0));
    instance.set_gas(0);
    // A step-traced module stops once before the gas check.
    for _ in 0..2 {
        match instance.run()? {
            Interrupt::NotEnoughGas => return Ok(()),
            Interrupt::Step => {}
            other => {
                return Err(PvmError::Engine(format!(
                    "releasing the argument zone: {other:?} instead of running out of gas"
                )))
            }
        }
    }
    Err(PvmError::Engine(
        "releasing the argument zone: steps instead of running out of gas".into(),
    ))
}

/// A host call's look at guest memory, as a lockstep crosscheck records it
/// on one backend to repeat and compare on the other.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostAccess {
    /// [`HostCallContext::is_readable`] and its answer.
    Readable {
        address: u64,
        length: u64,
        answer: bool,
    },
    /// [`HostCallContext::is_writable`] and its answer.
    Writable {
        address: u64,
        length: u64,
        answer: bool,
    },
    /// [`HostCallContext::read_memory`] and what it read.
    Read {
        address: u64,
        length: u64,
        result: Result<Vec<u8>, MemoryFault>,
    },
    /// [`HostCallContext::write_memory`] and whether it wrote.
    Write {
        address: u64,
        data: Vec<u8>,
        result: Result<(), MemoryFault>,
    },
}

/// Repeats the memory accesses of a host call recorded on the other
/// backend on `instance`, in order (writes included), and names the first
/// whose result differs.
fn replay(accesses: &[HostAccess], instance: &mut RawInstance) -> Result<(), String> {
    let show = |r: &Result<Vec<u8>, MemoryFault>| match r {
        Ok(bytes) => format!(
            "{} octets {:02x?}",
            bytes.len(),
            &bytes[..bytes.len().min(16)]
        ),
        Err(fault) => fault.to_string(),
    };
    for access in accesses {
        let mismatch = match access {
            HostAccess::Readable {
                address,
                length,
                answer,
            } => {
                let other = accessible(instance, *address, *length, MemoryProtection::Read).is_ok();
                (other != *answer)
                    .then(|| format!("{address:#x}+{length:#x} readable: {answer} vs {other}"))
            }
            HostAccess::Writable {
                address,
                length,
                answer,
            } => {
                let other =
                    accessible(instance, *address, *length, MemoryProtection::ReadWrite).is_ok();
                (other != *answer)
                    .then(|| format!("{address:#x}+{length:#x} writable: {answer} vs {other}"))
            }
            HostAccess::Read {
                address,
                length,
                result,
            } => {
                let other = read(instance, *address, *length);
                (other != *result).then(|| {
                    let at = match (result, &other) {
                        (Ok(x), Ok(y)) => x.iter().zip(y).position(|(x, y)| x != y),
                        _ => None,
                    };
                    let at = at.map_or(String::new(), |i| format!(" (first at +{i:#x})"));
                    format!(
                        "read of {address:#x}+{length:#x}{at}: {} vs {}",
                        show(result),
                        show(&other)
                    )
                })
            }
            HostAccess::Write {
                address,
                data,
                result,
            } => {
                let other = write(instance, *address, data);
                (other != *result).then(|| {
                    let length = data.len();
                    format!("write of {address:#x}+{length:#x}: {result:?} vs {other:?}")
                })
            }
        };
        if let Some(what) = mismatch {
            return Err(what);
        }
    }
    Ok(())
}

/// The machine as a host call sees it: the `(n, ϱ, ω, μ)` a context
/// mutator of GP §A.6 receives, with `ω` and `μ` mutable in place.
pub struct HostCallContext<'a> {
    index: u32,
    pc: u32,
    instance: &'a mut RawInstance,
    /// In a lockstep crosscheck, where the memory accesses go.
    log: Option<&'a RefCell<Vec<HostAccess>>>,
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
        registers_of(self.instance)
    }

    /// Sets all of `ω`.
    pub fn set_registers(&mut self, regs: &[u64; REGISTER_COUNT]) {
        for (reg, &value) in Reg::ALL.into_iter().zip(regs) {
            self.instance.set_reg(reg, value);
        }
    }

    /// Whether `N_{address..+length} ⊆ V_μ` (readable).
    pub fn is_readable(&self, address: u64, length: u64) -> bool {
        let answer = accessible(self.instance, address, length, MemoryProtection::Read).is_ok();
        self.note(|| HostAccess::Readable {
            address,
            length,
            answer,
        });
        answer
    }

    /// Whether `N_{address..+length} ⊆ V*_μ` (writable).
    pub fn is_writable(&self, address: u64, length: u64) -> bool {
        let answer =
            accessible(self.instance, address, length, MemoryProtection::ReadWrite).is_ok();
        self.note(|| HostAccess::Writable {
            address,
            length,
            answer,
        });
        answer
    }

    /// `μ_{address..+length}`, or the fault if any of it is unreadable.
    pub fn read_memory(&self, address: u64, length: u64) -> Result<Vec<u8>, MemoryFault> {
        let result = read(self.instance, address, length);
        self.note(|| HostAccess::Read {
            address,
            length,
            result: result.clone(),
        });
        result
    }

    /// `μ'_{address..+|data|} = data`, or the fault (and no change) if any
    /// of it is not writable.
    pub fn write_memory(&mut self, address: u64, data: &[u8]) -> Result<(), MemoryFault> {
        let result = write(self.instance, address, data);
        self.note(|| HostAccess::Write {
            address,
            data: data.to_vec(),
            result,
        });
        result
    }

    /// Records a memory access in a lockstep crosscheck.
    fn note(&self, access: impl FnOnce() -> HostAccess) {
        if let Some(log) = self.log {
            log.borrow_mut().push(access());
        }
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
    /// caused the exit (out of gas, or a host call that halted or ran out
    /// of gas); 0 after a panic and after a halt of the guest's own, as GP
    /// §A.1 says. After a panic the gas has paid for the instructions
    /// begun, the panicking one included, not the rest of its basic block
    /// (see the crate docs, "Gas").
    pub machine: MachineState,
    /// The gas the run started with.
    pub gas_limit: i64,
    instance: RawInstance,
    /// The program's code hash and the length of the arguments written
    /// into the instance, if the instance may run the program again (see
    /// [`Pvm::recycle`]).
    reusable: Option<([u8; 32], u32)>,
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
    /// PVM test vectors do (see the crate tests), except that a panic —
    /// the guest's, or a host call's — gives back the instructions of its
    /// block after the panicking one, which never ran: the GP's one gas
    /// per instruction run (see the crate docs, "Gas"). Code that names a
    /// register above 12 runs on the interpreter even when the compiler is
    /// asked for (see the crate docs).
    pub fn run_invocation(
        &self,
        backend: Backend,
        program: &Program,
        invocation: &Invocation<'_>,
        host: &mut impl FnMut(HostCallContext<'_>) -> HostCallAction,
    ) -> Result<ProgramOutcome, PvmError> {
        let mut run = self.start_program(backend, program, invocation, false)?;
        let stop = loop {
            match run.next()? {
                ProgramEvent::Step(_) => {}
                ProgramEvent::HostCall { index, pc } => {
                    let action = host(HostCallContext {
                        index,
                        pc,
                        instance: &mut run.instance,
                        log: None,
                    });
                    if let Some(stop) = Stop::after_host_call(action, index, pc)? {
                        break stop;
                    }
                }
                ProgramEvent::Exit(stop) => break stop,
            }
        };
        Ok(run.finish(stop, invocation.gas))
    }

    /// Hands the instance of a finished run back for the next run of the
    /// same program: on the recompiler's generic sandbox, making an
    /// instance zeroes the 16 MiB argument zone (about 5 ms), while
    /// resetting one for the next invocation (its memory mapped anew as
    /// `Y(p, a)` has it, see `release_argument_zone`) costs microseconds.
    /// Dropping an outcome instead is always correct.
    pub fn recycle(&self, outcome: ProgramOutcome) {
        let Some((hash, args_len)) = outcome.reusable else {
            return;
        };
        let mut idle = self
            .idle_instances
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() >= IDLE_INSTANCES {
            idle.remove(0);
        }
        idle.push((hash, args_len, outcome.instance));
    }

    /// An instance [`Pvm::recycle`] kept of the program with `hash`, and
    /// the length of the arguments its last run had.
    fn idle_instance(&self, hash: [u8; 32]) -> Option<(RawInstance, u32)> {
        let mut idle = self
            .idle_instances
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let i = idle.iter().rposition(|(h, _, _)| *h == hash)?;
        let (_, args_len, instance) = idle.remove(i);
        Some((instance, args_len))
    }

    /// Compiles `program` for `backend` into the module cache, unless it is
    /// there already.
    pub fn prepare(&self, backend: Backend, program: &Program) -> Result<(), PvmError> {
        self.program_module(backend, program).map(drop)
    }

    /// The module of `program` for `backend`, from the cache or compiled.
    fn program_module(&self, backend: Backend, program: &Program) -> Result<Module, PvmError> {
        self.engine(backend)?;
        self.modules
            .get_or_compile((program.code_hash(), backend), || {
                // On a miss only: the scans cost about as much as a compile.
                self.compile_program(backend, program, false)
            })
    }

    /// A new module of `program` for `backend`, step-traced if `steps`.
    fn compile_program(
        &self,
        backend: Backend,
        program: &Program,
        steps: bool,
    ) -> Result<Module, PvmError> {
        let blob = program.blob();
        let really = self.effective_backend(backend, blob, program.code_hash());
        let mut options = self.options;
        options.step_tracing |=
            steps || interpreter_needs_steps(self.flavor, really, blob) || !program.wide.is_empty();
        polkavm::Module::from_blob(
            self.engine(really)?,
            &self.flavor.standard_module_config(options),
            blob.clone(),
        )
        .map(Module::V030)
        .map_err(|e| PvmError::Module(e.to_string()))
    }

    /// An instance of `program` in the state `Y(p, a)` with the
    /// invocation's pc, gas and registers, ready to run; step-traced (a
    /// module of its own) if `steps`.
    pub(crate) fn start_program<'p>(
        &self,
        backend: Backend,
        program: &'p Program,
        invocation: &Invocation<'_>,
        steps: bool,
    ) -> Result<ProgramRun<'p>, PvmError> {
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
        let module = if steps {
            self.engine(backend)?;
            self.compile_program(backend, program, true)?
        } else {
            self.program_module(backend, program)?
        };
        let generic =
            backend == Backend::Compiler && self.compiler_sandbox() == Some(Sandbox::Generic);
        let reusable = (generic && !steps).then(|| (program.code_hash(), args_len));
        let (mut instance, old_args_len) =
            match reusable.and_then(|(hash, _)| self.idle_instance(hash)) {
                Some(reused) => reused,
                None => (module.instantiate()?, 0),
            };
        if generic {
            // Also the reset of a reused instance: `Y(p, a)` anew, but for
            // the argument zone, which keeps the last run's arguments.
            release_argument_zone(&mut instance)?;
            instance.set_host_side_aux_write_protect(false)?;
            if old_args_len > 0 {
                instance.set_accessible_aux_size(old_args_len)?;
                instance.zero_memory(ARGS_ADDRESS, old_args_len)?;
            }
        }
        instance.set_accessible_aux_size(args_len)?;
        instance.write_memory(ARGS_ADDRESS, args)?;
        // The arguments are read-only to the guest and to host calls.
        instance.set_host_side_aux_write_protect(true)?;
        for (reg, value) in Reg::ALL.into_iter().zip(invocation.registers) {
            instance.set_reg(reg, value);
        }
        instance.set_gas(invocation.gas);
        instance.set_next_program_counter(ProgramCounter(invocation.entry_pc));
        Ok(ProgramRun {
            flavor: self.flavor,
            program,
            instance,
            steps: 0,
            reusable,
            pending_wide: None,
        })
    }

    /// Runs `program` on both backends side by side with the same
    /// invocation, comparing them at every host call and at the end: at
    /// each `ecalli` the index, pc, gas and registers must agree; `host`
    /// answers once, on the interpreter's machine, and its memory accesses
    /// (reads, writes and accessibility checks) are repeated on the
    /// compiler's machine, where each must give the same result; the
    /// registers and gas it leaves go to both. At the end exit, registers,
    /// pc, gas and [`ProgramOutcome::result`] must agree. Returns the
    /// interpreter's outcome, or the first difference as a
    /// [`PvmError::DivergenceAt`].
    pub fn crosscheck_program(
        &self,
        program: &Program,
        invocation: &Invocation<'_>,
        host: &mut impl FnMut(HostCallContext<'_>) -> HostCallAction,
    ) -> Result<ProgramOutcome, PvmError> {
        self.lockstep_program(program, invocation, false, host)
            .map(|stepped| stepped.outcome)
    }

    /// [`Pvm::crosscheck_program`] with both backends step-traced, compared
    /// after every instruction too (pc, registers, gas): the first
    /// instruction whose effect differs is named. Returns the interpreter's
    /// outcome and how many instructions ran. Much slower (every
    /// instruction stops both machines): for tests.
    pub fn crosscheck_program_steps(
        &self,
        program: &Program,
        invocation: &Invocation<'_>,
        host: &mut impl FnMut(HostCallContext<'_>) -> HostCallAction,
    ) -> Result<Stepped<ProgramOutcome>, PvmError> {
        self.lockstep_program(program, invocation, true, host)
    }

    fn lockstep_program(
        &self,
        program: &Program,
        invocation: &Invocation<'_>,
        steps: bool,
        host: &mut impl FnMut(HostCallContext<'_>) -> HostCallAction,
    ) -> Result<Stepped<ProgramOutcome>, PvmError> {
        let a = self.start_program(Backend::Interpreter, program, invocation, steps)?;
        let b = self.start_program(Backend::Compiler, program, invocation, steps)?;
        lockstep_program(a, b, invocation.gas, steps, host)
    }
}

/// Runs two runs of the same program in lockstep (see
/// [`Pvm::crosscheck_program`]): `a` the interpreter's, whose machine the
/// host calls act on, `b` the compiler's; compared after every instruction
/// if `steps` (both step-traced), else steps are passed over (a backend
/// may step where the other does not, see `interpreter_needs_steps`).
pub(crate) fn lockstep_program(
    mut a: ProgramRun<'_>,
    mut b: ProgramRun<'_>,
    gas_limit: i64,
    steps: bool,
    host: &mut impl FnMut(HostCallContext<'_>) -> HostCallAction,
) -> Result<Stepped<ProgramOutcome>, PvmError> {
    let mut host_calls = 0u64;
    let mut last_pc = None;
    // Without `steps`, an interpreter that steps anyway (see
    // `interpreter_needs_steps`) counts instructions that are not compared.
    let diverged = |instructions, host_calls, pc, what| {
        PvmError::DivergenceAt(Divergence {
            instructions: if steps { instructions } else { 0 },
            host_calls,
            pc,
            what,
        })
    };
    let (stop_a, stop_b) = loop {
        match (a.next_event(steps)?, b.next_event(steps)?) {
            (ProgramEvent::Step(pc_a), ProgramEvent::Step(pc_b)) => {
                if let Some(what) = step_difference(pc_a, pc_b, &a.instance, &b.instance) {
                    return Err(diverged(a.steps - 1, host_calls, last_pc, what));
                }
                last_pc = Some(pc_a);
            }
            (
                ProgramEvent::HostCall { index, pc },
                ProgramEvent::HostCall {
                    index: index_b,
                    pc: pc_b,
                },
            ) => {
                let what = if (index, pc) == (index_b, pc_b) {
                    machine_difference(&a.instance, &b.instance)
                } else {
                    Some(format!("host call {index} at {pc} vs {index_b} at {pc_b}"))
                };
                if let Some(what) = what {
                    return Err(diverged(a.steps, host_calls, Some(pc), what));
                }
                let log = RefCell::new(Vec::new());
                let action = host(HostCallContext {
                    index,
                    pc,
                    instance: &mut a.instance,
                    log: Some(&log),
                });
                if let Err(what) = replay(&log.borrow(), &mut b.instance) {
                    let what = format!("host call {index}: {what}");
                    return Err(diverged(a.steps, host_calls, Some(pc), what));
                }
                b.instance.set_gas(a.instance.gas());
                for reg in Reg::ALL {
                    b.instance.set_reg(reg, a.instance.reg(reg));
                }
                host_calls += 1;
                last_pc = Some(pc);
                if let Some(stop) = Stop::after_host_call(action, index, pc)? {
                    break (stop, stop);
                }
            }
            (ProgramEvent::Exit(x), ProgramEvent::Exit(y)) => break (x, y),
            (x, y) => {
                let what = format!("{x} vs {y}");
                return Err(diverged(a.steps.min(b.steps), host_calls, last_pc, what));
            }
        }
    };
    let instructions = if steps { a.steps } else { 0 };
    let (a, b) = (a.finish(stop_a, gas_limit), b.finish(stop_b, gas_limit));
    let what = if a.exit != b.exit {
        Some(format!("exit: {} vs {}", a.exit, b.exit))
    } else if a.machine != b.machine {
        Some(format!("machine: {:?} vs {:?}", a.machine, b.machine))
    } else if a.result() != b.result() {
        Some(format!("result: {:?} vs {:?}", a.result(), b.result()))
    } else {
        None
    };
    match what {
        None => Ok(Stepped {
            outcome: a,
            instructions,
        }),
        Some(what) => Err(diverged(instructions, host_calls, last_pc, what)),
    }
}

/// What a run of a standard program stopped for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProgramEvent {
    /// Step tracing: the pc of the instruction about to run.
    Step(u32),
    /// `ecalli index` at `pc`.
    HostCall { index: u32, pc: u32 },
    /// The machine stopped by itself.
    Exit(Stop),
}

impl fmt::Display for ProgramEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProgramEvent::Step(pc) => write!(f, "next pc {pc}"),
            ProgramEvent::HostCall { index, pc } => write!(f, "host call {index} at {pc}"),
            ProgramEvent::Exit(stop) => write!(f, "exit {} at {:?}", stop.exit, stop.at),
        }
    }
}

/// How a run ends: the exit, the pc of the instruction that stopped it,
/// and the pc to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stop {
    exit: ExitReason,
    /// The instruction that stopped the run (its `ecalli`, for a host
    /// call's action), as polkavm reports it.
    at: Option<u32>,
    /// [`ProgramOutcome::machine`]'s pc.
    pc: u32,
}

impl Stop {
    /// How a host call at `pc` that answers `action` ends the run, if it
    /// does. A panic reports pc 0 (GP §A.1); a halt and out of gas the
    /// `ecalli`.
    fn after_host_call(
        action: HostCallAction,
        index: u32,
        pc: u32,
    ) -> Result<Option<Stop>, PvmError> {
        let (exit, reported) = match action {
            HostCallAction::Continue => return Ok(None),
            HostCallAction::Abort => return Err(PvmError::HostAborted { index, pc }),
            HostCallAction::Halt => (ExitReason::Halt, pc),
            HostCallAction::Panic => (ExitReason::Panic, 0),
            HostCallAction::OutOfGas => (ExitReason::OutOfGas, pc),
        };
        Ok(Some(Stop {
            exit,
            at: Some(pc),
            pc: reported,
        }))
    }
}

/// A run of a standard program on one backend, interrupt by interrupt.
pub(crate) struct ProgramRun<'p> {
    flavor: PvmFlavor,
    program: &'p Program,
    pub(crate) instance: RawInstance,
    /// The instructions begun, with step tracing.
    steps: u64,
    /// See [`ProgramOutcome::reusable`].
    reusable: Option<([u8; 32], u32)>,
    /// A wide-destination instruction about to run.
    pending_wide: Option<crate::quirks::PendingWide>,
}

impl ProgramRun<'_> {
    /// Runs to the next host call or exit, or step if `steps`.
    fn next_event(&mut self, steps: bool) -> Result<ProgramEvent, PvmError> {
        loop {
            match self.next()? {
                ProgramEvent::Step(_) if !steps => {}
                event => return Ok(event),
            }
        }
    }

    /// Runs to the next step, host call or exit.
    fn next(&mut self) -> Result<ProgramEvent, PvmError> {
        let interrupt = self.instance.run()?;
        if let Some(pending) = self.pending_wide.take() {
            pending.after(&mut self.instance);
        }
        let interrupt =
            crate::quirks::mend_store_fault(self.program.blob(), &self.instance, interrupt);
        let at = self.instance.program_counter().map(|pc| pc.0);
        let pc = at.unwrap_or(0);
        Ok(match self.flavor.exit_reason(interrupt) {
            None => {
                self.steps += 1;
                if let Some(&wide) = self.program.wide.get(&pc) {
                    self.pending_wide =
                        Some(crate::quirks::PendingWide::before(&self.instance, pc, wide));
                }
                ProgramEvent::Step(pc)
            }
            Some(ExitReason::HostCall(index)) => ProgramEvent::HostCall { index, pc },
            // GP §A.1: "in the case of a final halt, either through panic
            // or success, the instruction counter returned is zero".
            Some(exit @ (ExitReason::Halt | ExitReason::Panic)) => {
                ProgramEvent::Exit(Stop { exit, at, pc: 0 })
            }
            Some(exit) => ProgramEvent::Exit(Stop { exit, at, pc }),
        })
    }

    /// The outcome of a run that stopped so. A panic gives back its
    /// block's instructions after the one that panicked, which polkavm
    /// charged on entering the block but which never ran (the pc of a
    /// panic is exact on both backends, see [`Pvm::run_code`]).
    fn finish(self, stop: Stop, gas_limit: i64) -> ProgramOutcome {
        let instance = self.instance;
        let mut gas = instance.gas();
        if let (ExitReason::Panic, Some(at)) = (stop.exit, stop.at) {
            let unrun = block_tail(self.program.blob(), at);
            gas = gas.saturating_add(self.flavor.unrun_gas(stop.exit, unrun));
        }
        ProgramOutcome {
            exit: stop.exit,
            machine: MachineState {
                regs: registers_of(&instance),
                pc: stop.pc,
                gas,
            },
            gas_limit,
            instance,
            reusable: self.reusable,
        }
    }
}
