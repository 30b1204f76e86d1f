//! JAM transfers into the CoreChains service, run by the real service
//! program on the PVM (both backends, crosscheck: they must agree on
//! everything): the STF's single-service accumulation (`∆1`, GP 0.7.2 eq.
//! `accone`) of the CoreChains service on a dev genesis with the adder
//! registered, given deferred transfers from a second, minimal service
//! (an account without code) and from a second CoreChains instance. What
//! each delivers is read back from the service's JAM storage.
//!
//! `--no-capture` shows the accumulate gas each used (BENCHMARKS.md).

use std::collections::BTreeMap;

use parajam_authoring::{DevKeys, Genesis};
use parajam_bandersnatch::RingContext;
use parajam_corechains_build::genesis::service_account;
use parajam_corechains_service::blake2_256;
use parajam_corechains_service::relay_state::RelayState;
use parajam_corechains_types::memo::{BounceReason, Memo, MemoKind};
use parajam_corechains_types::state::{
    HrmpChannelId, InboundDownwardMessage, InboundHrmpMessage, OutboxId, RemoteChannel, StorageKey,
};
use parajam_corechains_types::ParaId;
use parajam_corechains_types::{
    AuthScope, CandidateOutput, HeadData, OutboundHrmpMessage, RefineOutput,
    RemoteChannelDeclaration, RouteDeclaration, ValidationCodeHash,
};
use parajam_host::accumulate::{DeferredTransfer, PartialState};
use parajam_primitives::types::{
    ServiceAccount, ServiceInfo, WorkExecResult, WorkReport, WorkResult,
};
use parajam_primitives::Bytes;
use parajam_primitives::ProtocolParameters;
use parajam_rehearsal::drive::{self, SERVICE};
use parajam_stf::accumulate::invocation::AccumulationOutcome;
use parajam_xcm_adapter::{xcm, HrmpChannel, HrmpConfig};
use parity_scale_codec::{Decode, Encode};

const PARAMS: ProtocolParameters = ProtocolParameters::TINY;
const ADDER: ParaId = ParaId(2000);
/// A para hosted by the CoreChains instance [`PEER`].
const REMOTE: ParaId = ParaId(3000);
/// A minimal service: an account that sends transfers.
const SENDER: u32 = 77;
/// A second CoreChains instance.
const PEER: u32 = 1001;
const SLOT: u32 = 5;
const BENEFICIARY: [u8; 32] = [0xbe; 32];
/// The CoreChains service's code-upgrade delay.
const UPGRADE_DELAY: u32 = 10;
/// The gas a transfer brings for the service's accumulate.
const GAS: u64 = 5_000_000;

/// The partial state of a dev genesis: the CoreChains service with the
/// adder registered, [`SENDER`] and [`PEER`].
fn genesis() -> PartialState {
    let ring = RingContext::zcash(usize::from(PARAMS.validators_count)).expect("ring");
    let keys = DevKeys::new(PARAMS.validators_count);
    let adder = parajam_e2e::adder_para(ADDER);
    let account = |balance| {
        ServiceAccount::with_info(ServiceInfo {
            balance,
            ..ServiceInfo::default()
        })
    };
    let state = Genesis::new(&PARAMS, keys.validators())
        .with_service(SERVICE, service_account(1 << 40, UPGRADE_DELAY, &[adder]))
        .with_service(SENDER, account(1 << 30))
        .with_service(PEER, account(1 << 30))
        .build(&PARAMS, &ring)
        .expect("genesis");
    PartialState {
        accounts: state.accounts.clone(),
        staging: state.staging_validators.clone(),
        auth_queues: state.auth_queues.clone(),
        manager: 0,
        assigners: vec![0; usize::from(PARAMS.core_count)],
        delegator: 0,
        registrar: 0,
        always_acc: BTreeMap::new(),
    }
}

/// `∆1` of the CoreChains service with `transfers`, on both backends.
fn accumulate(state: &PartialState, transfers: &[DeferredTransfer]) -> AccumulationOutcome {
    accumulate_reports(state, transfers, &[])
}

/// `∆1` of the CoreChains service with `transfers` and `reports`, on both
/// backends.
fn accumulate_reports(
    state: &PartialState,
    transfers: &[DeferredTransfer],
    reports: &[WorkReport],
) -> AccumulationOutcome {
    // The built-in service runs compiled as the binary runs it.
    parajam_corechains_build::trust_programs();
    parajam_test_services::accumulate_crosschecked(
        state, SLOT, &PARAMS, transfers, reports, SERVICE,
    )
}

fn stored<T: Decode>(state: &PartialState, key: StorageKey) -> Option<T> {
    state.accounts[&SERVICE]
        .storage(&key.to_key())
        .map(|mut v| T::decode(&mut v).expect("stored values decode"))
}

