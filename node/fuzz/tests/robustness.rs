//! The target survives any input: junk frames get `Error` replies, broken
//! frames close only their connection, and the server keeps serving.

mod common;

use std::io::Read;
use std::net::Shutdown;

use common::{chain, fuzzer_info, genesis, header_hash, MockTarget, Rng, TestServer, PANIC_AUTHOR};
use parajam_fuzz::{tag, Client, Config, Features, Message, ProtocolError, Session, SessionEnd};
use parajam_primitives::codec::Encode;
use parajam_primitives::ProtocolParameters;

const P: ProtocolParameters = ProtocolParameters::TINY;

/// Connects, shakes hands and initializes; the client is ready for imports.
fn ready_client(server: &TestServer) -> Client {
    let mut client = Client::connect(&server.path, P).expect("connect");
    client
        .set_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    client
        .handshake(&fuzzer_info(Features::ANCESTRY | Features::FORK))
        .expect("handshake");
    let (header, state) = genesis();
    client
        .initialize(header, state, vec![])
        .expect("initialize");
    client
}

/// The session still works: a valid block imports.
fn assert_still_serving(client: &mut Client) {
    let (header, _) = genesis();
    let block = chain(&header, 1).remove(0);
    client
        .import_block(block)
        .expect("reply")
        .expect("a valid block still imports");
}

fn assert_error_reply(client: &mut Client, frame: &[u8]) {
    match client.request_raw(frame) {
        Ok(Message::Error(_)) => {}
        other => panic!("frame {frame:02x?}: expected an error reply, got {other:?}"),
    }
}

#[test]
fn random_frames_get_error_replies() {
    let server = TestServer::start(1);
    let mut client = ready_client(&server);
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for i in 0..500 {
        let len = match i % 4 {
            0 => rng.below(8),
            1 => rng.below(64),
            _ => rng.below(4096),
        };
        let mut frame = rng.bytes(len);
        // Half of them carry a valid tag, so the payload decoders get exercised.
        if i % 2 == 0 && !frame.is_empty() {
            frame[0] = [0, 1, 2, 3, 4, 5, 255][rng.below(7)];
        }
        assert_error_reply(&mut client, &frame);
    }
    assert_still_serving(&mut client);
    drop(client);
    let ends = server.join();
    assert!(matches!(ends[..], [SessionEnd::Closed { .. }]), "{ends:?}");
}

#[test]
fn wrong_tags_empty_frames_and_garbage_payloads_get_error_replies() {
    let server = TestServer::start(1);
    let mut client = ready_client(&server);
    assert_error_reply(&mut client, &[]);
    for t in 6..=254u8 {
        assert_error_reply(&mut client, &[t]);
        assert_error_reply(&mut client, &[t, 1, 2, 3]);
    }
    // Every kind with a truncated payload, with trailing octets, and empty.
    let (header, _) = genesis();
    let block = chain(&header, 1).remove(0);
    let hash = header_hash(&block.header);
    for good in [
        Message::ImportBlock(Box::new(block)).encode(),
        Message::GetState(hash).encode(),
        Message::PeerInfo(fuzzer_info(Features::FORK)).encode(),
    ] {
        assert_error_reply(&mut client, &good[..good.len() - 1]);
        assert_error_reply(&mut client, &good[..1]);
        let mut long = good.clone();
        long.push(0);
        assert_error_reply(&mut client, &long);
    }
    // Initialize with too much ancestry; an error reason that is not UTF-8.
    let init = parajam_fuzz::Initialize {
        ancestry: vec![parajam_fuzz::AncestryItem::default(); 25],
        ..Default::default()
    };
    assert_error_reply(&mut client, &Message::Initialize(Box::new(init)).encode());
    assert_error_reply(&mut client, &[tag::ERROR, 2, 0xc3, 0x28]);
    // A block with a non-canonical length prefix (2 items written as 0x80 0x02).
    let mut block = vec![tag::STATE];
    block.extend_from_slice(&[0x80, 0x00]);
    assert_error_reply(&mut client, &block);
    assert_still_serving(&mut client);
    drop(client);
    server.join();
}

