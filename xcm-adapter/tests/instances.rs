//! Channels between paras hosted by two CoreChains instances, opened and
//! closed by the paras' own calls: each instance runs the call for the
//! party it hosts and returns the operation for the other instance
//! ([`hrmp::ControlSend`]), which runs the same call with the remote
//! party as origin. Two in-memory storages stand for the two instances.

use parajam_corechains_types::memo::ChannelControl;
use parajam_corechains_types::state::StorageKey;
use parajam_corechains_types::{OutboundHrmpMessage, ParaId};
use parajam_xcm_adapter::hrmp::{self, ChannelError, ControlSend, OutboundError};
use parajam_xcm_adapter::testing::{downward_messages, get, refused, run, Mem};
use parajam_xcm_adapter::ump::{self, HrmpCall, UpwardRefusal};
use parajam_xcm_adapter::xcm::Notification;
use parajam_xcm_adapter::{HrmpChannel, HrmpChannelId, HrmpConfig, HrmpOpenRequest};
use parity_scale_codec::Encode;

/// Hosted by instance [`SA`].
const P: ParaId = ParaId(2000);
/// Hosted by instance [`SB`].
const Q: ParaId = ParaId(3000);
/// A para no route names.
const UNROUTED: ParaId = ParaId(4000);
const SA: u32 = 1000;
const SB: u32 = 1001;
const CONFIG: HrmpConfig = HrmpConfig::DEFAULT;
const PQ: HrmpChannelId = HrmpChannelId {
    sender: P,
    recipient: Q,
};

/// Instance `SA` (hosting P, routing Q to SB) and instance `SB` (hosting
/// Q, routing P to SA).
fn instances() -> (Mem, Mem) {
    let mut a = Mem::new();
    a.insert(StorageKey::Paras, vec![P].encode());
    a.insert(StorageKey::RemoteRoute(Q), SB.encode());
    let mut b = Mem::new();
    b.insert(StorageKey::Paras, vec![Q].encode());
    b.insert(StorageKey::RemoteRoute(P), SA.encode());
    (a, b)
}

/// Runs, on the instance it is for, what `control` says (as the service
/// does when its control memo arrives): the same call, the remote party
/// as origin. Nothing more to tell anyone.
fn apply_control(
    s: &mut Mem,
    control: ChannelControl,
    now: u32,
) -> Result<Option<ControlSend>, ChannelError> {
    run(s, |o| match control {
        ChannelControl::OpenRequest {
            channel,
            max_capacity,
            max_message_size,
        } => hrmp::init_open_channel(
            o,
            &CONFIG,
            channel.sender,
            channel.recipient,
            max_capacity,
            max_message_size,
            now,
        ),
        ChannelControl::Accept { channel } => {
            hrmp::accept_open_channel(o, &CONFIG, channel.recipient, channel.sender, now)
        }
        ChannelControl::Close { channel, initiator } => {
            hrmp::close_channel(o, &CONFIG, initiator, channel, now)
        }
    })
}

/// Opens P → Q through request and acceptance across the instances.
fn open_across(a: &mut Mem, b: &mut Mem) {
    let request = run(a, |o| hrmp::init_open_channel(o, &CONFIG, P, Q, 8, 64, 10))
        .expect("requested")
        .expect("told to SB");
    assert_eq!(apply_control(b, request.control, 10), Ok(None));
    let accept = run(b, |o| hrmp::accept_open_channel(o, &CONFIG, Q, P, 11))
        .expect("accepted")
        .expect("told to SA");
    assert_eq!(apply_control(a, accept.control, 11), Ok(None));
}

