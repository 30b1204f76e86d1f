//! Each [`StateError`], provoked on a real trace state, and mutation tests:
//! random damage to a real serialized state gives an error or a state (which
//! then serializes back to exactly the damaged set), never a panic.

mod common;

use std::sync::OnceLock;

use parajam_primitives::types::{
    account_entry_state_key, service_info_key, split_account_entry_state_key, storage_key,
    KeyValue, RawState, StateComponent, StateKey,
};
use parajam_primitives::{ByteArray, DecodeError, ProtocolParameters};
use parajam_state::{Component, State, StateError};
use proptest::prelude::*;

const PARAMS: ProtocolParameters = ProtocolParameters::TINY;

/// The largest state (most pairs) of the `storage` and `preimages` traces:
/// it has services, storage, preimages and requests.
fn big_state() -> &'static RawState {
    static STATE: OnceLock<RawState> = OnceLock::new();
    STATE.get_or_init(|| {
        let dir = common::vectors_dir().unwrap_or_else(|e| panic!("{e}"));
        let mut best: Option<RawState> = None;
        for family in ["storage", "preimages"] {
            for file in common::trace_files(&dir, family).unwrap_or_else(|e| panic!("{e}")) {
                for (_, raw) in common::states_of(&file).unwrap_or_else(|e| panic!("{e}")) {
                    if best
                        .as_ref()
                        .is_none_or(|b| raw.keyvals.len() > b.keyvals.len())
                    {
                        best = Some(raw);
                    }
                }
            }
        }
        best.unwrap_or_else(|| panic!("no trace states"))
    })
}

fn keyvals() -> Vec<KeyValue> {
    big_state().keyvals.clone()
}

fn read(keyvals: &[KeyValue]) -> Result<State, StateError> {
    State::from_key_values(keyvals, &PARAMS)
}

fn position(keyvals: &[KeyValue], key: &StateKey) -> usize {
    keyvals
        .iter()
        .position(|kv| kv.key == *key)
        .unwrap_or_else(|| panic!("key {key} absent"))
}

/// A service of the state with at least one entry, and that entry's key.
fn service_with_entry(keyvals: &[KeyValue]) -> (u32, StateKey) {
    let state = read(keyvals).unwrap_or_else(|e| panic!("{e}"));
    state
        .accounts
        .iter()
        .find_map(|(&s, a)| {
            let k = a.entries.keys().next()?;
            Some((s, account_entry_state_key(s, k)))
        })
        .unwrap_or_else(|| panic!("no service with entries"))
}

#[test]
fn the_test_state_is_rich() {
    let state = read(&keyvals()).unwrap_or_else(|e| panic!("{e}"));
    let entries: usize = state.accounts.values().map(|a| a.entries.len()).sum();
    assert!(
        !state.accounts.is_empty() && entries > 0,
        "{entries} entries"
    );
    assert_eq!(state.root(), big_state().state_root);
}

#[test]
fn input_order_does_not_matter() {
    let mut kvs = keyvals();
    let state = read(&kvs).unwrap_or_else(|e| panic!("{e}"));
    kvs.reverse();
    assert_eq!(read(&kvs), Ok(state.clone()));
    kvs.sort_by(|a, b| b.value.cmp(&a.value));
    assert_eq!(read(&kvs), Ok(state));
}

#[test]
fn each_missing_component_is_named() {
    for c in StateComponent::ALL {
        let mut kvs = keyvals();
        kvs.remove(position(&kvs, &c.key()));
        assert_eq!(
            read(&kvs),
            Err(StateError::MissingComponent(Component(c))),
            "{c:?}"
        );
    }
}

#[test]
fn each_truncated_or_extended_component_is_named() {
    for c in StateComponent::ALL {
        let mut kvs = keyvals();
        let i = position(&kvs, &c.key());
        let original = kvs[i].value.0.clone();
        kvs[i].value.0.push(0);
        match read(&kvs) {
            Err(StateError::Component {
                component,
                source: DecodeError::TrailingBytes { remaining: 1, .. },
            }) if component == Component(c) => {}
            other => panic!("{c:?} extended: {other:?}"),
        }
        if original.is_empty() {
            continue;
        }
        kvs[i].value.0 = original[..original.len() - 1].to_vec();
        match read(&kvs) {
            Err(StateError::Component { component, source }) if component == Component(c) => {
                assert!(!source.to_string().is_empty());
            }
            other => panic!("{c:?} truncated: {other:?}"),
        }
    }
}

#[test]
fn component_error_says_which_and_why() {
    let mut kvs = keyvals();
    let i = position(&kvs, &StateComponent::Timeslot.key());
    kvs[i].value.0.truncate(2);
    let e = read(&kvs).err().unwrap_or_else(|| panic!("accepted"));
    let text = e.to_string();
    assert!(text.contains("C(11) τ timeslot"), "{text}");
    assert!(text.contains("u32"), "{text}");
}

#[test]
fn bad_service_info_is_named() {
    let mut kvs = keyvals();
    let (service, _) = service_with_entry(&kvs);
    let i = position(&kvs, &service_info_key(service));
    kvs[i].value.0.pop();
    assert!(matches!(read(&kvs), Err(StateError::ServiceInfo { service: s, .. }) if s == service));
}

#[test]
fn duplicate_keys_are_refused() {
    let kvs = keyvals();
    let (service, entry) = service_with_entry(&kvs);
    for key in [
        StateComponent::Safrole.key(),
        service_info_key(service),
        entry,
    ] {
        // Same value and a different one.
        for value in [None, Some(vec![1, 2, 3])] {
            let mut dup = kvs.clone();
            let mut kv = dup[position(&dup, &key)].clone();
            if let Some(v) = value.clone() {
                kv.value = v.into();
            }
            dup.push(kv);
            assert_eq!(read(&dup), Err(StateError::DuplicateKey(key)));
        }
    }
}

