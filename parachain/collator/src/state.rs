//! A parachain block's header with the state after it.

use parity_scale_codec::Encode;
use sp_core::storage::{ChildInfo, StateVersion};
use sp_core::H256;
use sp_runtime::traits::BlakeTwo256;
use sp_state_machine::{Backend, InMemoryBackend};

use crate::{block::hex, CollatorError, Header};

/// A para block (the genesis or a built one) and the para's state after it:
/// what the next block builds on.
pub struct ParaState {
    pub(crate) header: Header,
    pub(crate) backend: InMemoryBackend<BlakeTwo256>,
}

impl Clone for ParaState {
    fn clone(&self) -> Self {
        Self {
            header: self.header.clone(),
            backend: self
                .backend
                .update_backend(*self.backend.root(), sp_trie::PrefixedMemoryDB::default()),
        }
    }
}

impl std::fmt::Debug for ParaState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParaState")
            .field("number", &self.header.number)
            .field("hash", &self.hash())
            .field("state_root", &self.header.state_root)
            .finish_non_exhaustive()
    }
}

impl ParaState {
    /// The block's header (sealed, for built blocks).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The para head: the SCALE-encoded header, as the relay chain keeps it.
    pub fn head(&self) -> Vec<u8> {
        self.header.encode()
    }

    /// The block hash (blake2-256 of the head).
    pub fn hash(&self) -> H256 {
        self.header.hash()
    }

    /// The block number.
    pub fn number(&self) -> u32 {
        self.header.number
    }

    /// The state root, as in the header.
    pub fn state_root(&self) -> H256 {
        *self.backend.root()
    }

    /// The state's value at `key`.
    pub fn storage(&self, key: &[u8]) -> Result<Option<Vec<u8>>, CollatorError> {
        self.backend.storage(key).map_err(CollatorError::State)
    }

    /// The whole top-level state, key by key (child tries left out).
    pub fn pairs(&self) -> Result<Vec<KeyValue>, CollatorError> {
        let iter = self
            .backend
            .pairs(sp_state_machine::IterArgs::default())
            .map_err(CollatorError::State)?;
        iter.map(|pair| pair.map_err(CollatorError::State))
            .collect()
    }

    /// The key/value pairs of every default child trie, by the child's
    /// storage key (without the `:child_storage:default:` prefix).
    pub fn child_pairs(&self) -> Result<Vec<ChildPairs>, CollatorError> {
        let prefix = ChildInfo::new_default(&[])
            .prefixed_storage_key()
            .into_inner();
        let mut args = sp_state_machine::IterArgs::default();
        args.prefix = Some(&prefix);
        let roots = self
            .backend
            .keys(args)
            .map_err(CollatorError::State)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(CollatorError::State)?;
        roots
            .into_iter()
            .map(|key| {
                let child = ChildInfo::new_default(&key[prefix.len()..]);
                let mut args = sp_state_machine::IterArgs::default();
                args.child_info = Some(child.clone());
                let pairs = self
                    .backend
                    .pairs(args)
                    .map_err(CollatorError::State)?
                    .map(|pair| pair.map_err(CollatorError::State))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((child.storage_key().to_vec(), pairs))
            })
            .collect()
    }

    /// The state of block `header` from its key/value pairs: `top` (the
    /// child-trie roots among them are recomputed) and the default child
    /// tries `children` (as [`Self::child_pairs`] gives them). The trie is
    /// built as of state version 1, or 0 if that does not give the root;
    /// a state whose root is not the header's is an error.
    pub fn from_pairs(
        header: Header,
        top: Vec<KeyValue>,
        children: Vec<ChildPairs>,
    ) -> Result<Self, CollatorError> {
        let child_prefix = ChildInfo::new_default(&[])
            .prefixed_storage_key()
            .into_inner();
        let mut collections: Vec<(Option<ChildInfo>, sp_state_machine::StorageCollection)> =
            vec![(
                None,
                top.into_iter()
                    .filter(|(k, _)| !k.starts_with(&child_prefix))
                    .map(|(k, v)| (k, Some(v)))
                    .collect(),
            )];
        collections.extend(children.into_iter().map(|(key, pairs)| {
            (
                Some(ChildInfo::new_default(&key)),
                pairs.into_iter().map(|(k, v)| (k, Some(v))).collect(),
            )
        }));
        let mut computed = H256::zero();
        for version in [StateVersion::V1, StateVersion::V0] {
            let backend = InMemoryBackend::<BlakeTwo256>::from((collections.clone(), version));
            if *backend.root() == header.state_root {
                return Ok(Self { header, backend });
            }
            computed = *backend.root();
        }
        Err(CollatorError::StateRootMismatch {
            header: hex(header.state_root.as_bytes()),
            computed: hex(computed.as_bytes()),
        })
    }

