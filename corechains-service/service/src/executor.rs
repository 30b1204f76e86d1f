//! The PVF executor: runs a recompiled PVF's `validate_block` as an inner
//! machine of refine (GP 0.7.2 B.8: `machine`, `pages`, `poke`, `invoke`,
//! `peek`, `expunge`), playing the relay chain's PVF executor for it.
//!
//! 1. The artifact's standard program is laid out as `Y` would (GP A.7):
//!    read-only data from `Z_Z` (read-only pages), read-write data and its
//!    `z` heap pages from `2 Z_Z + ⌈|o|⌉_{Z_Z}`, the stack of `s` octets
//!    below `2^32 - 2 Z_Z - Z_I`.
//! 2. The allocator's heap ([`crate::allocator`]) runs from the end of the
//!    program's heap pages to `Z_Z` below the stack; the encoded
//!    `ValidationParams` are allocated in it, as Substrate's executors do.
//! 3. The machine starts at `validate_block` with `ω0` the halt address
//!    `2^32 - 2^16`, `ω1` the stack top, `ω7`/`ω8` the params' address and
//!    length; each `ecalli i` is served from the host-function table
//!    ([`crate::host_functions`]) by the import symbol `i` names, and the
//!    machine resumed, until it halts with the packed address and length of
//!    the encoded `ValidationResult` in `ω7`.
//!
//! Every way a PVF can fail ends in an [`InvalidReason`], never a panic of
//! the service.

use alloc::vec;
use alloc::vec::Vec;

use parajam_corechains_types::pvf::{PvfAbi, PvfArtifact, StandardProgram};
use parajam_corechains_types::{unpack_ptr_and_len, InvalidReason};

use crate::allocator::Allocator;
use crate::host::{InnerExit, RefineHost};
use crate::host_functions::{Call, HostFunction, Session};

/// `Z_P`.
const PAGE: u64 = 1 << 12;
/// `Z_Z`.
const ZONE: u64 = 1 << 16;
/// `Z_I`.
const INPUT: u64 = 1 << 24;
/// The largest result `validate_block` may return (it can carry a new runtime).
pub const MAX_RESULT: u32 = 32 << 20;

/// Where a PVF returns to when `validate_block` returns: a halt (GP A.7).
pub const HALT_ADDRESS: u64 = (1 << 32) - (1 << 16);

/// A successful run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    /// The octets `validate_block` returned.
    pub result: Vec<u8>,
    /// Inner gas used.
    pub gas_used: u64,
    /// Host calls served.
    pub host_calls: u32,
}

/// Where the PVF's memory regions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    ro_start: u64,
    ro_pages: u64,
    rw_start: u64,
    rw_pages: u64,
    stack_bottom: u64,
    stack_top: u64,
    heap_start: u64,
    heap_end: u64,
}

impl Layout {
    /// GP eq. A.37's layout, and its condition that it fits in `2^32`.
    fn of(program: &StandardProgram<'_>) -> Option<Self> {
        let zone = |n: u64| n.div_ceil(ZONE) * ZONE;
        let page = |n: u64| n.div_ceil(PAGE) * PAGE;
        let o = program.ro_data.len() as u64;
        let w = program.rw_data.len() as u64;
        let z = u64::from(program.heap_pages);
        let s = u64::from(program.stack_size);
        if 5 * ZONE + zone(o) + zone(w + z * PAGE) + zone(s) + INPUT > 1 << 32 {
            return None;
        }
        let rw_start = 2 * ZONE + zone(o);
        let stack_top = (1 << 32) - 2 * ZONE - INPUT;
        let stack_bottom = stack_top - page(s);
        let heap_start = rw_start + page(w) + z * PAGE;
        Some(Self {
            ro_start: ZONE,
            ro_pages: page(o) / PAGE,
            rw_start,
            rw_pages: page(w) / PAGE + z,
            stack_bottom,
            stack_top,
            heap_start,
            heap_end: stack_bottom.saturating_sub(ZONE),
        })
    }
}

/// Runs `validate_block` of `artifact` on the encoded `params` with at most
/// `gas` inner gas; the octets it returned (at most `max_result`).
pub fn validate_block<H: RefineHost>(
    host: &mut H,
    artifact: &PvfArtifact,
    params: &[u8],
    gas: u64,
    max_result: u32,
) -> Result<Validated, InvalidReason> {
    match artifact.abi {
        PvfAbi::SubstrateV1 => {}
    }
    let program = StandardProgram::parse(&artifact.program).map_err(|_| InvalidReason::BadCode)?;
    let layout = Layout::of(&program).ok_or(InvalidReason::BadMemoryLayout)?;
    let vm = host
        .machine(program.code, u64::from(artifact.entry_pc))
        .ok_or(InvalidReason::BadCode)?;
    let outcome = run(
        host, vm, artifact, &program, &layout, params, gas, max_result,
    );
    host.expunge(vm);
    outcome
}

