//! JAM transfers into and out of the CoreChains service, on an in-memory
//! service storage ([`MemStorage`]): transfers in become downward XCM or
//! horizontal messages (or bounce back with their reason, changing
//! nothing else); upward value transfers leave as transfers, debiting the
//! para's sovereign balance (or are refused with their reason).

use parajam_corechains_service::accumulate::{
    accumulate_inputs, authorizer_hash, Event, Input, Item, Rejection,
};
use parajam_corechains_service::blake2_256;
use parajam_corechains_service::host::{AccountInfo, TransferRefusal};
use parajam_corechains_service::jam_transfers::{Delivery, Transfer};
use parajam_corechains_service::relay_state::RelayState;
use parajam_corechains_service::testing::{commit, get, put, MemAccount, MemStorage, SentTransfer};

use parajam_corechains_types::memo::{BounceReason, Memo, MemoKind};
use parajam_corechains_types::state::{
    HrmpChannelId, InboundDownwardMessage, InboundHrmpMessage, OutboxId, RemoteChannel,
    ServiceConfig, StorageKey,
};
use parajam_corechains_types::{
    AuthScope, CandidateOutput, HeadData, OutboundHrmpMessage, ParaId, RefineOutput,
    RemoteChannelDeclaration, RouteDeclaration, ValidationCodeHash,
};
use parajam_xcm_adapter::hrmp::ChannelError;
use parajam_xcm_adapter::testing::downward_messages;
use parajam_xcm_adapter::ump::{TransferCheck, UpwardRefusal};
use parajam_xcm_adapter::{hrmp, mqc, xcm, HrmpChannel, HrmpConfig, RefusedUpward};
use parity_scale_codec::{Compact, Encode};

const SERVICE: u32 = 1000;
const PARA: ParaId = ParaId(2000);
/// A para hosted by the CoreChains instance [`PEER`].
const REMOTE: ParaId = ParaId(3000);
const PEER: u32 = 1001;
/// A service that is no CoreChains instance.
const OTHER: u32 = 77;
const OTHER_MEMO_GAS: u64 = 9;
const CODE: ValidationCodeHash = ValidationCodeHash([0xc0; 32]);
const CONFIG: ServiceConfig = ServiceConfig {
    relay_parent_max_age: 5,
    ..ServiceConfig::new([0xa0; 32], 5)
};
const BENEFICIARY: [u8; 32] = [0xbe; 32];
const SLOT: u32 = 10;

fn storage() -> MemStorage {
    let mut s = MemStorage::with_para(&CONFIG, PARA, &HeadData(vec![1]), CODE);
    put(&mut s, StorageKey::RemoteRoute(REMOTE), PEER.encode());
    s.account = Some(AccountInfo {
        balance: 10_000,
        threshold: 1_000,
        min_memo_gas: 5,
    });
    s.accounts.insert(OTHER, MemAccount::new(0, OTHER_MEMO_GAS));
    s.accounts.insert(PEER, MemAccount::new(0, 5));
    // The channel REMOTE → PARA, its sender hosted by PEER.
    open_remote_channel(&mut s, REMOTE, PARA);
    s
}

/// Opens the channel `sender → recipient` in `s`, one of its ends hosted
/// by another instance (capacity 3, messages of 64 octets at most).
fn open_remote_channel(s: &mut MemStorage, sender: ParaId, recipient: ParaId) {
    commit(s, |overlay| {
        hrmp::open_remote_channel(overlay, &HrmpConfig::DEFAULT, sender, recipient, 3, 64)
    })
    .expect("opens");
}

fn value_in(para: ParaId, amount: u64) -> Transfer {
    Transfer {
        source: OTHER,
        amount,
        gas: OTHER_MEMO_GAS,
        memo: Memo::value(ParaId(0), para.0, 0, SLOT, BENEFICIARY).encode(),
    }
}

/// HRMP message `sequence` of `payload` on `REMOTE → PARA`, its payload
/// put in the peer's outbox.
fn hrmp_in(s: &mut MemStorage, sequence: u64, payload: &[u8]) -> Transfer {
    let channel = HrmpChannelId {
        sender: REMOTE,
        recipient: PARA,
    };
    let key = StorageKey::Outbox(OutboxId {
        service: SERVICE,
        channel,
        sequence,
    });
    s.accounts
        .get_mut(&PEER)
        .expect("peer")
        .storage
        .insert(key.to_key(), payload.to_vec().encode());
    hrmp_memo(sequence, payload)
}

fn hrmp_memo(sequence: u64, payload: &[u8]) -> Transfer {
    Transfer {
        source: PEER,
        amount: 0,
        gas: 5,
        memo: Memo {
            kind: MemoKind::Hrmp,
            source_para: REMOTE,
            destination: PARA.0,
            sequence,
            sent_at: SLOT,
            subject: blake2_256(payload),
            length: u32::try_from(payload.len()).expect("small"),
            reason: None,
        }
        .encode(),
    }
}

fn receive(s: &mut MemStorage, transfers: Vec<Transfer>) -> Vec<Event> {
    let inputs: Vec<Input> = transfers.into_iter().map(Input::Transfer).collect();
    accumulate_inputs(s, SERVICE, SLOT, &inputs).expect("no fatal failure")
}

/// The only thing `transfer` did: bounce, for `reason`, with the storage
/// unchanged and the value sent back.
fn assert_bounced(s: &mut MemStorage, transfer: Transfer, reason: BounceReason) {
    let before = s.storage.clone();
    let sent_before = s.transfers.len();
    let (source, amount) = (transfer.source, transfer.amount);
    let memo_hash = blake2_256(&transfer.memo);
    let events = receive(s, vec![transfer]);
    assert_eq!(
        events,
        vec![Event::TransferBounced {
            source,
            amount,
            reason,
            sent: Ok(()),
        }]
    );
    assert_eq!(s.storage, before, "{reason:?}: nothing queued");
    assert_eq!(s.transfers.len(), sent_before + 1);
    let back = s.transfers.last().expect("bounced").clone();
    let gas = s.accounts[&source].info.min_memo_gas;
    assert_eq!(
        (back.destination, back.amount, back.gas),
        (source, amount, gas)
    );
    let memo = Memo::decode(&back.memo).expect("a well-formed bounce");
    assert_eq!(memo.kind, MemoKind::Bounce);
    assert_eq!(memo.reason, Some(reason));
    assert_eq!(memo.subject, memo_hash);
}

