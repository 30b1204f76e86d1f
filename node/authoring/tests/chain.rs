//! Dev chains on the tiny parameters, every block imported by
//! `parajam_stf::block::import`: empty blocks over epoch boundaries, a
//! work report guaranteed, assured and accumulated by a real PVM service,
//! and blocks import rejects with the exact error.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use parajam_authoring::{
    dev_authorizer, echo_program, guarantee, service_account, Contents, DevChain, SlotPlan,
    ValidatorSecrets,
};
use parajam_primitives::types::{
    AccumulationOutput, Block, Extrinsic, OpaqueHash, RefineLoad, ServiceId, TicketsOrKeys,
    ValidatorIndex, WorkExecResult, WorkPackageSpec, WorkReport, WorkResult,
};
use parajam_primitives::{ByteArray, ProtocolParameters};
use parajam_stf::block::{ImportError, InvalidBlock};
use parajam_stf::header::{HeaderError, SlotSealer};
use parajam_stf::reports;

mod common;

const PARAMS: ProtocolParameters = ProtocolParameters::TINY;

fn chain(services: BTreeMap<ServiceId, parajam_primitives::types::ServiceAccount>) -> DevChain {
    DevChain::dev(
        PARAMS,
        common::ring(usize::from(PARAMS.validators_count)),
        services,
    )
    .unwrap()
}

fn hash(label: &[u8]) -> OpaqueHash {
    ByteArray(parajam_crypto::blake2b_256(label))
}

/// Authors and imports empty blocks, timing both.
fn author_empty(
    chain: &mut DevChain,
    slots: impl IntoIterator<Item = u32>,
    build: &mut Duration,
    import: &mut Duration,
) {
    for slot in slots {
        let start = Instant::now();
        let block = chain.build(slot, Contents::default()).unwrap();
        *build += start.elapsed();
        let start = Instant::now();
        chain
            .import(&block)
            .unwrap_or_else(|e| panic!("block at slot {slot}: {e}"));
        *import += start.elapsed();
    }
}

#[test]
fn empty_blocks_over_epoch_boundaries() {
    let mut chain = chain(BTreeMap::new());
    let e = PARAMS.epoch_length;
    let (mut build, mut import) = (Duration::ZERO, Duration::ZERO);

    // Epoch 0: every slot; the last one before the boundary checked below.
    author_empty(&mut chain, 1..e, &mut build, &mut import);
    let before = chain.state().clone();
    // The first block of epoch 1 carries the epoch marker and rotates η.
    let block = chain.build(e, Contents::default()).unwrap();
    let mark = block
        .header
        .epoch_mark
        .clone()
        .expect("epoch marker at slot E");
    assert_eq!(mark.entropy, before.entropy[0]);
    assert_eq!(mark.tickets_entropy, before.entropy[1]);
    assert_eq!(mark.validators.len(), usize::from(PARAMS.validators_count));
    assert!(block.header.tickets_mark.is_none());
    chain.import(&block).unwrap();
    let after = chain.state();
    assert_eq!(after.entropy[1], before.entropy[0]);
    assert_eq!(after.entropy[2], before.entropy[1]);
    assert_eq!(after.entropy[3], before.entropy[2]);
    assert!(matches!(after.safrole.seal_keys, TicketsOrKeys::Keys(_)));

    // The rest of epoch 1. Epoch 2's fallback keys are F(η'_2, κ') with
    // η'_2 the entropy accumulated in epoch 0 (epochs 0 and 1 both had
    // genesis η_1 = η_2 = 0).
    author_empty(&mut chain, e + 1..2 * e, &mut build, &mut import);
    let before = chain.state().clone();
    author_empty(&mut chain, [2 * e], &mut build, &mut import);
    let after = chain.state();
    assert_eq!(after.entropy[2], before.entropy[1]);
    assert_ne!(after.safrole.seal_keys, before.safrole.seal_keys);
    assert_eq!(
        after.safrole.seal_keys,
        TicketsOrKeys::Keys(parajam_primitives::codec::FixedSeq::new(
            parajam_stf::safrole::fallback_keys(&after.entropy[2], &after.active_validators, e)
        ))
    );

    // Into epoch 2, then a gap over all of epoch 3.
    author_empty(&mut chain, 2 * e + 1..=2 * e + 3, &mut build, &mut import);
    author_empty(&mut chain, [4 * e + 1, 4 * e + 2], &mut build, &mut import);
    let blocks = e + 3 + 2 + e;
    assert_eq!(chain.slot(), 4 * e + 2);
    // Every block's author got its block into the statistics of the epoch.
    let authored: u32 = chain
        .state()
        .statistics
        .vals_curr
        .iter()
        .map(|v| v.blocks)
        .sum();
    assert_eq!(authored, 2);
    eprintln!(
        "{blocks} empty blocks: build {:?}/block, import {:?}/block",
        build / blocks,
        import / blocks
    );
}

