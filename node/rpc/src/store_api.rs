//! [`StoreApi`]: a [`NodeApi`] that answers from a [`ChainStore`], reading
//! blocks' posterior states as the GP serializes them (appendix D), and
//! hands submissions to the node through a channel.

use std::sync::mpsc;
use std::sync::{Mutex, PoisonError};

use parajam_primitives::types::{
    account_entry_state_key, decode_request, preimage_key, request_key, service_info_key,
    service_of_info_key, storage_key, RecentBlocks, StateComponent, StateKey,
};
use parajam_primitives::{ByteArray, ProtocolParameters};
use parajam_storage::{BlockRef, ChainStore, StorageError};
use tokio::sync::broadcast;

use crate::api::{ApiError, NodeApi, NodeEvent};
use crate::types::{
    Blob, BlockDescriptor, Hash, Parameters, ParametersV1, SyncState, SyncStatus, WorkPackageStatus,
};

/// Something a client submitted, for the node to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission {
    /// `submitWorkPackage`.
    WorkPackage {
        /// The core.
        core: u16,
        /// The encoded work-package.
        package: Vec<u8>,
        /// Its extrinsics.
        extrinsics: Vec<Vec<u8>>,
    },
    /// `submitWorkPackageBundle`.
    Bundle {
        /// The core.
        core: u16,
        /// The encoded bundle.
        bundle: Vec<u8>,
    },
    /// `submitPreimage`.
    Preimage {
        /// The service that requested it.
        requester: u32,
        /// The preimage.
        preimage: Vec<u8>,
    },
}

/// Where a [`StoreApi`] hands submissions: the node's answer is the
/// client's (e.g. a full queue is a "busy" error, a package that fails
/// authorization an error naming why).
pub trait Submitter: Send + Sync + 'static {
    /// Takes `submission`, or refuses it.
    fn submit(&self, submission: Submission) -> Result<(), ApiError>;
}

/// A channel takes every submission until its receiver is gone.
impl Submitter for Mutex<mpsc::Sender<Submission>> {
    fn submit(&self, submission: Submission) -> Result<(), ApiError> {
        self.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(submission)
            .map_err(|_| ApiError::Other("the node is shutting down".into()))
    }
}

/// A [`NodeApi`] over a [`ChainStore`].
///
/// The node tells it of new best and finalized blocks with
/// [`StoreApi::notify`]; submissions go to the channel given to
/// [`StoreApi::new`] or the [`Submitter`] given to
/// [`StoreApi::with_submitter`] (or are refused without one). `workPackageStatus`
/// needs the guarantor's and auditor's view of packages, which a store does
/// not have: it answers error 0.
pub struct StoreApi<S> {
    store: S,
    params: ProtocolParameters,
    events: broadcast::Sender<NodeEvent>,
    submissions: Option<Box<dyn Submitter>>,
    sync: Mutex<SyncState>,
    on_call: Option<CallHook>,
}

/// What [`StoreApi::set_call_hook`] takes: called with each method's name.
pub type CallHook = Box<dyn Fn(&'static str) + Send + Sync>;

impl<S: std::fmt::Debug> std::fmt::Debug for StoreApi<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreApi")
            .field("store", &self.store)
            .field("params", &self.params)
            .field("takes_submissions", &self.submissions.is_some())
            .finish_non_exhaustive()
    }
}

fn hash_of(h: &ByteArray<32>) -> Hash {
    Hash(h.0)
}

fn header_hash(h: &Hash) -> ByteArray<32> {
    ByteArray(h.0)
}

fn other(e: &StorageError) -> ApiError {
    ApiError::Other(format!("storage: {e}"))
}

/// The block a pointer names; before genesis (or on a read error) there is
/// none: the zero hash at slot 0.
fn tracked(r: Result<Option<BlockRef>, StorageError>) -> BlockDescriptor {
    r.ok().flatten().map_or(
        BlockDescriptor {
            header_hash: Hash([0; 32]),
            slot: 0,
        },
        descriptor,
    )
}

fn descriptor(b: BlockRef) -> BlockDescriptor {
    BlockDescriptor {
        header_hash: hash_of(&b.hash),
        slot: b.slot,
    }
}

impl<S: ChainStore> StoreApi<S> {
    /// An API over `store` for a chain of `params`, sending submissions to
    /// `submissions` if given.
    pub fn new(
        store: S,
        params: ProtocolParameters,
        submissions: Option<mpsc::Sender<Submission>>,
    ) -> Self {
        Self {
            store,
            params,
            events: broadcast::channel(256).0,
            submissions: submissions.map(|tx| Box::new(Mutex::new(tx)) as Box<dyn Submitter>),
            sync: Mutex::new(SyncState {
                num_peers: 0,
                status: SyncStatus::Completed,
            }),
            on_call: None,
        }
    }

