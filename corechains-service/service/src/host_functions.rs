//! The host functions a Substrate PVF imports, served in refine: the
//! service's table, **version 1**.
//!
//! A PVF built from a polkadot-sdk runtime imports Substrate's classic
//! host functions by name (`ext_<module>_<function>_version_<n>`, the
//! names `sp-runtime-interface` gives them, the same for wasm and for
//! RISC-V builds) with the wasm FFI conventions: a pointer is a `u32`; a
//! byte slice is a "pointer-size" `u64`, `ptr | len << 32`; a returned
//! array (a hash) is written into memory the host allocates with the
//! runtime's own allocator, and its address returned.
//!
//! The relay chain's PVF executor serves the same set, and so does this
//! table, using only what a JAM service has: the allocator manages the
//! inner machine's memory ([`crate::allocator`]), hashing runs in the
//! service's own code, logging goes to JIP-1 `log`. Storage functions
//! are not served: `validate_block` replaces them inside the runtime with
//! its own proof-backed implementations, and the relay chain's executor
//! refuses them too. A PVF may *import* anything; calling a function this
//! table does not have makes the block invalid with
//! [`InvalidReason::UnsupportedHostFunction`] naming it.
//!
//! Arguments come in `ω7 ..` (`a0 ..`), a result goes in `ω7`, as
//! polkavm's calling convention has them.
//!
//! | function | signature |
//! |---|---|
//! | `ext_allocator_malloc_version_1` | `(size: u32) -> u32` |
//! | `ext_allocator_free_version_1` | `(ptr: u32)` |
//! | `ext_hashing_{blake2_128,blake2_256,keccak_256,keccak_512,sha2_256,twox_64,twox_128,twox_256}_version_1` | `(data: u64) -> u32` |
//! | `ext_logging_log_version_1` | `(level: u32, target: u64, message: u64)` |
//! | `ext_logging_max_level_version_1` | `() -> u32` (2, `Warn`) |
//! | `ext_misc_print_{utf8,hex}_version_1` | `(data: u64)` |
//! | `ext_misc_print_num_version_1` | `(value: u64)` |

use alloc::vec;
use alloc::vec::Vec;

use blake2::digest::consts::{U16, U32};
use blake2::{Blake2b, Digest};
use parajam_corechains_types::InvalidReason;

use crate::allocator::Allocator;
use crate::host::{LogLevel, RefineHost};

/// This table's version.
pub const TABLE_VERSION: u32 = 1;

/// The largest slice a host function reads from the PVF.
pub const MAX_INPUT: u32 = 16 << 20;

/// The largest log target or message forwarded to `log`.
const MAX_LOG: u32 = 4096;

/// The `max_level` the PVF is told: `Warn`.
const MAX_LEVEL: u64 = 2;

/// A hash function of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hasher {
    /// Blake2b, 128-bit output.
    Blake2_128,
    /// Blake2b-256.
    Blake2_256,
    /// Keccak-256.
    Keccak256,
    /// Keccak-512.
    Keccak512,
    /// SHA2-256.
    Sha2_256,
    /// xxHash64, seed 0.
    Twox64,
    /// xxHash64 with seeds 0, 1, concatenated.
    Twox128,
    /// xxHash64 with seeds 0 to 3, concatenated.
    Twox256,
}

impl Hasher {
    /// The hash of `data`.
    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Blake2_128 => Blake2b::<U16>::digest(data).to_vec(),
            Self::Blake2_256 => Blake2b::<U32>::digest(data).to_vec(),
            Self::Keccak256 => sha3::Keccak256::digest(data).to_vec(),
            Self::Keccak512 => sha3::Keccak512::digest(data).to_vec(),
            Self::Sha2_256 => sha2::Sha256::digest(data).to_vec(),
            Self::Twox64 => twox(data, 1),
            Self::Twox128 => twox(data, 2),
            Self::Twox256 => twox(data, 4),
        }
    }
}

fn twox(data: &[u8], words: u64) -> Vec<u8> {
    (0..words)
        .flat_map(|seed| twox_hash::XxHash64::oneshot(seed, data).to_le_bytes())
        .collect()
}

