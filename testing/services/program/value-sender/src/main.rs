//! The value-sender test service: its accumulate sends the one transfer
//! its storage orders, through the GP 0.7.2 `transfer` host call (`Ω_T`,
//! host call 20), and records what the host call answered. Refine returns
//! nothing. The storage layout is `parajam_test_services`'s (its crate
//! docs): order under `send`, outcome under `sent`.

#![no_std]
#![no_main]

extern crate alloc;

use jam_pvm_common::{accumulate as acc, imports};
use jam_types::{CoreIndex, Hash, ServiceId, Slot, WorkOutput, WorkPackageHash, WorkPayload};

/// The storage key of the order.
const ORDER_KEY: &[u8] = b"send";
/// The storage key of the outcome.
const OUTCOME_KEY: &[u8] = b"sent";
/// `E4(destination) ⌢ E8(amount) ⌢ E8(gas) ⌢ memo`.
const ORDER_LEN: usize = 4 + 8 + 8 + 128;
/// GP 0.7.2 `OK`.
const OK: u64 = 0;

struct ValueSender;
jam_pvm_common::declare_service!(ValueSender);

impl jam_pvm_common::Service for ValueSender {
    fn refine(
        _core_index: CoreIndex,
        _item_index: usize,
        _service_id: ServiceId,
        _payload: WorkPayload,
        _package_hash: WorkPackageHash,
    ) -> WorkOutput {
        WorkOutput(alloc::vec::Vec::new())
    }

    fn accumulate(slot: Slot, _service_id: ServiceId, _item_count: usize) -> Option<Hash> {
        let order = acc::get_storage(ORDER_KEY)?;
        if order.len() != ORDER_LEN {
            jam_pvm_common::warn!(
                target = "value-sender",
                "an order of {} octets, not {ORDER_LEN}: left alone",
                order.len()
            );
            return None;
        }
        let word = |at: usize| {
            let mut octets = [0u8; 8];
            octets.copy_from_slice(&order[at..at + 8]);
            u64::from_le_bytes(octets)
        };
        let destination = u32::from_le_bytes([order[0], order[1], order[2], order[3]]);
        let amount = word(4);
        let gas = word(12);
        let memo = &order[20..];
        // The raw `ω7` of `Ω_T`: `OK`, or `WHO`, `LOW`, `CASH`.
        // SAFETY: `memo` is 128 readable octets, what `Ω_T` reads.
        let result =
            unsafe { imports::transfer(u64::from(destination), amount, gas, memo.as_ptr()) };
        let mut outcome = [0u8; 12];
        outcome[..4].copy_from_slice(&slot.to_le_bytes());
        outcome[4..].copy_from_slice(&result.to_le_bytes());
        if acc::set_storage(OUTCOME_KEY, &outcome).is_err() {
            // Too little balance for the item: the outcome is in the log.
            jam_pvm_common::warn!(target = "value-sender", "cannot store the outcome");
        }
        if result == OK {
            acc::remove_storage(ORDER_KEY);
        }
        jam_pvm_common::info!(
            target = "value-sender",
            "transfer of {amount} to {destination} with gas {gas} at slot {slot}: {result}"
        );
        None
    }
}
