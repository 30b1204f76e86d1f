//! The node among peers: blocks authored by other validators imported on
//! the head, the interim finality rule, and the slot set by the wall clock.

use parajam_primitives::types::{Block, HeaderHash, TimeSlot};
use parajam_rpc::{BlockDescriptor, NodeEvent};
use parajam_state::State;
use parajam_storage::{ChainStore, NewBlock};

use super::{hash, Node, NodeError};
use crate::stats::Stats;

/// Why a peer's block was not imported.
#[derive(Debug, thiserror::Error)]
pub enum BlockImportError {
    /// Its parent is not the head (unknown, or another fork).
    #[error("its parent {parent} is not the head {head}")]
    NotOnHead {
        /// Its parent.
        parent: HeaderHash,
        /// The head.
        head: HeaderHash,
    },
    /// The block is invalid on the head's state (GP §4 – §13).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The node failed (storage).
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// A peer's block, imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedBlock {
    /// Its header hash.
    pub hash: HeaderHash,
    /// Its slot.
    pub slot: TimeSlot,
    /// Packages of this node's whose reports it accumulated.
    pub accumulated: usize,
}

impl<S: ChainStore + 'static> Node<S> {
    /// The head's header hash.
    pub fn head(&self) -> HeaderHash {
        self.chain.head()
    }

    /// The head's slot.
    pub fn head_slot(&self) -> TimeSlot {
        self.chain.slot()
    }

    /// Makes [`Node::author`] author at `slot` next (with peers the slot is
    /// the wall clock's, not the one after the head's).
    pub fn set_next_slot(&mut self, slot: TimeSlot) {
        self.next_slot = slot;
    }

    /// Imports a block another validator authored on the head: the full
    /// state transition, then stored as the best block, and finalized as
    /// [`NodeConfig::finality_depth`](super::NodeConfig::finality_depth)
    /// says. An invalid block changes nothing.
    pub fn import_block(&mut self, block: &Block) -> Result<ImportedBlock, BlockImportError> {
        let head = self.chain.head();
        if block.header.parent != head {
            return Err(BlockImportError::NotOnHead {
                parent: block.header.parent,
                head,
            });
        }
        self.chain
            .import(block)
            .map_err(|e| BlockImportError::Invalid(e.to_string()))?;
        // Guarantees this block carries need no other block.
        let included: Vec<_> = block.extrinsic.guarantees.iter().cloned().collect();
        self.guaranteeing.included(&included);
        // This node's shards of the reports it carries are fetched (CE 137).
        for guarantee in &included {
            self.want_shards(guarantee);
        }
        let new = self.chain.head();
        let slot = block.header.slot;
        let keyvals = self.chain.state().to_key_values();
        self.api
            .store()
            .import(
                &NewBlock {
                    hash: new,
                    block,
                    state_root: self.chain.root(),
                    state: &keyvals,
                },
                true,
            )
            .map_err(NodeError::from)?;
        let descriptor = BlockDescriptor {
            header_hash: hash(new),
            slot,
        };
        self.api.notify(NodeEvent::Best(descriptor));
        self.finalize_after(new, descriptor)?;
        // Reports of ours this block made available were accumulated in it.
        let state = self.chain.state();
        let before = self.pending.len();
        self.pending.retain(|&core, package| {
            state.availability.get(usize::from(core)).is_some_and(|a| {
                a.as_ref()
                    .is_some_and(|a| a.report.package_spec.hash == *package)
            })
        });
        let accumulated = before - self.pending.len();
        Stats::add(&self.stats.packages_accumulated, accumulated as u64);
        Stats::sub(&self.stats.in_flight, accumulated as u64);
        self.next_slot = self.next_slot.max(slot.saturating_add(1));
        Ok(ImportedBlock {
            hash: new,
            slot,
            accumulated,
        })
    }

    /// Moves the head back to the stored block `to` (the finalized block,
    /// before switching to a peer's fork): its state is loaded, it becomes
    /// the best block; the blocks above it stay stored until finality
    /// prunes them.
    pub fn rewind_to(&mut self, to: HeaderHash) -> Result<TimeSlot, NodeError> {
        let store = self.api.store();
        let params = *self.chain.params();
        let info = store
            .block_info(&to)?
            .ok_or_else(|| NodeError::Incomplete(format!("block {to}")))?;
        let keyvals = store
            .state(&to)?
            .ok_or_else(|| NodeError::Incomplete(format!("the state of block {to}")))?;
        let state = State::from_key_values(&keyvals, &params)
            .map_err(|e| NodeError::State(e.to_string()))?;
        let horizon = info.slot.saturating_sub(params.max_lookup_anchor_age);
        let mut ancestry = Vec::new();
        let mut cursor = to;
        while let Some(i) = store.block_info(&cursor)? {
            if i.slot < horizon {
                break;
            }
            ancestry.push((i.slot, cursor));
            if i.slot == 0 {
                break;
            }
            cursor = i.parent;
        }
        ancestry.reverse();
        self.chain.rewind(state, to, ancestry);
        store.set_best(&to)?;
        self.api.notify(NodeEvent::Best(BlockDescriptor {
            header_hash: hash(to),
            slot: info.slot,
        }));
        // Reports pending availability are the rewound state's.
        self.pending = super::pending_reports(self.chain.state());
        Ok(info.slot)
    }

    /// Finality after `head` (just stored, `descriptor`) became best: on a
    /// lone node `head` itself; with peers the block `d` blocks below it,
    /// if it is above the finalized one.
    pub(super) fn finalize_after(
        &mut self,
        head: HeaderHash,
        descriptor: BlockDescriptor,
    ) -> Result<(), NodeError> {
        let store = self.api.store();
        let Some(depth) = self.finality_depth else {
            store.finalize(&head)?;
            self.api.notify(NodeEvent::Finalized(descriptor));
            return Ok(());
        };
        let mut cursor = head;
        let mut slot = descriptor.slot;
        for _ in 0..depth {
            let Some(info) = store.block_info(&cursor)? else {
                return Ok(());
            };
            if info.slot == 0 {
                // Genesis is final already.
                return Ok(());
            }
            cursor = info.parent;
            let Some(parent) = store.block_info(&cursor)? else {
                return Ok(());
            };
            slot = parent.slot;
        }
        let finalized = store.finalized()?;
        if finalized.is_some_and(|f| f.slot >= slot) {
            return Ok(());
        }
        store.finalize(&cursor)?;
        self.api.notify(NodeEvent::Finalized(BlockDescriptor {
            header_hash: hash(cursor),
            slot,
        }));
        Ok(())
    }
}