#[test]
fn a_value_transfer_in_becomes_a_reserve_deposit_to_the_beneficiary() {
    let mut s = storage();
    let events = receive(&mut s, vec![value_in(PARA, 500)]);
    let message = xcm::reserve_asset_deposited(500, &BENEFICIARY);
    assert_eq!(
        events,
        vec![Event::TransferDelivered {
            source: OTHER,
            para: PARA,
            amount: 500,
            delivery: Delivery::Downward {
                message_hash: blake2_256(&message),
                queue_len: 1,
            },
        }]
    );
    let queue: Vec<InboundDownwardMessage> =
        get(&s, StorageKey::DownwardQueue(PARA)).expect("queued");
    assert_eq!(
        queue,
        vec![InboundDownwardMessage {
            sent_at: SLOT,
            msg: message.clone()
        }]
    );
    assert_eq!(
        get::<[u8; 32]>(&s, StorageKey::DmqMqcHead(PARA)),
        Some(mqc::extend(&[0; 32], SLOT, &message))
    );
    assert_eq!(
        get::<u64>(&s, StorageKey::SovereignBalance(PARA)),
        Some(500)
    );
    assert!(s.transfers.is_empty());
    // A second one adds to the sovereign balance, after the first.
    receive(&mut s, vec![value_in(PARA, 250)]);
    assert_eq!(
        get::<u64>(&s, StorageKey::SovereignBalance(PARA)),
        Some(750)
    );
    let queue: Vec<InboundDownwardMessage> =
        get(&s, StorageKey::DownwardQueue(PARA)).expect("queued");
    assert_eq!(queue.len(), 2);
}

#[test]
fn malformed_memos_unknown_paras_and_full_queues_bounce() {
    let mut s = storage();
    let mut malformed = value_in(PARA, 40);
    malformed.memo[100] = 1;
    assert_bounced(&mut s, malformed, BounceReason::MalformedMemo);
    let mut zero = value_in(PARA, 41);
    zero.memo = [0; 128];
    assert_bounced(&mut s, zero, BounceReason::MalformedMemo);
    assert_bounced(
        &mut s,
        value_in(ParaId(2999), 42),
        BounceReason::UnknownPara,
    );

    // The downward queue full.
    let full = HrmpConfig::DEFAULT.max_downward_queue_count() as usize;
    let queue = vec![
        InboundDownwardMessage {
            sent_at: 1,
            msg: vec![0],
        };
        full
    ];
    put(&mut s, StorageKey::DownwardQueue(PARA), queue.encode());
    assert_bounced(&mut s, value_in(PARA, 43), BounceReason::QueueFull);

    // A sovereign balance that would overflow.
    put(
        &mut s,
        StorageKey::DownwardQueue(PARA),
        Vec::<u8>::new().encode(),
    );
    put(
        &mut s,
        StorageKey::SovereignBalance(PARA),
        u64::MAX.encode(),
    );
    assert_bounced(&mut s, value_in(PARA, 44), BounceReason::Overflow);
}

#[test]
fn a_bounce_to_a_sender_that_is_gone_keeps_the_value_and_says_so() {
    let mut s = storage();
    s.accounts.remove(&OTHER);
    let before = s.storage.clone();
    let events = receive(&mut s, vec![value_in(ParaId(2999), 42)]);
    assert_eq!(
        events,
        vec![Event::TransferBounced {
            source: OTHER,
            amount: 42,
            reason: BounceReason::UnknownPara,
            sent: Err(TransferRefusal::Who),
        }]
    );
    assert_eq!(s.storage, before);
    assert!(s.transfers.is_empty());
}

#[test]
fn hrmp_messages_from_a_peer_instance_arrive_once_and_in_order() {
    let mut s = storage();
    let channel = HrmpChannelId {
        sender: REMOTE,
        recipient: PARA,
    };
    let payloads: [&[u8]; 3] = [b"first", b"second", b"third"];
    let transfers: Vec<Transfer> = (0u64..)
        .zip(payloads)
        .map(|(n, p)| hrmp_in(&mut s, n, p))
        .collect();
    let events = receive(&mut s, transfers.clone());
    let expected: Vec<Event> = (0..3)
        .map(|sequence| Event::TransferDelivered {
            source: PEER,
            para: PARA,
            amount: 0,
            delivery: Delivery::Horizontal {
                sender: REMOTE,
                sequence,
            },
        })
        .collect();
    assert_eq!(events, expected);
    let contents: Vec<InboundHrmpMessage> =
        get(&s, StorageKey::HrmpChannelContents(channel)).expect("queued");
    assert_eq!(
        contents,
        payloads
            .iter()
            .map(|p| InboundHrmpMessage {
                sent_at: SLOT,
                data: p.to_vec()
            })
            .collect::<Vec<_>>()
    );
    let head = payloads
        .iter()
        .fold([0; 32], |head, p| mqc::extend(&head, SLOT, p));
    let state: HrmpChannel = get(&s, StorageKey::HrmpChannel(channel)).expect("open");
    assert_eq!(state.mqc_head, Some(head));
    assert_eq!(state.msg_count, 3);
    assert_eq!(
        get::<u64>(
            &s,
            StorageKey::RemoteInbound(RemoteChannel {
                service: PEER,
                channel
            })
        ),
        Some(3)
    );
    // The recipient's relay state lists the channel as an ingress one.
    assert_eq!(
        get::<Vec<ParaId>>(&s, StorageKey::HrmpIngress(PARA)),
        Some(vec![REMOTE])
    );
    assert!(RelayState::read(|k| s.storage.get(&k.to_key()).cloned(), PARA, SLOT).is_some());

    // A replay, and one ahead of its turn: out of order, nothing queued.
    assert_bounced(&mut s, transfers[1].clone(), BounceReason::OutOfOrder);
    let ahead = hrmp_in(&mut s, 4, b"fifth");
    assert_bounced(&mut s, ahead, BounceReason::OutOfOrder);
}

