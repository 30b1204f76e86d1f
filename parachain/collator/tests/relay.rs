//! The relay-chain state entries and proof against
//! `cumulus-test-relay-sproof-builder` 0.28.

use cumulus_primitives_core::{AbridgedHrmpChannel, ParaId};
use cumulus_test_relay_sproof_builder::RelayStateSproofBuilder;
use parajam_collator::{relay, relay_state_proof, RelayStateConfig};
use polkadot_primitives::{HeadData, HrmpChannelId, UpgradeGoAhead};
use sp_core::H256;

/// The same fields in both.
fn both(config: &RelayStateConfig) -> RelayStateSproofBuilder {
    let mut builder = RelayStateSproofBuilder {
        para_id: ParaId::from(config.para_id),
        host_config: config.host_config.clone(),
        dmq_mqc_head: config.dmq_mqc_head,
        upgrade_go_ahead: config.upgrade_go_ahead,
        relay_dispatch_queue_remaining_capacity: config.relay_dispatch_queue_remaining_capacity,
        hrmp_ingress_channel_index: config
            .hrmp_ingress_channel_index
            .as_ref()
            .map(|v| v.iter().copied().map(ParaId::from).collect()),
        hrmp_egress_channel_index: config
            .hrmp_egress_channel_index
            .as_ref()
            .map(|v| v.iter().copied().map(ParaId::from).collect()),
        current_slot: config.current_slot.into(),
        current_epoch: config.current_epoch,
        randomness: config.randomness,
        additional_key_values: config.additional_key_values.clone(),
        included_para_head: config.included_para_head.clone().map(HeadData),
        num_authorities: config.num_authorities,
        ..RelayStateSproofBuilder::default()
    };
    builder.hrmp_channels = config.hrmp_channels.clone();
    builder
}

fn check(config: &RelayStateConfig) {
    let ours = relay_state_proof(&config.entries()).expect("proof");
    let (root, proof) = both(config).into_state_root_and_proof();
    assert_eq!(ours.root, root, "relay storage root");
    assert_eq!(ours.proof, proof, "relay state proof");
    assert_eq!(
        relay::current_slot(&config.entries()),
        Some(config.current_slot)
    );
}

#[test]
fn default_entries_match_the_sproof_builder() {
    check(&RelayStateConfig::default());
    check(&RelayStateConfig::new(2000, 4242, Some(vec![1, 2, 3])));
}

#[test]
fn every_optional_entry_matches_the_sproof_builder() {
    let mut config = RelayStateConfig::new(1000, 77, Some(vec![9; 100]));
    config.dmq_mqc_head = Some(H256::repeat_byte(3));
    config.upgrade_go_ahead = Some(UpgradeGoAhead::GoAhead);
    config.relay_dispatch_queue_remaining_capacity = Some((5, 1024));
    config.hrmp_ingress_channel_index = Some(vec![2000, 3000]);
    config.hrmp_egress_channel_index = Some(vec![2500]);
    config.hrmp_channels.insert(
        HrmpChannelId {
            sender: ParaId::from(1000),
            recipient: ParaId::from(2500),
        },
        AbridgedHrmpChannel {
            max_capacity: 8,
            max_total_size: 1024,
            max_message_size: 128,
            msg_count: 1,
            total_size: 10,
            mqc_head: Some(H256::repeat_byte(7)),
        },
    );
    config.current_epoch = 12;
    config.randomness = H256::repeat_byte(0xaa);
    config.num_authorities = 3;
    config.additional_key_values = vec![(b"extra".to_vec(), b"value".to_vec())];
    check(&config);
}

#[test]
fn later_entries_replace_earlier_ones() {
    let a = relay_state_proof(&[
        (b"k".to_vec(), b"1".to_vec()),
        (b"k".to_vec(), b"2".to_vec()),
    ])
    .expect("proof");
    let b = relay_state_proof(&[(b"k".to_vec(), b"2".to_vec())]).expect("proof");
    assert_eq!(a.root, b.root);
}