#[test]
fn a_channel_between_instances_opens_by_request_and_acceptance() {
    let (mut a, mut b) = instances();
    let request = run(&mut a, |o| {
        hrmp::init_open_channel(o, &CONFIG, P, Q, 8, 64, 10)
    })
    .expect("requested");
    assert_eq!(
        request,
        Some(ControlSend {
            service: SB,
            control: ChannelControl::OpenRequest {
                channel: PQ,
                max_capacity: 8,
                max_message_size: 64
            }
        })
    );
    // A records the request (counted against P's outbound channels) and
    // notifies nobody: Q is not here.
    assert_eq!(
        get::<HrmpOpenRequest>(&a, StorageKey::HrmpOpenRequest(PQ)),
        Some(HrmpOpenRequest {
            max_message_size: 64,
            max_capacity: 8,
            max_total_size: CONFIG.hrmp_channel_max_total_size,
        })
    );
    assert_eq!(get::<u32>(&a, StorageKey::HrmpOpenRequestCount(P)), Some(1));
    assert!(downward_messages(&mut a, Q).is_empty());
    // The same request again is refused, typed, as the hrmp pallet does.
    refused(&mut a, &ChannelError::AlreadyRequested(PQ), |o| {
        hrmp::init_open_channel(o, &CONFIG, P, Q, 8, 64, 10)
    });

    // B: Q is told, downward, as by its relay chain.
    assert_eq!(
        apply_control(&mut b, request.expect("some").control, 10),
        Ok(None)
    );
    assert_eq!(
        downward_messages(&mut b, Q),
        vec![Notification::NewChannelOpenRequest {
            sender: 2000,
            max_message_size: 64,
            max_capacity: 8
        }
        .encode_versioned(5)]
    );
    assert!(b.contains_key(&StorageKey::HrmpOpenRequest(PQ)));
    assert_eq!(get::<u32>(&b, StorageKey::HrmpOpenRequestCount(P)), None);

    // Q accepts: B opens its side (Q's ingress) and tells A.
    let accept =
        run(&mut b, |o| hrmp::accept_open_channel(o, &CONFIG, Q, P, 11)).expect("accepted");
    assert_eq!(
        accept,
        Some(ControlSend {
            service: SA,
            control: ChannelControl::Accept { channel: PQ }
        })
    );
    let on_b: HrmpChannel = get(&b, StorageKey::HrmpChannel(PQ)).expect("open on B");
    assert_eq!((on_b.max_capacity, on_b.max_message_size), (8, 64));
    assert_eq!(
        get::<Vec<ParaId>>(&b, StorageKey::HrmpIngress(Q)),
        Some(vec![P])
    );
    assert_eq!(get::<Vec<ParaId>>(&b, StorageKey::HrmpEgress(P)), None);
    assert!(!b.contains_key(&StorageKey::HrmpOpenRequest(PQ)));
    assert!(downward_messages(&mut b, P).is_empty());

    // A opens its side (P's egress) and tells P it was accepted.
    assert_eq!(
        apply_control(&mut a, accept.expect("some").control, 11),
        Ok(None)
    );
    assert!(get::<HrmpChannel>(&a, StorageKey::HrmpChannel(PQ)).is_some());
    assert_eq!(
        get::<Vec<ParaId>>(&a, StorageKey::HrmpEgress(P)),
        Some(vec![Q])
    );
    assert_eq!(get::<Vec<ParaId>>(&a, StorageKey::HrmpIngress(Q)), None);
    assert!(!a.contains_key(&StorageKey::HrmpOpenRequest(PQ)));
    assert_eq!(get::<u32>(&a, StorageKey::HrmpOpenRequestCount(P)), None);
    assert_eq!(
        downward_messages(&mut a, P),
        vec![Notification::ChannelAccepted { recipient: 3000 }.encode_versioned(5)]
    );

    // Open on both sides: P's message leaves A for B and lands in the
    // channel there.
    let message = [OutboundHrmpMessage {
        recipient: Q,
        data: vec![7; 5],
    }];
    run(&mut a, |o| hrmp::check_outbound(o, P, &message, 10)).expect("sendable");
    let sends = run(&mut a, |o| hrmp::send_remote(o, P, &message));
    assert_eq!(sends.len(), 1);
    run(&mut b, |o| hrmp::queue_inbound(o, P, Q, 12, vec![7; 5])).expect("queued");
}

