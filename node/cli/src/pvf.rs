//! `parajam pvf run`: validates one parachain block with one PVF, on the
//! PVM (a PVF artifact, through the CoreChains service's executor) or on
//! wasmtime (a wasm PVF, the relay chain's legacy path), and prints the
//! result and the time.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;
use parajam_corechains_types::ValidationResult;
use parajam_pvf::{pvm, wasm::WasmPvf, LogLine, Validated};
use parajam_pvm::{Pvm, PvmFlavor};
use parity_scale_codec::Decode;

use crate::chain_args::BackendChoice;

/// PVF tools.
#[derive(Debug, clap::Args)]
pub struct PvfArgs {
    #[command(subcommand)]
    command: PvfCommand,
}

#[derive(Debug, Subcommand)]
enum PvfCommand {
    /// Validate one block with one PVF on one engine.
    Run(RunArgs),
    /// Recompile a cumulus parachain runtime for CoreChains: build it for
    /// the PVM (and wasm), print the PVF artifact, its code hash and imports.
    Build(crate::pvf_build::BuildArgs),
}

/// `parajam pvf run`.
#[derive(Debug, clap::Args)]
struct RunArgs {
    /// A PVF artifact (PJVF, from the build of a PVF for the PVM), run by the
    /// CoreChains service's executor on the PVM.
    #[arg(long, required_unless_present = "wasm", conflicts_with = "wasm")]
    pvm: Option<PathBuf>,
    /// A wasm PVF, run on wasmtime as the relay chain runs it.
    #[arg(long)]
    wasm: Option<PathBuf>,
    /// The SCALE-encoded `ValidationParams` (parent head, block data, relay
    /// parent number and storage root).
    #[arg(long)]
    params: PathBuf,
    /// Gas (PVM) or fuel (wasm) limit.
    #[arg(long, default_value_t = 5_000_000_000)]
    gas: u64,
    /// PVM backend.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendChoice,
    /// Also write the result octets (the encoded `ValidationResult`) here.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `parajam pvf <command>`.
pub fn run(args: &PvfArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        PvfCommand::Run(run) => run_one(run),
        PvfCommand::Build(build) => crate::pvf_build::run(build),
    }
}

fn run_one(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let params = std::fs::read(&args.params)
        .with_context(|| format!("reading the params {}", args.params.display()))?;
    let (engine, outcome, logs, elapsed) = if let Some(path) = &args.pvm {
        let artifact =
            std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let engine = Pvm::new(PvmFlavor::Gp072).context("starting the PVM")?;
        let backend = args.backend.resolve(&engine)?;
        let start = Instant::now();
        let outcome = pvm::validate_block(&engine, backend, &artifact, &params, args.gas);
        let elapsed = start.elapsed();
        let (outcome, logs) = split(outcome);
        (format!("pvm ({})", backend.name()), outcome, logs, elapsed)
    } else {
        let path = args.wasm.as_ref().context("--pvm or --wasm")?;
        let code = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let start = Instant::now();
        let outcome = WasmPvf::new(&code)
            .map_err(anyhow::Error::from)?
            .validate_block(&params, args.gas);
        let elapsed = start.elapsed();
        let (outcome, logs) = split(outcome);
        ("wasm (wasmtime)".to_owned(), outcome, logs, elapsed)
    };
    for line in &logs {
        tracing::info!(
            target: "pvf",
            "{:?} {}: {}",
            line.level,
            String::from_utf8_lossy(&line.target),
            String::from_utf8_lossy(&line.message)
        );
    }
    println!("engine: {engine}");
    // Both engines: compiling the PVF and running it.
    println!(
        "time: {:.3} ms (compile and run)",
        elapsed.as_secs_f64() * 1e3
    );
    let validated = match outcome {
        Ok(validated) => validated,
        Err(e) => {
            println!("invalid: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    println!(
        "{}: {}, host calls: {}",
        if args.pvm.is_some() {
            "gas used"
        } else {
            "fuel used"
        },
        validated.used,
        validated.host_calls
    );
    println!("result: 0x{}", hex::encode(&validated.result));
    if let Some(out) = &args.out {
        std::fs::write(out, &validated.result)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    match ValidationResult::decode(&mut &validated.result[..]) {
        Ok(r) => {
            println!(
                "head: 0x{} ({} octets)",
                hex::encode(&r.head_data.0),
                r.head_data.0.len()
            );
            println!(
                "new code: {}, upward: {}, horizontal: {}, downward processed: {}, hrmp watermark: {}",
                r.new_validation_code
                    .map_or_else(|| "none".to_owned(), |c| format!("{} octets", c.0.len())),
                r.upward_messages.len(),
                r.horizontal_messages.len(),
                r.processed_downward_messages,
                r.hrmp_watermark
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("invalid: the result is not a ValidationResult ({e})");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn split<E>(outcome: Result<(Validated, Vec<LogLine>), E>) -> (Result<Validated, E>, Vec<LogLine>) {
    match outcome {
        Ok((validated, logs)) => (Ok(validated), logs),
        Err(e) => (Err(e), Vec::new()),
    }
}
