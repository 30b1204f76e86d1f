//! Accumulation (GP §12).
//!
//! * The history and queuing rules of §12.1 (eq. 12.1 – 12.12), here: which
//!   newly available reports accumulate at once, which wait for
//!   dependencies, and the order in which queued reports become
//!   accumulatable.
//! * [`invocation`]: `Ψ_A`, one service's accumulation on the PVM.
//! * [`execution`]: `∆1`, `∆*` and `∆+` (§12.2).
//! * [`transition`]: the block's accumulation and final state integration
//!   (§12.3): privileges, authorizer queues, staging keys, accounts, the
//!   accumulation outputs `θ'` and their root, accumulation statistics, and
//!   the ready and accumulated queues `ω'`, `ξ'`.

pub mod execution;
pub mod invocation;

use std::collections::{BTreeMap, BTreeSet};

use parajam_host::accumulate::PartialState;
use parajam_host::general::LogEntry;
use parajam_primitives::codec::FixedSeq;
use parajam_primitives::types::{
    AccumulatedQueue, AccumulationOutput, AccumulationOutputs, AlwaysAccumulateMapEntry,
    AuthQueues, Gas, OpaqueHash, Privileges, ReadyQueue, ReadyRecord, ServiceAccount, ServiceId,
    TimeSlot, ValidatorsData, WorkPackageHash, WorkReport,
};
use parajam_primitives::{ByteArray, ProtocolParameters};

pub use execution::ExecutionError;
pub use invocation::{BlockContext, Executor, ExecutorError};

/// `D(r)`: a report with its dependencies, the prerequisites and the
/// segment-root-lookup keys (eq. 12.6), as a ready-queue record.
pub fn with_dependencies(report: &WorkReport) -> ReadyRecord {
    let deps: BTreeSet<WorkPackageHash> = report
        .context
        .prerequisites
        .iter()
        .copied()
        .chain(
            report
                .segment_root_lookup
                .iter()
                .map(|l| l.work_package_hash),
        )
        .collect();
    ReadyRecord {
        report: report.clone(),
        dependencies: deps.into_iter().collect(),
    }
}

/// `E(r, x)`: drops records whose package is in `x` and removes `x` from the
/// remaining dependencies (eq. 12.7).
pub fn edit_queue(
    records: &[ReadyRecord],
    accumulated: &BTreeSet<WorkPackageHash>,
) -> Vec<ReadyRecord> {
    records
        .iter()
        .filter(|r| !accumulated.contains(&r.report.package_spec.hash))
        .map(|r| ReadyRecord {
            report: r.report.clone(),
            dependencies: r
                .dependencies
                .iter()
                .filter(|d| !accumulated.contains(d))
                .copied()
                .collect(),
        })
        .collect()
}

/// `P(r)`: the package hashes of reports (eq. 12.9).
pub fn package_hashes<'a>(
    reports: impl IntoIterator<Item = &'a WorkReport>,
) -> BTreeSet<WorkPackageHash> {
    reports.into_iter().map(|r| r.package_spec.hash).collect()
}

/// `Q(r)`: the reports that become accumulatable, in order, as their
/// dependencies are accumulated before them (eq. 12.8).
pub fn accumulation_order(records: &[ReadyRecord]) -> Vec<WorkReport> {
    let mut out = Vec::new();
    let mut queue = records.to_vec();
    loop {
        let ready: Vec<WorkReport> = queue
            .iter()
            .filter(|r| r.dependencies.is_empty())
            .map(|r| r.report.clone())
            .collect();
        if ready.is_empty() {
            return out;
        }
        queue = edit_queue(&queue, &package_hashes(&ready));
        out.extend(ready);
    }
}

/// `W^!` and `W^Q`: newly available reports split into those without
/// dependencies (accumulated at once) and the queued rest, already edited
/// against the accumulated history `ξ` (eq. 12.4 – 12.5).
pub fn partition_available(
    available: &[WorkReport],
    accumulated: &BTreeSet<WorkPackageHash>,
) -> (Vec<WorkReport>, Vec<ReadyRecord>) {
    let (immediate, queued): (Vec<&WorkReport>, Vec<&WorkReport>) = available
        .iter()
        .partition(|r| r.context.prerequisites.is_empty() && r.segment_root_lookup.is_empty());
    let queued: Vec<ReadyRecord> = queued.into_iter().map(with_dependencies).collect();
    (
        immediate.into_iter().cloned().collect(),
        edit_queue(&queued, accumulated),
    )
}

