//! Hand-made cases for [`ErasureCoder`]: parameters, layout, round trips over
//! chosen chunk subsets (tiny and full), and typed errors on bad input.

use parajam_erasure::{ErasureCoder, ErasureError};

fn tiny() -> ErasureCoder {
    ErasureCoder::tiny()
}

fn full() -> ErasureCoder {
    ErasureCoder::full()
}

/// Deterministic pseudo-random bytes (xorshift64*), so failures reproduce.
fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes()[7]
        })
        .collect()
}

/// A deterministic shuffle of `0..n` (Fisher–Yates driven by `bytes`).
fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let noise = bytes(8 * n, seed);
    for i in (1..n).rev() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&noise[8 * i..8 * i + 8]);
        let j = usize::try_from(u64::from_le_bytes(word) % (i as u64 + 1)).expect("fits");
        order.swap(i, j);
    }
    order
}

fn reconstruct_from(
    coder: &ErasureCoder,
    chunks: &[Vec<u8>],
    indices: &[usize],
    data_len: usize,
) -> Result<Vec<u8>, ErasureError> {
    let given: Vec<(usize, &[u8])> = indices.iter().map(|&i| (i, &chunks[i][..])).collect();
    coder.reconstruct(&given, data_len)
}

#[test]
fn parameters_are_validated() {
    assert_eq!(tiny().data_shards(), 2);
    assert_eq!(tiny().total_shards(), 6);
    assert_eq!(full().data_shards(), 342);
    assert_eq!(full().total_shards(), 1023);
    assert_eq!(full().piece_bytes(), 684);
    assert_eq!(ErasureCoder::new(342, 1023).expect("full"), full());
    assert_eq!(ErasureCoder::new(2, 6).expect("tiny"), tiny());
    for (data, total) in [
        (0, 6),
        (0, 0),
        (2, 2),
        (6, 2),
        (40_000, 70_000),
        (1, 70_000),
    ] {
        assert!(
            matches!(
                ErasureCoder::new(data, total),
                Err(ErasureError::BadParameters { .. })
            ),
            "({data}, {total}) accepted"
        );
    }
}

#[test]
fn chunk_sizes_follow_padding() {
    // (coder, data length, expected chunk length = 2k)
    let cases = [
        (tiny(), 1, 2),
        (tiny(), 4, 2),
        (tiny(), 5, 4),
        (full(), 1, 2),
        (full(), 684, 2),
        (full(), 685, 4),
        (full(), 4104, 12),
    ];
    for (coder, len, chunk_len) in cases {
        let chunks = coder.encode(&bytes(len, 1)).expect("encode");
        assert_eq!(chunks.len(), coder.total_shards());
        assert!(chunks.iter().all(|c| c.len() == chunk_len), "len {len}");
    }
}

#[test]
fn empty_data_gives_empty_chunks() {
    for coder in [tiny(), full()] {
        let chunks = coder.encode(&[]).expect("encode");
        assert_eq!(chunks.len(), coder.total_shards());
        assert!(chunks.iter().all(Vec::is_empty));
        let given: Vec<(usize, &[u8])> = (0..coder.data_shards())
            .map(|i| (i, &chunks[i][..]))
            .collect();
        assert_eq!(coder.reconstruct(&given, 0).expect("reconstruct"), b"");
        assert!(matches!(
            coder.reconstruct(&given, 1),
            Err(ErasureError::DataLenTooLarge {
                data_len: 1,
                max: 0
            })
        ));
    }
}

/// GP eq. `eq:erasurecoding`: data chunk `i` is bytes `2k·i..2k·(i+1)` of the
/// zero-padded blob.
#[test]
fn data_chunks_are_contiguous_slices_of_padded_data() {
    for (coder, len) in [(tiny(), 37), (full(), 10_000), (full(), 70 * 684 - 5)] {
        let data = bytes(len, 2);
        let chunks = coder.encode(&data).expect("encode");
        let chunk_len = chunks[0].len();
        let mut padded = data.clone();
        padded.resize(chunk_len * coder.data_shards(), 0);
        for (i, chunk) in chunks.iter().take(coder.data_shards()).enumerate() {
            assert_eq!(chunk[..], padded[chunk_len * i..chunk_len * (i + 1)]);
        }
    }
}

/// Word position `p` of every chunk is the code `C` applied to word `p` of
/// every data chunk, independently of the other positions. Checked across
/// reed-solomon-simd's 64-byte block boundaries (k = 31, 32, 33, 64, 70), so
/// the byte-layout conversion is tested without the vectors.
#[test]
fn word_positions_are_independent_codewords() {
    for coder in [tiny(), full()] {
        let n = coder.data_shards();
        for k in [31usize, 32, 33, 64, 70] {
            let data = bytes(2 * k * n, 3 + k as u64);
            let chunks = coder.encode(&data).expect("encode");
            for p in 0..k {
                let message: Vec<u8> = (0..n)
                    .flat_map(|i| [data[2 * k * i + 2 * p], data[2 * k * i + 2 * p + 1]])
                    .collect();
                let single = coder.encode(&message).expect("encode one message");
                for (chunk, word) in chunks.iter().zip(&single) {
                    assert_eq!(chunk[2 * p..2 * p + 2], word[..], "k {k} position {p}");
                }
            }
        }
    }
}

