//! What a collator puts in a CoreChains work item, and what refine returns.
//!
//! A work item of the CoreChains service carries one [`WorkItemPayload`]:
//! a parachain block candidate, or (from the registrar) a para to register.
//! For a candidate:
//!
//! - the work-item **payload** is the SCALE encoding of
//!   [`WorkItemPayload::Candidate`] with a [`ParachainCandidate`]: which
//!   para, the head it builds on, the code it claims to be valid under, and
//!   the relay-parent (anchor) data that goes into [`ValidationParams`];
//! - the parachain block itself (the PoV, upstream [`BlockData`]) is the
//!   work item's first **extrinsic**, whose Blake2b-256 hash the candidate
//!   names in [`ParachainCandidate::block_data_hash`] (GP's work-item
//!   extrinsic references `(hash, length)` carry the same hash).
//!
//! Refine runs the PVF on [`ParachainCandidate::validation_params`] and
//! returns the SCALE encoding of a [`RefineOutput`] as the work output: the
//! [`CandidateOutput`] of a valid block, or why the candidate is invalid
//! (never a panic of the service). Accumulate checks a valid output against
//! the service state ([`crate::state`]) and enacts it.
//!
//! # Authorization
//!
//! The service's authorizer binds a work package to one para: the
//! package's authorizer configuration is the SCALE encoding of an
//! [`AuthConfig`], and is-authorized accepts the package only if every work
//! item is a CoreChains item for that para (or, for
//! [`AuthScope::Registrar`], a registration). Its trace is the encoded
//! [`AuthConfig`]. Accumulate recomputes the authorizer hash `H(u ⌢ f)`
//! (GP 0.7.2 §14.3, `p_a`) from the authorizer code hash in the
//! service's [`ServiceConfig`](crate::state::ServiceConfig) and the
//! expected configuration, so a result counts only if the right authorizer
//! admitted it.

use alloc::vec::Vec;

use crate::{
    BlockData, Hash, HeadData, ParaId, RelayChainBlockNumber, ValidationCodeHash, ValidationParams,
    ValidationResult,
};

use parity_scale_codec::{Decode, Encode};

/// A CoreChains work item's payload.
// The SCALE derive casts variant indices to `u8`.
#[allow(clippy::cast_possible_truncation)]
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum WorkItemPayload {
    /// A parachain block to validate; its block data is the item's first extrinsic.
    #[codec(index = 0)]
    Candidate(ParachainCandidate),
    /// A para to register (only from a package the registrar authorized).
    #[codec(index = 1)]
    Register(Registration),
    /// The PVM build of a para's validation code (only from a package the
    /// registrar authorized).
    #[codec(index = 2)]
    RegisterBuild(PvmBuild),
    /// A downward message from the relay chain's governance to a para
    /// (only from a package the registrar authorized): what the relay
    /// chain's `XcmPallet::send` with root origin queues on the para's
    /// downward queue, e.g. a `Transact` with `OriginKind::Superuser` that
    /// authorizes a runtime upgrade.
    #[codec(index = 3)]
    Downward(DownwardMessage),
    /// Where a para hosted by another CoreChains instance lives, and the
    /// HRMP channels between it and paras hosted here (only from a package
    /// the registrar authorized).
    #[codec(index = 4)]
    Route(RouteDeclaration),
}

/// The registrar's declaration that para `para_id` is hosted by the
/// CoreChains instance `service` (another service), with channels to open
/// between it and paras hosted here: each has the remote para on exactly
/// one side. HRMP messages on them cross as JAM transfers
/// (`parajam_corechains_service::jam_transfers`).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct RouteDeclaration {
    /// The para hosted elsewhere.
    pub para_id: ParaId,
    /// The CoreChains instance hosting it.
    pub service: u32,
    /// Channels to open with it.
    pub channels: Vec<RemoteChannelDeclaration>,
}

/// An HRMP channel between a para hosted here and one hosted elsewhere,
/// with its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct RemoteChannelDeclaration {
    /// The sending para.
    pub sender: ParaId,
    /// The receiving para.
    pub recipient: ParaId,
    /// The most messages it holds.
    pub max_capacity: u32,
    /// The largest message, in octets.
    pub max_message_size: u32,
}

/// A message the registrar, standing for the relay chain's governance,
/// queues on a para's downward queue.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct DownwardMessage {
    /// The para whose downward queue gets it.
    pub para_id: ParaId,
    /// The message: an encoded `VersionedXcm`, as the relay chain sends it.
    pub message: Vec<u8>,
}

