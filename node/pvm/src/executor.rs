//! How a chain runs service code ([`Executor`]): the engine, the backend
//! and the crosscheck option, in one value every invocation takes (the
//! STF's `Ψ_A`, the guarantor's `Ψ_I` and `Ψ_R`).

use crate::{Backend, Pvm, PvmFlavor};

/// How invocations run service code: the PVM engine (its module cache and
/// the chain's [`PvmFlavor`]), the backend invocations run on, and whether
/// every invocation runs on both backends and must agree (crosscheck mode,
/// for tests and rehearsals).
#[derive(Debug, Clone, Copy)]
pub struct Executor<'a> {
    /// The engine (with its module cache).
    pub pvm: &'a Pvm,
    /// The backend invocations run on.
    pub backend: Backend,
    /// Run on both backends and compare everything, the contexts included.
    pub crosscheck: bool,
}

impl Executor<'_> {
    /// The chain's protocol-version rules (instruction set, gas, host-call
    /// numbering), the engine's.
    #[must_use]
    pub fn flavor(&self) -> PvmFlavor {
        self.pvm.flavor()
    }
}