#[test]
fn a_close_by_the_sender_closes_both_sides_once_the_recipient_processed_the_rest() {
    let (mut a, mut b) = instances();
    open_across(&mut a, &mut b);
    run(&mut b, |o| hrmp::queue_inbound(o, P, Q, 12, vec![7; 5])).expect("queued");

    let close = run(&mut a, |o| hrmp::close_channel(o, &CONFIG, P, PQ, 13))
        .expect("closed")
        .expect("told to SB");
    assert_eq!(
        close,
        ControlSend {
            service: SB,
            control: ChannelControl::Close {
                channel: PQ,
                initiator: P
            }
        }
    );
    // A's side holds nothing (messages leave at once): it goes now.
    assert!(get::<HrmpChannel>(&a, StorageKey::HrmpChannel(PQ)).is_none());
    assert_eq!(get::<Vec<ParaId>>(&a, StorageKey::HrmpEgress(P)), None);
    refused(&mut a, &ChannelError::NoSuchChannel(PQ), |o| {
        hrmp::close_channel(o, &CONFIG, P, PQ, 14)
    });

    // B's side holds a message Q has not processed: closing, Q notified,
    // no more messages taken; it goes once Q's watermark passes it.
    assert_eq!(apply_control(&mut b, close.control, 13), Ok(None));
    assert!(b.contains_key(&StorageKey::HrmpCloseRequest(PQ)));
    assert_eq!(
        downward_messages(&mut b, Q),
        vec![
            Notification::NewChannelOpenRequest {
                sender: 2000,
                max_message_size: 64,
                max_capacity: 8
            }
            .encode_versioned(5),
            Notification::ChannelClosing {
                initiator: 2000,
                sender: 2000,
                recipient: 3000
            }
            .encode_versioned(5)
        ]
    );
    assert_eq!(
        run(&mut b, |o| hrmp::queue_inbound(o, P, Q, 14, vec![1])),
        Err(OutboundError::ChannelClosing {
            idx: 0,
            channel: PQ
        })
    );
    assert_eq!(
        apply_control(&mut b, close.control, 14),
        Err(ChannelError::AlreadyClosing(PQ))
    );
    run(&mut b, |o| hrmp::prune(o, Q, 12));
    assert!(get::<HrmpChannel>(&b, StorageKey::HrmpChannel(PQ)).is_none());
    assert_eq!(get::<Vec<ParaId>>(&b, StorageKey::HrmpIngress(Q)), None);
    assert!(!b.contains_key(&StorageKey::HrmpCloseRequest(PQ)));
}

#[test]
fn a_close_by_the_recipient_closes_both_sides() {
    let (mut a, mut b) = instances();
    open_across(&mut a, &mut b);
    let close = run(&mut b, |o| hrmp::close_channel(o, &CONFIG, Q, PQ, 13))
        .expect("closed")
        .expect("told to SA");
    assert_eq!(
        close.control,
        ChannelControl::Close {
            channel: PQ,
            initiator: Q
        }
    );
    assert_eq!(close.service, SA);
    // Empty on B: gone at once.
    assert!(get::<HrmpChannel>(&b, StorageKey::HrmpChannel(PQ)).is_none());
    assert_eq!(get::<Vec<ParaId>>(&b, StorageKey::HrmpIngress(Q)), None);

    assert_eq!(apply_control(&mut a, close.control, 13), Ok(None));
    assert!(get::<HrmpChannel>(&a, StorageKey::HrmpChannel(PQ)).is_none());
    assert_eq!(get::<Vec<ParaId>>(&a, StorageKey::HrmpEgress(P)), None);
    assert_eq!(
        downward_messages(&mut a, P).last(),
        Some(
            &Notification::ChannelClosing {
                initiator: 3000,
                sender: 2000,
                recipient: 3000
            }
            .encode_versioned(5)
        )
    );
    // P cannot send on it any more.
    assert_eq!(
        run(&mut a, |o| hrmp::check_outbound(
            o,
            P,
            &[OutboundHrmpMessage {
                recipient: Q,
                data: vec![1]
            }],
            10
        )),
        Err(OutboundError::NoSuchChannel {
            idx: 0,
            channel: PQ
        })
    );
    // And it can be opened again.
    open_across(&mut a, &mut b);
    assert!(get::<HrmpChannel>(&a, StorageKey::HrmpChannel(PQ)).is_some());
}

