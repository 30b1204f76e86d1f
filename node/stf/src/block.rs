//! Whole-block import (GP 0.7.2 §4.2, eq. 4.5 – 4.20): every component's
//! transition composed in the paper's dependency order, validate first,
//! over the full state `σ` of `parajam-state`.
//!
//! The order (each step names what it reads):
//!
//! 1. `τ' = H_T` after `H_T > τ` (eq. 5.7), the parent hash against `β`'s
//!    newest entry and `H_R` against the prior state root (eq. 5.2, 5.8);
//! 2. `ψ'`, `ρ†` ← disputes (`E_D`, `ψ`, `ρ`, `κ`, `λ`, `τ`);
//! 3. `γ'`, `κ'`, `λ'`, `η'` ← Safrole (`H`, `E_T`, `γ`, `ι`, `η`, `κ`,
//!    `λ`, `ψ'_O`), with `Y(H_V)` as the entropy input;
//! 4. the header: seal and entropy source under `κ'`, `γ'_S`, `η'_3`,
//!    `H_X`, and the epoch, tickets and offenders markers against the
//!    Safrole and disputes outputs;
//! 5. `ρ‡`, `W` ← assurances (`E_A`, `ρ†`, `κ` (eq. 11.13), `H_P`);
//! 6. `ρ'` ← reports (`E_G`, `ρ‡`, `κ'`, `λ'`, `η'`, `ψ'_O`, `β†`, `α`,
//!    `δ`; known packages from `β`, `ξ`, `ω`, `ρ`);
//! 7. `E_P` against the prior `δ` (eq. 12.37);
//! 8. `ω'`, `ξ'`, `δ‡`, `χ'`, `ι'`, `φ'`, `θ'` ← accumulation of `W`;
//! 9. `β'` ← recent history (`H`, `E_G`, `β†`, the root of `θ'`);
//! 10. `δ'` ← preimage integration into `δ‡`;
//! 11. `α'` ← authorizations (`E_G`, `φ'`, `α`);
//! 12. `π'` ← statistics (validators over the epoch; cores and services
//!     for this block, GP §13.2).
//!
//! Nothing is written to the prior state: each step builds its part of the
//! posterior, and an error at any step returns it with no state.

use std::collections::{BTreeMap, BTreeSet};

use parajam_bandersnatch::RingContext;
use parajam_primitives::codec::FixedSeq;
use parajam_primitives::types::{
    Block, CoreActivityRecord, Ed25519Public, HeaderHash, ReportedWorkPackage,
    ServicesStatisticsMapEntry, StateRoot, Statistics, TimeSlot, WorkPackageHash,
};
use parajam_primitives::ProtocolParameters;
use parajam_state::State;

use crate::accumulate::{self, Executor};
use crate::{
    assurances, authorizations, disputes, header, history, preimages, reports, safrole, statistics,
};