/// A function of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostFunction {
    /// `ext_allocator_malloc_version_1`.
    Malloc,
    /// `ext_allocator_free_version_1`.
    Free,
    /// `ext_hashing_*_version_1`.
    Hash(Hasher),
    /// `ext_logging_log_version_1`.
    Log,
    /// `ext_logging_max_level_version_1`.
    MaxLevel,
    /// `ext_misc_print_utf8_version_1`.
    PrintUtf8,
    /// `ext_misc_print_hex_version_1`.
    PrintHex,
    /// `ext_misc_print_num_version_1`.
    PrintNum,
}

impl HostFunction {
    /// The function an import symbol names, if the table has it.
    pub fn from_symbol(symbol: &[u8]) -> Option<Self> {
        Some(match symbol {
            b"ext_allocator_malloc_version_1" => Self::Malloc,
            b"ext_allocator_free_version_1" => Self::Free,
            b"ext_hashing_blake2_128_version_1" => Self::Hash(Hasher::Blake2_128),
            b"ext_hashing_blake2_256_version_1" => Self::Hash(Hasher::Blake2_256),
            b"ext_hashing_keccak_256_version_1" => Self::Hash(Hasher::Keccak256),
            b"ext_hashing_keccak_512_version_1" => Self::Hash(Hasher::Keccak512),
            b"ext_hashing_sha2_256_version_1" => Self::Hash(Hasher::Sha2_256),
            b"ext_hashing_twox_64_version_1" => Self::Hash(Hasher::Twox64),
            b"ext_hashing_twox_128_version_1" => Self::Hash(Hasher::Twox128),
            b"ext_hashing_twox_256_version_1" => Self::Hash(Hasher::Twox256),
            b"ext_logging_log_version_1" => Self::Log,
            b"ext_logging_max_level_version_1" => Self::MaxLevel,
            b"ext_misc_print_utf8_version_1" => Self::PrintUtf8,
            b"ext_misc_print_hex_version_1" => Self::PrintHex,
            b"ext_misc_print_num_version_1" => Self::PrintNum,
            _ => return None,
        })
    }
}

/// One PVF run's view for serving a host call: the host, the inner
/// machine and its heap.
#[derive(Debug)]
pub struct Call<'a, H> {
    /// The service's host.
    pub host: &'a mut H,
    /// The inner machine.
    pub vm: u64,
    /// Its heap.
    pub heap: &'a mut Allocator,
}

impl<H: RefineHost> Call<'_, H> {
    /// Serves `function` named `symbol` with the inner machine's registers.
    pub fn serve(
        &mut self,
        function: HostFunction,
        symbol: &[u8],
        regs: &mut [u64; 13],
    ) -> Result<(), InvalidReason> {
        let failed = || InvalidReason::HostFunctionFailed(symbol.to_vec());
        let (a0, a1, a2) = (regs[7], regs[8], regs[9]);
        match function {
            HostFunction::Malloc => {
                // `u32` arguments arrive zero- or sign-extended; the low half counts.
                let ptr = self.heap.malloc(self.host, low(a0)).map_err(|_| failed())?;
                regs[7] = u64::from(ptr);
            }
            HostFunction::Free => {
                self.heap.free(low(a0)).map_err(|_| failed())?;
            }
            HostFunction::Hash(hasher) => {
                let data = self.read(a0, MAX_INPUT).ok_or_else(failed)?;
                let digest = hasher.hash(&data);
                let len = u32::try_from(digest.len()).map_err(|_| failed())?;
                let ptr = self.heap.malloc(self.host, len).map_err(|_| failed())?;
                if !self.host.poke(self.vm, &digest, u64::from(ptr)) {
                    return Err(failed());
                }
                regs[7] = u64::from(ptr);
            }
            HostFunction::Log => {
                let target = self.read(a1, MAX_LOG).ok_or_else(failed)?;
                let message = self.read(a2, MAX_LOG).ok_or_else(failed)?;
                self.host.log(level(a0), &target, &message);
            }
            HostFunction::MaxLevel => regs[7] = MAX_LEVEL,
            HostFunction::PrintUtf8 => {
                let data = self.read(a0, MAX_LOG).ok_or_else(failed)?;
                self.host.log(LogLevel::Debug, b"runtime", &data);
            }
            HostFunction::PrintHex => {
                let data = self.read(a0, MAX_LOG / 2).ok_or_else(failed)?;
                self.host.log(LogLevel::Debug, b"runtime", &hex(&data));
            }
            HostFunction::PrintNum => {
                let mut text = Vec::new();
                write_decimal(&mut text, a0);
                self.host.log(LogLevel::Debug, b"runtime", &text);
            }
        }
        Ok(())
    }

    /// The slice a pointer-size `ptr | len << 32` names, at most `max` octets.
    fn read(&mut self, pointer_size: u64, max: u32) -> Option<Vec<u8>> {
        let (ptr, len) = parajam_corechains_types::unpack_ptr_and_len(pointer_size);
        if len > max {
            return None;
        }
        let mut data = vec![0; len as usize];
        self.host
            .peek(self.vm, &mut data, u64::from(ptr))
            .then_some(data)
    }
}

