//! The value sender's accumulate on the PVM (the STF's `∆1`, GP 0.7.2 eq.
//! `accone`, both backends crosschecked), given free gas as an
//! always-accumulate service: it sends its order through `Ω_T` exactly
//! once, and records a refusal without sending.
//!
//! `--no-capture` shows the gas its accumulate used.

use std::collections::BTreeMap;

use parajam_authoring::genesis::service_account;
use parajam_host::accumulate::{DeferredTransfer, PartialState};
use parajam_primitives::types::{ServiceAccount, ServiceInfo};
use parajam_primitives::ProtocolParameters;
use parajam_stf::accumulate::invocation::AccumulationOutcome;
use parajam_test_services::{
    accumulate_crosschecked, result, Order, Outcome, ORDER_KEY, OUTCOME_KEY, VALUE_SENDER_PROGRAM,
};

const PARAMS: ProtocolParameters = ProtocolParameters::TINY;
const SENDER: u32 = 77;
const DEST: u32 = 5;
const BALANCE: u64 = 1 << 30;
/// Its always-accumulate gas.
const FREE_GAS: u64 = 10_000_000;
/// The gas its transfer brings.
const TRANSFER_GAS: u64 = 1_000_000;

fn memo() -> [u8; 128] {
    std::array::from_fn(|i| u8::try_from(i).expect("< 128"))
}

/// The sender with `order` in its storage, and a code-less [`DEST`].
fn state(order: &Order) -> PartialState {
    let mut sender = service_account(VALUE_SENDER_PROGRAM, BALANCE, 0, 0);
    sender.set_storage(ORDER_KEY, Some(order.encode().to_vec()));
    let dest = ServiceAccount::with_info(ServiceInfo {
        balance: 1 << 20,
        ..ServiceInfo::default()
    });
    PartialState {
        accounts: BTreeMap::from([(SENDER, sender), (DEST, dest)]),
        assigners: vec![0; usize::from(PARAMS.core_count)],
        always_acc: BTreeMap::from([(SENDER, FREE_GAS)]),
        ..PartialState::default()
    }
}

fn accumulate(state: &PartialState, slot: u32) -> AccumulationOutcome {
    let outcome = accumulate_crosschecked(state, slot, &PARAMS, &[], &[], SENDER);
    println!(
        "the sender's accumulate at slot {slot} used {} gas",
        outcome.gas_used
    );
    outcome
}

fn outcome(state: &PartialState) -> Option<Outcome> {
    Outcome::decode(state.accounts[&SENDER].storage(OUTCOME_KEY)?)
}

fn logs(outcome: &AccumulationOutcome) -> Vec<String> {
    outcome
        .logs
        .iter()
        .map(|l| String::from_utf8_lossy(&l.message).into_owned())
        .collect()
}

#[test]
fn the_value_sender_sends_its_order_once_through_the_transfer_host_call() {
    let order = Order {
        destination: DEST,
        amount: 1234,
        gas: TRANSFER_GAS,
        memo: memo(),
    };
    let first = accumulate(&state(&order), 3);
    assert_eq!(
        first.transfers,
        vec![DeferredTransfer {
            source: SENDER,
            dest: DEST,
            amount: 1234,
            memo: memo().to_vec(),
            gas: TRANSFER_GAS,
        }]
    );
    // Ω_T charges 10 + the transfer's gas (GP 0.7.2 B.7).
    assert!(first.gas_used > TRANSFER_GAS + 10, "{}", first.gas_used);
    assert!(first.gas_used <= FREE_GAS);
    let after = &first.state;
    assert_eq!(
        outcome(after),
        Some(Outcome {
            slot: 3,
            result: result::OK
        })
    );
    assert_eq!(
        after.accounts[&SENDER].storage(ORDER_KEY),
        None,
        "sent once"
    );
    assert_eq!(after.accounts[&SENDER].info.balance, BALANCE - 1234);
    let logs = logs(&first);
    assert!(
        logs.iter()
            .any(|l| l == "transfer of 1234 to 5 with gas 1000000 at slot 3: 0"),
        "{logs:?}"
    );

    // The next accumulate has no order: nothing is sent, nothing changes.
    let second = accumulate(after, 4);
    assert!(second.transfers.is_empty());
    assert_eq!(second.state.accounts[&SENDER], after.accounts[&SENDER]);
}

#[test]
fn a_refused_order_is_recorded_and_kept() {
    for (order, refusal) in [
        (
            Order {
                destination: DEST,
                amount: BALANCE,
                gas: TRANSFER_GAS,
                memo: memo(),
            },
            result::CASH,
        ),
        (
            Order {
                destination: 999,
                amount: 1,
                gas: TRANSFER_GAS,
                memo: memo(),
            },
            result::WHO,
        ),
    ] {
        let done = accumulate(&state(&order), 3);
        assert!(done.transfers.is_empty());
        let sender = &done.state.accounts[&SENDER];
        assert_eq!(
            outcome(&done.state),
            Some(Outcome {
                slot: 3,
                result: refusal
            })
        );
        assert_eq!(
            sender.storage(ORDER_KEY).and_then(Order::decode),
            Some(order),
            "tried again at the next accumulate"
        );
        assert_eq!(sender.info.balance, BALANCE);
    }
}
