//! The general host-call functions (GP 0.7.2 appendix B.7), shared by the
//! is-authorized, refine and accumulate invocations, and JIP-1 `log`.
//!
//! Each function charges its gas first (out of gas if `ϱ < g`), then reads
//! its arguments from `ω7…ω12` and memory. A memory range the paper requires
//! to be readable or writable that is not makes the machine panic; results
//! go to `ω7` and to memory exactly as the paper's cases say.

use jam_codec::{Compact, Encode};
use parajam_primitives::types::{OpaqueHash, ServiceAccount, ServiceId, WorkItem, WorkPackage};
use parajam_primitives::ProtocolParameters;

use crate::{charged, codes, Control, Machine};

/// Read access to service accounts (`s` and `d` of the paper).
pub trait Accounts {
    /// The account of service `id`, if it exists.
    fn account(&self, id: ServiceId) -> Option<&ServiceAccount>;
}

impl Accounts for std::collections::BTreeMap<ServiceId, ServiceAccount> {
    fn account(&self, id: ServiceId) -> Option<&ServiceAccount> {
        self.get(&id)
    }
}

/// The common tail of `fetch`, `lookup`, `read` and `info`: with
/// `f = min(ω[f_reg], |v|)` and `l = min(ω[l_reg], |v| − f)`, panic if
/// `[o, o + l)` is not writable, else `ω7 = NONE` when `v = ∅`, or write
/// `v[f..f+l]` at `o` and set `ω7 = |v|`.
pub(crate) fn output(
    machine: &mut impl Machine,
    v: Option<&[u8]>,
    o: u64,
    f_reg: usize,
    l_reg: usize,
) -> Control {
    let len = v.map_or(0, <[u8]>::len);
    let f = usize::try_from(machine.reg(f_reg))
        .unwrap_or(usize::MAX)
        .min(len);
    let l = usize::try_from(machine.reg(l_reg))
        .unwrap_or(usize::MAX)
        .min(len - f);
    if !machine.is_writable(o, l as u64) {
        return Control::Panic;
    }
    match v {
        None => machine.set_reg(7, codes::NONE),
        Some(v) => {
            if !machine.write(o, &v[f..f + l]) {
                return Control::Panic;
            }
            machine.set_reg(7, len as u64);
        }
    }
    Control::Continue
}

/// `gas = 0`: `ω7 = ϱ'` (GP B.7, `Ω_G`).
pub fn gas(machine: &mut impl Machine) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    // ϱ' ≥ 0 here: the charge succeeded.
    machine.set_reg(7, u64::try_from(machine.gas()).unwrap_or(0));
    Control::Continue
}

/// What `fetch` can see; each invocation kind supplies its part (`∅` = `None`).
#[derive(Debug, Clone, Copy)]
pub struct FetchContext<'a> {
    /// The protocol parameters, for the constants blob (`ω10 = 0`).
    pub params: &'a ProtocolParameters,
    /// `p`: the work package (is-authorized, refine).
    pub package: Option<&'a WorkPackage>,
    /// `n`: the entropy (accumulate: `η'_0`; refine: the zero hash).
    pub entropy: Option<&'a OpaqueHash>,
    /// `r`: the authorizer trace (refine).
    pub auth_trace: Option<&'a [u8]>,
    /// `i`: the index of the work item being refined.
    pub item_index: Option<usize>,
    /// `ī`: imported segments per work item (refine).
    pub imports: Option<&'a [Vec<Vec<u8>>]>,
    /// `x̄`: extrinsic blobs per work item (refine).
    pub extrinsics: Option<&'a [Vec<Vec<u8>>]>,
    /// `i`: the accumulation inputs, each already encoded (`E(i)`, GP C.32 – C.33).
    pub inputs: Option<&'a [Vec<u8>]>,
}

impl<'a> FetchContext<'a> {
    /// A context that sees only the constants.
    pub fn constants_only(params: &'a ProtocolParameters) -> Self {
        Self {
            params,
            package: None,
            entropy: None,
            auth_trace: None,
            item_index: None,
            imports: None,
            extrinsics: None,
            inputs: None,
        }
    }
}

