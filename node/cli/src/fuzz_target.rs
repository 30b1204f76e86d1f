//! `parajam fuzz-target --socket <path>`: serves the JAM conformance fuzzer
//! protocol v1 on a Unix socket, one connection after another, importing
//! with parajam's block import (forks included).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use parajam_chain::ChainTarget;
use parajam_fuzz::{Config, Server};

use crate::chain_args::ChainArgs;

#[derive(Debug, clap::Args)]
pub struct FuzzTargetArgs {
    /// The Unix socket to listen on (a stale socket there is replaced).
    #[arg(long)]
    socket: PathBuf,
    #[command(flatten)]
    chain: ChainArgs,
}

pub fn run(args: &FuzzTargetArgs) -> anyhow::Result<ExitCode> {
    let params = args.chain.parameters()?;
    let target = ChainTarget::new(args.chain.chain()?);
    let server = Server::bind(&args.socket, Config::new(params))
        .with_context(|| format!("binding {}", args.socket.display()))?;
    tracing::info!("fuzz target listening on {}", args.socket.display());
    let never = server.run(|| target.clone());
    let e = match never {
        Ok(never) => match never {},
        Err(e) => e,
    };
    Err(anyhow::Error::new(e).context("accepting connections"))
}
