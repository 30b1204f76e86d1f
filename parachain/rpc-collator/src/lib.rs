//! The mini collator against a live parajam node, over JSON-RPC only
//! (JIP-2 and the node's `parajam_*` methods): what `parajam collate`
//! runs.
//!
//! For each para block ([`Collate::step`]):
//!
//! 1. `parajam_relayState [para]`: the best block (the anchor and the
//!    relay parent number, its slot) and the emulated relay state the
//!    CoreChains service shows the para there; `stateRoot` and `beefyRoot`
//!    of that block make the refine context;
//! 2. the block is built on the para's parent (the adder's next block, or
//!    a cumulus runtime's by [`parajam_collator`] with signed transfers)
//!    against that relay state;
//! 3. a work package of one CoreChains item (the candidate; its PoV the
//!    item's extrinsic), authorized by the CoreChains authorizer for the
//!    para, goes to `submitWorkPackage` on the para's core; the node
//!    answers once its guarantor has refined it (a "busy" answer is tried
//!    again next slot);
//! 4. the collator follows the best block (`parajam_paraHead`) until the
//!    para's head is the block's: enacted. The refine gas is the core's
//!    `u` in the `statistics` (`π_C`) of the block that guaranteed it (the
//!    enacting block's `parent`).
//!
//! A para that is not registered yet is registered first by the
//! registrar's work package ([`Collate::register`]: `Register` with its
//! genesis head and PVF hash, then its PVF artifact by `submitPreimage`
//! once the service solicits it). A runtime upgrade registers the new
//! wasm's PVM build the same way (`RegisterBuild`, then the artifact by
//! `submitPreimage` unless the service has it), and the para's own
//! `set_code` path does the rest.
//!
//! Every call is bounded by [`Config::rpc_timeout`], every wait by a
//! number of slots; a bad answer from the node is a [`CollateError`].
//! Library code never prints: the caller gets [`Event`]s.
//!
//! When the connection to the node fails (the node stopped, restarted),
//! the collator connects again with a bounded backoff, for at most
//! [`Config::reconnect`] without a block enacted, and goes on from the
//! node's head then ([`Collate::reconnecting`]): a block it submitted that
//! the node enacted meanwhile counts, one it did not is made again. A
//! cumulus para's states can be kept on disk ([`store`],
//! [`Cumulus::with_store`]) so that a collator started again builds on the
//! head the node has.

mod client;
pub mod para;
pub mod store;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use parajam_corechains_build::{AUTHORIZER_CODE_HASH, SERVICE_CODE_HASH};
use parajam_corechains_types::state::StorageKey;
use parajam_corechains_types::{
    AuthConfig, AuthScope, HeadData, ParaId, ParachainCandidate, PvmBuild, Registration,
    ValidationCodeHash, WorkItemPayload,
};
use parajam_primitives::types::{ExtrinsicSpec, OpaqueHash, RefineContext, WorkItem, WorkPackage};
use parajam_primitives::ProtocolParameters;
use parajam_rpc::BlockDescriptor;
use parity_scale_codec::{Decode, Encode};

pub use client::{NodeClient, ParaHead, RelayStateAnswer};
pub use para::{Adder, CodeUpgrade, Cumulus, Made, ParaBuilder, ADDER_PVF};
pub use store::{StateStore, StoreError};

/// The CoreChains service's id on parajam dev chains.
pub const CORECHAINS: u32 = 1000;

/// How the node ends the answer to a call it cannot finish because it is
/// stopping (`parajam_service`'s pipeline says so of a work package it
/// held).
const NODE_STOPPING: &str = "the node is stopping";

