//! `parajam run` end to end through the real binary on loopback: blocks
//! authored, stored and served over JIP-2 RPC (asked over plain HTTP POST,
//! which the server also answers); `--until-slot`; a restart on the same
//! data path resuming at the stored best block; SIGTERM stopping cleanly
//! with the same best block and state root after a restart; `kill -9`
//! losing no committed block; the Prometheus endpoint's series; chain
//! specs (`build-spec`, `gen-spec`, `--chain`), and a bad spec's error.

mod node_common;

use std::process::Command;

use node_common::{block_hash, http, rpc, start};
use parajam_e2e::parajam_binary;

#[test]
fn dev_chain_runs_serves_rpc_and_resumes() {
    let dir = tempfile::tempdir().expect("temp dir");

    let mut node = start(&[], dir.path(), &["--dev", "--until-slot", "4"]);
    let addr = node.rpc_addr();
    node.wait_for("at slot 2,");
    let params = rpc(&addr, "parameters", "[]");
    assert!(params.contains(r#""val_count":6"#), "{params}");
    let best = rpc(&addr, "bestBlock", "[]");
    assert!(best.contains(r#""header_hash":""#), "{best}");
    // The CoreChains service is in the dev genesis.
    let services = rpc(
        &addr,
        "listServices",
        &format!(r#"["{}"]"#, best_hash(&best)),
    );
    assert!(services.contains("1000"), "{services}");
    let last = node.wait_for("at slot 4,");
    assert!(node.wait_exit(), "parajam run failed:\n{}", node.log());
    assert!(node.log().contains("stopped cleanly"), "{}", node.log());
    drop(node);

    // A restart resumes at the stored best block, slot 4.
    let mut node = start(&[], dir.path(), &["--dev", "--until-slot", "5"]);
    let resumed = node.wait_for("resuming at block");
    assert!(
        resumed.contains(block_hash(&last)) && resumed.contains("(slot 4)"),
        "{resumed} after {last}"
    );
    node.wait_for("at slot 5,");
    assert!(node.wait_exit(), "{}", node.log());
}

/// The `header_hash` of a block descriptor in a JSON-RPC response.
fn best_hash(response: &str) -> &str {
    let start = response.find(r#""header_hash":""#).expect("a hash") + 15;
    let end = start + response[start..].find('"').expect("its end");
    &response[start..end]
}

/// The `stopped cleanly at block 0x… (slot N), state root 0x…` line's
/// block and root.
fn stopped_at(log: &str) -> (String, String) {
    let line = log
        .lines()
        .find(|l| l.contains("stopped cleanly at block"))
        .unwrap_or_else(|| panic!("no clean stop in:\n{log}"));
    let block = block_hash(line).to_string();
    let root = line
        .split("state root ")
        .nth(1)
        .expect("a root")
        .trim()
        .to_string();
    (block, root)
}

#[test]
fn sigterm_stops_cleanly_and_a_restart_resumes_the_same_block_and_state() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut node = start(&[], dir.path(), &["--dev"]);
    node.wait_for("at slot 3,");
    node.signal("TERM");
    assert!(
        node.wait_exit(),
        "SIGTERM: not a clean exit:\n{}",
        node.log()
    );
    let (block, root) = stopped_at(&node.log());
    drop(node);

    let mut node = start(&[], dir.path(), &["--dev"]);
    let resumed = node.wait_for("resuming at block");
    assert!(
        resumed.contains(&block) && resumed.contains(&format!("state root {root}")),
        "{resumed}; stopped at {block} with root {root}"
    );
    node.wait_for("informant: best");
    node.signal("INT");
    assert!(
        node.wait_exit(),
        "SIGINT: not a clean exit:\n{}",
        node.log()
    );
}

#[test]
fn kill_9_loses_no_committed_block() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut node = start(&[], dir.path(), &["--dev", "--slot-duration-ms", "100"]);
    let last = node.wait_for("at slot 6,");
    node.signal("KILL");
    let _ = node.wait_exit();
    drop(node);
    let mut node = start(&[], dir.path(), &["--dev"]);
    let resumed = node.wait_for("resuming at block");
    // Slot 6 was stored before its line was printed; later ones may be too.
    let slot: u32 = resumed
        .split("(slot ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{resumed}"));
    assert!(slot >= 6, "{resumed} after {last}");
    let next = format!("at slot {},", slot + 1);
    node.wait_for(&next);
}

#[test]
fn metrics_endpoint_serves_the_parajam_series() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut node = start(&[], dir.path(), &["--dev", "--prometheus-port", "0"]);
    let line = node.wait_for("Prometheus metrics on http://");
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .expect("an address")
        .to_string();
    let rpc_addr = node.rpc_addr();
    node.wait_for("at slot 2,");
    let _ = rpc(&rpc_addr, "bestBlock", "[]");
    node.wait_for("at slot 3,");
    let metrics = http(&addr, "GET", "/metrics", "");
    for series in [
        "parajam_best_slot",
        "parajam_finalized_slot",
        "parajam_block_import_seconds_bucket",
        "parajam_blocks_authored_total",
        "parajam_work_packages_received_total",
        "parajam_work_packages_refined_total",
        "parajam_work_packages_guaranteed_total",
        "parajam_work_packages_accumulated_total",
        "parajam_refine_gas_total",
        "parajam_work_packages_in_flight",
        "parajam_rpc_calls_total{method=\"bestBlock\"}",
    ] {
        assert!(metrics.contains(series), "no {series} in:\n{metrics}");
    }
    let best: u32 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("parajam_best_slot "))
        .and_then(|v| v.trim().parse().ok())
        .expect("a best slot value");
    assert!(best >= 2, "{metrics}");
}

fn parajam(args: &[&str]) -> std::process::Output {
    Command::new(parajam_binary())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("running parajam")
}

#[test]
fn build_spec_and_gen_spec_write_specs_that_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dev = dir.path().join("dev.json");
    let out = parajam(&["build-spec", "--dev", "--out", dev.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&dev).expect("the spec");
    for field in [
        "\"id\": \"dev\"",
        "genesis_header",
        "genesis_state",
        "protocol_parameters",
    ] {
        assert!(text.contains(field), "no {field}");
    }
    // The dev spec runs as `--chain dev` does: the same genesis.
    let mut node = start(
        &["--chain", dev.to_str().expect("utf-8")],
        &dir.path().join("a"),
        &["--until-slot", "1"],
    );
    let from_file = node.wait_for("new chain, genesis");
    assert!(node.wait_exit(), "{}", node.log());
    let mut node = start(
        &["--chain", "dev"],
        &dir.path().join("b"),
        &["--until-slot", "1"],
    );
    let builtin = node.wait_for("new chain, genesis");
    assert!(node.wait_exit(), "{}", node.log());
    assert_eq!(
        from_file.split("genesis ").nth(1),
        builtin.split("genesis ").nth(1)
    );

    // zombienet's config: the dev keys, by index, at their addresses.
    let config = dir.path().join("config.json");
    let validators: Vec<String> = (0..6)
        .map(|i| {
            format!(
                r#"{{"peer_id":"dev:{i}","bandersnatch":"dev:{i}","net_addr":"127.0.0.1:{}"}}"#,
                40000 + i
            )
        })
        .collect();
    std::fs::write(
        &config,
        format!(
            r#"{{"id":"zombie","genesis_validators":[{}]}}"#,
            validators.join(",")
        ),
    )
    .expect("writing the config");
    let spec = dir.path().join("zombie.json");
    let out = parajam(&[
        "gen-spec",
        config.to_str().expect("utf-8"),
        spec.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&spec).expect("the spec");
    assert!(text.contains("\"id\": \"zombie\""), "{text}");
    assert!(text.contains("@127.0.0.1:40005"), "bootnodes: {text}");
    // Its validators are the dev keys: the node authors on it.
    let mut node = start(
        &["--chain", spec.to_str().expect("utf-8")],
        &dir.path().join("c"),
        &["--until-slot", "2"],
    );
    node.wait_for("at slot 2,");
    assert!(node.wait_exit(), "{}", node.log());

    // A config with the wrong number of validators is refused.
    std::fs::write(
        &config,
        format!(
            r#"{{"id":"zombie","genesis_validators":[{}]}}"#,
            validators[0]
        ),
    )
    .expect("writing the config");
    let out = parajam(&[
        "gen-spec",
        config.to_str().expect("utf-8"),
        spec.to_str().expect("utf-8"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("genesis_validators"),
        "{stderr}"
    );
}

#[test]
fn a_bad_chain_spec_is_an_error_naming_the_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dev = dir.path().join("dev.json");
    let out = parajam(&["build-spec", "--dev", "--out", dev.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&dev).expect("the spec");
    let cases = [
        (text.replacen("\"id\"", "\"identity\"", 1), "identity"),
        (
            text.replacen("\"genesis_header\": \"", "\"genesis_header\": \"zz", 1),
            "genesis_header",
        ),
        (
            text.replacen(
                "\"protocol_parameters\": \"",
                "\"protocol_parameters\": \"00",
                1,
            ),
            "param",
        ),
    ];
    for (bad, field) in cases {
        let path = dir.path().join("bad.json");
        std::fs::write(&path, bad).expect("writing");
        let out = parajam(&[
            "--chain",
            path.to_str().expect("utf-8"),
            "run",
            "--tmp",
            "--rpc-port",
            "0",
            "--no-prometheus",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "accepted a spec with a bad {field}");
        assert!(stderr.contains(field), "error without `{field}`: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
