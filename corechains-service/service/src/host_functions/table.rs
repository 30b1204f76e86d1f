//! The table itself: every symbol the service knows, the function it names
//! and its wasm signature ([`TABLE`]), and the types that describe them.

use super::crypto::Overflow;
use super::hashing::Hasher;
use super::trie::TrieHash;

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
    pub(crate) fn reason(self) -> &'static [u8] {
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
