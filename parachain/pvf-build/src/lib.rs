//! Recompiling a cumulus parachain runtime for CoreChains: `parajam pvf
//! build <runtime-crate-dir>`.
//!
//! One source, two builds ([`project`] has the details):
//!
//! 1. wasm32, as substrate-wasm-builder builds every parachain runtime: the
//!    relay chain's PVF;
//! 2. riscv64emac (polkavm's 64-bit target, `-Z build-std=core,alloc`,
//!    `--cfg substrate_runtime`), the ELF linked by polkavm-linker 0.30 for
//!    `JamV1` (the GP 0.7.2 instruction set) with `validate_block` at
//!    program counter 0, with an allocator of its own instead of sp-io's
//!    (one host call per 1 MiB chunk, not per allocation: [`project`]),
//!    and packaged as the [`PvfArtifact`] the CoreChains
//!    service loads: the GP standard program, the entry point and, since a
//!    GP program has no import names, the host function of each `ecalli`
//!    index.
//!
//! Each import is classified against the service's host-function table
//! ([`HostFunction::from_symbol`]); the caller reports the unsupported ones
//! with the `sp-io` function they are ([`inspect::interface_function`]).
//! Runtimes of polkadot-sdk releases that build 32-bit RISC-V are refused
//! ([`inspect`]). Results are cached by a hash of their inputs
//! ([`cache`]), so a second build of unchanged sources costs nothing.
//!
//! The library prints nothing; cargo's own progress goes to stderr only when
//! [`Options::show_cargo_output`] is set.

pub mod cache;
pub mod inspect;
pub mod null_access;
pub mod project;
#[cfg(test)]
mod pvf_alloc;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use parajam_corechains_service::host_functions::HostFunction;
use parajam_corechains_types::pvf::{PvfAbi, PvfArtifact};
use parajam_guest_build::{link_jamv1_with, nested_cargo};
use polkavm_common::program::{Instruction, ProgramBlob};
use serde::{Deserialize, Serialize};

use crate::project::{Builder, Runtime, Toolchain};

/// GP 0.7.2 `W_C`: the largest service code, in octets.
pub const W_C: u64 = 4_000_000;

/// The PVF's entry point.
pub const ENTRY: &str = "validate_block";

/// What the build does, for the cache key: change it when the recipe
/// changes.
pub const RECIPE: &str = "parajam-pvf-build v3; \
    pvm: riscv64emac-unknown-none-polkavm (polkavm-linker 0.30 target JSON), \
    -Z build-std=core,alloc, RUSTFLAGS --cfg substrate_runtime, \
    sp-io disable_allocator + the PVF's own global allocator (size classes over 1 MiB host chunks, v1), \
    generated crate <runtime>-blob 1.0.0, profile release panic=abort lto=thin, polkavm-linker 0.30.0 JamV1 strip, \
    dispatch [validate_block]; artifact PJVF v1 SubstrateV1; \
    wasm: wasm32v1-none or wasm32-unknown-unknown (build-std, target-cpu=mvp), \
    --export-table --export=__heap_base --import-memory --cfg substrate_runtime";

/// The PVF's stack, in octets, unless [`Options::stack_size`] says
/// otherwise: 8 MiB.
///
/// polkavm-linker gives a program two pages of stack unless it asks for
/// more, and substrate-wasm-builder's RISC-V mode asks for nothing: a
/// cumulus runtime overflows that within its first block (frames of
/// several KiB in block execution). On wasm a runtime's stack is lld's
/// 1 MiB shadow stack plus the relay chain's deterministic stack limit
/// (65536 wasm values of native frames); on RISC-V every frame lives on
/// the one stack, with spills, so the PVM build gets several times that.
/// Stack pages cost nothing until touched.
pub const DEFAULT_STACK_SIZE: u32 = 8 << 20;

/// What the link step does, recorded in a cache entry: an entry linked
/// otherwise is relinked from its cached ELF (seconds, not a rebuild).
fn link_recipe(stack_size: u32) -> String {
    format!("polkavm-linker 0.30.0 JamV1 strip, dispatch [{ENTRY}], min stack size {stack_size}")
}

