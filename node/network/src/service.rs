//! The JAMNP-S node: a QUIC endpoint that accepts and dials peers, keeps one
//! connection per peer (the preferred initiator's, JAMNP-S "Required
//! connectivity"), runs UP 0 on every connection, serves and makes CE 128
//! requests, and carries the guaranteeing protocols: CE 133 work-package
//! submission, CE 134 work-package sharing (the request handed to the node,
//! its answer sent back), CE 135 work-report distribution and CE 141
//! assurance distribution; CE 131/132 Safrole ticket distribution
//! (`service/tickets.rs`); CE 142/143 preimage announcements and requests
//! (`service/preimages.rs`); CE 137/138/147 shard and bundle requests
//! (`service/shards.rs`). It never prints: what happens comes out as
//! [`Event`]s on a bounded channel and in [`NetStats`]; a peer that sends
//! something malformed or oversized is disconnected and counted, the node
//! goes on.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use parajam_primitives::types::{
    Block, ErasureRoot, Header, HeaderHash, OpaqueHash, ReportGuarantee,
};
use parajam_primitives::ProtocolParameters;
use quinn::{Connection, RecvStream, SendStream, VarInt};
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

use crate::framing::{read_message, write_message, FrameError};
use crate::peer::{preferred_initiator, PeerId};
use crate::protocol::{
    check_sequence, decode_blocks, encode_blocks, guaranteed_report, header_hash, Announcement,
    Assurance, BlockRequest, Direction, Handshake, MessageError, ShareResponse, Slotted,
    StreamKind, WorkPackageSharing, WorkPackageSubmission,
};
use crate::shards::{AuditShard, ShardRequest, Shards};
use crate::tickets::{EpochTicket, TicketStep};
use crate::tls::{self, CertError, Identity};

mod preimages;
mod shards;
mod tickets;
pub use preimages::PREIMAGE_TIMEOUT;
pub use shards::SHARD_TIMEOUT;

/// The largest CE 128 response accepted (and sent).
pub const MAX_RESPONSE: usize = 32 << 20;
/// Most blocks served for one CE 128 request.
pub const MAX_SERVED_BLOCKS: u32 = 512;
/// How long a CE 128 request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a node waits for the preferred initiator before dialing itself.
pub const PREFERRED_INITIATOR_GRACE: Duration = Duration::from_secs(5);
/// How long a CE 134 request may take (the other guarantor refines).
pub const SHARE_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a one-way stream (CE 133, 135, 141) may take.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Events held for the node before new ones are dropped (and counted).
pub const EVENT_QUEUE: usize = 4096;

/// QUIC application error codes this node closes connections and streams with.
mod code {
    pub const SHUTDOWN: u32 = 0;
    pub const MISBEHAVED: u32 = 1;
    pub const DUPLICATE: u32 = 2;
    pub const WRONG_ALPN: u32 = 3;
    pub const REFUSED: u32 = 4;
}

/// What the node offers its peers: the finalized block, the leaves, and
/// blocks for CE 128.
pub trait ChainSource: Send + Sync + 'static {
    /// The latest finalized block.
    fn finalized(&self) -> Slotted;
    /// Descendants of the finalized block with no known children.
    fn leaves(&self) -> Vec<Slotted>;
    /// The blocks CE 128 asks for, at most `max`; `None` if the request
    /// cannot be served (unknown block, or not on this node's chain).
    fn blocks(&self, hash: &HeaderHash, direction: Direction, max: u32) -> Option<Vec<Block>>;
    /// The shards CE 137 asks for (and CE 138's bundle shard is taken
    /// from), if this node holds them.
    fn shards(&self, request: &ShardRequest) -> Option<Shards> {
        let _ = request;
        None
    }
    /// The work-package bundle of `erasure_root` CE 147 asks for, if this
    /// node holds it.
    fn bundle(&self, erasure_root: &ErasureRoot) -> Option<Vec<u8>> {
        let _ = erasure_root;
        None
    }
}

/// A peer and where it listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerAddr {
    /// Its key.
    pub id: PeerId,
    /// Its address.
    pub addr: SocketAddr,
}

/// How the network runs.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// This node's Ed25519 secret (RFC 8032); its key is the node's peer id.
    pub secret: [u8; 32],
    /// Where to listen.
    pub listen: SocketAddr,
    /// The genesis header hash (for ALPN).
    pub genesis: HeaderHash,
    /// The protocol parameters (for the codec and message limits).
    pub params: ProtocolParameters,
    /// Peers to stay connected to (validators, bootnodes).
    pub peers: Vec<PeerAddr>,
}

/// Why the network could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The TLS identity or configuration.
    #[error(transparent)]
    Tls(#[from] CertError),
    /// The UDP socket.
    #[error("listening on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Why a peer was refused or dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    /// The QUIC/TLS handshake failed: a wrong ALPN, a missing or bad
    /// certificate, a certificate not matching its key.
    #[error("handshake refused: {0}")]
    Handshake(String),
    /// The connection completed without one of this chain's ALPN identifiers.
    #[error("wrong ALPN identifier {0:?}")]
    Alpn(Option<String>),
    /// A message was oversized or cut short.
    #[error("{stream}: {error}")]
    Frame {
        /// The stream's protocol.
        stream: &'static str,
        /// What was wrong.
        error: FrameError,
    },
    /// A message did not decode, or a response was not what was asked.
    #[error(transparent)]
    Message(#[from] MessageError),
}

/// Why a CE 128 request got no blocks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// No connection to the peer.
    #[error("not connected")]
    NotConnected,
    /// The stream failed or the peer refused (reset) it.
    #[error("{0}")]
    Failed(String),
    /// No answer in time.
    #[error("timed out")]
    Timeout,
    /// The answer was malformed (the peer was dropped).
    #[error(transparent)]
    Malformed(#[from] PeerError),
}

/// The answer to a CE 134 request, given by the node: dropping it
/// without [`Responder::respond`] refuses the request (the stream is reset).
#[derive(Clone)]
pub struct Responder(Arc<Mutex<Option<oneshot::Sender<ShareResponse>>>>);

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Responder")
    }
}

