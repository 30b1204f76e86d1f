//! The work-report computation `Ξ(p, c)` (GP 0.7.2 §14.4, eq.
//! `eq:workdigestfunction`): check a work package, run `Ψ_I` and every
//! item's `Ψ_R`, and make the report with its availability specification,
//! the audit bundle and the exported segments.
//!
//! Before any code runs the package must satisfy the limits of §14.3:
//! items (`1..=I`), total exports `W_X`, imports `W_M` and extrinsics `W_T`
//! (eq. 14.4), the bundle-size bound `W_B` (eq. `eq:checkextractsize`), the
//! gas limits (eq. `eq:wplimits`), and every extrinsic blob must be the
//! preimage its `(h, l)` names. A package that fails is not guaranteed; the
//! caller gets the reason.

use std::collections::BTreeMap;

use jam_codec::Encode;
use parajam_host::general::Accounts;
use parajam_merkle::binary::justification;
use parajam_primitives::types::{
    CoreIndex, ImportSpec, OpaqueHash, RefineLoad, SegmentRootLookupItem, WorkExecResult,
    WorkPackage, WorkPackageSpec, WorkReport, WorkResult,
};
use parajam_primitives::{ByteArray, ProtocolParameters};

use crate::availability::{self, AvailabilityError};
use crate::{Guarantor, GuarantorError, Outcome};

/// At most this many work packages named by hash in one report's
/// segment-root lookup (GP 14.4: `|l| ≤ 8`).
const MAX_LOOKUPS: usize = 8;

/// Where a guarantor finds the segments a package imports: exported
/// segment trees by root, and the segment roots of reported packages.
pub trait SegmentSource {
    /// All segments of the export tree with root `root`, if known.
    fn segments(&self, root: &OpaqueHash) -> Option<&[Vec<u8>]>;
    /// The segment root of the work package with hash `package`, if known.
    fn segment_root(&self, package: &OpaqueHash) -> Option<OpaqueHash>;
}

/// Exported segments kept in memory: a [`SegmentSource`] for a dev chain
/// or a test (the D³L stand-in).
#[derive(Debug, Clone, Default)]
pub struct ExportStore {
    by_root: BTreeMap<OpaqueHash, Vec<Vec<u8>>>,
    by_package: BTreeMap<OpaqueHash, OpaqueHash>,
}

impl ExportStore {
    /// Remembers the exports of the package `spec` describes.
    pub fn record(&mut self, spec: &WorkPackageSpec, exports: Vec<Vec<u8>>) {
        self.by_package.insert(spec.hash, spec.exports_root);
        self.by_root.insert(spec.exports_root, exports);
    }
}

impl SegmentSource for ExportStore {
    fn segments(&self, root: &OpaqueHash) -> Option<&[Vec<u8>]> {
        self.by_root.get(root).map(Vec::as_slice)
    }

    fn segment_root(&self, package: &OpaqueHash) -> Option<OpaqueHash> {
        self.by_package.get(package).copied()
    }
}

/// No imports available: for packages that import nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSegments;

impl SegmentSource for NoSegments {
    fn segments(&self, _: &OpaqueHash) -> Option<&[Vec<u8>]> {
        None
    }

    fn segment_root(&self, _: &OpaqueHash) -> Option<OpaqueHash> {
        None
    }
}

