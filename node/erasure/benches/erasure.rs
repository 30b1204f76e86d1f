//! Throughput of `ErasureCoder` (full parameters, 342 of 1023) against raw
//! reed-solomon-simd doing the same field work on the same bytes.
//!
//! "raw" = `reed_solomon_simd::encode` / `decode` on shards that are already
//! laid out (the padded blob cut into 342 shards of `2k` bytes), so it skips
//! the GP layout work (padding, byte shuffle, chunk assembly) that parajam does.
//! Reconstruction uses the worst case: only recovery chunks (the last 342), so
//! every data chunk has to be restored.
//!
//! Besides criterion's report, a short timed loop (best of 10 alternating
//! 50 ms slices per side, so background load hits both alike) prints one
//! line per case:
//! `erasure <op> <size>: parajam X MB/s, raw reed-solomon-simd Y MB/s, ratio X/Y`
//! (MB = 10^6 bytes of original data).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use parajam_erasure::ErasureCoder;

const DATA_SHARDS: usize = 342;
const TOTAL_SHARDS: usize = 1023;
const RECOVERY_SHARDS: usize = TOTAL_SHARDS - DATA_SHARDS;

/// One benchmark input: the blob, its GP chunks and the raw shards.
struct Case {
    name: &'static str,
    data: Vec<u8>,
    chunks: Vec<Vec<u8>>,
    /// Padded blob cut into `DATA_SHARDS` shards of `2k` bytes.
    raw_originals: Vec<Vec<u8>>,
    /// Raw recovery shards `RECOVERY_SHARDS - DATA_SHARDS ..`, with indices.
    raw_recovery: Vec<(usize, Vec<u8>)>,
}

impl Case {
    fn new(coder: &ErasureCoder, name: &'static str, len: usize) -> Self {
        let data: Vec<u8> = (0..len)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13).to_le_bytes()[0])
            .collect();
        let chunks = coder.encode(&data).expect("encode");
        let shard_len = chunks[0].len();
        let mut padded = data.clone();
        padded.resize(shard_len * DATA_SHARDS, 0);
        let raw_originals: Vec<Vec<u8>> =
            padded.chunks_exact(shard_len).map(<[u8]>::to_vec).collect();
        let recovery = reed_solomon_simd::encode(DATA_SHARDS, RECOVERY_SHARDS, &raw_originals)
            .expect("raw encode");
        let raw_recovery = recovery
            .into_iter()
            .enumerate()
            .skip(RECOVERY_SHARDS - DATA_SHARDS)
            .collect();
        Self {
            name,
            data,
            chunks,
            raw_originals,
            raw_recovery,
        }
    }

    fn parajam_encode(&self, coder: &ErasureCoder) -> Vec<Vec<u8>> {
        coder.encode(black_box(&self.data)).expect("encode")
    }

    fn raw_encode(&self) -> Vec<Vec<u8>> {
        reed_solomon_simd::encode(DATA_SHARDS, RECOVERY_SHARDS, black_box(&self.raw_originals))
            .expect("raw encode")
    }

    fn parajam_reconstruct(&self, coder: &ErasureCoder) -> Vec<u8> {
        let given: Vec<(usize, &[u8])> = (TOTAL_SHARDS - DATA_SHARDS..TOTAL_SHARDS)
            .map(|i| (i, &self.chunks[i][..]))
            .collect();
        coder
            .reconstruct(black_box(&given), self.data.len())
            .expect("reconstruct")
    }

    fn raw_reconstruct(&self) -> usize {
        let restored = reed_solomon_simd::decode(
            DATA_SHARDS,
            RECOVERY_SHARDS,
            std::iter::empty::<(usize, &[u8])>(),
            black_box(&self.raw_recovery)
                .iter()
                .map(|(i, s)| (*i, &s[..])),
        )
        .expect("raw decode");
        restored.len()
    }
}

fn criterion_benches(c: &mut Criterion, coder: &ErasureCoder, cases: &[Case]) {
    for case in cases {
        let mut group = c.benchmark_group(format!("erasure/{}", case.name));
        group
            .throughput(Throughput::Bytes(case.data.len() as u64))
            .sample_size(10)
            .warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_millis(800));
        group.bench_function("encode/parajam", |b| b.iter(|| case.parajam_encode(coder)));
        group.bench_function("encode/raw", |b| b.iter(|| case.raw_encode()));
        group.bench_function("reconstruct/parajam", |b| {
            b.iter(|| case.parajam_reconstruct(coder));
        });
        group.bench_function("reconstruct/raw", |b| b.iter(|| case.raw_reconstruct()));
        group.finish();
    }
}

/// MB/s of one timed slice of `f` (at least `slice` long, at least 2 calls).
fn timed_slice<T>(bytes: usize, slice: Duration, f: &mut impl FnMut() -> T) -> f64 {
    let start = Instant::now();
    let mut iterations = 0u32;
    while iterations < 2 || start.elapsed() < slice {
        black_box(f());
        iterations += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let bytes = u32::try_from(bytes).expect("benchmark inputs are small");
    f64::from(iterations) * f64::from(bytes) / secs / 1e6
}

/// Best-of-`rounds` MB/s of `ours` and `raw`, alternating slices so that
/// background load hits both alike.
fn compare<A, B>(
    bytes: usize,
    rounds: u32,
    slice: Duration,
    mut ours: impl FnMut() -> A,
    mut raw: impl FnMut() -> B,
) -> (f64, f64) {
    black_box(ours()); // warm up
    black_box(raw());
    let (mut best_ours, mut best_raw) = (0f64, 0f64);
    for _ in 0..rounds {
        best_ours = best_ours.max(timed_slice(bytes, slice, &mut ours));
        best_raw = best_raw.max(timed_slice(bytes, slice, &mut raw));
    }
    (best_ours, best_raw)
}

fn print_ratios(coder: &ErasureCoder, cases: &[Case]) {
    let (rounds, slice) = (10, Duration::from_millis(50));
    for case in cases {
        let bytes = case.data.len();
        let encode = compare(
            bytes,
            rounds,
            slice,
            || case.parajam_encode(coder),
            || case.raw_encode(),
        );
        let reconstruct = compare(
            bytes,
            rounds,
            slice,
            || case.parajam_reconstruct(coder),
            || case.raw_reconstruct(),
        );
        for (op, (ours, raw)) in [("encode", encode), ("reconstruct", reconstruct)] {
            println!(
                "erasure {op} {}: parajam {ours:.1} MB/s, raw reed-solomon-simd {raw:.1} MB/s, ratio {:.3}",
                case.name,
                ours / raw
            );
        }
    }
}

fn main() {
    let coder = ErasureCoder::full();
    assert_eq!(
        (coder.data_shards(), coder.total_shards()),
        (DATA_SHARDS, TOTAL_SHARDS)
    );
    let cases = [
        Case::new(&coder, "segment-4104B", 4104),
        Case::new(&coder, "blob-1MiB", 1 << 20),
    ];
    for case in &cases {
        assert_eq!(case.parajam_reconstruct(&coder), case.data);
    }

    let mut criterion = Criterion::default().configure_from_args();
    criterion_benches(&mut criterion, &coder, &cases);
    criterion.final_summary();

    // Under `cargo test --benches` criterion runs each bench once; keep the
    // ratio loop to real bench runs.
    if std::env::args().any(|arg| arg == "--bench") {
        print_ratios(&coder, &cases);
    }
}
