//! Disputes, verdicts and judgements (GP §10, eq. 10.1 – 10.20).
//!
//! The disputes extrinsic `E_D = (v, c, f)` (eq. 10.2) carries
//!
//! * verdicts `(r, a, j)`: a report hash, the epoch index `a` of the key set
//!   judging it (`⌊τ/E⌋` for `κ`, one less for `λ`), and exactly `⌊2V/3⌋+1`
//!   judgements `(v, i, s)` each signed by `k[i]_e` over
//!   `X_valid ⌢ r` or `X_invalid ⌢ r` (eq. 10.3 – 10.4);
//! * culprits `(r, k, s)`: guarantors of a report found bad, `s` their
//!   guarantee signature over `X_guarantee ⌢ r` (eq. 10.5);
//! * faults `(r, v, k, s)`: auditors whose judgement `v` contradicts the
//!   verdict on `r`, `s` that judgement's signature (eq. 10.6).
//!
//! The block is invalid unless: verdicts are ordered and unique by report
//! hash and none was judged before (eq. 10.7, 10.9); each verdict's
//! judgements are ordered and unique by validator index (eq. 10.10) and sum
//! to exactly `0` (bad), `⌊V/3⌋` (wonky) or `⌊2V/3⌋+1` (good) positive votes
//! (eq. 10.11 – 10.12); culprits and faults are ordered and unique by key
//! (eq. 10.8), name keys of `κ ∪ λ` not already punished, reference a report
//! in `ψ'_B` (culprits) or one whose verdict their vote contradicts (faults),
//! and are validly signed (eq. 10.5 – 10.6); a new good verdict comes with at
//! least one fault and a new bad one with at least two culprits
//! (eq. 10.13 – 10.14).
//!
//! Then reports judged bad or wonky leave `ρ` (`ρ†`, eq. 10.15), the verdict
//! hashes join `ψ_G`, `ψ_B` or `ψ_W` and the offenders' keys join `ψ_O`
//! (eq. 10.16 – 10.19), and the header's offenders marker is the culprits'
//! keys followed by the faults' keys (eq. 10.20).
//!
//! # Ed25519
//!
//! GP 0.7.2 defines `V_k⟨m⟩` by RFC 8032 alone (notation, "Signing
//! Schemes"), which leaves the verification equation (cofactored or not) and
//! the treatment of non-canonical `A`/`R` encodings open: both are
//! consensus-visible. JAM settled this on ZIP-215 (cofactored equation
//! `[8][s]B = [8]R + [8][k]A`, `s < ℓ`, any valid point encoding accepted,
//! small-order points included): the consensus-critical vectors of
//! `jam-conformance/crypto/ed25519` test exactly that, and the paper now
//! cites ZIP 215 (graypaper PR #541). We therefore verify with
//! `ed25519-zebra`, the Zcash Foundation's ZIP-215 implementation: it
//! accepts all 196 of those vectors, where `ed25519-dalek`'s `verify_strict`
//! accepts none of them and its `verify` 15 (checked when writing this
//! module). On the 20 732 signatures of the STF disputes vectors all three
//! agree (none uses a small-order, mixed-order or non-canonical point), so
//! the STF vectors alone do not choose.

use std::collections::BTreeSet;

use jam_codec::{Decode, Encode};
use parajam_primitives::types::{
    AvailabilityAssignments, DisputesExtrinsic, DisputesRecords, Ed25519Public, Ed25519Signature,
    OffendersMark, TimeSlot, ValidatorIndex, ValidatorsData, WorkReportHash,
};
use parajam_primitives::{ByteArray, ProtocolParameters};

/// `X_valid`: context of judgements for valid reports (GP eq. 10.4).
pub const VALID_CONTEXT: &[u8] = b"jam_valid";
/// `X_invalid`: context of judgements for invalid reports (GP eq. 10.4).
pub const INVALID_CONTEXT: &[u8] = b"jam_invalid";
/// `X_G`: context of guarantee signatures (GP eq. 11.26), checked for culprits.
pub const GUARANTEE_CONTEXT: &[u8] = b"jam_guarantee";

/// The disputes part of the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// `ψ`.
    pub disputes: DisputesRecords,
    /// `ρ`.
    pub availability: AvailabilityAssignments,
    /// `τ`: the prior timeslot.
    pub timeslot: TimeSlot,
    /// `κ`.
    pub active_validators: ValidatorsData,
    /// `λ`.
    pub previous_validators: ValidatorsData,
}

