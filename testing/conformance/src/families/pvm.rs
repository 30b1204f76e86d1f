//! `pvm/programs/*.json`: the PVM instruction test vectors (v0.4, GP 0.7.x
//! numbering; schema `pvm/schema.asn`), each run on both polkavm backends.
//! Status, page-fault address, registers, pc, gas and the final memory
//! (all non-zero octets of every accessible page) must equal the vector's.
//! The compiler's case also runs both backends in lockstep
//! ([`Pvm::crosscheck_steps`]: the same pc, registers and gas after every
//! instruction), whose outcome must equal the vector's too, and checks that
//! a vector that panics or halts uses one gas per instruction begun (GP
//! 0.7.x).
//!
//! A backend this machine cannot run yields failing cases that say why:
//! an unsupported recompiler is never a silent pass.

use std::path::Path;
use std::sync::OnceLock;

use parajam_pvm::{
    Backend, ExitReason, InitialState, MachineState, MemoryChunk, Outcome, PageRange, Pvm,
    PvmFlavor, PvmOptions, SandboxChoice, REGISTER_COUNT,
};
use serde::Deserialize;

use super::{files_with_ext, read_json, stem};
use crate::{Case, Failure, Outcome as CheckOutcome};

/// `Testcase` of `pvm/schema.asn`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct PvmVector {
    name: String,
    initial_regs: [u64; REGISTER_COUNT],
    initial_pc: u32,
    initial_page_map: Vec<Page>,
    initial_memory: Vec<Chunk>,
    initial_gas: i64,
    program: Vec<u8>,
    expected_status: String,
    expected_regs: [u64; REGISTER_COUNT],
    expected_pc: u32,
    expected_memory: Vec<Chunk>,
    expected_gas: i64,
    expected_page_fault_address: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct Page {
    address: u32,
    length: u32,
    is_writable: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Chunk {
    address: u32,
    contents: Vec<u8>,
}

impl From<Chunk> for MemoryChunk {
    fn from(c: Chunk) -> Self {
        MemoryChunk {
            address: c.address,
            contents: c.contents,
        }
    }
}

/// One engine set for all cases (the recompiler's sandbox workers are
/// worth sharing), with or without step tracing. The vectors record the pc
/// of the instruction that halted, which only a step trace knows; the
/// untraced run, as a node runs, must agree on everything else.
fn shared_pvm(step_tracing: bool) -> Result<&'static Pvm, Failure> {
    static TRACED: OnceLock<Result<Pvm, String>> = OnceLock::new();
    static UNTRACED: OnceLock<Result<Pvm, String>> = OnceLock::new();
    let cell = if step_tracing { &TRACED } else { &UNTRACED };
    cell.get_or_init(|| {
        // The `compiler` cases run in polkavm's Linux sandbox where it
        // starts, else in its generic one (every instruction vector passes
        // on both), so that they run on any machine.
        Pvm::with_options(
            PvmFlavor::Gp072,
            PvmOptions {
                step_tracing,
                sandbox: SandboxChoice::LinuxOrGeneric,
            },
        )
        .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| Failure(format!("cannot start the PVM: {e}")))
}

/// Lists one case per vector and backend.
pub fn collect(dir: &Path, cases: &mut Vec<Case>) {
    let sub = dir.join("pvm").join("programs");
    for backend in Backend::ALL {
        match files_with_ext(&sub, "json") {
            Ok(files) => {
                for file in files {
                    cases.push(Case::new(
                        "pvm",
                        Some(backend.name()),
                        stem(&file),
                        move || check_file(&file, backend).map_err(|f| with_sandbox(f, backend)),
                    ));
                }
            }
            Err(e) => cases.push(Case::broken("pvm", Some(backend.name()), e)),
        }
    }
}

fn expected_exit(v: &PvmVector) -> Result<ExitReason, Failure> {
    let exit = match (v.expected_status.as_str(), v.expected_page_fault_address) {
        ("halt", None) => ExitReason::Halt,
        ("panic", None) => ExitReason::Panic,
        ("out-of-gas", None) => ExitReason::OutOfGas,
        ("page-fault", Some(address)) => ExitReason::PageFault(address),
        (status, address) => {
            let what = format!("status {status:?} with page-fault address {address:?}");
            return Err(Failure(format!("{what} is not in the schema")));
        }
    };
    Ok(exit)
}

/// A failure of a `compiler` case names the recompiler's sandbox (the
/// Linux one where it starts, else the generic one).
fn with_sandbox(failure: Failure, backend: Backend) -> Failure {
    let sandbox = shared_pvm(true)
        .ok()
        .and_then(Pvm::compiler_sandbox)
        .filter(|_| backend == Backend::Compiler);
    match sandbox {
        Some(sandbox) => Failure(format!("[{sandbox} sandbox] {}", failure.0)),
        None => failure,
    }
}

fn check_file(path: &Path, backend: Backend) -> CheckOutcome {
    let vector: PvmVector = serde_json::from_value(read_json(path)?)
        .map_err(|e| Failure(format!("{} does not parse: {e}", path.display())))?;
    let want_exit = expected_exit(&vector)?;
    let pvm = shared_pvm(true)?;
    if let Some(reason) = pvm.backend_unavailable(backend) {
        return Err(Failure(format!(
            "the {backend} backend cannot run on this machine: {reason}"
        )));
    }
    let init = InitialState {
        machine: MachineState {
            regs: vector.initial_regs,
            pc: vector.initial_pc,
            gas: vector.initial_gas,
        },
        pages: vector
            .initial_page_map
            .iter()
            .map(|p| PageRange {
                address: p.address,
                length: p.length,
                is_writable: p.is_writable,
            })
            .collect(),
        memory: vector.initial_memory.into_iter().map(Into::into).collect(),
    };
    let run = |pvm: &Pvm| {
        pvm.run_code_blob(backend, &vector.program, &init)
            .map_err(|e| Failure(format!("{}: {e}", vector.name)))
    };
    let got = run(pvm)?;
    let mut want_memory: Vec<MemoryChunk> =
        vector.expected_memory.into_iter().map(Into::into).collect();
    want_memory.sort_by_key(|c| c.address);
    let want = Expected {
        exit: want_exit,
        machine: MachineState {
            regs: vector.expected_regs,
            pc: vector.expected_pc,
            gas: vector.expected_gas,
        },
        memory: want_memory,
    };
    compare(&got, &want)?;

    let untraced_pvm = shared_pvm(false)?;
    let mut untraced = run(untraced_pvm)?;
    if untraced.exit == ExitReason::Halt {
        // Without a step trace the halting pc is unknown (reported as 0).
        untraced.machine.pc = got.machine.pc;
    }
    if let Some(d) = got.difference(&untraced) {
        return Err(Failure(format!(
            "runs with and without step tracing differ: {d}"
        )));
    }

    if backend == Backend::Compiler {
        let stepped = untraced_pvm
            .crosscheck_steps(&vector.program, &init)
            .map_err(|e| Failure(format!("{}: lockstep crosscheck: {e}", vector.name)))?;
        compare(&stepped.outcome, &want)
            .map_err(|f| Failure(format!("lockstep crosscheck:\n{f}")))?;
        if matches!(want.exit, ExitReason::Panic | ExitReason::Halt) {
            let used = vector.initial_gas - vector.expected_gas;
            if u64::try_from(used).ok() != Some(stepped.instructions) {
                return Err(Failure(format!(
                    "{} gas used, {} instructions begun",
                    used, stepped.instructions
                )));
            }
        }
    }
    Ok(())
}

struct Expected {
    exit: ExitReason,
    machine: MachineState,
    memory: Vec<MemoryChunk>,
}

/// Every difference, one per line, so a failure shows the whole picture.
fn compare(got: &Outcome, want: &Expected) -> CheckOutcome {
    let mut diffs = Vec::new();
    if got.exit != want.exit {
        diffs.push(format!("status: got {}, want {}", got.exit, want.exit));
    }
    if got.machine.pc != want.machine.pc {
        diffs.push(format!(
            "pc: got {}, want {}",
            got.machine.pc, want.machine.pc
        ));
    }
    if got.machine.gas != want.machine.gas {
        diffs.push(format!(
            "gas: got {}, want {}",
            got.machine.gas, want.machine.gas
        ));
    }
    for (i, (g, w)) in got.machine.regs.iter().zip(&want.machine.regs).enumerate() {
        if g != w {
            diffs.push(format!("ω{i}: got {g:#x}, want {w:#x}"));
        }
    }
    let mut got_memory = got.nonzero_memory();
    got_memory.sort_by_key(|c| c.address);
    if got_memory != want.memory {
        let show = |chunks: &[MemoryChunk]| {
            chunks
                .iter()
                .map(|c| format!("{:#x}:{}", c.address, hex::encode(&c.contents)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        diffs.push(format!(
            "non-zero memory:\n    got:  [{}]\n    want: [{}]",
            show(&got_memory),
            show(&want.memory)
        ));
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(Failure(format!("  {}", diffs.join("\n  "))))
    }
}
