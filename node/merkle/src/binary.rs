//! General binary Merkle trees, GP appendix E.1 (v0.7.2).
//!
//! Every function takes the hash function $H$ explicitly (`*_with`), or defaults to Blake2b
//! ($\mathcal{H}$) as the GP does when no $H$ is given. Pass [`parajam_crypto::keccak_256`] for
//! the Keccak variants (e.g. the accumulation-output root of the recent history, GP 7.3).

use parajam_crypto::{blake2b_256, Hash, ZERO_HASH};

/// Prefix $\$node$ of interior nodes (eq. `eq:merklenode`).
const NODE_PREFIX: &[u8] = b"node";
/// Prefix $\$leaf$ of hashed leaves in the constancy preprocessor $C$ (eq. E.6).
const LEAF_PREFIX: &[u8] = b"leaf";

/// The node function $N(\mathbf{v}, H)$ (eq. `eq:merklenode`):
/// $\mathbf{0}_{32}$ for no items, $\mathbf{v}_0$ itself for one item, otherwise
/// $H(\$node \frown N(\mathbf{v}_{\dots\lceil|\mathbf{v}|/2\rceil}) \frown
/// N(\mathbf{v}_{\lceil|\mathbf{v}|/2\rceil\dots}))$.
///
/// The result is a blob (the single item, of whatever length) or a 32-octet hash, hence `Vec`.
pub fn merkle_node<B, H>(v: &[B], hasher: H) -> Vec<u8>
where
    B: AsRef<[u8]>,
    H: Fn(&[u8]) -> Hash,
{
    match v {
        [] => ZERO_HASH.to_vec(),
        [item] => item.as_ref().to_vec(),
        _ => node_hash(v, &hasher, &mut Vec::new()).to_vec(),
    }
}

/// $N(\mathbf{v}, H)$ for $|\mathbf{v}| \ge 2$, which is always a hash.
///
/// `buf` is a scratch stack shared by the whole recursion: each level appends
/// `$node ++ left ++ right` above its caller's partial content, hashes that suffix and truncates
/// it away again, so one allocation serves the whole tree.
fn node_hash<B, H>(v: &[B], hasher: &H, buf: &mut Vec<u8>) -> Hash
where
    B: AsRef<[u8]>,
    H: Fn(&[u8]) -> Hash,
{
    let start = buf.len();
    let mid = v.len().div_ceil(2);
    buf.extend_from_slice(NODE_PREFIX);
    for half in [&v[..mid], &v[mid..]] {
        // Both halves are non-empty since |v| >= 2.
        if let [item] = half {
            buf.extend_from_slice(item.as_ref());
        } else {
            let h = node_hash(half, hasher, buf);
            buf.extend_from_slice(&h);
        }
    }
    let h = hasher(&buf[start..]);
    buf.truncate(start);
    h
}

/// $N(\mathbf{v}, H)$ over hashes (the output of $C$): always a hash, computed from a stack
/// buffer with no allocation.
fn node_of_hashes<H: Fn(&[u8]) -> Hash>(v: &[Hash], hasher: &H) -> Hash {
    match v {
        [] => ZERO_HASH,
        [h] => *h,
        _ => {
            let mid = v.len().div_ceil(2);
            let mut buf = [0u8; 68];
            buf[..4].copy_from_slice(NODE_PREFIX);
            buf[4..36].copy_from_slice(&node_of_hashes(&v[..mid], hasher));
            buf[36..].copy_from_slice(&node_of_hashes(&v[mid..], hasher));
            hasher(&buf)
        }
    }
}

