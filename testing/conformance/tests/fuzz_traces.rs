//! One test per fuzz trace directory of davxy/jam-conformance
//! (`jam-conformance/traces/<id>` among the unpacked vectors): every step
//! imports to the trace's post-state root, or is rejected where the trace
//! keeps the pre-state. Filter by directory: `-- 1766241814`.

use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let args = Arguments::from_args();
    let trials = match parajam_conformance::locate_vectors() {
        Ok(dir) => parajam_conformance::families::fuzz_traces::collect(&dir)
            .into_iter()
            .map(|case| Trial::test(case.id(), move || case.run().map_err(|f| Failed::from(f.0))))
            .collect(),
        // Missing vectors are a failing test, never a silent pass.
        Err(e) => vec![Trial::test("fuzz_traces::locate", move || {
            Err(Failed::from(e.to_string()))
        })],
    };
    libtest_mimic::run(&args, trials).exit();
}
