//! Octet strings: fixed-size arrays (hashes, keys, signatures) and blobs,
//! encoded as themselves (GP eq. C.2) or with a length prefix (`↕x`), and
//! shown as `0x`-prefixed hex in JSON like the conformance vectors.

use std::fmt;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use crate::codec::{Decode, Encode, FixedBytes, Input, Output, ParamLen};

/// Parses hex with or without a `0x` prefix.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, hex::FromHexError> {
    hex::decode(s.strip_prefix("0x").unwrap_or(s))
}

fn serialize_hex<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    let mut s = String::with_capacity(2 + bytes.len() * 2);
    s.push_str("0x");
    s.push_str(&hex::encode(bytes));
    serializer.serialize_str(&s)
}

fn deserialize_hex<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
    parse_hex(&s).map_err(de::Error::custom)
}

/// `𝔹_N`: exactly `N` octets (hashes `ℍ = 𝔹_32`, keys, signatures).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteArray<const N: usize>(pub [u8; N]);

impl<const N: usize> ByteArray<N> {
    /// All zero octets (the paper's `0^N`, e.g. the zero hash).
    pub const ZERO: Self = Self([0; N]);

    /// The octets.
    pub fn as_bytes(&self) -> &[u8; N] {
        &self.0
    }
}

impl<const N: usize> Default for ByteArray<N> {
    fn default() -> Self {
        Self::ZERO
    }
}

impl<const N: usize> From<[u8; N]> for ByteArray<N> {
    fn from(bytes: [u8; N]) -> Self {
        Self(bytes)
    }
}

impl<const N: usize> From<ByteArray<N>> for [u8; N] {
    fn from(bytes: ByteArray<N>) -> Self {
        bytes.0
    }
}

impl<const N: usize> TryFrom<&[u8]> for ByteArray<N> {
    type Error = std::array::TryFromSliceError;
    fn try_from(bytes: &[u8]) -> Result<Self, Self::Error> {
        Ok(Self(bytes.try_into()?))
    }
}

impl<const N: usize> AsRef<[u8]> for ByteArray<N> {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl<const N: usize> std::ops::Deref for ByteArray<N> {
    type Target = [u8; N];
    fn deref(&self) -> &[u8; N] {
        &self.0
    }
}

impl<const N: usize> fmt::Debug for ByteArray<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl<const N: usize> fmt::Display for ByteArray<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl<const N: usize> Encode for ByteArray<N> {
    fn size_hint(&self) -> usize {
        N
    }
    fn encode_to<W: Output + ?Sized>(&self, dest: &mut W) {
        dest.write(&self.0);
    }
}

impl<const N: usize> Decode for ByteArray<N> {
    fn decode<I: Input>(input: &mut I) -> Result<Self, jam_codec::Error> {
        let mut bytes = [0u8; N];
        input.read(&mut bytes)?;
        Ok(Self(bytes))
    }
}

impl<const N: usize> Serialize for ByteArray<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_hex(&self.0, serializer)
    }
}

impl<'de, const N: usize> Deserialize<'de> for ByteArray<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = deserialize_hex(deserializer)?;
        let len = bytes.len();
        bytes
            .try_into()
            .map(Self)
            .map_err(|_| de::Error::invalid_length(len, &format!("{N} octets").as_str()))
    }
}

/// `↕𝔹`: a blob of any length, encoded with its length prefix.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    /// The octets.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl From<&[u8]> for Bytes {
    fn from(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl std::ops::Deref for Bytes {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(&self.0))
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_hex(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_hex(deserializer).map(Self)
    }
}

impl<L: ParamLen> Serialize for FixedBytes<L> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_hex(&self.0, serializer)
    }
}

impl<'de, L: ParamLen> Deserialize<'de> for FixedBytes<L> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_hex(deserializer).map(Self::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let h: ByteArray<4> = serde_json::from_str("\"0x01020304\"").expect("hex");
        assert_eq!(h.0, [1, 2, 3, 4]);
        assert_eq!(serde_json::to_string(&h).expect("json"), "\"0x01020304\"");
        assert!(serde_json::from_str::<ByteArray<4>>("\"0x0102\"").is_err());
        let b: Bytes = serde_json::from_str("\"0x\"").expect("empty blob");
        assert!(b.is_empty());
        assert_eq!(Bytes(vec![7, 8]).encode(), vec![2, 7, 8]);
    }
}
