//! Accumulate: enact what refine validated (GP 0.7.2 `Ψ_A` of the
//! CoreChains service), in the order the items come.
//!
//! For a [`RefineOutput::Valid`] candidate of para `p`:
//!
//! 1. the package was authorized by the CoreChains authorizer for `p`:
//!    the item's authorizer hash is `H(u ⌢ E(AuthConfig{service, Para(p)}))`
//!    with `u` the authorizer code hash of the service's [`ServiceConfig`];
//! 2. `p` is registered;
//! 3. its relay parent (a timeslot) is recent, and its relay-parent storage
//!    root is the root of the service's emulated relay-chain state for `p`
//!    at that timeslot ([`crate::relay_state`]) (the relay-parent
//!    descendants a runtime with `RelayParentOffset` > 0 carries are the
//!    PVF's to check and bear on nothing enacted: [`crate::relay_chain`]);
//! 4. the candidate was validated with the current code, and its parent
//!    head is the stored head (by hash);
//! 5. it asks for no code upgrade while one is pending;
//! 6. if a pending code upgrade is due at its relay parent (the block saw
//!    the go-ahead signal and applied the new code in its own state), the
//!    new code's preimage is available;
//! 7. its messaging passes the relay chain's checks, as the XCM adapter
//!    (`parajam-xcm-adapter`) makes them: the downward messages it
//!    processed (no more than are queued, at least one if one was queued
//!    by its relay parent), its HRMP watermark, and its horizontal
//!    messages (ascending recipients, each on an open channel within the
//!    channel's limits, at most `hrmp_max_message_num_per_candidate`).
//!
//! Then, all at once: the due upgrade becomes the current code (so the
//! block that applied it was validated with the old code, and the para's
//! next block runs the new one, as the relay chain's `paras` module does
//! on inclusion); the new head is stored; a new code is scheduled
//! (`PendingUpgrade`, enacted `upgrade_delay` slots later) and its
//! preimage solicited; processed downward messages leave the para's
//! queue, inbound horizontal messages up to the watermark leave their
//! channels, and the horizontal messages are appended to theirs (their MQC
//! heads advanced); then the upward messages run, in order, as the XCM
//! adapter maps them (the HRMP channel lifecycle; each message whole or
//! not at all): a refused one is kept with its reason
//! ([`Event::UpwardRefused`], [`StorageKey::UpwardRefused`]), none is
//! dropped. Upward messages run when their block is enacted, so the
//! para's upward queue (`StorageKey::UpwardQueue`, the relay state's
//! remaining capacity) stays empty. A registration ([`RefineOutput::Register`]) must come from
//! the registrar scope, for a para not yet registered; its code is
//! solicited unless already available. So must a PVM build
//! ([`RefineOutput::RegisterBuild`]): it is recorded, and its artifact
//! solicited. A code upgrade to code `h` runs `h`'s registered build if it
//! has one (resolved when scheduled and again when due, so a build
//! registered in between still counts), else `h` itself. A downward
//! message ([`RefineOutput::Downward`]) must come from the registrar scope
//! too, which stands for the relay chain's governance (its
//! `XcmPallet::send` with root origin): it is queued on the para's
//! downward queue at the current timeslot as the relay chain's `dmp`
//! pallet queues it (the para's MQC head advances; the message's size and
//! the queue's length within the limits of
//! [`HrmpConfig::DEFAULT`]), and the para's collator delivers it like any
//! downward message. What the message does is the para's runtime's
//! business: a `Transact` with `OriginKind::Superuser` is root on a para
//! whose XCM configuration converts it (`ParentAsSuperuser`), which is how
//! relay governance authorizes a runtime upgrade of a para without sudo.
//! Anything else is rejected with a [`Rejection`], changing nothing.
//!
//! A route ([`RefineOutput::Route`]) must come from the registrar scope
//! as well: it says which CoreChains instance hosts a para that is not
//! hosted here, and may open channels with it ([`crate::jam_transfers`]).
//! Channels with such a para are otherwise opened and closed by the
//! paras' upward XCM like any other: a call on one runs here for the para
//! hosted here, and the instance hosting the other party is told with a
//! control memo once the block is enacted ([`Event::ControlSent`]); a
//! control memo received runs the same call for the para hosted here
//! ([`Event::ControlReceived`], or [`Event::ControlRefused`] and a
//! bounce).
//!
//! Deferred transfers to the service come first ([`Input::Transfer`], GP
//! 0.7.2 `i^T ⌢ i^U`): each becomes a message to a para or bounces back
//! ([`crate::jam_transfers`]); an upward message moving value to a JAM
//! service leaves as a transfer once its block is enacted
//! ([`Event::TransferSent`]).

