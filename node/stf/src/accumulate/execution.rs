//! The accumulation functions of GP 0.7.2 §12.2: `∆1` (one service),
//! `∆*` (all services of a round, each on the same initial state, then
//! merged) and `∆+` (rounds in sequence within the block's gas, deferred
//! transfers of one round feeding the next).

use std::collections::{BTreeMap, BTreeSet};

use parajam_host::accumulate::{DeferredTransfer, PartialState};
use parajam_host::general::LogEntry;
use parajam_primitives::types::{Gas, OpaqueHash, ServiceAccount, ServiceId, WorkReport};

use super::invocation::{
    AccumulationInput, AccumulationOutcome, BlockContext, Executor, ExecutorError, Operand,
};

/// Why a block's accumulation is invalid or could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum ExecutionError {
    /// The engine failed, or the backends disagreed in crosscheck mode.
    #[error(transparent)]
    Executor(#[from] ExecutorError),
    /// Two services of one round created the same service index: the
    /// block is invalid (GP §12.2, the note after `∆*`).
    #[error("service {0} created by two services in one round")]
    DuplicateNewService(ServiceId),
}

/// What the accumulation of a block (or of one round) produced.
#[derive(Debug, Clone, Default)]
pub struct Accumulated {
    /// `n`: how many reports were accumulated (a prefix of the input).
    pub reports: usize,
    /// `b`: the accumulation outputs `(service, hash)`.
    pub outputs: BTreeSet<(ServiceId, OpaqueHash)>,
    /// `u`: gas used, per service and round, in order.
    pub gas_used: Vec<(ServiceId, Gas)>,
    /// Log entries of the services, in order of execution.
    pub logs: Vec<(ServiceId, LogEntry)>,
}

/// `∆1(e, t, r, f, s)` (GP eq. `eq:accone`): service `s` accumulates the
/// transfers to it and then its digests, with their gas plus its free gas.
pub fn accumulate_one(
    executor: &Executor<'_>,
    block: &BlockContext<'_>,
    state: &PartialState,
    transfers: &[DeferredTransfer],
    reports: &[WorkReport],
    free: &BTreeMap<ServiceId, Gas>,
    service: ServiceId,
) -> Result<AccumulationOutcome, ExecutorError> {
    let mut gas = free.get(&service).copied().unwrap_or(0);
    let mut inputs = Vec::new();
    for t in transfers.iter().filter(|t| t.dest == service) {
        gas = gas.saturating_add(t.gas);
        inputs.push(AccumulationInput::Transfer(t.clone()));
    }
    for r in reports {
        for d in r.results.iter().filter(|d| d.service_id == service) {
            gas = gas.saturating_add(d.accumulate_gas);
            inputs.push(AccumulationInput::Operand(Operand {
                package_hash: r.package_spec.hash,
                segment_root: r.package_spec.exports_root,
                authorizer_hash: r.authorizer_hash,
                payload_hash: d.payload_hash,
                gas_limit: d.accumulate_gas,
                result: d.result.clone(),
                auth_trace: r.auth_output.to_vec(),
            }));
        }
    }
    super::invocation::accumulate(executor, state, block, service, gas, &inputs)
}

/// `R(o, a, b)` (GP §12.2): the manager's change if it made one, else the
/// holder's own.
fn replace_if_changed(
    original: ServiceId,
    by_manager: ServiceId,
    by_holder: ServiceId,
) -> ServiceId {
    if by_manager == original {
        by_holder
    } else {
        by_manager
    }
}

/// `P(d, p)` (GP eq. 12.21 – 12.22): integrates provided preimages still
/// requested and not yet provided, at slot `τ'`.
pub fn provide(
    accounts: &mut BTreeMap<ServiceId, ServiceAccount>,
    provisions: impl IntoIterator<Item = (ServiceId, Vec<u8>)>,
    timeslot: u32,
) {
    for (service, blob) in provisions {
        let Some(account) = accounts.get_mut(&service) else {
            continue;
        };
        let Ok(length) = u32::try_from(blob.len()) else {
            continue;
        };
        let hash = OpaqueHash::from(parajam_crypto::blake2b_256(&blob));
        if account.request(&hash, length).is_some_and(|h| h.is_empty()) {
            account.set_request(&hash, length, Some(&[timeslot]));
            account.set_preimage(&hash, Some(blob));
        }
    }
}

