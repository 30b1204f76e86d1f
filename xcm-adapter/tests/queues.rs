//! The adapter's operations on an in-memory service storage: what each
//! does, and that each refusal has its typed reason and changes nothing.

use parajam_corechains_types::state::StorageKey;
use parajam_corechains_types::{OutboundHrmpMessage, ParaId};
use parajam_xcm_adapter::dmp::{self, DownwardError};
use parajam_xcm_adapter::hrmp::{self, ChannelError, OutboundError, WatermarkError};
use parajam_xcm_adapter::store::apply;
use parajam_xcm_adapter::testing::{downward_messages, get, refused, run, Mem};
use parajam_xcm_adapter::ump::{self, HrmpCall, UpwardRefusal};
use parajam_xcm_adapter::xcm::{Notification, XcmError};
use parajam_xcm_adapter::{
    enact_candidate, mqc, CandidateMessaging, HrmpChannel, HrmpChannelId, HrmpConfig,
    HrmpOpenRequest, InboundDownwardMessage, InboundHrmpMessage, MessagingError, Overlay,
    RefusedUpward,
};
use parity_scale_codec::Encode;

const A: ParaId = ParaId(2000);
const B: ParaId = ParaId(2001);
const C: ParaId = ParaId(2002);
const UNKNOWN: ParaId = ParaId(3000);
const CONFIG: HrmpConfig = HrmpConfig::DEFAULT;

fn ch(sender: ParaId, recipient: ParaId) -> HrmpChannelId {
    HrmpChannelId { sender, recipient }
}

/// Paras A, B and C registered; channels A→B (capacity 3, 10-octet
/// messages) and C→B open.
fn storage() -> Mem {
    let mut s = Mem::new();
    s.insert(StorageKey::Paras, vec![A, B, C].encode());
    let mut o = Overlay::new(&mut s);
    hrmp::open_genesis_channel(&mut o, &CONFIG, A, B, 3, 10).expect("opens");
    hrmp::open_genesis_channel(&mut o, &CONFIG, C, B, 5, 100).expect("opens");
    let changes = o.into_changes();
    apply(changes, &mut s);
    s
}

fn msg(recipient: ParaId, len: usize) -> OutboundHrmpMessage {
    OutboundHrmpMessage {
        recipient,
        data: vec![0x5a; len],
    }
}

#[test]
fn genesis_channels_are_open_and_indexed() {
    let s = storage();
    assert_eq!(
        get::<HrmpChannel>(&s, StorageKey::HrmpChannel(ch(A, B))),
        Some(HrmpChannel {
            max_capacity: 3,
            max_total_size: CONFIG.hrmp_channel_max_total_size,
            max_message_size: 10,
            msg_count: 0,
            total_size: 0,
            mqc_head: None,
        })
    );
    assert_eq!(
        get::<Vec<ParaId>>(&s, StorageKey::HrmpIngress(B)),
        Some(vec![A, C])
    );
    assert_eq!(
        get::<Vec<ParaId>>(&s, StorageKey::HrmpEgress(A)),
        Some(vec![B])
    );
    assert_eq!(get::<Vec<ParaId>>(&s, StorageKey::HrmpEgress(B)), None);

    let mut s = storage();
    let genesis = |from, to, cap, size| {
        move |o: &mut Overlay<'_, Mem>| hrmp::open_genesis_channel(o, &CONFIG, from, to, cap, size)
    };
    refused(&mut s, &ChannelError::OpenToSelf, genesis(A, A, 1, 1));
    refused(
        &mut s,
        &ChannelError::InvalidPara(UNKNOWN),
        genesis(A, UNKNOWN, 1, 1),
    );
    refused(
        &mut s,
        &ChannelError::InvalidPara(UNKNOWN),
        genesis(UNKNOWN, A, 1, 1),
    );
    refused(&mut s, &ChannelError::ZeroCapacity, genesis(B, A, 0, 1));
    refused(&mut s, &ChannelError::ZeroMessageSize, genesis(B, A, 1, 0));
    refused(
        &mut s,
        &ChannelError::AlreadyExists(ch(A, B)),
        genesis(A, B, 1, 1),
    );
    refused(
        &mut s,
        &ChannelError::CapacityExceedsLimit {
            requested: 1001,
            limit: 1000,
        },
        genesis(B, A, 1001, 1),
    );
}

