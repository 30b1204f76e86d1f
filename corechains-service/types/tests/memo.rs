//! The transfer memo's layout: every field where the layout puts it, and
//! every malformed memo refused with its reason.

use parajam_corechains_types::memo::{
    BounceReason, ChannelControl, ControlError, Memo, MemoError, MemoKind, MEMO_LEN,
};
use parajam_corechains_types::state::HrmpChannelId;
use parajam_corechains_types::ParaId;

fn hrmp() -> Memo {
    Memo {
        kind: MemoKind::Hrmp,
        source_para: ParaId(0x0403_0201),
        destination: 0x0807_0605,
        sequence: 0x100f_0e0d_0c0b_0a09,
        sent_at: 0x1413_1211,
        subject: [0xaa; 32],
        length: 0x1817_1615,
        reason: None,
    }
}

#[test]
fn fields_are_where_the_layout_says() {
    let memo = hrmp().encode();
    assert_eq!(memo.len(), MEMO_LEN);
    assert_eq!(memo[0], 1);
    assert_eq!(memo[1], 1);
    assert_eq!(memo[2..6], [1, 2, 3, 4]);
    assert_eq!(memo[6..10], [5, 6, 7, 8]);
    assert_eq!(memo[10..18], [9, 10, 11, 12, 13, 14, 15, 16]);
    assert_eq!(memo[18..22], [0x11, 0x12, 0x13, 0x14]);
    assert_eq!(memo[22..54], [0xaa; 32]);
    assert_eq!(memo[54..58], [0x15, 0x16, 0x17, 0x18]);
    assert!(memo[58..].iter().all(|&b| b == 0));
}

#[test]
fn every_kind_round_trips() {
    let value = Memo {
        kind: MemoKind::Value,
        length: 0,
        ..hrmp()
    };
    let mut memos = vec![hrmp(), value];
    for code in 1..=10 {
        memos.push(Memo {
            kind: MemoKind::Bounce,
            length: 0,
            reason: BounceReason::from_code(code),
            ..hrmp()
        });
    }
    for memo in memos {
        assert_eq!(Memo::decode(&memo.encode()), Ok(memo));
    }
    assert_eq!(BounceReason::from_code(0), None);
    assert_eq!(BounceReason::from_code(11), None);
}

#[test]
fn malformed_memos_are_refused_with_their_reason() {
    let good = hrmp().encode();
    assert_eq!(Memo::decode(&good[..127]), Err(MemoError::Length(127)));
    assert_eq!(
        Memo::decode(&[&good[..], &[0]].concat()),
        Err(MemoError::Length(129))
    );
    assert_eq!(Memo::decode(&[]), Err(MemoError::Length(0)));
    assert_eq!(Memo::decode(&[0; MEMO_LEN]), Err(MemoError::Version(0)));

    let with = |at: usize, octet: u8| {
        let mut memo = good;
        memo[at] = octet;
        Memo::decode(&memo)
    };
    assert_eq!(with(0, 2), Err(MemoError::Version(2)));
    for kind in [0, 5, 0xff] {
        assert_eq!(with(1, kind), Err(MemoError::Kind(kind)));
    }
    // A reason on a kind that is not a bounce.
    assert_eq!(with(58, 1), Err(MemoError::Reason { kind: 1, code: 1 }));
    // Every padding octet.
    for at in 59..MEMO_LEN {
        assert_eq!(with(at, 1), Err(MemoError::Padding(at)));
    }

    let value = Memo {
        kind: MemoKind::Value,
        length: 0,
        ..hrmp()
    }
    .encode();
    let mut with_length = value;
    with_length[54] = 1;
    assert_eq!(
        Memo::decode(&with_length),
        Err(MemoError::PayloadLength { kind: 2, length: 1 })
    );
    let mut with_reason = value;
    with_reason[58] = 3;
    assert_eq!(
        Memo::decode(&with_reason),
        Err(MemoError::Reason { kind: 2, code: 3 })
    );

    // HRMP without a payload.
    let mut empty = good;
    empty[54..58].fill(0);
    assert_eq!(
        Memo::decode(&empty),
        Err(MemoError::PayloadLength { kind: 1, length: 0 })
    );

    // A bounce without a reason, or with an unknown one.
    let mut bounce = value;
    bounce[1] = 3;
    for code in [0, 11, 0xff] {
        bounce[58] = code;
        assert_eq!(
            Memo::decode(&bounce),
            Err(MemoError::Reason { kind: 3, code })
        );
    }
}

