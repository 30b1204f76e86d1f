//! The accumulate host-call functions (GP 0.7.2 appendix B.9) and the
//! accumulation context they mutate: the implications pair `(x, y)` of
//! GP eq. B.6 (regular and exceptional dimensions).
//!
//! Every function charges its gas first (`g = 10`; `transfer` also charges
//! the gas it forwards when it succeeds), reads its arguments, and either
//! panics (unreadable memory), answers an error code in `ω7` with the
//! context unchanged, or applies its change to the regular dimension `x`.

// Argument names mirror the paper's symbols (GP B.9).
#![allow(clippy::many_single_char_names)]

use std::collections::{BTreeMap, BTreeSet};

use parajam_primitives::codec::{Compact, Encode, FixedSeq};
use parajam_primitives::types::{
    AuthQueues, Balance, Gas, OpaqueHash, ServiceAccount, ServiceId, ServiceInfo, TimeSlot,
    ValidatorData, ValidatorsData,
};
use parajam_primitives::{ByteArray, ProtocolParameters};

use crate::general::{self, Accounts, FetchContext, LogEntry};
use crate::{charge, charged, codes, Control, HostCall, Machine, PvmFlavor, BASE_GAS};

/// `S`: privileged state and accounts an accumulation can change (GP eq. 12.13).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartialState {
    /// `d`: service accounts.
    pub accounts: BTreeMap<ServiceId, ServiceAccount>,
    /// `i`: the staging validator keys `ι`.
    pub staging: ValidatorsData,
    /// `q`: the authorizer queues `φ`.
    pub auth_queues: AuthQueues,
    /// `m`: the manager `χ_M`.
    pub manager: ServiceId,
    /// `a`: per-core assigners `χ_A`.
    pub assigners: Vec<ServiceId>,
    /// `v`: the delegator `χ_V`.
    pub delegator: ServiceId,
    /// `r`: the registrar `χ_R`.
    pub registrar: ServiceId,
    /// `z`: always-accumulate services `χ_Z`.
    pub always_acc: BTreeMap<ServiceId, Gas>,
}

impl Accounts for PartialState {
    fn account(&self, id: ServiceId) -> Option<&ServiceAccount> {
        self.accounts.get(&id)
    }
}

/// A deferred transfer `(s, d, a, m, g)` (GP eq. 12.14; encoding C.31).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeferredTransfer {
    /// `s`: sender.
    pub source: ServiceId,
    /// `d`: receiver.
    pub dest: ServiceId,
    /// `a`: amount.
    pub amount: Balance,
    /// `m`: memo of `W_T` octets.
    pub memo: Vec<u8>,
    /// `g`: gas for the receiver's memo handling.
    pub gas: Gas,
}

impl DeferredTransfer {
    /// `E_X(t)` (GP C.31).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24 + self.memo.len());
        out.extend(self.source.to_le_bytes());
        out.extend(self.dest.to_le_bytes());
        out.extend(self.amount.to_le_bytes());
        out.extend_from_slice(&self.memo);
        out.extend(self.gas.to_le_bytes());
        out
    }
}

/// `L`: one dimension of the accumulation context (GP eq. B.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Implications {
    /// `s`: the accumulating service.
    pub id: ServiceId,
    /// `e`: the partial state.
    pub state: PartialState,
    /// `i`: the next free service id.
    pub next_free_id: ServiceId,
    /// `t`: deferred transfers.
    pub transfers: Vec<DeferredTransfer>,
    /// `y`: the yielded hash.
    pub yielded: Option<OpaqueHash>,
    /// `p`: preimage provisions.
    pub provisions: BTreeSet<(ServiceId, Vec<u8>)>,
}

/// `check(i)` (GP eq. B.10): the first id from `i` on, stepping within the
/// public range, that names no account.
pub fn check_id(
    mut i: ServiceId,
    accounts: &BTreeMap<ServiceId, ServiceAccount>,
    params: &ProtocolParameters,
) -> ServiceId {
    let s = u64::from(params.min_public_service_index);
    let modulus = (1u64 << 32) - (1 << 8) - s;
    // At most |accounts| + 1 steps: the sequence cycles through `modulus` ids.
    for _ in 0..=accounts.len() {
        if !accounts.contains_key(&i) {
            return i;
        }
        let next = (u64::from(i).wrapping_sub(s).wrapping_add(1) % modulus) + s;
        i = ServiceId::try_from(next).unwrap_or(ServiceId::MAX);
    }
    i
}

impl Implications {
    /// `I(e, s)` (GP eq. B.6): the initial context, with the next free id
    /// derived from `H(E(s, η'_0, H_T))`.
    pub fn new(
        state: PartialState,
        id: ServiceId,
        entropy: &OpaqueHash,
        timeslot: TimeSlot,
        params: &ProtocolParameters,
    ) -> Self {
        // `E` here is the general natural encoding (GP eq. C.6) of `s` and
        // `H_T`, not their fixed 4-octet forms `E_4`: the paper writes `E`,
        // and the jam-conformance fuzz traces (e.g. 1766241814) confirm it.
        let digest = parajam_crypto::blake2b_256_concat(&[
            &Compact(u64::from(id)).encode(),
            &entropy.0,
            &Compact(u64::from(timeslot)).encode(),
        ]);
        let seed = u64::from(u32::from_le_bytes([
            digest[0], digest[1], digest[2], digest[3],
        ]));
        let s = u64::from(params.min_public_service_index);
        let start = seed % ((1u64 << 32) - s - (1 << 8)) + s;
        let next_free_id = check_id(
            ServiceId::try_from(start).unwrap_or(ServiceId::MAX),
            &state.accounts,
            params,
        );
        Self {
            id,
            state,
            next_free_id,
            transfers: Vec::new(),
            yielded: None,
            provisions: BTreeSet::new(),
        }
    }