fn transfer(source: u32, amount: u64, memo: [u8; 128]) -> DeferredTransfer {
    DeferredTransfer {
        source,
        dest: SERVICE,
        amount,
        memo: memo.to_vec(),
        gas: GAS,
    }
}

fn value_memo(para: ParaId) -> [u8; 128] {
    Memo::value(ParaId(0), para.0, 0, SLOT, BENEFICIARY).encode()
}

#[test]
fn a_transfer_from_a_service_reaches_the_para_s_downward_queue() {
    let state = genesis();
    let before = state.accounts[&SERVICE].info.balance;
    let amount = 1_000_000;
    let outcome = accumulate(&state, &[transfer(SENDER, amount, value_memo(ADDER))]);
    println!(
        "accumulate gas, one value transfer in: {}",
        outcome.gas_used
    );
    let after = &outcome.state;
    let queue: Vec<InboundDownwardMessage> =
        stored(after, StorageKey::DownwardQueue(ADDER)).expect("queued");
    assert_eq!(
        queue,
        vec![InboundDownwardMessage {
            sent_at: SLOT,
            msg: xcm::reserve_asset_deposited(u128::from(amount), &BENEFICIARY),
        }]
    );
    assert_eq!(
        stored::<u64>(after, StorageKey::SovereignBalance(ADDER)),
        Some(amount)
    );
    assert_eq!(after.accounts[&SERVICE].info.balance, before + amount);
    assert!(outcome.transfers.is_empty());
    assert!(outcome.gas_used > 0 && outcome.gas_used <= GAS);
}

#[test]
fn a_transfer_with_a_malformed_memo_or_to_an_unknown_para_bounces() {
    let state = genesis();
    let mut malformed = value_memo(ADDER);
    malformed[127] = 1;
    for (memo, reason) in [
        (malformed, BounceReason::MalformedMemo),
        (value_memo(ParaId(2999)), BounceReason::UnknownPara),
    ] {
        let outcome = accumulate(&state, &[transfer(SENDER, 4_242, memo)]);
        println!("accumulate gas, one bounced transfer: {}", outcome.gas_used);
        assert_eq!(outcome.transfers.len(), 1, "{reason:?}");
        let back = &outcome.transfers[0];
        assert_eq!(
            (back.source, back.dest, back.amount),
            (SERVICE, SENDER, 4_242)
        );
        let bounce = Memo::decode(&back.memo).expect("a bounce memo");
        assert_eq!(bounce.kind, MemoKind::Bounce);
        assert_eq!(bounce.reason, Some(reason));
        assert_eq!(bounce.subject, blake2_256(&memo));
        // Nothing queued; the value left again.
        let after = &outcome.state;
        assert_eq!(
            stored::<Vec<InboundDownwardMessage>>(after, StorageKey::DownwardQueue(ADDER)),
            None
        );
        assert_eq!(
            stored::<u64>(after, StorageKey::SovereignBalance(ADDER)),
            None
        );
        assert_eq!(
            after.accounts[&SERVICE].info.balance,
            state.accounts[&SERVICE].info.balance
        );
    }
}

#[test]
fn an_hrmp_message_from_another_instance_lands_in_its_channel() {
    let mut state = genesis();
    let channel = HrmpChannelId {
        sender: REMOTE,
        recipient: ADDER,
    };
    let payload = b"a page of XCMP".to_vec();
    // The route and the channel on this instance; the payload in the
    // peer's outbox.
    let service = state.accounts.get_mut(&SERVICE).expect("the service");
    let mut set = |key: StorageKey, value: Vec<u8>| {
        service.set_storage(&key.to_key(), Some(value));
    };
    set(StorageKey::RemoteRoute(REMOTE), PEER.encode());
    set(
        StorageKey::HrmpChannel(channel),
        HrmpChannel {
            max_capacity: 8,
            max_total_size: HrmpConfig::DEFAULT.hrmp_channel_max_total_size,
            max_message_size: 1024,
            msg_count: 0,
            total_size: 0,
            mqc_head: None,
        }
        .encode(),
    );
    set(StorageKey::HrmpIngress(ADDER), vec![REMOTE].encode());
    let outbox = StorageKey::Outbox(OutboxId {
        service: SERVICE,
        channel,
        sequence: 0,
    });
    state
        .accounts
        .get_mut(&PEER)
        .expect("the peer")
        .set_storage(&outbox.to_key(), Some(payload.encode()));
    let memo = |sequence| {
        Memo {
            kind: MemoKind::Hrmp,
            source_para: REMOTE,
            destination: ADDER.0,
            sequence,
            sent_at: SLOT,
            subject: blake2_256(&payload),
            length: u32::try_from(payload.len()).expect("small"),
            reason: None,
        }
        .encode()
    };
    let outcome = accumulate(&state, &[transfer(PEER, 0, memo(0))]);
    println!("accumulate gas, one HRMP message in: {}", outcome.gas_used);
    let after = &outcome.state;
    assert_eq!(
        stored::<Vec<InboundHrmpMessage>>(after, StorageKey::HrmpChannelContents(channel)),
        Some(vec![InboundHrmpMessage {
            sent_at: SLOT,
            data: payload.clone(),
        }])
    );
    let remote = RemoteChannel {
        service: PEER,
        channel,
    };
    assert_eq!(
        stored::<u64>(after, StorageKey::RemoteInbound(remote)),
        Some(1)
    );
    assert!(outcome.transfers.is_empty());

    // The same message again: out of order, bounced, nothing appended.
    let again = accumulate(after, &[transfer(PEER, 0, memo(0))]);
    assert_eq!(again.transfers.len(), 1);
    let bounce = Memo::decode(&again.transfers[0].memo).expect("a bounce memo");
    assert_eq!(bounce.reason, Some(BounceReason::OutOfOrder));
    assert_eq!(
        stored::<Vec<InboundHrmpMessage>>(&again.state, StorageKey::HrmpChannelContents(channel))
            .map(|c| c.len()),
        Some(1)
    );
}