#[test]
fn bad_hrmp_transfers_bounce_with_their_reason() {
    let mut s = storage();
    // Not in the peer's outbox.
    assert_bounced(&mut s, hrmp_memo(0, b"lost"), BounceReason::PayloadMissing);
    // The payload is not the one the memo names.
    let mut t = hrmp_in(&mut s, 0, b"real");
    let Ok(mut memo) = Memo::decode(&t.memo) else {
        panic!("decodes");
    };
    memo.subject = blake2_256(b"fake");
    t.memo = memo.encode();
    assert_bounced(&mut s, t.clone(), BounceReason::HashMismatch);
    memo.subject = blake2_256(b"real");
    memo.length = 5;
    t.memo = memo.encode();
    assert_bounced(&mut s, t, BounceReason::HashMismatch);
    // From a service the route table does not name for the para.
    let mut t = hrmp_in(&mut s, 0, b"real");
    t.source = OTHER;
    assert_bounced(&mut s, t, BounceReason::UnknownSender);
    // To a para not hosted here.
    put(&mut s, StorageKey::RemoteRoute(ParaId(3001)), PEER.encode());
    let mut t = hrmp_in(&mut s, 0, b"real");
    let Ok(mut memo) = Memo::decode(&t.memo) else {
        panic!("decodes");
    };
    memo.destination = 2999;
    t.memo = memo.encode();
    assert_bounced(&mut s, t, BounceReason::UnknownPara);
    // On a channel not open here: 3001 → 2000.
    let mut t = hrmp_in(&mut s, 0, b"real");
    let Ok(mut memo) = Memo::decode(&t.memo) else {
        panic!("decodes");
    };
    memo.source_para = ParaId(3001);
    t.memo = memo.encode();
    let channel = HrmpChannelId {
        sender: ParaId(3001),
        recipient: PARA,
    };
    let key = StorageKey::Outbox(OutboxId {
        service: SERVICE,
        channel,
        sequence: 0,
    });
    s.accounts
        .get_mut(&PEER)
        .expect("peer")
        .storage
        .insert(key.to_key(), b"real".to_vec().encode());
    assert_bounced(&mut s, t, BounceReason::NoChannel);
    // Over the channel's message size (64).
    let big = hrmp_in(&mut s, 0, &[7; 65]);
    assert_bounced(&mut s, big, BounceReason::QueueFull);
    // Over its capacity (3): the fourth waits in no queue, it bounces.
    let fits: Vec<Transfer> = (0..3).map(|n| hrmp_in(&mut s, n, b"m")).collect();
    receive(&mut s, fits);
    let fourth = hrmp_in(&mut s, 3, b"m");
    assert_bounced(&mut s, fourth, BounceReason::QueueFull);
}

#[test]
fn a_bounced_value_transfer_returns_to_the_sovereign_balance() {
    let mut s = storage();
    put(&mut s, StorageKey::SovereignBalance(PARA), 100u64.encode());
    let bounce = Transfer {
        source: OTHER,
        amount: 300,
        gas: 5,
        memo: Memo {
            kind: MemoKind::Bounce,
            source_para: PARA,
            destination: OTHER,
            sequence: 4,
            sent_at: SLOT,
            subject: [1; 32],
            length: 0,
            reason: Some(BounceReason::UnknownPara),
        }
        .encode(),
    };
    let events = receive(&mut s, vec![bounce]);
    assert_eq!(
        events,
        vec![Event::TransferReturned {
            source: OTHER,
            para: PARA,
            amount: 300,
            sequence: 4,
            reason: BounceReason::UnknownPara,
        }]
    );
    assert_eq!(
        get::<u64>(&s, StorageKey::SovereignBalance(PARA)),
        Some(400)
    );
    assert!(s.transfers.is_empty(), "a bounce is never bounced");
}

/// A v5 upward message moving `amount` of the relay token to `service`,
/// as a para's `pallet-xcm` sends it to its reserve (fees `fee`).
fn value_out(amount: u128, fee: u128, service: u32) -> Vec<u8> {
    let mut m = vec![5u8];
    Compact(5u32).encode_to(&mut m);
    m.extend([0, 4, 0, 0, 0]); // WithdrawAsset([(0, Here), Fungible ..])
    Compact(amount).encode_to(&mut m);
    m.push(10); // ClearOrigin
    m.extend([19, 0, 0, 0]); // BuyExecution((0, Here), fee, Unlimited)
    Compact(fee).encode_to(&mut m);
    m.push(0);
    m.extend([13, 1, 2, 4, 0, 1, 5]); // DepositAsset(AllCounted(1), (0, GeneralIndex))
    Compact(u128::from(service)).encode_to(&mut m);
    m.push(44); // SetTopic
    m.extend([0x70; 32]);
    m
}

fn candidate(s: &MemStorage, upward: Vec<Vec<u8>>) -> Item {
    candidate_sending(s, upward, vec![])
}

fn candidate_sending(
    s: &MemStorage,
    upward: Vec<Vec<u8>>,
    horizontal: Vec<OutboundHrmpMessage>,
) -> Item {
    let mut o = CandidateOutput {
        para_id: PARA,
        parent_head_hash: blake2_256(&[1]),
        validation_code_hash: CODE,
        result_hash: [0; 32],
        head_data: HeadData(vec![2]),
        new_validation_code: None,
        upward_messages: upward,
        horizontal_messages: horizontal,
        processed_downward_messages: 0,
        hrmp_watermark: SLOT,
        relay_parent_number: SLOT,
        relay_parent_storage_root: [0; 32],
    };
    o.relay_parent_storage_root =
        RelayState::read(|k| s.storage.get(&k.to_key()).cloned(), PARA, SLOT)
            .expect("registered")
            .root();
    Item {
        authorizer_hash: authorizer_hash(&CONFIG, SERVICE, AuthScope::Para(PARA)),
        result: Ok(RefineOutput::Valid(o).encode()),
    }
}

fn enact(s: &mut MemStorage, upward: Vec<Vec<u8>>) -> Vec<Event> {
    let item = candidate(s, upward);
    accumulate_inputs(s, SERVICE, SLOT, &[Input::Work(item)]).expect("no fatal failure")
}

