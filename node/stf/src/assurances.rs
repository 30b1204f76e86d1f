//! Availability assurances (GP §11.2 "Package Availability Assurances",
//! eq. 11.10 – 11.17).
//!
//! The assurances extrinsic `E_A` holds at most one assurance per validator:
//! an anchor `a`, a bitfield `f ∈ 𝔹_C` (one bit per core), the assuring
//! validator's index `v` and its Ed25519 signature `s`. It is valid when
//!
//! * every anchor is the parent hash `H_p` (eq. 11.11);
//! * the validator indices are strictly increasing (eq. 11.12), and each is
//!   an index of the active set `κ`;
//! * each signature is `κ[v]_e`'s over `X_A ⌢ H(E(H_p, f))` with
//!   `X_A = "jam_available"` (eq. 11.13 – 11.14);
//! * a bit is set only for a core with a report pending availability,
//!   `ρ†[c] ≠ ∅` (eq. 11.15).
//!
//! A pending report becomes *available* when more than two thirds of the
//! validators set its core's bit: `W` (eq. 11.16), in core order. `ρ‡` is
//! `ρ†` without the reports now available and without those reported at
//! least `U` slots before `H_t` (eq. 11.17). A timed-out report that still
//! gathers a super-majority is available (it is in `W`).

use jam_codec::{Decode, Encode};
use parajam_primitives::types::{
    AssurancesExtrinsic, AvailAssurance, AvailabilityAssignments, Ed25519Public, Ed25519Signature,
    HeaderHash, TimeSlot, ValidatorIndex, ValidatorsData, WorkReport,
};
use parajam_primitives::ProtocolParameters;

/// `X_A`: the context string of an availability assurance signature (eq. 11.14).
pub const CONTEXT_AVAILABLE: &[u8] = b"jam_available";

/// The state the assurances transition reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// `ρ†` before, `ρ‡` after: reports pending availability, once
    /// disputes have removed the judged ones.
    pub availability: AvailabilityAssignments,
    /// `κ`: the active validators (read only).
    pub active_validators: ValidatorsData,
}

/// What the transition reads from the block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// `E_A`.
    pub assurances: AssurancesExtrinsic,
    /// `H_t`.
    pub slot: TimeSlot,
    /// `H_p`.
    pub parent: HeaderHash,
}

/// What the transition yields besides the state.
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode)]
pub struct Output {
    /// `W`: the reports that became available, in core order (eq. 11.16).
    pub reported: Vec<WorkReport>,
}

/// Why an assurances extrinsic is invalid.
///
/// The STF test vectors (`assurances.asn`) number these errors; the
/// conformance harness maps each variant to its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Error {
    /// An assurance is not anchored on the parent block (eq. 11.11).
    #[error("assurance {index} is not anchored on the parent block")]
    BadAttestationParent {
        /// Index of the assurance in `E_A`.
        index: usize,
    },
    /// An assurance's validator index is not below `V`.
    #[error("assurance {index} names validator {validator}, not an index of κ")]
    BadValidatorIndex {
        /// Index of the assurance in `E_A`.
        index: usize,
        /// The validator index it names.
        validator: ValidatorIndex,
    },
    /// An assurance sets the bit of a core with no pending report (eq. 11.15).
    #[error("assurance {index} sets the bit of core {core}, which has no pending report")]
    CoreNotEngaged {
        /// Index of the assurance in `E_A`.
        index: usize,
        /// The core.
        core: usize,
    },
    /// An assurance's signature does not verify (eq. 11.13).
    #[error("assurance {index} has an invalid signature")]
    BadSignature {
        /// Index of the assurance in `E_A`.
        index: usize,
    },
    /// The validator indices are not strictly increasing (eq. 11.12).
    #[error("assurers not sorted or not unique, at assurance {index}")]
    NotSortedOrUniqueAssurers {
        /// Index of the first assurance not after its predecessor.
        index: usize,
    },
}

/// Whether `signature` is a valid Ed25519 signature of `key` over
/// `message`. Uses the strict verification of `ed25519-dalek` (canonical
/// encodings, no small-order keys); a key that is not a curve point (such
/// as the zero key of an offender, GP eq. 6.14) verifies nothing.
pub fn ed25519_verify(key: &Ed25519Public, message: &[u8], signature: &Ed25519Signature) -> bool {
    parajam_crypto::ed25519_verify(&key.0, &[message], &signature.0)
}

/// The message an assurance signs: `X_A ⌢ H(E(H_p, f))` (eq. 11.13).
pub fn signed_message(parent: &HeaderHash, assurance: &AvailAssurance) -> Vec<u8> {
    let mut encoded = parent.0.to_vec();
    encoded.extend_from_slice(&assurance.bitfield);
    let hash = parajam_crypto::blake2b_256(&encoded);
    [CONTEXT_AVAILABLE, &hash[..]].concat()
}

