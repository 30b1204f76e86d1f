//! One instance type over the two polkavm releases this crate runs code on:
//! 0.30 (the GP 0.7.2 instruction set as it is; the interpreter, and the
//! recompiler for standard programs) and 0.37 (the recompiler for GP code
//! blobs, on code renumbered to its instruction set, see
//! [`translate`](crate::translate)).
//!
//! Callers speak polkavm 0.30's types (`Reg`, `ProgramCounter`,
//! `MemoryProtection`); the 0.37 side converts. Errors come back as
//! [`PvmError::Engine`].

use polkavm::{MemoryProtection, ProgramCounter, Reg};

use crate::error::{engine_error, PvmError};

/// Why a run stopped (polkavm's `InterruptKind`, either release).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interrupt {
    Finished,
    Trap,
    Ecalli(u32),
    /// An access of an inaccessible page (or a write of a read-only one).
    Segfault {
        page_address: u32,
    },
    NotEnoughGas,
    Step,
}

/// `From<InterruptKind>` for one polkavm release's interrupt type: the
/// releases' enums have the same variants, so one mapping serves both.
macro_rules! interrupt_from {
    ($release:ident) => {
        impl From<$release::InterruptKind> for Interrupt {
            fn from(kind: $release::InterruptKind) -> Self {
                use $release::InterruptKind as K;
                match kind {
                    K::Finished => Self::Finished,
                    K::Trap => Self::Trap,
                    K::Ecalli(id) => Self::Ecalli(id),
                    K::Segfault(fault) => Self::Segfault {
                        page_address: fault.page_address,
                    },
                    K::NotEnoughGas => Self::NotEnoughGas,
                    K::Step => Self::Step,
                }
            }
        }
    };
}

interrupt_from!(polkavm);
interrupt_from!(polkavm037);

/// A compiled module of either release (cheap to clone: both are `Arc`s).
#[derive(Clone)]
pub(crate) enum VmModule {
    V030(polkavm::Module),
    V037(polkavm037::Module),
}

impl VmModule {
    /// A new instance of the module.
    pub(crate) fn instantiate(&self) -> Result<Instance, PvmError> {
        match self {
            Self::V030(module) => module
                .instantiate()
                .map(Instance::V030)
                .map_err(engine_error),
            Self::V037(module) => module
                .instantiate()
                .map(Instance::V037)
                .map_err(engine_error),
        }
    }
}

/// A machine instance of either release.
// Both are several hundred octets; an instance lives as long as its
// machine and moves rarely, so no box.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Instance {
    V030(polkavm::RawInstance),
    V037(polkavm037::RawInstance),
}

fn reg037(reg: Reg) -> polkavm037::Reg {
    polkavm037::Reg::ALL[reg.to_usize()]
}

fn protection037(protection: MemoryProtection) -> polkavm037::MemoryProtection {
    match protection {
        MemoryProtection::Read => polkavm037::MemoryProtection::Read,
        MemoryProtection::ReadWrite => polkavm037::MemoryProtection::ReadWrite,
    }
}

/// The same call on either release's instance, its error made a
/// [`PvmError`].
macro_rules! both {
    ($self:expr, |$i:ident| $call:expr) => {
        match $self {
            Instance::V030($i) => $call.map_err(engine_error),
            Instance::V037($i) => $call.map_err(engine_error),
        }
    };
}

impl Instance {
    /// Whether this is polkavm 0.37's, running renumbered code.
    pub(crate) fn is_translated(&self) -> bool {
        matches!(self, Self::V037(_))
    }

    pub(crate) fn run(&mut self) -> Result<Interrupt, PvmError> {
        match self {
            Self::V030(i) => i.run().map(Interrupt::from).map_err(engine_error),
            Self::V037(i) => i.run().map(Interrupt::from).map_err(engine_error),
        }
    }

    pub(crate) fn reg(&self, reg: Reg) -> u64 {
        match self {
            Self::V030(i) => i.reg(reg),
            Self::V037(i) => i.reg(reg037(reg)),
        }
    }

    pub(crate) fn set_reg(&mut self, reg: Reg, value: u64) {
        match self {
            Self::V030(i) => i.set_reg(reg, value),
            Self::V037(i) => i.set_reg(reg037(reg), value),
        }
    }

    pub(crate) fn gas(&self) -> i64 {
        match self {
            Self::V030(i) => i.gas(),
            Self::V037(i) => i.gas(),
        }
    }