use alloc::vec::Vec;

use parajam_corechains_types::state::{HrmpChannelId, PendingUpgrade, ServiceConfig, StorageKey};
use parajam_corechains_types::{
    AuthConfig, AuthScope, CandidateOutput, DownwardMessage, Hash, HeadData, InvalidReason, ParaId,
    PvmBuild, RefineOutput, Registration, RouteDeclaration, ValidationCodeHash,
};
use parity_scale_codec::{Decode, DecodeAll, Encode};

use parajam_corechains_types::memo::{BounceReason, ChannelControl};
use parajam_xcm_adapter::dmp::{self, DownwardError};
use parajam_xcm_adapter::hrmp::{self, ChannelError, ControlSend, RemoteSend};
use parajam_xcm_adapter::store::Changes;
use parajam_xcm_adapter::ump::{self, HrmpCall, Upward, UpwardRefusal};
use parajam_xcm_adapter::{CandidateMessaging, HrmpConfig, MessagingError, Overlay};

use crate::host::{AccumulateHost, LogLevel, Preimage, TransferRefusal};
use crate::jam_transfers::{self, Delivery, HostAccounts, Transfer};
use crate::relay_state::{RelayMessaging, RelayState};
use crate::{blake2_256, LOG_TARGET};

/// One accumulation input of the service: a work digest's authorizer hash
/// and refine result (GP `U`'s `a` and `l`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The work package's authorizer hash.
    pub authorizer_hash: Hash,
    /// The refine output, or the work error's code (`∞` = 1, `☇` = 2, ...).
    pub result: Result<Vec<u8>, u8>,
}

/// One accumulation input (GP 0.7.2 `i^T ⌢ i^U`: the deferred transfers
/// to the service, then its work digests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A deferred transfer to the service.
    Transfer(Transfer),
    /// A work digest.
    Work(Item),
}

