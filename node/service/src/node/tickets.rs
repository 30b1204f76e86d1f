//! Safrole tickets in the node (GP §6.7, eq. 6.29 – 6.35) and their
//! distribution among peers (JAMNP-S CE 131/132).
//!
//! * **Making them.** In each epoch `e`, once the head is in it and the
//!   submission period (`m < Y`) is open, the node proves (unless it made
//!   them ahead, below) the tickets of
//!   the validators of `γ_k` (the next epoch's set) it holds keys for:
//!   for each, entry indices `0 .. N`, a ring VRF proof
//!   `F̄_{O(γ_k)}⟨X_T ⌢ η_2 ⌢ r⟩([])` (eq. 6.29; the proof's output is the
//!   ticket id). The ids are known before the proofs (a VRF output depends
//!   on the key and context only), so only the lowest `E` of its own ids
//!   are proved (no other can enter `γ_a`), lowest first, on background
//!   threads; each proof takes about a second for the tiny ring.
//! * **The pool** ([`TicketPool`]): checked tickets for one epoch, by id,
//!   without repeats, at most `E` (the lowest: no other can enter `γ_a`).
//!   An author takes those of the block's epoch that are not in `γ_a` and
//!   would enter it, lowest id first, at most `K` (eq. 6.30 – 6.35), in
//!   id order as eq. 6.32 wants.
//! * **Checking one.** A ticket heard from a peer is checked with the STF's
//!   own `safrole::verify_tickets` against the head's `η_2` and `γ_z`
//!   (entry index and ring proof); a ticket for another epoch than the
//!   head's next, or one arriving after the submission period, is
//!   dropped (not its sender).
//! * **Ahead.** Once its proofs for the next epoch are made, the node
//!   proves those for the epoch after under the `η_2` and `γ_k` that
//!   epoch will have unless `ι` or the offenders change (`η'_2 = η_1`,
//!   `γ'_k = Φ(ι)`); at the epoch change they are taken if right, so the
//!   tickets are there from the period's first slot.
//! * **Distribution.** A ticket made by this node goes to its proxy, the
//!   validator of `γ_k` that the last four octets of its id name (CE 131);
//!   the proxy checks it, checks that it is the proxy, and sends it to
//!   every validator of `κ` (CE 132). A node that is its own ticket's
//!   proxy sends it by CE 132 itself. CE 131 goes from the slot after the
//!   epoch change (JAMNP-S's `max(⌊E/60⌋, 1)` after the connectivity
//!   change, taken as one slot: then the others have the epoch's first
//!   block to check the ticket against). A proxy does not send at once:
//!   JAMNP-S spreads CE 132 over the lottery to hide who made which
//!   ticket, and the proxy sends its queue at the pace of
//!   [`forward_schedule`] (from `max(⌊E/30⌋, 1) + max(⌊E/20⌋, 1)` slots
//!   into the epoch, evenly until `⌊Y/2⌋`; a ticket that comes later goes
//!   at once). On the tiny chain that is slots 2 – 5 of 12, so the last
//!   four blocks of the period (`4 K` = 12 tickets) can still carry them;
//!   where an epoch is too short for the delays, everything goes at the
//!   start, at the latest in the period's last slot.
//! * **Late peers.** The node remembers, per peer, which of the pool's
//!   tickets it sent it or had from it. A validator of `κ` that connects
//!   (or reconnects: a disconnect forgets what it was sent) during the
//!   submission period is sent, by CE 132, the pooled tickets that already
//!   went out by CE 132 and it does not have; those still queued reach it
//!   on schedule. A ticket for a later epoch than the head's next (the
//!   sender ahead, or this node still syncing) is held, up to two epochs'
//!   worth, and checked once the head is in its epoch.
//! * **Stored.** The pool (its epoch and tickets) is written to the store
//!   whenever it changed (one atomic write, at most once a step), and
//!   taken back at start if it is for the epoch after the head's: a node
//!   restarted within the submission period keeps its tickets and does not
//!   prove its own again (they are sent to their proxies again, which take
//!   a repeat as nothing new; the others count as sent by CE 132, so
//!   validators that connect get them). A stored pool that does not
//!   decode is ignored with a warning.
//! * **Sealing.** The seal of a ticket slot (eq. 6.15) is
//!   `parajam_authoring`'s: the author is the held validator whose
//!   `Y(F⟨X_T ⌢ η'_3 ⌢ r⟩)` is the slot's ticket id.
//!
//! A lone node (no peers) authors every slot and its slots are not the
//! wall clock's, so it may wait for its own proofs: before a block in the
//! submission period it waits (up to [`NodeConfig::ticket_wait`]) until
//! the tickets still to come fit into the blocks left in the period, `K`
//! each. A dev node that holds every validator so fills `γ_a` every epoch
//! and seals the next by tickets whatever the machine's speed.
//!
//! [`NodeConfig::ticket_wait`]: super::NodeConfig::ticket_wait

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use parajam_authoring::DevKeys;
use parajam_bandersnatch::{RingContext, SecretKey};
use parajam_network::{proxy_index, EpochTicket, Event, Network, PeerId, TicketStep};
use parajam_primitives::types::{TicketBody, TicketEnvelope, TicketId, TicketsExtrinsic, TimeSlot};
use parajam_primitives::{ByteArray, ProtocolParameters};
use parajam_state::State;
use parajam_stf::safrole::{self, TICKET_SEAL_CONTEXT};
use parajam_storage::{ChainStore, StoredTicketPool};

use super::Node;
use crate::stats::Stats;

/// Why a ticket is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    /// It is for another epoch than the one after the head's.
    #[error("a ticket for epoch {epoch}, not {expected}")]
    WrongEpoch {
        /// The ticket's.
        epoch: u32,
        /// The epoch after the head's.
        expected: u32,
    },
    /// The head's epoch is past its submission period (eq. 6.30).
    #[error("the submission period of epoch {0} is over")]
    Closed(u32),
    /// The STF refuses it (entry index or ring proof, eq. 6.29).
    #[error("{0}")]
    Invalid(#[from] safrole::Error),
    /// It came to this node as its proxy (CE 131), which it is not.
    #[error("this node is not its proxy")]
    NotProxy,
}

