//! The PVF's own heap on the PVM: a sub-allocator over large chunks it
//! takes from the host's allocator.
//!
//! A runtime built with sp-io's allocator sends every Rust allocation and
//! free to the host (`ext_allocator_malloc_version_1` /
//! `ext_allocator_free_version_1`). On JAM each of those host calls leaves
//! the PVF (the CoreChains service's inner machine) and enters the service
//! program: thousands of round trips per block. This heap asks the host for
//! [`CHUNK`]s (the same `malloc` import, served the same way: pages are
//! mapped as the host's allocator reaches them) and serves allocations from
//! them inside the PVF, so a block crosses for each chunk instead of each
//! allocation.
//!
//! - Blocks of 16 octets to 64 KiB come in power-of-two size classes. A
//!   block of size `s` sits at an address that is a multiple of `s`
//!   ("naturally aligned"), so it satisfies every alignment up to `s`; a
//!   layout's class is the smallest one at least as large as its size and
//!   its alignment.
//! - A freed block goes on its class's free list (the link is kept in the
//!   block itself) and is reused first, last freed first out; otherwise the
//!   block is cut from the current chunk at the next multiple of its size.
//!   What is skipped to get there, and what is left of a chunk when a new
//!   one is taken, is cut into naturally aligned blocks for the free lists:
//!   nothing of a chunk is lost. Blocks are never merged, as in the host's
//!   freeing-bump allocator.
//! - Larger layouts (and any layout once the host refuses a chunk) go to
//!   the host's allocator directly, as before. The host aligns its blocks to
//!   8 octets (sc-allocator's freeing-bump allocator and the CoreChains
//!   service's both do; sp-io's own global allocator assumes the same), so
//!   a larger alignment is made by asking for `align` octets more and
//!   keeping the host's address in the 8 octets before the aligned one.
//! - The runtime also frees memory the host allocated: host functions
//!   return vectors in host-allocated blocks (sp-runtime-interface's
//!   `AllocateAndReturn*`), which the runtime owns and drops (or grows) like
//!   any other. Any address outside this heap's chunks is the host's, and
//!   is freed by the host. (Such vectors are `Vec<u8>`: alignment 1.)
//!
//! No state but this structure; no clock, no randomness: the same calls
//! give the same addresses on every validator.
//!
//! This file is carried by `parajam-pvf-build` and copied into the crate it
//! generates around a runtime for the PVM (with `global.rs`, the
//! `#[global_allocator]` over it); its unit tests run natively in
//! `parajam-pvf-build`.

use core::alloc::Layout;
use core::ptr;

/// The octets asked of the host at a time: 1 MiB.
pub const CHUNK: usize = 1 << 20;
/// `log2` of the smallest block: 16 octets (room for a free-list link; the
/// least alignment any block has).
const MIN_SHIFT: u32 = 4;
/// `log2` of the largest block served from chunks: 64 KiB.
const MAX_SHIFT: u32 = 16;
/// The number of size classes.
const CLASSES: usize = (MAX_SHIFT - MIN_SHIFT + 1) as usize;
/// The most chunks kept track of (2 GiB of them); past it, every allocation
/// goes to the host.
const MAX_CHUNKS: usize = 2048;
/// The alignment of every block the host's allocator returns.
const HOST_ALIGN: usize = 8;

/// The host's allocator.
///
/// # Safety
///
/// `malloc` returns null or the address of `size` writable octets, aligned
/// to 8, that overlap no other live block; `free` takes an address
/// `malloc` returned and that was not freed since.
pub unsafe trait Host {
    /// `size` octets from the host.
    fn malloc(&mut self, size: u32) -> *mut u8;
    /// Gives back a block `malloc` returned.
    fn free(&mut self, ptr: *mut u8);
}

/// The heap: free lists, the current chunk and where the chunks are.
pub struct Heap<H> {
    host: H,
    /// The first free block of each class (null: none).
    free: [*mut u8; CLASSES],
    /// The first octet of the current chunk not handed out yet (null before
    /// the first chunk).
    bump: *mut u8,
    /// The address just past the current chunk.
    end: usize,
    /// The start addresses of the chunks (as the host returned them), in
    /// increasing order.
    chunks: [usize; MAX_CHUNKS],
    /// How many of `chunks` are in use.
    chunk_count: usize,
}