/// A work report with one CoreChains digest: `output`, admitted by the
/// CoreChains authorizer for `scope`, with the most accumulate gas a
/// report may have.
fn report(scope: AuthScope, output: &RefineOutput) -> WorkReport {
    WorkReport {
        authorizer_hash: drive::authorizer(scope, UPGRADE_DELAY),
        results: vec![WorkResult {
            service_id: SERVICE,
            accumulate_gas: PARAMS.gas_accumulate_report,
            result: WorkExecResult::Ok(Bytes(output.encode())),
            ..WorkResult::default()
        }]
        .into(),
        ..WorkReport::default()
    }
}

/// A valid block of the adder (para 2000) on the service's state in
/// `state`, at relay parent [`SLOT`], as refine would have returned it:
/// on the stored head and code, with the relay state's root, processing
/// every downward message queued, with `upward` and `horizontal` messages.
fn adder_block(
    state: &PartialState,
    head: u8,
    upward: Vec<Vec<u8>>,
    horizontal: Vec<OutboundHrmpMessage>,
) -> RefineOutput {
    let read = |key: StorageKey| {
        state.accounts[&SERVICE]
            .storage(&key.to_key())
            .map(<[u8]>::to_vec)
    };
    let parent: HeadData = stored(state, StorageKey::Head(ADDER)).expect("registered");
    let code: ValidationCodeHash = stored(state, StorageKey::Code(ADDER)).expect("registered");
    let downward: Vec<InboundDownwardMessage> =
        stored(state, StorageKey::DownwardQueue(ADDER)).unwrap_or_default();
    let relay = RelayState::read(read, ADDER, SLOT).expect("the relay state");
    RefineOutput::Valid(CandidateOutput {
        para_id: ADDER,
        parent_head_hash: blake2_256(&parent.0),
        validation_code_hash: code,
        result_hash: [0; 32],
        head_data: HeadData(vec![head]),
        new_validation_code: None,
        upward_messages: upward,
        horizontal_messages: horizontal,
        processed_downward_messages: u32::try_from(downward.len()).expect("few"),
        hrmp_watermark: SLOT,
        relay_parent_number: SLOT,
        relay_parent_storage_root: relay.root(),
    })
}

