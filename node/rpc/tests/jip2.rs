//! Every JIP-2 method over loopback WebSocket against a small in-memory
//! chain, subscriptions, bad input and the server's limits. Each test is
//! bounded in time.

#![allow(clippy::unwrap_used, clippy::panic)]

mod client;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use jsonrpsee::core::client::{ClientT, Error as ClientError};
use jsonrpsee::core::params::BatchRequestBuilder;
use jsonrpsee::rpc_params;
use jsonrpsee_ws_client::{WsClient, WsClientBuilder};
use parajam_primitives::ProtocolParameters;
use parajam_rpc::{
    start, ApiError, Blob, BlockDescriptor, Hash, NodeApi, NodeEvent, Parameters, ParametersV1,
    RpcConfig, RpcServer, SyncState, SyncStatus, WorkPackageStatus, BLOCK_UNAVAILABLE,
    DA_SEGMENT_UNAVAILABLE, INVALID_PARAMS, JIP2_METHODS, OTHER_ERROR, WORK_REPORT_UNAVAILABLE,
};
use serde_json::{json, Value};

use client::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::broadcast;

// ---------------------------------------------------------------------------
// A small in-memory chain behind the NodeApi.

#[derive(Debug, Clone, Default)]
struct Service {
    info: Vec<u8>,
    storage: BTreeMap<Vec<u8>, Vec<u8>>,
    preimages: BTreeMap<Hash, Vec<u8>>,
    requests: BTreeMap<(Hash, u32), Vec<u32>>,
}

#[derive(Debug, Clone, Default)]
struct BlockData {
    slot: u32,
    parent: Hash,
    state_root: Hash,
    beefy_root: Hash,
    statistics: Vec<u8>,
    services: BTreeMap<u32, Service>,
    packages: BTreeMap<Hash, WorkPackageStatus>,
}

#[derive(Debug)]
struct Chain {
    blocks: HashMap<Hash, BlockData>,
    best: Hash,
    finalized: Hash,
    sync: SyncStatus,
    next: u8,
}

#[derive(Debug, PartialEq, Eq)]
enum Submission {
    Package(u16, Vec<u8>, Vec<Vec<u8>>),
    Bundle(u16, Vec<u8>),
    Preimage(u32, Vec<u8>),
}

#[derive(Debug)]
struct TestNode {
    chain: Mutex<Chain>,
    events: broadcast::Sender<NodeEvent>,
    submitted: Mutex<Vec<Submission>>,
    reports: BTreeMap<Hash, Vec<u8>>,
    segments: BTreeMap<Hash, Vec<Vec<u8>>>,
}

const GENESIS: Hash = Hash([0xaa; 32]);
const SERVICE: u32 = 7;
const REPORT: Hash = Hash([0x11; 32]);
const PACKAGE: Hash = Hash([0x22; 32]);
const SEGMENT_ROOT: Hash = Hash([0x33; 32]);
const ANCHOR: Hash = Hash([0x44; 32]);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl TestNode {
    fn new() -> Arc<Self> {
        let mut service = Service {
            info: vec![1, 2, 3],
            ..Service::default()
        };
        service.storage.insert(b"key".to_vec(), b"value".to_vec());
        service
            .preimages
            .insert(Hash([5; 32]), b"preimage".to_vec());
        service.requests.insert((Hash([5; 32]), 8), vec![3]);
        service.requests.insert((Hash([6; 32]), 4), vec![]);
        let genesis = BlockData {
            slot: 0,
            parent: Hash([0; 32]),
            state_root: Hash([0xee; 32]),
            beefy_root: Hash([0xbe; 32]),
            statistics: vec![0, 0, 0],
            services: BTreeMap::from([(SERVICE, service), (9, Service::default())]),
            packages: BTreeMap::from([(
                PACKAGE,
                WorkPackageStatus::Reportable {
                    remaining_blocks: 3,
                },
            )]),
        };
        Arc::new(Self {
            chain: Mutex::new(Chain {
                blocks: HashMap::from([(GENESIS, genesis)]),
                best: GENESIS,
                finalized: GENESIS,
                sync: SyncStatus::InProgress,
                next: 1,
            }),
            events: broadcast::channel(16).0,
            submitted: Mutex::new(Vec::new()),
            reports: BTreeMap::from([(REPORT, b"a work report".to_vec())]),
            segments: BTreeMap::from([(
                SEGMENT_ROOT,
                vec![vec![1u8; 4104], vec![2u8; 4104], vec![3u8; 4104]],
            )]),
        })
    }

    /// A child of the best block, changed by `change`; it becomes best.
    fn add_block(&self, change: impl FnOnce(&mut BlockData)) -> BlockDescriptor {
        let mut chain = lock(&self.chain);
        let parent = chain.best;
        let mut data = chain.blocks[&parent].clone();
        data.parent = parent;
        data.slot += 1;
        data.state_root = Hash([chain.next; 32]);
        change(&mut data);
        let hash = Hash([0x80 | chain.next; 32]);
        chain.next += 1;
        let block = BlockDescriptor {
            header_hash: hash,
            slot: data.slot,
        };
        chain.blocks.insert(hash, data);
        chain.best = hash;
        drop(chain);
        let _ = self.events.send(NodeEvent::Best(block));
        block
    }

    fn finalize(&self, block: BlockDescriptor) {
        lock(&self.chain).finalized = block.header_hash;
        let _ = self.events.send(NodeEvent::Finalized(block));
    }

    fn set_sync(&self, status: SyncStatus) {
        lock(&self.chain).sync = status;
        let _ = self.events.send(NodeEvent::Sync(status));
    }

    fn with_block<T>(
        &self,
        block: &Hash,
        f: impl FnOnce(&BlockData) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let chain = lock(&self.chain);
        let data = chain
            .blocks
            .get(block)
            .ok_or(ApiError::BlockUnavailable(*block))?;
        f(data)
    }

    fn descriptor(chain: &Chain, hash: Hash) -> BlockDescriptor {
        BlockDescriptor {
            header_hash: hash,
            slot: chain.blocks[&hash].slot,
        }
    }
}

