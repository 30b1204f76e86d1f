//! The SCALE encodings of the parachain types, derived by hand from the
//! upstream definitions (`polkadot-parachain-primitives` 24.0.0,
//! `polkadot/parachain/src/primitives.rs`, and `OutboundHrmpMessage` of
//! `polkadot-core-primitives` 25.0.0):
//!
//! - `Id(u32)`: the `u32` in four little-endian octets;
//! - `HeadData(Vec<u8>)`, `ValidationCode(Vec<u8>)`, `BlockData(Vec<u8>)`:
//!   compact length, then the octets;
//! - `ValidationCodeHash(H256)`: the 32 octets;
//! - structs: their fields in declaration order; `Option`: `00`, or `01`
//!   and the value; `BoundedVec`: as `Vec` (compact length, then the items).
//!
//! `upstream.rs` checks such values against the upstream crate itself
//! (`--features upstream-check`).

use parajam_corechains_types::state::{
    HrmpChannelId, InboundDownwardMessage, InboundHrmpMessage, OutboxId, PendingUpgrade,
    RemoteChannel, StorageKey,
};
use parajam_corechains_types::{
    pack_ptr_and_len, unpack_ptr_and_len, BlockData, CandidateOutput, HeadData,
    OutboundHrmpMessage, ParaId, ParachainCandidate, ValidationCode, ValidationCodeHash,
    ValidationParams, ValidationParamsExtension, ValidationResult, MAX_HORIZONTAL_MESSAGE_NUM,
    MAX_UPWARD_MESSAGE_NUM,
};
use parity_scale_codec::{Compact, Decode, Encode};

/// SCALE's compact encoding of a length, written out from the spec.
fn compact(n: usize) -> Vec<u8> {
    let n = u64::try_from(n).expect("a length fits in u64");
    if n < 1 << 6 {
        vec![u8::try_from(n << 2).expect("< 256")]
    } else if n < 1 << 14 {
        u16::try_from((n << 2) | 1)
            .expect("< 2^16")
            .to_le_bytes()
            .to_vec()
    } else if n < 1 << 30 {
        u32::try_from((n << 2) | 2)
            .expect("< 2^32")
            .to_le_bytes()
            .to_vec()
    } else {
        let bytes = n.to_le_bytes();
        let len = 8 - bytes.iter().rev().take_while(|&&b| b == 0).count();
        let mut out = vec![u8::try_from(((len - 4) << 2) | 3).expect("small")];
        out.extend_from_slice(&bytes[..len]);
        out
    }
}

fn vec_bytes(data: &[u8]) -> Vec<u8> {
    let mut out = compact(data.len());
    out.extend_from_slice(data);
    out
}

fn assert_round_trip<T: Encode + Decode + PartialEq + std::fmt::Debug>(value: &T, expected: &[u8]) {
    assert_eq!(value.encode(), expected, "{value:?}");
    assert_eq!(&T::decode(&mut &expected[..]).expect("decodes"), value);
}

/// Octet vectors of the lengths where the compact prefix changes form.
fn sizes() -> Vec<Vec<u8>> {
    [0, 1, 63, 64, 100, 16_383, 16_384, 70_000, 1 << 20]
        .into_iter()
        .map(|len| (0..len).map(|i: usize| i.to_le_bytes()[0] ^ 0x5a).collect())
        .collect()
}

#[test]
fn compact_lengths_have_their_spec_form() {
    assert_eq!(compact(0), [0]);
    assert_eq!(compact(63), [0xfc]);
    assert_eq!(compact(64), [0x01, 0x01]);
    assert_eq!(compact(16_383), [0xfd, 0xff]);
    assert_eq!(compact(16_384), [0x02, 0x00, 0x01, 0x00]);
    assert_eq!(compact(1 << 30), [0x03, 0x00, 0x00, 0x00, 0x40]);
    for n in [
        0_u32,
        1,
        63,
        64,
        16_383,
        16_384,
        (1 << 30) - 1,
        1 << 30,
        u32::MAX,
    ] {
        assert_eq!(Compact(n).encode(), compact(n as usize), "{n}");
    }
}

#[test]
fn para_id_is_four_octets_or_compact() {
    assert_round_trip(&ParaId(0), &[0, 0, 0, 0]);
    assert_round_trip(&ParaId(2000), &[0xd0, 0x07, 0, 0]);
    assert_round_trip(&ParaId(u32::MAX), &[0xff; 4]);
    assert_eq!(Compact(ParaId(2000)).encode(), compact(2000));
    assert_eq!(Compact(ParaId(1)).encode(), [4]);
    assert_eq!(u32::from(ParaId::from(7)), 7);
    assert_eq!(ParaId::new(9), ParaId(9));
}

