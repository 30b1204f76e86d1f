//! One adder block validated on both engines in the same run:
//!
//! - the PVM path: the CoreChains executor with the adder's PVF artifact as
//!   an inner machine, as refine runs it (each call parses the code, starts
//!   an instance and copies its pages in and out), on the recompiler warm
//!   (its compiled module from the PVM's module cache, as a node running
//!   many blocks of one para) and cold (no module cache: every call
//!   compiles the program), and the same on the interpreter;
//! - the legacy path: the relay chain's own PVF executor
//!   (`parajam_pvf::legacy`), cold (prepare, i.e. compile, then execute)
//!   and warm (prepared once; each call is the execute worker's job:
//!   deserialize the artifact, instantiate, call, on a fresh thread).
//!
//! Also what loading the program costs alone on each: the relay chain's
//! prepare (decompress, prevalidate, compile) against the PVM's artifact
//! parse and program compile (recompiler). Prints the median of each and its
//! ratio to the legacy path's, warm to warm and cold to cold.
//!
//! `cargo bench -p parajam-pvf --bench engines`. Run without `--bench` (as
//! `cargo test --benches` does) it checks the engines give the same octets,
//! once.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Duration;

use parajam_adder::{BlockData, HeadData};
use parajam_bench::{median, pvf_report, Unit};
use parajam_corechains_types::{self as types};
use parajam_pvf::{legacy, pvm, Validated};
use parajam_pvm::{Backend, Pvm, PvmFlavor};
use parity_scale_codec::Encode;

const GAS: u64 = 100_000_000;

/// The adder block's params.
fn adder_params() -> Vec<u8> {
    types::ValidationParams {
        parent_head: types::HeadData(HeadData::genesis(0).encode().to_vec()),
        block_data: types::BlockData(BlockData { state: 0, add: 5 }.encode().to_vec()),
        relay_parent_number: 1,
        relay_parent_storage_root: [0; 32],
    }
    .encode()
}

/// The engines under test.
struct Engines {
    params: Vec<u8>,
    /// With the module cache (compiled once).
    warm_pvm: Pvm,
    /// Without (compiled per call).
    cold_pvm: Pvm,
    compiler: Backend,
    prepared: legacy::Prepared,
}

impl Engines {
    fn new() -> Self {
        let warm_pvm = Pvm::new(PvmFlavor::Gp072).expect("a PVM");
        let compiler = warm_pvm.preferred_backend();
        Self {
            params: adder_params(),
            warm_pvm,
            cold_pvm: Pvm::new(PvmFlavor::Gp072)
                .expect("a PVM")
                .with_module_cache_capacity(0),
            compiler,
            prepared: legacy::prepare(parajam_adder_build::WASM).expect("the wasm PVF prepares"),
        }
    }

    fn pvm(&self, cold: bool, backend: Backend) -> Validated {
        let engine = if cold { &self.cold_pvm } else { &self.warm_pvm };
        pvm::validate_block(
            engine,
            backend,
            parajam_adder_build::PVF_ARTIFACT,
            &self.params,
            GAS,
        )
        .expect("valid on the PVM")
        .0
    }

    fn wasm_warm(&self) -> Vec<u8> {
        self.prepared
            .validate_block(&self.params)
            .expect("valid on wasm")
            .result
    }

    fn wasm_cold(&self) -> Vec<u8> {
        legacy::validate_block(parajam_adder_build::WASM, &self.params)
            .expect("valid on wasm")
            .result
    }

    /// Loading the program on the PVM: artifact parse, code parse, compile.
    fn pvm_load(&self) {
        parajam_bench::pvm_load(
            &self.cold_pvm,
            self.compiler,
            parajam_adder_build::PVF_ARTIFACT,
        );
    }

    /// Whether every way gives the recompiler's octets.
    fn agree(&self) -> Result<(), String> {
        let reference = self.pvm(false, self.compiler).result;
        for (name, result) in [
            (
                "the PVM interpreter",
                self.pvm(false, Backend::Interpreter).result,
            ),
            (
                "the PVM without a module cache",
                self.pvm(true, self.compiler).result,
            ),
            ("the relay chain's executor (warm)", self.wasm_warm()),
            ("the relay chain's executor (cold)", self.wasm_cold()),
        ] {
            if result != reference {
                return Err(format!(
                    "{name} and the PVM recompiler give different results"
                ));
            }
        }
        Ok(())
    }
}

fn run(engines: &Engines) {
    let budget = Duration::from_secs(3);
    let compiler = engines.compiler;
    let interpreter = Backend::Interpreter;
    let time = |cold: bool, backend: Backend| {
        median(|| drop(black_box(engines.pvm(cold, backend))), budget, 11)
    };
    let recompiler_warm = time(false, compiler);
    let recompiler_cold = time(true, compiler);
    let interpreter_warm = time(false, interpreter);
    let interpreter_cold = time(true, interpreter);
    let wasm_warm = median(|| drop(black_box(engines.wasm_warm())), budget, 11);
    let wasm_cold = median(|| drop(black_box(engines.wasm_cold())), budget, 11);
    let pvm_load = median(|| engines.pvm_load(), budget, 11);
    let wasm_prepare = median(
        || drop(black_box(legacy::prepare(parajam_adder_build::WASM))),
        budget,
        11,
    );
    let gas = |backend| engines.pvm(false, backend).used;
    println!(
        "adder block: {} gas on the recompiler ({}), {} on the interpreter",
        gas(compiler),
        compiler.name(),
        gas(interpreter)
    );
    println!(
        "load alone: PVM artifact parse + program compile ({}) {:.1} µs, wasm prepare {:.1} µs ({} octets of artifact)",
        compiler.name(),
        Unit::Micros.of(pvm_load),
        Unit::Micros.of(wasm_prepare),
        engines.prepared.artifact_len()
    );
    print!(
        "{}",
        pvf_report(
            (recompiler_warm, recompiler_cold),
            (interpreter_warm, interpreter_cold),
            (wasm_warm, wasm_cold),
            (pvm_load, wasm_prepare),
            Unit::Micros,
        )
    );
}

fn main() -> ExitCode {
    let engines = Engines::new();
    if let Err(e) = engines.agree() {
        eprintln!("engines bench: {e}");
        return ExitCode::FAILURE;
    }
    if std::env::args().any(|a| a == "--bench") {
        run(&engines);
    }
    ExitCode::SUCCESS
}
