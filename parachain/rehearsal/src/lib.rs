//! A migration rehearsal: does a parachain runtime, unchanged, validate on
//! JAM?
//!
//! A [`Rehearsal`] is a JAM dev chain (tiny parameters by default) whose
//! genesis holds the CoreChains service with the para registered at the
//! runtime's genesis head and its PVF artifact as code, and a mini
//! collator ([`parajam_collator`]) for the runtime. For each block:
//!
//! 1. [`Rehearsal::produce`]: the collator builds the block on the para's
//!    current state against the relay-chain state the service emulates for
//!    the para at the chain's current timeslot
//!    ([`parajam_corechains_service::relay_state`]): the same entries, so
//!    the same root accumulate will recompute;
//! 2. [`Rehearsal::check`]: the relay chain's PVF executor validates it
//!    with the para's wasm code (the legacy path), a guarantor computes the
//!    work report (`Ξ`: the CoreChains authorizer and refine on the PVM,
//!    the PVF artifact as refine's inner machine), the two results are
//!    compared octet for octet, and the report is guaranteed, assured and
//!    accumulated by the real STF; the block counts as enacted when the
//!    service's stored head is its head.
//!
//! A runtime upgrade is the parachain's own: [`Rehearsal::add_build`]
//! registers the PVM build of a wasm runtime with the service (a registrar
//! package) and provides its artifact; the para's `set_code` path
//! ([`parajam_collator::Collator::upgrade_extrinsics`]) then asks for the
//! wasm as `new_validation_code`, the service schedules its build, signals
//! the go-ahead after the delay, and the para's next block applies it.
//! The collator and the legacy path follow the para's code.

pub mod drive;
pub mod limits;
pub mod network;
mod relay_parent;
mod report;
pub mod xcm_calls;

use std::time::{Duration, Instant};

use parajam_authoring::{Contents, DevChain, DevKeys, Genesis};
use parajam_bandersnatch::RingContext;
use parajam_collator::{inbound, BlockRequest, BuiltBlock, Collator, CollatorOptions, ParaState};
use parajam_corechains_build::genesis::{service_account, GenesisPara};
use parajam_corechains_service::relay_state::RelayState;
use parajam_corechains_types::state::{
    HrmpChannelId, InboundDownwardMessage, InboundHrmpMessage, StorageKey,
};
use parajam_corechains_types::{
    AuthScope, DownwardMessage, HeadData, ParaId, ParachainCandidate, PvmBuild, RefineOutput,
    ValidationCodeHash, ValidationParams, WorkItemPayload,
};
use parajam_guarantor::Guaranteed;
use parajam_primitives::types::{
    CoreIndex, OpaqueHash, Preimage, ServiceId, WorkExecResult, WorkPackage,
};
use parajam_primitives::ProtocolParameters;
use parajam_pvm::Backend;
use parity_scale_codec::{Decode, Encode};
use sp_core::Pair as _;

pub use limits::CodeSizes;

pub use drive::SERVICE;
pub use relay_parent::RelayParent;
pub use report::{
    diff_results, readable_error, BlockReport, LegacyVerdict, PvmVerdict,
    Sized as SizeAgainstLimit, Summary,
};

/// The core the para's packages go to.
const PARA_CORE: CoreIndex = 0;
/// The core the registrar's packages go to.
const REGISTRAR_CORE: CoreIndex = 1;
/// `max_pov_size` of the persisted validation data (Polkadot's 10 MiB
/// since v1.x is above JAM's `W_B`; the relay chain's classic 5 MiB).
pub const MAX_POV_SIZE: u32 = 5 * 1024 * 1024;
/// The storage key of `ParachainInfo::ParachainId`.
const PARACHAIN_ID_KEY: [u8; 32] = [
    0x0d, 0x71, 0x5f, 0x26, 0x46, 0xc8, 0xf8, 0x57, 0x67, 0xb5, 0xd2, 0x76, 0x4b, 0xb2, 0x78, 0x26,
    0x04, 0xa7, 0x4d, 0x81, 0x25, 0x1e, 0x39, 0x8f, 0xd8, 0xa0, 0xa4, 0xd5, 0x50, 0x23, 0xbb, 0x3f,
];

