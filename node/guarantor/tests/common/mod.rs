#![allow(dead_code)] // each test binary uses a part

//! What the guarantor tests share: the CoreChains account with the adder
//! (and the misbehaving test PVF) registered, and packages of one item.

use std::collections::BTreeMap;

use parajam_corechains_build::genesis::{service_account, GenesisPara};
use parajam_corechains_build::testing;
use parajam_corechains_types::{AuthScope, ParaId, ParachainCandidate, WorkItemPayload};
use parajam_guarantor::{Executor, Guarantor};
use parajam_primitives::types::{ServiceAccount, ServiceId, WorkPackage};
use parajam_primitives::ProtocolParameters;
use parajam_pvm::{Pvm, PvmFlavor};

pub const SERVICE: ServiceId = 1000;
pub const PARA: ParaId = ParaId(2000);
/// The para of `parajam_adder_build::MISBEHAVING_PVF`.
pub const MISBEHAVING: ParaId = ParaId(2001);
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
    testing::auth_config(SERVICE, scope)
}

/// A package of one CoreChains item with `payload` and `extrinsic`.
pub fn package(payload: &WorkItemPayload, extrinsic: &[u8], config: Vec<u8>) -> WorkPackage {
    testing::package(SERVICE, PARAMS.gas_refine, payload, extrinsic, config)
}

/// The adder candidate for `block` on `parent`.
pub fn candidate(parent: &parajam_adder::HeadData, block: &[u8]) -> ParachainCandidate {
    testing::candidate(
        PARA,
        parent.encode().to_vec(),
        parajam_adder_build::PVF_ARTIFACT,
        block,
    )
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
