//! The transport on loopback: two nodes connect, shake hands, announce and
//! serve blocks; a wrong ALPN, a certificate not matching its key and
//! oversized or malformed messages are refused or dropped and counted while
//! the node keeps serving good peers.

use std::net::SocketAddr;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parajam_primitives::types::{Block, ErasureRoot, HeaderHash};
use parajam_primitives::{ByteArray, ProtocolParameters};

use crate::framing::write_message;
use crate::protocol::header_hash;
use crate::protocol::{guaranteed_report, StreamKind};
use crate::service::{ChainSource, Event, NetStats, Network, NetworkConfig, PeerAddr, PeerError};
use crate::shards::{AuditShard, ShardRequest, Shards};
use crate::tls::{self, Identity};
use crate::{
    Assurance, BlockRequest, Direction, PeerId, ShareResponse, Slotted, WorkPackageSharing,
    WorkPackageSubmission,
};

const GENESIS: HeaderHash = ByteArray([0x5a; 32]);
const WAIT: Duration = Duration::from_secs(15);

/// A chain of `n` empty blocks on `GENESIS`.
struct Blocks(Vec<Block>);

impl Blocks {
    fn new(n: u32) -> Self {
        let params = ProtocolParameters::TINY;
        let mut parent = GENESIS;
        let mut blocks = Vec::new();
        for slot in 1..=n {
            let mut block = Block::default();
            block.header.parent = parent;
            block.header.slot = slot;
            parent = header_hash(&block.header, &params);
            blocks.push(block);
        }
        Self(blocks)
    }
}

impl ChainSource for Blocks {
    fn finalized(&self) -> Slotted {
        Slotted {
            hash: GENESIS,
            slot: 0,
        }
    }

    fn leaves(&self) -> Vec<Slotted> {
        let params = ProtocolParameters::TINY;
        self.0
            .last()
            .map(|b| Slotted {
                hash: header_hash(&b.header, &params),
                slot: b.header.slot,
            })
            .into_iter()
            .collect()
    }

    fn blocks(&self, hash: &HeaderHash, direction: Direction, max: u32) -> Option<Vec<Block>> {
        let params = ProtocolParameters::TINY;
        let max = max as usize;
        match direction {
            Direction::Ascending => {
                let start = if *hash == GENESIS {
                    0
                } else {
                    1 + self
                        .0
                        .iter()
                        .position(|b| header_hash(&b.header, &params) == *hash)?
                };
                Some(self.0.iter().skip(start).take(max).cloned().collect())
            }
            Direction::Descending => {
                let at = self
                    .0
                    .iter()
                    .position(|b| header_hash(&b.header, &params) == *hash)?;
                Some(self.0[..=at].iter().rev().take(max).cloned().collect())
            }
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().expect("an address")
}

fn start(
    rt: &tokio::runtime::Runtime,
    secret: u8,
    chain: u32,
    peers: Vec<PeerAddr>,
) -> (Network, Receiver<Event>) {
    start_serving(rt, secret, peers, Arc::new(Blocks::new(chain)))
}

fn start_serving(
    rt: &tokio::runtime::Runtime,
    secret: u8,
    peers: Vec<PeerAddr>,
    source: Arc<dyn ChainSource>,
) -> (Network, Receiver<Event>) {
    Network::start(
        NetworkConfig {
            secret: [secret; 32],
            listen: loopback(),
            genesis: GENESIS,
            params: ProtocolParameters::TINY,
            peers,
        },
        source,
        rt.handle(),
    )
    .expect("the network starts")
}

fn addr_of(net: &Network) -> PeerAddr {
    PeerAddr {
        id: net.id(),
        addr: net.local_addr().expect("listening"),
    }
}

/// The first event `pick` takes, within `WAIT`.
fn wait_for<T>(events: &Receiver<Event>, mut pick: impl FnMut(Event) -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = events
            .recv_timeout(left)
            .expect("the expected event within the time allowed");
        if let Some(t) = pick(event) {
            return t;
        }
    }
}

/// A raw QUIC client with `identity` and ALPN `alpn`, dialing `server`
/// under `name`.
async fn raw_connect(
    identity: &Identity,
    alpn: Vec<u8>,
    server: SocketAddr,
    name: &str,
) -> Result<quinn::Connection, quinn::ConnectionError> {
    let mut endpoint = quinn::Endpoint::client(loopback()).expect("a client endpoint");
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(
        tls::client_config(identity, alpn).expect("a client config"),
    )));
    endpoint
        .connect(server, name)
        .expect("a connection attempt")
        .await
}

/// A well-behaved peer: two nodes stay connected, exchange handshakes and
/// announcements, and serve CE 128 both ways.
fn assert_serves(rt: &tokio::runtime::Runtime, server: &Network, events: &Receiver<Event>) {
    let (client, client_events) = start(rt, 99, 0, vec![addr_of(server)]);
    let handshake = wait_for(&client_events, |e| match e {
        Event::Handshake { peer, handshake } if peer == server.id() => Some(handshake),
        _ => None,
    });
    assert_eq!(handshake.leaves.len(), 1);
    assert_eq!(handshake.leaves[0].slot, 3);
    wait_for(events, |e| match e {
        Event::Connected { peer, .. } if peer == client.id() => Some(()),
        _ => None,
    });
    let request = BlockRequest {
        hash: GENESIS,
        direction: Direction::Ascending,
        max_blocks: 2,
    };
    client.request_blocks(server.id(), request);
    let blocks = wait_for(&client_events, |e| match e {
        Event::Blocks {
            request: r, result, ..
        } if r == request => Some(result),
        _ => None,
    })
    .expect("blocks");
    assert_eq!(
        blocks.iter().map(|b| b.header.slot).collect::<Vec<_>>(),
        [1, 2]
    );
    let header = Blocks::new(5).0[4].header.clone();
    server.announce(
        &header,
        Slotted {
            hash: GENESIS,
            slot: 0,
        },
    );
    let announced = wait_for(&client_events, |e| match e {
        Event::Announcement {
            peer, announcement, ..
        } if peer == server.id() => Some(announcement),
        _ => None,
    });
    assert_eq!(announced.header, header);
}