#[test]
fn horizontal_messages_join_their_channels_in_order_with_the_mqc_head() {
    let mut s = storage();
    run(&mut s, |o| {
        hrmp::check_outbound(o, A, &[msg(B, 4)], 10).expect("accepted");
        hrmp::queue_outbound(o, A, 7, &[msg(B, 4)]);
    });
    run(&mut s, |o| {
        hrmp::check_outbound(o, A, &[msg(B, 10)], 10).expect("accepted");
        hrmp::queue_outbound(o, A, 9, &[msg(B, 10)]);
    });
    let channel: HrmpChannel = get(&s, StorageKey::HrmpChannel(ch(A, B))).expect("open");
    assert_eq!((channel.msg_count, channel.total_size), (2, 14));
    let head = mqc::extend(&mqc::extend(&[0; 32], 7, &[0x5a; 4]), 9, &[0x5a; 10]);
    assert_eq!(channel.mqc_head, Some(head));
    assert_eq!(
        get::<Vec<InboundHrmpMessage>>(&s, StorageKey::HrmpChannelContents(ch(A, B))),
        Some(vec![
            InboundHrmpMessage {
                sent_at: 7,
                data: vec![0x5a; 4]
            },
            InboundHrmpMessage {
                sent_at: 9,
                data: vec![0x5a; 10]
            },
        ])
    );
}

#[test]
fn horizontal_messages_over_a_limit_are_refused_with_their_reason() {
    let mut s = storage();
    // One message already in A→B (capacity 3).
    run(&mut s, |o| hrmp::queue_outbound(o, A, 1, &[msg(B, 1)]));
    let check = |messages: Vec<OutboundHrmpMessage>, sender, max| {
        move |o: &mut Overlay<'_, Mem>| hrmp::check_outbound(o, sender, &messages, max)
    };
    refused(
        &mut s,
        &OutboundError::MoreMessagesThanPermitted {
            sent: 2,
            permitted: 1,
        },
        check(vec![msg(B, 1), msg(C, 1)], A, 1),
    );
    refused(
        &mut s,
        &OutboundError::NoSuchChannel {
            idx: 0,
            channel: ch(B, A),
        },
        check(vec![msg(A, 1)], B, 10),
    );
    refused(
        &mut s,
        &OutboundError::MaxMessageSizeExceeded {
            idx: 0,
            msg_size: 11,
            max_size: 10,
        },
        check(vec![msg(B, 11)], A, 10),
    );
    // Ascending recipients, no repeats (C→B then C→? : only B is open from
    // C, so test the order with A's view: B twice).
    refused(
        &mut s,
        &OutboundError::NotSorted { idx: 1 },
        check(vec![msg(B, 1), msg(B, 1)], A, 10),
    );
    run(&mut s, |o| {
        hrmp::open_genesis_channel(o, &CONFIG, A, C, 1, 10).expect("opens");
    });
    refused(
        &mut s,
        &OutboundError::NotSorted { idx: 1 },
        check(vec![msg(C, 1), msg(B, 1)], A, 10),
    );
    hrmp::check_outbound(&mut Overlay::new(&mut s), A, &[msg(B, 1), msg(C, 1)], 10)
        .expect("ascending");
    // Capacity: 3 messages; two queued, a third fits, a fourth not.
    run(&mut s, |o| {
        hrmp::queue_outbound(o, A, 2, &[msg(B, 1), msg(C, 1)]);
    });
    refused(
        &mut s,
        &OutboundError::CapacityExceeded {
            idx: 0,
            count: 2,
            limit: 1,
        },
        check(vec![msg(C, 1)], A, 10),
    );
    run(&mut s, |o| hrmp::queue_outbound(o, A, 3, &[msg(B, 1)]));
    refused(
        &mut s,
        &OutboundError::CapacityExceeded {
            idx: 0,
            count: 4,
            limit: 3,
        },
        check(vec![msg(B, 1)], A, 10),
    );
    // Total size: a channel of 100-octet messages and 250 octets in all.
    let mut s = storage();
    let small = HrmpConfig {
        hrmp_channel_max_total_size: 250,
        ..CONFIG
    };
    run(&mut s, |o| {
        hrmp::open_genesis_channel(o, &small, B, A, 10, 100).expect("opens");
        hrmp::queue_outbound(o, B, 1, &[msg(A, 100)]);
        hrmp::queue_outbound(o, B, 1, &[msg(A, 100)]);
    });
    refused(
        &mut s,
        &OutboundError::TotalSizeExceeded {
            idx: 0,
            total_size: 251,
            limit: 250,
        },
        check(vec![msg(A, 51)], B, 10),
    );
}