#[test]
fn broken_frames_close_only_their_connection() {
    // Connections: huge length, truncated body, truncated prefix, a random
    // unframed stream, a length just above the limit, then a good one.
    let server = TestServer::start(6);

    let mut client = ready_client(&server);
    client
        .send_unframed(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3])
        .expect("send");
    assert!(
        client.receive().is_err(),
        "the server closes the connection"
    );

    let mut client = ready_client(&server);
    client
        .send_unframed(&[100, 0, 0, 0, 3, 1, 2])
        .expect("send");
    client
        .stream_mut()
        .shutdown(Shutdown::Write)
        .expect("shutdown");
    assert!(client.receive().is_err());

    let mut client = ready_client(&server);
    client.send_unframed(&[7, 0]).expect("send");
    client
        .stream_mut()
        .shutdown(Shutdown::Write)
        .expect("shutdown");
    assert!(client.receive().is_err());

    let mut client = Client::connect(&server.path, P).expect("connect");
    let mut rng = Rng(99);
    // Small lengths: the first octets are the length prefix; keep it short
    // so the server answers a few frames, then hits the end mid-frame.
    let mut junk = vec![3, 0, 0, 0, 9, 9, 9, 40, 0, 0, 0];
    junk.extend(rng.bytes(20));
    client.send_unframed(&junk).expect("send");
    client
        .stream_mut()
        .shutdown(Shutdown::Write)
        .expect("shutdown");
    let mut rest = Vec::new();
    let _ = client.stream_mut().read_to_end(&mut rest);

    let mut client = Client::connect(&server.path, P).expect("connect");
    let over = u32::try_from(Config::default().max_frame + 1).expect("fits");
    client.send_unframed(&over.to_le_bytes()).expect("send");
    assert!(client.receive().is_err());

    let mut client = ready_client(&server);
    assert_still_serving(&mut client);
    drop(client);

    let ends = server.join();
    let broken = |e: &SessionEnd| match e {
        SessionEnd::Broken { error, .. } => Some(error.to_string()),
        _ => None,
    };
    assert!(
        matches!(
            &ends[0],
            SessionEnd::Broken {
                requests: 2,
                error: ProtocolError::FrameTooLarge { .. }
            }
        ),
        "{ends:?}"
    );
    assert!(matches!(
        &ends[1],
        SessionEnd::Broken {
            error: ProtocolError::Truncated {
                expected: 100,
                got: 3
            },
            ..
        }
    ));
    assert!(matches!(
        &ends[2],
        SessionEnd::Broken {
            error: ProtocolError::Truncated {
                expected: 4,
                got: 2
            },
            ..
        }
    ));
    assert!(
        matches!(
            &ends[3],
            SessionEnd::Broken {
                requests: 1,
                error: ProtocolError::Truncated { .. }
            }
        ),
        "{:?}",
        broken(&ends[3])
    );
    assert!(matches!(
        &ends[4],
        SessionEnd::Broken {
            requests: 0,
            error: ProtocolError::FrameTooLarge { .. }
        }
    ));
    assert!(matches!(&ends[5], SessionEnd::Closed { .. }), "{ends:?}");
}

#[test]
fn random_unframed_streams_never_stop_the_server() {
    const JUNK: usize = 40;
    let server = TestServer::start(JUNK + 1);
    let mut rng = Rng(0xfeed_f00d);
    for i in 0..JUNK {
        let mut client = Client::connect(&server.path, P).expect("connect");
        let len = rng.below(300);
        let mut bytes = rng.bytes(len);
        // Some streams start with a plausible small frame.
        if i % 3 == 0 && bytes.len() > 8 {
            bytes[..4].copy_from_slice(&4u32.to_le_bytes());
        }
        client.send_unframed(&bytes).expect("send");
        client
            .stream_mut()
            .shutdown(Shutdown::Write)
            .expect("shutdown");
        let mut rest = Vec::new();
        let _ = client.stream_mut().read_to_end(&mut rest);
    }
    let mut client = ready_client(&server);
    assert_still_serving(&mut client);
    drop(client);
    let ends = server.join();
    assert!(matches!(ends[JUNK], SessionEnd::Closed { requests: 3 }));
}

#[test]
fn a_panicking_target_closes_only_its_session() {
    let server = TestServer::start(2);
    let mut client = ready_client(&server);
    let (header, _) = genesis();
    let mut block = chain(&header, 1).remove(0);
    block.header.author_index = PANIC_AUTHOR;
    assert!(client.import_block(block).is_err(), "no reply: closed");
    let mut client = ready_client(&server);
    assert_still_serving(&mut client);
    drop(client);
    let ends = server.join();
    assert!(
        matches!(&ends[0], SessionEnd::TargetPanicked { requests: 2, message } if message.contains("told to panic")),
        "{ends:?}"
    );
    assert!(matches!(&ends[1], SessionEnd::Closed { requests: 3 }));
}

#[test]
fn session_without_a_socket() {
    let mut session = Session::new(MockTarget::default(), Config::default());
    assert!(session.features().is_none());
    assert!(matches!(session.handle_frame(&[]), Message::Error(_)));
    let hello = Message::PeerInfo(fuzzer_info(Features::ANCESTRY)).encode();
    let Message::PeerInfo(ours) = session.handle_frame(&hello) else {
        panic!("peer info expected");
    };
    assert_eq!(ours.app_name, "parajam");
    assert_eq!(session.features(), Some(Features::ANCESTRY));
    assert_eq!(session.target().features, Some(Features::ANCESTRY));

    let (header, state) = genesis();
    let ancestry = vec![parajam_fuzz::AncestryItem {
        slot: 0,
        header_hash: header_hash(&header),
    }];
    let init = parajam_fuzz::Initialize {
        header: header.clone(),
        state,
        ancestry: ancestry.clone(),
    };
    let reply = session.handle(Message::Initialize(Box::new(init)));
    assert!(matches!(reply, Message::StateRoot(_)));
    assert_eq!(session.target().ancestry, ancestry);
    let mut rng = Rng(7);
    for _ in 0..2000 {
        let len = rng.below(200);
        let frame = rng.bytes(len);
        let reply = session.handle_frame(&frame);
        assert!(
            matches!(reply, Message::Error(_)),
            "{frame:02x?} -> {reply:?}"
        );
    }
    let block = chain(&header, 1).remove(0);
    let frame = Message::ImportBlock(Box::new(block.clone())).encode();
    assert!(matches!(
        session.handle_frame(&frame),
        Message::StateRoot(_)
    ));
    assert_eq!(session.into_target().states.len(), 2);
    // The block's own encoding is what the frame carries after the tag.
    assert_eq!(&frame[1..], &block.encode()[..]);
}
