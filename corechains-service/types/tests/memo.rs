//! The transfer memo's layout: every field where the layout puts it, and
//! every malformed memo refused with its reason.

use parajam_corechains_types::memo::{BounceReason, Memo, MemoError, MemoKind, MEMO_LEN};
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
    for code in 1..=9 {
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
    assert_eq!(BounceReason::from_code(10), None);
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
    for kind in [0, 4, 0xff] {
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
    for code in [0, 10, 0xff] {
        bounce[58] = code;
        assert_eq!(
            Memo::decode(&bounce),
            Err(MemoError::Reason { kind: 3, code })
        );
    }
}
