//! The front of the work-package pipeline: what `submitWorkPackage` and
//! `submitPreimage` do before the node's authoring thread sees them.
//!
//! [`Queue`] is the RPC server's [`Submitter`]: it decodes the package
//! (strictly, under the chain's parameters) and checks it against the
//! limits of GP §14.3 (`W_B`, item counts, extrinsic hashes and lengths)
//! in the caller's thread, then puts it in a bounded queue (full: a
//! "busy" error) and waits for the node's guarantor to run `Ξ` on it, so a
//! package whose authorization or refine fails is reported to the
//! submitter with the reason.

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use parajam_primitives::types::{CoreIndex, OpaqueHash, WorkPackage};
use parajam_primitives::ProtocolParameters;
use parajam_rpc::{ApiError, Submission, Submitter};

use crate::stats::Stats;

/// A work package for the guarantor, with the channel its verdict goes to.
#[derive(Debug)]
pub struct Job {
    /// The core it was submitted for.
    pub core: CoreIndex,
    /// The package.
    pub package: WorkPackage,
    /// Its hash (Blake2b-256 of its encoding).
    pub hash: OpaqueHash,
    /// Each item's extrinsics.
    pub extrinsics: Vec<Vec<Vec<u8>>>,
    /// Where the verdict goes: `Ok` when the report is made and waits for
    /// a block, else why the package was dropped.
    pub reply: SyncSender<Result<(), String>>,
}

/// Each work item's extrinsics, in item order.
pub type ItemExtrinsics = Vec<Vec<Vec<u8>>>;

/// What arrives from clients.
#[derive(Debug)]
pub enum Inbound {
    /// A work package.
    Package(Box<Job>),
    /// A preimage for `requester`, to be provided in a block.
    Preimage {
        /// The requesting service.
        requester: u32,
        /// The preimage.
        blob: Vec<u8>,
    },
}

/// The bounded queue between the RPC server and the node.
#[derive(Debug)]
pub struct Queue {
    tx: SyncSender<Inbound>,
    params: ProtocolParameters,
    stats: Arc<Stats>,
    capacity: usize,
    wait: Duration,
}

/// A queue of `capacity` and its receiving end; a submitter waits at most
/// `wait` for the guarantor's verdict.
pub fn queue(
    params: ProtocolParameters,
    capacity: usize,
    wait: Duration,
    stats: Arc<Stats>,
) -> (Queue, Receiver<Inbound>) {
    let (tx, rx) = mpsc::sync_channel(capacity);
    (
        Queue {
            tx,
            params,
            stats,
            capacity,
            wait,
        },
        rx,
    )
}

/// The JIP-2 error of a full queue.
fn busy(capacity: usize) -> ApiError {
    ApiError::Other(format!(
        "busy: the work-package queue is full ({capacity} waiting); try again later"
    ))
}

impl Queue {
    fn enqueue(&self, inbound: Inbound) -> Result<(), ApiError> {
        self.tx.try_send(inbound).map_err(|e| match e {
            TrySendError::Full(_) => {
                self.stats.reject("busy");
                busy(self.capacity)
            }
            TrySendError::Disconnected(_) => ApiError::Other("the node is stopping".into()),
        })
    }

    /// Decodes and checks a submitted package; `InvalidParams` says why not.
    pub fn admit(
        &self,
        package: &[u8],
        extrinsics: Vec<Vec<u8>>,
    ) -> Result<(WorkPackage, ItemExtrinsics), ApiError> {
        let package: WorkPackage =
            parajam_primitives::decode(package, &self.params).map_err(|e| {
                self.stats.reject("malformed");
                ApiError::InvalidParams(format!("not a work package: {e}"))
            })?;
        let counts: Vec<usize> = package.items.iter().map(|i| i.extrinsic.len()).collect();
        let total: usize = counts.iter().sum();
        if total != extrinsics.len() {
            self.stats.reject("malformed");
            return Err(ApiError::InvalidParams(format!(
                "the package's items name {total} extrinsics, {} given",
                extrinsics.len()
            )));
        }
        let mut rest = extrinsics.into_iter();
        let per_item: Vec<Vec<Vec<u8>>> = counts
            .iter()
            .map(|&n| rest.by_ref().take(n).collect())
            .collect();
        parajam_guarantor::package::check(&self.params, &package, &per_item).map_err(|e| {
            self.stats.reject("limits");
            ApiError::InvalidParams(format!("work package refused: {e}"))
        })?;
        Ok((package, per_item))
    }
}

impl Submitter for Queue {
    fn submit(&self, submission: Submission) -> Result<(), ApiError> {
        match submission {
            Submission::WorkPackage {
                core,
                package: octets,
                extrinsics,
            } => {
                let (package, extrinsics) = self.admit(&octets, extrinsics)?;
                let hash = OpaqueHash::from(parajam_crypto::blake2b_256(&octets));
                let (reply, verdict) = mpsc::sync_channel(1);
                self.enqueue(Inbound::Package(Box::new(Job {
                    core,
                    package,
                    hash,
                    extrinsics,
                    reply,
                })))?;
                Stats::add(&self.stats.packages_received, 1);
                Stats::add(&self.stats.in_flight, 1);
                match verdict.recv_timeout(self.wait) {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(reason)) => Err(ApiError::Other(format!(
                        "work package {hash} dropped: {reason}"
                    ))),
                    Err(mpsc::RecvTimeoutError::Timeout) => Err(ApiError::Other(format!(
                        "work package {hash} queued; no verdict within {} s",
                        self.wait.as_secs()
                    ))),
                    Err(mpsc::RecvTimeoutError::Disconnected) => Err(ApiError::Other(format!(
                        "work package {hash} dropped: the node is stopping"
                    ))),
                }
            }
            Submission::Bundle { .. } => Err(ApiError::Other(
                "submitWorkPackageBundle is not supported by this node yet: use submitWorkPackage"
                    .into(),
            )),
            Submission::Preimage {
                requester,
                preimage,
            } => self.enqueue(Inbound::Preimage {
                requester,
                blob: preimage,
            }),
        }
    }
}
