//! A PVF for testing the CoreChains service's PVF executor: what it does is
//! chosen by the first octet of its block data, and most of the choices
//! are ways a PVF can fail. It imports Substrate host functions by name,
//! as a runtime does.
//!
//! | block data\[0\] | behaviour | refine's verdict |
//! |---|---|---|
//! | 0 | loops forever | out of gas |
//! | 1 | returns 8 octets that are no `ValidationResult` | bad result |
//! | 2 | returns a valid result with a 64 KiB head | output too large |
//! | 3 | calls `ext_storage_get_version_1` | unsupported host function |
//! | 4 | hashes its block data with `ext_hashing_blake2_256_version_1` into memory from `ext_allocator_malloc_version_1`, logs, and returns that hash as its head | valid |
//! | 5 | frees an address it never allocated | host function failed |
//! | 6 | reads an unmapped address | page fault |
//! | other | traps | trapped |

#![no_std]
#![no_main]

use parajam_adder::Params;

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    trap()
}

fn trap() -> ! {
    // SAFETY: `unimp` traps.
    unsafe { core::arch::asm!("unimp", options(noreturn)) }
}

#[polkavm_derive::polkavm_import]
extern "C" {
    fn ext_allocator_malloc_version_1(size: u32) -> u32;
    fn ext_allocator_free_version_1(ptr: u32);
    fn ext_hashing_blake2_256_version_1(data: u64) -> u32;
    fn ext_logging_log_version_1(level: u32, target: u64, message: u64);
    fn ext_storage_get_version_1(key: u64) -> u64;
}

/// A slice as a Substrate pointer-size: `ptr | len << 32`.
fn pointer_size(data: &[u8]) -> u64 {
    (data.as_ptr() as usize as u64) | ((data.len() as u64) << 32)
}

const BIG_HEAD: usize = 64 * 1024;
/// A result with a `BIG_HEAD`-octet head: 4-octet compact length, the head,
/// then `None, [], [], 0u32, 0u32`.
const BIG_RESULT: usize = 4 + BIG_HEAD + 3 + 8;
static mut BIG: [u8; BIG_RESULT] = [0; BIG_RESULT];

const GARBAGE: [u8; 8] = [0xff; 8];

#[polkavm_derive::polkavm_export]
extern "C" fn validate_block(params: usize, len: usize) -> u64 {
    // SAFETY: the arguments are the `len` readable octets at `params`.
    let input = unsafe { core::slice::from_raw_parts(params as *const u8, len) };
    let Ok(params) = Params::decode(input) else {
        trap()
    };
    match params.block_data.first() {
        Some(0) => loop {
            core::hint::black_box(());
        },
        Some(1) => pointer_size(&GARBAGE),
        Some(2) => {
            // SAFETY: single-threaded; the only reference to the buffer.
            let out = unsafe { &mut *core::ptr::addr_of_mut!(BIG) };
            out[..4].copy_from_slice(&(((BIG_HEAD as u32) << 2) | 2).to_le_bytes());
            pointer_size(out)
        }
        Some(3) => {
            // SAFETY: a host call with a pointer-size of a readable slice.
            unsafe { ext_storage_get_version_1(pointer_size(b":code")) }
        }
        Some(4) => {
            // The result: compact length 32, the hash, `None, [], []`,
            // `processed_downward_messages = 0`, `hrmp_watermark`.
            // SAFETY: host calls with pointer-sizes of readable slices; the
            // hash is 32 octets at the returned address, the result buffer
            // is 44 writable octets from the allocator.
            unsafe {
                let hash = ext_hashing_blake2_256_version_1(pointer_size(params.block_data));
                ext_logging_log_version_1(3, pointer_size(b"misbehaving"), pointer_size(b"hashed"));
                let out = ext_allocator_malloc_version_1(44) as usize as *mut u8;
                let out = core::slice::from_raw_parts_mut(out, 44);
                out[0] = 32 << 2;
                out[1..33]
                    .copy_from_slice(core::slice::from_raw_parts(hash as usize as *const u8, 32));
                ext_allocator_free_version_1(hash);
                out[33..40].fill(0);
                out[40..44].copy_from_slice(&params.relay_parent_number.to_le_bytes());
                pointer_size(out)
            }
        }
        Some(5) => {
            // SAFETY: a host call with an integer argument.
            unsafe { ext_allocator_free_version_1(0x1234_5678) };
            pointer_size(&GARBAGE)
        }
        Some(6) => {
            // SAFETY: deliberately not: the address is unmapped, and the
            // read faults.
            let value = unsafe { core::ptr::read_volatile(0xF000_0000_usize as *const u8) };
            pointer_size(core::slice::from_ref(&GARBAGE[usize::from(value) % 8]))
        }
        _ => trap(),
    }
}
