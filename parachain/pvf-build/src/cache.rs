//! The build cache: built runtimes under
//! `$HOME/.cache/parajam/runtimes/<key>/`, where the key is the
//! blake2b-256 of everything the build reads:
//!
//! - the recipe ([`crate::RECIPE`]: targets, flags, profile, linker), the
//!   toolchain (`rustc -vV`) and the enabled features;
//! - the runtime workspace's `Cargo.lock` and root `Cargo.toml` (versions,
//!   patches);
//! - every file of every workspace member (its sources, manifest and build
//!   script), except `target` and hidden directories.
//!
//! Registry crates are named by the lock (with their checksums), so they
//! need no hashing. An entry is written to a temporary directory and renamed
//! into place, so a reader sees it whole or not at all; the cache keeps the
//! [`KEEP`] entries built last.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use blake2_hasher::Hasher;

use crate::PvfBuildError;

/// `$HOME/.cache/parajam/runtimes`.
pub fn default_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/parajam/runtimes"))
}

/// What the cache key covers besides the files.
#[derive(Debug, Clone, Copy)]
pub struct KeyParams<'a> {
    /// The build recipe (targets, flags, profile, linker).
    pub recipe: &'a str,
    /// `rustc -vV`.
    pub toolchain: &'a str,
    /// The runtime's enabled features.
    pub features: &'a [String],
}

/// The cache key of building the package at `package_dir` in the workspace
/// at `workspace_root` with members `members` (directories).
pub fn key(
    params: KeyParams<'_>,
    workspace_root: &Path,
    members: &[PathBuf],
) -> Result<[u8; 32], PvfBuildError> {
    let mut hasher = Hasher::default();
    hasher.field(b"parajam-pvf-build cache key v1");
    hasher.field(params.recipe.as_bytes());
    hasher.field(params.toolchain.as_bytes());
    for feature in params.features {
        hasher.field(feature.as_bytes());
    }
    hasher.field(b"workspace");
    for name in ["Cargo.lock", "Cargo.toml"] {
        let path = workspace_root.join(name);
        match fs::read(&path) {
            Ok(contents) => {
                hasher.field(name.as_bytes());
                hasher.field(&contents);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                hasher.field(format!("no {name}").as_bytes());
            }
            Err(source) => return Err(PvfBuildError::Io { path, source }),
        }
    }
    let mut members = members.to_vec();
    members.sort();
    members.dedup();
    for member in &members {
        let relative = member.strip_prefix(workspace_root).unwrap_or(member);
        hasher.field(b"member");
        hasher.field(relative.to_string_lossy().as_bytes());
        let mut files = Vec::new();
        walk(member, member, &mut files)?;
        files.sort();
        for (relative, path) in files {
            let contents = fs::read(&path).map_err(|source| PvfBuildError::Io {
                path: path.clone(),
                source,
            })?;
            hasher.field(relative.as_bytes());
            hasher.field(&contents);
        }
    }
    Ok(hasher.finish())
}

/// The files under `dir` (relative path with `/` separators, full path),
/// skipping `target` and hidden directories and anything not a plain file.
fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), PvfBuildError> {
    let io_error = |source| PvfBuildError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in fs::read_dir(dir).map_err(io_error)? {
        let entry = entry.map_err(io_error)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let kind = entry.file_type().map_err(io_error)?;
        let path = entry.path();
        if kind.is_dir() {
            if name.starts_with('.') || name == "target" {
                continue;
            }
            walk(root, &path, out)?;
        } else if kind.is_file() {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let relative = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push((relative, path));
        }
    }
    Ok(())
}

/// Moves the finished entry `staging` to `entry`; if another build put
/// the same entry there first, keeps that one.
pub fn publish(staging: &Path, entry: &Path) -> Result<(), PvfBuildError> {
    if let Some(parent) = entry.parent() {
        fs::create_dir_all(parent).map_err(|source| PvfBuildError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    match fs::rename(staging, entry) {
        Ok(()) => Ok(()),
        Err(_) if entry.is_dir() => {
            // Same key, same contents: drop ours.
            let _ = fs::remove_dir_all(staging);
            Ok(())
        }
        Err(source) => Err(PvfBuildError::Io {
            path: entry.to_path_buf(),
            source,
        }),
    }
}

/// How many entries the cache keeps: the newest ones.
pub const KEEP: usize = 4;

/// Removes all but the `keep` most recently written entries (directories
/// named by a 64-digit hex key) of the cache at `dir`; a failure to remove
/// one leaves it for next time.
pub fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.0));
    for (_, path) in entries.into_iter().skip(keep) {
        let _ = fs::remove_dir_all(path);
    }
}

/// Blake2b-256 over length-prefixed fields.
mod blake2_hasher {
    use blake2::digest::consts::U32;
    use blake2::{Blake2b, Digest};

