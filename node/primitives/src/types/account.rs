//! Service accounts `δ[s]` (GP §9, eq. 9.3 – 9.8) in full: the serialized
//! info plus storage, preimages and preimage requests, with the footprint
//! (`a_i`, `a_o`) kept in step with every change.

use std::collections::BTreeMap;

use super::common::{Balance, OpaqueHash, TimeSlot};
use super::state::ServiceInfo;
use crate::params::ProtocolParameters;

/// A service account.
///
/// `info.items` and `info.bytes` are the footprint `a_i` and `a_o` of eq. 9.8;
/// the mutators below keep them consistent. (The merklized state does not
/// reveal storage keys, only their footprint, so the footprint is stored, not
/// recomputed.)
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceAccount {
    /// Code hash, balance, gas minimums, footprint, timestamps, parent.
    pub info: ServiceInfo,
    /// `a_s`: storage.
    pub storage: BTreeMap<Vec<u8>, Vec<u8>>,
    /// `a_p`: preimages by hash.
    pub preimages: BTreeMap<OpaqueHash, Vec<u8>>,
    /// `a_l`: preimage requests `(hash, length) → timeslots` (at most 3).
    pub requests: BTreeMap<(OpaqueHash, u32), Vec<TimeSlot>>,
}

/// Footprint of one storage item: `34 + |k| + |v|` (eq. 9.8).
pub fn storage_item_octets(key: &[u8], value: &[u8]) -> u64 {
    34 + key.len() as u64 + value.len() as u64
}

/// Footprint of one preimage request: `81 + z` (eq. 9.8).
pub fn request_octets(length: u32) -> u64 {
    81 + u64::from(length)
}

impl ServiceAccount {
    /// `a_t`: the threshold balance (eq. 9.8).
    pub fn min_balance(&self, params: &ProtocolParameters) -> Balance {
        Self::threshold(
            params,
            self.info.items,
            self.info.bytes,
            self.info.deposit_offset,
        )
    }

    /// `a_t` for a given footprint and gratis offset (eq. 9.8).
    pub fn threshold(params: &ProtocolParameters, items: u32, octets: u64, gratis: u64) -> Balance {
        let need = u128::from(params.deposit_per_service)
            + u128::from(params.deposit_per_item) * u128::from(items)
            + u128::from(params.deposit_per_octet) * u128::from(octets);
        u64::try_from(need.saturating_sub(u128::from(gratis))).unwrap_or(u64::MAX)
    }

    /// The footprint `(a_i, a_o)` after setting storage `key` to `value`
    /// (`None` removes it), without changing the account.
    pub fn footprint_with_storage(&self, key: &[u8], value: Option<&[u8]>) -> (u32, u64) {
        let (mut items, mut octets) = (i64::from(self.info.items), i128::from(self.info.bytes));
        if let Some(old) = self.storage.get(key) {
            items -= 1;
            octets -= i128::from(storage_item_octets(key, old));
        }
        if let Some(new) = value {
            items += 1;
            octets += i128::from(storage_item_octets(key, new));
        }
        (
            u32::try_from(items.max(0)).unwrap_or(u32::MAX),
            u64::try_from(octets.max(0)).unwrap_or(u64::MAX),
        )
    }

    /// Sets (or with `None` removes) a storage item, keeping the footprint.
    /// Returns the previous value.
    pub fn set_storage(&mut self, key: &[u8], value: Option<Vec<u8>>) -> Option<Vec<u8>> {
        let (items, bytes) = self.footprint_with_storage(key, value.as_deref());
        self.info.items = items;
        self.info.bytes = bytes;
        match value {
            Some(v) => self.storage.insert(key.to_vec(), v),
            None => self.storage.remove(key),
        }
    }

    /// Adds or replaces a preimage request, keeping the footprint (two items each).
    pub fn set_request(&mut self, hash: OpaqueHash, length: u32, slots: Option<Vec<TimeSlot>>) {
        let had = self.requests.contains_key(&(hash, length));
        match (had, slots.is_some()) {
            (false, true) => {
                self.info.items = self.info.items.saturating_add(2);
                self.info.bytes = self.info.bytes.saturating_add(request_octets(length));
            }
            (true, false) => {
                self.info.items = self.info.items.saturating_sub(2);
                self.info.bytes = self.info.bytes.saturating_sub(request_octets(length));
            }
            _ => {}
        }
        match slots {
            Some(s) => {
                self.requests.insert((hash, length), s);
            }
            None => {
                self.requests.remove(&(hash, length));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footprint_follows_storage_and_requests() {
        let mut a = ServiceAccount::default();
        a.set_storage(b"key", Some(vec![1, 2, 3]));
        assert_eq!((a.info.items, a.info.bytes), (1, 34 + 3 + 3));
        a.set_storage(b"key", Some(vec![9]));
        assert_eq!((a.info.items, a.info.bytes), (1, 34 + 3 + 1));
        a.set_request(OpaqueHash::ZERO, 100, Some(vec![]));
        assert_eq!((a.info.items, a.info.bytes), (3, 38 + 181));
        a.set_request(OpaqueHash::ZERO, 100, None);
        a.set_storage(b"key", None);
        assert_eq!((a.info.items, a.info.bytes), (0, 0));
        // a_t = B_S + B_I·a_i + B_L·a_o − a_f, floored at 0.
        let p = ProtocolParameters::FULL;
        a.set_storage(b"k", Some(vec![0; 10]));
        assert_eq!(a.min_balance(&p), 100 + 10 + 45);
        a.info.deposit_offset = 1000;
        assert_eq!(a.min_balance(&p), 0);
    }
}
