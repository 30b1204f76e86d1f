//! The adder's logic, natively: Keccak-256 against `sha3`, the zero-copy
//! SCALE reader and writer against parity-scale-codec, and `validate_block`
//! against the shared `ValidationParams` / `ValidationResult` types.

extern crate std;

use std::vec;
use std::vec::Vec;

use parajam_corechains_types as types;
use parity_scale_codec::{Compact, Decode, Encode};
use sha3::{Digest, Keccak256};

use super::*;

fn params(parent: &[u8], block: &[u8], relay_parent_number: u32) -> Vec<u8> {
    types::ValidationParams {
        parent_head: types::HeadData(parent.to_vec()),
        block_data: types::BlockData(block.to_vec()),
        relay_parent_number,
        relay_parent_storage_root: [7; 32],
    }
    .encode()
}

#[test]
fn keccak256_matches_sha3_across_block_boundaries() {
    assert_eq!(
        keccak256(b""),
        *b"\xc5\xd2\x46\x01\x86\xf7\x23\x3c\x92\x7e\x7d\xb2\xdc\xc7\x03\xc0\
           \xe5\x00\xb6\x53\xca\x82\x27\x3b\x7b\xfa\xd8\x04\x5d\x85\xa4\x70"
    );
    let data: Vec<u8> = (0..1000_u32)
        .map(|i| (i * 31 + 7).to_le_bytes()[0])
        .collect();
    for len in (0..300).chain([407, 408, 409, 544, 1000]) {
        let expected: [u8; 32] = Keccak256::digest(&data[..len]).into();
        assert_eq!(keccak256(&data[..len]), expected, "length {len}");
    }
}

#[test]
fn compact_reader_agrees_with_parity_scale_codec() {
    for value in [
        0,
        1,
        63,
        64,
        72,
        16_383,
        16_384,
        (1 << 30) - 1,
        1 << 30,
        u32::MAX,
    ] {
        let encoded = Compact(value).encode();
        let mut reader = scale::Reader::new(&encoded);
        assert_eq!(reader.compact_u32(), Some(value), "{value}");
        assert_eq!(reader.array::<0>(), Some([]));
    }
    // Non-canonical forms: parity-scale-codec refuses them, and so does the adder.
    for bytes in [
        &[0b01, 0][..],          // 0 in the two-octet mode
        &[0b10, 0, 0, 0],        // 0 in the four-octet mode
        &[0b11, 0, 0, 0, 0],     // 0 in big-integer mode
        &[0b111, 0, 0, 0, 0, 1], // a five-octet u32
        &[0b01],                 // truncated
    ] {
        assert!(
            Compact::<u32>::decode(&mut &bytes[..]).is_err(),
            "{bytes:?}"
        );
        assert_eq!(scale::Reader::new(bytes).compact_u32(), None, "{bytes:?}");
    }
}

#[test]
fn heads_and_blocks_encode_as_scale_structs() {
    let head = HeadData {
        number: 0x0102_0304_0506_0708,
        parent_hash: [0xaa; 32],
        post_state: [0x55; 32],
    };
    let expected = (head.number, head.parent_hash, head.post_state).encode();
    assert_eq!(head.encode().to_vec(), expected);
    assert_eq!(HeadData::decode(&expected), Ok(head));
    assert_eq!(HeadData::decode(&expected[..71]), Err(Error::BadParentHead));

    let block = BlockData {
        state: 5,
        add: u64::MAX,
    };
    assert_eq!(block.encode().to_vec(), (5_u64, u64::MAX).encode());
    assert_eq!(BlockData::decode(&block.encode()), Ok(block));
    assert_eq!(BlockData::decode(&[0; 15]), Err(Error::BadBlockData));
    assert_eq!(hash_state(9), keccak256(&9_u64.encode()));
}