#[test]
fn the_watermark_follows_the_relay_chain_rules_and_prunes() {
    let mut s = storage();
    run(&mut s, |o| {
        hrmp::queue_outbound(o, A, 5, &[msg(B, 1)]);
        hrmp::queue_outbound(o, C, 5, &[msg(B, 2)]);
        hrmp::queue_outbound(o, A, 8, &[msg(B, 3)]);
    });
    let check = |relay_parent, new| {
        move |o: &mut Overlay<'_, Mem>| hrmp::check_watermark(o, B, relay_parent, new)
    };
    refused(
        &mut s,
        &WatermarkError::AheadRelayParent {
            new_watermark: 11,
            relay_parent: 10,
        },
        check(10, 11),
    );
    refused(
        &mut s,
        &WatermarkError::LandsOnBlockWithNoMessages { new_watermark: 6 },
        check(10, 6),
    );
    // The relay parent, or a slot with messages.
    for ok in [10, 5, 8] {
        check(10, ok)(&mut Overlay::new(&mut s)).expect("allowed");
    }
    // Pruning at 5 removes what was sent at 5 from both channels.
    run(&mut s, |o| hrmp::prune(o, B, 5));
    assert_eq!(
        get::<Vec<InboundHrmpMessage>>(&s, StorageKey::HrmpChannelContents(ch(A, B))),
        Some(vec![InboundHrmpMessage {
            sent_at: 8,
            data: vec![0x5a; 3]
        }])
    );
    assert_eq!(
        get::<Vec<InboundHrmpMessage>>(&s, StorageKey::HrmpChannelContents(ch(C, B))),
        None
    );
    let ab: HrmpChannel = get(&s, StorageKey::HrmpChannel(ch(A, B))).expect("open");
    let cb: HrmpChannel = get(&s, StorageKey::HrmpChannel(ch(C, B))).expect("open");
    assert_eq!((ab.msg_count, ab.total_size), (1, 3));
    assert_eq!((cb.msg_count, cb.total_size), (0, 0));
    // The MQC head is the chain of every message, pruned or not.
    assert_eq!(cb.mqc_head, Some(mqc::extend(&[0; 32], 5, &[0x5a; 2])));
    assert_eq!(get::<u32>(&s, StorageKey::HrmpWatermark(B)), Some(5));
    // Below the last watermark: refused; the last one again: allowed.
    refused(
        &mut s,
        &WatermarkError::AdvancementRule {
            new_watermark: 4,
            last_watermark: 5,
        },
        check(10, 4),
    );
    check(10, 5)(&mut Overlay::new(&mut s)).expect("the last watermark again");
}

