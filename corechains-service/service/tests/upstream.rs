#![cfg(feature = "upstream-check")]
//! The host-function table against Substrate itself: every served crypto
//! and trie function, called through the table exactly as a PVF calls it
//! (`testing::HostCalls`, arguments in the inner machine's memory), gives
//! the octets sp-io's own host implementation gives (natively: sp-io 49,
//! sp-core 43, sp-trie 47; libsecp256k1 0.7 for the version-1 recovery
//! sp-io keeps), on good, tampered, edge and random inputs.
//!
//! `cargo test -p parajam-corechains-service --features upstream-check --test upstream`
//! (`-- --nocapture` prints the known answers the default unit tests keep).

use parajam_corechains_service::testing::HostCalls;
use parity_scale_codec::Encode;
use sp_core::{ecdsa, ed25519, sr25519, Pair as _};
use sp_io::EcdsaVerifyError;
use sp_trie::{LayoutV0, LayoutV1, TrieConfiguration};

/// A deterministic byte stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next().to_le_bytes()[0]).collect()
    }
    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0; N];
        a.copy_from_slice(&self.bytes(N));
        a
    }
}

fn hex(data: &[u8]) -> String {
    use std::fmt::Write as _;
    data.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// `symbol(sig ptr, msg fat, pub ptr) -> bool` through the table.
fn verify(symbol: &str, sig: &[u8], msg: &[u8], public: &[u8]) -> bool {
    let mut h = HostCalls::new();
    let (s, m, p) = (h.put(sig), h.fat(msg), h.put(public));
    match h.call(symbol, &[u64::from(s), m, u64::from(p)]) {
        Ok(0) => false,
        Ok(1) => true,
        other => panic!("{symbol}: {other:?}"),
    }
}

#[test]
fn ed25519_verify_matches_sp_io() {
    let mut rng = Rng(1);
    let mut cases = Vec::new();
    for i in 0..40u8 {
        let pair = ed25519::Pair::from_seed(&rng.array());
        let msg = rng.bytes(usize::from(i) * 7);
        let sig = pair.sign(&msg).0;
        let public = pair.public().0;
        cases.push((sig, msg.clone(), public));
        let mut bad = sig;
        bad[usize::from(i) % 64] ^= 1 << (i % 8);
        cases.push((bad, msg.clone(), public));
        cases.push((sig, [&msg[..], b"x"].concat(), public));
        cases.push((rng.array(), msg, rng.array()));
    }
    // ZIP-215 edges: the all-zero key and signature, a small-order key.
    cases.push(([0; 64], Vec::new(), [0; 32]));
    let mut one = [0; 32];
    one[0] = 1;
    cases.push(([0; 64], b"m".to_vec(), one));
    let mut trues = 0;
    for (sig, msg, public) in &cases {
        let up = sp_io::crypto::ed25519_verify(
            &ed25519::Signature::from_raw(*sig),
            msg,
            &ed25519::Public::from_raw(*public),
        );
        let ours = verify("ext_crypto_ed25519_verify_version_1", sig, msg, public);
        assert_eq!(ours, up, "sig {} pub {}", hex(sig), hex(public));
        trues += usize::from(up);
    }
    assert!(trues > 40, "good signatures verify");
}

#[test]
fn sr25519_verify_matches_sp_core_both_versions() {
    let mut rng = Rng(2);
    let mut cases = Vec::new();
    for i in 0..30u8 {
        let pair = sr25519::Pair::from_seed(&rng.array());
        let msg = rng.bytes(usize::from(i) * 5);
        let sig = pair.sign(&msg).0;
        let public = pair.public().0;
        cases.push((sig, msg.clone(), public));
        let mut bad = sig;
        bad[usize::from(i) % 64] ^= 1 << (i % 8);
        cases.push((bad, msg.clone(), public));
        // Without schnorrkel's marker bit: only the pre-audit rules read it.
        let mut unmarked = sig;
        unmarked[63] &= 0x7f;
        cases.push((unmarked, msg.clone(), public));
        cases.push((rng.array(), msg, rng.array()));
    }
    // sp-core's known pre-audit (schnorrkel 0.1.1) signature.
    let old_public: [u8; 32] =
        array("b4bfa1f7a5166695eb75299fd1c4c03ea212871c342f2c5dfea0902b2c246918");
    let old_sig: [u8; 64] = array("5a9755f069939f45d96aaf125cf5ce7ba1db998686f87f2fb3cbdea922078741a73891ba265f70c31436e18a9acd14d189d73c12317ab6c313285cd938453202");
    let old_msg = b"Verifying that I am the owner of 5G9hQLdsKQswNPgB499DeA5PkFBbgkLPJWkkS6FAM6xGQ8xD. Hash: 221455a3\n";
    cases.push((old_sig, old_msg.to_vec(), old_public));
    for (sig, msg, public) in &cases {
        let (s, p) = (
            sr25519::Signature::from_raw(*sig),
            sr25519::Public::from_raw(*public),
        );
        let v2 = sp_io::crypto::sr25519_verify(&s, msg, &p);
        let v1 = sr25519::Pair::verify_deprecated(&s, msg, &p);
        assert_eq!(
            verify("ext_crypto_sr25519_verify_version_2", sig, msg, public),
            v2
        );
        assert_eq!(
            verify("ext_crypto_sr25519_verify_version_1", sig, msg, public),
            v1
        );
    }
    let last = cases.last().expect("the old vector");
    assert!(verify(
        "ext_crypto_sr25519_verify_version_1",
        &last.0,
        &last.1,
        &last.2
    ));
    assert!(!verify(
        "ext_crypto_sr25519_verify_version_2",
        &last.0,
        &last.1,
        &last.2
    ));
    // A fresh known answer for the unit tests.
    let pair = sr25519::Pair::from_seed(&[7; 32]);
    let sig = pair.sign(b"parajam");
    println!(
        "sr25519 KAT: pub {} sig {}",
        hex(&pair.public().0),
        hex(&sig.0)
    );
}

fn array<const N: usize>(hex: &str) -> [u8; N] {
    let mut out = [0; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
}

/// The secp256k1 group order, big-endian.
const N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
];

/// `a ± b` on 32 big-endian octets (wrapping).
fn add(a: &[u8], b: &[u8; 32], negate_b: bool) -> [u8; 32] {
    let mut out = [0; 32];
    let mut carry = i16::from(negate_b);
    for i in (0..32).rev() {
        let bi = if negate_b { !b[i] } else { b[i] };
        let sum = i16::from(a[i]) + i16::from(bi) + carry;
        out[i] = sum.to_le_bytes()[0];
        carry = sum >> 8;
    }
    out
}

/// sp-io's `secp256k1_ecdsa_recover` version 1, on libsecp256k1 as sp-io
/// calls it (its native `secp256k1_ecdsa_recover` is the latest version).
fn recover_v1(sig: &[u8; 65], msg: &[u8; 32]) -> Result<libsecp256k1::PublicKey, EcdsaVerifyError> {
    let v = if sig[64] > 26 { sig[64] - 27 } else { sig[64] };
    let rid = libsecp256k1::RecoveryId::parse(v).map_err(|_| EcdsaVerifyError::BadV)?;
    let s = libsecp256k1::Signature::parse_overflowing_slice(&sig[..64])
        .map_err(|_| EcdsaVerifyError::BadRS)?;
    libsecp256k1::recover(&libsecp256k1::Message::parse(msg), &s, &rid)
        .map_err(|_| EcdsaVerifyError::BadSignature)
}

/// Signatures to recover from: good ones and their variants.
fn ecdsa_cases() -> Vec<([u8; 65], [u8; 32], [u8; 33])> {
    let mut rng = Rng(3);
    let mut cases = Vec::new();
    for i in 0..25u8 {
        let pair = ecdsa::Pair::from_seed(&rng.array());
        let hash: [u8; 32] = rng.array();
        let sig = pair.sign_prehashed(&hash).0;
        let public = pair.public().0;
        cases.push((sig, hash, public));
        // v + 27, and invalid v.
        let mut v27 = sig;
        v27[64] += 27;
        cases.push((v27, hash, public));
        let mut bad_v = sig;
        bad_v[64] = [4, 26, 31, 200, 255][usize::from(i) % 5];
        cases.push((bad_v, hash, public));
        // High s (n - s) with the other parity: the same key.
        let mut high = sig;
        let s: [u8; 32] = sig[32..64].try_into().expect("32");
        high[32..64].copy_from_slice(&add(&N, &s, true));
        high[64] ^= 1;
        cases.push((high, hash, public));
        // r + n and s + n where they fit in 256 bits: overflowing.
        let mut over = sig;
        let r: [u8; 32] = sig[..32].try_into().expect("32");
        over[..32].copy_from_slice(&add(&r, &N, false));
        cases.push((over, hash, public));
        let mut over_s = sig;
        over_s[32..64].copy_from_slice(&add(&s, &N, false));
        cases.push((over_s, hash, public));
        // Recovery ids 2, 3 and a tampered message.
        let mut high_id = sig;
        high_id[64] |= 2;
        cases.push((high_id, hash, public));
        let mut other = hash;
        other[0] ^= 1;
        cases.push((sig, other, public));
        cases.push((
            {
                let mut random = [0; 65];
                random[..64].copy_from_slice(&rng.bytes(64));
                random[64] = i % 4;
                random
            },
            hash,
            public,
        ));
    }
    // Zero r or s; r = n; an x beyond p - n with id 2.
    let mut zero = [0u8; 65];
    zero[31] = 0;
    zero[63] = 1;
    cases.push((zero, [1; 32], [2; 33]));
    let mut r_is_n = [0u8; 65];
    r_is_n[..32].copy_from_slice(&N);
    r_is_n[63] = 5;
    cases.push((r_is_n, [1; 32], [2; 33]));
    let mut big_x = [0xffu8; 65];
    big_x[64] = 2;
    cases.push((big_x, [1; 32], [2; 33]));
    cases
}

#[test]
fn secp256k1_recover_matches_sp_io_every_version() {
    for (sig, hash, _) in ecdsa_cases() {
        let mut h = HostCalls::new();
        let (s, m) = (u64::from(h.put(&sig)), u64::from(h.put(&hash)));
        // Version 2 is sp-io's native function; version 1 libsecp256k1.
        let up2 = sp_io::crypto::secp256k1_ecdsa_recover(&sig, &hash);
        let up2c = sp_io::crypto::secp256k1_ecdsa_recover_compressed(&sig, &hash);
        let up1 = recover_v1(&sig, &hash).map(|k| {
            let mut out = [0; 64];
            out.copy_from_slice(&k.serialize()[1..]);
            out
        });
        let up1c = recover_v1(&sig, &hash).map(|k| k.serialize_compressed());
        let fat = |h: &mut HostCalls, symbol: &str| {
            let packed = h.call(symbol, &[s, m]).expect(symbol);
            h.read_fat(packed)
        };
        assert_eq!(
            fat(&mut h, "ext_crypto_secp256k1_ecdsa_recover_version_2"),
            up2.encode(),
            "v2 {}",
            hex(&sig)
        );
        assert_eq!(
            fat(
                &mut h,
                "ext_crypto_secp256k1_ecdsa_recover_compressed_version_2"
            ),
            up2c.encode()
        );
        assert_eq!(
            fat(&mut h, "ext_crypto_secp256k1_ecdsa_recover_version_1"),
            up1.encode(),
            "v1 {}",
            hex(&sig)
        );
        assert_eq!(
            fat(
                &mut h,
                "ext_crypto_secp256k1_ecdsa_recover_compressed_version_1"
            ),
            up1c.encode()
        );
        // Version 3: the same key in place, or zeros and the error code.
        let out = u64::from(h.put(&[0xaa; 64]));
        let code = h
            .call("ext_crypto_secp256k1_ecdsa_recover_version_3", &[s, m, out])
            .expect("v3");
        #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
        let code = code as i64;
        let (want_code, want_out) = match up2 {
            Ok(key) => (0, key.to_vec()),
            Err(EcdsaVerifyError::BadRS) => (-1, vec![0; 64]),
            Err(EcdsaVerifyError::BadV) => (-2, vec![0; 64]),
            Err(EcdsaVerifyError::BadSignature) => (-3, vec![0; 64]),
        };
        assert_eq!((code, h.read(out, 64)), (want_code, want_out));
    }
}

#[test]
fn ecdsa_verify_matches_sp_io_and_sp_core() {
    let mut rng = Rng(4);
    for (sig, _, public) in ecdsa_cases() {
        let msg = rng.bytes(40);
        // Signatures over the Blake2b-256 of `msg`, made from the case's
        // key where the case is a good signature.
        let (s, p) = (
            ecdsa::Signature::from_raw(sig),
            ecdsa::Public::from_raw(public),
        );
        let v2 = sp_io::crypto::ecdsa_verify(&s, &msg, &p);
        #[allow(deprecated)]
        let v1 = ecdsa::Pair::verify_deprecated(&s, &msg, &p);
        assert_eq!(
            verify("ext_crypto_ecdsa_verify_version_2", &sig, &msg, &public),
            v2
        );
        assert_eq!(
            verify("ext_crypto_ecdsa_verify_version_1", &sig, &msg, &public),
            v1
        );
    }
    for (sig, hash, public) in ecdsa_cases() {
        let (s, p) = (
            ecdsa::Signature::from_raw(sig),
            ecdsa::Public::from_raw(public),
        );
        let up = sp_io::crypto::ecdsa_verify_prehashed(&s, &hash, &p);
        let mut h = HostCalls::new();
        let args = [
            u64::from(h.put(&sig)),
            u64::from(h.put(&hash)),
            u64::from(h.put(&public)),
        ];
        let ours = h
            .call("ext_crypto_ecdsa_verify_prehashed_version_1", &args)
            .expect("prehashed");
        assert_eq!(ours == 1, up, "{}", hex(&sig));
    }
    // Good signatures over a message verify (both versions).
    let pair = ecdsa::Pair::from_seed(&[9; 32]);
    let sig = pair.sign(b"parajam").0;
    assert!(verify(
        "ext_crypto_ecdsa_verify_version_2",
        &sig,
        b"parajam",
        &pair.public().0
    ));
    assert!(verify(
        "ext_crypto_ecdsa_verify_version_1",
        &sig,
        b"parajam",
        &pair.public().0
    ));
    println!("ecdsa KAT: pub {} sig {}", hex(&pair.public().0), hex(&sig));
}

/// Trie inputs: sizes around the node and value thresholds.
fn trie_inputs() -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut rng = Rng(5);
    let mut inputs = vec![Vec::new()];
    for n in [1usize, 2, 3, 15, 16, 17, 100, 300] {
        let items = (0..n)
            .map(|i| {
                let key_len = 1 + (rng.next() % 40) as usize;
                let mut key = rng.bytes(key_len);
                if i % 3 == 0 {
                    key[0] = 0xaa; // shared prefixes
                }
                let value_len = [0, 1, 31, 32, 33, 34, 100][i % 7];
                (key, rng.bytes(value_len))
            })
            .collect();
        inputs.push(items);
    }
    // Long keys (headers with continuation octets) and duplicates.
    inputs.push(vec![(vec![0x11; 200], vec![1]), (vec![0x11; 201], vec![2])]);
    inputs.push(vec![
        (vec![0x11; 40], vec![1; 40]),
        (vec![0x11; 40], vec![2; 40]),
    ]);
    inputs
}

