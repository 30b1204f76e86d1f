//! In-memory implementations of the host traits, for tests: an inner-machine
//! memory without an engine ([`MemVm`]: `invoke` is refused; [`MemRefine`]
//! with a log), a service storage with preimage requests ([`MemStorage`]),
//! and [`HostCalls`] for calling the host-function table directly.

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use parajam_corechains_types::state::{ServiceConfig, StorageKey};
use parajam_corechains_types::{Hash, HeadData, InvalidReason, ParaId, ValidationCodeHash};
use parajam_xcm_adapter::Overlay;
use parity_scale_codec::{Decode, Encode};

use crate::allocator::Allocator;
use crate::host::{
    AccountInfo, AccumulateHost, InnerExit, InnerVm, LogLevel, Preimage, RefineHost,
    TransferRefusal,
};
use crate::host_functions::{Call, HostFunction, Session};

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

/// A deferred transfer the service queued (GP `X`'s element, less the
/// source).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentTransfer {
    /// `d`: the destination service.
    pub destination: u32,
    /// `a`: the amount.
    pub amount: u64,
    /// `g`: the gas for the destination's accumulate.
    pub gas: u64,
    /// `m`: the memo.
    pub memo: [u8; 128],
}

/// Another service account: what `info` and `read` see of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemAccount {
    /// Its balance, threshold and minimum memo gas.
    pub info: AccountInfo,
    /// Its storage.
    pub storage: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl MemAccount {
    /// An account with `balance`, no threshold, `min_memo_gas` and no storage.
    pub fn new(balance: u64, min_memo_gas: u64) -> Self {
        Self {
            info: AccountInfo {
                balance,
                threshold: 0,
                min_memo_gas,
            },
            storage: BTreeMap::new(),
        }
    }
}

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
    /// The service's own account (balance, threshold, minimum memo gas).
    pub account: Option<AccountInfo>,
    /// The other services.
    pub accounts: BTreeMap<u32, MemAccount>,
    /// The deferred transfers queued, in order (GP `X`).
    pub transfers: Vec<SentTransfer>,
    /// The own balance and number of transfers at the last checkpoint.
    pub transfers_checkpoint: Option<(u64, usize)>,
}

/// The adapter reads the storage by [`StorageKey`], as the service's
/// accumulate does through the host.
impl parajam_xcm_adapter::Storage for MemStorage {
    fn get(&mut self, key: &StorageKey) -> Option<Vec<u8>> {
        self.storage.get(&key.to_key()).cloned()
    }
}

/// The value under `key` in `s`, decoded (a value that does not decode is
/// a broken test).
pub fn get<T: Decode>(s: &MemStorage, key: StorageKey) -> Option<T> {
    s.storage
        .get(&key.to_key())
        .map(|v| T::decode(&mut &v[..]).expect("stored values decode"))
}

/// Stores `value` (an encoding) under `key` in `s`.
pub fn put(s: &mut MemStorage, key: StorageKey, value: Vec<u8>) {
    s.storage.insert(key.to_key(), value);
}

/// Runs `f` on an [`Overlay`] of `s` (as an adapter operation runs in
/// accumulate), then writes the overlay's changes into `s`.
pub fn commit<R>(s: &mut MemStorage, f: impl FnOnce(&mut Overlay<'_, MemStorage>) -> R) -> R {
    let mut overlay = Overlay::new(s);
    let out = f(&mut overlay);
    for (key, value) in overlay.into_changes() {
        match value {
            Some(value) => s.storage.insert(key.to_key(), value),
            None => s.storage.remove(&key.to_key()),
        };
    }
    out
}

impl MemStorage {
    /// A storage holding the service configuration `config` and one
    /// registered para, `para`, with its head and code hash.
    pub fn with_para(
        config: &ServiceConfig,
        para: ParaId,
        head: &HeadData,
        code: ValidationCodeHash,
    ) -> Self {
        let mut s = Self::default();
        put(&mut s, StorageKey::Config, config.encode());
        put(&mut s, StorageKey::Paras, vec![para].encode());
        put(&mut s, StorageKey::Head(para), head.encode());
        put(&mut s, StorageKey::Code(para), code.encode());
        s
    }

    fn own(&self) -> AccountInfo {
        self.account.unwrap_or(AccountInfo {
            balance: 0,
            threshold: 0,
            min_memo_gas: 0,
        })
    }
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
        self.transfers_checkpoint = Some((self.own().balance, self.transfers.len()));
    }

    fn get_foreign(&mut self, service: u32, key: &[u8]) -> Option<Vec<u8>> {
        self.accounts.get(&service)?.storage.get(key).cloned()
    }

    fn info(&mut self, service: u32) -> Option<AccountInfo> {
        self.accounts.get(&service).map(|a| a.info)
    }

    fn own_info(&mut self) -> AccountInfo {
        self.own()
    }

    fn transfer(
        &mut self,
        destination: u32,
        amount: u64,
        gas: u64,
        memo: &[u8; 128],
    ) -> Result<(), TransferRefusal> {
        // GP 0.7.2 `Ω_T`: WHO, then LOW, then CASH.
        let dest = self
            .accounts
            .get(&destination)
            .ok_or(TransferRefusal::Who)?;
        if gas < dest.info.min_memo_gas {
            return Err(TransferRefusal::Low);
        }
        let mut own = self.own();
        let left = own
            .balance
            .checked_sub(amount)
            .filter(|left| *left >= own.threshold)
            .ok_or(TransferRefusal::Cash)?;
        own.balance = left;
        self.account = Some(own);
        self.transfers.push(SentTransfer {
            destination,
            amount,
            gas,
            memo: *memo,
        });
        Ok(())
    }

    fn log(&mut self, level: LogLevel, _target: &[u8], message: &[u8]) {
        self.logs.push((level, message.to_vec()));
    }
}