impl NodeApi for TestNode {
    fn parameters(&self) -> Parameters {
        Parameters::V1(ParametersV1::from(&ProtocolParameters::TINY))
    }

    fn best_block(&self) -> BlockDescriptor {
        let chain = lock(&self.chain);
        Self::descriptor(&chain, chain.best)
    }

    fn finalized_block(&self) -> BlockDescriptor {
        let chain = lock(&self.chain);
        Self::descriptor(&chain, chain.finalized)
    }

    fn parent(&self, block: &Hash) -> Result<BlockDescriptor, ApiError> {
        let chain = lock(&self.chain);
        let data = chain
            .blocks
            .get(block)
            .ok_or(ApiError::BlockUnavailable(*block))?;
        if chain.blocks.contains_key(&data.parent) {
            Ok(Self::descriptor(&chain, data.parent))
        } else {
            Err(ApiError::BlockUnavailable(data.parent))
        }
    }

    fn state_root(&self, block: &Hash) -> Result<Hash, ApiError> {
        self.with_block(block, |b| Ok(b.state_root))
    }

    fn beefy_root(&self, block: &Hash) -> Result<Hash, ApiError> {
        self.with_block(block, |b| Ok(b.beefy_root))
    }

    fn statistics(&self, block: &Hash) -> Result<Blob, ApiError> {
        self.with_block(block, |b| Ok(Blob(b.statistics.clone())))
    }

    fn service_data(&self, block: &Hash, service: u32) -> Result<Option<Blob>, ApiError> {
        self.with_block(block, |b| {
            Ok(b.services.get(&service).map(|s| Blob(s.info.clone())))
        })
    }

    fn service_value(
        &self,
        block: &Hash,
        service: u32,
        key: &[u8],
    ) -> Result<Option<Blob>, ApiError> {
        self.with_block(block, |b| {
            Ok(b.services
                .get(&service)
                .and_then(|s| s.storage.get(key))
                .map(|v| Blob(v.clone())))
        })
    }

    fn service_preimage(
        &self,
        block: &Hash,
        service: u32,
        hash: &Hash,
    ) -> Result<Option<Blob>, ApiError> {
        self.with_block(block, |b| {
            Ok(b.services
                .get(&service)
                .and_then(|s| s.preimages.get(hash))
                .map(|v| Blob(v.clone())))
        })
    }

    fn service_request(
        &self,
        block: &Hash,
        service: u32,
        hash: &Hash,
        len: u32,
    ) -> Result<Option<Vec<u32>>, ApiError> {
        self.with_block(block, |b| {
            Ok(b.services
                .get(&service)
                .and_then(|s| s.requests.get(&(*hash, len)))
                .cloned())
        })
    }

    fn work_report(&self, hash: &Hash) -> Result<Blob, ApiError> {
        self.reports
            .get(hash)
            .map(|r| Blob(r.clone()))
            .ok_or(ApiError::WorkReportUnavailable(*hash))
    }

