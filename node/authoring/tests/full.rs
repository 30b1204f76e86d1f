//! The full parameters (`V = 1023`, `C = 341`, `E = 600`): a dev chain
//! starts, authors and imports blocks, and a report on a high core is
//! guaranteed, assured by a super-majority and accumulated.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Instant;

use parajam_authoring::{dev_authorizer, echo_program, service_account, Contents, DevChain};
use parajam_primitives::types::{
    OpaqueHash, RefineLoad, WorkExecResult, WorkPackageSpec, WorkReport, WorkResult,
};
use parajam_primitives::{ByteArray, ProtocolParameters};

mod common;

#[test]
fn full_parameters_dev_chain() {
    let params = ProtocolParameters::FULL;
    let start = Instant::now();
    let ring = common::ring(usize::from(params.validators_count));
    eprintln!("ring context: {:?}", start.elapsed());
    let start = Instant::now();
    let service = service_account(&echo_program(), 1 << 40, 100, 100);
    let code_hash = service.info.code_hash;
    let mut chain = DevChain::dev(params, ring, BTreeMap::from([(7, service)])).unwrap();
    eprintln!("keys and genesis: {:?}", start.elapsed());
    for _ in 0..2 {
        let start = Instant::now();
        let block = chain.author_next(Contents::default()).unwrap();
        eprintln!(
            "empty block at slot {} by {}: {:?}",
            block.header.slot,
            block.header.author_index,
            start.elapsed()
        );
    }

    let core = 300;
    let report = WorkReport {
        package_spec: WorkPackageSpec {
            hash: ByteArray(parajam_crypto::blake2b_256(b"full package")),
            length: 10,
            ..WorkPackageSpec::default()
        },
        context: chain.refine_context().unwrap(),
        core_index: core,
        authorizer_hash: dev_authorizer(),
        auth_gas_used: 0,
        auth_output: Vec::new().into(),
        segment_root_lookup: Vec::new(),
        results: vec![WorkResult {
            service_id: 7,
            code_hash,
            payload_hash: OpaqueHash::ZERO,
            accumulate_gas: 1000,
            result: WorkExecResult::Ok(Vec::new().into()),
            refine_load: RefineLoad::default(),
        }]
        .into(),
    };
    let start = Instant::now();
    let block = chain
        .author_next(Contents {
            reports: vec![report],
            ..Contents::default()
        })
        .unwrap();
    eprintln!("guarantee block: {:?}", start.elapsed());
    assert_eq!(block.extrinsic.guarantees[0].signatures.len(), 3);
    assert!(chain.state().availability[usize::from(core)].is_some());

    let supermajority = u16::try_from(params.validators_super_majority()).unwrap();
    let start = Instant::now();
    chain.assure_next(&[core], 0..supermajority).unwrap();
    let slot = chain.slot();
    eprintln!(
        "{supermajority} assurances, block authored and imported: {:?}",
        start.elapsed()
    );
    let state = chain.state();
    assert!(state.availability[usize::from(core)].is_none());
    assert_eq!(state.accounts[&7].info.last_accumulation_slot, slot);
    assert_eq!(state.accumulation_outputs.len(), 1);
}
