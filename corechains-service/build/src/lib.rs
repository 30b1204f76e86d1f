//! The CoreChains service program and its authorizer, built from source by
//! this crate's `build.rs` (the guest workspace `corechains-service/program`,
//! over the logic of `parajam-corechains-service`) for GP 0.7.2:
//!
//! | artifact | what |
//! |---|---|
//! | [`SERVICE_PROGRAM`] | the service's standard program: refine at pc 0, accumulate at pc 5 |
//! | [`SERVICE_CODE`] | its code preimage `E(↕m, c)`, what a service account's code hash names |
//! | [`SERVICE_CODE_HASH`] | Blake2b-256 of [`SERVICE_CODE`] |
//! | [`AUTHORIZER_PROGRAM`] | the authorizer's standard program: is-authorized at pc 0 |
//! | [`AUTHORIZER_CODE`] | its code preimage, named by a work package's `u` |
//! | [`AUTHORIZER_CODE_HASH`] | Blake2b-256 of [`AUTHORIZER_CODE`] |
//!
//! [`genesis::service_account`] is the service's account at genesis, with
//! paras registered. The build prints both code hashes. Building needs the `rust-src`
//! component and the crates of `corechains-service/program/Cargo.lock`.

pub mod genesis;
#[cfg(feature = "testing")]
pub mod testing;

macro_rules! out_file {
    ($name:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $name))
    };
}

/// The service's GP standard program.
pub const SERVICE_PROGRAM: &[u8] = out_file!("service.program");

/// The service's code preimage: metadata, then [`SERVICE_PROGRAM`].
pub const SERVICE_CODE: &[u8] = out_file!("service.code");

/// The authorizer's GP standard program.
pub const AUTHORIZER_PROGRAM: &[u8] = out_file!("authorizer.program");

/// The authorizer's code preimage: metadata, then [`AUTHORIZER_PROGRAM`].
pub const AUTHORIZER_CODE: &[u8] = out_file!("authorizer.code");

include!(concat!(env!("OUT_DIR"), "/hashes.rs"));

/// Vouches for [`SERVICE_PROGRAM`] and [`AUTHORIZER_PROGRAM`] to the PVM
/// ([`parajam_pvm::trust_code`]), so that its recompiler runs them in its
/// in-process sandbox: they are built from this checkout's safe Rust,
/// whose pointers stay below 2^32, the condition polkavm 0.30's generic
/// sandbox needs to keep a program in its mapping. Any other program (a
/// parachain's PVF, another service) that loads or stores through a
/// register with no offset runs on the interpreter instead. Called by the
/// binary and by the harnesses that run these programs; idempotent.
pub fn trust_programs() {
    for program in [SERVICE_PROGRAM, AUTHORIZER_PROGRAM] {
        parajam_pvm::trust_code(parajam_crypto::blake2b_256(program));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checkout this crate is built from: `corechains-service/build`'s
    /// grandparent.
    const WORKSPACE_ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

    fn workspace_root() -> String {
        std::fs::canonicalize(WORKSPACE_ROOT)
            .expect("the checkout exists")
            .display()
            .to_string()
    }

    /// The programs hold no path of the machine they were built on (this
    /// failed before the guest build trimmed paths: the service held its
    /// checkout's path, the registry's and the sysroot's in panic
    /// locations).
    #[test]
    fn the_programs_hold_no_build_machine_path() {
        let root = workspace_root();
        for (name, program) in [("service", SERVICE_CODE), ("authorizer", AUTHORIZER_CODE)] {
            let found = parajam_guest_build::build_paths_in(program, &root);
            assert!(found.is_empty(), "the {name} holds {found:?}");
        }
    }
}
