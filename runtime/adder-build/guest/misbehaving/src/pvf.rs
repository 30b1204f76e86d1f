//! The misbehaving PVF's logic, for both targets (`main.rs`: PVM,
//! `wasm.rs`: wasm32): what it does is chosen by the first octet of its
//! block data, and most of the choices are ways a PVF can fail. It imports
//! Substrate host functions by name, as a runtime does.
//!
//! | block data\[0\] | behaviour | refine's verdict |
//! |---|---|---|
//! | 0 | loops forever | out of gas |
//! | 1 | returns 8 octets that are no `ValidationResult` | bad result |
//! | 2 | returns a valid result with a 64 KiB head | output too large |
//! | 3 | calls `ext_storage_get_version_1` | unavailable host function |
//! | 4 | hashes its block data with `ext_hashing_blake2_256_version_1` into memory from `ext_allocator_malloc_version_1`, logs, and returns that hash as its head | valid |
//! | 5 | frees an address it never allocated | host function failed |
//! | 6 | reads an unmapped address | page fault |
//! | 8 | upgrades: the rest of its block data is a head (a `u32`-LE-length-prefixed slice) then new validation code (all that follows); returns that head with `new_validation_code` the code | valid |
//! | 16 | runs the host-function script in the rest of its block data ([`script`]) and returns what the calls gave as its head | valid, unless a call fails |
//! | other (7, 9 to 15 included) | traps | trapped |

use parajam_adder::Params;

#[cfg(target_arch = "riscv64")]
pub fn trap() -> ! {
    // SAFETY: `unimp` traps.
    unsafe { core::arch::asm!("unimp", options(noreturn)) }
}

#[cfg(target_arch = "wasm32")]
pub fn trap() -> ! {
    core::arch::wasm32::unreachable()
}

#[cfg_attr(target_arch = "riscv64", polkavm_derive::polkavm_import)]
#[cfg_attr(target_arch = "wasm32", link(wasm_import_module = "env"))]
extern "C" {
    fn ext_allocator_malloc_version_1(size: u32) -> u32;
    fn ext_allocator_free_version_1(ptr: u32);
    fn ext_hashing_blake2_256_version_1(data: u64) -> u32;
    fn ext_hashing_blake2_256_version_2(data: u64, out: u32);
    fn ext_logging_log_version_1(level: u32, target: u64, message: u64);
    fn ext_storage_get_version_1(key: u64) -> u64;
    fn ext_storage_proof_size_storage_proof_size_version_1() -> u64;
    fn ext_panic_handler_abort_on_panic_version_1(message: u64);
    fn ext_crypto_ed25519_verify_version_1(sig: u32, msg: u64, public: u32) -> u32;
    fn ext_crypto_ed25519_batch_verify_version_1(sig: u32, msg: u64, public: u32) -> u32;
    fn ext_crypto_sr25519_verify_version_1(sig: u32, msg: u64, public: u32) -> u32;
    fn ext_crypto_sr25519_verify_version_2(sig: u32, msg: u64, public: u32) -> u32;
    fn ext_crypto_sr25519_batch_verify_version_1(sig: u32, msg: u64, public: u32) -> u32;
    fn ext_crypto_ecdsa_verify_version_1(sig: u32, msg: u64, public: u32) -> u32;
    fn ext_crypto_ecdsa_verify_version_2(sig: u32, msg: u64, public: u32) -> u32;
    fn ext_crypto_ecdsa_batch_verify_version_1(sig: u32, msg: u64, public: u32) -> u32;
    fn ext_crypto_ecdsa_verify_prehashed_version_1(sig: u32, hash: u32, public: u32) -> u32;
    fn ext_crypto_start_batch_verify_version_1();
    fn ext_crypto_finish_batch_verify_version_1() -> u32;
    fn ext_crypto_secp256k1_ecdsa_recover_version_1(sig: u32, hash: u32) -> u64;
    fn ext_crypto_secp256k1_ecdsa_recover_version_2(sig: u32, hash: u32) -> u64;
    fn ext_crypto_secp256k1_ecdsa_recover_version_3(sig: u32, hash: u32, out: u32) -> i32;
    fn ext_crypto_secp256k1_ecdsa_recover_compressed_version_1(sig: u32, hash: u32) -> u64;
    fn ext_crypto_secp256k1_ecdsa_recover_compressed_version_2(sig: u32, hash: u32) -> u64;
    fn ext_crypto_secp256k1_ecdsa_recover_compressed_version_3(
        sig: u32,
        hash: u32,
        out: u32,
    ) -> i32;
    fn ext_trie_blake2_256_ordered_root_version_1(input: u64) -> u32;
    fn ext_trie_blake2_256_ordered_root_version_2(input: u64, version: u32) -> u32;
    fn ext_trie_blake2_256_ordered_root_version_3(input: u64, version: u32, out: u32);
    fn ext_trie_keccak_256_ordered_root_version_2(input: u64, version: u32) -> u32;
    fn ext_trie_blake2_256_root_version_2(input: u64, version: u32) -> u32;
    fn ext_trie_keccak_256_root_version_1(input: u64) -> u32;
    fn ext_misc_runtime_version_version_1(code: u64) -> u64;
    fn ext_misc_runtime_version_version_2(code: u64, out: u64) -> i64;
}

