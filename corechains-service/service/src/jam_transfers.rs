//! JAM transfers into and out of the CoreChains service (issue 21,
//! item 2): XCM into GP 0.7.2 deferred transfers and back, with the host
//! calls it uses. What is implemented and what is not is listed under
//! "Status" below.
//!
//! # The memo
//!
//! Every transfer the service sends or understands carries the 128-octet
//! memo of [`parajam_corechains_types::memo`] (`W_T` = 128): version,
//! kind (HRMP message, value, bounce), source para, destination (para or
//! service), sequence number, timeslot sent, a 32-octet subject (payload
//! hash, beneficiary, upward message hash or bounced memo hash), payload
//! length and, for a bounce, its [`BounceReason`]. Anything else is
//! malformed ([`parajam_corechains_types::memo::MemoError`]).
//!
//! # In: a transfer becomes a message to a para
//!
//! Deferred transfers reach accumulate as inputs before the work digests
//! (GP 0.7.2 eq. `accone`: `i^T ⌢ i^U`, read with `fetch`, `Ω_Y`); the
//! service program passes them as
//! [`crate::accumulate::Input::Transfer`]. The amount is already in the
//! service's balance. For each, by memo kind:
//!
//! - **HRMP** (from another CoreChains instance): the route table must
//!   name the sender for the source para (`RemoteRoute(para) → service`,
//!   else `UnknownSender`); the destination para must be registered here
//!   (`UnknownPara`); the sequence number must be the channel's next one,
//!   kept per `(sender instance, channel)` under `RemoteInbound` (else
//!   `OutOfOrder`: each message is delivered exactly once and in order);
//!   the payload is read from the sender's storage with `read` (`Ω_R`,
//!   `ω7` = the sender's id) under `Outbox(own id, channel, sequence)`
//!   (`PayloadMissing`) and its length and Blake2b-256 checked against the
//!   memo (`HashMismatch`). It is appended to the inbound channel
//!   `(source para → destination para)` with the MQC semantics and limits
//!   of a local message (`parajam_xcm_adapter::hrmp::queue_inbound`,
//!   `sent_at` = the timeslot it arrives; `NoChannel`, `QueueFull`): the
//!   recipient's collator delivers it like any horizontal message. Such a
//!   channel is opened with `parajam_xcm_adapter::hrmp::open_remote_channel`
//!   (listed in the recipient's ingress index only).
//! - **Value** (from any service): a downward XCM to the para the memo
//!   names, `[ReserveAssetDeposited((Parent, a)), ClearOrigin,
//!   BuyExecution((Parent, a), Unlimited), DepositAsset(Wild(AllCounted(1)),
//!   AccountId32(subject))]` in XCM v5
//!   ([`parajam_xcm_adapter::xcm::reserve_asset_deposited`]: the relay
//!   token, the location a cumulus template's XCM config treats as its
//!   reserve asset), queued with `dmp::queue` (size and queue limits:
//!   `QueueFull`; `UnknownPara`); the para's sovereign balance
//!   (`SovereignBalance(para)`) grows by the amount (`Overflow` if it
//!   cannot).
//! - **Bounce** (a transfer this service sent, sent back): the amount
//!   returns to the source para's sovereign balance (if still
//!   registered); a bounce is never bounced.
//! - Anything refused: the value goes back with a bounce transfer
//!   (`transfer` to the sender, the same amount, the sender's minimum memo
//!   gas read with `info`, kind bounce, the bounced memo's hash and the
//!   reason), and nothing else changes; if the sender is gone (`WHO`) or
//!   the service cannot pay (`CASH`) the value stays with the service. The
//!   event ([`crate::accumulate::Event::TransferBounced`]) records it and
//!   is logged.
//!
//! # Out: an upward XCM moving value to a JAM service
//!
//! `parajam_xcm_adapter::ump::execute` recognises `WithdrawAsset` of one
//! asset, the relay token `(0, Here)` in the relay chain's context (how a
//! para's `pallet-xcm` reanchors `(1, Here)` for its reserve), optional
//! `ClearOrigin` and `BuyExecution`/`PayFees` in the relay token,
//! `DepositAsset(Wild(All | AllCounted(1)))` to `(0, X1(GeneralIndex(s)))`
//! and an optional `SetTopic` ([`parajam_xcm_adapter::xcm::value_transfer`];
//! no fees are charged, so the whole amount moves). Checked before any
//! effect: the amount fits a JAM balance, the para's sovereign balance
//! holds it, service `s` exists (`info`, else `WHO`) and the service's
//! balance less everything accepted so far stays at or above its
//! threshold (`CASH`); refused otherwise with a recorded
//! `UpwardRefusal` (kept under `UpwardRefused`). Accepted, the amount
//! leaves the sovereign balance and, once the block is enacted, the
//! service calls `transfer` (`Ω_T`, index 20; `ω7` = `s`, `ω8` the
//! amount, `ω9` = `s`'s minimum memo gas, `ω10` the memo: kind value,
//! source para, `s`, the next `ValueSequence`, the slot, the upward
//! message's hash). Each `transfer` costs `10 + ω9` of accumulate's gas.
//!
//! # Out: a horizontal message to a para hosted by another instance
//!
//! A candidate's horizontal message to a recipient that is not registered
//! here but named by the route table (`RemoteRoute(recipient) → d`) passes
//! the usual outbound checks on the sender's local channel to it (opened
//! with `open_remote_channel`, listed in the sender's egress index: its
//! message size and ascending order; its count never grows, the
//! receiving instance enforces the capacity). When the block is enacted
//! ([`parajam_xcm_adapter::enact_candidate`], `hrmp::send_remote`), the
//! payload is written to `Outbox(d, channel, n)` (`write`, GP B.7 `Ω_W`; a
//! SCALE `Vec<u8>`, never zero octets) with `n` the channel's next
//! `RemoteOutbound` number, and the service calls `transfer` to `d`: amount
//! 0, `d`'s minimum memo gas, memo kind HRMP (source para, recipient,
//! `n`, slot, payload hash and length). Instance `d` receives it as "In"
//! above. A route to a service that does not exist (`info` answers `NONE`)
//! rejects the candidate before any effect
//! ([`crate::accumulate::Rejection::RouteUnreachable`]).
//!
//! # The outbox is pruned once read
//!
//! A payload stays in `Outbox(d, channel, n)` until instance `d` has
//! delivered it: each time the sending para's block is enacted, after its
//! own sends, the service reads with `read` (`Ω_R`, `ω7` = `d`) `d`'s
//! `RemoteInbound(own id, channel)`, the sequence number `d` expects
//! next on the channel, and removes (`write` of no octets, `Ω_W`) the
//! entries from `OutboxPruned(channel)` up to it, never past what was
//! sent (`RemoteOutbound(channel)`); `OutboxPruned(channel)` records how
//! far ([`crate::accumulate::Event::OutboxPruned`]). A message `d`
//! bounced (never delivered) is never removed.
//!
//! # Routes: the registrar declares where a para lives
//!
//! A registrar work item ([`parajam_corechains_types::RouteDeclaration`],
//! authorizer scope `Registrar`) says that para `p` is hosted by
//! CoreChains instance `d` and lists the HRMP channels to open between
//! `p` and paras hosted here (each with `p` on one side; limits checked as
//! for any channel): accumulate records `RemoteRoute(p) → d` and opens
//! them with `open_remote_channel`. Refused with a typed
//! [`crate::accumulate::Rejection`], changing nothing: `p` registered
//! here (`RouteToLocalPara`), `d` this service (`RouteToSelf`) or no
//! service (`RouteUnreachable`, `info`), `p` already routed to another
//! instance (`RouteExists`: its channels' sequence numbers would break), a
//! channel without `p` (`RouteChannelElsewhere`) or that cannot open
//! (`RouteChannel`). The same route again only opens more channels.
//! Channels declared in genesis storage still work the same.
//!
//! # Channels between instances: opened and closed by XCM
//!
//! Which instance hosts a para stays a registrar declaration (a route:
//! `RemoteRoute(para) → instance`, [`crate::accumulate`]'s
//! `RefineOutput::Route`). That is a departure from the relay chain, which
//! knows every para; the registrar stands for that knowledge. The
//! *channels* between the paras of two instances are opened and closed by
//! the paras' own upward XCM, the same `Transact`s of the relay chain's
//! `hrmp` pallet as within one instance (`parajam_xcm_adapter::ump`), and
//! the two instances keep each other informed with **control memos**
//! (kind 4, [`parajam_corechains_types::memo`]: the initiating para, the
//! other para, the sender's control sequence number, the slot, and in the
//! subject the operation, the channel and, for a request, its proposed
//! limits). Each instance keeps the side of the channel its para is on
//! (the sender's: the channel in its egress index; the recipient's: the
//! channel, its messages and MQC head, in its ingress index). With para
//! 2000 on instance A and 3000 on instance B:
//!
//! 1. 2000's `hrmp_init_open_channel(3000, capacity, size)` runs on A when
//!    its block is enacted: the route to 3000 known (else `InvalidPara`),
//!    the limits within A's configuration, no channel or request yet
//!    (`AlreadyExists`, `AlreadyRequested`), 2000's outbound limit; A
//!    records the request and, once the block is enacted, sends B a control
//!    transfer (amount 0, B's minimum memo gas, `transfer`, `Ω_T`)
//!    ([`crate::accumulate::Event::ControlSent`]). A refusal is an
//!    `UpwardRefused` kept under `UpwardRefused(2000)`, as within one
//!    instance.
//! 2. B receives it ([`crate::accumulate::Input::Transfer`]): the
//!    transfer's source must be the instance B's route table names for
//!    2000 (else bounced, `UnknownSender`: only an instance named in a
//!    route may send control memos; the source of a deferred transfer is
//!    set by JAM and cannot be forged), 3000 must be hosted by B
//!    (`UnknownPara`). B runs the same call with 2000 as origin: the
//!    limits within B's configuration, no channel or request yet; it
//!    records the request and queues `HrmpNewChannelOpenRequest` for 3000
//!    on its downward queue ([`crate::accumulate::Event::ControlReceived`]).
//! 3. 3000's `hrmp_accept_open_channel(2000)` runs on B: the request must
//!    be there (`NoOpenRequest`), 3000's inbound limit; B opens its side
//!    and sends A a control transfer (accept).
//! 4. A receives it (source checked against its route for 3000): its
//!    request becomes its side of the channel, in 2000's egress index, and
//!    `HrmpChannelAccepted` is queued for 2000. 2000's collator now sees
//!    the channel, and its messages to 3000 leave as HRMP transfers
//!    ("Out" above).
//! 5. `hrmp_close_channel` by either party runs on its instance, which
//!    tells the other: each side closes as within one instance (the
//!    sender's side holds no messages and goes at once, leaving 2000's
//!    egress index; the recipient's side takes no more messages and goes
//!    once 3000 has processed what it holds), and the other party is
//!    notified (`HrmpChannelClosing`). Messages 2000 sent before the close
//!    reach B before the close does (JAM keeps the order of one service's
//!    transfers), so they are delivered.
//!
//! An operation the receiving instance refuses (e.g. `NoOpenRequest`,
//! `NoSuchChannel`, `AlreadyClosing`, a notification that does not fit
//! the downward queue) is recorded there
//! ([`crate::accumulate::Event::ControlRefused`] with the typed
//! `ChannelError`, logged as a warning) and the transfer is bounced with
//! `ChannelRefused`; the sending instance records the bounce
//! (`TransferReturned`). Nothing is undone on the sending side: a refused
//! request stays pending there, and since the hrmp pallet has no
//! cancel here, 2000 cannot ask again for that channel (a departure,
//! listed under "Status"). A malformed control memo (unknown operation,
//! parties that do not fit it, limits on an accept or close, padding) is
//! refused by [`parajam_corechains_types::memo::Memo::decode`] and bounced
//! as `MalformedMemo`.
//!
//! Departures from the hrmp pallet, besides those of one instance
//! (`parajam_xcm_adapter`'s docs): the routes are declared; the two
//! halves of a channel change in two accumulations (the control memo's),
//! so for up to one block one side may be open, requested or closed and
//! the other not yet; each instance checks only its own para's limits
//! (outbound channels on the sender's side, inbound on the recipient's),
//! and the channel's capacity and total size are enforced by the
//! recipient's side alone; declared channels
//! (`hrmp::open_remote_channel`, with a route) remain as a test shortcut.
//!
//! # Status and what remains
//!
//! Implemented and tested on `MemStorage` (`tests/transfers.rs`, the two
//! instances' round trip, outbox pruning and routes included), and end to
//! end with the real service program on the PVM
//! (`testing/e2e/tests/jam_transfers.rs`: the STF's `∆1` on a dev genesis,
//! both backends crosschecked): "In" for all three kinds with bounces, and
//! "Out" (a registrar route, an adder block whose upward value transfer
//! and horizontal message to a para elsewhere leave as transfers, then
//! the outbox pruned). With real paras
//! (`parajam_rehearsal::network::Network::with_instances`, `parajam xcm
//! check --instances 2`, the e2e test
//! `xcm::slow_a_reserve_transfer_crosses_between_two_corechains_instances_as_a_jam_transfer`):
//! two instances of `runtime/parachain` on two instances of this service
//! on one authored dev chain, the routes declared by registrar work items
//! on both; para 2000's reserve transfers to 2001 leave instance 1000 as
//! HRMP transfers, instance 1001 delivers each once and in order into
//! 2001's channel in the same block's accumulation, 2001's collator
//! includes them and its message queue processes them, and 1000's outbox
//! is pruned by 2000's next blocks; every block valid on wasm and the
//! PVM, identical, enacted. Channels between instances are also opened
//! and closed by the paras' upward XCM with control memos (above; tested
//! on `MemStorage` in `tests/transfers.rs` and in the adapter's
//! `tests/instances.rs`, with real paras by
//! `Network::remote_xcm_channel_scenario` and its e2e test).
//!
//! With a real cumulus runtime (`testing/e2e/tests/jam_value.rs`, every
//! para block valid on wasm and the PVM, identical, enacted): a value
//! transfer in to Bob on para 2000, accumulated by the real program, is
//! delivered by 2000's collator, and `runtime/parachain` credits Bob in
//! the relay token (its XCM config takes `(Parent, a)` as a reserve asset
//! from the parent, pays `BuyExecution` in it and keeps it in a second
//! `pallet-balances` instance beside its native token); Bob then sends
//! part of it back with `pallet-xcm`'s `limited_reserve_transfer_assets`
//! to `Parent`, beneficiary `(0, GeneralIndex(s))`, whose upward
//! `WithdrawAsset + ClearOrigin + BuyExecution + DepositAsset + SetTopic`
//! `ump::execute` accepts as it is: the para's sovereign balance falls by
//! the amount and service `s`'s JAM balance grows by it. An earlier
//! attempt trapped in the para's first block (`DMQ head mismatch` in
//! `set_validation_data`, seen again with the test's transfer at slot 0)
//! because the test accumulated the transfer at timeslot 0: a para that
//! has processed nothing counts the messages sent at its last relay block
//! (0 at genesis) as processed, drops them from the inherent, and the
//! queue's MQC head no longer matches. No authored block has slot 0 (the
//! genesis header has it), so only such a test meets it; `jam_value` uses
//! slot 1. There the sender is a real service on the authored dev chain:
//! `testing/services`' value sender, an always-accumulating service
//! (`χ_Z`) whose accumulate sends the transfer its storage orders
//! (`transfer`, `Ω_T`) in the chain's first block. Not yet:
//!
//! 1. A bounced HRMP message (kind bounce for a message) is recorded,
//!    not retried, and blocks its channel's later messages (out of
//!    order) until the registrar intervenes; no route removal.
//! 2. A control memo the other instance refused is recorded on both
//!    sides but not undone on the sending side (a pending request stays
//!    pending; an accepted channel stays open on the recipient's side,
//!    where either party may close it).
//! 3. Outbox entries of a channel closed between instances that the
//!    receiving instance had not read by the close are not pruned (the
//!    pruning walks the sender's egress index, which the close leaves).
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use parajam_corechains_types::memo::{BounceReason, ChannelControl, Memo, MemoKind};
use parajam_corechains_types::state::{HrmpChannelId, OutboxId, RemoteChannel, StorageKey};
use parajam_corechains_types::{Hash, ParaId};
use parajam_xcm_adapter::dmp::{self, DownwardError};
use parajam_xcm_adapter::hrmp::{self, ControlSend, OutboundError, RemoteSend};
use parajam_xcm_adapter::ump::{JamAccounts, TransferCheck};
use parajam_xcm_adapter::{xcm, HrmpConfig, Overlay};
use parity_scale_codec::DecodeAll;

