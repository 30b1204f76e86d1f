//! The store's behaviour, on both backends: round-trips, forks and
//! finality, pruning, reopening, refusing foreign directories, and a
//! writer killed with SIGKILL.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use parajam_primitives::codec::Encode;
use parajam_primitives::types::{
    Block, Extrinsic, Header, HeaderHash, KeyValue, StateRoot, TimeSlot,
};
use parajam_primitives::{ByteArray, ProtocolParameters};
use parajam_storage::{
    memory_store, open_parity, ChainStore, Finalized, NewBlock, StorageError, StoreConfig,
    StoredTicketPool,
};

const PARAMS: ProtocolParameters = ProtocolParameters::TINY;

fn blake(bytes: &[u8]) -> [u8; 32] {
    Blake2b::<U32>::digest(bytes).into()
}

/// A test block on `parent` at `slot` (`salt` tells forks apart), with its
/// hash, state and a root for that state.
struct TestBlock {
    hash: HeaderHash,
    block: Block,
    state: Vec<KeyValue>,
    root: StateRoot,
}

impl TestBlock {
    fn new(parent: HeaderHash, slot: TimeSlot, salt: u8) -> Self {
        let header = Header {
            parent,
            slot,
            author_index: u16::from(salt),
            ..Header::default()
        };
        let hash = ByteArray(blake(&header.encode()));
        let key = |first: u8| {
            let mut k = [0u8; 31];
            k[0] = first;
            ByteArray(k)
        };
        let mut state = vec![
            // Shared by every state.
            KeyValue {
                key: key(1),
                value: vec![7u8; 100].into(),
            },
            // Differs per block.
            KeyValue {
                key: key(11),
                value: [slot.to_le_bytes().as_slice(), &[salt]].concat().into(),
            },
        ];
        // A state with a key only some blocks have.
        if slot.is_multiple_of(2) {
            state.push(KeyValue {
                key: key(200),
                value: vec![salt; 3].into(),
            });
        }
        let root = ByteArray(blake(
            &state
                .iter()
                .flat_map(|kv| [kv.key.0.as_slice(), kv.value.as_slice()].concat())
                .collect::<Vec<u8>>(),
        ));
        Self {
            hash,
            block: Block {
                header,
                extrinsic: Extrinsic::default(),
            },
            state,
            root,
        }
    }

    fn genesis() -> Self {
        Self::new(ByteArray([0; 32]), 0, 0)
    }

    fn child(&self, salt: u8) -> Self {
        Self::new(self.hash, self.block.header.slot + 1, salt)
    }

    fn new_block(&self) -> NewBlock<'_> {
        NewBlock {
            hash: self.hash,
            block: &self.block,
            state_root: self.root,
            state: &self.state,
        }
    }
}

fn sorted(mut state: Vec<KeyValue>) -> Vec<KeyValue> {
    state.sort_by_key(|kv| kv.key);
    state
}

fn assert_stored(store: &dyn ChainStore, b: &TestBlock) {
    assert_eq!(store.block(&b.hash).unwrap().as_ref(), Some(&b.block));
    assert_eq!(
        store.header(&b.hash).unwrap().as_ref(),
        Some(&b.block.header)
    );
    let info = store.block_info(&b.hash).unwrap().unwrap();
    assert_eq!(info.slot, b.block.header.slot);
    assert_eq!(info.parent, b.block.header.parent);
    assert_eq!(info.state_root, b.root);
    assert_eq!(store.state(&b.hash).unwrap(), Some(sorted(b.state.clone())));
    assert_eq!(
        store.state_by_root(&b.root).unwrap(),
        Some(sorted(b.state.clone()))
    );
    for kv in &b.state {
        assert_eq!(
            store.state_value(&b.hash, &kv.key).unwrap(),
            Some(Some(kv.value.0.clone()))
        );
    }
}

fn assert_gone(store: &dyn ChainStore, b: &TestBlock) {
    assert_eq!(store.block(&b.hash).unwrap(), None);
    assert_eq!(store.block_info(&b.hash).unwrap(), None);
    assert_eq!(store.state(&b.hash).unwrap(), None);
}