    fn submit_work_package(
        &self,
        core: u16,
        package: Vec<u8>,
        extrinsics: Vec<Vec<u8>>,
    ) -> Result<(), ApiError> {
        if core >= ProtocolParameters::TINY.core_count {
            return Err(ApiError::InvalidParams(format!("no core {core}")));
        }
        lock(&self.submitted).push(Submission::Package(core, package, extrinsics));
        Ok(())
    }

    fn submit_work_package_bundle(&self, core: u16, bundle: Vec<u8>) -> Result<(), ApiError> {
        lock(&self.submitted).push(Submission::Bundle(core, bundle));
        Ok(())
    }

    fn work_package_status(
        &self,
        block: &Hash,
        package: &Hash,
        anchor: &Hash,
    ) -> Result<WorkPackageStatus, ApiError> {
        if *anchor != ANCHOR {
            return Err(ApiError::Other(format!("anchor {anchor} is not known")));
        }
        self.with_block(block, |b| {
            Ok(b.packages
                .get(package)
                .cloned()
                .unwrap_or_else(|| WorkPackageStatus::Failed("never seen".into())))
        })
    }

    fn submit_preimage(&self, requester: u32, preimage: Vec<u8>) -> Result<(), ApiError> {
        let chain = lock(&self.chain);
        if !chain.blocks[&chain.best].services.contains_key(&requester) {
            return Err(ApiError::Other(format!("no service {requester}")));
        }
        drop(chain);
        lock(&self.submitted).push(Submission::Preimage(requester, preimage));
        Ok(())
    }

    fn list_services(&self, block: &Hash) -> Result<Vec<u32>, ApiError> {
        self.with_block(block, |b| Ok(b.services.keys().copied().collect()))
    }

    fn fetch_work_package_segments(
        &self,
        package: &Hash,
        indices: &[u16],
    ) -> Result<Vec<Blob>, ApiError> {
        // The test chain's only exporting package is PACKAGE, whose
        // segment root is SEGMENT_ROOT.
        if *package != PACKAGE {
            return Err(ApiError::SegmentUnavailable(format!("package {package}")));
        }
        self.fetch_segments(&SEGMENT_ROOT, indices)
    }

    fn fetch_segments(&self, segment_root: &Hash, indices: &[u16]) -> Result<Vec<Blob>, ApiError> {
        let segments = self
            .segments
            .get(segment_root)
            .ok_or_else(|| ApiError::SegmentUnavailable(format!("root {segment_root}")))?;
        indices
            .iter()
            .map(|&i| {
                segments
                    .get(usize::from(i))
                    .map(|s| Blob(s.clone()))
                    .ok_or_else(|| ApiError::SegmentUnavailable(format!("index {i}")))
            })
            .collect()
    }

    fn sync_state(&self) -> SyncState {
        SyncState {
            num_peers: 3,
            status: lock(&self.chain).sync,
        }
    }

    fn events(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }
}

// ---------------------------------------------------------------------------
// Harness.

const LIMIT: Duration = Duration::from_secs(60);

/// Runs `test` with a loopback server over a fresh [`TestNode`] and a
/// connected client, bounded in time.
fn run<F, Fut>(config: &RpcConfig, test: F)
where
    F: FnOnce(Arc<TestNode>, RpcServer, WsClient) -> Fut,
    Fut: Future<Output = ()>,
{
    block_on_within(LIMIT, async {
        let node = TestNode::new();
        let server = start(config, node.clone()).await.unwrap();
        let client = connect(&server).await.unwrap();
        test(node, server.clone(), client).await;
        server.stop();
        server.stopped().await;
    });
}

fn loopback() -> RpcConfig {
    RpcConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..RpcConfig::default()
    }
}

async fn connect(server: &RpcServer) -> Result<WsClient, ClientError> {
    WsClientBuilder::default()
        .request_timeout(Duration::from_secs(20))
        .build(format!("ws://{}", server.local_addr()))
        .await
}

fn h64(h: Hash) -> String {
    b64(&h.0)
}

fn descriptor(b: BlockDescriptor) -> Value {
    json!({"header_hash": h64(b.header_hash), "slot": b.slot})
}

// ---------------------------------------------------------------------------
// Tests.

#[test]
fn every_jip2_method_is_registered() {
    let module = parajam_rpc::rpc_module(TestNode::new()).unwrap();
    let names: Vec<&str> = module.method_names().collect();
    for m in JIP2_METHODS {
        assert!(names.contains(&m), "{m} is not registered");
        if let Some(rest) = m.strip_prefix("subscribe") {
            let unsub = format!("unsubscribe{rest}");
            assert!(names.contains(&unsub.as_str()), "{unsub} is not registered");
        }
    }
}

