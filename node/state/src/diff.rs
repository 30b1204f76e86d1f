//! Where two serialized states differ, by state component and field.
//!
//! [`diff_key_values`] compares two key/value states `T(σ)` (GP eq. D.2)
//! and returns one [`Difference`] per differing leaf: a component `C(i)`
//! and a service info `C(255, s)` are decoded and compared field by field
//! (e.g. `π.services[0].record.accumulate_gas_used`), an account entry
//! `C(s, h)` (storage, preimage or request; their keys are hashed) by its
//! whole value. A value that does not decode is compared as octets.

use std::collections::BTreeMap;
use std::fmt;

use parajam_primitives::codec::{Decode, Encode};
use parajam_primitives::types::{
    split_account_entry_state_key, AccumulatedQueue, AccumulationOutputs, AuthPools, AuthQueues,
    AvailabilityAssignments, DisputesRecords, EntropyBuffer, KeyValue, Privileges, ReadyQueue,
    RecentBlocks, SafroleState, ServiceInfo, StateComponent, StateKey, Statistics, TimeSlot,
    ValidatorsData,
};
use parajam_primitives::ProtocolParameters;
use serde::Serialize;
use serde_json::Value;

use crate::{classify, KeyKind};

/// One differing leaf of two states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// What differs: the component's GP symbol and the field path, e.g.
    /// `π.services[0].record.accumulate_gas_used`, `δ[7].info.balance` or
    /// `δ[7].entry[0x…]`.
    pub path: String,
    /// The expected value, `None` where the expected state lacks it.
    pub expected: Option<String>,
    /// The value found, `None` where the state found lacks it.
    pub got: Option<String>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = |v: &Option<String>| v.clone().unwrap_or_else(|| "(absent)".into());
        write!(
            f,
            "{}: {} expected, {} got",
            self.path,
            side(&self.expected),
            side(&self.got)
        )
    }
}

/// A component's GP symbol.
fn symbol(c: StateComponent) -> &'static str {
    match c {
        StateComponent::AuthPools => "α",
        StateComponent::AuthQueues => "φ",
        StateComponent::RecentBlocks => "β",
        StateComponent::Safrole => "γ",
        StateComponent::Disputes => "ψ",
        StateComponent::Entropy => "η",
        StateComponent::StagingValidators => "ι",
        StateComponent::ActiveValidators => "κ",
        StateComponent::PreviousValidators => "λ",
        StateComponent::AvailabilityAssignments => "ρ",
        StateComponent::Timeslot => "τ",
        StateComponent::Privileges => "χ",
        StateComponent::Statistics => "π",
        StateComponent::ReadyQueue => "ω",
        StateComponent::Accumulated => "ξ",
        StateComponent::AccumulationOutputs => "θ",
    }
}

fn json<T: Decode + Encode + Serialize>(
    bytes: &[u8],
    params: &ProtocolParameters,
) -> Option<Value> {
    let value: T = parajam_primitives::decode(bytes, params).ok()?;
    serde_json::to_value(value).ok()
}

/// Component `c`'s value decoded to a tree of fields, if it decodes.
fn component_json(c: StateComponent, bytes: &[u8], params: &ProtocolParameters) -> Option<Value> {
    match c {
        StateComponent::AuthPools => json::<AuthPools>(bytes, params),
        StateComponent::AuthQueues => json::<AuthQueues>(bytes, params),
        StateComponent::RecentBlocks => json::<RecentBlocks>(bytes, params),
        StateComponent::Safrole => json::<SafroleState>(bytes, params),
        StateComponent::Disputes => json::<DisputesRecords>(bytes, params),
        StateComponent::Entropy => json::<EntropyBuffer>(bytes, params),
        StateComponent::StagingValidators
        | StateComponent::ActiveValidators
        | StateComponent::PreviousValidators => json::<ValidatorsData>(bytes, params),
        StateComponent::AvailabilityAssignments => json::<AvailabilityAssignments>(bytes, params),
        StateComponent::Timeslot => json::<TimeSlot>(bytes, params),
        StateComponent::Privileges => json::<Privileges>(bytes, params),
        StateComponent::Statistics => json::<Statistics>(bytes, params),
        StateComponent::ReadyQueue => json::<ReadyQueue>(bytes, params),
        StateComponent::Accumulated => json::<AccumulatedQueue>(bytes, params),
        StateComponent::AccumulationOutputs => json::<AccumulationOutputs>(bytes, params),
    }
}

fn octets(v: &[u8]) -> String {
    format!("0x{}", hex::encode(v))
}

