//! [`StateStore`]: a cumulus para's state after the blocks a collator
//! made, on disk, so that a restarted collator builds on the head the node
//! has (`parajam collate --data-path`).
//!
//! One file per block, `<dir>/para-<id>/<number>-<head hash>.state`,
//! written atomically (a temporary file, synced, renamed over, the
//! directory synced): a crash leaves either the whole file or none. A file
//! is a magic, a format version, the SCALE encoding of the para id, the
//! genesis hash, the head and the state's key/value pairs (top trie and
//! default child tries), and the Blake2b-256 of all that. Reading checks
//! the checksum, the para and genesis, and that the pairs give the head's
//! state root; anything else is a [`StoreError`].
//!
//! Files rather than a database: a state is written once per block and
//! read once at start, by one process; a file per head is atomic by rename
//! with no lock, no log and no format of a database to open, and a user
//! can see and delete what is kept.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use parajam_collator::{Header, ParaState};
use parity_scale_codec::{Decode, Encode};

/// The first octets of a state file.
const MAGIC: &[u8; 8] = b"PJCSTATE";
/// The format after the magic.
const FORMAT: u8 = 1;
/// The extension of state files.
const EXTENSION: &str = "state";
/// The extension of a file being written.
const TEMPORARY: &str = "tmp";

/// Why the store could not read or write a state.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file system failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A state file is damaged (truncated, its checksum wrong, its
    /// contents not a state).
    #[error("{}: a corrupt state file ({reason}); delete it to go on without it", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A state file of another para or another genesis.
    #[error("{}: {what}", path.display())]
    Foreign {
        /// The file.
        path: PathBuf,
        /// Whose it is.
        what: String,
    },
}

/// What a state file holds after the magic and format.
#[derive(Encode, Decode)]
struct Snapshot {
    para: u32,
    genesis: [u8; 32],
    head: Vec<u8>,
    top: Vec<(Vec<u8>, Vec<u8>)>,
    children: Vec<parajam_collator::ChildPairs>,
}

/// The states of one para's blocks, on disk.
#[derive(Debug, Clone)]
pub struct StateStore {
    dir: PathBuf,
    para: u32,
    genesis: [u8; 32],
    keep: u32,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

impl StateStore {
    /// The store of para `para` (whose genesis block hash is `genesis`)
    /// under `base` (`<base>/para-<para>`, created if missing), keeping
    /// the states of the newest `keep` block numbers (at least 1).
    /// Temporary files a crash left are removed.
    pub fn open(base: &Path, para: u32, genesis: [u8; 32], keep: u32) -> Result<Self, StoreError> {
        let dir = base.join(format!("para-{para}"));
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let store = Self {
            dir,
            para,
            genesis,
            keep: keep.max(1),
        };
        for entry in std::fs::read_dir(&store.dir).map_err(io(&store.dir))? {
            let path = entry.map_err(io(&store.dir))?.path();
            if path.extension().is_some_and(|e| e == TEMPORARY) {
                std::fs::remove_file(&path).map_err(io(&path))?;
            }
        }
        Ok(store)
    }

