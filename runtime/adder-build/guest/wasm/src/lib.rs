//! The adder's PVF for wasm32: the legacy relay-chain PVF ABI.
//!
//! `validate_block(params: *const u8, len: usize) -> u64`: the executor has
//! written the encoded `ValidationParams` at `params`; the function returns
//! the encoded `ValidationResult`'s address and length packed as
//! `ptr | len << 32` (sp-core `to_substrate_wasm_fn_return_value`). An
//! invalid block traps (`unreachable`), as the upstream adder's panic does.
//! The result lives in a static buffer: no allocator, no host function.

#![no_std]

use parajam_adder::RESULT_LEN;

static mut OUTPUT: [u8; RESULT_LEN] = [0; RESULT_LEN];

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// # Safety
///
/// `params..params + len` must be readable memory of this instance.
#[no_mangle]
pub unsafe extern "C" fn validate_block(params: *const u8, len: usize) -> u64 {
    // SAFETY: the executor wrote `len` octets at `params`.
    let params = unsafe { core::slice::from_raw_parts(params, len) };
    let Ok(result) = parajam_adder::validate_block(params) else {
        core::arch::wasm32::unreachable()
    };
    // SAFETY: single-threaded; the only reference to the buffer.
    let output = unsafe { &mut *core::ptr::addr_of_mut!(OUTPUT) };
    *output = result;
    (output.as_ptr() as usize as u64) | ((RESULT_LEN as u64) << 32)
}
