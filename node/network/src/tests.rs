//! The transport on loopback: two nodes connect, shake hands, announce and
//! serve blocks; a wrong ALPN, a certificate not matching its key and
//! oversized or malformed messages are refused or dropped and counted while
//! the node keeps serving good peers.

use std::net::SocketAddr;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parajam_primitives::types::{Block, HeaderHash};
use parajam_primitives::{ByteArray, ProtocolParameters};

use crate::framing::write_message;
use crate::protocol::header_hash;
use crate::service::{ChainSource, Event, NetStats, Network, NetworkConfig, PeerAddr, PeerError};
use crate::tls::{self, Identity};
use crate::{BlockRequest, Direction, PeerId, Slotted};

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
    Network::start(
        NetworkConfig {
            secret: [secret; 32],
            listen: loopback(),
            genesis: GENESIS,
            params: ProtocolParameters::TINY,
            peers,
        },
        Arc::new(Blocks::new(chain)),
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
