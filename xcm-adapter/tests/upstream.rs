//! The adapter against the upstream crates themselves: the well-known keys
//! of `polkadot-primitives` 26, its `AbridgedHrmpChannel` and
//! `HrmpChannelId`, the inbound message types of `polkadot-core-primitives`,
//! cumulus's `MessageQueueChain`, and XCM as `staging-xcm` 25 encodes it.

use cumulus_primitives_parachain_inherent::MessageQueueChain;
use parajam_corechains_types::ParaId;
use parajam_xcm_adapter::xcm::{decode_upward, Instruction, Notification, XcmError as DecodeError};
use parajam_xcm_adapter::{
    keys, mqc, HrmpChannel, HrmpChannelId, InboundDownwardMessage, InboundHrmpMessage,
};
use parity_scale_codec::{Decode, Encode};
use polkadot_primitives as up;
use staging_xcm::{v3, v4, v5, VersionedXcm};

fn up_channel_id(sender: u32, recipient: u32) -> up::HrmpChannelId {
    up::HrmpChannelId {
        sender: up::Id::from(sender),
        recipient: up::Id::from(recipient),
    }
}

#[test]
fn well_known_keys_are_polkadot_primitives_ones() {
    for (a, b) in [(1000, 2000), (2000, 1000), (0, u32::MAX), (2004, 2006)] {
        let ours = HrmpChannelId {
            sender: ParaId(a),
            recipient: ParaId(b),
        };
        assert_eq!(
            keys::hrmp_channels(ours),
            up::well_known_keys::hrmp_channels(up_channel_id(a, b))
        );
        assert_eq!(
            keys::hrmp_ingress_channel_index(ParaId(a)),
            up::well_known_keys::hrmp_ingress_channel_index(a.into())
        );
        assert_eq!(
            keys::hrmp_egress_channel_index(ParaId(a)),
            up::well_known_keys::hrmp_egress_channel_index(a.into())
        );
        assert_eq!(
            keys::dmq_mqc_head(ParaId(a)),
            up::well_known_keys::dmq_mqc_head(a.into())
        );
    }
    // Distinct items, distinct keys.
    assert_ne!(
        keys::hrmp_ingress_channel_index(ParaId(7)),
        keys::hrmp_egress_channel_index(ParaId(7))
    );
}

#[test]
fn state_types_encode_as_upstream() {
    for mqc_head in [None, Some([7; 32])] {
        let ours = HrmpChannel {
            max_capacity: 1,
            max_total_size: 2,
            max_message_size: 3,
            msg_count: 4,
            total_size: 5,
            mqc_head,
        };
        let theirs = up::AbridgedHrmpChannel {
            max_capacity: 1,
            max_total_size: 2,
            max_message_size: 3,
            msg_count: 4,
            total_size: 5,
            mqc_head: mqc_head.map(up::Hash::from),
        };
        assert_eq!(ours.encode(), theirs.encode());
        assert_eq!(
            HrmpChannel::decode(&mut &theirs.encode()[..]).expect("decodes"),
            ours
        );
    }
    let id = HrmpChannelId {
        sender: ParaId(2000),
        recipient: ParaId(3000),
    };
    assert_eq!(id.encode(), up_channel_id(2000, 3000).encode());
    let hrmp = InboundHrmpMessage {
        sent_at: 9,
        data: vec![1, 2, 3],
    };
    let up_hrmp = polkadot_core_primitives::InboundHrmpMessage::<u32> {
        sent_at: 9,
        data: vec![1, 2, 3],
    };
    assert_eq!(hrmp.encode(), up_hrmp.encode());
    let down = InboundDownwardMessage {
        sent_at: 4,
        msg: vec![5; 70],
    };
    let up_down = polkadot_core_primitives::InboundDownwardMessage::<u32> {
        sent_at: 4,
        msg: vec![5; 70],
    };
    assert_eq!(down.encode(), up_down.encode());
}

#[test]
fn mqc_heads_are_cumulus_ones() {
    // Message lengths across the compact-length boundaries (the message
    // hash covers the length prefix).
    let messages: Vec<(u32, Vec<u8>)> = [0usize, 1, 63, 64, 16_383, 16_384]
        .iter()
        .enumerate()
        .map(|(i, &len)| (u32::try_from(i).expect("small") * 3 + 1, vec![0xab; len]))
        .collect();
    let mut hrmp_chain = MessageQueueChain::default();
    let mut dmp_chain = MessageQueueChain::default();
    let mut ours = [0u8; 32];
    for (sent_at, msg) in &messages {
        hrmp_chain.extend_hrmp(&polkadot_core_primitives::InboundHrmpMessage {
            sent_at: *sent_at,
            data: msg.clone(),
        });
        dmp_chain.extend_downward(&polkadot_core_primitives::InboundDownwardMessage {
            sent_at: *sent_at,
            msg: msg.clone(),
        });
        ours = mqc::extend(&ours, *sent_at, msg);
        assert_eq!(ours, hrmp_chain.head().0);
        assert_eq!(ours, dmp_chain.head().0);
    }
    assert_eq!(
        mqc::extend_all([0; 32], messages.iter().map(|(s, m)| (*s, &m[..]))),
        ours
    );
    // The block number counts.
    assert_ne!(
        mqc::extend(&[0; 32], 1, &[1]),
        mqc::extend(&[0; 32], 2, &[1])
    );
}

