//! SLOW (runtime/parachain from its build cache; then a few minutes of
//! blocks): two instances of runtime/parachain (para ids 2000 and 2001,
//! the same code under two genesis configs) on one JAM dev chain,
//! exchanging XCM through the CoreChains service's message queues
//! (`parajam_rehearsal::network`), hosted by one CoreChains service
//! instance or by two (the message crossing as a JAM transfer). Every
//! block is checked on wasm (the relay chain's PVF executor) and on the
//! PVM (`Ξ`), compared, and enacted by accumulate.

use parajam_e2e::{runtime_parachain, sibling_queue};

use parajam_corechains_build::genesis::GenesisChannel;
use parajam_corechains_types::state::{HrmpChannelId, RemoteChannel, StorageKey};
use parajam_corechains_types::ParaId;
use parajam_e2e::{assert_block_ok, dev_account, free_balance};
use parajam_rehearsal::network::{
    ChannelScenario, ChannelState, Network, NetworkBlock, RemoteTransfers,
};
use parajam_rehearsal::xcm_calls::{
    hrmp_accept_open_channel, hrmp_close_channel, hrmp_init_open_channel, reserve_transfer_native,
    sibling_account, sudo_relay_call,
};
use parajam_rehearsal::{Config, LegacyVerdict, PvmVerdict};

/// One unit of runtime/parachain's currency.
const UNIT: u128 = 1_000_000_000_000;
const A: u32 = 2000;
const B: u32 = 2001;

fn assert_refused(what: &str, b: &NetworkBlock) {
    println!("{what}:\n{b}");
    let report = &b.block;
    assert!(
        matches!(report.legacy, LegacyVerdict::Invalid(_)),
        "{what}: {b}"
    );
    assert!(matches!(report.pvm, PvmVerdict::Invalid(_)), "{what}: {b}");
    assert!(report.identical, "{what}: {b}");
    assert!(!report.enacted, "{what}: {b}");
}

/// Alice's balance on 2000, 2001's sovereign account's there, and Bob's
/// on 2001.
#[derive(Debug, Clone, Copy)]
struct Balances {
    alice: u128,
    sovereign: u128,
    bob: u128,
}

impl Balances {
    fn of(net: &Network) -> Self {
        let a = net.parent(A).expect("para");
        Self {
            alice: free_balance(a, &dev_account("Alice")),
            sovereign: free_balance(a, &sibling_account(B)),
            bob: free_balance(net.parent(B).expect("para"), &dev_account("Bob")),
        }
    }

    /// After Alice on 2000 reserve-transferred `sent` in all to Bob on
    /// 2001: she paid it (and fees), 2001's sovereign account on 2000
    /// holds it (the local reserve); 2001 queued the messages for 2000's
    /// origin and processed them, and its XCM config (no asset for a
    /// sibling's token) credits Bob nothing.
    fn assert_reserve_transferred(self, net: &Network, sent: u128) {
        let now = Self::of(net);
        assert!(now.alice <= self.alice - sent, "{self:?} -> {now:?}");
        assert_eq!(now.sovereign, self.sovereign + sent, "{self:?} -> {now:?}");
        let b = net.parent(B).expect("para");
        assert_eq!(sibling_queue(b, A), Some(0), "enqueued and processed");
        assert_eq!(now.bob, self.bob, "{self:?} -> {now:?}");
    }
}

/// `call` by Alice (the sudo key on both paras) on `para`.
fn by_alice(net: &Network, para: u32, call: &[u8]) -> Vec<u8> {
    net.signed(para, "Alice", call, 0).expect("signs")
}

