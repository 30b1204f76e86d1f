//! Authoring one block on a parent state: who seals the slot, the header
//! markers, guarantees by the assigned guarantors, assurances, tickets, and
//! the seal and entropy source.
//!
//! A [`SlotPlan`] is what a block at slot `τ'` on a parent state must
//! carry, found by running the same disputes and Safrole transitions that
//! import runs (so the posterior `κ'`, `γ'_s`, `η'` and the markers are
//! exactly those import checks against):
//!
//! * the sealer `γ'_s[τ' mod E]` (GP eq. 6.15 – 6.16): in fallback mode a
//!   Bandersnatch key, whose validator in `κ'` authors; in ticket mode a
//!   ticket, whose holder is the dev validator with
//!   `Y(F⟨X_T ⌢ η'_3 ⌢ r⟩) = y` (a VRF output depends on the key and the
//!   context only, so the ticket's ring-proof output is that of an IETF
//!   signature under the same context);
//! * the epoch, winning-tickets and offenders markers (GP eq. 6.27, 6.28,
//!   10.20);
//! * the guarantor assignment `M` of `τ'` (GP eq. 11.21), reused from
//!   `parajam_stf::reports::assignment`.
//!
//! [`SlotPlan::seal`] then signs: the entropy source first,
//! `H_V = F_{H_A}⟨X_E ⌢ Y(H_S)⟩([])` (GP eq. 6.17), with `Y(H_S)` known
//! before the seal exists, and last the seal over `E_U(H)`
//! (GP eq. 6.15 – 6.16), which covers `H_V`.

use parajam_bandersnatch::{RingContext, VrfError};
use parajam_primitives::codec::FixedBytes;
use parajam_primitives::types::{
    AvailAssurance, Block, CoreIndex, DisputesExtrinsic, Ed25519Public, Entropy, EntropyBuffer,
    EpochMark, Extrinsic, Header, HeaderHash, OffendersMark, Preimage, ReportGuarantee, StateRoot,
    TicketBody, TicketEnvelope, TicketsExtrinsic, TicketsMark, TimeSlot, ValidatorIndex,
    ValidatorSignature, ValidatorsData, WorkReport,
};
use parajam_primitives::{ByteArray, ProtocolParameters};
use parajam_state::State;
use parajam_stf::block::ImportError;
use parajam_stf::header::{extrinsic_hash, SlotSealer};
use parajam_stf::reports::assignment::{self, Assignment};
use parajam_stf::safrole::{ENTROPY_CONTEXT, FALLBACK_SEAL_CONTEXT, TICKET_SEAL_CONTEXT};
use parajam_stf::{assurances, disputes, reports, safrole};

use crate::keys::{DevKeys, ValidatorSecrets};