/// The protocol-constants blob `c` of `fetch` with `ω10 = 0` (GP B.7).
pub fn constants_blob(p: &ProtocolParameters) -> Vec<u8> {
    let mut c = Vec::with_capacity(134);
    let u16s = |v: u16| v.to_le_bytes();
    c.extend(p.deposit_per_item.to_le_bytes());
    c.extend(p.deposit_per_octet.to_le_bytes());
    c.extend(p.deposit_per_service.to_le_bytes());
    c.extend(u16s(p.core_count));
    c.extend(p.preimage_expunge_period.to_le_bytes());
    c.extend(p.epoch_length.to_le_bytes());
    c.extend(p.gas_accumulate_report.to_le_bytes());
    c.extend(p.gas_is_authorized.to_le_bytes());
    c.extend(p.gas_refine.to_le_bytes());
    c.extend(p.gas_total_accumulation.to_le_bytes());
    c.extend(u16s(p.recent_history_size));
    c.extend(u16s(p.max_work_items));
    c.extend(u16s(p.max_report_dependencies));
    c.extend(u16s(u16::from(p.max_tickets_per_block)));
    c.extend(p.max_lookup_anchor_age.to_le_bytes());
    c.extend(u16s(u16::from(p.tickets_per_validator)));
    c.extend(u16s(p.auth_pool_max_size));
    c.extend(u16s(u16::try_from(p.slot_period_secs).unwrap_or(u16::MAX)));
    c.extend(u16s(p.auth_queue_size));
    c.extend(u16s(p.rotation_period));
    c.extend(u16s(p.max_package_extrinsics));
    c.extend(u16s(
        u16::try_from(p.assurance_timeout_period).unwrap_or(u16::MAX),
    ));
    c.extend(u16s(p.validators_count));
    c.extend(p.max_authorizer_code_size.to_le_bytes());
    c.extend(p.max_bundle_size.to_le_bytes());
    c.extend(p.max_service_code_size.to_le_bytes());
    c.extend(p.erasure_piece_size.to_le_bytes());
    c.extend(u32::from(p.max_package_imports).to_le_bytes());
    c.extend(p.erasure_pieces_per_segment.to_le_bytes());
    c.extend(p.max_report_output_size.to_le_bytes());
    c.extend(p.transfer_memo_size.to_le_bytes());
    c.extend(u32::from(p.max_package_exports).to_le_bytes());
    c.extend(p.ticket_submission_end.to_le_bytes());
    c
}

