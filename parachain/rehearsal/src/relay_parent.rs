//! The relay parent a block builds on, for runtimes with cumulus's
//! `RelayParentOffset` > 0: the emulated relay state that many timeslots
//! back, and the emulated relay headers from it to the chain's current
//! timeslot ([`parajam_corechains_service::relay_chain`]).

use parajam_collator::Header;
use parajam_corechains_service::relay_chain;
use parajam_corechains_service::relay_state::RelayState;
use parity_scale_codec::{Decode, Encode};

use crate::{ChainFailure, Rehearsal, RehearsalError};

/// A relay parent for the para's next block.
#[derive(Debug, Clone)]
pub struct RelayParent {
    /// The emulated relay state at the relay parent.
    pub state: RelayState,
    /// The relay parent's header and its descendants, oldest first; empty
    /// for a runtime with offset 0.
    pub descendants: Vec<Header>,
}

impl Rehearsal {
    /// The relay parent of the para's next block: as many timeslots behind
    /// the chain's current one as the para's runtime asks
    /// (`RelayParentOffsetApi`), with the headers from it to the current
    /// timeslot when that is more than 0.
    pub fn relay_parent(&self) -> Result<RelayParent, RehearsalError> {
        let offset = self.collator.relay_parent_offset(&self.parent)?;
        let now = self.chain.state().timeslot;
        let slot = now
            .checked_sub(offset)
            .ok_or(RehearsalError::RelayChainTooShort { offset, now })?;
        let state_at = |t| {
            RelayState::read(|key| self.service_storage(key), self.para, t)
                .ok_or(RehearsalError::NotRegistered(self.para.0))
        };
        let state = state_at(slot)?;
        if offset == 0 {
            return Ok(RelayParent {
                state,
                descendants: Vec::new(),
            });
        }
        let chain = relay_chain::header_chain(self.para, slot, offset, |t| {
            state_at(t).ok().map(|s| s.root())
        })
        .ok_or(RehearsalError::NotRegistered(self.para.0))?;
        let descendants = chain
            .iter()
            .map(|h| {
                Header::decode(&mut &h.encode()[..])
                    .map_err(|e| RehearsalError::Chain(ChainFailure::RelayHeader(e)))
            })
            .collect::<Result<_, _>>()?;
        Ok(RelayParent { state, descendants })
    }
}
