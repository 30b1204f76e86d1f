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
            if !args.list {
                // The `pvm::compiler` cases run in whichever recompiler
                // sandbox this machine allows: say which.
                let pvm = parajam_pvm::Pvm::new(parajam_pvm::PvmFlavor::Gp072);
                let sandbox = pvm
                    .as_ref()
                    .ok()
                    .and_then(parajam_pvm::Pvm::compiler_sandbox);
                eprintln!(
                    "pvm::compiler cases: polkavm's {} sandbox",
                    sandbox.map_or("generic (the Linux one cannot start here)", |s| s.name())
                );
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
