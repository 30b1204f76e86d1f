//! The reports' part of the core and service activity statistics (GP §13.2).

use parajam_primitives::types::{CoresStatistics, Gas, GuaranteesExtrinsic};

use super::ServiceStatistics;

fn add<T>(counter: &mut T, by: impl TryInto<T>, max: T)
where
    T: Copy + std::ops::Add<Output = T> + PartialOrd + std::ops::Sub<Output = T>,
{
    let by = by.try_into().unwrap_or(max);
    *counter = if max - *counter < by {
        max
    } else {
        *counter + by
    };
}

/// Adds the refinement load of the incoming reports to the core statistics
/// (`R(c)` and `L(c)` of π_C, GP §13.2) and the service statistics (`R(s)`
/// of π_S: `r = (count, gas)`, `i, x, z, e`). Counters saturate at their
/// type's width.
pub fn record_refinements(
    cores: &mut CoresStatistics,
    services: &mut ServiceStatistics,
    guarantees: &GuaranteesExtrinsic,
) {
    for g in guarantees.iter() {
        let report = &g.report;
        let Some(core) = cores.get_mut(usize::from(report.core_index)) else {
            continue;
        };
        add(&mut core.bundle_size, report.package_spec.length, u32::MAX);
        for digest in report.results.iter() {
            let load = &digest.refine_load;
            add(&mut core.imports, load.imports, u16::MAX);
            add(&mut core.extrinsic_count, load.extrinsic_count, u16::MAX);
            add(&mut core.extrinsic_size, load.extrinsic_size, u32::MAX);
            add(&mut core.exports, load.exports, u16::MAX);
            add(&mut core.gas_used, load.gas_used, Gas::MAX);
            let record = services.entry(digest.service_id).or_default();
            add(&mut record.refinement_count, 1u32, u32::MAX);
            add(&mut record.refinement_gas_used, load.gas_used, Gas::MAX);
            add(&mut record.imports, load.imports, u32::MAX);
            add(&mut record.extrinsic_count, load.extrinsic_count, u32::MAX);
            add(&mut record.extrinsic_size, load.extrinsic_size, u32::MAX);
            add(&mut record.exports, load.exports, u32::MAX);
        }
    }
}
