//! GP 0.7.2 code for polkavm 0.37's recompiler.
//!
//! polkavm 0.30's recompiler, in its generic (in-process) sandbox, compiles
//! a load or store through a register with no offset as an access of
//! `base + ω_B` with all 64 bits of `ω_B`: guest code can reach the node's
//! memory (see `quirks::unconfined_on_generic_sandbox`). polkavm 0.37's
//! truncates the register to 32 bits first, as the GP does. But 0.37
//! implements GP 0.8's `JamV1` instruction set, whose opcodes differ from
//! GP 0.7.2's in two places only (and its opcode 2, invalid in GP 0.7.2, is
//! a hint):
//!
//! | GP 0.7.2 opcode | GP 0.7.2 meaning                          | polkavm 0.37 `JamV1`        |
//! |-----------------|-------------------------------------------|-----------------------------|
//! | 101             | `sbrk` (§A.5.9)                           | `count_set_bits_64`         |
//! | 102 to 111      | `count_set_bits_64` … `reverse_bytes`      | the same, at 101 to 110     |
//!
//! So GP 0.7.2 code becomes 0.37 code of the very same length, layout,
//! bitmask and jump table by rewriting the opcode octet of each
//! instruction: 102–111 one down. Every offset, jump target, basic block
//! and gas charge (one per instruction, polkavm's naive cost model in
//! both) stays what it was.
//!
//! The same pass makes the register operands explicit: GP §A.5 reads a
//! register as `min(12, x)` of a nibble (and, for the destination of
//! §A.5.13, of the whole octet `c_{ı+2}`), where polkavm reads the low
//! nibble and its recompiler maps 13–15 to other registers. Each register
//! field above 12 is rewritten to 12, which both read as `ω12`.
//!
//! No exact rewrite exists for `sbrk`, an invalid opcode, a last
//! instruction that goes on past the code (into the GP's implicit `trap`),
//! or an instruction that reads octets of the next one (one shorter than
//! its register octets, `load_imm_64`'s immediate or an immediate whose
//! length an octet gives: a rewrite of the next instruction would change
//! what it reads, and polkavm 0.37 reads no octet past an instruction). A
//! compiler emits none of the last three; code with any of them is not
//! translated and runs as before (see `Pvm::compile_module`).

use polkavm::ProgramBlob;

use crate::flavor::PvmFlavor;

/// polkavm 0.37's `JamV1` opcode for the GP 0.7.2 opcode `opcode`, or
/// `None` where it has none: `sbrk`, and an invalid opcode. The GP runs
/// an invalid opcode as `trap`, in the middle of its basic block; polkavm
/// 0.37 refuses to load code with one, and a `trap` in its place would end
/// the block (another block structure: other jump targets, other gas).
fn opcode_037(opcode: u8) -> Option<u8> {
    use polkavm::program::InstructionSet;
    polkavm::program::InstructionSetKind::JamV1.opcode_from_u8(opcode)?;
    match opcode {
        101 => None,
        102..=111 => Some(opcode - 1),
        other => Some(other),
    }
}

/// How many octets after the opcode the instruction at `i` of `code`
/// reads, whatever its length (GP §A.5): its register octets, and the
/// immediates whose lengths do not depend on `skip(ı)`: `load_imm_64`'s
/// eight octets (§A.5.3) and the first immediate `ν_X` of §A.5.5, §A.5.6,
/// §A.5.8 and §A.5.12, whose length `l_X` an octet gives. `None` if the
/// octets that give those lengths are not the instruction's own (more
/// than `skip` after the opcode). Other immediates end within `skip`.
fn octets_read(opcode: u8, code: &[u8], i: usize, skip: usize) -> Option<usize> {
    let own = |k: usize| (k <= skip).then(|| code.get(i + k).copied().unwrap_or(0));
    let length = |octet: u8| usize::from(octet & 7).min(4);
    Some(match opcode {
        20 => 9,
        30..=33 => 1 + length(own(1)?),
        70..=73 | 80..=90 => 1 + length(own(1)? >> 4),
        180 => 2 + length(own(2)?),
        190..=230 => 2,
        50..=62 | 100..=111 | 120..=161 | 170..=175 => 1,
        _ => 0,
    })
}

/// Whether the GP 0.7.2 opcode `opcode` never goes on to the next
/// instruction: `trap`, `jump`, `jump_ind`, `load_imm_jump`,
/// `load_imm_jump_ind` (GP §A.5). Code whose last instruction goes on runs
/// into the GP's implicit `trap` past the code, which polkavm 0.37 does
/// not load.
fn never_goes_on(opcode: u8) -> bool {
    matches!(opcode, 0 | 40 | 50 | 80 | 180)
}

