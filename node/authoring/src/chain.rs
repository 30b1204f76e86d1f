//! [`DevChain`]: a chain of dev validators that authors its own blocks and
//! imports each with `parajam_stf::block::import`, as any node would: the
//! authoring role (keys, genesis, the last accumulation) on the one chain
//! type, [`parajam_chain::Chain`].

use std::collections::BTreeMap;
use std::sync::Arc;

use parajam_bandersnatch::RingContext;
use parajam_chain::{Chain, ChainError, ExecutionConfig};
use parajam_primitives::types::{
    AvailAssurance, Block, CoreIndex, DisputesExtrinsic, Header, HeaderHash, RefineContext,
    ServiceAccount, ServiceId, StateRoot, TicketEnvelope, TimeSlot, ValidatorIndex,
};
use parajam_primitives::ProtocolParameters;
use parajam_pvm::{Backend, Pvm};
use parajam_state::State;
use parajam_stf::accumulate;
use parajam_stf::block::{ImportError, Imported, InvalidBlock};
use parajam_stf::header::{header_hash, HeaderError};

use crate::builder::{build_block, AuthoringError, Contents, Parent, SlotPlan};
use crate::genesis::{genesis, genesis_header};
use crate::keys::DevKeys;

/// A dev chain: the dev keys and the genesis header over a [`Chain`] (the
/// states, the PVM engine, the ring context, the ancestry of the head)
/// that keeps the head's state only (a node keeps older ones in its
/// database).
///
/// Blocks are authored on the head ([`DevChain::author`]) and imported
/// with `parajam_stf::block::import`; only an imported block moves the head.
pub struct DevChain {
    chain: Chain,
    keys: DevKeys,
    genesis: Header,
    head: HeaderHash,
    root: StateRoot,
    accumulation: accumulate::Output,
}

impl std::fmt::Debug for DevChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevChain")
            .field("params", &self.chain.params().name)
            .field("validators", &self.keys.len())
            .field("slot", &self.slot())
            .field("head", &self.head)
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

/// The chain under a dev chain: keeps the head's state (and its parent's),
/// service code on the interpreter until told otherwise.
fn head_only(params: ProtocolParameters, ring: RingContext) -> Result<Chain, AuthoringError> {
    let execution = ExecutionConfig {
        backend: Backend::Interpreter,
        crosscheck: false,
    };
    let mut chain = Chain::with_ring(params, execution, ring).map_err(|e| match e {
        ChainError::Pvm(e) => AuthoringError::Pvm(e),
        other => AuthoringError::Pvm(other.to_string()),
    })?;
    chain.set_retention(1);
    Ok(chain)
}

impl DevChain {
    /// A chain whose genesis state is `state` (its head the
    /// [`genesis_header`] of it), authored by `keys`. `ring` must serve
    /// rings of `V` keys. Service code runs on the interpreter (see
    /// [`DevChain::set_backend`]).
    pub fn new(
        params: ProtocolParameters,
        keys: DevKeys,
        state: State,
        ring: RingContext,
    ) -> Result<Self, AuthoringError> {
        let genesis = genesis_header(&state);
        let head = header_hash(&genesis);
        let ancestry = vec![(state.timeslot, head)];
        Self::resume(params, keys, ring, genesis, state, head, ancestry)
    }

    /// A chain resumed at a stored head: `state` is the posterior state of
    /// block `head`, `ancestry` the `(slot, hash)` of the head and its
    /// ancestors within `L` slots (GP eq. 11.35), `genesis` the genesis
    /// header. Service code runs on the interpreter.
    pub fn resume(
        params: ProtocolParameters,
        keys: DevKeys,
        ring: RingContext,
        genesis: Header,
        state: State,
        head: HeaderHash,
        ancestry: Vec<(TimeSlot, HeaderHash)>,
    ) -> Result<Self, AuthoringError> {
        let mut chain = head_only(params, ring)?;
        let root = chain.set_head(head, state, Some(ancestry));
        Ok(Self {
            chain,
            keys,
            genesis,
            head,
            root,
            accumulation: accumulate::Output::default(),
        })
    }

