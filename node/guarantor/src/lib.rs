//! Work-package processing (GP 0.7.2 §14, appendix B): what a guarantor
//! runs before it signs a report.
//!
//! - [`Guarantor::is_authorized`] is `Ψ_I` (GP B.3): the package's
//!   authorizer code, from the historical lookup of `p_u` in service `p_h`
//!   at the lookup anchor, run from program counter 0 with `E2(c)` and the
//!   host calls `gas`, `fetch` (and JIP-1 `log`), within `G_I`.
//! - [`Guarantor::refine`] is `Ψ_R` (GP B.4): a work item's service code,
//!   from the historical lookup of `w_c` at the lookup anchor, run from
//!   program counter 0 with `E(c, i, w_s, ↕w_y, H(p))` within `w_g`, with
//!   the refine host calls of GP B.8 (inner machines included, on the same
//!   PVM backend).
//!
//! - [`Guarantor::process`] is `Ξ(p, c)` (GP 14.4): the package checked
//!   against the limits of §14.3, `Ψ_I` and every item's `Ψ_R`, and the
//!   work report with its availability specification ([`availability`]).
//!
//! All run on an [`Executor`] (the PVM engine, its backend, crosscheck).

pub mod availability;
pub mod package;

use std::sync::Arc;

use jam_codec::{Compact, Encode};
pub use package::{ExportStore, Guaranteed, NoSegments, PackageError, SegmentSource};
use parajam_host::general::{dispatch_is_authorized, Accounts, FetchContext, LogEntry};
use parajam_host::pvm::PvmInnerRunner;
use parajam_host::refine::{historical_preimage, InnerFailure, RefineContext, RefineEnv};
use parajam_host::Control;
use parajam_primitives::types::account::split_code_preimage;
use parajam_primitives::types::{Gas, OpaqueHash, ServiceId, WorkExecResult, WorkPackage};
use parajam_primitives::ProtocolParameters;
pub use parajam_pvm::Executor;
use parajam_pvm::{Backend, HostCallContext, Invocation, ProgramResult, PvmError};

/// The entry point of both invocations.
const ENTRY_PC: u32 = 0;

/// What an invocation produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The output, or the work error.
    pub result: WorkExecResult,
    /// Gas used.
    pub gas_used: Gas,
    /// Exported segments (refine).
    pub exports: Vec<Vec<u8>>,
    /// JIP-1 log entries.
    pub logs: Vec<LogEntry>,
}

impl Outcome {
    fn failed(result: WorkExecResult) -> Self {
        Self {
            result,
            gas_used: 0,
            exports: Vec::new(),
            logs: Vec::new(),
        }
    }
}

/// Why an invocation could not be carried out (not a service fault).
#[derive(Debug, thiserror::Error)]
pub enum GuarantorError {
    /// The PVM engine failed.
    #[error("PVM engine: {0}")]
    Pvm(#[from] PvmError),
    /// Crosscheck: the two backends disagree.
    #[error("backends disagree: {0}")]
    Divergence(String),
    /// The work item does not exist.
    #[error("the package has no work item {0}")]
    NoSuchItem(usize),
    /// An inner machine's engine failed: refine has no outcome.
    #[error(transparent)]
    InnerMachine(#[from] InnerFailure),
}

/// Runs packages' code.
#[derive(Debug, Clone, Copy)]
pub struct Guarantor<'a> {
    /// The PVM engine, backend and crosscheck mode.
    pub executor: Executor<'a>,
    /// The protocol parameters.
    pub params: &'a ProtocolParameters,
}

impl Guarantor<'_> {
    /// `Ψ_I(p, c)`: is `package` authorized on core `core`? The trace.
    pub fn is_authorized(
        &self,
        accounts: &impl Accounts,
        package: &WorkPackage,
        core: u16,
    ) -> Result<Outcome, GuarantorError> {
        let code_hash = package.auth_code_hash;
        let code = match Self::code(
            accounts,
            package.auth_code_host,
            package.context.lookup_anchor_slot,
            &code_hash,
            self.params.max_authorizer_code_size,
        ) {
            Ok(code) => code,
            Err(failed) => return Ok(Outcome::failed(failed)),
        };
        let args = core.encode();
        let fetch = FetchContext {
            package: Some(package),
            ..FetchContext::constants_only(self.params)
        };
        let gas = i64::try_from(self.params.gas_is_authorized).unwrap_or(i64::MAX);
        self.checked(|backend| {
            self.run(backend, &code_hash, &code, gas, &args, |call, index| {
                dispatch_is_authorized(call, self.executor.flavor(), index, &fetch)
            })
        })
    }

