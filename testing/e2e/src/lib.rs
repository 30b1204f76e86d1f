//! Helpers for the end-to-end tests: the `parajam` binary (built on demand
//! with the tests' own profile and target directory), the trace files, and
//! `runtime/parachain` (built, and read from its state).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use parajam_primitives::ProtocolParameters;

pub use parajam_primitives::types::{Genesis, TraceStep};

/// The `parajam` binary: `$PARAJAM_BIN` if set (CI points it at the
/// release binary its main job just built), else `cargo build -p parajam`
/// with the profile and target directory the tests were built with (a
/// no-op when it is fresh), once per process.
///
/// # Panics
/// If the build fails: the tests cannot run without the binary.
pub fn parajam_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("PARAJAM_BIN") {
            return PathBuf::from(bin);
        }
        let exe = std::env::current_exe().expect("test executable path");
        // <target>/<profile>/deps/<test>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target profile directory");
        let target_dir = profile_dir.parent().expect("target directory");
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev",
            Some(other) => other,
        };
        let mut build = Command::new(env!("CARGO"));
        // The variables cargo and nextest set for this test process
        // (`CARGO_MANIFEST_DIR` = testing/e2e, ...) would reach build
        // scripts that watch them (ring's does), rebuilding half the tree
        // here and again at the next plain `cargo build`.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("CARGO_MANIFEST_")
                || key.starts_with("CARGO_PKG_")
                || key.starts_with("CARGO_CRATE_")
                || key.starts_with("CARGO_BIN_")
                || key == "CARGO_PRIMARY_PACKAGE"
                || key == "CARGO_TARGET_TMPDIR"
            {
                build.env_remove(key.as_ref());
            }
        }
        let status = build
            .args(["build", "--quiet", "-p", "parajam", "--profile", profile])
            .env("CARGO_TARGET_DIR", target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("running cargo build");
        assert!(status.success(), "cargo build -p parajam failed");
        profile_dir.join("parajam")
    })
}

/// Starts `parajam fuzz-target --socket <socket>` and waits until it listens.
///
/// # Panics
/// If it does not start listening within a minute.
pub fn start_fuzz_target(socket: &Path) -> Child {
    let child = Command::new(parajam_binary())
        .args(["fuzz-target", "--socket"])
        .arg(socket)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawning parajam fuzz-target");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !socket.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "fuzz target did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child
}

/// The vectors directory.
///
/// # Panics
/// If the vectors cannot be found (see `parajam_conformance::locate_vectors`).
pub fn vectors() -> PathBuf {
    parajam_conformance::locate_vectors().expect("conformance vectors")
}

/// The genesis and the steps of trace family `family`, decoded.
///
/// # Panics
/// If a file is missing or does not decode.
pub fn trace(family: &str) -> (Genesis, Vec<TraceStep>) {
    let dir = vectors().join("traces").join(family);
    let params = ProtocolParameters::TINY;
    let read = |p: &Path| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let genesis: Genesis =
        parajam_primitives::decode(&read(&dir.join("genesis.bin")), &params).expect("genesis");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("trace directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .filter(|p| p.file_stem().is_some_and(|s| s != "genesis"))
        .collect();
    files.sort();
    let steps = files
        .iter()
        .map(|p| parajam_primitives::decode(&read(p), &params).expect("trace step"))
        .collect();
    (genesis, steps)
}

/// The sr25519 public key of dev account `name` (`Alice`, `Bob`, ...).
///
/// # Panics
/// If `name` is not a dev account.
#[must_use]
pub fn dev_account(name: &str) -> [u8; 32] {
    use sp_core::Pair as _;
    parajam_collator::dev_pair(name)
        .expect("dev key")
        .public()
        .0
}

/// The native free balance of `account` in `state` (`System::Account`'s
/// `AccountInfo { nonce, consumers, providers, sufficients, data: {
/// free, .. } }`), zero if it has none.
///
/// # Panics
/// If the state cannot be read or the account does not decode.
#[must_use]
pub fn free_balance(state: &parajam_collator::ParaState, account: &[u8; 32]) -> u128 {
    use parity_scale_codec::Decode;
    let key = parajam_collator::system_account_key(account);
    let Some(raw) = state.storage(&key).expect("reads") else {
        return 0;
    };
    let (_, _, _, _, free): (u32, u32, u32, u32, u128) =
        Decode::decode(&mut raw.as_slice()).expect("AccountInfo decodes");
    free
}

/// Asserts that a rehearsal block is valid on wasm and on the PVM, the
/// same on both, enacted, and within JAM's limits; prints its report.
///
/// # Panics
/// If it is not.
pub fn assert_block_ok(b: &parajam_rehearsal::network::NetworkBlock) {
    use parajam_rehearsal::{LegacyVerdict, PvmVerdict};
    println!("{b}");
    let report = &b.block;
    assert!(matches!(report.legacy, LegacyVerdict::Valid(_)), "{b}");
    assert!(matches!(report.pvm, PvmVerdict::Valid(_)), "{b}");
    assert!(report.identical, "{b}");
    assert!(report.enacted, "{b}");
    assert!(report.ok(), "{b}");
}

/// A tokio runtime of two worker threads for a test's JSON-RPC clients.
///
/// # Panics
/// If the runtime cannot be made.
#[must_use]
pub fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// `runtime/parachain`'s crate directory.
#[must_use]
pub fn runtime_parachain_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../runtime/parachain")
}

