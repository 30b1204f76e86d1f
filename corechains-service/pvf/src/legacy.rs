//! The legacy path: a wasm PVF run by the relay chain's own PVF executor.
//!
//! This is not an executor of ours. Preparation and execution are the
//! functions Polkadot's PVF prepare and execute workers call, from
//! `polkadot-node-core-pvf-common` (`executor_interface`), on `sc-executor`
//! and its wasmtime, so a block gives here what it gives on a validator:
//!
//! | step | here | on a validator |
//! |---|---|---|
//! | decompress | [`prepare`]: `sp_maybe_compressed_blob::decompress` with the code bomb limit | the prepare worker, the same call |
//! | prevalidate | `executor_interface::prevalidate` (a `RuntimeBlob`) | the same function |
//! | compile | `executor_interface::prepare` with the executor parameters (the relay chain's wasmtime semantics: MVP wasm, deterministic stack limits, heap pages, NaN canonicalization, single-threaded Cranelift), giving the compiled artifact | the same function; the artifact goes to a file |
//! | execute | [`Prepared::validate_block`]: `executor_interface::execute_artifact` (deserializes the artifact, instantiates it with the PVF host functions, `ValidationExternalities` that refuse storage and the `ReadRuntimeVersion` extension, then calls `validate_block` with the encoded `ValidationParams`) on a thread with the execute worker's stack size | the same function, in a sandboxed child process of the execute worker, on a thread of the same size |
//! | result | decoded as a `ValidationResult` (upstream type) or the candidate is invalid | the same |
//!
//! What a validator has and this does not: the worker processes and their
//! sandbox (seccomp, landlock, namespaces), the artifact files and their
//! checksums, the memory limit of preparation, and time limits measured in
//! CPU time; here the execution time limit is wall-clock time, by default
//! the approval timeout (`DEFAULT_APPROVAL_EXECUTION_TIMEOUT`), and an
//! execution that times out is left running on its thread (its result is
//! dropped).

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use parity_scale_codec::Decode;
use polkadot_node_core_pvf_common::error::ExecuteError;
use polkadot_node_core_pvf_common::executor_interface;
use polkadot_parachain_primitives::primitives::ValidationResult;
use polkadot_primitives::executor_params::DEFAULT_APPROVAL_EXECUTION_TIMEOUT;
use polkadot_primitives::{ExecutorParams, PvfExecKind, MAX_CODE_SIZE};

/// The relay chain's `MAX_VALIDATION_CODE_COMPRESSION_RATIO`: the runtime's
/// `validation_code_bomb_limit` is the configured `max_code_size` times this.
pub const CODE_COMPRESSION_RATIO: usize = 10;

/// The default bomb limit of code decompression: the largest
/// `validation_code_bomb_limit` the relay chain can have
/// (`MAX_CODE_SIZE × 10`, 50 MiB).
pub const DEFAULT_CODE_BOMB_LIMIT: usize = MAX_CODE_SIZE as usize * CODE_COMPRESSION_RATIO;

/// The execute worker's stack on top of the wasm's native stack limit.
const EXECUTE_THREAD_STACK_OVERHEAD: usize = 2 * 1024 * 1024;

/// How a PVF is prepared and executed.
#[derive(Debug, Clone)]
pub struct Config {
    /// The session's executor parameters (heap pages, stack limits, wasm
    /// extensions, timeouts); the default is the empty set, the relay
    /// chain's default semantics.
    pub executor_params: ExecutorParams,
    /// The decompressed code may be at most this long.
    pub code_bomb_limit: usize,
    /// The execution time limit (wall clock); `None`: the executor
    /// parameters' approval timeout, else `DEFAULT_APPROVAL_EXECUTION_TIMEOUT`.
    pub exec_timeout: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            executor_params: ExecutorParams::default(),
            code_bomb_limit: DEFAULT_CODE_BOMB_LIMIT,
            exec_timeout: None,
        }
    }
}

impl Config {
    /// The execution time limit in force.
    pub fn exec_timeout(&self) -> Duration {
        self.exec_timeout.unwrap_or_else(|| {
            self.executor_params
                .pvf_exec_timeout(PvfExecKind::Approval)
                .unwrap_or(DEFAULT_APPROVAL_EXECUTION_TIMEOUT)
        })
    }

    /// The stack of the execute thread, as the execute worker sizes it:
    /// 2 MiB above the deterministic native stack limit.
    fn execute_stack_size(&self) -> usize {
        let (_, limit) = executor_interface::params_to_wasmtime_semantics(&self.executor_params);
        usize::try_from(limit.native_stack_max)
            .unwrap_or(usize::MAX)
            .saturating_add(EXECUTE_THREAD_STACK_OVERHEAD)
    }
}

/// Why a legacy PVF call failed. Each variant names the relay chain's
/// outcome it stands for; the messages are the executor's, and the
/// displayed text is the relay chain's (`PrepareError`'s, or the
/// `InvalidCandidate` string of the execute worker).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LegacyError {
    /// The code is neither wasm nor a zstd-compressed blob within the bomb
    /// limit (`PrepareError::CouldNotDecompressCodeBlob`).
    #[error("prepare: could not decompress code blob: {0}")]
    Decompress(String),
    /// The code is not a runtime blob (`PrepareError::Prevalidation`).
    #[error("prepare: prevalidation error: {0}")]
    Prevalidation(String),
    /// The code does not compile under the relay chain's semantics
    /// (`PrepareError::Preparation`).
    #[error("prepare: preparation error: {0}")]
    Preparation(String),
    /// The compiled artifact could not be made a runtime
    /// (`JobResponse::RuntimeConstruction`, retried by the relay chain).
    #[error("execute: runtime construction: {0}")]
    RuntimeConstruction(String),
    /// The block is invalid: `validate_block` trapped, the runtime panicked,
    /// called a missing host function, returned out of bounds, ... (the
    /// executor's error, `JobResponse::InvalidCandidate("execute: ..")`).
    #[error("execute: {0}")]
    Invalid(String),
    /// The block is invalid: `validate_block` returned octets that are not
    /// a `ValidationResult` (`JobResponse::InvalidCandidate("validation
    /// result decoding failed: ..")`).
    #[error("validation result decoding failed: {0}")]
    BadResult(String),
    /// The execution took longer than the time limit (`JobError::TimedOut`).
    #[error("execute: timed out after {0:?}")]
    TimedOut(Duration),
    /// The execute thread could not be spawned, or panicked
    /// (`JobError::CouldNotSpawnThread`, `JobError::Panic`).
    #[error("execute: job error: {0}")]
    Job(String),
}

