//! End to end: a JAM dev chain with the CoreChains service and the adder
//! parachain registered at genesis. For each of 10 adder blocks a collator
//! builds a work package; is-authorized and refine run on the PVM (the real
//! service and authorizer programs, the adder PVF as refine's inner
//! machine); the work report is guaranteed in one block and assured in the
//! next, and the real STF accumulates it: after each block the service's
//! storage holds the adder's new head. Each block is also run on wasmtime
//! through the legacy PVF entry point, and refine's result octets (by their
//! hash in the work output) are the wasm ones exactly.

use jam_codec::Encode as _;
use parajam_authoring::{Contents, DevChain, DevKeys, Genesis};
use parajam_bandersnatch::RingContext;
use parajam_corechains_build::genesis::{service_account, GenesisPara};
use parajam_corechains_build::{AUTHORIZER_CODE_HASH, SERVICE_CODE_HASH};
use parajam_corechains_types::state::StorageKey;
use parajam_corechains_types::{
    AuthConfig, AuthScope, HeadData, ParaId, ParachainCandidate, RefineOutput, ValidationCodeHash,
    WorkItemPayload,
};
use parajam_guarantor::{Executor, Guarantor};
use parajam_primitives::types::{
    ExtrinsicSpec, OpaqueHash, RefineLoad, ServiceId, WorkExecResult, WorkItem, WorkPackage,
    WorkPackageSpec, WorkReport, WorkResult,
};
use parajam_primitives::ByteArray;
use parajam_primitives::ProtocolParameters;
use parity_scale_codec::{Decode, Encode};

const SERVICE: ServiceId = 1000;
const PARA: ParaId = ParaId(2000);
const PARAMS: ProtocolParameters = ProtocolParameters::TINY;

fn hash(data: &[u8]) -> [u8; 32] {
    parajam_crypto::blake2b_256(data)
}

fn auth_config() -> Vec<u8> {
    AuthConfig {
        service: SERVICE,
        scope: AuthScope::Para(PARA),
    }
    .encode()
}

/// The CoreChains account at genesis with the adder registered at its
/// genesis head.
fn corechains_account() -> parajam_primitives::types::ServiceAccount {
    let adder = GenesisPara {
        id: PARA,
        head: &parajam_adder::HeadData::genesis(0).encode(),
        pvf: parajam_adder_build::PVF_ARTIFACT,
    };
    service_account(1 << 40, 10, &[adder])
}

/// The `ValidationParams` refine gives the PVF for `block` on `parent`.
fn candidate_params(
    parent: &parajam_adder::HeadData,
    block: &[u8],
    context: &parajam_primitives::types::RefineContext,
) -> Vec<u8> {
    parajam_corechains_types::ValidationParams {
        parent_head: HeadData(parent.encode().to_vec()),
        block_data: parajam_corechains_types::BlockData(block.to_vec()),
        relay_parent_number: context.lookup_anchor_slot,
        relay_parent_storage_root: context.state_root.0,
    }
    .encode()
}

fn stored_head(chain: &DevChain) -> HeadData {
    let value = chain.state().accounts[&SERVICE]
        .storage(&StorageKey::Head(PARA).to_key())
        .expect("the adder has a head");
    HeadData::decode(&mut &value[..]).expect("a stored head decodes")
}

