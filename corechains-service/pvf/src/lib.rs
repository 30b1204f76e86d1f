//! One parachain validation function (PVF) call, on either engine:
//!
//! - [`legacy`]: the relay chain's path, a wasm PVF prepared and executed by
//!   Polkadot's own PVF executor (`polkadot-node-core-pvf-common` on
//!   `sc-executor`'s wasmtime, with its host functions), as validators run
//!   it;
//! - [`pvm`]: the JAM path, a PVF artifact on the PVM, run by the CoreChains
//!   service's own executor (`parajam_corechains_service::executor`, the
//!   code the service runs in refine) natively, over the node's inner
//!   machines, serving the service's Substrate host-function table
//!   (`parajam_corechains_service::host_functions`).
//!
//! The two share no code: a block that gives different octets on them shows
//! a difference between the CoreChains executor (or the PVF's PVM build) and
//! the relay chain's.

pub mod legacy;
pub mod pvm;

use parajam_corechains_service::host::LogLevel;
use parajam_corechains_types::InvalidReason;

/// Why a PVF call on the PVM failed.
#[derive(Debug, thiserror::Error)]
pub enum PvfError {
    /// The code is not a PVF this engine can run.
    #[error("bad PVF code: {0}")]
    BadCode(String),
    /// The block is invalid: the PVF failed as the service would report it.
    #[error("invalid block: {0:?}")]
    Invalid(InvalidReason),
    /// The PVF's inner machine engine failed: not a verdict on the block.
    #[error(transparent)]
    Engine(#[from] parajam_host::refine::InnerFailure),
}

/// A successful call on the PVM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    /// The octets `validate_block` returned (the encoded `ValidationResult`).
    pub result: Vec<u8>,
    /// Gas used.
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
