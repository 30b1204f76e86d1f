//! A bounded, thread-safe cache of compiled polkavm modules keyed by code
//! hash and backend, least recently used evicted first.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::vm::VmModule as Module;

use crate::{Backend, PvmError};

/// How many modules a [`Pvm`](crate::Pvm) keeps by default.
pub const DEFAULT_MODULE_CACHE_CAPACITY: usize = 32;

/// Counters of the module cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ModuleCacheStats {
    /// Lookups that found a module.
    pub hits: u64,
    /// Lookups that compiled one.
    pub misses: u64,
    /// Modules held now.
    pub entries: usize,
    /// The most modules held at once.
    pub capacity: usize,
}

type Key = ([u8; 32], Backend);

struct Inner {
    /// Module and the tick of its last use.
    entries: HashMap<Key, (Module, u64)>,
    tick: u64,
    hits: u64,
    misses: u64,
}

pub(crate) struct ModuleCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

impl ModuleCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                tick: 0,
                hits: 0,
                misses: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The data stays consistent across a panic elsewhere: no invariant
        // spans more than one statement.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The module for `key`, compiled by `compile` on a miss. Compiling
    /// happens outside the lock, so two threads may both compile the same
    /// program once; the later insert wins.
    pub(crate) fn get_or_compile(
        &self,
        key: Key,
        compile: impl FnOnce() -> Result<Module, PvmError>,
    ) -> Result<Module, PvmError> {
        {
            let mut inner = self.lock();
            inner.tick += 1;
            let tick = inner.tick;
            if let Some((module, used)) = inner.entries.get_mut(&key) {
                *used = tick;
                let module = module.clone();
                inner.hits += 1;
                return Ok(module);
            }
            inner.misses += 1;
        }
        let module = compile()?;
        if self.capacity == 0 {
            return Ok(module);
        }
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        if !inner.entries.contains_key(&key) && inner.entries.len() >= self.capacity {
            let oldest = inner
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(key, _)| *key);
            if let Some(oldest) = oldest {
                inner.entries.remove(&oldest);
            }
        }
        inner.entries.insert(key, (module.clone(), tick));
        Ok(module)
    }

    pub(crate) fn stats(&self) -> ModuleCacheStats {
        let inner = self.lock();
        ModuleCacheStats {
            hits: inner.hits,
            misses: inner.misses,
            entries: inner.entries.len(),
            capacity: self.capacity,
        }
    }

    pub(crate) fn clear(&self) {
        self.lock().entries.clear();
    }
}
