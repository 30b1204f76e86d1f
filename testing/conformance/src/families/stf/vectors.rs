//! The STF vectors' own shapes: each family's `State` and `Input` as its
//! ASN schema lays them out (field order and names: `kappa`,
//! `curr_validators`, `psi`, ...), adapted to and from the node's types,
//! whose fields are named by role (`active_validators` for `κ` in every
//! module). The node's transitions know nothing of the vectors' layout; the
//! adaptation lives here, one line per field.

use std::collections::BTreeMap;

use parajam_primitives::codec::{
    current_params, BoundedSeq, Compact, Decode, Encode, EpochLength, Input as CodecInput,
};
use parajam_primitives::types::{
    AssurancesExtrinsic, AuthPools, AuthQueues, AvailabilityAssignments,
    BandersnatchRingCommitment, CoreIndex, CoresStatistics, DisputesExtrinsic, DisputesRecords,
    Ed25519Public, Entropy, EntropyBuffer, Extrinsic, Gas, GuaranteesExtrinsic, HeaderHash,
    OpaqueHash, PreimagesExtrinsic, RecentBlocks, ReportGuarantee, ReportedWorkPackage, ServiceId,
    StateRoot, TicketBody, TicketsExtrinsic, TicketsOrKeys, TimeSlot, ValidatorIndex,
    ValidatorsData, ValidatorsStatistics, WorkPackageHash, WorkReport, WorkResult,
};
use parajam_stf::{
    assurances, authorizations, disputes, history, preimages, reports, safrole, statistics,
};

