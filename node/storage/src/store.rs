//! [`KvChainStore`]: [`ChainStore`] over any [`KvBackend`].
//!
//! Layout (see [`Column`]):
//!
//! * a block is its header, its extrinsic and its info (slot, parent,
//!   posterior state root), each by header hash;
//! * a state is a manifest by state root: its keys, sorted, each with the
//!   Blake2b-256 hash of its value; values are stored once by that hash.
//!   Manifests and values carry reference counts: a manifest counts the
//!   kept blocks with that root, a value the manifests holding it;
//! * `Meta` holds the format marker, the best and finalized pointers, the
//!   non-finalized blocks, the finalized blocks whose states are kept
//!   (oldest first), and the node's Safrole ticket pool (`tickets`: the
//!   epoch, the count, then each ticket's id, entry index and ring proof;
//!   a key added without a format change: a store without it has no
//!   pool).
//!
//! Every write method builds one transaction and commits it through the
//! backend, which applies it atomically and durably.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use parajam_primitives::codec::Encode;
use parajam_primitives::types::{
    Block, ErasureRoot, ExportsRoot, Extrinsic, Header, HeaderHash, KeyValue, OpaqueHash, StateKey,
    StateRoot, TicketEnvelope, TimeSlot, WorkPackageHash, WorkReportHash,
};
use parajam_primitives::{ByteArray, ProtocolParameters};

use crate::kv::{Column, KvBackend, WriteOp};
use crate::{
    BlockInfo, BlockRef, ChainStore, Finalized, NewBlock, StorageError, StoreConfig,
    StoredTicketPool,
};

/// The format this build writes, first in the marker (the parameter set's
/// name follows it).
pub const FORMAT_MARKER: &str = "parajam-storage/1";

const META_MARKER: &[u8] = b"marker";
const META_BEST: &[u8] = b"best";
const META_FINALIZED: &[u8] = b"finalized";
const META_UNFINALIZED: &[u8] = b"unfinalized";
const META_KEPT: &[u8] = b"kept";
const META_TICKETS: &[u8] = b"tickets";

/// Octets of a stored ticket: id, entry index, ring VRF proof.
const TICKET_ENTRY: usize = 32 + 1 + 784;

/// Octets of a state manifest entry: a key and its value's hash.
const MANIFEST_ENTRY: usize = 31 + 32;

fn value_hash(value: &[u8]) -> [u8; 32] {
    Blake2b::<U32>::digest(value).into()
}

fn corrupt(what: impl Into<String>, reason: impl Into<String>) -> StorageError {
    StorageError::Corrupt {
        what: what.into(),
        reason: reason.into(),
    }
}

fn hash_from(bytes: &[u8], what: &str) -> Result<HeaderHash, StorageError> {
    <[u8; 32]>::try_from(bytes)
        .map(ByteArray)
        .map_err(|_| corrupt(what, format!("{} octets, not 32", bytes.len())))
}

fn hashes_from(bytes: &[u8], what: &str) -> Result<Vec<HeaderHash>, StorageError> {
    if !bytes.len().is_multiple_of(32) {
        return Err(corrupt(what, format!("{} octets", bytes.len())));
    }
    bytes.chunks(32).map(|c| hash_from(c, what)).collect()
}

fn hashes_bytes(hashes: &[HeaderHash]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.0).collect()
}

fn encode_info(info: &BlockInfo) -> Vec<u8> {
    let mut out = Vec::with_capacity(68);
    out.extend_from_slice(&info.slot.to_le_bytes());
    out.extend_from_slice(&info.parent.0);
    out.extend_from_slice(&info.state_root.0);
    out
}

fn encode_tickets(pool: &StoredTicketPool) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + pool.tickets.len() * TICKET_ENTRY);
    out.extend_from_slice(&pool.epoch.to_le_bytes());
    let count = u32::try_from(pool.tickets.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&count.to_le_bytes());
    for (id, ticket) in pool.tickets.iter().take(count as usize) {
        out.extend_from_slice(&id.0);
        out.push(ticket.attempt);
        out.extend_from_slice(&ticket.signature.0);
    }
    out
}

