//! Safrole: timekeeping, entropy, key rotation, the sealing-key sequence and
//! the ticket contest (GP §6, eq. 6.1 – 6.35).
//!
//! One transition per block, given the block's slot `τ' = H_T`, the
//! per-block entropy `Y(H_V)` and the tickets extrinsic `E_T`:
//!
//! * `τ'` must exceed `τ` (eq. 6.1 – 6.2 with 5.7);
//! * `η'_0 = H(η_0 ⌢ Y(H_V))`, and on a new epoch `η` rotates (eq. 6.22 – 6.23);
//! * on a new epoch, `γ'_k = Φ(ι)` with offenders' keys zeroed, `κ' = γ_k`,
//!   `λ' = κ`, `γ'_z = O(γ'_k)` (eq. 6.13 – 6.14);
//! * `γ'_s` is the outside-in sequenced accumulator, the old sequence, or the
//!   fallback keys (eq. 6.24 – 6.26);
//! * the epoch and winning-tickets markers (eq. 6.27 – 6.28);
//! * tickets: entry index below `N`, valid ring proofs against `γ'_z` with
//!   context `X_T ⌢ η'_2 ⌢ r`, ordered by id without duplicates, none
//!   already in `γ_a`, none useless; then merged into `γ'_a` (eq. 6.29 – 6.35).
//!
//! Validation happens entirely before the new state is built; an error leaves
//! the prior state untouched.

use jam_codec::{Decode, Encode};
use parajam_bandersnatch::RingContext;
use parajam_primitives::codec::{BoundedSeq, EpochLength, FixedSeq};
use parajam_primitives::types::{
    BandersnatchPublic, BandersnatchRingCommitment, Ed25519Public, Entropy, EntropyBuffer,
    EpochMark, EpochMarkValidatorKeys, TicketBody, TicketsExtrinsic, TicketsMark, TicketsOrKeys,
    TimeSlot, ValidatorData, ValidatorsData,
};
use parajam_primitives::{ByteArray, ProtocolParameters};

/// `X_T`: context of ticket ring proofs and ticket seals (GP eq. 6.20).
pub const TICKET_SEAL_CONTEXT: &[u8] = b"jam_ticket_seal";
/// `X_F`: context of fallback seals.
pub const FALLBACK_SEAL_CONTEXT: &[u8] = b"jam_fallback_seal";
/// `X_E`: context of the entropy-yielding VRF.
pub const ENTROPY_CONTEXT: &[u8] = b"jam_entropy";

/// The Safrole part of the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// `τ`.
    pub timeslot: TimeSlot,
    /// `η`.
    pub entropy: EntropyBuffer,
    /// `λ`: the previous epoch's validators.
    pub previous_validators: ValidatorsData,
    /// `κ`: the active validators.
    pub active_validators: ValidatorsData,
    /// `γ_k`: the next epoch's validators.
    pub pending_validators: ValidatorsData,
    /// `ι`: the staging validators.
    pub staging_validators: ValidatorsData,
    /// `γ_a`: the ticket accumulator.
    pub ticket_accumulator: BoundedSeq<TicketBody, EpochLength>,
    /// `γ_s`: the sealing-key sequence.
    pub seal_keys: TicketsOrKeys,
    /// `γ_z`: the ring root of `γ_k`.
    pub epoch_root: BandersnatchRingCommitment,
    /// `ψ'_O`: the posterior offenders (read only).
    pub offenders: Vec<Ed25519Public>,
}

/// What Safrole reads from the block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// `H_T`.
    pub slot: TimeSlot,
    /// `Y(H_V)`: the entropy-source VRF output.
    pub entropy: Entropy,
    /// `E_T`.
    pub extrinsic: TicketsExtrinsic,
}

/// The header markers the block must carry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode)]
pub struct Output {
    /// `H_E`.
    pub epoch_mark: Option<EpochMark>,
    /// `H_W`.
    pub tickets_mark: Option<TicketsMark>,
}

/// Why a block is invalid for Safrole (the conformance harness maps each
/// variant to the vectors' `ErrorCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// `τ' ≤ τ`.
    #[error("slot {slot} does not follow the prior slot {timeslot}")]
    BadSlot {
        /// `H_T`.
        slot: TimeSlot,
        /// `τ`.
        timeslot: TimeSlot,
    },
    /// Tickets submitted after the contest closed (`m' ≥ Y`, eq. 6.30).
    #[error("tickets submitted in the epoch tail")]
    UnexpectedTicket,
    /// Ticket ids not strictly ascending (eq. 6.32).
    #[error("ticket {index} is out of order")]
    BadTicketOrder {
        /// Position in `E_T`.
        index: usize,
    },
    /// A ring proof does not verify against `γ'_z`.
    #[error("ticket {index} has an invalid ring proof")]
    BadTicketProof {
        /// Position in `E_T`.
        index: usize,
    },
    /// An entry index `≥ N` (eq. 6.29).
    #[error("ticket {index} has entry index {attempt} ≥ N")]
    BadTicketAttempt {
        /// Position in `E_T`.
        index: usize,
        /// Its entry index.
        attempt: u8,
    },
    /// A ticket already in the accumulator (eq. 6.33), or one that would not
    /// enter it (eq. 6.35).
    #[error("ticket {index} is already in the accumulator or would not enter it")]
    DuplicateTicket {
        /// Position in `E_T`.
        index: usize,
    },
    /// Not about the block: a ring-proof verification thread panicked
    /// (whole-block import reports it as a node failure).
    #[error("a ticket verification thread panicked")]
    VerifierPanicked,
}

