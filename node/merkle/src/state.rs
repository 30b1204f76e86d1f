//! State Merklization, GP appendix D.2 (v0.7.2).
//!
//! The state is a map from 31-octet state-keys to octet strings (the serialization $T(\sigma)$
//! of eq. D.2). Its commitment $\mathcal{M}_\sigma(\sigma) = M(\{\text{bits}(k) \to (k, v)\})$
//! is the root of a binary Patricia-less trie: every bit of the key path is a branch node, nodes
//! are 64 octets, and empty sub-tries are identified by $\mathbf{0}_{32}$.

use core::cmp::Ordering;

use parajam_crypto::{blake2b_256, Hash, ZERO_HASH};

/// A state-key, $\mathbb{B}_{31}$ (GP D.1, function $C$).
pub type StateKey = [u8; 31];

/// Maximum length of a value embedded in a leaf node rather than hashed.
const MAX_EMBEDDED: usize = 32;

/// Branch node encoding $B(l, r) = \[0\] \frown \text{bits}(l)_{1\dots} \frown \text{bits}(r)$
/// (GP D.2, eq. for $B$): the first bit is 0, then the last 255 bits of the left sub-trie
/// identity, then the full right sub-trie identity. Bits are most-significant first.
#[inline]
pub fn branch_node(left: &Hash, right: &Hash) -> [u8; 64] {
    let mut node = [0u8; 64];
    node[..32].copy_from_slice(left);
    node[0] &= 0x7f;
    node[32..].copy_from_slice(right);
    node
}

/// Leaf node encoding $L(k, v)$ (GP D.2, eq. for $L$).
///
/// * $|v| \le 32$ (embedded-value leaf): $[1, 0] \frown \text{bits}(\mathcal{E}_1(|v|))_{2\dots}
///   \frown \text{bits}(k) \frown \text{bits}(v) \frown [0, 0, \dots]$, i.e. first octet
///   `0x80 | len`, then the key, then the value zero-padded to 32 octets.
/// * otherwise (regular leaf): $[1, 1, 0, 0, 0, 0, 0, 0] \frown \text{bits}(k) \frown
///   \text{bits}(\mathcal{H}(v))$, i.e. first octet `0xc0`, the key, then the value's hash.
#[inline]
pub fn leaf_node(key: &StateKey, value: &[u8]) -> [u8; 64] {
    let mut node = [0u8; 64];
    node[1..32].copy_from_slice(key);
    match u8::try_from(value.len()) {
        // `len <= 32` fits the 6 low bits.
        Ok(len) if usize::from(len) <= MAX_EMBEDDED => {
            node[0] = 0x80 | len;
            node[32..32 + value.len()].copy_from_slice(value);
        }
        _ => {
            node[0] = 0xc0;
            node[32..].copy_from_slice(&blake2b_256(value));
        }
    }
    node
}

/// The state root $\mathcal{M}_\sigma$ of GP D.2 (eq. `M(d)` over $\text{bits}(k)$), for a
/// serialized state given as (state-key, value) pairs in any order.
///
/// **Duplicates:** if a key occurs more than once, the *last* occurrence wins (as when building
/// a map by successive inserts).
///
/// Cost: one pass to collect, an $O(n)$ sortedness check (input already in key order, e.g.
/// from a `BTreeMap`, is not re-sorted), otherwise one stable sort; then a recursion over
/// sub-slices that hashes each 64-octet node from a stack buffer, with no per-node allocation.
pub fn state_root<'a, I>(entries: I) -> Hash
where
    I: IntoIterator<Item = (&'a StateKey, &'a [u8])>,
{
    root_with::<Gp072, I>(entries)
}