impl<H: Host> Heap<H> {
    /// An empty heap over `host`'s allocator (it asks for nothing yet).
    pub const fn new(host: H) -> Self {
        Self {
            host,
            free: [ptr::null_mut(); CLASSES],
            bump: ptr::null_mut(),
            end: 0,
            chunks: [0; MAX_CHUNKS],
            chunk_count: 0,
        }
    }

    /// The host's allocator.
    #[allow(dead_code)] // Used by the tests.
    pub fn host(&mut self) -> &mut H {
        &mut self.host
    }

    /// A block for `layout`, or null if the host has no memory left.
    pub fn alloc(&mut self, layout: Layout) -> *mut u8 {
        if let Some(class) = class_of(layout) {
            let block = self.alloc_block(class);
            if !block.is_null() {
                return block;
            }
        }
        self.alloc_direct(layout)
    }

    /// Frees `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block that [`Self::alloc`] or [`Self::realloc`]
    /// returned for `layout`, or one the host's `malloc` returned whose
    /// size is at least `layout`'s and whose alignment `layout`'s is at
    /// most 8.
    pub unsafe fn dealloc(&mut self, ptr: *mut u8, layout: Layout) {
        if self.owns(ptr) {
            // Every block in a chunk was served for a layout with a class.
            if let Some(class) = class_of(layout) {
                // SAFETY: `ptr` is a block of this class in a chunk, no
                // longer used by the caller.
                unsafe { self.push(class, ptr) };
            }
        } else {
            // SAFETY: not in a chunk, so it came from the host, directly
            // (`alloc_direct`) or as a host function's result.
            unsafe { self.free_direct(ptr, layout) };
        }
    }

