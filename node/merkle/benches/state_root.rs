//! State-root benchmark over the largest trace pre-state of the JAM test vectors.
//!
//! `cargo bench -p parajam-merkle` times [`state_root`] (GP appendix D) and prints it against two
//! Blake2b references measured in the same run:
//!
//! * the *floor*: one Blake2b-256 pass over all key and value octets laid out contiguously;
//! * the *hash work*: Blake2b-256 of exactly the messages the trie must hash (one 64-octet message
//!   per node, plus each value longer than 32 octets), precomputed, with no trie logic.
//!
//! The computed root is asserted equal to the file's pre-state root first, so the benchmark also
//! proves correctness. Without the vectors it says so and exits non-zero. Run under `cargo test`
//! (no `--bench` argument) it only does the correctness check, and skips if the vectors are
//! missing.
//!
//! Vectors: located by `parajam-vectors` (`$PARAJAM_VECTORS_DIR`, else the shared unpack script).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use criterion::Criterion;
use parajam_bench::median_times;
use parajam_crypto::{blake2b_256, Hash};
use parajam_merkle::{state_root, StateKey};

/// The vectors directory (`parajam-vectors`), or an empty path (no traces) without them.
fn vectors_dir() -> PathBuf {
    parajam_vectors::locate().unwrap_or_default()
}

/// The largest `traces/<family>/*.bin` step file (genesis files have another layout).
fn largest_trace(dir: &Path) -> Option<PathBuf> {
    let mut best: Option<(u64, PathBuf)> = None;
    for family in std::fs::read_dir(dir.join("traces")).ok()?.flatten() {
        let Ok(files) = std::fs::read_dir(family.path()) else {
            continue;
        };
        for file in files.flatten() {
            let path = file.path();
            let is_step = path.extension().is_some_and(|e| e == "bin")
                && path.file_stem().is_none_or(|s| s != "genesis");
            let size = file.metadata().map_or(0, |m| m.len());
            if is_step && best.as_ref().is_none_or(|(s, _)| size > *s) {
                best = Some((size, path));
            }
        }
    }
    best.map(|(_, path)| path)
}

/// Cursor over JAM-codec data; `None` on truncated input.
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.data.split_at_checked(n)?;
        self.data = tail;
        Some(head)
    }

    /// GP general natural (eq. C.6): first octet with `l` leading ones, then `l` LE octets.
    fn natural(&mut self) -> Option<usize> {
        let first = self.bytes(1)?[0];
        let l = first.leading_ones();
        let value = if l == 8 {
            u64::from_le_bytes(self.bytes(8)?.try_into().ok()?)
        } else {
            let mut low = [0u8; 8];
            low[..l as usize].copy_from_slice(self.bytes(l as usize)?);
            (u64::from(first & (0xff >> (l + 1))) << (8 * l)) + u64::from_le_bytes(low)
        };
        usize::try_from(value).ok()
    }
}

/// Borrowed (state-key, value) pairs.
type Entries<'a> = Vec<(&'a StateKey, &'a [u8])>;

/// The pre-state at the start of a trace step: `state_root`, then `[(key: [u8; 31], value)]`.
fn parse_pre_state(data: &[u8]) -> Option<(Hash, Entries<'_>)> {
    let mut r = Reader { data };
    let root: Hash = r.bytes(32)?.try_into().ok()?;
    let n = r.natural()?;
    let mut entries = Vec::with_capacity(n);
    for _ in 0..n {
        let key: &StateKey = r.bytes(31)?.try_into().ok()?;
        let len = r.natural()?;
        entries.push((key, r.bytes(len)?));
    }
    Some((root, entries))
}