/// `X_T ⌢ η ⌢ r`: the context of a ticket's ring proof (with `η_2`) and
/// of its seal (with `η'_3`), GP eq. 6.29 and 6.15.
fn ticket_context(entropy: &[u8; 32], attempt: u8) -> Vec<u8> {
    [TICKET_SEAL_CONTEXT, &entropy[..], &[attempt]].concat()
}

/// The epoch of `slot`.
fn epoch_of(slot: TimeSlot, params: &ProtocolParameters) -> u32 {
    slot / params.epoch_length
}

/// JAMNP-S's pace for CE 132 (module docs): of the `count` tickets a
/// proxy holds for the submission period of an epoch of `epoch_length`
/// (`E`) slots whose first `submission_end` (`Y`) are the lottery, how
/// many it should have sent to the validators by slot `m` of the epoch.
///
/// Connectivity changes apply `max(⌊E/30⌋, 1)` slots into the epoch;
/// forwarding starts `max(⌊E/20⌋, 1)` slots after that and is spread
/// evenly (rounding up) until half-way through the lottery, `⌊Y/2⌋`, when
/// all are due; a ticket that comes later is due at once. Where an epoch
/// is too short for the delays (the start past `⌊Y/2⌋`), everything is
/// due at the start, and the start is at most `Y − 1` (the last slot a
/// block may carry a ticket), so that nothing is held past the period.
/// The full chain (`E` = 600, `Y` = 500): slots 50 to 250; the tiny chain
/// (`E` = 12, `Y` = 10): slots 2 to 5, leaving slots 6 – 9 (`4 K` = 12
/// tickets) to include them.
fn forward_schedule(m: u32, epoch_length: u32, submission_end: u32, count: usize) -> usize {
    let Some(last) = submission_end.checked_sub(1) else {
        return count;
    };
    let connectivity = (epoch_length / 30).max(1);
    let start = (connectivity + (epoch_length / 20).max(1)).min(last);
    let end = (submission_end / 2).clamp(start, last);
    if m < start {
        return 0;
    }
    if m >= end {
        return count;
    }
    // Slots start ..= end share them; by slot m, the first m − start + 1.
    let slots = u64::from(end - start + 1);
    let elapsed = u64::from(m - start + 1);
    let due = (count as u64 * elapsed).div_ceil(slots);
    usize::try_from(due).unwrap_or(count).min(count)
}

/// Checked tickets for one epoch, by id (module docs).
#[derive(Debug, Clone)]
pub struct TicketPool {
    /// The epoch the tickets are for (used in).
    epoch: Option<u32>,
    tickets: BTreeMap<TicketId, TicketEnvelope>,
    /// `E`: more can never enter `γ_a`.
    limit: usize,
    /// `K`.
    per_block: usize,
    /// `Y`.
    submission_end: u32,
    epoch_length: u32,
    /// Counts the changes (to store it when it changed).
    changes: u64,
}

impl TicketPool {
    /// An empty pool for the chain of `params`.
    pub fn new(params: &ProtocolParameters) -> Self {
        Self {
            epoch: None,
            tickets: BTreeMap::new(),
            limit: params.epoch_length as usize,
            per_block: usize::from(params.max_tickets_per_block),
            submission_end: params.ticket_submission_end,
            epoch_length: params.epoch_length,
            changes: 0,
        }
    }

    /// Whether it holds the ticket `id`.
    pub fn contains(&self, id: &TicketId) -> bool {
        self.tickets.contains_key(id)
    }

    /// The ticket `id`, if it holds it.
    pub fn get(&self, id: &TicketId) -> Option<&TicketEnvelope> {
        self.tickets.get(id)
    }

    /// Its stored form (`None` before it has an epoch).
    pub fn to_stored(&self) -> Option<StoredTicketPool> {
        Some(StoredTicketPool {
            epoch: self.epoch?,
            tickets: self.tickets.iter().map(|(i, t)| (*i, t.clone())).collect(),
        })
    }

    /// The epoch its tickets are for.
    pub fn epoch(&self) -> Option<u32> {
        self.epoch
    }

    /// How many tickets it holds.
    pub fn len(&self) -> usize {
        self.tickets.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.tickets.is_empty()
    }

    /// Keeps tickets for `epoch` from now on: those of any other epoch go.
    /// Whether the epoch changed.
    pub fn retarget(&mut self, epoch: u32) -> bool {
        if self.epoch == Some(epoch) {
            return false;
        }
        self.tickets.clear();
        self.epoch = Some(epoch);
        self.changes += 1;
        true
    }

    /// Adds a checked ticket `(id, ticket)` for `epoch`: `Ok(true)` if it
    /// is new and among the lowest `E` ids (a higher one is left out, and
    /// the highest is dropped when the pool is over `E`), `Ok(false)` if
    /// it was there or left out; a ticket for another epoch is an error.
    pub fn insert(
        &mut self,
        epoch: u32,
        id: TicketId,
        ticket: TicketEnvelope,
    ) -> Result<bool, TicketError> {
        if self.epoch != Some(epoch) {
            return Err(TicketError::WrongEpoch {
                epoch,
                expected: self.epoch.unwrap_or_default(),
            });
        }
        if self.tickets.contains_key(&id) {
            return Ok(false);
        }
        self.tickets.insert(id, ticket);
        if self.tickets.len() > self.limit {
            let highest = self.tickets.last_key_value().map(|(k, _)| *k);
            if let Some(highest) = highest {
                self.tickets.remove(&highest);
                if highest == id {
                    return Ok(false);
                }
            }
        }
        self.changes += 1;
        Ok(true)
    }

    /// Forgets the tickets `ids` (a block that carried them was refused).
    pub fn remove(&mut self, ids: &[TicketId]) {
        for id in ids {
            if self.tickets.remove(id).is_some() {
                self.changes += 1;
            }
        }
    }

