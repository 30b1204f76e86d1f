//! The node's embedded storage: headers and blocks by header hash, the
//! posterior state (GP eq. D.2 key/values) of every kept block by its state
//! root, the best and finalized pointers, and the node's off-chain data
//! (work reports, preimages, DA bundles, erasure shards, exported segments)
//! by their hashes, and the node's pool of Safrole tickets
//! ([`StoredTicketPool`]).
//!
//! Traits apart from implementations:
//!
//! * [`ChainStore`]: what the node asks of its storage.
//! * [`KvChainStore`]: the one implementation of it, over any
//!   [`KvBackend`] (columns of key/values committed atomically). The chain
//!   logic (forks, finality, pruning, reference-counted states) lives here.
//! * [`ParityBackend`]: parity-db on disk (no server); [`MemoryBackend`]: a
//!   map in memory for tests.
//!
//! [`ParityStore`] is `KvChainStore<ParityBackend>`, opened with
//! [`open_parity`].
//!
//! Each import, finalization or data write is one transaction, committed
//! atomically and durably before the call returns, so a process killed at
//! any moment loses nothing committed and reopens on the last commit.
//!
//! ```no_run
//! # use parajam_storage::{open_parity, ChainStore, NewBlock, StoreConfig};
//! # use parajam_primitives::{types::Block, ProtocolParameters};
//! # fn f(genesis: Block, hash: parajam_primitives::types::HeaderHash,
//! #      root: parajam_primitives::types::StateRoot,
//! #      state: Vec<parajam_primitives::types::KeyValue>) -> Result<(), parajam_storage::StorageError> {
//! let store = open_parity("/tmp/db".as_ref(), ProtocolParameters::TINY, StoreConfig::default())?;
//! store.init_genesis(&NewBlock { hash, block: &genesis, state_root: root, state: &state })?;
//! assert_eq!(store.best()?.map(|b| b.hash), Some(hash));
//! # Ok(()) }
//! ```

mod error;
mod kv;
mod memory;
mod parity;
mod store;

pub use error::StorageError;
pub use kv::{Column, KvBackend, WriteOp};
pub use memory::MemoryBackend;
pub use parity::ParityBackend;
pub use store::{KvChainStore, FORMAT_MARKER};

use std::path::Path;

use parajam_primitives::types::{
    Block, ErasureRoot, ExportsRoot, Header, HeaderHash, KeyValue, OpaqueHash, StateKey, StateRoot,
    TicketEnvelope, TicketId, TimeSlot, WorkPackageHash, WorkReportHash,
};
use parajam_primitives::ProtocolParameters;

/// A block and its slot: what the best and finalized pointers name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRef {
    /// The header hash.
    pub hash: HeaderHash,
    /// The header's slot `H_T`.
    pub slot: TimeSlot,
}

/// What the store keeps of every block besides its header and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockInfo {
    /// The header's slot `H_T`.
    pub slot: TimeSlot,
    /// The parent header hash `H_P`.
    pub parent: HeaderHash,
    /// The posterior state root `M_σ(σ')` (GP eq. D.3) of the block.
    pub state_root: StateRoot,
}

/// A block to store: its header hash, the block, and its posterior state
/// (GP eq. D.2 key/values) with the state's root.
///
/// The store does not recompute the hash or the root: the importer did.
#[derive(Debug, Clone, Copy)]
pub struct NewBlock<'a> {
    /// `H(E(H))`.
    pub hash: HeaderHash,
    /// The block.
    pub block: &'a Block,
    /// The posterior state root.
    pub state_root: StateRoot,
    /// The posterior state `T(σ')`.
    pub state: &'a [KeyValue],
}

/// How much the store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreConfig {
    /// The states of this many most recent finalized blocks are kept (at
    /// least 1: the finalized block's); older finalized states are pruned.
    /// Non-finalized blocks always keep their states.
    pub keep_finalized_states: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            keep_finalized_states: 256,
        }
    }
}

/// The node's Safrole ticket pool as stored: the epoch the tickets are
/// for (used in) and the checked tickets, each with its id (the VRF output
/// of its proof), so that a node restarted within the submission period
/// keeps the tickets it had.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredTicketPool {
    /// The epoch the tickets are for.
    pub epoch: u32,
    /// The tickets by id, lowest first.
    pub tickets: Vec<(TicketId, TicketEnvelope)>,
}

/// What a finalization did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Finalized {
    /// The blocks that became finalized, oldest first.
    pub newly_finalized: Vec<HeaderHash>,
    /// Non-finalized blocks removed: those not descending from the new
    /// finalized block (dead forks).
    pub pruned_blocks: Vec<HeaderHash>,
    /// Finalized blocks whose state was dropped (older than the kept ones).
    pub pruned_states: Vec<HeaderHash>,
}