use crate::accumulate::{commit, get, put, Event, HostStorage, Rejection};
use crate::blake2_256;
use crate::host::{AccountInfo, AccumulateHost, TransferRefusal};

/// A deferred transfer to the service (GP 0.7.2 `X`'s element as an
/// accumulate input; its destination is the service).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// `s`: the sending service.
    pub source: u32,
    /// `a`: the amount, already in the service's balance.
    pub amount: u64,
    /// `g`: the gas it brought.
    pub gas: u64,
    /// `m`: the memo ([`Memo`]).
    pub memo: [u8; 128],
}

/// How an incoming transfer reached its para.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// As a horizontal message from `sender` (hosted by the source
    /// instance) on its channel, with this sequence number.
    Horizontal {
        /// The sending para.
        sender: ParaId,
        /// Its sequence number on the channel.
        sequence: u64,
    },
    /// As a downward XCM crediting the beneficiary.
    Downward {
        /// Blake2b-256 of the message.
        message_hash: Hash,
        /// The para's downward queue's length after it.
        queue_len: u32,
    },
}

/// Receives `transfer` at timeslot `slot` as the module docs say: a
/// horizontal message (kind HRMP), a downward XCM (kind value), a value
/// returned to a para (kind bounce), or a bounce back to the sender with
/// the reason. Only the service's storage failing (`FULL`) is an error.
pub(crate) fn receive<H: AccumulateHost>(
    host: &mut H,
    service: u32,
    slot: u32,
    transfer: &Transfer,
    events: &mut Vec<Event>,
) -> (ParaId, Result<(), Rejection>) {
    let Ok(memo) = Memo::decode(&transfer.memo) else {
        bounce(
            host,
            slot,
            transfer,
            None,
            BounceReason::MalformedMemo,
            events,
        );
        return (ParaId(0), Ok(()));
    };
    let para = match memo.kind {
        MemoKind::Bounce => memo.source_para,
        _ => ParaId(memo.destination),
    };
    let outcome = match memo.kind {
        MemoKind::Value => deliver_value(host, slot, transfer, &memo),
        MemoKind::Hrmp => deliver_horizontal(host, service, slot, transfer, &memo),
        MemoKind::Bounce => returned(host, transfer, &memo).map(Ok),
        MemoKind::Control => deliver_control(host, slot, transfer, &memo, events),
    };
    match outcome {
        Ok(Ok(event)) => {
            events.push(event);
            (para, Ok(()))
        }
        Ok(Err(reason)) => {
            bounce(host, slot, transfer, Some(&memo), reason, events);
            (para, Ok(()))
        }
        Err(fatal) => (para, Err(fatal)),
    }
}