/// Why a work package cannot be guaranteed.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// More work items than `I`.
    #[error("{count} work items, at most {max}")]
    TooManyItems {
        /// Items in the package.
        count: usize,
        /// `I`.
        max: u16,
    },
    /// A total over its limit (eq. 14.4, `eq:wplimits`).
    #[error("{what}: {total} over the limit {max}")]
    OverLimit {
        /// Which total.
        what: &'static str,
        /// The package's.
        total: u64,
        /// The limit.
        max: u64,
    },
    /// The bundle-size bound (eq. `eq:checkextractsize`).
    #[error("work bundle of {size} octets, over W_B = {max}")]
    BundleTooLarge {
        /// `|j| + |f| + Σ S(w)`.
        size: u64,
        /// `W_B`.
        max: u32,
    },
    /// Extrinsic blobs were not supplied for every item.
    #[error("extrinsic data for {given} items, the package has {items}")]
    ExtrinsicItems {
        /// Items with data given.
        given: usize,
        /// Items in the package.
        items: usize,
    },
    /// An item's extrinsic blobs are not the preimages its specs name.
    #[error("item {item} extrinsic {index}: {reason}")]
    Extrinsic {
        /// The work item.
        item: usize,
        /// The extrinsic.
        index: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// An imported segment is not known.
    #[error("item {item} imports segment {index} of {root}, which is not available")]
    ImportUnavailable {
        /// The work item.
        item: usize,
        /// The root or package hash named.
        root: OpaqueHash,
        /// The segment index.
        index: u16,
    },
    /// More than 8 work packages named by hash.
    #[error("{0} imported packages named by hash, at most 8")]
    TooManyLookups(usize),
    /// `Ψ_I` did not authorize the package.
    #[error("not authorized: {0:?}")]
    Unauthorized(WorkExecResult),
    /// The authorizer trace is over `W_R`.
    #[error("authorizer trace of {len} octets, over W_R = {max}")]
    TraceTooLarge {
        /// `|t|`.
        len: usize,
        /// `W_R`.
        max: u32,
    },
    /// The availability specification could not be made.
    #[error("availability: {0}")]
    Availability(#[from] AvailabilityError),
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] GuarantorError),
}

/// A guaranteed package: its report, and what the guarantor distributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guaranteed {
    /// The work report.
    pub report: WorkReport,
    /// The audit bundle `E(p, x#, i#, j#)`.
    pub bundle: Vec<u8>,
    /// The exported segments of all items, in order.
    pub exports: Vec<Vec<u8>>,
    /// `Ψ_I`'s outcome.
    pub authorization: Outcome,
    /// Each item's `Ψ_R` outcome (with its logs), before the `⊖` rule.
    pub items: Vec<Outcome>,
}

/// Checks `package` with its items' `extrinsics` against the limits of GP
/// §14.3 before anything runs.
pub fn check(
    params: &ProtocolParameters,
    package: &WorkPackage,
    extrinsics: &[Vec<Vec<u8>>],
) -> Result<(), PackageError> {
    let items = &package.items;
    if items.len() > usize::from(params.max_work_items) {
        return Err(PackageError::TooManyItems {
            count: items.len(),
            max: params.max_work_items,
        });
    }
    let sum = |f: &dyn Fn(&parajam_primitives::types::WorkItem) -> u64| -> u64 {
        items.iter().map(f).fold(0u64, u64::saturating_add)
    };
    let totals = [
        (
            "exports (W_X)",
            sum(&|w| u64::from(w.export_count)),
            u64::from(params.max_package_exports),
        ),
        (
            "imports (W_M)",
            sum(&|w| w.import_segments.len() as u64),
            u64::from(params.max_package_imports),
        ),
        (
            "extrinsics (W_T)",
            sum(&|w| w.extrinsic.len() as u64),
            u64::from(params.max_package_extrinsics),
        ),
        // eq. `eq:wplimits` writes `<`; its prose ("at most") and the
        // report check of §11 (eq. 11.30) use `≤`, which we follow.
        (
            "accumulate gas (G_A)",
            sum(&|w| w.accumulate_gas_limit),
            params.gas_accumulate_report,
        ),
        (
            "refine gas (G_R)",
            sum(&|w| w.refine_gas_limit),
            params.gas_refine,
        ),
    ];
    for (what, total, max) in totals {
        if total > max {
            return Err(PackageError::OverLimit { what, total, max });
        }
    }
    let size = bundle_bound(params, package);
    if size > u64::from(params.max_bundle_size) {
        return Err(PackageError::BundleTooLarge {
            size,
            max: params.max_bundle_size,
        });
    }
    if extrinsics.len() != items.len() {
        return Err(PackageError::ExtrinsicItems {
            given: extrinsics.len(),
            items: items.len(),
        });
    }
    for (item, (work, blobs)) in items.iter().zip(extrinsics).enumerate() {
        if blobs.len() != work.extrinsic.len() {
            return Err(PackageError::Extrinsic {
                item,
                index: blobs.len().min(work.extrinsic.len()),
                reason: "missing or extra blob",
            });
        }
        for (index, (spec, blob)) in work.extrinsic.iter().zip(blobs).enumerate() {
            let reason = if blob.len() != spec.len as usize {
                "wrong length"
            } else if parajam_crypto::blake2b_256(blob) != spec.hash.0 {
                "wrong hash"
            } else {
                continue;
            };
            return Err(PackageError::Extrinsic {
                item,
                index,
                reason,
            });
        }
    }
    Ok(())
}

