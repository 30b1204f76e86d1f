//! Gray Paper 0.7.2 primitives for parajam: protocol parameters, the JAM
//! codec and the protocol's data types.
//!
//! ```
//! use parajam_primitives::{codec, params::ProtocolParameters, types::WorkItem};
//! # let item = WorkItem::default();
//! let bytes = codec::Encode::encode(&item);
//! let back: WorkItem = codec::decode(&bytes, &ProtocolParameters::TINY).unwrap();
//! assert_eq!(back, item);
//! ```

pub mod bytes;
pub mod codec;
pub mod params;
pub mod types;

pub use bytes::{ByteArray, Bytes};
pub use codec::{decode, DecodeError};
pub use params::ProtocolParameters;