/// What happened to one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An incoming transfer became a message to a para.
    TransferDelivered {
        /// The service that sent it.
        source: u32,
        /// The para it is for.
        para: ParaId,
        /// Its amount.
        amount: u64,
        /// How it reached the para.
        delivery: Delivery,
    },
    /// An incoming transfer was sent back (`sent`: whether the bounce
    /// transfer was made; if not, the value stays with the service).
    TransferBounced {
        /// The service that sent it.
        source: u32,
        /// Its amount.
        amount: u64,
        /// Why.
        reason: BounceReason,
        /// The bounce transfer's outcome.
        sent: Result<(), TransferRefusal>,
    },
    /// A transfer the service sent came back bounced; its value is back in
    /// the para's sovereign balance (a value transfer) or the service's (a
    /// message).
    TransferReturned {
        /// The service that bounced it.
        source: u32,
        /// The para that sent it.
        para: ParaId,
        /// Its amount.
        amount: u64,
        /// Its sequence number.
        sequence: u64,
        /// Why.
        reason: BounceReason,
    },
    /// A para's horizontal message to a para hosted by another CoreChains
    /// instance: put in the outbox and announced with a transfer.
    HorizontalSent {
        /// The sending para.
        para: ParaId,
        /// The recipient.
        recipient: ParaId,
        /// The instance hosting it.
        service: u32,
        /// The message's sequence number on its channel.
        sequence: u64,
    },
    /// A para's upward `hrmp` call on a channel whose other party is
    /// hosted by another CoreChains instance: the operation told to that
    /// instance with a control memo.
    ControlSent {
        /// The para that made the call.
        para: ParaId,
        /// The instance hosting the other party.
        service: u32,
        /// The operation.
        control: ChannelControl,
        /// The memo's sequence number ([`StorageKey::ControlSequence`]).
        sequence: u64,
    },
    /// A control memo from another instance: the channel operation of the
    /// para it hosts ran here for the para hosted here.
    ControlReceived {
        /// The instance that sent it.
        source: u32,
        /// The para hosted here.
        para: ParaId,
        /// The operation.
        control: ChannelControl,
    },
    /// A control memo whose operation was refused here (the transfer is
    /// bounced, [`BounceReason::ChannelRefused`]).
    ControlRefused {
        /// The instance that sent it.
        source: u32,
        /// The para hosted here.
        para: ParaId,
        /// The operation.
        control: ChannelControl,
        /// Why.
        error: ChannelError,
    },
    /// A para's upward message moved value to a JAM service: sent as a
    /// deferred transfer.
    TransferSent {
        /// The para.
        para: ParaId,
        /// The destination service.
        service: u32,
        /// The amount.
        amount: u64,
        /// The memo's sequence number.
        sequence: u64,
    },
    /// A para's head advanced to `head`.
    HeadEnacted {
        /// The para.
        para: ParaId,
        /// Blake2b-256 of the new head.
        head_hash: Hash,
    },
    /// A code upgrade became the current code.
    UpgradeEnacted {
        /// The para.
        para: ParaId,
        /// The new code.
        code_hash: ValidationCodeHash,
    },
    /// A code upgrade was scheduled.
    UpgradeScheduled {
        /// The para.
        para: ParaId,
        /// The upgrade.
        upgrade: PendingUpgrade,
    },
    /// An upward message of a para ran: the relay-chain calls it made.
    UpwardExecuted {
        /// The para.
        para: ParaId,
        /// The `hrmp` calls it made, in order.
        calls: Vec<HrmpCall>,
    },
    /// An upward message of a para was refused; it is kept, with the
    /// reason, under [`StorageKey::UpwardRefused`].
    UpwardRefused {
        /// The para.
        para: ParaId,
        /// Why.
        reason: UpwardRefusal,
    },
    /// Outbox entries of a channel to a para hosted elsewhere that the
    /// receiving instance has read were removed.
    OutboxPruned {
        /// The sending para.
        para: ParaId,
        /// The recipient.
        recipient: ParaId,
        /// The instance hosting it.
        service: u32,
        /// Every entry below this sequence number is gone.
        below: u64,
        /// How many this accumulation removed.
        removed: u64,
    },
    /// The registrar declared where a para hosted elsewhere lives, and
    /// opened channels with it.
    RouteDeclared {
        /// The para.
        para: ParaId,
        /// The CoreChains instance hosting it.
        service: u32,
        /// How many channels were opened.
        channels: u32,
    },
    /// A para was registered.
    Registered {
        /// The para.
        para: ParaId,
    },
    /// A PVM build was registered.
    BuildRegistered {
        /// The build.
        build: PvmBuild,
    },
    /// A downward message of the relay chain's governance was queued.
    DownwardQueued {
        /// The para.
        para: ParaId,
        /// Blake2b-256 of the message.
        message_hash: Hash,
        /// The para's downward queue's length after it.
        queue_len: u32,
    },
    /// An item was rejected.
    Rejected {
        /// The para it was for (zero when unknown).
        para: ParaId,
        /// Why.
        reason: Rejection,
    },
}

impl Event {
    /// Why a candidate or message was refused, if this is a refusal.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            Self::Rejected { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

/// Why accumulate rejected an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Refine failed (the work error code).
    RefineFailed(u8),
    /// Refine found the candidate invalid.
    Invalid(InvalidReason),
    /// The work output does not decode.
    BadOutput,
    /// The service has no [`ServiceConfig`].
    NotConfigured,
    /// The package was not authorized for this para by the service's authorizer.
    NotAuthorized,
    /// The para is not registered.
    NotRegistered,
    /// The para is already registered.
    AlreadyRegistered,
    /// The candidate was validated with other code than the para's current code.
    WrongCode,
    /// The candidate's parent head is not the para's head.
    WrongParentHead,
    /// Its messaging is refused: downward messages processed, HRMP
    /// watermark or horizontal messages.
    Messaging(MessagingError),
    /// A governance downward message cannot be queued (too large, the
    /// queue full, or the para not registered).
    Downward(DownwardError),
    /// It asked for a code upgrade while one is pending.
    UpgradeAlreadyPending,
    /// The candidate's relay parent is in the future or older than
    /// [`ServiceConfig::relay_parent_max_age`] slots.
    RelayParentOutOfRange,
    /// The candidate's relay-parent storage root is not the root of the
    /// service's emulated relay-chain state at its relay parent
    /// ([`crate::relay_state`]).
    WrongRelayState,
    /// The para's pending upgrade is due at the candidate's relay parent,
    /// but its code is not available yet: the block cannot be enacted
    /// until it is provided.
    UpgradeCodeUnavailable,
    /// The service could not pay for the storage (`write` answered `FULL`).
    StorageFull,
    /// The new code's preimage could not be solicited.
    SolicitFailed,
    /// A deferred transfer checked beforehand was refused by `transfer`.
    TransferRefused(TransferRefusal),
    /// A route declared for a para registered here.
    RouteToLocalPara,
    /// A route declared to this service itself.
    RouteToSelf,
    /// A route declared for a para already routed to another instance
    /// (changing it would break its channels' sequence numbers).
    RouteExists {
        /// The instance the route table names now.
        service: u32,
    },
    /// A channel of a route declaration does not have the routed para on
    /// one side.
    RouteChannelElsewhere(HrmpChannelId),
    /// A channel of a route declaration cannot be opened.
    RouteChannel(ChannelError),
    /// A horizontal message to a para routed to a service that does not
    /// exist (or a route declared to one).
    RouteUnreachable {
        /// The recipient.
        recipient: ParaId,
        /// The service the route table names.
        service: u32,
    },
}

