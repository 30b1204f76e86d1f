//! The node loop's network steps: network events into the node (logged),
//! guaranteeing among peers (CE 133/134/135/137/141), Safrole tickets
//! (CE 131/132), preimages among peers (CE 142/143), and announcements of
//! the blocks the node authors.

use std::sync::mpsc::Receiver;

use parajam_network::{Event, NetStats, Network, Slotted, TicketStep};
use parajam_primitives::types::HeaderHash;
use parajam_service::{GuaranteeEvent, Node, PreimageEvent, Sync, SyncEvent, TicketEvent};
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
            Event::SendFailed {
                peer,
                stream,
                error,
            } => tracing::debug!("{stream} to {peer} failed: {error}"),
            _ => {}
        }
        for outcome in node.handle_guaranteeing(network, &event) {
            log_guaranteeing(&outcome);
        }
        if let Some(outcome) = node.handle_tickets(network, &event) {
            log_tickets(&outcome);
        }
        for outcome in node.handle_preimages(network, &event) {
            log_preimages(&outcome);
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
    for outcome in node.guaranteeing_step(network) {
        log_guaranteeing(&outcome);
    }
    for outcome in node.tickets_step(network) {
        log_tickets(&outcome);
    }
    for outcome in node.preimages_step(network) {
        log_preimages(&outcome);
    }
}

/// Logs what the Safrole ticket machinery did (CE 131/132, the stored pool).
pub fn log_tickets(event: &TicketEvent) {
    match event {
        TicketEvent::Proving { epoch, count } => {
            tracing::info!("proving {count} Safrole tickets for epoch {epoch}");
        }
        TicketEvent::Sent { epoch, proxy } => tracing::info!(
            "Safrole ticket for epoch {epoch} sent to its proxy, validator {proxy} (CE 131)"
        ),
        TicketEvent::Forwarded { epoch, peers } => tracing::info!(
            "Safrole ticket for epoch {epoch} sent as its proxy to {peers} validators (CE 132)"
        ),
        TicketEvent::Resent { peer, epoch, count } => tracing::info!(
            "{count} Safrole tickets for epoch {epoch} sent to {peer}, which connected after \
             they went out (CE 132)"
        ),
        TicketEvent::Held { peer, epoch } => tracing::debug!(
            "Safrole ticket for epoch {epoch} from {peer} held until the head gets there"
        ),
        TicketEvent::Restored { epoch, count } => {
            tracing::info!("{count} Safrole tickets for epoch {epoch} restored from the store");
        }
        TicketEvent::Store { reason } => tracing::warn!("{reason}"),
        TicketEvent::Received { peer, step, epoch } => {
            let how = match step {
                TicketStep::ToProxy => "as its proxy (CE 131); queued for the validators (CE 132)",
                TicketStep::FromProxy => "from its proxy (CE 132)",
            };
            tracing::info!("Safrole ticket for epoch {epoch} received from {peer} {how}");
        }
        TicketEvent::Dropped { peer, reason } => {
            tracing::warn!("Safrole ticket from {peer} not taken: {reason}");
        }
    }
}

/// Logs what the preimage protocols did.
fn log_preimages(event: &PreimageEvent) {
    match event {
        PreimageEvent::Announced {
            service,
            hash,
            len,
            to,
            again,
        } => {
            if *again {
                tracing::debug!(
                    "preimage {hash} ({len} octets, service {service}) announced again to {to} \
                     validators (CE 142)"
                );
            } else {
                tracing::info!(
                    "preimage {hash} ({len} octets, service {service}) announced to {to} \
                     validators (CE 142)"
                );
            }
        }
        PreimageEvent::Requested {
            service,
            hash,
            len,
            peer,
        } => tracing::info!(
            "preimage {hash} ({len} octets, service {service}) announced by {peer}, solicited: \
             requested (CE 143)"
        ),
        PreimageEvent::Received {
            service,
            hash,
            len,
            peer,
        } => tracing::info!(
            "preimage {hash} ({len} octets, service {service}) received from {peer} (CE 143)"
        ),
        PreimageEvent::Dropped { what, reason } => tracing::warn!("{what} dropped: {reason}"),
    }
}

