//! Builds the adder's PVF from source for both engines, the way
//! `tests/guests/build.rs` builds the PVM guests:
//!
//! 1. `cargo build --release -Z build-std=core` of the guest workspace
//!    `guest/` (stable toolchain with `RUSTC_BOOTSTRAP=1`; needs `rust-src`):
//!    - `adder-pvf-wasm` for `wasm32-unknown-unknown` with
//!      `-C target-cpu=mvp` (no post-MVP wasm features, as relay-chain
//!      executors expect), giving `adder.wasm`;
//!    - `adder-pvf-pvm` for polkavm-linker's `riscv64emac-unknown-none-polkavm`
//!      target, an ELF.
//! 2. polkavm-linker 0.30.0 (`JamV1`, the last GP 0.7.x instruction set)
//!    links the ELF to `adder.polkavm` with a one-entry dispatch table, so
//!    `validate_block` is at program counter 0; from it `adder.code` (the GP
//!    `deblob` code blob, GP A.2) and `adder.program` (the GP standard
//!    program `p` of `Y(p, a)`, GP A.7).
//!
//! The guest target directory is `<target dir>/parajam-adder-guest`, shared
//! by every profile of the host build.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use polkavm_linker::{Config, ProgramParts, TargetInstructionSet};

/// polkavm-linker's target (the target JSON's file stem).
const PVM_TARGET: &str = "riscv64emac-unknown-none-polkavm";

/// The wasm target, built from source with `-Z build-std=core`.
const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// The PVF's entry export; the dispatch table puts it at PC 0.
const ENTRY: &[u8] = b"validate_block";

/// `Z_P`, the PVM page size.
const PAGE_SIZE: u32 = 4096;

fn main() {
    if let Err(message) = run() {
        eprintln!("\nerror: parajam-adder-build: {message}\n");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env_var("OUT_DIR")?);
    let guest = manifest_dir.join("guest");
    let adder = manifest_dir.join("../adder");

    for path in [
        guest.join("Cargo.toml"),
        guest.join("Cargo.lock"),
        guest.join("wasm"),
        guest.join("pvm"),
        adder.join("Cargo.toml"),
        adder.join("src"),
    ] {
        println!("cargo:rerun-if-changed={}", path.display());
    }

    let rustc = env::var_os("RUSTC").unwrap_or_else(|| OsString::from("rustc"));
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let minor = rustc_minor_version(&rustc)?;
    check_rust_src(&rustc)?;

    // polkavm-linker ships two target specs: rustc 1.91 changed the JSON format.
    let target_json = out_dir.join(format!("{PVM_TARGET}.json"));
    let spec = if minor >= 91 {
        polkavm_linker::TARGET_JSON_64_BIT_NEW
    } else {
        polkavm_linker::TARGET_JSON_64_BIT_OLD
    };
    write_if_changed(&target_json, spec.as_bytes())?;

    let target_dir = guest_target_dir(&out_dir);
    let manifest = guest.join("Cargo.toml");

    // wasm32: the legacy PVF.
    let mut wasm = guest_build(&cargo, &manifest, &target_dir, "adder-pvf-wasm");
    wasm.arg("--target").arg(WASM_TARGET).env(
        "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
        "-C target-cpu=mvp",
    );
    run_build(wasm, "the wasm PVF")?;
    let wasm_path = target_dir
        .join(WASM_TARGET)
        .join("release")
        .join("adder_pvf_wasm.wasm");
    let wasm_blob = fs::read(&wasm_path)
        .map_err(|e| format!("cannot read the wasm PVF {}: {e}", wasm_path.display()))?;
    write_if_changed(&out_dir.join("adder.wasm"), &wasm_blob)?;

    // PVM: riscv64emac, linked for JamV1.
    let mut pvm = guest_build(&cargo, &manifest, &target_dir, "adder-pvf-pvm");
    pvm.arg("--target").arg(&target_json);
    if cargo_knows_json_target_spec(&cargo) {
        pvm.args(["-Z", "json-target-spec"]);
    }
    run_build(pvm, "the PVM PVF")?;
    let elf_path = target_dir
        .join(PVM_TARGET)
        .join("release")
        .join("adder-pvf-pvm");
    let elf = fs::read(&elf_path)
        .map_err(|e| format!("cannot read the PVF ELF {}: {e}", elf_path.display()))?;
    let mut config = Config::default();
    config.set_strip(true);
    config.set_dispatch_table(vec![ENTRY.to_vec()]);
    let blob = polkavm_linker::program_from_elf(config, TargetInstructionSet::JamV1, &elf)
        .map_err(|e| format!("polkavm-linker failed on the adder PVF: {e}"))?;
    let parts = ProgramParts::from_bytes(blob.clone().into())
        .map_err(|e| format!("the linked adder PVF does not parse back: {e}"))?;
    let program = standard_program(&parts)
        .map_err(|e| format!("the adder PVF has no GP standard program form: {e}"))?;
    write_if_changed(&out_dir.join("adder.polkavm"), &blob)?;
    write_if_changed(&out_dir.join("adder.code"), &parts.code_and_jump_table)?;
    write_if_changed(&out_dir.join("adder.program"), &program)?;
    Ok(())
}

