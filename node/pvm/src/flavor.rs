//! The protocol version's side of the PVM: which instruction set, cost model
//! and register rules a chain's GP version asks for ([`PvmFlavor`]).

use polkavm::program::InstructionSetKind;
use polkavm::{CostModel, CostModelKind, GasMeteringKind, ModuleConfig};

use crate::vm::Interrupt as InterruptKind;

use crate::engine::PvmOptions;
use crate::types::{ExitReason, LOWEST_ACCESSIBLE_ADDRESS, PAGE_SIZE};
use crate::MAX_INPUT_SIZE;

/// The version-specific rules of the PVM: the one seam where GP 0.7.x and
/// GP 0.8 differ (gas per instruction vs. per basic block, opcode and
/// host-call numbering, the `sbrk` instruction vs. a `grow_heap` host call).
/// A chain picks it once, with its [`crate::Pvm`]; everything
/// version-specific (here, and the host-call numbering in `parajam-host`)
/// matches on it exhaustively, so a new version cannot be half-handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
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

    pub(crate) fn instruction_set(self) -> InstructionSetKind {
        match self {
            PvmFlavor::Gp072 => InstructionSetKind::JamV1,
        }
    }

    pub(crate) fn cost_model(self) -> CostModelKind {
        match self {
            // The naive model charges one gas for every instruction.
            PvmFlavor::Gp072 => CostModelKind::Simple(CostModel::naive_ref()),
        }
    }

    pub(crate) fn module_config(self, options: PvmOptions) -> ModuleConfig {
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

    /// [`Self::module_config`] for polkavm 0.37's recompiler, which runs
    /// GP 0.7.2 code blobs translated to its instruction set (see
    /// `translate`): the same settings.
    pub(crate) fn translated_module_config(self, options: PvmOptions) -> polkavm037::ModuleConfig {
        let mut config = polkavm037::ModuleConfig::new();
        config.set_step_tracing(options.step_tracing);
        config.set_page_size(PAGE_SIZE);
        config.set_gas_metering(Some(polkavm037::GasMeteringKind::Sync));
        config.set_dynamic_paging(true);
        config.set_cost_model(Some(match self {
            PvmFlavor::Gp072 => {
                polkavm037::CostModelKind::Simple(polkavm037::CostModel::naive_ref())
            }
        }));
        config.set_strict(false);
        config
    }

    /// The module configuration of a standard program (GP §A.7): polkavm's
    /// own memory map, whose layout is GP eq. `eq:memlayout` once the
    /// auxiliary data zone (the arguments) is `Z_I` octets, and in which
    /// `sbrk` grows the heap.
    pub(crate) fn standard_module_config(self, options: PvmOptions) -> ModuleConfig {
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
    pub(crate) fn register_operands(self, opcode: u8) -> (bool, bool, bool) {
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
    pub(crate) fn has_static_target(self, opcode: u8) -> bool {
        match self {
            PvmFlavor::Gp072 => opcode == 40 || opcode == 80 || self.is_branch_opcode(opcode),
        }
    }

    /// Whether `opcode` is a conditional branch (GP §A.5.8 and §A.5.11:
    /// `branch_eq_imm` … `branch_gt_s_imm`, `branch_eq` … `branch_ge_s`).
    pub(crate) fn is_branch_opcode(self, opcode: u8) -> bool {
        match self {
            PvmFlavor::Gp072 => matches!(opcode, 81..=90 | 170..=175),
        }
    }

    /// Whether `opcode` is a dynamic jump (GP §A.5.7 `jump_ind`, §A.5.12
    /// `load_imm_jump_ind`): an instruction that reads no memory, so never
    /// page-faults; a jump through a bad address panics (eq. A.18).
    pub(crate) fn is_dynamic_jump_opcode(self, opcode: u8) -> bool {
        match self {
            PvmFlavor::Gp072 => matches!(opcode, 50 | 180),
        }
    }

    /// The GP exit reason of a polkavm interruption, or `None` to go on.
    pub(crate) fn exit_reason(self, interrupt: InterruptKind) -> Option<ExitReason> {
        match self {
            PvmFlavor::Gp072 => match interrupt {
                InterruptKind::Finished => Some(ExitReason::Halt),
                InterruptKind::Trap => Some(ExitReason::Panic),
                InterruptKind::NotEnoughGas => Some(ExitReason::OutOfGas),
                InterruptKind::Ecalli(id) => Some(ExitReason::HostCall(id)),
                // GP §A.4: an access below 2^16 panics instead of faulting.
                InterruptKind::Segfault { page_address }
                    if page_address < LOWEST_ACCESSIBLE_ADDRESS =>
                {
                    Some(ExitReason::Panic)
                }
                InterruptKind::Segfault { page_address } => {
                    Some(ExitReason::PageFault(page_address))
                }
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
    pub(crate) fn unrun_gas(self, exit: ExitReason, unrun: i64) -> i64 {
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
