//! Building, sealing and proving one parachain block.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use cumulus_primitives_core::{
    InboundDownwardMessage, InboundHrmpMessage, ParaId, ParachainBlockData, PersistedValidationData,
};
use cumulus_primitives_parachain_inherent::{
    v0, ParachainInherentData, INHERENT_IDENTIFIER, PARACHAIN_INHERENT_IDENTIFIER_V0,
};
use parity_scale_codec::{Compact, Decode, Encode};
use polkadot_parachain_primitives::primitives::{BlockData, HeadData, ValidationParams};
use sp_core::{sr25519, Pair as _, H256};
use sp_externalities::Extensions;
use sp_runtime::{
    generic::{Digest, DigestItem},
    traits::{BlakeTwo256, Header as _},
    OpaqueExtrinsic,
};
use sp_state_machine::{OverlayedChanges, TrieBackendBuilder};
use sp_trie::{proof_size_extension::ProofSizeExt, recorder::Recorder, StorageProof};

use crate::{
    relay::{self, RELAY_SLOT_DURATION_MILLIS},
    runtime::Runtime,
    state::ParaState,
    CollatorError, Header,
};

/// The aura engine id (`sp_consensus_aura::AURA_ENGINE_ID`).
pub const AURA_ENGINE_ID: [u8; 4] = *b"aura";
/// The timestamp inherent (`sp_timestamp::INHERENT_IDENTIFIER`).
pub const TIMESTAMP_INHERENT: [u8; 8] = *b"timstap0";

/// The opaque block of any runtime with `generic::Header<u32, BlakeTwo256>`.
pub type OpaqueBlock = sp_runtime::generic::Block<Header, OpaqueExtrinsic>;

/// What to build a block of.
#[derive(Debug, Clone)]
pub struct BlockRequest {
    /// The relay parent's number.
    pub relay_parent_number: u32,
    /// The relay parent's state: key/value entries (see
    /// [`RelayStateConfig`](crate::RelayStateConfig)), of which the collator
    /// builds the trie and the read proof for the parachain inherent.
    pub relay_state: Vec<(Vec<u8>, Vec<u8>)>,
    /// The para's timestamp (ms); by default the relay slot
    /// (`CURRENT_SLOT` of `relay_state`) times 6 s, which the para's aura
    /// slot and cumulus's consensus hook agree with.
    pub timestamp: Option<u64>,
    /// The `max_pov_size` of the persisted validation data.
    pub max_pov_size: u32,
    /// Extrinsics after the inherents, SCALE-encoded (length-prefixed).
    pub extrinsics: Vec<Vec<u8>>,
    /// The relay parent's header and its descendants, oldest first, for a
    /// runtime with `RelayParentOffset` > 0 (the parachain inherent's
    /// `relay_parent_descendants`); empty otherwise. See
    /// [`Collator::relay_parent_offset`](crate::Collator::relay_parent_offset).
    pub relay_parent_descendants: Vec<Header>,
    /// The para's downward queue at the relay parent (what the relay
    /// chain's `dmq_contents` gives a cumulus collator): every message not
    /// yet processed, oldest first. parachain-system drops the ones it
    /// processed already and checks the rest against the relay state's
    /// `dmq_mqc_head`.
    pub downward_messages: Vec<InboundDownwardMessage>,
    /// The contents of the para's inbound HRMP channels at the relay parent
    /// (`inbound_hrmp_channels_contents`), by sender: checked against each
    /// channel's MQC head in the relay state.
    pub horizontal_messages: BTreeMap<ParaId, Vec<InboundHrmpMessage>>,
}

impl BlockRequest {
    /// A block at relay parent `relay_parent_number` with relay state
    /// `relay_state`, no extrinsics but the inherents, the default
    /// timestamp and `max_pov_size` 5 MiB.
    pub fn new(relay_parent_number: u32, relay_state: Vec<(Vec<u8>, Vec<u8>)>) -> Self {
        Self {
            relay_parent_number,
            relay_state,
            timestamp: None,
            max_pov_size: 5 * 1024 * 1024,
            extrinsics: Vec::new(),
            relay_parent_descendants: Vec::new(),
            downward_messages: Vec::new(),
            horizontal_messages: BTreeMap::new(),
        }
    }