/// What the transition reads from the block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Input {
    /// `E_D`.
    pub extrinsic: DisputesExtrinsic,
}

/// What the block's header must carry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode)]
pub struct Output {
    /// `H_O` (eq. 10.20).
    pub offenders_mark: OffendersMark,
}

/// Why a disputes extrinsic is invalid.
///
/// The STF test vectors (`disputes.asn`) number these errors; the
/// conformance harness maps each variant to its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A verdict's report is already in `ψ_G ∪ ψ_B ∪ ψ_W` (eq. 10.9).
    #[error("verdict {index} is on a report already judged")]
    AlreadyJudged {
        /// Position in `E_V`.
        index: usize,
    },
    /// A verdict's positive votes are not `0`, `⌊V/3⌋` or `⌊2V/3⌋+1` (eq. 10.11).
    #[error("verdict {index} has {positive} positive votes")]
    BadVoteSplit {
        /// Position in `E_V`.
        index: usize,
        /// Its positive votes.
        positive: usize,
    },
    /// Verdicts not strictly ascending by report hash (eq. 10.7).
    #[error("verdict {index} is out of order or repeated")]
    VerdictsNotSortedUnique {
        /// Position in `E_V`.
        index: usize,
    },
    /// A verdict's judgements not strictly ascending by validator (eq. 10.10).
    #[error("judgement {judgement} of verdict {index} is out of order or repeated")]
    JudgementsNotSortedUnique {
        /// Position of the verdict in `E_V`.
        index: usize,
        /// Position of the judgement.
        judgement: usize,
    },
    /// Culprits not strictly ascending by key (eq. 10.8).
    #[error("culprit {index} is out of order or repeated")]
    CulpritsNotSortedUnique {
        /// Position in `E_C`.
        index: usize,
    },
    /// Faults not strictly ascending by key (eq. 10.8).
    #[error("fault {index} is out of order or repeated")]
    FaultsNotSortedUnique {
        /// Position in `E_F`.
        index: usize,
    },
    /// A new bad verdict with fewer than two culprits (eq. 10.14).
    #[error("verdict {index} is bad but has fewer than two culprits")]
    NotEnoughCulprits {
        /// Position in `E_V`.
        index: usize,
    },
    /// A new good verdict without a fault (eq. 10.13).
    #[error("verdict {index} is good but has no fault")]
    NotEnoughFaults {
        /// Position in `E_V`.
        index: usize,
    },
    /// A culprit's report is not in `ψ'_B` (eq. 10.5).
    #[error("culprit {index} is for a report not judged bad")]
    CulpritsVerdictNotBad {
        /// Position in `E_C`.
        index: usize,
    },
    /// A fault's vote does not contradict the verdict on its report, or its
    /// report has no good or bad verdict (eq. 10.6).
    #[error("fault {index} does not contradict a verdict")]
    FaultVerdictWrong {
        /// Position in `E_F`.
        index: usize,
    },
    /// A culprit's or fault's key is already in `ψ_O` (eq. 10.5 – 10.6).
    #[error("offender key {key} is already punished")]
    OffenderAlreadyReported {
        /// The key.
        key: Ed25519Public,
    },
    /// A verdict's epoch index is neither `⌊τ/E⌋` nor one less (eq. 10.2 – 10.3).
    #[error("verdict {index} has age {age}, not the current or previous epoch")]
    BadJudgementAge {
        /// Position in `E_V`.
        index: usize,
        /// Its epoch index.
        age: u32,
    },
    /// A judgement's validator index is `≥ V`.
    #[error("verdict {index} has a judgement by validator {validator} ≥ V")]
    BadValidatorIndex {
        /// Position in `E_V`.
        index: usize,
        /// The validator index.
        validator: ValidatorIndex,
    },
    /// An Ed25519 signature does not verify (eq. 10.3, 10.5, 10.6).
    #[error("bad signature on {what} {index}")]
    BadSignature {
        /// `"judgement"`, `"culprit"` or `"fault"`.
        what: &'static str,
        /// Position of the verdict (judgements), culprit or fault.
        index: usize,
    },
    /// A culprit's key is not in `κ ∪ λ` (eq. 10.5).
    #[error("culprit {index}'s key is not a validator's")]
    BadGuarantorKey {
        /// Position in `E_C`.
        index: usize,
    },
    /// A fault's key is not in `κ ∪ λ` (eq. 10.6).
    #[error("fault {index}'s key is not a validator's")]
    BadAuditorKey {
        /// Position in `E_F`.
        index: usize,
    },
}

