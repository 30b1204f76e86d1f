//! The message queue chain (MQC): the hash chain by which a para checks
//! that its collator gave it every inbound message, in order.
//!
//! A link is `H(E(prev_head, sent_at, H(E(msg))))` with `H` Blake2b-256, `E`
//! SCALE: the previous head (32 octets, zero before the first message),
//! the relay block number the message was queued at (four octets, little
//! endian) and the hash of the message's SCALE encoding (its compact
//! length, then its octets). That is upstream's
//! `BlakeTwo256::hash_of(&(prev_head, sent_at, T::Hashing::hash_of(&msg)))`
//! in the relay chain's `dmp` and `hrmp` pallets, and cumulus's
//! `MessageQueueChain`, which checks it; a test compares with the latter.

use parajam_corechains_types::{Hash, RelayChainBlockNumber};
use parity_scale_codec::Encode;

use crate::blake2_256;

/// The head after `msg`, queued at `sent_at`, on `prev_head`.
pub fn extend(prev_head: &Hash, sent_at: RelayChainBlockNumber, msg: &[u8]) -> Hash {
    let msg_hash = blake2_256(&msg.encode());
    blake2_256(&(prev_head, sent_at, msg_hash).encode())
}

/// The head after `messages` (`(sent_at, msg)`, in order) on `head`.
pub fn extend_all<'m>(
    head: Hash,
    messages: impl IntoIterator<Item = (RelayChainBlockNumber, &'m [u8])>,
) -> Hash {
    messages
        .into_iter()
        .fold(head, |head, (sent_at, msg)| extend(&head, sent_at, msg))
}
