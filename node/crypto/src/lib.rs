//! Hash functions and the Fisher–Yates shuffle of the Gray Paper (v0.7.2).
//!
//! * [`blake2b_256`] is GP's $\mathcal{H}$ (Blake2b with a 256-bit output, RFC 7693), see the
//!   notation section "Hashing" (§ `sec:cryptography`).
//! * [`keccak_256`] is GP's $\mathcal{H}_K$ (the original Keccak-256, as used by Ethereum, *not*
//!   the NIST SHA3-256 padding).
//! * [`shuffle`] / [`shuffle_with_sequence`] are $\mathcal{F}$ of appendix F (eq. `eq:suffle`,
//!   `eq:sequencefromhash`), and [`sequence_from_hash`] is $\mathcal{Q}$.

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use sha3::Keccak256;

/// A 256-bit hash, GP's $\mathbb{H} = \mathbb{B}_{32}$.
pub type Hash = [u8; 32];

/// The zero hash $\mathbf{0}_{32}$, used e.g. as the identity of an empty (sub-)trie.
pub const ZERO_HASH: Hash = [0; 32];

type Blake2b256 = Blake2b<U32>;

/// Blake2b-256 of `data`: GP's $\mathcal{H}(m)$.
#[inline]
pub fn blake2b_256(data: &[u8]) -> Hash {
    Blake2b256::digest(data).into()
}

