//! Block import over a tree of states.
//!
//! [`Chain`] keeps the posterior state of every recent block by header
//! hash, so a block imports on whichever known block is its parent: the
//! head or an earlier one (a fork). It owns what import needs: the PVM
//! engine (with its module cache, so service code is compiled once), the
//! Bandersnatch ring context and the parameters. It is the one chain type:
//! the fuzz target, `parajam import`, and (under `parajam_authoring`'s
//! `DevChain`, which adds the authoring role: keys, genesis, the last
//! accumulation) the node's dev chains and the migration rehearsal.
//!
//! [`ChainTarget`] serves the conformance fuzzer protocol with it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use parajam_bandersnatch::RingContext;
use parajam_primitives::types::{Block, Header, HeaderHash, KeyValue, StateRoot, TimeSlot};
use parajam_primitives::ProtocolParameters;
use parajam_pvm::{Backend, Pvm, PvmFlavor};
use parajam_state::{State, StateError};
use parajam_stf::accumulate::Executor;
use parajam_stf::block::{
    import, Ancestry, ImportContext, ImportError, Imported, InvalidBlock, NodeFailure,
};
use parajam_stf::header::header_hash;

/// Why the chain could not start or take a block.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The PVM engine could not start.
    #[error("PVM: {0}")]
    Pvm(String),
    /// The ring-proof SRS could not be read or used.
    #[error("ring-proof SRS {origin}: {reason}")]
    Srs {
        /// Where it came from ([`SrsSource`]'s display).
        origin: String,
        /// What went wrong.
        reason: String,
    },
    /// A key/value state is not a valid state.
    #[error("state: {0}")]
    State(#[from] StateError),
    /// The block's parent is not a known block.
    #[error("unknown parent {0}")]
    UnknownParent(HeaderHash),
    /// The block is invalid (a consensus outcome).
    #[error("invalid block: {0}")]
    Invalid(#[from] InvalidBlock),
    /// The node failed on the block (engine, thread); its validity is
    /// undecided.
    #[error("node failure: {0}")]
    Node(#[from] NodeFailure),
}

impl From<ImportError> for ChainError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Invalid(reason) => Self::Invalid(reason),
            ImportError::Node(failure) => Self::Node(failure),
        }
    }
}

/// How the chain runs service code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecutionConfig {
    /// The PVM backend.
    pub backend: Backend,
    /// Run every invocation on both backends and require them to agree.
    pub crosscheck: bool,
}

/// A known block: its posterior state and that state's root, and the
/// ancestors a child of it may anchor lookups in, if known.
#[derive(Debug, Clone)]
struct Entry {
    state: Arc<State>,
    root: StateRoot,
    slot: TimeSlot,
    /// When it was added (a counter over the chain's insertions).
    added: u64,
    /// `(slot, hash)` of this block and its ancestors within `L` slots
    /// (GP eq. 11.35); `None` when the history before it is unknown.
    ancestry: Option<Arc<Vec<(TimeSlot, HeaderHash)>>>,
}

/// Recent blocks' states by header hash, and how to import on them.
pub struct Chain {
    params: ProtocolParameters,
    pvm: Pvm,
    execution: ExecutionConfig,
    ring: Arc<RingContext>,
    blocks: HashMap<HeaderHash, Entry>,
    head: Option<HeaderHash>,
    /// States older than this many slots behind the newest are dropped,
    /// unless among the last `keep_slots` added (a valid block may jump
    /// far ahead, even to slot `2^32 − 1`, and its siblings still need
    /// their parent).
    keep_slots: TimeSlot,
    /// Insertions so far.
    added: u64,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("params", &self.params.name)
            .field("execution", &self.execution)
            .field("blocks", &self.blocks.len())
            .field("head", &self.head)
            .finish_non_exhaustive()
    }
}

/// Where the ring-proof SRS (the Zcash BLS12-381 powers of tau, `2^11`,
/// uncompressed) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SrsSource {
    /// The copy the binary carries ([`parajam_bandersnatch::ZCASH_SRS`]).
    Embedded,
    /// A file of the same format.
    File(PathBuf),
}

impl SrsSource {
    /// `$PARAJAM_SRS` if set, else the embedded copy.
    pub fn from_env() -> Self {
        std::env::var_os("PARAJAM_SRS").map_or(Self::Embedded, |p| Self::File(PathBuf::from(p)))
    }

    /// Ring parameters for rings of `ring_size` keys.
    pub fn ring_context(&self, ring_size: usize) -> Result<RingContext, ChainError> {
        let error = |reason: String| ChainError::Srs {
            origin: self.to_string(),
            reason,
        };
        match self {
            Self::Embedded => RingContext::zcash(ring_size),
            Self::File(path) => {
                let bytes = std::fs::read(path).map_err(|e| error(e.to_string()))?;
                RingContext::from_srs(&bytes, ring_size)
            }
        }
        .map_err(|e| error(e.to_string()))
    }
}