#[test]
fn trie_roots_match_sp_io_every_version() {
    use sp_core::storage::StateVersion;
    for items in trie_inputs() {
        let values: Vec<Vec<u8>> = items.iter().map(|(_, v)| v.clone()).collect();
        let mut h = HostCalls::new();
        let pairs_in = h.fat(&items.encode());
        let values_in = h.fat(&values.encode());
        let call_root = |h: &mut HostCalls, symbol: &str, input: u64, version: Option<u64>| {
            let args: Vec<u64> = [input].into_iter().chain(version).collect();
            let ptr = h.call(symbol, &args).expect(symbol);
            h.read(ptr, 32)
        };
        for (version, v) in [(StateVersion::V0, 0u64), (StateVersion::V1, 1)] {
            let b2 = sp_io::trie::blake2_256_root(items.clone(), version);
            let b2o = sp_io::trie::blake2_256_ordered_root(values.clone(), version);
            let kk = sp_io::trie::keccak_256_root(items.clone(), version);
            let kko = sp_io::trie::keccak_256_ordered_root(values.clone(), version);
            for (symbol, input, want) in [
                ("ext_trie_blake2_256_root_version_2", pairs_in, b2),
                ("ext_trie_blake2_256_ordered_root_version_2", values_in, b2o),
                ("ext_trie_keccak_256_root_version_2", pairs_in, kk),
                ("ext_trie_keccak_256_ordered_root_version_2", values_in, kko),
            ] {
                assert_eq!(
                    call_root(&mut h, symbol, input, Some(v)),
                    want.0.to_vec(),
                    "{symbol} {version:?} {} items",
                    items.len()
                );
            }
            // Version 3 in place.
            let out = h.put(&[0; 32]);
            h.call(
                "ext_trie_blake2_256_ordered_root_version_3",
                &[values_in, v, u64::from(out)],
            )
            .expect("v3");
            assert_eq!(h.read(u64::from(out), 32), b2o.0.to_vec());
        }
        // Version 1: `LayoutV0`; also sp-trie's own layouts directly.
        assert_eq!(
            call_root(
                &mut h,
                "ext_trie_blake2_256_ordered_root_version_1",
                values_in,
                None
            ),
            LayoutV0::<sp_core::Blake2Hasher>::ordered_trie_root(values.clone())
                .0
                .to_vec()
        );
        assert_eq!(
            call_root(&mut h, "ext_trie_keccak_256_root_version_1", pairs_in, None),
            LayoutV0::<sp_core::KeccakHasher>::trie_root(items.clone())
                .0
                .to_vec()
        );
        assert_eq!(
            call_root(
                &mut h,
                "ext_trie_blake2_256_root_version_2",
                pairs_in,
                Some(2)
            ),
            LayoutV1::<sp_core::Blake2Hasher>::trie_root(items.clone())
                .0
                .to_vec(),
            "state version 2 is V1"
        );
    }
    // The known answers the unit and engine tests keep: 100 values.
    let values: Vec<Vec<u8>> = (0..100u32)
        .map(|i| i.to_le_bytes().repeat((i % 12) as usize))
        .collect();
    println!(
        "trie KAT: blake2 ordered V0 {} V1 {}; keccak ordered V1 {}",
        hex(&sp_io::trie::blake2_256_ordered_root(values.clone(), StateVersion::V0).0),
        hex(&sp_io::trie::blake2_256_ordered_root(values.clone(), StateVersion::V1).0),
        hex(&sp_io::trie::keccak_256_ordered_root(values, StateVersion::V1).0),
    );
}
