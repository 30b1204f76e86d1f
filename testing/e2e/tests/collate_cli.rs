//! `parajam collate` against `parajam run --dev`, through the real binaries
//! and real sockets on loopback, bounded in time: the adder collator
//! advances para 2000 and the head it prints is the one `serviceValue`
//! shows (and a second collator takes over from it); a collator with no
//! node is a clear error; a full work-package queue answers "busy" while
//! the node keeps
//! authoring; a flood of WebSocket connections past
//! `--rpc-max-connections` is refused while the connected clients keep
//! working. SLOW (runtime/parachain is built by `parajam pvf build`, cached
//! in `~/.cache/parajam/runtimes`): two collators at once, the adder and
//! runtime/parachain (registered at run time by the registrar's work
//! package), both heads advance, and runtime/parachain upgrades to its
//! `upgraded` build through RPC (`RegisterBuild` package, the artifact by
//! `submitPreimage`, the para's `set_code`).

mod node_common;

use std::process::Command;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use jsonrpsee::core::client::ClientT;
use jsonrpsee::rpc_params;
use jsonrpsee_ws_client::{WsClient, WsClientBuilder};
use node_common::{rpc, start, Collator};
use parajam_corechains_types::state::StorageKey;
use parajam_corechains_types::{
    AuthScope, HeadData, ParaId, ParachainCandidate, ValidationCodeHash, WorkItemPayload,
};
use parajam_e2e::parajam_binary;
use parajam_primitives::types::{OpaqueHash, RefineContext};
use parajam_primitives::ProtocolParameters;
use parity_scale_codec::Decode;
use serde_json::Value;

fn result(response: &str) -> Value {
    let body = response.split("\r\n\r\n").nth(1).expect("an HTTP body");
    let json: Value = serde_json::from_str(body).expect("JSON");
    json["result"].clone()
}

/// `para`'s head in the CoreChains service's storage (`serviceValue`) at
/// the best block.
fn stored_head(addr: &str, para: u32) -> Vec<u8> {
    let best = result(&rpc(addr, "bestBlock", "[]"));
    let key = STANDARD.encode(StorageKey::Head(ParaId(para)).to_key());
    let value = result(&rpc(
        addr,
        "serviceValue",
        &format!(r#"[{},1000,"{key}"]"#, best["header_hash"]),
    ));
    let octets = STANDARD
        .decode(value.as_str().expect("the para is registered"))
        .expect("Base64");
    HeadData::decode(&mut &octets[..]).expect("a head").0
}

/// The head hash a block line prints, `0x12345678…9abcdef0`, as (prefix,
/// suffix).
fn printed_head(line: &str) -> (String, String) {
    let hash = line
        .split(" head 0x")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .expect("a head hash");
    let (prefix, suffix) = hash.split_once('…').expect("a shortened hash");
    (prefix.to_owned(), suffix.to_owned())
}

/// Asserts the last block line of `collator` names the head `serviceValue`
/// shows for `para` now.
fn assert_stored_head_is_printed(addr: &str, para: u32, collator: &Collator) {
    let blocks = collator.blocks();
    let last = blocks.last().expect("a block line");
    let stored = hex::encode(parajam_crypto::blake2b_256(&stored_head(addr, para)));
    let (prefix, suffix) = printed_head(last);
    assert!(
        stored.starts_with(&prefix) && stored.ends_with(&suffix),
        "{last} vs the stored head 0x{stored}"
    );
}

fn best_slot(addr: &str) -> u64 {
    result(&rpc(addr, "bestBlock", "[]"))["slot"]
        .as_u64()
        .expect("a slot")
}

#[test]
fn the_adder_collator_advances_para_2000_and_prints_the_stored_head() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut node = start(&[], dir.path(), &["--dev", "--slot-duration-ms", "1000"]);
    let addr = node.rpc_addr();
    let mut collator = Collator::spawn(&addr, &["--runtime", "adder", "--blocks", "3"]);
    assert!(
        collator.wait(Duration::from_secs(180)),
        "{}",
        collator.output()
    );
    let blocks = collator.blocks();
    assert_eq!(blocks.len(), 3, "{}", collator.output());
    for (n, line) in blocks.iter().enumerate() {
        assert!(
            line.starts_with(&format!("para 2000 block #{} head 0x", n + 1)),
            "{line}"
        );
        // Submitted at a slot, enacted at a later one, with refine gas.
        let numbers: Vec<u64> = line.split(' ').filter_map(|w| w.parse().ok()).collect();
        let (submitted, enacted, gas) = (numbers[1], numbers[2], numbers[3]);
        assert!(enacted > submitted, "{line}");
        assert!(gas > 0, "{line}");
    }
    assert!(collator.output().contains("3 blocks enacted"));
    assert_stored_head_is_printed(&addr, 2000, &collator);
    let stored = parajam_adder::HeadData::decode(&stored_head(&addr, 2000)).expect("a head");
    assert_eq!(stored.number, 3);
    node.wait_for("para 2000 head");

    // A second collator takes over from the node's head.
    let mut again = Collator::spawn(&addr, &["--runtime", "adder", "--blocks", "1"]);
    assert!(again.wait(Duration::from_secs(120)), "{}", again.output());
    assert!(
        again.blocks()[0].starts_with("para 2000 block #4 "),
        "{}",
        again.output()
    );
    assert_stored_head_is_printed(&addr, 2000, &again);
}

