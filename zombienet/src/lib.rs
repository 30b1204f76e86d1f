//! parajam as the JAM node of zombienet-sdk 0.7.1 networks (native
//! provider): the network definitions of `zombienet/*.toml` as Rust
//! builders, and what the scenario tests (`tests/`) need to drive them.
//!
//! zombienet-sdk launches a JAM chain as follows (`zombienet-orchestrator`
//! 0.7.1, `spawn_jam`), and parajam answers each step unchanged:
//! - `<chain_spec_command> gen-spec <base>/jam_config.json <base>/jam_spec.json`
//!   (the config lists each validator's `peer_id`, `bandersnatch` key and
//!   `net_addr`): `parajam gen-spec`;
//! - per JAM node, a seed file `<cfg>/<chain>/keys/<node>.seed` and
//!   `parajam --config-path <cfg> --chain <cfg>/jam_spec.json run --data-path
//!   <data> --mode validator|ordinary --peer-id=<id> --port=<p>
//!   [--rpc-port=<p>] [--bootnode <id>@127.0.0.1:<p> …]` plus the node's
//!   `args`; only an ordinary node gets `--rpc-port`, and only its TCP RPC
//!   port is waited for (validators speak QUIC over UDP: not probed);
//! - per para (`cumulus_based = false`, so the collator's `subcommand` is
//!   used): `parajam export-genesis-state` and `export-genesis-wasm`, then
//!   `parajam collate --chain <cfg>/<chain>.json --name … --node-key …
//!   --no-telemetry --prometheus-external --parachain-id <id> --validator
//!   --prometheus-port <p> --rpc-port <p> --listen-addr … --base-path …`
//!   plus the collator's `args` (`--jam-rpc-url ws://{{ZOMBIE:rpc:rpc_uri}}`,
//!   the runtime), and the collator counts as up once its Prometheus
//!   endpoint serves `process_start_time_seconds`.
//!
//! Library code: nothing here prints; the tests report.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use zombienet_sdk::subxt::ext::jsonrpsee::core::client::ClientT;
use zombienet_sdk::subxt::ext::jsonrpsee::rpc_params;
use zombienet_sdk::subxt::ext::jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use zombienet_sdk::{Buildable, NetworkConfig, NetworkConfigBuilder};

/// The JAM chain's id (its spec's `id`, the directory of the seed files).
pub const CHAIN: &str = "parajam-local";

/// The validators' names (the tiny parameters' 6 validators).
pub const VALIDATORS: [&str; 6] = ["jam0", "jam1", "jam2", "jam3", "jam4", "jam5"];

/// The ordinary (non-validating) node the collator and the tests talk to.
pub const RPC_NODE: &str = "rpc";

/// The para of the upgrade rehearsal (`runtime/parachain`).
pub const PARA: u32 = 2001;

/// The para block that authorizes the upgrade (the next one applies it).
pub const UPGRADE_AT: u32 = 3;

/// Seconds zombienet waits for the whole network, and for one node.
const NETWORK_SPAWN_TIMEOUT: u32 = 600;
const NODE_SPAWN_TIMEOUT: u32 = 120;

/// The network definitions' directory (`zombienet/`).
#[must_use]
pub fn definitions_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `runtime/parachain` (its crate directory).
#[must_use]
pub fn parachain_runtime_dir() -> PathBuf {
    definitions_dir().join("../runtime/parachain")
}

/// The parajam binary: `PARAJAM_BIN`, else `parajam` next to the running
/// test's profile directory (`<target>/<profile>/parajam`), built there
/// first by `cargo build -p parajam` in that profile.
///
/// # Errors
/// If the build fails or the binary is missing.
pub fn parajam_bin() -> anyhow::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("PARAJAM_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let exe = std::env::current_exe().context("the test executable's path")?;
    // <target>/<profile>/deps/<test>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the target profile directory")?;
    let target_dir = profile_dir.parent().context("the target directory")?;
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "parajam", "--profile", profile])
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(definitions_dir())
        .status()
        .context("running cargo build -p parajam")?;
    if !status.success() {
        bail!("cargo build -p parajam failed");
    }
    Ok(profile_dir.join("parajam"))
}