#[test]
fn an_upward_value_transfer_leaves_as_a_jam_transfer() {
    let mut s = storage();
    put(
        &mut s,
        StorageKey::SovereignBalance(PARA),
        1_000u64.encode(),
    );
    let msg = value_out(600, 600, OTHER);
    let events = enact(&mut s, vec![msg.clone()]);
    assert!(
        events.contains(&Event::TransferSent {
            para: PARA,
            service: OTHER,
            amount: 600,
            sequence: 0,
        }),
        "{events:?}"
    );
    assert_eq!(
        get::<u64>(&s, StorageKey::SovereignBalance(PARA)),
        Some(400)
    );
    assert_eq!(get::<u64>(&s, StorageKey::ValueSequence), Some(1));
    let memo = Memo::value(PARA, OTHER, 0, SLOT, blake2_256(&msg));
    assert_eq!(
        s.transfers,
        vec![SentTransfer {
            destination: OTHER,
            amount: 600,
            gas: OTHER_MEMO_GAS,
            memo: memo.encode(),
        }]
    );
    assert_eq!(s.account.map(|a| a.balance), Some(10_000 - 600));
    assert_eq!(
        get::<HeadData>(&s, StorageKey::Head(PARA)),
        Some(HeadData(vec![2]))
    );
}

#[test]
fn upward_value_transfers_that_cannot_be_made_are_refused_and_kept() {
    let refusals = [
        (
            value_out(1_001, 0, OTHER),
            UpwardRefusal::SovereignBalance {
                holds: 1_000,
                needs: 1_001,
            },
        ),
        (
            value_out(10, 0, 4_242),
            UpwardRefusal::Transfer {
                service: 4_242,
                refusal: TransferCheck::Who,
            },
        ),
        (
            value_out(u128::from(u64::MAX) + 1, 0, OTHER),
            UpwardRefusal::ValueTooLarge {
                amount: u128::from(u64::MAX) + 1,
            },
        ),
    ];
    for (msg, reason) in refusals {
        let mut s = storage();
        put(
            &mut s,
            StorageKey::SovereignBalance(PARA),
            1_000u64.encode(),
        );
        let events = enact(&mut s, vec![msg.clone()]);
        assert!(
            events.contains(&Event::UpwardRefused {
                para: PARA,
                reason: reason.clone()
            }),
            "{events:?}"
        );
        assert!(s.transfers.is_empty());
        assert_eq!(
            get::<u64>(&s, StorageKey::SovereignBalance(PARA)),
            Some(1_000)
        );
        let kept: Vec<RefusedUpward> = get(&s, StorageKey::UpwardRefused(PARA)).expect("kept");
        assert_eq!(kept.len(), 1);
        assert_eq!((kept[0].msg.clone(), kept[0].reason.clone()), (msg, reason));
        // The block itself is enacted.
        assert_eq!(
            get::<HeadData>(&s, StorageKey::Head(PARA)),
            Some(HeadData(vec![2]))
        );
    }

    // The service's own balance: 10 000 with a threshold of 1 000, so
    // 9 000 can leave; the second message would go below it.
    let mut s = storage();
    put(
        &mut s,
        StorageKey::SovereignBalance(PARA),
        20_000u64.encode(),
    );
    let events = enact(
        &mut s,
        vec![value_out(5_000, 0, OTHER), value_out(4_001, 0, OTHER)],
    );
    assert!(events.contains(&Event::UpwardRefused {
        para: PARA,
        reason: UpwardRefusal::Transfer {
            service: OTHER,
            refusal: TransferCheck::Cash,
        },
    }));
    assert_eq!(s.transfers.len(), 1);
    assert_eq!(
        get::<u64>(&s, StorageKey::SovereignBalance(PARA)),
        Some(15_000)
    );
}

#[test]
fn other_upward_shapes_are_not_value_transfers() {
    // Fees above the amount withdrawn.
    let over_fee = value_out(10, 11, OTHER);
    // Another beneficiary: an account, not a service.
    let mut account = value_out(10, 0, OTHER);
    let at = account.len() - 33 - 2;
    account.truncate(at - 3);
    account.extend([0, 1, 1, 0]);
    account.extend([1; 32]);
    account.push(44);
    account.extend([0x70; 32]);
    for msg in [over_fee, account] {
        let events = enact(&mut storage_with_balance(), vec![msg]);
        assert!(
            events.iter().any(|e| matches!(
                e,
                Event::UpwardRefused {
                    reason: UpwardRefusal::NoTransact,
                    ..
                }
            )),
            "{events:?}"
        );
    }
}

fn storage_with_balance() -> MemStorage {
    let mut s = storage();
    put(
        &mut s,
        StorageKey::SovereignBalance(PARA),
        1_000u64.encode(),
    );
    s
}

/// `s` with the channel `PARA → REMOTE` open (REMOTE hosted by PEER).
fn with_outbound_channel(mut s: MemStorage) -> MemStorage {
    open_remote_channel(&mut s, PARA, REMOTE);
    s
}

#[test]
fn a_horizontal_message_to_a_para_hosted_elsewhere_crosses_as_a_transfer() {
    let mut s = with_outbound_channel(storage());
    let channel = HrmpChannelId {
        sender: PARA,
        recipient: REMOTE,
    };
    assert_eq!(
        get::<Vec<ParaId>>(&s, StorageKey::HrmpEgress(PARA)),
        Some(vec![REMOTE])
    );
    let payload = b"an xcmp page".to_vec();
    let events = send_horizontal(&mut s, &payload);
    assert!(
        events.contains(&Event::HorizontalSent {
            para: PARA,
            recipient: REMOTE,
            service: PEER,
            sequence: 0,
        }),
        "{events:?}"
    );
    // In the outbox, not in the local channel.
    let outbox = StorageKey::Outbox(OutboxId {
        service: PEER,
        channel,
        sequence: 0,
    });
    assert_eq!(get::<Vec<u8>>(&s, outbox), Some(payload.clone()));
    assert_eq!(get::<u64>(&s, StorageKey::RemoteOutbound(channel)), Some(1));
    assert_eq!(
        get::<Vec<InboundHrmpMessage>>(&s, StorageKey::HrmpChannelContents(channel)),
        None
    );
    assert_eq!(s.transfers.len(), 1);
    let sent = s.transfers[0].clone();
    assert_eq!((sent.destination, sent.amount, sent.gas), (PEER, 0, 5));
    let memo = Memo::decode(&sent.memo).expect("well formed");
    assert_eq!(
        memo,
        Memo {
            kind: MemoKind::Hrmp,
            source_para: PARA,
            destination: REMOTE.0,
            sequence: 0,
            sent_at: SLOT,
            subject: blake2_256(&payload),
            length: u32::try_from(payload.len()).expect("small"),
            reason: None,
        }
    );

    // The peer instance, hosting REMOTE, receives it: its payload read
    // from this instance's storage, appended to its channel PARA → REMOTE.
    let peer = peer_receives(&s, &sent);
    assert_eq!(
        get::<Vec<InboundHrmpMessage>>(&peer, StorageKey::HrmpChannelContents(channel)),
        Some(vec![InboundHrmpMessage {
            sent_at: SLOT + 1,
            data: payload,
        }])
    );
}

