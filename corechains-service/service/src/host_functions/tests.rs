//! The table's functions against known answers and sp-io's semantics.

use alloc::vec;
use alloc::vec::Vec;

use parity_scale_codec::Encode;

use super::misc::{hex, write_decimal};
use super::trie;
use super::*;
use crate::host::LogLevel;
use crate::testing::HostCalls;
use parajam_corechains_types::InvalidReason;

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

/// The symbol patterns the rows of the module doc's table under `heading`
/// name: each backticked pattern before any parenthesis in a row's first
/// cell, braces expanded (`{a,b}`), `ext_` and `_version_*` added where the
/// table leaves them out (the "unavailable" table).
fn documented(heading: &str) -> Vec<alloc::string::String> {
    use alloc::string::{String, ToString};
    fn expand(pattern: &str) -> Vec<String> {
        let Some(open) = pattern.find('{') else {
            return vec![pattern.to_string()];
        };
        let close = open + pattern[open..].find('}').expect("a closing brace");
        pattern[open + 1..close]
            .split(',')
            .flat_map(|choice| {
                expand(&alloc::format!(
                    "{}{choice}{}",
                    &pattern[..open],
                    &pattern[close + 1..]
                ))
            })
            .collect()
    }
    let doc = include_str!("mod.rs");
    let section = doc
        .split("//! # ")
        .find(|s| s.starts_with(heading))
        .expect("the section");
    let mut patterns = Vec::new();
    for row in section.lines().filter_map(|l| l.strip_prefix("//! | `")) {
        let cell = row.split(" | ").next().expect("a first cell");
        let cell = cell.split(" (").next().expect("text");
        // The row starts inside its first backticks.
        for pattern in cell.split('`').step_by(2) {
            if pattern.is_empty() || pattern.starts_with(',') || pattern.contains(' ') {
                continue;
            }
            let mut pattern = pattern.to_string();
            if !pattern.starts_with("ext_") {
                pattern = alloc::format!("ext_{pattern}");
            }
            if !pattern.contains("_version_") {
                pattern.push_str("_version_*");
            }
            patterns.extend(expand(&pattern));
        }
    }
    patterns
}

/// `pattern` with `*` standing for any text.
fn glob(pattern: &str, symbol: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().expect("a part");
    let Some(mut rest) = symbol.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

#[test]
fn the_module_doc_tables_list_exactly_the_table() {
    let sections = [
        ("Served", Status::Served),
        (
            "Unavailable during validation",
            Status::Unavailable(Unavailable::Storage),
        ),
        ("Not served", Status::NotServed),
    ];
    let kind = |status: Status| match status {
        Status::Served => 0,
        Status::Unavailable(_) => 1,
        Status::NotServed => 2,
    };
    let patterns: Vec<Vec<alloc::string::String>> =
        sections.iter().map(|(h, _)| documented(h)).collect();
    for (i, list) in patterns.iter().enumerate() {
        assert!(!list.is_empty(), "section {} has rows", sections[i].0);
        for pattern in list {
            assert!(
                TABLE
                    .iter()
                    .any(|e| kind(e.status()) == i && glob(pattern, e.symbol)),
                "`{pattern}`, documented under \"{}\", names no such entry of TABLE",
                sections[i].0
            );
        }
    }
    for entry in TABLE {
        let i = kind(entry.status());
        assert!(
            patterns[i].iter().any(|p| glob(p, entry.symbol)),
            "{} ({:?}) is not documented under \"{}\"",
            entry.symbol,
            entry.status(),
            sections[i].0
        );
    }
}