/// `S(w)`: a work item's summary (GP B.7, `fetch` with `ω10 ∈ {11, 12}`).
pub fn item_summary(w: &WorkItem) -> Vec<u8> {
    let mut s = Vec::with_capacity(62);
    s.extend(w.service.to_le_bytes());
    s.extend(w.code_hash.0);
    s.extend(w.refine_gas_limit.to_le_bytes());
    s.extend(w.accumulate_gas_limit.to_le_bytes());
    s.extend(w.export_count.to_le_bytes());
    let count = |n: usize| u16::try_from(n).unwrap_or(u16::MAX).to_le_bytes();
    s.extend(count(w.import_segments.len()));
    s.extend(count(w.extrinsic.len()));
    s.extend(
        u32::try_from(w.payload.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    s
}

fn index(reg: u64, len: usize) -> Option<usize> {
    usize::try_from(reg).ok().filter(|&i| i < len)
}

/// The value `v` that `fetch` selects by `ω10`, `ω11`, `ω12` (GP B.7).
pub fn fetch_value(ctx: &FetchContext<'_>, w10: u64, w11: u64, w12: u64) -> Option<Vec<u8>> {
    let nested = |outer: Option<&[Vec<Vec<u8>>]>, w11: u64, w12: u64| {
        let o = outer?;
        let inner = &o[index(w11, o.len())?];
        Some(inner[index(w12, inner.len())?].clone())
    };
    let own = |outer: Option<&[Vec<Vec<u8>>]>, w11: u64| {
        let inner = outer?.get(ctx.item_index?)?;
        Some(inner[index(w11, inner.len())?].clone())
    };
    match w10 {
        0 => Some(constants_blob(ctx.params)),
        1 => ctx.entropy.map(|n| n.0.to_vec()),
        2 => ctx.auth_trace.map(<[u8]>::to_vec),
        3 => nested(ctx.extrinsics, w11, w12),
        4 => own(ctx.extrinsics, w11),
        5 => nested(ctx.imports, w11, w12),
        6 => own(ctx.imports, w11),
        7 => ctx.package.map(Encode::encode),
        8 => ctx.package.map(|p| p.authorizer_config.0.clone()),
        9 => ctx.package.map(|p| p.authorization.0.clone()),
        10 => ctx.package.map(|p| p.context.encode()),
        11 => ctx.package.map(|p| {
            let mut out = Compact(u32::try_from(p.items.len()).unwrap_or(u32::MAX)).encode();
            for w in p.items.iter() {
                out.extend(item_summary(w));
            }
            out
        }),
        12 => ctx
            .package
            .and_then(|p| p.items.get(index(w11, p.items.len())?).map(item_summary)),
        13 => ctx.package.and_then(|p| {
            p.items
                .get(index(w11, p.items.len())?)
                .map(|w| w.payload.0.clone())
        }),
        14 => ctx.inputs.map(|inputs| {
            let mut out = Compact(u32::try_from(inputs.len()).unwrap_or(u32::MAX)).encode();
            for i in inputs {
                out.extend_from_slice(i);
            }
            out
        }),
        15 => ctx
            .inputs
            .and_then(|inputs| inputs.get(index(w11, inputs.len())?).cloned()),
        _ => None,
    }
}

/// `fetch = 1` (GP B.7, `Ω_Y`).
pub fn fetch(machine: &mut impl Machine, ctx: &FetchContext<'_>) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let v = fetch_value(ctx, machine.reg(10), machine.reg(11), machine.reg(12));
    let o = machine.reg(7);
    output(machine, v.as_deref(), o, 8, 9)
}

/// The account `ω7` names for `lookup`, `read`, `info` and
/// `historical_lookup`: the caller's own for `s` or `2^64 − 1`, else
/// another's.
pub(crate) fn named_account(
    accounts: &impl Accounts,
    own: ServiceId,
    w7: u64,
) -> Option<&ServiceAccount> {
    if w7 == u64::MAX || w7 == u64::from(own) {
        accounts.account(own)
    } else {
        accounts.account(ServiceId::try_from(w7).ok()?)
    }
}

/// `lookup = 2` (GP B.7, `Ω_L`): a preimage of the caller or another service.
pub fn lookup(machine: &mut impl Machine, own: ServiceId, accounts: &impl Accounts) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let (h, o) = (machine.reg(8), machine.reg(9));
    let Some(hash) = machine.read(h, 32) else {
        return Control::Panic;
    };
    let hash = OpaqueHash::try_from(hash.as_slice()).unwrap_or_default();
    let v = named_account(accounts, own, machine.reg(7)).and_then(|a| a.preimage(&hash));
    output(machine, v, o, 10, 11)
}

/// `read = 3` (GP B.7, `Ω_R`): a storage item of the caller or another service.
pub fn read(machine: &mut impl Machine, own: ServiceId, accounts: &impl Accounts) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let (ko, kz, o) = (machine.reg(8), machine.reg(9), machine.reg(10));
    let Some(key) = machine.read(ko, kz) else {
        return Control::Panic;
    };
    let v = named_account(accounts, own, machine.reg(7)).and_then(|a| a.storage(&key));
    output(machine, v, o, 11, 12)
}

/// `write = 4` (GP B.7, `Ω_W`): sets (`v_Z > 0`) or removes (`v_Z = 0`) a
/// storage item of the caller; `FULL` and no change if the new footprint's
/// threshold balance exceeds the balance; else `ω7` = the old length or `NONE`.
pub fn write(
    machine: &mut impl Machine,
    account: &mut ServiceAccount,
    params: &ProtocolParameters,
) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let (ko, kz, vo, vz) = (
        machine.reg(7),
        machine.reg(8),
        machine.reg(9),
        machine.reg(10),
    );
    let Some(key) = machine.read(ko, kz) else {
        return Control::Panic;
    };
    let value = if vz == 0 {
        None
    } else {
        let Some(value) = machine.read(vo, vz) else {
            return Control::Panic;
        };
        Some(value)
    };
    let (items, octets) = account.footprint_with_storage(&key, value.as_deref());
    let threshold = ServiceAccount::threshold(params, items, octets, account.info.deposit_offset);
    if threshold > account.info.balance {
        machine.set_reg(7, codes::FULL);
        return Control::Continue;
    }
    let old = account.set_storage(&key, value);
    machine.set_reg(7, old.map_or(codes::NONE, |v| v.len() as u64));
    Control::Continue
}

/// The `info` encoding of an account (GP B.7, `Ω_I`).
pub fn info_blob(account: &ServiceAccount, params: &ProtocolParameters) -> Vec<u8> {
    let i = &account.info;
    let mut v = Vec::with_capacity(96);
    v.extend(i.code_hash.0);
    for x in [
        i.balance,
        account.min_balance(params),
        i.min_item_gas,
        i.min_memo_gas,
        i.bytes,
    ] {
        v.extend(x.to_le_bytes());
    }
    v.extend(i.items.to_le_bytes());
    v.extend(i.deposit_offset.to_le_bytes());
    for x in [i.creation_slot, i.last_accumulation_slot, i.parent_service] {
        v.extend(x.to_le_bytes());
    }
    v
}