/// `W*`: the reports accumulatable in a block at slot index `m = H_T mod E`
/// (eq. 12.11 – 12.12): `W^!` then `Q(q)`, where `q` is the ready queue
/// read from `ω[m]` round to `ω[m−1]`, then `W^Q`, edited by `P(W^!)`.
pub fn accumulatable(
    ready: &[Vec<ReadyRecord>],
    slot_index: usize,
    immediate: &[WorkReport],
    queued: &[ReadyRecord],
) -> Vec<WorkReport> {
    let m = slot_index.min(ready.len());
    let pending: Vec<ReadyRecord> = ready[m..]
        .iter()
        .chain(&ready[..m])
        .flatten()
        .chain(queued)
        .cloned()
        .collect();
    let q = edit_queue(&pending, &package_hashes(immediate));
    immediate
        .iter()
        .cloned()
        .chain(accumulation_order(&q))
        .collect()
}

#[cfg(test)]
mod tests {
    use parajam_primitives::types::{RefineContext, SegmentRootLookupItem, WorkPackageSpec};
    use parajam_primitives::ByteArray;

    use super::*;

    fn h(b: u8) -> WorkPackageHash {
        ByteArray([b; 32])
    }

    fn report(package: u8, prerequisites: &[u8], lookups: &[u8]) -> WorkReport {
        WorkReport {
            package_spec: WorkPackageSpec {
                hash: h(package),
                ..WorkPackageSpec::default()
            },
            context: RefineContext {
                prerequisites: prerequisites.iter().map(|&p| h(p)).collect(),
                ..RefineContext::default()
            },
            segment_root_lookup: lookups
                .iter()
                .map(|&p| SegmentRootLookupItem {
                    work_package_hash: h(p),
                    segment_tree_root: h(0),
                })
                .collect(),
            ..WorkReport::default()
        }
    }

    fn packages(reports: &[WorkReport]) -> Vec<u8> {
        reports.iter().map(|r| r.package_spec.hash.0[0]).collect()
    }

    #[test]
    fn dependencies_join_prerequisites_and_lookups() {
        let r = with_dependencies(&report(1, &[3, 2], &[2, 4]));
        assert_eq!(r.dependencies, vec![h(2), h(3), h(4)]);
    }

    #[test]
    fn edit_drops_accumulated_reports_and_dependencies() {
        let queue = vec![
            with_dependencies(&report(1, &[2], &[])),
            with_dependencies(&report(2, &[3], &[])),
        ];
        let edited = edit_queue(&queue, &BTreeSet::from([h(2)]));
        assert_eq!(edited.len(), 1);
        assert_eq!(edited[0].report.package_spec.hash, h(1));
        assert!(edited[0].dependencies.is_empty());
    }

    #[test]
    fn queued_reports_follow_their_dependencies() {
        // 4 needs 3, 3 needs 2, 2 needs nothing queued; 9 needs the missing 8.
        let queue: Vec<ReadyRecord> = [
            report(4, &[3], &[]),
            report(3, &[2], &[]),
            report(9, &[8], &[]),
        ]
        .iter()
        .map(with_dependencies)
        .chain([ReadyRecord {
            report: report(2, &[], &[]),
            dependencies: vec![],
        }])
        .collect();
        assert_eq!(packages(&accumulation_order(&queue)), vec![2, 3, 4]);
    }

    #[test]
    fn block_order_is_immediate_then_ready_queue_from_the_slot() {
        let (immediate, queued) = partition_available(
            &[
                report(1, &[], &[]),
                report(5, &[1], &[]),
                report(6, &[7], &[]),
            ],
            &BTreeSet::from([h(7)]),
        );
        assert_eq!(packages(&immediate), vec![1]);
        assert_eq!(queued.len(), 2);
        assert!(
            queued[1].dependencies.is_empty(),
            "7 was accumulated already"
        );
        // Ready queue: slot 0 holds 10 (needs 5), slot 2 holds 11 (no deps left).
        let mut ready = vec![Vec::new(); 3];
        ready[0].push(with_dependencies(&report(10, &[5], &[])));
        ready[2].push(ReadyRecord {
            report: report(11, &[], &[]),
            dependencies: vec![],
        });
        let order = accumulatable(&ready, 2, &immediate, &queued);
        assert_eq!(packages(&order), vec![1, 11, 5, 6, 10]);
    }
}

