//! Several `parajam run` processes on loopback, one per JIP-5 dev
//! validator of a `gen-spec` chain (zombienet's config and command line:
//! `--config-path D --chain D/jam_spec.json run --data-path … --mode
//! validator --peer-id=… --port=…`), joined over JAMNP-S: each authors its
//! own slots, they converge on one chain (the same best and finalized block
//! over JIP-2), a node started late catches up through block requests, and
//! a node stopped and restarted catches up and goes on. With the tiny
//! chain's six validators and the adder collator on one node's RPC, the
//! para's blocks are guaranteed by the validators assigned to its core
//! (CE 133/134/135), assured (CE 141) and enacted, also while one
//! validator is killed; restarted, it catches up. SLOW (runtime/parachain,
//! built by `parajam pvf build` and cached): a preimage submitted to an
//! ordinary node, which authors nothing, reaches the chain through the
//! validators (CE 142 announcement, CE 143 request) in a block one of them
//! authors.

mod node_common;

use std::path::Path;
use std::time::{Duration, Instant};

use node_common::{free_ports, gen_spec, http, start, try_rpc, validator, Collator, Node};

/// Slot length: long enough for a block to reach and be imported by every
/// node on a loaded 2-core machine, so that the nodes agree between blocks.
const SLOT_MS: &str = "2000";

/// Validator `i` of the chain in `dir` as zombienet starts it.
fn net_validator(dir: &Path, i: usize, port: u16) -> Node {
    validator(dir, i, port, SLOT_MS, &[])
}

