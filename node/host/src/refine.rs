//! The refine host-call functions (GP 0.7.2 appendix B.8): historical
//! lookup, export, and the inner-machine calls `machine`, `peek`, `poke`,
//! `pages`, `invoke`, `expunge`.
//!
//! The refine context `(m, e)` is [`RefineContext`]: inner machines
//! `m ∈ ⟨N → (code, RAM, pc)⟩` and exported segments `e`. An inner machine
//! is an [`InnerVm`], made by an [`InnerRunner`] at `machine` and kept until
//! `expunge`: `peek`, `poke` and `pages` act on its RAM and `invoke` runs
//! `Ψ` on it. The PVM engine's ([`crate::pvm::PvmInnerRunner`]) keeps one
//! live engine instance per machine, its RAM inside; [`InnerRam`] is RAM
//! held as data, for the reference machines and for tests.

use std::collections::BTreeMap;

use parajam_primitives::types::{OpaqueHash, ServiceAccount, ServiceId, TimeSlot};
use parajam_primitives::ProtocolParameters;

use crate::general::{Accounts, FetchContext, LogEntry};
use crate::{charged, codes, Control, HostCall, Machine, PvmFlavor};

/// `Z_P`: the PVM page size.
pub const PAGE_SIZE: u64 = 4096;
const PAGE_BYTES: usize = 4096;
/// Pages below this index are never accessible (the first 64 KiB).
pub const FIRST_USABLE_PAGE: u64 = 16;
const PAGES_IN_SPACE: u64 = (1 << 32) / PAGE_SIZE;

/// Access to one page of inner RAM (`∅`, `R`, `W`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Readable.
    Read,
    /// Readable and writable.
    Write,
}

/// Whether every octet of `[address, address + len)` is on a page that
/// `access` calls readable (and, with `write`, writable): the GP's `V_μ`
/// and `V*_μ` of an inner RAM (eq. `eq:pvmmemory`). Empty ranges always
/// are; ranges beyond the 32-bit space never are.
pub fn covers(address: u64, len: u64, write: bool, access: impl Fn(u32) -> Option<Access>) -> bool {
    if len == 0 {
        return true;
    }
    let Some(end) = address.checked_add(len - 1) else {
        return false;
    };
    if end >= 1 << 32 {
        return false;
    }
    (address / PAGE_SIZE..=end / PAGE_SIZE).all(|p| {
        u32::try_from(p)
            .ok()
            .and_then(&access)
            .is_some_and(|a| !write || a == Access::Write)
    })
}

/// The RAM of an inner machine as data: pages with their access and
/// contents. Pages absent from the map are inaccessible. The memory of the
/// reference inner machines, and of a machine whose engine instance could
/// not be made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InnerRam {
    pages: BTreeMap<u32, (Access, Box<[u8]>)>,
}

impl InnerRam {
    /// The accessible pages, in order.
    pub fn pages(&self) -> impl Iterator<Item = (u32, Access, &[u8])> {
        self.pages.iter().map(|(p, (a, d))| (*p, *a, &d[..]))
    }

    /// The access of a page, `None` if inaccessible.
    pub fn access(&self, page: u32) -> Option<Access> {
        self.pages.get(&page).map(|(a, _)| *a)
    }

    /// Replaces the contents of an accessible page (used by runners).
    pub fn set_page(&mut self, page: u32, access: Access, contents: &[u8]) {
        let mut data = vec![0u8; PAGE_BYTES].into_boxed_slice();
        let n = contents.len().min(data.len());
        data[..n].copy_from_slice(&contents[..n]);
        self.pages.insert(page, (access, data));
    }

    /// Applies a `pages` change (GP B.8, `Ω_Z`) to `count` pages from `first`.
    pub fn change_pages(&mut self, first: u32, count: u32, change: PageChange) {
        for page in first..first.saturating_add(count) {
            match change {
                PageChange::Inaccessible => {
                    self.pages.remove(&page);
                }
                PageChange::Zeroed(access) => self.set_page(page, access, &[]),
                PageChange::Protect(access) => {
                    if let Some(entry) = self.pages.get_mut(&page) {
                        entry.0 = access;
                    }
                }
            }
        }
    }

    /// Reads a range if every octet is readable.
    pub fn read(&self, address: u64, len: u64) -> Option<Vec<u8>> {
        if !covers(address, len, false, |p| self.access(p)) {
            return None;
        }
        let mut out = Vec::with_capacity(usize::try_from(len).ok()?);
        let mut a = address;
        while a < address + len {
            let page = u32::try_from(a / PAGE_SIZE).ok()?;
            let offset = usize::try_from(a % PAGE_SIZE).ok()?;
            let take = usize::try_from((PAGE_SIZE - a % PAGE_SIZE).min(address + len - a)).ok()?;
            out.extend_from_slice(&self.pages.get(&page)?.1[offset..offset + take]);
            a += take as u64;
        }
        Some(out)
    }

