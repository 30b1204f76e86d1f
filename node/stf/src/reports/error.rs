//! Why a guarantees extrinsic is invalid: the offending guarantee and
//! what is wrong with it.

use parajam_primitives::types::{CoreIndex, ServiceId, TimeSlot, ValidatorIndex};

/// Why a guarantees extrinsic is invalid: the index of the offending
/// guarantee in `E_G` and what is wrong with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("guarantee {guarantee}: {kind}")]
pub struct Error {
    /// The offending guarantee's index in `E_G`.
    pub guarantee: usize,
    /// What is wrong with it.
    pub kind: ErrorKind,
}

/// What is wrong with a guarantee.
///
/// The STF test vectors (`reports.asn`) number these errors; the
/// conformance harness maps each variant to its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ErrorKind {
    /// The report's core is not below `C`.
    #[error("core {core} does not exist")]
    BadCoreIndex {
        /// The report's core.
        core: CoreIndex,
    },
    /// `t > τ'` (eq. 11.26).
    #[error("slot {slot} is after the block's")]
    FutureReportSlot {
        /// `t`.
        slot: TimeSlot,
    },
    /// `t < R(⌊τ'/R⌋ − 1)`: older than the previous rotation (eq. 11.26).
    #[error("slot {slot} is before the previous rotation")]
    ReportEpochBeforeLast {
        /// `t`.
        slot: TimeSlot,
    },
    /// Fewer than two or more than three credentials (eq. 11.23).
    #[error("{count} credentials, not 2 or 3")]
    InsufficientGuarantees {
        /// `|a|`.
        count: usize,
    },
    /// The guarantees are not ordered by core, one per core (eq. 11.24).
    #[error("not on a core after its predecessor's")]
    OutOfOrderGuarantee,
    /// The credentials are not ordered by validator index, or repeat one (eq. 11.25).
    #[error("guarantors not sorted or not unique")]
    NotSortedOrUniqueGuarantors,
    /// A guarantor is not assigned to the report's core (eq. 11.26).
    #[error("validator {validator} is not assigned to core {core}")]
    WrongAssignment {
        /// The guarantor.
        validator: ValidatorIndex,
        /// The report's core.
        core: CoreIndex,
    },
    /// The core has a report pending availability (eq. 11.29).
    #[error("core {core} is engaged")]
    CoreEngaged {
        /// The core.
        core: CoreIndex,
    },
    /// The anchor is not a recent block (eq. 11.33).
    #[error("anchor is not a recent block")]
    AnchorNotRecent,
    /// A digest's service does not exist (eq. 11.30, 11.42).
    #[error("service {service} does not exist")]
    BadServiceId {
        /// The service.
        service: ServiceId,
    },
    /// A digest's code hash is not its service's (eq. 11.42).
    #[error("wrong code hash for service {service}")]
    BadCodeHash {
        /// The service.
        service: ServiceId,
    },
    /// A prerequisite is neither in the extrinsic nor in recent history (eq. 11.39).
    #[error("prerequisite package missing")]
    DependencyMissing,
    /// A package is reported twice or is already known (eq. 11.32, 11.38).
    #[error("package already reported or known")]
    DuplicatePackage,
    /// The anchor's state root differs from the recent block's (eq. 11.33).
    #[error("anchor state root differs")]
    BadStateRoot,
    /// The anchor's BEEFY root differs from the recent block's (eq. 11.33).
    #[error("anchor BEEFY MMR root differs")]
    BadBeefyMmrRoot,
    /// The authorizer is not in the core's pool (eq. 11.29).
    #[error("authorizer not in the pool of core {core}")]
    CoreUnauthorized {
        /// The core.
        core: CoreIndex,
    },
    /// A guarantor index is not below `V`.
    #[error("validator index {validator} out of range")]
    BadValidatorIndex {
        /// The index.
        validator: ValidatorIndex,
    },
    /// The digests' gas totals more than `G_A` (eq. 11.30).
    #[error("accumulate gas above G_A")]
    WorkReportGasTooHigh,
    /// A digest's gas is below its service's minimum (eq. 11.30).
    #[error("accumulate gas below the minimum of service {service}")]
    ServiceItemGasTooLow {
        /// The service.
        service: ServiceId,
    },
    /// More than `J` prerequisites and segment-root lookups (eq. 11.3).
    #[error("more than J dependencies")]
    TooManyDependencies,
    /// A segment-root lookup names an unknown package or the wrong root (eq. 11.41).
    #[error("invalid segment-root lookup")]
    SegmentRootLookupInvalid,
    /// A credential's signature does not verify (eq. 11.26).
    #[error("invalid signature of validator {validator}")]
    BadSignature {
        /// The guarantor.
        validator: ValidatorIndex,
    },
    /// The report's outputs and trace exceed `W_R` (eq. 11.8).
    #[error("report outputs exceed W_R")]
    WorkReportTooBig,
    /// A guarantor is an offender (`Φ` zeroes its key, eq. 6.14).
    #[error("validator {validator} is an offender")]
    BannedValidator {
        /// The guarantor.
        validator: ValidatorIndex,
    },
    /// The lookup anchor is more than `L` slots old (eq. 11.34).
    #[error("lookup anchor older than L")]
    LookupAnchorNotRecent,
    /// The report has no digest (eq. 11.2).
    #[error("report without work digests")]
    MissingWorkResults,
}

impl ErrorKind {
    /// This kind of error in the guarantee at index `guarantee` of `E_G`.
    pub fn at(self, guarantee: usize) -> Error {
        Error {
            guarantee,
            kind: self,
        }
    }
}