const CHANNEL: HrmpChannelId = HrmpChannelId {
    sender: ParaId(2000),
    recipient: ParaId(3000),
};

#[test]
fn control_memos_are_where_the_layout_says_and_round_trip() {
    let open = ChannelControl::OpenRequest {
        channel: CHANNEL,
        max_capacity: 0x0c0b_0a09,
        max_message_size: 0x100f_0e0d,
    };
    let memo = Memo::control(&open, 0x0102, 0x1413_1211).encode();
    assert_eq!(memo[0], 1);
    assert_eq!(memo[1], 4);
    // Source: the sender (it asks), destination: the recipient.
    assert_eq!(memo[2..6], 2000u32.to_le_bytes());
    assert_eq!(memo[6..10], 3000u32.to_le_bytes());
    assert_eq!(memo[10..18], [2, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(memo[18..22], [0x11, 0x12, 0x13, 0x14]);
    assert_eq!(memo[22], 1);
    assert_eq!(memo[23..27], 2000u32.to_le_bytes());
    assert_eq!(memo[27..31], 3000u32.to_le_bytes());
    assert_eq!(memo[31..35], [9, 10, 11, 12]);
    assert_eq!(memo[35..39], [13, 14, 15, 16]);
    assert!(memo[39..].iter().all(|&b| b == 0));

    let accept = ChannelControl::Accept { channel: CHANNEL };
    let closes = [
        ChannelControl::Close {
            channel: CHANNEL,
            initiator: ParaId(2000),
        },
        ChannelControl::Close {
            channel: CHANNEL,
            initiator: ParaId(3000),
        },
    ];
    for control in [open, accept, closes[0], closes[1]] {
        let memo = Memo::control(&control, 7, 9);
        let decoded = Memo::decode(&memo.encode()).expect("decodes");
        assert_eq!(decoded, memo);
        assert_eq!(decoded.channel_control(), Some(control));
        assert_eq!(decoded.source_para, control.initiator());
        assert_eq!(ParaId(decoded.destination), control.other());
    }
    // The accept goes from the recipient to the sender.
    let accept = Memo::control(&accept, 0, 0).encode();
    assert_eq!(accept[2..6], 3000u32.to_le_bytes());
    assert_eq!(accept[6..10], 2000u32.to_le_bytes());
    assert_eq!(accept[22], 2);
    // Another kind has no channel operation.
    assert_eq!(hrmp().channel_control(), None);
}

#[test]
fn malformed_control_memos_are_refused_with_their_reason() {
    let open = ChannelControl::OpenRequest {
        channel: CHANNEL,
        max_capacity: 8,
        max_message_size: 1024,
    };
    let good = Memo::control(&open, 0, 1).encode();
    let with = |edits: &[(usize, u8)]| {
        let mut memo = good;
        for &(at, octet) in edits {
            memo[at] = octet;
        }
        Memo::decode(&memo)
    };
    for op in [0, 4, 0xff] {
        assert_eq!(
            with(&[(22, op)]),
            Err(MemoError::Control(ControlError::Operation(op)))
        );
    }
    // An accept or a close with limits.
    for op in [2, 3] {
        assert_eq!(
            with(&[(22, op)]),
            Err(MemoError::Control(ControlError::Limits))
        );
    }
    // An open request from the recipient (source and destination swapped).
    let swapped: Vec<(usize, u8)> = (0..4)
        .flat_map(|i| [(2 + i, good[6 + i]), (6 + i, good[2 + i])])
        .collect();
    assert_eq!(
        with(&swapped),
        Err(MemoError::Control(ControlError::Parties))
    );
    // A destination that is not the channel's other end.
    assert_eq!(
        with(&[(6, 0xff)]),
        Err(MemoError::Control(ControlError::Parties))
    );
    // A channel to itself.
    assert_eq!(
        with(&[(27, good[23]), (28, good[24])]),
        Err(MemoError::Control(ControlError::Parties))
    );
    // The subject's padding, and a payload length or a reason.
    for at in 39..54 {
        assert_eq!(with(&[(at, 1)]), Err(MemoError::Padding(at)));
    }
    assert_eq!(
        with(&[(54, 1)]),
        Err(MemoError::PayloadLength { kind: 4, length: 1 })
    );
    assert_eq!(
        with(&[(58, 1)]),
        Err(MemoError::Reason { kind: 4, code: 1 })
    );
}
