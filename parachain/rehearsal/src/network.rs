//! Several paras on one dev chain, exchanging XCM through the CoreChains
//! service's message queues (the XCM adapter): each para has its own
//! collator (the same runtime under another genesis, e.g. another para
//! id), its blocks are checked on both engines and enacted one package at
//! a time ([`Network::step`]), and each block's report says what it did
//! to the queues: messages delivered to it (what its collator put in the
//! parachain inherent), sent (upward, horizontal), processed (downward
//! count, HRMP watermark), what the service made of its upward messages,
//! and every channel's state after it.
//!
//! The paras may be hosted by several CoreChains service instances (the
//! same service code under other service ids, [`Network::with_instances`]):
//! each para's packages go to its instance, whose queues and relay state
//! its collator reads. A horizontal message to a para hosted by another
//! instance crosses as a JAM transfer (the service's `jam_transfers`
//! module: the payload in the sender's outbox, a `transfer` with an HRMP
//! memo, the receiving instance reading it into the channel), along a
//! route the registrar declared on both ([`Network::declare_route`]);
//! each block's report lists what the instances logged about such
//! transfers ([`Messaging::transfers`]).
//!
//! The collator of a para gives it the service's queues at the relay
//! parent it builds on ([`crate::inbound()`]): its whole downward queue and
//! its inbound channels' contents, matching the MQC heads in the relay
//! state it proves. A candidate built on a relay state that changed before
//! it was enacted (another para's block sent it a message, opened or
//! closed a channel with it) is refused by accumulate (`WrongRelayState`)
//! and has to be built again: [`Network::step`] enacts one package at a
//! time, so each block is built on the state it is enacted against.

use std::collections::BTreeMap;
use std::fmt;

use parajam_authoring::{DevChain, DevKeys, Genesis};
use parajam_bandersnatch::RingContext;
use parajam_collator::{BlockRequest, Collator, CollatorOptions, ParaState, Runtime};
use parajam_corechains_build::genesis::{
    service_account_with_channels, GenesisChannel, GenesisPara,
};
use parajam_corechains_types::state::{HrmpChannelId, StorageKey};
use parajam_corechains_types::{
    AuthScope, ParaId, RemoteChannelDeclaration, RouteDeclaration, WorkItemPayload,
};
use parajam_primitives::types::{CoreIndex, ServiceId};
use parajam_xcm_adapter::{HrmpChannel, HrmpOpenRequest, RefusedUpward};
use parity_scale_codec::Decode;

use crate::{
    check_candidate, drive, inbound_of, rejections, service_logs, start_chain, storage_of,
    BlockReport, Candidate, ChainFailure, Code, Config, Known, PvmVerdict, RehearsalError, SERVICE,
};

/// The minimum memo gas (`m`) of every CoreChains instance of a network
/// with several: the gas a transfer to it brings for its accumulate (an
/// HRMP message in costs about 33,000; BENCHMARKS.md).
pub const INSTANCE_MEMO_GAS: u64 = 100_000;

/// The event names of the CoreChains service's JAM transfers, in and out.
const TRANSFER_EVENTS: [&str; 8] = [
    "HorizontalSent",
    "TransferDelivered",
    "TransferBounced",
    "TransferReturned",
    "OutboxPruned",
    "ControlSent",
    "ControlReceived",
    "ControlRefused",
];

/// A para of a [`Network`].
struct Para {
    id: ParaId,
    service: ServiceId,
    core: CoreIndex,
    collator: Collator,
    parent: ParaState,
}

/// A JAM dev chain with the CoreChains service and several paras running
/// the same code, each with its collator.
pub struct Network {
    config: Config,
    chain: DevChain,
    known: Known,
    paras: Vec<Para>,
    instances: Vec<ServiceId>,
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Network")
            .field("config", &self.config)
            .field(
                "paras",
                &self
                    .paras
                    .iter()
                    .map(|p| (p.id.0, p.service))
                    .collect::<Vec<_>>(),
            )
            .field("slot", &self.chain.state().timeslot)
            .finish_non_exhaustive()
    }
}

/// The state of an HRMP channel, as the service keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelState {
    /// Requested by the sender, not yet accepted.
    Requested(HrmpOpenRequest),
    /// Open: it takes messages.
    Open(HrmpChannel),
    /// Closing: it takes no more messages and goes once drained.
    Closing(HrmpChannel),
}

impl fmt::Display for ChannelState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Requested(r) => write!(
                f,
                "requested (capacity {}, message size {})",
                r.max_capacity, r.max_message_size
            ),
            Self::Open(c) => write!(
                f,
                "open, {} messages / {} octets queued",
                c.msg_count, c.total_size
            ),
            Self::Closing(c) => write!(
                f,
                "closing, {} messages / {} octets to drain",
                c.msg_count, c.total_size
            ),
        }
    }
}

/// What one para block did to the message queues.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Messaging {
    /// Downward messages its collator delivered (in the parachain inherent).
    pub delivered_downward: usize,
    /// Horizontal messages its collator delivered, by sender.
    pub delivered_horizontal: BTreeMap<u32, usize>,
    /// Upward messages it sent.
    pub sent_upward: usize,
    /// Horizontal messages it sent: recipient, octets.
    pub sent_horizontal: Vec<(u32, usize)>,
    /// Its `processed_downward_messages`.
    pub processed_downward: u32,
    /// Its `hrmp_watermark`.
    pub hrmp_watermark: u32,
    /// What the service made of its upward messages (its log lines).
    pub upward: Vec<String>,
    /// Every channel between the network's paras after the block.
    pub channels: Vec<(u32, u32, ChannelState)>,
    /// What the CoreChains instances logged about JAM transfers in the
    /// block's accumulation (`HorizontalSent`, `TransferDelivered`,
    /// `TransferBounced`, `TransferReturned`, `OutboxPruned`, and the
    /// control memos of channels between instances: `ControlSent`,
    /// `ControlReceived`, `ControlRefused`), by instance, in order.
    pub transfers: Vec<(ServiceId, String)>,
}

/// A para block's report: the engines' verdicts and enactment, and its
/// messaging.
#[derive(Debug, Clone)]
pub struct NetworkBlock {
    /// The para.
    pub para: u32,
    /// The block's report.
    pub block: BlockReport,
    /// Its messaging.
    pub messaging: Messaging,
    /// The extrinsics (indices among those asked for) included whose
    /// dispatch failed, when the block was built here.
    pub failed_dispatches: Vec<usize>,
}

