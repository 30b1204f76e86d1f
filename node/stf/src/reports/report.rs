//! The checks of one work report on its own against the prior state:
//! sizes and dependency limits, digests against their services, its core,
//! and its refinement context (anchor and lookup anchor).

use parajam_primitives::types::{TimeSlot, WorkExecResult, WorkReport};
use parajam_primitives::ProtocolParameters;

use super::{Error, ErrorKind, State};

/// `|r_t| + Σ_{d ∈ r_d ∩ B} |d_l|` (eq. 11.8): the octets of the report's
/// authorizer trace and successful outputs.
pub fn report_output_size(report: &WorkReport) -> usize {
    report
        .results
        .iter()
        .filter_map(|d| match &d.result {
            WorkExecResult::Ok(output) => Some(output.len()),
            _ => None,
        })
        .fold(report.auth_output.len(), usize::saturating_add)
}
/// The checks of one report on its own against the prior state: size and
/// dependency limits (eq. 11.3, 11.8), digests against their services
/// (eq. 11.30, 11.42), core free and authorized (eq. 11.29), anchor and
/// lookup anchor (eq. 11.33 – 11.34).
pub(super) fn check_report(
    pre: &State,
    guarantee: usize,
    report: &WorkReport,
    slot: TimeSlot,
    params: &ProtocolParameters,
) -> Result<(), Error> {
    if report_output_size(report) > params.max_report_output_size as usize {
        return Err(ErrorKind::WorkReportTooBig.at(guarantee));
    }
    let dependencies = report.segment_root_lookup.len() + report.context.prerequisites.len();
    if dependencies > usize::from(params.max_report_dependencies) {
        return Err(ErrorKind::TooManyDependencies.at(guarantee));
    }
    let core = report.core_index;
    if pre
        .availability
        .get(usize::from(core))
        .is_some_and(Option::is_some)
    {
        return Err(ErrorKind::CoreEngaged { core }.at(guarantee));
    }
    let authorized = pre
        .auth_pools
        .get(usize::from(core))
        .is_some_and(|pool| pool.contains(&report.authorizer_hash));
    if !authorized {
        return Err(ErrorKind::CoreUnauthorized { core }.at(guarantee));
    }
    let mut total_gas: u128 = 0;
    for digest in report.results.iter() {
        let service = digest.service_id;
        let Some(account) = pre.accounts.get(&service) else {
            return Err(ErrorKind::BadServiceId { service }.at(guarantee));
        };
        if digest.code_hash != account.service.code_hash {
            return Err(ErrorKind::BadCodeHash { service }.at(guarantee));
        }
        if digest.accumulate_gas < account.service.min_item_gas {
            return Err(ErrorKind::ServiceItemGasTooLow { service }.at(guarantee));
        }
        total_gas += u128::from(digest.accumulate_gas);
    }
    if total_gas > u128::from(params.gas_accumulate_report) {
        return Err(ErrorKind::WorkReportGasTooHigh.at(guarantee));
    }
    let context = &report.context;
    let Some(anchor) = pre
        .recent_blocks
        .history
        .iter()
        .find(|b| b.header_hash == context.anchor)
    else {
        return Err(ErrorKind::AnchorNotRecent.at(guarantee));
    };
    if anchor.state_root != context.state_root {
        return Err(ErrorKind::BadStateRoot.at(guarantee));
    }
    if anchor.beefy_root != context.beefy_root {
        return Err(ErrorKind::BadBeefyMmrRoot.at(guarantee));
    }
    if context.lookup_anchor_slot < slot.saturating_sub(params.max_lookup_anchor_age) {
        return Err(ErrorKind::LookupAnchorNotRecent.at(guarantee));
    }
    Ok(())
}