/// The state root under the **obsolete GP 0.2.2 layout**, which is *not* the v0.7.2 consensus
/// rule: key bits are taken least-significant first, a branch clears the *lowest* bit of the left
/// identity (`l[0] & 0xfe`), an embedded leaf's first octet is `0b01 | len << 2` and a regular
/// leaf's is `0b11`.
///
/// It exists only because `trie/trie.json` in the v0.7.2 test-vector release still follows that
/// layout (its `merkle.py` says "Based on GP 0.2.2"; upstream issue davxy/jam-test-vectors#81),
/// while the state roots of the same release's `traces/` follow v0.7.2 and [`state_root`].
/// Duplicates are handled as in [`state_root`].
pub fn state_root_gp022<'a, I>(entries: I) -> Hash
where
    I: IntoIterator<Item = (&'a StateKey, &'a [u8])>,
{
    root_with::<Gp022, I>(entries)
}

/// The node layout of a trie version: bit order of the key path and node headers.
trait Layout {
    /// Whether key bit `depth` (in path order) is 1.
    fn bit(key: &StateKey, depth: usize) -> bool;
    /// Key order in which each sub-trie is a contiguous run (path order).
    fn cmp(a: &StateKey, b: &StateKey) -> Ordering;
    fn branch(left: &Hash, right: &Hash) -> [u8; 64];
    fn leaf(key: &StateKey, value: &[u8]) -> [u8; 64];
}

/// GP v0.7.2: most-significant bit first.
enum Gp072 {}

impl Layout for Gp072 {
    #[inline]
    fn bit(key: &StateKey, depth: usize) -> bool {
        key[depth / 8] & (0x80 >> (depth % 8)) != 0
    }
    #[inline]
    fn cmp(a: &StateKey, b: &StateKey) -> Ordering {
        a.cmp(b)
    }
    #[inline]
    fn branch(left: &Hash, right: &Hash) -> [u8; 64] {
        branch_node(left, right)
    }
    #[inline]
    fn leaf(key: &StateKey, value: &[u8]) -> [u8; 64] {
        leaf_node(key, value)
    }
}

/// GP 0.2.2: least-significant bit first (see [`state_root_gp022`]).
enum Gp022 {}

impl Layout for Gp022 {
    #[inline]
    fn bit(key: &StateKey, depth: usize) -> bool {
        key[depth / 8] & (1 << (depth % 8)) != 0
    }
    #[inline]
    fn cmp(a: &StateKey, b: &StateKey) -> Ordering {
        a.iter()
            .map(|x| x.reverse_bits())
            .cmp(b.iter().map(|x| x.reverse_bits()))
    }
    #[inline]
    fn branch(left: &Hash, right: &Hash) -> [u8; 64] {
        let mut node = [0u8; 64];
        node[..32].copy_from_slice(left);
        node[0] &= 0xfe;
        node[32..].copy_from_slice(right);
        node
    }
    #[inline]
    fn leaf(key: &StateKey, value: &[u8]) -> [u8; 64] {
        let mut node = [0u8; 64];
        node[1..32].copy_from_slice(key);
        match u8::try_from(value.len()) {
            Ok(len) if usize::from(len) <= MAX_EMBEDDED => {
                node[0] = 0b01 | len << 2;
                node[32..32 + value.len()].copy_from_slice(value);
            }
            _ => {
                node[0] = 0b11;
                node[32..].copy_from_slice(&blake2b_256(value));
            }
        }
        node
    }
}

fn root_with<'a, L: Layout, I>(entries: I) -> Hash
where
    I: IntoIterator<Item = (&'a StateKey, &'a [u8])>,
{
    let mut entries: Vec<(&StateKey, &[u8])> = entries.into_iter().collect();
    if !entries.is_sorted_by(|a, b| L::cmp(a.0, b.0).is_lt()) {
        // Stable, so that among equal keys the input order is kept for the dedup below.
        entries.sort_by(|a, b| L::cmp(a.0, b.0));
        // `dedup_by` passes (current, previously kept); keep the later value in the kept slot.
        entries.dedup_by(|later, kept| {
            if later.0 == kept.0 {
                kept.1 = later.1;
                true
            } else {
                false
            }
        });
    }
    trie_root::<L>(&entries, 0)
}

