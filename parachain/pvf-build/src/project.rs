//! The nested builds: a generated crate around the runtime for each target,
//! as substrate-wasm-builder makes them, built with the flags it uses.
//!
//! - wasm: a `cdylib` crate `pub use`-ing the runtime, for `wasm32v1-none`
//!   when that target is installed, else `wasm32-unknown-unknown` with
//!   `-Z build-std=core,alloc` and `-C target-cpu=mvp` (MVP features only);
//!   `RUSTFLAGS = -C link-arg=--export-table -C link-arg=--export=__heap_base
//!   -C link-arg=--import-memory --cfg substrate_runtime` (the wasm
//!   builder's `build_using_defaults`).
//! - PVM: a `#![no_main]` bin crate `pub use`-ing the runtime, for
//!   polkavm-linker 0.30's `riscv64emac-unknown-none-polkavm` target JSON
//!   with `-Z build-std=core,alloc` and `RUSTFLAGS = --cfg substrate_runtime`.
//!   Unlike substrate-wasm-builder's RISC-V mode this adds no `[patch]` of
//!   `radium` from git: radium 0.7 from crates.io builds for riscv64emac.
//!
//! The PVM build has an allocator of its own (`pvf_alloc/heap.rs`, this
//! crate's source copied into the generated one): sp-io's global allocator,
//! which sends every allocation to the host, is turned off there (its
//! `disable_allocator` feature, on each sp-io version of the runtime's
//! `Cargo.lock`, so that cargo unifies it with the runtime's sp-io), and the
//! generated crate's `#[global_allocator]` serves allocations from 1 MiB
//! chunks it takes from the host through the same `malloc` import. On JAM a
//! host call leaves the PVF for the CoreChains service program: a block makes
//! one per chunk instead of one per allocation and free. The wasm build is
//! left as substrate-wasm-builder makes it.
//!
//! Both are substrate-wasm-builder's `<runtime>-blob` crate and depend on
//! the runtime with `default-features = false` (its `std`
//! off, so its own `build.rs` does nothing) plus `runtime-wasm` if it has
//! that feature, use its workspace's `Cargo.lock` and `[patch]` sections,
//! and the wasm builder's release profile (`panic = "abort"`, thin LTO).
//! One target directory serves both, so build scripts and proc macros are
//! built once.

use std::ffi::OsString;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use parajam_guest_build::{
    cargo_knows_json_target_spec, check_rust_src, nested_cargo, pvm_target_spec, write_if_changed,
    PVM_TARGET,
};

use crate::PvfBuildError;

/// RUSTFLAGS of the wasm build (besides `-C target-cpu=mvp` on
/// `wasm32-unknown-unknown`).
pub const WASM_RUSTFLAGS: &str = "-C link-arg=--export-table -C link-arg=--export=__heap_base \
     -C link-arg=--import-memory --cfg substrate_runtime";

/// RUSTFLAGS of the PVM build.
pub const PVM_RUSTFLAGS: &str = "--cfg substrate_runtime";

/// The PVF's heap (size classes over chunks from the host), copied into the
/// generated PVM crate as `src/pvf_heap.rs`.
pub const PVF_HEAP_SOURCE: &str = include_str!("pvf_alloc/heap.rs");

/// The PVF's `#[global_allocator]` over [`PVF_HEAP_SOURCE`] and sp-io's
/// `allocator::malloc`/`free`, copied into the generated PVM crate as
/// `src/pvf_alloc.rs`.
pub const PVF_GLOBAL_ALLOC_SOURCE: &str = include_str!("pvf_alloc/global.rs");

/// The name the generated PVM crate gives its dependency on sp-io (on the
/// runtime's version, with `disable_allocator`); the first of several is
/// this, the others get `-2`, `-3`, ...
const SP_IO_DEPENDENCY: &str = "pvf-sp-io";

/// A package of a `Cargo.lock`: its version and source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPackage {
    /// Its version.
    pub version: String,
    /// Its `source` (`registry+...`, `git+url?branch=...#commit`), if any
    /// (none for a path dependency, or one a `[patch]` replaces by a path).
    pub source: Option<String>,
}

