//! Building PVM guest programs from source, for build scripts.
//!
//! A guest is a `no_std` crate in a cargo workspace of its own (not a member
//! of the parajam workspace), built by a nested `cargo build --release
//! -Z build-std=...` on the stable toolchain (`RUSTC_BOOTSTRAP=1`; the
//! `rust-src` component must be installed) for polkavm-linker's
//! `riscv64emac-unknown-none-polkavm` target, then linked by polkavm-linker
//! 0.30.0 for `JamV1`, the GP 0.7.x instruction set ([`link_jamv1`]), and
//! turned into the GP standard program `p` of `Y(p, a)` (GP A.7,
//! [`standard_program`]). A guest workspace can also hold a wasm32 build of
//! the same source ([`GuestBuild::build_wasm`]).
//!
//! ```ignore
//! // build.rs
//! let build = GuestBuild::new("guest", "parajam-adder-guest")?;
//! let elf = build.build_pvm("adder-pvf-pvm", "adder-pvf-pvm")?;
//! let linked = link_jamv1(&elf, &[b"validate_block"])?;
//! ```
//!
//! Used by `testing/guests`, `runtime/adder-build` and
//! `corechains-service/build`; errors are messages for the build's output.
//! `parachain/pvf-build` (whole parachain runtimes) shares its pieces: the
//! nested cargo command ([`nested_cargo`]), the target spec
//! ([`pvm_target_spec`]) and the linking ([`link_jamv1`]).

use std::env;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use polkavm_linker::{Config, ProgramBlob, ProgramParts, TargetInstructionSet};

/// polkavm-linker's 64-bit target (the target JSON's file stem).
pub const PVM_TARGET: &str = "riscv64emac-unknown-none-polkavm";

/// The wasm target.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// `Z_P`, the PVM page size.
const PAGE_SIZE: u32 = 4096;

/// A guest workspace and where its builds go.
#[derive(Debug, Clone)]
pub struct GuestBuild {
    cargo: OsString,
    manifest: PathBuf,
    target_dir: PathBuf,
    target_json: PathBuf,
    out_dir: PathBuf,
}

impl GuestBuild {
    /// The guest workspace `<crate dir>/<workspace>` of the build script
    /// running now; its builds go to `<target dir>/<target_dir_name>`,
    /// shared by every profile of the host build. Prints the
    /// `rerun-if-changed` lines for the workspace's manifest and lock file,
    /// checks for `rust-src` and writes the PVM target JSON.
    pub fn new(workspace: &str, target_dir_name: &str) -> Result<Self, String> {
        let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR")?);
        let out_dir = PathBuf::from(env_var("OUT_DIR")?);
        let workspace = manifest_dir.join(workspace);
        rerun_if_changed([workspace.join("Cargo.toml"), workspace.join("Cargo.lock")]);
        let rustc = env::var_os("RUSTC").unwrap_or_else(|| OsString::from("rustc"));
        let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        check_rust_src(&rustc)?;
        let target_json = out_dir.join(format!("{PVM_TARGET}.json"));
        write_if_changed(&target_json, pvm_target_spec(&rustc)?.as_bytes())?;
        Ok(Self {
            cargo,
            manifest: workspace.join("Cargo.toml"),
            target_dir: guest_target_dir(&out_dir, target_dir_name),
            target_json,
            out_dir,
        })
    }

    /// The build script's `OUT_DIR`.
    pub fn out_dir(&self) -> &Path {
        &self.out_dir
    }

    /// Builds the guest workspace's `packages` for the PVM target with
    /// `-Z build-std=<std>` (`core`, or `core,alloc`, which also builds the
    /// `mem*` intrinsics into `compiler_builtins`); the ELF of binary `bin`
    /// of each, in order.
    pub fn build_pvm(
        &self,
        packages: &[&str],
        bins: &[&str],
        std: &str,
    ) -> Result<Vec<Vec<u8>>, String> {
        let mut command = self.cargo_build(packages, std);
        if std.contains("alloc") {
            command.args(["-Z", "build-std-features=compiler-builtins-mem"]);
        }
        command.arg("--target").arg(&self.target_json);
        if cargo_knows_json_target_spec(&self.cargo) {
            command.args(["-Z", "json-target-spec"]);
        }
        run_build(command, &format!("the PVM guests {packages:?}"))?;
        let dir = self.target_dir.join(PVM_TARGET).join("release");
        bins.iter()
            .map(|bin| {
                let path = dir.join(bin);
                fs::read(&path)
                    .map_err(|e| format!("cannot read the guest ELF {}: {e}", path.display()))
            })
            .collect()
    }

