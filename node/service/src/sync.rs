//! The node among peers (JAMNP-S, `parajam-network`): what the node offers
//! ([`StoreSource`]: its finalized block, its best block as the one leaf,
//! CE 128 blocks, CE 137/138 shards and CE 147 bundles from its store) and
//! how it follows the chain ([`Sync`]): every peer's best block is noted
//! from its UP 0 handshake and announcements; while a peer is ahead, the
//! node asks it (CE 128, ascending from the node's head, [`BATCH`] blocks at
//! a time) and imports what comes back on its head, announcing each block
//! it imports. A node started late or restarted catches up the same way.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parajam_network::{
    BlockRequest, ChainSource, Direction, Event, Network, PeerId, ShardRequest, Shards, Slotted,
};
use parajam_primitives::types::{Block, ErasureRoot, HeaderHash, TimeSlot};
use parajam_primitives::ProtocolParameters;
use parajam_rpc::StoreApi;
use parajam_storage::ChainStore;

use crate::node::{BlockImportError, Node};

/// Blocks asked for in one CE 128 request.
pub const BATCH: u32 = 64;
/// How long a request may stay unanswered before another is made.
const REQUEST_PATIENCE: Duration = Duration::from_secs(25);
/// The most blocks walked back from the best block to serve an ascending request.
const MAX_WALK: usize = 100_000;

/// The node's store as JAMNP-S serves it.
pub struct StoreSource<S: ChainStore + 'static> {
    api: Arc<StoreApi<S>>,
    params: ProtocolParameters,
}

impl<S: ChainStore + 'static> std::fmt::Debug for StoreSource<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSource").finish_non_exhaustive()
    }
}

impl<S: ChainStore + 'static> StoreSource<S> {
    /// Serves `api`'s store, of a chain of `params`.
    pub fn new(api: Arc<StoreApi<S>>, params: ProtocolParameters) -> Self {
        Self { api, params }
    }
}

impl<S: ChainStore + 'static> ChainSource for StoreSource<S> {
    fn finalized(&self) -> Slotted {
        let f = self.api.store().finalized().ok().flatten();
        f.map_or(
            Slotted {
                hash: HeaderHash::default(),
                slot: 0,
            },
            |f| Slotted {
                hash: f.hash,
                slot: f.slot,
            },
        )
    }

    fn leaves(&self) -> Vec<Slotted> {
        // Forks are not kept: the best block is the one leaf.
        self.api
            .store()
            .best()
            .ok()
            .flatten()
            .map(|b| Slotted {
                hash: b.hash,
                slot: b.slot,
            })
            .into_iter()
            .collect()
    }

    fn blocks(&self, hash: &HeaderHash, direction: Direction, max: u32) -> Option<Vec<Block>> {
        let store = self.api.store();
        let max = max as usize;
        match direction {
            Direction::Descending => {
                let mut blocks = Vec::new();
                let mut cursor = *hash;
                while blocks.len() < max {
                    let Ok(Some(block)) = store.block(&cursor) else {
                        break;
                    };
                    let (parent, slot) = (block.header.parent, block.header.slot);
                    blocks.push(block);
                    if slot == 0 {
                        break;
                    }
                    cursor = parent;
                }
                (!blocks.is_empty()).then_some(blocks)
            }
            Direction::Ascending => {
                // The path from the best block down to `hash`, reversed.
                let target = store.block_info(hash).ok()??;
                let best = store.best().ok()??;
                let mut path = Vec::new();
                let mut cursor = best.hash;
                while cursor != *hash {
                    let info = store.block_info(&cursor).ok()??;
                    if info.slot <= target.slot || path.len() >= MAX_WALK {
                        // `hash` is not an ancestor of the best block.
                        return None;
                    }
                    path.push(cursor);
                    cursor = info.parent;
                }
                path.reverse();
                path.truncate(max);
                path.iter().map(|h| store.block(h).ok().flatten()).collect()
            }
        }
    }

    fn shards(&self, request: &ShardRequest) -> Option<Shards> {
        let bytes = self
            .api
            .store()
            .shard(&request.erasure_root, request.index)
            .ok()??;
        Shards::from_bytes(&bytes, &self.params).ok()
    }

    fn bundle(&self, erasure_root: &ErasureRoot) -> Option<Vec<u8>> {
        self.api.store().bundle(erasure_root).ok().flatten()
    }
}

