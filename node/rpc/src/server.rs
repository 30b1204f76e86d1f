//! The JIP-2 methods as a jsonrpsee [`RpcModule`] over a [`NodeApi`], and
//! the WebSocket server that serves it.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use jsonrpsee::core::SubscriptionError;
use jsonrpsee::server::{
    BatchRequestConfig, PendingSubscriptionSink, RegisterMethodError, RpcModule, Server,
    ServerConfig, ServerHandle, SubscriptionMessage, SubscriptionSink,
};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;

use crate::api::{ApiError, NodeApi, NodeEvent};
use crate::cors::{Cors, CorsLayer};
use crate::types::{Blob, BlockDescriptor, ChainUpdate, Hash, SyncStatus};

/// JIP-2's port.
pub const DEFAULT_PORT: u16 = 19800;

/// The server's address, limits and allowed origins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcConfig {
    /// Where to listen (default `127.0.0.1:19800`; port 0 picks a free one).
    pub addr: SocketAddr,
    /// Connections served at once; more are refused.
    pub max_connections: u32,
    /// Largest request, in octets (a work-package bundle in Base64 is up
    /// to `4/3 W_B`).
    pub max_request_size: u32,
    /// Largest response, in octets.
    pub max_response_size: u32,
    /// Most calls in one batch; `0` refuses batches.
    pub max_batch_len: u32,
    /// Subscriptions one connection may hold.
    pub max_subscriptions_per_connection: u32,
    /// Browser origins allowed to call (`--rpc-cors`); requests without an
    /// `Origin` header are not browsers' and always pass.
    pub cors: Cors,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT)),
            max_connections: 100,
            max_request_size: 32 * 1024 * 1024,
            max_response_size: 32 * 1024 * 1024,
            max_batch_len: 64,
            max_subscriptions_per_connection: 1024,
            cors: Cors::All,
        }
    }
}

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The reason.
        source: std::io::Error,
    },
    /// A method could not be registered (a bug: names are fixed).
    #[error("registering the methods: {0}")]
    Register(#[from] RegisterMethodError),
}

/// A running server; dropping it leaves the server running until
/// [`RpcServer::stop`].
#[derive(Debug, Clone)]
pub struct RpcServer {
    handle: ServerHandle,
    addr: SocketAddr,
}

impl RpcServer {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server (idempotent).
    pub fn stop(&self) {
        // Already stopped is fine.
        let _ = self.handle.stop();
    }

    /// Resolves when the server has stopped.
    pub async fn stopped(self) {
        self.handle.stopped().await;
    }
}

/// Starts the JIP-2 server for `api` with `config`, on the current tokio
/// runtime.
pub async fn start<A: NodeApi>(config: &RpcConfig, api: Arc<A>) -> Result<RpcServer, RpcError> {
    start_with(config, api, jsonrpsee::Methods::new()).await
}

/// [`start`] with `extra` methods beside JIP-2's (e.g. the node's
/// `parajam_*` methods for collators).
pub async fn start_with<A: NodeApi>(
    config: &RpcConfig,
    api: Arc<A>,
    extra: jsonrpsee::Methods,
) -> Result<RpcServer, RpcError> {
    let mut module = rpc_module(api)?;
    module.merge(extra)?;
    let batch = match config.max_batch_len {
        0 => BatchRequestConfig::Disabled,
        n => BatchRequestConfig::Limit(n),
    };
    let server_config = ServerConfig::builder()
        .max_connections(config.max_connections)
        .max_request_body_size(config.max_request_size)
        .max_response_body_size(config.max_response_size)
        .max_subscriptions_per_connection(config.max_subscriptions_per_connection)
        .set_batch_request_config(batch)
        .build();
    let bind = |source| RpcError::Bind {
        addr: config.addr,
        source,
    };
    let server = Server::builder()
        .set_config(server_config)
        .set_http_middleware(
            tower::ServiceBuilder::new().layer(CorsLayer::new(config.cors.clone())),
        )
        .build(config.addr)
        .await
        .map_err(bind)?;
    let addr = server.local_addr().map_err(bind)?;
    Ok(RpcServer {
        handle: server.start(module),
        addr,
    })
}