/// A value transfer into para `memo.destination` for beneficiary
/// `memo.subject`: a downward XCM, and the para's sovereign balance grows.
fn deliver_value<H: AccumulateHost>(
    host: &mut H,
    slot: u32,
    transfer: &Transfer,
    memo: &Memo,
) -> Result<Result<Event, BounceReason>, Rejection> {
    let para = ParaId(memo.destination);
    let message = xcm::reserve_asset_deposited(u128::from(transfer.amount), &memo.subject);
    let message_hash = blake2_256(&message);
    let mut storage = HostStorage(host);
    let mut overlay = Overlay::new(&mut storage);
    let holds: u64 = overlay
        .read(&StorageKey::SovereignBalance(para))
        .unwrap_or_default();
    let Some(holds) = holds.checked_add(transfer.amount) else {
        return Ok(Err(BounceReason::Overflow));
    };
    match dmp::queue(&mut overlay, &HrmpConfig::DEFAULT, para, slot, message) {
        Ok(()) => {}
        Err(DownwardError::Unroutable(_)) => return Ok(Err(BounceReason::UnknownPara)),
        Err(_) => return Ok(Err(BounceReason::QueueFull)),
    }
    overlay.write(StorageKey::SovereignBalance(para), &holds);
    let queue_len = u32::try_from(overlay.downward_queue(para).len()).unwrap_or(u32::MAX);
    let changes = overlay.into_changes();
    commit(host, changes)?;
    Ok(Ok(Event::TransferDelivered {
        source: transfer.source,
        para,
        amount: transfer.amount,
        delivery: Delivery::Downward {
            message_hash,
            queue_len,
        },
    }))
}

