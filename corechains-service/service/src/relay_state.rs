//! The relay chain a para sees on JAM: the CoreChains service's emulated
//! relay-chain state.
//!
//! A cumulus runtime's `validate_block` does not trust its collator about
//! the relay chain: the `set_validation_data` inherent carries a storage
//! proof of relay-chain state, checked against the
//! `relay_parent_storage_root` of the `ValidationParams`, from which the
//! runtime reads its limits, the relay slot, its included head and the
//! code-upgrade signals. On JAM there is no relay-chain storage: the
//! CoreChains service is the para's relay chain, so it defines that state
//! from its own, per para and timeslot, as the key/value pairs the relay
//! chain would hold under Polkadot's well-known keys ([`RelayState::entries`],
//! keys as `polkadot-primitives`' `well_known_keys`), and its root as
//! Substrate's trie root of those pairs (`LayoutV1`, Blake2b-256: the relay
//! chain's state version) ([`RelayState::root`]).
//!
//! A collator reads the same service storage, builds the same pairs, proves
//! them (the whole trie: it is a handful of nodes) and puts the root in its
//! candidate as `relay_parent_storage_root`, with the timeslot as
//! `relay_parent_number`. Refine passes both to the PVF unchecked; accumulate
//! recomputes the root from its storage at that timeslot and enacts the
//! block only if they agree (and the timeslot is recent). Nothing else can
//! be checked in refine: it cannot read service storage.
//!
//! What is emulated, for para `p` at timeslot `t` (GP `τ`):
//!
//! | key | value |
//! |---|---|
//! | `ACTIVE_CONFIG` | [`AbridgedHostConfiguration`]: the service's, with `validation_upgrade_delay` = [`ServiceConfig::upgrade_delay`] |
//! | `CURRENT_SLOT` (BABE's) | `t` as a `u64` slot: JAM's and Polkadot's slots are both 6 seconds |
//! | `AUTHORITIES` (BABE's) | the emulated BABE authority, weight 1 ([`crate::relay_chain`]): the key that seals the emulated relay headers a runtime with `RelayParentOffset` > 0 checks |
//! | `para_head(p)` | `p`'s stored head: the included head, so cumulus's unincluded segment stays empty |
//! | `relay_dispatch_queue_remaining_capacity(p)` | the host configuration's upward-queue limits less `p`'s queued upward messages (count, octets) |
//! | `upgrade_go_ahead_signal(p)` | `GoAhead` when `p` has a pending upgrade due at `t` |
//! | `upgrade_restriction_signal(p)` | `Present` when `p` has a pending upgrade not yet due at `t` |
//! | `dmq_mqc_head(p)` | the MQC head of every downward message `p` was sent (absent before the first: cumulus reads zero) |
//! | `hrmp_ingress_channel_index(p)` | the senders of `p`'s inbound channels, ascending (absent: none) |
//! | `hrmp_egress_channel_index(p)` | the recipients of `p`'s outbound channels that take messages, ascending (absent: none) |
//! | `hrmp_channels(c)` | for each channel `c` of those indexes, its `AbridgedHrmpChannel`: limits, message count, total size, MQC head |
//!
//! The messaging entries are the XCM adapter's state (`parajam-xcm-adapter`,
//! keys from its `keys` module): cumulus checks the inbound messages its
//! collator gives it against those MQC heads, and limits what it sends by
//! the egress channels' state.
//!
//! Accumulate compares a candidate's root with the state *now* at its relay
//! parent, not with a record of the state then. So a candidate whose
//! para's relay-visible state changed after its collator read it is
//! refused (`WrongRelayState`) and has to be rebuilt on the newer state:
//! before messaging, only the para's own blocks changed it; now a message
//! sent to it, a notification queued for it, a channel opened or closed
//! with it, or its recipient pruning a channel it sends on do too. Safety
//! is kept (nothing is enacted against a state the para did not see);
//! keeping the relay states of recent timeslots, as the relay chain's
//! history does, would keep such candidates valid.

use alloc::vec::Vec;

use parajam_corechains_types::state::{
    AbridgedHostConfiguration, PendingUpgrade, ServiceConfig, StorageKey, UpgradeGoAhead,
    UpgradeRestriction,
};
use parajam_corechains_types::{Hash, HeadData, ParaId, UpwardMessage};
use parajam_xcm_adapter::{keys as messaging_keys, HrmpChannel, HrmpChannelId};
use parity_scale_codec::{Decode, DecodeAll, Encode};