    /// `E_T` for a block at `slot` whose prior accumulator is
    /// `accumulator` (`γ_a` of the parent, or empty if the block opens an
    /// epoch): the pooled tickets for the epoch after the slot's that are
    /// not in it and would enter it (eq. 6.33 – 6.35), lowest id first, at
    /// most `K`, in id order (eq. 6.32); none in the epoch's tail
    /// (eq. 6.30). Each with its id.
    pub fn select(
        &self,
        slot: TimeSlot,
        accumulator: &[TicketBody],
    ) -> Vec<(TicketId, TicketEnvelope)> {
        let target = slot / self.epoch_length + 1;
        if self.epoch != Some(target) || slot % self.epoch_length >= self.submission_end {
            return Vec::new();
        }
        let candidates: Vec<(TicketId, TicketEnvelope)> = self
            .tickets
            .iter()
            .filter(|(id, _)| !accumulator.iter().any(|t| t.id == **id))
            .map(|(id, t)| (*id, t.clone()))
            .collect();
        // The E-th lowest id of the accumulator with the candidates: a
        // ticket enters only at or below it.
        let mut ids: Vec<TicketId> = accumulator
            .iter()
            .map(|t| t.id)
            .chain(candidates.iter().map(|c| c.0))
            .collect();
        ids.sort_unstable();
        let bound = ids.get(self.limit.saturating_sub(1)).copied();
        candidates
            .into_iter()
            .filter(|(id, _)| bound.is_none_or(|b| *id <= b))
            .take(self.per_block)
            .collect()
    }
}

/// `(id, ticket)`: checks `ticket`, said to be for `epoch`, against the
/// head's `state` with the STF's `safrole::verify_tickets` (entry index,
/// ring proof against `γ_z` under `η_2`); its id.
pub fn check_ticket(
    state: &State,
    epoch: u32,
    ticket: &TicketEnvelope,
    params: &ProtocolParameters,
    ring: &RingContext,
) -> Result<TicketId, TicketError> {
    let head_epoch = epoch_of(state.timeslot, params);
    let expected = head_epoch + 1;
    if epoch != expected {
        return Err(TicketError::WrongEpoch { epoch, expected });
    }
    if state.timeslot % params.epoch_length >= params.ticket_submission_end {
        return Err(TicketError::Closed(head_epoch));
    }
    let extrinsic: TicketsExtrinsic = vec![ticket.clone()].into();
    let bodies = safrole::verify_tickets(
        &extrinsic,
        &state.entropy[2],
        &state.safrole.epoch_root,
        params,
        ring,
    )?;
    bodies
        .first()
        .map(|b| b.id)
        .ok_or(TicketError::Invalid(safrole::Error::BadTicketProof {
            index: 0,
        }))
}

/// A ticket this node made.
#[derive(Debug, Clone)]
pub(super) struct Made {
    id: TicketId,
    ticket: TicketEnvelope,
}

/// Proofs being made for one epoch on background threads.
#[derive(Debug)]
struct Generation {
    /// The epoch the tickets are for.
    epoch: u32,
    /// The `η_2` and ring keys (`γ_k`) they are made under.
    eta2: [u8; 32],
    ring_keys: Vec<[u8; 32]>,
    /// How many proofs were planned.
    planned: usize,
    /// How many came back (made or failed).
    done: usize,
    results: Receiver<Option<Made>>,
}

impl Generation {
    fn outstanding(&self) -> usize {
        self.planned - self.done
    }
}

/// The node's tickets: the pool, and the proofs being made.
#[derive(Debug)]
pub(super) struct Tickets {
    pub(super) pool: TicketPool,
    generation: Option<Generation>,
    /// The last epoch proofs were started for.
    started_for: Option<u32>,
    /// Proofs made ahead for the epoch after the pool's, under the `η_2`
    /// and `γ_k` that epoch's submission period will have if `ι` and the
    /// offenders do not change (`η'_2 = η_1`, `γ'_k = Φ(ι)`, eq. 6.13,
    /// 6.23): taken at the epoch change if they are right, else dropped.
    ahead: Option<Generation>,
    /// The last epoch proofs were made ahead for (or found none to make).
    ahead_for: Option<u32>,
    /// Tickets made and not yet sent to their proxy (or, as their own
    /// proxy, queued in `forward`).
    unsent: Vec<Made>,
    /// The tickets this node is the proxy of and has not yet sent to the
    /// validators (CE 132), in the order they came: sent at
    /// [`forward_schedule`]'s pace.
    forward: VecDeque<TicketId>,
    /// How many of the pool's epoch's it has sent as proxy.
    forwarded: usize,
    /// The pool's tickets that went out by CE 132 (sent by this node as
    /// proxy, or sent to it): those a validator that connects later is
    /// sent.
    public: BTreeSet<TicketId>,
    /// Per peer, the pool's tickets it was sent or sent us (forgotten when
    /// it disconnects: a peer that comes back is sent them again).
    sent: HashMap<PeerId, BTreeSet<TicketId>>,
    /// Tickets for a later epoch than the one after the head's (a peer
    /// ahead of this node, or this node still syncing), checked once the
    /// head gets there; at most [`EARLY_LIMIT`] epochs' worth.
    early: Vec<(PeerId, TicketStep, EpochTicket)>,
    /// The pool's change count when it was last stored.
    saved: u64,
    /// What happened outside [`Node::tickets_step`] (the pool restored
    /// or not, a failed store), for the binary to log.
    events: Vec<TicketEvent>,
}

/// How many epochs' worth (`E` tickets each) of early tickets are held.
const EARLY_LIMIT: usize = 2;

impl Tickets {
    pub(super) fn new(params: &ProtocolParameters) -> Self {
        Self {
            pool: TicketPool::new(params),
            generation: None,
            started_for: None,
            ahead: None,
            ahead_for: None,
            unsent: Vec::new(),
            forward: VecDeque::new(),
            forwarded: 0,
            public: BTreeSet::new(),
            sent: HashMap::new(),
            early: Vec::new(),
            saved: 0,
            events: Vec::new(),
        }
    }

    /// Forgets what was sent of the last epoch's tickets.
    fn new_epoch(&mut self) {
        self.unsent.clear();
        self.forward.clear();
        self.forwarded = 0;
        self.public.clear();
        self.sent.clear();
    }
}

