//! Broken PoVs, for testing that validators reject them: a PoV re-encoded
//! after its blocks or its proof were changed.

use cumulus_primitives_core::{
    InboundDownwardMessage, InboundHrmpMessage, ParaId, ParachainBlockData, PersistedValidationData,
};
use cumulus_primitives_parachain_inherent::HashedMessage;
use parity_scale_codec::{Decode, Encode};
use sp_core::{sr25519, Pair as _};
use sp_runtime::{generic::DigestItem, OpaqueExtrinsic};
use sp_trie::StorageProof;

use crate::{block::OpaqueBlock, block::AURA_ENGINE_ID, CollatorError};

/// `pov` re-encoded after `tamper` changed its blocks and its compact
/// proof's nodes.
pub fn tamper(
    pov: &[u8],
    tamper: impl FnOnce(&mut Vec<OpaqueBlock>, &mut Vec<Vec<u8>>),
) -> Result<Vec<u8>, CollatorError> {
    let data = ParachainBlockData::<OpaqueBlock>::decode(&mut &pov[..])
        .map_err(|e| CollatorError::State(format!("the PoV does not decode: {e}")))?;
    let (mut blocks, proof) = data.into_inner();
    let mut nodes = proof.encoded_nodes;
    tamper(&mut blocks, &mut nodes);
    Ok(ParachainBlockData::new(
        blocks,
        sp_trie::CompactProof {
            encoded_nodes: nodes,
        },
        None,
    )
    .encode())
}

/// The proof with its middle node missing: the block reads state the
/// proof cannot give.
pub fn drop_proof_node(pov: &[u8]) -> Result<Vec<u8>, CollatorError> {
    tamper(pov, |_, nodes| {
        if !nodes.is_empty() {
            nodes.remove(nodes.len() / 2);
        }
    })
}

/// The proof with the last octet of its largest node flipped: the proof
/// no longer has the parent's state root.
pub fn alter_proof_node(pov: &[u8]) -> Result<Vec<u8>, CollatorError> {
    tamper(pov, |_, nodes| {
        if let Some(node) = nodes.iter_mut().max_by_key(|n| n.len()) {
            if let Some(last) = node.last_mut() {
                *last ^= 1;
            }
        }
    })
}

/// The first block's aura seal replaced by one of `key` (a key that is
/// not the slot's authority makes a bad seal).
pub fn reseal(pov: &[u8], key: &sr25519::Pair) -> Result<Vec<u8>, CollatorError> {
    tamper(pov, |blocks, _| {
        if let Some(block) = blocks.first_mut() {
            let header = &mut block.header;
            if matches!(header.digest.logs.last(), Some(DigestItem::Seal(id, _)) if *id == AURA_ENGINE_ID)
            {
                header.digest.logs.pop();
            }
            let signature = key.sign(header.hash().as_bytes());
            header
                .digest
                .push(DigestItem::Seal(AURA_ENGINE_ID, signature.0.to_vec()));
        }
    })
}

/// The first block's last extrinsic dropped (its seal still signs the
/// header): executing it panics in the runtime, the extrinsics root
/// not matching.
pub fn drop_last_extrinsic(pov: &[u8]) -> Result<Vec<u8>, CollatorError> {
    tamper(pov, |blocks, _| {
        if let Some(block) = blocks.first_mut() {
            block.extrinsics.pop();
        }
    })
}

/// The inbound messages a `set_validation_data` inherent carries, as a
/// collator could change them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InboundMessages {
    /// The downward messages given in full.
    pub downward: Vec<InboundDownwardMessage>,
    /// The horizontal messages given in full, with their senders.
    pub horizontal: Vec<(ParaId, InboundHrmpMessage)>,
}

/// `set_validation_data`'s first argument (parachain-system's
/// `BasicParachainInherentData`: same fields, same encoding).
#[derive(Encode, Decode)]
struct BasicInherentData {
    validation_data: PersistedValidationData,
    relay_chain_state: StorageProof,
    relay_parent_descendants: Vec<crate::Header>,
    collator_peer_id: Option<Vec<u8>>,
}