    /// `x_s`: the accumulating service's account.
    pub fn own(&self) -> Option<&ServiceAccount> {
        self.state.accounts.get(&self.id)
    }
}

/// The accumulate host-call context: `(x, y)` and what the calls read.
#[derive(Debug, Clone)]
pub struct AccumulateContext {
    /// `x`: the regular dimension.
    pub x: Implications,
    /// `y`: the exceptional dimension (set by `checkpoint`).
    pub y: Implications,
    /// The protocol parameters.
    pub params: ProtocolParameters,
    /// `H_T`: the block's timeslot.
    pub timeslot: TimeSlot,
}

impl AccumulateContext {
    /// Both dimensions start equal (`I(e, s)^2`).
    pub fn new(initial: Implications, params: ProtocolParameters, timeslot: TimeSlot) -> Self {
        Self {
            y: initial.clone(),
            x: initial,
            params,
            timeslot,
        }
    }
}

fn read_hash(machine: &impl Machine, address: u64) -> Option<OpaqueHash> {
    machine
        .read(address, 32)
        .and_then(|b| OpaqueHash::try_from(b.as_slice()).ok())
}

/// The preimage request `(h, z)` named by `ω7` (hash address) and `ω8`
/// (length) for `query`, `solicit` and `forget`: `None` if the hash is not
/// readable (the call panics); `z` is `None` beyond `N_L`, where no request
/// can exist.
fn request_key(machine: &impl Machine) -> Option<(OpaqueHash, Option<u32>)> {
    let hash = read_hash(machine, machine.reg(7))?;
    Some((hash, u32::try_from(machine.reg(8)).ok()))
}

fn reply(machine: &mut impl Machine, code: u64) -> Control {
    machine.set_reg(7, code);
    Control::Continue
}

/// `bless = 14` (GP B.9, `Ω_B`): sets the privileged services.
pub fn bless(machine: &mut impl Machine, ctx: &mut AccumulateContext) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let [m, a, v, r, o, n] = [7, 8, 9, 10, 11, 12].map(|i| machine.reg(i));
    let cores = u64::from(ctx.params.core_count);
    let Some(assign) = machine.read(a, 4 * cores) else {
        return Control::Panic;
    };
    let Some(always) = n.checked_mul(12).and_then(|len| machine.read(o, len)) else {
        return Control::Panic;
    };
    let (Ok(m), Ok(v), Ok(r)) = (
        ServiceId::try_from(m),
        ServiceId::try_from(v),
        ServiceId::try_from(r),
    ) else {
        return reply(machine, codes::WHO);
    };
    let u32_at = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let state = &mut ctx.x.state;
    state.manager = m;
    state.assigners = assign.chunks_exact(4).map(u32_at).collect();
    state.delegator = v;
    state.registrar = r;
    state.always_acc = always
        .chunks_exact(12)
        .map(|c| {
            let mut g = [0u8; 8];
            g.copy_from_slice(&c[4..12]);
            (u32_at(c), u64::from_le_bytes(g))
        })
        .collect();
    reply(machine, codes::OK)
}

/// `assign = 15` (GP B.9, `Ω_A`): sets core `ω7`'s authorizer queue and assigner.
pub fn assign(machine: &mut impl Machine, ctx: &mut AccumulateContext) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let [c, o, a] = [7, 8, 9].map(|i| machine.reg(i));
    let q = u64::from(ctx.params.auth_queue_size);
    let Some(queue) = machine.read(o, 32 * q) else {
        return Control::Panic;
    };
    let Some(core) = usize::try_from(c)
        .ok()
        .filter(|&c| c < usize::from(ctx.params.core_count))
    else {
        return reply(machine, codes::CORE);
    };
    let state = &mut ctx.x.state;
    if state.assigners.get(core) != Some(&ctx.x.id) {
        return reply(machine, codes::HUH);
    }
    let Ok(assigner) = ServiceId::try_from(a) else {
        return reply(machine, codes::WHO);
    };
    let hashes: Vec<OpaqueHash> = queue
        .chunks_exact(32)
        .filter_map(|h| OpaqueHash::try_from(h).ok())
        .collect();
    if let Some(slot) = state.auth_queues.get_mut(core) {
        *slot = FixedSeq::new(hashes);
    }
    state.assigners[core] = assigner;
    reply(machine, codes::OK)
}

/// `designate = 16` (GP B.9, `Ω_D`): sets the staging validator keys.
pub fn designate(machine: &mut impl Machine, ctx: &mut AccumulateContext) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let o = machine.reg(7);
    let v = u64::from(ctx.params.validators_count);
    let Some(keys) = machine.read(o, 336 * v) else {
        return Control::Panic;
    };
    if ctx.x.id != ctx.x.state.delegator {
        return reply(machine, codes::HUH);
    }
    let keys = keys
        .chunks_exact(336)
        .map(|k| ValidatorData {
            bandersnatch: ByteArray::try_from(&k[..32]).unwrap_or_default(),
            ed25519: ByteArray::try_from(&k[32..64]).unwrap_or_default(),
            bls: ByteArray::try_from(&k[64..208]).unwrap_or_default(),
            metadata: ByteArray::try_from(&k[208..336]).unwrap_or_default(),
        })
        .collect();
    ctx.x.state.staging = FixedSeq::new(keys);
    reply(machine, codes::OK)
}