/// An HRMP message from a para hosted by the sending instance: its
/// payload read from the sender's `Outbox`, checked, and appended to the
/// channel with the MQC semantics of a local message.
fn deliver_horizontal<H: AccumulateHost>(
    host: &mut H,
    service: u32,
    slot: u32,
    transfer: &Transfer,
    memo: &Memo,
) -> Result<Result<Event, BounceReason>, Rejection> {
    let channel = HrmpChannelId {
        sender: memo.source_para,
        recipient: ParaId(memo.destination),
    };
    if get::<u32, _>(host, StorageKey::RemoteRoute(channel.sender)) != Some(transfer.source) {
        return Ok(Err(BounceReason::UnknownSender));
    }
    let paras: Vec<ParaId> = get(host, StorageKey::Paras).unwrap_or_default();
    if paras.binary_search(&channel.recipient).is_err() {
        return Ok(Err(BounceReason::UnknownPara));
    }
    let remote = RemoteChannel {
        service: transfer.source,
        channel,
    };
    let expected: u64 = get(host, StorageKey::RemoteInbound(remote)).unwrap_or_default();
    if memo.sequence != expected {
        return Ok(Err(BounceReason::OutOfOrder));
    }
    let key = StorageKey::Outbox(OutboxId {
        service,
        channel,
        sequence: memo.sequence,
    });
    let Some(payload) = host
        .get_foreign(transfer.source, &key.to_key())
        .and_then(|v| Vec::<u8>::decode_all(&mut &v[..]).ok())
    else {
        return Ok(Err(BounceReason::PayloadMissing));
    };
    if u32::try_from(payload.len()).ok() != Some(memo.length)
        || blake2_256(&payload) != memo.subject
    {
        return Ok(Err(BounceReason::HashMismatch));
    }
    let mut storage = HostStorage(host);
    let mut overlay = Overlay::new(&mut storage);
    match hrmp::queue_inbound(
        &mut overlay,
        channel.sender,
        channel.recipient,
        slot,
        payload,
    ) {
        Ok(()) => {}
        Err(OutboundError::NoSuchChannel { .. } | OutboundError::ChannelClosing { .. }) => {
            return Ok(Err(BounceReason::NoChannel));
        }
        Err(_) => return Ok(Err(BounceReason::QueueFull)),
    }
    overlay.write(
        StorageKey::RemoteInbound(remote),
        &expected.saturating_add(1),
    );
    let changes = overlay.into_changes();
    commit(host, changes)?;
    Ok(Ok(Event::TransferDelivered {
        source: transfer.source,
        para: channel.recipient,
        amount: transfer.amount,
        delivery: Delivery::Horizontal {
            sender: channel.sender,
            sequence: memo.sequence,
        },
    }))
}

