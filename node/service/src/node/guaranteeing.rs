//! Guaranteeing among peers (JAMNP-S CE 133, 134, 135 and 141).
//!
//! * A work package a client submits to a node that is not among the
//!   guarantors of its core — the validators `M` assigns to it at the
//!   current slot (GP eq. 11.18 – 11.21) — is sent to one of them (CE 133).
//! * A guarantor that gets a package (from a client or by CE 133) is its
//!   primary: it runs `Ξ`, stores the DA data, and shares the bundle with
//!   the core's other guarantors (CE 134); each runs `Ξ` on the bundle and
//!   answers with the report's hash and its signature. With two or three
//!   signatures from the assigned validators (GP eq. 11.25 – 11.27) the
//!   primary has a guarantee and sends it to every validator (CE 135).
//! * Every node keeps the guarantees it hears of and includes them, one
//!   per free core, in the blocks it authors.
//! * A guarantor stores the bundle and every validator's shards (bundle
//!   shard, segment shards, justification). A validator that sees a
//!   guaranteed report (CE 135, or a peer's block's guarantees extrinsic,
//!   or pending availability on its head) and does not hold its own shard
//!   — validator `v` holds shard `(c·R + v) mod V` of a report of core
//!   `c` (JAMNP-S "Shard assignment") — asks the report's guarantors for
//!   it (CE 137), then any other validator, round after round; the
//!   network checks the answer against the report's erasure root, and the
//!   node stores it (served again by CE 137 and, as the bundle shard, by
//!   CE 138).
//! * After each new head, a validator assures the reports pending
//!   availability whose shard it holds (GP eq. 11.10 – 11.17) and sends the
//!   assurance to every validator (CE 141), again on the same head when it
//!   comes to hold another; an author includes the assurances anchored on
//!   its parent.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use parajam_guarantor::Guaranteed;
use parajam_network::{
    shard_index, Assurance, Event, Network, PeerId, Responder, ShardRequest, Shards, ShareResponse,
    WorkPackageSharing, WorkPackageSubmission,
};
use parajam_primitives::codec::FixedBytes;
use parajam_primitives::types::{
    AvailAssurance, CoreIndex, Ed25519Public, HeaderHash, OpaqueHash, ReportGuarantee, TimeSlot,
    ValidatorIndex, ValidatorSignature,
};
use parajam_primitives::ByteArray;
use parajam_state::State;
use parajam_stf::reports::assignment;
use parajam_storage::ChainStore;

use super::Node;
use crate::pipeline::Job;
use crate::stats::Stats;

/// How long a primary waits for the third guarantor once it has two
/// signatures (JAMNP-S CE 135: "e.g. two seconds").
pub const THIRD_SIGNATURE_WAIT: Duration = Duration::from_secs(2);
/// How long a sharing round may last before it is given up.
pub const ROUND_TIMEOUT: Duration = Duration::from_secs(20);
/// Most guarantees kept for blocks.
const MAX_POOLED_GUARANTEES: usize = 64;
/// Most assurances kept for blocks.
const MAX_POOLED_ASSURANCES: usize = 256;
/// The pause after every candidate was asked for a shard once.
const SHARD_RETRY: Duration = Duration::from_secs(1);
/// How long a shard is looked for once its report is not pending
/// availability on the head (a guarantee not in a block yet).
const SHARD_FETCH_TIMEOUT: Duration = Duration::from_secs(60);
/// Most shard fetches at once.
const MAX_FETCHES: usize = 256;

/// What guaranteeing among peers did, for the binary to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuaranteeEvent {
    /// A package sent on to a guarantor of its core (CE 133).
    Forwarded {
        /// The package hash.
        package: OpaqueHash,
        /// Its core.
        core: CoreIndex,
        /// The guarantor.
        to: ValidatorIndex,
    },
    /// A package refined by this node as its primary guarantor, shared
    /// with the core's other guarantors (CE 134).
    Sharing {
        /// The package hash.
        package: OpaqueHash,
        /// Its core.
        core: CoreIndex,
        /// The others asked.
        with: Vec<ValidatorIndex>,
    },
    /// Another guarantor's package refined and signed (CE 134 answered).
    Signed {
        /// The package hash.
        package: OpaqueHash,
        /// Its core.
        core: CoreIndex,
        /// The primary.
        peer: PeerId,
    },
    /// A guarantee made (as the primary) and sent to the validators (CE 135).
    Guaranteed {
        /// The package hash.
        package: OpaqueHash,
        /// Its core.
        core: CoreIndex,
        /// Its slot `t`.
        slot: TimeSlot,
        /// The signers.
        signers: Vec<ValidatorIndex>,
    },
    /// A guarantee received (CE 135) and kept for a block.
    Received {
        /// The package hash.
        package: OpaqueHash,
        /// Its core.
        core: CoreIndex,
        /// The signers.
        signers: Vec<ValidatorIndex>,
    },
    /// This node's assurance, anchored on the head, sent (CE 141).
    Assured {
        /// The anchor.
        anchor: HeaderHash,
        /// The cores assured.
        cores: Vec<CoreIndex>,
    },
    /// This node's shard of a report fetched (CE 137), checked against
    /// the erasure root and stored: the validator may assure the report.
    ShardFetched {
        /// The package hash.
        package: OpaqueHash,
        /// Its core.
        core: CoreIndex,
        /// The shard index.
        index: u16,
        /// The validator (of this node) the shard is assigned to.
        validator: ValidatorIndex,
        /// Who answered.
        from: PeerId,
    },
    /// A CE 137 request for this node's shard failed (another peer is
    /// asked next).
    ShardMissed {
        /// The package hash.
        package: OpaqueHash,
        /// The shard index.
        index: u16,
        /// Who was asked.
        peer: PeerId,
        /// Why.
        reason: String,
    },
    /// Something was not done.
    Dropped {
        /// What.
        what: String,
        /// Why.
        reason: String,
    },
}

