//! The Polkadot Virtual Machine (PVM) of the Gray Paper v0.7.2, appendix A
//! "Polkadot Virtual Machine" (`sec:virtualmachine`), run on
//! [polkavm](https://crates.io/crates/polkavm) 0.30.0.
//!
//! # What the GP asks for
//!
//! `Ψ(p, ı, ϱ, ω, μ)` (eq. A.1) decodes the program blob `p` with `deblob`
//! into code `c`, opcode bitmask `k` and dynamic jump table `j`, then steps
//! `Ψ_1` until an exit reason `ε` other than `▸` (continue) comes up:
//! halt `∎`, panic `☇`, out of gas `∞`, a page fault `F × address` or a host
//! call `h̵ × identifier` ([`ExitReason`]). The machine has 13 64-bit
//! registers `ω` and a 32-bit address space `μ` of pages of `Z_P = 4096`
//! octets ([`PAGE_SIZE`]), each inaccessible, read-only or writable. In GP
//! 0.7.x every instruction costs exactly one gas (`ϱ_Δ = 1`).
//!
//! # Gas: polkavm's basic blocks against the paper's instructions
//!
//! polkavm charges a basic block's instructions when execution enters it.
//! That equals the paper's one gas per instruction whenever a run leaves
//! a block at its end, which every vector and trace does. Where a run stops
//! inside a block:
//!
//! * out of gas: `Ψ_M` counts all the gas as used
//!   ([`ProgramOutcome::gas_used`]), as the paper does;
//! * a panic (`☇`), of the guest or of a host call: the instructions of the
//!   block after the one that panicked are given back, so the run pays one
//!   gas per instruction it began, the panicking one included, as GP §A.4
//!   charges `ϱ_Δ` for `trap`, an invalid opcode, a bad jump or branch and
//!   (since graypaper PR #497; 0.7.2's `ε^μ` keeps the gas from before the
//!   instruction) an access below `2^16`. `trap`, jumps and branches end
//!   their block, so in practice this is the memory access that faults in
//!   the middle of one (in a standard program every inaccessible access
//!   panics);
//! * a page fault (`F × a`, raw code blobs only): the whole block is
//!   charged, as the GP 0.7.2 PVM test vectors expect (see
//!   `PvmFlavor::unrun_gas`);
//! * an inner machine resumed after a host call: a [`LiveMachine`] gives
//!   the block's unrun tail back at the `ecalli` and lets polkavm go on by
//!   itself, so each run pays one gas per instruction it ran; entering a
//!   block elsewhere than at its start, the part before the pc is given
//!   back ([`Pvm::block_entry_overcharge`]).
//!
//! The exact pc of a panic or fault decides what is given back, so it is
//! the same on both backends: polkavm reports the instruction itself (a
//! memory access, `trap`, an invalid opcode, a jump, the implicit trap past
//! the code), except that its interpreter reports a taken branch to no
//! block start at the pc where its run began; code with such a branch (no
//! compiler emits one) runs step-traced on the interpreter, which then
//! knows the branch. From that pc the unrun tail follows from the code
//! alone. [`Outcome::machine`] has that pc; `Ψ` returns 0 after a panic
//! (GP eq. A.1), and [`ProgramOutcome::machine`] does so.
//!
//! polkavm 0.30.0 is the last polkavm release implementing this (the
//! `JamV1` instruction set); 0.31 and later implement GP 0.8, whose gas
//! model, opcodes and host calls differ. Every rule that differs between the
//! two stays behind [`PvmFlavor`], so a second flavor can be added without
//! touching callers.
//!
//! # This crate
//!
//! [`Pvm`] holds one polkavm engine per [`Backend`] (the portable
//! interpreter, and the x86-64 recompiler where this machine supports it)
//! and runs a raw GP code blob (the `deblob` format) from an
//! [`InitialState`] to an [`Outcome`]. A malformed blob or initial state is a
//! typed [`PvmError`], never a panic of the host; the GP's own reaction to a
//! blob that fails `deblob` (a `☇` exit, eq. A.1) is for the caller to apply.
//! [`Pvm::crosscheck`] runs both backends and checks they agree exactly;
//! [`Pvm::crosscheck_steps`] runs them in lockstep, step-traced, and
//! compares pc, registers and gas after every instruction, naming the first
//! instruction after which they differ. For standard programs,
//! [`Pvm::crosscheck_program`] compares the two at every host call (index,
//! pc, registers, gas, and every memory access of the host call, which
//! answers once) and at the end, and [`Pvm::crosscheck_program_steps`] after
//! every instruction too.
//!
//! Service code comes as a *standard program* (GP §A.7, `Y(p, a)`):
//! [`Program::from_standard_blob`] decodes and checks it, and
//! [`Pvm::run_program`] runs it with arguments in the GP memory layout,
//! answering each `ecalli` through a host-call callback
//! ([`HostCallContext`] → [`HostCallAction`]): `Ψ_H` of GP §A.6, with
//! [`ProgramOutcome::result`] the `R` of `Ψ_M` (GP §A.8). Compiled modules
//! are cached by the program's Blake2b-256 code hash (bounded, least
//! recently used evicted first; see [`Pvm::module_cache_stats`]).
//!
//! Where polkavm 0.30 strays from the GP, this crate keeps the backends in
//! step: `sbrk` in a raw code blob (no standard layout, GP §A.5.9) panics,
//! and code naming a register above 12, or jumping to `|c| + 2`, runs on
//! the interpreter (the recompiler reads the one wrongly and panics on the
//! other; see `effective_backend`).
//!
//! ```
//! use parajam_pvm::{Backend, ExitReason, InitialState, MachineState, Pvm, PvmFlavor};
//!
//! let pvm = Pvm::new(PvmFlavor::Gp072)?;
//! // No jump table (`E(0) ⌢ E_1(0)`), one octet of code, `trap`, and its bitmask.
//! let code = [0, 0, 1, 0, 0b1];
//! let init = InitialState {
//!     machine: MachineState { gas: 10, ..MachineState::default() },
//!     ..InitialState::default()
//! };
//! let out = pvm.run_code_blob(Backend::Interpreter, &code, &init)?;
//! assert_eq!((out.exit, out.machine.gas), (ExitReason::Panic, 9));
//! # Ok::<(), parajam_pvm::PvmError>(())
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::sync::OnceLock;

