//! sp-io's `hashing` group: the eight hashes, allocated (version 1) or
//! written in place (version 2).

use alloc::vec::Vec;

use blake2::digest::consts::{U16, U32};
use blake2::{Blake2b, Digest};

use super::call::{Call, Failed};
use super::table::Out;
use crate::host::RefineHost;

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

impl<H: RefineHost> Call<'_, H> {
    /// `ext_hashing_*`: the hash of the slice `data`, allocated or written
    /// to `out_ptr`.
    pub(crate) fn hash(
        &mut self,
        hasher: Hasher,
        out: Out,
        data: u64,
        out_ptr: u64,
    ) -> Result<u64, Failed> {
        let data = self.read(data)?;
        let digest = hasher.hash(&data);
        self.fixed(&digest, out, out_ptr)
    }
}