fn round_trip(store: &dyn ChainStore) {
    assert_eq!(store.best().unwrap(), None);
    let genesis = TestBlock::genesis();
    store.init_genesis(&genesis.new_block()).unwrap();
    assert!(matches!(
        store.init_genesis(&genesis.new_block()),
        Err(StorageError::AlreadyInitialized)
    ));
    let mut chain = vec![genesis];
    for _ in 0..5 {
        let next = chain.last().unwrap().child(0);
        store.import(&next.new_block(), true).unwrap();
        chain.push(next);
    }
    for b in &chain {
        assert_stored(store, b);
    }
    let head = chain.last().unwrap();
    let best = store.best().unwrap().unwrap();
    assert_eq!((best.hash, best.slot), (head.hash, 5));
    assert_eq!(store.finalized().unwrap().unwrap().hash, chain[0].hash);
    // A key no state has.
    assert_eq!(
        store.state_value(&head.hash, &ByteArray([9; 31])).unwrap(),
        Some(None)
    );
    // An odd slot's state has no key 200.
    let mut k200 = [0u8; 31];
    k200[0] = 200;
    assert_eq!(
        store.state_value(&chain[5].hash, &ByteArray(k200)).unwrap(),
        Some(None)
    );
    assert_eq!(store.state(&ByteArray([5; 32])).unwrap(), None);

    // Importing again changes nothing but the best pointer.
    store.import(&chain[3].new_block(), true).unwrap();
    assert_eq!(store.best().unwrap().unwrap().hash, chain[3].hash);
    assert_stored(store, &chain[3]);
    store.set_best(&head.hash).unwrap();
    assert_eq!(store.best().unwrap().unwrap().hash, head.hash);

    // Off-chain data by hash.
    let h = ByteArray([3; 32]);
    store.put_work_report(&h, b"report").unwrap();
    store.put_preimage(&h, b"preimage").unwrap();
    store.put_bundle(&h, b"bundle").unwrap();
    store.put_shard(&h, 2, b"shard 2").unwrap();
    store.put_shard(&h, 3, b"shard 3").unwrap();
    store.put_segment(&h, 0, &[1u8; 4104]).unwrap();
    assert_eq!(
        store.work_report(&h).unwrap().as_deref(),
        Some(&b"report"[..])
    );
    assert_eq!(
        store.preimage(&h).unwrap().as_deref(),
        Some(&b"preimage"[..])
    );
    assert_eq!(store.bundle(&h).unwrap().as_deref(), Some(&b"bundle"[..]));
    assert_eq!(
        store.shard(&h, 2).unwrap().as_deref(),
        Some(&b"shard 2"[..])
    );
    assert_eq!(
        store.shard(&h, 3).unwrap().as_deref(),
        Some(&b"shard 3"[..])
    );
    assert_eq!(store.shard(&h, 4).unwrap(), None);
    assert_eq!(store.segment(&h, 0).unwrap(), Some(vec![1u8; 4104]));
    assert_eq!(store.work_report(&ByteArray([4; 32])).unwrap(), None);
}

#[test]
fn round_trip_in_memory() {
    round_trip(&memory_store(PARAMS, StoreConfig::default()));
}

#[test]
fn round_trip_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    round_trip(&open_parity(dir.path(), PARAMS, StoreConfig::default()).unwrap());
}