    /// Builds `package` for `wasm32-unknown-unknown` with MVP features only
    /// (`-C target-cpu=mvp`, as relay-chain executors expect); the module
    /// `<artifact>.wasm`.
    pub fn build_wasm(&self, package: &str, artifact: &str) -> Result<Vec<u8>, String> {
        let mut command = self.cargo_build(&[package], "core");
        command.arg("--target").arg(WASM_TARGET).env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
            "-C target-cpu=mvp",
        );
        run_build(command, &format!("the wasm guest {package}"))?;
        let path = self
            .target_dir
            .join(WASM_TARGET)
            .join("release")
            .join(format!("{artifact}.wasm"));
        fs::read(&path).map_err(|e| format!("cannot read the wasm guest {}: {e}", path.display()))
    }

    /// `cargo build --release --locked -Z build-std=<std> -Z trim-paths
    /// -p <packages>` of the guest workspace, with the outer build's
    /// configuration removed.
    fn cargo_build(&self, packages: &[&str], std: &str) -> Command {
        let mut command = nested_cargo(&self.cargo);
        command
            .arg("build")
            .arg("--release")
            .arg("--locked")
            .arg("--manifest-path")
            .arg(&self.manifest)
            .arg("--target-dir")
            .arg(&self.target_dir)
            .arg("-Z")
            .arg(format!("build-std={std}"))
            // No build-machine path in the program: every source path
            // (panic locations, `file!()`) is trimmed to
            // `<crate>-<version>/...` and the sysroot's to `/rustc/<commit>`.
            .args(["-Z", "trim-paths"])
            .env("CARGO_PROFILE_RELEASE_TRIM_PATHS", "all");
        for package in packages {
            command.args(["-p", package]);
        }
        // Build-script stdout is for `cargo:` directives only; cargo reports to stderr.
        command.stdout(Stdio::null()).stderr(Stdio::inherit());
        command
    }
}

/// `cargo` for a build nested in another cargo invocation (a build script,
/// a test, a tool run by `cargo run`): the outer build's configuration for
/// the host (flags, target dir, wrappers such as clippy-driver) is removed,
/// the registry, network and jobserver settings are kept, and
/// `RUSTC_BOOTSTRAP=1` lets the stable toolchain take `-Z` flags.
pub fn nested_cargo(cargo: &OsStr) -> Command {
    let mut command = Command::new(cargo);
    for (name, _) in env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        let keep = ["CARGO_HOME", "CARGO_MAKEFLAGS"].contains(&name)
            || [
                "CARGO_NET_",
                "CARGO_HTTP_",
                "CARGO_REGISTRIES_",
                "CARGO_REGISTRY_",
                "CARGO_TERM_",
            ]
            .iter()
            .any(|prefix| name.starts_with(prefix));
        let drop = (name.starts_with("CARGO_") && !keep)
            || [
                "CARGO",
                "RUSTFLAGS",
                "RUSTDOCFLAGS",
                "RUSTC_WORKSPACE_WRAPPER",
                "TARGET",
                "HOST",
                "OUT_DIR",
            ]
            .contains(&name);
        if drop {
            command.env_remove(name);
        }
    }
    command.env("RUSTC_BOOTSTRAP", "1");
    command
}

/// polkavm-linker 0.30's 64-bit target spec (JSON) for `rustc`: it ships
/// two, since rustc 1.91 changed the format.
pub fn pvm_target_spec(rustc: &OsStr) -> Result<&'static str, String> {
    Ok(if rustc_minor_version(rustc)? >= 91 {
        polkavm_linker::TARGET_JSON_64_BIT_NEW
    } else {
        polkavm_linker::TARGET_JSON_64_BIT_OLD
    })
}