/// A failure after an item's effects began (the service cannot pay for its
/// storage, or a `solicit` is refused): the service program panics, so
/// the accumulation reverts to the checkpoint taken after the last item
/// that was enacted whole (GP B.9 `checkpoint`, B.5 `C`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal {
    /// The para of the item.
    pub para: ParaId,
    /// What failed.
    pub reason: Rejection,
    /// What happened to the items before it (kept by the checkpoint).
    pub events: Vec<Event>,
}

/// Accumulates `items` of service `service` at timeslot `slot`: what
/// happened to each, in order.
pub fn accumulate<H: AccumulateHost>(
    host: &mut H,
    service: u32,
    slot: u32,
    items: &[Item],
) -> Result<Vec<Event>, Fatal> {
    let inputs: Vec<Input> = items.iter().cloned().map(Input::Work).collect();
    accumulate_inputs(host, service, slot, &inputs)
}

/// Accumulates `inputs` of service `service` at timeslot `slot`: what
/// happened to each, in order. A transfer is received as
/// [`crate::jam_transfers`] says (delivered to a para, or bounced); a work
/// digest is enacted as [`accumulate`] says.
pub fn accumulate_inputs<H: AccumulateHost>(
    host: &mut H,
    service: u32,
    slot: u32,
    inputs: &[Input],
) -> Result<Vec<Event>, Fatal> {
    let mut events = Vec::new();
    let config: Option<ServiceConfig> = get(host, StorageKey::Config);
    for input in inputs {
        let (para, outcome) = match (input, config) {
            (Input::Transfer(transfer), _) => {
                jam_transfers::receive(host, service, slot, transfer, &mut events)
            }
            (Input::Work(_), None) => (ParaId(0), Err(Rejection::NotConfigured)),
            (Input::Work(item), Some(config)) => {
                enact(host, &config, service, slot, item, &mut events)
            }
        };
        match outcome {
            Ok(()) => host.checkpoint(),
            Err(
                reason @ (Rejection::StorageFull
                | Rejection::SolicitFailed
                | Rejection::TransferRefused(_)),
            ) => {
                log_events(host, &events);
                return Err(Fatal {
                    para,
                    reason,
                    events,
                });
            }
            Err(reason) => events.push(Event::Rejected { para, reason }),
        }
    }
    log_events(host, &events);
    Ok(events)
}

fn log_events<H: AccumulateHost>(host: &mut H, events: &[Event]) {
    for event in events {
        let level = if matches!(
            event,
            Event::Rejected { .. }
                | Event::UpwardRefused { .. }
                | Event::ControlRefused { .. }
                | Event::TransferBounced { .. }
                | Event::TransferReturned { .. }
        ) {
            LogLevel::Warn
        } else {
            LogLevel::Info
        };
        host.log(level, LOG_TARGET, alloc::format!("{event:?}").as_bytes());
    }
}