/// The outcome of a verdict, by its count of positive judgements
/// (eq. 10.11 – 10.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// `⌊2V/3⌋+1` positive: the report is good.
    Good,
    /// `0` positive: the report is bad.
    Bad,
    /// `⌊V/3⌋` positive: the report is wonky.
    Wonky,
}

impl Outcome {
    /// The outcome of `positive` positive votes, if it is one of the three
    /// allowed tallies (eq. 10.11).
    pub fn of(positive: usize, params: &ProtocolParameters) -> Option<Self> {
        let v = usize::from(params.validators_count);
        if positive == params.validators_super_majority() {
            Some(Self::Good)
        } else if positive == 0 {
            Some(Self::Bad)
        } else if positive == v / 3 {
            Some(Self::Wonky)
        } else {
            None
        }
    }
}

/// `V_k⟨m⟩` (GP notation, "Signing Schemes"): whether `signature` is a
/// valid Ed25519 signature of `context ⌢ message` by `key` under ZIP-215
/// (see the module docs). A key that is not a curve point verifies nothing.
pub fn ed25519_verify(
    key: &Ed25519Public,
    context: &[u8],
    message: &[u8],
    signature: &Ed25519Signature,
) -> bool {
    parajam_crypto::ed25519_verify(&key.0, &[context, message], &signature.0)
}

/// The judgement context for a vote: `X_valid` or `X_invalid` (eq. 10.4).
pub fn judgement_context(vote: bool) -> &'static [u8] {
    if vote {
        VALID_CONTEXT
    } else {
        INVALID_CONTEXT
    }
}

/// The index of the first item whose key is not above its predecessor's,
/// i.e. where `items` stops being strictly ascending by `key`.
fn first_unsorted<T, K: Ord>(items: &[T], key: impl Fn(&T) -> K) -> Option<usize> {
    items
        .windows(2)
        .position(|w| key(&w[0]) >= key(&w[1]))
        .map(|i| i + 1)
}

/// The verdicts' outcomes `v` (eq. 10.12), validated against the prior
/// state: order and novelty (eq. 10.7, 10.9), age and key set
/// (eq. 10.2 – 10.3), judgement order (eq. 10.10), validator indices,
/// signatures and tallies (eq. 10.11).
pub fn validate_verdicts(
    pre: &State,
    disputes: &DisputesExtrinsic,
    params: &ProtocolParameters,
) -> Result<Vec<(WorkReportHash, Outcome)>, Error> {
    let verdicts = &disputes.verdicts;
    if let Some(index) = first_unsorted(verdicts, |v| v.target) {
        return Err(Error::VerdictsNotSortedUnique { index });
    }
    let psi = &pre.disputes;
    let epoch = pre.timeslot / params.epoch_length;
    let mut outcomes = Vec::with_capacity(verdicts.len());
    for (index, verdict) in verdicts.iter().enumerate() {
        let target = &verdict.target;
        if psi.good.contains(target) || psi.bad.contains(target) || psi.wonky.contains(target) {
            return Err(Error::AlreadyJudged { index });
        }
        let keys = if verdict.age == epoch {
            &pre.active_validators
        } else if epoch.checked_sub(1) == Some(verdict.age) {
            &pre.previous_validators
        } else {
            return Err(Error::BadJudgementAge {
                index,
                age: verdict.age,
            });
        };
        if let Some(judgement) = first_unsorted(&verdict.votes, |j| j.index) {
            return Err(Error::JudgementsNotSortedUnique { index, judgement });
        }
        for judgement in verdict.votes.iter() {
            let Some(validator) = keys.get(usize::from(judgement.index)) else {
                return Err(Error::BadValidatorIndex {
                    index,
                    validator: judgement.index,
                });
            };
            let context = judgement_context(judgement.vote);
            if !ed25519_verify(&validator.ed25519, context, &target.0, &judgement.signature) {
                return Err(Error::BadSignature {
                    what: "judgement",
                    index,
                });
            }
        }
        let positive = verdict.votes.iter().filter(|j| j.vote).count();
        let Some(outcome) = Outcome::of(positive, params) else {
            return Err(Error::BadVoteSplit { index, positive });
        };
        outcomes.push((*target, outcome));
    }
    Ok(outcomes)
}

