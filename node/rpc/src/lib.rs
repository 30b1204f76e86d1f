//! The node's JIP-2 JSON-RPC server ("Node RPC"), on jsonrpsee over
//! WebSocket (plain HTTP POST also answers the methods; subscriptions need
//! WebSocket), port 19800 by default.
//!
//! The specification followed is JIP-2 as revised in
//! `polkadot-fellows/JIPs` commit 772ce90 ("JIP-2: Misc improvements,
//! additions, and fixes"): parameters by position, `Hash` and `Blob` as
//! padded Base64 (RFC 4648), results as Block Descriptors
//! (`{"header_hash", "slot"}`) and Chain Subscription Updates
//! (`{"header_hash", "slot", "value"}`), numeric subscription ids,
//! notifications named after their `subscribe…` method, error codes 0
//! (other), 1 (block unavailable, `data` the header hash), 2 (work-report
//! unavailable, `data` the hash) and 3 (DA segment unavailable); malformed
//! requests get the JSON-RPC codes (-32700 parse error, -32600 invalid
//! request, -32601 unknown method, -32602 invalid params: wrong Base64, a
//! `Hash` not of 32 octets, a number out of range, too few parameters).
//!
//! The server ([`start`], [`rpc_module`]) answers over a [`NodeApi`], which
//! the node implements; subscriptions follow the node's [`NodeEvent`]
//! broadcast of new best and finalized blocks. Limits ([`RpcConfig`]):
//! connections, request and response size, batch length, subscriptions per
//! connection.
//!
//! | method | implemented | tested by (`node/rpc/tests/jip2.rs`) |
//! |---|---|---|
//! | `parameters` | yes | `chain_queries` |
//! | `bestBlock` | yes | `chain_queries` |
//! | `subscribeBestBlock` | yes | `block_subscriptions_follow_the_chain` |
//! | `finalizedBlock` | yes | `chain_queries` |
//! | `subscribeFinalizedBlock` | yes | `block_subscriptions_follow_the_chain` |
//! | `parent` | yes | `chain_queries` |
//! | `stateRoot` | yes | `chain_queries` |
//! | `beefyRoot` | yes | `chain_queries` |
//! | `statistics` | yes | `chain_queries` |
//! | `subscribeStatistics` | yes | `chain_subscriptions_send_changes` |
//! | `serviceData` | yes | `service_queries` |
//! | `subscribeServiceData` | yes | `chain_subscriptions_send_changes` |
//! | `serviceValue` | yes | `service_queries` |
//! | `subscribeServiceValue` | yes | `chain_subscriptions_send_changes` |
//! | `servicePreimage` | yes | `service_queries` |
//! | `subscribeServicePreimage` | yes | `chain_subscriptions_send_changes` |
//! | `serviceRequest` | yes | `service_queries` |
//! | `subscribeServiceRequest` | yes | `chain_subscriptions_send_changes` |
//! | `workReport` | yes | `work_reports_and_segments` |
//! | `submitWorkPackage` | yes | `submissions` |
//! | `submitWorkPackageBundle` | yes | `submissions` |
//! | `workPackageStatus` | yes | `work_reports_and_segments` |
//! | `subscribeWorkPackageStatus` | yes | `chain_subscriptions_send_changes` |
//! | `submitPreimage` | yes | `submissions` |
//! | `listServices` | yes | `chain_queries` |
//! | `fetchWorkPackageSegments` | yes | `work_reports_and_segments` |
//! | `fetchSegments` | yes | `work_reports_and_segments` |
//! | `syncState` | yes | `chain_queries` |
//! | `subscribeSyncStatus` | yes | `block_subscriptions_follow_the_chain` |
//! | `unsubscribe…` (each) | yes | `unsubscribe_stops_notifications` |
//! | errors, malformed input | yes | `bad_input_gets_errors`, `malformed_json_gets_a_parse_error` |
//! | limits | yes | `connection_limit_is_enforced`, `batch_and_size_limits_are_enforced` |
//!
//! [`StoreApi`] is a [`NodeApi`] over a `parajam_storage::ChainStore`:
//! queries read the stored blocks' posterior states (GP appendix D keys),
//! work reports and segments come from the store, submissions go to the
//! node through a channel (tested by `node/rpc/tests/store_api.rs`).
//!
//! Library code never prints; the binary owns output.

mod api;
pub mod cors;
mod server;
mod store_api;
mod types;

pub use api::{
    ApiError, NodeApi, NodeEvent, BLOCK_UNAVAILABLE, DA_SEGMENT_UNAVAILABLE, INVALID_PARAMS,
    OTHER_ERROR, WORK_REPORT_UNAVAILABLE,
};
pub use cors::Cors;
pub use server::{
    rpc_module, start, start_with, RpcConfig, RpcError, RpcServer, DEFAULT_PORT, JIP2_METHODS,
};
pub use store_api::{CallHook, StoreApi, Submission, Submitter};
pub use types::{
    Blob, BlockDescriptor, ChainUpdate, Hash, Parameters, ParametersV1, SyncState, SyncStatus,
    WorkPackageStatus,
};
