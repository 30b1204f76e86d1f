//! The checks of the package dependencies over the whole extrinsic.

use std::collections::{BTreeMap, BTreeSet};

use parajam_primitives::types::{OpaqueHash, WorkPackageHash};

use super::{Error, ErrorKind, Input, State};

/// The checks of the package dependencies over the whole extrinsic: unique
/// and unknown packages (eq. 11.32, 11.38), prerequisites present
/// (eq. 11.39), segment-root lookups correct (eq. 11.41).
pub(super) fn check_packages(pre: &State, input: &Input) -> Result<(), Error> {
    let mut incoming: BTreeMap<WorkPackageHash, OpaqueHash> = BTreeMap::new();
    for (guarantee, g) in input.guarantees.iter().enumerate() {
        let spec = &g.report.package_spec;
        if incoming.insert(spec.hash, spec.exports_root).is_some() {
            return Err(ErrorKind::DuplicatePackage.at(guarantee));
        }
    }
    let recent: BTreeMap<WorkPackageHash, OpaqueHash> = pre
        .recent_blocks
        .history
        .iter()
        .flat_map(|b| b.reported.iter())
        .map(|p| (p.hash, p.exports_root))
        .collect();
    let known: BTreeSet<&WorkPackageHash> = input.known_packages.iter().collect();
    for (guarantee, g) in input.guarantees.iter().enumerate() {
        let hash = &g.report.package_spec.hash;
        if known.contains(hash) || recent.contains_key(hash) {
            return Err(ErrorKind::DuplicatePackage.at(guarantee));
        }
    }
    for (guarantee, g) in input.guarantees.iter().enumerate() {
        let report = &g.report;
        let present = |p: &WorkPackageHash| incoming.contains_key(p) || recent.contains_key(p);
        if !report.context.prerequisites.iter().all(present) {
            return Err(ErrorKind::DependencyMissing.at(guarantee));
        }
        for item in &report.segment_root_lookup {
            let root = incoming
                .get(&item.work_package_hash)
                .or_else(|| recent.get(&item.work_package_hash));
            if root != Some(&item.segment_tree_root) {
                return Err(ErrorKind::SegmentRootLookupInvalid.at(guarantee));
            }
        }
    }
    Ok(())
}