/// [`MemVm`] with a log, as the refine host of a PVF run.
#[derive(Debug, Default)]
pub struct MemRefine {
    /// The inner machines.
    pub vm: MemVm,
    /// What was logged.
    pub logs: Vec<(LogLevel, Vec<u8>, Vec<u8>)>,
}

impl InnerVm for MemRefine {
    fn machine(&mut self, code: &[u8], pc: u64) -> Option<u64> {
        self.vm.machine(code, pc)
    }
    fn zero_pages(&mut self, vm: u64, page: u64, count: u64, writable: bool) -> bool {
        self.vm.zero_pages(vm, page, count, writable)
    }
    fn protect_pages(&mut self, vm: u64, page: u64, count: u64, writable: bool) -> bool {
        self.vm.protect_pages(vm, page, count, writable)
    }
    fn peek(&mut self, vm: u64, dst: &mut [u8], src: u64) -> bool {
        self.vm.peek(vm, dst, src)
    }
    fn poke(&mut self, vm: u64, src: &[u8], dst: u64) -> bool {
        self.vm.poke(vm, src, dst)
    }
    fn invoke(
        &mut self,
        vm: u64,
        gas: i64,
        regs: [u64; 13],
    ) -> Option<(InnerExit, i64, [u64; 13])> {
        self.vm.invoke(vm, gas, regs)
    }
    fn expunge(&mut self, vm: u64) -> Option<u64> {
        self.vm.expunge(vm)
    }
}

impl RefineHost for MemRefine {
    fn gas(&mut self) -> u64 {
        u64::MAX
    }
    fn historical_lookup(&mut self, _hash: &Hash) -> Option<Vec<u8>> {
        None
    }
    fn extrinsic(&mut self, _index: usize) -> Option<Vec<u8>> {
        None
    }
    fn context(&mut self) -> (Hash, Hash) {
        ([0; 32], [0; 32])
    }
    fn log(&mut self, level: LogLevel, target: &[u8], message: &[u8]) {
        self.logs.push((level, target.to_vec(), message.to_vec()));
    }
}

/// Where [`HostCalls`] puts arguments: 1 MiB from here.
const ARGS: u64 = 0x1_0000;
const ARGS_PAGES: u64 = 256;
/// Its heap: from here to `HEAP_END`.
const HEAP: u32 = 0x20_0000;
const HEAP_END: u32 = 0x400_0000;

/// Calls host functions of the table directly, as a PVF would: arguments
/// are put in the inner machine's memory, results read back. For the
/// table's tests and for checks against sp-io.
#[derive(Debug)]
pub struct HostCalls {
    /// The refine host.
    pub host: MemRefine,
    vm: u64,
    session: Session,
    next_arg: u64,
}

impl Default for HostCalls {
    fn default() -> Self {
        Self::new()
    }
}

impl HostCalls {
    /// A fresh machine: an empty heap, no open batch.
    pub fn new() -> Self {
        let mut host = MemRefine::default();
        let vm = host.machine(&[], 0).unwrap_or_default();
        host.zero_pages(vm, ARGS / PAGE, ARGS_PAGES, true);
        Self {
            host,
            vm,
            session: Session::new(Allocator::new(vm, HEAP, HEAP_END)),
            next_arg: ARGS,
        }
    }

    /// `data` in the machine's memory; its address.
    pub fn put(&mut self, data: &[u8]) -> u32 {
        let at = self.next_arg;
        assert!(
            at + data.len() as u64 <= ARGS + ARGS_PAGES * PAGE,
            "arguments overflow the test area"
        );
        assert!(
            self.host.poke(self.vm, data, at),
            "the argument area is writable"
        );
        self.next_arg = (at + data.len() as u64).next_multiple_of(8);
        u32::try_from(at).unwrap_or_default()
    }

    /// `data` in the machine's memory; its pointer-size.
    pub fn fat(&mut self, data: &[u8]) -> u64 {
        u64::from(self.put(data)) | (data.len() as u64) << 32
    }

    /// `len` octets at `ptr`.
    pub fn read(&mut self, ptr: u64, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        assert!(self.host.peek(self.vm, &mut out, ptr), "readable result");
        out
    }

    /// The octets a pointer-size names.
    pub fn read_fat(&mut self, fat: u64) -> Vec<u8> {
        let (ptr, len) = parajam_corechains_types::unpack_ptr_and_len(fat);
        self.read(u64::from(ptr), len as usize)
    }

    /// Calls `symbol` with `args` in `ω7 ..`; `ω7` after the call.
    pub fn call(&mut self, symbol: &str, args: &[u64]) -> Result<u64, InvalidReason> {
        let function = HostFunction::from_symbol(symbol.as_bytes())
            .ok_or_else(|| InvalidReason::UnsupportedHostFunction(symbol.as_bytes().to_vec()))?;
        let mut regs = [0u64; 13];
        regs[7..7 + args.len()].copy_from_slice(args);
        let mut call = Call {
            host: &mut self.host,
            vm: self.vm,
            session: &mut self.session,
        };
        call.serve(function, symbol.as_bytes(), &mut regs)?;
        Ok(regs[7])
    }

    /// Live heap allocations.
    pub fn live(&self) -> usize {
        self.session.heap.live()
    }
}
