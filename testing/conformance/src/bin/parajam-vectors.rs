//! `parajam-vectors`: the conformance runner (a summary row per family and
//! parameter set; exit code non-zero on any failure). It lives with the
//! harness, not in the node's binary, so that the node does not link test
//! code: `cargo run --release -p parajam-conformance -- [--filter F]`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use parajam_conformance::{Case, Outcome};

/// The JAM conformance vectors against parajam, with a summary per family.
#[derive(Debug, clap::Parser)]
#[command(name = "parajam-vectors")]
struct VectorsArgs {
    /// Directory of unpacked vectors (default: PARAJAM_VECTORS_DIR, else ../shared/vectors/unpack).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Run only cases whose id contains this text (e.g. `codec::tiny`, `erasure`).
    #[arg(long)]
    filter: Option<String>,
    /// Print every case with its result, not only failures.
    #[arg(long)]
    verbose: bool,
    /// Worker threads (default: available parallelism).
    #[arg(long)]
    jobs: Option<usize>,
}

#[derive(Default)]
struct Row {
    total: usize,
    passed: usize,
    failed: usize,
    skipped: usize,
    time: Duration,
}

fn main() -> ExitCode {
    let args = <VectorsArgs as clap::Parser>::parse();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &VectorsArgs) -> anyhow::Result<ExitCode> {
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => parajam_conformance::locate_vectors().context("locating the vectors")?,
    };
    eprintln!("conformance vectors: {}", dir.display());
    let mut cases = parajam_conformance::collect(&dir);
    if let Some(filter) = &args.filter {
        cases.retain(|c| c.id().contains(filter.as_str()));
    }
    for (prefix, why) in parajam_conformance::SKIP_LIST {
        println!("skip list: {prefix}: {why}");
    }

    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);
    let results = run_all(&cases, jobs);

    // Rows in the order the harness lists families and parameter sets.
    let mut rows: BTreeMap<(usize, &str, &str), Row> = BTreeMap::new();
    let mut order: Vec<(&str, &str)> = Vec::new();
    let mut failures = Vec::new();
    for (case, (outcome, time)) in cases.iter().zip(&results) {
        let key = (case.family, case.params.unwrap_or("-"));
        let rank = order.iter().position(|k| *k == key).unwrap_or_else(|| {
            order.push(key);
            order.len() - 1
        });
        let row = rows.entry((rank, key.0, key.1)).or_default();
        row.total += 1;
        row.time += *time;
        match (case.skip, outcome) {
            (Some(why), _) => {
                row.skipped += 1;
                if args.verbose {
                    println!("skip {}: {why}", case.id());
                }
            }
            (None, Ok(())) => {
                row.passed += 1;
                if args.verbose {
                    println!("ok   {} ({:.1?})", case.id(), time);
                }
            }
            (None, Err(f)) => {
                row.failed += 1;
                failures.push((case.id(), f.0.clone()));
            }
        }
    }

    for (id, why) in &failures {
        println!("FAIL {id}\n     {}", why.replace('\n', "\n     "));
    }
    println!();
    println!(
        "{:<15} {:<11} {:>8} {:>8} {:>8} {:>8} {:>10}",
        "family", "params", "vectors", "passed", "failed", "skipped", "time"
    );
    let mut total = Row::default();
    for ((_, family, params), row) in &rows {
        println!(
            "{:<15} {:<11} {:>8} {:>8} {:>8} {:>8} {:>10}",
            family,
            params,
            row.total,
            row.passed,
            row.failed,
            row.skipped,
            format!("{:.1?}", row.time)
        );
        total.total += row.total;
        total.passed += row.passed;
        total.failed += row.failed;
        total.skipped += row.skipped;
        total.time += row.time;
    }
    println!(
        "{:<15} {:<11} {:>8} {:>8} {:>8} {:>8} {:>10}",
        "total",
        "",
        total.total,
        total.passed,
        total.failed,
        total.skipped,
        format!("{:.1?}", total.time)
    );
    println!("{} passed, {} failed", total.passed, total.failed);
    if total.total == 0 {
        anyhow::bail!("no vector matched");
    }
    Ok(if total.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs every case on `jobs` threads, keeping results in case order.
fn run_all(cases: &[Case], jobs: usize) -> Vec<(Outcome, Duration)> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<(Outcome, Duration)>>> =
        Mutex::new((0..cases.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else { break };
                let start = Instant::now();
                let outcome = if case.skip.is_some() {
                    Ok(())
                } else {
                    case.run()
                };
                let elapsed = start.elapsed();
                if let Ok(mut r) = results.lock() {
                    r[i] = Some((outcome, elapsed));
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.unwrap_or_else(|| (Err("not run".into()), Duration::ZERO)))
        .collect()
}