impl fmt::Display for NetworkBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.messaging;
        writeln!(f, "para {} {}", self.para, self.block)?;
        if !self.failed_dispatches.is_empty() {
            writeln!(
                f,
                "  extrinsics whose dispatch failed: {:?}",
                self.failed_dispatches
            )?;
        }
        let delivered_h: usize = m.delivered_horizontal.values().sum();
        writeln!(
            f,
            "  messages: delivered {} downward, {} horizontal {:?}; sent {} upward, {} horizontal {:?}; processed {} downward, HRMP watermark {}",
            m.delivered_downward,
            delivered_h,
            m.delivered_horizontal,
            m.sent_upward,
            m.sent_horizontal.len(),
            m.sent_horizontal,
            m.processed_downward,
            m.hrmp_watermark
        )?;
        for line in &m.upward {
            writeln!(f, "  upward: {line}")?;
        }
        for (service, line) in &m.transfers {
            writeln!(f, "  JAM transfer, instance {service}: {line}")?;
        }
        for (sender, recipient, state) in &m.channels {
            writeln!(f, "  channel {sender} -> {recipient}: {state}")?;
        }
        Ok(())
    }
}

impl Network {
    /// A chain whose CoreChains service has each of `para_ids` registered
    /// at its genesis head (the runtime's `config.preset` with its
    /// `parachainInfo.parachainId` set to the id) and running `code`, with
    /// `channels` open at genesis; para `i` is authorized on core
    /// `i mod C`.
    pub fn new(
        code: Code,
        config: Config,
        para_ids: &[u32],
        channels: &[GenesisChannel],
    ) -> Result<Self, RehearsalError> {
        Self::with_genesis(code, config, para_ids, channels, |_, _, _| Ok(()))
    }

    /// [`Self::new`], with `edit` given the JAM genesis (the CoreChains
    /// service [`SERVICE`] and its authorizers in place) before the chain
    /// starts, with the parameters and a ring for building it: e.g. other
    /// services, or the CoreChains service's account after it accumulated
    /// something.
    pub fn with_genesis(
        code: Code,
        config: Config,
        para_ids: &[u32],
        channels: &[GenesisChannel],
        edit: impl FnOnce(
            &mut Genesis,
            &parajam_primitives::ProtocolParameters,
            &RingContext,
        ) -> Result<(), RehearsalError>,
    ) -> Result<Self, RehearsalError> {
        let hosting: Vec<(u32, ServiceId)> = para_ids.iter().map(|&p| (p, SERVICE)).collect();
        Self::build(code, config, &hosting, channels, edit)
    }

    /// A chain with several CoreChains service instances (the same service
    /// code, each its own service id and account, each with
    /// [`INSTANCE_MEMO_GAS`] as its minimum memo gas): `hosting` lists each
    /// para with the instance that registers it at genesis (as
    /// [`Self::new`] does). Para `i` is authorized on core `i mod C`, and
    /// every core also admits each instance's registrar. No channel is
    /// open: between paras of different instances, the registrar declares
    /// the routes on both ([`Self::declare_routes`]) and the paras open
    /// channels by XCM, or it declares the channels too
    /// ([`Self::declare_channel_routes`], a test shortcut).
    pub fn with_instances(
        code: Code,
        config: Config,
        hosting: &[(u32, ServiceId)],
    ) -> Result<Self, RehearsalError> {
        Self::build(code, config, hosting, &[], |_, _, _| Ok(()))
    }

    fn build(
        code: Code,
        config: Config,
        hosting: &[(u32, ServiceId)],
        channels: &[GenesisChannel],
        edit: impl FnOnce(
            &mut Genesis,
            &parajam_primitives::ProtocolParameters,
            &RingContext,
        ) -> Result<(), RehearsalError>,
    ) -> Result<Self, RehearsalError> {
        let mut instances: Vec<ServiceId> = Vec::new();
        for &(_, service) in hosting {
            if !instances.contains(&service) {
                instances.push(service);
            }
        }
        if instances.is_empty() {
            instances.push(SERVICE);
        }
        let several = instances.len() > 1;
        let runtime = Runtime::new(&code.wasm)?;
        let params = config.params;
        let cores = usize::from(params.core_count).max(1);
        let mut paras = Vec::with_capacity(hosting.len());
        for (i, &(id, service)) in hosting.iter().enumerate() {
            let options = CollatorOptions {
                preset: config.preset.clone(),
                genesis_patch: Some(serde_json::json!({"parachainInfo": {"parachainId": id}})),
                ..CollatorOptions::default()
            };
            let collator = Collator::with_runtime(runtime.clone(), &options)?;
            let parent = collator.genesis().clone();
            paras.push(Para {
                id: ParaId(id),
                service,
                core: CoreIndex::try_from(i % cores).map_err(|_| ChainFailure::TooManyCores)?,
                collator,
                parent,
            });
        }
        parajam_corechains_types::pvf::PvfArtifact::from_bytes(&code.pvf)
            .map_err(|e| RehearsalError::Artifact(e.to_string()))?;
        let known = Known::new(code)?;

        let ring =
            RingContext::zcash(usize::from(params.validators_count)).map_err(ChainFailure::from)?;
        let keys = DevKeys::new(params.validators_count);
        let heads: Vec<Vec<u8>> = paras.iter().map(|p| p.parent.head()).collect();
        let mut jam_genesis = Genesis::new(&params, keys.validators());
        for &service in &instances {
            let genesis_paras: Vec<GenesisPara<'_>> = paras
                .iter()
                .zip(&heads)
                .filter(|(p, _)| p.service == service)
                .map(|(p, head)| GenesisPara {
                    id: p.id,
                    head,
                    pvf: &known.code.pvf,
                })
                .collect();
            let mut account = service_account_with_channels(
                1 << 50,
                config.upgrade_delay,
                &genesis_paras,
                channels,
            )
            .map_err(|(channel, e)| ChainFailure::GenesisChannel {
                channel: format!("{} -> {}", channel.sender.0, channel.recipient.0),
                reason: e.to_string(),
            })?;
            if several {
                account.info.min_memo_gas = INSTANCE_MEMO_GAS;
            }
            jam_genesis = jam_genesis.with_service(service, account);
        }
        jam_genesis.authorizers = authorizer_pools(&paras, &instances, cores, &config)?;
        edit(&mut jam_genesis, &params, &ring)?;
        let chain = start_chain(&jam_genesis, params, keys, ring, config.backend)?;
        Ok(Self {
            config,
            chain,
            known,
            paras,
            instances,
        })
    }