/// `checkpoint = 17` (GP B.9, `Ω_C`): `y = x`, `ω7 = ϱ'`.
pub fn checkpoint(machine: &mut impl Machine, ctx: &mut AccumulateContext) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    ctx.y = ctx.x.clone();
    reply(machine, u64::try_from(machine.gas()).unwrap_or(0))
}

/// `new = 18` (GP B.9, `Ω_N`): creates a service with code hash at `ω7`,
/// code length `ω8`, gas minimums `ω9`, `ω10`, gratis `ω11` and (for the
/// registrar) a desired id `ω12`, funded from the caller.
pub fn new(machine: &mut impl Machine, ctx: &mut AccumulateContext) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let [o, l, g, m, f, i] = [7, 8, 9, 10, 11, 12].map(|r| machine.reg(r));
    let (Some(code_hash), Ok(length)) = (read_hash(machine, o), u32::try_from(l)) else {
        return Control::Panic;
    };
    let params = ctx.params;
    let x = &mut ctx.x;
    let Some(own) = x.state.accounts.get(&x.id) else {
        return reply(machine, codes::WHO);
    };
    let mut account = ServiceAccount {
        info: ServiceInfo {
            code_hash,
            min_item_gas: g,
            min_memo_gas: m,
            deposit_offset: f,
            creation_slot: ctx.timeslot,
            parent_service: x.id,
            ..ServiceInfo::default()
        },
        ..ServiceAccount::default()
    };
    account.set_request(&code_hash, length, Some(&[]));
    account.info.balance = account.min_balance(&params);
    if f != 0 && x.id != x.state.manager {
        return reply(machine, codes::HUH);
    }
    let Some(balance) = own.info.balance.checked_sub(account.info.balance) else {
        return reply(machine, codes::CASH);
    };
    if balance < own.min_balance(&params) {
        return reply(machine, codes::CASH);
    }
    let desired = ServiceId::try_from(i)
        .ok()
        .filter(|&d| d < params.min_public_service_index);
    let id = match desired {
        Some(d) if x.id == x.state.registrar => {
            if x.state.accounts.contains_key(&d) {
                return reply(machine, codes::FULL);
            }
            d
        }
        _ => {
            let id = x.next_free_id;
            let s = u64::from(params.min_public_service_index);
            let step =
                s + (u64::from(id) - s.min(u64::from(id)) + 42) % ((1u64 << 32) - s - (1 << 8));
            let mut with_new = x.state.accounts.clone();
            with_new.insert(id, ServiceAccount::default());
            x.next_free_id = check_id(
                ServiceId::try_from(step).unwrap_or(ServiceId::MAX),
                &with_new,
                &params,
            );
            id
        }
    };
    if let Some(own) = x.state.accounts.get_mut(&x.id) {
        own.info.balance = balance;
    }
    x.state.accounts.insert(id, account);
    reply(machine, u64::from(id))
}

/// `upgrade = 19` (GP B.9, `Ω_U`): sets the caller's code hash and gas minimums.
pub fn upgrade(machine: &mut impl Machine, ctx: &mut AccumulateContext) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let [o, g, m] = [7, 8, 9].map(|i| machine.reg(i));
    let Some(code_hash) = read_hash(machine, o) else {
        return Control::Panic;
    };
    let Some(own) = ctx.x.state.accounts.get_mut(&ctx.x.id) else {
        return reply(machine, codes::WHO);
    };
    own.info.code_hash = code_hash;
    own.info.min_item_gas = g;
    own.info.min_memo_gas = m;
    reply(machine, codes::OK)
}

/// `transfer = 20` (GP B.9, `Ω_T`): queues a transfer of `ω8` to `ω7` with
/// memo at `ω10` and gas `ω9`; costs `10 + ω9` when it succeeds.
pub fn transfer(machine: &mut impl Machine, ctx: &mut AccumulateContext) -> Control {
    let [d, a, l, o] = [7, 8, 9, 10].map(|i| machine.reg(i));
    let memo = machine.read(o, u64::from(ctx.params.transfer_memo_size));
    let x = &ctx.x;
    let outcome = match (
        &memo,
        ServiceId::try_from(d)
            .ok()
            .and_then(|d| x.state.accounts.get(&d).map(|acc| (d, acc))),
    ) {
        (None, _) => Err(None),
        (Some(_), None) => Err(Some(codes::WHO)),
        (Some(_), Some((_, dest))) if l < dest.info.min_memo_gas => Err(Some(codes::LOW)),
        (Some(_), Some((dest, _))) => match x.own() {
            Some(own) => match own.info.balance.checked_sub(a) {
                Some(b) if b >= own.min_balance(&ctx.params) => Ok((dest, b)),
                _ => Err(Some(codes::CASH)),
            },
            None => Err(Some(codes::WHO)),
        },
    };
    let g = match outcome {
        Ok(_) => BASE_GAS.saturating_add(i64::try_from(l).unwrap_or(i64::MAX)),
        Err(_) => BASE_GAS,
    };
    if charge(machine, g) == Control::OutOfGas {
        return Control::OutOfGas;
    }
    match outcome {
        Err(None) => Control::Panic,
        Err(Some(code)) => reply(machine, code),
        Ok((dest, balance)) => {
            let x = &mut ctx.x;
            x.transfers.push(DeferredTransfer {
                source: x.id,
                dest,
                amount: a,
                memo: memo.unwrap_or_default(),
                gas: l,
            });
            if let Some(own) = x.state.accounts.get_mut(&x.id) {
                own.info.balance = balance;
            }
            reply(machine, codes::OK)
        }
    }
}