/// `k = {i_e | i ∈ λ ∪ κ}` before removing `ψ_O` (eq. 10.5 – 10.6).
fn validator_keys(pre: &State) -> BTreeSet<Ed25519Public> {
    pre.active_validators
        .iter()
        .chain(pre.previous_validators.iter())
        .map(|v| v.ed25519)
        .collect()
}

/// Checks the culprits (eq. 10.5, 10.8) given the verdicts' outcomes.
pub fn validate_culprits(
    pre: &State,
    disputes: &DisputesExtrinsic,
    outcomes: &[(WorkReportHash, Outcome)],
    keys: &BTreeSet<Ed25519Public>,
) -> Result<(), Error> {
    let culprits = &disputes.culprits;
    if let Some(index) = first_unsorted(culprits, |c| c.key) {
        return Err(Error::CulpritsNotSortedUnique { index });
    }
    for (index, culprit) in culprits.iter().enumerate() {
        if pre.disputes.offenders.contains(&culprit.key) {
            return Err(Error::OffenderAlreadyReported { key: culprit.key });
        }
        if !keys.contains(&culprit.key) {
            return Err(Error::BadGuarantorKey { index });
        }
        let bad = pre.disputes.bad.contains(&culprit.target)
            || outcomes.contains(&(culprit.target, Outcome::Bad));
        if !bad {
            return Err(Error::CulpritsVerdictNotBad { index });
        }
        if !ed25519_verify(
            &culprit.key,
            GUARANTEE_CONTEXT,
            &culprit.target.0,
            &culprit.signature,
        ) {
            return Err(Error::BadSignature {
                what: "culprit",
                index,
            });
        }
    }
    Ok(())
}

/// Checks the faults (eq. 10.6, 10.8) given the verdicts' outcomes: the
/// report is in `ψ'_B` and the vote was "valid", or in `ψ'_G` and the vote
/// was "invalid".
pub fn validate_faults(
    pre: &State,
    disputes: &DisputesExtrinsic,
    outcomes: &[(WorkReportHash, Outcome)],
    keys: &BTreeSet<Ed25519Public>,
) -> Result<(), Error> {
    let faults = &disputes.faults;
    if let Some(index) = first_unsorted(faults, |f| f.key) {
        return Err(Error::FaultsNotSortedUnique { index });
    }
    for (index, fault) in faults.iter().enumerate() {
        if pre.disputes.offenders.contains(&fault.key) {
            return Err(Error::OffenderAlreadyReported { key: fault.key });
        }
        if !keys.contains(&fault.key) {
            return Err(Error::BadAuditorKey { index });
        }
        let in_bad = pre.disputes.bad.contains(&fault.target)
            || outcomes.contains(&(fault.target, Outcome::Bad));
        let in_good = pre.disputes.good.contains(&fault.target)
            || outcomes.contains(&(fault.target, Outcome::Good));
        // `r ∈ ψ'_B ⇔ r ∉ ψ'_G ⇔ v`.
        if in_bad == in_good || in_bad != fault.vote {
            return Err(Error::FaultVerdictWrong { index });
        }
        let context = judgement_context(fault.vote);
        if !ed25519_verify(&fault.key, context, &fault.target.0, &fault.signature) {
            return Err(Error::BadSignature {
                what: "fault",
                index,
            });
        }
    }
    Ok(())
}

/// Every new good verdict has a fault and every new bad one at least two
/// culprits (eq. 10.13 – 10.14).
pub fn validate_offence_counts(
    disputes: &DisputesExtrinsic,
    outcomes: &[(WorkReportHash, Outcome)],
) -> Result<(), Error> {
    for (index, (target, outcome)) in outcomes.iter().enumerate() {
        match outcome {
            Outcome::Bad => {
                let culprits = disputes
                    .culprits
                    .iter()
                    .filter(|c| c.target == *target)
                    .count();
                if culprits < 2 {
                    return Err(Error::NotEnoughCulprits { index });
                }
            }
            Outcome::Good => {
                if !disputes.faults.iter().any(|f| f.target == *target) {
                    return Err(Error::NotEnoughFaults { index });
                }
            }
            Outcome::Wonky => {}
        }
    }
    Ok(())
}

/// Validates the whole extrinsic against the prior state; returns the
/// verdicts' outcomes `v`.
pub fn validate(
    pre: &State,
    disputes: &DisputesExtrinsic,
    params: &ProtocolParameters,
) -> Result<Vec<(WorkReportHash, Outcome)>, Error> {
    let outcomes = validate_verdicts(pre, disputes, params)?;
    let keys = validator_keys(pre);
    validate_culprits(pre, disputes, &outcomes, &keys)?;
    validate_faults(pre, disputes, &outcomes, &keys)?;
    validate_offence_counts(disputes, &outcomes)?;
    Ok(outcomes)
}

