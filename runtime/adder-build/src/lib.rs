//! The adder parachain's validation function (PVF), built from source by this
//! crate's `build.rs` for both engines:
//!
//! | artifact | what | built from |
//! |---|---|---|
//! | [`WASM`] | a wasm32 module (MVP features) exporting `validate_block` and `memory` | `guest/wasm` |
//! | [`PVM`] | a polkavm blob (JamV1, 64-bit) exporting `validate_block` | `guest/pvm` |
//! | [`PVM_CODE`] | its GP code blob (`deblob`, GP A.2) | the same |
//! | [`PVM_PROGRAM`] | its GP standard program `p` of `Y(p, a)` (GP A.7) | the same |
//! | [`PVF_ARTIFACT`] | the program with its entry point and import names, for the CoreChains service | the same |
//!
//! Both entry points are a few lines of ABI glue around the function
//! `parajam_adder::validate_block` (crate `parajam-adder`), with the relay chain's PVF ABI: `validate_block(params: *const
//! u8, len: usize) -> u64`, input the encoded `ValidationParams`, output the
//! encoded `ValidationResult`'s address and length packed as `ptr | len <<
//! 32`. Neither imports anything: the result is written to a static buffer.
//!
//! On the PVM the entry is at program counter [`PVM_ENTRY_PC`] (a one-entry
//! dispatch table); run as a standard program with the params as the
//! arguments, `ω7` and `ω8` are the function's `params` and `len`, and on
//! the halt `ω7` holds the packed return value.
//!
//! Building needs the `rust-src` component (`rustup component add
//! rust-src`) and the crates of `guest/Cargo.lock`. After a dependency change
//! run `cargo update --manifest-path runtime/adder-build/guest/Cargo.toml`
//! (the guest build is `--locked`).

/// The PVF's entry export.
pub const ENTRY: &str = "validate_block";

/// The program counter of the PVM entry (via the dispatch table).
pub const PVM_ENTRY_PC: u32 = 0;

macro_rules! out_file {
    ($name:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $name))
    };
}

/// The wasm32 PVF (the legacy relay-chain path).
pub const WASM: &[u8] = out_file!("adder.wasm");

/// The PVM PVF as a polkavm blob (`PVM\0` magic, JamV1 instruction set).
pub const PVM: &[u8] = out_file!("adder.polkavm");

/// The PVM PVF's GP code blob: the polkavm blob's code and jump table.
pub const PVM_CODE: &[u8] = out_file!("adder.code");

/// The PVM PVF as a GP standard program `E3(|o|) ⌢ E3(|w|) ⌢ E2(z) ⌢ E3(s)
/// ⌢ o ⌢ w ⌢ E4(|c|) ⌢ c`, what `parajam_pvm::Program::from_standard_blob`
/// reads and what a CoreChains para's validation code hash names.
pub const PVM_PROGRAM: &[u8] = out_file!("adder.program");

/// The PVM PVF as the CoreChains service loads it: a PVF artifact
/// (`parajam_corechains_types::pvf`) holding [`PVM_PROGRAM`] with its entry
/// point and import names. Its Blake2b-256 is the adder's validation code
/// hash on JAM.
pub const PVF_ARTIFACT: &[u8] = out_file!("adder.pvf");

/// A PVF artifact for testing PVF executors: its block data's first octet
/// picks a way to fail (loop, garbage, oversized head, unsupported or
/// failing host function, page fault, trap) or, with 4, returns the
/// Blake2b-256 of its block data as the head, computed through the
/// Substrate host functions; with 8 it returns a given head and asks for a
/// given new code, with 9 returns a given head only; with 16 it runs a
/// script of host-function calls (`guest/misbehaving/src/pvf.rs` has the
/// table).
pub const MISBEHAVING_PVF: &[u8] = out_file!("misbehaving.pvf");

/// The same misbehaving PVF built for wasm32 (MVP), importing the same host
/// functions from `env`: for checking that both engines agree on them.
pub const MISBEHAVING_WASM: &[u8] = out_file!("misbehaving.wasm");

/// Where the build wrote the artifacts (`OUT_DIR`): `adder.wasm`,
/// `adder.polkavm`, `adder.code`, `adder.program` and `adder.pvf`.
pub const OUT_DIR: &str = env!("OUT_DIR");

/// The path of an artifact by its file name (`adder.wasm`, ...).
pub fn artifact_path(file_name: &str) -> std::path::PathBuf {
    std::path::Path::new(OUT_DIR).join(file_name)
}
