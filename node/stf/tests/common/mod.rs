//! What the trace-driven tests of this crate share: where the conformance
//! vectors are (`parajam-vectors`), the ring context for their validator
//! count, one PVM, and whole-block import on a given pre-state.

#![allow(clippy::unwrap_used, dead_code)]

use std::sync::OnceLock;

use parajam_bandersnatch::RingContext;
use parajam_primitives::types::{Block, StateRoot};
use parajam_primitives::ProtocolParameters;
use parajam_pvm::{Backend, Pvm, PvmFlavor};
use parajam_state::State;
use parajam_stf::accumulate::Executor;
use parajam_stf::block::{import, ImportContext, ImportError, Imported};
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
        ancestry: None,
    };
    import(pre, block, &ctx)
}
