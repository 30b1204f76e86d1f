//! `parajam collate`: the mini collator against a live node
//! (`parajam-rpc-collator`): reads the para's head and emulated relay state
//! over RPC, builds blocks, submits work packages, follows the head until
//! each is enacted, and prints one line per block.
//!
//! The command line is the one zombienet-sdk 0.7.1 gives a collator of a
//! JAM network (`--jam-rpc-url`); the flags it adds for a cumulus
//! collator (`--name`, `--node-key`, `--rpc-port`, ...) are accepted and
//! mean nothing here (this collator has no para network); its
//! `--base-path` is `--data-path`, where a cumulus para's states are kept.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use parajam_rpc_collator::{
    hex, Adder, CodeUpgrade, Collate, Config, Cumulus, Enacted, Event, ParaBuilder,
};

/// `parajam collate`.
#[derive(Debug, clap::Args)]
#[allow(clippy::struct_excessive_bools)]
pub struct CollateArgs {
    /// The node's JIP-2 RPC endpoint, `ws://HOST:PORT`.
    #[arg(long, value_name = "URL")]
    jam_rpc_url: String,
    /// The para's runtime: `adder` (runtime/adder, built in), a cumulus
    /// runtime crate directory (built for wasm and the PVM by
    /// `parajam pvf build`, cached), or, with `--pvf`, its wasm code file.
    #[arg(long)]
    runtime: String,
    /// The runtime's PVF artifact, when `--runtime` is a wasm file.
    #[arg(long)]
    pvf: Option<PathBuf>,
    /// Features to build the runtime crate with.
    #[arg(long, value_delimiter = ',')]
    features: Vec<String>,
    /// The para id (default: 2000 for the adder, 2001 for a cumulus
    /// runtime, the dev chain's ids).
    #[arg(long, visible_alias = "parachain-id")]
    para_id: Option<u32>,
    /// The core its work packages go to (default: para id mod cores).
    #[arg(long)]
    core: Option<u16>,
    /// Stop after this many blocks are enacted (default: run until
    /// SIGINT/SIGTERM).
    #[arg(long)]
    blocks: Option<u32>,
    /// Signed balance transfers per block (cumulus runtimes).
    #[arg(long, default_value_t = 2)]
    transfers: u32,
    /// The amount of each transfer, in the runtime's smallest unit.
    #[arg(long, default_value_t = 1_000_000_000_000)]
    amount: u128,
    /// A runtime upgrade (cumulus runtimes): `self` (the same runtime
    /// again, compressed, no version check), a runtime crate directory, or
    /// a wasm file (with `--upgrade-pvf`). Its PVM build is registered by
    /// the registrar's work package and its artifact provided with
    /// `submitPreimage`; the para's own `set_code` path does the rest.
    #[arg(long)]
    upgrade: Option<String>,
    /// Features to build the upgrade's runtime crate with (with `self`:
    /// the runtime's own crate with these features, version checked).
    #[arg(long, value_delimiter = ',')]
    upgrade_features: Vec<String>,
    /// The upgrade's PVF artifact, when `--upgrade` is a wasm file.
    #[arg(long)]
    upgrade_pvf: Option<PathBuf>,
    /// The para block that authorizes the upgrade (the next one applies it).
    #[arg(long, default_value_t = 2)]
    upgrade_at: u32,
    /// Do not register the para when the node does not have it.
    #[arg(long)]
    no_register: bool,
    /// Seconds one RPC call may take.
    #[arg(long, default_value_t = 120)]
    rpc_timeout_secs: u64,
    /// Best blocks a package may take to be enacted before the block is
    /// made again on the node's head.
    #[arg(long, default_value_t = 8)]
    enact_blocks: u32,
    /// When the connection to the node fails (it stopped, restarted),
    /// connect again for at most this many seconds without a block
    /// enacted, then go on from the node's head; 0: exit at once.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    reconnect_secs: u64,
    /// Keep a cumulus para's state after each block made under
    /// `DIR/para-<id>` (the newest `--keep-states` blocks), so that the
    /// collator started again builds on the node's head. Without it the
    /// state is in memory only (the adder needs none: its state follows
    /// from its head).
    #[arg(long, visible_alias = "base-path", value_name = "DIR")]
    data_path: Option<PathBuf>,
    /// Enacted blocks whose states `--data-path` keeps.
    #[arg(long, default_value_t = 4)]
    keep_states: u32,
    /// Accepted from zombienet's collator command line; not used.
    #[arg(long, hide = true)]
    name: Option<String>,
    /// Accepted from zombienet; not used.
    #[arg(long, hide = true)]
    rpc_cors: Option<String>,
    /// Accepted from zombienet; not used.
    #[arg(long, hide = true)]
    rpc_methods: Option<String>,
    /// Accepted from zombienet; not used.
    #[arg(long, hide = true)]
    unsafe_rpc_external: bool,
    /// Accepted from zombienet; not used.
    #[arg(long, hide = true)]
    node_key: Option<String>,
    /// Accepted from zombienet; the metrics are served on loopback only.
    #[arg(long, hide = true)]
    prometheus_external: bool,
    /// Serve Prometheus metrics (`process_start_time_seconds`, the
    /// series zombienet waits for before it counts a collator as up) on
    /// this loopback port.
    #[arg(long)]
    prometheus_port: Option<u16>,
    /// Accepted from zombienet; not used.
    #[arg(long, hide = true)]
    collator: bool,
    /// Accepted from zombienet (a non-cumulus collator is started as a
    /// validator); not used.
    #[arg(long, hide = true)]
    validator: bool,
    /// Accepted from zombienet; not used.
    #[arg(long, hide = true)]
    insecure_validator_i_know_what_i_do: bool,
    /// Accepted from zombienet; not used.
    #[arg(long, hide = true)]
    rpc_port: Option<u16>,
    /// Accepted from zombienet; not used.
    #[arg(long, hide = true)]
    listen_addr: Option<String>,
    /// Accepted from zombienet; not used.
    #[arg(long, hide = true, num_args = 1..)]
    bootnodes: Vec<String>,
    /// Accepted from zombienet; not used.
    #[arg(long, hide = true)]
    no_telemetry: bool,
}