/// The packages named `name` in a `Cargo.lock`, newest version first.
pub fn locked_packages(lock: &str, name: &str) -> Result<Vec<LockedPackage>, PvfBuildError> {
    let lock: toml::Table = lock
        .parse()
        .map_err(|e| PvfBuildError::Setup(format!("the runtime's Cargo.lock: {e}")))?;
    let mut found: Vec<LockedPackage> = lock
        .get("package")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter(|package| package.get("name").and_then(toml::Value::as_str) == Some(name))
        .filter_map(|package| {
            Some(LockedPackage {
                version: package.get("version")?.as_str()?.to_owned(),
                source: package
                    .get("source")
                    .and_then(toml::Value::as_str)
                    .map(str::to_owned),
            })
        })
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(version_key(&p.version)));
    Ok(found)
}

/// A version's numbers, for ordering (`49.0.0` before `48.1.2`).
fn version_key(version: &str) -> Vec<u64> {
    version
        .split(['.', '-', '+'])
        .map(|part| part.parse().unwrap_or(0))
        .collect()
}

/// A dependency on exactly `package`'s sp-io, with `disable_allocator`.
fn sp_io_dependency(package: &LockedPackage) -> toml::Table {
    let mut dependency = toml::Table::new();
    dependency.insert("package".into(), "sp-io".into());
    match package.source.as_deref() {
        // `git+<url>?<branch|tag|rev>=<name>#<commit>`: the same reference,
        // so that cargo takes it for the runtime's source.
        Some(source) if source.starts_with("git+") => {
            let source = &source["git+".len()..];
            let source = source.split('#').next().unwrap_or(source);
            let (url, query) = source.split_once('?').unwrap_or((source, ""));
            dependency.insert("git".into(), url.into());
            for pair in query.split('&') {
                if let Some((key, value)) = pair.split_once('=') {
                    if ["branch", "tag", "rev"].contains(&key) {
                        dependency.insert(key.into(), value.into());
                    }
                }
            }
        }
        // crates.io (or a `[patch]` of it, which the generated crate has too).
        _ => {
            dependency.insert("version".into(), format!("={}", package.version).into());
        }
    }
    dependency.insert("default-features".into(), false.into());
    dependency.insert(
        "features".into(),
        vec![toml::Value::from("disable_allocator")].into(),
    );
    dependency
}

/// The toolchain the builds use.
#[derive(Debug, Clone)]
pub struct Toolchain {
    cargo: OsString,
    /// `rustc -vV`.
    pub version: String,
    /// Whether the `wasm32v1-none` target is installed.
    pub wasm32v1_none: bool,
    target_spec: &'static str,
}

impl Toolchain {
    /// `$CARGO` and `$RUSTC` (or `cargo` and `rustc`); checks for `rust-src`.
    pub fn detect() -> Result<Self, PvfBuildError> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| OsString::from("rustc"));
        check_rust_src(&rustc).map_err(PvfBuildError::Setup)?;
        let target_spec = pvm_target_spec(&rustc).map_err(PvfBuildError::Setup)?;
        let output = |args: &[&str]| -> Result<String, PvfBuildError> {
            let out = Command::new(&rustc).args(args).output().map_err(|e| {
                PvfBuildError::Setup(format!("cannot run {}: {e}", rustc.to_string_lossy()))
            })?;
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        };
        let version = output(&["-vV"])?;
        let sysroot = PathBuf::from(output(&["--print", "sysroot"])?);
        let wasm32v1_none = sysroot.join("lib/rustlib/wasm32v1-none/lib").is_dir();
        Ok(Self {
            cargo,
            version,
            wasm32v1_none,
            target_spec,
        })
    }

    /// The wasm target substrate-wasm-builder would pick here.
    pub fn wasm_target(&self) -> &'static str {
        if self.wasm32v1_none {
            "wasm32v1-none"
        } else {
            "wasm32-unknown-unknown"
        }
    }
}

/// The runtime crate the generated crates wrap.
#[derive(Debug, Clone)]
pub struct Runtime<'a> {
    /// Its package name.
    pub package: &'a str,
    /// Its directory.
    pub dir: &'a Path,
    /// The features to enable.
    pub features: &'a [String],
    /// Its workspace's `Cargo.lock`, if any.
    pub lock: Option<&'a Path>,
    /// Its workspace's `[patch]` table, paths made absolute.
    pub patch: Option<&'a toml::Table>,
    /// The sp-io packages of its `Cargo.lock` ([`locked_packages`]): the PVM
    /// build turns their global allocator off and brings its own. None:
    /// the PVM build keeps sp-io's allocator.
    pub sp_io: &'a [LockedPackage],
}