    /// `ptr`'s block resized to `new_size` octets, its contents kept up to
    /// the smaller size; null if that failed (then `ptr` is unchanged).
    ///
    /// # Safety
    ///
    /// As for [`Self::dealloc`]; `new_size` is not 0.
    pub unsafe fn realloc(&mut self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return ptr::null_mut();
        };
        if self.owns(ptr) && class_of(layout) == class_of(new_layout) {
            // The block has room for the new size (its class's size).
            return ptr;
        }
        let new = self.alloc(new_layout);
        if !new.is_null() {
            // SAFETY: both blocks are live, distinct, and hold at least the
            // octets copied; then the old one is freed as the caller allows.
            unsafe {
                ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }

    /// A block of `class`: the first free one, else one cut from the
    /// current chunk or a new one; null if the host gave no chunk.
    fn alloc_block(&mut self, class: usize) -> *mut u8 {
        let head = self.free[class];
        if !head.is_null() {
            // SAFETY: a free block holds the link to the next one of its
            // class at its start (aligned: blocks are 16-aligned).
            self.free[class] = unsafe { head.cast::<*mut u8>().read() };
            return head;
        }
        let size = class_size(class);
        if let Some(block) = self.cut(size) {
            return block;
        }
        if !self.new_chunk() {
            return ptr::null_mut();
        }
        // A new chunk holds any block: 1 MiB against at most 64 KiB
        // skipped and 64 KiB taken.
        self.cut(size).unwrap_or(ptr::null_mut())
    }

    /// A block of `size` octets (a class's) at the current chunk's next
    /// multiple of `size`, the octets skipped given to the free lists; none
    /// if the chunk has no room.
    fn cut(&mut self, size: usize) -> Option<*mut u8> {
        if self.bump.is_null() {
            return None;
        }
        let at = self.bump.addr();
        let start = at.checked_next_multiple_of(size)?;
        if start.checked_add(size)? > self.end {
            return None;
        }
        let block = self.bump.wrapping_add(start - at);
        self.spill(self.bump, start);
        self.bump = block.wrapping_add(size);
        Some(block)
    }

    /// Gives the octets from `from` up to the address `to` (both multiples
    /// of 16, in a chunk, not handed out) to the free lists, cut into the
    /// largest naturally aligned blocks that fit.
    fn spill(&mut self, mut from: *mut u8, to: usize) {
        loop {
            let at = from.addr();
            let left = to.saturating_sub(at);
            if left < 1 << MIN_SHIFT {
                return;
            }
            // The largest power of two that divides `at`, fits and is a
            // class: at least 16, as `at` and `left` are multiples of 16.
            let shift = at.trailing_zeros().min(left.ilog2()).min(MAX_SHIFT);
            // SAFETY: `[from, from + 2^shift)` is in the chunk and unused.
            unsafe { self.push(class_of_shift(shift), from) };
            from = from.wrapping_add(1 << shift);
        }
    }

    /// Puts `block` on `class`'s free list.
    ///
    /// # Safety
    ///
    /// `block` is a naturally aligned block of `class` in a chunk that
    /// nothing uses.
    unsafe fn push(&mut self, class: usize, block: *mut u8) {
        // SAFETY: the block is writable, 16-aligned and at least 16 octets.
        unsafe { block.cast::<*mut u8>().write(self.free[class]) };
        self.free[class] = block;
    }

    /// Takes a new chunk from the host and makes it the current one, the
    /// rest of the old one going to the free lists; false if the host (or
    /// the chunk table) has no room.
    fn new_chunk(&mut self) -> bool {
        if self.chunk_count == MAX_CHUNKS {
            return false;
        }
        let Ok(size) = u32::try_from(CHUNK) else {
            return false;
        };
        let raw = self.host.malloc(size);
        if raw.is_null() {
            return false;
        }
        if !self.bump.is_null() {
            self.spill(self.bump, self.end);
        }
        let start = raw.addr();
        let count = self.chunk_count;
        let index = self.chunks[..count].partition_point(|&c| c < start);
        self.chunks.copy_within(index..count, index + 1);
        self.chunks[index] = start;
        self.chunk_count = count + 1;
        // The host's 8-aligned block, from its first multiple of 16.
        self.bump = raw.wrapping_add(start.next_multiple_of(1 << MIN_SHIFT) - start);
        self.end = start + CHUNK;
        true
    }

    /// Whether `ptr` is in one of the chunks.
    fn owns(&self, ptr: *mut u8) -> bool {
        let at = ptr.addr();
        let chunks = &self.chunks[..self.chunk_count];
        let index = chunks.partition_point(|&c| c <= at);
        index > 0 && at - chunks[index - 1] < CHUNK
    }

    /// A block for `layout` straight from the host; null if it has none.
    fn alloc_direct(&mut self, layout: Layout) -> *mut u8 {
        let align = layout.align();
        if align <= HOST_ALIGN {
            return u32::try_from(layout.size()).map_or(ptr::null_mut(), |s| self.host.malloc(s));
        }
        // `align` octets more: room for an aligned address at least 8
        // octets past the host's (8-aligned) one and at most `align`.
        let Some(total) = layout
            .size()
            .checked_add(align)
            .and_then(|total| u32::try_from(total).ok())
        else {
            return ptr::null_mut();
        };
        let raw = self.host.malloc(total);
        if raw.is_null() {
            return raw;
        }
        let at = raw.addr();
        let block = raw.wrapping_add((at + HOST_ALIGN).next_multiple_of(align) - at);
        // SAFETY: the 8 octets before `block` are in the host's block, and
        // aligned for an address (`block` is aligned to 16 or more).
        unsafe { block.wrapping_sub(HOST_ALIGN).cast::<*mut u8>().write(raw) };
        block
    }

    /// Gives a block that is not in a chunk back to the host.
    ///
    /// # Safety
    ///
    /// `ptr` came from [`Self::alloc_direct`] for `layout`, or from the
    /// host with `layout`'s alignment at most 8.
    unsafe fn free_direct(&mut self, ptr: *mut u8, layout: Layout) {
        let raw = if layout.align() <= HOST_ALIGN {
            ptr
        } else {
            // SAFETY: `alloc_direct` kept the host's address there.
            unsafe { ptr.wrapping_sub(HOST_ALIGN).cast::<*mut u8>().read() }
        };
        self.host.free(raw);
    }
}

/// The octets of a block of `class`.
const fn class_size(class: usize) -> usize {
    1 << (class + MIN_SHIFT as usize)
}

/// The class of blocks of `2^shift` octets (`MIN_SHIFT <= shift <= MAX_SHIFT`).
fn class_of_shift(shift: u32) -> usize {
    (shift - MIN_SHIFT) as usize
}

/// The smallest class whose blocks hold `layout` (size and alignment), if
/// any.
fn class_of(layout: Layout) -> Option<usize> {
    let size = layout
        .size()
        .max(layout.align())
        .max(1 << MIN_SHIFT)
        .checked_next_power_of_two()?;
    (size <= 1 << MAX_SHIFT).then(|| class_of_shift(size.trailing_zeros()))
}