/// `ρ†` (eq. 10.15), in place: cores whose report was judged bad or wonky
/// (fewer than `⌊2V/3⌋` positive votes) are cleared.
pub fn clear_judged_reports(
    availability: &mut AvailabilityAssignments,
    outcomes: &[(WorkReportHash, Outcome)],
) {
    if outcomes.iter().all(|(_, o)| *o == Outcome::Good) {
        return;
    }
    for slot in availability.iter_mut() {
        let Some(assignment) = slot else { continue };
        let hash = ByteArray(parajam_crypto::blake2b_256(&assignment.report.encode()));
        if outcomes
            .iter()
            .any(|(target, o)| *target == hash && *o != Outcome::Good)
        {
            *slot = None;
        }
    }
}

/// Inserts `item` into the ascending sequence `set` unless already there.
fn insert_sorted<T: Ord>(set: &mut Vec<T>, item: T) {
    if let Err(at) = set.binary_search(&item) {
        set.insert(at, item);
    }
}

/// `ψ'` (eq. 10.16 – 10.19), in place, and the offenders marker `H_O`
/// (eq. 10.20). The sets are kept as ascending sequences, their encoding.
pub fn record(
    psi: &mut DisputesRecords,
    disputes: &DisputesExtrinsic,
    outcomes: &[(WorkReportHash, Outcome)],
) -> OffendersMark {
    for (target, outcome) in outcomes {
        let set = match outcome {
            Outcome::Good => &mut psi.good,
            Outcome::Bad => &mut psi.bad,
            Outcome::Wonky => &mut psi.wonky,
        };
        insert_sorted(set, *target);
    }
    let mark: OffendersMark = disputes
        .culprits
        .iter()
        .map(|c| c.key)
        .chain(disputes.faults.iter().map(|f| f.key))
        .collect();
    for key in &mark {
        insert_sorted(&mut psi.offenders, *key);
    }
    mark
}

/// The disputes transition: validate `E_D` against the prior state
/// (eq. 10.2 – 10.14), then `ρ†` (eq. 10.15), `ψ'` (eq. 10.16 – 10.19) and
/// `H_O` (eq. 10.20). On error nothing is built and `pre` stands.
pub fn transition(
    pre: &State,
    input: &Input,
    params: &ProtocolParameters,
) -> Result<(State, Output), Error> {
    let outcomes = validate(pre, &input.extrinsic, params)?;
    let mut post = pre.clone();
    clear_judged_reports(&mut post.availability, &outcomes);
    let offenders_mark = record(&mut post.disputes, &input.extrinsic, &outcomes);
    Ok((post, Output { offenders_mark }))
}

#[cfg(test)]
mod tests {
    use ed25519_zebra::{Signature, SigningKey, VerificationKey};
    use parajam_primitives::types::{
        AvailabilityAssignment, Culprit, Fault, Judgement, ValidatorData, Verdict, WorkReport,
    };

    use super::*;

    const P: ProtocolParameters = ProtocolParameters::TINY;
    /// Prior slot: epoch 2 of the tiny parameters (`E = 12`).
    const TAU: TimeSlot = 25;

    /// `κ` keys are seeds `1..=6`, `λ` keys seeds `11..=16`; seed 99 is no
    /// validator.
    fn signer(seed: u8) -> SigningKey {
        SigningKey::from([seed; 32])
    }

    fn public(seed: u8) -> Ed25519Public {
        ByteArray(VerificationKey::from(&signer(seed)).into())
    }

    fn sign(seed: u8, context: &[u8], target: &WorkReportHash) -> Ed25519Signature {
        let mut message = context.to_vec();
        message.extend_from_slice(&target.0);
        ByteArray(signer(seed).sign(&message).to_bytes())
    }

    fn validators(first_seed: u8) -> ValidatorsData {
        ValidatorsData::new(
            (0..P.validators_count)
                .map(|i| ValidatorData {
                    ed25519: public(first_seed + u8::try_from(i).expect("tiny")),
                    ..ValidatorData::default()
                })
                .collect(),
        )
    }

    fn report(n: u32) -> WorkReport {
        WorkReport {
            core_index: 1,
            auth_gas_used: u64::from(n),
            ..WorkReport::default()
        }
    }