/// `runtime/parachain` built by `parajam pvf build` with `features`: its
/// wasm and PVF artifact.
///
/// # Panics
/// If the runtime does not build or its artifacts do not read.
#[must_use]
pub fn runtime_parachain(features: &[&str]) -> parajam_rehearsal::Code {
    let mut options = parajam_pvf_build::Options::new(runtime_parachain_dir());
    options.features = features.iter().map(|f| (*f).to_owned()).collect();
    let built = parajam_pvf_build::build(&options).expect("runtime/parachain builds");
    let wasm = built.wasm.expect("the wasm runtime is built");
    parajam_rehearsal::Code::new(
        std::fs::read(&wasm.path).expect("the wasm reads"),
        std::fs::read(&built.pvf).expect("the PVF artifact reads"),
    )
}

/// `MessageQueue::BookStateFor(Sibling(sibling))` in `state`: whether a
/// queue of `sibling`'s messages exists, and how many it holds.
///
/// # Panics
/// If the state cannot be read.
#[must_use]
pub fn sibling_queue(state: &parajam_collator::ParaState, sibling: u32) -> Option<u64> {
    use parajam_corechains_service::host_functions::Hasher;
    use parity_scale_codec::Encode;
    // AggregateMessageOrigin::Sibling(para)
    let origin = (2u8, sibling).encode();
    let key = [
        Hasher::Twox128.hash(b"MessageQueue"),
        Hasher::Twox128.hash(b"BookStateFor"),
        Hasher::Twox64.hash(&origin),
        origin,
    ]
    .concat();
    let raw = state.storage(&key).expect("reads")?;
    // BookState { begin, end, count: u32, ready_neighbours:
    // Option<Neighbours { prev, next }>, message_count: u64, size: u64 }
    let at = if raw.get(12) == Some(&0) { 13 } else { 13 + 10 };
    let count = raw.get(at..at + 8)?;
    Some(u64::from_le_bytes(count.try_into().ok()?))
}

/// The adder's genesis head (from state 0), encoded.
static ADDER_GENESIS_HEAD: std::sync::LazyLock<Vec<u8>> =
    std::sync::LazyLock::new(|| parajam_adder::HeadData::genesis(0).encode().to_vec());

/// The adder registered as para `id` at genesis: its head from state 0
/// and its PVF artifact.
#[must_use]
pub fn adder_para(
    id: parajam_corechains_types::ParaId,
) -> parajam_corechains_build::genesis::GenesisPara<'static> {
    parajam_corechains_build::genesis::GenesisPara {
        id,
        head: &ADDER_GENESIS_HEAD,
        pvf: parajam_adder_build::PVF_ARTIFACT,
    }
}
