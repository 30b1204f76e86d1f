//! Accumulate's rules on an in-memory service storage: what is enacted,
//! what is rejected (with which reason), and that a rejection changes
//! nothing.

use parajam_corechains_service::accumulate::{accumulate, authorizer_hash, Event, Item, Rejection};
use parajam_corechains_service::blake2_256;
use parajam_corechains_service::host::Preimage;
use parajam_corechains_service::relay_state::RelayState;
use parajam_corechains_service::testing::{commit, get, MemStorage};

use parajam_corechains_types::state::{
    HrmpChannelId, InboundDownwardMessage, InboundHrmpMessage, PendingUpgrade, ServiceConfig,
    StorageKey,
};
use parajam_corechains_types::{
    AuthScope, CandidateOutput, DownwardMessage, HeadData, InvalidReason, NewCode,
    OutboundHrmpMessage, ParaId, PvmBuild, RefineOutput, Registration, ValidationCodeHash,
};
use parajam_xcm_adapter::dmp::DownwardError;
use parajam_xcm_adapter::hrmp::{OutboundError, WatermarkError};
use parajam_xcm_adapter::ump::{HrmpCall, UpwardRefusal};
use parajam_xcm_adapter::xcm::{Notification, XcmError};
use parajam_xcm_adapter::{hrmp, HrmpChannel, HrmpConfig, MessagingError};
use parajam_xcm_adapter::{HrmpOpenRequest, RefusedUpward};
use parity_scale_codec::Encode;

const SERVICE: u32 = 1000;
const PARA: ParaId = ParaId(2000);
const CODE: ValidationCodeHash = ValidationCodeHash([0xc0; 32]);
const CONFIG: ServiceConfig = ServiceConfig {
    relay_parent_max_age: 5,
    ..ServiceConfig::new([0xa0; 32], 5)
};

fn storage() -> MemStorage {
    MemStorage::with_para(&CONFIG, PARA, &HeadData(vec![1]), CODE)
}

/// Opens the channel `sender → recipient` as genesis does.
fn open_channel(s: &mut MemStorage, sender: ParaId, recipient: ParaId) {
    commit(s, |overlay| {
        hrmp::open_genesis_channel(overlay, &HrmpConfig::DEFAULT, sender, recipient, 8, 1024)
    })
    .expect("opens");
}

fn output(parent: &[u8], head: &[u8]) -> CandidateOutput {
    CandidateOutput {
        para_id: PARA,
        parent_head_hash: blake2_256(parent),
        validation_code_hash: CODE,
        result_hash: [0; 32],
        head_data: HeadData(head.to_vec()),
        new_validation_code: None,
        upward_messages: vec![],
        horizontal_messages: vec![],
        processed_downward_messages: 0,
        hrmp_watermark: 0,
        relay_parent_number: 0,
        relay_parent_storage_root: [0; 32],
    }
}

/// `o` built at relay parent `slot` on the service's state `s`: with the
/// root of the emulated relay-chain state a collator would read there.
fn at(s: &MemStorage, mut o: CandidateOutput, slot: u32) -> CandidateOutput {
    o.relay_parent_number = slot;
    // Every inbound message processed, as cumulus reports it.
    o.hrmp_watermark = slot;
    o.relay_parent_storage_root =
        RelayState::read(|k| s.storage.get(&k.to_key()).cloned(), o.para_id, slot)
            .map_or([0; 32], |state| state.root());
    o
}

/// Accumulates `o`, built at relay parent `slot` on the current state, at
/// `slot`.
fn advance(s: &mut MemStorage, o: CandidateOutput, slot: u32) -> Vec<Event> {
    let item = valid(at(s, o, slot));
    accumulate(s, SERVICE, slot, &[item]).expect("no fatal failure")
}

fn item(output: &RefineOutput, scope: AuthScope) -> Item {
    Item {
        authorizer_hash: authorizer_hash(&CONFIG, SERVICE, scope),
        result: Ok(output.encode()),
    }
}

fn valid(o: CandidateOutput) -> Item {
    item(&RefineOutput::Valid(o), AuthScope::Para(PARA))
}

fn rejected(events: &[Event]) -> Vec<Rejection> {
    events
        .iter()
        .filter_map(Event::rejection)
        .cloned()
        .collect()
}

/// Accumulates each item alone at slot 10 on a fresh [`storage`]: it is
/// rejected for its reason, and the storage is unchanged.
fn assert_each_rejected(cases: Vec<(Item, Rejection)>) {
    for (item, reason) in cases {
        let mut s = storage();
        let before = s.storage.clone();
        let events = accumulate(&mut s, SERVICE, 10, &[item]).expect("no fatal failure");
        assert_eq!(rejected(&events), vec![reason.clone()], "{reason:?}");
        assert_eq!(s.storage, before, "{reason:?} changed the storage");
    }
}

