//! Null-pointer accesses in the RISC-V code made into the PVM's trap.
//!
//! Where LLVM knows a pointer is null (a path that dereferences `None`'s
//! payload, say, which the code never takes), it may emit the access as a
//! load or store at an absolute address: base register `zero`, the field's
//! offset as the immediate, and no relocation. polkavm-linker 0.30 refuses
//! such an instruction ("found an unrelocated absolute load/store") unless
//! it is its canonical trap, `ld zero, 0(zero)`; penpal-runtime 0.48 has
//! some (in pallet-revive's tracing API). polkavm-linker has no option for
//! them, so the build rewrites them before linking.
//!
//! The rewrite changes no execution that could succeed: such an access is
//! at an address within 2 KiB of zero (or, with a negative offset, within
//! 2 KiB of the top of the address space), where a PVM program never has
//! memory (GP 0.7.2 A.37 leaves the first `Z_Z` = 64 KiB and the top
//! inaccessible), so it faults on the PVM; as the trap it panics. Either
//! way the PVF fails; nothing else changes, the instruction keeps its size.

use std::collections::HashSet;

use object::{Object, ObjectSection, SectionFlags};

/// `ld zero, 0(zero)`: polkavm-linker's trap.
const TRAP: u32 = 0x0000_3003;
/// The RISC-V `LOAD` and `STORE` major opcodes.
const LOAD: u32 = 0x03;
const STORE: u32 = 0x23;

/// Rewrites every unrelocated load and store with base register `zero` in
/// `elf`'s executable sections into the trap; how many there were.
pub fn trap_null_accesses(elf: &mut [u8]) -> Result<usize, String> {
    let mut at = Vec::new();
    {
        let file =
            object::File::parse(&*elf).map_err(|e| format!("the ELF does not parse: {e}"))?;
        for section in file.sections() {
            let SectionFlags::Elf { sh_flags } = section.flags() else {
                continue;
            };
            if sh_flags & u64::from(object::elf::SHF_EXECINSTR) == 0 {
                continue;
            }
            let Some((offset, size)) = section.file_range() else {
                continue;
            };
            // Relocated instructions are the linker's to resolve.
            let relocated: HashSet<u64> = section.relocations().map(|(at, _)| at).collect();
            let start = usize::try_from(offset).map_err(|_| "section offset")?;
            let size = usize::try_from(size).map_err(|_| "section size")?;
            let code = elf
                .get(start..start.saturating_add(size))
                .ok_or("a section past the end of the ELF")?;
            let mut i = 0;
            while i + 2 <= code.len() {
                // A compressed instruction's low two bits are not `11`.
                if code[i] & 3 != 3 {
                    i += 2;
                    continue;
                }
                let Some(word) = code.get(i..i + 4) else {
                    break;
                };
                let instruction = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
                let opcode = instruction & 0x7f;
                let base = (instruction >> 15) & 0x1f;
                let address = section.address() + i as u64;
                if (opcode == LOAD || opcode == STORE)
                    && base == 0
                    && instruction != TRAP
                    && !relocated.contains(&address)
                {
                    at.push(start + i);
                }
                i += 4;
            }
        }
    }
    for &i in &at {
        elf[i..i + 4].copy_from_slice(&TRAP.to_le_bytes());
    }
    Ok(at.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 64-bit little-endian RISC-V ELF with one executable section of
    /// `code` (no relocations).
    fn elf(code: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; 64];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = 2; // 64-bit
        out[5] = 1; // little-endian
        out[6] = 1;
        out[16..18].copy_from_slice(&3u16.to_le_bytes()); // ET_DYN
        out[18..20].copy_from_slice(&243u16.to_le_bytes()); // RISC-V
        out[20..24].copy_from_slice(&1u32.to_le_bytes());
        out[52..54].copy_from_slice(&64u16.to_le_bytes()); // ehsize
        out[58..60].copy_from_slice(&64u16.to_le_bytes()); // shentsize
        let code_at = out.len();
        out.extend_from_slice(code);
        let names = b"\0.text\0.shstrtab\0";
        let names_at = out.len();
        out.extend_from_slice(names);
        while !out.len().is_multiple_of(8) {
            out.push(0);
        }
        let sections_at = out.len();
        let header = |name: u32, kind: u32, flags: u64, offset: usize, size: usize| {
            let mut h = vec![0u8; 64];
            h[..4].copy_from_slice(&name.to_le_bytes());
            h[4..8].copy_from_slice(&kind.to_le_bytes());
            h[8..16].copy_from_slice(&flags.to_le_bytes());
            h[16..24].copy_from_slice(&0x1000u64.to_le_bytes());
            h[24..32].copy_from_slice(&(offset as u64).to_le_bytes());
            h[32..40].copy_from_slice(&(size as u64).to_le_bytes());
            h[48..56].copy_from_slice(&4u64.to_le_bytes());
            h
        };
        out.extend_from_slice(&[0u8; 64]);
        out.extend(header(1, 1, 6, code_at, code.len())); // .text: alloc + exec
        out.extend(header(7, 3, 0, names_at, names.len())); // .shstrtab
        out[40..48].copy_from_slice(&(sections_at as u64).to_le_bytes());
        out[60..62].copy_from_slice(&3u16.to_le_bytes()); // shnum
        out[62..64].copy_from_slice(&2u16.to_le_bytes()); // shstrndx
        out
    }

    #[test]
    fn null_loads_and_stores_become_the_trap_and_nothing_else_changes() {
        let ld_a0_8_zero: u32 = (8 << 20) | (3 << 12) | (10 << 7) | LOAD; // ld a0, 8(zero)
        let sd_a1_16_zero: u32 = (11 << 20) | (3 << 12) | (16 << 7) | STORE; // sd a1, 16(zero)
        let ld_a0_8_sp: u32 = (8 << 20) | (2 << 15) | (3 << 12) | (10 << 7) | LOAD; // ld a0, 8(sp)
        let c_nop: u16 = 0x0001;
        let mut code = Vec::new();
        code.extend_from_slice(&ld_a0_8_zero.to_le_bytes());
        code.extend_from_slice(&c_nop.to_le_bytes());
        code.extend_from_slice(&sd_a1_16_zero.to_le_bytes());
        code.extend_from_slice(&ld_a0_8_sp.to_le_bytes());
        code.extend_from_slice(&TRAP.to_le_bytes());
        code.extend_from_slice(&c_nop.to_le_bytes());
        let mut file = elf(&code);
        let before = file.clone();
        assert_eq!(trap_null_accesses(&mut file), Ok(2));
        let changed: Vec<usize> = (0..file.len()).filter(|&i| file[i] != before[i]).collect();
        let at = 64;
        assert!(changed
            .iter()
            .all(|&i| (at..at + 4).contains(&i) || (at + 6..at + 10).contains(&i)));
        assert_eq!(&file[at..at + 4], &TRAP.to_le_bytes());
        assert_eq!(&file[at + 6..at + 10], &TRAP.to_le_bytes());
        // Idempotent.
        assert_eq!(trap_null_accesses(&mut file), Ok(0));
        assert!(trap_null_accesses(&mut b"not an elf".to_vec()).is_err());
    }
}
