//! Chain specs (JIP-4): `parajam build-spec`, `parajam gen-spec`, and the
//! global `--chain` (`dev`, `tiny`, `full` or a spec file).
//!
//! The dev chains' genesis holds the JIP-5 dev validators and the
//! CoreChains service with its authorizer and the adder registered
//! (`parajam_service::genesis`). `gen-spec` reads zombienet-sdk's JAM
//! config (`id`, `genesis_validators` of `{peer_id, bandersnatch,
//! net_addr}`, where `bandersnatch` is a hex key or `dev:<i>` for JIP-5 dev
//! key `i` and `peer_id` a JAMNP-S node name or `dev:<i>`) and writes a spec
//! of those validators with the same services. `export-genesis-state` and
//! `export-genesis-wasm` print a para's genesis head and code, the two
//! artifacts zombienet-sdk makes for each para it launches.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use parajam_authoring::ValidatorSecrets;
use parajam_chain::SrsSource;
use parajam_primitives::types::ValidatorData;
use parajam_primitives::{ByteArray, ProtocolParameters};
use parajam_service::genesis::{genesis_state, spec, DevPara};
use parajam_spec::{Bootnode, ChainSpec};
use serde::Deserialize;

/// `parajam build-spec`.
#[derive(Debug, clap::Args)]
pub struct BuildSpecArgs {
    /// The dev chain: tiny parameters, the JIP-5 dev validators, the
    /// CoreChains service with the adder (the default).
    #[arg(long, conflicts_with = "tiny")]
    dev: bool,
    /// The same chain (tiny parameters); named as zombienet names the
    /// parameter set.
    #[arg(long)]
    tiny: bool,
    /// Write the spec here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// `parajam gen-spec`.
#[derive(Debug, clap::Args)]
pub struct GenSpecArgs {
    /// zombienet's JSON config: `id`, `genesis_validators`.
    config: PathBuf,
    /// Where to write the JIP-4 spec.
    spec: PathBuf,
    /// The parameter set: `tiny`, `full` or `tiny-12` (twelve validators,
    /// four cores).
    #[arg(long, default_value = "tiny")]
    params: String,
}

/// The paras the dev genesis registers.
pub fn dev_paras() -> Vec<DevPara> {
    vec![DevPara::adder()]
}

fn ring(params: &ProtocolParameters) -> anyhow::Result<parajam_bandersnatch::RingContext> {
    Ok(SrsSource::from_env().ring_context(usize::from(params.validators_count))?)
}

/// The dev chain's spec for `params`, named `id`.
pub fn dev_spec(id: &str, params: ProtocolParameters) -> anyhow::Result<ChainSpec> {
    let keys = parajam_authoring::DevKeys::new(params.validators_count);
    let state = genesis_state(&params, keys.validators(), &dev_paras(), &ring(&params)?)
        .context("the dev genesis")?;
    Ok(spec(id, Vec::new(), &state, params))
}

/// The spec `--chain` names.
pub fn load(chain: &str) -> anyhow::Result<ChainSpec> {
    match chain {
        "dev" | "tiny" => dev_spec(chain, ProtocolParameters::TINY),
        "full" => dev_spec("full", ProtocolParameters::FULL),
        "tiny-12" => dev_spec("tiny-12", ProtocolParameters::TINY_12),
        path => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the chain spec {path}"))?;
            ChainSpec::from_json(&text).with_context(|| format!("the chain spec {path}"))
        }
    }
}

fn write(spec: &ChainSpec, out: Option<&Path>) -> anyhow::Result<()> {
    let json = spec.to_json();
    match out {
        Some(path) => std::fs::write(path, json + "\n")
            .with_context(|| format!("writing {}", path.display()))?,
        None => println!("{json}"),
    }
    Ok(())
}

