//! A mock target served on a real Unix socket, driven by the `Client`.

mod common;

use common::{chain, fuzzer_info, genesis, header_hash, MockState, TestServer, REJECT_AUTHOR};
use parajam_fuzz::{
    AncestryItem, Client, Features, Message, PeerInfo, ProtocolError, SessionEnd, Version,
};
use parajam_primitives::ProtocolParameters;

const P: ProtocolParameters = ProtocolParameters::TINY;

fn expected_state(kvs: &[parajam_primitives::types::KeyValue]) -> MockState {
    kvs.iter().map(|kv| (kv.key.0, kv.value.to_vec())).collect()
}

#[test]
fn full_session_handshake_initialize_import_get_state() {
    let server = TestServer::start(1);
    let mut client = Client::connect(&server.path, P).expect("connect");
    client
        .set_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");

    // Handshake: parajam, JAM 0.7.2, ancestry + fork; session features are the intersection.
    let theirs = client
        .handshake(&fuzzer_info(Features::FORK))
        .expect("handshake");
    assert_eq!(theirs.app_name, "parajam");
    assert_eq!(theirs.fuzz_version, 1);
    assert_eq!(theirs.jam_version, Version::new(0, 7, 2));
    assert_eq!(theirs.features, Features::ANCESTRY | Features::FORK);
    assert_eq!(theirs.features.0, 3);
    assert_eq!(client.features(), Some(Features::FORK));

    // Initialize.
    let (header, state) = genesis();
    let ancestry = vec![AncestryItem {
        slot: 0,
        header_hash: header_hash(&header),
    }];
    let mut expected = expected_state(&state);
    let root = client
        .initialize(header.clone(), state.clone(), ancestry)
        .expect("initialize");
    assert_eq!(root, common::mock_root(&expected));
    assert_eq!(
        client.get_state(header_hash(&header)).expect("state"),
        state
    );

    // Imports, with a rejected block and a fork in between.
    let blocks = chain(&header, 4);
    for (i, block) in blocks.iter().enumerate() {
        if i == 2 {
            let mut bad = block.clone();
            bad.header.author_index = REJECT_AUTHOR;
            let reply = client.import_block(bad).expect("reply");
            assert_eq!(reply, Err("rejected: marked block".to_owned()));
            // A sibling of the next block (depth-1 fork), then the original.
            let mut sibling = block.clone();
            sibling.header.extrinsic_hash = [0xee; 32].into();
            let mut fork_state = expected.clone();
            common::apply(&mut fork_state, &sibling);
            let root = client
                .import_block(sibling)
                .expect("reply")
                .expect("imported");
            assert_eq!(root, common::mock_root(&fork_state));
        }
        common::apply(&mut expected, block);
        let root = client
            .import_block(block.clone())
            .expect("reply")
            .expect("imported");
        assert_eq!(root, common::mock_root(&expected), "block {i}");
    }

    // State by header hash: head, an earlier block, unknown.
    let head = header_hash(&blocks[3].header);
    assert_eq!(
        client.get_state(head).expect("state"),
        common::to_keyvals(&expected)
    );
    let second = client
        .get_state(header_hash(&blocks[1].header))
        .expect("state");
    assert_eq!(second.len(), state.len() + 2);
    match client.get_state([0x42; 32].into()) {
        Err(ProtocolError::ErrorReply(reason)) => assert_eq!(reason, "unknown header hash"),
        other => panic!("expected an error reply, got {other:?}"),
    }
    // Unknown parent.
    let mut orphan = blocks[0].clone();
    orphan.header.parent = [0x42; 32].into();
    assert_eq!(
        client.import_block(orphan).expect("reply"),
        Err("unknown parent".to_owned())
    );
    drop(client);

    let ends = server.join();
    assert!(
        matches!(ends[..], [SessionEnd::Closed { requests: 13 }]),
        "{ends:?}"
    );
}

#[test]
fn requests_before_the_handshake_get_errors() {
    let server = TestServer::start(1);
    let mut client = Client::connect(&server.path, P).expect("connect");
    let (header, state) = genesis();
    match client.initialize(header.clone(), state.clone(), vec![]) {
        Err(ProtocolError::ErrorReply(reason)) => assert!(reason.contains("handshake"), "{reason}"),
        other => panic!("expected an error reply, got {other:?}"),
    }
    client
        .handshake(&fuzzer_info(Features::ANCESTRY | Features::FORK))
        .expect("handshake");
    assert_eq!(client.features(), Some(Features::ANCESTRY | Features::FORK));
    client
        .initialize(header, state, vec![])
        .expect("initialize after handshake");
    // A second handshake and target-side messages are not requests.
    for msg in [
        Message::PeerInfo(PeerInfo::parajam()),
        Message::StateRoot([0; 32].into()),
        Message::State(vec![]),
        Message::Error("x".into()),
    ] {
        let reply = client.request(&msg).expect("reply");
        assert!(matches!(reply, Message::Error(_)), "{msg:?} -> {reply:?}");
    }
    drop(client);
    server.join();
}

#[test]
fn each_connection_is_a_fresh_session() {
    let server = TestServer::start(3);
    let (header, state) = genesis();
    let hash = header_hash(&header);
    for round in 0..3 {
        let mut client = Client::connect(&server.path, P).expect("connect");
        client
            .handshake(&fuzzer_info(Features::NONE))
            .expect("handshake");
        assert_eq!(client.features(), Some(Features::NONE));
        // The previous connection's state is gone.
        assert!(
            matches!(client.get_state(hash), Err(ProtocolError::ErrorReply(_))),
            "round {round}"
        );
        client
            .initialize(header.clone(), state.clone(), vec![])
            .expect("initialize");
        assert_eq!(client.get_state(hash).expect("state"), state);
    }
    let ends = server.join();
    assert_eq!(ends.len(), 3);
    assert!(ends
        .iter()
        .all(|e| matches!(e, SessionEnd::Closed { requests: 4 })));
}

#[test]
fn the_server_replaces_a_stale_socket_file_and_removes_it_on_drop() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("s.sock");
    let first = parajam_fuzz::Server::bind(&path, parajam_fuzz::Config::default()).expect("bind");
    // A listener left behind (e.g. by a crashed run) is replaced.
    std::mem::forget(first);
    let second =
        parajam_fuzz::Server::bind(&path, parajam_fuzz::Config::default()).expect("rebind");
    assert!(path.exists());
    drop(second);
    assert!(!path.exists());
    // A regular file is never removed.
    std::fs::write(&path, b"keep").expect("write");
    assert!(parajam_fuzz::Server::bind(&path, parajam_fuzz::Config::default()).is_err());
    assert_eq!(std::fs::read(&path).expect("still there"), b"keep");
}
