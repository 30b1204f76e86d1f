//! The whole Gray Paper state `σ` (GP 0.7.2 eq. 4.4) and its key/value
//! serialization `T(σ)` (appendix D, eq. D.1 and D.2), with its Merkle
//! commitment `M_σ(σ)` (eq. D.3 – D.6, via `parajam-merkle`).
//!
//! [`State::from_key_values`] reads a serialized state (as carried by the
//! traces and the fuzzer protocol) into typed components, refusing anything
//! that is not exactly `T(σ)` of some `σ`; [`State::to_key_values`] is its
//! inverse, and [`State::root`] the state root.
//!
//! Service accounts are kept as the serialization holds them (see
//! [`ServiceAccount`]): the info under `C(255, s)` decoded, and the storage,
//! preimage and request entries `C(s, h)` as opaque values by the hashed part
//! of their key (GP §D.1: keys are never enumerated, only their hashes).
//!
//! ```no_run
//! # use parajam_primitives::{types::RawState, ProtocolParameters};
//! # use parajam_state::State;
//! # fn f(raw: &RawState) -> Result<(), parajam_state::StateError> {
//! let state = State::from_key_values(&raw.keyvals, &ProtocolParameters::TINY)?;
//! assert_eq!(state.root(), raw.state_root);
//! # Ok(()) }
//! ```

pub mod diff;

use std::borrow::Cow;
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::fmt;

use parajam_primitives::codec::{Decode, Encode};
use parajam_primitives::types::{
    account_entry_state_key, service_info_key, split_account_entry_state_key, AccumulatedQueue,
    AccumulationOutputs, AuthPools, AuthQueues, AvailabilityAssignments, DisputesRecords,
    EntropyBuffer, EntryKey, KeyValue, Privileges, ReadyQueue, RecentBlocks, SafroleState,
    ServiceAccount, ServiceId, ServiceInfo, StateComponent, StateKey, StateRoot, Statistics,
    TimeSlot, ValidatorsData,
};
use parajam_primitives::{ByteArray, DecodeError, ProtocolParameters};

/// A state component's Gray Paper symbol and field name, for messages.
fn component_name(c: StateComponent) -> &'static str {
    match c {
        StateComponent::AuthPools => "α auth_pools",
        StateComponent::AuthQueues => "φ auth_queues",
        StateComponent::RecentBlocks => "β recent_blocks",
        StateComponent::Safrole => "γ safrole",
        StateComponent::Disputes => "ψ disputes",
        StateComponent::Entropy => "η entropy",
        StateComponent::StagingValidators => "ι staging_validators",
        StateComponent::ActiveValidators => "κ active_validators",
        StateComponent::PreviousValidators => "λ previous_validators",
        StateComponent::AvailabilityAssignments => "ρ availability",
        StateComponent::Timeslot => "τ timeslot",
        StateComponent::Privileges => "χ privileges",
        StateComponent::Statistics => "π statistics",
        StateComponent::ReadyQueue => "ω ready_queue",
        StateComponent::Accumulated => "ξ accumulated",
        StateComponent::AccumulationOutputs => "θ accumulation_outputs",
    }
}

/// A state component `C(i)` named for messages: `C(3) β recent_blocks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Component(pub StateComponent);

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "C({}) {}", self.0 as u8, component_name(self.0))
    }
}

/// Why a key/value set is not the serialization `T(σ)` of any state (GP eq. D.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// A component key `C(i)`, `i ∈ 1..=16`, is absent.
    #[error("state component {0} is missing")]
    MissingComponent(Component),
    /// A component's value is not the (canonical) encoding of its type.
    #[error("state component {component} does not decode: {source}")]
    Component {
        /// The component.
        component: Component,
        /// The decoder's reason.
        source: DecodeError,
    },
    /// A service info value `C(255, s)` is not the encoding of a [`ServiceInfo`].
    #[error("info of service {service} (C(255, {service})) does not decode: {source}")]
    ServiceInfo {
        /// The service `s`.
        service: ServiceId,
        /// The decoder's reason.
        source: DecodeError,
    },
    /// The same key occurs twice.
    #[error("duplicate state key {0}")]
    DuplicateKey(StateKey),
    /// An account entry `C(s, h)` of a service `s` that has no `C(255, s)` info.
    #[error(
        "state key {key} is an entry of service {service}, which has no info C(255, {service})"
    )]
    OrphanEntry {
        /// The service `s = (k_0, k_2, k_4, k_6)` of the key.
        service: ServiceId,
        /// The entry's full key.
        key: StateKey,
    },
    /// A key of the component form `[i, n_0, 0, n_1, 0, n_2, 0, n_3, 0, …]`
    /// (eq. D.1) that GP 0.7.2 does not define: `i ∉ 1..=16` with `n = 0`,
    /// or `i ∉ {255}` with `n ≠ 0`.
    #[error("state key {0} has the form of a component key C(i) or C(i, s) but is not one GP 0.7.2 defines")]
    UnknownKey(StateKey),
}