#[test]
fn a_collator_with_no_node_is_a_clear_error() {
    // A port nobody listens on: bind one, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let output = Command::new(parajam_binary())
        .args(["collate", "--runtime", "adder", "--rpc-timeout-secs", "5"])
        .args(["--jam-rpc-url", &format!("ws://127.0.0.1:{port}")])
        .output()
        .expect("running parajam collate");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot connect to ws://127.0.0.1"),
        "{stderr}"
    );
}

/// A well-formed adder package on `block` (whatever its fate in refine):
/// it takes a place in the node's queue.
fn filler_package(block: &Value, n: u64) -> String {
    let hash = OpaqueHash::from(
        <[u8; 32]>::try_from(
            STANDARD
                .decode(block["header_hash"].as_str().expect("a hash"))
                .expect("Base64"),
        )
        .expect("32 octets"),
    );
    let slot = u32::try_from(block["slot"].as_u64().expect("a slot")).expect("u32");
    let context = RefineContext {
        anchor: hash,
        state_root: hash,
        beefy_root: hash,
        lookup_anchor: hash,
        lookup_anchor_slot: slot,
        prerequisites: Vec::new(),
    };
    let pov = parajam_adder::BlockData { state: n, add: n }
        .encode()
        .to_vec();
    let candidate = ParachainCandidate {
        para_id: ParaId(2000),
        parent_head: HeadData(parajam_adder::HeadData::genesis(n).encode().to_vec()),
        validation_code_hash: ValidationCodeHash([0; 32]),
        anchor: hash.0,
        relay_parent_number: slot,
        relay_parent_storage_root: [0; 32],
        block_data_hash: parajam_crypto::blake2b_256(&pov),
    };
    let params = ProtocolParameters::TINY;
    let package = parajam_rpc_collator::package(
        &params,
        context,
        AuthScope::Para(ParaId(2000)),
        &WorkItemPayload::Candidate(candidate),
        std::slice::from_ref(&pov),
    )
    .expect("a package");
    let octets = parajam_primitives::codec::with_params(&params, || {
        parajam_primitives::codec::Encode::encode(&package)
    });
    format!(
        r#"[0,"{}",["{}"]]"#,
        STANDARD.encode(octets),
        STANDARD.encode(&pov)
    )
}

#[test]
fn a_full_queue_is_busy_while_the_node_authors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut node = start(
        &[],
        dir.path(),
        &[
            "--dev",
            "--slot-duration-ms",
            "300",
            "--queue-capacity",
            "1",
        ],
    );
    let addr = node.rpc_addr();

    // Busy: rounds of 24 packages at once into a queue of one.
    let mut busy = None;
    for round in 0..10u64 {
        let block = result(&rpc(&addr, "bestBlock", "[]"));
        let answers: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..24u64)
                .map(|i| {
                    let params = filler_package(&block, round * 100 + i);
                    let addr = addr.clone();
                    s.spawn(move || rpc(&addr, "submitWorkPackage", &params))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a submitter"))
                .collect()
        });
        busy = answers.into_iter().find(|a| a.contains("busy"));
        if busy.is_some() {
            break;
        }
    }
    let busy = busy.expect("some submission finds the queue full");
    let body = busy.split("\r\n\r\n").nth(1).expect("a body");
    let error: Value = serde_json::from_str(body).expect("JSON");
    assert_eq!(error["error"]["code"], 0, "{body}");
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("busy")),
        "{body}"
    );
    let slot = best_slot(&addr);
    node.wait_for(&format!("at slot {}", slot + 2));
}

