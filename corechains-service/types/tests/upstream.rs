#![cfg(feature = "upstream-check")]
//! Byte-identity with Polkadot's own types: equal values encoded with
//! `polkadot-parachain-primitives` 24.0.0 and with this crate give the same
//! octets, and each decodes the other's.

use parajam_corechains_types as ours;
use parity_scale_codec::{Decode, Encode};
use polkadot_parachain_primitives::primitives as up;

/// Octet vectors of the lengths where the compact prefix changes form.
fn sizes() -> Vec<Vec<u8>> {
    [0, 1, 63, 64, 16_383, 16_384, 1 << 20]
        .into_iter()
        .map(|len| (0..len).map(|i: usize| i.to_le_bytes()[0] ^ 0xa5).collect())
        .collect()
}

#[test]
fn para_ids_and_octet_newtypes_are_byte_identical() {
    for id in [0, 1, 2000, u32::MAX] {
        assert_eq!(ours::ParaId(id).encode(), up::Id::from(id).encode());
        assert_eq!(
            parity_scale_codec::Compact(ours::ParaId(id)).encode(),
            parity_scale_codec::Compact(up::Id::from(id)).encode()
        );
    }
    for data in sizes() {
        let ours_head = ours::HeadData(data.clone()).encode();
        assert_eq!(ours_head, up::HeadData(data.clone()).encode());
        assert_eq!(
            up::HeadData::decode(&mut &ours_head[..]).expect("decodes"),
            up::HeadData(data.clone())
        );
        assert_eq!(
            ours::BlockData(data.clone()).encode(),
            up::BlockData(data.clone()).encode()
        );
        let code = up::ValidationCode(data.clone());
        assert_eq!(ours::ValidationCode(data.clone()).encode(), code.encode());
        // The code hash is the Blake2b-256 of the code, as 32 octets.
        let hash = code.hash();
        let mut octets = [0; 32];
        octets.copy_from_slice(hash.as_ref());
        assert_eq!(ours::ValidationCodeHash(octets).encode(), hash.encode());
    }
}

fn params_pair(
    head: &[u8],
    block: &[u8],
    number: u32,
    root: [u8; 32],
) -> (ours::ValidationParams, up::ValidationParams) {
    (
        ours::ValidationParams {
            parent_head: ours::HeadData(head.to_vec()),
            block_data: ours::BlockData(block.to_vec()),
            relay_parent_number: number,
            relay_parent_storage_root: root,
        },
        up::ValidationParams {
            parent_head: up::HeadData(head.to_vec()),
            block_data: up::BlockData(block.to_vec()),
            relay_parent_number: number,
            relay_parent_storage_root: root.into(),
        },
    )
}

#[test]
fn validation_params_are_byte_identical() {
    let sizes = sizes();
    for (head, block) in sizes.iter().zip(sizes.iter().rev()) {
        for (number, root) in [(0, [0; 32]), (u32::MAX, [0xff; 32]), (12_345, [7; 32])] {
            let (ours, up) = params_pair(head, block, number, root);
            let encoded = ours.encode();
            assert_eq!(encoded, up.encode());
            assert_eq!(
                up::ValidationParams::decode(&mut &encoded[..]).expect("decodes"),
                up
            );
            assert_eq!(
                ours::ValidationParams::decode(&mut &up.encode()[..]).expect("decodes"),
                ours
            );
        }
    }
}

fn result_pair(
    head: &[u8],
    code: Option<&[u8]>,
    ump: &[Vec<u8>],
    hrmp: &[(u32, Vec<u8>)],
    processed: u32,
    watermark: u32,
) -> (ours::ValidationResult, up::ValidationResult) {
    (
        ours::ValidationResult {
            head_data: ours::HeadData(head.to_vec()),
            new_validation_code: code.map(|c| ours::ValidationCode(c.to_vec())),
            upward_messages: ump.to_vec(),
            horizontal_messages: hrmp
                .iter()
                .map(|(recipient, data)| ours::OutboundHrmpMessage {
                    recipient: ours::ParaId(*recipient),
                    data: data.clone(),
                })
                .collect(),
            processed_downward_messages: processed,
            hrmp_watermark: watermark,
        },
        up::ValidationResult {
            head_data: up::HeadData(head.to_vec()),
            new_validation_code: code.map(|c| up::ValidationCode(c.to_vec())),
            upward_messages: ump.to_vec().try_into().expect("within the bound"),
            horizontal_messages: hrmp
                .iter()
                .map(
                    |(recipient, data)| polkadot_core_primitives::OutboundHrmpMessage {
                        recipient: up::Id::from(*recipient),
                        data: data.clone(),
                    },
                )
                .collect::<Vec<_>>()
                .try_into()
                .expect("within the bound"),
            processed_downward_messages: processed,
            hrmp_watermark: watermark,
        },
    )
}

#[test]
fn validation_results_are_byte_identical() {
    let sizes = sizes();
    let many_ump: Vec<Vec<u8>> = (0..100_u8).map(|i| vec![i; usize::from(i)]).collect();
    let many_hrmp: Vec<(u32, Vec<u8>)> = (0..70_u32).map(|i| (i, vec![0x42; i as usize])).collect();
    let cases = [
        result_pair(&[], None, &[], &[], 0, 0),
        result_pair(&[1, 2, 3], Some(&[]), &[vec![]], &[(2000, vec![])], 1, 2),
        result_pair(
            &sizes[6],
            Some(&sizes[5]),
            &many_ump,
            &many_hrmp,
            u32::MAX,
            u32::MAX,
        ),
        result_pair(
            &sizes[3],
            None,
            &[sizes[4].clone()],
            &[(u32::MAX, sizes[2].clone())],
            7,
            8,
        ),
    ];
    for (ours, up) in cases {
        let encoded = ours.encode();
        assert_eq!(encoded, up.encode());
        assert_eq!(
            up::ValidationResult::decode(&mut &encoded[..]).expect("decodes"),
            up
        );
        assert_eq!(
            ours::ValidationResult::decode(&mut &up.encode()[..]).expect("decodes"),
            ours
        );
    }
    // Both refuse one message over the bound.
    let over = ours::ValidationResult {
        head_data: ours::HeadData(vec![]),
        new_validation_code: None,
        upward_messages: vec![vec![]; 16 * 1024 + 1],
        horizontal_messages: vec![],
        processed_downward_messages: 0,
        hrmp_watermark: 0,
    };
    let encoded = over.encode();
    assert!(up::ValidationResult::decode(&mut &encoded[..]).is_err());
    assert!(ours::ValidationResult::decode(&mut &encoded[..]).is_err());
}

#[test]
fn the_params_extension_is_byte_identical() {
    let ours = ours::ValidationParamsExtension::V3 {
        relay_parent: [1; 32],
        scheduling_parent: [2; 32],
    };
    let up = up::ValidationParamsExtension::V3 {
        relay_parent: [1; 32].into(),
        scheduling_parent: [2; 32].into(),
    };
    assert_eq!(ours.encode(), up.encode());
}