/// The state `σ` (GP eq. 4.4), every component typed.
///
/// Its serialization is [`State::to_key_values`] (`T(σ)`, eq. D.2), its
/// commitment [`State::root`] (`M_σ(σ)`, eq. D.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// `α`: authorizer pools (eq. 8.1), `C(1)`.
    pub auth_pools: AuthPools,
    /// `φ`: authorizer queues (eq. 8.1), `C(2)`.
    pub auth_queues: AuthQueues,
    /// `β = (β_H, β_B)`: recent blocks and the accumulation-output belt (eq. 7.1), `C(3)`.
    pub recent_blocks: RecentBlocks,
    /// `γ = (γ_k, γ_z, γ_s, γ_a)`: Safrole state (eq. 6.3), `C(4)`.
    pub safrole: SafroleState,
    /// `ψ = (ψ_G, ψ_B, ψ_W, ψ_O)`: judgements (eq. 10.1), `C(5)`.
    pub disputes: DisputesRecords,
    /// `η`: the entropy accumulator and three past epoch values (eq. 6.21), `C(6)`.
    pub entropy: EntropyBuffer,
    /// `ι`: validator keys queued for the next epoch (eq. 6.7), `C(7)`.
    pub staging_validators: ValidatorsData,
    /// `κ`: the current epoch's validator keys (eq. 6.7), `C(8)`.
    pub active_validators: ValidatorsData,
    /// `λ`: the previous epoch's validator keys (eq. 6.7), `C(9)`.
    pub previous_validators: ValidatorsData,
    /// `ρ`: reports pending availability, per core (eq. 11.1), `C(10)`.
    pub availability: AvailabilityAssignments,
    /// `τ`: the most recent block's timeslot (eq. 6.1), `C(11)`.
    pub timeslot: TimeSlot,
    /// `χ`: privileged services (eq. 9.9), `C(12)`.
    pub privileges: Privileges,
    /// `π`: validator, core and service activity statistics (eq. 13.1), `C(13)`.
    pub statistics: Statistics,
    /// `ω`: reports ready for accumulation, per epoch slot (eq. 12.3), `C(14)`.
    pub ready_queue: ReadyQueue,
    /// `ξ`: work packages accumulated, per epoch slot (eq. 12.1), `C(15)`.
    pub accumulated: AccumulatedQueue,
    /// `θ`: the last accumulation outputs (eq. 7.4), `C(16)`.
    pub accumulation_outputs: AccumulationOutputs,
    /// `δ`: service accounts (eq. 9.2): info under `C(255, s)`, entries under `C(s, h)`.
    pub accounts: BTreeMap<ServiceId, ServiceAccount>,
}

/// What a state key is, by its form (eq. D.1).
enum KeyKind {
    /// `C(i)`, `i ∈ 1..=16`.
    Component(StateComponent),
    /// `C(255, s)`.
    ServiceInfo(ServiceId),
    /// `C(s, h)`.
    Entry(ServiceId, EntryKey),
}

/// Classifies `key`. A key of the form `[i, n_0, 0, n_1, 0, n_2, 0, n_3, 0, …]`
/// is a component (`n = 0`) or service info (`i = 255`) key, or an unknown
/// one; every other key is an account entry `C(s, h)`. (An entry whose
/// hash `a = H(h)` happened to have that form, `a_1 … a_3` and `a_4 … a_26`
/// all zero, is refused: 208 zero bits of a Blake2b output.)
fn classify(key: &StateKey) -> Result<KeyKind, StateError> {
    let k = &key.0;
    let component_form = k[2] == 0 && k[4] == 0 && k[6] == 0 && k[8..].iter().all(|&b| b == 0);
    if !component_form {
        let (service, entry) = split_account_entry_state_key(key);
        return Ok(KeyKind::Entry(service, entry));
    }
    if k[0] == 255 {
        return Ok(KeyKind::ServiceInfo(u32::from_le_bytes([
            k[1], k[3], k[5], k[7],
        ])));
    }
    StateComponent::from_key(key)
        .map(KeyKind::Component)
        .ok_or(StateError::UnknownKey(*key))
}