pub fn build_spec(args: &BuildSpecArgs) -> anyhow::Result<ExitCode> {
    let id = if args.tiny { "tiny" } else { "dev" };
    let spec = dev_spec(id, ProtocolParameters::TINY)?;
    write(&spec, args.out.as_deref())?;
    if let Some(out) = &args.out {
        tracing::info!("wrote the {id} chain spec to {}", out.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// zombienet-sdk's JAM config.
#[derive(Debug, Deserialize)]
struct Config {
    id: String,
    genesis_validators: Vec<GenesisValidator>,
    /// Genesis overrides zombienet may add: taken as given, logged.
    #[serde(flatten)]
    rest: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GenesisValidator {
    peer_id: String,
    bandersnatch: String,
    net_addr: String,
}

/// `dev:<i>` as the index `i`.
fn dev_index(text: &str) -> Option<anyhow::Result<u32>> {
    text.strip_prefix("dev:").map(|i| {
        i.parse()
            .with_context(|| format!("`{text}`: `dev:` and a validator index"))
    })
}

/// JAMNP-S validator metadata: the address as 16 octets of IPv6 and a
/// little-endian port, zero-padded to 128 octets.
fn metadata(addr: SocketAddr) -> [u8; 128] {
    let mut out = [0u8; 128];
    let ip = match addr.ip() {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    };
    out[..16].copy_from_slice(&ip.octets());
    out[16..18].copy_from_slice(&addr.port().to_le_bytes());
    out
}

fn validator(index: usize, v: &GenesisValidator) -> anyhow::Result<(ValidatorData, Bootnode)> {
    let field = |name: &str| format!("genesis_validators[{index}].{name}");
    let addr: SocketAddr = v
        .net_addr
        .parse()
        .with_context(|| format!("{}: `{}` is not ip:port", field("net_addr"), v.net_addr))?;
    let bandersnatch: [u8; 32] = if let Some(i) = dev_index(&v.bandersnatch) {
        ValidatorSecrets::dev(i.with_context(|| field("bandersnatch"))?)
            .bandersnatch_public()
            .0
    } else {
        let octets = hex::decode(v.bandersnatch.trim_start_matches("0x"))
            .with_context(|| format!("{}: not hex", field("bandersnatch")))?;
        octets.try_into().map_err(|o: Vec<u8>| {
            anyhow::anyhow!("{}: {} octets, 32 expected", field("bandersnatch"), o.len())
        })?
    };
    let ed25519: [u8; 32] = if let Some(i) = dev_index(&v.peer_id) {
        ValidatorSecrets::dev(i.with_context(|| field("peer_id"))?)
            .ed25519_public()
            .0
    } else {
        Bootnode::parse(&format!("{}@{addr}", v.peer_id))
            .map_err(|e| anyhow::anyhow!("{}: {e}", field("peer_id")))?
            .ed25519
    };
    let data = ValidatorData {
        bandersnatch: ByteArray(bandersnatch),
        ed25519: ByteArray(ed25519),
        bls: ByteArray([0; 144]),
        metadata: ByteArray(metadata(addr)),
    };
    Ok((
        data,
        Bootnode {
            ed25519,
            address: addr,
        },
    ))
}

pub fn gen_spec(args: &GenSpecArgs) -> anyhow::Result<ExitCode> {
    let params: ProtocolParameters = args.params.parse()?;
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("reading {}", args.config.display()))?;
    let config: Config = serde_json::from_str(&text)
        .with_context(|| format!("{}: not zombienet's JAM config", args.config.display()))?;
    if config.id.is_empty() {
        bail!("{}: `id` is empty", args.config.display());
    }
    let count = usize::from(params.validators_count);
    if config.genesis_validators.len() != count {
        bail!(
            "{}: `genesis_validators` has {} validators; the {} parameters need {count}",
            args.config.display(),
            config.genesis_validators.len(),
            args.params
        );
    }
    for key in config.rest.keys() {
        tracing::warn!("gen-spec: `{key}` is not applied (the genesis is parajam's dev genesis)");
    }
    let (validators, bootnodes): (Vec<_>, Vec<_>) = config
        .genesis_validators
        .iter()
        .enumerate()
        .map(|(i, v)| validator(i, v))
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    let state = genesis_state(
        &params,
        parajam_primitives::codec::FixedSeq::new(validators),
        &dev_paras(),
        &ring(&params)?,
    )
    .context("the genesis")?;
    let spec = spec(&config.id, bootnodes, &state, params);
    write(&spec, Some(&args.spec))?;
    tracing::info!(
        "wrote the chain spec `{}` ({} validators) to {}",
        config.id,
        count,
        args.spec.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `parajam export-genesis-state` and `export-genesis-wasm`: what
/// zombienet-sdk runs (`<collator command> export-genesis-state`, with
/// `--chain` for cumulus paras) to write a para's genesis artifacts. On a
/// JAM chain zombienet registers no para (registration is manual, it
/// warns), so the files are for the record: the para of the dev genesis,
/// the adder (para 2000), is what they describe.
#[derive(Debug, clap::Args)]
pub struct ExportGenesisArgs {
    /// Accepted from zombienet (a para id, a raw chain spec); the adder's
    /// artifacts are printed whatever they say.
    #[arg(long, hide = true)]
    parachain_id: Option<u32>,
}

/// Which of the two artifacts.
#[derive(Debug, Clone, Copy)]
pub enum GenesisArtifact {
    /// The genesis head data.
    State,
    /// The code (the PVF artifact the PVM runs).
    Code,
}

/// Prints the adder's genesis head or code as `0x` hex, as Polkadot's
/// collators print theirs.
pub fn export_genesis(args: &ExportGenesisArgs, artifact: GenesisArtifact) -> ExitCode {
    let para = DevPara::adder();
    if let Some(id) = args.parachain_id.filter(|id| *id != para.id.0) {
        tracing::warn!(
            "--parachain-id {id}: the artifacts printed are the adder's (para {})",
            para.id.0
        );
    }
    let octets = match artifact {
        GenesisArtifact::State => &para.head,
        GenesisArtifact::Code => &para.pvf,
    };
    println!("0x{}", hex::encode(octets));
    ExitCode::SUCCESS
}