/// Every JIP-2 method and subscription name this module serves (the
/// `unsubscribe…` counterparts are registered too).
pub const JIP2_METHODS: [&str; 29] = [
    "parameters",
    "bestBlock",
    "subscribeBestBlock",
    "finalizedBlock",
    "subscribeFinalizedBlock",
    "parent",
    "stateRoot",
    "beefyRoot",
    "statistics",
    "subscribeStatistics",
    "serviceData",
    "subscribeServiceData",
    "serviceValue",
    "subscribeServiceValue",
    "servicePreimage",
    "subscribeServicePreimage",
    "serviceRequest",
    "subscribeServiceRequest",
    "workReport",
    "submitWorkPackage",
    "submitWorkPackageBundle",
    "workPackageStatus",
    "subscribeWorkPackageStatus",
    "submitPreimage",
    "listServices",
    "fetchWorkPackageSegments",
    "fetchSegments",
    "syncState",
    "subscribeSyncStatus",
];

/// A method without parameters (any given are ignored).
fn method0<A: NodeApi, T: Serialize + Clone + Send + 'static>(
    module: &mut RpcModule<A>,
    name: &'static str,
    call: fn(&A) -> T,
) -> Result<(), RegisterMethodError> {
    module.register_blocking_method(name, move |_: Params<'_>, api: Arc<A>, _| {
        api.on_call(name);
        Ok::<T, ErrorObjectOwned>(call(&api))
    })?;
    Ok(())
}

/// A method whose by-position parameters parse as `P` (a tuple): anything
/// else is JSON-RPC "invalid params" (-32602).
fn method<A, P, T>(
    module: &mut RpcModule<A>,
    name: &'static str,
    call: fn(&A, P) -> Result<T, ApiError>,
) -> Result<(), RegisterMethodError>
where
    A: NodeApi,
    P: DeserializeOwned + Send + 'static,
    T: Serialize + Clone + Send + 'static,
{
    module.register_blocking_method(name, move |params: Params<'_>, api: Arc<A>, _| {
        api.on_call(name);
        let p: P = params.parse()?;
        call(&api, p).map_err(ErrorObjectOwned::from)
    })?;
    Ok(())
}

/// The name of the `unsubscribe…` method of a `subscribe…` one.
fn unsubscribe_name(subscribe: &'static str) -> &'static str {
    match subscribe {
        "subscribeBestBlock" => "unsubscribeBestBlock",
        "subscribeFinalizedBlock" => "unsubscribeFinalizedBlock",
        "subscribeStatistics" => "unsubscribeStatistics",
        "subscribeServiceData" => "unsubscribeServiceData",
        "subscribeServiceValue" => "unsubscribeServiceValue",
        "subscribeServicePreimage" => "unsubscribeServicePreimage",
        "subscribeServiceRequest" => "unsubscribeServiceRequest",
        "subscribeWorkPackageStatus" => "unsubscribeWorkPackageStatus",
        _ => "unsubscribeSyncStatus",
    }
}

/// Sends `item` as a notification; `Err` when the subscriber is gone.
///
/// Serialized before the first await, so the future holds no borrow of it.
fn send<'a, T: Serialize>(
    sink: &'a SubscriptionSink,
    item: &T,
) -> impl Future<Output = Result<(), ()>> + Send + 'a {
    let json = serde_json::value::to_raw_value(item);
    async move {
        let json = json.map_err(|_| ())?;
        sink.send(SubscriptionMessage::from(json))
            .await
            .map_err(|_| ())
    }
}

fn tracked<A: NodeApi>(api: &A, finalized: bool) -> BlockDescriptor {
    if finalized {
        api.finalized_block()
    } else {
        api.best_block()
    }
}

/// Waits for the next block the subscription tracks; `None` when the
/// subscriber left or the node stopped.
async fn next_block<A: NodeApi>(
    sink: &SubscriptionSink,
    events: &mut tokio::sync::broadcast::Receiver<NodeEvent>,
    api: &A,
    finalized: bool,
) -> Option<BlockDescriptor> {
    loop {
        tokio::select! {
            () = sink.closed() => return None,
            event = events.recv() => match event {
                Ok(NodeEvent::Best(b)) if !finalized => return Some(b),
                Ok(NodeEvent::Finalized(b)) if finalized => return Some(b),
                Ok(_) => {}
                // Missed some: the node's current block is what counts.
                Err(RecvError::Lagged(_)) => return Some(tracked(api, finalized)),
                Err(RecvError::Closed) => return None,
            },
        }
    }
}

/// `subscribeBestBlock` / `subscribeFinalizedBlock`: the current block,
/// then each new one.
fn block_subscription<A: NodeApi>(
    module: &mut RpcModule<A>,
    name: &'static str,
    finalized: bool,
) -> Result<(), RegisterMethodError> {
    module.register_subscription(
        name,
        name,
        unsubscribe_name(name),
        move |_: Params<'static>, pending: PendingSubscriptionSink, api: Arc<A>, _| async move {
            api.on_call(name);
            let mut events = api.events();
            let Ok(sink) = pending.accept().await else {
                return;
            };
            let mut block = tracked(&*api, finalized);
            loop {
                if send(&sink, &block).await.is_err() {
                    return;
                }
                match next_block(&sink, &mut events, &*api, finalized).await {
                    Some(b) => block = b,
                    None => return,
                }
            }
        },
    )?;
    Ok(())
}

