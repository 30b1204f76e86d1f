//! `Ξ(p, c)` on CoreChains packages: a checked package becomes a work
//! report whose availability specification commits to the real audit
//! bundle; a package over the limits, with wrong extrinsic data, missing
//! imports or no authorization is refused with the reason before or
//! instead of a report.

mod common;

use common::{auth_config, candidate, hash, package, Node, PARA, PARAMS, SERVICE};
use parajam_corechains_build::SERVICE_CODE_HASH;
use parajam_corechains_types::{AuthScope, ParaId, RefineOutput, WorkItemPayload};
use parajam_guarantor::availability::{coder, shares, verify_share};
use parajam_guarantor::package::authorizer_hash;
use parajam_guarantor::{ExportStore, NoSegments, PackageError};
use parajam_primitives::types::{ImportSpec, OpaqueHash, WorkExecResult, WorkPackage};
use parity_scale_codec::Decode;

fn adder_block(add: u64) -> (WorkPackage, Vec<u8>) {
    let parent = parajam_adder::HeadData::genesis(0);
    let block = parajam_adder::BlockData { state: 0, add }.encode().to_vec();
    let package = package(
        &WorkItemPayload::Candidate(candidate(&parent, &block)),
        &block,
        auth_config(AuthScope::Para(PARA)),
    );
    (package, block)
}

#[test]
fn a_package_becomes_a_report_committing_to_its_bundle() {
    let node = Node::new();
    let (package, block) = adder_block(3);
    let done = node
        .guarantor(false)
        .process(
            &node.accounts,
            &package,
            1,
            &[vec![block.clone()]],
            &NoSegments,
        )
        .expect("guaranteed");
    let report = &done.report;
    let encoded = jam_codec::Encode::encode(&package);
    // The bundle is the package, then the block data as it is.
    assert_eq!(done.bundle, [&encoded[..], &block].concat());
    let spec = &report.package_spec;
    assert_eq!(spec.hash.0, hash(&encoded));
    assert_eq!(spec.length as usize, encoded.len() + block.len());
    assert_eq!((spec.exports_count, spec.exports_root.0), (0, [0; 32]));
    assert_eq!(report.core_index, 1);
    assert_eq!(report.context, package.context);
    assert_eq!(report.authorizer_hash, authorizer_hash(&package));
    assert_eq!(
        report.auth_output.0,
        auth_config(AuthScope::Para(PARA)),
        "the authorizer's trace"
    );
    assert_eq!(report.auth_gas_used, done.authorization.gas_used);
    let digest = &report.results[0];
    assert_eq!(digest.service_id, SERVICE);
    assert_eq!(digest.code_hash, OpaqueHash::from(SERVICE_CODE_HASH));
    assert_eq!(digest.payload_hash.0, hash(&package.items[0].payload.0));
    assert_eq!(digest.accumulate_gas, package.items[0].accumulate_gas_limit);
    assert_eq!(digest.refine_load.extrinsic_count, 1);
    assert_eq!(digest.refine_load.extrinsic_size as usize, block.len());
    assert_eq!(digest.refine_load.gas_used, done.items[0].gas_used);
    let WorkExecResult::Ok(output) = &digest.result else {
        panic!("refine failed: {:?}", digest.result);
    };
    assert!(matches!(
        RefineOutput::decode(&mut &output.0[..]).expect("an output"),
        RefineOutput::Valid(_)
    ));

    // Every validator's share proves against the erasure root, and any two
    // of the six rebuild the bundle.
    let validators = usize::from(PARAMS.validators_count);
    let shares = shares(&PARAMS, &done.bundle, &done.exports).expect("shares");
    assert!(shares
        .iter()
        .all(|s| verify_share(s, validators, &spec.erasure_root)));
    let chunks = [
        (shares[1].index, shares[1].bundle_chunk.as_slice()),
        (shares[4].index, shares[4].bundle_chunk.as_slice()),
    ];
    let rebuilt = coder(&PARAMS)
        .expect("a code")
        .reconstruct(&chunks, spec.length as usize)
        .expect("rebuilt");
    assert_eq!(rebuilt, done.bundle);
    // Another block is another bundle and another root.
    let (other, other_block) = adder_block(4);
    let other = node
        .guarantor(false)
        .process(&node.accounts, &other, 1, &[vec![other_block]], &NoSegments)
        .expect("guaranteed");
    assert_ne!(
        other.report.package_spec.erasure_root, spec.erasure_root,
        "the root commits to the data"
    );
}

#[test]
fn extrinsic_data_must_be_what_the_package_names() {
    let node = Node::new();
    let g = node.guarantor(false);
    let (package, block) = adder_block(3);
    let refused = |extrinsics: &[Vec<Vec<u8>>]| {
        g.process(&node.accounts, &package, 0, extrinsics, &NoSegments)
            .expect_err("refused")
    };
    let mut flipped = block.clone();
    flipped[0] ^= 1;
    assert!(matches!(
        refused(&[vec![flipped]]),
        PackageError::Extrinsic {
            item: 0,
            index: 0,
            reason: "wrong hash"
        }
    ));
    let mut longer = block.clone();
    longer.push(0);
    assert!(matches!(
        refused(&[vec![longer]]),
        PackageError::Extrinsic {
            reason: "wrong length",
            ..
        }
    ));
    assert!(matches!(
        refused(&[vec![]]),
        PackageError::Extrinsic {
            reason: "missing or extra blob",
            ..
        }
    ));
    assert!(matches!(
        refused(&[]),
        PackageError::ExtrinsicItems { given: 0, items: 1 }
    ));
}