fn bad_imports(store: &dyn ChainStore) {
    let genesis = TestBlock::genesis();
    let a1 = genesis.child(0);
    assert!(matches!(
        store.import(&a1.new_block(), true),
        Err(StorageError::Empty)
    ));
    store.init_genesis(&genesis.new_block()).unwrap();
    let orphan = TestBlock::new(ByteArray([1; 32]), 4, 0);
    assert!(matches!(
        store.import(&orphan.new_block(), true),
        Err(StorageError::UnknownParent(p)) if p == ByteArray([1; 32])
    ));
    store.import(&a1.new_block(), true).unwrap();
    let a2 = a1.child(0);
    store.import(&a2.new_block(), true).unwrap();
    // A child whose slot is not after its parent's.
    let same_slot = TestBlock::new(a2.hash, 2, 1);
    assert!(matches!(
        store.import(&same_slot.new_block(), false),
        Err(StorageError::BelowFinality { .. })
    ));
    store.finalize(&a2.hash).unwrap();
    // A fork from a finalized ancestor, above the finalized slot.
    let late_fork = TestBlock::new(a1.hash, 7, 9);
    assert!(matches!(
        store.import(&late_fork.new_block(), false),
        Err(StorageError::NotDescendant(_))
    ));
    assert!(matches!(
        store.finalize(&a1.hash),
        Err(StorageError::NotDescendant(_))
    ));
    assert!(matches!(
        store.finalize(&ByteArray([8; 32])),
        Err(StorageError::UnknownBlock(_))
    ));
    assert!(matches!(
        store.set_best(&ByteArray([8; 32])),
        Err(StorageError::UnknownBlock(_))
    ));
    // Nothing of the refused blocks was stored.
    assert_gone(store, &orphan);
    assert_gone(store, &same_slot);
    assert_gone(store, &late_fork);
    assert_eq!(store.best().unwrap().unwrap().hash, a2.hash);
}

#[test]
fn bad_imports_in_memory() {
    bad_imports(&memory_store(PARAMS, StoreConfig::default()));
}

#[test]
fn bad_imports_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    bad_imports(&open_parity(dir.path(), PARAMS, StoreConfig::default()).unwrap());
}

/// G ← A1 ← A2 ← A3, A1 ← B2 ← B3, G ← C1; finalizing A2 prunes B2, B3
/// and C1 (the best, B3, moves to A2) and keeps A3.
fn forks(store: &dyn ChainStore) {
    let g = TestBlock::genesis();
    store.init_genesis(&g.new_block()).unwrap();
    let a1 = g.child(0);
    let a2 = a1.child(0);
    let a3 = a2.child(0);
    let b2 = a1.child(1);
    let b3 = b2.child(1);
    let c1 = g.child(2);
    for b in [&a1, &a2, &a3, &b2, &c1] {
        store.import(&b.new_block(), false).unwrap();
    }
    store.import(&b3.new_block(), true).unwrap();
    for b in [&g, &a1, &a2, &a3, &b2, &b3, &c1] {
        assert_stored(store, b);
    }
    assert_eq!(store.best().unwrap().unwrap().hash, b3.hash);

    let outcome = store.finalize(&a2.hash).unwrap();
    assert_eq!(outcome.newly_finalized, vec![a1.hash, a2.hash]);
    let mut pruned = outcome.pruned_blocks.clone();
    pruned.sort();
    let mut expected = vec![b2.hash, b3.hash, c1.hash];
    expected.sort();
    assert_eq!(pruned, expected);
    for b in [&b2, &b3, &c1] {
        assert_gone(store, b);
    }
    for b in [&g, &a1, &a2, &a3] {
        assert_stored(store, b);
    }
    assert_eq!(store.best().unwrap().unwrap().hash, a2.hash);
    assert_eq!(store.finalized().unwrap().unwrap().hash, a2.hash);
    assert_eq!(store.finalized_at(1).unwrap(), Some(a1.hash));
    assert_eq!(store.finalized_at(2).unwrap(), Some(a2.hash));
    assert_eq!(store.finalized_at(3).unwrap(), None);
    // Finalizing the finalized block again does nothing.
    assert_eq!(store.finalize(&a2.hash).unwrap(), Finalized::default());
}

#[test]
fn forks_in_memory() {
    forks(&memory_store(PARAMS, StoreConfig::default()));
}

#[test]
fn forks_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    forks(&open_parity(dir.path(), PARAMS, StoreConfig::default()).unwrap());
}