#[test]
fn two_nodes_connect_shake_hands_announce_and_serve_blocks() {
    let rt = runtime();
    let (server, events) = start(&rt, 1, 3, Vec::new());
    assert_serves(&rt, &server, &events);
    // A block CE 128 cannot serve: the stream is reset, no blocks.
    let (client, client_events) = start(&rt, 2, 0, vec![addr_of(&server)]);
    wait_for(&client_events, |e| {
        matches!(e, Event::Handshake { .. }).then_some(())
    });
    client.request_blocks(
        server.id(),
        BlockRequest {
            hash: ByteArray([9; 32]),
            direction: Direction::Descending,
            max_blocks: 2,
        },
    );
    let result = wait_for(&client_events, |e| match e {
        Event::Blocks { result, .. } => Some(result),
        _ => None,
    });
    assert!(result.is_err(), "{result:?}");
    assert_eq!(NetStats::get(&server.stats().dropped), 0);
}

#[test]
fn a_wrong_alpn_is_refused_and_counted() {
    let rt = runtime();
    let (server, events) = start(&rt, 1, 3, Vec::new());
    let addr = server.local_addr().expect("listening");
    let stranger = Identity::from_secret(&[7; 32]).expect("an identity");
    let other_chain = tls::alpn(&[0x11; 32], false);
    let result = rt.block_on(raw_connect(
        &stranger,
        other_chain,
        addr,
        &server.id().alt_name(),
    ));
    assert!(
        result.is_err(),
        "a connection for another chain was accepted"
    );
    wait_for(&events, |e| {
        matches!(
            e,
            Event::Refused {
                error: PeerError::Handshake(_),
                ..
            }
        )
        .then_some(())
    });
    assert_eq!(NetStats::get(&server.stats().refused), 1);
    assert_eq!(server.peer_count(), 0);
    // The builder variant of this chain's identifier is accepted.
    let builder = rt
        .block_on(raw_connect(
            &stranger,
            tls::alpn(&GENESIS.0, true),
            addr,
            &server.id().alt_name(),
        ))
        .expect("a builder connection");
    builder.close(0u32.into(), b"done");
    assert_serves(&rt, &server, &events);
}

#[test]
fn a_certificate_not_matching_its_key_is_refused_both_ways() {
    let rt = runtime();
    let (server, events) = start(&rt, 1, 3, Vec::new());
    let addr = server.local_addr().expect("listening");
    // A client whose certificate names another key.
    let other = PeerId([3; 32]);
    let liar = Identity::with_name(&[7; 32], other, &other.alt_name()).expect("a certificate");
    // TLS 1.3: the client may see its side of the handshake complete
    // before the server checks the client's certificate; the server then
    // closes the connection.
    let refused = rt.block_on(async {
        match raw_connect(
            &liar,
            tls::alpn(&GENESIS.0, false),
            addr,
            &server.id().alt_name(),
        )
        .await
        {
            Err(e) => e,
            Ok(conn) => tokio::time::timeout(WAIT, conn.closed())
                .await
                .expect("the server closes the connection"),
        }
    });
    assert!(
        !matches!(refused, quinn::ConnectionError::TimedOut),
        "{refused:?}"
    );
    wait_for(&events, |e| {
        matches!(e, Event::Refused { .. }).then_some(())
    });
    assert_eq!(NetStats::get(&server.stats().refused), 1);
    // Dialing a key the server does not hold: the dialer refuses it.
    let honest = Identity::from_secret(&[7; 32]).expect("an identity");
    let result = rt.block_on(raw_connect(
        &honest,
        tls::alpn(&GENESIS.0, false),
        addr,
        &other.alt_name(),
    ));
    assert!(
        result.is_err(),
        "the dialer accepted another key than it dialed"
    );
    assert_serves(&rt, &server, &events);
}

/// Connects a raw peer, opens a stream of `kind` and sends `bytes`; the
/// server must drop the connection.
fn misbehave(rt: &tokio::runtime::Runtime, server: &Network, kind: u8, bytes: Vec<u8>) {
    let addr = server.local_addr().expect("listening");
    let identity = Identity::from_secret(&[kind.wrapping_add(50); 32]).expect("an identity");
    let name = server.id().alt_name();
    rt.block_on(async move {
        let conn = raw_connect(&identity, tls::alpn(&GENESIS.0, false), addr, &name)
            .await
            .expect("connected");
        let (mut send, _recv) = conn.open_bi().await.expect("a stream");
        send.write_all(&[kind]).await.expect("the kind");
        send.write_all(&bytes).await.expect("the bytes");
        let _ = send.finish();
        let closed = tokio::time::timeout(WAIT, conn.closed())
            .await
            .expect("the server closes the connection");
        assert!(
            matches!(closed, quinn::ConnectionError::ApplicationClosed(ref c) if c.error_code == 1u32.into()),
            "{closed:?}"
        );
    });
}

#[test]
fn oversized_and_malformed_messages_drop_the_peer_and_the_node_keeps_running() {
    let rt = runtime();
    let (server, events) = start(&rt, 1, 3, Vec::new());
    // UP 0: a size prefix of 1 GiB for the handshake.
    misbehave(&rt, &server, 0, (1u32 << 30).to_le_bytes().to_vec());
    let error = wait_for(&events, |e| match e {
        Event::Dropped { error, .. } => Some(error),
        _ => None,
    });
    assert!(
        matches!(
            error,
            PeerError::Frame {
                error: crate::framing::FrameError::Oversized { .. },
                ..
            }
        ),
        "{error:?}"
    );
    // UP 0: a handshake that does not decode.
    let rt_ref = &rt;
    let mut garbage = Vec::new();
    rt_ref
        .block_on(write_message(&mut garbage, &[1, 2, 3]))
        .expect("framed");
    misbehave(&rt, &server, 0, garbage);
    let error = wait_for(&events, |e| match e {
        Event::Dropped { error, .. } => Some(error),
        _ => None,
    });
    assert!(matches!(error, PeerError::Message(_)), "{error:?}");
    // CE 128: a request with direction 7.
    let mut request = BlockRequest {
        hash: GENESIS,
        direction: Direction::Ascending,
        max_blocks: 1,
    }
    .encode();
    request[32] = 7;
    let mut framed = Vec::new();
    rt.block_on(write_message(&mut framed, &request))
        .expect("framed");
    misbehave(&rt, &server, 128, framed);
    wait_for(&events, |e| {
        matches!(e, Event::Dropped { .. }).then_some(())
    });
    assert_eq!(NetStats::get(&server.stats().dropped), 3);
    assert_serves(&rt, &server, &events);
}

