//! `parajam pvf check`: "does my runtime, unchanged, validate on JAM?"
//!
//! Makes N blocks of a cumulus runtime with the mini collator (signed
//! transfers between the dev accounts, and a runtime upgrade through the
//! runtime's own `set_code` path), or reads PoVs from a directory, and for
//! each validates it with the relay chain's PVF executor on the wasm code
//! and through the CoreChains service's refine on the PVM on a JAM dev
//! chain, compares the results, and has accumulate enact it
//! (`parajam-rehearsal`). Prints a report per block and in total; exits
//! non-zero when any block differs (or, for made blocks, is not enacted
//! or exceeds a JAM limit).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use parajam_corechains_types::ValidationParams;
use parajam_primitives::ProtocolParameters;
use parajam_pvm::{Pvm, PvmFlavor};
use parajam_rehearsal::{
    BlockReport, Candidate, Code, CodeSizes, Config, Rehearsal, Scenario, Summary, Upgrade,
    UpgradeOrigin,
};
use parity_scale_codec::DecodeAll;

use crate::chain_args::BackendChoice;

/// The relay chain's `max_code_size` the service's emulated host
/// configuration shows a para (Polkadot's 3 MiB).
const MAX_CODE_SIZE: u32 =
    parajam_corechains_types::state::AbridgedHostConfiguration::DEFAULT.max_code_size;

/// `parajam pvf check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The runtime: a cumulus runtime crate directory (built for wasm and
    /// the PVM with `parajam pvf build`, cached), or, with `--pvf`, its wasm
    /// code file.
    #[arg(long)]
    runtime: PathBuf,
    /// The runtime's PVF artifact, when `--runtime` is a wasm file.
    #[arg(long)]
    pvf: Option<PathBuf>,
    /// Features to build the runtime crate with.
    #[arg(long, value_delimiter = ',')]
    features: Vec<String>,
    /// How many blocks to make.
    #[arg(long, default_value_t = 20)]
    blocks: u32,
    /// Signed balance transfers per block.
    #[arg(long, default_value_t = 2)]
    transfers: u32,
    /// The amount of each transfer, in the runtime's smallest unit.
    #[arg(long, default_value_t = 1_000_000_000_000)]
    amount: u128,
    /// The runtime upgrade to make: `self` (the same runtime again,
    /// compressed, without the version check: exercises the whole path
    /// with any runtime), `none`, a runtime crate directory, or a wasm file
    /// (with `--upgrade-pvf`).
    #[arg(long, default_value = "self")]
    upgrade: String,
    /// Features to build the upgrade's runtime crate with; with
    /// `--upgrade self`, builds the runtime's own crate with them (e.g.
    /// `upgraded`), with the version check.
    #[arg(long, value_delimiter = ',')]
    upgrade_features: Vec<String>,
    /// The upgrade's PVF artifact, when `--upgrade` is a wasm file.
    #[arg(long)]
    upgrade_pvf: Option<PathBuf>,
    /// The block that authorizes the upgrade (the next one applies it).
    #[arg(long, default_value_t = 3)]
    upgrade_at: u32,
    /// Who authorizes the upgrade: `sudo` (the runtime's sudo key,
    /// `--sudo`), or `governance` (the relay chain's governance, as for
    /// Polkadot's system chains, which have no sudo: a downward XCM
    /// `[UnpaidExecution, Transact(Superuser, System::authorize_upgrade)]`
    /// queued on the para's downward queue in the CoreChains service; the
    /// runtime must let its parent run unpaid as superuser).
    #[arg(long, value_enum, default_value = "sudo")]
    upgrade_origin: UpgradeOriginChoice,
    /// The dev account holding the runtime's sudo key.
    #[arg(long, default_value = "Alice")]
    sudo: String,
    /// The genesis preset.
    #[arg(long, default_value = "development")]
    preset: String,
    /// A JSON patch over the preset's genesis config, as a chain spec's
    /// (`null` removes a field: `'{"sudo":{"key":null}}'` makes a chain
    /// without a sudo key, as Polkadot's system chains are).
    #[arg(long)]
    genesis_patch: Option<String>,
    /// The para id (default: the genesis state's `ParachainInfo`).
    #[arg(long)]
    para_id: Option<u32>,
    /// Slots a code upgrade waits for the go-ahead.
    #[arg(long, default_value_t = 4)]
    upgrade_delay: u32,
    /// JAM protocol parameters.
    #[arg(long, default_value = "tiny")]
    params: String,
    /// Refine gas limit of each block's work item (default: `G_R`).
    #[arg(long)]
    gas: Option<u64>,
    /// PVM backend.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendChoice,
    /// Write each made block's `ValidationParams` here
    /// (`block-0001.params`, ...), for `--povs` or `parajam pvf run`.
    #[arg(long)]
    pov_dir: Option<PathBuf>,
    /// Check the `ValidationParams` files in this directory (in name order)
    /// instead of making blocks: both engines must agree on each; they are
    /// not expected to be enacted (their relay parents are not the dev
    /// chain's).
    #[arg(long, conflicts_with_all = ["pov_dir", "blocks"])]
    povs: Option<PathBuf>,
    /// Print only the summary and the blocks that are not OK.
    #[arg(long)]
    quiet: bool,
}

