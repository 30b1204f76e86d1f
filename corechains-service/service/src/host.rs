//! What the service needs from its host: the GP 0.7.2 host calls, as traits.
//!
//! The service program implements them with the real host calls (through
//! Parity's `jam-pvm-common`); tests implement them natively. Each method
//! names the host call it stands for (GP 0.7.2 appendix B).

use alloc::vec::Vec;

use parajam_corechains_types::Hash;

/// How an inner machine stopped (the `invoke` results of GP B.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InnerExit {
    /// `HALT`.
    Halt,
    /// `PANIC`: it trapped.
    Panic,
    /// `FAULT`: a page fault at this address.
    PageFault(u64),
    /// `HOST`: it made host call `ecalli` with this index.
    Host(u64),
    /// `OOG`.
    OutOfGas,
}

/// The inner-machine host calls of refine (GP B.8: `machine`, `peek`,
/// `poke`, `pages`, `invoke`, `expunge`). A `false`/`None` is the call's
/// error answer (`OOB`, `WHO`, `HUH`).
pub trait InnerVm {
    /// `machine`: a new inner machine running `code` (a GP code blob) from `pc`.
    fn machine(&mut self, code: &[u8], pc: u64) -> Option<u64>;
    /// `pages` with `r = 2` (`writable`) or `r = 1`: `count` zeroed pages from `page`.
    fn zero_pages(&mut self, vm: u64, page: u64, count: u64, writable: bool) -> bool;
    /// `pages` with `r = 3` (read-only) or `r = 4`: the pages keep their contents.
    fn protect_pages(&mut self, vm: u64, page: u64, count: u64, writable: bool) -> bool;
    /// `peek`: `dst.len()` octets of the inner machine's memory from `src`.
    fn peek(&mut self, vm: u64, dst: &mut [u8], src: u64) -> bool;
    /// `poke`: writes `src` into the inner machine's memory at `dst`.
    fn poke(&mut self, vm: u64, src: &[u8], dst: u64) -> bool;
    /// `invoke`: runs the inner machine with `gas` and `regs`; the exit,
    /// the gas left and the registers.
    fn invoke(&mut self, vm: u64, gas: i64, regs: [u64; 13])
        -> Option<(InnerExit, i64, [u64; 13])>;
    /// `expunge`: removes the machine; its pc.
    fn expunge(&mut self, vm: u64) -> Option<u64>;
}

/// The JIP-1 log levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// 0.
    Error,
    /// 1.
    Warn,
    /// 2.
    Info,
    /// 3.
    Debug,
    /// 4.
    Trace,
}

/// The refine host calls the service uses besides the inner-machine ones.
pub trait RefineHost: InnerVm {
    /// `gas`: the gas left.
    fn gas(&mut self) -> u64;
    /// `historical_lookup` of the service's own preimage `hash` at the lookup anchor.
    fn historical_lookup(&mut self, hash: &Hash) -> Option<Vec<u8>>;
    /// `fetch` of the current work item's extrinsic `index`.
    fn extrinsic(&mut self, index: usize) -> Option<Vec<u8>>;
    /// `fetch` of the work context: `(anchor, anchor state root)`.
    fn context(&mut self) -> (Hash, Hash);
    /// JIP-1 `log`.
    fn log(&mut self, level: LogLevel, target: &[u8], message: &[u8]);
}

/// A preimage request's state (`query`, GP B.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preimage {
    /// Never requested.
    Unknown,
    /// Requested, not provided yet.
    Requested,
    /// Provided and available.
    Available,
    /// Provided, then forgotten (or a later state).
    Unavailable,
}

/// Why `transfer` (GP 0.7.2 B.7, `Ω_T`, index 20) refused: its error
/// answers, in the order the paper checks them. Nothing was queued and no
/// balance moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TransferRefusal {
    /// `WHO`: the destination is no service.
    Who,
    /// `LOW`: the gas is under the destination's minimum memo gas
    /// (`a_m`).
    Low,
    /// `CASH`: the service's balance less the amount would fall under its
    /// threshold balance (`a_t`).
    Cash,
}

/// What the service reads of an account with `info` (GP 0.7.2 B.7,
/// `Ω_I`, index 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountInfo {
    /// `a_b`: its balance.
    pub balance: u64,
    /// `a_t`: its threshold (minimum) balance.
    pub threshold: u64,
    /// `a_m`: the least gas a transfer to it must carry.
    pub min_memo_gas: u64,
}

/// The accumulate host calls the service uses.
pub trait AccumulateHost {
    /// `read` of the service's own storage.
    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>>;
    /// `read` of another service's storage (`ω7` = its id).
    fn get_foreign(&mut self, service: u32, key: &[u8]) -> Option<Vec<u8>>;
    /// `info` of account `service` (`None`: `NONE`, no such service);
    /// `u32::MAX` as `ω7 = 2^64 − 1` is not used: [`Self::own_info`].
    fn info(&mut self, service: u32) -> Option<AccountInfo>;
    /// `info` with `ω7 = 2^64 − 1`: the service's own account.
    fn own_info(&mut self) -> AccountInfo;
    /// `transfer` (`Ω_T`): queues a deferred transfer of `amount` to
    /// `destination` with `gas` for its accumulate and `memo`; costs
    /// `10 + gas` of this accumulate's gas when accepted.
    fn transfer(
        &mut self,
        destination: u32,
        amount: u64,
        gas: u64,
        memo: &[u8; 128],
    ) -> Result<(), TransferRefusal>;
    /// `write`: `false` when the service cannot afford the storage (`FULL`).
    fn set(&mut self, key: &[u8], value: &[u8]) -> bool;
    /// `write` with an empty value: removes `key`.
    fn remove(&mut self, key: &[u8]);
    /// `solicit` of a preimage `(hash, len)`: `false` if refused.
    fn solicit(&mut self, hash: &Hash, len: u32) -> bool;
    /// `query` of a preimage request `(hash, len)`.
    fn query(&mut self, hash: &Hash, len: u32) -> Preimage;
    /// `checkpoint`: a panic from now on reverts to the state as it is now.
    fn checkpoint(&mut self);
    /// JIP-1 `log`.
    fn log(&mut self, level: LogLevel, target: &[u8], message: &[u8]);
}