/// Where the nested builds happen.
#[derive(Debug, Clone)]
pub struct Builder {
    /// `<build dir>`: the generated crates and the shared target directory.
    pub dir: PathBuf,
    /// Whether cargo's output goes to this process's stderr (else it is
    /// kept, and its tail is in the error if the build fails).
    pub show_output: bool,
}

impl Builder {
    /// Builds the wasm runtime; the `.wasm` file.
    pub fn build_wasm(
        &self,
        toolchain: &Toolchain,
        runtime: &Runtime<'_>,
    ) -> Result<Vec<u8>, PvfBuildError> {
        let project = self.generate(runtime, Kind::Wasm)?;
        let target = toolchain.wasm_target();
        let mut command = self.cargo(toolchain, &project);
        let mut rustflags = String::new();
        if !toolchain.wasm32v1_none {
            rustflags.push_str("-C target-cpu=mvp ");
            command.args(["-Z", "build-std=core,alloc"]);
        }
        rustflags.push_str(WASM_RUSTFLAGS);
        command
            .arg("--target")
            .arg(target)
            .env("RUSTFLAGS", rustflags);
        self.run(command, "wasm")?;
        let path = self
            .target_dir()
            .join(target)
            .join("release")
            .join(format!("{}.wasm", runtime.package.replace('-', "_")));
        read(&path)
    }

    /// Builds the PVM runtime; the ELF.
    pub fn build_pvm(
        &self,
        toolchain: &Toolchain,
        runtime: &Runtime<'_>,
    ) -> Result<Vec<u8>, PvfBuildError> {
        let project = self.generate(runtime, Kind::Pvm)?;
        // The file stem names the target (and its directory under target/).
        let target_json = self.dir.join(format!("{PVM_TARGET}.json"));
        write_if_changed(&target_json, toolchain.target_spec.as_bytes())
            .map_err(PvfBuildError::Setup)?;
        let mut command = self.cargo(toolchain, &project);
        command
            .arg("--target")
            .arg(&target_json)
            .args(["-Z", "build-std=core,alloc"])
            .env("RUSTFLAGS", PVM_RUSTFLAGS);
        if cargo_knows_json_target_spec(&toolchain.cargo) {
            command.args(["-Z", "json-target-spec"]);
        }
        self.run(command, "PVM (riscv64emac)")?;
        let path = self
            .target_dir()
            .join(PVM_TARGET)
            .join("release")
            .join(blob_package(runtime.package));
        read(&path)
    }

    fn target_dir(&self) -> PathBuf {
        self.dir.join("target")
    }

    /// `cargo build --release` of a generated crate.
    fn cargo(&self, toolchain: &Toolchain, project: &Path) -> Command {
        let mut command = nested_cargo(&toolchain.cargo);
        command
            .arg("build")
            .arg("--release")
            .arg("--manifest-path")
            .arg(project.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(self.target_dir())
            // Runtime dependencies with a wasm builder of their own skip it.
            .env("SKIP_WASM_BUILD", "1");
        command
    }

    fn run(&self, mut command: Command, what: &str) -> Result<(), PvfBuildError> {
        let failed = |detail: String| PvfBuildError::Build {
            target: what.to_owned(),
            detail,
        };
        command.stdout(Stdio::null());
        let status = if self.show_output {
            command.stderr(Stdio::inherit()).status()
        } else {
            command.stderr(Stdio::piped());
            let mut child = command
                .spawn()
                .map_err(|e| failed(format!("cannot run {command:?}: {e}")))?;
            let mut log = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                // Cargo's output is text; a read error only shortens the log.
                let _ = stderr.read_to_string(&mut log);
            }
            let status = child.wait();
            if status.as_ref().is_ok_and(|s| !s.success()) {
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                return Err(failed(format!(
                    "{}\n  the command was {command:?}\n  cargo said:\n{}",
                    status.map(|s| s.to_string()).unwrap_or_default(),
                    tail.join("\n")
                )));
            }
            status
        };
        match status {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(failed(format!("{status}; the command was {command:?}"))),
            Err(e) => Err(failed(format!("cannot run {command:?}: {e}"))),
        }
    }