/// Checks `E_A` against `ρ†` and `κ` (eq. 11.11 – 11.15): over the whole
/// extrinsic first the validator indices (each in `κ`), then their order and
/// uniqueness; then each assurance in turn: anchor, engaged cores, signature.
pub fn validate(
    assignments: &AvailabilityAssignments,
    validators: &ValidatorsData,
    input: &Input,
    params: &ProtocolParameters,
) -> Result<(), Error> {
    if let Some((index, assurance)) = input
        .assurances
        .iter()
        .enumerate()
        .find(|(_, a)| usize::from(a.validator_index) >= validators.len())
    {
        return Err(Error::BadValidatorIndex {
            index,
            validator: assurance.validator_index,
        });
    }
    if let Some(index) = input
        .assurances
        .windows(2)
        .position(|w| w[0].validator_index >= w[1].validator_index)
    {
        return Err(Error::NotSortedOrUniqueAssurers { index: index + 1 });
    }
    let cores = usize::from(params.core_count);
    for (index, assurance) in input.assurances.iter().enumerate() {
        let Some(key) = validators.get(usize::from(assurance.validator_index)) else {
            return Err(Error::BadValidatorIndex {
                index,
                validator: assurance.validator_index,
            });
        };
        if assurance.anchor != input.parent {
            return Err(Error::BadAttestationParent { index });
        }
        // Bits past `C` in the last octet are padding; a set one names no
        // core with a pending report.
        for core in 0..assurance.bitfield.len() * 8 {
            let engaged = core < cores && assignments.get(core).is_some_and(Option::is_some);
            if assurance.is_available(core) && !engaged {
                return Err(Error::CoreNotEngaged { index, core });
            }
        }
        let message = signed_message(&input.parent, assurance);
        if !ed25519_verify(&key.ed25519, &message, &assurance.signature) {
            return Err(Error::BadSignature { index });
        }
    }
    Ok(())
}

/// `W` (eq. 11.16): the cores whose bit more than `2V/3` assurances set,
/// in core order. Assumes `E_A` was validated.
pub fn available_cores(
    assurances: &AssurancesExtrinsic,
    params: &ProtocolParameters,
) -> Vec<usize> {
    let threshold = params.validators_super_majority();
    (0..usize::from(params.core_count))
        .filter(|&core| assurances.iter().filter(|a| a.is_available(core)).count() >= threshold)
        .collect()
}

/// `ρ‡` and `W` (eq. 11.16 – 11.17) from a validated `E_A`, in place: takes
/// every available report out of `assignments` and returns them in core
/// order, then clears every report with `H_t ≥ t + U`.
pub fn apply(
    assignments: &mut AvailabilityAssignments,
    assurances: &AssurancesExtrinsic,
    slot: TimeSlot,
    params: &ProtocolParameters,
) -> Vec<WorkReport> {
    let mut available = Vec::new();
    for core in available_cores(assurances, params) {
        if let Some(assignment) = assignments.get_mut(core).and_then(Option::take) {
            available.push(assignment.report);
        }
    }
    for entry in assignments.iter_mut() {
        let timed_out = entry.as_ref().is_some_and(|a| {
            u64::from(slot) >= u64::from(a.timeout) + u64::from(params.assurance_timeout_period)
        });
        if timed_out {
            *entry = None;
        }
    }
    available
}

/// The assurances transition of the STF test vectors: validate `E_A`
/// (eq. 11.11 – 11.15), then `ρ‡` and `W` (eq. 11.16 – 11.17). On error
/// nothing is built and `pre` stands.
pub fn transition(
    pre: &State,
    input: &Input,
    params: &ProtocolParameters,
) -> Result<(State, Output), Error> {
    validate(&pre.availability, &pre.active_validators, input, params)?;
    let mut post = pre.clone();
    let reported = apply(
        &mut post.availability,
        &input.assurances,
        input.slot,
        params,
    );
    Ok((post, Output { reported }))
}

#[cfg(test)]
mod tests {
    use parajam_primitives::codec::FixedBytes;
    use parajam_primitives::types::AvailabilityAssignment;
    use parajam_primitives::ByteArray;

    use super::*;
    use crate::test_keys::validators;

    const P: ProtocolParameters = ProtocolParameters::TINY;
    const PARENT: HeaderHash = ByteArray([7; 32]);

    fn secret(v: ValidatorIndex) -> ed25519_zebra::SigningKey {
        crate::test_keys::secret(usize::from(v))
    }

