//! SLOW (runtime/parachain from its build cache; then a few blocks): value
//! between a JAM service and a para, both ways, on a JAM dev chain
//! (`parajam_rehearsal::network`), every para block checked on wasm (the
//! relay chain's PVF executor) and on the PVM (`Ξ`), compared, and enacted
//! by accumulate (issue 21: "a JAM service transfers to para 2000's
//! beneficiary; the para credits it; the para sends value back to that
//! service's account; the service's balance shows it").
//!
//! In: service [`JAM_SERVICE`]'s deferred transfer (a value memo naming
//! para 2000 and Bob) is accumulated by the real CoreChains service
//! program on the PVM (the STF's `∆1`, both backends crosschecked) on the
//! genesis state, and the dev chain starts from the state it leaves: the
//! downward `ReserveAssetDeposited + ClearOrigin + BuyExecution +
//! DepositAsset` queued for 2000 and 2000's sovereign balance holding the
//! amount. 2000's collator delivers it, runtime/parachain's message queue
//! runs it and Bob's relay-token balance (`RelayBalances`, the runtime's
//! second `pallet-balances` instance) grows by the amount less the XCM
//! fee. What is not authored here: the sending service's own accumulate
//! (a code-less account stands for it; its balance pays; the transfer is
//! injected into the CoreChains service's accumulate before the chain
//! starts).
//!
//! Out: Bob on 2000 reserve-withdraws relay tokens to
//! `(Parent, GeneralIndex(JAM_SERVICE))` (`pallet-xcm`'s
//! `limited_reserve_transfer_assets`: `WithdrawAsset + ClearOrigin +
//! BuyExecution + DepositAsset + SetTopic` up); the block's upward XCM
//! makes the CoreChains service send a JAM transfer from 2000's sovereign
//! balance, which the chain credits to the service.

use std::collections::BTreeMap;

use parajam_collator::{system_account_key, ParaState};
use parajam_corechains_service::host_functions::Hasher;
use parajam_corechains_types::memo::Memo;
use parajam_corechains_types::state::{InboundDownwardMessage, StorageKey};
use parajam_corechains_types::ParaId;
use parajam_e2e::runtime_parachain;
use parajam_e2e::{assert_block_ok, dev_account};
use parajam_host::accumulate::{DeferredTransfer, PartialState};
use parajam_primitives::types::{OpaqueHash, ServiceAccount, ServiceInfo};
use parajam_pvm::{Backend, Pvm, PvmFlavor};
use parajam_rehearsal::drive::SERVICE;
use parajam_rehearsal::network::Network;
use parajam_rehearsal::xcm_calls::reserve_withdraw_to_service;
use parajam_rehearsal::Config;
use parajam_stf::accumulate::execution::accumulate_one;
use parajam_stf::accumulate::{BlockContext, Executor};
use parity_scale_codec::Decode;

/// One unit of runtime/parachain's currency.
const UNIT: u64 = 1_000_000_000_000;
const PARA: u32 = 2000;
/// The JAM service that sends value to the para and gets some back.
const JAM_SERVICE: u32 = 77;
/// Its balance at genesis, before it pays [`IN`].
const JAM_SERVICE_BALANCE: u64 = 1 << 50;
/// What it sends the para's beneficiary.
const IN: u64 = 5 * UNIT;
/// What Bob sends it back.
const OUT: u64 = 2 * UNIT;
/// The timeslot the CoreChains service accumulates the transfer in.
const TRANSFER_SLOT: u32 = 1;
/// The gas its transfer brings for the CoreChains service's accumulate.
const GAS: u64 = 5_000_000;

/// The native free balance of `account` in `state` (zero if it has none).
fn free(state: &ParaState, account: &[u8; 32]) -> u128 {
    let Some(raw) = state.storage(&system_account_key(account)).expect("reads") else {
        return 0;
    };
    let (_, _, _, _, free): (u32, u32, u32, u32, u128) =
        Decode::decode(&mut raw.as_slice()).expect("AccountInfo decodes");
    free
}

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

/// The network, started from the state in which the CoreChains service
/// has accumulated [`JAM_SERVICE`]'s transfer of [`IN`] to Bob on
/// [`PARA`].
fn network() -> Network {
    Network::with_genesis(
        runtime_parachain(&[]),
        Config::default(),
        &[PARA],
        &[],
        |genesis, params, ring| {
            let sender = ServiceAccount::with_info(ServiceInfo {
                balance: JAM_SERVICE_BALANCE - IN,
                ..ServiceInfo::default()
            });
            genesis.services.insert(JAM_SERVICE, sender);
            let state = genesis.build(params, ring).expect("the genesis builds");
            let partial = PartialState {
                accounts: state.accounts.clone(),
                staging: state.staging_validators.clone(),
                auth_queues: state.auth_queues.clone(),
                manager: 0,
                assigners: vec![0; usize::from(params.core_count)],
                delegator: 0,
                registrar: 0,
                always_acc: BTreeMap::new(),
            };
            let memo = Memo::value(ParaId(0), PARA, 0, TRANSFER_SLOT, dev_account("Bob"));
            let transfer = DeferredTransfer {
                source: JAM_SERVICE,
                dest: SERVICE,
                amount: IN,
                memo: memo.encode().to_vec(),
                gas: GAS,
            };
            parajam_corechains_build::trust_programs();
            let pvm = Pvm::new(PvmFlavor::Gp072).expect("a PVM");
            let executor = Executor {
                pvm: &pvm,
                backend: Backend::Interpreter,
                crosscheck: true,
            };
            let entropy = OpaqueHash::from([0; 32]);
            // At slot 1, not 0: cumulus counts a downward message sent at
            // relay block 0 as processed already (its last processed
            // message id starts at `sent_at` 0), so one sent at 0 would be
            // dropped and its MQC head mismatch.
            let block = BlockContext {
                timeslot: TRANSFER_SLOT,
                entropy: &entropy,
                params,
            };
            let outcome = accumulate_one(
                &executor,
                &block,
                &partial,
                &[transfer],
                &[],
                &BTreeMap::new(),
                SERVICE,
            )
            .expect("accumulated, both backends agreeing");
            assert!(outcome.transfers.is_empty(), "nothing bounced");
            genesis.services = outcome.state.accounts;
            Ok(())
        },
    )
    .expect("a network")
}

fn bob_relay(net: &Network) -> u128 {
    relay_free(net.parent(PARA).expect("para"), &dev_account("Bob"))
}

#[test]
fn slow_a_jam_service_s_transfer_credits_the_beneficiary_and_value_goes_back() {
    let mut net = network();
    let bob = dev_account("Bob");

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
    let bob_native = free(net.parent(PARA).expect("para"), &bob);
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
    assert_eq!(free(net.parent(PARA).expect("para"), &bob), bob_native);

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
    assert!(free(net.parent(PARA).expect("para"), &bob) < bob_native);
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
}
