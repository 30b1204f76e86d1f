//! The PVM path: the CoreChains service's PVF executor
//! (`parajam_corechains_service::executor::validate_block`), the same code
//! the service program runs in refine, run natively with the node's inner
//! machines (`parajam_host::pvm::PvmInnerRunner`: one live polkavm instance
//! per inner machine) standing in for the refine host calls.

use parajam_corechains_service::executor::{self, MAX_RESULT};
use parajam_corechains_service::host::{InnerExit, InnerVm, LogLevel, RefineHost};
use parajam_corechains_types::pvf::PvfArtifact;
use parajam_host::pvm::{PvmInnerRunner, PvmInnerVm};
use parajam_host::refine::{self, InnerExit as Exit, InnerFailure, InnerRunner as _, InnerVm as _};
use parajam_pvm::{Backend, Pvm};

use crate::{LogLine, PvfError, Validated};

/// Runs `validate_block` of the PVF artifact `artifact` on `params` with at
/// most `gas`, on `backend`; the result, and the PVF's log lines.
pub fn validate_block(
    pvm: &Pvm,
    backend: Backend,
    artifact: &[u8],
    params: &[u8],
    gas: u64,
) -> Result<(Validated, Vec<LogLine>), PvfError> {
    let artifact =
        PvfArtifact::from_bytes(artifact).map_err(|e| PvfError::BadCode(e.to_string()))?;
    let mut host = NativeHost {
        runner: PvmInnerRunner::new(pvm, backend),
        machines: Vec::new(),
        logs: Vec::new(),
        failure: None,
    };
    let run = executor::validate_block(&mut host, &artifact, params, gas, MAX_RESULT);
    if let Some(failure) = host.failure {
        return Err(PvfError::Engine(failure));
    }
    let run = run.map_err(PvfError::Invalid)?;
    Ok((
        Validated {
            result: run.result,
            used: run.gas_used,
            host_calls: run.host_calls,
        },
        host.logs,
    ))
}

/// The refine host calls the executor uses, natively.
struct NativeHost<'a> {
    runner: PvmInnerRunner<'a>,
    machines: Vec<Option<PvmInnerVm<'a>>>,
    logs: Vec<LogLine>,
    /// Why an inner machine's engine failed, if it did (the run's verdict
    /// then means nothing).
    failure: Option<InnerFailure>,
}

impl<'a> NativeHost<'a> {
    fn machine_mut(&mut self, vm: u64) -> Option<&mut PvmInnerVm<'a>> {
        self.machines
            .get_mut(usize::try_from(vm).ok()?)
            .and_then(Option::as_mut)
    }

    /// `pages` mode `r` (GP B.8, with its checks).
    fn pages(&mut self, vm: u64, page: u64, count: u64, r: u64) -> bool {
        self.machine_mut(vm)
            .is_some_and(|m| refine::apply_pages(m, page, count, r))
    }
}

impl InnerVm for NativeHost<'_> {
    fn machine(&mut self, code: &[u8], pc: u64) -> Option<u64> {
        let vm = self.runner.machine(code, pc)?;
        self.machines.push(Some(vm));
        Some(self.machines.len() as u64 - 1)
    }

    fn zero_pages(&mut self, vm: u64, page: u64, count: u64, writable: bool) -> bool {
        self.pages(vm, page, count, if writable { 2 } else { 1 })
    }

    fn protect_pages(&mut self, vm: u64, page: u64, count: u64, writable: bool) -> bool {
        self.pages(vm, page, count, if writable { 4 } else { 3 })
    }

    fn peek(&mut self, vm: u64, dst: &mut [u8], src: u64) -> bool {
        let Some(m) = self.machine_mut(vm) else {
            return false;
        };
        match m.read(src, dst.len() as u64) {
            Some(data) => {
                dst.copy_from_slice(&data);
                true
            }
            None => false,
        }
    }

    fn poke(&mut self, vm: u64, src: &[u8], dst: u64) -> bool {
        self.machine_mut(vm).is_some_and(|m| m.write(dst, src))
    }

    fn invoke(
        &mut self,
        vm: u64,
        gas: i64,
        regs: [u64; 13],
    ) -> Option<(InnerExit, i64, [u64; 13])> {
        let run = match self.machine_mut(vm)?.invoke(gas, regs) {
            Ok(run) => run,
            Err(failure) => {
                self.failure = Some(failure);
                return None;
            }
        };
        let exit = match run.exit {
            Exit::Halt => InnerExit::Halt,
            Exit::Panic => InnerExit::Panic,
            Exit::OutOfGas => InnerExit::OutOfGas,
            Exit::Fault(address) => InnerExit::PageFault(address),
            Exit::Host(index) => InnerExit::Host(index),
        };
        Some((exit, run.gas, run.regs))
    }

    fn expunge(&mut self, vm: u64) -> Option<u64> {
        let slot = self.machines.get_mut(usize::try_from(vm).ok()?)?;
        // Dropping the machine frees its polkavm instance.
        slot.take().map(|m| m.pc())
    }
}

impl RefineHost for NativeHost<'_> {
    fn gas(&mut self) -> u64 {
        u64::MAX
    }

    // The executor asks only for inner machines and logs; a PVF call has no
    // work item, package context or preimages.
    fn historical_lookup(&mut self, _hash: &[u8; 32]) -> Option<Vec<u8>> {
        None
    }

    fn extrinsic(&mut self, _index: usize) -> Option<Vec<u8>> {
        None
    }

    fn context(&mut self) -> ([u8; 32], [u8; 32]) {
        ([0; 32], [0; 32])
    }

    fn log(&mut self, level: LogLevel, target: &[u8], message: &[u8]) {
        self.logs.push(LogLine {
            level,
            target: target.to_vec(),
            message: message.to_vec(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protecting_pages_keeps_contents_and_refuses_absent_pages() {
        let pvm = Pvm::new(parajam_pvm::PvmFlavor::Gp072).expect("pvm");
        let mut host = NativeHost {
            runner: PvmInnerRunner::new(&pvm, Backend::Interpreter),
            machines: Vec::new(),
            logs: Vec::new(),
            failure: None,
        };
        // `trap`, one octet of code.
        assert_eq!(host.machine(&[0, 0, 1, 0, 1], 0), Some(0));
        assert!(host.zero_pages(0, 16, 2, true));
        assert!(host.poke(0, &[7; 5], 16 * 4096));
        assert!(host.protect_pages(0, 16, 2, false));
        assert!(!host.poke(0, &[1], 16 * 4096), "read-only now");
        let mut out = [0; 5];
        assert!(host.peek(0, &mut out, 16 * 4096));
        assert_eq!(out, [7; 5]);
        assert!(!host.protect_pages(0, 17, 2, true), "page 18 is not mapped");
        assert_eq!(host.expunge(0), Some(0));
        assert!(!host.poke(0, &[1], 16 * 4096), "gone");
    }
}
