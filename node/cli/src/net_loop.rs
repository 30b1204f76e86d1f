//! The node loop's network steps: network events into the node (logged),
//! and announcements of the blocks the node authors.

use std::sync::mpsc::Receiver;

use parajam_network::{Event, NetStats, Network, Slotted};
use parajam_primitives::types::HeaderHash;
use parajam_service::{Node, Sync, SyncEvent};
use parajam_storage::ChainStore;

/// Takes every network event waiting, logs it and feeds it to `sync`.
pub fn drain<S: ChainStore + 'static>(
    node: &mut Node<S>,
    network: &Network,
    events: &Receiver<Event>,
    sync: &mut Sync,
) {
    while let Ok(event) = events.try_recv() {
        match &event {
            Event::Connected {
                peer,
                addr,
                inbound,
            } => tracing::info!(
                "peer {peer} connected ({} {addr})",
                if *inbound { "from" } else { "to" }
            ),
            Event::Disconnected { peer, reason } => {
                tracing::info!("peer {peer} disconnected: {reason}");
            }
            Event::Refused { addr, error } => tracing::warn!(
                "connection with {addr} refused: {error} ({} refused so far)",
                NetStats::get(&network.stats().refused)
            ),
            Event::Dropped { peer, error } => tracing::warn!(
                "peer {peer} dropped: {error} ({} dropped so far)",
                NetStats::get(&network.stats().dropped)
            ),
            Event::Handshake { .. } | Event::Announcement { .. } | Event::Blocks { .. } => {}
        }
        for outcome in sync.handle(node, network, event) {
            match outcome {
                SyncEvent::Imported { hash, slot, peer } => {
                    tracing::info!("imported block {hash} at slot {slot} from {peer}");
                }
                SyncEvent::Rejected { hash, peer, reason } => {
                    tracing::warn!("block {hash} from {peer} not imported: {reason}");
                }
                SyncEvent::Rewound { hash, slot } => {
                    tracing::info!(
                        "switching forks: back to the finalized block {hash} (slot {slot})"
                    );
                }
                SyncEvent::RequestFailed { peer, reason } => {
                    tracing::debug!("block request to {peer} failed: {reason}");
                }
            }
        }
    }
    sync.request(node, network);
}

/// Announces the block `hash` the node authored.
pub fn announce<S: ChainStore + 'static>(node: &Node<S>, network: &Network, hash: HeaderHash) {
    let api = node.api();
    let store = api.store();
    let Ok(Some(header)) = store.header(&hash) else {
        return;
    };
    let finalized = store.finalized().ok().flatten().map_or(
        Slotted {
            hash: HeaderHash::default(),
            slot: 0,
        },
        |f| Slotted {
            hash: f.hash,
            slot: f.slot,
        },
    );
    network.announce(&header, finalized);
}

/// Reads one counter of [`NetStats`].
type Read = fn(&NetStats) -> u64;
/// A Prometheus counter.
type PromCounter = substrate_prometheus_endpoint::Counter<substrate_prometheus_endpoint::U64>;

/// The network's Prometheus series (`parajam_network_*`), copied from
/// [`NetStats`] after each slot.
#[derive(Debug, Clone)]
pub struct NetMetrics {
    peers: substrate_prometheus_endpoint::Gauge<substrate_prometheus_endpoint::U64>,
    counters: Vec<(PromCounter, Read)>,
}

impl NetMetrics {
    /// Registers the series in `registry`.
    pub fn register(
        registry: &substrate_prometheus_endpoint::Registry,
    ) -> Result<Self, substrate_prometheus_endpoint::PrometheusError> {
        use substrate_prometheus_endpoint::{register, Counter, Gauge};
        let peers = register(
            Gauge::new("parajam_network_peers", "JAMNP-S peers connected")?,
            registry,
        )?;
        let series: [(&str, &str, Read); 5] = [
            (
                "parajam_network_connections_total",
                "JAMNP-S connections established",
                |s| NetStats::get(&s.connections),
            ),
            (
                "parajam_network_handshakes_refused_total",
                "Connections refused in the handshake (wrong ALPN, bad certificate)",
                |s| NetStats::get(&s.refused),
            ),
            (
                "parajam_network_peers_dropped_total",
                "Peers dropped for malformed or oversized messages",
                |s| NetStats::get(&s.dropped),
            ),
            (
                "parajam_network_announcements_received_total",
                "UP 0 block announcements received",
                |s| NetStats::get(&s.announcements_received),
            ),
            (
                "parajam_network_block_requests_served_total",
                "CE 128 block requests served",
                |s| NetStats::get(&s.requests_served),
            ),
        ];
        let mut counters = Vec::new();
        for (name, help, read) in series {
            counters.push((register(Counter::new(name, help)?, registry)?, read));
        }
        Ok(Self { peers, counters })
    }

    /// Copies `stats` in.
    pub fn update(&self, stats: &NetStats) {
        self.peers.set(NetStats::get(&stats.peers));
        for (counter, read) in &self.counters {
            counter.inc_by(read(stats).saturating_sub(counter.get()));
        }
    }
}
