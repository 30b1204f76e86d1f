//! Work packages, items, reports, digests, availability specs and refine
//! context (GP sections 11 and 14; encodings GP eq. C.24 – C.33).

use serde::{Deserialize, Serialize};

use super::common::{
    AuthorizerHash, CoreIndex, ErasureRoot, ExportsRoot, Gas, HeaderHash, OpaqueHash, ServiceId,
    StateRoot, TimeSlot, WorkPackageHash,
};
use crate::bytes::Bytes;
use crate::codec::{BoundedSeq, Decode, Encode, MaxWorkItems};

/// `C`: the refinement context of a work package (GP eq. 11.4; encoding C.25).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct RefineContext {
    /// `a`: anchor block header hash.
    pub anchor: HeaderHash,
    /// `s`: posterior state root of the anchor.
    pub state_root: StateRoot,
    /// `b`: accumulation-output log super-peak of the anchor.
    pub beefy_root: OpaqueHash,
    /// `l`: lookup-anchor header hash.
    pub lookup_anchor: HeaderHash,
    /// `t`: lookup-anchor timeslot.
    pub lookup_anchor_slot: TimeSlot,
    /// `p`: prerequisite work packages.
    pub prerequisites: Vec<WorkPackageHash>,
}

/// An imported segment reference `(h, i)` (GP eq. 14.5; encoding `I`, eq. C.33).
///
/// The top bit of the encoded index marks `h` as a work-package hash (`h⊞`)
/// rather than a segment-root: the index is kept here as encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct ImportSpec {
    /// Segment-tree root, or work-package hash when `index` has bit 15 set.
    pub tree_root: OpaqueHash,
    /// Segment index `i ∈ N_{2^15}`, plus `2^15` for a work-package-hash reference.
    pub index: u16,
}

impl ImportSpec {
    /// Bit 15 of the encoded index.
    pub const PACKAGE_HASH_FLAG: u16 = 1 << 15;

    /// Whether `tree_root` names a work package (`h⊞`) rather than a segment root.
    pub fn is_package_hash(&self) -> bool {
        self.index & Self::PACKAGE_HASH_FLAG != 0
    }

    /// The segment index without the flag.
    pub fn segment_index(&self) -> u16 {
        self.index & !Self::PACKAGE_HASH_FLAG
    }
}

/// An extrinsic reference `(h, n)` of a work item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct ExtrinsicSpec {
    /// Hash of the extrinsic blob.
    pub hash: OpaqueHash,
    /// Its length in octets.
    pub len: u32,
}

/// `W`: a work item (GP eq. 14.3; encoding C.31).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct WorkItem {
    /// `s`: service index.
    pub service: ServiceId,
    /// `c`: code hash of the service at the lookup anchor.
    pub code_hash: OpaqueHash,
    /// `g`: refine gas limit.
    pub refine_gas_limit: Gas,
    /// `a`: accumulate gas limit.
    pub accumulate_gas_limit: Gas,
    /// `e`: number of exported segments.
    pub export_count: u16,
    /// `y`: payload blob.
    pub payload: Bytes,
    /// `i`: imported segments.
    pub import_segments: Vec<ImportSpec>,
    /// `x`: extrinsic references.
    pub extrinsic: Vec<ExtrinsicSpec>,
}

/// `P`: a work package (GP eq. 14.2; encoding C.30).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct WorkPackage {
    /// `h`: service hosting the authorization code.
    pub auth_code_host: ServiceId,
    /// `u`: authorization code hash.
    pub auth_code_hash: OpaqueHash,
    /// `c`: refinement context.
    pub context: RefineContext,
    /// `j`: authorization token.
    pub authorization: Bytes,
    /// `f`: authorizer configuration.
    pub authorizer_config: Bytes,
    /// `w ∈ ⟦W⟧_{1:I}`: work items.
    pub items: BoundedSeq<WorkItem, MaxWorkItems, 1>,
}

/// `B ∪ E`: the result of refining one work item (GP eq. 11.7; encoding `O`, eq. C.32).
///
/// In JSON it is a one-key object, `{"ok": "0x…"}` or `{"panic": null}`, as in the vectors.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
// jam-codec's derive casts the variant index to `u8`.
#[allow(clippy::cast_possible_truncation)]
pub enum WorkExecResult {
    /// The output blob.
    #[codec(index = 0)]
    Ok(Bytes),
    /// `∞`: out of gas.
    #[codec(index = 1)]
    OutOfGas,
    /// `☇`: panicked.
    #[codec(index = 2)]
    Panic,
    /// `⊚`: the number of exports did not match the declared count.
    #[codec(index = 3)]
    BadExports,
    /// `⊖`: the digest's output made the report exceed `W_R`.
    #[codec(index = 4)]
    Oversize,
    /// `BAD`: the service code was not available for lookup.
    #[codec(index = 5)]
    BadCode,
    /// `BIG`: the service code exceeded `W_C`.
    #[codec(index = 6)]
    CodeOversize,
}