/// `hrmp_init_open_channel(2001, 8, 1024)` of a relay chain whose hrmp
/// pallet has index 60.
fn init_open_call() -> Vec<u8> {
    let mut call = vec![60, 0];
    (2001u32, 8u32, 1024u32).encode_to(&mut call);
    call
}

/// An upward message of XCM v3 around `call`, ending with `SetTopic(topic)`.
fn v3_message(call: &[u8], topic: [u8; 32]) -> VersionedXcm<()> {
    use v3::prelude::*;
    let fees: MultiAsset = (MultiLocation::here(), 1_000_000_000u128).into();
    VersionedXcm::<()>::V3(Xcm(vec![
        WithdrawAsset(fees.clone().into()),
        BuyExecution {
            fees,
            weight_limit: Unlimited,
        },
        Transact {
            origin_kind: OriginKind::Native,
            require_weight_at_most: Weight::from_parts(1_000_000_000, 65_536),
            call: call.to_vec().into(),
        },
        RefundSurplus,
        DepositAsset {
            assets: Wild(AllCounted(1)),
            beneficiary: MultiLocation::new(
                0,
                X1(AccountId32 {
                    network: Some(Westend),
                    id: [3; 32],
                }),
            ),
        },
        SetTopic(topic),
    ]))
}

/// An upward message of XCM v4 around `call`, ending with `SetTopic(topic)`.
fn v4_message(call: &[u8], topic: [u8; 32]) -> VersionedXcm<()> {
    use v4::prelude::*;
    let fees: Asset = (Location::here(), 1_000_000_000u128).into();
    VersionedXcm::<()>::V4(Xcm(vec![
        UnpaidExecution {
            weight_limit: Limited(Weight::from_parts(5, 6)),
            check_origin: Some(Location::new(0, [Parachain(2000)])),
        },
        WithdrawAsset(fees.clone().into()),
        BuyExecution {
            fees,
            weight_limit: Unlimited,
        },
        Transact {
            origin_kind: OriginKind::Native,
            require_weight_at_most: Weight::from_parts(1, 2),
            call: call.to_vec().into(),
        },
        DepositAsset {
            assets: Definite(
                vec![Asset {
                    id: AssetId(Location::new(
                        1,
                        [
                            PalletInstance(50),
                            GeneralIndex(1984),
                            GeneralKey {
                                length: 2,
                                data: [9; 32],
                            },
                        ],
                    )),
                    fun: NonFungible(Array8([1; 8])),
                }]
                .into(),
            ),
            beneficiary: Location::new(
                0,
                [
                    Plurality {
                        id: BodyId::Index(3),
                        part: BodyPart::Fraction { nom: 1, denom: 2 },
                    },
                    AccountKey20 {
                        network: Some(Ethereum { chain_id: 1 }),
                        key: [4; 20],
                    },
                    GlobalConsensus(ByFork {
                        block_number: 7,
                        block_hash: [8; 32],
                    }),
                ],
            ),
        },
        SetTopic(topic),
    ]))
}

/// An upward message of XCM v5 around `call`, ending with `SetTopic(topic)`.
fn v5_message(call: &[u8], topic: [u8; 32]) -> VersionedXcm<()> {
    use v5::prelude::*;
    let fees: Asset = (Location::here(), 1_000_000_000u128).into();
    VersionedXcm::<()>::V5(Xcm(vec![
        WithdrawAsset(fees.clone().into()),
        PayFees { asset: fees },
        Transact {
            origin_kind: OriginKind::Native,
            fallback_max_weight: None,
            call: call.to_vec().into(),
        },
        Transact {
            origin_kind: OriginKind::Native,
            fallback_max_weight: Some(Weight::from_parts(3, 4)),
            call: call.to_vec().into(),
        },
        RefundSurplus,
        DepositAsset {
            assets: Wild(AllOf {
                id: AssetId(Location::parent()),
                fun: WildFungible,
            }),
            beneficiary: Location::new(
                0,
                [AccountIndex64 {
                    network: None,
                    index: 77,
                }],
            ),
        },
        SetTopic(topic),
    ]))
}

