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

use std::collections::{BTreeMap, BTreeSet};

use jam_codec::{Compact, Decode, Encode};
use parajam_primitives::codec::current_params;
use parajam_primitives::types::{
    AuthPools, AvailabilityAssignment, AvailabilityAssignments, CoreIndex, CoresStatistics,
    Ed25519Public, EntropyBuffer, Gas, GuaranteesExtrinsic, OpaqueHash, RecentBlocks,
    ReportGuarantee, ServiceActivityRecord, ServiceId, ServiceInfo, TimeSlot, ValidatorIndex,
    ValidatorSignature, ValidatorsData, WorkExecResult, WorkPackageHash, WorkReport, WorkResult,
};
use parajam_primitives::ProtocolParameters;

use crate::assurances::ed25519_verify;

/// `X_G`: the context string of a guarantee signature (eq. 11.27).
pub const CONTEXT_GUARANTEE: &[u8] = b"jam_guarantee";

/// The parts of a service account `δ[s]` this transition reads.
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode)]
pub struct Account {
    /// `a_c`, `a_g` and the rest of the account's fixed fields.
    pub service: ServiceInfo,
}

/// `π_S`: service activity of the block under construction, by service.
pub type ServiceStatistics = BTreeMap<ServiceId, ServiceActivityRecord>;

/// The state the reports transition reads and writes.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct State {
    /// `ρ‡` before, `ρ'` after: reports pending availability.
    pub avail_assignments: AvailabilityAssignments,
    /// `κ'`: the posterior active validators.
    pub curr_validators: ValidatorsData,
    /// `λ'`: the posterior previous validators.
    pub prev_validators: ValidatorsData,
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
/// Decoding accepts a report without digests (which the JAM codec's
/// `⟦D⟧_{1:I}` would reject), so that the transition can reject it as
/// [`Error::MissingWorkResults`], as the test vectors expect; it also does
/// not bound `E_G` by `C`, which the core checks imply.
#[derive(Debug, Clone, PartialEq, Eq, Encode)]
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

impl Decode for Input {
    fn decode<I: jam_codec::Input>(input: &mut I) -> Result<Self, jam_codec::Error> {
        let Compact(count) = Compact::<u32>::decode(input)?;
        let mut guarantees = Vec::new();
        for _ in 0..count {
            guarantees.push(ReportGuarantee {
                report: decode_report(input)?,
                slot: Decode::decode(input)?,
                signatures: Decode::decode(input)?,
            });
        }
        Ok(Self {
            guarantees: GuaranteesExtrinsic::new(guarantees),
            slot: Decode::decode(input)?,
            known_packages: Decode::decode(input)?,
        })
    }
}