use crate::host_functions::trie::{self, Layout, TrieHash};

/// The relay chain's well-known storage keys (`polkadot-primitives`
/// `well_known_keys`) the emulation writes.
pub mod well_known_keys {
    use alloc::vec::Vec;

    use parajam_corechains_types::ParaId;
    use parity_scale_codec::Encode;

    /// `twox128("Configuration") ‖ twox128("ActiveConfig")`.
    pub const ACTIVE_CONFIG: [u8; 32] =
        hex32("06de3d8a54d27e44a9d5ce189618f22db4b49d95320d9021994c850f25b8e385");
    /// `twox128("Babe") ‖ twox128("CurrentSlot")`.
    pub const CURRENT_SLOT: [u8; 32] =
        hex32("1cb6f36e027abb2091cfb5110ab5087f06155b3cd9a8c9e5e9a23fd5dc13a5ed");
    /// `twox128("Paras") ‖ twox128("Heads")`.
    const PARA_HEAD: [u8; 32] =
        hex32("cd710b30bd2eab0352ddcc26417aa1941b3c252fcb29d88eff4f3de5de4476c3");
    /// `twox128("Paras") ‖ twox128("UpgradeGoAheadSignal")`.
    const UPGRADE_GO_AHEAD: [u8; 32] =
        hex32("cd710b30bd2eab0352ddcc26417aa1949e94c040f5e73d9b7addd6cb603d15d3");
    /// `twox128("Paras") ‖ twox128("UpgradeRestrictionSignal")`.
    const UPGRADE_RESTRICTION: [u8; 32] =
        hex32("cd710b30bd2eab0352ddcc26417aa194f27bbb460270642b5bcaf032ea04d56a");

    /// A `Twox64Concat` map key: `prefix ‖ twox64(E(para)) ‖ E(para)`.
    fn twox64_concat(prefix: &[u8; 32], para: ParaId) -> Vec<u8> {
        let id = para.encode();
        let mut key = Vec::with_capacity(32 + 8 + id.len());
        key.extend_from_slice(prefix);
        key.extend_from_slice(&twox_hash::XxHash64::oneshot(0, &id).to_le_bytes());
        key.extend_from_slice(&id);
        key
    }

    /// The included head of `para` (`Paras::Heads`).
    pub fn para_head(para: ParaId) -> Vec<u8> {
        twox64_concat(&PARA_HEAD, para)
    }

    /// `para`'s code-upgrade go-ahead signal.
    pub fn upgrade_go_ahead_signal(para: ParaId) -> Vec<u8> {
        twox64_concat(&UPGRADE_GO_AHEAD, para)
    }

    /// `para`'s code-upgrade restriction signal.
    pub fn upgrade_restriction_signal(para: ParaId) -> Vec<u8> {
        twox64_concat(&UPGRADE_RESTRICTION, para)
    }

    /// `para`'s upward-queue remaining capacity: the key is
    /// `E(":relay_dispatch_queue_remaining_capacity", para)` itself.
    pub fn relay_dispatch_queue_remaining_capacity(para: ParaId) -> Vec<u8> {
        (b":relay_dispatch_queue_remaining_capacity", para).encode()
    }

    const fn hex32(text: &str) -> [u8; 32] {
        const fn nibble(c: u8) -> u8 {
            match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                _ => panic!("not a lowercase hex digit"),
            }
        }
        let text = text.as_bytes();
        assert!(text.len() == 64, "32 octets of hex");
        let mut out = [0u8; 32];
        let mut i = 0;
        while i < 32 {
            out[i] = (nibble(text[2 * i]) << 4) | nibble(text[2 * i + 1]);
            i += 1;
        }
        out
    }
}

/// A code-upgrade signal the relay chain gives a para.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpgradeSignal {
    /// An upgrade is pending and not yet due: no other may be asked for.
    Restricted,
    /// The pending upgrade is due: the para applies its new code.
    GoAhead,
}

/// A para's messaging state as its relay chain shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayMessaging {
    /// The MQC head of its downward messages, once it was sent one.
    pub dmq_mqc_head: Option<Hash>,
    /// Its inbound channels: sender, channel; ascending by sender.
    pub ingress: Vec<(ParaId, HrmpChannel)>,
    /// Its outbound channels that take messages: recipient, channel;
    /// ascending by recipient.
    pub egress: Vec<(ParaId, HrmpChannel)>,
}

