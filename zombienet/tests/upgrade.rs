//! The upgrade rehearsal, launched by zombienet-sdk 0.7.1 (native
//! provider) from `zombienet/upgrade.toml`: 6 parajam validators, an
//! ordinary node, and para 2001 (`runtime/parachain`) collated by `parajam
//! collate` against the ordinary node's JIP-2 RPC. The collator registers
//! the para, builds blocks, authorizes the upgrade to the runtime's
//! `upgraded` build in para block 3 and provides its PVF artifact; the
//! para's `set_code` applies it; blocks follow. The test checks the
//! collator's lines (registered, build registered, code changed, blocks
//! before and after) and, over the ordinary node's JIP-2 RPC, that the
//! para's code hash in the CoreChains service changed from the one at
//! registration. Loopback only, bounded in time, every process stopped at
//! the end.
//!
//! `cargo nextest run --release --manifest-path zombienet/Cargo.toml
//! --test upgrade`. The registrar's package submitted to the ordinary node
//! goes to the core's guarantors (CE 133/134/135/141); the PVF artifacts
//! the collator submits to it with JIP-2 `submitPreimage` reach the
//! validators' blocks through preimage announcements and requests
//! (CE 142/143; README "zombienet").

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use parajam_corechains_types::state::StorageKey;
use parajam_corechains_types::ParaId;
use parajam_zombienet::{Jip2, PARA, RPC_NODE};
use zombienet_sdk::{LocalFileSystem, Network};

mod common;

/// The whole scenario, spawn included (the runtime builds are cached after
/// their first time, tens of minutes cold).
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(3600);
/// Para blocks the collator must print after the code changed.
const BLOCKS_AFTER: usize = 2;

/// The para's current code hash (base64) at the best block.
async fn code_hash(rpc: &Jip2) -> anyhow::Result<Option<String>> {
    let (best, _) = rpc.block("bestBlock").await?;
    let key = STANDARD.encode(StorageKey::Code(ParaId(PARA)).to_key());
    rpc.service_value(&best, 1000, &key).await
}

/// Waits until the collator's log has `needle` `count` times; the log.
async fn wait_log(
    network: &Network<LocalFileSystem>,
    needle: &str,
    count: usize,
    until: Instant,
) -> anyhow::Result<String> {
    let collator = network.get_node("collator")?;
    loop {
        let log = collator.logs().await?;
        if log.matches(needle).count() >= count {
            return Ok(log);
        }
        anyhow::ensure!(
            Instant::now() < until,
            "the collator did not print {needle:?} {count} times:\n{log}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn scenario(network: &Network<LocalFileSystem>) -> anyhow::Result<()> {
    let started = Instant::now();
    let until = started + SCENARIO_TIMEOUT;
    let rpc = Jip2::connect(&network.get_jam_node(RPC_NODE)?.ws_uri(), SCENARIO_TIMEOUT).await?;
    wait_log(network, &format!("para {PARA} registered"), 1, until).await?;
    let before = code_hash(&rpc)
        .await?
        .ok_or_else(|| anyhow::anyhow!("para {PARA} registered but has no code hash"))?;
    println!(
        "para {PARA} registered, code hash {before} ({:?})",
        started.elapsed()
    );
    wait_log(network, "PVM build registered", 1, until).await?;
    let log = wait_log(network, "para code is now PVF", 1, until).await?;
    let enacted_before = log
        .split("para code is now PVF")
        .next()
        .unwrap_or_default()
        .matches("enacted at slot")
        .count();
    anyhow::ensure!(
        enacted_before >= 1,
        "no para block before the upgrade:\n{log}"
    );
    let total = log.matches("enacted at slot").count();
    let log = wait_log(network, "enacted at slot", total + BLOCKS_AFTER, until).await?;
    let after = code_hash(&rpc)
        .await?
        .ok_or_else(|| anyhow::anyhow!("para {PARA} lost its code hash"))?;
    anyhow::ensure!(after != before, "the code hash over RPC is still {before}");
    for line in log.lines().filter(|l| {
        l.contains("enacted at slot") || l.contains("code is now") || l.contains("registered")
    }) {
        println!("collator: {line}");
    }
    println!(
        "para {PARA}: {enacted_before} blocks before the upgrade, code hash {before} -> {after} \
         over JIP-2, {BLOCKS_AFTER}+ blocks after ({:?})",
        started.elapsed()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_rehearsal_runtime_parachain_upgraded_on_the_live_network() -> anyhow::Result<()> {
    common::run_scenario("upgrade.toml", SCENARIO_TIMEOUT, scenario).await
}
