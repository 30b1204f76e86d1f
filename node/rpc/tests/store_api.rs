//! [`StoreApi`] behind the server: JIP-2 answers read from a store's
//! blocks and states, over loopback WebSocket, bounded in time.

#![allow(clippy::unwrap_used, clippy::panic)]

mod client;

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use jsonrpsee_ws_client::WsClientBuilder;
use parajam_primitives::codec::{BoundedSeq, Encode};
use parajam_primitives::types::{
    account_entry_state_key, encode_request, preimage_key, request_key, service_info_key,
    storage_key, Block, BlockInfo, Extrinsic, Header, KeyValue, RecentBlocks, ReportedWorkPackage,
    StateComponent,
};
use parajam_primitives::{ByteArray, ProtocolParameters};
use parajam_rpc::{
    start, BlockDescriptor, Hash, NodeEvent, RpcConfig, StoreApi, Submission, BLOCK_UNAVAILABLE,
    DA_SEGMENT_UNAVAILABLE, INVALID_PARAMS, OTHER_ERROR,
};
use parajam_storage::{memory_store, ChainStore, MemoryStore, NewBlock, StoreConfig};
use serde_json::{json, Value};

use client::*;

const PARAMS: ProtocolParameters = ProtocolParameters::TINY;
const SERVICE: u32 = 7;
const PACKAGE: [u8; 32] = [0x22; 32];
const EXPORTS_ROOT: [u8; 32] = [0x33; 32];

fn kv(key: ByteArray<31>, value: &[u8]) -> KeyValue {
    KeyValue {
        key,
        value: value.to_vec().into(),
    }
}

/// A state with recent history naming `hash` (BEEFY root `[0xbe; 32]`,
/// reporting PACKAGE), statistics `stats`, and service 7 whose storage
/// `key` holds `value`, with a preimage and a request.
fn state(hash: ByteArray<32>, stats: &[u8], value: &[u8]) -> Vec<KeyValue> {
    let recent = RecentBlocks {
        history: BoundedSeq::new(vec![BlockInfo {
            header_hash: hash,
            beefy_root: ByteArray([0xbe; 32]),
            state_root: ByteArray([0; 32]),
            reported: vec![ReportedWorkPackage {
                hash: ByteArray(PACKAGE),
                exports_root: ByteArray(EXPORTS_ROOT),
            }],
        }]),
        ..RecentBlocks::default()
    };
    let entry = |k| account_entry_state_key(SERVICE, &k);
    vec![
        kv(StateComponent::RecentBlocks.key(), &recent.encode()),
        kv(StateComponent::Statistics.key(), stats),
        kv(service_info_key(SERVICE), &[1, 2, 3]),
        kv(service_info_key(9), &[4]),
        kv(entry(storage_key(b"key")), value),
        kv(entry(preimage_key(&ByteArray([5; 32]))), b"preimage"),
        kv(
            entry(request_key(&ByteArray([5; 32]), 8)),
            &encode_request(&[3]),
        ),
    ]
}

struct Stored {
    hash: ByteArray<32>,
    block: Block,
    state: Vec<KeyValue>,
}

fn block(parent: ByteArray<32>, slot: u32, stats: &[u8], value: &[u8]) -> Stored {
    let header = Header {
        parent,
        slot,
        ..Header::default()
    };
    let hash = ByteArray([0x80 + u8::try_from(slot).unwrap(); 32]);
    Stored {
        hash,
        block: Block {
            header,
            extrinsic: Extrinsic::default(),
        },
        state: state(hash, stats, value),
    }
}

fn new_block(b: &Stored) -> NewBlock<'_> {
    NewBlock {
        hash: b.hash,
        block: &b.block,
        state_root: ByteArray([b.block.header.slot.to_le_bytes()[0]; 32]),
        state: &b.state,
    }
}

#[test]
fn store_api_answers_from_the_store() {
    block_on_within(Duration::from_secs(60), scenario());
}

