#![cfg(feature = "upstream-check")]
//! The emulated relay state, with HRMP channels and a downward-queue head,
//! against the relay state cumulus's own tests prove
//! (`cumulus-test-relay-sproof-builder` 0.28, which writes each item under
//! `polkadot-primitives`' well-known key with upstream's encoding): the
//! same root, so a cumulus runtime reads the same messaging state from the
//! service's relay-state proof.
//!
//! `cargo test -p parajam-corechains-service --features upstream-check --test relay_state_upstream`

use std::collections::BTreeMap;

use cumulus_primitives_core::relay_chain::{self as up, well_known_keys};
use cumulus_test_relay_sproof_builder::RelayStateSproofBuilder;
use parajam_corechains_service::host_functions::trie::{self, Layout, TrieHash};
use parajam_corechains_service::relay_chain;
use parajam_corechains_service::relay_state::RelayState;
use parajam_corechains_types::state::{ServiceConfig, StorageKey};
use parajam_corechains_types::{HeadData, ParaId};
use parajam_xcm_adapter::store::apply;
use parajam_xcm_adapter::{dmp, hrmp, HrmpConfig, Overlay};
use parity_scale_codec::{Decode, Encode};

#[test]
fn the_messaging_state_is_what_cumulus_reads() {
    let para = ParaId(2000);
    let (sender, recipient) = (ParaId(1000), ParaId(3000));
    let config = ServiceConfig::new([1; 32], 7);
    let head = HeadData(vec![9; 40]);
    let mut s: BTreeMap<StorageKey, Vec<u8>> = BTreeMap::new();
    s.insert(StorageKey::Config, config.encode());
    s.insert(StorageKey::Paras, vec![sender, para, recipient].encode());
    s.insert(StorageKey::Head(para), head.encode());
    let mut o = Overlay::new(&mut s);
    let limits = HrmpConfig::DEFAULT;
    hrmp::open_genesis_channel(&mut o, &limits, sender, para, 8, 512).expect("opens");
    hrmp::open_genesis_channel(&mut o, &limits, para, recipient, 4, 256).expect("opens");
    hrmp::queue_outbound(
        &mut o,
        sender,
        5,
        &[parajam_corechains_types::OutboundHrmpMessage {
            recipient: para,
            data: vec![1, 2, 3],
        }],
    );
    dmp::queue(&mut o, &limits, para, 6, vec![4; 100]).expect("queued");
    let changes = o.into_changes();
    apply(changes, &mut s);

    let slot = 9;
    let state = RelayState::read(|k| s.get(&k).cloned(), para, slot).expect("registered");
    assert_eq!(state.messaging.ingress.len(), 1);
    assert_eq!(state.messaging.egress.len(), 1);

    let channel = |id: parajam_xcm_adapter::HrmpChannelId| {
        let ours = s.get(&StorageKey::HrmpChannel(id)).expect("open");
        up::AbridgedHrmpChannel::decode(&mut &ours[..]).expect("an AbridgedHrmpChannel")
    };
    let up_id = |sender: ParaId, recipient: ParaId| up::HrmpChannelId {
        sender: sender.0.into(),
        recipient: recipient.0.into(),
    };
    let inbound = parajam_xcm_adapter::HrmpChannelId {
        sender,
        recipient: para,
    };
    let outbound = parajam_xcm_adapter::HrmpChannelId {
        sender: para,
        recipient,
    };
    let builder = RelayStateSproofBuilder {
        para_id: para.0.into(),
        host_config: Decode::decode(&mut &state.host_config.encode()[..])
            .expect("an AbridgedHostConfiguration"),
        dmq_mqc_head: state.messaging.dmq_mqc_head.map(Into::into),
        relay_dispatch_queue_remaining_capacity: Some(state.upward_capacity),
        hrmp_ingress_channel_index: Some(vec![sender.0.into()]),
        hrmp_egress_channel_index: Some(vec![recipient.0.into()]),
        hrmp_channels: [
            (up_id(sender, para), channel(inbound)),
            (up_id(para, recipient), channel(outbound)),
        ]
        .into_iter()
        .collect(),
        current_slot: u64::from(slot).into(),
        included_para_head: Some(up::HeadData(head.0.clone())),
        num_authorities: 0,
        // The emulated BABE authority (`relay_chain`), under upstream's key.
        additional_key_values: vec![(
            well_known_keys::AUTHORITIES.to_vec(),
            relay_chain::authorities_value(),
        )],
        ..RelayStateSproofBuilder::default()
    };
    let (root, _proof) = builder.into_state_root_and_proof();

    // The builder always writes the epoch index and randomness, which the
    // service does not emulate: add them, zero as the builder's defaults.
    let mut entries = state.entries();
    entries.push((well_known_keys::EPOCH_INDEX.to_vec(), 0u64.encode()));
    entries.push((
        well_known_keys::ONE_EPOCH_AGO_RANDOMNESS.to_vec(),
        up::Hash::default().encode(),
    ));
    let ours = trie::root(TrieHash::Blake2, Layout::V1, entries).expect("a root");
    assert_eq!(ours, root.0);
    // And the channels and the head are in it: without them the root differs.
    let bare = RelayStateSproofBuilder {
        hrmp_channels: BTreeMap::new(),
        hrmp_ingress_channel_index: None,
        hrmp_egress_channel_index: None,
        dmq_mqc_head: None,
        para_id: para.0.into(),
        num_authorities: 0,
        ..RelayStateSproofBuilder::default()
    };
    assert_ne!(bare.into_state_root_and_proof().0, root);
}

/// The emulated relay headers and their BABE authority, against sp-core
/// and polkadot-primitives: the header decodes as the relay chain's and
/// hashes the same, the authority is sp-core's key of the published seed,
/// and its seal verifies with sp-core over the pre-seal hash.
#[test]
fn the_emulated_headers_are_relay_chain_headers() {
    use sp_core::{sr25519, Pair as _};
    let para = ParaId(2000);
    let chain = relay_chain::header_chain(para, 5, 1, |t| Some([t as u8; 32])).expect("a chain");
    let pair = sr25519::Pair::from_seed(&relay_chain::AUTHORITY_SEED);
    assert_eq!(pair.public().0, relay_chain::authority_public());
    let authorities: Vec<(sr25519::Public, u64)> =
        Decode::decode(&mut &relay_chain::authorities_value()[..]).expect("authorities");
    assert_eq!(authorities, vec![(pair.public(), 1)]);
    for ours in &chain {
        let mut header = up::Header::decode(&mut &ours.encode()[..]).expect("a relay-chain header");
        assert_eq!(header.hash().0, ours.hash());
        let seal = header.digest.pop().expect("a seal");
        let (engine, signature) = seal.as_seal().expect("the seal last");
        assert_eq!(engine, *b"BABE");
        let signature = sr25519::Signature::try_from(signature).expect("64 octets");
        assert!(sr25519::Pair::verify(
            &signature,
            header.hash().as_bytes(),
            &pair.public()
        ));
    }
    assert_eq!(
        well_known_keys::AUTHORITIES.to_vec(),
        relay_chain::AUTHORITIES.to_vec()
    );
}