/// Who authorizes a rehearsed upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UpgradeOriginChoice {
    /// The runtime's sudo key.
    Sudo,
    /// The relay chain's governance, by a downward XCM `Transact` as
    /// superuser.
    Governance,
}

/// Runs `parajam pvf check`.
pub fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let params: ProtocolParameters = args.params.parse()?;
    let code = runtime_code(&args.runtime, args.pvf.as_deref(), &args.features)?;
    println!(
        "runtime: wasm {} B (0x{}), PVF artifact {} B (0x{})",
        code.wasm.len(),
        hex::encode(code.wasm_hash()),
        code.pvf.len(),
        hex::encode(code.pvf_hash())
    );
    let upgrade = upgrade(args, &code)?;
    let backend = args
        .backend
        .resolve(&Pvm::new(PvmFlavor::Gp072).context("starting the PVM")?)?;
    let config = Config {
        preset: args.preset.clone(),
        para_id: args.para_id,
        params,
        upgrade_delay: args.upgrade_delay,
        backend: Some(backend),
        refine_gas: args.gas,
        genesis_patch: args
            .genesis_patch
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .context("--genesis-patch: not JSON")?,
    };
    let sizes_of = |code: &Code| CodeSizes::of(code, MAX_CODE_SIZE, &params);
    let sizes = sizes_of(&code);
    println!(
        "code sizes against the limits ({} parameters):\n{sizes}",
        params.name
    );
    if let Some(upgrade) = &upgrade {
        let new = sizes_of(&upgrade.code);
        println!("the upgrade's code:\n{new}");
        if !new.fits() {
            bail!(
                "the upgrade's compressed wasm is {} B, over the relay chain's max_code_size ({} B): parachain-system refuses it (TooBig) in the block that applies it",
                new.wasm.size,
                new.wasm.limit
            );
        }
    }
    if !sizes.fits() {
        bail!(
            "the runtime's compressed wasm is {} B, over the relay chain's max_code_size ({} B): a relay chain does not register it, and the para could not upgrade to it",
            sizes.wasm.size,
            sizes.wasm.limit
        );
    }
    let mut rehearsal = Rehearsal::new(code, config).context("setting up the rehearsal")?;
    println!(
        "para {} on a JAM dev chain ({} parameters, PVM {backend:?}), CoreChains service {}",
        rehearsal.para().0,
        params.name,
        parajam_rehearsal::SERVICE
    );

    let reports = match &args.povs {
        Some(dir) => check_povs(&mut rehearsal, dir, args.quiet)?,
        None => make_blocks(&mut rehearsal, args, upgrade)?,
    };
    let summary = Summary::of(&reports);
    println!();
    let ok = if args.povs.is_some() {
        println!(
            "{} PoVs: {} identical on wasm and PVM, {} valid on both",
            summary.blocks, summary.identical, summary.valid
        );
        summary.identical == summary.blocks
    } else {
        println!("{summary}");
        summary.all_ok() && summary.blocks == args.blocks as usize
    };
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A runtime's code: a crate directory built (or read from the cache) by
/// `parajam pvf build`, or a wasm file and its PVF artifact.
pub(crate) fn runtime_code(
    path: &Path,
    pvf: Option<&Path>,
    features: &[String],
) -> anyhow::Result<Code> {
    if let Some(pvf) = pvf {
        let wasm = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let pvf = std::fs::read(pvf).with_context(|| format!("reading {}", pvf.display()))?;
        return Ok(Code::new(wasm, pvf));
    }
    if !path.is_dir() {
        bail!(
            "{}: not a runtime crate directory (for a wasm file, give its PVF artifact too)",
            path.display()
        );
    }
    let mut options = parajam_pvf_build::Options::new(path);
    options.features = features.to_vec();
    eprintln!(
        "building {} for the PVM and wasm{} (cached after the first time)...",
        path.display(),
        if features.is_empty() {
            String::new()
        } else {
            format!(" with {}", features.join(","))
        }
    );
    let built = parajam_pvf_build::build(&options)
        .with_context(|| format!("building the runtime {}", path.display()))?;
    let wasm = built.wasm.context("the build made no wasm runtime")?;
    Ok(Code::new(
        std::fs::read(&wasm.path).with_context(|| format!("reading {}", wasm.path.display()))?,
        std::fs::read(&built.pvf).with_context(|| format!("reading {}", built.pvf.display()))?,
    ))
}