/// `info = 5` (GP B.7, `Ω_I`).
pub fn info(
    machine: &mut impl Machine,
    own: ServiceId,
    accounts: &impl Accounts,
    params: &ProtocolParameters,
) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let v = named_account(accounts, own, machine.reg(7)).map(|a| info_blob(a, params));
    let o = machine.reg(8);
    output(machine, v.as_deref(), o, 9, 10)
}

/// A JIP-1 log message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// `ω7`: 0 error, 1 warning, 2 info, 3 debug, 4 trace.
    pub level: u64,
    /// The target, if given (`ω8 = 0` means none).
    pub target: Option<Vec<u8>>,
    /// The message.
    pub message: Vec<u8>,
}

/// JIP-1 `log = 100`: costs the base 10 gas like every other host call
/// (the `stf/accumulate` vectors charge it: their services' gas usage
/// matches only so), changes no register; unreadable text yields no entry
/// rather than a panic.
pub fn log(machine: &mut impl Machine) -> (Control, Option<LogEntry>) {
    if let Some(stop) = charged(machine) {
        return (stop, None);
    }
    let (level, to, tz, mo, mz) = (
        machine.reg(7),
        machine.reg(8),
        machine.reg(9),
        machine.reg(10),
        machine.reg(11),
    );
    let target = if to == 0 && tz == 0 {
        Some(None)
    } else {
        machine.read(to, tz).map(Some)
    };
    let entry = match (target, machine.read(mo, mz)) {
        (Some(target), Some(message)) => Some(LogEntry {
            level,
            target,
            message,
        }),
        _ => None,
    };
    (Control::Continue, entry)
}