/// What failed on the JAM dev chain a rehearsal drives.
#[derive(Debug, thiserror::Error)]
pub enum ChainFailure {
    /// The ring-proof SRS could not make the validators' ring context.
    #[error("the ring-proof SRS: {0}")]
    Srs(#[from] parajam_bandersnatch::SrsError),
    /// The JAM genesis state could not be built.
    #[error("genesis: {0}")]
    Genesis(#[from] parajam_authoring::GenesisError),
    /// Authoring or importing a block failed.
    #[error("authoring: {0}")]
    Authoring(#[from] parajam_authoring::AuthoringError),
    /// The guarantor could not make a work report.
    #[error("guarantor: {0}")]
    Guarantor(#[from] parajam_guarantor::PackageError),
    /// A channel declared for genesis is refused by the XCM adapter.
    #[error("genesis channel {channel}: {reason}")]
    GenesisChannel {
        /// The channel, as `sender -> recipient`.
        channel: String,
        /// The adapter's reason.
        reason: String,
    },
    /// More paras on a core than its authorizer pool holds (`O`).
    #[error("{paras} paras on core {core}: more than its authorizer pool holds")]
    PoolOverflow {
        /// Paras assigned to the core.
        paras: usize,
        /// The core.
        core: usize,
    },
    /// More cores than a core index holds.
    #[error("more cores than a core index holds")]
    TooManyCores,
    /// The chain has no block to anchor a package on.
    #[error("the chain has no recent block")]
    NoRecentBlock,
    /// An extrinsic longer than a work item can name (2^32 octets).
    #[error("an extrinsic of 4 GiB or more")]
    ExtrinsicTooLarge,
    /// An emulated relay header does not decode as a cumulus header.
    #[error("an emulated relay header: {0}")]
    RelayHeader(parity_scale_codec::Error),
}

/// Why a rehearsal could not go on (a block that is merely invalid is a
/// [`BlockReport`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum RehearsalError {
    /// The collator failed (the runtime, its genesis, building a block).
    #[error("collator: {0}")]
    Collator(#[from] parajam_collator::CollatorError),
    /// The relay chain's PVF executor cannot prepare the wasm code.
    #[error("the relay chain's PVF executor cannot prepare the wasm code: {0}")]
    Prepare(String),
    /// The PVF artifact is not one.
    #[error("bad PVF artifact: {0}")]
    Artifact(String),
    /// The JAM dev chain failed (genesis, authoring, the ring).
    #[error("JAM dev chain: {0}")]
    Chain(#[from] ChainFailure),
    /// The para is not registered with the service any more.
    #[error("para {0} is not registered with the CoreChains service")]
    NotRegistered(u32),
    /// The para runs code the rehearsal was not given.
    #[error("the para's current code 0x{0} is none the rehearsal knows")]
    UnknownCode(String),
    /// A registrar package was not enacted.
    #[error("the registrar's package was not enacted: {0}")]
    Registrar(String),
    /// The relay chain's governance asked the para to authorize an
    /// upgrade, and after block `0` the para has not authorized it.
    #[error("block #{0} processed the relay governance's downward Transact, and the para has not authorized the upgrade (does its XCM configuration let the parent run unpaid, as superuser?)")]
    NotAuthorized(u32),
    /// The para builds `offset` relay blocks behind the tip, and the chain
    /// is not that far yet.
    #[error("the para builds {offset} relay blocks behind the newest, and the chain is at timeslot {now}")]
    RelayChainTooShort {
        /// The para's `RelayParentOffset`.
        offset: u32,
        /// The chain's timeslot.
        now: u32,
    },
}

/// A runtime as the two paths run it: its wasm code (what the para and the
/// relay chain know, plain or zstd-compressed) and its PVF artifact (what
/// the CoreChains service runs).
#[derive(Clone)]
pub struct Code {
    /// The wasm code.
    pub wasm: Vec<u8>,
    /// The PVF artifact (`parajam_corechains_types::pvf`).
    pub pvf: Vec<u8>,
}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Code")
            .field("wasm_len", &self.wasm.len())
            .field("wasm_hash", &report::hex(&self.wasm_hash()))
            .field("pvf_len", &self.pvf.len())
            .field("pvf_hash", &report::hex(&self.pvf_hash()))
            .finish()
    }
}

impl Code {
    /// The code of wasm `wasm` and PVF artifact `pvf`.
    pub fn new(wasm: Vec<u8>, pvf: Vec<u8>) -> Self {
        Self { wasm, pvf }
    }

    /// The wasm code zstd-compressed as substrate-wasm-builder's
    /// `.compact.compressed.wasm` (what a para uploads in `set_code`);
    /// unchanged if already compressed.
    pub fn compressed(mut self) -> Result<Self, RehearsalError> {
        if self.wasm.starts_with(b"\0asm") {
            self.wasm = sp_maybe_compressed_blob::compress_strongly(
                &self.wasm,
                sp_maybe_compressed_blob::CODE_BLOB_BOMB_LIMIT,
            )
            .ok_or_else(|| RehearsalError::Prepare("the wasm does not compress".into()))?;
        }
        Ok(self)
    }

    /// Blake2b-256 of the wasm code: the para's validation code hash on
    /// the relay chain.
    pub fn wasm_hash(&self) -> [u8; 32] {
        parajam_crypto::blake2b_256(&self.wasm)
    }

    /// Blake2b-256 of the PVF artifact: the para's code hash on JAM.
    pub fn pvf_hash(&self) -> [u8; 32] {
        parajam_crypto::blake2b_256(&self.pvf)
    }
}

/// How to set up a rehearsal.
#[derive(Debug, Clone)]
pub struct Config {
    /// The runtime's genesis preset.
    pub preset: String,
    /// The para id; by default the one in the genesis state
    /// (`ParachainInfo::ParachainId`), else 2000.
    pub para_id: Option<u32>,
    /// The JAM protocol parameters.
    pub params: ProtocolParameters,
    /// The slots a code upgrade waits for its go-ahead.
    pub upgrade_delay: u32,
    /// The PVM backend refine runs on (default: the preferred one).
    pub backend: Option<Backend>,
    /// The refine gas limit of a para's work item (default: `G_R`).
    pub refine_gas: Option<u64>,
    /// A JSON patch over the preset's genesis config, as a chain spec's
    /// own patch (`null` removes a field: `{"sudo": {"key": null}}` makes
    /// a chain without a sudo key, as Polkadot's system chains are).
    pub genesis_patch: Option<serde_json::Value>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            preset: parajam_collator::genesis::DEV_PRESET.to_owned(),
            para_id: None,
            params: ProtocolParameters::TINY,
            upgrade_delay: 4,
            backend: None,
            refine_gas: None,
            genesis_patch: None,
        }
    }
}

/// A block to check: what a collator submits, and the state after it when
/// the rehearsal built it.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The para block's number.
    pub number: u32,
    /// The parent head.
    pub parent_head: Vec<u8>,
    /// The PoV (block data).
    pub pov: Vec<u8>,
    /// The relay parent's number (on JAM, a timeslot).
    pub relay_parent_number: u32,
    /// The relay parent's storage root.
    pub relay_parent_storage_root: [u8; 32],
    /// The PVF the collator claims the block is valid under.
    pub code_hash: [u8; 32],
    /// The block as built, with the para's state after it.
    pub built: Option<Box<BuiltBlock>>,
    /// The size of the relay-state proof in its parachain inherent
    /// (SCALE-encoded), when the rehearsal built it.
    pub relay_proof_size: Option<u64>,
}

