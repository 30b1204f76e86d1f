//! `parajam pvf run`: validates one parachain block with one PVF, on the
//! PVM (a PVF artifact, through the CoreChains service's executor) or on
//! wasm (a wasm PVF, prepared and executed by the relay chain's own PVF
//! executor, the legacy path), and prints the result and the time.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Subcommand;
use parajam_corechains_types::ValidationResult;
use parajam_pvf::{legacy, pvm, LogLine, Validated};
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
    Run(Box<RunArgs>),
    /// Recompile a cumulus parachain runtime for CoreChains: build it for
    /// the PVM (and wasm), print the PVF artifact, its code hash and imports.
    Build(Box<crate::pvf_build::BuildArgs>),
    /// Does a cumulus runtime, unchanged, validate on JAM? Make blocks (or
    /// read PoVs), validate each with the relay chain's executor on wasm and
    /// with the CoreChains service's refine on the PVM, compare, enact, and
    /// report per block and in total.
    Check(Box<crate::pvf_check::CheckArgs>),
}

/// `parajam pvf run`.
#[derive(Debug, clap::Args)]
struct RunArgs {
    /// A PVF artifact (PJVF, from the build of a PVF for the PVM), run by the
    /// CoreChains service's executor on the PVM.
    #[arg(long, required_unless_present = "wasm", conflicts_with = "wasm")]
    pvm: Option<PathBuf>,
    /// A wasm PVF (zstd-compressed or not), prepared and executed by the
    /// relay chain's PVF executor as validators run it.
    #[arg(long)]
    wasm: Option<PathBuf>,
    /// The SCALE-encoded `ValidationParams` (parent head, block data, relay
    /// parent number and storage root).
    #[arg(long)]
    params: PathBuf,
    /// Gas limit (PVM; the wasm path has the relay chain's execution
    /// timeout instead).
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
        PvfCommand::Check(check) => crate::pvf_check::run(check),
    }
}

/// One run: the engine, the result octets (or the failure's text), the
/// times and the resources used to print, and the log lines.
struct Run {
    engine: String,
    outcome: Result<Vec<u8>, String>,
    times: String,
    usage: Option<String>,
    logs: Vec<LogLine>,
}

fn run_pvm(args: &RunArgs, path: &std::path::Path, params: &[u8]) -> anyhow::Result<Run> {
    let artifact = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let engine = Pvm::new(PvmFlavor::Gp072).context("starting the PVM")?;
    let backend = args.backend.resolve(&engine)?;
    let start = Instant::now();
    let outcome = pvm::validate_block(&engine, backend, &artifact, params, args.gas);
    let elapsed = start.elapsed();
    let (outcome, logs) = split(outcome);
    let usage = outcome.as_ref().ok().map(|validated| {
        format!(
            "gas used: {}, host calls: {}",
            validated.used, validated.host_calls
        )
    });
    Ok(Run {
        engine: format!("pvm ({})", backend.name()),
        outcome: outcome
            .map(|validated| validated.result)
            .map_err(|e| format!("invalid: {e}")),
        times: format!("{} (compile and run)", ms(elapsed)),
        usage,
        logs,
    })
}

fn run_wasm(path: &std::path::Path, params: &[u8]) -> anyhow::Result<Run> {
    let code = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let start = Instant::now();
    let prepared = legacy::prepare(&code);
    let prepare_time = start.elapsed();
    let (outcome, times) = match prepared {
        Ok(prepared) => {
            let start = Instant::now();
            let outcome = prepared.validate_block(params);
            let execute_time = start.elapsed();
            let times = format!(
                "{} (prepare {}, execute {})",
                ms(prepare_time + execute_time),
                ms(prepare_time),
                ms(execute_time)
            );
            (outcome, times)
        }
        Err(e) => (Err(e), format!("{} (prepare)", ms(prepare_time))),
    };
    let outcome = outcome.map(|validated| validated.result).map_err(|e| {
        if e.is_invalid_candidate() {
            format!("invalid: {e}")
        } else {
            format!("failed: {e}")
        }
    });
    Ok(Run {
        engine: "wasm (the relay chain's PVF executor)".to_owned(),
        outcome,
        times,
        // The executor logs through `log`, which the subscriber prints.
        usage: None,
        logs: Vec::new(),
    })
}

fn ms(time: Duration) -> String {
    format!("{:.3} ms", time.as_secs_f64() * 1e3)
}

fn run_one(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let params = std::fs::read(&args.params)
        .with_context(|| format!("reading the params {}", args.params.display()))?;
    let run = if let Some(path) = &args.pvm {
        run_pvm(args, path, &params)?
    } else {
        let path = args.wasm.as_ref().context("--pvm or --wasm")?;
        run_wasm(path, &params)?
    };
    for line in &run.logs {
        tracing::info!(
            target: "pvf",
            "{:?} {}: {}",
            line.level,
            String::from_utf8_lossy(&line.target),
            String::from_utf8_lossy(&line.message)
        );
    }
    println!("engine: {}", run.engine);
    println!("time: {}", run.times);
    let result = match run.outcome {
        Ok(result) => result,
        Err(e) => {
            println!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    if let Some(usage) = run.usage {
        println!("{usage}");
    }
    println!("result: 0x{}", hex::encode(&result));
    if let Some(out) = &args.out {
        std::fs::write(out, &result).with_context(|| format!("writing {}", out.display()))?;
    }
    match ValidationResult::decode(&mut &result[..]) {
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
