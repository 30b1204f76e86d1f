//! State components (GP section 4.2, eq. 4.4) and their serialization into
//! the key/value form of GP appendix D (eq. D.2).

use serde::{Deserialize, Serialize};

use super::common::{
    BandersnatchPublic, BandersnatchRingCommitment, Ed25519Public, Gas, HeaderHash, OpaqueHash,
    ServiceId, StateRoot, TimeSlot, ValidatorsData, WorkPackageHash, WorkReportHash,
};
use super::extrinsic::TicketBody;
use super::work::WorkReport;
use crate::bytes::{ByteArray, Bytes};
use crate::codec::{
    AuthPoolMaxSize, AuthQueueSize, BoundedSeq, CoreCount, Decode, Encode, EpochLength, FixedSeq,
    RecentHistorySize, ValidatorsCount,
};

/// `α[c] ∈ ⟦ℍ⟧_{:O}`: a core's authorizer pool (GP eq. 8.1).
pub type AuthPool = BoundedSeq<OpaqueHash, AuthPoolMaxSize>;
/// `α`: authorizer pools of every core.
pub type AuthPools = FixedSeq<AuthPool, CoreCount>;
/// `φ[c] ∈ ⟦ℍ⟧_Q`: a core's authorizer queue (GP eq. 8.1).
pub type AuthQueue = FixedSeq<OpaqueHash, AuthQueueSize>;
/// `φ`: authorizer queues of every core.
pub type AuthQueues = FixedSeq<AuthQueue, CoreCount>;

/// An authorizer `(u, f)` whose encoding is hashed into pools.
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct Authorizer {
    /// Authorizer code hash.
    pub code_hash: OpaqueHash,
    /// Configuration blob.
    pub params: Bytes,
}

/// A reported package `(p, e)` of a recent block: work-package hash and segment root.
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct ReportedWorkPackage {
    /// Work-package hash.
    pub hash: WorkReportHash,
    /// Its exports (segment) root.
    pub exports_root: OpaqueHash,
}

/// `β_H` item: `(h, b, s, p)` (GP eq. 7.2).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct BlockInfo {
    /// `h`: header hash.
    pub header_hash: HeaderHash,
    /// `b`: accumulation-output super-peak.
    pub beefy_root: OpaqueHash,
    /// `s`: state root (zero until the next block fills it in).
    pub state_root: StateRoot,
    /// `p`: packages reported in the block.
    pub reported: Vec<ReportedWorkPackage>,
}

/// A Merkle mountain range: its peaks, `None` where a height has no peak
/// (GP appendix E.2; encoding `E_M`, eq. E.9: `↕[¿x]`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct Mmr {
    /// Peaks, lowest height first.
    pub peaks: Vec<Option<OpaqueHash>>,
}

/// `β = (β_H, β_B)`: recent blocks and the accumulation-output belt (GP eq. 7.1).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct RecentBlocks {
    /// `β_H ∈ ⟦…⟧_{:H}`.
    pub history: BoundedSeq<BlockInfo, RecentHistorySize>,
    /// `β_B`.
    pub mmr: Mmr,
}

/// `γ_s`: the sealing-key sequence, tickets or fallback keys (GP eq. 6.5).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
// jam-codec's derive casts the variant index to `u8`.
#[allow(clippy::cast_possible_truncation)]
pub enum TicketsOrKeys {
    /// `⟦T⟧_E`.
    #[codec(index = 0)]
    Tickets(FixedSeq<TicketBody, EpochLength>),
    /// `⟦H_B⟧_E` (fallback mode).
    #[codec(index = 1)]
    Keys(FixedSeq<BandersnatchPublic, EpochLength>),
}

/// `γ = (γ_k, γ_z, γ_s, γ_a)`: Safrole state (GP eq. 6.3; serialized under `C(4)`).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct SafroleState {
    /// `γ_k`: the next epoch's validator keys.
    pub pending_validators: ValidatorsData,
    /// `γ_z`: the ring commitment of `γ_k`'s Bandersnatch keys.
    pub epoch_root: BandersnatchRingCommitment,
    /// `γ_s`: the current epoch's sealing keys.
    pub seal_keys: TicketsOrKeys,
    /// `γ_a ∈ ⟦T⟧_{:E}`: the ticket accumulator.
    pub ticket_accumulator: BoundedSeq<TicketBody, EpochLength>,
}

