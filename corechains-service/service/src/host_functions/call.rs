//! Serving one host call: the run's [`Session`], the [`Call`] view of the
//! inner machine, the dispatch from a [`HostFunction`] to its sp-io group's
//! module, and the FFI marshalling every group shares (fat pointers,
//! allocated and in-place results, reads bounded by [`MAX_INPUT`]).

use alloc::vec;
use alloc::vec::Vec;

use parajam_corechains_types::InvalidReason;

use super::table::{HostFunction, Out};
use super::{MAX_INPUT, MAX_LOG};
use crate::allocator::Allocator;
use crate::host::{LogLevel, RefineHost};

/// What one PVF run keeps between host calls: its heap and the open
/// signature batch (`start_batch_verify`).
#[derive(Debug)]
pub struct Session {
    /// The PVF's heap.
    pub heap: Allocator,
    pub(crate) batch: Option<bool>,
}

impl Session {
    /// A run with the heap `heap` and no open batch.
    pub fn new(heap: Allocator) -> Self {
        Self { heap, batch: None }
    }
}

/// One PVF run's view for serving a host call: the host, the inner
/// machine and the run's session.
#[derive(Debug)]
pub struct Call<'a, H> {
    /// The service's host.
    pub host: &'a mut H,
    /// The inner machine.
    pub vm: u64,
    /// The run's heap and batch.
    pub session: &'a mut Session,
}

/// A call that failed; the caller names the symbol.
pub(crate) struct Failed;

