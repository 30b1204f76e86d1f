//! `parajam xcm check`: do two unchanged cumulus runtimes exchange XCM on
//! JAM, identically on wasm and the PVM?
//!
//! Two instances of a runtime (the same code, para ids `--paras`, each
//! from the genesis preset with its `parachainInfo.parachainId` set) on
//! one JAM dev chain with the CoreChains service (`parajam-rehearsal`'s
//! network): a channel opened through the upward request/accept flow
//! (sudo's `pallet-xcm` `send` of `Transact(hrmp_*)` to the relay chain),
//! a native-token reserve transfer over it, and the channel closed. Each
//! block is validated by the relay chain's PVF executor on wasm and by
//! the service's refine on the PVM, compared and enacted; the report per
//! block says what it did to the message queues (delivered, sent,
//! processed, channel states). Exits non-zero unless every block is valid,
//! identical and enacted and every step did what it should.
//!
//! With `--instances 2`, the paras are hosted by two CoreChains service
//! instances (services 1000 and 1001, the same code): the registrar of
//! each declares the route to the other's para (which instance hosts it;
//! no channel), and the channel is opened and closed by the paras' own
//! upward XCM as on one instance, the two instances telling each other
//! with control memos (JAM transfers of kind control): the sender asks,
//! the recipient, notified, accepts, the sender, notified, reserve-
//! transfers, its XCMP page crossing from instance 1000 to 1001 as a JAM
//! transfer (HRMP memo), the recipient receives and processes it, the
//! sender's outbox is pruned once it is read, the sender closes the
//! channel and the recipient, notified, drains it. The per-block report
//! lists the instances' transfer and control events.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use parajam_primitives::ProtocolParameters;
use parajam_pvm::{Pvm, PvmFlavor};
use parajam_rehearsal::network::{ChannelScenario, Network, ScenarioOutcome};
use parajam_rehearsal::Config;

use crate::chain_args::BackendChoice;

/// `parajam xcm`.
#[derive(Debug, clap::Args)]
pub struct XcmArgs {
    #[command(subcommand)]
    command: XcmCommand,
}

#[derive(Debug, clap::Subcommand)]
enum XcmCommand {
    /// Two paras on a JAM dev chain: a channel opened by XCM, a transfer
    /// over it, the channel closed; every block on wasm and the PVM.
    Check(CheckArgs),
}

/// `parajam xcm check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The runtime: a cumulus runtime crate directory (built for wasm and
    /// the PVM with `parajam pvf build`, cached), or, with `--pvf`, its
    /// wasm code file.
    #[arg(long)]
    runtime: PathBuf,
    /// The runtime's PVF artifact, when `--runtime` is a wasm file.
    #[arg(long)]
    pvf: Option<PathBuf>,
    /// Features to build the runtime crate with.
    #[arg(long, value_delimiter = ',')]
    features: Vec<String>,
    /// The two para ids: the channel's sender, then its recipient.
    #[arg(long, value_delimiter = ',', default_values_t = [2000, 2001])]
    paras: Vec<u32>,
    /// The native-token amount Alice transfers to Bob, smallest units.
    #[arg(long, default_value_t = 10_000_000_000_000)]
    amount: u128,
    /// The channel's capacity, in messages.
    #[arg(long, default_value_t = 8)]
    max_capacity: u32,
    /// The channel's largest message, in octets.
    #[arg(long, default_value_t = 1024)]
    max_message_size: u32,
    /// The genesis preset.
    #[arg(long, default_value = "development")]
    preset: String,
    /// JAM protocol parameters.
    #[arg(long, default_value = "tiny")]
    params: String,
    /// PVM backend.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendChoice,
    /// CoreChains service instances: 1 (both paras on service 1000) or 2
    /// (the sender on 1000, the recipient on 1001: the messages cross as
    /// JAM transfers).
    #[arg(long, default_value_t = 1)]
    instances: u8,
}

/// The second CoreChains instance of `--instances 2`.
const SECOND_INSTANCE: u32 = 1001;

/// Runs `parajam xcm`.
pub fn run(args: &XcmArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        XcmCommand::Check(args) => check(args),
    }
}

fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let params: ProtocolParameters = args.params.parse()?;
    let [sender, recipient] = args.paras[..] else {
        bail!("--paras: two para ids, the sender then the recipient");
    };
    if sender == recipient {
        bail!("--paras: two different para ids");
    }
    if !(1..=2).contains(&args.instances) {
        bail!("--instances {}: 1 or 2", args.instances);
    }
    let code = crate::pvf_check::runtime_code(&args.runtime, args.pvf.as_deref(), &args.features)?;
    println!(
        "runtime: wasm {} B (0x{}), PVF artifact {} B (0x{})",
        code.wasm.len(),
        hex::encode(code.wasm_hash()),
        code.pvf.len(),
        hex::encode(code.pvf_hash())
    );
    let backend = args
        .backend
        .resolve(&Pvm::new(PvmFlavor::Gp072).context("starting the PVM")?)?;
    let config = Config {
        preset: args.preset.clone(),
        params,
        backend: Some(backend),
        ..Config::default()
    };
    let scenario = ChannelScenario {
        sender,
        recipient,
        max_capacity: args.max_capacity,
        max_message_size: args.max_message_size,
        amount: args.amount,
    };
    let (net, outcome) = run_scenario(args.instances, code, config, &scenario)?;
    let blocks = outcome.blocks.len();
    let valid = outcome
        .blocks
        .iter()
        .filter(|(_, b)| b.block.ok() && b.block.enacted)
        .count();
    let (sent, delivered, crossed) = outcome.blocks.iter().fold((0, 0, 0), |(s, d, c), (_, b)| {
        let m = &b.messaging;
        (
            s + m.sent_upward + m.sent_horizontal.len(),
            d + m.delivered_downward + m.delivered_horizontal.values().sum::<usize>(),
            c + m
                .transfers
                .iter()
                .filter(|(_, l)| l.starts_with("TransferDelivered"))
                .count(),
        )
    });
    for failure in &outcome.failures {
        println!("step {failure}");
    }
    for (para, refused) in [sender, recipient].map(|p| (p, net.refused_upward(p))) {
        for r in refused {
            println!(
                "para {para}: upward message refused by the service (kept): {}",
                r.reason
            );
        }
    }
    println!(
        "verdict: {} — {blocks} blocks ({valid} valid on wasm and PVM, identical, enacted); {sent} messages sent, {delivered} delivered{}; channel {sender} -> {recipient} {}",
        if outcome.ok() { "OK" } else { "FAILED" },
        if args.instances == 2 {
            format!(", {crossed} crossed between instances as JAM transfers")
        } else {
            String::new()
        },
        match net.channel(sender, recipient) {
            None => "closed".to_owned(),
            Some(state) => format!("left {state}"),
        }
    );
    Ok(if outcome.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Sets up the paras on `instances` CoreChains instances (1 or 2) and
/// runs `scenario` (the channel lifecycle on one instance, or across two
/// with the routes declared and the channel opened and closed by XCM),
/// printing each block.
fn run_scenario(
    instances: u8,
    code: parajam_rehearsal::Code,
    config: Config,
    scenario: &ChannelScenario,
) -> anyhow::Result<(Network, ScenarioOutcome)> {
    let service = parajam_rehearsal::SERVICE;
    let chain = match config.backend {
        Some(backend) => format!("{} parameters, PVM {backend:?}", config.params.name),
        None => format!("{} parameters", config.params.name),
    };
    Ok(if instances == 2 {
        let (sender, recipient) = (scenario.sender, scenario.recipient);
        let mut net = Network::with_instances(
            code,
            config,
            &[(sender, service), (recipient, SECOND_INSTANCE)],
        )
        .context("setting up the two paras")?;
        println!(
            "para {sender} on CoreChains service {service}, para {recipient} on CoreChains service {SECOND_INSTANCE}, one JAM dev chain ({chain})"
        );
        for (on, line) in net
            .declare_routes(sender, recipient)
            .context("declaring the routes")?
        {
            println!("[route] instance {on}: {line}");
        }
        let outcome = net.remote_xcm_channel_scenario(scenario, |step, block| {
            println!("[{step}] {block}");
        })?;
        (net, outcome)
    } else {
        let (sender, recipient) = (scenario.sender, scenario.recipient);
        let mut net = Network::new(code, config, &[sender, recipient], &[])
            .context("setting up the two paras")?;
        println!(
            "paras {sender} and {recipient} on a JAM dev chain ({chain}), CoreChains service {service}"
        );
        let outcome = net.channel_scenario(scenario, |step, block| {
            println!("[{step}] {block}");
        })?;
        (net, outcome)
    })
}
