//! Bad input never panics the decoder and never makes it allocate by a length
//! prefix: truncated, oversized, trailing-garbage and random inputs for blocks
//! and work packages give a typed error; well-formed values round-trip.

use parajam_primitives::codec::{Compact, Encode};
use parajam_primitives::types::{
    AvailAssurance, Block, Culprit, DisputesExtrinsic, EpochMark, EpochMarkValidatorKeys,
    Extrinsic, Header, Judgement, Preimage, RefineContext, ReportGuarantee, TicketBody,
    TicketEnvelope, ValidatorSignature, Verdict, WorkExecResult, WorkItem, WorkPackage, WorkReport,
    WorkResult,
};
use parajam_primitives::{decode, ByteArray, Bytes, DecodeError, ProtocolParameters};
use proptest::prelude::*;

const TINY: ProtocolParameters = ProtocolParameters::TINY;

fn hash(b: u8) -> ByteArray<32> {
    ByteArray([b; 32])
}

fn sample_work_item(seed: u8, payload: Vec<u8>) -> WorkItem {
    WorkItem {
        service: u32::from(seed) * 7,
        code_hash: hash(seed),
        refine_gas_limit: u64::from(seed) << 20,
        accumulate_gas_limit: 1000 + u64::from(seed),
        export_count: u16::from(seed),
        payload: payload.into(),
        import_segments: vec![],
        extrinsic: vec![],
    }
}

fn sample_report(core: u16) -> WorkReport {
    WorkReport {
        core_index: core,
        auth_gas_used: 12_345_678,
        auth_output: vec![1, 2, 3].into(),
        results: vec![
            WorkResult {
                result: WorkExecResult::Ok(vec![9; 40].into()),
                ..WorkResult::default()
            },
            WorkResult {
                result: WorkExecResult::Panic,
                ..WorkResult::default()
            },
        ]
        .into(),
        ..WorkReport::default()
    }
}

/// A tiny-parameter block that exercises every extrinsic and both header markers.
fn sample_block() -> Block {
    let p = TINY;
    let header = Header {
        parent: hash(1),
        slot: 42,
        epoch_mark: Some(EpochMark {
            validators: vec![EpochMarkValidatorKeys::default(); usize::from(p.validators_count)]
                .into(),
            ..EpochMark::default()
        }),
        tickets_mark: Some(vec![TicketBody::default(); p.epoch_length as usize].into()),
        author_index: 3,
        offenders_mark: vec![hash(5)],
        ..Header::default()
    };
    let extrinsic = Extrinsic {
        tickets: vec![TicketEnvelope {
            attempt: 1,
            signature: ByteArray([7; 784]),
        }]
        .into(),
        preimages: vec![Preimage {
            requester: 9,
            blob: vec![1; 100].into(),
        }],
        guarantees: vec![ReportGuarantee {
            report: sample_report(1),
            slot: 41,
            signatures: vec![ValidatorSignature {
                validator_index: 2,
                signature: ByteArray([3; 64]),
            }],
        }]
        .into(),
        assurances: vec![AvailAssurance {
            anchor: hash(1),
            bitfield: vec![0b11].into(),
            validator_index: 4,
            signature: ByteArray([4; 64]),
        }]
        .into(),
        disputes: DisputesExtrinsic {
            verdicts: vec![Verdict {
                target: hash(8),
                age: 2,
                votes: vec![
                    Judgement {
                        vote: true,
                        index: 0,
                        signature: ByteArray([0; 64])
                    };
                    p.validators_super_majority()
                ]
                .into(),
            }],
            culprits: vec![Culprit {
                target: hash(8),
                key: hash(6),
                signature: ByteArray([1; 64]),
            }],
            faults: vec![],
        },
    };
    Block { header, extrinsic }
}

fn sample_package() -> WorkPackage {
    WorkPackage {
        auth_code_host: 5,
        auth_code_hash: hash(2),
        context: RefineContext {
            prerequisites: vec![hash(3)],
            ..RefineContext::default()
        },
        authorization: vec![1, 2, 3, 4].into(),
        authorizer_config: Bytes::default(),
        items: vec![
            sample_work_item(1, vec![0xaa; 70]),
            sample_work_item(2, vec![]),
        ]
        .into(),
    }
}