/// What the ticket machinery did, for the binary to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketEvent {
    /// Proofs started for the tickets of the held validators.
    Proving {
        /// The epoch they are for.
        epoch: u32,
        /// How many.
        count: usize,
    },
    /// A ticket of this node's sent to its proxy (CE 131).
    Sent {
        /// The epoch it is for.
        epoch: u32,
        /// The proxy's index in the next epoch's set.
        proxy: usize,
    },
    /// A ticket this node is the proxy of (its own, or one that came by
    /// CE 131) sent to the validators connected (CE 132), at JAMNP-S's
    /// pace (module docs).
    Forwarded {
        /// The epoch it is for.
        epoch: u32,
        /// To how many validators.
        peers: usize,
    },
    /// A validator that connected (or reconnected) during the submission
    /// period was sent the tickets that went out by CE 132 before (CE 132).
    Resent {
        /// The validator.
        peer: PeerId,
        /// The epoch they are for.
        epoch: u32,
        /// How many.
        count: usize,
    },
    /// A peer's ticket for a later epoch than the one after the head's,
    /// held until the head gets there.
    Held {
        /// Who sent it.
        peer: PeerId,
        /// The epoch it is for.
        epoch: u32,
    },
    /// The pool was restored from the store at start.
    Restored {
        /// The epoch its tickets are for.
        epoch: u32,
        /// How many.
        count: usize,
    },
    /// The pool could not be stored, or the stored one was ignored.
    Store {
        /// Why.
        reason: String,
    },
    /// A peer's ticket, checked and pooled (and, as its proxy, queued to
    /// go to the validators by CE 132).
    Received {
        /// Who sent it.
        peer: PeerId,
        /// The step it came in.
        step: TicketStep,
        /// The epoch it is for.
        epoch: u32,
    },
    /// A ticket not taken.
    Dropped {
        /// Who sent it.
        peer: PeerId,
        /// Why.
        reason: String,
    },
}

/// The tickets the held validators of `ring` (`γ_k`) would make under
/// `eta2`: `(id, attempt, ring position, secret)`, lowest id first, at
/// most `E`.
fn plan(
    ring: &[parajam_primitives::types::ValidatorData],
    eta2: [u8; 32],
    keys: &DevKeys,
    params: &ProtocolParameters,
) -> Vec<(TicketId, u8, usize, SecretKey)> {
    let mut out = Vec::new();
    for (position, key) in ring.iter().enumerate() {
        let Some(validator) = keys.by_bandersnatch(&key.bandersnatch) else {
            continue;
        };
        for attempt in 0..params.tickets_per_validator {
            let context = ticket_context(&eta2, attempt);
            if let Ok(id) = validator.bandersnatch().vrf_output(&context) {
                out.push((
                    ByteArray(id),
                    attempt,
                    position,
                    validator.bandersnatch().clone(),
                ));
            }
        }
    }
    out.sort_unstable_by_key(|(id, attempt, position, _)| (*id, *attempt, *position));
    out.truncate(params.epoch_length as usize);
    out
}

/// Proves `jobs` on up to two background threads, lowest id first; each
/// result (a ticket, or `None` if a proof failed) comes on the receiver.
fn spawn_proofs(
    jobs: Vec<(TicketId, u8, usize, SecretKey)>,
    ring_keys: Vec<[u8; 32]>,
    eta2: [u8; 32],
    ring: &Arc<RingContext>,
) -> Receiver<Option<Made>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, 2);
    let queue = Arc::new(Mutex::new(VecDeque::from(jobs)));
    let ring_keys = Arc::new(ring_keys);
    for _ in 0..threads {
        let (tx, queue, ring, ring_keys) =
            (tx.clone(), queue.clone(), ring.clone(), ring_keys.clone());
        std::thread::spawn(move || loop {
            let job = queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop_front();
            let Some((id, attempt, position, secret)) = job else {
                return;
            };
            let context = ticket_context(&eta2, attempt);
            let made = ring
                .ring_prove(&ring_keys, position, &secret, &context, &[])
                .ok()
                .map(|proof| Made {
                    id,
                    ticket: TicketEnvelope {
                        attempt,
                        signature: ByteArray(proof),
                    },
                });
            if tx.send(made).is_err() {
                // The node is gone.
                return;
            }
        });
    }
    rx
}

