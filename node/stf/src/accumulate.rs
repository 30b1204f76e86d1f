//! Accumulation (GP §12). This module holds, for now, the history and
//! queuing rules of §12.1 (eq. 12.1 – 12.12): which newly available reports
//! accumulate at once, which wait for dependencies, and the order in which
//! queued reports become accumulatable. The execution part (`∆+`, `∆*`,
//! `∆1` with the PVM) builds on these.

use std::collections::BTreeSet;

use parajam_primitives::types::{ReadyRecord, WorkPackageHash, WorkReport};

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
