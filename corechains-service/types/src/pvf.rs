//! The PVF artifact: a parachain validation function recompiled for the PVM,
//! as the CoreChains service stores it (a preimage of the service, named by
//! its [`ValidationCodeHash`](crate::ValidationCodeHash)).
//!
//! A GP standard program (GP 0.7.2 §A.7, `Y(p, a)`) has no names: its
//! `ecalli` instructions carry numbers, and it is entered at an offset. A
//! Substrate PVF imports its host functions by name
//! (`ext_allocator_malloc_version_1`, ...) and exports `validate_block`.
//! The artifact keeps what the program lost, so the service can serve the
//! PVF's host calls and call its entry point:
//!
//! ```text
//! artifact = "PJVF" ‖ version (1 octet, = 1) ‖ SCALE(PvfArtifact)
//! PvfArtifact = { abi: PvfAbi, entry_pc: u32, imports: Vec<Vec<u8>>, program: Vec<u8> }
//! ```
//!
//! - `abi`: how the PVF is called and which host-function table serves it
//!   ([`PvfAbi`]);
//! - `entry_pc`: the program counter of `validate_block`;
//! - `imports`: the import symbol of each `ecalli` index (`imports[i]` is
//!   what `ecalli i` calls);
//! - `program`: the GP standard program `E3(|o|) ⌢ E3(|w|) ⌢ E2(z) ⌢ E3(s)
//!   ⌢ o ⌢ w ⌢ E4(|c|) ⌢ c` ([`StandardProgram`]).
//!
//! Decoding checks everything a service must not trust: the magic, the
//! version, that the whole input is consumed, and the program's own
//! framing. [`StandardProgram::parse`] borrows its sections.

use alloc::vec::Vec;

use parity_scale_codec::{Decode, Encode};

/// The artifact's first four octets.
pub const MAGIC: [u8; 4] = *b"PJVF";

/// The artifact format version this crate reads and writes.
pub const VERSION: u8 = 1;

/// How a PVF is entered and which host functions it may import.
// The SCALE derive casts variant indices to `u8`.
#[allow(clippy::cast_possible_truncation)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
pub enum PvfAbi {
    /// The relay chain's PVF ABI, what released polkadot-sdk runtimes
    /// have: `validate_block(params_ptr, params_len) -> u64` (the packed
    /// address and length of the encoded `ValidationResult`), host functions
    /// of Substrate's classic set imported by name (`ext_*_version_*`),
    /// served by the service's host-function table (version 1 or any
    /// later one: each keeps the functions of the one before).
    #[codec(index = 0)]
    SubstrateV1,
}

/// A PVF recompiled for the PVM, with its entry point and import names.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct PvfArtifact {
    /// How it is called.
    pub abi: PvfAbi,
    /// The program counter of `validate_block`.
    pub entry_pc: u32,
    /// `imports[i]`: the symbol `ecalli i` calls.
    pub imports: Vec<Vec<u8>>,
    /// The GP standard program.
    pub program: Vec<u8>,
}

/// Why an artifact or program does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PvfError {
    /// Not `PJVF`.
    BadMagic,
    /// A version this crate does not know.
    UnknownVersion(u8),
    /// The SCALE body is malformed or has trailing octets.
    BadEncoding,
    /// The standard program's framing is inconsistent.
    BadProgram,
}

impl core::fmt::Display for PvfError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BadMagic => f.write_str("not a PVF artifact (no PJVF magic)"),
            Self::UnknownVersion(v) => write!(f, "unknown PVF artifact version {v}"),
            Self::BadEncoding => f.write_str("malformed PVF artifact"),
            Self::BadProgram => f.write_str("malformed GP standard program in the PVF artifact"),
        }
    }
}

impl PvfArtifact {
    /// The artifact's octets: magic, version, SCALE body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.program.len() + 64);
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        self.encode_to(&mut out);
        out
    }

    /// Reads an artifact, all of `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PvfError> {
        let rest = bytes.strip_prefix(&MAGIC).ok_or(PvfError::BadMagic)?;
        let (&version, mut body) = rest.split_first().ok_or(PvfError::BadEncoding)?;
        if version != VERSION {
            return Err(PvfError::UnknownVersion(version));
        }
        let artifact = Self::decode(&mut body).map_err(|_| PvfError::BadEncoding)?;
        if !body.is_empty() {
            return Err(PvfError::BadEncoding);
        }
        Ok(artifact)
    }

    /// The import symbol `ecalli index` calls.
    pub fn import(&self, index: u64) -> Option<&[u8]> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.imports.get(i))
            .map(Vec::as_slice)
    }
}

/// A GP standard program's parts (GP 0.7.2 eq. A.32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StandardProgram<'a> {
    /// `o`: read-only data.
    pub ro_data: &'a [u8],
    /// `w`: read-write data.
    pub rw_data: &'a [u8],
    /// `z`: heap pages after the read-write data.
    pub heap_pages: u16,
    /// `s`: stack size in octets.
    pub stack_size: u32,
    /// `c`: the code blob (`deblob` format).
    pub code: &'a [u8],
}

impl<'a> StandardProgram<'a> {
    /// Splits `E3(|o|) ⌢ E3(|w|) ⌢ E2(z) ⌢ E3(s) ⌢ o ⌢ w ⌢ E4(|c|) ⌢ c`;
    /// the code must end the input.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, PvfError> {
        let mut at = 0usize;
        let mut int = |n: usize| -> Result<u32, PvfError> {
            let field = bytes.get(at..at + n).ok_or(PvfError::BadProgram)?;
            at += n;
            let mut le = [0u8; 4];
            le[..n].copy_from_slice(field);
            Ok(u32::from_le_bytes(le))
        };
        let ro_len = int(3)? as usize;
        let rw_len = int(3)? as usize;
        let heap_pages = u16::try_from(int(2)?).map_err(|_| PvfError::BadProgram)?;
        let stack_size = int(3)?;
        let mut take = |n: usize| -> Result<&'a [u8], PvfError> {
            let part = bytes
                .get(at..at.checked_add(n).ok_or(PvfError::BadProgram)?)
                .ok_or(PvfError::BadProgram)?;
            at += n;
            Ok(part)
        };
        let ro_data = take(ro_len)?;
        let rw_data = take(rw_len)?;
        let code_len =
            u32::from_le_bytes(take(4)?.try_into().map_err(|_| PvfError::BadProgram)?) as usize;
        let code = take(code_len)?;
        if at != bytes.len() {
            return Err(PvfError::BadProgram);
        }
        Ok(Self {
            ro_data,
            rw_data,
            heap_pages,
            stack_size,
            code,
        })
    }
}