fn upgrade(args: &CheckArgs, code: &Code) -> anyhow::Result<Option<Upgrade>> {
    let (new, check_version) = match args.upgrade.as_str() {
        "none" => return Ok(None),
        "self" if args.upgrade_features.is_empty() => (code.clone(), false),
        "self" => {
            if args.pvf.is_some() {
                bail!("--upgrade-features needs --runtime to be a crate directory");
            }
            let mut features = args.features.clone();
            features.extend(args.upgrade_features.iter().cloned());
            (runtime_code(&args.runtime, None, &features)?, true)
        }
        path => (
            runtime_code(
                Path::new(path),
                args.upgrade_pvf.as_deref(),
                &args.upgrade_features,
            )?,
            true,
        ),
    };
    let new = new.compressed()?;
    let origin = match args.upgrade_origin {
        UpgradeOriginChoice::Sudo => UpgradeOrigin::Sudo(args.sudo.clone()),
        UpgradeOriginChoice::Governance => UpgradeOrigin::Governance,
    };
    println!(
        "upgrade: authorized in block {} by {}, applied in block {}: wasm {} B compressed (0x{}), PVF artifact 0x{}{}",
        args.upgrade_at,
        match &origin {
            UpgradeOrigin::Sudo(name) => format!("sudo ({name})"),
            UpgradeOrigin::Governance => {
                "relay governance (a downward Transact as superuser)".to_owned()
            }
        },
        args.upgrade_at + 1,
        new.wasm.len(),
        hex::encode(new.wasm_hash()),
        hex::encode(new.pvf_hash()),
        if check_version {
            ""
        } else {
            " (the same runtime, no version check)"
        }
    );
    Ok(Some(Upgrade {
        code: new,
        at: args.upgrade_at,
        check_version,
        origin,
    }))
}

fn progress(len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} blocks, {elapsed} ({eta} left)")
    {
        bar.set_style(style);
    }
    bar
}

fn print(bar: &ProgressBar, report: &BlockReport, quiet: bool) {
    if !quiet || !report.ok() {
        bar.suspend(|| println!("{report}"));
    }
}

fn make_blocks(
    rehearsal: &mut Rehearsal,
    args: &CheckArgs,
    upgrade: Option<Upgrade>,
) -> anyhow::Result<Vec<BlockReport>> {
    if let Some(dir) = &args.pov_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let scenario = Scenario {
        blocks: args.blocks,
        transfers: args.transfers,
        amount: args.amount,
        upgrade,
    };
    let bar = progress(u64::from(args.blocks));
    let mut written = Ok(());
    let reports = rehearsal.run(&scenario, |candidate, report| {
        if let (Some(dir), Ok(())) = (&args.pov_dir, &written) {
            let path = dir.join(format!("block-{:04}.params", candidate.number));
            written = std::fs::write(&path, candidate.validation_params())
                .with_context(|| format!("writing {}", path.display()));
        }
        print(&bar, report, args.quiet);
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    written?;
    if reports.len() < args.blocks as usize {
        println!(
            "stopped after block #{}: it was not enacted, so no block can build on it",
            reports.last().map_or(0, |r| r.number)
        );
    }
    Ok(reports)
}

fn check_povs(
    rehearsal: &mut Rehearsal,
    dir: &Path,
    quiet: bool,
) -> anyhow::Result<Vec<BlockReport>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let code_hash = rehearsal.current_code().context("the para has no code")?;
    let bar = progress(files.len() as u64);
    let mut reports = Vec::new();
    for (i, path) in files.iter().enumerate() {
        let octets = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let params = ValidationParams::decode_all(&mut &octets[..])
            .with_context(|| format!("{}: not an encoded ValidationParams", path.display()))?;
        let candidate = Candidate {
            number: u32::try_from(i + 1).unwrap_or(u32::MAX),
            parent_head: params.parent_head.0,
            pov: params.block_data.0,
            relay_parent_number: params.relay_parent_number,
            relay_parent_storage_root: params.relay_parent_storage_root,
            code_hash,
            built: None,
            relay_proof_size: None,
        };
        let report = rehearsal.check(&candidate)?;
        bar.suspend(|| println!("{}:", path.display()));
        print(&bar, &report, quiet);
        bar.inc(1);
        reports.push(report);
    }
    bar.finish_and_clear();
    Ok(reports)
}