#[test]
fn tiny_round_trip_every_subset() {
    let coder = tiny();
    for len in [1, 3, 4, 5, 32, 100, 257, 4104] {
        let data = bytes(len, len as u64);
        let chunks = coder.encode(&data).expect("encode");
        for mask in 0u32..64 {
            let indices: Vec<usize> = (0..6).filter(|i| mask & (1 << i) != 0).collect();
            let result = reconstruct_from(&coder, &chunks, &indices, len);
            if indices.len() >= 2 {
                assert_eq!(
                    result.expect("reconstruct"),
                    data,
                    "len {len} mask {mask:06b}"
                );
            } else {
                assert!(matches!(result, Err(ErasureError::TooFewChunks { .. })));
            }
        }
    }
}

#[test]
fn full_round_trip_chosen_subsets() {
    let coder = full();
    let (n, k) = (coder.total_shards(), coder.data_shards());
    for len in [1, 684, 685, 4104, 10_000, 33 * 684 + 1] {
        let data = bytes(len, 10 + len as u64);
        let chunks = coder.encode(&data).expect("encode");
        let mut subsets: Vec<Vec<usize>> = vec![
            (0..k).collect(),             // data only: the GP's plain concatenation case
            (k..2 * k).collect(),         // recovery only, first ones
            (n - k..n).collect(),         // recovery only, last ones
            (1..=k).collect(),            // one data chunk missing
            (k - 1..2 * k - 1).collect(), // one data chunk present
            (0..n).rev().step_by(2).take(k).collect(),
            (0..n).collect(), // more than enough
        ];
        for seed in 0..4 {
            subsets.push(shuffled(n, seed)[..k].to_vec()); // random, unordered
            subsets.push(shuffled(n, seed + 100)[..k + 50].to_vec());
        }
        for indices in &subsets {
            let back = reconstruct_from(&coder, &chunks, indices, len).expect("reconstruct");
            assert_eq!(back, data, "len {len}, subset starting {:?}", &indices[..3]);
        }
        // A shorter `data_len` truncates.
        let back = reconstruct_from(&coder, &chunks, &subsets[1], len / 2).expect("prefix");
        assert_eq!(back, data[..len / 2]);
    }
}

#[test]
fn too_few_chunks() {
    let coder = full();
    let chunks = coder.encode(&bytes(4104, 5)).expect("encode");
    let indices: Vec<usize> = (500..500 + 341).collect();
    assert!(matches!(
        reconstruct_from(&coder, &chunks, &indices, 4104),
        Err(ErasureError::TooFewChunks {
            got: 341,
            need: 342
        })
    ));
    assert!(matches!(
        coder.reconstruct(&[], 0),
        Err(ErasureError::TooFewChunks { got: 0, need: 342 })
    ));
}

#[test]
fn duplicate_index() {
    let coder = tiny();
    let chunks = coder.encode(&bytes(40, 6)).expect("encode");
    // Enough distinct chunks besides the duplicate: still an error.
    let given = [
        (1, &chunks[1][..]),
        (4, &chunks[4][..]),
        (1, &chunks[1][..]),
    ];
    assert!(matches!(
        coder.reconstruct(&given, 40),
        Err(ErasureError::DuplicateIndex { index: 1 })
    ));
}

#[test]
fn index_out_of_range() {
    let coder = tiny();
    let chunks = coder.encode(&bytes(40, 7)).expect("encode");
    let given = [(0, &chunks[0][..]), (6, &chunks[5][..])];
    assert!(matches!(
        coder.reconstruct(&given, 40),
        Err(ErasureError::IndexOutOfRange {
            index: 6,
            total_shards: 6
        })
    ));
    let given = [(usize::MAX, &chunks[0][..]), (1, &chunks[1][..])];
    assert!(matches!(
        coder.reconstruct(&given, 40),
        Err(ErasureError::IndexOutOfRange { .. })
    ));
}

#[test]
fn inconsistent_and_odd_chunk_lengths() {
    let coder = tiny();
    let chunks = coder.encode(&bytes(40, 8)).expect("encode");
    let short = &chunks[3][..chunks[3].len() - 2];
    let given = [(0, &chunks[0][..]), (3, short)];
    assert!(matches!(
        coder.reconstruct(&given, 40),
        Err(ErasureError::InconsistentChunkLength { index: 3, .. })
    ));
    let odd = &chunks[3][..3];
    let given = [(3, odd), (0, &chunks[0][..3])];
    assert!(matches!(
        coder.reconstruct(&given, 3),
        Err(ErasureError::OddChunkLength { index: 3, len: 3 })
    ));
}

#[test]
fn data_len_too_large() {
    let coder = full();
    let chunks = coder.encode(&bytes(4104, 9)).expect("encode");
    let indices: Vec<usize> = (0..342).collect();
    // 12-byte chunks hold at most 342 * 12 = 4104 bytes.
    assert!(reconstruct_from(&coder, &chunks, &indices, 4104).is_ok());
    assert!(matches!(
        reconstruct_from(&coder, &chunks, &indices, 4105),
        Err(ErasureError::DataLenTooLarge {
            data_len: 4105,
            max: 4104
        })
    ));
    let indices: Vec<usize> = (681..1023).collect();
    assert!(matches!(
        reconstruct_from(&coder, &chunks, &indices, usize::MAX),
        Err(ErasureError::DataLenTooLarge { .. })
    ));
}
