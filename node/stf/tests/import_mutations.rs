//! Whole-block import rejects broken blocks with the right typed error.
//!
//! Each test takes real blocks of the tiny traces (`traces/<family>/*.bin`
//! of the conformance vectors), checks that the unmodified block imports to
//! the trace's post-state root, then mutates one thing and checks the exact
//! [`InvalidBlock`] reason that `import` returns, and that the prior state is left
//! as it was (equal to a clone taken before, same root).
//!
//! Extrinsic mutations re-compute `H_X` so that the extrinsic-hash check
//! passes; the header then no longer matches its seal, and since
//! `block::import` validates the header (step 4: seal under `κ'`, `γ'_s`,
//! `η'_3`) before assurances (5), guarantees (6) and preimages (7), such a
//! block is rejected with `Header(BadSeal(Invalid))`. The extrinsic's own
//! error is then shown by calling the component STF on the same inputs
//! `import` gives it. Tickets are the exception: the Safrole transition
//! (step 3) verifies the ring proofs before the seal is looked at.
//!
//! Every rejection is printed (`--no-capture` shows the table).
//! `header_seal_challenge_non_canonical_is_rejected` found a real bug (a
//! re-encoded seal was accepted), fixed in `parajam-bandersnatch`.

#![allow(clippy::unwrap_used, clippy::panic)]

use parajam_bandersnatch::VrfError;
use parajam_primitives::codec::FixedSeq;
use parajam_primitives::types::TraceStep;
use parajam_primitives::types::{
    Block, CoreActivityRecord, EpochMark, Preimage, RawState, StateRoot, TicketBody, TicketsOrKeys,
};
use parajam_state::State;
use parajam_stf::block::{ImportError, InvalidBlock};
use parajam_stf::header::{extrinsic_hash, header_hash, HeaderError, SlotSealer};
use parajam_stf::{assurances, preimages, reports, safrole};

mod common;

use common::{decode_step, import_on, import_with_ancestry, trace_files, vectors_dir, PARAMS};

/// Imports `block` on `pre` (whose root is `root`), expecting a rejection;
/// checks that `pre` is unchanged and returns the error.
fn reject(what: &str, pre: &State, root: StateRoot, block: &Block) -> InvalidBlock {
    let before = pre.clone();
    let result = import_on(pre, root, block);
    assert_eq!(*pre, before, "{what}: the prior state changed");
    assert_eq!(pre.root(), root, "{what}: the prior state root changed");
    match result {
        Ok(imported) => panic!(
            "{what}: the mutated block was imported (posterior root {})",
            imported.state.root()
        ),
        Err(ImportError::Invalid(e)) => {
            eprintln!("{what}: {e:?}");
            e
        }
        Err(ImportError::Node(e)) => panic!("{what}: a node failure, not an invalid block: {e}"),
    }
}

/// `case.reject(what, block)` (`Case::reject`) must fail with an error
/// matching the pattern.
macro_rules! assert_rejects {
    ($case:expr, $what:expr, $block:expr, $($pattern:pat_param)|+ $(if $guard:expr)?) => {{
        let e = $case.reject($what, $block);
        assert!(matches!(e, $($pattern)|+ $(if $guard)?), "{e:?}");
    }};
}

/// A valid trace step with its typed pre- and post-state.
struct Case {
    name: String,
    step: TraceStep,
    pre: State,
    post: State,
}

impl Case {
    fn new(name: String, step: TraceStep) -> Self {
        let pre = State::from_key_values(&step.pre_state.keyvals, &PARAMS).unwrap();
        let post = State::from_key_values(&step.post_state.keyvals, &PARAMS).unwrap();
        Self {
            name,
            step,
            pre,
            post,
        }
    }

    fn root(&self) -> StateRoot {
        self.step.pre_state.state_root
    }

    fn block(&self) -> &Block {
        &self.step.block
    }

    /// The unmodified block imports to the trace's post-state root.
    fn check_valid(&self) {
        let imported = import_on(&self.pre, self.root(), self.block())
            .unwrap_or_else(|e| panic!("{}: unmodified block: {e}", self.name));
        assert_eq!(
            imported.state.root(),
            self.step.post_state.state_root,
            "{}: unmodified block: post-state root",
            self.name
        );
    }

    /// Imports a mutation of this case's block on its pre-state, expecting
    /// a rejection.
    fn reject(&self, what: &str, block: &Block) -> InvalidBlock {
        reject(
            &format!("{}: {what}", self.name),
            &self.pre,
            self.root(),
            block,
        )
    }

