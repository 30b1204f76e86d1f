//! Work-report guarantees (GP §11.3 "Guarantor Assignments", §11.4 "Work
//! Report Guarantees", eq. 11.18 – 11.43) and the reports' part of the core
//! and service activity statistics (GP §13.2).
//!
//! The guarantees extrinsic `E_G` holds at most one guarantee `(r, t, a)`
//! per core: a work report `r`, the slot `t` it was guaranteed in and two or
//! three credentials `a = [(v, s)]`. It is valid when
//!
//! * the guarantees are ordered by core, one per core (eq. 11.23 – 11.24),
//!   and every report has at least one digest (eq. 11.2);
//! * each credential list is ordered by validator index without duplicates
//!   (eq. 11.25), every index is one of `V`, and every signature is that of
//!   the validator's key over `X_G ⌢ H(E(r))`, `X_G = "jam_guarantee"`, by a
//!   validator assigned to the report's core in the rotation of `t`: `M` if
//!   `t` is in the rotation of `τ'`, else `M*` (eq. 11.26 – 11.27; assignments in
//!   [`assignment`]), with `R(⌊τ'/R⌋ − 1) ≤ t ≤ τ'`. Offenders' keys are
//!   zeroed by `Φ`, so an offender's credential never counts;
//! * the report fits: `|r_t| + Σ |d_l| ≤ W_R` over successful digests
//!   (eq. 11.8) and `|r_l| + |r_c,p| ≤ J` (eq. 11.3);
//! * its core has no report pending (`ρ‡[c] = ∅`) and its authorizer is in
//!   the core's pool `α[c]` (eq. 11.29);
//! * each digest's service exists with the predicted code hash (eq. 11.42)
//!   and gives it at least the service's minimum item gas, and the digests'
//!   gas totals at most `G_A` (eq. 11.30);
//! * its anchor is a recent block with the same state and BEEFY roots
//!   (eq. 11.33) and its lookup anchor at most `L` slots old (eq. 11.34);
//! * no two reports are of one package and no package is already known:
//!   reported in recent blocks, accumulated, queued or pending availability
//!   (eq. 11.32, 11.36 – 11.38; the vectors give the known set as input);
//! * every prerequisite is a package of this extrinsic or of recent history
//!   (eq. 11.39), and every segment-root lookup entry names such a package
//!   with its actual segment root (eq. 11.40 – 11.41).
//!
//! Then every report is placed on its core with the slot `τ'` (eq. 11.43),
//! and its digests are added to the core and service statistics. The output
//! is the reported packages with their segment roots (ordered by package
//! hash, as the dictionary they are in recent history) and the reporters
//! set `G` (eq. 11.26), ordered.
//!
//! The lookup anchor's presence among the last `L` headers (eq. 11.35)
//! needs the header chain and is the block importer's to check.

pub mod assignment;
mod error;
mod guarantee;
mod packages;
mod report;
mod statistics;

use std::collections::BTreeMap;

use jam_codec::{Decode, Encode};
use parajam_primitives::types::{
    AuthPools, AvailabilityAssignment, AvailabilityAssignments, CoresStatistics, Ed25519Public,
    EntropyBuffer, GuaranteesExtrinsic, OpaqueHash, RecentBlocks, ServiceActivityRecord, ServiceId,
    ServiceInfo, TimeSlot, ValidatorsData, WorkPackageHash,
};
use parajam_primitives::ProtocolParameters;

pub use error::{Error, ErrorKind};
pub use guarantee::{signed_message, validate, CONTEXT_GUARANTEE};
pub use report::report_output_size;
pub use statistics::record_refinements;

/// The parts of a service account `δ[s]` this transition reads.
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode)]
pub struct Account {
    /// `a_c`, `a_g` and the rest of the account's fixed fields.
    pub service: ServiceInfo,
}

