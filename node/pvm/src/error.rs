//! The PVM's errors: bad programs, engine failures and backend divergences.

use std::fmt;

use polkavm::program::ProgramParseError;

use crate::flavor::PvmFlavor;
use crate::types::Backend;
use crate::StandardProgramError;

/// Why a run could not even start (or polkavm failed internally).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PvmError {
    /// The host could not serve host call `index` (at `pc`): a failure of
    /// the node, not of the guest ([`HostCallAction::Abort`](crate::HostCallAction::Abort)).
    #[error("the host failed serving host call {index} at pc {pc}")]
    HostAborted {
        /// The host call's index.
        index: u32,
        /// The `ecalli`'s pc.
        pc: u32,
    },
    /// The blob is not `E(|j|) ⌢ E_1(z) ⌢ E(|c|) ⌢ E_z(j) ⌢ E(c) ⌢ E(k)`
    /// with `|k| = |c|` (`deblob`, GP A.2), or exceeds polkavm's limits.
    #[error("invalid program blob: {0}")]
    InvalidBlob(String),
    /// polkavm refused to prepare the module for this backend.
    #[error("cannot load the program: {0}")]
    Module(String),
    /// A page range is not page-aligned, starts below 2^16 or overlaps another.
    #[error("invalid page range {address:#x}+{length:#x}: {reason}")]
    InvalidPages {
        /// The range's address.
        address: u32,
        /// The range's length.
        length: u32,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Initial memory contents fall outside the accessible pages.
    #[error("initial memory {address:#x}+{length:#x} is not on the accessible pages")]
    MemoryNotMapped {
        /// The chunk's address.
        address: u32,
        /// The chunk's length.
        length: usize,
    },
    /// The backend cannot run on this machine.
    #[error("the {backend} backend is unavailable on this machine: {reason}")]
    BackendUnavailable {
        /// The backend asked for.
        backend: Backend,
        /// Why it is unavailable.
        reason: String,
    },
    /// polkavm failed while setting up or running the instance.
    #[error("polkavm failed: {0}")]
    Engine(String),
    /// The standard program blob is malformed (`Y(p, a) = ∅`, GP §A.7).
    #[error("invalid standard program: {0}")]
    StandardProgram(#[from] StandardProgramError),
    /// The arguments are longer than `Z_I = 2^24` octets (`Y(p, a) = ∅`, GP §A.7).
    #[error("{length} octets of arguments, more than Z_I = 2^24")]
    ArgumentsTooLong {
        /// Their length.
        length: usize,
    },
    /// The program was parsed for another flavor than this PVM runs.
    #[error("the program is for {program:?}, this PVM runs {pvm:?}")]
    FlavorMismatch {
        /// The program's flavor.
        program: PvmFlavor,
        /// The PVM's flavor.
        pvm: PvmFlavor,
    },
    /// [`Pvm::crosscheck`](crate::Pvm::crosscheck): the backends disagree.
    #[error("backends disagree: {0} (interpreter vs compiler)")]
    Divergence(String),
    /// A run compared in lockstep ([`Pvm::crosscheck_steps`](crate::Pvm::crosscheck_steps),
    /// [`Pvm::crosscheck_program`](crate::Pvm::crosscheck_program), [`Pvm::crosscheck_program_steps`](crate::Pvm::crosscheck_program_steps)):
    /// the backends disagree, first at the point named.
    #[error("backends disagree {0}")]
    DivergenceAt(Divergence),
}

/// The first point at which the two backends of a lockstep crosscheck
/// disagree, and how.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Divergence {
    /// The instructions both backends had begun, in step, when the
    /// difference showed: the last of them (at `pc`) is the first whose
    /// effect differs. Zero when not comparing instruction by instruction,
    /// or when the machines differ before the first instruction.
    pub instructions: u64,
    /// The host calls both had made and been answered before.
    pub host_calls: u64,
    /// The pc of that instruction, or of the host call's `ecalli` when the
    /// difference shows at a host call.
    pub pc: Option<u32>,
    /// What differs, interpreter's value first.
    pub what: String,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "after {} instructions and {} host calls",
            self.instructions, self.host_calls
        )?;
        if let Some(pc) = self.pc {
            write!(f, " (at pc {pc})")?;
        }
        write!(f, ": {} (interpreter vs compiler)", self.what)
    }
}

/// A run compared instruction by instruction on both backends.
#[derive(Debug)]
pub struct Stepped<T> {
    /// The (common) outcome. Step tracing knows the pc of a halting
    /// instruction, so [`Outcome::machine`](crate::Outcome::machine) has it.
    pub outcome: T,
    /// The instructions the run began, the one it stopped at included: on a
    /// panic without host calls, the gas the GP charges (one per
    /// instruction in GP 0.7.x).
    pub instructions: u64,
}

impl From<ProgramParseError> for PvmError {
    fn from(e: ProgramParseError) -> Self {
        PvmError::InvalidBlob(e.to_string())
    }
}

pub(crate) fn engine_error(e: impl fmt::Display) -> PvmError {
    PvmError::Engine(e.to_string())
}