#[test]
fn downward_messages_queue_with_their_head_and_prune() {
    let mut s = storage();
    run(&mut s, |o| {
        dmp::queue(o, &CONFIG, A, 3, vec![1]).expect("queued");
        dmp::queue(o, &CONFIG, A, 4, vec![2, 2]).expect("queued");
    });
    let head = mqc::extend(&mqc::extend(&[0; 32], 3, &[1]), 4, &[2, 2]);
    assert_eq!(get::<[u8; 32]>(&s, StorageKey::DmqMqcHead(A)), Some(head));
    let check = |relay_parent, processed| {
        move |o: &mut Overlay<'_, Mem>| dmp::check_processed(o, A, relay_parent, processed)
    };
    refused(
        &mut s,
        &DownwardError::Underflow {
            processed: 3,
            queued: 2,
        },
        check(10, 3),
    );
    refused(
        &mut s,
        &DownwardError::AdvancementRule {
            sent_at: 3,
            relay_parent: 3,
        },
        check(3, 0),
    );
    // Nothing queued at or before relay parent 2: none need be processed.
    check(2, 0)(&mut Overlay::new(&mut s)).expect("allowed");
    run(&mut s, |o| dmp::prune(o, A, 1));
    assert_eq!(
        get::<Vec<InboundDownwardMessage>>(&s, StorageKey::DownwardQueue(A)),
        Some(vec![InboundDownwardMessage {
            sent_at: 4,
            msg: vec![2, 2]
        }])
    );
    run(&mut s, |o| dmp::prune(o, A, 1));
    assert_eq!(
        get::<Vec<InboundDownwardMessage>>(&s, StorageKey::DownwardQueue(A)),
        None
    );
    // The head stays.
    assert_eq!(get::<[u8; 32]>(&s, StorageKey::DmqMqcHead(A)), Some(head));

    let tiny = HrmpConfig {
        max_downward_message_size: 16 * 1024 * 1024,
        ..CONFIG
    };
    assert_eq!(tiny.max_downward_queue_count(), 2);
    let queue = |config: HrmpConfig, para, len| {
        move |o: &mut Overlay<'_, Mem>| dmp::queue(o, &config, para, 9, vec![0; len])
    };
    refused(
        &mut s,
        &DownwardError::ExceedsMaxMessageSize {
            size: 50 * 1024 + 1,
            max: 50 * 1024,
        },
        queue(CONFIG, A, 50 * 1024 + 1),
    );
    refused(
        &mut s,
        &DownwardError::Unroutable(UNKNOWN),
        queue(CONFIG, UNKNOWN, 1),
    );
    run(&mut s, |o| {
        queue(tiny, B, 1)(o).expect("queued");
        queue(tiny, B, 1)(o).expect("queued");
    });
    refused(
        &mut s,
        &DownwardError::QueueFull { len: 2 },
        queue(tiny, B, 1),
    );
}

