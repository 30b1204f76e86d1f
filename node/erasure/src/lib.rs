//! Reed–Solomon erasure coding of the Gray Paper (v0.7.2), appendix H
//! "Erasure Coding" (`sec:erasurecoding`).
//!
//! # What the GP asks for
//!
//! The base code `C` is a systematic Reed–Solomon code over GF(2^16) of rate
//! 342:1023 (full parameters): 342 message words, each a little-endian octet
//! pair, are extrapolated to 1023 code words, the first 342 of which are the
//! message itself. The field, its Cantor-basis representation and the
//! evaluation points `0̃ … 1022̃` are those of Lin–Chung–Han's additive-FFT
//! algorithm ("Novel polynomial basis and its application to Reed–Solomon
//! erasure codes", 2014).
//!
//! Blobs are coded with `C_k` (eq. `eq:erasurecoding`, H.4):
//!
//! ```text
//! C_k(d) = join^#( T[ C(p) | p <- T split_2^#( split_{2k}(d) ) ] )
//! ```
//!
//! The blob, zero-padded to `684k` octets, is cut by `split_{2k}` into 342
//! *contiguous* runs of `2k` octets (`k` words each). Transposing makes `k`
//! messages, message `p` being word `p` of every run; each is coded with `C`
//! and the transpose back gives 1023 chunks of `2k` octets, chunk `i` holding
//! code word `i` of every message. So data chunk `i < 342` is simply bytes
//! `2k·i .. 2k·(i+1)` of the padded blob, and `R_k` (eq. H.5,
//! `eq:erasurecodinginv`) with all data chunks present is their
//! concatenation. (The prose above the equation speaks of "k pieces of 684
//! octets"; the equation, and the JAM test vectors, use the layout just
//! described, which is what this crate implements.) The *tiny* parameter set
//! uses the same construction with 2 data shards of 6 (`k = ⌈len/4⌉`).
//!
//! # Why part of this is hand-written
//!
//! The field arithmetic — the additive FFT that extrapolates each message —
//! is delegated to [`reed_solomon_simd`], which implements the same transform
//! and codes many independent messages at once: its shard `i` holds symbol `i`
//! of every message, which is exactly the GP's chunk `i`, so all `k` messages
//! go through **one** encoder (or decoder) call with `2k`-byte shards. What
//! the library does not provide is the GP's blob layout (padding, splitting,
//! chunk indices, the all-data-chunks shortcut of `R_k`) and the GP's byte
//! order: GP chunks are sequences of little-endian words (`lo₀ hi₀ lo₁ hi₁ …`),
//! whereas reed-solomon-simd stores each 64-byte block of a shard as the 32
//! low bytes followed by the 32 high bytes of 32 words (a final partial block
//! of `m` words as `m` low bytes then `m` high bytes). A word's two bytes must
//! land in the low and high halves of the *same* library symbol, so no choice
//! of shard assignment avoids that shuffle; this crate does it per 64-byte
//! block on the way in and out (see `chunk_to_shard` / `shard_to_chunk_into`).
//! Data chunks need no shuffle on output: they are slices of the padded blob.

use reed_solomon_simd::{ReedSolomonDecoder, ReedSolomonEncoder};

/// A chunk with its index, as passed to [`ErasureCoder::reconstruct`].
type IndexedChunk<'a> = (usize, &'a [u8]);

/// Size of one reed-solomon-simd shard block: 32 low bytes then 32 high bytes.
const BLOCK_BYTES: usize = 64;

/// Errors from [`ErasureCoder`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErasureError {
    /// The (data, total) shard counts do not describe a supported code.
    #[error(
        "unsupported erasure-code parameters: {data_shards} data shards of {total_shards} total"
    )]
    BadParameters {
        /// Requested number of data shards.
        data_shards: usize,
        /// Requested total number of shards.
        total_shards: usize,
    },
    /// Fewer distinct chunks than data shards were supplied.
    #[error("too few chunks to reconstruct: got {got} distinct, need {need}")]
    TooFewChunks {
        /// Distinct chunks supplied.
        got: usize,
        /// Chunks needed (the number of data shards).
        need: usize,
    },
    /// A chunk index is not below the total number of shards.
    #[error("chunk index {index} out of range (total shards {total_shards})")]
    IndexOutOfRange {
        /// The offending index.
        index: usize,
        /// Total number of shards.
        total_shards: usize,
    },
    /// The same chunk index was supplied twice.
    #[error("duplicate chunk index {index}")]
    DuplicateIndex {
        /// The repeated index.
        index: usize,
    },
    /// A chunk's length differs from that of the first chunk supplied.
    #[error("chunk {index} has {got} bytes, expected {expected}")]
    InconsistentChunkLength {
        /// Index of the offending chunk.
        index: usize,
        /// Length of the first chunk.
        expected: usize,
        /// Length of this chunk.
        got: usize,
    },
    /// Chunks are sequences of 2-byte words, so their length must be even.
    #[error("chunk {index} has odd length {len}")]
    OddChunkLength {
        /// Index of the offending chunk.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// The requested data length exceeds what the chunks can hold.
    #[error("data length {data_len} exceeds the {max} bytes these chunks encode")]
    DataLenTooLarge {
        /// Requested data length.
        data_len: usize,
        /// Maximum data length for the given chunk size.
        max: usize,
    },
    /// The underlying Reed–Solomon library rejected the operation (not
    /// expected once inputs are validated; kept typed rather than panicking).
    #[error("reed-solomon backend: {0}")]
    Backend(#[from] reed_solomon_simd::Error),
}

/// The GP erasure code `C_k` / `R_k` for a given (data, total) shard count.
///
/// Full parameters are `ErasureCoder::new(342, 1023)` (= [`ErasureCoder::full`]);
/// tiny are `new(2, 6)` (= [`ErasureCoder::tiny`]).
/// Chunk `i < data_shards` is a data (systematic) chunk; chunk `i ≥ data_shards`
/// is reed-solomon-simd recovery shard `i - data_shards`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErasureCoder {
    data_shards: usize,
    total_shards: usize,
}

