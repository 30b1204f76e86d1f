//! Safrole tickets through the real binary (GP §6.7; JAMNP-S CE 131/132):
//!
//! * a dev node (every dev validator in one process) proves its tickets,
//!   fills the ticket contest in each epoch's submission period, and from
//!   the first epoch change on seals every slot by a ticket, authoring
//!   every slot;
//! * six validators on loopback, one process each, send their tickets to
//!   their proxies (CE 131), which send them on to every validator
//!   (CE 132); the authors include them, and the chain goes on in an
//!   epoch sealed by tickets, blocks by several authors.

mod node_common;

use std::net::UdpSocket;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use node_common::{rpc, start, Node};
use parajam_authoring::ValidatorSecrets;
use parajam_e2e::parajam_binary;
use parajam_network::PeerId;

/// The tiny chain's epoch length `E` and submission period `Y`.
const E: u32 = 12;
const Y: u32 = 10;

/// The number after `key` in `line` (`"slot "` → the slot).
fn number_after(line: &str, key: &str) -> Option<u64> {
    line.split(key)
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// `N` of a block line ending `, N tickets`.
fn tickets_of(line: &str) -> Option<u64> {
    line.strip_suffix(" tickets")?
        .rsplit(", ")
        .next()?
        .parse()
        .ok()
}

#[test]
fn a_dev_node_fills_the_contest_and_seals_every_later_slot_by_ticket() {
    let dir = tempfile::tempdir().expect("temp dir");
    let last = 3 * E;
    let until = last.to_string();
    let mut node = start(
        &[],
        dir.path(),
        &["--dev", "--slot-duration-ms", "200", "--until-slot", &until],
    );
    assert!(node.wait_exit(), "parajam run failed:\n{}", node.log());
    let log = node.log();
    // Every slot authored, once.
    let authored: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" at slot ") && l.contains("sealed by its"))
        .collect();
    let slots: Vec<u64> = authored
        .iter()
        .filter_map(|l| number_after(l, " at slot "))
        .collect();
    assert_eq!(
        slots,
        (1..=u64::from(last)).collect::<Vec<_>>(),
        "not every slot was authored:\n{log}"
    );
    let mut tickets_in_epoch = [0u64; 3];
    for (line, slot) in authored.iter().zip(&slots) {
        let slot = u32::try_from(*slot).expect("small");
        let (epoch, m) = (slot / E, slot % E);
        // Epoch 0 is sealed by the genesis fallback keys; from epoch 1 on
        // by the tickets the epoch before submitted.
        assert_eq!(
            line.contains("sealed by its Safrole ticket"),
            epoch >= 1,
            "slot {slot}: {line}"
        );
        if let Some(n) = tickets_of(line) {
            assert!(m < Y, "tickets after the submission period: {line}");
            assert!(n <= 3, "more than K tickets: {line}");
            if let Some(count) = tickets_in_epoch.get_mut(epoch as usize) {
                *count += n;
            }
        }
    }
    // The contest is filled in each epoch: E tickets, no more.
    assert_eq!(tickets_in_epoch, [u64::from(E); 3], "{log}");
    let informant = log
        .lines()
        .rfind(|l| l.contains("informant:"))
        .expect("an informant line");
    assert!(
        informant.contains(&format!(
            "{} included, {} blocks ticket-sealed",
            3 * E,
            last - E + 1
        )),
        "{informant}"
    );
}

/// `n` UDP ports free on loopback now.
fn free_ports(n: usize) -> Vec<u16> {
    let sockets: Vec<UdpSocket> = (0..n)
        .map(|_| UdpSocket::bind("127.0.0.1:0").expect("a free port"))
        .collect();
    sockets
        .iter()
        .map(|s| s.local_addr().expect("bound").port())
        .collect()
}

/// zombienet's `config.json` for `ports`, through `gen-spec`.
fn gen_spec(dir: &Path, ports: &[u16]) {
    let validators: Vec<String> = ports
        .iter()
        .enumerate()
        .map(|(i, port)| {
            format!(
                r#"{{"peer_id":"dev:{i}","bandersnatch":"dev:{i}","net_addr":"127.0.0.1:{port}"}}"#
            )
        })
        .collect();
    let config = dir.join("config.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"id":"tickets","genesis_validators":[{}]}}"#,
            validators.join(",")
        ),
    )
    .expect("writing the config");
    let out = Command::new(parajam_binary())
        .arg("gen-spec")
        .arg(&config)
        .arg(dir.join("jam_spec.json"))
        .output()
        .expect("running gen-spec");
    assert!(out.status.success(), "{out:?}");
}