#[test]
fn heads_chain_within_one_batch() {
    let mut s = storage();
    // The second block's relay state has the first block's head included.
    let mut after_first = storage();
    after_first
        .storage
        .insert(StorageKey::Head(PARA).to_key(), HeadData(vec![2]).encode());
    let items = [
        valid(at(&s, output(&[1], &[2]), 10)),
        valid(at(&after_first, output(&[2], &[3]), 10)),
    ];
    let events = accumulate(&mut s, SERVICE, 10, &items).expect("no fatal failure");
    assert_eq!(rejected(&events), vec![]);
    assert_eq!(
        get::<HeadData>(&s, StorageKey::Head(PARA)),
        Some(HeadData(vec![3]))
    );
    assert!(
        s.checkpoint.is_some(),
        "a checkpoint after each enacted item"
    );
}

#[test]
fn every_check_rejects_without_changing_the_storage() {
    let v = |o: CandidateOutput| valid(at(&storage(), o, 10));
    let cases: Vec<(Item, Rejection)> = vec![
        (
            Item {
                authorizer_hash: [0; 32],
                result: Err(2),
            },
            Rejection::RefineFailed(2),
        ),
        (
            Item {
                authorizer_hash: [0; 32],
                result: Ok(vec![9, 9]),
            },
            Rejection::BadOutput,
        ),
        (
            item(
                &RefineOutput::Invalid {
                    para_id: PARA,
                    reason: InvalidReason::OutOfGas,
                },
                AuthScope::Para(PARA),
            ),
            Rejection::Invalid(InvalidReason::OutOfGas),
        ),
        // Authorized for another para.
        (
            item(
                &RefineOutput::Valid(output(&[1], &[2])),
                AuthScope::Para(ParaId(7)),
            ),
            Rejection::NotAuthorized,
        ),
        (
            {
                let mut o = output(&[1], &[2]);
                o.para_id = ParaId(7);
                item(&RefineOutput::Valid(o), AuthScope::Para(ParaId(7)))
            },
            Rejection::NotRegistered,
        ),
        (v(output(&[9], &[2])), Rejection::WrongParentHead),
        (
            {
                let mut o = output(&[1], &[2]);
                o.validation_code_hash = ValidationCodeHash([1; 32]);
                v(o)
            },
            Rejection::WrongCode,
        ),
        (
            {
                let mut o = output(&[1], &[2]);
                o.processed_downward_messages = 1;
                v(o)
            },
            Rejection::Messaging(MessagingError::Downward(DownwardError::Underflow {
                processed: 1,
                queued: 0,
            })),
        ),
        // A registration from a para's package.
        (
            item(
                &RefineOutput::Register(Registration {
                    para_id: ParaId(3000),
                    genesis_head: HeadData(vec![]),
                    validation_code_hash: CODE,
                    validation_code_len: 10,
                }),
                AuthScope::Para(PARA),
            ),
            Rejection::NotAuthorized,
        ),
        (
            item(
                &RefineOutput::Register(Registration {
                    para_id: PARA,
                    genesis_head: HeadData(vec![]),
                    validation_code_hash: CODE,
                    validation_code_len: 10,
                }),
                AuthScope::Registrar,
            ),
            Rejection::AlreadyRegistered,
        ),
    ];
    assert_each_rejected(cases);
    // Without a configuration nothing is accepted.
    let mut s = storage();
    s.storage.remove(&StorageKey::Config.to_key());
    let events = advance(&mut s, output(&[1], &[2]), 10);
    assert_eq!(rejected(&events), vec![Rejection::NotConfigured]);
}

#[test]
fn a_relay_parent_the_service_did_not_have_is_rejected() {
    let cases: Vec<(Item, Rejection)> = vec![
        // A relay parent in the future, or too old.
        (
            valid(at(&storage(), output(&[1], &[2]), 11)),
            Rejection::RelayParentOutOfRange,
        ),
        (
            {
                let mut o = at(&storage(), output(&[1], &[2]), 10);
                o.relay_parent_number = 10 - CONFIG.relay_parent_max_age - 1;
                valid(o)
            },
            Rejection::RelayParentOutOfRange,
        ),
        // A relay-parent storage root that is not the service's.
        (
            {
                let mut o = at(&storage(), output(&[1], &[2]), 10);
                o.relay_parent_storage_root[0] ^= 1;
                valid(o)
            },
            Rejection::WrongRelayState,
        ),
        // The root of the state at another slot.
        (
            {
                let mut o = at(&storage(), output(&[1], &[2]), 9);
                o.relay_parent_number = 10;
                valid(o)
            },
            Rejection::WrongRelayState,
        ),
    ];
    assert_each_rejected(cases);
}