/// Logs what guaranteeing among peers did.
fn log_guaranteeing(event: &GuaranteeEvent) {
    match event {
        GuaranteeEvent::Forwarded { package, core, to } => tracing::info!(
            "work package {package} (core {core}) sent to its guarantor, validator {to} (CE 133)"
        ),
        GuaranteeEvent::Sharing {
            package,
            core,
            with,
        } => tracing::info!(
            "work package {package} (core {core}) refined; shared with guarantors {with:?} \
             (CE 134)"
        ),
        GuaranteeEvent::Signed {
            package,
            core,
            peer,
        } => tracing::info!(
            "work package {package} (core {core}) from {peer} refined and signed (CE 134)"
        ),
        GuaranteeEvent::Guaranteed {
            package,
            core,
            slot,
            signers,
        } => tracing::info!(
            "work package {package} (core {core}) guaranteed at slot {slot} by validators \
             {signers:?}; sent to the validators (CE 135)"
        ),
        GuaranteeEvent::Received {
            package,
            core,
            signers,
        } => tracing::info!(
            "guarantee of work package {package} (core {core}) by validators {signers:?} \
             received (CE 135)"
        ),
        GuaranteeEvent::Assured { anchor, cores } => {
            tracing::debug!("assured cores {cores:?} on {anchor} (CE 141)");
        }
        GuaranteeEvent::ShardFetched {
            package,
            core,
            index,
            validator,
            from,
        } => tracing::info!(
            "shard {index} of work package {package} (core {core}) for validator {validator} \
             fetched from {from} and checked against its erasure root (CE 137)"
        ),
        GuaranteeEvent::ShardMissed {
            package,
            index,
            peer,
            reason,
        } => tracing::debug!("shard {index} of work package {package} from {peer}: {reason}"),
        GuaranteeEvent::Dropped { what, reason } => tracing::warn!("{what} dropped: {reason}"),
    }
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
        let series: [(&str, &str, Read); 17] = [
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
            (
                "parajam_network_bytes_sent_total",
                "Octets of JAMNP-S messages sent (size prefixes and stream kinds included)",
                |s| NetStats::get(&s.bytes_sent),
            ),
            (
                "parajam_network_work_packages_received_total",
                "Work packages received by CE 133",
                |s| NetStats::get(&s.packages_received),
            ),
            (
                "parajam_network_shares_received_total",
                "Work-package bundles shared with this node by CE 134",
                |s| NetStats::get(&s.shares_received),
            ),
            (
                "parajam_network_guarantees_received_total",
                "Guaranteed work reports received by CE 135",
                |s| NetStats::get(&s.guarantees_received),
            ),
            (
                "parajam_network_assurances_received_total",
                "Availability assurances received by CE 141",
                |s| NetStats::get(&s.assurances_received),
            ),
            (
                "parajam_network_tickets_received_total",
                "Safrole tickets received by CE 131 or CE 132",
                |s| NetStats::get(&s.tickets_received),
            ),
            (
                "parajam_network_preimage_announcements_received_total",
                "Preimage announcements received by CE 142",
                |s| NetStats::get(&s.preimage_announcements_received),
            ),
            (
                "parajam_network_preimage_requests_served_total",
                "Preimages sent in answer to CE 143 requests",
                |s| NetStats::get(&s.preimage_requests_served),
            ),
            (
                "parajam_network_shards_received_total",
                "This node's shards received by CE 137, checked against their erasure root",
                |s| NetStats::get(&s.shards_received),
            ),
            (
                "parajam_network_shard_requests_served_total",
                "CE 137 shard requests served",
                |s| NetStats::get(&s.shard_requests_served),
            ),
            (
                "parajam_network_audit_shard_requests_served_total",
                "CE 138 audit shard requests served",
                |s| NetStats::get(&s.audit_shard_requests_served),
            ),
            (
                "parajam_network_bundle_requests_served_total",
                "CE 147 bundle requests served",
                |s| NetStats::get(&s.bundle_requests_served),
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
