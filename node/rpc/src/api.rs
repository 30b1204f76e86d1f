//! [`NodeApi`]: what the RPC server asks of the node.

use jsonrpsee::types::ErrorObjectOwned;
use tokio::sync::broadcast;

use crate::types::{
    Blob, BlockDescriptor, Hash, Parameters, SyncState, SyncStatus, WorkPackageStatus,
};

/// JIP-2 error code 0: other error.
pub const OTHER_ERROR: i32 = 0;
/// JIP-2 error code 1: block unavailable (`data`: the header hash).
pub const BLOCK_UNAVAILABLE: i32 = 1;
/// JIP-2 error code 2: work-report unavailable (`data`: the report hash).
pub const WORK_REPORT_UNAVAILABLE: i32 = 2;
/// JIP-2 error code 3: DA segment unavailable.
pub const DA_SEGMENT_UNAVAILABLE: i32 = 3;
/// JSON-RPC 2.0: invalid method parameters.
pub const INVALID_PARAMS: i32 = -32602;

/// Why the node could not answer; each is one JIP-2 (or JSON-RPC) error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The block (or its posterior state) is not known: code 1.
    #[error("block unavailable: {0}")]
    BlockUnavailable(Hash),
    /// The work report is not known: code 2.
    #[error("work-report unavailable: {0}")]
    WorkReportUnavailable(Hash),
    /// A DA segment could not be fetched: code 3.
    #[error("DA segment unavailable: {0}")]
    SegmentUnavailable(String),
    /// A parameter is well-formed JSON of the right type but refused by the
    /// node (e.g. a core index out of range): JSON-RPC code -32602.
    #[error("invalid params: {0}")]
    InvalidParams(String),
    /// Anything else (e.g. a submission refused): code 0.
    #[error("{0}")]
    Other(String),
}

impl From<ApiError> for ErrorObjectOwned {
    fn from(e: ApiError) -> Self {
        let message = e.to_string();
        match e {
            ApiError::BlockUnavailable(h) => Self::owned(BLOCK_UNAVAILABLE, message, Some(h)),
            ApiError::WorkReportUnavailable(h) => {
                Self::owned(WORK_REPORT_UNAVAILABLE, message, Some(h))
            }
            ApiError::SegmentUnavailable(_) => {
                Self::owned(DA_SEGMENT_UNAVAILABLE, message, None::<()>)
            }
            ApiError::InvalidParams(_) => Self::owned(INVALID_PARAMS, message, None::<()>),
            ApiError::Other(_) => Self::owned(OTHER_ERROR, message, None::<()>),
        }
    }
}

/// What the node broadcasts to drive the subscriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeEvent {
    /// A new best block.
    Best(BlockDescriptor),
    /// A new finalized block.
    Finalized(BlockDescriptor),
    /// The sync status changed.
    Sync(SyncStatus),
}

/// The node behind the JIP-2 server.
///
/// Methods are called from the server's threads and should answer
/// promptly (they are run on tokio's blocking pool). Queries name a block
/// by header hash and read its posterior state; a block (or state) the node
/// does not have is [`ApiError::BlockUnavailable`].
pub trait NodeApi: Send + Sync + 'static {
    /// `parameters`.
    fn parameters(&self) -> Parameters;
    /// `bestBlock`: the head of the best chain.
    fn best_block(&self) -> BlockDescriptor;
    /// `finalizedBlock`: the latest finalized block.
    fn finalized_block(&self) -> BlockDescriptor;
    /// `parent`: the parent of `block`.
    fn parent(&self, block: &Hash) -> Result<BlockDescriptor, ApiError>;
    /// `stateRoot`: the posterior state root of `block`.
    fn state_root(&self, block: &Hash) -> Result<Hash, ApiError>;
    /// `beefyRoot`: the BEEFY root of `block`.
    fn beefy_root(&self, block: &Hash) -> Result<Hash, ApiError>;
    /// `statistics`: `π` in `block`'s posterior state, GP-encoded.
    fn statistics(&self, block: &Hash) -> Result<Blob, ApiError>;
    /// `serviceData`: the service's info (GP-encoded), `None` if no such service.
    fn service_data(&self, block: &Hash, service: u32) -> Result<Option<Blob>, ApiError>;
    /// `serviceValue`: a storage value of the service, `None` if absent.
    fn service_value(
        &self,
        block: &Hash,
        service: u32,
        key: &[u8],
    ) -> Result<Option<Blob>, ApiError>;
    /// `servicePreimage`: a preimage provided to the service, `None` if absent.
    fn service_preimage(
        &self,
        block: &Hash,
        service: u32,
        hash: &Hash,
    ) -> Result<Option<Blob>, ApiError>;
    /// `serviceRequest`: the slots of the request `(hash, len)`, `None` if
    /// neither requested nor provided.
    fn service_request(
        &self,
        block: &Hash,
        service: u32,
        hash: &Hash,
        len: u32,
    ) -> Result<Option<Vec<u32>>, ApiError>;
    /// `workReport`: an encoded work report by its hash.
    fn work_report(&self, hash: &Hash) -> Result<Blob, ApiError>;
    /// `submitWorkPackage`.
    fn submit_work_package(
        &self,
        core: u16,
        package: Vec<u8>,
        extrinsics: Vec<Vec<u8>>,
    ) -> Result<(), ApiError>;
    /// `submitWorkPackageBundle`.
    fn submit_work_package_bundle(&self, core: u16, bundle: Vec<u8>) -> Result<(), ApiError>;
    /// `workPackageStatus`.
    fn work_package_status(
        &self,
        block: &Hash,
        package: &Hash,
        anchor: &Hash,
    ) -> Result<WorkPackageStatus, ApiError>;
    /// `submitPreimage`.
    fn submit_preimage(&self, requester: u32, preimage: Vec<u8>) -> Result<(), ApiError>;
    /// `listServices`.
    fn list_services(&self, block: &Hash) -> Result<Vec<u32>, ApiError>;
    /// `fetchWorkPackageSegments`: segments exported by a package.
    fn fetch_work_package_segments(
        &self,
        package: &Hash,
        indices: &[u16],
    ) -> Result<Vec<Blob>, ApiError>;
    /// `fetchSegments`: segments by segment root.
    fn fetch_segments(&self, segment_root: &Hash, indices: &[u16]) -> Result<Vec<Blob>, ApiError>;
    /// `syncState`.
    fn sync_state(&self) -> SyncState;
    /// New best and finalized blocks and sync status changes, for the
    /// subscriptions.
    fn events(&self) -> broadcast::Receiver<NodeEvent>;
    /// Called with the method's name before each call (for metrics);
    /// nothing by default.
    fn on_call(&self, _method: &'static str) {}
}
