//! [`MemoryBackend`]: columns in memory, for tests.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use crate::kv::{Column, KvBackend, WriteOp};
use crate::StorageError;

/// A column and a key.
type Key = (Column, Vec<u8>);

/// Columns in a map in memory (nothing survives the process).
#[derive(Debug, Default)]
pub struct MemoryBackend {
    map: RwLock<HashMap<Key, Vec<u8>>>,
}

impl KvBackend for MemoryBackend {
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        Ok(map.get(&(column, key.to_vec())).cloned())
    }

    fn commit(&self, ops: Vec<WriteOp>) -> Result<(), StorageError> {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        for op in ops {
            match op {
                WriteOp::Set(c, k, v) => {
                    map.insert((c, k), v);
                }
                WriteOp::Delete(c, k) => {
                    map.remove(&(c, k));
                }
            }
        }
        Ok(())
    }
}
