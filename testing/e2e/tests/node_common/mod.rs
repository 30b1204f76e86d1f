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

/// A child process killed when dropped, with the lines it writes to its
/// piped streams (stdout and stderr merged, in one channel).
pub struct Process {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
    /// What it is, for failure messages (`parajam run`, ...).
    pub name: &'static str,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// Spawns `command`, forwarding the lines of whichever of its stdout
    /// and stderr are piped.
    pub fn spawn(command: &mut Command, name: &'static str) -> Self {
        let mut child = command
            .env("NO_COLOR", "1")
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {name}: {e}"));
        let (tx, rx) = mpsc::channel();
        let streams: Vec<Box<dyn Read + Send>> = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        .collect();
        for stream in streams {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Self {
            child,
            lines: rx,
            seen: Vec::new(),
            name,
        }
    }

    /// Lines until one contains `needle` (that one is returned), within
    /// `limit`, else the test fails; lines seen before are searched first.
    pub fn wait_for_within(&mut self, needle: &str, limit: Duration) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|e| {
                panic!(
                    "no `{needle}` line from {} ({e}); printed:\n{}",
                    self.name,
                    self.log()
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
    pub fn wait_exit_within(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            self.drain();
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(line);
                }
                return status.success();
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit within {limit:?}; printed:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends `signal` (`TERM`, `INT`, `KILL`, `STOP`, ...) to the process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Takes the lines written so far into `seen`.
    pub fn drain(&mut self) {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
    }

    /// Everything it wrote so far (as taken into `seen`).
    pub fn log(&self) -> String {
        self.seen.join("\n")
    }
}

/// A `parajam run` process (its log lines), killed when dropped.
pub struct Node(Process);

impl std::ops::Deref for Node {
    type Target = Process;
    fn deref(&self) -> &Process {
        &self.0
    }
}

impl std::ops::DerefMut for Node {
    fn deref_mut(&mut self) -> &mut Process {
        &mut self.0
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
    command
        .args(args)
        .env("RUST_LOG", "warn,parajam=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    Node(Process::spawn(&mut command, "parajam run"))
}

impl Node {
    /// Log lines until one contains `needle` (that one is returned),
    /// within two minutes; lines seen before are searched first.
    pub fn wait_for(&mut self, needle: &str) -> String {
        self.0.wait_for_within(needle, Duration::from_secs(120))
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
        self.0.wait_exit_within(Duration::from_secs(120))
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
pub struct Collator(Process);

impl std::ops::Deref for Collator {
    type Target = Process;
    fn deref(&self) -> &Process {
        &self.0
    }
}

impl std::ops::DerefMut for Collator {
    fn deref_mut(&mut self) -> &mut Process {
        &mut self.0
    }
}

impl Collator {
    /// `parajam collate --jam-rpc-url ws://<addr> <args>`.
    pub fn spawn(addr: &str, args: &[&str]) -> Self {
        let mut command = Command::new(parajam_binary());
        command
            .arg("collate")
            .args(["--jam-rpc-url", &format!("ws://{addr}")])
            .args(args)
            .env("RUST_LOG", "warn,parajam=info,runtime=off")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Self(Process::spawn(&mut command, "parajam collate"))
    }

    /// `parajam collate` of runtime/parachain (from its build cache) as
    /// para `para`, with `more` arguments.
    pub fn runtime_parachain(addr: &str, para: u32, more: &[&str]) -> Self {
        let runtime = parajam_e2e::runtime_parachain_dir().display().to_string();
        let para = para.to_string();
        let mut args = vec!["--runtime", &runtime, "--para-id", &para];
        args.extend_from_slice(more);
        Self::spawn(addr, &args)
    }

    /// Waits (at most `limit`) for a line containing `needle`; lines seen
    /// before are searched first.
    pub fn wait_for(&mut self, needle: &str, limit: Duration) -> String {
        self.0.wait_for_within(needle, limit)
    }

    /// Waits (at most `limit`, else the test fails) for the process to
    /// exit; whether it succeeded. Its output is in `seen`.
    pub fn wait(&mut self, limit: Duration) -> bool {
        self.0.wait_exit_within(limit)
    }

    /// Everything it printed so far.
    pub fn output(&self) -> String {
        self.log()
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
