//! `parajam`: the parajam JAM node and its tools.

mod chain_args;
mod fuzz_target;
mod import;
mod pvf;
mod pvf_build;
mod pvf_check;
mod run;
mod xcm_check;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// parajam: a JAM (Gray Paper 0.7.2) node for running parachains on JAM.
#[derive(Debug, Parser)]
#[command(name = "parajam", version, about)]
struct Cli {
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
    /// Run a node: for now a dev chain (`--dev`) authored by the dev
    /// validators, stored on disk and served over JIP-2 RPC.
    Run(run::RunArgs),
    /// XCM between parachains on JAM: `xcm check` runs two paras on a dev
    /// chain, a channel opened by XCM, a transfer, the channel closed.
    Xcm(xcm_check::XcmArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // parajam's own lines; a runtime's (the mini collator runs
                // runtimes natively, their pallets log under their own
                // targets) only warnings, and `runtime::*` only when asked
                // for (`RUST_LOG=runtime=debug`).
                .unwrap_or_else(|_| {
                    tracing_subscriber::EnvFilter::new("warn,parajam=info,runtime=off")
                }),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Import(args) => import::run(&args),
        Command::FuzzTarget(args) => fuzz_target::run(&args),
        Command::Pvf(args) => pvf::run(&args),
        Command::Run(args) => run::run(&args),
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
