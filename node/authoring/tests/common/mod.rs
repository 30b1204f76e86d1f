//! What the tests share: one ring context per ring size, over the ring-proof
//! SRS of the conformance vectors (`parajam-vectors`).

#![allow(clippy::unwrap_used, dead_code)]

use parajam_bandersnatch::RingContext;

/// A ring context for rings of `size` keys.
pub fn ring(size: usize) -> RingContext {
    RingContext::zcash(size).unwrap()
}
