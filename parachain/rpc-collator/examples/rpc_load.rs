//! Load on a node's JSON-RPC server: `CLIENTS` WebSocket clients (64 by
//! default) each calling `bestBlock` back to back for `SECS` seconds (10);
//! prints the calls per second and the latency percentiles.
//!
//! `cargo run --release -p parajam-rpc-collator --example rpc_load -- ws://127.0.0.1:19800 [CLIENTS] [SECS]`

use std::time::{Duration, Instant};

use jsonrpsee::core::client::ClientT;
use jsonrpsee::rpc_params;
use jsonrpsee_ws_client::WsClientBuilder;
use serde_json::Value;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: rpc_load ws://HOST:PORT [CLIENTS] [SECS]")?;
    let clients: usize = args.next().map_or(Ok(64), |a| a.parse())?;
    let secs: u64 = args.next().map_or(Ok(10), |a| a.parse())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (latencies, elapsed) = runtime.block_on(async move {
        let mut connected = Vec::new();
        for _ in 0..clients {
            connected.push(
                WsClientBuilder::default()
                    .request_timeout(Duration::from_secs(30))
                    .build(&url)
                    .await?,
            );
        }
        let started = Instant::now();
        let until = started + Duration::from_secs(secs);
        let tasks: Vec<_> = connected
            .into_iter()
            .map(|client| {
                tokio::spawn(async move {
                    let mut own = Vec::new();
                    while Instant::now() < until {
                        let t = Instant::now();
                        let _: Value = client.request("bestBlock", rpc_params![]).await?;
                        own.push(t.elapsed());
                    }
                    Ok::<_, jsonrpsee::core::client::Error>(own)
                })
            })
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await??);
        }
        Ok::<_, Box<dyn std::error::Error>>((all, started.elapsed()))
    })?;
    let mut sorted = latencies;
    sorted.sort_unstable();
    let at = |q: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
        sorted.get(i).copied().unwrap_or_default()
    };
    #[allow(clippy::cast_precision_loss)]
    let rate = sorted.len() as f64 / elapsed.as_secs_f64();
    println!(
        "{clients} clients, {} bestBlock calls in {:.1} s: {rate:.0} calls/s; latency p50 {:?}, p99 {:?}, max {:?}",
        sorted.len(),
        elapsed.as_secs_f64(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
    Ok(())
}
