//! `main()`: calls host function 0 (the GP `gas` host call, which returns
//! the remaining gas in `ω7`) and returns its result plus one.

#![no_std]
#![no_main]

#[polkavm_derive::polkavm_import]
extern "C" {
    /// Host call 0 (`ecalli 0`): in GP 0.7.x, `gas`.
    #[polkavm_import(index = 0)]
    fn gas() -> u64;
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // SAFETY: `unimp` traps, which is what a guest panic should do.
    unsafe { core::arch::asm!("unimp", options(noreturn)) }
}

#[polkavm_derive::polkavm_export]
extern "C" fn main() -> u64 {
    // SAFETY: a host call has no memory effects the guest relies on.
    unsafe { gas() }.wrapping_add(1)
}
