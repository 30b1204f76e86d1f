//! CE 131/132, Safrole ticket distribution: sending a ticket to peers, and
//! the receiving side (one message, then FIN; malformed: the peer is
//! dropped and counted). The message is [`EpochTicket`].

use std::sync::Arc;

use quinn::{Connection, RecvStream, SendStream};

use super::{read_request, Event, NetStats, Network, PeerError, Shared};
use crate::peer::PeerId;
use crate::protocol::StreamKind;
use crate::tickets::{EpochTicket, TicketStep};

fn kind_of(step: TicketStep) -> StreamKind {
    match step {
        TicketStep::ToProxy => StreamKind::TicketToProxy,
        TicketStep::FromProxy => StreamKind::TicketFromProxy,
    }
}

impl Network {
    /// Sends `ticket` to each of `peers` in `step` (CE 131 to the proxy,
    /// CE 132 from the proxy to the validators); a failure comes as
    /// [`Event::SendFailed`].
    pub fn send_ticket(&self, peers: &[PeerId], step: TicketStep, ticket: &EpochTicket) {
        let messages = Arc::new(vec![ticket.encode()]);
        for &peer in peers {
            self.send_one_way(peer, kind_of(step), messages.clone());
        }
    }
}

/// CE 131/132, receiving side: the ticket read and decoded, handed to the
/// node as [`Event::Ticket`], FIN back.
pub(super) async fn serve(
    shared: Arc<Shared>,
    conn: Connection,
    peer: PeerId,
    kind: StreamKind,
    mut send: SendStream,
    mut recv: RecvStream,
) {
    let step = if kind == StreamKind::TicketToProxy {
        TicketStep::ToProxy
    } else {
        TicketStep::FromProxy
    };
    let request: Result<EpochTicket, PeerError> = async {
        let m = read_request(&mut recv, &[EpochTicket::SIZE], kind.name()).await?;
        Ok(EpochTicket::decode(&m[0], &shared.params)?)
    }
    .await;
    match request {
        Ok(ticket) => {
            NetStats::inc(&shared.stats.tickets_received);
            shared.emit(Event::Ticket {
                peer,
                step,
                ticket: Box::new(ticket),
            });
            let _ = send.finish();
        }
        Err(error) => shared.stream_failed(&conn, peer, error),
    }
}