/// The trace function $T(\mathbf{v}, i, H)$ (GP E.1, after eq. `eq:merklenode`): the opposite
/// node $N(P^\bot(\mathbf{v}, i), H)$ at each level, from the top down, on the way to item $i$.
///
/// An index $i \ge |\mathbf{v}|$ follows the right-most path (the formula is total).
pub fn merkle_trace<B, H>(v: &[B], i: usize, hasher: H) -> Vec<Vec<u8>>
where
    B: AsRef<[u8]>,
    H: Fn(&[u8]) -> Hash,
{
    let mut out = Vec::new();
    let (mut v, mut i) = (v, i);
    while v.len() > 1 {
        let mid = v.len().div_ceil(2);
        let (near, far) = if i < mid {
            (&v[..mid], &v[mid..])
        } else {
            i -= mid;
            (&v[mid..], &v[..mid])
        };
        out.push(merkle_node(far, &hasher));
        v = near;
    }
    out
}

/// The well-balanced root $\mathcal{M}_B(\mathbf{v}, H)$ recomputed from item `i` of `count`
/// items and its trace $T(\mathbf{v}, i, H)$ ([`merkle_trace`]): what a holder of one item
/// checks against a committed root. `None` when the trace has the wrong length for `i` of
/// `count`.
pub fn well_balanced_root_from_trace<H>(
    item: &[u8],
    i: usize,
    count: usize,
    trace: &[Vec<u8>],
    hasher: H,
) -> Option<Hash>
where
    H: Fn(&[u8]) -> Hash,
{
    if i >= count {
        return None;
    }
    // Top down, as in `merkle_trace`: is the item in the left half at each level?
    let mut sides = Vec::new();
    let (mut len, mut i) = (count, i);
    while len > 1 {
        let mid = len.div_ceil(2);
        if i < mid {
            sides.push(true);
            len = mid;
        } else {
            sides.push(false);
            i -= mid;
            len -= mid;
        }
    }
    if sides.len() != trace.len() {
        return None;
    }
    if count == 1 {
        return Some(hasher(item));
    }
    // Bottom up: a single item is its own node; interior nodes are hashed.
    let mut node = item.to_vec();
    for (left, sibling) in sides.iter().zip(trace).rev() {
        let (l, r) = if *left {
            (&node, sibling)
        } else {
            (sibling, &node)
        };
        let mut buf = Vec::with_capacity(NODE_PREFIX.len() + l.len() + r.len());
        buf.extend_from_slice(NODE_PREFIX);
        buf.extend_from_slice(l);
        buf.extend_from_slice(r);
        node = hasher(&buf).to_vec();
    }
    node.try_into().ok()
}

/// $T(\mathbf{v}, i, H)$ over hashes, keeping only the first `limit` entries.
fn trace_of_hashes<H: Fn(&[u8]) -> Hash>(
    v: &[Hash],
    i: usize,
    limit: usize,
    hasher: &H,
) -> Vec<Hash> {
    let mut out = Vec::new();
    let (mut v, mut i) = (v, i);
    while v.len() > 1 && out.len() < limit {
        let mid = v.len().div_ceil(2);
        let (near, far) = if i < mid {
            (&v[..mid], &v[mid..])
        } else {
            i -= mid;
            (&v[mid..], &v[..mid])
        };
        out.push(node_of_hashes(far, hasher));
        v = near;
    }
    out
}

/// The well-balanced Merkle root $\mathcal{M}_B(\mathbf{v}, H)$ (eq. `eq:simplemerkleroot`):
/// $H(\mathbf{v}_0)$ for one item, $N(\mathbf{v}, H)$ otherwise (so $\mathbf{0}_{32}$ for none).
pub fn well_balanced_root_with<B, H>(v: &[B], hasher: H) -> Hash
where
    B: AsRef<[u8]>,
    H: Fn(&[u8]) -> Hash,
{
    match v {
        [] => ZERO_HASH,
        [item] => hasher(item.as_ref()),
        _ => node_hash(v, &hasher, &mut Vec::new()),
    }
}

/// [`well_balanced_root_with`] using Blake2b.
pub fn well_balanced_root<B: AsRef<[u8]>>(v: &[B]) -> Hash {
    well_balanced_root_with(v, blake2b_256)
}

/// $\lceil \log_2(\max(1, n)) \rceil$.
fn ceil_log2(n: usize) -> usize {
    n.max(1).next_power_of_two().trailing_zeros() as usize
}