#[test]
fn messages_go_to_their_queues() {
    let mut s = storage();
    let recipient = ParaId(2001);
    s.storage
        .insert(StorageKey::Paras.to_key(), vec![PARA, recipient].encode());
    open_channel(&mut s, PARA, recipient);
    s.storage.insert(
        StorageKey::DownwardQueue(PARA).to_key(),
        vec![
            InboundDownwardMessage {
                sent_at: 1,
                msg: vec![1],
            },
            InboundDownwardMessage {
                sent_at: 2,
                msg: vec![2],
            },
        ]
        .encode(),
    );
    let mut o = output(&[1], &[2]);
    o.upward_messages = vec![vec![0xaa]];
    o.horizontal_messages = vec![OutboundHrmpMessage {
        recipient: ParaId(2001),
        data: vec![0xbb],
    }];
    o.processed_downward_messages = 1;
    let events = advance(&mut s, o, 10);
    // Not XCM: refused, and kept with the reason.
    let reason = UpwardRefusal::Xcm(XcmError::UnsupportedVersion(0xaa));
    assert!(events.contains(&Event::UpwardRefused {
        para: PARA,
        reason: reason.clone()
    }));
    assert_eq!(
        get::<Vec<RefusedUpward>>(&s, StorageKey::UpwardRefused(PARA)),
        Some(vec![RefusedUpward {
            sent_at: 10,
            msg: vec![0xaa],
            reason
        }])
    );
    assert_eq!(get::<Vec<Vec<u8>>>(&s, StorageKey::UpwardQueue(PARA)), None);
    let channel = HrmpChannelId {
        sender: PARA,
        recipient,
    };
    assert_eq!(
        get::<Vec<InboundHrmpMessage>>(&s, StorageKey::HrmpChannelContents(channel)),
        Some(vec![InboundHrmpMessage {
            sent_at: 10,
            data: vec![0xbb]
        }])
    );
    let state: HrmpChannel = get(&s, StorageKey::HrmpChannel(channel)).expect("open");
    assert_eq!(state.msg_count, 1);
    assert_eq!(
        state.mqc_head,
        Some(parajam_xcm_adapter::mqc::extend(&[0; 32], 10, &[0xbb]))
    );
    assert_eq!(
        get::<Vec<InboundDownwardMessage>>(&s, StorageKey::DownwardQueue(PARA)),
        Some(vec![InboundDownwardMessage {
            sent_at: 2,
            msg: vec![2]
        }])
    );
}

#[test]
fn a_code_upgrade_is_solicited_scheduled_and_enacted_when_due_and_provided() {
    let mut s = storage();
    let new = NewCode {
        code_hash: ValidationCodeHash([0xc1; 32]),
        code_len: 99,
    };
    let mut o = output(&[1], &[2]);
    o.new_validation_code = Some(new);
    let events = advance(&mut s, o, 10);
    let upgrade = PendingUpgrade {
        code_hash: new.code_hash,
        code_len: 99,
        enact_at: 15,
    };
    assert!(events.contains(&Event::UpgradeScheduled {
        para: PARA,
        upgrade
    }));
    assert_eq!(
        s.preimages.get(&([0xc1; 32], 99)),
        Some(&Preimage::Requested)
    );
    // A second upgrade while one is pending is refused.
    let mut o = output(&[2], &[3]);
    o.new_validation_code = Some(new);
    let events = advance(&mut s, o, 11);
    assert_eq!(rejected(&events), vec![Rejection::UpgradeAlreadyPending]);
    // Due at the relay parent but not provided: the block saw the go-ahead
    // signal, so it cannot be enacted on the old code; nothing changes.
    let before = s.storage.clone();
    let events = advance(&mut s, output(&[2], &[3]), 15);
    assert_eq!(rejected(&events), vec![Rejection::UpgradeCodeUnavailable]);
    assert_eq!(s.storage, before);
    // A block whose relay parent precedes the enactment slot runs on the
    // old code, whenever it is accumulated.
    let early = valid(at(&s, output(&[2], &[3]), 14));
    let events = accumulate(&mut s, SERVICE, 15, &[early]).expect("no fatal failure");
    assert_eq!(rejected(&events), vec![]);
    assert_eq!(
        get::<ValidationCodeHash>(&s, StorageKey::Code(PARA)),
        Some(CODE)
    );
    // Provided: the block that saw the go-ahead was validated with the old
    // code (a block naming the new code is refused, changing nothing); its
    // enactment makes the new code current, which the next block must use.
    s.preimages.insert(([0xc1; 32], 99), Preimage::Available);
    let before = s.storage.clone();
    let mut on_new = output(&[3], &[4]);
    on_new.validation_code_hash = new.code_hash;
    let events = advance(&mut s, on_new, 16);
    assert_eq!(rejected(&events), vec![Rejection::WrongCode]);
    assert_eq!(s.storage, before);
    let events = advance(&mut s, output(&[3], &[4]), 16);
    assert_eq!(rejected(&events), vec![]);
    assert!(events.contains(&Event::UpgradeEnacted {
        para: PARA,
        code_hash: new.code_hash
    }));
    assert_eq!(
        get::<ValidationCodeHash>(&s, StorageKey::Code(PARA)),
        Some(new.code_hash)
    );
    assert_eq!(
        get::<HeadData>(&s, StorageKey::Head(PARA)),
        Some(HeadData(vec![4]))
    );
    assert!(get::<PendingUpgrade>(&s, StorageKey::PendingUpgrade(PARA)).is_none());
    let events = advance(&mut s, output(&[4], &[5]), 17);
    assert_eq!(rejected(&events), vec![Rejection::WrongCode]);
    let mut next = output(&[4], &[5]);
    next.validation_code_hash = new.code_hash;
    let events = advance(&mut s, next, 17);
    assert_eq!(rejected(&events), vec![]);
}