    /// Rejects `block` (a changed extrinsic) with its stale `H_X`, then
    /// with `H_X` re-computed; returns both errors.
    fn reject_extrinsic(&self, what: &str, mut block: Block) -> (InvalidBlock, InvalidBlock) {
        let stale = self.reject(&format!("{what} (stale H_X)"), &block);
        block.header.extrinsic_hash = extrinsic_hash(&block.extrinsic);
        (stale, self.reject(what, &block))
    }

    /// `e` is `H_X` of this case's block not matching `block`'s extrinsic.
    fn stale_hash(&self, e: &InvalidBlock, block: &Block) -> bool {
        matches!(e, InvalidBlock::Header(HeaderError::ExtrinsicHashMismatch { expected, found })
            if *expected == extrinsic_hash(&block.extrinsic)
                && *found == self.block().header.extrinsic_hash)
    }

    /// `H_A = κ'[H_I]_b` of the unmodified block.
    fn author(&self) -> parajam_primitives::types::BandersnatchPublic {
        self.post.active_validators[usize::from(self.block().header.author_index)].bandersnatch
    }
}

/// The first valid step of `family` (in file order) that `pred` accepts;
/// its unmodified block imports to the trace's post-state root.
fn find(family: &str, pred: impl Fn(&TraceStep) -> bool) -> Case {
    for path in trace_files(family) {
        let step = decode_step(&path);
        if step.post_state != step.pre_state && pred(&step) {
            let case = Case::new(path.display().to_string(), step);
            case.check_valid();
            return case;
        }
    }
    panic!("no step of traces/{family} fits");
}

/// The first two consecutive valid steps of `family` whose first `pred`
/// accepts; both unmodified blocks import to their post-state roots.
fn find_pair(family: &str, pred: impl Fn(&TraceStep) -> bool) -> (Case, Case) {
    let files = trace_files(family);
    for pair in files.windows(2) {
        let a = decode_step(&pair[0]);
        if a.post_state == a.pre_state || !pred(&a) {
            continue;
        }
        let b = decode_step(&pair[1]);
        if b.post_state != b.pre_state && b.pre_state == a.post_state {
            let (a, b) = (
                Case::new(pair[0].display().to_string(), a),
                Case::new(pair[1].display().to_string(), b),
            );
            a.check_valid();
            b.check_valid();
            return (a, b);
        }
    }
    panic!("no consecutive steps of traces/{family} fit");
}

fn flip(bytes: &mut [u8], at: usize) {
    bytes[at] ^= 1;
}

fn ticket_sealed(step: &TraceStep) -> bool {
    // `γ'_s` of the post-state is what the block is sealed under.
    let post = State::from_key_values(&step.post_state.keyvals, &PARAMS).unwrap();
    matches!(post.safrole.seal_keys, TicketsOrKeys::Tickets(_))
}

/// A plain (no markers, no tickets, not the epoch's first slot) block of
/// the safrole trace sealed by a ticket, and one of the fallback trace.
fn header_cases() -> [Case; 2] {
    let plain = |s: &TraceStep| {
        let h = &s.block.header;
        h.epoch_mark.is_none()
            && h.tickets_mark.is_none()
            && s.block.extrinsic.tickets.is_empty()
            && h.slot > PARAMS.epoch_length
            && h.slot % PARAMS.epoch_length + 2 < PARAMS.ticket_submission_end
    };
    [
        find("safrole", |s| plain(s) && ticket_sealed(s)),
        find("fallback", |s| plain(s) && !ticket_sealed(s)),
    ]
}

#[test]
fn header_parent_hash_flipped_is_bad_parent() {
    for case in header_cases() {
        let mut b = case.block().clone();
        flip(&mut b.header.parent.0, 0);
        let e = case.reject("parent hash flipped", &b);
        let expected = case.pre.recent_blocks.history.last().unwrap().header_hash;
        assert!(
            matches!(e, InvalidBlock::Header(HeaderError::BadParent { expected: x, found })
                if x == expected && found == b.header.parent),
            "{e:?}"
        );
    }
}

#[test]
fn header_parent_state_root_flipped_is_bad_prior_state_root() {
    for case in header_cases() {
        let mut b = case.block().clone();
        flip(&mut b.header.parent_state_root.0, 31);
        assert_rejects!(
            case,
            "parent_state_root flipped",
            &b,
            InvalidBlock::Header(HeaderError::BadPriorStateRoot { expected, found })
                if expected == case.root() && found == b.header.parent_state_root
        );
    }
}

