//! `parajam import <trace-dir>`: replays a trace directory (the layout of
//! the conformance traces: an optional `genesis.bin`, then one file per
//! step with its pre-state, block and post-state), printing per block
//! ok/error and the import time, then a summary. Exits non-zero when any
//! posterior state root differs from the trace's; a mismatch lists the
//! differing keys by state component and field. A step whose block does
//! not decode counts as rejected when the trace keeps the pre-state.
//!
//! Each step carries its own pre-state: when it is not the state the
//! replay is at (no genesis, a later start, gaps, forks), the replay
//! restarts from that pre-state.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use parajam_chain::Chain;
use parajam_primitives::types::{decode_trace_step, Genesis, TraceStep};
use parajam_primitives::ProtocolParameters;
use parajam_state::diff::diff_key_values;
use parajam_stf::header::header_hash;

use crate::chain_args::ChainArgs;

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The trace directory.
    dir: PathBuf,
    #[command(flatten)]
    chain: ChainArgs,
    /// Print only the summary.
    #[arg(long)]
    quiet: bool,
}

fn steps(dir: &Path) -> anyhow::Result<(Option<PathBuf>, Vec<PathBuf>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    files.sort();
    let genesis = files
        .iter()
        .position(|p| p.file_stem().is_some_and(|s| s == "genesis"))
        .map(|i| files.remove(i));
    Ok((genesis, files))
}

/// `p`-th percentile (nearest rank) of sorted durations.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * sorted.len()).div_ceil(100).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// The keys where the state `step`'s block imported to differs from the
/// step's post-state, one indented line each, by component and field.
fn differing_keys(chain: &Chain, step: &TraceStep, params: &ProtocolParameters) -> String {
    let got = chain
        .state(&header_hash(&step.block.header))
        .map(parajam_state::State::to_key_values)
        .unwrap_or_default();
    diff_key_values(&step.post_state.keyvals, &got, params)
        .iter()
        .fold(String::new(), |mut out, d| {
            let _ = write!(out, "\n    {d}");
            out
        })
}

/// Sets the chain to the genesis state in `path`, checking its root.
fn start_from_genesis(
    chain: &mut Chain,
    path: &Path,
    params: &ProtocolParameters,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let g: Genesis = parajam_primitives::decode(&bytes, params)
        .with_context(|| format!("decoding {}", path.display()))?;
    let root = chain.set_state(header_hash(&g.header), &g.state.keyvals, Some(Vec::new()))?;
    if root != g.state.state_root {
        anyhow::bail!(
            "genesis state root {root} differs from the trace's {}",
            g.state.state_root
        );
    }
    Ok(())
}

pub fn run(args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let params = args.chain.parameters()?;
    let mut chain = args.chain.chain()?;
    let (genesis, files) = steps(&args.dir)?;
    if files.is_empty() {
        anyhow::bail!("no step files (*.bin) in {}", args.dir.display());
    }
    if let Some(path) = genesis {
        start_from_genesis(&mut chain, &path, &params)?;
    }

    let (mut ok, mut rejected, mut mismatched, mut restarts) = (0usize, 0usize, 0usize, 0usize);
    let mut times = Vec::with_capacity(files.len());
    for path in &files {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let step: TraceStep = match decode_trace_step(&bytes, &params) {
            Ok(Ok(step)) => step,
            // A block that does not decode is rejected; the trace has
            // the pre-state as its post-state.
            Ok(Err(undecodable)) => {
                rejected += 1;
                if !args.quiet {
                    println!(
                        "{name}: rejected (as the trace expects): the block does not decode: {}",
                        undecodable.error
                    );
                }
                continue;
            }
            Err(e) => {
                println!("{name}: MISMATCH: undecodable step file: {e}");
                mismatched += 1;
                continue;
            }
        };
        if chain.head().map(|(_, root)| root) != Some(step.pre_state.state_root) {
            chain.set_state(step.block.header.parent, &step.pre_state.keyvals, None)?;
            restarts += 1;
            if !args.quiet {
                println!("{name}: (re)starting from the step's pre-state");
            }
        }
        let invalid = step.post_state.state_root == step.pre_state.state_root;
        let start = Instant::now();
        let result = chain.import(&step.block);
        let elapsed = start.elapsed();
        times.push(elapsed);
        let line = match result {
            Ok(root) if !invalid && root == step.post_state.state_root => {
                ok += 1;
                format!("ok       {}", ms(elapsed))
            }
            Ok(root) => {
                mismatched += 1;
                let keys = differing_keys(&chain, &step, &params);
                format!(
                    "MISMATCH {}: root {root}, trace {}{}{keys}",
                    ms(elapsed),
                    step.post_state.state_root,
                    if invalid {
                        " (the trace rejects this block)"
                    } else {
                        ""
                    }
                )
            }
            Err(e) if invalid => {
                rejected += 1;
                format!("rejected {} (as the trace expects): {e}", ms(elapsed))
            }
            Err(e) => {
                mismatched += 1;
                format!("ERROR    {}: {e}", ms(elapsed))
            }
        };
        if !args.quiet || line.starts_with("MISMATCH") || line.starts_with("ERROR") {
            println!("slot {:>6} {name}: {line}", step.block.header.slot);
        }
    }

    let total: Duration = times.iter().sum();
    let count = u32::try_from(times.len()).unwrap_or(u32::MAX).max(1);
    times.sort();
    println!(
        "{} blocks: {ok} ok, {rejected} rejected as expected, {mismatched} mismatched; {restarts} (re)starts from a pre-state",
        files.len()
    );
    println!(
        "import time: mean {}, p50 {}, p90 {}, max {}",
        ms(total / count),
        ms(percentile(&times, 50)),
        ms(percentile(&times, 90)),
        ms(times.last().copied().unwrap_or_default())
    );
    Ok(if mismatched == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