/// A work report (encoding GP eq. C.29) whose digests may be empty (at most
/// `I` still).
fn decode_report<I: jam_codec::Input>(input: &mut I) -> Result<WorkReport, jam_codec::Error> {
    let package_spec = Decode::decode(input)?;
    let context = Decode::decode(input)?;
    let Compact(core_index) = Compact::<CoreIndex>::decode(input)?;
    let authorizer_hash = Decode::decode(input)?;
    let Compact(auth_gas_used) = Compact::<Gas>::decode(input)?;
    let auth_output = Decode::decode(input)?;
    let segment_root_lookup = Decode::decode(input)?;
    let results: Vec<WorkResult> = Decode::decode(input)?;
    let max = current_params()
        .map(|p| usize::from(p.max_work_items))
        .ok_or_else(|| jam_codec::Error::from("work report decoded outside a parameter scope"))?;
    if results.len() > max {
        return Err(jam_codec::Error::from("more work digests than I"));
    }
    Ok(WorkReport {
        package_spec,
        context,
        core_index,
        authorizer_hash,
        auth_gas_used,
        auth_output,
        segment_root_lookup,
        results: results.into(),
    })
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

/// Why a guarantees extrinsic is invalid. `guarantee` is the index of the
/// offending guarantee in `E_G`.
///
/// The codes are those of the STF test vectors (`reports.asn`); the paper
/// itself does not number errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Error {
    /// The report's core is not below `C`.
    #[error("guarantee {guarantee}: core {core} does not exist")]
    BadCoreIndex {
        /// The guarantee.
        guarantee: usize,
        /// Its core.
        core: CoreIndex,
    },
    /// `t > τ'` (eq. 11.26).
    #[error("guarantee {guarantee}: slot {slot} is after the block's")]
    FutureReportSlot {
        /// The guarantee.
        guarantee: usize,
        /// `t`.
        slot: TimeSlot,
    },
    /// `t < R(⌊τ'/R⌋ − 1)`: older than the previous rotation (eq. 11.26).
    #[error("guarantee {guarantee}: slot {slot} is before the previous rotation")]
    ReportEpochBeforeLast {
        /// The guarantee.
        guarantee: usize,
        /// `t`.
        slot: TimeSlot,
    },
    /// Fewer than two or more than three credentials (eq. 11.23).
    #[error("guarantee {guarantee} has {count} credentials, not 2 or 3")]
    InsufficientGuarantees {
        /// The guarantee.
        guarantee: usize,
        /// `|a|`.
        count: usize,
    },
    /// The guarantees are not ordered by core, one per core (eq. 11.24).
    #[error("guarantee {guarantee} is not on a core after its predecessor's")]
    OutOfOrderGuarantee {
        /// The guarantee.
        guarantee: usize,
    },
    /// The credentials are not ordered by validator index, or repeat one (eq. 11.25).
    #[error("guarantee {guarantee}: guarantors not sorted or not unique")]
    NotSortedOrUniqueGuarantors {
        /// The guarantee.
        guarantee: usize,
    },
    /// A guarantor is not assigned to the report's core (eq. 11.26).
    #[error("guarantee {guarantee}: validator {validator} is not assigned to core {core}")]
    WrongAssignment {
        /// The guarantee.
        guarantee: usize,
        /// The guarantor.
        validator: ValidatorIndex,
        /// The report's core.
        core: CoreIndex,
    },
    /// The core has a report pending availability (eq. 11.29).
    #[error("guarantee {guarantee}: core {core} is engaged")]
    CoreEngaged {
        /// The guarantee.
        guarantee: usize,
        /// The core.
        core: CoreIndex,
    },
    /// The anchor is not a recent block (eq. 11.33).
    #[error("guarantee {guarantee}: anchor is not a recent block")]
    AnchorNotRecent {
        /// The guarantee.
        guarantee: usize,
    },
    /// A digest's service does not exist (eq. 11.30, 11.42).
    #[error("guarantee {guarantee}: service {service} does not exist")]
    BadServiceId {
        /// The guarantee.
        guarantee: usize,
        /// The service.
        service: ServiceId,
    },
    /// A digest's code hash is not its service's (eq. 11.42).
    #[error("guarantee {guarantee}: wrong code hash for service {service}")]
    BadCodeHash {
        /// The guarantee.
        guarantee: usize,
        /// The service.
        service: ServiceId,
    },
    /// A prerequisite is neither in the extrinsic nor in recent history (eq. 11.39).
    #[error("guarantee {guarantee}: prerequisite package missing")]
    DependencyMissing {
        /// The guarantee.
        guarantee: usize,
    },
    /// A package is reported twice or is already known (eq. 11.32, 11.38).
    #[error("guarantee {guarantee}: package already reported or known")]
    DuplicatePackage {
        /// The guarantee.
        guarantee: usize,
    },
    /// The anchor's state root differs from the recent block's (eq. 11.33).
    #[error("guarantee {guarantee}: anchor state root differs")]
    BadStateRoot {
        /// The guarantee.
        guarantee: usize,
    },
    /// The anchor's BEEFY root differs from the recent block's (eq. 11.33).
    #[error("guarantee {guarantee}: anchor BEEFY MMR root differs")]
    BadBeefyMmrRoot {
        /// The guarantee.
        guarantee: usize,
    },
    /// The authorizer is not in the core's pool (eq. 11.29).
    #[error("guarantee {guarantee}: authorizer not in the pool of core {core}")]
    CoreUnauthorized {
        /// The guarantee.
        guarantee: usize,
        /// The core.
        core: CoreIndex,
    },
    /// A guarantor index is not below `V`.
    #[error("guarantee {guarantee}: validator index {validator} out of range")]
    BadValidatorIndex {
        /// The guarantee.
        guarantee: usize,
        /// The index.
        validator: ValidatorIndex,
    },
    /// The digests' gas totals more than `G_A` (eq. 11.30).
    #[error("guarantee {guarantee}: accumulate gas above G_A")]
    WorkReportGasTooHigh {
        /// The guarantee.
        guarantee: usize,
    },
    /// A digest's gas is below its service's minimum (eq. 11.30).
    #[error("guarantee {guarantee}: accumulate gas below the minimum of service {service}")]
    ServiceItemGasTooLow {
        /// The guarantee.
        guarantee: usize,
        /// The service.
        service: ServiceId,
    },
    /// More than `J` prerequisites and segment-root lookups (eq. 11.3).
    #[error("guarantee {guarantee}: more than J dependencies")]
    TooManyDependencies {
        /// The guarantee.
        guarantee: usize,
    },
    /// A segment-root lookup names an unknown package or the wrong root (eq. 11.41).
    #[error("guarantee {guarantee}: invalid segment-root lookup")]
    SegmentRootLookupInvalid {
        /// The guarantee.
        guarantee: usize,
    },
    /// A credential's signature does not verify (eq. 11.26).
    #[error("guarantee {guarantee}: invalid signature of validator {validator}")]
    BadSignature {
        /// The guarantee.
        guarantee: usize,
        /// The guarantor.
        validator: ValidatorIndex,
    },
    /// The report's outputs and trace exceed `W_R` (eq. 11.8).
    #[error("guarantee {guarantee}: report outputs exceed W_R")]
    WorkReportTooBig {
        /// The guarantee.
        guarantee: usize,
    },
    /// A guarantor is an offender (`Φ` zeroes its key, eq. 6.14).
    #[error("guarantee {guarantee}: validator {validator} is an offender")]
    BannedValidator {
        /// The guarantee.
        guarantee: usize,
        /// The guarantor.
        validator: ValidatorIndex,
    },
    /// The lookup anchor is more than `L` slots old (eq. 11.34).
    #[error("guarantee {guarantee}: lookup anchor older than L")]
    LookupAnchorNotRecent {
        /// The guarantee.
        guarantee: usize,
    },
    /// The report has no digest (eq. 11.2).
    #[error("guarantee {guarantee}: report without work digests")]
    MissingWorkResults {
        /// The guarantee.
        guarantee: usize,
    },
}