    /// An API over `store` for a chain of `params`, handing submissions
    /// to `submitter`.
    pub fn with_submitter(store: S, params: ProtocolParameters, submitter: impl Submitter) -> Self {
        let mut api = Self::new(store, params, None);
        api.submissions = Some(Box::new(submitter));
        api
    }

    /// Calls `hook` with each RPC method's name before the call.
    pub fn set_call_hook(&mut self, hook: CallHook) {
        self.on_call = Some(hook);
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Tells the subscriptions of a new best block, finalized block or sync
    /// status.
    pub fn notify(&self, event: NodeEvent) {
        if let NodeEvent::Sync(status) = event {
            self.sync
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .status = status;
        }
        // No subscriber is fine.
        let _ = self.events.send(event);
    }

    /// Sets the peer count `syncState` reports.
    pub fn set_peers(&self, num_peers: u32) {
        self.sync
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .num_peers = num_peers;
    }

    /// One value of `block`'s posterior state; `BlockUnavailable` if the
    /// block or its state is not kept.
    fn value(&self, block: &Hash, key: &StateKey) -> Result<Option<Vec<u8>>, ApiError> {
        self.store
            .state_value(&header_hash(block), key)
            .map_err(|e| other(&e))?
            .ok_or(ApiError::BlockUnavailable(*block))
    }

    fn component(&self, block: &Hash, c: StateComponent) -> Result<Vec<u8>, ApiError> {
        self.value(block, &c.key())?.ok_or_else(|| {
            ApiError::Other(format!("state of {block} has no component {}", c as u8))
        })
    }

    fn recent_blocks(&self, block: &Hash) -> Result<RecentBlocks, ApiError> {
        let bytes = self.component(block, StateComponent::RecentBlocks)?;
        parajam_primitives::decode(&bytes, &self.params)
            .map_err(|e| ApiError::Other(format!("recent blocks of {block}: {e}")))
    }

    fn submit(&self, s: Submission) -> Result<(), ApiError> {
        self.submissions
            .as_ref()
            .ok_or_else(|| ApiError::Other("this node takes no submissions".into()))?
            .submit(s)
    }
}

impl<S: ChainStore + 'static> NodeApi for StoreApi<S> {
    fn parameters(&self) -> Parameters {
        Parameters::V1(ParametersV1::from(&self.params))
    }

    fn best_block(&self) -> BlockDescriptor {
        tracked(self.store.best())
    }

    fn finalized_block(&self) -> BlockDescriptor {
        tracked(self.store.finalized())
    }

    fn parent(&self, block: &Hash) -> Result<BlockDescriptor, ApiError> {
        let info = self
            .store
            .block_info(&header_hash(block))
            .map_err(|e| other(&e))?
            .ok_or(ApiError::BlockUnavailable(*block))?;
        let parent = self
            .store
            .block_info(&info.parent)
            .map_err(|e| other(&e))?
            .ok_or(ApiError::BlockUnavailable(hash_of(&info.parent)))?;
        Ok(BlockDescriptor {
            header_hash: hash_of(&info.parent),
            slot: parent.slot,
        })
    }

    fn state_root(&self, block: &Hash) -> Result<Hash, ApiError> {
        self.store
            .block_info(&header_hash(block))
            .map_err(|e| other(&e))?
            .map(|i| hash_of(&i.state_root))
            .ok_or(ApiError::BlockUnavailable(*block))
    }

    fn beefy_root(&self, block: &Hash) -> Result<Hash, ApiError> {
        // `β_H` of the block's posterior state ends with the block itself
        // (GP eq. 7.8).
        self.recent_blocks(block)?
            .history
            .0
            .iter()
            .rev()
            .find(|b| b.header_hash.0 == block.0)
            .map(|b| hash_of(&b.beefy_root))
            .ok_or(ApiError::BlockUnavailable(*block))
    }

    fn statistics(&self, block: &Hash) -> Result<Blob, ApiError> {
        self.component(block, StateComponent::Statistics).map(Blob)
    }

    fn service_data(&self, block: &Hash, service: u32) -> Result<Option<Blob>, ApiError> {
        Ok(self.value(block, &service_info_key(service))?.map(Blob))
    }