/// A guest linked for `JamV1`.
#[derive(Debug, Clone)]
pub struct Linked {
    /// The polkavm blob (`PVM\0` magic).
    pub blob: Vec<u8>,
    /// The GP code blob (`deblob` format, GP A.2): code and jump table.
    pub code: Vec<u8>,
    /// The GP standard program (GP A.7).
    pub program: Vec<u8>,
    /// The import symbol of each `ecalli` index.
    pub imports: Vec<Vec<u8>>,
    /// The exports with their program counters.
    pub exports: Vec<(Vec<u8>, u32)>,
    /// Where each dispatch-table entry is: the program counter of the
    /// `jump` to the `i`th symbol of the dispatch table (the entry points
    /// a GP invocation starts at: 0, 5, ...).
    pub entries: Vec<u32>,
}

impl Linked {
    /// The program counter of export `symbol`.
    pub fn export_pc(&self, symbol: &[u8]) -> Option<u32> {
        self.exports
            .iter()
            .find(|(name, _)| name == symbol)
            .map(|(_, pc)| *pc)
    }
}

/// The build machine's paths a built program still holds: `workspace_root`
/// (the checkout it was built from) and the markers of cargo's registry and
/// rustup's sysroot. A build through [`GuestBuild`] trims them all (no
/// user's paths in published code); a test of each guest crate checks this
/// on its real output. The code hash still differs between checkouts: cargo
/// salts the symbol names of path dependencies outside the guest workspace
/// with their absolute path, and the link order follows the names.
#[must_use]
pub fn build_paths_in(program: &[u8], workspace_root: &str) -> Vec<String> {
    let markers = [
        workspace_root,
        "/.cargo/registry/",
        "/.rustup/toolchains/",
        "/lib/rustlib/src/",
    ];
    markers
        .iter()
        .filter(|marker| {
            !marker.is_empty()
                && program
                    .windows(marker.len())
                    .any(|window| window == marker.as_bytes())
        })
        .map(|marker| (*marker).to_owned())
        .collect()
}

/// Links a guest ELF with polkavm-linker 0.30.0 for `JamV1`, stripped, with
/// a dispatch table of `dispatch` (the first export at program counter 0).
pub fn link_jamv1(elf: &[u8], dispatch: &[&[u8]]) -> Result<Linked, String> {
    link_jamv1_with(elf, dispatch, None)
}

/// [`link_jamv1`] with a stack of at least `min_stack_size` octets (by
/// default the linker's two pages, or what the program asks for with
/// `polkavm_derive::min_stack_size!`).
pub fn link_jamv1_with(
    elf: &[u8],
    dispatch: &[&[u8]],
    min_stack_size: Option<u32>,
) -> Result<Linked, String> {
    let mut config = Config::default();
    config.set_strip(true);
    config.set_dispatch_table(dispatch.iter().map(|s| s.to_vec()).collect());
    if let Some(size) = min_stack_size {
        config.set_min_stack_size(size);
    }
    let blob = polkavm_linker::program_from_elf(config, TargetInstructionSet::JamV1, elf)
        .map_err(|e| format!("polkavm-linker failed: {e}"))?;
    let parts = ProgramParts::from_bytes(blob.clone().into())
        .map_err(|e| format!("the linked blob does not parse back: {e}"))?;
    let program = standard_program(&parts)?;
    let code = parts.code_and_jump_table.to_vec();
    let parsed = ProgramBlob::from_parts(parts)
        .map_err(|e| format!("the linked blob does not parse back: {e}"))?;
    let imports = parsed
        .imports()
        .into_iter()
        .map(|symbol| symbol.map(|s| s.as_bytes().to_vec()).unwrap_or_default())
        .collect();
    let exports: Vec<(Vec<u8>, u32)> = parsed
        .exports()
        .map(|export| {
            (
                export.symbol().as_bytes().to_vec(),
                export.program_counter().0,
            )
        })
        .collect();
    // The dispatch table: the program starts with one `jump` per symbol.
    let mut entries = Vec::new();
    for (instruction, symbol) in parsed.instructions().zip(dispatch) {
        let target = exports
            .iter()
            .find(|(name, _)| name == symbol)
            .map(|(_, pc)| *pc)
            .ok_or_else(|| format!("no export `{}`", String::from_utf8_lossy(symbol)))?;
        if instruction.kind != polkavm_common::program::Instruction::jump(target) {
            return Err(format!(
                "dispatch entry at {} is `{:?}`, not a jump to `{}` at {target}",
                instruction.offset.0,
                instruction.kind,
                String::from_utf8_lossy(symbol)
            ));
        }
        entries.push(instruction.offset.0);
    }
    Ok(Linked {
        blob,
        code,
        program,
        imports,
        exports,
        entries,
    })
}