impl std::fmt::Display for SrsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Embedded => f.write_str("(embedded Zcash SRS)"),
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

impl Chain {
    /// A chain with no blocks yet, for `params`, running services as
    /// `execution` says, with the ring-proof SRS from `srs`.
    pub fn new(
        params: ProtocolParameters,
        execution: ExecutionConfig,
        srs: &SrsSource,
    ) -> Result<Self, ChainError> {
        let ring = srs.ring_context(usize::from(params.validators_count))?;
        Self::with_ring(params, execution, ring)
    }

    /// [`Chain::new`] with a ring context made already (it must serve
    /// rings of `V` keys).
    pub fn with_ring(
        params: ProtocolParameters,
        execution: ExecutionConfig,
        ring: RingContext,
    ) -> Result<Self, ChainError> {
        let pvm = Pvm::new(PvmFlavor::Gp072).map_err(|e| ChainError::Pvm(e.to_string()))?;
        Ok(Self {
            params,
            pvm,
            execution,
            ring: Arc::new(ring),
            blocks: HashMap::new(),
            head: None,
            keep_slots: 2 * params.epoch_length,
            added: 0,
        })
    }

    /// Keeps the states of the blocks of the last `slots` slots (and of
    /// the last `slots` imported), at least the head's; by default two
    /// epochs. A node that keeps older states in its database keeps few
    /// here.
    pub fn set_retention(&mut self, slots: TimeSlot) {
        self.keep_slots = slots;
    }

    /// How service code runs.
    pub fn execution(&self) -> ExecutionConfig {
        self.execution
    }

    /// The ring context.
    pub fn ring(&self) -> &RingContext {
        &self.ring
    }

    /// The ring context, shared (for proving on other threads).
    pub fn shared_ring(&self) -> Arc<RingContext> {
        self.ring.clone()
    }

    /// Changes how service code runs from the next import on.
    pub fn set_execution(&mut self, execution: ExecutionConfig) {
        self.execution = execution;
    }

    /// The PVM engine (to ask which backends this machine has).
    pub fn pvm(&self) -> &Pvm {
        &self.pvm
    }

    /// The parameters.
    pub fn params(&self) -> &ProtocolParameters {
        &self.params
    }

    /// Sets the state of block `hash` (a genesis, or a fuzzer's
    /// initialization) from key/values; it becomes the head. Returns its root.
    ///
    /// `ancestors` are the `(slot, hash)` of the blocks before it, if known
    /// (empty for a genesis): with them, the lookup anchors of the blocks
    /// that follow are checked (GP eq. 11.35); without, that check is
    /// skipped.
    pub fn set_state(
        &mut self,
        hash: HeaderHash,
        keyvals: &[KeyValue],
        ancestors: Option<Vec<(TimeSlot, HeaderHash)>>,
    ) -> Result<StateRoot, ChainError> {
        let state = State::from_key_values(keyvals, &self.params)?;
        let ancestry = ancestors.map(|mut a| {
            a.push((state.timeslot, hash));
            a
        });
        Ok(self.set_head(hash, state, ancestry))
    }

    /// Makes `state` the posterior state of block `hash` and that block the
    /// head, forgetting every other (a genesis, a stored head resumed, a
    /// fork switched to). `ancestry` is the `(slot, hash)` of the block and
    /// its ancestors within `L` slots, the block last, if known. Returns
    /// the state's root.
    pub fn set_head(
        &mut self,
        hash: HeaderHash,
        state: State,
        ancestry: Option<Vec<(TimeSlot, HeaderHash)>>,
    ) -> StateRoot {
        let root = state.root();
        self.blocks.clear();
        self.insert(hash, state, root, ancestry.map(Arc::new));
        root
    }

    /// The head: the block imported or set last.
    pub fn head(&self) -> Option<(HeaderHash, StateRoot)> {
        let hash = self.head?;
        Some((hash, self.blocks.get(&hash)?.root))
    }

    /// The state of a known block.
    pub fn state(&self, hash: &HeaderHash) -> Option<&State> {
        self.blocks.get(hash).map(|e| e.state.as_ref())
    }

    /// `(slot, hash)` of a known block and its ancestors within `L` slots,
    /// the block last, if known.
    pub fn ancestry(&self, hash: &HeaderHash) -> Option<&[(TimeSlot, HeaderHash)]> {
        self.blocks
            .get(hash)?
            .ancestry
            .as_deref()
            .map(Vec::as_slice)
    }

    /// Imports `block` on its parent's state; it becomes the head.
    /// An invalid block changes nothing.
    pub fn import(&mut self, block: &Block) -> Result<StateRoot, ChainError> {
        let imported = self.try_import(block)?;
        Ok(self.commit(block, imported.state))
    }