/// `t − D > y`, false when `t < D` (no timeslot precedes slot 0).
fn expired(y: TimeSlot, t: TimeSlot, params: &ProtocolParameters) -> bool {
    t.checked_sub(params.preimage_expunge_period)
        .is_some_and(|limit| y < limit)
}

/// `eject = 21` (GP B.9, `Ω_J`): removes service `ω7`, whose code hash is
/// the caller's id and whose only item is the expired request for `(h, l)`,
/// crediting its balance to the caller.
pub fn eject(machine: &mut impl Machine, ctx: &mut AccumulateContext) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let (d, o) = (machine.reg(7), machine.reg(8));
    let Some(hash) = read_hash(machine, o) else {
        return Control::Panic;
    };
    let x = &mut ctx.x;
    let target = ServiceId::try_from(d).ok().filter(|&d| d != x.id);
    let Some((d, dest)) = target.and_then(|d| x.state.accounts.get(&d).map(|a| (d, a))) else {
        return reply(machine, codes::WHO);
    };
    let mut id_hash = [0u8; 32];
    id_hash[..4].copy_from_slice(&x.id.to_le_bytes());
    if dest.info.code_hash.0 != id_hash {
        return reply(machine, codes::WHO);
    }
    let l = u32::try_from(dest.info.bytes.max(81) - 81).unwrap_or(u32::MAX);
    let Some(slots) = dest.request(&hash, l).filter(|_| dest.info.items == 2) else {
        return reply(machine, codes::HUH);
    };
    match slots.as_slice() {
        [_, y] if expired(*y, ctx.timeslot, &ctx.params) => {
            let credit = dest.info.balance;
            x.state.accounts.remove(&d);
            if let Some(own) = x.state.accounts.get_mut(&x.id) {
                own.info.balance = own.info.balance.saturating_add(credit);
            }
            reply(machine, codes::OK)
        }
        _ => reply(machine, codes::HUH),
    }
}

/// `query = 22` (GP B.9, `Ω_Q`): the status of the caller's request for
/// `(h, z)`, packed into `ω7` and `ω8`.
pub fn query(machine: &mut impl Machine, ctx: &AccumulateContext) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let Some((hash, z)) = request_key(machine) else {
        return Control::Panic;
    };
    let slots = z.and_then(|z| ctx.x.own()?.request(&hash, z));
    let shift = |v: TimeSlot| u64::from(v) << 32;
    let (w7, w8) = match slots.as_deref() {
        None => (codes::NONE, 0),
        Some([]) => (0, 0),
        Some([x]) => (1 + shift(*x), 0),
        Some([x, y]) => (2 + shift(*x), u64::from(*y)),
        Some([x, y, z, ..]) => (3 + shift(*x), u64::from(*y) + shift(*z)),
    };
    machine.set_reg(8, w8);
    reply(machine, w7)
}

/// `solicit = 23` (GP B.9, `Ω_S`): requests the preimage `(h, z)`, or
/// re-requests one that became unavailable; `FULL` if the caller cannot
/// afford the footprint.
pub fn solicit(machine: &mut impl Machine, ctx: &mut AccumulateContext) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let Some((hash, z)) = request_key(machine) else {
        return Control::Panic;
    };
    let Some(own) = ctx.x.own() else {
        return reply(machine, codes::WHO);
    };
    let Some(z) = z else {
        // `(h, z)` with `z ≥ 2^32` is in no `a_l`, so the paper's `a` gets
        // `a_l[(h, z)] = []`: two more items and `81 + z` more octets, a
        // threshold `a_t` no balance reaches unless the gratis offset covers
        // it, hence FULL (the jam-conformance trace 1768066437_3920 solicits
        // with `z = 2^64 − 5`). Were it covered, no state key `E_4(z) ⌢ h`
        // could hold the request: HUH.
        let octets = own
            .info
            .bytes
            .saturating_add(81)
            .saturating_add(machine.reg(8));
        let threshold = ServiceAccount::threshold(
            &ctx.params,
            own.info.items.saturating_add(2),
            octets,
            own.info.deposit_offset,
        );
        let code = if own.info.balance < threshold {
            codes::FULL
        } else {
            codes::HUH
        };
        return reply(machine, code);
    };
    let mut updated = own.clone();
    match own.request(&hash, z).as_deref() {
        None => updated.set_request(&hash, z, Some(&[])),
        Some([x, y]) => updated.set_request(&hash, z, Some(&[*x, *y, ctx.timeslot])),
        Some(_) => return reply(machine, codes::HUH),
    }
    if updated.info.balance < updated.min_balance(&ctx.params) {
        return reply(machine, codes::FULL);
    }
    ctx.x.state.accounts.insert(ctx.x.id, updated);
    reply(machine, codes::OK)
}