/// `Z`: the outside-in sequencer (GP eq. 6.25).
pub fn outside_in<T: Clone>(items: &[T]) -> Vec<T> {
    let mut out = Vec::with_capacity(items.len());
    let (mut lo, mut hi) = (0, items.len());
    while lo < hi {
        out.push(items[lo].clone());
        lo += 1;
        if lo < hi {
            hi -= 1;
            out.push(items[hi].clone());
        }
    }
    out
}

/// `F(r, k)`: the fallback key sequence (GP eq. 6.26).
pub fn fallback_keys(
    entropy: &Entropy,
    validators: &[ValidatorData],
    epoch_length: u32,
) -> Vec<BandersnatchPublic> {
    if validators.is_empty() {
        return vec![BandersnatchPublic::ZERO; epoch_length as usize];
    }
    (0..epoch_length)
        .map(|i| {
            let h = parajam_crypto::blake2b_256_concat(&[&entropy.0, &i.to_le_bytes()]);
            let n = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
            validators[n % validators.len()].bandersnatch
        })
        .collect()
}

/// `Φ(k)`: validator keys with offenders' entries nullified (GP eq. 6.14).
pub fn nullify_offenders(keys: &ValidatorsData, offenders: &[Ed25519Public]) -> ValidatorsData {
    FixedSeq::new(
        keys.iter()
            .map(|k| {
                if offenders.contains(&k.ed25519) {
                    ValidatorData::default()
                } else {
                    k.clone()
                }
            })
            .collect(),
    )
}