/// A vector-shaped struct (`vector field: type => node field`, in the
/// schema's order) with its conversions to and from the node's struct.
macro_rules! vector_struct {
    (
        $(#[$meta:meta])*
        $name:ident => $node:path {
            $($field:ident: $ty:ty => $node_field:ident),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
        pub(crate) struct $name {
            $(pub(crate) $field: $ty),+
        }

        impl From<$name> for $node {
            fn from(vector: $name) -> Self {
                Self { $($node_field: vector.$field),+ }
            }
        }

        impl From<$node> for $name {
            fn from(node: $node) -> Self {
                Self { $($field: node.$node_field),+ }
            }
        }
    };
}

vector_struct! {
    /// `safrole.asn` `State`.
    SafroleState => safrole::State {
        tau: TimeSlot => timeslot,
        eta: EntropyBuffer => entropy,
        lambda: ValidatorsData => previous_validators,
        kappa: ValidatorsData => active_validators,
        gamma_k: ValidatorsData => pending_validators,
        iota: ValidatorsData => staging_validators,
        gamma_a: BoundedSeq<TicketBody, EpochLength> => ticket_accumulator,
        gamma_s: TicketsOrKeys => seal_keys,
        gamma_z: BandersnatchRingCommitment => epoch_root,
        post_offenders: Vec<Ed25519Public> => offenders,
    }
}

vector_struct! {
    /// `safrole.asn` `Input`.
    SafroleInput => safrole::Input {
        slot: TimeSlot => slot,
        entropy: Entropy => entropy,
        extrinsic: TicketsExtrinsic => extrinsic,
    }
}

vector_struct! {
    /// `disputes.asn` `State`.
    DisputesState => disputes::State {
        psi: DisputesRecords => disputes,
        rho: AvailabilityAssignments => availability,
        tau: TimeSlot => timeslot,
        kappa: ValidatorsData => active_validators,
        lambda: ValidatorsData => previous_validators,
    }
}

vector_struct! {
    /// `disputes.asn` `Input`.
    DisputesInput => disputes::Input {
        disputes: DisputesExtrinsic => extrinsic,
    }
}

vector_struct! {
    /// `assurances.asn` `State`.
    AssurancesState => assurances::State {
        avail_assignments: AvailabilityAssignments => availability,
        curr_validators: ValidatorsData => active_validators,
    }
}

vector_struct! {
    /// `assurances.asn` `Input`.
    AssurancesInput => assurances::Input {
        assurances: AssurancesExtrinsic => assurances,
        slot: TimeSlot => slot,
        parent: HeaderHash => parent,
    }
}

vector_struct! {
    /// `reports.asn` `State`.
    ReportsState => reports::State {
        avail_assignments: AvailabilityAssignments => availability,
        curr_validators: ValidatorsData => active_validators,
        prev_validators: ValidatorsData => previous_validators,
        entropy: EntropyBuffer => entropy,
        offenders: Vec<Ed25519Public> => offenders,
        recent_blocks: RecentBlocks => recent_blocks,
        auth_pools: AuthPools => auth_pools,
        accounts: BTreeMap<ServiceId, reports::Account> => accounts,
        cores_statistics: CoresStatistics => cores_statistics,
        services_statistics: reports::ServiceStatistics => services_statistics,
    }
}

/// `reports.asn` `Input`. Decoding accepts a report without digests (which
/// the JAM codec's `⟦D⟧_{1:I}` would reject), so that the transition can
/// reject it as `MissingWorkResults`, as the vectors expect; it does not
/// bound `E_G` by `C` either, which the core checks imply.
#[derive(Debug, Clone, PartialEq, Eq, Encode)]
pub(crate) struct ReportsInput {
    pub(crate) guarantees: GuaranteesExtrinsic,
    pub(crate) slot: TimeSlot,
    pub(crate) known_packages: Vec<WorkPackageHash>,
}

impl From<ReportsInput> for reports::Input {
    fn from(vector: ReportsInput) -> Self {
        Self {
            guarantees: vector.guarantees,
            slot: vector.slot,
            known_packages: vector.known_packages,
        }
    }
}

impl Decode for ReportsInput {
    fn decode<I: CodecInput>(input: &mut I) -> Result<Self, jam_codec::Error> {
        let Compact(count) = Compact::<u32>::decode(input)?;
        let mut guarantees = Vec::new();
        for _ in 0..count {
            guarantees.push(ReportGuarantee {
                report: decode_report(input)?,
                slot: Decode::decode(input)?,
                signatures: Decode::decode(input)?,
            });
        }
        Ok(Self {
            guarantees: GuaranteesExtrinsic::new(guarantees),
            slot: Decode::decode(input)?,
            known_packages: Decode::decode(input)?,
        })
    }
}

/// A work report (encoding GP eq. C.29) whose digests may be empty (at most
/// `I` still).
fn decode_report<I: CodecInput>(input: &mut I) -> Result<WorkReport, jam_codec::Error> {
    let package_spec = Decode::decode(input)?;
    let context = Decode::decode(input)?;
    let Compact(core_index) = Compact::<CoreIndex>::decode(input)?;
    let authorizer_hash = Decode::decode(input)?;
    let Compact(auth_gas_used) = Compact::<Gas>::decode(input)?;
    let auth_output = Decode::decode(input)?;
    let segment_root_lookup = Decode::decode(input)?;
    let results: Vec<WorkResult> = Decode::decode(input)?;
    let max = current_params()
        .map(|p| usize::from(p.max_work_items))
        .ok_or_else(|| jam_codec::Error::from("work report decoded outside a parameter scope"))?;
    if results.len() > max {
        return Err(jam_codec::Error::from("more work digests than I"));
    }
    Ok(WorkReport {
        package_spec,
        context,
        core_index,
        authorizer_hash,
        auth_gas_used,
        auth_output,
        segment_root_lookup,
        results: results.into(),
    })
}

vector_struct! {
    /// `statistics.asn` `State`.
    StatisticsState => statistics::State {
        vals_curr: ValidatorsStatistics => vals_curr,
        vals_last: ValidatorsStatistics => vals_last,
        slot: TimeSlot => timeslot,
        curr_validators: ValidatorsData => active_validators,
    }
}

vector_struct! {
    /// `statistics.asn` `Input`.
    StatisticsInput => statistics::Input {
        slot: TimeSlot => slot,
        author_index: ValidatorIndex => author_index,
        extrinsic: Extrinsic => extrinsic,
    }
}

vector_struct! {
    /// `preimages.asn` `State`.
    PreimagesState => preimages::State {
        accounts: preimages::Accounts => accounts,
        statistics: preimages::ServiceStatistics => services_statistics,
    }
}

vector_struct! {
    /// `preimages.asn` `Input`.
    PreimagesInput => preimages::Input {
        preimages: PreimagesExtrinsic => preimages,
        slot: TimeSlot => slot,
    }
}

vector_struct! {
    /// `history.asn` `State`.
    HistoryState => history::State {
        beta: RecentBlocks => recent_blocks,
    }
}

vector_struct! {
    /// `history.asn` `Input`.
    HistoryInput => history::Input {
        header_hash: HeaderHash => header_hash,
        parent_state_root: StateRoot => parent_state_root,
        accumulate_root: OpaqueHash => accumulate_root,
        work_packages: Vec<ReportedWorkPackage> => work_packages,
    }
}

vector_struct! {
    /// `authorizations.asn` `State`.
    AuthorizationsState => authorizations::State {
        auth_pools: AuthPools => auth_pools,
        auth_queues: AuthQueues => auth_queues,
    }
}

vector_struct! {
    /// `authorizations.asn` `Input`.
    AuthorizationsInput => authorizations::Input {
        slot: TimeSlot => slot,
        auths: Vec<authorizations::CoreAuthorizer> => auths,
    }
}

#[cfg(test)]
mod tests {
    use parajam_primitives::ProtocolParameters;

    use super::*;

    /// The reports vectors carry guarantees of reports without digests
    /// (expecting `missing_work_results`): the lenient decoder reads them,
    /// where the JAM codec's `⟦D⟧_{1:I}` refuses them.
    #[test]
    fn reports_input_decodes_a_report_without_digests() {
        let params = ProtocolParameters::TINY;
        let input = ReportsInput {
            guarantees: GuaranteesExtrinsic::new(vec![ReportGuarantee {
                report: WorkReport::default(),
                slot: 3,
                signatures: Vec::new(),
            }]),
            slot: 4,
            known_packages: vec![parajam_primitives::ByteArray([9; 32])],
        };
        let bytes = input.encode();
        let decoded: ReportsInput =
            parajam_primitives::decode(&bytes, &params).expect("lenient decoder");
        assert_eq!(decoded, input);
        assert!(parajam_primitives::decode::<GuaranteesExtrinsic>(&bytes, &params).is_err());
        let node: reports::Input = decoded.into();
        assert!(node.guarantees[0].report.results.is_empty());
    }

    /// Every vector field lands in the node field of the same quantity and
    /// comes back: a round trip through the node's `State` is the identity,
    /// and `κ` is the node's `active_validators`.
    #[test]
    fn safrole_state_round_trips_through_the_node_state() {
        let validators =
            ValidatorsData::new(vec![parajam_primitives::types::ValidatorData::default(); 2]);
        let state = SafroleState {
            tau: 7,
            eta: [parajam_primitives::ByteArray([1; 32]); 4],
            lambda: ValidatorsData::default(),
            kappa: validators.clone(),
            gamma_k: ValidatorsData::default(),
            iota: ValidatorsData::default(),
            gamma_a: BoundedSeq::default(),
            gamma_s: TicketsOrKeys::Keys(parajam_primitives::codec::FixedSeq::default()),
            gamma_z: parajam_primitives::ByteArray([2; 144]),
            post_offenders: vec![parajam_primitives::ByteArray([3; 32])],
        };
        let node: safrole::State = state.clone().into();
        assert_eq!(node.active_validators, validators);
        assert_eq!(node.timeslot, 7);
        assert_eq!(SafroleState::from(node), state);
    }
}