fn decode_tickets(bytes: &[u8]) -> Result<StoredTicketPool, StorageError> {
    const WHAT: &str = "Safrole ticket pool";
    if bytes.len() < 8 {
        return Err(corrupt(WHAT, format!("{} octets", bytes.len())));
    }
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[..4]);
    let epoch = u32::from_le_bytes(word);
    word.copy_from_slice(&bytes[4..8]);
    let count = u32::from_le_bytes(word) as usize;
    let body = &bytes[8..];
    if count.checked_mul(TICKET_ENTRY) != Some(body.len()) {
        return Err(corrupt(
            WHAT,
            format!("{count} tickets in {} octets", body.len()),
        ));
    }
    let tickets = body
        .chunks(TICKET_ENTRY)
        .map(|c| {
            let mut id = [0u8; 32];
            id.copy_from_slice(&c[..32]);
            let mut proof = [0u8; 784];
            proof.copy_from_slice(&c[33..]);
            (
                ByteArray(id),
                TicketEnvelope {
                    attempt: c[32],
                    signature: ByteArray(proof),
                },
            )
        })
        .collect();
    Ok(StoredTicketPool { epoch, tickets })
}

fn decode_info(bytes: &[u8]) -> Result<BlockInfo, StorageError> {
    if bytes.len() != 68 {
        return Err(corrupt("block info", format!("{} octets", bytes.len())));
    }
    let mut slot = [0u8; 4];
    slot.copy_from_slice(&bytes[..4]);
    Ok(BlockInfo {
        slot: u32::from_le_bytes(slot),
        parent: hash_from(&bytes[4..36], "block info")?,
        state_root: hash_from(&bytes[36..68], "block info")?,
    })
}

/// A reference-counted record: a `u32` count, then the payload.
fn split_counted(bytes: &[u8], what: &str) -> Result<(u32, Vec<u8>), StorageError> {
    if bytes.len() < 4 {
        return Err(corrupt(what, "no reference count"));
    }
    let mut count = [0u8; 4];
    count.copy_from_slice(&bytes[..4]);
    Ok((u32::from_le_bytes(count), bytes[4..].to_vec()))
}

fn counted(count: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + payload.len());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// A column and a key.
type Key = (Column, Vec<u8>);

/// A value's hash and the value.
type HashedValue<'a> = ([u8; 32], &'a [u8]);

/// A state manifest: sorted keys with their values' hashes.
struct Manifest(Vec<(StateKey, [u8; 32])>);

impl Manifest {
    fn of(state: &[KeyValue]) -> (Self, Vec<HashedValue<'_>>) {
        let mut entries = Vec::with_capacity(state.len());
        let mut values = Vec::with_capacity(state.len());
        for kv in state {
            let h = value_hash(&kv.value);
            entries.push((kv.key, h));
            values.push((h, kv.value.as_slice()));
        }
        entries.sort_unstable_by_key(|(k, _)| *k);
        (Self(entries), values)
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() * MANIFEST_ENTRY);
        for (k, h) in &self.0 {
            out.extend_from_slice(&k.0);
            out.extend_from_slice(h);
        }
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, StorageError> {
        if !bytes.len().is_multiple_of(MANIFEST_ENTRY) {
            return Err(corrupt("state manifest", format!("{} octets", bytes.len())));
        }
        Ok(Self(
            bytes
                .chunks(MANIFEST_ENTRY)
                .map(|c| {
                    let mut k = [0u8; 31];
                    k.copy_from_slice(&c[..31]);
                    let mut h = [0u8; 32];
                    h.copy_from_slice(&c[31..]);
                    (ByteArray(k), h)
                })
                .collect(),
        ))
    }
}

/// One transaction: plain writes, and reference-count changes resolved
/// against the backend at the end.
struct Tx<'b, B: KvBackend> {
    backend: &'b B,
    ops: BTreeMap<Key, Option<Vec<u8>>>,
    /// Count change and, for a record that may be new, its payload.
    counts: BTreeMap<Key, (i64, Option<Vec<u8>>)>,
}

impl<'b, B: KvBackend> Tx<'b, B> {
    fn new(backend: &'b B) -> Self {
        Self {
            backend,
            ops: BTreeMap::new(),
            counts: BTreeMap::new(),
        }
    }

    fn set(&mut self, c: Column, key: &[u8], value: Vec<u8>) {
        self.ops.insert((c, key.to_vec()), Some(value));
    }