    pub(crate) fn set_gas(&mut self, gas: i64) {
        match self {
            Self::V030(i) => i.set_gas(gas),
            Self::V037(i) => i.set_gas(gas),
        }
    }

    pub(crate) fn program_counter(&self) -> Option<ProgramCounter> {
        match self {
            Self::V030(i) => i.program_counter(),
            Self::V037(i) => i.program_counter().map(|pc| ProgramCounter(pc.0)),
        }
    }

    pub(crate) fn next_program_counter(&self) -> Option<ProgramCounter> {
        match self {
            Self::V030(i) => i.next_program_counter(),
            Self::V037(i) => i.next_program_counter().map(|pc| ProgramCounter(pc.0)),
        }
    }

    pub(crate) fn set_next_program_counter(&mut self, pc: ProgramCounter) {
        match self {
            Self::V030(i) => i.set_next_program_counter(pc),
            Self::V037(i) => i.set_next_program_counter(polkavm037::ProgramCounter(pc.0)),
        }
    }

    pub(crate) fn read_memory_into(
        &mut self,
        address: u32,
        buffer: &mut [u8],
    ) -> Result<(), PvmError> {
        both!(self, |i| i.read_memory_into(address, buffer).map(drop))
    }

    pub(crate) fn read_memory(&mut self, address: u32, length: u32) -> Result<Vec<u8>, PvmError> {
        both!(self, |i| i.read_memory(address, length))
    }

    /// [`Self::read_memory`] through a shared reference, which only
    /// polkavm 0.30's instances allow (0.37's reads need `&mut`). Standard
    /// programs, whose host calls read their memory so, run on 0.30 only;
    /// on a 0.37 instance this is an error.
    pub(crate) fn read_memory_shared(
        &self,
        address: u32,
        length: u32,
    ) -> Result<Vec<u8>, PvmError> {
        match self {
            Self::V030(i) => i.read_memory(address, length).map_err(engine_error),
            Self::V037(_) => Err(PvmError::Engine(
                "a polkavm 0.37 instance is read through `&mut` only".into(),
            )),
        }
    }

    pub(crate) fn write_memory(&mut self, address: u32, data: &[u8]) -> Result<(), PvmError> {
        both!(self, |i| i.write_memory(address, data))
    }

    pub(crate) fn zero_memory(&mut self, address: u32, length: u32) -> Result<(), PvmError> {
        both!(self, |i| i.zero_memory(address, length))
    }

    pub(crate) fn zero_memory_with_memory_protection(
        &mut self,
        address: u32,
        length: u32,
        protection: MemoryProtection,
    ) -> Result<(), PvmError> {
        match self {
            Self::V030(i) => i
                .zero_memory_with_memory_protection(address, length, protection)
                .map_err(engine_error),
            Self::V037(i) => i
                .zero_memory_with_memory_protection(address, length, protection037(protection))
                .map_err(engine_error),
        }
    }

    pub(crate) fn protect_memory(&mut self, address: u32, length: u32) -> Result<(), PvmError> {
        both!(self, |i| i.protect_memory(address, length))
    }

    pub(crate) fn unprotect_memory(&mut self, address: u32, length: u32) -> Result<(), PvmError> {
        both!(self, |i| i.unprotect_memory(address, length))
    }

    pub(crate) fn free_pages(&mut self, address: u32, length: u32) -> Result<(), PvmError> {
        both!(self, |i| i.free_pages(address, length))
    }

    pub(crate) fn reset_memory(&mut self) -> Result<(), PvmError> {
        both!(self, |i| i.reset_memory())
    }

    pub(crate) fn set_accessible_aux_size(&mut self, size: u32) -> Result<(), PvmError> {
        both!(self, |i| i.set_accessible_aux_size(size))
    }

    pub(crate) fn set_host_side_aux_write_protect(
        &mut self,
        is_write_protected: bool,
    ) -> Result<(), PvmError> {
        both!(self, |i| i
            .set_host_side_aux_write_protect(is_write_protected))
    }

    pub(crate) fn is_memory_accessible(
        &self,
        address: u32,
        size: u32,
        minimum_protection: MemoryProtection,
    ) -> bool {
        match self {
            Self::V030(i) => i.is_memory_accessible(address, size, minimum_protection),
            Self::V037(i) => {
                i.is_memory_accessible(address, size, protection037(minimum_protection))
            }
        }
    }
}