/// The peer instance (id PEER, hosting REMOTE, with the channel PARA →
/// REMOTE) receives `sent` from this instance (whose storage is `s`): it
/// is delivered on the channel. The peer's storage after it.
fn peer_receives(s: &MemStorage, sent: &SentTransfer) -> MemStorage {
    let mut peer = MemStorage::with_para(&CONFIG, REMOTE, &HeadData(vec![1]), CODE);
    put(&mut peer, StorageKey::RemoteRoute(PARA), SERVICE.encode());
    open_remote_channel(&mut peer, PARA, REMOTE);
    let mut sender = MemAccount::new(0, 5);
    sender.storage.clone_from(&s.storage);
    peer.accounts.insert(SERVICE, sender);
    let incoming = Transfer {
        source: SERVICE,
        amount: sent.amount,
        gas: sent.gas,
        memo: sent.memo,
    };
    let events = accumulate_inputs(&mut peer, PEER, SLOT + 1, &[Input::Transfer(incoming)])
        .expect("no fatal failure");
    assert_eq!(
        events,
        vec![Event::TransferDelivered {
            source: SERVICE,
            para: REMOTE,
            amount: 0,
            delivery: Delivery::Horizontal {
                sender: PARA,
                sequence: 0,
            },
        }]
    );
    peer
}

fn send_horizontal(s: &mut MemStorage, data: &[u8]) -> Vec<Event> {
    let item = candidate_sending(
        s,
        vec![],
        vec![OutboundHrmpMessage {
            recipient: REMOTE,
            data: data.to_vec(),
        }],
    );
    accumulate_inputs(s, SERVICE, SLOT, &[Input::Work(item)]).expect("no fatal failure")
}

#[test]
fn horizontal_messages_to_paras_elsewhere_that_cannot_leave_are_refused() {
    let send = send_horizontal;
    // Over the channel's message size: the candidate is refused.
    let mut s = with_outbound_channel(storage());
    let events = send(&mut s, &[1; 65]);
    assert!(
        events.iter().any(|e| matches!(e, Event::Rejected { .. })),
        "{events:?}"
    );
    assert!(s.transfers.is_empty());
    // Routed to a service that does not exist: refused, nothing sent.
    let mut s = with_outbound_channel(storage());
    s.accounts.remove(&PEER);
    let before = s.storage.clone();
    let events = send(&mut s, b"m");
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::Rejected {
                reason: Rejection::RouteUnreachable { service: PEER, .. },
                ..
            }
        )),
        "{events:?}"
    );
    assert_eq!(s.storage, before);
    assert!(s.transfers.is_empty());
}

/// The outbox entry of message `sequence` on `PARA → REMOTE`, if kept.
fn outbox(s: &MemStorage, sequence: u64) -> Option<Vec<u8>> {
    get(
        s,
        StorageKey::Outbox(OutboxId {
            service: PEER,
            channel: HrmpChannelId {
                sender: PARA,
                recipient: REMOTE,
            },
            sequence,
        }),
    )
}

/// Sends `data` to REMOTE in a block of PARA on the stored head (reset
/// to the one the candidates build on).
fn send_again(s: &mut MemStorage, data: &[u8]) -> Vec<Event> {
    put(s, StorageKey::Head(PARA), HeadData(vec![1]).encode());
    s.transfers.clear();
    send_horizontal(s, data)
}

#[test]
fn the_outbox_keeps_a_payload_until_the_peer_has_read_it() {
    let channel = HrmpChannelId {
        sender: PARA,
        recipient: REMOTE,
    };
    let mut s = with_outbound_channel(storage());
    send_horizontal(&mut s, b"zero");
    let zero = s.transfers[0].clone();
    // Not yet received: a second message leaves both in the outbox.
    let events = send_again(&mut s, b"one");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::OutboxPruned { .. })),
        "{events:?}"
    );
    let one = s.transfers[0].clone();
    assert_eq!(outbox(&s, 0), Some(b"zero".to_vec()));
    assert_eq!(outbox(&s, 1), Some(b"one".to_vec()));

    // The peer receives message 0 (its RemoteInbound passes it): the next
    // block of PARA removes it, and keeps 1, which the peer has not read.
    let peer = peer_receives(&s, &zero);
    assert_eq!(
        get::<u64>(
            &peer,
            StorageKey::RemoteInbound(RemoteChannel {
                service: SERVICE,
                channel
            })
        ),
        Some(1)
    );
    s.accounts.get_mut(&PEER).expect("peer").storage = peer.storage.clone();
    let events = send_again(&mut s, b"two");
    assert!(
        events.contains(&Event::OutboxPruned {
            para: PARA,
            recipient: REMOTE,
            service: PEER,
            below: 1,
            removed: 1,
        }),
        "{events:?}"
    );
    assert_eq!(outbox(&s, 0), None);
    assert_eq!(outbox(&s, 1), Some(b"one".to_vec()));
    assert_eq!(outbox(&s, 2), Some(b"two".to_vec()));
    assert_eq!(get::<u64>(&s, StorageKey::OutboxPruned(channel)), Some(1));

    // The peer still reads message 1 from what is left, in order.
    let mut peer_account = MemAccount::new(0, 5);
    peer_account.storage.clone_from(&s.storage);
    let mut peer = peer;
    peer.accounts.insert(SERVICE, peer_account);
    let events = accumulate_inputs(
        &mut peer,
        PEER,
        SLOT + 2,
        &[Input::Transfer(Transfer {
            source: SERVICE,
            amount: one.amount,
            gas: one.gas,
            memo: one.memo,
        })],
    )
    .expect("no fatal failure");
    assert!(
        matches!(
            events[..],
            [Event::TransferDelivered {
                delivery: Delivery::Horizontal { sequence: 1, .. },
                ..
            }]
        ),
        "{events:?}"
    );

    // A peer whose record says more than was ever sent removes no more
    // than was sent.
    let mut inflated = peer.storage.clone();
    inflated.insert(
        StorageKey::RemoteInbound(RemoteChannel {
            service: SERVICE,
            channel,
        })
        .to_key(),
        1_000u64.encode(),
    );
    s.accounts.get_mut(&PEER).expect("peer").storage = inflated;
    let events = send_again(&mut s, b"three");
    assert!(
        events.contains(&Event::OutboxPruned {
            para: PARA,
            recipient: REMOTE,
            service: PEER,
            below: 4,
            removed: 3,
        }),
        "{events:?}"
    );
    assert_eq!(get::<u64>(&s, StorageKey::OutboxPruned(channel)), Some(4));
    assert!((0..4).all(|n| outbox(&s, n).is_none()));
}