/// A new wasm runtime (the code the para asks for) and its PVM build.
const WASM: NewCode = NewCode {
    code_hash: ValidationCodeHash([0xd1; 32]),
    code_len: 4_000,
};
const BUILD: PvmBuild = PvmBuild {
    source: WASM.code_hash,
    pvf: ValidationCodeHash([0xe1; 32]),
    pvf_len: 9_000,
};

fn register_build(s: &mut MemStorage, slot: u32, scope: AuthScope) -> Vec<Event> {
    accumulate(
        s,
        SERVICE,
        slot,
        &[item(&RefineOutput::RegisterBuild(BUILD), scope)],
    )
    .expect("no fatal failure")
}

fn governance_downward(
    s: &mut MemStorage,
    slot: u32,
    scope: AuthScope,
    msg: &DownwardMessage,
) -> Vec<Event> {
    accumulate(
        s,
        SERVICE,
        slot,
        &[item(&RefineOutput::Downward(msg.clone()), scope)],
    )
    .expect("no fatal failure")
}

#[test]
fn relay_governance_queues_downward_messages_from_the_registrar_only() {
    let mut s = storage();
    let message = DownwardMessage {
        para_id: PARA,
        message: vec![5, 8, 1, 2, 3],
    };
    let before = s.storage.clone();
    // A para's package cannot speak for the relay chain's governance.
    let events = governance_downward(&mut s, 7, AuthScope::Para(PARA), &message);
    assert_eq!(rejected(&events), vec![Rejection::NotAuthorized]);
    // Nor can anyone reach a para that is not registered, or send a
    // message over the downward size limit.
    let unknown = DownwardMessage {
        para_id: ParaId(3000),
        ..message.clone()
    };
    let events = governance_downward(&mut s, 7, AuthScope::Registrar, &unknown);
    assert_eq!(
        rejected(&events),
        vec![Rejection::Downward(DownwardError::Unroutable(ParaId(3000)))]
    );
    let max = HrmpConfig::DEFAULT.max_downward_message_size;
    let large = DownwardMessage {
        para_id: PARA,
        message: vec![0; max as usize + 1],
    };
    let events = governance_downward(&mut s, 7, AuthScope::Registrar, &large);
    assert_eq!(
        rejected(&events),
        vec![Rejection::Downward(DownwardError::ExceedsMaxMessageSize {
            size: max + 1,
            max
        })]
    );
    assert_eq!(s.storage, before, "a rejection changes nothing");

    // The registrar's message is queued as the relay chain's dmp pallet
    // queues it: sent at the timeslot, the MQC head extended over it.
    let events = governance_downward(&mut s, 7, AuthScope::Registrar, &message);
    assert_eq!(
        events,
        vec![Event::DownwardQueued {
            para: PARA,
            message_hash: blake2_256(&message.message),
            queue_len: 1,
        }]
    );
    assert_eq!(
        get::<Vec<InboundDownwardMessage>>(&s, StorageKey::DownwardQueue(PARA)),
        Some(vec![InboundDownwardMessage {
            sent_at: 7,
            msg: message.message.clone(),
        }])
    );
    assert_eq!(
        get::<[u8; 32]>(&s, StorageKey::DmqMqcHead(PARA)),
        Some(parajam_xcm_adapter::mqc::extend(
            &[0; 32],
            7,
            &message.message
        ))
    );
    // The para's next block must process it (the advancement rule), and
    // then it leaves the queue.
    let events = advance(&mut s, output(&[1], &[2]), 8);
    assert!(matches!(
        rejected(&events)[..],
        [Rejection::Messaging(MessagingError::Downward(
            DownwardError::AdvancementRule { sent_at: 7, .. }
        ))]
    ));
    let mut o = output(&[1], &[2]);
    o.processed_downward_messages = 1;
    let events = advance(&mut s, o, 8);
    assert_eq!(rejected(&events), vec![]);
    assert_eq!(
        get::<Vec<InboundDownwardMessage>>(&s, StorageKey::DownwardQueue(PARA)).unwrap_or_default(),
        vec![]
    );
}

