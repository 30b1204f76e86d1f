//! Blocks of `runtime/parachain` (a real cumulus runtime: inherents, two
//! signed transfers each) validated on both engines in the same run:
//!
//! - the PVM path: the CoreChains executor with the runtime's PVF artifact
//!   as an inner machine, as refine runs it, on the recompiler warm (the
//!   compiled module from the PVM's module cache: a node validating many
//!   blocks of one para) and cold (every call compiles the 5.7 MB program);
//! - the legacy path: the relay chain's own PVF executor, warm (prepared
//!   once; each call deserializes the artifact, instantiates and executes
//!   on a fresh thread, as the execute worker does) and cold (prepare, i.e.
//!   wasmtime compiling the 7 MB runtime, then execute).
//!
//! And loading alone: the PVM's artifact parse and program compile against
//! the relay chain's prepare. Prints medians per block and the ratios.
//!
//! `cargo bench -p parajam-rehearsal --bench parachain` (the runtime builds
//! first if the cache does not have it). Without `--bench` it checks that
//! both engines give the same octets for every block, once.
//! `PARAJAM_BENCH_RUNTIME=<runtime crate dir>` measures another cumulus
//! runtime (its `development` preset) instead, e.g. a system runtime from
//! crates.io (issue 23).

use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use parajam_bench::{median, pvf_report, Unit};
use parajam_pvf::{legacy, pvm};
use parajam_pvm::{Backend, Pvm, PvmFlavor};
use parajam_rehearsal::{Code, Config, Rehearsal, Scenario};

const GAS: u64 = 1_000_000_000;
const BLOCKS: u32 = 4;

/// The runtime crate measured: `PARAJAM_BENCH_RUNTIME`, else
/// `runtime/parachain`.
fn runtime_dir() -> PathBuf {
    std::env::var_os("PARAJAM_BENCH_RUNTIME").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../runtime/parachain"),
        PathBuf::from,
    )
}

struct Engines {
    code: Code,
    blocks: Vec<Vec<u8>>,
    warm_pvm: Pvm,
    cold_pvm: Pvm,
    compiler: Backend,
    prepared: legacy::Prepared,
}

impl Engines {
    fn new() -> Result<Self, String> {
        let dir = runtime_dir();
        let built = parajam_pvf_build::build(&parajam_pvf_build::Options::new(dir.clone()))
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        let wasm = built.wasm.ok_or("no wasm runtime")?;
        let code = Code::new(
            std::fs::read(&wasm.path).map_err(|e| e.to_string())?,
            std::fs::read(&built.pvf).map_err(|e| e.to_string())?,
        );
        // Real blocks, made and enacted by a rehearsal.
        let mut rehearsal =
            Rehearsal::new(code.clone(), Config::default()).map_err(|e| e.to_string())?;
        let mut blocks = Vec::new();
        let scenario = Scenario {
            blocks: BLOCKS,
            transfers: 2,
            ..Scenario::default()
        };
        let reports = rehearsal
            .run(&scenario, |candidate, _| {
                blocks.push(candidate.validation_params());
            })
            .map_err(|e| e.to_string())?;
        if reports.iter().any(|r| !r.ok()) {
            return Err("a block of the rehearsal is not OK".into());
        }
        let warm_pvm = Pvm::new(PvmFlavor::Gp072).map_err(|e| e.to_string())?;
        let compiler = warm_pvm.preferred_backend();
        let cold_pvm = Pvm::new(PvmFlavor::Gp072)
            .map_err(|e| e.to_string())?
            .with_module_cache_capacity(0);
        let prepared = legacy::prepare(&code.wasm).map_err(|e| e.to_string())?;
        Ok(Self {
            code,
            blocks,
            warm_pvm,
            cold_pvm,
            compiler,
            prepared,
        })
    }

    fn pvm(&self, cold: bool, block: &[u8]) -> (Vec<u8>, u64, u32) {
        self.pvm_on(self.compiler, cold, block)
    }