impl RelayMessaging {
    /// `para`'s messaging state from the service's storage as `get` reads
    /// it (the XCM adapter's keys). A channel its index names but storage
    /// lacks is left out, with its index entry.
    pub fn read(mut get: impl FnMut(StorageKey) -> Option<Vec<u8>>, para: ParaId) -> Self {
        fn decode<T: Decode>(value: Option<Vec<u8>>) -> Option<T> {
            T::decode_all(&mut &value?[..]).ok()
        }
        let senders: Vec<ParaId> = decode(get(StorageKey::HrmpIngress(para))).unwrap_or_default();
        let recipients: Vec<ParaId> = decode(get(StorageKey::HrmpEgress(para))).unwrap_or_default();
        let dmq_mqc_head = decode(get(StorageKey::DmqMqcHead(para)));
        let mut channel = |id| decode::<HrmpChannel>(get(StorageKey::HrmpChannel(id)));
        let ingress = senders
            .into_iter()
            .filter_map(|sender| {
                let id = HrmpChannelId {
                    sender,
                    recipient: para,
                };
                channel(id).map(|c| (sender, c))
            })
            .collect();
        let egress = recipients
            .into_iter()
            .filter_map(|recipient| {
                let id = HrmpChannelId {
                    sender: para,
                    recipient,
                };
                channel(id).map(|c| (recipient, c))
            })
            .collect();
        Self {
            dmq_mqc_head,
            ingress,
            egress,
        }
    }

    /// The key/value pairs, unsorted.
    fn entries(&self, para: ParaId, entries: &mut Vec<(Vec<u8>, Vec<u8>)>) {
        if let Some(head) = self.dmq_mqc_head {
            entries.push((messaging_keys::dmq_mqc_head(para), head.encode()));
        }
        let channel_entries =
            |entries: &mut Vec<_>, channels: &[(ParaId, HrmpChannel)], inbound| {
                for (other, channel) in channels {
                    let id = if inbound {
                        HrmpChannelId {
                            sender: *other,
                            recipient: para,
                        }
                    } else {
                        HrmpChannelId {
                            sender: para,
                            recipient: *other,
                        }
                    };
                    entries.push((messaging_keys::hrmp_channels(id), channel.encode()));
                }
            };
        if !self.ingress.is_empty() {
            let senders: Vec<ParaId> = self.ingress.iter().map(|(s, _)| *s).collect();
            entries.push((
                messaging_keys::hrmp_ingress_channel_index(para),
                senders.encode(),
            ));
            channel_entries(entries, &self.ingress, true);
        }
        if !self.egress.is_empty() {
            let recipients: Vec<ParaId> = self.egress.iter().map(|(r, _)| *r).collect();
            entries.push((
                messaging_keys::hrmp_egress_channel_index(para),
                recipients.encode(),
            ));
            channel_entries(entries, &self.egress, false);
        }
    }
}

/// The relay-chain state para `para` sees at timeslot `slot`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayState {
    /// The para.
    pub para: ParaId,
    /// The timeslot: the relay parent's number and slot.
    pub slot: u32,
    /// The host configuration.
    pub host_config: AbridgedHostConfiguration,
    /// The para's included head.
    pub included_head: HeadData,
    /// The upward queue's remaining capacity: messages, octets.
    pub upward_capacity: (u32, u32),
    /// The code-upgrade signal, if any.
    pub upgrade: Option<UpgradeSignal>,
    /// Its message queues.
    pub messaging: RelayMessaging,
}

impl RelayState {
    /// The state for `para` at `slot` from the service's storage as `get`
    /// reads it (`get(key)` is the value under `key.to_key()`); `None` if
    /// the service has no configuration or `para` no head (unregistered).
    pub fn read(
        mut get: impl FnMut(StorageKey) -> Option<Vec<u8>>,
        para: ParaId,
        slot: u32,
    ) -> Option<Self> {
        fn decode<T: Decode>(value: Option<Vec<u8>>) -> Option<T> {
            T::decode_all(&mut &value?[..]).ok()
        }
        let config: ServiceConfig = decode(get(StorageKey::Config))?;
        let included_head: HeadData = decode(get(StorageKey::Head(para)))?;
        let pending: Option<PendingUpgrade> = decode(get(StorageKey::PendingUpgrade(para)));
        let upward: Vec<UpwardMessage> =
            decode(get(StorageKey::UpwardQueue(para))).unwrap_or_default();
        let messaging = RelayMessaging::read(&mut get, para);
        Some(Self::new(
            para,
            slot,
            &config,
            included_head,
            pending.as_ref(),
            &upward,
            messaging,
        ))
    }