#[allow(clippy::too_many_lines)] // one scenario, step by step
async fn scenario() {
    let store: MemoryStore = memory_store(
        PARAMS,
        StoreConfig {
            keep_finalized_states: 1,
        },
    );
    let g = block(ByteArray([0; 32]), 0, &[0, 0], b"value");
    let b1 = block(g.hash, 1, &[1, 1], b"new value");
    store.init_genesis(&new_block(&g)).unwrap();
    store.import(&new_block(&b1), true).unwrap();
    store
        .put_segment(&ByteArray(EXPORTS_ROOT), 1, &[7u8; 4104])
        .unwrap();
    store
        .put_work_report(&ByteArray([0x11; 32]), b"report")
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let api = Arc::new(StoreApi::new(store, PARAMS, Some(tx)));
    let config = RpcConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..RpcConfig::default()
    };
    let server = start(&config, api.clone()).await.unwrap();
    let client = WsClientBuilder::default()
        .build(format!("ws://{}", server.local_addr()))
        .await
        .unwrap();
    let (gh, b1h) = (b64(&g.hash.0), b64(&b1.hash.0));

    assert_eq!(
        ok(&client, "bestBlock", json!([])).await,
        json!({"header_hash": b1h, "slot": 1})
    );
    assert_eq!(
        ok(&client, "finalizedBlock", json!([])).await,
        json!({"header_hash": gh, "slot": 0})
    );
    assert_eq!(
        ok(&client, "parent", json!([b1h])).await,
        json!({"header_hash": gh, "slot": 0})
    );
    assert_eq!(
        ok(&client, "stateRoot", json!([b1h])).await,
        json!(b64(&[1; 32]))
    );
    assert_eq!(
        ok(&client, "beefyRoot", json!([b1h])).await,
        json!(b64(&[0xbe; 32]))
    );
    assert_eq!(
        ok(&client, "statistics", json!([gh])).await,
        json!(b64(&[0, 0]))
    );
    assert_eq!(
        ok(&client, "serviceData", json!([gh, SERVICE])).await,
        json!(b64(&[1, 2, 3]))
    );
    assert_eq!(
        ok(&client, "serviceData", json!([gh, 8])).await,
        Value::Null
    );
    assert_eq!(
        ok(&client, "serviceValue", json!([gh, SERVICE, b64(b"key")])).await,
        json!(b64(b"value"))
    );
    assert_eq!(
        ok(&client, "serviceValue", json!([b1h, SERVICE, b64(b"key")])).await,
        json!(b64(b"new value"))
    );
    assert_eq!(
        ok(
            &client,
            "serviceValue",
            json!([b1h, SERVICE, b64(b"other")])
        )
        .await,
        Value::Null
    );
    assert_eq!(
        ok(
            &client,
            "servicePreimage",
            json!([b1h, SERVICE, b64(&[5; 32])])
        )
        .await,
        json!(b64(b"preimage"))
    );
    assert_eq!(
        ok(
            &client,
            "serviceRequest",
            json!([b1h, SERVICE, b64(&[5; 32]), 8])
        )
        .await,
        json!([3])
    );
    assert_eq!(
        ok(&client, "listServices", json!([b1h])).await,
        json!([7, 9])
    );
    assert_eq!(
        ok(&client, "workReport", json!([b64(&[0x11; 32])])).await,
        json!(b64(b"report"))
    );
    assert_eq!(
        ok(
            &client,
            "fetchWorkPackageSegments",
            json!([b64(&PACKAGE), [1]])
        )
        .await,
        json!([b64(&[7u8; 4104])])
    );
    assert_eq!(
        code(&client, "fetchSegments", json!([b64(&EXPORTS_ROOT), [0]])).await,
        DA_SEGMENT_UNAVAILABLE
    );
    assert_eq!(
        code(
            &client,
            "workPackageStatus",
            json!([b1h, b64(&PACKAGE), b64(&[0; 32])])
        )
        .await,
        OTHER_ERROR
    );

    // Submissions reach the node's channel; bad ones are refused.
    assert_eq!(
        ok(&client, "submitPreimage", json!([SERVICE, b64(b"p")])).await,
        Value::Null
    );
    assert_eq!(
        code(&client, "submitPreimage", json!([8, b64(b"p")])).await,
        OTHER_ERROR
    );
    assert_eq!(
        ok(
            &client,
            "submitWorkPackage",
            json!([1, b64(b"wp"), [b64(b"x")]])
        )
        .await,
        Value::Null
    );
    assert_eq!(
        code(&client, "submitWorkPackage", json!([2, b64(b"wp"), []])).await,
        INVALID_PARAMS
    );
    assert_eq!(
        rx.try_iter().collect::<Vec<_>>(),
        vec![
            Submission::Preimage {
                requester: SERVICE,
                preimage: b"p".to_vec()
            },
            Submission::WorkPackage {
                core: 1,
                package: b"wp".to_vec(),
                extrinsics: vec![b"x".to_vec()]
            },
        ]
    );

    // The node's notifications drive the subscriptions.
    let mut finalized = subscribed(&client, "subscribeFinalizedBlock", json!([])).await;
    assert_eq!(
        next(&mut finalized).await,
        json!({"header_hash": gh, "slot": 0})
    );
    api.store().finalize(&b1.hash).unwrap();
    api.notify(NodeEvent::Finalized(BlockDescriptor {
        header_hash: Hash(b1.hash.0),
        slot: 1,
    }));
    assert_eq!(
        next(&mut finalized).await,
        json!({"header_hash": b1h, "slot": 1})
    );
    // With one finalized state kept, the genesis state is gone: code 1.
    assert_eq!(
        code(&client, "statistics", json!([gh])).await,
        BLOCK_UNAVAILABLE
    );
    assert_eq!(
        ok(&client, "statistics", json!([b1h])).await,
        json!(b64(&[1, 1]))
    );
    server.stop();
}