#[allow(clippy::too_many_arguments)]
fn run<H: RefineHost>(
    host: &mut H,
    vm: u64,
    artifact: &PvfArtifact,
    program: &StandardProgram<'_>,
    layout: &Layout,
    params: &[u8],
    gas: u64,
    max_result: u32,
) -> Result<Validated, InvalidReason> {
    let bad_layout = InvalidReason::BadMemoryLayout;
    if layout.ro_pages > 0 {
        let ok = host.zero_pages(vm, layout.ro_start / PAGE, layout.ro_pages, true)
            && host.poke(vm, program.ro_data, layout.ro_start)
            && host.protect_pages(vm, layout.ro_start / PAGE, layout.ro_pages, false);
        if !ok {
            return Err(bad_layout);
        }
    }
    if layout.rw_pages > 0 {
        let ok = host.zero_pages(vm, layout.rw_start / PAGE, layout.rw_pages, true)
            && host.poke(vm, program.rw_data, layout.rw_start);
        if !ok {
            return Err(bad_layout);
        }
    }
    let stack_pages = (layout.stack_top - layout.stack_bottom) / PAGE;
    if stack_pages > 0 && !host.zero_pages(vm, layout.stack_bottom / PAGE, stack_pages, true) {
        return Err(bad_layout);
    }
    let heap_start = u32::try_from(layout.heap_start).map_err(|_| bad_layout.clone())?;
    let heap_end = u32::try_from(layout.heap_end).map_err(|_| bad_layout.clone())?;
    let mut session = Session::new(Allocator::new(vm, heap_start, heap_end));
    let params_len = u32::try_from(params.len()).map_err(|_| bad_layout.clone())?;
    let params_at = session
        .heap
        .malloc(host, params_len)
        .map_err(|_| bad_layout.clone())?;
    if !host.poke(vm, params, u64::from(params_at)) {
        return Err(bad_layout);
    }

    let mut regs = [0u64; 13];
    regs[0] = HALT_ADDRESS;
    regs[1] = layout.stack_top;
    regs[7] = u64::from(params_at);
    regs[8] = u64::from(params_len);
    let budget = i64::try_from(gas).unwrap_or(i64::MAX);
    let mut gas_left = budget;
    let mut host_calls = 0u32;
    // Each import's function, resolved at its first call.
    let mut resolved: Vec<Option<HostFunction>> = vec![None; artifact.imports.len()];
    loop {
        let (exit, left, next) = host
            .invoke(vm, gas_left, regs)
            .ok_or(InvalidReason::BadCode)?;
        gas_left = left;
        regs = next;
        match exit {
            InnerExit::Halt => break,
            InnerExit::Host(index) => {
                host_calls = host_calls.saturating_add(1);
                let symbol = artifact
                    .import(index)
                    .ok_or_else(|| InvalidReason::UnsupportedHostFunction(unnamed(index)))?;
                let slot = usize::try_from(index)
                    .ok()
                    .and_then(|i| resolved.get_mut(i))
                    .ok_or_else(|| InvalidReason::UnsupportedHostFunction(unnamed(index)))?;
                let function = if let Some(function) = *slot {
                    function
                } else {
                    let function = HostFunction::from_symbol(symbol)
                        .ok_or_else(|| InvalidReason::UnsupportedHostFunction(symbol.to_vec()))?;
                    *slot = Some(function);
                    function
                };
                let mut call = Call {
                    host: &mut *host,
                    vm,
                    session: &mut session,
                };
                call.serve(function, symbol, &mut regs)?;
            }
            InnerExit::Panic => return Err(InvalidReason::Trapped),
            InnerExit::PageFault(address) => return Err(InvalidReason::PageFault(address)),
            InnerExit::OutOfGas => return Err(InvalidReason::OutOfGas),
        }
    }
    let (ptr, len) = unpack_ptr_and_len(regs[7]);
    if len > max_result {
        return Err(InvalidReason::OutputTooLarge);
    }
    let mut result = vec![0; len as usize];
    if !host.peek(vm, &mut result, u64::from(ptr)) {
        return Err(InvalidReason::BadResult);
    }
    Ok(Validated {
        result,
        gas_used: u64::try_from(budget.saturating_sub(gas_left)).unwrap_or(0),
        host_calls,
    })
}

/// The name an import index without a symbol gets: `#<index>`.
fn unnamed(index: u64) -> Vec<u8> {
    let mut name = vec![b'#'];
    let digits = alloc::format!("{index}");
    name.extend_from_slice(digits.as_bytes());
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_follows_the_standard_program() {
        let (ro, rw) = (vec![1; 5000], vec![2; 100]);
        let p = StandardProgram {
            ro_data: &ro,
            rw_data: &rw,
            heap_pages: 3,
            stack_size: 8192,
            code: &[],
        };
        let l = Layout::of(&p).expect("test value");
        assert_eq!((l.ro_start, l.ro_pages), (0x1_0000, 2));
        assert_eq!(
            (l.rw_start, l.rw_pages),
            (0x3_0000, 4),
            "2 Z_Z + one zone of ro data"
        );
        assert_eq!(l.stack_top, 0xFEFE_0000);
        assert_eq!(l.stack_bottom, 0xFEFE_0000 - 8192);
        assert_eq!(l.heap_start, 0x3_0000 + 4 * 4096);
        assert_eq!(l.heap_end, l.stack_bottom - 0x1_0000);
    }

    #[test]
    fn the_largest_standard_program_still_fits() {
        // E3/E2 bound every section, so GP A.37's condition always holds for
        // a program that parses; the check stays for a future format.
        let big = vec![0; 0xFF_FFFF];
        let p = StandardProgram {
            ro_data: &big,
            rw_data: &big,
            heap_pages: u16::MAX,
            stack_size: 0xFF_FFFF,
            code: &[],
        };
        let l = Layout::of(&p).expect("test value");
        assert!(l.heap_start < l.heap_end);
    }
}