/// With 2 finalized states kept, finalizing block 5 of 6 keeps the states
/// of 4, 5 (finalized) and 6 (not finalized); the older ones go, their
/// blocks stay.
fn old_states(store: &dyn ChainStore) {
    let mut chain = vec![TestBlock::genesis()];
    store.init_genesis(&chain[0].new_block()).unwrap();
    for _ in 0..6 {
        let next = chain.last().unwrap().child(0);
        store.import(&next.new_block(), true).unwrap();
        chain.push(next);
    }
    // A best block behind the new finalized one moves up to it.
    store.set_best(&chain[1].hash).unwrap();
    let outcome = store.finalize(&chain[3].hash).unwrap();
    assert_eq!(outcome.pruned_states, vec![chain[0].hash, chain[1].hash]);
    assert_eq!(store.best().unwrap().unwrap().hash, chain[3].hash);
    store.set_best(&chain[6].hash).unwrap();
    let outcome = store.finalize(&chain[5].hash).unwrap();
    assert_eq!(outcome.pruned_states, vec![chain[2].hash, chain[3].hash]);
    assert!(outcome.pruned_blocks.is_empty());
    for b in &chain[..4] {
        assert_eq!(store.state(&b.hash).unwrap(), None);
        assert_eq!(store.state_value(&b.hash, &b.state[0].key).unwrap(), None);
        assert_eq!(store.block(&b.hash).unwrap().as_ref(), Some(&b.block));
        assert_eq!(
            store.finalized_at(b.block.header.slot).unwrap(),
            Some(b.hash)
        );
    }
    // The value every state shares is still there for the kept ones.
    for b in &chain[4..] {
        assert_stored(store, b);
    }
}

#[test]
fn old_states_in_memory() {
    old_states(&memory_store(
        PARAMS,
        StoreConfig {
            keep_finalized_states: 2,
        },
    ));
}

#[test]
fn old_states_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    old_states(
        &open_parity(
            dir.path(),
            PARAMS,
            StoreConfig {
                keep_finalized_states: 2,
            },
        )
        .unwrap(),
    );
}

#[test]
fn reopen_resumes_best_and_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = vec![TestBlock::genesis()];
    {
        let store = open_parity(dir.path(), PARAMS, StoreConfig::default()).unwrap();
        store.init_genesis(&chain[0].new_block()).unwrap();
        for _ in 0..4 {
            let next = chain.last().unwrap().child(0);
            store.import(&next.new_block(), true).unwrap();
            chain.push(next);
        }
        store.finalize(&chain[2].hash).unwrap();
        // Locked while open.
        assert!(matches!(
            open_parity(dir.path(), PARAMS, StoreConfig::default()),
            Err(StorageError::Database(_))
        ));
    }
    let store = open_parity(dir.path(), PARAMS, StoreConfig::default()).unwrap();
    let head = chain.last().unwrap();
    let best = store.best().unwrap().unwrap();
    assert_eq!((best.hash, best.slot), (head.hash, 4));
    assert_eq!(
        store.block_info(&best.hash).unwrap().unwrap().state_root,
        head.root
    );
    assert_eq!(store.finalized().unwrap().unwrap().hash, chain[2].hash);
    for b in &chain {
        assert_stored(&store, b);
    }
    // And it goes on from there.
    let next = head.child(0);
    store.import(&next.new_block(), true).unwrap();
    assert_eq!(store.best().unwrap().unwrap().hash, next.hash);
}

/// A ticket pool of `n` tickets for `epoch`.
fn ticket_pool(epoch: u32, n: u8) -> StoredTicketPool {
    StoredTicketPool {
        epoch,
        tickets: (0..n)
            .map(|i| {
                (
                    ByteArray([i; 32]),
                    parajam_primitives::types::TicketEnvelope {
                        attempt: i % 3,
                        signature: ByteArray([i.wrapping_mul(7); 784]),
                    },
                )
            })
            .collect(),
    }
}

