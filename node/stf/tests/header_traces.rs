//! Header validation on every block of the tiny traces
//! (`traces/<family>/*.bin` of the conformance vectors).
//!
//! For each block, the disputes and Safrole transitions run on the trace's
//! pre-state to give the expected markers; the header is then validated
//! against the trace's **post**-state `κ'` (`C(8)`), `γ'_s` (`C(4)`) and
//! `η'_3` (`C(6)`), the parent hash (last entry of the pre-state's `β_H`) and
//! the pre-state root. `Y(H_V)` must give the post-state
//! `η'_0 = H(η_0 ⌢ Y(H_V))`, and the header's hash must be the one the
//! post-state's `β_H` records. Mutation tests check the exact error of each
//! broken rule.

#![allow(clippy::unwrap_used)]

use jam_codec::{Decode, Encode};
use parajam_bandersnatch::VrfError;
use parajam_primitives::types::TraceStep;
use parajam_primitives::types::{
    AvailabilityAssignments, DisputesRecords, EntropyBuffer, RawState, RecentBlocks, SafroleState,
    StateComponent, TicketBody, TicketsOrKeys, TimeSlot, ValidatorsData,
};
use parajam_primitives::ByteArray;
use parajam_stf::header::{
    extrinsic_hash, header_hash, unverified_entropy, validate, verify_entropy_source,
    HeaderContext, HeaderError, HeaderOutputs,
};
use parajam_stf::{disputes, safrole};

mod common;

use common::{decode_step, ring, trace_files, PARAMS};

/// The trace steps of a family, in file order (genesis excluded).
fn steps(family: &str) -> Vec<(String, TraceStep)> {
    trace_files(family)
        .into_iter()
        .map(|path| (path.display().to_string(), decode_step(&path)))
        .collect()
}

fn component<T: Decode + Encode>(state: &RawState, c: StateComponent) -> T {
    let key = c.key();
    let kv = state.keyvals.iter().find(|kv| kv.key == key).unwrap();
    parajam_primitives::decode(kv.value.as_slice(), &PARAMS).unwrap()
}

/// Everything a header is validated against, owned.
struct Expected {
    parent_hash: ByteArray<32>,
    prior_state_root: ByteArray<32>,
    prior_slot: TimeSlot,
    pre_eta: EntropyBuffer,
    active_validators: ValidatorsData,
    seal_keys: TicketsOrKeys,
    entropy: EntropyBuffer,
    safrole: safrole::Output,
    disputes: disputes::Output,
}

impl Expected {
    fn of(step: &TraceStep) -> Self {
        let (pre, post, block) = (&step.pre_state, &step.post_state, &step.block);
        let tau: TimeSlot = component(pre, StateComponent::Timeslot);
        let kappa: ValidatorsData = component(pre, StateComponent::ActiveValidators);
        let lambda: ValidatorsData = component(pre, StateComponent::PreviousValidators);
        let pre_eta: EntropyBuffer = component(pre, StateComponent::Entropy);
        let gamma: SafroleState = component(pre, StateComponent::Safrole);
        let history: RecentBlocks = component(pre, StateComponent::RecentBlocks);

        let disputes_pre = disputes::State {
            disputes: component::<DisputesRecords>(pre, StateComponent::Disputes),
            availability: component::<AvailabilityAssignments>(
                pre,
                StateComponent::AvailabilityAssignments,
            ),
            timeslot: tau,
            active_validators: kappa.clone(),
            previous_validators: lambda.clone(),
        };
        let disputes_input = disputes::Input {
            extrinsic: block.extrinsic.disputes.clone(),
        };
        let (disputes_post, disputes_out) =
            disputes::transition(&disputes_pre, &disputes_input, &PARAMS).unwrap();

        let safrole_pre = safrole::State {
            timeslot: tau,
            entropy: pre_eta,
            previous_validators: lambda,
            active_validators: kappa,
            pending_validators: gamma.pending_validators,
            staging_validators: component(pre, StateComponent::StagingValidators),
            ticket_accumulator: gamma.ticket_accumulator,
            seal_keys: gamma.seal_keys,
            epoch_root: gamma.epoch_root,
            offenders: disputes_post.disputes.offenders,
        };
        let safrole_input = safrole::Input {
            slot: block.header.slot,
            entropy: unverified_entropy(&block.header).unwrap(),
            extrinsic: block.extrinsic.tickets.clone(),
        };
        let (safrole_post, safrole_out) =
            safrole::transition(&safrole_pre, &safrole_input, &PARAMS, ring()).unwrap();

        let post_kappa: ValidatorsData = component(post, StateComponent::ActiveValidators);
        let post_gamma: SafroleState = component(post, StateComponent::Safrole);
        let post_eta: EntropyBuffer = component(post, StateComponent::Entropy);
        // The Safrole module agrees with the trace on what the seal is checked against.
        assert_eq!(safrole_post.active_validators, post_kappa);
        assert_eq!(safrole_post.seal_keys, post_gamma.seal_keys);
        assert_eq!(safrole_post.entropy, post_eta);

        Self {
            parent_hash: history.history.last().unwrap().header_hash,
            prior_state_root: pre.state_root,
            prior_slot: tau,
            pre_eta,
            active_validators: post_kappa,
            seal_keys: post_gamma.seal_keys,
            entropy: post_eta,
            safrole: safrole_out,
            disputes: disputes_out,
        }
    }