use polkavm::program::{InstructionSetKind, ProgramParseError};
use polkavm::{
    ArcBytes, BackendKind, Config, CostModel, CostModelKind, Engine, GasMeteringKind,
    InterruptKind, MemoryProtection, Module, ModuleConfig, ProgramBlob, ProgramCounter,
    ProgramParts, RawInstance, Reg,
};

mod cache;
mod invoke;
mod live;
mod program;

pub use cache::{ModuleCacheStats, DEFAULT_MODULE_CACHE_CAPACITY};
pub use invoke::{
    HostCallAction, HostCallContext, Invocation, MemoryFault, OutOfGas, ProgramOutcome,
    ProgramResult,
};
pub use live::{LiveMachine, LiveRun};
pub use program::{
    standard_registers, Program, StandardLayout, StandardProgramError, ARGS_ADDRESS,
    MAX_INPUT_SIZE, STACK_TOP, ZONE_SIZE,
};

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

    const fn kind(self) -> BackendKind {
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

/// The version-specific rules of the PVM: the one seam where GP 0.7.x and
/// GP 0.8 differ (gas per instruction vs. per basic block, opcode and
/// host-call numbering, the `sbrk` instruction vs. a `grow_heap` host call).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum PvmFlavor {
    /// GP v0.7.2 (instruction numbering unchanged since GP 0.5.4): polkavm's
    /// `JamV1` instruction set, one gas per instruction, `sbrk` present.
    #[default]
    Gp072,
}

impl PvmFlavor {
    /// `ϱ_Δ`, the gas every instruction costs (GP §A.4, the default
    /// transition beside eq. A.6: one in 0.7.x).
    pub const fn gas_per_instruction(self) -> i64 {
        match self {
            PvmFlavor::Gp072 => 1,
        }
    }

    /// Whether the `sbrk` instruction exists (GP §A.5.9, two registers;
    /// removed in 0.8).
    pub const fn has_sbrk(self) -> bool {
        match self {
            PvmFlavor::Gp072 => true,
        }
    }

    fn instruction_set(self) -> InstructionSetKind {
        match self {
            PvmFlavor::Gp072 => InstructionSetKind::JamV1,
        }
    }

    fn cost_model(self) -> CostModelKind {
        match self {
            // The naive model charges one gas for every instruction.
            PvmFlavor::Gp072 => CostModelKind::Simple(CostModel::naive_ref()),
        }
    }

    fn module_config(self, options: PvmOptions) -> ModuleConfig {
        let mut config = ModuleConfig::new();
        config.set_step_tracing(options.step_tracing);
        config.set_page_size(PAGE_SIZE);
        // Gas is checked before each step, never after the fact.
        config.set_gas_metering(Some(GasMeteringKind::Sync));
        // Pages are mapped one by one from the initial state, and a touch of
        // an inaccessible page stops the machine with its address.
        config.set_dynamic_paging(true);
        config.set_cost_model(Some(self.cost_model()));
        // Not strict: a jump table entry outside the code is no load error in
        // the GP; a dynamic jump through it panics (`eq:jumptablealignment`).
        config.set_strict(false);
        config
    }

    /// The module configuration of a standard program (GP §A.7): polkavm's
    /// own memory map, whose layout is GP eq. `eq:memlayout` once the
    /// auxiliary data zone (the arguments) is `Z_I` octets, and in which
    /// `sbrk` grows the heap.
    fn standard_module_config(self, options: PvmOptions) -> ModuleConfig {
        let mut config = self.module_config(options);
        config.set_dynamic_paging(false);
        config.set_aux_data_size(MAX_INPUT_SIZE);
        config
    }

    /// Which octets of an instruction with this opcode name registers, by
    /// the operand formats of GP §A.5 (the opcode numbers of GP 0.7.2,
    /// polkavm's JamV1): the low nibble of `c_{ı+1}`, its high nibble, and
    /// the low nibble of `c_{ı+2}` (polkavm's reading of a third register,
    /// `r_D`).
    fn register_operands(self, opcode: u8) -> (bool, bool, bool) {
        match self {
            PvmFlavor::Gp072 => match opcode {
                20 | 50..=62 | 70..=73 | 80..=90 => (true, false, false),
                100..=111 | 120..=161 | 170..=175 | 180 => (true, true, false),
                190..=230 => (true, true, true),
                _ => (false, false, false),
            },
        }
    }

    /// Whether `opcode` has a static jump target: `jump` (GP §A.5.4),
    /// `load_imm_jump` (§A.5.8) or a conditional branch.
    fn has_static_target(self, opcode: u8) -> bool {
        match self {
            PvmFlavor::Gp072 => opcode == 40 || opcode == 80 || self.is_branch_opcode(opcode),
        }
    }

    /// Whether `opcode` is a conditional branch (GP §A.5.8 and §A.5.11:
    /// `branch_eq_imm` … `branch_gt_s_imm`, `branch_eq` … `branch_ge_s`).
    fn is_branch_opcode(self, opcode: u8) -> bool {
        match self {
            PvmFlavor::Gp072 => matches!(opcode, 81..=90 | 170..=175),
        }
    }

    /// The GP exit reason of a polkavm interruption, or `None` to go on.
    fn exit_reason(self, interrupt: &InterruptKind) -> Option<ExitReason> {
        match self {
            PvmFlavor::Gp072 => match interrupt {
                InterruptKind::Finished => Some(ExitReason::Halt),
                InterruptKind::Trap => Some(ExitReason::Panic),
                InterruptKind::NotEnoughGas => Some(ExitReason::OutOfGas),
                InterruptKind::Ecalli(id) => Some(ExitReason::HostCall(*id)),
                // GP §A.4: an access below 2^16 panics instead of faulting.
                InterruptKind::Segfault(fault)
                    if fault.page_address < LOWEST_ACCESSIBLE_ADDRESS =>
                {
                    Some(ExitReason::Panic)
                }
                InterruptKind::Segfault(fault) => Some(ExitReason::PageFault(fault.page_address)),
                InterruptKind::Step => None,
            },
        }
    }

