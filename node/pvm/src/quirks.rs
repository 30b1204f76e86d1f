//! Workarounds for polkavm 0.30: code the recompiler would run differently
//! from the GP goes to the interpreter, and gas is mended where polkavm
//! charges a basic block on entry where the GP charges per instruction.

use std::collections::BTreeMap;

use polkavm::{MemoryProtection, ProgramBlob, ProgramCounter, Reg};

use crate::vm::Instance as RawInstance;

use crate::engine::Sandbox;
use crate::flavor::PvmFlavor;
use crate::types::{Backend, PAGE_SIZE};

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
pub(crate) fn branches_to_no_block_start(flavor: PvmFlavor, blob: &ProgramBlob) -> bool {
    any_instruction_start(
        blob,
        |op| flavor.is_branch_opcode(op),
        |i| branch_to_no_block_start(blob, i),
    )
}

/// Whether `check` holds at an instruction start whose opcode passes
/// `opcode`. The instruction starts are the bitmask's set bits; only those
/// whose opcode passes are decoded, so a scan costs little.
pub(crate) fn any_instruction_start(
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
pub(crate) fn jumps_to_code_end_plus_two(flavor: PvmFlavor, blob: &ProgramBlob) -> bool {
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
pub(crate) fn branch_to_no_block_start(blob: &ProgramBlob, i: usize) -> bool {
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
pub(crate) fn static_branch_target(kind: polkavm::program::Instruction) -> Option<u32> {
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
pub(crate) fn interpreter_needs_steps(
    flavor: PvmFlavor,
    backend: Backend,
    blob: &ProgramBlob,
) -> bool {
    backend == Backend::Interpreter && branches_to_no_block_start(flavor, blob)
}

/// The backend that runs `blob` when `backend` is asked for: the
/// interpreter instead of the compiler for code that
/// - names a register above 12 in an instruction. GP §A.5 reads such a
///   register as `ω12` (`r = min(12, ...)`), as polkavm 0.30's interpreter
///   does, but its x86-64 recompiler maps register numbers 13 to 15 to `ω4`
///   (and its debug builds assert);
/// - jumps to `|c| + 2`, which the recompiler cannot compile (see
///   [`jumps_to_code_end_plus_two`]);
/// - would run in the generic sandbox (`sandbox`) and accesses memory
///   through a register with no offset, unless the caller vouches for the
///   code (`trusted`, see [`Pvm::trust_code`](crate::Pvm::trust_code)):
///   see [`unconfined_on_generic_sandbox`].
///
/// No compiler emits code of the first two kinds; running it interpreted
/// keeps the result the GP one on every backend.
pub(crate) fn effective_backend(
    flavor: PvmFlavor,
    backend: Backend,
    blob: &ProgramBlob,
    sandbox: Option<Sandbox>,
    trusted: bool,
) -> Backend {
    if backend == Backend::Compiler
        && (names_register_above_12(flavor, blob)
            || jumps_to_code_end_plus_two(flavor, blob)
            || (sandbox == Some(Sandbox::Generic)
                && !trusted
                && unconfined_on_generic_sandbox(blob)))
    {
        Backend::Interpreter
    } else {
        backend
    }
}

/// Whether `blob` has a load or store through a register with offset 0
/// (`load_ind_*`, `store_ind_*`, `store_imm_ind_*` of GP §A.5.10 and
/// §A.5.12 with `ν_X = 0`), which polkavm 0.30's recompiler compiles for
/// its generic sandbox as an access of `base + ω_B` with all 64 bits of
/// `ω_B` (its code says it assumes the upper 32 bits are clear), where the
/// GP accesses `ω_B mod 2^32` (and the Linux sandbox, and any other
/// offset, truncate to 32 bits). Such code, given a register with upper
/// bits set, reads or writes the node's own memory outside the guest's
/// 4 GiB mapping: found by `random_blobs` (a store through `ω = 2^64 − 1`
/// wrote below the mapping and ran on; through `2^64 − 2^12` it crashed
/// the process). polkavm 0.35 compiles it the same way.
pub(crate) fn unconfined_on_generic_sandbox(blob: &ProgramBlob) -> bool {
    use polkavm::program::Instruction as I;
    blob.instructions().any(|instruction| {
        matches!(
            instruction.kind,
            I::load_indirect_u8(_, _, 0)
                | I::load_indirect_i8(_, _, 0)
                | I::load_indirect_u16(_, _, 0)
                | I::load_indirect_i16(_, _, 0)
                | I::load_indirect_u32(_, _, 0)
                | I::load_indirect_i32(_, _, 0)
                | I::load_indirect_u64(_, _, 0)
                | I::store_indirect_u8(_, _, 0)
                | I::store_indirect_u16(_, _, 0)
                | I::store_indirect_u32(_, _, 0)
                | I::store_indirect_u64(_, _, 0)
                | I::store_imm_indirect_u8(_, 0, _)
                | I::store_imm_indirect_u16(_, 0, _)
                | I::store_imm_indirect_u32(_, 0, _)
                | I::store_imm_indirect_u64(_, 0, _)
        )
    })
}

/// Whether an instruction of `blob` has a register nibble above 12 (see
/// [`PvmFlavor::register_operands`]).
pub(crate) fn names_register_above_12(flavor: PvmFlavor, blob: &ProgramBlob) -> bool {
    let code = blob.code();
    let byte = |i: usize| code.get(i).copied().unwrap_or(0);
    blob.instructions().any(|instruction| {
        let at = instruction.offset.0 as usize;
        let (low, high, third) = flavor.register_operands(byte(at));
        let next = byte(at + 1);
        (low && next & 0xf > 12) || (high && next >> 4 > 12) || (third && byte(at + 2) & 0xf > 12)
    })
}

/// A three-register instruction (GP §A.5.13, opcodes 190 to 230) whose
/// destination octet `c_{ı+2}` is 16 or more with a low nibble below 12:
/// the GP's `r_D = min(12, c_{ı+2})` is `ω12`, but polkavm 0.30 reads the
/// low nibble only (on both backends), so it would write another register.
/// No compiler emits one (the octet is the instruction's own, at most 12),
/// but random code does, and an instruction of one or two octets reads the
/// next instruction's octet there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WideDestination {
    /// The register polkavm writes instead of `ω12`.
    read_as: Reg,
    /// For `cmov_iz`/`cmov_nz` (which read their destination): whether it
    /// moves on zero, and its `ω_A` (moved) and `ω_B` (tested).
    cmov: Option<(bool, Reg, Reg)>,
}

/// The wide destinations of `blob`, by pc: such code runs step-traced, and
/// each run mends the instruction's effect around it ([`PendingWide`]).
pub(crate) fn wide_destinations(
    flavor: PvmFlavor,
    blob: &ProgramBlob,
) -> BTreeMap<u32, WideDestination> {
    use polkavm::program::Instruction as I;
    let code = blob.code();
    let mut found = BTreeMap::new();
    for instruction in blob.instructions() {
        let at = instruction.offset.0 as usize;
        let opcode = code.get(at).copied().unwrap_or(0);
        if !flavor.register_operands(opcode).2 {
            continue;
        }
        let octet = code.get(at + 2).copied().unwrap_or(0);
        if octet < 16 || octet & 0xf >= 12 {
            continue;
        }
        let cmov = match instruction.kind {
            I::cmov_if_zero(_, s, c) => Some((true, s.get(), c.get())),
            I::cmov_if_not_zero(_, s, c) => Some((false, s.get(), c.get())),
            _ => None,
        };
        found.insert(
            instruction.offset.0,
            WideDestination {
                read_as: Reg::ALL[usize::from(octet & 0xf)],
                cmov,
            },
        );
    }
    found
}

/// A wide-destination instruction about to run: what to restore after it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PendingWide {
    pc: u32,
    read_as: Reg,
    /// `read_as`'s value before the instruction.
    saved: u64,
    /// For a `cmov`, the GP's new `ω12`, known before it runs.
    cmov_result: Option<u64>,
}

impl PendingWide {
    /// Notes the state before the instruction `wide` at `pc` runs.
    pub(crate) fn before(instance: &RawInstance, pc: u32, wide: WideDestination) -> Self {
        let cmov_result = wide.cmov.map(|(on_zero, a, b)| {
            if (instance.reg(b) == 0) == on_zero {
                instance.reg(a)
            } else {
                instance.reg(Reg::ALL[12])
            }
        });
        Self {
            pc,
            read_as: wide.read_as,
            saved: instance.reg(wide.read_as),
            cmov_result,
        }
    }

    /// After the next interrupt: if the instruction ran (the machine left
    /// its pc; out of gas on entering its block stops it before), its
    /// result goes to `ω12` and `read_as` gets its value back.
    pub(crate) fn after(self, instance: &mut RawInstance) {
        if instance.program_counter() == Some(ProgramCounter(self.pc)) {
            return;
        }
        let result = self
            .cmov_result
            .unwrap_or_else(|| instance.reg(self.read_as));
        instance.set_reg(self.read_as, self.saved);
        instance.set_reg(Reg::ALL[12], result);
    }
}

/// The GP's page fault for a store that faulted on polkavm, given the page
/// polkavm reported.
///
/// GP §A.4 (eq. A.8's `ε = ☇`): a store whose range `N_{a..+n}` is not all
/// writable faults at the page of the lowest address in it that is not
/// writable. polkavm 0.30's interpreter reports the missing page when a
/// store crosses from a mapped page into an unmapped one, even when the
/// mapped page is read-only: a 4-octet store at `0x21ffd` over a read-only
/// `0x21000` and an inaccessible `0x22000` faults at `0x21000` by the GP,
/// at `0x22000` there (the recompilers fault on the first page they may
/// not write). Loads agree already: a page an access may read is never
/// reported.
///
/// So on a fault at a store, the pages of its range are checked from the
/// lowest; the first one it may not write is the fault. Only on the way
/// out of a run, one instruction decoded.
pub(crate) fn store_fault_page(blob: &ProgramBlob, instance: &RawInstance, reported: u32) -> u32 {
    use polkavm::program::Instruction as I;
    let Some(pc) = instance.program_counter() else {
        return reported;
    };
    let Some(instruction) = blob.instructions_bounded_at(pc).next() else {
        return reported;
    };
    if instruction.offset != pc {
        return reported;
    }
    // GP eq. A.8: an address is taken mod 2^32.
    #[allow(clippy::cast_possible_truncation)]
    let base = |reg: polkavm::program::RawReg| instance.reg(reg.get()) as u32;
    let (address, length): (u32, u32) = match instruction.kind {
        I::store_imm_u8(offset, _) | I::store_u8(_, offset) => (offset, 1),
        I::store_imm_u16(offset, _) | I::store_u16(_, offset) => (offset, 2),
        I::store_imm_u32(offset, _) | I::store_u32(_, offset) => (offset, 4),
        I::store_imm_u64(offset, _) | I::store_u64(_, offset) => (offset, 8),
        I::store_imm_indirect_u8(b, offset, _) | I::store_indirect_u8(_, b, offset) => {
            (base(b).wrapping_add(offset), 1)
        }
        I::store_imm_indirect_u16(b, offset, _) | I::store_indirect_u16(_, b, offset) => {
            (base(b).wrapping_add(offset), 2)
        }
        I::store_imm_indirect_u32(b, offset, _) | I::store_indirect_u32(_, b, offset) => {
            (base(b).wrapping_add(offset), 4)
        }
        I::store_imm_indirect_u64(b, offset, _) | I::store_indirect_u64(_, b, offset) => {
            (base(b).wrapping_add(offset), 8)
        }
        _ => return reported,
    };
    // A range that wraps past 2^32 is polkavm's own case (a fault or trap
    // at the top of the address space), left as reported.
    let Some(end) = address.checked_add(length) else {
        return reported;
    };
    let mut start = address;
    while start < end {
        let page = start - start % PAGE_SIZE;
        let piece_end = end.min(page.saturating_add(PAGE_SIZE));
        if page >= reported {
            break;
        }
        if !instance.is_memory_accessible(start, piece_end - start, MemoryProtection::ReadWrite) {
            return page;
        }
        start = piece_end;
    }
    reported
}

/// `interrupt` with a store's page fault at the GP's page (see
/// [`store_fault_page`]).
pub(crate) fn mend_store_fault(
    blob: &ProgramBlob,
    instance: &RawInstance,
    interrupt: crate::vm::Interrupt,
) -> crate::vm::Interrupt {
    match interrupt {
        crate::vm::Interrupt::Segfault { page_address } => crate::vm::Interrupt::Segfault {
            page_address: store_fault_page(blob, instance, page_address),
        },
        other => other,
    }
}