#[test]
fn chain_queries() {
    run(&loopback(), |node, _, client| async move {
        let b1 = node.add_block(|d| d.statistics = vec![9, 9]);
        let genesis = BlockDescriptor {
            header_hash: GENESIS,
            slot: 0,
        };
        let params = ok(&client, "parameters", json!([])).await;
        assert_eq!(params["V1"]["val_count"], json!(6));
        assert_eq!(params["V1"]["core_count"], json!(2));
        assert_eq!(params["V1"]["epoch_period"], json!(12));
        assert_eq!(params["V1"]["segment_piece_count"], json!(1026));
        assert_eq!(params["V1"].as_object().unwrap().len(), 33);

        assert_eq!(ok(&client, "bestBlock", json!([])).await, descriptor(b1));
        assert_eq!(
            ok(&client, "finalizedBlock", json!([])).await,
            descriptor(genesis)
        );
        assert_eq!(
            ok(&client, "parent", json!([h64(b1.header_hash)])).await,
            descriptor(genesis)
        );
        // The genesis block's parent is not known.
        assert_eq!(
            err(&client, "parent", json!([h64(GENESIS)])).await,
            (BLOCK_UNAVAILABLE, Some(json!(h64(Hash([0; 32])))))
        );
        assert_eq!(
            ok(&client, "stateRoot", json!([h64(b1.header_hash)])).await,
            json!(h64(Hash([1; 32])))
        );
        assert_eq!(
            ok(&client, "beefyRoot", json!([h64(GENESIS)])).await,
            json!(h64(Hash([0xbe; 32])))
        );
        assert_eq!(
            ok(&client, "statistics", json!([h64(b1.header_hash)])).await,
            json!(b64(&[9, 9]))
        );
        assert_eq!(
            ok(&client, "listServices", json!([h64(GENESIS)])).await,
            json!([7, 9])
        );
        assert_eq!(
            ok(&client, "syncState", json!([])).await,
            json!({"num_peers": 3, "status": "InProgress"})
        );
        // An unknown block: code 1 with the hash as data, for every query.
        let unknown = Hash([0x5a; 32]);
        for (method, params) in [
            ("stateRoot", json!([h64(unknown)])),
            ("beefyRoot", json!([h64(unknown)])),
            ("statistics", json!([h64(unknown)])),
            ("listServices", json!([h64(unknown)])),
            ("parent", json!([h64(unknown)])),
            ("serviceData", json!([h64(unknown), SERVICE])),
            ("serviceValue", json!([h64(unknown), SERVICE, b64(b"key")])),
            (
                "servicePreimage",
                json!([h64(unknown), SERVICE, h64(Hash([5; 32]))]),
            ),
            (
                "serviceRequest",
                json!([h64(unknown), SERVICE, h64(Hash([5; 32])), 8]),
            ),
            (
                "workPackageStatus",
                json!([h64(unknown), h64(PACKAGE), h64(ANCHOR)]),
            ),
        ] {
            assert_eq!(
                err(&client, method, params).await,
                (BLOCK_UNAVAILABLE, Some(json!(h64(unknown)))),
                "{method}"
            );
        }
    });
}

#[test]
fn service_queries() {
    run(&loopback(), |_, _, client| async move {
        let g = h64(GENESIS);
        assert_eq!(
            ok(&client, "serviceData", json!([g, SERVICE])).await,
            json!(b64(&[1, 2, 3]))
        );
        // No such service: null, not an error.
        assert_eq!(ok(&client, "serviceData", json!([g, 8])).await, Value::Null);
        assert_eq!(
            ok(&client, "serviceValue", json!([g, SERVICE, b64(b"key")])).await,
            json!(b64(b"value"))
        );
        assert_eq!(
            ok(&client, "serviceValue", json!([g, SERVICE, b64(b"nokey")])).await,
            Value::Null
        );
        assert_eq!(
            ok(&client, "serviceValue", json!([g, 8, b64(b"key")])).await,
            Value::Null
        );
        assert_eq!(
            ok(
                &client,
                "servicePreimage",
                json!([g, SERVICE, h64(Hash([5; 32]))])
            )
            .await,
            json!(b64(b"preimage"))
        );
        assert_eq!(
            ok(
                &client,
                "servicePreimage",
                json!([g, SERVICE, h64(Hash([6; 32]))])
            )
            .await,
            Value::Null
        );
        assert_eq!(
            ok(
                &client,
                "serviceRequest",
                json!([g, SERVICE, h64(Hash([5; 32])), 8])
            )
            .await,
            json!([3])
        );
        // Requested, not provided: an empty array.
        assert_eq!(
            ok(
                &client,
                "serviceRequest",
                json!([g, SERVICE, h64(Hash([6; 32])), 4])
            )
            .await,
            json!([])
        );
        // Another length: neither requested nor provided.
        assert_eq!(
            ok(
                &client,
                "serviceRequest",
                json!([g, SERVICE, h64(Hash([5; 32])), 9])
            )
            .await,
            Value::Null
        );
    });
}

