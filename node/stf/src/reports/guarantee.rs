//! The checks of each guarantee `(r, t, a)` of `E_G` on its own (eq. 11.23
//! – 11.27): its core and order, its credentials, slot, assignment,
//! offenders and signatures; then its report ([`super::report`]) and the
//! packages over the whole extrinsic ([`super::packages`]).

use std::collections::BTreeSet;

use jam_codec::Encode;
use parajam_primitives::types::{CoreIndex, Ed25519Public, ValidatorSignature, WorkReport};
use parajam_primitives::ProtocolParameters;

use super::Error;
use super::{assignment, packages::check_packages, report::check_report, ErrorKind, Input, State};
use crate::assurances::ed25519_verify;

/// `X_G`: the context string of a guarantee signature (eq. 11.27).
pub const CONTEXT_GUARANTEE: &[u8] = b"jam_guarantee";
/// The message a guarantor signs: `X_G ⌢ H(E(r))` (eq. 11.26).
pub fn signed_message(report: &WorkReport) -> Vec<u8> {
    let hash = parajam_crypto::blake2b_256(&report.encode());
    [CONTEXT_GUARANTEE, &hash[..]].concat()
}
/// Checks `E_G` against the state (eq. 11.2 – 11.42) and returns the
/// reporters set `G` (eq. 11.26).
///
/// Each guarantee in turn: core, ordering, digests present, credentials
/// (count, order, indices), slot, assignment, offenders, signatures; then
/// the report (`check_report`). Then the packages over the whole
/// extrinsic (`check_packages`).
pub fn validate(
    pre: &State,
    input: &Input,
    params: &ProtocolParameters,
) -> Result<BTreeSet<Ed25519Public>, Error> {
    let slot = input.slot;
    let offenders: BTreeSet<Ed25519Public> = pre.offenders.iter().copied().collect();
    let current = assignment::current(
        &pre.entropy,
        slot,
        &pre.active_validators,
        &offenders,
        params,
    );
    let previous = assignment::previous(
        &pre.entropy,
        slot,
        &pre.active_validators,
        &pre.previous_validators,
        &offenders,
        params,
    );
    let rotation = u32::from(params.rotation_period).max(1);
    let oldest_slot = rotation * (slot / rotation).saturating_sub(1);

    let mut reporters = BTreeSet::new();
    let mut last_core: Option<CoreIndex> = None;
    for (guarantee, g) in input.guarantees.iter().enumerate() {
        let report = &g.report;
        let core = report.core_index;
        if core >= params.core_count {
            return Err(ErrorKind::BadCoreIndex { core }.at(guarantee));
        }
        if last_core.is_some_and(|last| last >= core) {
            return Err(ErrorKind::OutOfOrderGuarantee.at(guarantee));
        }
        last_core = Some(core);
        if report.results.is_empty() {
            return Err(ErrorKind::MissingWorkResults.at(guarantee));
        }
        check_credentials(&g.signatures, guarantee, params)?;
        if g.slot > slot {
            return Err(ErrorKind::FutureReportSlot { slot: g.slot }.at(guarantee));
        }
        if g.slot < oldest_slot {
            return Err(ErrorKind::ReportEpochBeforeLast { slot: g.slot }.at(guarantee));
        }
        let assignment = if g.slot / rotation == slot / rotation {
            &current
        } else {
            &previous
        };
        let message = signed_message(report);
        for credential in &g.signatures {
            let validator = credential.validator_index;
            let v = usize::from(validator);
            if assignment.cores.get(v) != Some(&core) {
                return Err(ErrorKind::WrongAssignment { validator, core }.at(guarantee));
            }
            if assignment.banned.get(v).copied().unwrap_or(true) {
                return Err(ErrorKind::BannedValidator { validator }.at(guarantee));
            }
            let key = assignment
                .keys
                .get(v)
                .map(|k| k.ed25519)
                .unwrap_or_default();
            if !ed25519_verify(&key, &message, &credential.signature) {
                return Err(ErrorKind::BadSignature { validator }.at(guarantee));
            }
            reporters.insert(key);
        }
        check_report(pre, guarantee, report, slot, params)?;
    }
    check_packages(pre, input)?;
    Ok(reporters)
}
/// A credential list: two or three (eq. 11.23), ordered by validator index
/// without duplicates (eq. 11.25), every index below `V`.
fn check_credentials(
    credentials: &[ValidatorSignature],
    guarantee: usize,
    params: &ProtocolParameters,
) -> Result<(), Error> {
    if !(2..=3).contains(&credentials.len()) {
        return Err(ErrorKind::InsufficientGuarantees {
            count: credentials.len(),
        }
        .at(guarantee));
    }
    if credentials
        .windows(2)
        .any(|w| w[0].validator_index >= w[1].validator_index)
    {
        return Err(ErrorKind::NotSortedOrUniqueGuarantors.at(guarantee));
    }
    if let Some(c) = credentials
        .iter()
        .find(|c| c.validator_index >= params.validators_count)
    {
        return Err(ErrorKind::BadValidatorIndex {
            validator: c.validator_index,
        }
        .at(guarantee));
    }
    Ok(())
}