/// The constancy preprocessor $C(\mathbf{v}, H)$ (GP E.1.2, last equation): each item hashed as
/// $H(\$leaf \frown \mathbf{v}_i)$, padded with $\mathbf{0}_{32}$ to $2^{\lceil\log_2(\max(1,
/// |\mathbf{v}|))\rceil}$ entries.
fn constancy<B, H>(v: &[B], hasher: &H) -> Vec<Hash>
where
    B: AsRef<[u8]>,
    H: Fn(&[u8]) -> Hash,
{
    let size = v.len().max(1).next_power_of_two();
    let mut out = Vec::with_capacity(size);
    out.extend(v.iter().map(|item| leaf_hash(item.as_ref(), hasher)));
    out.resize(size, ZERO_HASH);
    out
}

/// $H(\$leaf \frown l)$.
fn leaf_hash<H: Fn(&[u8]) -> Hash>(item: &[u8], hasher: &H) -> Hash {
    let mut buf = Vec::with_capacity(LEAF_PREFIX.len() + item.len());
    buf.extend_from_slice(LEAF_PREFIX);
    buf.extend_from_slice(item);
    hasher(&buf)
}

/// The constant-depth Merkle root $\mathcal{M}(\mathbf{v}, H) = N(C(\mathbf{v}, H), H)$
/// (eq. `eq:constantdepthmerkleroot`). The root of no items is $\mathbf{0}_{32}$.
pub fn constant_depth_root_with<B, H>(v: &[B], hasher: H) -> Hash
where
    B: AsRef<[u8]>,
    H: Fn(&[u8]) -> Hash,
{
    node_of_hashes(&constancy(v, &hasher), &hasher)
}

/// [`constant_depth_root_with`] using Blake2b.
pub fn constant_depth_root<B: AsRef<[u8]>>(v: &[B]) -> Hash {
    constant_depth_root_with(v, blake2b_256)
}

/// The page justification $\mathcal{J}_x(\mathbf{v}, i, H) = T(C(\mathbf{v}, H), 2^x i,
/// H)_{\dots\max(0, \lceil\log_2(\max(1, |\mathbf{v}|))\rceil - x)}$
/// (eq. `eq:constantdepthsubtreemerklejust`): the Merkle path from the root down to the
/// $2^x$-sized page number `page`.
pub fn justification_with<B, H>(v: &[B], page: usize, x: u32, hasher: H) -> Vec<Hash>
where
    B: AsRef<[u8]>,
    H: Fn(&[u8]) -> Hash,
{
    let limit = ceil_log2(v.len()).saturating_sub(x as usize);
    // 2^x * i overflowing `usize` means the page lies far beyond the items: follow the
    // right-most path, as the formula does for any out-of-range index.
    let index = 1usize
        .checked_shl(x)
        .and_then(|size| page.checked_mul(size))
        .unwrap_or(if page == 0 { 0 } else { usize::MAX });
    trace_of_hashes(&constancy(v, &hasher), index, limit, &hasher)
}

/// [`justification_with`] using Blake2b.
pub fn justification<B: AsRef<[u8]>>(v: &[B], page: usize, x: u32) -> Vec<Hash> {
    justification_with(v, page, x, blake2b_256)
}

/// The leaf page $\mathcal{L}_x(\mathbf{v}, i, H) = [H(\$leaf \frown l) \mid l \in
/// \mathbf{v}_{2^x i \dots \min(2^x i + 2^x, |\mathbf{v}|)}]$
/// (eq. `eq:constantdepthsubtreemerkleleafpage`). Empty if the page starts past the end.
pub fn leaf_page_with<B, H>(v: &[B], page: usize, x: u32, hasher: H) -> Vec<Hash>
where
    B: AsRef<[u8]>,
    H: Fn(&[u8]) -> Hash,
{
    let Some(size) = 1usize.checked_shl(x) else {
        // 2^x exceeds `usize`: only page 0 exists, and it holds everything.
        return if page == 0 {
            v.iter().map(|l| leaf_hash(l.as_ref(), &hasher)).collect()
        } else {
            Vec::new()
        };
    };
    let start = page.saturating_mul(size).min(v.len());
    let end = start.saturating_add(size).min(v.len());
    v[start..end]
        .iter()
        .map(|l| leaf_hash(l.as_ref(), &hasher))
        .collect()
}

