//! The host functions a Substrate PVF imports, served in refine: the
//! service's table, **version 2**.
//!
//! A PVF built from a polkadot-sdk runtime imports Substrate's classic
//! host functions by name (`ext_<module>_<function>_version_<n>`, the
//! names `sp-runtime-interface` gives them, the same for wasm and for
//! RISC-V builds) with the wasm FFI conventions: a pointer, `u32`, `u16`,
//! `u8` or `bool` is an `i32`; a byte slice is a "pointer-size" (fat
//! pointer) `i64`, `ptr | len << 32`; a returned array is written into
//! memory the host allocates with the PVF's own allocator and its pointer
//! returned; a returned SCALE value is allocated the same way and returned
//! as a pointer-size.
//!
//! This table is every function of sp-io (polkadot-sdk master, with the
//! RFC-145 versions) and of cumulus' `storage_proof_size`, each with one of
//! three statuses:
//!
//! - **served**: computed in the service's own code, with the semantics of
//!   sp-io's host implementation as the relay chain's PVF executor runs it
//!   (`polkadot-node-core-pvf-common`'s `executor_interface`: sp-io's
//!   `misc`, `crypto`, `hashing`, `allocator`, `logging`, `trie` and `input`
//!   functions, with externalities that fail every storage access): the
//!   same results, the same SCALE and FFI encodings, the same failures
//!   (bad memory, undecodable arguments, invalid enum values fail the call);
//! - **unavailable**: known, but not available during validation; the call
//!   fails with [`InvalidReason::UnavailableHostFunction`] naming it (and
//!   a log line saying why). These are the functions the relay chain's
//!   executor does not register at all or whose implementation needs
//!   something validation does not have (storage, a keystore, an offchain
//!   worker): there, too, a call traps. cumulus' `validate_block` replaces
//!   the storage, default child storage, offchain index and
//!   `storage_proof_size` functions inside the runtime with its own,
//!   backed by the PoV's proof, so a parachain runtime imports them but
//!   never calls them during validation;
//! - **not served**: known, served by the relay chain, not (yet) by the
//!   service; a call fails with [`InvalidReason::UnsupportedHostFunction`].
//!
//! A symbol the table does not have at all fails the same way when called
//! (a PVF may import anything, as the relay chain's executor allows missing
//! imports). Import resolution (which symbols a build may accept) is
//! [`HostFunction::from_symbol`]; [`Entry::status`] says which of the three
//! a function is; [`Entry::signature`] gives its wasm signature.
//!
//! On the PVM arguments come in `ω7 ..` (`a0 ..`) and a result goes in
//! `ω7`, as polkavm's calling convention has them; an `i32` result is
//! sign-extended. In the tables, `ptr` is an `i32` pointer, `fat` an `i64`
//! pointer-size, `alloc[N]` an `i32` pointer to `N` octets allocated for the
//! result, `alloc(T)` an `i64` pointer-size of `SCALE(T)` allocated for
//! the result, `out[N]` an `i32` pointer the function writes `N` octets to,
//! `outfat` an `i64` pointer-size the function writes its whole length to
//! (zeros past what it fills, as `PassFatPointerAndWrite` does).
//!
//! # Served
//!
//! | symbol | signature | semantics |
//! |---|---|---|
//! | `ext_allocator_malloc_version_1` | `(size: i32) -> ptr` | the PVF heap's freeing-bump allocator ([`crate::allocator`]) |
//! | `ext_allocator_free_version_1` | `(ptr)` | frees; freeing what is not allocated fails |
//! | `ext_hashing_{keccak_256,keccak_512,sha2_256,blake2_128,blake2_256,twox_64,twox_128,twox_256}_version_1` | `(data: fat) -> alloc[N]` | the hash ([`Hasher`]) |
//! | `ext_hashing_*_version_2` (same eight) | `(data: fat, out[N])` | the hash, written in place |
//! | `ext_crypto_ed25519_verify_version_1` | `(sig: ptr[64], msg: fat, pub: ptr[32]) -> bool` | ed25519-zebra, ZIP-215 rules |
//! | `ext_crypto_ed25519_batch_verify_version_1` | same | fails, always: sp-io 49's implementation re-enters its externalities and panics (seen on the relay chain's executor, `parajam_pvf::legacy`) |
//! | `ext_crypto_sr25519_verify_version_1` | `(sig: ptr[64], msg: fat, pub: ptr[32]) -> bool` | schnorrkel, context `substrate`, pre-audit (0.1.1) signatures accepted too |
//! | `ext_crypto_sr25519_verify_version_2` | same | schnorrkel, context `substrate` |
//! | `ext_crypto_sr25519_batch_verify_version_1` | same | as version 2; also ANDed into an open batch |
//! | `ext_crypto_ecdsa_verify_version_1` | `(sig: ptr[65], msg: fat, pub: ptr[33]) -> bool` | recovery from `blake2_256(msg)` (`v` 0..=3, `r`, `s` reduced mod n) equals the compressed `pub` |
//! | `ext_crypto_ecdsa_verify_version_2` | same | as version 1, `r` or `s` ≥ n refused |
//! | `ext_crypto_ecdsa_batch_verify_version_1` | same | as version 2; also ANDed into an open batch |
//! | `ext_crypto_ecdsa_verify_prehashed_version_1` | `(sig: ptr[65], hash: ptr[32], pub: ptr[33]) -> bool` | as `ecdsa_verify` version 2 without hashing |
//! | `ext_crypto_start_batch_verify_version_1` | `()` | opens a batch (fails if one is open) |
//! | `ext_crypto_finish_batch_verify_version_1` | `() -> bool` | closes the batch: did every check in it pass? (fails if none is open) |
//! | `ext_crypto_secp256k1_ecdsa_recover_version_1` | `(sig: ptr[65], hash: ptr[32]) -> alloc(Result<[u8; 64], EcdsaVerifyError>)` | `v` 0..=3 or 27..=30 else `BadV`; `r`, `s` reduced mod n; `x ‖ y` of the key ([`crypto`]) |
//! | `ext_crypto_secp256k1_ecdsa_recover_version_2` | same | as version 1, `r` or `s` ≥ n is `BadRS` |
//! | `ext_crypto_secp256k1_ecdsa_recover_version_3` | `(sig: ptr[65], hash: ptr[32], out[64]) -> i32` | as version 2; `0` or `-1` `BadRS`, `-2` `BadV`, `-3` `BadSignature` (then `out` is zeroed) |
//! | `ext_crypto_secp256k1_ecdsa_recover_compressed_version_{1,2,3}` | as `recover` (`[u8; 33]`, `out[33]`) | the compressed key |
//! | `ext_trie_{blake2_256,keccak_256}_root_version_1` | `(input: fat SCALE(Vec<(Vec<u8>, Vec<u8>)>)) -> alloc[32]` | the `LayoutV0` trie root ([`trie`]); keys sharing more than [`trie::MAX_DEPTH`] nibbles fail the call (the service's stack) |
//! | `ext_trie_{blake2_256,keccak_256}_root_version_2` | `(input: fat, version: i32) -> alloc[32]` | `StateVersion` 0: `LayoutV0`, 1 or 2: `LayoutV1`, else fails |
//! | `ext_trie_{blake2_256,keccak_256}_root_version_3` | `(input: fat, version: i32, out[32])` | as version 2, in place |
//! | `ext_trie_{blake2_256,keccak_256}_ordered_root_version_{1,2,3}` | as `root`, `input: fat SCALE(Vec<Vec<u8>>)` | the root over keys `SCALE(Compact(i as u32))` |
//! | `ext_misc_runtime_version_version_1` | `(code: fat) -> alloc(Option<Vec<u8>>)` | the embedded `RuntimeVersion`, re-encoded ([`runtime_version`]; `None` for a PolkaVM blob) |
//! | `ext_misc_runtime_version_version_2` | `(code: fat, out: outfat) -> i64` | the same into `out`, truncated; its full length, or `-1` for none |
//! | `ext_misc_print_num_version_1` | `(value: i64)` | logs it (`Debug`, target `runtime`) |
//! | `ext_misc_print_utf8_version_1` | `(data: fat)` | logs it if it is UTF-8 |
//! | `ext_misc_print_hex_version_1` | `(data: fat)` | logs it in hex |
//! | `ext_logging_log_version_1` | `(level: i32, target: fat, message: fat)` | logs it; level 0 (error) ..= 4 (trace) else fails; a target not UTF-8 fails; a message not UTF-8 is dropped |
//! | `ext_logging_max_level_version_1` | `() -> i32` | 2 (`Warn`) |
//! | `ext_panic_handler_abort_on_panic_version_1` | `(message: fat)` | logs the message; the PVF trapped ([`InvalidReason::Trapped`]) |
//!
//! Messages longer than [`MAX_LOG`] octets are logged truncated; a slice
//! argument longer than [`MAX_INPUT`] octets fails the call.
//!
//! # Unavailable during validation
//!
//! | symbols (`ext_` …) | versions | why |
//! |---|---|---|
//! | `storage_{get,read,set,clear,exists,clear_prefix,append,root,changes_root,next_key,start_transaction,rollback_transaction,commit_transaction}`, `misc_last_cursor` | every one sp-io has | storage ([`Unavailable::Storage`]) |
//! | `default_child_storage_{get,read,set,clear,storage_kill,exists,clear_prefix,root,next_key}` | every one | child storage ([`Unavailable::ChildStorage`]) |
//! | `storage_proof_size_storage_proof_size_version_1` | 1 | cumulus' proof-size recording ([`Unavailable::ProofSize`]) |
//! | `offchain_index_{set,clear}` | 1 | the offchain database ([`Unavailable::OffchainIndex`]) |
//! | `transaction_index_{index,renew}` | 1 | transaction storage ([`Unavailable::TransactionIndex`]) |
//! | `offchain_*` (`is_validator`, `submit_transaction`, `network_*`, `timestamp`, `sleep_until`, `random_seed`, `local_storage_*`, `http_*`, `set_authorized_nodes`) | every one | offchain workers ([`Unavailable::Offchain`]) |
//! | `crypto_{ed25519,sr25519,ecdsa}_{public_keys,generate,sign}`, `crypto_ecdsa_sign_prehashed`, `crypto_bls381_*`, `crypto_ecdsa_bls381_*` | every one | the keystore, authoring only ([`Unavailable::Keystore`]) |
//! | `wasm_tracing_{enabled,enter_span,event,exit}` | 1 | runtime tracing ([`Unavailable::Tracing`]) |
//!
//! # Not served
//!
//! | symbol | why |
//! |---|---|
//! | `ext_trie_{blake2_256,keccak_256}_verify_proof_version_{1,2}` | trie-db's compact proof format is not implemented yet |
//! | `ext_input_read_version_1` | the RFC-145 entry convention (input read by a host call) is not the PVF ABI this executor calls |