    /// The gas to give back when the machine stops with `exit` at an
    /// instruction that `unrun` more instructions of its basic block
    /// follow: polkavm charged them on entering the block, but they never
    /// ran (see the crate docs, "Gas").
    ///
    /// GP 0.7.2 charges `ϱ_Δ` per instruction run (§A.4, the default
    /// transition beside eq. A.6), the panicking one included: `trap`, an
    /// invalid opcode (as-if `trap`), a branch or jump to no basic block's
    /// start and a bad dynamic jump all charge it by their rows of the
    /// instruction tables. So a panic gives the whole unrun tail back.
    ///
    /// A page fault gives nothing back: the GP 0.7.2 PVM test vectors
    /// charge the faulting instruction's whole block (all nine page-fault
    /// vectors fault on a store that an implicit trap follows in its block,
    /// and expect two gas used). The paper charges less: its `ε^μ` returns
    /// the gas from before the faulting instruction (eq. A.7 in 0.7.2),
    /// which the paper after 0.7.2 changed to after it (one gas; graypaper
    /// PR #497), never the instructions after it.
    fn unrun_gas(self, exit: ExitReason, unrun: i64) -> i64 {
        match self {
            PvmFlavor::Gp072 => match exit {
                ExitReason::Panic => unrun * self.gas_per_instruction(),
                ExitReason::PageFault(_)
                | ExitReason::Halt
                | ExitReason::OutOfGas
                | ExitReason::HostCall(_) => 0,
            },
        }
    }
}

/// How many instructions follow the one at `pc` in its basic block, as
/// polkavm forms blocks: up to and including the next block-ending
/// instruction (GP §A.3's set `T`), where an instruction that falls
/// through into no instruction (the end of the code, or a skip beyond 24
/// octets) is followed by an implicit trap. Zero when the instruction at
/// `pc` ends its block itself, and when no instruction starts at `pc` (a
/// run that stops there has run the implicit `trap` of GP eq. A.3's
/// zero-padding, a block of its own).
///
/// This is what polkavm charged on entering the block but never ran when
/// the machine stops at `pc`. Only on the way out of a run: it walks the
/// block from `pc`, a bounded and cheap step.
pub(crate) fn block_tail(blob: &ProgramBlob, pc: u32) -> i64 {
    let mut instructions = blob.instructions_bounded_at(ProgramCounter(pc));
    match instructions.next() {
        Some(first) if first.offset.0 == pc && !first.kind.starts_new_basic_block() => {}
        _ => return 0,
    }
    let mut tail = 0;
    for instruction in instructions {
        tail += 1;
        if instruction.kind.starts_new_basic_block() {
            break;
        }
    }
    tail
}

/// Whether a conditional branch of `blob` targets an offset where no basic
/// block starts (GP §A.4 `branch`: such a branch panics when taken).
///
/// polkavm 0.30's interpreter does not know the pc of that panic: it
/// reports the pc at which the current `run` began (the entry, or the
/// resume after a host call), which may be any instruction, while its
/// recompiler reports the branch. With step tracing the interpreter knows
/// it too. No compiler emits such a branch, so code that has one runs
/// step-traced on the interpreter (see `interpreter_needs_steps`).
///
/// On a module cache miss only, and cheap: only the octets that start an
/// instruction with a branch opcode are decoded.
fn branches_to_no_block_start(flavor: PvmFlavor, blob: &ProgramBlob) -> bool {
    any_instruction_start(
        blob,
        |op| flavor.is_branch_opcode(op),
        |i| branch_to_no_block_start(blob, i),
    )
}

/// Whether `check` holds at an instruction start whose opcode passes
/// `opcode`. The instruction starts are the bitmask's set bits; only those
/// whose opcode passes are decoded, so a scan costs little.
fn any_instruction_start(
    blob: &ProgramBlob,
    opcode: impl Fn(u8) -> bool,
    mut check: impl FnMut(usize) -> bool,
) -> bool {
    let (code, bitmask) = (blob.code(), blob.bitmask());
    bitmask.iter().enumerate().any(|(index, &bits)| {
        let mut bits = bits;
        while bits != 0 {
            let i = index * 8 + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if code.get(i).is_some_and(|&op| opcode(op)) && check(i) {
                return true;
            }
        }
        false
    })
}

/// Whether a `jump`, `load_imm_jump` or branch of `blob` targets exactly
/// `|c| + 2`.
///
/// Such a jump panics by the GP (no basic block starts there), as on
/// polkavm 0.30's interpreter, but that offset is one past the recompiler's
/// table of labels (`|c| + 2` entries) and it panics itself, indexing out
/// of bounds, when it compiles the jump (other targets past the code are
/// caught). No compiler emits such a jump: code with one runs on the
/// interpreter (see `effective_backend`).
fn jumps_to_code_end_plus_two(flavor: PvmFlavor, blob: &ProgramBlob) -> bool {
    use polkavm::program::Instruction as I;
    let Some(end) = u32::try_from(blob.code().len())
        .ok()
        .and_then(|len| len.checked_add(2))
    else {
        return false;
    };
    any_instruction_start(
        blob,
        |op| flavor.has_static_target(op),
        |i| {
            let Ok(offset) = u32::try_from(i) else {
                return false;
            };
            let Some(instruction) = blob.instructions_bounded_at(ProgramCounter(offset)).next()
            else {
                return false;
            };
            let target = match instruction.kind {
                I::jump(target) | I::load_imm_and_jump(_, _, target) => target,
                kind => match static_branch_target(kind) {
                    Some(target) => target,
                    None => return false,
                },
            };
            target == end
        },
    )
}

/// Whether the branch starting at offset `i` targets no block start.
fn branch_to_no_block_start(blob: &ProgramBlob, i: usize) -> bool {
    let Ok(offset) = u32::try_from(i) else {
        return false;
    };
    let Some(instruction) = blob.instructions_bounded_at(ProgramCounter(offset)).next() else {
        return false;
    };
    static_branch_target(instruction.kind)
        .is_some_and(|target| !blob.is_jump_target_valid(blob.isa(), ProgramCounter(target)))
}

