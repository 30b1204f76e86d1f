//! The para's genesis: the state `GenesisBuilder_build_state` makes from a
//! named preset, and the genesis header over it.

use parity_scale_codec::{Decode, Encode};
use sp_core::{storage::well_known_keys, H256};
use sp_runtime::generic::Digest;
use sp_runtime::traits::{BlakeTwo256, Hash as _, Header as _};
use sp_state_machine::{InMemoryBackend, OverlayedChanges};

use crate::{runtime::Runtime, state::ParaState, CollatorError, Header};

/// The preset a dev chain starts from (`sp_genesis_builder::DEV_RUNTIME_PRESET`).
pub const DEV_PRESET: &str = "development";

/// The presets the runtime has (`GenesisBuilder_preset_names`).
pub fn preset_names(runtime: &Runtime) -> Result<Vec<String>, CollatorError> {
    let empty = InMemoryBackend::<BlakeTwo256>::default();
    let names: Vec<Vec<u8>> = runtime.call_decode(&empty, "GenesisBuilder_preset_names", &[])?;
    Ok(names
        .into_iter()
        .map(|n| String::from_utf8_lossy(&n).into_owned())
        .collect())
}

/// The genesis of `preset` as a node makes it from a chain spec naming the
/// preset: the runtime's default genesis config (`get_preset(None)`) with
/// the preset's patch merged in, built into storage by
/// `GenesisBuilder_build_state`, plus `:code`; the genesis header has
/// number 0, a zero parent hash, the state's root and the empty extrinsics
/// root.
pub fn build(runtime: &Runtime, preset: &str) -> Result<ParaState, CollatorError> {
    build_patched(runtime, preset, None)
}

/// [`build`] with `extra` (a JSON patch) merged after the preset's patch,
/// as a chain spec's own patch is.
pub fn build_patched(
    runtime: &Runtime,
    preset: &str,
    extra: Option<serde_json::Value>,
) -> Result<ParaState, CollatorError> {
    let empty = InMemoryBackend::<BlakeTwo256>::default();
    let get_preset = "GenesisBuilder_get_preset";
    let default: Option<Vec<u8>> = runtime.call_args(&empty, get_preset, &None::<Vec<u8>>)?;
    let patch: Option<Vec<u8>> =
        runtime.call_args(&empty, get_preset, &Some(preset.as_bytes().to_vec()))?;
    let patch = patch.ok_or_else(|| CollatorError::UnknownPreset {
        name: preset.to_owned(),
    })?;
    let mut config = match default {
        Some(json) => parse(&json)?,
        None => serde_json::Value::Object(serde_json::Map::new()),
    };
    merge(&mut config, parse(&patch)?);
    if let Some(extra) = extra {
        merge(&mut config, extra);
    }
    let config =
        serde_json::to_vec(&config).map_err(|e| CollatorError::GenesisJson(e.to_string()))?;

    let mut overlay = OverlayedChanges::default();
    let method = "GenesisBuilder_build_state";
    let out = runtime.call_with(
        &empty,
        &mut overlay,
        &mut sp_externalities::Extensions::default(),
        method,
        &config.encode(),
    )?;
    let result = Result::<(), String>::decode(&mut out.as_slice())
        .map_err(|e| CollatorError::decode(method, e))?;
    result.map_err(CollatorError::BuildState)?;
    overlay.set_storage(
        well_known_keys::CODE.to_vec(),
        Some(runtime.code().to_vec()),
    );

    let state_version = runtime.state_version();
    let changes = overlay
        .drain_storage_changes(&empty, state_version)
        .map_err(CollatorError::State)?;
    let mut backend = empty;
    backend.apply_transaction(changes.transaction_storage_root, changes.transaction);

    let header = Header::new(
        0,
        BlakeTwo256::trie_root(Vec::new(), state_version),
        changes.transaction_storage_root,
        H256::zero(),
        Digest::default(),
    );
    Ok(ParaState { header, backend })
}

fn parse(json: &[u8]) -> Result<serde_json::Value, CollatorError> {
    serde_json::from_slice(json).map_err(|e| CollatorError::GenesisJson(e.to_string()))
}

/// Merges `patch` into `base` as a node merges a preset into the default
/// config: objects key by key (recursively), anything else replaced; a
/// `null` in the patch removes the key.
fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(base), serde_json::Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    base.remove(&key);
                } else {
                    merge(base.entry(key).or_insert(serde_json::Value::Null), value);
                }
            }
        }
        (base, patch) => *base = patch,
    }
}

#[cfg(test)]
mod tests {
    use super::merge;

    #[test]
    fn merge_is_recursive_and_replaces_leaves() {
        let mut base = serde_json::json!({"a": {"b": 1, "c": [1, 2]}, "d": 4, "e": 5});
        let patch = serde_json::json!({"a": {"c": [3]}, "d": {"x": 1}, "e": null, "f": 6});
        merge(&mut base, patch);
        assert_eq!(
            base,
            serde_json::json!({"a": {"b": 1, "c": [3]}, "d": {"x": 1}, "f": 6})
        );
    }
}
