//! `parajam run --dev` end to end: blocks authored, stored and served over
//! JIP-2 RPC (asked over plain HTTP POST, which the server also answers),
//! and a restart on the same directory resuming at the stored best block.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use parajam_e2e::parajam_binary;

/// A child process killed when dropped.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `parajam run --dev` on `dir` for `blocks` blocks; its log lines
/// arrive on the receiver.
fn start(dir: &Path, blocks: u32) -> (Node, mpsc::Receiver<String>) {
    let mut child = Command::new(parajam_binary())
        .args([
            "run",
            "--dev",
            "--rpc-addr",
            "127.0.0.1:0",
            "--slot-millis",
            "300",
        ])
        .args(["--blocks", &blocks.to_string(), "--base-path"])
        .arg(dir)
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "warn,parajam=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning parajam run");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (Node(child), rx)
}

/// Log lines until one contains `needle` (that one is returned), within
/// two minutes.
fn wait_for(lines: &mpsc::Receiver<String>, needle: &str, seen: &mut Vec<String>) -> String {
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|e| panic!("no `{needle}` line ({e}); saw:\n{}", seen.join("\n")));
        seen.push(line.clone());
        if line.contains(needle) {
            return line;
        }
    }
}

/// The JSON-RPC response to `method` with no parameters, over HTTP.
fn rpc(addr: &str, method: &str) -> String {
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":[]}}"#);
    let mut stream = TcpStream::connect(addr).expect("connecting to the RPC server");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("sending the request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("reading the response");
    response
}

/// The header hash in a `block 0x… at slot N` line.
fn block_hash(line: &str) -> &str {
    let start = line.find("block 0x").expect("a block line") + "block ".len();
    &line[start..start + 66]
}

#[test]
fn dev_chain_runs_serves_rpc_and_resumes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut seen = Vec::new();

    let (mut node, lines) = start(dir.path(), 4);
    let rpc_line = wait_for(&lines, "JIP-2 RPC on ws://", &mut seen);
    let addr = rpc_line
        .split("ws://")
        .nth(1)
        .expect("an address")
        .trim()
        .to_string();
    wait_for(&lines, "at slot 2,", &mut seen);
    let params = rpc(&addr, "parameters");
    assert!(params.contains(r#""val_count":6"#), "{params}");
    let best = rpc(&addr, "bestBlock");
    assert!(best.contains(r#""header_hash":""#), "{best}");
    let last = wait_for(&lines, "at slot 4,", &mut seen);
    let status = node.0.wait().expect("waiting for parajam run");
    assert!(status.success(), "parajam run failed:\n{}", seen.join("\n"));
    drop(node);

    // A restart resumes at the stored best block, slot 4.
    let (node, lines) = start(dir.path(), 1);
    let resumed = wait_for(&lines, "resuming at block", &mut seen);
    assert!(
        resumed.contains(block_hash(&last)) && resumed.contains("(slot 4)"),
        "{resumed} after {last}"
    );
    wait_for(&lines, "at slot 5,", &mut seen);
    drop(node);
}
