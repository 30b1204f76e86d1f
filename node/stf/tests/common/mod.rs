//! What the trace-driven tests of this crate share: where the conformance
//! vectors are (`parajam-vectors`), and the ring context for their
//! validator count.

#![allow(clippy::unwrap_used, dead_code)]

use std::sync::OnceLock;

use parajam_bandersnatch::RingContext;
use parajam_primitives::ProtocolParameters;
pub use parajam_vectors::dir as vectors_dir;

/// The traces' parameters.
pub const PARAMS: ProtocolParameters = ProtocolParameters::TINY;

pub fn ring() -> &'static RingContext {
    static RING: OnceLock<RingContext> = OnceLock::new();
    RING.get_or_init(|| RingContext::zcash(usize::from(PARAMS.validators_count)).unwrap())
}