impl Candidate {
    /// The encoded `ValidationParams` a validator passes to `validate_block`.
    pub fn validation_params(&self) -> Vec<u8> {
        ValidationParams {
            parent_head: HeadData(self.parent_head.clone()),
            block_data: parajam_corechains_types::BlockData(self.pov.clone()),
            relay_parent_number: self.relay_parent_number,
            relay_parent_storage_root: self.relay_parent_storage_root,
        }
        .encode()
    }
}

/// Who authorizes an [`Upgrade`] (frame-system's `authorize_upgrade`,
/// a root call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpgradeOrigin {
    /// The runtime's sudo key, held by this dev account:
    /// `Sudo::sudo(System::authorize_upgrade(..))`, signed.
    Sudo(String),
    /// The relay chain's governance, as on Polkadot's system chains (no
    /// sudo): the registrar, standing for it, queues a downward XCM on the
    /// para's queue in the CoreChains service ([`Rehearsal::send_downward`]),
    /// `[UnpaidExecution, Transact(Superuser, System::authorize_upgrade(..)),
    /// SetTopic]` ([`xcm_calls::governance_transact`]); the para's XCM
    /// configuration must let its parent run unpaid and dispatch as root
    /// (`AllowExplicitUnpaidExecutionFrom`, `ParentAsSuperuser`).
    Governance,
}

/// A runtime upgrade in a [`Scenario`]: `origin` authorizes `code` in block
/// `at` (frame-system's `authorize_upgrade`), and block `at + 1` applies
/// it (the unsigned `apply_authorized_upgrade`, which anyone may submit),
/// which hands it to parachain-system.
#[derive(Debug, Clone)]
pub struct Upgrade {
    /// The new runtime.
    pub code: Code,
    /// The block that authorizes it.
    pub at: u32,
    /// Whether the runtime checks the new code's version (`spec_version`
    /// must increase); off for an upgrade to the same runtime.
    pub check_version: bool,
    /// Who authorizes it.
    pub origin: UpgradeOrigin,
}

/// What blocks a [`Rehearsal::run`] makes.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// How many blocks.
    pub blocks: u32,
    /// Signed transfers per block, between the dev accounts in turn
    /// (Alice → Bob, Bob → Charlie, ...).
    pub transfers: u32,
    /// The amount of each transfer.
    pub amount: u128,
    /// A runtime upgrade, if any.
    pub upgrade: Option<Upgrade>,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            blocks: 20,
            transfers: 2,
            amount: 1_000_000_000_000,
            upgrade: None,
        }
    }
}

/// A code the rehearsal knows: both forms, prepared for the legacy path.
pub(crate) struct Known {
    code: Code,
    legacy: parajam_pvf::legacy::Prepared,
    /// How long the relay chain's prepare of the wasm took.
    prepare_time: Duration,
    /// Whether a block ran on it already (the first one is cold on both
    /// paths: prepared before it on the relay chain's, compiled in it by
    /// `Ξ` on JAM's).
    ran: std::sync::atomic::AtomicBool,
}

/// A JAM dev chain with the CoreChains service and one para, and a
/// collator for it.
pub struct Rehearsal {
    config: Config,
    chain: DevChain,
    collator: Collator,
    para: ParaId,
    parent: ParaState,
    codes: Vec<Known>,
}

impl std::fmt::Debug for Rehearsal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rehearsal")
            .field("config", &self.config)
            .field("para", &self.para)
            .field("parent", &self.parent.number())
            .field("slot", &self.chain.state().timeslot)
            .finish_non_exhaustive()
    }
}

/// The dev chain of `genesis` (its services running on `backend` if
/// given), with its first block authored.
pub(crate) fn start_chain(
    genesis: &Genesis,
    params: ProtocolParameters,
    keys: DevKeys,
    ring: RingContext,
    backend: Option<Backend>,
) -> Result<DevChain, ChainFailure> {
    parajam_corechains_build::trust_programs();
    let state = genesis.build(&params, &ring)?;
    let mut chain = DevChain::new(params, keys, state, ring)?;
    if let Some(backend) = backend {
        chain.set_backend(backend);
    }
    chain.author_next(Contents::default())?;
    Ok(chain)
}

impl Rehearsal {
    /// Sets up the chain and the collator for a para running `code`.
    pub fn new(code: Code, config: Config) -> Result<Self, RehearsalError> {
        let options = CollatorOptions {
            preset: config.preset.clone(),
            genesis_patch: config.genesis_patch.clone(),
            ..CollatorOptions::default()
        };
        let collator = Collator::new(&code.wasm, &options)?;
        let genesis = collator.genesis().clone();
        let para = ParaId(match config.para_id {
            Some(id) => id,
            None => genesis
                .storage(&PARACHAIN_ID_KEY)?
                .and_then(|v| u32::decode(&mut &v[..]).ok())
                .unwrap_or(2000),
        });
        parajam_corechains_types::pvf::PvfArtifact::from_bytes(&code.pvf)
            .map_err(|e| RehearsalError::Artifact(e.to_string()))?;
        let known = Known::new(code)?;

        let params = config.params;
        let ring =
            RingContext::zcash(usize::from(params.validators_count)).map_err(ChainFailure::from)?;
        let keys = DevKeys::new(params.validators_count);
        let head = genesis.head();
        let para_genesis = GenesisPara {
            id: para,
            head: &head,
            pvf: &known.code.pvf,
        };
        let mut jam_genesis = Genesis::new(&params, keys.validators()).with_service(
            SERVICE,
            service_account(1 << 50, config.upgrade_delay, &[para_genesis]),
        );
        jam_genesis.authorizers = vec![
            vec![drive::authorizer(
                AuthScope::Para(para),
                config.upgrade_delay,
            )],
            vec![drive::authorizer(
                AuthScope::Registrar,
                config.upgrade_delay,
            )],
        ];
        let chain = start_chain(&jam_genesis, params, keys, ring, config.backend)?;
        Ok(Self {
            config,
            chain,
            collator,
            para,
            parent: genesis,
            codes: vec![known],
        })
    }