#[test]
fn header_slot_equal_to_prior_is_slot_not_after_prior() {
    for case in header_cases() {
        let mut b = case.block().clone();
        let tau = case.pre.timeslot;
        b.header.slot = tau;
        assert_rejects!(
            case,
            "slot = prior slot",
            &b,
            InvalidBlock::Header(HeaderError::SlotNotAfterPrior { slot, prior })
                if slot == tau && prior == tau
        );
        // Further back still (slot 0 when `τ` is 0: the same rule).
        b.header.slot = tau.saturating_sub(1);
        assert_rejects!(
            case,
            "slot before prior slot",
            &b,
            InvalidBlock::Header(HeaderError::SlotNotAfterPrior { slot, prior })
                if slot == tau.saturating_sub(1) && prior == tau
        );
    }
}

#[test]
fn header_slot_far_ahead_within_the_epoch_fails_the_seal() {
    for case in header_cases() {
        let h = &case.block().header;
        // The last slot of the epoch before the ticket contest closes: no
        // marker appears, the sealer changes (or the message does).
        let epoch_start = h.slot - h.slot % PARAMS.epoch_length;
        let slot = epoch_start + PARAMS.ticket_submission_end - 1;
        assert!(
            slot > h.slot + 1,
            "{}: slot {slot} not far ahead",
            case.name
        );
        let mut b = case.block().clone();
        b.header.slot = slot;
        let e = case.reject("slot far ahead", &b);
        let author = case.author();
        let want = match SlotSealer::for_slot(&case.post.safrole.seal_keys, slot, &PARAMS).unwrap()
        {
            SlotSealer::Key(key) if key != author => HeaderError::SealKeyMismatch {
                expected: key,
                author,
            },
            // Same key, or a ticket: the seal signs the slot.
            _ => HeaderError::BadSeal(VrfError::Invalid),
        };
        assert!(
            matches!(e, InvalidBlock::Header(x) if x == want),
            "{e:?}, want {want:?}"
        );
    }
}

#[test]
fn header_author_index_changed_or_out_of_range() {
    for case in header_cases() {
        let count = PARAMS.validators_count;

        let mut b = case.block().clone();
        b.header.author_index = count;
        assert_rejects!(
            case,
            "author index = V",
            &b,
            InvalidBlock::Header(HeaderError::BadAuthorIndex { index, validators })
                if index == count && validators == usize::from(count)
        );
        b.header.author_index = u16::MAX;
        assert_rejects!(
            case,
            "author index = 65535",
            &b,
            InvalidBlock::Header(HeaderError::BadAuthorIndex {
                index: u16::MAX,
                ..
            })
        );

        let mut b = case.block().clone();
        b.header.author_index = (case.block().header.author_index + 1) % count;
        let other = case.post.active_validators[usize::from(b.header.author_index)].bandersnatch;
        let e = case.reject("author index changed", &b);
        if ticket_sealed(&case.step) {
            // Anyone may hold a ticket: the seal does not verify under the other key.
            assert!(
                matches!(
                    e,
                    InvalidBlock::Header(HeaderError::BadSeal(VrfError::Invalid))
                ),
                "{e:?}"
            );
        } else {
            let author = case.author();
            assert!(
                matches!(e, InvalidBlock::Header(HeaderError::SealKeyMismatch { expected, author: found })
                    if expected == author && found == other),
                "{e:?}"
            );
        }
    }
}

#[test]
fn header_seal_bit_flipped_is_bad_seal() {
    for case in header_cases() {
        for at in [0, 32, 95] {
            let mut b = case.block().clone();
            flip(&mut b.header.seal.0, at);
            let e = case.reject(&format!("seal byte {at} flipped"), &b);
            // Byte 0 is in the output point (no longer on the curve); the
            // others are in the proof's scalars (canonical, but wrong).
            let want = if at == 0 {
                VrfError::Malformed
            } else {
                VrfError::Invalid
            };
            assert!(
                matches!(e, InvalidBlock::Header(HeaderError::BadSeal(x)) if x == want),
                "seal byte {at}: {e:?}"
            );
        }
    }
}