/// The GP standard program `p = E3(|o|) ⌢ E3(|w|) ⌢ E2(z) ⌢ E3(s) ⌢ o ⌢ w
/// ⌢ E4(|c|) ⌢ c` (GP A.7) of a linked polkavm blob: polkavm's memory map
/// is the one `Y` sets up, so the sections carry over; the read-write
/// section's zero tail beyond its data becomes heap pages `z`.
pub fn standard_program(parts: &ProgramParts) -> Result<Vec<u8>, String> {
    let page = |size: u32| size.div_ceil(PAGE_SIZE) * PAGE_SIZE;
    let mut ro_data = parts.ro_data.to_vec();
    let ro_size = usize::try_from(parts.ro_data_size).map_err(|e| e.to_string())?;
    if ro_data.len() < ro_size {
        ro_data.resize(ro_size, 0);
    }
    let rw_data = &parts.rw_data[..];
    let rw_len = u32::try_from(rw_data.len()).map_err(|e| e.to_string())?;
    let heap_pages = (page(parts.rw_data_size).saturating_sub(page(rw_len))) / PAGE_SIZE;
    let code = &parts.code_and_jump_table[..];

    let mut program = Vec::new();
    push_le(&mut program, ro_data.len(), 3)?;
    push_le(&mut program, rw_data.len(), 3)?;
    push_le(&mut program, heap_pages as usize, 2)?;
    push_le(&mut program, parts.stack_size as usize, 3)?;
    program.extend_from_slice(&ro_data);
    program.extend_from_slice(rw_data);
    push_le(&mut program, code.len(), 4)?;
    program.extend_from_slice(code);
    Ok(program)
}

/// `E_n(value)`: `value` in `n` little-endian octets, refused if it does not fit.
fn push_le(out: &mut Vec<u8>, value: usize, n: usize) -> Result<(), String> {
    let bytes = (value as u64).to_le_bytes();
    if bytes[n..].iter().any(|&b| b != 0) {
        return Err(format!(
            "{value} does not fit in {n} octets of a standard program"
        ));
    }
    out.extend_from_slice(&bytes[..n]);
    Ok(())
}

/// Prints `cargo:rerun-if-changed` for each path.
pub fn rerun_if_changed(paths: impl IntoIterator<Item = impl AsRef<Path>>) {
    for path in paths {
        println!("cargo:rerun-if-changed={}", path.as_ref().display());
    }
}

