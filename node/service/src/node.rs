//! [`Node`]: the chain a parajam node authors, stores and serves, and the
//! back of the work-package pipeline.
//!
//! One thread owns the node. Between slots it takes what clients submitted
//! ([`Node::serve_until`]): for a work package, the node's guarantor role
//! runs `Ξ` (is-authorized, then refine, on the PVM, GP §14) on the best
//! block's accounts, stores the audit bundle, every validator's erasure
//! shard and the exported segments (GP §14.4, appendix H) and the work
//! report, and tells the submitter; a package that fails is dropped with
//! the reason (to the submitter, in the returned events and in
//! [`Stats`]). At each slot ([`Node::author`]) it authors a block with the
//! assurances of the dev validators it holds keys for for every core
//! whose report is pending availability (so that report is accumulated in
//! this block, GP §11.2 and §12), a guarantee for each free core's oldest
//! refined report (GP §11.4), and the preimages clients or peers provided
//! that a service solicits (`node/preimages.rs`); stores
//! the block and its posterior state, finalizes it, and tells the RPC
//! subscriptions.
//!
//! Finality on a lone node: every authored block is finalized when it is
//! stored (one author, no forks). With peers ([`NodeConfig::finality_depth`]),
//! blocks come from other authors too ([`Node::import_block`]) and a block
//! is finalized once a given number of blocks are built on it (an interim
//! rule until GRANDPA, README "Finality").

use std::collections::{BTreeMap, VecDeque};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parajam_authoring::{AuthoringError, Contents, DevChain, DevKeys};
use parajam_bandersnatch::RingContext;
use parajam_corechains_types::state::StorageKey;
use parajam_corechains_types::{HeadData, ParaId, RefineOutput};
use parajam_guarantor::{Executor, ExportStore, Guaranteed, Guarantor, PackageError};
use parajam_primitives::types::{
    Block, CoreIndex, Extrinsic, HeaderHash, OpaqueHash, StateRoot, TimeSlot, ValidatorIndex,
    WorkExecResult,
};
use parajam_primitives::ProtocolParameters;
use parajam_pvm::Backend;
use parajam_rpc::{BlockDescriptor, Hash, NodeEvent, StoreApi};
use parajam_spec::ChainSpec;
use parajam_state::State;
use parajam_storage::{ChainStore, NewBlock, StorageError};
use parity_scale_codec::{Decode, DecodeAll};

use crate::genesis::CORECHAINS;

mod guaranteeing;
mod net;
mod preimages;
mod tickets;
use crate::pipeline::{self, Inbound, Job};
use crate::stats::Stats;
pub use guaranteeing::{guarantors_at, GuaranteeEvent};
pub use net::{BlockImportError, ImportedBlock};
pub use preimages::PreimageEvent;
pub use tickets::{check_ticket, TicketError, TicketEvent, TicketPool};

/// Why the node cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The database failed.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// A stored or given state does not decode.
    #[error("state: {0}")]
    State(String),
    /// The database holds another chain than the spec.
    #[error(
        "the database holds the chain of genesis {stored}, the chain spec's genesis is {spec}: \
         use another --data-path, or the spec of that chain"
    )]
    OtherChain {
        /// The stored genesis hash.
        stored: HeaderHash,
        /// The spec's.
        spec: HeaderHash,
    },
    /// The database misses something it must hold.
    #[error("the database is incomplete: {0}")]
    Incomplete(String),
    /// A block could not be authored.
    #[error("authoring: {0}")]
    Authoring(#[from] AuthoringError),
}

/// How the node runs.
#[derive(Debug, Clone, Copy)]
pub struct NodeConfig {
    /// The PVM backend service code (refine and accumulate) runs on.
    pub backend: Backend,
    /// Work packages waiting for the guarantor at most; more are "busy".
    pub queue_capacity: usize,
    /// How long a submitter waits for the guarantor's verdict.
    pub submit_wait: Duration,
    /// `None`: every block is finalized when stored (a lone node). `Some(d)`:
    /// with peers, a block is finalized once `d` blocks are built on it (the
    /// interim rule of the networked import, README "Finality").
    pub finality_depth: Option<u32>,
    /// A lone node: how long it may wait before a block for its own
    /// Safrole tickets still being proved (`node::tickets` docs).
    pub ticket_wait: Duration,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            backend: Backend::Interpreter,
            queue_capacity: 16,
            submit_wait: Duration::from_secs(60),
            finality_depth: None,
            ticket_wait: Duration::from_secs(30),
        }
    }
}