fn enact<H: AccumulateHost>(
    host: &mut H,
    config: &ServiceConfig,
    service: u32,
    slot: u32,
    item: &Item,
    events: &mut Vec<Event>,
) -> (ParaId, Result<(), Rejection>) {
    let output = match &item.result {
        Err(code) => return (ParaId(0), Err(Rejection::RefineFailed(*code))),
        Ok(bytes) => match RefineOutput::decode_all(&mut &bytes[..]) {
            Ok(output) => output,
            Err(_) => return (ParaId(0), Err(Rejection::BadOutput)),
        },
    };
    match output {
        RefineOutput::Invalid { para_id, reason } => (para_id, Err(Rejection::Invalid(reason))),
        RefineOutput::Register(registration) => {
            let para = registration.para_id;
            let scope = AuthScope::Registrar;
            if item.authorizer_hash != authorizer_hash(config, service, scope) {
                return (para, Err(Rejection::NotAuthorized));
            }
            (para, register(host, &registration, events))
        }
        RefineOutput::RegisterBuild(build) => {
            if item.authorizer_hash != authorizer_hash(config, service, AuthScope::Registrar) {
                return (ParaId(0), Err(Rejection::NotAuthorized));
            }
            (ParaId(0), register_build(host, &build, events))
        }
        RefineOutput::Downward(message) => {
            let para = message.para_id;
            if item.authorizer_hash != authorizer_hash(config, service, AuthScope::Registrar) {
                return (para, Err(Rejection::NotAuthorized));
            }
            (para, queue_downward(host, slot, &message, events))
        }
        RefineOutput::Route(route) => {
            let para = route.para_id;
            if item.authorizer_hash != authorizer_hash(config, service, AuthScope::Registrar) {
                return (para, Err(Rejection::NotAuthorized));
            }
            (para, declare_route(host, service, &route, events))
        }
        RefineOutput::Valid(output) => {
            let para = output.para_id;
            if item.authorizer_hash != authorizer_hash(config, service, AuthScope::Para(para)) {
                return (para, Err(Rejection::NotAuthorized));
            }
            (para, advance(host, config, service, slot, &output, events))
        }
    }
}

/// `H(u ⌢ f)` of the CoreChains authorizer with `scope` (GP 0.7.2 §14.3).
pub fn authorizer_hash(config: &ServiceConfig, service: u32, scope: AuthScope) -> Hash {
    let mut preimage = config.authorizer_code_hash.to_vec();
    AuthConfig { service, scope }.encode_to(&mut preimage);
    blake2_256(&preimage)
}

fn register<H: AccumulateHost>(
    host: &mut H,
    registration: &Registration,
    events: &mut Vec<Event>,
) -> Result<(), Rejection> {
    let para = registration.para_id;
    let mut paras: Vec<ParaId> = get(host, StorageKey::Paras).unwrap_or_default();
    let Err(at) = paras.binary_search(&para) else {
        return Err(Rejection::AlreadyRegistered);
    };
    let code = registration.validation_code_hash;
    let len = registration.validation_code_len;
    ensure_solicited(host, code, len)?;
    paras.insert(at, para);
    put(host, StorageKey::Paras, &paras)?;
    put(host, StorageKey::Head(para), &registration.genesis_head)?;
    put(host, StorageKey::Code(para), &code)?;
    events.push(Event::Registered { para });
    Ok(())
}

fn register_build<H: AccumulateHost>(
    host: &mut H,
    build: &PvmBuild,
    events: &mut Vec<Event>,
) -> Result<(), Rejection> {
    let (code, len) = (build.pvf, build.pvf_len);
    ensure_solicited(host, code, len)?;
    put(host, StorageKey::Build(build.source), build)?;
    events.push(Event::BuildRegistered { build: *build });
    Ok(())
}

/// Records the registrar's route: para `route.para_id` is hosted by
/// CoreChains instance `route.service`, and its channels with paras hosted
/// here are opened (`hrmp::open_remote_channel`: the local para's index
/// lists each). Checked first: the para is not registered here, the
/// instance exists (`info`) and is not this service, the para has no
/// route to another instance, and every channel opens; then written.
/// Declaring the same route again only opens more channels.
fn declare_route<H: AccumulateHost>(
    host: &mut H,
    service: u32,
    route: &RouteDeclaration,
    events: &mut Vec<Event>,
) -> Result<(), Rejection> {
    let para = route.para_id;
    if route.service == service {
        return Err(Rejection::RouteToSelf);
    }
    if host.info(route.service).is_none() {
        return Err(Rejection::RouteUnreachable {
            recipient: para,
            service: route.service,
        });
    }
    let mut storage = HostStorage(host);
    let mut overlay = Overlay::new(&mut storage);
    if overlay.is_para(para) {
        return Err(Rejection::RouteToLocalPara);
    }
    match overlay.read::<u32>(&StorageKey::RemoteRoute(para)) {
        Some(existing) if existing != route.service => {
            return Err(Rejection::RouteExists { service: existing });
        }
        _ => {}
    }
    overlay.write(StorageKey::RemoteRoute(para), &route.service);
    for channel in &route.channels {
        if channel.sender != para && channel.recipient != para {
            return Err(Rejection::RouteChannelElsewhere(HrmpChannelId {
                sender: channel.sender,
                recipient: channel.recipient,
            }));
        }
        hrmp::open_remote_channel(
            &mut overlay,
            &HrmpConfig::DEFAULT,
            channel.sender,
            channel.recipient,
            channel.max_capacity,
            channel.max_message_size,
        )
        .map_err(Rejection::RouteChannel)?;
    }
    let changes = overlay.into_changes();
    commit(host, changes)?;
    events.push(Event::RouteDeclared {
        para,
        service: route.service,
        channels: u32::try_from(route.channels.len()).unwrap_or(u32::MAX),
    });
    Ok(())
}