    /// The para.
    pub fn para(&self) -> ParaId {
        self.para
    }

    /// The collator.
    pub fn collator(&self) -> &Collator {
        &self.collator
    }

    /// The para's state the next block builds on.
    pub fn parent(&self) -> &ParaState {
        &self.parent
    }

    /// The JAM dev chain.
    pub fn chain(&self) -> &DevChain {
        &self.chain
    }

    /// The value under `key` in the service's storage.
    pub fn service_storage(&self, key: StorageKey) -> Option<Vec<u8>> {
        service_storage(&self.chain, key)
    }

    /// The para's head in the service's storage.
    pub fn stored_head(&self) -> Option<Vec<u8>> {
        stored_head(&self.chain, SERVICE, self.para)
    }

    /// The para's current code (a PVF hash) in the service's storage.
    pub fn current_code(&self) -> Option<[u8; 32]> {
        let value = self.service_storage(StorageKey::Code(self.para))?;
        ValidationCodeHash::decode(&mut &value[..])
            .ok()
            .map(|h| h.0)
    }

    /// The relay-chain state the service shows the para now.
    pub fn relay_state(&self) -> Result<RelayState, RehearsalError> {
        relay_state(&self.chain, SERVICE, self.para)
    }

    /// Registers `code`'s PVM build with the service (a registrar package
    /// attesting that its PVF artifact is the build of its wasm) and
    /// provides the artifact, so that an upgrade to the wasm runs it.
    pub fn add_build(&mut self, code: Code) -> Result<(), RehearsalError> {
        parajam_corechains_types::pvf::PvfArtifact::from_bytes(&code.pvf)
            .map_err(|e| RehearsalError::Artifact(e.to_string()))?;
        let build = PvmBuild {
            source: ValidationCodeHash(code.wasm_hash()),
            pvf: ValidationCodeHash(code.pvf_hash()),
            pvf_len: u32::try_from(code.pvf.len())
                .map_err(|_| RehearsalError::Artifact("larger than 4 GiB".into()))?,
        };
        let package = self.package(
            AuthScope::Registrar,
            &WorkItemPayload::RegisterBuild(build),
            &[],
        )?;
        let guaranteed = self.guarantee(&package, &[], REGISTRAR_CORE)?;
        self.enact(guaranteed)?;
        let key = StorageKey::Build(build.source);
        if self.service_storage(key).is_none() {
            return Err(RehearsalError::Registrar(self.rejections().join("; ")));
        }
        // Provided unless the service has it already (an upgrade to a
        // runtime whose build runs now: the same PVF).
        let requested = self
            .chain
            .state()
            .accounts
            .get(&SERVICE)
            .and_then(|a| a.request(&OpaqueHash::from(build.pvf.0), build.pvf_len))
            .is_some_and(|slots| slots.is_empty());
        if requested {
            self.chain
                .author_next(Contents {
                    preimages: vec![Preimage {
                        requester: SERVICE,
                        blob: code.pvf.clone().into(),
                    }],
                    ..Contents::default()
                })
                .map_err(ChainFailure::from)?;
        }
        self.codes.push(Known::new(code)?);
        Ok(())
    }

    /// Builds the para's next block with `extrinsics` on its current state,
    /// against the relay-chain state the service shows it now at its relay
    /// parent ([`Self::relay_parent`]).
    pub fn produce(&self, extrinsics: Vec<Vec<u8>>) -> Result<Candidate, RehearsalError> {
        let relay = self.relay_parent()?;
        let (downward, horizontal) = inbound(&self.chain, self.para);
        let request = BlockRequest {
            max_pov_size: MAX_POV_SIZE,
            ..BlockRequest::new(relay.state.slot, relay.state.entries())
        }
        .with_extrinsics(extrinsics)
        .with_relay_parent_descendants(relay.descendants)
        .with_inbound(downward, horizontal);
        let relay_proof_size = relay_proof_size(&request);
        let block = self.collator.build_block(&self.parent, &request)?;
        let code_hash = self
            .current_code()
            .ok_or(RehearsalError::NotRegistered(self.para.0))?;
        Ok(Candidate {
            number: block.state.number(),
            parent_head: block.parent_head.clone(),
            pov: block.pov.clone(),
            relay_parent_number: block.relay_parent_number,
            relay_parent_storage_root: block.relay_parent_storage_root.0,
            code_hash,
            built: Some(Box::new(block)),
            relay_proof_size,
        })
    }