    /// Writes a range if every octet is writable.
    pub fn write(&mut self, address: u64, data: &[u8]) -> bool {
        if !covers(address, data.len() as u64, true, |p| self.access(p)) {
            return false;
        }
        let mut done = 0usize;
        while done < data.len() {
            let a = address + done as u64;
            let (Ok(page), Ok(offset)) =
                (u32::try_from(a / PAGE_SIZE), usize::try_from(a % PAGE_SIZE))
            else {
                return false;
            };
            let take = (PAGE_BYTES - offset).min(data.len() - done);
            let Some(entry) = self.pages.get_mut(&page) else {
                return false;
            };
            entry.1[offset..offset + take].copy_from_slice(&data[done..done + take]);
            done += take;
        }
        true
    }
}

/// What `pages` (GP B.8, `Ω_Z`) does to each page of its range, once its
/// checks have passed ([`apply_pages`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageChange {
    /// Mode 0: inaccessible (and its contents gone).
    Inaccessible,
    /// Modes 1 (`R`) and 2 (`W`): accessible and zero.
    Zeroed(Access),
    /// Modes 3 (`R`) and 4 (`W`): an accessible page's new access, its
    /// contents kept.
    Protect(Access),
}

impl PageChange {
    /// The change of `pages` mode `r`, `None` for a mode above 4.
    pub fn from_mode(r: u64) -> Option<Self> {
        Some(match r {
            0 => PageChange::Inaccessible,
            1 => PageChange::Zeroed(Access::Read),
            2 => PageChange::Zeroed(Access::Write),
            3 => PageChange::Protect(Access::Read),
            4 => PageChange::Protect(Access::Write),
            _ => return None,
        })
    }
}

/// How an inner run ended (`c` of `Ψ`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InnerExit {
    /// `∎`.
    Halt,
    /// `☇`.
    Panic,
    /// `∞`.
    OutOfGas,
    /// `F × x`: page fault at `x`.
    Fault(u64),
    /// `h̵ × h`: host call `h`.
    Host(u64),
}

/// The result of running an inner machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InnerRun {
    /// How it stopped.
    pub exit: InnerExit,
    /// Where it resumes: after the `ecalli` for a host call, zero after a
    /// halt or a panic, else the instruction it stopped at (GP B.8,
    /// `invoke`; eq. A.1).
    pub pc: u64,
    /// Gas left.
    pub gas: i64,
    /// Registers.
    pub regs: [u64; 13],
}

/// One inner machine `(p, u, i)` of the refine context `m` (GP eq. B.5:
/// code, RAM and pc), for its whole life, from `machine` to `expunge` (or
/// the end of refine). `peek`, `poke` and `pages` work on its RAM between
/// runs and `invoke` runs `Ψ` (GP eq. A.1) on it.
///
/// An implementation keeps the GP's access rules: the pages below
/// [`FIRST_USABLE_PAGE`] are never accessible (the refine host calls check
/// that before calling [`InnerVm::change_pages`]), reads need readable and
/// writes writable pages, and a failure of its engine is an
/// [`InnerFailure`]: not an outcome of the paper, so the `invoke` host call
/// aborts the whole run ([`crate::Control::Abort`]).
pub trait InnerVm {
    /// `i`: where the next run starts.
    fn pc(&self) -> u64;
    /// The access of a page of its RAM, `None` if inaccessible.
    fn access(&self, page: u32) -> Option<Access>;
    /// `len` octets at `address`, if every one is readable (`peek`).
    fn read(&mut self, address: u64, len: u64) -> Option<Vec<u8>>;
    /// Writes `data` at `address` if every octet is writable (`poke`);
    /// whether it did.
    fn write(&mut self, address: u64, data: &[u8]) -> bool;
    /// Applies `change` to `count` pages from `first` (checked already: see
    /// [`apply_pages`]).
    fn change_pages(&mut self, first: u32, count: u32, change: PageChange);
    /// `Ψ` from [`InnerVm::pc`] with `gas` and `regs` on its RAM; the pc
    /// becomes [`InnerRun::pc`]. A resumed machine pays one gas per
    /// instruction it runs (GP 0.7.x `ϱ_Δ = 1`), also across a host call in
    /// the middle of a basic block.
    fn invoke(&mut self, gas: i64, regs: [u64; 13]) -> Result<InnerRun, InnerFailure>;
}

/// An inner machine's engine failed: a failure of the node, not an outcome
/// of the paper (the `invoke` host call then aborts the run, and refine
/// reports no work result).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("inner machine engine: {0}")]
pub struct InnerFailure(pub String);

