//! `parajam run`: the node. It opens (or creates) the chain of `--chain`
//! in its database (`parajam-storage`), serves it over JIP-2 RPC
//! (`parajam-rpc`), authors a block each slot with the dev validator keys
//! it holds and runs the work-package pipeline (`parajam-service`), serves
//! Prometheus metrics, prints an informant line per slot, and stops
//! cleanly on SIGINT/SIGTERM (or by itself with `--until-slot`), the
//! database closed with everything committed.
//!
//! The command line follows zombienet-sdk's JAM nodes and Substrate's
//! habits; flags that mean nothing yet on a lone node (peers, telemetry)
//! are accepted and logged.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use parajam_authoring::{trivial_seed, DevKeys};
use parajam_chain::SrsSource;
use parajam_pvm::{Pvm, PvmFlavor};
use parajam_rpc::{NodeApi, RpcConfig};
use parajam_service::{Node, NodeConfig, NodeError, Opened, PipelineEvent, SlotOutcome, Stats};
use parajam_storage::{open_parity, StoreConfig};

use crate::chain_args::BackendChoice;
use crate::metrics::Metrics;

/// The Prometheus exporter's port without `--prometheus-port` (Substrate's).
const DEFAULT_PROMETHEUS_PORT: u16 = 9615;

/// A node's role (zombienet's `--mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Authors, guarantees and assures with the validator keys it holds.
    Validator,
    /// Holds no keys: follows (with peers: the networking issue) and serves RPC.
    Ordinary,
}

/// Arguments of `parajam run`.
#[derive(Debug, clap::Args)]
#[allow(clippy::struct_excessive_bools)]
pub struct RunArgs {
    /// A dev node: the `dev` chain unless `--chain` says otherwise, every
    /// JIP-5 dev validator's keys, temporary data unless `--data-path`.
    #[arg(long)]
    dev: bool,
    /// Where the node keeps its data (created if absent).
    #[arg(long, visible_alias = "base-path", short = 'd')]
    data_path: Option<PathBuf>,
    /// Keep the data in a temporary directory, deleted at exit.
    #[arg(long, conflicts_with = "data_path")]
    tmp: bool,
    /// The node's role.
    #[arg(long, value_enum, default_value = "validator")]
    mode: Mode,
    /// Hold only JIP-5 dev validator `i`'s keys (author only its slots).
    #[arg(long, value_name = "I")]
    dev_validator: Option<u32>,
    /// The node's name (in logs and, later, telemetry).
    #[arg(long)]
    name: Option<String>,
    /// This node's JAMNP-S peer id (the alternative name of its Ed25519
    /// key): in validator mode, the JIP-5 dev validator of that key.
    #[arg(long)]
    peer_id: Option<String>,
    /// The JAMNP-S (QUIC) port; with it (or `--bootnode`) the node joins
    /// its peers: it authors only its own slots, by the wall clock.
    #[arg(long)]
    port: Option<u16>,
    /// The address JAMNP-S listens on (default every IPv4 interface;
    /// `127.0.0.1` keeps the node on loopback).
    #[arg(long, value_name = "IP")]
    listen_addr: Option<IpAddr>,
    /// Nodes to connect to first, `<peer id>@<ip>:<port>`.
    #[arg(long = "bootnode", value_name = "ADDR")]
    bootnodes: Vec<String>,
    /// With peers: a block is finalized once this many blocks are built on
    /// it (the interim finality rule, README "Finality").
    #[arg(long, default_value_t = 3)]
    finality_depth: u32,
    /// A telemetry endpoint (not yet used).
    #[arg(long, value_name = "HOST:PORT")]
    telemetry: Option<String>,
    /// The JIP-2 RPC port (0: any free port).
    /// (default 19800; among peers without the flag, as zombienet starts
    /// validators, a port already taken means no RPC server, with a warning)
    #[arg(long)]
    rpc_port: Option<u16>,
    /// Listen for RPC on every interface instead of loopback only.
    #[arg(long)]
    rpc_external: bool,
    /// Browser origins allowed to call the RPC server: `all` (the
    /// default), or a comma-separated list such as
    /// `http://localhost:3000,https://polkadot.js.org`. A request (or
    /// WebSocket handshake) with another `Origin` is refused with 403;
    /// clients that send no `Origin` (collators, scripts) always pass.
    #[arg(long)]
    rpc_cors: Option<parajam_rpc::Cors>,
    /// Most RPC connections served at once.
    #[arg(long, default_value_t = 100)]
    rpc_max_connections: u32,
    /// The Prometheus exporter's port (0: any free port).
    /// (default 9615; without the flag, when 9615 is taken, as it is for
    /// all but the first of several nodes zombienet starts on one host,
    /// any free port, with a warning)
    #[arg(long)]
    prometheus_port: Option<u16>,
    /// Serve Prometheus metrics on every interface.
    #[arg(long)]
    prometheus_external: bool,
    /// Serve no Prometheus metrics.
    #[arg(long)]
    no_prometheus: bool,
    /// Milliseconds per slot (dev and test chains; JAM's is 6000).
    #[arg(long, default_value_t = 6000)]
    slot_duration_ms: u64,
    /// Stop by itself once the block of this slot is authored (or the slot
    /// is past).
    #[arg(long, value_name = "N")]
    until_slot: Option<u32>,
    /// Finalized states kept in the database.
    #[arg(long, default_value_t = 256)]
    keep_finalized_states: u32,
    /// Work packages waiting for the guarantor at most; more get "busy".
    #[arg(long, default_value_t = 16)]
    queue_capacity: usize,
    /// PVM backend for service code.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendChoice,
}

