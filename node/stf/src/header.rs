//! Header validation: parent, prior state root, timeslot, author, extrinsic
//! hash, the block seal, the entropy source and the three markers (GP §5
//! "The Header", eq. 5.1 – 5.10; §6.4 "Sealing and Entropy Accumulation",
//! eq. 6.15 – 6.20; markers eq. 6.27, 6.28 and 10.20).
//!
//! The seal and the markers are checked against **posterior** state: the
//! author is `κ'[H_I]` (eq. 5.9), the slot's sealer is `γ'_s[H_T]`
//! (eq. 6.15 – 6.16) with `η'_3`, and the markers are what the Safrole and
//! disputes transitions of this very block produce. A block importer thus
//! runs, in order:
//!
//! 1. [`check_parent`], [`check_slot`], [`extrinsic_hash`] (cheap, prior state only);
//! 2. [`unverified_entropy`] to get `Y(H_V)`, the Safrole input that yields
//!    `η'_0 = H(η_0 ⌢ Y(H_V))` (eq. 6.22) — it is verified in step 4;
//! 3. the disputes and Safrole transitions, giving `ψ'_O`, `κ'`, `γ'_s`,
//!    `η'` and the expected markers;
//! 4. [`validate`] with those posteriors (or the pieces [`verify_seal`],
//!    [`verify_entropy_source`], [`check_markers`] one by one).
//!
//! Nothing here changes state; every rule has its own [`HeaderError`].

use jam_codec::{Compact, Encode};
use parajam_bandersnatch::VrfError;
use parajam_primitives::types::{
    BandersnatchPublic, Ed25519Public, Entropy, EpochMark, Extrinsic, Header, HeaderHash,
    OpaqueHash, StateRoot, TicketBody, TicketId, TicketsMark, TicketsOrKeys, TimeSlot,
    ValidatorIndex, ValidatorsData,
};
use parajam_primitives::{ByteArray, ProtocolParameters};

use crate::safrole::{ENTROPY_CONTEXT, FALLBACK_SEAL_CONTEXT, TICKET_SEAL_CONTEXT};

/// Why a header is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// `H_P ≠ H(E(P(H)))` (eq. 5.2).
    #[error("parent hash {found} is not the parent's hash {expected}")]
    BadParent {
        /// The parent header's hash.
        expected: HeaderHash,
        /// `H_P`.
        found: HeaderHash,
    },
    /// `H_R ≠ M_σ(σ)` (eq. 5.8).
    #[error("prior state root {found} is not the parent's posterior state root {expected}")]
    BadPriorStateRoot {
        /// The Merkle root of the prior state.
        expected: StateRoot,
        /// `H_R`.
        found: StateRoot,
    },
    /// `H_T ≤ P(H)_T = τ` (eq. 5.7).
    #[error("slot {slot} does not follow the prior slot {prior}")]
    SlotNotAfterPrior {
        /// `H_T`.
        slot: TimeSlot,
        /// `τ`.
        prior: TimeSlot,
    },
    /// `H_T · P > T`: the slot is still in the future (eq. 5.7); the block
    /// may become valid later.
    #[error("slot {slot} is after the current slot {now}")]
    FutureSlot {
        /// `H_T`.
        slot: TimeSlot,
        /// The wall-clock slot.
        now: TimeSlot,
    },
    /// `H_I ≥ V` (eq. 5.9).
    #[error("author index {index} is not below the validator count {validators}")]
    BadAuthorIndex {
        /// `H_I`.
        index: ValidatorIndex,
        /// `V`.
        validators: usize,
    },
    /// `γ'_s` has no entry for the slot (a posterior state of the wrong size).
    #[error("no sealing key for slot {slot}")]
    NoSealKey {
        /// `H_T`.
        slot: TimeSlot,
    },
    /// `H_S` is not a valid signature of `E_U(H)` by the author under the
    /// slot's context (eq. 6.15 – 6.16).
    #[error("block seal does not verify: {0}")]
    BadSeal(VrfError),
    /// Ticket-sealed slot: `Y(H_S)` is not the ticket's identifier (eq. 6.15).
    #[error("seal output {found} is not the slot's ticket id {expected}")]
    SealTicketMismatch {
        /// `γ'_s[H_T]_y`.
        expected: TicketId,
        /// `Y(H_S)`.
        found: Entropy,
    },
    /// Fallback slot: the author's key is not the slot's key (eq. 6.16).
    #[error("author key {author} is not the slot's fallback key {expected}")]
    SealKeyMismatch {
        /// `γ'_s[H_T]`.
        expected: BandersnatchPublic,
        /// `H_A = κ'[H_I]_b`.
        author: BandersnatchPublic,
    },
    /// `H_V` is not a valid signature over `[]` with context `X_E ⌢ Y(H_S)` (eq. 6.17).
    #[error("entropy source does not verify: {0}")]
    BadEntropySource(VrfError),
    /// `H_X` is not the extrinsic's hash (eq. 5.4 – 5.6).
    #[error("extrinsic hash {found} is not the extrinsic's hash {expected}")]
    ExtrinsicHashMismatch {
        /// `H(E(H#(a)))` of the block's extrinsic.
        expected: OpaqueHash,
        /// `H_X`.
        found: OpaqueHash,
    },
    /// `H_E` is not the Safrole epoch marker (eq. 6.27).
    #[error("epoch marker differs from the Safrole transition's")]
    EpochMarkMismatch,
    /// `H_W` is not the Safrole winning-tickets marker (eq. 6.28).
    #[error("winning-tickets marker differs from the Safrole transition's")]
    TicketsMarkMismatch,
    /// `H_O` is not the disputes offenders marker (eq. 10.20).
    #[error("offenders marker differs from the disputes transition's")]
    OffendersMarkMismatch,
}

