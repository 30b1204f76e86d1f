//! The PVM's observable values: backends, exit reasons, machine state,
//! initial memory and outcomes (GP "The Virtual Machine and Gas", §A).

use std::fmt;

use polkavm::BackendKind;

/// `Z_P = 2^12`, the PVM page size in octets: the RAM model `eq:pvmmemory`
/// of GP "The Virtual Machine and Gas", and the page-fault rule of §A.4.
pub const PAGE_SIZE: u32 = 4096;

/// The number of registers, `|ω| = 13` (GP §A.1, eq. A.1).
pub const REGISTER_COUNT: usize = 13;

/// Addresses below `2^16` are never accessible: touching one panics rather
/// than faulting (GP §A.4, the memory-access exceptional execution state
/// `ε^μ` beside eq. A.6).
pub const LOWEST_ACCESSIBLE_ADDRESS: u32 = 1 << 16;

/// A dynamic jump to `2^32 − 2^16` halts the machine (`djump`, GP
/// `eq:jumptablealignment` in §A.4).
pub const HALT_ADDRESS: u32 = 0xffff_0000;

/// Which polkavm execution engine runs the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// polkavm's portable interpreter: always available.
    Interpreter,
    /// polkavm's x86-64 recompiler in its Linux sandbox, where supported.
    Compiler,
}

impl Backend {
    /// Both backends, interpreter first.
    pub const ALL: [Backend; 2] = [Backend::Interpreter, Backend::Compiler];

    /// `"interpreter"` or `"compiler"`.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Interpreter => "interpreter",
            Backend::Compiler => "compiler",
        }
    }

    pub(crate) const fn kind(self) -> BackendKind {
        match self {
            Backend::Interpreter => BackendKind::Interpreter,
            Backend::Compiler => BackendKind::Compiler,
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the machine stopped: `ε` of GP eq. A.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitReason {
    /// `∎`: a dynamic jump to [`HALT_ADDRESS`].
    Halt,
    /// `☇`: `trap`, an invalid instruction or jump, or an access below 2^16.
    Panic,
    /// `∞`: the gas ran out.
    OutOfGas,
    /// `F × a`: an access to the inaccessible (or, for writes, read-only)
    /// page at address `a` (a multiple of [`PAGE_SIZE`]).
    PageFault(u32),
    /// `h̵ × id`: an `ecalli id` instruction.
    HostCall(u32),
}

impl ExitReason {
    /// The status name the PVM test vectors use.
    pub const fn status_name(self) -> &'static str {
        match self {
            ExitReason::Halt => "halt",
            ExitReason::Panic => "panic",
            ExitReason::OutOfGas => "out-of-gas",
            ExitReason::PageFault(_) => "page-fault",
            ExitReason::HostCall(_) => "host-call",
        }
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitReason::PageFault(a) => write!(f, "page-fault at {a:#x}"),
            ExitReason::HostCall(id) => write!(f, "host-call {id}"),
            other => f.write_str(other.status_name()),
        }
    }
}

/// The registers, instruction counter and gas: `(ω, ı, ϱ)` of GP eq. A.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MachineState {
    /// `ω`, the 13 registers, in GP order (polkavm's `RA, SP, T0..T2, S0,
    /// S1, A0..A5`).
    pub regs: [u64; REGISTER_COUNT],
    /// `ı`, the instruction counter (a code offset).
    pub pc: u32,
    /// `ϱ`, the gas left (signed: `Z_G`).
    pub gas: i64,
}

/// A page-aligned range of memory made accessible before the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRange {
    /// The first address, a multiple of [`PAGE_SIZE`], at least 2^16.
    pub address: u32,
    /// The length in octets, a multiple of [`PAGE_SIZE`].
    pub length: u32,
    /// Writable (`W`) rather than read-only (`R`).
    pub is_writable: bool,
}

/// Octets at an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct MemoryChunk {
    /// The address of the first octet.
    pub address: u32,
    /// The octets.
    pub contents: Vec<u8>,
}

impl MemoryChunk {
    /// The maximal runs of non-zero octets, each as its own chunk: the form
    /// in which the PVM test vectors list memory.
    pub fn nonzero_runs(&self) -> Vec<MemoryChunk> {
        let mut runs = Vec::new();
        let mut start = None;
        for (i, &byte) in self.contents.iter().chain(std::iter::once(&0)).enumerate() {
            match (byte != 0, start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    runs.push(MemoryChunk {
                        address: self.address.wrapping_add(offset_u32(s)),
                        contents: self.contents[s..i].to_vec(),
                    });
                    start = None;
                }
                _ => {}
            }
        }
        runs
    }
}

pub(crate) fn offset_u32(offset: usize) -> u32 {
    // Chunks come from 32-bit address ranges, so offsets fit.
    u32::try_from(offset).unwrap_or(u32::MAX)
}

/// Everything a run starts from: registers, pc and gas, the accessible
/// pages (zero-filled) and the non-zero memory contents on them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InitialState {
    /// `ω`, `ı` and `ϱ` at the start.
    pub machine: MachineState,
    /// The accessible pages; every other page is inaccessible.
    pub pages: Vec<PageRange>,
    /// Contents written onto the pages (read-only pages included) before the run.
    pub memory: Vec<MemoryChunk>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `ε`.
    pub exit: ExitReason,
    /// The final registers and gas, and the pc of the instruction that
    /// caused the exit, as the PVM test vectors record it (the same on both
    /// backends). After a halt that pc is known only with
    /// [`PvmOptions::step_tracing`](crate::PvmOptions::step_tracing) and is 0 otherwise (GP eq. A.1 itself
    /// returns `ı = 0` after a halt or a panic, so no protocol rule reads
    /// it). The gas after a panic is one per instruction begun (see the
    /// crate docs, "Gas").
    pub machine: MachineState,
    /// The full final contents of every range of [`InitialState::pages`],
    /// in the same order.
    pub memory: Vec<MemoryChunk>,
}

impl Outcome {
    /// The final non-zero memory as maximal runs, in address order of the
    /// page ranges: the test vectors' `expected-memory` form.
    pub fn nonzero_memory(&self) -> Vec<MemoryChunk> {
        self.memory
            .iter()
            .flat_map(MemoryChunk::nonzero_runs)
            .collect()
    }

    /// The first way `self` and `other` differ, for a person; `None` if equal.
    pub fn difference(&self, other: &Outcome) -> Option<String> {
        if self.exit != other.exit {
            return Some(format!("exit: {} vs {}", self.exit, other.exit));
        }
        if self.machine.pc != other.machine.pc {
            return Some(format!("pc: {} vs {}", self.machine.pc, other.machine.pc));
        }
        if self.machine.gas != other.machine.gas {
            return Some(format!(
                "gas: {} vs {}",
                self.machine.gas, other.machine.gas
            ));
        }
        if let Some(i) =
            (0..REGISTER_COUNT).find(|&i| self.machine.regs[i] != other.machine.regs[i])
        {
            return Some(format!(
                "register {i}: {:#x} vs {:#x}",
                self.machine.regs[i], other.machine.regs[i]
            ));
        }
        if self.memory != other.memory {
            let (a, b) = (self.nonzero_memory(), other.nonzero_memory());
            return Some(format!("memory: {a:?} vs {b:?}"));
        }
        None
    }
}