/// The GP code blob `raw` (GP eq. A.2; `blob` is its parse) with its code
/// rewritten for polkavm 0.37 (see the module docs), or `None` where no
/// exact rewrite exists.
pub(crate) fn translate_code_blob(
    flavor: PvmFlavor,
    blob: &ProgramBlob,
    raw: &[u8],
) -> Option<Vec<u8>> {
    let PvmFlavor::Gp072 = flavor;
    let (code, bitmask) = (blob.code(), blob.bitmask());
    // `raw` ends with `c ⌢ k`.
    let code_start = raw.len().checked_sub(code.len() + bitmask.len())?;
    if raw.get(code_start..code_start + code.len())? != code {
        return None;
    }
    let is_start = |i: usize| {
        bitmask
            .get(i / 8)
            .is_some_and(|&bits| bits & (1 << (i % 8)) != 0)
    };
    let mut out = raw.to_vec();
    let new_code = &mut out[code_start..code_start + code.len()];
    let mut i = 0;
    while i < code.len() {
        if !is_start(i) {
            i += 1;
            continue;
        }
        // `skip(ı)` (GP eq. A.3): octets up to the next start (the bitmask
        // continued by ones past the code), at most 24.
        let skip = (1..=24)
            .find(|&j| i + j >= code.len() || is_start(i + j))
            .map_or(24, |j| j - 1);
        let opcode = code[i];
        new_code[i] = opcode_037(opcode)?;
        if i + 1 + skip >= code.len() && !never_goes_on(opcode) {
            return None;
        }
        // Every octet an instruction reads is its own, so no rewrite of
        // one instruction changes what another reads.
        if octets_read(opcode, code, i, skip)? > skip {
            return None;
        }
        let (low, high, destination) = flavor.register_operands(opcode);
        let mut clamp = |k: usize, rewrite: &dyn Fn(u8) -> u8| {
            new_code[i + k] = rewrite(code[i + k]);
        };
        if low || high {
            clamp(1, &|octet| {
                let (mut lo, mut hi) = (octet & 0xf, octet >> 4);
                if low {
                    lo = lo.min(12);
                }
                if high {
                    hi = hi.min(12);
                }
                hi << 4 | lo
            });
        }
        if destination {
            clamp(2, &|octet| octet.min(12));
        }
        i += 1 + skip;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(code: &[u8], starts: &[usize]) -> (ProgramBlob, Vec<u8>) {
        let mut bitmask = vec![0u8; code.len().div_ceil(8)];
        for &s in starts {
            bitmask[s / 8] |= 1 << (s % 8);
        }
        // No jump table: `E(0) ⌢ E_1(0) ⌢ E(|c|) ⌢ c ⌢ k`.
        let mut raw = vec![0, 0, u8::try_from(code.len()).expect("short code")];
        raw.extend_from_slice(code);
        raw.extend_from_slice(&bitmask);
        let mut parts = polkavm::ProgramParts::empty(PvmFlavor::Gp072.instruction_set());
        parts.code_and_jump_table = raw.clone().into();
        (ProgramBlob::from_parts(parts).expect("parses"), raw)
    }

    fn translated_code(code: &[u8], starts: &[usize]) -> Option<Vec<u8>> {
        let (blob, raw) = blob(code, starts);
        translate_code_blob(PvmFlavor::Gp072, &blob, &raw).map(|t| t[3..3 + code.len()].to_vec())
    }

    #[test]
    fn opcodes_are_renumbered_and_operands_kept() {
        // count_set_bits_64 ω1 ← ω2 (102), reverse_bytes (111), fallthrough,
        // add_64 (200) ω3 ← ω4 + ω5, trap.
        let code = [102, 0x21, 111, 0x43, 1, 200, 0x54, 3, 0];
        let t = translated_code(&code, &[0, 2, 4, 5, 8]).expect("translates");
        assert_eq!(t, [101, 0x21, 110, 0x43, 1, 200, 0x54, 3, 0]);
    }

    #[test]
    fn register_fields_above_12_become_12_within_the_instruction() {
        // add_64 with r_A = 13, r_B = 15, destination octet 0x25 (GP: ω12).
        let code = [200, 0xfd, 0x25, 0];
        let t = translated_code(&code, &[0, 3]).expect("translates");
        assert_eq!(t, [200, 0xcc, 12, 0]);
        // A destination octet of 12 or less is left alone.
        let t = translated_code(&[200, 0x21, 7, 0], &[0, 3]).expect("translates");
        assert_eq!(t, [200, 0x21, 7, 0]);
    }

    #[test]
    fn no_rewrite_for_sbrk_an_invalid_opcode_a_fall_off_the_end_or_a_field_in_the_next_instruction()
    {
        assert_eq!(translated_code(&[101, 0x21, 0], &[0, 2]), None);
        assert_eq!(translated_code(&[2, 0], &[0, 1]), None);
        // move_reg, then the end of the code.
        assert_eq!(translated_code(&[100, 0x21], &[0]), None);
        assert_eq!(
            translated_code(&[100, 0x21, 40, 0], &[0, 2]),
            Some(vec![100, 0x21, 40, 0])
        );
        // A two-octet add_64 whose destination octet is the next
        // instruction's opcode.
        assert_eq!(translated_code(&[200, 0x21, 0, 0], &[0, 2]), None);
        // A load_imm_64 whose immediate runs into the next instruction.
        assert_eq!(translated_code(&[20, 0, 0, 0], &[0, 3]), None);
        // store_imm_ind_u8 with `l_X = 3` in three octets, and in four.
        assert_eq!(translated_code(&[70, 0x30, 0, 0, 0], &[0, 3, 4]), None);
        assert_eq!(
            translated_code(&[70, 0x30, 1, 2, 3, 0], &[0, 5]),
            Some(vec![70, 0x30, 1, 2, 3, 0])
        );
    }
}
