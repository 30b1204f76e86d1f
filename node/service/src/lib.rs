//! The parajam node's service: what `parajam run` wires together.
//!
//! * [`genesis`](mod@genesis): the dev genesis, the JIP-5 dev validators
//!   (or a given validator set) with the CoreChains service, its
//!   authorizer and the sample paras (the adder; runtime/parachain when
//!   its artifacts are given) registered, and its JIP-4 spec;
//! * [`pipeline`]: `submitWorkPackage` and `submitPreimage` in front of
//!   the node: decoding and the GP §14.3 limits in the RPC caller's
//!   thread, a bounded queue ("busy" when full), the guarantor's verdict
//!   handed back to the submitter;
//! * [`node`]: the chain the node authors, stores (`parajam-storage`) and
//!   serves (`parajam-rpc`'s `StoreApi`), and the back of the pipeline:
//!   `Ξ` by the node's guarantor role, DA data stored, the report
//!   guaranteed in the next block, assured and accumulated in the one
//!   after;
//! * [`stats`]: counters for the binary's metrics and informant;
//! * [`sync`]: the node among JAMNP-S peers: its store served to them,
//!   their blocks fetched and imported;
//! * [`collator_rpc`]: the `parajam_*` JSON-RPC methods a collator needs
//!   beyond JIP-2 (a para's head, its emulated relay state).
//!
//! Library code never prints; [`node::Node`] returns what happened
//! ([`node::PipelineEvent`], [`node::SlotOutcome`]) for the binary to log.

pub mod collator_rpc;
pub mod genesis;
pub mod node;
pub mod pipeline;
pub mod stats;
pub mod sync;

pub use genesis::{DevPara, ADDER, CORECHAINS, PARACHAIN};
pub use node::{
    Authored, GuaranteeEvent, Node, NodeConfig, NodeError, Opened, PipelineEvent, PreimageEvent,
    SlotOutcome, TicketEvent,
};
pub use stats::Stats;
pub use sync::{StoreSource, Sync, SyncEvent};