/// How the node found its database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// Empty: the spec's genesis was stored.
    New {
        /// The genesis header hash.
        genesis: HeaderHash,
    },
    /// The chain resumes at the stored best block.
    Resumed {
        /// The best block.
        best: HeaderHash,
        /// Its slot.
        slot: TimeSlot,
        /// Its posterior state root.
        state_root: StateRoot,
    },
}

/// Something the pipeline did between slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineEvent {
    /// A package's report was made; it waits for a block.
    Refined {
        /// The package hash.
        package: OpaqueHash,
        /// Its core.
        core: CoreIndex,
        /// Gas used by is-authorized and refine.
        gas: u64,
    },
    /// A package was dropped.
    Dropped {
        /// The package hash.
        package: OpaqueHash,
        /// The metric label of the reason.
        label: &'static str,
        /// Why.
        reason: String,
    },
    /// A client's preimage, held until a block provides it (once a
    /// service solicits it).
    Preimage {
        /// The requesting service.
        requester: u32,
        /// Its length.
        len: usize,
    },
}

/// A block the node authored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authored {
    /// Its header hash.
    pub hash: HeaderHash,
    /// Its slot.
    pub slot: TimeSlot,
    /// Its posterior state root.
    pub state_root: StateRoot,
    /// Packages whose reports it guarantees.
    pub guaranteed: Vec<OpaqueHash>,
    /// Packages whose reports it made available (and so accumulated).
    pub accumulated: Vec<OpaqueHash>,
    /// Paras whose head its accumulation changed, with the new head.
    pub heads: Vec<(ParaId, Vec<u8>)>,
    /// Preimages it provided (`E_P`): service, hash and length.
    pub provided: Vec<(u32, OpaqueHash, usize)>,
    /// Reports or preimages left out because the block would not import
    /// with them: what, and why.
    pub dropped: Vec<(String, String)>,
    /// Safrole tickets it carries (`E_T`).
    pub tickets: usize,
    /// Whether it is sealed by a ticket (GP eq. 6.15), not a fallback key.
    pub ticket_sealed: bool,
}

/// What one slot came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotOutcome {
    /// A block was authored.
    Authored(Box<Authored>),
    /// The slot's sealer is no validator this node holds keys for.
    NotOurs {
        /// The slot.
        slot: TimeSlot,
    },
}

/// A report refined and waiting for a block.
#[derive(Debug)]
struct Ready {
    package: OpaqueHash,
    guaranteed: Guaranteed,
}

/// The chain a node authors and stores, and its work-package pipeline.
pub struct Node<S: ChainStore + 'static> {
    chain: DevChain,
    api: Arc<StoreApi<S>>,
    inbound: Receiver<Inbound>,
    backend: Backend,
    stats: Arc<Stats>,
    ready: VecDeque<Ready>,
    /// The package whose report each core holds pending availability.
    pending: BTreeMap<CoreIndex, OpaqueHash>,
    /// Preimages held for blocks and peers.
    preimages: preimages::Preimages,
    exports: ExportStore,
    next_slot: TimeSlot,
    finality_depth: Option<u32>,
    /// Among peers: packages routed, shared and guaranteed, assurances.
    guaranteeing: guaranteeing::Guaranteeing,
    /// Safrole tickets: the pool and the proofs being made.
    tickets: tickets::Tickets,
    /// See [`NodeConfig::ticket_wait`].
    ticket_wait: Duration,
}

impl<S: ChainStore + 'static> std::fmt::Debug for Node<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("head", &self.chain.head())
            .field("slot", &self.chain.slot())
            .field("ready", &self.ready.len())
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

fn hash(h: HeaderHash) -> Hash {
    Hash(h.0)
}