/// The messages Blake2b must digest to build the trie: every node encoding (64 octets) and
/// every value longer than 32 octets. Mirrors the recursion of GP D.2 over sorted keys.
fn trie_messages(sorted: &[(&StateKey, &[u8])], depth: usize, out: &mut Vec<Vec<u8>>) {
    match sorted {
        [] => {}
        [(_, value)] => {
            if value.len() > 32 {
                out.push(value.to_vec());
            }
            out.push(vec![0; 64]);
        }
        _ => {
            let mask = 0x80u8 >> (depth % 8);
            let split = sorted.partition_point(|(k, _)| k[depth / 8] & mask == 0);
            trie_messages(&sorted[..split], depth + 1, out);
            trie_messages(&sorted[split..], depth + 1, out);
            out.push(vec![0; 64]);
        }
    }
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() -> ExitCode {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let dir = vectors_dir();
    let Some(path) = largest_trace(&dir) else {
        eprintln!(
            "state_root bench: no trace vectors under {}/traces; run /work/shared/vectors/unpack \
             or set PARAJAM_VECTORS_DIR",
            dir.display()
        );
        return if bench_mode {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        };
    };
    let data = match std::fs::read(&path) {
        Ok(data) => data,
        Err(e) => {
            eprintln!("state_root bench: cannot read {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let Some((expected, entries)) = parse_pre_state(&data) else {
        eprintln!(
            "state_root bench: malformed pre-state in {}",
            path.display()
        );
        return ExitCode::FAILURE;
    };
    let name = path
        .strip_prefix(dir.join("traces"))
        .unwrap_or(&path)
        .display()
        .to_string();
    let got = state_root(entries.iter().copied());
    assert_eq!(got, expected, "state root mismatch for {name}");
    let bytes: usize = entries.iter().map(|(k, v)| k.len() + v.len()).sum();
    println!(
        "state_root({name}): root verified against the pre-state ({} keys, {bytes} bytes)",
        entries.len()
    );
    if !bench_mode {
        return ExitCode::SUCCESS;
    }

    run_benchmarks(&name, &entries, bytes);
    ExitCode::SUCCESS
}

/// Criterion runs, then the interleaved comparison printed as ratio lines.
fn run_benchmarks(name: &str, entries: &[(&StateKey, &[u8])], bytes: usize) {
    // References.
    let flat: Vec<u8> = entries
        .iter()
        .flat_map(|(k, v)| k.iter().chain(v.iter()).copied())
        .collect();
    let mut sorted = entries.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut messages = Vec::new();
    trie_messages(&sorted, 0, &mut messages);
    let message_bytes: usize = messages.iter().map(Vec::len).sum();
    let nodes = messages.iter().filter(|m| m.len() == 64).count();
    // Reverse order as a worst case for the sort inside `state_root`.
    let mut reversed = entries.to_vec();
    reversed.reverse();

    let mut c = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    c.bench_function("state_root/sorted_input", |b| {
        b.iter(|| state_root(black_box(entries).iter().copied()));
    });
    c.bench_function("state_root/reversed_input", |b| {
        b.iter(|| state_root(black_box(&reversed).iter().copied()));
    });
    c.bench_function("blake2b_floor/contiguous", |b| {
        b.iter(|| blake2b_256(black_box(&flat)));
    });
    c.bench_function("blake2b_floor/trie_messages", |b| {
        b.iter(|| {
            for m in black_box(&messages) {
                black_box(blake2b_256(m));
            }
        });
    });
    c.final_summary();

    let times = median_times(
        Duration::from_secs(6),
        &mut [
            &mut || {
                black_box(state_root(black_box(entries).iter().copied()));
            },
            &mut || {
                black_box(blake2b_256(black_box(&flat)));
            },
            &mut || {
                for m in black_box(&messages) {
                    black_box(blake2b_256(m));
                }
            },
        ],
    );
    let (x, y, w) = (micros(times[0]), micros(times[1]), micros(times[2]));
    println!(
        "state_root({name}, {} keys, {bytes} bytes): {x:.1} µs; blake2b floor {y:.1} µs; \
         ratio {:.2}",
        entries.len(),
        x / y
    );
    println!(
        "state_root({name}): trie hash work ({nodes} nodes, {} messages, {message_bytes} bytes) \
         {w:.1} µs; ratio state_root/hash-work {:.2}",
        messages.len(),
        x / w
    );
}