/// An attestation that `pvf` is the PVM build of `source`: a para's
/// validation code as the relay chain knows it (its wasm runtime).
///
/// A parachain upgrades its code unchanged: `set_code` with a new wasm
/// runtime makes `new_validation_code` the wasm blob, whose hash is what the
/// para commits to. The CoreChains service runs PVF artifacts, so the new
/// code becomes current through its registered build: a code upgrade to
/// `source` enacts `pvf`. The service cannot check the build itself (that is
/// recompiling the runtime); the registrar, who attests it, is trusted to,
/// for instance by rebuilding it reproducibly with `parajam pvf build`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct PvmBuild {
    /// The validation code the para knows (Blake2b-256 of the wasm blob).
    pub source: ValidationCodeHash,
    /// Its PVF artifact's hash: the preimage the service solicits and runs.
    pub pvf: ValidationCodeHash,
    /// The PVF artifact's length in octets.
    pub pvf_len: u32,
}

/// A para registration: its genesis head and validation code.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Registration {
    /// The new para.
    pub para_id: ParaId,
    /// Its genesis head.
    pub genesis_head: HeadData,
    /// Its PVF artifact's hash (a preimage the service solicits, or already has).
    pub validation_code_hash: ValidationCodeHash,
    /// The PVF artifact's length in octets.
    pub validation_code_len: u32,
}

/// The authorizer configuration of a CoreChains work package (SCALE-encoded
/// as the package's `f`), and the is-authorized trace: every work item must
/// be for the CoreChains service `service`, within `scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
pub struct AuthConfig {
    /// The CoreChains service's id.
    pub service: u32,
    /// What the items may do.
    pub scope: AuthScope,
}

/// What the items of an authorized package may do.
// The SCALE derive casts variant indices to `u8`.
#[allow(clippy::cast_possible_truncation)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
pub enum AuthScope {
    /// Every item advances this para.
    #[codec(index = 0)]
    Para(ParaId),
    /// Every item registers a para or a PVM build, declares a route to a
    /// para hosted elsewhere, or is a downward message of the relay
    /// chain's governance (the registrar stands for it).
    #[codec(index = 1)]
    Registrar,
}

/// Why refine found a candidate invalid.
// The SCALE derive casts variant indices to `u8`.
#[allow(clippy::cast_possible_truncation)]
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum InvalidReason {
    /// The payload is not an encoded [`WorkItemPayload`].
    #[codec(index = 0)]
    BadPayload,
    /// The item has no first extrinsic, or it does not hash to `block_data_hash`.
    #[codec(index = 1)]
    BlockDataMismatch,
    /// The candidate's anchor is not the work context's anchor.
    #[codec(index = 2)]
    ContextMismatch,
    /// No PVF with the candidate's code hash is available at the lookup anchor.
    #[codec(index = 3)]
    CodeUnavailable,
    /// The PVF artifact or its program does not decode.
    #[codec(index = 4)]
    BadCode,
    /// The PVF called a host function the service does not serve.
    #[codec(index = 5)]
    UnsupportedHostFunction(Vec<u8>),
    /// The PVF trapped (a failed `validate_block`). `invoke` does not say
    /// where: after a panic the machine's pc is 0 (GP 0.7.2 eq. A.1).
    #[codec(index = 6)]
    Trapped,
    /// The PVF touched memory it may not, at this address.
    #[codec(index = 7)]
    PageFault(u64),
    /// The PVF ran out of gas.
    #[codec(index = 8)]
    OutOfGas,
    /// A host function failed (bad arguments, allocator exhausted, ...).
    #[codec(index = 9)]
    HostFunctionFailed(Vec<u8>),
    /// What the PVF returned is not an encoded `ValidationResult`.
    #[codec(index = 10)]
    BadResult,
    /// The output would exceed the work-report output limit.
    #[codec(index = 11)]
    OutputTooLarge,
    /// The PVF's memory layout cannot be set up (too large, say).
    #[codec(index = 12)]
    BadMemoryLayout,
    /// The PVF called a host function the service knows but that is not
    /// available during validation (storage, the keystore, offchain
    /// workers: what the relay chain's PVF executor fails too).
    #[codec(index = 13)]
    UnavailableHostFunction(Vec<u8>),
}

/// Refine's work output.
// The SCALE derive casts variant indices to `u8`.
#[allow(clippy::cast_possible_truncation)]
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum RefineOutput {
    /// The block is valid.
    #[codec(index = 0)]
    Valid(CandidateOutput),
    /// The block is invalid; accumulate ignores it.
    #[codec(index = 1)]
    Invalid {
        /// The para it claimed to advance (zero if the payload did not decode).
        para_id: ParaId,
        /// Why.
        reason: InvalidReason,
    },
    /// A registration, passed through for accumulate to check and enact.
    #[codec(index = 2)]
    Register(Registration),
    /// A PVM build, passed through for accumulate to check and record.
    #[codec(index = 3)]
    RegisterBuild(PvmBuild),
    /// A downward message, passed through for accumulate to check and queue.
    #[codec(index = 4)]
    Downward(DownwardMessage),
    /// A route, passed through for accumulate to check and record.
    #[codec(index = 5)]
    Route(RouteDeclaration),
}