/// The stored chain at its best block, or the spec's genesis stored.
fn open_chain<S: ChainStore>(
    store: &S,
    spec: &ChainSpec,
    keys: DevKeys,
    ring: RingContext,
) -> Result<(DevChain, Opened), NodeError> {
    let params = spec.protocol_parameters;
    let genesis = spec.genesis_header.clone();
    let genesis_hash = parajam_stf::header::header_hash(&genesis);
    let Some(best) = store.best()? else {
        let state = spec.state().map_err(|e| NodeError::State(e.to_string()))?;
        let block = Block {
            header: genesis.clone(),
            extrinsic: Extrinsic::default(),
        };
        let root = state.root();
        store.init_genesis(&NewBlock {
            hash: genesis_hash,
            block: &block,
            state_root: root,
            state: &spec.genesis_state,
        })?;
        let ancestry = vec![(state.timeslot, genesis_hash)];
        let chain = DevChain::resume(params, keys, ring, genesis, state, genesis_hash, ancestry)?;
        return Ok((
            chain,
            Opened::New {
                genesis: genesis_hash,
            },
        ));
    };
    let stored_genesis = store
        .finalized_at(0)?
        .ok_or_else(|| NodeError::Incomplete("no genesis block".into()))?;
    if stored_genesis != genesis_hash {
        return Err(NodeError::OtherChain {
            stored: stored_genesis,
            spec: genesis_hash,
        });
    }
    let keyvals = store.state(&best.hash)?.ok_or_else(|| {
        NodeError::Incomplete(format!("the state of the best block {}", best.hash))
    })?;
    let state =
        State::from_key_values(&keyvals, &params).map_err(|e| NodeError::State(e.to_string()))?;
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
    let state_root = state.root();
    let chain = DevChain::resume(params, keys, ring, genesis, state, best.hash, ancestry)?;
    Ok((
        chain,
        Opened::Resumed {
            best: best.hash,
            slot: best.slot,
            state_root,
        },
    ))
}

