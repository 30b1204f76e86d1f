//! Builds the CoreChains service program and its authorizer (the guest
//! workspace `../program`) for the PVM and links them for GP 0.7.2:
//!
//! - the service with a two-entry dispatch table, `refine_ext` at program
//!   counter 0 and `accumulate_ext` at 5 (GP 0.7.2 B.4, B.5);
//! - the authorizer with `is_authorized_ext` at 0 (GP B.1).
//!
//! Each becomes a GP standard program and a code preimage `E(↕m, c)` (GP
//! 9.4, 14.3: metadata, then the program), whose Blake2b-256 is the code
//! hash; the build prints both hashes.

use std::fmt::Write as _;
use std::path::PathBuf;

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use parajam_guest_build::{link_jamv1, rerun_if_changed, write_if_changed, GuestBuild};

fn main() {
    parajam_guest_build::main("parajam-corechains-build", run);
}

fn run() -> Result<(), String> {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let root = manifest_dir.join("..");
    rerun_if_changed([
        root.join("program/service"),
        root.join("program/authorizer"),
        root.join("service/Cargo.toml"),
        root.join("service/src"),
        root.join("types/Cargo.toml"),
        root.join("types/src"),
        root.join("../xcm-adapter/Cargo.toml"),
        root.join("../xcm-adapter/src"),
    ]);
    let build = GuestBuild::new("../program", "parajam-corechains-guest")?;
    let elves = build.build_pvm(
        &[
            "corechains-service-program",
            "corechains-authorizer-program",
        ],
        &["corechains-service", "corechains-authorizer"],
        "core,alloc",
    )?;
    let version = std::env::var("CARGO_PKG_VERSION").map_err(|e| e.to_string())?;
    let mut hashes = String::new();
    for (elf, name, dispatch, pcs) in [
        (
            &elves[0],
            "service",
            &[&b"refine_ext"[..], b"accumulate_ext"][..],
            &[0, 5][..],
        ),
        (
            &elves[1],
            "authorizer",
            &[&b"is_authorized_ext"[..]][..],
            &[0][..],
        ),
    ] {
        let linked = link_jamv1(elf, dispatch).map_err(|e| format!("the {name}: {e}"))?;
        if linked.entries != pcs {
            return Err(format!(
                "the {name}'s entry points {dispatch:?} are at {:?}, not at {pcs:?}",
                linked.entries
            ));
        }
        let metadata = format!("parajam corechains {name} {version}");
        let metadata_len = u8::try_from(metadata.len())
            .ok()
            .filter(|len| *len < 128)
            .ok_or("metadata longer than one length octet")?;
        let mut preimage = vec![metadata_len];
        preimage.extend_from_slice(metadata.as_bytes());
        preimage.extend_from_slice(&linked.program);
        let hash = Blake2b::<U32>::digest(&preimage);
        let hex: String = hash.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        });
        println!(
            "cargo:warning=CoreChains {name}: code hash 0x{hex}, {} octets of code preimage",
            preimage.len()
        );
        let _ = writeln!(
            hashes,
            "/// Blake2b-256 of the {name}'s code preimage: `0x{hex}`.\n\
             pub const {}_CODE_HASH: [u8; 32] = {:?};",
            name.to_uppercase(),
            hash.as_slice()
        );
        write_if_changed(
            &build.out_dir().join(format!("{name}.program")),
            &linked.program,
        )?;
        write_if_changed(&build.out_dir().join(format!("{name}.code")), &preimage)?;
    }
    write_if_changed(&build.out_dir().join("hashes.rs"), hashes.as_bytes())?;
    Ok(())
}