/// The low 32 bits of a register holding a `u32`.
#[allow(clippy::cast_possible_truncation)]
fn low(reg: u64) -> u32 {
    reg as u32
}

/// Substrate's log level (1 = error .. 5 = trace) as a JIP-1 level.
fn level(reg: u64) -> LogLevel {
    match reg {
        0 | 1 => LogLevel::Error,
        2 => LogLevel::Warn,
        3 => LogLevel::Info,
        4 => LogLevel::Debug,
        _ => LogLevel::Trace,
    }
}

fn hex(data: &[u8]) -> Vec<u8> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    data.iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]])
        .collect()
}

fn write_decimal(out: &mut Vec<u8>, mut value: u64) {
    let start = out.len();
    loop {
        #[allow(clippy::cast_possible_truncation)] // a digit
        out.push(b'0' + (value % 10) as u8);
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out[start..].reverse();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_symbol_resolves() {
        for name in [
            "allocator_malloc",
            "allocator_free",
            "hashing_blake2_128",
            "hashing_blake2_256",
            "hashing_keccak_256",
            "hashing_keccak_512",
            "hashing_sha2_256",
            "hashing_twox_64",
            "hashing_twox_128",
            "hashing_twox_256",
            "logging_log",
            "logging_max_level",
            "misc_print_utf8",
            "misc_print_hex",
            "misc_print_num",
        ] {
            let symbol = alloc::format!("ext_{name}_version_1");
            assert!(
                HostFunction::from_symbol(symbol.as_bytes()).is_some(),
                "{symbol}"
            );
        }
        assert_eq!(
            HostFunction::from_symbol(b"ext_storage_get_version_1"),
            None
        );
        assert_eq!(
            HostFunction::from_symbol(b"ext_allocator_malloc_version_2"),
            None
        );
    }

    #[test]
    fn hashes_match_known_answers() {
        let hex = |v: Vec<u8>| alloc::string::String::from_utf8(hex(&v)).expect("test value");
        // Known answers for the empty input, as Substrate's own tests have them.
        assert_eq!(
            hex(Hasher::Blake2_256.hash(b"")),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"
        );
        assert_eq!(hex(Hasher::Twox64.hash(b"")), "99e9d85137db46ef");
        assert_eq!(
            hex(Hasher::Twox128.hash(b"")),
            "99e9d85137db46ef4bbea33613baafd5"
        );
        assert_eq!(
            hex(Hasher::Keccak256.hash(b"")),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
        assert_eq!(
            hex(Hasher::Sha2_256.hash(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(Hasher::Blake2_128.hash(b"abc").len(), 16);
        assert_eq!(Hasher::Keccak512.hash(b"abc").len(), 64);
        assert_eq!(Hasher::Twox256.hash(b"abc").len(), 32);
    }

    #[test]
    fn decimals() {
        let mut out = Vec::new();
        write_decimal(&mut out, 0);
        out.push(b' ');
        write_decimal(&mut out, 18_446_744_073_709_551_615);
        assert_eq!(out, b"0 18446744073709551615");
    }
}
