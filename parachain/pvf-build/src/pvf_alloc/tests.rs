//! The heap over a mock host allocator (the process's own), natively.

use std::alloc::Layout;
use std::collections::BTreeMap;

use super::heap::{Heap, Host, CHUNK};

/// A host allocator that hands out 8-aligned blocks of the process's heap,
/// remembers them, refuses blocks of `refuse_from` octets or more, and fails
/// the test on a free of anything it did not hand out.
#[derive(Debug, Default)]
struct MockHost {
    blocks: BTreeMap<usize, (*mut u8, Layout)>,
    sizes: Vec<u32>,
    frees: usize,
    refuse_from: Option<u32>,
}

// SAFETY: blocks from the global allocator, 8-aligned, disjoint; `free`
// takes only what `malloc` gave (else it panics).
unsafe impl Host for MockHost {
    fn malloc(&mut self, size: u32) -> *mut u8 {
        if self.refuse_from.is_some_and(|limit| size >= limit) {
            return std::ptr::null_mut();
        }
        let layout = Layout::from_size_align(size.max(1) as usize, 8).expect("test value");
        // SAFETY: a layout of non-zero size.
        let block = unsafe { std::alloc::alloc(layout) };
        assert!(!block.is_null());
        self.blocks.insert(block.addr(), (block, layout));
        self.sizes.push(size);
        block
    }

    fn free(&mut self, ptr: *mut u8) {
        let (block, layout) = self
            .blocks
            .remove(&ptr.addr())
            .expect("the heap frees only what the host handed out");
        // SAFETY: handed out by `malloc` with this layout.
        unsafe { std::alloc::dealloc(block, layout) };
        self.frees += 1;
    }
}

impl Drop for MockHost {
    fn drop(&mut self) {
        for (_, (block, layout)) in std::mem::take(&mut self.blocks) {
            // SAFETY: as in `free`.
            unsafe { std::alloc::dealloc(block, layout) };
        }
    }
}

impl MockHost {
    /// How many chunks it handed out.
    fn chunks(&self) -> usize {
        self.sizes.iter().filter(|&&s| s as usize == CHUNK).count()
    }

    /// Whether `ptr` is a block it handed out and that is live.
    fn is_block(&self, ptr: *mut u8) -> bool {
        self.blocks.contains_key(&ptr.addr())
    }
}

fn heap() -> Box<Heap<MockHost>> {
    Box::new(Heap::new(MockHost::default()))
}

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).expect("test value")
}

/// Fills `size` octets at `ptr` with `byte`.
fn fill(ptr: *mut u8, size: usize, byte: u8) {
    // SAFETY: the tests pass live blocks of at least `size` octets.
    unsafe { std::ptr::write_bytes(ptr, byte, size) };
}

/// Whether `size` octets at `ptr` are all `byte`.
fn holds(ptr: *mut u8, size: usize, byte: u8) -> bool {
    // SAFETY: as in `fill`.
    unsafe { std::slice::from_raw_parts(ptr, size) }
        .iter()
        .all(|&b| b == byte)
}

#[test]
fn small_allocations_share_one_chunk_and_freed_blocks_are_reused() {
    let mut heap = heap();
    let blocks: Vec<*mut u8> = (0..1000).map(|_| heap.alloc(layout(24, 8))).collect();
    for (i, &block) in blocks.iter().enumerate() {
        assert_eq!(block.addr() % 32, 0, "a 32-octet block, naturally aligned");
        fill(block, 24, i as u8);
    }
    assert_eq!(heap.host().sizes, vec![CHUNK as u32], "one host call");
    let mut sorted: Vec<usize> = blocks.iter().map(|b| b.addr()).collect();
    sorted.sort_unstable();
    assert!(sorted.windows(2).all(|w| w[1] - w[0] >= 32), "disjoint");
    for (i, &block) in blocks.iter().enumerate() {
        assert!(holds(block, 24, i as u8));
    }

    // SAFETY: a live block of this layout.
    unsafe { heap.dealloc(blocks[500], layout(24, 8)) };
    assert_eq!(
        heap.alloc(layout(20, 4)),
        blocks[500],
        "the same class reuses the freed block"
    );
    // SAFETY: as above.
    unsafe { heap.dealloc(blocks[7], layout(24, 8)) };
    assert_ne!(
        heap.alloc(layout(64, 8)),
        blocks[7],
        "another class does not"
    );
    assert_eq!(heap.host().frees, 0, "nothing went back to the host");

    // 1 MiB of 64-octet blocks needs a second chunk, not more.
    for _ in 0..(CHUNK / 64) {
        assert!(!heap.alloc(layout(64, 8)).is_null());
    }
    assert_eq!(heap.host().chunks(), 2);
}