    /// The directory the states are in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The stored states: (block number, head hash, file), oldest first.
    fn files(&self) -> Result<Vec<(u32, [u8; 32], PathBuf)>, StoreError> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let path = entry.map_err(io(&self.dir))?.path();
            if path.extension().is_none_or(|e| e != EXTENSION) {
                continue;
            }
            let Some((number, hash)) = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.split_once('-'))
                .and_then(|(n, h)| Some((n.parse().ok()?, unhex32(h)?)))
            else {
                continue;
            };
            files.push((number, hash, path));
        }
        files.sort();
        Ok(files)
    }

    fn path_of(&self, number: u32, hash: &[u8; 32]) -> PathBuf {
        self.dir
            .join(format!("{number:010}-{}.{EXTENSION}", crate::hex(hash)))
    }

    /// Writes `state` (a block of the para), atomically.
    pub fn save(&self, state: &ParaState) -> Result<PathBuf, StoreError> {
        let hash = state.hash().0;
        let path = self.path_of(state.number(), &hash);
        let corrupt = |reason: String| StoreError::Corrupt {
            path: path.clone(),
            reason,
        };
        let snapshot = Snapshot {
            para: self.para,
            genesis: self.genesis,
            head: state.head(),
            top: state.pairs().map_err(|e| corrupt(e.to_string()))?,
            children: state.child_pairs().map_err(|e| corrupt(e.to_string()))?,
        };
        let mut octets = MAGIC.to_vec();
        octets.push(FORMAT);
        snapshot.encode_to(&mut octets);
        let checksum = parajam_crypto::blake2b_256(&octets);
        octets.extend_from_slice(&checksum);
        let temporary = path.with_extension(TEMPORARY);
        let mut file = File::create(&temporary).map_err(io(&temporary))?;
        file.write_all(&octets).map_err(io(&temporary))?;
        file.sync_all().map_err(io(&temporary))?;
        drop(file);
        std::fs::rename(&temporary, &path).map_err(io(&path))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))?;
        Ok(path)
    }

    /// The state of the block whose head hashes to `head_hash`, if stored.
    pub fn load(&self, head_hash: &[u8; 32]) -> Result<Option<ParaState>, StoreError> {
        let Some((_, _, path)) = self
            .files()?
            .into_iter()
            .rev()
            .find(|(_, h, _)| h == head_hash)
        else {
            return Ok(None);
        };
        let octets = std::fs::read(&path).map_err(io(&path))?;
        let state = self.decode(&path, &octets)?;
        if state.hash().0 != *head_hash {
            return Err(StoreError::Corrupt {
                path,
                reason: format!(
                    "it holds head 0x{}, not the one its name says",
                    crate::hex(&state.hash().0)
                ),
            });
        }
        Ok(Some(state))
    }

    fn decode(&self, path: &Path, octets: &[u8]) -> Result<ParaState, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            path: path.to_owned(),
            reason,
        };
        let Some(body_len) = octets.len().checked_sub(32) else {
            return Err(corrupt(format!("{} octets", octets.len())));
        };
        let (body, checksum) = octets.split_at(body_len);
        if !body.starts_with(MAGIC) {
            return Err(corrupt("not a parajam collator state file".into()));
        }
        if parajam_crypto::blake2b_256(body) != checksum {
            return Err(corrupt("its checksum does not match".into()));
        }
        let rest = &body[MAGIC.len()..];
        if rest.first() != Some(&FORMAT) {
            return Err(corrupt(format!(
                "format {:?}, this collator reads {FORMAT}",
                rest.first()
            )));
        }
        let snapshot = Snapshot::decode(&mut &rest[1..]).map_err(|e| corrupt(e.to_string()))?;
        if snapshot.para != self.para {
            return Err(StoreError::Foreign {
                path: path.to_owned(),
                what: format!("a state of para {}, not {}", snapshot.para, self.para),
            });
        }
        if snapshot.genesis != self.genesis {
            return Err(StoreError::Foreign {
                path: path.to_owned(),
                what: format!(
                    "a state of a para whose genesis is 0x{}, not 0x{} (another runtime?)",
                    crate::hex(&snapshot.genesis),
                    crate::hex(&self.genesis)
                ),
            });
        }
        let header = Header::decode(&mut &snapshot.head[..])
            .map_err(|e| corrupt(format!("the head: {e}")))?;
        ParaState::from_pairs(header, snapshot.top, snapshot.children)
            .map_err(|e| corrupt(e.to_string()))
    }

    /// After block `number` with head hash `head_hash` was enacted: removes
    /// the other states of that number (blocks made but not enacted) and
    /// the states older than the newest `keep` numbers.
    pub fn prune(&self, number: u32, head_hash: &[u8; 32]) -> Result<(), StoreError> {
        for (n, hash, path) in self.files()? {
            let sibling = n == number && hash != *head_hash;
            let old = u64::from(n) + u64::from(self.keep) <= u64::from(number);
            if sibling || old {
                std::fs::remove_file(&path).map_err(io(&path))?;
            }
        }
        Ok(())
    }

    /// The newest stored block: (number, head hash), if any.
    pub fn newest(&self) -> Result<Option<(u32, [u8; 32])>, StoreError> {
        Ok(self.files()?.last().map(|(n, h, _)| (*n, *h)))
    }
}