/// Why the collator cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum CollateError {
    /// The node could not be reached.
    #[error("cannot connect to {url}: {reason}")]
    Connect {
        /// The node's URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// Something did not happen in time.
    #[error("no {what} within {after:?}")]
    Timeout {
        /// What was waited for.
        what: String,
        /// How long.
        after: Duration,
    },
    /// The connection failed during a call.
    #[error("`{method}`: {reason}")]
    Transport {
        /// The method.
        method: String,
        /// Why.
        reason: String,
    },
    /// The node answered with a JSON-RPC error.
    #[error("`{method}` refused (code {code}): {message}")]
    Refused {
        /// The method.
        method: String,
        /// The JSON-RPC error code.
        code: i32,
        /// The node's message.
        message: String,
    },
    /// The node's answer is not what the method returns.
    #[error("`{method}` answered something unexpected: {reason}")]
    BadAnswer {
        /// The method.
        method: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The mini collator failed (the runtime, its genesis, a block).
    #[error("collator: {0}")]
    Collator(#[from] parajam_collator::CollatorError),
    /// A block could not be made.
    #[error("building a block: {0}")]
    Build(String),
    /// The node's head of the para is not one this collator can build on.
    #[error("cannot build on the node's head: {0}")]
    UnknownHead(String),
    /// The node's head of the para is neither its genesis nor a block
    /// whose state the collator's data path holds.
    #[error(
        "the node's head of para {para} is block #{number} 0x{head}, which is neither the \
         para's genesis nor a block whose state is stored in {} (start the collator with the \
         --data-path of the one that made that block)", path.display()
    )]
    NotStored {
        /// The para.
        para: u32,
        /// The head's block number (`?` if the head does not decode).
        number: String,
        /// The head's hash (hex).
        head: String,
        /// The directory the states are looked up in.
        path: PathBuf,
    },
    /// The para's state store failed.
    #[error("the para's state store: {0}")]
    Store(#[from] StoreError),
    /// The node stayed unreachable.
    #[error("the node at {url} stayed unreachable for {after:?} ({attempts} connection attempts; last: {last})")]
    Unreachable {
        /// The node's URL.
        url: String,
        /// How long the collator tried.
        after: Duration,
        /// Connection attempts.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// The para is not registered and this collator cannot register it.
    #[error("para {0} is not registered with the CoreChains service")]
    NotRegistered(u32),
    /// The registrar's package was not enacted.
    #[error("registration: {0}")]
    Registration(String),
    /// A PVF artifact is too large to register.
    #[error("a PVF artifact of 4 GiB or more")]
    TooLarge,
}

impl CollateError {
    /// Whether this is the node's "busy" answer (its work-package queue is
    /// full): worth trying again.
    pub fn is_busy(&self) -> bool {
        matches!(self, Self::Refused { message, .. } if message.starts_with("busy"))
    }

    /// Whether the connection to the node failed (it could not be
    /// reached, or dropped during a call) or the node said it is stopping
    /// (a submission it held is then answered so): worth connecting again.
    pub fn is_disconnect(&self) -> bool {
        matches!(self, Self::Connect { .. } | Self::Transport { .. })
            || matches!(self, Self::Refused { message, .. }
                if message.ends_with(NODE_STOPPING))
    }

    /// Whether the node may take the same package a little later: "busy",
    /// or its authorizer missing from the core's pool at the node's best
    /// block (GP §8.2: a used authorizer leaves the pool and the queue
    /// refills it one entry per block, so with packages in flight the
    /// para's authorizer can be briefly absent).
    pub fn is_transient(&self) -> bool {
        self.is_busy()
            || matches!(self, Self::Refused { message, .. }
                if message.contains("is not in core") && message.ends_with("pool"))
    }
}

/// How to collate.
#[derive(Debug, Clone)]
pub struct Config {
    /// The para.
    pub para: u32,
    /// The core its packages go to (default: `para mod C`).
    pub core: Option<u16>,
    /// Stop after this many blocks enacted (default: never).
    pub blocks: Option<u32>,
    /// How long one RPC call may take.
    pub rpc_timeout: Duration,
    /// How often the best block is polled.
    pub poll: Duration,
    /// Best blocks a submitted package may take to be enacted before the
    /// collator builds again on the node's head.
    pub enact_blocks: u32,
    /// Blocks the collator tries again without one enacted before it gives
    /// up.
    pub max_retries: u32,
    /// Register the para (registrar package, PVF preimage) when the node
    /// does not have it.
    pub register: bool,
    /// How long the collator tries to connect again, without a block
    /// enacted, when the connection to the node fails; zero: it does not
    /// (the failure is the collator's error).
    pub reconnect: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            para: 2000,
            core: None,
            blocks: None,
            rpc_timeout: Duration::from_secs(120),
            poll: Duration::from_millis(100),
            enact_blocks: 8,
            max_retries: 5,
            register: true,
            reconnect: Duration::from_secs(60),
        }
    }
}