#[test]
fn header_entropy_source_bit_flipped() {
    let cases = header_cases();
    for (i, case) in cases.iter().enumerate() {
        // A valid VRF signature of another block: `Y(H_V)` reads, Safrole
        // takes it into `η'_0`, and the seal (over `E_U(H)`, which holds
        // `H_V`) fails before `H_V` itself is checked.
        let mut b = case.block().clone();
        b.header.entropy_source = cases[1 - i].block().header.entropy_source;
        assert_rejects!(
            case,
            "entropy source of another block",
            &b,
            InvalidBlock::Header(HeaderError::BadSeal(VrfError::Invalid))
        );

        // A bit of the proof: `Y(H_V)` is unchanged, but `H_V` is in `E_U(H)`,
        // so the seal (checked before `H_V`) breaks.
        let mut b = case.block().clone();
        flip(&mut b.header.entropy_source.0, 32);
        assert_rejects!(
            case,
            "entropy source byte 32 flipped",
            &b,
            InvalidBlock::Header(HeaderError::BadSeal(VrfError::Invalid))
        );
        // A bit of the output point: not a curve point, `Y(H_V)` cannot be
        // read, before Safrole even runs.
        let mut b = case.block().clone();
        flip(&mut b.header.entropy_source.0, 0);
        assert_rejects!(
            case,
            "entropy source byte 0 flipped",
            &b,
            InvalidBlock::Header(HeaderError::BadEntropySource(VrfError::Malformed))
        );
    }
}

#[test]
fn header_extrinsic_hash_flipped_is_mismatch() {
    for case in header_cases() {
        let mut b = case.block().clone();
        flip(&mut b.header.extrinsic_hash.0, 7);
        let e = case.reject("extrinsic hash flipped", &b);
        let real = case.block().header.extrinsic_hash;
        assert!(
            matches!(e, InvalidBlock::Header(HeaderError::ExtrinsicHashMismatch { expected, found })
                if expected == real && found == b.header.extrinsic_hash),
            "{e:?}"
        );
    }
}

#[test]
fn header_markers_added_are_rejected() {
    for case in header_cases() {
        let mut b = case.block().clone();
        b.header.epoch_mark = Some(EpochMark::default());
        assert_rejects!(
            case,
            "epoch mark added",
            &b,
            InvalidBlock::Header(HeaderError::EpochMarkMismatch)
        );

        let mut b = case.block().clone();
        b.header.tickets_mark = Some(FixedSeq::new(vec![
            TicketBody::default();
            PARAMS.epoch_length as usize
        ]));
        assert_rejects!(
            case,
            "tickets mark added",
            &b,
            InvalidBlock::Header(HeaderError::TicketsMarkMismatch)
        );

        let mut b = case.block().clone();
        b.header
            .offenders_mark
            .push(case.post.active_validators[0].ed25519);
        assert_rejects!(
            case,
            "offenders mark added",
            &b,
            InvalidBlock::Header(HeaderError::OffendersMarkMismatch)
        );
    }
}

#[test]
fn header_epoch_mark_removed_or_changed_is_rejected() {
    let case = find("safrole", |s| s.block.header.epoch_mark.is_some());
    let mut b = case.block().clone();
    b.header.epoch_mark = None;
    assert_rejects!(
        case,
        "epoch mark removed",
        &b,
        InvalidBlock::Header(HeaderError::EpochMarkMismatch)
    );
    for what in ["entropy", "tickets entropy", "validator key"] {
        let mut b = case.block().clone();
        let mark = b.header.epoch_mark.as_mut().unwrap();
        match what {
            "entropy" => flip(&mut mark.entropy.0, 0),
            "tickets entropy" => flip(&mut mark.tickets_entropy.0, 0),
            _ => flip(&mut mark.validators[0].bandersnatch.0, 0),
        }
        let e = case.reject(&format!("epoch mark {what} changed"), &b);
        assert!(
            matches!(e, InvalidBlock::Header(HeaderError::EpochMarkMismatch)),
            "{what}: {e:?}"
        );
    }
}

#[test]
fn header_tickets_mark_removed_or_changed_is_rejected() {
    let case = find("safrole", |s| s.block.header.tickets_mark.is_some());
    let mut b = case.block().clone();
    b.header.tickets_mark = None;
    assert_rejects!(
        case,
        "tickets mark removed",
        &b,
        InvalidBlock::Header(HeaderError::TicketsMarkMismatch)
    );
    let mut b = case.block().clone();
    flip(&mut b.header.tickets_mark.as_mut().unwrap()[0].id.0, 0);
    assert_rejects!(
        case,
        "tickets mark id changed",
        &b,
        InvalidBlock::Header(HeaderError::TicketsMarkMismatch)
    );
    let mut b = case.block().clone();
    b.header.tickets_mark.as_mut().unwrap().swap(0, 1);
    assert_rejects!(
        case,
        "tickets mark reordered",
        &b,
        InvalidBlock::Header(HeaderError::TicketsMarkMismatch)
    );
}