/// A control memo from another instance: the channel operation of the
/// para it hosts (the memo's source para), run here for the para hosted
/// here (its destination) with the same `hrmp` call, the remote para as
/// origin. Only the instance the route table names for the source para
/// may send it (`UnknownSender`), and only for a para hosted here
/// (`UnknownPara`); an operation refused here is recorded
/// ([`Event::ControlRefused`], with the typed reason) and bounced
/// (`ChannelRefused`).
fn deliver_control<H: AccumulateHost>(
    host: &mut H,
    slot: u32,
    transfer: &Transfer,
    memo: &Memo,
    events: &mut Vec<Event>,
) -> Result<Result<Event, BounceReason>, Rejection> {
    let Some(control) = memo.channel_control() else {
        return Ok(Err(BounceReason::MalformedMemo)); // not after `Memo::decode`
    };
    if get::<u32, _>(host, StorageKey::RemoteRoute(memo.source_para)) != Some(transfer.source) {
        return Ok(Err(BounceReason::UnknownSender));
    }
    let para = control.other();
    let paras: Vec<ParaId> = get(host, StorageKey::Paras).unwrap_or_default();
    if paras.binary_search(&para).is_err() {
        return Ok(Err(BounceReason::UnknownPara));
    }
    let config = HrmpConfig::DEFAULT;
    let mut storage = HostStorage(host);
    let mut overlay = Overlay::new(&mut storage);
    let done = match control {
        ChannelControl::OpenRequest {
            channel,
            max_capacity,
            max_message_size,
        } => hrmp::init_open_channel(
            &mut overlay,
            &config,
            channel.sender,
            channel.recipient,
            max_capacity,
            max_message_size,
            slot,
        ),
        ChannelControl::Accept { channel } => hrmp::accept_open_channel(
            &mut overlay,
            &config,
            channel.recipient,
            channel.sender,
            slot,
        ),
        ChannelControl::Close { channel, initiator } => {
            hrmp::close_channel(&mut overlay, &config, initiator, channel, slot)
        }
    };
    match done {
        // The other party is hosted here: nothing to tell anyone.
        Ok(None) => {}
        Ok(Some(_)) => return Ok(Err(BounceReason::UnknownPara)), // not after the checks above
        Err(error) => {
            events.push(Event::ControlRefused {
                source: transfer.source,
                para,
                control,
                error,
            });
            return Ok(Err(BounceReason::ChannelRefused));
        }
    }
    let changes = overlay.into_changes();
    commit(host, changes)?;
    Ok(Ok(Event::ControlReceived {
        source: transfer.source,
        para,
        control,
    }))
}