#[test]
fn the_ticket_pool_round_trips_is_replaced_and_survives_a_reopen() {
    let memory = memory_store(PARAMS, StoreConfig::default());
    assert_eq!(memory.ticket_pool().unwrap(), None);
    memory.put_ticket_pool(&ticket_pool(3, 5)).unwrap();
    assert_eq!(memory.ticket_pool().unwrap(), Some(ticket_pool(3, 5)));

    let dir = tempfile::tempdir().unwrap();
    {
        let store = open_parity(dir.path(), PARAMS, StoreConfig::default()).unwrap();
        store
            .init_genesis(&TestBlock::genesis().new_block())
            .unwrap();
        assert_eq!(store.ticket_pool().unwrap(), None);
        store.put_ticket_pool(&ticket_pool(2, 12)).unwrap();
        // Replaced, not merged: a new epoch's pool, then an empty one.
        store.put_ticket_pool(&ticket_pool(3, 4)).unwrap();
        assert_eq!(store.ticket_pool().unwrap(), Some(ticket_pool(3, 4)));
        store.put_ticket_pool(&ticket_pool(4, 0)).unwrap();
        store.put_ticket_pool(&ticket_pool(4, 2)).unwrap();
    }
    let store = open_parity(dir.path(), PARAMS, StoreConfig::default()).unwrap();
    assert_eq!(store.ticket_pool().unwrap(), Some(ticket_pool(4, 2)));
    // The chain is untouched by it.
    assert_eq!(
        store.best().unwrap().map(|b| b.hash),
        Some(TestBlock::genesis().hash)
    );
}

#[test]
fn foreign_and_corrupt_directories_are_refused() {
    // Files of something else.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"not a database").unwrap();
    let e = open_parity(dir.path(), PARAMS, StoreConfig::default()).unwrap_err();
    assert!(matches!(e, StorageError::Foreign { .. }), "{e}");

    // A file, not a directory.
    let file = dir.path().join("notes.txt");
    let e = open_parity(&file, PARAMS, StoreConfig::default()).unwrap_err();
    assert!(matches!(e, StorageError::Foreign { .. }), "{e}");

    // A store for another parameter set.
    let dir = tempfile::tempdir().unwrap();
    drop(open_parity(dir.path(), PARAMS, StoreConfig::default()).unwrap());
    let e = open_parity(dir.path(), ProtocolParameters::FULL, StoreConfig::default()).unwrap_err();
    assert!(matches!(e, StorageError::Incompatible { .. }), "{e}");

    // A parity-db database of other columns.
    let dir = tempfile::tempdir().unwrap();
    let other = parity_db_of(dir.path(), 3);
    drop(other);
    let e = open_parity(dir.path(), PARAMS, StoreConfig::default()).unwrap_err();
    assert!(matches!(e, StorageError::Foreign { .. }), "{e}");

    // Garbage parity-db metadata.
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open_parity(dir.path(), PARAMS, StoreConfig::default()).unwrap();
        store
            .init_genesis(&TestBlock::genesis().new_block())
            .unwrap();
    }
    std::fs::write(dir.path().join("metadata"), b"\xff\xfe garbage \x00\x01").unwrap();
    let e = open_parity(dir.path(), PARAMS, StoreConfig::default()).unwrap_err();
    assert!(
        matches!(e, StorageError::Database(_) | StorageError::Foreign { .. }),
        "{e}"
    );

    // Every other file overwritten with garbage: opening or reading fails
    // with an error, never a panic.
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open_parity(dir.path(), PARAMS, StoreConfig::default()).unwrap();
        store
            .init_genesis(&TestBlock::genesis().new_block())
            .unwrap();
    }
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n != "metadata") {
            std::fs::write(&path, vec![0xa5u8; 5000]).unwrap();
        }
    }
    match open_parity(dir.path(), PARAMS, StoreConfig::default()) {
        Err(e) => assert!(!e.to_string().is_empty()),
        Ok(store) => {
            // Whatever is read back is refused or absent, not a panic.
            let best = store.best();
            assert!(
                best.is_err() || best.as_ref().is_ok_and(Option::is_none),
                "{best:?}"
            );
        }
    }
}

