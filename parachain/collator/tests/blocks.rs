//! Genesis, blocks with signed transfers and their PoVs on runtime/parachain
//! (a real cumulus runtime), the PoVs checked by the runtime's own
//! `validate_block` as a relay-chain validator runs it.

mod common;

use common::{account, parachain_wasm, Validator, PARA_ID, UNIT};
use cumulus_primitives_core::ParachainBlockData;
use parajam_collator::{
    block::OpaqueBlock, dev_pair, BlockRequest, BuiltBlock, Collator, CollatorOptions, Header,
    ParaState, RelayStateConfig,
};
use parity_scale_codec::{Decode, Encode};
use polkadot_parachain_primitives::primitives::{HeadData, ValidationParams};
use sp_core::{storage::StateVersion, Pair as _};
use sp_runtime::{
    generic::DigestItem,
    traits::{BlakeTwo256, Hash as _},
};

/// The relay slot of para block `n` (a fresh relay slot for each block).
const FIRST_RELAY_SLOT: u64 = 300_000_000;

/// A block on `parent` at relay parent `100 + n` and relay slot
/// `FIRST_RELAY_SLOT + n`, with the parent as the included head.
fn request(parent: &ParaState, extrinsics: Vec<Vec<u8>>) -> BlockRequest {
    let n = u64::from(parent.number()) + 1;
    let relay = RelayStateConfig::new(PARA_ID, FIRST_RELAY_SLOT + n, Some(parent.head()));
    BlockRequest::new(100 + parent.number() + 1, relay.entries()).with_extrinsics(extrinsics)
}

/// Genesis of the `development` preset: a head whose state root is the
/// root of the genesis storage. Takes ~35 s on 2 busy cores (sc-executor compiles the wasm).
#[test]
fn slow_genesis_of_the_development_preset() {
    let wasm = parachain_wasm();
    let collator = Collator::new(&wasm, &CollatorOptions::default()).expect("collator");
    let genesis = collator.genesis();
    let header = Header::decode(&mut genesis.head().as_slice()).expect("the head is a header");
    assert_eq!(header.number, 0);
    assert_eq!(header.parent_hash, sp_core::H256::zero());
    assert!(header.digest.logs.is_empty());
    let pairs = genesis.pairs().expect("state");
    assert_eq!(
        header.state_root,
        BlakeTwo256::trie_root(pairs.clone(), StateVersion::V1),
        "the head's state root is the root of the genesis storage"
    );
    assert_eq!(header.state_root, genesis.state_root());
    assert_eq!(
        BlakeTwo256::hash(&genesis.head()),
        collator.genesis_hash(),
        "the genesis hash is the head's hash"
    );
    let code = pairs
        .iter()
        .find(|(k, _)| k.as_slice() == b":code")
        .map(|(_, v)| v.clone());
    assert_eq!(
        code.as_deref(),
        Some(wasm.as_slice()),
        ":code is the runtime"
    );
    // The dev accounts are endowed, with nonce 0.
    let alice = dev_pair("Alice").expect("key");
    assert_eq!(account(genesis, &alice.public().0), (0, 1_000_000 * UNIT));
    // The transaction extensions of runtime/parachain, as the metadata says.
    let names: Vec<_> = collator
        .tx_format()
        .extensions
        .iter()
        .map(|e| e.identifier.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "CheckNonZeroSender",
            "CheckSpecVersion",
            "CheckTxVersion",
            "CheckGenesis",
            "CheckMortality",
            "CheckNonce",
            "CheckWeight",
            "ChargeTransactionPayment",
            "WeightReclaim"
        ]
    );
}

