//! What a runtime build produced, and whether JAM can run it: the word size
//! of a RISC-V ELF or polkavm blob, the polkadot-sdk generation of a
//! runtime's `Cargo.lock`, and the runtime-interface function (mostly
//! `sp-io`'s) behind an import.
//!
//! JAM's PVM is a 64-bit machine (GP 0.7.2 appendix A). polkadot-sdk
//! releases before stable2603 (substrate-wasm-builder 31 and older, e.g.
//! stable2503 with 26) build RISC-V runtimes for polkavm's 32-bit
//! `riscv32emac` target; substrate-wasm-builder 32 (stable2603) moved to
//! `riscv64emac`. A 32-bit runtime cannot run on JAM.

use crate::PvfBuildError;

/// The first substrate-wasm-builder major version whose RISC-V runtimes are
/// 64-bit (polkadot-sdk stable2603).
pub const FIRST_64_BIT_WASM_BUILDER: u64 = 32;

/// `EM_RISCV`.
const EM_RISCV: u16 = 243;

/// What a file is, as far as building a PVF goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobKind {
    /// A RISC-V ELF of `bits` bits.
    RiscvElf {
        /// 32 or 64.
        bits: u8,
    },
    /// An ELF for another machine (`e_machine`).
    OtherElf {
        /// The ELF `e_machine`.
        machine: u16,
    },
    /// A polkavm blob (`PVM\0`) of instruction set `version` (polkavm 0.30's
    /// numbering: 0 ReviveV1 and 1 Latest32 are 32-bit, 2 Latest64 is
    /// polkavm's own 64-bit set, 3 JamV1 is GP 0.7's).
    Polkavm {
        /// The blob's version octet.
        version: u8,
    },
    /// A wasm module.
    Wasm,
    /// Anything else.
    Unknown,
}

impl BlobKind {
    /// Reads the kind from the first octets.
    pub fn of(bytes: &[u8]) -> Self {
        if bytes.starts_with(b"\x7fELF") {
            let class = bytes.get(4).copied();
            let little = bytes.get(5) == Some(&1);
            let machine = bytes
                .get(18..20)
                .map(|m| {
                    if little {
                        u16::from_le_bytes([m[0], m[1]])
                    } else {
                        u16::from_be_bytes([m[0], m[1]])
                    }
                })
                .unwrap_or_default();
            return match (machine, class) {
                (EM_RISCV, Some(1)) => Self::RiscvElf { bits: 32 },
                (EM_RISCV, Some(2)) => Self::RiscvElf { bits: 64 },
                _ => Self::OtherElf { machine },
            };
        }
        if let Some(rest) = bytes.strip_prefix(b"PVM\0") {
            return rest
                .first()
                .map_or(Self::Unknown, |&version| Self::Polkavm { version });
        }
        if bytes.starts_with(b"\0asm") {
            return Self::Wasm;
        }
        Self::Unknown
    }
}

/// Checks that `elf` is a 64-bit RISC-V ELF, the only kind polkavm-linker
/// can link for JAM.
pub fn check_pvm_elf(elf: &[u8]) -> Result<(), PvfBuildError> {
    match BlobKind::of(elf) {
        BlobKind::RiscvElf { bits: 64 } => Ok(()),
        BlobKind::RiscvElf { .. } => Err(PvfBuildError::Riscv32),
        other => Err(PvfBuildError::NotRiscvElf(format!("{other:?}"))),
    }
}

/// The versions of package `name` in a `Cargo.lock`.
pub fn lock_versions<'a>(lock: &'a str, name: &str) -> Vec<&'a str> {
    let mut versions = Vec::new();
    let mut current: Option<&str> = None;
    for line in lock.lines() {
        let line = line.trim();
        if line == "[[package]]" {
            current = None;
        } else if let Some(value) = line.strip_prefix("name = ") {
            current = Some(value.trim_matches('"'));
        } else if let Some(value) = line.strip_prefix("version = ") {
            if current == Some(name) {
                versions.push(value.trim_matches('"'));
            }
        }
    }
    versions
}

/// Refuses a runtime whose `Cargo.lock` is of a polkadot-sdk that builds
/// 32-bit RISC-V runtimes (substrate-wasm-builder older than 32); returns
/// the substrate-wasm-builder version if the lock has one.
pub fn check_sdk(package: &str, lock: &str) -> Result<Option<String>, PvfBuildError> {
    let versions = lock_versions(lock, "substrate-wasm-builder");
    let oldest = versions
        .iter()
        .filter_map(|v| Some((v.split('.').next()?.parse::<u64>().ok()?, *v)))
        .min();
    match oldest {
        Some((major, version)) if major < FIRST_64_BIT_WASM_BUILDER => Err(PvfBuildError::OldSdk {
            package: package.to_owned(),
            wasm_builder: version.to_owned(),
        }),
        _ => Ok(versions.first().map(|v| (*v).to_owned())),
    }
}

/// The runtime interfaces Substrate runtimes import host functions from
/// (`sp-io`'s, and cumulus' proof-size recorder), longest name first (some
/// are prefixes of others once joined with `_`), with their Rust modules.
const INTERFACES: &[(&str, &str)] = &[
    (
        "storage_proof_size",
        "cumulus_primitives_proof_size_hostfunction::storage_proof_size",
    ),
    ("default_child_storage", "sp_io::default_child_storage"),
    ("transaction_index", "sp_io::transaction_index"),
    ("statement_store", "sp_io::statement_store"),
    ("elliptic_curves", "sp_io::elliptic_curves"),
    ("offchain_index", "sp_io::offchain_index"),
    ("panic_handler", "sp_io::panic_handler"),
    ("wasm_tracing", "sp_io::wasm_tracing"),
    ("benchmarking", "sp_io::benchmarking"),
    ("allocator", "sp_io::allocator"),
    ("offchain", "sp_io::offchain"),
    ("sandbox", "sp_io::sandbox"),
    ("storage", "sp_io::storage"),
    ("hashing", "sp_io::hashing"),
    ("logging", "sp_io::logging"),
    ("crypto", "sp_io::crypto"),
    ("trie", "sp_io::trie"),
    ("misc", "sp_io::misc"),
];