#[test]
fn wrong_author_is_rejected() {
    let mut chain = chain(BTreeMap::new());
    chain.author_next(Contents::default()).unwrap();
    let slot = chain.slot() + 1;
    let plan = chain.plan(slot).unwrap();
    let SlotSealer::Key(expected) = plan.author.sealer else {
        panic!("genesis epoch is in fallback mode");
    };
    let wrong: ValidatorIndex = (0..PARAMS.validators_count)
        .find(|&i| plan.active_validators[usize::from(i)].bandersnatch != expected)
        .unwrap();
    let block = plan
        .seal_as(Extrinsic::default(), wrong, chain.keys())
        .unwrap();
    let before = (chain.state().clone(), chain.root());
    let err = chain.try_import(&block).unwrap_err();
    assert!(
        matches!(
            err,
            ImportError::Invalid(InvalidBlock::Header(HeaderError::SealKeyMismatch { expected: e, author }))
                if e == expected && author == plan.active_validators[usize::from(wrong)].bandersnatch
        ),
        "{err:?}"
    );
    assert!(chain.import(&block).is_err());
    assert_eq!((chain.state().clone(), chain.root()), before);

    // A seal that is not over this header: the planned author, another slot's
    // extrinsic hash.
    let mut tampered = plan.seal(Extrinsic::default(), chain.keys()).unwrap();
    tampered.header.extrinsic_hash = hash(b"other");
    let err = chain.try_import(&tampered).unwrap_err();
    assert!(
        matches!(
            err,
            ImportError::Invalid(InvalidBlock::Header(
                HeaderError::ExtrinsicHashMismatch { .. }
            ))
        ),
        "{err:?}"
    );
    // The planned author's block imports.
    let good = plan.seal(Extrinsic::default(), chain.keys()).unwrap();
    chain.import(&good).unwrap();
}

/// A service running [`echo_program`]: accumulates, yields its arguments.
const ECHO: ServiceId = 42;
/// A service running the `hostcall` guest, whose only entry is at 0: entered
/// at 5 by accumulation it faults at once (`☇`), and is accumulated all the
/// same (GP §12.2: gas, statistics and `a_a` count a panicking service).
const HOSTCALL: ServiceId = 43;

/// A chain with the [`ECHO`] and [`HOSTCALL`] services, and their code hashes.
fn service_chain() -> (DevChain, BTreeMap<ServiceId, OpaqueHash>) {
    let guest = parajam_guests::guest("hostcall").unwrap();
    let services = BTreeMap::from([
        (ECHO, service_account(&echo_program(), 1 << 40, 100, 100)),
        (HOSTCALL, service_account(guest.program, 1 << 40, 100, 100)),
    ]);
    let code_hashes = services
        .iter()
        .map(|(&id, a)| {
            assert!(a.code().is_some());
            assert!(a.info.balance >= a.min_balance(&PARAMS));
            (id, a.info.code_hash)
        })
        .collect();
    (chain(services), code_hashes)
}

