//! The GP standard program format and its memory layout: `Y(p, a)` of GP
//! §A.7 "Standard Program Initialization" (`sec:standardprograminit`).

use std::fmt;

use polkavm::{ArcBytes, ProgramBlob, ProgramParts};

use crate::{
    PvmError, PvmFlavor, HALT_ADDRESS, LOWEST_ACCESSIBLE_ADDRESS, PAGE_SIZE, REGISTER_COUNT,
};

/// `Z_Z = 2^16`, the size of a major zone of the standard layout (GP
/// eq. `eq:conditions`).
pub const ZONE_SIZE: u32 = 1 << 16;

/// `Z_I = 2^24`, the largest argument data of a standard program (GP
/// eq. `eq:conditions`).
pub const MAX_INPUT_SIZE: u32 = 1 << 24;

/// `2^32 − Z_Z − Z_I`: where the arguments start, and `ω7` at the start (GP
/// eq. `eq:memlayout` and eq. `eq:registers`).
pub const ARGS_ADDRESS: u32 = 0u32.wrapping_sub(ZONE_SIZE + MAX_INPUT_SIZE);

/// `2^32 − 2 Z_Z − Z_I`: the top of the stack (exclusive), and `ω1` at the
/// start (GP eq. `eq:memlayout` and eq. `eq:registers`).
pub const STACK_TOP: u32 = 0u32.wrapping_sub(2 * ZONE_SIZE + MAX_INPUT_SIZE);

/// `⟦x⟧_P = Z_P ⌈x / Z_P⌉` (GP eq. `eq:conditions`).
pub(crate) fn page_align(x: u64) -> u64 {
    x.div_ceil(u64::from(PAGE_SIZE)) * u64::from(PAGE_SIZE)
}

/// `⟦x⟧_Z = Z_Z ⌈x / Z_Z⌉` (GP eq. `eq:conditions`).
pub(crate) fn zone_align(x: u64) -> u64 {
    x.div_ceil(u64::from(ZONE_SIZE)) * u64::from(ZONE_SIZE)
}

/// Why a standard program blob is malformed: `Y(p, a) = ∅` (GP §A.7).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StandardProgramError {
    /// The blob ends inside a field of `E3(|o|) ⌢ E3(|w|) ⌢ E2(z) ⌢ E3(s) ⌢
    /// o ⌢ w ⌢ E4(|c|) ⌢ c`.
    #[error("truncated standard program: {field} needs {needed} octets, {available} left")]
    Truncated {
        /// The field being read (`|o|`, `o`, `c`, ...).
        field: &'static str,
        /// The octets it needs.
        needed: u64,
        /// The octets left in the blob.
        available: u64,
    },
    /// Octets follow the code `c`, so `p` is not exactly the concatenation.
    #[error("{count} octets after the code of the standard program")]
    TrailingOctets {
        /// How many.
        count: usize,
    },
    /// `5 Z_Z + ⟦|o|⟧_Z + ⟦|w| + z Z_P⟧_Z + ⟦s⟧_Z + Z_I > 2^32`: the layout
    /// does not fit the 32-bit address space (GP eq. `eq:conditions`).
    #[error("the standard layout needs {required:#x} octets of address space, more than 2^32")]
    AddressSpaceOverflow {
        /// The left-hand side of the condition.
        required: u64,
    },
}

/// A standard program `p` (GP §A.7), decoded and its code blob parsed: the
/// `c`, `o`, `w`, `z` and `s` of GP eq. `eq:conditions`, with the
/// Blake2b-256 hash of the whole blob that keys the module cache.
#[derive(Clone)]
pub struct Program {
    flavor: PvmFlavor,
    code_hash: [u8; 32],
    blob: ProgramBlob,
    ro_data_len: u32,
    rw_data_len: u32,
    heap_pages: u16,
    stack_size: u32,
    code_len: usize,
    /// See `quirks::wide_destinations`.
    pub(crate) wide:
        std::sync::Arc<std::collections::BTreeMap<u32, crate::quirks::WideDestination>>,
}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Program")
            .field("flavor", &self.flavor)
            .field("code_hash", &Hex(&self.code_hash))
            .field("ro_data_len", &self.ro_data_len)
            .field("rw_data_len", &self.rw_data_len)
            .field("heap_pages", &self.heap_pages)
            .field("stack_size", &self.stack_size)
            .field("code_len", &self.code_len)
            .finish_non_exhaustive()
    }
}