    fn context(&self) -> HeaderContext<'_> {
        HeaderContext {
            params: &PARAMS,
            parent_hash: self.parent_hash,
            prior_state_root: Some(self.prior_state_root),
            prior_slot: self.prior_slot,
            current_slot: None,
            active_validators: &self.active_validators,
            seal_keys: &self.seal_keys,
            eta3: self.entropy[3],
            epoch_mark: self.safrole.epoch_mark.as_ref(),
            tickets_mark: self.safrole.tickets_mark.as_ref(),
            offenders_mark: &self.disputes.offenders_mark,
        }
    }
}

/// Validates every block of a family; returns how many were ticket-sealed
/// and how many in total.
fn check_family(family: &str) -> (usize, usize) {
    let steps = steps(family);
    let mut ticketed = 0;
    for (name, step) in &steps {
        let expected = Expected::of(step);
        let header = &step.block.header;
        assert_eq!(
            header.extrinsic_hash,
            extrinsic_hash(&step.block.extrinsic),
            "{name}: H_X"
        );
        let out: HeaderOutputs = validate(header, &step.block.extrinsic, &expected.context())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // `η'_0 = H(η_0 ⌢ Y(H_V))` (eq. 6.22), every block.
        let eta0 = parajam_crypto::blake2b_256_concat(&[&expected.pre_eta[0].0, &out.entropy.0]);
        assert_eq!(eta0, expected.entropy[0].0, "{name}: η'_0");
        assert_eq!(out.entropy, unverified_entropy(header).unwrap());
        assert_eq!(
            out.author,
            expected.active_validators[usize::from(header.author_index)].bandersnatch
        );
        // The post-state records this header's hash (eq. 7.5).
        let history: RecentBlocks = component(&step.post_state, StateComponent::RecentBlocks);
        assert_eq!(
            history.history.last().unwrap().header_hash,
            header_hash(header),
            "{name}: header hash"
        );
        ticketed += usize::from(out.ticketed);
    }
    (ticketed, steps.len())
}

#[test]
fn fallback_trace_headers_validate() {
    let (ticketed, total) = check_family("fallback");
    assert_eq!(total, 100);
    assert_eq!(ticketed, 0, "the fallback trace is sealed by keys only");
}

#[test]
fn safrole_trace_headers_validate() {
    let (ticketed, total) = check_family("safrole");
    assert_eq!(total, 100);
    assert!(ticketed > 0, "the safrole trace has ticket-sealed blocks");
    assert!(ticketed < total, "and fallback-sealed ones");
}

#[test]
fn storage_trace_headers_validate() {
    assert_eq!(check_family("storage").1, 100);
}