impl ErasureCoder {
    /// Full (production) parameters: 342 data shards of 1023 (GP rate
    /// 342:1023).
    pub const fn full() -> Self {
        Self {
            data_shards: 342,
            total_shards: 1023,
        }
    }

    /// Tiny (test-network, 6 validators) parameters: 2 data shards of 6.
    pub const fn tiny() -> Self {
        Self {
            data_shards: 2,
            total_shards: 6,
        }
    }

    /// Creates a coder producing `total_shards` chunks of which any
    /// `data_shards` suffice to reconstruct.
    ///
    /// Requires `0 < data_shards < total_shards` and a shard count supported by
    /// the GF(2^16) code (at most 65536 in total).
    pub fn new(data_shards: usize, total_shards: usize) -> Result<Self, ErasureError> {
        let bad = ErasureError::BadParameters {
            data_shards,
            total_shards,
        };
        if data_shards == 0 || total_shards <= data_shards {
            return Err(bad);
        }
        let recovery = total_shards - data_shards;
        if !ReedSolomonEncoder::supports(data_shards, recovery)
            || !ReedSolomonDecoder::supports(data_shards, recovery)
        {
            return Err(bad);
        }
        Ok(Self {
            data_shards,
            total_shards,
        })
    }

    /// Number of data shards (342 for full parameters).
    pub fn data_shards(&self) -> usize {
        self.data_shards
    }

    /// Total number of shards (1023 for full parameters).
    pub fn total_shards(&self) -> usize {
        self.total_shards
    }

    /// Bytes per piece: `2 · data_shards` (684 for full parameters).
    pub fn piece_bytes(&self) -> usize {
        2 * self.data_shards
    }

    /// Number of pieces `k` a blob of `data_len` bytes is split into after
    /// zero-padding; each chunk then has `2k` bytes.
    pub fn pieces_for(&self, data_len: usize) -> usize {
        data_len.div_ceil(self.piece_bytes())
    }

    /// `C_k` of GP eq. H.4 (`eq:erasurecoding`): pads `data` with zeroes to `k`
    /// pieces of [`piece_bytes`](Self::piece_bytes) and returns
    /// `total_shards` chunks of `2k` bytes each.
    ///
    /// Data chunk `i < data_shards` is bytes `2k·i .. 2k·(i+1)` of the padded
    /// blob (`split_{2k}`); recovery chunk `i` holds, at word position `p`,
    /// code word `i` of the codeword formed by word `p` of every data chunk.
    ///
    /// Empty data gives `k = 0`: `total_shards` empty chunks.
    pub fn encode(&self, data: &[u8]) -> Result<Vec<Vec<u8>>, ErasureError> {
        let k = self.pieces_for(data.len());
        if k == 0 {
            return Ok(vec![Vec::new(); self.total_shards]);
        }
        let chunk_len = 2 * k;
        let mut encoder = ReedSolomonEncoder::new(
            self.data_shards,
            self.total_shards - self.data_shards,
            chunk_len,
        )?;
        let mut chunks = Vec::with_capacity(self.total_shards);
        let mut shard = vec![0u8; chunk_len];
        for i in 0..self.data_shards {
            // Data chunk `i` is `split_{2k}` of the blob, zero-padded (GP:
            // "Data whose length is not divisible by 684 must be padded (we
            // pad with zeroes)").
            let start = (i * chunk_len).min(data.len());
            let end = (start + chunk_len).min(data.len());
            let mut chunk = Vec::with_capacity(chunk_len);
            chunk.extend_from_slice(&data[start..end]);
            chunk.resize(chunk_len, 0);
            chunk_to_shard(&chunk, &mut shard);
            encoder.add_original_shard(&shard)?;
            chunks.push(chunk);
        }
        let result = encoder.encode()?;
        // Recovery chunk `data_shards + r` is recovery shard `r`.
        chunks.extend(result.recovery_iter().map(shard_to_chunk));
        Ok(chunks)
    }