    /// A chain of the `V` JIP-5 dev validators with the default
    /// [`Genesis`](crate::Genesis) and `services`.
    pub fn dev(
        params: ProtocolParameters,
        ring: RingContext,
        services: BTreeMap<ServiceId, ServiceAccount>,
    ) -> Result<Self, AuthoringError> {
        let keys = DevKeys::new(params.validators_count);
        let state = genesis(&params, keys.validators(), services, &ring)?;
        Self::new(params, keys, state, ring)
    }

    /// Moves the head back to a stored block (a node switching forks):
    /// `state` is the posterior state of block `head`, `ancestry` as for
    /// [`DevChain::resume`]. Keys, ring and engine stay.
    pub fn rewind(
        &mut self,
        state: State,
        head: HeaderHash,
        ancestry: Vec<(TimeSlot, HeaderHash)>,
    ) {
        self.root = self.chain.set_head(head, state, Some(ancestry));
        self.head = head;
        self.accumulation = accumulate::Output::default();
    }

    /// Runs service code on `backend` from now on.
    pub fn set_backend(&mut self, backend: Backend) {
        self.chain.set_execution(ExecutionConfig {
            backend,
            crosscheck: false,
        });
    }

    /// The PVM engine (to ask which backends this machine has).
    pub fn pvm(&self) -> &Pvm {
        self.chain.pvm()
    }

    /// The parameters.
    pub fn params(&self) -> &ProtocolParameters {
        self.chain.params()
    }

    /// The dev keys.
    pub fn keys(&self) -> &DevKeys {
        &self.keys
    }

    /// The ring context.
    pub fn ring(&self) -> &RingContext {
        self.chain.ring()
    }

    /// The ring context, shared (for proving tickets on other threads).
    pub fn shared_ring(&self) -> Arc<RingContext> {
        self.chain.shared_ring()
    }

    /// The genesis header.
    pub fn genesis_header(&self) -> &Header {
        &self.genesis
    }

    /// The head's posterior state.
    pub fn state(&self) -> &State {
        // The chain always holds its head's state: it is set with the
        // head and never evicted (retention keeps the newest).
        self.chain
            .state(&self.head)
            .expect("the chain keeps its head's state")
    }

    /// The head's posterior state root.
    pub fn root(&self) -> StateRoot {
        self.root
    }

    /// The head's header hash.
    pub fn head(&self) -> HeaderHash {
        self.head
    }

    /// The head's slot.
    pub fn slot(&self) -> TimeSlot {
        self.state().timeslot
    }

    /// `(slot, hash)` of the head and its recent ancestors.
    pub fn ancestry(&self) -> &[(TimeSlot, HeaderHash)] {
        self.chain.ancestry(&self.head).unwrap_or_default()
    }