/// Frames `messages` one after the other.
fn framed(rt: &tokio::runtime::Runtime, messages: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        rt.block_on(write_message(&mut out, m)).expect("framed");
    }
    out
}

/// A package whose one item names one extrinsic of `len` octets.
fn package_with_extrinsic(len: u32) -> parajam_primitives::types::WorkPackage {
    use parajam_primitives::types::{ExtrinsicSpec, WorkItem, WorkPackage};
    let item = WorkItem {
        service: 7,
        extrinsic: vec![ExtrinsicSpec {
            hash: ByteArray([1; 32]),
            len,
        }],
        ..WorkItem::default()
    };
    WorkPackage {
        items: vec![item].into(),
        ..WorkPackage::default()
    }
}

fn guarantee() -> parajam_primitives::types::ReportGuarantee {
    use parajam_primitives::types::{ReportGuarantee, ValidatorSignature, WorkReport, WorkResult};
    ReportGuarantee {
        report: WorkReport {
            core_index: 1,
            results: vec![WorkResult::default()].into(),
            ..WorkReport::default()
        },
        slot: 9,
        signatures: vec![
            ValidatorSignature {
                validator_index: 0,
                signature: ByteArray([3; 64]),
            },
            ValidatorSignature {
                validator_index: 4,
                signature: ByteArray([4; 64]),
            },
        ],
    }
}

#[test]
fn guaranteeing_messages_round_trip_and_refuse_bad_input() {
    let params = ProtocolParameters::TINY;
    let submission = WorkPackageSubmission {
        core: 1,
        package: package_with_extrinsic(3),
        extrinsics: vec![vec![vec![7, 8, 9]]],
    };
    let [first, second] = submission.encode(&params);
    assert_eq!(&first[..2], &1u16.to_le_bytes());
    assert_eq!(second, vec![7, 8, 9]);
    assert_eq!(
        WorkPackageSubmission::decode(&first, &second, &params),
        Ok(submission.clone())
    );
    // Extrinsic data shorter or longer than the items name.
    assert!(WorkPackageSubmission::decode(&first, &second[..2], &params).is_err());
    assert!(WorkPackageSubmission::decode(&first, &[0; 4], &params).is_err());

    let mut bundle = codec_encode(&submission.package);
    bundle.extend_from_slice(&[7, 8, 9]);
    let sharing = WorkPackageSharing {
        core: 1,
        mappings: vec![(ByteArray([5; 32]), ByteArray([6; 32]))],
        bundle: bundle.clone(),
    };
    let [first, second] = sharing.encode();
    assert_eq!(first.len(), 2 + 1 + 64);
    assert_eq!(
        WorkPackageSharing::decode(&first, &second, &params),
        Ok(sharing)
    );
    assert_eq!(
        crate::split_bundle(&bundle, &params).expect("a bundle").1,
        vec![vec![vec![7, 8, 9]]]
    );
    assert!(crate::split_bundle(&bundle[..bundle.len() - 1], &params).is_err());

    let response = ShareResponse {
        report_hash: ByteArray([1; 32]),
        signature: ByteArray([2; 64]),
    };
    assert_eq!(response.encode().len(), ShareResponse::SIZE);
    assert_eq!(ShareResponse::decode(&response.encode()), Ok(response));
    assert!(ShareResponse::decode(&[0; 95]).is_err());

    let g = guarantee();
    let bytes = guaranteed_report::encode(&g, &params);
    assert_eq!(guaranteed_report::decode(&bytes, &params), Ok(g.clone()));
    let mut one = g;
    one.signatures.truncate(1);
    assert!(guaranteed_report::decode(&guaranteed_report::encode(&one, &params), &params).is_err());

    let assurance = Assurance {
        anchor: ByteArray([8; 32]),
        bitfield: vec![0b11],
        signature: ByteArray([9; 64]),
    };
    assert_eq!(assurance.encode().len(), Assurance::size(&params));
    assert_eq!(
        Assurance::decode(&assurance.encode(), &params),
        Ok(assurance)
    );
    assert!(Assurance::decode(&[0; 10], &params).is_err());
    assert_eq!(
        StreamKind::from_octet(134),
        Some(StreamKind::WorkPackageSharing)
    );
    assert_eq!(StreamKind::AssuranceDistribution.octet(), 141);
}

fn codec_encode(package: &parajam_primitives::types::WorkPackage) -> Vec<u8> {
    parajam_primitives::codec::with_params(&ProtocolParameters::TINY, || {
        parajam_primitives::codec::Encode::encode(package)
    })
}

