//! One parachain validation function (PVF) call, on either engine, with the
//! same host functions:
//!
//! - [`wasm`]: the legacy path, a wasm PVF on wasmtime, as the relay
//!   chain's PVF executor runs it (MVP features only, the params allocated
//!   in the PVF's heap, `validate_block(ptr, len) -> ptr | len << 32`);
//! - [`pvm`]: the JAM path, a PVF artifact on the PVM, run by the CoreChains
//!   service's own executor (`parajam_corechains_service::executor`, the
//!   code the service runs in refine) natively, over the node's inner
//!   machines.
//!
//! Both serve the service's Substrate host-function table
//! (`parajam_corechains_service::host_functions`, version 2) with the same
//! freeing-bump allocator, so a PVF that passes one and fails the other
//! shows a real difference, not an executor's.

pub mod pvm;
pub mod wasm;

use parajam_corechains_service::host::LogLevel;
use parajam_corechains_types::InvalidReason;

/// Why a PVF call failed.
#[derive(Debug, thiserror::Error)]
pub enum PvfError {
    /// The code is not a PVF this engine can run.
    #[error("bad PVF code: {0}")]
    BadCode(String),
    /// The block is invalid: the PVF failed as the service would report it.
    #[error("invalid block: {0:?}")]
    Invalid(InvalidReason),
    /// The wasm PVF trapped.
    #[error("the wasm PVF failed: {0}")]
    Trap(String),
    /// The engine failed.
    #[error("engine: {0}")]
    Engine(String),
}

/// A successful call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    /// The octets `validate_block` returned (the encoded `ValidationResult`).
    pub result: Vec<u8>,
    /// Gas used (PVM) or fuel used (wasm).
    pub used: u64,
    /// Host functions called.
    pub host_calls: u32,
}

/// A log line a PVF wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Its level.
    pub level: LogLevel,
    /// Its target.
    pub target: Vec<u8>,
    /// Its message.
    pub message: Vec<u8>,
}
