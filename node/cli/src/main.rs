//! `parajam`: the parajam JAM node and its tools.

mod chain_args;
mod collate;
mod fuzz_target;
mod import;
mod metrics;
mod net;
mod net_loop;
mod pvf;
mod pvf_build;
mod pvf_check;
mod run;
mod spec_cmd;
mod xcm_check;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// parajam: a JAM (Gray Paper 0.7.2) node for running parachains on JAM.
#[derive(Debug, Parser)]
#[command(name = "parajam", version, about)]
struct Cli {
    /// The chain: `dev` (tiny parameters, the JIP-5 dev validators, the
    /// CoreChains service with the adder), `tiny` (the same), `full`, or a
    /// JIP-4 chain spec file.
    #[arg(long, global = true)]
    chain: Option<String>,
    /// A directory of node configuration (zombienet's; noted, not read yet).
    #[arg(long, global = true)]
    config_path: Option<std::path::PathBuf>,
    /// Log filter directives, `target=level` (e.g. `-l parajam=debug`);
    /// repeatable, added to RUST_LOG's or the default.
    #[arg(short = 'l', long = "log", global = true, value_name = "TARGET=LEVEL")]
    log: Vec<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay a trace directory: per-block result and time, then a summary.
    Import(import::ImportArgs),
    /// Serve the JAM conformance fuzzer protocol on a Unix socket.
    FuzzTarget(fuzz_target::FuzzTargetArgs),
    /// Parachain validation functions: run one on the PVM or on wasm, or
    /// build a parachain runtime for the PVM.
    Pvf(pvf::PvfArgs),
    /// Run a node: the chain of `--chain` (or `--dev`), authored with the
    /// dev validator keys it holds, stored on disk, served over JIP-2 RPC,
    /// with the work-package pipeline and Prometheus metrics.
    Run(run::RunArgs),
    /// The mini collator against a live node: builds a para's blocks,
    /// submits them as work packages over JIP-2 RPC and follows each until
    /// it is enacted, one line per block.
    Collate(Box<collate::CollateArgs>),
    /// Write the dev chain's JIP-4 spec.
    BuildSpec(spec_cmd::BuildSpecArgs),
    /// Write a JIP-4 spec from zombienet's JAM config (`id`,
    /// `genesis_validators`).
    GenSpec(spec_cmd::GenSpecArgs),
    /// Print the adder para's genesis head (zombienet-sdk's para artifact).
    ExportGenesisState(spec_cmd::ExportGenesisArgs),
    /// Print the adder para's code, its PVF artifact (zombienet-sdk's para
    /// artifact).
    ExportGenesisWasm(spec_cmd::ExportGenesisArgs),
    /// XCM between parachains on JAM: `xcm check` runs two paras on a dev
    /// chain, a channel opened by XCM, a transfer, the channel closed.
    Xcm(xcm_check::XcmArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // parajam's own lines; a runtime's (the mini collator runs runtimes
    // natively, their pallets log under their own targets) only warnings,
    // and `runtime::*` only when asked for (`RUST_LOG=runtime=debug`).
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,parajam=info,runtime=off"));
    for directive in &cli.log {
        match directive.parse() {
            Ok(d) => filter = filter.add_directive(d),
            Err(e) => {
                eprintln!("-l {directive}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    // The programs built into this binary may run in the recompiler's
    // in-process sandbox (see `trust_programs`); nothing else is trusted.
    parajam_corechains_build::trust_programs();
    let result = match cli.command {
        Command::Import(args) => import::run(&args),
        Command::FuzzTarget(args) => fuzz_target::run(&args),
        Command::Pvf(args) => pvf::run(&args),
        Command::Run(args) => run::run(&args, cli.chain.as_deref(), cli.config_path.as_ref()),
        Command::Collate(args) => collate::run(&args, cli.chain.as_deref()),
        Command::BuildSpec(args) => spec_cmd::build_spec(&args),
        Command::GenSpec(args) => spec_cmd::gen_spec(&args),
        Command::ExportGenesisState(args) => Ok(spec_cmd::export_genesis(
            &args,
            spec_cmd::GenesisArtifact::State,
        )),
        Command::ExportGenesisWasm(args) => Ok(spec_cmd::export_genesis(
            &args,
            spec_cmd::GenesisArtifact::Code,
        )),
        Command::Xcm(args) => xcm_check::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}
