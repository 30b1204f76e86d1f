//! `shuffle/shuffle_tests.json`: the Fisher–Yates shuffle of GP appendix F,
//! one case per entry: `shuffle([0, n), entropy) == output`.

use std::path::Path;

use serde::Deserialize;

use super::{expect_eq, read};
use crate::{Case, Failure};

#[derive(Debug, Clone, Deserialize)]
struct ShuffleCase {
    input: u32,
    entropy: String,
    output: Vec<u32>,
}

/// Lists one case per entry of the file.
pub fn collect(dir: &Path, cases: &mut Vec<Case>) {
    let path = dir.join("shuffle/shuffle_tests.json");
    let parsed = read(&path).and_then(|bytes| {
        serde_json::from_slice::<Vec<ShuffleCase>>(&bytes)
            .map_err(|e| Failure(format!("{}: {e}", path.display())))
    });
    let entries = match parsed {
        Ok(entries) if !entries.is_empty() => entries,
        Ok(_) => return cases.push(Case::broken("shuffle", None, "no shuffle cases".into())),
        Err(e) => return cases.push(Case::broken("shuffle", None, e.0)),
    };
    for (i, case) in entries.into_iter().enumerate() {
        let name = format!("case-{i:02}-n{}", case.input);
        cases.push(Case::new("shuffle", None, name, move || {
            let entropy: [u8; 32] = parajam_primitives::bytes::parse_hex(&case.entropy)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| Failure(format!("bad entropy {}", case.entropy)))?;
            let got = parajam_crypto::shuffle((0..case.input).collect(), &entropy);
            expect_eq("shuffled sequence", &got, &case.output)
        }));
    }
}
