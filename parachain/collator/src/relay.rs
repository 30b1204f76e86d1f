//! The relay-chain state a parachain block is built against: key/value
//! entries in, the relay parent's storage root and the read proof of every
//! entry out.
//!
//! [`RelayStateConfig`] makes the entries a cumulus runtime reads (as
//! `cumulus-test-relay-sproof-builder` does); the CoreChains service will
//! produce its own entries and only need [`relay_state_proof`].

use std::collections::BTreeMap;

use cumulus_primitives_core::{AbridgedHostConfiguration, AbridgedHrmpChannel};
use parity_scale_codec::Encode;
use polkadot_primitives::{
    well_known_keys, AsyncBackingParams, HeadData, HrmpChannelId, Id as ParaId, UpgradeGoAhead,
    UpgradeRestriction,
};
use sp_core::{storage::StateVersion, Pair as _, H256};
use sp_runtime::traits::BlakeTwo256;
use sp_state_machine::InMemoryBackend;
use sp_trie::StorageProof;

use crate::CollatorError;

/// The relay chain's slot duration (Polkadot, Kusama and the test relay
/// chains: 6 s), by which a relay slot gives the para's timestamp.
pub const RELAY_SLOT_DURATION_MILLIS: u64 = 6000;

/// A relay-chain state of key/value entries and the read proof of all of
/// them, as a collator passes it to its runtime.
#[derive(Debug, Clone)]
pub struct RelayState {
    /// The relay parent's storage root (blake2-256 trie, layout V1).
    pub root: H256,
    /// The proof of every entry.
    pub proof: StorageProof,
}

/// Builds the relay chain's trie (blake2-256, layout V1) of `entries`
/// (a later entry for a key replaces an earlier one) and the read proof of
/// all their keys.
pub fn relay_state_proof(entries: &[(Vec<u8>, Vec<u8>)]) -> Result<RelayState, CollatorError> {
    let map: BTreeMap<Vec<u8>, Vec<u8>> = entries.iter().cloned().collect();
    let keys: Vec<Vec<u8>> = map.keys().cloned().collect();
    let backend = InMemoryBackend::<BlakeTwo256>::from((map, StateVersion::V1));
    let root = *backend.root();
    let proof = sp_state_machine::prove_read(backend, keys.iter())
        .map_err(|e| CollatorError::State(e.to_string()))?;
    Ok(RelayState { root, proof })
}

/// The relay-chain slot in `entries` (`CURRENT_SLOT`, the last entry for
/// it), if any.
pub fn current_slot(entries: &[(Vec<u8>, Vec<u8>)]) -> Option<u64> {
    entries
        .iter()
        .rev()
        .find(|(key, _)| key.as_slice() == well_known_keys::CURRENT_SLOT)
        .and_then(|(_, value)| <[u8; 8]>::try_from(value.as_slice()).ok())
        .map(u64::from_le_bytes)
}

/// What the relay-chain state tells a para, from which
/// [`entries`](Self::entries) makes the key/value entries, as
/// `cumulus-test-relay-sproof-builder` 0.28 does for the same fields (and
/// with the same defaults, but para id 2000).
#[derive(Debug, Clone)]
pub struct RelayStateConfig {
    /// The para.
    pub para_id: u32,
    /// The active host configuration (`ACTIVE_CONFIG`).
    pub host_config: AbridgedHostConfiguration,
    /// The para's downward message queue head.
    pub dmq_mqc_head: Option<H256>,
    /// The para's upgrade go-ahead signal.
    pub upgrade_go_ahead: Option<UpgradeGoAhead>,
    /// The para's upgrade restriction signal (not in the sproof builder).
    pub upgrade_restriction: Option<UpgradeRestriction>,
    /// The para's remaining UMP dispatch capacity (messages, octets).
    pub relay_dispatch_queue_remaining_capacity: Option<(u32, u32)>,
    /// The senders of the para's open inbound HRMP channels (sorted).
    pub hrmp_ingress_channel_index: Option<Vec<u32>>,
    /// The recipients of the para's open outbound HRMP channels (sorted).
    pub hrmp_egress_channel_index: Option<Vec<u32>>,
    /// HRMP channels' metadata.
    pub hrmp_channels: BTreeMap<HrmpChannelId, AbridgedHrmpChannel>,
    /// The relay chain's slot (`CURRENT_SLOT`).
    pub current_slot: u64,
    /// The relay chain's BABE epoch (`EPOCH_INDEX`).
    pub current_epoch: u64,
    /// The randomness of one epoch ago (`ONE_EPOCH_AGO_RANDOMNESS`).
    pub randomness: H256,
    /// The para head included on the relay chain (`Paras::Heads`); cumulus's
    /// unincluded segment needs it once the segment can hold more than one
    /// block.
    pub included_para_head: Option<Vec<u8>>,
    /// How many BABE authorities `AUTHORITIES` and `NEXT_AUTHORITIES` list
    /// (sr25519 keys from seeds `[i; 32]`, weight 0).
    pub num_authorities: u64,
    /// More entries, put before the authorities.
    pub additional_key_values: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Default for RelayStateConfig {
    fn default() -> Self {
        Self {
            para_id: 2000,
            host_config: AbridgedHostConfiguration {
                max_code_size: 2 * 1024 * 1024,
                max_head_data_size: 1024 * 1024,
                max_upward_queue_count: 8,
                max_upward_queue_size: 1024,
                max_upward_message_size: 256,
                max_upward_message_num_per_candidate: 5,
                hrmp_max_message_num_per_candidate: 5,
                validation_upgrade_cooldown: 6,
                validation_upgrade_delay: 6,
                async_backing_params: AsyncBackingParams {
                    allowed_ancestry_len: 0,
                    max_candidate_depth: 0,
                },
            },
            dmq_mqc_head: None,
            upgrade_go_ahead: None,
            upgrade_restriction: None,
            relay_dispatch_queue_remaining_capacity: None,
            hrmp_ingress_channel_index: None,
            hrmp_egress_channel_index: None,
            hrmp_channels: BTreeMap::new(),
            current_slot: 0,
            current_epoch: 0,
            randomness: H256::zero(),
            included_para_head: None,
            num_authorities: 1,
            additional_key_values: Vec::new(),
        }
    }
}

impl RelayStateConfig {
    /// The default state for `para_id` at relay slot `current_slot`, with
    /// `included_para_head` as the para's included head.
    pub fn new(para_id: u32, current_slot: u64, included_para_head: Option<Vec<u8>>) -> Self {
        Self {
            para_id,
            current_slot,
            included_para_head,
            ..Self::default()
        }
    }

