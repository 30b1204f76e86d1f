//! CE 131/132, Safrole ticket distribution (JAMNP-S): one message,
//! `Epoch Index ++ Ticket`, where `Ticket = Attempt ++ Bandersnatch RingVRF
//! Proof` as in the GP (a ticket envelope of `E_T`, eq. 6.29) and the epoch
//! index names the epoch the ticket will be *used* in (the one after the
//! epoch it is submitted in).
//!
//! Both protocols look the same on the wire: CE 131 carries a ticket from
//! the validator that made it to its proxy (a validator of the next
//! epoch's set, chosen by the ticket's VRF output), CE 132 from the proxy
//! to every current validator.

use parajam_primitives::types::TicketEnvelope;
use parajam_primitives::{ByteArray, ProtocolParameters};

use crate::protocol::MessageError;

/// Which of the two distribution steps a ticket travels in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicketStep {
    /// CE 131: from the validator that made it to its proxy.
    ToProxy,
    /// CE 132: from the proxy to every current validator.
    FromProxy,
}

/// CE 131/132's message: a ticket and the epoch it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochTicket {
    /// The epoch index the ticket will be used in.
    pub epoch: u32,
    /// The ticket: entry index and ring VRF proof.
    pub ticket: TicketEnvelope,
}

impl EpochTicket {
    /// Its size: always `4 + 1 + 784` octets.
    pub const SIZE: usize = 4 + 1 + 784;

    /// Its encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::SIZE);
        out.extend_from_slice(&self.epoch.to_le_bytes());
        out.push(self.ticket.attempt);
        out.extend_from_slice(&self.ticket.signature.0);
        out
    }

    /// Decodes a whole message; the entry index must be below `N`
    /// (`params.tickets_per_validator`, GP eq. 6.29). The proof is not
    /// checked here (that needs the state: the node's part).
    pub fn decode(bytes: &[u8], params: &ProtocolParameters) -> Result<Self, MessageError> {
        const WHAT: &str = "Safrole ticket";
        if bytes.len() != Self::SIZE {
            return Err(MessageError::Decode {
                what: WHAT,
                reason: format!("{} octets, {} expected", bytes.len(), Self::SIZE),
            });
        }
        let epoch = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let attempt = bytes[4];
        if attempt >= params.tickets_per_validator {
            return Err(MessageError::Invalid {
                what: WHAT,
                reason: format!(
                    "entry index {attempt}, below {} expected",
                    params.tickets_per_validator
                ),
            });
        }
        let mut proof = [0u8; 784];
        proof.copy_from_slice(&bytes[5..]);
        Ok(Self {
            epoch,
            ticket: TicketEnvelope {
                attempt,
                signature: ByteArray(proof),
            },
        })
    }
}

/// The proxy of a ticket whose VRF output (id) is `id`, as an index into
/// the next epoch's validator set of `validators` keys: the last four
/// octets of the id read big-endian, modulo the set's size (JAMNP-S
/// CE 131/132). `None` for an empty set.
pub fn proxy_index(id: &[u8; 32], validators: usize) -> Option<usize> {
    let n = u32::from_be_bytes([id[28], id[29], id[30], id[31]]);
    (validators > 0).then(|| usize::try_from(n).unwrap_or(usize::MAX) % validators)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_is_789_octets_with_an_entry_index_below_n() {
        let params = ProtocolParameters::TINY;
        let t = EpochTicket {
            epoch: 0x0102_0304,
            ticket: TicketEnvelope {
                attempt: 2,
                signature: ByteArray([7; 784]),
            },
        };
        let bytes = t.encode();
        assert_eq!(bytes.len(), EpochTicket::SIZE);
        assert_eq!(&bytes[..5], &[4, 3, 2, 1, 2]);
        assert_eq!(EpochTicket::decode(&bytes, &params), Ok(t));
        assert!(matches!(
            EpochTicket::decode(&bytes[..788], &params),
            Err(MessageError::Decode { .. })
        ));
        let mut long = bytes.clone();
        long.push(0);
        assert!(EpochTicket::decode(&long, &params).is_err());
        // The full chain has N = 2: entry index 2 is not a ticket there.
        assert!(matches!(
            EpochTicket::decode(&bytes, &ProtocolParameters::FULL),
            Err(MessageError::Invalid { .. })
        ));
    }

    #[test]
    fn the_proxy_is_the_ids_last_four_octets_big_endian_modulo_v() {
        let mut id = [0u8; 32];
        id[28..].copy_from_slice(&[0, 0, 1, 2]);
        assert_eq!(proxy_index(&id, 6), Some(258 % 6));
        assert_eq!(proxy_index(&id, 1023), Some(258));
        id[0] = 0xff;
        assert_eq!(
            proxy_index(&id, 1023),
            Some(258),
            "only the last four count"
        );
        assert_eq!(proxy_index(&id, 0), None);
    }
}