    /// Makes, checks and enacts the blocks of `scenario` (registering the
    /// upgrade's PVM build first), calling `on_block` with each block and
    /// its report.
    /// Stops at the first block that is not enacted (the next one would
    /// build on a head the service does not have).
    pub fn run(
        &mut self,
        scenario: &Scenario,
        mut on_block: impl FnMut(&Candidate, &BlockReport),
    ) -> Result<Vec<BlockReport>, RehearsalError> {
        if let Some(upgrade) = &scenario.upgrade {
            self.add_build(upgrade.code.clone())?;
        }
        let mut reports = Vec::new();
        let mut apply = None;
        for _ in 0..scenario.blocks {
            let n = self.parent.number() + 1;
            let mut extrinsics = self.transfers(scenario.transfers, scenario.amount)?;
            let mut governance = false;
            if let Some(upgrade) = scenario.upgrade.as_ref() {
                if n == upgrade.at {
                    match &upgrade.origin {
                        UpgradeOrigin::Sudo(name) => {
                            let sudo = parajam_collator::dev_pair(name)?;
                            let nonce = self
                                .collator
                                .account_nonce(&self.parent, &sudo.public().0)?
                                + Self::sent_by(name, scenario.transfers);
                            let (authorize, apply_upgrade) = self.collator.upgrade_extrinsics(
                                &self.parent,
                                &sudo,
                                nonce,
                                &upgrade.code.wasm,
                                upgrade.check_version,
                            )?;
                            extrinsics.push(authorize);
                            apply = Some(apply_upgrade);
                        }
                        UpgradeOrigin::Governance => {
                            apply =
                                Some(self.governance_authorize(
                                    &upgrade.code.wasm,
                                    upgrade.check_version,
                                )?);
                            governance = true;
                        }
                    }
                } else if let Some(apply_upgrade) = apply.take() {
                    extrinsics.push(apply_upgrade);
                }
            }
            let candidate = self.produce(extrinsics)?;
            let report = self.check(&candidate)?;
            on_block(&candidate, &report);
            let enacted = report.enacted;
            reports.push(report);
            if !enacted {
                break;
            }
            if governance {
                let code = scenario.upgrade.as_ref().map(|u| u.code.wasm_hash());
                if self.authorized_upgrade()?.map(|(hash, _)| hash) != code {
                    return Err(RehearsalError::NotAuthorized(n));
                }
            }
        }
        Ok(reports)
    }

    /// Has the relay chain's governance authorize `code` (`check_version`:
    /// `authorize_upgrade`, else `authorize_upgrade_without_checks`): the
    /// downward `[UnpaidExecution, Transact(Superuser, call)]` queued on
    /// the para's downward queue, for its next block to process; the
    /// unsigned `apply_authorized_upgrade(code)` that anyone may then
    /// submit.
    pub fn governance_authorize(
        &mut self,
        code: &[u8],
        check_version: bool,
    ) -> Result<Vec<u8>, RehearsalError> {
        let loaded = self.collator.runtime_at(&self.parent)?;
        let tx = &loaded.tx;
        let hash = parajam_crypto::blake2b_256(code);
        let call = tx.authorize_upgrade(&hash, check_version)?;
        let apply = tx.bare(&tx.apply_authorized_upgrade(code)?);
        self.send_downward(xcm_calls::governance_transact(call))?;
        Ok(apply)
    }

    /// Queues `message` (an encoded `VersionedXcm`) on the para's
    /// downward queue as the relay chain's governance does: a registrar
    /// package with the message ([`WorkItemPayload::Downward`]),
    /// guaranteed, assured and accumulated; the para's next block gets it
    /// in its parachain inherent.
    pub fn send_downward(&mut self, message: Vec<u8>) -> Result<(), RehearsalError> {
        let payload = WorkItemPayload::Downward(DownwardMessage {
            para_id: self.para,
            message,
        });
        let package = self.package(AuthScope::Registrar, &payload, &[])?;
        let guaranteed = self.guarantee(&package, &[], REGISTRAR_CORE)?;
        self.enact(guaranteed)?;
        if !logged(&self.chain, SERVICE, self.para, "DownwardQueued") {
            return Err(RehearsalError::Registrar(self.rejections().join("; ")));
        }
        Ok(())
    }

    /// The upgrade the para's runtime has authorized now
    /// (frame-system's `AuthorizedUpgrade`: the code hash, and whether the
    /// version is checked), if any.
    pub fn authorized_upgrade(&self) -> Result<Option<([u8; 32], bool)>, RehearsalError> {
        authorized_upgrade(&self.parent)
    }

    /// How many of `count` transfers the dev account `name` sends.
    fn sent_by(name: &str, count: u32) -> u64 {
        let accounts = parajam_collator::DEV_ACCOUNTS;
        (0..count as usize)
            .filter(|i| accounts[i % accounts.len()] == name)
            .count() as u64
    }

    /// `count` signed transfers of `amount` for the next block: dev
    /// account `i mod 6` to `i + 1 mod 6`, with the right nonces.
    pub fn transfers(&self, count: u32, amount: u128) -> Result<Vec<Vec<u8>>, RehearsalError> {
        Ok(self.collator.dev_transfers(&self.parent, count, amount)?)
    }

    /// Validates `candidate` on both paths, compares, and has the chain
    /// enact it. If it is enacted and the rehearsal built it, the para's
    /// next block builds on it.
    pub fn check(&mut self, candidate: &Candidate) -> Result<BlockReport, RehearsalError> {
        let known = self
            .codes
            .iter()
            .find(|k| k.code.pvf_hash() == candidate.code_hash)
            .ok_or_else(|| RehearsalError::UnknownCode(report::hex(&candidate.code_hash)))?;
        let report = check_candidate(
            &mut self.chain,
            &self.config,
            known,
            SERVICE,
            self.para,
            PARA_CORE,
            candidate,
        )?;
        if report.enacted {
            if let Some(built) = &candidate.built {
                self.parent = built.state.clone();
            }
        }
        Ok(report)
    }

    /// What the last accumulation rejected, as the service logged it.
    fn rejections(&self) -> Vec<String> {
        rejections(&self.chain, SERVICE)
    }

