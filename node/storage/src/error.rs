//! Why the store could not open, read or write.

use std::path::PathBuf;

use parajam_primitives::types::HeaderHash;
use parajam_primitives::DecodeError;

/// Why the store could not open, read or write.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The directory holds something that is not a parajam store: files of
    /// another program, or a parity-db database without the parajam marker.
    #[error("{path} is not a parajam store: {reason}")]
    Foreign {
        /// The directory.
        path: PathBuf,
        /// What was found.
        reason: String,
    },
    /// The database is a parajam store of another format version or for
    /// another parameter set.
    #[error("incompatible store: found marker {found:?}, expected {expected:?}")]
    Incompatible {
        /// The marker found.
        found: String,
        /// The marker this build writes.
        expected: String,
    },
    /// The database could not be opened or read: locked by another process,
    /// damaged files, I/O errors.
    #[error("database: {0}")]
    Database(String),
    /// A stored value does not decode: the database is damaged.
    #[error("corrupt store: {what}: {reason}")]
    Corrupt {
        /// What was being read.
        what: String,
        /// Why it is refused.
        reason: String,
    },
    /// A stored block does not decode.
    #[error("corrupt store: block {hash}: {source}")]
    CorruptBlock {
        /// The block.
        hash: HeaderHash,
        /// The decoder's reason.
        source: DecodeError,
    },
    /// `init_genesis` on a store that has blocks.
    #[error("the store already has a genesis block")]
    AlreadyInitialized,
    /// An operation that needs a genesis block on an empty store.
    #[error("the store has no genesis block")]
    Empty,
    /// The block's parent is not stored (or was pruned).
    #[error("unknown parent {0}")]
    UnknownParent(HeaderHash),
    /// The block is not stored (or was pruned).
    #[error("unknown block {0}")]
    UnknownBlock(HeaderHash),
    /// A block at or below the finalized slot that is not finalized.
    #[error("block {hash} at slot {slot} is not above the finalized slot {finalized}")]
    BelowFinality {
        /// The block.
        hash: HeaderHash,
        /// Its slot.
        slot: u32,
        /// The finalized block's slot.
        finalized: u32,
    },
    /// Finalizing a block that does not descend from the finalized one.
    #[error("block {0} does not descend from the finalized block")]
    NotDescendant(HeaderHash),
}