#[test]
fn a_channel_opens_on_acceptance_and_closes_once_drained() {
    let mut s = storage();
    run(&mut s, |o| {
        hrmp::init_open_channel(o, &CONFIG, B, A, 8, 64, 20).expect("requested");
    });
    assert_eq!(
        get::<HrmpOpenRequest>(&s, StorageKey::HrmpOpenRequest(ch(B, A))),
        Some(HrmpOpenRequest {
            max_message_size: 64,
            max_capacity: 8,
            max_total_size: CONFIG.hrmp_channel_max_total_size,
        })
    );
    assert_eq!(get::<u32>(&s, StorageKey::HrmpOpenRequestCount(B)), Some(1));
    assert_eq!(
        downward_messages(&mut s, A),
        vec![Notification::NewChannelOpenRequest {
            sender: 2001,
            max_message_size: 64,
            max_capacity: 8
        }
        .encode_versioned(5)]
    );
    assert!(get::<HrmpChannel>(&s, StorageKey::HrmpChannel(ch(B, A))).is_none());

    run(&mut s, |o| {
        hrmp::accept_open_channel(o, &CONFIG, A, B, 21).expect("accepted");
    });
    assert_eq!(
        get::<HrmpOpenRequest>(&s, StorageKey::HrmpOpenRequest(ch(B, A))),
        None
    );
    assert_eq!(get::<u32>(&s, StorageKey::HrmpOpenRequestCount(B)), None);
    let channel: HrmpChannel = get(&s, StorageKey::HrmpChannel(ch(B, A))).expect("open");
    assert_eq!((channel.max_capacity, channel.max_message_size), (8, 64));
    assert_eq!(
        get::<Vec<ParaId>>(&s, StorageKey::HrmpEgress(B)),
        Some(vec![A])
    );
    assert_eq!(
        get::<Vec<ParaId>>(&s, StorageKey::HrmpIngress(A)),
        Some(vec![B])
    );
    assert_eq!(
        downward_messages(&mut s, B),
        vec![Notification::ChannelAccepted { recipient: 2000 }.encode_versioned(5)]
    );

    // B sends on it, then A (the recipient) closes it: B may send no more,
    // A still sees the message, and the channel goes once A processed it.
    run(&mut s, |o| hrmp::queue_outbound(o, B, 22, &[msg(A, 5)]));
    run(&mut s, |o| {
        hrmp::close_channel(o, &CONFIG, A, ch(B, A), 23).expect("closing");
    });
    assert_eq!(get::<Vec<ParaId>>(&s, StorageKey::HrmpEgress(B)), None);
    assert_eq!(
        get::<Vec<ParaId>>(&s, StorageKey::HrmpIngress(A)),
        Some(vec![B])
    );
    assert_eq!(
        downward_messages(&mut s, B).last(),
        Some(
            &Notification::ChannelClosing {
                initiator: 2000,
                sender: 2001,
                recipient: 2000
            }
            .encode_versioned(5)
        )
    );
    refused(
        &mut s,
        &OutboundError::ChannelClosing {
            idx: 0,
            channel: ch(B, A),
        },
        |o| hrmp::check_outbound(o, B, &[msg(A, 1)], 10),
    );
    // Non-empty: the service's `write` of zero octets would remove it.
    assert!(s
        .get(&StorageKey::HrmpCloseRequest(ch(B, A)))
        .is_some_and(|v| !v.is_empty()));
    refused(&mut s, &ChannelError::AlreadyClosing(ch(B, A)), |o| {
        hrmp::close_channel(o, &CONFIG, B, ch(B, A), 24)
    });
    run(&mut s, |o| hrmp::prune(o, A, 21));
    assert!(get::<HrmpChannel>(&s, StorageKey::HrmpChannel(ch(B, A))).is_some());
    run(&mut s, |o| hrmp::prune(o, A, 22));
    assert!(get::<HrmpChannel>(&s, StorageKey::HrmpChannel(ch(B, A))).is_none());
    assert!(!s.contains_key(&StorageKey::HrmpCloseRequest(ch(B, A))));
    assert_eq!(get::<Vec<ParaId>>(&s, StorageKey::HrmpIngress(A)), None);

    // An empty channel closes at once.
    run(&mut s, |o| {
        hrmp::close_channel(o, &CONFIG, C, ch(C, B), 25).expect("closed");
    });
    assert!(get::<HrmpChannel>(&s, StorageKey::HrmpChannel(ch(C, B))).is_none());
    assert_eq!(
        get::<Vec<ParaId>>(&s, StorageKey::HrmpIngress(B)),
        Some(vec![A])
    );
}

