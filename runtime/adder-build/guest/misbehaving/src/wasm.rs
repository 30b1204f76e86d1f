//! The misbehaving test PVF for wasm32 (the relay chain's legacy path): the
//! same behaviours (`pvf.rs`) behind the wasm PVF ABI,
//! `validate_block(params: *const u8, len: usize) -> u64`.

#![no_std]

mod pvf;

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    pvf::trap()
}

/// # Safety
///
/// `params..params + len` must be readable memory of this instance.
#[no_mangle]
pub unsafe extern "C" fn validate_block(params: *const u8, len: usize) -> u64 {
    // SAFETY: the executor wrote `len` octets at `params`.
    let input = unsafe { core::slice::from_raw_parts(params, len) };
    pvf::validate_block(input)
}
