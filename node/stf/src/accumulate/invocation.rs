//! `Ψ_A`, the accumulate invocation (GP 0.7.2 appendix B.5, eq.
//! `eq:accinvocation`): one service's accumulation of its inputs on the PVM,
//! with the host calls of GP B.9 mutating the implications pair `(x, y)`,
//! collapsed to one dimension by `C`.

use jam_codec::{Compact, Encode};
use parajam_host::accumulate::{
    dispatch, AccumulateContext, DeferredTransfer, Implications, PartialState,
};
use parajam_host::general::{FetchContext, LogEntry};
use parajam_primitives::types::{
    Gas, OpaqueHash, ServiceId, TimeSlot, WorkExecResult, WorkPackageHash,
};
use parajam_primitives::ProtocolParameters;
pub use parajam_pvm::Executor;
use parajam_pvm::{Backend, HostCallContext, Invocation, Program, ProgramResult, PvmError};

/// The entry point of accumulation in a service's code (GP §9.1: `1`,
/// at instruction offset 5 of the jump table layout, GP B.5 `Ψ_M(c, 5, …)`).
pub const ACCUMULATE_ENTRY_PC: u32 = 5;

/// An operand tuple `U` (GP eq. `eq:operandtuple`): what accumulate learns
/// of one work digest of its service and the report it came in.
#[derive(Debug, Clone, PartialEq, Eq, Encode)]
pub struct Operand {
    /// `p`: the work-package hash.
    pub package_hash: WorkPackageHash,
    /// `e`: the segment (exports) root.
    pub segment_root: OpaqueHash,
    /// `a`: the authorizer hash.
    pub authorizer_hash: OpaqueHash,
    /// `y`: the payload hash.
    pub payload_hash: OpaqueHash,
    /// `g`: the digest's accumulate gas limit (a general natural, GP C.32).
    #[codec(compact)]
    pub gas_limit: Gas,
    /// `l`: the refine result, `O(l)` encoded.
    pub result: WorkExecResult,
    /// `t`: the authorizer trace, length-prefixed.
    pub auth_trace: Vec<u8>,
}

/// An accumulation input `I = U ∪ X` (GP eq. `eq:accinput`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccumulationInput {
    /// A work digest's operand tuple.
    Operand(Operand),
    /// A deferred transfer into the service.
    Transfer(DeferredTransfer),
}

impl AccumulationInput {
    /// `E(i)` (GP C.33): `0 ⌢ E_U(o)` or `1 ⌢ E_X(t)`.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Operand(o) => {
                let mut out = vec![0];
                o.encode_to(&mut out);
                out
            }
            Self::Transfer(t) => [vec![1], t.encode()].concat(),
        }
    }
}

/// `O`: what one service's accumulation yields (GP eq. `eq:acconeout`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccumulationOutcome {
    /// `e`: the posterior partial state.
    pub state: PartialState,
    /// `t`: the deferred transfers it made.
    pub transfers: Vec<DeferredTransfer>,
    /// `y`: the accumulation output (yielded) hash, if any.
    pub yielded: Option<OpaqueHash>,
    /// `u`: the gas it used.
    pub gas_used: Gas,
    /// `p`: the preimages it provided, `(service, blob)`.
    pub provisions: Vec<(ServiceId, Vec<u8>)>,
    /// JIP-1 log entries it wrote, in order (not part of the state).
    pub logs: Vec<LogEntry>,
}

/// Why an invocation could not even be carried out. Not a service fault
/// (those are `☇` results): an engine failure, or the backends disagreeing
/// in crosscheck mode.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    /// The PVM engine failed.
    #[error("PVM engine: {0}")]
    Pvm(#[from] PvmError),
    /// Crosscheck: the two backends disagree.
    #[error("backends disagree on service {service}: {what}")]
    Divergence {
        /// The service being accumulated.
        service: ServiceId,
        /// What differs.
        what: String,
    },
}