/// `γ'_s[H_T]`: who may seal a slot (eq. 6.15 – 6.16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotSealer {
    /// Regular mode: the ticket whose holder seals (`γ'_s ∈ ⟦T⟧`).
    Ticket(TicketBody),
    /// Fallback mode: the key that seals (`γ'_s ∈ ⟦H_B⟧`).
    Key(BandersnatchPublic),
}

impl SlotSealer {
    /// `γ'_s[slot]`, indexed cyclically (`slot mod E`); `None` if the
    /// sequence is shorter than `E`.
    pub fn for_slot(
        seal_keys: &TicketsOrKeys,
        slot: TimeSlot,
        params: &ProtocolParameters,
    ) -> Option<Self> {
        let index = (slot % params.epoch_length) as usize;
        match seal_keys {
            TicketsOrKeys::Tickets(tickets) => tickets.get(index).copied().map(Self::Ticket),
            TicketsOrKeys::Keys(keys) => keys.get(index).copied().map(Self::Key),
        }
    }
}

/// A verified seal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seal {
    /// `Y(H_S)`.
    pub output: Entropy,
    /// `T`: 1 when ticket-sealed, 0 in fallback mode (eq. 6.15 – 6.16).
    pub ticketed: bool,
}

/// What a valid header yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderOutputs {
    /// `H_A = κ'[H_I]_b`: the author's Bandersnatch key (eq. 5.9).
    pub author: BandersnatchPublic,
    /// `Y(H_S)`.
    pub seal_output: Entropy,
    /// `Y(H_V)`: the per-block entropy, `η'_0 = H(η_0 ⌢ Y(H_V))` (eq. 6.22).
    pub entropy: Entropy,
    /// `T`: whether the block is ticket-sealed.
    pub ticketed: bool,
}

/// What header validation compares the header with.
#[derive(Debug, Clone, Copy)]
pub struct HeaderContext<'a> {
    /// Protocol parameters (`V`, `E`).
    pub params: &'a ProtocolParameters,
    /// `H(E(P(H)))`: the hash of the parent header, which `H_P` must equal.
    pub parent_hash: HeaderHash,
    /// `M_σ(σ)`: the prior state's Merkle root, which `H_R` must equal;
    /// `None` when the caller checks it elsewhere (e.g. Merklization runs late).
    pub prior_state_root: Option<StateRoot>,
    /// `τ`: the parent's slot.
    pub prior_slot: TimeSlot,
    /// The wall-clock slot `⌊T / P⌋`, if the block's slot must not be in
    /// the future (eq. 5.7); `None` when replaying past blocks.
    pub current_slot: Option<TimeSlot>,
    /// `κ'`: posterior active validators.
    pub active_validators: &'a ValidatorsData,
    /// `γ'_s`: posterior sealing keys.
    pub seal_keys: &'a TicketsOrKeys,
    /// `η'_3`.
    pub eta3: Entropy,
    /// The epoch marker the Safrole transition produced (eq. 6.27).
    pub epoch_mark: Option<&'a EpochMark>,
    /// The winning-tickets marker the Safrole transition produced (eq. 6.28).
    pub tickets_mark: Option<&'a TicketsMark>,
    /// The offenders marker the disputes transition produced (eq. 10.20).
    pub offenders_mark: &'a [Ed25519Public],
}

