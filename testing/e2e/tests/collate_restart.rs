//! `parajam collate` across restarts, through the real binaries and real
//! sockets on loopback, bounded in time: an adder collator survives a
//! restart of its node (SIGTERM, started again on the same data path and
//! RPC port: the collator connects again and finishes its blocks), and
//! with `--reconnect-secs 0` it exits at once as before. SLOW
//! (runtime/parachain built by `parajam pvf build`, cached in
//! `~/.cache/parajam/runtimes`): a runtime/parachain collator with
//! `--data-path` stopped after two blocks and started again continues
//! from block #2 to #4; another data path is a clear error naming the
//! node's head and the path, and so is a corrupt state file.

mod node_common;

use std::path::Path;
use std::time::Duration;

use node_common::{rpc, start, Collator, Node};

/// `parajam run --dev --data-path <dir> --rpc-port <port>` with no metrics
/// and `extra` flags, killed when dropped.
fn start_node(dir: &Path, port: u16, extra: &[&str]) -> Node {
    let port = port.to_string();
    let mut args = vec!["--dev", "--rpc-port", &port];
    args.extend_from_slice(extra);
    start(&[], dir, &args)
}

/// A loopback port free now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The adder's head number in `parajam_paraHead` now.
fn adder_head_number(addr: &str) -> u64 {
    use base64::Engine as _;
    let response = rpc(addr, "parajam_paraHead", "[2000]");
    let body = response.split("\r\n\r\n").nth(1).expect("an HTTP body");
    let json: serde_json::Value = serde_json::from_str(body).expect("JSON");
    let head = base64::engine::general_purpose::STANDARD
        .decode(json["result"]["head"].as_str().expect("a head"))
        .expect("Base64");
    parajam_adder::HeadData::decode(&head)
        .expect("an adder head")
        .number
}

#[test]
fn a_collator_survives_a_restart_of_its_node() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let flags = ["--slot-duration-ms", "1000"];
    let mut node = start_node(dir.path(), port, &flags);
    node.rpc_addr();
    let mut collator = Collator::spawn(
        &addr,
        &[
            "--runtime",
            "adder",
            "--blocks",
            "5",
            "--reconnect-secs",
            "120",
        ],
    );
    collator.wait_for("para 2000 block #2 ", Duration::from_secs(180));

    // The node stops (SIGTERM: storage flushed) and starts again on the
    // same data path and port.
    node.signal("TERM");
    assert!(node.wait_exit(), "{}", node.log());
    collator.wait_for("connection to the node lost", Duration::from_secs(180));
    let mut again = start_node(dir.path(), port, &flags);
    again.rpc_addr();
    collator.wait_for("connected to the node again", Duration::from_secs(120));

    assert!(
        collator.wait(Duration::from_secs(240)),
        "{}",
        collator.output()
    );
    let blocks = collator.block_numbers(2000);
    assert_eq!(blocks.len(), 5, "{}", collator.output());
    assert!(
        blocks.windows(2).all(|w| w[0] < w[1]),
        "{}",
        collator.output()
    );
    assert!(collator.output().contains("5 blocks enacted"));
    // The restarted node kept the chain: its head is the collator's last.
    assert_eq!(
        adder_head_number(&addr),
        *blocks.last().expect("a block"),
        "{}",
        collator.output()
    );
}

#[test]
fn with_reconnect_secs_0_a_lost_node_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut node = start_node(dir.path(), port, &["--slot-duration-ms", "1000"]);
    node.rpc_addr();
    let mut collator = Collator::spawn(&addr, &["--runtime", "adder", "--reconnect-secs", "0"]);
    collator.wait_for("para 2000 block #1 ", Duration::from_secs(180));
    node.signal("TERM");
    assert!(node.wait_exit(), "{}", node.log());
    assert!(
        !collator.wait(Duration::from_secs(60)),
        "{}",
        collator.output()
    );
    assert!(
        !collator.output().contains("connecting again"),
        "{}",
        collator.output()
    );
}

/// `parajam collate` of runtime/parachain as para 2001 against `addr`
/// with `--data-path <data>` and `args`.
fn parachain_collator(addr: &str, data: &Path, args: &[&str]) -> Collator {
    let data = data.display().to_string();
    let mut all = vec!["--data-path", &data, "--enact-blocks", "12"];
    all.extend_from_slice(args);
    Collator::runtime_parachain(addr, 2001, &all)
}

#[test]
fn slow_a_parachain_collator_with_a_data_path_resumes_from_the_nodes_head() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut node = start_node(dir.path(), port, &["--slot-duration-ms", "2000"]);
    node.rpc_addr();

    // The runtime's builds are cached after their first time (tens of
    // minutes cold); then registration and two blocks.
    let mut first = parachain_collator(&addr, data.path(), &["--blocks", "2"]);
    assert!(first.wait(Duration::from_secs(3600)), "{}", first.output());
    assert_eq!(first.block_numbers(2001), vec![1, 2], "{}", first.output());
    let states = data.path().join("para-2001");
    assert!(
        std::fs::read_dir(&states)
            .expect("the state directory")
            .any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("0000000002-"))),
        "no state of block #2 in {}",
        states.display()
    );

    // Started again on the same data path: block #2 is the node's head,
    // and its state is stored.
    let mut second = parachain_collator(&addr, data.path(), &["--blocks", "2"]);
    assert!(second.wait(Duration::from_secs(900)), "{}", second.output());
    assert_eq!(
        second.block_numbers(2001),
        vec![3, 4],
        "{}",
        second.output()
    );
    assert!(
        second.output().contains("newest: block #2 "),
        "{}",
        second.output()
    );

    // Another data path: a clear error naming the head and the path.
    let other = tempfile::tempdir().expect("temp dir");
    let mut third = parachain_collator(&addr, other.path(), &["--blocks", "1"]);
    assert!(!third.wait(Duration::from_secs(900)), "{}", third.output());
    let out = third.output();
    assert!(out.contains("para 2001 is block #4 0x"), "{out}");
    assert!(
        out.contains(&other.path().join("para-2001").display().to_string()),
        "{out}"
    );

    // A corrupt state of the head: a clear error, no panic.
    let head_file = std::fs::read_dir(&states)
        .expect("the state directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("0000000004-"))
        })
        .expect("the state of block #4");
    let mut octets = std::fs::read(&head_file).expect("reads");
    let middle = octets.len() / 2;
    octets[middle] ^= 0xff;
    std::fs::write(&head_file, octets).expect("writes");
    let mut fourth = parachain_collator(&addr, data.path(), &["--blocks", "1"]);
    assert!(
        !fourth.wait(Duration::from_secs(900)),
        "{}",
        fourth.output()
    );
    let out = fourth.output();
    assert!(out.contains("a corrupt state file"), "{out}");
    assert!(!out.contains("panicked"), "{out}");
}