#[test]
fn storage_light_trace_headers_validate() {
    assert_eq!(check_family("storage_light").1, 100);
}

#[test]
fn preimages_trace_headers_validate() {
    assert_eq!(check_family("preimages").1, 100);
}

#[test]
fn preimages_light_trace_headers_validate() {
    assert_eq!(check_family("preimages_light").1, 100);
}

/// A block, what it is validated against, and its valid outputs.
struct Sample {
    step: TraceStep,
    expected: Expected,
    ok: HeaderOutputs,
}

/// The first ticket-sealed and the first key-sealed block of the safrole trace.
fn samples() -> [Sample; 2] {
    let mut ticket = None;
    let mut key = None;
    for (_, step) in steps("safrole") {
        let post_gamma: SafroleState = component(&step.post_state, StateComponent::Safrole);
        match post_gamma.seal_keys {
            TicketsOrKeys::Tickets(_) if ticket.is_none() => ticket = Some(step),
            TicketsOrKeys::Keys(_) if key.is_none() => key = Some(step),
            _ => {}
        }
        if ticket.is_some() && key.is_some() {
            break;
        }
    }
    [ticket.unwrap(), key.unwrap()].map(|step| {
        let expected = Expected::of(&step);
        let ok = validate(
            &step.block.header,
            &step.block.extrinsic,
            &expected.context(),
        )
        .unwrap();
        Sample { step, expected, ok }
    })
}

fn flip(bytes: &mut [u8], at: usize) {
    bytes[at] ^= 1;
}

#[test]
fn sample_blocks_cover_both_sealing_modes() {
    let [ticket, key] = samples();
    assert!(ticket.ok.ticketed);
    assert!(!key.ok.ticketed);
}

#[test]
fn broken_seal_or_entropy_source_is_rejected() {
    for Sample { step, expected, ok } in samples() {
        let ctx = expected.context();
        let (header, extrinsic) = (&step.block.header, &step.block.extrinsic);

        // The seal: a bit of the proof's challenge (still a canonical scalar).
        let mut h = header.clone();
        flip(&mut h.seal.0, 32);
        assert_eq!(
            validate(&h, extrinsic, &ctx),
            Err(HeaderError::BadSeal(VrfError::Invalid))
        );

        // `H_V`: it is part of `E_U(H)`, so the seal breaks first; on its own,
        // the entropy signature fails.
        let mut h = header.clone();
        flip(&mut h.entropy_source.0, 32);
        assert_eq!(
            validate(&h, extrinsic, &ctx),
            Err(HeaderError::BadSeal(VrfError::Invalid))
        );
        assert_eq!(
            verify_entropy_source(&h, &ok.author, &ok.seal_output),
            Err(HeaderError::BadEntropySource(VrfError::Invalid))
        );
        assert_eq!(
            verify_entropy_source(header, &ok.author, &ok.seal_output),
            Ok(ok.entropy)
        );
        // The entropy context commits to `Y(H_S)`.
        assert_eq!(
            verify_entropy_source(header, &ok.author, &ok.entropy),
            Err(HeaderError::BadEntropySource(VrfError::Invalid))
        );

        // `η'_3` is in the seal's context.
        let mut c = ctx;
        c.eta3 = expected.entropy[2];
        assert_eq!(
            validate(header, extrinsic, &c),
            Err(HeaderError::BadSeal(VrfError::Invalid))
        );
    }
}

#[test]
fn changed_extrinsic_is_rejected() {
    for Sample { step, expected, .. } in samples() {
        let ctx = expected.context();
        let header = &step.block.header;
        let mut x = step.block.extrinsic.clone();
        x.preimages.push(parajam_primitives::types::Preimage {
            requester: 0,
            blob: vec![1, 2, 3].into(),
        });
        assert_eq!(
            validate(header, &x, &ctx),
            Err(HeaderError::ExtrinsicHashMismatch {
                expected: extrinsic_hash(&x),
                found: header.extrinsic_hash,
            })
        );
        let mut x = step.block.extrinsic.clone();
        x.disputes
            .culprits
            .push(parajam_primitives::types::Culprit {
                target: ByteArray([1; 32]),
                key: ByteArray([2; 32]),
                signature: ByteArray([3; 64]),
            });
        assert!(matches!(
            validate(header, &x, &ctx),
            Err(HeaderError::ExtrinsicHashMismatch { .. })
        ));
        if let Some(ticket) = x.tickets.first_mut() {
            flip(&mut ticket.signature.0, 100);
            assert!(matches!(
                validate(header, &x, &ctx),
                Err(HeaderError::ExtrinsicHashMismatch { .. })
            ));
        }
    }
}