/// `F` of `Ψ_I` (GP B.3, the is-authorized invocation): only `gas` and
/// `fetch` exist (and JIP-1 `log`); any other index costs 10 gas and
/// answers `WHAT`.
pub fn dispatch_is_authorized(
    machine: &mut impl Machine,
    flavor: crate::PvmFlavor,
    index: u32,
    fetch_ctx: &FetchContext<'_>,
) -> (Control, Option<LogEntry>) {
    use crate::HostCall;
    let control = match HostCall::from_index(flavor, index) {
        Some(HostCall::Gas) => gas(machine),
        Some(HostCall::Fetch) => fetch(machine, fetch_ctx),
        Some(HostCall::Log) => return log(machine),
        _ => crate::unknown(machine),
    };
    (control, None)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use parajam_primitives::types::ServiceInfo;

    use super::*;
    use crate::testing::TestMachine;

    const P: ProtocolParameters = ProtocolParameters::TINY;
    const RO: u64 = 0x1_0000;
    const RW: u64 = 0x2_0000;

    fn machine() -> TestMachine {
        let mut m = TestMachine::new(1000);
        m.map(RO, 1, false);
        m.map(RW, 2, true);
        m
    }

    fn accounts() -> BTreeMap<ServiceId, ServiceAccount> {
        let mut own = ServiceAccount {
            info: ServiceInfo {
                balance: 1_000,
                code_hash: [7; 32].into(),
                ..ServiceInfo::default()
            },
            ..ServiceAccount::default()
        };
        own.set_preimage(&[1; 32].into(), Some(b"preimage".to_vec()));
        own.set_storage(b"k", Some(b"value".to_vec()));
        let mut other = ServiceAccount::default();
        other.set_storage(b"k", Some(b"other".to_vec()));
        BTreeMap::from([(5, own), (6, other)])
    }

    #[test]
    fn is_authorized_has_only_gas_fetch_and_log() {
        use crate::{HostCall, PvmFlavor};
        let n = PvmFlavor::Gp072;
        let ctx = FetchContext::constants_only(&P);
        let mut m = machine();
        let (control, _) = dispatch_is_authorized(&mut m, n, HostCall::Gas.index(n), &ctx);
        assert_eq!((control, m.regs[7]), (Control::Continue, 990));
        // fetch of the constants blob (ω10 = 0) into RW.
        (m.regs[7], m.regs[8], m.regs[9], m.regs[10]) = (RW, 0, 1 << 20, 0);
        dispatch_is_authorized(&mut m, n, HostCall::Fetch.index(n), &ctx);
        assert_eq!(m.regs[7], constants_blob(&P).len() as u64);
        for call in [
            HostCall::Read,
            HostCall::Lookup,
            HostCall::Export,
            HostCall::Bless,
        ] {
            let gas = m.gas;
            dispatch_is_authorized(&mut m, n, call.index(n), &ctx);
            assert_eq!((m.regs[7], gas - m.gas), (codes::WHAT, 10), "{call:?}");
        }
    }

    #[test]
    fn gas_reports_the_counter_after_its_charge() {
        let mut m = machine();
        assert_eq!(gas(&mut m), Control::Continue);
        assert_eq!((m.gas, m.regs[7]), (990, 990));
        m.gas = 9;
        assert_eq!(gas(&mut m), Control::OutOfGas);
    }

    #[test]
    fn fetch_constants_whole_and_sliced() {
        let c = constants_blob(&P);
        assert_eq!(c.len(), 7 * 8 + 13 * 2 + 13 * 4);
        let ctx = FetchContext::constants_only(&P);
        let mut m = machine();
        m.regs[7] = RW;
        m.regs[9] = u64::MAX;
        assert_eq!(fetch(&mut m, &ctx), Control::Continue);
        assert_eq!(m.regs[7], c.len() as u64);
        assert_eq!(m.read(RW, c.len() as u64), Some(c.clone()));
        // f = 4, l = 3.
        let mut m = machine();
        (m.regs[7], m.regs[8], m.regs[9]) = (RW, 4, 3);
        fetch(&mut m, &ctx);
        assert_eq!(m.read(RW, 4), Some([c[4..7].to_vec(), vec![0]].concat()));
        // f beyond the end: nothing written, still |v|.
        let mut m = machine();
        (m.regs[7], m.regs[8], m.regs[9]) = (RW, 10_000, 10);
        fetch(&mut m, &ctx);
        assert_eq!((m.regs[7], m.read(RW, 1)), (c.len() as u64, Some(vec![0])));
    }

    #[test]
    fn fetch_absent_unwritable_and_out_of_gas() {
        let ctx = FetchContext::constants_only(&P);
        let mut m = machine();
        (m.regs[7], m.regs[9], m.regs[10]) = (RW, 100, 1); // entropy: not in this context
        assert_eq!(fetch(&mut m, &ctx), Control::Continue);
        assert_eq!(m.regs[7], codes::NONE);
        let mut m = machine();
        (m.regs[7], m.regs[9]) = (RO, 100); // read-only destination
        assert_eq!(fetch(&mut m, &ctx), Control::Panic);
        assert_eq!(m.regs[7], RO, "ω7 untouched on panic");
        let mut m = machine();
        m.gas = 3;
        assert_eq!(fetch(&mut m, &ctx), Control::OutOfGas);
    }

    #[test]
    fn fetch_package_items_and_inputs() {
        let package = WorkPackage {
            items: vec![WorkItem {
                service: 9,
                payload: vec![1, 2, 3].into(),
                ..WorkItem::default()
            }]
            .into(),
            ..WorkPackage::default()
        };
        let inputs = [vec![0xaa], vec![0xbb, 0xcc]];
        let ctx = FetchContext {
            package: Some(&package),
            inputs: Some(&inputs),
            ..FetchContext::constants_only(&P)
        };
        assert_eq!(fetch_value(&ctx, 7, 0, 0), Some(package.encode()));
        assert_eq!(fetch_value(&ctx, 13, 0, 0), Some(vec![1, 2, 3]));
        assert_eq!(fetch_value(&ctx, 13, 1, 0), None);
        let summary = item_summary(&package.items[0]);
        assert_eq!(summary.len(), 4 + 32 + 16 + 6 + 4);
        assert_eq!(
            fetch_value(&ctx, 11, 0, 0),
            Some([vec![1], summary.clone()].concat())
        );
        assert_eq!(fetch_value(&ctx, 12, 0, 0), Some(summary));
        assert_eq!(fetch_value(&ctx, 14, 0, 0), Some(vec![2, 0xaa, 0xbb, 0xcc]));
        assert_eq!(fetch_value(&ctx, 15, 1, 0), Some(vec![0xbb, 0xcc]));
        assert_eq!(fetch_value(&ctx, 16, 0, 0), None);
    }

    #[test]
    fn lookup_own_other_missing_and_bad_hash_address() {
        let acc = accounts();
        let mut m = machine();
        m.write(RW, &[1; 32]);
        (m.regs[7], m.regs[8], m.regs[9], m.regs[11]) = (u64::MAX, RW, RW + 100, 100);
        assert_eq!(lookup(&mut m, 5, &acc), Control::Continue);
        assert_eq!(m.regs[7], 8);
        assert_eq!(m.read(RW + 100, 8), Some(b"preimage".to_vec()));
        (m.regs[7], m.regs[8]) = (6, RW);
        lookup(&mut m, 5, &acc);
        assert_eq!(m.regs[7], codes::NONE, "service 6 has no such preimage");
        (m.regs[7], m.regs[8]) = (5, 0x9_0000); // unmapped hash address
        assert_eq!(lookup(&mut m, 5, &acc), Control::Panic);
    }

    #[test]
    fn read_own_and_other_storage() {
        let acc = accounts();
        let mut m = machine();
        m.write(RW, b"k");
        (m.regs[7], m.regs[8], m.regs[9], m.regs[10], m.regs[12]) = (u64::MAX, RW, 1, RW + 64, 64);
        assert_eq!(read(&mut m, 5, &acc), Control::Continue);
        assert_eq!(
            (m.regs[7], m.read(RW + 64, 5)),
            (5, Some(b"value".to_vec()))
        );
        (m.regs[7], m.regs[8]) = (6, RW);
        read(&mut m, 5, &acc);
        assert_eq!(m.read(RW + 64, 5), Some(b"other".to_vec()));
        (m.regs[7], m.regs[8]) = (7, RW);
        read(&mut m, 5, &acc);
        assert_eq!(m.regs[7], codes::NONE);
        (m.regs[8], m.regs[9]) = (u64::MAX - 2, 10); // key range wraps
        assert_eq!(read(&mut m, 5, &acc), Control::Panic);
    }

    #[test]
    fn write_sets_replaces_removes_and_refuses_when_full() {
        let mut acc = accounts();
        let own = acc.get_mut(&5).expect("own");
        let mut m = machine();
        m.write(RW, b"k2");
        m.write(RW + 16, b"hello");
        (m.regs[7], m.regs[8], m.regs[9], m.regs[10]) = (RW, 2, RW + 16, 5);
        assert_eq!(write(&mut m, own, &P), Control::Continue);
        assert_eq!(m.regs[7], codes::NONE);
        assert_eq!(own.storage(b"k2"), Some(b"hello".as_slice()));
        let (items, bytes) = (own.info.items, own.info.bytes);
        (m.regs[7], m.regs[10]) = (RW, 3);
        write(&mut m, own, &P);
        assert_eq!((m.regs[7], own.info.bytes), (5, bytes - 2));
        (m.regs[7], m.regs[10]) = (RW, 0);
        write(&mut m, own, &P);
        assert_eq!((m.regs[7], own.info.items), (3, items - 1));
        assert!(own.storage(b"k2").is_none());
        // A value too large for the balance: FULL, nothing changes.
        let before = own.clone();
        (m.regs[7], m.regs[9], m.regs[10]) = (RW, RW, 4096);
        assert_eq!(write(&mut m, own, &P), Control::Continue);
        assert_eq!(m.regs[7], codes::FULL);
        assert_eq!(*own, before);
        // An unreadable value panics.
        (m.regs[9], m.regs[10]) = (0x9_0000, 1);
        assert_eq!(write(&mut m, own, &P), Control::Panic);
    }

    #[test]
    fn info_encodes_the_account() {
        let acc = accounts();
        let mut m = machine();
        (m.regs[7], m.regs[8], m.regs[10]) = (u64::MAX, RW, 200);
        assert_eq!(info(&mut m, 5, &acc, &P), Control::Continue);
        assert_eq!(m.regs[7], 96);
        let blob = m.read(RW, 96).expect("written");
        assert_eq!(&blob[..32], &[7; 32]);
        assert_eq!(
            u64::from_le_bytes(blob[32..40].try_into().expect("8")),
            1_000
        );
        m.regs[7] = 77;
        info(&mut m, 5, &acc, &P);
        assert_eq!(m.regs[7], codes::NONE);
    }

    #[test]
    fn log_costs_ten_and_reads_its_text() {
        let mut m = machine();
        m.write(RW, b"hello");
        (m.regs[7], m.regs[10], m.regs[11]) = (2, RW, 5);
        let (control, entry) = log(&mut m);
        assert_eq!((control, m.gas), (Control::Continue, 990));
        assert_eq!(
            entry,
            Some(LogEntry {
                level: 2,
                target: None,
                message: b"hello".to_vec()
            })
        );
    }
}