impl Responder {
    /// A responder and the end its answer arrives on.
    pub fn new() -> (Self, oneshot::Receiver<ShareResponse>) {
        let (tx, rx) = oneshot::channel();
        (Self(Arc::new(Mutex::new(Some(tx)))), rx)
    }

    /// Sends `response` back to the peer (once; later calls do nothing).
    pub fn respond(&self, response: ShareResponse) {
        if let Some(tx) = lock(&self.0).take() {
            let _ = tx.send(response);
        }
    }

    /// Refuses the request now.
    pub fn refuse(&self) {
        lock(&self.0).take();
    }
}

/// What happened on the network.
#[derive(Debug, Clone)]
pub enum Event {
    /// A peer connected.
    Connected {
        /// Who.
        peer: PeerId,
        /// From where.
        addr: SocketAddr,
        /// Whether it dialed us.
        inbound: bool,
    },
    /// A peer's connection ended.
    Disconnected {
        /// Who.
        peer: PeerId,
        /// Why.
        reason: String,
    },
    /// A connection attempt was refused in the handshake (counted).
    Refused {
        /// From or to where.
        addr: SocketAddr,
        /// Why.
        error: PeerError,
    },
    /// A peer was disconnected for what it sent (counted).
    Dropped {
        /// Who.
        peer: PeerId,
        /// Why.
        error: PeerError,
    },
    /// A peer's UP 0 handshake: its finalized block and leaves.
    Handshake {
        /// Who.
        peer: PeerId,
        /// What it said.
        handshake: Handshake,
    },
    /// A peer announced a block.
    Announcement {
        /// Who.
        peer: PeerId,
        /// The block's header hash.
        hash: HeaderHash,
        /// What it said.
        announcement: Box<Announcement>,
    },
    /// The answer to [`Network::request_blocks`].
    Blocks {
        /// Asked of whom.
        peer: PeerId,
        /// What was asked.
        request: BlockRequest,
        /// The blocks (checked to be the sequence asked for), or why none.
        result: Result<Vec<Block>, RequestError>,
    },
    /// A work package submitted by a peer (CE 133).
    WorkPackage {
        /// Who.
        peer: PeerId,
        /// The package, its core and extrinsics.
        submission: Box<WorkPackageSubmission>,
    },
    /// Another guarantor shares a work-package bundle (CE 134): refine it
    /// and answer through `reply`.
    ShareRequest {
        /// Who.
        peer: PeerId,
        /// The core, mappings and bundle.
        sharing: Box<WorkPackageSharing>,
        /// Where the answer goes.
        reply: Responder,
    },
    /// The answer to [`Network::share_work_package`].
    Shared {
        /// Asked of whom.
        peer: PeerId,
        /// The caller's tag (the package hash).
        tag: OpaqueHash,
        /// The report hash and signature, or why none.
        result: Result<ShareResponse, RequestError>,
    },
    /// A guaranteed work report (CE 135).
    Guarantee {
        /// Who.
        peer: PeerId,
        /// The guarantee.
        guarantee: Box<ReportGuarantee>,
    },
    /// An availability assurance (CE 141) by the peer's validator.
    Assurance {
        /// Who.
        peer: PeerId,
        /// The assurance.
        assurance: Assurance,
    },
    /// A Safrole ticket (CE 131 to this node as its proxy, or CE 132 from
    /// a proxy), well formed; its proof is the node's to check.
    Ticket {
        /// Who.
        peer: PeerId,
        /// Which step.
        step: TicketStep,
        /// The ticket and its epoch.
        ticket: Box<EpochTicket>,
    },
    /// A peer holds a preimage a service requested (CE 142).
    PreimageAnnounced {
        /// Who.
        peer: PeerId,
        /// The service, the preimage's hash and length.
        announcement: crate::PreimageAnnouncement,
    },
    /// The answer to [`Network::request_preimage`] (CE 143).
    Preimage {
        /// Asked of whom.
        peer: PeerId,
        /// What it had announced.
        announcement: crate::PreimageAnnouncement,
        /// The preimage (its length and hash those announced), or why none.
        result: Result<Arc<Vec<u8>>, RequestError>,
    },
    /// The answer to [`Network::request_shards`] (CE 137).
    Shards {
        /// Asked of whom.
        peer: PeerId,
        /// What was asked.
        request: ShardRequest,
        /// The shards (checked against the erasure root), or why none.
        result: Result<Arc<Shards>, RequestError>,
    },
    /// The answer to [`Network::request_audit_shard`] (CE 138).
    AuditShard {
        /// Asked of whom.
        peer: PeerId,
        /// What was asked.
        request: ShardRequest,
        /// The bundle shard (checked against the erasure root), or why none.
        result: Result<Arc<AuditShard>, RequestError>,
    },
    /// The answer to [`Network::request_bundle`] (CE 147).
    Bundle {
        /// Asked of whom.
        peer: PeerId,
        /// The erasure root asked for.
        erasure_root: ErasureRoot,
        /// The bundle (checked to be one), or why none.
        result: Result<Arc<Vec<u8>>, RequestError>,
    },
    /// A one-way stream (CE 133, 135, 141, 142) to a peer failed.
    SendFailed {
        /// To whom.
        peer: PeerId,
        /// The protocol (`CE 133`, …).
        stream: &'static str,
        /// Why.
        error: RequestError,
    },
}

