//! Substrate's trie roots (`sp_trie::LayoutV0`/`LayoutV1`, what sp-io's
//! `trie` functions compute): a base-16 Patricia trie without extension
//! nodes, built over the sorted keys by `trie-root`, with Substrate's node
//! encoding (this module's [`NodeStream`]):
//!
//! - a node starts with a header: two (or, for a hashed value, three or
//!   four) prefix bits naming its kind, then the number of nibbles of its
//!   partial key, in the header's other bits and, when it does not fit,
//!   continuation octets (255 each while more follows);
//! - then the partial key's nibbles, packed two to an octet, an odd first
//!   nibble alone in the low half of the first octet;
//! - a branch has a 16-bit little-endian bitmap of its children;
//! - a value is inline (compact length, then the octets) or, in the
//!   `LayoutV1` layout for values of 33 octets or more, its 32-octet hash;
//! - a branch's children follow, each as a compact-length-prefixed octet
//!   string: its encoding when shorter than 32 octets, else its hash;
//! - the root is the hash of the root node's encoding (of `[0]` for the
//!   empty trie).
//!
//! An ordered root is the root over the keys `SCALE(Compact(i as u32))`.

use alloc::vec::Vec;

use hash_db::Hasher;
use parity_scale_codec::{Compact, Encode};
use trie_root::{TrieStream, Value};

/// The `LayoutV1` threshold: values this long or longer are hashed.
const VALUE_NODE_THRESHOLD: u32 = 33;

/// A trie layout: `StateVersion` 0 or 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Values inline.
    V0,
    /// Values of 33 octets or more hashed into their own node.
    V1,
}

impl Layout {
    /// `StateVersion::try_from(u8)`: 0 is V0, 1 and 2 are V1.
    pub fn from_state_version(version: u8) -> Option<Self> {
        match version {
            0 => Some(Self::V0),
            1 | 2 => Some(Self::V1),
            _ => None,
        }
    }

    fn threshold(self) -> Option<u32> {
        match self {
            Self::V0 => None,
            Self::V1 => Some(VALUE_NODE_THRESHOLD),
        }
    }
}

/// The hash of the trie's nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrieHash {
    /// Blake2b-256.
    Blake2,
    /// Keccak-256.
    Keccak,
}

/// The most nibbles two keys of one trie may share: building the root
/// recurses once per branch level, at most once per shared nibble, and the
/// service's stack is bounded. Real storage keys share far fewer (a
/// Substrate map key is at most a few dozen octets).
pub const MAX_DEPTH: usize = 512;

/// The root of the trie of `items` (later duplicates of a key win); `None`
/// if two keys share more than [`MAX_DEPTH`] nibbles.
pub fn root<K: AsRef<[u8]> + Ord, V: AsRef<[u8]>>(
    hash: TrieHash,
    layout: Layout,
    items: Vec<(K, V)>,
) -> Option<[u8; 32]> {
    let mut keys: Vec<&[u8]> = items.iter().map(|(k, _)| k.as_ref()).collect();
    keys.sort_unstable();
    let deepest = keys
        .windows(2)
        .map(|pair| {
            pair[0]
                .iter()
                .zip(pair[1])
                .take_while(|(a, b)| a == b)
                .count()
        })
        .max()
        .unwrap_or(0);
    (deepest * 2 <= MAX_DEPTH).then(|| unbounded_root(hash, layout, items))
}

/// The root, however deep the trie.
fn unbounded_root<K: AsRef<[u8]> + Ord, V: AsRef<[u8]>>(
    hash: TrieHash,
    layout: Layout,
    items: impl IntoIterator<Item = (K, V)>,
) -> [u8; 32] {
    match hash {
        TrieHash::Blake2 => trie_root::trie_root_no_extension::<Blake2Hasher, NodeStream, _, _, _>(
            items,
            layout.threshold(),
        ),
        TrieHash::Keccak => trie_root::trie_root_no_extension::<KeccakHasher, NodeStream, _, _, _>(
            items,
            layout.threshold(),
        ),
    }
}

/// The root of the trie of `values` under the keys `SCALE(Compact(i))`
/// (at most 5 octets: never deeper than 10 levels).
pub fn ordered_root<V: AsRef<[u8]>>(
    hash: TrieHash,
    layout: Layout,
    values: impl IntoIterator<Item = V>,
) -> [u8; 32] {
    #[allow(clippy::cast_possible_truncation)] // as sp-trie: `i as u32`
    let items = values
        .into_iter()
        .enumerate()
        .map(|(i, v)| (Compact(i as u32).encode(), v));
    unbounded_root(hash, layout, items)
}

/// Node kinds and their header prefixes: `(prefix, prefix bits)`.
const LEAF: (u8, u32) = (0b01 << 6, 2);
const BRANCH_NO_VALUE: (u8, u32) = (0b10 << 6, 2);
const BRANCH_WITH_VALUE: (u8, u32) = (0b11 << 6, 2);
const HASHED_VALUE_LEAF: (u8, u32) = (0b001 << 5, 3);
const HASHED_VALUE_BRANCH: (u8, u32) = (0b0001 << 4, 4);

/// A node's encoding as `trie-root` builds it.
#[derive(Debug, Default)]
pub struct NodeStream(Vec<u8>);

