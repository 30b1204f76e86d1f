//! The JSON-RPC client side both test binaries share: calls with JSON
//! parameters, their answers or error codes, subscription notifications
//! (each bounded in time).

#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use jsonrpsee::core::client::{ClientT, Error as ClientError, Subscription, SubscriptionClientT};
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee_ws_client::WsClient;
use serde_json::Value;

/// Runs `test` on a runtime of two worker threads, within `limit`.
pub fn block_on_within<F: std::future::Future>(limit: Duration, test: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(limit, test)
                .await
                .expect("the test finishes in time")
        })
}

/// Base64, as JIP-2 carries octets.
pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// `method` with the elements of the JSON array `params` as positional
/// parameters.
pub async fn call(client: &WsClient, method: &str, params: Value) -> Result<Value, ClientError> {
    let mut builder = ArrayParams::new();
    for p in params.as_array().cloned().unwrap_or_default() {
        builder.insert(p).unwrap();
    }
    client.request(method, builder).await
}

/// The answer of a call that must succeed.
pub async fn ok(client: &WsClient, method: &str, params: Value) -> Value {
    call(client, method, params)
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"))
}

/// A subscription by `method` (`subscribe…`, ended by `unsubscribe…`)
/// with the elements of the JSON array `params`.
pub async fn subscribe(
    client: &WsClient,
    method: &str,
    params: Value,
) -> Result<Subscription<Value>, ClientError> {
    let mut builder = ArrayParams::new();
    for p in params.as_array().cloned().unwrap_or_default() {
        builder.insert(p).unwrap();
    }
    let unsubscribe = format!("un{method}");
    client.subscribe(method, builder, &unsubscribe).await
}

/// A subscription that must open.
pub async fn subscribed(client: &WsClient, method: &str, params: Value) -> Subscription<Value> {
    subscribe(client, method, params)
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"))
}

/// The error code and data of a call that must fail.
pub async fn err(client: &WsClient, method: &str, params: Value) -> (i32, Option<Value>) {
    match call(client, method, params).await {
        Err(ClientError::Call(e)) => (
            e.code(),
            e.data().map(|d| serde_json::from_str(d.get()).unwrap()),
        ),
        other => panic!("{method}: expected an error response, got {other:?}"),
    }
}

/// The error code of a call that must fail.
pub async fn code(client: &WsClient, method: &str, params: Value) -> i32 {
    err(client, method, params).await.0
}

/// The next notification of `sub`, within 20 s.
pub async fn next(sub: &mut Subscription<Value>) -> Value {
    tokio::time::timeout(Duration::from_secs(20), sub.next())
        .await
        .expect("a notification in time")
        .expect("the subscription is open")
        .expect("the notification decodes")
}
