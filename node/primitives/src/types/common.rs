//! Scalars, keys, signatures and validator data (GP sections 3, 6.3).

use serde::{Deserialize, Serialize};

use crate::bytes::ByteArray;
use crate::codec::{Decode, Encode, FixedSeq, ValidatorsCount};

/// `ℍ`: a 32-octet hash (Blake2b-256 unless stated otherwise).
pub type OpaqueHash = ByteArray<32>;
/// Hash of a header, `H(E(H))`.
pub type HeaderHash = OpaqueHash;
/// A state Merkle root.
pub type StateRoot = OpaqueHash;
/// A Keccak-based BEEFY/MMR root.
pub type BeefyRoot = OpaqueHash;
/// Hash of a work package.
pub type WorkPackageHash = OpaqueHash;
/// Hash of a work report.
pub type WorkReportHash = OpaqueHash;
/// Root of a work package's exported segments.
pub type ExportsRoot = OpaqueHash;
/// Root of erasure-coded chunks.
pub type ErasureRoot = OpaqueHash;
/// `η` items.
pub type Entropy = OpaqueHash;
/// Hash of an encoded authorizer (code hash and configuration).
pub type AuthorizerHash = OpaqueHash;
/// A Safrole ticket identifier (ring VRF output).
pub type TicketId = OpaqueHash;

/// `N_T`: a timeslot index.
pub type TimeSlot = u32;
/// `N_V`: a validator index.
pub type ValidatorIndex = u16;
/// `N_C`: a core index.
pub type CoreIndex = u16;
/// `N_S`: a service identifier.
pub type ServiceId = u32;
/// `N_G`: gas.
pub type Gas = u64;
/// `N_B`: a balance.
pub type Balance = u64;

/// Bandersnatch public key (`H_B`).
pub type BandersnatchPublic = ByteArray<32>;
/// Ed25519 public key (`H_E`).
pub type Ed25519Public = ByteArray<32>;
/// BLS12-381 public key (`𝔹_BLS`).
pub type BlsPublic = ByteArray<144>;
/// Bandersnatch IETF VRF signature (`F`).
pub type BandersnatchVrfSignature = ByteArray<96>;
/// Bandersnatch ring VRF proof (`F̄`).
pub type BandersnatchRingVrfSignature = ByteArray<784>;
/// Ed25519 signature (`V`).
pub type Ed25519Signature = ByteArray<64>;
/// Bandersnatch ring commitment (`γ_z`).
pub type BandersnatchRingCommitment = ByteArray<144>;
/// Validator metadata (`k_m`).
pub type ValidatorMetadata = ByteArray<128>;

/// `K`: a validator's keys (GP eq. 6.8 – 6.12).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct ValidatorData {
    /// `k_b`.
    pub bandersnatch: BandersnatchPublic,
    /// `k_e`.
    pub ed25519: Ed25519Public,
    /// `k_BLS`.
    pub bls: BlsPublic,
    /// `k_m`.
    pub metadata: ValidatorMetadata,
}

/// `⟦K⟧_V`: keys of every validator.
pub type ValidatorsData = FixedSeq<ValidatorData, ValidatorsCount>;

/// `η ∈ ⟦ℍ⟧_4`: the entropy accumulator and its three most recent epoch values.
pub type EntropyBuffer = [Entropy; 4];