/// One para block enacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enacted {
    /// The para.
    pub para: u32,
    /// The para block's number.
    pub number: u64,
    /// Blake2b-256 of its head.
    pub head_hash: [u8; 32],
    /// The slot of the best block it was built on and submitted at (its
    /// relay parent).
    pub slot_submitted: u32,
    /// The slot of the block whose accumulation enacted it.
    pub slot_enacted: u32,
    /// Refine gas of the package's report (`u` of its core in `π_C` of
    /// the block that guaranteed it), if seen.
    pub refine_gas: Option<u64>,
    /// Extrinsics besides the inherents.
    pub extrinsics: usize,
    /// Whether it was seen enacted only after a reconnection (then
    /// `slot_enacted` is the slot it was seen at, and the refine gas is
    /// not known).
    pub after_reconnection: bool,
}

/// What the collator did, for the caller to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The para is registered (now or before).
    Registered {
        /// The para.
        para: u32,
        /// Whether this collator registered it.
        now: bool,
        /// The slot it was seen registered at.
        slot: u32,
    },
    /// A PVF artifact was provided to the service.
    Provided {
        /// Its hash.
        hash: [u8; 32],
        /// Its length.
        len: usize,
        /// The slot it was seen available at.
        slot: u32,
    },
    /// A PVM build was registered (for an upgrade).
    BuildRegistered {
        /// The wasm code's hash.
        source: [u8; 32],
        /// The PVF artifact's hash.
        pvf: [u8; 32],
    },
    /// A block was enacted.
    Enacted(Enacted),
    /// A block was not enacted and is made again.
    Retry {
        /// Its number.
        number: u64,
        /// Why.
        reason: String,
    },
    /// The para's code changed (an upgrade was enacted).
    CodeChanged {
        /// The new PVF hash.
        code: [u8; 32],
        /// The slot.
        slot: u32,
    },
    /// The connection to the node failed; the collator connects again.
    Disconnected {
        /// Why.
        reason: String,
        /// For how long at most, without a block enacted.
        within: Duration,
    },
    /// Connected to the node again.
    Reconnected {
        /// Connection attempts it took.
        attempts: u32,
        /// Since the connection failed.
        after: Duration,
    },
}

/// The authorizer configuration `f` of the CoreChains authorizer for
/// `scope`.
fn auth_config(scope: AuthScope) -> Vec<u8> {
    AuthConfig {
        service: CORECHAINS,
        scope,
    }
    .encode()
}

/// A package of one CoreChains item with `payload` and `extrinsics` under
/// `scope`, in `context`, with the most gas a report allows.
pub fn package(
    params: &ProtocolParameters,
    context: RefineContext,
    scope: AuthScope,
    payload: &WorkItemPayload,
    extrinsics: &[Vec<u8>],
) -> Result<WorkPackage, CollateError> {
    let extrinsic = extrinsics
        .iter()
        .map(|x| {
            Ok(ExtrinsicSpec {
                hash: OpaqueHash::from(parajam_crypto::blake2b_256(x)),
                len: u32::try_from(x.len()).map_err(|_| CollateError::TooLarge)?,
            })
        })
        .collect::<Result<Vec<_>, CollateError>>()?;
    Ok(WorkPackage {
        auth_code_host: CORECHAINS,
        auth_code_hash: OpaqueHash::from(AUTHORIZER_CODE_HASH),
        context,
        authorization: Vec::new().into(),
        authorizer_config: auth_config(scope).into(),
        items: vec![WorkItem {
            service: CORECHAINS,
            code_hash: OpaqueHash::from(SERVICE_CODE_HASH),
            refine_gas_limit: params.gas_refine,
            accumulate_gas_limit: params.gas_accumulate_report,
            export_count: 0,
            payload: payload.encode().into(),
            import_segments: vec![],
            extrinsic,
        }]
        .into(),
    })
}

/// A block submitted (or about to be) and not yet seen enacted.
#[derive(Debug, Clone)]
struct Pending {
    made: Made,
    submitted: u32,
}

