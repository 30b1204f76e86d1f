//! A minimal service program for dev chains, assembled by hand for the GP
//! 0.7.2 instruction set (GP appendix A).
//!
//! Accumulation enters a service's code at instruction 5 (GP B.5,
//! `Ψ_M(c, 5, …)`); the guests of `parajam-guests` have one entry, `main`
//! at 0, so none of them accumulates. [`echo_program`] does: it is a GP
//! standard program (GP eq. A.7) whose code is
//!
//! | pc | octets | instruction |
//! |---|---|---|
//! | 0 – 4 | `01` ×5 | `fallthrough` ×5 (so that 5 starts a basic block) |
//! | 5 | `0a` | `ecalli 0`: the `gas` host call (`ω7` ← gas left) |
//! | 6 | `14 07` + `E8(2^32 − Z_Z − Z_I)` | `load_imm_64 ω7, 0xFEFF0000`: back to the argument address |
//! | 16 | `33 08 20` | `load_imm ω8, 32` |
//! | 19 | `32 00` | `jump_ind ω0, 0`: to `ω0 = 2^32 − 2^16`, a halt |
//!
//! so it halts with the output `μ[ω7 … ω7 + 32]`: the accumulate
//! arguments `E(t, s, |i|)` (GP B.5) zero-padded to 32 octets, which as a
//! hash becomes the service's accumulation output (the yield, GP B.5 `C`).
//! It uses 4 instructions and one host call of gas, and changes nothing
//! else.

/// The argument address `2^32 − Z_Z − Z_I` of a standard program (GP eq. A.7).
const ARGUMENT_ADDRESS: u64 = (1 << 32) - (1 << 16) - (1 << 24);

/// The code blob of [`echo_program`] in `deblob` form (GP eq. A.2): no jump
/// table, the code of the module docs and its opcode bitmask.
pub fn echo_code() -> Vec<u8> {
    let mut code = vec![0x01; 5];
    code.push(0x0a);
    code.extend([0x14, 0x07]);
    code.extend(ARGUMENT_ADDRESS.to_le_bytes());
    code.extend([0x33, 0x08, 0x20]);
    code.extend([0x32, 0x00]);
    // Instruction starts at 0 – 6, 16 and 19.
    let starts = [0usize, 1, 2, 3, 4, 5, 6, 16, 19];
    let mut mask = vec![0u8; code.len().div_ceil(8)];
    for s in starts {
        mask[s / 8] |= 1 << (s % 8);
    }
    // `E(|j|) ⌢ E1(z) ⌢ E(|c|) ⌢ c ⌢ k`, every length below 128.
    let length = u8::try_from(code.len()).unwrap_or(u8::MAX);
    let mut blob = vec![0, 0, length];
    blob.extend(code);
    blob.extend(mask);
    blob
}

/// The standard program `E3(|o|) ⌢ E3(|w|) ⌢ E2(z) ⌢ E3(s) ⌢ o ⌢ w ⌢
/// E4(|c|) ⌢ c` (GP eq. A.7) of [`echo_code`], with no data and no stack:
/// service code for [`service_account`](crate::service_account).
pub fn echo_program() -> Vec<u8> {
    let code = echo_code();
    let mut program = vec![0u8; 3 + 3 + 2 + 3];
    program.extend(u32::try_from(code.len()).unwrap_or(u32::MAX).to_le_bytes());
    program.extend(code);
    program
}