    fn pvm_on(&self, backend: Backend, cold: bool, block: &[u8]) -> (Vec<u8>, u64, u32) {
        let engine = if cold { &self.cold_pvm } else { &self.warm_pvm };
        let (validated, _) = pvm::validate_block(engine, backend, &self.code.pvf, block, GAS)
            .expect("valid on the PVM");
        (validated.result, validated.used, validated.host_calls)
    }

    fn wasm_warm(&self, block: &[u8]) -> Vec<u8> {
        self.prepared
            .validate_block(block)
            .expect("valid on wasm")
            .result
    }

    fn wasm_cold(&self, block: &[u8]) -> Vec<u8> {
        legacy::validate_block(&self.code.wasm, block)
            .expect("valid on wasm")
            .result
    }

    fn pvm_load(&self) {
        parajam_bench::pvm_load(&self.cold_pvm, self.compiler, &self.code.pvf);
    }

    fn agree(&self) -> Result<(), String> {
        for (n, block) in self.blocks.iter().enumerate() {
            let (pvm, _, _) = self.pvm(false, block);
            if pvm != self.wasm_warm(block) {
                return Err(format!("block {}: the PVM and wasm differ", n + 1));
            }
        }
        Ok(())
    }
}

fn run(e: &Engines) {
    let per_block = |f: &dyn Fn(&[u8]), budget: u64, min: usize| {
        let mut i = 0;
        median(
            || {
                f(&e.blocks[i % e.blocks.len()]);
                i += 1;
            },
            Duration::from_secs(budget),
            min,
        )
    };
    let pvm_warm = per_block(&|b| drop(black_box(e.pvm(false, b))), 10, 11);
    let pvm_cold = per_block(&|b| drop(black_box(e.pvm(true, b))), 10, 5);
    let interpreter = Backend::Interpreter;
    let interpreter_warm = per_block(
        &|b| drop(black_box(e.pvm_on(interpreter, false, b))),
        10,
        11,
    );
    let interpreter_cold = per_block(&|b| drop(black_box(e.pvm_on(interpreter, true, b))), 10, 5);
    let wasm_warm = per_block(&|b| drop(black_box(e.wasm_warm(b))), 10, 11);
    let wasm_cold = per_block(&|b| drop(black_box(e.wasm_cold(b))), 20, 5);
    let pvm_load = median(|| e.pvm_load(), Duration::from_secs(10), 5);
    let wasm_prepare = median(
        || drop(black_box(legacy::prepare(&e.code.wasm))),
        Duration::from_secs(20),
        5,
    );
    let runs: Vec<(u64, u32)> = e
        .blocks
        .iter()
        .map(|b| {
            let (_, gas, calls) = e.pvm(false, b);
            (gas, calls)
        })
        .collect();
    println!(
        "{}: {} blocks, PVF {} B, wasm {} B; (gas, host calls) per block {:?} ({})",
        runtime_dir().display(),
        e.blocks.len(),
        e.code.pvf.len(),
        e.code.wasm.len(),
        runs,
        e.compiler.name()
    );
    println!(
        "load alone: PVM artifact parse + program compile {:.1} ms, wasm prepare {:.1} ms",
        Unit::Millis.of(pvm_load),
        Unit::Millis.of(wasm_prepare)
    );
    print!(
        "{}",
        pvf_report(
            (pvm_warm, pvm_cold),
            (interpreter_warm, interpreter_cold),
            (wasm_warm, wasm_cold),
            (pvm_load, wasm_prepare),
            Unit::Millis,
        )
    );
}

fn main() -> ExitCode {
    let engines = match Engines::new() {
        Ok(engines) => engines,
        Err(e) => {
            eprintln!("parachain bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = engines.agree() {
        eprintln!("parachain bench: {e}");
        return ExitCode::FAILURE;
    }
    if std::env::args().any(|a| a == "--bench") {
        run(&engines);
    }
    ExitCode::SUCCESS
}
