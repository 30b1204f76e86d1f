//! Builds the PVM guest programs of `programs/` from source and links them
//! for the GP 0.7.x instruction set (with `parajam-guest-build`):
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

use std::path::PathBuf;

use parajam_guest_build::{link_jamv1, rerun_if_changed, write_if_changed, GuestBuild};

/// The guest programs, each a member crate `programs/<name>` (package
/// `guest-<name>`) with a binary `<name>`.
const GUESTS: &[&str] = &["sieve", "blake2", "hostcall"];
const PACKAGES: &[&str] = &["guest-sieve", "guest-blake2", "guest-hostcall"];

/// The export every guest enters by; the dispatch table puts it at PC 0.
const ENTRY: &[u8] = b"main";

fn main() {
    parajam_guest_build::main("parajam-guests", run);
}

fn run() -> Result<(), String> {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    rerun_if_changed(GUESTS.iter().map(|g| manifest_dir.join("programs").join(g)));
    let build = GuestBuild::new("programs", "parajam-guests")?;
    let elves = build.build_pvm(PACKAGES, GUESTS, "core")?;
    for (guest, elf) in GUESTS.iter().zip(&elves) {
        let linked = link_jamv1(elf, &[ENTRY]).map_err(|e| format!("guest `{guest}`: {e}"))?;
        let out = build.out_dir();
        write_if_changed(&out.join(format!("{guest}.polkavm")), &linked.blob)?;
        write_if_changed(&out.join(format!("{guest}.code")), &linked.code)?;
        write_if_changed(&out.join(format!("{guest}.program")), &linked.program)?;
    }
    Ok(())
}