/// A package shared with the other guarantors, waiting for signatures.
#[derive(Debug)]
struct Round {
    guaranteed: Guaranteed,
    report_hash: OpaqueHash,
    slot: TimeSlot,
    guarantors: Vec<ValidatorIndex>,
    signatures: Vec<ValidatorSignature>,
    waiting: usize,
    started: Instant,
    two_at: Option<Instant>,
}

/// The cores each validator of this node assured on a head.
type Assured = Vec<(ValidatorIndex, Vec<CoreIndex>)>;

/// A shard this node's validator should hold, looked for by CE 137.
#[derive(Debug)]
struct Fetch {
    package: OpaqueHash,
    core: CoreIndex,
    validator: ValidatorIndex,
    /// The report's guarantors first, then every other validator.
    candidates: Vec<PeerId>,
    /// Requests made so far.
    tried: usize,
    /// The request out, and since when.
    asking: Option<(PeerId, Instant)>,
    not_before: Instant,
    started: Instant,
}

/// The node's guaranteeing state among peers.
#[derive(Debug, Default)]
pub(super) struct Guaranteeing {
    /// Packages from clients, to route.
    routing: VecDeque<Job>,
    /// Sharing rounds by package.
    rounds: HashMap<OpaqueHash, Round>,
    /// Guarantees for blocks, oldest first.
    pub(super) guarantees: Vec<ReportGuarantee>,
    /// Assurances for blocks.
    assurances: VecDeque<AvailAssurance>,
    /// Shards this node holds (stored), as far as it looked.
    shards: HashSet<ShardRequest>,
    /// Shards of its validators it is fetching (CE 137).
    fetches: HashMap<ShardRequest, Fetch>,
    /// Packages this node guaranteed as primary.
    pub(super) mine: HashSet<OpaqueHash>,
    /// The last head assured, and the cores each held validator assured
    /// on it.
    assured: Option<(HeaderHash, Assured)>,
}

impl Guaranteeing {
    /// Takes a client's package for routing.
    pub(super) fn route(&mut self, job: Job) {
        self.routing.push_back(job);
    }

    /// The clients' packages not routed yet, taken out (the node stops).
    pub(super) fn take_unrouted(&mut self) -> Vec<Job> {
        self.routing.drain(..).collect()
    }

    /// Forgets the guarantees whose packages `guarantees` (a block's) carry.
    pub(super) fn included(&mut self, guarantees: &[ReportGuarantee]) {
        let packages: HashSet<OpaqueHash> = guarantees
            .iter()
            .map(|g| g.report.package_spec.hash)
            .collect();
        self.guarantees
            .retain(|g| !packages.contains(&g.report.package_spec.hash));
    }
}

/// `H(E(r))`.
fn report_hash(report: &parajam_primitives::types::WorkReport) -> OpaqueHash {
    ByteArray(parajam_crypto::blake2b_256(
        &parajam_primitives::codec::Encode::encode(report),
    ))
}

/// The validators assigned to `core` at slot `slot` on `state` (the head's):
/// `M` of eq. 11.21 under `η'_2` and `κ'` as a block at `slot` would have
/// them (the head's `η_2` and `κ` in the head's epoch, `η_1` and `γ_P`
/// in the next), offenders left out.
pub fn guarantors_at(
    state: &State,
    slot: TimeSlot,
    core: CoreIndex,
    params: &parajam_primitives::ProtocolParameters,
) -> Vec<ValidatorIndex> {
    let new_epoch = slot / params.epoch_length > state.timeslot / params.epoch_length;
    let e = &state.entropy;
    let (entropy, validators) = if new_epoch {
        ([e[0], e[0], e[1], e[2]], &state.safrole.pending_validators)
    } else {
        (*e, &state.active_validators)
    };
    let offenders: BTreeSet<Ed25519Public> = state.disputes.offenders.iter().copied().collect();
    let m = assignment::current(&entropy, slot, validators, &offenders, params);
    (0..m.cores.len())
        .filter(|&i| m.cores[i] == core && !m.banned.get(i).copied().unwrap_or(true))
        .filter_map(|i| ValidatorIndex::try_from(i).ok())
        .collect()
}

