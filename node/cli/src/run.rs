//! `parajam run --dev`: a dev chain of the JIP-5 dev validators, authored
//! one block per slot period, each block and its posterior state stored in
//! the node's database (`parajam-storage`) and served over JIP-2 RPC
//! (`parajam-rpc`). A restart on the same `--base-path` resumes at the
//! stored best block.
//!
//! Dev finality: every block is finalized when it is stored (one author
//! set, no forks).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use parajam_authoring::{Contents, DevChain, DevKeys};
use parajam_bandersnatch::RingContext;
use parajam_chain::SrsSource;
use parajam_primitives::types::{Block, Extrinsic, HeaderHash, TimeSlot};
use parajam_primitives::ProtocolParameters;
use parajam_rpc::{BlockDescriptor, Hash, NodeEvent, RpcConfig, StoreApi};
use parajam_state::State;
use parajam_storage::{open_parity, ChainStore, NewBlock, ParityStore, StoreConfig};

/// Arguments of `parajam run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Run a dev chain authored by the JIP-5 dev validators (the only mode
    /// for now).
    #[arg(long)]
    dev: bool,
    /// The parameter set: `tiny` or `full`.
    #[arg(long, default_value = "tiny")]
    params: String,
    /// Where the database lives (created if absent).
    #[arg(long, default_value = "parajam-data")]
    base_path: PathBuf,
    /// The JIP-2 RPC server's address (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:19800")]
    rpc_addr: SocketAddr,
    /// Most RPC connections served at once.
    #[arg(long, default_value_t = 100)]
    rpc_max_connections: u32,
    /// Milliseconds between blocks.
    #[arg(long, default_value_t = 6000)]
    slot_millis: u64,
    /// Stop after authoring this many blocks (default: run until killed).
    #[arg(long)]
    blocks: Option<u32>,
    /// Finalized states kept in the database.
    #[arg(long, default_value_t = 256)]
    keep_finalized_states: u32,
    /// The ring-proof SRS file (default: as `parajam import` finds it).
    #[arg(long)]
    srs: Option<PathBuf>,
}

fn params(name: &str) -> anyhow::Result<ProtocolParameters> {
    match name {
        "tiny" => Ok(ProtocolParameters::TINY),
        "full" => Ok(ProtocolParameters::FULL),
        other => anyhow::bail!("unknown parameter set `{other}` (tiny or full)"),
    }
}

fn hash(h: HeaderHash) -> Hash {
    Hash(h.0)
}

/// The dev chain at the store's best block, or a new one stored as genesis.
fn chain(
    store: &ParityStore,
    params: ProtocolParameters,
    ring: RingContext,
) -> anyhow::Result<DevChain> {
    let keys = DevKeys::new(params.validators_count);
    let Some(best) = store.best()? else {
        let chain = DevChain::dev(params, ring, BTreeMap::new()).context("the dev genesis")?;
        let block = Block {
            header: chain.genesis_header().clone(),
            extrinsic: Extrinsic::default(),
        };
        let state = chain.state().to_key_values();
        store.init_genesis(&NewBlock {
            hash: chain.head(),
            block: &block,
            state_root: chain.root(),
            state: &state,
        })?;
        tracing::info!("new dev chain, genesis {}", chain.head());
        return Ok(chain);
    };
    let keyvals = store
        .state(&best.hash)?
        .with_context(|| format!("the state of the best block {} is not stored", best.hash))?;
    let state = State::from_key_values(&keyvals, &params)?;
    let genesis_hash = store
        .finalized_at(0)?
        .context("the store has no genesis block")?;
    let genesis = store
        .header(&genesis_hash)?
        .context("the genesis header is not stored")?;
    // `(slot, hash)` of the best block and its ancestors within `L` slots.
    let horizon = best.slot.saturating_sub(params.max_lookup_anchor_age);
    let mut ancestry: Vec<(TimeSlot, HeaderHash)> = Vec::new();
    let mut cursor = Some(best.hash);
    while let Some(h) = cursor {
        let Some(info) = store.block_info(&h)? else {
            break;
        };
        if info.slot < horizon {
            break;
        }
        ancestry.push((info.slot, h));
        cursor = (h != genesis_hash).then_some(info.parent);
    }
    ancestry.reverse();
    tracing::info!("resuming at block {} (slot {})", best.hash, best.slot);
    Ok(DevChain::resume(
        params, keys, ring, genesis, state, best.hash, ancestry,
    )?)
}

pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.dev, "only `--dev` chains can run for now");
    let params = params(&args.params)?;
    let srs = args
        .srs
        .clone()
        .map_or_else(SrsSource::from_env, SrsSource::File);
    let ring = srs.ring_context(usize::from(params.validators_count))?;
    let store = open_parity(
        &args.base_path.join("db"),
        params,
        StoreConfig {
            keep_finalized_states: args.keep_finalized_states,
        },
    )
    .with_context(|| format!("opening the database in {}", args.base_path.display()))?;
    let mut chain = chain(&store, params, ring)?;

    let api = Arc::new(StoreApi::new(store, params, None));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let config = RpcConfig {
        addr: args.rpc_addr,
        max_connections: args.rpc_max_connections,
        ..RpcConfig::default()
    };
    let server = runtime.block_on(parajam_rpc::start(&config, api.clone()))?;
    tracing::info!("JIP-2 RPC on ws://{}", server.local_addr());

    let period = Duration::from_millis(args.slot_millis);
    let mut authored = 0u32;
    while args.blocks.is_none_or(|n| authored < n) {
        let started = Instant::now();
        let block = chain.author_next(Contents::default())?;
        let keyvals = chain.state().to_key_values();
        let head = chain.head();
        let store = api.store();
        store.import(
            &NewBlock {
                hash: head,
                block: &block,
                state_root: chain.root(),
                state: &keyvals,
            },
            true,
        )?;
        store.finalize(&head)?;
        let descriptor = BlockDescriptor {
            header_hash: hash(head),
            slot: block.header.slot,
        };
        api.notify(NodeEvent::Best(descriptor));
        api.notify(NodeEvent::Finalized(descriptor));
        tracing::info!(
            "block {} at slot {}, state root {}",
            head,
            block.header.slot,
            chain.root()
        );
        authored += 1;
        if args.blocks.is_none_or(|n| authored < n) {
            std::thread::sleep(period.saturating_sub(started.elapsed()));
        }
    }
    server.stop();
    runtime.block_on(server.stopped());
    Ok(ExitCode::SUCCESS)
}