/// `ψ = (ψ_G, ψ_B, ψ_W, ψ_O)`: judgements (GP eq. 10.1; `C(5)`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct DisputesRecords {
    /// `ψ_G`: reports judged good.
    pub good: Vec<WorkReportHash>,
    /// `ψ_B`: reports judged bad.
    pub bad: Vec<WorkReportHash>,
    /// `ψ_W`: reports judged wonky.
    pub wonky: Vec<WorkReportHash>,
    /// `ψ_O`: offending validators.
    pub offenders: Vec<Ed25519Public>,
}

/// `ρ[c]`: a report pending availability and when it was reported (GP eq. 11.1).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct AvailabilityAssignment {
    /// `r`: the report.
    pub report: WorkReport,
    /// `t`: the timeslot it was reported in.
    pub timeout: TimeSlot,
}

/// `ρ ∈ ⟦¿(R, N_T)⟧_C` (GP eq. 11.1; `C(10)`).
pub type AvailabilityAssignments = FixedSeq<Option<AvailabilityAssignment>, CoreCount>;

/// An always-accumulate entry `(s, g)` of `χ_Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct AlwaysAccumulateMapEntry {
    /// Service.
    pub id: ServiceId,
    /// Gas it is granted.
    pub gas: Gas,
}

/// `χ = (χ_M, χ_A, χ_V, χ_R, χ_Z)`: privileged services (GP eq. 9.9; `C(12)`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct Privileges {
    /// `χ_M`: the manager (bless) service.
    pub bless: ServiceId,
    /// `χ_A ∈ ⟦N_S⟧_C`: per-core assigner services.
    pub assign: FixedSeq<ServiceId, CoreCount>,
    /// `χ_V`: the designator service.
    pub designate: ServiceId,
    /// `χ_R`: the registrar service.
    pub register: ServiceId,
    /// `χ_Z`: always-accumulate services and their gas, ordered by service.
    pub always_acc: Vec<AlwaysAccumulateMapEntry>,
}

/// A validator's activity record in `π_V` / `π_L` (GP eq. 13.1), fixed-width `E_4` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct ValidatorActivityRecord {
    /// `b`: blocks produced.
    pub blocks: u32,
    /// `t`: tickets introduced.
    pub tickets: u32,
    /// `p`: preimages introduced.
    pub pre_images: u32,
    /// `d`: total octets of preimages introduced.
    pub pre_images_size: u32,
    /// `g`: reports guaranteed.
    pub guarantees: u32,
    /// `a`: availability assurances made.
    pub assurances: u32,
}

/// `π_V` or `π_L`.
pub type ValidatorsStatistics = FixedSeq<ValidatorActivityRecord, ValidatorsCount>;

/// A core's activity record in `π_C` (GP eq. 13.6), general naturals in the encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct CoreActivityRecord {
    /// `d`: octets written to the DA layer.
    #[codec(compact)]
    pub da_load: u32,
    /// `p`: assurers making the super-majority.
    #[codec(compact)]
    pub popularity: u16,
    /// `i`: segments imported.
    #[codec(compact)]
    pub imports: u16,
    /// `x`: extrinsics used.
    #[codec(compact)]
    pub extrinsic_count: u16,
    /// `z`: octets of extrinsics used.
    #[codec(compact)]
    pub extrinsic_size: u32,
    /// `e`: segments exported.
    #[codec(compact)]
    pub exports: u16,
    /// `l`: work-bundle octets.
    #[codec(compact)]
    pub bundle_size: u32,
    /// `u`: gas used.
    #[codec(compact)]
    pub gas_used: Gas,
}

/// `π_C`.
pub type CoresStatistics = FixedSeq<CoreActivityRecord, CoreCount>;