    fn report_hash(report: &WorkReport) -> WorkReportHash {
        ByteArray(parajam_crypto::blake2b_256(&report.encode()))
    }

    fn pre_state() -> State {
        State {
            disputes: DisputesRecords::default(),
            availability: AvailabilityAssignments::new(vec![
                None,
                Some(AvailabilityAssignment {
                    report: report(1),
                    timeout: 3,
                }),
            ]),
            timeslot: TAU,
            active_validators: validators(1),
            previous_validators: validators(11),
        }
    }

    /// A verdict on `target` by the first five validators of the set whose
    /// seeds start at `first_seed`, the first `positive` of them voting valid.
    fn verdict(target: WorkReportHash, age: u32, first_seed: u8, positive: usize) -> Verdict {
        let votes: Vec<Judgement> = (0..P.validators_super_majority())
            .map(|i| {
                let vote = i < positive;
                let index = u16::try_from(i).expect("tiny");
                let seed = first_seed + u8::try_from(i).expect("tiny");
                Judgement {
                    vote,
                    index,
                    signature: sign(seed, judgement_context(vote), &target),
                }
            })
            .collect();
        Verdict {
            target,
            age,
            votes: votes.into(),
        }
    }

    fn culprit(seed: u8, target: WorkReportHash) -> Culprit {
        Culprit {
            target,
            key: public(seed),
            signature: sign(seed, GUARANTEE_CONTEXT, &target),
        }
    }

    fn fault(seed: u8, target: WorkReportHash, vote: bool) -> Fault {
        Fault {
            target,
            vote,
            key: public(seed),
            signature: sign(seed, judgement_context(vote), &target),
        }
    }

    /// Culprits sorted by key, as the extrinsic requires.
    fn culprits(mut items: Vec<Culprit>) -> Vec<Culprit> {
        items.sort_by_key(|c| c.key);
        items
    }

    fn run_on(pre: &State, disputes: DisputesExtrinsic) -> Result<(State, Output), Error> {
        let snapshot = pre.clone();
        let result = transition(
            pre,
            &Input {
                extrinsic: disputes,
            },
            &P,
        );
        assert_eq!(*pre, snapshot);
        result
    }

    fn run(disputes: DisputesExtrinsic) -> Result<(State, Output), Error> {
        run_on(&pre_state(), disputes)
    }

    /// Runs `disputes`, which must fail with an error of `variant`.
    macro_rules! expect_err {
        ($disputes:expr, $variant:ident) => {{
            let err = run($disputes).expect_err("invalid extrinsic");
            assert!(matches!(err, Error::$variant { .. }), "{err}");
            err
        }};
    }

    fn bad_verdict_extrinsic() -> DisputesExtrinsic {
        let target = report_hash(&report(1));
        DisputesExtrinsic {
            verdicts: vec![verdict(target, 2, 1, 0)],
            culprits: culprits(vec![culprit(1, target), culprit(2, target)]),
            faults: vec![],
        }
    }

    #[test]
    fn empty_extrinsic_changes_nothing() {
        let (post, out) = run(DisputesExtrinsic::default()).expect("valid");
        assert_eq!(post, pre_state());
        assert!(out.offenders_mark.is_empty());
    }

    #[test]
    fn bad_verdict_records_culprits_and_clears_the_core() {
        let disputes = bad_verdict_extrinsic();
        let (post, out) = run(disputes.clone()).expect("valid");
        let target = report_hash(&report(1));
        assert_eq!(post.disputes.bad, vec![target]);
        assert!(post.availability[1].is_none());
        let keys: Vec<_> = disputes.culprits.iter().map(|c| c.key).collect();
        assert_eq!(out.offenders_mark, keys);
        assert_eq!(post.disputes.offenders, keys);
    }

    #[test]
    fn good_verdict_with_fault_keeps_the_core() {
        let target = report_hash(&report(1));
        let disputes = DisputesExtrinsic {
            verdicts: vec![verdict(target, 2, 1, 5)],
            culprits: vec![],
            faults: vec![fault(6, target, false)],
        };
        let (post, out) = run(disputes).expect("valid");
        assert_eq!(post.disputes.good, vec![target]);
        assert!(post.availability[1].is_some());
        assert_eq!(out.offenders_mark, vec![public(6)]);
    }

