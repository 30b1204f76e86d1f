//! The STF vectors' error codes: the index and name of each family's
//! `ErrorCode` enumeration (the paper does not number errors), for the
//! node's typed errors. Each table is exhaustive over the node's error, so
//! a new error kind cannot go unmapped.

use parajam_stf::{assurances, disputes, preimages, reports, safrole};

/// An error's `(index, name)` in its vector family's `ErrorCode`.
pub(crate) type Code = (u8, &'static str);

/// `assurances.asn` `ErrorCode`.
pub(crate) fn assurances(error: &assurances::Error) -> Code {
    match error {
        assurances::Error::BadAttestationParent { .. } => (0, "bad_attestation_parent"),
        assurances::Error::BadValidatorIndex { .. } => (1, "bad_validator_index"),
        assurances::Error::CoreNotEngaged { .. } => (2, "core_not_engaged"),
        assurances::Error::BadSignature { .. } => (3, "bad_signature"),
        assurances::Error::NotSortedOrUniqueAssurers { .. } => (4, "not_sorted_or_unique_assurers"),
    }
}

/// `disputes.asn` `ErrorCode`.
pub(crate) fn disputes(error: &disputes::Error) -> Code {
    match error {
        disputes::Error::AlreadyJudged { .. } => (0, "already_judged"),
        disputes::Error::BadVoteSplit { .. } => (1, "bad_vote_split"),
        disputes::Error::VerdictsNotSortedUnique { .. } => (2, "verdicts_not_sorted_unique"),
        disputes::Error::JudgementsNotSortedUnique { .. } => (3, "judgements_not_sorted_unique"),
        disputes::Error::CulpritsNotSortedUnique { .. } => (4, "culprits_not_sorted_unique"),
        disputes::Error::FaultsNotSortedUnique { .. } => (5, "faults_not_sorted_unique"),
        disputes::Error::NotEnoughCulprits { .. } => (6, "not_enough_culprits"),
        disputes::Error::NotEnoughFaults { .. } => (7, "not_enough_faults"),
        disputes::Error::CulpritsVerdictNotBad { .. } => (8, "culprits_verdict_not_bad"),
        disputes::Error::FaultVerdictWrong { .. } => (9, "fault_verdict_wrong"),
        disputes::Error::OffenderAlreadyReported { .. } => (10, "offender_already_reported"),
        disputes::Error::BadJudgementAge { .. } => (11, "bad_judgement_age"),
        disputes::Error::BadValidatorIndex { .. } => (12, "bad_validator_index"),
        disputes::Error::BadSignature { .. } => (13, "bad_signature"),
        disputes::Error::BadGuarantorKey { .. } => (14, "bad_guarantor_key"),
        disputes::Error::BadAuditorKey { .. } => (15, "bad_auditor_key"),
    }
}

/// `preimages.asn` `ErrorCode`.
pub(crate) fn preimages(error: &preimages::Error) -> Code {
    match error {
        preimages::Error::PreimageUnneeded { .. } => (0, "preimage_unneeded"),
        preimages::Error::PreimagesNotSortedUnique { .. } => (1, "preimages_not_sorted_unique"),
    }
}

/// `reports.asn` `ErrorCode`.
pub(crate) fn reports(kind: &reports::ErrorKind) -> Code {
    match kind {
        reports::ErrorKind::BadCoreIndex { .. } => (0, "bad_core_index"),
        reports::ErrorKind::FutureReportSlot { .. } => (1, "future_report_slot"),
        reports::ErrorKind::ReportEpochBeforeLast { .. } => (2, "report_epoch_before_last"),
        reports::ErrorKind::InsufficientGuarantees { .. } => (3, "insufficient_guarantees"),
        reports::ErrorKind::OutOfOrderGuarantee => (4, "out_of_order_guarantee"),
        reports::ErrorKind::NotSortedOrUniqueGuarantors => (5, "not_sorted_or_unique_guarantors"),
        reports::ErrorKind::WrongAssignment { .. } => (6, "wrong_assignment"),
        reports::ErrorKind::CoreEngaged { .. } => (7, "core_engaged"),
        reports::ErrorKind::AnchorNotRecent => (8, "anchor_not_recent"),
        reports::ErrorKind::BadServiceId { .. } => (9, "bad_service_id"),
        reports::ErrorKind::BadCodeHash { .. } => (10, "bad_code_hash"),
        reports::ErrorKind::DependencyMissing => (11, "dependency_missing"),
        reports::ErrorKind::DuplicatePackage => (12, "duplicate_package"),
        reports::ErrorKind::BadStateRoot => (13, "bad_state_root"),
        reports::ErrorKind::BadBeefyMmrRoot => (14, "bad_beefy_mmr_root"),
        reports::ErrorKind::CoreUnauthorized { .. } => (15, "core_unauthorized"),
        reports::ErrorKind::BadValidatorIndex { .. } => (16, "bad_validator_index"),
        reports::ErrorKind::WorkReportGasTooHigh => (17, "work_report_gas_too_high"),
        reports::ErrorKind::ServiceItemGasTooLow { .. } => (18, "service_item_gas_too_low"),
        reports::ErrorKind::TooManyDependencies => (19, "too_many_dependencies"),
        reports::ErrorKind::SegmentRootLookupInvalid => (20, "segment_root_lookup_invalid"),
        reports::ErrorKind::BadSignature { .. } => (21, "bad_signature"),
        reports::ErrorKind::WorkReportTooBig => (22, "work_report_too_big"),
        reports::ErrorKind::BannedValidator { .. } => (23, "banned_validator"),
        reports::ErrorKind::LookupAnchorNotRecent => (24, "lookup_anchor_not_recent"),
        reports::ErrorKind::MissingWorkResults => (25, "missing_work_results"),
    }
}

/// `safrole.asn` `ErrorCode`.
pub(crate) fn safrole(error: &safrole::Error) -> Code {
    match error {
        safrole::Error::BadSlot { .. } => (0, "bad_slot"),
        safrole::Error::UnexpectedTicket => (1, "unexpected_ticket"),
        safrole::Error::BadTicketOrder { .. } => (2, "bad_ticket_order"),
        safrole::Error::BadTicketProof { .. } => (3, "bad_ticket_proof"),
        safrole::Error::BadTicketAttempt { .. } => (4, "bad_ticket_attempt"),
        safrole::Error::DuplicateTicket { .. } => (6, "duplicate_ticket"),
        safrole::Error::VerifierPanicked => (u8::MAX, "(none: the node failed, not the block)"),
    }
}