/// A slice as a Substrate pointer-size: `ptr | len << 32`.
pub fn pointer_size(data: &[u8]) -> u64 {
    (data.as_ptr() as usize as u64) | ((data.len() as u64) << 32)
}

fn pointer(data: &[u8]) -> u32 {
    data.as_ptr() as usize as u32
}

/// A buffer the host writes to (its address escapes, so reads after the
/// call see what the host wrote).
fn pointer_mut(data: &mut [u8]) -> u32 {
    data.as_mut_ptr() as usize as u32
}

const BIG_HEAD: usize = 64 * 1024;
/// A result with a `BIG_HEAD`-octet head: 4-octet compact length, the head,
/// then `None, [], [], 0u32, 0u32`.
const BIG_RESULT: usize = 4 + BIG_HEAD + 3 + 8;
static mut BIG: [u8; BIG_RESULT] = [0; BIG_RESULT];

const GARBAGE: [u8; 8] = [0xff; 8];

/// The largest head a script returns.
const SCRIPT_HEAD: usize = 8192;
/// A script's result: compact length (at most 4 octets), head, the rest.
static mut SCRIPT_RESULT: [u8; 4 + SCRIPT_HEAD + 3 + 8] = [0; 4 + SCRIPT_HEAD + 3 + 8];

/// `validate_block` on the encoded `ValidationParams` in `input`.
pub fn validate_block(input: &[u8]) -> u64 {
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
        Some(8) => upgrade(&params.block_data[1..], params.relay_parent_number, true),
        Some(9) => upgrade(&params.block_data[1..], params.relay_parent_number, false),
        Some(16) => {
            // SAFETY: single-threaded; the only reference to the buffer.
            let result = unsafe { &mut *core::ptr::addr_of_mut!(SCRIPT_RESULT) };
            // SAFETY: single-threaded; the only reference to the buffer
            // (a static: the PVF's stack is small).
            let head = unsafe { &mut *core::ptr::addr_of_mut!(SCRIPT_HEAD_BUFFER) };
            head.len = 0;
            script(&params.block_data[1..], head);
            let head = &head.data[..head.len];
            let prefix = compact(head.len(), &mut result[..4]);
            let mut at = prefix;
            result[at..at + head.len()].copy_from_slice(head);
            at += head.len();
            result[at..at + 7].fill(0);
            at += 7;
            result[at..at + 4].copy_from_slice(&params.relay_parent_number.to_le_bytes());
            pointer_size(&result[..at + 4])
        }
        _ => trap(),
    }
}