pub mod crypto;
pub mod runtime_version;
pub mod trie;

use alloc::vec;
use alloc::vec::Vec;

use blake2::digest::consts::{U16, U32};
use blake2::{Blake2b, Digest};
use parajam_corechains_types::InvalidReason;
use parity_scale_codec::{Decode, Encode};

pub use crypto::{EcdsaVerifyError, Overflow};

use crate::allocator::Allocator;
use crate::host::{LogLevel, RefineHost};
use trie::{Layout, TrieHash};

/// This table's version.
pub const TABLE_VERSION: u32 = 2;

/// The largest slice a host function reads from the PVF.
pub const MAX_INPUT: u32 = 16 << 20;

/// The largest log target or message forwarded to `log` (longer ones are
/// truncated).
pub const MAX_LOG: usize = 4096;

/// The `max_level` the PVF is told: `Warn`.
const MAX_LEVEL: u64 = 2;

/// A hash function of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hasher {
    /// Blake2b, 128-bit output.
    Blake2_128,
    /// Blake2b-256.
    Blake2_256,
    /// Keccak-256.
    Keccak256,
    /// Keccak-512.
    Keccak512,
    /// SHA2-256.
    Sha2_256,
    /// xxHash64, seed 0.
    Twox64,
    /// xxHash64 with seeds 0, 1, concatenated.
    Twox128,
    /// xxHash64 with seeds 0 to 3, concatenated.
    Twox256,
}

impl Hasher {
    /// The hash of `data`.
    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Blake2_128 => Blake2b::<U16>::digest(data).to_vec(),
            Self::Blake2_256 => Blake2b::<U32>::digest(data).to_vec(),
            Self::Keccak256 => sha3::Keccak256::digest(data).to_vec(),
            Self::Keccak512 => sha3::Keccak512::digest(data).to_vec(),
            Self::Sha2_256 => sha2::Sha256::digest(data).to_vec(),
            Self::Twox64 => twox(data, 1),
            Self::Twox128 => twox(data, 2),
            Self::Twox256 => twox(data, 4),
        }
    }
}

fn twox(data: &[u8], words: u64) -> Vec<u8> {
    (0..words)
        .flat_map(|seed| twox_hash::XxHash64::oneshot(seed, data).to_le_bytes())
        .collect()
}

/// How a function hands back a fixed-size result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Out {
    /// Allocated and returned (versions 1 and 2).
    Allocated,
    /// Written to a pointer argument (the RFC-145 versions).
    InPlace,
}

/// Which layout a trie-root function uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootLayout {
    /// Always `LayoutV0` (version 1).
    V0,
    /// The `StateVersion` argument's (versions 2 and 3).
    Argument,
}

/// Why a known function is not available during validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// Main storage: `validate_block` serves it from the PoV's proof.
    Storage,
    /// Default child storage: likewise.
    ChildStorage,
    /// cumulus' storage proof size: likewise.
    ProofSize,
    /// The offchain database: likewise.
    OffchainIndex,
    /// Transaction storage indexing.
    TransactionIndex,
    /// Offchain-worker functions.
    Offchain,
    /// The keystore: authoring only.
    Keystore,
    /// Runtime tracing.
    Tracing,
}

impl Unavailable {
    fn reason(self) -> &'static [u8] {
        match self {
            Self::Storage => b"storage is not available during validation",
            Self::ChildStorage => b"child storage is not available during validation",
            Self::ProofSize => b"the storage proof size is not available during validation",
            Self::OffchainIndex => b"the offchain index is not available during validation",
            Self::TransactionIndex => b"transaction indexing is not available during validation",
            Self::Offchain => b"offchain-worker functions are not available during validation",
            Self::Keystore => b"the keystore is not available during validation",
            Self::Tracing => b"runtime tracing is not available during validation",
        }
    }
}

/// A function of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostFunction {
    /// `ext_allocator_malloc_version_1`.
    Malloc,
    /// `ext_allocator_free_version_1`.
    Free,
    /// `ext_hashing_*`.
    Hash(Hasher, Out),
    /// `ext_crypto_ed25519_verify_version_1` (`batch`: `ed25519_batch_verify`).
    Ed25519Verify {
        /// The batch variant.
        batch: bool,
    },
    /// `ext_crypto_sr25519_verify_*`.
    Sr25519Verify {
        /// Version 1: pre-audit signatures accepted.
        deprecated: bool,
        /// The batch variant.
        batch: bool,
    },
    /// `ext_crypto_ecdsa_verify_*`.
    EcdsaVerify {
        /// Version 1: `r` and `s` reduced.
        deprecated: bool,
        /// The batch variant.
        batch: bool,
    },
    /// `ext_crypto_ecdsa_verify_prehashed_version_1`.
    EcdsaVerifyPrehashed,
    /// `ext_crypto_start_batch_verify_version_1`.
    StartBatchVerify,
    /// `ext_crypto_finish_batch_verify_version_1`.
    FinishBatchVerify,
    /// `ext_crypto_secp256k1_ecdsa_recover*`.
    Secp256k1Recover {
        /// How `r` and `s` at or above the order are read.
        overflow: Overflow,
        /// The `_compressed` variant.
        compressed: bool,
        /// `Result` allocated (1, 2) or in place (3).
        out: Out,
    },
    /// `ext_trie_*_root_*` and `ext_trie_*_ordered_root_*`.
    TrieRoot {
        /// Blake2 or Keccak.
        hash: TrieHash,
        /// Values under their index (`ordered_root`) or key-value pairs.
        ordered: bool,
        /// The layout.
        layout: RootLayout,
        /// Allocated or in place.
        out: Out,
    },
    /// `ext_misc_runtime_version_*`.
    RuntimeVersion(Out),
    /// `ext_logging_log_version_1`.
    Log,
    /// `ext_logging_max_level_version_1`.
    MaxLevel,
    /// `ext_misc_print_utf8_version_1`.
    PrintUtf8,
    /// `ext_misc_print_hex_version_1`.
    PrintHex,
    /// `ext_misc_print_num_version_1`.
    PrintNum,
    /// `ext_panic_handler_abort_on_panic_version_1`.
    AbortOnPanic,
    /// Known, not available during validation.
    Unavailable(Unavailable),
    /// Known, not served by this table.
    NotServed,
}

/// A function's status in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Served.
    Served,
    /// Known, fails: not available during validation.
    Unavailable(Unavailable),
    /// Known, fails: not served by this table.
    NotServed,
}

/// A wasm value type of the FFI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// `i32`: a pointer, `u32`, `u16`, `u8` or `bool`.
    I32,
    /// `i64`: a pointer-size or `u64`.
    I64,
}

/// A function's wasm signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    /// The parameters.
    pub params: &'static [ValueType],
    /// The result, if any.
    pub result: Option<ValueType>,
}

/// An entry of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The import symbol.
    pub symbol: &'static str,
    /// The function.
    pub function: HostFunction,
    /// Its wasm signature.
    pub signature: Signature,
}

impl Entry {
    /// Served, unavailable or not served.
    pub fn status(&self) -> Status {
        match self.function {
            HostFunction::Unavailable(why) => Status::Unavailable(why),
            HostFunction::NotServed => Status::NotServed,
            _ => Status::Served,
        }
    }
}