/// $M(d)$ of GP D.2 for entries sorted strictly in path order, all sharing their first `depth`
/// bits.
fn trie_root<L: Layout>(entries: &[(&StateKey, &[u8])], depth: usize) -> Hash {
    match entries {
        [] => ZERO_HASH,
        [(key, value)] => blake2b_256(&L::leaf(key, value)),
        _ => {
            // Distinct keys that share `depth` bits differ at some later bit, so with at least two
            // entries `depth < 248` and the key index is in bounds.
            let split = entries.partition_point(|(key, _)| !L::bit(key, depth));
            let left = trie_root::<L>(&entries[..split], depth + 1);
            let right = trie_root::<L>(&entries[split..], depth + 1);
            blake2b_256(&L::branch(&left, &right))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(first: u8, last: u8) -> StateKey {
        let mut k = [0u8; 31];
        k[0] = first;
        k[30] = last;
        k
    }

    #[test]
    fn empty_is_zero_hash() {
        assert_eq!(state_root(std::iter::empty()), ZERO_HASH);
    }

    #[test]
    fn leaf_encodings() {
        let k = key(0xab, 0xcd);
        let short = leaf_node(&k, &[1, 2, 3]);
        assert_eq!(short[0], 0x83);
        assert_eq!(&short[1..32], &k);
        assert_eq!(&short[32..35], &[1, 2, 3]);
        assert!(short[35..].iter().all(|&b| b == 0));

        let exactly32 = leaf_node(&k, &[7; 32]);
        assert_eq!(exactly32[0], 0xa0);
        assert_eq!(&exactly32[32..], &[7; 32]);

        let long = leaf_node(&k, &[7; 33]);
        assert_eq!(long[0], 0xc0);
        assert_eq!(&long[32..], &blake2b_256(&[7; 33]));

        assert_eq!(leaf_node(&k, &[])[0], 0x80);
    }

    #[test]
    fn branch_encoding_clears_first_bit() {
        let node = branch_node(&[0xff; 32], &[0xee; 32]);
        assert_eq!(node[0], 0x7f);
        assert_eq!(&node[1..32], &[0xff; 31]);
        assert_eq!(&node[32..], &[0xee; 32]);
    }

    #[test]
    fn single_entry_is_leaf_hash() {
        let k = key(1, 2);
        let v = b"hello".as_slice();
        assert_eq!(state_root([(&k, v)]), blake2b_256(&leaf_node(&k, v)));
    }

    #[test]
    fn two_entries_direct_expansion() {
        // Keys differ in bit 1 (0x00 vs 0x40): root = B(B(L(a), L(b)), 0).
        let a = key(0x00, 1);
        let b = key(0x40, 2);
        let (va, vb) = (b"a".as_slice(), [9u8; 40].as_slice());
        let la = blake2b_256(&leaf_node(&a, va));
        let lb = blake2b_256(&leaf_node(&b, vb));
        let inner = blake2b_256(&branch_node(&la, &lb));
        let want = blake2b_256(&branch_node(&inner, &ZERO_HASH));
        assert_eq!(state_root([(&b, vb), (&a, va)]), want);
        assert_eq!(state_root([(&a, va), (&b, vb)]), want);
    }

    #[test]
    fn keys_differing_in_last_bit() {
        let a = key(0, 0);
        let b = key(0, 1);
        let (va, vb) = (b"x".as_slice(), b"y".as_slice());
        let mut h = blake2b_256(&branch_node(
            &blake2b_256(&leaf_node(&a, va)),
            &blake2b_256(&leaf_node(&b, vb)),
        ));
        // 247 more branch levels, all on the 0 side.
        for _ in 0..247 {
            h = blake2b_256(&branch_node(&h, &ZERO_HASH));
        }
        assert_eq!(state_root([(&a, va), (&b, vb)]), h);
    }

    #[test]
    fn duplicates_last_wins() {
        let a = key(1, 0);
        let b = key(2, 0);
        let once = state_root([(&a, b"new".as_slice()), (&b, b"b".as_slice())]);
        let dup = state_root([
            (&a, b"old".as_slice()),
            (&b, b"b".as_slice()),
            (&a, b"new".as_slice()),
        ]);
        assert_eq!(once, dup);
    }
}
