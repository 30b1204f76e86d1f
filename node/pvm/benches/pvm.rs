//! PVM benchmark: the `sieve` and `blake2` guests of `parajam-guests` as GP
//! standard programs (GP §A.7) on polkavm's recompiler and interpreter, and
//! the cost of loading a program (blob parse + module compile) with the
//! module cache cold and warm.
//!
//! `cargo bench -p parajam-pvm --bench pvm`
//!
//! Besides criterion's report, a short timed loop (alternating slices, so
//! background load hits every side alike; the median slice counts) prints
//! `RATIO` lines: instructions per second of each backend (gas used =
//! instructions executed in GP 0.7.x, one gas each) and compiler /
//! interpreter, and load time cold / warm per backend. Every result is
//! checked against `parajam_guests::reference` first.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use parajam_guests::{guest, reference, ENTRY_PC};
use parajam_pvm::{
    Backend, ExitReason, HostCallAction, HostCallContext, Invocation, Program, Pvm, PvmFlavor,
};

const SIEVE_N: u64 = 200_000;
const BLAKE2_ROUNDS: u64 = 1_000;
const GAS: i64 = 1 << 40;

struct Case {
    name: String,
    program: Program,
    arg: u64,
    expected: u64,
}

fn no_host_calls(_: HostCallContext<'_>) -> HostCallAction {
    HostCallAction::Panic
}

/// Runs a case; returns the gas used (= instructions executed).
fn run(pvm: &Pvm, backend: Backend, case: &Case) -> u64 {
    let mut invocation = Invocation::new(ENTRY_PC, GAS, &[]);
    invocation.registers[7] = case.arg;
    let out = pvm
        .run_invocation(backend, &case.program, &invocation, &mut no_host_calls)
        .expect("runs");
    assert_eq!(out.exit, ExitReason::Halt, "{} on {backend}", case.name);
    assert_eq!(
        out.machine.regs[7], case.expected,
        "{} on {backend}",
        case.name
    );
    out.gas_used()
}

fn load(pvm: &Pvm, backend: Backend, blob: &[u8], cold: bool) {
    if cold {
        pvm.clear_module_cache();
    }
    let program = Program::from_standard_blob(blob).expect("decodes");
    pvm.prepare(backend, &program).expect("compiles");
    black_box(program);
}

fn criterion_benches(c: &mut Criterion, pvm: &Pvm, backends: &[Backend], cases: &[Case]) {
    for case in cases {
        let gas = run(pvm, Backend::Interpreter, case);
        let mut group = c.benchmark_group(format!("pvm/run/{}", case.name));
        group
            .throughput(Throughput::Elements(gas))
            .sample_size(10)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(2));
        for &backend in backends {
            group.bench_function(backend.name(), |b| b.iter(|| run(pvm, backend, case)));
        }
        group.finish();
    }
    for name in ["sieve", "blake2"] {
        let blob = guest(name).expect("guest").program;
        let mut group = c.benchmark_group(format!("pvm/load/{name}"));
        group
            .sample_size(20)
            .warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_secs(1));
        for &backend in backends {
            group.bench_function(format!("{backend}/cold"), |b| {
                b.iter(|| load(pvm, backend, blob, true));
            });
            group.bench_function(format!("{backend}/warm"), |b| {
                b.iter(|| load(pvm, backend, blob, false));
            });
        }
        group.finish();
    }
}

/// Seconds per call of each function: median over `rounds` rounds, each
/// running every function in turn for at least `slice` (at least 2 calls).
fn interleaved(rounds: usize, slice: Duration, fs: &mut [&mut dyn FnMut()]) -> Vec<f64> {
    let mut samples = vec![Vec::with_capacity(rounds); fs.len()];
    for _ in 0..rounds {
        for (f, samples) in fs.iter_mut().zip(&mut samples) {
            let start = Instant::now();
            let mut calls = 0u32;
            while calls < 2 || start.elapsed() < slice {
                f();
                calls += 1;
            }
            samples.push(start.elapsed().as_secs_f64() / f64::from(calls));
        }
    }
    samples
        .into_iter()
        .map(|mut s| {
            s.sort_by(f64::total_cmp);
            s[s.len() / 2]
        })
        .collect()
}

#[allow(clippy::cast_precision_loss)]
fn print_ratios(pvm: &Pvm, cases: &[Case]) {
    for case in cases {
        let gas = run(pvm, Backend::Compiler, case) as f64;
        let times = interleaved(
            5,
            Duration::from_millis(300),
            &mut [
                &mut || {
                    run(pvm, Backend::Compiler, case);
                },
                &mut || {
                    run(pvm, Backend::Interpreter, case);
                },
            ],
        );
        let (compiler, interpreter) = (gas / times[0], gas / times[1]);
        println!(
            "RATIO pvm run {} ({gas:.0} instructions): compiler {:.2?} ({:.0} Minstr/s), \
             interpreter {:.2?} ({:.0} Minstr/s), compiler/interpreter {:.1}",
            case.name,
            Duration::from_secs_f64(times[0]),
            compiler / 1e6,
            Duration::from_secs_f64(times[1]),
            interpreter / 1e6,
            compiler / interpreter,
        );
    }
    for name in ["sieve", "blake2"] {
        let blob = guest(name).expect("guest").program;
        for backend in Backend::ALL {
            let times = interleaved(
                5,
                Duration::from_millis(100),
                &mut [
                    &mut || {
                        load(pvm, backend, blob, true);
                    },
                    &mut || {
                        load(pvm, backend, blob, false);
                    },
                ],
            );
            println!(
                "RATIO pvm load {name} ({} octets) {backend}: cold {:.2?}, warm {:.2?}, cold/warm {:.1}",
                blob.len(),
                Duration::from_secs_f64(times[0]),
                Duration::from_secs_f64(times[1]),
                times[0] / times[1],
            );
        }
    }
}

fn main() {
    let pvm = Pvm::new(PvmFlavor::Gp072).expect("the interpreter starts");
    let compiler = pvm
        .backend_unavailable(Backend::Compiler)
        .map(str::to_owned);
    let backends: Vec<Backend> = if compiler.is_none() {
        Backend::ALL.to_vec()
    } else {
        vec![Backend::Interpreter]
    };
    let program = |name: &str| {
        Program::from_standard_blob(guest(name).expect("guest").program).expect("decodes")
    };
    let cases = [
        Case {
            name: format!("sieve({SIEVE_N})"),
            program: program("sieve"),
            arg: SIEVE_N,
            expected: reference::sieve(SIEVE_N),
        },
        Case {
            name: format!("blake2({BLAKE2_ROUNDS})"),
            program: program("blake2"),
            arg: BLAKE2_ROUNDS,
            expected: reference::blake2(BLAKE2_ROUNDS),
        },
    ];

    let mut criterion = Criterion::default().configure_from_args();
    criterion_benches(&mut criterion, &pvm, &backends, &cases);
    criterion.final_summary();

    // Under `cargo test --benches` criterion runs each bench once; keep the
    // ratio loop to real bench runs.
    if std::env::args().any(|arg| arg == "--bench") {
        match compiler {
            None => print_ratios(&pvm, &cases),
            Some(reason) => println!("RATIO pvm: no compiler backend here ({reason})"),
        }
    }
}