/// Decodes component `c` as a `T` (strict: canonical, no trailing octets).
fn component<T: Decode + Encode>(
    c: StateComponent,
    values: &[Option<&[u8]>; 16],
    params: &ProtocolParameters,
) -> Result<T, StateError> {
    let value =
        values[usize::from(c as u8 - 1)].ok_or(StateError::MissingComponent(Component(c)))?;
    parajam_primitives::decode(value, params).map_err(|source| StateError::Component {
        component: Component(c),
        source,
    })
}

impl State {
    /// Reads the serialization `T(σ)` (GP eq. D.2) back into the state `σ`.
    ///
    /// `keyvals` may come in any order. Each `C(i)` (`i ∈ 1..=16`) must occur
    /// once and decode, strictly, as its component under `params`; each
    /// `C(255, s)` must decode as a [`ServiceInfo`]; every other key is an
    /// entry `C(s, h)` of service `s = (k_0, k_2, k_4, k_6)`, which must have
    /// an info key. Keys may not repeat. On success,
    /// [`to_key_values`](Self::to_key_values) gives back exactly `keyvals`
    /// (sorted).
    ///
    /// Errors, in the order they are looked for: [`StateError::DuplicateKey`]
    /// and [`StateError::UnknownKey`] (first in input order), then
    /// [`StateError::MissingComponent`] and [`StateError::Component`] (in key
    /// order), [`StateError::ServiceInfo`], [`StateError::OrphanEntry`] (by
    /// service). Never panics.
    pub fn from_key_values(
        keyvals: &[KeyValue],
        params: &ProtocolParameters,
    ) -> Result<Self, StateError> {
        let mut components: [Option<&[u8]>; 16] = [None; 16];
        let mut infos: BTreeMap<ServiceId, &[u8]> = BTreeMap::new();
        let mut entries: BTreeMap<ServiceId, BTreeMap<EntryKey, Vec<u8>>> = BTreeMap::new();
        for kv in keyvals {
            let value = kv.value.as_slice();
            let duplicate = match classify(&kv.key)? {
                KeyKind::Component(c) => components[usize::from(c as u8 - 1)]
                    .replace(value)
                    .is_some(),
                KeyKind::ServiceInfo(s) => infos.insert(s, value).is_some(),
                KeyKind::Entry(s, k) => match entries.entry(s).or_default().entry(k) {
                    Entry::Occupied(_) => true,
                    Entry::Vacant(slot) => {
                        slot.insert(value.to_vec());
                        false
                    }
                },
            };
            if duplicate {
                return Err(StateError::DuplicateKey(kv.key));
            }
        }
        if let Some(c) = StateComponent::ALL
            .into_iter()
            .find(|c| components[usize::from(*c as u8 - 1)].is_none())
        {
            return Err(StateError::MissingComponent(Component(c)));
        }

        let c = &components;
        let state_without_accounts = Self {
            auth_pools: component(StateComponent::AuthPools, c, params)?,
            auth_queues: component(StateComponent::AuthQueues, c, params)?,
            recent_blocks: component(StateComponent::RecentBlocks, c, params)?,
            safrole: component(StateComponent::Safrole, c, params)?,
            disputes: component(StateComponent::Disputes, c, params)?,
            entropy: component(StateComponent::Entropy, c, params)?,
            staging_validators: component(StateComponent::StagingValidators, c, params)?,
            active_validators: component(StateComponent::ActiveValidators, c, params)?,
            previous_validators: component(StateComponent::PreviousValidators, c, params)?,
            availability: component(StateComponent::AvailabilityAssignments, c, params)?,
            timeslot: component(StateComponent::Timeslot, c, params)?,
            privileges: component(StateComponent::Privileges, c, params)?,
            statistics: component(StateComponent::Statistics, c, params)?,
            ready_queue: component(StateComponent::ReadyQueue, c, params)?,
            accumulated: component(StateComponent::Accumulated, c, params)?,
            accumulation_outputs: component(StateComponent::AccumulationOutputs, c, params)?,
            accounts: BTreeMap::new(),
        };

        let mut accounts = BTreeMap::new();
        for (service, value) in infos {
            let info: ServiceInfo = parajam_primitives::decode(value, params)
                .map_err(|source| StateError::ServiceInfo { service, source })?;
            let entries = entries.remove(&service).unwrap_or_default();
            accounts.insert(service, ServiceAccount { info, entries });
        }
        // What is left has no info.
        if let Some((&service, service_entries)) = entries.iter().next() {
            if let Some(entry) = service_entries.keys().next() {
                return Err(StateError::OrphanEntry {
                    service,
                    key: account_entry_state_key(service, entry),
                });
            }
        }
        Ok(Self {
            accounts,
            ..state_without_accounts
        })
    }