#[test]
fn changed_author_index_is_rejected() {
    for Sample { step, expected, ok } in samples() {
        let ctx = expected.context();
        let (header, extrinsic) = (&step.block.header, &step.block.extrinsic);
        let mut h = header.clone();
        h.author_index = PARAMS.validators_count;
        assert_eq!(
            validate(&h, extrinsic, &ctx),
            Err(HeaderError::BadAuthorIndex {
                index: PARAMS.validators_count,
                validators: usize::from(PARAMS.validators_count),
            })
        );
        let mut h = header.clone();
        h.author_index = (h.author_index + 1) % PARAMS.validators_count;
        let other = expected.active_validators[usize::from(h.author_index)].bandersnatch;
        let want = if ok.ticketed {
            // Anyone may hold a ticket: the seal no longer verifies.
            HeaderError::BadSeal(VrfError::Invalid)
        } else {
            HeaderError::SealKeyMismatch {
                expected: ok.author,
                author: other,
            }
        };
        assert_eq!(validate(&h, extrinsic, &ctx), Err(want));
    }
}

#[test]
fn wrong_parent_state_root_or_slot_is_rejected() {
    for Sample { step, expected, ok } in samples() {
        let ctx = expected.context();
        let (header, extrinsic) = (&step.block.header, &step.block.extrinsic);
        let mut c = ctx;
        c.parent_hash = ByteArray([7; 32]);
        assert_eq!(
            validate(header, extrinsic, &c),
            Err(HeaderError::BadParent {
                expected: ByteArray([7; 32]),
                found: header.parent,
            })
        );
        let mut c = ctx;
        c.prior_state_root = Some(ByteArray([7; 32]));
        assert_eq!(
            validate(header, extrinsic, &c),
            Err(HeaderError::BadPriorStateRoot {
                expected: ByteArray([7; 32]),
                found: header.parent_state_root,
            })
        );
        c.prior_state_root = None;
        assert_eq!(validate(header, extrinsic, &c), Ok(ok));
        let mut c = ctx;
        c.prior_slot = header.slot;
        assert_eq!(
            validate(header, extrinsic, &c),
            Err(HeaderError::SlotNotAfterPrior {
                slot: header.slot,
                prior: header.slot,
            })
        );
        let mut c = ctx;
        c.current_slot = Some(header.slot - 1);
        assert_eq!(
            validate(header, extrinsic, &c),
            Err(HeaderError::FutureSlot {
                slot: header.slot,
                now: header.slot - 1,
            })
        );
        c.current_slot = Some(header.slot);
        assert_eq!(validate(header, extrinsic, &c), Ok(ok));
    }
}

#[test]
fn wrong_markers_are_rejected() {
    let fake_epoch = parajam_primitives::types::EpochMark::default();
    let fake_tickets = parajam_primitives::codec::FixedSeq::new(vec![
        TicketBody::default();
        PARAMS.epoch_length as usize
    ]);
    let offender = [ByteArray([9; 32])];
    for Sample { step, expected, .. } in samples() {
        let ctx = expected.context();
        let (header, extrinsic) = (&step.block.header, &step.block.extrinsic);
        // Expecting a marker the header lacks, or lacking one it has.
        let mut c = ctx;
        c.epoch_mark = if header.epoch_mark.is_some() {
            None
        } else {
            Some(&fake_epoch)
        };
        assert_eq!(
            validate(header, extrinsic, &c),
            Err(HeaderError::EpochMarkMismatch)
        );
        let mut c = ctx;
        c.tickets_mark = if header.tickets_mark.is_some() {
            None
        } else {
            Some(&fake_tickets)
        };
        assert_eq!(
            validate(header, extrinsic, &c),
            Err(HeaderError::TicketsMarkMismatch)
        );
        let mut c = ctx;
        c.offenders_mark = &offender;
        assert_eq!(
            validate(header, extrinsic, &c),
            Err(HeaderError::OffendersMarkMismatch)
        );
    }
}

