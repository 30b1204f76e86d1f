//! What a collator builds for each kind of para: the adder's blocks, or a
//! cumulus runtime's (signed transfers, and a runtime upgrade through
//! frame-system's authorize/apply path) by the mini collator
//! ([`parajam_collator`]).

use std::collections::VecDeque;
use std::path::Path;

use parajam_collator::{BlockRequest, Collator, CollatorOptions, ParaState};
use sp_core::Pair as _;

use crate::store::StateStore;
use crate::CollateError;

/// Blocks made and not yet enacted a [`Cumulus`] builder keeps in memory
/// (the node may enact any of them, e.g. one submitted before a
/// reconnection).
const MADE_KEPT: usize = 8;

/// `max_pov_size` of the persisted validation data (the relay chain's
/// classic 5 MiB, under JAM's `W_B`).
const MAX_POV_SIZE: u32 = 5 * 1024 * 1024;

/// A para block made for a relay parent.
#[derive(Debug, Clone)]
pub struct Made {
    /// Its number.
    pub number: u64,
    /// The parent head.
    pub parent_head: Vec<u8>,
    /// The new head.
    pub head: Vec<u8>,
    /// The PoV (the work item's extrinsic).
    pub pov: Vec<u8>,
    /// Extrinsics in the block besides the inherents (transfers, upgrade).
    pub extrinsics: usize,
}

/// How a para's blocks are made.
pub trait ParaBuilder {
    /// The para's genesis head.
    fn genesis_head(&self) -> Vec<u8>;
    /// Makes the builder's parent the block of `head` (the node's), or
    /// says it cannot build on it.
    fn follow(&mut self, head: &[u8]) -> Result<(), CollateError>;
    /// The next block on the parent, against the relay state `entries` at
    /// relay parent `slot`.
    fn make(&mut self, slot: u32, entries: Vec<(Vec<u8>, Vec<u8>)>) -> Result<Made, CollateError>;
    /// The block of `head`, one this builder made, was enacted: it is the
    /// parent now.
    fn enacted(&mut self, head: &[u8]) -> Result<(), CollateError>;
}

/// The adder's PVF artifact (what registering it gives the service).
pub const ADDER_PVF: &[u8] = parajam_adder_build::PVF_ARTIFACT;

/// The adder (`runtime/adder`): block `n` adds `n`, so the state after
/// block `n` is `n (n + 1) / 2` and a collator can take over any head
/// made this way.
#[derive(Debug, Clone)]
pub struct Adder {
    parent: parajam_adder::HeadData,
}

impl Default for Adder {
    fn default() -> Self {
        Self {
            parent: parajam_adder::HeadData::genesis(0),
        }
    }
}

impl Adder {
    /// The adder's state after block `number`.
    fn state_after(number: u64) -> u64 {
        number.wrapping_mul(number.wrapping_add(1)) / 2
    }
}

impl ParaBuilder for Adder {
    fn genesis_head(&self) -> Vec<u8> {
        parajam_adder::HeadData::genesis(0).encode().to_vec()
    }

    fn follow(&mut self, head: &[u8]) -> Result<(), CollateError> {
        let decoded = parajam_adder::HeadData::decode(head)
            .map_err(|e| CollateError::UnknownHead(format!("not an adder head: {e}")))?;
        if parajam_adder::hash_state(Self::state_after(decoded.number)) != decoded.post_state {
            return Err(CollateError::UnknownHead(format!(
                "adder block #{} was not made by this collator's rule (block n adds n)",
                decoded.number
            )));
        }
        self.parent = decoded;
        Ok(())
    }

    fn make(
        &mut self,
        _slot: u32,
        _entries: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Result<Made, CollateError> {
        let number = self.parent.number.wrapping_add(1);
        let block = parajam_adder::BlockData {
            state: Self::state_after(self.parent.number),
            add: number,
        };
        let head = parajam_adder::execute(self.parent.hash(), &self.parent, &block)
            .map_err(|e| CollateError::Build(format!("adder block #{number}: {e}")))?;
        Ok(Made {
            number,
            parent_head: self.parent.encode().to_vec(),
            head: head.encode().to_vec(),
            pov: block.encode().to_vec(),
            extrinsics: 1,
        })
    }

    fn enacted(&mut self, head: &[u8]) -> Result<(), CollateError> {
        self.follow(head)
    }
}

/// A runtime upgrade a [`Cumulus`] para makes: sudo authorizes `wasm` in
/// block `at`, block `at + 1` applies it.
#[derive(Debug, Clone)]
pub struct CodeUpgrade {
    /// The new wasm code (compressed as substrate-wasm-builder does).
    pub wasm: Vec<u8>,
    /// The block that authorizes it.
    pub at: u32,
    /// Whether the runtime checks the new code's version.
    pub check_version: bool,
}

/// A cumulus runtime, built by the mini collator: signed transfers between
/// the dev accounts in each block, and a runtime upgrade if asked for.
///
/// The para's state after each block it makes is kept in memory (the
/// last few) and, with a [`StateStore`] ([`Cumulus::with_store`]), on
/// disk before the block is submitted: a collator started again on the
/// same store builds on whichever of those blocks the node has as head.
pub struct Cumulus {
    collator: Collator,
    para: u32,
    parent: ParaState,
    made: VecDeque<ParaState>,
    store: Option<StateStore>,
    transfers: u32,
    amount: u128,
    upgrade: Option<CodeUpgrade>,
    apply: Option<Vec<u8>>,
}

impl std::fmt::Debug for Cumulus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cumulus")
            .field("parent", &self.parent.number())
            .field("transfers", &self.transfers)
            .finish_non_exhaustive()
    }
}