    #[test]
    fn wonky_verdict_from_previous_set_clears_the_core() {
        let target = report_hash(&report(1));
        let disputes = DisputesExtrinsic {
            verdicts: vec![verdict(target, 1, 11, 2)],
            ..DisputesExtrinsic::default()
        };
        let (post, out) = run(disputes).expect("valid");
        assert_eq!(post.disputes.wonky, vec![target]);
        assert!(post.availability[1].is_none());
        assert!(out.offenders_mark.is_empty());
    }

    #[test]
    fn already_judged() {
        let mut pre = pre_state();
        pre.disputes.wonky.push(report_hash(&report(1)));
        let err = run_on(&pre, bad_verdict_extrinsic()).expect_err("judged");
        assert!(matches!(err, Error::AlreadyJudged { .. }), "{err}");
    }

    #[test]
    fn bad_vote_split() {
        let target = report_hash(&report(1));
        let mut d = bad_verdict_extrinsic();
        d.verdicts = vec![verdict(target, 2, 1, 3)];
        expect_err!(d, BadVoteSplit);
    }

    #[test]
    fn verdicts_not_sorted_unique() {
        let mut d = DisputesExtrinsic::default();
        let (a, b) = (ByteArray([1; 32]), ByteArray([2; 32]));
        d.verdicts = vec![verdict(b, 2, 1, 2), verdict(a, 2, 1, 2)];
        expect_err!(d.clone(), VerdictsNotSortedUnique);
        d.verdicts = vec![verdict(a, 2, 1, 2), verdict(a, 2, 1, 2)];
        expect_err!(d, VerdictsNotSortedUnique);
    }

    #[test]
    fn judgements_not_sorted_unique() {
        let mut d = bad_verdict_extrinsic();
        d.verdicts[0].votes.swap(0, 1);
        expect_err!(d.clone(), JudgementsNotSortedUnique);
        let repeated = d.verdicts[0].votes[1].clone();
        d.verdicts[0].votes[0] = repeated;
        expect_err!(d, JudgementsNotSortedUnique);
    }

    #[test]
    fn culprits_not_sorted_unique() {
        let mut d = bad_verdict_extrinsic();
        d.culprits.swap(0, 1);
        expect_err!(d.clone(), CulpritsNotSortedUnique);
        d.culprits[1] = d.culprits[0].clone();
        expect_err!(d, CulpritsNotSortedUnique);
    }

    #[test]
    fn faults_not_sorted_unique() {
        let target = report_hash(&report(1));
        let mut faults = vec![fault(5, target, false), fault(6, target, false)];
        faults.sort_by_key(|f| std::cmp::Reverse(f.key));
        let d = DisputesExtrinsic {
            verdicts: vec![verdict(target, 2, 1, 5)],
            culprits: vec![],
            faults,
        };
        expect_err!(d, FaultsNotSortedUnique);
    }

    #[test]
    fn not_enough_culprits() {
        let mut d = bad_verdict_extrinsic();
        d.culprits.pop();
        expect_err!(d, NotEnoughCulprits);
    }

    #[test]
    fn not_enough_faults() {
        let target = report_hash(&report(1));
        let d = DisputesExtrinsic {
            verdicts: vec![verdict(target, 2, 1, 5)],
            ..DisputesExtrinsic::default()
        };
        expect_err!(d, NotEnoughFaults);
    }

    #[test]
    fn culprit_for_report_not_bad() {
        let mut d = bad_verdict_extrinsic();
        d.culprits.push(culprit(3, ByteArray([7; 32])));
        d.culprits = culprits(d.culprits);
        expect_err!(d, CulpritsVerdictNotBad);
    }

    #[test]
    fn culprit_for_earlier_bad_report_is_accepted() {
        let target = ByteArray([7; 32]);
        let mut pre = pre_state();
        pre.disputes.bad.push(target);
        let d = DisputesExtrinsic {
            culprits: vec![culprit(3, target)],
            ..DisputesExtrinsic::default()
        };
        let (post, out) = run_on(&pre, d).expect("valid");
        assert_eq!(out.offenders_mark, vec![public(3)]);
        assert_eq!(post.disputes.offenders, vec![public(3)]);
    }

    #[test]
    fn fault_agreeing_with_verdict() {
        let target = report_hash(&report(1));
        let d = DisputesExtrinsic {
            verdicts: vec![verdict(target, 2, 1, 5)],
            culprits: vec![],
            faults: vec![fault(6, target, true)],
        };
        expect_err!(d, FaultVerdictWrong);
    }