#[test]
fn a_candidate_over_the_bundle_limit_is_refused_before_anything_runs() {
    let node = Node::new();
    // Block data one octet over W_B once the payload and config are counted.
    let parent = parajam_adder::HeadData::genesis(0);
    let block = vec![0u8; PARAMS.max_bundle_size as usize];
    let package = package(
        &WorkItemPayload::Candidate(candidate(&parent, &block)),
        &block,
        auth_config(AuthScope::Para(PARA)),
    );
    let err = node
        .guarantor(false)
        .process(&node.accounts, &package, 0, &[vec![block]], &NoSegments)
        .expect_err("too large");
    let PackageError::BundleTooLarge { size, max } = err else {
        panic!("{err}");
    };
    assert_eq!(max, PARAMS.max_bundle_size);
    assert_eq!(
        size,
        u64::from(max)
            + (package.items[0].payload.0.len() + package.authorizer_config.0.len()) as u64
    );
}

#[test]
fn limits_imports_and_authorization_are_checked() {
    let node = Node::new();
    let g = node.guarantor(false);
    let (mut package, block) = adder_block(3);
    let extrinsics = [vec![block.clone()]];

    package.items[0].refine_gas_limit = PARAMS.gas_refine + 1;
    assert!(matches!(
        g.process(&node.accounts, &package, 0, &extrinsics, &NoSegments),
        Err(PackageError::OverLimit {
            what: "refine gas (G_R)",
            ..
        })
    ));
    package.items[0].refine_gas_limit = PARAMS.gas_refine;
    package.items[0].export_count = PARAMS.max_package_exports + 1;
    assert!(matches!(
        g.process(&node.accounts, &package, 0, &extrinsics, &NoSegments),
        Err(PackageError::OverLimit {
            what: "exports (W_X)",
            ..
        })
    ));
    package.items[0].export_count = 0;

    // An import of a tree nobody exported, then of a package named by hash.
    package.items[0].import_segments = vec![ImportSpec {
        tree_root: OpaqueHash::from([3; 32]),
        index: 0,
    }];
    assert!(matches!(
        g.process(
            &node.accounts,
            &package,
            0,
            &extrinsics,
            &ExportStore::default()
        ),
        Err(PackageError::ImportUnavailable {
            item: 0,
            index: 0,
            ..
        })
    ));
    package.items[0].import_segments = vec![ImportSpec {
        tree_root: OpaqueHash::from([4; 32]),
        index: ImportSpec::PACKAGE_HASH_FLAG | 2,
    }];
    assert!(matches!(
        g.process(
            &node.accounts,
            &package,
            0,
            &extrinsics,
            &ExportStore::default()
        ),
        Err(PackageError::ImportUnavailable { index: 2, .. })
    ));
    package.items[0].import_segments.clear();

    // Configured for another para: the authorizer panics, no report.
    package.authorizer_config = auth_config(AuthScope::Para(ParaId(2001))).into();
    assert!(matches!(
        g.process(&node.accounts, &package, 0, &extrinsics, &NoSegments),
        Err(PackageError::Unauthorized(WorkExecResult::Panic))
    ));
}

#[test]
fn imported_segments_are_resolved_justified_and_put_in_the_bundle() {
    let node = Node::new();
    let (mut package, block) = adder_block(3);
    // A tree of three exported segments, known by root and by its package.
    let exported: Vec<Vec<u8>> = (0..3u8)
        .map(|i| vec![i; PARAMS.segment_size as usize])
        .collect();
    let exporter = parajam_primitives::types::WorkPackageSpec {
        hash: OpaqueHash::from([0xee; 32]),
        exports_root: OpaqueHash::from(parajam_merkle::binary::constant_depth_root(&exported)),
        exports_count: 3,
        ..Default::default()
    };
    let mut store = ExportStore::default();
    store.record(&exporter, exported.clone());
    package.items[0].import_segments = vec![
        ImportSpec {
            tree_root: exporter.exports_root,
            index: 2,
        },
        ImportSpec {
            tree_root: exporter.hash,
            index: ImportSpec::PACKAGE_HASH_FLAG,
        },
    ];
    let done = node
        .guarantor(false)
        .process(&node.accounts, &package, 0, &[vec![block.clone()]], &store)
        .expect("guaranteed");
    // The package named by hash is in the lookup with its root.
    assert_eq!(done.report.segment_root_lookup.len(), 1);
    assert_eq!(
        done.report.segment_root_lookup[0].work_package_hash,
        exporter.hash
    );
    assert_eq!(
        done.report.segment_root_lookup[0].segment_tree_root,
        exporter.exports_root
    );
    assert_eq!(done.report.results[0].refine_load.imports, 2);
    // Bundle: package, block, segments 2 and 0, then their justifications.
    let mut expected = jam_codec::Encode::encode(&package);
    expected.extend_from_slice(&block);
    expected.extend_from_slice(&exported[2]);
    expected.extend_from_slice(&exported[0]);
    for n in [2, 0] {
        jam_codec::Encode::encode_to(
            &parajam_merkle::binary::justification(&exported, n, 0),
            &mut expected,
        );
    }
    assert_eq!(done.bundle, expected);
}
