//! The work-package pipeline inside `parajam run`, end to end through the
//! real binary on loopback: a jsonrpsee WebSocket client follows the best
//! blocks, builds adder work packages from what JIP-2 tells it (the best
//! block, its state and BEEFY roots, the CoreChains service's storage for
//! the para's head and emulated relay state), submits them with
//! `submitWorkPackage`, and watches the adder's head in the service's
//! storage (`serviceValue`) advance; bad packages (malformed, wrong
//! Base64, over `W_B`, a bad authorization, an invalid block) get JSON-RPC
//! errors while the node keeps authoring.

mod node_common;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use jsonrpsee::core::client::{ClientT, Error as ClientError, SubscriptionClientT};
use jsonrpsee::rpc_params;
use jsonrpsee_ws_client::{WsClient, WsClientBuilder};
use node_common::start;
use parajam_corechains_service::relay_state::RelayState;
use parajam_corechains_types::state::StorageKey;
use parajam_corechains_types::{
    AuthScope, HeadData, ParaId, ParachainCandidate, ValidationCodeHash, WorkItemPayload,
};
use parajam_primitives::types::{ExtrinsicSpec, OpaqueHash, RefineContext, WorkPackage};
use parajam_primitives::ProtocolParameters;
use parajam_rehearsal::drive::{self, ItemGas, SERVICE};
use parity_scale_codec::Decode;
use serde_json::Value;

const ADDER: ParaId = ParaId(2000);
const PARAMS: ProtocolParameters = ProtocolParameters::TINY;

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn unb64(value: &Value) -> Vec<u8> {
    STANDARD
        .decode(value.as_str().expect("a Base64 string"))
        .expect("Base64")
}

fn hash32(value: &Value) -> OpaqueHash {
    OpaqueHash::from(<[u8; 32]>::try_from(unb64(value)).expect("32 octets"))
}

async fn call(client: &WsClient, method: &str, params: Vec<Value>) -> Result<Value, ClientError> {
    let mut builder = jsonrpsee::core::params::ArrayParams::new();
    for p in params {
        builder.insert(p).expect("a parameter");
    }
    client.request(method, builder).await
}

async fn ok(client: &WsClient, method: &str, params: Vec<Value>) -> Value {
    call(client, method, params)
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"))
}

/// A value of the CoreChains service's storage at `block`.
async fn service_value(client: &WsClient, block: &Value, key: StorageKey) -> Option<Vec<u8>> {
    let value = ok(
        client,
        "serviceValue",
        vec![block.clone(), SERVICE.into(), b64(&key.to_key()).into()],
    )
    .await;
    (!value.is_null()).then(|| unb64(&value))
}

/// The adder's head in the service's storage at `block`.
async fn adder_head(client: &WsClient, block: &Value) -> parajam_adder::HeadData {
    let stored = service_value(client, block, StorageKey::Head(ADDER))
        .await
        .expect("the adder is registered");
    let head = HeadData::decode(&mut &stored[..]).expect("a head").0;
    decode_adder_head(&head)
}

fn decode_adder_head(octets: &[u8]) -> parajam_adder::HeadData {
    let number = u64::from_le_bytes(octets[..8].try_into().expect("8 octets"));
    let parent_hash = octets[8..40].try_into().expect("32 octets");
    let post_state = octets[40..72].try_into().expect("32 octets");
    parajam_adder::HeadData {
        number,
        parent_hash,
        post_state,
    }
}