/// Why a block could not be authored.
#[derive(Debug, thiserror::Error)]
pub enum AuthoringError {
    /// The disputes extrinsic is invalid on the parent state.
    #[error("disputes: {0}")]
    Disputes(#[from] disputes::Error),
    /// The Safrole transition refuses the slot or the tickets.
    #[error("safrole: {0}")]
    Safrole(#[from] safrole::Error),
    /// `γ'_s` has no entry for the slot (a state of the wrong size).
    #[error("no sealing key for slot {slot}")]
    NoSealKey {
        /// The slot.
        slot: TimeSlot,
    },
    /// The slot's sealer is no dev validator of `κ'`.
    #[error("slot {slot}: the sealer is not a dev validator of the active set")]
    UnknownSealer {
        /// The slot.
        slot: TimeSlot,
    },
    /// Validator `index` of the set in question is not one of the dev keys.
    #[error("validator {index} is not a dev validator of the active set")]
    UnknownValidator {
        /// Its index.
        index: ValidatorIndex,
    },
    /// Fewer than two guarantors with dev keys are assigned to the core.
    #[error("core {core}: {found} assigned guarantors with dev keys, 2 needed")]
    TooFewGuarantors {
        /// The report's core.
        core: CoreIndex,
        /// How many there are.
        found: usize,
    },
    /// Tickets are submitted in the epoch's tail (GP eq. 6.30).
    #[error("slot {slot} is past the ticket submission period")]
    TicketsClosed {
        /// The slot.
        slot: TimeSlot,
    },
    /// A VRF signature or ring proof could not be made.
    #[error("VRF: {0}")]
    Vrf(#[from] VrfError),
    /// The authored block was not imported.
    #[error("import: {0}")]
    Import(#[from] ImportError),
    /// The PVM engine could not start.
    #[error("PVM: {0}")]
    Pvm(String),
    /// The genesis state could not be made.
    #[error("genesis: {0}")]
    Genesis(#[from] crate::genesis::GenesisError),
}

/// What goes into a block's extrinsic.
///
/// [`build_block`] puts each part in the order the paper requires
/// (tickets by id, preimages by requester and blob, guarantees by core,
/// assurances by validator) and guarantees `reports` itself.
#[derive(Debug, Clone, Default)]
pub struct Contents {
    /// `E_T`: ticket envelopes.
    pub tickets: Vec<TicketEnvelope>,
    /// `E_P`: preimages. [`build_block`] keeps those the parent's state
    /// solicits and has not been provided (GP eq. 12.37), sorted.
    pub preimages: Vec<Preimage>,
    /// Work reports to guarantee in this block: each is signed by the
    /// guarantors assigned to its core in the block's rotation, with the
    /// block's slot as `t`.
    pub reports: Vec<WorkReport>,
    /// Guarantees included as given (signed already).
    pub guarantees: Vec<ReportGuarantee>,
    /// `E_A`: assurances (anchored on the parent, signed by `κ'`).
    pub assurances: Vec<AvailAssurance>,
    /// `E_D`.
    pub disputes: DisputesExtrinsic,
}

/// The block a new one builds on: its posterior state, header hash and
/// state root (computed from the state if `None`).
#[derive(Debug, Clone, Copy)]
pub struct Parent<'a> {
    /// Its posterior state `σ`.
    pub state: &'a State,
    /// Its header hash, the new block's `H_P`.
    pub hash: HeaderHash,
    /// `M_σ(σ)`, the new block's `H_R`, if known.
    pub root: Option<StateRoot>,
}

/// A block's author: its index in `κ'` and the slot's sealer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Author {
    /// `H_I`.
    pub index: ValidatorIndex,
    /// `γ'_s[H_T]`: the author's key (fallback) or ticket.
    pub sealer: SlotSealer,
}

/// What a block at `slot` on a parent state must carry (module docs).
#[derive(Debug, Clone)]
pub struct SlotPlan {
    /// The parameters.
    pub params: ProtocolParameters,
    /// `H_T = τ'`.
    pub slot: TimeSlot,
    /// `H_P`.
    pub parent: HeaderHash,
    /// `H_R`: the parent's posterior state root.
    pub parent_state_root: StateRoot,
    /// Who seals.
    pub author: Author,
    /// `η'`, except `η'_0`, which the block's own entropy source makes and
    /// which is computed here as if `Y(H_V)` were zero (nothing authoring
    /// needs reads it).
    pub entropy: EntropyBuffer,
    /// `κ'`.
    pub active_validators: ValidatorsData,
    /// `λ'`.
    pub previous_validators: ValidatorsData,
    /// `γ'_k`: the keys whose ring the block's tickets prove membership of.
    pub pending_validators: ValidatorsData,
    /// `γ'_a`: the ticket accumulator with the planned tickets.
    pub ticket_accumulator: Vec<TicketBody>,
    /// `ψ'_O`.
    pub offenders: Vec<Ed25519Public>,
    /// `H_E`.
    pub epoch_mark: Option<EpochMark>,
    /// `H_W`.
    pub tickets_mark: Option<TicketsMark>,
    /// `H_O`.
    pub offenders_mark: OffendersMark,
}

/// `X ⌢ η ⌢ attempt`: a seal or ticket VRF context.
fn vrf_context(prefix: &[u8], entropy: &Entropy, attempt: Option<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + 33);
    out.extend_from_slice(prefix);
    out.extend_from_slice(&entropy.0);
    out.extend(attempt);
    out
}

impl SlotPlan {
    /// Plans the block at `slot` on `parent` with the tickets and disputes
    /// it will carry. `keys` are the dev validators one of which must seal;
    /// `ring` serves rings of `V` keys.
    pub fn new(
        parent: Parent<'_>,
        slot: TimeSlot,
        tickets: &TicketsExtrinsic,
        disputes_extrinsic: &DisputesExtrinsic,
        keys: &DevKeys,
        params: &ProtocolParameters,
        ring: &RingContext,
    ) -> Result<Self, AuthoringError> {
        let parent_state_root = parent.root.unwrap_or_else(|| parent.state.root());
        let parent_hash = parent.hash;
        let parent = parent.state;
        let (dispute_post, dispute_out) = disputes::transition(
            &disputes::State {
                disputes: parent.disputes.clone(),
                availability: parent.availability.clone(),
                timeslot: parent.timeslot,
                active_validators: parent.active_validators.clone(),
                previous_validators: parent.previous_validators.clone(),
            },
            &disputes::Input {
                extrinsic: disputes_extrinsic.clone(),
            },
            params,
        )?;
        let (sf, sf_out) = safrole::transition(
            &safrole::State {
                timeslot: parent.timeslot,
                entropy: parent.entropy,
                previous_validators: parent.previous_validators.clone(),
                active_validators: parent.active_validators.clone(),
                pending_validators: parent.safrole.pending_validators.clone(),
                staging_validators: parent.staging_validators.clone(),
                ticket_accumulator: parent.safrole.ticket_accumulator.clone(),
                seal_keys: parent.safrole.seal_keys.clone(),
                epoch_root: parent.safrole.epoch_root,
                offenders: dispute_post.disputes.offenders.clone(),
            },
            &safrole::Input {
                slot,
                entropy: Entropy::ZERO,
                extrinsic: tickets.clone(),
            },
            params,
            ring,
        )?;
        let sealer = SlotSealer::for_slot(&sf.seal_keys, slot, params)
            .ok_or(AuthoringError::NoSealKey { slot })?;
        let index = find_author(&sealer, &sf.active_validators, &sf.entropy[3], keys)
            .ok_or(AuthoringError::UnknownSealer { slot })?;
        Ok(Self {
            params: *params,
            slot,
            parent: parent_hash,
            parent_state_root,
            author: Author { index, sealer },
            entropy: sf.entropy,
            active_validators: sf.active_validators,
            previous_validators: sf.previous_validators,
            pending_validators: sf.pending_validators,
            ticket_accumulator: sf.ticket_accumulator.into_inner(),
            offenders: dispute_post.disputes.offenders,
            epoch_mark: sf_out.epoch_mark,
            tickets_mark: sf_out.tickets_mark,
            offenders_mark: dispute_out.offenders_mark,
        })
    }

    /// Whether the slot is sealed by a ticket (`γ'_s` holds tickets).
    pub fn ticketed(&self) -> bool {
        matches!(self.author.sealer, SlotSealer::Ticket(_))
    }

    /// `M` (GP eq. 11.21): the guarantor assignment of the rotation of `τ'`.
    pub fn assignment(&self) -> Assignment {
        let offenders = self.offenders.iter().copied().collect();
        assignment::current(
            &self.entropy,
            self.slot,
            &self.active_validators,
            &offenders,
            &self.params,
        )
    }

    /// The validators assigned to `core` in the rotation of `τ'`, offenders
    /// left out, in index order.
    pub fn guarantors(&self, core: CoreIndex) -> Vec<ValidatorIndex> {
        let m = self.assignment();
        (0..m.cores.len())
            .filter(|&i| m.cores[i] == core && !m.banned.get(i).copied().unwrap_or(true))
            .filter_map(|i| ValidatorIndex::try_from(i).ok())
            .collect()
    }

    /// `report` guaranteed at `t = τ'` by (up to three of) the dev
    /// validators assigned to its core (GP eq. 11.23 – 11.27).
    pub fn guarantee(
        &self,
        report: WorkReport,
        keys: &DevKeys,
    ) -> Result<ReportGuarantee, AuthoringError> {
        let core = report.core_index;
        let signers: Vec<(ValidatorIndex, &ValidatorSecrets)> = self
            .guarantors(core)
            .into_iter()
            .filter_map(|i| keys.of(&self.active_validators, i).map(|v| (i, v)))
            .take(3)
            .collect();
        if signers.len() < 2 {
            return Err(AuthoringError::TooFewGuarantors {
                core,
                found: signers.len(),
            });
        }
        Ok(guarantee(report, self.slot, &signers))
    }

    /// Validator `index` of `κ'`'s assurance, anchored on the parent, that
    /// the reports of `cores` are available.
    pub fn assurance(
        &self,
        cores: &[CoreIndex],
        index: ValidatorIndex,
        keys: &DevKeys,
    ) -> Result<AvailAssurance, AuthoringError> {
        let validator = keys
            .of(&self.active_validators, index)
            .ok_or(AuthoringError::UnknownValidator { index })?;
        Ok(assurance(
            self.parent,
            cores,
            index,
            validator,
            &self.params,
        ))
    }

    /// The tickets the dev validators of `γ'_k` can submit in this block
    /// that would enter the accumulator: every `(validator, attempt)`
    /// whose id is not in `γ'_a` and is among the lowest `E` ids with it,
    /// lowest first, at most `K`. Each is a ring proof (about a second in a
    /// release build; they run on parallel threads); plan without tickets
    /// first, then plan again with them.
    pub fn tickets(
        &self,
        keys: &DevKeys,
        ring: &RingContext,
    ) -> Result<Vec<TicketEnvelope>, AuthoringError> {
        if self.slot % self.params.epoch_length >= self.params.ticket_submission_end {
            return Err(AuthoringError::TicketsClosed { slot: self.slot });
        }
        let eta2 = self.entropy[2];
        let mut candidates: Vec<(Entropy, u8, usize)> = Vec::new();
        for (position, key) in self.pending_validators.iter().enumerate() {
            let Some(validator) = keys.by_bandersnatch(&key.bandersnatch) else {
                continue;
            };
            for attempt in 0..self.params.tickets_per_validator {
                let context = vrf_context(TICKET_SEAL_CONTEXT, &eta2, Some(attempt));
                let id = ByteArray(validator.bandersnatch().vrf_output(&context)?);
                if !self.ticket_accumulator.iter().any(|t| t.id == id) {
                    candidates.push((id, attempt, position));
                }
            }
        }
        candidates.sort_unstable();
        let epoch = self.params.epoch_length as usize;
        // The E-th lowest id of the accumulator with the candidates: a
        // ticket enters only below it.
        let mut ids: Vec<Entropy> = self
            .ticket_accumulator
            .iter()
            .map(|t| t.id)
            .chain(candidates.iter().map(|c| c.0))
            .collect();
        ids.sort_unstable();
        let bound = ids.get(epoch.saturating_sub(1)).copied();
        let ring_keys: Vec<[u8; 32]> = self
            .pending_validators
            .iter()
            .map(|k| k.bandersnatch.0)
            .collect();
        let chosen: Vec<(u8, usize, &ValidatorSecrets)> = candidates
            .into_iter()
            .filter(|(id, _, _)| bound.is_none_or(|b| *id <= b))
            .take(usize::from(self.params.max_tickets_per_block))
            .filter_map(|(_, attempt, position)| {
                let validator =
                    keys.by_bandersnatch(&self.pending_validators[position].bandersnatch)?;
                Some((attempt, position, validator))
            })
            .collect();
        // Ring proofs are slow and independent: one thread each.
        let prove = |(attempt, position, validator): (u8, usize, &ValidatorSecrets)| {
            let context = vrf_context(TICKET_SEAL_CONTEXT, &eta2, Some(attempt));
            ring.ring_prove(
                &ring_keys,
                position,
                validator.bandersnatch(),
                &context,
                &[],
            )
            .map(|proof| TicketEnvelope {
                attempt,
                signature: ByteArray(proof),
            })
        };
        let proofs: Vec<Result<TicketEnvelope, VrfError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = chosen
                .into_iter()
                .map(|c| scope.spawn(move || prove(c)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(Err(VrfError::Invalid)))
                .collect()
        });
        let tickets = proofs.into_iter().collect::<Result<Vec<_>, _>>()?;
        Ok(sorted_tickets(tickets))
    }

    /// The block with `extrinsic`, sealed by the planned author.
    pub fn seal(&self, extrinsic: Extrinsic, keys: &DevKeys) -> Result<Block, AuthoringError> {
        self.seal_as(extrinsic, self.author.index, keys)
    }

    /// The block with `extrinsic`, authored and sealed by validator `index`
    /// of `κ'` under the slot's seal context whoever the sealer is (a
    /// wrong author makes a block import rejects).
    pub fn seal_as(
        &self,
        extrinsic: Extrinsic,
        index: ValidatorIndex,
        keys: &DevKeys,
    ) -> Result<Block, AuthoringError> {
        let author = keys
            .of(&self.active_validators, index)
            .ok_or(AuthoringError::UnknownValidator { index })?;
        let eta3 = self.entropy[3];
        let seal_context = match self.author.sealer {
            SlotSealer::Ticket(ticket) => {
                vrf_context(TICKET_SEAL_CONTEXT, &eta3, Some(ticket.attempt))
            }
            SlotSealer::Key(_) => vrf_context(FALLBACK_SEAL_CONTEXT, &eta3, None),
        };
        let secret = author.bandersnatch();
        let seal_output = secret.vrf_output(&seal_context)?;
        let entropy_context = [ENTROPY_CONTEXT, &seal_output[..]].concat();
        let mut header = Header {
            parent: self.parent,
            parent_state_root: self.parent_state_root,
            extrinsic_hash: extrinsic_hash(&extrinsic),
            slot: self.slot,
            epoch_mark: self.epoch_mark.clone(),
            tickets_mark: self.tickets_mark.clone(),
            author_index: index,
            entropy_source: ByteArray(secret.ietf_sign(&entropy_context, &[])?),
            offenders_mark: self.offenders_mark.clone(),
            seal: ByteArray([0; 96]),
        };
        header.seal = ByteArray(secret.ietf_sign(&seal_context, &header.encode_unsigned())?);
        Ok(Block { header, extrinsic })
    }

    /// The extrinsic of `contents`, each part in its required order, with
    /// `contents.reports` guaranteed by their assigned guarantors.
    pub fn extrinsic(
        &self,
        contents: Contents,
        keys: &DevKeys,
    ) -> Result<Extrinsic, AuthoringError> {
        let Contents {
            tickets,
            preimages,
            reports,
            mut guarantees,
            assurances,
            disputes,
        } = contents;
        for report in reports {
            guarantees.push(self.guarantee(report, keys)?);
        }
        guarantees.sort_by_key(|g| g.report.core_index);
        Ok(Extrinsic {
            tickets: sorted_tickets(tickets).into(),
            preimages: sorted_preimages(preimages),
            guarantees: guarantees.into(),
            assurances: sorted_assurances(assurances).into(),
            disputes,
        })
    }
}

/// `H_I` of the sealer among `κ'`, if a dev validator holds it.
fn find_author(
    sealer: &SlotSealer,
    active_validators: &ValidatorsData,
    eta3: &Entropy,
    keys: &DevKeys,
) -> Option<ValidatorIndex> {
    let position = match sealer {
        SlotSealer::Key(key) => active_validators
            .iter()
            .position(|k| k.bandersnatch == *key && keys.by_bandersnatch(key).is_some())?,
        SlotSealer::Ticket(ticket) => {
            let context = vrf_context(TICKET_SEAL_CONTEXT, eta3, Some(ticket.attempt));
            active_validators.iter().position(|k| {
                keys.by_bandersnatch(&k.bandersnatch).is_some_and(|v| {
                    v.bandersnatch()
                        .vrf_output(&context)
                        .is_ok_and(|y| y == ticket.id.0)
                })
            })?
        }
    };
    ValidatorIndex::try_from(position).ok()
}

/// Tickets ordered by id (`Y` of the proof), as GP eq. 6.32 requires;
/// a proof without an output stays first, for import to reject.
fn sorted_tickets(mut tickets: Vec<TicketEnvelope>) -> Vec<TicketEnvelope> {
    tickets.sort_by_cached_key(|t| parajam_bandersnatch::vrf_output(&t.signature.0).ok());
    tickets
}

/// Preimages ordered by requester, then blob, without repeats (GP eq. 12.37).
fn sorted_preimages(mut preimages: Vec<Preimage>) -> Vec<Preimage> {
    preimages.sort_by(|a, b| (a.requester, &a.blob).cmp(&(b.requester, &b.blob)));
    preimages.dedup();
    preimages
}

/// The preimages `Y(δ, s, p)` holds for on the parent's accounts `δ`: a
/// request of their service for `(H(p), |p|)` open and empty (GP eq. 12.22
/// and 12.37); the others could not be in the block.
fn solicited_preimages(parent: &State, mut preimages: Vec<Preimage>) -> Vec<Preimage> {
    preimages.retain(|p| {
        parajam_stf::preimages::request_key(&p.blob).is_some_and(|key| {
            parajam_stf::preimages::PreimageStore::providable(&parent.accounts, p.requester, &key)
        })
    });
    preimages
}

/// Assurances ordered by validator (GP eq. 11.12).
fn sorted_assurances(mut assurances: Vec<AvailAssurance>) -> Vec<AvailAssurance> {
    assurances.sort_by_key(|a| a.validator_index);
    assurances
}

/// `(r, t, a)`: `report` guaranteed at slot `t` by `signers`, each with its
/// index and keys, over `X_G ⌢ H(E(r))` (GP eq. 11.26 – 11.27);
/// credentials ordered by index.
pub fn guarantee(
    report: WorkReport,
    slot: TimeSlot,
    signers: &[(ValidatorIndex, &ValidatorSecrets)],
) -> ReportGuarantee {
    let message = reports::signed_message(&report);
    let mut signatures: Vec<ValidatorSignature> = signers
        .iter()
        .map(|(index, v)| ValidatorSignature {
            validator_index: *index,
            signature: v.ed25519_sign(&message),
        })
        .collect();
    signatures.sort_by_key(|s| s.validator_index);
    ReportGuarantee {
        report,
        slot,
        signatures,
    }
}

/// `(a, f, v, s)`: validator `index`'s assurance, anchored on `parent`,
/// that the reports of `cores` are available: `f` has their bits set
/// (least significant first, GP eq. C.10), `s` signs `X_A ⌢ H(E(a, f))`
/// (GP eq. 11.13 – 11.14). Cores at or past `C` are ignored.
pub fn assurance(
    parent: HeaderHash,
    cores: &[CoreIndex],
    index: ValidatorIndex,
    validator: &ValidatorSecrets,
    params: &ProtocolParameters,
) -> AvailAssurance {
    let mut bits = vec![0u8; params.avail_bitfield_bytes()];
    for &core in cores.iter().filter(|&&c| c < params.core_count) {
        let c = usize::from(core);
        if let Some(octet) = bits.get_mut(c / 8) {
            *octet |= 1 << (c % 8);
        }
    }
    let mut assurance = AvailAssurance {
        anchor: parent,
        bitfield: FixedBytes::new(bits),
        validator_index: index,
        signature: ByteArray([0; 64]),
    };
    assurance.signature = validator.ed25519_sign(&assurances::signed_message(&parent, &assurance));
    assurance
}

/// Authors the block at `slot` on `parent` with `contents` (module docs):
/// plans the slot, guarantees the reports, orders the extrinsic and seals.
pub fn build_block(
    parent: Parent<'_>,
    slot: TimeSlot,
    mut contents: Contents,
    keys: &DevKeys,
    params: &ProtocolParameters,
    ring: &RingContext,
) -> Result<Block, AuthoringError> {
    contents.tickets = sorted_tickets(std::mem::take(&mut contents.tickets));
    contents.preimages = solicited_preimages(parent.state, std::mem::take(&mut contents.preimages));
    let plan = SlotPlan::new(
        parent,
        slot,
        &contents.tickets.clone().into(),
        &contents.disputes,
        keys,
        params,
        ring,
    )?;
    let extrinsic = plan.extrinsic(contents, keys)?;
    plan.seal(extrinsic, keys)
}