#[test]
fn slow_a_channel_opened_by_xcm_carries_a_reserve_transfer_and_is_closed() {
    let mut net =
        Network::new(runtime_parachain(&[]), Config::default(), &[A, B], &[]).expect("a network");
    let tx_a = net.tx_format(A).expect("tx format");
    let tx_b = net.tx_format(B).expect("tx format");

    // 1. Para 2000 asks the relay chain (the service) to open 2000 → 2001.
    let open = sudo_relay_call(&tx_a, hrmp_init_open_channel(B, 8, 1024)).expect("call");
    let b = net.step(A, vec![by_alice(&net, A, &open)]).expect("block");
    assert_block_ok(&b);
    assert_eq!(b.messaging.sent_upward, 1, "{b}");
    assert!(b.messaging.upward[0].starts_with("UpwardExecuted"), "{b}");
    assert!(matches!(
        net.channel(A, B),
        Some(ChannelState::Requested(_))
    ));

    // 2. Para 2001 gets the HrmpNewChannelOpenRequest notification (a
    //    downward message in its parachain inherent) and accepts.
    let accept = sudo_relay_call(&tx_b, hrmp_accept_open_channel(A)).expect("call");
    let b = net
        .step(B, vec![by_alice(&net, B, &accept)])
        .expect("block");
    assert_block_ok(&b);
    assert_eq!(b.messaging.delivered_downward, 1, "{b}");
    assert_eq!(b.messaging.processed_downward, 1, "{b}");
    assert!(b.messaging.upward[0].starts_with("UpwardExecuted"), "{b}");
    assert!(matches!(net.channel(A, B), Some(ChannelState::Open(_))));

    // 3. Para 2000 gets HrmpChannelAccepted, and Alice reserve-transfers
    //    10 units to Bob on 2001 over the channel.
    let amount = 10 * UNIT;
    let sovereign = sibling_account(B);
    let (alice_before, sovereign_before) = {
        let s = net.parent(A).expect("para");
        (
            free_balance(s, &dev_account("Alice")),
            free_balance(s, &sovereign),
        )
    };
    let transfer = reserve_transfer_native(&tx_a, B, dev_account("Bob"), amount).expect("call");
    let b = net
        .step(A, vec![by_alice(&net, A, &transfer)])
        .expect("block");
    assert_block_ok(&b);
    assert_eq!(b.messaging.delivered_downward, 1, "{b}");
    assert_eq!(b.messaging.sent_horizontal.len(), 1, "{b}");
    assert_eq!(b.messaging.sent_horizontal[0].0, B, "{b}");
    let Some(ChannelState::Open(channel)) = net.channel(A, B) else {
        panic!("the channel is open");
    };
    assert_eq!(channel.msg_count, 1);
    {
        let s = net.parent(A).expect("para");
        // The local reserve: Alice pays the amount (and the fee), 2001's
        // sovereign account holds it.
        assert!(free_balance(s, &dev_account("Alice")) <= alice_before - amount);
        assert_eq!(free_balance(s, &sovereign), sovereign_before + amount);
    }

    // 4. Para 2001 gets the message (and its watermark drains the
    //    channel); its XCM runs in this block or the next.
    let bob_before = free_balance(net.parent(B).expect("para"), &dev_account("Bob"));
    assert_eq!(sibling_queue(net.parent(B).expect("para"), A), None);
    let b = net.step(B, vec![]).expect("block");
    assert_block_ok(&b);
    assert_eq!(b.messaging.delivered_horizontal.get(&A), Some(&1), "{b}");
    let Some(ChannelState::Open(channel)) = net.channel(A, B) else {
        panic!("the channel is open");
    };
    assert_eq!(channel.msg_count, 0, "processed, pruned");
    let b = net.step(B, vec![]).expect("block");
    assert_block_ok(&b);
    assert_eq!(b.messaging.delivered_horizontal.get(&A), None, "{b}");
    {
        // The message was queued for 2000's origin and processed (the
        // queue holds nothing). runtime/parachain's XCM config (its native
        // token is `Here`: no asset for a sibling's token) cannot credit
        // 2000's token, so the executor fails it (`AssetNotFound`), as the
        // same runtime does on a relay chain: Bob gets nothing, the value
        // stays in 2001's sovereign account on 2000 (the reserve).
        let s = net.parent(B).expect("para");
        assert_eq!(sibling_queue(s, A), Some(0), "enqueued and processed");
        assert_eq!(free_balance(s, &dev_account("Bob")), bob_before);
    }

    // 5. Para 2000 closes the channel; 2001 gets HrmpChannelClosing; the
    //    channel goes.
    let close = sudo_relay_call(&tx_a, hrmp_close_channel(A, B)).expect("call");
    let b = net.step(A, vec![by_alice(&net, A, &close)]).expect("block");
    assert_block_ok(&b);
    assert!(b.messaging.upward[0].starts_with("UpwardExecuted"), "{b}");
    let b = net.step(B, vec![]).expect("block");
    assert_block_ok(&b);
    assert_eq!(b.messaging.delivered_downward, 1, "{b}");
    assert_eq!(net.channel(A, B), None, "{b}");
    // What the service refused and kept: pallet-xcm's version discovery
    // (`SubscribeVersion`, opcode 26) sent to the relay chain after the
    // first upward message, nothing else.
    for para in [A, B] {
        let refused = net.refused_upward(para);
        assert!(!refused.is_empty());
        for r in refused {
            assert!(
                format!("{:?}", r.reason).contains("opcode: 26"),
                "{para}: {r:?}"
            );
        }
    }
}