#[test]
fn work_reports_and_segments() {
    run(&loopback(), |_, _, client| async move {
        assert_eq!(
            ok(&client, "workReport", json!([h64(REPORT)])).await,
            json!(b64(b"a work report"))
        );
        assert_eq!(
            err(&client, "workReport", json!([h64(PACKAGE)])).await,
            (WORK_REPORT_UNAVAILABLE, Some(json!(h64(PACKAGE))))
        );
        assert_eq!(
            ok(
                &client,
                "workPackageStatus",
                json!([h64(GENESIS), h64(PACKAGE), h64(ANCHOR)])
            )
            .await,
            json!({"Reportable": {"remaining_blocks": 3}})
        );
        assert_eq!(
            ok(
                &client,
                "workPackageStatus",
                json!([h64(GENESIS), h64(REPORT), h64(ANCHOR)])
            )
            .await,
            json!({"Failed": "never seen"})
        );
        assert_eq!(
            err(
                &client,
                "workPackageStatus",
                json!([h64(GENESIS), h64(PACKAGE), h64(REPORT)])
            )
            .await
            .0,
            OTHER_ERROR
        );
        assert_eq!(
            ok(&client, "fetchSegments", json!([h64(SEGMENT_ROOT), [2, 0]])).await,
            json!([b64(&[3u8; 4104]), b64(&[1u8; 4104])])
        );
        assert_eq!(
            ok(
                &client,
                "fetchWorkPackageSegments",
                json!([h64(PACKAGE), [1]])
            )
            .await,
            json!([b64(&[2u8; 4104])])
        );
        assert_eq!(
            err(&client, "fetchSegments", json!([h64(SEGMENT_ROOT), [3]]))
                .await
                .0,
            DA_SEGMENT_UNAVAILABLE
        );
        assert_eq!(
            err(
                &client,
                "fetchWorkPackageSegments",
                json!([h64(REPORT), [0]])
            )
            .await
            .0,
            DA_SEGMENT_UNAVAILABLE
        );
        // A segment index is a u16.
        assert_eq!(
            err(
                &client,
                "fetchSegments",
                json!([h64(SEGMENT_ROOT), [70000]])
            )
            .await
            .0,
            INVALID_PARAMS
        );
    });
}

#[test]
fn submissions() {
    run(&loopback(), |node, _, client| async move {
        assert_eq!(
            ok(
                &client,
                "submitWorkPackage",
                json!([1, b64(b"package"), [b64(b"x1"), b64(b"")]])
            )
            .await,
            Value::Null
        );
        assert_eq!(
            ok(
                &client,
                "submitWorkPackageBundle",
                json!([0, b64(b"bundle")])
            )
            .await,
            Value::Null
        );
        assert_eq!(
            ok(
                &client,
                "submitPreimage",
                json!([SERVICE, b64(b"some preimage")])
            )
            .await,
            Value::Null
        );
        // Refused by the node: no such core, no such service.
        assert_eq!(
            err(
                &client,
                "submitWorkPackage",
                json!([2, b64(b"package"), []])
            )
            .await
            .0,
            INVALID_PARAMS
        );
        assert_eq!(
            err(&client, "submitPreimage", json!([8, b64(b"p")]))
                .await
                .0,
            OTHER_ERROR
        );
        assert_eq!(
            *lock(&node.submitted),
            vec![
                Submission::Package(1, b"package".to_vec(), vec![b"x1".to_vec(), vec![]]),
                Submission::Bundle(0, b"bundle".to_vec()),
                Submission::Preimage(SERVICE, b"some preimage".to_vec()),
            ]
        );
    });
}

#[test]
fn block_subscriptions_follow_the_chain() {
    run(&loopback(), |node, _, client| async move {
        let mut best = subscribed(&client, "subscribeBestBlock", json!([])).await;
        let mut finalized = subscribed(&client, "subscribeFinalizedBlock", json!([])).await;
        let mut sync = subscribed(&client, "subscribeSyncStatus", json!([])).await;
        let genesis = BlockDescriptor {
            header_hash: GENESIS,
            slot: 0,
        };
        // First the current block, then each new one.
        assert_eq!(next(&mut best).await, descriptor(genesis));
        assert_eq!(next(&mut finalized).await, descriptor(genesis));
        assert_eq!(next(&mut sync).await, json!("InProgress"));
        let b1 = node.add_block(|_| {});
        let b2 = node.add_block(|_| {});
        assert_eq!(next(&mut best).await, descriptor(b1));
        assert_eq!(next(&mut best).await, descriptor(b2));
        node.finalize(b2);
        assert_eq!(next(&mut finalized).await, descriptor(b2));
        node.set_sync(SyncStatus::Completed);
        assert_eq!(next(&mut sync).await, json!("Completed"));
    });
}