#[test]
fn work_packages_bundles_reports_and_assurances_go_between_peers() {
    let rt = runtime();
    let (a, a_events) = start(&rt, 1, 2, Vec::new());
    let (b, b_events) = start(&rt, 2, 2, vec![addr_of(&a)]);
    wait_for(&a_events, |e| {
        matches!(e, Event::Connected { .. }).then_some(())
    });
    wait_for(&b_events, |e| {
        matches!(e, Event::Connected { .. }).then_some(())
    });
    let sent_before = NetStats::get(&b.stats().bytes_sent);

    // CE 133.
    let submission = WorkPackageSubmission {
        core: 0,
        package: package_with_extrinsic(2),
        extrinsics: vec![vec![vec![4, 2]]],
    };
    b.submit_work_package(a.id(), &submission);
    let got = wait_for(&a_events, |e| match e {
        Event::WorkPackage { peer, submission } => Some((peer, submission)),
        _ => None,
    });
    assert_eq!(got.0, b.id());
    assert_eq!(*got.1, submission);

    // CE 134: the node answers through the responder.
    let mut bundle = codec_encode(&submission.package);
    bundle.extend_from_slice(&[4, 2]);
    let sharing = WorkPackageSharing {
        core: 0,
        mappings: Vec::new(),
        bundle,
    };
    let tag = ByteArray([0x33; 32]);
    b.share_work_package(a.id(), tag, &sharing);
    let (shared, reply) = wait_for(&a_events, |e| match e {
        Event::ShareRequest { sharing, reply, .. } => Some((sharing, reply)),
        _ => None,
    });
    assert_eq!(*shared, sharing);
    let response = ShareResponse {
        report_hash: ByteArray([0x44; 32]),
        signature: ByteArray([0x55; 64]),
    };
    reply.respond(response);
    let result = wait_for(&b_events, |e| match e {
        Event::Shared { tag: t, result, .. } if t == tag => Some(result),
        _ => None,
    });
    assert_eq!(result, Ok(response));
    // Refused: the asker hears of it.
    b.share_work_package(a.id(), tag, &sharing);
    let reply = wait_for(&a_events, |e| match e {
        Event::ShareRequest { reply, .. } => Some(reply),
        _ => None,
    });
    reply.refuse();
    let result = wait_for(&b_events, |e| match e {
        Event::Shared { result, .. } => Some(result),
        _ => None,
    });
    assert!(result.is_err(), "{result:?}");

    // CE 135 and CE 141.
    let g = guarantee();
    b.distribute_guarantee(&[a.id()], &g);
    let got = wait_for(&a_events, |e| match e {
        Event::Guarantee { guarantee, .. } => Some(guarantee),
        _ => None,
    });
    assert_eq!(*got, g);
    let assurance = Assurance {
        anchor: ByteArray([8; 32]),
        bitfield: vec![0b10],
        signature: ByteArray([9; 64]),
    };
    b.distribute_assurance(&[a.id()], &assurance);
    let got = wait_for(&a_events, |e| match e {
        Event::Assurance { assurance, .. } => Some(assurance),
        _ => None,
    });
    assert_eq!(got, assurance);
    let stats = a.stats();
    assert_eq!(NetStats::get(&stats.packages_received), 1);
    assert_eq!(NetStats::get(&stats.shares_received), 2);
    assert_eq!(NetStats::get(&stats.guarantees_received), 1);
    assert_eq!(NetStats::get(&stats.assurances_received), 1);
    assert_eq!(NetStats::get(&stats.dropped), 0);
    // Everything b sent is counted: at least the messages' octets.
    let sent = NetStats::get(&b.stats().bytes_sent) - sent_before;
    assert!(sent > (32 + 1 + 64) + 2 + 96, "{sent}");
}

#[test]
fn malformed_guaranteeing_messages_drop_the_peer_and_the_node_keeps_running() {
    let rt = runtime();
    let (server, events) = start(&rt, 1, 3, Vec::new());
    let params = ProtocolParameters::TINY;
    let dropped = |events: &Receiver<Event>| {
        wait_for(events, |e| match e {
            Event::Dropped { error, .. } => Some(error),
            _ => None,
        })
    };
    // CE 133: a first message over `2 + 200 KiB`.
    misbehave(
        &rt,
        &server,
        133,
        u32::try_from(WorkPackageSubmission::FIRST_LIMIT + 1)
            .expect("small")
            .to_le_bytes()
            .to_vec(),
    );
    let error = dropped(&events);
    assert!(
        matches!(
            error,
            PeerError::Frame {
                error: crate::framing::FrameError::Oversized { .. },
                ..
            }
        ),
        "{error:?}"
    );
    // CE 133: no work package, and extrinsic data not matching the items.
    misbehave(&rt, &server, 133, framed(&rt, &[&[1, 0, 0xff, 0xff], &[]]));
    assert!(matches!(dropped(&events), PeerError::Message(_)));
    let [first, _] = WorkPackageSubmission {
        core: 0,
        package: package_with_extrinsic(3),
        extrinsics: vec![vec![vec![1, 2, 3]]],
    }
    .encode(&params);
    misbehave(&rt, &server, 133, framed(&rt, &[&first, &[1]]));
    assert!(matches!(dropped(&events), PeerError::Message(_)));
    // CE 133: only one of its two messages.
    misbehave(&rt, &server, 133, framed(&rt, &[&first]));
    assert!(matches!(dropped(&events), PeerError::Frame { .. }));
    // CE 134: more mappings than allowed, then a bundle that is no bundle.
    let mut first = 0u16.to_le_bytes().to_vec();
    parajam_primitives::codec::Encode::encode_to(
        &parajam_primitives::codec::Compact(u64::MAX),
        &mut first,
    );
    misbehave(&rt, &server, 134, framed(&rt, &[&first, &[]]));
    assert!(matches!(dropped(&events), PeerError::Message(_)));
    misbehave(&rt, &server, 134, framed(&rt, &[&[0, 0, 0], &[9; 20]]));
    assert!(matches!(dropped(&events), PeerError::Message(_)));
    // CE 135: a report that does not decode, and one with a single signature.
    misbehave(&rt, &server, 135, framed(&rt, &[&[0xff; 64]]));
    assert!(matches!(dropped(&events), PeerError::Message(_)));
    let mut lone = guarantee();
    lone.signatures.truncate(1);
    let bytes = guaranteed_report::encode(&lone, &params);
    misbehave(&rt, &server, 135, framed(&rt, &[&bytes]));
    assert!(matches!(dropped(&events), PeerError::Message(_)));
    // CE 141: an assurance of the wrong size, and two assurances on one stream.
    misbehave(&rt, &server, 141, framed(&rt, &[&[0; 10]]));
    assert!(matches!(dropped(&events), PeerError::Message(_)));
    let good = [0u8; 32 + 1 + 64];
    misbehave(&rt, &server, 141, framed(&rt, &[&good, &good]));
    assert!(matches!(dropped(&events), PeerError::Frame { .. }));
    assert_eq!(NetStats::get(&server.stats().dropped), 10);
    assert_eq!(NetStats::get(&server.stats().assurances_received), 0);
    assert_serves(&rt, &server, &events);
}

