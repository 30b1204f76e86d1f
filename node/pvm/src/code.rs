//! [`CodeBlob`]: a GP code blob parsed once, to be run again and again.

use std::collections::BTreeSet;
use std::fmt;

use polkavm::{ProgramBlob, ProgramCounter};

use crate::quirks::block_tail;

/// The offsets of every `sbrk` instruction of the code.
/// A GP code blob parsed once ([`Pvm::prepare_code`](crate::Pvm::prepare_code)), so that running it
/// again and again (an inner machine resumed after every host call) parses,
/// hashes and compiles nothing anew.
#[derive(Clone)]
pub struct CodeBlob {
    pub(crate) hash: [u8; 32],
    pub(crate) blob: ProgramBlob,
    pub(crate) sbrk_pcs: BTreeSet<u32>,
    /// See `quirks::wide_destinations`.
    pub(crate) wide:
        std::sync::Arc<std::collections::BTreeMap<u32, crate::quirks::WideDestination>>,
    /// The blob renumbered for polkavm 0.37's recompiler, where that is
    /// exact (see `translate`).
    pub(crate) translated: Option<std::sync::Arc<[u8]>>,
}

impl fmt::Debug for CodeBlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeBlob")
            .field("code_len", &self.blob.code().len())
            .finish_non_exhaustive()
    }
}

impl CodeBlob {
    /// The offset of the instruction after the one at `pc`, if an
    /// instruction starts at `pc`.
    pub fn next_instruction_offset(&self, pc: u32) -> Option<u32> {
        if usize::try_from(pc).map_or(true, |pc| pc >= self.blob.code().len()) {
            return None;
        }
        self.blob
            .instructions_bounded_at(ProgramCounter(pc))
            .next()
            .filter(|instruction| instruction.offset.0 == pc)
            .map(|instruction| instruction.next_offset.0)
    }

    /// How many instructions follow the one at `pc` in its basic block
    /// (zero if none starts at `pc`): what a run that stops at `pc` has
    /// paid for on entering the block but not run (see the crate docs,
    /// "Gas").
    pub fn block_tail(&self, pc: u32) -> i64 {
        block_tail(&self.blob, pc)
    }

    /// How many instructions of `pc`'s basic block come before `pc`: what
    /// polkavm charges on entering the block at `pc` beyond the paper.
    pub fn block_entry_overcharge(&self, pc: u32) -> i64 {
        let mut before = 0i64;
        for instruction in self.blob.instructions() {
            if instruction.offset.0 >= pc {
                break;
            }
            before = if instruction.kind.starts_new_basic_block() {
                0
            } else {
                before + 1
            };
        }
        before
    }
}

pub(crate) fn sbrk_offsets(blob: &ProgramBlob) -> BTreeSet<u32> {
    blob.instructions()
        .filter(|i| matches!(i.kind, polkavm::program::Instruction::sbrk(..)))
        .map(|i| i.offset.0)
        .collect()
}