/// Mode 8: the `ValidationResult` `{ head_data: head, new_validation_code:
/// Some(code), upward_messages: [], horizontal_messages: [],
/// processed_downward_messages: 0, hrmp_watermark }` for `rest` = head (a
/// `u32`-LE-length-prefixed slice) then code, in memory from the host's
/// allocator (a code is too large for a static buffer). Mode 9: the same
/// without code (`new_validation_code: None`, whatever follows the head).
fn upgrade(rest: &[u8], hrmp_watermark: u32, with_code: bool) -> u64 {
    let mut s = Script(rest);
    let head = s.slice();
    let code = if with_code { s.0 } else { &[] };
    let len = 4 + head.len() + 1 + 4 + code.len() + 2 + 4 + 4;
    // SAFETY: a host call with an integer argument; the allocation is
    // `len` writable octets, or null.
    let out = unsafe { ext_allocator_malloc_version_1(len as u32) } as usize as *mut u8;
    if out.is_null() {
        trap()
    }
    // SAFETY: `len` octets from the allocator, ours alone.
    let out = unsafe { core::slice::from_raw_parts_mut(out, len) };
    let mut at = compact(head.len(), out);
    out[at..at + head.len()].copy_from_slice(head);
    at += head.len();
    out[at] = u8::from(with_code);
    at += 1;
    if with_code {
        at += compact(code.len(), &mut out[at..]);
        out[at..at + code.len()].copy_from_slice(code);
        at += code.len();
    }
    out[at..at + 2].fill(0);
    at += 2;
    out[at..at + 4].fill(0);
    at += 4;
    out[at..at + 4].copy_from_slice(&hrmp_watermark.to_le_bytes());
    at += 4;
    pointer_size(&out[..at])
}

/// The SCALE compact encoding of `n` (below 2^30) into `out`; its length.
fn compact(n: usize, out: &mut [u8]) -> usize {
    let n = n as u32;
    if n < 1 << 6 {
        out[0] = (n << 2) as u8;
        1
    } else if n < 1 << 14 {
        out[..2].copy_from_slice(&((n << 2) as u16 | 1).to_le_bytes());
        2
    } else {
        out[..4].copy_from_slice(&((n << 2) | 2).to_le_bytes());
        4
    }
}

static mut SCRIPT_HEAD_BUFFER: Head = Head {
    data: [0; SCRIPT_HEAD],
    len: 0,
};

/// What the script's calls gave.
struct Head {
    data: [u8; SCRIPT_HEAD],
    len: usize,
}

impl Head {
    fn push(&mut self, bytes: &[u8]) {
        let Some(end) = self
            .len
            .checked_add(bytes.len())
            .filter(|&e| e <= SCRIPT_HEAD)
        else {
            trap()
        };
        self.data[self.len..end].copy_from_slice(bytes);
        self.len = end;
    }
}

/// A cursor over the script; running out traps.
struct Script<'a>(&'a [u8]);

impl<'a> Script<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        if self.0.len() < n {
            trap()
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }

    fn byte(&mut self) -> u8 {
        self.take(1)[0]
    }

    /// A `u32`-LE-length-prefixed slice.
    fn slice(&mut self) -> &'a [u8] {
        let len = self.take(4);
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        self.take(len)
    }
}

/// Copies `len` octets from `ptr` (host memory returned by a host function)
/// into the head and frees them.
///
/// # Safety
///
/// `ptr..ptr + len` is an allocation the host function returned.
unsafe fn take_allocated(head: &mut Head, ptr: u32, len: usize) {
    // SAFETY: the caller's promise.
    head.push(unsafe { core::slice::from_raw_parts(ptr as usize as *const u8, len) });
    // SAFETY: a host call with an address the allocator gave.
    unsafe { ext_allocator_free_version_1(ptr) };
}

/// # Safety
///
/// `packed` is a pointer-size a host function returned.
unsafe fn take_packed(head: &mut Head, packed: u64) {
    // SAFETY: the caller's promise.
    unsafe { take_allocated(head, packed as u32, (packed >> 32) as usize) }
}