/// `H(E(H))`: a header's hash, what its children carry as `H_P` (eq. 5.2).
pub fn header_hash(header: &Header) -> HeaderHash {
    ByteArray(parajam_crypto::blake2b_256(&header.encode()))
}

/// `H_X = H(E(H#(a)))` with `a = [E_T(E_T), E_P(E_P), g, E_A(E_A), E_D(E_D)]`
/// and `g = E(↕[(H(r), E_4(t), ↕a) | (r, t, a) <- E_G])`: guarantees commit to
/// their reports by hash, so a report's inclusion can be proven alone
/// (eq. 5.4 – 5.6).
pub fn extrinsic_hash(extrinsic: &Extrinsic) -> OpaqueHash {
    let mut g = Vec::new();
    // `↕`: the guarantee count as a general natural (eq. C.6); `C` is far below 2^32.
    Compact(u32::try_from(extrinsic.guarantees.len()).unwrap_or(u32::MAX)).encode_to(&mut g);
    for guarantee in extrinsic.guarantees.iter() {
        g.extend_from_slice(&parajam_crypto::blake2b_256(&guarantee.report.encode()));
        guarantee.slot.encode_to(&mut g);
        guarantee.signatures.encode_to(&mut g);
    }
    let hashes = [
        parajam_crypto::blake2b_256(&extrinsic.tickets.encode()),
        parajam_crypto::blake2b_256(&extrinsic.preimages.encode()),
        parajam_crypto::blake2b_256(&g),
        parajam_crypto::blake2b_256(&extrinsic.assurances.encode()),
        parajam_crypto::blake2b_256(&extrinsic.disputes.encode()),
    ];
    // `E` of a fixed-length sequence of hashes: their concatenation.
    ByteArray(parajam_crypto::blake2b_256(&hashes.concat()))
}

/// `H_P` equals the parent header's hash (eq. 5.2).
pub fn check_parent(header: &Header, parent_hash: &HeaderHash) -> Result<(), HeaderError> {
    if header.parent == *parent_hash {
        Ok(())
    } else {
        Err(HeaderError::BadParent {
            expected: *parent_hash,
            found: header.parent,
        })
    }
}

/// `P(H)_T < H_T ∧ H_T · P ≤ T` (eq. 5.7); `current_slot` is the wall-clock
/// slot, `None` to skip the second half.
pub fn check_slot(
    header: &Header,
    prior_slot: TimeSlot,
    current_slot: Option<TimeSlot>,
) -> Result<(), HeaderError> {
    if header.slot <= prior_slot {
        return Err(HeaderError::SlotNotAfterPrior {
            slot: header.slot,
            prior: prior_slot,
        });
    }
    match current_slot {
        Some(now) if header.slot > now => Err(HeaderError::FutureSlot {
            slot: header.slot,
            now,
        }),
        _ => Ok(()),
    }
}

/// `H_A = κ'[H_I]_b`, with `H_I < V` (eq. 5.9).
pub fn author_key(
    header: &Header,
    active_validators: &ValidatorsData,
    params: &ProtocolParameters,
) -> Result<BandersnatchPublic, HeaderError> {
    let validators = usize::from(params.validators_count).min(active_validators.len());
    let index = usize::from(header.author_index);
    if index >= validators {
        return Err(HeaderError::BadAuthorIndex {
            index: header.author_index,
            validators,
        });
    }
    Ok(active_validators[index].bandersnatch)
}

/// `Y(H_V)` without verifying `H_V`: the Safrole input, available before the
/// posterior state that [`verify_entropy_source`] needs.
pub fn unverified_entropy(header: &Header) -> Result<Entropy, HeaderError> {
    parajam_bandersnatch::vrf_output(&header.entropy_source.0)
        .map(ByteArray)
        .map_err(HeaderError::BadEntropySource)
}

fn context(prefix: &[u8], entropy: &Entropy, attempt: Option<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + 33);
    out.extend_from_slice(prefix);
    out.extend_from_slice(&entropy.0);
    out.extend(attempt);
    out
}