#[test]
fn every_alignment_is_honoured() {
    let mut heap = heap();
    let mut live = Vec::new();
    for shift in 0..=20 {
        let align = 1usize << shift;
        for size in [1, 8, 24, 100, 4096, 65_536, 70_000] {
            let layout = layout(size, align);
            let block = heap.alloc(layout);
            assert!(!block.is_null());
            assert_eq!(block.addr() % align, 0, "{layout:?}");
            let byte = (live.len() % 251) as u8;
            fill(block, size, byte);
            live.push((block, layout, byte));
        }
    }
    for &(block, layout, byte) in &live {
        assert!(
            holds(block, layout.size(), byte),
            "{layout:?} was overwritten"
        );
        // SAFETY: a live block of this layout.
        unsafe { heap.dealloc(block, layout) };
    }
    let chunks = heap.host().chunks();
    assert_eq!(
        heap.host().blocks.len(),
        chunks,
        "every block the host gave but the chunks went back"
    );
}

#[test]
fn large_allocations_go_to_the_host() {
    let mut heap = heap();
    let block = heap.alloc(layout(100_000, 8));
    assert_eq!(heap.host().sizes, vec![100_000]);
    assert!(heap.host().is_block(block), "the host's own block");
    fill(block, 100_000, 1);
    // SAFETY: a live block of this layout.
    unsafe { heap.dealloc(block, layout(100_000, 8)) };
    assert_eq!(heap.host().frees, 1);

    // A larger alignment than the host's: `align` octets more, the host's
    // block freed by its own address.
    let block = heap.alloc(layout(100_000, 4096));
    assert_eq!(heap.host().sizes[1], 100_000 + 4096);
    assert_eq!(block.addr() % 4096, 0);
    fill(block, 100_000, 2);
    // SAFETY: as above.
    unsafe { heap.dealloc(block, layout(100_000, 4096)) };
    assert_eq!(heap.host().frees, 2);
    assert!(heap.host().blocks.is_empty());
    assert_eq!(heap.host().chunks(), 0, "no chunk for large blocks");
}

#[test]
fn blocks_the_host_allocated_are_freed_by_the_host() {
    let mut heap = heap();
    // A host function's result: a vector in a host block, owned by the
    // runtime, which drops or grows it.
    let dropped = heap.host().malloc(10);
    let grown = heap.host().malloc(10);
    fill(grown, 10, 9);
    let kept = heap.alloc(layout(10, 1));
    // SAFETY: host blocks of 10 octets, alignment 1.
    unsafe { heap.dealloc(dropped, layout(10, 1)) };
    assert!(!heap.host().is_block(dropped));
    // SAFETY: as above.
    let moved = unsafe { heap.realloc(grown, layout(10, 1), 100) };
    assert!(!heap.host().is_block(grown), "the host's block was freed");
    assert!(!heap.host().is_block(moved), "the new one is in a chunk");
    assert!(holds(moved, 10, 9));
    assert_eq!(heap.host().frees, 2);
    assert_ne!(kept, moved);
}