/// An adder block adding `add` to `state` on the best block, as a
/// collator builds it from JIP-2 alone: the package and the new head.
async fn adder_package(
    client: &WsClient,
    parent: &parajam_adder::HeadData,
    state: u64,
    add: u64,
) -> (WorkPackage, Vec<u8>, parajam_adder::HeadData) {
    let best = ok(client, "bestBlock", vec![]).await;
    let hash = best["header_hash"].clone();
    let slot = u32::try_from(best["slot"].as_u64().expect("a slot")).expect("u32");
    let state_root = hash32(&ok(client, "stateRoot", vec![hash.clone()]).await);
    let beefy_root = hash32(&ok(client, "beefyRoot", vec![hash.clone()]).await);
    let anchor = hash32(&hash);
    let context = RefineContext {
        anchor,
        state_root,
        beefy_root,
        lookup_anchor: anchor,
        lookup_anchor_slot: slot,
        prerequisites: Vec::new(),
    };
    let relay_root = relay_root(client, &hash, slot).await;
    let block = parajam_adder::BlockData { state, add }.encode().to_vec();
    // An invalid block (a wrong `state`) has no head: the default.
    let head = parajam_adder::execute(
        parajam_adder::keccak256(&parent.encode()),
        parent,
        &parajam_adder::BlockData::decode(&block).expect("a block"),
    )
    .unwrap_or_default();
    let candidate = ParachainCandidate {
        para_id: ADDER,
        parent_head: HeadData(parent.encode().to_vec()),
        validation_code_hash: ValidationCodeHash(parajam_crypto::blake2b_256(
            parajam_adder_build::PVF_ARTIFACT,
        )),
        anchor: anchor.0,
        relay_parent_number: slot,
        relay_parent_storage_root: relay_root,
        block_data_hash: parajam_crypto::blake2b_256(&block),
    };
    let gas = ItemGas {
        refine: PARAMS.gas_refine,
        accumulate: PARAMS.gas_accumulate_report,
    };
    let package = drive::package(
        context,
        AuthScope::Para(ADDER),
        &WorkItemPayload::Candidate(candidate),
        std::slice::from_ref(&block),
        gas,
    )
    .expect("a package");
    (package, block, head)
}

/// The root of the emulated relay state the service shows the adder at
/// `slot` in block `hash`, from `serviceValue` reads.
async fn relay_root(client: &WsClient, hash: &Value, slot: u32) -> [u8; 32] {
    let mut entries = std::collections::BTreeMap::new();
    // Fetch every key `RelayState::read` asks for, until it asks for none
    // it has not seen (which keys it reads depends on earlier values).
    for _ in 0..16 {
        let mut asked = Vec::new();
        let _ = RelayState::read(
            |key| {
                if !entries.contains_key(&key.to_key()) {
                    asked.push(key);
                }
                entries.get(&key.to_key()).cloned().flatten()
            },
            ADDER,
            slot,
        );
        if asked.is_empty() {
            break;
        }
        for key in asked {
            let value = service_value(client, hash, key).await;
            entries.insert(key.to_key(), value);
        }
    }
    RelayState::read(
        |key| entries.get(&key.to_key()).cloned().flatten(),
        ADDER,
        slot,
    )
    .expect("the adder's relay state")
    .root()
}

fn encode(package: &WorkPackage) -> Vec<u8> {
    parajam_primitives::codec::with_params(&PARAMS, || jam_codec::Encode::encode(package))
}

async fn submit(
    client: &WsClient,
    package: &[u8],
    extrinsics: &[&[u8]],
) -> Result<Value, ClientError> {
    let extrinsics: Vec<Value> = extrinsics.iter().map(|x| b64(x).into()).collect();
    call(
        client,
        "submitWorkPackage",
        vec![0.into(), b64(package).into(), Value::Array(extrinsics)],
    )
    .await
}

/// The JSON-RPC error of a call that must fail: code and message.
fn refused(result: Result<Value, ClientError>, what: &str) -> (i32, String) {
    match result {
        Err(ClientError::Call(e)) => (e.code(), e.message().to_string()),
        other => panic!("{what}: not a JSON-RPC error: {other:?}"),
    }
}

