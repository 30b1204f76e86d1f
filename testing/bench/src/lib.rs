//! What the benches share (`cargo bench -p parajam-pvf --bench engines`,
//! `cargo bench -p parajam-rehearsal --bench parachain`, the state-root and
//! state benches of `parajam-merkle` and `parajam-state`): the median of a
//! closure's runs under a time budget, interleaved medians of several
//! closures, the ratio of two timings, the table of engines, warm and cold,
//! against the reference engine measured in the same run, and the cold
//! load of a PVF artifact on the PVM. Formatting only: the benches print.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use parajam_corechains_types::pvf::{PvfArtifact, StandardProgram};
use parajam_pvm::{Backend, Pvm};

/// What loading a PVF on the PVM costs before its first run: the
/// artifact's framing, the standard program's sections, the code blob,
/// and its compilation for `backend` on `pvm` (a cold engine: the benches
/// give it one without a code cache).
///
/// # Panics
/// If `artifact` is not a PVF artifact the PVM takes: a bench input error.
pub fn pvm_load(pvm: &Pvm, backend: Backend, artifact: &[u8]) {
    let artifact = PvfArtifact::from_bytes(artifact).expect("a PVF artifact");
    let program = StandardProgram::parse(&artifact.program).expect("a standard program");
    let code = pvm.prepare_code(program.code).expect("a code blob");
    pvm.compile_code(backend, &code).expect("compiles");
}

/// The median time of `f`, run again and again until `budget` has passed
/// and at least `min_samples` runs are in.
pub fn median(mut f: impl FnMut(), budget: Duration, min_samples: usize) -> Duration {
    let mut samples = Vec::new();
    let end = Instant::now() + budget;
    while Instant::now() < end || samples.len() < min_samples.max(1) {
        let start = Instant::now();
        f();
        samples.push(start.elapsed());
    }
    samples.sort();
    samples[samples.len() / 2]
}

/// The median time per call of each of `fs`, from batches of about 5 ms
/// run in turn (interleaved, so that load from other processes affects all
/// of them alike) for about `budget` in total, at least five batches each.
pub fn median_times(budget: Duration, fs: &mut [&mut dyn FnMut()]) -> Vec<Duration> {
    let per_batch: Vec<u32> = fs
        .iter_mut()
        .map(|f| {
            let start = Instant::now();
            f();
            let one = start.elapsed().max(Duration::from_nanos(100));
            u32::try_from((Duration::from_millis(5).as_nanos() / one.as_nanos()).max(1))
                .unwrap_or(u32::MAX)
        })
        .collect();
    let mut samples = vec![Vec::new(); fs.len()];
    let end = Instant::now() + budget;
    while Instant::now() < end || samples.first().is_some_and(|s| s.len() < 5) {
        for ((f, &n), out) in fs.iter_mut().zip(&per_batch).zip(&mut samples) {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            out.push(t.elapsed() / n);
        }
    }
    samples
        .into_iter()
        .map(|mut s| {
            s.sort();
            s[s.len() / 2]
        })
        .collect()
}

/// `a / b`.
pub fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

/// The unit a table shows times in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Microseconds.
    Micros,
    /// Milliseconds.
    Millis,
}

impl Unit {
    /// `time` in this unit.
    pub fn of(self, time: Duration) -> f64 {
        match self {
            Unit::Micros => time.as_secs_f64() * 1e6,
            Unit::Millis => time.as_secs_f64() * 1e3,
        }
    }

    /// `µs` or `ms`.
    pub const fn symbol(self) -> &'static str {
        match self {
            Unit::Micros => "µs",
            Unit::Millis => "ms",
        }
    }
}

/// An engine's median time per run, warm (its compiled-module cache
/// holding the code) and cold (compiled anew).
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// The engine.
    pub name: &'static str,
    /// Warm.
    pub warm: Duration,
    /// Cold.
    pub cold: Duration,
}