/// Runs the script `ops`, each an op code and its arguments (`sig`,
/// `pub`, `hash` fixed-size; `msg`, `input`, `code` as `u32`-LE-length
/// prefixed octets), pushing what each call gives onto `head`:
///
/// | op | call | arguments | pushes |
/// |---|---|---|---|
/// | 0x01 | `ed25519_verify` v1 | sig\[64\], pub\[32\], msg | the `bool` octet |
/// | 0x02, 0x03 | `sr25519_verify` v1, v2 | sig\[64\], pub\[32\], msg | the `bool` octet |
/// | 0x04, 0x05 | `ecdsa_verify` v1, v2 | sig\[65\], pub\[33\], msg | the `bool` octet |
/// | 0x06 | `ecdsa_verify_prehashed` v1 | sig\[65\], hash\[32\], pub\[33\] | the `bool` octet |
/// | 0x07, 0x08 | `secp256k1_ecdsa_recover` v1, v2 | sig\[65\], hash\[32\] | the SCALE result |
/// | 0x09 | `secp256k1_ecdsa_recover` v3 | sig\[65\], hash\[32\] | the result's low octet, the 64-octet output |
/// | 0x0a, 0x0b | `secp256k1_ecdsa_recover_compressed` v1, v2 | sig\[65\], hash\[32\] | the SCALE result |
/// | 0x0c | `secp256k1_ecdsa_recover_compressed` v3 | sig\[65\], hash\[32\] | the result's low octet, the 33-octet output |
/// | 0x10 | `trie_blake2_256_ordered_root` v1 | input | the root |
/// | 0x11, 0x12 | `trie_blake2_256_ordered_root` v2, v3 | version octet, input | the root |
/// | 0x13 | `trie_keccak_256_ordered_root` v2 | version octet, input | the root |
/// | 0x14 | `trie_blake2_256_root` v2 | version octet, input | the root |
/// | 0x15 | `trie_keccak_256_root` v1 | input | the root |
/// | 0x18 | `start_batch_verify` | | nothing |
/// | 0x19 | `finish_batch_verify` | | the `bool` octet |
/// | 0x1a, 0x1b, 0x1c | `{ed25519,sr25519,ecdsa}_batch_verify` | as 0x01, 0x03, 0x05 | the `bool` octet |
/// | 0x20 | `hashing_blake2_256` v2 | input | the hash |
/// | 0x21 | `misc_runtime_version` v1 | code | the SCALE `Option<Vec<u8>>` |
/// | 0x22 | `misc_runtime_version` v2 | `u32` LE output length, code | the `i64` LE result, the output |
/// | 0x30 | `storage_get` v1 | | (fails: unavailable) |
/// | 0x31 | `storage_proof_size` v1 | | (fails: unavailable) |
/// | 0x32 | `panic_handler_abort_on_panic` v1 | msg | (the PVF trapped) |
///
/// Another op code traps.
fn script(ops: &[u8], head: &mut Head) {
    let mut s = Script(ops);
    while !s.0.is_empty() {
        let op = s.byte();
        // SAFETY (every call below): host calls with pointers to fixed-size
        // arrays of the sizes the functions read, pointer-sizes of readable
        // slices, writable output buffers of the sizes written, and the
        // results handed back as the functions return them.
        unsafe {
            match op {
                0x01..=0x05 | 0x1a..=0x1c => {
                    let sig_len = if matches!(op, 0x04 | 0x05 | 0x1c) {
                        65
                    } else {
                        64
                    };
                    let sig = s.take(sig_len);
                    let public = s.take(if sig_len == 65 { 33 } else { 32 });
                    let msg = pointer_size(s.slice());
                    let (sig, public) = (pointer(sig), pointer(public));
                    let ok = match op {
                        0x01 => ext_crypto_ed25519_verify_version_1(sig, msg, public),
                        0x02 => ext_crypto_sr25519_verify_version_1(sig, msg, public),
                        0x03 => ext_crypto_sr25519_verify_version_2(sig, msg, public),
                        0x04 => ext_crypto_ecdsa_verify_version_1(sig, msg, public),
                        0x05 => ext_crypto_ecdsa_verify_version_2(sig, msg, public),
                        0x1a => ext_crypto_ed25519_batch_verify_version_1(sig, msg, public),
                        0x1b => ext_crypto_sr25519_batch_verify_version_1(sig, msg, public),
                        _ => ext_crypto_ecdsa_batch_verify_version_1(sig, msg, public),
                    };
                    head.push(&[ok as u8]);
                }
                0x06 => {
                    let (sig, hash, public) = (s.take(65), s.take(32), s.take(33));
                    let ok = ext_crypto_ecdsa_verify_prehashed_version_1(
                        pointer(sig),
                        pointer(hash),
                        pointer(public),
                    );
                    head.push(&[ok as u8]);
                }
                0x07 | 0x08 | 0x0a | 0x0b => {
                    let (sig, hash) = (pointer(s.take(65)), pointer(s.take(32)));
                    let packed = match op {
                        0x07 => ext_crypto_secp256k1_ecdsa_recover_version_1(sig, hash),
                        0x08 => ext_crypto_secp256k1_ecdsa_recover_version_2(sig, hash),
                        0x0a => ext_crypto_secp256k1_ecdsa_recover_compressed_version_1(sig, hash),
                        _ => ext_crypto_secp256k1_ecdsa_recover_compressed_version_2(sig, hash),
                    };
                    take_packed(head, packed);
                }
                0x09 | 0x0c => {
                    let (sig, hash) = (pointer(s.take(65)), pointer(s.take(32)));
                    let mut out = [0xaa_u8; 64];
                    let code = if op == 0x09 {
                        ext_crypto_secp256k1_ecdsa_recover_version_3(
                            sig,
                            hash,
                            pointer_mut(&mut out),
                        )
                    } else {
                        ext_crypto_secp256k1_ecdsa_recover_compressed_version_3(
                            sig,
                            hash,
                            pointer_mut(&mut out),
                        )
                    };
                    let out = &mut out[..if op == 0x09 { 64 } else { 33 }];
                    head.push(&[code as u8]);
                    head.push(out);
                }
                0x10 | 0x15 => {
                    let input = pointer_size(s.slice());
                    let root = if op == 0x10 {
                        ext_trie_blake2_256_ordered_root_version_1(input)
                    } else {
                        ext_trie_keccak_256_root_version_1(input)
                    };
                    take_allocated(head, root, 32);
                }
                0x11 | 0x13 | 0x14 => {
                    let version = u32::from(s.byte());
                    let input = pointer_size(s.slice());
                    let root = match op {
                        0x11 => ext_trie_blake2_256_ordered_root_version_2(input, version),
                        0x13 => ext_trie_keccak_256_ordered_root_version_2(input, version),
                        _ => ext_trie_blake2_256_root_version_2(input, version),
                    };
                    take_allocated(head, root, 32);
                }
                0x12 => {
                    let version = u32::from(s.byte());
                    let input = pointer_size(s.slice());
                    let mut out = [0u8; 32];
                    ext_trie_blake2_256_ordered_root_version_3(
                        input,
                        version,
                        pointer_mut(&mut out),
                    );
                    head.push(&out);
                }
                0x18 => ext_crypto_start_batch_verify_version_1(),
                0x19 => head.push(&[ext_crypto_finish_batch_verify_version_1() as u8]),
                0x20 => {
                    let input = pointer_size(s.slice());
                    let mut out = [0u8; 32];
                    ext_hashing_blake2_256_version_2(input, pointer_mut(&mut out));
                    head.push(&out);
                }
                0x21 => {
                    let code = pointer_size(s.slice());
                    take_packed(head, ext_misc_runtime_version_version_1(code));
                }
                0x22 => {
                    let len = s.take(4);
                    let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
                    let code = pointer_size(s.slice());
                    let out = ext_allocator_malloc_version_1(len as u32) as usize as *mut u8;
                    let out = core::slice::from_raw_parts_mut(out, len);
                    out.fill(0xaa);
                    let result = ext_misc_runtime_version_version_2(code, pointer_size(out));
                    head.push(&result.to_le_bytes());
                    head.push(out);
                    ext_allocator_free_version_1(pointer_mut(out));
                }
                0x30 => {
                    take_packed(head, ext_storage_get_version_1(pointer_size(b":code")));
                }
                0x31 => {
                    head.push(&ext_storage_proof_size_storage_proof_size_version_1().to_le_bytes())
                }
                0x32 => ext_panic_handler_abort_on_panic_version_1(pointer_size(s.slice())),
                _ => trap(),
            }
        }
    }
}