    /// The state for `para` at `slot` from what the service stores: its
    /// configuration, the para's head, its pending upgrade (a go-ahead
    /// when due at `slot`, else a restriction), its upward queue and its
    /// messaging state.
    pub fn new(
        para: ParaId,
        slot: u32,
        config: &ServiceConfig,
        included_head: HeadData,
        pending: Option<&PendingUpgrade>,
        upward: &[UpwardMessage],
        messaging: RelayMessaging,
    ) -> Self {
        let mut host_config = config.host_config;
        host_config.validation_upgrade_delay = config.upgrade_delay;
        let queued_octets = upward.iter().fold(0u32, |sum, m| {
            sum.saturating_add(u32::try_from(m.len()).unwrap_or(u32::MAX))
        });
        let queued = u32::try_from(upward.len()).unwrap_or(u32::MAX);
        Self {
            para,
            slot,
            upward_capacity: (
                host_config.max_upward_queue_count.saturating_sub(queued),
                host_config
                    .max_upward_queue_size
                    .saturating_sub(queued_octets),
            ),
            host_config,
            included_head,
            upgrade: pending.map(|p| {
                if p.is_due(slot) {
                    UpgradeSignal::GoAhead
                } else {
                    UpgradeSignal::Restricted
                }
            }),
            messaging,
        }
    }