#[test]
fn well_formed_values_round_trip() {
    let block = sample_block();
    let bytes = block.encode();
    assert_eq!(decode::<Block>(&bytes, &TINY), Ok(block));
    let package = sample_package();
    let bytes = package.encode();
    assert_eq!(decode::<WorkPackage>(&bytes, &TINY), Ok(package));
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = sample_block().encode();
    for cut in 0..bytes.len() {
        assert!(
            decode::<Block>(&bytes[..cut], &TINY).is_err(),
            "block prefix {cut} decoded"
        );
    }
    let bytes = sample_package().encode();
    for cut in 0..bytes.len() {
        assert!(
            decode::<WorkPackage>(&bytes[..cut], &TINY).is_err(),
            "package prefix {cut}"
        );
    }
}

#[test]
fn trailing_garbage_is_reported() {
    let mut bytes = sample_block().encode();
    bytes.extend_from_slice(&[0xde, 0xad]);
    assert!(matches!(
        decode::<Block>(&bytes, &TINY),
        Err(DecodeError::TrailingBytes { remaining: 2, .. })
    ));
}

#[test]
fn block_under_the_wrong_parameters_is_rejected() {
    // The tiny block's epoch marker holds 6 validators; full expects 1023.
    let bytes = sample_block().encode();
    assert!(decode::<Block>(&bytes, &ProtocolParameters::FULL).is_err());
}

#[test]
fn oversized_collections_are_rejected() {
    // 17 work items where I = 16.
    let mut package = sample_package();
    package.items = vec![sample_work_item(0, vec![]); 17].into();
    let err = decode::<WorkPackage>(&package.encode(), &TINY).expect_err("17 items");
    assert!(err.to_string().contains("I (work items)"), "{err}");
    // A package without items.
    package.items = vec![].into();
    assert!(decode::<WorkPackage>(&package.encode(), &TINY).is_err());
    // Four tickets where K = 3 in tiny.
    let mut block = sample_block();
    block.extrinsic.tickets = vec![
        TicketEnvelope {
            attempt: 0,
            signature: ByteArray([0; 784])
        };
        4
    ]
    .into();
    assert!(decode::<Block>(&block.encode(), &TINY).is_err());
}

#[test]
fn huge_length_prefixes_fail_without_allocating() {
    // A payload claiming 2^32 - 1 octets, then nothing: must fail fast.
    let mut bytes = sample_package().encode();
    let header_len = 4 + 32 + RefineContext::default().encode().len() + 1; // up to prerequisites
    bytes.truncate(header_len + 32);
    Compact(u32::MAX).encode_to(&mut bytes);
    let start = std::time::Instant::now();
    assert!(decode::<WorkPackage>(&bytes, &TINY).is_err());
    assert!(start.elapsed() < std::time::Duration::from_secs(1));
    // Same for a block whose preimage blob claims to be enormous.
    let mut block = sample_block();
    block.extrinsic.preimages = vec![];
    let mut bytes = block.header.encode();
    bytes.extend(block.extrinsic.tickets.encode());
    Compact(1u32).encode_to(&mut bytes); // one preimage
    9u32.encode_to(&mut bytes);
    Compact(u32::MAX).encode_to(&mut bytes); // of 4 GiB
    assert!(decode::<Block>(&bytes, &TINY).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = decode::<Block>(&bytes, &TINY);
        let _ = decode::<Block>(&bytes, &ProtocolParameters::FULL);
        let _ = decode::<WorkPackage>(&bytes, &TINY);
        let _ = decode::<WorkReport>(&bytes, &TINY);
    }

    #[test]
    fn mutated_blocks_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = sample_block().encode();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Ok(block) = decode::<Block>(&bytes, &TINY) {
            // Whatever decodes, re-decodes from its own encoding to the same value.
            prop_assert_eq!(decode::<Block>(&block.encode(), &TINY), Ok(block));
        }
    }

    #[test]
    fn mutated_packages_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = sample_package().encode();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Ok(package) = decode::<WorkPackage>(&bytes, &TINY) {
            prop_assert_eq!(decode::<WorkPackage>(&package.encode(), &TINY), Ok(package));
        }
    }

    #[test]
    fn generated_packages_round_trip(
        host in any::<u32>(),
        auth in proptest::collection::vec(any::<u8>(), 0..300),
        items in proptest::collection::vec(
            (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..200), any::<u64>()),
            1..=16,
        ),
    ) {
        let package = WorkPackage {
            auth_code_host: host,
            authorization: auth.into(),
            items: items
                .into_iter()
                .map(|(seed, payload, gas)| WorkItem { refine_gas_limit: gas, ..sample_work_item(seed, payload) })
                .collect::<Vec<_>>()
                .into(),
            ..sample_package()
        };
        prop_assert_eq!(decode::<WorkPackage>(&package.encode(), &TINY), Ok(package));
    }
}
