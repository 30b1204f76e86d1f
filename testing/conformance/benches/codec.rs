//! Block decode/encode throughput on real vectors, next to the floor of
//! Blake2b-hashing the same octets (every import hashes the header and
//! extrinsic anyway), measured in the same run.
//!
//! `cargo bench -p parajam-conformance --bench codec`

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use parajam_primitives::codec::Encode;
use parajam_primitives::types::Block;
use parajam_primitives::types::TraceStep;
use parajam_primitives::{decode, ProtocolParameters};

/// The block of the largest trace step (most extrinsic data), tiny params.
fn largest_trace_block(dir: &Path) -> Option<(String, Vec<u8>)> {
    let mut best: Option<(String, Vec<u8>)> = None;
    for family in ["fallback", "safrole", "storage", "preimages"] {
        let Ok(entries) = std::fs::read_dir(dir.join("traces").join(family)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.file_stem().is_some_and(|s| s == "genesis") {
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let Ok(step) = decode::<TraceStep>(&bytes, &ProtocolParameters::TINY) else {
                continue;
            };
            let block = step.block.encode();
            if best.as_ref().is_none_or(|(_, b)| block.len() > b.len()) {
                best = Some((family.to_owned(), block));
            }
        }
    }
    best
}

fn time_per_iter(mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < Duration::from_millis(300) {
        f();
        n += 1;
    }
    start.elapsed() / n
}

fn bench(c: &mut Criterion) {
    let dir = match parajam_conformance::locate_vectors() {
        Ok(dir) => dir,
        Err(e) => panic!("{e}"),
    };
    let mut inputs = vec![];
    for params in [ProtocolParameters::TINY, ProtocolParameters::FULL] {
        let path = dir.join("codec").join(params.name).join("block.bin");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        inputs.push((format!("codec/{}/block", params.name), params, bytes));
    }
    if let Some((name, bytes)) = largest_trace_block(&dir) {
        inputs.push((
            format!("trace/{name}/largest-block"),
            ProtocolParameters::TINY,
            bytes,
        ));
    }

    let mut group = c.benchmark_group("block-codec");
    group
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300));
    for (name, params, bytes) in &inputs {
        let block: Block = decode(bytes, params).unwrap_or_else(|e| panic!("{name}: {e}"));
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(format!("decode {name}"), |b| {
            b.iter(|| decode::<Block>(black_box(bytes), params));
        });
        group.bench_function(format!("encode {name}"), |b| {
            b.iter(|| black_box(&block).encode());
        });
        group.bench_function(format!("blake2b {name}"), |b| {
            b.iter(|| parajam_crypto::blake2b_256(black_box(bytes)));
        });

        let dec = time_per_iter(|| {
            black_box(decode::<Block>(black_box(bytes), params)).ok();
        });
        let enc = time_per_iter(|| {
            black_box(black_box(&block).encode());
        });
        let hash = time_per_iter(|| {
            black_box(parajam_crypto::blake2b_256(black_box(bytes)));
        });
        #[allow(clippy::cast_precision_loss)] // a figure for people
        let mbs = |d: Duration| bytes.len() as f64 / d.as_secs_f64() / 1e6;
        println!(
            "RATIO {name} ({} bytes): decode {:.2?} ({:.0} MB/s), encode {:.2?} ({:.0} MB/s), \
             blake2b floor {:.2?} ({:.0} MB/s); decode/blake2b = {:.2}, encode/blake2b = {:.2}",
            bytes.len(),
            dec,
            mbs(dec),
            enc,
            mbs(enc),
            hash,
            mbs(hash),
            dec.as_secs_f64() / hash.as_secs_f64(),
            enc.as_secs_f64() / hash.as_secs_f64(),
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
