//! The conformance fuzzer's precomputed 0.7.2 sessions (`forks` and
//! `no_forks` of davxy/jam-conformance's `fuzz-proto/examples`, unpacked
//! with the vectors in `jam-conformance/fuzz-proto-examples/`) replayed
//! against parajam's fuzz target over a real Unix socket, as the reference
//! client `minifuzz.py` does: every recorded fuzzer message is sent as it
//! is, and every reply must be the recorded one, octet for octet, except
//! the text of an `error` (free by the protocol) and the target's own name,
//! version and features in `peer-info`.

use std::path::{Path, PathBuf};

use parajam_chain::{Chain, ChainTarget, ExecutionConfig, SrsSource};
use parajam_fuzz::{Client, Config, Message, Server, SessionEnd};
use parajam_primitives::ProtocolParameters;
use parajam_pvm::Backend;

const P: ProtocolParameters = ProtocolParameters::TINY;

fn session_dir(name: &str) -> PathBuf {
    parajam_conformance::locate_vectors()
        .expect("the conformance vectors (PARAJAM_VECTORS_DIR)")
        .join("jam-conformance/fuzz-proto-examples")
        .join(name)
}

/// The session's message files (`NNNNNNNN_{fuzzer,target}_<kind>.bin`) as
/// `(fuzzer message, expected reply)` pairs in order.
fn exchanges(dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    files.sort();
    let name = |p: &Path| {
        p.file_name()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_owned()
    };
    let (fuzzer, target): (Vec<_>, Vec<_>) = files
        .into_iter()
        .partition(|p| name(p).contains("_fuzzer_"));
    assert_eq!(
        fuzzer.len(),
        target.len(),
        "one reply per message in {}",
        dir.display()
    );
    for (f, t) in fuzzer.iter().zip(&target) {
        assert_eq!(name(f)[..8], name(t)[..8], "paired by number");
    }
    fuzzer.into_iter().zip(target).collect()
}

fn replay(session: &str) {
    let dir = session_dir(session);
    let exchanges = exchanges(&dir);
    assert!(exchanges.len() > 100, "{} exchanges", exchanges.len());

    let srs = SrsSource::Embedded;
    let chain = Chain::new(
        P,
        ExecutionConfig {
            backend: Backend::Interpreter,
            crosscheck: false,
        },
        &srs,
    )
    .expect("chain");
    let target = ChainTarget::new(chain);

    let sock_dir = std::env::temp_dir().join(format!(
        "parajam-fuzz-sessions-{}-{session}",
        std::process::id()
    ));
    std::fs::create_dir_all(&sock_dir).expect("socket dir");
    let path = sock_dir.join("target.sock");
    let server = Server::bind(&path, Config::new(P)).expect("bind");
    let serving = std::thread::spawn(move || server.accept_one(|| target));

    let mut client = Client::connect(&path, P).expect("connect");
    client
        .set_timeout(Some(std::time::Duration::from_secs(120)))
        .expect("timeout");
    let mut failures = Vec::new();
    for (request, expected) in &exchanges {
        let body = std::fs::read(request).expect("read request");
        let want = std::fs::read(expected).expect("read reply");
        let reply = client.request_raw(&body).expect("a reply");
        let want_msg = Message::decode(&want, &P).expect("recorded reply decodes");
        let same = match (&reply, &want_msg) {
            // An error's text is free.
            (Message::Error(_), Message::Error(_)) => true,
            // Each peer announces its own name, version and features (the
            // session uses those both have): parajam must offer at least
            // the recorded target's.
            (Message::PeerInfo(got), Message::PeerInfo(want)) => {
                (got.fuzz_version, got.jam_version) == (want.fuzz_version, want.jam_version)
                    && got.features.contains(want.features)
            }
            (got, _) => got.encode() == want,
        };
        if !same {
            failures.push(format!(
                "{}: replied {reply:?}, recorded {want_msg:?}",
                request.file_name().unwrap_or_default().to_string_lossy()
            ));
        }
    }
    drop(client);
    let end = serving.join().expect("server thread").expect("session");
    let _ = std::fs::remove_dir_all(&sock_dir);
    assert!(
        matches!(end, SessionEnd::Closed { requests } if usize::try_from(requests).ok() == Some(exchanges.len())),
        "{end:?}"
    );
    assert!(
        failures.is_empty(),
        "{} of {} replies differ:\n{}",
        failures.len(),
        exchanges.len(),
        failures.join("\n")
    );
}

#[test]
fn no_forks_session_replays_with_every_reply_as_recorded() {
    replay("no_forks");
}

#[test]
fn forks_session_replays_with_every_reply_as_recorded() {
    replay("forks");
}