impl Error {
    /// The error's index in the test vectors' `ErrorCode` enumeration.
    pub fn code(&self) -> u8 {
        match self {
            Self::BadCoreIndex { .. } => 0,
            Self::FutureReportSlot { .. } => 1,
            Self::ReportEpochBeforeLast { .. } => 2,
            Self::InsufficientGuarantees { .. } => 3,
            Self::OutOfOrderGuarantee { .. } => 4,
            Self::NotSortedOrUniqueGuarantors { .. } => 5,
            Self::WrongAssignment { .. } => 6,
            Self::CoreEngaged { .. } => 7,
            Self::AnchorNotRecent { .. } => 8,
            Self::BadServiceId { .. } => 9,
            Self::BadCodeHash { .. } => 10,
            Self::DependencyMissing { .. } => 11,
            Self::DuplicatePackage { .. } => 12,
            Self::BadStateRoot { .. } => 13,
            Self::BadBeefyMmrRoot { .. } => 14,
            Self::CoreUnauthorized { .. } => 15,
            Self::BadValidatorIndex { .. } => 16,
            Self::WorkReportGasTooHigh { .. } => 17,
            Self::ServiceItemGasTooLow { .. } => 18,
            Self::TooManyDependencies { .. } => 19,
            Self::SegmentRootLookupInvalid { .. } => 20,
            Self::BadSignature { .. } => 21,
            Self::WorkReportTooBig { .. } => 22,
            Self::BannedValidator { .. } => 23,
            Self::LookupAnchorNotRecent { .. } => 24,
            Self::MissingWorkResults { .. } => 25,
        }
    }

    /// The error's name in the test vectors' `ErrorCode` enumeration.
    pub fn name(&self) -> &'static str {
        match self {
            Self::BadCoreIndex { .. } => "bad_core_index",
            Self::FutureReportSlot { .. } => "future_report_slot",
            Self::ReportEpochBeforeLast { .. } => "report_epoch_before_last",
            Self::InsufficientGuarantees { .. } => "insufficient_guarantees",
            Self::OutOfOrderGuarantee { .. } => "out_of_order_guarantee",
            Self::NotSortedOrUniqueGuarantors { .. } => "not_sorted_or_unique_guarantors",
            Self::WrongAssignment { .. } => "wrong_assignment",
            Self::CoreEngaged { .. } => "core_engaged",
            Self::AnchorNotRecent { .. } => "anchor_not_recent",
            Self::BadServiceId { .. } => "bad_service_id",
            Self::BadCodeHash { .. } => "bad_code_hash",
            Self::DependencyMissing { .. } => "dependency_missing",
            Self::DuplicatePackage { .. } => "duplicate_package",
            Self::BadStateRoot { .. } => "bad_state_root",
            Self::BadBeefyMmrRoot { .. } => "bad_beefy_mmr_root",
            Self::CoreUnauthorized { .. } => "core_unauthorized",
            Self::BadValidatorIndex { .. } => "bad_validator_index",
            Self::WorkReportGasTooHigh { .. } => "work_report_gas_too_high",
            Self::ServiceItemGasTooLow { .. } => "service_item_gas_too_low",
            Self::TooManyDependencies { .. } => "too_many_dependencies",
            Self::SegmentRootLookupInvalid { .. } => "segment_root_lookup_invalid",
            Self::BadSignature { .. } => "bad_signature",
            Self::WorkReportTooBig { .. } => "work_report_too_big",
            Self::BannedValidator { .. } => "banned_validator",
            Self::LookupAnchorNotRecent { .. } => "lookup_anchor_not_recent",
            Self::MissingWorkResults { .. } => "missing_work_results",
        }
    }
}

/// The message a guarantor signs: `X_G ⌢ H(E(r))` (eq. 11.26).
pub fn signed_message(report: &WorkReport) -> Vec<u8> {
    let hash = parajam_crypto::blake2b_256(&report.encode());
    [CONTEXT_GUARANTEE, &hash[..]].concat()
}

