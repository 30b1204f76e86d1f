//! What the collator's tests share: runtime/parachain's wasm, a relay-chain
//! validator's `validate_block`, account reads.
#![allow(dead_code, unsafe_code)]

use std::path::PathBuf;

use parajam_collator::{system_account_key, BuiltBlock, ParaState};
use parity_scale_codec::{Decode, Encode};
use polkadot_parachain_primitives::primitives::{ValidationParams, ValidationResult};

/// One unit of runtime/parachain's currency.
pub const UNIT: u128 = 1_000_000_000_000;
/// runtime/parachain's para id.
pub const PARA_ID: u32 = 2000;

/// runtime/parachain's wasm as `parajam pvf build` makes it (from its cache,
/// ~1 s, once built).
pub fn parachain_wasm() -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../runtime/parachain");
    let built = parajam_pvf_build::build(&parajam_pvf_build::Options::new(dir))
        .expect("runtime/parachain builds");
    let wasm = built.wasm.expect("the wasm runtime is built");
    std::fs::read(&wasm.path).expect("the wasm file reads")
}

/// `System::Account` of `account`: (nonce, free balance).
pub fn account(state: &ParaState, account: &[u8; 32]) -> (u32, u128) {
    let raw = state
        .storage(&system_account_key(account))
        .expect("state reads")
        .expect("the account exists");
    // AccountInfo { nonce: u32, consumers, providers, sufficients,
    // data: AccountData { free: u128, reserved, frozen, flags } }
    let (nonce, _, _, _, free): (u32, u32, u32, u32, u128) =
        Decode::decode(&mut raw.as_slice()).expect("AccountInfo decodes");
    (nonce, free)
}

/// A relay-chain validator's PVF execution: the wasm prepared and run as
/// Polkadot's PVF workers do (polkadot-node-core-pvf-common: wasmtime with
/// the validation semantics, no storage, the relay chain's host functions).
pub struct Validator {
    artifact: Vec<u8>,
    params: polkadot_primitives::ExecutorParams,
}

impl Validator {
    /// Prepares (compiles) `wasm`.
    pub fn new(wasm: &[u8]) -> Self {
        let wasm = sp_maybe_compressed_blob::decompress(wasm, 64 << 20).expect("code decompresses");
        let params = polkadot_primitives::ExecutorParams::default();
        let blob = polkadot_node_core_pvf_common::executor_interface::prevalidate(&wasm)
            .expect("prevalidates");
        let artifact = polkadot_node_core_pvf_common::executor_interface::prepare(blob, &params)
            .expect("prepares");
        Self { artifact, params }
    }

    /// Runs `validate_block` on `params`.
    pub fn validate(&self, params: &ValidationParams) -> Result<ValidationResult, String> {
        // SAFETY: the artifact was produced by `prepare` above and not modified.
        let out = unsafe {
            polkadot_node_core_pvf_common::executor_interface::execute_artifact(
                &self.artifact,
                &self.params,
                &params.encode(),
            )
        }
        .map_err(|e| format!("{e:?}"))?;
        ValidationResult::decode(&mut out.as_slice()).map_err(|e| e.to_string())
    }

    /// Validates a built block; panics unless it is valid and gives its head.
    pub fn check(&self, block: &BuiltBlock) {
        let result = self
            .validate(&block.validation_params())
            .unwrap_or_else(|e| panic!("block {} is invalid: {e}", block.report.number));
        assert_eq!(
            result.head_data.0, block.head,
            "validate_block gives the new head"
        );
    }
}