impl<S: ChainStore + 'static> Node<S> {
    /// Opens the chain of `spec` in `store` (storing its genesis if the
    /// store is empty, else resuming at the stored best block), authored
    /// with `keys`; `call_hook` (if any) sees each RPC call's method.
    pub fn open(
        store: S,
        spec: &ChainSpec,
        keys: DevKeys,
        ring: RingContext,
        config: NodeConfig,
        call_hook: Option<parajam_rpc::CallHook>,
    ) -> Result<(Self, Opened), NodeError> {
        let params = spec.protocol_parameters;
        let (mut chain, opened) = open_chain(&store, spec, keys, ring)?;
        chain.set_backend(config.backend);
        let stats = Arc::new(Stats::default());
        let (queue, inbound) = pipeline::queue(
            params,
            config.queue_capacity,
            config.submit_wait,
            stats.clone(),
        );
        let mut api = StoreApi::with_submitter(store, params, queue);
        if let Some(hook) = call_hook {
            api.set_call_hook(hook);
        }
        let api = Arc::new(api);
        // Reports pending availability in the stored state: assured in
        // the next block like our own.
        let pending = pending_reports(chain.state());
        let next_slot = chain.slot().saturating_add(1);
        let mut node = Self {
            chain,
            api,
            inbound,
            backend: config.backend,
            stats,
            ready: VecDeque::new(),
            pending,
            preimages: preimages::Preimages::default(),
            exports: ExportStore::default(),
            next_slot,
            finality_depth: config.finality_depth,
            guaranteeing: guaranteeing::Guaranteeing::default(),
            tickets: tickets::Tickets::new(&params),
            ticket_wait: config.ticket_wait,
        };
        // The Safrole tickets it had, if it stopped within their epoch
        // (what happened: `Node::take_ticket_events`).
        node.restore_tickets();
        Ok((node, opened))
    }

    /// The RPC server's view of the node.
    pub fn api(&self) -> Arc<StoreApi<S>> {
        self.api.clone()
    }

    /// The node's counters.
    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    /// The chain.
    pub fn chain(&self) -> &DevChain {
        &self.chain
    }

    /// The protocol parameters.
    pub fn params(&self) -> &ProtocolParameters {
        self.chain.params()
    }

    /// The slot the next [`Node::author`] authors at.
    pub fn next_slot(&self) -> TimeSlot {
        self.next_slot
    }

    /// Work packages refined and not yet accumulated, or queued.
    pub fn in_flight(&self) -> usize {
        self.ready.len() + self.pending.len()
    }

    /// Takes submissions until `deadline` (or until `stop` says so,
    /// checked at least every 100 ms), running the guarantor on each
    /// work package.
    pub fn serve_until(
        &mut self,
        deadline: Instant,
        stop: &dyn Fn() -> bool,
    ) -> Vec<PipelineEvent> {
        let mut events = Vec::new();
        loop {
            let now = Instant::now();
            if now >= deadline || stop() {
                return events;
            }
            let wait = (deadline - now).min(Duration::from_millis(100));
            match self.inbound.recv_timeout(wait) {
                // Among peers the core's guarantors take it
                // (`Node::guaranteeing_step`).
                Ok(Inbound::Package(job)) if self.networked() => {
                    self.guaranteeing.route(*job);
                    return events;
                }
                Ok(Inbound::Package(job)) => events.push(self.refine(&job)),
                Ok(Inbound::Preimage { requester, blob }) => {
                    events.push(PipelineEvent::Preimage {
                        requester,
                        len: blob.len(),
                    });
                    self.preimages.hold(requester, blob);
                }
                Err(RecvTimeoutError::Timeout) => {}
                // The RPC server is gone: nothing more arrives.
                Err(RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
                    return events;
                }
            }
        }
    }

    /// Stops taking work packages: every submission still waiting for a
    /// verdict is answered that the node is stopping, at once (not after
    /// [`NodeConfig::submit_wait`]), and later ones are refused the same
    /// way. The binary calls this before it stops the RPC server, whose
    /// stop waits for the calls in flight.
    pub fn close_submissions(&mut self) {
        let (_, closed) = std::sync::mpsc::sync_channel(0);
        let open = std::mem::replace(&mut self.inbound, closed);
        let queued = open.try_iter().filter_map(|inbound| match inbound {
            Inbound::Package(job) => Some(*job),
            Inbound::Preimage { .. } => None,
        });
        let jobs: Vec<Job> = queued.chain(self.guaranteeing.take_unrouted()).collect();
        // Dropping the receiver refuses what comes after.
        drop(open);
        for job in jobs {
            let _ = job.reply.send(Err("the node is stopping".into()));
        }
    }

    /// `Ξ` on `job`: the event, and the verdict sent to the submitter.
    fn refine(&mut self, job: &Job) -> PipelineEvent {
        let package = job.hash;
        let event = match self.guarantee(job) {
            Ok((guaranteed, gas)) => {
                self.store_da(package, &guaranteed);
                Stats::add(&self.stats.packages_refined, 1);
                Stats::add(&self.stats.refine_gas, gas);
                self.ready.push_back(Ready {
                    package,
                    guaranteed,
                });
                PipelineEvent::Refined {
                    package,
                    core: job.core,
                    gas,
                }
            }
            Err((label, reason)) => {
                self.stats.reject(label);
                Stats::sub(&self.stats.in_flight, 1);
                PipelineEvent::Dropped {
                    package,
                    label,
                    reason,
                }
            }
        };
        let verdict = match &event {
            PipelineEvent::Dropped { reason, .. } => Err(reason.clone()),
            _ => Ok(()),
        };
        // The submitter may have given up waiting.
        let _ = job.reply.send(verdict);
        event
    }

    /// The report of `job`'s package with the gas it used, or why not
    /// (a metric label and a reason).
    fn guarantee(&self, job: &Job) -> Result<(Guaranteed, u64), (&'static str, String)> {
        let params = self.chain.params();
        if job.core >= params.core_count {
            return Err(("malformed", format!("no core {}", job.core)));
        }
        let guarantor = Guarantor {
            executor: Executor {
                pvm: self.chain.pvm(),
                backend: self.backend,
                crosscheck: false,
            },
            params,
        };
        let guaranteed = guarantor
            .process(
                &self.chain.state().accounts,
                &job.package,
                job.core,
                &job.extrinsics,
                &self.exports,
            )
            .map_err(|e| match e {
                PackageError::Unauthorized(result) => (
                    "unauthorized",
                    format!("is-authorized refused it: {result:?}"),
                ),
                e @ (PackageError::BundleTooLarge { .. } | PackageError::TooManyItems { .. }) => {
                    ("limits", e.to_string())
                }
                e => ("refine", e.to_string()),
            })?;
        let report = &guaranteed.report;
        let pool = self
            .chain
            .state()
            .auth_pools
            .get(usize::from(job.core))
            .map(|p| p.contains(&report.authorizer_hash));
        if pool != Some(true) {
            return Err((
                "unauthorized",
                format!(
                    "its authorizer {} is not in core {}'s pool",
                    report.authorizer_hash, job.core
                ),
            ));
        }
        for (index, (item, result)) in job
            .package
            .items
            .iter()
            .zip(report.results.iter())
            .enumerate()
        {
            let WorkExecResult::Ok(output) = &result.result else {
                return Err((
                    "refine",
                    format!("refine of item {index} failed: {:?}", result.result),
                ));
            };
            if item.service == CORECHAINS {
                if let Ok(RefineOutput::Invalid { para_id, reason }) =
                    RefineOutput::decode_all(&mut &output.0[..])
                {
                    return Err((
                        "invalid_candidate",
                        format!(
                            "item {index}: the CoreChains service found para {}'s block \
                             invalid: {reason:?}",
                            para_id.0
                        ),
                    ));
                }
            }
        }
        let gas = guaranteed.authorization.gas_used.saturating_add(
            guaranteed
                .items
                .iter()
                .map(|o| o.gas_used)
                .fold(0, u64::saturating_add),
        );
        Ok((guaranteed, gas))
    }

    /// Stores the audit bundle (by package hash, and by erasure root for
    /// CE 147), each validator's erasure shards (its bundle shard, segment
    /// shards and justification, [`parajam_network::Shards::to_bytes`]:
    /// what CE 137 and 138 serve), the exported segments and the work
    /// report; a failure is logged by the caller through the returned
    /// events only when it matters (the report still goes to a block).
    fn store_da(&mut self, package: OpaqueHash, guaranteed: &Guaranteed) {
        let store = self.api.store();
        let params = *self.chain.params();
        let spec = &guaranteed.report.package_spec;
        let _ = store.put_bundle(&package, &guaranteed.bundle);
        let _ = store.put_bundle(&spec.erasure_root, &guaranteed.bundle);
        if let Ok(shares) = parajam_guarantor::availability::shares(
            &params,
            &guaranteed.bundle,
            &guaranteed.exports,
        ) {
            for share in shares {
                if let Ok(index) = u16::try_from(share.index) {
                    let shards = parajam_network::Shards {
                        bundle_shard: share.bundle_chunk,
                        segment_shards: share.segment_chunks,
                        justification: share.path,
                    };
                    let _ = store.put_shard(&spec.erasure_root, index, &shards.to_bytes());
                }
            }
        }
        for (index, segment) in guaranteed.exports.iter().enumerate() {
            if let Ok(index) = u16::try_from(index) {
                let _ = store.put_segment(&spec.exports_root, index, segment);
            }
        }
        let report = parajam_primitives::codec::with_params(&params, || {
            parajam_primitives::codec::Encode::encode(&guaranteed.report)
        });
        let report_hash = OpaqueHash::from(parajam_crypto::blake2b_256(&report));
        let _ = store.put_work_report(&report_hash, &report);
        self.exports.record(spec, guaranteed.exports.clone());
    }

    /// The dev validators of `κ` this node holds keys for.
    fn held_validators(&self) -> Vec<ValidatorIndex> {
        let state = self.chain.state();
        (0..self.chain.params().validators_count)
            .filter(|&i| self.chain.keys().of(&state.active_validators, i).is_some())
            .collect()
    }

    /// The heads of the CoreChains paras in `state`.
    fn heads(state: &State) -> BTreeMap<ParaId, Vec<u8>> {
        let Some(account) = state.accounts.get(&CORECHAINS) else {
            return BTreeMap::new();
        };
        let paras: Vec<ParaId> = account
            .storage(&StorageKey::Paras.to_key())
            .and_then(|v| Vec::<ParaId>::decode(&mut &v[..]).ok())
            .unwrap_or_default();
        paras
            .into_iter()
            .filter_map(|p| {
                let v = account.storage(&StorageKey::Head(p).to_key())?;
                Some((p, HeadData::decode(&mut &v[..]).ok()?.0))
            })
            .collect()
    }

    /// Authors the block of the next slot (see the module docs), stores
    /// and finalizes it.
    // One step of the pipeline in the paper's order; splitting it would
    // scatter the fallbacks.
    #[allow(clippy::too_many_lines)]
    pub fn author(&mut self) -> Result<SlotOutcome, NodeError> {
        let slot = self.next_slot;
        self.next_slot = slot.saturating_add(1);
        let held = self.held_validators();
        let networked = self.networked();
        // Safrole tickets (`node::tickets`): proofs started on a new head;
        // a lone node waits for its own if they would not fit otherwise.
        self.tickets_on_head();
        if !networked {
            self.wait_for_tickets(slot, self.ticket_wait);
        }
        let selected = self.select_tickets(slot);
        let assure: Vec<CoreIndex> = if networked {
            Vec::new()
        } else {
            self.pending.keys().copied().collect()
        };
        let assurances = if networked {
            // Among peers: the assurances heard of (and ours), CE 141.
            self.pooled_assurances()
        } else if assure.is_empty() {
            Vec::new()
        } else {
            match self.chain.assurances(slot, &assure, held.iter().copied()) {
                Ok(a) => a,
                Err(AuthoringError::UnknownSealer { slot }) => {
                    return Ok(SlotOutcome::NotOurs { slot })
                }
                Err(e) => return Err(e.into()),
            }
        };
        // Cores free for a new report once this block's assurances are in.
        let occupied: Vec<bool> = self
            .chain
            .state()
            .availability
            .iter()
            .enumerate()
            .map(|(core, a)| {
                a.is_some()
                    && !CoreIndex::try_from(core).is_ok_and(|c| self.pending.contains_key(&c))
            })
            .collect();
        let mut taken: Vec<Ready> = Vec::new();
        let mut waiting = VecDeque::new();
        while let Some(ready) = self.ready.pop_front() {
            let core = ready.guaranteed.report.core_index;
            let free = !occupied.get(usize::from(core)).copied().unwrap_or(true)
                && !taken.iter().any(|t| t.guaranteed.report.core_index == core);
            if free {
                taken.push(ready);
            } else {
                waiting.push_back(ready);
            }
        }
        self.ready = waiting;
        // `E_P`: the preimages held that the head's state solicits.
        let preimages = self.preimages.providable(self.chain.state());
        let before = Self::heads(self.chain.state());
        // Among peers: guarantees made by the cores' guarantors (CE 135).
        let pooled = if networked {
            self.pooled_guarantees(&assurances)
        } else {
            Vec::new()
        };
        let mut contents = Contents {
            tickets: selected.iter().map(|(_, t)| t.clone()).collect(),
            assurances: assurances.clone(),
            reports: taken.iter().map(|t| t.guaranteed.report.clone()).collect(),
            guarantees: pooled.clone(),
            preimages: preimages.clone(),
            ..Contents::default()
        };
        let mut dropped = Vec::new();
        let mut authored = self.chain.author(slot, contents.clone());
        let refused = match &authored {
            Err(AuthoringError::Safrole(e)) if !selected.is_empty() => Some(e.to_string()),
            _ => None,
        };
        if let Some(reason) = refused {
            // The tickets would not import (the STF says why): they leave
            // the pool, the block goes on without them.
            let ids: Vec<_> = selected.iter().map(|(id, _)| *id).collect();
            self.tickets.pool.remove(&ids);
            dropped.push((format!("{} Safrole tickets", ids.len()), reason));
            contents.tickets.clear();
            authored = self.chain.author(slot, contents);
        }
        // The pool as it is now (proofs made, refused tickets gone).
        self.save_tickets();
        let block = match authored {
            Ok(block) => block,
            Err(AuthoringError::UnknownSealer { slot }) => {
                // Not ours: everything waits for the next slot.
                for t in taken.into_iter().rev() {
                    self.ready.push_front(t);
                }
                return Ok(SlotOutcome::NotOurs { slot });
            }
            Err(e) if !taken.is_empty() || !preimages.is_empty() || !pooled.is_empty() => {
                // The block would not import with them: they are dropped,
                // and the block goes out with the assurances only.
                let reason = e.to_string();
                for t in &taken {
                    self.stats.reject("guarantee");
                    Stats::sub(&self.stats.in_flight, 1);
                    dropped.push((format!("work package {}", t.package), reason.clone()));
                }
                for g in &pooled {
                    dropped.push((
                        format!(
                            "the guarantee of work package {}",
                            g.report.package_spec.hash
                        ),
                        reason.clone(),
                    ));
                }
                self.guaranteeing.included(&pooled);
                self.preimages.drop_all(&preimages);
                for p in &preimages {
                    dropped.push((
                        format!("a preimage of {} octets for {}", p.blob.len(), p.requester),
                        reason.clone(),
                    ));
                }
                taken.clear();
                match self.chain.author(
                    slot,
                    Contents {
                        assurances,
                        ..Contents::default()
                    },
                ) {
                    Ok(block) => block,
                    // Not even the assurances: an empty block (the
                    // reports pending availability time out).
                    Err(e) => {
                        dropped.push(("the assurances".into(), e.to_string()));
                        self.chain.author(slot, Contents::default())?
                    }
                }
            }
            Err(e) if !assurances.is_empty() => {
                dropped.push(("the assurances".into(), e.to_string()));
                self.chain.author(slot, Contents::default())?
            }
            Err(e) => return Err(e.into()),
        };
        let head = self.chain.head();
        let state_root = self.chain.root();
        let keyvals = self.chain.state().to_key_values();
        let store = self.api.store();
        store.import(
            &NewBlock {
                hash: head,
                block: &block,
                state_root,
                state: &keyvals,
            },
            true,
        )?;
        let descriptor = BlockDescriptor {
            header_hash: hash(head),
            slot,
        };
        self.api.notify(NodeEvent::Best(descriptor));
        self.finalize_after(head, descriptor)?;

        // Reports made available by this block were accumulated in it.
        let state = self.chain.state();
        let mut accumulated = Vec::new();
        self.pending.retain(|&core, package| {
            let still = state.availability.get(usize::from(core)).is_some_and(|a| {
                a.as_ref()
                    .is_some_and(|a| a.report.package_spec.hash == *package)
            });
            if !still {
                accumulated.push(*package);
            }
            still
        });
        let included: Vec<_> = block.extrinsic.guarantees.iter().cloned().collect();
        self.guaranteeing.included(&included);
        let provided = block
            .extrinsic
            .preimages
            .iter()
            .map(|p| {
                let hash = OpaqueHash::from(parajam_crypto::blake2b_256(&p.blob));
                (p.requester, hash, p.blob.len())
            })
            .collect();
        self.preimages.prune(state);
        let guaranteed: Vec<OpaqueHash> = included
            .iter()
            .map(|g| g.report.package_spec.hash)
            .collect();
        for t in &taken {
            self.pending
                .insert(t.guaranteed.report.core_index, t.package);
        }
        let after = Self::heads(state);
        let heads: Vec<(ParaId, Vec<u8>)> = after
            .into_iter()
            .filter(|(p, h)| before.get(p) != Some(h))
            .collect();
        Stats::add(&self.stats.blocks_authored, 1);
        Stats::add(&self.stats.packages_guaranteed, taken.len() as u64);
        Stats::add(&self.stats.packages_accumulated, accumulated.len() as u64);
        Stats::sub(&self.stats.in_flight, accumulated.len() as u64);
        Stats::add(&self.stats.heads_advanced, heads.len() as u64);
        let tickets = block.extrinsic.tickets.len();
        let ticket_sealed = matches!(
            state.safrole.seal_keys,
            parajam_primitives::types::TicketsOrKeys::Tickets(_)
        );
        Stats::add(&self.stats.tickets_included, tickets as u64);
        Stats::add(&self.stats.ticket_sealed, u64::from(ticket_sealed));
        Ok(SlotOutcome::Authored(Box::new(Authored {
            hash: head,
            slot,
            state_root,
            guaranteed,
            accumulated,
            heads,
            provided,
            dropped,
            tickets,
            ticket_sealed,
        })))
    }
}

/// The reports pending availability in `state` (`ρ`), by core: their
/// packages, to assure in the next block.
fn pending_reports(state: &State) -> BTreeMap<CoreIndex, OpaqueHash> {
    state
        .availability
        .iter()
        .enumerate()
        .filter_map(|(core, a)| {
            let a = a.as_ref()?;
            Some((CoreIndex::try_from(core).ok()?, a.report.package_spec.hash))
        })
        .collect()
}