/// Signature shorthands for [`TABLE`].
mod sig {
    use super::Signature;
    use super::ValueType::{I32 as P, I64 as L};

    macro_rules! sigs {
        ($($name:ident = ($($p:ident),*) $(-> $r:ident)?;)*) => {
            $(pub const $name: Signature = Signature {
                params: &[$($p),*],
                result: sigs!(@r $($r)?),
            };)*
        };
        (@r) => { None };
        (@r $r:ident) => { Some($r) };
    }

    sigs! {
        V_V = ();
        V_P = () -> P;
        V_L = () -> L;
        P_V = (P);
        P_P = (P) -> P;
        P_L = (P) -> L;
        L_V = (L);
        L_P = (L) -> P;
        L_L = (L) -> L;
        PP_V = (P, P);
        PP_L = (P, P) -> L;
        PL_V = (P, L);
        PL_P = (P, L) -> P;
        PL_L = (P, L) -> L;
        LP_V = (L, P);
        LP_P = (L, P) -> P;
        LP_L = (L, P) -> L;
        LL_V = (L, L);
        LL_P = (L, L) -> P;
        LL_L = (L, L) -> L;
        PPP_V = (P, P, P);
        PPP_P = (P, P, P) -> P;
        PPP_L = (P, P, P) -> L;
        PLP_V = (P, L, P);
        PLP_P = (P, L, P) -> P;
        PLL_V = (P, L, L);
        PLL_L = (P, L, L) -> L;
        PPL_L = (P, P, L) -> L;
        LPP_V = (L, P, P);
        LLP_L = (L, L, P) -> L;
        LLL_V = (L, L, L);
        LLL_L = (L, L, L) -> L;
        PPLP_P = (P, P, L, P) -> P;
        PPLP_L = (P, P, L, P) -> L;
        PPPP_P = (P, P, P, P) -> P;
        PLLL_P = (P, L, L, L) -> P;
        PLLP_L = (P, L, L, P) -> L;
        LLPP_L = (L, L, P, P) -> L;
        LLLL_L = (L, L, L, L) -> L;
        LLLP_L = (L, L, L, P) -> L;
        PLLLP_P = (P, L, L, L, P) -> P;
        LLLLP_P = (L, L, L, L, P) -> P;
        LLLPP_L = (L, L, L, P, P) -> L;
        LLLLLP_P = (L, L, L, L, L, P) -> P;
    }
}

macro_rules! table {
    ($($symbol:literal => $function:expr, $sig:ident;)*) => {
        /// The table: every known symbol, its function and wasm signature.
        pub const TABLE: &[Entry] = &[$(Entry {
            symbol: $symbol,
            function: $function,
            signature: sig::$sig,
        }),*];
    };
}

use HostFunction as F;
use Unavailable::{
    ChildStorage as ChildS, Keystore as Keys, Offchain as Ocw, OffchainIndex as OcIdx,
    ProofSize as Proof, Storage as Store, Tracing as Trace, TransactionIndex as TxIdx,
};

const fn hash(hasher: Hasher, out: Out) -> HostFunction {
    HostFunction::Hash(hasher, out)
}

const fn recover(overflow: Overflow, compressed: bool, out: Out) -> HostFunction {
    HostFunction::Secp256k1Recover {
        overflow,
        compressed,
        out,
    }
}

const fn root(hash: TrieHash, ordered: bool, layout: RootLayout, out: Out) -> HostFunction {
    HostFunction::TrieRoot {
        hash,
        ordered,
        layout,
        out,
    }
}

const fn gone(why: Unavailable) -> HostFunction {
    HostFunction::Unavailable(why)
}

use Out::{Allocated as A, InPlace as W};
use RootLayout::{Argument as Arg, V0};
use TrieHash::{Blake2 as B2, Keccak as Kk};