#[test]
fn channel_operations_across_instances_refused_change_nothing() {
    let (mut a, mut b) = instances();
    // No route names the recipient.
    refused(&mut a, &ChannelError::InvalidPara(UNROUTED), |o| {
        hrmp::init_open_channel(o, &CONFIG, P, UNROUTED, 8, 64, 10)
    });
    // Limits are checked on both sides.
    refused(&mut a, &ChannelError::ZeroCapacity, |o| {
        hrmp::init_open_channel(o, &CONFIG, P, Q, 0, 64, 10)
    });
    refused(
        &mut b,
        &ChannelError::CapacityExceedsLimit {
            requested: 1001,
            limit: 1000,
        },
        |o| hrmp::init_open_channel(o, &CONFIG, P, Q, 1001, 64, 10),
    );
    // Accept without a request, on either side.
    refused(&mut b, &ChannelError::NoOpenRequest(PQ), |o| {
        hrmp::accept_open_channel(o, &CONFIG, Q, P, 10)
    });
    refused(&mut a, &ChannelError::NoOpenRequest(PQ), |o| {
        hrmp::accept_open_channel(o, &CONFIG, Q, P, 10)
    });
    // Close of a channel that is not there, on either side.
    refused(&mut a, &ChannelError::NoSuchChannel(PQ), |o| {
        hrmp::close_channel(o, &CONFIG, P, PQ, 10)
    });
    refused(&mut b, &ChannelError::NoSuchChannel(PQ), |o| {
        hrmp::close_channel(o, &CONFIG, P, PQ, 10)
    });
    // An operation between two paras neither of which is hosted here.
    refused(&mut a, &ChannelError::InvalidPara(ParaId(3001)), |o| {
        hrmp::init_open_channel(o, &CONFIG, ParaId(3001), Q, 8, 64, 10)
    });
    // A duplicate request arriving at B is refused there too.
    let request = run(&mut a, |o| {
        hrmp::init_open_channel(o, &CONFIG, P, Q, 8, 64, 10)
    })
    .expect("requested")
    .expect("told");
    assert_eq!(apply_control(&mut b, request.control, 10), Ok(None));
    refused(&mut b, &ChannelError::AlreadyRequested(PQ), |o| {
        hrmp::init_open_channel(o, &CONFIG, P, Q, 8, 64, 10)
    });
}

/// `VersionedXcm` v5 `[Transact(Native, call)]`.
fn upward(call: HrmpCall) -> Vec<u8> {
    let mut encoded = vec![CONFIG.hrmp_pallet_index];
    call.encode_to(&mut encoded);
    let mut out = vec![5, 4]; // v5, one instruction
    out.extend([6, 0, 0]); // Transact, Native, no weight
    encoded.encode_to(&mut out);
    out
}

#[test]
fn upward_xcm_on_a_channel_across_instances_returns_its_control() {
    let (mut a, _) = instances();
    let open = HrmpCall::InitOpenChannel {
        recipient: Q,
        proposed_max_capacity: 8,
        proposed_max_message_size: 64,
    };
    let outcomes = run(&mut a, |o| {
        ump::process(o, &CONFIG, &mut ump::NoAccounts, P, 10, &[upward(open)])
    });
    assert_eq!(
        outcomes,
        vec![Ok(ump::Upward::Calls {
            calls: vec![open],
            controls: vec![ControlSend {
                service: SB,
                control: ChannelControl::OpenRequest {
                    channel: PQ,
                    max_capacity: 8,
                    max_message_size: 64
                }
            }]
        })]
    );
    // Again: refused, typed, and kept as any refused upward message.
    let outcomes = run(&mut a, |o| {
        ump::process(o, &CONFIG, &mut ump::NoAccounts, P, 11, &[upward(open)])
    });
    assert_eq!(
        outcomes,
        vec![Err(UpwardRefusal::Channel {
            index: 0,
            error: ChannelError::AlreadyRequested(PQ)
        })]
    );
    let kept: Vec<parajam_xcm_adapter::RefusedUpward> =
        get(&a, StorageKey::UpwardRefused(P)).expect("kept");
    assert_eq!(kept.len(), 1);
}