/// Why a runtime did not build.
#[derive(Debug, thiserror::Error)]
pub enum PvfBuildError {
    /// The toolchain or a file it needs is missing.
    #[error("{0}")]
    Setup(String),
    /// Not a cargo package, or cargo cannot read it.
    #[error("{dir} is not a runtime crate: {message}")]
    NotAPackage {
        /// The directory given.
        dir: PathBuf,
        /// Why.
        message: String,
    },
    /// The runtime's polkadot-sdk builds 32-bit RISC-V runtimes.
    #[error(
        "{package} is built on a polkadot-sdk release whose RISC-V runtimes are 32-bit \
         (substrate-wasm-builder {wasm_builder} in its Cargo.lock; releases before stable2603, \
         i.e. substrate-wasm-builder < {}, build for riscv32emac). JAM's PVM is a 64-bit \
         machine: such a runtime cannot run on JAM. Move the runtime to polkadot-sdk \
         stable2603 or newer.",
        inspect::FIRST_64_BIT_WASM_BUILDER
    )]
    OldSdk {
        /// The runtime package.
        package: String,
        /// Its substrate-wasm-builder version.
        wasm_builder: String,
    },
    /// The runtime ELF is 32-bit RISC-V.
    #[error(
        "the runtime was built as a 32-bit RISC-V ELF (riscv32emac, as polkadot-sdk releases \
         before stable2603 build runtimes); JAM's PVM is 64-bit and runs riscv64emac programs only"
    )]
    Riscv32,
    /// The build output is not a RISC-V ELF.
    #[error("the PVM build did not produce a RISC-V ELF ({0})")]
    NotRiscvElf(String),
    /// A cargo build failed.
    #[error("building the {target} runtime failed: {detail}")]
    Build {
        /// Which build.
        target: String,
        /// Cargo's status and output.
        detail: String,
    },
    /// polkavm-linker refused the ELF.
    #[error("linking the runtime for the PVM (polkavm-linker 0.30, JamV1) failed: {0}")]
    Link(String),
    /// The runtime has no `validate_block`.
    #[error(
        "the runtime exports no `validate_block`, so it is no parachain validation function: \
         does it call `cumulus_pallet_parachain_system::register_validate_block!`?"
    )]
    NoValidateBlock,
    /// A cache entry is unreadable.
    #[error("the cached build {path} is unusable: {message}")]
    Cache {
        /// The entry.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// What to build and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// The runtime crate's directory.
    pub crate_dir: PathBuf,
    /// Features to enable besides `runtime-wasm` (enabled if the crate has
    /// it, as substrate-wasm-builder does); `std` stays off.
    pub features: Vec<String>,
    /// Where the generated crates and their target directory go; by default
    /// `$CARGO_TARGET_DIR/parajam-runtimes` if that is set, else
    /// `<cache dir>/build`.
    pub build_dir: Option<PathBuf>,
    /// The cache; by default `$HOME/.cache/parajam/runtimes`.
    pub cache_dir: Option<PathBuf>,
    /// Rebuild even if the cache has this build (the entry is replaced).
    pub force: bool,
    /// Also build the wasm runtime.
    pub wasm: bool,
    /// Copy the results here too.
    pub out_dir: Option<PathBuf>,
    /// Let cargo's progress through to this process's stderr.
    pub show_cargo_output: bool,
    /// The PVF's stack size in octets (at least; [`DEFAULT_STACK_SIZE`]).
    pub stack_size: u32,
}

impl Options {
    /// Both builds of the crate at `crate_dir`, cached in the default place.
    pub fn new(crate_dir: impl Into<PathBuf>) -> Self {
        Self {
            crate_dir: crate_dir.into(),
            features: Vec::new(),
            build_dir: None,
            cache_dir: None,
            force: false,
            wasm: true,
            out_dir: None,
            show_cargo_output: false,
            stack_size: DEFAULT_STACK_SIZE,
        }
    }
}

/// How long each step took when the entry was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// The wasm build, in seconds.
    pub wasm_build_secs: Option<f64>,
    /// The riscv64emac build, in seconds.
    pub pvm_build_secs: f64,
    /// polkavm-linker, in seconds.
    pub link_secs: f64,
}

/// One import of the PVM program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The `ecalli` index.
    pub index: u32,
    /// The host function's name.
    pub symbol: String,
    /// The runtime-interface function (e.g. `sp_io::storage::get`) and its
    /// version, if the symbol names one.
    pub function: Option<(String, u32)>,
    /// Whether the CoreChains service serves it ([`HostFunction::from_symbol`]).
    pub supported: bool,
    /// How many `ecalli` instructions call it.
    pub call_sites: u32,
}