/// XCM both ways between the same two paras on one chain: a channel from
/// 2000 to 2001 opened, used for a reserve transfer and closed by the
/// paras' own XCM, then the same from 2001 to 2000 (`channel_scenario`,
/// which checks every step); each time the recipient's sovereign account
/// on the sender holds the amount (the reserve).
#[test]
fn slow_xcm_flows_both_ways_between_two_paras() {
    let mut net =
        Network::new(runtime_parachain(&[]), Config::default(), &[A, B], &[]).expect("a network");
    let amount = 10 * UNIT;
    for (sender, recipient) in [(A, B), (B, A)] {
        let sovereign = sibling_account(recipient);
        let before = free_balance(net.parent(sender).expect("para"), &sovereign);
        let scenario = ChannelScenario {
            sender,
            recipient,
            max_capacity: 8,
            max_message_size: 1024,
            amount,
        };
        let outcome = net
            .channel_scenario(&scenario, |step, b| {
                println!("[{sender} -> {recipient}: {step}] {b}");
            })
            .expect("the scenario runs");
        assert!(
            outcome.ok(),
            "{sender} -> {recipient}: {:?}",
            outcome.failures
        );
        assert_eq!(net.channel(sender, recipient), None, "closed");
        assert_eq!(
            free_balance(net.parent(sender).expect("para"), &sovereign),
            before + amount,
            "{sender} -> {recipient}"
        );
    }
}