struct Hex<'a>(&'a [u8]);

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("0x")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// A cursor over the blob; every read is checked.
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, field: &'static str, n: u64) -> Result<&'a [u8], StandardProgramError> {
        let truncated = StandardProgramError::Truncated {
            field,
            needed: n,
            available: self.data.len() as u64,
        };
        let n = usize::try_from(n).map_err(|_| truncated.clone())?;
        let (head, tail) = self.data.split_at_checked(n).ok_or(truncated)?;
        self.data = tail;
        Ok(head)
    }

    /// `E_n` (GP eq. C.5): `n` little-endian octets.
    fn fixed(&mut self, field: &'static str, n: u64) -> Result<u32, StandardProgramError> {
        let mut value = [0u8; 4];
        let bytes = self.bytes(field, n)?;
        value[..bytes.len()].copy_from_slice(bytes);
        Ok(u32::from_le_bytes(value))
    }
}

impl Program {
    /// Decodes a standard program blob for the default [`PvmFlavor`]; see
    /// [`Program::from_standard_blob_for`].
    pub fn from_standard_blob(bytes: &[u8]) -> Result<Self, PvmError> {
        Self::from_standard_blob_for(PvmFlavor::default(), bytes)
    }

    /// Decodes `p = E3(|o|) ⌢ E3(|w|) ⌢ E2(z) ⌢ E3(s) ⌢ o ⌢ w ⌢ E4(|c|) ⌢ c`
    /// (GP eq. `eq:conditions`), checks that the layout fits the address
    /// space and parses the code blob `c` (`deblob`, GP eq. A.2) for
    /// `flavor`. Every way this fails is the `Y(p, a) = ∅` case, in which
    /// `Ψ_M` panics without spending gas (GP §A.8).
    pub fn from_standard_blob_for(flavor: PvmFlavor, bytes: &[u8]) -> Result<Self, PvmError> {
        let mut r = Reader { data: bytes };
        let ro_len = r.fixed("|o|", 3)?;
        let rw_len = r.fixed("|w|", 3)?;
        let heap_pages = r.fixed("z", 2)?;
        let stack_size = r.fixed("s", 3)?;
        let ro_data = r.bytes("o", u64::from(ro_len))?;
        let rw_data = r.bytes("w", u64::from(rw_len))?;
        let code_len = r.fixed("|c|", 4)?;
        let code = r.bytes("c", u64::from(code_len))?;
        if !r.data.is_empty() {
            return Err(StandardProgramError::TrailingOctets {
                count: r.data.len(),
            }
            .into());
        }
        let heap_len = u64::from(rw_len) + u64::from(heap_pages) * u64::from(PAGE_SIZE);
        let required = 5 * u64::from(ZONE_SIZE)
            + zone_align(u64::from(ro_len))
            + zone_align(heap_len)
            + zone_align(u64::from(stack_size))
            + u64::from(MAX_INPUT_SIZE);
        if required > 1 << 32 {
            return Err(StandardProgramError::AddressSpaceOverflow { required }.into());
        }
        // Below 2^32 by the condition just checked.
        let rw_size = u32::try_from(page_align(heap_len))
            .map_err(|_| StandardProgramError::AddressSpaceOverflow { required })?;

        let mut parts = ProgramParts::empty(flavor.instruction_set());
        parts.ro_data_size = ro_len;
        parts.ro_data = ArcBytes::from(ro_data);
        parts.rw_data_size = rw_size;
        parts.rw_data = ArcBytes::from(rw_data);
        parts.stack_size = stack_size;
        parts.code_and_jump_table = ArcBytes::from(code);
        let blob = ProgramBlob::from_parts(parts)?;
        let wide = std::sync::Arc::new(crate::quirks::wide_destinations(flavor, &blob));
        Ok(Self {
            flavor,
            code_hash: parajam_crypto::blake2b_256(bytes),
            blob,
            ro_data_len: ro_len,
            rw_data_len: rw_len,
            heap_pages: u16::try_from(heap_pages).unwrap_or(u16::MAX),
            stack_size,
            code_len: code.len(),
            wide,
        })
    }

