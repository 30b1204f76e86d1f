//! A PVF for testing the CoreChains service's PVF executor, for the PVM
//! (`pvf.rs` has the behaviours; `wasm.rs` is the same PVF for wasm32).

#![no_std]
#![no_main]

mod pvf;

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    pvf::trap()
}

#[polkavm_derive::polkavm_export]
extern "C" fn validate_block(params: usize, len: usize) -> u64 {
    // SAFETY: the arguments are the `len` readable octets at `params`.
    let input = unsafe { core::slice::from_raw_parts(params as *const u8, len) };
    pvf::validate_block(input)
}