    fn para(&self, id: u32) -> Result<&Para, RehearsalError> {
        self.paras
            .iter()
            .find(|p| p.id.0 == id)
            .ok_or(RehearsalError::NotRegistered(id))
    }

    /// The paras' ids.
    pub fn para_ids(&self) -> Vec<u32> {
        self.paras.iter().map(|p| p.id.0).collect()
    }

    /// The CoreChains service instances, the first hosting the first para.
    pub fn instances(&self) -> &[ServiceId] {
        &self.instances
    }

    /// The CoreChains instance hosting para `id` ([`SERVICE`] for a para
    /// not in the network).
    pub fn host(&self, id: u32) -> ServiceId {
        self.para(id).map_or(SERVICE, |p| p.service)
    }

    /// The collator of para `id`.
    pub fn collator(&self, id: u32) -> Result<&Collator, RehearsalError> {
        Ok(&self.para(id)?.collator)
    }

    /// The state para `id`'s next block builds on.
    pub fn parent(&self, id: u32) -> Result<&ParaState, RehearsalError> {
        Ok(&self.para(id)?.parent)
    }

    /// The JAM dev chain.
    pub fn chain(&self) -> &DevChain {
        &self.chain
    }

    /// The value under `key` in the storage of the first instance (the
    /// only one, unless [`Self::with_instances`]).
    pub fn service_storage(&self, key: StorageKey) -> Option<Vec<u8>> {
        self.storage_of(self.instances[0], key)
    }

    /// The value under `key` in CoreChains instance `service`'s storage.
    pub fn storage_of(&self, service: ServiceId, key: StorageKey) -> Option<Vec<u8>> {
        storage_of(&self.chain, service, key)
    }

    /// The value under `key` in instance `service`'s storage, decoded.
    pub fn read_of<T: Decode>(&self, service: ServiceId, key: StorageKey) -> Option<T> {
        T::decode(&mut &self.storage_of(service, key)?[..]).ok()
    }

    /// Channel `sender → recipient`'s state, if it is requested or open,
    /// as the instance hosting the recipient keeps it (where its messages
    /// queue).
    pub fn channel(&self, sender: u32, recipient: u32) -> Option<ChannelState> {
        let service = self.host(recipient);
        let id = HrmpChannelId {
            sender: ParaId(sender),
            recipient: ParaId(recipient),
        };
        if let Some(channel) = self.read_of::<HrmpChannel>(service, StorageKey::HrmpChannel(id)) {
            return Some(
                if self
                    .storage_of(service, StorageKey::HrmpCloseRequest(id))
                    .is_some()
                {
                    ChannelState::Closing(channel)
                } else {
                    ChannelState::Open(channel)
                },
            );
        }
        self.read_of::<HrmpOpenRequest>(service, StorageKey::HrmpOpenRequest(id))
            .map(ChannelState::Requested)
    }

    /// Every requested or open channel between the network's paras.
    pub fn channels(&self) -> Vec<(u32, u32, ChannelState)> {
        let ids = self.para_ids();
        let mut out = Vec::new();
        for &s in &ids {
            for &r in &ids {
                if s != r {
                    if let Some(state) = self.channel(s, r) {
                        out.push((s, r, state));
                    }
                }
            }
        }
        out
    }

    /// The upward messages of para `id` the service refused, with why.
    pub fn refused_upward(&self, id: u32) -> Vec<RefusedUpward> {
        self.read_of(self.host(id), StorageKey::UpwardRefused(ParaId(id)))
            .unwrap_or_default()
    }

    /// Builds para `id`'s next block with `extrinsics` on its current
    /// state, against the relay-chain state the service shows it now, with
    /// the inbound messages the service holds for it.
    pub fn produce(&self, id: u32, extrinsics: Vec<Vec<u8>>) -> Result<Candidate, RehearsalError> {
        let para = self.para(id)?;
        let relay = crate::relay_state(&self.chain, para.service, para.id)?;
        let (downward, horizontal) = inbound_of(&self.chain, para.service, para.id);
        let request = BlockRequest {
            max_pov_size: crate::MAX_POV_SIZE,
            ..BlockRequest::new(relay.slot, relay.entries())
        }
        .with_extrinsics(extrinsics)
        .with_inbound(downward, horizontal);
        let relay_proof_size = crate::relay_proof_size(&request);
        let block = para.collator.build_block(&para.parent, &request)?;
        Ok(Candidate {
            number: block.state.number(),
            parent_head: block.parent_head.clone(),
            pov: block.pov.clone(),
            relay_parent_number: block.relay_parent_number,
            relay_parent_storage_root: block.relay_parent_storage_root.0,
            code_hash: self.known.code.pvf_hash(),
            built: Some(Box::new(block)),
            relay_proof_size,
        })
    }

    /// Validates para `id`'s `candidate` on both engines, compares, and
    /// has the chain enact it; if enacted and built here, the para's next
    /// block builds on it.
    pub fn check(
        &mut self,
        id: u32,
        candidate: &Candidate,
    ) -> Result<NetworkBlock, RehearsalError> {
        let (para, service, core) = {
            let p = self.para(id)?;
            (p.id, p.service, p.core)
        };
        let delivered =
            parajam_collator::tamper::inbound_messages(&candidate.pov).unwrap_or_default();
        let block = check_candidate(
            &mut self.chain,
            &self.config,
            &self.known,
            service,
            para,
            core,
            candidate,
        )?;
        if block.enacted {
            if let Some(built) = &candidate.built {
                if let Some(p) = self.paras.iter_mut().find(|p| p.id == para) {
                    p.parent = built.state.clone();
                }
            }
        }
        let mut messaging = Messaging {
            delivered_downward: delivered.downward.len(),
            ..Messaging::default()
        };
        for (sender, _) in &delivered.horizontal {
            *messaging
                .delivered_horizontal
                .entry(u32::from(*sender))
                .or_default() += 1;
        }
        if let PvmVerdict::Valid(o) = &block.pvm {
            messaging.sent_upward = o.upward_messages.len();
            messaging.sent_horizontal = o
                .horizontal_messages
                .iter()
                .map(|m| (m.recipient.0, m.data.len()))
                .collect();
            messaging.processed_downward = o.processed_downward_messages;
            messaging.hrmp_watermark = o.hrmp_watermark;
        }
        if block.enacted {
            let tag = format!("para: ParaId({})", para.0);
            messaging.upward = service_logs(&self.chain, service)
                .into_iter()
                .filter(|l| l.starts_with("Upward") && l.contains(&tag))
                .collect();
            messaging.transfers = self.transfer_logs();
        }
        messaging.channels = self.channels();
        Ok(NetworkBlock {
            para: id,
            block,
            messaging,
            failed_dispatches: candidate
                .built
                .as_ref()
                .map(|b| b.failed_dispatches.clone())
                .unwrap_or_default(),
        })
    }

