//! What the adder PVF's test binaries share: its input for a block, and a
//! run of its PVM build.

use parajam_adder::{BlockData, HeadData};
use parajam_adder_build::PVM_ENTRY_PC;
use parajam_corechains_types as types;
use parajam_pvm::{Backend, ExitReason, HostCallAction, Program, Pvm};
use parity_scale_codec::Encode;

/// The gas a run of the PVF gets.
pub const GAS: i64 = 10_000_000;

/// The encoded `ValidationParams` of `block` on `parent`.
pub fn params(parent: &HeadData, block: &BlockData, relay_parent_number: u32) -> Vec<u8> {
    types::ValidationParams {
        parent_head: types::HeadData(parent.encode().to_vec()),
        block_data: types::BlockData(block.encode().to_vec()),
        relay_parent_number,
        relay_parent_storage_root: [0x33; 32],
    }
    .encode()
}

/// Runs the PVF on `backend`: `Ok(result octets, gas used)` on a halt,
/// else the exit.
pub fn run_pvm(
    pvm: &Pvm,
    backend: Backend,
    program: &Program,
    input: &[u8],
) -> Result<(Vec<u8>, u64), ExitReason> {
    let outcome = pvm
        .run_program(backend, program, PVM_ENTRY_PC, GAS, input, &mut |_| {
            HostCallAction::Panic
        })
        .expect("the PVM runs the program");
    if outcome.exit != ExitReason::Halt {
        return Err(outcome.exit);
    }
    let (ptr, len) = types::unpack_ptr_and_len(outcome.machine.regs[7]);
    let output = outcome
        .read_memory(u64::from(ptr), u64::from(len))
        .expect("the result is readable");
    Ok((output, outcome.gas_used()))
}