/// Validator `i` as zombienet starts it.
fn validator(dir: &Path, i: usize, port: u16) -> Node {
    let key = ValidatorSecrets::dev(u32::try_from(i).expect("small")).ed25519_public();
    let spec = dir.join("jam_spec.json");
    start(
        &[
            "--config-path",
            dir.to_str().expect("utf-8"),
            "--chain",
            spec.to_str().expect("utf-8"),
        ],
        &dir.join(format!("node{i}")),
        &[
            "--mode",
            "validator",
            &format!("--peer-id={}", PeerId(key.0)),
            &format!("--port={port}"),
            "--listen-addr",
            "127.0.0.1",
            "--slot-duration-ms",
            "2000",
        ],
    )
}

#[test]
fn validators_share_tickets_through_their_proxies_and_go_on_in_a_ticket_epoch() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ports = free_ports(6);
    gen_spec(dir.path(), &ports);
    let mut nodes: Vec<Node> = (0..6).map(|i| validator(dir.path(), i, ports[i])).collect();
    let addrs: Vec<String> = nodes.iter_mut().map(Node::rpc_addr).collect();
    // Bounded: the nodes join at any point of an epoch (24 s of 2 s
    // slots); the first whole epoch's tickets seal the one after it.
    let deadline = Instant::now() + Duration::from_secs(300);
    let sealed = |nodes: &[Node]| -> Vec<usize> {
        nodes
            .iter()
            .map(|n| {
                n.seen
                    .iter()
                    .filter(|l| l.contains("sealed by its Safrole ticket"))
                    .count()
            })
            .collect()
    };
    // Six ticket-sealed blocks by at least three authors.
    loop {
        for node in &mut nodes {
            node.drain();
        }
        let counts = sealed(&nodes);
        if counts.iter().sum::<usize>() >= 6 && counts.iter().filter(|&&c| c > 0).count() >= 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no ticket epoch in time: {counts:?}\n{}",
            nodes[0].log()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let log: Vec<String> = nodes.iter().map(Node::log).collect();
    // Tickets went to their proxies (CE 131) and from them to everyone
    // (CE 132); blocks carried them.
    assert!(
        log.iter().any(|l| l.contains("sent to its proxy")),
        "no CE 131:\n{}",
        log[0]
    );
    assert!(
        log.iter().any(|l| l.contains("as its proxy (CE 131)")),
        "no proxy received one:\n{}",
        log[0]
    );
    let heard = log
        .iter()
        .filter(|l| l.contains("from its proxy (CE 132)"))
        .count();
    assert!(heard >= 3, "{heard} validators heard of tickets by CE 132");
    assert!(
        log.iter()
            .flat_map(|l| l.lines())
            .any(|l| l.contains(" at slot ") && tickets_of(l).is_some_and(|n| n > 0)),
        "no block carried tickets"
    );
    // The chain goes on: the nodes agree on a best block later than now.
    let slot_now = |addr: &str| {
        let best = rpc(addr, "bestBlock", "[]");
        number_after(&best, r#""slot":"#).unwrap_or_else(|| panic!("{best}"))
    };
    let start_slot = slot_now(&addrs[0]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let slots: Vec<u64> = addrs.iter().map(|a| slot_now(a)).collect();
        if slots.iter().all(|&s| s >= start_slot + 3) {
            let hashes: Vec<String> = addrs
                .iter()
                .map(|a| rpc(a, "finalizedBlock", "[]"))
                .collect();
            if hashes.iter().all(|h| *h == hashes[0]) {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the chain stopped: {slots:?}");
        std::thread::sleep(Duration::from_millis(300));
    }
    for (i, l) in log.iter().enumerate() {
        assert!(
            !l.contains("dropped so far"),
            "node {i} dropped a peer:\n{l}"
        );
    }
}