/// The parts of the accounts `δ` this transition reads.
pub fn accounts_of(
    accounts: &BTreeMap<ServiceId, parajam_primitives::types::ServiceAccount>,
) -> BTreeMap<ServiceId, Account> {
    accounts
        .iter()
        .map(|(&s, a)| {
            (
                s,
                Account {
                    service: a.info.clone(),
                },
            )
        })
        .collect()
}

/// `π_S`: service activity of the block under construction, by service.
pub type ServiceStatistics = BTreeMap<ServiceId, ServiceActivityRecord>;

/// The state the reports transition reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// `ρ‡` before, `ρ'` after: reports pending availability.
    pub availability: AvailabilityAssignments,
    /// `κ'`: the posterior active validators.
    pub active_validators: ValidatorsData,
    /// `λ'`: the posterior previous validators.
    pub previous_validators: ValidatorsData,
    /// `η'`: the posterior entropy buffer.
    pub entropy: EntropyBuffer,
    /// `ψ'_o`: the posterior offenders.
    pub offenders: Vec<Ed25519Public>,
    /// `β`: recent blocks (with the parent's state root filled in).
    pub recent_blocks: RecentBlocks,
    /// `α`: authorizer pools (read only).
    pub auth_pools: AuthPools,
    /// `δ`: the accounts' fixed fields (read only).
    pub accounts: BTreeMap<ServiceId, Account>,
    /// `π_C` as built so far for this block; the refinement fields
    /// (`i, x, z, e, u`) and `l` are added to here.
    pub cores_statistics: CoresStatistics,
    /// `π_S` as built so far for this block; the refinement fields
    /// (`r, i, x, z, e`) are added to here.
    pub services_statistics: ServiceStatistics,
}

/// What the transition reads from the block.
///
/// A report may come without digests (the test vectors' decoder accepts
/// one), which the transition rejects as [`ErrorKind::MissingWorkResults`];
/// `E_G` is not bounded by `C` here, which the core checks imply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// `E_G`.
    pub guarantees: GuaranteesExtrinsic,
    /// `τ' = H_t`.
    pub slot: TimeSlot,
    /// The packages already known to the chain: reported in recent blocks
    /// `β`, accumulated `ξ`, ready `ω` or pending availability `ρ`
    /// (eq. 11.36 – 11.38).
    pub known_packages: Vec<WorkPackageHash>,
}

/// A reported package: its hash and segment root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Encode, Decode)]
pub struct ReportedPackage {
    /// `p`: the work-package hash.
    pub work_package_hash: WorkPackageHash,
    /// `e`: its segment-tree root.
    pub segment_tree_root: OpaqueHash,
}

/// What the transition yields besides the state.
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode)]
pub struct Output {
    /// The packages reported, ordered by hash.
    pub reported: Vec<ReportedPackage>,
    /// `G` (eq. 11.26): the Ed25519 keys of every guarantor, ordered.
    pub reporters: Vec<Ed25519Public>,
}
/// The reports transition of the STF test vectors: validate `E_G`
/// ([`validate`]), then place every report on its core with `τ'`
/// (eq. 11.43) and record the refinement statistics. On error nothing is
/// built and `pre` stands.
pub fn transition(
    pre: &State,
    input: &Input,
    params: &ProtocolParameters,
) -> Result<(State, Output), Error> {
    let reporters = validate(pre, input, params)?;
    let mut post = pre.clone();
    let mut reported = Vec::with_capacity(input.guarantees.len());
    for g in input.guarantees.iter() {
        let report = &g.report;
        if let Some(entry) = post.availability.get_mut(usize::from(report.core_index)) {
            *entry = Some(AvailabilityAssignment {
                report: report.clone(),
                timeout: input.slot,
            });
        }
        reported.push(ReportedPackage {
            work_package_hash: report.package_spec.hash,
            segment_tree_root: report.package_spec.exports_root,
        });
    }
    reported.sort();
    record_refinements(
        &mut post.cores_statistics,
        &mut post.services_statistics,
        &input.guarantees,
    );
    Ok((
        post,
        Output {
            reported,
            reporters: reporters.into_iter().collect(),
        },
    ))
}

#[cfg(test)]
mod tests;
