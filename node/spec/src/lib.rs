//! JAM chain specifications, JIP-4 (polkadot-fellows/JIPs `JIP-4.md`): the
//! JSON file that names a network (`id`), the nodes to dial first
//! (`bootnodes`), its genesis header and state, and its protocol
//! parameters.
//!
//! [`ChainSpec::from_json`] checks everything a node relies on before it
//! uses any of it: no unknown or missing field; hex everywhere it is due,
//! with the right lengths (31-octet state keys); the genesis header decodes
//! as a GP 0.7.2 header under the spec's parameters; the genesis state
//! decodes as a whole GP state `σ` (every component present and valid,
//! service entries with their accounts: `parajam_state::State`); the
//! parameters are the `fetch` constants encoding (GP B.7) of a parameter
//! set parajam runs (`tiny` or `full`: one binary serves both, and the
//! protocol version is not negotiable); bootnodes in the
//! `e<base32 Ed25519 key>@<ip>:<port>` form (JAMNP-S's node name). Each refusal is a
//! [`SpecError`] naming the field. [`ChainSpec::to_json`] writes the same
//! format back; reading what it writes gives the same spec.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

use parajam_primitives::types::{Header, KeyValue, StateKey};
use parajam_primitives::{Bytes, ProtocolParameters};
use parajam_state::State;
use serde::{Deserialize, Serialize};

/// A checked chain specification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSpec {
    /// `id`: the network's machine-readable name.
    pub id: String,
    /// `bootnodes`: the nodes to connect to first.
    pub bootnodes: Vec<Bootnode>,
    /// `genesis_header`: the genesis block's header.
    pub genesis_header: Header,
    /// `genesis_state`: the genesis state's key/values, in key order.
    pub genesis_state: Vec<KeyValue>,
    /// `protocol_parameters`: the parameter set the spec encodes.
    pub protocol_parameters: ProtocolParameters,
}

/// A bootnode: `<name>@<ip>:<port>`, the name being `e` and the node's
/// Ed25519 key in base 32 (JAMNP-S's node name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bootnode {
    /// The node's Ed25519 public key.
    pub ed25519: [u8; 32],
    /// Where it listens.
    pub address: SocketAddr,
}

/// Why a chain specification was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    /// Not JSON, or not of JIP-4's shape (unknown or missing field, wrong
    /// JSON type); serde's message names the field and where it is.
    #[error("not a JIP-4 chain spec: {0}")]
    Json(String),
    /// A field that must be hex is not.
    #[error("{field}: not hex ({reason})")]
    Hex {
        /// Which field (for a state entry, its key).
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A field has the wrong length.
    #[error("{field}: {got} octets, expected {expected}")]
    Length {
        /// Which field.
        field: String,
        /// The length required.
        expected: usize,
        /// The length found.
        got: usize,
    },
    /// `id` is empty.
    #[error("id: empty")]
    EmptyId,
    /// A bootnode is not `e<base32 key>@<ip>:<port>`.
    #[error("bootnodes[{index}]: {reason}")]
    Bootnode {
        /// Its place in the list.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// `protocol_parameters` are not a parameter set parajam runs.
    #[error(
        "protocol_parameters: not a parameter set parajam runs (tiny, full or tiny-12); \
         it differs from tiny first at octet {first_difference}"
    )]
    Parameters {
        /// The first octet where it differs from `tiny`'s encoding.
        first_difference: usize,
    },
    /// `genesis_header` does not decode as a header.
    #[error("genesis_header: {0}")]
    Header(String),
    /// `genesis_state` is not a valid GP state.
    #[error("genesis_state: {0}")]
    State(String),
    /// A state key appears twice (JSON objects may repeat keys).
    #[error("genesis_state: key {0} appears twice")]
    DuplicateKey(String),
}

/// The JSON form, field for field.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Json {
    id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    bootnodes: Vec<String>,
    genesis_header: String,
    genesis_state: StateMap,
    protocol_parameters: String,
}

/// `genesis_state`, keeping repeated keys so that they can be refused.
#[derive(Debug, Default)]
struct StateMap(Vec<(String, String)>);

impl Serialize for StateMap {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for StateMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = StateMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of hex state keys to hex values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<StateMap, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    out.push((k, v));
                }
                Ok(StateMap(out))
            }
        }
        d.deserialize_map(Visitor)
    }
}

fn unhex(field: &str, text: &str) -> Result<Vec<u8>, SpecError> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    hex::decode(digits).map_err(|e| SpecError::Hex {
        field: field.to_owned(),
        reason: e.to_string(),
    })
}