#[test]
fn a_wasm_upgrade_enacts_its_registered_pvm_build() {
    let mut s = storage();
    // Only the registrar attests builds; a para's package cannot.
    let events = register_build(&mut s, 9, AuthScope::Para(PARA));
    assert_eq!(rejected(&events), vec![Rejection::NotAuthorized]);
    assert!(get::<PvmBuild>(&s, StorageKey::Build(WASM.code_hash)).is_none());
    let events = register_build(&mut s, 9, AuthScope::Registrar);
    assert_eq!(events, vec![Event::BuildRegistered { build: BUILD }]);
    assert_eq!(
        get::<PvmBuild>(&s, StorageKey::Build(WASM.code_hash)),
        Some(BUILD)
    );
    // The artifact is solicited, not the wasm.
    assert_eq!(
        s.preimages.get(&(BUILD.pvf.0, 9_000)),
        Some(&Preimage::Requested)
    );

    // The para upgrades to the wasm: what is solicited and enacted is the
    // build.
    let mut o = output(&[1], &[2]);
    o.new_validation_code = Some(WASM);
    let events = advance(&mut s, o, 10);
    assert_eq!(rejected(&events), vec![]);
    assert!(!s.preimages.contains_key(&(WASM.code_hash.0, 4_000)));
    s.preimages
        .insert((BUILD.pvf.0, 9_000), Preimage::Available);
    let events = advance(&mut s, output(&[2], &[3]), 15);
    assert_eq!(rejected(&events), vec![]);
    assert!(events.contains(&Event::UpgradeEnacted {
        para: PARA,
        code_hash: BUILD.pvf
    }));
    assert_eq!(
        get::<ValidationCodeHash>(&s, StorageKey::Code(PARA)),
        Some(BUILD.pvf)
    );
}

#[test]
fn a_build_registered_after_the_upgrade_was_scheduled_still_counts() {
    let mut s = storage();
    let mut o = output(&[1], &[2]);
    o.new_validation_code = Some(WASM);
    advance(&mut s, o, 10);
    // Without a build the wasm itself is solicited (it could be an artifact).
    assert_eq!(
        s.preimages.get(&(WASM.code_hash.0, 4_000)),
        Some(&Preimage::Requested)
    );
    register_build(&mut s, 12, AuthScope::Registrar);
    s.preimages
        .insert((BUILD.pvf.0, 9_000), Preimage::Available);
    advance(&mut s, output(&[2], &[3]), 15);
    assert_eq!(
        get::<ValidationCodeHash>(&s, StorageKey::Code(PARA)),
        Some(BUILD.pvf)
    );
}

#[test]
fn registration_from_the_registrar_adds_a_para_and_solicits_its_code() {
    let mut s = storage();
    let code = ValidationCodeHash([0xc2; 32]);
    let r = Registration {
        para_id: ParaId(1500),
        genesis_head: HeadData(vec![5]),
        validation_code_hash: code,
        validation_code_len: 42,
    };
    let events = accumulate(
        &mut s,
        SERVICE,
        10,
        &[item(&RefineOutput::Register(r), AuthScope::Registrar)],
    )
    .expect("enacted");
    assert_eq!(events, vec![Event::Registered { para: ParaId(1500) }]);
    assert_eq!(
        get::<Vec<ParaId>>(&s, StorageKey::Paras),
        Some(vec![ParaId(1500), PARA])
    );
    assert_eq!(
        get::<HeadData>(&s, StorageKey::Head(ParaId(1500))),
        Some(HeadData(vec![5]))
    );
    assert_eq!(
        s.preimages.get(&([0xc2; 32], 42)),
        Some(&Preimage::Requested)
    );
}

#[test]
fn a_storage_failure_mid_item_is_fatal_and_keeps_the_earlier_items() {
    let mut s = storage();
    s.full_keys.push(StorageKey::UpwardRefused(PARA).to_key());
    let mut second = output(&[2], &[3]);
    second.upward_messages = vec![vec![1]];
    let mut after_first = storage();
    after_first
        .storage
        .insert(StorageKey::Head(PARA).to_key(), HeadData(vec![2]).encode());
    let items = [
        valid(at(&s, output(&[1], &[2]), 10)),
        valid(at(&after_first, second, 10)),
    ];
    let fatal =
        accumulate(&mut s, SERVICE, 10, &items).expect_err("the second item cannot be stored");
    assert_eq!((fatal.para, fatal.reason), (PARA, Rejection::StorageFull));
    // The checkpoint holds the first item's head: the program's panic reverts to it.
    let (checkpoint, _) = s.checkpoint.expect("a checkpoint after the first item");
    assert_eq!(
        checkpoint.get(&StorageKey::Head(PARA).to_key()),
        Some(&HeadData(vec![2]).encode())
    );
}