/// Why a block is invalid (a consensus outcome), by the step that found
/// it and with the paper's reason.
#[derive(Debug, thiserror::Error)]
pub enum InvalidBlock {
    /// The header (parent, slot, prior state root, seal, entropy source,
    /// extrinsic hash or markers).
    #[error("header: {0}")]
    Header(#[from] header::HeaderError),
    /// The disputes extrinsic.
    #[error("disputes: {0}")]
    Disputes(#[from] disputes::Error),
    /// The tickets extrinsic or the Safrole transition.
    #[error("safrole: {0}")]
    Safrole(safrole::Error),
    /// The assurances extrinsic.
    #[error("assurances: {0}")]
    Assurances(#[from] assurances::Error),
    /// The guarantees extrinsic.
    #[error("reports: {0}")]
    Reports(#[from] reports::Error),
    /// The preimages extrinsic.
    #[error("preimages: {0}")]
    Preimages(#[from] preimages::Error),
    /// Accumulation made the block invalid (two services of one round
    /// created the same service index, GP §12.2).
    #[error("accumulation: {0}")]
    Accumulation(accumulate::ExecutionError),
    /// Recent history (an over-long reported-packages list).
    #[error("history: {0}")]
    History(#[from] history::Error),
    /// The authorizer pools.
    #[error("authorizations: {0}")]
    Authorizations(#[from] authorizations::Error),
    /// Validator statistics.
    #[error("statistics: {0}")]
    Statistics(#[from] statistics::Error),
    /// A report's lookup anchor is not among the block's ancestors
    /// (GP eq. 11.35).
    #[error("guarantee {guarantee}: lookup anchor {hash} at slot {slot} is not an ancestor")]
    UnknownLookupAnchor {
        /// The guarantee's index in `E_G`.
        guarantee: usize,
        /// The anchor's header hash.
        hash: HeaderHash,
        /// The anchor's slot.
        slot: TimeSlot,
    },
}

/// Why the node could not decide on a block: nothing about the block
/// itself (as reth keeps internal execution errors apart from validation
/// errors). The block may be valid; importing it again may succeed.
#[derive(Debug, thiserror::Error)]
pub enum NodeFailure {
    /// The PVM engine failed, or the backends disagreed in crosscheck mode.
    #[error("execution: {0}")]
    Executor(#[from] accumulate::ExecutorError),
    /// A worker thread of the import panicked.
    #[error("a {0} thread panicked")]
    ThreadPanicked(&'static str),
}

/// Why a block was not imported: it is invalid, or the node failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The block is invalid (a consensus outcome).
    #[error("invalid block: {0}")]
    Invalid(#[from] InvalidBlock),
    /// The node failed; the block's validity is undecided.
    #[error("node failure: {0}")]
    Node(#[from] NodeFailure),
}

impl ImportError {
    /// The reason the block is invalid, if it is.
    pub fn invalid(&self) -> Option<&InvalidBlock> {
        match self {
            Self::Invalid(reason) => Some(reason),
            Self::Node(_) => None,
        }
    }
}

macro_rules! invalid_from {
    ($($error:ty),* $(,)?) => {$(
        impl From<$error> for ImportError {
            fn from(e: $error) -> Self {
                Self::Invalid(e.into())
            }
        }
    )*};
}

invalid_from!(
    header::HeaderError,
    disputes::Error,
    assurances::Error,
    reports::Error,
    preimages::Error,
    history::Error,
    authorizations::Error,
    statistics::Error,
);

impl From<safrole::Error> for ImportError {
    fn from(e: safrole::Error) -> Self {
        match e {
            safrole::Error::VerifierPanicked => {
                Self::Node(NodeFailure::ThreadPanicked("ticket verification"))
            }
            e => Self::Invalid(InvalidBlock::Safrole(e)),
        }
    }
}

impl From<accumulate::ExecutionError> for ImportError {
    fn from(e: accumulate::ExecutionError) -> Self {
        match e {
            accumulate::ExecutionError::Executor(e) => Self::Node(e.into()),
            e @ accumulate::ExecutionError::DuplicateNewService(_) => {
                Self::Invalid(InvalidBlock::Accumulation(e))
            }
        }
    }
}

/// The ancestor set `A` of GP §11.4 (eq. 11.35): the headers of the last
/// `L` blocks before the one being imported, as `(slot, hash)`.
pub trait Ancestry {
    /// Whether a header with `hash` at `slot` is an ancestor.
    fn contains(&self, slot: TimeSlot, hash: &HeaderHash) -> bool;
}

impl Ancestry for Vec<(TimeSlot, HeaderHash)> {
    fn contains(&self, slot: TimeSlot, hash: &HeaderHash) -> bool {
        self.iter().any(|(s, h)| *s == slot && h == hash)
    }
}

/// What import needs besides the state and the block.
#[derive(Clone, Copy)]
pub struct ImportContext<'a> {
    /// The protocol parameters.
    pub params: &'a ProtocolParameters,
    /// How service code runs in accumulation.
    pub executor: &'a Executor<'a>,
    /// The Bandersnatch ring context for `V` keys (ticket proofs).
    pub ring: &'a RingContext,
    /// The prior state's root, if the caller has it (else it is computed).
    pub prior_root: Option<StateRoot>,
    /// The block's ancestors, for the lookup-anchor check (GP eq. 11.35).
    /// `None` when they are not known (a replay that starts from a bare
    /// state, a fuzzer without the ancestry feature): the check is then
    /// skipped, as the fuzzer protocol prescribes.
    pub ancestry: Option<&'a dyn Ancestry>,
}

impl std::fmt::Debug for ImportContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportContext")
            .field("params", &self.params.name)
            .field("prior_root", &self.prior_root)
            .field("ancestry", &self.ancestry.is_some())
            .finish_non_exhaustive()
    }
}

/// What import yields besides the posterior state.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The posterior state `σ'`.
    pub state: State,
    /// What accumulation produced (outputs, statistics, service logs).
    pub accumulation: accumulate::Output,
}

/// The packages already known to the chain that a new report may not
/// repeat (GP eq. 11.36 – 11.38), less those of recent blocks `β`, which
/// the reports transition adds itself: accumulated `ξ`, ready `ω` and
/// pending availability `ρ`.
pub fn known_packages(pre: &State) -> Vec<WorkPackageHash> {
    pre.accumulated
        .iter()
        .flatten()
        .copied()
        .chain(
            pre.ready_queue
                .iter()
                .flatten()
                .map(|r| r.report.package_spec.hash),
        )
        .chain(
            pre.availability
                .iter()
                .flatten()
                .map(|a| a.report.package_spec.hash),
        )
        .collect()
}

/// `σ' = Υ(σ, B)` (GP eq. 4.1): imports `block` on `pre`.
///
/// Validates everything before anything of the posterior is kept: an
/// invalid block returns its error and no state.
// One numbered step per GP component in the paper's order (module docs);
// split up, the order would no longer read in one place.
#[allow(clippy::too_many_lines)]
pub fn import(
    pre: &State,
    block: &Block,
    ctx: &ImportContext<'_>,
) -> Result<Imported, ImportError> {
    let params = ctx.params;
    let h = &block.header;
    let ext = &block.extrinsic;

    // 1. Parent, slot and prior state root (the seal comes after Safrole).
    if let Some(parent) = pre.recent_blocks.history.last() {
        header::check_parent(h, &parent.header_hash)?;
    }
    header::check_slot(h, pre.timeslot, None)?;
    let prior_root = ctx.prior_root.unwrap_or_else(|| pre.root());
    if h.parent_state_root != prior_root {
        return Err(header::HeaderError::BadPriorStateRoot {
            expected: prior_root,
            found: h.parent_state_root,
        }
        .into());
    }
    let slot = h.slot;

    // 2. Disputes: ψ', ρ†.
    let (dispute_post, dispute_out) = disputes::transition(
        &disputes::State {
            disputes: pre.disputes.clone(),
            availability: pre.availability.clone(),
            timeslot: pre.timeslot,
            active_validators: pre.active_validators.clone(),
            previous_validators: pre.previous_validators.clone(),
        },
        &disputes::Input {
            extrinsic: ext.disputes.clone(),
        },
        params,
    )?;

    // 3. Safrole: γ', κ', λ', η'.
    let entropy_source = header::unverified_entropy(h)?;
    let (sf, sf_out) = safrole::transition(
        &safrole::State {
            timeslot: pre.timeslot,
            entropy: pre.entropy,
            previous_validators: pre.previous_validators.clone(),
            active_validators: pre.active_validators.clone(),
            pending_validators: pre.safrole.pending_validators.clone(),
            staging_validators: pre.staging_validators.clone(),
            ticket_accumulator: pre.safrole.ticket_accumulator.clone(),
            seal_keys: pre.safrole.seal_keys.clone(),
            epoch_root: pre.safrole.epoch_root,
            offenders: dispute_post.disputes.offenders.clone(),
        },
        &safrole::Input {
            slot,
            entropy: entropy_source,
            extrinsic: ext.tickets.clone(),
        },
        params,
        ctx.ring,
    )?;

    // 4. The header under the posterior keys and entropy.
    header::validate(
        h,
        ext,
        &header::HeaderContext {
            params,
            // Parent and prior root were checked in step 1, before the
            // costly Safrole work.
            parent_hash: h.parent,
            prior_state_root: None,
            prior_slot: pre.timeslot,
            current_slot: None,
            active_validators: &sf.active_validators,
            seal_keys: &sf.seal_keys,
            eta3: sf.entropy[3],
            epoch_mark: sf_out.epoch_mark.as_ref(),
            tickets_mark: sf_out.tickets_mark.as_ref(),
            offenders_mark: &dispute_out.offenders_mark,
        },
    )?;

    // 5. Assurances: ρ‡ and the newly available reports W.
    let (assured, available) = assurances::transition(
        // Signatures under the prior active set `κ` (eq. 11.13), not the
        // posterior one Safrole just rotated in.
        &assurances::State {
            availability: dispute_post.availability.clone(),
            active_validators: pre.active_validators.clone(),
        },
        &assurances::Input {
            assurances: ext.assurances.clone(),
            slot,
            parent: h.parent,
        },
        params,
    )?;

    // 6. Guarantees: ρ', with β† (the parent's state root filled in).
    let mut recent_dagger = pre.recent_blocks.clone();
    history::correct_parent_state_root(&mut recent_dagger, prior_root);
    let known = known_packages(pre);
    let (reported, reports_out) = reports::transition(
        &reports::State {
            availability: assured.availability,
            active_validators: sf.active_validators.clone(),
            previous_validators: sf.previous_validators.clone(),
            entropy: sf.entropy,
            offenders: dispute_post.disputes.offenders.clone(),
            recent_blocks: recent_dagger.clone(),
            auth_pools: pre.auth_pools.clone(),
            accounts: reports::accounts_of(&pre.accounts),
            cores_statistics: FixedSeq::new(vec![
                CoreActivityRecord::default();
                usize::from(params.core_count)
            ]),
            services_statistics: BTreeMap::new(),
        },
        &reports::Input {
            guarantees: ext.guarantees.clone(),
            slot,
            known_packages: known,
        },
        params,
    )?;

    // Lookup anchors among the ancestors (eq. 11.35).
    if let Some(ancestry) = ctx.ancestry {
        for (guarantee, g) in ext.guarantees.iter().enumerate() {
            let c = &g.report.context;
            if !ancestry.contains(c.lookup_anchor_slot, &c.lookup_anchor) {
                return Err(InvalidBlock::UnknownLookupAnchor {
                    guarantee,
                    hash: c.lookup_anchor,
                    slot: c.lookup_anchor_slot,
                }
                .into());
            }
        }
    }

    // 7. The preimages extrinsic against the prior accounts.
    preimages::validate(&pre.accounts, &ext.preimages)?;

    // 8. Accumulation of W.
    let (acc, acc_out) = accumulate::transition(
        ctx.executor,
        accumulate::State {
            timeslot: pre.timeslot,
            entropy: sf.entropy[0],
            ready: pre.ready_queue.clone(),
            accumulated: pre.accumulated.clone(),
            privileges: pre.privileges.clone(),
            staging: pre.staging_validators.clone(),
            auth_queues: pre.auth_queues.clone(),
            accounts: pre.accounts.clone(),
        },
        &accumulate::Input {
            slot,
            reports: available.reported.clone(),
        },
        params,
    )?;

    // 9. Recent history β'.
    let (recent, ()) = history::transition(
        &history::State {
            recent_blocks: pre.recent_blocks.clone(),
        },
        &history::Input {
            header_hash: header::header_hash(h),
            parent_state_root: prior_root,
            accumulate_root: acc_out.root,
            work_packages: reports_out
                .reported
                .iter()
                .map(|p| ReportedWorkPackage {
                    hash: p.work_package_hash,
                    exports_root: p.segment_tree_root,
                })
                .collect(),
        },
        params,
    )?;

    // 10. δ' = I(δ‡, E_P).
    let mut accounts = acc.accounts;
    preimages::integrate(&mut accounts, &ext.preimages, slot);

    // 11. α' from φ'.
    let (auth, ()) = authorizations::transition(
        &authorizations::State {
            auth_pools: pre.auth_pools.clone(),
            auth_queues: acc.auth_queues.clone(),
        },
        &authorizations::Input {
            slot,
            auths: ext
                .guarantees
                .iter()
                .map(|g| authorizations::CoreAuthorizer {
                    core: g.report.core_index,
                    auth_hash: g.report.authorizer_hash,
                })
                .collect(),
        },
        params,
    )?;

    // 12. π': validators over the epoch, cores and services of this block.
    // Guarantees count for `κ'_v ∈ R` (eq. 13.5) with `R` the reporters set
    // of eq. 11.26: keys taken from the assignment's key set (`κ'` or, for a
    // guarantee of the previous rotation, `λ'`), so never by the
    // credential's index into `κ'`.
    let reporters: BTreeSet<Ed25519Public> = reports_out.reporters.iter().copied().collect();
    let (vals_curr, vals_last) = statistics::update_validators(
        &pre.statistics.vals_curr,
        &pre.statistics.vals_last,
        pre.timeslot,
        &statistics::Input {
            slot,
            author_index: h.author_index,
            extrinsic: ext.clone(),
        },
        &sf.active_validators,
        &reporters,
        params,
    )?;
    let mut cores = reported.cores_statistics;
    for a in ext.assurances.iter() {
        for (c, core) in cores.iter_mut().enumerate() {
            if a.bitfield
                .0
                .get(c / 8)
                .is_some_and(|b| b >> (c % 8) & 1 == 1)
            {
                core.popularity = core.popularity.saturating_add(1);
            }
        }
    }
    let segment = u64::from(params.segment_size);
    for r in &available.reported {
        if let Some(core) = cores.get_mut(usize::from(r.core_index)) {
            let spec = &r.package_spec;
            let load = u64::from(spec.length)
                + segment * (u64::from(spec.exports_count) * 65).div_ceil(64);
            core.da_load = u32::try_from(u64::from(core.da_load) + load).unwrap_or(u32::MAX);
        }
    }
    let mut services = reported.services_statistics;
    preimages::record_provisions(&mut services, &ext.preimages);
    for (&s, &(gas, count)) in &acc_out.statistics {
        let record = services.entry(s).or_default();
        record.accumulate_count = count;
        record.accumulate_gas_used = gas;
    }

    let state = State {
        auth_pools: auth.auth_pools,
        auth_queues: acc.auth_queues,
        recent_blocks: recent.recent_blocks,
        safrole: parajam_primitives::types::SafroleState {
            pending_validators: sf.pending_validators,
            epoch_root: sf.epoch_root,
            seal_keys: sf.seal_keys,
            ticket_accumulator: sf.ticket_accumulator,
        },
        disputes: dispute_post.disputes,
        entropy: sf.entropy,
        staging_validators: acc.staging,
        active_validators: sf.active_validators,
        previous_validators: sf.previous_validators,
        availability: reported.availability,
        timeslot: slot,
        privileges: acc.privileges,
        statistics: Statistics {
            vals_curr,
            vals_last,
            cores,
            services: services
                .into_iter()
                .map(|(id, record)| ServicesStatisticsMapEntry { id, record })
                .collect(),
        },
        ready_queue: acc.ready,
        accumulated: acc.accumulated,
        accumulation_outputs: acc_out.outputs.clone(),
        accounts,
    };
    Ok(Imported {
        state,
        accumulation: acc_out,
    })
}

#[cfg(test)]
mod error_tests {
    use super::*;

    #[test]
    fn internal_failures_are_node_failures_not_invalid_blocks() {
        let panicked = ImportError::from(safrole::Error::VerifierPanicked);
        assert!(
            matches!(
                panicked,
                ImportError::Node(NodeFailure::ThreadPanicked("ticket verification"))
            ),
            "{panicked:?}"
        );
        assert!(panicked.invalid().is_none());
        let engine = ImportError::from(accumulate::ExecutionError::Executor(
            accumulate::ExecutorError::Divergence {
                service: 7,
                what: "gas".into(),
            },
        ));
        assert!(
            matches!(engine, ImportError::Node(NodeFailure::Executor(_))),
            "{engine:?}"
        );
    }

    #[test]
    fn consensus_outcomes_are_invalid_blocks() {
        let proof = ImportError::from(safrole::Error::BadTicketProof { index: 2 });
        assert!(
            matches!(
                proof.invalid(),
                Some(InvalidBlock::Safrole(safrole::Error::BadTicketProof {
                    index: 2
                }))
            ),
            "{proof:?}"
        );
        let duplicate = ImportError::from(accumulate::ExecutionError::DuplicateNewService(9));
        assert!(
            matches!(duplicate.invalid(), Some(InvalidBlock::Accumulation(_))),
            "{duplicate:?}"
        );
    }
}
