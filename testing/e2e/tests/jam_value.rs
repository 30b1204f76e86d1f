//! SLOW (runtime/parachain from its build cache; then a few blocks): value
//! between a JAM service and a para, both ways, on a JAM dev chain
//! (`parajam_rehearsal::network`), every para block checked on wasm (the
//! relay chain's PVF executor) and on the PVM (`Ξ`), compared, and enacted
//! by accumulate (issue 21: "a JAM service transfers to para 2000's
//! beneficiary; the para credits it; the para sends value back to that
//! service's account; the service's balance shows it").
//!
//! In: service [`JAM_SERVICE`] is a real JAM service on the PVM, the
//! value sender of `parajam_test_services` (its code a preimage at
//! genesis), privileged to always accumulate (GP 0.7.2 `χ_Z`, with
//! [`SENDER_GAS`]). Its storage holds one order at genesis: [`IN`] to the
//! CoreChains service with a value memo naming para 2000 and Bob. The dev
//! chain's first block (slot [`TRANSFER_SLOT`], no work package)
//! accumulates it: it sends the order through the `transfer` host call
//! (`Ω_T`) and records the answer; the deferred transfer is an input of
//! the CoreChains service's accumulate in the block's next round (GP 0.7.2
//! `∆+`), which queues the downward `ReserveAssetDeposited + ClearOrigin +
//! BuyExecution + DepositAsset` for 2000 and holds the amount as 2000's
//! sovereign balance. 2000's collator delivers it, runtime/parachain's
//! message queue runs it and Bob's relay-token balance (`RelayBalances`,
//! the runtime's second `pallet-balances` instance) grows by the amount
//! less the XCM fee.
//!
//! Out: Bob on 2000 reserve-withdraws relay tokens to
//! `(Parent, GeneralIndex(JAM_SERVICE))` (`pallet-xcm`'s
//! `limited_reserve_transfer_assets`: `WithdrawAsset + ClearOrigin +
//! BuyExecution + DepositAsset + SetTopic` up); the block's upward XCM
//! makes the CoreChains service send a JAM transfer from 2000's sovereign
//! balance, which the chain credits to the service.

use parajam_authoring::genesis::service_account;
use parajam_collator::ParaState;
use parajam_corechains_service::host_functions::Hasher;
use parajam_corechains_types::memo::Memo;
use parajam_corechains_types::state::{InboundDownwardMessage, StorageKey};
use parajam_corechains_types::ParaId;
use parajam_e2e::runtime_parachain;
use parajam_e2e::{assert_block_ok, dev_account, free_balance};
use parajam_primitives::types::AlwaysAccumulateMapEntry;
use parajam_rehearsal::drive::SERVICE;
use parajam_rehearsal::network::Network;
use parajam_rehearsal::xcm_calls::reserve_withdraw_to_service;
use parajam_rehearsal::Config;
use parajam_test_services::{result, Order, Outcome, ORDER_KEY, OUTCOME_KEY, VALUE_SENDER_PROGRAM};
use parity_scale_codec::Decode;

/// One unit of runtime/parachain's currency.
const UNIT: u64 = 1_000_000_000_000;
const PARA: u32 = 2000;
/// The JAM service that sends value to the para and gets some back.
const JAM_SERVICE: u32 = 77;
/// Its balance at genesis, before it pays [`IN`].
const JAM_SERVICE_BALANCE: u64 = 1 << 50;
/// Its always-accumulate gas: its own accumulate and `Ω_T`'s `10 + GAS`.
const SENDER_GAS: u64 = 2 * GAS;
/// What it sends the para's beneficiary.
const IN: u64 = 5 * UNIT;
/// What Bob sends it back.
const OUT: u64 = 2 * UNIT;
/// The timeslot the sender sends and the CoreChains service accumulates
/// the transfer in: the dev chain's first block. Not 0: cumulus counts a
/// downward message sent at relay block 0 as processed already (its last
/// processed message id starts at `sent_at` 0), so one sent at 0 would be
/// dropped and its MQC head mismatch.
const TRANSFER_SLOT: u32 = 1;
/// The gas its transfer brings for the CoreChains service's accumulate.
const GAS: u64 = 5_000_000;