/// A second para, 2001, registered with the same code, and a channel from
/// [`PARA`] to it.
fn two_paras() -> (MemStorage, ParaId) {
    let mut s = storage();
    let other = ParaId(2001);
    s.storage
        .insert(StorageKey::Paras.to_key(), vec![PARA, other].encode());
    s.storage
        .insert(StorageKey::Head(other).to_key(), HeadData(vec![1]).encode());
    s.storage
        .insert(StorageKey::Code(other).to_key(), CODE.encode());
    open_channel(&mut s, PARA, other);
    (s, other)
}

fn output_of(para: ParaId, parent: &[u8], head: &[u8]) -> CandidateOutput {
    CandidateOutput {
        para_id: para,
        ..output(parent, head)
    }
}

#[test]
fn horizontal_messages_reach_their_recipient_once_in_order() {
    let (mut s, other) = two_paras();
    let channel = HrmpChannelId {
        sender: PARA,
        recipient: other,
    };
    let contents = |s: &MemStorage| {
        get::<Vec<InboundHrmpMessage>>(s, StorageKey::HrmpChannelContents(channel))
            .unwrap_or_default()
    };
    // Two blocks of PARA, each with one message (one per recipient per block).
    for (slot, parent, head) in [(10, 1u8, 2u8), (11, 2, 3)] {
        let mut o = output(&[parent], &[head]);
        o.horizontal_messages = vec![OutboundHrmpMessage {
            recipient: other,
            data: vec![head],
        }];
        let events = advance(&mut s, o, slot);
        assert!(rejected(&events).is_empty(), "{events:?}");
    }
    assert_eq!(
        contents(&s),
        vec![
            InboundHrmpMessage {
                sent_at: 10,
                data: vec![2]
            },
            InboundHrmpMessage {
                sent_at: 11,
                data: vec![3]
            },
        ]
    );
    // The recipient's relay state shows the channel and its MQC head.
    let state =
        RelayState::read(|k| s.storage.get(&k.to_key()).cloned(), other, 11).expect("registered");
    let head = parajam_xcm_adapter::mqc::extend(
        &parajam_xcm_adapter::mqc::extend(&[0; 32], 10, &[2]),
        11,
        &[3],
    );
    assert_eq!(state.messaging.ingress.len(), 1);
    assert_eq!(state.messaging.ingress[0].1.mqc_head, Some(head));
    assert!(state
        .entries()
        .iter()
        .any(|(k, _)| *k == parajam_xcm_adapter::keys::hrmp_ingress_channel_index(other)));

    // The recipient processes up to slot 10: the first message leaves.
    let mut o = at(&s, output_of(other, &[1], &[7]), 12);
    o.hrmp_watermark = 10;
    let events = accumulate(
        &mut s,
        SERVICE,
        12,
        &[item(&RefineOutput::Valid(o), AuthScope::Para(other))],
    )
    .expect("no fatal failure");
    assert!(rejected(&events).is_empty(), "{events:?}");
    assert_eq!(contents(&s).len(), 1);
    assert_eq!(contents(&s)[0].sent_at, 11);
    // A watermark on a slot it received nothing at is refused, changing nothing.
    let before = s.storage.clone();
    let mut o = at(&s, output_of(other, &[7], &[8]), 12);
    o.hrmp_watermark = 9;
    let events = accumulate(
        &mut s,
        SERVICE,
        12,
        &[item(&RefineOutput::Valid(o), AuthScope::Para(other))],
    )
    .expect("no fatal failure");
    assert_eq!(
        rejected(&events),
        vec![Rejection::Messaging(MessagingError::Watermark(
            WatermarkError::AdvancementRule {
                new_watermark: 9,
                last_watermark: 10
            }
        ))]
    );
    assert_eq!(s.storage, before);
}