#[test]
fn upward_xcm_of_each_version_decodes() {
    let call = init_open_call();
    let topic = [0x70; 32];

    let v3_msg = v3_message(&call, topic);
    let v4_msg = v4_message(&call, topic);
    let v5_msg = v5_message(&call, topic);
    let transact = Instruction::Transact {
        origin_kind: 0,
        call: call.clone(),
    };
    let decoded = decode_upward(&v3_msg.encode()).expect("v3 decodes");
    assert_eq!(decoded.version, 3);
    assert_eq!(
        decoded.instructions,
        vec![
            Instruction::Fees(0),
            Instruction::Fees(19),
            transact.clone(),
            Instruction::Fees(20),
            Instruction::Fees(13),
            Instruction::SetTopic(topic),
        ]
    );
    let decoded = decode_upward(&v4_msg.encode()).expect("v4 decodes");
    assert_eq!(decoded.version, 4);
    assert_eq!(decoded.instructions.len(), 6);
    assert_eq!(decoded.instructions[0], Instruction::Fees(47));
    assert_eq!(decoded.instructions[3], transact);
    let decoded = decode_upward(&v5_msg.encode()).expect("v5 decodes");
    assert_eq!(decoded.version, 5);
    assert_eq!(decoded.instructions[1], Instruction::Fees(48));
    assert_eq!(decoded.instructions[2], transact);
    assert_eq!(decoded.instructions[3], transact);
    assert_eq!(decoded.instructions[6], Instruction::SetTopic(topic));

    // Every truncation is refused, never accepted or panicking.
    for msg in [v3_msg.encode(), v4_msg.encode(), v5_msg.encode()] {
        for len in 0..msg.len() {
            assert!(
                decode_upward(&msg[..len]).is_err(),
                "{len} of {}",
                msg.len()
            );
        }
        let mut longer = msg.clone();
        longer.push(0);
        assert_eq!(decode_upward(&longer), Err(DecodeError::TrailingOctets(1)));
    }
}

#[test]
fn upward_xcm_the_service_does_not_run_is_refused_by_instruction() {
    use v5::prelude::*;
    let msg = VersionedXcm::<()>::V5(Xcm(vec![
        RefundSurplus,
        ClearError,
        Transact {
            origin_kind: OriginKind::Native,
            fallback_max_weight: None,
            call: init_open_call().into(),
        },
    ]));
    assert_eq!(
        decode_upward(&msg.encode()),
        Err(DecodeError::UnsupportedInstruction {
            index: 1,
            opcode: 23
        })
    );
    let msg = VersionedXcm::<()>::V5(Xcm(vec![DescendOrigin(
        [AccountId32 {
            network: None,
            id: [1; 32],
        }]
        .into(),
    )]));
    assert_eq!(
        decode_upward(&msg.encode()),
        Err(DecodeError::UnsupportedInstruction {
            index: 0,
            opcode: 11
        })
    );
    // `PayFees` is v5's: opcode 48 of a v4 message is not run.
    let mut v4_pay = vec![4, 4, 48];
    v4_pay.extend([0, 0, 0, 0]);
    assert_eq!(
        decode_upward(&v4_pay),
        Err(DecodeError::UnsupportedInstruction {
            index: 0,
            opcode: 48
        })
    );
    assert_eq!(
        decode_upward(&[2, 0]),
        Err(DecodeError::UnsupportedVersion(2))
    );
    assert_eq!(decode_upward(&[]), Err(DecodeError::Empty));
}

#[test]
fn notifications_are_staging_xcm_instructions() {
    let cases = [
        (
            Notification::NewChannelOpenRequest {
                sender: 2000,
                max_message_size: 1024,
                max_capacity: 8,
            },
            v5::Instruction::<()>::HrmpNewChannelOpenRequest {
                sender: 2000,
                max_message_size: 1024,
                max_capacity: 8,
            },
        ),
        (
            Notification::ChannelAccepted { recipient: 2001 },
            v5::Instruction::<()>::HrmpChannelAccepted { recipient: 2001 },
        ),
        (
            Notification::ChannelClosing {
                initiator: 2001,
                sender: 2000,
                recipient: 2001,
            },
            v5::Instruction::<()>::HrmpChannelClosing {
                initiator: 2001,
                sender: 2000,
                recipient: 2001,
            },
        ),
    ];
    for (ours, theirs) in cases {
        let expected = VersionedXcm::<()>::V5(v5::Xcm(vec![theirs]));
        assert_eq!(ours.encode_versioned(5), expected.encode());
        let v4 = VersionedXcm::<()>::V4(expected.clone().try_into().expect("to v4"));
        assert_eq!(ours.encode_versioned(4), v4.encode());
    }
}