#[test]
fn chain_subscriptions_send_changes() {
    run(&loopback(), |node, _, client| async move {
        let sub = |name: &'static str, params: Value| subscribed(&client, name, params);
        let mut value = sub(
            "subscribeServiceValue",
            json!([SERVICE, b64(b"key"), false]),
        )
        .await;
        let mut stats = sub("subscribeStatistics", json!([true])).await;
        let mut data = sub("subscribeServiceData", json!([SERVICE, false])).await;
        let mut preimage = sub(
            "subscribeServicePreimage",
            json!([SERVICE, h64(Hash([7; 32])), false]),
        )
        .await;
        let mut request = sub(
            "subscribeServiceRequest",
            json!([SERVICE, h64(Hash([6; 32])), 4, false]),
        )
        .await;
        let mut status = sub(
            "subscribeWorkPackageStatus",
            json!([h64(PACKAGE), h64(ANCHOR), false]),
        )
        .await;

        let g = |v: Value| json!({"header_hash": h64(GENESIS), "slot": 0, "value": v});
        assert_eq!(next(&mut value).await, g(json!(b64(b"value"))));
        assert_eq!(next(&mut stats).await, g(json!(b64(&[0, 0, 0]))));
        assert_eq!(next(&mut data).await, g(json!(b64(&[1, 2, 3]))));
        assert_eq!(next(&mut preimage).await, g(Value::Null));
        assert_eq!(next(&mut request).await, g(json!([])));
        assert_eq!(
            next(&mut status).await,
            g(json!({"Reportable": {"remaining_blocks": 3}}))
        );

        // A block that changes nothing they watch sends nothing; the next
        // block that does is the next notification.
        let _unchanged = node.add_block(|_| {});
        let b2 = node.add_block(|d| {
            let s = d.services.get_mut(&SERVICE).unwrap();
            s.storage.insert(b"key".to_vec(), b"new value".to_vec());
            s.info = vec![4];
            s.preimages.insert(Hash([7; 32]), b"seven".to_vec());
            s.requests.insert((Hash([6; 32]), 4), vec![2]);
            d.statistics = vec![1];
            d.packages.insert(
                PACKAGE,
                WorkPackageStatus::Reported {
                    reported_in: BlockDescriptor {
                        header_hash: Hash([0x99; 32]),
                        slot: 2,
                    },
                    core: 1,
                    report_hash: REPORT,
                },
            );
        });
        let at_b2 = |v: Value| json!({"header_hash": h64(b2.header_hash), "slot": 2, "value": v});
        assert_eq!(next(&mut value).await, at_b2(json!(b64(b"new value"))));
        assert_eq!(next(&mut data).await, at_b2(json!(b64(&[4]))));
        assert_eq!(next(&mut preimage).await, at_b2(json!(b64(b"seven"))));
        assert_eq!(next(&mut request).await, at_b2(json!([2])));
        assert_eq!(
            next(&mut status).await,
            at_b2(json!({"Reported": {
                "reported_in": {"header_hash": h64(Hash([0x99; 32])), "slot": 2},
                "core": 1,
                "report_hash": h64(REPORT),
            }}))
        );
        // A value removed: null.
        let b3 = node.add_block(|d| {
            d.services.get_mut(&SERVICE).unwrap().storage.clear();
        });
        assert_eq!(
            next(&mut value).await,
            json!({"header_hash": h64(b3.header_hash), "slot": 3, "value": null})
        );
        // The finalized-tracking subscription moves on finality only.
        node.finalize(b2);
        assert_eq!(next(&mut stats).await, at_b2(json!(b64(&[1]))));
    });
}

#[test]
fn unsubscribe_stops_notifications() {
    run(&loopback(), |node, _, client| async move {
        let mut best = subscribed(&client, "subscribeBestBlock", json!([])).await;
        next(&mut best).await;
        best.unsubscribe().await.unwrap();
        // An id that is not a subscription: false.
        assert_eq!(
            ok(&client, "unsubscribeBestBlock", json!([12345])).await,
            json!(false)
        );
        // The server goes on serving the connection.
        node.add_block(|_| {});
        assert_eq!(ok(&client, "bestBlock", json!([])).await["slot"], json!(1));
    });
}