    /// [`Self::produce`] then [`Self::check`].
    pub fn step(
        &mut self,
        id: u32,
        extrinsics: Vec<Vec<u8>>,
    ) -> Result<NetworkBlock, RehearsalError> {
        let candidate = self.produce(id, extrinsics)?;
        self.check(id, &candidate)
    }

    /// `call` signed by dev account `signer` on para `id`, with its next
    /// nonce plus `offset` (for several in one block).
    pub fn signed(
        &self,
        id: u32,
        signer: &str,
        call: &[u8],
        offset: u64,
    ) -> Result<Vec<u8>, RehearsalError> {
        use sp_core::Pair as _;
        let para = self.para(id)?;
        let pair = parajam_collator::dev_pair(signer)?;
        let nonce = para
            .collator
            .account_nonce(&para.parent, &pair.public().0)?
            + offset;
        Ok(para.collator.sign(&para.parent, call, &pair, nonce)?)
    }

    /// The transaction format of para `id`'s runtime now.
    pub fn tx_format(&self, id: u32) -> Result<parajam_collator::TxFormat, RehearsalError> {
        let para = self.para(id)?;
        Ok(para.collator.runtime_at(&para.parent)?.tx.clone())
    }

    /// What the instances logged about JAM transfers in the last
    /// accumulation, by instance.
    fn transfer_logs(&self) -> Vec<(ServiceId, String)> {
        self.chain
            .last_accumulation()
            .logs
            .iter()
            .filter(|(s, _)| self.instances.contains(s))
            .map(|(s, entry)| (*s, String::from_utf8_lossy(&entry.message).into_owned()))
            .filter(|(_, l)| TRANSFER_EVENTS.iter().any(|e| l.starts_with(e)))
            .collect()
    }

    /// Has the registrar of instance `on` declare `route` (a registrar
    /// work package with a [`RouteDeclaration`], guaranteed, assured and
    /// accumulated): the para it names is hosted by instance
    /// `route.service`, with its channels opened on `on`. The instance's
    /// log line (`RouteDeclared`), or what it rejected.
    pub fn declare_route(
        &mut self,
        on: ServiceId,
        route: RouteDeclaration,
    ) -> Result<String, RehearsalError> {
        let payload = WorkItemPayload::Route(route);
        let package = crate::package(
            &self.chain,
            &self.config,
            on,
            AuthScope::Registrar,
            &payload,
            &[],
        )?;
        let guaranteed = crate::guarantee(&self.chain, &self.config, &package, &[], 0)?;
        drive::enact(&mut self.chain, guaranteed)?;
        service_logs(&self.chain, on)
            .into_iter()
            .find(|l| l.starts_with("RouteDeclared"))
            .ok_or_else(|| RehearsalError::Registrar(rejections(&self.chain, on).join("; ")))
    }

    /// The routes for channel `s.sender → s.recipient` between paras of
    /// two instances, declared on both ([`Self::declare_route`]): on the
    /// sender's instance, the recipient hosted by its instance, and the
    /// other way; each instance's log line.
    pub fn declare_channel_routes(
        &mut self,
        s: &ChannelScenario,
    ) -> Result<Vec<(ServiceId, String)>, RehearsalError> {
        let (from, to) = (
            self.para(s.sender)?.service,
            self.para(s.recipient)?.service,
        );
        let channel = RemoteChannelDeclaration {
            sender: ParaId(s.sender),
            recipient: ParaId(s.recipient),
            max_capacity: s.max_capacity,
            max_message_size: s.max_message_size,
        };
        let mut lines = Vec::new();
        for (on, para, host) in [(from, s.recipient, to), (to, s.sender, from)] {
            let route = RouteDeclaration {
                para_id: ParaId(para),
                service: host,
                channels: vec![channel],
            };
            lines.push((on, self.declare_route(on, route)?));
        }
        Ok(lines)
    }
}

impl fmt::Display for ChannelStateList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (s, r, state) in self.0 {
            writeln!(f, "channel {s} -> {r}: {state}")?;
        }
        Ok(())
    }
}

/// Channels as lines of text.
#[derive(Debug, Clone, Copy)]
pub struct ChannelStateList<'a>(pub &'a [(u32, u32, ChannelState)]);

/// What [`Network::channel_scenario`] does.
#[derive(Debug, Clone, Copy)]
pub struct ChannelScenario {
    /// The channel's sender (the transfer's source).
    pub sender: u32,
    /// Its recipient.
    pub recipient: u32,
    /// The channel's capacity, in messages.
    pub max_capacity: u32,
    /// Its largest message.
    pub max_message_size: u32,
    /// The native-token amount Alice on the sender reserve-transfers to
    /// Bob on the recipient.
    pub amount: u128,
}

/// A step of [`Network::channel_scenario`] that did not go as it should.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioFailure {
    /// The step.
    pub step: &'static str,
    /// What went wrong.
    pub what: String,
}

impl fmt::Display for ScenarioFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.step, self.what)
    }
}

/// What [`Network::channel_scenario`] did.
#[derive(Debug, Clone, Default)]
pub struct ScenarioOutcome {
    /// Every block, in order, with the step it was for.
    pub blocks: Vec<(&'static str, NetworkBlock)>,
    /// The steps that did not go as they should.
    pub failures: Vec<ScenarioFailure>,
}

impl ScenarioOutcome {
    /// Whether every block is valid on both engines, identical and
    /// enacted, and every step did what it should.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
            && self
                .blocks
                .iter()
                .all(|(_, b)| b.block.ok() && b.block.enacted)
    }
}

impl Network {
    /// The channel lifecycle and a transfer over it, each block checked on
    /// both engines and enacted: the sender's sudo asks the relay chain
    /// (the service) to open `sender → recipient`; the recipient, notified
    /// downward, accepts; the sender, notified, has Alice reserve-transfer
    /// `amount` to Bob on the recipient over the channel; the recipient
    /// gets it (and a block more for its message queue); the sender closes
    /// the channel; the recipient, notified, drains it and it goes.
    /// `on_block` sees each block as it is checked. Stops at the first
    /// block that is not enacted.
    pub fn channel_scenario(
        &mut self,
        s: &ChannelScenario,
        mut on_block: impl FnMut(&str, &NetworkBlock),
    ) -> Result<ScenarioOutcome, RehearsalError> {
        let steps = self.channel_steps(s, false)?;
        let (outcome, _) = self.run_steps(steps, &mut on_block, |net, step, m| {
            step_done(step, s, net.channel(s.sender, s.recipient), m)
        })?;
        Ok(outcome)
    }