impl<H: RefineHost> Call<'_, H> {
    /// Serves `function` named `symbol` with the inner machine's registers.
    pub fn serve(
        &mut self,
        function: HostFunction,
        symbol: &[u8],
        regs: &mut [u64; 13],
    ) -> Result<(), InvalidReason> {
        match function {
            HostFunction::Unavailable(why) => {
                let mut message = symbol.to_vec();
                message.extend_from_slice(b": ");
                message.extend_from_slice(why.reason());
                self.host.log(LogLevel::Warn, b"runtime", &message);
                Err(InvalidReason::UnavailableHostFunction(symbol.to_vec()))
            }
            HostFunction::NotServed => Err(InvalidReason::UnsupportedHostFunction(symbol.to_vec())),
            HostFunction::AbortOnPanic => {
                let message = self
                    .read(regs[7])
                    .map_err(|Failed| InvalidReason::HostFunctionFailed(symbol.to_vec()))?;
                self.host.log(
                    LogLevel::Error,
                    b"runtime",
                    &message[..message.len().min(MAX_LOG)],
                );
                Err(InvalidReason::Trapped)
            }
            served => self
                .served(served, regs)
                .map_err(|Failed| InvalidReason::HostFunctionFailed(symbol.to_vec())),
        }
    }

    /// One served function, by its group's module; its result in `ω7`.
    fn served(&mut self, function: HostFunction, regs: &mut [u64; 13]) -> Result<(), Failed> {
        let (a0, a1, a2) = (regs[7], regs[8], regs[9]);
        let result: u64 = match function {
            // allocator
            HostFunction::Malloc => {
                // `u32` arguments arrive zero- or sign-extended; the low half counts.
                let ptr = self
                    .session
                    .heap
                    .malloc(self.host, low(a0))
                    .map_err(|_| Failed)?;
                u64::from(ptr)
            }
            HostFunction::Free => {
                self.session.heap.free(low(a0)).map_err(|_| Failed)?;
                0
            }
            // hashing
            HostFunction::Hash(hasher, out) => self.hash(hasher, out, a0, a1)?,
            // crypto
            HostFunction::Ed25519Verify { batch } => self.verify_ed25519(batch, a0, a1, a2)?,
            HostFunction::Sr25519Verify { deprecated, batch } => {
                self.verify_sr25519(deprecated, batch, a0, a1, a2)?
            }
            HostFunction::EcdsaVerify { deprecated, batch } => {
                self.verify_ecdsa(deprecated, batch, a0, a1, a2)?
            }
            HostFunction::EcdsaVerifyPrehashed => self.verify_ecdsa_prehashed(a0, a1, a2)?,
            HostFunction::StartBatchVerify => self.start_batch()?,
            HostFunction::FinishBatchVerify => self.finish_batch()?,
            HostFunction::Secp256k1Recover {
                overflow,
                compressed,
                out,
            } => self.recover_secp256k1(overflow, compressed, out, a0, a1, a2)?,
            // trie
            HostFunction::TrieRoot {
                hash,
                ordered,
                layout,
                out,
            } => self.trie_root(hash, ordered, layout, out, a0, a1, a2)?,
            // misc
            HostFunction::RuntimeVersion(out) => self.runtime_version(out, a0, a1)?,
            HostFunction::PrintUtf8 => self.print_utf8(a0)?,
            HostFunction::PrintHex => self.print_hex(a0)?,
            HostFunction::PrintNum => self.print_num(a0),
            // logging
            HostFunction::Log => self.log_call(a0, a1, a2)?,
            HostFunction::MaxLevel => super::logging::MAX_LEVEL,
            HostFunction::AbortOnPanic | HostFunction::Unavailable(_) | HostFunction::NotServed => {
                return Err(Failed)
            }
        };
        regs[7] = result;
        Ok(())
    }

    /// A fixed-size result: allocated (its pointer returned) or written to
    /// the pointer `out_ptr`.
    pub(crate) fn fixed(&mut self, data: &[u8], out: Out, out_ptr: u64) -> Result<u64, Failed> {
        match out {
            Out::Allocated => Ok(u64::from(self.allocate(data)?)),
            Out::InPlace => {
                self.write(u64::from(low(out_ptr)), data)?;
                Ok(0)
            }
        }
    }

    /// `data` copied into a new allocation; its address.
    fn allocate(&mut self, data: &[u8]) -> Result<u32, Failed> {
        let len = u32::try_from(data.len()).map_err(|_| Failed)?;
        let ptr = self
            .session
            .heap
            .malloc(self.host, len)
            .map_err(|_| Failed)?;
        if !self.host.poke(self.vm, data, u64::from(ptr)) {
            return Err(Failed);
        }
        Ok(ptr)
    }

    /// `data` copied into a new allocation; its pointer-size.
    pub(crate) fn allocate_fat(&mut self, data: &[u8]) -> Result<u64, Failed> {
        let ptr = self.allocate(data)?;
        let len = u64::try_from(data.len()).map_err(|_| Failed)?;
        Ok(u64::from(ptr) | len << 32)
    }

    /// Writes `data` at the address in the low half of `ptr`.
    pub(crate) fn write(&mut self, ptr: u64, data: &[u8]) -> Result<(), Failed> {
        if data.is_empty() || self.host.poke(self.vm, data, u64::from(low(ptr))) {
            Ok(())
        } else {
            Err(Failed)
        }
    }

    /// The slice a pointer-size `ptr | len << 32` names (at most [`MAX_INPUT`]).
    pub(crate) fn read(&mut self, pointer_size: u64) -> Result<Vec<u8>, Failed> {
        let (ptr, len) = parajam_corechains_types::unpack_ptr_and_len(pointer_size);
        if len > MAX_INPUT {
            return Err(Failed);
        }
        let mut data = vec![0; len as usize];
        self.host
            .peek(self.vm, &mut data, u64::from(ptr))
            .then_some(data)
            .ok_or(Failed)
    }

    /// The `N` octets at the pointer in the low half of `ptr`.
    pub(crate) fn array<const N: usize>(&mut self, ptr: u64) -> Result<[u8; N], Failed> {
        let mut out = [0; N];
        self.host
            .peek(self.vm, &mut out, u64::from(low(ptr)))
            .then_some(out)
            .ok_or(Failed)
    }
}

/// The low 32 bits of a register holding a `u32`.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn low(reg: u64) -> u32 {
    reg as u32
}

/// The low 8 bits of a register holding a `u8` (passed as `u32`).
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn low8(reg: u64) -> u8 {
    reg as u8
}