/// The inputs `import` gives the assurances and reports transitions,
/// rebuilt from the trace (for blocks without disputes).
fn assurances_state(case: &Case) -> assurances::State {
    assert!(case.block().extrinsic.disputes.verdicts.is_empty());
    assert!(case.block().extrinsic.disputes.culprits.is_empty());
    assert!(case.block().extrinsic.disputes.faults.is_empty());
    assurances::State {
        availability: case.pre.availability.clone(),
        active_validators: case.post.active_validators.clone(),
    }
}

fn assurances_input(block: &Block) -> assurances::Input {
    assurances::Input {
        assurances: block.extrinsic.assurances.clone(),
        slot: block.header.slot,
        parent: block.header.parent,
    }
}

fn reports_transition(
    case: &Case,
    block: &Block,
) -> Result<(reports::State, reports::Output), reports::Error> {
    let (assured, _) = assurances::transition(
        &assurances_state(case),
        &assurances_input(case.block()),
        &PARAMS,
    )
    .unwrap();
    let pre = &case.pre;
    let mut recent = pre.recent_blocks.clone();
    parajam_stf::history::correct_parent_state_root(&mut recent, case.root());
    let known = parajam_stf::block::known_packages(pre);
    reports::transition(
        &reports::State {
            availability: assured.availability,
            active_validators: case.post.active_validators.clone(),
            previous_validators: case.post.previous_validators.clone(),
            entropy: case.post.entropy,
            offenders: case.post.disputes.offenders.clone(),
            recent_blocks: recent,
            auth_pools: pre.auth_pools.clone(),
            accounts: reports::accounts_of(&pre.accounts),
            cores_statistics: FixedSeq::new(vec![
                CoreActivityRecord::default();
                usize::from(PARAMS.core_count)
            ]),
            services_statistics: std::collections::BTreeMap::new(),
        },
        &reports::Input {
            guarantees: block.extrinsic.guarantees.clone(),
            slot: block.header.slot,
            known_packages: known,
        },
        &PARAMS,
    )
}

fn bad_seal(e: &InvalidBlock) -> bool {
    matches!(
        e,
        InvalidBlock::Header(HeaderError::BadSeal(VrfError::Invalid))
    )
}

fn guarantees_case() -> Case {
    find("storage", |s| !s.block.extrinsic.guarantees.is_empty())
}

#[test]
fn extrinsic_guarantee_signature_flipped() {
    let case = guarantees_case();
    assert!(reports_transition(&case, case.block()).is_ok());
    let mut b = case.block().clone();
    let validator = b.extrinsic.guarantees.0[0].signatures[0].validator_index;
    flip(
        &mut b.extrinsic.guarantees.0[0].signatures[0].signature.0,
        0,
    );
    let (stale, e) = case.reject_extrinsic("guarantee signature flipped", b.clone());
    assert!(case.stale_hash(&stale, &b), "{stale:?}");
    assert!(bad_seal(&e), "{e:?}");
    let r = reports_transition(&case, &b);
    assert_eq!(
        r,
        Err(reports::ErrorKind::BadSignature { validator }.at(0)),
        "{r:?}"
    );
}

#[test]
fn extrinsic_guarantee_duplicated() {
    let case = guarantees_case();
    let mut b = case.block().clone();
    let g = b.extrinsic.guarantees.0[0].clone();
    b.extrinsic.guarantees.0.insert(1, g);
    let (stale, e) = case.reject_extrinsic("guarantee duplicated", b.clone());
    assert!(case.stale_hash(&stale, &b), "{stale:?}");
    assert!(bad_seal(&e), "{e:?}");
    let r = reports_transition(&case, &b);
    assert!(
        r == Err(reports::ErrorKind::OutOfOrderGuarantee.at(1)),
        "{r:?}"
    );
}

fn assurances_case() -> Case {
    find("storage", |s| s.block.extrinsic.assurances.len() >= 2)
}

#[test]
fn extrinsic_assurances_reordered() {
    let case = assurances_case();
    let state = assurances_state(&case);
    assert!(assurances::transition(&state, &assurances_input(case.block()), &PARAMS).is_ok());
    let mut b = case.block().clone();
    b.extrinsic.assurances.0.swap(0, 1);
    let (stale, e) = case.reject_extrinsic("assurances reordered", b.clone());
    assert!(case.stale_hash(&stale, &b), "{stale:?}");
    assert!(bad_seal(&e), "{e:?}");
    let r = assurances::transition(&state, &assurances_input(&b), &PARAMS);
    assert!(
        matches!(
            r,
            Err(assurances::Error::NotSortedOrUniqueAssurers { index: 1 })
        ),
        "{r:?}"
    );
}