fn declare(s: &mut MemStorage, scope: AuthScope, route: &RouteDeclaration) -> Vec<Event> {
    let item = Item {
        authorizer_hash: authorizer_hash(&CONFIG, SERVICE, scope),
        result: Ok(RefineOutput::Route(route.clone()).encode()),
    };
    accumulate_inputs(s, SERVICE, SLOT, &[Input::Work(item)]).expect("no fatal failure")
}

fn rejections(events: &[Event]) -> Vec<Rejection> {
    events
        .iter()
        .filter_map(Event::rejection)
        .cloned()
        .collect()
}

/// An instance hosting PARA that knows nothing of REMOTE yet, and the
/// registrar's route for REMOTE (hosted by PEER) with a channel each way.
fn unrouted() -> (MemStorage, RouteDeclaration) {
    let mut s = MemStorage::with_para(&CONFIG, PARA, &HeadData(vec![1]), CODE);
    s.account = Some(AccountInfo {
        balance: 10_000,
        threshold: 1_000,
        min_memo_gas: 5,
    });
    s.accounts.insert(PEER, MemAccount::new(0, 5));
    s.accounts.insert(OTHER, MemAccount::new(0, OTHER_MEMO_GAS));
    let route = RouteDeclaration {
        para_id: REMOTE,
        service: PEER,
        channels: vec![remote_channel(PARA, REMOTE), remote_channel(REMOTE, PARA)],
    };
    (s, route)
}

fn remote_channel(sender: ParaId, recipient: ParaId) -> RemoteChannelDeclaration {
    RemoteChannelDeclaration {
        sender,
        recipient,
        max_capacity: 3,
        max_message_size: 64,
    }
}

#[test]
fn bad_route_declarations_are_refused_and_change_nothing() {
    let (mut s, route) = unrouted();
    let channel = remote_channel;
    let elsewhere = HrmpChannelId {
        sender: PARA,
        recipient: ParaId(3001),
    };
    let before = s.storage.clone();
    let refused = [
        (
            AuthScope::Para(PARA),
            route.clone(),
            Rejection::NotAuthorized,
        ),
        (
            AuthScope::Registrar,
            RouteDeclaration {
                para_id: PARA,
                channels: vec![],
                ..route.clone()
            },
            Rejection::RouteToLocalPara,
        ),
        (
            AuthScope::Registrar,
            RouteDeclaration {
                service: SERVICE,
                ..route.clone()
            },
            Rejection::RouteToSelf,
        ),
        (
            AuthScope::Registrar,
            RouteDeclaration {
                service: 4242,
                ..route.clone()
            },
            Rejection::RouteUnreachable {
                recipient: REMOTE,
                service: 4242,
            },
        ),
        (
            AuthScope::Registrar,
            RouteDeclaration {
                channels: vec![channel(PARA, REMOTE), channel(PARA, ParaId(3001))],
                ..route.clone()
            },
            Rejection::RouteChannelElsewhere(elsewhere),
        ),
        (
            AuthScope::Registrar,
            RouteDeclaration {
                channels: vec![RemoteChannelDeclaration {
                    max_capacity: 0,
                    ..channel(PARA, REMOTE)
                }],
                ..route.clone()
            },
            Rejection::RouteChannel(ChannelError::ZeroCapacity),
        ),
    ];
    for (scope, bad, reason) in refused {
        let events = declare(&mut s, scope, &bad);
        assert_eq!(rejections(&events), vec![reason.clone()], "{bad:?}");
        assert_eq!(s.storage, before, "{reason:?} changed nothing");
    }
}

#[test]
fn the_registrar_declares_routes_and_their_channels() {
    let (mut s, route) = unrouted();
    // The registrar's route: recorded, both channels open, each listed
    // only in the local para's index.
    let events = declare(&mut s, AuthScope::Registrar, &route);
    assert_eq!(
        events,
        vec![Event::RouteDeclared {
            para: REMOTE,
            service: PEER,
            channels: 2,
        }]
    );
    assert_eq!(get::<u32>(&s, StorageKey::RemoteRoute(REMOTE)), Some(PEER));
    assert_eq!(
        get::<Vec<ParaId>>(&s, StorageKey::HrmpEgress(PARA)),
        Some(vec![REMOTE])
    );
    assert_eq!(
        get::<Vec<ParaId>>(&s, StorageKey::HrmpIngress(PARA)),
        Some(vec![REMOTE])
    );
    assert_eq!(get::<Vec<ParaId>>(&s, StorageKey::HrmpEgress(REMOTE)), None);
    for (sender, recipient) in [(PARA, REMOTE), (REMOTE, PARA)] {
        let c: HrmpChannel = get(
            &s,
            StorageKey::HrmpChannel(HrmpChannelId { sender, recipient }),
        )
        .expect("open");
        assert_eq!((c.max_capacity, c.max_message_size), (3, 64));
    }

    // Another instance for the same para, or a channel opened twice:
    // refused. The same route again with no channels: accepted, no change.
    let after = s.storage.clone();
    let events = declare(
        &mut s,
        AuthScope::Registrar,
        &RouteDeclaration {
            service: OTHER,
            channels: vec![],
            ..route.clone()
        },
    );
    assert_eq!(
        rejections(&events),
        vec![Rejection::RouteExists { service: PEER }]
    );
    let events = declare(&mut s, AuthScope::Registrar, &route);
    assert_eq!(
        rejections(&events),
        vec![Rejection::RouteChannel(ChannelError::AlreadyExists(
            HrmpChannelId {
                sender: PARA,
                recipient: REMOTE
            }
        ))]
    );
    assert_eq!(s.storage, after);
    let events = declare(
        &mut s,
        AuthScope::Registrar,
        &RouteDeclaration {
            channels: vec![],
            ..route.clone()
        },
    );
    assert!(rejections(&events).is_empty(), "{events:?}");
    assert_eq!(s.storage, after);

    // A message to REMOTE now crosses as a transfer to PEER.
    let events = send_horizontal(&mut s, b"routed");
    assert!(
        events.contains(&Event::HorizontalSent {
            para: PARA,
            recipient: REMOTE,
            service: PEER,
            sequence: 0,
        }),
        "{events:?}"
    );
}

