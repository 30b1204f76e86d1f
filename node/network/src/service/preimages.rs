//! CE 142 (preimage announcement) and CE 143 (preimage request) on the
//! network: the preimages the node holds are served from here without
//! the node's thread ([`Network::hold_preimage`]); announcements heard
//! come out as [`Event::PreimageAnnounced`], the answers to
//! [`Network::request_preimage`] as [`Event::Preimage`], checked against
//! the announcement (its length and hash: a peer answering with anything
//! else is dropped and counted).

use std::sync::Arc;
use std::time::Duration;

use parajam_primitives::types::OpaqueHash;
use quinn::{Connection, RecvStream, SendStream, VarInt};

use super::{code, lock, read_request, Event, NetStats, Network, PeerError, RequestError, Shared};
use crate::framing::{read_message, FrameError};
use crate::peer::PeerId;
use crate::preimages::{
    check_preimage, decode_preimage_request, PreimageAnnouncement, MAX_PREIMAGE,
};
use crate::protocol::StreamKind;

/// How long a CE 143 request may take (a few MiB of PVF artifact).
pub const PREIMAGE_TIMEOUT: Duration = Duration::from_secs(30);

impl Network {
    /// Serves `blob`, the preimage of `hash`, to CE 143 requests until
    /// [`Network::release_preimage`].
    pub fn hold_preimage(&self, hash: OpaqueHash, blob: Arc<Vec<u8>>) {
        lock(&self.shared.preimages).insert(hash, blob);
    }

    /// Stops serving the preimage of `hash`.
    pub fn release_preimage(&self, hash: &OpaqueHash) {
        lock(&self.shared.preimages).remove(hash);
    }

    /// Announces to each of `peers` that this node holds a preimage (CE 142).
    pub fn announce_preimage(&self, peers: &[PeerId], announcement: &PreimageAnnouncement) {
        let messages = Arc::new(vec![announcement.encode()]);
        for &peer in peers {
            self.send_one_way(peer, StreamKind::PreimageAnnouncement, messages.clone());
        }
    }

    /// Asks `peer` for the preimage it announced (CE 143); the answer, its
    /// length and hash checked, comes as [`Event::Preimage`].
    pub fn request_preimage(&self, peer: PeerId, announcement: PreimageAnnouncement) {
        let shared = self.shared.clone();
        let answer = move |result| Event::Preimage {
            peer,
            announcement,
            result,
        };
        let Some(conn) = shared.connection(&peer) else {
            shared.emit(answer(Err(RequestError::NotConnected)));
            return;
        };
        let limit = announcement.length as usize;
        if limit > MAX_PREIMAGE {
            shared.emit(answer(Err(RequestError::Failed(format!(
                "{limit} octets, over this node's limit of {MAX_PREIMAGE}"
            )))));
            return;
        }
        NetStats::inc(&shared.stats.preimage_requests_made);
        self.runtime.spawn(async move {
            let exchange = async {
                let mut recv = shared
                    .open(
                        &conn,
                        StreamKind::PreimageRequest,
                        &[announcement.hash.0.to_vec()],
                    )
                    .await?;
                let preimage = match read_message(&mut recv, limit).await {
                    Ok(Some(bytes)) => bytes,
                    // Reset or FIN without an answer: refused.
                    Ok(None) => return Err(RequestError::Failed("refused".into())),
                    Err(FrameError::Io(e)) => return Err(RequestError::Failed(e)),
                    Err(error) => {
                        return Err(RequestError::Malformed(PeerError::Frame {
                            stream: "CE 143",
                            error,
                        }))
                    }
                };
                check_preimage(&announcement, &preimage)
                    .map_err(|e| RequestError::Malformed(PeerError::Message(e)))?;
                Ok(Arc::new(preimage))
            };
            let result = shared
                .request_within(&conn, peer, PREIMAGE_TIMEOUT, exchange)
                .await;
            shared.emit(answer(result));
        });
    }
}

/// CE 142 and 143, receiving side: an announcement handed to the node as
/// an event, FIN back; a request answered from the preimages held (none:
/// the stream is reset). Malformed: the peer is dropped.
pub(super) async fn serve_preimages(
    shared: Arc<Shared>,
    conn: Connection,
    peer: PeerId,
    kind: StreamKind,
    mut send: SendStream,
    mut recv: RecvStream,
) {
    let limit = match kind {
        StreamKind::PreimageAnnouncement => PreimageAnnouncement::SIZE,
        _ => 32,
    };
    let request: Result<Vec<u8>, PeerError> = read_request(&mut recv, &[limit], kind.name())
        .await
        .map(|mut m| m.swap_remove(0));
    let result: Result<(), PeerError> = async {
        let message = request?;
        if kind == StreamKind::PreimageAnnouncement {
            let announcement = PreimageAnnouncement::decode(&message)?;
            NetStats::inc(&shared.stats.preimage_announcements_received);
            shared.emit(Event::PreimageAnnounced { peer, announcement });
            let _ = send.finish();
            return Ok(());
        }
        let hash: OpaqueHash = decode_preimage_request(&message)?;
        let held = lock(&shared.preimages).get(&hash).cloned();
        let Some(preimage) = held else {
            let _ = send.reset(VarInt::from_u32(code::REFUSED));
            return Ok(());
        };
        NetStats::inc(&shared.stats.preimage_requests_served);
        if shared.write(&mut send, &preimage).await.is_ok() {
            let _ = send.finish();
        }
        Ok(())
    }
    .await;
    if let Err(error) = result {
        shared.stream_failed(&conn, peer, error);
    }
}