impl LegacyError {
    /// Whether the relay chain would count the candidate invalid: a
    /// deterministic preparation failure, a failed or timed-out execution or
    /// a bad result. Runtime construction and job errors are the node's
    /// (retried before any vote).
    pub fn is_invalid_candidate(&self) -> bool {
        !matches!(self, Self::RuntimeConstruction(_) | Self::Job(_))
    }
}

/// A successful `validate_block`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    /// The octets `validate_block` returned; they decode as a
    /// `ValidationResult`.
    pub result: Vec<u8>,
}

/// A PVF compiled by the relay chain's prepare step, ready to execute.
#[derive(Clone)]
pub struct Prepared {
    /// The compiled artifact from `executor_interface::prepare`, never
    /// changed after: what makes executing it sound.
    artifact: Arc<[u8]>,
    config: Config,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("artifact_len", &self.artifact.len())
            .field("config", &self.config)
            .finish()
    }
}

/// Prepares `code` (a wasm PVF, zstd-compressed or not) with the default
/// [`Config`], as the relay chain's prepare worker does.
pub fn prepare(code: &[u8]) -> Result<Prepared, LegacyError> {
    prepare_with(code, Config::default())
}

/// Prepares `code` with `config`: decompresses it, prevalidates it and
/// compiles it to an artifact.
pub fn prepare_with(code: &[u8], config: Config) -> Result<Prepared, LegacyError> {
    let code = sp_maybe_compressed_blob::decompress(code, config.code_bomb_limit)
        .map_err(|e| LegacyError::Decompress(e.to_string()))?;
    let blob = executor_interface::prevalidate(&code)
        .map_err(|e| LegacyError::Prevalidation(format!("{e:?}")))?;
    let artifact = executor_interface::prepare(blob, &config.executor_params)
        .map_err(|e| LegacyError::Preparation(format!("{e:?}")))?;
    Ok(Prepared {
        artifact: artifact.into(),
        config,
    })
}

/// Prepares `code` and validates one block with it (default [`Config`]).
pub fn validate_block(code: &[u8], params: &[u8]) -> Result<Validated, LegacyError> {
    prepare(code)?.validate_block(params)
}

impl Prepared {
    /// The compiled artifact's length in octets.
    pub fn artifact_len(&self) -> usize {
        self.artifact.len()
    }

    /// The configuration it was prepared with and executes with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Executes `validate_block` on the encoded `ValidationParams` `params`
    /// as the execute worker does: on a thread of its stack size, the
    /// artifact deserialized, instantiated and called; the result must
    /// decode as a `ValidationResult`.
    pub fn validate_block(&self, params: &[u8]) -> Result<Validated, LegacyError> {
        let timeout = self.config.exec_timeout();
        let (send, receive) = mpsc::sync_channel(1);
        let artifact = Arc::clone(&self.artifact);
        let executor_params = self.config.executor_params.clone();
        let params = params.to_vec();
        std::thread::Builder::new()
            .name("pvf-execute".into())
            .stack_size(self.config.execute_stack_size())
            .spawn(move || {
                let outcome = execute(&artifact, &executor_params, &params);
                // The receiver is gone only after a timeout.
                let _ = send.send(outcome);
            })
            .map_err(|e| LegacyError::Job(format!("could not spawn the execute thread: {e}")))?;
        match receive.recv_timeout(timeout) {
            Ok(outcome) => outcome,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(LegacyError::TimedOut(timeout)),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(LegacyError::Job("the execute thread panicked".into()))
            }
        }
    }
}

/// `execute_artifact` and the result check, as the execute worker's
/// `validate_using_artifact`.
fn execute(
    artifact: &[u8],
    executor_params: &ExecutorParams,
    params: &[u8],
) -> Result<Validated, LegacyError> {
    let result = match execute_artifact(artifact, executor_params, params) {
        Ok(result) => result,
        Err(ExecuteError::RuntimeConstruction(e)) => {
            return Err(LegacyError::RuntimeConstruction(e.to_string()))
        }
        Err(e) => return Err(LegacyError::Invalid(e.to_string())),
    };
    // As the worker: `decode`, not `decode_all`.
    ValidationResult::decode(&mut &result[..])
        .map_err(|e| LegacyError::BadResult(e.to_string()))?;
    Ok(Validated { result })
}

/// The one unsafe call: executing a compiled artifact.
#[allow(unsafe_code)]
fn execute_artifact(
    artifact: &[u8],
    executor_params: &ExecutorParams,
    params: &[u8],
) -> Result<Vec<u8>, ExecuteError> {
    // SAFETY: `artifact` is a `Prepared`'s, which only `prepare_with` makes,
    // from `executor_interface::prepare`'s output, kept unchanged behind an
    // `Arc<[u8]>` (the condition `execute_artifact` states); it was prepared
    // with the same executor parameters.
    unsafe { executor_interface::execute_artifact(artifact, executor_params, params) }
}