#[test]
fn extrinsic_assurance_signature_flipped() {
    let case = assurances_case();
    let state = assurances_state(&case);
    let mut b = case.block().clone();
    flip(&mut b.extrinsic.assurances.0[1].signature.0, 5);
    let (stale, e) = case.reject_extrinsic("assurance signature flipped", b.clone());
    assert!(case.stale_hash(&stale, &b), "{stale:?}");
    assert!(bad_seal(&e), "{e:?}");
    let r = assurances::transition(&state, &assurances_input(&b), &PARAMS);
    assert!(
        matches!(r, Err(assurances::Error::BadSignature { index: 1 })),
        "{r:?}"
    );
}

fn preimages_case() -> Case {
    find("preimages", |s| !s.block.extrinsic.preimages.is_empty())
}

#[test]
fn extrinsic_preimage_not_solicited() {
    let case = preimages_case();
    assert!(preimages::validate(&case.pre.accounts, &case.block().extrinsic.preimages).is_ok());
    let mut b = case.block().clone();
    let service = b.extrinsic.preimages[0].requester;
    b.extrinsic.preimages.push(Preimage {
        requester: service,
        blob: b"never requested by anyone".to_vec().into(),
    });
    b.extrinsic
        .preimages
        .sort_by(|x, y| (x.requester, &x.blob).cmp(&(y.requester, &y.blob)));
    let (stale, e) = case.reject_extrinsic("preimage not solicited", b.clone());
    assert!(case.stale_hash(&stale, &b), "{stale:?}");
    assert!(bad_seal(&e), "{e:?}");
    let r = preimages::validate(&case.pre.accounts, &b.extrinsic.preimages);
    assert!(
        matches!(r, Err(preimages::Error::PreimageUnneeded { service: s }) if s == service),
        "{r:?}"
    );
    // Providing it again on the post-state (it is no longer solicited).
    let r = preimages::validate(&case.post.accounts, &case.block().extrinsic.preimages);
    assert!(
        matches!(r, Err(preimages::Error::PreimageUnneeded { .. })),
        "{r:?}"
    );
}

#[test]
fn extrinsic_preimages_reordered() {
    let case = find("preimages", |s| s.block.extrinsic.preimages.len() >= 2);
    let mut b = case.block().clone();
    b.extrinsic.preimages.swap(0, 1);
    let (stale, e) = case.reject_extrinsic("preimages reordered", b.clone());
    assert!(case.stale_hash(&stale, &b), "{stale:?}");
    assert!(bad_seal(&e), "{e:?}");
    let r = preimages::validate(&case.pre.accounts, &b.extrinsic.preimages);
    assert!(
        matches!(
            r,
            Err(preimages::Error::PreimagesNotSortedUnique { index: 1 })
        ),
        "{r:?}"
    );
}

#[test]
fn extrinsic_preimage_duplicated() {
    let case = preimages_case();
    let mut b = case.block().clone();
    let first = b.extrinsic.preimages[0].clone();
    b.extrinsic.preimages.insert(1, first);
    let (stale, e) = case.reject_extrinsic("preimage duplicated", b.clone());
    assert!(case.stale_hash(&stale, &b), "{stale:?}");
    assert!(bad_seal(&e), "{e:?}");
    let r = preimages::validate(&case.pre.accounts, &b.extrinsic.preimages);
    assert!(
        matches!(
            r,
            Err(preimages::Error::PreimagesNotSortedUnique { index: 1 })
        ),
        "{r:?}"
    );
}

fn tickets_case() -> Case {
    find("safrole", |s| s.block.extrinsic.tickets.len() >= 2)
}

/// Safrole (step 3) verifies `E_T` before the header (step 4), so a bad
/// tickets extrinsic gets its own error, with or without a fresh `H_X`.
fn assert_safrole(case: &Case, what: &str, b: Block, want: &safrole::Error) {
    let (stale, e) = case.reject_extrinsic(what, b);
    for e in [stale, e] {
        assert!(
            matches!(&e, InvalidBlock::Safrole(x) if x == want),
            "{what}: {e:?}, want {want:?}"
        );
    }
}

#[test]
fn extrinsic_ticket_proof_flipped_is_bad_ticket_proof() {
    let case = tickets_case();
    let last = case.block().extrinsic.tickets.len() - 1;
    let mut b = case.block().clone();
    flip(&mut b.extrinsic.tickets.0[last].signature.0, 100);
    assert_safrole(
        &case,
        "ticket proof byte flipped",
        b,
        &safrole::Error::BadTicketProof { index: last },
    );
}