    /// The blocks of a channel scenario, in order: the step, the para
    /// that makes the block, and the call Alice signs in it (none for a
    /// block of inherents only). With `prune`, the sender makes a block
    /// after the recipient processed the message (its outbox is pruned
    /// when the recipient is hosted by another instance).
    fn channel_steps(
        &self,
        s: &ChannelScenario,
        prune: bool,
    ) -> Result<Vec<ScenarioStep>, RehearsalError> {
        use crate::xcm_calls::{
            hrmp_accept_open_channel, hrmp_close_channel, hrmp_init_open_channel,
            reserve_transfer_native, sudo_relay_call,
        };
        let tx_s = self.tx_format(s.sender)?;
        let tx_r = self.tx_format(s.recipient)?;
        let bob = {
            use sp_core::Pair as _;
            parajam_collator::dev_pair("Bob")?.public().0
        };
        let mut steps: Vec<ScenarioStep> = vec![
            (
                "open request",
                s.sender,
                Some(sudo_relay_call(
                    &tx_s,
                    hrmp_init_open_channel(s.recipient, s.max_capacity, s.max_message_size),
                )?),
            ),
            (
                "accept",
                s.recipient,
                Some(sudo_relay_call(&tx_r, hrmp_accept_open_channel(s.sender))?),
            ),
            (
                "transfer",
                s.sender,
                Some(reserve_transfer_native(&tx_s, s.recipient, bob, s.amount)?),
            ),
            ("receive", s.recipient, None),
            ("process", s.recipient, None),
        ];
        if prune {
            steps.push(("prune", s.sender, None));
        }
        let close = sudo_relay_call(&tx_s, hrmp_close_channel(s.sender, s.recipient))?;
        steps.push(("close", s.sender, Some(close)));
        steps.push(("drain", s.recipient, None));
        Ok(steps)
    }

