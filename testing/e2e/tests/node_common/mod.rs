//! Running `parajam run` from tests: the process (killed when dropped),
//! its log lines, and JSON-RPC over plain HTTP.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use parajam_e2e::parajam_binary;

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
/// any free RPC port and no metrics unless `args` says otherwise, 300 ms
/// slots.
pub fn start(global: &[&str], dir: &Path, args: &[&str]) -> Node {
    let mut command = Command::new(parajam_binary());
    command.args(global).arg("run").arg("--data-path").arg(dir);
    command.args(["--rpc-port", "0"]);
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
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
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
