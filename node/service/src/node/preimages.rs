//! Preimages: held until a block provides them (`E_P`, GP §12.4), and
//! passed among peers (JAMNP-S CE 142 and 143).
//!
//! * A preimage a client submits (`submitPreimage`) is held by the node
//!   it reached. While a service's request for it is open in the best
//!   state (`a_l[(H(p), |p|)] = []`, GP eq. 9.3 and 12.22, *solicited*),
//!   the node announces it (CE 142) to the validators, and again every
//!   [`REANNOUNCE`] while it stays unprovided (a validator whose state
//!   lagged, or that connected later, hears of it then).
//! * A validator hearing of a preimage solicited in its best state that it
//!   does not hold asks the announcer for it (CE 143; the network checks
//!   its length and hash), holds it, and announces it to the other
//!   validators in turn (JAMNP-S: "to its neighbours in the grid
//!   structure"; with every validator connected to every other, all of
//!   them).
//! * An author puts the preimages it holds that are solicited in its
//!   parent's state into its block's `E_P` (sorted by the block builder,
//!   GP eq. 12.36 – 12.37).
//! * A preimage is forgotten once the best state records it provided, or
//!   after [`UNSOLICITED_TTL`] without its request open; at most
//!   [`MAX_HELD`] preimages and [`MAX_HELD_OCTETS`] are held (the oldest
//!   go first).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parajam_network::{Event, Network, PeerId, PreimageAnnouncement, MAX_PREIMAGE};
use parajam_primitives::types::{OpaqueHash, Preimage, ServiceId};
use parajam_primitives::ByteArray;
use parajam_state::State;
use parajam_storage::ChainStore;

use super::Node;

/// How often a held, solicited, unprovided preimage is announced again.
pub const REANNOUNCE: Duration = Duration::from_secs(12);
/// How long a preimage no service has an open request for is held.
pub const UNSOLICITED_TTL: Duration = Duration::from_secs(600);
/// Most preimages held.
pub const MAX_HELD: usize = 64;
/// Most octets of preimages held.
pub const MAX_HELD_OCTETS: usize = 256 << 20;

/// What the preimage protocols did, for the binary to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreimageEvent {
    /// A held preimage announced to validators (CE 142).
    Announced {
        /// The requesting service.
        service: ServiceId,
        /// Its hash.
        hash: OpaqueHash,
        /// Its length.
        len: u32,
        /// The validators it went to.
        to: usize,
        /// Whether it was announced before.
        again: bool,
    },
    /// A preimage a peer announced, solicited here: asked for (CE 143).
    Requested {
        /// The requesting service.
        service: ServiceId,
        /// Its hash.
        hash: OpaqueHash,
        /// Its length.
        len: u32,
        /// Of whom.
        peer: PeerId,
    },
    /// A preimage received (CE 143) and held.
    Received {
        /// The requesting service.
        service: ServiceId,
        /// Its hash.
        hash: OpaqueHash,
        /// Its length.
        len: u32,
        /// From whom.
        peer: PeerId,
    },
    /// Something was not done.
    Dropped {
        /// What.
        what: String,
        /// Why.
        reason: String,
    },
}

/// A preimage held.
#[derive(Debug)]
struct Held {
    blob: Arc<Vec<u8>>,
    /// Its place in the order preimages came in.
    seq: u64,
    since: Instant,
    /// When it was last announced.
    announced: Option<Instant>,
    /// Whether the network serves it.
    served: bool,
}

/// Where a request for `(H(p), |p|)` of a service stands in a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request {
    /// No request (or no such service).
    None,
    /// Requested, not provided: `[]`.
    Open,
    /// Provided (or provided and forgotten since).
    Provided,
}

fn request(state: &State, service: ServiceId, hash: &OpaqueHash, len: u32) -> Request {
    match state
        .accounts
        .get(&service)
        .and_then(|a| a.request(hash, len))
    {
        None => Request::None,
        Some(history) if history.is_empty() => Request::Open,
        Some(_) => Request::Provided,
    }
}

/// The preimages a node holds (module docs).
#[derive(Debug, Default)]
pub(super) struct Preimages {
    /// By service and hash.
    held: BTreeMap<(ServiceId, OpaqueHash), Held>,
    /// Hashes asked for by CE 143, and when.
    requested: HashMap<OpaqueHash, Instant>,
    /// Hashes the network serves that are no longer held.
    released: Vec<OpaqueHash>,
    /// Preimages taken so far.
    taken: u64,
}

