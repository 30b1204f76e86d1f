//! The fault scenario, launched by zombienet-sdk 0.7.1 (native provider)
//! from `zombienet/fault.toml`: 6 parajam validators and an ordinary node
//! grow one chain; validator `jam3` is stopped (SIGSTOP) while the others
//! go on producing and finalizing, then restarted (killed and started
//! again by zombienet on its data directory): it resumes from its database
//! and catches up with the network over JAMNP-S (block requests), its own
//! JIP-2 server showing the network's best block. Loopback only, bounded
//! in time, every process stopped at the end (`Network::destroy`).
//!
//! `cargo nextest run --release -p parajam-zombienet --test fault`
//! (`PARAJAM_BIN` to use a given binary; otherwise the release build's,
//! built first).

use std::time::{Duration, Instant};

use parajam_zombienet::{rpc_url_in_log, Jip2, RPC_NODE};
use zombienet_sdk::{LocalFileSystem, Network};

mod common;

/// The validator stopped and restarted.
const VICTIM: &str = "jam3";
/// Blocks (slots with a block) the others must add while it is stopped.
const WHILE_STOPPED: u64 = 3;
/// The whole scenario, spawn included.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(1200);
/// One wait for the chain.
const STEP: Duration = Duration::from_secs(180);

async fn jip2_of(network: &Network<LocalFileSystem>, name: &str) -> anyhow::Result<Jip2> {
    let node = network.get_jam_node(name)?;
    let deadline = Instant::now() + STEP;
    loop {
        let log = node.core().logs().await?;
        if let Some(url) = rpc_url_in_log(&log) {
            return Jip2::connect(&url, STEP).await;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{name} logs no JIP-2 server:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn scenario(network: &Network<LocalFileSystem>) -> anyhow::Result<()> {
    let started = Instant::now();
    let rpc_node = network.get_jam_node(RPC_NODE)?;
    let rpc = Jip2::connect(&rpc_node.ws_uri(), STEP).await?;
    // The chain grows and finalizes with all six.
    let first = rpc.wait_past("bestBlock", 2, STEP).await?;
    let finalized = rpc.wait_past("finalizedBlock", 0, STEP).await?;
    println!(
        "all 6 validators: best slot {}, finalized slot {} ({:?} after spawn)",
        first.1,
        finalized.1,
        started.elapsed()
    );
    let victim = network.get_jam_node(VICTIM)?;
    let victim_rpc = jip2_of(network, VICTIM).await?;
    let victim_best = victim_rpc.wait_past("bestBlock", first.1 - 1, STEP).await?;
    println!("{VICTIM} at slot {} before it stops", victim_best.1);

    // Stopped: the other five go on, blocks and finality.
    victim.core().pause().await?;
    let stopped_at = rpc.block("bestBlock").await?;
    let final_at = rpc.block("finalizedBlock").await?;
    let mut best = stopped_at.clone();
    for _ in 0..WHILE_STOPPED {
        best = rpc.wait_past("bestBlock", best.1, STEP).await?;
    }
    let final_after = rpc.wait_past("finalizedBlock", final_at.1, STEP).await?;
    println!(
        "{VICTIM} stopped at slot {}: the others reached slot {} (finalized {})",
        stopped_at.1, best.1, final_after.1
    );

    // Restarted on its data: it resumes and catches up.
    victim.core().restart(None).await?;
    let restarted_at = rpc.block("bestBlock").await?;
    let deadline = Instant::now() + STEP;
    let log = loop {
        let log = victim.core().logs().await?;
        if log.matches("resuming at block").count() >= 1 {
            break log;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{VICTIM} did not resume from its database:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains("resuming at block"))
        .unwrap_or_default();
    println!("{VICTIM} restarted: {}", line.trim());
    let victim_rpc = jip2_of(network, VICTIM).await?;
    // Caught up: the same best block as the network's, past the slot at
    // which it came back.
    let deadline = Instant::now() + STEP;
    let caught_up = loop {
        let theirs = victim_rpc.block("bestBlock").await?;
        let ours = rpc.block("bestBlock").await?;
        if theirs == ours && theirs.1 > restarted_at.1 {
            break theirs;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{VICTIM} did not catch up: it is at {theirs:?}, the network at {ours:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let finalized = rpc.wait_past("finalizedBlock", final_after.1, STEP).await?;
    println!(
        "{VICTIM} caught up at slot {} (restarted at slot {}); finalized slot {}; scenario {:?}",
        caught_up.1,
        restarted_at.1,
        finalized.1,
        started.elapsed()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_a_validator_stopped_and_restarted_catches_up() -> anyhow::Result<()> {
    common::run_scenario("fault.toml", SCENARIO_TIMEOUT, scenario).await
}
