//! Columns of key/values committed atomically: what [`KvChainStore`]
//! needs of a database.
//!
//! [`KvChainStore`]: crate::KvChainStore

use crate::StorageError;

/// The store's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Column {
    /// Format marker, best and finalized pointers, the non-finalized
    /// blocks, the finalized blocks whose states are kept.
    Meta = 0,
    /// Header hash → encoded header.
    Headers = 1,
    /// Header hash → encoded extrinsic.
    Bodies = 2,
    /// Header hash → slot, parent, state root.
    BlockInfo = 3,
    /// Slot (big-endian) → hash of the finalized block at that slot.
    Finalized = 4,
    /// State root → reference count and the state's keys with the hashes
    /// of their values.
    States = 5,
    /// Value hash → reference count and value.
    StateValues = 6,
    /// Work-report hash → encoded work report.
    WorkReports = 7,
    /// Hash → preimage.
    Preimages = 8,
    /// Work-package hash → encoded bundle.
    Bundles = 9,
    /// Erasure root and shard index → shard.
    Shards = 10,
    /// Segment root and segment index → segment.
    Segments = 11,
}

impl Column {
    /// How many columns there are.
    pub const COUNT: u8 = 12;
}

/// One write of a transaction: set or delete a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOp {
    /// Sets `key` to the value.
    Set(Column, Vec<u8>, Vec<u8>),
    /// Deletes `key`.
    Delete(Column, Vec<u8>),
}

/// A database of [`Column`]s.
pub trait KvBackend: Send + Sync {
    /// The value of `key` in `column`, as of the last commit.
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;

    /// Applies `ops` atomically (all or none, also across a crash) and
    /// durably: when this returns `Ok`, the writes survive the process
    /// being killed. Operations on one key apply in order.
    fn commit(&self, ops: Vec<WriteOp>) -> Result<(), StorageError>;
}