#[test]
fn octet_newtypes_are_compact_length_and_octets() {
    for data in sizes() {
        let expected = vec_bytes(&data);
        assert_round_trip(&HeadData(data.clone()), &expected);
        assert_round_trip(&BlockData(data.clone()), &expected);
        assert_round_trip(&ValidationCode(data.clone()), &expected);
    }
    assert_round_trip(&ValidationCodeHash([0xab; 32]), &[0xab; 32]);
    assert_round_trip(&ValidationCodeHash::from([0; 32]), &[0; 32]);
}

#[test]
fn validation_params_are_their_four_fields_in_order() {
    let params = ValidationParams {
        parent_head: HeadData(vec![1, 2, 3]),
        block_data: BlockData(vec![]),
        relay_parent_number: 0x1122_3344,
        relay_parent_storage_root: [0xab; 32],
    };
    let mut expected = vec![0x0c, 1, 2, 3, 0x00, 0x44, 0x33, 0x22, 0x11];
    expected.extend_from_slice(&[0xab; 32]);
    assert_round_trip(&params, &expected);

    for (head, block) in sizes().iter().zip(sizes().iter().rev()) {
        let params = ValidationParams {
            parent_head: HeadData(head.clone()),
            block_data: BlockData(block.clone()),
            relay_parent_number: u32::MAX,
            relay_parent_storage_root: [0x11; 32],
        };
        let mut expected = vec_bytes(head);
        expected.extend(vec_bytes(block));
        expected.extend(u32::MAX.to_le_bytes());
        expected.extend([0x11; 32]);
        assert_round_trip(&params, &expected);
    }
}

#[test]
fn the_v3_params_extension_is_index_three_and_two_hashes() {
    let extension = ValidationParamsExtension::V3 {
        relay_parent: [1; 32],
        scheduling_parent: [2; 32],
    };
    let mut expected = vec![3];
    expected.extend([1; 32]);
    expected.extend([2; 32]);
    assert_round_trip(&extension, &expected);
    assert!(ValidationParamsExtension::decode(&mut &[0; 65][..]).is_err());
}

