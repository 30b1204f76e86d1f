//! The Polkadot Virtual Machine (PVM) of the Gray Paper v0.7.2, appendix A
//! "Polkadot Virtual Machine" (`sec:virtualmachine`), run on
//! [polkavm](https://crates.io/crates/polkavm) 0.30.0, and 0.37.0's
//! recompiler for code blobs (see "Two polkavm releases").
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
//! # Two polkavm releases
//!
//! polkavm 0.30's recompiler does not confine a load or store through a
//! register with no offset to the guest's mapping in its generic
//! (in-process) sandbox: it adds all 64 bits of the register to the
//! mapping's base. 0.37's truncates to 32 bits, as the GP does, but it
//! implements GP 0.8's instruction set. So the recompiler runs GP code
//! blobs (inner machines: a parachain's PVF) on polkavm 0.37, the code
//! renumbered to its opcodes (`translate`: the same length, offsets,
//! basic blocks and gas, register fields above 12 made `ω12`), wherever
//! that rewrite is exact: every program a compiler emits
//! ([`Pvm::is_translated`]). Code that cannot be rewritten (`sbrk`, an
//! invalid opcode, an instruction reading octets of the next, a branch to
//! no block start, running off the end) and standard programs run on 0.30
//! as before. The interpreter is always 0.30's, on the code as it is, so a
//! crosscheck compares two releases on two forms of the code. One mend:
//! 0.37 panics at a `load_imm_jump_ind` through a bad address before it
//! loads `ω_A`, which the GP loads anyway (`CodeRun::next`).
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

mod cache;
mod code;
mod crosscheck;
mod engine;
mod error;
mod executor;
mod flavor;
mod invoke;
mod live;
mod program;
mod quirks;
pub mod testing;
mod translate;
mod types;
mod vm;

pub use cache::{ModuleCacheStats, DEFAULT_MODULE_CACHE_CAPACITY};
pub use code::CodeBlob;
pub(crate) use crosscheck::{
    machine_difference, registers_of, step_difference, CodeEvent, CodeRun,
};
pub use engine::{trust_code, Pvm, PvmOptions, Sandbox, SandboxChoice};
pub(crate) use error::engine_error;
pub use error::{Divergence, PvmError, Stepped};
pub use executor::Executor;
pub use flavor::PvmFlavor;
pub use invoke::{
    HostCallAction, HostCallContext, Invocation, MemoryFault, OutOfGas, ProgramOutcome,
    ProgramResult,
};
pub use live::{LiveMachine, LiveRun};
pub use program::{
    standard_registers, Program, StandardLayout, StandardProgramError, ARGS_ADDRESS,
    MAX_INPUT_SIZE, STACK_TOP, ZONE_SIZE,
};
pub(crate) use quirks::{block_tail, interpreter_needs_steps};
pub use types::{
    Backend, ExitReason, InitialState, MachineState, MemoryChunk, Outcome, PageRange, HALT_ADDRESS,
    LOWEST_ACCESSIBLE_ADDRESS, PAGE_SIZE, REGISTER_COUNT,
};

#[cfg(test)]
mod tests;