// Channels between instances, opened and closed by the paras' upward XCM
// with control memos.

use parajam_corechains_types::memo::ChannelControl;
use parajam_xcm_adapter::ump::HrmpCall;
use parajam_xcm_adapter::xcm::Notification;

/// PARA → REMOTE.
const OUT: HrmpChannelId = HrmpChannelId {
    sender: PARA,
    recipient: REMOTE,
};

/// A v5 upward message `[Transact(Native, hrmp call)]`.
fn hrmp_upward(call: HrmpCall) -> Vec<u8> {
    let mut encoded = vec![HrmpConfig::DEFAULT.hrmp_pallet_index];
    call.encode_to(&mut encoded);
    let mut m = vec![5u8];
    Compact(1u32).encode_to(&mut m);
    m.extend([6, 0, 0]); // Transact, Native, no weight
    encoded.encode_to(&mut m);
    m
}

/// PARA's block sending `upward`, having processed its whole downward
/// queue, at `slot`.
fn enact_at(s: &mut MemStorage, slot: u32, upward: Vec<Vec<u8>>) -> Vec<Event> {
    let queued: Vec<InboundDownwardMessage> =
        get(s, StorageKey::DownwardQueue(PARA)).unwrap_or_default();
    let head: HeadData = get(s, StorageKey::Head(PARA)).expect("registered");
    let mut o = CandidateOutput {
        para_id: PARA,
        parent_head_hash: blake2_256(&head.0),
        validation_code_hash: CODE,
        result_hash: [0; 32],
        head_data: HeadData(slot.to_le_bytes().to_vec()),
        new_validation_code: None,
        upward_messages: upward,
        horizontal_messages: vec![],
        processed_downward_messages: u32::try_from(queued.len()).expect("few"),
        hrmp_watermark: slot,
        relay_parent_number: slot,
        relay_parent_storage_root: [0; 32],
    };
    o.relay_parent_storage_root =
        RelayState::read(|k| s.storage.get(&k.to_key()).cloned(), PARA, slot)
            .expect("registered")
            .root();
    let item = Item {
        authorizer_hash: authorizer_hash(&CONFIG, SERVICE, AuthScope::Para(PARA)),
        result: Ok(RefineOutput::Valid(o).encode()),
    };
    accumulate_inputs(s, SERVICE, slot, &[Input::Work(item)]).expect("no fatal failure")
}

/// A control memo from `source` saying `control`.
fn control_in(source: u32, control: ChannelControl) -> Transfer {
    Transfer {
        source,
        amount: 0,
        gas: 5,
        memo: Memo::control(&control, 0, SLOT).encode(),
    }
}

/// The last transfer sent: to PEER, nothing, at its memo gas, a control
/// memo saying `control` with `sequence`.
fn assert_control_sent(s: &MemStorage, control: ChannelControl, sequence: u64) {
    let sent = s.transfers.last().expect("sent").clone();
    assert_eq!((sent.destination, sent.amount, sent.gas), (PEER, 0, 5));
    let memo = Memo::decode(&sent.memo).expect("well formed");
    assert_eq!(memo.kind, MemoKind::Control);
    assert_eq!(memo.sequence, sequence);
    assert_eq!(memo.channel_control(), Some(control));
}

#[test]
fn a_channel_to_a_para_elsewhere_opens_and_closes_by_upward_xcm_and_control_memos() {
    let mut s = storage();
    let request = HrmpCall::InitOpenChannel {
        recipient: REMOTE,
        proposed_max_capacity: 8,
        proposed_max_message_size: 64,
    };
    let open = ChannelControl::OpenRequest {
        channel: OUT,
        max_capacity: 8,
        max_message_size: 64,
    };
    let events = enact_at(&mut s, SLOT, vec![hrmp_upward(request)]);
    assert!(
        events.contains(&Event::ControlSent {
            para: PARA,
            service: PEER,
            control: open,
            sequence: 0,
        }),
        "{events:?}"
    );
    assert_control_sent(&s, open, 0);
    assert!(s
        .storage
        .contains_key(&StorageKey::HrmpOpenRequest(OUT).to_key()));
    assert_eq!(get::<u64>(&s, StorageKey::ControlSequence), Some(1));

    // The same request again: refused as the hrmp pallet refuses it, and
    // kept; nothing sent.
    let sent = s.transfers.len();
    let events = enact_at(&mut s, SLOT + 1, vec![hrmp_upward(request)]);
    assert!(
        events.contains(&Event::UpwardRefused {
            para: PARA,
            reason: UpwardRefusal::Channel {
                index: 0,
                error: ChannelError::AlreadyRequested(OUT),
            },
        }),
        "{events:?}"
    );
    assert_eq!(s.transfers.len(), sent);

    // The peer accepted: the request becomes PARA's side of the channel,
    // and PARA is told.
    let accept = ChannelControl::Accept { channel: OUT };
    let events = receive(&mut s, vec![control_in(PEER, accept)]);
    assert_eq!(
        events,
        vec![Event::ControlReceived {
            source: PEER,
            para: PARA,
            control: accept,
        }]
    );
    assert!(get::<HrmpChannel>(&s, StorageKey::HrmpChannel(OUT)).is_some());
    assert_eq!(
        get::<Vec<ParaId>>(&s, StorageKey::HrmpEgress(PARA)),
        Some(vec![REMOTE])
    );
    assert_eq!(
        downward_messages(&mut s, PARA),
        vec![Notification::ChannelAccepted {
            recipient: REMOTE.0
        }
        .encode_versioned(5)]
    );

    // PARA closes it: its side goes, the peer is told.
    let close = HrmpCall::CloseChannel { channel_id: OUT };
    let events = enact_at(&mut s, SLOT + 2, vec![hrmp_upward(close)]);
    let closing = ChannelControl::Close {
        channel: OUT,
        initiator: PARA,
    };
    assert!(
        events.contains(&Event::ControlSent {
            para: PARA,
            service: PEER,
            control: closing,
            sequence: 1,
        }),
        "{events:?}"
    );
    assert_control_sent(&s, closing, 1);
    assert!(get::<HrmpChannel>(&s, StorageKey::HrmpChannel(OUT)).is_none());
    assert_eq!(get::<Vec<ParaId>>(&s, StorageKey::HrmpEgress(PARA)), None);
}

