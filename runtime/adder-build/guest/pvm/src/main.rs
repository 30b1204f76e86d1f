//! The adder's PVF for the PVM: the same ABI as the wasm one, exported with
//! polkavm-derive.
//!
//! `validate_block(params: usize, len: usize) -> u64` (polkavm-derive
//! passes no pointer types; `params` is the address), entered at
//! program counter 0 through a one-entry dispatch table. Run as a GP standard
//! program the arguments are the encoded `ValidationParams` (`ω7` = their
//! address, `ω8` = their length, which are this function's `a0` and `a1`);
//! the return value in `ω7` is the encoded `ValidationResult`'s address and
//! length packed as `ptr | len << 32`. An invalid block traps (`unimp`).
//! The result lives in a static buffer: no allocator, no host call.

#![no_std]
#![no_main]

use parajam_adder::RESULT_LEN;

static mut OUTPUT: [u8; RESULT_LEN] = [0; RESULT_LEN];

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // SAFETY: `unimp` traps, which is what a guest panic should do.
    unsafe { core::arch::asm!("unimp", options(noreturn)) }
}

#[polkavm_derive::polkavm_export]
extern "C" fn validate_block(params: usize, len: usize) -> u64 {
    // SAFETY: the arguments are the `len` readable octets at `params`.
    let params = unsafe { core::slice::from_raw_parts(params as *const u8, len) };
    let Ok(result) = parajam_adder::validate_block(params) else {
        // SAFETY: as in `panic`.
        unsafe { core::arch::asm!("unimp", options(noreturn)) }
    };
    // SAFETY: single-threaded; the only reference to the buffer.
    let output = unsafe { &mut *core::ptr::addr_of_mut!(OUTPUT) };
    *output = result;
    (output.as_ptr() as usize as u64) | ((RESULT_LEN as u64) << 32)
}