    /// A package of one CoreChains item with `payload` and `extrinsics`,
    /// authorized under `scope`, anchored on the chain's head.
    fn package(
        &self,
        scope: AuthScope,
        payload: &WorkItemPayload,
        extrinsics: &[Vec<u8>],
    ) -> Result<WorkPackage, RehearsalError> {
        package(
            &self.chain,
            &self.config,
            SERVICE,
            scope,
            payload,
            extrinsics,
        )
    }

    /// `Ξ(p, c)` by a guarantor on the chain's current accounts.
    fn guarantee(
        &self,
        package: &WorkPackage,
        extrinsics: &[Vec<u8>],
        core: CoreIndex,
    ) -> Result<Guaranteed, RehearsalError> {
        guarantee(&self.chain, &self.config, package, extrinsics, core)
    }

    /// Guarantees the report in one block; it is assured, and accumulated,
    /// in the next.
    fn enact(&mut self, guaranteed: Guaranteed) -> Result<(), RehearsalError> {
        drive::enact(&mut self.chain, guaranteed)
    }
}

/// The size of the relay-state proof a block built for `request` carries
/// (the collator proves the same entries).
pub(crate) fn relay_proof_size(request: &BlockRequest) -> Option<u64> {
    let proof = parajam_collator::relay_state_proof(&request.relay_state).ok()?;
    Some(proof.proof.encoded_size() as u64)
}

/// The storage key of frame-system's `AuthorizedUpgrade`.
fn authorized_upgrade_key() -> Vec<u8> {
    use parajam_corechains_service::host_functions::Hasher;
    [
        Hasher::Twox128.hash(b"System"),
        Hasher::Twox128.hash(b"AuthorizedUpgrade"),
    ]
    .concat()
}

/// The upgrade a para's runtime has authorized in `state`
/// (frame-system's `AuthorizedUpgrade`, a `CodeUpgradeAuthorization`: the
/// code hash and whether the version is checked), if any.
pub fn authorized_upgrade(state: &ParaState) -> Result<Option<([u8; 32], bool)>, RehearsalError> {
    Ok(state
        .storage(&authorized_upgrade_key())?
        .and_then(|v| <([u8; 32], bool)>::decode(&mut &v[..]).ok()))
}

/// The value under `key` in the service's storage on `chain`.
pub(crate) fn service_storage(chain: &DevChain, key: StorageKey) -> Option<Vec<u8>> {
    storage_of(chain, SERVICE, key)
}

/// The value under `key` in CoreChains instance `service`'s storage on
/// `chain`.
pub(crate) fn storage_of(chain: &DevChain, service: ServiceId, key: StorageKey) -> Option<Vec<u8>> {
    chain
        .state()
        .accounts
        .get(&service)?
        .storage(&key.to_key())
        .map(<[u8]>::to_vec)
}

/// `para`'s head in instance `service`'s storage.
pub(crate) fn stored_head(chain: &DevChain, service: ServiceId, para: ParaId) -> Option<Vec<u8>> {
    let value = storage_of(chain, service, StorageKey::Head(para))?;
    HeadData::decode(&mut &value[..]).ok().map(|h| h.0)
}

/// The inbound messages the service holds for `para` now, as a relay
/// chain gives them to a collator (`dmq_contents`,
/// `inbound_hrmp_channels_contents`): its downward queue, and the contents
/// of each channel in its ingress index (a closing channel stays there
/// until drained), by sender. The relay state the collator proves at the
/// same timeslot has the MQC heads these messages end at.
pub fn inbound(
    chain: &DevChain,
    para: ParaId,
) -> (
    Vec<inbound::InboundDownwardMessage>,
    std::collections::BTreeMap<inbound::ParaId, Vec<inbound::InboundHrmpMessage>>,
) {
    inbound_of(chain, SERVICE, para)
}

/// [`inbound()`] from CoreChains instance `service`, which hosts `para`.
pub fn inbound_of(
    chain: &DevChain,
    service: ServiceId,
    para: ParaId,
) -> (
    Vec<inbound::InboundDownwardMessage>,
    std::collections::BTreeMap<inbound::ParaId, Vec<inbound::InboundHrmpMessage>>,
) {
    fn decode<T: Decode>(value: Option<Vec<u8>>) -> Option<T> {
        T::decode(&mut &value?[..]).ok()
    }
    let service_storage = |key| storage_of(chain, service, key);
    let downward: Vec<InboundDownwardMessage> =
        decode(service_storage(StorageKey::DownwardQueue(para))).unwrap_or_default();
    let senders: Vec<ParaId> =
        decode(service_storage(StorageKey::HrmpIngress(para))).unwrap_or_default();
    let horizontal = senders
        .into_iter()
        .map(|sender| {
            let id = HrmpChannelId {
                sender,
                recipient: para,
            };
            let contents: Vec<InboundHrmpMessage> =
                decode(service_storage(StorageKey::HrmpChannelContents(id))).unwrap_or_default();
            (
                inbound::ParaId::from(sender.0),
                contents
                    .into_iter()
                    .map(|m| inbound::InboundHrmpMessage {
                        sent_at: m.sent_at,
                        data: m.data,
                    })
                    .collect(),
            )
        })
        .collect();
    (
        downward
            .into_iter()
            .map(|m| inbound::InboundDownwardMessage {
                sent_at: m.sent_at,
                msg: m.msg,
            })
            .collect(),
        horizontal,
    )
}

/// The relay-chain state instance `service` shows `para` now.
pub(crate) fn relay_state(
    chain: &DevChain,
    service: ServiceId,
    para: ParaId,
) -> Result<RelayState, RehearsalError> {
    RelayState::read(
        |key| storage_of(chain, service, key),
        para,
        chain.state().timeslot,
    )
    .ok_or(RehearsalError::NotRegistered(para.0))
}

