//! What a collator puts in a CoreChains work item, and what refine returns.
//!
//! A work item of the CoreChains service carries one parachain block
//! candidate:
//!
//! - the work-item **payload** is the SCALE encoding of a
//!   [`ParachainCandidate`]: which para, the head it builds on, the code it
//!   claims to be valid under, and the relay-parent (anchor) data that goes
//!   into [`ValidationParams`];
//! - the parachain block itself (the PoV, upstream [`BlockData`]) is the
//!   work item's first **extrinsic**, whose Blake2b-256 hash the candidate
//!   names in [`ParachainCandidate::block_data_hash`] (GP's work-item
//!   extrinsic references `(hash, length)` carry the same hash).
//!
//! Refine runs the PVF on [`ParachainCandidate::validation_params`] and, on
//! success, returns the SCALE encoding of a [`CandidateOutput`] as the work
//! output; accumulate checks it against the service state ([`crate::state`]).

use crate::{
    BlockData, Hash, HeadData, ParaId, RelayChainBlockNumber, ValidationCodeHash, ValidationParams,
    ValidationResult,
};
use parity_scale_codec::{Decode, Encode};

/// The work-item payload: one parachain block candidate.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct ParachainCandidate {
    /// The para the block advances.
    pub para_id: ParaId,
    /// The head the block builds on; accumulate requires it to be the para's
    /// stored head.
    pub parent_head: HeadData,
    /// The hash of the PVF to validate with; refine fetches the code by this
    /// hash (a historical lookup at the anchor), accumulate requires it to be
    /// the para's current code.
    pub validation_code_hash: ValidationCodeHash,
    /// The anchor block (GP work context `a`): the relay parent of the candidate.
    pub anchor: Hash,
    /// The relay-parent number the PVF sees ([`ValidationParams::relay_parent_number`]).
    pub relay_parent_number: RelayChainBlockNumber,
    /// The relay-parent storage root the PVF sees; refine requires it to be
    /// the work context's anchor state root (GP `s`).
    pub relay_parent_storage_root: Hash,
    /// Blake2b-256 of the block data, the work item's first extrinsic.
    pub block_data_hash: Hash,
}

impl ParachainCandidate {
    /// The PVF's input for this candidate with the block `block_data`.
    pub fn validation_params(&self, block_data: BlockData) -> ValidationParams {
        ValidationParams {
            parent_head: self.parent_head.clone(),
            block_data,
            relay_parent_number: self.relay_parent_number,
            relay_parent_storage_root: self.relay_parent_storage_root,
        }
    }
}

/// Refine's work output for a valid candidate.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct CandidateOutput {
    /// The para the block advances.
    pub para_id: ParaId,
    /// Blake2b-256 of the parent head's octets ([`HeadData`]), which
    /// accumulate compares with the stored head's.
    pub parent_head_hash: Hash,
    /// The code the block was validated with.
    pub validation_code_hash: ValidationCodeHash,
    /// What the PVF returned.
    pub result: ValidationResult,
}
