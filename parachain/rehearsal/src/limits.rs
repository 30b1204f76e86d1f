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
            "  wasm: {} B, compressed {} (max_code_size, the relay chain's limit on an upload)",
            self.wasm_uncompressed, self.wasm
        )?;
        write!(
            f,
            "  PVF artifact: {} (W_C, the paper's limit on service code, for scale: the artifact is a preimage, which the paper does not bound); its request adds {} to the service's threshold balance",
            self.pvf, self.pvf_deposit
        )
    }
}