/// The table of `engines`, warm and cold, in `unit`, each also as a ratio
/// to `reference` (which is a row too, with ratios of 1).
pub fn engine_table(engines: &[Timing], reference: Timing, unit: Unit) -> String {
    let symbol = unit.symbol();
    let name = reference.name;
    let mut out = format!(
        "{:<23} | warm {symbol} | cold {symbol} | warm / {name} | cold / {name}\n",
        "engine"
    );
    for row in engines.iter().chain(std::iter::once(&reference)) {
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{:<23} | {:>7.2} | {:>7.2} | {:>10.3} | {:>10.3}",
            row.name,
            unit.of(row.warm),
            unit.of(row.cold),
            ratio(row.warm, reference.warm),
            ratio(row.cold, reference.cold)
        );
    }
    out
}

/// What both PVF benches report: the table of the PVM recompiler and
/// interpreter against the relay chain's wasm engine (`engine_table`),
/// then one `RATIO <what>: <value>` line per comparison of a PVM engine
/// with wasm, warm and cold, and of loading alone (`pvm_load`, parse and
/// compile, against `wasm_prepare`).
pub fn pvf_report(
    recompiler: (Duration, Duration),
    interpreter: (Duration, Duration),
    wasm: (Duration, Duration),
    load: (Duration, Duration),
    unit: Unit,
) -> String {
    let timing = |name, (warm, cold)| Timing { name, warm, cold };
    let mut out = engine_table(
        &[
            timing("PVM recompiler", recompiler),
            timing("PVM interpreter", interpreter),
        ],
        timing("wasm (relay chain)", wasm),
        unit,
    );
    for (what, pvm, wasm) in [
        ("recompiler/wasm warm", recompiler.0, wasm.0),
        ("recompiler/wasm cold", recompiler.1, wasm.1),
        ("interpreter/wasm warm", interpreter.0, wasm.0),
        ("interpreter/wasm cold", interpreter.1, wasm.1),
    ] {
        let _ = writeln!(out, "RATIO pvm {what}: {:.3}", ratio(pvm, wasm));
    }
    let _ = writeln!(out, "RATIO load pvm/wasm: {:.3}", ratio(load.0, load.1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_sample_and_min_samples_are_taken() {
        let mut runs = 0u32;
        let time = median(|| runs += 1, Duration::ZERO, 7);
        assert_eq!(runs, 7);
        assert!(time < Duration::from_secs(1));
    }

    #[test]
    fn the_pvf_report_is_the_table_then_one_ratio_per_comparison() {
        let ms = Duration::from_millis;
        let report = pvf_report(
            (ms(1), ms(6)),
            (ms(4), ms(5)),
            (ms(2), ms(8)),
            (ms(3), ms(12)),
            Unit::Millis,
        );
        let lines: Vec<&str> = report.lines().collect();
        assert_eq!(lines.len(), 4 + 5, "{report}");
        assert!(lines[1].starts_with("PVM recompiler"), "{report}");
        assert!(lines[3].starts_with("wasm (relay chain)"), "{report}");
        assert_eq!(
            &lines[4..],
            [
                "RATIO pvm recompiler/wasm warm: 0.500",
                "RATIO pvm recompiler/wasm cold: 0.750",
                "RATIO pvm interpreter/wasm warm: 2.000",
                "RATIO pvm interpreter/wasm cold: 0.625",
                "RATIO load pvm/wasm: 0.250",
            ]
        );
    }

    #[test]
    fn the_table_has_a_row_per_engine_and_the_reference_last_at_one() {
        let ms = Duration::from_millis;
        let table = engine_table(
            &[Timing {
                name: "PVM recompiler",
                warm: ms(3),
                cold: ms(4),
            }],
            Timing {
                name: "wasm",
                warm: ms(2),
                cold: ms(8),
            },
            Unit::Millis,
        );
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].contains("warm ms") && lines[0].contains("warm / wasm"));
        assert!(lines[1].starts_with("PVM recompiler"));
        assert!(lines[1].contains("1.500") && lines[1].contains("0.500"));
        assert!(lines[2].starts_with("wasm") && lines[2].contains("1.000"));
    }
}
