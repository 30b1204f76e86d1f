//! Test JAM services: PVM guests built from source by this crate's
//! `build.rs` (the guest workspace `program/`, over Parity's
//! `jam-pvm-common` 0.1.28 `declare_service!`) and linked for GP 0.7.2 by
//! `parajam-guest-build`, refine at program counter 0 and accumulate at 5.
//! For tests only; nothing in the node depends on them.
//!
//! # The value sender ([`VALUE_SENDER_PROGRAM`])
//!
//! Each accumulate reads the order under [`ORDER_KEY`] in its own storage;
//! if there is one, it sends it with the GP 0.7.2 `transfer` host call
//! (`Ω_T`: a deferred transfer, an accumulate input of the destination in
//! the block's next accumulation round), stores the outcome under
//! [`OUTCOME_KEY`], and, when the host call answered `OK`, removes the
//! order: it sends exactly once. A refused order stays and is tried again
//! at the next accumulate. It also logs the outcome (JIP-1, target
//! `value-sender`). Refine returns an empty output.
//!
//! | key | value | layout |
//! |---|---|---|
//! | `send` ([`ORDER_KEY`]) | [`Order`] | `E4(destination) ⌢ E8(amount) ⌢ E8(gas) ⌢ memo`, 148 octets (a memo of 128) |
//! | `sent` ([`OUTCOME_KEY`]) | [`Outcome`] | `E4(slot) ⌢ E8(result)`, 12 octets: the timeslot of the accumulate and `Ω_T`'s `ω7` |
//!
//! (`E4`, `E8`: little-endian, GP C.1.) An order of another length is left
//! alone (and logged). The sender needs gas for `Ω_T`'s `10 + gas` on top
//! of its own, e.g. as an always-accumulate service (`χ_A`).
//!
//! # Building
//!
//! As `corechains-service/build`: the `rust-src` component and the crates
//! of `program/Cargo.lock`; the guests compile once into `<target
//! dir>/parajam-test-services`, shared by every profile.

/// The value sender's GP standard program (GP A.7).
pub const VALUE_SENDER_PROGRAM: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/value-sender.program"));

/// The storage key of the value sender's order.
pub const ORDER_KEY: &[u8] = b"send";

/// The storage key of the value sender's last outcome.
pub const OUTCOME_KEY: &[u8] = b"sent";

/// The length of a memo (GP `W_T`).
pub const MEMO_LEN: usize = 128;

/// The length of an encoded [`Order`].
pub const ORDER_LEN: usize = 4 + 8 + 8 + MEMO_LEN;

/// The length of an encoded [`Outcome`].
pub const OUTCOME_LEN: usize = 4 + 8;

/// GP 0.7.2 host-call results `Ω_T` answers.
pub mod result {
    /// The transfer is deferred.
    pub const OK: u64 = 0;
    /// No such destination service.
    pub const WHO: u64 = u64::MAX - 3;
    /// Less than the destination's minimum memo gas.
    pub const LOW: u64 = u64::MAX - 7;
    /// The sender's balance would fall under its threshold.
    pub const CASH: u64 = u64::MAX - 6;
}

/// A transfer the value sender is to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    /// The destination service.
    pub destination: u32,
    /// The amount.
    pub amount: u64,
    /// The gas limit the destination's accumulate gets with it.
    pub gas: u64,
    /// The memo.
    pub memo: [u8; MEMO_LEN],
}

impl Order {
    /// `E4(destination) ⌢ E8(amount) ⌢ E8(gas) ⌢ memo`.
    #[must_use]
    pub fn encode(&self) -> [u8; ORDER_LEN] {
        let mut out = [0u8; ORDER_LEN];
        out[..4].copy_from_slice(&self.destination.to_le_bytes());
        out[4..12].copy_from_slice(&self.amount.to_le_bytes());
        out[12..20].copy_from_slice(&self.gas.to_le_bytes());
        out[20..].copy_from_slice(&self.memo);
        out
    }

