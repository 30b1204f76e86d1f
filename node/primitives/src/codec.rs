//! The JAM codec (GP appendix C) on top of Parity's `jam-codec`.
//!
//! `jam-codec` is `parity-scale-codec` with the Gray Paper's natural-number
//! prefix (eq. C.6) in place of SCALE's compact integers, so its derives give
//! exactly the GP encodings of tuples, fixed-width little-endian integers,
//! length-prefixed sequences, options (`¿x`), discriminated unions and
//! dictionaries. It bounds pre-allocation by the remaining input, so a huge
//! length prefix in a short input fails instead of allocating.
//!
//! What it cannot express is a sequence whose *fixed* length is a protocol
//! parameter (`⟦T⟧_V`, `⟦T⟧_C`, `⟦T⟧_E`, ...): such sequences carry no length
//! prefix and the decoder must know `V`, `C` or `E`. Parameters are a run-time
//! value here, and `jam_codec::Decode` has no context argument, so decoding
//! happens inside a *parameter scope*: [`decode`] installs the
//! [`ProtocolParameters`] for the current thread while it runs, and the
//! parameter-sized wrappers [`FixedSeq`], [`BoundedSeq`] and [`FixedBytes`]
//! read them. Decoding such a type outside a scope is a typed error, never a
//! guess.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

pub use jam_codec::{Compact, Decode, Encode, Input, Output};

use crate::params::ProtocolParameters;

thread_local! {
    static SCOPE: Cell<Option<ProtocolParameters>> = const { Cell::new(None) };
}

/// Restores the previous scope on drop, also when decoding unwinds.
struct ScopeGuard(Option<ProtocolParameters>);

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        SCOPE.with(|s| s.set(self.0));
    }
}

/// Runs `f` with `params` as the parameter scope of the current thread.
pub fn with_params<R>(params: &ProtocolParameters, f: impl FnOnce() -> R) -> R {
    let _guard = ScopeGuard(SCOPE.with(|s| s.replace(Some(*params))));
    f()
}

/// The parameters of the enclosing scope, if any.
pub fn current_params() -> Option<ProtocolParameters> {
    SCOPE.with(Cell::get)
}

fn scope_params() -> Result<ProtocolParameters, jam_codec::Error> {
    current_params().ok_or_else(|| {
        jam_codec::Error::from("parameter-sized value decoded outside a parameter scope")
    })
}

/// Why a value could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input does not encode a value of the requested type.
    #[error("invalid encoding of {ty}: {reason}")]
    Invalid {
        /// The type being decoded.
        ty: &'static str,
        /// What the decoder found wrong (innermost cause first).
        reason: String,
    },
    /// The input decodes, but is not the value's one encoding (GP appendix C
    /// defines exactly one encoding per value; e.g. a natural written with a
    /// longer prefix than needed). Accepting it would make blocks malleable.
    #[error("non-canonical encoding of {ty}")]
    NonCanonical {
        /// The type being decoded.
        ty: &'static str,
    },
    /// A value was decoded but bytes remain after it.
    #[error("{remaining} trailing bytes after a complete {ty}")]
    TrailingBytes {
        /// The type being decoded.
        ty: &'static str,
        /// Octets left unread.
        remaining: usize,
    },
}

fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    // Strip module paths but keep generic arguments readable enough.
    full.rsplit("::").next().unwrap_or(full)
}

/// Decodes exactly one `T` from `bytes` under `params`.
///
/// Strict: no trailing bytes, and `bytes` must be the canonical encoding of
/// the value (checked by re-encoding, which costs about a tenth of the decode).
pub fn decode<T: Decode + Encode>(
    bytes: &[u8],
    params: &ProtocolParameters,
) -> Result<T, DecodeError> {
    let mut input = bytes;
    let value = decode_prefix(&mut input, params)?;
    if !input.is_empty() {
        return Err(DecodeError::TrailingBytes {
            ty: short_type_name::<T>(),
            remaining: input.len(),
        });
    }
    Ok(value)
}

/// A general natural (GP eq. C.6) from the front of `bytes`, canonically
/// encoded, and the rest; `None` if there is none.
pub fn decode_general_natural(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut input = bytes;
    // The parameters play no part in a natural's encoding.
    let Compact(n) = decode_prefix::<Compact<u64>>(&mut input, &ProtocolParameters::TINY).ok()?;
    Some((n, input))
}

/// Decodes one `T` from the front of `input` under `params`, leaving the rest.
/// The consumed octets must be the canonical encoding of the value.
pub fn decode_prefix<T: Decode + Encode>(
    input: &mut &[u8],
    params: &ProtocolParameters,
) -> Result<T, DecodeError> {
    let start = *input;
    let value = with_params(params, || T::decode(input)).map_err(|e| DecodeError::Invalid {
        ty: short_type_name::<T>(),
        reason: e.to_string(),
    })?;
    let consumed = &start[..start.len() - input.len()];
    if value.using_encoded(|again| again == consumed) {
        Ok(value)
    } else {
        Err(DecodeError::NonCanonical {
            ty: short_type_name::<T>(),
        })
    }
}