#[test]
fn ten_blocks_chain_and_each_result_is_the_expected_validation_result() {
    let mut last = HeadData::genesis(0);
    for (i, sample) in sample_chain().enumerate() {
        let (parent, block, head) = (sample.parent, sample.block, sample.head);
        assert_eq!(parent, last, "each block is on the one before");
        let relay_parent_number = 100 + u32::try_from(i).expect("small");
        let input = params(&parent.encode(), &block.encode(), relay_parent_number);
        let output = validate_block(&input).expect("a valid block");

        assert_eq!(head.number, parent.number + 1);
        assert_eq!(head.parent_hash, parent.hash());
        assert_eq!(
            head.post_state,
            hash_state(block.state.wrapping_add(block.add))
        );
        let expected = types::ValidationResult {
            head_data: types::HeadData(head.encode().to_vec()),
            new_validation_code: None,
            upward_messages: vec![],
            horizontal_messages: vec![],
            processed_downward_messages: 0,
            hrmp_watermark: relay_parent_number,
        };
        assert_eq!(output.to_vec(), expected.encode(), "block {}", i + 1);
        assert_eq!(
            types::ValidationResult::decode(&mut &output[..]).expect("decodes"),
            expected
        );
        assert_eq!(encode_result(&head, relay_parent_number), output);
        last = head;
    }
    assert_eq!(last.number, 10);
}

#[test]
fn params_may_carry_trailing_octets() {
    let parent = HeadData::genesis(3);
    let mut input = params(
        &parent.encode(),
        &BlockData { state: 3, add: 4 }.encode(),
        1,
    );
    let plain = validate_block(&input);
    // A V3 `ValidationParamsExtension` (index 3, two hashes) after the fields.
    input.push(3);
    input.extend_from_slice(&[1; 64]);
    assert!(plain.is_ok());
    assert_eq!(validate_block(&input), plain);
    // Trailing octets in the block data are not looked at either (SCALE `decode`).
    let mut block = BlockData { state: 3, add: 4 }.encode().to_vec();
    block.push(9);
    assert_eq!(validate_block(&params(&parent.encode(), &block, 1)), plain);
}

#[test]
fn invalid_blocks_are_refused_with_their_reason() {
    let parent = HeadData::genesis(10);
    let good = BlockData { state: 10, add: 1 }.encode();
    let wrong_state = BlockData { state: 11, add: 1 }.encode();
    assert_eq!(
        validate_block(&params(&parent.encode(), &wrong_state, 1)),
        Err(Error::StateMismatch)
    );
    assert_eq!(
        validate_block(&params(&parent.encode()[..71], &good, 1)),
        Err(Error::BadParentHead)
    );
    let mut long_head = parent.encode().to_vec();
    long_head.push(0);
    assert_eq!(
        validate_block(&params(&long_head, &good, 1)),
        Err(Error::BadParentHead)
    );
    assert_eq!(
        validate_block(&params(&parent.encode(), &good[..15], 1)),
        Err(Error::BadBlockData)
    );
    let input = params(&parent.encode(), &good, 1);
    for len in 0..input.len() {
        assert_eq!(
            validate_block(&input[..len]),
            Err(Error::BadParams),
            "{len}"
        );
    }
    let last = HeadData {
        number: u64::MAX,
        ..parent
    };
    assert_eq!(
        validate_block(&params(&last.encode(), &good, 1)),
        Err(Error::NumberOverflow)
    );
    assert!(std::format!("{}", Error::StateMismatch).contains("post-state"));
}

#[test]
fn result_len_is_the_encoded_length() {
    let head = HeadData::genesis(0);
    let expected = types::ValidationResult {
        head_data: types::HeadData(head.encode().to_vec()),
        new_validation_code: None,
        upward_messages: vec![],
        horizontal_messages: vec![],
        processed_downward_messages: 0,
        hrmp_watermark: u32::MAX,
    };
    assert_eq!(expected.encode().len(), RESULT_LEN);
    assert_eq!(RESULT_LEN, 85);
}