    fn report(core: u16) -> WorkReport {
        WorkReport {
            core_index: core,
            ..WorkReport::default()
        }
    }

    /// Core 0 reported at slot 10, core 1 at slot 3.
    fn pre_state() -> State {
        State {
            availability: AvailabilityAssignments::new(vec![
                Some(AvailabilityAssignment {
                    report: report(0),
                    timeout: 10,
                }),
                Some(AvailabilityAssignment {
                    report: report(1),
                    timeout: 3,
                }),
            ]),
            active_validators: validators(),
        }
    }

    fn assurance(v: ValidatorIndex, bits: u8) -> AvailAssurance {
        let mut a = AvailAssurance {
            anchor: PARENT,
            bitfield: FixedBytes::new(vec![bits]),
            validator_index: v,
            signature: ByteArray([0; 64]),
        };
        let message = signed_message(&PARENT, &a);
        a.signature = ByteArray(secret(v).sign(&message).into());
        a
    }

    fn run(assurances: Vec<AvailAssurance>, slot: TimeSlot) -> Result<(State, Output), Error> {
        let input = Input {
            assurances: AssurancesExtrinsic::new(assurances),
            slot,
            parent: PARENT,
        };
        transition(&pre_state(), &input, &P)
    }

    #[test]
    fn super_majority_makes_a_report_available() {
        // Five of six (> 2V/3 = 4) assure core 0; only four assure core 1.
        let assurances = (0..5).map(|v| assurance(v, if v < 4 { 3 } else { 1 }));
        let (post, out) = run(assurances.collect(), 7).expect("valid");
        assert_eq!(out.reported, vec![report(0)]);
        assert_eq!(post.availability[0], None);
        assert!(post.availability[1].is_some());
    }

    #[test]
    fn four_of_six_is_not_enough() {
        let assurances = (0..4).map(|v| assurance(v, 1)).collect();
        let (post, out) = run(assurances, 4).expect("valid");
        assert!(out.reported.is_empty());
        assert_eq!(post, pre_state());
    }

    #[test]
    fn timed_out_reports_are_dropped_without_output() {
        // Core 1 was reported at 3: at H_t = 8 = 3 + U it times out.
        let (post, out) = run(vec![], 8).expect("valid");
        assert!(out.reported.is_empty());
        assert!(post.availability[0].is_some());
        assert_eq!(post.availability[1], None);
        let (post, _) = run(vec![], 7).expect("valid");
        assert!(post.availability[1].is_some());
    }

    #[test]
    fn each_rule_has_its_error() {
        let mut bad_parent = assurance(0, 1);
        bad_parent.anchor = ByteArray([8; 32]);
        assert!(matches!(
            run(vec![bad_parent], 4).map(|_| ()).expect_err("invalid"),
            Error::BadAttestationParent { .. }
        ));
        let mut bad_index = assurance(0, 1);
        bad_index.validator_index = 6;
        assert!(matches!(
            run(vec![bad_index], 4).map(|_| ()).expect_err("invalid"),
            Error::BadValidatorIndex { .. }
        ));
        let mut state = pre_state();
        state.availability[1] = None;
        let input = Input {
            assurances: AssurancesExtrinsic::new(vec![assurance(0, 2)]),
            slot: 4,
            parent: PARENT,
        };
        let err = transition(&state, &input, &P)
            .map(|_| ())
            .expect_err("invalid");
        assert_eq!(err, Error::CoreNotEngaged { index: 0, core: 1 });
        let mut bad_sig = assurance(0, 1);
        bad_sig.bitfield = FixedBytes::new(vec![3]);
        assert!(matches!(
            run(vec![bad_sig], 4).map(|_| ()).expect_err("invalid"),
            Error::BadSignature { .. }
        ));
        let unsorted = vec![assurance(1, 1), assurance(0, 1)];
        assert!(matches!(
            run(unsorted, 4).map(|_| ()).expect_err("invalid"),
            Error::NotSortedOrUniqueAssurers { .. }
        ));
        let duplicate = vec![assurance(1, 1), assurance(1, 1)];
        assert!(matches!(
            run(duplicate, 4).map(|_| ()).expect_err("invalid"),
            Error::NotSortedOrUniqueAssurers { .. }
        ));
    }

    #[test]
    fn padding_bits_past_the_cores_are_rejected() {
        // Tiny has 2 cores: bit 2 names no core.
        let err = run(vec![assurance(0, 4)], 4)
            .map(|_| ())
            .expect_err("invalid");
        assert_eq!(err, Error::CoreNotEngaged { index: 0, core: 2 });
    }
}
