//! `codec/{tiny,full}/*.{bin,json}`: each binary decodes to the type the file
//! is named for, re-encodes to the same octets, and agrees with the JSON.

use std::path::Path;

use parajam_primitives::codec::{Decode, Encode};
use parajam_primitives::types::{
    AssurancesExtrinsic, Block, DisputesExtrinsic, Extrinsic, GuaranteesExtrinsic, Header,
    PreimagesExtrinsic, RefineContext, TicketsExtrinsic, WorkItem, WorkPackage, WorkReport,
    WorkResult,
};
use parajam_primitives::ProtocolParameters;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{
    decode_round_trip, expect_eq, files_with_ext, json_difference, read, read_json, stem,
    PARAM_SETS,
};
use crate::{Case, Failure, Outcome};

/// Lists one case per `.bin` file of each parameter set.
pub fn collect(dir: &Path, cases: &mut Vec<Case>) {
    for params in PARAM_SETS {
        let sub = dir.join("codec").join(params.name);
        match files_with_ext(&sub, "bin") {
            Ok(files) => {
                for bin in files {
                    cases.push(Case::new(
                        "codec",
                        Some(params.name),
                        stem(&bin),
                        move || check_file(&bin, &params),
                    ));
                }
            }
            Err(e) => cases.push(Case::broken("codec", Some(params.name), e)),
        }
    }
}

/// The type a codec vector holds, by file name (`header_0` → `Header`).
fn check_file(bin: &Path, params: &ProtocolParameters) -> Outcome {
    let name = stem(bin);
    let kind = name
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .trim_end_matches('_');
    let json = bin.with_extension("json");
    match kind {
        "assurances_extrinsic" => check::<AssurancesExtrinsic>(bin, &json, params),
        "block" => check::<Block>(bin, &json, params),
        "disputes_extrinsic" => check::<DisputesExtrinsic>(bin, &json, params),
        "extrinsic" => check::<Extrinsic>(bin, &json, params),
        "guarantees_extrinsic" => check::<GuaranteesExtrinsic>(bin, &json, params),
        "header" => check::<Header>(bin, &json, params),
        "preimages_extrinsic" => check::<PreimagesExtrinsic>(bin, &json, params),
        "refine_context" => check::<RefineContext>(bin, &json, params),
        "tickets_extrinsic" => check::<TicketsExtrinsic>(bin, &json, params),
        "work_item" => check::<WorkItem>(bin, &json, params),
        "work_package" => check::<WorkPackage>(bin, &json, params),
        "work_report" => check::<WorkReport>(bin, &json, params),
        "work_result" => check::<WorkResult>(bin, &json, params),
        other => Err(Failure(format!(
            "no type is mapped to codec vector kind `{other}`"
        ))),
    }
}

fn check<T>(bin: &Path, json: &Path, params: &ProtocolParameters) -> Outcome
where
    T: Decode + Encode + Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let bytes = read(bin)?;
    let decoded: T = decode_round_trip(&bytes, params)?;

    let json_value = read_json(json)?;
    let from_json: T = serde_json::from_value(json_value.clone())
        .map_err(|e| Failure(format!("JSON does not parse as the type: {e}")))?;
    expect_eq(
        "value decoded from .bin vs parsed from .json",
        &decoded,
        &from_json,
    )?;
    expect_eq(
        "encoding of the JSON value vs the .bin",
        &from_json.encode(),
        &bytes,
    )?;
    let back = serde_json::to_value(&decoded).map_err(|e| Failure(e.to_string()))?;
    match json_difference(&back, &json_value, "$") {
        None => Ok(()),
        Some(diff) => Err(Failure(format!(
            "JSON written from the decoded value differs at {diff}"
        ))),
    }
}