#[test]
// One scenario, told in order: collator, guarantor, block author, importer.
#[allow(clippy::too_many_lines)]
fn ten_adder_blocks_are_validated_in_refine_and_enacted_by_accumulate() {
    let ring = RingContext::from_srs(parajam_vectors::srs(), usize::from(PARAMS.validators_count))
        .expect("ring");
    let keys = DevKeys::new(PARAMS.validators_count);
    let mut genesis =
        Genesis::new(&PARAMS, keys.validators()).with_service(SERVICE, corechains_account());
    // Every core's pool admits the CoreChains authorizer for the adder.
    let authorizer = OpaqueHash::from(hash(&[&AUTHORIZER_CODE_HASH[..], &auth_config()].concat()));
    genesis.authorizers = vec![authorizer; usize::from(PARAMS.core_count)];
    let state = genesis.build(&PARAMS, &ring).expect("genesis");
    let mut chain = DevChain::new(PARAMS, keys, state, ring).expect("a dev chain");
    chain.author_next(Contents::default()).expect("block 1");

    // The legacy path, for comparison: the adder's wasm build on wasmtime.
    let wasm = parajam_pvf::wasm::WasmPvf::new(parajam_adder_build::WASM).expect("wasm PVF");
    let mut parent = parajam_adder::HeadData::genesis(0);
    let mut adder_state = 0u64;
    for n in 1..=10u64 {
        let context = chain.refine_context().expect("a recent block");
        let block = parajam_adder::BlockData {
            state: adder_state,
            add: n,
        }
        .encode()
        .to_vec();
        let candidate = ParachainCandidate {
            para_id: PARA,
            parent_head: HeadData(parent.encode().to_vec()),
            validation_code_hash: ValidationCodeHash(hash(parajam_adder_build::PVF_ARTIFACT)),
            anchor: context.anchor.0,
            relay_parent_number: context.lookup_anchor_slot,
            relay_parent_storage_root: context.state_root.0,
            block_data_hash: hash(&block),
        };
        let payload = WorkItemPayload::Candidate(candidate).encode();
        let item = WorkItem {
            service: SERVICE,
            code_hash: OpaqueHash::from(SERVICE_CODE_HASH),
            refine_gas_limit: PARAMS.gas_refine,
            accumulate_gas_limit: PARAMS.gas_accumulate_report,
            export_count: 0,
            payload: payload.clone().into(),
            import_segments: vec![],
            extrinsic: vec![ExtrinsicSpec {
                hash: OpaqueHash::from(hash(&block)),
                len: u32::try_from(block.len()).expect("small"),
            }],
        };
        let package = WorkPackage {
            auth_code_host: SERVICE,
            auth_code_hash: OpaqueHash::from(AUTHORIZER_CODE_HASH),
            context: context.clone(),
            authorization: Vec::new().into(),
            authorizer_config: auth_config().into(),
            items: vec![item].into(),
        };

        // The guarantor's work: Ψ_I, then Ψ_R, on the chain's accounts.
        let guarantor = Guarantor {
            executor: Executor {
                pvm: chain.pvm(),
                backend: chain.pvm().preferred_backend(),
                crosscheck: false,
            },
            params: &PARAMS,
        };
        let accounts = &chain.state().accounts;
        let auth = guarantor.is_authorized(accounts, &package, 0).expect("Ψ_I");
        let WorkExecResult::Ok(trace) = &auth.result else {
            panic!("block {n}: not authorized: {:?}", auth.result);
        };
        let refined = guarantor
            .refine(
                accounts,
                &package,
                0,
                0,
                &trace.0,
                &[vec![block.clone()]],
                &[vec![]],
                0,
            )
            .expect("Ψ_R");
        let WorkExecResult::Ok(output) = &refined.result else {
            panic!("block {n}: refine failed: {:?}", refined.result);
        };
        let RefineOutput::Valid(valid) =
            RefineOutput::decode(&mut &output.0[..]).expect("an output")
        else {
            panic!("block {n}: invalid");
        };
        let head = parajam_adder::execute(
            parajam_adder::keccak256(&parent.encode()),
            &parent,
            &parajam_adder::BlockData::decode(&block).expect("a block"),
        )
        .expect("a valid block");
        assert_eq!(valid.head_data, HeadData(head.encode().to_vec()));
        // Byte-identical to what the relay chain's wasm path returns.
        let params = candidate_params(&parent, &block, &context);
        let (legacy, _) = wasm
            .validate_block(&params, 1 << 32)
            .expect("valid on wasm");
        assert_eq!(
            valid.result_hash,
            hash(&legacy.result),
            "block {n}: wasm ≠ PVM"
        );

        let encoded_package = package.encode();
        let report = WorkReport {
            package_spec: WorkPackageSpec {
                hash: ByteArray(hash(&encoded_package)),
                length: u32::try_from(encoded_package.len() + block.len()).expect("small"),
                // Assurers would check it; block import does not.
                erasure_root: ByteArray(hash(&[&encoded_package[..], &block].concat())),
                exports_root: OpaqueHash::ZERO,
                exports_count: 0,
            },
            context,
            core_index: 0,
            authorizer_hash: authorizer,
            auth_gas_used: auth.gas_used,
            auth_output: trace.clone(),
            segment_root_lookup: Vec::new(),
            results: vec![WorkResult {
                service_id: SERVICE,
                code_hash: OpaqueHash::from(SERVICE_CODE_HASH),
                payload_hash: ByteArray(hash(&payload)),
                accumulate_gas: PARAMS.gas_accumulate_report,
                result: refined.result.clone(),
                refine_load: RefineLoad {
                    gas_used: refined.gas_used,
                    imports: 0,
                    extrinsic_count: 1,
                    extrinsic_size: u32::try_from(block.len()).expect("small"),
                    exports: 0,
                },
            }]
            .into(),
        };

        // Guaranteed in one block, assured (and accumulated) in the next.
        chain
            .author_next(Contents {
                reports: vec![report],
                ..Contents::default()
            })
            .unwrap_or_else(|e| panic!("block {n}: guarantee: {e}"));
        assert_eq!(stored_head(&chain), HeadData(parent.encode().to_vec()));
        chain
            .assure_next(&[0], 0..PARAMS.validators_count)
            .unwrap_or_else(|e| panic!("block {n}: assurances: {e}"));
        assert_eq!(
            stored_head(&chain),
            HeadData(head.encode().to_vec()),
            "block {n}: the service enacted the new head"
        );
        parent = head;
        adder_state += n;
    }
    assert_eq!(parent.number, 10);
}