/// The network's counters.
#[derive(Debug, Default)]
pub struct NetStats {
    /// Connections established (both ways).
    pub connections: AtomicU64,
    /// Peers connected now.
    pub peers: AtomicU64,
    /// Handshakes refused (wrong ALPN, bad certificate, …).
    pub refused: AtomicU64,
    /// Peers dropped for malformed or oversized messages.
    pub dropped: AtomicU64,
    /// Announcements received.
    pub announcements_received: AtomicU64,
    /// Announcements broadcast.
    pub announcements_sent: AtomicU64,
    /// CE 128 requests served.
    pub requests_served: AtomicU64,
    /// CE 128 requests made.
    pub requests_made: AtomicU64,
    /// Events dropped because the node did not keep up.
    pub events_lost: AtomicU64,
    /// Octets of messages sent on every stream (size prefixes and kind
    /// octets included; QUIC's own overhead not).
    pub bytes_sent: AtomicU64,
    /// Work packages received by CE 133.
    pub packages_received: AtomicU64,
    /// CE 134 requests received.
    pub shares_received: AtomicU64,
    /// Guaranteed reports received by CE 135.
    pub guarantees_received: AtomicU64,
    /// Assurances received by CE 141.
    pub assurances_received: AtomicU64,
    /// Safrole tickets received by CE 131 or CE 132.
    pub tickets_received: AtomicU64,
    /// Preimage announcements received by CE 142.
    pub preimage_announcements_received: AtomicU64,
    /// CE 143 preimage requests made.
    pub preimage_requests_made: AtomicU64,
    /// CE 143 preimage requests served (a preimage sent).
    pub preimage_requests_served: AtomicU64,
    /// CE 137 shard requests made.
    pub shard_requests_made: AtomicU64,
    /// CE 137 answers received that proved against their erasure root.
    pub shards_received: AtomicU64,
    /// CE 137 shard requests served (shards sent).
    pub shard_requests_served: AtomicU64,
    /// CE 138 audit shard requests served.
    pub audit_shard_requests_served: AtomicU64,
    /// CE 147 bundle requests served.
    pub bundle_requests_served: AtomicU64,
}

impl NetStats {
    /// A counter's value.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }
}

struct Peer {
    conn: Connection,
    outbound: bool,
}

struct Shared {
    identity: Identity,
    params: ProtocolParameters,
    alpns: [Vec<u8>; 2],
    source: Arc<dyn ChainSource>,
    events: SyncSender<Event>,
    peers: Mutex<HashMap<PeerId, Peer>>,
    known: Mutex<Vec<PeerAddr>>,
    dialing: Mutex<HashSet<PeerId>>,
    announcements: broadcast::Sender<Arc<Vec<u8>>>,
    stats: Arc<NetStats>,
    client: quinn::ClientConfig,
    /// The preimages served to CE 143 requests, by hash.
    preimages: Mutex<HashMap<OpaqueHash, Arc<Vec<u8>>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicked holder leaves plain data behind: go on with it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn emit(&self, event: Event) {
        if let Err(TrySendError::Full(_)) = self.events.try_send(event) {
            NetStats::inc(&self.stats.events_lost);
        }
    }

    /// An outgoing request's `exchange`, bounded by `limit` (then
    /// [`RequestError::Timeout`]); a malformed answer drops `peer`
    /// ([`Self::misbehaved`]).
    async fn request_within<T>(
        &self,
        conn: &Connection,
        peer: PeerId,
        limit: Duration,
        exchange: impl std::future::Future<Output = Result<T, RequestError>>,
    ) -> Result<T, RequestError> {
        let result = tokio::time::timeout(limit, exchange)
            .await
            .unwrap_or(Err(RequestError::Timeout));
        if let Err(RequestError::Malformed(error)) = &result {
            self.misbehaved(conn, peer, error.clone());
        }
        result
    }

    fn misbehaved(&self, conn: &Connection, peer: PeerId, error: PeerError) {
        NetStats::inc(&self.stats.dropped);
        conn.close(VarInt::from_u32(code::MISBEHAVED), b"malformed message");
        self.emit(Event::Dropped { peer, error });
    }

    /// A stream of `peer` ended in `error`: held against the peer
    /// ([`Self::misbehaved`]) unless the connection just went away.
    fn stream_failed(&self, conn: &Connection, peer: PeerId, error: PeerError) {
        if !matches!(
            error,
            PeerError::Frame {
                error: FrameError::Io(_),
                ..
            }
        ) {
            self.misbehaved(conn, peer, error);
        }
    }

    fn refused(&self, addr: SocketAddr, error: PeerError) {
        NetStats::inc(&self.stats.refused);
        self.emit(Event::Refused { addr, error });
    }