#[test]
fn slow_inbound_messages_left_out_or_altered_are_refused_by_both_engines() {
    let channel = GenesisChannel {
        sender: ParaId(A),
        recipient: ParaId(B),
        max_capacity: 8,
        max_message_size: 1024,
    };
    let mut net = Network::new(
        runtime_parachain(&[]),
        Config::default(),
        &[A, B],
        &[channel],
    )
    .expect("network");
    let tx_a = net.tx_format(A).expect("tx format");
    let tx_b = net.tx_format(B).expect("tx format");

    // 2001 asks for 2001 → 2000: a downward notification for 2000.
    let open = sudo_relay_call(&tx_b, hrmp_init_open_channel(A, 8, 1024)).expect("call");
    assert_block_ok(&net.step(B, vec![by_alice(&net, B, &open)]).expect("block"));

    // 2000's block delivers it; tampered, it is refused.
    let good = net.produce(A, vec![]).expect("block");
    let head = net.service_storage(StorageKey::Head(ParaId(A)));
    for (what, pov) in [
        (
            "the downward message left out",
            parajam_collator::tamper::tamper_inbound(&good.pov, |m| m.downward.clear()),
        ),
        (
            "the downward message altered",
            parajam_collator::tamper::tamper_inbound(&good.pov, |m| {
                if let Some(last) = m.downward[0].msg.last_mut() {
                    *last ^= 1;
                }
            }),
        ),
    ] {
        let mut candidate = good.clone();
        candidate.pov = pov.expect("tampers");
        candidate.built = None;
        assert_refused(what, &net.check(A, &candidate).expect("checked"));
        assert_eq!(
            net.service_storage(StorageKey::Head(ParaId(A))),
            head,
            "{what}: nothing enacted"
        );
    }
    // Built again (its relay parent is older now): delivered, processed.
    let b = net.step(A, vec![]).expect("block");
    assert_block_ok(&b);
    assert_eq!(b.messaging.delivered_downward, 1, "{b}");
    assert_eq!(b.messaging.processed_downward, 1, "{b}");

    // A transfer to 2001 over the genesis channel (a para's first block
    // sends no HRMP message: parachain-system has no host configuration
    // yet); 2001's block built before it is enacted is in flight.
    let transfer = reserve_transfer_native(&tx_a, B, dev_account("Bob"), UNIT).expect("call");
    let good = net
        .produce(A, vec![by_alice(&net, A, &transfer)])
        .expect("block");
    let in_flight = net.produce(B, vec![]).expect("block");
    let b = net.check(A, &good).expect("checked");
    assert_block_ok(&b);
    assert_eq!(b.messaging.sent_horizontal.len(), 1, "{b}");

    // The in-flight block proved 2001's relay state before the message:
    // valid on both engines, but accumulate refuses it.
    let b = net.check(B, &in_flight).expect("checked");
    println!("in flight:\n{b}");
    assert!(b.block.identical, "{b}");
    assert!(!b.block.enacted, "{b}");
    assert!(
        b.block
            .rejection
            .as_deref()
            .is_some_and(|r| r.contains("WrongRelayState")),
        "{b}"
    );

    // 2001's block delivers the horizontal message; tampered, refused.
    let good = net.produce(B, vec![]).expect("block");
    for (what, pov) in [
        (
            "the horizontal message left out",
            parajam_collator::tamper::tamper_inbound(&good.pov, |m| m.horizontal.clear()),
        ),
        (
            "the horizontal message altered",
            parajam_collator::tamper::tamper_inbound(&good.pov, |m| {
                m.horizontal[0].1.data[0] ^= 1;
            }),
        ),
    ] {
        let mut candidate = good.clone();
        candidate.pov = pov.expect("tampers");
        candidate.built = None;
        assert_refused(what, &net.check(B, &candidate).expect("checked"));
        let Some(ChannelState::Open(channel)) = net.channel(A, B) else {
            panic!("the channel is open");
        };
        assert_eq!(channel.msg_count, 1, "{what}: nothing pruned");
    }
    let b = net.step(B, vec![]).expect("block");
    assert_block_ok(&b);
    assert_eq!(b.messaging.delivered_horizontal.get(&A), Some(&1), "{b}");
    let Some(ChannelState::Open(channel)) = net.channel(A, B) else {
        panic!("the channel is open");
    };
    assert_eq!(channel.msg_count, 0);
}

