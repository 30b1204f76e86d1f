//! Host calls of the PVM invocations (GP 0.7.2 appendix B).
//!
//! * [`codes`]: the result constants `NONE`, `WHAT`, `OOB`, … and the inner
//!   machine result codes (GP B.1).
//! * [`HostCall`]: every host call by name, with its GP 0.7.2 index. Indices
//!   are a PVM-version rule (GP 0.8 renumbers them), so they are mapped here
//!   per [`PvmFlavor`], the protocol-version seam the PVM engine carries
//!   (a chain picks it once, with its [`parajam_pvm::Pvm`]).
//! * [`Machine`]: what a host call needs of the calling machine (registers,
//!   gas, memory with its access rights), implemented by the PVM engine and by
//!   test doubles.
//! * [`general`]: the general functions shared by every invocation kind
//!   (`gas`, `fetch`, `lookup`, `read`, `write`, `info`, and JIP-1 `log`).
//!
//! A host-call function returns a [`Control`]: continue, or stop the machine
//! with a panic or out-of-gas, exactly as the paper's `ε'`.

pub mod accumulate;
pub mod general;
pub mod pvm;
pub mod refine;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

/// Host-call result constants (GP B.1).
pub mod codes {
    /// The item does not exist.
    pub const NONE: u64 = u64::MAX;
    /// Name unknown.
    pub const WHAT: u64 = u64::MAX - 1;
    /// The inner PVM memory index is not accessible.
    pub const OOB: u64 = u64::MAX - 2;
    /// Index unknown.
    pub const WHO: u64 = u64::MAX - 3;
    /// Storage full or resource already allocated.
    pub const FULL: u64 = u64::MAX - 4;
    /// Core index unknown.
    pub const CORE: u64 = u64::MAX - 5;
    /// Insufficient funds.
    pub const CASH: u64 = u64::MAX - 6;
    /// Gas limit too low.
    pub const LOW: u64 = u64::MAX - 7;
    /// Already solicited, cannot be forgotten, or not privileged.
    pub const HUH: u64 = u64::MAX - 8;
    /// General success.
    pub const OK: u64 = 0;

    /// Inner invocation halted.
    pub const HALT: u64 = 0;
    /// Inner invocation panicked.
    pub const PANIC: u64 = 1;
    /// Inner invocation page-faulted.
    pub const FAULT: u64 = 2;
    /// Inner invocation made a host call.
    pub const HOST: u64 = 3;
    /// Inner invocation ran out of gas.
    pub const OOG: u64 = 4;
}

/// Every host call of GP 0.7.2 appendix B, plus JIP-1 `log`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostCall {
    /// `Ω_G` (B.7).
    Gas,
    /// `Ω_Y` (B.7).
    Fetch,
    /// `Ω_L` (B.7).
    Lookup,
    /// `Ω_R` (B.7).
    Read,
    /// `Ω_W` (B.7).
    Write,
    /// `Ω_I` (B.7).
    Info,
    /// `Ω_H` (B.8).
    HistoricalLookup,
    /// `Ω_E` (B.8).
    Export,
    /// `Ω_M` (B.8).
    Machine,
    /// `Ω_P` (B.8).
    Peek,
    /// `Ω_O` (B.8).
    Poke,
    /// `Ω_Z` (B.8).
    Pages,
    /// `Ω_K` (B.8).
    Invoke,
    /// `Ω_X` (B.8).
    Expunge,
    /// `Ω_B` (B.9).
    Bless,
    /// `Ω_A` (B.9).
    Assign,
    /// `Ω_D` (B.9).
    Designate,
    /// `Ω_C` (B.9).
    Checkpoint,
    /// `Ω_N` (B.9).
    New,
    /// `Ω_U` (B.9).
    Upgrade,
    /// `Ω_T` (B.9).
    Transfer,
    /// `Ω_J` (B.9).
    Eject,
    /// `Ω_Q` (B.9).
    Query,
    /// `Ω_S` (B.9).
    Solicit,
    /// `Ω_F` (B.9).
    Forget,
    /// `Ω_Ƴ` (B.9).
    Yield,
    /// `Ω_Aries` provide (B.9).
    Provide,
    /// JIP-1 logging.
    Log,
}

pub use parajam_pvm::PvmFlavor;

impl HostCall {
    const GP072: [Self; 27] = [
        Self::Gas,
        Self::Fetch,
        Self::Lookup,
        Self::Read,
        Self::Write,
        Self::Info,
        Self::HistoricalLookup,
        Self::Export,
        Self::Machine,
        Self::Peek,
        Self::Poke,
        Self::Pages,
        Self::Invoke,
        Self::Expunge,
        Self::Bless,
        Self::Assign,
        Self::Designate,
        Self::Checkpoint,
        Self::New,
        Self::Upgrade,
        Self::Transfer,
        Self::Eject,
        Self::Query,
        Self::Solicit,
        Self::Forget,
        Self::Yield,
        Self::Provide,
    ];

