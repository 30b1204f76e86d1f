//! CoreChains work packages of one item, for the tests and benches that
//! run the service on a guarantor without a chain (a fixed anchor and
//! state root stand for the refinement context).

use parajam_corechains_types::{
    AuthConfig, AuthScope, HeadData, ParaId, ParachainCandidate, ValidationCodeHash,
    WorkItemPayload,
};
use parajam_primitives::types::{
    ExtrinsicSpec, OpaqueHash, RefineContext, ServiceId, WorkItem, WorkPackage,
};
use parity_scale_codec::Encode;

use crate::{AUTHORIZER_CODE_HASH, SERVICE_CODE_HASH};

/// The anchor (and lookup anchor) of every package and candidate here.
pub const ANCHOR: [u8; 32] = [0xa1; 32];
/// The anchor's state root.
pub const STATE_ROOT: [u8; 32] = [0x5e; 32];
/// The relay parent number of every candidate here.
pub const RELAY_PARENT_NUMBER: u32 = 7;

/// The authorizer configuration for instance `service` and `scope`.
pub fn auth_config(service: ServiceId, scope: AuthScope) -> Vec<u8> {
    AuthConfig { service, scope }.encode()
}

/// A package for instance `service` with one item: `payload`, the
/// extrinsic `extrinsic`, `refine_gas`, and the authorizer configuration
/// `config`.
pub fn package(
    service: ServiceId,
    refine_gas: u64,
    payload: &WorkItemPayload,
    extrinsic: &[u8],
    config: Vec<u8>,
) -> WorkPackage {
    WorkPackage {
        auth_code_host: service,
        auth_code_hash: OpaqueHash::from(AUTHORIZER_CODE_HASH),
        context: RefineContext {
            anchor: OpaqueHash::from(ANCHOR),
            state_root: OpaqueHash::from(STATE_ROOT),
            lookup_anchor: OpaqueHash::from(ANCHOR),
            lookup_anchor_slot: 10,
            ..RefineContext::default()
        },
        authorizer_config: config.into(),
        items: vec![WorkItem {
            service,
            code_hash: OpaqueHash::from(SERVICE_CODE_HASH),
            refine_gas_limit: refine_gas,
            accumulate_gas_limit: 1_000_000,
            export_count: 0,
            payload: payload.encode().into(),
            import_segments: vec![],
            extrinsic: vec![ExtrinsicSpec {
                hash: OpaqueHash::from(parajam_crypto::blake2b_256(extrinsic)),
                len: u32::try_from(extrinsic.len()).expect("a test extrinsic"),
            }],
        }]
        .into(),
        ..WorkPackage::default()
    }
}

/// The candidate of para `para` running `pvf` on `block` over
/// `parent_head`, anchored at [`ANCHOR`].
pub fn candidate(
    para: ParaId,
    parent_head: Vec<u8>,
    pvf: &[u8],
    block: &[u8],
) -> ParachainCandidate {
    ParachainCandidate {
        para_id: para,
        parent_head: HeadData(parent_head),
        validation_code_hash: ValidationCodeHash(parajam_crypto::blake2b_256(pvf)),
        anchor: ANCHOR,
        relay_parent_number: RELAY_PARENT_NUMBER,
        relay_parent_storage_root: STATE_ROOT,
        block_data_hash: parajam_crypto::blake2b_256(block),
    }
}