/// The storage key of `ParachainInfo::ParachainId`.
const PARACHAIN_ID_KEY: [u8; 32] = [
    0x0d, 0x71, 0x5f, 0x26, 0x46, 0xc8, 0xf8, 0x57, 0x67, 0xb5, 0xd2, 0x76, 0x4b, 0xb2, 0x78, 0x26,
    0x04, 0xa7, 0x4d, 0x81, 0x25, 0x1e, 0x39, 0x8f, 0xd8, 0xa0, 0xa4, 0xd5, 0x50, 0x23, 0xbb, 0x3f,
];

impl Cumulus {
    /// A collator of `wasm` for `para` (its genesis patched to that para
    /// id when the preset's differs), making `transfers` transfers of
    /// `amount` per block.
    pub fn new(
        wasm: &[u8],
        para: u32,
        transfers: u32,
        amount: u128,
        upgrade: Option<CodeUpgrade>,
    ) -> Result<Self, CollateError> {
        let mut collator = Collator::new(wasm, &CollatorOptions::default())?;
        let preset_para = collator
            .genesis()
            .storage(&PARACHAIN_ID_KEY)?
            .and_then(|v| <u32 as parity_scale_codec::Decode>::decode(&mut &v[..]).ok());
        if preset_para != Some(para) {
            let options = CollatorOptions {
                genesis_patch: Some(
                    serde_json::json!({ "parachainInfo": { "parachainId": para } }),
                ),
                ..CollatorOptions::default()
            };
            collator = Collator::with_runtime(collator.runtime().clone(), &options)?;
        }
        let offset = collator.relay_parent_offset(collator.genesis())?;
        if offset != 0 {
            return Err(CollateError::Build(format!(
                "the runtime builds {offset} relay blocks behind the newest \
                 (RelayParentOffset); the RPC collator builds on the newest only"
            )));
        }
        let parent = collator.genesis().clone();
        Ok(Self {
            collator,
            para,
            parent,
            made: VecDeque::new(),
            store: None,
            transfers,
            amount,
            upgrade,
            apply: None,
        })
    }

    /// With the para's states kept under `base` (`<base>/para-<id>`): each
    /// block's state is written before the block is submitted, the states
    /// of the newest `keep` enacted block numbers are kept, and the node's
    /// head is looked up there when it is not a block made in this run.
    pub fn with_store(mut self, base: &Path, keep: u32) -> Result<Self, CollateError> {
        self.store = Some(StateStore::open(
            base,
            self.para,
            self.collator.genesis_hash().0,
            keep,
        )?);
        Ok(self)
    }

    /// The store of the para's states, if any.
    pub fn store(&self) -> Option<&StateStore> {
        self.store.as_ref()
    }

    /// The parent block's number.
    pub fn parent_number(&self) -> u32 {
        self.parent.number()
    }

    /// The runtime's `spec_version` at the parent.
    pub fn spec_version(&self) -> Result<u32, CollateError> {
        Ok(self
            .collator
            .runtime_at(&self.parent)?
            .runtime
            .version()
            .spec_version)
    }

    /// `count` signed transfers: dev account `i mod 6` to `i + 1 mod 6`.
    fn transfers(&self) -> Result<Vec<Vec<u8>>, CollateError> {
        Ok(self
            .collator
            .dev_transfers(&self.parent, self.transfers, self.amount)?)
    }

    /// The upgrade's extrinsics for block `number`, if any.
    fn upgrade_extrinsics(&mut self, number: u32) -> Result<Vec<Vec<u8>>, CollateError> {
        let Some(upgrade) = &self.upgrade else {
            return Ok(Vec::new());
        };
        if number == upgrade.at {
            let sudo = parajam_collator::dev_pair("Alice")?;
            // Alice sends the first of every six transfers.
            let sent = (0..self.transfers).filter(|i| i % 6 == 0).count() as u64;
            let nonce = self
                .collator
                .account_nonce(&self.parent, &sudo.public().0)?
                + sent;
            let (authorize, apply) = self.collator.upgrade_extrinsics(
                &self.parent,
                &sudo,
                nonce,
                &upgrade.wasm,
                upgrade.check_version,
            )?;
            self.apply = Some(apply);
            return Ok(vec![authorize]);
        }
        if number == upgrade.at + 1 {
            return Ok(self.apply.clone().into_iter().collect());
        }
        Ok(Vec::new())
    }
}

