//! SLOW (a cold build is about 10 minutes on 2 cores; a warm one reads the
//! cache under `~/.cache/parajam/runtimes`): builds `runtime/parachain`, a
//! real cumulus runtime, from one source for the PVM and for wasm, and
//! checks what came out:
//!
//! - `validate_block` is exported and is the artifact's entry point;
//! - the PVF artifact decodes (`PvfArtifact`, `StandardProgram`) and
//!   re-encodes to the same octets;
//! - the imports it records by `ecalli` index are exactly the host
//!   functions the riscv64emac ELF imports, read from the ELF's
//!   polkavm-derive metadata independently of polkavm-linker;
//! - the wasm runtime is valid wasm, and imports the same host functions
//!   (one source, one set of host functions).
//!
//! It also prints the import table and which imports the CoreChains
//! service does not serve yet (`cargo test -- --nocapture`).

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use object::{Object, ObjectSection, ObjectSymbol};
use parajam_corechains_types::pvf::{PvfArtifact, StandardProgram};
use parajam_pvf_build::{build, Options};

/// The host functions a polkavm-derive ELF imports: every
/// `ExternMetadataV2` record in its `.polkavm_metadata` sections (24
/// packed octets: version 2, flags u32, symbol length u32, symbol address
/// u64, input and output register counts, has-index flag, index u32), whose
/// symbol address points at the name.
fn elf_imports(elf: &[u8]) -> BTreeSet<String> {
    let file = object::File::parse(elf).expect("an ELF");
    let read_at = |address: u64, len: u64| -> Vec<u8> {
        let section = file
            .sections()
            .find(|s| s.address() <= address && address + len <= s.address() + s.size())
            .expect("a section holds the symbol name");
        let data = section.data().expect("section data");
        let start = usize::try_from(address - section.address()).expect("fits");
        data[start..start + usize::try_from(len).expect("fits")].to_vec()
    };
    let mut imports = BTreeSet::new();
    for symbol in file.symbols() {
        let Some(index) = symbol.section_index() else {
            continue;
        };
        let section = file.section_by_index(index).expect("the symbol's section");
        if section.name() != Ok(".polkavm_metadata") || symbol.size() != 24 {
            continue;
        }
        let record = read_at(symbol.address(), 24);
        if record[0] != 2 {
            continue;
        }
        let len = u32::from_le_bytes(record[5..9].try_into().expect("4 octets"));
        let address = u64::from_le_bytes(record[9..17].try_into().expect("8 octets"));
        let name = read_at(address, u64::from(len));
        imports.insert(String::from_utf8(name).expect("a UTF-8 symbol"));
    }
    imports
}

/// The function imports of a wasm module, and whether it validates.
fn wasm_imports(wasm: &[u8]) -> BTreeSet<String> {
    wasmparser::Validator::new()
        .validate_all(wasm)
        .expect("the wasm runtime is valid wasm");
    let mut imports = BTreeSet::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::ImportSection(section) = payload.expect("parses") {
            for import in section.into_imports() {
                let import = import.expect("an import");
                if matches!(import.ty, wasmparser::TypeRef::Func(_)) {
                    imports.insert(import.name.to_owned());
                }
            }
        }
    }
    imports
}