/// The target of a conditional branch, `None` for any other instruction.
fn static_branch_target(kind: polkavm::program::Instruction) -> Option<u32> {
    use polkavm::program::Instruction as I;
    let (I::branch_eq(_, _, target)
    | I::branch_not_eq(_, _, target)
    | I::branch_less_unsigned(_, _, target)
    | I::branch_less_signed(_, _, target)
    | I::branch_greater_or_equal_unsigned(_, _, target)
    | I::branch_greater_or_equal_signed(_, _, target)
    | I::branch_eq_imm(_, _, target)
    | I::branch_not_eq_imm(_, _, target)
    | I::branch_less_unsigned_imm(_, _, target)
    | I::branch_less_signed_imm(_, _, target)
    | I::branch_less_or_equal_unsigned_imm(_, _, target)
    | I::branch_less_or_equal_signed_imm(_, _, target)
    | I::branch_greater_or_equal_unsigned_imm(_, _, target)
    | I::branch_greater_or_equal_signed_imm(_, _, target)
    | I::branch_greater_unsigned_imm(_, _, target)
    | I::branch_greater_signed_imm(_, _, target)) = kind
    else {
        return None;
    };
    Some(target)
}

/// Whether `backend` (the one that really runs, see `effective_backend`)
/// must run `blob` step-traced to know the exact pc of every panic: the
/// interpreter, on code with a branch to no block start.
fn interpreter_needs_steps(flavor: PvmFlavor, backend: Backend, blob: &ProgramBlob) -> bool {
    backend == Backend::Interpreter && branches_to_no_block_start(flavor, blob)
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

fn offset_u32(offset: usize) -> u32 {
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
    /// [`PvmOptions::step_tracing`] and is 0 otherwise (GP eq. A.1 itself
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

/// Why a run could not even start (or polkavm failed internally).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PvmError {
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
    /// [`Pvm::crosscheck`]: the backends disagree.
    #[error("backends disagree: {0} (interpreter vs compiler)")]
    Divergence(String),
    /// A run compared in lockstep ([`Pvm::crosscheck_steps`],
    /// [`Pvm::crosscheck_program`], [`Pvm::crosscheck_program_steps`]):
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
    /// instruction, so [`Outcome::machine`] has it.
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

fn engine_error(e: impl fmt::Display) -> PvmError {
    PvmError::Engine(e.to_string())
}

/// How closely runs are observed, and where the recompiler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PvmOptions {
    /// Stop after every instruction to note its pc. Much slower; needed
    /// only to know the pc of the instruction that halted (see
    /// [`Outcome::machine`]), which the PVM test vectors record.
    pub step_tracing: bool,
    /// Which sandbox the recompiler's code runs in (see [`Sandbox`]).
    pub sandbox: SandboxChoice,
}

/// Where code compiled by polkavm's recompiler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sandbox {
    /// polkavm's Linux sandbox: guest code runs in a separate, unprivileged
    /// worker process (namespaces, seccomp, an empty address space), so a
    /// recompiler bug cannot reach the node's memory. Each host call is a
    /// hand-off between the two processes. Dynamic paging needs
    /// `userfaultfd` for the worker (`vm.unprivileged_userfaultfd = 1`).
    /// The one [`SandboxChoice::Auto`] takes.
    Linux,
    /// polkavm's generic sandbox: guest code runs in this process, in its
    /// own guard-paged mapping, with faults caught by signal handlers; no
    /// kernel setting is needed. Only when asked for
    /// ([`SandboxChoice::Only`], or `PARAJAM_PVM_SANDBOX=generic`): besides
    /// giving up process isolation (polkavm marks it experimental), in
    /// polkavm 0.30 it answers a dynamic jump to a bad address with a page
    /// fault where the GP panics (`djump`, eq. A.18), and on a parachain
    /// block's refine it is about ten times slower than the interpreter
    /// (BENCHMARKS.md). The PVM instruction vectors all pass on it.
    Generic,
}

impl Sandbox {
    /// `"linux"` or `"generic"`.
    pub const fn name(self) -> &'static str {
        match self {
            Sandbox::Linux => "linux",
            Sandbox::Generic => "generic",
        }
    }

    const fn kind(self) -> polkavm::SandboxKind {
        match self {
            Sandbox::Linux => polkavm::SandboxKind::Linux,
            Sandbox::Generic => polkavm::SandboxKind::Generic,
        }
    }
}

impl fmt::Display for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which [`Sandbox`] the recompiler should use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SandboxChoice {
    /// The Linux sandbox; where it cannot start, the recompiler is
    /// unavailable (and the interpreter runs everything), unless
    /// `PARAJAM_PVM_SANDBOX=generic` asks for the generic one.
    #[default]
    Auto,
    /// Only this sandbox; the recompiler is unavailable if it cannot start.
    Only(Sandbox),
    /// The Linux sandbox, else the generic one: for tests and checks that
    /// must exercise the recompiler on any machine, never a node's default.
    LinuxOrGeneric,
}

/// The PVM: one polkavm engine per backend, for one [`PvmFlavor`].
pub struct Pvm {
    flavor: PvmFlavor,
    options: PvmOptions,
    interpreter: Engine,
    /// Started on first use: it spawns sandbox worker processes.
    compiler: OnceLock<Result<(Engine, Sandbox), String>>,
    /// Standard program modules by code hash and backend.
    modules: cache::ModuleCache,
    /// Parsed standard programs by a caller's key (see [`Pvm::cached_program`]),
    /// most recently used last.
    programs: std::sync::Mutex<Vec<([u8; 32], Program)>>,
    /// Prepared code blobs with their octets, most recently used last (see
    /// [`Pvm::prepare_code`]); as many as the module cache holds.
    prepared: std::sync::Mutex<Vec<(std::sync::Arc<[u8]>, CodeBlob)>>,
    /// How many code blobs [`Self::prepared`] keeps.
    prepared_capacity: usize,
}

