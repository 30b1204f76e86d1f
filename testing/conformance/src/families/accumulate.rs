//! `stf/accumulate/{tiny,full}/*.bin` (`accumulate.asn`): whole-block
//! accumulation with services running on the PVM.
//!
//! Its own runner rather than the generic STF `Family`: the vectors name
//! service storage by its raw keys, while parajam keeps accounts as the
//! merklized state does, by hashed key (GP §D.1; the raw keys a service
//! writes are never known afterwards). So the pre-state and the expected
//! post-state are both converted to parajam's form, and the comparison,
//! with its field-by-field diff, is made there.
//!
//! Every case runs the services on both PVM backends and requires them to
//! agree on every invocation (results, gas, the whole accumulation
//! context), unless the recompiler is unavailable on this machine, in
//! which case the interpreter runs alone and the case says so on failure.

use std::collections::BTreeMap;
use std::path::Path;

use parajam_primitives::codec::{Decode, Encode, FixedSeq};
use parajam_primitives::types::{
    AccumulatedQueue, OpaqueHash, Privileges, ReadyQueue, ServiceAccount, ServiceActivityRecord,
    ServiceId, ServiceInfo, ServicesStatisticsMapEntry, TimeSlot, ValidatorData, WorkReport,
};
use parajam_primitives::{Bytes, ProtocolParameters};
use parajam_stf::accumulate;
use parajam_stf::preimages::RequestHistory;

use super::stf::Diff;
use super::{decode_round_trip, files_with_ext, read, stem, PARAM_SETS};
use crate::{Case, Failure, Outcome};

/// `StorageMapEntry`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
struct StorageEntry {
    key: Bytes,
    value: Bytes,
}

/// `PreimagesBlobMapEntry`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
struct BlobEntry {
    hash: OpaqueHash,
    blob: Bytes,
}

/// `PreimagesRequestsMapEntry`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
struct RequestEntry {
    hash: OpaqueHash,
    length: u32,
    value: RequestHistory,
}

/// `ServiceAccount` of the schema.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
struct VectorAccount {
    service: ServiceInfo,
    storage: Vec<StorageEntry>,
    preimage_blobs: Vec<BlobEntry>,
    preimage_requests: Vec<RequestEntry>,
}

/// `AccountsMapEntry`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
struct AccountEntry {
    id: ServiceId,
    data: VectorAccount,
}

/// `State` of the schema.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
struct VectorState {
    slot: TimeSlot,
    entropy: OpaqueHash,
    ready_queue: ReadyQueue,
    accumulated: AccumulatedQueue,
    privileges: Privileges,
    statistics: Vec<ServicesStatisticsMapEntry>,
    accounts: Vec<AccountEntry>,
}

/// `Input` of the schema.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
struct VectorInput {
    slot: TimeSlot,
    reports: Vec<WorkReport>,
}

/// `Output ::= CHOICE { ok OpaqueHash, err NULL }`.
// jam-codec's derive casts the variant index to `u8`.
#[allow(clippy::cast_possible_truncation)]
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
enum VectorOutput {
    #[codec(index = 0)]
    Ok(OpaqueHash),
    #[codec(index = 1)]
    Err,
}

type Vector = (VectorInput, VectorState, VectorOutput, VectorState);

/// The vector state in parajam's form.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Normal {
    state: accumulate::State,
    statistics: BTreeMap<ServiceId, ServiceActivityRecord>,
}

fn account(v: &VectorAccount) -> ServiceAccount {
    let mut a = ServiceAccount::with_info(v.service.clone());
    // Entries go in as they are; the footprint is the vector's own.
    for e in &v.storage {
        a.entries.insert(
            parajam_primitives::types::storage_key(&e.key),
            e.value.to_vec(),
        );
    }
    for e in &v.preimage_blobs {
        a.entries.insert(
            parajam_primitives::types::preimage_key(&e.hash),
            e.blob.to_vec(),
        );
    }
    for e in &v.preimage_requests {
        a.entries.insert(
            parajam_primitives::types::request_key(&e.hash, e.length),
            parajam_primitives::types::encode_request(&e.value),
        );
    }
    a
}

