//! Service accounts `δ[s]` (GP §9, eq. 9.3 – 9.8) in full: the serialized
//! info plus storage, preimages and preimage requests, with the footprint
//! (`a_i`, `a_o`) kept in step with every change.
//!
//! Storage, preimages and requests are kept exactly as the merklized state
//! holds them (GP eq. D.2): one dictionary from the hashed part of the
//! state key `C(s, h)` to the value. The paper allows this ("JAM does not
//! allow service storage keys to be directly inspected or enumerated",
//! GP §D.1), and it is the only form a state loaded from its key/value
//! serialization can take: the keys are hashes, and a storage item, a
//! preimage and a request are indistinguishable there. Every access names
//! its item (`k`, `h` or `(h, l)`), so the key is computed, never searched.

use std::collections::BTreeMap;

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};

use super::common::{Balance, OpaqueHash, ServiceId, TimeSlot};
use super::state::{ServiceInfo, StateKey};
use crate::bytes::ByteArray;
use crate::params::ProtocolParameters;

/// The hashed part `a_0 … a_26` of an account entry's state key
/// `C(s, h)` (GP eq. D.1, `a = H(h)`): the key without the service index.
pub type EntryKey = ByteArray<27>;

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
    /// `a_s`, `a_p` and `a_l` as serialized (GP eq. D.2): by [`EntryKey`],
    /// the storage values, the preimage blobs and the encoded request
    /// histories.
    pub entries: BTreeMap<EntryKey, Vec<u8>>,
}

/// Footprint of one storage item: `34 + |k| + |v|` (eq. 9.8).
pub fn storage_item_octets(key: &[u8], value: &[u8]) -> u64 {
    34 + key.len() as u64 + value.len() as u64
}

/// Footprint of one preimage request: `81 + z` (eq. 9.8).
pub fn request_octets(length: u32) -> u64 {
    81 + u64::from(length)
}

/// `H(E4(marker) ⌢ suffix)` truncated to 27 octets.
fn entry_key(marker: u32, suffix: &[u8]) -> EntryKey {
    let mut hasher = Blake2b::<U32>::new();
    hasher.update(marker.to_le_bytes());
    hasher.update(suffix);
    let digest = hasher.finalize();
    let mut key = [0u8; 27];
    key.copy_from_slice(&digest[..27]);
    ByteArray(key)
}

/// The key of storage item `k`: `C(s, E4(2^32 − 1) ⌢ k)` (GP eq. D.2).
pub fn storage_key(key: &[u8]) -> EntryKey {
    entry_key(u32::MAX, key)
}

/// The key of the preimage with hash `h`: `C(s, E4(2^32 − 2) ⌢ h)`.
pub fn preimage_key(hash: &OpaqueHash) -> EntryKey {
    entry_key(u32::MAX - 1, &hash.0)
}

/// The key of the request `(h, l)`: `C(s, E4(l) ⌢ h)`.
pub fn request_key(hash: &OpaqueHash, length: u32) -> EntryKey {
    entry_key(length, &hash.0)
}

/// The full state key `C(s, h)` of an entry of service `s` (GP eq. D.1):
/// the index's octets interleaved with the first four of the hash.
pub fn account_entry_state_key(service: ServiceId, key: &EntryKey) -> StateKey {
    let n = service.to_le_bytes();
    let a = &key.0;
    let mut out = [0u8; 31];
    for i in 0..4 {
        out[2 * i] = n[i];
        out[2 * i + 1] = a[i];
    }
    out[8..].copy_from_slice(&a[4..]);
    ByteArray(out)
}

/// The service and entry key of a state key `C(s, h)`; the inverse of
/// [`account_entry_state_key`]. (Which keys are component or info keys is
/// the caller's to decide: any 31 octets split this way.)
pub fn split_account_entry_state_key(key: &StateKey) -> (ServiceId, EntryKey) {
    let k = &key.0;
    let service = u32::from_le_bytes([k[0], k[2], k[4], k[6]]);
    let mut a = [0u8; 27];
    for i in 0..4 {
        a[i] = k[2 * i + 1];
    }
    a[4..].copy_from_slice(&k[8..]);
    (service, ByteArray(a))
}

/// `(m, c)` of a code preimage `E(↕m, c)` (GP 0.7.2 eq. 9.4, 14.3):
/// metadata, then the code; `None` if the length prefix is malformed.
pub fn split_code_preimage(blob: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = crate::codec::decode_general_natural(blob)?;
    let len = usize::try_from(len).ok()?;
    rest.split_at_checked(len)
}

/// `E(↕[E4(x) | x <− t])`: a request history as serialized (GP eq. D.2).
pub fn encode_request(slots: &[TimeSlot]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 4 * slots.len());
    // At most 3 slots: the general natural of the length is one octet.
    out.push(u8::try_from(slots.len()).unwrap_or(u8::MAX));
    for s in slots {
        out.extend(s.to_le_bytes());
    }
    out
}