#[test]
fn orphan_entries_are_refused() {
    // An entry of a service that does not exist.
    let mut kvs = keyvals();
    let state = read(&kvs).unwrap_or_else(|e| panic!("{e}"));
    let absent = (0..=u32::MAX)
        .find(|s| !state.accounts.contains_key(s))
        .unwrap_or(0);
    let key = account_entry_state_key(absent, &storage_key(b"orphan"));
    kvs.push(KeyValue {
        key,
        value: vec![7].into(),
    });
    assert_eq!(
        read(&kvs),
        Err(StateError::OrphanEntry {
            service: absent,
            key
        })
    );

    // The info of a service with entries removed.
    let mut kvs = keyvals();
    let (service, _) = service_with_entry(&kvs);
    kvs.remove(position(&kvs, &service_info_key(service)));
    match read(&kvs) {
        Err(StateError::OrphanEntry { service: s, key }) => {
            assert_eq!(s, service);
            assert_eq!(split_account_entry_state_key(&key).0, service);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_component_like_keys_are_refused() {
    let mut c17 = [0u8; 31];
    c17[0] = 17;
    // `C(3, s)`: the service form with an index GP 0.7.2 does not use.
    let mut c3s = service_info_key(5).0;
    c3s[0] = 3;
    for key in [[0u8; 31], c17, c3s] {
        let mut kvs = keyvals();
        kvs.push(KeyValue {
            key: ByteArray(key),
            value: vec![].into(),
        });
        assert_eq!(read(&kvs), Err(StateError::UnknownKey(ByteArray(key))));
    }
}

#[test]
fn empty_input_misses_the_first_component() {
    assert_eq!(
        read(&[]),
        Err(StateError::MissingComponent(Component(
            StateComponent::AuthPools
        )))
    );
}

/// One random change to a serialized state.
#[derive(Debug, Clone)]
enum Mutation {
    FlipValue { pair: usize, at: usize, xor: u8 },
    FlipKey { pair: usize, at: usize, xor: u8 },
    Truncate { pair: usize, len: usize },
    Append { pair: usize, bytes: Vec<u8> },
    Remove { pair: usize },
    Duplicate { pair: usize },
    Insert { key: [u8; 31], value: Vec<u8> },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let pair = any::<usize>();
    prop_oneof![
        4 => (pair, any::<usize>(), 1..=255u8)
            .prop_map(|(pair, at, xor)| Mutation::FlipValue { pair, at, xor }),
        2 => (pair, 0..31usize, 1..=255u8)
            .prop_map(|(pair, at, xor)| Mutation::FlipKey { pair, at, xor }),
        1 => (pair, any::<usize>()).prop_map(|(pair, len)| Mutation::Truncate { pair, len }),
        1 => (pair, prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(pair, bytes)| Mutation::Append { pair, bytes }),
        1 => pair.prop_map(|pair| Mutation::Remove { pair }),
        1 => pair.prop_map(|pair| Mutation::Duplicate { pair }),
        1 => (any::<[u8; 31]>(), prop::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(key, value)| Mutation::Insert { key, value }),
    ]
}

fn apply(kvs: &mut Vec<KeyValue>, m: &Mutation) {
    let n = kvs.len();
    match m {
        Mutation::FlipValue { pair, at, xor } => {
            let v = &mut kvs[pair % n].value.0;
            if !v.is_empty() {
                let at = at % v.len();
                v[at] ^= xor;
            }
        }
        Mutation::FlipKey { pair, at, xor } => kvs[pair % n].key.0[*at] ^= xor,
        Mutation::Truncate { pair, len } => {
            let v = &mut kvs[pair % n].value.0;
            let len = len % (v.len() + 1);
            v.truncate(len);
        }
        Mutation::Append { pair, bytes } => kvs[pair % n].value.0.extend(bytes),
        Mutation::Remove { pair } => {
            kvs.remove(pair % n);
        }
        Mutation::Duplicate { pair } => kvs.push(kvs[pair % n].clone()),
        Mutation::Insert { key, value } => kvs.push(KeyValue {
            key: ByteArray(*key),
            value: value.clone().into(),
        }),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Damage gives an error or a state; a state is then exactly the damaged set.
    #[test]
    fn mutations_never_panic(ms in prop::collection::vec(mutation(), 1..4)) {
        let mut kvs = keyvals();
        for m in &ms {
            apply(&mut kvs, m);
        }
        if let Ok(state) = read(&kvs) {
            kvs.sort_by_key(|kv| kv.key);
            prop_assert_eq!(state.to_key_values(), kvs.clone());
            let plain = parajam_merkle::state_root(kvs.iter().map(|kv| (&kv.key.0, kv.value.as_slice())));
            prop_assert_eq!(state.root().0, plain);
        }
    }

    /// Arbitrary key/value sets never panic either.
    #[test]
    fn garbage_never_panics(
        pairs in prop::collection::vec(
            (any::<[u8; 31]>(), prop::collection::vec(any::<u8>(), 0..40)),
            0..20,
        ),
        component_keys in prop::collection::vec(0u8..=17, 0..20),
    ) {
        let mut kvs: Vec<KeyValue> = pairs
            .into_iter()
            .map(|(key, value)| KeyValue { key: ByteArray(key), value: value.into() })
            .collect();
        for (i, c) in component_keys.into_iter().enumerate() {
            let mut key = [0u8; 31];
            key[0] = c;
            kvs.push(KeyValue { key: ByteArray(key), value: vec![0; i * 3].into() });
        }
        let _ = read(&kvs);
    }
}
