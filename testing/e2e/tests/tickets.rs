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

use std::path::Path;
use std::time::{Duration, Instant};

use node_common::{free_ports, gen_spec, rpc, start, validator, Node};
use parajam_authoring::ValidatorSecrets;
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

/// Runs a dev node (every dev validator, 200 ms slots) on `dir` until it
/// stops by itself after slot `last`: its log.
fn dev_until(dir: &Path, last: u32) -> String {
    let mut node = start(
        &[],
        dir,
        &[
            "--dev",
            "--slot-duration-ms",
            "200",
            "--until-slot",
            &last.to_string(),
        ],
    );
    assert!(node.wait_exit(), "parajam run failed:\n{}", node.log());
    node.log()
}

#[test]
fn a_dev_node_fills_the_contest_and_seals_every_later_slot_by_ticket() {
    let dir = tempfile::tempdir().expect("temp dir");
    let last = 3 * E;
    let log = dev_until(dir.path(), last);
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

/// Validator `i` of the chain in `dir`, 2 s slots.
fn tickets_validator(dir: &Path, i: usize, port: u16) -> Node {
    validator(dir, i, port, "2000", &[])
}

#[test]
fn validators_share_tickets_through_their_proxies_and_go_on_in_a_ticket_epoch() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ports = free_ports(6);
    gen_spec(dir.path(), "tickets", &ports);
    let mut nodes: Vec<Node> = (0..6)
        .map(|i| tickets_validator(dir.path(), i, ports[i]))
        .collect();
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
    let log: Vec<String> = nodes.iter().map(|n| n.log()).collect();
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

/// `N` of an informant line's `N pooled`, and its best slot.
fn pooled_of(line: &str) -> Option<(u64, u64)> {
    let best = number_after(line, "best #")?;
    let pooled = line
        .split(" pooled")
        .next()?
        .rsplit(", ")
        .next()?
        .parse()
        .ok()?;
    Some((best, pooled))
}

#[test]
fn a_restarted_dev_node_keeps_the_tickets_it_had() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Stopped (SIGTERM) early in epoch 1's submission period, once the
    // tickets for epoch 2 are pooled and not all of them in blocks yet.
    // Not at a fixed slot: proving the tickets takes seconds of CPU, so
    // under load they may come some slots into the epoch (1 s slots leave
    // room for it).
    let mut first = start(&[], dir.path(), &["--dev", "--slot-duration-ms", "1000"]);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = first
            .lines
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("no tickets for epoch 2 pooled ({e}):\n{}", first.log()));
        first.seen.push(line.clone());
        if let Some((best, pooled)) = pooled_of(&line) {
            assert!(
                best <= u64::from(E + 5),
                "epoch 2's tickets not pooled by slot {}: too late to fill the contest after a \
                 restart:\n{}",
                E + 5,
                first.log()
            );
            if best >= u64::from(E + 2) && pooled > 0 {
                break;
            }
        }
    }
    first.signal("TERM");
    assert!(first.wait_exit(), "parajam run failed:\n{}", first.log());
    let log = first.log();
    assert!(log.contains("stopped cleanly"), "{log}");
    let (_, pooled) = log
        .lines()
        .rev()
        .find_map(pooled_of)
        .expect("an informant line");
    assert!(pooled > 0, "no tickets pooled before the stop:\n{log}");
    drop(first);

    // Into epoch 2 by three blocks: enough to see its slots sealed by the
    // tickets pooled across the restart, without waiting for epoch 3's.
    let last = 2 * E + 2;
    let log2 = dev_until(dir.path(), last);
    assert!(
        log2.contains(&format!(
            "{pooled} Safrole tickets for epoch 2 restored from the store"
        )),
        "the pool of {pooled} was not restored:\n{log2}"
    );
    // The first informant line after the restart has them all.
    let (_, after) = log2.lines().find_map(pooled_of).expect("an informant line");
    assert!(after >= pooled, "{after} pooled after, {pooled} before");
    // The contest of epoch 1 is filled across the restart, and epoch 2's
    // blocks are sealed by its tickets.
    let both = format!("{log}\n{log2}");
    let in_epoch_1: u64 = both
        .lines()
        .filter(|l| l.contains(" at slot ") && l.contains("sealed by its"))
        .filter(|l| number_after(l, " at slot ").is_some_and(|s| s / u64::from(E) == 1))
        .filter_map(tickets_of)
        .sum();
    assert_eq!(in_epoch_1, u64::from(E), "{both}");
    let sealed_2 = log2
        .lines()
        .filter(|l| l.contains(" at slot ") && l.contains("sealed by its Safrole ticket"))
        .filter(|l| number_after(l, " at slot ").is_some_and(|s| s / u64::from(E) == 2))
        .count();
    assert_eq!(sealed_2, 3, "{log2}");
}

#[test]
fn a_validator_that_joins_late_is_sent_the_tickets_it_missed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ports = free_ports(6);
    gen_spec(dir.path(), "tickets", &ports);
    // 4 s slots: the late validator starts, syncs and checks what it is
    // sent within the four slots left of the period on a busy machine.
    let slot_ms = "4000";
    let mut nodes: Vec<Node> = (0..5)
        .map(|i| validator(dir.path(), i, ports[i], slot_ms, &[]))
        .collect();
    // Wait for a submission period whose proxies are done (CE 132 ends at
    // m = 5 on the tiny chain) with a well-filled pool, with time left
    // before the period ends (Y = 10).
    let deadline = Instant::now() + Duration::from_secs(400);
    let (joined_at, pooled) = loop {
        for node in &mut nodes {
            node.drain();
        }
        let latest = nodes[0].seen.iter().rev().find_map(|l| pooled_of(l));
        if let Some((best, pooled)) = latest {
            let m = best % u64::from(E);
            if (6..=7).contains(&m) && pooled >= 6 {
                break (best, pooled);
            }
        }
        assert!(
            Instant::now() < deadline,
            "no submission period with a pool: {latest:?}\n{}",
            nodes[0].log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let epoch = joined_at / u64::from(E);
    let mut late = validator(dir.path(), 5, ports[5], slot_ms, &[]);
    let late_id = PeerId(ValidatorSecrets::dev(5).ed25519_public().0).to_string();
    // Its pool, in the same submission period, reaches what the others
    // had when it joined.
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        late.drain();
        let reached = late.seen.iter().filter_map(|l| pooled_of(l)).any(|(b, p)| {
            b / u64::from(E) == epoch && b % u64::from(E) < u64::from(Y) && p >= pooled
        });
        if reached {
            break;
        }
        let past = late
            .seen
            .iter()
            .filter_map(|l| pooled_of(l))
            .any(|(b, _)| b >= (epoch + 1) * u64::from(E) - u64::from(E - Y));
        assert!(
            !past && Instant::now() < deadline,
            "the late validator did not get the {pooled} tickets pooled when it joined at slot \
             {joined_at}:\n{}",
            late.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for node in &mut nodes {
        node.drain();
    }
    assert!(
        nodes
            .iter()
            .any(|n| n.seen.iter().any(|l| l.contains(&format!(
                "sent to {late_id}, which connected after they went out (CE 132)"
            )))),
        "nobody resent tickets to {late_id}"
    );
    assert!(
        late.seen
            .iter()
            .any(|l| l.contains("received from") && l.contains("(CE 132)")),
        "{}",
        late.log()
    );
}