#[test]
fn validation_results_are_their_six_fields_in_order() {
    let empty = ValidationResult {
        head_data: HeadData(vec![]),
        new_validation_code: None,
        upward_messages: vec![],
        horizontal_messages: vec![],
        processed_downward_messages: 0,
        hrmp_watermark: 0,
    };
    assert_round_trip(&empty, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

    let full = ValidationResult {
        head_data: HeadData(vec![9]),
        new_validation_code: Some(ValidationCode(vec![0xc0, 0xde])),
        upward_messages: vec![vec![1], vec![2, 3]],
        horizontal_messages: vec![OutboundHrmpMessage {
            recipient: ParaId(2000),
            data: vec![4],
        }],
        processed_downward_messages: 5,
        hrmp_watermark: 6,
    };
    let expected = [
        0x04, 0x09, // head_data
        0x01, 0x08, 0xc0, 0xde, // Some(code)
        0x08, 0x04, 0x01, 0x08, 0x02, 0x03, // two upward messages
        0x04, 0xd0, 0x07, 0x00, 0x00, 0x04, 0x04, // one HRMP message to 2000
        0x05, 0x00, 0x00, 0x00, // processed_downward_messages
        0x06, 0x00, 0x00, 0x00, // hrmp_watermark
    ];
    assert_round_trip(&full, &expected);

    let big = ValidationResult {
        head_data: HeadData(vec![0x77; 70_000]),
        new_validation_code: Some(ValidationCode(vec![0x88; 1 << 20])),
        upward_messages: vec![vec![0x99; 64]; 100],
        horizontal_messages: (0..70)
            .map(|i| OutboundHrmpMessage {
                recipient: ParaId(i),
                data: vec![0xaa; usize::try_from(i).expect("small")],
            })
            .collect(),
        processed_downward_messages: u32::MAX,
        hrmp_watermark: u32::MAX - 1,
    };
    let mut expected = vec_bytes(&vec![0x77; 70_000]);
    expected.push(1);
    expected.extend(vec_bytes(&vec![0x88; 1 << 20]));
    expected.extend(compact(100));
    for _ in 0..100 {
        expected.extend(vec_bytes(&[0x99; 64]));
    }
    expected.extend(compact(70));
    for i in 0..70_u32 {
        expected.extend(i.to_le_bytes());
        expected.extend(vec_bytes(&vec![0xaa; i as usize]));
    }
    expected.extend(u32::MAX.to_le_bytes());
    expected.extend((u32::MAX - 1).to_le_bytes());
    assert_round_trip(&big, &expected);
}

#[test]
fn message_lists_over_the_upstream_bound_do_not_decode() {
    let result = |ump: usize, hrmp: usize| {
        let mut bytes = vec![0, 0];
        bytes.extend(compact(ump));
        bytes.extend(vec![0; ump]); // empty messages
        bytes.extend(compact(hrmp));
        for _ in 0..hrmp {
            bytes.extend([1, 0, 0, 0, 0]);
        }
        bytes.extend([0; 8]);
        bytes
    };
    let max_ump = MAX_UPWARD_MESSAGE_NUM as usize;
    let max_hrmp = MAX_HORIZONTAL_MESSAGE_NUM as usize;
    let ok = ValidationResult::decode(&mut &result(max_ump, max_hrmp)[..]).expect("at the bound");
    assert_eq!(ok.upward_messages.len(), max_ump);
    assert_eq!(ok.horizontal_messages.len(), max_hrmp);
    assert!(ValidationResult::decode(&mut &result(max_ump + 1, 0)[..]).is_err());
    assert!(ValidationResult::decode(&mut &result(0, max_hrmp + 1)[..]).is_err());
    // A huge claimed count is refused before anything is allocated for it.
    let mut huge = vec![0, 0];
    huge.extend(compact(u32::MAX as usize));
    assert!(ValidationResult::decode(&mut &huge[..]).is_err());
}

#[test]
fn candidate_and_output_are_their_fields_in_order() {
    let candidate = ParachainCandidate {
        para_id: ParaId(2000),
        parent_head: HeadData(vec![1, 2]),
        validation_code_hash: ValidationCodeHash([3; 32]),
        anchor: [4; 32],
        relay_parent_number: 5,
        relay_parent_storage_root: [6; 32],
        block_data_hash: [7; 32],
    };
    let mut expected = vec![0xd0, 0x07, 0, 0, 0x08, 1, 2];
    expected.extend([3; 32]);
    expected.extend([4; 32]);
    expected.extend([5, 0, 0, 0]);
    expected.extend([6; 32]);
    expected.extend([7; 32]);
    assert_round_trip(&candidate, &expected);
    let params = candidate.validation_params(BlockData(vec![8]));
    assert_eq!(params.parent_head, candidate.parent_head);
    assert_eq!(params.block_data, BlockData(vec![8]));
    assert_eq!(params.relay_parent_number, 5);
    assert_eq!(params.relay_parent_storage_root, [6; 32]);

    let result = ValidationResult {
        head_data: HeadData(vec![11]),
        new_validation_code: Some(ValidationCode(vec![13; 3])),
        upward_messages: vec![vec![14]],
        horizontal_messages: vec![],
        processed_downward_messages: 15,
        hrmp_watermark: 12,
    };
    let fake_hash = |data: &[u8]| [u8::try_from(data.len()).expect("test value"); 32];
    let output = CandidateOutput::new(&candidate, result, fake_hash, &[0; 9]).expect("test value");
    let mut expected = vec![0xd0, 0x07, 0, 0];
    expected.extend([2; 32]); // the parent head's "hash": its length
    expected.extend([3; 32]); // the candidate's code hash
    expected.extend([9; 32]); // the raw result's
    expected.extend([4, 11]); // head_data
    expected.extend([1]); // Some(NewCode)
    expected.extend([3; 32]);
    expected.extend([3, 0, 0, 0]);
    expected.extend([4, 4, 14]); // [[14]]
    expected.extend([0]); // []
    expected.extend([15, 0, 0, 0, 12, 0, 0, 0]);
    expected.extend([5, 0, 0, 0]); // the candidate's relay parent
    expected.extend([6; 32]); // and its storage root
    assert_round_trip(&output, &expected);
}

#[test]
fn storage_keys_are_a_prefix_octet_and_para_ids() {
    let p = ParaId(2000);
    let id = [0xd0, 0x07, 0, 0];
    let c = HrmpChannelId {
        sender: p,
        recipient: ParaId(2001),
    };
    let id2 = [0xd1, 0x07, 0, 0];
    let cases = [
        (StorageKey::Paras, vec![0]),
        (StorageKey::Head(p), [&[1][..], &id].concat()),
        (StorageKey::Code(p), [&[2][..], &id].concat()),
        (StorageKey::PendingUpgrade(p), [&[3][..], &id].concat()),
        (StorageKey::UpwardQueue(p), [&[4][..], &id].concat()),
        (StorageKey::DownwardQueue(p), [&[6][..], &id].concat()),
        (StorageKey::Config, vec![7]),
        (StorageKey::HrmpChannel(c), [&[9][..], &id, &id2].concat()),
        (
            StorageKey::HrmpChannelContents(c),
            [&[10][..], &id, &id2].concat(),
        ),
        (StorageKey::HrmpIngress(p), [&[11][..], &id].concat()),
        (StorageKey::HrmpEgress(p), [&[12][..], &id].concat()),
        (StorageKey::HrmpWatermark(p), [&[13][..], &id].concat()),
        (StorageKey::DmqMqcHead(p), [&[14][..], &id].concat()),
        (
            StorageKey::HrmpOpenRequest(c),
            [&[15][..], &id, &id2].concat(),
        ),
        (
            StorageKey::HrmpOpenRequestCount(p),
            [&[16][..], &id].concat(),
        ),
        (
            StorageKey::HrmpCloseRequest(c),
            [&[17][..], &id, &id2].concat(),
        ),
        (StorageKey::UpwardRefused(p), [&[18][..], &id].concat()),
        (
            StorageKey::UpwardRefusedDropped(p),
            [&[19][..], &id].concat(),
        ),
        (StorageKey::RemoteRoute(p), [&[20][..], &id].concat()),
        (
            StorageKey::Outbox(OutboxId {
                service: 0x0403_0201,
                channel: c,
                sequence: 0x0102,
            }),
            [&[21, 1, 2, 3, 4][..], &id, &id2, &[2, 1, 0, 0, 0, 0, 0, 0]].concat(),
        ),
        (
            StorageKey::RemoteInbound(RemoteChannel {
                service: 9,
                channel: c,
            }),
            [&[22, 9, 0, 0, 0][..], &id, &id2].concat(),
        ),
        (
            StorageKey::RemoteOutbound(c),
            [&[23][..], &id, &id2].concat(),
        ),
        (StorageKey::SovereignBalance(p), [&[24][..], &id].concat()),
        (StorageKey::ValueSequence, vec![25]),
        (StorageKey::OutboxPruned(c), [&[26][..], &id, &id2].concat()),
        (StorageKey::ControlSequence, vec![27]),
    ];
    for (key, octets) in cases {
        assert_eq!(key.to_key(), octets, "{key:?}");
        assert_eq!(StorageKey::from_key(&octets), Some(key));
        let mut longer = octets.clone();
        longer.push(0);
        assert_eq!(StorageKey::from_key(&longer), None);
        assert_eq!(StorageKey::from_key(&octets[..octets.len() - 1]), None);
    }
    assert_eq!(StorageKey::from_key(&[7, 0, 0, 0, 0]), None);
    // The retired key of the per-recipient HRMP queue.
    assert_eq!(StorageKey::from_key(&[5, 0xd0, 0x07, 0, 0]), None);
}

#[test]
fn state_values_are_their_fields_in_order() {
    let upgrade = PendingUpgrade {
        code_hash: ValidationCodeHash([1; 32]),
        code_len: 0x0102,
        enact_at: 7,
    };
    let mut expected = vec![1; 32];
    expected.extend([2, 1, 0, 0, 7, 0, 0, 0]);
    assert_round_trip(&upgrade, &expected);
    assert_round_trip(
        &InboundHrmpMessage {
            sent_at: 4,
            data: vec![5, 6],
        },
        &[4, 0, 0, 0, 8, 5, 6],
    );
    assert_round_trip(
        &vec![InboundDownwardMessage {
            sent_at: 1,
            msg: vec![2],
        }],
        &[4, 1, 0, 0, 0, 4, 2],
    );
    assert_round_trip(
        &vec![ParaId(1), ParaId(2000)],
        &[8, 1, 0, 0, 0, 0xd0, 7, 0, 0],
    );
}

#[test]
fn packed_return_values_put_the_pointer_low_and_the_length_high() {
    assert_eq!(pack_ptr_and_len(0x1000, 85), 0x0000_0055_0000_1000);
    assert_eq!(unpack_ptr_and_len(0x0000_0055_0000_1000), (0x1000, 85));
    assert_eq!(
        unpack_ptr_and_len(pack_ptr_and_len(u32::MAX, u32::MAX)),
        (u32::MAX, u32::MAX)
    );
}
