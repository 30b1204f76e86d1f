//! Gray Paper 0.7.2 data types with their JAM encodings (GP appendix C) and
//! the JSON shape of the conformance vectors (`lib/jam-types.asn`).
//!
//! Field order is encoding order. Where the paper encodes an integer as a
//! general natural (eq. C.6) rather than fixed-width, the field carries
//! `#[codec(compact)]` and a comment naming the equation.

pub mod account;
pub mod block;
pub mod common;
pub mod extrinsic;
pub mod state;
pub mod trace;
pub mod work;

pub use account::*;
pub use block::*;
pub use common::*;
pub use extrinsic::*;
pub use state::*;
pub use trace::*;
pub use work::*;