    /// `R_k` of GP eq. H.5 (`eq:erasurecodinginv`): rebuilds the blob from any
    /// `data_shards` distinct `(index, chunk)` pairs (extra pairs are ignored,
    /// data chunks preferred), truncated to `data_len` bytes.
    ///
    /// When every data chunk is present this is the GP's first case, the
    /// concatenation of the data chunks in index order, with no decoding.
    pub fn reconstruct(
        &self,
        chunks: &[(usize, &[u8])],
        data_len: usize,
    ) -> Result<Vec<u8>, ErasureError> {
        let (chunk_len, selected) = self.select_chunks(chunks)?;
        let max = chunk_len * self.data_shards;
        if data_len > max {
            return Err(ErasureError::DataLenTooLarge { data_len, max });
        }
        if data_len == 0 {
            return Ok(Vec::new());
        }

        let mut columns: Vec<Option<&[u8]>> = vec![None; self.data_shards];
        let mut recovery: Vec<(usize, &[u8])> = Vec::new();
        for &(index, chunk) in &selected {
            if index < self.data_shards {
                columns[index] = Some(chunk);
            } else {
                recovery.push((index - self.data_shards, chunk));
            }
        }
        // Only the data chunks overlapping `..data_len` are needed.
        let needed = data_len.div_ceil(chunk_len);

        let mut data = Vec::with_capacity(needed * chunk_len);
        if columns[..needed].iter().all(Option::is_some) {
            for chunk in columns[..needed].iter().flatten() {
                data.extend_from_slice(chunk);
            }
        } else {
            let mut decoder = self.load_decoder(&columns, &recovery, chunk_len)?;
            let restored = decoder.decode()?;
            for (index, column) in columns[..needed].iter().enumerate() {
                if let Some(chunk) = column {
                    data.extend_from_slice(chunk);
                } else {
                    let shard =
                        restored
                            .restored_original(index)
                            .ok_or(ErasureError::TooFewChunks {
                                got: selected.len(),
                                need: self.data_shards,
                            })?;
                    extend_from_shard(&mut data, shard);
                }
            }
        }
        data.truncate(data_len);
        Ok(data)
    }

