//! An in-memory service storage and the checks the adapter's tests (and
//! the CoreChains service's) make on it: read a value, run an operation
//! and commit it, check that a refusal writes nothing, read a para's
//! downward messages.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt::Debug;

use parajam_corechains_types::state::StorageKey;
use parajam_corechains_types::ParaId;
use parity_scale_codec::Decode;

use crate::store::{apply, Changes, Storage};
use crate::Overlay;

/// A service storage in memory.
pub type Mem = BTreeMap<StorageKey, Vec<u8>>;

/// The value under `key`, decoded (a value that does not decode is a
/// broken test).
pub fn get<T: Decode>(s: &Mem, key: StorageKey) -> Option<T> {
    s.get(&key)
        .map(|v| T::decode(&mut &v[..]).expect("stored values decode"))
}

/// Runs `op` on an overlay of `s` and commits what it wrote.
pub fn run<T>(s: &mut Mem, op: impl FnOnce(&mut Overlay<'_, Mem>) -> T) -> T {
    let mut o = Overlay::new(s);
    let out = op(&mut o);
    let changes = o.into_changes();
    apply(changes, s);
    out
}

/// `op` fails with `expected` and writes nothing, on a fresh overlay and
/// on one with an earlier change.
pub fn refused<T, E: PartialEq + Debug>(
    s: &mut Mem,
    expected: &E,
    op: impl Fn(&mut Overlay<'_, Mem>) -> Result<T, E>,
) {
    let mut o = Overlay::new(s);
    assert_eq!(op(&mut o).as_ref().err(), Some(expected));
    assert_eq!(o.changes(), &Changes::new(), "{expected:?} wrote");
    let mut o = Overlay::new(s);
    o.write(StorageKey::HrmpWatermark(ParaId(u32::MAX)), &1u32);
    let before = o.changes().clone();
    assert_eq!(op(&mut o).as_ref().err(), Some(expected));
    assert_eq!(o.changes(), &before, "{expected:?} wrote");
}

/// The downward messages queued for `para`, oldest first.
pub fn downward_messages<S: Storage>(s: &mut S, para: ParaId) -> Vec<Vec<u8>> {
    Overlay::new(s)
        .downward_queue(para)
        .into_iter()
        .map(|m| m.msg)
        .collect()
}
