//! Headers and blocks (GP sections 4 and 5; encodings GP eq. C.19 – C.20).

use serde::{Deserialize, Serialize};

use super::common::{
    BandersnatchPublic, BandersnatchVrfSignature, Ed25519Public, Entropy, HeaderHash, OpaqueHash,
    StateRoot, TimeSlot, ValidatorIndex,
};
use super::extrinsic::{Extrinsic, TicketBody};
use crate::codec::{Decode, Encode, EpochLength, FixedSeq, Output, ValidatorsCount};

/// The keys of a validator announced in an epoch marker.
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct EpochMarkValidatorKeys {
    /// Bandersnatch key.
    pub bandersnatch: BandersnatchPublic,
    /// Ed25519 key.
    pub ed25519: Ed25519Public,
}

/// `H_E`: the epoch marker (GP eq. 6.27).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct EpochMark {
    /// `η'_0` at the start of the new epoch.
    pub entropy: Entropy,
    /// `η'_1`: entropy the new epoch's tickets were made with.
    pub tickets_entropy: Entropy,
    /// The next epoch's validator keys.
    pub validators: FixedSeq<EpochMarkValidatorKeys, ValidatorsCount>,
}

/// `H_W`: the winning-tickets marker (GP eq. 6.28).
pub type TicketsMark = FixedSeq<TicketBody, EpochLength>;

/// `H_O`: the offenders marker (GP eq. 10.20).
pub type OffendersMark = Vec<Ed25519Public>;

/// `H`: a block header (GP eq. 5.1; encoding C.19 – C.20).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct Header {
    /// `H_P`: parent header hash.
    pub parent: HeaderHash,
    /// `H_R`: prior state root.
    pub parent_state_root: StateRoot,
    /// `H_X`: extrinsic hash.
    pub extrinsic_hash: OpaqueHash,
    /// `H_T`: timeslot.
    pub slot: TimeSlot,
    /// `H_E`: epoch marker.
    pub epoch_mark: Option<EpochMark>,
    /// `H_W`: winning-tickets marker.
    pub tickets_mark: Option<TicketsMark>,
    /// `H_I`: author's validator index.
    pub author_index: ValidatorIndex,
    /// `H_V`: entropy-yielding VRF signature.
    pub entropy_source: BandersnatchVrfSignature,
    /// `H_O`: offenders marker.
    pub offenders_mark: OffendersMark,
    /// `H_S`: block seal.
    pub seal: BandersnatchVrfSignature,
}

impl Header {
    /// `E_U(H)`: the header without its seal, the message the seal signs (GP eq. C.20).
    pub fn encode_unsigned(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size_hint());
        self.encode_unsigned_to(&mut out);
        out
    }

    /// Writes `E_U(H)` to `dest`.
    pub fn encode_unsigned_to<W: Output + ?Sized>(&self, dest: &mut W) {
        self.parent.encode_to(dest);
        self.parent_state_root.encode_to(dest);
        self.extrinsic_hash.encode_to(dest);
        self.slot.encode_to(dest);
        self.epoch_mark.encode_to(dest);
        self.tickets_mark.encode_to(dest);
        self.author_index.encode_to(dest);
        self.entropy_source.encode_to(dest);
        self.offenders_mark.encode_to(dest);
    }
}

/// `B = (H, E)`: a block (GP eq. 4.2).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct Block {
    /// `H`.
    pub header: Header,
    /// `E`.
    pub extrinsic: Extrinsic,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_header_is_the_header_without_its_seal() {
        let header = Header {
            slot: 7,
            offenders_mark: vec![Ed25519Public::ZERO],
            seal: [9u8; 96].into(),
            ..Header::default()
        };
        let full = header.encode();
        let unsigned = header.encode_unsigned();
        assert_eq!(&full[..full.len() - 96], &unsigned[..]);
        assert_eq!(&full[full.len() - 96..], &[9u8; 96][..]);
    }
}
