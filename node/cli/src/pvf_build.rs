//! `parajam pvf build <runtime-crate-dir>`: recompiles a cumulus parachain
//! runtime for CoreChains (`parajam-pvf-build`) and prints what came out:
//! the PVF artifact (path, size against GP's `W_C`, code hash, entry point,
//! imports and the ones the CoreChains service does not serve yet) and the
//! wasm runtime built from the same source.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use parajam_pvf_build::{Built, Options, ENTRY, W_C};

/// `parajam pvf build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The runtime crate's directory (a cumulus parachain runtime).
    crate_dir: PathBuf,
    /// Copy the results (`<runtime>.pvf`, `.polkavm`, `.wasm`) here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Features to enable besides `runtime-wasm` (`std` stays off).
    #[arg(long, value_delimiter = ',')]
    features: Vec<String>,
    /// Build only for the PVM, not for wasm.
    #[arg(long)]
    no_wasm: bool,
    /// Rebuild even if the cache (`~/.cache/parajam/runtimes`) has this build.
    #[arg(long)]
    force: bool,
    /// Where the generated crates and their target directory go (default:
    /// `$CARGO_TARGET_DIR/parajam-runtimes`, else `~/.cache/parajam/runtimes/build`).
    #[arg(long)]
    build_dir: Option<PathBuf>,
    /// The cache directory (default `~/.cache/parajam/runtimes`).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// The PVF's stack size in octets (a cached build is relinked, not
    /// rebuilt, when it changes).
    #[arg(long, default_value_t = parajam_pvf_build::DEFAULT_STACK_SIZE)]
    stack_size: u32,
}

/// Runs `parajam pvf build`.
pub fn run(args: &BuildArgs) -> anyhow::Result<ExitCode> {
    let mut options = Options::new(&args.crate_dir);
    options.features.clone_from(&args.features);
    options.wasm = !args.no_wasm;
    options.force = args.force;
    options.out_dir.clone_from(&args.out);
    options.build_dir.clone_from(&args.build_dir);
    options.cache_dir.clone_from(&args.cache_dir);
    options.show_cargo_output = true;
    options.stack_size = args.stack_size;
    let built = parajam_pvf_build::build(&options)
        .with_context(|| format!("building the runtime {}", args.crate_dir.display()))?;
    print(&built);
    Ok(ExitCode::SUCCESS)
}

fn print_link(built: &Built) {
    println!("  linked: {}", built.link);
    if built.null_access_traps > 0 {
        println!(
            "  {} null-pointer load(s)/store(s) in the RISC-V code made traps (they fault on the PVM anyway)",
            built.null_access_traps
        );
    }
}

fn print(built: &Built) {
    println!("runtime: {}", built.package);
    if let Some(version) = &built.wasm_builder {
        println!("substrate-wasm-builder: {version}");
    }
    println!(
        "cache: {} {}",
        if built.from_cache { "hit" } else { "built" },
        built.entry.display()
    );
    let t = &built.timings;
    println!(
        "build time: pvm {:.1} s, link {:.1} s{}{}",
        t.pvm_build_secs,
        t.link_secs,
        t.wasm_build_secs
            .map(|s| format!(", wasm {s:.1} s"))
            .unwrap_or_default(),
        if built.from_cache {
            " (when it was built)"
        } else {
            ""
        }
    );
    println!();
    println!("pvm: {}", built.pvf.display());
    print_link(built);
    #[allow(clippy::cast_precision_loss)]
    let share = built.pvf_size as f64 / W_C as f64 * 100.0;
    println!(
        "  size: {} octets (program {}), {share:.0}% of W_C = {W_C} octets{}",
        built.pvf_size,
        built.program_size,
        if built.pvf_size > W_C {
            ": larger than a service's code may be"
        } else {
            ""
        }
    );
    println!("  code hash: 0x{}", hex::encode(built.code_hash));
    println!(
        "  entry: {ENTRY} {} (pc {}); {} exports",
        if built.has_entry() {
            "exported"
        } else {
            "MISSING"
        },
        built.artifact.entry_pc,
        built.exports.len()
    );
    println!("  polkavm blob: {}", built.polkavm.display());
    println!("  imports ({}):", built.imports.len());
    for import in &built.imports {
        println!(
            "    {:>3} {:<52} {:<40} {:>3} call sites  {}",
            import.index,
            import.symbol,
            import
                .function
                .as_ref()
                .map(|(path, version)| format!("{path} v{version}"))
                .unwrap_or_default(),
            import.call_sites,
            if import.supported {
                "supported"
            } else {
                "UNSUPPORTED"
            }
        );
    }
    let unsupported: Vec<_> = built.unsupported().collect();
    if unsupported.is_empty() {
        println!("  every import is served by the CoreChains service");
    } else {
        println!(
            "  {} imports are not served by the CoreChains service yet:",
            unsupported.len()
        );
        for import in unsupported {
            println!(
                "    {} ({}; ecalli {}, {} call sites)",
                import.symbol,
                import.function.as_ref().map_or_else(
                    || "no known runtime interface".to_owned(),
                    |(path, version)| format!("{path}, version {version}")
                ),
                import.index,
                import.call_sites
            );
        }
    }
    if let Some(wasm) = &built.wasm {
        println!();
        println!("wasm: {}", wasm.path.display());
        println!("  size: {} octets", wasm.size);
        println!("  blake2b-256: 0x{}", hex::encode(wasm.hash));
    }
}