/// Queues a governance downward message at timeslot `slot`: checked by
/// the XCM adapter (`dmp::queue`: size, queue length, a registered para),
/// then written.
fn queue_downward<H: AccumulateHost>(
    host: &mut H,
    slot: u32,
    message: &DownwardMessage,
    events: &mut Vec<Event>,
) -> Result<(), Rejection> {
    let para = message.para_id;
    let mut storage = HostStorage(host);
    let mut overlay = Overlay::new(&mut storage);
    dmp::queue(
        &mut overlay,
        &HrmpConfig::DEFAULT,
        para,
        slot,
        message.message.clone(),
    )
    .map_err(Rejection::Downward)?;
    let queue_len = u32::try_from(overlay.downward_queue(para).len()).unwrap_or(u32::MAX);
    let changes = overlay.into_changes();
    commit(host, changes)?;
    events.push(Event::DownwardQueued {
        para,
        message_hash: blake2_256(&message.message),
        queue_len,
    });
    Ok(())
}

/// Makes sure the preimage `(code, len)` is available or asked for:
/// solicits it unless it is available or already requested (GP B.9
/// `solicit` refuses a request that is pending).
fn ensure_solicited<H: AccumulateHost>(
    host: &mut H,
    code: ValidationCodeHash,
    len: u32,
) -> Result<(), Rejection> {
    match host.query(&code.0, len) {
        Preimage::Available | Preimage::Requested => Ok(()),
        Preimage::Unknown | Preimage::Unavailable if host.solicit(&code.0, len) => Ok(()),
        Preimage::Unknown | Preimage::Unavailable => Err(Rejection::SolicitFailed),
    }
}

/// The code an upgrade to `code` of `len` octets runs: its registered PVM
/// build, or itself.
fn resolve<H: AccumulateHost>(
    host: &mut H,
    code: ValidationCodeHash,
    len: u32,
) -> (ValidationCodeHash, u32) {
    match get::<PvmBuild, _>(host, StorageKey::Build(code)) {
        Some(build) => (build.pvf, build.pvf_len),
        None => (code, len),
    }
}