/// A CE 131/132 message with entry index `attempt`.
fn epoch_ticket(epoch: u32, attempt: u8) -> crate::EpochTicket {
    crate::EpochTicket {
        epoch,
        ticket: parajam_primitives::types::TicketEnvelope {
            attempt,
            signature: ByteArray([0x21; 784]),
        },
    }
}

#[test]
fn safrole_tickets_go_to_the_proxy_and_from_it_to_the_validators() {
    use crate::TicketStep;
    let rt = runtime();
    let (a, a_events) = start(&rt, 1, 2, Vec::new());
    let (b, b_events) = start(&rt, 2, 2, vec![addr_of(&a)]);
    wait_for(&a_events, |e| {
        matches!(e, Event::Connected { .. }).then_some(())
    });
    wait_for(&b_events, |e| {
        matches!(e, Event::Connected { .. }).then_some(())
    });
    // CE 131, b to its proxy a; CE 132, a back to b.
    let ticket = epoch_ticket(7, 1);
    b.send_ticket(&[a.id()], TicketStep::ToProxy, &ticket);
    let got = wait_for(&a_events, |e| match e {
        Event::Ticket { peer, step, ticket } => Some((peer, step, ticket)),
        _ => None,
    });
    assert_eq!(got, (b.id(), TicketStep::ToProxy, Box::new(ticket.clone())));
    a.send_ticket(&[b.id()], TicketStep::FromProxy, &ticket);
    let got = wait_for(&b_events, |e| match e {
        Event::Ticket { peer, step, ticket } => Some((peer, step, ticket)),
        _ => None,
    });
    assert_eq!(got, (a.id(), TicketStep::FromProxy, Box::new(ticket)));
    assert_eq!(NetStats::get(&a.stats().tickets_received), 1);
    assert_eq!(NetStats::get(&b.stats().tickets_received), 1);
    assert_eq!(NetStats::get(&a.stats().dropped), 0);
    assert_eq!(NetStats::get(&b.stats().dropped), 0);
}

#[test]
fn malformed_safrole_tickets_drop_the_peer_and_the_node_keeps_running() {
    let rt = runtime();
    let (server, events) = start(&rt, 1, 3, Vec::new());
    let dropped = |events: &Receiver<Event>| {
        wait_for(events, |e| match e {
            Event::Dropped { error, .. } => Some(error),
            _ => None,
        })
    };
    let good = epoch_ticket(1, 0).encode();
    // CE 131: a ticket one octet short (a whole message of the wrong size).
    misbehave(&rt, &server, 131, framed(&rt, &[&good[..good.len() - 1]]));
    assert!(matches!(dropped(&events), PeerError::Message(_)));
    // CE 131: a message over the ticket's size, refused before its content.
    misbehave(
        &rt,
        &server,
        131,
        u32::try_from(crate::EpochTicket::SIZE + 1)
            .expect("small")
            .to_le_bytes()
            .to_vec(),
    );
    let error = dropped(&events);
    assert!(
        matches!(
            error,
            PeerError::Frame {
                error: crate::framing::FrameError::Oversized { .. },
                ..
            }
        ),
        "{error:?}"
    );
    // CE 132: entry index N (3 on the tiny chain) is no ticket.
    let bad = epoch_ticket(1, 3).encode();
    misbehave(&rt, &server, 132, framed(&rt, &[&bad]));
    assert!(matches!(
        dropped(&events),
        PeerError::Message(crate::protocol::MessageError::Invalid { .. })
    ));
    // CE 132: two tickets on one stream; CE 131: a stream without a message.
    misbehave(&rt, &server, 132, framed(&rt, &[&good, &good]));
    assert!(matches!(dropped(&events), PeerError::Frame { .. }));
    misbehave(&rt, &server, 131, Vec::new());
    assert!(matches!(dropped(&events), PeerError::Frame { .. }));
    assert_eq!(NetStats::get(&server.stats().dropped), 5);
    assert_eq!(NetStats::get(&server.stats().tickets_received), 0);
    assert_serves(&rt, &server, &events);
}

#[test]
fn preimages_are_announced_requested_and_checked_against_their_announcement() {
    use crate::PreimageAnnouncement;
    let rt = runtime();
    let (a, a_events) = start(&rt, 1, 2, Vec::new());
    let (b, b_events) = start(&rt, 2, 2, vec![addr_of(&a)]);
    for events in [&a_events, &b_events] {
        wait_for(events, |e| {
            matches!(e, Event::Connected { .. }).then_some(())
        });
    }
    let blob = Arc::new(b"the code of a para".to_vec());
    let announcement = PreimageAnnouncement {
        service: 1000,
        hash: ByteArray(parajam_crypto::blake2b_256(&blob)),
        length: u32::try_from(blob.len()).expect("small"),
    };
    // CE 142: a announces, b hears it.
    a.hold_preimage(announcement.hash, blob.clone());
    a.announce_preimage(&[b.id()], &announcement);
    let (peer, heard) = wait_for(&b_events, |e| match e {
        Event::PreimageAnnounced { peer, announcement } => Some((peer, announcement)),
        _ => None,
    });
    assert_eq!((peer, heard), (a.id(), announcement));
    // CE 143: b asks a for it.
    b.request_preimage(a.id(), announcement);
    let got = wait_for(&b_events, |e| match e {
        Event::Preimage { result, .. } => Some(result),
        _ => None,
    });
    assert_eq!(got.expect("the preimage"), blob);
    // A preimage a does not hold: refused, nobody dropped.
    let unknown = PreimageAnnouncement {
        hash: ByteArray([9; 32]),
        ..announcement
    };
    b.request_preimage(a.id(), unknown);
    let refused = wait_for(&b_events, |e| match e {
        Event::Preimage { result, .. } => Some(result),
        _ => None,
    });
    assert!(
        matches!(refused, Err(crate::RequestError::Failed(_))),
        "{refused:?}"
    );
    let stats = a.stats();
    assert_eq!(NetStats::get(&stats.preimage_requests_served), 1);
    assert_eq!(NetStats::get(&b.stats().preimage_announcements_received), 1);
    assert_eq!(NetStats::get(&b.stats().dropped), 0);
    assert_eq!(NetStats::get(&stats.dropped), 0);
    // a answers with another blob than the hash names: b drops a.
    let liar = ByteArray([7; 32]);
    a.hold_preimage(liar, blob.clone());
    b.request_preimage(
        a.id(),
        PreimageAnnouncement {
            hash: liar,
            ..announcement
        },
    );
    // The peer is dropped first, then the answer says why.
    wait_for(&b_events, |e| {
        matches!(e, Event::Dropped { peer, .. } if peer == a.id()).then_some(())
    });
    let wrong = wait_for(&b_events, |e| match e {
        Event::Preimage { result, .. } => Some(result),
        _ => None,
    });
    assert!(
        matches!(
            wrong,
            Err(crate::RequestError::Malformed(PeerError::Message(_)))
        ),
        "{wrong:?}"
    );
    assert_eq!(NetStats::get(&b.stats().dropped), 1);
}

