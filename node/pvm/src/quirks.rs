//! Workarounds for polkavm 0.30: code the recompiler would run differently
//! from the GP goes to the interpreter, and gas is mended where polkavm
//! charges a basic block on entry where the GP charges per instruction.

use polkavm::{ProgramBlob, ProgramCounter};

use crate::flavor::PvmFlavor;
use crate::types::Backend;

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
///   [`jumps_to_code_end_plus_two`]).
///
/// No compiler emits such code; running it interpreted keeps the result the
/// GP one on every backend.
pub(crate) fn effective_backend(
    flavor: PvmFlavor,
    backend: Backend,
    blob: &ProgramBlob,
) -> Backend {
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
