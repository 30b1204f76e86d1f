//! The JSON types of JIP-2: `Hash` and `Blob` as padded Base64 (RFC 4648),
//! Block Descriptors, Chain Subscription Updates, the parameters object,
//! work-package statuses and the sync state.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use parajam_primitives::ProtocolParameters;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 32-octet hash, in JSON a padded Base64 string (JIP-2 "Hash").
///
/// Deserializing refuses anything but canonical padded Base64 of exactly
/// 32 octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; 32]);

/// Octets of any length, in JSON a padded Base64 string (JIP-2 "Blob").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Blob(pub Vec<u8>);

impl std::fmt::Display for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&STANDARD.encode(self.0))
    }
}

impl From<[u8; 32]> for Hash {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl From<Vec<u8>> for Blob {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(self.0))
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}

fn base64_octets<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let text = String::deserialize(d)?;
    STANDARD
        .decode(text.as_bytes())
        .map_err(|e| serde::de::Error::custom(format!("not padded Base64 (RFC 4648): {e}")))
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = base64_octets(d)?;
        let len = bytes.len();
        <[u8; 32]>::try_from(bytes).map(Self).map_err(|_| {
            serde::de::Error::custom(format!("a Hash is 32 octets, this one is {len}"))
        })
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        base64_octets(d).map(Self)
    }
}

/// A block: `{"header_hash": Hash, "slot": Number}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockDescriptor {
    /// The header hash.
    pub header_hash: Hash,
    /// The header's slot.
    pub slot: u32,
}

/// An update of a chain subscription: the block that triggered it and the
/// value in its posterior state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainUpdate<T> {
    /// The block's header hash.
    pub header_hash: Hash,
    /// The block's slot.
    pub slot: u32,
    /// The subscription's value.
    pub value: T,
}

/// The result of `parameters`: `{"V1": {...}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Parameters {
    /// Version 1 of the parameters object.
    V1(ParametersV1),
}

/// The chain parameters, as JIP-2 names them (GP symbol in each doc).
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParametersV1 {
    /// `B_I`.
    pub deposit_per_item: u64,
    /// `B_L`.
    pub deposit_per_byte: u64,
    /// `B_S`.
    pub deposit_per_account: u64,
    /// `C`.
    pub core_count: u16,
    /// `D`.
    pub min_turnaround_period: u32,
    /// `E`.
    pub epoch_period: u32,
    /// `G_A`.
    pub max_accumulate_gas: u64,
    /// `G_I`.
    pub max_is_authorized_gas: u64,
    /// `G_R`.
    pub max_refine_gas: u64,
    /// `G_T`.
    pub block_gas_limit: u64,
    /// `H`.
    pub recent_block_count: u16,
    /// `I`.
    pub max_work_items: u16,
    /// `J`.
    pub max_dependencies: u16,
    /// `K`.
    pub max_tickets_per_block: u16,
    /// `L`.
    pub max_lookup_anchor_age: u32,
    /// `N`.
    pub tickets_attempts_number: u16,
    /// `O`.
    pub auth_window: u16,
    /// `P`.
    pub slot_period_sec: u32,
    /// `Q`.
    pub auth_queue_len: u16,
    /// `R`.
    pub rotation_period: u16,
    /// `T`.
    pub max_extrinsics: u16,
    /// `U`.
    pub availability_timeout: u32,
    /// `V`.
    pub val_count: u16,
    /// `W_A`.
    pub max_authorizer_code_size: u32,
    /// `W_B`.
    pub max_input: u32,
    /// `W_C`.
    pub max_service_code_size: u32,
    /// `W_E`.
    pub basic_piece_len: u32,
    /// `W_M`.
    pub max_imports: u16,
    /// `W_P`.
    pub segment_piece_count: u32,
    /// `W_R`.
    pub max_report_elective_data: u32,
    /// `W_T`.
    pub transfer_memo_size: u32,
    /// `W_X`.
    pub max_exports: u16,
    /// `Y`.
    pub epoch_tail_start: u32,
}

impl From<&ProtocolParameters> for ParametersV1 {
    fn from(p: &ProtocolParameters) -> Self {
        Self {
            deposit_per_item: p.deposit_per_item,
            deposit_per_byte: p.deposit_per_octet,
            deposit_per_account: p.deposit_per_service,
            core_count: p.core_count,
            min_turnaround_period: p.preimage_expunge_period,
            epoch_period: p.epoch_length,
            max_accumulate_gas: p.gas_accumulate_report,
            max_is_authorized_gas: p.gas_is_authorized,
            max_refine_gas: p.gas_refine,
            block_gas_limit: p.gas_total_accumulation,
            recent_block_count: p.recent_history_size,
            max_work_items: p.max_work_items,
            max_dependencies: p.max_report_dependencies,
            max_tickets_per_block: u16::from(p.max_tickets_per_block),
            max_lookup_anchor_age: p.max_lookup_anchor_age,
            tickets_attempts_number: u16::from(p.tickets_per_validator),
            auth_window: p.auth_pool_max_size,
            slot_period_sec: p.slot_period_secs,
            auth_queue_len: p.auth_queue_size,
            rotation_period: p.rotation_period,
            max_extrinsics: p.max_package_extrinsics,
            availability_timeout: p.assurance_timeout_period,
            val_count: p.validators_count,
            max_authorizer_code_size: p.max_authorizer_code_size,
            max_input: p.max_bundle_size,
            max_service_code_size: p.max_service_code_size,
            basic_piece_len: p.erasure_piece_size,
            max_imports: p.max_package_imports,
            segment_piece_count: p.erasure_pieces_per_segment,
            max_report_elective_data: p.max_report_output_size,
            transfer_memo_size: p.transfer_memo_size,
            max_exports: p.max_package_exports,
            epoch_tail_start: p.ticket_submission_end,
        }
    }
}

/// A work-package's status after a block (`workPackageStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkPackageStatus {
    /// Not reported yet; reportable for this many more blocks.
    Reportable {
        /// Blocks left in which it can be reported (1: only the next).
        remaining_blocks: u32,
    },
    /// Reported, not yet available.
    Reported {
        /// The block that reported it.
        reported_in: BlockDescriptor,
        /// The core.
        core: u16,
        /// The work-report's hash.
        report_hash: Hash,
    },
    /// Available or audited: queued for accumulation once its
    /// prerequisites are met.
    Ready {
        /// The block that reported it.
        reported_in: BlockDescriptor,
        /// The core.
        core: u16,
        /// The work-report's hash.
        report_hash: Hash,
        /// The block in which it became ready.
        ready_in: BlockDescriptor,
    },
    /// It cannot become ready on this fork.
    Failed(String),
}

/// Whether the node has caught up with the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncStatus {
    /// Still syncing.
    InProgress,
    /// Caught up.
    Completed,
}

/// The result of `syncState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    /// Peers with an active UP 0 (block announcement) stream.
    pub num_peers: u32,
    /// The sync status.
    pub status: SyncStatus,
}