/// The wasm runtime.
#[derive(Debug, Clone)]
pub struct WasmBlob {
    /// Its file.
    pub path: PathBuf,
    /// Its size in octets.
    pub size: u64,
    /// Its blake2b-256 (the relay chain's code hash of uncompressed code).
    pub hash: [u8; 32],
}

/// A built runtime.
#[derive(Debug, Clone)]
pub struct Built {
    /// The runtime package.
    pub package: String,
    /// The cache key (hex).
    pub key: String,
    /// Whether it came from the cache.
    pub from_cache: bool,
    /// The cache entry.
    pub entry: PathBuf,
    /// The PVF artifact file (`<package>.pvf`).
    pub pvf: PathBuf,
    /// Its size in octets.
    pub pvf_size: u64,
    /// Its blake2b-256: the service's `ValidationCodeHash` of this PVF.
    pub code_hash: [u8; 32],
    /// The artifact.
    pub artifact: PvfArtifact,
    /// The linked polkavm blob (`<package>.polkavm`, for polkavm tools).
    pub polkavm: PathBuf,
    /// The riscv64emac ELF it was linked from (`<package>.elf`).
    pub elf: PathBuf,
    /// The size of the GP standard program in the artifact.
    pub program_size: u64,
    /// The program's exports.
    pub exports: Vec<String>,
    /// The program's imports, by `ecalli` index.
    pub imports: Vec<Import>,
    /// The wasm runtime, if built.
    pub wasm: Option<WasmBlob>,
    /// The substrate-wasm-builder version of the runtime's lock, if any.
    pub wasm_builder: Option<String>,
    /// How long the builds took.
    pub timings: Timings,
    /// How the PVF was linked (the linker, its settings, the stack size).
    pub link: String,
    /// Loads and stores at an absolute address near zero (null-pointer
    /// accesses LLVM emitted) made the PVM's trap before linking.
    pub null_access_traps: usize,
}

impl Built {
    /// The imports the CoreChains service does not serve yet.
    pub fn unsupported(&self) -> impl Iterator<Item = &Import> {
        self.imports.iter().filter(|import| !import.supported)
    }

    /// Whether `validate_block` is exported.
    pub fn has_entry(&self) -> bool {
        self.exports.iter().any(|e| e == ENTRY)
    }
}

/// What a cache entry records besides its files.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    package: String,
    key: String,
    toolchain: String,
    wasm_builder: Option<String>,
    exports: Vec<String>,
    wasm: bool,
    timings: Timings,
    /// How the PVF was linked ([`link_recipe`]; empty in entries made
    /// before it was recorded).
    #[serde(default)]
    link: String,
    /// Null-pointer accesses made traps before linking.
    #[serde(default)]
    null_access_traps: usize,
}

/// Builds (or finds in the cache) the runtime of `options`.
pub fn build(options: &Options) -> Result<Built, PvfBuildError> {
    let plan = Plan::new(options)?;
    if !options.force {
        if let Ok(mut built) = load(&plan.entry) {
            if built.wasm.is_some() || !options.wasm {
                if built.link != link_recipe(options.stack_size) {
                    plan.relink(&built, options)?;
                    built = load(&plan.entry)?;
                }
                built.from_cache = true;
                return finish(built, options);
            }
        }
    }
    plan.build(options)?;
    finish(load(&plan.entry)?, options)
}

/// How the PVF was linked, for the entry's manifest.
#[derive(Debug, Clone, Copy)]
struct Linking {
    stack_size: u32,
    traps: usize,
}

/// Links `elf` as a PVF with a stack of `stack_size` octets, its null
/// accesses made traps first ([`null_access`]); the link and how many
/// there were.
fn link_pvf(
    elf: &[u8],
    stack_size: u32,
) -> Result<(parajam_guest_build::Linked, usize), PvfBuildError> {
    let mut patched = elf.to_vec();
    let traps = null_access::trap_null_accesses(&mut patched).map_err(PvfBuildError::Link)?;
    let linked = link_jamv1_with(&patched, &[ENTRY.as_bytes()], Some(stack_size)).map_err(|e| {
        if elf.windows(ENTRY.len()).any(|w| w == ENTRY.as_bytes()) {
            PvfBuildError::Link(e)
        } else {
            PvfBuildError::NoValidateBlock
        }
    })?;
    Ok((linked, traps))
}