fn unhex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sp_trie::TrieConfiguration as _;

    /// Block `number` of a para whose state is a few pairs (one of them
    /// `n = number`).
    #[allow(clippy::default_trait_access)] // (sp-runtime's `Digest`)
    fn block(number: u32) -> ParaState {
        let top = vec![
            (b":code".to_vec(), vec![0x11; 300]),
            (b"n".to_vec(), number.encode()),
        ];
        let root = sp_trie::LayoutV1::<sp_core::Blake2Hasher>::trie_root(top.clone());
        let header = Header {
            parent_hash: sp_core::H256::repeat_byte(3),
            number,
            state_root: root,
            extrinsics_root: sp_core::H256::zero(),
            digest: Default::default(),
        };
        ParaState::from_pairs(header, top, Vec::new()).expect("a state")
    }

    fn store(dir: &Path) -> StateStore {
        StateStore::open(dir, 2001, [7; 32], 2).expect("opens")
    }

    #[test]
    fn a_saved_state_loads_back_by_its_head_hash() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = store(dir.path());
        let state = block(3);
        let path = store.save(&state).expect("saves");
        assert!(path.starts_with(dir.path().join("para-2001")));
        let loaded = store.load(&state.hash().0).expect("reads").expect("stored");
        assert_eq!(loaded.head(), state.head());
        assert_eq!(loaded.state_root(), state.state_root());
        assert_eq!(loaded.storage(b"n").expect("reads"), Some(3u32.encode()));
        assert!(store.load(&[0; 32]).expect("reads").is_none());
        assert_eq!(store.newest().expect("reads"), Some((3, state.hash().0)));
        // Reopened (a restarted collator): still there.
        let again = StateStore::open(dir.path(), 2001, [7; 32], 2).expect("opens");
        assert!(again.load(&state.hash().0).expect("reads").is_some());
    }

    #[test]
    fn a_corrupt_or_foreign_file_is_an_error() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = store(dir.path());
        let state = block(1);
        let hash = state.hash().0;
        let path = store.save(&state).expect("saves");
        let good = std::fs::read(&path).expect("reads");

        let mut flipped = good.clone();
        flipped[good.len() / 2] ^= 1;
        for bad in [
            flipped,
            good[..good.len() - 1].to_vec(),
            Vec::new(),
            vec![0; 5],
        ] {
            std::fs::write(&path, &bad).expect("writes");
            let error = store.load(&hash).expect_err("corrupt");
            assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
            assert!(error.to_string().contains(&path.display().to_string()));
        }
        // A well-formed file of another genesis or para.
        std::fs::write(&path, &good).expect("writes");
        let other = StateStore::open(dir.path(), 2001, [8; 32], 2).expect("opens");
        assert!(matches!(other.load(&hash), Err(StoreError::Foreign { .. })));
        // A file whose name is not its head.
        let renamed = store.path_of(1, &[5; 32]);
        std::fs::rename(&path, &renamed).expect("renames");
        assert!(matches!(
            store.load(&[5; 32]),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn pruning_keeps_the_enacted_newest_blocks_and_temporary_files_go() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = store(dir.path());
        let (one, two, three) = (block(1), block(2), block(3));
        // A second block #3 (made, not enacted): another parent.
        let mut other = three.header().clone();
        other.parent_hash = sp_core::H256::repeat_byte(4);
        let other = ParaState::from_pairs(other, three.pairs().expect("pairs"), Vec::new())
            .expect("a state");
        for state in [&one, &two, &three, &other] {
            store.save(state).expect("saves");
        }
        std::fs::write(store.dir().join("x.tmp"), b"half").expect("writes");
        store.prune(3, &three.hash().0).expect("prunes");
        let kept: Vec<u32> = store.files().expect("lists").iter().map(|f| f.0).collect();
        assert_eq!(kept, vec![2, 3]);
        assert!(store.load(&three.hash().0).expect("reads").is_some());
        assert!(store.load(&other.hash().0).expect("reads").is_none());
        assert!(store.load(&one.hash().0).expect("reads").is_none());
        let _ = StateStore::open(dir.path(), 2001, [7; 32], 2).expect("opens");
        assert!(!store.dir().join("x.tmp").exists());
    }
}