#[test]
fn channel_operations_refused_change_nothing() {
    let mut s = storage();
    let init = |config: HrmpConfig, from, to, cap, size| {
        move |o: &mut Overlay<'_, Mem>| hrmp::init_open_channel(o, &config, from, to, cap, size, 9)
    };
    refused(&mut s, &ChannelError::OpenToSelf, init(CONFIG, A, A, 1, 1));
    refused(
        &mut s,
        &ChannelError::InvalidPara(UNKNOWN),
        init(CONFIG, A, UNKNOWN, 1, 1),
    );
    refused(
        &mut s,
        &ChannelError::ZeroCapacity,
        init(CONFIG, B, A, 0, 1),
    );
    refused(
        &mut s,
        &ChannelError::ZeroMessageSize,
        init(CONFIG, B, A, 1, 0),
    );
    refused(
        &mut s,
        &ChannelError::MessageSizeExceedsLimit {
            requested: 100 * 1024 + 1,
            limit: 100 * 1024,
        },
        init(CONFIG, B, A, 1, 100 * 1024 + 1),
    );
    refused(
        &mut s,
        &ChannelError::AlreadyExists(ch(A, B)),
        init(CONFIG, A, B, 1, 1),
    );
    let one_out = HrmpConfig {
        hrmp_max_parachain_outbound_channels: 1,
        ..CONFIG
    };
    refused(
        &mut s,
        &ChannelError::OutboundLimitExceeded { para: A, limit: 1 },
        init(one_out, A, C, 1, 1),
    );
    run(&mut s, |o| init(CONFIG, B, A, 1, 1)(o).expect("requested"));
    refused(
        &mut s,
        &ChannelError::AlreadyRequested(ch(B, A)),
        init(CONFIG, B, A, 1, 1),
    );

    let accept = |config: HrmpConfig, origin, sender| {
        move |o: &mut Overlay<'_, Mem>| hrmp::accept_open_channel(o, &config, origin, sender, 9)
    };
    refused(
        &mut s,
        &ChannelError::NoOpenRequest(ch(C, A)),
        accept(CONFIG, A, C),
    );
    let no_in = HrmpConfig {
        hrmp_max_parachain_inbound_channels: 0,
        ..CONFIG
    };
    refused(
        &mut s,
        &ChannelError::InboundLimitExceeded { para: A, limit: 0 },
        accept(no_in, A, B),
    );
    // The notification must be deliverable: B's queue is full.
    let full = HrmpConfig {
        max_downward_message_size: 16 * 1024 * 1024,
        ..CONFIG
    };
    run(&mut s, |o| {
        dmp::queue(o, &full, B, 1, vec![1]).expect("queued");
        dmp::queue(o, &full, B, 1, vec![1]).expect("queued");
    });
    refused(
        &mut s,
        &ChannelError::NotificationUndeliverable {
            para: B,
            error: DownwardError::QueueFull { len: 2 },
        },
        accept(full, A, B),
    );

    let close = |origin, channel| {
        move |o: &mut Overlay<'_, Mem>| hrmp::close_channel(o, &CONFIG, origin, channel, 9)
    };
    refused(
        &mut s,
        &ChannelError::CloseUnauthorized {
            para: C,
            channel: ch(A, B),
        },
        close(C, ch(A, B)),
    );
    refused(
        &mut s,
        &ChannelError::NoSuchChannel(ch(B, A)),
        close(B, ch(B, A)),
    );
}

/// `VersionedXcm` v5 `[WithdrawAsset(∅), Transact(Native, call)..., SetTopic]`,
/// encoded by hand (the decoder itself is checked against `staging-xcm` in
/// `upstream.rs`).
fn upward(calls: &[Vec<u8>], origin_kind: u8) -> Vec<u8> {
    let mut out = vec![5];
    parity_scale_codec::Compact(u32::try_from(calls.len() + 2).expect("few")).encode_to(&mut out);
    out.extend([0, 0]); // WithdrawAsset(no assets)
    for call in calls {
        out.extend([6, origin_kind, 0]); // Transact, origin kind, no weight
        call.encode_to(&mut out);
    }
    out.push(44);
    out.extend([7; 32]);
    out
}

fn hrmp_call(call: HrmpCall) -> Vec<u8> {
    let mut out = vec![CONFIG.hrmp_pallet_index];
    call.encode_to(&mut out);
    out
}

#[test]
fn upward_xcm_drives_the_channel_lifecycle() {
    let mut s = storage();
    let open = HrmpCall::InitOpenChannel {
        recipient: A,
        proposed_max_capacity: 4,
        proposed_max_message_size: 32,
    };
    let outcomes = run(&mut s, |o| {
        ump::process(
            o,
            &CONFIG,
            &mut ump::NoAccounts,
            B,
            30,
            &[upward(&[hrmp_call(open)], 0)],
        )
    });
    assert_eq!(
        outcomes,
        vec![Ok(ump::Upward::Calls {
            calls: vec![open],
            controls: vec![]
        })]
    );
    assert!(s.contains_key(&StorageKey::HrmpOpenRequest(ch(B, A))));
    let accept = HrmpCall::AcceptOpenChannel { sender: B };
    let outcomes = run(&mut s, |o| {
        ump::process(
            o,
            &CONFIG,
            &mut ump::NoAccounts,
            A,
            31,
            &[upward(&[hrmp_call(accept)], 0)],
        )
    });
    assert_eq!(
        outcomes,
        vec![Ok(ump::Upward::Calls {
            calls: vec![accept],
            controls: vec![]
        })]
    );
    assert!(s.contains_key(&StorageKey::HrmpChannel(ch(B, A))));
    let close = HrmpCall::CloseChannel {
        channel_id: ch(B, A),
    };
    let outcomes = run(&mut s, |o| {
        ump::process(
            o,
            &CONFIG,
            &mut ump::NoAccounts,
            B,
            32,
            &[upward(&[hrmp_call(close)], 0)],
        )
    });
    assert_eq!(
        outcomes,
        vec![Ok(ump::Upward::Calls {
            calls: vec![close],
            controls: vec![]
        })]
    );
    assert!(!s.contains_key(&StorageKey::HrmpChannel(ch(B, A))));
    assert_eq!(
        get::<Vec<RefusedUpward>>(&s, StorageKey::UpwardRefused(B)),
        None
    );
}