/// Blake2b-256 of the concatenation of `parts`, without building the concatenation:
/// $\mathcal{H}(p_0 \frown p_1 \frown \dots)$.
#[inline]
pub fn blake2b_256_concat(parts: &[&[u8]]) -> Hash {
    let mut hasher = Blake2b256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// Keccak-256 of `data`: GP's $\mathcal{H}_K(m)$.
#[inline]
pub fn keccak_256(data: &[u8]) -> Hash {
    Keccak256::digest(data).into()
}

/// Keccak-256 of the concatenation of `parts`, without building the concatenation.
#[inline]
pub fn keccak_256_concat(parts: &[&[u8]]) -> Hash {
    let mut hasher = Keccak256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// The numeric-sequence-from-hash function $\mathcal{Q}$ of GP appendix F, as an unbounded
/// iterator: item $i$ is
/// $\mathcal{E}_4^{-1}(\mathcal{H}(h \frown \mathcal{E}_4(\lfloor i/8 \rfloor))_{4i \bmod 32 \dots +4})$.
///
/// $\mathcal{Q}_l(h)$ is `sequence_from_hash(h).take(l)`. The iterator stops only after $2^{35}$
/// items, where the 4-byte block counter would overflow.
pub fn sequence_from_hash(entropy: &Hash) -> SequenceFromHash {
    SequenceFromHash {
        entropy: *entropy,
        block: [0; 32],
        index: 0,
    }
}

/// Iterator returned by [`sequence_from_hash`].
#[derive(Debug, Clone)]
pub struct SequenceFromHash {
    entropy: Hash,
    block: Hash,
    index: u64,
}

impl Iterator for SequenceFromHash {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        let counter = u32::try_from(self.index / 8).ok()?;
        let offset = (self.index % 8) as usize * 4;
        if offset == 0 {
            self.block = blake2b_256_concat(&[&self.entropy, &counter.to_le_bytes()]);
        }
        self.index += 1;
        let mut word = [0u8; 4];
        word.copy_from_slice(&self.block[offset..offset + 4]);
        Some(u32::from_le_bytes(word))
    }
}

/// The Fisher–Yates shuffle $\mathcal{F}(\mathbf{s}, \mathbf{r})$ of GP appendix F
/// (eq. `eq:suffle`), over an explicit sequence of naturals $\mathbf{r}$.
///
/// Each step takes $\mathbf{s}_{r_0 \bmod l}$ to the output and replaces it with the last element
/// $\mathbf{s}_{l-1}$ (exactly [`Vec::swap_remove`]); it runs in $O(l)$.
///
/// Returns `None` when `r` yields fewer than $l = |\mathbf{s}|$ numbers (GP requires
/// $\mathbf{r} \in \mathbb{N}^{l:}$); extra numbers are ignored.
pub fn shuffle_with_sequence<T, R>(items: Vec<T>, r: R) -> Option<Vec<T>>
where
    R: IntoIterator<Item = u32>,
{
    let mut rest = items;
    let mut out = Vec::with_capacity(rest.len());
    let mut r = r.into_iter();
    while !rest.is_empty() {
        let n = r.next()?;
        let idx = index_mod(n, rest.len());
        out.push(rest.swap_remove(idx));
    }
    Some(out)
}

/// The entropy-driven Fisher–Yates shuffle $\mathcal{F}(\mathbf{s}, h) \equiv
/// \mathcal{F}(\mathbf{s}, \mathcal{Q}_{|\mathbf{s}|}(h))$ of GP appendix F
/// (eq. `eq:sequencefromhash`).
pub fn shuffle<T>(items: Vec<T>, entropy: &Hash) -> Vec<T> {
    let mut rest = items;
    let mut out = Vec::with_capacity(rest.len());
    // `sequence_from_hash` yields 2^35 numbers, more items than fit in memory, so the fallback
    // below is unreachable; it only avoids an `unwrap`.
    let mut r = sequence_from_hash(entropy);
    while !rest.is_empty() {
        let n = r.next().unwrap_or(0);
        let idx = index_mod(n, rest.len());
        out.push(rest.swap_remove(idx));
    }
    out
}

/// $n \bmod l$ as an index, for $l \ge 1$.
#[inline]
fn index_mod(n: u32, len: usize) -> usize {
    // `usize` is at least 32 bits wide on every target this node supports.
    n as usize % len
}

/// Ed25519 signature verification with the acceptance rules of ZIP-215
/// (`ed25519-zebra`): the cofactored equation, non-canonical point
/// encodings accepted, `s` required canonical.
///
/// GP 0.7.2 cites only RFC 8032, which leaves both choices open; every
/// validator must accept exactly the same signatures, and the paper's later
/// revisions and the JAM conformance suite's Ed25519 vectors pin ZIP-215
/// (`verify_strict`-style checks reject valid JAM signatures).
pub fn ed25519_verify(key: &[u8; 32], message: &[&[u8]], signature: &[u8; 64]) -> bool {
    let Ok(key) = ed25519_zebra::VerificationKey::try_from(*key) else {
        return false;
    };
    let signature = ed25519_zebra::Signature::from_bytes(signature);
    let payload = message.concat();
    key.verify(&signature, &payload).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    #[test]
    fn blake2b_256_known_answers() {
        // Blake2b-256 of the empty string.
        assert_eq!(
            blake2b_256(b"").to_vec(),
            hex("0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8")
        );
        assert_eq!(
            blake2b_256(b"abc").to_vec(),
            hex("bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319")
        );
    }

    #[test]
    fn keccak_256_known_answers() {
        // Original Keccak-256 (Ethereum) of the empty string, not SHA3-256.
        assert_eq!(
            keccak_256(b"").to_vec(),
            hex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
        );
        assert_eq!(
            keccak_256(b"abc").to_vec(),
            hex("4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45")
        );
    }

    #[test]
    fn concat_variants_match_concatenation() {
        let parts: [&[u8]; 4] = [b"", b"node", &[1, 2, 3], &[0xff; 200]];
        let joined = parts.concat();
        assert_eq!(blake2b_256_concat(&parts), blake2b_256(&joined));
        assert_eq!(keccak_256_concat(&parts), keccak_256(&joined));
        assert_eq!(blake2b_256_concat(&[]), blake2b_256(b""));
    }

    #[test]
    fn sequence_from_hash_matches_definition() {
        let h: Hash = blake2b_256(b"seed");
        let got: Vec<u32> = sequence_from_hash(&h).take(20).collect();
        for (i, &x) in got.iter().enumerate() {
            let block =
                blake2b_256_concat(&[&h, &u32::try_from(i / 8).expect("small").to_le_bytes()]);
            let o = (4 * i) % 32;
            let want = u32::from_le_bytes(block[o..o + 4].try_into().expect("4 octets"));
            assert_eq!(x, want, "item {i}");
        }
    }

    #[test]
    fn shuffle_with_sequence_follows_recursion() {
        // F([a,b,c,d], [5, 0, 7, ...]):
        //   l=4: pick 5 mod 4 = 1 -> b; s' = [a,d,c]
        //   l=3: pick 0 -> a; s' = [c,d]
        //   l=2: pick 7 mod 2 = 1 -> d; s' = [c]
        //   l=1: pick c
        let out = shuffle_with_sequence(vec!['a', 'b', 'c', 'd'], [5, 0, 7, 123]);
        assert_eq!(out, Some(vec!['b', 'a', 'd', 'c']));
        assert_eq!(shuffle_with_sequence(vec![1, 2, 3], [0, 0]), None);
        assert_eq!(shuffle_with_sequence(Vec::<u8>::new(), []), Some(vec![]));
    }

    #[test]
    fn shuffle_is_the_sequence_variant_over_q() {
        let h = blake2b_256(b"entropy");
        for n in [0usize, 1, 2, 7, 8, 9, 100] {
            let items: Vec<usize> = (0..n).collect();
            let q: Vec<u32> = sequence_from_hash(&h).take(n).collect();
            assert_eq!(
                Some(shuffle(items.clone(), &h)),
                shuffle_with_sequence(items, q)
            );
        }
    }
}