impl fmt::Debug for Pvm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pvm")
            .field("flavor", &self.flavor)
            .field("options", &self.options)
            .field(
                "compiler",
                &self.compiler.get().map(|e| e.as_ref().map(|_| "started")),
            )
            .finish_non_exhaustive()
    }
}

fn new_engine(backend: Backend, sandbox: Option<Sandbox>) -> Result<Engine, String> {
    if !backend.kind().is_supported() {
        return Err(format!(
            "polkavm has no {backend} backend for this platform"
        ));
    }
    // `Config::new`, not `from_env`: POLKAVM_* variables must not change
    // consensus behaviour.
    let mut config = Config::new();
    config.set_backend(Some(backend.kind()));
    config.set_allow_dynamic_paging(true);
    if let Some(sandbox) = sandbox {
        config.set_sandbox(Some(sandbox.kind()));
        // polkavm asks for this to run its generic sandbox: it is not
        // process-isolated (see `Sandbox::Generic`). Nothing else that
        // `allow_experimental` unlocks is used here.
        config.set_allow_experimental(sandbox == Sandbox::Generic);
    }
    Engine::new(&config).map_err(|e| {
        let mut reason = e.to_string();
        if reason.contains("userfaultfd") {
            // Dynamic paging in the Linux sandbox needs userfaultfd, which
            // the kernel refuses to the sandbox's unprivileged worker.
            reason.push_str(
                "; the recompiler's sandbox needs userfaultfd for dynamic paging: \
                 set the sysctl vm.unprivileged_userfaultfd=1",
            );
        }
        reason
    })
}

/// The recompiler's engine in the sandbox `choice` names.
fn new_compiler(choice: SandboxChoice) -> Result<(Engine, Sandbox), String> {
    // `PARAJAM_PVM_SANDBOX=linux|generic` settles `Auto` for a whole
    // process (benchmarks, and machines without the Linux sandbox where
    // the recompiler is wanted all the same).
    let sandbox = match (choice, std::env::var("PARAJAM_PVM_SANDBOX").as_deref()) {
        (SandboxChoice::Only(sandbox), _) => sandbox,
        (SandboxChoice::Auto, Ok("generic")) => Sandbox::Generic,
        (SandboxChoice::Auto, _) => Sandbox::Linux,
        (SandboxChoice::LinuxOrGeneric, _) => {
            return new_compiler(SandboxChoice::Only(Sandbox::Linux))
                .or_else(|_| new_compiler(SandboxChoice::Only(Sandbox::Generic)));
        }
    };
    new_engine(Backend::Compiler, Some(sandbox))
        .map(|engine| (engine, sandbox))
        .map_err(|reason| format!("polkavm's {sandbox} sandbox cannot start: {reason}"))
}

impl Pvm {
    /// Creates the engines. The interpreter must start; the compiler starts
    /// on first use and may be unavailable on this machine (see
    /// [`Pvm::backend_unavailable`]).
    pub fn new(flavor: PvmFlavor) -> Result<Self, PvmError> {
        Self::with_options(flavor, PvmOptions::default())
    }

    /// [`Pvm::new`] with the recompiler in whichever sandbox starts
    /// ([`SandboxChoice::LinuxOrGeneric`]): for tests that must run both
    /// backends on any machine.
    pub fn with_any_sandbox(flavor: PvmFlavor) -> Result<Self, PvmError> {
        Self::with_options(
            flavor,
            PvmOptions {
                sandbox: SandboxChoice::LinuxOrGeneric,
                ..PvmOptions::default()
            },
        )
    }

    /// [`Pvm::new`] with non-default [`PvmOptions`].
    pub fn with_options(flavor: PvmFlavor, options: PvmOptions) -> Result<Self, PvmError> {
        let interpreter = new_engine(Backend::Interpreter, None).map_err(|reason| {
            PvmError::BackendUnavailable {
                backend: Backend::Interpreter,
                reason,
            }
        })?;
        Ok(Self {
            flavor,
            options,
            interpreter,
            compiler: OnceLock::new(),
            modules: cache::ModuleCache::new(DEFAULT_MODULE_CACHE_CAPACITY),
            programs: std::sync::Mutex::default(),
            prepared: std::sync::Mutex::default(),
            prepared_capacity: DEFAULT_MODULE_CACHE_CAPACITY,
        })
    }

