//! [`ParityBackend`]: the columns in a parity-db database on disk.
//!
//! parity-db queues a commit and writes it from background threads, so a
//! commit that returned may still be in memory when the process dies. This
//! backend runs parity-db without its background threads (its
//! `instrumentation` mode) and drives each commit to the end in the
//! caller's thread: the commit's log record is written and fsync'd, then
//! enacted into the tables, which are fsync'd before the log is removed.
//! A commit that returned is on disk; one interrupted is replayed whole
//! from its log record or not at all (a partial record fails its checksum).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use parity_db::{ColumnOptions, Db, Operation, Options};

use crate::kv::{Column, KvBackend, WriteOp};
use crate::StorageError;

/// The file parity-db keeps its column configuration in.
const PARITY_METADATA: &str = "metadata";

/// A parity-db database of the store's [`Column`]s.
pub struct ParityBackend {
    db: Db,
    path: PathBuf,
    /// One commit at a time is driven through parity-db's stages.
    commit: Mutex<()>,
}

impl std::fmt::Debug for ParityBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParityBackend")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn db_error(e: &parity_db::Error) -> StorageError {
    StorageError::Database(e.to_string())
}

/// Runs `f`, turning a panic inside parity-db (on damaged files) into an
/// error: bad files on disk are bad input.
fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, StorageError>) -> Result<T, StorageError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let reason = panic
            .downcast_ref::<&str>()
            .map(ToString::to_string)
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_string());
        Err(StorageError::Database(format!("{what}: {reason}")))
    })
}

fn options(path: &Path) -> Options {
    let mut options = Options::with_columns(path, Column::COUNT);
    // Keys of these columns are 32 octets of a hash (parity-db's uniform
    // keys are exactly 32 octets: the shard and segment keys, a root and an
    // index, are hashed instead).
    let uniform = [
        Column::Headers,
        Column::Bodies,
        Column::BlockInfo,
        Column::States,
        Column::StateValues,
        Column::WorkReports,
        Column::Preimages,
        Column::Bundles,
    ];
    for c in uniform {
        options.columns[usize::from(c as u8)] = ColumnOptions {
            uniform: true,
            ..ColumnOptions::default()
        };
    }
    options.sync_wal = true;
    options.sync_data = true;
    options.stats = false;
    options.with_background_thread = false;
    options.always_flush = true;
    options
}

impl ParityBackend {
    /// Opens the database at `path`, creating it if the directory is absent
    /// or empty. A non-empty directory without a parity-db database, or with
    /// one of other columns, is [`StorageError::Foreign`].
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let foreign = |reason: String| StorageError::Foreign {
            path: path.to_path_buf(),
            reason,
        };
        if path.exists() {
            if !path.is_dir() {
                return Err(foreign("not a directory".into()));
            }
            let mut names: Vec<String> = std::fs::read_dir(path)
                .map_err(|e| StorageError::Database(format!("{}: {e}", path.display())))?
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            if !names.is_empty() && !names.iter().any(|n| n == PARITY_METADATA) {
                names.truncate(4);
                return Err(foreign(format!(
                    "a non-empty directory without a database ({} ...)",
                    names.join(", ")
                )));
            }
        }
        let options = options(path);
        let db = guarded("opening the database", || {
            Db::open_or_create(&options).map_err(|e| match e {
                parity_db::Error::InvalidConfiguration(reason)
                | parity_db::Error::IncompatibleColumnConfig { reason, .. } => foreign(reason),
                e => db_error(&e),
            })
        })?;
        Ok(Self {
            db,
            path: path.to_path_buf(),
            commit: Mutex::new(()),
        })
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl KvBackend for ParityBackend {
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        guarded("reading", || {
            self.db.get(column as u8, key).map_err(|e| db_error(&e))
        })
    }

    fn commit(&self, ops: Vec<WriteOp>) -> Result<(), StorageError> {
        let _one_at_a_time = self.commit.lock().unwrap_or_else(PoisonError::into_inner);
        let changes = ops.into_iter().map(|op| match op {
            WriteOp::Set(c, k, v) => (c as u8, Operation::Set(k, v)),
            WriteOp::Delete(c, k) => (c as u8, Operation::Dereference(k)),
        });
        guarded("committing", || {
            let db = &self.db;
            db.commit_changes(changes).map_err(|e| db_error(&e))?;
            // Queue → log record; a reindex step, if one is due; the log
            // written and fsync'd; enacted into the tables; tables fsync'd
            // and the log removed.
            db.process_commits().map_err(|e| db_error(&e))?;
            db.process_reindex().map_err(|e| db_error(&e))?;
            db.flush_logs().map_err(|e| db_error(&e))?;
            db.enact_logs().map_err(|e| db_error(&e))?;
            db.clean_logs().map_err(|e| db_error(&e))
        })
    }
}