/// A transfer the service sent, bounced: a value transfer's amount goes
/// back to the para's sovereign balance (if the para is still
/// registered); a message's stays with the service. Never bounced again.
fn returned<H: AccumulateHost>(
    host: &mut H,
    transfer: &Transfer,
    memo: &Memo,
) -> Result<Event, Rejection> {
    let para = memo.source_para;
    let paras: Vec<ParaId> = get(host, StorageKey::Paras).unwrap_or_default();
    if paras.binary_search(&para).is_ok() && transfer.amount > 0 {
        let key = StorageKey::SovereignBalance(para);
        let holds: u64 = get(host, key).unwrap_or_default();
        put(host, key, &holds.saturating_add(transfer.amount))?;
    }
    Ok(Event::TransferReturned {
        source: transfer.source,
        para,
        amount: transfer.amount,
        sequence: memo.sequence,
        reason: memo.reason.unwrap_or(BounceReason::MalformedMemo),
    })
}

/// Sends `transfer`'s amount back to its sender with a bounce memo
/// (`reason`, the bounced memo's hash), at the sender's minimum memo gas;
/// nothing else changes. If the sender is gone or the service cannot pay,
/// the value stays with the service, and the event says why.
fn bounce<H: AccumulateHost>(
    host: &mut H,
    slot: u32,
    transfer: &Transfer,
    memo: Option<&Memo>,
    reason: BounceReason,
    events: &mut Vec<Event>,
) {
    let back = Memo {
        kind: MemoKind::Bounce,
        source_para: memo.map_or(ParaId(0), |m| m.source_para),
        destination: memo.map_or(0, |m| m.destination),
        sequence: memo.map_or(0, |m| m.sequence),
        sent_at: slot,
        subject: blake2_256(&transfer.memo),
        length: 0,
        reason: Some(reason),
    };
    let sent = match host.info(transfer.source) {
        None => Err(TransferRefusal::Who),
        Some(info) => host.transfer(
            transfer.source,
            transfer.amount,
            info.min_memo_gas,
            &back.encode(),
        ),
    };
    events.push(Event::TransferBounced {
        source: transfer.source,
        amount: transfer.amount,
        reason,
        sent,
    });
}