#[test]
fn longer_preimages_than_announced_drop_the_peer() {
    use crate::PreimageAnnouncement;
    let rt = runtime();
    let (a, a_events) = start(&rt, 1, 2, Vec::new());
    let (b, b_events) = start(&rt, 2, 2, vec![addr_of(&a)]);
    for events in [&a_events, &b_events] {
        wait_for(events, |e| {
            matches!(e, Event::Connected { .. }).then_some(())
        });
    }
    let blob = Arc::new(vec![5u8; 4096]);
    let hash = ByteArray(parajam_crypto::blake2b_256(&blob));
    a.hold_preimage(hash, blob);
    // Announced as 100 octets: the answer's size prefix is over the limit.
    b.request_preimage(
        a.id(),
        PreimageAnnouncement {
            service: 1,
            hash,
            length: 100,
        },
    );
    let result = wait_for(&b_events, |e| match e {
        Event::Preimage { result, .. } => Some(result),
        _ => None,
    });
    assert!(
        matches!(
            result,
            Err(crate::RequestError::Malformed(PeerError::Frame {
                error: crate::framing::FrameError::Oversized { .. },
                ..
            }))
        ),
        "{result:?}"
    );
    assert_eq!(NetStats::get(&b.stats().dropped), 1);
}

#[test]
fn malformed_preimage_messages_drop_the_peer_and_the_node_keeps_running() {
    let rt = runtime();
    let (server, events) = start(&rt, 1, 3, Vec::new());
    let dropped = |events: &Receiver<Event>| {
        wait_for(events, |e| match e {
            Event::Dropped { error, .. } => Some(error),
            _ => None,
        })
    };
    // CE 142: an announcement of 39 octets, one of 41, one over the
    // limit's size prefix, and two on one stream.
    misbehave(&rt, &server, 142, framed(&rt, &[&[0; 39]]));
    assert!(matches!(dropped(&events), PeerError::Message(_)));
    misbehave(&rt, &server, 142, framed(&rt, &[&[0; 41]]));
    assert!(matches!(dropped(&events), PeerError::Frame { .. }));
    misbehave(&rt, &server, 142, (1u32 << 30).to_le_bytes().to_vec());
    assert!(matches!(
        dropped(&events),
        PeerError::Frame {
            error: crate::framing::FrameError::Oversized { .. },
            ..
        }
    ));
    misbehave(&rt, &server, 142, framed(&rt, &[&[0; 40], &[0; 40]]));
    assert!(matches!(dropped(&events), PeerError::Frame { .. }));
    // CE 143: a hash of 31 octets, an oversized request, a request cut
    // short, and no request at all.
    misbehave(&rt, &server, 143, framed(&rt, &[&[0; 31]]));
    assert!(matches!(dropped(&events), PeerError::Message(_)));
    misbehave(&rt, &server, 143, framed(&rt, &[&[0; 33]]));
    assert!(matches!(dropped(&events), PeerError::Frame { .. }));
    misbehave(&rt, &server, 143, vec![32, 0, 0, 0, 1, 2, 3]);
    assert!(matches!(dropped(&events), PeerError::Frame { .. }));
    misbehave(&rt, &server, 143, Vec::new());
    assert!(matches!(dropped(&events), PeerError::Frame { .. }));
    let stats = server.stats();
    assert_eq!(NetStats::get(&stats.dropped), 8);
    assert_eq!(NetStats::get(&stats.preimage_announcements_received), 0);
    assert_eq!(NetStats::get(&stats.preimage_requests_served), 0);
    assert_serves(&rt, &server, &events);
}

/// A store of shards and bundles for CE 137/138/147, over three blocks.
struct Held {
    blocks: Blocks,
    shards: std::collections::HashMap<ShardRequest, Shards>,
    bundles: std::collections::HashMap<ErasureRoot, Vec<u8>>,
}

impl ChainSource for Held {
    fn finalized(&self) -> Slotted {
        self.blocks.finalized()
    }

    fn leaves(&self) -> Vec<Slotted> {
        self.blocks.leaves()
    }

    fn blocks(&self, hash: &HeaderHash, direction: Direction, max: u32) -> Option<Vec<Block>> {
        self.blocks.blocks(hash, direction, max)
    }

    fn shards(&self, request: &ShardRequest) -> Option<Shards> {
        self.shards.get(request).cloned()
    }

    fn bundle(&self, erasure_root: &ErasureRoot) -> Option<Vec<u8>> {
        self.bundles.get(erasure_root).cloned()
    }
}