#[test]
fn realloc_keeps_the_contents() {
    let mut heap = heap();
    let small = heap.alloc(layout(24, 8));
    fill(small, 24, 3);
    // SAFETY: each call passes the live block of the layout it has.
    unsafe {
        assert_eq!(
            heap.realloc(small, layout(24, 8), 32),
            small,
            "the same class: in place"
        );
        let grown = heap.realloc(small, layout(32, 8), 1000);
        assert_ne!(grown, small);
        assert!(holds(grown, 24, 3));
        fill(grown, 1000, 4);
        let shrunk = heap.realloc(grown, layout(1000, 8), 10);
        assert!(holds(shrunk, 10, 4));
        let large = heap.realloc(shrunk, layout(10, 8), 200_000);
        assert!(heap.host().is_block(large), "large: the host's");
        assert!(holds(large, 10, 4));
        fill(large, 200_000, 5);
        let back = heap.realloc(large, layout(200_000, 8), 100);
        assert!(!heap.host().is_block(large), "the large block was freed");
        assert!(holds(back, 100, 5));
        // Alignment is kept through a move.
        let aligned = heap.alloc(layout(8, 256));
        fill(aligned, 8, 6);
        let moved = heap.realloc(aligned, layout(8, 256), 300);
        assert_eq!(moved.addr() % 256, 0);
        assert!(holds(moved, 8, 6));
        heap.dealloc(moved, layout(300, 256));
        heap.dealloc(back, layout(100, 8));
    }
    assert_eq!(heap.host().chunks(), 1);
}

#[test]
fn without_chunks_every_allocation_goes_to_the_host() {
    let mut host = MockHost::default();
    host.refuse_from = Some(CHUNK as u32);
    let mut heap = Box::new(Heap::new(host));
    let block = heap.alloc(layout(24, 8));
    assert!(heap.host().is_block(block));
    let aligned = heap.alloc(layout(24, 64));
    assert_eq!(aligned.addr() % 64, 0);
    // SAFETY: live blocks of these layouts.
    unsafe {
        heap.dealloc(block, layout(24, 8));
        heap.dealloc(aligned, layout(24, 64));
    }
    assert!(heap.host().blocks.is_empty());
}

#[test]
fn churn_keeps_blocks_intact_and_disjoint() {
    let mut heap = heap();
    let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
    // The most octets live in blocks of at most 64 KiB (rounded up to
    // powers of two: what the chunks must hold).
    let small_octets = |live: &[(*mut u8, Layout, u8)]| -> usize {
        live.iter()
            .map(|(_, l, _)| l.size().max(l.align()).max(16).next_power_of_two())
            .filter(|&s| s <= 1 << 16)
            .sum()
    };
    let mut peak = 0;
    // xorshift64: the same sequence every run.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for step in 0..30_000u32 {
        let roll = next();
        let byte = (step % 253) as u8;
        if live.is_empty() || roll % 3 != 0 {
            let size = match roll % 10 {
                0 => (next() % 200_000) as usize + 1,
                1..=3 => (next() % 4096) as usize + 1,
                _ => (next() % 128) as usize + 1,
            };
            let layout = layout(size, 1 << (next() % 8));
            let block = heap.alloc(layout);
            assert!(!block.is_null());
            assert_eq!(block.addr() % layout.align(), 0);
            fill(block, size, byte);
            live.push((block, layout, byte));
            peak = peak.max(small_octets(&live));
        } else {
            let index = (next() % live.len() as u64) as usize;
            let (block, layout, old) = live.swap_remove(index);
            assert!(holds(block, layout.size(), old), "step {step}: overwritten");
            if roll % 2 == 0 {
                // SAFETY: a live block of this layout.
                unsafe { heap.dealloc(block, layout) };
            } else {
                let size = (next() % 8192) as usize + 1;
                // SAFETY: as above.
                let moved = unsafe { heap.realloc(block, layout, size) };
                assert!(holds(moved, size.min(layout.size()), old));
                fill(moved, size, byte);
                live.push((
                    moved,
                    Layout::from_size_align(size, layout.align()).expect("test value"),
                    byte,
                ));
                peak = peak.max(small_octets(&live));
            }
        }
    }
    for (block, layout, byte) in live {
        assert!(holds(block, layout.size(), byte));
        // SAFETY: as above.
        unsafe { heap.dealloc(block, layout) };
    }
    let chunks = heap.host().chunks();
    assert_eq!(heap.host().blocks.len(), chunks, "only the chunks are left");
    // Blocks are never merged: freed ones wait for their class. Churn over
    // all classes still keeps the chunks within twice the peak.
    assert!(
        chunks * CHUNK <= 2 * peak + CHUNK,
        "{chunks} chunks for {peak} octets"
    );
}