/// The runtime-interface function a Substrate host-function import names:
/// `ext_<interface>_<function>_version_<n>` is version `n` of
/// `<interface module>::<function>` (the naming of `#[runtime_interface]`),
/// e.g. `ext_storage_get_version_1` is `sp_io::storage::get`, version 1.
pub fn interface_function(symbol: &str) -> Option<(String, u32)> {
    let rest = symbol.strip_prefix("ext_")?;
    let (path, version) = rest.rsplit_once("_version_")?;
    let version = version.parse().ok()?;
    INTERFACES.iter().find_map(|(interface, module)| {
        let function = path.strip_prefix(interface)?.strip_prefix('_')?;
        (!function.is_empty()).then(|| (format!("{module}::{function}"), version))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elf_header(class: u8, machine: u16) -> Vec<u8> {
        let mut header = vec![0u8; 64];
        header[..4].copy_from_slice(b"\x7fELF");
        header[4] = class;
        header[5] = 1; // little endian
        header[18..20].copy_from_slice(&machine.to_le_bytes());
        header
    }

    #[test]
    fn riscv_elves_by_class() {
        assert_eq!(
            BlobKind::of(&elf_header(2, EM_RISCV)),
            BlobKind::RiscvElf { bits: 64 }
        );
        assert_eq!(
            BlobKind::of(&elf_header(1, EM_RISCV)),
            BlobKind::RiscvElf { bits: 32 }
        );
        assert_eq!(
            BlobKind::of(&elf_header(2, 62)),
            BlobKind::OtherElf { machine: 62 }
        );
        assert!(check_pvm_elf(&elf_header(2, EM_RISCV)).is_ok());
        assert!(matches!(
            check_pvm_elf(&elf_header(1, EM_RISCV)),
            Err(PvfBuildError::Riscv32)
        ));
        assert!(matches!(
            check_pvm_elf(&elf_header(2, 62)),
            Err(PvfBuildError::NotRiscvElf(_))
        ));
        assert!(matches!(
            check_pvm_elf(b"\0asm\x01\0\0\0"),
            Err(PvfBuildError::NotRiscvElf(_))
        ));
    }

    #[test]
    fn other_kinds() {
        assert_eq!(
            BlobKind::of(b"PVM\0\x01rest"),
            BlobKind::Polkavm { version: 1 }
        );
        assert_eq!(BlobKind::of(b"\0asm\x01\0\0\0"), BlobKind::Wasm);
        assert_eq!(BlobKind::of(b""), BlobKind::Unknown);
        assert_eq!(BlobKind::of(b"PVM\0"), BlobKind::Unknown);
        // A truncated ELF header is still an ELF, of no known machine.
        assert_eq!(BlobKind::of(b"\x7fELF"), BlobKind::OtherElf { machine: 0 });
    }

    const LOCK_2503: &str = r#"
[[package]]
name = "sp-io"
version = "40.0.1"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "substrate-wasm-builder"
version = "26.0.1"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = [
 "polkavm-linker",
]
"#;

    #[test]
    fn old_sdks_are_refused() {
        assert_eq!(
            lock_versions(LOCK_2503, "substrate-wasm-builder"),
            ["26.0.1"]
        );
        match check_sdk("penpal-runtime", LOCK_2503) {
            Err(PvfBuildError::OldSdk {
                package,
                wasm_builder,
            }) => {
                assert_eq!(package, "penpal-runtime");
                assert_eq!(wasm_builder, "26.0.1");
            }
            other => panic!("expected OldSdk, got {other:?}"),
        }
        let new = LOCK_2503.replace("26.0.1", "35.0.0");
        assert_eq!(
            check_sdk("r", &new).expect("stable2609 is 64-bit"),
            Some("35.0.0".to_owned())
        );
        // 31 is the last 32-bit one, 32 the first 64-bit one.
        assert!(check_sdk("r", &LOCK_2503.replace("26.0.1", "31.0.0")).is_err());
        assert!(check_sdk("r", &LOCK_2503.replace("26.0.1", "32.0.0")).is_ok());
        // No wasm builder in the lock: nothing to say.
        assert_eq!(check_sdk("r", "").expect("no builder"), None);
    }

    #[test]
    fn interface_functions() {
        assert_eq!(
            interface_function("ext_storage_get_version_1"),
            Some(("sp_io::storage::get".to_owned(), 1))
        );
        assert_eq!(
            interface_function("ext_default_child_storage_next_key_version_1"),
            Some(("sp_io::default_child_storage::next_key".to_owned(), 1))
        );
        assert_eq!(
            interface_function("ext_trie_blake2_256_ordered_root_version_2"),
            Some(("sp_io::trie::blake2_256_ordered_root".to_owned(), 2))
        );
        assert_eq!(
            interface_function("ext_offchain_index_set_version_1"),
            Some(("sp_io::offchain_index::set".to_owned(), 1))
        );
        assert_eq!(
            interface_function("ext_storage_proof_size_storage_proof_size_version_1"),
            Some((
                "cumulus_primitives_proof_size_hostfunction::storage_proof_size::storage_proof_size"
                    .to_owned(),
                1
            ))
        );
        assert_eq!(interface_function("validate_block"), None);
        assert_eq!(interface_function("ext_storage_version_1"), None);
        assert_eq!(interface_function("ext_unknown_thing_version_1"), None);
    }
}