#[test]
fn bad_input_gets_errors() {
    run(&loopback(), |_, _, client| async move {
        let g = h64(GENESIS);
        let short = b64(&[1u8; 31]);
        let long = b64(&[1u8; 33]);
        for (method, params) in [
            // Not Base64, unpadded Base64, non-canonical trailing bits.
            ("stateRoot", json!(["not base64!"])),
            ("stateRoot", json!([g.trim_end_matches('=')])),
            ("serviceValue", json!([g, SERVICE, "QR=="])),
            // A Hash of 31 or 33 octets.
            ("stateRoot", json!([short])),
            ("parent", json!([long])),
            ("servicePreimage", json!([g, SERVICE, short])),
            // Wrong types and counts.
            ("stateRoot", json!([])),
            ("stateRoot", json!([42])),
            ("serviceData", json!([g])),
            ("serviceData", json!([g, -1])),
            ("serviceData", json!([g, 4_294_967_296_u64])),
            ("serviceData", json!([g, "7"])),
            ("serviceRequest", json!([g, SERVICE, g])),
            ("submitWorkPackage", json!([70000, b64(b"p"), []])),
            ("submitWorkPackage", json!([0, b64(b"p"), "not an array"])),
            ("submitPreimage", json!([SERVICE, "***"])),
            ("workPackageStatus", json!([g, g])),
        ] {
            assert_eq!(
                err(&client, method, params.clone()).await.0,
                INVALID_PARAMS,
                "{method} {params}"
            );
        }
        // By-name parameters are not JIP-2.
        let mut named = jsonrpsee::core::params::ObjectParams::new();
        named.insert("header_hash", &g).unwrap();
        match client.request::<Value, _>("stateRoot", named).await {
            Err(ClientError::Call(e)) => assert_eq!(e.code(), INVALID_PARAMS),
            other => panic!("{other:?}"),
        }
        // Subscriptions refuse bad parameters too.
        let bad = subscribe(
            &client,
            "subscribeServiceValue",
            json!([SERVICE, "not base64!", false]),
        )
        .await;
        match bad {
            Err(ClientError::Call(e)) => assert_eq!(e.code(), INVALID_PARAMS),
            other => panic!("{:?}", other.map(|_| ())),
        }
        // An unknown method.
        assert_eq!(err(&client, "eth_blockNumber", json!([])).await.0, -32601);
        // The connection still serves.
        assert_eq!(ok(&client, "bestBlock", json!([])).await["slot"], json!(0));
    });
}