/// [`leaf_page_with`] using Blake2b.
pub fn leaf_page<B: AsRef<[u8]>>(v: &[B], page: usize, x: u32) -> Vec<Hash> {
    leaf_page_with(v, page, x, blake2b_256)
}

#[cfg(test)]
mod tests {
    use super::*;
    use parajam_crypto::keccak_256;

    fn h(parts: &[&[u8]]) -> Hash {
        blake2b_256(&parts.concat())
    }

    fn node(l: &[u8], r: &[u8]) -> Hash {
        h(&[b"node", l, r])
    }

    fn leaf(l: &[u8]) -> Hash {
        h(&[b"leaf", l])
    }

    const A: &[u8] = b"a";
    const B: &[u8] = b"bb";
    const C: &[u8] = b"ccc";
    const D: &[u8] = b"dddd";
    const E: &[u8] = b"eeeee";

    #[test]
    fn node_function_direct_expansion() {
        let none: [&[u8]; 0] = [];
        assert_eq!(merkle_node(&none, blake2b_256), ZERO_HASH.to_vec());
        assert_eq!(merkle_node(&[A], blake2b_256), A.to_vec());
        assert_eq!(merkle_node(&[A, B], blake2b_256), node(A, B).to_vec());
        // ceil(3/2) = 2: N([a,b,c]) = H($node ++ N([a,b]) ++ c).
        assert_eq!(
            merkle_node(&[A, B, C], blake2b_256),
            node(&node(A, B), C).to_vec()
        );
    }

    #[test]
    fn well_balanced_direct_expansion() {
        let none: [&[u8]; 0] = [];
        assert_eq!(well_balanced_root(&none), ZERO_HASH);
        assert_eq!(well_balanced_root(&[A]), blake2b_256(A));
        assert_eq!(well_balanced_root(&[A, B]), node(A, B));
        assert_eq!(well_balanced_root(&[A, B, C]), node(&node(A, B), C));
        assert_eq!(
            well_balanced_root(&[A, B, C, D]),
            node(&node(A, B), &node(C, D))
        );
        // ceil(5/2) = 3: left [a,b,c], right [d,e].
        assert_eq!(
            well_balanced_root(&[A, B, C, D, E]),
            node(&node(&node(A, B), C), &node(D, E))
        );
        // Keccak variant.
        let kn = |l: &[u8], r: &[u8]| keccak_256(&[b"node", l, r].concat());
        assert_eq!(
            well_balanced_root_with(&[A, B, C], keccak_256),
            kn(&kn(A, B), C)
        );
        assert_eq!(well_balanced_root_with(&[A], keccak_256), keccak_256(A));
    }

    #[test]
    fn constant_depth_direct_expansion() {
        let none: [&[u8]; 0] = [];
        assert_eq!(constant_depth_root(&none), ZERO_HASH);
        assert_eq!(constant_depth_root(&[A]), leaf(A));
        assert_eq!(constant_depth_root(&[A, B]), node(&leaf(A), &leaf(B)));
        assert_eq!(
            constant_depth_root(&[A, B, C]),
            node(&node(&leaf(A), &leaf(B)), &node(&leaf(C), &ZERO_HASH))
        );
        assert_eq!(
            constant_depth_root(&[A, B, C, D, E]),
            node(
                &node(&node(&leaf(A), &leaf(B)), &node(&leaf(C), &leaf(D))),
                &node(&node(&leaf(E), &ZERO_HASH), &node(&ZERO_HASH, &ZERO_HASH)),
            )
        );
    }

