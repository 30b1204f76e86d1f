//! The JAM conformance fuzzer protocol, version 1 (`fuzz-proto/fuzz-v1.asn`
//! in `davxy/jam-conformance`), both sides.
//!
//! A fuzzer talks to a target over a Unix stream socket. Each message is the
//! JAM encoding of a [`Message`] (a tag octet, then the payload) prefixed by
//! its length as a little-endian u32. The fuzzer sends `PeerInfo`, the
//! target answers with its own; then the fuzzer sends `Initialize`,
//! `ImportBlock` and `GetState` requests and the target answers each with a
//! `StateRoot`, `StateRoot` or `State` (or an `Error`, e.g. for an invalid
//! block, after which the target keeps its previous state).
//!
//! - [`message`]: the messages and their strict encoding;
//! - [`frame`]: length-prefixed framing;
//! - [`session`]: the [`Target`] a node implements and the socket-free [`Session`];
//! - [`server`]: [`serve`] a target on a socket, surviving any input;
//! - [`client`]: the fuzzer side, for tests and tools.
//!
//! ```no_run
//! # use parajam_fuzz::{serve, Target, AncestryItem};
//! # use parajam_primitives::types::*;
//! struct Node;
//! impl Target for Node {
//!     fn initialize(&mut self, _: Header, _: Vec<KeyValue>, _: Vec<AncestryItem>) -> Result<StateRoot, String> { todo!() }
//!     fn import_block(&mut self, _: Block) -> Result<StateRoot, String> { todo!() }
//!     fn get_state(&mut self, _: &HeaderHash) -> Result<Vec<KeyValue>, String> { todo!() }
//! }
//! serve("/tmp/jam_target.sock", || Node)?;
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod client;
pub mod error;
pub mod frame;
pub mod message;
pub mod server;
pub mod session;

pub use client::Client;
pub use error::ProtocolError;
pub use frame::{read_frame, read_message, write_frame, write_message, DEFAULT_MAX_FRAME};
pub use message::{
    tag, AncestryItem, Features, Initialize, Message, PeerInfo, Version, FUZZ_VERSION,
    MAX_ANCESTRY_LEN,
};
pub use server::{serve, serve_connection, Server, SessionEnd};
pub use session::{Config, Session, Target};
