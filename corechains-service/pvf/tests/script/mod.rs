//! Block data for the misbehaving PVF's host-function script (mode 16,
//! `runtime/adder-build/guest/misbehaving/src/pvf.rs` has the op codes),
//! and the known answers the scripts check.

#![allow(dead_code)] // each test crate uses part of it

use parity_scale_codec::Encode;

/// A script: mode 16, then ops.
#[derive(Debug, Clone)]
pub struct Script(pub Vec<u8>);

impl Default for Script {
    fn default() -> Self {
        Self(vec![16])
    }
}

impl Script {
    /// Op `code` with fixed-size `args`.
    pub fn op(mut self, code: u8, args: &[&[u8]]) -> Self {
        self.0.push(code);
        for a in args {
            self.0.extend_from_slice(a);
        }
        self
    }

    /// A `u32`-LE-length-prefixed argument.
    pub fn slice(mut self, data: &[u8]) -> Self {
        let len = u32::try_from(data.len()).expect("test value");
        self.0.extend_from_slice(&len.to_le_bytes());
        self.0.extend_from_slice(data);
        self
    }
}

pub fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("test value"))
        .collect()
}

/// RFC 8032's first Ed25519 vector (the empty message).
pub const ED_PUB: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
pub const ED_SIG: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

/// sr25519: `Pair::from_seed(&[7; 32])` signing `parajam` (sp-core 43).
pub const SR_PUB: &str = "7c0f469d3bd340bae718203fa30ca071a5e37c751e891dbded837b213d45d91d";
pub const SR_SIG: &str = "8a0a0335d44550bdc2bbb0847d281453bb4d40c25af75087f230883741c75a7f29aa7e60fb13962853ba4f7cf42f6a2236fcfbe93f2d1e786d7d61f771be548b";

/// sp-core's known pre-audit (schnorrkel 0.1.1) sr25519 signature.
pub const SR_OLD_PUB: &str = "b4bfa1f7a5166695eb75299fd1c4c03ea212871c342f2c5dfea0902b2c246918";
pub const SR_OLD_SIG: &str = "5a9755f069939f45d96aaf125cf5ce7ba1db998686f87f2fb3cbdea922078741a73891ba265f70c31436e18a9acd14d189d73c12317ab6c313285cd938453202";
pub const SR_OLD_MSG: &[u8] =
    b"Verifying that I am the owner of 5G9hQLdsKQswNPgB499DeA5PkFBbgkLPJWkkS6FAM6xGQ8xD. Hash: 221455a3\n";

/// ECDSA: `Pair::from_seed(&[9; 32])` signing `parajam` (sp-core 43: over
/// its Blake2b-256); the compressed key.
pub const EC_PUB: &str = "0256b328b30c8bf5839e24058747879408bdb36241dc9c2e7c619faa12b2920967";
pub const EC_SIG: &str = "71848212d6b4d4bf416cd14314c827bbd814ca7946eb9f829c2b49120dae1ff167b15d81b916722db16ffd0359356dc64005e52ffde78537e46dd5020dbac91b01";

/// The 100 values of the trie known answer.
pub fn trie_values() -> Vec<Vec<u8>> {
    (0..100u32)
        .map(|i| i.to_le_bytes().repeat((i % 12) as usize))
        .collect()
}

/// Their encoded list, the ordered-root functions' input.
pub fn trie_input() -> Vec<u8> {
    trie_values().encode()
}

/// Their Blake2 ordered roots (`LayoutV0`, `LayoutV1`) and the Keccak one
/// (`LayoutV1`), from sp-io 49.
pub const TRIE_BLAKE2_V0: &str = "bf72eb0fac1274b660390d3cb2ea76909b46b427ea40187d693eb78c60015013";
pub const TRIE_BLAKE2_V1: &str = "9ec92ce01a8a37f989b653b47b67d58e4ec6f9282ee58a88376f7b66c92735cc";
pub const TRIE_KECCAK_V1: &str = "33736ec092fad268dcc415a2067e750885e3a406625fd1270af493f4aa9284c5";