impl WorkExecResult {
    /// The JSON key of each variant, in discriminator order.
    const NAMES: [&'static str; 7] = [
        "ok",
        "out_of_gas",
        "panic",
        "bad_exports",
        "oversize",
        "bad_code",
        "code_oversize",
    ];

    fn name(&self) -> &'static str {
        let index = match self {
            Self::Ok(_) => 0,
            Self::OutOfGas => 1,
            Self::Panic => 2,
            Self::BadExports => 3,
            Self::Oversize => 4,
            Self::BadCode => 5,
            Self::CodeOversize => 6,
        };
        Self::NAMES[index]
    }
}

impl Serialize for WorkExecResult {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            Self::Ok(bytes) => map.serialize_entry("ok", bytes)?,
            other => map.serialize_entry(other.name(), &())?,
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for WorkExecResult {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let map = std::collections::BTreeMap::<String, Option<Bytes>>::deserialize(deserializer)?;
        let mut entries = map.into_iter();
        let (Some((key, value)), None) = (entries.next(), entries.next()) else {
            return Err(D::Error::custom(
                "a work result is an object with exactly one key",
            ));
        };
        Ok(match (key.as_str(), value) {
            ("ok", Some(bytes)) => Self::Ok(bytes),
            ("out_of_gas", None) => Self::OutOfGas,
            ("panic", None) => Self::Panic,
            ("bad_exports", None) => Self::BadExports,
            ("oversize", None) => Self::Oversize,
            ("bad_code", None) => Self::BadCode,
            ("code_oversize", None) => Self::CodeOversize,
            (other, _) => {
                return Err(D::Error::unknown_variant(other, &Self::NAMES));
            }
        })
    }
}

impl Default for WorkExecResult {
    fn default() -> Self {
        Self::Ok(Bytes::default())
    }
}

/// The refinement load of a work digest: `u, i, x, z, e`, general naturals in
/// the encoding (GP eq. C.28: "variable length, since we never access them individually").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct RefineLoad {
    /// `u`: gas used in refinement.
    #[codec(compact)]
    pub gas_used: Gas,
    /// `i`: number of imported segments.
    #[codec(compact)]
    pub imports: u16,
    /// `x`: number of extrinsics.
    #[codec(compact)]
    pub extrinsic_count: u16,
    /// `z`: total extrinsic size in octets.
    #[codec(compact)]
    pub extrinsic_size: u32,
    /// `e`: number of exported segments.
    #[codec(compact)]
    pub exports: u16,
}

/// `D`: a work digest, the per-item result in a report (GP eq. 11.6; encoding C.28).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct WorkResult {
    /// `s`: service index.
    pub service_id: ServiceId,
    /// `c`: code hash.
    pub code_hash: OpaqueHash,
    /// `y`: hash of the payload.
    pub payload_hash: OpaqueHash,
    /// `g`: accumulate gas limit.
    pub accumulate_gas: Gas,
    /// `l`: the refinement result.
    pub result: WorkExecResult,
    /// `u, i, x, z, e`.
    pub refine_load: RefineLoad,
}

/// `Y`: availability specification of a work package (GP eq. 11.5; encoding C.26).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct WorkPackageSpec {
    /// `p`: work-package hash.
    pub hash: WorkPackageHash,
    /// `l`: auditable bundle length.
    pub length: u32,
    /// `u`: erasure root.
    pub erasure_root: ErasureRoot,
    /// `e`: segment root.
    pub exports_root: ExportsRoot,
    /// `n`: segment count.
    pub exports_count: u16,
}

/// One entry of a report's segment-root lookup dictionary.
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct SegmentRootLookupItem {
    /// Work-package hash.
    pub work_package_hash: WorkPackageHash,
    /// Its segment-tree root.
    pub segment_tree_root: OpaqueHash,
}

/// `R`: a work report (GP eq. 11.2; encoding C.29).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct WorkReport {
    /// `s`: availability specification.
    pub package_spec: WorkPackageSpec,
    /// `c`: refinement context.
    pub context: RefineContext,
    /// `c`: core index, a general natural in the encoding (C.29).
    #[codec(compact)]
    pub core_index: CoreIndex,
    /// `a`: authorizer hash.
    pub authorizer_hash: AuthorizerHash,
    /// `g`: gas used by is-authorized, a general natural in the encoding (C.29).
    #[codec(compact)]
    pub auth_gas_used: Gas,
    /// `t`: authorizer trace (output).
    pub auth_output: Bytes,
    /// `l`: segment-root lookup dictionary, ordered by key.
    pub segment_root_lookup: Vec<SegmentRootLookupItem>,
    /// `d ∈ ⟦D⟧_{1:I}`: work digests.
    pub results: BoundedSeq<WorkResult, MaxWorkItems, 1>,
}