/// Writes `contents` to `path` unless it already holds them (so dependents
/// are not rebuilt needlessly).
pub fn write_if_changed(path: &Path, contents: &[u8]) -> Result<(), String> {
    if fs::read(path).is_ok_and(|existing| existing == contents) {
        return Ok(());
    }
    fs::write(path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Runs a build script body; on error prints it and exits non-zero.
pub fn main(name: &str, body: impl FnOnce() -> Result<(), String>) {
    if let Err(message) = body() {
        eprintln!("\nerror: {name}: {message}\n");
        std::process::exit(1);
    }
}

fn env_var(name: &str) -> Result<String, String> {
    env::var(name).map_err(|e| format!("environment variable {name}: {e}"))
}

/// The `y` of rustc `1.y.z`, from `rustc -vV`.
pub fn rustc_minor_version(rustc: &OsStr) -> Result<u32, String> {
    let output = Command::new(rustc)
        .arg("-vV")
        .output()
        .map_err(|e| format!("cannot run `{} -vV`: {e}", rustc.to_string_lossy()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|line| line.strip_prefix("release: "))
        .and_then(|release| release.split('.').nth(1))
        .and_then(|minor| minor.parse().ok())
        .ok_or_else(|| format!("cannot read the rustc version from `rustc -vV`: {text:?}"))
}

/// `-Z build-std` compiles `core` from the toolchain's `rust-src` component.
pub fn check_rust_src(rustc: &OsStr) -> Result<(), String> {
    let output = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| {
            format!(
                "cannot run `{} --print sysroot`: {e}",
                rustc.to_string_lossy()
            )
        })?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let core = sysroot.join("lib/rustlib/src/rust/library/core/Cargo.toml");
    if core.is_file() {
        return Ok(());
    }
    // rustup installs the components that `rust-toolchain.toml` lists only
    // with a toolchain it installs, not into one already there: add
    // rust-src here, to the toolchain this build runs on, so that a fresh
    // machine needs no manual step.
    // Several build scripts may get here at once; rustup takes no lock, so
    // a concurrent add may fail while another one succeeds: look again.
    let mut added = String::new();
    for attempt in 0..3u64 {
        added = add_rust_src();
        if core.is_file() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_secs(1 + attempt * 2));
        if core.is_file() {
            return Ok(());
        }
    }
    Err(format!(
        "the rust-src component is missing (no {}): guest programs are built with \
         `-Z build-std`; adding it failed ({added}); run `rustup component add rust-src`",
        core.display()
    ))
}

/// `rustup component add rust-src` for the toolchain of this build
/// (`RUSTUP_TOOLCHAIN`, which rustup's proxies set); what happened, for an
/// error message.
fn add_rust_src() -> String {
    // rustup's proxies run cargo with `CARGO_HOME`; its `bin` holds rustup
    // even where it is not on `PATH`.
    let rustup = env::var_os("CARGO_HOME")
        .map(|home| PathBuf::from(home).join("bin").join("rustup"))
        .filter(|path| path.is_file())
        .map_or_else(|| OsString::from("rustup"), PathBuf::into_os_string);
    let mut command = Command::new(&rustup);
    command.args(["component", "add", "rust-src"]);
    if let Some(toolchain) = env::var_os("RUSTUP_TOOLCHAIN") {
        command.arg("--toolchain").arg(toolchain);
    }
    match command.stdout(Stdio::null()).output() {
        Ok(out) if out.status.success() => "added".to_owned(),
        Ok(out) => format!(
            "{command:?}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => format!("cannot run {command:?}: {e}"),
    }
}

/// `<target dir>/<name>`, found from `OUT_DIR`
/// (`<target dir>/[<triple>/]<profile>/build/<crate>-<hash>/out`);
/// `OUT_DIR/guest-target` if that layout is not recognised.
fn guest_target_dir(out_dir: &Path, name: &str) -> PathBuf {
    let build_dir = out_dir.parent().and_then(Path::parent);
    build_dir
        .filter(|dir| dir.file_name() == Some("build".as_ref()))
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map_or_else(|| out_dir.join("guest-target"), |target| target.join(name))
}

fn run_build(mut command: Command, what: &str) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "building {what} failed ({status}); the command was\n  {command:?}\n\
             It needs the `rust-src` component (`rustup component add rust-src`) and the \
             crates of the guest workspace's Cargo.lock (crates.io, or the local registry cache)."
        ))
    }
}

/// Newer cargo needs `-Z json-target-spec` for a target given as a JSON file.
pub fn cargo_knows_json_target_spec(cargo: &OsStr) -> bool {
    Command::new(cargo)
        .args(["-Z", "help"])
        .env("RUSTC_BOOTSTRAP", "1")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains("json-target-spec"))
}
