//! In-memory implementations of the host traits, for tests: an inner-machine
//! memory without an engine ([`MemVm`]: `invoke` is refused), and a service
//! storage with preimage requests ([`MemStorage`]).

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use parajam_corechains_types::Hash;

use crate::host::{AccumulateHost, InnerExit, InnerVm, LogLevel, Preimage};

const PAGE: u64 = 4096;
const PAGE_BYTES: usize = 4096;

/// Inner machines as memory only: pages with their writability.
#[derive(Debug, Default)]
pub struct MemVm {
    machines: BTreeMap<u64, BTreeMap<u64, (bool, Vec<u8>)>>,
    next: u64,
}

impl MemVm {
    fn page_mut(&mut self, vm: u64, address: u64, write: bool) -> Option<&mut Vec<u8>> {
        let (writable, data) = self.machines.get_mut(&vm)?.get_mut(&(address / PAGE))?;
        (!write || *writable).then_some(data)
    }
}

impl InnerVm for MemVm {
    fn machine(&mut self, _code: &[u8], _pc: u64) -> Option<u64> {
        let id = self.next;
        self.next += 1;
        self.machines.insert(id, BTreeMap::new());
        Some(id)
    }

    fn zero_pages(&mut self, vm: u64, page: u64, count: u64, writable: bool) -> bool {
        let Some(m) = self.machines.get_mut(&vm) else {
            return false;
        };
        for p in page..page + count {
            m.insert(p, (writable, vec![0; PAGE_BYTES]));
        }
        true
    }

    fn protect_pages(&mut self, vm: u64, page: u64, count: u64, writable: bool) -> bool {
        let Some(m) = self.machines.get_mut(&vm) else {
            return false;
        };
        (page..page + count).all(|p| m.get_mut(&p).map(|e| e.0 = writable).is_some())
    }

    fn peek(&mut self, vm: u64, dst: &mut [u8], src: u64) -> bool {
        for (i, byte) in dst.iter_mut().enumerate() {
            let at = src + i as u64;
            let Some(page) = self.page_mut(vm, at, false) else {
                return false;
            };
            *byte = page[usize::try_from(at % PAGE).unwrap_or(0)];
        }
        true
    }

    fn poke(&mut self, vm: u64, src: &[u8], dst: u64) -> bool {
        for (i, byte) in src.iter().enumerate() {
            let at = dst + i as u64;
            let Some(page) = self.page_mut(vm, at, true) else {
                return false;
            };
            page[usize::try_from(at % PAGE).unwrap_or(0)] = *byte;
        }
        true
    }

    fn invoke(
        &mut self,
        _vm: u64,
        _gas: i64,
        _regs: [u64; 13],
    ) -> Option<(InnerExit, i64, [u64; 13])> {
        None
    }

    fn expunge(&mut self, vm: u64) -> Option<u64> {
        self.machines.remove(&vm).map(|_| 0)
    }
}

/// Storage and preimage requests as they were at a checkpoint.
pub type Snapshot = (BTreeMap<Vec<u8>, Vec<u8>>, BTreeMap<(Hash, u32), Preimage>);

/// A service's storage and preimage requests, with checkpoints.
#[derive(Debug, Default, Clone)]
pub struct MemStorage {
    /// The storage.
    pub storage: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Preimage requests and their state.
    pub preimages: BTreeMap<(Hash, u32), Preimage>,
    /// Keys whose writes fail (`FULL`).
    pub full_keys: Vec<Vec<u8>>,
    /// Log lines `(level, message)`.
    pub logs: Vec<(LogLevel, Vec<u8>)>,
    /// The state at the last checkpoint.
    pub checkpoint: Option<Snapshot>,
}

impl AccumulateHost for MemStorage {
    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        self.storage.get(key).cloned()
    }

    fn set(&mut self, key: &[u8], value: &[u8]) -> bool {
        if self.full_keys.iter().any(|k| k == key) {
            return false;
        }
        self.storage.insert(key.to_vec(), value.to_vec());
        true
    }

    fn remove(&mut self, key: &[u8]) {
        self.storage.remove(key);
    }

    fn solicit(&mut self, hash: &Hash, len: u32) -> bool {
        let entry = self
            .preimages
            .entry((*hash, len))
            .or_insert(Preimage::Unknown);
        match entry {
            Preimage::Unknown => {
                *entry = Preimage::Requested;
                true
            }
            _ => false,
        }
    }

    fn query(&mut self, hash: &Hash, len: u32) -> Preimage {
        self.preimages
            .get(&(*hash, len))
            .copied()
            .unwrap_or(Preimage::Unknown)
    }

    fn checkpoint(&mut self) {
        self.checkpoint = Some((self.storage.clone(), self.preimages.clone()));
    }

    fn log(&mut self, level: LogLevel, _target: &[u8], message: &[u8]) {
        self.logs.push((level, message.to_vec()));
    }
}
