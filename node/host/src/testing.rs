//! A machine double for tests of host calls (feature `testing`):
//! registers, gas and pages with access rights.
#![allow(clippy::cast_possible_truncation)] // test-only: 4 KiB pages, offsets below 2^32

use std::collections::BTreeMap;

use crate::{Control, Machine};

/// The page size of the double, `Z_P`.
pub const PAGE: u64 = 4096;

/// A [`Machine`] of registers, gas and pages, each readable and maybe
/// writable; nothing else is accessible.
#[derive(Debug, Clone)]
pub struct TestMachine {
    /// `ω`.
    pub regs: [u64; 13],
    /// The gas left.
    pub gas: i64,
    /// page index → (writable, contents)
    pub pages: BTreeMap<u64, (bool, Vec<u8>)>,
}

impl TestMachine {
    /// No pages, zero registers and `gas`.
    pub fn new(gas: i64) -> Self {
        Self {
            regs: [0; 13],
            gas,
            pages: BTreeMap::new(),
        }
    }

    /// Maps `count` pages from `address` (page-aligned), zeroed.
    pub fn map(&mut self, address: u64, count: u64, writable: bool) {
        for p in address / PAGE..address / PAGE + count {
            self.pages.insert(p, (writable, vec![0; PAGE as usize]));
        }
    }

    /// Sets the registers `regs` (index, value), runs the host call `f`,
    /// which must let the machine continue, and returns `ω7`.
    pub fn call(&mut self, regs: &[(usize, u64)], f: impl FnOnce(&mut Self) -> Control) -> u64 {
        for &(i, v) in regs {
            self.regs[i] = v;
        }
        assert_eq!(f(self), Control::Continue);
        self.regs[7]
    }

    fn all_pages(&self, address: u64, len: u64, need_write: bool) -> bool {
        if len == 0 {
            return true;
        }
        let Some(end) = address.checked_add(len - 1) else {
            return false;
        };
        if end >= 1 << 32 {
            return false;
        }
        (address / PAGE..=end / PAGE)
            .all(|p| self.pages.get(&p).is_some_and(|(w, _)| *w || !need_write))
    }
}

impl Machine for TestMachine {
    fn reg(&self, index: usize) -> u64 {
        self.regs[index]
    }
    fn set_reg(&mut self, index: usize, value: u64) {
        self.regs[index] = value;
    }
    fn gas(&self) -> i64 {
        self.gas
    }
    fn set_gas(&mut self, gas: i64) {
        self.gas = gas;
    }
    fn is_readable(&self, address: u64, len: u64) -> bool {
        self.all_pages(address, len, false)
    }
    fn is_writable(&self, address: u64, len: u64) -> bool {
        self.all_pages(address, len, true)
    }
    fn read(&self, address: u64, len: u64) -> Option<Vec<u8>> {
        if !self.is_readable(address, len) {
            return None;
        }
        Some(
            (address..address + len)
                .map(|a| self.pages[&(a / PAGE)].1[(a % PAGE) as usize])
                .collect(),
        )
    }
    fn write(&mut self, address: u64, data: &[u8]) -> bool {
        if !self.is_writable(address, data.len() as u64) {
            return false;
        }
        for (i, b) in data.iter().enumerate() {
            let a = address + i as u64;
            if let Some(page) = self.pages.get_mut(&(a / PAGE)) {
                page.1[(a % PAGE) as usize] = *b;
            }
        }
        true
    }
}