impl NodeStream {
    /// The header and the packed partial key `nibbles`.
    fn partial_key(&mut self, (prefix, bits): (u8, u32), nibbles: &[u8]) {
        let max = 255u8 >> bits;
        let count = nibbles.len();
        let first = usize::from(max - 1).min(count);
        if first == count {
            // `count < max` here, so it fits the header's low bits.
            #[allow(clippy::cast_possible_truncation)]
            self.0.push(prefix | count as u8);
        } else {
            self.0.push(prefix | max);
            let mut rest = count - first;
            while rest >= 256 {
                self.0.push(255);
                rest -= 255;
            }
            #[allow(clippy::cast_possible_truncation)] // 1 ..= 255
            self.0.push((rest - 1) as u8);
        }
        let odd = count % 2;
        if odd == 1 {
            self.0.push(nibbles[0]);
        }
        self.0.extend(
            nibbles[odd..]
                .chunks(2)
                .map(|pair| (pair[0] << 4) | pair[1]),
        );
    }

    fn value(&mut self, value: Value<'_>) {
        match value {
            Value::Inline(data) => {
                #[allow(clippy::cast_possible_truncation)] // as sp-trie
                Compact(data.len() as u32).encode_to(&mut self.0);
                self.0.extend_from_slice(data);
            }
            Value::Node(hash) => self.0.extend_from_slice(&hash),
        }
    }
}

impl TrieStream for NodeStream {
    fn new() -> Self {
        Self(Vec::new())
    }

    fn append_empty_data(&mut self) {
        self.0.push(0);
    }

    fn begin_branch(
        &mut self,
        maybe_key: Option<&[u8]>,
        maybe_value: Option<Value<'_>>,
        has_children: impl Iterator<Item = bool>,
    ) {
        // `trie_root_no_extension` always passes the partial key.
        let key = maybe_key.unwrap_or_default();
        let kind = match &maybe_value {
            None => BRANCH_NO_VALUE,
            Some(Value::Inline(_)) => BRANCH_WITH_VALUE,
            Some(Value::Node(_)) => HASHED_VALUE_BRANCH,
        };
        self.partial_key(kind, key);
        let bitmap = has_children
            .zip(0..16)
            .fold(0u16, |map, (present, i)| map | (u16::from(present) << i));
        self.0.extend_from_slice(&bitmap.to_le_bytes());
        if let Some(value) = maybe_value {
            self.value(value);
        }
    }

    fn append_leaf(&mut self, key: &[u8], value: Value<'_>) {
        let kind = match &value {
            Value::Inline(_) => LEAF,
            Value::Node(_) => HASHED_VALUE_LEAF,
        };
        self.partial_key(kind, key);
        self.value(value);
    }

    fn append_extension(&mut self, _key: &[u8]) {
        // Never called for a trie without extension nodes.
    }

    fn append_substream<H: Hasher>(&mut self, other: Self) {
        let child = other.0;
        if child.len() < 32 {
            child.encode_to(&mut self.0);
        } else {
            H::hash(&child).as_ref().encode_to(&mut self.0);
        }
    }

    fn out(self) -> Vec<u8> {
        self.0
    }
}

/// `hash_db`'s `std::hash::Hasher` slot, unused by `trie-root`.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoStdHasher(u64);

impl core::hash::Hasher for NoStdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
}

/// Blake2b-256 as a `hash_db::Hasher`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Blake2Hasher;

impl Hasher for Blake2Hasher {
    type Out = [u8; 32];
    type StdHasher = NoStdHasher;
    const LENGTH: usize = 32;

    fn hash(x: &[u8]) -> Self::Out {
        crate::blake2_256(x)
    }
}

/// Keccak-256 as a `hash_db::Hasher`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeccakHasher;

impl Hasher for KeccakHasher {
    type Out = [u8; 32];
    type StdHasher = NoStdHasher;
    const LENGTH: usize = 32;

    fn hash(x: &[u8]) -> Self::Out {
        use sha3::Digest;
        sha3::Keccak256::digest(x).into()
    }
}

/// sp-io's `trie` root functions served to a PVF.
mod serve {
    use alloc::vec::Vec;

    use parity_scale_codec::Decode;

    use super::{Layout, TrieHash};
    use crate::host::RefineHost;
    use crate::host_functions::call::{low8, Call, Failed};
    use crate::host_functions::table::{Out, RootLayout};

    impl<H: RefineHost> Call<'_, H> {
        /// `ext_trie_*_root_*` and `ext_trie_*_ordered_root_*(input[,
        /// version][, out])`.
        #[allow(clippy::too_many_arguments)] // the function's variant, then its three arguments
        pub(crate) fn trie_root(
            &mut self,
            hash: TrieHash,
            ordered: bool,
            layout: RootLayout,
            out: Out,
            input: u64,
            version: u64,
            out_ptr: u64,
        ) -> Result<u64, Failed> {
            let input = self.read(input)?;
            let layout = match layout {
                RootLayout::V0 => Layout::V0,
                RootLayout::Argument => Layout::from_state_version(low8(version)).ok_or(Failed)?,
            };
            let root = if ordered {
                let values = Vec::<Vec<u8>>::decode(&mut &input[..]).map_err(|_| Failed)?;
                super::ordered_root(hash, layout, values)
            } else {
                let items =
                    Vec::<(Vec<u8>, Vec<u8>)>::decode(&mut &input[..]).map_err(|_| Failed)?;
                super::root(hash, layout, items).ok_or(Failed)?
            };
            self.fixed(&root, out, out_ptr)
        }
    }
}