/// `|r_t| + Σ_{d ∈ r_d ∩ B} |d_l|` (eq. 11.8): the octets of the report's
/// authorizer trace and successful outputs.
pub fn report_output_size(report: &WorkReport) -> usize {
    report
        .results
        .iter()
        .filter_map(|d| match &d.result {
            WorkExecResult::Ok(output) => Some(output.len()),
            _ => None,
        })
        .fold(report.auth_output.len(), usize::saturating_add)
}

/// The checks of one report on its own against the prior state: size and
/// dependency limits (eq. 11.3, 11.8), digests against their services
/// (eq. 11.30, 11.42), core free and authorized (eq. 11.29), anchor and
/// lookup anchor (eq. 11.33 – 11.34).
fn check_report(
    pre: &State,
    guarantee: usize,
    report: &WorkReport,
    slot: TimeSlot,
    params: &ProtocolParameters,
) -> Result<(), Error> {
    if report_output_size(report) > params.max_report_output_size as usize {
        return Err(Error::WorkReportTooBig { guarantee });
    }
    let dependencies = report.segment_root_lookup.len() + report.context.prerequisites.len();
    if dependencies > usize::from(params.max_report_dependencies) {
        return Err(Error::TooManyDependencies { guarantee });
    }
    let core = report.core_index;
    if pre
        .avail_assignments
        .get(usize::from(core))
        .is_some_and(Option::is_some)
    {
        return Err(Error::CoreEngaged { guarantee, core });
    }
    let authorized = pre
        .auth_pools
        .get(usize::from(core))
        .is_some_and(|pool| pool.contains(&report.authorizer_hash));
    if !authorized {
        return Err(Error::CoreUnauthorized { guarantee, core });
    }
    let mut total_gas: u128 = 0;
    for digest in report.results.iter() {
        let service = digest.service_id;
        let Some(account) = pre.accounts.get(&service) else {
            return Err(Error::BadServiceId { guarantee, service });
        };
        if digest.code_hash != account.service.code_hash {
            return Err(Error::BadCodeHash { guarantee, service });
        }
        if digest.accumulate_gas < account.service.min_item_gas {
            return Err(Error::ServiceItemGasTooLow { guarantee, service });
        }
        total_gas += u128::from(digest.accumulate_gas);
    }
    if total_gas > u128::from(params.gas_accumulate_report) {
        return Err(Error::WorkReportGasTooHigh { guarantee });
    }
    let context = &report.context;
    let Some(anchor) = pre
        .recent_blocks
        .history
        .iter()
        .find(|b| b.header_hash == context.anchor)
    else {
        return Err(Error::AnchorNotRecent { guarantee });
    };
    if anchor.state_root != context.state_root {
        return Err(Error::BadStateRoot { guarantee });
    }
    if anchor.beefy_root != context.beefy_root {
        return Err(Error::BadBeefyMmrRoot { guarantee });
    }
    if context.lookup_anchor_slot < slot.saturating_sub(params.max_lookup_anchor_age) {
        return Err(Error::LookupAnchorNotRecent { guarantee });
    }
    Ok(())
}

/// The checks of the package dependencies over the whole extrinsic: unique
/// and unknown packages (eq. 11.32, 11.38), prerequisites present
/// (eq. 11.39), segment-root lookups correct (eq. 11.41).
fn check_packages(pre: &State, input: &Input) -> Result<(), Error> {
    let mut incoming: BTreeMap<WorkPackageHash, OpaqueHash> = BTreeMap::new();
    for (guarantee, g) in input.guarantees.iter().enumerate() {
        let spec = &g.report.package_spec;
        if incoming.insert(spec.hash, spec.exports_root).is_some() {
            return Err(Error::DuplicatePackage { guarantee });
        }
    }
    let recent: BTreeMap<WorkPackageHash, OpaqueHash> = pre
        .recent_blocks
        .history
        .iter()
        .flat_map(|b| b.reported.iter())
        .map(|p| (p.hash, p.exports_root))
        .collect();
    let known: BTreeSet<&WorkPackageHash> = input.known_packages.iter().collect();
    for (guarantee, g) in input.guarantees.iter().enumerate() {
        let hash = &g.report.package_spec.hash;
        if known.contains(hash) || recent.contains_key(hash) {
            return Err(Error::DuplicatePackage { guarantee });
        }
    }
    for (guarantee, g) in input.guarantees.iter().enumerate() {
        let report = &g.report;
        let present = |p: &WorkPackageHash| incoming.contains_key(p) || recent.contains_key(p);
        if !report.context.prerequisites.iter().all(present) {
            return Err(Error::DependencyMissing { guarantee });
        }
        for item in &report.segment_root_lookup {
            let root = incoming
                .get(&item.work_package_hash)
                .or_else(|| recent.get(&item.work_package_hash));
            if root != Some(&item.segment_tree_root) {
                return Err(Error::SegmentRootLookupInvalid { guarantee });
            }
        }
    }
    Ok(())
}

