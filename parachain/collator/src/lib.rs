//! A mini collator: makes real parachain blocks for any aura-based cumulus
//! runtime, given only the runtime's wasm, and exactly what a cumulus
//! collator submits for them: the PoV (`ParachainBlockData` with the compact
//! storage proof) and the new head.
//!
//! ```no_run
//! use parajam_collator::{BlockRequest, Collator, CollatorOptions, RelayStateConfig, dev_pair};
//! use sp_core::crypto::Pair as _;
//! # fn main() -> Result<(), parajam_collator::CollatorError> {
//! # let wasm: Vec<u8> = Vec::new();
//! let collator = Collator::new(&wasm, &CollatorOptions::default())?;
//! let genesis = collator.genesis();
//! let alice = dev_pair("Alice")?;
//! let bob = dev_pair("Bob")?;
//! let nonce = collator.account_nonce(genesis, &alice.public().0)?;
//! let transfer = collator.transfer(genesis, &alice, &bob.public().0, 1_000, nonce)?;
//! let relay = RelayStateConfig::new(2000, 100, Some(genesis.head())).entries();
//! let block = collator.build_block(genesis, &BlockRequest::new(1, relay).with_extrinsics(vec![transfer]))?;
//! // block.pov, block.head, block.validation_params(); block.state is the next parent.
//! # Ok(()) }
//! ```
//!
//! How (see the modules): runtime-API calls run the wasm in sc-executor
//! with sp-io's host functions and cumulus's `storage_proof_size`, over an
//! in-memory sp-state-machine state. Genesis is
//! `GenesisBuilder_build_state` of a named preset ([`genesis`]). A block is
//! `Core_initialize_block` (aura pre-digest of the slot
//! timestamp / `AuraApi_slot_duration`), the inherents of
//! `BlockBuilder_inherent_extrinsics` (timestamp and the parachain inherent
//! with the relay-chain state proof of [`relay`]), the given extrinsics,
//! `BlockBuilder_finalize_block`, then an aura seal by the slot's authority
//! (`AuraApi_authorities[slot % n]`) ([`block`]). The PoV's proof is what
//! re-executing the block (`Core_execute_block`) and building it read of
//! the parent state, compacted against its root. Signed transfers are built
//! from the runtime's metadata ([`extrinsic`]).
//!
//! A runtime that builds on an older relay parent (`RelayParentOffset` >
//! 0, [`Collator::relay_parent_offset`]) also wants the relay parent's
//! header and its descendants in the inherent: the request carries them
//! ([`BlockRequest::relay_parent_descendants`], [`descendants`]).
//!
//! Like a cumulus node, the collator runs the code in its parent state's
//! `:code`: after a runtime upgrade it loads the new runtime (and reads
//! its transaction format) once, and uses it for the blocks on top.
//!
//! Assumption: the runtime's header is `generic::Header<u32, BlakeTwo256>`
//! (every cumulus runtime's) and its authorities sr25519 aura keys.

pub mod block;
pub mod descendants;
mod error;
pub mod extrinsic;
pub mod genesis;
pub mod relay;
pub mod runtime;
pub mod state;
pub mod tamper;

pub use block::{BlockReport, BlockRequest, BuiltBlock};
/// The inbound-message types of a [`BlockRequest`] (cumulus's).
pub mod inbound {
    pub use cumulus_primitives_core::{InboundDownwardMessage, InboundHrmpMessage, ParaId};
}
pub use error::CollatorError;
pub use extrinsic::{ChainContext, TxFormat};
pub use relay::{relay_state_proof, RelayState, RelayStateConfig};
pub use runtime::Runtime;
pub use state::{system_account_key, ChildPairs, KeyValue, ParaState};

use std::sync::{Arc, Mutex};

use parity_scale_codec::Encode;
use sp_core::{sr25519, Pair as _, H256};
use sp_runtime::traits::BlakeTwo256;

/// A para header: `generic::Header<u32, BlakeTwo256>`.
pub type Header = sp_runtime::generic::Header<u32, BlakeTwo256>;

/// The well-known dev accounts (`//Alice` ...), in `sp-keyring` order.
pub const DEV_ACCOUNTS: [&str; 6] = ["Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie"];

/// The sr25519 key of dev account `name` (`//<name>`).
pub fn dev_pair(name: &str) -> Result<sr25519::Pair, CollatorError> {
    pair_from_uri(&format!("//{name}"))
}

/// The sr25519 key of a secret URI (`//Alice`, a phrase with junctions, ...).
pub fn pair_from_uri(uri: &str) -> Result<sr25519::Pair, CollatorError> {
    sr25519::Pair::from_string(uri, None).map_err(|_| CollatorError::Key(uri.to_owned()))
}

