//! What every scenario test does around its scenario: spawn the network
//! of a definition, run the scenario, stop every process, and remove
//! zombienet's directory after a passed run (a failed one keeps its logs).

use std::time::{Duration, Instant};

use parajam_zombienet::{load_toml, Inputs};
use zombienet_sdk::{LocalFileSystem, Network, NetworkConfigExt};

/// Spawns the network `definition` (a TOML file of `zombienet/`) and runs
/// `scenario` on it, each within `timeout`.
pub async fn run_scenario(
    definition: &str,
    timeout: Duration,
    scenario: impl AsyncFnOnce(&Network<LocalFileSystem>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let inputs = Inputs::from_workspace()?;
    let config = load_toml(definition, &inputs)?;
    let started = Instant::now();
    let network = tokio::time::timeout(timeout, config.spawn_native())
        .await
        .map_err(|_| anyhow::anyhow!("zombienet did not spawn the network in time"))??;
    println!(
        "zombienet spawned the network in {:?}, base dir {:?}",
        started.elapsed(),
        network.base_dir()
    );
    let result = tokio::time::timeout(timeout, scenario(&network))
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("the scenario took too long")));
    let base_dir = network.base_dir().map(std::path::PathBuf::from);
    network.destroy().await?;
    // The logs stay for a failed run; a passed one leaves nothing behind.
    if let (Ok(()), Some(dir)) = (&result, base_dir) {
        std::fs::remove_dir_all(dir)?;
    }
    result
}