/// The data directory, and the temporary directory behind it if any.
fn data_dir(args: &RunArgs) -> anyhow::Result<(PathBuf, Option<tempfile::TempDir>)> {
    if let Some(path) = &args.data_path {
        return Ok((path.clone(), None));
    }
    if args.tmp || args.dev {
        let dir = tempfile::Builder::new()
            .prefix("parajam-")
            .tempdir()
            .context("creating a temporary data directory")?;
        return Ok((dir.path().to_path_buf(), Some(dir)));
    }
    Ok((PathBuf::from("parajam-data"), None))
}

/// `0x1234…abcd`, as Substrate's informant shows hashes.
fn short(hash: &parajam_rpc::Hash) -> String {
    let text = hex::encode(hash.0);
    format!("0x{}…{}", &text[..4], &text[text.len() - 4..])
}

fn log_unused(args: &RunArgs, config_path: Option<&PathBuf>) {
    let unused = [("--telemetry", args.telemetry.clone())];
    if let Some(dir) = config_path {
        tracing::info!(
            "--config-path {}: read for zombienet's seed files only",
            dir.display()
        );
    }
    for (flag, value) in unused {
        if let Some(value) = value {
            tracing::info!("{flag} {value}: noted, not used yet");
        }
    }
}

/// Whether the node joins peers (`--port` or `--bootnode`).
fn networked(args: &RunArgs) -> bool {
    args.port.is_some() || !args.bootnodes.is_empty()
}

/// The JIP-5 seed of the validator the node is: `--dev-validator i`'s
/// trivial seed; else, among peers, the one whose Ed25519 key `--peer-id`
/// names: a dev validator's, or one of the seed files zombienet writes
/// under `--config-path` (`<chain>/keys/<node>.seed`).
fn validator_seed(
    args: &RunArgs,
    validators: u16,
    config_path: Option<&PathBuf>,
) -> anyhow::Result<Option<[u8; 32]>> {
    if let Some(i) = args.dev_validator {
        return Ok(Some(trivial_seed(i)));
    }
    match (&args.peer_id, networked(args), args.mode) {
        (Some(id), true, Mode::Validator) => {
            if let Some(i) = crate::net::dev_validator_of(id, validators) {
                return Ok(Some(trivial_seed(i)));
            }
            if let Some(seed) = config_path.and_then(|dir| crate::net::seed_file_of(dir, id)) {
                return Ok(Some(seed));
            }
            anyhow::bail!(
                "--peer-id {id} is neither a JIP-5 dev validator's key nor that of a seed file \
                 under --config-path: give --dev-validator I"
            )
        }
        (None, true, Mode::Validator) => anyhow::bail!(
            "a validator among peers needs --dev-validator I (or the --peer-id of one)"
        ),
        _ => Ok(None),
    }
}

/// The validator keys the node holds.
fn keys(args: &RunArgs, validators: u16, seed: Option<[u8; 32]>) -> DevKeys {
    match (args.mode, seed) {
        (Mode::Ordinary, _) => DevKeys::from_seeds([]),
        (Mode::Validator, Some(seed)) => DevKeys::from_seeds([seed]),
        (Mode::Validator, None) => DevKeys::new(validators),
    }
}