table! {
    // allocator
    "ext_allocator_malloc_version_1" => F::Malloc, P_P;
    "ext_allocator_free_version_1" => F::Free, P_V;
    // hashing
    "ext_hashing_keccak_256_version_1" => hash(Hasher::Keccak256, A), L_P;
    "ext_hashing_keccak_256_version_2" => hash(Hasher::Keccak256, W), LP_V;
    "ext_hashing_keccak_512_version_1" => hash(Hasher::Keccak512, A), L_P;
    "ext_hashing_keccak_512_version_2" => hash(Hasher::Keccak512, W), LP_V;
    "ext_hashing_sha2_256_version_1" => hash(Hasher::Sha2_256, A), L_P;
    "ext_hashing_sha2_256_version_2" => hash(Hasher::Sha2_256, W), LP_V;
    "ext_hashing_blake2_128_version_1" => hash(Hasher::Blake2_128, A), L_P;
    "ext_hashing_blake2_128_version_2" => hash(Hasher::Blake2_128, W), LP_V;
    "ext_hashing_blake2_256_version_1" => hash(Hasher::Blake2_256, A), L_P;
    "ext_hashing_blake2_256_version_2" => hash(Hasher::Blake2_256, W), LP_V;
    "ext_hashing_twox_256_version_1" => hash(Hasher::Twox256, A), L_P;
    "ext_hashing_twox_256_version_2" => hash(Hasher::Twox256, W), LP_V;
    "ext_hashing_twox_128_version_1" => hash(Hasher::Twox128, A), L_P;
    "ext_hashing_twox_128_version_2" => hash(Hasher::Twox128, W), LP_V;
    "ext_hashing_twox_64_version_1" => hash(Hasher::Twox64, A), L_P;
    "ext_hashing_twox_64_version_2" => hash(Hasher::Twox64, W), LP_V;
    // crypto: verification and recovery
    "ext_crypto_ed25519_verify_version_1" => F::Ed25519Verify { batch: false }, PLP_P;
    "ext_crypto_ed25519_batch_verify_version_1" => F::Ed25519Verify { batch: true }, PLP_P;
    "ext_crypto_sr25519_verify_version_1" => F::Sr25519Verify { deprecated: true, batch: false }, PLP_P;
    "ext_crypto_sr25519_verify_version_2" => F::Sr25519Verify { deprecated: false, batch: false }, PLP_P;
    "ext_crypto_sr25519_batch_verify_version_1" => F::Sr25519Verify { deprecated: false, batch: true }, PLP_P;
    "ext_crypto_ecdsa_verify_version_1" => F::EcdsaVerify { deprecated: true, batch: false }, PLP_P;
    "ext_crypto_ecdsa_verify_version_2" => F::EcdsaVerify { deprecated: false, batch: false }, PLP_P;
    "ext_crypto_ecdsa_batch_verify_version_1" => F::EcdsaVerify { deprecated: false, batch: true }, PLP_P;
    "ext_crypto_ecdsa_verify_prehashed_version_1" => F::EcdsaVerifyPrehashed, PPP_P;
    "ext_crypto_start_batch_verify_version_1" => F::StartBatchVerify, V_V;
    "ext_crypto_finish_batch_verify_version_1" => F::FinishBatchVerify, V_P;
    "ext_crypto_secp256k1_ecdsa_recover_version_1" => recover(Overflow::Reduce, false, A), PP_L;
    "ext_crypto_secp256k1_ecdsa_recover_version_2" => recover(Overflow::Reject, false, A), PP_L;
    "ext_crypto_secp256k1_ecdsa_recover_version_3" => recover(Overflow::Reject, false, W), PPP_P;
    "ext_crypto_secp256k1_ecdsa_recover_compressed_version_1" => recover(Overflow::Reduce, true, A), PP_L;
    "ext_crypto_secp256k1_ecdsa_recover_compressed_version_2" => recover(Overflow::Reject, true, A), PP_L;
    "ext_crypto_secp256k1_ecdsa_recover_compressed_version_3" => recover(Overflow::Reject, true, W), PPP_P;
    // trie
    "ext_trie_blake2_256_root_version_1" => root(B2, false, V0, A), L_P;
    "ext_trie_blake2_256_root_version_2" => root(B2, false, Arg, A), LP_P;
    "ext_trie_blake2_256_root_version_3" => root(B2, false, Arg, W), LPP_V;
    "ext_trie_blake2_256_ordered_root_version_1" => root(B2, true, V0, A), L_P;
    "ext_trie_blake2_256_ordered_root_version_2" => root(B2, true, Arg, A), LP_P;
    "ext_trie_blake2_256_ordered_root_version_3" => root(B2, true, Arg, W), LPP_V;
    "ext_trie_keccak_256_root_version_1" => root(Kk, false, V0, A), L_P;
    "ext_trie_keccak_256_root_version_2" => root(Kk, false, Arg, A), LP_P;
    "ext_trie_keccak_256_root_version_3" => root(Kk, false, Arg, W), LPP_V;
    "ext_trie_keccak_256_ordered_root_version_1" => root(Kk, true, V0, A), L_P;
    "ext_trie_keccak_256_ordered_root_version_2" => root(Kk, true, Arg, A), LP_P;
    "ext_trie_keccak_256_ordered_root_version_3" => root(Kk, true, Arg, W), LPP_V;
    "ext_trie_blake2_256_verify_proof_version_1" => F::NotServed, PLLL_P;
    "ext_trie_blake2_256_verify_proof_version_2" => F::NotServed, PLLLP_P;
    "ext_trie_keccak_256_verify_proof_version_1" => F::NotServed, PLLL_P;
    "ext_trie_keccak_256_verify_proof_version_2" => F::NotServed, PLLLP_P;
    // misc, logging, panics, input
    "ext_misc_print_num_version_1" => F::PrintNum, L_V;
    "ext_misc_print_utf8_version_1" => F::PrintUtf8, L_V;
    "ext_misc_print_hex_version_1" => F::PrintHex, L_V;
    "ext_misc_runtime_version_version_1" => F::RuntimeVersion(A), L_L;
    "ext_misc_runtime_version_version_2" => F::RuntimeVersion(W), LL_L;
    "ext_misc_last_cursor_version_1" => gone(Store), L_L;
    "ext_logging_log_version_1" => F::Log, PLL_V;
    "ext_logging_max_level_version_1" => F::MaxLevel, V_P;
    "ext_panic_handler_abort_on_panic_version_1" => F::AbortOnPanic, L_V;
    "ext_input_read_version_1" => F::NotServed, L_V;
    // storage
    "ext_storage_get_version_1" => gone(Store), L_L;
    "ext_storage_read_version_1" => gone(Store), LLP_L;
    "ext_storage_read_version_2" => gone(Store), LLPP_L;
    "ext_storage_set_version_1" => gone(Store), LL_V;
    "ext_storage_clear_version_1" => gone(Store), L_V;
    "ext_storage_exists_version_1" => gone(Store), L_P;
    "ext_storage_clear_prefix_version_1" => gone(Store), L_V;
    "ext_storage_clear_prefix_version_2" => gone(Store), LL_L;
    "ext_storage_clear_prefix_version_3" => gone(Store), LLL_L;
    "ext_storage_clear_prefix_version_4" => gone(Store), LLLLP_P;
    "ext_storage_append_version_1" => gone(Store), LL_V;
    "ext_storage_root_version_1" => gone(Store), V_L;
    "ext_storage_root_version_2" => gone(Store), P_L;
    "ext_storage_root_version_3" => gone(Store), L_V;
    "ext_storage_changes_root_version_1" => gone(Store), L_L;
    "ext_storage_next_key_version_1" => gone(Store), L_L;
    "ext_storage_next_key_version_2" => gone(Store), LL_P;
    "ext_storage_start_transaction_version_1" => gone(Store), V_V;
    "ext_storage_rollback_transaction_version_1" => gone(Store), V_V;
    "ext_storage_commit_transaction_version_1" => gone(Store), V_V;
    // default child storage
    "ext_default_child_storage_get_version_1" => gone(ChildS), LL_L;
    "ext_default_child_storage_read_version_1" => gone(ChildS), LLLP_L;
    "ext_default_child_storage_read_version_2" => gone(ChildS), LLLPP_L;
    "ext_default_child_storage_set_version_1" => gone(ChildS), LLL_V;
    "ext_default_child_storage_clear_version_1" => gone(ChildS), LL_V;
    "ext_default_child_storage_storage_kill_version_1" => gone(ChildS), L_V;
    "ext_default_child_storage_storage_kill_version_2" => gone(ChildS), LL_P;
    "ext_default_child_storage_storage_kill_version_3" => gone(ChildS), LL_L;
    "ext_default_child_storage_storage_kill_version_4" => gone(ChildS), LLL_L;
    "ext_default_child_storage_storage_kill_version_5" => gone(ChildS), LLLLP_P;
    "ext_default_child_storage_exists_version_1" => gone(ChildS), LL_P;
    "ext_default_child_storage_clear_prefix_version_1" => gone(ChildS), LL_V;
    "ext_default_child_storage_clear_prefix_version_2" => gone(ChildS), LLL_L;
    "ext_default_child_storage_clear_prefix_version_3" => gone(ChildS), LLLL_L;
    "ext_default_child_storage_clear_prefix_version_4" => gone(ChildS), LLLLLP_P;
    "ext_default_child_storage_root_version_1" => gone(ChildS), L_L;
    "ext_default_child_storage_root_version_2" => gone(ChildS), LP_L;
    "ext_default_child_storage_root_version_3" => gone(ChildS), LL_V;
    "ext_default_child_storage_next_key_version_1" => gone(ChildS), LL_L;
    "ext_default_child_storage_next_key_version_2" => gone(ChildS), LLL_V;
    // cumulus
    "ext_storage_proof_size_storage_proof_size_version_1" => gone(Proof), V_L;
    // offchain index, transaction index
    "ext_offchain_index_set_version_1" => gone(OcIdx), LL_V;
    "ext_offchain_index_clear_version_1" => gone(OcIdx), L_V;
    "ext_transaction_index_index_version_1" => gone(TxIdx), PPP_V;
    "ext_transaction_index_renew_version_1" => gone(TxIdx), PP_V;
    // offchain workers
    "ext_offchain_is_validator_version_1" => gone(Ocw), V_P;
    "ext_offchain_submit_transaction_version_1" => gone(Ocw), L_L;
    "ext_offchain_submit_transaction_version_2" => gone(Ocw), L_P;
    "ext_offchain_network_state_version_1" => gone(Ocw), V_L;
    "ext_offchain_network_peer_id_version_1" => gone(Ocw), P_P;
    "ext_offchain_timestamp_version_1" => gone(Ocw), V_L;
    "ext_offchain_sleep_until_version_1" => gone(Ocw), L_V;
    "ext_offchain_random_seed_version_1" => gone(Ocw), V_P;
    "ext_offchain_random_seed_version_2" => gone(Ocw), P_V;
    "ext_offchain_local_storage_set_version_1" => gone(Ocw), PLL_V;
    "ext_offchain_local_storage_clear_version_1" => gone(Ocw), PL_V;
    "ext_offchain_local_storage_compare_and_set_version_1" => gone(Ocw), PLLL_P;
    "ext_offchain_local_storage_get_version_1" => gone(Ocw), PL_L;
    "ext_offchain_local_storage_read_version_1" => gone(Ocw), PLLP_L;
    "ext_offchain_http_request_start_version_1" => gone(Ocw), LLL_L;
    "ext_offchain_http_request_start_version_2" => gone(Ocw), LLL_L;
    "ext_offchain_http_request_add_header_version_1" => gone(Ocw), PLL_L;
    "ext_offchain_http_request_add_header_version_2" => gone(Ocw), PLL_L;
    "ext_offchain_http_request_write_body_version_1" => gone(Ocw), PLL_L;
    "ext_offchain_http_request_write_body_version_2" => gone(Ocw), PLL_L;
    "ext_offchain_http_response_wait_version_1" => gone(Ocw), LL_L;
    "ext_offchain_http_response_wait_version_2" => gone(Ocw), LLL_V;
    "ext_offchain_http_response_headers_version_1" => gone(Ocw), P_L;
    "ext_offchain_http_response_header_name_version_1" => gone(Ocw), PPL_L;
    "ext_offchain_http_response_header_value_version_1" => gone(Ocw), PPL_L;
    "ext_offchain_http_response_read_body_version_1" => gone(Ocw), PLL_L;
    "ext_offchain_http_response_read_body_version_2" => gone(Ocw), PLL_L;
    "ext_offchain_set_authorized_nodes_version_1" => gone(Ocw), LP_V;
    // the keystore
    "ext_crypto_ed25519_public_keys_version_1" => gone(Keys), P_L;
    "ext_crypto_ed25519_public_keys_version_2" => gone(Keys), PL_P;
    "ext_crypto_ed25519_generate_version_1" => gone(Keys), PL_P;
    "ext_crypto_ed25519_generate_version_2" => gone(Keys), PLP_V;
    "ext_crypto_ed25519_sign_version_1" => gone(Keys), PPL_L;
    "ext_crypto_ed25519_sign_version_2" => gone(Keys), PPLP_P;
    "ext_crypto_sr25519_public_keys_version_1" => gone(Keys), P_L;
    "ext_crypto_sr25519_public_keys_version_2" => gone(Keys), PL_P;
    "ext_crypto_sr25519_generate_version_1" => gone(Keys), PL_P;
    "ext_crypto_sr25519_generate_version_2" => gone(Keys), PLP_V;
    "ext_crypto_sr25519_sign_version_1" => gone(Keys), PPL_L;
    "ext_crypto_sr25519_sign_version_2" => gone(Keys), PPLP_P;
    "ext_crypto_ecdsa_public_keys_version_1" => gone(Keys), P_L;
    "ext_crypto_ecdsa_public_keys_version_2" => gone(Keys), PL_P;
    "ext_crypto_ecdsa_generate_version_1" => gone(Keys), PL_P;
    "ext_crypto_ecdsa_generate_version_2" => gone(Keys), PLP_V;
    "ext_crypto_ecdsa_sign_version_1" => gone(Keys), PPL_L;
    "ext_crypto_ecdsa_sign_version_2" => gone(Keys), PPLP_P;
    "ext_crypto_ecdsa_sign_prehashed_version_1" => gone(Keys), PPP_L;
    "ext_crypto_ecdsa_sign_prehashed_version_2" => gone(Keys), PPPP_P;
    "ext_crypto_bls381_generate_version_1" => gone(Keys), PLP_V;
    "ext_crypto_bls381_generate_proof_of_possession_version_1" => gone(Keys), PPLP_L;
    "ext_crypto_bls381_num_public_keys_version_1" => gone(Keys), P_P;
    "ext_crypto_bls381_public_key_version_1" => gone(Keys), PPP_V;
    "ext_crypto_bls381_sign_version_1" => gone(Keys), PPLP_L;
    "ext_crypto_ecdsa_bls381_generate_version_1" => gone(Keys), PLP_V;
    "ext_crypto_ecdsa_bls381_num_public_keys_version_1" => gone(Keys), P_P;
    "ext_crypto_ecdsa_bls381_public_key_version_1" => gone(Keys), PPP_V;
    "ext_crypto_ecdsa_bls381_sign_version_1" => gone(Keys), PPLP_L;
    "ext_crypto_ecdsa_bls381_sign_with_keccak256_version_1" => gone(Keys), PPLP_L;
    // tracing
    "ext_wasm_tracing_enabled_version_1" => gone(Trace), L_P;
    "ext_wasm_tracing_enter_span_version_1" => gone(Trace), L_L;
    "ext_wasm_tracing_event_version_1" => gone(Trace), L_V;
    "ext_wasm_tracing_exit_version_1" => gone(Trace), L_V;
}