/// The state accumulation reads and writes (GP §12.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// `τ`: the prior timeslot.
    pub timeslot: TimeSlot,
    /// `η'_0`: the posterior entropy accumulator.
    pub entropy: OpaqueHash,
    /// `ω`: reports waiting for their dependencies, by slot of the epoch.
    pub ready: ReadyQueue,
    /// `ξ`: packages accumulated in the last epoch, by slot.
    pub accumulated: AccumulatedQueue,
    /// `χ`: the privileged services.
    pub privileges: Privileges,
    /// `ι`: the staging validator keys.
    pub staging: ValidatorsData,
    /// `φ`: the authorizer queues.
    pub auth_queues: AuthQueues,
    /// `δ`: the service accounts.
    pub accounts: BTreeMap<ServiceId, ServiceAccount>,
}

/// What a block brings to accumulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// `τ' = H_T`.
    pub slot: TimeSlot,
    /// `W`: the reports that became available in this block.
    pub reports: Vec<WorkReport>,
}

/// What accumulation yields besides the posterior state.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// `θ'`: the accumulation outputs, ordered.
    pub outputs: AccumulationOutputs,
    /// `M_B([E4(s) ⌢ h | (s, h) <− θ'], H_K)`: the accumulation-output root
    /// recent history takes (GP eq. 7.7).
    pub root: OpaqueHash,
    /// `S`: per service, the gas used and the digests accumulated
    /// (GP eq. `eq:accumulationstatisticsdef`).
    pub statistics: BTreeMap<ServiceId, (Gas, u32)>,
    /// Log entries the services wrote (JIP-1), in order of execution.
    pub logs: Vec<(ServiceId, LogEntry)>,
}

/// `M_B([E4(s) ⌢ E(h) | (s, h) <− θ'], H_K)`.
pub fn outputs_root(outputs: &[AccumulationOutput]) -> OpaqueHash {
    let leaves: Vec<Vec<u8>> = outputs
        .iter()
        .map(|o| [o.service.to_le_bytes().as_slice(), &o.hash.0].concat())
        .collect();
    ByteArray(parajam_merkle::binary::well_balanced_root_with(
        &leaves,
        parajam_crypto::keccak_256,
    ))
}