#[test]
fn a_connection_flood_is_refused_while_clients_keep_working() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut node = start(
        &[],
        dir.path(),
        &[
            "--dev",
            "--slot-duration-ms",
            "300",
            "--rpc-max-connections",
            "48",
        ],
    );
    let addr = node.rpc_addr();

    // The flood: 48 connections allowed; 8 clients hold theirs, 60 more
    // try at once.
    let runtime = parajam_e2e::tokio_runtime();
    runtime.block_on(async {
        let url = format!("ws://{addr}");
        let connect = |url: String| async move {
            tokio::time::timeout(
                Duration::from_secs(20),
                WsClientBuilder::default()
                    .request_timeout(Duration::from_secs(20))
                    .build(url),
            )
            .await
        };
        let mut held: Vec<WsClient> = Vec::new();
        for _ in 0..8 {
            held.push(
                connect(url.clone())
                    .await
                    .expect("in time")
                    .expect("a connection under the limit"),
            );
        }
        let flood: Vec<_> = (0..60)
            .map(|_| tokio::spawn(connect(url.clone())))
            .collect();
        let mut accepted = Vec::new();
        let mut refused = 0;
        for task in flood {
            match task.await.expect("a task") {
                Ok(Ok(client)) => {
                    // Accepted, unless the server closes it at once.
                    match client.request::<Value, _>("bestBlock", rpc_params![]).await {
                        Ok(_) => accepted.push(client),
                        Err(_) => refused += 1,
                    }
                }
                Ok(Err(_)) | Err(_) => refused += 1,
            }
        }
        assert!(
            accepted.len() + held.len() <= 48,
            "{} connections served at once, the limit is 48",
            accepted.len() + held.len()
        );
        assert!(refused >= 20, "only {refused} of 60 refused");
        // The held clients still work, and see the chain advance.
        // (Over HTTP a new connection would be refused too: ask a held one.)
        let best: Value = held[0]
            .request("bestBlock", rpc_params![])
            .await
            .expect("a held client answers");
        let before = best["slot"].as_u64().expect("a slot");
        node.wait_for(&format!("at slot {}", before + 2));
        for client in &held {
            let best: Value = client
                .request("bestBlock", rpc_params![])
                .await
                .expect("a held client still answers");
            assert!(best["slot"].as_u64().expect("a slot") > before);
        }
    });
}

/// runtime/parachain's crate directory.
#[test]
fn slow_two_collators_advance_both_paras_and_runtime_parachain_upgrades_over_rpc() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut node = start(&[], dir.path(), &["--dev", "--slot-duration-ms", "2000"]);
    let addr = node.rpc_addr();
    let mut parachain = Collator::runtime_parachain(
        &addr,
        2001,
        &[
            "--blocks",
            "8",
            "--upgrade",
            "self",
            "--upgrade-features",
            "upgraded",
            "--upgrade-at",
            "2",
            "--enact-blocks",
            "12",
        ],
    );
    let mut adder = Collator::spawn(&addr, &["--runtime", "adder", "--blocks", "4"]);
    assert!(adder.wait(Duration::from_secs(600)), "{}", adder.output());
    // The runtime builds are cached after their first time (tens of
    // minutes cold); then registration, upgrade and blocks.
    assert!(
        parachain.wait(Duration::from_secs(3600)),
        "{}",
        parachain.output()
    );
    let out = parachain.output();
    assert!(out.contains("para 2001 registered at slot"), "{out}");
    assert!(out.contains("provided at slot"), "{out}");
    assert!(out.contains("PVM build registered"), "{out}");
    assert!(out.contains("para code is now PVF"), "{out}");
    assert_eq!(parachain.blocks().len(), 8, "{out}");
    assert_eq!(adder.blocks().len(), 4, "{}", adder.output());
    assert_stored_head_is_printed(&addr, 2000, &adder);
    assert_stored_head_is_printed(&addr, 2001, &parachain);
    node.wait_for("para 2001 head");
}