    /// Writes the generated crate for `kind`; its directory.
    fn generate(&self, runtime: &Runtime<'_>, kind: Kind) -> Result<PathBuf, PvfBuildError> {
        let project = self.dir.join(runtime.package).join(kind.name());
        let src = project.join("src");
        fs::create_dir_all(&src).map_err(|source| PvfBuildError::Io {
            path: src.clone(),
            source,
        })?;
        let manifest = manifest(runtime, kind)?;
        write_if_changed(&project.join("Cargo.toml"), manifest.as_bytes())
            .map_err(PvfBuildError::Setup)?;
        for (file, body) in sources(runtime, kind) {
            write_if_changed(&src.join(file), body.as_bytes()).map_err(PvfBuildError::Setup)?;
        }
        // Their lock; cargo adds the generated crate to it (a change it
        // makes without resolving anything else again).
        if let Some(source) = runtime.lock {
            write_if_changed(&project.join("Cargo.lock"), &read(source)?)
                .map_err(PvfBuildError::Setup)?;
        }
        Ok(project)
    }
}

/// The generated crate's source files (under `src/`) and their text.
fn sources(runtime: &Runtime<'_>, kind: Kind) -> Vec<(&'static str, &'static str)> {
    match kind {
        Kind::Wasm => vec![(
            "lib.rs",
            "#![no_std]\n#![allow(unused_imports)]\npub use wasm_project::*;\n",
        )],
        Kind::Pvm if runtime.sp_io.is_empty() => vec![(
            "main.rs",
            "#![no_std]\n#![no_main]\n#![allow(unused_imports)]\npub use wasm_project::*;\n",
        )],
        Kind::Pvm => vec![
            (
                "main.rs",
                "#![no_std]\n#![no_main]\n#![allow(unused_imports)]\npub use wasm_project::*;\n\
                 \n// The PVF's own allocator (sp-io's is off: `disable_allocator`).\n\
                 mod pvf_alloc;\nmod pvf_heap;\n",
            ),
            ("pvf_heap.rs", PVF_HEAP_SOURCE),
            ("pvf_alloc.rs", PVF_GLOBAL_ALLOC_SOURCE),
        ],
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Wasm,
    Pvm,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Wasm => "wasm",
            Self::Pvm => "pvm",
        }
    }
}

/// The generated crate's `Cargo.toml`: substrate-wasm-builder's, package
/// `<runtime>-blob` 1.0.0 (so the PVM ELF is `<runtime>-blob`), a `cdylib`
/// named after the runtime for wasm.
fn manifest(runtime: &Runtime<'_>, kind: Kind) -> Result<String, PvfBuildError> {
    let mut root = toml::Table::new();
    let mut package = toml::Table::new();
    package.insert("name".into(), blob_package(runtime.package).into());
    package.insert("version".into(), "1.0.0".into());
    package.insert("edition".into(), "2021".into());
    root.insert("package".into(), package.into());
    if kind == Kind::Wasm {
        let mut lib = toml::Table::new();
        lib.insert("name".into(), runtime.package.replace('-', "_").into());
        lib.insert(
            "crate-type".into(),
            vec![toml::Value::from("cdylib")].into(),
        );
        root.insert("lib".into(), lib.into());
    }
    let mut dependency = toml::Table::new();
    dependency.insert("package".into(), runtime.package.into());
    dependency.insert(
        "path".into(),
        runtime.dir.to_string_lossy().into_owned().into(),
    );
    dependency.insert("default-features".into(), false.into());
    dependency.insert(
        "features".into(),
        runtime
            .features
            .iter()
            .map(|f| toml::Value::from(f.as_str()))
            .collect::<Vec<_>>()
            .into(),
    );
    let mut dependencies = toml::Table::new();
    dependencies.insert("wasm-project".into(), dependency.into());
    if kind == Kind::Pvm {
        for (i, package) in runtime.sp_io.iter().enumerate() {
            let name = if i == 0 {
                SP_IO_DEPENDENCY.to_owned()
            } else {
                format!("{SP_IO_DEPENDENCY}-{}", i + 1)
            };
            dependencies.insert(name, sp_io_dependency(package).into());
        }
    }
    root.insert("dependencies".into(), dependencies.into());
    let mut workspace = toml::Table::new();
    workspace.insert("resolver".into(), "2".into());
    root.insert("workspace".into(), workspace.into());
    // substrate-wasm-builder's profiles (the builds use `release`).
    let mut release = toml::Table::new();
    release.insert("panic".into(), "abort".into());
    release.insert("lto".into(), "thin".into());
    let mut production = toml::Table::new();
    production.insert("inherits".into(), "release".into());
    production.insert("lto".into(), "fat".into());
    production.insert("codegen-units".into(), 1.into());
    let mut dev = toml::Table::new();
    dev.insert("panic".into(), "abort".into());
    let mut profile = toml::Table::new();
    profile.insert("release".into(), release.into());
    profile.insert("production".into(), production.into());
    profile.insert("dev".into(), dev.into());
    root.insert("profile".into(), profile.into());
    if let Some(patch) = runtime.patch {
        root.insert("patch".into(), patch.clone().into());
    }
    toml::to_string_pretty(&root).map_err(|e| PvfBuildError::Setup(e.to_string()))
}