    /// The encoded value `T(σ)[C(c)]` of component `c` (GP eq. D.2).
    pub fn encode_component(&self, c: StateComponent) -> Vec<u8> {
        match c {
            StateComponent::AuthPools => self.auth_pools.encode(),
            StateComponent::AuthQueues => self.auth_queues.encode(),
            StateComponent::RecentBlocks => self.recent_blocks.encode(),
            StateComponent::Safrole => self.safrole.encode(),
            StateComponent::Disputes => self.disputes.encode(),
            StateComponent::Entropy => self.entropy.encode(),
            StateComponent::StagingValidators => self.staging_validators.encode(),
            StateComponent::ActiveValidators => self.active_validators.encode(),
            StateComponent::PreviousValidators => self.previous_validators.encode(),
            StateComponent::AvailabilityAssignments => self.availability.encode(),
            StateComponent::Timeslot => self.timeslot.encode(),
            StateComponent::Privileges => self.privileges.encode(),
            StateComponent::Statistics => self.statistics.encode(),
            StateComponent::ReadyQueue => self.ready_queue.encode(),
            StateComponent::Accumulated => self.accumulated.encode(),
            StateComponent::AccumulationOutputs => self.accumulation_outputs.encode(),
        }
    }

    /// `T(σ)` with entry values borrowed, sorted by key.
    fn serialized(&self) -> Vec<(StateKey, Cow<'_, [u8]>)> {
        let entries: usize = self.accounts.values().map(|a| a.entries.len() + 1).sum();
        let mut out = Vec::with_capacity(StateComponent::ALL.len() + entries);
        for c in StateComponent::ALL {
            out.push((c.key(), Cow::Owned(self.encode_component(c))));
        }
        for (&service, account) in &self.accounts {
            out.push((service_info_key(service), Cow::Owned(account.info.encode())));
            for (key, value) in &account.entries {
                out.push((
                    account_entry_state_key(service, key),
                    Cow::Borrowed(value.as_slice()),
                ));
            }
        }
        out.sort_unstable_by_key(|(key, _)| *key);
        out
    }

    /// The serialization `T(σ)` (GP eq. D.2), sorted by key.
    ///
    /// Every key is distinct for a state read by
    /// [`from_key_values`](Self::from_key_values). (A hand-built state could
    /// hold an entry whose `C(s, h)` has the form of a component or info
    /// key; it would be emitted twice, and such a set is refused on reading.)
    pub fn to_key_values(&self) -> Vec<KeyValue> {
        self.serialized()
            .into_iter()
            .map(|(key, value)| KeyValue {
                key,
                value: value.into_owned().into(),
            })
            .collect()
    }

    /// The state root `M_σ(σ) = M({bits(k) → (k, v) | (k ↦ v) ∈ T(σ)})`
    /// (GP eq. D.3 – D.6).
    pub fn root(&self) -> StateRoot {
        let kvs = self.serialized();
        ByteArray(parajam_merkle::state_root(
            kvs.iter().map(|(k, v)| (&k.0, v.as_ref())),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_classify_by_form() {
        for c in StateComponent::ALL {
            assert!(matches!(classify(&c.key()), Ok(KeyKind::Component(x)) if x == c));
        }
        assert!(matches!(
            classify(&service_info_key(0x0102_0304)),
            Ok(KeyKind::ServiceInfo(0x0102_0304))
        ));
        for first in [0u8, 17, 254] {
            let mut key = [0u8; 31];
            key[0] = first;
            assert_eq!(
                classify(&ByteArray(key)).err(),
                Some(StateError::UnknownKey(ByteArray(key)))
            );
        }
        // `C(i, s)` for an `i` other than 255.
        let mut key = service_info_key(7).0;
        key[0] = 3;
        assert!(classify(&ByteArray(key)).is_err());
        let entry = account_entry_state_key(9, &parajam_primitives::types::storage_key(b"k"));
        assert!(matches!(classify(&entry), Ok(KeyKind::Entry(9, _))));
    }

    #[test]
    fn errors_name_the_component() {
        let e = StateError::MissingComponent(Component(StateComponent::RecentBlocks));
        assert_eq!(
            e.to_string(),
            "state component C(3) β recent_blocks is missing"
        );
    }
}