#[test]
fn upward_xcm_that_does_not_map_is_refused_and_kept() {
    let mut s = storage();
    let open = |recipient| {
        hrmp_call(HrmpCall::InitOpenChannel {
            recipient,
            proposed_max_capacity: 4,
            proposed_max_message_size: 32,
        })
    };
    let balances_call = vec![5, 0, 1, 2, 3];
    let messages = vec![
        upward(&[open(A)], 1),
        upward(std::slice::from_ref(&balances_call), 0),
        upward(&[], 0),
        vec![5, 4, 11],
        // The second call fails: the first's request is rolled back.
        upward(&[open(C), open(B)], 0),
    ];
    let before = s.clone();
    let outcomes = run(&mut s, |o| {
        ump::process(o, &CONFIG, &mut ump::NoAccounts, B, 40, &messages)
    });
    let reasons = vec![
        UpwardRefusal::OriginKind {
            index: 1,
            origin_kind: 1,
        },
        UpwardRefusal::UnsupportedCall {
            index: 1,
            call: vec![5, 0],
        },
        UpwardRefusal::NoTransact,
        UpwardRefusal::Xcm(XcmError::UnsupportedInstruction {
            index: 0,
            opcode: 11,
        }),
        UpwardRefusal::Channel {
            index: 2,
            error: ChannelError::OpenToSelf,
        },
    ];
    assert_eq!(
        outcomes,
        reasons.iter().cloned().map(Err).collect::<Vec<_>>()
    );
    // Nothing but the record of the refusals changed.
    let refused: Vec<RefusedUpward> = get(&s, StorageKey::UpwardRefused(B)).expect("kept");
    assert_eq!(
        refused,
        messages
            .iter()
            .zip(reasons)
            .map(|(msg, reason)| RefusedUpward {
                sent_at: 40,
                msg: msg.clone(),
                reason,
            })
            .collect::<Vec<_>>()
    );
    s.remove(&StorageKey::UpwardRefused(B));
    assert_eq!(s, before);
    // A refusal says why in words too.
    assert!(UpwardRefusal::NoTransact.to_string().contains("Transact"));
}

#[test]
fn a_candidate_is_checked_whole_before_any_effect() {
    let mut s = storage();
    run(&mut s, |o| {
        dmp::queue(o, &CONFIG, B, 3, vec![1]).expect("queued");
        hrmp::queue_outbound(o, A, 4, &[msg(B, 1)]);
    });
    let sends = [msg(A, 1)];
    let candidate = CandidateMessaging {
        para: B,
        relay_parent: 10,
        processed_downward_messages: 1,
        hrmp_watermark: 10,
        horizontal_messages: &sends,
    };
    // B has no channel to A: refused, though the rest is fine.
    refused(
        &mut s,
        &MessagingError::Outbound(OutboundError::NoSuchChannel {
            idx: 0,
            channel: ch(B, A),
        }),
        |o| enact_candidate(o, &candidate, 11, 10).map(drop),
    );
    let bad_watermark = CandidateMessaging {
        hrmp_watermark: 11,
        ..candidate
    };
    refused(
        &mut s,
        &MessagingError::Watermark(WatermarkError::AheadRelayParent {
            new_watermark: 11,
            relay_parent: 10,
        }),
        |o| enact_candidate(o, &bad_watermark, 11, 10).map(drop),
    );
    let idle = CandidateMessaging {
        processed_downward_messages: 0,
        ..candidate
    };
    refused(
        &mut s,
        &MessagingError::Downward(DownwardError::AdvancementRule {
            sent_at: 3,
            relay_parent: 10,
        }),
        |o| enact_candidate(o, &idle, 11, 10).map(drop),
    );
    let good = CandidateMessaging {
        horizontal_messages: &[],
        ..candidate
    };
    run(&mut s, |o| enact_candidate(o, &good, 11, 10)).expect("enacted");
    assert_eq!(
        get::<Vec<InboundDownwardMessage>>(&s, StorageKey::DownwardQueue(B)),
        None
    );
    assert_eq!(
        get::<Vec<InboundHrmpMessage>>(&s, StorageKey::HrmpChannelContents(ch(A, B))),
        None
    );
    assert_eq!(get::<u32>(&s, StorageKey::HrmpWatermark(B)), Some(10));
}

