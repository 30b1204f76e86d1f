//! The CoreChains service program on the PVM, through the node's own
//! is-authorized and refine invocations (`Ψ_I`, `Ψ_R`): the real service
//! and authorizer blobs (built from source by `parajam-corechains-build`)
//! validate blocks of the adder parachain, whose PVF (built from source by
//! `parajam-adder-build`) runs as an inner machine of refine.

mod common;

use common::{auth_config, candidate, hash, package, Node, MISBEHAVING, PARA, PARAMS};
use parajam_corechains_build::SERVICE_CODE_HASH;
use parajam_corechains_types::{
    AuthScope, HeadData, InvalidReason, ParaId, ParachainCandidate, RefineOutput,
    ValidationCodeHash, WorkItemPayload,
};
use parajam_guarantor::Outcome;
use parajam_primitives::types::{WorkExecResult, WorkPackage};
use parity_scale_codec::{Decode, Encode};

/// Is-authorized, then refine of the package's one item with `block`.
fn process(
    node: &Node,
    package: &WorkPackage,
    block: &[u8],
    crosscheck: bool,
) -> (Outcome, Outcome) {
    let g = node.guarantor(crosscheck);
    let auth = g
        .is_authorized(&node.accounts, package, 0)
        .expect("Ψ_I runs");
    let trace = match &auth.result {
        WorkExecResult::Ok(trace) => trace.0.clone(),
        _ => Vec::new(),
    };
    let refine = g
        .refine(
            &node.accounts,
            package,
            0,
            0,
            &trace,
            &[vec![block.to_vec()]],
            &[vec![]],
            0,
        )
        .expect("Ψ_R runs");
    (auth, refine)
}

fn refine_output(outcome: &Outcome) -> RefineOutput {
    match &outcome.result {
        WorkExecResult::Ok(bytes) => RefineOutput::decode(&mut &bytes.0[..]).expect("an output"),
        other => panic!("refine failed: {other:?} (logs {:?})", outcome.logs),
    }
}

#[test]
fn ten_adder_blocks_validate_in_refine_and_match_the_native_adder() {
    let node = Node::new();
    let mut parent = parajam_adder::HeadData::genesis(0);
    let mut state = 0u64;
    for n in 1..=10u64 {
        let block = parajam_adder::BlockData { state, add: n * 3 }
            .encode()
            .to_vec();
        let c = candidate(&parent, &block);
        let package = package(
            &WorkItemPayload::Candidate(c.clone()),
            &block,
            auth_config(AuthScope::Para(PARA)),
        );
        // Crosscheck (both backends, compared) on the first block.
        let (auth, refine) = process(&node, &package, &block, n == 1);
        assert_eq!(
            auth.result,
            WorkExecResult::Ok(auth_config(AuthScope::Para(PARA)).into()),
            "the trace is the config; logs {:?}",
            auth.logs
                .iter()
                .map(|l| String::from_utf8_lossy(&l.message).into_owned())
                .collect::<Vec<_>>()
        );
        let RefineOutput::Valid(output) = refine_output(&refine) else {
            panic!("block {n} invalid: {:?}", refine_output(&refine));
        };
        // What the adder's own code says, natively.
        let params = c
            .validation_params(parajam_corechains_types::BlockData(block.clone()))
            .encode();
        let expected = parajam_adder::validate_block(&params).expect("a valid block");
        let head = parajam_adder::execute(
            parajam_adder::keccak256(&parent.encode()),
            &parent,
            &parajam_adder::BlockData::decode(&block).expect("test value"),
        )
        .expect("test value");
        assert_eq!(
            output.result_hash,
            hash(&expected),
            "block {n}: the PVF's exact octets"
        );
        assert_eq!(output.head_data, HeadData(head.encode().to_vec()));
        assert_eq!(output.parent_head_hash, hash(&parent.encode()));
        assert_eq!(output.para_id, PARA);
        assert_eq!(output.hrmp_watermark, 7);
        assert!(refine.gas_used > 0);
        if n == 1 {
            eprintln!(
                "adder block: is-authorized {} gas, refine {} gas (PVF run as an inner machine)",
                auth.gas_used, refine.gas_used
            );
        }
        parent = head;
        state += n * 3;
    }
}

#[test]
fn an_invalid_block_is_an_invalid_output_not_a_service_panic() {
    let node = Node::new();
    let parent = parajam_adder::HeadData::genesis(5);
    let invalid = |block: &[u8], c: ParachainCandidate| {
        let package = package(
            &WorkItemPayload::Candidate(c),
            block,
            auth_config(AuthScope::Para(PARA)),
        );
        let (_, refine) = process(&node, &package, block, false);
        match refine_output(&refine) {
            RefineOutput::Invalid { para_id, reason } => {
                assert_eq!(para_id, PARA);
                reason
            }
            other => panic!("expected invalid, got {other:?}"),
        }
    };
    // The block starts from the wrong state: the adder traps.
    let wrong = parajam_adder::BlockData { state: 4, add: 1 }.encode();
    assert!(matches!(
        invalid(&wrong, candidate(&parent, &wrong)),
        InvalidReason::Trapped
    ));
    // The block data is not what the candidate names.
    let good = parajam_adder::BlockData { state: 5, add: 1 }.encode();
    let mut c = candidate(&parent, &good);
    c.block_data_hash = [0; 32];
    assert_eq!(invalid(&good, c), InvalidReason::BlockDataMismatch);
    // The candidate names another anchor than the package's.
    let mut c = candidate(&parent, &good);
    c.anchor = [1; 32];
    assert_eq!(invalid(&good, c), InvalidReason::ContextMismatch);
    // Code the service does not have.
    let mut c = candidate(&parent, &good);
    c.validation_code_hash = ValidationCodeHash([9; 32]);
    assert_eq!(invalid(&good, c), InvalidReason::CodeUnavailable);
    // Code that is not a PVF artifact (the service's own code is a preimage).
    let mut c = candidate(&parent, &good);
    c.validation_code_hash = ValidationCodeHash(SERVICE_CODE_HASH);
    assert_eq!(invalid(&good, c), InvalidReason::BadCode);
    // And the valid block passes.
    let package = package(
        &WorkItemPayload::Candidate(candidate(&parent, &good)),
        &good,
        auth_config(AuthScope::Para(PARA)),
    );
    let (_, refine) = process(&node, &package, &good, false);
    assert!(matches!(refine_output(&refine), RefineOutput::Valid(_)));
}