/// Waits (at most 40 best blocks) until the adder's head is `head`.
async fn until_head(
    client: &WsClient,
    blocks: &mut jsonrpsee::core::client::Subscription<Value>,
    head: &parajam_adder::HeadData,
) {
    for _ in 0..40 {
        let block = tokio::time::timeout(Duration::from_secs(60), blocks.next())
            .await
            .expect("a best block within a minute")
            .expect("the subscription is open")
            .expect("a block descriptor");
        if adder_head(client, &block["header_hash"]).await == *head {
            return;
        }
    }
    panic!("the adder's head did not become block {}", head.number);
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario, step by step
fn submitted_adder_packages_are_refined_guaranteed_and_accumulated() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut node = start(&[], dir.path(), &["--dev", "--slot-duration-ms", "500"]);
    let addr = node.rpc_addr();
    let runtime = parajam_e2e::tokio_runtime();
    runtime.block_on(async {
        let client = WsClientBuilder::default()
            .request_timeout(Duration::from_secs(90))
            .max_request_size(64 * 1024 * 1024)
            .build(format!("ws://{addr}"))
            .await
            .expect("connecting over WebSocket");
        let mut blocks = client
            .subscribe::<Value, _>("subscribeBestBlock", rpc_params![], "unsubscribeBestBlock")
            .await
            .expect("subscribing to best blocks");

        let best = ok(&client, "bestBlock", vec![]).await;
        let mut parent = adder_head(&client, &best["header_hash"]).await;
        assert_eq!(parent, parajam_adder::HeadData::genesis(0));
        let mut state = 0u64;
        for add in 1..=2u64 {
            let (package, block, head) = adder_package(&client, &parent, state, add).await;
            let result = submit(&client, &encode(&package), &[&block]).await;
            assert_eq!(result.expect("submitWorkPackage"), Value::Null);
            until_head(&client, &mut blocks, &head).await;
            parent = head;
            state += add;
        }
        assert_eq!(parent.number, 2);

        // The collator methods agree with JIP-2's `serviceValue`.
        let head = ok(&client, "parajam_paraHead", vec![ADDER.0.into()]).await;
        assert_eq!(
            decode_adder_head(&unb64(&head["head"])),
            adder_head(&client, &head["header_hash"]).await
        );
        let relay = ok(&client, "parajam_relayState", vec![ADDER.0.into()]).await;
        let slot = u32::try_from(relay["slot"].as_u64().expect("a slot")).expect("u32");
        assert_eq!(
            unb64(&relay["root"]),
            relay_root(&client, &relay["header_hash"], slot)
                .await
                .to_vec()
        );
        assert!(!relay["entries"].as_array().expect("entries").is_empty());
        let none = ok(&client, "parajam_paraHead", vec![4242.into()]).await;
        assert!(none.is_null(), "{none}");

        // Bad input: each a JSON-RPC error.
        let (code, message) = refused(submit(&client, &[1, 2, 3], &[]).await, "malformed");
        assert_eq!(code, -32602, "{message}");
        assert!(message.contains("not a work package"), "{message}");
        let (code, _) = refused(
            call(
                &client,
                "submitWorkPackage",
                vec![0.into(), "not base64!".into(), Value::Array(vec![])],
            )
            .await,
            "wrong Base64",
        );
        assert_eq!(code, -32602);
        let (code, _) = refused(
            call(
                &client,
                "submitWorkPackage",
                vec![7.into(), b64(&[0]).into(), Value::Array(vec![])],
            )
            .await,
            "no such core",
        );
        assert_eq!(code, -32602);

        // A bad authorization: an authorizer code the service does not hold.
        let (mut package, block, _) = adder_package(&client, &parent, state, 5).await;
        package.auth_code_hash = OpaqueHash::from([7; 32]);
        let (code, message) = refused(
            submit(&client, &encode(&package), &[&block]).await,
            "bad authorization",
        );
        assert_eq!(code, 0, "{message}");
        assert!(message.contains("dropped"), "{message}");

        // A package over W_B: one extrinsic larger than the bundle limit.
        let (mut package, _, _) = adder_package(&client, &parent, state, 5).await;
        let big = vec![0u8; PARAMS.max_bundle_size as usize + 1];
        package.items[0].extrinsic = vec![ExtrinsicSpec {
            hash: OpaqueHash::from(parajam_crypto::blake2b_256(&big)),
            len: u32::try_from(big.len()).expect("u32"),
        }];
        let (code, message) = refused(
            submit(&client, &encode(&package), &[&big]).await,
            "over W_B",
        );
        assert_eq!(code, -32602, "{message}");
        assert!(message.contains("W_B"), "{message}");

        // An invalid adder block (the wrong parent state): refine says so.
        let (package, block, _) = adder_package(&client, &parent, state + 1, 5).await;
        let (code, message) = refused(
            submit(&client, &encode(&package), &[&block]).await,
            "invalid block",
        );
        assert_eq!(code, 0, "{message}");

        // The node kept authoring, and still takes a good package.
        let (package, block, head) = adder_package(&client, &parent, state, 3).await;
        submit(&client, &encode(&package), &[&block])
            .await
            .expect("a good package after the bad ones");
        until_head(&client, &mut blocks, &head).await;
    });
    node.wait_for("para 2000 head");
}
