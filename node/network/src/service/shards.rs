//! CE 137 (shard distribution), CE 138 (audit shard request) and CE 147
//! (bundle request) on the network: requests are served from the node's
//! store through [`ChainSource::shards`] and [`ChainSource::bundle`] (not
//! held: the stream is reset); the answers to [`Network::request_shards`],
//! [`Network::request_audit_shard`] and [`Network::request_bundle`] come
//! out as events, the shards checked against the erasure root (a peer
//! answering with shards that do not prove, or anything malformed or
//! oversized, is dropped and counted).

use std::sync::Arc;
use std::time::Duration;

use parajam_primitives::types::ErasureRoot;
use quinn::{Connection, RecvStream, SendStream, VarInt};

use super::{
    code, read_request, ChainSource, Event, NetStats, Network, PeerError, RequestError, Shared,
};
use crate::framing::{read_message, FrameError};
use crate::peer::PeerId;
use crate::protocol::{split_bundle, MessageError, StreamKind};
use crate::shards::{decode_bundle_request, AuditShard, ShardRequest, Shards};

/// How long a CE 137, 138 or 147 request may take (a bundle of up to
/// `W_B`, 13 MiB).
pub const SHARD_TIMEOUT: Duration = Duration::from_secs(30);

impl Network {
    /// Asks `peer` for shards (CE 137); the answer, checked against the
    /// erasure root, comes as [`Event::Shards`].
    pub fn request_shards(&self, peer: PeerId, request: ShardRequest) {
        NetStats::inc(&self.shared.stats.shard_requests_made);
        let params = self.shared.params;
        let stats = self.shared.stats.clone();
        self.exchange(
            peer,
            StreamKind::ShardDistribution,
            request.encode(),
            Shards::limits(&params).to_vec(),
            move |messages| {
                let shards = Shards::decode(messages, &params)?;
                shards.verify(&request, &params)?;
                NetStats::inc(&stats.shards_received);
                Ok(Arc::new(shards))
            },
            move |result| Event::Shards {
                peer,
                request,
                result,
            },
        );
    }

    /// Asks `peer` for a bundle shard (CE 138); the answer, checked
    /// against the erasure root, comes as [`Event::AuditShard`]. (No
    /// auditing yet: only tests ask.)
    pub fn request_audit_shard(&self, peer: PeerId, request: ShardRequest) {
        let params = self.shared.params;
        self.exchange(
            peer,
            StreamKind::AuditShardRequest,
            request.encode(),
            AuditShard::limits(&params).to_vec(),
            move |messages| {
                let shard = AuditShard::decode(messages, &params)?;
                shard.verify(&request, &params)?;
                Ok(Arc::new(shard))
            },
            move |result| Event::AuditShard {
                peer,
                request,
                result,
            },
        );
    }

    /// Asks `peer` for the bundle of `erasure_root` (CE 147); the answer,
    /// checked to be a bundle (a work package and the extrinsics it
    /// names), comes as [`Event::Bundle`]. (No auditing yet: only tests
    /// ask.)
    pub fn request_bundle(&self, peer: PeerId, erasure_root: ErasureRoot) {
        let params = self.shared.params;
        self.exchange(
            peer,
            StreamKind::BundleRequest,
            erasure_root.0.to_vec(),
            vec![params.max_bundle_size as usize],
            move |messages| {
                let bundle = messages.first().cloned().unwrap_or_default();
                split_bundle(&bundle, &params)?;
                Ok(Arc::new(bundle))
            },
            move |result| Event::Bundle {
                peer,
                erasure_root,
                result,
            },
        );
    }