    #[test]
    fn trace_direct_expansion() {
        let v = [A, B, C, D, E];
        // Item 3 (d): top split [a,b,c] | [d,e] -> opposite is N([a,b,c]);
        // then [d] | [e] -> opposite is e.
        assert_eq!(
            merkle_trace(&v, 3, blake2b_256),
            vec![node(&node(A, B), C).to_vec(), E.to_vec()]
        );
        // Item 0: opposite N([d,e]), then c, then b.
        assert_eq!(
            merkle_trace(&v, 0, blake2b_256),
            vec![node(D, E).to_vec(), C.to_vec(), B.to_vec()]
        );
        assert!(merkle_trace(&[A], 0, blake2b_256).is_empty());
    }

    /// Recompute the root from a page of leaves and its justification.
    fn root_from_page(page_leaves: &[Hash], page: usize, x: u32, path: &[Hash]) -> Hash {
        // Pages are aligned subtrees of size 2^x (here never larger than the tree): pad the
        // last one with zero hashes as C does.
        let mut full = page_leaves.to_vec();
        full.resize(1 << x, ZERO_HASH);
        let mut acc = node_of_hashes(&full, &blake2b_256);
        for (level, sibling) in path.iter().enumerate().rev() {
            let bit = (page >> (path.len() - 1 - level)) & 1;
            acc = if bit == 0 {
                node(&acc, sibling)
            } else {
                node(sibling, &acc)
            };
        }
        acc
    }

    #[test]
    fn justification_and_page_rebuild_root() {
        let items: Vec<Vec<u8>> = (0u8..11).map(|i| vec![i; usize::from(i) + 1]).collect();
        let root = constant_depth_root(&items);
        for x in 0..=4u32 {
            let pages = items.len().div_ceil(1 << x);
            for page in 0..pages {
                let path = justification(&items, page, x);
                let leaves = leaf_page(&items, page, x);
                // 11 items -> 16 leaves -> depth 4.
                assert_eq!(path.len(), 4usize.saturating_sub(x as usize));
                assert_eq!(leaves.len(), (items.len() - (page << x)).min(1 << x));
                assert_eq!(
                    root_from_page(&leaves, page, x, &path),
                    root,
                    "x={x} page={page}"
                );
            }
        }
        // x = 0: the justification is the whole trace of C(v).
        let c = constancy(&items, &blake2b_256);
        let full: Vec<Hash> = merkle_trace(&c, 5, blake2b_256)
            .into_iter()
            .map(|n| n.try_into().expect("32-octet node"))
            .collect();
        assert_eq!(justification(&items, 5, 0), full);
        // Out-of-range pages do not panic.
        assert!(leaf_page(&items, 100, 2).is_empty());
        assert!(leaf_page(&items, usize::MAX, 70).is_empty());
        assert_eq!(leaf_page(&items, 0, 70).len(), items.len());
        assert_eq!(justification(&items, usize::MAX, 3).len(), 1);
        let none: [&[u8]; 0] = [];
        assert!(justification(&none, 0, 0).is_empty());
    }

    #[test]
    fn well_balanced_root_from_every_trace() {
        let items: Vec<Vec<u8>> = (0u8..11).map(|i| vec![i; usize::from(i) + 1]).collect();
        for count in 1..=items.len() {
            let v = &items[..count];
            let root = well_balanced_root(v);
            for i in 0..count {
                let trace = merkle_trace(v, i, blake2b_256);
                assert_eq!(
                    well_balanced_root_from_trace(&v[i], i, count, &trace, blake2b_256),
                    Some(root),
                    "item {i} of {count}"
                );
                // Another item, or the item in another place, does not prove.
                let other = &v[(i + 1) % count];
                if count > 1 {
                    assert_ne!(
                        well_balanced_root_from_trace(other, i, count, &trace, blake2b_256),
                        Some(root)
                    );
                }
            }
            assert_eq!(
                well_balanced_root_from_trace(&v[0], count, count, &[], blake2b_256),
                None
            );
        }
    }
}
