//! The PVF's heap: a freeing-bump allocator over the inner machine's memory,
//! as Substrate's executors give a runtime (`sc-allocator`'s
//! `FreeingBumpHeapAllocator`): sizes round up to a power of two from 8
//! octets to 32 MiB; each block is preceded by an 8-octet header slot; a
//! freed block goes on its size's free list and is reused by the next
//! allocation of that size; otherwise the heap grows by bumping.
//!
//! The blocks live in the inner machine's memory; the bookkeeping (free
//! lists, which addresses are live) is kept here in the service, so
//! allocating costs no `peek`/`poke`, and a PVF cannot corrupt the
//! allocator by writing over a header. Pages are made accessible (`pages`,
//! writable and zeroed) as the bump pointer first reaches them.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::host::InnerVm;

/// The smallest block.
const MIN_SIZE: u32 = 8;
/// Block sizes `8 << order` for `order < ORDERS`: up to 32 MiB.
const ORDERS: usize = 23;
/// The header slot before each block.
const HEADER: u32 = 8;
/// `Z_P`.
const PAGE: u32 = 4096;

/// Why an allocation or a free failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocError {
    /// More than 32 MiB asked for.
    TooLarge(u32),
    /// The heap is full.
    OutOfMemory,
    /// Freeing an address that is not a live allocation.
    BadFree(u32),
    /// The inner machine refused the pages.
    Pages,
}

/// The allocator of one PVF run.
#[derive(Debug)]
pub struct Allocator {
    vm: u64,
    end: u32,
    bump: u32,
    mapped: u32,
    free: [Vec<u32>; ORDERS],
    live: BTreeMap<u32, u8>,
}

impl Allocator {
    /// A heap over `[base, end)` of inner machine `vm`, whose pages from
    /// `base` (page-aligned) are not accessible yet.
    pub fn new(vm: u64, base: u32, end: u32) -> Self {
        let base = base.next_multiple_of(PAGE);
        Self {
            vm,
            end,
            bump: base,
            mapped: base,
            free: Default::default(),
            live: BTreeMap::new(),
        }
    }

    /// Allocates `size` octets; their address.
    pub fn malloc(&mut self, host: &mut impl InnerVm, size: u32) -> Result<u32, AllocError> {
        let order = order_of(size).ok_or(AllocError::TooLarge(size))?;
        let ptr = if let Some(ptr) = self.free[order].pop() {
            ptr
        } else {
            let ptr = self
                .bump
                .checked_add(HEADER)
                .ok_or(AllocError::OutOfMemory)?;
            let next = ptr
                .checked_add(MIN_SIZE << order)
                .filter(|&next| next <= self.end)
                .ok_or(AllocError::OutOfMemory)?;
            self.map_to(host, next)?;
            self.bump = next;
            ptr
        };
        #[allow(clippy::cast_possible_truncation)] // order < 23
        self.live.insert(ptr, order as u8);
        Ok(ptr)
    }

    /// Frees the block at `ptr`.
    pub fn free(&mut self, ptr: u32) -> Result<(), AllocError> {
        let order = self.live.remove(&ptr).ok_or(AllocError::BadFree(ptr))?;
        self.free[usize::from(order)].push(ptr);
        Ok(())
    }

    /// Live allocations.
    pub fn live(&self) -> usize {
        self.live.len()
    }

    /// The heap's high-water mark (the bump pointer).
    pub fn high_water(&self) -> u32 {
        self.bump
    }

    fn map_to(&mut self, host: &mut impl InnerVm, end: u32) -> Result<(), AllocError> {
        if end <= self.mapped {
            return Ok(());
        }
        let to = end.div_ceil(PAGE);
        let from = self.mapped / PAGE;
        if !host.zero_pages(self.vm, u64::from(from), u64::from(to - from), true) {
            return Err(AllocError::Pages);
        }
        self.mapped = to * PAGE;
        Ok(())
    }
}

/// The order of the smallest block that holds `size` octets.
fn order_of(size: u32) -> Option<usize> {
    if size > MIN_SIZE << (ORDERS - 1) {
        return None;
    }
    let size = size.max(MIN_SIZE);
    Some((size.next_power_of_two() / MIN_SIZE).trailing_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemVm;

    #[test]
    fn orders_round_up_to_powers_of_two() {
        assert_eq!(order_of(0), Some(0));
        assert_eq!(order_of(8), Some(0));
        assert_eq!(order_of(9), Some(1));
        assert_eq!(order_of(4096), Some(9));
        assert_eq!(order_of(32 << 20), Some(22));
        assert_eq!(order_of((32 << 20) + 1), None);
    }

    #[test]
    fn bumps_reuses_freed_blocks_and_maps_pages_lazily() {
        let mut vm = MemVm::default();
        let id = vm.machine(&[0], 0).expect("test value");
        let mut heap = Allocator::new(id, 0x3_0000, 0x10_0000);
        let a = heap.malloc(&mut vm, 10).expect("test value");
        assert_eq!(a, 0x3_0000 + 8);
        assert!(vm.poke(id, &[1; 16], u64::from(a)), "the block is writable");
        let b = heap.malloc(&mut vm, 16).expect("test value");
        assert_eq!(
            b,
            a + 16 + 8,
            "bumped past a's 16-octet block and b's header"
        );
        heap.free(a).expect("test value");
        assert_eq!(heap.free(a), Err(AllocError::BadFree(a)), "double free");
        assert_eq!(
            heap.malloc(&mut vm, 12).expect("test value"),
            a,
            "a's block is reused"
        );
        let big = heap.malloc(&mut vm, 3 * 4096).expect("test value");
        assert!(
            vm.poke(id, &[2; 3 * 4096], u64::from(big)),
            "pages were mapped"
        );
        assert_eq!(heap.live(), 3);
        assert_eq!(heap.malloc(&mut vm, 1 << 20), Err(AllocError::OutOfMemory));
        assert_eq!(
            heap.malloc(&mut vm, u32::MAX),
            Err(AllocError::TooLarge(u32::MAX))
        );
    }
}
