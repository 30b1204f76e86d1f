//! `erasure/{tiny,full}/ec-*.{bin,json}`: encoding gives exactly the vector's
//! chunks, and several sufficient subsets of chunks reconstruct the data.

use std::path::Path;

use parajam_erasure::ErasureCoder;
use parajam_primitives::codec::{Decode, Encode};
use parajam_primitives::{Bytes, ProtocolParameters};
use serde::{Deserialize, Serialize};

use super::{decode_round_trip, expect_eq, files_with_ext, read, read_json, stem, PARAM_SETS};
use crate::{Case, Failure, Outcome};

/// `ErasureCodingTestVector` of `erasure/schema.asn`. The schema sizes
/// `shards` by `validators-count`, but the binary carries a length prefix;
/// the count is checked against the parameters separately.
#[derive(Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
struct ErasureVector {
    data: Bytes,
    shards: Vec<Bytes>,
}

/// Lists one case per vector of each parameter set.
pub fn collect(dir: &Path, cases: &mut Vec<Case>) {
    for params in PARAM_SETS {
        let sub = dir.join("erasure").join(params.name);
        match files_with_ext(&sub, "bin") {
            Ok(files) => {
                for bin in files {
                    cases.push(Case::new(
                        "erasure",
                        Some(params.name),
                        stem(&bin),
                        move || check_file(&bin, &params),
                    ));
                }
            }
            Err(e) => cases.push(Case::broken("erasure", Some(params.name), e)),
        }
    }
}

/// Deterministic pseudo-random index choice (xorshift), so failures reproduce.
fn pick_indices(total: usize, want: usize, seed: u64) -> Vec<usize> {
    let mut state = seed | 1;
    let mut all: Vec<usize> = (0..total).collect();
    for i in (1..total).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let j = usize::try_from(state % (i as u64 + 1)).unwrap_or(0);
        all.swap(i, j);
    }
    all.truncate(want);
    all
}

fn check_file(bin: &Path, params: &ProtocolParameters) -> Outcome {
    let bytes = read(bin)?;
    let vector: ErasureVector = decode_round_trip(&bytes, params)?;
    let from_json: ErasureVector = serde_json::from_value(read_json(&bin.with_extension("json"))?)
        .map_err(|e| Failure(format!("JSON does not parse: {e}")))?;
    expect_eq(".bin vs .json", &vector, &from_json)?;
    expect_eq(
        "number of shards",
        &vector.shards.len(),
        &params.erasure_total_shards(),
    )?;

    let coder = ErasureCoder::new(params.erasure_data_shards(), params.erasure_total_shards())
        .map_err(|e| Failure(format!("coder: {e}")))?;
    let chunks = coder
        .encode(&vector.data)
        .map_err(|e| Failure(format!("encode: {e}")))?;
    let want: Vec<Vec<u8>> = vector.shards.iter().map(|s| s.0.clone()).collect();
    if chunks != want {
        let first = chunks
            .iter()
            .zip(&want)
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        return Err(Failure(format!(
            "encoded chunks differ from the vector (first at chunk {first} of {})",
            want.len()
        )));
    }

    let k = coder.data_shards();
    let n = coder.total_shards();
    let mut subsets: Vec<(String, Vec<usize>)> = vec![
        ("the data chunks".into(), (0..k).collect()),
        ("the last chunks".into(), (n - k..n).collect()),
    ];
    for seed in 1..=3u64 {
        subsets.push((
            format!("random subset #{seed}"),
            pick_indices(n, k, seed * 0x9e37),
        ));
    }
    for (label, indices) in subsets {
        let chosen: Vec<(usize, &[u8])> =
            indices.iter().map(|&i| (i, want[i].as_slice())).collect();
        let data = coder
            .reconstruct(&chosen, vector.data.len())
            .map_err(|e| Failure(format!("reconstruct from {label}: {e}")))?;
        expect_eq(
            &format!("data reconstructed from {label}"),
            &data,
            &vector.data.0,
        )?;
    }
    // One chunk fewer than needed must be refused, not guessed.
    let short: Vec<(usize, &[u8])> = (0..k - 1).map(|i| (i, want[i].as_slice())).collect();
    if coder.reconstruct(&short, vector.data.len()).is_ok() {
        return Err(Failure(format!(
            "reconstruct accepted {} chunks where {k} are needed",
            k - 1
        )));
    }
    Ok(())
}