/// A service's activity record in `π_S` (GP eq. 13.7), general naturals in the encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct ServiceActivityRecord {
    /// `p.0`: preimages provided.
    #[codec(compact)]
    pub provided_count: u16,
    /// `p.1`: octets of preimages provided.
    #[codec(compact)]
    pub provided_size: u32,
    /// `r.0`: work items refined.
    #[codec(compact)]
    pub refinement_count: u32,
    /// `r.1`: refinement gas.
    #[codec(compact)]
    pub refinement_gas_used: Gas,
    /// `i`: segments imported.
    #[codec(compact)]
    pub imports: u32,
    /// `x`: extrinsics used.
    #[codec(compact)]
    pub extrinsic_count: u32,
    /// `z`: octets of extrinsics.
    #[codec(compact)]
    pub extrinsic_size: u32,
    /// `e`: segments exported.
    #[codec(compact)]
    pub exports: u32,
    /// `a.0`: work items accumulated.
    #[codec(compact)]
    pub accumulate_count: u32,
    /// `a.1`: accumulation gas.
    #[codec(compact)]
    pub accumulate_gas_used: Gas,
}

/// An entry of `π_S`, ordered by service id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct ServicesStatisticsMapEntry {
    /// Service id.
    pub id: ServiceId,
    /// Its activity this block.
    pub record: ServiceActivityRecord,
}

/// `π = (π_V, π_L, π_C, π_S)` (GP eq. 13.1; `C(13)`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct Statistics {
    /// `π_V`: this epoch's validator activity.
    pub vals_curr: ValidatorsStatistics,
    /// `π_L`: last epoch's validator activity.
    pub vals_last: ValidatorsStatistics,
    /// `π_C`: this block's core activity.
    pub cores: CoresStatistics,
    /// `π_S`: this block's service activity.
    pub services: Vec<ServicesStatisticsMapEntry>,
}

/// A report ready for accumulation with its unaccumulated dependencies (GP eq. 12.3).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct ReadyRecord {
    /// The report.
    pub report: WorkReport,
    /// Work packages it still waits for.
    pub dependencies: Vec<WorkPackageHash>,
}

/// `ω ∈ ⟦⟦(R, {ℍ})⟧⟧_E` (GP eq. 12.3; `C(14)`).
pub type ReadyQueue = FixedSeq<Vec<ReadyRecord>, EpochLength>;

/// `ξ ∈ ⟦{ℍ}⟧_E` (GP eq. 12.1; `C(15)`).
pub type AccumulatedQueue = FixedSeq<Vec<WorkPackageHash>, EpochLength>;

/// An accumulation output `(s, h)` of `θ` (GP eq. 7.4; `C(16)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct AccumulationOutput {
    /// The service.
    pub service: ServiceId,
    /// The hash it yielded.
    pub hash: OpaqueHash,
}

/// `θ` (GP eq. 7.4; `C(16)`).
pub type AccumulationOutputs = Vec<AccumulationOutput>;

/// The fixed part of a service account `δ[s]` as serialized under `C(255, s)`
/// (GP eq. 9.3 and D.2; the leading version octet is 0 in 0.7.x).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct ServiceInfo {
    /// Serialization version, `0`.
    pub version: u8,
    /// `c`: code hash.
    pub code_hash: OpaqueHash,
    /// `b`: balance.
    pub balance: u64,
    /// `g`: minimum gas per accumulated item.
    pub min_item_gas: Gas,
    /// `m`: minimum gas per transfer memo.
    pub min_memo_gas: Gas,
    /// `o`: octets of storage footprint.
    pub bytes: u64,
    /// `f`: gratis storage offset.
    pub deposit_offset: u64,
    /// `i`: items of storage footprint.
    pub items: u32,
    /// `r`: creation timeslot.
    pub creation_slot: TimeSlot,
    /// `a`: most recent accumulation timeslot.
    pub last_accumulation_slot: TimeSlot,
    /// `p`: parent service.
    pub parent_service: ServiceId,
}