/// Sends `body` as an HTTP POST to the server and returns the response text.
async fn http_post(server: &RpcServer, body: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[test]
fn malformed_json_gets_a_parse_error() {
    run(&loopback(), |_, server, _| async move {
        let response = http_post(&server, r#"{"jsonrpc":"2.0","id":1,"method":"bestBlock""#).await;
        assert!(response.contains("-32700"), "{response}");
        let response = http_post(&server, r#"{"jsonrpc":"2.0","id":1,"method":7}"#).await;
        assert!(
            response.contains("-32600") || response.contains("-32700"),
            "{response}"
        );
        // And a well-formed one is answered.
        let response = http_post(
            &server,
            r#"{"jsonrpc":"2.0","id":1,"method":"bestBlock","params":[]}"#,
        )
        .await;
        assert!(response.contains(&h64(GENESIS)), "{response}");
    });
}

#[test]
fn connection_limit_is_enforced() {
    let config = RpcConfig {
        max_connections: 2,
        ..loopback()
    };
    run(&config, |_, server, first| async move {
        ok(&first, "bestBlock", json!([])).await;
        let second = connect(&server).await.unwrap();
        ok(&second, "bestBlock", json!([])).await;
        assert!(
            connect(&server).await.is_err(),
            "a third connection is refused"
        );
        // A freed slot can be taken again (once the server saw the close).
        drop(second);
        let mut third = None;
        for _ in 0..100 {
            if let Ok(c) = connect(&server).await {
                third = Some(c);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let third = third.expect("a freed connection slot is reused");
        ok(&third, "bestBlock", json!([])).await;
    });
}

#[test]
fn batch_and_size_limits_are_enforced() {
    let config = RpcConfig {
        max_batch_len: 2,
        max_request_size: 4096,
        ..loopback()
    };
    run(&config, |_, server, client| async move {
        let mut two = BatchRequestBuilder::new();
        two.insert("bestBlock", rpc_params![]).unwrap();
        two.insert("finalizedBlock", rpc_params![]).unwrap();
        let answered = client.batch_request::<Value>(two).await.unwrap();
        assert_eq!(answered.num_successful_calls(), 2);
        let mut three = BatchRequestBuilder::new();
        for _ in 0..3 {
            three.insert("bestBlock", rpc_params![]).unwrap();
        }
        let refused = client.batch_request::<Value>(three).await;
        assert!(
            refused
                .as_ref()
                .map_or(true, |r| r.num_successful_calls() == 0),
            "a batch over the limit is refused: {refused:?}"
        );
        // A request over the size limit.
        let big = connect(&server).await.unwrap();
        assert!(
            call(&big, "submitPreimage", json!([SERVICE, b64(&[0u8; 8192])]))
                .await
                .is_err(),
            "an oversized request is refused"
        );
        // Under it, fine (on a new connection: the refusals above answer
        // with id null, which makes jsonrpsee's client drop its connection).
        let fresh = connect(&server).await.unwrap();
        assert_eq!(
            ok(
                &fresh,
                "submitPreimage",
                json!([SERVICE, b64(&[0u8; 1024])])
            )
            .await,
            Value::Null
        );
    });
}

/// Sends `request` (raw HTTP/1.1, `Connection: close`) and reads the whole
/// response.
async fn http_raw(server: &RpcServer, request: String) -> String {
    let mut stream = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

fn post_from(origin: Option<&str>) -> String {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"bestBlock","params":[]}"#;
    let origin = origin
        .map(|o| format!("Origin: {o}\r\n"))
        .unwrap_or_default();
    format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\n{origin}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn websocket_handshake_from(origin: &str) -> String {
    format!(
        "GET / HTTP/1.1\r\nHost: localhost\r\nOrigin: {origin}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// `--rpc-cors` with a list: a browser request or WebSocket handshake from
/// another origin is refused with 403 before any method runs; an allowed
/// origin is answered with `Access-Control-Allow-Origin` (and its
/// preflight too); clients sending no `Origin` are served.
#[test]
fn cors_origins_are_enforced_on_http_and_websocket() {
    let config = RpcConfig {
        cors: "http://good.example:3000".parse().expect("an origin"),
        ..loopback()
    };
    run(&config, |_, server, client| async move {
        // The test's own WebSocket client sends no Origin.
        ok(&client, "bestBlock", json!([])).await;

        let refused = http_raw(&server, post_from(Some("http://evil.example"))).await;
        assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
        assert!(!refused.contains(&h64(GENESIS)), "{refused}");

        let allowed = http_raw(&server, post_from(Some("http://good.example:3000"))).await;
        assert!(allowed.starts_with("HTTP/1.1 200"), "{allowed}");
        assert!(allowed.contains(&h64(GENESIS)), "{allowed}");
        assert!(
            allowed
                .to_ascii_lowercase()
                .contains("access-control-allow-origin: http://good.example:3000"),
            "{allowed}"
        );

        let none = http_raw(&server, post_from(None)).await;
        assert!(none.starts_with("HTTP/1.1 200"), "{none}");
        assert!(
            !none
                .to_ascii_lowercase()
                .contains("access-control-allow-origin"),
            "{none}"
        );

        let preflight = http_raw(
            &server,
            "OPTIONS / HTTP/1.1\r\nHost: localhost\r\nOrigin: http://good.example:3000\r\nAccess-Control-Request-Method: POST\r\nConnection: close\r\n\r\n".into(),
        )
        .await
        .to_ascii_lowercase();
        assert!(preflight.starts_with("http/1.1 200"), "{preflight}");
        assert!(
            preflight.contains("access-control-allow-methods"),
            "{preflight}"
        );

        // A handshake's connection stays open: read its status line only.
        let status = |origin: &'static str| {
            let addr = server.local_addr();
            async move {
                let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                stream
                    .write_all(websocket_handshake_from(origin).as_bytes())
                    .await
                    .unwrap();
                let mut head = [0u8; 12];
                stream.read_exact(&mut head).await.unwrap();
                String::from_utf8_lossy(&head).into_owned()
            }
        };
        assert_eq!(status("http://evil.example").await, "HTTP/1.1 403");
        assert_eq!(status("http://good.example:3000").await, "HTTP/1.1 101");

        // And the node keeps serving.
        ok(&client, "bestBlock", json!([])).await;
    });
}

/// `--rpc-cors all` (the default) serves every origin.
#[test]
fn cors_all_serves_every_origin() {
    run(&loopback(), |_, server, _| async move {
        let response = http_raw(&server, post_from(Some("http://any.example"))).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.contains(&h64(GENESIS)), "{response}");
    });
}
