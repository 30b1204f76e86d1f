//! One adder block validated on both engines in the same run: the PVM path
//! (the CoreChains executor with the adder's PVF artifact as an inner
//! machine, recompiler; each call sets up a fresh inner machine, compiling
//! its code, as refine does) against the legacy path (wasmtime: a fresh
//! instance of the compiled module per call, as the relay chain's executor
//! does). Prints the median time per block of each and the ratio.
//!
//! `cargo bench -p parajam-pvf --bench engines`. Run without `--bench` (as
//! `cargo test --benches` does) it checks both give the same octets, once.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use parajam_adder::{BlockData, HeadData};
use parajam_corechains_types as types;
use parajam_pvf::{pvm, wasm::WasmPvf};
use parajam_pvm::{Pvm, PvmFlavor};
use parity_scale_codec::Encode;

const GAS: u64 = 100_000_000;

fn median(mut f: impl FnMut(), budget: Duration) -> Duration {
    let mut samples = Vec::new();
    let end = Instant::now() + budget;
    while Instant::now() < end || samples.len() < 11 {
        let start = Instant::now();
        f();
        samples.push(start.elapsed());
    }
    samples.sort();
    samples[samples.len() / 2]
}

fn main() -> ExitCode {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let params = types::ValidationParams {
        parent_head: types::HeadData(HeadData::genesis(0).encode().to_vec()),
        block_data: types::BlockData(BlockData { state: 0, add: 5 }.encode().to_vec()),
        relay_parent_number: 1,
        relay_parent_storage_root: [0; 32],
    }
    .encode();
    let engine = Pvm::new(PvmFlavor::Gp072).expect("a PVM");
    let backend = engine.preferred_backend();
    let wasm = WasmPvf::new(parajam_adder_build::WASM).expect("the wasm PVF compiles");
    let on_pvm = || {
        pvm::validate_block(
            &engine,
            backend,
            parajam_adder_build::PVF_ARTIFACT,
            &params,
            GAS,
        )
        .expect("valid on the PVM")
        .0
    };
    let on_wasm = || wasm.validate_block(&params, GAS).expect("valid on wasm").0;
    let (a, b) = (on_pvm(), on_wasm());
    if a.result != b.result {
        eprintln!("engines bench: the PVM and wasm results differ");
        return ExitCode::FAILURE;
    }
    if !bench_mode {
        return ExitCode::SUCCESS;
    }
    let budget = Duration::from_secs(3);
    let pvm_time = median(|| drop(std::hint::black_box(on_pvm())), budget);
    let wasm_time = median(|| drop(std::hint::black_box(on_wasm())), budget);
    println!(
        "adder block, PVM ({}, {} gas): {:.1} µs",
        backend.name(),
        a.used,
        pvm_time.as_secs_f64() * 1e6
    );
    println!(
        "adder block, wasm (wasmtime, {} fuel): {:.1} µs",
        b.used,
        wasm_time.as_secs_f64() * 1e6
    );
    println!(
        "RATIO pvm/wasm: {:.2}",
        pvm_time.as_secs_f64() / wasm_time.as_secs_f64()
    );
    ExitCode::SUCCESS
}