/// Accumulates a block's available reports (GP §12.1 – 12.3): the reports
/// accumulatable now (`W*`) run through `∆+` within the block's gas
/// `max(G_T, G_A·C + Σ χ_Z)`, the privileged state and accounts come out
/// of the merged partial state, accumulated services get `a_a = τ'`, and
/// the ready and accumulated queues move on.
///
/// Takes the prior state by value: its accounts move into the partial state
/// the services work on, instead of being copied.
pub fn transition(
    executor: &Executor<'_>,
    pre: State,
    input: &Input,
    params: &ProtocolParameters,
) -> Result<(State, Output), ExecutionError> {
    let State {
        timeslot: prior_slot,
        entropy,
        ready: prior_ready,
        accumulated: prior_accumulated,
        privileges,
        staging,
        auth_queues,
        accounts,
    } = pre;
    let slot_index = (input.slot % params.epoch_length) as usize;
    let history: BTreeSet<WorkPackageHash> = prior_accumulated.iter().flatten().copied().collect();
    let (immediate, queued) = partition_available(&input.reports, &history);
    let accumulatable = accumulatable(&prior_ready, slot_index, &immediate, &queued);

    let free: BTreeMap<ServiceId, Gas> = privileges
        .always_acc
        .iter()
        .map(|e| (e.id, e.gas))
        .collect();
    let gas = block_gas(&free, params);
    let partial = PartialState {
        accounts,
        staging,
        auth_queues,
        manager: privileges.bless,
        assigners: privileges.assign.to_vec(),
        delegator: privileges.designate,
        registrar: privileges.register,
        always_acc: free.clone(),
    };
    let block = BlockContext {
        timeslot: input.slot,
        entropy: &entropy,
        params,
    };
    let (post, done) =
        execution::accumulate_sequential(executor, &block, gas, &accumulatable, partial, &free)?;
    let accumulated_now = &accumulatable[..done.reports.min(accumulatable.len())];

    // S: gas used and digests accumulated per service.
    let mut statistics: BTreeMap<ServiceId, (Gas, u32)> = BTreeMap::new();
    for &(s, u) in &done.gas_used {
        let entry = statistics.entry(s).or_default();
        entry.0 = entry.0.saturating_add(u);
    }
    for d in accumulated_now.iter().flat_map(|r| r.results.iter()) {
        statistics.entry(d.service_id).or_default().1 += 1;
    }
    statistics.retain(|_, (g, n)| *g != 0 || *n != 0);

    // δ‡: the last-accumulation slot of every accumulated service.
    let mut accounts = post.accounts;
    for s in statistics.keys() {
        if let Some(a) = accounts.get_mut(s) {
            a.info.last_accumulation_slot = input.slot;
        }
    }

    let newest: BTreeSet<WorkPackageHash> = package_hashes(accumulated_now);
    let (ready, accumulated) = shift_queues(
        &prior_ready,
        &prior_accumulated,
        prior_slot,
        input.slot,
        &queued,
        &newest,
        params,
    );

    let outputs: AccumulationOutputs = done
        .outputs
        .iter()
        .map(|&(service, hash)| AccumulationOutput { service, hash })
        .collect();
    let root = outputs_root(&outputs);
    let state = State {
        timeslot: input.slot,
        entropy,
        ready,
        accumulated,
        privileges: Privileges {
            bless: post.manager,
            assign: FixedSeq::new(post.assigners),
            designate: post.delegator,
            register: post.registrar,
            always_acc: post
                .always_acc
                .iter()
                .map(|(&id, &gas)| AlwaysAccumulateMapEntry { id, gas })
                .collect(),
        },
        staging: post.staging,
        auth_queues: post.auth_queues,
        accounts,
    };
    Ok((
        state,
        Output {
            outputs,
            root,
            statistics,
            logs: done.logs,
        },
    ))
}

/// The block's accumulation gas `max(G_T, G_A·C + Σ χ_Z)` (GP §12.3).
fn block_gas(free: &BTreeMap<ServiceId, Gas>, params: &ProtocolParameters) -> Gas {
    free.values()
        .fold(
            params
                .gas_accumulate_report
                .saturating_mul(u64::from(params.core_count)),
            |a, g| a.saturating_add(*g),
        )
        .max(params.gas_total_accumulation)
}

/// `ξ'` and `ω'` (GP §12.3, the last two equations): the packages
/// accumulated now join the accumulated history as its newest slot; the
/// ready queue's slot for `τ'` takes the newly queued reports, slots of
/// skipped timeslots are emptied, and every record is edited against the
/// newest history.
fn shift_queues(
    prior_ready: &ReadyQueue,
    prior_accumulated: &AccumulatedQueue,
    prior_slot: TimeSlot,
    slot: TimeSlot,
    queued: &[ReadyRecord],
    newest: &BTreeSet<WorkPackageHash>,
    params: &ProtocolParameters,
) -> (ReadyQueue, AccumulatedQueue) {
    let epoch = params.epoch_length as usize;
    let m = (slot % params.epoch_length) as usize;
    let mut accumulated: Vec<Vec<WorkPackageHash>> =
        prior_accumulated.iter().skip(1).cloned().collect();
    accumulated.push(newest.iter().copied().collect());
    let elapsed = slot.saturating_sub(prior_slot) as usize;
    let mut ready: Vec<Vec<ReadyRecord>> = vec![Vec::new(); epoch];
    for i in 0..epoch {
        let index = (m + epoch - i) % epoch;
        ready[index] = if i == 0 {
            edit_queue(queued, newest)
        } else if i < elapsed {
            Vec::new()
        } else {
            edit_queue(
                prior_ready.get(index).map_or(&[][..], Vec::as_slice),
                newest,
            )
        };
    }
    (FixedSeq::new(ready), FixedSeq::new(accumulated))
}