/// Sends `amount` from `para`'s upward message (Blake2b-256 `hash`) to
/// `service`, checked beforehand by [`HostAccounts`]: a value memo with
/// `sequence`, at the destination's minimum memo gas.
pub(crate) fn send_value<H: AccumulateHost>(
    host: &mut H,
    para: ParaId,
    service: u32,
    amount: u64,
    sequence: u64,
    slot: u32,
    hash: Hash,
) -> Result<(), Rejection> {
    let memo = Memo::value(para, service, sequence, slot, hash);
    let gas = host
        .info(service)
        .ok_or(Rejection::TransferRefused(TransferRefusal::Who))?
        .min_memo_gas;
    host.transfer(service, amount, gas, &memo.encode())
        .map_err(Rejection::TransferRefused)
}

/// Announces `send`, a horizontal message of `para` put in the outbox, to
/// the instance hosting its recipient: a transfer of nothing with an
/// HRMP memo, at the destination's minimum memo gas.
pub(crate) fn send_horizontal<H: AccumulateHost>(
    host: &mut H,
    slot: u32,
    send: &RemoteSend,
) -> Result<(), Rejection> {
    let memo = Memo {
        kind: MemoKind::Hrmp,
        source_para: send.channel.sender,
        destination: send.channel.recipient.0,
        sequence: send.sequence,
        sent_at: slot,
        subject: send.hash,
        length: send.length,
        reason: None,
    };
    let gas = host
        .info(send.service)
        .ok_or(Rejection::TransferRefused(TransferRefusal::Who))?
        .min_memo_gas;
    host.transfer(send.service, 0, gas, &memo.encode())
        .map_err(Rejection::TransferRefused)
}