#[test]
fn messaging_outside_the_channels_is_rejected_and_changes_nothing() {
    let (s, other) = two_paras();
    let cases = [
        // No channel from the recipient back to PARA.
        (
            output_of(other, &[1], &[2]),
            vec![OutboundHrmpMessage {
                recipient: PARA,
                data: vec![1],
            }],
            MessagingError::Outbound(OutboundError::NoSuchChannel {
                idx: 0,
                channel: HrmpChannelId {
                    sender: other,
                    recipient: PARA,
                },
            }),
        ),
        // Larger than the channel's 1024-octet messages.
        (
            output(&[1], &[2]),
            vec![OutboundHrmpMessage {
                recipient: other,
                data: vec![0; 1025],
            }],
            MessagingError::Outbound(OutboundError::MaxMessageSizeExceeded {
                idx: 0,
                msg_size: 1025,
                max_size: 1024,
            }),
        ),
        // Two messages to one recipient in one block.
        (
            output(&[1], &[2]),
            vec![
                OutboundHrmpMessage {
                    recipient: other,
                    data: vec![1],
                },
                OutboundHrmpMessage {
                    recipient: other,
                    data: vec![2],
                },
            ],
            MessagingError::Outbound(OutboundError::NotSorted { idx: 1 }),
        ),
    ];
    for (o, messages, reason) in cases {
        let mut s = MemStorage {
            storage: s.storage.clone(),
            ..MemStorage::default()
        };
        let para = o.para_id;
        let mut o = at(&s, o, 10);
        o.horizontal_messages = messages;
        let before = s.storage.clone();
        let events = accumulate(
            &mut s,
            SERVICE,
            10,
            &[item(&RefineOutput::Valid(o), AuthScope::Para(para))],
        )
        .expect("no fatal failure");
        assert_eq!(rejected(&events), vec![Rejection::Messaging(reason)]);
        assert_eq!(s.storage, before);
    }
}

/// `VersionedXcm` v4 `[Transact { Native, call }]` of the relay chain's
/// `hrmp` `call`.
fn transact(call: HrmpCall) -> Vec<u8> {
    let mut relay_call = vec![HrmpConfig::DEFAULT.hrmp_pallet_index];
    call.encode_to(&mut relay_call);
    let mut msg = vec![4, 4, 6, 0]; // v4, one instruction, Transact, Native
    msg.extend([0, 0]); // require_weight_at_most: zero
    relay_call.encode_to(&mut msg);
    msg
}

#[test]
fn upward_xcm_opens_a_channel_between_two_paras() {
    let (mut s, other) = two_paras();
    let open = HrmpCall::InitOpenChannel {
        recipient: PARA,
        proposed_max_capacity: 4,
        proposed_max_message_size: 64,
    };
    let mut o = at(&s, output_of(other, &[1], &[2]), 10);
    o.upward_messages = vec![transact(open)];
    let events = accumulate(
        &mut s,
        SERVICE,
        10,
        &[item(&RefineOutput::Valid(o), AuthScope::Para(other))],
    )
    .expect("no fatal failure");
    assert!(events.contains(&Event::UpwardExecuted {
        para: other,
        calls: vec![open]
    }));
    let channel = HrmpChannelId {
        sender: other,
        recipient: PARA,
    };
    assert!(get::<HrmpOpenRequest>(&s, StorageKey::HrmpOpenRequest(channel)).is_some());
    let notification = Notification::NewChannelOpenRequest {
        sender: other.0,
        max_message_size: 64,
        max_capacity: 4,
    }
    .encode_versioned(5);
    assert_eq!(
        get::<Vec<InboundDownwardMessage>>(&s, StorageKey::DownwardQueue(PARA)),
        Some(vec![InboundDownwardMessage {
            sent_at: 10,
            msg: notification.clone()
        }])
    );
    // PARA's relay state now has a downward-queue head; its next block must
    // process the notification (the relay chain's advancement rule).
    let state =
        RelayState::read(|k| s.storage.get(&k.to_key()).cloned(), PARA, 11).expect("registered");
    assert_eq!(
        state.messaging.dmq_mqc_head,
        Some(parajam_xcm_adapter::mqc::extend(
            &[0; 32],
            10,
            &notification
        ))
    );
    let ignores = at(&s, output(&[1], &[2]), 11);
    let events = accumulate(&mut s, SERVICE, 11, &[valid(ignores)]).expect("no fatal failure");
    assert_eq!(
        rejected(&events),
        vec![Rejection::Messaging(MessagingError::Downward(
            DownwardError::AdvancementRule {
                sent_at: 10,
                relay_parent: 11
            }
        ))]
    );
    // It processes it and accepts.
    let accept = HrmpCall::AcceptOpenChannel { sender: other };
    let mut o = at(&s, output(&[1], &[2]), 11);
    o.processed_downward_messages = 1;
    o.upward_messages = vec![transact(accept)];
    let events = advance(&mut s, o, 11);
    assert!(rejected(&events).is_empty(), "{events:?}");
    assert!(get::<HrmpChannel>(&s, StorageKey::HrmpChannel(channel)).is_some());
    assert_eq!(
        get::<Vec<ParaId>>(&s, StorageKey::HrmpIngress(PARA)),
        Some(vec![other])
    );
    assert_eq!(
        get::<Vec<InboundDownwardMessage>>(&s, StorageKey::DownwardQueue(other)),
        Some(vec![InboundDownwardMessage {
            sent_at: 11,
            msg: Notification::ChannelAccepted { recipient: PARA.0 }.encode_versioned(5)
        }])
    );
}