/// Makes inner machines: the engine behind the refine host calls `machine`
/// … `expunge` (GP B.8).
pub trait InnerRunner {
    /// Its inner machines.
    type Vm: InnerVm;
    /// A new machine of the code blob `code` (GP `deblob` format) at `pc`,
    /// all its RAM inaccessible; `None` if `deblob(code) = ∇` (GP eq. A.2).
    fn machine(&mut self, code: &[u8], pc: u64) -> Option<Self::Vm>;
}

/// `pages` (GP B.8, `Ω_Z`) with mode `r` on `c` pages from `p` of `vm`,
/// after the GP's checks; `false` (`HUH`) for a mode above 4, a page below
/// [`FIRST_USABLE_PAGE`] or beyond the 32-bit space, or, for modes 3 and
/// 4, a page that is not accessible.
pub fn apply_pages(vm: &mut impl InnerVm, p: u64, c: u64, r: u64) -> bool {
    let Some(change) = PageChange::from_mode(r) else {
        return false;
    };
    let in_range = p.checked_add(c).is_some_and(|end| end < PAGES_IN_SPACE);
    if p < FIRST_USABLE_PAGE || !in_range {
        return false;
    }
    // In range: p + c < 2^20, so both fit in u32.
    let (Ok(first), Ok(count)) = (u32::try_from(p), u32::try_from(c)) else {
        return false;
    };
    if matches!(change, PageChange::Protect(_))
        && (first..first + count).any(|page| vm.access(page).is_none())
    {
        return false;
    }
    vm.change_pages(first, count, change);
    true
}

/// The refine context `(m, e)`.
#[derive(Debug, Clone)]
pub struct RefineContext<V> {
    /// `m`: inner machines by id.
    pub machines: BTreeMap<u64, V>,
    /// `e`: exported segments.
    pub exports: Vec<Vec<u8>>,
    /// Why the run was aborted ([`Control::Abort`]), if it was.
    pub failure: Option<InnerFailure>,
}

impl<V> Default for RefineContext<V> {
    fn default() -> Self {
        Self {
            machines: BTreeMap::new(),
            exports: Vec::new(),
            failure: None,
        }
    }
}

/// `Λ(a, t, h)`: the historical lookup (GP eq. 9.7): the preimage if it was
/// available at time `t`.
pub fn historical_preimage<'a>(
    account: &'a ServiceAccount,
    t: TimeSlot,
    hash: &OpaqueHash,
) -> Option<&'a [u8]> {
    let preimage = account.preimage(hash)?;
    let length = u32::try_from(preimage.len()).ok()?;
    let slots = account.request(hash, length)?;
    let available = match slots.as_slice() {
        [x] => *x <= t,
        [x, y] => *x <= t && t < *y,
        [x, y, z] => (*x <= t && t < *y) || *z <= t,
        _ => false,
    };
    available.then_some(preimage)
}

/// `historical_lookup = 6` (GP B.8, `Ω_H`): a preimage of service `s` (or
/// `ω7`) as it was at the lookup-anchor time `t`.
pub fn historical_lookup(
    machine: &mut impl Machine,
    own: ServiceId,
    accounts: &impl Accounts,
    anchor_slot: TimeSlot,
) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let account = crate::general::named_account(accounts, own, machine.reg(7));
    let (hash_at, out_at) = (machine.reg(8), machine.reg(9));
    let Some(hash) = machine.read(hash_at, 32) else {
        return Control::Panic;
    };
    let hash = OpaqueHash::try_from(hash.as_slice()).unwrap_or_default();
    let v = account.and_then(|a| historical_preimage(a, anchor_slot, &hash));
    crate::general::output(machine, v, out_at, 10, 11)
}

/// `export = 7` (GP B.8, `Ω_E`): appends a zero-padded segment of `ω8`
/// octets (at most `W_G`) from `ω7`; `ω7` = its index `ς + |e|`, or `FULL`.
pub fn export<V>(
    machine: &mut impl Machine,
    ctx: &mut RefineContext<V>,
    segment_offset: u64,
    segment_size: u64,
    max_exports: u64,
) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let (p, z) = (machine.reg(7), machine.reg(8).min(segment_size));
    let Some(mut segment) = machine.read(p, z) else {
        return Control::Panic;
    };
    let index = segment_offset.saturating_add(ctx.exports.len() as u64);
    if index >= max_exports {
        machine.set_reg(7, codes::FULL);
        return Control::Continue;
    }
    segment.resize(usize::try_from(segment_size).unwrap_or(0), 0);
    ctx.exports.push(segment);
    machine.set_reg(7, index);
    Control::Continue
}