/// A report of one digest for `service` on `core`, anchored on the head.
fn report(
    chain: &DevChain,
    service: ServiceId,
    code_hash: OpaqueHash,
    core: u16,
    label: &[u8],
) -> WorkReport {
    WorkReport {
        package_spec: WorkPackageSpec {
            hash: hash(label),
            length: 1000,
            erasure_root: hash(&[label, b" erasure"].concat()),
            exports_root: OpaqueHash::ZERO,
            exports_count: 0,
        },
        context: chain.refine_context().unwrap(),
        core_index: core,
        authorizer_hash: dev_authorizer(),
        auth_gas_used: 1,
        auth_output: Vec::new().into(),
        segment_root_lookup: Vec::new(),
        results: vec![WorkResult {
            service_id: service,
            code_hash,
            payload_hash: hash(b"payload"),
            accumulate_gas: 100_000,
            result: WorkExecResult::Ok(b"refined".to_vec().into()),
            refine_load: RefineLoad::default(),
        }]
        .into(),
    }
}

/// Every guarantee of `block` (the head) is on its core in `ρ'` with the
/// block's slot, and its guarantors' statistics count it.
fn check_pending(chain: &DevChain, block: &Block) {
    let guaranteed_at = chain.slot();
    for g in block.extrinsic.guarantees.iter() {
        assert_eq!(g.slot, guaranteed_at);
        assert!((2..=3).contains(&g.signatures.len()));
        let pending = chain.state().availability[usize::from(g.report.core_index)]
            .clone()
            .expect("pending report");
        assert_eq!(pending.report, g.report);
        assert_eq!(pending.timeout, guaranteed_at);
    }
    let credentials: usize = block
        .extrinsic
        .guarantees
        .iter()
        .map(|g| g.signatures.len())
        .sum();
    let guarantees: u32 = chain
        .state()
        .statistics
        .vals_curr
        .iter()
        .map(|v| v.guarantees)
        .sum();
    assert_eq!(guarantees as usize, credentials);
}