/// `n`: the tickets of `E_T` with their ids, checked for entry index, ring
/// proof against `γ'_z` (context `X_T ⌢ η'_2 ⌢ r`) and strict order (eq. 6.29 – 6.32).
pub fn verify_tickets(
    extrinsic: &TicketsExtrinsic,
    eta2: &Entropy,
    ring_root: &BandersnatchRingCommitment,
    params: &ProtocolParameters,
    ring: &RingContext,
) -> Result<Vec<TicketBody>, Error> {
    for (index, ticket) in extrinsic.iter().enumerate() {
        if ticket.attempt >= params.tickets_per_validator {
            return Err(Error::BadTicketAttempt {
                index,
                attempt: ticket.attempt,
            });
        }
    }
    // Ring proofs are the costly part (milliseconds each) and independent:
    // verify them on parallel threads; the first failing index is reported.
    let verify = |index: usize,
                  ticket: &parajam_primitives::types::TicketEnvelope|
     -> Result<TicketBody, Error> {
        let mut context = Vec::with_capacity(TICKET_SEAL_CONTEXT.len() + 33);
        context.extend_from_slice(TICKET_SEAL_CONTEXT);
        context.extend_from_slice(&eta2.0);
        context.push(ticket.attempt);
        let id = ring
            .verify(&ring_root.0, &context, &[], &ticket.signature.0)
            .map_err(|_| Error::BadTicketProof { index })?;
        Ok(TicketBody {
            id: ByteArray(id),
            attempt: ticket.attempt,
        })
    };
    let results: Vec<Result<TicketBody, Error>> = if extrinsic.len() > 1 {
        std::thread::scope(|scope| {
            let handles: Vec<_> = extrinsic
                .iter()
                .enumerate()
                .map(|(index, ticket)| scope.spawn(move || verify(index, ticket)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(Err(Error::VerifierPanicked)))
                .collect()
        })
    } else {
        extrinsic
            .iter()
            .enumerate()
            .map(|(index, ticket)| verify(index, ticket))
            .collect()
    };
    let tickets = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    if let Some(index) = tickets.windows(2).position(|pair| pair[0].id >= pair[1].id) {
        return Err(Error::BadTicketOrder { index: index + 1 });
    }
    Ok(tickets)
}

/// `γ'_a`: the lowest `E` of the prior accumulator and the new tickets; no
/// new ticket may already be there (eq. 6.33) and each must make it in (eq. 6.35).
pub fn merge_tickets(
    prior: &[TicketBody],
    new: &[TicketBody],
    epoch_len: usize,
) -> Result<Vec<TicketBody>, Error> {
    if let Some(index) = new.iter().position(|t| prior.iter().any(|p| p.id == t.id)) {
        return Err(Error::DuplicateTicket { index });
    }
    let mut merged: Vec<TicketBody> = prior.iter().chain(new).copied().collect();
    merged.sort_by_key(|t| t.id);
    merged.truncate(epoch_len);
    if let Some(index) = new
        .iter()
        .position(|t| merged.binary_search_by(|a| a.id.cmp(&t.id)).is_err())
    {
        return Err(Error::DuplicateTicket { index });
    }
    Ok(merged)
}

/// The Safrole transition. `ring` must serve rings of `V` keys.
pub fn transition(
    pre: &State,
    input: &Input,
    params: &ProtocolParameters,
    ring: &RingContext,
) -> Result<(State, Output), Error> {
    let epoch_len = params.epoch_length;
    let tail = params.ticket_submission_end;
    if input.slot <= pre.timeslot {
        return Err(Error::BadSlot {
            slot: input.slot,
            timeslot: pre.timeslot,
        });
    }
    let (e, m) = (pre.timeslot / epoch_len, pre.timeslot % epoch_len);
    let (e2, m2) = (input.slot / epoch_len, input.slot % epoch_len);
    let new_epoch = e2 > e;
    if !input.extrinsic.is_empty() && m2 >= tail {
        return Err(Error::UnexpectedTicket);
    }

    // Entropy (eq. 6.22 – 6.23).
    let mut eta = pre.entropy;
    if new_epoch {
        eta = [
            pre.entropy[0],
            pre.entropy[0],
            pre.entropy[1],
            pre.entropy[2],
        ];
    }
    eta[0] = ByteArray(parajam_crypto::blake2b_256_concat(&[
        &pre.entropy[0].0,
        &input.entropy.0,
    ]));

    // Key rotation (eq. 6.13).
    let (gamma_k, kappa, lambda, gamma_z) = if new_epoch {
        let gamma_k = nullify_offenders(&pre.staging_validators, &pre.offenders);
        let keys: Vec<[u8; 32]> = gamma_k.iter().map(|k| k.bandersnatch.0).collect();
        let root = ByteArray(ring.ring_root(&keys));
        (
            gamma_k,
            pre.pending_validators.clone(),
            pre.active_validators.clone(),
            root,
        )
    } else {
        (
            pre.pending_validators.clone(),
            pre.active_validators.clone(),
            pre.previous_validators.clone(),
            pre.epoch_root,
        )
    };

    // Tickets (eq. 6.29 – 6.35): validate everything before building state.
    let new_tickets = verify_tickets(&input.extrinsic, &eta[2], &gamma_z, params, ring)?;
    let prior: &[TicketBody] = if new_epoch {
        &[]
    } else {
        &pre.ticket_accumulator
    };
    let gamma_a = merge_tickets(prior, &new_tickets, epoch_len as usize)?;

    // Sealing keys (eq. 6.24).
    let gamma_s = if e2 == e + 1 && m >= tail && pre.ticket_accumulator.len() == epoch_len as usize
    {
        TicketsOrKeys::Tickets(FixedSeq::new(outside_in(&pre.ticket_accumulator)))
    } else if e2 == e {
        pre.seal_keys.clone()
    } else {
        TicketsOrKeys::Keys(FixedSeq::new(fallback_keys(&eta[2], &kappa, epoch_len)))
    };

    // Markers (eq. 6.27 – 6.28).
    let epoch_mark = new_epoch.then(|| EpochMark {
        entropy: pre.entropy[0],
        tickets_entropy: pre.entropy[1],
        validators: FixedSeq::new(
            gamma_k
                .iter()
                .map(|k| EpochMarkValidatorKeys {
                    bandersnatch: k.bandersnatch,
                    ed25519: k.ed25519,
                })
                .collect(),
        ),
    });
    let tickets_mark = (!new_epoch
        && m < tail
        && tail <= m2
        && pre.ticket_accumulator.len() == epoch_len as usize)
        .then(|| FixedSeq::new(outside_in(&pre.ticket_accumulator)));

    let post = State {
        timeslot: input.slot,
        entropy: eta,
        previous_validators: lambda,
        active_validators: kappa,
        pending_validators: gamma_k,
        staging_validators: pre.staging_validators.clone(),
        ticket_accumulator: gamma_a.into(),
        seal_keys: gamma_s,
        epoch_root: gamma_z,
        offenders: pre.offenders.clone(),
    };
    Ok((
        post,
        Output {
            epoch_mark,
            tickets_mark,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_in_alternates_from_both_ends() {
        assert_eq!(outside_in(&[0, 1, 2, 3, 4, 5]), vec![0, 5, 1, 4, 2, 3]);
        assert_eq!(outside_in(&[0, 1, 2]), vec![0, 2, 1]);
        assert!(outside_in::<u8>(&[]).is_empty());
    }

    #[test]
    fn offenders_are_nullified() {
        let a = ValidatorData {
            ed25519: ByteArray([1; 32]),
            bandersnatch: ByteArray([2; 32]),
            ..ValidatorData::default()
        };
        let b = ValidatorData {
            ed25519: ByteArray([3; 32]),
            ..a.clone()
        };
        let keys = FixedSeq::new(vec![a, b.clone()]);
        let out = nullify_offenders(&keys, &[ByteArray([1; 32])]);
        assert_eq!(out[0], ValidatorData::default());
        assert_eq!(out[1], b);
    }
}