/// The table's entry for an import symbol.
pub fn lookup(symbol: &[u8]) -> Option<&'static Entry> {
    TABLE.iter().find(|e| e.symbol.as_bytes() == symbol)
}

impl HostFunction {
    /// The function an import symbol names, if the table knows it (served,
    /// unavailable or not served: an import a build may accept).
    pub fn from_symbol(symbol: &[u8]) -> Option<Self> {
        lookup(symbol).map(|e| e.function)
    }
}

/// What one PVF run keeps between host calls: its heap and the open
/// signature batch (`start_batch_verify`).
#[derive(Debug)]
pub struct Session {
    /// The PVF's heap.
    pub heap: Allocator,
    batch: Option<bool>,
}

impl Session {
    /// A run with the heap `heap` and no open batch.
    pub fn new(heap: Allocator) -> Self {
        Self { heap, batch: None }
    }
}

/// One PVF run's view for serving a host call: the host, the inner
/// machine and the run's session.
#[derive(Debug)]
pub struct Call<'a, H> {
    /// The service's host.
    pub host: &'a mut H,
    /// The inner machine.
    pub vm: u64,
    /// The run's heap and batch.
    pub session: &'a mut Session,
}

/// A call that failed; the caller names the symbol.
struct Failed;

impl<H: RefineHost> Call<'_, H> {
    /// Serves `function` named `symbol` with the inner machine's registers.
    pub fn serve(
        &mut self,
        function: HostFunction,
        symbol: &[u8],
        regs: &mut [u64; 13],
    ) -> Result<(), InvalidReason> {
        match function {
            HostFunction::Unavailable(why) => {
                let mut message = symbol.to_vec();
                message.extend_from_slice(b": ");
                message.extend_from_slice(why.reason());
                self.host.log(LogLevel::Warn, b"runtime", &message);
                Err(InvalidReason::UnavailableHostFunction(symbol.to_vec()))
            }
            HostFunction::NotServed => Err(InvalidReason::UnsupportedHostFunction(symbol.to_vec())),
            HostFunction::AbortOnPanic => {
                let message = self
                    .read(regs[7])
                    .map_err(|Failed| InvalidReason::HostFunctionFailed(symbol.to_vec()))?;
                self.host.log(
                    LogLevel::Error,
                    b"runtime",
                    &message[..message.len().min(MAX_LOG)],
                );
                Err(InvalidReason::Trapped)
            }
            served => self
                .served(served, regs)
                .map_err(|Failed| InvalidReason::HostFunctionFailed(symbol.to_vec())),
        }
    }

    #[allow(clippy::too_many_lines)] // one arm per function of the table
    fn served(&mut self, function: HostFunction, regs: &mut [u64; 13]) -> Result<(), Failed> {
        let (a0, a1, a2) = (regs[7], regs[8], regs[9]);
        let result: u64 = match function {
            HostFunction::Malloc => {
                // `u32` arguments arrive zero- or sign-extended; the low half counts.
                let ptr = self
                    .session
                    .heap
                    .malloc(self.host, low(a0))
                    .map_err(|_| Failed)?;
                u64::from(ptr)
            }
            HostFunction::Free => {
                self.session.heap.free(low(a0)).map_err(|_| Failed)?;
                0
            }
            HostFunction::Hash(hasher, out) => {
                let data = self.read(a0)?;
                let digest = hasher.hash(&data);
                self.fixed(&digest, out, a1)?
            }
            HostFunction::Ed25519Verify { batch } => {
                let sig = self.array::<64>(a0)?;
                let msg = self.read(a1)?;
                let public = self.array::<32>(a2)?;
                if batch {
                    // sp-io 49's `ed25519_batch_verify` calls
                    // `ed25519_verify`, which asks the externalities it is
                    // already running in for `UseDalekExt`: the nested
                    // borrow panics, so on the relay chain's executor every
                    // call fails. (`sr25519` and `ecdsa` do not ask.)
                    return Err(Failed);
                }
                u64::from(crypto::ed25519_verify(&sig, &msg, &public))
            }
            HostFunction::Sr25519Verify { deprecated, batch } => {
                let sig = self.array::<64>(a0)?;
                let msg = self.read(a1)?;
                let public = self.array::<32>(a2)?;
                let ok = if deprecated {
                    crypto::sr25519_verify_deprecated(&sig, &msg, &public)
                } else {
                    crypto::sr25519_verify(&sig, &msg, &public)
                };
                self.verified(ok, batch)
            }
            HostFunction::EcdsaVerify { deprecated, batch } => {
                let sig = self.array::<65>(a0)?;
                let msg = self.read(a1)?;
                let public = self.array::<33>(a2)?;
                let hash = crate::blake2_256(&msg);
                let ok = if deprecated {
                    crypto::ecdsa_verify_deprecated(&sig, &hash, &public)
                } else {
                    crypto::ecdsa_verify(&sig, &hash, &public)
                };
                self.verified(ok, batch)
            }
            HostFunction::EcdsaVerifyPrehashed => {
                let sig = self.array::<65>(a0)?;
                let hash = self.array::<32>(a1)?;
                let public = self.array::<33>(a2)?;
                u64::from(crypto::ecdsa_verify(&sig, &hash, &public))
            }
            HostFunction::StartBatchVerify => {
                if self.session.batch.replace(true).is_some() {
                    return Err(Failed);
                }
                0
            }
            HostFunction::FinishBatchVerify => u64::from(self.session.batch.take().ok_or(Failed)?),
            HostFunction::Secp256k1Recover {
                overflow,
                compressed,
                out,
            } => {
                let sig = self.array::<65>(a0)?;
                let hash = self.array::<32>(a1)?;
                let key = crypto::secp256k1_recover(&sig, &hash, overflow);
                let key: Result<Vec<u8>, EcdsaVerifyError> = key.map(|k| {
                    if compressed {
                        k.compressed().to_vec()
                    } else {
                        k.uncompressed().to_vec()
                    }
                });
                match out {
                    Out::Allocated => {
                        let mut encoded = Vec::with_capacity(65);
                        match &key {
                            Ok(k) => {
                                encoded.push(0);
                                encoded.extend_from_slice(k);
                            }
                            Err(e) => encoded.extend_from_slice(&[1, e.index()]),
                        }
                        self.allocate_fat(&encoded)?
                    }
                    Out::InPlace => {
                        let len = if compressed { 33 } else { 64 };
                        let written = key.as_deref().unwrap_or(&[0; 64][..len]);
                        self.write(a2, written)?;
                        #[allow(clippy::cast_sign_loss)] // an i32 result, sign-extended
                        match key {
                            Ok(_) => 0,
                            Err(e) => e.code() as u64,
                        }
                    }
                }
            }
            HostFunction::TrieRoot {
                hash,
                ordered,
                layout,
                out,
            } => {
                let input = self.read(a0)?;
                let layout = match layout {
                    V0 => Layout::V0,
                    Arg => Layout::from_state_version(low8(a1)).ok_or(Failed)?,
                };
                let root = if ordered {
                    let values = Vec::<Vec<u8>>::decode(&mut &input[..]).map_err(|_| Failed)?;
                    trie::ordered_root(hash, layout, values)
                } else {
                    let items =
                        Vec::<(Vec<u8>, Vec<u8>)>::decode(&mut &input[..]).map_err(|_| Failed)?;
                    trie::root(hash, layout, items).ok_or(Failed)?
                };
                self.fixed(&root, out, a2)?
            }
            HostFunction::RuntimeVersion(out) => {
                let code = self.read(a0)?;
                let version = runtime_version::runtime_version(&code);
                match out {
                    Out::Allocated => self.allocate_fat(&version.encode())?,
                    Out::InPlace => {
                        let (_, len) = parajam_corechains_types::unpack_ptr_and_len(a1);
                        let mut buffer = vec![0; len as usize];
                        if let Some(v) = &version {
                            let n = v.len().min(buffer.len());
                            buffer[..n].copy_from_slice(&v[..n]);
                        }
                        self.write(a1, &buffer)?;
                        match version {
                            Some(v) => u64::try_from(v.len()).map_err(|_| Failed)?,
                            None => u64::MAX,
                        }
                    }
                }
            }
            HostFunction::Log => {
                let level = match low8(a0) {
                    0 => LogLevel::Error,
                    1 => LogLevel::Warn,
                    2 => LogLevel::Info,
                    3 => LogLevel::Debug,
                    4 => LogLevel::Trace,
                    _ => return Err(Failed),
                };
                let target = self.read(a1)?;
                let message = self.read(a2)?;
                if core::str::from_utf8(&target).is_err() {
                    return Err(Failed);
                }
                if core::str::from_utf8(&message).is_ok() {
                    self.log(level, &target, &message);
                }
                0
            }
            HostFunction::MaxLevel => MAX_LEVEL,
            HostFunction::PrintUtf8 => {
                let data = self.read(a0)?;
                if core::str::from_utf8(&data).is_ok() {
                    self.log(LogLevel::Debug, b"runtime", &data);
                }
                0
            }
            HostFunction::PrintHex => {
                let data = self.read(a0)?;
                self.log(
                    LogLevel::Debug,
                    b"runtime",
                    &hex(&data[..data.len().min(MAX_LOG / 2)]),
                );
                0
            }
            HostFunction::PrintNum => {
                let mut text = Vec::new();
                write_decimal(&mut text, a0);
                self.log(LogLevel::Debug, b"runtime", &text);
                0
            }
            HostFunction::AbortOnPanic | HostFunction::Unavailable(_) | HostFunction::NotServed => {
                return Err(Failed)
            }
        };
        regs[7] = result;
        Ok(())
    }

    /// A check's result, ANDed into the open batch if `batch`.
    fn verified(&mut self, ok: bool, batch: bool) -> u64 {
        if batch {
            if let Some(all) = &mut self.session.batch {
                *all &= ok;
            }
        }
        u64::from(ok)
    }

    /// A fixed-size result: allocated (its pointer returned) or written to
    /// the pointer `out_ptr`.
    fn fixed(&mut self, data: &[u8], out: Out, out_ptr: u64) -> Result<u64, Failed> {
        match out {
            Out::Allocated => Ok(u64::from(self.allocate(data)?)),
            Out::InPlace => {
                self.write(u64::from(low(out_ptr)), data)?;
                Ok(0)
            }
        }
    }

    /// `data` copied into a new allocation; its address.
    fn allocate(&mut self, data: &[u8]) -> Result<u32, Failed> {
        let len = u32::try_from(data.len()).map_err(|_| Failed)?;
        let ptr = self
            .session
            .heap
            .malloc(self.host, len)
            .map_err(|_| Failed)?;
        if !self.host.poke(self.vm, data, u64::from(ptr)) {
            return Err(Failed);
        }
        Ok(ptr)
    }

    /// `data` copied into a new allocation; its pointer-size.
    fn allocate_fat(&mut self, data: &[u8]) -> Result<u64, Failed> {
        let ptr = self.allocate(data)?;
        let len = u64::try_from(data.len()).map_err(|_| Failed)?;
        Ok(u64::from(ptr) | len << 32)
    }

    /// Writes `data` at the address in the low half of `ptr`.
    fn write(&mut self, ptr: u64, data: &[u8]) -> Result<(), Failed> {
        if data.is_empty() || self.host.poke(self.vm, data, u64::from(low(ptr))) {
            Ok(())
        } else {
            Err(Failed)
        }
    }

    /// The slice a pointer-size `ptr | len << 32` names (at most [`MAX_INPUT`]).
    fn read(&mut self, pointer_size: u64) -> Result<Vec<u8>, Failed> {
        let (ptr, len) = parajam_corechains_types::unpack_ptr_and_len(pointer_size);
        if len > MAX_INPUT {
            return Err(Failed);
        }
        let mut data = vec![0; len as usize];
        self.host
            .peek(self.vm, &mut data, u64::from(ptr))
            .then_some(data)
            .ok_or(Failed)
    }

    /// The `N` octets at the pointer in the low half of `ptr`.
    fn array<const N: usize>(&mut self, ptr: u64) -> Result<[u8; N], Failed> {
        let mut out = [0; N];
        self.host
            .peek(self.vm, &mut out, u64::from(low(ptr)))
            .then_some(out)
            .ok_or(Failed)
    }

    /// JIP-1 `log`, target and message truncated to [`MAX_LOG`].
    fn log(&mut self, level: LogLevel, target: &[u8], message: &[u8]) {
        self.host.log(
            level,
            &target[..target.len().min(MAX_LOG)],
            &message[..message.len().min(MAX_LOG)],
        );
    }
}

