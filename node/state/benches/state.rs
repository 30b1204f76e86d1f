//! `State` read, write and root over the largest trace state, against the
//! plain `state_root` of the same key/values measured in the same run.
//!
//! `cargo bench -p parajam-state --bench state` prints criterion's figures
//! and one `RATIO` line. The state is first checked to read, write back the
//! same key/values and give the trace's root. Run without `--bench` (as
//! `cargo test --benches` does) it only does that check.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Duration;

use criterion::Criterion;
use parajam_bench::median_times;
use parajam_primitives::types::{KeyValue, RawState};
use parajam_primitives::ProtocolParameters;
use parajam_state::State;

const PARAMS: ProtocolParameters = ProtocolParameters::TINY;

fn plain_root(kvs: &[KeyValue]) -> [u8; 32] {
    parajam_merkle::state_root(kvs.iter().map(|kv| (&kv.key.0, kv.value.as_slice())))
}

fn octets(raw: &RawState) -> usize {
    raw.keyvals.iter().map(|kv| 31 + kv.value.len()).sum()
}

fn main() -> ExitCode {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let states = match common::vectors_dir().and_then(|dir| common::all_states(&dir)) {
        Ok(states) => states,
        Err(e) => {
            eprintln!("state bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Some((name, raw)) = states.into_iter().max_by_key(|(_, raw)| octets(raw)) else {
        eprintln!("state bench: no trace states");
        return ExitCode::FAILURE;
    };
    let state = match State::from_key_values(&raw.keyvals, &PARAMS) {
        Ok(state) => state,
        Err(e) => {
            eprintln!("state bench: {name}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut sorted = raw.keyvals.clone();
    sorted.sort_by_key(|kv| kv.key);
    assert!(
        state.to_key_values() == sorted,
        "{name}: round trip differs"
    );
    assert!(state.root() == raw.state_root, "{name}: root differs");
    println!(
        "state({name}): read, round trip and root verified ({} keys, {} octets)",
        raw.keyvals.len(),
        octets(&raw)
    );
    if !bench_mode {
        return ExitCode::SUCCESS;
    }

    let kvs = &raw.keyvals;
    let mut c = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    let mut group = c.benchmark_group("state");
    group.bench_function("from_key_values", |b| {
        b.iter(|| State::from_key_values(black_box(kvs), &PARAMS));
    });
    group.bench_function("to_key_values", |b| {
        b.iter(|| black_box(&state).to_key_values());
    });
    group.bench_function("State::root", |b| b.iter(|| black_box(&state).root()));
    group.bench_function("from_key_values + to_key_values + root", |b| {
        b.iter(|| {
            let s = State::from_key_values(black_box(kvs), &PARAMS).ok();
            s.map(|s| (s.to_key_values().len(), s.root()))
        });
    });
    group.bench_function("plain state_root", |b| {
        b.iter(|| plain_root(black_box(kvs)));
    });
    group.finish();
    c.final_summary();

    let t = median_times(
        Duration::from_secs(4),
        &mut [
            &mut || {
                black_box(State::from_key_values(black_box(kvs), &PARAMS).ok());
            },
            &mut || {
                black_box(black_box(&state).to_key_values());
            },
            &mut || {
                black_box(black_box(&state).root());
            },
            &mut || {
                let s = State::from_key_values(black_box(kvs), &PARAMS).ok();
                black_box(s.map(|s| (s.to_key_values().len(), s.root())));
            },
            &mut || {
                black_box(plain_root(black_box(kvs)));
            },
        ],
    );
    let r = |d: Duration| d.as_secs_f64() / t[4].as_secs_f64();
    println!(
        "RATIO state({name}, {} keys, {} octets): from_key_values {:.1?} ({:.2}), \
         to_key_values {:.1?} ({:.2}), State::root {:.1?} ({:.2}), all three {:.1?} ({:.2}); \
         plain state_root {:.1?} (1.00); ratios are to plain state_root",
        kvs.len(),
        octets(&raw),
        t[0],
        r(t[0]),
        t[1],
        r(t[1]),
        t[2],
        r(t[2]),
        t[3],
        r(t[3]),
        t[4],
    );
    ExitCode::SUCCESS
}