/// What to build, and its cache entry.
#[derive(Debug)]
struct Plan {
    crate_dir: PathBuf,
    toolchain: Toolchain,
    metadata: Metadata,
    lock: Option<PathBuf>,
    /// The lock's sp-io packages (the PVM build's allocator replaces theirs).
    sp_io: Vec<project::LockedPackage>,
    wasm_builder: Option<String>,
    features: Vec<String>,
    key: String,
    cache_dir: PathBuf,
    entry: PathBuf,
}

impl Plan {
    fn new(options: &Options) -> Result<Self, PvfBuildError> {
        let crate_dir =
            options
                .crate_dir
                .canonicalize()
                .map_err(|e| PvfBuildError::NotAPackage {
                    dir: options.crate_dir.clone(),
                    message: e.to_string(),
                })?;
        let toolchain = Toolchain::detect()?;
        let metadata = Metadata::read(&crate_dir)?;
        let lock_path = metadata.workspace_root.join("Cargo.lock");
        let lock_text = fs::read_to_string(&lock_path).ok();
        let wasm_builder =
            inspect::check_sdk(&metadata.package, lock_text.as_deref().unwrap_or(""))?;
        let mut features = options.features.clone();
        if metadata.has_runtime_wasm {
            features.push("runtime-wasm".to_owned());
        }
        features.sort();
        features.dedup();
        let sp_io = match &lock_text {
            Some(lock) => project::locked_packages(lock, "sp-io")?,
            None => Vec::new(),
        };

        let recipe = format!("{RECIPE}; wasm target {}", toolchain.wasm_target());
        let key = cache::key(
            cache::KeyParams {
                recipe: &recipe,
                toolchain: &toolchain.version,
                features: &features,
            },
            &metadata.workspace_root,
            &metadata.members,
        )?;
        let key = hex::encode(key);
        let cache_dir = options
            .cache_dir
            .clone()
            .or_else(cache::default_dir)
            .ok_or_else(|| PvfBuildError::Setup("no cache directory: HOME is not set".into()))?;
        let entry = cache_dir.join(&key);
        Ok(Self {
            crate_dir,
            toolchain,
            metadata,
            lock: lock_text.map(|_| lock_path),
            sp_io,
            wasm_builder,
            features,
            key,
            cache_dir,
            entry,
        })
    }