#[test]
fn slow_parachain_runtime_builds_for_pvm_and_wasm() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../runtime/parachain");
    let built = build(&Options::new(crate_dir)).expect("runtime/parachain builds");
    println!(
        "{} ({}): pvf {} octets, code hash 0x{}, {} exports, {} imports; timings {:?}",
        built.package,
        if built.from_cache { "cached" } else { "built" },
        built.pvf_size,
        hex::encode(built.code_hash),
        built.exports.len(),
        built.imports.len(),
        built.timings
    );

    // validate_block, at the dispatch table's first entry.
    assert!(built.has_entry(), "exports: {:?}", built.exports);
    assert_eq!(built.artifact.entry_pc, 0);

    // The artifact round-trips.
    let bytes = fs::read(&built.pvf).expect("the artifact");
    let artifact = PvfArtifact::from_bytes(&bytes).expect("the artifact decodes");
    assert_eq!(artifact.to_bytes(), bytes);
    assert_eq!(artifact, built.artifact);
    let program = StandardProgram::parse(&artifact.program).expect("a GP standard program");
    assert!(!program.code.is_empty());
    assert_eq!(built.code_hash, parajam_crypto::blake2b_256(&bytes));

    // Its imports are the ELF's, each once.
    let recorded: Vec<String> = artifact
        .imports
        .iter()
        .map(|s| String::from_utf8(s.clone()).expect("UTF-8"))
        .collect();
    let recorded_set: BTreeSet<String> = recorded.iter().cloned().collect();
    assert_eq!(recorded_set.len(), recorded.len(), "duplicate imports");
    let elf = fs::read(&built.elf).expect("the ELF");
    assert_eq!(recorded_set, elf_imports(&elf));

    // The wasm runtime from the same source is valid and imports the same.
    let wasm = built.wasm.as_ref().expect("the wasm runtime was built");
    let wasm_bytes = fs::read(&wasm.path).expect("the wasm runtime");
    assert!(wasm_bytes.starts_with(b"\0asm"));
    assert_eq!(wasm_imports(&wasm_bytes), recorded_set);

    for import in &built.imports {
        println!(
            "{:>3} {:<55} {:>3} call sites {}",
            import.index,
            import.symbol,
            import.call_sites,
            if import.supported { "" } else { "UNSUPPORTED" }
        );
    }
}

/// A copy of `from` (a cache entry: files only) in `to`.
fn copy_entry(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("the entry's copy");
    for file in fs::read_dir(from).expect("the cache entry") {
        let file = file.expect("an entry file");
        if file.file_type().expect("a file type").is_file() {
            fs::copy(file.path(), to.join(file.file_name())).expect("a copy");
        }
    }
}

/// SLOW (a link of the runtime's ELF). A cached build whose link settings
/// differ from the asked ones (here the stack size) is relinked from its
/// ELF, keeping its wasm and build timings, and the relinked entry is then
/// found as it is. On a copy of the cache entry, so that the shared one
/// stays as other tests read it.
#[test]
fn slow_a_cached_runtime_is_relinked_when_its_link_settings_differ() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../runtime/parachain");
    let built = build(&Options::new(crate_dir.clone())).expect("runtime/parachain builds");
    let cache = tempfile::tempdir().expect("a temporary cache");
    copy_entry(&built.entry, &cache.path().join(&built.key));

    let mut options = Options::new(crate_dir);
    options.cache_dir = Some(cache.path().to_path_buf());
    // (`s` is three octets: under 16 MiB.)
    options.stack_size = parajam_pvf_build::DEFAULT_STACK_SIZE + (64 << 10);
    let relinked = build(&options).expect("relinked");
    assert!(relinked.from_cache, "relinked, not rebuilt");
    assert_eq!(relinked.key, built.key);
    assert_ne!(relinked.link, built.link);
    assert_ne!(relinked.code_hash, built.code_hash);
    let program = StandardProgram::parse(&relinked.artifact.program).expect("a standard program");
    assert!(program.stack_size >= options.stack_size);
    assert_eq!(
        relinked.timings.pvm_build_secs.to_bits(),
        built.timings.pvm_build_secs.to_bits()
    );
    let wasm_hash = |b: &parajam_pvf_build::Built| b.wasm.as_ref().map(|w| w.hash);
    assert!(wasm_hash(&built).is_some());
    assert_eq!(wasm_hash(&relinked), wasm_hash(&built));

    // Found as relinked: the same artifact, no link.
    let again = build(&options).expect("cached");
    assert!(again.from_cache);
    assert_eq!(again.code_hash, relinked.code_hash);
    assert_eq!(again.link, relinked.link);
}