/// parachain-system's `AbridgedInboundMessagesCollection`: the messages
/// in full, then the ones only hashed.
#[derive(Encode, Decode)]
struct Abridged<M, H> {
    full: Vec<M>,
    hashed: Vec<H>,
}

/// `set_validation_data`'s second argument (`InboundMessagesData`).
#[derive(Encode, Decode)]
struct InboundMessagesData {
    downward: Abridged<InboundDownwardMessage, HashedMessage>,
    horizontal: Abridged<(ParaId, InboundHrmpMessage), (ParaId, HashedMessage)>,
}

/// The parts of an encoded bare `set_validation_data` extrinsic, if
/// `encoded` is one: the extrinsic's version octet and call index, and the
/// two arguments.
fn decode_validation_data(
    encoded: &[u8],
) -> Option<([u8; 3], BasicInherentData, InboundMessagesData)> {
    let inner = Vec::<u8>::decode(&mut &encoded[..]).ok()?;
    let (head, mut rest) = (inner.get(..3)?, inner.get(3..)?);
    let basic = BasicInherentData::decode(&mut rest).ok()?;
    let inbound = InboundMessagesData::decode(&mut rest).ok()?;
    rest.is_empty()
        .then(|| ([head[0], head[1], head[2]], basic, inbound))
}

/// The inbound messages of the PoV's first block's `set_validation_data`
/// inherent.
pub fn inbound_messages(pov: &[u8]) -> Result<InboundMessages, CollatorError> {
    let data = ParachainBlockData::<OpaqueBlock>::decode(&mut &pov[..])
        .map_err(|e| CollatorError::State(format!("the PoV does not decode: {e}")))?;
    let (blocks, _) = data.into_inner();
    blocks
        .first()
        .and_then(|block| {
            block
                .extrinsics
                .iter()
                .find_map(|x| decode_validation_data(&x.encode()))
        })
        .map(|(_, _, inbound)| InboundMessages {
            downward: inbound.downward.full,
            horizontal: inbound.horizontal.full,
        })
        .ok_or_else(|| CollatorError::State("no set_validation_data inherent".into()))
}

/// `pov` with the inbound messages of its first block's
/// `set_validation_data` inherent changed by `change` (the header and its
/// seal unchanged): a collator leaving out, adding or altering messages.
/// The runtime's message-queue-chain check then fails
/// (`DMQ head mismatch`, `HRMP head mismatch`), before the extrinsics
/// root is checked. An error if the block has no such inherent.
pub fn tamper_inbound(
    pov: &[u8],
    change: impl FnOnce(&mut InboundMessages),
) -> Result<Vec<u8>, CollatorError> {
    let mut outcome = Err(CollatorError::State(
        "no set_validation_data inherent".into(),
    ));
    let tampered = tamper(pov, |blocks, _| {
        let Some(block) = blocks.first_mut() else {
            return;
        };
        for extrinsic in &mut block.extrinsics {
            let Some((head, basic, mut inbound)) = decode_validation_data(&extrinsic.encode())
            else {
                continue;
            };
            let mut messages = InboundMessages {
                downward: std::mem::take(&mut inbound.downward.full),
                horizontal: std::mem::take(&mut inbound.horizontal.full),
            };
            change(&mut messages);
            inbound.downward.full = messages.downward;
            inbound.horizontal.full = messages.horizontal;
            let mut inner = head.to_vec();
            basic.encode_to(&mut inner);
            inbound.encode_to(&mut inner);
            outcome = OpaqueExtrinsic::try_from_encoded_extrinsic(&inner.encode())
                .map(|x| *extrinsic = x)
                .map_err(|e| CollatorError::decode("(re-encoding the inherent)", e));
            return;
        }
    })?;
    outcome.map(|()| tampered)
}