    /// The order `octets` encode ([`Self::encode`]), if they are one.
    #[must_use]
    pub fn decode(octets: &[u8]) -> Option<Self> {
        let octets: &[u8; ORDER_LEN] = octets.try_into().ok()?;
        let (destination, rest) = octets.split_first_chunk::<4>()?;
        let (amount, rest) = rest.split_first_chunk::<8>()?;
        let (gas, memo) = rest.split_first_chunk::<8>()?;
        Some(Self {
            destination: u32::from_le_bytes(*destination),
            amount: u64::from_le_bytes(*amount),
            gas: u64::from_le_bytes(*gas),
            memo: memo.try_into().ok()?,
        })
    }
}

/// What the value sender's last attempt at its order came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The timeslot of the accumulate that tried.
    pub slot: u32,
    /// `Ω_T`'s `ω7`: [`result::OK`] or the refusal.
    pub result: u64,
}

impl Outcome {
    /// `E4(slot) ⌢ E8(result)`.
    #[must_use]
    pub fn encode(&self) -> [u8; OUTCOME_LEN] {
        let mut out = [0u8; OUTCOME_LEN];
        out[..4].copy_from_slice(&self.slot.to_le_bytes());
        out[4..].copy_from_slice(&self.result.to_le_bytes());
        out
    }

    /// The outcome `octets` encode ([`Self::encode`]), if they are one.
    #[must_use]
    pub fn decode(octets: &[u8]) -> Option<Self> {
        let octets: &[u8; OUTCOME_LEN] = octets.try_into().ok()?;
        let (slot, result) = octets.split_first_chunk::<4>()?;
        Some(Self {
            slot: u32::from_le_bytes(*slot),
            result: u64::from_le_bytes(result.try_into().ok()?),
        })
    }
}

/// `∆1` (GP 0.7.2 eq. `accone`) of `service` at `slot`: its accumulate
/// with the deferred `transfers` and the `reports` for it, and the free gas
/// `state` gives it (`χ_Z`), run on the interpreter with the recompiler
/// crosschecked (they must agree on everything).
pub fn accumulate_crosschecked(
    state: &parajam_host::accumulate::PartialState,
    slot: u32,
    params: &parajam_primitives::ProtocolParameters,
    transfers: &[parajam_host::accumulate::DeferredTransfer],
    reports: &[parajam_primitives::types::WorkReport],
    service: u32,
) -> parajam_stf::accumulate::invocation::AccumulationOutcome {
    let pvm = parajam_pvm::Pvm::new(parajam_pvm::PvmFlavor::Gp072).expect("a PVM");
    let executor = parajam_stf::accumulate::Executor {
        pvm: &pvm,
        backend: parajam_pvm::Backend::Interpreter,
        crosscheck: true,
    };
    let entropy = parajam_primitives::types::OpaqueHash::from([0; 32]);
    let block = parajam_stf::accumulate::BlockContext {
        timeslot: slot,
        entropy: &entropy,
        params,
    };
    parajam_stf::accumulate::execution::accumulate_one(
        &executor,
        &block,
        state,
        transfers,
        reports,
        &state.always_acc,
        service,
    )
    .expect("accumulated, both backends agreeing")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_and_outcomes_round_trip_and_other_lengths_are_none() {
        let mut memo = [0u8; MEMO_LEN];
        memo[0] = 1;
        memo[127] = 0xff;
        let order = Order {
            destination: 0x0102_0304,
            amount: 5,
            gas: 7,
            memo,
        };
        let octets = order.encode();
        assert_eq!(&octets[..4], &[4, 3, 2, 1]);
        assert_eq!(octets[4], 5);
        assert_eq!(octets[12], 7);
        assert_eq!(octets[20], 1);
        assert_eq!(Order::decode(&octets), Some(order));
        assert_eq!(Order::decode(&octets[1..]), None);
        let outcome = Outcome {
            slot: 3,
            result: result::CASH,
        };
        assert_eq!(Outcome::decode(&outcome.encode()), Some(outcome));
        assert_eq!(Outcome::decode(&[0; 11]), None);
    }
}