/// `∆*(e, t, r, f)` (GP eq. `eq:accpar`): every service with digests in
/// `r`, free gas in `f` or transfers in `t` accumulates on the same
/// initial state; the results are merged (own accounts, new and removed
/// services, privileges by `R`, provided preimages). Returns the merged
/// state, the transfers of the round and the round's outputs and gas.
pub fn accumulate_parallel(
    executor: &Executor<'_>,
    block: &BlockContext<'_>,
    state: &PartialState,
    transfers: &[DeferredTransfer],
    reports: &[WorkReport],
    free: &BTreeMap<ServiceId, Gas>,
) -> Result<(PartialState, Vec<DeferredTransfer>, Accumulated), ExecutionError> {
    let services: BTreeSet<ServiceId> = reports
        .iter()
        .flat_map(|r| r.results.iter().map(|d| d.service_id))
        .chain(free.keys().copied())
        .chain(transfers.iter().map(|t| t.dest))
        .collect();
    let mut outcomes: BTreeMap<ServiceId, AccumulationOutcome> = BTreeMap::new();
    for &s in &services {
        let outcome = accumulate_one(executor, block, state, transfers, reports, free, s)?;
        outcomes.insert(s, outcome);
    }
    // A service that did not accumulate in this round leaves the state as
    // it was (`∆1` with no inputs and no gas changes nothing).
    let post = |s: ServiceId| outcomes.get(&s).map_or(state, |o| &o.state);

    let mut round = Accumulated::default();
    let mut out_transfers = Vec::new();
    let mut accounts = state.accounts.clone();
    let mut new_accounts: BTreeMap<ServiceId, ServiceAccount> = BTreeMap::new();
    let mut removed: BTreeSet<ServiceId> = BTreeSet::new();
    let mut provisions = Vec::new();
    for (&s, outcome) in &outcomes {
        round.gas_used.push((s, outcome.gas_used));
        if let Some(h) = outcome.yielded {
            round.outputs.insert((s, h));
        }
        out_transfers.extend(outcome.transfers.iter().cloned());
        round
            .logs
            .extend(outcome.logs.iter().map(|l| (s, l.clone())));
        // n: the service's own account and the accounts it created.
        for (&id, account) in &outcome.state.accounts {
            if id == s {
                accounts.insert(id, account.clone());
            } else if !state.accounts.contains_key(&id)
                && new_accounts.insert(id, account.clone()).is_some()
            {
                return Err(ExecutionError::DuplicateNewService(id));
            }
        }
        // m: the accounts it removed.
        removed.extend(
            state
                .accounts
                .keys()
                .filter(|id| !outcome.state.accounts.contains_key(id)),
        );
        provisions.extend(outcome.provisions.iter().cloned());
    }
    accounts.extend(new_accounts);
    accounts.retain(|id, _| !removed.contains(id));
    provide(&mut accounts, provisions, block.timeslot);

    let manager_post = post(state.manager);
    let assigners = state
        .assigners
        .iter()
        .enumerate()
        .map(|(c, &a)| {
            replace_if_changed(
                a,
                manager_post.assigners.get(c).copied().unwrap_or(a),
                post(a).assigners.get(c).copied().unwrap_or(a),
            )
        })
        .collect();
    let mut auth_queues = state.auth_queues.clone();
    for (c, &a) in state.assigners.iter().enumerate() {
        if let (Some(slot), Some(queue)) = (auth_queues.get_mut(c), post(a).auth_queues.get(c)) {
            slot.clone_from(queue);
        }
    }
    let merged = PartialState {
        accounts,
        staging: post(state.delegator).staging.clone(),
        auth_queues,
        manager: manager_post.manager,
        assigners,
        delegator: replace_if_changed(
            state.delegator,
            manager_post.delegator,
            post(state.delegator).delegator,
        ),
        registrar: replace_if_changed(
            state.registrar,
            manager_post.registrar,
            post(state.registrar).registrar,
        ),
        always_acc: manager_post.always_acc.clone(),
    };
    Ok((merged, out_transfers, round))
}

/// `∆+(g, t, r, e, f)` (GP eq. `eq:accseq`): rounds of `∆*` while there is
/// anything to accumulate: each takes the longest prefix of the remaining
/// reports whose digests' gas fits the remaining gas, plus the transfers of
/// the previous round (whose gas joins the budget).
pub fn accumulate_sequential(
    executor: &Executor<'_>,
    block: &BlockContext<'_>,
    gas: Gas,
    reports: &[WorkReport],
    state: PartialState,
    free: &BTreeMap<ServiceId, Gas>,
) -> Result<(PartialState, Accumulated), ExecutionError> {
    let mut total = Accumulated::default();
    let mut state = state;
    let mut gas = gas;
    let mut transfers: Vec<DeferredTransfer> = Vec::new();
    let mut free = free.clone();
    let mut rest = reports;
    loop {
        let mut used: Gas = 0;
        let mut i = 0;
        for r in rest {
            let need: Gas = r
                .results
                .iter()
                .map(|d| d.accumulate_gas)
                .fold(0, Gas::saturating_add);
            match used.checked_add(need) {
                Some(sum) if sum <= gas => {
                    used = sum;
                    i += 1;
                }
                _ => break,
            }
        }
        if transfers.len() + i + free.len() == 0 {
            return Ok((state, total));
        }
        let (now, later) = rest.split_at(i);
        let (next, out, round) =
            accumulate_parallel(executor, block, &state, &transfers, now, &free)?;
        let budget = transfers
            .iter()
            .map(|t| t.gas)
            .fold(gas, Gas::saturating_add);
        let spent = round
            .gas_used
            .iter()
            .map(|(_, u)| *u)
            .fold(0, Gas::saturating_add);
        gas = budget.saturating_sub(spent);
        total.reports += i;
        total.outputs.extend(round.outputs);
        total.gas_used.extend(round.gas_used);
        total.logs.extend(round.logs);
        state = next;
        transfers = out;
        free = BTreeMap::new();
        rest = later;
    }
}
