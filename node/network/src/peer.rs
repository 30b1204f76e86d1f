//! Peer identities: a peer is its Ed25519 public key, named on the wire by
//! its *alternative name* (JAMNP-S "Alternative name"), and for every pair of
//! validators one of them is the *preferred initiator* of their connection
//! (JAMNP-S "Required connectivity").

use std::fmt;

/// The base-32 alphabet of the alternative name, `$abcdefghijklmnopqrstuvwxyz234567`.
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Characters of `B(·, 52)`: 52 × 5 = 260 bits cover the 256 of a key.
const NAME_DIGITS: usize = 52;

/// A peer: its Ed25519 public key (`k_e` for a validator).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(pub [u8; 32]);

impl PeerId {
    /// `N(k)`, the alternative name of the peer's certificate.
    pub fn alt_name(&self) -> String {
        alt_name(&self.0)
    }

    /// Parses an alternative name back into the key, `None` if `name` is
    /// not `N(k)` of any key.
    pub fn from_alt_name(name: &str) -> Option<Self> {
        let digits = name.strip_prefix('e')?.as_bytes();
        if digits.len() != NAME_DIGITS {
            return None;
        }
        let mut key = [0u8; 32];
        for (i, c) in digits.iter().enumerate() {
            let value = ALPHABET.iter().position(|a| a == c)?;
            for bit in 0..5 {
                if value >> bit & 1 == 1 {
                    let at = i * 5 + bit;
                    // Bits past the 256th must be zero.
                    let byte = key.get_mut(at / 8)?;
                    *byte |= 1 << (at % 8);
                }
            }
        }
        (alt_name(&key) == name).then_some(Self(key))
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.alt_name())
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({})", self.alt_name())
    }
}

/// `N(k) = "e" ⌢ B(E_32^{-1}(k), 52)`: the key read as a little-endian
/// 256-bit number, written in base 32 least significant digit first.
pub fn alt_name(key: &[u8; 32]) -> String {
    let mut name = String::with_capacity(1 + NAME_DIGITS);
    name.push('e');
    for i in 0..NAME_DIGITS {
        let mut digit = 0usize;
        for bit in 0..5 {
            let at = i * 5 + bit;
            let set = key.get(at / 8).is_some_and(|b| b >> (at % 8) & 1 == 1);
            digit |= usize::from(set) << bit;
        }
        name.push(char::from(ALPHABET[digit]));
    }
    name
}

/// `P(a, b)`: the preferred initiator of the connection between the
/// validators of Ed25519 keys `a` and `b`: `a` when
/// `(a_31 > 127) ⊕ (b_31 > 127) ⊕ (a < b)`, else `b`.
pub fn preferred_initiator(a: &PeerId, b: &PeerId) -> PeerId {
    if (a.0[31] > 127) ^ (b.0[31] > 127) ^ (a.0 < b.0) {
        *a
    } else {
        *b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alt_name_is_e_and_52_base32_digits_least_significant_first() {
        let mut key = [0u8; 32];
        assert_eq!(alt_name(&key), format!("e{}", "a".repeat(52)));
        // 1 is the first digit `b`; 32 is the second digit `b`.
        key[0] = 1;
        assert_eq!(alt_name(&key), format!("eb{}", "a".repeat(51)));
        key[0] = 32;
        assert_eq!(alt_name(&key), format!("eab{}", "a".repeat(50)));
        // The top bit of the key (bit 255) is bit 0 of digit 51.
        let mut top = [0u8; 32];
        top[31] = 0x80;
        assert_eq!(alt_name(&top), format!("e{}b", "a".repeat(51)));
        let all = alt_name(&[0xff; 32]);
        assert_eq!(&all[..52], &format!("e{}", "7".repeat(51)));
        assert_eq!(&all[52..], "b");
    }

    #[test]
    fn alt_names_parse_back_and_other_names_do_not() {
        for seed in 0u8..20 {
            let key: [u8; 32] = std::array::from_fn(|i| {
                seed.wrapping_mul(37)
                    .wrapping_add(u8::try_from(i).expect("< 32").wrapping_mul(11))
            });
            let id = PeerId(key);
            assert_eq!(PeerId::from_alt_name(&id.alt_name()), Some(id));
        }
        assert_eq!(PeerId::from_alt_name("eaaaa"), None);
        assert_eq!(PeerId::from_alt_name(&format!("x{}", "a".repeat(52))), None);
        assert_eq!(
            PeerId::from_alt_name(&format!("e{}1", "a".repeat(51))),
            None
        );
        // Digit 51 carries one bit only: `c` (2) sets bit 256.
        assert_eq!(
            PeerId::from_alt_name(&format!("e{}c", "a".repeat(51))),
            None
        );
    }

    #[test]
    fn preferred_initiator_is_symmetric_and_follows_the_rule() {
        let low = PeerId([1; 32]);
        let high = PeerId([2; 32]);
        // Both top octets ≤ 127: the smaller key initiates.
        assert_eq!(preferred_initiator(&low, &high), low);
        assert_eq!(preferred_initiator(&high, &low), low);
        // One top octet > 127: the larger key initiates.
        let mut big = [1u8; 32];
        big[31] = 200;
        let big = PeerId(big);
        let small = PeerId([0; 32]);
        assert_eq!(preferred_initiator(&small, &big), big);
        assert_eq!(preferred_initiator(&big, &small), big);
    }
}