/// What a para's `pallet-xcm` sends its reserve (the relay chain) to move
/// `amount` of the relay token to `beneficiary`, in the relay chain's
/// context: `WithdrawAsset`, `ClearOrigin`, `BuyExecution`,
/// `DepositAsset`, `SetTopic`.
fn v5_to_relay(amount: u128, fees: u128, beneficiary: v5::Location) -> VersionedXcm<()> {
    use v5::prelude::*;
    let asset: Asset = (Here, amount).into();
    VersionedXcm::<()>::V5(Xcm(vec![
        WithdrawAsset(asset.into()),
        ClearOrigin,
        BuyExecution {
            fees: (Here, fees).into(),
            weight_limit: Unlimited,
        },
        DepositAsset {
            assets: Wild(AllCounted(1)),
            beneficiary,
        },
        SetTopic([0x70; 32]),
    ]))
}

#[test]
fn a_value_transfer_to_a_jam_service_is_recognised_in_every_version() {
    use parajam_xcm_adapter::xcm::{value_transfer, ValueTransfer};
    use v5::prelude::*;
    let to_service = |n: u128| Location::new(0, [GeneralIndex(n)]);
    let recognised = |msg: &VersionedXcm<()>| {
        let octets = msg.encode();
        let decoded = decode_upward(&octets).expect("decodes");
        value_transfer(&octets, &decoded)
    };
    let v5_msg = v5_to_relay(1_234_567_890_123, 1_000, to_service(77));
    let expected = Some(ValueTransfer {
        service: 77,
        amount: 1_234_567_890_123,
    });
    assert_eq!(recognised(&v5_msg), expected);
    let v4_msg = VersionedXcm::<()>::V4(v5_msg.clone().try_into().expect("to v4"));
    assert_eq!(recognised(&v4_msg), expected);
    let v3_msg = VersionedXcm::<()>::V3(v4_msg.clone().try_into().expect("to v3"));
    assert_eq!(recognised(&v3_msg), expected);
    // `Wild(All)`, no fees, no topic.
    let plain = VersionedXcm::<()>::V5(Xcm(vec![
        WithdrawAsset((Here, 5u128).into()),
        DepositAsset {
            assets: Wild(All),
            beneficiary: to_service(4_000_000_000),
        },
    ]));
    assert_eq!(
        recognised(&plain),
        Some(ValueTransfer {
            service: 4_000_000_000,
            amount: 5
        })
    );

    // Not value to a service: an account, a service id over `u32`, another
    // asset, fees above the amount, two assets, something after the deposit.
    let account = Location::new(
        0,
        [AccountId32 {
            network: None,
            id: [1; 32],
        }],
    );
    let not = [
        v5_to_relay(10, 1, account),
        v5_to_relay(10, 1, to_service(u128::from(u32::MAX) + 1)),
        v5_to_relay(10, 11, to_service(77)),
        VersionedXcm::<()>::V5(Xcm(vec![
            WithdrawAsset((Parent, 5u128).into()),
            DepositAsset {
                assets: Wild(All),
                beneficiary: to_service(77),
            },
        ])),
        VersionedXcm::<()>::V5(Xcm(vec![
            WithdrawAsset(vec![(Here, 5u128).into(), (Parent, 5u128).into()].into()),
            DepositAsset {
                assets: Wild(All),
                beneficiary: to_service(77),
            },
        ])),
        VersionedXcm::<()>::V5(Xcm(vec![
            WithdrawAsset((Here, 5u128).into()),
            DepositAsset {
                assets: Wild(All),
                beneficiary: to_service(77),
            },
            RefundSurplus,
        ])),
    ];
    for msg in not {
        assert_eq!(recognised(&msg), None, "{msg:?}");
    }
}

#[test]
fn the_reserve_deposit_sent_down_is_staging_xcm_v5() {
    use parajam_xcm_adapter::xcm::reserve_asset_deposited;
    use v5::prelude::*;
    let beneficiary = [0xbe; 32];
    for amount in [0u128, 1, 63, 64, 1 << 40, u128::from(u64::MAX)] {
        let asset: Asset = (Parent, amount).into();
        let expected = VersionedXcm::<()>::V5(Xcm(vec![
            ReserveAssetDeposited(asset.clone().into()),
            ClearOrigin,
            BuyExecution {
                fees: asset,
                weight_limit: Unlimited,
            },
            DepositAsset {
                assets: Wild(AllCounted(1)),
                beneficiary: Location::new(
                    0,
                    [AccountId32 {
                        network: None,
                        id: beneficiary,
                    }],
                ),
            },
        ]));
        assert_eq!(
            reserve_asset_deposited(amount, &beneficiary),
            expected.encode()
        );
    }
}