    /// Validates `chunks` and picks `data_shards` of them (data chunks first,
    /// then recovery chunks in index order). Returns the common chunk length.
    fn select_chunks<'a>(
        &self,
        chunks: &[(usize, &'a [u8])],
    ) -> Result<(usize, Vec<IndexedChunk<'a>>), ErasureError> {
        let Some(&(_, first)) = chunks.first() else {
            return Err(ErasureError::TooFewChunks {
                got: 0,
                need: self.data_shards,
            });
        };
        let chunk_len = first.len();
        let mut by_index: Vec<Option<&'a [u8]>> = vec![None; self.total_shards];
        for &(index, chunk) in chunks {
            if index >= self.total_shards {
                return Err(ErasureError::IndexOutOfRange {
                    index,
                    total_shards: self.total_shards,
                });
            }
            if chunk.len() % 2 != 0 {
                return Err(ErasureError::OddChunkLength {
                    index,
                    len: chunk.len(),
                });
            }
            if chunk.len() != chunk_len {
                return Err(ErasureError::InconsistentChunkLength {
                    index,
                    expected: chunk_len,
                    got: chunk.len(),
                });
            }
            let slot = &mut by_index[index];
            if slot.is_some() {
                return Err(ErasureError::DuplicateIndex { index });
            }
            *slot = Some(chunk);
        }
        let selected: Vec<(usize, &[u8])> = by_index
            .iter()
            .enumerate()
            .filter_map(|(index, chunk)| chunk.map(|c| (index, c)))
            .take(self.data_shards)
            .collect();
        if selected.len() < self.data_shards {
            return Err(ErasureError::TooFewChunks {
                got: selected.len(),
                need: self.data_shards,
            });
        }
        Ok((chunk_len, selected))
    }

    /// Feeds the selected chunks, converted to shards, to a fresh decoder.
    fn load_decoder(
        &self,
        columns: &[Option<&[u8]>],
        recovery: &[(usize, &[u8])],
        chunk_len: usize,
    ) -> Result<ReedSolomonDecoder, ErasureError> {
        let mut decoder = ReedSolomonDecoder::new(
            self.data_shards,
            self.total_shards - self.data_shards,
            chunk_len,
        )?;
        let mut shard = vec![0u8; chunk_len];
        for (index, column) in columns.iter().enumerate() {
            if let Some(chunk) = column {
                chunk_to_shard(chunk, &mut shard);
                decoder.add_original_shard(index, &shard)?;
            }
        }
        for &(index, chunk) in recovery {
            chunk_to_shard(chunk, &mut shard);
            decoder.add_recovery_shard(index, &shard)?;
        }
        Ok(decoder)
    }
}

/// Converts a reed-solomon-simd shard into a GP chunk (little-endian words).
fn shard_to_chunk(shard: &[u8]) -> Vec<u8> {
    let mut chunk = vec![0u8; shard.len()];
    shard_to_chunk_into(shard, &mut chunk);
    chunk
}

/// Appends a reed-solomon-simd shard to `data` as a GP chunk.
fn extend_from_shard(data: &mut Vec<u8>, shard: &[u8]) {
    let start = data.len();
    data.resize(start + shard.len(), 0);
    shard_to_chunk_into(shard, &mut data[start..]);
}

/// Rewrites a reed-solomon-simd shard as little-endian words into `chunk`
/// (same length). Each 64-byte block (or final partial block of `2m` bytes)
/// of the shard is its words' low bytes followed by their high bytes.
fn shard_to_chunk_into(shard: &[u8], chunk: &mut [u8]) {
    let (src_blocks, src_tail) = shard.as_chunks::<BLOCK_BYTES>();
    let (dst_blocks, dst_tail) = chunk.as_chunks_mut::<BLOCK_BYTES>();
    for (src, dst) in src_blocks.iter().zip(dst_blocks) {
        for j in 0..BLOCK_BYTES / 2 {
            dst[2 * j] = src[j];
            dst[2 * j + 1] = src[BLOCK_BYTES / 2 + j];
        }
    }
    let (lo, hi) = src_tail.split_at(src_tail.len() / 2);
    for ((word, &l), &h) in dst_tail.chunks_exact_mut(2).zip(lo).zip(hi) {
        word[0] = l;
        word[1] = h;
    }
}

/// Converts a GP chunk (little-endian words) into a reed-solomon-simd shard
/// of the same length: the inverse of [`shard_to_chunk_into`].
fn chunk_to_shard(chunk: &[u8], shard: &mut [u8]) {
    let (src_blocks, src_tail) = chunk.as_chunks::<BLOCK_BYTES>();
    let (dst_blocks, dst_tail) = shard.as_chunks_mut::<BLOCK_BYTES>();
    // Written as whole-word loads then byte stores so that it vectorises.
    for (src, dst) in src_blocks.iter().zip(dst_blocks) {
        let mut words = [0u16; BLOCK_BYTES / 2];
        for (j, word) in words.iter_mut().enumerate() {
            *word = u16::from_le_bytes([src[2 * j], src[2 * j + 1]]);
        }
        for j in 0..BLOCK_BYTES / 2 {
            dst[j] = words[j].to_le_bytes()[0];
        }
        for j in 0..BLOCK_BYTES / 2 {
            dst[BLOCK_BYTES / 2 + j] = words[j].to_le_bytes()[1];
        }
    }
    let (lo, hi) = dst_tail.split_at_mut(src_tail.len() / 2);
    for ((word, l), h) in src_tail.chunks_exact(2).zip(lo).zip(hi) {
        *l = word[0];
        *h = word[1];
    }
}

#[cfg(test)]
mod tests {
    use super::{chunk_to_shard, shard_to_chunk};

    /// The conversion follows reed-solomon-simd's documented shard layout:
    /// per 64-byte block 32 low bytes then 32 high bytes, and a final partial
    /// block of `m` words as `m` low bytes then `m` high bytes.
    #[test]
    fn shard_layout_matches_reed_solomon_simd() {
        let words: Vec<u16> = (0..35u16).map(|w| 0x0101 * w + 0x8000).collect();
        let chunk: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut shard = vec![0u8; chunk.len()];
        chunk_to_shard(&chunk, &mut shard);
        for (p, word) in words.iter().enumerate() {
            let [lo, hi] = word.to_le_bytes();
            let (lo_at, hi_at) = if p < 32 {
                (p, 32 + p)
            } else {
                (p + 32, p + 35)
            };
            assert_eq!((shard[lo_at], shard[hi_at]), (lo, hi), "word {p}");
        }
        assert_eq!(shard_to_chunk(&shard), chunk);
    }

    #[test]
    fn shard_conversion_round_trips_for_every_small_length() {
        for words in 0..200usize {
            let chunk: Vec<u8> = (0..2 * words)
                .map(|b| ((b * 7 + 3) % 256).to_le_bytes()[0])
                .collect();
            let mut shard = vec![0u8; chunk.len()];
            chunk_to_shard(&chunk, &mut shard);
            assert_eq!(shard_to_chunk(&shard), chunk, "{words} words");
        }
    }
}