/// What an invocation needs from the block: `τ'`, `η'_0` and the parameters.
#[derive(Debug, Clone, Copy)]
pub struct BlockContext<'a> {
    /// `τ' = H_T`.
    pub timeslot: TimeSlot,
    /// `η'_0`.
    pub entropy: &'a OpaqueHash,
    /// The protocol parameters.
    pub params: &'a ProtocolParameters,
}

/// The raw result of one run: gas used, `R` of `Ψ_M`, the context, logs.
struct Run {
    gas_used: Gas,
    result: ProgramResult,
    ctx: AccumulateContext,
    logs: Vec<LogEntry>,
}

/// `Ψ_A(e, t, s, g, i)` (GP eq. `eq:accinvocation`) on `executor`.
///
/// The transfers among `inputs` are credited to the service first; a
/// service without code (no preimage of its code hash that is a proper
/// `E(↕m, c)`, or code over `W_C`) uses no gas and changes nothing
/// else. Code that is not a valid standard program panics at once
/// (`Ψ_M`: `Y(p, a) = ∅`).
pub fn accumulate(
    executor: &Executor<'_>,
    state: &PartialState,
    block: &BlockContext<'_>,
    service: ServiceId,
    gas: Gas,
    inputs: &[AccumulationInput],
) -> Result<AccumulationOutcome, ExecutorError> {
    let mut credited = state.clone();
    if let Some(account) = credited.accounts.get_mut(&service) {
        for input in inputs {
            if let AccumulationInput::Transfer(t) = input {
                account.info.balance = account.info.balance.saturating_add(t.amount);
            }
        }
    }
    let code = state.accounts.get(&service).and_then(|a| {
        let (_, code) = a.code()?;
        (code.len() <= block.params.max_service_code_size as usize)
            .then_some((a.info.code_hash, code))
    });
    let Some((code_hash, code)) = code else {
        return Ok(AccumulationOutcome {
            state: credited,
            transfers: Vec::new(),
            yielded: None,
            gas_used: 0,
            provisions: Vec::new(),
            logs: Vec::new(),
        });
    };
    let initial = Implications::new(
        credited,
        service,
        block.entropy,
        block.timeslot,
        block.params,
    );
    let ctx = AccumulateContext::new(initial, *block.params, block.timeslot);
    let args = (
        Compact(block.timeslot),
        Compact(service),
        Compact(inputs.len() as u64),
    )
        .encode();
    let encoded: Vec<Vec<u8>> = inputs.iter().map(AccumulationInput::encode).collect();
    let fetch = FetchContext {
        entropy: Some(block.entropy),
        inputs: Some(&encoded),
        ..FetchContext::constants_only(block.params)
    };
    // The code hash names the preimage, and so the code, exactly.
    let Ok(program) = executor.pvm.cached_program(code_hash.0, code) else {
        // `Y(p, a) = ∅`: `(0, ☇, x)`.
        return Ok(collapse(Run {
            gas_used: 0,
            result: ProgramResult::Panic,
            ctx,
            logs: Vec::new(),
        }));
    };
    let gas = i64::try_from(gas).unwrap_or(i64::MAX);
    let on = |backend, ctx| run(executor, backend, &program, code, gas, &args, ctx, &fetch);
    let run = if executor.crosscheck {
        let a = on(Backend::Interpreter, ctx.clone())?;
        let b = on(Backend::Compiler, ctx)?;
        if let Some(what) = difference(&a, &b) {
            return Err(ExecutorError::Divergence { service, what });
        }
        a
    } else {
        on(executor.backend, ctx)?
    };
    Ok(collapse(run))
}

