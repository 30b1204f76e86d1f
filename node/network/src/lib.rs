//! JAMNP-S, the JAM Simple Networking Protocol (zdave-parity/jam-np
//! `simple.md`), on QUIC (quinn) with TLS 1.3 (rustls on ring):
//!
//! * [`peer`]: peer ids (Ed25519 keys), their alternative names `N(k)` and
//!   the preferred initiator `P(a, b)`;
//! * [`tls`]: self-signed Ed25519 certificates, the certificate ↔ key check
//!   on both sides, ALPN `jamnp-s/0/H` (and `/builder`);
//! * [`framing`]: messages (`u32` little-endian size, content) with a size
//!   limit per message;
//! * [`protocol`]: UP 0 (block announcement), CE 128 (block request),
//!   CE 133/134/135 (work-package submission and sharing, work-report
//!   distribution) and CE 141 (assurance distribution);
//! * [`tickets`]: CE 131/132 (Safrole ticket distribution);
//! * [`preimages`]: CE 142 (preimage announcement) and CE 143 (preimage
//!   request);
//! * [`service`]: the endpoint, connections, streams, and the
//!   [`Event`]s and [`NetStats`] the node reads.
//!
//! The library never prints: what happens is returned as events and counted.

pub mod framing;
pub mod peer;
pub mod preimages;
pub mod protocol;
pub mod service;
pub mod shards;
pub mod tickets;
pub mod tls;

#[cfg(test)]
mod tests;

pub use peer::{alt_name, preferred_initiator, PeerId};
pub use preimages::{PreimageAnnouncement, MAX_PREIMAGE};
pub use protocol::{
    split_bundle, Announcement, Assurance, BlockRequest, Direction, Handshake, ShareResponse,
    Slotted, WorkPackageSharing, WorkPackageSubmission,
};
pub use service::{
    ChainSource, Event, NetStats, Network, NetworkConfig, NetworkError, PeerAddr, PeerError,
    RequestError, Responder,
};
pub use shards::{shard_index, AuditShard, ShardRequest, Shards};
pub use tickets::{proxy_index, EpochTicket, TicketStep};
pub use tls::{alpn, check_certificate, CertError, Identity};