/// The work-item payload: one parachain block candidate.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct ParachainCandidate {
    /// The para the block advances.
    pub para_id: ParaId,
    /// The head the block builds on; accumulate requires it to be the para's
    /// stored head.
    pub parent_head: HeadData,
    /// The hash of the PVF to validate with; refine fetches the code by this
    /// hash (a historical lookup at the anchor), accumulate requires it to be
    /// the para's current code.
    pub validation_code_hash: ValidationCodeHash,
    /// The anchor block (GP work context `a`): the relay parent of the candidate.
    pub anchor: Hash,
    /// The relay-parent number the PVF sees ([`ValidationParams::relay_parent_number`]):
    /// on JAM the timeslot at which the CoreChains service's emulated
    /// relay-chain state was taken (`parajam_corechains_service::relay_state`).
    pub relay_parent_number: RelayChainBlockNumber,
    /// The relay-parent storage root the PVF sees: the root of that
    /// emulated relay-chain state, which accumulate recomputes and compares.
    pub relay_parent_storage_root: Hash,
    /// Blake2b-256 of the block data, the work item's first extrinsic.
    pub block_data_hash: Hash,
}

impl ParachainCandidate {
    /// The PVF's input for this candidate with the block `block_data`.
    pub fn validation_params(&self, block_data: BlockData) -> ValidationParams {
        ValidationParams {
            parent_head: self.parent_head.clone(),
            block_data,
            relay_parent_number: self.relay_parent_number,
            relay_parent_storage_root: self.relay_parent_storage_root,
        }
    }
}

/// Refine's work output for a valid candidate: the PVF's
/// `ValidationResult`, with a new validation code replaced by its hash and
/// length (a runtime is megabytes; a work output at most `W_R` = 48 KiB), and
/// what accumulate needs to check it.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct CandidateOutput {
    /// The para the block advances.
    pub para_id: ParaId,
    /// Blake2b-256 of the parent head's octets ([`HeadData`]), which
    /// accumulate compares with the stored head's.
    pub parent_head_hash: Hash,
    /// The code the block was validated with.
    pub validation_code_hash: ValidationCodeHash,
    /// Blake2b-256 of the octets the PVF returned (the encoded
    /// `ValidationResult`), so the result can be compared with the legacy
    /// (wasm) executor's without carrying it whole.
    pub result_hash: Hash,
    /// The new head.
    pub head_data: HeadData,
    /// A code upgrade the block asks for: the new code's hash and length.
    pub new_validation_code: Option<NewCode>,
    /// Upward messages sent.
    pub upward_messages: Vec<crate::UpwardMessage>,
    /// Horizontal messages sent.
    pub horizontal_messages: Vec<crate::OutboundHrmpMessage>,
    /// Downward messages processed.
    pub processed_downward_messages: u32,
    /// The HRMP watermark.
    pub hrmp_watermark: RelayChainBlockNumber,
    /// The candidate's relay parent (timeslot), for accumulate's checks.
    pub relay_parent_number: RelayChainBlockNumber,
    /// The candidate's relay-parent storage root, for accumulate's checks.
    pub relay_parent_storage_root: Hash,
}

/// A new validation code, by hash and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
pub struct NewCode {
    /// Blake2b-256 of the code.
    pub code_hash: ValidationCodeHash,
    /// Its length in octets.
    pub code_len: u32,
}

impl CandidateOutput {
    /// The output for `result`, whose encoding `raw` hashes to `result_hash`.
    /// `hash` is Blake2b-256.
    pub fn new(
        candidate: &ParachainCandidate,
        result: ValidationResult,
        hash: impl Fn(&[u8]) -> Hash,
        raw: &[u8],
    ) -> Option<Self> {
        let new_validation_code = match &result.new_validation_code {
            Some(code) => Some(NewCode {
                code_hash: ValidationCodeHash(hash(&code.0)),
                code_len: u32::try_from(code.0.len()).ok()?,
            }),
            None => None,
        };
        Some(Self {
            para_id: candidate.para_id,
            parent_head_hash: hash(&candidate.parent_head.0),
            validation_code_hash: candidate.validation_code_hash,
            result_hash: hash(raw),
            head_data: result.head_data,
            new_validation_code,
            upward_messages: result.upward_messages,
            horizontal_messages: result.horizontal_messages,
            processed_downward_messages: result.processed_downward_messages,
            hrmp_watermark: result.hrmp_watermark,
            relay_parent_number: candidate.relay_parent_number,
            relay_parent_storage_root: candidate.relay_parent_storage_root,
        })
    }
}