    /// Writes one message, counting its octets.
    async fn write(&self, send: &mut SendStream, message: &[u8]) -> Result<(), FrameError> {
        write_message(send, message).await?;
        NetStats::add(&self.stats.bytes_sent, 4 + message.len());
        Ok(())
    }

    /// Opens a stream of `kind` to `conn`, sends `messages` and FIN.
    async fn open(
        &self,
        conn: &Connection,
        kind: StreamKind,
        messages: &[Vec<u8>],
    ) -> Result<RecvStream, RequestError> {
        let failed = |e: &dyn std::fmt::Display| RequestError::Failed(e.to_string());
        let (mut send, recv) = conn.open_bi().await.map_err(|e| failed(&e))?;
        send.write_all(&[kind.octet()])
            .await
            .map_err(|e| failed(&e))?;
        NetStats::add(&self.stats.bytes_sent, 1);
        for message in messages {
            self.write(&mut send, message)
                .await
                .map_err(|e| failed(&e))?;
        }
        send.finish().map_err(|e| failed(&e))?;
        Ok(recv)
    }

    fn connection(&self, peer: &PeerId) -> Option<Connection> {
        lock(&self.peers).get(peer).map(|p| p.conn.clone())
    }
}

/// The running network. Dropping it closes every connection.
pub struct Network {
    shared: Arc<Shared>,
    endpoint: quinn::Endpoint,
    runtime: tokio::runtime::Handle,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("id", &self.shared.identity.id())
            .field("peers", &self.peer_count())
            .finish_non_exhaustive()
    }
}

impl Network {
    /// Starts listening on `config.listen` and dialing `config.peers`, on
    /// `runtime`; the events come out of the returned receiver.
    pub fn start(
        config: NetworkConfig,
        source: Arc<dyn ChainSource>,
        runtime: &tokio::runtime::Handle,
    ) -> Result<(Self, Receiver<Event>), NetworkError> {
        let identity = Identity::from_secret(&config.secret)?;
        Self::start_with(config, identity, source, runtime)
    }

    pub(crate) fn start_with(
        config: NetworkConfig,
        identity: Identity,
        source: Arc<dyn ChainSource>,
        runtime: &tokio::runtime::Handle,
    ) -> Result<(Self, Receiver<Event>), NetworkError> {
        let _guard = runtime.enter();
        let genesis = config.genesis.0;
        let mut server =
            quinn::ServerConfig::with_crypto(Arc::new(tls::server_config(&identity, &genesis)?));
        server.transport_config(Arc::new(transport()));
        let mut client = quinn::ClientConfig::new(Arc::new(tls::client_config(
            &identity,
            tls::alpn(&genesis, false),
        )?));
        client.transport_config(Arc::new(transport()));
        let endpoint = quinn::Endpoint::server(server, config.listen).map_err(|source| {
            NetworkError::Listen {
                addr: config.listen,
                source,
            }
        })?;
        let (events, receiver) = std::sync::mpsc::sync_channel(EVENT_QUEUE);
        let (announcements, _) = broadcast::channel(256);
        let me = identity.id();
        let shared = Arc::new(Shared {
            identity,
            params: config.params,
            alpns: [tls::alpn(&genesis, false), tls::alpn(&genesis, true)],
            source,
            events,
            peers: Mutex::new(HashMap::new()),
            known: Mutex::new(config.peers.into_iter().filter(|p| p.id != me).collect()),
            dialing: Mutex::new(HashSet::new()),
            announcements,
            stats: Arc::new(NetStats::default()),
            client,
            preimages: Mutex::new(HashMap::new()),
        });
        let accept = runtime.spawn(accept_loop(shared.clone(), endpoint.clone()));
        let dial = runtime.spawn(dial_loop(shared.clone(), endpoint.clone()));
        Ok((
            Self {
                shared,
                endpoint,
                runtime: runtime.clone(),
                tasks: vec![accept, dial],
            },
            receiver,
        ))
    }

    /// This node's peer id.
    pub fn id(&self) -> PeerId {
        self.shared.identity.id()
    }