impl<S: ChainStore + 'static> Node<S> {
    /// Whether the node is among peers (guaranteeing by JAMNP-S).
    pub(super) fn networked(&self) -> bool {
        self.finality_depth.is_some()
    }

    /// The peer id of validator `index` of `κ`.
    fn peer_of(&self, index: ValidatorIndex) -> Option<PeerId> {
        self.chain
            .state()
            .active_validators
            .get(usize::from(index))
            .map(|v| PeerId(v.ed25519.0))
    }

    /// The index in `κ` of `peer`'s key.
    fn index_of(&self, peer: PeerId) -> Option<ValidatorIndex> {
        self.chain
            .state()
            .active_validators
            .iter()
            .position(|v| v.ed25519.0 == peer.0)
            .and_then(|i| ValidatorIndex::try_from(i).ok())
    }

    /// Every validator of `κ` but this node's.
    pub(super) fn other_validators(&self) -> Vec<PeerId> {
        let held = self.held_validators();
        (0..self.params().validators_count)
            .filter(|i| !held.contains(i))
            .filter_map(|i| self.peer_of(i))
            .collect()
    }

    /// The slot guarantees are made at now: the wall clock's.
    fn guarantee_slot(&self) -> TimeSlot {
        self.next_slot.max(self.chain.slot())
    }

    /// Routes the packages clients submitted, and closes the sharing
    /// rounds that are done or timed out.
    pub fn guaranteeing_step(&mut self, network: &Network) -> Vec<GuaranteeEvent> {
        let mut out = Vec::new();
        while let Some(job) = self.guaranteeing.routing.pop_front() {
            self.take_package(network, &job, true, &mut out);
        }
        let now = Instant::now();
        let done: Vec<OpaqueHash> = self
            .guaranteeing
            .rounds
            .iter()
            .filter(|(_, r)| {
                r.waiting == 0
                    || r.two_at.is_some_and(|t| now - t >= THIRD_SIGNATURE_WAIT)
                    || now - r.started >= ROUND_TIMEOUT
            })
            .map(|(p, _)| *p)
            .collect();
        for package in done {
            self.close_round(network, package, &mut out);
        }
        self.fetch_shards(network);
        out.extend(self.assure_head(network));
        out
    }

    /// A package from a client (`from_client`) or a peer (CE 133): refined
    /// and shared if this node guarantees its core, else sent on to a
    /// guarantor (clients' packages only).
    fn take_package(
        &mut self,
        network: &Network,
        job: &Job,
        from_client: bool,
        out: &mut Vec<GuaranteeEvent>,
    ) {
        let package = job.hash;
        let params = *self.params();
        let slot = self.guarantee_slot();
        let guarantors = guarantors_at(self.chain.state(), slot, job.core, &params);
        let held = self.held_validators();
        let me = guarantors.iter().copied().find(|g| held.contains(g));
        let Some(me) = me else {
            return self.forward(network, job, from_client, &guarantors, out);
        };
        let guaranteed = match self.guarantee(job) {
            Ok((guaranteed, gas)) => {
                Stats::add(&self.stats.packages_refined, 1);
                Stats::add(&self.stats.refine_gas, gas);
                guaranteed
            }
            Err((label, reason)) => {
                self.stats.reject(label);
                if from_client {
                    Stats::sub(&self.stats.in_flight, 1);
                }
                out.push(GuaranteeEvent::Dropped {
                    what: format!("work package {package}"),
                    reason: reason.clone(),
                });
                let _ = job.reply.send(Err(reason));
                return;
            }
        };
        let _ = job.reply.send(Ok(()));
        self.store_da(package, &guaranteed);
        let report_hash = report_hash(&guaranteed.report);
        let Some(signature) = self.sign_report(me, &report_hash) else {
            return;
        };
        let others: Vec<ValidatorIndex> = guarantors.iter().copied().filter(|&g| g != me).collect();
        let sharing = WorkPackageSharing {
            core: job.core,
            mappings: guaranteed
                .report
                .segment_root_lookup
                .iter()
                .map(|l| (l.work_package_hash, l.segment_tree_root))
                .collect(),
            bundle: guaranteed.bundle.clone(),
        };
        for &g in &others {
            if let Some(peer) = self.peer_of(g) {
                network.share_work_package(peer, package, &sharing);
            }
        }
        out.push(GuaranteeEvent::Sharing {
            package,
            core: job.core,
            with: others.clone(),
        });
        self.guaranteeing.rounds.insert(
            package,
            Round {
                guaranteed,
                report_hash,
                slot,
                guarantors,
                signatures: vec![ValidatorSignature {
                    validator_index: me,
                    signature,
                }],
                waiting: others.len(),
                started: Instant::now(),
                two_at: None,
            },
        );
    }

    /// A package for a core this node does not guarantee: a client's is
    /// sent to a connected guarantor of the core (CE 133), a peer's dropped.
    fn forward(
        &mut self,
        network: &Network,
        job: &Job,
        from_client: bool,
        guarantors: &[ValidatorIndex],
        out: &mut Vec<GuaranteeEvent>,
    ) {
        let package = job.hash;
        let verdict = if from_client {
            let connected = network.peers();
            let to = guarantors
                .iter()
                .copied()
                .find(|&g| self.peer_of(g).is_some_and(|p| connected.contains(&p)));
            match to.and_then(|g| Some((g, self.peer_of(g)?))) {
                Some((to, peer)) => {
                    network.submit_work_package(
                        peer,
                        &WorkPackageSubmission {
                            core: job.core,
                            package: job.package.clone(),
                            extrinsics: job.extrinsics.clone(),
                        },
                    );
                    out.push(GuaranteeEvent::Forwarded {
                        package,
                        core: job.core,
                        to,
                    });
                    Ok(())
                }
                None => Err(format!(
                    "none of core {}'s guarantors {guarantors:?} is connected",
                    job.core
                )),
            }
        } else {
            Err(format!(
                "sent by a peer, but this node is not among core {}'s guarantors {guarantors:?}",
                job.core
            ))
        };
        if let Err(reason) = &verdict {
            out.push(GuaranteeEvent::Dropped {
                what: format!("work package {package}"),
                reason: reason.clone(),
            });
        }
        // Forwarded: the node's part is done.
        Stats::sub(&self.stats.in_flight, u64::from(from_client));
        let _ = job.reply.send(verdict);
    }

    /// Validator `index`'s signature over `X_G ⌢ H(E(r))` (GP eq. 11.26).
    fn sign_report(
        &self,
        index: ValidatorIndex,
        report_hash: &OpaqueHash,
    ) -> Option<parajam_primitives::types::Ed25519Signature> {
        let keys = self
            .chain
            .keys()
            .of(&self.chain.state().active_validators, index)?;
        let message = [parajam_stf::reports::CONTEXT_GUARANTEE, &report_hash.0[..]].concat();
        Some(keys.ed25519_sign(&message))
    }

    /// Ends the round of `package`: with two or more signatures, the
    /// guarantee is kept and sent to every validator.
    fn close_round(
        &mut self,
        network: &Network,
        package: OpaqueHash,
        out: &mut Vec<GuaranteeEvent>,
    ) {
        let Some(round) = self.guaranteeing.rounds.remove(&package) else {
            return;
        };
        let core = round.guaranteed.report.core_index;
        if round.signatures.len() < 2 {
            self.stats.reject("guarantee");
            out.push(GuaranteeEvent::Dropped {
                what: format!("work package {package}"),
                reason: format!(
                    "{} of core {core}'s guarantors {:?} signed; two are needed",
                    round.signatures.len(),
                    round.guarantors
                ),
            });
            return;
        }
        let mut signatures = round.signatures;
        signatures.sort_by_key(|s| s.validator_index);
        signatures.truncate(3);
        let signers: Vec<ValidatorIndex> = signatures.iter().map(|s| s.validator_index).collect();
        let guarantee = ReportGuarantee {
            report: round.guaranteed.report,
            slot: round.slot,
            signatures,
        };
        network.distribute_guarantee(&self.other_validators(), &guarantee);
        self.guaranteeing.mine.insert(package);
        self.pool_guarantee(guarantee);
        Stats::add(&self.stats.packages_guaranteed, 1);
        out.push(GuaranteeEvent::Guaranteed {
            package,
            core,
            slot: round.slot,
            signers,
        });
    }

    fn pool_guarantee(&mut self, guarantee: ReportGuarantee) {
        let pool = &mut self.guaranteeing.guarantees;
        let package = guarantee.report.package_spec.hash;
        if pool.iter().any(|g| g.report.package_spec.hash == package) {
            return;
        }
        pool.push(guarantee);
        if pool.len() > MAX_POOLED_GUARANTEES {
            pool.remove(0);
        }
    }

    /// Takes a network event of the guaranteeing protocols (others are
    /// left to [`crate::Sync`]).
    pub fn handle_guaranteeing(&mut self, network: &Network, event: &Event) -> Vec<GuaranteeEvent> {
        let mut out = Vec::new();
        match event {
            Event::WorkPackage { submission, .. } => {
                self.package_from_peer(network, submission, &mut out);
            }
            Event::ShareRequest {
                peer,
                sharing,
                reply,
            } => self.share(*peer, sharing, reply, &mut out),
            Event::Shared { peer, tag, result } => {
                self.signature_back(*peer, *tag, result, &mut out);
            }
            Event::Guarantee { guarantee, .. } => {
                let package = guarantee.report.package_spec.hash;
                match self.check_guarantee(guarantee) {
                    Ok(()) => {
                        out.push(GuaranteeEvent::Received {
                            package,
                            core: guarantee.report.core_index,
                            signers: guarantee
                                .signatures
                                .iter()
                                .map(|s| s.validator_index)
                                .collect(),
                        });
                        self.pool_guarantee((**guarantee).clone());
                        self.want_shards(guarantee);
                    }
                    Err(reason) => out.push(GuaranteeEvent::Dropped {
                        what: format!("the guarantee of work package {package}"),
                        reason,
                    }),
                }
            }
            Event::Shards {
                peer,
                request,
                result,
            } => self.shards_back(*peer, request, result, &mut out),
            Event::Assurance { peer, assurance } => {
                if let Err(reason) = self.pool_assurance(*peer, assurance) {
                    out.push(GuaranteeEvent::Dropped {
                        what: format!("the assurance of {peer}"),
                        reason,
                    });
                }
            }
            _ => {}
        }
        out
    }

    /// CE 133: a package a peer sent, checked against the limits and taken.
    fn package_from_peer(
        &mut self,
        network: &Network,
        submission: &WorkPackageSubmission,
        out: &mut Vec<GuaranteeEvent>,
    ) {
        let octets = parajam_primitives::codec::with_params(self.params(), || {
            parajam_primitives::codec::Encode::encode(&submission.package)
        });
        let (reply, _) = std::sync::mpsc::sync_channel(1);
        let job = Job {
            core: submission.core,
            package: submission.package.clone(),
            hash: ByteArray(parajam_crypto::blake2b_256(&octets)),
            extrinsics: submission.extrinsics.clone(),
            reply,
        };
        if let Err(e) =
            parajam_guarantor::package::check(self.params(), &job.package, &job.extrinsics)
        {
            out.push(GuaranteeEvent::Dropped {
                what: format!("work package {}", job.hash),
                reason: e.to_string(),
            });
        } else {
            self.take_package(network, &job, false, out);
        }
    }

    /// CE 134's answer: a signature for the round of `tag`, kept if it is
    /// an assigned guarantor's over the primary's report.
    fn signature_back(
        &mut self,
        peer: PeerId,
        tag: OpaqueHash,
        result: &Result<ShareResponse, parajam_network::RequestError>,
        out: &mut Vec<GuaranteeEvent>,
    ) {
        let index = self.index_of(peer);
        let Some(round) = self.guaranteeing.rounds.get_mut(&tag) else {
            return;
        };
        round.waiting = round.waiting.saturating_sub(1);
        match result {
            Ok(response) => {
                let valid = index.filter(|i| round.guarantors.contains(i)).filter(|_| {
                    response.report_hash == round.report_hash
                        && parajam_crypto::ed25519_verify(
                            &peer.0,
                            &[
                                parajam_stf::reports::CONTEXT_GUARANTEE,
                                &round.report_hash.0,
                            ],
                            &response.signature.0,
                        )
                });
                match valid {
                    Some(i) if !round.signatures.iter().any(|s| s.validator_index == i) => {
                        round.signatures.push(ValidatorSignature {
                            validator_index: i,
                            signature: response.signature,
                        });
                        if round.signatures.len() >= 2 && round.two_at.is_none() {
                            round.two_at = Some(Instant::now());
                        }
                    }
                    _ => out.push(GuaranteeEvent::Dropped {
                        what: format!("the signature of {peer} for work package {tag}"),
                        reason: "another report, a bad signature or no guarantor".into(),
                    }),
                }
            }
            Err(e) => out.push(GuaranteeEvent::Dropped {
                what: format!("the signature of {peer} for work package {tag}"),
                reason: e.to_string(),
            }),
        }
    }

    /// CE 134, the other guarantor's side: `Ξ` on the bundle, the report's
    /// hash signed if this node is assigned to the core.
    fn share(
        &mut self,
        peer: PeerId,
        sharing: &WorkPackageSharing,
        reply: &Responder,
        out: &mut Vec<GuaranteeEvent>,
    ) {
        let params = *self.params();
        let slot = self.guarantee_slot();
        let guarantors = guarantors_at(self.chain.state(), slot, sharing.core, &params);
        let held = self.held_validators();
        let refused = |reason: String, out: &mut Vec<GuaranteeEvent>| {
            reply.refuse();
            out.push(GuaranteeEvent::Dropped {
                what: format!("the bundle {peer} shared"),
                reason,
            });
        };
        let Some(me) = guarantors.iter().copied().find(|g| held.contains(g)) else {
            return refused(
                format!(
                    "not among core {}'s guarantors {guarantors:?}",
                    sharing.core
                ),
                out,
            );
        };
        let (package, extrinsics) = match parajam_network::split_bundle(&sharing.bundle, &params) {
            Ok(parts) => parts,
            Err(e) => return refused(e.to_string(), out),
        };
        let octets = parajam_primitives::codec::with_params(&params, || {
            parajam_primitives::codec::Encode::encode(&package)
        });
        let hash = ByteArray(parajam_crypto::blake2b_256(&octets));
        let (tx, _) = std::sync::mpsc::sync_channel(1);
        let job = Job {
            core: sharing.core,
            package,
            hash,
            extrinsics,
            reply: tx,
        };
        let guaranteed = match self.guarantee(&job) {
            Ok((guaranteed, _)) => guaranteed,
            Err((_, reason)) => return refused(reason, out),
        };
        if guaranteed.bundle != sharing.bundle {
            return refused("the bundle made from it differs".into(), out);
        }
        self.store_da(hash, &guaranteed);
        let report_hash = report_hash(&guaranteed.report);
        let Some(signature) = self.sign_report(me, &report_hash) else {
            return refused("no key".into(), out);
        };
        reply.respond(ShareResponse {
            report_hash,
            signature,
        });
        out.push(GuaranteeEvent::Signed {
            package: hash,
            core: sharing.core,
            peer,
        });
    }

    /// A received guarantee's credentials: two or three, from validators
    /// assigned to its core at its slot, signatures valid.
    fn check_guarantee(&self, guarantee: &ReportGuarantee) -> Result<(), String> {
        let params = self.params();
        let core = guarantee.report.core_index;
        if core >= params.core_count {
            return Err(format!("no core {core}"));
        }
        let state = self.chain.state();
        let guarantors = guarantors_at(state, guarantee.slot, core, params);
        let hash = report_hash(&guarantee.report);
        for s in &guarantee.signatures {
            if !guarantors.contains(&s.validator_index) {
                return Err(format!(
                    "validator {} is not among core {core}'s guarantors {guarantors:?}",
                    s.validator_index
                ));
            }
            let key = state
                .active_validators
                .get(usize::from(s.validator_index))
                .ok_or("no such validator")?;
            if !parajam_crypto::ed25519_verify(
                &key.ed25519.0,
                &[parajam_stf::reports::CONTEXT_GUARANTEE, &hash.0],
                &s.signature.0,
            ) {
                return Err(format!(
                    "validator {}'s signature is bad",
                    s.validator_index
                ));
            }
        }
        Ok(())
    }

    /// Keeps `peer`'s assurance for blocks, its signature checked.
    fn pool_assurance(&mut self, peer: PeerId, assurance: &Assurance) -> Result<(), String> {
        let index = self
            .index_of(peer)
            .ok_or_else(|| "not a validator".to_string())?;
        let a = AvailAssurance {
            anchor: assurance.anchor,
            bitfield: FixedBytes::new(assurance.bitfield.clone()),
            validator_index: index,
            signature: assurance.signature,
        };
        let message = parajam_stf::assurances::signed_message(&a.anchor, &a);
        if !parajam_crypto::ed25519_verify(&peer.0, &[&message], &a.signature.0) {
            return Err("bad signature".into());
        }
        let pool = &mut self.guaranteeing.assurances;
        pool.retain(|p| !(p.anchor == a.anchor && p.validator_index == index));
        pool.push_back(a);
        while pool.len() > MAX_POOLED_ASSURANCES {
            pool.pop_front();
        }
        Ok(())
    }

    /// Whether this node holds shard `request` (stored); remembered once seen.
    fn holds_shard(&mut self, request: &ShardRequest) -> bool {
        if self.guaranteeing.shards.contains(request) {
            return true;
        }
        let stored = self
            .api
            .store()
            .shard(&request.erasure_root, request.index)
            .ok()
            .flatten()
            .is_some();
        if stored {
            self.guaranteeing.shards.insert(*request);
        }
        stored
    }

    /// Starts looking for the shards this node's validators hold of
    /// `guarantee`'s report (CE 137) that it does not hold yet: its
    /// guarantors are asked first.
    pub(super) fn want_shards(&mut self, guarantee: &ReportGuarantee) {
        let signers: Vec<ValidatorIndex> = guarantee
            .signatures
            .iter()
            .map(|s| s.validator_index)
            .collect();
        self.want_report_shards(&guarantee.report, &signers);
    }

    /// [`Self::want_shards`] for `report`, guaranteed by `signers` (if known).
    fn want_report_shards(
        &mut self,
        report: &parajam_primitives::types::WorkReport,
        signers: &[ValidatorIndex],
    ) {
        if !self.networked() {
            return;
        }
        let params = *self.params();
        let core = report.core_index;
        let held = self.held_validators();
        for &validator in &held {
            let request = ShardRequest {
                erasure_root: report.package_spec.erasure_root,
                index: shard_index(&params, core, validator),
            };
            if self.guaranteeing.fetches.contains_key(&request)
                || self.guaranteeing.fetches.len() >= MAX_FETCHES
                || self.holds_shard(&request)
            {
                continue;
            }
            let mut candidates: Vec<PeerId> = signers
                .iter()
                .filter(|v| !held.contains(v))
                .filter_map(|&v| self.peer_of(v))
                .collect();
            for peer in self.other_validators() {
                if !candidates.contains(&peer) {
                    candidates.push(peer);
                }
            }
            let now = Instant::now();
            self.guaranteeing.fetches.insert(
                request,
                Fetch {
                    package: report.package_spec.hash,
                    core,
                    validator,
                    candidates,
                    tried: 0,
                    asking: None,
                    not_before: now,
                    started: now,
                },
            );
        }
    }

    /// Asks for the shards wanted (CE 137): each fetch with no request out
    /// asks its next connected candidate; once all were asked, it pauses
    /// for [`SHARD_RETRY`]. A fetch lasts while its report is pending
    /// availability on the head, else [`SHARD_FETCH_TIMEOUT`]; reports
    /// pending without a fetch get one (every validator asked).
    fn fetch_shards(&mut self, network: &Network) {
        let now = Instant::now();
        let pending: Vec<parajam_primitives::types::WorkReport> = self
            .chain
            .state()
            .availability
            .iter()
            .flatten()
            .map(|a| a.report.clone())
            .collect();
        let roots: HashSet<OpaqueHash> = pending
            .iter()
            .map(|r| r.package_spec.erasure_root)
            .collect();
        self.guaranteeing.fetches.retain(|request, f| {
            now - f.started < SHARD_FETCH_TIMEOUT || roots.contains(&request.erasure_root)
        });
        for report in &pending {
            self.want_report_shards(report, &[]);
        }
        let connected: HashSet<PeerId> = network.peers().into_iter().collect();
        for (request, f) in &mut self.guaranteeing.fetches {
            if let Some((_, since)) = f.asking {
                // The answer was lost (the event queue was full).
                if now - since > parajam_network::service::SHARD_TIMEOUT + SHARD_RETRY {
                    f.asking = None;
                }
                continue;
            }
            if now < f.not_before || f.candidates.is_empty() {
                continue;
            }
            let n = f.candidates.len();
            for _ in 0..n {
                let peer = f.candidates[f.tried % n];
                f.tried += 1;
                if f.tried % n == 0 {
                    f.not_before = now + SHARD_RETRY;
                }
                if connected.contains(&peer) {
                    f.asking = Some((peer, now));
                    network.request_shards(peer, *request);
                    break;
                }
                if f.tried % n == 0 {
                    break;
                }
            }
        }
    }

    /// CE 137's answer: the shards (checked by the network against the
    /// erasure root) stored, or the next candidate asked.
    fn shards_back(
        &mut self,
        peer: PeerId,
        request: &ShardRequest,
        result: &Result<std::sync::Arc<Shards>, parajam_network::RequestError>,
        out: &mut Vec<GuaranteeEvent>,
    ) {
        let Some(f) = self.guaranteeing.fetches.get_mut(request) else {
            return;
        };
        if f.asking.map(|(p, _)| p) != Some(peer) {
            return;
        }
        f.asking = None;
        let (package, core, validator) = (f.package, f.core, f.validator);
        let stored = result
            .as_ref()
            .map_err(ToString::to_string)
            .and_then(|shards| {
                self.api
                    .store()
                    .put_shard(&request.erasure_root, request.index, &shards.to_bytes())
                    .map_err(|e| format!("not stored: {e}"))
            });
        match stored {
            Ok(()) => {
                self.guaranteeing.fetches.remove(request);
                self.guaranteeing.shards.insert(*request);
                out.push(GuaranteeEvent::ShardFetched {
                    package,
                    core,
                    index: request.index,
                    validator,
                    from: peer,
                });
            }
            Err(reason) => out.push(GuaranteeEvent::ShardMissed {
                package,
                index: request.index,
                peer,
                reason,
            }),
        }
    }

    /// This node's assurance anchored on the head for the reports pending
    /// availability whose shard its validator holds, kept and sent to
    /// every validator; once per head, and again on the same head when a
    /// validator comes to hold another shard.
    fn assure_head(&mut self, network: &Network) -> Option<GuaranteeEvent> {
        let head = self.chain.head();
        let params = *self.params();
        let pending: Vec<(CoreIndex, OpaqueHash)> = self
            .chain
            .state()
            .availability
            .iter()
            .enumerate()
            .filter_map(|(core, a)| {
                let a = a.as_ref()?;
                Some((
                    CoreIndex::try_from(core).ok()?,
                    a.report.package_spec.erasure_root,
                ))
            })
            .collect();
        let mut assured = Vec::new();
        for validator in self.held_validators() {
            let cores: Vec<CoreIndex> = pending
                .iter()
                .filter(|(core, root)| {
                    self.holds_shard(&ShardRequest {
                        erasure_root: *root,
                        index: shard_index(&params, *core, validator),
                    })
                })
                .map(|(core, _)| *core)
                .collect();
            assured.push((validator, cores));
        }
        let previous = match &self.guaranteeing.assured {
            Some((h, before)) if *h == head => {
                if *before == assured {
                    return None;
                }
                before.clone()
            }
            _ => Vec::new(),
        };
        self.guaranteeing.assured = Some((head, assured.clone()));
        // The packages this node guaranteed, pending: counted when they go.
        let state = self.chain.state();
        for (core, a) in state.availability.iter().enumerate() {
            if let (Some(a), Ok(core)) = (a, CoreIndex::try_from(core)) {
                if self.guaranteeing.mine.remove(&a.report.package_spec.hash) {
                    self.pending.insert(core, a.report.package_spec.hash);
                }
            }
        }
        let mut sent = Vec::new();
        for (index, cores) in &assured {
            let unchanged = previous.iter().any(|(v, c)| v == index && c == cores);
            if cores.is_empty() || unchanged {
                continue;
            }
            let Some(keys) = self.chain.keys().of(&state.active_validators, *index) else {
                continue;
            };
            let a = parajam_authoring::assurance(head, cores, *index, keys, &params);
            network.distribute_assurance(
                &self.other_validators(),
                &Assurance {
                    anchor: a.anchor,
                    bitfield: a.bitfield.to_vec(),
                    signature: a.signature,
                },
            );
            let pool = &mut self.guaranteeing.assurances;
            pool.retain(|p| !(p.anchor == a.anchor && p.validator_index == *index));
            pool.push_back(a);
            sent.extend(cores.iter().copied());
        }
        sent.sort_unstable();
        sent.dedup();
        (!sent.is_empty()).then_some(GuaranteeEvent::Assured {
            anchor: head,
            cores: sent,
        })
    }

    /// The assurances kept that are anchored on the head, one per
    /// validator, by index.
    pub(super) fn pooled_assurances(&self) -> Vec<AvailAssurance> {
        let head = self.chain.head();
        let mut seen = BTreeSet::new();
        let mut out: Vec<AvailAssurance> = self
            .guaranteeing
            .assurances
            .iter()
            .filter(|a| a.anchor == head && seen.insert(a.validator_index))
            .cloned()
            .collect();
        out.sort_by_key(|a| a.validator_index);
        out
    }

    /// The guarantees kept for cores that are free once `assurances` are
    /// in (a report made available, or none pending), one per core,
    /// oldest first.
    pub(super) fn pooled_guarantees(&self, assurances: &[AvailAssurance]) -> Vec<ReportGuarantee> {
        let state = self.chain.state();
        let validators = u32::from(self.params().validators_count);
        let mut taken: BTreeSet<CoreIndex> = BTreeSet::new();
        let mut out = Vec::new();
        let pending: HashSet<OpaqueHash> = state
            .availability
            .iter()
            .flatten()
            .map(|a| a.report.package_spec.hash)
            .collect();
        for g in &self.guaranteeing.guarantees {
            let core = g.report.core_index;
            if taken.contains(&core) || pending.contains(&g.report.package_spec.hash) {
                continue;
            }
            let occupied = state
                .availability
                .get(usize::from(core))
                .is_none_or(Option::is_some);
            let assured = assurances
                .iter()
                .filter(|a| a.is_available(usize::from(core)))
                .count();
            let available = u32::try_from(assured).unwrap_or(u32::MAX) * 3 > validators * 2;
            if occupied && !available {
                continue;
            }
            taken.insert(core);
            out.push(g.clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use parajam_authoring::{DevChain, DevKeys, Genesis};
    use parajam_bandersnatch::RingContext;
    use parajam_primitives::ProtocolParameters;

    use super::guarantors_at;

    #[test]
    fn the_guarantors_of_a_core_are_those_a_block_at_that_slot_assigns() {
        let params = ProtocolParameters::TINY;
        let keys = DevKeys::new(params.validators_count);
        let ring = RingContext::zcash(usize::from(params.validators_count)).expect("a ring");
        let state = Genesis::new(&params, keys.validators())
            .build(&params, &ring)
            .expect("a genesis");
        let chain = DevChain::new(params, keys, state, ring).expect("a chain");
        let mut seen = std::collections::BTreeSet::new();
        // This epoch's rotations and the next epoch's (new entropy and keys).
        for slot in 1..2 * params.epoch_length {
            let plan = chain.plan(slot).expect("a plan");
            for core in 0..params.core_count {
                let mine = guarantors_at(chain.state(), slot, core, &params);
                assert_eq!(mine, plan.guarantors(core), "slot {slot} core {core}");
                assert_eq!(mine.len(), 3);
                seen.insert((core, mine));
            }
        }
        // The assignment rotates: a core has more than one set over time.
        assert!(seen.len() > 2, "{seen:?}");
    }
}