/// What following the peers came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    /// A peer's block was imported.
    Imported {
        /// Its hash.
        hash: HeaderHash,
        /// Its slot.
        slot: TimeSlot,
        /// From whom.
        peer: PeerId,
    },
    /// A peer's block was not imported.
    Rejected {
        /// Its hash.
        hash: HeaderHash,
        /// From whom.
        peer: PeerId,
        /// Why.
        reason: String,
    },
    /// The head went back to the finalized block to take a peer's fork.
    Rewound {
        /// The block.
        hash: HeaderHash,
        /// Its slot.
        slot: TimeSlot,
    },
    /// A request got no blocks.
    RequestFailed {
        /// Asked of whom.
        peer: PeerId,
        /// Why.
        reason: String,
    },
}

/// Follows the peers' chain (see the module docs).
#[derive(Debug, Default)]
pub struct Sync {
    /// Each peer's best block as it told us.
    best: HashMap<PeerId, Slotted>,
    /// Peers that had nothing for us since they last told us of a block.
    exhausted: HashSet<PeerId>,
    in_flight: Option<(PeerId, Instant)>,
    /// Peers whose chain does not hold our head: asked from our finalized block.
    forked: HashSet<PeerId>,
    /// Requests out from our finalized block: `(peer, block)`.
    from_finalized: HashSet<(PeerId, HeaderHash)>,
    /// Whether any peer has told us its chain yet.
    heard: bool,
}

impl Sync {
    /// A node with no peers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the node may author: a peer has told it its chain, or it
    /// has waited `patience` for one (the first node of a network).
    pub fn may_author(&self, waited: Duration, patience: Duration) -> bool {
        self.heard || waited >= patience
    }

