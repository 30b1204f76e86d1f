//! The CoreChains service program: refine and accumulate of
//! `parajam-corechains-service`, wired to the GP 0.7.2 host calls through
//! `jam-pvm-common` (its `declare_service!` provides the entry points at
//! program counters 0 and 5 and decodes their arguments).

#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;

use jam_pvm_common::{accumulate as acc, refine as re, InvokeOutcome};
use jam_types::{
    AccumulateItem, CoreIndex, Hash, PageMode, ServiceId, Slot, WorkOutput, WorkPackageHash,
    WorkPayload,
};
use parajam_corechains_service::accumulate::{accumulate_inputs, Input, Item};
use parajam_corechains_service::host::{
    AccountInfo, AccumulateHost, InnerExit, InnerVm, LogLevel, Preimage, RefineHost,
    TransferRefusal,
};
use parajam_corechains_service::jam_transfers::Transfer;
use parajam_corechains_service::refine::refine;
use parity_scale_codec::Encode;

// The host functions' crypto and trie roots need more than the linker's
// default 8 KiB of stack: Ed25519 and secp256k1 keep multiplication tables
// on it, and a trie root recurses once per branch level
// (`host_functions::trie::MAX_DEPTH` bounds that).
polkavm_derive::min_stack_size!(256 * 1024);

struct CoreChains;
jam_pvm_common::declare_service!(CoreChains);

impl jam_pvm_common::Service for CoreChains {
    fn refine(
        _core_index: CoreIndex,
        _item_index: usize,
        _service_id: ServiceId,
        payload: WorkPayload,
        _package_hash: WorkPackageHash,
    ) -> WorkOutput {
        WorkOutput(refine(&mut Refine, &payload.0).encode())
    }

    fn accumulate(slot: Slot, service_id: ServiceId, _item_count: usize) -> Option<Hash> {
        // GP 0.7.2 `i^T ⌢ i^U`: the transfers, then the work digests.
        let inputs: Vec<Input> = acc::accumulate_items()
            .into_iter()
            .map(|item| match item {
                AccumulateItem::WorkItem(record) => Input::Work(Item {
                    authorizer_hash: record.authorizer_hash.0,
                    result: record.result.map(|o| o.0).map_err(|e| e as u8),
                }),
                AccumulateItem::Transfer(t) => Input::Transfer(Transfer {
                    source: t.source,
                    amount: t.amount,
                    gas: t.gas_limit,
                    memo: t.memo.0,
                }),
            })
            .collect();
        if let Err(fatal) = accumulate_inputs(&mut Accumulate, service_id, slot, &inputs) {
            // Revert to the checkpoint after the last item enacted whole.
            panic!("para {}: {:?}", fatal.para.0, fatal.reason);
        }
        None
    }
}

fn jip1(level: LogLevel) -> u64 {
    match level {
        LogLevel::Error => 0,
        LogLevel::Warn => 1,
        LogLevel::Info => 2,
        LogLevel::Debug => 3,
        LogLevel::Trace => 4,
    }
}

fn log(level: LogLevel, target: &[u8], message: &[u8]) {
    // SAFETY: both slices are readable for their lengths.
    unsafe {
        jam_pvm_common::imports::log(
            jip1(level),
            target.as_ptr(),
            target.len() as u64,
            message.as_ptr(),
            message.len() as u64,
        );
    }
}

struct Refine;

impl InnerVm for Refine {
    fn machine(&mut self, code: &[u8], pc: u64) -> Option<u64> {
        re::machine(code, pc).ok()
    }

    fn zero_pages(&mut self, vm: u64, page: u64, count: u64, writable: bool) -> bool {
        let mode = if writable {
            PageMode::ReadWrite
        } else {
            PageMode::ReadOnly
        };
        re::zero(vm, page, count, mode).is_ok()
    }

    fn protect_pages(&mut self, vm: u64, page: u64, count: u64, writable: bool) -> bool {
        // `pages` with r = 3 (read-only) or 4 (writable), keeping contents;
        // `jam-pvm-common` 0.1.28 does not re-export its `protect` wrapper.
        let mode = if writable { 4 } else { 3 };
        // SAFETY: a host call with plain integer arguments.
        unsafe { jam_pvm_common::imports::pages(vm, page, count, mode) == 0 }
    }