/// A chain subscription (JIP-2 "Chain subscriptions"): its parameters
/// parse to a query and the `finalized` flag; each time the tracked block
/// changes, the value is read in its posterior state and sent, as a Chain
/// Subscription Update, when it differs from the last one sent (the first
/// is always sent). A value that cannot be read ends the subscription with
/// an error notification.
fn chain_subscription<A, Q, T>(
    module: &mut RpcModule<A>,
    name: &'static str,
    parse: fn(&Params<'static>) -> Result<(Q, bool), ErrorObjectOwned>,
    value: fn(&A, &Hash, &Q) -> Result<T, ApiError>,
) -> Result<(), RegisterMethodError>
where
    A: NodeApi,
    Q: Clone + Send + Sync + 'static,
    T: Serialize + PartialEq + Send + Sync + 'static,
{
    module.register_subscription(
        name,
        name,
        unsubscribe_name(name),
        move |params: Params<'static>, pending: PendingSubscriptionSink, api: Arc<A>, _| {
            api.on_call(name);
            follow_chain(params, pending, api, parse, value)
        },
    )?;
    Ok(())
}

/// The body of a [`chain_subscription`].
async fn follow_chain<A, Q, T>(
    params: Params<'static>,
    pending: PendingSubscriptionSink,
    api: Arc<A>,
    parse: fn(&Params<'static>) -> Result<(Q, bool), ErrorObjectOwned>,
    value: fn(&A, &Hash, &Q) -> Result<T, ApiError>,
) -> Result<(), SubscriptionError>
where
    A: NodeApi,
    Q: Clone + Send + Sync + 'static,
    T: Serialize + PartialEq + Send + Sync + 'static,
{
    let (query, finalized) = match parse(&params) {
        Ok(q) => q,
        Err(e) => {
            pending.reject(e).await;
            return Ok(());
        }
    };
    let mut events = api.events();
    let Ok(sink) = pending.accept().await else {
        return Ok(());
    };
    let mut block = tracked(&*api, finalized);
    let mut last: Option<T> = None;
    loop {
        let (a, q) = (api.clone(), query.clone());
        let read = tokio::task::spawn_blocking(move || value(&a, &block.header_hash, &q))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        if last.as_ref() != Some(&read) {
            let update = ChainUpdate {
                header_hash: block.header_hash,
                slot: block.slot,
                value: &read,
            };
            if send(&sink, &update).await.is_err() {
                return Ok(());
            }
            last = Some(read);
        }
        match next_block(&sink, &mut events, &*api, finalized).await {
            Some(b) => block = b,
            None => return Ok(()),
        }
    }
}

/// `subscribeSyncStatus`: the current status, then each change.
fn sync_subscription<A: NodeApi>(module: &mut RpcModule<A>) -> Result<(), RegisterMethodError> {
    let name = "subscribeSyncStatus";
    module.register_subscription(
        name,
        name,
        unsubscribe_name(name),
        move |_: Params<'static>, pending: PendingSubscriptionSink, api: Arc<A>, _| async move {
            api.on_call(name);
            let mut events = api.events();
            let Ok(sink) = pending.accept().await else {
                return;
            };
            let mut last: SyncStatus = api.sync_state().status;
            if send(&sink, &last).await.is_err() {
                return;
            }
            loop {
                let status = tokio::select! {
                    () = sink.closed() => return,
                    event = events.recv() => match event {
                        Ok(NodeEvent::Sync(s)) => s,
                        Ok(_) => continue,
                        Err(RecvError::Lagged(_)) => api.sync_state().status,
                        Err(RecvError::Closed) => return,
                    },
                };
                if status != last {
                    if send(&sink, &status).await.is_err() {
                        return;
                    }
                    last = status;
                }
            }
        },
    )?;
    Ok(())
}