    /// The highest slot a peer is at, if above the node's head.
    pub fn ahead<S: ChainStore + 'static>(&self, node: &Node<S>) -> Option<TimeSlot> {
        let head = node.head_slot();
        self.best
            .iter()
            .filter(|(p, _)| !self.exhausted.contains(p))
            .map(|(_, b)| b.slot)
            .max()
            .filter(|&s| s > head)
    }

    fn note(&mut self, peer: PeerId, block: Slotted) {
        let best = self.best.entry(peer).or_insert(block);
        if block.slot >= best.slot {
            *best = block;
            self.exhausted.remove(&peer);
        }
    }

    /// Takes one network event; asks for blocks when a peer is ahead.
    pub fn handle<S: ChainStore + 'static>(
        &mut self,
        node: &mut Node<S>,
        network: &Network,
        event: Event,
    ) -> Vec<SyncEvent> {
        let mut out = Vec::new();
        match event {
            Event::Handshake { peer, handshake } => {
                self.heard = true;
                for leaf in handshake.leaves {
                    self.note(peer, leaf);
                }
            }
            Event::Announcement {
                peer,
                hash,
                announcement,
            } => {
                self.note(
                    peer,
                    Slotted {
                        hash,
                        slot: announcement.header.slot,
                    },
                );
            }
            Event::Disconnected { peer, .. } | Event::Dropped { peer, .. } => {
                self.best.remove(&peer);
                self.exhausted.remove(&peer);
                if self.in_flight.is_some_and(|(p, _)| p == peer) {
                    self.in_flight = None;
                }
            }
            Event::Blocks {
                peer,
                request,
                result,
            } => {
                if self.in_flight.is_some_and(|(p, _)| p == peer) {
                    self.in_flight = None;
                }
                let from_finalized = self.from_finalized.remove(&(peer, request.hash));
                match result {
                    Ok(blocks) if blocks.is_empty() => {
                        self.exhausted.insert(peer);
                    }
                    Ok(blocks) => {
                        if from_finalized {
                            // The peer's chain from our finalized block:
                            // switch to it if it is ahead of ours (and our
                            // finalized block has not moved meanwhile).
                            let tip = blocks.last().map_or(0, |b| b.header.slot);
                            let finalized = node.api().store().finalized().ok().flatten();
                            if tip <= node.head_slot()
                                || finalized.is_none_or(|f| f.hash != request.hash)
                            {
                                self.exhausted.insert(peer);
                                return out;
                            }
                            match node.rewind_to(request.hash) {
                                Ok(slot) => out.push(SyncEvent::Rewound {
                                    hash: request.hash,
                                    slot,
                                }),
                                Err(e) => {
                                    out.push(SyncEvent::RequestFailed {
                                        peer,
                                        reason: e.to_string(),
                                    });
                                    return out;
                                }
                            }
                        }
                        self.forked.remove(&peer);
                        self.import(node, network, peer, &blocks, &mut out);
                    }
                    Err(e) => {
                        if !from_finalized && !self.forked.contains(&peer) {
                            // Our head is not on its chain: ask from our
                            // finalized block next time.
                            self.forked.insert(peer);
                        } else {
                            self.exhausted.insert(peer);
                        }
                        out.push(SyncEvent::RequestFailed {
                            peer,
                            reason: e.to_string(),
                        });
                    }
                }
            }
            // Connections, refusals, and the guaranteeing protocols
            // (`Node::handle_guaranteeing`).
            _ => {}
        }
        self.request(node, network);
        out
    }

    fn import<S: ChainStore + 'static>(
        &mut self,
        node: &mut Node<S>,
        network: &Network,
        peer: PeerId,
        blocks: &[Block],
        out: &mut Vec<SyncEvent>,
    ) {
        for block in blocks {
            let hash = parajam_stf::header::header_hash(&block.header);
            match node.import_block(block) {
                Ok(imported) => {
                    out.push(SyncEvent::Imported {
                        hash,
                        slot: imported.slot,
                        peer,
                    });
                    let finalized = node.api().store().finalized().ok().flatten().map_or(
                        Slotted {
                            hash: HeaderHash::default(),
                            slot: 0,
                        },
                        |f| Slotted {
                            hash: f.hash,
                            slot: f.slot,
                        },
                    );
                    network.announce(&block.header, finalized);
                }
                Err(e) => {
                    if !matches!(e, BlockImportError::NotOnHead { .. }) {
                        self.exhausted.insert(peer);
                    }
                    out.push(SyncEvent::Rejected {
                        hash,
                        peer,
                        reason: e.to_string(),
                    });
                    return;
                }
            }
        }
    }

    /// Asks the most advanced peer for the blocks after the head, unless a
    /// request is out.
    pub fn request<S: ChainStore + 'static>(&mut self, node: &Node<S>, network: &Network) {
        if self
            .in_flight
            .is_some_and(|(_, at)| at.elapsed() < REQUEST_PATIENCE)
        {
            return;
        }
        let head = node.head_slot();
        let Some((&peer, _)) = self
            .best
            .iter()
            .filter(|(p, b)| b.slot > head && !self.exhausted.contains(*p))
            .max_by_key(|(_, b)| b.slot)
        else {
            return;
        };
        let finalized = node.api().store().finalized().ok().flatten();
        let from = match finalized {
            Some(f) if self.forked.contains(&peer) => {
                self.from_finalized.insert((peer, f.hash));
                f.hash
            }
            _ => node.head(),
        };
        self.in_flight = Some((peer, Instant::now()));
        network.request_blocks(
            peer,
            BlockRequest {
                hash: from,
                direction: Direction::Ascending,
                max_blocks: BATCH,
            },
        );
    }
}