/// The request history in a serialized value, if it is one (a length of at
/// most 3 followed by exactly that many 4-octet slots).
pub fn decode_request(value: &[u8]) -> Option<Vec<TimeSlot>> {
    let (&n, rest) = value.split_first()?;
    if n > 3 || rest.len() != 4 * usize::from(n) {
        return None;
    }
    Some(
        rest.chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

impl ServiceAccount {
    /// An account with `info` and no entries.
    pub fn with_info(info: ServiceInfo) -> Self {
        Self {
            info,
            entries: BTreeMap::new(),
        }
    }

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

    /// `a_s[k]`.
    pub fn storage(&self, key: &[u8]) -> Option<&[u8]> {
        self.entries.get(&storage_key(key)).map(Vec::as_slice)
    }

    /// The footprint `(a_i, a_o)` after setting storage `key` to `value`
    /// (`None` removes it), without changing the account.
    pub fn footprint_with_storage(&self, key: &[u8], value: Option<&[u8]>) -> (u32, u64) {
        let (mut items, mut octets) = (i64::from(self.info.items), i128::from(self.info.bytes));
        if let Some(old) = self.storage(key) {
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
        let k = storage_key(key);
        match value {
            Some(v) => self.entries.insert(k, v),
            None => self.entries.remove(&k),
        }
    }

    /// `a_p[h]`.
    pub fn preimage(&self, hash: &OpaqueHash) -> Option<&[u8]> {
        self.entries.get(&preimage_key(hash)).map(Vec::as_slice)
    }

    /// Sets (or with `None` removes) `a_p[h]`. Preimages have no footprint
    /// of their own: their request pays for them (eq. 9.8).
    pub fn set_preimage(&mut self, hash: &OpaqueHash, blob: Option<Vec<u8>>) {
        let k = preimage_key(hash);
        match blob {
            Some(b) => self.entries.insert(k, b),
            None => self.entries.remove(&k),
        };
    }

    /// `a_l[(h, l)]`; `None` also if the stored value is not a request
    /// history (which a well-formed state never has).
    pub fn request(&self, hash: &OpaqueHash, length: u32) -> Option<Vec<TimeSlot>> {
        decode_request(self.entries.get(&request_key(hash, length))?)
    }

    /// Adds, replaces or (with `None`) removes a preimage request, keeping
    /// the footprint (two items each, `81 + l` octets).
    pub fn set_request(&mut self, hash: &OpaqueHash, length: u32, slots: Option<&[TimeSlot]>) {
        let k = request_key(hash, length);
        let had = self.entries.contains_key(&k);
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
            Some(s) => self.entries.insert(k, encode_request(s)),
            None => self.entries.remove(&k),
        };
    }

    /// `(a_m, a_c)` (GP eq. 9.4): the metadata and code of the preimage of
    /// the code hash, when it is a proper encoding `E(↕m, c)`.
    pub fn code(&self) -> Option<(&[u8], &[u8])> {
        split_code_preimage(self.preimage(&self.info.code_hash)?)
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
        assert_eq!(a.storage(b"key"), Some([1, 2, 3].as_slice()));
        a.set_storage(b"key", Some(vec![9]));
        assert_eq!((a.info.items, a.info.bytes), (1, 34 + 3 + 1));
        a.set_request(&OpaqueHash::ZERO, 100, Some(&[]));
        assert_eq!((a.info.items, a.info.bytes), (3, 38 + 181));
        assert_eq!(a.request(&OpaqueHash::ZERO, 100), Some(vec![]));
        assert_eq!(a.request(&OpaqueHash::ZERO, 101), None);
        a.set_request(&OpaqueHash::ZERO, 100, None);
        a.set_storage(b"key", None);
        assert_eq!((a.info.items, a.info.bytes), (0, 0));
        assert!(a.entries.is_empty());
        // a_t = B_S + B_I·a_i + B_L·a_o − a_f, floored at 0.
        let p = ProtocolParameters::FULL;
        a.set_storage(b"k", Some(vec![0; 10]));
        assert_eq!(a.min_balance(&p), 100 + 10 + 45);
        a.info.deposit_offset = 1000;
        assert_eq!(a.min_balance(&p), 0);
    }

    #[test]
    fn entry_state_keys_interleave_and_split() {
        let key = storage_key(b"x");
        let full = account_entry_state_key(0x0403_0201, &key);
        assert_eq!([full.0[0], full.0[2], full.0[4], full.0[6]], [1, 2, 3, 4]);
        assert_eq!(&full.0[8..], &key.0[4..]);
        assert_eq!(split_account_entry_state_key(&full), (0x0403_0201, key));
    }

    #[test]
    fn request_histories_round_trip_and_reject_junk() {
        for slots in [vec![], vec![1], vec![1, 2], vec![1, 2, 3]] {
            assert_eq!(decode_request(&encode_request(&slots)), Some(slots));
        }
        assert_eq!(decode_request(&[]), None);
        assert_eq!(decode_request(&[4; 17]), None);
        assert_eq!(decode_request(&[1, 0, 0]), None);
    }

    #[test]
    fn code_splits_metadata_from_code() {
        let mut a = ServiceAccount::default();
        assert_eq!(a.code(), None);
        let blob = [vec![2u8, b'm', b'd'], b"code".to_vec()].concat();
        let hash = ByteArray([7; 32]);
        a.info.code_hash = hash;
        a.set_preimage(&hash, Some(blob));
        assert_eq!(a.code(), Some((b"md".as_slice(), b"code".as_slice())));
        a.set_preimage(&hash, Some(vec![5, 1]));
        assert_eq!(a.code(), None);
    }
}