fn leaf(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Appends the differing leaves of `expected` and `got` under `path`.
fn diff_values(
    path: &str,
    expected: Option<&Value>,
    got: Option<&Value>,
    out: &mut Vec<Difference>,
) {
    match (expected, got) {
        (Some(Value::Object(e)), Some(Value::Object(g))) => {
            for (k, ev) in e {
                diff_values(&format!("{path}.{k}"), Some(ev), g.get(k), out);
            }
            for (k, gv) in g.iter().filter(|(k, _)| !e.contains_key(*k)) {
                diff_values(&format!("{path}.{k}"), None, Some(gv), out);
            }
        }
        (Some(Value::Array(e)), Some(Value::Array(g))) => {
            for i in 0..e.len().max(g.len()) {
                diff_values(&format!("{path}[{i}]"), e.get(i), g.get(i), out);
            }
        }
        (e, g) if e != g => out.push(Difference {
            path: path.to_owned(),
            expected: e.map(leaf),
            got: g.map(leaf),
        }),
        _ => {}
    }
}

/// The differences of one key's values (`None`: the key is absent).
fn diff_key(
    key: &StateKey,
    expected: Option<&[u8]>,
    got: Option<&[u8]>,
    params: &ProtocolParameters,
    out: &mut Vec<Difference>,
) {
    let (path, component) = match classify(key) {
        Ok(KeyKind::Component(c)) => (symbol(c).to_owned(), Some(c)),
        Ok(KeyKind::ServiceInfo(s)) => (format!("δ[{s}].info"), None),
        Ok(KeyKind::Entry(..)) | Err(_) => {
            let (s, _) = split_account_entry_state_key(key);
            out.push(Difference {
                path: format!("δ[{s}].entry[{key}]"),
                expected: expected.map(octets),
                got: got.map(octets),
            });
            return;
        }
    };
    let decode = |b: &[u8]| match component {
        Some(c) => component_json(c, b, params),
        None => json::<ServiceInfo>(b, params),
    };
    let e = expected.map(|b| decode(b).ok_or(b));
    let g = got.map(|b| decode(b).ok_or(b));
    match (e, g) {
        (Some(Err(_)), _) | (_, Some(Err(_))) => out.push(Difference {
            path: format!("{path} (undecodable)"),
            expected: expected.map(octets),
            got: got.map(octets),
        }),
        (e, g) => diff_values(
            &path,
            e.as_ref().and_then(|v| v.as_ref().ok()),
            g.as_ref().and_then(|v| v.as_ref().ok()),
            out,
        ),
    }
}

/// Every differing leaf of the serialized states `got` and `expected`, in
/// key order. Empty exactly when both hold the same keys and values.
pub fn diff_key_values(
    expected: &[KeyValue],
    got: &[KeyValue],
    params: &ProtocolParameters,
) -> Vec<Difference> {
    let e: BTreeMap<&StateKey, &[u8]> = expected
        .iter()
        .map(|kv| (&kv.key, kv.value.as_slice()))
        .collect();
    let g: BTreeMap<&StateKey, &[u8]> = got
        .iter()
        .map(|kv| (&kv.key, kv.value.as_slice()))
        .collect();
    let mut keys: Vec<&StateKey> = e.keys().chain(g.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    let mut out = Vec::new();
    for key in keys {
        let (ev, gv) = (e.get(key).copied(), g.get(key).copied());
        if ev != gv {
            diff_key(key, ev, gv, params, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use parajam_primitives::codec::FixedSeq;
    use parajam_primitives::types::{
        service_info_key, CoreActivityRecord, ServiceActivityRecord, ServicesStatisticsMapEntry,
        ValidatorActivityRecord,
    };

    use super::*;

    const P: ProtocolParameters = ProtocolParameters::TINY;

    fn kv(key: StateKey, value: Vec<u8>) -> KeyValue {
        KeyValue {
            key,
            value: value.into(),
        }
    }

    #[test]
    fn statistics_differences_are_named_by_field() {
        let validators = usize::from(P.validators_count);
        let mut stats = Statistics {
            vals_curr: FixedSeq::new(vec![ValidatorActivityRecord::default(); validators]),
            vals_last: FixedSeq::new(vec![ValidatorActivityRecord::default(); validators]),
            cores: FixedSeq::new(vec![
                CoreActivityRecord::default();
                usize::from(P.core_count)
            ]),
            services: vec![ServicesStatisticsMapEntry {
                id: 7,
                record: ServiceActivityRecord {
                    accumulate_gas_used: 194_996,
                    ..ServiceActivityRecord::default()
                },
            }],
        };
        let key = StateComponent::Statistics.key();
        let expected = vec![kv(key, stats.encode())];
        stats.services[0].record.accumulate_gas_used = 195_074;
        let got = vec![kv(key, stats.encode())];
        let diff = diff_key_values(&expected, &got, &P);
        assert_eq!(
            diff.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["π.services[0].record.accumulate_gas_used: 194996 expected, 195074 got"]
        );
        assert!(diff_key_values(&expected, &expected, &P).is_empty());
    }

    #[test]
    fn missing_and_undecodable_values_are_reported() {
        let info = service_info_key(9);
        let expected = vec![kv(info, ServiceInfo::default().encode())];
        let diff = diff_key_values(&expected, &[], &P);
        assert_eq!(diff.len(), 1);
        assert_eq!(diff[0].path, "δ[9].info");
        assert_eq!(diff[0].got, None);

        let got = vec![kv(info, vec![1, 2, 3])];
        let diff = diff_key_values(&expected, &got, &P);
        assert_eq!(diff[0].path, "δ[9].info (undecodable)");
        assert_eq!(diff[0].got.as_deref(), Some("0x010203"));
    }
}