/// `0x1234…abcd`.
fn short(hash: &[u8]) -> String {
    let text = hex(hash);
    format!("0x{}…{}", &text[..8], &text[text.len() - 8..])
}

fn line(e: &Enacted) -> String {
    format!(
        "para {} block #{} head {} submitted at slot {} enacted at slot {} refine gas {} ({} extrinsics)",
        e.para,
        e.number,
        short(&e.head_hash),
        e.slot_submitted,
        e.slot_enacted,
        e.refine_gas.map_or_else(|| "?".into(), |g| g.to_string()),
        e.extrinsics
    ) + if e.after_reconnection {
        " (seen after reconnecting)"
    } else {
        ""
    }
}

fn print_event(event: &Event) {
    match event {
        Event::Enacted(e) => println!("{}", line(e)),
        Event::Registered { para, now, slot } => {
            if *now {
                println!("para {para} registered at slot {slot} (registrar work package)");
            } else {
                println!("para {para} is registered (slot {slot})");
            }
        }
        Event::Provided { hash, len, slot } => {
            println!(
                "PVF artifact {} ({len} octets) provided at slot {slot} (submitPreimage)",
                short(hash)
            );
        }
        Event::BuildRegistered { source, pvf } => println!(
            "PVM build registered: wasm {} runs as PVF {}",
            short(source),
            short(pvf)
        ),
        Event::Retry { number, reason } => {
            tracing::warn!("block #{number} made again: {reason}");
        }
        Event::CodeChanged { code, slot } => {
            println!("para code is now PVF {} (slot {slot})", short(code));
        }
        Event::Disconnected { reason, within } => {
            println!(
                "connection to the node lost ({reason}); connecting again for up to {} s",
                within.as_secs()
            );
        }
        Event::Reconnected { attempts, after } => {
            println!(
                "connected to the node again after {:.1} s ({attempts} attempts); going on from its head",
                after.as_secs_f64()
            );
        }
    }
}

/// SIGINT and SIGTERM set `stop`; the collator stops between blocks.
fn on_signals(stop: Arc<AtomicBool>) -> anyhow::Result<tokio::runtime::Runtime> {
    use tokio::signal::unix::{signal, SignalKind};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let _guard = runtime.enter();
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let handle = runtime.handle().clone();
    std::thread::spawn(move || {
        handle.block_on(async move {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
            stop.store(true, Ordering::SeqCst);
        });
    });
    Ok(runtime)
}

fn is_adder(runtime: &str) -> bool {
    if runtime == "adder" {
        return true;
    }
    let manifest = Path::new(runtime).join("Cargo.toml");
    std::fs::read_to_string(manifest).is_ok_and(|t| t.contains("name = \"parajam-adder\""))
}

fn config(args: &CollateArgs, para: u32) -> Config {
    Config {
        para,
        core: args.core,
        blocks: args.blocks,
        rpc_timeout: Duration::from_secs(args.rpc_timeout_secs.max(1)),
        enact_blocks: args.enact_blocks.max(1),
        register: !args.no_register,
        reconnect: Duration::from_secs(args.reconnect_secs),
        ..Config::default()
    }
}

fn drive<B: ParaBuilder>(
    mut collate: Collate<B>,
    pvf: &[u8],
    upgrade: Option<&parajam_rehearsal::Code>,
) -> anyhow::Result<ExitCode> {
    let stop = Arc::new(AtomicBool::new(false));
    let _signals = on_signals(stop.clone())?;
    let mut on_event = |e: &Event| print_event(e);
    let stopped = || stop.load(Ordering::SeqCst);
    collate.reconnecting(&stopped, &mut on_event, |c, on_event| {
        c.register(pvf, on_event)
    })?;
    if let Some(code) = upgrade {
        collate.reconnecting(&stopped, &mut on_event, |c, on_event| {
            c.register_build(&code.wasm, &code.pvf, on_event)
        })?;
    }
    let enacted = collate.run(&stopped, &mut on_event)?;
    println!("{enacted} blocks enacted");
    Ok(ExitCode::SUCCESS)
}

