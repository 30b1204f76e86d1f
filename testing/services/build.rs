//! Builds the test services (the guest workspace `program/`) for the PVM
//! and links each for GP 0.7.2 with a two-entry dispatch table: refine at
//! program counter 0, accumulate at 5 (GP 0.7.2 B.4, B.5), as
//! `corechains-service/build` does for the CoreChains service. Each becomes
//! a GP standard program (`<name>.program`).

use std::path::PathBuf;

use parajam_guest_build::{link_jamv1, rerun_if_changed, write_if_changed, GuestBuild};

/// The services: package, binary.
const SERVICES: &[(&str, &str)] = &[("value-sender-program", "value-sender")];

fn main() {
    parajam_guest_build::main("parajam-test-services", run);
}

fn run() -> Result<(), String> {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    rerun_if_changed(
        SERVICES
            .iter()
            .map(|(_, bin)| manifest_dir.join("program").join(bin)),
    );
    let build = GuestBuild::new("program", "parajam-test-services")?;
    let packages: Vec<&str> = SERVICES.iter().map(|(package, _)| *package).collect();
    let bins: Vec<&str> = SERVICES.iter().map(|(_, bin)| *bin).collect();
    let elves = build.build_pvm(&packages, &bins, "core,alloc")?;
    for (bin, elf) in bins.iter().zip(&elves) {
        let linked = link_jamv1(elf, &[b"refine_ext", b"accumulate_ext"])
            .map_err(|e| format!("service `{bin}`: {e}"))?;
        if linked.entries != [0, 5] {
            return Err(format!(
                "service `{bin}`: refine and accumulate are at {:?}, not at [0, 5]",
                linked.entries
            ));
        }
        write_if_changed(
            &build.out_dir().join(format!("{bin}.program")),
            &linked.program,
        )?;
    }
    Ok(())
}