    fn delete(&mut self, c: Column, key: &[u8]) {
        self.ops.insert((c, key.to_vec()), None);
    }

    /// The count of a counted record as this transaction leaves it so far.
    fn count(&self, c: Column, key: &[u8], what: &str) -> Result<i64, StorageError> {
        let stored = match self.backend.get(c, key)? {
            Some(bytes) => i64::from(split_counted(&bytes, what)?.0),
            None => 0,
        };
        let pending = self.counts.get(&(c, key.to_vec())).map_or(0, |(d, _)| *d);
        Ok(stored + pending)
    }

    fn add_ref(&mut self, c: Column, key: &[u8], payload: Option<&[u8]>) {
        let entry = self.counts.entry((c, key.to_vec())).or_insert((0, None));
        entry.0 += 1;
        if entry.1.is_none() {
            entry.1 = payload.map(<[u8]>::to_vec);
        }
    }

    fn remove_ref(&mut self, c: Column, key: &[u8]) {
        self.counts.entry((c, key.to_vec())).or_insert((0, None)).0 -= 1;
    }

    /// Adds a reference to the state `root` with the values of `state`.
    fn add_state(&mut self, root: &StateRoot, state: &[KeyValue]) -> Result<(), StorageError> {
        if self.count(Column::States, &root.0, "state manifest")? > 0 {
            self.add_ref(Column::States, &root.0, None);
            return Ok(());
        }
        let (manifest, values) = Manifest::of(state);
        self.add_ref(Column::States, &root.0, Some(&manifest.encode()));
        for (h, v) in values {
            self.add_ref(Column::StateValues, &h, Some(v));
        }
        Ok(())
    }

    /// Drops a reference to the state `root`, and its values with the last one.
    fn remove_state(&mut self, root: &StateRoot) -> Result<(), StorageError> {
        let count = self.count(Column::States, &root.0, "state manifest")?;
        if count <= 0 {
            return Err(corrupt(
                format!("state {root}"),
                "dropped more often than kept",
            ));
        }
        if count == 1 {
            let bytes = self
                .backend
                .get(Column::States, &root.0)?
                .ok_or_else(|| corrupt(format!("state {root}"), "manifest missing"))?;
            let (_, manifest) = split_counted(&bytes, "state manifest")?;
            for (_, h) in Manifest::decode(&manifest)?.0 {
                self.remove_ref(Column::StateValues, &h);
            }
        }
        self.remove_ref(Column::States, &root.0);
        Ok(())
    }

    fn commit(self) -> Result<(), StorageError> {
        let Self {
            backend,
            mut ops,
            counts,
        } = self;
        for ((c, key), (delta, payload)) in counts {
            if delta == 0 {
                continue;
            }
            let stored = backend
                .get(c, &key)?
                .map(|b| split_counted(&b, "counted record"))
                .transpose()?;
            let (count, payload) = match (stored, payload) {
                (Some((n, p)), _) => (i64::from(n) + delta, p),
                (None, Some(p)) => (delta, p),
                (None, None) => return Err(corrupt("counted record", "referenced but missing")),
            };
            let op = match u32::try_from(count) {
                Ok(0) | Err(_) => None,
                Ok(n) => Some(counted(n, &payload)),
            };
            ops.insert((c, key), op);
        }
        backend.commit(
            ops.into_iter()
                .map(|((c, k), v)| match v {
                    Some(v) => WriteOp::Set(c, k, v),
                    None => WriteOp::Delete(c, k),
                })
                .collect(),
        )
    }
}

/// [`ChainStore`] over the backend `B`.
pub struct KvChainStore<B> {
    backend: B,
    params: ProtocolParameters,
    config: StoreConfig,
    /// Writes are read-modify-write of the pointers and counts: one at a time.
    write: Mutex<()>,
}

