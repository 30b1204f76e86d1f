//! The CoreChains service: Polkadot parachains on JAM, unchanged.
//!
//! The service does what the relay chain did for a parachain, as a JAM
//! service (GP 0.7.2) that uses nothing but the paper's host calls:
//!
//! - **refine** ([`refine`]) validates one parachain block: it runs the
//!   para's validation function (PVF), recompiled to the PVM, as an inner
//!   machine ([`executor`]), serving the Substrate host functions the PVF
//!   imports ([`host_functions`], table version 2, [`allocator`]);
//! - **accumulate** ([`accumulate`]) enacts the results: heads, code
//!   upgrades, message queues, registrations, and the downward messages
//!   the registrar sends for the relay chain's governance;
//! - the **authorizer** ([`authorize`]) binds a work package to the para it
//!   may advance;
//! - the para's relay chain is emulated: its state per para and timeslot
//!   ([`relay_state`]) and, for runtimes that build on an older relay
//!   parent, its headers ([`relay_chain`]).
//! - **JAM transfers** ([`jam_transfers`]): deferred transfers into a
//!   para (downward XCM or horizontal messages from another instance, or
//!   bounced with a reason) and value out of a para by upward XCM.
//!
//! This crate is the service's logic, `no_std`, over traits standing for
//! the host calls ([`host`]). The service program (the PVM blob, built by
//! `corechains-service/build`) implements those traits with the real host
//! calls through Parity's `jam-pvm-common`; native tests implement them
//! with plain data. Types and the storage layout shared with the node and
//! collators are in `parajam-corechains-types`.

#![no_std]

extern crate alloc;

pub mod accumulate;
pub mod allocator;
pub mod authorize;
pub mod executor;
pub mod host;
pub mod host_functions;
pub mod jam_transfers;
pub mod refine;
pub mod relay_chain;
pub mod relay_state;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

/// The JIP-1 log target of the service's messages.
pub const LOG_TARGET: &[u8] = b"corechains";

/// Blake2b-256.
pub fn blake2_256(data: &[u8]) -> [u8; 32] {
    use blake2::digest::consts::U32;
    use blake2::{Blake2b, Digest};
    Blake2b::<U32>::digest(data).into()
}
