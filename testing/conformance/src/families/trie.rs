//! `trie/trie.json`: the binary Patricia trie of GP appendix D, one case per entry.
//!
//! This file predates GP 0.4.0 and was never regenerated (upstream issue
//! davxy/jam-test-vectors#81, open): it uses the old node layout (key bits
//! least significant first, leaf/branch headers of GP 0.2.2), so no correct
//! 0.7.2 implementation reproduces its roots, while the same release's traces
//! do follow 0.7.2. We therefore check it with `state_root_gp022`, which runs
//! the same trie recursion as the consensus `state_root` under the old node
//! layout; the 0.7.2 layout itself is checked against the Merkle root of every
//! pre- and post-state in the traces (`traces-codec`).
//! Keys are 32 octets in the file; only the first 31 are significant.

use std::collections::BTreeMap;
use std::path::Path;

use parajam_primitives::bytes::parse_hex;
use serde::Deserialize;

use super::{expect_eq, read};
use crate::{Case, Failure};

#[derive(Debug, Clone, Deserialize)]
struct TrieCase {
    input: BTreeMap<String, String>,
    output: String,
}

fn hex(s: &str) -> Result<Vec<u8>, Failure> {
    parse_hex(s).map_err(|e| Failure(format!("bad hex {s:?}: {e}")))
}

/// Lists one case per entry of the file.
pub fn collect(dir: &Path, cases: &mut Vec<Case>) {
    let path = dir.join("trie/trie.json");
    let parsed = read(&path).and_then(|bytes| {
        serde_json::from_slice::<Vec<TrieCase>>(&bytes)
            .map_err(|e| Failure(format!("{}: {e}", path.display())))
    });
    let entries = match parsed {
        Ok(entries) if !entries.is_empty() => entries,
        Ok(_) => return cases.push(Case::broken("trie", None, "no trie cases".into())),
        Err(e) => return cases.push(Case::broken("trie", None, e.0)),
    };
    for (i, case) in entries.into_iter().enumerate() {
        let name = format!("case-{i:03}-{}keys", case.input.len());
        cases.push(Case::new("trie", None, name, move || {
            let mut entries: Vec<([u8; 31], Vec<u8>)> = Vec::with_capacity(case.input.len());
            for (k, v) in &case.input {
                let key = hex(k)?;
                let key: [u8; 31] = key
                    .get(..31)
                    .and_then(|k| k.try_into().ok())
                    .ok_or_else(|| Failure(format!("key {k} shorter than 31 octets")))?;
                entries.push((key, hex(v)?));
            }
            let root =
                parajam_merkle::state_root_gp022(entries.iter().map(|(k, v)| (k, v.as_slice())));
            expect_eq("state root", &hex::encode(root), &case.output)
        }));
    }
}