    /// With the relay parent's header and these descendants (oldest first).
    #[must_use]
    pub fn with_relay_parent_descendants(mut self, headers: Vec<Header>) -> Self {
        self.relay_parent_descendants = headers;
        self
    }

    /// With these inbound messages: the para's downward queue and its
    /// inbound channels' contents at the relay parent.
    #[must_use]
    pub fn with_inbound(
        mut self,
        downward_messages: Vec<InboundDownwardMessage>,
        horizontal_messages: BTreeMap<ParaId, Vec<InboundHrmpMessage>>,
    ) -> Self {
        self.downward_messages = downward_messages;
        self.horizontal_messages = horizontal_messages;
        self
    }

    /// With these extrinsics.
    #[must_use]
    pub fn with_extrinsics(mut self, extrinsics: Vec<Vec<u8>>) -> Self {
        self.extrinsics = extrinsics;
        self
    }
}

/// What building took and made, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockReport {
    /// The block number.
    pub number: u32,
    /// The encoded PoV block data, in octets.
    pub pov_size: usize,
    /// The compact storage proof in it, in octets.
    pub proof_size: usize,
    /// Extrinsics in the block, inherents included.
    pub extrinsics: usize,
    /// Of which inherents.
    pub inherents: usize,
    /// Building and sealing.
    pub build_time: Duration,
    /// Re-execution with the proof recorder and compacting the proof.
    pub proof_time: Duration,
}

/// A built, sealed block with its PoV: what a cumulus collator submits.
#[derive(Debug, Clone)]
pub struct BuiltBlock {
    /// The parent's head.
    pub parent_head: Vec<u8>,
    /// The new head: the SCALE-encoded sealed header.
    pub head: Vec<u8>,
    /// The candidate's block data: `ParachainBlockData` (V1) of the block
    /// and the compact proof of the parent state it reads.
    pub pov: Vec<u8>,
    /// The relay parent's number.
    pub relay_parent_number: u32,
    /// The relay parent's storage root (of the request's relay state).
    pub relay_parent_storage_root: H256,
    /// The block body, SCALE-encoded extrinsics, inherents first.
    pub extrinsics: Vec<Vec<u8>>,
    /// Indices (in the request) of extrinsics included whose dispatch failed.
    pub failed_dispatches: Vec<usize>,
    /// The block and the para's state after it.
    pub state: ParaState,
    /// Sizes and timings.
    pub report: BlockReport,
}

impl BuiltBlock {
    /// What a relay-chain validator passes to `validate_block`.
    pub fn validation_params(&self) -> ValidationParams {
        ValidationParams {
            parent_head: HeadData(self.parent_head.clone()),
            block_data: BlockData(self.pov.clone()),
            relay_parent_number: self.relay_parent_number,
            relay_parent_storage_root: self.relay_parent_storage_root,
        }
    }
}

/// Whether an encoded `ApplyExtrinsicResult` is `Ok(_)` (valid), and
/// `Ok(Ok(()))` (dispatched).
fn outcome(result: &[u8]) -> (bool, bool) {
    let valid = result.first() == Some(&0);
    (valid, valid && result.get(1) == Some(&0))
}

fn encode_block(header: &Header, extrinsics: &[Vec<u8>]) -> Vec<u8> {
    let mut block = header.encode();
    Compact(u32::try_from(extrinsics.len()).unwrap_or(u32::MAX)).encode_to(&mut block);
    for extrinsic in extrinsics {
        block.extend_from_slice(extrinsic);
    }
    block
}