/// `(header_hash, slot)` of `method`'s block on the node at `addr`; an
/// error when the node does not answer.
fn block(addr: &str, method: &str) -> Result<(String, u64), String> {
    let response = try_rpc(addr, method, "[]").map_err(|e| format!("{addr}: {e}"))?;
    let hash = response
        .split(r#""header_hash":""#)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .ok_or_else(|| format!("{method}: {response}"))?
        .to_string();
    let slot = response
        .split(r#""slot":"#)
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{method}: {response}"))?;
    Ok((hash, slot))
}

/// Waits (bounded) until the nodes `which` of `nodes` report the same
/// `method` block, above `above`; that block. A node that stops answering
/// fails the test with its exit status and its log.
fn converge(nodes: &mut [Node], which: &[usize], method: &str, above: u64) -> (String, u64) {
    let addrs: Vec<String> = which.iter().map(|&i| nodes[i].rpc_addr()).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut blocks = Vec::new();
        for (&i, addr) in which.iter().zip(&addrs) {
            match block(addr, method) {
                Ok(b) => blocks.push(b),
                Err(e) => {
                    let node = &mut nodes[i];
                    node.drain();
                    let status = node.child.try_wait();
                    panic!(
                        "node {i} does not answer {method} ({e}); exited: {status:?}; its log:
{}",
                        node.log()
                    );
                }
            }
        }
        if blocks[0].1 > above && blocks.iter().all(|b| *b == blocks[0]) {
            return blocks[0].clone();
        }
        assert!(
            Instant::now() < deadline,
            "the nodes' {method} did not converge: {blocks:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn validators_on_loopback_grow_one_chain_and_late_and_restarted_nodes_catch_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ports = free_ports(6);
    gen_spec(dir.path(), "net", &ports);

    // Four of the six validators start together.
    let mut nodes: Vec<Node> = (0..4)
        .map(|i| net_validator(dir.path(), i, ports[i]))
        .collect();
    for node in &mut nodes {
        node.wait_for("peer e");
    }
    // Each imports a block another authored: several authors, one chain.
    for node in &mut nodes {
        node.wait_for("imported block");
    }
    let (best, best_slot) = converge(&mut nodes, &[0, 1, 2, 3], "bestBlock", 0);
    let (finalized, final_slot) = converge(&mut nodes, &[0, 1, 2, 3], "finalizedBlock", 0);
    assert!(final_slot < best_slot, "{finalized} {best}");

    // The fifth starts late: it asks for the chain and joins it.
    let mut late = validator(
        dir.path(),
        4,
        ports[4],
        SLOT_MS,
        &["--prometheus-port", "0"],
    );
    late.wait_for("imported block");
    let line = late.wait_for("Prometheus metrics on http://");
    let metrics_addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .expect("the metrics address")
        .to_string();
    nodes.push(late);
    let all = [0, 1, 2, 3, 4];
    let (_, caught_up) = converge(&mut nodes, &all, "bestBlock", best_slot);

    // One is stopped, the others go on; restarted, it catches up.
    nodes[1].signal("TERM");
    assert!(nodes[1].wait_exit(), "{}", nodes[1].log());
    let (_, without) = converge(&mut nodes, &[0, 2, 3, 4], "bestBlock", caught_up);
    nodes[1] = net_validator(dir.path(), 1, ports[1]);
    nodes[1].wait_for("resuming at block");
    nodes[1].wait_for("imported block");
    let (_, after) = converge(&mut nodes, &all, "bestBlock", without);
    let (_, finalized_after) = converge(&mut nodes, &all, "finalizedBlock", final_slot);
    assert!(finalized_after < after);
    // The network's series: peers connected, none dropped or refused.
    let metrics = http(&metrics_addr, "GET", "/metrics", "");
    let value = |name: &str| -> u64 {
        metrics
            .lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{metrics}"))
    };
    assert!(value("parajam_network_peers") >= 3, "{metrics}");
    assert!(value("parajam_network_connections_total") >= 4, "{metrics}");
    assert_eq!(value("parajam_network_peers_dropped_total"), 0);
    assert_eq!(value("parajam_network_handshakes_refused_total"), 0);
    assert!(
        value("parajam_network_block_requests_served_total")
            + value("parajam_network_announcements_received_total")
            > 0
    );
    for node in &nodes {
        assert!(
            !node.log().contains("dropped:") && !node.log().contains("refused"),
            "a peer was dropped or refused:\n{}",
            node.log()
        );
    }
}

/// The adder collator on `addr`, stopping after `blocks` are enacted.
fn adder_collator(addr: &str, blocks: u32) -> Collator {
    Collator::spawn(
        addr,
        &["--runtime", "adder", "--blocks", &blocks.to_string()],
    )
}

/// The validators a `guaranteed … by validators [a, b]` line names.
fn signers(line: &str) -> Vec<usize> {
    line.split("by validators [")
        .nth(1)
        .and_then(|r| r.split(']').next())
        .expect("a signer list")
        .split(',')
        .map(|v| v.trim().parse().expect("an index"))
        .collect()
}

/// The package hash a guaranteeing log line names.
fn package_of(line: &str) -> String {
    line.split("work package ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .expect("a package")
        .to_string()
}

/// Checks every package some node guaranteed: two or three signers, each a
/// node that refined that package itself (the primary, or a guarantor it
/// was shared with); returns the signer sets.
fn check_guarantees(nodes: &[Node]) -> Vec<Vec<usize>> {
    let mut sets = Vec::new();
    for node in nodes {
        for line in node
            .seen
            .iter()
            .filter(|l| l.contains(") guaranteed at slot"))
        {
            let package = package_of(line);
            let signed = signers(line);
            assert!((2..=3).contains(&signed.len()), "{line}");
            for &v in &signed {
                let refined = nodes[v].seen.iter().any(|l| {
                    l.contains(&package)
                        && (l.contains("refined and signed (CE 134)")
                            || l.contains("refined; shared with guarantors"))
                });
                assert!(
                    refined,
                    "validator {v} signed {package} without refining it:\n{}",
                    nodes[v].log()
                );
            }
            sets.push(signed);
        }
    }
    sets
}

/// How many guaranteed packages had their shards fetched by enough of the
/// validators that did not sign them for five assurances (CE 137).
fn check_fetched_shards(nodes: &[Node]) -> usize {
    let mut packages: Vec<(String, Vec<usize>)> = Vec::new();
    for node in nodes {
        for line in node
            .seen
            .iter()
            .filter(|l| l.contains(") guaranteed at slot"))
        {
            packages.push((package_of(line), signers(line)));
        }
    }
    packages
        .iter()
        .filter(|(package, signed)| {
            let fetchers = (0..nodes.len())
                .filter(|v| !signed.contains(v))
                .filter(|&v| {
                    nodes[v].seen.iter().any(|l| {
                        l.contains(&format!("of work package {package} "))
                            && l.contains("checked against its erasure root (CE 137)")
                    })
                })
                .count();
            fetchers + signed.len() >= 5
        })
        .count()
}

#[test]
fn six_validators_guarantee_a_collators_blocks_by_the_cores_guarantors_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ports = free_ports(6);
    gen_spec(dir.path(), "net", &ports);
    let mut nodes: Vec<Node> = (0..6)
        .map(|i| net_validator(dir.path(), i, ports[i]))
        .collect();
    let addr = nodes[0].rpc_addr();
    for node in &mut nodes {
        node.wait_for("imported block");
    }
    let all = [0, 1, 2, 3, 4, 5];
    let (_, start_slot) = converge(&mut nodes, &all, "bestBlock", 0);

    // The collator talks to validator 0 only.
    let mut collator = adder_collator(&addr, 3);
    assert!(
        collator.wait(Duration::from_secs(240)),
        "{}",
        collator.seen.join("\n")
    );
    assert_eq!(collator.blocks().len(), 3, "{}", collator.seen.join("\n"));
    for node in &mut nodes {
        node.drain();
    }
    let sets = check_guarantees(&nodes);
    assert!(
        sets.len() >= 3,
        "three packages guaranteed: {sets:?}\n{}",
        nodes[0].log()
    );
    // Not the RPC node alone: another validator signed each guarantee.
    assert!(sets.iter().all(|s| s.iter().any(|&v| v != 0)), "{sets:?}");
    // Assurances are gated on shards: a report is available with five
    // assurances of six, so at least 5 - |signers| validators that did not
    // refine the package fetched their shard of it (CE 137, checked against
    // the erasure root) before assuring; so for each package enacted.
    let fetched = check_fetched_shards(&nodes);
    assert!(
        fetched >= 3,
        "{fetched} packages with enough fetched shards\n{}",
        nodes[1].log()
    );
    // Every node imported the blocks carrying the guarantees (the state
    // transition accepts only the core's assigned guarantors, GP eq. 11.25)
    // and the para's head is the same everywhere.
    let (best, _) = converge(&mut nodes, &all, "bestBlock", start_slot);
    let (finalized, final_slot) = converge(&mut nodes, &all, "finalizedBlock", 0);
    assert_ne!(best, finalized);

    // One validator killed while the collator runs: the chain goes on,
    // para blocks too.
    let mut collator = adder_collator(&addr, 2);
    nodes[5].signal("KILL");
    let _ = nodes[5].wait_exit();
    let others = [0, 1, 2, 3, 4];
    let (_, without) = converge(&mut nodes, &others, "bestBlock", final_slot);
    assert!(
        collator.wait(Duration::from_secs(240)),
        "{}",
        collator.seen.join("\n")
    );
    assert_eq!(collator.blocks().len(), 2, "{}", collator.seen.join("\n"));
    let (_, finalized_without) = converge(&mut nodes, &others, "finalizedBlock", without);

    // Restarted, it catches up and rejoins.
    nodes[5] = net_validator(dir.path(), 5, ports[5]);
    nodes[5].wait_for("resuming at block");
    nodes[5].wait_for("imported block");
    let (_, after) = converge(&mut nodes, &all, "bestBlock", finalized_without);
    converge(&mut nodes, &all, "finalizedBlock", finalized_without);
    assert!(after > finalized_without);
    // No peer misbehaved.
    for node in &nodes {
        assert!(!node.log().contains("dropped so far)"), "{}", node.log());
    }
}

/// A node holding no validator key (`--mode ordinary`) of the `gen-spec`
/// chain in `dir`, on `port`: it follows the validators and serves RPC.
fn ordinary(dir: &Path, port: u16) -> Node {
    let config = dir.to_str().expect("utf-8");
    let spec = dir.join("jam_spec.json");
    let port = format!("--port={port}");
    start(
        &[
            "--config-path",
            config,
            "--chain",
            spec.to_str().expect("utf-8"),
        ],
        &dir.join("ordinary"),
        &[
            "--mode",
            "ordinary",
            &port,
            "--listen-addr",
            "127.0.0.1",
            "--slot-duration-ms",
            SLOT_MS,
        ],
    )
}

/// The number after `prefix` in `line`.
fn number_after(line: &str, prefix: &str) -> u64 {
    line.split(prefix)
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {prefix:?} in {line:?}"))
}

#[test]
fn slow_a_preimage_submitted_to_an_ordinary_node_is_provided_in_a_block_a_validator_authors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ports = free_ports(7);
    gen_spec(dir.path(), "net", &ports[..6]);
    let mut nodes: Vec<Node> = (0..6)
        .map(|i| net_validator(dir.path(), i, ports[i]))
        .collect();
    let mut rpc_node = ordinary(dir.path(), ports[6]);
    let addr = rpc_node.rpc_addr();
    rpc_node.wait_for("imported block");
    // runtime/parachain registered through the ordinary node: the
    // registrar's package (sent on to a guarantor, CE 133), then the PVF
    // artifact the service solicits, by `submitPreimage` to the ordinary
    // node, which cannot put it in a block itself; then one para block.
    let mut collator =
        Collator::runtime_parachain(&addr, 2001, &["--blocks", "1", "--enact-blocks", "12"]);
    // The runtime builds are cached after their first time (tens of
    // minutes cold).
    assert!(
        collator.wait(Duration::from_secs(3600)),
        "{}\n{}",
        collator.seen.join("\n"),
        rpc_node.log()
    );
    let out = collator.seen.join("\n");
    let provided = collator
        .seen
        .iter()
        .find(|l| l.contains("provided at slot") && l.contains("PVF artifact"))
        .unwrap_or_else(|| panic!("the collator provided no PVF artifact:\n{out}"))
        .clone();
    let len = number_after(&provided, "(");
    let slot = number_after(&provided, "provided at slot ");
    assert!(out.contains("para 2001 block #"), "{out}");
    rpc_node.drain();
    for node in &mut nodes {
        node.drain();
    }
    // The ordinary node announced it to the six validators (CE 142) and
    // provided it in no block (it authors none).
    let announced = format!("({len} octets, service 1000) announced to 6 validators (CE 142)");
    assert!(rpc_node.log().contains(&announced), "{}", rpc_node.log());
    assert!(!rpc_node.log().contains("provided to service"));
    // A validator that asked for it (CE 143) put it in its block at `slot`.
    let in_block = format!("({len} octets) provided to service 1000 at slot {slot}");
    let authors: Vec<usize> = (0..6)
        .filter(|&i| nodes[i].log().contains(&in_block))
        .collect();
    assert_eq!(authors.len(), 1, "{in_block}: {authors:?}");
    let author = &nodes[authors[0]];
    assert!(
        author
            .log()
            .contains(&format!("({len} octets, service 1000) received from")),
        "{}",
        author.log()
    );
    let requested = nodes
        .iter()
        .filter(|n| n.log().contains("solicited: requested (CE 143)"))
        .count();
    assert!(requested >= 1);
    // No peer misbehaved.
    for node in nodes.iter().chain(std::iter::once(&rpc_node)) {
        assert!(!node.log().contains("dropped so far)"), "{}", node.log());
    }
}