    /// Sends `request` on a new stream of `kind` to `peer`, reads the
    /// answer's messages with `limits` and FIN, and emits `answer(check(…))`;
    /// an answer that is oversized or fails `check` drops the peer.
    fn exchange<T: Send + 'static>(
        &self,
        peer: PeerId,
        kind: StreamKind,
        request: Vec<u8>,
        limits: Vec<usize>,
        check: impl FnOnce(&[Vec<u8>]) -> Result<T, MessageError> + Send + 'static,
        answer: impl FnOnce(Result<T, RequestError>) -> Event + Send + 'static,
    ) {
        let shared = self.shared.clone();
        let Some(conn) = shared.connection(&peer) else {
            shared.emit(answer(Err(RequestError::NotConnected)));
            return;
        };
        self.runtime.spawn(async move {
            let stream = kind.name();
            let exchange = async {
                let mut recv = shared.open(&conn, kind, &[request]).await?;
                let malformed = |error| RequestError::Malformed(PeerError::Frame { stream, error });
                let mut messages = Vec::with_capacity(limits.len());
                for (i, &limit) in limits.iter().enumerate() {
                    match read_message(&mut recv, limit).await {
                        Ok(Some(bytes)) => messages.push(bytes),
                        // Reset or FIN before any answer: refused.
                        Ok(None) if i == 0 => return Err(RequestError::Failed("refused".into())),
                        Ok(None) => {
                            return Err(malformed(FrameError::Truncated {
                                expected: 4,
                                got: 0,
                            }))
                        }
                        Err(FrameError::Io(e)) => return Err(RequestError::Failed(e)),
                        Err(error) => return Err(malformed(error)),
                    }
                }
                match read_message(&mut recv, 0).await {
                    Ok(None) => {}
                    Err(FrameError::Io(e)) => return Err(RequestError::Failed(e)),
                    Ok(Some(_)) | Err(_) => {
                        return Err(malformed(FrameError::Oversized { size: 1, limit: 0 }))
                    }
                }
                check(&messages).map_err(|e| RequestError::Malformed(PeerError::Message(e)))
            };
            let result = shared
                .request_within(&conn, peer, SHARD_TIMEOUT, exchange)
                .await;
            shared.emit(answer(result));
        });
    }
}

/// CE 137, 138 and 147, serving side: the request read and decoded
/// (malformed: the peer is dropped), answered from the node's store (not
/// held: the stream is reset).
pub(super) async fn serve_shards(
    shared: Arc<Shared>,
    conn: Connection,
    peer: PeerId,
    kind: StreamKind,
    mut send: SendStream,
    mut recv: RecvStream,
) {
    let limit = match kind {
        StreamKind::BundleRequest => 32,
        _ => ShardRequest::SIZE,
    };
    let request = match read_request(&mut recv, &[limit], kind.name()).await {
        Ok(mut m) => m.swap_remove(0),
        Err(error) => return shared.stream_failed(&conn, peer, error),
    };
    let source: Arc<dyn ChainSource> = shared.source.clone();
    let answer: Result<Option<Vec<Vec<u8>>>, MessageError> = match kind {
        StreamKind::BundleRequest => match decode_bundle_request(&request) {
            Ok(root) => {
                let held = tokio::task::spawn_blocking(move || source.bundle(&root))
                    .await
                    .ok()
                    .flatten();
                if held.is_some() {
                    NetStats::inc(&shared.stats.bundle_requests_served);
                }
                Ok(held.map(|b| vec![b]))
            }
            Err(e) => Err(e),
        },
        _ => match ShardRequest::decode(&request) {
            Ok(request) => {
                let held = tokio::task::spawn_blocking(move || source.shards(&request))
                    .await
                    .ok()
                    .flatten();
                Ok(held.map(|shards| {
                    if kind == StreamKind::ShardDistribution {
                        NetStats::inc(&shared.stats.shard_requests_served);
                        shards.encode().to_vec()
                    } else {
                        NetStats::inc(&shared.stats.audit_shard_requests_served);
                        shards.audit().encode().to_vec()
                    }
                }))
            }
            Err(e) => Err(e),
        },
    };
    match answer {
        Err(e) => shared.stream_failed(&conn, peer, PeerError::Message(e)),
        Ok(None) => {
            let _ = send.reset(VarInt::from_u32(code::REFUSED));
        }
        Ok(Some(messages)) => {
            for message in &messages {
                if shared.write(&mut send, message).await.is_err() {
                    return;
                }
            }
            let _ = send.finish();
        }
    }
}