    fn service_value(
        &self,
        block: &Hash,
        service: u32,
        key: &[u8],
    ) -> Result<Option<Blob>, ApiError> {
        let state_key = account_entry_state_key(service, &storage_key(key));
        Ok(self.value(block, &state_key)?.map(Blob))
    }

    fn service_preimage(
        &self,
        block: &Hash,
        service: u32,
        hash: &Hash,
    ) -> Result<Option<Blob>, ApiError> {
        let state_key = account_entry_state_key(service, &preimage_key(&ByteArray(hash.0)));
        Ok(self.value(block, &state_key)?.map(Blob))
    }

    fn service_request(
        &self,
        block: &Hash,
        service: u32,
        hash: &Hash,
        len: u32,
    ) -> Result<Option<Vec<u32>>, ApiError> {
        let state_key = account_entry_state_key(service, &request_key(&ByteArray(hash.0), len));
        self.value(block, &state_key)?
            .map(|v| {
                decode_request(&v)
                    .ok_or_else(|| ApiError::Other(format!("request value {v:?} is malformed")))
            })
            .transpose()
    }

    fn work_report(&self, hash: &Hash) -> Result<Blob, ApiError> {
        self.store
            .work_report(&ByteArray(hash.0))
            .map_err(|e| other(&e))?
            .map(Blob)
            .ok_or(ApiError::WorkReportUnavailable(*hash))
    }

    fn submit_work_package(
        &self,
        core: u16,
        package: Vec<u8>,
        extrinsics: Vec<Vec<u8>>,
    ) -> Result<(), ApiError> {
        if core >= self.params.core_count {
            return Err(ApiError::InvalidParams(format!(
                "core {core}: there are {} cores",
                self.params.core_count
            )));
        }
        self.submit(Submission::WorkPackage {
            core,
            package,
            extrinsics,
        })
    }

    fn submit_work_package_bundle(&self, core: u16, bundle: Vec<u8>) -> Result<(), ApiError> {
        if core >= self.params.core_count {
            return Err(ApiError::InvalidParams(format!(
                "core {core}: there are {} cores",
                self.params.core_count
            )));
        }
        self.submit(Submission::Bundle { core, bundle })
    }

    fn work_package_status(
        &self,
        _block: &Hash,
        _package: &Hash,
        _anchor: &Hash,
    ) -> Result<WorkPackageStatus, ApiError> {
        Err(ApiError::Other(
            "work-package status is not tracked by this node".into(),
        ))
    }

    fn submit_preimage(&self, requester: u32, preimage: Vec<u8>) -> Result<(), ApiError> {
        let best = self.best_block().header_hash;
        if self.service_data(&best, requester)?.is_none() {
            return Err(ApiError::Other(format!("no service {requester}")));
        }
        self.submit(Submission::Preimage {
            requester,
            preimage,
        })
    }

    fn list_services(&self, block: &Hash) -> Result<Vec<u32>, ApiError> {
        let state = self
            .store
            .state(&header_hash(block))
            .map_err(|e| other(&e))?
            .ok_or(ApiError::BlockUnavailable(*block))?;
        Ok(state
            .iter()
            .filter_map(|kv| service_of_info_key(&kv.key))
            .collect())
    }

    fn fetch_work_package_segments(
        &self,
        package: &Hash,
        indices: &[u16],
    ) -> Result<Vec<Blob>, ApiError> {
        // The package's exports root, from the best block's recent history.
        let best = self.best_block().header_hash;
        let root = self
            .recent_blocks(&best)?
            .history
            .0
            .iter()
            .flat_map(|b| b.reported.iter())
            .find(|r| r.hash.0 == package.0)
            .map(|r| hash_of(&r.exports_root))
            .ok_or_else(|| {
                ApiError::SegmentUnavailable(format!("package {package} is not in recent history"))
            })?;
        self.fetch_segments(&root, indices)
    }

    fn fetch_segments(&self, segment_root: &Hash, indices: &[u16]) -> Result<Vec<Blob>, ApiError> {
        let root = ByteArray(segment_root.0);
        indices
            .iter()
            .map(|&i| {
                self.store
                    .segment(&root, i)
                    .map_err(|e| other(&e))?
                    .map(Blob)
                    .ok_or_else(|| {
                        ApiError::SegmentUnavailable(format!("segment {i} of {segment_root}"))
                    })
            })
            .collect()
    }

    fn sync_state(&self) -> SyncState {
        *self.sync.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn events(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }

    fn on_call(&self, method: &'static str) {
        if let Some(hook) = &self.on_call {
            hook(method);
        }
    }
}