/// Serves `process_start_time_seconds` (as Substrate nodes do) at
/// `http://127.0.0.1:<port>/metrics` on a thread of its own, for as long as
/// the process lives: zombienet-sdk counts a collator as up once it reads
/// that series.
fn serve_metrics(port: u16) -> anyhow::Result<()> {
    use std::net::{Ipv4Addr, SocketAddr};
    use substrate_prometheus_endpoint::{register, Gauge, Registry, U64};
    let registry = Registry::new_custom(None, None).context("the metrics registry")?;
    let started = register(
        Gauge::<U64>::new(
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch, in seconds",
        )?,
        &registry,
    )?;
    started.set(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    );
    // Bound here so that a taken port is an error now, not later.
    let listener = std::net::TcpListener::bind(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port))
        .with_context(|| format!("the Prometheus port {port}"))?;
    let addr = listener.local_addr()?;
    drop(listener);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::spawn(move || {
        runtime.block_on(async move {
            if let Err(e) = substrate_prometheus_endpoint::init_prometheus(addr, registry).await {
                tracing::error!("Prometheus exporter: {e}");
            }
        });
    });
    tracing::info!("Prometheus metrics on http://{addr}/metrics");
    Ok(())
}

pub fn run(args: &CollateArgs, chain: Option<&str>) -> anyhow::Result<ExitCode> {
    if let Some(chain) = chain {
        tracing::info!("--chain {chain}: noted; the collator reads the para from the node");
    }
    // First, before any runtime build: zombienet waits for it.
    if let Some(port) = args.prometheus_port {
        serve_metrics(port)?;
    }
    if is_adder(&args.runtime) {
        if args.upgrade.is_some() {
            bail!("--upgrade: the adder has no runtime upgrade path (a cumulus runtime has)");
        }
        let para = args.para_id.unwrap_or(2000);
        let collate = Collate::connect(&args.jam_rpc_url, config(args, para), Adder::default())
            .with_context(|| format!("connecting to {}", args.jam_rpc_url))?;
        println!(
            "collating the adder as para {para} on core {} against {}",
            collate.core(),
            args.jam_rpc_url
        );
        return drive(collate, parajam_rpc_collator::ADDER_PVF, None);
    }
    let code = crate::pvf_check::runtime_code(
        Path::new(&args.runtime),
        args.pvf.as_deref(),
        &args.features,
    )?;
    let upgrade = match args.upgrade.as_deref() {
        None => None,
        Some("self") if args.upgrade_features.is_empty() => {
            Some((code.clone().compressed()?, false))
        }
        Some("self") => {
            if args.pvf.is_some() {
                bail!("--upgrade-features needs --runtime to be a crate directory");
            }
            let mut features = args.features.clone();
            features.extend(args.upgrade_features.iter().cloned());
            let new = crate::pvf_check::runtime_code(Path::new(&args.runtime), None, &features)?;
            Some((new.compressed()?, true))
        }
        Some(path) => {
            let new = crate::pvf_check::runtime_code(
                Path::new(path),
                args.upgrade_pvf.as_deref(),
                &args.upgrade_features,
            )?;
            Some((new.compressed()?, true))
        }
    };
    let para = args.para_id.unwrap_or(2001);
    let builder = Cumulus::new(
        &code.wasm,
        para,
        args.transfers,
        args.amount,
        upgrade.as_ref().map(|(new, check_version)| CodeUpgrade {
            wasm: new.wasm.clone(),
            at: args.upgrade_at,
            check_version: *check_version,
        }),
    )
    .context("loading the runtime")?;
    let builder = match &args.data_path {
        Some(dir) => builder.with_store(dir, args.keep_states)?,
        None => builder,
    };
    if let Some(store) = builder.store() {
        match store.newest()? {
            Some((number, hash)) => println!(
                "para states in {} (newest: block #{number} {})",
                store.dir().display(),
                short(&hash)
            ),
            None => println!("para states in {} (none yet)", store.dir().display()),
        }
    }
    let collate = Collate::connect(&args.jam_rpc_url, config(args, para), builder)
        .with_context(|| format!("connecting to {}", args.jam_rpc_url))?;
    println!(
        "collating {} (wasm {} B, PVF {} B, spec_version {}) as para {para} on core {} against {}",
        args.runtime,
        code.wasm.len(),
        code.pvf.len(),
        collate.builder().spec_version()?,
        collate.core(),
        args.jam_rpc_url
    );
    drive(collate, &code.pvf, upgrade.as_ref().map(|(c, _)| c))
}