/// Each of the six validators' shards of some data and their erasure root:
/// a bundle shard and two segment shards each, the justifications the
/// co-paths of the leaves `H(bundle shard) ⌢ M_B(segment shards)`.
fn six_shards() -> (ErasureRoot, Vec<Shards>) {
    use parajam_merkle::binary::{merkle_trace, well_balanced_root};
    let size = crate::shards::segment_shard_size(&ProtocolParameters::TINY);
    let raw: Vec<(Vec<u8>, Vec<Vec<u8>>)> = (0u8..6)
        .map(|i| (vec![i; 10], vec![vec![i; size], vec![i + 100; size]]))
        .collect();
    let leaves: Vec<Vec<u8>> = raw
        .iter()
        .map(|(b, s)| {
            [
                &parajam_crypto::blake2b_256(b)[..],
                &well_balanced_root(s)[..],
            ]
            .concat()
        })
        .collect();
    let root = ByteArray(well_balanced_root(&leaves));
    let shards = raw
        .into_iter()
        .enumerate()
        .map(|(i, (bundle_shard, segment_shards))| Shards {
            bundle_shard,
            segment_shards,
            justification: merkle_trace(&leaves, i, parajam_crypto::blake2b_256),
        })
        .collect();
    (root, shards)
}

/// A bundle: a package naming one extrinsic of 3 octets, and the extrinsic.
fn a_bundle() -> Vec<u8> {
    let mut bundle = codec_encode(&package_with_extrinsic(3));
    bundle.extend_from_slice(&[7, 8, 9]);
    bundle
}

/// A node serving `held`, and a client connected to it.
fn serving_pair(
    rt: &tokio::runtime::Runtime,
    held: Held,
    client_secret: u8,
) -> (Network, Receiver<Event>, Network, Receiver<Event>) {
    let (server, server_events) = start_serving(rt, 1, Vec::new(), Arc::new(held));
    let (client, client_events) = start(rt, client_secret, 0, vec![addr_of(&server)]);
    for events in [&server_events, &client_events] {
        wait_for(events, |e| {
            matches!(e, Event::Connected { .. }).then_some(())
        });
    }
    (server, server_events, client, client_events)
}

#[test]
fn shard_messages_round_trip_and_verify_against_the_erasure_root() {
    let params = ProtocolParameters::TINY;
    let (root, shards) = six_shards();
    for (i, s) in shards.iter().enumerate() {
        let request = ShardRequest {
            erasure_root: root,
            index: u16::try_from(i).expect("small"),
        };
        assert_eq!(s.verify(&request, &params), Ok(()));
        let decoded = Shards::decode(&s.encode(), &params).expect("decodes");
        assert_eq!(&decoded, s);
        assert_eq!(Shards::from_bytes(&s.to_bytes(), &params).as_ref(), Ok(s));
        assert_eq!(s.audit().verify(&request, &params), Ok(()));
        assert_eq!(
            AuditShard::decode(&s.audit().encode(), &params),
            Ok(s.audit())
        );
        // Another index, a flipped octet: no proof.
        let moved = ShardRequest {
            index: (request.index + 1) % 6,
            ..request
        };
        assert!(s.verify(&moved, &params).is_err());
        assert!(s.audit().verify(&moved, &params).is_err());
        let mut bad = s.clone();
        bad.segment_shards[1][5] ^= 1;
        assert!(bad.verify(&request, &params).is_err());
        let mut bad = s.audit();
        bad.bundle_shard[0] ^= 1;
        assert!(bad.verify(&request, &params).is_err());
    }
    // Segment shards that are not whole shards.
    let mut messages = shards[0].encode();
    messages[1].pop();
    assert!(Shards::decode(&messages, &params).is_err());
    assert!(Shards::from_bytes(&shards[0].to_bytes()[1..], &params).is_err());
}

#[test]
fn shards_and_bundles_are_served_from_the_store_and_checked_against_the_erasure_root() {
    let rt = runtime();
    let (root, shards) = six_shards();
    let held = Held {
        blocks: Blocks::new(3),
        shards: shards
            .iter()
            .enumerate()
            .map(|(i, s)| {
                (
                    ShardRequest {
                        erasure_root: root,
                        index: u16::try_from(i).expect("small"),
                    },
                    s.clone(),
                )
            })
            .collect(),
        bundles: [(root, a_bundle())].into_iter().collect(),
    };
    let (server, _server_events, client, events) = serving_pair(&rt, held, 2);
    // CE 137: shard 3 with its segment shards and justification.
    let request = ShardRequest {
        erasure_root: root,
        index: 3,
    };
    client.request_shards(server.id(), request);
    let got = wait_for(&events, |e| match e {
        Event::Shards { result, .. } => Some(result),
        _ => None,
    });
    assert_eq!(*got.expect("the shards"), shards[3]);
    // CE 138: the bundle shard, the segment root appended to the path.
    client.request_audit_shard(server.id(), request);
    let got = wait_for(&events, |e| match e {
        Event::AuditShard { result, .. } => Some(result),
        _ => None,
    });
    assert_eq!(*got.expect("the audit shard"), shards[3].audit());
    // CE 147: the bundle.
    client.request_bundle(server.id(), root);
    let got = wait_for(&events, |e| match e {
        Event::Bundle { result, .. } => Some(result),
        _ => None,
    });
    assert_eq!(*got.expect("the bundle"), a_bundle());
    // What the server does not hold: refused, nobody dropped.
    let unknown = ShardRequest {
        erasure_root: ByteArray([3; 32]),
        index: 3,
    };
    client.request_shards(server.id(), unknown);
    let got = wait_for(&events, |e| match e {
        Event::Shards { result, .. } => Some(result),
        _ => None,
    });
    assert!(
        matches!(got, Err(crate::RequestError::Failed(_))),
        "{got:?}"
    );
    client.request_audit_shard(server.id(), unknown);
    let got = wait_for(&events, |e| match e {
        Event::AuditShard { result, .. } => Some(result),
        _ => None,
    });
    assert!(
        matches!(got, Err(crate::RequestError::Failed(_))),
        "{got:?}"
    );
    client.request_bundle(server.id(), unknown.erasure_root);
    let got = wait_for(&events, |e| match e {
        Event::Bundle { result, .. } => Some(result),
        _ => None,
    });
    assert!(
        matches!(got, Err(crate::RequestError::Failed(_))),
        "{got:?}"
    );
    let stats = server.stats();
    assert_eq!(NetStats::get(&stats.shard_requests_served), 1);
    assert_eq!(NetStats::get(&stats.audit_shard_requests_served), 1);
    assert_eq!(NetStats::get(&stats.bundle_requests_served), 1);
    assert_eq!(NetStats::get(&client.stats().shard_requests_made), 2);
    assert_eq!(NetStats::get(&client.stats().shards_received), 1);
    assert_eq!(NetStats::get(&client.stats().dropped), 0);
    assert_eq!(NetStats::get(&stats.dropped), 0);
}