/// The JIP-2 methods and subscriptions over `api`.
#[allow(clippy::too_many_lines)] // one registration per JIP-2 method
pub fn rpc_module<A: NodeApi>(api: Arc<A>) -> Result<RpcModule<A>, RegisterMethodError> {
    let mut m = RpcModule::from_arc(api);
    method0(&mut m, "parameters", A::parameters)?;
    method0(&mut m, "bestBlock", A::best_block)?;
    method0(&mut m, "finalizedBlock", A::finalized_block)?;
    method0(&mut m, "syncState", A::sync_state)?;
    method(&mut m, "parent", |a: &A, (h,): (Hash,)| a.parent(&h))?;
    method(&mut m, "stateRoot", |a: &A, (h,): (Hash,)| a.state_root(&h))?;
    method(&mut m, "beefyRoot", |a: &A, (h,): (Hash,)| a.beefy_root(&h))?;
    method(&mut m, "statistics", |a: &A, (h,): (Hash,)| {
        a.statistics(&h)
    })?;
    method(&mut m, "serviceData", |a: &A, (h, s): (Hash, u32)| {
        a.service_data(&h, s)
    })?;
    method(
        &mut m,
        "serviceValue",
        |a: &A, (h, s, k): (Hash, u32, Blob)| a.service_value(&h, s, &k.0),
    )?;
    method(
        &mut m,
        "servicePreimage",
        |a: &A, (h, s, p): (Hash, u32, Hash)| a.service_preimage(&h, s, &p),
    )?;
    method(
        &mut m,
        "serviceRequest",
        |a: &A, (h, s, p, len): (Hash, u32, Hash, u32)| a.service_request(&h, s, &p, len),
    )?;
    method(&mut m, "workReport", |a: &A, (h,): (Hash,)| {
        a.work_report(&h)
    })?;
    method(
        &mut m,
        "submitWorkPackage",
        |a: &A, (core, package, extrinsics): (u16, Blob, Vec<Blob>)| {
            a.submit_work_package(
                core,
                package.0,
                extrinsics.into_iter().map(|b| b.0).collect(),
            )
        },
    )?;
    method(
        &mut m,
        "submitWorkPackageBundle",
        |a: &A, (core, b): (u16, Blob)| a.submit_work_package_bundle(core, b.0),
    )?;
    method(
        &mut m,
        "workPackageStatus",
        |a: &A, (h, p, anchor): (Hash, Hash, Hash)| a.work_package_status(&h, &p, &anchor),
    )?;
    method(&mut m, "submitPreimage", |a: &A, (s, p): (u32, Blob)| {
        a.submit_preimage(s, p.0)
    })?;
    method(&mut m, "listServices", |a: &A, (h,): (Hash,)| {
        a.list_services(&h)
    })?;
    method(
        &mut m,
        "fetchWorkPackageSegments",
        |a: &A, (p, i): (Hash, Vec<u16>)| a.fetch_work_package_segments(&p, &i),
    )?;
    method(
        &mut m,
        "fetchSegments",
        |a: &A, (r, i): (Hash, Vec<u16>)| a.fetch_segments(&r, &i),
    )?;

    block_subscription(&mut m, "subscribeBestBlock", false)?;
    block_subscription(&mut m, "subscribeFinalizedBlock", true)?;
    sync_subscription(&mut m)?;
    chain_subscription(
        &mut m,
        "subscribeStatistics",
        |p| p.parse::<(bool,)>().map(|(f,)| ((), f)),
        |a: &A, h, (): &()| a.statistics(h),
    )?;
    chain_subscription(
        &mut m,
        "subscribeServiceData",
        |p| p.parse::<(u32, bool)>(),
        |a: &A, h, s: &u32| a.service_data(h, *s),
    )?;
    chain_subscription(
        &mut m,
        "subscribeServiceValue",
        |p| p.parse::<(u32, Blob, bool)>().map(|(s, k, f)| ((s, k), f)),
        |a: &A, h, (s, k): &(u32, Blob)| a.service_value(h, *s, &k.0),
    )?;
    chain_subscription(
        &mut m,
        "subscribeServicePreimage",
        |p| p.parse::<(u32, Hash, bool)>().map(|(s, x, f)| ((s, x), f)),
        |a: &A, h, (s, x): &(u32, Hash)| a.service_preimage(h, *s, x),
    )?;
    chain_subscription(
        &mut m,
        "subscribeServiceRequest",
        |p| {
            p.parse::<(u32, Hash, u32, bool)>()
                .map(|(s, x, len, f)| ((s, x, len), f))
        },
        |a: &A, h, (s, x, len): &(u32, Hash, u32)| a.service_request(h, *s, x, *len),
    )?;
    chain_subscription(
        &mut m,
        "subscribeWorkPackageStatus",
        |p| {
            p.parse::<(Hash, Hash, bool)>()
                .map(|(x, anchor, f)| ((x, anchor), f))
        },
        |a: &A, h, (x, anchor): &(Hash, Hash)| a.work_package_status(h, x, anchor),
    )?;
    Ok(m)
}