    /// Where it listens.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.endpoint.local_addr().ok()
    }

    /// The counters.
    pub fn stats(&self) -> Arc<NetStats> {
        self.shared.stats.clone()
    }

    /// Peers connected now.
    pub fn peer_count(&self) -> usize {
        lock(&self.shared.peers).len()
    }

    /// The peers connected now.
    pub fn peers(&self) -> Vec<PeerId> {
        lock(&self.shared.peers).keys().copied().collect()
    }

    /// Adds a peer to stay connected to.
    pub fn add_peer(&self, peer: PeerAddr) {
        if peer.id == self.id() {
            return;
        }
        let mut known = lock(&self.shared.known);
        if !known.contains(&peer) {
            known.push(peer);
        }
    }

    /// Announces `header` (a new block, produced or imported) with the
    /// latest finalized block to every peer.
    pub fn announce(&self, header: &Header, finalized: Slotted) {
        let message = Announcement {
            header: header.clone(),
            finalized,
        }
        .encode(&self.shared.params);
        if self.shared.announcements.send(Arc::new(message)).is_ok() {
            NetStats::inc(&self.shared.stats.announcements_sent);
        }
    }

    /// Asks `peer` for blocks (CE 128); the answer comes as [`Event::Blocks`].
    pub fn request_blocks(&self, peer: PeerId, request: BlockRequest) {
        let conn = lock(&self.shared.peers).get(&peer).map(|p| p.conn.clone());
        let shared = self.shared.clone();
        let Some(conn) = conn else {
            shared.emit(Event::Blocks {
                peer,
                request,
                result: Err(RequestError::NotConnected),
            });
            return;
        };
        NetStats::inc(&shared.stats.requests_made);
        self.runtime.spawn(async move {
            let result = match tokio::time::timeout(
                REQUEST_TIMEOUT,
                fetch(&shared, &conn, &request),
            )
            .await
            {
                Err(_) => Err(RequestError::Timeout),
                Ok(Err(e)) => Err(e),
                Ok(Ok(bytes)) => {
                    let checked = decode_blocks(&bytes, request.max_blocks, &shared.params)
                        .and_then(|blocks| {
                            check_sequence(&request, &blocks, &shared.params).map(|()| blocks)
                        });
                    checked.map_err(|e| {
                        let error = PeerError::Message(e);
                        shared.misbehaved(&conn, peer, error.clone());
                        RequestError::Malformed(error)
                    })
                }
            };
            shared.emit(Event::Blocks {
                peer,
                request,
                result,
            });
        });
    }

    /// Sends `messages` on a new stream of `kind` to `peer` and waits for
    /// its FIN; a failure comes as [`Event::SendFailed`].
    fn send_one_way(&self, peer: PeerId, kind: StreamKind, messages: Arc<Vec<Vec<u8>>>) {
        let shared = self.shared.clone();
        let Some(conn) = shared.connection(&peer) else {
            shared.emit(Event::SendFailed {
                peer,
                stream: kind.name(),
                error: RequestError::NotConnected,
            });
            return;
        };
        self.runtime.spawn(async move {
            let exchange = async {
                let mut recv = shared.open(&conn, kind, &messages).await?;
                // The answer is FIN alone.
                match read_message(&mut recv, 0).await {
                    Ok(None) => Ok(()),
                    Ok(Some(_)) => Err(RequestError::Failed("a message instead of FIN".into())),
                    Err(e) => Err(RequestError::Failed(e.to_string())),
                }
            };
            let result = match tokio::time::timeout(SEND_TIMEOUT, exchange).await {
                Err(_) => Err(RequestError::Timeout),
                Ok(r) => r,
            };
            if let Err(error) = result {
                shared.emit(Event::SendFailed {
                    peer,
                    stream: kind.name(),
                    error,
                });
            }
        });
    }

    /// Submits a work package to the guarantor `peer` (CE 133).
    pub fn submit_work_package(&self, peer: PeerId, submission: &WorkPackageSubmission) {
        let messages = submission.encode(&self.shared.params).to_vec();
        self.send_one_way(peer, StreamKind::WorkPackageSubmission, Arc::new(messages));
    }

    /// Sends a guaranteed work report to each of `peers` (CE 135).
    pub fn distribute_guarantee(&self, peers: &[PeerId], guarantee: &ReportGuarantee) {
        let messages = Arc::new(vec![guaranteed_report::encode(
            guarantee,
            &self.shared.params,
        )]);
        for &peer in peers {
            self.send_one_way(peer, StreamKind::WorkReportDistribution, messages.clone());
        }
    }

    /// Sends this node's assurance to each of `peers` (CE 141).
    pub fn distribute_assurance(&self, peers: &[PeerId], assurance: &Assurance) {
        let messages = Arc::new(vec![assurance.encode()]);
        for &peer in peers {
            self.send_one_way(peer, StreamKind::AssuranceDistribution, messages.clone());
        }
    }

    /// Shares a work-package bundle with the guarantor `peer` (CE 134);
    /// the answer comes as [`Event::Shared`] with `tag`.
    pub fn share_work_package(&self, peer: PeerId, tag: OpaqueHash, sharing: &WorkPackageSharing) {
        let shared = self.shared.clone();
        let Some(conn) = shared.connection(&peer) else {
            shared.emit(Event::Shared {
                peer,
                tag,
                result: Err(RequestError::NotConnected),
            });
            return;
        };
        let messages = sharing.encode();
        self.runtime.spawn(async move {
            let exchange = async {
                let mut recv = shared
                    .open(&conn, StreamKind::WorkPackageSharing, &messages)
                    .await?;
                let frame = |error| {
                    RequestError::Malformed(PeerError::Frame {
                        stream: "CE 134",
                        error,
                    })
                };
                match read_message(&mut recv, ShareResponse::SIZE).await {
                    Ok(Some(bytes)) => ShareResponse::decode(&bytes)
                        .map_err(|e| RequestError::Malformed(PeerError::Message(e))),
                    // Reset or FIN without an answer: refused.
                    Ok(None) => Err(RequestError::Failed("refused".into())),
                    Err(FrameError::Io(e)) => Err(RequestError::Failed(e)),
                    Err(error) => Err(frame(error)),
                }
            };
            let result = shared
                .request_within(&conn, peer, SHARE_TIMEOUT, exchange)
                .await;
            shared.emit(Event::Shared { peer, tag, result });
        });
    }

    /// Closes every connection and stops listening.
    pub fn shutdown(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
        self.endpoint
            .close(VarInt::from_u32(code::SHUTDOWN), b"shutting down");
        lock(&self.shared.peers).clear();
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn transport() -> quinn::TransportConfig {
    let mut t = quinn::TransportConfig::default();
    t.keep_alive_interval(Some(Duration::from_secs(2)));
    t.max_idle_timeout(Some(VarInt::from_u32(10_000).into()));
    t.max_concurrent_bidi_streams(VarInt::from_u32(256));
    t
}

async fn fetch(
    shared: &Shared,
    conn: &Connection,
    request: &BlockRequest,
) -> Result<Vec<u8>, RequestError> {
    let mut recv = shared
        .open(conn, StreamKind::BlockRequest, &[request.encode()])
        .await?;
    match read_message(&mut recv, MAX_RESPONSE).await {
        Ok(Some(bytes)) => Ok(bytes),
        // A FIN without a message: the peer has nothing to send.
        Ok(None) => Ok(Vec::new()),
        Err(FrameError::Io(e)) => Err(RequestError::Failed(e)),
        Err(error) => Err(RequestError::Malformed(PeerError::Frame {
            stream: "CE 128",
            error,
        })),
    }
}

/// The peer's key, from the certificate the TLS handshake checked.
fn peer_of(conn: &Connection) -> Option<PeerId> {
    let certs = conn
        .peer_identity()?
        .downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>()
        .ok()?;
    tls::check_certificate(certs.first()?).ok()
}

fn alpn_of(conn: &Connection) -> Option<Vec<u8>> {
    conn.handshake_data()?
        .downcast::<quinn::crypto::rustls::HandshakeData>()
        .ok()?
        .protocol
}

/// Whether a failed connection attempt is a refusal in the TLS handshake
/// (a TLS alert: wrong ALPN, missing or bad certificate), as opposed to a
/// peer that is down, gone or busy.
fn tls_refusal(e: &quinn::ConnectionError) -> bool {
    let crypto = |code: quinn::TransportErrorCode| (0x100..0x200).contains(&u64::from(code));
    match e {
        quinn::ConnectionError::TransportError(t) => crypto(t.code),
        quinn::ConnectionError::ConnectionClosed(c) => crypto(c.error_code),
        _ => false,
    }
}

async fn accept_loop(shared: Arc<Shared>, endpoint: quinn::Endpoint) {
    while let Some(incoming) = endpoint.accept().await {
        let shared = shared.clone();
        tokio::spawn(async move {
            let addr = incoming.remote_address();
            match incoming.await {
                Ok(conn) => run_connection(shared, conn, false).await,
                Err(e) if tls_refusal(&e) => {
                    shared.refused(addr, PeerError::Handshake(e.to_string()));
                }
                Err(_) => {}
            }
        });
    }
}

async fn dial_loop(shared: Arc<Shared>, endpoint: quinn::Endpoint) {
    let started = Instant::now();
    let me = shared.identity.id();
    let mut interval = tokio::time::interval(Duration::from_millis(500));
    loop {
        interval.tick().await;
        let known = lock(&shared.known).clone();
        for peer in known {
            if lock(&shared.peers).contains_key(&peer.id) {
                continue;
            }
            // The preferred initiator dials at once, the other side after a grace.
            if preferred_initiator(&me, &peer.id) != me
                && started.elapsed() < PREFERRED_INITIATOR_GRACE
            {
                continue;
            }
            if !lock(&shared.dialing).insert(peer.id) {
                continue;
            }
            let shared = shared.clone();
            let endpoint = endpoint.clone();
            tokio::spawn(async move {
                dial(&shared, &endpoint, peer).await;
                // Back off before the next attempt.
                tokio::time::sleep(Duration::from_secs(1)).await;
                lock(&shared.dialing).remove(&peer.id);
            });
        }
    }
}

async fn dial(shared: &Arc<Shared>, endpoint: &quinn::Endpoint, peer: PeerAddr) {
    let Ok(connecting) =
        endpoint.connect_with(shared.client.clone(), peer.addr, &peer.id.alt_name())
    else {
        return;
    };
    match connecting.await {
        Ok(conn) => run_connection(shared.clone(), conn, true).await,
        Err(e) if tls_refusal(&e) => {
            shared.refused(peer.addr, PeerError::Handshake(e.to_string()));
        }
        // Nobody there (yet), or going away: not the peer's fault.
        Err(_) => {}
    }
}

/// One connection, start to end.
async fn run_connection(shared: Arc<Shared>, conn: Connection, outbound: bool) {
    let addr = conn.remote_address();
    let alpn = alpn_of(&conn);
    if !alpn.as_ref().is_some_and(|a| shared.alpns.contains(a)) {
        conn.close(VarInt::from_u32(code::WRONG_ALPN), b"wrong ALPN");
        shared.refused(
            addr,
            PeerError::Alpn(alpn.map(|a| String::from_utf8_lossy(&a).into_owned())),
        );
        return;
    }
    let Some(peer) = peer_of(&conn) else {
        conn.close(VarInt::from_u32(code::REFUSED), b"no certificate");
        shared.refused(addr, PeerError::Handshake("no peer certificate".into()));
        return;
    };
    let me = shared.identity.id();
    if peer == me {
        conn.close(VarInt::from_u32(code::REFUSED), b"self");
        return;
    }
    {
        let mut peers = lock(&shared.peers);
        if let Some(existing) = peers.get(&peer) {
            if existing.conn.close_reason().is_none() {
                // Keep the preferred initiator's connection, else the older.
                let preferred = preferred_initiator(&me, &peer);
                let initiator = |out: bool| if out { me } else { peer };
                let keep_new =
                    initiator(outbound) == preferred && initiator(existing.outbound) != preferred;
                if !keep_new {
                    conn.close(VarInt::from_u32(code::DUPLICATE), b"duplicate connection");
                    return;
                }
                existing
                    .conn
                    .close(VarInt::from_u32(code::DUPLICATE), b"duplicate connection");
            }
        }
        peers.insert(
            peer,
            Peer {
                conn: conn.clone(),
                outbound,
            },
        );
        shared
            .stats
            .peers
            .store(peers.len() as u64, Ordering::Relaxed);
    }
    NetStats::inc(&shared.stats.connections);
    shared.emit(Event::Connected {
        peer,
        addr,
        inbound: !outbound,
    });
    // UP streams are opened by the connection's initiator.
    if outbound {
        let shared = shared.clone();
        let conn = conn.clone();
        tokio::spawn(async move {
            if let Ok((mut send, recv)) = conn.open_bi().await {
                if send
                    .write_all(&[StreamKind::BlockAnnouncement.octet()])
                    .await
                    .is_ok()
                {
                    NetStats::add(&shared.stats.bytes_sent, 1);
                    up0(shared, conn, peer, send, recv).await;
                }
            }
        });
    }
    let reason = loop {
        match conn.accept_bi().await {
            Ok((send, recv)) => {
                tokio::spawn(stream(shared.clone(), conn.clone(), peer, send, recv));
            }
            Err(e) => break e.to_string(),
        }
    };
    {
        let mut peers = lock(&shared.peers);
        if peers
            .get(&peer)
            .is_some_and(|p| p.conn.stable_id() == conn.stable_id())
        {
            peers.remove(&peer);
        }
        shared
            .stats
            .peers
            .store(peers.len() as u64, Ordering::Relaxed);
    }
    shared.emit(Event::Disconnected { peer, reason });
}

/// A stream the peer opened: its kind octet, then its protocol.
async fn stream(
    shared: Arc<Shared>,
    conn: Connection,
    peer: PeerId,
    mut send: SendStream,
    mut recv: RecvStream,
) {
    let mut kind = [0u8; 1];
    if recv.read_exact(&mut kind).await.is_err() {
        return;
    }
    match StreamKind::from_octet(kind[0]) {
        Some(StreamKind::BlockAnnouncement) => up0(shared, conn, peer, send, recv).await,
        Some(StreamKind::BlockRequest) => serve_blocks(shared, conn, peer, send, recv).await,
        Some(
            kind @ (StreamKind::WorkPackageSubmission
            | StreamKind::WorkPackageSharing
            | StreamKind::WorkReportDistribution
            | StreamKind::AssuranceDistribution),
        ) => serve_guaranteeing(shared, conn, peer, kind, send, recv).await,
        Some(kind @ (StreamKind::TicketToProxy | StreamKind::TicketFromProxy)) => {
            tickets::serve(shared, conn, peer, kind, send, recv).await;
        }
        Some(kind @ (StreamKind::PreimageAnnouncement | StreamKind::PreimageRequest)) => {
            preimages::serve_preimages(shared, conn, peer, kind, send, recv).await;
        }
        Some(
            kind @ (StreamKind::ShardDistribution
            | StreamKind::AuditShardRequest
            | StreamKind::BundleRequest),
        ) => shards::serve_shards(shared, conn, peer, kind, send, recv).await,
        // A protocol this node does not serve: refused, not misbehaviour.
        None => {
            let _ = recv.stop(VarInt::from_u32(code::REFUSED));
            let _ = send.reset(VarInt::from_u32(code::REFUSED));
        }
    }
}

/// UP 0 on one stream: our handshake and announcements out, the peer's in.
async fn up0(
    shared: Arc<Shared>,
    conn: Connection,
    peer: PeerId,
    mut send: SendStream,
    mut recv: RecvStream,
) {
    let mut announcements = shared.announcements.subscribe();
    let handshake = Handshake {
        finalized: shared.source.finalized(),
        leaves: shared.source.leaves(),
    };
    let counted = shared.clone();
    let writer = tokio::spawn(async move {
        if counted.write(&mut send, &handshake.encode()).await.is_err() {
            return;
        }
        loop {
            match announcements.recv().await {
                Ok(message) => {
                    if counted.write(&mut send, &message).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    let frame = |error| PeerError::Frame {
        stream: "UP 0",
        error,
    };
    let result: Result<(), PeerError> = async {
        let Some(bytes) = read_message(&mut recv, Handshake::LIMIT)
            .await
            .map_err(frame)?
        else {
            return Ok(());
        };
        let handshake = Handshake::decode(&bytes)?;
        shared.emit(Event::Handshake { peer, handshake });
        let limit = Announcement::limit(&shared.params);
        while let Some(bytes) = read_message(&mut recv, limit).await.map_err(frame)? {
            let announcement = Announcement::decode(&bytes, &shared.params)?;
            NetStats::inc(&shared.stats.announcements_received);
            let hash = header_hash(&announcement.header, &shared.params);
            shared.emit(Event::Announcement {
                peer,
                hash,
                announcement: Box::new(announcement),
            });
        }
        Ok(())
    }
    .await;
    writer.abort();
    if let Err(error) = result {
        shared.stream_failed(&conn, peer, error);
    }
}

/// CE 128, serving side.
async fn serve_blocks(
    shared: Arc<Shared>,
    conn: Connection,
    peer: PeerId,
    mut send: SendStream,
    mut recv: RecvStream,
) {
    let frame = |error| PeerError::Frame {
        stream: "CE 128",
        error,
    };
    let request: Result<BlockRequest, PeerError> = async {
        let bytes = read_message(&mut recv, BlockRequest::SIZE)
            .await
            .map_err(frame)?
            .ok_or(frame(FrameError::Truncated {
                expected: 4,
                got: 0,
            }))?;
        let request = BlockRequest::decode(&bytes)?;
        // Then FIN: nothing more.
        if read_message(&mut recv, 0).await.map_err(frame)?.is_some() {
            return Err(PeerError::Message(MessageError::Trailing {
                what: "block request",
                extra: 4,
            }));
        }
        Ok(request)
    }
    .await;
    let request = match request {
        Ok(r) => r,
        Err(error) => {
            shared.stream_failed(&conn, peer, error);
            return;
        }
    };
    NetStats::inc(&shared.stats.requests_served);
    let source = shared.source.clone();
    let max = request.max_blocks.min(MAX_SERVED_BLOCKS);
    let blocks =
        tokio::task::spawn_blocking(move || source.blocks(&request.hash, request.direction, max))
            .await
            .ok()
            .flatten();
    let Some(mut blocks) = blocks else {
        let _ = send.reset(VarInt::from_u32(code::REFUSED));
        return;
    };
    let mut message = encode_blocks(&blocks, &shared.params);
    while message.len() > MAX_RESPONSE && !blocks.is_empty() {
        blocks.truncate(blocks.len() / 2);
        message = encode_blocks(&blocks, &shared.params);
    }
    if shared.write(&mut send, &message).await.is_ok() {
        let _ = send.finish();
    }
}

/// Reads a request of `limits.len()` messages and its FIN; a message
/// missing, oversized or followed by another is the peer's fault.
async fn read_request(
    recv: &mut RecvStream,
    limits: &[usize],
    stream: &'static str,
) -> Result<Vec<Vec<u8>>, PeerError> {
    let frame = |error| PeerError::Frame { stream, error };
    let mut messages = Vec::with_capacity(limits.len());
    for &limit in limits {
        let message = read_message(recv, limit)
            .await
            .map_err(frame)?
            .ok_or(frame(FrameError::Truncated {
                expected: 4,
                got: 0,
            }))?;
        messages.push(message);
    }
    if read_message(recv, 0).await.map_err(frame)?.is_some() {
        return Err(PeerError::Frame {
            stream,
            error: FrameError::Oversized { size: 1, limit: 0 },
        });
    }
    Ok(messages)
}

/// CE 133, 134, 135 and 141, receiving side: the request read and decoded
/// (malformed: the peer is dropped), handed to the node as an event; FIN
/// back, or for CE 134 the node's answer (none in time: the stream reset).
async fn serve_guaranteeing(
    shared: Arc<Shared>,
    conn: Connection,
    peer: PeerId,
    kind: StreamKind,
    mut send: SendStream,
    mut recv: RecvStream,
) {
    let params = shared.params;
    let limits: Vec<usize> = match kind {
        StreamKind::WorkPackageSubmission => vec![
            WorkPackageSubmission::FIRST_LIMIT,
            WorkPackageSubmission::extrinsics_limit(&params),
        ],
        StreamKind::WorkPackageSharing => vec![
            WorkPackageSharing::FIRST_LIMIT,
            params.max_bundle_size as usize,
        ],
        StreamKind::WorkReportDistribution => vec![guaranteed_report::limit(&params)],
        _ => vec![Assurance::size(&params)],
    };
    let (reply, answer) = Responder::new();
    let request: Result<Event, PeerError> = async {
        let m = read_request(&mut recv, &limits, kind.name()).await?;
        Ok(match kind {
            StreamKind::WorkPackageSubmission => {
                let submission = WorkPackageSubmission::decode(&m[0], &m[1], &params)?;
                NetStats::inc(&shared.stats.packages_received);
                Event::WorkPackage {
                    peer,
                    submission: Box::new(submission),
                }
            }
            StreamKind::WorkPackageSharing => {
                let sharing = WorkPackageSharing::decode(&m[0], &m[1], &params)?;
                NetStats::inc(&shared.stats.shares_received);
                Event::ShareRequest {
                    peer,
                    sharing: Box::new(sharing),
                    reply: reply.clone(),
                }
            }
            StreamKind::WorkReportDistribution => {
                let guarantee = guaranteed_report::decode(&m[0], &params)?;
                NetStats::inc(&shared.stats.guarantees_received);
                Event::Guarantee {
                    peer,
                    guarantee: Box::new(guarantee),
                }
            }
            _ => {
                let assurance = Assurance::decode(&m[0], &params)?;
                NetStats::inc(&shared.stats.assurances_received);
                Event::Assurance { peer, assurance }
            }
        })
    }
    .await;
    let event = match request {
        Ok(event) => event,
        Err(error) => {
            shared.stream_failed(&conn, peer, error);
            return;
        }
    };
    if matches!(event, Event::ShareRequest { .. }) {
        shared.emit(event);
        // Only the event's copy may answer: ours goes.
        drop(reply);
        match tokio::time::timeout(SHARE_TIMEOUT, answer).await {
            Ok(Ok(response)) => {
                if shared.write(&mut send, &response.encode()).await.is_ok() {
                    let _ = send.finish();
                }
            }
            _ => {
                let _ = send.reset(VarInt::from_u32(code::REFUSED));
            }
        }
        return;
    }
    shared.emit(event);
    let _ = send.finish();
}
