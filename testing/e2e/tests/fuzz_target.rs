//! `parajam fuzz-target` end to end: the real binary on a Unix socket,
//! driven by a fuzzer-protocol client with a whole trace. Every state root
//! it answers must be the trace's; a fork (a block on a non-head parent)
//! and junk messages in between must not disturb it; the final state it
//! reports must be the trace's, key by key.

use parajam_e2e::{start_fuzz_target, trace};
use parajam_fuzz::{Client, Message, PeerInfo};
use parajam_primitives::ProtocolParameters;
use parajam_stf::header::header_hash;

#[test]
fn fuzz_target_replays_a_trace_with_a_fork_and_junk() {
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("target.sock");
    let mut child = start_fuzz_target(&socket);
    let result = std::panic::catch_unwind(|| drive(&socket));
    let _ = child.kill();
    let _ = child.wait();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

fn drive(socket: &std::path::Path) {
    let (genesis, steps) = trace("storage");
    let mut client = Client::connect(socket, ProtocolParameters::TINY).expect("connect");
    let theirs = client.handshake(&PeerInfo::parajam()).expect("handshake");
    assert_eq!(theirs.app_name, "parajam");

    let root = client
        .initialize(
            genesis.header.clone(),
            genesis.state.keyvals.clone(),
            vec![],
        )
        .expect("initialize");
    assert_eq!(root, genesis.state.state_root, "genesis root");

    for (i, step) in steps.iter().enumerate() {
        let got = client
            .import_block(step.block.clone())
            .expect("a reply")
            .unwrap_or_else(|e| panic!("block {i} rejected: {e}"));
        assert_eq!(
            got, step.post_state.state_root,
            "state root after block {i}"
        );

        if i == 10 {
            // Junk between blocks gets an error reply; the session goes on.
            let reply = client.request_raw(&[3, 0xde, 0xad]).expect("a reply");
            assert!(matches!(reply, Message::Error(_)), "{reply:?}");
            // A fork: block 6 again, on block 5 (not the head).
            let again = client
                .import_block(steps[6].block.clone())
                .expect("a reply")
                .expect("fork block imports");
            assert_eq!(again, steps[6].post_state.state_root, "fork root");
            // Invalid blocks are refused: a bad seal, an unknown parent.
            let mut bad = steps[i + 1].block.clone();
            bad.header.seal.0[5] ^= 1;
            let reply = client.import_block(bad).expect("a reply");
            assert!(reply.is_err_and(|e| e.contains("seal")), "bad seal");
            let mut orphan = steps[i + 1].block.clone();
            orphan.header.parent.0[0] ^= 1;
            let reply = client.import_block(orphan).expect("a reply");
            assert!(reply.is_err_and(|e| e.contains("unknown parent")), "orphan");
        }
    }

    let last = steps.last().expect("steps");
    let mut state = client
        .get_state(header_hash(&last.block.header))
        .expect("get-state");
    let mut want = last.post_state.keyvals.clone();
    state.sort_by_key(|kv| kv.key);
    want.sort_by_key(|kv| kv.key);
    assert!(state == want, "final state differs from the trace's");
}
