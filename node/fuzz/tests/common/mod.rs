//! A mock target and socket helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::thread::JoinHandle;

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use parajam_fuzz::{AncestryItem, Config, Features, PeerInfo, Server, SessionEnd, Target};
use parajam_primitives::codec::Encode;
use parajam_primitives::types::{Block, Header, HeaderHash, KeyValue, StateRoot};

/// Blocks whose author index is this are rejected by the mock.
pub const REJECT_AUTHOR: u16 = 0xbad;
/// Blocks whose author index is this make the mock panic.
pub const PANIC_AUTHOR: u16 = 0xdead;

/// Blake2b-256.
pub fn blake2b(data: &[u8]) -> [u8; 32] {
    Blake2b::<U32>::digest(data).into()
}

/// `H(E(header))`.
pub fn header_hash(header: &Header) -> HeaderHash {
    blake2b(&header.encode()).into()
}

/// The mock's state: sorted key/value pairs.
pub type MockState = BTreeMap<[u8; 31], Vec<u8>>;

/// The mock's "state root": a hash of the sorted encoded pairs.
pub fn mock_root(state: &MockState) -> StateRoot {
    blake2b(&to_keyvals(state).encode()).into()
}

/// The pairs of `state` in key order.
pub fn to_keyvals(state: &MockState) -> Vec<KeyValue> {
    state
        .iter()
        .map(|(k, v)| KeyValue {
            key: (*k).into(),
            value: v.clone().into(),
        })
        .collect()
}

/// What the mock's import does to its parent's state: key `[slot LE, 0…]`
/// gets the block's extrinsic hash.
pub fn apply(state: &mut MockState, block: &Block) {
    let mut key = [0u8; 31];
    key[..4].copy_from_slice(&block.header.slot.to_le_bytes());
    state.insert(key, block.header.extrinsic_hash.to_vec());
}

/// A key/value target: every imported block's state is kept by header hash,
/// so forks import naturally; a block whose parent is unknown, or whose
/// author index is [`REJECT_AUTHOR`], is rejected.
#[derive(Debug, Default)]
pub struct MockTarget {
    /// State after each known header.
    pub states: HashMap<HeaderHash, MockState>,
    /// Features from the handshake.
    pub features: Option<Features>,
    /// Ancestry from the last `Initialize`.
    pub ancestry: Vec<AncestryItem>,
}

impl Target for MockTarget {
    fn negotiated(&mut self, features: Features, _fuzzer: &PeerInfo) {
        self.features = Some(features);
    }

    fn initialize(
        &mut self,
        header: Header,
        state: Vec<KeyValue>,
        ancestry: Vec<AncestryItem>,
    ) -> Result<StateRoot, String> {
        let state: MockState = state
            .into_iter()
            .map(|kv| (kv.key.0, kv.value.to_vec()))
            .collect();
        let root = mock_root(&state);
        self.states.clear();
        self.states.insert(header_hash(&header), state);
        self.ancestry = ancestry;
        Ok(root)
    }

    fn import_block(&mut self, block: Block) -> Result<StateRoot, String> {
        match block.header.author_index {
            REJECT_AUTHOR => return Err("rejected: marked block".into()),
            PANIC_AUTHOR => panic!("mock target told to panic"),
            _ => {}
        }
        let mut state = self
            .states
            .get(&block.header.parent)
            .ok_or("unknown parent")?
            .clone();
        apply(&mut state, &block);
        let root = mock_root(&state);
        self.states.insert(header_hash(&block.header), state);
        Ok(root)
    }

    fn get_state(&mut self, header_hash: &HeaderHash) -> Result<Vec<KeyValue>, String> {
        self.states
            .get(header_hash)
            .map(to_keyvals)
            .ok_or_else(|| "unknown header hash".into())
    }
}

/// A server on a socket in a fresh temporary directory, serving
/// `connections` connections on a thread; joining returns how each ended.
pub struct TestServer {
    /// The socket path.
    pub path: PathBuf,
    _dir: tempfile::TempDir,
    handle: JoinHandle<Vec<SessionEnd>>,
}

impl TestServer {
    /// Binds and starts serving `connections` sessions with mock targets.
    pub fn start(connections: usize) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("target.sock");
        let server = Server::bind(&path, Config::default()).expect("bind");
        let handle = std::thread::spawn(move || {
            (0..connections)
                .map(|_| server.accept_one(MockTarget::default).expect("accept"))
                .collect()
        });
        Self {
            path,
            _dir: dir,
            handle,
        }
    }

    /// Waits for the server thread; panics if it panicked.
    pub fn join(self) -> Vec<SessionEnd> {
        self.handle.join().expect("the server thread never panics")
    }
}

/// A fuzzer's peer info with `features`.
pub fn fuzzer_info(features: Features) -> PeerInfo {
    PeerInfo {
        app_name: "test-fuzzer".into(),
        features,
        ..PeerInfo::parajam()
    }
}

/// A small deterministic pseudo-random generator (xorshift64*).
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % n as u64).expect("fits")
    }

    /// `len` random octets.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64().to_le_bytes()[0]).collect()
    }
}

/// A chain of `n` blocks on `genesis`, with slots 1..=n.
pub fn chain(genesis: &Header, n: u32) -> Vec<Block> {
    let mut parent = header_hash(genesis);
    (1..=n)
        .map(|slot| {
            let mut block = Block::default();
            block.header.parent = parent;
            block.header.slot = slot;
            block.header.extrinsic_hash = blake2b(&slot.to_le_bytes()).into();
            parent = header_hash(&block.header);
            block
        })
        .collect()
}

/// A genesis-like header and a small state.
pub fn genesis() -> (Header, Vec<KeyValue>) {
    let header = Header {
        slot: 0,
        extrinsic_hash: [0x11; 32].into(),
        ..Header::default()
    };
    let state = (0u8..5)
        .map(|i| KeyValue {
            key: [i; 31].into(),
            value: vec![i; usize::from(i) * 3].into(),
        })
        .collect();
    (header, state)
}