/// `forget = 24` (GP B.9, `Ω_F`): drops or marks unavailable the caller's
/// preimage `(h, z)`.
pub fn forget(machine: &mut impl Machine, ctx: &mut AccumulateContext) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let Some((hash, z)) = request_key(machine) else {
        return Control::Panic;
    };
    let Some(z) = z else {
        return reply(machine, codes::HUH);
    };
    let (t, params) = (ctx.timeslot, ctx.params);
    let Some(own) = ctx.x.state.accounts.get_mut(&ctx.x.id) else {
        return reply(machine, codes::WHO);
    };
    match own.request(&hash, z).as_deref() {
        Some([]) => {}
        Some([_, y]) if expired(*y, t, &params) => {}
        Some([x]) => {
            own.set_request(&hash, z, Some(&[*x, t]));
            return reply(machine, codes::OK);
        }
        Some([_, y, w]) if expired(*y, t, &params) => {
            own.set_request(&hash, z, Some(&[*w, t]));
            return reply(machine, codes::OK);
        }
        _ => return reply(machine, codes::HUH),
    }
    own.set_request(&hash, z, None);
    own.set_preimage(&hash, None);
    reply(machine, codes::OK)
}

/// `yield = 25` (GP B.9, `Ω_Ƴ`): sets the accumulation output hash.
pub fn yield_hash(machine: &mut impl Machine, ctx: &mut AccumulateContext) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let Some(hash) = read_hash(machine, machine.reg(7)) else {
        return Control::Panic;
    };
    ctx.x.yielded = Some(hash);
    reply(machine, codes::OK)
}

/// `provide = 26` (GP B.9, `Ω_Aries`): provides a preimage that service `ω7`
/// (or the caller) has requested and not yet received.
pub fn provide(machine: &mut impl Machine, ctx: &mut AccumulateContext) -> Control {
    if let Some(stop) = charged(machine) {
        return stop;
    }
    let (w7, o, z) = (machine.reg(7), machine.reg(8), machine.reg(9));
    let Some(data) = machine.read(o, z) else {
        return Control::Panic;
    };
    let x = &mut ctx.x;
    let service = if w7 == u64::MAX {
        Some(x.id)
    } else {
        ServiceId::try_from(w7).ok()
    };
    let Some((service, account)) = service.and_then(|s| x.state.accounts.get(&s).map(|a| (s, a)))
    else {
        return reply(machine, codes::WHO);
    };
    let hash = ByteArray(parajam_crypto::blake2b_256(&data));
    let requested = u32::try_from(z)
        .ok()
        .and_then(|z| account.request(&hash, z));
    if !requested.is_some_and(|s| s.is_empty()) {
        return reply(machine, codes::HUH);
    }
    if !x.provisions.insert((service, data)) {
        return reply(machine, codes::HUH);
    }
    reply(machine, codes::OK)
}