    /// `import(σ, block)` on its parent's state with the chain's context;
    /// the chain is not changed ([`Chain::commit`] keeps the result).
    pub fn try_import(&self, block: &Block) -> Result<Imported, ChainError> {
        let parent = block.header.parent;
        Ok(self
            .try_import_known(block)
            .ok_or(ChainError::UnknownParent(parent))??)
    }

    /// [`Chain::try_import`] in the state transition's terms; `None` when
    /// the block's parent is not a known block.
    pub fn try_import_known(&self, block: &Block) -> Option<Result<Imported, ImportError>> {
        let entry = self.blocks.get(&block.header.parent)?;
        let executor = Executor {
            pvm: &self.pvm,
            backend: self.execution.backend,
            crosscheck: self.execution.crosscheck,
        };
        let ctx = ImportContext {
            params: &self.params,
            executor: &executor,
            ring: &self.ring,
            prior_root: Some(entry.root),
            ancestry: entry.ancestry.as_deref().map(|a| a as &dyn Ancestry),
        };
        Some(import(&entry.state, block, &ctx))
    }

    /// Keeps `state`, what [`Chain::try_import`] gave for `block`, as the
    /// block's posterior state; it becomes the head. Returns its root.
    pub fn commit(&mut self, block: &Block, state: State) -> StateRoot {
        let root = state.root();
        let hash = header_hash(&block.header);
        let slot = block.header.slot;
        let horizon = slot.saturating_sub(self.params.max_lookup_anchor_age);
        let parent = self.blocks.get(&block.header.parent);
        let ancestry = parent.and_then(|p| p.ancestry.as_deref()).map(|a| {
            let mut next: Vec<(TimeSlot, HeaderHash)> =
                a.iter().filter(|(s, _)| *s >= horizon).copied().collect();
            next.push((slot, hash));
            Arc::new(next)
        });
        self.insert(hash, state, root, ancestry);
        root
    }

    fn insert(
        &mut self,
        hash: HeaderHash,
        state: State,
        root: StateRoot,
        ancestry: Option<Arc<Vec<(TimeSlot, HeaderHash)>>>,
    ) {
        let slot = state.timeslot;
        self.added += 1;
        let keep = self.keep_slots.max(1);
        self.blocks.insert(
            hash,
            Entry {
                state: Arc::new(state),
                root,
                slot,
                added: self.added,
                ancestry,
            },
        );
        self.head = Some(hash);
        let horizon = slot.saturating_sub(keep);
        let recent = self.added.saturating_sub(u64::from(keep));
        self.blocks
            .retain(|_, e| e.slot >= horizon || e.added > recent);
    }
}

/// The conformance fuzzer's target: a [`Chain`] behind the protocol.
///
/// Clones share the chain, so one chain (its engine, module cache and
/// ring context built once) serves one connection after another; every
/// session starts with `initialize`, which replaces all state.
#[derive(Debug, Clone)]
pub struct ChainTarget {
    chain: Arc<Mutex<Chain>>,
    /// Whether the session negotiated the ancestry feature.
    ancestry: bool,
}

impl ChainTarget {
    /// A target over `chain`.
    pub fn new(chain: Chain) -> Self {
        Self {
            chain: Arc::new(Mutex::new(chain)),
            ancestry: false,
        }
    }

    /// The chain, locked. (A session that panicked mid-request leaves the
    /// chain usable: the next `initialize` replaces its state.)
    pub fn chain(&self) -> MutexGuard<'_, Chain> {
        self.chain.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl parajam_fuzz::Target for ChainTarget {
    fn negotiated(&mut self, features: parajam_fuzz::Features, _: &parajam_fuzz::PeerInfo) {
        self.ancestry = features.contains(parajam_fuzz::Features::ANCESTRY);
    }

    fn initialize(
        &mut self,
        header: Header,
        state: Vec<KeyValue>,
        ancestry: Vec<parajam_fuzz::AncestryItem>,
    ) -> Result<StateRoot, String> {
        // Without the ancestry feature the lookup-anchor check is skipped.
        let ancestors = self
            .ancestry
            .then(|| ancestry.iter().map(|a| (a.slot, a.header_hash)).collect());
        self.chain()
            .set_state(header_hash(&header), &state, ancestors)
            .map_err(|e| e.to_string())
    }

    fn import_block(&mut self, block: Block) -> Result<StateRoot, String> {
        self.chain().import(&block).map_err(|e| e.to_string())
    }

    fn get_state(&mut self, header_hash: &HeaderHash) -> Result<Vec<KeyValue>, String> {
        self.chain()
            .state(header_hash)
            .map(State::to_key_values)
            .ok_or_else(|| format!("unknown block {header_hash}"))
    }
}