    /// The key/value entries.
    pub fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let para = ParaId::from(self.para_id);
        let mut entries = vec![(
            well_known_keys::ACTIVE_CONFIG.to_vec(),
            self.host_config.encode(),
        )];
        if let Some(head) = self.dmq_mqc_head {
            entries.push((well_known_keys::dmq_mqc_head(para), head.encode()));
        }
        if let Some(head) = &self.included_para_head {
            entries.push((
                well_known_keys::para_head(para),
                HeadData(head.clone()).encode(),
            ));
        }
        if let Some(capacity) = self.relay_dispatch_queue_remaining_capacity {
            entries.push((
                well_known_keys::relay_dispatch_queue_remaining_capacity(para).key,
                capacity.encode(),
            ));
        }
        if let Some(signal) = self.upgrade_go_ahead {
            entries.push((
                well_known_keys::upgrade_go_ahead_signal(para),
                signal.encode(),
            ));
        }
        if let Some(signal) = self.upgrade_restriction {
            entries.push((
                well_known_keys::upgrade_restriction_signal(para),
                signal.encode(),
            ));
        }
        if let Some(index) = &self.hrmp_ingress_channel_index {
            let index: Vec<ParaId> = index.iter().copied().map(ParaId::from).collect();
            entries.push((
                well_known_keys::hrmp_ingress_channel_index(para),
                index.encode(),
            ));
        }
        if let Some(index) = &self.hrmp_egress_channel_index {
            let index: Vec<ParaId> = index.iter().copied().map(ParaId::from).collect();
            entries.push((
                well_known_keys::hrmp_egress_channel_index(para),
                index.encode(),
            ));
        }
        for (channel, metadata) in &self.hrmp_channels {
            entries.push((
                well_known_keys::hrmp_channels(channel.clone()),
                metadata.encode(),
            ));
        }
        entries.push((
            well_known_keys::EPOCH_INDEX.to_vec(),
            self.current_epoch.encode(),
        ));
        entries.push((
            well_known_keys::ONE_EPOCH_AGO_RANDOMNESS.to_vec(),
            self.randomness.encode(),
        ));
        entries.push((
            well_known_keys::CURRENT_SLOT.to_vec(),
            self.current_slot.encode(),
        ));
        // (the sproof builder appends the authorities after these)
        entries.extend(self.additional_key_values.iter().cloned());
        if self.num_authorities > 0 {
            let authorities: Vec<([u8; 32], u64)> = (0..self.num_authorities)
                .map(|i| {
                    // The seed is the index's low octet, as the sproof builder's.
                    #[allow(clippy::cast_possible_truncation)]
                    let seed = [i as u8; 32];
                    (sp_core::sr25519::Pair::from_seed(&seed).public().0, 0)
                })
                .collect();
            entries.push((well_known_keys::AUTHORITIES.to_vec(), authorities.encode()));
            entries.push((
                well_known_keys::NEXT_AUTHORITIES.to_vec(),
                authorities.encode(),
            ));
        }
        entries
    }
}