    /// The flavor the code was parsed for.
    pub fn flavor(&self) -> PvmFlavor {
        self.flavor
    }

    /// Blake2b-256 of the whole standard program blob: the module cache key.
    pub fn code_hash(&self) -> [u8; 32] {
        self.code_hash
    }

    /// `|o|`, the read-only data's length.
    pub fn ro_data_len(&self) -> u32 {
        self.ro_data_len
    }

    /// `|w|`, the read-write data's length.
    pub fn rw_data_len(&self) -> u32 {
        self.rw_data_len
    }

    /// `z`, the zero pages after the read-write data.
    pub fn heap_pages(&self) -> u16 {
        self.heap_pages
    }

    /// `s`, the stack size in octets.
    pub fn stack_size(&self) -> u32 {
        self.stack_size
    }

    /// `|c|`, the code blob's length.
    pub fn code_len(&self) -> usize {
        self.code_len
    }

    /// The accessible memory at the start, per GP eq. `eq:memlayout`, for
    /// `args_len` octets of arguments.
    pub fn layout(&self, args_len: u32) -> StandardLayout {
        let ro_start = u64::from(ZONE_SIZE);
        let rw_start = 2 * u64::from(ZONE_SIZE) + zone_align(u64::from(self.ro_data_len));
        let rw_len = page_align(u64::from(self.rw_data_len))
            + u64::from(self.heap_pages) * u64::from(PAGE_SIZE);
        let stack_len = page_align(u64::from(self.stack_size));
        let range = |start: u64, len: u64| {
            // All within 2^32 by the condition checked at decoding.
            (
                u32::try_from(start).unwrap_or(u32::MAX),
                u32::try_from(len).unwrap_or(u32::MAX),
            )
        };
        StandardLayout {
            ro_data: range(ro_start, page_align(u64::from(self.ro_data_len))),
            rw_data: range(rw_start, rw_len),
            stack: range(u64::from(STACK_TOP) - stack_len, stack_len),
            args: range(u64::from(ARGS_ADDRESS), page_align(u64::from(args_len))),
        }
    }

    pub(crate) fn blob(&self) -> &ProgramBlob {
        &self.blob
    }
}

/// The accessible ranges `(address, length)` of the standard layout at the
/// start of a run (GP eq. `eq:memlayout`); `sbrk` may later extend the
/// read-write range upwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StandardLayout {
    /// `R`: `o` and zeroes from `Z_Z` up to `Z_Z + ⟦|o|⟧_P`.
    pub ro_data: (u32, u32),
    /// `W`: `w`, zeroes, and `z` pages from `h = 2 Z_Z + ⟦|o|⟧_Z` (the
    /// heap's start for `sbrk`).
    pub rw_data: (u32, u32),
    /// `W`: zeroes, `⟦s⟧_P` octets below [`STACK_TOP`].
    pub stack: (u32, u32),
    /// `R`: the arguments and zeroes, `⟦|a|⟧_P` octets from [`ARGS_ADDRESS`].
    pub args: (u32, u32),
}

/// `ω` at the start of a standard program with `args_len` octets of
/// arguments (GP eq. `eq:registers`): `ω0` the halt address, `ω1` the
/// stack top, `ω7` the arguments' address, `ω8 = |a|`, all others zero.
pub fn standard_registers(args_len: u64) -> [u64; REGISTER_COUNT] {
    let mut regs = [0; REGISTER_COUNT];
    regs[0] = u64::from(HALT_ADDRESS);
    regs[1] = u64::from(STACK_TOP);
    regs[7] = u64::from(ARGS_ADDRESS);
    regs[8] = args_len;
    regs
}

// Compile-time checks of the constants against GP eq. `eq:registers`.
const _: () = assert!(ARGS_ADDRESS as u64 == (1 << 32) - (1 << 16) - (1 << 24));
const _: () = assert!(STACK_TOP as u64 == (1 << 32) - 2 * (1 << 16) - (1 << 24));
const _: () = assert!(ZONE_SIZE == LOWEST_ACCESSIBLE_ADDRESS);