/// The generated crates' package name.
fn blob_package(runtime: &str) -> String {
    format!("{runtime}-blob")
}

/// The `[patch]` table of a workspace's root manifest, with relative
/// `path`s made absolute (they are relative to `workspace_root`).
pub fn workspace_patch(workspace_root: &Path) -> Result<Option<toml::Table>, PvfBuildError> {
    let path = workspace_root.join("Cargo.toml");
    let text = fs::read_to_string(&path).map_err(|source| PvfBuildError::Io {
        path: path.clone(),
        source,
    })?;
    let manifest: toml::Table = text
        .parse()
        .map_err(|e| PvfBuildError::Setup(format!("{}: {e}", path.display())))?;
    let Some(toml::Value::Table(mut patch)) = manifest.get("patch").cloned() else {
        return Ok(None);
    };
    for (_, source) in &mut patch {
        let toml::Value::Table(crates) = source else {
            continue;
        };
        for (_, spec) in crates {
            if let toml::Value::Table(spec) = spec {
                if let Some(toml::Value::String(dir)) = spec.get_mut("path") {
                    *dir = workspace_root.join(&*dir).to_string_lossy().into_owned();
                }
            }
        }
    }
    Ok(Some(patch))
}

fn read(path: &Path) -> Result<Vec<u8>, PvfBuildError> {
    fs::read(path).map_err(|source| PvfBuildError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sp-io 49.0.0 from crates.io, as a lock file names it.
    fn sp_io_49() -> [LockedPackage; 1] {
        [LockedPackage {
            version: "49.0.0".to_owned(),
            source: Some("registry+https://github.com/rust-lang/crates.io-index".to_owned()),
        }]
    }

    /// A runtime crate `my-runtime` at `dir` without lock or patches.
    fn runtime<'a>(
        dir: &'a str,
        features: &'a [String],
        sp_io: &'a [LockedPackage],
    ) -> Runtime<'a> {
        Runtime {
            package: "my-runtime",
            dir: Path::new(dir),
            features,
            lock: None,
            patch: None,
            sp_io,
        }
    }

    /// The generated manifest of `kind`, parsed.
    fn parsed_manifest(runtime: &Runtime<'_>, kind: Kind) -> toml::Table {
        manifest(runtime, kind)
            .expect("manifest")
            .parse()
            .expect("valid toml")
    }

    #[test]
    fn generated_manifests() {
        let features = vec!["runtime-wasm".to_owned()];
        let sp_io = sp_io_49();
        let runtime = runtime("/src/my \"runtime\"", &features, &sp_io);
        let pvm = parsed_manifest(&runtime, Kind::Pvm);
        assert_eq!(pvm["package"]["name"].as_str(), Some("my-runtime-blob"));
        assert!(pvm.get("lib").is_none());
        let dependency = &pvm["dependencies"]["wasm-project"];
        assert_eq!(dependency["package"].as_str(), Some("my-runtime"));
        assert_eq!(dependency["path"].as_str(), Some("/src/my \"runtime\""));
        assert_eq!(dependency["default-features"].as_bool(), Some(false));
        assert_eq!(dependency["features"][0].as_str(), Some("runtime-wasm"));
        assert_eq!(pvm["profile"]["release"]["lto"].as_str(), Some("thin"));
        assert_eq!(pvm["profile"]["release"]["panic"].as_str(), Some("abort"));

        let wasm = parsed_manifest(&runtime, Kind::Wasm);
        assert_eq!(wasm["package"]["name"].as_str(), Some("my-runtime-blob"));
        assert_eq!(wasm["lib"]["name"].as_str(), Some("my_runtime"));
        assert_eq!(wasm["lib"]["crate-type"][0].as_str(), Some("cdylib"));
    }

    #[test]
    fn only_the_pvm_build_brings_its_own_allocator() {
        let sp_io = sp_io_49();
        let runtime = runtime("/src/my-runtime", &[], &sp_io);

        // PVM: sp-io at the lock's version, its allocator off, ours in.
        let pvm = parsed_manifest(&runtime, Kind::Pvm);
        let dependency = &pvm["dependencies"][SP_IO_DEPENDENCY];
        assert_eq!(dependency["package"].as_str(), Some("sp-io"));
        assert_eq!(dependency["version"].as_str(), Some("=49.0.0"));
        assert_eq!(dependency["default-features"].as_bool(), Some(false));
        assert_eq!(
            dependency["features"].as_array().map(Vec::as_slice),
            Some(&[toml::Value::from("disable_allocator")][..])
        );
        let files = sources(&runtime, Kind::Pvm);
        let file = |name: &str| files.iter().find(|(f, _)| *f == name).map(|(_, t)| *t);
        let main = file("main.rs").expect("main.rs");
        assert!(main.contains("mod pvf_alloc;") && main.contains("mod pvf_heap;"));
        assert_eq!(file("pvf_heap.rs"), Some(PVF_HEAP_SOURCE));
        assert_eq!(file("pvf_alloc.rs"), Some(PVF_GLOBAL_ALLOC_SOURCE));
        assert!(PVF_GLOBAL_ALLOC_SOURCE.contains("#[global_allocator]"));
        assert!(PVF_GLOBAL_ALLOC_SOURCE.contains("pvf_sp_io::allocator::malloc"));
        assert!(PVF_HEAP_SOURCE.contains("pub struct Heap"));

        // wasm: as substrate-wasm-builder makes it.
        let wasm = parsed_manifest(&runtime, Kind::Wasm);
        assert_eq!(
            wasm["dependencies"]
                .as_table()
                .map(|d| d.keys().collect::<Vec<_>>()),
            Some(vec![&"wasm-project".to_owned()])
        );
        let files = sources(&runtime, Kind::Wasm);
        assert_eq!(files.len(), 1);
        assert!(!files[0].1.contains("pvf_alloc"));

        // No sp-io in the lock: the PVM build keeps sp-io's allocator.
        let plain = Runtime {
            sp_io: &[],
            ..runtime.clone()
        };
        let pvm = parsed_manifest(&plain, Kind::Pvm);
        assert!(pvm["dependencies"].get(SP_IO_DEPENDENCY).is_none());
        assert_eq!(sources(&plain, Kind::Pvm).len(), 1);
    }

    #[test]
    fn sp_io_is_found_in_the_lock_with_its_source() {
        let lock = r#"
version = 4

[[package]]
name = "sp-io"
version = "48.0.0"
source = "git+https://github.com/paritytech/polkadot-sdk?branch=stable2512#0123abcd"

[[package]]
name = "sp-core"
version = "43.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "sp-io"
version = "49.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;
        let found = locked_packages(lock, "sp-io").expect("parses");
        assert_eq!(
            found.iter().map(|p| p.version.as_str()).collect::<Vec<_>>(),
            ["49.0.0", "48.0.0"],
            "newest first"
        );
        let git = sp_io_dependency(&found[1]);
        assert_eq!(
            git["git"].as_str(),
            Some("https://github.com/paritytech/polkadot-sdk")
        );
        assert_eq!(git["branch"].as_str(), Some("stable2512"));
        assert!(git.get("version").is_none());
        let pvm = parsed_manifest(&runtime("/r", &[], &found), Kind::Pvm);
        assert_eq!(
            pvm["dependencies"][SP_IO_DEPENDENCY]["version"].as_str(),
            Some("=49.0.0")
        );
        assert_eq!(
            pvm["dependencies"]["pvf-sp-io-2"]["branch"].as_str(),
            Some("stable2512")
        );
        assert!(locked_packages("not toml [", "sp-io").is_err());
    }

    #[test]
    fn patches_get_absolute_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(
            dir.path().join("Cargo.toml"),
            "[workspace]\n[patch.crates-io]\nfoo = { path = \"vendor/foo\" }\n\
             bar = { git = \"https://example.invalid/bar\" }\n",
        )
        .expect("write");
        let patch = workspace_patch(dir.path())
            .expect("parses")
            .expect("has a patch");
        let foo = dir.path().join("vendor/foo");
        assert_eq!(
            patch["crates-io"]["foo"]["path"].as_str(),
            Some(foo.to_string_lossy().as_ref())
        );
        assert_eq!(
            patch["crates-io"]["bar"]["git"].as_str(),
            Some("https://example.invalid/bar")
        );
        fs::write(dir.path().join("Cargo.toml"), "[workspace]\n").expect("write");
        assert!(workspace_patch(dir.path()).expect("parses").is_none());
    }
}
