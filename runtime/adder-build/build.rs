//! Builds the adder's PVF from source for both engines (with
//! `parajam-guest-build`):
//!
//! 1. the guest workspace `guest/`: `adder-pvf-wasm` for
//!    `wasm32-unknown-unknown` with MVP features only, giving `adder.wasm`;
//!    `adder-pvf-pvm` for polkavm-linker's riscv64emac target, an ELF;
//! 2. polkavm-linker 0.30.0 (`JamV1`, the last GP 0.7.x instruction set)
//!    links the ELF to `adder.polkavm` with a one-entry dispatch table, so
//!    `validate_block` is at program counter 0; from it `adder.code` (the GP
//!    `deblob` code blob, GP A.2), `adder.program` (the GP standard program
//!    `p` of `Y(p, a)`, GP A.7) and `adder.pvf`, the PVF artifact the
//!    CoreChains service loads (the program with its entry point and import
//!    names, `parajam_corechains_types::pvf`).
//! 3. The same for `guest/misbehaving`, a PVF whose block data picks a way
//!    to fail (or to use the Substrate host functions), for testing the
//!    CoreChains service's executor: `misbehaving.pvf`, and its wasm32
//!    build (`guest/misbehaving-wasm`, the same source): `misbehaving.wasm`.
//!
//! The guest target directory is `<target dir>/parajam-adder-guest`, shared
//! by every profile of the host build.

use std::path::PathBuf;

use parajam_corechains_types::pvf::{PvfAbi, PvfArtifact};
use parajam_guest_build::{link_jamv1, rerun_if_changed, write_if_changed, GuestBuild};

/// The PVF's entry export; the dispatch table puts it at PC 0.
const ENTRY: &[u8] = b"validate_block";

fn main() {
    parajam_guest_build::main("parajam-adder-build", run);
}

fn run() -> Result<(), String> {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    rerun_if_changed([
        manifest_dir.join("guest/wasm"),
        manifest_dir.join("guest/pvm"),
        manifest_dir.join("guest/misbehaving"),
        manifest_dir.join("guest/misbehaving-wasm"),
        manifest_dir.join("../adder/Cargo.toml"),
        manifest_dir.join("../adder/src"),
    ]);
    let build = GuestBuild::new("guest", "parajam-adder-guest")?;
    let out = build.out_dir().to_path_buf();

    // wasm32: the legacy PVF, and the misbehaving one.
    let wasm = build.build_wasm("adder-pvf-wasm", "adder_pvf_wasm")?;
    write_if_changed(&out.join("adder.wasm"), &wasm)?;
    let wasm = build.build_wasm("misbehaving-pvf-wasm", "misbehaving_pvf_wasm")?;
    write_if_changed(&out.join("misbehaving.wasm"), &wasm)?;

    // PVM: riscv64emac, linked for JamV1.
    let elves = build.build_pvm(
        &["adder-pvf-pvm", "misbehaving-pvf"],
        &["adder-pvf-pvm", "misbehaving-pvf"],
        "core",
    )?;
    for (elf, name) in elves.iter().zip(["adder", "misbehaving"]) {
        let linked = link_jamv1(elf, &[ENTRY]).map_err(|e| format!("the {name} PVF: {e}"))?;
        let artifact = PvfArtifact {
            abi: PvfAbi::SubstrateV1,
            entry_pc: linked.entries[0],
            imports: linked.imports.clone(),
            program: linked.program.clone(),
        };
        write_if_changed(&out.join(format!("{name}.polkavm")), &linked.blob)?;
        write_if_changed(&out.join(format!("{name}.code")), &linked.code)?;
        write_if_changed(&out.join(format!("{name}.program")), &linked.program)?;
        write_if_changed(&out.join(format!("{name}.pvf")), &artifact.to_bytes())?;
    }
    Ok(())
}
