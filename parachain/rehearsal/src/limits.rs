//! A runtime's code sizes against the limits that bear on them
//! (issue 23, item 4).
//!
//! - The wasm a para uploads (`set_code`, zstd-compressed as
//!   substrate-wasm-builder's `.compact.compressed.wasm`) against the relay
//!   chain's `max_code_size`, which the service's emulated host
//!   configuration shows the para (3 MiB, Polkadot's): parachain-system
//!   refuses a larger upgrade (`TooBig`) in the block that applies it.
//! - The PVF artifact: the para's code on JAM is a preimage the service
//!   solicits by hash and length (GP 0.7.2 B.9 `solicit`) and refine reads
//!   with `historical_lookup`; the paper bounds neither a preimage's length
//!   nor a lookup's, only what it costs: the service's threshold balance
//!   grows by `B_L` per octet (and 81 octets and two items, `B_I` each,
//!   per request; GP 9.8). `W_C`, the
//!   paper's limit on a service's own code (4,000,000 octets), does not
//!   apply to it (the PVF runs as refine's inner machine, not as service
//!   code) and is shown for scale: a runtime over it could not be a JAM
//!   service of its own.
//! - Each block's PoV travels as a work-item extrinsic, so its work-package
//!   bundle is bounded by `W_B` (per block, in
//!   [`crate::BlockReport::bundle`]); its refine gas by `G_R`
//!   ([`crate::BlockReport::gas`]); the code is not in the bundle.

use std::fmt;

use parajam_primitives::ProtocolParameters;

use crate::report::Sized;
use crate::Code;

/// A runtime's code sizes against their limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeSizes {
    /// The wasm as uploaded (compressed) against `max_code_size`.
    pub wasm: Sized,
    /// The wasm uncompressed (zero when it does not decompress).
    pub wasm_uncompressed: u64,
    /// The PVF artifact against `W_C` (for scale: it is no limit on a
    /// preimage).
    pub pvf: Sized,
    /// The threshold balance the artifact's preimage request adds to the
    /// service's (`2 B_I + B_L · (81 + |artifact|)`: a request counts two
    /// items and `81 + z` octets, GP 9.8).
    pub pvf_deposit: u64,
}

impl CodeSizes {
    /// The sizes of `code` (its wasm plain or compressed) against
    /// `max_code_size` (the relay chain's, as the service shows it) and
    /// `params`.
    pub fn of(code: &Code, max_code_size: u32, params: &ProtocolParameters) -> Self {
        let compressed = code.clone().compressed().map_or(0, |c| c.wasm.len() as u64);
        let uncompressed = sp_maybe_compressed_blob::decompress(
            &code.wasm,
            sp_maybe_compressed_blob::CODE_BLOB_BOMB_LIMIT,
        )
        .map_or(0, |w| w.len() as u64);
        let pvf = code.pvf.len() as u64;
        Self {
            wasm: Sized {
                size: compressed,
                limit: u64::from(max_code_size),
            },
            wasm_uncompressed: uncompressed,
            pvf: Sized {
                size: pvf,
                limit: u64::from(params.max_service_code_size),
            },
            pvf_deposit: params
                .deposit_per_item
                .saturating_mul(2)
                .saturating_add(params.deposit_per_octet.saturating_mul(81 + pvf)),
        }
    }

    /// Whether the para could upload this code: its compressed wasm within
    /// `max_code_size`.
    pub fn fits(&self) -> bool {
        self.wasm.fits()
    }
}

impl fmt::Display for CodeSizes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "  wasm: {} B, compressed {} (the relay chain's max_code_size, its limit on validation code)",
            self.wasm_uncompressed, self.wasm
        )?;
        #[allow(clippy::cast_precision_loss)]
        let percent = if self.pvf.limit == 0 {
            f64::INFINITY
        } else {
            self.pvf.size as f64 * 100.0 / self.pvf.limit as f64
        };
        write!(
            f,
            "  PVF artifact: {} B, {percent:.1}% of W_C ({} B, the paper's limit on a service's own code: no limit on this artifact, a preimage the service solicits and refine looks up, which the paper does not bound); its request adds {} to the service's threshold balance (B_L per octet)",
            self.pvf.size, self.pvf.limit, self.pvf_deposit
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `len` octets of wasm (the magic, then octets that do not compress).
    fn wasm(len: usize) -> Vec<u8> {
        let mut out = b"\0asm".to_vec();
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        while out.len() < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.extend_from_slice(&x.to_le_bytes());
        }
        out.truncate(len);
        out
    }

    #[test]
    fn the_compressed_wasm_is_held_to_max_code_size() {
        let params = ProtocolParameters::FULL;
        let code = Code::new(wasm(64 * 1024), vec![7; 1000]);
        let sizes = CodeSizes::of(&code, 1024 * 1024, &params);
        assert!(sizes.fits(), "{sizes}");
        assert_eq!(sizes.wasm_uncompressed, 64 * 1024);
        assert!(sizes.wasm.size > 60 * 1024, "incompressible: {sizes}");
        let over = CodeSizes::of(&code, 32 * 1024, &params);
        assert!(!over.fits(), "{over}");
        assert!(over.to_string().contains("OVER THE LIMIT"), "{over}");
    }

    #[test]
    fn the_artifact_is_shown_against_w_c_and_costs_its_deposit() {
        let params = ProtocolParameters::FULL;
        let code = Code::new(wasm(1024), vec![7; 5_000_000]);
        let sizes = CodeSizes::of(&code, 3 * 1024 * 1024, &params);
        assert_eq!(sizes.pvf.size, 5_000_000);
        assert_eq!(sizes.pvf.limit, u64::from(params.max_service_code_size));
        // Over W_C, which bounds service code, not a preimage: it fits.
        assert!(sizes.fits());
        assert_eq!(
            sizes.pvf_deposit,
            2 * params.deposit_per_item + params.deposit_per_octet * (81 + 5_000_000)
        );
    }
}