/// The relay-token free balance of `account` in `state`:
/// `RelayBalances::Account(account)`'s `AccountData { free, reserved,
/// frozen, flags }` (zero if it has none).
fn relay_free(state: &ParaState, account: &[u8; 32]) -> u128 {
    let key = [
        Hasher::Twox128.hash(b"RelayBalances"),
        Hasher::Twox128.hash(b"Account"),
        Hasher::Blake2_128.hash(account),
        account.to_vec(),
    ]
    .concat();
    let Some(raw) = state.storage(&key).expect("reads") else {
        return 0;
    };
    let (free, _, _, _): (u128, u128, u128, u128) =
        Decode::decode(&mut raw.as_slice()).expect("AccountData decodes");
    free
}

fn jam_balance(net: &Network, service: u32) -> u64 {
    net.chain().state().accounts[&service].info.balance
}

fn stored<T: Decode>(net: &Network, key: StorageKey) -> Option<T> {
    T::decode(&mut &net.service_storage(key)?[..]).ok()
}

/// The network, with [`JAM_SERVICE`] the value sender, ordered to send
/// [`IN`] to Bob on [`PARA`] and always accumulating: the first block has
/// sent it.
fn network() -> Network {
    Network::with_genesis(
        runtime_parachain(&[]),
        Config::default(),
        &[PARA],
        &[],
        |genesis, _, _| {
            let memo = Memo::value(ParaId(0), PARA, 0, TRANSFER_SLOT, dev_account("Bob"));
            let order = Order {
                destination: SERVICE,
                amount: IN,
                gas: GAS,
                memo: memo.encode(),
            };
            let mut sender = service_account(VALUE_SENDER_PROGRAM, JAM_SERVICE_BALANCE, 0, 0);
            sender.set_storage(ORDER_KEY, Some(order.encode().to_vec()));
            genesis.services.insert(JAM_SERVICE, sender);
            genesis
                .privileges
                .always_acc
                .push(AlwaysAccumulateMapEntry {
                    id: JAM_SERVICE,
                    gas: SENDER_GAS,
                });
            Ok(())
        },
    )
    .expect("a network")
}

fn bob_relay(net: &Network) -> u128 {
    relay_free(net.parent(PARA).expect("para"), &dev_account("Bob"))
}

/// The sender's recorded outcome is the first block's `transfer`, `OK`,
/// and its order is gone (sent once).
fn assert_sent_at_the_transfer_slot(net: &Network) {
    let sender = &net.chain().state().accounts[&JAM_SERVICE];
    assert_eq!(
        sender.storage(OUTCOME_KEY).and_then(Outcome::decode),
        Some(Outcome {
            slot: TRANSFER_SLOT,
            result: result::OK
        })
    );
    assert_eq!(sender.storage(ORDER_KEY), None, "sent once");
}

/// The first block: the sender's accumulate sent its order through `Ω_T`
/// (`OK`) and dropped it; the CoreChains service accumulated the transfer
/// in the same block (the next accumulation round).
fn assert_sent_in_the_first_block(net: &Network) {
    assert_eq!(net.chain().slot(), TRANSFER_SLOT);
    assert_sent_at_the_transfer_slot(net);
    assert_eq!(jam_balance(net, JAM_SERVICE), JAM_SERVICE_BALANCE - IN);
    let accumulation = net.chain().last_accumulation();
    let (sender_gas, _) = accumulation.statistics[&JAM_SERVICE];
    let (service_gas, _) = accumulation.statistics[&SERVICE];
    // The sender's includes the `GAS` its transfer took along (`Ω_T`).
    println!(
        "accumulate gas at slot {TRANSFER_SLOT}: the sender {sender_gas} \
         ({GAS} of it for the transfer), the CoreChains service {service_gas}"
    );
    let logs: Vec<String> = accumulation
        .logs
        .iter()
        .map(|(service, entry)| format!("{service}: {}", String::from_utf8_lossy(&entry.message)))
        .collect();
    println!("{logs:#?}");
    let sent = format!(
        "{JAM_SERVICE}: transfer of {IN} to {SERVICE} with gas {GAS} at slot {TRANSFER_SLOT}: 0"
    );
    assert!(logs.contains(&sent), "{logs:?}");
    let delivered = format!(
        "{SERVICE}: TransferDelivered {{ source: {JAM_SERVICE}, para: ParaId({PARA}), amount: {IN}"
    );
    assert!(logs.iter().any(|l| l.starts_with(&delivered)), "{logs:?}");
}