/// The first backoff between connection attempts; it doubles up to
/// [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest backoff between connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// A collator of one para against one node.
pub struct Collate<B: ParaBuilder> {
    client: NodeClient,
    params: ProtocolParameters,
    config: Config,
    builder: B,
    core: u16,
    enacted: u32,
    code: Option<[u8; 32]>,
    pending: Option<Pending>,
    /// When the connection first failed since the last block enacted.
    down_since: Option<Instant>,
}

impl<B: ParaBuilder> std::fmt::Debug for Collate<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collate")
            .field("url", &self.client.url())
            .field("config", &self.config)
            .field("core", &self.core)
            .field("enacted", &self.enacted)
            .finish_non_exhaustive()
    }
}

impl<B: ParaBuilder> Collate<B> {
    /// Connects to the node at `url` and reads its parameters.
    pub fn connect(url: &str, config: Config, builder: B) -> Result<Self, CollateError> {
        let client = NodeClient::connect(url, config.rpc_timeout)?;
        let params = client.parameters()?;
        let core = config.core.unwrap_or_else(|| {
            u16::try_from(config.para % u32::from(params.core_count)).unwrap_or(0)
        });
        if core >= params.core_count {
            return Err(CollateError::Build(format!(
                "core {core}: the chain has {} cores",
                params.core_count
            )));
        }
        Ok(Self {
            client,
            params,
            config,
            builder,
            core,
            enacted: 0,
            code: None,
            pending: None,
            down_since: None,
        })
    }

    /// The client.
    pub fn client(&self) -> &NodeClient {
        &self.client
    }

    /// The builder.
    pub fn builder(&self) -> &B {
        &self.builder
    }

    /// The chain's parameters.
    pub fn params(&self) -> &ProtocolParameters {
        &self.params
    }

    /// The core the para's packages go to.
    pub fn core(&self) -> u16 {
        self.core
    }

    /// The refine context of `block`: it is the anchor and the lookup
    /// anchor.
    fn context(&self, block: &BlockDescriptor) -> Result<RefineContext, CollateError> {
        let anchor = OpaqueHash::from(block.header_hash.0);
        Ok(RefineContext {
            anchor,
            state_root: OpaqueHash::from(self.client.state_root(block)?),
            beefy_root: OpaqueHash::from(self.client.beefy_root(block)?),
            lookup_anchor: anchor,
            lookup_anchor_slot: block.slot,
            prerequisites: Vec::new(),
        })
    }

    fn encode(&self, package: &WorkPackage) -> Vec<u8> {
        parajam_primitives::codec::with_params(&self.params, || {
            parajam_primitives::codec::Encode::encode(package)
        })
    }

