//! The example sessions published with the protocol (`fuzz-proto/examples/0.7.2`
//! in `davxy/jam-conformance`): every message decodes under the tiny
//! parameters and re-encodes to the same octets, and the recorded fuzzer
//! messages replay over a socket against the mock target.
//!
//! The sessions come with the unpacked conformance vectors
//! (`jam-conformance/fuzz-proto-examples`); `PARAJAM_FUZZ_EXAMPLES_DIR`
//! names another such directory (e.g. a checkout's
//! `fuzz-proto/examples/0.7.2`). Replaying them against parajam's own
//! importer, reply by reply, is `parajam-chain`'s `fuzz_sessions` test.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::TestServer;
use parajam_fuzz::{Client, Message, SessionEnd};
use parajam_primitives::ProtocolParameters;

const P: ProtocolParameters = ProtocolParameters::TINY;

/// The examples directory: `PARAJAM_FUZZ_EXAMPLES_DIR`, else the one
/// among the conformance vectors (missing vectors fail the test).
fn data_dir() -> PathBuf {
    std::env::var_os("PARAJAM_FUZZ_EXAMPLES_DIR").map_or_else(
        || parajam_vectors::dir().join("jam-conformance/fuzz-proto-examples"),
        PathBuf::from,
    )
}

/// Every `.bin` file below `dir`, sorted by path.
fn bin_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "bin") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The message kind a file name announces (`00000002_fuzzer_import_block.bin`).
fn kind_in_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("utf-8 name");
    let kind = stem
        .split_once("_fuzzer_")
        .or_else(|| stem.split_once("_target_"))
        .map_or("", |(_, k)| k);
    kind.replace('_', "-")
}

/// Whether `path` is a fuzzer's import-block whose recorded answer is an error.
fn answered_with_error(path: &Path) -> bool {
    let name = path.file_name().and_then(|s| s.to_str()).unwrap_or("");
    name.strip_suffix("_fuzzer_import_block.bin")
        .is_some_and(|n| {
            path.with_file_name(format!("{n}_target_error.bin"))
                .exists()
        })
}

/// Checks every file; returns how many messages there were of each kind.
fn check_round_trip(files: &[PathBuf]) -> BTreeMap<String, usize> {
    let mut kinds = BTreeMap::<String, usize>::new();
    for path in files {
        let bytes = std::fs::read(path).expect("read example");
        let msg = match Message::decode(&bytes, &P) {
            Ok(msg) => msg,
            // A fuzzer may send a block that is not even well-formed (e.g. a
            // work report with no results, below the schema's 1..I bound);
            // the target answers it with an error, as the session recorded.
            Err(e) if answered_with_error(path) => {
                assert!(
                    matches!(
                        e,
                        parajam_fuzz::ProtocolError::Decode {
                            kind: "import-block",
                            ..
                        }
                    ),
                    "{}: {e}",
                    path.display()
                );
                *kinds
                    .entry("undecodable invalid block".to_owned())
                    .or_default() += 1;
                continue;
            }
            Err(e) => panic!("{}: does not decode: {e}", path.display()),
        };
        assert_eq!(
            msg.encode(),
            bytes,
            "{}: re-encoding differs",
            path.display()
        );
        assert_eq!(msg.kind(), kind_in_name(path), "{}", path.display());
        *kinds.entry(msg.kind().to_owned()).or_default() += 1;
    }
    // Every kind a session has (get-state/state only appear on a mismatch).
    for kind in [
        "peer-info",
        "initialize",
        "state-root",
        "import-block",
        "error",
    ] {
        assert!(
            kinds.contains_key(kind),
            "no {kind} among the examples: {kinds:?}"
        );
    }
    kinds
}

#[test]
fn examples_decode_and_reencode_exactly() {
    let dir = data_dir();
    let files = bin_files(&dir);
    assert!(!files.is_empty(), "no .bin files below {}", dir.display());
    let kinds = check_round_trip(&files);
    eprintln!("{} messages by kind: {kinds:?}", files.len());
}

#[test]
fn recorded_fuzzer_messages_replay_over_a_socket() {
    let dir = data_dir();
    let forks = dir.join("forks");
    if !forks.is_dir() {
        eprintln!("skipped: no forks/ session in {}", dir.display());
        return;
    }
    let server = TestServer::start(1);
    let mut client = Client::connect(&server.path, P).expect("connect");
    let fuzzer: Vec<_> = bin_files(&forks)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("_fuzzer_"))
        .collect();
    let mut imported = 0;
    for path in &fuzzer {
        let bytes = std::fs::read(path).expect("read");
        let reply = client.request_raw(&bytes).expect("a reply");
        match (kind_in_name(path).as_str(), &reply) {
            ("peer-info", Message::PeerInfo(info)) => assert_eq!(info.app_name, "parajam"),
            ("initialize", Message::StateRoot(_)) => {}
            // The mock imports any block whose parent it knows (mutated ones too).
            ("import-block", Message::StateRoot(_)) => imported += 1,
            ("import-block", Message::Error(reason)) => assert!(
                reason == "unknown parent"
                    || (answered_with_error(path) && reason.starts_with("undecodable message")),
                "{}: {reason}",
                path.display()
            ),
            (kind, reply) => panic!("{}: {kind} answered with {reply:?}", path.display()),
        }
    }
    assert!(imported > 0, "the recorded chain imports into the mock");
    drop(client);
    let ends = server.join();
    assert!(
        matches!(ends[..], [SessionEnd::Closed { requests }] if usize::try_from(requests).ok() == Some(fuzzer.len())),
        "{ends:?}"
    );
}