#[test]
fn slow_a_jam_service_s_transfer_credits_the_beneficiary_and_value_goes_back() {
    let mut net = network();
    let bob = dev_account("Bob");

    assert_sent_in_the_first_block(&net);

    // The service holds the value for the para and has queued the XCM.
    let queue: Vec<InboundDownwardMessage> =
        stored(&net, StorageKey::DownwardQueue(ParaId(PARA))).expect("queued");
    assert_eq!(queue.len(), 1);
    assert_eq!(
        stored::<u64>(&net, StorageKey::SovereignBalance(ParaId(PARA))),
        Some(IN)
    );
    assert_eq!(bob_relay(&net), 0, "no relay token at genesis");

    // In: the collator delivers the downward message, the para's message
    // queue runs it (in this block or the next), Bob is credited in the
    // relay token with the amount less the XCM execution fee; his native
    // balance does not change.
    let bob_native = free_balance(net.parent(PARA).expect("para"), &bob);
    let b = net.step(PARA, vec![]).expect("block");
    assert_block_ok(&b);
    assert_eq!(b.messaging.delivered_downward, 1, "{b}");
    assert_eq!(b.messaging.processed_downward, 1, "{b}");
    assert_eq!(
        stored::<Vec<InboundDownwardMessage>>(&net, StorageKey::DownwardQueue(ParaId(PARA)))
            .unwrap_or_default(),
        vec![],
        "processed, pruned"
    );
    if bob_relay(&net) == 0 {
        assert_block_ok(&net.step(PARA, vec![]).expect("block"));
    }
    let credited = bob_relay(&net);
    println!("Bob credited {credited} of {IN}");
    assert!(credited <= u128::from(IN), "{credited}");
    // The fee is the weight of four instructions, far under a thousandth.
    assert!(credited > u128::from(IN - IN / 1000), "{credited}");
    assert_eq!(
        free_balance(net.parent(PARA).expect("para"), &bob),
        bob_native
    );

    // Out: Bob sends relay tokens back to the JAM service's account.
    let tx = net.tx_format(PARA).expect("tx format");
    let call = reserve_withdraw_to_service(&tx, JAM_SERVICE, u128::from(OUT)).expect("call");
    let service_before = jam_balance(&net, JAM_SERVICE);
    let extrinsic = net.signed(PARA, "Bob", &call, 0).expect("signs");
    let b = net.step(PARA, vec![extrinsic]).expect("block");
    assert_block_ok(&b);
    assert!(b.failed_dispatches.is_empty(), "{b}");
    assert!(b.messaging.sent_upward >= 1, "{b}");
    // The service's record of it: a transfer sent to the JAM service.
    let sent =
        format!("TransferSent {{ para: ParaId({PARA}), service: {JAM_SERVICE}, amount: {OUT}");
    let logs: Vec<String> = net
        .chain()
        .last_accumulation()
        .logs
        .iter()
        .filter(|(service, _)| *service == SERVICE)
        .map(|(_, entry)| String::from_utf8_lossy(&entry.message).into_owned())
        .collect();
    assert!(logs.iter().any(|l| l.starts_with(&sent)), "{logs:?}");
    // Bob's relay tokens paid it (burnt here: the reserve is the relay
    // chain's), his native tokens the transaction fee.
    assert_eq!(bob_relay(&net), credited - u128::from(OUT));
    assert!(free_balance(net.parent(PARA).expect("para"), &bob) < bob_native);
    assert_eq!(
        stored::<u64>(&net, StorageKey::SovereignBalance(ParaId(PARA))),
        Some(IN - OUT),
        "the reserve pays"
    );
    // The deferred transfer is credited when the chain accumulates it
    // (this block's later accumulation rounds, or the next block's).
    if jam_balance(&net, JAM_SERVICE) == service_before {
        assert_block_ok(&net.step(PARA, vec![]).expect("block"));
    }
    assert_eq!(jam_balance(&net, JAM_SERVICE), service_before + OUT);
    // The sender accumulated in every block since, with no order left:
    // its outcome is still the first block's.
    assert_sent_at_the_transfer_slot(&net);
    assert!(net.chain().slot() > TRANSFER_SLOT + 2);
}
