//! The host-call machine interface over parajam's PVM engine.

use parajam_pvm::HostCallContext;

use crate::Machine;

impl Machine for HostCallContext<'_> {
    fn reg(&self, index: usize) -> u64 {
        HostCallContext::reg(self, index)
    }
    fn set_reg(&mut self, index: usize, value: u64) {
        HostCallContext::set_reg(self, index, value);
    }
    fn gas(&self) -> i64 {
        HostCallContext::gas(self)
    }
    fn set_gas(&mut self, gas: i64) {
        HostCallContext::set_gas(self, gas);
    }
    fn is_readable(&self, address: u64, len: u64) -> bool {
        HostCallContext::is_readable(self, address, len)
    }
    fn is_writable(&self, address: u64, len: u64) -> bool {
        HostCallContext::is_writable(self, address, len)
    }
    fn read(&self, address: u64, len: u64) -> Option<Vec<u8>> {
        self.read_memory(address, len).ok()
    }
    fn write(&mut self, address: u64, data: &[u8]) -> bool {
        self.write_memory(address, data).is_ok()
    }
}

/// The PVM action for a host call's [`crate::Control`].
pub fn action(control: crate::Control) -> parajam_pvm::HostCallAction {
    match control {
        crate::Control::Continue => parajam_pvm::HostCallAction::Continue,
        crate::Control::Panic => parajam_pvm::HostCallAction::Panic,
        crate::Control::OutOfGas => parajam_pvm::HostCallAction::OutOfGas,
    }
}