    /// The standard program `blob`, parsed once per `key`: `key` must
    /// determine `blob` (a service's code hash does: it is the hash of the
    /// preimage the code comes from). Saves parsing and hashing the blob on
    /// every invocation; invalid blobs are not remembered.
    pub fn cached_program(&self, key: [u8; 32], blob: &[u8]) -> Result<Program, PvmError> {
        let lock = || {
            self.programs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        {
            let mut programs = lock();
            if let Some(i) = programs.iter().position(|(k, _)| *k == key) {
                let entry = programs.remove(i);
                let program = entry.1.clone();
                programs.push(entry);
                return Ok(program);
            }
        }
        let program = Program::from_standard_blob_for(self.flavor, blob)?;
        let mut programs = lock();
        if programs.len() >= DEFAULT_MODULE_CACHE_CAPACITY {
            programs.remove(0);
        }
        programs.push((key, program.clone()));
        Ok(program)
    }

    /// This PVM with a module cache of at most `capacity` modules (0: no
    /// caching), emptying the cache.
    #[must_use]
    pub fn with_module_cache_capacity(mut self, capacity: usize) -> Self {
        self.modules = cache::ModuleCache::new(capacity);
        self.prepared = std::sync::Mutex::default();
        self.prepared_capacity = capacity;
        self
    }

    /// Hits, misses and size of the module cache.
    pub fn module_cache_stats(&self) -> ModuleCacheStats {
        self.modules.stats()
    }

    /// Drops every cached module (the counters stay).
    pub fn clear_module_cache(&self) {
        self.modules.clear();
        self.prepared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// The flavor this PVM runs.
    pub fn flavor(&self) -> PvmFlavor {
        self.flavor
    }

    /// The options this PVM runs with.
    pub fn options(&self) -> PvmOptions {
        self.options
    }

    fn compiler(&self) -> &Result<(Engine, Sandbox), String> {
        self.compiler
            .get_or_init(|| new_compiler(self.options.sandbox))
    }

    /// The sandbox the recompiler runs in (starting it if it has not
    /// started yet), or `None` where the recompiler is unavailable.
    pub fn compiler_sandbox(&self) -> Option<Sandbox> {
        self.compiler().as_ref().ok().map(|&(_, sandbox)| sandbox)
    }

    /// Why `backend` cannot run here, or `None` if it can (starting the
    /// compiler engine if it has not started yet).
    pub fn backend_unavailable(&self, backend: Backend) -> Option<&str> {
        match backend {
            Backend::Interpreter => None,
            Backend::Compiler => self.compiler().as_ref().err().map(String::as_str),
        }
    }

    /// The fastest backend available, chosen at run time: the recompiler
    /// in the Linux sandbox where it starts, otherwise the interpreter
    /// (never the generic sandbox: see [`Sandbox::Generic`]).
    pub fn preferred_backend(&self) -> Backend {
        match self.compiler_sandbox() {
            Some(Sandbox::Linux) => Backend::Compiler,
            _ => Backend::Interpreter,
        }
    }

    fn engine(&self, backend: Backend) -> Result<&Engine, PvmError> {
        match backend {
            Backend::Interpreter => Ok(&self.interpreter),
            Backend::Compiler => {
                self.compiler()
                    .as_ref()
                    .map(|(engine, _)| engine)
                    .map_err(|reason| PvmError::BackendUnavailable {
                        backend,
                        reason: reason.clone(),
                    })
            }
        }
    }

    /// Runs the GP code blob `code` (the `deblob` format of GP eq. A.2:
    /// jump table, code and opcode bitmask) from `init` until it exits:
    /// `Ψ(code, ı, ϱ, ω, μ)` of GP eq. A.1.
    pub fn run_code_blob(
        &self,
        backend: Backend,
        code: &[u8],
        init: &InitialState,
    ) -> Result<Outcome, PvmError> {
        let code = self.prepare_code(code)?;
        self.run_code(backend, &code, init)
    }

    /// Parses a GP code blob once, for many [`Pvm::run_code`] runs (an inner
    /// machine resumed after each host call): the parse, the hash that keys
    /// its compiled module in the cache, and its `sbrk` sites.
    ///
    /// The last blobs prepared are kept with their octets (as many as the
    /// module cache holds): preparing the same octets again (the same PVF,
    /// block after block) is one comparison of them, not a parse, a hash
    /// and a scan (27–30 ms for a 5.7 MB cumulus runtime). Equal octets
    /// are the key, so no collision can hand out another blob.
    pub fn prepare_code(&self, code: &[u8]) -> Result<CodeBlob, PvmError> {
        let lock = || {
            self.prepared
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if self.prepared_capacity > 0 {
            let mut prepared = lock();
            if let Some(i) = prepared.iter().position(|(octets, _)| **octets == *code) {
                let entry = prepared.remove(i);
                let blob = entry.1.clone();
                prepared.push(entry);
                return Ok(blob);
            }
        }
        let blob = self.parse_code_blob(code)?;
        let sbrk_pcs = sbrk_offsets(&blob);
        // Domain-separated from standard programs' keys (another layout).
        let hash = parajam_crypto::blake2b_256_concat(&[b"parajam/code-blob", code]);
        let prepared_blob = CodeBlob {
            hash,
            blob,
            sbrk_pcs,
        };
        if self.prepared_capacity > 0 {
            let mut prepared = lock();
            if prepared.len() >= self.prepared_capacity {
                prepared.remove(0);
            }
            prepared.push((code.into(), prepared_blob.clone()));
        }
        Ok(prepared_blob)
    }

    /// [`Pvm::run_code_blob`] on a prepared blob; its module is compiled
    /// once and then taken from the module cache.
    pub fn run_code(
        &self,
        backend: Backend,
        code: &CodeBlob,
        init: &InitialState,
    ) -> Result<Outcome, PvmError> {
        check_initial_memory(init)?;
        let mut run = self.start_code(backend, code, init, false)?;
        let exit = loop {
            if let CodeEvent::Exit(exit) = run.next()? {
                break exit;
            }
        };
        run.finish(exit, init)
    }

    /// Compiles `code`'s module for `backend` as a run does, bypassing the
    /// module cache: what loading a program costs, for measuring it.
    pub fn compile_code(&self, backend: Backend, code: &CodeBlob) -> Result<(), PvmError> {
        self.engine(backend)?;
        self.compile_module(backend, code, self.code_options(code, false))
            .map(drop)
    }

    /// The module options for `code`. `sbrk` needs the standard layout's
    /// heap (GP §A.5.9: without it `h = 0` and the instruction has no
    /// meaningful result), and polkavm 0.30's interpreter cannot run it
    /// under dynamic paging at all. So a run stops with a panic when it
    /// reaches one, which needs a step trace to catch it in time on both
    /// backends; a lockstep crosscheck (`steps`) needs one as well.
    fn code_options(&self, code: &CodeBlob, steps: bool) -> PvmOptions {
        let mut options = self.options;
        options.step_tracing |= steps || !code.sbrk_pcs.is_empty();
        options
    }

    /// `code`'s module on `backend` with `options`.
    fn compile_module(
        &self,
        backend: Backend,
        code: &CodeBlob,
        mut options: PvmOptions,
    ) -> Result<Module, PvmError> {
        let blob = &code.blob;
        let really = effective_backend(self.flavor, backend, blob);
        options.step_tracing |= interpreter_needs_steps(self.flavor, really, blob);
        Module::from_blob(
            self.engine(really)?,
            &self.flavor.module_config(options),
            blob.clone(),
        )
        .map_err(|e| PvmError::Module(e.to_string()))
    }

    /// An instance of `code` on `backend` in the state `init` (checked
    /// already), ready to run: its module from the cache, or, for a
    /// lockstep crosscheck (`steps`), a step-traced module of its own.
    fn start_code<'c>(
        &self,
        backend: Backend,
        code: &'c CodeBlob,
        init: &InitialState,
        steps: bool,
    ) -> Result<CodeRun<'c>, PvmError> {
        self.engine(backend)?;
        let options = self.code_options(code, steps);
        let compile = || self.compile_module(backend, code, options);
        let module = if steps {
            compile()?
        } else {
            self.modules.get_or_compile((code.hash, backend), compile)?
        };
        let mut instance = module.instantiate().map_err(engine_error)?;
        load_memory(&mut instance, init)?;
        for (reg, value) in Reg::ALL.into_iter().zip(init.machine.regs) {
            instance.set_reg(reg, value);
        }
        instance.set_gas(init.machine.gas);
        instance.set_next_program_counter(ProgramCounter(init.machine.pc));
        Ok(CodeRun {
            flavor: self.flavor,
            code,
            instance,
            halt_pc_known: options.step_tracing,
            last_step: None,
            steps: 0,
        })
    }

    /// Runs `code` on both backends and checks that exit, registers, pc,
    /// gas and memory agree exactly; returns the (common) outcome.
    pub fn crosscheck(&self, code: &[u8], init: &InitialState) -> Result<Outcome, PvmError> {
        let interpreted = self.run_code_blob(Backend::Interpreter, code, init)?;
        let compiled = self.run_code_blob(Backend::Compiler, code, init)?;
        match interpreted.difference(&compiled) {
            None => Ok(interpreted),
            Some(d) => Err(PvmError::Divergence(d)),
        }
    }

    /// Runs `code` on both backends in lockstep, step-traced, and checks
    /// after every instruction that both are at the same pc with the same
    /// registers and gas, and at the end that exit, registers, pc, gas and
    /// memory agree; returns the (common) outcome and how many
    /// instructions ran. The first difference is a
    /// [`PvmError::DivergenceAt`] naming the instruction (its number and
    /// pc) after which the machines differ.
    ///
    /// Much slower than [`Pvm::crosscheck`] (every instruction stops both
    /// machines; on the recompiler that is a round trip to its sandbox):
    /// for tests and the conformance vectors.
    pub fn crosscheck_steps(
        &self,
        code: &[u8],
        init: &InitialState,
    ) -> Result<Stepped<Outcome>, PvmError> {
        let code = self.prepare_code(code)?;
        check_initial_memory(init)?;
        let a = self.start_code(Backend::Interpreter, &code, init, true)?;
        let b = self.start_code(Backend::Compiler, &code, init, true)?;
        lockstep_code(a, b, init)
    }

    /// Whether `code` is a GP code blob this PVM can load: `deblob(code) ≠ ∇`
    /// (GP eq. A.2), within polkavm's limits.
    pub fn is_valid_code_blob(&self, code: &[u8]) -> bool {
        self.parse_code_blob(code).is_ok()
    }

    /// `ı + 1 + skip(ı)` (GP §A.3): the offset of the instruction after the
    /// one at `pc` in the code blob `code`, where a machine resumes after
    /// an `ecalli` at `pc` (GP §A.6 and B.8 `invoke`). Like the GP's
    /// `skip`, defined at any offset of the code, by the opcode bitmask;
    /// `None` if `pc` is beyond the code; an error if the blob does not
    /// parse.
    pub fn next_instruction_offset(&self, code: &[u8], pc: u32) -> Result<Option<u32>, PvmError> {
        Ok(self.prepare_code(code)?.next_instruction_offset(pc))
    }

    /// The gas a run charges twice when it starts at `pc` in the middle of
    /// a basic block: the cost of the block's instructions before `pc`
    /// (zero at a block start). polkavm charges a block's whole cost when
    /// execution enters it, wherever in the block it enters, so a caller
    /// that resumes a machine mid-block (after an `ecalli`, GP B.8
    /// `invoke`) adds this to the gas to charge only from `pc` on.
    pub fn block_entry_overcharge(&self, code: &[u8], pc: u32) -> Result<i64, PvmError> {
        Ok(self.prepare_code(code)?.block_entry_overcharge(pc) * self.flavor.gas_per_instruction())
    }

    fn parse_code_blob(&self, code: &[u8]) -> Result<ProgramBlob, PvmError> {
        let mut parts = ProgramParts::empty(self.flavor.instruction_set());
        parts.code_and_jump_table = ArcBytes::from(code);
        Ok(ProgramBlob::from_parts(parts)?)
    }
}

/// The backend that runs `blob` when `backend` is asked for: the
/// interpreter instead of the compiler for code that
/// - names a register above 12 in an instruction. GP §A.5 reads such a
///   register as `ω12` (`r = min(12, ...)`), as polkavm 0.30's interpreter
///   does, but its x86-64 recompiler maps register numbers 13 to 15 to `ω4`
///   (and its debug builds assert);
/// - jumps to `|c| + 2`, which the recompiler cannot compile (see
///   [`jumps_to_code_end_plus_two`]).
///
/// No compiler emits such code; running it interpreted keeps the result the
/// GP one on every backend.
fn effective_backend(flavor: PvmFlavor, backend: Backend, blob: &ProgramBlob) -> Backend {
    if backend == Backend::Compiler
        && (names_register_above_12(flavor, blob) || jumps_to_code_end_plus_two(flavor, blob))
    {
        Backend::Interpreter
    } else {
        backend
    }
}

/// Whether an instruction of `blob` has a register nibble above 12 (see
/// [`PvmFlavor::register_operands`]).
fn names_register_above_12(flavor: PvmFlavor, blob: &ProgramBlob) -> bool {
    let code = blob.code();
    let byte = |i: usize| code.get(i).copied().unwrap_or(0);
    blob.instructions().any(|instruction| {
        let at = instruction.offset.0 as usize;
        let (low, high, third) = flavor.register_operands(byte(at));
        let next = byte(at + 1);
        (low && next & 0xf > 12) || (high && next >> 4 > 12) || (third && byte(at + 2) & 0xf > 12)
    })
}

/// The offsets of every `sbrk` instruction of the code.
/// A GP code blob parsed once ([`Pvm::prepare_code`]), so that running it
/// again and again (an inner machine resumed after every host call) parses,
/// hashes and compiles nothing anew.
#[derive(Clone)]
pub struct CodeBlob {
    hash: [u8; 32],
    blob: ProgramBlob,
    sbrk_pcs: BTreeSet<u32>,
}

impl fmt::Debug for CodeBlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeBlob")
            .field("code_len", &self.blob.code().len())
            .finish_non_exhaustive()
    }
}

