//! A parachain block's header with the state after it.

use parity_scale_codec::Encode;
use sp_core::H256;
use sp_runtime::traits::BlakeTwo256;
use sp_state_machine::{Backend, InMemoryBackend};

use crate::{CollatorError, Header};

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

    /// The state backend.
    pub fn backend(&self) -> &InMemoryBackend<BlakeTwo256> {
        &self.backend
    }
}

/// A storage key and its value.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// The key of `System::Account(account)` (`Blake2_128Concat` hasher), where
/// FRAME keeps an account's nonce and balance (`AccountInfo`).
pub fn system_account_key(account: &[u8; 32]) -> Vec<u8> {
    let mut key = sp_io::hashing::twox_128(b"System").to_vec();
    key.extend_from_slice(&sp_io::hashing::twox_128(b"Account"));
    key.extend_from_slice(&sp_io::hashing::blake2_128(account));
    key.extend_from_slice(account);
    key
}