/// Three blocks in a row with signed transfers (Alice→Bob, Bob→Charlie):
/// balances move, nonces increase, each block builds on the previous head
/// and each PoV validates on the runtime's `validate_block`. Takes ~1 min
/// (the wasm is compiled twice: for building and as a PVF).
#[test]
fn slow_three_blocks_of_transfers_validate() {
    let wasm = parachain_wasm();
    let collator = Collator::new(&wasm, &CollatorOptions::default()).expect("collator");
    let validator = Validator::new(&wasm);
    let [alice, bob, charlie] =
        ["Alice", "Bob", "Charlie"].map(|n| dev_pair(n).expect("key").public().0);
    let (alice_key, bob_key) = (
        dev_pair("Alice").expect("key"),
        dev_pair("Bob").expect("key"),
    );

    let mut parent = collator.genesis().clone();
    for n in 1..=3u32 {
        let before = [alice, bob, charlie].map(|a| account(&parent, &a));
        let mut extrinsics = vec![collator
            .transfer(
                &parent,
                &alice_key,
                &bob,
                10 * UNIT,
                collator.account_nonce(&parent, &alice).expect("nonce"),
            )
            .expect("transfer")];
        if n > 1 {
            extrinsics.push(
                collator
                    .transfer(
                        &parent,
                        &bob_key,
                        &charlie,
                        3 * UNIT,
                        collator.account_nonce(&parent, &bob).expect("nonce"),
                    )
                    .expect("transfer"),
            );
        }
        let count = extrinsics.len();
        let block = collator
            .build_block(&parent, &request(&parent, extrinsics))
            .expect("block builds");
        assert!(block.failed_dispatches.is_empty(), "the transfers dispatch");
        assert_eq!(block.report.extrinsics, block.report.inherents + count);

        let header = Header::decode(&mut block.head.as_slice()).expect("head");
        assert_eq!(header.number, n);
        assert_eq!(
            header.parent_hash,
            parent.hash(),
            "builds on the previous head"
        );
        assert_eq!(block.parent_head, parent.head());
        assert_eq!(header.state_root, block.state.state_root());

        let after = [alice, bob, charlie].map(|a| account(&block.state, &a));
        let sent_by_bob = if n > 1 { 3 * UNIT } else { 0 };
        // Alice pays 10 units and a fee (under a unit).
        assert_eq!(after[0].0, before[0].0 + 1, "Alice's nonce");
        assert!(before[0].1 - after[0].1 > 10 * UNIT && before[0].1 - after[0].1 < 11 * UNIT);
        // Bob gets 10, sends 3 and pays a fee.
        assert_eq!(after[1].0, before[1].0 + u32::from(n > 1), "Bob's nonce");
        let bob_gain = 10 * UNIT - sent_by_bob;
        assert!(after[1].1 <= before[1].1 + bob_gain && after[1].1 + UNIT > before[1].1 + bob_gain);
        // Charlie gets exactly 3.
        assert_eq!(
            after[2],
            (before[2].0, before[2].1 + sent_by_bob),
            "Charlie"
        );

        validator.check(&block);
        eprintln!(
            "block {n}: {} extrinsics, PoV {} octets (proof {}), built in {:?}, proved in {:?}",
            block.report.extrinsics,
            block.report.pov_size,
            block.report.proof_size,
            block.report.build_time,
            block.report.proof_time
        );
        parent = block.state;
    }
    assert_eq!(account(&parent, &alice).0, 3);
    assert_eq!(account(&parent, &bob).0, 2);
}

/// The wasm functions of a trap's backtrace, innermost first (the runtime
/// keeps its name section).
fn trap_frames(error: &str) -> Vec<String> {
    error
        .split("\\n")
        .filter_map(|line| line.split_once(".wasm!").map(|(_, name)| name))
        .map(|name| {
            // Crate hashes (`[0123abcd]`) out.
            let mut out = String::new();
            let mut in_hash = false;
            for c in name.chars() {
                match c {
                    '[' => in_hash = true,
                    ']' => in_hash = false,
                    _ if !in_hash => out.push(c),
                    _ => {}
                }
            }
            out
        })
        .collect()
}

/// Asserts that `validate_block` fails on `params`, trapping in a function
/// whose name contains `expected`.
fn rejected(validator: &Validator, params: &ValidationParams, what: &str, expected: &str) {
    match validator.validate(params) {
        Ok(result) => panic!("{what}: validated, head {:?}", result.head_data),
        Err(e) => {
            let frames = trap_frames(&e);
            let short: Vec<String> = frames
                .iter()
                .map(|f| f.chars().take(70).collect())
                .collect();
            eprintln!("{what}: rejected in {short:?}");
            assert!(
                frames.iter().any(|f| f.contains(expected)),
                "{what}: rejected, but not in `{expected}`: {e}"
            );
        }
    }
}