fn env_var(name: &str) -> Result<String, String> {
    env::var(name).map_err(|e| format!("environment variable {name}: {e}"))
}

/// The `y` of rustc `1.y.z`, from `rustc -vV`.
fn rustc_minor_version(rustc: &OsString) -> Result<u32, String> {
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
fn check_rust_src(rustc: &OsString) -> Result<(), String> {
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
        Ok(())
    } else {
        Err(format!(
            "the rust-src component is missing (no {}): the adder PVF is built with \
             `-Z build-std=core`; run `rustup component add rust-src`",
            core.display()
        ))
    }
}

/// `<target dir>/parajam-adder-guest`, found from `OUT_DIR`
/// (`<target dir>/[<triple>/]<profile>/build/parajam-adder-build-<hash>/out`);
/// `OUT_DIR/guest-target` if that layout is not recognised.
fn guest_target_dir(out_dir: &Path) -> PathBuf {
    let build_dir = out_dir.parent().and_then(Path::parent);
    build_dir
        .filter(|dir| dir.file_name() == Some("build".as_ref()))
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map_or_else(
            || out_dir.join("guest-target"),
            |target| target.join("parajam-adder-guest"),
        )
}

/// `cargo build --release --locked -Z build-std=core -p <package>` of the
/// guest workspace, with the outer build's configuration removed.
fn guest_build(cargo: &OsString, manifest: &Path, target_dir: &Path, package: &str) -> Command {
    let mut command = Command::new(cargo);
    command
        .arg("build")
        .arg("--release")
        .arg("--locked")
        .arg("--manifest-path")
        .arg(manifest)
        .args(["-p", package])
        .arg("--target-dir")
        .arg(target_dir)
        .args(["-Z", "build-std=core"]);
    // The guest build is a separate cargo invocation: drop what the outer
    // build configured for the host (flags, target dir, wrappers such as
    // clippy-driver), but keep the registry, network and jobserver settings.
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
    // Build-script stdout is for `cargo:` directives only; cargo reports to stderr.
    command.stdout(Stdio::null()).stderr(Stdio::inherit());
    command
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
             crates of guest/Cargo.lock (crates.io, or the local registry cache)."
        ))
    }
}

/// Newer cargo needs `-Z json-target-spec` for a target given as a JSON file.
fn cargo_knows_json_target_spec(cargo: &OsString) -> bool {
    Command::new(cargo)
        .args(["-Z", "help"])
        .env("RUSTC_BOOTSTRAP", "1")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains("json-target-spec"))
}

/// The GP standard program `p = E3(|o|) ⌢ E3(|w|) ⌢ E2(z) ⌢ E3(s) ⌢ o ⌢ w ⌢ E4(|c|) ⌢ c`
/// (GP A.7) of a linked polkavm blob, as `tests/guests/build.rs` makes it:
/// polkavm's memory map is the one `Y` sets up, so the sections carry over.
fn standard_program(parts: &ProgramParts) -> Result<Vec<u8>, String> {
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
        return Err(format!("{value} does not fit in {n} octets"));
    }
    out.extend_from_slice(&bytes[..n]);
    Ok(())
}

fn write_if_changed(path: &Path, contents: &[u8]) -> Result<(), String> {
    if fs::read(path).is_ok_and(|existing| existing == contents) {
        return Ok(());
    }
    fs::write(path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
