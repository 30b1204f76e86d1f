//! Recent history `β = (β_H, β_B)` (GP §7 "Recent History", eq. 7.1 – 7.8).
//!
//! One transition per block, given the block's header hash `H(H)`, the
//! parent state root `H_R`, the accumulation-output root
//! `r = M_B(s, H_K)` (eq. 7.6 – 7.7; computed by accumulation, an input here)
//! and the packages reported in the block (from `E_G`):
//!
//! * `β†_H`: the most recent entry gets its state root corrected to `H_R`
//!   (eq. 7.5);
//! * `β'_B = A(β_B, r, H_K)`: the root is appended to the accumulation-output
//!   belt with the Keccak MMR append (eq. 7.7, appendix E.2);
//! * `β'_H`: `β†_H` with a new entry `(p, H(H), 0, M_R(β'_B))` appended, keeping
//!   the last `H` entries (eq. 7.8).
//!
//! Nothing here can be invalid for a well-typed input, but the transition
//! still checks the bounds the paper puts on its inputs (`|p| ≤ C`, unique
//! package hashes since `p` is a dictionary) and refuses them untouched.

use parajam_merkle::{mmr_append_keccak, mmr_super_peak};
use parajam_primitives::types::{
    BlockInfo, HeaderHash, OpaqueHash, RecentBlocks, ReportedWorkPackage, StateRoot,
};
use parajam_primitives::{ByteArray, ProtocolParameters};

/// The recent-history part of the state, as in the STF vectors.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    /// `β`.
    pub recent_blocks: RecentBlocks,
}

/// What the transition reads from the block and from accumulation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Input {
    /// `H(H)`: the new block's header hash.
    pub header_hash: HeaderHash,
    /// `H_R`: the parent block's posterior state root.
    pub parent_state_root: StateRoot,
    /// `M_B(s, H_K)`: the Keccak Merkle root of the accumulation outputs
    /// (eq. 7.6 – 7.7).
    pub accumulate_root: OpaqueHash,
    /// `p`: `(package hash, segment root)` of every report in `E_G` (eq. 7.8).
    pub work_packages: Vec<ReportedWorkPackage>,
}

/// Why the history inputs are malformed. The vectors have no error codes
/// for this family (`Output ::= NULL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// More reported packages than cores (`E_G ∈ ⟦…⟧_{:C}`, eq. 11.23).
    #[error("{count} reported packages, more than the {cores} cores")]
    TooManyPackages {
        /// `|p|`.
        count: usize,
        /// `C`.
        cores: u16,
    },
    /// A package hash reported twice: `p` is a dictionary (eq. 7.2, 7.8).
    #[error("package {index} is reported twice")]
    DuplicatePackage {
        /// Position of the second occurrence in the input.
        index: usize,
    },
}

/// Checks the bounds of the input: at most `C` packages, each once.
pub fn validate(input: &Input, params: &ProtocolParameters) -> Result<(), Error> {
    let count = input.work_packages.len();
    if count > usize::from(params.core_count) {
        return Err(Error::TooManyPackages {
            count,
            cores: params.core_count,
        });
    }
    for (index, item) in input.work_packages.iter().enumerate() {
        if input.work_packages[..index]
            .iter()
            .any(|earlier| earlier.hash == item.hash)
        {
            return Err(Error::DuplicatePackage { index });
        }
    }
    Ok(())
}

/// `β†_H` (eq. 7.5), in place: the last entry's state root becomes `H_R`.
pub fn correct_parent_state_root(beta: &mut RecentBlocks, parent_state_root: StateRoot) {
    if let Some(last) = beta.history.last_mut() {
        last.state_root = parent_state_root;
    }
}

/// `β'_B = A(β_B, r, H_K)` (eq. 7.7), in place; returns the new super-peak
/// `M_R(β'_B)` (appendix E.2).
pub fn append_accumulation_root(beta: &mut RecentBlocks, root: OpaqueHash) -> OpaqueHash {
    let mut peaks: Vec<Option<[u8; 32]>> = beta.mmr.peaks.iter().map(|p| p.map(|h| h.0)).collect();
    mmr_append_keccak(&mut peaks, root.0);
    beta.mmr.peaks = peaks.into_iter().map(|p| p.map(ByteArray)).collect();
    ByteArray(mmr_super_peak(
        &beta
            .mmr
            .peaks
            .iter()
            .map(|p| p.map(|h| h.0))
            .collect::<Vec<_>>(),
    ))
}

