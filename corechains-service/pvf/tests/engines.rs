//! The adder's PVF on both engines, as `parajam pvf run` runs it: ten
//! consecutive blocks give the same `ValidationResult` octets on the relay
//! chain's PVF executor (the legacy path, its wasm build) and on the PVM (the
//! CoreChains executor, natively), and the native adder's; an invalid block
//! fails on both.

use parajam_adder::{BlockData, HeadData};
use parajam_corechains_types::{self as types, InvalidReason};
use parajam_pvf::legacy::{self, LegacyError};
use parajam_pvf::{pvm, PvfError};
use parajam_pvm::{Pvm, PvmFlavor};
use parity_scale_codec::{DecodeAll, Encode};

const GAS: u64 = 100_000_000;

fn params(parent: &HeadData, block: &BlockData) -> Vec<u8> {
    types::ValidationParams {
        parent_head: types::HeadData(parent.encode().to_vec()),
        block_data: types::BlockData(block.encode().to_vec()),
        relay_parent_number: 9,
        relay_parent_storage_root: [3; 32],
    }
    .encode()
}

#[test]
fn ten_adder_blocks_give_the_same_octets_on_the_relay_chain_executor_and_on_the_pvm() {
    let pvm_engine = Pvm::new(PvmFlavor::Gp072).expect("pvm");
    let wasm = legacy::prepare(parajam_adder_build::WASM).expect("the wasm PVF prepares");
    let mut parent = HeadData::genesis(1);
    let mut state = 1u64;
    for n in 0..10u64 {
        let block = BlockData { state, add: n };
        let input = params(&parent, &block);
        let native = parajam_adder::validate_block(&input).expect("valid");
        let on_wasm = wasm.validate_block(&input).expect("wasm");
        let (on_pvm, _) = pvm::validate_block(
            &pvm_engine,
            pvm_engine.preferred_backend(),
            parajam_adder_build::PVF_ARTIFACT,
            &input,
            GAS,
        )
        .expect("pvm");
        assert_eq!(on_wasm.result, native);
        assert_eq!(on_pvm.result, native);
        assert!(on_pvm.used > 0);
        parent =
            parajam_adder::execute(parajam_adder::keccak256(&parent.encode()), &parent, &block)
                .expect("valid");
        state = state.wrapping_add(n);
    }
}

#[test]
fn an_invalid_block_fails_on_both_engines() {
    let pvm_engine = Pvm::new(PvmFlavor::Gp072).expect("pvm");
    let input = params(&HeadData::genesis(1), &BlockData { state: 2, add: 0 });
    let on_wasm = legacy::validate_block(parajam_adder_build::WASM, &input);
    let Err(LegacyError::Invalid(message)) = on_wasm else {
        panic!("an invalid block on wasm: {on_wasm:?}");
    };
    // The executor's message: the adder's panic is an `unreachable` trap.
    assert!(message.contains("unreachable"), "{message}");
    let on_pvm = pvm::validate_block(
        &pvm_engine,
        pvm_engine.preferred_backend(),
        parajam_adder_build::PVF_ARTIFACT,
        &input,
        GAS,
    );
    assert!(matches!(
        on_pvm,
        Err(PvfError::Invalid(InvalidReason::Trapped))
    ));
}

#[test]
fn host_functions_and_failures_on_the_pvm_path() {
    let pvm_engine = Pvm::new(PvmFlavor::Gp072).expect("pvm");
    let run = |mode: u8, gas: u64| {
        let input = types::ValidationParams {
            parent_head: types::HeadData(vec![]),
            block_data: types::BlockData(vec![mode, 9]),
            relay_parent_number: 9,
            relay_parent_storage_root: [0; 32],
        }
        .encode();
        pvm::validate_block(
            &pvm_engine,
            pvm_engine.preferred_backend(),
            parajam_adder_build::MISBEHAVING_PVF,
            &input,
            gas,
        )
    };
    let (ok, logs) = run(4, GAS).expect("mode 4 is valid");
    let result =
        types::ValidationResult::decode_all(&mut &ok.result[..]).expect("a ValidationResult");
    assert_eq!(
        result.head_data.0,
        parajam_corechains_service::blake2_256(&[4, 9]).to_vec()
    );
    assert_eq!(ok.host_calls, 4, "hash, log, malloc, free");
    assert_eq!(logs.len(), 1);
    assert!(matches!(
        run(0, 1_000_000),
        Err(PvfError::Invalid(InvalidReason::OutOfGas))
    ));
    // The executor returns what the PVF returned; refine is what decodes it.
    assert_eq!(run(1, GAS).expect("returns").0.result, [0xff; 8]);
    assert!(matches!(
        run(9, GAS),
        Err(PvfError::Invalid(InvalidReason::Trapped))
    ));
    assert!(matches!(
        pvm::validate_block(
            &pvm_engine,
            pvm_engine.preferred_backend(),
            b"junk",
            &[],
            GAS
        ),
        Err(PvfError::BadCode(_))
    ));
}