#[test]
fn reports_are_guaranteed_assured_and_accumulated() {
    let (mut chain, code) = service_chain();
    // A report can anchor on genesis (in recent history); one block first
    // all the same.
    chain.author_next(Contents::default()).unwrap();

    let echo = report(&chain, ECHO, code[&ECHO], 0, b"package 1");
    let hostcall = report(&chain, HOSTCALL, code[&HOSTCALL], 1, b"package 2");
    let start = Instant::now();
    let block = chain
        .author_next(Contents {
            reports: vec![hostcall.clone(), echo.clone()],
            ..Contents::default()
        })
        .unwrap();
    eprintln!(
        "block with 2 guarantees authored and imported in {:?}",
        start.elapsed()
    );
    assert_eq!(block.extrinsic.guarantees.len(), 2);
    check_pending(&chain, &block);

    // A super-majority assures both cores in the next block: the reports
    // become available and accumulate.
    let supermajority = u16::try_from(PARAMS.validators_super_majority()).unwrap();
    let start = Instant::now();
    chain.assure_next(&[0, 1], 0..supermajority).unwrap();
    let slot = chain.slot();
    eprintln!(
        "block with {supermajority} assurances and 2 accumulations authored and imported in {:?}",
        start.elapsed()
    );
    let state = chain.state();
    assert!(state.availability.iter().all(Option::is_none));
    // ξ'_{E−1}: the packages accumulated in this block (GP §12.3).
    let mut packages = vec![echo.package_spec.hash, hostcall.package_spec.hash];
    packages.sort();
    let mut accumulated = state.accumulated.last().unwrap().clone();
    accumulated.sort();
    assert_eq!(accumulated, packages);
    for service in [ECHO, HOSTCALL] {
        let stats = state
            .statistics
            .services
            .iter()
            .find(|s| s.id == service)
            .expect("service statistics");
        assert_eq!(stats.record.accumulate_count, 1, "service {service}");
        assert!(stats.record.accumulate_gas_used > 0, "service {service}");
        assert_eq!(
            chain.last_accumulation().statistics.get(&service),
            Some(&(stats.record.accumulate_gas_used, 1))
        );
        assert_eq!(state.accounts[&service].info.last_accumulation_slot, slot);
        eprintln!(
            "service {service}: accumulated with {} gas",
            stats.record.accumulate_gas_used
        );
    }
    for core in &state.statistics.cores[..] {
        assert_eq!(core.popularity, supermajority);
    }
    // The echo service yields its arguments E(τ', s, |i|) as its output;
    // the faulting one yields nothing.
    let mut expected = [0u8; 32];
    expected[..3].copy_from_slice(&[u8::try_from(slot).unwrap(), 42, 1]);
    let outputs = vec![AccumulationOutput {
        service: ECHO,
        hash: ByteArray(expected),
    }];
    assert_eq!(state.accumulation_outputs, outputs);
    assert_eq!(chain.last_accumulation().outputs, outputs);
    assert_eq!(
        chain.last_accumulation().root,
        parajam_stf::accumulate::outputs_root(&outputs)
    );

    // The packages are now known: guaranteeing one again is a duplicate.
    let again = chain
        .build(
            chain.slot() + 1,
            Contents {
                reports: vec![WorkReport {
                    context: chain.refine_context().unwrap(),
                    ..echo
                }],
                ..Contents::default()
            },
        )
        .unwrap();
    let err = chain.try_import(&again).unwrap_err();
    assert!(
        matches!(
            err,
            ImportError::Invalid(InvalidBlock::Reports(reports::Error {
                guarantee: 0,
                kind: reports::ErrorKind::DuplicatePackage
            }))
        ),
        "{err:?}"
    );
}

#[test]
fn guarantee_by_unassigned_validator_is_rejected() {
    let (mut chain, code) = service_chain();
    chain.author_next(Contents::default()).unwrap();
    let slot = chain.slot() + 1;
    let plan: SlotPlan = chain.plan(slot).unwrap();
    let assigned = plan.guarantors(1);
    assert_eq!(assigned.len(), 3);
    let unassigned: ValidatorIndex = (0..PARAMS.validators_count)
        .find(|i| !assigned.contains(i))
        .unwrap();
    let keys = chain.keys();
    let signer = |i: ValidatorIndex| -> (ValidatorIndex, &ValidatorSecrets) {
        (i, keys.of(&plan.active_validators, i).unwrap())
    };
    let report = report(&chain, ECHO, code[&ECHO], 1, b"package 3");
    let bad = guarantee(
        report.clone(),
        slot,
        &[signer(assigned[0]), signer(unassigned)],
    );
    let block: Block = chain
        .build(
            slot,
            Contents {
                guarantees: vec![bad],
                ..Contents::default()
            },
        )
        .unwrap();
    let err = chain.try_import(&block).unwrap_err();
    assert!(
        matches!(
            err,
            ImportError::Invalid(InvalidBlock::Reports(reports::Error {
                guarantee: 0,
                kind: reports::ErrorKind::WrongAssignment { validator, core: 1 }
            }))
                if validator == unassigned
        ),
        "{err:?}"
    );
    // Signed by the assigned validators, the same report imports.
    let good = guarantee(report, slot, &[signer(assigned[1]), signer(assigned[0])]);
    chain
        .author(
            slot,
            Contents {
                guarantees: vec![good],
                ..Contents::default()
            },
        )
        .unwrap();
    assert!(chain.state().availability[1].is_some());
}

