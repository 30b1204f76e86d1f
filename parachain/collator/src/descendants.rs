//! Runtimes that build on an older relay parent: cumulus's
//! `RelayParentOffset`, read from the runtime (`RelayParentOffsetApi`).
//!
//! A runtime with offset `n` > 0 wants its block built on the relay block
//! `n` behind the tip, and the relay parent's header with its `n`
//! descendants in the parachain inherent
//! ([`BlockRequest::relay_parent_descendants`](crate::BlockRequest)),
//! which its `set_validation_data` checks against the BABE authorities of
//! the relay-state proof. Where the headers come from is the caller's: on
//! JAM, the CoreChains service's emulated relay chain
//! (`parajam_corechains_service::relay_chain`).

use crate::{Collator, CollatorError, ParaState};

/// `RelayParentOffsetApi`'s runtime-API id, as `sp_api` makes them: the
/// Blake2b-64 of the trait's name.
fn api_id() -> [u8; 8] {
    use blake2::digest::consts::U8;
    use blake2::{Blake2b, Digest};
    Blake2b::<U8>::digest(b"RelayParentOffsetApi").into()
}

impl Collator {
    /// The `RelayParentOffset` of the runtime `state` runs
    /// (`RelayParentOffsetApi_relay_parent_offset`): how many relay blocks
    /// behind the tip its blocks build; 0 for a runtime without the API
    /// (cumulus before it built on the tip).
    pub fn relay_parent_offset(&self, state: &ParaState) -> Result<u32, CollatorError> {
        let loaded = self.runtime_at(state)?;
        let has_api = loaded
            .runtime
            .version()
            .apis
            .iter()
            .any(|(id, _)| *id == api_id());
        if !has_api {
            return Ok(0);
        }
        loaded.runtime.call_decode(
            &state.backend,
            "RelayParentOffsetApi_relay_parent_offset",
            &[],
        )
    }
}

/// `pov` re-encoded with the relay-parent descendants `original` in its
/// first block's parachain inherent replaced by `tampered` (the header and
/// its seal left as they are), for testing that validators reject them: the
/// runtime checks the descendants when it applies the inherent, before it
/// compares the body with the header's extrinsics root.
/// [`CollatorError::State`] if no extrinsic of the first block carries
/// `original`.
pub fn tamper_descendants(
    pov: &[u8],
    original: &[crate::Header],
    tampered: &[crate::Header],
) -> Result<Vec<u8>, CollatorError> {
    use parity_scale_codec::Encode;
    let (from, to) = (original.encode(), tampered.encode());
    let mut found = false;
    let pov = crate::tamper::tamper(pov, |blocks, _| {
        let Some(block) = blocks.first_mut() else {
            return;
        };
        for extrinsic in &mut block.extrinsics {
            let inner = extrinsic.inner();
            let Some(at) = inner.windows(from.len()).position(|w| w == from.as_slice()) else {
                continue;
            };
            let mut bytes = inner[..at].to_vec();
            bytes.extend_from_slice(&to);
            bytes.extend_from_slice(&inner[at + from.len()..]);
            *extrinsic = sp_runtime::OpaqueExtrinsic::from_blob(bytes);
            found = true;
            return;
        }
    })?;
    if found {
        Ok(pov)
    } else {
        Err(CollatorError::State(
            "no extrinsic of the PoV's first block carries these relay-parent descendants".into(),
        ))
    }
}