/// Verifies the seal `H_S` of `author` (eq. 6.15 – 6.16), returning `Y(H_S)`:
///
/// * ticket `i`: `H_S ∈ F_{H_A}⟨X_T ⌢ η'_3 ⌢ i_r⟩(E_U(H))` and `i_y = Y(H_S)`;
/// * fallback key `i`: `i = H_A` and `H_S ∈ F_{H_A}⟨X_F ⌢ η'_3⟩(E_U(H))`.
pub fn verify_seal(
    header: &Header,
    author: &BandersnatchPublic,
    sealer: &SlotSealer,
    eta3: &Entropy,
) -> Result<Seal, HeaderError> {
    let message = header.encode_unsigned();
    match sealer {
        SlotSealer::Ticket(ticket) => {
            let ctx = context(TICKET_SEAL_CONTEXT, eta3, Some(ticket.attempt));
            let output =
                parajam_bandersnatch::ietf_verify(&author.0, &ctx, &message, &header.seal.0)
                    .map(ByteArray)
                    .map_err(HeaderError::BadSeal)?;
            if output != ticket.id {
                return Err(HeaderError::SealTicketMismatch {
                    expected: ticket.id,
                    found: output,
                });
            }
            Ok(Seal {
                output,
                ticketed: true,
            })
        }
        SlotSealer::Key(key) => {
            if key != author {
                return Err(HeaderError::SealKeyMismatch {
                    expected: *key,
                    author: *author,
                });
            }
            let ctx = context(FALLBACK_SEAL_CONTEXT, eta3, None);
            let output =
                parajam_bandersnatch::ietf_verify(&author.0, &ctx, &message, &header.seal.0)
                    .map(ByteArray)
                    .map_err(HeaderError::BadSeal)?;
            Ok(Seal {
                output,
                ticketed: false,
            })
        }
    }
}

/// Verifies `H_V ∈ F_{H_A}⟨X_E ⌢ Y(H_S)⟩([])` (eq. 6.17), returning `Y(H_V)`.
pub fn verify_entropy_source(
    header: &Header,
    author: &BandersnatchPublic,
    seal_output: &Entropy,
) -> Result<Entropy, HeaderError> {
    let ctx = context(ENTROPY_CONTEXT, seal_output, None);
    parajam_bandersnatch::ietf_verify(&author.0, &ctx, &[], &header.entropy_source.0)
        .map(ByteArray)
        .map_err(HeaderError::BadEntropySource)
}

/// `H_E`, `H_W` and `H_O` equal the markers the Safrole (eq. 6.27 – 6.28)
/// and disputes (eq. 10.20) transitions produced for this block.
pub fn check_markers(
    header: &Header,
    epoch_mark: Option<&EpochMark>,
    tickets_mark: Option<&TicketsMark>,
    offenders_mark: &[Ed25519Public],
) -> Result<(), HeaderError> {
    if header.epoch_mark.as_ref() != epoch_mark {
        return Err(HeaderError::EpochMarkMismatch);
    }
    if header.tickets_mark.as_ref() != tickets_mark {
        return Err(HeaderError::TicketsMarkMismatch);
    }
    if header.offenders_mark.as_slice() != offenders_mark {
        return Err(HeaderError::OffendersMarkMismatch);
    }
    Ok(())
}

