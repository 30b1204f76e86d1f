//! The reports transition on hand-made states and extrinsics.

use std::collections::BTreeSet;

use parajam_primitives::types::{
    AuthPool, BlockInfo, CoreActivityRecord, CoreIndex, RefineContext, RefineLoad, ReportGuarantee,
    ReportedWorkPackage, SegmentRootLookupItem, ValidatorIndex, ValidatorSignature, WorkExecResult,
    WorkPackageSpec, WorkReport, WorkResult,
};
use parajam_primitives::{ByteArray, Bytes};

use super::*;
use crate::test_keys::{secret, validators};

const P: ProtocolParameters = ProtocolParameters::TINY;
const SLOT: TimeSlot = 14;
const ANCHOR: OpaqueHash = ByteArray([0xa0; 32]);
const AUTHORIZER: OpaqueHash = ByteArray([0xa1; 32]);
const CODE: OpaqueHash = ByteArray([0xc0; 32]);
const OLD_PACKAGE: OpaqueHash = ByteArray([0x01; 32]);
const OLD_ROOT: OpaqueHash = ByteArray([0x02; 32]);

fn pre_state() -> State {
    State {
        availability: AvailabilityAssignments::new(vec![None, None]),
        active_validators: validators(),
        previous_validators: validators(),
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
        &pre.active_validators,
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

/// The name of `error`'s kind (its variant, without fields).
fn kind(error: &Error) -> String {
    let name = format!("{:?}", error.kind);
    name.split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The kind of error `report`, guaranteed by its core's guarantors, fails with.
fn kind_of(pre: &State, report: WorkReport) -> String {
    let signers = guarantors(report.core_index);
    let g = guarantee(report, &signers);
    let err = transition(pre, &input(vec![g]), &P)
        .map(|_| ())
        .expect_err("invalid");
    kind(&err)
}

#[test]
fn valid_guarantees_are_placed_and_counted() {
    let (g0, g1) = (guarantors(0), guarantors(1));
    let extrinsic = vec![
        guarantee(report(0, 0x30), &g0),
        guarantee(report(1, 0x20), &g1),
    ];
    let (post, out) = transition(&pre_state(), &input(extrinsic), &P).expect("valid");
    let placed = post.availability[1].as_ref().expect("core 1 engaged");
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
        kind(
            &transition(&pre, &input(vec![g]), &P)
                .map(|_| ())
                .expect_err("invalid"),
        )
    };
    assert_eq!(
        run(guarantee(report(0, 9), &g0[..1])),
        "InsufficientGuarantees"
    );
    let reversed: Vec<usize> = g0.iter().rev().copied().collect();
    assert_eq!(
        run(guarantee(report(0, 9), &reversed)),
        "NotSortedOrUniqueGuarantors"
    );
    let other = guarantors(1);
    let mut mixed = vec![g0[0], other[0]];
    mixed.sort_unstable();
    assert_eq!(run(guarantee(report(0, 9), &mixed)), "WrongAssignment");
    let mut forged = guarantee(report(0, 9), &g0);
    forged.report.auth_gas_used = 1;
    assert_eq!(run(forged), "BadSignature");
    let mut future = guarantee(report(0, 9), &g0);
    future.slot = SLOT + 1;
    assert_eq!(run(future), "FutureReportSlot");
    let mut old = guarantee(report(0, 9), &g0);
    old.slot = 7;
    assert_eq!(run(old), "ReportEpochBeforeLast");
    let mut banned = pre_state();
    banned.offenders = vec![banned.active_validators[g0[0]].ed25519];
    assert_eq!(
        kind(
            &transition(&banned, &input(vec![guarantee(report(0, 9), &g0)]), &P)
                .map(|_| ())
                .expect_err("banned")
        ),
        "BannedValidator"
    );
}

#[test]
fn reports_are_checked() {
    let pre = pre_state();
    let mut r = report(0, 9);
    r.authorizer_hash = ByteArray([0; 32]);
    assert_eq!(kind_of(&pre, r), "CoreUnauthorized");
    let mut r = report(0, 9);
    r.results[0].service_id = 8;
    assert_eq!(kind_of(&pre, r), "BadServiceId");
    let mut r = report(0, 9);
    r.results[0].code_hash = ByteArray([0; 32]);
    assert_eq!(kind_of(&pre, r), "BadCodeHash");
    let mut r = report(0, 9);
    r.results[0].accumulate_gas = 99;
    assert_eq!(kind_of(&pre, r), "ServiceItemGasTooLow");
    let mut r = report(0, 9);
    r.results[0].accumulate_gas = P.gas_accumulate_report + 1;
    assert_eq!(kind_of(&pre, r), "WorkReportGasTooHigh");
    let mut r = report(0, 9);
    r.auth_output = Bytes(vec![0; P.max_report_output_size as usize]);
    assert_eq!(kind_of(&pre, r), "WorkReportTooBig");
    let mut r = report(0, 9);
    r.context.prerequisites = vec![OLD_PACKAGE; 9];
    assert_eq!(kind_of(&pre, r), "TooManyDependencies");
    let mut r = report(0, 9);
    r.context.anchor = ByteArray([0; 32]);
    assert_eq!(kind_of(&pre, r), "AnchorNotRecent");
    let mut r = report(0, 9);
    r.context.state_root = ByteArray([0; 32]);
    assert_eq!(kind_of(&pre, r), "BadStateRoot");
    let mut r = report(0, 9);
    r.context.beefy_root = ByteArray([0; 32]);
    assert_eq!(kind_of(&pre, r), "BadBeefyMmrRoot");
    let mut r = report(0, 9);
    r.results = Vec::new().into();
    assert_eq!(kind_of(&pre, r), "MissingWorkResults");
    let mut engaged = pre_state();
    engaged.availability[0] = Some(AvailabilityAssignment::default());
    assert_eq!(kind_of(&engaged, report(0, 9)), "CoreEngaged");
}

#[test]
fn packages_are_checked() {
    let pre = pre_state();
    assert_eq!(
        kind_of(&pre, report(0, OLD_PACKAGE.0[0])),
        "DuplicatePackage"
    );
    let mut r = report(0, 9);
    r.context.prerequisites = vec![ByteArray([0x77; 32])];
    assert_eq!(kind_of(&pre, r), "DependencyMissing");
    let mut r = report(0, 9);
    r.context.prerequisites = vec![OLD_PACKAGE];
    r.segment_root_lookup = vec![SegmentRootLookupItem {
        work_package_hash: OLD_PACKAGE,
        segment_tree_root: OLD_ROOT,
    }];
    let g = guarantee(r.clone(), &guarantors(0));
    transition(&pre, &input(vec![g]), &P).expect("dependencies in history");
    r.segment_root_lookup[0].segment_tree_root = ByteArray([0; 32]);
    assert_eq!(kind_of(&pre, r), "SegmentRootLookupInvalid");
    let mut known = input(vec![guarantee(report(0, 9), &guarantors(0))]);
    known.known_packages = vec![ByteArray([9; 32])];
    let err = transition(&pre, &known, &P).map(|_| ()).expect_err("known");
    assert_eq!(kind(&err), "DuplicatePackage");
    let same = vec![
        guarantee(report(0, 9), &guarantors(0)),
        guarantee(report(1, 9), &guarantors(1)),
    ];
    let err = transition(&pre, &input(same), &P)
        .map(|_| ())
        .expect_err("twice");
    assert_eq!(kind(&err), "DuplicatePackage");
}

#[test]
fn lookup_anchor_must_be_recent() {
    // At τ' = 40 (rotation 2 of epoch 3), L = 24 allows slots from 16.
    let slot = 40;
    let pre = pre_state();
    let m = assignment::current(
        &pre.entropy,
        slot,
        &pre.active_validators,
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
    assert_eq!(run(15), Err(ErrorKind::LookupAnchorNotRecent.at(0)));
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
    assert_eq!(err, ErrorKind::OutOfOrderGuarantee.at(1));
    assert_eq!(kind_of(&pre, report(2, 9)), "BadCoreIndex");
}