/// `|j| + |f| + Σ S(w)` of eq. `eq:checkextractsize`, with `S(w) = |y| +
/// |i| · W_G^⊞ + Σ l` and `W_G^⊞ = W_G + 32⌈log₂ W_M⌉`.
pub fn bundle_bound(params: &ProtocolParameters, package: &WorkPackage) -> u64 {
    let footprint = u64::from(params.segment_size)
        + 32 * u64::from(
            u32::from(params.max_package_imports)
                .max(1)
                .next_power_of_two()
                .trailing_zeros(),
        );
    let items = package.items.iter().map(|w| {
        (w.payload.0.len() as u64)
            .saturating_add((w.import_segments.len() as u64).saturating_mul(footprint))
            .saturating_add(w.extrinsic.iter().map(|x| u64::from(x.len)).sum::<u64>())
    });
    items.fold(
        (package.authorization.0.len() + package.authorizer_config.0.len()) as u64,
        u64::saturating_add,
    )
}

/// The imported segments of a package, resolved.
struct Imports {
    /// Per item, the segment data `S(w)`.
    data: Vec<Vec<Vec<u8>>>,
    /// Per item, each segment's justification `J_0(s, n)`.
    justifications: Vec<Vec<Vec<[u8; 32]>>>,
    /// The package hashes named, with their segment roots.
    lookup: BTreeMap<OpaqueHash, OpaqueHash>,
}

fn resolve_imports(
    package: &WorkPackage,
    source: &impl SegmentSource,
) -> Result<Imports, PackageError> {
    let mut imports = Imports {
        data: Vec::new(),
        justifications: Vec::new(),
        lookup: BTreeMap::new(),
    };
    for (item, work) in package.items.iter().enumerate() {
        let mut data = Vec::new();
        let mut justifications = Vec::new();
        for spec in &work.import_segments {
            let unavailable = || PackageError::ImportUnavailable {
                item,
                root: spec.tree_root,
                index: spec.segment_index(),
            };
            let root = segment_root(spec, source, &mut imports.lookup).ok_or_else(unavailable)?;
            let segments = source.segments(&root).ok_or_else(unavailable)?;
            let n = usize::from(spec.segment_index());
            let segment = segments.get(n).ok_or_else(unavailable)?;
            data.push(segment.clone());
            justifications.push(justification(segments, n, 0));
        }
        imports.data.push(data);
        imports.justifications.push(justifications);
    }
    if imports.lookup.len() > MAX_LOOKUPS {
        return Err(PackageError::TooManyLookups(imports.lookup.len()));
    }
    Ok(imports)
}

/// `L(r)`: the segment root an import names, recording package hashes.
fn segment_root(
    spec: &ImportSpec,
    source: &impl SegmentSource,
    lookup: &mut BTreeMap<OpaqueHash, OpaqueHash>,
) -> Option<OpaqueHash> {
    if !spec.is_package_hash() {
        return Some(spec.tree_root);
    }
    let root = source.segment_root(&spec.tree_root)?;
    lookup.insert(spec.tree_root, root);
    Some(root)
}

