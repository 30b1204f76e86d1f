#![allow(dead_code)] // each test binary uses a part

//! What the guarantor tests share: the CoreChains account with the adder
//! (and the misbehaving test PVF) registered, and packages of one item.

use std::collections::BTreeMap;

use parajam_corechains_build::genesis::{service_account, GenesisPara};
use parajam_corechains_build::{AUTHORIZER_CODE_HASH, SERVICE_CODE_HASH};
use parajam_corechains_types::{
    AuthConfig, AuthScope, HeadData, ParaId, ParachainCandidate, ValidationCodeHash,
    WorkItemPayload,
};
use parajam_guarantor::{Executor, Guarantor};
use parajam_primitives::types::{
    ExtrinsicSpec, OpaqueHash, RefineContext, ServiceAccount, ServiceId, WorkItem, WorkPackage,
};
use parajam_primitives::ProtocolParameters;
use parajam_pvm::{Pvm, PvmFlavor};
use parity_scale_codec::Encode;

pub const SERVICE: ServiceId = 1000;
pub const PARA: ParaId = ParaId(2000);
/// The para of `parajam_adder_build::MISBEHAVING_PVF`.
pub const MISBEHAVING: ParaId = ParaId(2001);
pub const ANCHOR: [u8; 32] = [0xa1; 32];
pub const STATE_ROOT: [u8; 32] = [0x5e; 32];
pub const PARAMS: ProtocolParameters = ProtocolParameters::TINY;

pub fn hash(data: &[u8]) -> [u8; 32] {
    parajam_crypto::blake2b_256(data)
}

/// The CoreChains service account: its code, the authorizer's code and the
/// adder's PVF artifact as preimages, each requested since slot 0.
pub fn accounts() -> BTreeMap<ServiceId, ServiceAccount> {
    let adder = GenesisPara {
        id: PARA,
        head: &parajam_adder::HeadData::genesis(0).encode(),
        pvf: parajam_adder_build::PVF_ARTIFACT,
    };
    let misbehaving = GenesisPara {
        id: MISBEHAVING,
        head: &[],
        pvf: parajam_adder_build::MISBEHAVING_PVF,
    };
    BTreeMap::from([(SERVICE, service_account(1 << 40, 10, &[adder, misbehaving]))])
}

pub fn auth_config(scope: AuthScope) -> Vec<u8> {
    AuthConfig {
        service: SERVICE,
        scope,
    }
    .encode()
}

/// A package of one CoreChains item with `payload` and `extrinsic`.
pub fn package(payload: &WorkItemPayload, extrinsic: &[u8], config: Vec<u8>) -> WorkPackage {
    WorkPackage {
        auth_code_host: SERVICE,
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
            service: SERVICE,
            code_hash: OpaqueHash::from(SERVICE_CODE_HASH),
            refine_gas_limit: PARAMS.gas_refine,
            accumulate_gas_limit: 1_000_000,
            export_count: 0,
            payload: payload.encode().into(),
            import_segments: vec![],
            extrinsic: vec![ExtrinsicSpec {
                hash: OpaqueHash::from(hash(extrinsic)),
                len: u32::try_from(extrinsic.len()).expect("test value"),
            }],
        }]
        .into(),
        ..WorkPackage::default()
    }
}

/// The adder candidate for `block` on `parent`.
pub fn candidate(parent: &parajam_adder::HeadData, block: &[u8]) -> ParachainCandidate {
    ParachainCandidate {
        para_id: PARA,
        parent_head: HeadData(parent.encode().to_vec()),
        validation_code_hash: ValidationCodeHash(hash(parajam_adder_build::PVF_ARTIFACT)),
        anchor: ANCHOR,
        relay_parent_number: 7,
        relay_parent_storage_root: STATE_ROOT,
        block_data_hash: hash(block),
    }
}

/// A guarantor's PVM engine and view of the accounts.
pub struct Node {
    pub pvm: Pvm,
    pub accounts: BTreeMap<ServiceId, ServiceAccount>,
}

impl Node {
    pub fn new() -> Self {
        Self {
            pvm: Pvm::with_any_sandbox(PvmFlavor::Gp072).expect("a PVM engine"),
            accounts: accounts(),
        }
    }

    pub fn guarantor(&self, crosscheck: bool) -> Guarantor<'_> {
        Guarantor {
            executor: Executor {
                pvm: &self.pvm,
                backend: self.pvm.preferred_backend(),
                crosscheck,
            },
            params: &PARAMS,
        }
    }
}