/// A length that a protocol parameter fixes or bounds.
pub trait ParamLen: 'static {
    /// What the length is, for error messages (`"V (validators)"`).
    const NAME: &'static str;
    /// The length under `params`.
    fn get(params: &ProtocolParameters) -> usize;
}

macro_rules! param_len {
    ($(#[$doc:meta] $name:ident = $label:literal, |$p:ident| $e:expr;)*) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name;
        impl ParamLen for $name {
            const NAME: &'static str = $label;
            fn get($p: &ProtocolParameters) -> usize { $e }
        }
    )*};
}

param_len! {
    /// `V`, the number of validators.
    ValidatorsCount = "V (validators)", |p| usize::from(p.validators_count);
    /// `C`, the number of cores.
    CoreCount = "C (cores)", |p| usize::from(p.core_count);
    /// `E`, the epoch length.
    EpochLength = "E (epoch length)", |p| p.epoch_length as usize;
    /// `K`, the maximum number of tickets in one extrinsic.
    MaxTicketsPerBlock = "K (tickets per block)", |p| usize::from(p.max_tickets_per_block);
    /// `⌊2V/3⌋+1`, the votes in a verdict.
    SuperMajority = "⌊2V/3⌋+1 (verdict votes)", |p| p.validators_super_majority();
    /// `⌈C/8⌉`, octets in an availability bitfield.
    AvailBitfieldBytes = "⌈C/8⌉ (bitfield octets)", |p| p.avail_bitfield_bytes();
    /// `O`, the authorizer pool size bound.
    AuthPoolMaxSize = "O (auth pool size)", |p| usize::from(p.auth_pool_max_size);
    /// `Q`, the authorizer queue length.
    AuthQueueSize = "Q (auth queue size)", |p| usize::from(p.auth_queue_size);
    /// `H`, the recent history length bound.
    RecentHistorySize = "H (recent history)", |p| usize::from(p.recent_history_size);
    /// `I`, the bound on work items in a package and digests in a report.
    MaxWorkItems = "I (work items)", |p| usize::from(p.max_work_items);
}

/// `⟦T⟧_L`: a sequence of exactly `L` items, encoded without a length prefix.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct FixedSeq<T, L: ParamLen>(pub Vec<T>, PhantomData<L>);

/// `⟦T⟧_{m:L}`: a sequence of at most `L` items (and at least `MIN`),
/// encoded with a length prefix; the bound is checked at decode time.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BoundedSeq<T, L: ParamLen, const MIN: usize = 0>(pub Vec<T>, PhantomData<L>);

/// `𝔹_L`: exactly `L` octets, encoded as themselves.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct FixedBytes<L: ParamLen>(pub Vec<u8>, PhantomData<L>);

