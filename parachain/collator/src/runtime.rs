//! Runtime-API calls: the runtime's wasm run by sc-executor over an
//! sp-state-machine backend, with the host functions a cumulus node has.

use std::borrow::Cow;

use parity_scale_codec::{Decode, Encode};
use sc_executor::WasmExecutor;
use sp_core::traits::{CallContext, RuntimeCode, WrappedRuntimeCode};
use sp_externalities::Extensions;
use sp_runtime::traits::BlakeTwo256;
use sp_state_machine::{Backend, OverlayedChanges, StateMachine};
use sp_version::RuntimeVersion;

use crate::CollatorError;

/// The host functions of a cumulus collator: all of sp-io's and cumulus's
/// `storage_proof_size`.
pub type HostFunctions = (
    sp_io::SubstrateHostFunctions,
    cumulus_primitives_proof_size_hostfunction::storage_proof_size::HostFunctions,
);

/// A parachain runtime: its code and an executor for it.
#[derive(Clone)]
pub struct Runtime {
    /// The code as given (what goes into `:code`).
    code: Vec<u8>,
    /// The uncompressed wasm.
    wasm: Vec<u8>,
    /// blake2-256 of `wasm`: the executor's cache key.
    wasm_hash: [u8; 32],
    executor: WasmExecutor<HostFunctions>,
    version: RuntimeVersion,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("code_len", &self.code.len())
            .field("wasm_len", &self.wasm.len())
            .field("spec_name", &self.version.spec_name)
            .field("spec_version", &self.version.spec_version)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Loads runtime code: plain wasm or zstd-compressed wasm (as
    /// substrate-wasm-builder's `.compact.compressed.wasm`), and reads its
    /// version (`Core_version`).
    pub fn new(code: &[u8]) -> Result<Self, CollatorError> {
        let wasm = sp_maybe_compressed_blob::decompress(
            code,
            sp_maybe_compressed_blob::CODE_BLOB_BOMB_LIMIT,
        )
        .map_err(|e| CollatorError::Code(e.to_string()))?
        .into_owned();
        if !wasm.starts_with(b"\0asm") {
            return Err(CollatorError::Code("not a wasm module".into()));
        }
        let wasm_hash = sp_io::hashing::blake2_256(&wasm);
        let executor = WasmExecutor::<HostFunctions>::builder()
            .with_max_runtime_instances(2)
            .build();
        let mut runtime = Self {
            code: code.to_vec(),
            wasm,
            wasm_hash,
            executor,
            version: RuntimeVersion::default(),
        };
        let empty = sp_state_machine::InMemoryBackend::<BlakeTwo256>::default();
        runtime.version = runtime.call_decode(&empty, "Core_version", &[])?;
        Ok(runtime)
    }

    /// The code as given.
    pub fn code(&self) -> &[u8] {
        &self.code
    }

    /// The uncompressed wasm.
    pub fn wasm(&self) -> &[u8] {
        &self.wasm
    }

    /// The runtime's version (`Core_version`).
    pub fn version(&self) -> &RuntimeVersion {
        &self.version
    }

    /// The state version the runtime's storage uses.
    pub fn state_version(&self) -> sp_core::storage::StateVersion {
        self.version.state_version()
    }

    /// Calls runtime-API function `method` with the SCALE-encoded `data` on
    /// `backend` with `overlay` (which the call's writes go to), returning
    /// the SCALE-encoded result.
    pub fn call_with<B: Backend<BlakeTwo256>>(
        &self,
        backend: &B,
        overlay: &mut OverlayedChanges<BlakeTwo256>,
        extensions: &mut Extensions,
        method: &str,
        data: &[u8],
    ) -> Result<Vec<u8>, CollatorError> {
        // frame-system's `set_code` reads the new code's version through
        // the `runtime_version` host function, as on a node.
        extensions.register(sp_core::traits::ReadRuntimeVersionExt::new(
            self.executor.clone(),
        ));
        let fetcher = WrappedRuntimeCode(Cow::Borrowed(&self.wasm));
        let code = RuntimeCode {
            code_fetcher: &fetcher,
            heap_pages: None,
            hash: self.wasm_hash.to_vec(),
        };
        let result = StateMachine::new(
            backend,
            overlay,
            &self.executor,
            method,
            data,
            extensions,
            &code,
            CallContext::Onchain { import: false },
        )
        .execute()
        .map_err(|e| CollatorError::RuntimeCall {
            method: method.to_owned(),
            reason: e.to_string(),
        });
        result
    }

    /// A read-only call: its writes are dropped.
    pub fn call<B: Backend<BlakeTwo256>>(
        &self,
        backend: &B,
        method: &str,
        data: &[u8],
    ) -> Result<Vec<u8>, CollatorError> {
        let mut overlay = OverlayedChanges::default();
        self.call_with(backend, &mut overlay, &mut Extensions::new(), method, data)
    }

    /// A read-only call whose result is decoded as `T`.
    pub fn call_decode<B: Backend<BlakeTwo256>, T: Decode>(
        &self,
        backend: &B,
        method: &str,
        data: &[u8],
    ) -> Result<T, CollatorError> {
        let out = self.call(backend, method, data)?;
        T::decode(&mut out.as_slice()).map_err(|e| CollatorError::decode(method, e))
    }

    /// Encodes `args` and makes a read-only call, decoding the result.
    pub fn call_args<B: Backend<BlakeTwo256>, A: Encode, T: Decode>(
        &self,
        backend: &B,
        method: &str,
        args: &A,
    ) -> Result<T, CollatorError> {
        self.call_decode(backend, method, &args.encode())
    }
}