impl CodeBlob {
    /// The offset of the instruction after the one at `pc`, if an
    /// instruction starts at `pc`.
    pub fn next_instruction_offset(&self, pc: u32) -> Option<u32> {
        if usize::try_from(pc).map_or(true, |pc| pc >= self.blob.code().len()) {
            return None;
        }
        self.blob
            .instructions_bounded_at(ProgramCounter(pc))
            .next()
            .filter(|instruction| instruction.offset.0 == pc)
            .map(|instruction| instruction.next_offset.0)
    }

    /// How many instructions follow the one at `pc` in its basic block
    /// (zero if none starts at `pc`): what a run that stops at `pc` has
    /// paid for on entering the block but not run (see the crate docs,
    /// "Gas").
    pub fn block_tail(&self, pc: u32) -> i64 {
        block_tail(&self.blob, pc)
    }

    /// How many instructions of `pc`'s basic block come before `pc`: what
    /// polkavm charges on entering the block at `pc` beyond the paper.
    pub fn block_entry_overcharge(&self, pc: u32) -> i64 {
        let mut before = 0i64;
        for instruction in self.blob.instructions() {
            if instruction.offset.0 >= pc {
                break;
            }
            before = if instruction.kind.starts_new_basic_block() {
                0
            } else {
                before + 1
            };
        }
        before
    }
}