/// What the adder's `pallet-xcm` sends the relay chain to pay JAM
/// service `service` (a reserve withdrawal of the relay token, XCM v5):
/// `[WithdrawAsset((0, Here), a), ClearOrigin, BuyExecution((0, Here), a,
/// Unlimited), DepositAsset(AllCounted(1), (0, GeneralIndex(service))),
/// SetTopic]`.
fn value_out(amount: u128, service: u32) -> Vec<u8> {
    use parity_scale_codec::Compact;
    let mut m = vec![5u8];
    Compact(5u32).encode_to(&mut m);
    m.extend([0, 4, 0, 0, 0]);
    Compact(amount).encode_to(&mut m);
    m.push(10);
    m.extend([19, 0, 0, 0]);
    Compact(amount).encode_to(&mut m);
    m.push(0);
    m.extend([13, 1, 2, 4, 0, 1, 5]);
    Compact(u128::from(service)).encode_to(&mut m);
    m.push(44);
    m.extend([0x70; 32]);
    m
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario, step by step
fn value_and_messages_leave_the_service_as_transfers_on_the_pvm() {
    // Value in for the adder, so its sovereign balance can pay.
    let amount = 1_000_000;
    let state = accumulate(&genesis(), &[transfer(SENDER, amount, value_memo(ADDER))]).state;

    // The registrar declares REMOTE (hosted by PEER) with a channel from
    // the adder to it.
    let route = RouteDeclaration {
        para_id: REMOTE,
        service: PEER,
        channels: vec![RemoteChannelDeclaration {
            sender: ADDER,
            recipient: REMOTE,
            max_capacity: 8,
            max_message_size: 1024,
        }],
    };
    let outcome = accumulate_reports(
        &state,
        &[],
        &[report(AuthScope::Registrar, &RefineOutput::Route(route))],
    );
    println!(
        "accumulate gas, a route with one channel: {}",
        outcome.gas_used
    );
    let state = outcome.state;
    assert_eq!(
        stored::<u32>(&state, StorageKey::RemoteRoute(REMOTE)),
        Some(PEER)
    );
    assert_eq!(
        stored::<Vec<ParaId>>(&state, StorageKey::HrmpEgress(ADDER)),
        Some(vec![REMOTE])
    );
    assert!(outcome.transfers.is_empty());

    // An adder block: it processes the downward message, sends part of
    // the value back to SENDER (upward) and a message to REMOTE.
    let back = 400_000u64;
    let payload = b"a page for another instance".to_vec();
    let block = adder_block(
        &state,
        1,
        vec![value_out(u128::from(back), SENDER)],
        vec![OutboundHrmpMessage {
            recipient: REMOTE,
            data: payload.clone(),
        }],
    );
    let outcome = accumulate_reports(&state, &[], &[report(AuthScope::Para(ADDER), &block)]);
    println!(
        "accumulate gas, a block with a value transfer and a message out: {}",
        outcome.gas_used
    );
    let after = &outcome.state;
    assert_eq!(
        stored::<HeadData>(after, StorageKey::Head(ADDER)),
        Some(HeadData(vec![1]))
    );
    assert_eq!(
        stored::<u64>(after, StorageKey::SovereignBalance(ADDER)),
        Some(amount - back)
    );
    let channel = HrmpChannelId {
        sender: ADDER,
        recipient: REMOTE,
    };
    let outbox = |n| {
        StorageKey::Outbox(OutboxId {
            service: PEER,
            channel,
            sequence: n,
        })
    };
    assert_eq!(stored::<Vec<u8>>(after, outbox(0)), Some(payload.clone()));
    // First the message's transfer, then the value's.
    assert_eq!(outcome.transfers.len(), 2, "{:?}", outcome.transfers);
    let (message, value) = (&outcome.transfers[0], &outcome.transfers[1]);
    assert_eq!(
        (message.source, message.dest, message.amount),
        (SERVICE, PEER, 0)
    );
    let memo = Memo::decode(&message.memo).expect("an HRMP memo");
    assert_eq!(
        (memo.kind, memo.source_para, memo.destination, memo.sequence),
        (MemoKind::Hrmp, ADDER, REMOTE.0, 0)
    );
    assert_eq!(memo.subject, blake2_256(&payload));
    assert_eq!(
        (value.source, value.dest, value.amount),
        (SERVICE, SENDER, back)
    );
    let memo = Memo::decode(&value.memo).expect("a value memo");
    assert_eq!(
        (memo.kind, memo.source_para, memo.destination),
        (MemoKind::Value, ADDER, SENDER)
    );
    assert_eq!(
        after.accounts[&SERVICE].info.balance,
        state.accounts[&SERVICE].info.balance - back
    );

    // The peer has read message 0: the adder's next block removes it
    // from the outbox, and keeps message 1, which it sends.
    let mut state = outcome.state;
    state
        .accounts
        .get_mut(&PEER)
        .expect("the peer")
        .set_storage(
            &StorageKey::RemoteInbound(RemoteChannel {
                service: SERVICE,
                channel,
            })
            .to_key(),
            Some(1u64.encode()),
        );
    let block = adder_block(
        &state,
        2,
        vec![],
        vec![OutboundHrmpMessage {
            recipient: REMOTE,
            data: b"another".to_vec(),
        }],
    );
    let outcome = accumulate_reports(&state, &[], &[report(AuthScope::Para(ADDER), &block)]);
    let after = &outcome.state;
    assert_eq!(stored::<Vec<u8>>(after, outbox(0)), None);
    assert_eq!(
        stored::<Vec<u8>>(after, outbox(1)),
        Some(b"another".to_vec())
    );
    assert_eq!(
        stored::<u64>(after, StorageKey::OutboxPruned(channel)),
        Some(1)
    );
    assert_eq!(outcome.transfers.len(), 1);
}
