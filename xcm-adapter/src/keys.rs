//! The relay chain's well-known storage keys of messaging state
//! (`polkadot-primitives` `well_known_keys`, checked against it in this
//! crate's tests), under which the emulated relay state shows a para its
//! channels and downward-queue head.
//!
//! Each is a `Twox64Concat` map key: `twox128(pallet) ‖ twox128(item) ‖
//! twox64(E(k)) ‖ E(k)`.

use alloc::vec::Vec;

use parajam_corechains_types::state::HrmpChannelId;
use parajam_corechains_types::ParaId;
use parity_scale_codec::Encode;
use twox_hash::XxHash64;

/// `twox128(data)`: xxHash64 with seeds 0 and 1, each little endian.
fn twox_128(data: &[u8]) -> [u8; 16] {
    let mut out = [0; 16];
    out[..8].copy_from_slice(&XxHash64::oneshot(0, data).to_le_bytes());
    out[8..].copy_from_slice(&XxHash64::oneshot(1, data).to_le_bytes());
    out
}

/// `twox128(pallet) ‖ twox128(item) ‖ twox64(E(key)) ‖ E(key)`.
fn map_key(pallet: &str, item: &str, key: &impl Encode) -> Vec<u8> {
    let key = key.encode();
    let mut out = Vec::with_capacity(32 + 8 + key.len());
    out.extend_from_slice(&twox_128(pallet.as_bytes()));
    out.extend_from_slice(&twox_128(item.as_bytes()));
    out.extend_from_slice(&XxHash64::oneshot(0, &key).to_le_bytes());
    out.extend_from_slice(&key);
    out
}

/// The channel `channel` (`Hrmp::HrmpChannels`): an `AbridgedHrmpChannel`
/// ([`HrmpChannel`](crate::HrmpChannel)).
pub fn hrmp_channels(channel: HrmpChannelId) -> Vec<u8> {
    map_key("Hrmp", "HrmpChannels", &channel)
}

/// The senders of `para`'s inbound channels (`Hrmp::HrmpIngressChannelsIndex`):
/// `Vec<ParaId>`, ascending.
pub fn hrmp_ingress_channel_index(para: ParaId) -> Vec<u8> {
    map_key("Hrmp", "HrmpIngressChannelsIndex", &para)
}

/// The recipients of `para`'s outbound channels
/// (`Hrmp::HrmpEgressChannelsIndex`): `Vec<ParaId>`, ascending.
pub fn hrmp_egress_channel_index(para: ParaId) -> Vec<u8> {
    map_key("Hrmp", "HrmpEgressChannelsIndex", &para)
}

/// The MQC head of `para`'s downward messages
/// (`Dmp::DownwardMessageQueueHeads`): a `Hash`.
pub fn dmq_mqc_head(para: ParaId) -> Vec<u8> {
    map_key("Dmp", "DownwardMessageQueueHeads", &para)
}