/// Checks `E_G` against the state (eq. 11.2 – 11.42) and returns the
/// reporters set `G` (eq. 11.26).
///
/// Each guarantee in turn: core, ordering, digests present, credentials
/// (count, order, indices), slot, assignment, offenders, signatures; then
/// the report (`check_report`). Then the packages over the whole
/// extrinsic (`check_packages`).
pub fn validate(
    pre: &State,
    input: &Input,
    params: &ProtocolParameters,
) -> Result<BTreeSet<Ed25519Public>, Error> {
    let slot = input.slot;
    let offenders: BTreeSet<Ed25519Public> = pre.offenders.iter().copied().collect();
    let current = assignment::current(&pre.entropy, slot, &pre.curr_validators, &offenders, params);
    let previous = assignment::previous(
        &pre.entropy,
        slot,
        &pre.curr_validators,
        &pre.prev_validators,
        &offenders,
        params,
    );
    let rotation = u32::from(params.rotation_period).max(1);
    let oldest_slot = rotation * (slot / rotation).saturating_sub(1);

    let mut reporters = BTreeSet::new();
    let mut last_core: Option<CoreIndex> = None;
    for (guarantee, g) in input.guarantees.iter().enumerate() {
        let report = &g.report;
        let core = report.core_index;
        if core >= params.core_count {
            return Err(Error::BadCoreIndex { guarantee, core });
        }
        if last_core.is_some_and(|last| last >= core) {
            return Err(Error::OutOfOrderGuarantee { guarantee });
        }
        last_core = Some(core);
        if report.results.is_empty() {
            return Err(Error::MissingWorkResults { guarantee });
        }
        check_credentials(&g.signatures, guarantee, params)?;
        if g.slot > slot {
            return Err(Error::FutureReportSlot {
                guarantee,
                slot: g.slot,
            });
        }
        if g.slot < oldest_slot {
            return Err(Error::ReportEpochBeforeLast {
                guarantee,
                slot: g.slot,
            });
        }
        let assignment = if g.slot / rotation == slot / rotation {
            &current
        } else {
            &previous
        };
        let message = signed_message(report);
        for credential in &g.signatures {
            let validator = credential.validator_index;
            let v = usize::from(validator);
            if assignment.cores.get(v) != Some(&core) {
                return Err(Error::WrongAssignment {
                    guarantee,
                    validator,
                    core,
                });
            }
            if assignment.banned.get(v).copied().unwrap_or(true) {
                return Err(Error::BannedValidator {
                    guarantee,
                    validator,
                });
            }
            let key = assignment
                .keys
                .get(v)
                .map(|k| k.ed25519)
                .unwrap_or_default();
            if !ed25519_verify(&key, &message, &credential.signature) {
                return Err(Error::BadSignature {
                    guarantee,
                    validator,
                });
            }
            reporters.insert(key);
        }
        check_report(pre, guarantee, report, slot, params)?;
    }
    check_packages(pre, input)?;
    Ok(reporters)
}

/// A credential list: two or three (eq. 11.23), ordered by validator index
/// without duplicates (eq. 11.25), every index below `V`.
fn check_credentials(
    credentials: &[ValidatorSignature],
    guarantee: usize,
    params: &ProtocolParameters,
) -> Result<(), Error> {
    if !(2..=3).contains(&credentials.len()) {
        return Err(Error::InsufficientGuarantees {
            guarantee,
            count: credentials.len(),
        });
    }
    if credentials
        .windows(2)
        .any(|w| w[0].validator_index >= w[1].validator_index)
    {
        return Err(Error::NotSortedOrUniqueGuarantors { guarantee });
    }
    if let Some(c) = credentials
        .iter()
        .find(|c| c.validator_index >= params.validators_count)
    {
        return Err(Error::BadValidatorIndex {
            guarantee,
            validator: c.validator_index,
        });
    }
    Ok(())
}

fn add<T>(counter: &mut T, by: impl TryInto<T>, max: T)
where
    T: Copy + std::ops::Add<Output = T> + PartialOrd + std::ops::Sub<Output = T>,
{
    let by = by.try_into().unwrap_or(max);
    *counter = if max - *counter < by {
        max
    } else {
        *counter + by
    };
}

