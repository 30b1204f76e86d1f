//! The node's `parajam_*` JSON-RPC methods: what a collator needs beyond
//! JIP-2, answered from the best block's CoreChains service storage.
//!
//! | method | params | result |
//! |---|---|---|
//! | `parajam_paraHead` | `[para_id]` | `{"header_hash", "slot", "head": Blob}` at the best block, `null` if the para is not registered |
//! | `parajam_relayState` | `[para_id]` | `{"header_hash", "slot", "root": Hash, "entries": [[Blob, Blob]…]}`: the emulated relay-chain state the service shows the para at the best block's slot (the key/value pairs a collator proves, and their trie root, which accumulate checks), `null` if the para is not registered |
//!
//! A collator builds its candidate with `relay_parent_number = slot` and
//! `relay_parent_storage_root = root`, the refine context from the same
//! best block (`stateRoot`, `beefyRoot`), and submits with
//! `submitWorkPackage`.

use std::sync::Arc;

use jsonrpsee::server::RpcModule;
use jsonrpsee::types::{ErrorObjectOwned, Params};
use jsonrpsee::Methods;
use parajam_corechains_service::relay_state::RelayState;
use parajam_corechains_types::state::StorageKey;
use parajam_corechains_types::{HeadData, ParaId};
use parajam_rpc::{Blob, Hash, NodeApi};
use parity_scale_codec::DecodeAll;
use serde_json::{json, Value};

use crate::genesis::CORECHAINS;

/// The `parajam_*` methods over `api`.
pub fn methods<A: NodeApi>(api: Arc<A>) -> Result<Methods, jsonrpsee::server::RegisterMethodError> {
    let mut module = RpcModule::from_arc(api);
    module.register_blocking_method("parajam_paraHead", |params: Params<'_>, api: Arc<A>, _| {
        api.on_call("parajam_paraHead");
        let (para,): (u32,) = params.parse()?;
        let best = api.best_block();
        let value = api
            .service_value(
                &best.header_hash,
                CORECHAINS,
                &StorageKey::Head(ParaId(para)).to_key(),
            )
            .map_err(ErrorObjectOwned::from)?;
        let Some(value) = value else {
            return Ok::<Value, ErrorObjectOwned>(Value::Null);
        };
        let head = HeadData::decode_all(&mut &value.0[..])
            .map_err(|e| internal(&format!("the stored head of para {para}: {e}")))?;
        Ok(json!({
            "header_hash": best.header_hash,
            "slot": best.slot,
            "head": Blob(head.0),
        }))
    })?;
    module.register_blocking_method(
        "parajam_relayState",
        |params: Params<'_>, api: Arc<A>, _| {
            api.on_call("parajam_relayState");
            let (para,): (u32,) = params.parse()?;
            let best = api.best_block();
            let mut failure = None;
            let state = RelayState::read(
                |key| match api.service_value(&best.header_hash, CORECHAINS, &key.to_key()) {
                    Ok(v) => v.map(|b| b.0),
                    Err(e) => {
                        failure = Some(e);
                        None
                    }
                },
                ParaId(para),
                best.slot,
            );
            if let Some(e) = failure {
                return Err(ErrorObjectOwned::from(e));
            }
            let Some(state) = state else {
                return Ok::<Value, ErrorObjectOwned>(Value::Null);
            };
            let entries: Vec<(Blob, Blob)> = state
                .entries()
                .into_iter()
                .map(|(k, v)| (Blob(k), Blob(v)))
                .collect();
            Ok(json!({
                "header_hash": best.header_hash,
                "slot": best.slot,
                "root": Hash(state.root()),
                "entries": entries,
            }))
        },
    )?;
    Ok(module.into())
}

fn internal(message: &str) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(parajam_rpc::OTHER_ERROR, message.to_owned(), None::<()>)
}