fn advance<H: AccumulateHost>(
    host: &mut H,
    config: &ServiceConfig,
    service: u32,
    slot: u32,
    output: &CandidateOutput,
    events: &mut Vec<Event>,
) -> Result<(), Rejection> {
    let para = output.para_id;
    let paras: Vec<ParaId> = get(host, StorageKey::Paras).unwrap_or_default();
    if paras.binary_search(&para).is_err() {
        return Err(Rejection::NotRegistered);
    }
    // The relay parent: recent, and the emulated relay-chain state the
    // block saw is the service's at that timeslot (before this block's
    // effects, and before a due upgrade is enacted: as the collator read it).
    let relay_parent = output.relay_parent_number;
    if relay_parent > slot || slot - relay_parent > config.relay_parent_max_age {
        return Err(Rejection::RelayParentOutOfRange);
    }
    let head: HeadData = get(host, StorageKey::Head(para)).ok_or(Rejection::NotRegistered)?;
    let pending: Option<PendingUpgrade> = get(host, StorageKey::PendingUpgrade(para));
    let upward: Vec<Vec<u8>> = get(host, StorageKey::UpwardQueue(para)).unwrap_or_default();
    let messaging = RelayMessaging::read(|key| host.get(&key.to_key()), para);
    let relay_state = RelayState::new(
        para,
        relay_parent,
        config,
        head.clone(),
        pending.as_ref(),
        &upward,
        messaging,
    );
    if relay_state.root() != output.relay_parent_storage_root {
        return Err(Rejection::WrongRelayState);
    }
    // Validated with the current code, on the stored head. A block that
    // saw the go-ahead applied the new code in its own state but was
    // validated with the old code, as on the relay chain (`paras`'
    // `note_new_head` switches the code on inclusion, after the check).
    let code: Option<ValidationCodeHash> = get(host, StorageKey::Code(para));
    if code != Some(output.validation_code_hash) {
        return Err(Rejection::WrongCode);
    }
    if blake2_256(&head.0) != output.parent_head_hash {
        return Err(Rejection::WrongParentHead);
    }
    if output.new_validation_code.is_some() && pending.is_some() {
        return Err(Rejection::UpgradeAlreadyPending);
    }
    // The upgrade this block enacts: its code must be there to run the
    // para's next block.
    let due = match pending {
        Some(upgrade) if upgrade.is_due(relay_parent) => {
            let (code, len) = resolve(host, upgrade.code_hash, upgrade.code_len);
            if host.query(&code.0, len) != Preimage::Available {
                return Err(Rejection::UpgradeCodeUnavailable);
            }
            Some(code)
        }
        _ => None,
    };
    let (messaging, upward_events, sends, controls) =
        messaging_changes(host, config, slot, output)?;
    for send in &sends {
        if host.info(send.service).is_none() {
            return Err(Rejection::RouteUnreachable {
                recipient: send.channel.recipient,
                service: send.service,
            });
        }
    }
    for send in &controls {
        if host.info(send.service).is_none() {
            return Err(Rejection::RouteUnreachable {
                recipient: send.control.other(),
                service: send.service,
            });
        }
    }

    // Checked; now the effects.
    if let Some(code) = due {
        put(host, StorageKey::Code(para), &code)?;
        host.remove(&StorageKey::PendingUpgrade(para).to_key());
        events.push(Event::UpgradeEnacted {
            para,
            code_hash: code,
        });
    }
    if let Some(new) = output.new_validation_code {
        let (code, len) = resolve(host, new.code_hash, new.code_len);
        ensure_solicited(host, code, len)?;
        let upgrade = PendingUpgrade {
            code_hash: new.code_hash,
            code_len: new.code_len,
            enact_at: slot.saturating_add(config.upgrade_delay),
        };
        put(host, StorageKey::PendingUpgrade(para), &upgrade)?;
        events.push(Event::UpgradeScheduled { para, upgrade });
    }
    commit(host, messaging)?;
    send_transfers(host, para, slot, &sends, upward_events, events)?;
    send_controls(host, para, slot, &controls, events)?;
    jam_transfers::prune_outbox(host, service, para, events)?;
    put(host, StorageKey::Head(para), &output.head_data)?;
    events.push(Event::HeadEnacted {
        para,
        head_hash: blake2_256(&output.head_data.0),
    });
    Ok(())
}

/// The transfers an enacted candidate of `para` makes, in order: its
/// horizontal messages to paras hosted elsewhere (`sends`), then its
/// upward messages' value transfers (each with the next
/// [`StorageKey::ValueSequence`]), with their events.
fn send_transfers<H: AccumulateHost>(
    host: &mut H,
    para: ParaId,
    slot: u32,
    sends: &[RemoteSend],
    upward: Vec<UpwardOutcome>,
    events: &mut Vec<Event>,
) -> Result<(), Rejection> {
    for send in sends {
        jam_transfers::send_horizontal(host, slot, send)?;
        events.push(Event::HorizontalSent {
            para,
            recipient: send.channel.recipient,
            service: send.service,
            sequence: send.sequence,
        });
    }
    let first: u64 = get(host, StorageKey::ValueSequence).unwrap_or_default();
    let mut sequence = first;
    for (event, value) in upward {
        if let Some((service, amount, hash)) = value {
            jam_transfers::send_value(host, para, service, amount, sequence, slot, hash)?;
            events.push(Event::TransferSent {
                para,
                service,
                amount,
                sequence,
            });
            sequence = sequence.saturating_add(1);
        } else {
            events.extend(event);
        }
    }
    if sequence != first {
        put(host, StorageKey::ValueSequence, &sequence)?;
    }
    Ok(())
}

/// Tells the instances hosting the other parties of `para`'s channel
/// calls what they did (`controls`, in order): a control memo each, with
/// the next [`StorageKey::ControlSequence`].
fn send_controls<H: AccumulateHost>(
    host: &mut H,
    para: ParaId,
    slot: u32,
    controls: &[ControlSend],
    events: &mut Vec<Event>,
) -> Result<(), Rejection> {
    if controls.is_empty() {
        return Ok(());
    }
    let mut sequence: u64 = get(host, StorageKey::ControlSequence).unwrap_or_default();
    for send in controls {
        jam_transfers::send_control(host, slot, send, sequence)?;
        events.push(Event::ControlSent {
            para,
            service: send.service,
            control: send.control,
            sequence,
        });
        sequence = sequence.saturating_add(1);
    }
    put(host, StorageKey::ControlSequence, &sequence)
}