/// A parity-db database of `columns` default columns at `path`.
fn parity_db_of(path: &Path, columns: u8) -> parity_db::Db {
    let options = parity_db::Options::with_columns(path, columns);
    parity_db::Db::open_or_create(&options).unwrap()
}

const CHILD_ENV: &str = "PARAJAM_STORAGE_KILL_CHILD_DIR";

/// Run as a child of [`killed_writer_loses_nothing_committed`]: imports
/// blocks forever, printing each one's slot after its import returned.
#[test]
fn kill_child_writer() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let store = open_parity(
        Path::new(&dir),
        PARAMS,
        StoreConfig {
            keep_finalized_states: 4,
        },
    )
    .unwrap();
    let mut head = TestBlock::genesis();
    store.init_genesis(&head.new_block()).unwrap();
    println!("committed 0");
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let next = head.child(0);
        store.import(&next.new_block(), true).unwrap();
        let slot = next.block.header.slot;
        if slot.is_multiple_of(5) {
            store.finalize(&next.hash).unwrap();
        }
        // Off-chain data too, keyed by the slot.
        store
            .put_preimage(&ByteArray(blake(&slot.to_le_bytes())), &slot.to_le_bytes())
            .unwrap();
        println!("committed {slot}");
        head = next;
    }
}

/// A child process killed (SIGKILL) when dropped.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn killed_writer_loses_nothing_committed() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let child = Command::new(exe)
        .args([
            "--exact",
            "kill_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed however this test ends.
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().unwrap();
    let mut last = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(slot) = line.strip_prefix("committed ") {
            last = Some(slot.trim().parse::<u32>().unwrap());
            if last >= Some(40) {
                break;
            }
        }
    }
    // SIGKILL, mid-write of whatever comes next.
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let last = last.expect("the child committed blocks");
    assert!(last >= 40, "the child stopped at {last}");

    let store = open_parity(
        dir.path(),
        PARAMS,
        StoreConfig {
            keep_finalized_states: 4,
        },
    )
    .unwrap();
    let best = store.best().unwrap().unwrap();
    assert!(best.slot >= last, "best {} < committed {last}", best.slot);
    // Every committed block is there, with its state if kept.
    let mut b = TestBlock::genesis();
    for slot in 1..=last {
        b = b.child(0);
        assert_eq!(
            store.block(&b.hash).unwrap().as_ref(),
            Some(&b.block),
            "slot {slot}"
        );
        assert_eq!(
            store
                .preimage(&ByteArray(blake(&slot.to_le_bytes())))
                .unwrap(),
            Some(slot.to_le_bytes().to_vec())
        );
    }
    let finalized = store.finalized().unwrap().unwrap();
    assert!(finalized.slot >= last - last % 5);
    assert_eq!(
        store.state(&b.hash).unwrap(),
        Some(sorted(b.state.clone())),
        "the last committed block's state"
    );
    // Whatever the child was writing when killed is there whole or not at
    // all: every block up to the best has its header, body, info and
    // (not finalized, or among the last 4 finalized) its state.
    let mut b = TestBlock::genesis();
    for slot in 1..=best.slot {
        b = b.child(0);
        assert_eq!(
            store.block(&b.hash).unwrap().as_ref(),
            Some(&b.block),
            "slot {slot}"
        );
        let info = store.block_info(&b.hash).unwrap().unwrap();
        assert_eq!(info.state_root, b.root);
        if slot + 4 > finalized.slot {
            assert_eq!(
                store.state(&b.hash).unwrap(),
                Some(sorted(b.state.clone())),
                "slot {slot}"
            );
        } else {
            assert_eq!(store.state(&b.hash).unwrap(), None, "slot {slot}");
        }
    }
    assert_eq!(store.block_info(&b.child(0).hash).unwrap(), None);
    // The store goes on.
    let next = TestBlock::new(best.hash, best.slot + 1, 0);
    store.import(&next.new_block(), true).unwrap();
}