/// Appends `entry` to `β_H`, keeping only the last `H` entries (eq. 7.8,
/// `←…^H`).
pub fn push_block(beta: &mut RecentBlocks, entry: BlockInfo, params: &ProtocolParameters) {
    let history = &mut beta.history;
    history.push(entry);
    let keep = usize::from(params.recent_history_size);
    if history.len() > keep {
        let excess = history.len() - keep;
        history.drain(..excess);
    }
}

/// The recent-history transition (eq. 7.5 – 7.8). On error `pre` stands.
pub fn transition(
    pre: &State,
    input: &Input,
    params: &ProtocolParameters,
) -> Result<(State, ()), Error> {
    validate(input, params)?;
    let mut post = pre.clone();
    correct_parent_state_root(&mut post.recent_blocks, input.parent_state_root);
    let beefy_root = append_accumulation_root(&mut post.recent_blocks, input.accumulate_root);
    let entry = BlockInfo {
        header_hash: input.header_hash,
        beefy_root,
        state_root: OpaqueHash::default(),
        reported: input.work_packages.clone(),
    };
    push_block(&mut post.recent_blocks, entry, params);
    Ok((post, ()))
}

#[cfg(test)]
mod tests {
    use parajam_primitives::types::Mmr;

    use super::*;

    const P: ProtocolParameters = ProtocolParameters::TINY;

    fn h(n: u8) -> OpaqueHash {
        ByteArray([n; 32])
    }

    fn package(n: u8) -> ReportedWorkPackage {
        ReportedWorkPackage {
            hash: h(n),
            exports_root: h(n + 100),
        }
    }

    fn block(n: u8) -> BlockInfo {
        BlockInfo {
            header_hash: h(n),
            beefy_root: h(n + 1),
            state_root: OpaqueHash::default(),
            reported: vec![],
        }
    }

    fn input(work_packages: Vec<ReportedWorkPackage>) -> Input {
        Input {
            header_hash: h(50),
            parent_state_root: h(51),
            accumulate_root: h(52),
            work_packages,
        }
    }

    #[test]
    fn first_block_starts_history_and_belt() {
        let (post, ()) =
            transition(&State::default(), &input(vec![package(1)]), &P).expect("valid");
        assert_eq!(
            post.recent_blocks.mmr,
            Mmr {
                peaks: vec![Some(h(52))]
            }
        );
        assert_eq!(post.recent_blocks.history.len(), 1);
        let entry = &post.recent_blocks.history[0];
        assert_eq!(entry.header_hash, h(50));
        // One peak: the super-peak is the peak itself.
        assert_eq!(entry.beefy_root, h(52));
        assert_eq!(entry.state_root, OpaqueHash::default());
        assert_eq!(entry.reported, vec![package(1)]);
    }

    #[test]
    fn parent_state_root_is_corrected_and_history_bounded() {
        let mut pre = State::default();
        for n in 0..8 {
            pre.recent_blocks.history.push(block(n * 2));
        }
        assert_eq!(
            pre.recent_blocks.history.len(),
            usize::from(P.recent_history_size)
        );
        let (post, ()) = transition(&pre, &input(vec![]), &P).expect("valid");
        assert_eq!(
            post.recent_blocks.history.len(),
            usize::from(P.recent_history_size)
        );
        assert_eq!(post.recent_blocks.history[0], block(2));
        assert_eq!(post.recent_blocks.history[6].state_root, h(51));
        assert_eq!(post.recent_blocks.history[7].header_hash, h(50));
    }

    #[test]
    fn second_root_merges_peaks() {
        let mut pre = State::default();
        pre.recent_blocks.mmr.peaks = vec![Some(h(7))];
        let (post, ()) = transition(&pre, &input(vec![]), &P).expect("valid");
        let merged = parajam_crypto::keccak_256_concat(&[&h(7).0, &h(52).0]);
        assert_eq!(
            post.recent_blocks.mmr.peaks,
            vec![None, Some(ByteArray(merged))]
        );
        assert_eq!(post.recent_blocks.history[0].beefy_root, ByteArray(merged));
    }

    #[test]
    fn duplicate_package_is_refused_and_state_untouched() {
        let mut pre = State::default();
        pre.recent_blocks.history.push(block(1));
        let snapshot = pre.clone();
        let err =
            transition(&pre, &input(vec![package(1), package(1)]), &P).expect_err("duplicate");
        assert_eq!(err, Error::DuplicatePackage { index: 1 });
        assert_eq!(pre, snapshot);
    }

    #[test]
    fn too_many_packages_are_refused() {
        let packages = (0..=u8::try_from(P.core_count).expect("tiny"))
            .map(package)
            .collect();
        let err = transition(&State::default(), &input(packages), &P).expect_err("too many");
        assert!(matches!(err, Error::TooManyPackages { count: 3, cores: 2 }));
    }
}
