//! Block authoring for dev chains (GP 0.7.2): the other side of
//! `parajam_stf::block::import`.
//!
//! * [`keys`]: dev validator keys from 32-octet seeds by JIP-5 (the same
//!   keys other JAM implementations and the conformance traces use):
//!   Bandersnatch and Ed25519 secrets, and the public `K` for the state.
//! * [`genesis`](mod@genesis): a genesis state `σ` from a validator set: every validator
//!   set, `γ_z` from the keys, fallback sealing keys, authorizer pools and
//!   queues, privileges, and service accounts whose code is in the state
//!   ([`service_account`]).
//! * [`builder`]: one block on a parent state: the slot's author from
//!   `γ'_s` (fallback keys or tickets), the header and its markers, the
//!   entropy source and the seal; guarantees by the validators assigned to
//!   the report's core ([`guarantee`], [`SlotPlan::guarantee`]), assurances
//!   ([`assurance`]) and tickets ([`SlotPlan::tickets`]).
//! * [`chain`]: [`DevChain`], which authors on its head and imports each
//!   block with `import`.
//! * [`programs`]: a hand-assembled service program that accumulates
//!   (the guests of `parajam-guests` have no accumulate entry).
//!
//! ```no_run
//! # use parajam_authoring::{Contents, DevChain};
//! # use parajam_primitives::ProtocolParameters;
//! # fn f(ring: parajam_bandersnatch::RingContext) -> Result<(), parajam_authoring::AuthoringError> {
//! let mut chain = DevChain::dev(ProtocolParameters::TINY, ring, Default::default())?;
//! for _ in 0..30 {
//!     chain.author_next(Contents::default())?;
//! }
//! assert_eq!(chain.slot(), 30);
//! # Ok(()) }
//! ```
//!
//! Nothing here checks what import checks: a block is as valid as its
//! contents, and import is the judge (the tests import every block they
//! author).

pub mod builder;
pub mod chain;
pub mod genesis;
pub mod keys;
pub mod programs;

pub use builder::{assurance, build_block, guarantee, Author, AuthoringError, Contents, SlotPlan};
pub use chain::DevChain;
pub use genesis::{
    code_preimage, dev_authorizer, genesis, genesis_header, service_account,
    service_account_with_metadata, Genesis, GenesisError,
};
pub use keys::{trivial_seed, DevKeys, ValidatorSecrets};
pub use programs::echo_program;