    /// The key/value pairs, in key order.
    pub fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        use well_known_keys as keys;
        let mut entries = alloc::vec![
            (keys::ACTIVE_CONFIG.to_vec(), self.host_config.encode()),
            (keys::CURRENT_SLOT.to_vec(), u64::from(self.slot).encode()),
            (
                crate::relay_chain::AUTHORITIES.to_vec(),
                crate::relay_chain::authorities_value(),
            ),
            (keys::para_head(self.para), self.included_head.encode()),
            (
                keys::relay_dispatch_queue_remaining_capacity(self.para),
                self.upward_capacity.encode(),
            ),
        ];
        match self.upgrade {
            Some(UpgradeSignal::GoAhead) => entries.push((
                keys::upgrade_go_ahead_signal(self.para),
                UpgradeGoAhead::GoAhead.encode(),
            )),
            Some(UpgradeSignal::Restricted) => entries.push((
                keys::upgrade_restriction_signal(self.para),
                UpgradeRestriction::Present.encode(),
            )),
            None => {}
        }
        self.messaging.entries(self.para, &mut entries);
        entries.sort();
        entries
    }

    /// The state's root: Substrate's trie root of [`Self::entries`]
    /// (`LayoutV1`, Blake2b-256).
    pub fn root(&self) -> Hash {
        // The keys share at most the 16 octets of a pallet prefix: far
        // from the depth limit.
        trie::root(TrieHash::Blake2, Layout::V1, self.entries()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host_functions::Hasher;

    fn twox128(data: &[u8]) -> Vec<u8> {
        Hasher::Twox128.hash(data)
    }

    #[test]
    fn well_known_prefixes_are_the_pallet_storage_prefixes() {
        let prefix = |pallet: &str, item: &str| {
            [twox128(pallet.as_bytes()), twox128(item.as_bytes())].concat()
        };
        assert_eq!(
            well_known_keys::ACTIVE_CONFIG.to_vec(),
            prefix("Configuration", "ActiveConfig")
        );
        assert_eq!(
            well_known_keys::CURRENT_SLOT.to_vec(),
            prefix("Babe", "CurrentSlot")
        );
        let para = ParaId(2000);
        let tail = [Hasher::Twox64.hash(&para.encode()), para.encode()].concat();
        assert_eq!(
            well_known_keys::para_head(para),
            [prefix("Paras", "Heads"), tail.clone()].concat()
        );
        assert_eq!(
            well_known_keys::upgrade_go_ahead_signal(para),
            [prefix("Paras", "UpgradeGoAheadSignal"), tail.clone()].concat()
        );
        assert_eq!(
            well_known_keys::upgrade_restriction_signal(para),
            [prefix("Paras", "UpgradeRestrictionSignal"), tail].concat()
        );
    }

    fn storage(pending: Option<PendingUpgrade>) -> impl FnMut(StorageKey) -> Option<Vec<u8>> {
        move |key| match key {
            StorageKey::Config => Some(ServiceConfig::new([1; 32], 7).encode()),
            StorageKey::Head(ParaId(2000)) => Some(HeadData(alloc::vec![9; 40]).encode()),
            StorageKey::PendingUpgrade(ParaId(2000)) => pending.map(|p| p.encode()),
            StorageKey::UpwardQueue(ParaId(2000)) => {
                Some(alloc::vec![alloc::vec![0u8; 10], alloc::vec![0u8; 5]].encode())
            }
            _ => None,
        }
    }

    #[test]
    fn the_messaging_state_is_under_the_well_known_keys() {
        use parajam_xcm_adapter::keys;
        let para = ParaId(2000);
        let (from, to) = (ParaId(1000), ParaId(3000));
        let channel = |n| HrmpChannel {
            max_capacity: n,
            max_total_size: 100,
            max_message_size: 10,
            msg_count: 1,
            total_size: 2,
            mqc_head: Some([n.to_le_bytes()[0]; 32]),
        };
        let inbound = HrmpChannelId {
            sender: from,
            recipient: para,
        };
        let outbound = HrmpChannelId {
            sender: para,
            recipient: to,
        };
        let mut inner = storage(None);
        let get = |key: StorageKey| match key {
            StorageKey::DmqMqcHead(p) if p == para => Some([5u8; 32].encode()),
            StorageKey::HrmpIngress(p) if p == para => Some(alloc::vec![from].encode()),
            StorageKey::HrmpEgress(p) if p == para => Some(alloc::vec![to].encode()),
            StorageKey::HrmpChannel(id) if id == inbound => Some(channel(1).encode()),
            StorageKey::HrmpChannel(id) if id == outbound => Some(channel(2).encode()),
            other => inner(other),
        };
        let state = RelayState::read(get, para, 3).expect("registered");
        let entries = state.entries();
        for (key, value) in [
            (keys::dmq_mqc_head(para), [5u8; 32].encode()),
            (
                keys::hrmp_ingress_channel_index(para),
                alloc::vec![from].encode(),
            ),
            (
                keys::hrmp_egress_channel_index(para),
                alloc::vec![to].encode(),
            ),
            (keys::hrmp_channels(inbound), channel(1).encode()),
            (keys::hrmp_channels(outbound), channel(2).encode()),
        ] {
            assert!(entries.contains(&(key, value)));
        }
        assert_eq!(entries.len(), 5 + 5);
        let without = RelayState::read(storage(None), para, 3).expect("registered");
        assert_ne!(state.root(), without.root());
    }

    #[test]
    fn the_state_follows_the_service_storage() {
        let para = ParaId(2000);
        assert!(RelayState::read(storage(None), ParaId(7), 3).is_none());
        let state = RelayState::read(storage(None), para, 3).expect("registered");
        assert_eq!(state.host_config.validation_upgrade_delay, 7);
        let limits = AbridgedHostConfiguration::DEFAULT;
        assert_eq!(
            state.upward_capacity,
            (
                limits.max_upward_queue_count - 2,
                limits.max_upward_queue_size - 15
            )
        );
        assert_eq!(state.upgrade, None);
        let entries = state.entries();
        assert_eq!(entries.len(), 5);
        assert!(entries.contains(&(
            crate::relay_chain::AUTHORITIES.to_vec(),
            crate::relay_chain::authorities_value()
        )));
        assert!(entries.windows(2).all(|w| w[0].0 < w[1].0), "sorted");
        assert!(entries.contains(&(well_known_keys::CURRENT_SLOT.to_vec(), 3u64.encode())));

        // The slot, a pending upgrade and its due slot each change the root.
        let pending = PendingUpgrade {
            code_hash: parajam_corechains_types::ValidationCodeHash([2; 32]),
            code_len: 5,
            enact_at: 5,
        };
        let at =
            |slot, pending| RelayState::read(storage(pending), para, slot).expect("registered");
        assert_eq!(
            at(4, Some(pending)).upgrade,
            Some(UpgradeSignal::Restricted)
        );
        assert_eq!(at(5, Some(pending)).upgrade, Some(UpgradeSignal::GoAhead));
        let roots = [
            at(4, None).root(),
            at(5, None).root(),
            at(4, Some(pending)).root(),
            at(5, Some(pending)).root(),
        ];
        for (i, a) in roots.iter().enumerate() {
            for b in &roots[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(at(4, None).root(), at(4, None).root());
    }
}