impl Guarantor<'_> {
    /// `Ξ(p, c)`: checks `package`, runs `Ψ_I` and every item's `Ψ_R` on
    /// core `core` with the items' `extrinsics` and the segments `source`
    /// holds, and makes the work report with the audit bundle and exports.
    pub fn process(
        &self,
        accounts: &impl Accounts,
        package: &WorkPackage,
        core: CoreIndex,
        extrinsics: &[Vec<Vec<u8>>],
        source: &impl SegmentSource,
    ) -> Result<Guaranteed, PackageError> {
        check(self.params, package, extrinsics)?;
        let imports = resolve_imports(package, source)?;

        let authorization = self.is_authorized(accounts, package, core)?;
        let WorkExecResult::Ok(trace) = &authorization.result else {
            return Err(PackageError::Unauthorized(authorization.result));
        };
        let max_output = self.params.max_report_output_size;
        if trace.0.len() > max_output as usize {
            return Err(PackageError::TraceTooLarge {
                len: trace.0.len(),
                max: max_output,
            });
        }

        let mut digests = Vec::new();
        let mut exports = Vec::new();
        let mut items = Vec::new();
        // `z`: the trace and the earlier items' outputs.
        let mut output_size = trace.0.len();
        let segment_size = self.params.segment_size as usize;
        for (index, work) in package.items.iter().enumerate() {
            let outcome = self.refine(
                accounts,
                package,
                core,
                index,
                &trace.0,
                extrinsics,
                &imports.data,
                exports.len() as u64,
            )?;
            let mut result = outcome.result.clone();
            let mut item_exports = outcome.exports.clone();
            if let WorkExecResult::Ok(output) = &result {
                if output.0.len() + output_size > max_output as usize {
                    // `⊖`: the output would take the report over `W_R`.
                    result = WorkExecResult::Oversize;
                    item_exports = vec![vec![0; segment_size]; usize::from(work.export_count)];
                } else {
                    output_size += output.0.len();
                }
            }
            digests.push(WorkResult {
                service_id: work.service,
                code_hash: work.code_hash,
                payload_hash: ByteArray(parajam_crypto::blake2b_256(&work.payload.0)),
                accumulate_gas: work.accumulate_gas_limit,
                result,
                refine_load: RefineLoad {
                    gas_used: outcome.gas_used,
                    imports: u16::try_from(work.import_segments.len()).unwrap_or(u16::MAX),
                    extrinsic_count: u16::try_from(work.extrinsic.len()).unwrap_or(u16::MAX),
                    extrinsic_size: work.extrinsic.iter().map(|x| x.len).sum(),
                    exports: work.export_count,
                },
            });
            exports.extend(item_exports);
            items.push(outcome);
        }

        let bundle = bundle(package, extrinsics, &imports);
        let package_hash = ByteArray(parajam_crypto::blake2b_256(&package.encode()));
        let package_spec = availability::specify(self.params, package_hash, &bundle, &exports)?;
        let report = WorkReport {
            package_spec,
            context: package.context.clone(),
            core_index: core,
            authorizer_hash: authorizer_hash(package),
            auth_gas_used: authorization.gas_used,
            auth_output: trace.clone(),
            segment_root_lookup: imports
                .lookup
                .iter()
                .map(|(package, root)| SegmentRootLookupItem {
                    work_package_hash: *package,
                    segment_tree_root: *root,
                })
                .collect(),
            // `check` bounded the items by `I`.
            results: digests.into(),
        };
        Ok(Guaranteed {
            report,
            bundle,
            exports,
            authorization,
            items,
        })
    }
}

/// `p_a = H(p_u ⌢ p_f)`: the package's authorizer hash.
pub fn authorizer_hash(package: &WorkPackage) -> OpaqueHash {
    let mut preimage = package.auth_code_hash.0.to_vec();
    preimage.extend_from_slice(&package.authorizer_config.0);
    ByteArray(parajam_crypto::blake2b_256(&preimage))
}

/// The audit bundle `E(p, x#, i#, j#)`: the package, then every extrinsic
/// blob and imported segment as they are (their lengths are in the package),
/// then each justification with its length.
fn bundle(package: &WorkPackage, extrinsics: &[Vec<Vec<u8>>], imports: &Imports) -> Vec<u8> {
    let mut out = package.encode();
    for blob in extrinsics.iter().flatten() {
        out.extend_from_slice(blob);
    }
    for segment in imports.data.iter().flatten() {
        out.extend_from_slice(segment);
    }
    for path in imports.justifications.iter().flatten() {
        path.encode_to(&mut out);
    }
    out
}