/// `client` asks `server` for shard 0 of `root` (CE 137), or the audit
/// shard (CE 138), or the bundle (CE 147): the answer is bad, the server
/// dropped and counted.
fn answer_is_refused(
    server: &Network,
    client: &Network,
    events: &Receiver<Event>,
    kind: u8,
    root: ErasureRoot,
) -> PeerError {
    let request = ShardRequest {
        erasure_root: root,
        index: 0,
    };
    match kind {
        137 => client.request_shards(server.id(), request),
        138 => client.request_audit_shard(server.id(), request),
        _ => client.request_bundle(server.id(), root),
    }
    wait_for(events, |e| {
        matches!(e, Event::Dropped { peer, .. } if peer == server.id()).then_some(())
    });
    let error = wait_for(events, |e| match e {
        Event::Shards { result, .. } => result.err(),
        Event::AuditShard { result, .. } => result.err(),
        Event::Bundle { result, .. } => result.err(),
        _ => None,
    });
    assert_eq!(NetStats::get(&client.stats().dropped), 1);
    match error {
        crate::RequestError::Malformed(e) => e,
        other => panic!("a malformed answer expected: {other:?}"),
    }
}

#[test]
fn shards_that_do_not_prove_and_bad_or_oversized_answers_drop_the_peer() {
    let rt = runtime();
    let params = ProtocolParameters::TINY;
    let (root, shards) = six_shards();
    let serve = |shard: Shards, bundle: Vec<u8>| Held {
        blocks: Blocks::new(3),
        shards: [(
            ShardRequest {
                erasure_root: root,
                index: 0,
            },
            shard,
        )]
        .into_iter()
        .collect(),
        bundles: [(root, bundle)].into_iter().collect(),
    };
    // CE 137: another validator's shard, a tampered one, segment shards
    // cut short, a bundle shard over the limit.
    let mut tampered = shards[0].clone();
    tampered.bundle_shard[0] ^= 1;
    let mut short = shards[0].clone();
    short.segment_shards[1].truncate(100);
    let mut huge = shards[0].clone();
    huge.bundle_shard = vec![0; crate::shards::bundle_shard_limit(&params) + 1];
    for (n, bad) in [shards[1].clone(), tampered.clone(), short, huge]
        .into_iter()
        .enumerate()
    {
        let secret = 10 + u8::try_from(n).expect("small");
        let (server, _se, client, events) = serving_pair(&rt, serve(bad, a_bundle()), secret);
        let error = answer_is_refused(&server, &client, &events, 137, root);
        if n == 3 {
            assert!(
                matches!(
                    error,
                    PeerError::Frame {
                        error: crate::framing::FrameError::Oversized { .. },
                        ..
                    }
                ),
                "{error:?}"
            );
        } else {
            assert!(matches!(error, PeerError::Message(_)), "{error:?}");
        }
    }
    // CE 138: a tampered bundle shard; CE 147: no bundle.
    let (server, _se, client, events) = serving_pair(&rt, serve(tampered, a_bundle()), 20);
    let error = answer_is_refused(&server, &client, &events, 138, root);
    assert!(matches!(error, PeerError::Message(_)), "{error:?}");
    let (server, _se, client, events) = serving_pair(&rt, serve(shards[0].clone(), vec![1; 9]), 21);
    let error = answer_is_refused(&server, &client, &events, 147, root);
    assert!(matches!(error, PeerError::Message(_)), "{error:?}");
}

#[test]
fn malformed_shard_and_bundle_requests_drop_the_peer_and_the_node_keeps_running() {
    let rt = runtime();
    let (server, events) = start(&rt, 1, 3, Vec::new());
    let dropped = |events: &Receiver<Event>| {
        wait_for(events, |e| match e {
            Event::Dropped { error, .. } => Some(error),
            _ => None,
        })
    };
    let oversized = |e: PeerError| {
        matches!(
            e,
            PeerError::Frame {
                error: crate::framing::FrameError::Oversized { .. },
                ..
            }
        )
    };
    for kind in [137, 138] {
        // A request of 33 octets, one of 35, a size prefix of 1 GiB, two
        // requests on one stream, and none at all.
        misbehave(&rt, &server, kind, framed(&rt, &[&[0; 33]]));
        assert!(matches!(dropped(&events), PeerError::Message(_)));
        misbehave(&rt, &server, kind, framed(&rt, &[&[0; 35]]));
        assert!(oversized(dropped(&events)));
        misbehave(&rt, &server, kind, (1u32 << 30).to_le_bytes().to_vec());
        assert!(oversized(dropped(&events)));
        misbehave(&rt, &server, kind, framed(&rt, &[&[0; 34], &[0; 34]]));
        assert!(matches!(dropped(&events), PeerError::Frame { .. }));
        misbehave(&rt, &server, kind, Vec::new());
        assert!(matches!(dropped(&events), PeerError::Frame { .. }));
    }
    // CE 147: an erasure root of 31 octets, one of 33, a request cut short.
    misbehave(&rt, &server, 147, framed(&rt, &[&[0; 31]]));
    assert!(matches!(dropped(&events), PeerError::Message(_)));
    misbehave(&rt, &server, 147, framed(&rt, &[&[0; 33]]));
    assert!(oversized(dropped(&events)));
    misbehave(&rt, &server, 147, vec![32, 0, 0, 0, 1, 2, 3]);
    assert!(matches!(dropped(&events), PeerError::Frame { .. }));
    let stats = server.stats();
    assert_eq!(NetStats::get(&stats.dropped), 13);
    assert_eq!(NetStats::get(&stats.shard_requests_served), 0);
    assert_eq!(NetStats::get(&stats.bundle_requests_served), 0);
    assert_serves(&rt, &server, &events);
}