/// `machine = 8` (GP B.8, `Ω_M`): a new inner machine from the code blob at
/// `[ω7, ω7+ω8)` starting at `ω9`, with no accessible RAM; `ω7` = its id
/// (the least unused), or `HUH` for an invalid blob.
pub fn new_machine<R: InnerRunner>(
    machine: &mut impl Machine,
    ctx: &mut RefineContext<R::Vm>,
    runner: &mut R,
) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let (po, pz, pc) = (machine.reg(7), machine.reg(8), machine.reg(9));
    let Some(code) = machine.read(po, pz) else {
        return Control::Panic;
    };
    let Some(vm) = runner.machine(&code, pc) else {
        machine.set_reg(7, codes::HUH);
        return Control::Continue;
    };
    // The least id not in use: at most |m| ids are taken.
    let id = (0..=ctx.machines.len() as u64)
        .find(|n| !ctx.machines.contains_key(n))
        .unwrap_or(0);
    ctx.machines.insert(id, vm);
    machine.set_reg(7, id);
    Control::Continue
}

/// `peek = 9` (GP B.8, `Ω_P`): copies `ω10` octets from inner machine `ω7`
/// at `ω9` to `ω8`.
pub fn peek<V: InnerVm>(machine: &mut impl Machine, ctx: &mut RefineContext<V>) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let (n, o, s, z) = (
        machine.reg(7),
        machine.reg(8),
        machine.reg(9),
        machine.reg(10),
    );
    if !machine.is_writable(o, z) {
        return Control::Panic;
    }
    let Some(inner) = ctx.machines.get_mut(&n) else {
        machine.set_reg(7, codes::WHO);
        return Control::Continue;
    };
    match inner.read(s, z) {
        None => machine.set_reg(7, codes::OOB),
        Some(data) => {
            if !machine.write(o, &data) {
                return Control::Panic;
            }
            machine.set_reg(7, codes::OK);
        }
    }
    Control::Continue
}

/// `poke = 10` (GP B.8, `Ω_O`): copies `ω10` octets from `ω8` into inner
/// machine `ω7` at `ω9`.
pub fn poke<V: InnerVm>(machine: &mut impl Machine, ctx: &mut RefineContext<V>) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let (n, s, o, z) = (
        machine.reg(7),
        machine.reg(8),
        machine.reg(9),
        machine.reg(10),
    );
    let Some(data) = machine.read(s, z) else {
        return Control::Panic;
    };
    let Some(inner) = ctx.machines.get_mut(&n) else {
        machine.set_reg(7, codes::WHO);
        return Control::Continue;
    };
    let result = if inner.write(o, &data) {
        codes::OK
    } else {
        codes::OOB
    };
    machine.set_reg(7, result);
    Control::Continue
}

/// `pages = 11` (GP B.8, `Ω_Z`): sets the access of `ω9` pages from page
/// `ω8` of inner machine `ω7` by mode `ω10` (0 none, 1 read, 2 write,
/// zeroing; 3 read, 4 write, keeping contents of already accessible pages).
pub fn pages<V: InnerVm>(machine: &mut impl Machine, ctx: &mut RefineContext<V>) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let (n, p, c, r) = (
        machine.reg(7),
        machine.reg(8),
        machine.reg(9),
        machine.reg(10),
    );
    let Some(inner) = ctx.machines.get_mut(&n) else {
        machine.set_reg(7, codes::WHO);
        return Control::Continue;
    };
    let result = if apply_pages(inner, p, c, r) {
        codes::OK
    } else {
        codes::HUH
    };
    machine.set_reg(7, result);
    Control::Continue
}

/// `invoke = 12` (GP B.8, `Ω_K`): runs inner machine `ω7` with the gas and
/// registers at `[ω8, ω8+112)` (`E_8(g) ⌢ E_8(w)`), writes them back, and
/// reports the exit in `ω7` (and the host-call index or fault address in `ω8`).
pub fn invoke<V: InnerVm>(machine: &mut impl Machine, ctx: &mut RefineContext<V>) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let (n, o) = (machine.reg(7), machine.reg(8));
    if !machine.is_writable(o, 112) {
        return Control::Panic;
    }
    let Some(args) = machine.read(o, 112) else {
        return Control::Panic;
    };
    let Some(inner) = ctx.machines.get_mut(&n) else {
        machine.set_reg(7, codes::WHO);
        return Control::Continue;
    };
    let word = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&args[i * 8..i * 8 + 8]);
        u64::from_le_bytes(b)
    };
    let gas = i64::try_from(word(0)).unwrap_or(i64::MAX);
    let regs: [u64; 13] = std::array::from_fn(|i| word(i + 1));
    let run = match inner.invoke(gas, regs) {
        Ok(run) => run,
        Err(failure) => {
            ctx.failure = Some(failure);
            return Control::Abort;
        }
    };
    let mut out = Vec::with_capacity(112);
    out.extend(u64::try_from(run.gas).unwrap_or(0).to_le_bytes());
    for r in run.regs {
        out.extend(r.to_le_bytes());
    }
    if !machine.write(o, &out) {
        return Control::Panic;
    }
    let (code, w8) = match run.exit {
        InnerExit::Host(h) => (codes::HOST, Some(h)),
        InnerExit::Fault(x) => (codes::FAULT, Some(x)),
        InnerExit::OutOfGas => (codes::OOG, None),
        InnerExit::Panic => (codes::PANIC, None),
        InnerExit::Halt => (codes::HALT, None),
    };
    machine.set_reg(7, code);
    if let Some(w8) = w8 {
        machine.set_reg(8, w8);
    }
    Control::Continue
}