impl Preimages {
    /// Holds `blob` for `service` (a client's, or a peer's by CE 143).
    pub(super) fn hold(&mut self, service: ServiceId, blob: Vec<u8>) -> OpaqueHash {
        let hash = ByteArray(parajam_crypto::blake2b_256(&blob));
        let seq = self.taken;
        self.taken += 1;
        self.held.entry((service, hash)).or_insert(Held {
            blob: Arc::new(blob),
            seq,
            since: Instant::now(),
            announced: None,
            served: false,
        });
        // The oldest go first beyond the bounds.
        while self.held.len() > MAX_HELD
            || self.held.values().map(|h| h.blob.len()).sum::<usize>() > MAX_HELD_OCTETS
        {
            let Some(oldest) = self.held.iter().min_by_key(|(_, h)| h.seq).map(|(k, _)| *k) else {
                break;
            };
            self.forget(oldest);
        }
        hash
    }

    fn forget(&mut self, key: (ServiceId, OpaqueHash)) {
        if let Some(held) = self.held.remove(&key) {
            if held.served && !self.held.keys().any(|(_, h)| *h == key.1) {
                self.released.push(key.1);
            }
        }
    }

    /// Forgets what `state` (the best block's) records provided, and what
    /// has waited too long for a request.
    pub(super) fn prune(&mut self, state: &State) {
        let gone: Vec<(ServiceId, OpaqueHash)> = self
            .held
            .iter()
            .filter(|((service, hash), held)| {
                let len = u32::try_from(held.blob.len()).unwrap_or(u32::MAX);
                match request(state, *service, hash, len) {
                    Request::Open => false,
                    Request::Provided => true,
                    Request::None => held.since.elapsed() >= UNSOLICITED_TTL,
                }
            })
            .map(|(k, _)| *k)
            .collect();
        for key in gone {
            self.forget(key);
        }
    }

    /// `E_P` for a block on `state`: the preimages held that `state`
    /// solicits (GP eq. 12.37; the builder sorts them, eq. 12.36).
    pub(super) fn providable(&self, state: &State) -> Vec<Preimage> {
        self.held
            .iter()
            .filter(|((service, hash), held)| {
                let len = u32::try_from(held.blob.len()).unwrap_or(u32::MAX);
                request(state, *service, hash, len) == Request::Open
            })
            .map(|((service, _), held)| Preimage {
                requester: *service,
                blob: held.blob.as_ref().clone().into(),
            })
            .collect()
    }

    /// Forgets the preimages `preimages` (a block's that failed).
    pub(super) fn drop_all(&mut self, preimages: &[Preimage]) {
        for p in preimages {
            self.forget((p.requester, ByteArray(parajam_crypto::blake2b_256(&p.blob))));
        }
    }
}

