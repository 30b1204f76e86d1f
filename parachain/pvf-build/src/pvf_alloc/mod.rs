//! The PVF's allocator, compiled natively for its tests: the generated PVM
//! crate gets `heap.rs` and `global.rs` as source text
//! ([`crate::project::PVF_HEAP_SOURCE`]), not this module.

// Free-list links and the host's address are kept in blocks aligned to 8
// or more (the casts' SAFETY comments say why).
#[allow(unsafe_code, clippy::cast_ptr_alignment)]
mod heap;
// The tests cast small numbers to fill bytes and sizes.
#[allow(unsafe_code, clippy::cast_possible_truncation)]
mod tests;