/// Adds the refinement load of the incoming reports to the core statistics
/// (`R(c)` and `L(c)` of π_C, GP §13.2) and the service statistics (`R(s)`
/// of π_S: `r = (count, gas)`, `i, x, z, e`). Counters saturate at their
/// type's width.
pub fn record_refinements(
    cores: &mut CoresStatistics,
    services: &mut ServiceStatistics,
    guarantees: &GuaranteesExtrinsic,
) {
    for g in guarantees.iter() {
        let report = &g.report;
        let Some(core) = cores.get_mut(usize::from(report.core_index)) else {
            continue;
        };
        add(&mut core.bundle_size, report.package_spec.length, u32::MAX);
        for digest in report.results.iter() {
            let load = &digest.refine_load;
            add(&mut core.imports, load.imports, u16::MAX);
            add(&mut core.extrinsic_count, load.extrinsic_count, u16::MAX);
            add(&mut core.extrinsic_size, load.extrinsic_size, u32::MAX);
            add(&mut core.exports, load.exports, u16::MAX);
            add(&mut core.gas_used, load.gas_used, Gas::MAX);
            let record = services.entry(digest.service_id).or_default();
            add(&mut record.refinement_count, 1u32, u32::MAX);
            add(&mut record.refinement_gas_used, load.gas_used, Gas::MAX);
            add(&mut record.imports, load.imports, u32::MAX);
            add(&mut record.extrinsic_count, load.extrinsic_count, u32::MAX);
            add(&mut record.extrinsic_size, load.extrinsic_size, u32::MAX);
            add(&mut record.exports, load.exports, u32::MAX);
        }
    }
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
        if let Some(entry) = post
            .avail_assignments
            .get_mut(usize::from(report.core_index))
        {
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
mod tests {
    use ed25519_zebra::{SigningKey, VerificationKey};
    use parajam_primitives::types::{
        AuthPool, BlockInfo, CoreActivityRecord, RefineContext, RefineLoad, ReportedWorkPackage,
        SegmentRootLookupItem, ValidatorData, WorkPackageSpec,
    };
    use parajam_primitives::{ByteArray, Bytes};

    use super::*;

    const P: ProtocolParameters = ProtocolParameters::TINY;
    const SLOT: TimeSlot = 14;
    const ANCHOR: OpaqueHash = ByteArray([0xa0; 32]);
    const AUTHORIZER: OpaqueHash = ByteArray([0xa1; 32]);
    const CODE: OpaqueHash = ByteArray([0xc0; 32]);
    const OLD_PACKAGE: OpaqueHash = ByteArray([0x01; 32]);
    const OLD_ROOT: OpaqueHash = ByteArray([0x02; 32]);

    fn secret(v: usize) -> SigningKey {
        SigningKey::from([u8::try_from(v).expect("small") + 1; 32])
    }

    fn validators() -> ValidatorsData {
        ValidatorsData::new(
            (0..6)
                .map(|v| ValidatorData {
                    ed25519: ByteArray(VerificationKey::from(&secret(v)).into()),
                    ..ValidatorData::default()
                })
                .collect(),
        )
    }

    fn pre_state() -> State {
        State {
            avail_assignments: AvailabilityAssignments::new(vec![None, None]),
            curr_validators: validators(),
            prev_validators: validators(),
            entropy: [ByteArray([5; 32]); 4],
            offenders: vec![],
            recent_blocks: RecentBlocks {
                history: vec![BlockInfo {
                    header_hash: ANCHOR,
                    beefy_root: ByteArray([0xb0; 32]),
                    state_root: ByteArray([0x50; 32]),
                    reported: vec![ReportedWorkPackage {
                        hash: OLD_PACKAGE,
                        exports_root: OLD_ROOT,
                    }],
                }]
                .into(),
                ..RecentBlocks::default()
            },
            auth_pools: AuthPools::new(vec![AuthPool::new(vec![AUTHORIZER]); 2]),
            accounts: BTreeMap::from([(
                7,
                Account {
                    service: ServiceInfo {
                        code_hash: CODE,
                        min_item_gas: 100,
                        ..ServiceInfo::default()
                    },
                },
            )]),
            cores_statistics: CoresStatistics::new(vec![CoreActivityRecord::default(); 2]),
            services_statistics: ServiceStatistics::new(),
        }
    }

    fn report(core: CoreIndex, package: u8) -> WorkReport {
        WorkReport {
            package_spec: WorkPackageSpec {
                hash: ByteArray([package; 32]),
                length: 1000,
                exports_root: ByteArray([package + 1; 32]),
                ..WorkPackageSpec::default()
            },
            context: RefineContext {
                anchor: ANCHOR,
                state_root: ByteArray([0x50; 32]),
                beefy_root: ByteArray([0xb0; 32]),
                lookup_anchor_slot: SLOT,
                ..RefineContext::default()
            },
            core_index: core,
            authorizer_hash: AUTHORIZER,
            results: vec![WorkResult {
                service_id: 7,
                code_hash: CODE,
                accumulate_gas: 1000,
                result: WorkExecResult::Ok(Bytes(vec![1, 2, 3])),
                refine_load: RefineLoad {
                    gas_used: 50,
                    imports: 1,
                    extrinsic_count: 2,
                    extrinsic_size: 3,
                    exports: 4,
                },
                ..WorkResult::default()
            }]
            .into(),
            ..WorkReport::default()
        }
    }

    /// The validators assigned to `core` at `SLOT`, lowest first.
    fn guarantors(core: CoreIndex) -> Vec<usize> {
        let pre = pre_state();
        let m = assignment::current(
            &pre.entropy,
            SLOT,
            &pre.curr_validators,
            &BTreeSet::new(),
            &P,
        );
        (0..6).filter(|&v| m.cores[v] == core).collect()
    }

    fn guarantee(report: WorkReport, signers: &[usize]) -> ReportGuarantee {
        let message = signed_message(&report);
        ReportGuarantee {
            report,
            slot: SLOT,
            signatures: signers
                .iter()
                .map(|&v| ValidatorSignature {
                    validator_index: ValidatorIndex::try_from(v).expect("small"),
                    signature: ByteArray(secret(v).sign(&message).into()),
                })
                .collect(),
        }
    }

    fn input(guarantees: Vec<ReportGuarantee>) -> Input {
        Input {
            guarantees: guarantees.into(),
            slot: SLOT,
            known_packages: vec![],
        }
    }

    fn code_of(pre: &State, report: WorkReport) -> u8 {
        let signers = guarantors(report.core_index);
        let g = guarantee(report, &signers);
        let err = transition(pre, &input(vec![g]), &P)
            .map(|_| ())
            .expect_err("invalid");
        err.code()
    }

    #[test]
    fn valid_guarantees_are_placed_and_counted() {
        let (g0, g1) = (guarantors(0), guarantors(1));
        let extrinsic = vec![
            guarantee(report(0, 0x30), &g0),
            guarantee(report(1, 0x20), &g1),
        ];
        let (post, out) = transition(&pre_state(), &input(extrinsic), &P).expect("valid");
        let placed = post.avail_assignments[1].as_ref().expect("core 1 engaged");
        assert_eq!(
            (placed.report.package_spec.hash, placed.timeout),
            (ByteArray([0x20; 32]), SLOT)
        );
        // Ordered by package hash, not by core.
        let hashes: Vec<_> = out
            .reported
            .iter()
            .map(|r| r.work_package_hash.0[0])
            .collect();
        assert_eq!(hashes, vec![0x20, 0x30]);
        assert_eq!(out.reported[0].segment_tree_root, ByteArray([0x21; 32]));
        assert_eq!(out.reporters.len(), g0.len() + g1.len());
        assert!(out.reporters.windows(2).all(|w| w[0] < w[1]));
        let core = post.cores_statistics[0];
        assert_eq!(
            (core.bundle_size, core.gas_used, core.imports, core.exports),
            (1000, 50, 1, 4)
        );
        let service = post.services_statistics[&7];
        assert_eq!(
            (
                service.refinement_count,
                service.refinement_gas_used,
                service.extrinsic_size
            ),
            (2, 100, 6)
        );
    }

    #[test]
    fn credentials_are_checked() {
        let pre = pre_state();
        let g0 = guarantors(0);
        let run = |g: ReportGuarantee| {
            transition(&pre, &input(vec![g]), &P)
                .map(|_| ())
                .expect_err("invalid")
                .code()
        };
        assert_eq!(run(guarantee(report(0, 9), &g0[..1])), 3);
        let reversed: Vec<usize> = g0.iter().rev().copied().collect();
        assert_eq!(run(guarantee(report(0, 9), &reversed)), 5);
        let other = guarantors(1);
        let mut mixed = vec![g0[0], other[0]];
        mixed.sort_unstable();
        assert_eq!(run(guarantee(report(0, 9), &mixed)), 6);
        let mut forged = guarantee(report(0, 9), &g0);
        forged.report.auth_gas_used = 1;
        assert_eq!(run(forged), 21);
        let mut future = guarantee(report(0, 9), &g0);
        future.slot = SLOT + 1;
        assert_eq!(run(future), 1);
        let mut old = guarantee(report(0, 9), &g0);
        old.slot = 7;
        assert_eq!(run(old), 2);
        let mut banned = pre_state();
        banned.offenders = vec![banned.curr_validators[g0[0]].ed25519];
        assert_eq!(
            transition(&banned, &input(vec![guarantee(report(0, 9), &g0)]), &P)
                .map(|_| ())
                .expect_err("banned")
                .code(),
            23
        );
    }

    #[test]
    fn reports_are_checked() {
        let pre = pre_state();
        let mut r = report(0, 9);
        r.authorizer_hash = ByteArray([0; 32]);
        assert_eq!(code_of(&pre, r), 15);
        let mut r = report(0, 9);
        r.results[0].service_id = 8;
        assert_eq!(code_of(&pre, r), 9);
        let mut r = report(0, 9);
        r.results[0].code_hash = ByteArray([0; 32]);
        assert_eq!(code_of(&pre, r), 10);
        let mut r = report(0, 9);
        r.results[0].accumulate_gas = 99;
        assert_eq!(code_of(&pre, r), 18);
        let mut r = report(0, 9);
        r.results[0].accumulate_gas = P.gas_accumulate_report + 1;
        assert_eq!(code_of(&pre, r), 17);
        let mut r = report(0, 9);
        r.auth_output = Bytes(vec![0; P.max_report_output_size as usize]);
        assert_eq!(code_of(&pre, r), 22);
        let mut r = report(0, 9);
        r.context.prerequisites = vec![OLD_PACKAGE; 9];
        assert_eq!(code_of(&pre, r), 19);
        let mut r = report(0, 9);
        r.context.anchor = ByteArray([0; 32]);
        assert_eq!(code_of(&pre, r), 8);
        let mut r = report(0, 9);
        r.context.state_root = ByteArray([0; 32]);
        assert_eq!(code_of(&pre, r), 13);
        let mut r = report(0, 9);
        r.context.beefy_root = ByteArray([0; 32]);
        assert_eq!(code_of(&pre, r), 14);
        let mut r = report(0, 9);
        r.results = Vec::new().into();
        assert_eq!(code_of(&pre, r), 25);
        let mut engaged = pre_state();
        engaged.avail_assignments[0] = Some(AvailabilityAssignment::default());
        assert_eq!(code_of(&engaged, report(0, 9)), 7);
    }

    #[test]
    fn packages_are_checked() {
        let pre = pre_state();
        assert_eq!(code_of(&pre, report(0, OLD_PACKAGE.0[0])), 12);
        let mut r = report(0, 9);
        r.context.prerequisites = vec![ByteArray([0x77; 32])];
        assert_eq!(code_of(&pre, r), 11);
        let mut r = report(0, 9);
        r.context.prerequisites = vec![OLD_PACKAGE];
        r.segment_root_lookup = vec![SegmentRootLookupItem {
            work_package_hash: OLD_PACKAGE,
            segment_tree_root: OLD_ROOT,
        }];
        let g = guarantee(r.clone(), &guarantors(0));
        transition(&pre, &input(vec![g]), &P).expect("dependencies in history");
        r.segment_root_lookup[0].segment_tree_root = ByteArray([0; 32]);
        assert_eq!(code_of(&pre, r), 20);
        let mut known = input(vec![guarantee(report(0, 9), &guarantors(0))]);
        known.known_packages = vec![ByteArray([9; 32])];
        let err = transition(&pre, &known, &P).map(|_| ()).expect_err("known");
        assert_eq!(err.code(), 12);
        let same = vec![
            guarantee(report(0, 9), &guarantors(0)),
            guarantee(report(1, 9), &guarantors(1)),
        ];
        let err = transition(&pre, &input(same), &P)
            .map(|_| ())
            .expect_err("twice");
        assert_eq!(err.code(), 12);
    }

    #[test]
    fn input_decodes_a_report_without_digests() {
        let mut r = report(0, 9);
        r.results = Vec::new().into();
        let input = input(vec![guarantee(r, &guarantors(0))]);
        let bytes = input.encode();
        let decoded: Input = parajam_primitives::decode(&bytes, &P).expect("lenient");
        assert_eq!(decoded, input);
        assert!(parajam_primitives::decode::<GuaranteesExtrinsic>(&bytes, &P).is_err());
    }

    #[test]
    fn lookup_anchor_must_be_recent() {
        // At τ' = 40 (rotation 2 of epoch 3), L = 24 allows slots from 16.
        let slot = 40;
        let pre = pre_state();
        let m = assignment::current(
            &pre.entropy,
            slot,
            &pre.curr_validators,
            &BTreeSet::new(),
            &P,
        );
        let signers: Vec<usize> = (0..6).filter(|&v| m.cores[v] == 0).collect();
        let run = |lookup_anchor_slot| {
            let mut r = report(0, 9);
            r.context.lookup_anchor_slot = lookup_anchor_slot;
            let mut g = guarantee(r, &signers);
            g.slot = slot;
            let input = Input {
                guarantees: vec![g].into(),
                slot,
                known_packages: vec![],
            };
            transition(&pre, &input, &P).map(|_| ())
        };
        assert_eq!(run(16), Ok(()));
        assert_eq!(run(15), Err(Error::LookupAnchorNotRecent { guarantee: 0 }));
    }

    #[test]
    fn guarantees_are_ordered_by_core() {
        let pre = pre_state();
        let swapped = vec![
            guarantee(report(1, 8), &guarantors(1)),
            guarantee(report(0, 9), &guarantors(0)),
        ];
        let err = transition(&pre, &input(swapped), &P)
            .map(|_| ())
            .expect_err("order");
        assert_eq!(err, Error::OutOfOrderGuarantee { guarantee: 1 });
        assert_eq!(code_of(&pre, report(2, 9)), 0);
    }
}
