//! Running `parajam run` from tests: the process (killed when dropped),
//! its log lines, and JSON-RPC over plain HTTP.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use parajam_authoring::ValidatorSecrets;
use parajam_e2e::parajam_binary;
use parajam_network::PeerId;

/// A child process killed when dropped.
pub struct Node {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `parajam <global> run <args> --data-path <dir>` on loopback with
/// any free RPC port, no metrics and 300 ms slots unless `args` says
/// otherwise.
pub fn start(global: &[&str], dir: &Path, args: &[&str]) -> Node {
    let mut command = Command::new(parajam_binary());
    command.args(global).arg("run").arg("--data-path").arg(dir);
    if !args.iter().any(|a| a.starts_with("--rpc-port")) {
        command.args(["--rpc-port", "0"]);
    }
    if !args.iter().any(|a| a.starts_with("--slot-duration-ms")) {
        command.args(["--slot-duration-ms", "300"]);
    }
    if !args.iter().any(|a| a.starts_with("--prometheus-port")) {
        command.arg("--no-prometheus");
    }
    let mut child = command
        .args(args)
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
    Node {
        child,
        lines: rx,
        seen: Vec::new(),
    }
}

impl Node {
    /// Log lines until one contains `needle` (that one is returned),
    /// within two minutes; lines seen before are searched first.
    pub fn wait_for(&mut self, needle: &str) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|e| {
                panic!("no `{needle}` line ({e}); saw:\n{}", self.seen.join("\n"))
            });
            self.seen.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// The RPC address from the node's log.
    pub fn rpc_addr(&mut self) -> String {
        let line = self.wait_for("JIP-2 RPC on ws://");
        line.split("ws://")
            .nth(1)
            .expect("an address")
            .trim()
            .to_string()
    }

    /// Waits for the process to exit (within two minutes) and returns
    /// whether it succeeded, with the rest of its log.
    pub fn wait_exit(&mut self) -> bool {
        for _ in 0..1200 {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(line);
                }
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the node did not exit; saw:\n{}", self.seen.join("\n"));
    }

    /// Sends `signal` (`TERM`, `INT`, `KILL`) to the node.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Takes the lines logged so far into `seen`.
    pub fn drain(&mut self) {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
    }

    /// Everything the node logged so far.
    pub fn log(&self) -> String {
        self.seen.join("\n")
    }
}

/// An HTTP request to `addr` with `body` (POST when given), the whole
/// response.
pub fn http(addr: &str, method: &str, path: &str, body: &str) -> String {
    try_http(addr, method, path, body).unwrap_or_else(|e| panic!("{method} {path} on {addr}: {e}"))
}

/// [`http`], an error when the server does not answer.
pub fn try_http(addr: &str, method: &str, path: &str, body: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

/// The JSON-RPC response to `method` with `params` (a JSON array), over HTTP.
pub fn rpc(addr: &str, method: &str, params: &str) -> String {
    try_rpc(addr, method, params).unwrap_or_else(|e| panic!("{method} on {addr}: {e}"))
}

/// [`rpc`], an error when the node does not answer.
pub fn try_rpc(addr: &str, method: &str, params: &str) -> std::io::Result<String> {
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#);
    try_http(addr, "POST", "/", &body)
}

/// The header hash in a `block 0x… at slot N` line.
pub fn block_hash(line: &str) -> &str {
    let start = line.find("block 0x").expect("a block line") + "block ".len();
    &line[start..start + 66]
}

/// `n` UDP ports free on loopback now.
pub fn free_ports(n: usize) -> Vec<u16> {
    let sockets: Vec<UdpSocket> = (0..n)
        .map(|_| UdpSocket::bind("127.0.0.1:0").expect("a free port"))
        .collect();
    sockets
        .iter()
        .map(|s| s.local_addr().expect("bound").port())
        .collect()
}

/// Writes zombienet's `config.json` (chain `id`, one dev validator per
/// port of `ports` on loopback) in `dir` and runs `gen-spec` to
/// `dir/jam_spec.json`.
pub fn gen_spec(dir: &Path, id: &str, ports: &[u16]) {
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
            r#"{{"id":"{id}","genesis_validators":[{}]}}"#,
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

/// Validator `i` of the [`gen_spec`] chain in `dir` as zombienet starts
/// it (`--config-path D --chain D/jam_spec.json run --mode validator
/// --peer-id=… --port=…`), on loopback, with slots of `slot_ms` and
/// `extra` arguments.
pub fn validator(dir: &Path, i: usize, port: u16, slot_ms: &str, extra: &[&str]) -> Node {
    let key = ValidatorSecrets::dev(u32::try_from(i).expect("small")).ed25519_public();
    let spec = dir.join("jam_spec.json");
    let peer_id = format!("--peer-id={}", PeerId(key.0));
    let port = format!("--port={port}");
    let mut args = vec![
        "--mode",
        "validator",
        &peer_id,
        &port,
        "--listen-addr",
        "127.0.0.1",
        "--slot-duration-ms",
        slot_ms,
    ];
    args.extend_from_slice(extra);
    start(
        &[
            "--config-path",
            dir.to_str().expect("utf-8"),
            "--chain",
            spec.to_str().expect("utf-8"),
        ],
        &dir.join(format!("node{i}")),
        &args,
    )
}

/// A `parajam collate` process (its stdout and stderr lines, in one
/// channel), killed when dropped.
pub struct Collator {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Drop for Collator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Collator {
    /// `parajam collate --jam-rpc-url ws://<addr> <args>`.
    pub fn spawn(addr: &str, args: &[&str]) -> Self {
        let mut child = Command::new(parajam_binary())
            .arg("collate")
            .args(["--jam-rpc-url", &format!("ws://{addr}")])
            .args(args)
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "warn,parajam=info,runtime=off")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning parajam collate");
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx2.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Waits (at most `limit`) for a line containing `needle`; lines seen
    /// before are searched first.
    pub fn wait_for(&mut self, needle: &str, limit: Duration) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|e| {
                panic!(
                    "no `{needle}` line from parajam collate ({e}); printed:\n{}",
                    self.output()
                )
            });
            self.seen.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// Waits (at most `limit`, else the test fails) for the process to
    /// exit; whether it succeeded. Its output is in `seen`.
    pub fn wait(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            while let Ok(line) = self.lines.try_recv() {
                self.seen.push(line);
            }
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(line);
                }
                return status.success();
            }
            assert!(
                Instant::now() < deadline,
                "parajam collate did not finish within {limit:?}; printed:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Everything it printed so far.
    pub fn output(&self) -> String {
        self.seen.join("\n")
    }

    /// The `para P block #N head 0x…` lines.
    pub fn blocks(&self) -> Vec<&String> {
        self.seen
            .iter()
            .filter(|l| l.starts_with("para ") && l.contains(" block #"))
            .collect()
    }

    /// The block numbers of para `para`'s block lines.
    pub fn block_numbers(&self, para: u32) -> Vec<u64> {
        let prefix = format!("para {para} block #");
        self.seen
            .iter()
            .filter_map(|l| l.strip_prefix(&prefix))
            .map(|rest| {
                rest.split(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("a block number")
            })
            .collect()
    }
}