/// The service storage as the XCM adapter reads it.
pub(crate) struct HostStorage<'h, H>(pub(crate) &'h mut H);

impl<H: AccumulateHost> parajam_xcm_adapter::Storage for HostStorage<'_, H> {
    fn get(&mut self, key: &StorageKey) -> Option<Vec<u8>> {
        self.0.get(&key.to_key())
    }
}

/// An upward message's event, or the value transfer it makes (service,
/// amount, message hash).
type UpwardOutcome = (Option<Event>, Option<(u32, u64, Hash)>);

/// A candidate's messaging, checked, not yet written: the storage
/// changes, its upward messages' outcomes, its horizontal messages to
/// paras hosted elsewhere, and the channel operations to tell other
/// instances.
type MessagingChanges = (
    Changes,
    Vec<UpwardOutcome>,
    Vec<RemoteSend>,
    Vec<ControlSend>,
);

/// What `output`'s messaging changes, enacted at `slot`, if the XCM
/// adapter accepts it, and what happened to its upward messages (nothing
/// is written yet): the candidate's messaging, then its upward messages
/// run in order (a refused one is kept with its reason; a value transfer
/// is checked against the JAM accounts, to be sent once the block is
/// enacted).
fn messaging_changes<H: AccumulateHost>(
    host: &mut H,
    config: &ServiceConfig,
    slot: u32,
    output: &CandidateOutput,
) -> Result<MessagingChanges, Rejection> {
    let mut accounts = HostAccounts::read(host, &output.upward_messages);
    let mut storage = HostStorage(host);
    let mut overlay = Overlay::new(&mut storage);
    let candidate = CandidateMessaging {
        para: output.para_id,
        relay_parent: output.relay_parent_number,
        processed_downward_messages: output.processed_downward_messages,
        hrmp_watermark: output.hrmp_watermark,
        horizontal_messages: &output.horizontal_messages,
    };
    let hc = &config.host_config;
    let limits = ump::UmpLimits {
        max_message_num_per_candidate: hc.max_upward_message_num_per_candidate,
        max_message_size: hc.max_upward_message_size,
        max_queue_count: hc.max_upward_queue_count,
        max_queue_size: hc.max_upward_queue_size,
    };
    ump::check_upward(
        &mut overlay,
        &limits,
        output.para_id,
        &output.upward_messages,
    )
    .map_err(|e| Rejection::Messaging(MessagingError::Upward(e)))?;
    let sends = parajam_xcm_adapter::enact_candidate(
        &mut overlay,
        &candidate,
        slot,
        config.host_config.hrmp_max_message_num_per_candidate,
    )
    .map_err(Rejection::Messaging)?;
    let para = output.para_id;
    let mut controls = Vec::new();
    let events = ump::process(
        &mut overlay,
        &HrmpConfig::DEFAULT,
        &mut accounts,
        para,
        slot,
        &output.upward_messages,
    )
    .into_iter()
    .zip(&output.upward_messages)
    .map(|(outcome, msg)| match outcome {
        Ok(Upward::Calls {
            calls,
            controls: told,
        }) => {
            controls.extend(told);
            (Some(Event::UpwardExecuted { para, calls }), None)
        }
        Ok(Upward::Value { service, amount }) => (None, Some((service, amount, blake2_256(msg)))),
        Err(reason) => (Some(Event::UpwardRefused { para, reason }), None),
    })
    .collect();
    Ok((overlay.into_changes(), events, sends, controls))
}

/// Writes `changes` to the service storage.
pub(crate) fn commit<H: AccumulateHost>(host: &mut H, changes: Changes) -> Result<(), Rejection> {
    for (key, value) in changes {
        match value {
            Some(value) => {
                if !host.set(&key.to_key(), &value) {
                    return Err(Rejection::StorageFull);
                }
            }
            None => host.remove(&key.to_key()),
        }
    }
    Ok(())
}

pub(crate) fn get<T: Decode, H: AccumulateHost>(host: &mut H, key: StorageKey) -> Option<T> {
    let value = host.get(&key.to_key())?;
    T::decode_all(&mut &value[..]).ok()
}

pub(crate) fn put<T: Encode, H: AccumulateHost>(
    host: &mut H,
    key: StorageKey,
    value: &T,
) -> Result<(), Rejection> {
    if host.set(&key.to_key(), &value.encode()) {
        Ok(())
    } else {
        Err(Rejection::StorageFull)
    }
}