#[test]
fn wrong_slot_sealer_is_rejected() {
    for Sample { step, expected, ok } in samples() {
        let ctx = expected.context();
        let (header, extrinsic) = (&step.block.header, &step.block.extrinsic);
        let index = (header.slot % PARAMS.epoch_length) as usize;
        match &expected.seal_keys {
            TicketsOrKeys::Tickets(tickets) => {
                // A ticket with another id: the signature verifies, the id does not match.
                let mut wrong = tickets.clone();
                wrong[index].id = ByteArray([5; 32]);
                let wrong = TicketsOrKeys::Tickets(wrong);
                let mut c = ctx;
                c.seal_keys = &wrong;
                assert_eq!(
                    validate(header, extrinsic, &c),
                    Err(HeaderError::SealTicketMismatch {
                        expected: ByteArray([5; 32]),
                        found: ok.seal_output,
                    })
                );
                // Another entry index changes the context.
                let mut wrong = tickets.clone();
                wrong[index].attempt ^= 1;
                let wrong = TicketsOrKeys::Tickets(wrong);
                c.seal_keys = &wrong;
                assert_eq!(
                    validate(header, extrinsic, &c),
                    Err(HeaderError::BadSeal(VrfError::Invalid))
                );
            }
            TicketsOrKeys::Keys(keys) => {
                let mut wrong = keys.clone();
                wrong[index] = ByteArray([5; 32]);
                let wrong = TicketsOrKeys::Keys(wrong);
                let mut c = ctx;
                c.seal_keys = &wrong;
                assert_eq!(
                    validate(header, extrinsic, &c),
                    Err(HeaderError::SealKeyMismatch {
                        expected: ByteArray([5; 32]),
                        author: ok.author,
                    })
                );
                // A ticket-sealed context for a key-sealed block.
                let as_tickets =
                    TicketsOrKeys::Tickets(parajam_primitives::codec::FixedSeq::new(vec![
                        TicketBody {
                            id: ok.seal_output,
                            attempt: 0,
                        };
                        PARAMS.epoch_length as usize
                    ]));
                c.seal_keys = &as_tickets;
                assert_eq!(
                    validate(header, extrinsic, &c),
                    Err(HeaderError::BadSeal(VrfError::Invalid))
                );
            }
        }
        let empty = TicketsOrKeys::Keys(parajam_primitives::codec::FixedSeq::new(vec![]));
        let mut c = ctx;
        c.seal_keys = &empty;
        assert_eq!(
            validate(header, extrinsic, &c),
            Err(HeaderError::NoSealKey { slot: header.slot })
        );
    }
}

#[test]
fn guarantees_commit_to_report_hash_slot_and_credentials() {
    // A block with guarantees, from the storage trace.
    let (_, step) = steps("storage")
        .into_iter()
        .find(|(_, s)| !s.block.extrinsic.guarantees.is_empty())
        .expect("the storage trace has guarantees");
    let x = &step.block.extrinsic;
    let base = extrinsic_hash(x);
    assert_eq!(base, step.block.header.extrinsic_hash);

    let mut y = x.clone();
    y.guarantees[0].slot += 1;
    assert_ne!(extrinsic_hash(&y), base);
    let mut y = x.clone();
    flip(&mut y.guarantees[0].signatures[0].signature.0, 0);
    assert_ne!(extrinsic_hash(&y), base);
    let mut y = x.clone();
    y.guarantees[0].report.core_index ^= 1;
    assert_ne!(extrinsic_hash(&y), base);
}