/// Builds, seals and proves a block on `parent`; `keys` are the keys the
/// collator may seal with.
#[allow(clippy::too_many_lines)]
pub(crate) fn build(
    runtime: &Runtime,
    keys: &[sr25519::Pair],
    parent: &ParaState,
    request: &BlockRequest,
) -> Result<BuiltBlock, CollatorError> {
    let started = Instant::now();
    let relay = relay::relay_state_proof(&request.relay_state)?;
    let timestamp = match request.timestamp {
        Some(t) => t,
        None => relay::current_slot(&request.relay_state)
            .and_then(|slot| slot.checked_mul(RELAY_SLOT_DURATION_MILLIS))
            .ok_or(CollatorError::NoRelaySlot)?,
    };

    // Aura: the slot and its author, as pallet-aura sees them on the parent.
    let slot_duration: u64 = runtime.call_decode(&parent.backend, "AuraApi_slot_duration", &[])?;
    let slot = timestamp
        .checked_div(slot_duration)
        .ok_or_else(|| CollatorError::Metadata("aura slot duration 0".into()))?;
    let authorities: Vec<[u8; 32]> =
        runtime.call_decode(&parent.backend, "AuraApi_authorities", &[])?;
    let count = u64::try_from(authorities.len()).unwrap_or(u64::MAX);
    let author = slot
        .checked_rem(count)
        .and_then(|i| usize::try_from(i).ok())
        .and_then(|i| authorities.get(i))
        .ok_or(CollatorError::NoAuthorities)?;
    let key = keys
        .iter()
        .find(|k| k.public().0 == *author)
        .ok_or_else(|| CollatorError::NotAnAuthority {
            slot,
            authority: hex(author),
        })?;

    // Build on the parent state, recording what is read (the proof-size
    // host function reports it, as on a cumulus collator).
    let build_recorder = Recorder::<BlakeTwo256>::default();
    let backend = TrieBackendBuilder::wrap(&parent.backend)
        .with_recorder(build_recorder.clone())
        .build();
    let mut extensions = Extensions::new();
    extensions.register(ProofSizeExt::new(build_recorder.clone()));
    let mut overlay = OverlayedChanges::<BlakeTwo256>::default();
    let mut call = |overlay: &mut OverlayedChanges<BlakeTwo256>, method: &str, data: &[u8]| {
        runtime.call_with(&backend, overlay, &mut extensions, method, data)
    };

    let pre_header = Header::new(
        parent.header.number.saturating_add(1),
        H256::zero(),
        H256::zero(),
        parent.hash(),
        Digest {
            logs: vec![DigestItem::PreRuntime(AURA_ENGINE_ID, slot.encode())],
        },
    );
    call(&mut overlay, "Core_initialize_block", &pre_header.encode())?;

    let parent_head = parent.head();
    let validation_data = PersistedValidationData {
        parent_head: HeadData(parent_head.clone()),
        relay_parent_number: request.relay_parent_number,
        relay_parent_storage_root: relay.root,
        max_pov_size: request.max_pov_size,
    };
    let parachain_inherent = ParachainInherentData {
        validation_data: validation_data.clone(),
        relay_chain_state: relay.proof.clone(),
        downward_messages: request.downward_messages.clone(),
        horizontal_messages: request.horizontal_messages.clone(),
        relay_parent_descendants: request.relay_parent_descendants.clone(),
        collator_peer_id: None,
    };
    let parachain_inherent_v0 = v0::ParachainInherentData {
        validation_data,
        relay_chain_state: relay.proof,
        downward_messages: request.downward_messages.clone(),
        horizontal_messages: request.horizontal_messages.clone(),
    };
    let mut inherent_data = sp_inherents::InherentData::new();
    let put_failed = |e: sp_inherents::Error| CollatorError::State(format!("inherent data: {e}"));
    inherent_data
        .put_data(TIMESTAMP_INHERENT, &timestamp)
        .map_err(put_failed)?;
    inherent_data
        .put_data(PARACHAIN_INHERENT_IDENTIFIER_V0, &parachain_inherent_v0)
        .map_err(put_failed)?;
    inherent_data
        .put_data(INHERENT_IDENTIFIER, &parachain_inherent)
        .map_err(put_failed)?;

    // Creating the inherents is no part of the block: as a cumulus
    // collator's block builder (`sc-block-builder`'s `create_inherents`),
    // the call runs in a transaction that is rolled back, its writes and
    // the trie nodes it read with it. Else what it read would count in the
    // proof size the runtime sees while building (cumulus's
    // `storage_proof_size`, which `StorageWeightReclaim` takes as the
    // block's proof weight when it exceeds the benchmarked one) and not
    // while the block is executed or validated: the two would store
    // different block weights and disagree on the state root.
    let method = "BlockBuilder_inherent_extrinsics";
    overlay.start_transaction();
    build_recorder.start_transaction();
    let out = call(&mut overlay, method, &inherent_data.encode());
    let rolled_back = (
        overlay.rollback_transaction().is_ok(),
        build_recorder.rollback_transaction().is_ok(),
    );
    let out = out?;
    if rolled_back != (true, true) {
        return Err(CollatorError::State(
            "the inherents' transaction was not open".into(),
        ));
    }
    let inherents: Vec<Vec<u8>> = Vec::<OpaqueExtrinsic>::decode(&mut out.as_slice())
        .map_err(|e| CollatorError::decode(method, e))?
        .iter()
        .map(Encode::encode)
        .collect();
    let mut body = Vec::with_capacity(inherents.len() + request.extrinsics.len());
    for (index, extrinsic) in inherents.iter().enumerate() {
        let result = call(&mut overlay, "BlockBuilder_apply_extrinsic", extrinsic)?;
        if outcome(&result) != (true, true) {
            return Err(CollatorError::InherentFailed {
                index,
                outcome: hex(&result),
            });
        }
        body.push(extrinsic.clone());
    }
    let mut failed_dispatches = Vec::new();
    for (index, extrinsic) in request.extrinsics.iter().enumerate() {
        let result = call(&mut overlay, "BlockBuilder_apply_extrinsic", extrinsic)?;
        match outcome(&result) {
            (false, _) => {
                return Err(CollatorError::ExtrinsicInvalid {
                    index,
                    outcome: hex(&result),
                })
            }
            (true, dispatched) => {
                if !dispatched {
                    failed_dispatches.push(index);
                }
                body.push(extrinsic.clone());
            }
        }
    }
    let method = "BlockBuilder_finalize_block";
    let out = call(&mut overlay, method, &[])?;
    let header =
        Header::decode(&mut out.as_slice()).map_err(|e| CollatorError::decode(method, e))?;

    let state_version = runtime.state_version();
    let changes = overlay
        .drain_storage_changes(&backend, state_version)
        .map_err(CollatorError::State)?;
    if changes.transaction_storage_root != header.state_root {
        return Err(CollatorError::StateRootMismatch {
            header: hex(header.state_root.as_bytes()),
            computed: hex(changes.transaction_storage_root.as_bytes()),
        });
    }
    drop(backend);

    // Seal: the author signs the pre-seal header's hash.
    let signature = key.sign(header.hash().as_bytes());
    let mut sealed = header.clone();
    sealed
        .digest
        .push(DigestItem::Seal(AURA_ENGINE_ID, signature.0.to_vec()));
    let build_time = started.elapsed();

    // The proof: everything the block's import (`Core_execute_block` of the
    // unsealed block) reads of the parent state, with what building read.
    let started = Instant::now();
    let execute_recorder = Recorder::<BlakeTwo256>::default();
    let execute_backend = TrieBackendBuilder::wrap(&parent.backend)
        .with_recorder(execute_recorder.clone())
        .build();
    let mut extensions = Extensions::new();
    extensions.register(ProofSizeExt::new(execute_recorder.clone()));
    runtime.call_with(
        &execute_backend,
        &mut OverlayedChanges::default(),
        &mut extensions,
        "Core_execute_block",
        &encode_block(&header, &body),
    )?;
    drop(execute_backend);
    let proof = StorageProof::merge([
        execute_recorder.to_storage_proof(),
        build_recorder.to_storage_proof(),
    ]);
    let compact = proof
        .into_compact_proof::<BlakeTwo256>(parent.state_root())
        .map_err(|e| CollatorError::State(format!("compacting the proof: {e:?}")))?;
    let proof_size = compact.encoded_size();
    let block = OpaqueBlock {
        header: sealed.clone(),
        extrinsics: body
            .iter()
            .map(|e| OpaqueExtrinsic::try_from_encoded_extrinsic(e))
            .collect::<Result<_, _>>()
            .map_err(|e| CollatorError::decode("(re-encoding the body)", e))?,
    };
    let pov = ParachainBlockData::new(vec![block], compact, None).encode();
    let proof_time = started.elapsed();

    let post = parent
        .backend
        .update_backend(changes.transaction_storage_root, changes.transaction);
    let report = BlockReport {
        number: sealed.number,
        pov_size: pov.len(),
        proof_size,
        extrinsics: body.len(),
        inherents: inherents.len(),
        build_time,
        proof_time,
    };
    Ok(BuiltBlock {
        parent_head,
        head: sealed.encode(),
        pov,
        relay_parent_number: request.relay_parent_number,
        relay_parent_storage_root: relay.root,
        extrinsics: body,
        failed_dispatches,
        state: ParaState {
            header: sealed,
            backend: post,
        },
        report,
    })
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