#[test]
fn upward_messages_over_the_host_configuration_are_rejected_and_change_nothing() {
    use parajam_corechains_types::state::AbridgedHostConfiguration;
    use parajam_xcm_adapter::ump::UpwardError;
    let limits = AbridgedHostConfiguration::DEFAULT;
    let num = limits.max_upward_message_num_per_candidate;
    let size = limits.max_upward_message_size;
    let cases = [
        (
            vec![vec![1u8]; num as usize + 1],
            UpwardError::MoreMessagesThanPermitted {
                sent: num + 1,
                permitted: num,
            },
        ),
        (
            vec![vec![1u8; size as usize + 1]],
            UpwardError::MessageTooLarge {
                idx: 0,
                msg_size: size + 1,
                max_size: size,
            },
        ),
    ];
    let s = storage();
    for (messages, reason) in cases {
        let mut s = MemStorage {
            storage: s.storage.clone(),
            ..MemStorage::default()
        };
        let mut o = at(&s, output(&[1], &[2]), 10);
        o.upward_messages = messages;
        let before = s.storage.clone();
        let events = accumulate(&mut s, SERVICE, 10, &[valid(o)]).expect("no fatal failure");
        assert_eq!(
            rejected(&events),
            vec![Rejection::Messaging(MessagingError::Upward(reason))]
        );
        assert_eq!(s.storage, before);
    }
}

#[test]
fn messages_to_an_unknown_para_or_a_closing_channel_are_rejected() {
    let (s, other) = two_paras();
    let unknown = ParaId(3000);
    // To a para that is not registered: no channel to it.
    let mut s1 = MemStorage {
        storage: s.storage.clone(),
        ..MemStorage::default()
    };
    let mut o = at(&s1, output(&[1], &[2]), 10);
    o.horizontal_messages = vec![OutboundHrmpMessage {
        recipient: unknown,
        data: vec![1],
    }];
    let before = s1.storage.clone();
    let events = accumulate(&mut s1, SERVICE, 10, &[valid(o)]).expect("no fatal failure");
    assert_eq!(
        rejected(&events),
        vec![Rejection::Messaging(MessagingError::Outbound(
            OutboundError::NoSuchChannel {
                idx: 0,
                channel: HrmpChannelId {
                    sender: PARA,
                    recipient: unknown,
                },
            }
        ))]
    );
    assert_eq!(s1.storage, before);

    // PARA → other holds a message and is closing: it takes no more.
    let mut s2 = MemStorage {
        storage: s.storage.clone(),
        ..MemStorage::default()
    };
    let mut o = at(&s2, output(&[1], &[2]), 10);
    o.horizontal_messages = vec![OutboundHrmpMessage {
        recipient: other,
        data: vec![1],
    }];
    let events = accumulate(&mut s2, SERVICE, 10, &[valid(o)]).expect("no fatal failure");
    assert!(rejected(&events).is_empty(), "{events:?}");
    let channel = HrmpChannelId {
        sender: PARA,
        recipient: other,
    };
    let mut o = at(&s2, output(&[2], &[3]), 11);
    o.upward_messages = vec![transact(HrmpCall::CloseChannel {
        channel_id: channel,
    })];
    let events = accumulate(&mut s2, SERVICE, 11, &[valid(o)]).expect("no fatal failure");
    assert!(rejected(&events).is_empty(), "{events:?}");
    // Closing is a stored value (a JAM `write` of no octets removes the key).
    assert!(s2
        .storage
        .get(&StorageKey::HrmpCloseRequest(channel).to_key())
        .is_some_and(|v| !v.is_empty()));
    let mut o = at(&s2, output(&[3], &[4]), 12);
    o.horizontal_messages = vec![OutboundHrmpMessage {
        recipient: other,
        data: vec![2],
    }];
    let before = s2.storage.clone();
    let events = accumulate(&mut s2, SERVICE, 12, &[valid(o)]).expect("no fatal failure");
    let [Rejection::Messaging(MessagingError::Outbound(error))] = &rejected(&events)[..] else {
        panic!("rejected for its messaging: {events:?}");
    };
    assert!(
        matches!(
            error,
            OutboundError::NoSuchChannel { .. } | OutboundError::ChannelClosing { .. }
        ),
        "{error:?}"
    );
    assert_eq!(s2.storage, before);
}