    #[test]
    fn offender_already_reported() {
        let mut pre = pre_state();
        pre.disputes.offenders.push(public(1));
        let err = run_on(&pre, bad_verdict_extrinsic()).expect_err("reported");
        assert!(
            matches!(err, Error::OffenderAlreadyReported { .. }),
            "{err}"
        );
    }

    #[test]
    fn bad_judgement_age() {
        let target = report_hash(&report(1));
        let mut d = bad_verdict_extrinsic();
        d.verdicts = vec![verdict(target, 0, 11, 0)];
        expect_err!(d.clone(), BadJudgementAge);
        d.verdicts = vec![verdict(target, 3, 1, 0)];
        expect_err!(d, BadJudgementAge);
    }

    #[test]
    fn judgement_signed_by_wrong_set() {
        let target = report_hash(&report(1));
        let mut d = bad_verdict_extrinsic();
        // Signed by `λ` but claims `κ`'s epoch.
        d.verdicts = vec![verdict(target, 2, 11, 0)];
        expect_err!(d, BadSignature);
    }

    #[test]
    fn bad_validator_index() {
        let mut d = bad_verdict_extrinsic();
        d.verdicts[0].votes[4].index = P.validators_count;
        expect_err!(d, BadValidatorIndex);
    }

    #[test]
    fn bad_culprit_signature() {
        let mut d = bad_verdict_extrinsic();
        d.culprits[0].signature = sign(1, INVALID_CONTEXT, &d.culprits[0].target);
        expect_err!(d, BadSignature);
    }

    #[test]
    fn bad_guarantor_key() {
        let mut d = bad_verdict_extrinsic();
        d.culprits.push(culprit(99, d.culprits[0].target));
        d.culprits = culprits(d.culprits);
        expect_err!(d, BadGuarantorKey);
    }

    #[test]
    fn bad_auditor_key() {
        let target = report_hash(&report(1));
        let d = DisputesExtrinsic {
            verdicts: vec![verdict(target, 2, 1, 5)],
            culprits: vec![],
            faults: vec![fault(99, target, false)],
        };
        expect_err!(d, BadAuditorKey);
    }

    #[test]
    fn non_point_key_verifies_nothing() {
        // y = 2 is not the y-coordinate of a curve point.
        let mut key = [0u8; 32];
        key[0] = 2;
        assert!(VerificationKey::try_from(key).is_err());
        assert!(!ed25519_verify(
            &ByteArray(key),
            VALID_CONTEXT,
            &[0; 32],
            &ByteArray([0; 64])
        ));
    }

    /// ZIP-215 accepts a small-order key with a small-order `R` and `s = 0`
    /// (vector 1 of `jam-conformance/crypto/ed25519`: `A = R = (0, 1)`, the
    /// identity, canonical), where strict RFC 8032 verifiers refuse it.
    #[test]
    fn zip215_accepts_small_order_points() {
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(&identity);
        let signature = Signature::from_bytes(&signature);
        let key = VerificationKey::try_from(identity).expect("a point");
        assert!(key.verify(&signature, b"dummy").is_ok());
    }

    /// ZIP-215 accepts a non-canonical encoding of a point: `y = p + 1`
    /// encodes `y = 1`, the identity (vector of the same suite).
    #[test]
    fn zip215_accepts_non_canonical_points() {
        // p + 1 = 2^255 - 18, little-endian.
        let mut non_canonical = [0xff_u8; 32];
        non_canonical[0] = 0xee;
        non_canonical[31] = 0x7f;
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(&identity);
        let key = VerificationKey::try_from(non_canonical).expect("a point");
        assert!(key
            .verify(&Signature::from_bytes(&signature), b"dummy")
            .is_ok());
    }

    #[test]
    fn non_canonical_scalar_is_refused() {
        /// `ℓ`, the prime order of the base point, little-endian.
        const ELL: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let target = ByteArray([3; 32]);
        let good = sign(1, VALID_CONTEXT, &target);
        assert!(ed25519_verify(&public(1), VALID_CONTEXT, &target.0, &good));
        // `s + ℓ`: the same scalar mod `ℓ`, encoded non-canonically.
        let mut bad = good;
        let mut carry = 0u16;
        for (byte, ell) in bad.0[32..].iter_mut().zip(ELL) {
            let sum = u16::from(*byte) + u16::from(ell) + carry;
            *byte = sum.to_le_bytes()[0];
            carry = sum >> 8;
        }
        assert_eq!(carry, 0);
        assert!(!ed25519_verify(&public(1), VALID_CONTEXT, &target.0, &bad));
    }
}