/// Tells the instance hosting the other party of a channel what the para
/// hosted here did (`send`): a transfer of nothing with a control memo
/// (`sequence`, the slot, the operation), at the destination's minimum
/// memo gas.
pub(crate) fn send_control<H: AccumulateHost>(
    host: &mut H,
    slot: u32,
    send: &ControlSend,
    sequence: u64,
) -> Result<(), Rejection> {
    let memo = Memo::control(&send.control, sequence, slot);
    let gas = host
        .info(send.service)
        .ok_or(Rejection::TransferRefused(TransferRefusal::Who))?
        .min_memo_gas;
    host.transfer(send.service, 0, gas, &memo.encode())
        .map_err(Rejection::TransferRefused)
}

/// Removes the outbox entries of `para`'s channels to paras hosted
/// elsewhere that their instance has read: for each recipient in `para`'s
/// egress index with a route `d`, the entries from
/// [`StorageKey::OutboxPruned`] up to the sequence number `d` expects
/// next on the channel from this service (its `RemoteInbound`, read from
/// `d`'s storage with `read`, `Ω_R`), never past what was sent. An entry
/// `d` has not delivered (not yet received, or bounced) stays. Only the
/// write of the new [`StorageKey::OutboxPruned`] can fail (`FULL`,
/// though the removals free more than it takes).
pub(crate) fn prune_outbox<H: AccumulateHost>(
    host: &mut H,
    service: u32,
    para: ParaId,
    events: &mut Vec<Event>,
) -> Result<(), Rejection> {
    let egress: Vec<ParaId> = get(host, StorageKey::HrmpEgress(para)).unwrap_or_default();
    for recipient in egress {
        let Some(d) = get::<u32, _>(host, StorageKey::RemoteRoute(recipient)) else {
            continue;
        };
        let channel = HrmpChannelId {
            sender: para,
            recipient,
        };
        let sent: u64 = get(host, StorageKey::RemoteOutbound(channel)).unwrap_or_default();
        let first: u64 = get(host, StorageKey::OutboxPruned(channel)).unwrap_or_default();
        if first >= sent {
            continue;
        }
        let inbound = StorageKey::RemoteInbound(RemoteChannel { service, channel });
        let delivered = host
            .get_foreign(d, &inbound.to_key())
            .and_then(|v| u64::decode_all(&mut &v[..]).ok())
            .unwrap_or_default();
        let below = delivered.min(sent);
        if below <= first {
            continue;
        }
        for sequence in first..below {
            host.remove(
                &StorageKey::Outbox(OutboxId {
                    service: d,
                    channel,
                    sequence,
                })
                .to_key(),
            );
        }
        put(host, StorageKey::OutboxPruned(channel), &below)?;
        events.push(Event::OutboxPruned {
            para,
            recipient,
            service: d,
            below,
            removed: below - first,
        });
    }
    Ok(())
}

/// The JAM accounts a candidate's upward value transfers go to, read with
/// `info` before its messaging runs: `WHO` if a service is not there,
/// `CASH` once the service's balance less what it already accepted would
/// fall under its threshold.
pub(crate) struct HostAccounts {
    own: AccountInfo,
    accepted: u64,
    services: BTreeMap<u32, bool>,
}

impl HostAccounts {
    /// The accounts `messages`' value transfers name, and the service's own.
    pub(crate) fn read<H: AccumulateHost>(host: &mut H, messages: &[Vec<u8>]) -> Self {
        let mut services = BTreeMap::new();
        for msg in messages {
            let Ok(decoded) = xcm::decode_upward(msg) else {
                continue;
            };
            if let Some(value) = xcm::value_transfer(msg, &decoded) {
                let exists = host.info(value.service).is_some();
                services.insert(value.service, exists);
            }
        }
        let own = if services.is_empty() {
            AccountInfo {
                balance: 0,
                threshold: 0,
                min_memo_gas: 0,
            }
        } else {
            host.own_info()
        };
        Self {
            own,
            accepted: 0,
            services,
        }
    }
}

impl JamAccounts for HostAccounts {
    fn accept(&mut self, service: u32, amount: u64) -> Result<(), TransferCheck> {
        if self.services.get(&service) != Some(&true) {
            return Err(TransferCheck::Who);
        }
        let accepted = self.accepted.saturating_add(amount);
        match self.own.balance.checked_sub(accepted) {
            Some(left) if left >= self.own.threshold => {
                self.accepted = accepted;
                Ok(())
            }
            _ => Err(TransferCheck::Cash),
        }
    }
}