/// `F` of `Ψ_A` (GP B.5, eq. `eq:accinvocation`): the accumulate host call
/// `ecalli index` on the context `(x, y)`.
///
/// The general functions `read`, `write`, `lookup` and `info` act on the
/// regular dimension's own account `x_s` (`G`); `fetch` sees `η'_0` and the
/// accumulation inputs through `fetch`; an unknown index costs 10 gas and
/// answers `WHAT`. JIP-1 `log` returns its entry for the caller to record.
pub fn dispatch(
    machine: &mut impl Machine,
    flavor: PvmFlavor,
    index: u32,
    ctx: &mut AccumulateContext,
    fetch: &FetchContext<'_>,
) -> (Control, Option<LogEntry>) {
    let Some(call) = HostCall::from_index(flavor, index) else {
        return (crate::unknown(machine), None);
    };
    let control = match call {
        HostCall::Gas => general::gas(machine),
        HostCall::Fetch => general::fetch(machine, fetch),
        HostCall::Read => general::read(machine, ctx.x.id, &ctx.x.state),
        HostCall::Lookup => general::lookup(machine, ctx.x.id, &ctx.x.state),
        HostCall::Info => general::info(machine, ctx.x.id, &ctx.x.state, &ctx.params),
        HostCall::Write => {
            let params = ctx.params;
            match ctx.x.state.accounts.get_mut(&ctx.x.id) {
                Some(own) => general::write(machine, own, &params),
                // `x_s` always exists: no service can remove itself.
                None => match charged(machine) {
                    Some(stop) => stop,
                    None => reply(machine, codes::WHO),
                },
            }
        }
        HostCall::Bless => bless(machine, ctx),
        HostCall::Assign => assign(machine, ctx),
        HostCall::Designate => designate(machine, ctx),
        HostCall::Checkpoint => checkpoint(machine, ctx),
        HostCall::New => new(machine, ctx),
        HostCall::Upgrade => upgrade(machine, ctx),
        HostCall::Transfer => transfer(machine, ctx),
        HostCall::Eject => eject(machine, ctx),
        HostCall::Query => query(machine, ctx),
        HostCall::Solicit => solicit(machine, ctx),
        HostCall::Forget => forget(machine, ctx),
        HostCall::Yield => yield_hash(machine, ctx),
        HostCall::Provide => provide(machine, ctx),
        HostCall::Log => return general::log(machine),
        // The refine functions do not exist in accumulate.
        HostCall::HistoricalLookup
        | HostCall::Export
        | HostCall::Machine
        | HostCall::Peek
        | HostCall::Poke
        | HostCall::Pages
        | HostCall::Invoke
        | HostCall::Expunge => crate::unknown(machine),
    };
    (control, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestMachine;

    const P: ProtocolParameters = ProtocolParameters::TINY;
    const RW: u64 = 0x2_0000;
    const ME: ServiceId = 1 << 16;
    const OTHER: ServiceId = (1 << 16) + 1;

    fn account(balance: Balance) -> ServiceAccount {
        ServiceAccount {
            info: ServiceInfo {
                balance,
                ..ServiceInfo::default()
            },
            ..ServiceAccount::default()
        }
    }

    fn context() -> (TestMachine, AccumulateContext) {
        let mut m = TestMachine::new(1_000_000);
        m.map(RW, 8, true);
        let state = PartialState {
            accounts: BTreeMap::from([(ME, account(10_000)), (OTHER, account(500))]),
            assigners: vec![ME, OTHER],
            auth_queues: FixedSeq::new(vec![FixedSeq::new(vec![OpaqueHash::ZERO; 80]); 2]),
            manager: ME,
            delegator: OTHER,
            registrar: ME,
            ..PartialState::default()
        };
        let x = Implications::new(state, ME, &OpaqueHash::ZERO, 100, &P);
        (m, AccumulateContext::new(x, P, 100))
    }

    fn own(ctx: &AccumulateContext) -> &ServiceAccount {
        ctx.x.own().expect("own account")
    }

    #[test]
    fn next_free_id_is_public_and_unused() {
        let (_, ctx) = context();
        let id = ctx.x.next_free_id;
        assert!(id >= P.min_public_service_index && !ctx.x.state.accounts.contains_key(&id));
        let accounts = BTreeMap::from([(id, ServiceAccount::default())]);
        assert_eq!(check_id(id, &accounts, &P), id + 1);
    }

    /// GP eq. B.10 (`I(e, s)`): the first candidate id is
    /// `E_4^-1(H(E(s, η'_0, H_T))) mod (2^32 − S − 2^8) + S` with `E` the
    /// general natural encoding (eq. C.6) of `s` and `H_T`, not `E_4`; the
    /// jam-conformance trace 1766241814 creates a service with this id.
    #[test]
    fn next_free_id_hashes_general_natural_encodings_eq_b10() {
        let entropy = OpaqueHash::from([7; 32]);
        let x = Implications::new(PartialState::default(), ME, &entropy, 100, &P);
        // E(2^16) = [0xc1, 0, 0] (prefix 2^8 − 2^6 + 1, then E_2(0)); E(100) = [100].
        let mut preimage = vec![0xc1, 0, 0];
        preimage.extend_from_slice(&[7; 32]);
        preimage.push(100);
        let digest = parajam_crypto::blake2b_256(&preimage);
        let seed = u64::from(u32::from_le_bytes([
            digest[0], digest[1], digest[2], digest[3],
        ]));
        let s = u64::from(P.min_public_service_index);
        let expected = seed % ((1 << 32) - s - (1 << 8)) + s;
        assert_eq!(u64::from(x.next_free_id), expected);
    }

    #[test]
    fn bless_assign_designate() {
        let (mut m, mut ctx) = context();
        m.write(RW, &[7, 0, 0, 0, 8, 0, 0, 0]); // assigners 7, 8
        m.write(RW + 64, &[9, 0, 0, 0, 50, 0, 0, 0, 0, 0, 0, 0]); // z = {9: 50}
        m.regs[7..13].copy_from_slice(&[3, RW, 4, 5, RW + 64, 1]);
        assert_eq!(bless(&mut m, &mut ctx), Control::Continue);
        let s = &ctx.x.state;
        assert_eq!(
            (s.manager, s.assigners.clone(), s.delegator, s.registrar),
            (3, vec![7, 8], 4, 5)
        );
        assert_eq!(s.always_acc, BTreeMap::from([(9, 50)]));
        m.regs[7] = 1 << 40;
        assert_eq!(
            (bless(&mut m, &mut ctx), m.regs[7]),
            (Control::Continue, codes::WHO)
        );
        m.regs[7..13].copy_from_slice(&[3, 0x9_0000, 4, 5, RW, 0]);
        assert_eq!(bless(&mut m, &mut ctx), Control::Panic);

        // assign: only the core's assigner; core must exist.
        let (mut m, mut ctx) = context();
        m.write(RW, &[0xab; 32 * 80]);
        m.regs[7..10].copy_from_slice(&[0, RW, 77]);
        assign(&mut m, &mut ctx);
        assert_eq!(m.regs[7], codes::OK);
        assert_eq!(
            (ctx.x.state.auth_queues[0][5].0, ctx.x.state.assigners[0]),
            ([0xab; 32], 77)
        );
        m.regs[7..10].copy_from_slice(&[1, RW, 77]);
        assign(&mut m, &mut ctx);
        assert_eq!(m.regs[7], codes::HUH, "core 1's assigner is OTHER");
        m.regs[7..10].copy_from_slice(&[2, RW, 77]);
        assign(&mut m, &mut ctx);
        assert_eq!(m.regs[7], codes::CORE);

        // designate: only the delegator.
        let (mut m, mut ctx) = context();
        m.regs[7] = RW;
        designate(&mut m, &mut ctx);
        assert_eq!(m.regs[7], codes::HUH);
        ctx.x.state.delegator = ME;
        m.write(RW, &[5; 336]);
        m.regs[7] = RW;
        designate(&mut m, &mut ctx);
        assert_eq!((m.regs[7], ctx.x.state.staging.len()), (codes::OK, 6));
        assert_eq!(ctx.x.state.staging[0].metadata.0, [5; 128]);
    }

    #[test]
    fn checkpoint_copies_the_regular_dimension() {
        let (mut m, mut ctx) = context();
        ctx.x.yielded = Some(OpaqueHash::from([1; 32]));
        checkpoint(&mut m, &mut ctx);
        assert_eq!(ctx.y, ctx.x);
        assert_eq!(m.regs[7], 1_000_000 - 10);
    }

    #[test]
    fn new_services_public_reserved_and_refused() {
        let (mut m, mut ctx) = context();
        m.write(RW, &[4; 32]);
        let first = ctx.x.next_free_id;
        // A desired id in the public range is ignored: the next free id is used.
        m.regs[7..13].copy_from_slice(&[RW, 1000, 5, 6, 0, 1 << 20]);
        assert_eq!(new(&mut m, &mut ctx), Control::Continue);
        assert_eq!(m.regs[7], u64::from(first));
        let created = &ctx.x.state.accounts[&first];
        // a_t = B_S + 2·B_I + B_L·(81 + 1000).
        assert_eq!(created.info.balance, 100 + 20 + 1081);
        assert_eq!(
            (created.info.parent_service, created.info.creation_slot),
            (ME, 100)
        );
        assert_eq!(own(&ctx).info.balance, 10_000 - 1201);
        assert_ne!(ctx.x.next_free_id, first);
        // The registrar may take a reserved id once.
        m.regs[7..13].copy_from_slice(&[RW, 0, 0, 0, 0, 42]);
        new(&mut m, &mut ctx);
        assert_eq!(m.regs[7], 42);
        m.regs[7..13].copy_from_slice(&[RW, 0, 0, 0, 0, 42]);
        new(&mut m, &mut ctx);
        assert_eq!(m.regs[7], codes::FULL);
        // Gratis storage needs the manager; funds must suffice.
        ctx.x.state.manager = OTHER;
        m.regs[7..13].copy_from_slice(&[RW, 0, 0, 0, 1, 0]);
        new(&mut m, &mut ctx);
        assert_eq!(m.regs[7], codes::HUH);
        ctx.x.state.accounts.get_mut(&ME).expect("me").info.balance = 150;
        m.regs[7..13].copy_from_slice(&[RW, 0, 0, 0, 0, 1 << 20]);
        new(&mut m, &mut ctx);
        assert_eq!(m.regs[7], codes::CASH);
    }

    #[test]
    fn transfer_checks_and_charges_forwarded_gas() {
        let (mut m, mut ctx) = context();
        ctx.x
            .state
            .accounts
            .get_mut(&OTHER)
            .expect("other")
            .info
            .min_memo_gas = 100;
        m.regs[7..11].copy_from_slice(&[u64::from(OTHER), 1_000, 99, RW]);
        transfer(&mut m, &mut ctx);
        assert_eq!((m.regs[7], m.gas), (codes::LOW, 1_000_000 - 10));
        m.regs[7..11].copy_from_slice(&[u64::from(OTHER), 1_000, 500, RW]);
        transfer(&mut m, &mut ctx);
        assert_eq!((m.regs[7], m.gas), (codes::OK, 1_000_000 - 20 - 500));
        assert_eq!(own(&ctx).info.balance, 9_000);
        assert_eq!(ctx.x.transfers[0].memo.len(), 128);
        m.regs[7..11].copy_from_slice(&[99, 1, 500, RW]);
        transfer(&mut m, &mut ctx);
        assert_eq!(m.regs[7], codes::WHO);
        m.regs[7..11].copy_from_slice(&[u64::from(OTHER), 9_000, 500, RW]);
        transfer(&mut m, &mut ctx);
        assert_eq!(m.regs[7], codes::CASH, "would leave less than a_t = 100");
        m.gas = 200;
        m.regs[7..11].copy_from_slice(&[u64::from(OTHER), 1, 500, RW]);
        assert_eq!(transfer(&mut m, &mut ctx), Control::OutOfGas);
        assert_eq!(ctx.x.transfers.len(), 1);
    }

    /// GP B.9 `solicit`: `(h, z)` with `z ≥ 2^32` is not among the
    /// caller's requests, so `a_l[(h, z)] = []` would be added; its
    /// footprint (`81 + z` octets) exceeds the balance: FULL, not HUH, and
    /// nothing changes (jam-conformance trace 1768066437_3920, step 12).
    #[test]
    fn solicit_of_a_length_beyond_32_bits_is_full_gp_b9() {
        let (mut m, mut ctx) = context();
        m.write(RW, &[6u8; 32]);
        let before = ctx.x.clone();
        m.regs[7..9].copy_from_slice(&[RW, u64::MAX - 4]);
        assert_eq!(solicit(&mut m, &mut ctx), Control::Continue);
        assert_eq!(m.regs[7], codes::FULL);
        assert_eq!(ctx.x, before);
        // A gratis offset covering even that footprint: no key can hold it.
        ctx.x
            .state
            .accounts
            .get_mut(&ME)
            .expect("me")
            .info
            .deposit_offset = u64::MAX;
        m.regs[7..9].copy_from_slice(&[RW, 1 << 32]);
        assert_eq!(solicit(&mut m, &mut ctx), Control::Continue);
        assert_eq!(m.regs[7], codes::HUH);
    }

    #[test]
    fn solicit_query_forget_lifecycle() {
        let (mut m, mut ctx) = context();
        let hash = [6u8; 32];
        m.write(RW, &hash);
        let ask = |m: &mut TestMachine,
                   ctx: &mut AccumulateContext,
                   f: fn(&mut TestMachine, &mut AccumulateContext) -> Control| {
            m.regs[7..9].copy_from_slice(&[RW, 10]);
            f(m, ctx);
            m.regs[7]
        };
        let q = |m: &mut TestMachine, ctx: &mut AccumulateContext| {
            m.regs[7..9].copy_from_slice(&[RW, 10]);
            query(m, ctx);
            (m.regs[7], m.regs[8])
        };
        assert_eq!(q(&mut m, &mut ctx), (codes::NONE, 0));
        assert_eq!(ask(&mut m, &mut ctx, solicit), codes::OK);
        assert_eq!(q(&mut m, &mut ctx), (0, 0));
        assert_eq!(
            ask(&mut m, &mut ctx, solicit),
            codes::HUH,
            "already requested"
        );
        // Provided at slot 50 (as preimage integration would do).
        let me = ctx.x.state.accounts.get_mut(&ME).expect("me");
        me.set_request(&hash.into(), 10, Some(&[50]));
        assert_eq!(q(&mut m, &mut ctx), (1 + (50 << 32), 0));
        assert_eq!(ask(&mut m, &mut ctx, forget), codes::OK);
        assert_eq!(q(&mut m, &mut ctx), (2 + (50 << 32), 100));
        assert_eq!(
            ask(&mut m, &mut ctx, solicit),
            codes::OK,
            "re-solicit after unavailable"
        );
        assert_eq!(q(&mut m, &mut ctx), (3 + (50 << 32), 100 + (100 << 32)));
        // Not expired yet (t − D = 68 ≤ 100): cannot forget.
        assert_eq!(ask(&mut m, &mut ctx, forget), codes::HUH);
        ctx.timeslot = 200;
        assert_eq!(ask(&mut m, &mut ctx, forget), codes::OK);
        assert_eq!(q(&mut m, &mut ctx), (2 + (100 << 32), 200));
        ctx.timeslot = 300;
        assert_eq!(ask(&mut m, &mut ctx, forget), codes::OK);
        assert_eq!(q(&mut m, &mut ctx), (codes::NONE, 0));
        assert_eq!((own_items(&ctx), own(&ctx).info.bytes), (0, 0));
    }

    fn own_items(ctx: &AccumulateContext) -> u32 {
        own(ctx).info.items
    }

    #[test]
    fn eject_yield_provide_upgrade() {
        let (mut m, mut ctx) = context();
        let hash = [8u8; 32];
        m.write(RW, &hash);
        // OTHER's code hash names ME, and it holds only an expired request.
        let other = ctx.x.state.accounts.get_mut(&OTHER).expect("other");
        let mut id_hash = [0u8; 32];
        id_hash[..4].copy_from_slice(&ME.to_le_bytes());
        other.info.code_hash = id_hash.into();
        other.set_request(&hash.into(), 0, Some(&[1, 2]));
        m.regs[7..9].copy_from_slice(&[u64::from(OTHER), RW]);
        eject(&mut m, &mut ctx);
        assert_eq!(m.regs[7], codes::OK);
        assert!(!ctx.x.state.accounts.contains_key(&OTHER));
        assert_eq!(own(&ctx).info.balance, 10_500);
        m.regs[7..9].copy_from_slice(&[u64::from(ME), RW]);
        eject(&mut m, &mut ctx);
        assert_eq!(m.regs[7], codes::WHO, "cannot eject itself");

        m.regs[7] = RW;
        yield_hash(&mut m, &mut ctx);
        assert_eq!(ctx.x.yielded, Some(hash.into()));

        // provide: only a requested, unprovided preimage.
        let data = b"some preimage";
        let h = ByteArray(parajam_crypto::blake2b_256(data));
        ctx.x
            .state
            .accounts
            .get_mut(&ME)
            .expect("me")
            .set_request(&h, 13, Some(&[]));
        m.write(RW + 100, data);
        m.regs[7..10].copy_from_slice(&[u64::MAX, RW + 100, 13]);
        provide(&mut m, &mut ctx);
        assert_eq!(m.regs[7], codes::OK);
        m.regs[7..10].copy_from_slice(&[u64::MAX, RW + 100, 13]);
        provide(&mut m, &mut ctx);
        assert_eq!(m.regs[7], codes::HUH, "already provided");
        m.regs[7..10].copy_from_slice(&[u64::MAX, RW + 100, 12]);
        provide(&mut m, &mut ctx);
        assert_eq!(m.regs[7], codes::HUH, "not requested");
        m.regs[7..10].copy_from_slice(&[5, RW + 100, 13]);
        provide(&mut m, &mut ctx);
        assert_eq!(m.regs[7], codes::WHO);

        m.regs[7..10].copy_from_slice(&[RW, 11, 12]);
        upgrade(&mut m, &mut ctx);
        let info = &own(&ctx).info;
        assert_eq!(
            (info.code_hash.0, info.min_item_gas, info.min_memo_gas),
            (hash, 11, 12)
        );
    }
}