    /// `Ψ_R`: refines item `item` of `package` on core `core`, with the
    /// authorizer trace `auth_trace`, every item's extrinsic blobs and
    /// imported segments, and `export_offset` (`ς`) the index of its first
    /// export in the package.
    #[allow(clippy::too_many_arguments)]
    pub fn refine<A: Accounts>(
        &self,
        accounts: &A,
        package: &WorkPackage,
        core: u16,
        item: usize,
        auth_trace: &[u8],
        extrinsics: &[Vec<Vec<u8>>],
        imports: &[Vec<Vec<u8>>],
        export_offset: u64,
    ) -> Result<Outcome, GuarantorError> {
        let work = package
            .items
            .get(item)
            .ok_or(GuarantorError::NoSuchItem(item))?;
        let anchor_slot = package.context.lookup_anchor_slot;
        let code = match Self::code(
            accounts,
            work.service,
            anchor_slot,
            &work.code_hash,
            self.params.max_service_code_size,
        ) {
            Ok(code) => code,
            Err(failed) => return Ok(Outcome::failed(failed)),
        };
        let package_hash = parajam_crypto::blake2b_256(&package.encode());
        let mut args = Vec::new();
        Compact(u32::from(core)).encode_to(&mut args);
        Compact(item as u64).encode_to(&mut args);
        Compact(work.service).encode_to(&mut args);
        work.payload.0.encode_to(&mut args);
        args.extend_from_slice(&package_hash);
        let fetch = FetchContext {
            params: self.params,
            package: Some(package),
            entropy: None,
            auth_trace: Some(auth_trace),
            item_index: Some(item),
            imports: Some(imports),
            extrinsics: Some(extrinsics),
            inputs: None,
        };
        let env = RefineEnv {
            service: work.service,
            accounts,
            anchor_slot,
            segment_offset: export_offset,
            params: self.params,
            fetch: &fetch,
        };
        let gas = i64::try_from(work.refine_gas_limit).unwrap_or(i64::MAX);
        let expected_exports = usize::from(work.export_count);
        let segment_size = self.params.segment_size as usize;
        let flavor = self.executor.flavor();
        self.checked(|backend| {
            let mut ctx = RefineContext::default();
            let mut runner = PvmInnerRunner::new(self.executor.pvm, backend);
            let mut outcome = self
                .run(
                    backend,
                    &work.code_hash,
                    &code,
                    gas,
                    &args,
                    |call, index| {
                        parajam_host::refine::dispatch(
                            call,
                            flavor,
                            index,
                            &mut ctx,
                            &env,
                            &mut runner,
                        )
                    },
                )
                .map_err(|e| match (e, ctx.failure.take()) {
                    (GuarantorError::Pvm(PvmError::HostAborted { .. }), Some(failure)) => {
                        GuarantorError::InnerMachine(failure)
                    }
                    (e, _) => e,
                })?;
            // GP B.4: a failure exports nothing; a wrong count is `⊚` with
            // the declared number of zero segments.
            match outcome.result {
                WorkExecResult::Ok(_) if ctx.exports.len() == expected_exports => {
                    outcome.exports = ctx.exports;
                }
                WorkExecResult::Ok(_) => {
                    outcome.result = WorkExecResult::BadExports;
                    outcome.exports = vec![vec![0; segment_size]; expected_exports];
                }
                _ => outcome.exports = vec![vec![0; segment_size]; expected_exports],
            }
            Ok(outcome)
        })
    }

    /// `Ψ_M` of `code` (named by `code_hash`, the module cache's key) from
    /// program counter 0 with `gas` and `args` on `backend`, each host call
    /// answered by `host` (its control and JIP-1 log entry); no exports.
    fn run(
        &self,
        backend: Backend,
        code_hash: &OpaqueHash,
        code: &[u8],
        gas: i64,
        args: &[u8],
        mut host: impl FnMut(&mut HostCallContext<'_>, u32) -> (Control, Option<LogEntry>),
    ) -> Result<Outcome, GuarantorError> {
        let program = self.executor.pvm.cached_program(code_hash.0, code)?;
        let mut logs = Vec::new();
        let outcome = self.executor.pvm.run_invocation(
            backend,
            &program,
            &Invocation::new(ENTRY_PC, gas, args),
            &mut |mut call: HostCallContext<'_>| {
                let index = call.index();
                let (control, log) = host(&mut call, index);
                logs.extend(log);
                parajam_host::pvm::action(control)
            },
        )?;
        let result = work_result(outcome.result());
        let gas_used = outcome.gas_used();
        self.executor.pvm.recycle(outcome);
        Ok(Outcome {
            result,
            gas_used,
            exports: Vec::new(),
            logs,
        })
    }

    /// The code `c` of `E(↕m, c) = Λ(δ[service], slot, hash)`, or the work
    /// error: `BAD` when it is not available, `BIG` when over `max` octets.
    fn code(
        accounts: &impl Accounts,
        service: ServiceId,
        slot: u32,
        hash: &OpaqueHash,
        max: u32,
    ) -> Result<Arc<[u8]>, WorkExecResult> {
        let code =
            Self::lookup_code(accounts, service, slot, hash).ok_or(WorkExecResult::BadCode)?;
        if code.len() > max as usize {
            return Err(WorkExecResult::CodeOversize);
        }
        Ok(code)
    }

    /// The code `c` of `E(↕m, c) = Λ(δ[service], slot, hash)`.
    fn lookup_code(
        accounts: &impl Accounts,
        service: ServiceId,
        slot: u32,
        hash: &OpaqueHash,
    ) -> Option<Arc<[u8]>> {
        let account = accounts.account(service)?;
        let preimage = historical_preimage(account, slot, hash)?;
        let (_, code) = split_code_preimage(preimage)?;
        Some(Arc::from(code))
    }

    /// Runs `run` on the executor's backend, or on both in crosscheck mode
    /// (which must agree on everything).
    fn checked(
        &self,
        run: impl Fn(Backend) -> Result<Outcome, GuarantorError>,
    ) -> Result<Outcome, GuarantorError> {
        if !self.executor.crosscheck {
            return run(self.executor.backend);
        }
        let a = run(Backend::Interpreter)?;
        let b = run(Backend::Compiler)?;
        if a != b {
            return Err(GuarantorError::Divergence(format!(
                "interpreter {:?} (gas {}) vs compiler {:?} (gas {})",
                a.result, a.gas_used, b.result, b.gas_used
            )));
        }
        Ok(a)
    }
}

fn work_result(result: ProgramResult) -> WorkExecResult {
    match result {
        ProgramResult::Output(o) => WorkExecResult::Ok(o.into()),
        ProgramResult::Panic => WorkExecResult::Panic,
        ProgramResult::OutOfGas => WorkExecResult::OutOfGas,
    }
}