/// `expunge = 13` (GP B.8, `Ω_X`): removes inner machine `ω7`; `ω7` = its pc.
pub fn expunge<V: InnerVm>(machine: &mut impl Machine, ctx: &mut RefineContext<V>) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let n = machine.reg(7);
    // Dropping the machine frees its engine instance.
    let result = ctx.machines.remove(&n).map_or(codes::WHO, |m| m.pc());
    machine.set_reg(7, result);
    Control::Continue
}

/// What a refine invocation's host calls read besides `(m, e)` (GP B.4):
/// the service being refined and the accounts as of the lookup anchor, the
/// anchor's slot, the export offset `ς`, and what `fetch` sees.
#[derive(Clone, Copy)]
pub struct RefineEnv<'a, A: Accounts> {
    /// `w_s`: the work item's service.
    pub service: ServiceId,
    /// `δ`: the accounts `historical_lookup` reads.
    pub accounts: &'a A,
    /// `(p_c)_t`: the lookup anchor's slot.
    pub anchor_slot: TimeSlot,
    /// `ς`: the index of this item's first export in the package.
    pub segment_offset: u64,
    /// The protocol parameters (`W_G`, `W_X`).
    pub params: &'a ProtocolParameters,
    /// What `fetch` returns (the package, authorizer trace, imports, …).
    pub fetch: &'a FetchContext<'a>,
}

impl<A: Accounts> std::fmt::Debug for RefineEnv<'_, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefineEnv")
            .field("service", &self.service)
            .field("anchor_slot", &self.anchor_slot)
            .field("segment_offset", &self.segment_offset)
            .finish_non_exhaustive()
    }
}