/// Re-encodes `block`'s PoV after `tamper` changed it.
fn tampered(
    block: &BuiltBlock,
    tamper: impl FnOnce(&mut Vec<OpaqueBlock>, &mut Vec<Vec<u8>>),
) -> Vec<u8> {
    let data =
        ParachainBlockData::<OpaqueBlock>::decode(&mut block.pov.as_slice()).expect("PoV decodes");
    let (mut blocks, proof) = data.into_inner();
    let mut nodes = proof.encoded_nodes;
    tamper(&mut blocks, &mut nodes);
    ParachainBlockData::new(
        blocks,
        sp_trie::CompactProof {
            encoded_nodes: nodes,
        },
        None,
    )
    .encode()
}

/// A PoV with a broken proof, a bad seal or the wrong parent head fails
/// validation (and the untouched one passes). Takes ~1 min.
#[test]
fn slow_tampered_povs_fail_validation() {
    let wasm = parachain_wasm();
    let collator = Collator::new(&wasm, &CollatorOptions::default()).expect("collator");
    let validator = Validator::new(&wasm);
    let alice_key = dev_pair("Alice").expect("key");
    let bob = dev_pair("Bob").expect("key").public().0;
    let genesis = collator.genesis();
    let transfer = collator
        .transfer(genesis, &alice_key, &bob, UNIT, 0)
        .expect("transfer");
    let block = collator
        .build_block(genesis, &request(genesis, vec![transfer]))
        .expect("block builds");
    validator.check(&block);
    let params = block.validation_params();

    // A proof node missing.
    let mut broken = params.clone();
    broken.block_data.0 = tampered(&block, |_, nodes| {
        nodes.remove(nodes.len() / 2);
    });
    rejected(
        &validator,
        &broken,
        "a proof with a node missing",
        "validate_block",
    );

    // A proof node altered.
    let mut altered = params.clone();
    altered.block_data.0 = tampered(&block, |_, nodes| {
        let node = nodes.iter_mut().max_by_key(|n| n.len()).expect("nodes");
        let last = node.len() - 1;
        node[last] ^= 1;
    });
    rejected(
        &validator,
        &altered,
        "a proof with a node altered",
        "validate_block",
    );

    // The seal signed by someone else (Bob is no authority).
    let mut bad_seal = params.clone();
    let bob_key = dev_pair("Bob").expect("key");
    bad_seal.block_data.0 = tampered(&block, |blocks, _| {
        let header = &mut blocks[0].header;
        let seal = header.digest.logs.pop().expect("sealed");
        assert!(matches!(seal, DigestItem::Seal(id, _) if id == *b"aura"));
        let signature = bob_key.sign(header.hash().as_bytes());
        header
            .digest
            .push(DigestItem::Seal(*b"aura", signature.0.to_vec()));
    });
    rejected(
        &validator,
        &bad_seal,
        "a seal by a non-authority",
        "aura_ext",
    );

    // No seal at all.
    let mut no_seal = params.clone();
    no_seal.block_data.0 = tampered(&block, |blocks, _| {
        blocks[0].header.digest.logs.pop();
    });
    rejected(&validator, &no_seal, "an unsealed block", "aura_ext");

    // The wrong parent head (another header than the block's parent).
    let mut wrong_parent = params.clone();
    let mut other = genesis.header().clone();
    other.state_root = sp_core::H256::repeat_byte(1);
    wrong_parent.parent_head = HeadData(other.encode());
    rejected(
        &validator,
        &wrong_parent,
        "a wrong parent head",
        "validate_block",
    );

    // The wrong relay parent storage root.
    let mut wrong_relay = params.clone();
    wrong_relay.relay_parent_storage_root = sp_core::H256::repeat_byte(2);
    rejected(
        &validator,
        &wrong_relay,
        "a wrong relay parent root",
        "validate_validation_data",
    );

    assert!(
        validator.validate(&params).is_ok(),
        "the untouched PoV still validates"
    );
}