    /// Builds both runtimes and puts them in the cache entry.
    fn build(&self, options: &Options) -> Result<(), PvfBuildError> {
        let build_dir = options.build_dir.clone().unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map_or_else(
                || self.cache_dir.join("build"),
                |dir| PathBuf::from(dir).join("parajam-runtimes"),
            )
        });
        let builder = Builder {
            dir: build_dir,
            show_output: options.show_cargo_output,
        };
        let patch = project::workspace_patch(&self.metadata.workspace_root)?;
        let runtime = Runtime {
            package: &self.metadata.package,
            dir: &self.crate_dir,
            features: &self.features,
            lock: self.lock.as_deref(),
            patch: patch.as_ref(),
            sp_io: &self.sp_io,
        };

        let mut timings = Timings::default();
        let wasm = if options.wasm {
            let start = Instant::now();
            let wasm = builder.build_wasm(&self.toolchain, &runtime)?;
            timings.wasm_build_secs = Some(secs(start.elapsed()));
            Some(wasm)
        } else {
            None
        };
        let start = Instant::now();
        let elf = builder.build_pvm(&self.toolchain, &runtime)?;
        timings.pvm_build_secs = secs(start.elapsed());
        inspect::check_pvm_elf(&elf)?;

        self.link_and_publish(&elf, wasm.as_deref(), timings, options.stack_size)
    }

    /// Links the ELF of `built` (this plan's cache entry, as [`load`] read
    /// it) again with `options`' link settings, keeping its wasm, and
    /// replaces the entry.
    fn relink(&self, built: &Built, options: &Options) -> Result<(), PvfBuildError> {
        let elf = read(&built.elf)?;
        let wasm = match &built.wasm {
            Some(wasm) => Some(read(&wasm.path)?),
            None => None,
        };
        let timings = built.timings;
        self.link_and_publish(&elf, wasm.as_deref(), timings, options.stack_size)
    }

    /// Links `elf` (timed into `timings`) and publishes the entry.
    fn link_and_publish(
        &self,
        elf: &[u8],
        wasm: Option<&[u8]>,
        mut timings: Timings,
        stack_size: u32,
    ) -> Result<(), PvfBuildError> {
        let start = Instant::now();
        let (linked, traps) = link_pvf(elf, stack_size)?;
        timings.link_secs = secs(start.elapsed());
        self.publish(elf, &linked, wasm, timings, Linking { stack_size, traps })
    }

    /// Stages the entry, then moves it into place whole.
    fn publish(
        &self,
        elf: &[u8],
        linked: &parajam_guest_build::Linked,
        wasm: Option<&[u8]>,
        timings: Timings,
        linking: Linking,
    ) -> Result<(), PvfBuildError> {
        let staging = self
            .cache_dir
            .join(format!("{}.tmp-{}", self.key, std::process::id()));
        let _ = fs::remove_dir_all(&staging);
        let staged = self.stage(&staging, elf, linked, wasm, timings, linking);
        if staged.is_err() {
            let _ = fs::remove_dir_all(&staging);
        }
        staged?;
        if self.entry.exists() {
            fs::remove_dir_all(&self.entry).map_err(|source| PvfBuildError::Io {
                path: self.entry.clone(),
                source,
            })?;
        }
        cache::publish(&staging, &self.entry)?;
        cache::prune(&self.cache_dir, cache::KEEP);
        Ok(())
    }
    /// Writes the entry's files to `staging`.
    fn stage(
        &self,
        staging: &Path,
        elf: &[u8],
        linked: &parajam_guest_build::Linked,
        wasm: Option<&[u8]>,
        timings: Timings,
        linking: Linking,
    ) -> Result<(), PvfBuildError> {
        let entry_pc = *linked
            .entries
            .first()
            .ok_or(PvfBuildError::NoValidateBlock)?;
        let artifact = PvfArtifact {
            abi: PvfAbi::SubstrateV1,
            entry_pc,
            imports: linked.imports.clone(),
            program: linked.program.clone(),
        };
        create_dir(staging)?;
        let package = &self.metadata.package;
        write(
            &staging.join(format!("{package}.pvf")),
            &artifact.to_bytes(),
        )?;
        write(&staging.join(format!("{package}.polkavm")), &linked.blob)?;
        write(&staging.join(format!("{package}.elf")), elf)?;
        if let Some(wasm) = wasm {
            write(&staging.join(format!("{package}.wasm")), wasm)?;
        }
        let manifest = Manifest {
            package: package.clone(),
            key: self.key.clone(),
            toolchain: self.toolchain.version.clone(),
            wasm_builder: self.wasm_builder.clone(),
            exports: linked
                .exports
                .iter()
                .map(|(name, _)| String::from_utf8_lossy(name).into_owned())
                .collect(),
            wasm: wasm.is_some(),
            timings,
            link: link_recipe(linking.stack_size),
            null_access_traps: linking.traps,
        };
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| PvfBuildError::Setup(format!("cannot encode the manifest: {e}")))?;
        write(&staging.join("manifest.json"), &json)
    }
}

/// Copies the results to `out_dir`, if asked.
fn finish(mut built: Built, options: &Options) -> Result<Built, PvfBuildError> {
    let Some(out) = &options.out_dir else {
        return Ok(built);
    };
    create_dir(out)?;
    let copy = |from: &Path| -> Result<PathBuf, PvfBuildError> {
        let to = out.join(from.file_name().unwrap_or_default());
        fs::copy(from, &to).map_err(|source| PvfBuildError::Io {
            path: to.clone(),
            source,
        })?;
        Ok(to)
    };
    built.pvf = copy(&built.pvf)?;
    built.polkavm = copy(&built.polkavm)?;
    if let Some(wasm) = &mut built.wasm {
        wasm.path = copy(&wasm.path)?;
    }
    Ok(built)
}