    /// The head as the parent of the next block.
    pub fn parent(&self) -> Parent<'_> {
        Parent {
            state: self.state(),
            hash: self.head,
            root: Some(self.root),
        }
    }

    /// What the last imported block's accumulation produced.
    pub fn last_accumulation(&self) -> &accumulate::Output {
        &self.accumulation
    }

    /// A refinement context anchored on the head: `anchor` and
    /// `lookup_anchor` the head, its state root, its BEEFY root from recent
    /// history, no prerequisites. `None` only if recent history is empty
    /// (a genesis state made elsewhere; [`Genesis`](crate::Genesis) puts
    /// the genesis header there).
    pub fn refine_context(&self) -> Option<RefineContext> {
        let state = self.state();
        let newest = state.recent_blocks.history.last()?;
        Some(RefineContext {
            anchor: newest.header_hash,
            state_root: self.root,
            beefy_root: newest.beefy_root,
            lookup_anchor: newest.header_hash,
            lookup_anchor_slot: state.timeslot,
            prerequisites: Vec::new(),
        })
    }

    /// The plan of the block at `slot` on the head, without tickets or
    /// disputes (see [`SlotPlan`]).
    pub fn plan(&self, slot: TimeSlot) -> Result<SlotPlan, AuthoringError> {
        self.plan_with(slot, &[], &DisputesExtrinsic::default())
    }

    /// The plan of the block at `slot` on the head with `tickets` and
    /// `disputes`.
    pub fn plan_with(
        &self,
        slot: TimeSlot,
        tickets: &[TicketEnvelope],
        disputes: &DisputesExtrinsic,
    ) -> Result<SlotPlan, AuthoringError> {
        SlotPlan::new(
            self.parent(),
            slot,
            &tickets.to_vec().into(),
            disputes,
            &self.keys,
            self.params(),
            self.ring(),
        )
    }

    /// Assurances by `validators` (indices of `κ'` at `slot`) that the
    /// reports of `cores` are available, anchored on the head, for a block
    /// at `slot`.
    pub fn assurances(
        &self,
        slot: TimeSlot,
        cores: &[CoreIndex],
        validators: impl IntoIterator<Item = ValidatorIndex>,
    ) -> Result<Vec<AvailAssurance>, AuthoringError> {
        let plan = self.plan(slot)?;
        validators
            .into_iter()
            .map(|v| plan.assurance(cores, v, &self.keys))
            .collect()
    }

    /// Authors and imports the next block carrying the assurances of
    /// `validators` that the reports of `cores` are available
    /// ([`Self::assurances`]).
    pub fn assure_next(
        &mut self,
        cores: &[CoreIndex],
        validators: impl IntoIterator<Item = ValidatorIndex>,
    ) -> Result<Block, AuthoringError> {
        let slot = self.slot().saturating_add(1);
        let assurances = self.assurances(slot, cores, validators)?;
        self.author(
            slot,
            Contents {
                assurances,
                ..Contents::default()
            },
        )
    }

    /// The tickets the dev validators would submit in a block at `slot`
    /// (see [`SlotPlan::tickets`]): each one a ring proof.
    pub fn tickets(&self, slot: TimeSlot) -> Result<Vec<TicketEnvelope>, AuthoringError> {
        self.plan(slot)?.tickets(&self.keys, self.ring())
    }

    /// The block at `slot` on the head with `contents`, not imported.
    pub fn build(&self, slot: TimeSlot, contents: Contents) -> Result<Block, AuthoringError> {
        build_block(
            self.parent(),
            slot,
            contents,
            &self.keys,
            self.params(),
            self.ring(),
        )
    }

    /// `import(σ, block)` on the head's state, with this chain's context;
    /// the chain is not changed.
    ///
    /// A block on another parent is refused as the state transition
    /// refuses it on the head's state (`H_P` is not the head's hash).
    pub fn try_import(&self, block: &Block) -> Result<Imported, ImportError> {
        let other_parent = || {
            Err(ImportError::Invalid(InvalidBlock::Header(
                HeaderError::BadParent {
                    expected: self.head,
                    found: block.header.parent,
                },
            )))
        };
        if block.header.parent != self.head {
            return other_parent();
        }
        self.chain
            .try_import_known(block)
            .unwrap_or_else(other_parent)
    }

    /// Imports `block` on the head; it becomes the head. An invalid block
    /// changes nothing.
    pub fn import(&mut self, block: &Block) -> Result<StateRoot, ImportError> {
        let imported = self.try_import(block)?;
        self.root = self.chain.commit(block, imported.state);
        self.head = header_hash(&block.header);
        self.accumulation = imported.accumulation;
        Ok(self.root)
    }

    /// Authors the block at `slot` on the head with `contents` and imports it.
    pub fn author(&mut self, slot: TimeSlot, contents: Contents) -> Result<Block, AuthoringError> {
        let block = self.build(slot, contents)?;
        self.import(&block)?;
        Ok(block)
    }

    /// Authors the block at the slot after the head's with `contents` and
    /// imports it.
    pub fn author_next(&mut self, contents: Contents) -> Result<Block, AuthoringError> {
        self.author(self.slot().saturating_add(1), contents)
    }
}