#[test]
fn extrinsic_tickets_reordered_or_bad_attempt() {
    let case = tickets_case();
    let mut b = case.block().clone();
    b.extrinsic.tickets.0.swap(0, 1);
    assert_safrole(
        &case,
        "tickets reordered",
        b,
        &safrole::Error::BadTicketOrder { index: 1 },
    );

    let mut b = case.block().clone();
    let t = b.extrinsic.tickets.0[0].clone();
    b.extrinsic.tickets.0.insert(1, t);
    assert_safrole(
        &case,
        "ticket duplicated in the extrinsic",
        b,
        &safrole::Error::BadTicketOrder { index: 1 },
    );

    // The entry index is checked before the proof (which it is part of).
    let mut b = case.block().clone();
    b.extrinsic.tickets.0[0].attempt = PARAMS.tickets_per_validator;
    assert_safrole(
        &case,
        "ticket entry index = N",
        b,
        &safrole::Error::BadTicketAttempt {
            index: 0,
            attempt: PARAMS.tickets_per_validator,
        },
    );
    // Another valid entry index: the proof's context changes.
    let mut b = case.block().clone();
    b.extrinsic.tickets.0[0].attempt ^= 1;
    assert_safrole(
        &case,
        "ticket entry index changed",
        b,
        &safrole::Error::BadTicketProof { index: 0 },
    );
}

#[test]
fn extrinsic_tickets_in_the_epoch_tail_are_unexpected() {
    let case = tickets_case();
    let mut b = case.block().clone();
    let h = &b.header;
    b.header.slot = h.slot - h.slot % PARAMS.epoch_length + PARAMS.ticket_submission_end;
    assert_safrole(
        &case,
        "tickets in the epoch tail",
        b,
        &safrole::Error::UnexpectedTicket,
    );
}

#[test]
fn extrinsic_ticket_resubmitted_in_the_next_block_is_duplicate() {
    // Block n's tickets entered `γ_a`; block n+1 (same epoch, contest
    // open) carrying them again is rejected.
    let (n, next) = find_pair("safrole", |s| {
        let slot = s.block.header.slot;
        !s.block.extrinsic.tickets.is_empty()
            && (slot + 1) % PARAMS.epoch_length < PARAMS.ticket_submission_end
    });
    assert_eq!(
        n.block().header.slot / PARAMS.epoch_length,
        next.block().header.slot / PARAMS.epoch_length
    );
    let mut b = next.block().clone();
    b.extrinsic.tickets = n.block().extrinsic.tickets.clone();
    assert_safrole(
        &next,
        "ticket of block n resubmitted in block n+1",
        b,
        &safrole::Error::DuplicateTicket { index: 0 },
    );
}

#[test]
fn replaying_a_block_on_its_own_post_state_is_rejected() {
    let (n, _) = find_pair("storage", |s| !s.block.extrinsic.guarantees.is_empty());
    let post = &n.post;
    let root = n.step.post_state.state_root;
    let b = n.block();
    let e = reject(
        &format!("{}: replay on its post-state", n.name),
        post,
        root,
        b,
    );
    let own = header_hash(&b.header);
    assert!(
        matches!(e, InvalidBlock::Header(HeaderError::BadParent { expected, found })
            if expected == own && found == b.header.parent),
        "{e:?}"
    );
    // Even pointing at the right parent and state root, the slot is old.
    let mut b = b.clone();
    b.header.parent = own;
    b.header.parent_state_root = root;
    let e = reject(
        &format!("{}: replay, parent and state root patched", n.name),
        post,
        root,
        &b,
    );
    assert!(
        matches!(e, InvalidBlock::Header(HeaderError::SlotNotAfterPrior { slot, prior })
            if slot == b.header.slot && prior == b.header.slot),
        "{e:?}"
    );
}

#[test]
fn skipping_a_block_is_rejected() {
    for family in ["storage", "safrole"] {
        let (n, next) = find_pair(family, |_| true);
        let b = next.block();
        let e = n.reject("block n+1 on block n's pre-state", b);
        let parent = n.pre.recent_blocks.history.last().unwrap().header_hash;
        assert!(
            matches!(e, InvalidBlock::Header(HeaderError::BadParent { expected, found })
                if expected == parent && found == header_hash(&n.block().header)),
            "{e:?}"
        );
        // With the parent patched, the prior state root gives it away.
        let mut b = b.clone();
        b.header.parent = parent;
        let e = n.reject("block n+1 on block n's pre-state, parent patched", &b);
        assert!(
            matches!(e, InvalidBlock::Header(HeaderError::BadPriorStateRoot { expected, found })
                if expected == n.root() && found == n.step.post_state.state_root),
            "{e:?}"
        );
    }
}