/// Reads a cache entry, checking that its artifact decodes.
pub fn load(entry: &Path) -> Result<Built, PvfBuildError> {
    let corrupt = |message: String| PvfBuildError::Cache {
        path: entry.to_path_buf(),
        message,
    };
    let manifest: Manifest = serde_json::from_slice(&read(&entry.join("manifest.json"))?)
        .map_err(|e| corrupt(format!("manifest.json: {e}")))?;
    let package = &manifest.package;
    let pvf = entry.join(format!("{package}.pvf"));
    let bytes = read(&pvf)?;
    let artifact = PvfArtifact::from_bytes(&bytes).map_err(|e| corrupt(e.to_string()))?;
    let polkavm = entry.join(format!("{package}.polkavm"));
    let call_sites = call_sites(&read(&polkavm)?).map_err(corrupt)?;
    let imports = artifact
        .imports
        .iter()
        .enumerate()
        .map(|(index, symbol)| {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            let name = String::from_utf8_lossy(symbol).into_owned();
            Import {
                index,
                function: inspect::interface_function(&name),
                supported: HostFunction::from_symbol(symbol).is_some(),
                call_sites: call_sites.get(index as usize).copied().unwrap_or(0),
                symbol: name,
            }
        })
        .collect();
    let wasm = if manifest.wasm {
        let path = entry.join(format!("{package}.wasm"));
        let wasm = read(&path)?;
        Some(WasmBlob {
            path,
            size: wasm.len() as u64,
            hash: parajam_crypto::blake2b_256(&wasm),
        })
    } else {
        None
    };
    Ok(Built {
        package: manifest.package.clone(),
        key: manifest.key,
        from_cache: false,
        entry: entry.to_path_buf(),
        pvf,
        pvf_size: bytes.len() as u64,
        code_hash: parajam_crypto::blake2b_256(&bytes),
        program_size: artifact.program.len() as u64,
        artifact,
        polkavm,
        elf: entry.join(format!("{package}.elf")),
        exports: manifest.exports,
        imports,
        wasm,
        wasm_builder: manifest.wasm_builder,
        timings: manifest.timings,
        link: manifest.link,
        null_access_traps: manifest.null_access_traps,
    })
}

/// The number of `ecalli` instructions for each import index of a polkavm blob.
fn call_sites(blob: &[u8]) -> Result<Vec<u32>, String> {
    let parsed = ProgramBlob::parse(blob.to_vec().into())
        .map_err(|e| format!("the polkavm blob does not parse: {e}"))?;
    let mut counts = vec![0u32; parsed.imports().len() as usize];
    for instruction in parsed.instructions() {
        if let Instruction::ecalli(index) = instruction.kind {
            if let Some(count) = counts.get_mut(index as usize) {
                *count += 1;
            }
        }
    }
    Ok(counts)
}

/// What `cargo metadata` says about the runtime crate.
#[derive(Debug)]
struct Metadata {
    package: String,
    has_runtime_wasm: bool,
    workspace_root: PathBuf,
    members: Vec<PathBuf>,
}

impl Metadata {
    fn read(crate_dir: &Path) -> Result<Self, PvfBuildError> {
        let not_a_package = |message: String| PvfBuildError::NotAPackage {
            dir: crate_dir.to_path_buf(),
            message,
        };
        let manifest = crate_dir.join("Cargo.toml");
        if !manifest.is_file() {
            return Err(not_a_package("it has no Cargo.toml".into()));
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let output = nested_cargo(&cargo)
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .arg("--manifest-path")
            .arg(&manifest)
            .output()
            .map_err(|e| not_a_package(format!("cannot run cargo metadata: {e}")))?;
        if !output.status.success() {
            return Err(not_a_package(format!(
                "cargo metadata failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        let json: serde_json::Value = serde_json::from_slice(&output.stdout)
            .map_err(|e| not_a_package(format!("cargo metadata: {e}")))?;
        let workspace_root = json["workspace_root"]
            .as_str()
            .map(PathBuf::from)
            .ok_or_else(|| not_a_package("cargo metadata has no workspace_root".into()))?;
        let packages = json["packages"].as_array().cloned().unwrap_or_default();
        let mut members = Vec::new();
        let mut this = None;
        for package in &packages {
            let Some(path) = package["manifest_path"].as_str().map(PathBuf::from) else {
                continue;
            };
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            if path.canonicalize().ok().as_deref() == Some(manifest.as_path()) {
                this = Some(package);
            }
            members.push(dir);
        }
        let package = this.ok_or_else(|| {
            not_a_package(
                "it is a workspace, not a package: give a runtime crate's directory".into(),
            )
        })?;
        Ok(Self {
            package: package["name"].as_str().unwrap_or_default().to_owned(),
            has_runtime_wasm: package["features"].get("runtime-wasm").is_some(),
            workspace_root,
            members,
        })
    }
}

fn secs(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

fn read(path: &Path) -> Result<Vec<u8>, PvfBuildError> {
    fs::read(path).map_err(|source| PvfBuildError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn write(path: &Path, contents: &[u8]) -> Result<(), PvfBuildError> {
    fs::write(path, contents).map_err(|source| PvfBuildError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn create_dir(path: &Path) -> Result<(), PvfBuildError> {
    fs::create_dir_all(path).map_err(|source| PvfBuildError::Io {
        path: path.to_path_buf(),
        source,
    })
}