    /// Submits a one-item package of `payload` under `scope` anchored on
    /// the best block; "busy" is tried again each slot for
    /// `enact_blocks` slots. Returns the slot it was anchored at.
    fn submit(
        &self,
        scope: AuthScope,
        payload: &WorkItemPayload,
        extrinsics: &[Vec<u8>],
    ) -> Result<u32, CollateError> {
        let mut tries = 0;
        loop {
            let best = self.client.best_block()?;
            let package = package(
                &self.params,
                self.context(&best)?,
                scope,
                payload,
                extrinsics,
            )?;
            match self
                .client
                .submit_work_package(self.core, &self.encode(&package), extrinsics)
            {
                Ok(()) => return Ok(best.slot),
                Err(e) if e.is_transient() && tries < self.config.enact_blocks => {
                    tries += 1;
                    self.client
                        .wait_past(best.slot, self.config.poll, self.slot_wait(1))?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A generous bound on `blocks` slots of the node (6 s each at most).
    fn slot_wait(&self, blocks: u32) -> Duration {
        Duration::from_secs(u64::from(self.params.slot_period_secs.max(1)) * u64::from(blocks + 1))
            + self.config.rpc_timeout
    }

    /// Waits, block by block for at most `blocks` best blocks, until
    /// `done` (called with each new best block) says so.
    fn until<T>(
        &self,
        what: &str,
        blocks: u32,
        mut done: impl FnMut(&BlockDescriptor) -> Result<Option<T>, CollateError>,
    ) -> Result<T, CollateError> {
        let started = Instant::now();
        let mut best = self.client.best_block()?;
        for _ in 0..=blocks {
            if let Some(found) = done(&best)? {
                return Ok(found);
            }
            best = self
                .client
                .wait_past(best.slot, self.config.poll, self.slot_wait(1))?;
        }
        Err(CollateError::Timeout {
            what: format!("{what} (within {blocks} blocks)"),
            after: started.elapsed(),
        })
    }

    /// Makes sure the service holds the preimage `pvf` it solicited:
    /// provides it with `submitPreimage` when requested.
    fn provide(&self, pvf: &[u8], on_event: &mut dyn FnMut(&Event)) -> Result<(), CollateError> {
        let hash = parajam_crypto::blake2b_256(pvf);
        let len = u32::try_from(pvf.len()).map_err(|_| CollateError::TooLarge)?;
        let mut submitted = false;
        let slot = self.until(
            "the PVF artifact provided",
            self.config.enact_blocks * 2,
            |best| {
                match self.client.service_request(best, CORECHAINS, &hash, len)? {
                    // Available: provided (`[x]` or `[x, y, z]`).
                    Some(slots) if slots.len() % 2 == 1 => Ok(Some(best.slot)),
                    Some(slots) if slots.is_empty() && !submitted => {
                        self.client.submit_preimage(CORECHAINS, pvf)?;
                        submitted = true;
                        Ok(None)
                    }
                    Some(_) => Ok(None),
                    None => Err(CollateError::Registration(format!(
                        "the service does not ask for the PVF artifact 0x{} ({len} octets)",
                        hex(&hash)
                    ))),
                }
            },
        )?;
        if submitted {
            on_event(&Event::Provided {
                hash,
                len: pvf.len(),
                slot,
            });
        }
        Ok(())
    }

    /// Registers the para with `pvf` as its code, unless the node has it:
    /// the registrar's `Register` package, then the artifact.
    pub fn register(
        &self,
        pvf: &[u8],
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<(), CollateError> {
        if let Some(head) = self.client.para_head(self.config.para)? {
            on_event(&Event::Registered {
                para: self.config.para,
                now: false,
                slot: head.block.slot,
            });
            return Ok(());
        }
        if !self.config.register {
            return Err(CollateError::NotRegistered(self.config.para));
        }
        let registration = Registration {
            para_id: ParaId(self.config.para),
            genesis_head: HeadData(self.builder.genesis_head()),
            validation_code_hash: ValidationCodeHash(parajam_crypto::blake2b_256(pvf)),
            validation_code_len: u32::try_from(pvf.len()).map_err(|_| CollateError::TooLarge)?,
        };
        self.submit(
            AuthScope::Registrar,
            &WorkItemPayload::Register(registration),
            &[],
        )?;
        let slot = self.until("the para registered", self.config.enact_blocks, |_| {
            Ok(self
                .client
                .para_head(self.config.para)?
                .map(|h| h.block.slot))
        })?;
        on_event(&Event::Registered {
            para: self.config.para,
            now: true,
            slot,
        });
        self.provide(pvf, on_event)
    }

    /// Registers the PVM build `pvf` of the wasm code `wasm` (the
    /// registrar's `RegisterBuild` package) and provides the artifact
    /// unless the service has it, so that an upgrade to `wasm` runs it.
    pub fn register_build(
        &self,
        wasm: &[u8],
        pvf: &[u8],
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<(), CollateError> {
        let build = PvmBuild {
            source: ValidationCodeHash(parajam_crypto::blake2b_256(wasm)),
            pvf: ValidationCodeHash(parajam_crypto::blake2b_256(pvf)),
            pvf_len: u32::try_from(pvf.len()).map_err(|_| CollateError::TooLarge)?,
        };
        let key = StorageKey::Build(build.source).to_key();
        let best = self.client.best_block()?;
        if self
            .client
            .service_value(&best, CORECHAINS, &key)?
            .is_none()
        {
            self.submit(
                AuthScope::Registrar,
                &WorkItemPayload::RegisterBuild(build),
                &[],
            )?;
            self.until(
                "the PVM build registered",
                self.config.enact_blocks,
                |best| {
                    Ok(self
                        .client
                        .service_value(best, CORECHAINS, &key)?
                        .map(|_| ()))
                },
            )?;
        }
        on_event(&Event::BuildRegistered {
            source: build.source.0,
            pvf: build.pvf.0,
        });
        self.provide(pvf, on_event)
    }

    /// The para's current code (PVF hash) at `block`.
    fn current_code(&self, block: &BlockDescriptor) -> Result<[u8; 32], CollateError> {
        let value = self
            .client
            .service_value(
                block,
                CORECHAINS,
                &StorageKey::Code(ParaId(self.config.para)).to_key(),
            )?
            .ok_or(CollateError::NotRegistered(self.config.para))?;
        ValidationCodeHash::decode(&mut &value[..])
            .map(|h| h.0)
            .map_err(|e| CollateError::BadAnswer {
                method: "serviceValue".into(),
                reason: format!("the para's code hash: {e}"),
            })
    }

    /// Makes, submits and follows one block until it is enacted (trying
    /// again on the node's head when it is not within `enact_blocks`
    /// blocks, at most `max_retries` times). A block submitted before and
    /// found enacted now (after a reconnection) is the one returned.
    pub fn step(&mut self, on_event: &mut dyn FnMut(&Event)) -> Result<Enacted, CollateError> {
        let para = self.config.para;
        let mut retries = 0;
        loop {
            let node_head = self
                .client
                .para_head(para)?
                .ok_or(CollateError::NotRegistered(para))?;
            if let Some(pending) = self.pending.take() {
                if pending.made.head == node_head.head {
                    self.builder.enacted(&node_head.head)?;
                    self.enacted += 1;
                    return Ok(Enacted {
                        para,
                        number: pending.made.number,
                        head_hash: parajam_crypto::blake2b_256(&pending.made.head),
                        slot_submitted: pending.submitted,
                        slot_enacted: node_head.block.slot,
                        refine_gas: None,
                        extrinsics: pending.made.extrinsics,
                        after_reconnection: true,
                    });
                }
            }
            self.builder.follow(&node_head.head)?;
            match self.attempt(on_event) {
                Ok(Some(enacted)) => {
                    self.enacted += 1;
                    return Ok(enacted);
                }
                Ok(None) => {}
                Err(e) if e.is_busy() => on_event(&Event::Retry {
                    number: 0,
                    reason: e.to_string(),
                }),
                Err(e) => return Err(e),
            }
            retries += 1;
            if retries > self.config.max_retries {
                return Err(CollateError::Timeout {
                    what: format!("a block of para {para} enacted after {retries} tries"),
                    after: self.slot_wait(self.config.enact_blocks * retries),
                });
            }
        }
    }

    /// One try: `Some` when enacted, `None` when not within
    /// `enact_blocks` blocks (a [`Event::Retry`] is sent).
    fn attempt(
        &mut self,
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<Option<Enacted>, CollateError> {
        let para = self.config.para;
        let relay = self
            .client
            .relay_state(para)?
            .ok_or(CollateError::NotRegistered(para))?;
        let code = self.current_code(&relay.block)?;
        if self.code.is_some_and(|c| c != code) {
            on_event(&Event::CodeChanged {
                code,
                slot: relay.block.slot,
            });
        }
        self.code = Some(code);
        let made = self.builder.make(relay.block.slot, relay.entries)?;
        let candidate = ParachainCandidate {
            para_id: ParaId(para),
            parent_head: HeadData(made.parent_head.clone()),
            validation_code_hash: ValidationCodeHash(code),
            anchor: relay.block.header_hash.0,
            relay_parent_number: relay.block.slot,
            relay_parent_storage_root: relay.root,
            block_data_hash: parajam_crypto::blake2b_256(&made.pov),
        };
        let extrinsics = [made.pov.clone()];
        let submitted = relay.block.slot;
        let package = package(
            &self.params,
            self.context(&relay.block)?,
            AuthScope::Para(ParaId(para)),
            &WorkItemPayload::Candidate(candidate),
            &extrinsics,
        )?;
        // Pending from now: the node may take it even if the call fails.
        self.pending = Some(Pending {
            made: made.clone(),
            submitted,
        });
        let submitted_ok =
            self.client
                .submit_work_package(self.core, &self.encode(&package), &extrinsics);
        if let Err(e) = submitted_ok {
            // "Queued; no verdict within …" (e.g. the node is stopping):
            // the package may still be enacted, so it is followed as one
            // submitted.
            let queued = matches!(&e, CollateError::Refused { message, .. }
                if message.contains("no verdict"));
            if !queued {
                if !e.is_disconnect() {
                    self.pending = None;
                }
                return Err(e);
            }
        }
        let found = self.until("", self.config.enact_blocks, |_| {
            let head = self
                .client
                .para_head(para)?
                .ok_or(CollateError::NotRegistered(para))?;
            Ok((head.head == made.head).then_some(head.block))
        });
        if !matches!(&found, Err(e) if e.is_disconnect()) {
            self.pending = None;
        }
        match found {
            Ok(block) => {
                self.builder.enacted(&made.head)?;
                // Enacted: a connection lost now costs only the gas figure.
                let gas = match self.refine_gas(&block) {
                    Ok(gas) => gas,
                    Err(e) if e.is_disconnect() => None,
                    Err(e) => return Err(e),
                };
                Ok(Some(Enacted {
                    para,
                    number: made.number,
                    head_hash: parajam_crypto::blake2b_256(&made.head),
                    slot_submitted: submitted,
                    slot_enacted: block.slot,
                    refine_gas: gas,
                    extrinsics: made.extrinsics,
                    after_reconnection: false,
                }))
            }
            Err(CollateError::Timeout { .. }) => {
                on_event(&Event::Retry {
                    number: made.number,
                    reason: format!(
                        "not enacted within {} blocks of slot {submitted}",
                        self.config.enact_blocks
                    ),
                });
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The refine gas of the report the block before `enacted` guaranteed
    /// on the para's core (the node guarantees a report in one block and
    /// accumulates it in the next): `u` of the core in that block's `π_C`.
    fn refine_gas(&self, enacted: &BlockDescriptor) -> Result<Option<u64>, CollateError> {
        let value = self
            .client
            .call_raw("parent", vec![client::b64(&enacted.header_hash.0)])?;
        let parent: BlockDescriptor =
            serde_json::from_value(value).map_err(|e| CollateError::BadAnswer {
                method: "parent".into(),
                reason: e.to_string(),
            })?;
        let stats = self.client.statistics(&parent, &self.params)?;
        Ok(stats
            .cores
            .get(usize::from(self.core))
            .map(|c| c.gas_used)
            .filter(|&g| g > 0))
    }

    /// Runs until `config.blocks` blocks are enacted (or forever), or
    /// until `stop` says so (checked between blocks and between connection
    /// attempts), sending each block's [`Event::Enacted`] to `on_event`.
    /// A failed connection is made again ([`Self::reconnecting`]). Returns
    /// the blocks enacted.
    pub fn run(
        &mut self,
        stop: &dyn Fn() -> bool,
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<u32, CollateError> {
        while self.config.blocks.is_none_or(|n| self.enacted < n) && !stop() {
            let Some(enacted) =
                self.reconnecting(stop, on_event, |c, on_event| c.step(on_event))?
            else {
                break;
            };
            on_event(&Event::Enacted(enacted));
        }
        Ok(self.enacted)
    }

    /// Runs `f`; when the connection to the node fails, connects again
    /// (with a backoff from 250 ms doubling up to 4 s) and runs `f` again,
    /// for at most [`Config::reconnect`] since the first failure without
    /// a success of `f`; then the failure is [`CollateError::Unreachable`].
    /// `None` when `stop` said so while waiting. The node must have the
    /// same protocol parameters after a reconnection.
    pub fn reconnecting<T>(
        &mut self,
        stop: &dyn Fn() -> bool,
        on_event: &mut dyn FnMut(&Event),
        mut f: impl FnMut(&mut Self, &mut dyn FnMut(&Event)) -> Result<T, CollateError>,
    ) -> Result<Option<T>, CollateError> {
        loop {
            match f(self, on_event) {
                Ok(value) => {
                    self.down_since = None;
                    return Ok(Some(value));
                }
                Err(e) if e.is_disconnect() && !self.config.reconnect.is_zero() => {
                    if !self.connect_again(&e, stop, on_event)? {
                        return Ok(None);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Connects again after `error`; `false` if `stop` said so first.
    fn connect_again(
        &mut self,
        error: &CollateError,
        stop: &dyn Fn() -> bool,
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<bool, CollateError> {
        let window = self.config.reconnect;
        let since = *self.down_since.get_or_insert_with(Instant::now);
        on_event(&Event::Disconnected {
            reason: error.to_string(),
            within: window.saturating_sub(since.elapsed()),
        });
        let failed = Instant::now();
        let mut backoff = FIRST_BACKOFF;
        let mut attempts = 0;
        let mut last = error.to_string();
        loop {
            let left = window.saturating_sub(since.elapsed());
            if left.is_zero() {
                return Err(CollateError::Unreachable {
                    url: self.client.url().to_owned(),
                    after: since.elapsed(),
                    attempts,
                    last,
                });
            }
            // Sleep in short steps so that `stop` is seen.
            let until = Instant::now() + backoff.min(left);
            while Instant::now() < until {
                if stop() {
                    return Ok(false);
                }
                std::thread::sleep(
                    Duration::from_millis(50).min(until.saturating_duration_since(Instant::now())),
                );
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
            attempts += 1;
            let timeout = self
                .config
                .rpc_timeout
                .min(window.saturating_sub(since.elapsed()))
                .max(Duration::from_secs(1));
            let client = match NodeClient::connect(self.client.url(), timeout) {
                Ok(client) => client,
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            };
            match client.parameters() {
                Ok(params) if params == self.params => {}
                Ok(_) => {
                    return Err(CollateError::BadAnswer {
                        method: "parameters".into(),
                        reason: "the node came back with other protocol parameters".into(),
                    })
                }
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            }
            self.client = client;
            on_event(&Event::Reconnected {
                attempts,
                after: failed.elapsed(),
            });
            return Ok(true);
        }
    }
}

/// Lower-case hex.
pub fn hex(octets: &[u8]) -> String {
    use std::fmt::Write as _;
    octets.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_names_the_corechains_authorizer_scope_and_extrinsics() {
        let params = ProtocolParameters::TINY;
        let pov = vec![1u8, 2, 3];
        let package = package(
            &params,
            RefineContext::default(),
            AuthScope::Para(ParaId(2001)),
            &WorkItemPayload::Register(Registration {
                para_id: ParaId(2001),
                genesis_head: HeadData(vec![]),
                validation_code_hash: ValidationCodeHash([0; 32]),
                validation_code_len: 0,
            }),
            std::slice::from_ref(&pov),
        )
        .expect("a package");
        assert_eq!(package.auth_code_host, CORECHAINS);
        let config = AuthConfig::decode(&mut &package.authorizer_config.0[..]).expect("f");
        assert_eq!(config.scope, AuthScope::Para(ParaId(2001)));
        let item = &package.items[0];
        assert_eq!(item.service, CORECHAINS);
        assert_eq!(item.refine_gas_limit, params.gas_refine);
        assert_eq!(item.extrinsic.len(), 1);
        assert_eq!(item.extrinsic[0].len, 3);
        assert_eq!(
            item.extrinsic[0].hash,
            OpaqueHash::from(parajam_crypto::blake2b_256(&pov))
        );
    }

    #[test]
    fn only_the_nodes_busy_answer_is_busy() {
        let busy = CollateError::Refused {
            method: "submitWorkPackage".into(),
            code: 0,
            message: "busy: the work-package queue is full (1 waiting); try again later".into(),
        };
        assert!(busy.is_busy());
        let dropped = CollateError::Refused {
            method: "submitWorkPackage".into(),
            code: 0,
            message: "work package 0x… dropped: refine".into(),
        };
        assert!(!dropped.is_busy());
        assert!(!dropped.is_transient());
        assert!(busy.is_transient());
        let not_in_pool = CollateError::Refused {
            method: "submitWorkPackage".into(),
            code: 0,
            message: "work package 0x… dropped: its authorizer 0x… is not in core 0's pool".into(),
        };
        assert!(not_in_pool.is_transient());
        assert!(!not_in_pool.is_busy());
        assert!(!not_in_pool.is_disconnect());
        let stopping = CollateError::Refused {
            method: "submitWorkPackage".into(),
            code: 0,
            message: "work package 0x… dropped: the node is stopping".into(),
        };
        assert!(stopping.is_disconnect());
        assert!(!stopping.is_busy());
        assert!(!dropped.is_disconnect());
    }
}