impl<S: ChainStore + 'static> Node<S> {
    /// Announces the held preimages the best state solicits (first time,
    /// or again after `REANNOUNCE`), serves the held ones to CE 143
    /// requests and stops serving the forgotten ones.
    pub fn preimages_step(&mut self, network: &Network) -> Vec<PreimageEvent> {
        let mut out = Vec::new();
        self.preimages.prune(self.chain.state());
        for hash in std::mem::take(&mut self.preimages.released) {
            network.release_preimage(&hash);
        }
        self.preimages
            .requested
            .retain(|_, at| at.elapsed() < parajam_network::service::PREIMAGE_TIMEOUT * 2);
        let validators = self.other_validators();
        let state = self.chain.state();
        for ((service, hash), held) in &mut self.preimages.held {
            if !held.served {
                network.hold_preimage(*hash, held.blob.clone());
                held.served = true;
            }
            let len = u32::try_from(held.blob.len()).unwrap_or(u32::MAX);
            if request(state, *service, hash, len) != Request::Open
                || held.announced.is_some_and(|at| at.elapsed() < REANNOUNCE)
            {
                continue;
            }
            network.announce_preimage(
                &validators,
                &PreimageAnnouncement {
                    service: *service,
                    hash: *hash,
                    length: len,
                },
            );
            out.push(PreimageEvent::Announced {
                service: *service,
                hash: *hash,
                len,
                to: validators.len(),
                again: held.announced.is_some(),
            });
            held.announced = Some(Instant::now());
        }
        out
    }

    /// Takes a network event of the preimage protocols (CE 142/143);
    /// others are left alone.
    pub fn handle_preimages(&mut self, network: &Network, event: &Event) -> Vec<PreimageEvent> {
        let mut out = Vec::new();
        match event {
            Event::PreimageAnnounced { peer, announcement } => {
                self.announced(network, *peer, announcement, &mut out);
            }
            Event::Preimage {
                peer,
                announcement,
                result,
            } => {
                let a = announcement;
                self.preimages.requested.remove(&a.hash);
                match result {
                    Ok(blob) => {
                        let state = self.chain.state();
                        if request(state, a.service, &a.hash, a.length) != Request::Open {
                            return out;
                        }
                        self.preimages.hold(a.service, blob.as_ref().clone());
                        out.push(PreimageEvent::Received {
                            service: a.service,
                            hash: a.hash,
                            len: a.length,
                            peer: *peer,
                        });
                        // Served and announced to the other validators
                        // (but the one it came from) at once.
                        let to: Vec<PeerId> = self
                            .other_validators()
                            .into_iter()
                            .filter(|p| p != peer)
                            .collect();
                        if let Some(held) = self.preimages.held.get_mut(&(a.service, a.hash)) {
                            network.hold_preimage(a.hash, held.blob.clone());
                            held.served = true;
                            network.announce_preimage(&to, a);
                            held.announced = Some(Instant::now());
                            out.push(PreimageEvent::Announced {
                                service: a.service,
                                hash: a.hash,
                                len: a.length,
                                to: to.len(),
                                again: false,
                            });
                        }
                    }
                    Err(e) => out.push(PreimageEvent::Dropped {
                        what: format!("the preimage {} {peer} announced", a.hash),
                        reason: e.to_string(),
                    }),
                }
            }
            _ => {}
        }
        out
    }

    /// CE 142 heard: the preimage asked for if this node is a validator,
    /// its best state solicits it, and it neither holds nor awaits it.
    fn announced(
        &mut self,
        network: &Network,
        peer: PeerId,
        a: &PreimageAnnouncement,
        out: &mut Vec<PreimageEvent>,
    ) {
        if self.held_validators().is_empty()
            || self.preimages.held.contains_key(&(a.service, a.hash))
            || self.preimages.requested.contains_key(&a.hash)
            || a.length as usize > MAX_PREIMAGE
            || request(self.chain.state(), a.service, &a.hash, a.length) != Request::Open
        {
            return;
        }
        network.request_preimage(peer, *a);
        self.preimages.requested.insert(a.hash, Instant::now());
        out.push(PreimageEvent::Requested {
            service: a.service,
            hash: a.hash,
            len: a.length,
            peer,
        });
    }
}

#[cfg(test)]
mod tests {
    use parajam_authoring::{DevKeys, Genesis};
    use parajam_bandersnatch::RingContext;
    use parajam_primitives::types::ServiceAccount;
    use parajam_primitives::ProtocolParameters;

    use super::*;

    /// A genesis state whose service 7 requests `solicited` and has
    /// `provided` already.
    fn state(solicited: &[u8], provided: &[u8]) -> State {
        let params = ProtocolParameters::TINY;
        let keys = DevKeys::new(params.validators_count);
        let ring = RingContext::zcash(usize::from(params.validators_count)).expect("a ring");
        let mut account = ServiceAccount::default();
        for (blob, slots) in [(solicited, &[][..]), (provided, &[1][..])] {
            let hash = ByteArray(parajam_crypto::blake2b_256(blob));
            let len = u32::try_from(blob.len()).expect("small");
            account.set_request(&hash, len, Some(slots));
        }
        Genesis::new(&params, keys.validators())
            .with_service(7, account)
            .build(&params, &ring)
            .expect("a genesis")
    }

    #[test]
    fn only_solicited_unprovided_preimages_go_into_a_block_and_provided_ones_are_forgotten() {
        let state = state(b"wanted", b"had");
        let mut pool = Preimages::default();
        pool.hold(7, b"wanted".to_vec());
        pool.hold(7, b"had".to_vec());
        pool.hold(7, b"never asked".to_vec());
        pool.hold(8, b"wanted".to_vec());
        let providable = pool.providable(&state);
        assert_eq!(providable.len(), 1, "{providable:?}");
        assert_eq!(
            (providable[0].requester, &providable[0].blob[..]),
            (7, &b"wanted"[..])
        );
        // Provided: forgotten; unsolicited: kept until the TTL.
        pool.prune(&state);
        assert_eq!(pool.held.len(), 3);
        assert!(!pool
            .held
            .keys()
            .any(|(s, h)| *s == 7 && h.0 == parajam_crypto::blake2b_256(b"had")));
    }

    #[test]
    fn the_oldest_preimages_go_beyond_the_bounds() {
        let mut pool = Preimages::default();
        let first = pool.hold(1, vec![0]);
        for i in 1..=MAX_HELD {
            pool.hold(1, (i as u64).to_le_bytes().to_vec());
        }
        assert_eq!(pool.held.len(), MAX_HELD);
        assert!(!pool.held.contains_key(&(1, first)));
    }
}
