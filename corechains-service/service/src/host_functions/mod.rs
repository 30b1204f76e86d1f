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
//!   fails with [`InvalidReason::UnavailableHostFunction`](parajam_corechains_types::InvalidReason::UnavailableHostFunction) naming it (and
//!   a log line saying why). These are the functions the relay chain's
//!   executor does not register at all or whose implementation needs
//!   something validation does not have (storage, a keystore, an offchain
//!   worker): there, too, a call traps. cumulus' `validate_block` replaces
//!   the storage, default child storage, offchain index and
//!   `storage_proof_size` functions inside the runtime with its own,
//!   backed by the PoV's proof, so a parachain runtime imports them but
//!   never calls them during validation;
//! - **not served**: known, served by the relay chain, not (yet) by the
//!   service; a call fails with [`InvalidReason::UnsupportedHostFunction`](parajam_corechains_types::InvalidReason::UnsupportedHostFunction).
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
//! | `ext_panic_handler_abort_on_panic_version_1` | `(message: fat)` | logs the message; the PVF trapped ([`InvalidReason::Trapped`](parajam_corechains_types::InvalidReason::Trapped)) |
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

mod call;
pub mod crypto;
mod hashing;
mod logging;
mod misc;
pub mod runtime_version;
mod table;
pub mod trie;

pub use call::{Call, Session};
pub use crypto::{EcdsaVerifyError, Overflow};
pub use hashing::Hasher;
pub use table::{
    lookup, Entry, HostFunction, Out, RootLayout, Signature, Status, Unavailable, ValueType, TABLE,
};

/// This table's version.
pub const TABLE_VERSION: u32 = 2;

/// The largest slice a host function reads from the PVF.
pub const MAX_INPUT: u32 = 16 << 20;

/// The largest log target or message forwarded to `log` (longer ones are
/// truncated).
pub const MAX_LOG: usize = 4096;

#[cfg(test)]
mod tests;