#[test]
fn the_authorizer_binds_a_package_to_its_para() {
    let node = Node::new();
    let parent = parajam_adder::HeadData::genesis(0);
    let block = parajam_adder::BlockData { state: 0, add: 1 }.encode();
    let c = candidate(&parent, &block);
    // Configured for another para: is-authorized panics.
    let other = package(
        &WorkItemPayload::Candidate(c.clone()),
        &block,
        auth_config(AuthScope::Para(ParaId(2001))),
    );
    let (auth, _) = process(&node, &other, &block, false);
    assert_eq!(auth.result, WorkExecResult::Panic);
    // A configuration that does not decode.
    let junk = package(&WorkItemPayload::Candidate(c.clone()), &block, vec![7; 3]);
    assert_eq!(
        process(&node, &junk, &block, false).0.result,
        WorkExecResult::Panic
    );
    // A registration under a para's configuration.
    let registration = WorkItemPayload::Register(parajam_corechains_types::Registration {
        para_id: ParaId(3000),
        genesis_head: HeadData(vec![]),
        validation_code_hash: ValidationCodeHash([0; 32]),
        validation_code_len: 0,
    });
    let sneaky = package(&registration, &block, auth_config(AuthScope::Para(PARA)));
    assert_eq!(
        process(&node, &sneaky, &block, false).0.result,
        WorkExecResult::Panic
    );
    // ... and under the registrar's, authorized, passed through by refine.
    let registrar = package(&registration, &block, auth_config(AuthScope::Registrar));
    let (auth, refine) = process(&node, &registrar, &block, false);
    assert!(matches!(auth.result, WorkExecResult::Ok(_)));
    assert!(matches!(refine_output(&refine), RefineOutput::Register(_)));
}

/// Refines one block of the misbehaving PVF with `block` as its data and
/// `gas` for refine: the verdict.
fn misbehave(node: &Node, block: &[u8], gas: u64) -> RefineOutput {
    let c = parajam_corechains_build::testing::candidate(
        MISBEHAVING,
        vec![],
        parajam_adder_build::MISBEHAVING_PVF,
        block,
    );
    let mut package = package(
        &WorkItemPayload::Candidate(c),
        block,
        auth_config(AuthScope::Para(MISBEHAVING)),
    );
    package.items[0].refine_gas_limit = gas;
    let (auth, refine) = process(node, &package, block, false);
    assert!(matches!(auth.result, WorkExecResult::Ok(_)));
    refine_output(&refine)
}

fn invalid_reason(output: RefineOutput) -> InvalidReason {
    match output {
        RefineOutput::Invalid { para_id, reason } => {
            assert_eq!(para_id, MISBEHAVING);
            reason
        }
        other => panic!("expected an invalid verdict, got {other:?}"),
    }
}

#[test]
fn a_misbehaving_pvf_is_an_invalid_block_with_the_reason() {
    let node = Node::new();
    let gas = PARAMS.gas_refine;
    // A PVF that loops: out of gas (refine keeps a reserve and answers).
    assert_eq!(
        invalid_reason(misbehave(&node, &[0], 20_000_000)),
        InvalidReason::OutOfGas
    );
    assert_eq!(
        invalid_reason(misbehave(&node, &[1], gas)),
        InvalidReason::BadResult
    );
    assert_eq!(
        invalid_reason(misbehave(&node, &[2], gas)),
        InvalidReason::OutputTooLarge
    );
    assert_eq!(
        invalid_reason(misbehave(&node, &[3], gas)),
        InvalidReason::UnavailableHostFunction(b"ext_storage_get_version_1".to_vec())
    );
    assert_eq!(
        invalid_reason(misbehave(&node, &[5], gas)),
        InvalidReason::HostFunctionFailed(b"ext_allocator_free_version_1".to_vec())
    );
    assert_eq!(
        invalid_reason(misbehave(&node, &[6], gas)),
        InvalidReason::PageFault(0xF000_0000)
    );
    assert_eq!(
        invalid_reason(misbehave(&node, &[7], gas)),
        InvalidReason::Trapped
    );
}

#[test]
fn substrate_host_functions_are_served_to_the_pvf() {
    // Mode 4: the head is the Blake2b-256 of the block data, computed by
    // the service's `ext_hashing_blake2_256_version_1` into memory from its
    // allocator, after a log line.
    let node = Node::new();
    let block = [4, 1, 2, 3];
    let RefineOutput::Valid(output) = misbehave(&node, &block, PARAMS.gas_refine) else {
        panic!("the host-function block is valid");
    };
    assert_eq!(output.head_data, HeadData(hash(&block).to_vec()));
    assert_eq!(output.hrmp_watermark, 7);
}