fn normalize(v: &VectorState, params: &ProtocolParameters) -> Normal {
    let validators = vec![ValidatorData::default(); usize::from(params.validators_count)];
    let queue = FixedSeq::new(vec![OpaqueHash::ZERO; usize::from(params.auth_queue_size)]);
    Normal {
        state: accumulate::State {
            timeslot: v.slot,
            entropy: v.entropy,
            ready: v.ready_queue.clone(),
            accumulated: v.accumulated.clone(),
            privileges: v.privileges.clone(),
            staging: FixedSeq::new(validators),
            auth_queues: FixedSeq::new(vec![queue; usize::from(params.core_count)]),
            accounts: v
                .accounts
                .iter()
                .map(|e| (e.id, account(&e.data)))
                .collect(),
        },
        statistics: v.statistics.iter().map(|e| (e.id, e.record)).collect(),
    }
}

/// Lists one case per vector file and parameter set.
pub fn collect(dir: &Path, cases: &mut Vec<Case>) {
    for params in PARAM_SETS {
        let sub = dir.join("stf").join("accumulate").join(params.name);
        match files_with_ext(&sub, "bin") {
            Ok(files) => {
                for bin in files {
                    cases.push(Case::new(
                        "stf-accumulate",
                        Some(params.name),
                        stem(&bin),
                        move || check_file(&bin, &params),
                    ));
                }
            }
            Err(e) => cases.push(Case::broken("stf-accumulate", Some(params.name), e)),
        }
    }
}

fn check_file(bin: &Path, params: &ProtocolParameters) -> Outcome {
    let bytes = read(bin)?;
    let (input, pre, want_output, want_post): Vector = decode_round_trip(&bytes, params)?;
    let (executor, note) = super::shared_executor()?;
    let normal = normalize(&pre, params);
    let run = accumulate::transition(
        &executor,
        normal.state.clone(),
        &accumulate::Input {
            slot: input.slot,
            reports: input.reports.clone(),
        },
        params,
    );
    let (got_output, got) = match run {
        Ok((state, out)) => {
            // π_S is the block's own: it starts empty (GP eq. 13.12).
            let mut statistics: BTreeMap<ServiceId, ServiceActivityRecord> = BTreeMap::new();
            for (&s, &(gas, count)) in &out.statistics {
                let r = statistics.entry(s).or_default();
                r.accumulate_gas_used = gas;
                r.accumulate_count = count;
            }
            (VectorOutput::Ok(out.root), Normal { state, statistics })
        }
        Err(e) => {
            if matches!(want_output, VectorOutput::Ok(_)) {
                return Err(Failure(format!("accumulation failed: {e}{note}")));
            }
            (VectorOutput::Err, normal.clone())
        }
    };
    let want = normalize(&want_post, params);
    let mut problems = Vec::new();
    if got_output != want_output {
        problems.push(format!(
            "output differs\n  got:  {got_output:?}\n  want: {want_output:?}"
        ));
    }
    let mut diff = Diff::default();
    diff_state(&got, &want, &mut diff);
    diff.report_post_state(got != want, &mut problems);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure(format!("{}{note}", problems.join("\n"))))
    }
}

fn diff_state(got: &Normal, want: &Normal, d: &mut Diff) {
    let (g, w) = (&got.state, &want.state);
    d.value("slot", &g.timeslot, &w.timeslot);
    d.value("entropy", &g.entropy, &w.entropy);
    d.seq("ready_queue", &g.ready, &w.ready, Diff::value);
    d.seq("accumulated", &g.accumulated, &w.accumulated, Diff::value);
    d.value("privileges", &g.privileges, &w.privileges);
    d.map("statistics", &got.statistics, &want.statistics, Diff::value);
    d.map("accounts", &g.accounts, &w.accounts, |d, path, g, w| {
        d.value(&format!("{path}.info"), &g.info, &w.info);
        d.map(
            &format!("{path}.entries"),
            &g.entries,
            &w.entries,
            Diff::value,
        );
    });
}
