//! What the trace-driven tests of this crate share: where the conformance
//! vectors are (`parajam-vectors`), the ring context for their validator
//! count, one PVM, and whole-block import on a given pre-state.

#![allow(clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use parajam_bandersnatch::RingContext;
use parajam_primitives::types::{Block, StateRoot, TraceStep};
use parajam_primitives::ProtocolParameters;
use parajam_pvm::{Backend, Pvm, PvmFlavor};
use parajam_state::State;
use parajam_stf::accumulate::Executor;
use parajam_stf::block::{import, Ancestry, ImportContext, ImportError, Imported};
pub use parajam_vectors::dir as vectors_dir;

/// The traces' parameters.
pub const PARAMS: ProtocolParameters = ProtocolParameters::TINY;

pub fn ring() -> &'static RingContext {
    static RING: OnceLock<RingContext> = OnceLock::new();
    RING.get_or_init(|| RingContext::zcash(usize::from(PARAMS.validators_count)).unwrap())
}

pub fn pvm() -> &'static Pvm {
    static PVM: OnceLock<Pvm> = OnceLock::new();
    PVM.get_or_init(|| Pvm::new(PvmFlavor::Gp072).unwrap())
}

/// `import(pre, block)` with `pre`'s root given as `root`, services on the
/// interpreter.
pub fn import_on(pre: &State, root: StateRoot, block: &Block) -> Result<Imported, ImportError> {
    import_with_ancestry(pre, root, block, None)
}

/// [`import_on`], with the lookup anchors checked against `ancestry`.
pub fn import_with_ancestry(
    pre: &State,
    root: StateRoot,
    block: &Block,
    ancestry: Option<&dyn Ancestry>,
) -> Result<Imported, ImportError> {
    let executor = Executor {
        pvm: pvm(),
        backend: Backend::Interpreter,
        crosscheck: false,
    };
    let ctx = ImportContext {
        params: &PARAMS,
        executor: &executor,
        ring: ring(),
        prior_root: Some(root),
        ancestry,
    };
    import(pre, block, &ctx)
}

/// The trace step files of a family, sorted (genesis excluded).
pub fn trace_files(family: &str) -> Vec<PathBuf> {
    let dir = vectors_dir().join("traces").join(family);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "bin")
                && p.file_stem().is_some_and(|s| s != "genesis")
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no trace steps in {}", dir.display());
    files
}

/// The trace step in `path`.
pub fn decode_step(path: &Path) -> TraceStep {
    let bytes = std::fs::read(path).unwrap();
    parajam_primitives::decode(&bytes, &PARAMS)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