/// Validates `candidate` of `para` (running `known`, hosted by CoreChains
/// instance `service`) on both paths, compares, and has `chain` enact it
/// from a package on `core`.
pub(crate) fn check_candidate(
    chain: &mut DevChain,
    config: &Config,
    known: &Known,
    service: ServiceId,
    para: ParaId,
    core: CoreIndex,
    candidate: &Candidate,
) -> Result<BlockReport, RehearsalError> {
    let params = config.params;
    let validation_params = candidate.validation_params();

    // The relay chain's path.
    let started = Instant::now();
    let legacy = match known.legacy.validate_block(&validation_params) {
        Ok(v) => LegacyVerdict::Valid(v.result),
        Err(e) => LegacyVerdict::Invalid(e.to_string()),
    };
    let legacy_time = started.elapsed();
    let cold = !known.ran.swap(true, std::sync::atomic::Ordering::Relaxed);

    // JAM: Ξ on the para's package.
    let payload = WorkItemPayload::Candidate(ParachainCandidate {
        para_id: para,
        parent_head: HeadData(candidate.parent_head.clone()),
        validation_code_hash: ValidationCodeHash(candidate.code_hash),
        anchor: chain
            .refine_context()
            .ok_or(ChainFailure::NoRecentBlock)?
            .anchor
            .0,
        relay_parent_number: candidate.relay_parent_number,
        relay_parent_storage_root: candidate.relay_parent_storage_root,
        block_data_hash: parajam_crypto::blake2b_256(&candidate.pov),
    });
    let extrinsics = [candidate.pov.clone()];
    let package = package(
        chain,
        config,
        service,
        AuthScope::Para(para),
        &payload,
        &extrinsics,
    )?;
    let gas_limit = package.items[0].refine_gas_limit;
    let started = Instant::now();
    let guaranteed = guarantee(chain, config, &package, &extrinsics, core);
    let pvm_time = started.elapsed();

    let (pvm, gas, bundle, output) = pvm_verdict(&params, guaranteed.as_ref());

    let (identical, diff) = compare(
        chain,
        config,
        known,
        &legacy,
        &pvm,
        &validation_params,
        gas_limit,
    );
    let (head, new_code) = match &pvm {
        PvmVerdict::Valid(o) => (
            Some(SizeAgainstLimit {
                size: o.head_data.0.len() as u64,
                limit: u64::from(
                    relay_state(chain, service, para)?
                        .host_config
                        .max_head_data_size,
                ),
            }),
            o.new_validation_code,
        ),
        _ => (None, None),
    };

    // Enactment, whatever the verdict: accumulate must refuse what is
    // invalid.
    if let Ok(g) = guaranteed {
        drive::enact(chain, g)?;
    }
    // Enacted: accumulate says so, and the stored head is the block's.
    let enacted = logged(chain, service, para, "HeadEnacted")
        && match &pvm {
            PvmVerdict::Valid(o) => {
                stored_head(chain, service, para).as_deref() == Some(&o.head_data.0[..])
            }
            _ => true,
        };
    let rejection = (!enacted).then(|| rejections(chain, service).join("; "));
    let upgrade_enacted = enacted && logged(chain, service, para, "UpgradeEnacted");
    Ok(BlockReport {
        number: candidate.number,
        extrinsics: candidate.built.as_ref().map(|b| b.extrinsics.len()),
        relay_parent: candidate.relay_parent_number,
        legacy,
        legacy_time,
        legacy_prepare: cold.then_some(known.prepare_time),
        pvm,
        pvm_time,
        gas: (gas, gas_limit),
        identical,
        diff,
        pov: SizeAgainstLimit {
            size: candidate.pov.len() as u64,
            limit: u64::from(MAX_POV_SIZE),
        },
        relay_proof: candidate.relay_proof_size,
        head,
        bundle,
        output,
        new_code,
        enacted,
        upgrade_enacted,
        rejection: rejection.filter(|r| !r.is_empty()),
    })
}

/// Whether the engines agree, and where they differ.
fn compare(
    chain: &DevChain,
    config: &Config,
    known: &Known,
    legacy: &LegacyVerdict,
    pvm: &PvmVerdict,
    params: &[u8],
    gas: u64,
) -> (bool, Vec<String>) {
    match (legacy, pvm) {
        (LegacyVerdict::Valid(result), PvmVerdict::Valid(output)) => {
            if parajam_crypto::blake2b_256(result) == output.result_hash {
                (true, Vec::new())
            } else {
                (false, diff(chain, config, known, result, params, gas))
            }
        }
        (LegacyVerdict::Invalid(_), PvmVerdict::Invalid(_) | PvmVerdict::Failed(_)) => {
            (true, Vec::new())
        }
        (LegacyVerdict::Valid(_), _) => (false, vec!["valid on wasm, not on the PVM".into()]),
        (LegacyVerdict::Invalid(_), PvmVerdict::Valid(_)) => {
            (false, vec!["valid on the PVM, not on wasm".into()])
        }
    }
}

/// Where the PVM's result differs from `wasm`'s: the PVF run natively
/// with the service's executor, for its octets.
fn diff(
    chain: &DevChain,
    config: &Config,
    known: &Known,
    wasm: &[u8],
    params: &[u8],
    gas: u64,
) -> Vec<String> {
    let pvm = chain.pvm();
    let backend = config.backend.unwrap_or_else(|| pvm.preferred_backend());
    match parajam_pvf::pvm::validate_block(pvm, backend, &known.code.pvf, params, gas) {
        Ok((validated, _)) => diff_results(wasm, &validated.result),
        Err(e) => vec![format!("the PVF run natively failed: {e}")],
    }
}