#[test]
fn slow_messages_queued_while_the_recipient_makes_no_blocks_are_all_delivered_in_order() {
    let channel = GenesisChannel {
        sender: ParaId(A),
        recipient: ParaId(B),
        max_capacity: 8,
        max_message_size: 1024,
    };
    let mut net = Network::new(
        runtime_parachain(&[]),
        Config::default(),
        &[A, B],
        &[channel],
    )
    .expect("network");
    let tx_a = net.tx_format(A).expect("tx format");

    // 2000 makes a first block (a para's first block sends no HRMP
    // message: parachain-system has no host configuration yet), then three,
    // each with a transfer to 2001; 2001 none.
    assert_block_ok(&net.step(A, vec![]).expect("block"));
    let mut sent = 0;
    for n in 1..=3u128 {
        let transfer =
            reserve_transfer_native(&tx_a, B, dev_account("Bob"), n * UNIT).expect("call");
        let b = net
            .step(A, vec![by_alice(&net, A, &transfer)])
            .expect("block");
        assert_block_ok(&b);
        let to_b = b
            .messaging
            .sent_horizontal
            .iter()
            .filter(|(r, _)| *r == B)
            .count();
        assert_eq!(to_b, 1, "{b}");
        sent += to_b;
    }
    let Some(ChannelState::Open(queued)) = net.channel(A, B) else {
        panic!("the channel is open");
    };
    assert_eq!(queued.msg_count as usize, sent);
    let (_, contents) = parajam_rehearsal::inbound(net.chain(), ParaId(B));
    let contents = contents
        .get(&parajam_collator::inbound::ParaId::from(A))
        .cloned()
        .expect("the channel's contents");
    assert_eq!(contents.len(), sent);
    assert!(contents.windows(2).all(|w| w[0].sent_at < w[1].sent_at));

    // 2001 resumes: all of them, in order, in its next block.
    let candidate = net.produce(B, vec![]).expect("block");
    let delivered = parajam_collator::tamper::inbound_messages(&candidate.pov).expect("inherent");
    let delivered: Vec<_> = delivered
        .horizontal
        .into_iter()
        .map(|(sender, m)| (u32::from(sender), m.sent_at, m.data))
        .collect();
    let expected: Vec<_> = contents
        .iter()
        .map(|m| (A, m.sent_at, m.data.clone()))
        .collect();
    assert_eq!(delivered, expected);
    let b = net.check(B, &candidate).expect("checked");
    assert_block_ok(&b);
    assert_eq!(b.messaging.delivered_horizontal.get(&A), Some(&sent), "{b}");
    let Some(ChannelState::Open(channel)) = net.channel(A, B) else {
        panic!("the channel is open");
    };
    assert_eq!(channel.msg_count, 0, "all processed, pruned");
    let b = net.step(B, vec![]).expect("block");
    assert_block_ok(&b);
    assert_eq!(
        sibling_queue(net.parent(B).expect("para"), A),
        Some(0),
        "all processed by 2001's message queue"
    );
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario, step by step
fn slow_a_reserve_transfer_crosses_between_two_corechains_instances_as_a_jam_transfer() {
    // Para 2000 on instance 1000, para 2001 on instance 1001 (the same
    // service code): one chain, two CoreChains services.
    const FROM: u32 = parajam_rehearsal::SERVICE;
    const TO: u32 = 1001;
    let mut net = Network::with_instances(
        runtime_parachain(&[]),
        Config::default(),
        &[(A, FROM), (B, TO)],
    )
    .expect("a network");
    assert_eq!(net.instances(), &[FROM, TO]);
    assert_eq!((net.host(A), net.host(B)), (FROM, TO));
    let amount = 10 * UNIT;
    let scenario = ChannelScenario {
        sender: A,
        recipient: B,
        max_capacity: 8,
        max_message_size: 1024,
        amount,
    };

    // The registrar of each instance declares the other's para with the
    // channel 2000 → 2001 (a test shortcut: opening it by XCM across
    // instances is the next test's).
    let routes = net.declare_channel_routes(&scenario).expect("routes");
    println!("{routes:?}");
    assert_eq!(routes.len(), 2);
    assert_eq!(routes[0].0, FROM);
    assert!(
        routes[0]
            .1
            .starts_with("RouteDeclared { para: ParaId(2001), service: 1001"),
        "{routes:?}"
    );
    assert_eq!(routes[1].0, TO);
    assert!(
        routes[1]
            .1
            .starts_with("RouteDeclared { para: ParaId(2000), service: 1000"),
        "{routes:?}"
    );
    let channel = HrmpChannelId {
        sender: ParaId(A),
        recipient: ParaId(B),
    };
    for service in [FROM, TO] {
        assert!(
            net.storage_of(service, StorageKey::HrmpChannel(channel))
                .is_some(),
            "the channel is open on instance {service}"
        );
    }

    let before = Balances::of(&net);
    let outcome = net
        .remote_scenario(&scenario, |step, b| println!("[{step}] {b}"))
        .expect("the scenario runs");
    for (_, b) in &outcome.blocks {
        assert_block_ok(b);
    }
    assert!(outcome.ok(), "{:?}", outcome.failures);
    let steps: Vec<&str> = outcome.blocks.iter().map(|(step, _)| *step).collect();
    assert_eq!(
        steps,
        [
            "first block",
            "transfer",
            "transfer again",
            "receive",
            "process",
            "prune",
            "receive the rest"
        ]
    );

    // Each transfer's XCMP page left instance 1000 as a JAM transfer (an
    // HRMP memo: instance 1001 delivers a transfer horizontally only for
    // that kind) and instance 1001 delivered it into 2001's inbound
    // channel in the same accumulation: every message once, in order of
    // its sequence number, none bounced.
    let crossing = RemoteTransfers::of(&outcome, FROM, TO);
    println!("{crossing:?}");
    let k = crossing.sent.len();
    assert!(k >= 2, "{crossing:?}");
    let in_order: Vec<u64> = (0..k as u64).collect();
    assert_eq!(crossing.sent, in_order);
    assert_eq!(crossing.delivered, in_order);
    assert_eq!(crossing.bounced, 0);
    for (step, b) in &outcome.blocks[1..3] {
        assert_eq!(b.messaging.sent_horizontal.len(), 1, "{step}: {b}");
        assert_eq!(b.messaging.sent_horizontal[0].0, B, "{step}: {b}");
        let delivered_here: Vec<&String> = b
            .messaging
            .transfers
            .iter()
            .filter(|(at, l)| *at == TO && l.starts_with("TransferDelivered"))
            .map(|(_, l)| l)
            .collect();
        assert_eq!(delivered_here.len(), 1, "{step}: {b}");
    }
    // 2001's collator delivered them all (two in its first block), its
    // message queue processed them; the channel at instance 1001 is empty.
    let received: usize = outcome
        .blocks
        .iter()
        .filter(|(_, b)| b.para == B)
        .map(|(_, b)| {
            b.messaging
                .delivered_horizontal
                .get(&A)
                .copied()
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(received, k);
    assert_eq!(
        outcome.blocks[3].1.messaging.delivered_horizontal.get(&A),
        Some(&2)
    );
    let Some(ChannelState::Open(queued)) = net.channel(A, B) else {
        panic!("the channel is open");
    };
    assert_eq!(queued.msg_count, 0);
    let expected_next = u64::try_from(k).expect("few");
    let remote = RemoteChannel {
        service: FROM,
        channel,
    };
    assert_eq!(
        net.read_of::<u64>(TO, StorageKey::RemoteInbound(remote)),
        Some(expected_next),
        "instance 1001 expects the next sequence number"
    );
    assert_eq!(
        net.read_of::<u64>(FROM, StorageKey::RemoteOutbound(channel)),
        Some(expected_next)
    );

    // The outbox: the two transfers' entries pruned once read (by 2000's
    // next blocks); what the last block sent waits for 2000's next block.
    assert!(crossing.pruned_below.contains(&1), "{crossing:?}");
    assert!(crossing.pruned_below.contains(&2), "{crossing:?}");
    for n in 0..2 {
        assert_eq!(net.outbox(FROM, TO, channel, n), None, "message {n}");
    }
    assert!(net
        .read_of::<u64>(FROM, StorageKey::OutboxPruned(channel))
        .is_some_and(|below| below >= 2));

    // The same outcome as on one instance: the local reserve on 2000
    // (Alice paid twice, 2001's sovereign account holds both amounts);
    // on 2001 the messages were queued for 2000's origin and processed,
    // and runtime/parachain's XCM config (no asset for a sibling's token)
    // fails them (`AssetNotFound`): Bob gets nothing.
    before.assert_reserve_transferred(&net, 2 * amount);
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario, step by step
fn slow_a_channel_between_two_corechains_instances_is_opened_and_closed_by_xcm() {
    // Para 2000 on instance 1000, para 2001 on instance 1001: the routes
    // are declared (which instance hosts which para), the channel is not.
    const FROM: u32 = parajam_rehearsal::SERVICE;
    const TO: u32 = 1001;
    let mut net = Network::with_instances(
        runtime_parachain(&[]),
        Config::default(),
        &[(A, FROM), (B, TO)],
    )
    .expect("a network");
    let routes = net.declare_routes(A, B).expect("routes");
    println!("{routes:?}");
    assert_eq!(
        routes,
        vec![
            (
                FROM,
                "RouteDeclared { para: ParaId(2001), service: 1001, channels: 0 }".to_owned()
            ),
            (
                TO,
                "RouteDeclared { para: ParaId(2000), service: 1000, channels: 0 }".to_owned()
            ),
        ]
    );
    let channel = HrmpChannelId {
        sender: ParaId(A),
        recipient: ParaId(B),
    };
    for service in [FROM, TO] {
        assert!(
            net.storage_of(service, StorageKey::HrmpChannel(channel))
                .is_none(),
            "no channel on instance {service} before the paras open it"
        );
    }

    let amount = 10 * UNIT;
    let scenario = ChannelScenario {
        sender: A,
        recipient: B,
        max_capacity: 8,
        max_message_size: 1024,
        amount,
    };
    let before = Balances::of(&net);
    let outcome = net
        .remote_xcm_channel_scenario(&scenario, |step, b| println!("[{step}] {b}"))
        .expect("the scenario runs");
    // Every block valid on wasm and the PVM, identical, enacted.
    for (_, b) in &outcome.blocks {
        assert_block_ok(b);
    }
    assert!(outcome.ok(), "{:?}", outcome.failures);
    let steps: Vec<&str> = outcome.blocks.iter().map(|(step, _)| *step).collect();
    assert_eq!(
        steps,
        [
            "open request",
            "accept",
            "transfer",
            "receive",
            "process",
            "prune",
            "close",
            "drain"
        ]
    );

    // The control memos: the request from 1000 to 1001, the acceptance
    // back, the close from 1000 to 1001, each received, none refused.
    let controls: Vec<(u32, String)> = outcome
        .blocks
        .iter()
        .flat_map(|(_, b)| b.messaging.transfers.clone())
        .filter(|(_, l)| l.starts_with("Control"))
        .collect();
    println!("{controls:#?}");
    let kinds: Vec<(u32, &str, &str)> = controls
        .iter()
        .map(|(at, l)| {
            let event = if l.starts_with("ControlSent") {
                "sent"
            } else if l.starts_with("ControlReceived") {
                "received"
            } else {
                "refused"
            };
            let op = ["OpenRequest", "Accept", "Close"]
                .into_iter()
                .find(|op| l.contains(op))
                .unwrap_or("?");
            (*at, event, op)
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (FROM, "sent", "OpenRequest"),
            (TO, "received", "OpenRequest"),
            (TO, "sent", "Accept"),
            (FROM, "received", "Accept"),
            (FROM, "sent", "Close"),
            (TO, "received", "Close"),
        ]
    );

    // The reserve transfer crossed as a JAM transfer (HRMP memo), once, in
    // order; the outbox pruned.
    let crossing = RemoteTransfers::of(&outcome, FROM, TO);
    println!("{crossing:?}");
    let k = crossing.sent.len();
    assert!(k >= 1, "{crossing:?}");
    let in_order: Vec<u64> = (0..k as u64).collect();
    assert_eq!(crossing.sent, in_order);
    assert_eq!(crossing.delivered, in_order);
    assert_eq!(crossing.bounced, 0);
    assert!(crossing.pruned_below.contains(&1), "{crossing:?}");
    assert_eq!(net.outbox(FROM, TO, channel, 0), None);

    // Closed on both sides; no request left; nothing refused upward.
    for service in [FROM, TO] {
        assert!(
            net.storage_of(service, StorageKey::HrmpChannel(channel))
                .is_none(),
            "the channel is gone on instance {service}"
        );
        assert!(net
            .storage_of(service, StorageKey::HrmpOpenRequest(channel))
            .is_none());
    }
    assert_eq!(net.channel(A, B), None);
    // Refused upward, kept: only pallet-xcm's `SubscribeVersion` (as on one
    // instance), no channel call.
    for para in [A, B] {
        for refused in net.refused_upward(para) {
            assert!(
                !matches!(
                    refused.reason,
                    parajam_xcm_adapter::ump::UpwardRefusal::Channel { .. }
                ),
                "para {para}: {}",
                refused.reason
            );
        }
    }

    // Balances as on one instance: Alice paid, 2001's sovereign account on
    // 2000 holds the amount (the local reserve); 2001 processed the message
    // and its XCM config (no asset for a sibling's token) credits Bob
    // nothing.
    before.assert_reserve_transferred(&net, amount);
}
