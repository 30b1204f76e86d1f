//! One test per JAM conformance vector (libtest-compatible, so it runs under
//! `cargo test` and `cargo nextest`). Filter by family: `-- codec::tiny`.

use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let args = Arguments::from_args();
    let trials = match parajam_conformance::locate_vectors() {
        Ok(dir) => {
            let cases = parajam_conformance::collect(&dir);
            for (prefix, why) in parajam_conformance::SKIP_LIST {
                eprintln!("skip list: {prefix}: {why}");
            }
            cases
                .into_iter()
                .map(|case| {
                    let ignored = case.skip.is_some();
                    Trial::test(case.id(), move || case.run().map_err(|f| Failed::from(f.0)))
                        .with_ignored_flag(ignored)
                })
                .collect()
        }
        // Missing vectors are a failing test, never a silent pass.
        Err(e) => vec![Trial::test("vectors::locate", move || {
            Err(Failed::from(e.to_string()))
        })],
    };
    libtest_mimic::run(&args, trials).exit();
}