/// Whether instance `service`'s last accumulation logged an event `event`
/// for `para`.
pub(crate) fn logged(chain: &DevChain, service: ServiceId, para: ParaId, event: &str) -> bool {
    let para = format!("para: ParaId({})", para.0);
    service_logs(chain, service)
        .iter()
        .any(|l| l.starts_with(event) && l.contains(&para))
}

/// CoreChains instance `service`'s log lines of the last accumulation.
pub(crate) fn service_logs(chain: &DevChain, service: ServiceId) -> Vec<String> {
    chain
        .last_accumulation()
        .logs
        .iter()
        .filter(|(s, _)| *s == service)
        .map(|(_, entry)| String::from_utf8_lossy(&entry.message).into_owned())
        .collect()
}

/// What the last accumulation rejected, as instance `service` logged it.
pub(crate) fn rejections(chain: &DevChain, service: ServiceId) -> Vec<String> {
    service_logs(chain, service)
        .into_iter()
        .filter(|l| l.starts_with("Rejected"))
        .collect()
}

/// A package of one CoreChains item with `payload` and `extrinsics`,
/// for CoreChains instance `service`, authorized under `scope`, anchored
/// on the chain's head.
pub(crate) fn package(
    chain: &DevChain,
    config: &Config,
    service: ServiceId,
    scope: AuthScope,
    payload: &WorkItemPayload,
    extrinsics: &[Vec<u8>],
) -> Result<WorkPackage, RehearsalError> {
    let context = chain.refine_context().ok_or(ChainFailure::NoRecentBlock)?;
    let mut gas = drive::ItemGas::most(chain);
    if let Some(refine) = config.refine_gas {
        gas.refine = refine;
    }
    drive::package_of(service, context, scope, payload, extrinsics, gas)
}

/// `Ξ(p, c)` by a guarantor on the chain's current accounts.
pub(crate) fn guarantee(
    chain: &DevChain,
    config: &Config,
    package: &WorkPackage,
    extrinsics: &[Vec<u8>],
    core: CoreIndex,
) -> Result<Guaranteed, RehearsalError> {
    let backend = config
        .backend
        .unwrap_or_else(|| chain.pvm().preferred_backend());
    drive::guarantee(chain, backend, package, extrinsics, core)
}

/// The service's verdict in `Ξ`'s outcome, the gas refine used, and the
/// bundle and output sizes against their limits.
fn pvm_verdict(
    params: &ProtocolParameters,
    guaranteed: Result<&Guaranteed, &RehearsalError>,
) -> (
    PvmVerdict,
    u64,
    Option<SizeAgainstLimit>,
    Option<SizeAgainstLimit>,
) {
    let g = match guaranteed {
        Err(e) => return (PvmVerdict::Failed(e.to_string()), 0, None, None),
        Ok(g) => g,
    };
    let Some(result) = g.report.results.first() else {
        return (
            PvmVerdict::Failed("a report without results".into()),
            0,
            None,
            None,
        );
    };
    let bundle = Some(SizeAgainstLimit {
        size: g.bundle.len() as u64,
        limit: u64::from(params.max_bundle_size),
    });
    let gas = result.refine_load.gas_used;
    let WorkExecResult::Ok(octets) = &result.result else {
        let error = &result.result;
        return (
            PvmVerdict::Failed(format!("refine failed: {error:?}")),
            gas,
            bundle,
            None,
        );
    };
    let output = Some(SizeAgainstLimit {
        size: octets.0.len() as u64,
        limit: u64::from(params.max_report_output_size),
    });
    let verdict = match RefineOutput::decode(&mut &octets.0[..]) {
        Ok(RefineOutput::Valid(o)) => PvmVerdict::Valid(Box::new(o)),
        Ok(RefineOutput::Invalid { reason, .. }) => PvmVerdict::Invalid(format!("{reason:?}")),
        Ok(other) => PvmVerdict::Failed(format!("unexpected output {other:?}")),
        Err(e) => PvmVerdict::Failed(format!("output does not decode: {e}")),
    };
    (verdict, gas, bundle, output)
}

impl Known {
    fn new(code: Code) -> Result<Self, RehearsalError> {
        let started = Instant::now();
        let legacy = parajam_pvf::legacy::prepare(&code.wasm)
            .map_err(|e| RehearsalError::Prepare(e.to_string()))?;
        Ok(Self {
            code,
            legacy,
            prepare_time: started.elapsed(),
            ran: std::sync::atomic::AtomicBool::new(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executor_errors_lose_crate_hashes_and_generics() {
        let error = "execute: Execution aborted due to trap: wasm trap: wasm `unreachable` instruction executed\n    0: 0x501edd - runtime.wasm!__rustc[b7974e8690430dd9]::rust_begin_unwind\n    2: 0x1a1f5f - runtime.wasm!cumulus_pallet_parachain_system[a4227c3016f35165]::validate_block::implementation::validate_block::<sp_runtime[7c7e]::Block<Header<u32>>, Executor<R>>";
        assert_eq!(
            readable_error(error),
            vec![
                "execute: Execution aborted due to trap: wasm trap: wasm `unreachable` instruction executed",
                "in __rustc::rust_begin_unwind",
                "in cumulus_pallet_parachain_system::validate_block::implementation::validate_block::<…>",
            ]
        );
    }

    #[test]
    fn the_parachain_id_key_is_twox128_of_its_pallet_and_item() {
        use parajam_corechains_service::host_functions::Hasher;
        let key = [
            Hasher::Twox128.hash(b"ParachainInfo"),
            Hasher::Twox128.hash(b"ParachainId"),
        ]
        .concat();
        assert_eq!(key, PARACHAIN_ID_KEY);
    }
}
