//! Property test: for random data and a random sufficient set of chunk
//! indices (in random order, possibly more than needed), `reconstruct`
//! inverts `encode`, for both tiny and full parameters.

use parajam_erasure::ErasureCoder;
use proptest::prelude::*;

/// Encodes `data`, then reconstructs from the first `data_shards + extra`
/// indices of `order` (all of them if fewer).
fn round_trip(coder: &ErasureCoder, data: &[u8], order: &[usize], extra: usize) -> Vec<u8> {
    let chunks = coder.encode(data).expect("encode");
    assert_eq!(chunks.len(), coder.total_shards());
    let take = (coder.data_shards() + extra).min(order.len());
    let given: Vec<(usize, &[u8])> = order[..take].iter().map(|&i| (i, &chunks[i][..])).collect();
    coder.reconstruct(&given, data.len()).expect("reconstruct")
}

fn permutation(n: usize) -> impl Strategy<Value = Vec<usize>> {
    Just((0..n).collect::<Vec<usize>>()).prop_shuffle()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn tiny_round_trip(
        data in proptest::collection::vec(any::<u8>(), 0..2000),
        order in permutation(6),
        extra in 0usize..5,
    ) {
        let back = round_trip(&ErasureCoder::new(2, 6).expect("tiny"), &data, &order, extra);
        prop_assert_eq!(back, data);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn full_round_trip(
        data in proptest::collection::vec(any::<u8>(), 0..30_000),
        order in permutation(1023),
        extra in 0usize..700,
    ) {
        let back = round_trip(&ErasureCoder::new(342, 1023).expect("full"), &data, &order, extra);
        prop_assert_eq!(back, data);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary (possibly malformed) chunk sets never panic: `reconstruct`
    /// returns either data of the requested length or a typed error.
    #[test]
    fn arbitrary_input_never_panics(
        chunks in proptest::collection::vec(
            (0usize..12, proptest::collection::vec(any::<u8>(), 0..9)),
            0..10,
        ),
        data_len in 0usize..40,
        full in any::<bool>(),
    ) {
        let coder = if full {
            ErasureCoder::new(342, 1023).expect("full")
        } else {
            ErasureCoder::new(2, 6).expect("tiny")
        };
        let given: Vec<(usize, &[u8])> = chunks.iter().map(|(i, c)| (*i, &c[..])).collect();
        if let Ok(data) = coder.reconstruct(&given, data_len) {
            prop_assert_eq!(data.len(), data_len);
        }
    }
}
