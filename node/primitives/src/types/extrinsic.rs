//! Block extrinsics: tickets, preimages, guarantees, assurances, disputes
//! (GP sections 6.7, 10, 11, 12; encodings GP eq. C.13 – C.18).

use serde::{Deserialize, Serialize};

use super::common::{
    BandersnatchRingVrfSignature, Ed25519Public, Ed25519Signature, HeaderHash, ServiceId, TicketId,
    TimeSlot, ValidatorIndex, WorkReportHash,
};
use super::work::WorkReport;
use crate::bytes::Bytes;
use crate::codec::{
    AvailBitfieldBytes, BoundedSeq, CoreCount, Decode, Encode, FixedBytes, FixedSeq,
    MaxTicketsPerBlock, SuperMajority, ValidatorsCount,
};

/// A ticket submission `(r, p)` (GP eq. 6.29).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct TicketEnvelope {
    /// `r ∈ N_N`: the ticket entry index.
    pub attempt: u8,
    /// `p`: ring VRF proof whose output is the ticket id.
    pub signature: BandersnatchRingVrfSignature,
}

/// `T`: a ticket `(y, r)` (GP eq. 6.6; encoding C.34).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Encode,
    Decode,
    Serialize,
    Deserialize,
)]
pub struct TicketBody {
    /// `y`: ticket identifier.
    pub id: TicketId,
    /// `r`: entry index.
    pub attempt: u8,
}

/// `E_T ∈ ⟦(N_N, F̄)⟧_{:K}` (GP eq. 6.29).
pub type TicketsExtrinsic = BoundedSeq<TicketEnvelope, MaxTicketsPerBlock>;

/// A preimage `(s, p)` (GP eq. 12.37; encoding C.14).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Preimage {
    /// `s`: the requesting service.
    pub requester: ServiceId,
    /// `p`: the data.
    pub blob: Bytes,
}

/// `E_P` (GP eq. 12.37).
pub type PreimagesExtrinsic = Vec<Preimage>;

/// A guarantor credential `(v, s)` (GP eq. 11.23).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct ValidatorSignature {
    /// `v`: validator index.
    pub validator_index: ValidatorIndex,
    /// `s`: Ed25519 signature over the report hash.
    pub signature: Ed25519Signature,
}

/// A guarantee `(r, t, a)` (GP eq. 11.23; encoding C.15).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct ReportGuarantee {
    /// `r`: the work report.
    pub report: WorkReport,
    /// `t`: timeslot of the guarantee.
    pub slot: TimeSlot,
    /// `a`: two or three credentials, ordered by validator index.
    pub signatures: Vec<ValidatorSignature>,
}

/// `E_G ∈ ⟦(R, N_T, ⟦(N_V, V)⟧_{2:3})⟧_{:C}` (GP eq. 11.23).
pub type GuaranteesExtrinsic = BoundedSeq<ReportGuarantee, CoreCount>;

/// An assurance `(a, f, v, s)` (GP eq. 11.10; encoding C.16).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct AvailAssurance {
    /// `a`: the parent block hash.
    pub anchor: HeaderHash,
    /// `f ∈ 𝔹_C`: one bit per core, packed least significant first (eq. C.10).
    pub bitfield: FixedBytes<AvailBitfieldBytes>,
    /// `v`: validator index.
    pub validator_index: ValidatorIndex,
    /// `s`: Ed25519 signature.
    pub signature: Ed25519Signature,
}

impl AvailAssurance {
    /// Whether bit `core` of the availability bitfield is set.
    pub fn is_available(&self, core: usize) -> bool {
        self.bitfield
            .get(core / 8)
            .is_some_and(|b| b & (1 << (core % 8)) != 0)
    }
}

/// `E_A ∈ ⟦(ℍ, 𝔹_C, N_V, V)⟧_{:V}` (GP eq. 11.10).
pub type AssurancesExtrinsic = BoundedSeq<AvailAssurance, ValidatorsCount>;

/// A judgement `(v, i, s)` (GP eq. 10.2).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Judgement {
    /// `v`: validity vote.
    pub vote: bool,
    /// `i`: judge's validator index.
    pub index: ValidatorIndex,
    /// `s`: Ed25519 signature.
    pub signature: Ed25519Signature,
}

/// A verdict `(r, a, j)` with exactly `⌊2V/3⌋+1` judgements (GP eq. 10.2).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Verdict {
    /// `r`: the report hash.
    pub target: WorkReportHash,
    /// `a`: epoch index of the key set used.
    pub age: u32,
    /// `j`: judgements.
    pub votes: FixedSeq<Judgement, SuperMajority>,
}

/// A culprit `(r, k, s)`: a guarantor of an invalid report (GP eq. 10.2).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Culprit {
    /// `r`: the report hash.
    pub target: WorkReportHash,
    /// `k`: the guarantor's Ed25519 key.
    pub key: Ed25519Public,
    /// `s`: the guarantee signature.
    pub signature: Ed25519Signature,
}

/// A fault `(r, v, k, s)`: a judgement against the verdict (GP eq. 10.2).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Fault {
    /// `r`: the report hash.
    pub target: WorkReportHash,
    /// `v`: the vote cast.
    pub vote: bool,
    /// `k`: the judge's Ed25519 key.
    pub key: Ed25519Public,
    /// `s`: the judgement signature.
    pub signature: Ed25519Signature,
}

/// `E_D = (v, c, f)` (GP eq. 10.2; encoding C.17).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct DisputesExtrinsic {
    /// `v`: verdicts.
    pub verdicts: Vec<Verdict>,
    /// `c`: culprits.
    pub culprits: Vec<Culprit>,
    /// `f`: faults.
    pub faults: Vec<Fault>,
}

/// `E = (E_T, E_P, E_G, E_A, E_D)` (GP eq. 4.3; encoding C.13).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct Extrinsic {
    /// `E_T`.
    pub tickets: TicketsExtrinsic,
    /// `E_P`.
    pub preimages: PreimagesExtrinsic,
    /// `E_G`.
    pub guarantees: GuaranteesExtrinsic,
    /// `E_A`.
    pub assurances: AssurancesExtrinsic,
    /// `E_D`.
    pub disputes: DisputesExtrinsic,
}