/// Validates a header against its extrinsic, the prior state and this
/// block's posterior Safrole and disputes results. Cheap rules first: parent,
/// prior state root, slot, author index, extrinsic hash, markers; then the
/// seal and the entropy source.
pub fn validate(
    header: &Header,
    extrinsic: &Extrinsic,
    ctx: &HeaderContext<'_>,
) -> Result<HeaderOutputs, HeaderError> {
    check_parent(header, &ctx.parent_hash)?;
    if let Some(expected) = ctx.prior_state_root {
        if header.parent_state_root != expected {
            return Err(HeaderError::BadPriorStateRoot {
                expected,
                found: header.parent_state_root,
            });
        }
    }
    check_slot(header, ctx.prior_slot, ctx.current_slot)?;
    let author = author_key(header, ctx.active_validators, ctx.params)?;
    let expected = extrinsic_hash(extrinsic);
    if header.extrinsic_hash != expected {
        return Err(HeaderError::ExtrinsicHashMismatch {
            expected,
            found: header.extrinsic_hash,
        });
    }
    check_markers(header, ctx.epoch_mark, ctx.tickets_mark, ctx.offenders_mark)?;
    let sealer = SlotSealer::for_slot(ctx.seal_keys, header.slot, ctx.params)
        .ok_or(HeaderError::NoSealKey { slot: header.slot })?;
    let seal = verify_seal(header, &author, &sealer, &ctx.eta3)?;
    let entropy = verify_entropy_source(header, &author, &seal.output)?;
    Ok(HeaderOutputs {
        author,
        seal_output: seal.output,
        entropy,
        ticketed: seal.ticketed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use parajam_primitives::codec::FixedSeq;
    use parajam_primitives::types::ValidatorData;

    #[test]
    fn empty_extrinsic_hash_commits_to_five_empty_sequences() {
        // Every part of an empty extrinsic encodes as `[0]` (an empty `↕`),
        // the disputes as three of them.
        let empty = parajam_crypto::blake2b_256(&[0]);
        let disputes = parajam_crypto::blake2b_256(&[0, 0, 0]);
        let expected =
            parajam_crypto::blake2b_256(&[empty, empty, empty, empty, disputes].concat());
        assert_eq!(extrinsic_hash(&Extrinsic::default()).0, expected);
    }

    #[test]
    fn slot_must_follow_the_prior_and_not_be_in_the_future() {
        let header = Header {
            slot: 5,
            ..Header::default()
        };
        assert_eq!(check_slot(&header, 4, None), Ok(()));
        assert_eq!(check_slot(&header, 4, Some(5)), Ok(()));
        assert_eq!(
            check_slot(&header, 5, None),
            Err(HeaderError::SlotNotAfterPrior { slot: 5, prior: 5 })
        );
        assert_eq!(
            check_slot(&header, 4, Some(4)),
            Err(HeaderError::FutureSlot { slot: 5, now: 4 })
        );
    }

    #[test]
    fn author_index_is_bounded_by_v() {
        let params = ProtocolParameters::TINY;
        let kappa: ValidatorsData = FixedSeq::new(vec![ValidatorData::default(); 6]);
        let mut header = Header {
            author_index: 5,
            ..Header::default()
        };
        assert_eq!(
            author_key(&header, &kappa, &params),
            Ok(BandersnatchPublic::ZERO)
        );
        header.author_index = 6;
        assert_eq!(
            author_key(&header, &kappa, &params),
            Err(HeaderError::BadAuthorIndex {
                index: 6,
                validators: 6
            })
        );
    }

    #[test]
    fn sealer_is_indexed_cyclically() {
        let params = ProtocolParameters::TINY;
        let keys: Vec<_> = (0..12u8).map(|i| ByteArray([i; 32])).collect();
        let seal_keys = TicketsOrKeys::Keys(FixedSeq::new(keys));
        assert_eq!(
            SlotSealer::for_slot(&seal_keys, 12 * 7 + 3, &params),
            Some(SlotSealer::Key(ByteArray([3; 32])))
        );
        let short = TicketsOrKeys::Keys(FixedSeq::new(vec![]));
        assert_eq!(SlotSealer::for_slot(&short, 3, &params), None);
    }

    #[test]
    fn fallback_key_must_be_the_authors() {
        let header = Header::default();
        let author = ByteArray([1; 32]);
        let sealer = SlotSealer::Key(ByteArray([2; 32]));
        assert_eq!(
            verify_seal(&header, &author, &sealer, &Entropy::ZERO),
            Err(HeaderError::SealKeyMismatch {
                expected: ByteArray([2; 32]),
                author,
            })
        );
    }

    #[test]
    fn markers_must_match() {
        let header = Header {
            offenders_mark: vec![ByteArray([1; 32])],
            ..Header::default()
        };
        assert_eq!(
            check_markers(&header, None, None, &[ByteArray([1; 32])]),
            Ok(())
        );
        assert_eq!(
            check_markers(&header, None, None, &[]),
            Err(HeaderError::OffendersMarkMismatch)
        );
        let mark = EpochMark::default();
        assert_eq!(
            check_markers(&header, Some(&mark), None, &[ByteArray([1; 32])]),
            Err(HeaderError::EpochMarkMismatch)
        );
        let tickets: TicketsMark = FixedSeq::new(vec![]);
        assert_eq!(
            check_markers(&header, None, Some(&tickets), &[ByteArray([1; 32])]),
            Err(HeaderError::TicketsMarkMismatch)
        );
    }
}
