//! Merkle Mountain Ranges and Belts, GP appendix E.2 (v0.7.2).
//!
//! A range is a sequence of optional peaks $\sequence{\optional{\mathbb{H}}}$; peak $i$, when
//! present, is the root of a tree of $2^i$ items. The recent-history accumulation-output belt
//! (GP 7.3) appends with Keccak, and the super-peak is always Keccak.

use parajam_crypto::{keccak_256, keccak_256_concat, Hash, ZERO_HASH};

/// Prefix $\$peak$ of the super-peak function.
const PEAK_PREFIX: &[u8] = b"peak";

/// The append function $\mathcal{A}(\mathbf{r}, l, H)$ (eq. `eq:mmrappend`), in place.
///
/// $P(\mathbf{r}, l, n)$: if $n \ge |\mathbf{r}|$ push $l$; if $\mathbf{r}_n = \varnothing$
/// set it to $l$; otherwise clear $\mathbf{r}_n$ and carry $H(\mathbf{r}_n \frown l)$ to
/// $n + 1$.
pub fn mmr_append<H>(peaks: &mut Vec<Option<Hash>>, leaf: Hash, hasher: H)
where
    H: Fn(&[u8]) -> Hash,
{
    let mut carry = leaf;
    for slot in peaks.iter_mut() {
        match slot.take() {
            None => {
                *slot = Some(carry);
                return;
            }
            Some(peak) => {
                let mut buf = [0u8; 64];
                buf[..32].copy_from_slice(&peak);
                buf[32..].copy_from_slice(&carry);
                carry = hasher(&buf);
            }
        }
    }
    peaks.push(Some(carry));
}

/// [`mmr_append`] with Keccak-256, as used by the accumulation-output belt (GP eq. 7.3,
/// $\mathcal{A}(\mathbf{b}, \mathcal{M}_B(\mathbf{s}, \mathcal{H}_K), \mathcal{H}_K)$).
pub fn mmr_append_keccak(peaks: &mut Vec<Option<Hash>>, leaf: Hash) {
    mmr_append(peaks, leaf, keccak_256);
}

/// The super-peak function $\mathcal{M}_R(\mathbf{b})$ (GP E.2): with $\mathbf{h}$ the present
/// peaks in order, $\mathbf{0}_{32}$ if none, $\mathbf{h}_0$ if one, otherwise
/// $\mathcal{H}_K(\$peak \frown \mathcal{M}_R(\mathbf{h}_{\dots|\mathbf{h}|-1}) \frown
/// \mathbf{h}_{|\mathbf{h}|-1})$ — a left fold.
pub fn mmr_super_peak(peaks: &[Option<Hash>]) -> Hash {
    let mut present = peaks.iter().flatten();
    let Some(first) = present.next() else {
        return ZERO_HASH;
    };
    present.fold(*first, |acc, peak| {
        keccak_256_concat(&[PEAK_PREFIX, &acc, peak])
    })
}

/// The MMR encoding $\mathcal{E}_M(\mathbf{b}) = \mathcal{E}(\updownarrow[\,¿x \mid x <- \mathbf{b}])$
/// (GP E.2): a length-prefixed sequence of optionals, each `0` for $\varnothing$ or `1` followed
/// by the 32-octet peak.
pub fn mmr_encode(peaks: &[Option<Hash>]) -> Vec<u8> {
    let present = peaks.iter().flatten().count();
    let mut out = Vec::with_capacity(9 + peaks.len() + 32 * present);
    encode_natural(peaks.len() as u64, &mut out);
    for peak in peaks {
        match peak {
            None => out.push(0),
            Some(h) => {
                out.push(1);
                out.extend_from_slice(h);
            }
        }
    }
    out
}

/// The general natural-number encoding $\mathcal{E}(x)$ of GP appendix C (eq. C.6).
fn encode_natural(x: u64, out: &mut Vec<u8>) {
    if x == 0 {
        out.push(0);
        return;
    }
    for l in 0..8u32 {
        // 2^(7l) <= x < 2^(7(l+1))
        if x < 1u64 << (7 * (l + 1)) {
            // 2^8 - 2^(8-l) + floor(x / 2^(8l)); the latter is octet l of x, below 2^(7-l).
            let bytes = x.to_le_bytes();
            out.push(!(0xffu8 >> l) | bytes[l as usize]);
            out.extend_from_slice(&bytes[..l as usize]);
            return;
        }
    }
    out.push(0xff);
    out.extend_from_slice(&x.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k2(a: &Hash, b: &Hash) -> Hash {
        keccak_256(&[a.as_slice(), b.as_slice()].concat())
    }

    #[test]
    #[allow(clippy::many_single_char_names)]
    fn append_sequence() {
        let [a, b, c, d, e] = [1u8, 2, 3, 4, 5].map(|i| [i; 32]);
        let mut r = Vec::new();
        mmr_append_keccak(&mut r, a);
        assert_eq!(r, vec![Some(a)]);
        mmr_append_keccak(&mut r, b);
        assert_eq!(r, vec![None, Some(k2(&a, &b))]);
        mmr_append_keccak(&mut r, c);
        assert_eq!(r, vec![Some(c), Some(k2(&a, &b))]);
        mmr_append_keccak(&mut r, d);
        let abcd = k2(&k2(&a, &b), &k2(&c, &d));
        assert_eq!(r, vec![None, None, Some(abcd)]);
        mmr_append_keccak(&mut r, e);
        assert_eq!(r, vec![Some(e), None, Some(abcd)]);
    }

    #[test]
    fn super_peak_direct_expansion() {
        let [a, b, c] = [7u8, 8, 9].map(|i| [i; 32]);
        let peak = |l: &Hash, r: &Hash| keccak_256(&[b"peak".as_slice(), l, r].concat());
        assert_eq!(mmr_super_peak(&[]), ZERO_HASH);
        assert_eq!(mmr_super_peak(&[None, None]), ZERO_HASH);
        assert_eq!(mmr_super_peak(&[None, Some(a)]), a);
        assert_eq!(mmr_super_peak(&[Some(a), None, Some(b)]), peak(&a, &b));
        assert_eq!(
            mmr_super_peak(&[Some(a), Some(b), None, Some(c)]),
            peak(&peak(&a, &b), &c)
        );
    }

    #[test]
    fn encoding() {
        let a = [7u8; 32];
        assert_eq!(mmr_encode(&[]), vec![0]);
        let mut want = vec![3, 0, 1];
        want.extend_from_slice(&a);
        want.push(0);
        assert_eq!(mmr_encode(&[None, Some(a), None]), want);
    }

    #[test]
    fn natural_encoding() {
        let enc = |x: u64| {
            let mut v = Vec::new();
            encode_natural(x, &mut v);
            v
        };
        assert_eq!(enc(0), vec![0]);
        assert_eq!(enc(1), vec![1]);
        assert_eq!(enc(127), vec![127]);
        assert_eq!(enc(128), vec![0x80, 0x80]);
        assert_eq!(enc(0x3fff), vec![0xbf, 0xff]);
        assert_eq!(enc(0x4000), vec![0xc0, 0x00, 0x40]);
        assert_eq!(enc(1 << 56), vec![0xff, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(
            enc((1 << 56) - 1),
            vec![0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
    }
}