/// SIGINT and SIGTERM set `stop`.
fn on_signals(runtime: &tokio::runtime::Runtime, stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let _guard = runtime.enter();
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    runtime.spawn(async move {
        let which = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!("{which}: stopping");
        stop.store(true, Ordering::SeqCst);
    });
    Ok(())
}

// The node's wiring, start to stop, in the order it happens.
#[allow(clippy::too_many_lines)]
pub fn run(
    args: &RunArgs,
    chain: Option<&str>,
    config_path: Option<&PathBuf>,
) -> anyhow::Result<ExitCode> {
    let chain = match (chain, args.dev) {
        (Some(chain), _) => chain,
        (None, true) => "dev",
        (None, false) => anyhow::bail!(
            "which chain? `--chain <dev|tiny|full|tiny-12|spec.json>`, or `--dev` for a dev chain"
        ),
    };
    let spec = crate::spec_cmd::load(chain)?;
    let params = spec.protocol_parameters;
    log_unused(args, config_path);
    let (data, _tmp) = data_dir(args)?;
    let db = data.join("chains").join(&spec.id).join("db");
    let store = open_parity(
        &db,
        params,
        StoreConfig {
            keep_finalized_states: args.keep_finalized_states,
        },
    )
    .with_context(|| format!("opening the database in {}", db.display()))?;
    let backend = args
        .backend
        .resolve(&Pvm::new(PvmFlavor::Gp072).context("starting the PVM")?)?;
    let ring = SrsSource::from_env().ring_context(usize::from(params.validators_count))?;
    let seed = validator_seed(args, params.validators_count, config_path)?;
    let keys = keys(args, params.validators_count, seed);
    let held = keys.len();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let stop = Arc::new(AtomicBool::new(false));
    on_signals(&runtime, stop.clone())?;

    let registry = substrate_prometheus_endpoint::Registry::new_custom(None, None)
        .context("the metrics registry")?;
    let mut metrics = Metrics::register(&registry).context("registering the metrics")?;
    let rpc_calls = metrics.rpc_calls();
    let hook: parajam_rpc::CallHook =
        Box::new(move |method| rpc_calls.with_label_values(&[method]).inc());

    let (mut node, opened) = Node::open(
        store,
        &spec,
        keys,
        ring,
        NodeConfig {
            backend,
            queue_capacity: args.queue_capacity.max(1),
            finality_depth: networked(args).then_some(args.finality_depth),
            ..NodeConfig::default()
        },
        Some(hook),
    )?;
    let name = args.name.clone().unwrap_or_else(|| "parajam".into());
    tracing::info!(
        "{name}: chain `{}` ({} validators, {} cores), data in {}, {held} validator keys held, \
         service code on the {}",
        spec.id,
        params.validators_count,
        params.core_count,
        data.display(),
        backend.name()
    );
    match opened {
        Opened::New { genesis } => tracing::info!("new chain, genesis {genesis}"),
        Opened::Resumed {
            best,
            slot,
            state_root,
        } => tracing::info!("resuming at block {best} (slot {slot}), state root {state_root}"),
    }
    for event in node.take_ticket_events() {
        crate::net_loop::log_tickets(&event);
    }

    let api = node.api();
    let host = if args.rpc_external {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    };
    let config = RpcConfig {
        addr: SocketAddr::new(host, args.rpc_port.unwrap_or(parajam_rpc::DEFAULT_PORT)),
        max_connections: args.rpc_max_connections,
        cors: args.rpc_cors.clone().unwrap_or_default(),
        ..RpcConfig::default()
    };
    let extra =
        parajam_service::collator_rpc::methods(api.clone()).context("the parajam_* RPC methods")?;
    let server = match runtime.block_on(parajam_rpc::start_with(&config, api.clone(), extra)) {
        Ok(server) => {
            tracing::info!("JIP-2 RPC on ws://{}", server.local_addr());
            Some(server)
        }
        // zombienet gives validators no `--rpc-port`: several on one host
        // cannot all have the default.
        Err(e) if args.rpc_port.is_none() && networked(args) => {
            tracing::warn!("no JIP-2 RPC server ({e}); give --rpc-port for one");
            None
        }
        Err(e) => return Err(e.into()),
    };
    if args.no_prometheus {
        tracing::info!("no Prometheus metrics (--no-prometheus)");
    } else {
        let host = if args.prometheus_external {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        };
        // Bound here so that port 0 can be reported.
        let port = args.prometheus_port.unwrap_or(DEFAULT_PROMETHEUS_PORT);
        let listener = match std::net::TcpListener::bind(SocketAddr::new(host, port)) {
            Ok(listener) => listener,
            // zombienet gives JAM nodes no `--prometheus-port`: several on
            // one host cannot all have the default.
            Err(e) if args.prometheus_port.is_none() => {
                tracing::warn!("the Prometheus port {port}: {e}; serving on any free port");
                std::net::TcpListener::bind(SocketAddr::new(host, 0))
                    .context("a free port for Prometheus")?
            }
            Err(e) => return Err(e).with_context(|| format!("the Prometheus port {port}")),
        };
        let addr = listener.local_addr()?;
        drop(listener);
        let registry = registry.clone();
        runtime.spawn(async move {
            if let Err(e) = substrate_prometheus_endpoint::init_prometheus(addr, registry).await {
                tracing::error!("Prometheus exporter: {e}");
            }
        });
        tracing::info!("Prometheus metrics on http://{addr}/metrics");
    }

    let mut network = if networked(args) {
        let secret = match seed {
            Some(seed) if args.mode == Mode::Validator => crate::net::ed25519_secret(&seed),
            _ => crate::net::node_secret(&data)?,
        };
        let config = parajam_network::NetworkConfig {
            secret,
            listen: crate::net::listen(args.listen_addr, args.port.unwrap_or(0)),
            genesis: parajam_stf::header::header_hash(&spec.genesis_header),
            params,
            peers: crate::net::peers(&spec, &args.bootnodes)?,
        };
        let known = config.peers.len();
        let source = Arc::new(parajam_service::StoreSource::new(api.clone(), params));
        let (network, events) = parajam_network::Network::start(config, source, runtime.handle())?;
        tracing::info!(
            "JAMNP-S on {} as {}, {known} peers known",
            network
                .local_addr()
                .map_or_else(|| "?".into(), |a| a.to_string()),
            network.id()
        );
        let metrics = crate::net_loop::NetMetrics::register(&registry)
            .context("registering the network metrics")?;
        Some((network, events, parajam_service::Sync::new(), metrics))
    } else {
        None
    };
    let clock = crate::net::SlotClock::new(Duration::from_millis(args.slot_duration_ms))?;
    let joined = Instant::now();

    let period = Duration::from_millis(args.slot_duration_ms);
    let stats = node.stats();
    let stopped = || stop.load(Ordering::SeqCst);
    let mut next = Instant::now() + period;
    loop {
        if args.until_slot.is_some_and(|n| node.next_slot() > n) {
            tracing::info!("slot {} reached (--until-slot)", node.next_slot() - 1);
            break;
        }
        if let Some((network, events, sync, _)) = &mut network {
            // Among peers: the slot is the wall clock's; take submissions
            // and network events until it starts.
            let slot = clock.now().saturating_add(1);
            let deadline = Instant::now() + clock.until(slot);
            while Instant::now() < deadline && !stopped() {
                let chunk = deadline.min(Instant::now() + Duration::from_millis(50));
                for event in node.serve_until(chunk, &stopped) {
                    log_event(&event);
                }
                crate::net_loop::drain(&mut node, network, events, sync);
            }
            node.set_next_slot(slot);
            if !sync.may_author(
                joined.elapsed(),
                parajam_network::service::PREFERRED_INITIATOR_GRACE * 2,
            ) {
                tracing::info!("slot {slot}: waiting to hear from a peer before authoring");
                continue;
            }
            if let Some(ahead) = sync.ahead(&node) {
                tracing::info!(
                    "slot {slot}: syncing (best #{}, a peer is at #{ahead}); not authoring",
                    node.head_slot()
                );
                sync.request(&node, network);
                continue;
            }
            if node.head_slot() >= slot {
                // A peer's block of this slot or a later one was imported
                // while this node was busy: the slot has passed.
                tracing::info!(
                    "slot {slot}: passed (best #{} already); not authoring",
                    node.head_slot()
                );
                continue;
            }
        } else {
            for event in node.serve_until(next, &stopped) {
                log_event(&event);
            }
        }
        if stopped() {
            break;
        }
        next += period;
        let started = Instant::now();
        let slot = node.next_slot();
        match node.author() {
            Ok(SlotOutcome::Authored(block)) => {
                metrics.observe_import(started.elapsed().as_secs_f64());
                tracing::info!(
                    "block {} at slot {}, state root {}, {}{}",
                    block.hash,
                    block.slot,
                    block.state_root,
                    if block.ticket_sealed {
                        "sealed by its Safrole ticket"
                    } else {
                        "sealed by its fallback key"
                    },
                    if block.tickets > 0 {
                        format!(", {} tickets", block.tickets)
                    } else {
                        String::new()
                    }
                );
                for package in &block.guaranteed {
                    tracing::info!("work package {package} guaranteed at slot {}", block.slot);
                }
                for package in &block.accumulated {
                    tracing::info!("work package {package} accumulated at slot {}", block.slot);
                }
                for (para, head) in &block.heads {
                    tracing::info!(
                        "para {} head 0x{} at slot {}",
                        para.0,
                        hex::encode(parajam_crypto_hash(head)),
                        block.slot
                    );
                }
                for (service, hash, len) in &block.provided {
                    tracing::info!(
                        "preimage {hash} ({len} octets) provided to service {service} at slot {}",
                        block.slot
                    );
                }
                for (what, why) in &block.dropped {
                    tracing::warn!("{what} dropped: {why}");
                }
                if let Some((network, _, _, _)) = &network {
                    crate::net_loop::announce(&node, network, block.hash);
                }
                for event in node.take_ticket_events() {
                    crate::net_loop::log_tickets(&event);
                }
            }
            Ok(SlotOutcome::NotOurs { slot }) => {
                tracing::info!("slot {slot}: not ours to author (no key for its sealer)");
            }
            // The state transition refused even an empty block on the
            // head (a consensus outcome, not a failure of this node): the
            // slot passes without one, and the node goes on.
            Err(NodeError::Authoring(e)) => {
                tracing::warn!("slot {slot}: no block authored: {e}");
            }
            // Storage or state: the node failed.
            Err(e) => return Err(e.into()),
        }
        let best = api.best_block();
        let finalized = api.finalized_block();
        metrics.update(&stats, best.slot, finalized.slot);
        if let Some((network, _, _, net_metrics)) = &network {
            net_metrics.update(&network.stats());
        }
        tracing::info!(
            "informant: best #{} ({}), finalized #{} ({}), {} peers, {} work packages in flight, \
             {} para heads advanced, Safrole tickets: {} made, {} received, {} pooled, \
             {} included, {} blocks ticket-sealed",
            best.slot,
            short(&best.header_hash),
            finalized.slot,
            short(&finalized.header_hash),
            network.as_ref().map_or(0, |(n, _, _, _)| n.peer_count()),
            Stats::get(&stats.in_flight),
            Stats::get(&stats.heads_advanced),
            Stats::get(&stats.tickets_made),
            Stats::get(&stats.tickets_received),
            node.ticket_pool().len(),
            Stats::get(&stats.tickets_included),
            Stats::get(&stats.ticket_sealed)
        );
    }
    if let Some((mut network, _, _, _)) = network.take() {
        network.shutdown();
    }
    // Submissions waiting for a verdict are answered now, so that the
    // server's stop does not wait for their timeout.
    node.close_submissions();
    if let Some(server) = server {
        server.stop();
        runtime.block_on(server.stopped());
    }
    let best = api.best_block();
    let root = api.state_root(&best.header_hash).ok();
    drop(api);
    // Closes the database: every block was committed when stored.
    drop(node);
    tracing::info!(
        "stopped cleanly at block 0x{} (slot {}), state root 0x{}",
        hex::encode(best.header_hash.0),
        best.slot,
        root.map_or_else(|| "?".into(), |r| hex::encode(r.0))
    );
    Ok(ExitCode::SUCCESS)
}

/// Blake2b-256, for naming a para head in a log line.
fn parajam_crypto_hash(data: &[u8]) -> [u8; 32] {
    parajam_crypto::blake2b_256(data)
}

fn log_event(event: &PipelineEvent) {
    match event {
        PipelineEvent::Refined { package, core, gas } => {
            tracing::info!("work package {package} refined on core {core} ({gas} gas)");
        }
        PipelineEvent::Dropped {
            package,
            label,
            reason,
        } => tracing::warn!("work package {package} dropped ({label}): {reason}"),
        PipelineEvent::Preimage { requester, len } => {
            tracing::info!(
                "preimage of {len} octets for service {requester} held until a block provides it"
            );
        }
    }
}