    /// Makes the blocks of `steps` in order, each shown to `on_block` and
    /// checked by `check` (on the network after it, with the block's
    /// messaging; a failure is recorded, not fatal), until one is not
    /// enacted. The outcome, and whether every block was enacted.
    fn run_steps(
        &mut self,
        steps: Vec<ScenarioStep>,
        on_block: &mut impl FnMut(&str, &NetworkBlock),
        mut check: impl FnMut(&Self, &'static str, &Messaging) -> Result<(), String>,
    ) -> Result<(ScenarioOutcome, bool), RehearsalError> {
        let mut outcome = ScenarioOutcome::default();
        for (step, para, call) in steps {
            let extrinsics = match call {
                Some(call) => vec![self.signed(para, "Alice", &call, 0)?],
                None => Vec::new(),
            };
            let block = self.step(para, extrinsics)?;
            on_block(step, &block);
            if let Err(what) = check(self, step, &block.messaging) {
                outcome.failures.push(ScenarioFailure { step, what });
            }
            let enacted = block.block.enacted;
            outcome.blocks.push((step, block));
            if !enacted {
                return Ok((outcome, false));
            }
        }
        Ok((outcome, true))
    }
}

/// A block of a channel scenario: the step, the para that makes it, and
/// the call signed in it.
type ScenarioStep = (&'static str, u32, Option<Vec<u8>>);

/// Whether `step` of a [`ChannelScenario`] did what it should: `channel`
/// is the channel's state after it, `m` its block's messaging.
fn step_done(
    step: &str,
    s: &ChannelScenario,
    channel: Option<ChannelState>,
    m: &Messaging,
) -> Result<(), String> {
    match step {
        "open request" => match channel {
            Some(ChannelState::Requested(_)) => Ok(()),
            other => Err(format!("channel {other:?}, not requested")),
        },
        "accept" => match channel {
            Some(ChannelState::Open(_)) if m.delivered_downward == 1 => Ok(()),
            other => Err(format!(
                "{} downward delivered, channel {other:?}: not the request notified and the channel open",
                m.delivered_downward
            )),
        },
        "transfer" => match channel {
            Some(ChannelState::Open(c))
                if c.msg_count >= 1
                    && m.sent_horizontal.iter().any(|(r, _)| *r == s.recipient) =>
            {
                Ok(())
            }
            other => Err(format!(
                "sent {:?}, channel {other:?}: no message queued on the channel",
                m.sent_horizontal
            )),
        },
        "receive" => match channel {
            Some(ChannelState::Open(c))
                if c.msg_count == 0
                    && m.delivered_horizontal.get(&s.sender).copied().unwrap_or(0) >= 1 =>
            {
                Ok(())
            }
            other => Err(format!(
                "delivered {:?}, channel {other:?}: the message not delivered and pruned",
                m.delivered_horizontal
            )),
        },
        "close" => match channel {
            Some(ChannelState::Closing(_)) | None => Ok(()),
            other => Err(format!("channel {other:?}, not closing")),
        },
        "drain" => match channel {
            None if m.delivered_downward >= 1 => Ok(()),
            other => Err(format!(
                "{} downward delivered, channel {other:?}: not notified and gone",
                m.delivered_downward
            )),
        },
        _ => Ok(()),
    }
}

/// Each core's authorizers: its paras' (para `i` on core `i mod C`, each
/// under its instance) and, with several instances, every instance's
/// registrar; with one, the registrar on the cores without a para.
fn authorizer_pools(
    paras: &[Para],
    instances: &[ServiceId],
    cores: usize,
    config: &Config,
) -> Result<Vec<Vec<parajam_primitives::types::OpaqueHash>>, RehearsalError> {
    let params = config.params;
    let several = instances.len() > 1;
    let mut pools = vec![Vec::new(); cores];
    for p in paras {
        pools[usize::from(p.core)].push(drive::authorizer_of(
            p.service,
            AuthScope::Para(p.id),
            config.upgrade_delay,
        ));
    }
    for (core, pool) in pools.iter_mut().enumerate() {
        if several {
            for &service in instances {
                pool.push(drive::authorizer_of(
                    service,
                    AuthScope::Registrar,
                    config.upgrade_delay,
                ));
            }
        } else if pool.is_empty() {
            pool.push(drive::authorizer(
                AuthScope::Registrar,
                config.upgrade_delay,
            ));
        }
        if pool.len() > usize::from(params.auth_pool_max_size) {
            return Err(ChainFailure::PoolOverflow {
                paras: pool.len(),
                core,
            }
            .into());
        }
    }
    Ok(pools)
}

/// The messages [`Network::remote_scenario`] sends.
const REMOTE_MESSAGES: u64 = 2;

impl Network {
    /// The transfer of [`Self::channel_scenario`] between paras hosted by
    /// two CoreChains instances, the routes declared
    /// ([`Self::declare_channel_routes`]), each block checked on both
    /// engines and enacted: the sender makes a first block (a para's first
    /// block sends no horizontal message: parachain-system has no host
    /// configuration yet); Alice on the sender reserve-transfers `amount`
    /// to Bob on the recipient twice, a block each: each XCMP page leaves
    /// the sender's instance as a JAM transfer (kind HRMP, sequence 0,
    /// then 1) and the recipient's instance appends it to the channel in the
    /// same accumulation; the recipient's block gets both, in order, and
    /// the next one lets its message queue process them; the sender's
    /// next block finds them read and prunes its outbox (its XCMP queue
    /// may send another page then: it crosses the same way), and the
    /// recipient's last block gets what is left. Every message the sender
    /// sent must be delivered to the recipient's channel exactly once, in
    /// order of its sequence number, none bounced. The channel, declared
    /// with the routes (a test shortcut), is not closed here; opening and
    /// closing it by XCM across instances is
    /// [`Self::remote_xcm_channel_scenario`]. `on_block` sees each block as
    /// it is checked. Stops at the first block that is not enacted.
    pub fn remote_scenario(
        &mut self,
        s: &ChannelScenario,
        mut on_block: impl FnMut(&str, &NetworkBlock),
    ) -> Result<ScenarioOutcome, RehearsalError> {
        use crate::xcm_calls::reserve_transfer_native;
        let (from, to) = (self.host(s.sender), self.host(s.recipient));
        if from == to {
            return Err(RehearsalError::Registrar(format!(
                "paras {} and {} are hosted by the same instance {from}",
                s.sender, s.recipient
            )));
        }
        let tx_s = self.tx_format(s.sender)?;
        let bob = {
            use sp_core::Pair as _;
            parajam_collator::dev_pair("Bob")?.public().0
        };
        let transfer = reserve_transfer_native(&tx_s, s.recipient, bob, s.amount)?;
        let steps: Vec<(&'static str, u32, Option<&[u8]>)> = vec![
            ("first block", s.sender, None),
            ("transfer", s.sender, Some(&transfer)),
            ("transfer again", s.sender, Some(&transfer)),
            ("receive", s.recipient, None),
            ("process", s.recipient, None),
            ("prune", s.sender, None),
            ("receive the rest", s.recipient, None),
        ];
        let channel_id = HrmpChannelId {
            sender: ParaId(s.sender),
            recipient: ParaId(s.recipient),
        };
        let mut outcome = ScenarioOutcome::default();
        for (step, para, call) in steps {
            let extrinsics = match call {
                Some(call) => vec![self.signed(para, "Alice", call, 0)?],
                None => Vec::new(),
            };
            let block = self.step(para, extrinsics)?;
            on_block(step, &block);
            let outbox: Vec<bool> = (0..REMOTE_MESSAGES)
                .map(|n| self.outbox(from, to, channel_id, n).is_some())
                .collect();
            let remote = RemoteStep {
                from,
                to,
                channel: self.channel(s.sender, s.recipient),
                outbox,
            };
            if let Err(what) = remote_step_done(step, s, &remote, &block.messaging) {
                outcome.failures.push(ScenarioFailure { step, what });
            }
            let enacted = block.block.enacted;
            outcome.blocks.push((step, block));
            if !enacted {
                return Ok(outcome);
            }
        }
        // Each message delivered exactly once, in order, none bounced, all
        // received by the recipient.
        let crossing = RemoteTransfers::of(&outcome, from, to);
        let received: usize = outcome
            .blocks
            .iter()
            .filter(|(_, b)| b.para == s.recipient)
            .map(|(_, b)| {
                b.messaging
                    .delivered_horizontal
                    .get(&s.sender)
                    .copied()
                    .unwrap_or(0)
            })
            .sum();
        let in_order: Vec<u64> = (0..crossing.sent.len() as u64).collect();
        if crossing.sent != in_order
            || crossing.delivered != in_order
            || crossing.bounced != 0
            || received != in_order.len()
        {
            outcome.failures.push(ScenarioFailure {
                step: "all",
                what: format!(
                    "sent {:?}, delivered {:?} ({} bounced), {received} received by para {}: not each message once, in order",
                    crossing.sent, crossing.delivered, crossing.bounced, s.recipient
                ),
            });
        }
        Ok(outcome)
    }

    /// Has the registrar of each of the two instances hosting `sender`
    /// and `recipient` declare the other's para (a route without
    /// channels: [`Self::declare_route`]); each instance's log line. The
    /// channels between them are then the paras' to open and close by
    /// upward XCM ([`Self::remote_xcm_channel_scenario`]).
    pub fn declare_routes(
        &mut self,
        sender: u32,
        recipient: u32,
    ) -> Result<Vec<(ServiceId, String)>, RehearsalError> {
        let (from, to) = (self.para(sender)?.service, self.para(recipient)?.service);
        let mut lines = Vec::new();
        for (on, para, host) in [(from, recipient, to), (to, sender, from)] {
            let route = RouteDeclaration {
                para_id: ParaId(para),
                service: host,
                channels: Vec::new(),
            };
            lines.push((on, self.declare_route(on, route)?));
        }
        Ok(lines)
    }

    /// Channel `sender → recipient`'s state as instance `service` keeps
    /// its side: open or closing, requested, or `None`.
    pub fn channel_at(
        &self,
        service: ServiceId,
        sender: u32,
        recipient: u32,
    ) -> Option<ChannelState> {
        let id = HrmpChannelId {
            sender: ParaId(sender),
            recipient: ParaId(recipient),
        };
        if let Some(channel) = self.read_of::<HrmpChannel>(service, StorageKey::HrmpChannel(id)) {
            let closing = self
                .storage_of(service, StorageKey::HrmpCloseRequest(id))
                .is_some();
            return Some(if closing {
                ChannelState::Closing(channel)
            } else {
                ChannelState::Open(channel)
            });
        }
        self.read_of::<HrmpOpenRequest>(service, StorageKey::HrmpOpenRequest(id))
            .map(ChannelState::Requested)
    }

    /// The channel lifecycle of [`Self::channel_scenario`] between paras
    /// hosted by two CoreChains instances, the routes declared
    /// ([`Self::declare_routes`]) but the channel opened and closed by the
    /// paras' own upward XCM, each block checked on both engines and
    /// enacted: the sender's sudo asks to open `sender → recipient` (its
    /// instance records the request and tells the recipient's with a
    /// control memo, which notifies the recipient downward); the
    /// recipient accepts (its instance opens its side and tells the
    /// sender's, which opens its side and notifies the sender); Alice on
    /// the sender reserve-transfers `amount` to Bob on the recipient, the
    /// XCMP page crossing as a JAM transfer (HRMP memo); the recipient
    /// receives and processes it; the sender's next block prunes its
    /// outbox; the sender closes the channel (both sides close, the
    /// recipient is notified); the recipient drains it and it is gone on
    /// both sides. No transfer is bounced and no control refused.
    /// `on_block` sees each block as it is checked. Stops at the first
    /// block that is not enacted.
    pub fn remote_xcm_channel_scenario(
        &mut self,
        s: &ChannelScenario,
        mut on_block: impl FnMut(&str, &NetworkBlock),
    ) -> Result<ScenarioOutcome, RehearsalError> {
        let (from, to) = (self.host(s.sender), self.host(s.recipient));
        if from == to {
            return Err(RehearsalError::Registrar(format!(
                "paras {} and {} are hosted by the same instance {from}",
                s.sender, s.recipient
            )));
        }
        let steps = self.channel_steps(s, true)?;
        let (mut outcome, complete) = self.run_steps(steps, &mut on_block, |net, step, m| {
            let sides = XcmSides {
                from,
                to,
                at_sender: net.channel_at(from, s.sender, s.recipient),
                at_recipient: net.channel_at(to, s.sender, s.recipient),
            };
            xcm_step_done(step, s, &sides, m)
        })?;
        if !complete {
            return Ok(outcome);
        }
        let crossing = RemoteTransfers::of(&outcome, from, to);
        let refused = outcome
            .blocks
            .iter()
            .flat_map(|(_, b)| &b.messaging.transfers)
            .filter(|(_, l)| l.starts_with("ControlRefused") || l.starts_with("TransferBounced"))
            .count();
        let in_order: Vec<u64> = (0..crossing.sent.len() as u64).collect();
        if crossing.sent.is_empty()
            || crossing.sent != in_order
            || crossing.delivered != in_order
            || crossing.bounced != 0
            || refused != 0
        {
            outcome.failures.push(ScenarioFailure {
                step: "all",
                what: format!(
                    "sent {:?}, delivered {:?} ({} bounced, {refused} refused or bounced): not each message once, in order, nothing refused",
                    crossing.sent, crossing.delivered, crossing.bounced
                ),
            });
        }
        Ok(outcome)
    }

    /// The payload of HRMP message `n` on `channel` that instance `from`
    /// keeps in its outbox for instance `to`, until `to` has read it.
    pub fn outbox(
        &self,
        from: ServiceId,
        to: ServiceId,
        channel: HrmpChannelId,
        n: u64,
    ) -> Option<Vec<u8>> {
        use parajam_corechains_types::state::OutboxId;
        self.read_of(
            from,
            StorageKey::Outbox(OutboxId {
                service: to,
                channel,
                sequence: n,
            }),
        )
    }
}

/// The HRMP messages that crossed between two instances in a scenario, by
/// their sequence numbers, in the order logged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteTransfers {
    /// Those the sending instance sent (`HorizontalSent`).
    pub sent: Vec<u64>,
    /// Those the receiving instance delivered into the channel
    /// (`TransferDelivered` of an HRMP memo, `Horizontal`).
    pub delivered: Vec<u64>,
    /// How many transfers the receiving instance bounced.
    pub bounced: usize,
    /// The sending instance's `OutboxPruned` bounds (`below`).
    pub pruned_below: Vec<u64>,
}

impl RemoteTransfers {
    /// The transfers from instance `from` to `to` in `outcome`'s blocks.
    pub fn of(outcome: &ScenarioOutcome, from: ServiceId, to: ServiceId) -> Self {
        let mut t = Self::default();
        for (at, line) in outcome
            .blocks
            .iter()
            .flat_map(|(_, b)| &b.messaging.transfers)
        {
            let sent_to = format!("service: {to}");
            let sent_from = format!("source: {from}");
            if *at == from && line.starts_with("HorizontalSent") && line.contains(&sent_to) {
                t.sent.extend(number_after(line, "sequence: "));
            } else if *at == from && line.starts_with("OutboxPruned") && line.contains(&sent_to) {
                t.pruned_below.extend(number_after(line, "below: "));
            } else if *at == to
                && line.starts_with("TransferDelivered")
                && line.contains(&sent_from)
                && line.contains("Horizontal {")
            {
                t.delivered.extend(number_after(line, "sequence: "));
            } else if *at == to && line.starts_with("TransferBounced") && line.contains(&sent_from)
            {
                t.bounced += 1;
            }
        }
        t
    }
}

/// The number after the last `label` in `line` (a log line's field).
fn number_after(line: &str, label: &str) -> Option<u64> {
    let rest = &line[line.rfind(label)? + label.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The channel's two sides after a step of
/// [`Network::remote_xcm_channel_scenario`].
struct XcmSides {
    /// The sender's instance.
    from: ServiceId,
    /// The recipient's instance.
    to: ServiceId,
    /// The sender's side, at `from`.
    at_sender: Option<ChannelState>,
    /// The recipient's side, at `to`.
    at_recipient: Option<ChannelState>,
}

/// Whether `step` of [`Network::remote_xcm_channel_scenario`] did what it
/// should: the control memos sent and received, each side's state.
#[allow(clippy::too_many_lines)] // one arm per step
fn xcm_step_done(
    step: &str,
    s: &ChannelScenario,
    x: &XcmSides,
    m: &Messaging,
) -> Result<(), String> {
    let logged = |service: ServiceId, parts: &[&str]| {
        m.transfers
            .iter()
            .any(|(at, l)| *at == service && parts.iter().all(|p| l.contains(p)))
    };
    let channel = format!(
        "channel: HrmpChannelId {{ sender: ParaId({}), recipient: ParaId({}) }}",
        s.sender, s.recipient
    );
    let told = |op: &str| {
        let (by, at) = if op == "Accept" {
            (x.to, x.from)
        } else {
            (x.from, x.to)
        };
        logged(by, &["ControlSent", op, &channel]) && logged(at, &["ControlReceived", op, &channel])
    };
    let sides = || {
        format!(
            "sender's side {:?}, recipient's side {:?}",
            x.at_sender, x.at_recipient
        )
    };
    match step {
        "open request" => {
            let requested = matches!(x.at_sender, Some(ChannelState::Requested(_)))
                && matches!(x.at_recipient, Some(ChannelState::Requested(_)));
            if told("OpenRequest") && requested {
                Ok(())
            } else {
                Err(format!(
                    "transfers {:?}, {}: the request not recorded on both sides",
                    m.transfers,
                    sides()
                ))
            }
        }
        "accept" => {
            let open = matches!(x.at_sender, Some(ChannelState::Open(_)))
                && matches!(x.at_recipient, Some(ChannelState::Open(_)));
            if told("Accept") && open && m.delivered_downward == 1 {
                Ok(())
            } else {
                Err(format!(
                    "{} downward delivered, transfers {:?}, {}: not the request notified and the channel open on both sides",
                    m.delivered_downward,
                    m.transfers,
                    sides()
                ))
            }
        }
        "transfer" => {
            let sent = m.sent_horizontal.iter().any(|(r, _)| *r == s.recipient);
            let crossed = logged(x.from, &["HorizontalSent", "sequence: 0"])
                && logged(x.to, &["TransferDelivered", "Horizontal {"]);
            let queued = matches!(x.at_recipient, Some(ChannelState::Open(c)) if c.msg_count >= 1);
            if sent && crossed && queued && m.delivered_downward >= 1 {
                Ok(())
            } else {
                Err(format!(
                    "sent {:?}, transfers {:?}, {}: the acceptance not delivered or the message not crossed into the channel",
                    m.sent_horizontal,
                    m.transfers,
                    sides()
                ))
            }
        }
        "receive" => {
            let got = m.delivered_horizontal.get(&s.sender).copied().unwrap_or(0);
            if got >= 1 {
                Ok(())
            } else {
                Err(format!(
                    "delivered {:?}: the message not delivered",
                    m.delivered_horizontal
                ))
            }
        }
        "close" => {
            let closed = x.at_sender.is_none()
                && matches!(x.at_recipient, None | Some(ChannelState::Closing(_)));
            if told("Close") && closed {
                Ok(())
            } else {
                Err(format!(
                    "transfers {:?}, {}: not closed on the sender's side and closing on the recipient's",
                    m.transfers,
                    sides()
                ))
            }
        }
        "drain" => {
            if x.at_sender.is_none() && x.at_recipient.is_none() && m.delivered_downward >= 1 {
                Ok(())
            } else {
                Err(format!(
                    "{} downward delivered, {}: not notified and gone on both sides",
                    m.delivered_downward,
                    sides()
                ))
            }
        }
        _ => Ok(()),
    }
}

/// The state [`remote_step_done`] checks after a step.
struct RemoteStep {
    /// The sender's instance.
    from: ServiceId,
    /// The recipient's instance.
    to: ServiceId,
    /// The channel, at the recipient's instance.
    channel: Option<ChannelState>,
    /// Whether each message is in the sender's outbox.
    outbox: Vec<bool>,
}

/// Whether `step` of [`Network::remote_scenario`] did what it should.
fn remote_step_done(
    step: &str,
    s: &ChannelScenario,
    r: &RemoteStep,
    m: &Messaging,
) -> Result<(), String> {
    let logged = |service: ServiceId, parts: &[String]| {
        m.transfers
            .iter()
            .any(|(at, l)| *at == service && parts.iter().all(|p| l.contains(p.as_str())))
    };
    let queued = match r.channel {
        Some(ChannelState::Open(c)) => Some(c.msg_count),
        _ => None,
    };
    match step {
        "transfer" | "transfer again" => {
            let n = usize::from(step != "transfer");
            let sent = logged(
                r.from,
                &[
                    "HorizontalSent".into(),
                    format!("recipient: ParaId({})", s.recipient),
                    format!("service: {}", r.to),
                    format!("sequence: {n}"),
                ],
            );
            let delivered = logged(
                r.to,
                &[
                    "TransferDelivered".into(),
                    format!("source: {}", r.from),
                    format!("para: ParaId({})", s.recipient),
                    format!(
                        "Horizontal {{ sender: ParaId({}), sequence: {n} }}",
                        s.sender
                    ),
                ],
            );
            let to_recipient = m.sent_horizontal.iter().any(|(p, _)| *p == s.recipient);
            let in_outbox = r.outbox.get(n).copied().unwrap_or(false);
            let expected = u32::try_from(n + 1).unwrap_or(u32::MAX);
            if to_recipient && sent && delivered && in_outbox && queued == Some(expected) {
                Ok(())
            } else {
                Err(format!(
                    "sent {:?}, transfers {:?}, message {n} in the outbox: {in_outbox}, channel {:?}: message {n} did not cross as a transfer into the channel",
                    m.sent_horizontal, m.transfers, r.channel
                ))
            }
        }
        "receive the rest" => {
            if queued == Some(0) {
                Ok(())
            } else {
                Err(format!("channel {:?}: not drained", r.channel))
            }
        }
        "receive" => {
            let got = m.delivered_horizontal.get(&s.sender).copied().unwrap_or(0);
            if got as u64 == REMOTE_MESSAGES && queued == Some(0) {
                Ok(())
            } else {
                Err(format!(
                    "delivered {:?}, channel {:?}: not both messages delivered and pruned",
                    m.delivered_horizontal, r.channel
                ))
            }
        }
        "prune" => {
            let pruned = logged(
                r.from,
                &[
                    "OutboxPruned".into(),
                    format!("service: {}", r.to),
                    format!("below: {REMOTE_MESSAGES}"),
                ],
            );
            if pruned && r.outbox.iter().all(|kept| !kept) {
                Ok(())
            } else {
                Err(format!(
                    "transfers {:?}, outbox {:?}: the outbox not pruned",
                    m.transfers, r.outbox
                ))
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_line_s_numbers_are_read_after_their_last_label() {
        let line = "TransferDelivered { source: 1000, para: ParaId(2001), amount: 0, delivery: Horizontal { sender: ParaId(2000), sequence: 12 } }";
        assert_eq!(number_after(line, "sequence: "), Some(12));
        assert_eq!(number_after(line, "source: "), Some(1000));
        assert_eq!(number_after(line, "below: "), None);
        assert_eq!(number_after("OutboxPruned { below: x }", "below: "), None);
    }
}