#[test]
fn tickets_switch_the_next_epoch_to_ticket_sealing() {
    let mut chain = chain(BTreeMap::new());
    let e = PARAMS.epoch_length;
    let y = PARAMS.ticket_submission_end;
    let (mut prove, mut rest) = (Duration::ZERO, Duration::ZERO);
    let mut submitted = 0;
    for slot in 1..y {
        let start = Instant::now();
        let tickets = chain.tickets(slot).unwrap();
        prove += start.elapsed();
        submitted += tickets.len();
        let start = Instant::now();
        let block = chain
            .author(
                slot,
                Contents {
                    tickets,
                    ..Contents::default()
                },
            )
            .unwrap();
        rest += start.elapsed();
        assert!(block.header.tickets_mark.is_none());
    }
    eprintln!(
        "{submitted} tickets: proving {:?}/ticket; their blocks authored and imported in {:?}/block",
        prove / u32::try_from(submitted.max(1)).unwrap(),
        rest / (y - 1)
    );
    assert_eq!(
        chain.state().safrole.ticket_accumulator.len(),
        e as usize,
        "the accumulator is full"
    );
    // Crossing Y: the winning-tickets marker, outside-in.
    let block = chain.author(y, Contents::default()).unwrap();
    let mark = block.header.tickets_mark.expect("tickets marker");
    // Epoch 1 is sealed by tickets, every slot by its ticket's holder.
    chain.author(e, Contents::default()).unwrap();
    let TicketsOrKeys::Tickets(tickets) = chain.state().safrole.seal_keys.clone() else {
        panic!("epoch 1 is not ticket-sealed");
    };
    assert_eq!(tickets.0, mark.0);
    for slot in e + 1..2 * e {
        let plan = chain.plan(slot).unwrap();
        assert!(plan.ticketed());
        let block = chain.author(slot, Contents::default()).unwrap();
        assert_eq!(block.header.author_index, plan.author.index);
    }
    // No tickets in epoch 1: epoch 2 falls back to the fallback keys.
    chain.author(2 * e, Contents::default()).unwrap();
    assert!(matches!(
        chain.state().safrole.seal_keys,
        TicketsOrKeys::Keys(_)
    ));
}

/// `E_P` holds only what the parent's state solicits and has not been
/// provided (GP eq. 12.37), sorted and unique (eq. 12.36): the builder
/// leaves the rest out, and the block imports.
#[test]
fn only_solicited_unprovided_preimages_go_into_a_block() {
    use parajam_primitives::types::Preimage;
    let wanted = b"a solicited preimage".to_vec();
    let also = b"another solicited one".to_vec();
    let mut account = service_account(&echo_program(), 1 << 40, 100, 100);
    for blob in [&wanted, &also] {
        let len = u32::try_from(blob.len()).unwrap();
        account.set_request(&hash(blob), len, Some(&[]));
    }
    let mut chain = chain(BTreeMap::from([(ECHO, account)]));
    let item = |requester: ServiceId, blob: &[u8]| Preimage {
        requester,
        blob: blob.to_vec().into(),
    };
    let contents = || Contents {
        preimages: vec![
            item(ECHO, b"never asked for"),
            item(ECHO, &wanted),
            item(HOSTCALL, &wanted),
            item(ECHO, &also),
            item(ECHO, &wanted),
        ],
        ..Contents::default()
    };
    let block = chain.author(1, contents()).unwrap();
    let mut expected = vec![item(ECHO, &wanted), item(ECHO, &also)];
    expected.sort_by(|a, b| a.blob.cmp(&b.blob));
    assert_eq!(block.extrinsic.preimages, expected);
    let account = &chain.state().accounts[&ECHO];
    assert_eq!(
        account.request(&hash(&wanted), u32::try_from(wanted.len()).unwrap()),
        Some(vec![1])
    );
    assert_eq!(account.preimage(&hash(&also)), Some(&also[..]));
    // Provided now: the next block has none of them.
    let block = chain.author(2, contents()).unwrap();
    assert!(block.extrinsic.preimages.is_empty());
}