/// The low 32 bits of a register holding a `u32`.
#[allow(clippy::cast_possible_truncation)]
fn low(reg: u64) -> u32 {
    reg as u32
}

/// The low 8 bits of a register holding a `u8` (passed as `u32`).
#[allow(clippy::cast_possible_truncation)]
fn low8(reg: u64) -> u8 {
    reg as u8
}

fn hex(data: &[u8]) -> Vec<u8> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    data.iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]])
        .collect()
}

fn write_decimal(out: &mut Vec<u8>, mut value: u64) {
    let start = out.len();
    loop {
        #[allow(clippy::cast_possible_truncation)] // a digit
        out.push(b'0' + (value % 10) as u8);
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out[start..].reverse();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::HostCalls;

    fn unhex(hex: &str) -> Vec<u8> {
        (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("test value"))
            .collect()
    }

    fn hexed(data: &[u8]) -> alloc::string::String {
        alloc::string::String::from_utf8(hex(data)).expect("test value")
    }

    #[test]
    fn every_symbol_is_once_in_the_table_with_its_version() {
        let mut symbols: Vec<&str> = TABLE.iter().map(|e| e.symbol).collect();
        symbols.sort_unstable();
        let count = symbols.len();
        symbols.dedup();
        assert_eq!(symbols.len(), count, "no symbol twice");
        for entry in TABLE {
            assert!(entry.symbol.starts_with("ext_"), "{}", entry.symbol);
            let version = entry
                .symbol
                .rsplit_once("_version_")
                .and_then(|(_, v)| v.parse::<u32>().ok());
            assert!(version.is_some(), "{}", entry.symbol);
            assert_eq!(lookup(entry.symbol.as_bytes()), Some(entry));
        }
        assert_eq!(
            HostFunction::from_symbol(b"ext_storage_get_version_9"),
            None
        );
        assert_eq!(
            HostFunction::from_symbol(b"ext_allocator_malloc_version_2"),
            None
        );
    }

    #[test]
    fn penpal_imports_all_resolve_and_the_served_ones_are_served() {
        // The 44 classic host functions a cumulus runtime (penpal 0.48) imports.
        let served = [
            "allocator_malloc_version_1",
            "allocator_free_version_1",
            "hashing_blake2_128_version_1",
            "hashing_blake2_256_version_1",
            "hashing_keccak_256_version_1",
            "hashing_sha2_256_version_1",
            "hashing_twox_64_version_1",
            "hashing_twox_128_version_1",
            "crypto_ed25519_verify_version_1",
            "crypto_sr25519_verify_version_2",
            "crypto_secp256k1_ecdsa_recover_version_2",
            "crypto_secp256k1_ecdsa_recover_compressed_version_2",
            "trie_blake2_256_ordered_root_version_2",
            "logging_log_version_1",
            "logging_max_level_version_1",
            "misc_print_hex_version_1",
            "misc_print_num_version_1",
            "misc_print_utf8_version_1",
            "misc_runtime_version_version_1",
        ];
        let unavailable = [
            "crypto_sr25519_generate_version_1",
            "crypto_sr25519_sign_version_1",
            "crypto_ed25519_generate_version_1",
            "storage_get_version_1",
            "storage_read_version_1",
            "storage_set_version_1",
            "storage_clear_version_1",
            "storage_exists_version_1",
            "storage_next_key_version_1",
            "storage_append_version_1",
            "storage_root_version_2",
            "storage_clear_prefix_version_2",
            "storage_start_transaction_version_1",
            "storage_rollback_transaction_version_1",
            "storage_commit_transaction_version_1",
            "default_child_storage_get_version_1",
            "default_child_storage_read_version_1",
            "default_child_storage_set_version_1",
            "default_child_storage_clear_version_1",
            "default_child_storage_exists_version_1",
            "default_child_storage_next_key_version_1",
            "default_child_storage_root_version_2",
            "default_child_storage_clear_prefix_version_2",
            "default_child_storage_storage_kill_version_3",
            "offchain_index_set_version_1",
            "offchain_index_clear_version_1",
            "storage_proof_size_storage_proof_size_version_1",
        ];
        for name in served {
            let entry = lookup(alloc::format!("ext_{name}").as_bytes()).expect(name);
            assert_eq!(entry.status(), Status::Served, "{name}");
        }
        for name in unavailable {
            let symbol = alloc::format!("ext_{name}");
            let entry = lookup(symbol.as_bytes()).expect(name);
            assert!(matches!(entry.status(), Status::Unavailable(_)), "{name}");
            let mut h = HostCalls::new();
            assert_eq!(
                h.call(&symbol, &[0, 0, 0]),
                Err(InvalidReason::UnavailableHostFunction(
                    symbol.as_bytes().to_vec()
                ))
            );
            assert!(h.host.logs[0]
                .2
                .ends_with(b"not available during validation"));
        }
        let mut h = HostCalls::new();
        assert_eq!(
            h.call("ext_trie_blake2_256_verify_proof_version_1", &[0; 4]),
            Err(InvalidReason::UnsupportedHostFunction(
                b"ext_trie_blake2_256_verify_proof_version_1".to_vec()
            ))
        );
    }

    #[test]
    fn hashes_match_known_answers() {
        // Known answers for the empty input, as Substrate's own tests have them.
        assert_eq!(
            hexed(&Hasher::Blake2_256.hash(b"")),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"
        );
        assert_eq!(hexed(&Hasher::Twox64.hash(b"")), "99e9d85137db46ef");
        assert_eq!(
            hexed(&Hasher::Twox128.hash(b"")),
            "99e9d85137db46ef4bbea33613baafd5"
        );
        assert_eq!(
            hexed(&Hasher::Keccak256.hash(b"")),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
        assert_eq!(
            hexed(&Hasher::Sha2_256.hash(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(Hasher::Blake2_128.hash(b"abc").len(), 16);
        assert_eq!(Hasher::Keccak512.hash(b"abc").len(), 64);
        assert_eq!(Hasher::Twox256.hash(b"abc").len(), 32);
    }

    #[test]
    fn hashing_versions_allocate_or_write_in_place() {
        let mut h = HostCalls::new();
        let data = h.fat(b"parajam");
        let ptr = h
            .call("ext_hashing_blake2_256_version_1", &[data])
            .expect("v1");
        assert_eq!(h.read(ptr, 32), crate::blake2_256(b"parajam"));
        assert_eq!(h.live(), 1, "the hash is the PVF's to free");
        let out = u64::from(h.put(&[0; 32]));
        assert_eq!(
            h.call("ext_hashing_blake2_256_version_2", &[data, out]),
            Ok(0)
        );
        assert_eq!(h.read(out, 32), crate::blake2_256(b"parajam"));
        assert_eq!(h.live(), 1, "nothing allocated in place");
        assert!(h
            .call("ext_hashing_twox_64_version_2", &[data, 0xF000_0000])
            .is_err());
    }

    /// RFC 8032's first test vector (the empty message).
    const ED_PUB: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const ED_SIG: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

    fn verify(h: &mut HostCalls, symbol: &str, sig: &[u8], msg: &[u8], public: &[u8]) -> u64 {
        let args = [u64::from(h.put(sig)), h.fat(msg), u64::from(h.put(public))];
        h.call(symbol, &args).expect(symbol)
    }

    #[test]
    fn ed25519_known_answers() {
        let mut h = HostCalls::new();
        let (public, sig) = (unhex(ED_PUB), unhex(ED_SIG));
        let symbol = "ext_crypto_ed25519_verify_version_1";
        assert_eq!(verify(&mut h, symbol, &sig, b"", &public), 1);
        assert_eq!(verify(&mut h, symbol, &sig, b"x", &public), 0);
        // ZIP-215: the all-zero key and signature verify (ed25519-zebra).
        assert_eq!(verify(&mut h, symbol, &[0; 64], b"", &[0; 32]), 1);
        // A key that is no curve point.
        let mut bad = unhex(ED_PUB);
        bad[31] = 0x7f;
        bad[0] = 2;
        assert_eq!(verify(&mut h, symbol, &sig, b"", &bad), 0);
        // The signature out of memory: the call fails.
        let msg = h.fat(b"");
        let public_at = u64::from(h.put(&public));
        assert!(h.call(symbol, &[0xF000_0000, msg, public_at]).is_err());
    }

    #[test]
    fn sr25519_pre_audit_signatures_verify_only_in_version_1() {
        // sp-core's known schnorrkel 0.1.1 signature.
        let public = unhex("b4bfa1f7a5166695eb75299fd1c4c03ea212871c342f2c5dfea0902b2c246918");
        let sig = unhex("5a9755f069939f45d96aaf125cf5ce7ba1db998686f87f2fb3cbdea922078741a73891ba265f70c31436e18a9acd14d189d73c12317ab6c313285cd938453202");
        let msg = b"Verifying that I am the owner of 5G9hQLdsKQswNPgB499DeA5PkFBbgkLPJWkkS6FAM6xGQ8xD. Hash: 221455a3\n";
        let mut h = HostCalls::new();
        assert_eq!(
            verify(
                &mut h,
                "ext_crypto_sr25519_verify_version_1",
                &sig,
                msg,
                &public
            ),
            1
        );
        assert_eq!(
            verify(
                &mut h,
                "ext_crypto_sr25519_verify_version_2",
                &sig,
                msg,
                &public
            ),
            0
        );
        assert_eq!(
            verify(
                &mut h,
                "ext_crypto_sr25519_verify_version_1",
                &sig,
                b"other",
                &public
            ),
            0
        );
    }

    #[test]
    fn sr25519_and_ecdsa_known_answers() {
        // sp-core 43: `sr25519::Pair::from_seed(&[7; 32])` and
        // `ecdsa::Pair::from_seed(&[9; 32])` signing `parajam`.
        let sr_pub = unhex("7c0f469d3bd340bae718203fa30ca071a5e37c751e891dbded837b213d45d91d");
        let sr_sig = unhex("8a0a0335d44550bdc2bbb0847d281453bb4d40c25af75087f230883741c75a7f29aa7e60fb13962853ba4f7cf42f6a2236fcfbe93f2d1e786d7d61f771be548b");
        let ec_pub = unhex("0256b328b30c8bf5839e24058747879408bdb36241dc9c2e7c619faa12b2920967");
        let ec_sig = unhex("71848212d6b4d4bf416cd14314c827bbd814ca7946eb9f829c2b49120dae1ff167b15d81b916722db16ffd0359356dc64005e52ffde78537e46dd5020dbac91b01");
        let mut h = HostCalls::new();
        for (symbol, want) in [
            ("ext_crypto_sr25519_verify_version_1", 1),
            ("ext_crypto_sr25519_verify_version_2", 1),
        ] {
            assert_eq!(verify(&mut h, symbol, &sr_sig, b"parajam", &sr_pub), want);
            assert_eq!(verify(&mut h, symbol, &sr_sig, b"parajan", &sr_pub), 0);
        }
        for symbol in [
            "ext_crypto_ecdsa_verify_version_1",
            "ext_crypto_ecdsa_verify_version_2",
        ] {
            assert_eq!(verify(&mut h, symbol, &ec_sig, b"parajam", &ec_pub), 1);
            assert_eq!(verify(&mut h, symbol, &ec_sig, b"parajan", &ec_pub), 0);
        }
        let (sig, hash) = (
            u64::from(h.put(&ec_sig)),
            u64::from(h.put(&crate::blake2_256(b"parajam"))),
        );
        let fat = h
            .call(
                "ext_crypto_secp256k1_ecdsa_recover_compressed_version_2",
                &[sig, hash],
            )
            .expect("v2");
        let mut want = vec![0];
        want.extend_from_slice(&ec_pub);
        assert_eq!(h.read_fat(fat), want, "Ok(key)");
        let fat = h
            .call("ext_crypto_secp256k1_ecdsa_recover_version_1", &[sig, hash])
            .expect("v1");
        let uncompressed = h.read_fat(fat);
        assert_eq!((uncompressed.len(), uncompressed[0]), (65, 0));
        assert_eq!(uncompressed[1..33], ec_pub[1..]);
        // High s with the other parity is the same key; v2 refuses r ≥ n.
        let n = unhex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
        let mut high = ec_sig.clone();
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let d = i16::from(n[i]) - i16::from(ec_sig[32 + i]) - borrow;
            high[32 + i] = d.to_le_bytes()[0];
            borrow = i16::from(d < 0);
        }
        high[64] ^= 1;
        let high = u64::from(h.put(&high));
        let fat = h
            .call(
                "ext_crypto_secp256k1_ecdsa_recover_compressed_version_2",
                &[high, hash],
            )
            .expect("v2");
        assert_eq!(h.read_fat(fat), want, "high s recovers the same key");
        let mut over = ec_sig.clone();
        over[..32].fill(0xff);
        let over = u64::from(h.put(&over));
        for (symbol, want) in [
            ("ext_crypto_secp256k1_ecdsa_recover_version_2", vec![1, 0]),
            ("ext_crypto_secp256k1_ecdsa_recover_version_1", vec![1, 2]),
        ] {
            let fat = h.call(symbol, &[over, hash]).expect(symbol);
            assert_eq!(h.read_fat(fat), want, "{symbol}: BadRS or BadSignature");
        }
    }

    #[test]
    fn trie_known_answers() {
        // sp-io 49's roots of 100 values, `(i as u32 LE) × (i % 12)`.
        let values: Vec<Vec<u8>> = (0..100u32)
            .map(|i| i.to_le_bytes().repeat((i % 12) as usize))
            .collect();
        let mut h = HostCalls::new();
        let input = h.fat(&values.encode());
        for (symbol, version, want) in [
            (
                "ext_trie_blake2_256_ordered_root_version_2",
                0,
                "bf72eb0fac1274b660390d3cb2ea76909b46b427ea40187d693eb78c60015013",
            ),
            (
                "ext_trie_blake2_256_ordered_root_version_2",
                1,
                "9ec92ce01a8a37f989b653b47b67d58e4ec6f9282ee58a88376f7b66c92735cc",
            ),
            (
                "ext_trie_keccak_256_ordered_root_version_2",
                1,
                "33736ec092fad268dcc415a2067e750885e3a406625fd1270af493f4aa9284c5",
            ),
        ] {
            let ptr = h.call(symbol, &[input, version]).expect(symbol);
            assert_eq!(hexed(&h.read(ptr, 32)), want, "{symbol} {version}");
        }
    }

    /// sr25519: `Pair::from_seed(&[7; 32])` signing `parajam` (sp-core 43).
    const SR_PUB: &str = "7c0f469d3bd340bae718203fa30ca071a5e37c751e891dbded837b213d45d91d";
    const SR_SIG: &str = "8a0a0335d44550bdc2bbb0847d281453bb4d40c25af75087f230883741c75a7f29aa7e60fb13962853ba4f7cf42f6a2236fcfbe93f2d1e786d7d61f771be548b";

    #[test]
    fn batches_and_their_misuse() {
        let mut h = HostCalls::new();
        let (public, sig) = (unhex(SR_PUB), unhex(SR_SIG));
        let batch = "ext_crypto_sr25519_batch_verify_version_1";
        assert!(h
            .call("ext_crypto_finish_batch_verify_version_1", &[])
            .is_err());
        // Outside a batch: a plain check.
        assert_eq!(verify(&mut h, batch, &sig, b"parajam", &public), 1);
        assert_eq!(
            h.call("ext_crypto_start_batch_verify_version_1", &[]),
            Ok(0)
        );
        assert!(h
            .call("ext_crypto_start_batch_verify_version_1", &[])
            .is_err());
        let mut h = HostCalls::new();
        h.call("ext_crypto_start_batch_verify_version_1", &[])
            .expect("start");
        assert_eq!(verify(&mut h, batch, &sig, b"parajam", &public), 1);
        assert_eq!(
            h.call("ext_crypto_finish_batch_verify_version_1", &[]),
            Ok(1)
        );
        h.call("ext_crypto_start_batch_verify_version_1", &[])
            .expect("start");
        assert_eq!(verify(&mut h, batch, &sig, b"x", &public), 0);
        assert_eq!(verify(&mut h, batch, &sig, b"parajam", &public), 1);
        assert_eq!(
            h.call("ext_crypto_finish_batch_verify_version_1", &[]),
            Ok(0),
            "one failure fails the batch"
        );
        // sp-io 49's ed25519 variant fails every call, in a batch or not.
        let (public, sig) = (unhex(ED_PUB), unhex(ED_SIG));
        let args = [
            u64::from(h.put(&sig)),
            h.fat(b""),
            u64::from(h.put(&public)),
        ];
        let ed25519 = "ext_crypto_ed25519_batch_verify_version_1";
        assert!(h.call(ed25519, &args).is_err());
        h.call("ext_crypto_start_batch_verify_version_1", &[])
            .expect("start");
        assert!(h.call(ed25519, &args).is_err());
    }

    #[test]
    fn trie_roots_of_the_empty_trie_and_bad_arguments() {
        let mut h = HostCalls::new();
        let empty = h.fat(&Vec::<Vec<u8>>::new().encode());
        for symbol in [
            "ext_trie_blake2_256_ordered_root_version_1",
            "ext_trie_blake2_256_root_version_1",
        ] {
            let ptr = h.call(symbol, &[empty]).expect(symbol);
            // Blake2b-256 of `[0]`, Substrate's empty trie root.
            assert_eq!(
                hexed(&h.read(ptr, 32)),
                "03170a2e7597b7b7e3d84c05391d139a62b157e78786d8c082f29dcf4c111314"
            );
        }
        assert!(
            h.call("ext_trie_blake2_256_ordered_root_version_2", &[empty, 3])
                .is_err(),
            "no state version 3"
        );
        let garbage = h.fat(&[0xff]);
        assert!(h
            .call("ext_trie_blake2_256_ordered_root_version_1", &[garbage])
            .is_err());
        // Trailing octets after the list are ignored, as sp-io's decode does.
        let mut trailing = Vec::<Vec<u8>>::new().encode();
        trailing.push(7);
        let trailing = h.fat(&trailing);
        assert!(h
            .call("ext_trie_blake2_256_ordered_root_version_1", &[trailing])
            .is_ok());
    }

    #[test]
    fn unordered_roots_refuse_keys_sharing_more_than_the_depth_bound() {
        let deep = |shared: usize| -> Vec<(Vec<u8>, Vec<u8>)> {
            vec![(vec![7; shared], vec![1]), (vec![7; shared + 1], vec![2])]
        };
        let mut h = HostCalls::new();
        let ok = h.fat(&deep(trie::MAX_DEPTH / 2).encode());
        assert!(h.call("ext_trie_blake2_256_root_version_1", &[ok]).is_ok());
        let too_deep = h.fat(&deep(trie::MAX_DEPTH / 2 + 1).encode());
        assert_eq!(
            h.call("ext_trie_blake2_256_root_version_1", &[too_deep]),
            Err(InvalidReason::HostFunctionFailed(
                b"ext_trie_blake2_256_root_version_1".to_vec()
            ))
        );
    }

    #[test]
    fn logging_follows_sp_io() {
        let mut h = HostCalls::new();
        let (target, message) = (h.fat(b"t"), h.fat(b"hello"));
        h.call("ext_logging_log_version_1", &[4, target, message])
            .expect("trace");
        assert_eq!(
            h.host.logs[0],
            (LogLevel::Trace, b"t".to_vec(), b"hello".to_vec())
        );
        assert!(h
            .call("ext_logging_log_version_1", &[5, target, message])
            .is_err());
        let bad = h.fat(&[0xff]);
        assert!(
            h.call("ext_logging_log_version_1", &[0, bad, message])
                .is_err(),
            "the target must be UTF-8"
        );
        h.call("ext_logging_log_version_1", &[0, target, bad])
            .expect("a message that is not UTF-8 is dropped");
        assert_eq!(h.host.logs.len(), 1);
        let long = h.fat(&[b'a'; 10_000]);
        h.call("ext_misc_print_utf8_version_1", &[long])
            .expect("long messages are truncated");
        assert_eq!(h.host.logs[1].2.len(), MAX_LOG);
        assert_eq!(h.call("ext_logging_max_level_version_1", &[]), Ok(2));
        let panic = h.fat(b"boom");
        assert_eq!(
            h.call("ext_panic_handler_abort_on_panic_version_1", &[panic]),
            Err(InvalidReason::Trapped)
        );
        assert_eq!(h.host.logs[2].2, b"boom");
    }

    #[test]
    fn runtime_version_of_code_without_one() {
        let mut h = HostCalls::new();
        for code in [&b"PVM\0rest"[..], b"\0asm\x01\0\0\0", b"junk", b"PJVF\x01"] {
            let code = h.fat(code);
            let fat = h
                .call("ext_misc_runtime_version_version_1", &[code])
                .expect("v1");
            assert_eq!(h.read_fat(fat), [0], "None");
            let out = h.fat(&[0xaa; 4]);
            assert_eq!(
                h.call("ext_misc_runtime_version_version_2", &[code, out]),
                Ok(u64::MAX),
                "-1"
            );
            assert_eq!(h.read_fat(out), [0; 4], "the output is written back zeroed");
        }
    }

    #[test]
    fn decimals() {
        let mut out = Vec::new();
        write_decimal(&mut out, 0);
        out.push(b' ');
        write_decimal(&mut out, 18_446_744_073_709_551_615);
        assert_eq!(out, b"0 18446744073709551615");
    }
}
