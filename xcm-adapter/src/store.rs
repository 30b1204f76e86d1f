//! The service storage the adapter reads, and the overlay its operations
//! write into.
//!
//! An operation validates against the [`Overlay`] (the base storage with
//! the changes so far on top) and writes into it only once everything is
//! checked, so a refused operation leaves the overlay as it was. The caller
//! commits [`Overlay::into_changes`] to the service storage when the whole
//! item it acts for is accepted, or drops the overlay.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use parajam_corechains_types::state::{
    HrmpChannelId, InboundDownwardMessage, InboundHrmpMessage, StorageKey,
};
use parajam_corechains_types::{Hash, ParaId};
use parity_scale_codec::{Decode, DecodeAll, Encode};

use crate::{HrmpChannel, HrmpOpenRequest};

/// Read access to the service's storage by [`StorageKey`].
pub trait Storage {
    /// The value under `key`, if any.
    fn get(&mut self, key: &StorageKey) -> Option<Vec<u8>>;
}

/// A storage in memory (tests, genesis).
impl Storage for BTreeMap<StorageKey, Vec<u8>> {
    fn get(&mut self, key: &StorageKey) -> Option<Vec<u8>> {
        BTreeMap::get(self, key).cloned()
    }
}

/// The writes of an overlay: a value, or `None` for a removal.
pub type Changes = BTreeMap<StorageKey, Option<Vec<u8>>>;

/// Applies `changes` to an in-memory storage.
pub fn apply(changes: Changes, storage: &mut BTreeMap<StorageKey, Vec<u8>>) {
    for (key, value) in changes {
        match value {
            Some(value) => storage.insert(key, value),
            None => storage.remove(&key),
        };
    }
}

/// A storage with uncommitted changes on top.
#[derive(Debug)]
pub struct Overlay<'a, S: ?Sized> {
    base: &'a mut S,
    changes: Changes,
}

impl<'a, S: Storage + ?Sized> Overlay<'a, S> {
    /// No changes on `base`.
    pub fn new(base: &'a mut S) -> Self {
        Self {
            base,
            changes: Changes::new(),
        }
    }

    /// The changes so far.
    pub fn changes(&self) -> &Changes {
        &self.changes
    }

    /// The changes, to commit.
    pub fn into_changes(self) -> Changes {
        self.changes
    }

    /// The changes so far, to go back to with [`Self::restore`].
    pub(crate) fn checkpoint(&self) -> Changes {
        self.changes.clone()
    }

    /// Back to `checkpoint`'s changes.
    pub(crate) fn restore(&mut self, checkpoint: Changes) {
        self.changes = checkpoint;
    }

    /// The octets under `key`.
    pub fn raw(&mut self, key: &StorageKey) -> Option<Vec<u8>> {
        match self.changes.get(key) {
            Some(value) => value.clone(),
            None => self.base.get(key),
        }
    }

    /// The value under `key`; a value that does not decode (whole) as `T`
    /// counts as absent.
    pub fn read<T: Decode>(&mut self, key: &StorageKey) -> Option<T> {
        T::decode_all(&mut &self.raw(key)?[..]).ok()
    }

    /// Sets `key` to `value`.
    pub fn write<T: Encode>(&mut self, key: StorageKey, value: &T) {
        self.changes.insert(key, Some(value.encode()));
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: StorageKey) {
        self.changes.insert(key, None);
    }

    /// Sets `key` to `items`, or removes it if there are none (an absent
    /// list is an empty one).
    pub fn write_list<T: Encode>(&mut self, key: StorageKey, items: &[T]) {
        if items.is_empty() {
            self.remove(key);
        } else {
            self.write(key, &items);
        }
    }

    /// Whether `para` is registered (in [`StorageKey::Paras`]).
    pub fn is_para(&mut self, para: ParaId) -> bool {
        self.read::<Vec<ParaId>>(&StorageKey::Paras)
            .is_some_and(|paras| paras.binary_search(&para).is_ok())
    }

    /// The open channel `id`, if it is.
    pub fn channel(&mut self, id: HrmpChannelId) -> Option<HrmpChannel> {
        self.read(&StorageKey::HrmpChannel(id))
    }

    /// The messages in channel `id`, oldest first.
    pub fn channel_contents(&mut self, id: HrmpChannelId) -> Vec<InboundHrmpMessage> {
        self.read(&StorageKey::HrmpChannelContents(id))
            .unwrap_or_default()
    }

    /// The senders of `para`'s inbound channels, ascending.
    pub fn ingress(&mut self, para: ParaId) -> Vec<ParaId> {
        self.read(&StorageKey::HrmpIngress(para))
            .unwrap_or_default()
    }

    /// The recipients of `para`'s outbound channels that take messages,
    /// ascending.
    pub fn egress(&mut self, para: ParaId) -> Vec<ParaId> {
        self.read(&StorageKey::HrmpEgress(para)).unwrap_or_default()
    }

    /// `para`'s last HRMP watermark, if it set one.
    pub fn watermark(&mut self, para: ParaId) -> Option<u32> {
        self.read(&StorageKey::HrmpWatermark(para))
    }

    /// The pending request to open `id`.
    pub fn open_request(&mut self, id: HrmpChannelId) -> Option<HrmpOpenRequest> {
        self.read(&StorageKey::HrmpOpenRequest(id))
    }

    /// How many open requests `para` has pending.
    pub fn open_request_count(&mut self, para: ParaId) -> u32 {
        self.read(&StorageKey::HrmpOpenRequestCount(para))
            .unwrap_or_default()
    }

    /// Whether channel `id` is closing.
    pub fn is_closing(&mut self, id: HrmpChannelId) -> bool {
        self.raw(&StorageKey::HrmpCloseRequest(id)).is_some()
    }

    /// `para`'s downward queue, oldest first.
    pub fn downward_queue(&mut self, para: ParaId) -> Vec<InboundDownwardMessage> {
        self.read(&StorageKey::DownwardQueue(para))
            .unwrap_or_default()
    }

    /// The MQC head of `para`'s downward messages (zero before the first).
    pub fn dmq_mqc_head(&mut self, para: ParaId) -> Hash {
        self.read(&StorageKey::DmqMqcHead(para)).unwrap_or_default()
    }
}