impl<B: std::fmt::Debug> std::fmt::Debug for KvChainStore<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvChainStore")
            .field("backend", &self.backend)
            .field("params", &self.params.name)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<B: KvBackend> KvChainStore<B> {
    /// The store over `backend` for chains of `params`: an empty backend is
    /// marked as a store of this format and parameter set; anything else
    /// must carry that marker ([`StorageError::Incompatible`] for another
    /// one, [`StorageError::Foreign`] for none).
    pub fn open(
        backend: B,
        params: ProtocolParameters,
        config: StoreConfig,
    ) -> Result<Self, StorageError> {
        let expected = format!("{FORMAT_MARKER} params={}", params.name);
        match backend.get(Column::Meta, META_MARKER)? {
            Some(found) if found == expected.as_bytes() => {}
            Some(found) => {
                return Err(StorageError::Incompatible {
                    found: String::from_utf8_lossy(&found).into_owned(),
                    expected,
                })
            }
            None => {
                let has_blocks = backend.get(Column::Meta, META_BEST)?.is_some()
                    || backend.get(Column::Meta, META_FINALIZED)?.is_some();
                if has_blocks {
                    return Err(StorageError::Foreign {
                        path: std::path::PathBuf::new(),
                        reason: "blocks without a format marker".into(),
                    });
                }
                backend.commit(vec![WriteOp::Set(
                    Column::Meta,
                    META_MARKER.to_vec(),
                    expected.into_bytes(),
                )])?;
            }
        }
        Ok(Self {
            backend,
            params,
            config: StoreConfig {
                keep_finalized_states: config.keep_finalized_states.max(1),
            },
            write: Mutex::new(()),
        })
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The parameters blocks are decoded with.
    pub fn params(&self) -> &ProtocolParameters {
        &self.params
    }

    /// The configuration (with `keep_finalized_states` at least 1).
    pub fn config(&self) -> StoreConfig {
        self.config
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        self.write.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn pointer(&self, key: &[u8]) -> Result<Option<BlockRef>, StorageError> {
        let Some(bytes) = self.backend.get(Column::Meta, key)? else {
            return Ok(None);
        };
        let hash = hash_from(&bytes, "best/finalized pointer")?;
        let info = self
            .block_info(&hash)?
            .ok_or_else(|| corrupt("best/finalized pointer", format!("{hash} is not stored")))?;
        Ok(Some(BlockRef {
            hash,
            slot: info.slot,
        }))
    }

    fn hash_list(&self, key: &[u8]) -> Result<Vec<HeaderHash>, StorageError> {
        self.backend
            .get(Column::Meta, key)?
            .map_or(Ok(Vec::new()), |b| hashes_from(&b, "block list"))
    }

    fn info_or_unknown(&self, hash: &HeaderHash) -> Result<BlockInfo, StorageError> {
        self.block_info(hash)?
            .ok_or(StorageError::UnknownBlock(*hash))
    }

    fn write_block(
        tx: &mut Tx<'_, B>,
        nb: &NewBlock<'_>,
        parent: HeaderHash,
    ) -> Result<(), StorageError> {
        let key = &nb.hash.0;
        tx.set(Column::Headers, key, nb.block.header.encode());
        tx.set(Column::Bodies, key, nb.block.extrinsic.encode());
        let info = BlockInfo {
            slot: nb.block.header.slot,
            parent,
            state_root: nb.state_root,
        };
        tx.set(Column::BlockInfo, key, encode_info(&info));
        tx.add_state(&nb.state_root, nb.state)
    }
}

impl<B: KvBackend> ChainStore for KvChainStore<B> {
    fn init_genesis(&self, genesis: &NewBlock<'_>) -> Result<(), StorageError> {
        let _w = self.lock();
        if self.backend.get(Column::Meta, META_FINALIZED)?.is_some() {
            return Err(StorageError::AlreadyInitialized);
        }
        let mut tx = Tx::new(&self.backend);
        Self::write_block(&mut tx, genesis, genesis.block.header.parent)?;
        let hash = genesis.hash.0.to_vec();
        tx.set(
            Column::Finalized,
            &genesis.block.header.slot.to_be_bytes(),
            hash.clone(),
        );
        tx.set(Column::Meta, META_BEST, hash.clone());
        tx.set(Column::Meta, META_FINALIZED, hash.clone());
        tx.set(Column::Meta, META_KEPT, hash);
        tx.set(Column::Meta, META_UNFINALIZED, Vec::new());
        tx.commit()
    }

    fn import(&self, nb: &NewBlock<'_>, make_best: bool) -> Result<(), StorageError> {
        let _w = self.lock();
        let finalized = self.pointer(META_FINALIZED)?.ok_or(StorageError::Empty)?;
        let mut tx = Tx::new(&self.backend);
        if self.block_info(&nb.hash)?.is_none() {
            let header = &nb.block.header;
            let parent = self
                .block_info(&header.parent)?
                .ok_or(StorageError::UnknownParent(header.parent))?;
            if header.slot <= finalized.slot || header.slot <= parent.slot {
                return Err(StorageError::BelowFinality {
                    hash: nb.hash,
                    slot: header.slot,
                    finalized: finalized.slot.max(parent.slot),
                });
            }
            let mut unfinalized = self.hash_list(META_UNFINALIZED)?;
            // A fork from below the finalized block is dead on arrival.
            if header.parent != finalized.hash && !unfinalized.contains(&header.parent) {
                return Err(StorageError::NotDescendant(nb.hash));
            }
            Self::write_block(&mut tx, nb, header.parent)?;
            unfinalized.push(nb.hash);
            tx.set(Column::Meta, META_UNFINALIZED, hashes_bytes(&unfinalized));
        }
        if make_best {
            tx.set(Column::Meta, META_BEST, nb.hash.0.to_vec());
        }
        tx.commit()
    }

    fn set_best(&self, hash: &HeaderHash) -> Result<(), StorageError> {
        let _w = self.lock();
        self.info_or_unknown(hash)?;
        let mut tx = Tx::new(&self.backend);
        tx.set(Column::Meta, META_BEST, hash.0.to_vec());
        tx.commit()
    }

    fn finalize(&self, target: &HeaderHash) -> Result<Finalized, StorageError> {
        let _w = self.lock();
        let finalized = self.pointer(META_FINALIZED)?.ok_or(StorageError::Empty)?;
        if *target == finalized.hash {
            return Ok(Finalized::default());
        }
        let target_info = self.info_or_unknown(target)?;
        let unfinalized = self.hash_list(META_UNFINALIZED)?;
        let mut infos: HashMap<HeaderHash, BlockInfo> = HashMap::new();
        for h in &unfinalized {
            infos.insert(*h, self.info_or_unknown(h)?);
        }
        // The path from the finalized block to the target.
        let mut path = Vec::new();
        let mut cur = *target;
        while cur != finalized.hash {
            let info = infos
                .get(&cur)
                .ok_or(StorageError::NotDescendant(*target))?;
            path.push(cur);
            cur = info.parent;
        }
        path.reverse();
        let on_path: BTreeSet<HeaderHash> = path.iter().copied().collect();

        let mut tx = Tx::new(&self.backend);
        for h in &path {
            tx.set(
                Column::Finalized,
                &infos[h].slot.to_be_bytes(),
                h.0.to_vec(),
            );
        }
        // Non-finalized blocks that do not descend from the target die.
        let descends = |mut h: HeaderHash| loop {
            if h == *target {
                return true;
            }
            match infos.get(&h) {
                Some(info) if info.slot > target_info.slot => h = info.parent,
                _ => return false,
            }
        };
        let mut remaining = Vec::new();
        let mut pruned_blocks = Vec::new();
        for h in unfinalized.iter().filter(|h| !on_path.contains(h)) {
            if descends(*h) {
                remaining.push(*h);
            } else {
                tx.delete(Column::Headers, &h.0);
                tx.delete(Column::Bodies, &h.0);
                tx.delete(Column::BlockInfo, &h.0);
                tx.remove_state(&infos[h].state_root)?;
                pruned_blocks.push(*h);
            }
        }
        // The states of the last N finalized blocks are kept.
        let mut kept = self.hash_list(META_KEPT)?;
        kept.extend(path.iter().copied());
        let excess = kept.len().saturating_sub(
            usize::try_from(self.config.keep_finalized_states).unwrap_or(usize::MAX),
        );
        let pruned_states: Vec<HeaderHash> = kept.drain(..excess).collect();
        for h in &pruned_states {
            let root = match infos.get(h) {
                Some(info) => info.state_root,
                None => self.info_or_unknown(h)?.state_root,
            };
            tx.remove_state(&root)?;
        }
        // A best block that died, or that finality passed, gives way to
        // the finalized one.
        if let Some(best) = self.backend.get(Column::Meta, META_BEST)? {
            let passed = path[..path.len() - 1].iter().chain(&pruned_blocks);
            if passed.clone().any(|h| h.0[..] == best[..]) {
                tx.set(Column::Meta, META_BEST, target.0.to_vec());
            }
        }
        tx.set(Column::Meta, META_FINALIZED, target.0.to_vec());
        tx.set(Column::Meta, META_UNFINALIZED, hashes_bytes(&remaining));
        tx.set(Column::Meta, META_KEPT, hashes_bytes(&kept));
        tx.commit()?;
        Ok(Finalized {
            newly_finalized: path,
            pruned_blocks,
            pruned_states,
        })
    }

    fn best(&self) -> Result<Option<BlockRef>, StorageError> {
        self.pointer(META_BEST)
    }

    fn finalized(&self) -> Result<Option<BlockRef>, StorageError> {
        self.pointer(META_FINALIZED)
    }

    fn finalized_at(&self, slot: TimeSlot) -> Result<Option<HeaderHash>, StorageError> {
        self.backend
            .get(Column::Finalized, &slot.to_be_bytes())?
            .map(|b| hash_from(&b, "finalized index"))
            .transpose()
    }

    fn block_info(&self, hash: &HeaderHash) -> Result<Option<BlockInfo>, StorageError> {
        self.backend
            .get(Column::BlockInfo, &hash.0)?
            .map(|b| decode_info(&b))
            .transpose()
    }

    fn header(&self, hash: &HeaderHash) -> Result<Option<Header>, StorageError> {
        self.backend
            .get(Column::Headers, &hash.0)?
            .map(|b| {
                parajam_primitives::decode(&b, &self.params).map_err(|source| {
                    StorageError::CorruptBlock {
                        hash: *hash,
                        source,
                    }
                })
            })
            .transpose()
    }

    fn block(&self, hash: &HeaderHash) -> Result<Option<Block>, StorageError> {
        let Some(header) = self.header(hash)? else {
            return Ok(None);
        };
        let body = self
            .backend
            .get(Column::Bodies, &hash.0)?
            .ok_or_else(|| corrupt(format!("block {hash}"), "header without body"))?;
        let extrinsic: Extrinsic =
            parajam_primitives::decode(&body, &self.params).map_err(|source| {
                StorageError::CorruptBlock {
                    hash: *hash,
                    source,
                }
            })?;
        Ok(Some(Block { header, extrinsic }))
    }

    fn state(&self, hash: &HeaderHash) -> Result<Option<Vec<KeyValue>>, StorageError> {
        match self.block_info(hash)? {
            Some(info) => self.state_by_root(&info.state_root),
            None => Ok(None),
        }
    }

    fn state_by_root(&self, root: &StateRoot) -> Result<Option<Vec<KeyValue>>, StorageError> {
        let Some(bytes) = self.backend.get(Column::States, &root.0)? else {
            return Ok(None);
        };
        let (_, manifest) = split_counted(&bytes, "state manifest")?;
        let manifest = Manifest::decode(&manifest)?;
        let mut out = Vec::with_capacity(manifest.0.len());
        for (key, h) in manifest.0 {
            let value = self.value(&h, root)?;
            out.push(KeyValue {
                key,
                value: value.into(),
            });
        }
        Ok(Some(out))
    }

    fn state_value(
        &self,
        hash: &HeaderHash,
        key: &StateKey,
    ) -> Result<Option<Option<Vec<u8>>>, StorageError> {
        let Some(info) = self.block_info(hash)? else {
            return Ok(None);
        };
        let root = info.state_root;
        let Some(bytes) = self.backend.get(Column::States, &root.0)? else {
            return Ok(None);
        };
        let (_, manifest) = split_counted(&bytes, "state manifest")?;
        let manifest = Manifest::decode(&manifest)?;
        match manifest.0.binary_search_by_key(key, |(k, _)| *k) {
            Ok(i) => Ok(Some(Some(self.value(&manifest.0[i].1, &root)?))),
            Err(_) => Ok(Some(None)),
        }
    }

    fn put_work_report(&self, hash: &WorkReportHash, report: &[u8]) -> Result<(), StorageError> {
        self.put(Column::WorkReports, &hash.0, report)
    }

    fn work_report(&self, hash: &WorkReportHash) -> Result<Option<Vec<u8>>, StorageError> {
        self.backend.get(Column::WorkReports, &hash.0)
    }

    fn put_preimage(&self, hash: &OpaqueHash, preimage: &[u8]) -> Result<(), StorageError> {
        self.put(Column::Preimages, &hash.0, preimage)
    }

    fn preimage(&self, hash: &OpaqueHash) -> Result<Option<Vec<u8>>, StorageError> {
        self.backend.get(Column::Preimages, &hash.0)
    }

    fn put_bundle(&self, hash: &WorkPackageHash, bundle: &[u8]) -> Result<(), StorageError> {
        self.put(Column::Bundles, &hash.0, bundle)
    }

    fn bundle(&self, hash: &WorkPackageHash) -> Result<Option<Vec<u8>>, StorageError> {
        self.backend.get(Column::Bundles, &hash.0)
    }

    fn put_shard(&self, root: &ErasureRoot, index: u16, shard: &[u8]) -> Result<(), StorageError> {
        self.put(Column::Shards, &indexed_key(root, index), shard)
    }

    fn shard(&self, root: &ErasureRoot, index: u16) -> Result<Option<Vec<u8>>, StorageError> {
        self.backend.get(Column::Shards, &indexed_key(root, index))
    }

    fn put_segment(
        &self,
        root: &ExportsRoot,
        index: u16,
        segment: &[u8],
    ) -> Result<(), StorageError> {
        self.put(Column::Segments, &indexed_key(root, index), segment)
    }

    fn segment(&self, root: &ExportsRoot, index: u16) -> Result<Option<Vec<u8>>, StorageError> {
        self.backend
            .get(Column::Segments, &indexed_key(root, index))
    }

    fn put_ticket_pool(&self, pool: &StoredTicketPool) -> Result<(), StorageError> {
        self.put(Column::Meta, META_TICKETS, &encode_tickets(pool))
    }

    fn ticket_pool(&self) -> Result<Option<StoredTicketPool>, StorageError> {
        self.backend
            .get(Column::Meta, META_TICKETS)?
            .map(|b| decode_tickets(&b))
            .transpose()
    }
}

fn indexed_key(root: &OpaqueHash, index: u16) -> Vec<u8> {
    let mut key = root.0.to_vec();
    key.extend_from_slice(&index.to_be_bytes());
    key
}

impl<B: KvBackend> KvChainStore<B> {
    fn put(&self, c: Column, key: &[u8], value: &[u8]) -> Result<(), StorageError> {
        self.backend
            .commit(vec![WriteOp::Set(c, key.to_vec(), value.to_vec())])
    }

    fn value(&self, h: &[u8; 32], root: &StateRoot) -> Result<Vec<u8>, StorageError> {
        let bytes = self
            .backend
            .get(Column::StateValues, h)?
            .ok_or_else(|| corrupt(format!("state {root}"), "a value is missing"))?;
        let (_, value) = split_counted(&bytes, "state value")?;
        if value_hash(&value) != *h {
            return Err(corrupt(
                format!("state {root}"),
                "a value does not match its hash",
            ));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryBackend;

    #[test]
    fn a_ticket_pool_that_does_not_decode_is_a_corrupt_store_error() {
        let pool = StoredTicketPool {
            epoch: 7,
            tickets: vec![(
                ByteArray([3; 32]),
                TicketEnvelope {
                    attempt: 1,
                    signature: ByteArray([9; 784]),
                },
            )],
        };
        let good = encode_tickets(&pool);
        assert_eq!(good.len(), 8 + TICKET_ENTRY);
        assert_eq!(decode_tickets(&good).ok(), Some(pool));
        for bad in [&good[..5], &good[..good.len() - 1], &[0u8; 0][..]] {
            let backend = MemoryBackend::default();
            backend
                .commit(vec![WriteOp::Set(
                    Column::Meta,
                    META_TICKETS.to_vec(),
                    bad.to_vec(),
                )])
                .expect("a memory commit");
            let store =
                KvChainStore::open(backend, ProtocolParameters::TINY, StoreConfig::default())
                    .expect("opens");
            assert!(
                matches!(store.ticket_pool(), Err(StorageError::Corrupt { .. })),
                "{} octets",
                bad.len()
            );
        }
        // A count that claims more than is there.
        let mut lying = good.clone();
        lying[4] = 2;
        assert!(matches!(
            decode_tickets(&lying),
            Err(StorageError::Corrupt { .. })
        ));
    }
}