/// How to start a collator.
#[derive(Clone)]
pub struct CollatorOptions {
    /// The genesis preset (default `development`).
    pub preset: String,
    /// The keys the collator seals with: the slot's aura authority must be
    /// one of them (default: the six dev accounts).
    pub keys: Vec<sr25519::Pair>,
    /// A JSON patch merged into the preset's genesis config (e.g.
    /// `{"parachainInfo": {"parachainId": 2001}}` for a second instance
    /// of the same runtime under another para id); none by default.
    pub genesis_patch: Option<serde_json::Value>,
}

impl std::fmt::Debug for CollatorOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CollatorOptions")
            .field("preset", &self.preset)
            .field("genesis_patch", &self.genesis_patch)
            .field(
                "keys",
                &self
                    .keys
                    .iter()
                    .map(sr25519::Pair::public)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Default for CollatorOptions {
    fn default() -> Self {
        Self {
            preset: genesis::DEV_PRESET.to_owned(),
            keys: DEV_ACCOUNTS
                .iter()
                .filter_map(|name| dev_pair(name).ok())
                .collect(),
            genesis_patch: None,
        }
    }
}

/// A runtime the collator loaded, and its transaction format.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The runtime.
    pub runtime: Runtime,
    /// Its transaction format.
    pub tx: TxFormat,
}

/// A collator for one runtime: its genesis, its transaction format, and
/// block building on any state of the para.
pub struct Collator {
    runtime: Runtime,
    genesis: ParaState,
    tx: TxFormat,
    keys: Vec<sr25519::Pair>,
    /// Runtimes loaded since genesis (upgrades), by the hash of their code.
    upgrades: Mutex<Vec<(H256, Arc<Loaded>)>>,
}

impl std::fmt::Debug for Collator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collator")
            .field("runtime", &self.runtime)
            .field("genesis", &self.genesis)
            .field("tx", &self.tx)
            .finish_non_exhaustive()
    }
}

impl Collator {
    /// Loads `code` (plain or compressed wasm), builds the genesis of
    /// `options.preset` and reads the transaction format from the
    /// metadata.
    pub fn new(code: &[u8], options: &CollatorOptions) -> Result<Self, CollatorError> {
        Self::with_runtime(Runtime::new(code)?, options)
    }

    /// [`Self::new`] with a runtime loaded already: collators of several
    /// paras running the same code share its compiled module.
    pub fn with_runtime(
        runtime: Runtime,
        options: &CollatorOptions,
    ) -> Result<Self, CollatorError> {
        let genesis =
            genesis::build_patched(&runtime, &options.preset, options.genesis_patch.clone())?;
        let tx = TxFormat::from_metadata(&metadata(&runtime, &genesis)?)?;
        Ok(Self {
            runtime,
            genesis,
            tx,
            keys: options.keys.clone(),
            upgrades: Mutex::new(Vec::new()),
        })
    }

    /// The runtime `state` runs (its `:code`) and its transaction format:
    /// the genesis runtime, or one loaded after an upgrade.
    pub fn runtime_at(&self, state: &ParaState) -> Result<Arc<Loaded>, CollatorError> {
        let code = state
            .storage(sp_core::storage::well_known_keys::CODE)?
            .ok_or_else(|| CollatorError::Code("the state has no `:code`".into()))?;
        let hash = H256(sp_io::hashing::blake2_256(&code));
        if code == self.runtime.code() {
            return Ok(Arc::new(Loaded {
                runtime: self.runtime.clone(),
                tx: self.tx.clone(),
            }));
        }
        let mut upgrades = self
            .upgrades
            .lock()
            .map_err(|_| CollatorError::Code("a runtime load panicked".into()))?;
        if let Some((_, loaded)) = upgrades.iter().find(|(h, _)| *h == hash) {
            return Ok(Arc::clone(loaded));
        }
        let runtime = Runtime::new(&code)?;
        let tx = TxFormat::from_metadata(&metadata(&runtime, state)?)?;
        let loaded = Arc::new(Loaded { runtime, tx });
        upgrades.push((hash, Arc::clone(&loaded)));
        Ok(loaded)
    }

    /// The runtime.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The genesis block and state.
    pub fn genesis(&self) -> &ParaState {
        &self.genesis
    }

    /// The para's genesis hash.
    pub fn genesis_hash(&self) -> H256 {
        self.genesis.hash()
    }

    /// The transaction format read from the metadata.
    pub fn tx_format(&self) -> &TxFormat {
        &self.tx
    }

    /// What signing needs of the chain at `state`.
    pub fn chain_context(&self, state: &ParaState) -> Result<ChainContext, CollatorError> {
        let loaded = self.runtime_at(state)?;
        let version = loaded.runtime.version();
        Ok(ChainContext {
            spec_version: version.spec_version,
            transaction_version: version.transaction_version,
            genesis_hash: self.genesis_hash(),
        })
    }

