//! The ring-proof SRS the node carries: no file to find at run time.

use crate::{RingContext, SrsError};

/// The Zcash BLS12-381 powers of tau (`2^11` powers, uncompressed), the
/// KZG setup of GP appendix G's ring VRF and of the conformance vectors;
/// taken from ark-vrf 0.1.1's package at build time and checked against
/// its Blake2b-256 hash (`build.rs`).
pub const ZCASH_SRS: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/zcash-srs-2-11-uncompressed.bin"));

impl RingContext {
    /// Parameters for rings of `ring_size` keys from [`ZCASH_SRS`].
    pub fn zcash(ring_size: usize) -> Result<Self, SrsError> {
        Self::from_srs(ZCASH_SRS, ring_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_srs_serves_the_tiny_and_full_rings() {
        for size in [6, 1023] {
            let ring = RingContext::zcash(size).expect("ring parameters");
            assert_eq!(ring.ring_size(), size);
        }
        // A ring larger than the SRS's 2^11 powers can serve is refused.
        assert!(RingContext::zcash(4096).is_err());
    }
}
