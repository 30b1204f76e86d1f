//! Options shared by the commands that import blocks.

use std::path::PathBuf;

use anyhow::Context;
use parajam_chain::{Chain, ExecutionConfig, SrsSource};
use parajam_primitives::ProtocolParameters;
use parajam_pvm::{Backend, Pvm, Sandbox};

/// Which PVM backend runs service code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendChoice {
    /// The recompiler where this machine supports it, else the interpreter.
    Auto,
    /// The recompiler (fails if unavailable).
    Compiler,
    /// The interpreter.
    Interpreter,
}

impl BackendChoice {
    /// The backend this choice means on `pvm`: `auto` is
    /// [`Pvm::preferred_backend`] (the recompiler, in-process by default,
    /// else the interpreter, with one warning line saying why); `compiler`
    /// fails where it cannot start.
    pub fn resolve(self, pvm: &Pvm) -> anyhow::Result<Backend> {
        let why = || {
            pvm.backend_unavailable(Backend::Compiler)
                .unwrap_or_default()
        };
        Ok(match (self, pvm.compiler_sandbox()) {
            (Self::Interpreter, _) => Backend::Interpreter,
            (Self::Compiler, None) => {
                anyhow::bail!("the recompiler is unavailable here: {}", why())
            }
            (Self::Compiler, Some(sandbox)) => {
                if sandbox == Sandbox::Linux {
                    tracing::info!(
                        "the recompiler runs in polkavm's Linux sandbox: a process \
                         hand-off per host call, slow when the machine is busy"
                    );
                }
                Backend::Compiler
            }
            (Self::Auto, _) => {
                let backend = pvm.preferred_backend();
                if backend == Backend::Interpreter {
                    tracing::warn!(
                        "PVM: the interpreter, the recompiler cannot start here ({})",
                        why()
                    );
                }
                backend
            }
        })
    }
}

/// Protocol parameters, PVM backend and the ring-proof SRS.
#[derive(Debug, Clone, clap::Args)]
pub struct ChainArgs {
    /// Protocol parameters: `tiny`, `full` or `tiny-12`.
    #[arg(long, default_value = "tiny")]
    pub params: String,
    /// PVM backend for service code.
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: BackendChoice,
    /// Run service code on both backends and fail on any divergence.
    #[arg(long)]
    pub crosscheck: bool,
    /// The Bandersnatch ring-proof SRS file (default: PARAJAM_SRS, else the
    /// Zcash SRS the binary carries).
    #[arg(long)]
    pub srs: Option<PathBuf>,
}

impl ChainArgs {
    /// The chosen parameters.
    pub fn parameters(&self) -> anyhow::Result<ProtocolParameters> {
        Ok(self.params.parse()?)
    }

    /// A chain as these options say, with a log line naming the backend.
    pub fn chain(&self) -> anyhow::Result<Chain> {
        let params = self.parameters()?;
        let srs = self
            .srs
            .clone()
            .map_or_else(SrsSource::from_env, SrsSource::File);
        // The backend is settled once the engine exists.
        let mut chain = Chain::new(
            params,
            ExecutionConfig {
                backend: Backend::Interpreter,
                crosscheck: false,
            },
            &srs,
        )
        .context("starting the chain")?;
        let backend = self.backend.resolve(chain.pvm())?;
        let unavailable = chain.pvm().backend_unavailable(Backend::Compiler);
        if self.crosscheck && unavailable.is_some() {
            anyhow::bail!("--crosscheck needs the recompiler, which is unavailable here");
        }
        tracing::info!(
            "service code runs on the {}{}",
            backend.name(),
            if self.crosscheck {
                " (crosschecked against the other backend)"
            } else {
                ""
            }
        );
        chain.set_execution(ExecutionConfig {
            backend,
            crosscheck: self.crosscheck,
        });
        Ok(chain)
    }
}