/// The node's storage.
///
/// Every write is one atomic, durable transaction. Reads of a block or state
/// the store does not have (never imported, pruned) give `Ok(None)`.
pub trait ChainStore: Send + Sync {
    /// Stores the genesis block and its state: it becomes best and
    /// finalized. Only on an empty store
    /// ([`StorageError::AlreadyInitialized`] otherwise).
    fn init_genesis(&self, genesis: &NewBlock<'_>) -> Result<(), StorageError>;

    /// Stores an imported block and its posterior state. Its parent must be
    /// stored, its slot above the finalized one. With `make_best`, it also
    /// becomes the best block, in the same transaction. Storing a block
    /// again changes nothing but the best pointer.
    fn import(&self, block: &NewBlock<'_>, make_best: bool) -> Result<(), StorageError>;

    /// Makes a stored, non-pruned block the best one.
    fn set_best(&self, hash: &HeaderHash) -> Result<(), StorageError>;

    /// Finalizes `hash` (a descendant of the finalized block, or it) and its
    /// ancestors, pruning what finality makes dead (see [`Finalized`]). If
    /// the best block is pruned or is a newly finalized ancestor of `hash`,
    /// `hash` becomes best.
    fn finalize(&self, hash: &HeaderHash) -> Result<Finalized, StorageError>;

    /// The best block, `None` before genesis.
    fn best(&self) -> Result<Option<BlockRef>, StorageError>;

    /// The latest finalized block, `None` before genesis.
    fn finalized(&self) -> Result<Option<BlockRef>, StorageError>;

    /// The finalized block at `slot`, if a finalized block has that slot.
    fn finalized_at(&self, slot: TimeSlot) -> Result<Option<HeaderHash>, StorageError>;

    /// Slot, parent and state root of a stored block.
    fn block_info(&self, hash: &HeaderHash) -> Result<Option<BlockInfo>, StorageError>;

    /// The header of a stored block.
    fn header(&self, hash: &HeaderHash) -> Result<Option<Header>, StorageError>;

    /// A stored block.
    fn block(&self, hash: &HeaderHash) -> Result<Option<Block>, StorageError>;

    /// The posterior state of a block, sorted by key; `None` if the block
    /// is unknown or its state pruned.
    fn state(&self, hash: &HeaderHash) -> Result<Option<Vec<KeyValue>>, StorageError>;

    /// A state by its root, sorted by key; `None` if no kept block has it.
    fn state_by_root(&self, root: &StateRoot) -> Result<Option<Vec<KeyValue>>, StorageError>;

    /// One value of a block's posterior state: `None` if the block's state
    /// is not kept, `Some(None)` if the state has no such key.
    fn state_value(
        &self,
        hash: &HeaderHash,
        key: &StateKey,
    ) -> Result<Option<Option<Vec<u8>>>, StorageError>;

    /// Stores an encoded work report by its hash.
    fn put_work_report(&self, hash: &WorkReportHash, report: &[u8]) -> Result<(), StorageError>;
    /// An encoded work report.
    fn work_report(&self, hash: &WorkReportHash) -> Result<Option<Vec<u8>>, StorageError>;

    /// Stores a preimage by its hash.
    fn put_preimage(&self, hash: &OpaqueHash, preimage: &[u8]) -> Result<(), StorageError>;
    /// A preimage.
    fn preimage(&self, hash: &OpaqueHash) -> Result<Option<Vec<u8>>, StorageError>;

    /// Stores an encoded work-package bundle by its package hash.
    fn put_bundle(&self, hash: &WorkPackageHash, bundle: &[u8]) -> Result<(), StorageError>;
    /// An encoded work-package bundle.
    fn bundle(&self, hash: &WorkPackageHash) -> Result<Option<Vec<u8>>, StorageError>;

    /// Stores erasure shard `index` of the data with erasure root `root`.
    fn put_shard(&self, root: &ErasureRoot, index: u16, shard: &[u8]) -> Result<(), StorageError>;
    /// An erasure shard.
    fn shard(&self, root: &ErasureRoot, index: u16) -> Result<Option<Vec<u8>>, StorageError>;

    /// Stores exported segment `index` of the package with segment root `root`.
    fn put_segment(
        &self,
        root: &ExportsRoot,
        index: u16,
        segment: &[u8],
    ) -> Result<(), StorageError>;
    /// An exported segment.
    fn segment(&self, root: &ExportsRoot, index: u16) -> Result<Option<Vec<u8>>, StorageError>;

    /// Stores the node's Safrole ticket pool, replacing the stored one (one
    /// atomic write).
    fn put_ticket_pool(&self, pool: &StoredTicketPool) -> Result<(), StorageError>;
    /// The stored Safrole ticket pool, `None` if none was stored; a stored
    /// value that does not decode is [`StorageError::Corrupt`].
    fn ticket_pool(&self) -> Result<Option<StoredTicketPool>, StorageError>;
}

/// The parity-db store.
pub type ParityStore = KvChainStore<ParityBackend>;

/// The in-memory store (tests).
pub type MemoryStore = KvChainStore<MemoryBackend>;

/// Opens (or creates) the parity-db store at `path` for chains of `params`.
///
/// A directory holding something else (another format, another version,
/// another parameter set, unreadable files) is refused with a typed error.
pub fn open_parity(
    path: &Path,
    params: ProtocolParameters,
    config: StoreConfig,
) -> Result<ParityStore, StorageError> {
    KvChainStore::open(ParityBackend::open(path)?, params, config).map_err(|e| match e {
        StorageError::Foreign { reason, .. } => StorageError::Foreign {
            path: path.to_path_buf(),
            reason,
        },
        e => e,
    })
}

/// A new in-memory store for chains of `params`.
pub fn memory_store(params: ProtocolParameters, config: StoreConfig) -> MemoryStore {
    // An empty memory backend always opens.
    KvChainStore::open(MemoryBackend::default(), params, config)
        .unwrap_or_else(|e| unreachable!("an empty memory store opens: {e}"))
}