    /// The state backend.
    pub fn backend(&self) -> &InMemoryBackend<BlakeTwo256> {
        &self.backend
    }
}

/// A storage key and its value.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// A default child trie's storage key (without the
/// `:child_storage:default:` prefix) and its key/value pairs.
pub type ChildPairs = (Vec<u8>, Vec<KeyValue>);

/// The key of `System::Account(account)` (`Blake2_128Concat` hasher), where
/// FRAME keeps an account's nonce and balance (`AccountInfo`).
pub fn system_account_key(account: &[u8; 32]) -> Vec<u8> {
    let mut key = sp_io::hashing::twox_128(b"System").to_vec();
    key.extend_from_slice(&sp_io::hashing::twox_128(b"Account"));
    key.extend_from_slice(&sp_io::hashing::blake2_128(account));
    key.extend_from_slice(account);
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use sp_runtime::traits::Header as _;

    /// A state of `top` and one default child trie `child` under `b"kids"`,
    /// as of state version `version`, with a header over its root.
    fn state(version: StateVersion, top: &[KeyValue], child: &[KeyValue]) -> ParaState {
        let collections: Vec<(Option<ChildInfo>, sp_state_machine::StorageCollection)> = vec![
            (
                None,
                top.iter()
                    .map(|(k, v)| (k.clone(), Some(v.clone())))
                    .collect(),
            ),
            (
                Some(ChildInfo::new_default(b"kids")),
                child
                    .iter()
                    .map(|(k, v)| (k.clone(), Some(v.clone())))
                    .collect(),
            ),
        ];
        let backend = InMemoryBackend::<BlakeTwo256>::from((collections, version));
        let header = Header::new(
            7,
            H256::repeat_byte(1),
            *backend.root(),
            H256::repeat_byte(2),
            sp_runtime::generic::Digest::default(),
        );
        ParaState { header, backend }
    }

    fn sample() -> (Vec<KeyValue>, Vec<KeyValue>) {
        let top = vec![
            (b":code".to_vec(), vec![0xab; 100]),
            (b"short".to_vec(), vec![1, 2, 3]),
        ];
        let child = vec![(b"a".to_vec(), vec![9; 40]), (b"b".to_vec(), vec![8])];
        (top, child)
    }

    #[test]
    fn a_state_rebuilds_from_its_pairs_in_either_state_version() {
        let (top, child) = sample();
        for version in [StateVersion::V1, StateVersion::V0] {
            let original = state(version, &top, &child);
            let children = original.child_pairs().expect("child pairs");
            assert_eq!(children, vec![(b"kids".to_vec(), child.clone())]);
            let rebuilt = ParaState::from_pairs(
                original.header().clone(),
                original.pairs().expect("pairs"),
                children,
            )
            .expect("the same root");
            assert_eq!(rebuilt.state_root(), original.state_root());
            assert_eq!(rebuilt.head(), original.head());
            assert_eq!(
                rebuilt.storage(b"short").expect("reads"),
                Some(vec![1, 2, 3])
            );
        }
    }

    #[test]
    fn pairs_that_do_not_give_the_header_root_are_an_error() {
        let (top, child) = sample();
        let original = state(StateVersion::V1, &top, &child);
        let mut pairs = original.pairs().expect("pairs");
        pairs.retain(|(k, _)| k != b"short");
        let rebuilt = ParaState::from_pairs(original.header().clone(), pairs, Vec::new());
        assert!(matches!(
            rebuilt,
            Err(CollatorError::StateRootMismatch { .. })
        ));
    }
}