    /// Feeds fields, each with its length, so that no two sequences of
    /// fields hash alike.
    #[derive(Debug, Default)]
    pub struct Hasher {
        state: Blake2b<U32>,
    }

    impl Hasher {
        pub fn field(&mut self, bytes: &[u8]) {
            self.state.update((bytes.len() as u64).to_le_bytes());
            self.state.update(bytes);
        }

        pub fn finish(self) -> [u8; 32] {
            self.state.finalize().into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, contents: &str) {
        fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        fs::write(path, contents).expect("write");
    }

    fn workspace() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(
            &root.join("Cargo.toml"),
            "[workspace]\nmembers = [\"runtime\"]\n",
        );
        write(&root.join("Cargo.lock"), "version = 4\n");
        write(
            &root.join("runtime/Cargo.toml"),
            "[package]\nname = \"r\"\n",
        );
        write(&root.join("runtime/build.rs"), "fn main() {}\n");
        write(&root.join("runtime/src/lib.rs"), "pub fn f() {}\n");
        dir
    }

    const FEATURES: &[String] = &[];

    fn key_of(root: &Path, params: KeyParams<'_>) -> [u8; 32] {
        key(params, root, &[root.join("runtime")]).expect("key")
    }

    fn params(features: &[String]) -> KeyParams<'_> {
        KeyParams {
            recipe: "recipe",
            toolchain: "rustc 1.95.0",
            features,
        }
    }

    #[test]
    fn key_is_deterministic_and_ignores_build_output() {
        let dir = workspace();
        let root = dir.path();
        let base = key_of(root, params(FEATURES));
        assert_eq!(base, key_of(root, params(FEATURES)));
        // Build output and hidden directories are not inputs.
        write(&root.join("runtime/target/release/x"), "artifact");
        write(&root.join("runtime/.git/HEAD"), "ref");
        assert_eq!(base, key_of(root, params(FEATURES)));
        // Listing a member twice changes nothing.
        let twice = key(
            params(FEATURES),
            root,
            &[root.join("runtime"), root.join("runtime")],
        )
        .expect("key");
        assert_eq!(base, twice);
    }

    #[test]
    fn key_changes_with_every_input() {
        let dir = workspace();
        let root = dir.path();
        let base = key_of(root, params(FEATURES));

        let features = ["extra".to_owned()];
        assert_ne!(base, key_of(root, params(&features)));
        let mut other = params(FEATURES);
        other.toolchain = "rustc 1.96.0";
        assert_ne!(base, key_of(root, other));
        let mut other = params(FEATURES);
        other.recipe = "another recipe";
        assert_ne!(base, key_of(root, other));

        for (file, contents) in [
            ("runtime/src/lib.rs", "pub fn g() {}\n"),
            ("runtime/src/new.rs", ""),
            ("runtime/build.rs", "fn main() { }\n"),
            ("Cargo.lock", "version = 3\n"),
            ("Cargo.toml", "[workspace]\n"),
        ] {
            let dir = workspace();
            let root = dir.path();
            assert_eq!(base, key_of(root, params(FEATURES)));
            write(&root.join(file), contents);
            assert_ne!(base, key_of(root, params(FEATURES)), "{file}");
        }

        // A file moved to another name is another input.
        let dir = workspace();
        let root = dir.path();
        fs::rename(
            root.join("runtime/build.rs"),
            root.join("runtime/build2.rs"),
        )
        .expect("mv");
        assert_ne!(base, key_of(root, params(FEATURES)));
    }

    #[test]
    fn the_key_does_not_depend_on_where_the_workspace_is() {
        let a = workspace();
        let b = workspace();
        assert_eq!(
            key_of(a.path(), params(FEATURES)),
            key_of(b.path(), params(FEATURES))
        );
    }

    #[test]
    fn prune_keeps_the_newest_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let names: Vec<String> = (0..6u8).map(|i| hex::encode([i; 32])).collect();
        for name in &names {
            fs::create_dir(dir.path().join(name)).expect("mkdir");
            // Distinct modification times, oldest first.
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        fs::create_dir(dir.path().join("build")).expect("mkdir");
        prune(dir.path(), 2);
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .expect("read")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let mut expected = vec!["build".to_owned(), names[4].clone(), names[5].clone()];
        expected.sort();
        assert_eq!(left, expected);
    }

    #[test]
    fn publish_keeps_the_first_entry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let entry = dir.path().join("cache/key");
        let first = dir.path().join("first");
        write(&first.join("a"), "first");
        publish(&first, &entry).expect("publish");
        let second = dir.path().join("second");
        write(&second.join("a"), "second");
        publish(&second, &entry).expect("publish again");
        assert_eq!(fs::read_to_string(entry.join("a")).expect("read"), "first");
        assert!(!second.exists());
    }
}