/// What a network definition needs from outside: the binary, and the
/// runtime crate the upgrade rehearsal's collator builds.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The `parajam` binary (`{{PARAJAM_BIN}}` in the TOML files).
    pub parajam: PathBuf,
    /// `runtime/parachain` (`{{PARAJAM_PARACHAIN_RUNTIME}}`).
    pub parachain_runtime: PathBuf,
    /// The collator's `HOME` (`{{HOME}}`).
    pub home: String,
}

impl Inputs {
    /// The binary of [`parajam_bin`] and this workspace's runtime.
    ///
    /// # Errors
    /// As [`parajam_bin`].
    pub fn from_workspace() -> anyhow::Result<Self> {
        Ok(Self {
            parajam: parajam_bin()?,
            parachain_runtime: parachain_runtime_dir(),
            home: std::env::var("HOME").context("HOME")?,
        })
    }

    fn bin(&self) -> String {
        self.parajam.display().to_string()
    }
}

/// The errors of a builder, as one.
fn built(result: Result<NetworkConfig, Vec<anyhow::Error>>) -> anyhow::Result<NetworkConfig> {
    result.map_err(|errors| {
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("the network definition: {}", text.join("; "))
    })
}

/// The JAM chain of both definitions: 6 parajam validators, each also
/// serving JIP-2 on a free port (`--rpc-port=0`, logged), and one ordinary
/// node whose RPC port zombienet assigns and waits for; the spec made by
/// `parajam gen-spec`.
fn jam_chain(inputs: &Inputs) -> NetworkConfigBuilder<Buildable> {
    let bin = inputs.bin();
    NetworkConfigBuilder::new().with_jamchain(|chain| {
        let chain = chain
            .with_id(CHAIN)
            .with_default_command(bin.as_str())
            .with_chain_spec_command(bin.as_str())
            .with_validator(|node| {
                node.with_name(VALIDATORS[0])
                    .with_args(vec![("--rpc-port", "0").into()])
            });
        VALIDATORS[1..]
            .iter()
            .fold(chain, |chain, name| {
                chain.with_validator(|node| {
                    node.with_name(*name)
                        .with_args(vec![("--rpc-port", "0").into()])
                })
            })
            .with_ordinary(|node| node.with_name(RPC_NODE))
    })
}

fn settings(network: NetworkConfigBuilder<Buildable>) -> NetworkConfigBuilder<Buildable> {
    network.with_global_settings(|s| {
        s.with_network_spawn_timeout(NETWORK_SPAWN_TIMEOUT)
            .with_node_spawn_timeout(NODE_SPAWN_TIMEOUT)
    })
}

/// `zombienet/fault.toml`: the JAM chain alone.
///
/// # Errors
/// If zombienet refuses the definition.
pub fn fault_network(inputs: &Inputs) -> anyhow::Result<NetworkConfig> {
    built(settings(jam_chain(inputs)).build())
}

/// `zombienet/upgrade.toml`: the JAM chain and para [`PARA`],
/// `runtime/parachain` collated by `parajam collate` against the ordinary
/// node, which upgrades the runtime to its `upgraded` build (authorized in
/// para block [`UPGRADE_AT`]) over RPC. The para id reaches the collator
/// as zombienet's `--parachain-id` (a second `--para-id` would be refused).
///
/// # Errors
/// If zombienet refuses the definition.
pub fn upgrade_network(inputs: &Inputs) -> anyhow::Result<NetworkConfig> {
    let bin = inputs.bin();
    let runtime = inputs.parachain_runtime.display().to_string();
    let upgrade_at = UPGRADE_AT.to_string();
    let rpc_url = format!("ws://{{{{ZOMBIE:{RPC_NODE}:rpc_uri}}}}");
    let network = jam_chain(inputs).with_parachain(|para| {
        para.with_id(PARA)
            .cumulus_based(false)
            .with_default_command(bin.as_str())
            .with_collator(|collator| {
                collator
                    .with_name("collator")
                    .with_subcommand("collate")
                    // zombienet starts processes with PATH, LANG and TZ
                    // only; the collator finds its runtime build cache
                    // and cargo through HOME.
                    .with_env(vec![("HOME", inputs.home.as_str())])
                    .with_args(vec![
                        ("--jam-rpc-url", rpc_url.as_str()).into(),
                        ("--runtime", runtime.as_str()).into(),
                        ("--upgrade", "self").into(),
                        ("--upgrade-features", "upgraded").into(),
                        ("--upgrade-at", upgrade_at.as_str()).into(),
                        ("--enact-blocks", "12").into(),
                    ])
            })
    });
    built(settings(network).build())
}