    /// `account`'s nonce in `state` (`AccountNonceApi_account_nonce`).
    pub fn account_nonce(
        &self,
        state: &ParaState,
        account: &[u8; 32],
    ) -> Result<u64, CollatorError> {
        let method = "AccountNonceApi_account_nonce";
        let out = self
            .runtime
            .call(&state.backend, method, &account.encode())?;
        match out.len() {
            4 => Ok(u64::from(u32::from_le_bytes([
                out[0], out[1], out[2], out[3],
            ]))),
            8 => Ok(u64::from_le_bytes([
                out[0], out[1], out[2], out[3], out[4], out[5], out[6], out[7],
            ])),
            n => Err(CollatorError::RuntimeCall {
                method: method.to_owned(),
                reason: format!("returned a nonce of {n} octets"),
            }),
        }
    }

    /// A signed `Balances::transfer_keep_alive(to, amount)` from `from` with
    /// `nonce`, immortal, no tip, SCALE-encoded, for a block on `state`.
    pub fn transfer(
        &self,
        state: &ParaState,
        from: &sr25519::Pair,
        to: &[u8; 32],
        amount: u128,
        nonce: u64,
    ) -> Result<Vec<u8>, CollatorError> {
        let loaded = self.runtime_at(state)?;
        let call = loaded.tx.transfer_keep_alive_call(to, amount);
        self.sign(state, &call, from, nonce)
    }

    /// `count` signed transfers of `amount` for a block on `state`: dev
    /// account `i mod 6` ([`DEV_ACCOUNTS`]) to `i + 1 mod 6`, each
    /// sender's nonces counted on from its nonce in `state`.
    pub fn dev_transfers(
        &self,
        state: &ParaState,
        count: u32,
        amount: u128,
    ) -> Result<Vec<Vec<u8>>, CollatorError> {
        let accounts = DEV_ACCOUNTS;
        let mut nonces = std::collections::BTreeMap::new();
        let mut out = Vec::new();
        for i in 0..count as usize {
            let from = dev_pair(accounts[i % accounts.len()])?;
            let to = dev_pair(accounts[(i + 1) % accounts.len()])?;
            let nonce = match nonces.get(&(i % accounts.len())) {
                Some(n) => n + 1,
                None => self.account_nonce(state, &from.public().0)?,
            };
            nonces.insert(i % accounts.len(), nonce);
            out.push(self.transfer(state, &from, &to.public().0, amount, nonce)?);
        }
        Ok(out)
    }

    /// `call` signed by `from` with `nonce`, for a block on `state`.
    pub fn sign(
        &self,
        state: &ParaState,
        call: &[u8],
        from: &sr25519::Pair,
        nonce: u64,
    ) -> Result<Vec<u8>, CollatorError> {
        let loaded = self.runtime_at(state)?;
        Ok(loaded
            .tx
            .signed(call, from, nonce, &self.chain_context(state)?))
    }

    /// The two extrinsics of a runtime upgrade to `code` through
    /// frame-system's authorize/apply path: `Sudo::sudo(authorize_upgrade)`
    /// signed by `sudo` with `nonce` (for a block on `state`), then the
    /// unsigned `apply_authorized_upgrade(code)` (for the next block).
    /// `check_version` asks the runtime to check the new code's version
    /// (`authorize_upgrade` rather than `..._without_checks`).
    pub fn upgrade_extrinsics(
        &self,
        state: &ParaState,
        sudo: &sr25519::Pair,
        nonce: u64,
        code: &[u8],
        check_version: bool,
    ) -> Result<(Vec<u8>, Vec<u8>), CollatorError> {
        let loaded = self.runtime_at(state)?;
        let tx = &loaded.tx;
        let hash = sp_io::hashing::blake2_256(code);
        let authorize = tx.sudo(&tx.authorize_upgrade(&hash, check_version)?)?;
        let authorize = self.sign(state, &authorize, sudo, nonce)?;
        let apply = tx.bare(&tx.apply_authorized_upgrade(code)?);
        Ok((authorize, apply))
    }

    /// Builds, seals and proves a block on `parent`, with the runtime in
    /// its `:code`.
    pub fn build_block(
        &self,
        parent: &ParaState,
        request: &BlockRequest,
    ) -> Result<BuiltBlock, CollatorError> {
        let loaded = self.runtime_at(parent)?;
        block::build(&loaded.runtime, &self.keys, parent, request)
    }
}

/// The runtime's metadata, the newest of versions 16 and 15 it has.
fn metadata(runtime: &Runtime, state: &ParaState) -> Result<Vec<u8>, CollatorError> {
    let versions: Vec<u32> =
        runtime.call_decode(&state.backend, "Metadata_metadata_versions", &[])?;
    let version = [16, 15]
        .into_iter()
        .find(|v| versions.contains(v))
        .ok_or_else(|| {
            CollatorError::Metadata(format!("versions {versions:?}: neither 15 nor 16"))
        })?;
    let metadata: Option<Vec<u8>> =
        runtime.call_args(&state.backend, "Metadata_metadata_at_version", &version)?;
    metadata.ok_or_else(|| CollatorError::Metadata(format!("no metadata of version {version}")))
}
