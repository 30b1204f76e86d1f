//! The PVM build of the adder PVF: a JamV1 blob exporting `validate_block`
//! with no imports, whose standard program runs ten consecutive adder blocks
//! on the PVM interpreter (and the recompiler where it is available) with
//! the same `ValidationResult` octets as the native function, and traps on
//! an invalid block.

use parajam_adder::{sample_chain, BlockData, HeadData, SampleBlock, RESULT_LEN};
use parajam_adder_build::{artifact_path, ENTRY, PVM, PVM_CODE, PVM_ENTRY_PC, PVM_PROGRAM};
use parajam_corechains_types as types;
use parajam_pvm::{Backend, ExitReason, HostCallAction, Program, ProgramResult, Pvm, PvmFlavor};
use polkavm::program::InstructionSetKind;
use polkavm::{ArcBytes, ProgramBlob};

mod common;

use common::{params, run_pvm};

#[test]
fn the_blob_is_a_64_bit_jam_v1_program_with_one_export_and_no_imports() {
    let blob = ProgramBlob::parse(ArcBytes::from(PVM)).expect("the blob parses with polkavm 0.30");
    assert_eq!(blob.isa(), InstructionSetKind::JamV1);
    assert!(blob.is_64_bit());
    let exports: Vec<String> = blob
        .exports()
        .map(|export| String::from_utf8_lossy(export.symbol().as_bytes()).into_owned())
        .collect();
    assert_eq!(exports, [ENTRY]);
    assert_eq!(blob.imports().len(), 0, "the adder needs no host call");
    let program = Program::from_standard_blob(PVM_PROGRAM).expect("a GP standard program");
    assert_eq!(program.code_len(), PVM_CODE.len());
    assert_eq!(
        std::fs::read(artifact_path("adder.program")).expect("the artifact file"),
        PVM_PROGRAM
    );
}

#[test]
fn ten_blocks_on_the_pvm_equal_the_native_results() {
    let pvm = Pvm::new(PvmFlavor::Gp072).expect("a PVM");
    let program = Program::from_standard_blob(PVM_PROGRAM).expect("a GP standard program");
    let compiler = pvm.backend_unavailable(Backend::Compiler).is_none();
    for (
        i,
        SampleBlock {
            parent,
            block,
            head,
        },
    ) in sample_chain().enumerate()
    {
        let number = 1000 + u32::try_from(i).expect("small");
        let input = params(&parent, &block, number);
        let native = parajam_adder::validate_block(&input).expect("a valid block");

        let (output, gas) = run_pvm(&pvm, Backend::Interpreter, &program, &input).expect("a halt");
        assert_eq!(output, native, "block {}", i + 1);
        assert!(gas > 0);
        eprintln!("adder block {}: {gas} gas on the PVM", i + 1);
        if compiler {
            let (compiled, compiled_gas) =
                run_pvm(&pvm, Backend::Compiler, &program, &input).expect("a halt");
            assert_eq!(compiled, native, "block {} (recompiler)", i + 1);
            assert_eq!(compiled_gas, gas);
        }

        assert_eq!(output.len(), RESULT_LEN);
        assert_eq!(
            parity_scale_codec::Decode::decode(&mut &output[..]),
            Ok(types::ValidationResult {
                head_data: types::HeadData(head.encode().to_vec()),
                new_validation_code: None,
                upward_messages: vec![],
                horizontal_messages: vec![],
                processed_downward_messages: 0,
                hrmp_watermark: number,
            })
        );
    }
}

#[test]
fn an_invalid_block_traps_on_the_pvm() {
    let pvm = Pvm::new(PvmFlavor::Gp072).expect("a PVM");
    let program = Program::from_standard_blob(PVM_PROGRAM).expect("a GP standard program");
    let parent = HeadData::genesis(5);
    let cases = [
        params(&parent, &BlockData { state: 6, add: 1 }, 1),
        params(&parent, &BlockData { state: 5, add: 1 }, 1)[..40].to_vec(),
        Vec::new(),
    ];
    for input in cases {
        assert!(parajam_adder::validate_block(&input).is_err());
        assert_eq!(
            run_pvm(&pvm, Backend::Interpreter, &program, &input),
            Err(ExitReason::Panic)
        );
    }
    // Too little gas: out of gas, not a result.
    let input = params(&parent, &BlockData { state: 5, add: 1 }, 1);
    let outcome = pvm
        .run_program(
            Backend::Interpreter,
            &program,
            PVM_ENTRY_PC,
            100,
            &input,
            &mut |_| HostCallAction::Panic,
        )
        .expect("the PVM runs the program");
    assert_eq!(outcome.result(), ProgramResult::OutOfGas);
}

/// The adder's PVM code and its wasm hold no path of the machine they were
/// built on.
#[test]
fn the_builds_hold_no_build_machine_path() {
    let root = std::fs::canonicalize(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .expect("the checkout exists")
        .display()
        .to_string();
    for (name, program) in [("PVM code", PVM_CODE), ("wasm", parajam_adder_build::WASM)] {
        let found = parajam_guest_build::build_paths_in(program, &root);
        assert!(found.is_empty(), "the adder's {name} holds {found:?}");
    }
}