/// Runs two step-traced runs of the same code in lockstep (see
/// [`Pvm::crosscheck_steps`]): `a` the interpreter's, `b` the compiler's.
fn lockstep_code(
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
enum CodeEvent {
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
struct CodeRun<'c> {
    flavor: PvmFlavor,
    code: &'c CodeBlob,
    instance: RawInstance,
    /// Whether both backends step (a step trace asked for, or forced by
    /// `sbrk`), so that the pc of a halting instruction is known alike.
    halt_pc_known: bool,
    /// With step tracing, the pc of the instruction about to run.
    last_step: Option<ProgramCounter>,
    /// The instructions begun, with step tracing.
    steps: u64,
}

impl CodeRun<'_> {
    /// Runs to the next step or exit. A step at an `sbrk` is an exit: a
    /// panic (see [`Pvm::start_code`]).
    fn next(&mut self) -> Result<CodeEvent, PvmError> {
        let interrupt = self.instance.run().map_err(engine_error)?;
        if let Some(exit) = self.flavor.exit_reason(&interrupt) {
            return Ok(CodeEvent::Exit(exit));
        }
        self.steps += 1;
        self.last_step = self.instance.program_counter();
        let pc = self.last_step.map_or(0, |pc| pc.0);
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

    /// The outcome of a run that stopped with `exit`.
    ///
    /// The pc of a panic or a page fault is exact on both backends: polkavm
    /// reports the instruction that stopped (a memory access, `trap`, an
    /// invalid opcode, a jump, the implicit trap past the code), except for
    /// a branch to no block start on the interpreter, which runs such code
    /// step-traced (`interpreter_needs_steps`) and then reports it too. From
    /// that pc the block's unrun tail follows from the code alone, and the
    /// flavor decides what of it to give back (`PvmFlavor::unrun_gas`).
    fn finish(self, exit: ExitReason, init: &InitialState) -> Result<Outcome, PvmError> {
        let instance = self.instance;
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

fn sbrk_offsets(blob: &ProgramBlob) -> BTreeSet<u32> {
    blob.instructions()
        .filter(|i| matches!(i.kind, polkavm::program::Instruction::sbrk(..)))
        .map(|i| i.offset.0)
        .collect()
}

/// Checks the page map and that every initial chunk lies on it.
fn check_initial_memory(init: &InitialState) -> Result<(), PvmError> {
    let mut ranges: Vec<(u64, u64)> = Vec::with_capacity(init.pages.len());
    for range in &init.pages {
        let bad = |reason| PvmError::InvalidPages {
            address: range.address,
            length: range.length,
            reason,
        };
        if range.address % PAGE_SIZE != 0 || range.length % PAGE_SIZE != 0 {
            return Err(bad("not a whole number of pages"));
        }
        if range.address < LOWEST_ACCESSIBLE_ADDRESS {
            return Err(bad("below 2^16, which is never accessible"));
        }
        let start = u64::from(range.address);
        let end = start + u64::from(range.length);
        if end > 1 << 32 {
            return Err(bad("beyond the 32-bit address space"));
        }
        if ranges.iter().any(|&(s, e)| start < e && s < end) {
            return Err(bad("overlaps another range"));
        }
        ranges.push((start, end));
    }
    for chunk in &init.memory {
        let start = u64::from(chunk.address);
        let end = start + chunk.contents.len() as u64;
        // Ranges do not overlap, so a chunk may span adjacent ranges: walk it.
        let mut at = start;
        while at < end {
            match ranges.iter().find(|&&(s, e)| s <= at && at < e) {
                Some(&(_, e)) => at = e,
                None => {
                    return Err(PvmError::MemoryNotMapped {
                        address: chunk.address,
                        length: chunk.contents.len(),
                    })
                }
            }
        }
    }
    Ok(())
}

/// Maps the pages (writable at first), writes the initial contents, then
/// makes the read-only ranges read-only.
fn load_memory(instance: &mut RawInstance, init: &InitialState) -> Result<(), PvmError> {
    for range in &init.pages {
        instance
            .zero_memory_with_memory_protection(
                range.address,
                range.length,
                MemoryProtection::ReadWrite,
            )
            .map_err(engine_error)?;
    }
    for chunk in &init.memory {
        instance
            .write_memory(chunk.address, &chunk.contents)
            .map_err(engine_error)?;
    }
    for range in init.pages.iter().filter(|r| !r.is_writable && r.length > 0) {
        instance
            .protect_memory(range.address, range.length)
            .map_err(engine_error)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