impl ChainSpec {
    /// Reads and checks a JIP-4 chain spec (see the crate docs).
    pub fn from_json(text: &str) -> Result<Self, SpecError> {
        let json: Json = serde_json::from_str(text).map_err(|e| SpecError::Json(e.to_string()))?;
        if json.id.is_empty() {
            return Err(SpecError::EmptyId);
        }
        let params_blob = unhex("protocol_parameters", &json.protocol_parameters)?;
        let protocol_parameters = parameters_of(&params_blob)?;
        let bootnodes = json
            .bootnodes
            .iter()
            .enumerate()
            .map(|(index, text)| {
                Bootnode::parse(text).map_err(|reason| SpecError::Bootnode { index, reason })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let header_octets = unhex("genesis_header", &json.genesis_header)?;
        let genesis_header: Header =
            parajam_primitives::decode(&header_octets, &protocol_parameters)
                .map_err(|e| SpecError::Header(e.to_string()))?;
        let mut state = BTreeMap::new();
        for (key_text, value_text) in &json.genesis_state.0 {
            let field = format!("genesis_state key {key_text}");
            let key = unhex(&field, key_text)?;
            let key = StateKey::try_from(&key[..]).map_err(|_| SpecError::Length {
                field: field.clone(),
                expected: 31,
                got: key.len(),
            })?;
            let value = unhex(&format!("genesis_state[{key_text}]"), value_text)?;
            if state.insert(key, value).is_some() {
                return Err(SpecError::DuplicateKey(key_text.clone()));
            }
        }
        let genesis_state: Vec<KeyValue> = state
            .into_iter()
            .map(|(key, value)| KeyValue {
                key,
                value: Bytes(value),
            })
            .collect();
        State::from_key_values(&genesis_state, &protocol_parameters)
            .map_err(|e| SpecError::State(e.to_string()))?;
        Ok(Self {
            id: json.id,
            bootnodes,
            genesis_header,
            genesis_state,
            protocol_parameters,
        })
    }

    /// The spec as JIP-4 JSON (pretty-printed; state in key order).
    pub fn to_json(&self) -> String {
        let params = &self.protocol_parameters;
        let json = Json {
            id: self.id.clone(),
            bootnodes: self.bootnodes.iter().map(ToString::to_string).collect(),
            genesis_header: hex::encode(parajam_primitives::codec::with_params(params, || {
                parajam_primitives::codec::Encode::encode(&self.genesis_header)
            })),
            genesis_state: StateMap(
                self.genesis_state
                    .iter()
                    .map(|kv| (hex::encode(kv.key.as_ref()), hex::encode(&kv.value.0)))
                    .collect(),
            ),
            protocol_parameters: hex::encode(parajam_host::general::constants_blob(params)),
        };
        // A struct of strings and string maps always serializes.
        serde_json::to_string_pretty(&json).unwrap_or_default()
    }

    /// A spec of `state` with `genesis_header`, for `params`.
    pub fn new(
        id: impl Into<String>,
        bootnodes: Vec<Bootnode>,
        genesis_header: Header,
        state: &State,
        protocol_parameters: ProtocolParameters,
    ) -> Self {
        Self {
            id: id.into(),
            bootnodes,
            genesis_header,
            genesis_state: state.to_key_values(),
            protocol_parameters,
        }
    }

    /// The genesis state, decoded.
    pub fn state(&self) -> Result<State, SpecError> {
        State::from_key_values(&self.genesis_state, &self.protocol_parameters)
            .map_err(|e| SpecError::State(e.to_string()))
    }
}

/// The parameter set whose `fetch` constants encoding is `blob`.
fn parameters_of(blob: &[u8]) -> Result<ProtocolParameters, SpecError> {
    for params in ProtocolParameters::ALL {
        if parajam_host::general::constants_blob(&params) == blob {
            return Ok(params);
        }
    }
    let tiny = parajam_host::general::constants_blob(&ProtocolParameters::TINY);
    let first_difference = tiny
        .iter()
        .zip(blob)
        .position(|(a, b)| a != b)
        .unwrap_or(tiny.len().min(blob.len()));
    Err(SpecError::Parameters { first_difference })
}

/// The base-32 alphabet of JAMNP-S node names.
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// JAMNP-S's `B(n, 52)`: the key read as a little-endian 256-bit number,
/// written in base 32 least significant digit first. By hand: base-32
/// libraries (RFC 4648) take bits most significant first, which is a
/// different text for the same key.
fn name_digits(key: &[u8; 32]) -> String {
    let mut out = String::with_capacity(52);
    for digit in 0..52 {
        let bit = digit * 5;
        let mut value = 0u16;
        for i in 0..5 {
            let b = bit + i;
            if b < 256 && key[b / 8] >> (b % 8) & 1 == 1 {
                value |= 1 << i;
            }
        }
        out.push(char::from(ALPHABET[usize::from(value)]));
    }
    out
}

/// The inverse of [`name_digits`]; `None` for a wrong length, a character
/// outside the alphabet, or a number of 2^256 or more.
fn key_of_digits(digits: &str) -> Option<[u8; 32]> {
    if digits.len() != 52 {
        return None;
    }
    let mut key = [0u8; 32];
    for (digit, c) in digits.bytes().enumerate() {
        let value = ALPHABET.iter().position(|&a| a == c)?;
        for i in 0..5 {
            if value >> i & 1 == 1 {
                let b = digit * 5 + i;
                if b >= 256 {
                    return None;
                }
                key[b / 8] |= 1 << (b % 8);
            }
        }
    }
    Some(key)
}

impl Bootnode {
    /// The node name: `e` and the key in base 32 (53 characters).
    pub fn name(&self) -> String {
        format!("e{}", name_digits(&self.ed25519))
    }

    /// Parses `<name>@<ip>:<port>`; IPv6 addresses may be bracketed.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (name, address) = text
            .split_once('@')
            .ok_or_else(|| format!("`{text}`: no `@` between name and address"))?;
        let ed25519 = name
            .strip_prefix('e')
            .and_then(key_of_digits)
            .ok_or_else(|| {
                format!("`{name}`: a name is `e` and an Ed25519 key in 52 base-32 digits")
            })?;
        let (ip, port) = address
            .rsplit_once(':')
            .ok_or_else(|| format!("`{address}`: no `:<port>`"))?;
        let ip = ip
            .strip_prefix('[')
            .and_then(|i| i.strip_suffix(']'))
            .unwrap_or(ip);
        let ip: IpAddr = ip.parse().map_err(|e| format!("`{ip}`: {e}"))?;
        let port: u16 = port.parse().map_err(|e| format!("port `{port}`: {e}"))?;
        Ok(Self {
            ed25519,
            address: SocketAddr::new(ip, port),
        })
    }
}

impl fmt::Display for Bootnode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name(), self.address)
    }
}