/// A 31-octet state key (GP eq. D.1).
pub type StateKey = ByteArray<31>;

/// One entry of the serialized state.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct KeyValue {
    /// The state key.
    pub key: StateKey,
    /// The serialized value.
    pub value: Bytes,
}

/// The serialized state with its Merkle root, as carried by traces and the fuzzer protocol.
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct RawState {
    /// The Merkle root of `keyvals`.
    pub state_root: StateRoot,
    /// Key/value pairs.
    pub keyvals: Vec<KeyValue>,
}

/// The index `i` of a state component's key `C(i)` (GP eq. D.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum StateComponent {
    /// `α`.
    AuthPools = 1,
    /// `φ`.
    AuthQueues = 2,
    /// `β`.
    RecentBlocks = 3,
    /// `γ`.
    Safrole = 4,
    /// `ψ`.
    Disputes = 5,
    /// `η`.
    Entropy = 6,
    /// `ι`.
    StagingValidators = 7,
    /// `κ`.
    ActiveValidators = 8,
    /// `λ`.
    PreviousValidators = 9,
    /// `ρ`.
    AvailabilityAssignments = 10,
    /// `τ`.
    Timeslot = 11,
    /// `χ`.
    Privileges = 12,
    /// `π`.
    Statistics = 13,
    /// `ω`.
    ReadyQueue = 14,
    /// `ξ`.
    Accumulated = 15,
    /// `θ`.
    AccumulationOutputs = 16,
}

impl StateComponent {
    /// Every component, in key order.
    pub const ALL: [Self; 16] = [
        Self::AuthPools,
        Self::AuthQueues,
        Self::RecentBlocks,
        Self::Safrole,
        Self::Disputes,
        Self::Entropy,
        Self::StagingValidators,
        Self::ActiveValidators,
        Self::PreviousValidators,
        Self::AvailabilityAssignments,
        Self::Timeslot,
        Self::Privileges,
        Self::Statistics,
        Self::ReadyQueue,
        Self::Accumulated,
        Self::AccumulationOutputs,
    ];

    /// `C(i)`: `[i, 0, 0, …]`.
    pub fn key(self) -> StateKey {
        let mut key = [0u8; 31];
        key[0] = self as u8;
        ByteArray(key)
    }

    /// The component stored under `key`, if `key` is a component key.
    pub fn from_key(key: &StateKey) -> Option<Self> {
        if key.0[1..].iter().any(|&b| b != 0) {
            return None;
        }
        Self::ALL.into_iter().find(|c| *c as u8 == key.0[0])
    }
}

/// `C(255, s)`: the key of service `s`'s account info (GP eq. D.1).
pub fn service_info_key(service: ServiceId) -> StateKey {
    let n = service.to_le_bytes();
    let mut key = [0u8; 31];
    key[0] = 255;
    key[1] = n[0];
    key[3] = n[1];
    key[5] = n[2];
    key[7] = n[3];
    ByteArray(key)
}

/// The service `s` if `key` is `C(255, s)`.
pub fn service_of_info_key(key: &StateKey) -> Option<ServiceId> {
    let k = &key.0;
    let zero_elsewhere = [2, 4, 6].iter().all(|&i| k[i] == 0) && k[8..].iter().all(|&b| b == 0);
    (k[0] == 255 && zero_elsewhere).then(|| u32::from_le_bytes([k[1], k[3], k[5], k[7]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_keys_round_trip() {
        for c in StateComponent::ALL {
            assert_eq!(StateComponent::from_key(&c.key()), Some(c));
        }
        assert_eq!(StateComponent::from_key(&service_info_key(1)), None);
    }

    #[test]
    fn service_info_key_interleaves_the_id() {
        let key = service_info_key(0x0403_0201);
        assert_eq!(&key.0[..9], &[255, 1, 0, 2, 0, 3, 0, 4, 0]);
        assert_eq!(service_of_info_key(&key), Some(0x0403_0201));
        assert_eq!(service_of_info_key(&StateComponent::Timeslot.key()), None);
    }
}