#[test]
fn upward_messages_over_the_relay_chain_limits_are_refused_with_why() {
    use parajam_xcm_adapter::ump::{UmpLimits, UpwardError};
    let mut s = storage();
    let limits = UmpLimits {
        max_message_num_per_candidate: 3,
        max_message_size: 10,
        max_queue_count: 4,
        max_queue_size: 25,
    };
    let m = |len: usize| vec![7u8; len];
    // Within the limits.
    let mut o = Overlay::new(&mut s);
    assert_eq!(
        ump::check_upward(&mut o, &limits, A, &[m(10), m(10)]),
        Ok(())
    );
    assert_eq!(ump::check_upward(&mut o, &limits, A, &[]), Ok(()));
    drop(o);
    let cases = [
        (
            vec![m(1); 4],
            UpwardError::MoreMessagesThanPermitted {
                sent: 4,
                permitted: 3,
            },
        ),
        (
            vec![m(1), m(11)],
            UpwardError::MessageTooLarge {
                idx: 1,
                msg_size: 11,
                max_size: 10,
            },
        ),
        (
            vec![m(10), m(10), m(10)],
            UpwardError::TotalSizeExceeded {
                total_size: 30,
                limit: 25,
            },
        ),
    ];
    for (messages, expected) in cases {
        refused(&mut s, &expected, |o| {
            ump::check_upward(o, &limits, A, &messages)
        });
        assert!(!expected.to_string().is_empty());
    }
    // What the queue holds counts.
    s.insert(StorageKey::UpwardQueue(A), vec![m(1), m(1)].encode());
    refused(
        &mut s,
        &UpwardError::CapacityExceeded { count: 5, limit: 4 },
        |o| ump::check_upward(o, &limits, A, &[m(1), m(1), m(1)]),
    );
}

#[test]
fn refused_upward_messages_are_kept_up_to_a_bound_and_the_dropped_counted() {
    use parajam_xcm_adapter::ump::MAX_KEPT_REFUSED;
    let mut s = storage();
    // ClearOrigin (opcode 10) and a stray octet: refused.
    let bad = |n: u8| vec![5u8, 4, 10, n];
    let first: Vec<Vec<u8>> = (0..60).map(bad).collect();
    run(&mut s, |o| {
        ump::process(o, &CONFIG, &mut ump::NoAccounts, B, 5, &first)
    });
    let kept: Vec<RefusedUpward> = get(&s, StorageKey::UpwardRefused(B)).expect("kept");
    assert_eq!(kept.len(), 60);
    assert_eq!(get::<u32>(&s, StorageKey::UpwardRefusedDropped(B)), None);
    let second: Vec<Vec<u8>> = (60..70).map(bad).collect();
    run(&mut s, |o| {
        ump::process(o, &CONFIG, &mut ump::NoAccounts, B, 6, &second)
    });
    let kept: Vec<RefusedUpward> = get(&s, StorageKey::UpwardRefused(B)).expect("kept");
    assert_eq!(kept.len(), MAX_KEPT_REFUSED);
    // The latest are kept, oldest first; the oldest six are counted.
    assert_eq!(kept[0].msg, bad(6));
    assert_eq!(kept[MAX_KEPT_REFUSED - 1].msg, bad(69));
    assert_eq!(kept[MAX_KEPT_REFUSED - 1].sent_at, 6);
    assert_eq!(get::<u32>(&s, StorageKey::UpwardRefusedDropped(B)), Some(6));
}