impl<S: ChainStore + 'static> Node<S> {
    /// The ticket pool (for the informant and tests).
    pub fn ticket_pool(&self) -> &TicketPool {
        &self.tickets.pool
    }

    /// After a new head: the pool kept for the epoch after the head's,
    /// and proofs started for the held validators' tickets if the
    /// submission period is open and they were not started yet (or taken
    /// from those made ahead, if these are right); once they are made,
    /// proofs made ahead for the epoch after.
    pub(super) fn tickets_on_head(&mut self) -> Option<TicketEvent> {
        let params = *self.params();
        let state = self.chain.state();
        let target = epoch_of(state.timeslot, &params) + 1;
        let ring_keys: Vec<[u8; 32]> = state
            .safrole
            .pending_validators
            .iter()
            .map(|k| k.bandersnatch.0)
            .collect();
        let eta2 = state.entropy[2].0;
        if self.tickets.pool.retarget(target) {
            self.tickets.new_epoch();
            self.tickets.generation = None;
            if let Some(ahead) = self.tickets.ahead.take() {
                if ahead.epoch == target && ahead.eta2 == eta2 && ahead.ring_keys == ring_keys {
                    self.tickets.generation = Some(ahead);
                    self.tickets.started_for = Some(target);
                }
            }
        }
        let open = state.timeslot % params.epoch_length < params.ticket_submission_end;
        if open && self.tickets.started_for != Some(target) {
            self.tickets.started_for = Some(target);
            let (pooled, jobs): (Vec<_>, Vec<_>) = plan(
                &state.safrole.pending_validators,
                eta2,
                self.chain.keys(),
                &params,
            )
            .into_iter()
            .partition(|(id, ..)| self.tickets.pool.contains(id));
            // Those restored from the store are not proved again; they go
            // to their proxy (again: it takes a repeat as nothing new).
            for (id, ..) in pooled {
                if let Some(ticket) = self.tickets.pool.get(&id) {
                    self.tickets.public.remove(&id);
                    self.tickets.unsent.push(Made {
                        id,
                        ticket: ticket.clone(),
                    });
                }
            }
            if jobs.is_empty() {
                return None;
            }
            let count = jobs.len();
            let results = spawn_proofs(jobs, ring_keys.clone(), eta2, &self.chain.shared_ring());
            self.tickets.generation = Some(Generation {
                epoch: target,
                eta2,
                ring_keys,
                planned: count,
                done: 0,
                results,
            });
            return Some(TicketEvent::Proving {
                epoch: target,
                count,
            });
        }
        // This epoch's proofs are made: make the next epoch's ahead.
        let busy = self
            .tickets
            .generation
            .as_ref()
            .is_some_and(|g| g.outstanding() > 0);
        if busy || self.tickets.ahead_for == Some(target + 1) {
            return None;
        }
        self.tickets.ahead_for = Some(target + 1);
        let next_ring =
            safrole::nullify_offenders(&state.staging_validators, &state.disputes.offenders);
        let next_eta2 = state.entropy[1].0;
        let jobs = plan(&next_ring, next_eta2, self.chain.keys(), &params);
        if jobs.is_empty() {
            return None;
        }
        let next_keys: Vec<[u8; 32]> = next_ring.iter().map(|k| k.bandersnatch.0).collect();
        let count = jobs.len();
        let results = spawn_proofs(
            jobs,
            next_keys.clone(),
            next_eta2,
            &self.chain.shared_ring(),
        );
        self.tickets.ahead = Some(Generation {
            epoch: target + 1,
            eta2: next_eta2,
            ring_keys: next_keys,
            planned: count,
            done: 0,
            results,
        });
        Some(TicketEvent::Proving {
            epoch: target + 1,
            count,
        })
    }

    /// Takes the proofs made so far (waiting up to `wait` for the first),
    /// pools them; how many came.
    fn collect_tickets(&mut self, wait: Duration) -> usize {
        let Some(generation) = &mut self.tickets.generation else {
            return 0;
        };
        let mut made = Vec::new();
        let deadline = Instant::now() + wait;
        while generation.outstanding() > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            let result = if made.is_empty() && !left.is_zero() {
                generation.results.recv_timeout(left)
            } else {
                generation
                    .results
                    .try_recv()
                    .map_err(|_| RecvTimeoutError::Timeout)
            };
            match result {
                Ok(m) => {
                    generation.done += 1;
                    made.push(m);
                }
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    generation.done = generation.planned;
                    break;
                }
            }
        }
        let epoch = generation.epoch;
        let count = made.len();
        for m in made.into_iter().flatten() {
            Stats::add(&self.stats.tickets_made, 1);
            if self.tickets.pool.insert(epoch, m.id, m.ticket.clone()) == Ok(true) {
                self.tickets.unsent.push(m);
            }
        }
        count
    }

    /// A lone node's wait for its own proofs before authoring at `slot`
    /// (module docs): until the tickets still to come fit into the blocks
    /// left in the submission period after this one, or `limit` passed.
    pub(super) fn wait_for_tickets(&mut self, slot: TimeSlot, limit: Duration) {
        let params = *self.params();
        let m = slot % params.epoch_length;
        let target = epoch_of(slot, &params) + 1;
        let deadline = Instant::now() + limit;
        self.collect_tickets(Duration::ZERO);
        loop {
            let Some(generation) = &self.tickets.generation else {
                return;
            };
            if generation.epoch != target || m >= params.ticket_submission_end {
                return;
            }
            let per_block = usize::from(params.max_tickets_per_block);
            let later = (params.ticket_submission_end - m - 1) as usize * per_block;
            let accumulator = &self.chain.state().safrole.ticket_accumulator;
            let waiting = self.tickets.pool.select(slot, accumulator).len();
            let pooled_later = self
                .tickets
                .pool
                .tickets
                .keys()
                .filter(|id| !accumulator.iter().any(|t| t.id == **id))
                .count()
                .saturating_sub(waiting);
            if generation.outstanding() + pooled_later <= later || Instant::now() >= deadline {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if self.collect_tickets(left) == 0 {
                return;
            }
        }
    }

    /// `E_T` for the block at `slot` on the head: the pooled tickets
    /// [`TicketPool::select`] picks.
    pub(super) fn select_tickets(&mut self, slot: TimeSlot) -> Vec<(TicketId, TicketEnvelope)> {
        self.collect_tickets(Duration::ZERO);
        let params = *self.params();
        let state = self.chain.state();
        let same_epoch = epoch_of(slot, &params) == epoch_of(state.timeslot, &params);
        let accumulator: &[TicketBody] = if same_epoch {
            &state.safrole.ticket_accumulator
        } else {
            &[]
        };
        self.tickets.pool.select(slot, accumulator)
    }

    /// The ticket work of a step among peers (module docs): proofs
    /// started after a new head; the held validators' tickets made since
    /// the last call sent to their proxy (CE 131), from the slot after the
    /// epoch change, or queued if this node is their proxy; the queued
    /// tickets sent to the validators (CE 132) at JAMNP-S's pace (spread
    /// from a few slots into the epoch to mid-lottery); early tickets checked once the head is in their epoch; the
    /// pool stored if it changed.
    pub fn tickets_step(&mut self, network: &Network) -> Vec<TicketEvent> {
        let mut out = std::mem::take(&mut self.tickets.events);
        out.extend(self.tickets_on_head());
        self.collect_tickets(Duration::ZERO);
        self.take_early(&mut out);
        if let Some(epoch) = self.tickets.pool.epoch() {
            let params = *self.params();
            // The wall clock's slot (the node authors `next_slot` next).
            let now = self.next_slot.saturating_sub(1);
            let epoch_start = epoch.saturating_sub(1) * params.epoch_length;
            // JAMNP-S: CE 131 a slot after the epoch change, when every
            // validator has the epoch's first block (the state to check it).
            if now > epoch_start {
                let unsent = std::mem::take(&mut self.tickets.unsent);
                let next = &self.chain.state().safrole.pending_validators;
                let held = self.held_next_validators();
                for m in unsent {
                    let Some(proxy) = proxy_index(&m.id.0, next.len()) else {
                        continue;
                    };
                    if held.contains(&proxy) {
                        self.tickets.forward.push_back(m.id);
                    } else {
                        let message = EpochTicket {
                            epoch,
                            ticket: m.ticket,
                        };
                        let peer = PeerId(next[proxy].ed25519.0);
                        network.send_ticket(&[peer], TicketStep::ToProxy, &message);
                        out.push(TicketEvent::Sent { epoch, proxy });
                    }
                }
            }
            if let Some(m) = now.checked_sub(epoch_start) {
                let total = self.tickets.forwarded + self.tickets.forward.len();
                let due =
                    forward_schedule(m, params.epoch_length, params.ticket_submission_end, total);
                while self.tickets.forwarded < due {
                    let Some(id) = self.tickets.forward.pop_front() else {
                        break;
                    };
                    self.tickets.forwarded += 1;
                    if let Some(peers) = self.forward_ticket(network, epoch, id) {
                        out.push(TicketEvent::Forwarded { epoch, peers });
                    }
                }
            }
        }
        self.save_tickets();
        out.append(&mut self.tickets.events);
        out
    }

    /// Sends the pooled ticket `id` for `epoch` to every validator of `κ`
    /// connected that does not have it (CE 132); to how many.
    fn forward_ticket(&mut self, network: &Network, epoch: u32, id: TicketId) -> Option<usize> {
        let ticket = self.tickets.pool.get(&id)?.clone();
        let connected: BTreeSet<PeerId> = network.peers().into_iter().collect();
        let to: Vec<PeerId> = self
            .other_validators()
            .into_iter()
            .filter(|p| connected.contains(p))
            .filter(|p| self.tickets.sent.get(p).is_none_or(|s| !s.contains(&id)))
            .collect();
        network.send_ticket(&to, TicketStep::FromProxy, &EpochTicket { epoch, ticket });
        for p in &to {
            self.tickets.sent.entry(*p).or_default().insert(id);
        }
        self.tickets.public.insert(id);
        Some(to.len())
    }

    /// A validator of `κ` that connected during the submission period is
    /// sent the pooled tickets that went out by CE 132 and it was not sent
    /// (nor sent us).
    fn resend_to(&mut self, network: &Network, peer: PeerId) -> Option<TicketEvent> {
        let params = *self.params();
        let state = self.chain.state();
        let epoch = self.tickets.pool.epoch()?;
        let open = state.timeslot % params.epoch_length < params.ticket_submission_end;
        if !open || epoch != epoch_of(state.timeslot, &params) + 1 {
            return None;
        }
        if !self.other_validators().contains(&peer) {
            return None;
        }
        let had = self.tickets.sent.get(&peer);
        let ids: Vec<TicketId> = self
            .tickets
            .public
            .iter()
            .filter(|id| had.is_none_or(|s| !s.contains(*id)))
            .copied()
            .collect();
        let mut count = 0;
        for id in ids {
            let Some(ticket) = self.tickets.pool.get(&id).cloned() else {
                continue;
            };
            network.send_ticket(
                &[peer],
                TicketStep::FromProxy,
                &EpochTicket { epoch, ticket },
            );
            self.tickets.sent.entry(peer).or_default().insert(id);
            count += 1;
        }
        (count > 0).then_some(TicketEvent::Resent { peer, epoch, count })
    }

    /// The held tickets of the pool's epoch, checked now (those of an
    /// earlier epoch are dropped).
    fn take_early(&mut self, out: &mut Vec<TicketEvent>) {
        let Some(epoch) = self.tickets.pool.epoch() else {
            return;
        };
        if self.tickets.early.is_empty() {
            return;
        }
        let early = std::mem::take(&mut self.tickets.early);
        let (now, later): (Vec<_>, Vec<_>) = early
            .into_iter()
            .filter(|(_, _, t)| t.epoch >= epoch)
            .partition(|(_, _, t)| t.epoch == epoch);
        self.tickets.early = later;
        for (peer, step, ticket) in now {
            out.push(self.take_ticket(peer, step, &ticket));
        }
    }

    /// The positions in `γ_k` (the next epoch's set) of the validators
    /// this node holds keys for.
    fn held_next_validators(&self) -> Vec<usize> {
        let keys = self.chain.keys();
        self.chain
            .state()
            .safrole
            .pending_validators
            .iter()
            .enumerate()
            .filter(|(_, k)| keys.by_bandersnatch(&k.bandersnatch).is_some())
            .map(|(i, _)| i)
            .collect()
    }

    /// A network event for the tickets: a ticket a peer sent (CE 131/132)
    /// is checked ([`check_ticket`]), and for CE 131 that this node is its
    /// proxy, then pooled, and as the proxy queued for CE 132; one for a
    /// later epoch than the head's next is held until the head gets there.
    /// A validator that connects is sent the tickets it missed.
    pub fn handle_tickets(&mut self, network: &Network, event: &Event) -> Option<TicketEvent> {
        let outcome = match event {
            Event::Ticket { peer, step, ticket } => Some(self.take_ticket(*peer, *step, ticket)),
            Event::Connected { peer, .. } => self.resend_to(network, *peer),
            Event::Disconnected { peer, .. } => {
                self.tickets.sent.remove(peer);
                None
            }
            _ => None,
        };
        self.save_tickets();
        outcome
    }

    /// [`Node::handle_tickets`] for one ticket.
    fn take_ticket(&mut self, peer: PeerId, step: TicketStep, ticket: &EpochTicket) -> TicketEvent {
        let params = *self.params();
        let checked = check_ticket(
            self.chain.state(),
            ticket.epoch,
            &ticket.ticket,
            &params,
            self.chain.ring(),
        )
        .and_then(|id| {
            let next = self.chain.state().safrole.pending_validators.len();
            let proxy = proxy_index(&id.0, next);
            let is_proxy = proxy.is_some_and(|p| self.held_next_validators().contains(&p));
            if step == TicketStep::ToProxy && !is_proxy {
                return Err(TicketError::NotProxy);
            }
            Ok(id)
        })
        .and_then(|id| {
            self.tickets
                .pool
                .insert(ticket.epoch, id, ticket.ticket.clone())
                .map(|new| (id, new))
        });
        match checked {
            Ok((id, new)) => {
                // The sender has it.
                self.tickets.sent.entry(peer).or_default().insert(id);
                if step == TicketStep::FromProxy {
                    self.tickets.public.insert(id);
                }
                if new {
                    Stats::add(&self.stats.tickets_received, 1);
                    if step == TicketStep::ToProxy {
                        self.tickets.forward.push_back(id);
                    }
                }
                TicketEvent::Received {
                    peer,
                    step,
                    epoch: ticket.epoch,
                }
            }
            Err(TicketError::WrongEpoch { epoch, expected })
                if epoch > expected
                    && self.tickets.early.len()
                        < EARLY_LIMIT * self.params().epoch_length as usize =>
            {
                if !self.tickets.early.iter().any(|(_, _, t)| t == ticket) {
                    self.tickets.early.push((peer, step, ticket.clone()));
                }
                TicketEvent::Held { peer, epoch }
            }
            Err(e) => TicketEvent::Dropped {
                peer,
                reason: e.to_string(),
            },
        }
    }

    /// Stores the pool if it changed since it was last stored; a failure
    /// becomes a [`TicketEvent::Store`] (the node goes on).
    pub(super) fn save_tickets(&mut self) {
        if self.tickets.pool.changes == self.tickets.saved {
            return;
        }
        self.tickets.saved = self.tickets.pool.changes;
        let Some(stored) = self.tickets.pool.to_stored() else {
            return;
        };
        if let Err(e) = self.api.store().put_ticket_pool(&stored) {
            self.tickets.events.push(TicketEvent::Store {
                reason: format!("storing the Safrole ticket pool: {e}"),
            });
        }
    }

    /// At start: the stored pool taken if it is for the epoch after the
    /// head's (the tickets the node had before it stopped); one that does
    /// not decode is ignored (a [`TicketEvent::Store`]). Restored tickets
    /// count as sent by CE 132: validators that connect are sent them.
    pub(super) fn restore_tickets(&mut self) {
        let params = *self.params();
        let target = epoch_of(self.chain.state().timeslot, &params) + 1;
        let stored = match self.api.store().ticket_pool() {
            Ok(Some(stored)) => stored,
            Ok(None) => return,
            Err(e) => {
                self.tickets.events.push(TicketEvent::Store {
                    reason: format!("the stored Safrole ticket pool is ignored: {e}"),
                });
                return;
            }
        };
        if stored.epoch != target {
            return;
        }
        self.tickets.pool.retarget(target);
        for (id, ticket) in stored.tickets {
            if self.tickets.pool.insert(target, id, ticket) == Ok(true) {
                self.tickets.public.insert(id);
            }
        }
        self.tickets.saved = self.tickets.pool.changes;
        self.tickets.events.push(TicketEvent::Restored {
            epoch: target,
            count: self.tickets.pool.len(),
        });
    }

    /// What the ticket machinery did outside [`Node::tickets_step`] (a
    /// lone node's, the restore at start), for the binary to log.
    pub fn take_ticket_events(&mut self) -> Vec<TicketEvent> {
        std::mem::take(&mut self.tickets.events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(attempt: u8, fill: u8) -> TicketEnvelope {
        TicketEnvelope {
            attempt,
            signature: ByteArray([fill; 784]),
        }
    }

    fn id(n: u8) -> TicketId {
        ByteArray([n; 32])
    }

    fn body(n: u8) -> TicketBody {
        TicketBody {
            id: id(n),
            attempt: 0,
        }
    }

    const P: ProtocolParameters = ProtocolParameters::TINY;

    #[test]
    fn the_pool_orders_by_id_without_repeats_and_keeps_the_lowest_e() {
        let mut pool = TicketPool::new(&P);
        pool.retarget(1);
        for n in [9u8, 3, 7, 3] {
            pool.insert(1, id(n), envelope(0, n)).expect("same epoch");
        }
        assert_eq!(pool.len(), 3, "the repeat is not kept twice");
        assert_eq!(pool.insert(1, id(3), envelope(1, 3)), Ok(false));
        // Slot 1 is in epoch 0: tickets for epoch 1, lowest id first, K = 3.
        let picked: Vec<TicketId> = pool.select(1, &[]).into_iter().map(|(i, _)| i).collect();
        assert_eq!(picked, vec![id(3), id(7), id(9)]);
        // More than E = 12: the highest ids go, and a higher one is left out.
        for n in 20..40u8 {
            pool.insert(1, id(n), envelope(0, n)).expect("same epoch");
        }
        assert_eq!(pool.len(), P.epoch_length as usize);
        assert_eq!(pool.insert(1, id(200), envelope(0, 200)), Ok(false));
        assert!(!pool.tickets.contains_key(&id(200)));
        assert!(pool.tickets.contains_key(&id(3)));
    }

    #[test]
    fn the_pool_picks_at_most_k_of_those_that_would_enter_the_accumulator() {
        let mut pool = TicketPool::new(&P);
        pool.retarget(1);
        for n in 1..=6u8 {
            pool.insert(1, id(n * 10), envelope(0, n))
                .expect("same epoch");
        }
        // K = 3, lowest first.
        let picked: Vec<TicketId> = pool.select(2, &[]).into_iter().map(|(i, _)| i).collect();
        assert_eq!(picked, vec![id(10), id(20), id(30)]);
        // Those already in γ_a are not picked again.
        let picked: Vec<TicketId> = pool
            .select(2, &[body(10), body(30)])
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        assert_eq!(picked, vec![id(20), id(40), id(50)]);
        // A full accumulator of lower ids: nothing would enter.
        let full: Vec<TicketBody> = (1..=12u8).map(body).collect();
        assert!(pool.select(2, &full).is_empty());
        // Eleven low ones: only the lowest candidate enters.
        let picked: Vec<TicketId> = pool
            .select(2, &full[..11])
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        assert_eq!(picked, vec![id(20)]);
    }

    #[test]
    fn tickets_of_another_epoch_or_slot_are_not_taken() {
        let mut pool = TicketPool::new(&P);
        pool.retarget(2);
        assert_eq!(
            pool.insert(1, id(1), envelope(0, 1)),
            Err(TicketError::WrongEpoch {
                epoch: 1,
                expected: 2
            })
        );
        pool.insert(2, id(1), envelope(0, 1)).expect("same epoch");
        // Blocks of epoch 1 (slots 12 – 23) submit tickets for epoch 2,
        // until Y = 10.
        assert_eq!(pool.select(12, &[]).len(), 1);
        assert_eq!(pool.select(12 + 9, &[]).len(), 1);
        assert!(pool.select(12 + 10, &[]).is_empty(), "past Y");
        assert!(
            pool.select(5, &[]).is_empty(),
            "epoch 0 submits for epoch 1"
        );
        assert!(
            pool.select(24, &[]).is_empty(),
            "epoch 2 submits for epoch 3"
        );
        // Moving on to epoch 3 empties it.
        pool.retarget(3);
        assert!(pool.is_empty());
        assert_eq!(pool.epoch(), Some(3));
    }

    #[test]
    fn proxies_forward_from_the_jamnp_delay_evenly_until_mid_lottery() {
        // The full chain: connectivity at ⌊600/30⌋ = 20, forwarding from
        // 20 + ⌊600/20⌋ = 50 to ⌊500/2⌋ = 250.
        let full = ProtocolParameters::FULL;
        let (e, y) = (full.epoch_length, full.ticket_submission_end);
        assert_eq!((e, y), (600, 500));
        assert_eq!(forward_schedule(0, e, y, 100), 0);
        assert_eq!(forward_schedule(49, e, y, 100), 0);
        assert_eq!(forward_schedule(50, e, y, 100), 1);
        assert_eq!(forward_schedule(149, e, y, 100), 50);
        assert_eq!(forward_schedule(249, e, y, 100), 100);
        assert_eq!(forward_schedule(250, e, y, 100), 100);
        assert_eq!(forward_schedule(499, e, y, 100), 100);
        // Evenly: never more than one ahead of the straight line, never
        // back, every slot of 201 sends at most one of 201.
        let mut last = 0;
        for m in 0..e {
            let due = forward_schedule(m, e, y, 201);
            assert!(due >= last, "slot {m}");
            assert!(due - last <= 1, "slot {m}: {due} after {last}");
            last = due;
        }
        assert_eq!(last, 201);
        // None to send: none due.
        assert_eq!(forward_schedule(300, e, y, 0), 0);

        // The tiny chain (E = 12, Y = 10): slots 2 – 5, everything before
        // the last four blocks of the period (4 K = 12 tickets fit there).
        let (e, y) = (P.epoch_length, P.ticket_submission_end);
        let due: Vec<usize> = (0..e).map(|m| forward_schedule(m, e, y, 12)).collect();
        assert_eq!(due, [0, 0, 3, 6, 9, 12, 12, 12, 12, 12, 12, 12]);
        let late = forward_schedule(y - 1, e, y, 12);
        assert_eq!(late, 12, "all sent while blocks can carry them");

        // An epoch too short for the delays: all at the start, which is
        // at most the period's last slot.
        assert_eq!(forward_schedule(0, 4, 3, 5), 0);
        assert_eq!(forward_schedule(2, 4, 3, 5), 5);
        assert_eq!(forward_schedule(0, 1, 1, 5), 5);
        assert_eq!(forward_schedule(0, 5, 0, 5), 5);
    }

    #[test]
    fn the_pool_counts_its_changes_and_round_trips_its_stored_form() {
        let mut pool = TicketPool::new(&P);
        assert_eq!(pool.to_stored(), None);
        let c0 = pool.changes;
        pool.retarget(2);
        assert!(pool.changes > c0);
        let c1 = pool.changes;
        assert!(!pool.retarget(2));
        assert_eq!(pool.insert(2, id(4), envelope(0, 4)), Ok(true));
        assert_eq!(pool.insert(2, id(4), envelope(0, 4)), Ok(false));
        assert_eq!(pool.changes, c1 + 1, "a repeat changes nothing");
        pool.insert(2, id(1), envelope(1, 1)).expect("same epoch");
        pool.remove(&[id(9)]);
        assert_eq!(pool.changes, c1 + 2, "removing what is not there neither");
        let stored = pool.to_stored().expect("an epoch");
        assert_eq!(stored.epoch, 2);
        assert_eq!(
            stored.tickets,
            vec![(id(1), envelope(1, 1)), (id(4), envelope(0, 4))]
        );
    }

    #[test]
    fn a_made_ticket_passes_the_stfs_check_and_a_changed_one_does_not() {
        use parajam_authoring::Genesis;
        let keys = DevKeys::new(P.validators_count);
        let ring = Arc::new(RingContext::zcash(usize::from(P.validators_count)).expect("a ring"));
        let state = Genesis::new(&P, keys.validators())
            .build(&P, &ring)
            .expect("a genesis");
        // Every dev validator is held: E of the V × N tickets, lowest first.
        let jobs = plan(
            &state.safrole.pending_validators,
            state.entropy[2].0,
            &keys,
            &P,
        );
        assert_eq!(jobs.len(), P.epoch_length as usize);
        assert!(jobs.windows(2).all(|w| w[0].0 < w[1].0));
        let ring_keys: Vec<[u8; 32]> = state
            .safrole
            .pending_validators
            .iter()
            .map(|k| k.bandersnatch.0)
            .collect();
        let first = jobs[0].0;
        let results = spawn_proofs(
            jobs.into_iter().take(1).collect(),
            ring_keys,
            state.entropy[2].0,
            &ring,
        );
        let made = results
            .recv_timeout(Duration::from_secs(300))
            .expect("a result")
            .expect("a proof");
        assert_eq!(made.id, first);
        // Genesis is in epoch 0: its tickets are for epoch 1.
        assert_eq!(check_ticket(&state, 1, &made.ticket, &P, &ring), Ok(first));
        assert_eq!(
            check_ticket(&state, 2, &made.ticket, &P, &ring),
            Err(TicketError::WrongEpoch {
                epoch: 2,
                expected: 1
            })
        );
        // Another entry index: the proof is not for that context.
        let mut other = made.ticket.clone();
        other.attempt = (other.attempt + 1) % P.tickets_per_validator;
        assert!(matches!(
            check_ticket(&state, 1, &other, &P, &ring),
            Err(TicketError::Invalid(safrole::Error::BadTicketProof { .. }))
        ));
        other.attempt = P.tickets_per_validator;
        assert!(matches!(
            check_ticket(&state, 1, &other, &P, &ring),
            Err(TicketError::Invalid(
                safrole::Error::BadTicketAttempt { .. }
            ))
        ));
        // In the epoch's tail the contest is closed.
        let mut late = state.clone();
        late.timeslot = P.ticket_submission_end;
        assert_eq!(
            check_ticket(&late, 1, &made.ticket, &P, &ring),
            Err(TicketError::Closed(0))
        );
    }
}