/// A TOML definition of `zombienet/` with `{{PARAJAM_BIN}}` and
/// `{{PARAJAM_PARACHAIN_RUNTIME}}` replaced by `inputs`.
///
/// # Errors
/// If the file does not read or zombienet refuses it.
pub fn load_toml(name: &str, inputs: &Inputs) -> anyhow::Result<NetworkConfig> {
    let path = definitions_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {}", path.display()))?
        .replace("{{PARAJAM_BIN}}", &inputs.bin())
        .replace(
            "{{PARAJAM_PARACHAIN_RUNTIME}}",
            &inputs.parachain_runtime.display().to_string(),
        )
        .replace("{{HOME}}", &inputs.home);
    NetworkConfig::load_from_toml_string(&text).with_context(|| format!("{}", path.display()))
}

/// A JIP-2 block descriptor: `(header_hash, slot)`.
pub type Block = (String, u64);

/// A JIP-2 client of one node.
pub struct Jip2 {
    client: WsClient,
    url: String,
}

impl std::fmt::Debug for Jip2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jip2")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Jip2 {
    /// Connects to `url` (`ws://host:port`), trying again for up to
    /// `timeout`.
    ///
    /// # Errors
    /// If no connection is made in time.
    pub async fn connect(url: &str, timeout: Duration) -> anyhow::Result<Self> {
        let deadline = Instant::now() + timeout;
        loop {
            match WsClientBuilder::default()
                .request_timeout(Duration::from_secs(30))
                .build(url)
                .await
            {
                Ok(client) => {
                    return Ok(Self {
                        client,
                        url: url.to_owned(),
                    })
                }
                Err(e) if Instant::now() >= deadline => {
                    return Err(e).with_context(|| format!("connecting to {url}"))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    }

    /// `bestBlock` or `finalizedBlock`.
    ///
    /// # Errors
    /// If the call fails or the answer is no block descriptor.
    pub async fn block(&self, method: &str) -> anyhow::Result<Block> {
        let value: serde_json::Value = self
            .client
            .request(method, rpc_params![])
            .await
            .with_context(|| format!("{method} on {}", self.url))?;
        let hash = value["header_hash"]
            .as_str()
            .with_context(|| format!("{method}: {value}"))?
            .to_owned();
        let slot = value["slot"]
            .as_u64()
            .with_context(|| format!("{method}: {value}"))?;
        Ok((hash, slot))
    }

    /// `serviceValue(block, service, key)`, `None` if absent (key and
    /// value in base64, as JIP-2 has them).
    ///
    /// # Errors
    /// If the call fails.
    pub async fn service_value(
        &self,
        block: &str,
        service: u32,
        key_base64: &str,
    ) -> anyhow::Result<Option<String>> {
        let value: serde_json::Value = self
            .client
            .request("serviceValue", rpc_params![block, service, key_base64])
            .await
            .with_context(|| format!("serviceValue on {}", self.url))?;
        Ok(value.as_str().map(str::to_owned))
    }

    /// Waits (at most `timeout`) until `method`'s block is past slot
    /// `above`; that block.
    ///
    /// # Errors
    /// On a failed call, or when the time is up (with the last block seen).
    pub async fn wait_past(
        &self,
        method: &str,
        above: u64,
        timeout: Duration,
    ) -> anyhow::Result<Block> {
        let deadline = Instant::now() + timeout;
        loop {
            let block = self.block(method).await?;
            if block.1 > above {
                return Ok(block);
            }
            if Instant::now() >= deadline {
                bail!(
                    "{}: {method} still at slot {} after {timeout:?} (waiting for > {above})",
                    self.url,
                    block.1
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// The last `ws://…` address a parajam node's log gives for its JIP-2
/// server (`JIP-2 RPC on ws://127.0.0.1:<port>`), if any.
#[must_use]
pub fn rpc_url_in_log(log: &str) -> Option<String> {
    log.lines()
        .rev()
        .find_map(|line| line.split("JIP-2 RPC on ").nth(1))
        .map(|rest| rest.split_whitespace().next().unwrap_or(rest).to_owned())
}

#[cfg(test)]
// `|c| c.as_str()` on zombienet's `Command`: zombienet-sdk does not
// re-export the type, so the method path cannot be named.
#[allow(clippy::redundant_closure_for_method_calls)]
mod tests {
    use super::*;

    fn inputs() -> Inputs {
        Inputs {
            parajam: PathBuf::from("/opt/parajam/bin/parajam"),
            parachain_runtime: PathBuf::from("/src/parajam/runtime/parachain"),
            home: "/home/ci".into(),
        }
    }

    /// What zombienet launches from a definition: the chain, each node's
    /// effective command, mode and arguments, each para and collator.
    /// (The builders fill a node's command from the default at build time,
    /// the TOML loader when spawning: the two agree on these.)
    fn launched(config: &NetworkConfig) -> Vec<String> {
        let mut out = vec![format!("{:?}", config.global_settings())];
        let chain = config.jamchain().expect("a JAM chain");
        out.push(format!(
            "chain {} {:?} spec by {:?} default args {:?}",
            chain.id().as_str(),
            chain.protocol_params_type(),
            chain.chain_spec_command().map(|c| c.as_str()),
            chain.default_args()
        ));
        let default = chain.default_command().map(|c| c.as_str().to_owned());
        for node in chain.nodes() {
            out.push(format!(
                "node {} {:?} {:?} {:?} rpc {:?}",
                node.name(),
                node.mode(),
                node.command()
                    .map(|c| c.as_str().to_owned())
                    .or(default.clone()),
                node.args(),
                node.rpc_port()
            ));
        }
        for para in config.parachains() {
            let default = para.default_command().map(|c| c.as_str().to_owned());
            out.push(format!(
                "para {} cumulus {} {:?}",
                para.id(),
                para.is_cumulus_based(),
                default
            ));
            for collator in para.collators() {
                out.push(format!(
                    "collator {} {:?} {:?} {:?} env {:?}",
                    collator.name(),
                    collator
                        .command()
                        .map(|c| c.as_str().to_owned())
                        .or(default.clone()),
                    collator.subcommand().map(|c| c.as_str().to_owned()),
                    collator.args(),
                    collator.env()
                ));
            }
        }
        out
    }

    #[test]
    fn the_toml_files_define_the_networks_the_builders_do() {
        let inputs = inputs();
        assert_eq!(
            launched(&load_toml("fault.toml", &inputs).expect("fault.toml loads")),
            launched(&fault_network(&inputs).expect("the fault network builds"))
        );
        assert_eq!(
            launched(&load_toml("upgrade.toml", &inputs).expect("upgrade.toml loads")),
            launched(&upgrade_network(&inputs).expect("the upgrade network builds"))
        );
    }

    #[test]
    fn the_upgrade_network_has_six_validators_an_ordinary_node_and_a_parajam_collator() {
        let config = upgrade_network(&inputs()).expect("builds");
        let chain = config.jamchain().expect("a JAM chain");
        assert_eq!(chain.id().as_str(), CHAIN);
        let modes: Vec<String> = chain
            .nodes()
            .iter()
            .map(|n| format!("{}:{:?}", n.name(), n.mode()))
            .collect();
        assert_eq!(modes.len(), 7, "{modes:?}");
        assert_eq!(
            modes.iter().filter(|m| m.ends_with("Validator")).count(),
            6,
            "{modes:?}"
        );
        let para = config.parachains()[0];
        assert_eq!(para.id(), PARA);
        assert!(!para.is_cumulus_based());
        let collator = para.collators()[0];
        assert_eq!(
            collator.command().map(|c| c.as_str()),
            Some("/opt/parajam/bin/parajam")
        );
        assert_eq!(collator.subcommand().map(|c| c.as_str()), Some("collate"));
        assert!(
            collator
                .args()
                .iter()
                .any(|a| a.to_vec() == ["--jam-rpc-url", "ws://{{ZOMBIE:rpc:rpc_uri}}"]),
            "{:?}",
            collator.args()
        );
    }

    #[test]
    fn the_rpc_address_is_the_last_one_logged() {
        let log = "2026 INFO parajam: JIP-2 RPC on ws://127.0.0.1:4100\n\
                   restarted\n2026 INFO parajam: JIP-2 RPC on ws://127.0.0.1:4200\n";
        assert_eq!(rpc_url_in_log(log).as_deref(), Some("ws://127.0.0.1:4200"));
        assert_eq!(rpc_url_in_log("no server"), None);
    }
}