/// `F` of `Ψ_R` (GP B.4, the refine invocation): refine host call
/// `ecalli index`. An unknown index, or one of the accumulate functions,
/// costs 10 gas and answers `WHAT`; JIP-1 `log` returns its entry.
pub fn dispatch<A: Accounts, R: InnerRunner>(
    machine: &mut impl Machine,
    flavor: PvmFlavor,
    index: u32,
    ctx: &mut RefineContext<R::Vm>,
    env: &RefineEnv<'_, A>,
    runner: &mut R,
) -> (Control, Option<LogEntry>) {
    let control = match HostCall::from_index(flavor, index) {
        Some(HostCall::Gas) => crate::general::gas(machine),
        Some(HostCall::Fetch) => crate::general::fetch(machine, env.fetch),
        Some(HostCall::HistoricalLookup) => {
            historical_lookup(machine, env.service, env.accounts, env.anchor_slot)
        }
        Some(HostCall::Export) => export(
            machine,
            ctx,
            env.segment_offset,
            u64::from(env.params.segment_size),
            u64::from(env.params.max_package_exports),
        ),
        Some(HostCall::Machine) => new_machine(machine, ctx, runner),
        Some(HostCall::Peek) => peek(machine, ctx),
        Some(HostCall::Poke) => poke(machine, ctx),
        Some(HostCall::Pages) => pages(machine, ctx),
        Some(HostCall::Invoke) => invoke(machine, ctx),
        Some(HostCall::Expunge) => expunge(machine, ctx),
        Some(HostCall::Log) => return crate::general::log(machine),
        _ => crate::unknown(machine),
    };
    (control, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestMachine;

    const RW: u64 = 0x2_0000;

    fn machine() -> TestMachine {
        let mut m = TestMachine::new(10_000);
        m.map(RW, 4, true);
        m
    }

    /// A runner whose machines "execute" by writing ω7 into inner memory
    /// at ω8 and halting, or report a host call when ω7 = 0xcafe, or fail
    /// (their engine, not the guest) when ω7 = 0xdead.
    struct FakeRunner;
    struct FakeVm {
        ram: InnerRam,
        pc: u64,
    }
    impl InnerRunner for FakeRunner {
        type Vm = FakeVm;
        fn machine(&mut self, code: &[u8], pc: u64) -> Option<FakeVm> {
            (code.first() == Some(&0)).then(|| FakeVm {
                ram: InnerRam::default(),
                pc,
            })
        }
    }
    impl InnerVm for FakeVm {
        fn pc(&self) -> u64 {
            self.pc
        }
        fn access(&self, page: u32) -> Option<Access> {
            self.ram.access(page)
        }
        fn read(&mut self, address: u64, len: u64) -> Option<Vec<u8>> {
            self.ram.read(address, len)
        }
        fn write(&mut self, address: u64, data: &[u8]) -> bool {
            self.ram.write(address, data)
        }
        fn change_pages(&mut self, first: u32, count: u32, change: PageChange) {
            self.ram.change_pages(first, count, change);
        }
        fn invoke(&mut self, gas: i64, mut regs: [u64; 13]) -> Result<InnerRun, InnerFailure> {
            if regs[7] == 0xdead {
                return Err(InnerFailure("the engine is gone".into()));
            }
            if regs[7] == 0xcafe {
                self.pc += 2;
                return Ok(InnerRun {
                    exit: InnerExit::Host(3),
                    pc: self.pc,
                    gas: gas - 1,
                    regs,
                });
            }
            let exit = if self.ram.write(regs[8], &regs[7].to_le_bytes()) {
                InnerExit::Halt
            } else {
                InnerExit::Fault(regs[8])
            };
            regs[0] = 1;
            Ok(InnerRun {
                exit,
                pc: self.pc,
                gas: gas - 5,
                regs,
            })
        }
    }

    fn with_inner() -> (TestMachine, RefineContext<FakeVm>) {
        let mut m = machine();
        let mut ctx = RefineContext::default();
        m.write(RW, &[0, 1, 2]);
        (m.regs[7], m.regs[8], m.regs[9]) = (RW, 3, 5);
        assert_eq!(
            new_machine(&mut m, &mut ctx, &mut FakeRunner),
            Control::Continue
        );
        assert_eq!(m.regs[7], 0, "first machine gets id 0");
        (m, ctx)
    }

    #[test]
    fn machine_ids_reuse_the_least_free_and_reject_bad_code() {
        let (mut m, mut ctx) = with_inner();
        (m.regs[7], m.regs[8]) = (RW, 3);
        new_machine(&mut m, &mut ctx, &mut FakeRunner);
        assert_eq!(m.regs[7], 1);
        m.regs[7] = 0;
        assert_eq!(expunge(&mut m, &mut ctx), Control::Continue);
        assert_eq!(m.regs[7], 5, "expunge returns the pc");
        (m.regs[7], m.regs[8]) = (RW, 3);
        new_machine(&mut m, &mut ctx, &mut FakeRunner);
        assert_eq!(m.regs[7], 0);
        m.write(RW, &[9]);
        (m.regs[7], m.regs[8]) = (RW, 3);
        new_machine(&mut m, &mut ctx, &mut FakeRunner);
        assert_eq!(m.regs[7], codes::HUH);
        m.regs[7] = 42;
        expunge(&mut m, &mut ctx);
        assert_eq!(m.regs[7], codes::WHO);
    }

    #[test]
    fn pages_poke_peek() {
        let (mut m, mut ctx) = with_inner();
        // Poke into inaccessible inner memory: OOB.
        m.write(RW + 100, b"data");
        (m.regs[7], m.regs[8], m.regs[9], m.regs[10]) = (0, RW + 100, 16 * 4096, 4);
        poke(&mut m, &mut ctx);
        assert_eq!(m.regs[7], codes::OOB);
        // Make pages 16..18 writable, poke across the boundary, peek back.
        (m.regs[7], m.regs[8], m.regs[9], m.regs[10]) = (0, 16, 2, 2);
        pages(&mut m, &mut ctx);
        assert_eq!(m.regs[7], codes::OK);
        (m.regs[7], m.regs[8], m.regs[9], m.regs[10]) = (0, RW + 100, 17 * 4096 - 2, 4);
        poke(&mut m, &mut ctx);
        assert_eq!(m.regs[7], codes::OK);
        (m.regs[7], m.regs[8], m.regs[9], m.regs[10]) = (0, RW + 200, 17 * 4096 - 2, 4);
        peek(&mut m, &mut ctx);
        assert_eq!(
            (m.regs[7], m.read(RW + 200, 4)),
            (codes::OK, Some(b"data".to_vec()))
        );
        // Mode 3 keeps contents but makes them read-only: poke fails, peek works.
        (m.regs[7], m.regs[8], m.regs[9], m.regs[10]) = (0, 16, 2, 3);
        pages(&mut m, &mut ctx);
        (m.regs[7], m.regs[8], m.regs[9], m.regs[10]) = (0, RW + 100, 17 * 4096 - 2, 4);
        poke(&mut m, &mut ctx);
        assert_eq!(m.regs[7], codes::OOB);
        // Mode 1 zeroes.
        (m.regs[7], m.regs[8], m.regs[9], m.regs[10]) = (0, 16, 2, 1);
        pages(&mut m, &mut ctx);
        (m.regs[7], m.regs[8], m.regs[9], m.regs[10]) = (0, RW + 200, 17 * 4096 - 2, 4);
        peek(&mut m, &mut ctx);
        assert_eq!(m.read(RW + 200, 4), Some(vec![0; 4]));
        // Invalid requests.
        for (p, c, r) in [(15, 1, 1), (16, 1, 5), ((1 << 20) - 1, 1, 1), (100, 1, 3)] {
            (m.regs[7], m.regs[8], m.regs[9], m.regs[10]) = (0, p, c, r);
            pages(&mut m, &mut ctx);
            assert_eq!(m.regs[7], codes::HUH, "pages({p}, {c}, {r})");
        }
        (m.regs[7], m.regs[8], m.regs[9], m.regs[10]) = (9, 16, 1, 1);
        pages(&mut m, &mut ctx);
        assert_eq!(m.regs[7], codes::WHO);
        // Peek to an unwritable destination panics.
        (m.regs[7], m.regs[8], m.regs[9], m.regs[10]) = (0, 0x9_0000, 16 * 4096, 4);
        assert_eq!(peek(&mut m, &mut ctx), Control::Panic);
    }

    #[test]
    fn an_engine_failure_aborts_the_run_instead_of_inventing_an_outcome() {
        let (mut m, mut ctx) = with_inner();
        (m.regs[7], m.regs[8], m.regs[9], m.regs[10]) = (0, 16, 1, 2);
        pages(&mut m, &mut ctx);
        let mut args = vec![0u8; 112];
        args[..8].copy_from_slice(&100u64.to_le_bytes());
        args[8 * 8..9 * 8].copy_from_slice(&0xdeadu64.to_le_bytes());
        m.write(RW + 512, &args);
        (m.regs[7], m.regs[8]) = (0, RW + 512);
        let gas = m.gas;
        assert_eq!(invoke(&mut m, &mut ctx), Control::Abort);
        assert_eq!(
            ctx.failure,
            Some(InnerFailure("the engine is gone".into())),
            "the reason is kept for the caller"
        );
        assert_eq!(m.regs[7], 0, "no result code written");
        assert_eq!(m.read(RW + 512, 112), Some(args), "no result block written");
        assert_eq!(m.gas, gas - 10, "only the base cost charged");
        assert_eq!(
            crate::pvm::action(Control::Abort),
            parajam_pvm::HostCallAction::Abort
        );
    }

    #[test]
    fn invoke_runs_and_reports_exits() {
        let (mut m, mut ctx) = with_inner();
        (m.regs[7], m.regs[8], m.regs[9], m.regs[10]) = (0, 16, 1, 2);
        pages(&mut m, &mut ctx);
        // gas 100, ω7 = 0x1234 to store at inner 16·4096.
        let mut args = vec![0u8; 112];
        args[..8].copy_from_slice(&100u64.to_le_bytes());
        args[8 * 8..9 * 8].copy_from_slice(&0x1234u64.to_le_bytes());
        args[9 * 8..10 * 8].copy_from_slice(&(16u64 * 4096).to_le_bytes());
        m.write(RW + 512, &args);
        (m.regs[7], m.regs[8]) = (0, RW + 512);
        assert_eq!(invoke(&mut m, &mut ctx), Control::Continue);
        assert_eq!(m.regs[7], codes::HALT);
        let back = m.read(RW + 512, 16).expect("written back");
        assert_eq!(u64::from_le_bytes(back[..8].try_into().expect("8")), 95);
        assert_eq!(
            u64::from_le_bytes(back[8..].try_into().expect("8")),
            1,
            "ω0 from the run"
        );
        assert_eq!(
            ctx.machines
                .get_mut(&0)
                .expect("machine 0")
                .read(16 * 4096, 2),
            Some(vec![0x34, 0x12])
        );
        // A host call: HOST in ω7, its index in ω8, pc advanced.
        args[8 * 8..9 * 8].copy_from_slice(&0xcafeu64.to_le_bytes());
        m.write(RW + 512, &args);
        (m.regs[7], m.regs[8]) = (0, RW + 512);
        invoke(&mut m, &mut ctx);
        assert_eq!(
            (m.regs[7], m.regs[8], ctx.machines[&0].pc()),
            (codes::HOST, 3, 7)
        );
        // A fault: FAULT and the address.
        args[8 * 8..9 * 8].copy_from_slice(&1u64.to_le_bytes());
        args[9 * 8..10 * 8].copy_from_slice(&(40u64 * 4096).to_le_bytes());
        m.write(RW + 512, &args);
        (m.regs[7], m.regs[8]) = (0, RW + 512);
        invoke(&mut m, &mut ctx);
        assert_eq!((m.regs[7], m.regs[8]), (codes::FAULT, 40 * 4096));
        // Unknown machine; unwritable argument block.
        (m.regs[7], m.regs[8]) = (5, RW + 512);
        invoke(&mut m, &mut ctx);
        assert_eq!(m.regs[7], codes::WHO);
        (m.regs[7], m.regs[8]) = (0, 0x9_0000);
        assert_eq!(invoke(&mut m, &mut ctx), Control::Panic);
    }

    #[test]
    fn dispatch_routes_refine_calls_and_refuses_the_others() {
        let params = ProtocolParameters::TINY;
        let fetch = FetchContext::constants_only(&params);
        let accounts: BTreeMap<ServiceId, ServiceAccount> = BTreeMap::new();
        let env = RefineEnv {
            service: 1,
            accounts: &accounts,
            anchor_slot: 0,
            segment_offset: 0,
            params: &params,
            fetch: &fetch,
        };
        let n = PvmFlavor::Gp072;
        let index = |c: HostCall| c.index(n);
        // export (7) lands in `e`.
        let mut m = machine();
        let mut ctx = RefineContext::default();
        m.write(RW, b"seg");
        (m.regs[7], m.regs[8]) = (RW, 3);
        let (control, _) = dispatch(
            &mut m,
            n,
            index(HostCall::Export),
            &mut ctx,
            &env,
            &mut FakeRunner,
        );
        assert_eq!(
            (control, m.regs[7], ctx.exports.len()),
            (Control::Continue, 0, 1)
        );
        // machine (8) makes an inner machine.
        m.write(RW, &[0, 1, 2]);
        (m.regs[7], m.regs[8], m.regs[9]) = (RW, 3, 5);
        dispatch(
            &mut m,
            n,
            index(HostCall::Machine),
            &mut ctx,
            &env,
            &mut FakeRunner,
        );
        assert_eq!((m.regs[7], ctx.machines.len()), (0, 1));
        // Accumulate-only calls and unknown indices: WHAT for 10 gas.
        for call in [
            HostCall::Bless,
            HostCall::Write,
            HostCall::Read,
            HostCall::Transfer,
        ] {
            let gas = m.gas;
            let (control, _) = dispatch(&mut m, n, index(call), &mut ctx, &env, &mut FakeRunner);
            assert_eq!(
                (control, m.regs[7], gas - m.gas),
                (Control::Continue, codes::WHAT, 10),
                "{call:?}"
            );
        }
        let (_, _) = dispatch(&mut m, n, 99, &mut ctx, &env, &mut FakeRunner);
        assert_eq!(m.regs[7], codes::WHAT);
        // gas (0) reports the counter.
        dispatch(
            &mut m,
            n,
            index(HostCall::Gas),
            &mut ctx,
            &env,
            &mut FakeRunner,
        );
        assert_eq!(m.regs[7], u64::try_from(m.gas).expect("gas left"));
    }

    #[test]
    fn export_pads_counts_and_fills_up() {
        let mut m = machine();
        let mut ctx = RefineContext::<FakeVm>::default();
        m.write(RW, b"seg");
        (m.regs[7], m.regs[8]) = (RW, 3);
        export(&mut m, &mut ctx, 10, 4104, 12);
        assert_eq!((m.regs[7], ctx.exports[0].len()), (10, 4104));
        assert_eq!(&ctx.exports[0][..4], b"seg\0");
        (m.regs[7], m.regs[8]) = (RW, 1 << 40); // z clamps to W_G
        export(&mut m, &mut ctx, 10, 4104, 12);
        assert_eq!(m.regs[7], 11);
        (m.regs[7], m.regs[8]) = (RW, 3);
        export(&mut m, &mut ctx, 10, 4104, 12);
        assert_eq!((m.regs[7], ctx.exports.len()), (codes::FULL, 2));
        (m.regs[7], m.regs[8]) = (0x9_0000, 3);
        assert_eq!(export(&mut m, &mut ctx, 0, 4104, 12), Control::Panic);
    }

    #[test]
    fn historical_lookup_follows_availability() {
        let hash = OpaqueHash::from([3; 32]);
        let mut account = ServiceAccount::default();
        account.set_preimage(&hash, Some(b"abc".to_vec()));
        account.set_request(&hash, 3, Some(&[10, 20, 30]));
        for (t, available) in [
            (5, false),
            (10, true),
            (19, true),
            (20, false),
            (29, false),
            (30, true),
        ] {
            assert_eq!(
                historical_preimage(&account, t, &hash).is_some(),
                available,
                "t = {t}"
            );
        }
        let accounts = BTreeMap::from([(1u32, account)]);
        let mut m = machine();
        m.write(RW, &[3; 32]);
        (m.regs[7], m.regs[8], m.regs[9], m.regs[11]) = (u64::MAX, RW, RW + 64, 3);
        historical_lookup(&mut m, 1, &accounts, 15);
        assert_eq!((m.regs[7], m.read(RW + 64, 3)), (3, Some(b"abc".to_vec())));
        (m.regs[7], m.regs[8]) = (u64::MAX, RW);
        historical_lookup(&mut m, 1, &accounts, 25);
        assert_eq!(m.regs[7], codes::NONE);
    }
}
