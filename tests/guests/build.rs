//! Builds the PVM guest programs of `programs/` from source and links them
//! for the GP 0.7.x instruction set.
//!
//! 1. `cargo build --release -Z build-std=core` of the guest workspace
//!    `programs/` for polkavm-linker's `riscv64emac-unknown-none-polkavm`
//!    target (stable toolchain with `RUSTC_BOOTSTRAP=1`; needs `rust-src`).
//! 2. polkavm-linker 0.30.0 (`JamV1`, the last GP 0.7.x instruction set)
//!    turns each ELF into a `.polkavm` blob, with a one-entry dispatch table
//!    so the guest's `main` export is at program counter 0.
//! 3. From that blob: `<name>.code`, the GP `deblob` code blob (GP A.2), and
//!    `<name>.program`, the GP standard program `p` of `Y(p, a)` (GP A.7).
//!
//! The guest build's target directory is shared by all profiles of the host
//! build (`<target dir>/parajam-guests`), so `cargo build`, `cargo test`,
//! `cargo clippy` and `cargo build --release` compile the guests once.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use polkavm_linker::{Config, ProgramParts, TargetInstructionSet};

/// The guest programs, each a member crate `programs/<name>` with a binary `<name>`.
const GUESTS: &[&str] = &["sieve", "blake2", "hostcall"];

/// The name of the target (it is the target JSON's file stem).
const TARGET_NAME: &str = "riscv64emac-unknown-none-polkavm";

/// The export every guest enters by; the dispatch table puts it at PC 0.
const ENTRY: &[u8] = b"main";

/// `Z_P`, the PVM page size.
const PAGE_SIZE: u32 = 4096;

fn main() {
    if let Err(message) = run() {
        eprintln!("\nerror: parajam-guests: {message}\n");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env_var("OUT_DIR")?);
    let programs = manifest_dir.join("programs");

    for file in ["Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", programs.join(file).display());
    }
    for guest in GUESTS {
        println!("cargo:rerun-if-changed={}", programs.join(guest).display());
    }

    let rustc = env::var_os("RUSTC").unwrap_or_else(|| OsString::from("rustc"));
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let minor = rustc_minor_version(&rustc)?;
    check_rust_src(&rustc)?;

    // polkavm-linker ships two target specs: rustc 1.91 changed the JSON format.
    let target_json = out_dir.join(format!("{TARGET_NAME}.json"));
    let spec = if minor >= 91 {
        polkavm_linker::TARGET_JSON_64_BIT_NEW
    } else {
        polkavm_linker::TARGET_JSON_64_BIT_OLD
    };
    write_if_changed(&target_json, spec.as_bytes())?;

    let target_dir = guest_target_dir(&out_dir);
    build_guests(&cargo, &programs, &target_json, &target_dir)?;

    let elf_dir = target_dir.join(TARGET_NAME).join("release");
    for guest in GUESTS {
        let elf_path = elf_dir.join(guest);
        let elf = fs::read(&elf_path)
            .map_err(|e| format!("cannot read the guest ELF {}: {e}", elf_path.display()))?;
        let mut config = Config::default();
        config.set_strip(true);
        config.set_dispatch_table(vec![ENTRY.to_vec()]);
        let blob = polkavm_linker::program_from_elf(config, TargetInstructionSet::JamV1, &elf)
            .map_err(|e| format!("polkavm-linker failed on guest `{guest}`: {e}"))?;
        let parts = ProgramParts::from_bytes(blob.clone().into())
            .map_err(|e| format!("the linked guest `{guest}` does not parse back: {e}"))?;
        let program = standard_program(&parts)
            .map_err(|e| format!("guest `{guest}` has no GP standard program form: {e}"))?;
        write_if_changed(&out_dir.join(format!("{guest}.polkavm")), &blob)?;
        write_if_changed(
            &out_dir.join(format!("{guest}.code")),
            &parts.code_and_jump_table,
        )?;
        write_if_changed(&out_dir.join(format!("{guest}.program")), &program)?;
    }
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
            "the rust-src component is missing (no {}): the PVM guests are built with \
             `-Z build-std=core`; run `rustup component add rust-src`",
            core.display()
        ))
    }
}

/// `<target dir>/parajam-guests`, found from `OUT_DIR`
/// (`<target dir>/[<triple>/]<profile>/build/parajam-guests-<hash>/out`);
/// `OUT_DIR/guests-target` if that layout is not recognised.
fn guest_target_dir(out_dir: &Path) -> PathBuf {
    let build_dir = out_dir.parent().and_then(Path::parent);
    build_dir
        .filter(|dir| dir.file_name() == Some("build".as_ref()))
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map_or_else(
            || out_dir.join("guests-target"),
            |target| target.join("parajam-guests"),
        )
}

fn build_guests(
    cargo: &OsString,
    programs: &Path,
    target_json: &Path,
    target_dir: &Path,
) -> Result<(), String> {
    let mut command = Command::new(cargo);
    command
        .arg("build")
        .arg("--release")
        .arg("--locked")
        .arg("--manifest-path")
        .arg(programs.join("Cargo.toml"))
        .arg("--target")
        .arg(target_json)
        .arg("--target-dir")
        .arg(target_dir)
        .args(["-Z", "build-std=core"]);
    if cargo_knows_json_target_spec(cargo) {
        command.args(["-Z", "json-target-spec"]);
    }
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

    let status = command
        .status()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "building the PVM guest programs failed ({status}); the command was\n  {command:?}\n\
             It needs the `rust-src` component (`rustup component add rust-src`) and the \
             crates of programs/Cargo.lock (crates.io, or the local registry cache)."
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
/// (GP A.7, eq. `eq:conditions`) of a linked polkavm blob: the memory layout
/// of `Y` is polkavm's (read-only data at `Z_Z`, read-write data one zone
/// after it, the stack below the arguments), so the sections carry over:
/// `o` is the read-only data padded to its declared size, `w` the
/// read-write data, `z` the pages of zeroes polkavm maps after `w`, `s` the
/// stack size and `c` the `deblob` code blob.
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