/// `r`, the Bandersnatch scalar field order, little-endian.
const SCALAR_ORDER_LE: [u8; 32] = {
    let be: [u8; 32] = [
        0x1c, 0xfb, 0x69, 0xd4, 0xca, 0x67, 0x5f, 0x52, 0x0c, 0xce, 0x76, 0x02, 0x02, 0x68, 0x76,
        0x00, 0xff, 0x8f, 0x87, 0x00, 0x74, 0x19, 0x04, 0x71, 0x74, 0xfd, 0x06, 0xb5, 0x28, 0x76,
        0xe7, 0xe1,
    ];
    let mut le = [0; 32];
    let mut i = 0;
    while i < 32 {
        le[i] = be[31 - i];
        i += 1;
    }
    le
};

/// `x + r` over 32 little-endian octets, `None` on overflow.
fn add_order(x: &[u8]) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(x[i]) + u16::from(SCALAR_ORDER_LE[i]) + carry;
        out[i] = sum.to_le_bytes()[0];
        carry = sum >> 8;
    }
    (carry == 0).then_some(out)
}

/// `H_S` with one of its proof scalars re-encoded as `x + r` (the same
/// scalar mod `r`, 32 octets, not canonical), or `None` if that overflows.
fn non_canonical_seal(block: &Block, at: usize) -> Option<Block> {
    let mut b = block.clone();
    let bumped = add_order(&b.header.seal.0[at..at + 32])?;
    b.header.seal.0[at..at + 32].copy_from_slice(&bumped);
    Some(b)
}

#[test]
fn header_seal_response_non_canonical_is_malformed() {
    for case in header_cases() {
        // `s` (octets 64..96) is decoded strictly.
        let b = non_canonical_seal(case.block(), 64).unwrap();
        assert_rejects!(
            case,
            "seal response s + r",
            &b,
            InvalidBlock::Header(HeaderError::BadSeal(VrfError::Malformed))
        );
    }
}

/// Found by this test: `ark-vrf` decodes the seal's challenge `c` (octets
/// 32..64 of `H_S`) modulo `r`, so `c + r` verified too, and anyone could
/// re-encode a valid block's seal into a second valid block with the same
/// content and author but another header hash (block-hash malleability).
/// `parajam_bandersnatch` now accepts canonical encodings only.
#[test]
fn header_seal_challenge_non_canonical_is_rejected() {
    for case in header_cases() {
        let b = non_canonical_seal(case.block(), 32).unwrap();
        assert_ne!(header_hash(&b.header), header_hash(&case.block().header));
        assert_rejects!(
            case,
            "seal challenge c + r",
            &b,
            InvalidBlock::Header(HeaderError::BadSeal(VrfError::Malformed))
        );
    }
}

/// The lookup-anchor check (GP eq. 11.35): with the block's ancestors the
/// trace's guarantees import; with the anchor missing from them, the block
/// is rejected naming the guarantee.
#[test]
fn lookup_anchor_must_be_an_ancestor() {
    let all = trace_files("storage");
    let genesis: (parajam_primitives::types::Header, RawState) = {
        let bytes = std::fs::read(vectors_dir().join("traces/storage/genesis.bin")).unwrap();
        parajam_primitives::decode(&bytes, &PARAMS).unwrap()
    };
    let mut ancestors = vec![(genesis.0.slot, header_hash(&genesis.0))];
    for path in &all {
        let case = Case::new(path.display().to_string(), decode_step(path));
        if let Some(g) = case.block().extrinsic.guarantees.first() {
            let anchor = (
                g.report.context.lookup_anchor_slot,
                g.report.context.lookup_anchor,
            );
            let run = |ancestry: &Vec<(u32, parajam_primitives::types::HeaderHash)>| {
                import_with_ancestry(&case.pre, case.root(), case.block(), Some(ancestry))
            };
            let imported = run(&ancestors).expect("anchors among the ancestors");
            assert_eq!(imported.state.root(), case.step.post_state.state_root);
            let without: Vec<_> = ancestors.iter().copied().filter(|a| *a != anchor).collect();
            let e = run(&without).expect_err("anchor missing");
            assert!(
                matches!(
                    e,
                    ImportError::Invalid(InvalidBlock::UnknownLookupAnchor { guarantee: 0, .. })
                ),
                "{e:?}"
            );
            return;
        }
        ancestors.push((case.block().header.slot, header_hash(&case.block().header)));
    }
    panic!("no guarantee in the storage trace");
}