impl ParaBuilder for Cumulus {
    fn genesis_head(&self) -> Vec<u8> {
        self.collator.genesis().head()
    }

    fn follow(&mut self, head: &[u8]) -> Result<(), CollateError> {
        if self.parent.head() == head {
            return Ok(());
        }
        if let Some(made) = self.made.iter().find(|m| m.head() == head) {
            self.parent = made.clone();
            return Ok(());
        }
        if self.collator.genesis().head() == head {
            self.parent = self.collator.genesis().clone();
            return Ok(());
        }
        let hash = parajam_crypto::blake2b_256(head);
        let number =
            <parajam_collator::Header as parity_scale_codec::Decode>::decode(&mut &head[..])
                .map_or_else(|_| "?".into(), |h| h.number.to_string());
        let Some(store) = &self.store else {
            return Err(CollateError::UnknownHead(format!(
                "the node's head of para {} (block #{number}, 0x{}) is neither its genesis nor a \
                 block this collator made (it holds block #{}); without --data-path the \
                 collator keeps the para's state in memory only",
                self.para,
                crate::hex(&hash),
                self.parent.number()
            )));
        };
        match store.load(&hash)? {
            Some(state) => {
                self.parent = state;
                Ok(())
            }
            None => Err(CollateError::NotStored {
                para: self.para,
                number,
                head: crate::hex(&hash),
                path: store.dir().to_owned(),
            }),
        }
    }

    fn make(&mut self, slot: u32, entries: Vec<(Vec<u8>, Vec<u8>)>) -> Result<Made, CollateError> {
        let number = self.parent.number() + 1;
        let mut extrinsics = self.transfers()?;
        extrinsics.extend(self.upgrade_extrinsics(number)?);
        let count = extrinsics.len();
        let request = BlockRequest {
            max_pov_size: MAX_POV_SIZE,
            ..BlockRequest::new(slot, entries)
        }
        .with_extrinsics(extrinsics);
        let block = self.collator.build_block(&self.parent, &request)?;
        if !block.failed_dispatches.is_empty() {
            return Err(CollateError::Build(format!(
                "block #{number}: extrinsics {:?} failed to dispatch",
                block.failed_dispatches
            )));
        }
        let made = Made {
            number: u64::from(number),
            parent_head: block.parent_head.clone(),
            head: block.head.clone(),
            pov: block.pov.clone(),
            extrinsics: count,
        };
        if let Some(store) = &self.store {
            store.save(&block.state)?;
        }
        self.made.push_back(block.state);
        if self.made.len() > MADE_KEPT {
            self.made.pop_front();
        }
        Ok(made)
    }

    fn enacted(&mut self, head: &[u8]) -> Result<(), CollateError> {
        self.follow(head)?;
        let number = self.parent.number();
        self.made.retain(|m| m.number() > number);
        if let Some(store) = &self.store {
            store.prune(number, &self.parent.hash().0)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adder_blocks_follow_the_rule_and_validate() {
        let mut adder = Adder::default();
        let genesis = adder.genesis_head();
        adder.follow(&genesis).expect("the genesis head");
        let mut parent = genesis;
        for n in 1..=4u64 {
            let made = adder.make(0, Vec::new()).expect("a block");
            assert_eq!(made.number, n);
            assert_eq!(made.parent_head, parent);
            // The adder's own validation accepts it and yields the head.
            let parent_head = parajam_adder::HeadData::decode(&made.parent_head).expect("head");
            let block = parajam_adder::BlockData::decode(&made.pov).expect("block");
            let head =
                parajam_adder::execute(parent_head.hash(), &parent_head, &block).expect("valid");
            assert_eq!(head.encode().to_vec(), made.head);
            adder.enacted(&made.head).expect("its own block");
            parent = made.head;
        }
    }

    #[test]
    fn a_new_adder_collator_takes_over_a_head_made_by_the_rule() {
        let mut first = Adder::default();
        for _ in 0..3 {
            let made = first.make(0, Vec::new()).expect("a block");
            first.enacted(&made.head).expect("its own block");
        }
        let head = first.parent.encode().to_vec();
        let mut second = Adder::default();
        second.follow(&head).expect("a head made by the rule");
        assert_eq!(second.make(0, Vec::new()).expect("a block").number, 4);
    }

    #[test]
    fn an_adder_head_not_made_by_the_rule_is_refused() {
        let foreign = parajam_adder::HeadData::genesis(7).encode().to_vec();
        let mut adder = Adder::default();
        assert!(matches!(
            adder.follow(&foreign),
            Err(CollateError::UnknownHead(_))
        ));
        assert!(matches!(
            adder.follow(&[1, 2, 3]),
            Err(CollateError::UnknownHead(_))
        ));
    }
}