#[allow(clippy::too_many_arguments)]
fn run(
    executor: &Executor<'_>,
    backend: Backend,
    program: &Program,
    code: &[u8],
    gas: i64,
    args: &[u8],
    mut ctx: AccumulateContext,
    fetch: &FetchContext<'_>,
) -> Result<Run, ExecutorError> {
    let mut logs = Vec::new();
    let flavor = executor.flavor();
    // Host calls see the paper's `ϱ` (one gas per instruction run):
    // polkavm has charged the `ecalli`'s whole basic block on entering
    // it, so the instructions after the `ecalli` in its block are given
    // back while the call runs and charged again after it (the fuzz
    // traces' services fold `gas` and `checkpoint` results into their
    // storage, e.g. jam-conformance trace 1767896003_7482).
    let tails = code_section(code).and_then(|c| executor.pvm.prepare_code(c).ok());
    let outcome = executor.pvm.run_invocation(
        backend,
        program,
        &Invocation::new(ACCUMULATE_ENTRY_PC, gas, args),
        &mut |mut call: HostCallContext<'_>| {
            let index = call.index();
            let tail = tails.as_ref().map_or(0, |t| t.block_tail(call.pc()));
            call.set_gas(call.gas().saturating_add(tail));
            let (control, log) = dispatch(&mut call, flavor, index, &mut ctx, fetch);
            call.set_gas(call.gas().saturating_sub(tail));
            logs.extend(log);
            parajam_host::pvm::action(control)
        },
    )?;
    Ok(Run {
        gas_used: outcome.gas_used(),
        result: outcome.result(),
        ctx,
        logs,
    })
}

/// The code `c` of a standard program blob
/// `E_3(|o|) ⌢ E_3(|w|) ⌢ E_2(z) ⌢ E_3(s) ⌢ o ⌢ w ⌢ E_4(|c|) ⌢ c`
/// (GP eq. A.37), if the blob has that form.
fn code_section(blob: &[u8]) -> Option<&[u8]> {
    let le = |b: &[u8]| {
        b.iter()
            .rev()
            .fold(0usize, |n, &x| (n << 8) | usize::from(x))
    };
    let (o, w) = (le(blob.get(0..3)?), le(blob.get(3..6)?));
    let at = 11usize.checked_add(o)?.checked_add(w)?;
    let len = le(blob.get(at..at.checked_add(4)?)?);
    let start = at + 4;
    let c = blob.get(start..start.checked_add(len)?)?;
    (start + len == blob.len()).then_some(c)
}

/// What differs between two runs, if anything.
fn difference(a: &Run, b: &Run) -> Option<String> {
    if a.result != b.result {
        Some(format!("result {:?} vs {:?}", a.result, b.result))
    } else if a.gas_used != b.gas_used {
        Some(format!("gas used {} vs {}", a.gas_used, b.gas_used))
    } else if a.ctx.x != b.ctx.x || a.ctx.y != b.ctx.y {
        Some("accumulation context".to_owned())
    } else {
        None
    }
}

/// `C` (GP B.5): the exceptional dimension `y` after `☇` or `∞`; otherwise
/// the regular `x`, its yield replaced by the output when that is a hash.
fn collapse(run: Run) -> AccumulationOutcome {
    let Run {
        gas_used,
        result,
        ctx,
        logs,
    } = run;
    let (dim, yielded) = match result {
        ProgramResult::Panic | ProgramResult::OutOfGas => {
            let y = ctx.y;
            let yielded = y.yielded;
            (y, yielded)
        }
        ProgramResult::Output(o) => {
            let x = ctx.x;
            let yielded = OpaqueHash::try_from(o.as_slice()).ok().or(x.yielded);
            (x, yielded)
        }
    };
    AccumulationOutcome {
        state: dim.state,
        transfers: dim.transfers,
        yielded,
        gas_used,
        provisions: dim.provisions.into_iter().collect(),
        logs,
    }
}

#[cfg(test)]
mod tests {
    use super::code_section;

    #[test]
    fn code_section_of_a_standard_program_eq_a37() {
        // |o| = 2, |w| = 1, z = 0, s = 0, o, w, |c| = 3, c.
        let blob = [
            2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 9, 8, 3, 0, 0, 0, 7, 7, 7,
        ];
        assert_eq!(code_section(&blob), Some(&[7u8, 7, 7][..]));
        assert_eq!(code_section(&blob[..20]), None, "truncated");
        let mut longer = blob.to_vec();
        longer.push(0);
        assert_eq!(code_section(&longer), None, "trailing octets");
        assert_eq!(code_section(&[]), None);
    }
}
