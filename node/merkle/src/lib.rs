//! Merklization for the Gray Paper (v0.7.2).
//!
//! * [`state`]: the binary Patricia trie of appendix D (state Merklization $\mathcal{M}_\sigma$).
//! * [`binary`]: the general binary Merkle trees of appendix E (node function $N$, trace $T$,
//!   well-balanced root $\mathcal{M}_B$, constant-depth root $\mathcal{M}$, justifications
//!   $\mathcal{J}_x$ and pages $\mathcal{L}_x$).
//! * [`mmr`]: Merkle Mountain Ranges / Belts of appendix E.2 (append $\mathcal{A}$, encoding
//!   $\mathcal{E}_M$, super-peak $\mathcal{M}_R$).

pub mod binary;
pub mod mmr;
pub mod state;

pub use binary::{
    constant_depth_root, constant_depth_root_with, justification, justification_with, leaf_page,
    leaf_page_with, merkle_node, merkle_trace, well_balanced_root, well_balanced_root_with,
};
pub use mmr::{mmr_append, mmr_append_keccak, mmr_encode, mmr_super_peak};
pub use parajam_crypto::{Hash, ZERO_HASH};
pub use state::{branch_node, leaf_node, state_root, state_root_gp022, StateKey};