    /// The call an `ecalli` index names under `flavor`'s numbering, if
    /// any (GP 0.7.x: `gas = 0` … `provide = 26`, `log = 100`).
    pub fn from_index(flavor: PvmFlavor, index: u32) -> Option<Self> {
        match flavor {
            PvmFlavor::Gp072 => match index {
                100 => Some(Self::Log),
                i => Self::GP072.get(usize::try_from(i).ok()?).copied(),
            },
        }
    }

    /// The index of this call under `flavor`'s numbering.
    pub fn index(self, flavor: PvmFlavor) -> u32 {
        match flavor {
            PvmFlavor::Gp072 => {
                if self == Self::Log {
                    100
                } else {
                    let pos = Self::GP072.iter().position(|c| *c == self).unwrap_or(0);
                    u32::try_from(pos).unwrap_or(0)
                }
            }
        }
    }
}

/// What a host call leaves the machine to do next (`ε'` of the paper).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// `▸`: resume after the `ecalli`.
    Continue,
    /// `☇`: the machine panics.
    Panic,
    /// `∞`: out of gas.
    OutOfGas,
    /// Not an outcome of the paper: the node could not serve the call (an
    /// inner machine's engine failed). The run stops without a GP outcome
    /// and its caller reports a node failure.
    Abort,
}

/// What a host call needs of the machine that made it.
///
/// Memory addresses are the full 64-bit register values: anything beyond the
/// 32-bit address space is simply not accessible.
pub trait Machine {
    /// `ω_i`, `i < 13`.
    fn reg(&self, index: usize) -> u64;
    /// Sets `ω_i`.
    fn set_reg(&mut self, index: usize, value: u64);
    /// `ϱ`: the gas counter.
    fn gas(&self) -> i64;
    /// Sets `ϱ`.
    fn set_gas(&mut self, gas: i64);
    /// Whether every octet of `[address, address + len)` is readable
    /// (`N_{address..+len} ⊆ V_μ`; true for `len = 0`).
    fn is_readable(&self, address: u64, len: u64) -> bool;
    /// Whether every octet of the range is writable (`⊆ V*_μ`).
    fn is_writable(&self, address: u64, len: u64) -> bool;
    /// Reads the range; `None` if any of it is not readable. Implementations
    /// check before allocating, so a huge `len` costs nothing.
    fn read(&self, address: u64, len: u64) -> Option<Vec<u8>>;
    /// Writes `data` at `address`; `false` (and nothing written) if any of the
    /// range is not writable.
    fn write(&mut self, address: u64, data: &[u8]) -> bool;
}

/// The base cost of a host call (`g = 10`, GP B.7 – B.9).
pub const BASE_GAS: i64 = 10;

/// Charges `g`: out of gas if `ϱ < g` (the counter is still reduced, GP B.7).
pub fn charge(machine: &mut impl Machine, g: i64) -> Control {
    let gas = machine.gas();
    machine.set_gas(gas.saturating_sub(g));
    if gas < g {
        Control::OutOfGas
    } else {
        Control::Continue
    }
}

/// Charges the base cost `g = 10`; `Some(control)` if the machine must stop.
pub(crate) fn charged(machine: &mut impl Machine) -> Option<Control> {
    match charge(machine, BASE_GAS) {
        Control::Continue => None,
        stop => Some(stop),
    }
}

/// An unknown host call: `ω7 = WHAT` for `g = 10` (GP eq. B.2 / B.4).
pub fn unknown(machine: &mut impl Machine) -> Control {
    match charge(machine, BASE_GAS) {
        Control::Continue => {
            machine.set_reg(7, codes::WHAT);
            Control::Continue
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gp072_numbering_round_trips() {
        for i in 0..=26 {
            let call = HostCall::from_index(PvmFlavor::Gp072, i).expect("defined");
            assert_eq!(call.index(PvmFlavor::Gp072), i);
        }
        assert_eq!(
            HostCall::from_index(PvmFlavor::Gp072, 100),
            Some(HostCall::Log)
        );
        assert_eq!(HostCall::from_index(PvmFlavor::Gp072, 27), None);
        assert_eq!(
            HostCall::from_index(PvmFlavor::Gp072, 3),
            Some(HostCall::Read)
        );
        assert_eq!(
            HostCall::from_index(PvmFlavor::Gp072, 26),
            Some(HostCall::Provide)
        );
    }

    #[test]
    fn unknown_calls_cost_ten_and_answer_what() {
        let mut m = testing::TestMachine::new(100);
        assert_eq!(unknown(&mut m), Control::Continue);
        assert_eq!((m.gas, m.regs[7]), (90, codes::WHAT));
        let mut m = testing::TestMachine::new(5);
        assert_eq!(unknown(&mut m), Control::OutOfGas);
    }
}