#[test]
fn an_open_request_from_a_peer_notifies_the_para_and_its_acceptance_is_told_back() {
    let mut s = storage();
    let inbound = HrmpChannelId {
        sender: REMOTE,
        recipient: PARA,
    };
    // Close the declared channel REMOTE → PARA first (by the peer).
    let closed = ChannelControl::Close {
        channel: inbound,
        initiator: REMOTE,
    };
    assert_eq!(
        receive(&mut s, vec![control_in(PEER, closed)]),
        vec![Event::ControlReceived {
            source: PEER,
            para: PARA,
            control: closed,
        }]
    );
    assert!(get::<HrmpChannel>(&s, StorageKey::HrmpChannel(inbound)).is_none());
    assert_eq!(get::<Vec<ParaId>>(&s, StorageKey::HrmpIngress(PARA)), None);

    let open = ChannelControl::OpenRequest {
        channel: inbound,
        max_capacity: 4,
        max_message_size: 32,
    };
    assert_eq!(
        receive(&mut s, vec![control_in(PEER, open)]),
        vec![Event::ControlReceived {
            source: PEER,
            para: PARA,
            control: open,
        }]
    );
    assert_eq!(
        downward_messages(&mut s, PARA).last(),
        Some(
            &Notification::NewChannelOpenRequest {
                sender: REMOTE.0,
                max_message_size: 32,
                max_capacity: 4,
            }
            .encode_versioned(5)
        )
    );
    let events = enact_at(
        &mut s,
        SLOT,
        vec![hrmp_upward(HrmpCall::AcceptOpenChannel { sender: REMOTE })],
    );
    let accept = ChannelControl::Accept { channel: inbound };
    assert!(
        events.contains(&Event::ControlSent {
            para: PARA,
            service: PEER,
            control: accept,
            sequence: 0,
        }),
        "{events:?}"
    );
    assert_control_sent(&s, accept, 0);
    let channel: HrmpChannel = get(&s, StorageKey::HrmpChannel(inbound)).expect("open");
    assert_eq!((channel.max_capacity, channel.max_message_size), (4, 32));
    assert_eq!(
        get::<Vec<ParaId>>(&s, StorageKey::HrmpIngress(PARA)),
        Some(vec![REMOTE])
    );
}

/// `transfer` is refused here for `error`: recorded, bounced with
/// `ChannelRefused`, nothing else changed.
fn assert_control_refused(s: &mut MemStorage, transfer: Transfer, error: ChannelError) {
    let before = s.storage.clone();
    let control = Memo::decode(&transfer.memo)
        .expect("well formed")
        .channel_control()
        .expect("a control memo");
    let events = receive(s, vec![transfer]);
    assert_eq!(
        events,
        vec![
            Event::ControlRefused {
                source: PEER,
                para: control.other(),
                control,
                error,
            },
            Event::TransferBounced {
                source: PEER,
                amount: 0,
                reason: BounceReason::ChannelRefused,
                sent: Ok(()),
            }
        ]
    );
    assert_eq!(s.storage, before);
    let back = Memo::decode(&s.transfers.last().expect("bounced").memo).expect("bounce");
    assert_eq!(back.reason, Some(BounceReason::ChannelRefused));
}

#[test]
fn control_memos_that_cannot_be_taken_are_refused_recorded_and_bounced() {
    let mut s = storage();
    // From a service that is not the instance the route names.
    let accept = ChannelControl::Accept { channel: OUT };
    assert_bounced(
        &mut s,
        control_in(OTHER, accept),
        BounceReason::UnknownSender,
    );
    // For a para not hosted here (routed to PEER as well).
    put(&mut s, StorageKey::RemoteRoute(ParaId(3001)), PEER.encode());
    let elsewhere = ChannelControl::OpenRequest {
        channel: HrmpChannelId {
            sender: REMOTE,
            recipient: ParaId(3001),
        },
        max_capacity: 4,
        max_message_size: 32,
    };
    assert_bounced(
        &mut s,
        control_in(PEER, elsewhere),
        BounceReason::UnknownPara,
    );
    // Malformed: an accept with limits.
    let mut malformed = control_in(PEER, accept);
    malformed.memo[22 + 9] = 1;
    assert_bounced(&mut s, malformed, BounceReason::MalformedMemo);

    // An accept without a request.
    assert_control_refused(
        &mut s,
        control_in(PEER, accept),
        ChannelError::NoOpenRequest(OUT),
    );
    // A close of a channel that is not open here.
    let close = ChannelControl::Close {
        channel: OUT,
        initiator: REMOTE,
    };
    assert_control_refused(
        &mut s,
        control_in(PEER, close),
        ChannelError::NoSuchChannel(OUT),
    );
    // A request for a channel that is already open (REMOTE → PARA, declared).
    let again = ChannelControl::OpenRequest {
        channel: HrmpChannelId {
            sender: REMOTE,
            recipient: PARA,
        },
        max_capacity: 3,
        max_message_size: 64,
    };
    assert_control_refused(
        &mut s,
        control_in(PEER, again),
        ChannelError::AlreadyExists(HrmpChannelId {
            sender: REMOTE,
            recipient: PARA,
        }),
    );
}

#[test]
fn an_upward_open_request_to_an_unrouted_para_is_refused_and_kept() {
    let mut s = storage();
    let request = HrmpCall::InitOpenChannel {
        recipient: ParaId(4000),
        proposed_max_capacity: 8,
        proposed_max_message_size: 64,
    };
    let events = enact_at(&mut s, SLOT, vec![hrmp_upward(request)]);
    let reason = UpwardRefusal::Channel {
        index: 0,
        error: ChannelError::InvalidPara(ParaId(4000)),
    };
    assert!(
        events.contains(&Event::UpwardRefused {
            para: PARA,
            reason: reason.clone(),
        }),
        "{events:?}"
    );
    let kept: Vec<RefusedUpward> = get(&s, StorageKey::UpwardRefused(PARA)).expect("kept");
    assert_eq!(kept.last().map(|r| &r.reason), Some(&reason));
    assert!(s.transfers.is_empty());
}