macro_rules! vec_wrapper_common {
    ([$($gen:tt)*] $ty:ty, $item:ty, [$($dbg:tt)*]) => {
        impl<$($gen)*> $ty {
            /// Wraps `items` without checking the length (checked at decode and by `check_len`).
            pub fn new(items: Vec<$item>) -> Self {
                Self(items, PhantomData)
            }
            /// The items.
            pub fn into_inner(self) -> Vec<$item> {
                self.0
            }
        }
        impl<$($gen)*> std::ops::Deref for $ty {
            type Target = Vec<$item>;
            fn deref(&self) -> &Vec<$item> {
                &self.0
            }
        }
        impl<$($gen)*> std::ops::DerefMut for $ty {
            fn deref_mut(&mut self) -> &mut Vec<$item> {
                &mut self.0
            }
        }
        impl<$($gen)*> Default for $ty {
            fn default() -> Self {
                Self(Vec::new(), PhantomData)
            }
        }
        impl<$($gen)*> From<Vec<$item>> for $ty {
            fn from(items: Vec<$item>) -> Self {
                Self(items, PhantomData)
            }
        }
        impl<$($dbg)*> fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

vec_wrapper_common!([T, L: ParamLen] FixedSeq<T, L>, T, [T: fmt::Debug, L: ParamLen]);
vec_wrapper_common!(
    [T, L: ParamLen, const MIN: usize] BoundedSeq<T, L, MIN>,
    T,
    [T: fmt::Debug, L: ParamLen, const MIN: usize]
);
vec_wrapper_common!([L: ParamLen] FixedBytes<L>, u8, [L: ParamLen]);

impl<T: Encode, L: ParamLen> Encode for FixedSeq<T, L> {
    fn size_hint(&self) -> usize {
        self.0.iter().map(Encode::size_hint).sum()
    }
    fn encode_to<W: Output + ?Sized>(&self, dest: &mut W) {
        for item in &self.0 {
            item.encode_to(dest);
        }
    }
}

impl<T: Decode, L: ParamLen> Decode for FixedSeq<T, L> {
    fn decode<I: Input>(input: &mut I) -> Result<Self, jam_codec::Error> {
        let len = L::get(&scope_params()?);
        // Items occupy at least one octet each unless zero-sized; cap the
        // pre-allocation by what the input can hold.
        let cap = input.remaining_len()?.map_or(len, |r| r.min(len));
        let mut items = Vec::with_capacity(cap);
        for _ in 0..len {
            items.push(T::decode(input)?);
        }
        Ok(Self(items, PhantomData))
    }
}

impl<T: Encode, L: ParamLen, const MIN: usize> Encode for BoundedSeq<T, L, MIN> {
    fn size_hint(&self) -> usize {
        self.0.size_hint()
    }
    fn encode_to<W: Output + ?Sized>(&self, dest: &mut W) {
        self.0.encode_to(dest);
    }
}

impl<T: Decode, L: ParamLen, const MIN: usize> Decode for BoundedSeq<T, L, MIN> {
    fn decode<I: Input>(input: &mut I) -> Result<Self, jam_codec::Error> {
        let max = L::get(&scope_params()?);
        let Compact(len) = Compact::<u32>::decode(input)?;
        let len = len as usize;
        if len > max || len < MIN {
            return Err(
                jam_codec::Error::from("sequence length outside its protocol bound")
                    .chain(format!("{len} items, bound {MIN}..={max} by {}", L::NAME)),
            );
        }
        let cap = input.remaining_len()?.map_or(len, |r| r.min(len));
        let mut items = Vec::with_capacity(cap);
        for _ in 0..len {
            items.push(T::decode(input)?);
        }
        Ok(Self(items, PhantomData))
    }
}

impl<L: ParamLen> Encode for FixedBytes<L> {
    fn size_hint(&self) -> usize {
        self.0.len()
    }
    fn encode_to<W: Output + ?Sized>(&self, dest: &mut W) {
        dest.write(&self.0);
    }
}

impl<L: ParamLen> Decode for FixedBytes<L> {
    fn decode<I: Input>(input: &mut I) -> Result<Self, jam_codec::Error> {
        let len = L::get(&scope_params()?);
        if let Some(remaining) = input.remaining_len()? {
            if remaining < len {
                return Err("not enough data to fill a fixed-length octet string".into());
            }
        }
        let mut bytes = vec![0u8; len];
        input.read(&mut bytes)?;
        Ok(Self(bytes, PhantomData))
    }
}

/// Checks that every parameter-sized sequence in a value matches `params`.
///
/// Decoding checks this already; values built in code (or parsed from JSON)
/// are checked with this before they are encoded into consensus data.
pub trait CheckParams {
    /// Returns the first mismatch found.
    fn check_params(&self, params: &ProtocolParameters) -> Result<(), LengthMismatch>;
}

/// A parameter-sized sequence with the wrong number of items.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {found} items where {bound} ({expected}) allows")]
pub struct LengthMismatch {
    /// The parameter that sizes the sequence.
    pub what: &'static str,
    /// How many items the sequence has.
    pub found: usize,
    /// The length or bound it must have.
    pub expected: usize,
    /// `exactly` or `at most`.
    pub bound: &'static str,
}

impl<T, L: ParamLen> FixedSeq<T, L> {
    /// Checks the length against `params`.
    pub fn check_len(&self, params: &ProtocolParameters) -> Result<(), LengthMismatch> {
        let expected = L::get(params);
        if self.0.len() == expected {
            Ok(())
        } else {
            Err(LengthMismatch {
                what: L::NAME,
                found: self.0.len(),
                expected,
                bound: "exactly",
            })
        }
    }
}

impl<T, L: ParamLen, const MIN: usize> BoundedSeq<T, L, MIN> {
    /// Checks the length against `params`.
    pub fn check_len(&self, params: &ProtocolParameters) -> Result<(), LengthMismatch> {
        let max = L::get(params);
        if self.0.len() > max {
            Err(LengthMismatch {
                what: L::NAME,
                found: self.0.len(),
                expected: max,
                bound: "at most",
            })
        } else if self.0.len() < MIN {
            Err(LengthMismatch {
                what: L::NAME,
                found: self.0.len(),
                expected: MIN,
                bound: "at least",
            })
        } else {
            Ok(())
        }
    }
}

impl<L: ParamLen> FixedBytes<L> {
    /// Checks the length against `params`.
    pub fn check_len(&self, params: &ProtocolParameters) -> Result<(), LengthMismatch> {
        let expected = L::get(params);
        if self.0.len() == expected {
            Ok(())
        } else {
            Err(LengthMismatch {
                what: L::NAME,
                found: self.0.len(),
                expected,
                bound: "exactly",
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_number_encoding_matches_gp_c6() {
        // Boundaries of each prefix length l: 2^(7l) <= x < 2^(7(l+1)).
        let cases: &[(u64, &[u8])] = &[
            (0, &[0]),
            (1, &[1]),
            (127, &[127]),
            (128, &[0x80, 0x80]),
            (16_383, &[0xbf, 0xff]),
            (16_384, &[0xc0, 0x00, 0x40]),
            (
                u64::MAX,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
        ];
        for &(x, bytes) in cases {
            assert_eq!(Compact(x).encode(), bytes, "encoding {x}");
            let back: Compact<u64> = decode(bytes, &ProtocolParameters::TINY).expect("decodes");
            assert_eq!(back.0, x);
        }
    }

    #[test]
    fn fixed_seq_needs_a_scope() {
        let bytes = [0u8; 6];
        let mut input = &bytes[..];
        let outside = FixedSeq::<u8, ValidatorsCount>::decode(&mut input);
        assert!(outside.is_err());
        let inside: FixedSeq<u8, ValidatorsCount> =
            decode(&bytes, &ProtocolParameters::TINY).expect("6 validators in tiny");
        assert_eq!(inside.len(), 6);
        assert!(current_params().is_none(), "scope is restored");
    }

    #[test]
    fn bounded_seq_rejects_over_bound() {
        // Four 1-octet items where K = 3 in tiny.
        let bytes = [4u8, 1, 2, 3, 4];
        let err = decode::<BoundedSeq<u8, MaxTicketsPerBlock>>(&bytes, &ProtocolParameters::TINY)
            .expect_err("over bound");
        assert!(err.to_string().contains("bound"), "{err}");
        let ok = decode::<BoundedSeq<u8, MaxTicketsPerBlock>>(&bytes, &ProtocolParameters::FULL)
            .expect("K = 16 in full");
        assert_eq!(ok.len(), 4);
        let empty = decode::<BoundedSeq<u8, MaxWorkItems, 1>>(&[0], &ProtocolParameters::FULL);
        assert!(empty.is_err(), "below the minimum");
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let err = decode::<u16>(&[1, 2, 3], &ProtocolParameters::TINY).expect_err("trailing");
        assert_eq!(
            err,
            DecodeError::TrailingBytes {
                ty: "u16",
                remaining: 1
            }
        );
    }

    #[test]
    fn non_canonical_naturals_are_rejected() {
        // 5 written with a two-octet prefix, and with the 9-octet form.
        let err = decode::<Compact<u64>>(&[0x80, 0x05], &ProtocolParameters::TINY);
        assert!(
            matches!(err, Err(DecodeError::NonCanonical { .. })),
            "{err:?}"
        );
        let long = [0xff, 5, 0, 0, 0, 0, 0, 0, 0];
        assert!(decode::<Compact<u64>>(&long, &ProtocolParameters::TINY).is_err());
        // A two-item sequence whose length prefix is non-canonical.
        let err = decode::<Vec<u8>>(&[0x80, 0x02, 1, 2], &ProtocolParameters::TINY);
        assert!(
            matches!(err, Err(DecodeError::NonCanonical { .. })),
            "{err:?}"
        );
    }

    #[test]
    fn huge_length_prefix_does_not_allocate() {
        // Length prefix 2^32-1 followed by nothing.
        let bytes = [0xf0, 0xff, 0xff, 0xff, 0xff];
        assert!(decode::<Vec<u64>>(&bytes, &ProtocolParameters::TINY).is_err());
        assert!(decode::<Vec<Vec<u8>>>(&bytes, &ProtocolParameters::TINY).is_err());
    }
}

mod serde_impls {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{BoundedSeq, FixedSeq, ParamLen};

    impl<T: Serialize, L: ParamLen> Serialize for FixedSeq<T, L> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            self.0.serialize(serializer)
        }
    }

    impl<'de, T: Deserialize<'de>, L: ParamLen> Deserialize<'de> for FixedSeq<T, L> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            Vec::deserialize(deserializer).map(Self::new)
        }
    }

    impl<T: Serialize, L: ParamLen, const MIN: usize> Serialize for BoundedSeq<T, L, MIN> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            self.0.serialize(serializer)
        }
    }

    impl<'de, T: Deserialize<'de>, L: ParamLen, const MIN: usize> Deserialize<'de>
        for BoundedSeq<T, L, MIN>
    {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            Vec::deserialize(deserializer).map(Self::new)
        }
    }
}
