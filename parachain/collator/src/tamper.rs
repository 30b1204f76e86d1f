//! Broken PoVs, for testing that validators reject them: a PoV re-encoded
//! after its blocks or its proof were changed.

use cumulus_primitives_core::ParachainBlockData;
use parity_scale_codec::{Decode, Encode};
use sp_core::{sr25519, Pair as _};
use sp_runtime::generic::DigestItem;

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