    fn peek(&mut self, vm: u64, dst: &mut [u8], src: u64) -> bool {
        re::peek_into(vm, dst, src).is_ok()
    }

    fn poke(&mut self, vm: u64, src: &[u8], dst: u64) -> bool {
        re::poke(vm, src, dst).is_ok()
    }

    fn invoke(
        &mut self,
        vm: u64,
        gas: i64,
        regs: [u64; 13],
    ) -> Option<(InnerExit, i64, [u64; 13])> {
        let (outcome, gas, regs) = re::invoke(vm, gas, regs).ok()?;
        let exit = match outcome {
            InvokeOutcome::Halt => InnerExit::Halt,
            InvokeOutcome::Panic => InnerExit::Panic,
            InvokeOutcome::PageFault(address) => InnerExit::PageFault(address),
            InvokeOutcome::HostCallFault(index) => InnerExit::Host(index),
            InvokeOutcome::OutOfGas => InnerExit::OutOfGas,
        };
        Some((exit, gas, regs))
    }

    fn expunge(&mut self, vm: u64) -> Option<u64> {
        re::expunge(vm).ok()
    }
}

impl RefineHost for Refine {
    fn gas(&mut self) -> u64 {
        re::gas()
    }

    fn historical_lookup(&mut self, hash: &[u8; 32]) -> Option<Vec<u8>> {
        re::lookup(hash)
    }

    fn extrinsic(&mut self, index: usize) -> Option<Vec<u8>> {
        re::extrinsic(index)
    }

    fn context(&mut self) -> ([u8; 32], [u8; 32]) {
        let context = re::refine_context();
        (context.anchor.0, context.state_root.0)
    }

    fn log(&mut self, level: LogLevel, target: &[u8], message: &[u8]) {
        log(level, target, message);
    }
}

struct Accumulate;

impl AccumulateHost for Accumulate {
    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        acc::get_storage(key)
    }

    fn set(&mut self, key: &[u8], value: &[u8]) -> bool {
        acc::set_storage(key, value).is_ok()
    }

    fn remove(&mut self, key: &[u8]) {
        acc::remove_storage(key);
    }

    fn solicit(&mut self, hash: &[u8; 32], len: u32) -> bool {
        acc::solicit(hash, len as usize).is_ok()
    }

    fn query(&mut self, hash: &[u8; 32], len: u32) -> Preimage {
        use acc::LookupRequestStatus as S;
        match acc::query(hash, len as usize) {
            None => Preimage::Unknown,
            Some(S::Unprovided) => Preimage::Requested,
            Some(S::Provided { .. } | S::Rerequested { .. }) => Preimage::Available,
            Some(S::Unrequested { .. }) => Preimage::Unavailable,
        }
    }

    fn checkpoint(&mut self) {
        jam_pvm_common::accumulate::checkpoint();
    }

    fn get_foreign(&mut self, service: u32, key: &[u8]) -> Option<Vec<u8>> {
        acc::get_foreign_storage(service, key)
    }

    fn info(&mut self, service: u32) -> Option<AccountInfo> {
        acc::service_info(service).map(|i| AccountInfo {
            balance: i.balance,
            threshold: i.threshold,
            min_memo_gas: i.min_memo_gas,
        })
    }

    fn own_info(&mut self) -> AccountInfo {
        let i = acc::my_info();
        AccountInfo {
            balance: i.balance,
            threshold: i.threshold,
            min_memo_gas: i.min_memo_gas,
        }
    }

    fn transfer(
        &mut self,
        destination: u32,
        amount: u64,
        gas: u64,
        memo: &[u8; 128],
    ) -> Result<(), TransferRefusal> {
        use jam_pvm_common::ApiError as E;
        match acc::transfer(destination, amount, gas, &jam_types::Memo(*memo)) {
            Ok(()) => Ok(()),
            Err(E::IndexUnknown) => Err(TransferRefusal::Who),
            Err(E::GasLimitTooLow) => Err(TransferRefusal::Low),
            Err(E::NoCash) => Err(TransferRefusal::Cash),
            // GP 0.7.2 `Ω_T` answers nothing else (a memo it cannot read panics).
            Err(e) => panic!("transfer: {e:?}"),
        }
    }

    fn log(&mut self, level: LogLevel, target: &[u8], message: &[u8]) {
        log(level, target, message);
    }
}
