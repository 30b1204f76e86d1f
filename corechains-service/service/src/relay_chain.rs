//! The relay chain's headers a para sees on JAM: the CoreChains service's
//! emulated relay-chain header chain, for runtimes that build on an older
//! relay parent (cumulus's `RelayParentOffset` > 0, as Polkadot's system
//! chains do).
//!
//! Such a runtime's `set_validation_data` wants, in the parachain inherent,
//! the relay parent's header and `RelayParentOffset` descendants
//! (`relay_parent_descendants`), and checks (cumulus-pallet-parachain-system
//! `descendant_validation`): exactly `offset + 1` headers; chained by parent
//! hash; the first one's state root is the `relay_parent_storage_root` of
//! its `ValidationParams`; each carries a BABE pre-digest naming an
//! authority of `Babe::Authorities` (or `NextAuthorities` after an epoch
//! change), read from the relay-state proof, and a BABE seal by that
//! authority over the header's pre-seal hash.
//!
//! # The emulated headers
//!
//! For para `p`, the header of timeslot `t` ([`header_chain`]) is a
//! `generic::Header<u32, BlakeTwo256>` as the relay chain's:
//!
//! | field | value |
//! |---|---|
//! | number | `t` |
//! | parent hash | the hash of the header of `t − 1` in the same chain; for the chain's first header (the relay parent), [`base_parent_hash`]`(p, t)` |
//! | state root | the root of the emulated relay state of `p` at `t` ([`crate::relay_state::RelayState::root`]) |
//! | extrinsics root | the empty trie's root |
//! | digest | a BABE pre-digest `SecondaryPlain { authority_index: 0, slot: t }`, then a BABE seal |
//!
//! The seal is an sr25519 signature (context `substrate`) of the pre-seal
//! header's Blake2b-256 hash by the **emulated BABE authority**, the key
//! of the published seed [`AUTHORITY_SEED`] ([`authority_public`]); the
//! emulated relay state lists it as the only authority under
//! `Babe::Authorities` ([`AUTHORITIES`], [`authorities_value`]). Signatures
//! are deterministic (the nonce is derived from the key and the message
//! alone), so every collator derives the same headers, octet for octet.
//!
//! # Trust model
//!
//! The service holds no secret and collators are not trusted, so the seal
//! is made with a key anyone has: **a seal carries no trust**. Nothing the
//! service enacts rests on it:
//!
//! - the only relay-chain *state* a block reads is its relay parent's,
//!   through the relay-state proof, which the PVF checks against
//!   `relay_parent_storage_root`; accumulate recomputes that root from its
//!   own storage at the relay parent's timeslot and enacts nothing else
//!   ([`crate::accumulate`], `WrongRelayState`), and refuses a relay
//!   parent in the future or older than `relay_parent_max_age`
//!   (`RelayParentOutOfRange`). The relay parent's header is bound to it:
//!   cumulus requires the first header's state root to be that root;
//! - the descendants past the relay parent change nothing a block outputs
//!   (head, messages, code upgrade): cumulus only checks them and drops
//!   them. They are a para's rule for its collators (build `offset` relay
//!   blocks behind the tip, to avoid forks), not a relay-chain rule, and
//!   on Polkadot too the relay chain never reads them. A collator that
//!   seals other descendants with the published key only breaks its own
//!   para's rule, and still cannot make a block read a relay state the
//!   service did not emulate.
//!
//! What the PVF does reject is everything the runtime checks: too few or
//! too many headers, a header out of chain, a relay-parent header whose
//! state root is not the relay parent's, a missing pre-digest, a seal
//! that is not the authority's over that header (a header changed after
//! sealing). The block is then invalid on the PVM as on wasm, refine
//! reports it `Invalid`, and accumulate enacts nothing.
//!
//! # JAM's anchor and lookup anchor
//!
//! A candidate's relay parent is a timeslot `r`, and its descendants the
//! timeslots `r + 1 ..= r + offset`. An honest collator takes the newest,
//! `r + offset`, to be the timeslot of the work package's anchor block
//! (GP 0.7.2: the refinement context's `a`, which must be in recent
//! history, the last `H` = 8 blocks), so the relay parent lags the anchor
//! by `offset` slots; the service does not enforce this (as above, it is
//! the para's rule). Accumulate accepts the relay parent while it is at
//! most `relay_parent_max_age` slots old when the block is accumulated:
//! a para's offset must leave room for the package's way from guarantee
//! to accumulation within that age (the service's default, 10 slots,
//! leaves 9 for offset 1). The PVF is fetched at the lookup anchor
//! (`historical_lookup`; the lookup anchor at most `L` slots old), as
//! before; the headers need no lookup: they are in the PoV.

use alloc::vec::Vec;

use parajam_corechains_types::{Hash, ParaId};
use parity_scale_codec::{Decode, Encode};

use crate::blake2_256;
use crate::host_functions::trie::{self, Layout, TrieHash};

/// BABE's consensus engine id (`sp_consensus_babe::BABE_ENGINE_ID`).
pub const BABE_ENGINE_ID: [u8; 4] = *b"BABE";

/// `twox128("Babe") ‖ twox128("Authorities")`: the relay chain's well-known
/// key of the current BABE authorities (`polkadot-primitives`
/// `well_known_keys::AUTHORITIES`).
pub const AUTHORITIES: [u8; 32] = [
    0x1c, 0xb6, 0xf3, 0x6e, 0x02, 0x7a, 0xbb, 0x20, 0x91, 0xcf, 0xb5, 0x11, 0x0a, 0xb5, 0x08, 0x7f,
    0x5e, 0x06, 0x21, 0xc4, 0x86, 0x9a, 0xa6, 0x0c, 0x02, 0xbe, 0x9a, 0xdc, 0xc9, 0x8a, 0x0d, 0x1d,
];

/// The published seed (a schnorrkel mini secret key, expanded as
/// sp-core's `sr25519::Pair::from_seed` does) of the emulated BABE
/// authority. Public on purpose: see the module's trust model.
pub const AUTHORITY_SEED: [u8; 32] = *b"parajam:corechains:emulated-babe";

/// The emulated BABE authority's key pair.
fn authority() -> schnorrkel::Keypair {
    // A 32-octet mini secret key always parses.
    schnorrkel::MiniSecretKey::from_bytes(&AUTHORITY_SEED).map_or_else(
        |_| unreachable!("32 octets"),
        |mini| mini.expand_to_keypair(schnorrkel::ExpansionMode::Ed25519),
    )
}

/// The emulated BABE authority's public key (sr25519): the key of
/// [`AUTHORITY_SEED`] (a test derives it), written out so that the relay
/// state's root costs accumulate no scalar multiplication.
pub const AUTHORITY_PUBLIC: [u8; 32] = [
    0xc0, 0xf9, 0xb0, 0x0d, 0x9f, 0x02, 0x50, 0xcd, 0x03, 0x71, 0xd3, 0x4d, 0x80, 0x56, 0xe5, 0x8b,
    0xdb, 0x65, 0x6b, 0xdc, 0x95, 0xcf, 0xa9, 0x20, 0x33, 0xea, 0xb6, 0x17, 0x54, 0x1c, 0xd9, 0x42,
];

/// The emulated BABE authority's public key (sr25519).
pub fn authority_public() -> [u8; 32] {
    AUTHORITY_PUBLIC
}

/// The value under [`AUTHORITIES`]: `E([(authority_public(), 1)])`, the
/// relay chain's `Vec<(AuthorityId, BabeAuthorityWeight)>`.
pub fn authorities_value() -> Vec<u8> {
    alloc::vec![(authority_public(), 1u64)].encode()
}

/// A digest item of a relay-chain header, as `sp_runtime`'s `DigestItem`
/// encodes it (the two kinds the emulated headers carry).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[allow(clippy::cast_possible_truncation)] // (the codec derive's index casts)
pub enum DigestItem {
    /// A seal: engine id and its data (`DigestItem::Seal`).
    #[codec(index = 5)]
    Seal([u8; 4], Vec<u8>),
    /// A pre-runtime digest: engine id and its data
    /// (`DigestItem::PreRuntime`).
    #[codec(index = 6)]
    PreRuntime([u8; 4], Vec<u8>),
}

/// A relay-chain header: `generic::Header<u32, BlakeTwo256>`'s encoding.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct RelayHeader {
    /// The parent header's hash.
    pub parent_hash: Hash,
    /// The block number (a timeslot).
    #[codec(compact)]
    pub number: u32,
    /// The state root.
    pub state_root: Hash,
    /// The extrinsics root.
    pub extrinsics_root: Hash,
    /// The digest items, in order.
    pub digest: Vec<DigestItem>,
}

impl RelayHeader {
    /// The header's hash: Blake2b-256 of its encoding.
    pub fn hash(&self) -> Hash {
        blake2_256(&self.encode())
    }
}

/// BABE's `PreDigest::SecondaryPlain { authority_index, slot }` encoding.
fn secondary_plain_pre_digest(authority_index: u32, slot: u64) -> Vec<u8> {
    let mut out = alloc::vec![2u8];
    authority_index.encode_to(&mut out);
    slot.encode_to(&mut out);
    out
}

/// A zero "randomness" source: schnorrkel then derives the nonce from the
/// secret key's nonce seed and the message alone (as EdDSA does), so seals
/// are deterministic.
struct NoRandomness;

impl rand_core::RngCore for NoRandomness {
    fn next_u32(&mut self) -> u32 {
        0
    }
    fn next_u64(&mut self) -> u64 {
        0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.fill(0);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        dest.fill(0);
        Ok(())
    }
}

impl rand_core::CryptoRng for NoRandomness {}

/// The emulated authority's seal of `pre_seal_hash` (sr25519, context
/// `substrate`), deterministic.
pub fn seal(pre_seal_hash: &Hash) -> [u8; 64] {
    let transcript = schnorrkel::signing_context(b"substrate").bytes(pre_seal_hash);
    authority()
        .sign(schnorrkel::context::attach_rng(transcript, NoRandomness))
        .to_bytes()
}

/// Whether `signature` is the emulated authority's seal of `pre_seal_hash`.
pub fn verify_seal(pre_seal_hash: &Hash, signature: &[u8]) -> bool {
    schnorrkel::Signature::from_bytes(signature).is_ok_and(|signature| {
        authority()
            .public
            .verify_simple(b"substrate", pre_seal_hash, &signature)
            .is_ok()
    })
}

/// The parent hash of the first header of an emulated chain, the relay
/// parent at timeslot `number`: `H("parajam:relay-base" ‖ E(para) ‖
/// E(number))`. cumulus does not check it (the chain it checks starts at
/// the relay parent); a constant of the para and slot keeps the headers
/// deterministic.
pub fn base_parent_hash(para: ParaId, number: u32) -> Hash {
    let mut preimage = b"parajam:relay-base".to_vec();
    para.encode_to(&mut preimage);
    number.encode_to(&mut preimage);
    blake2_256(&preimage)
}

/// The emulated header of `para` at timeslot `number` with parent
/// `parent_hash` and state root `state_root`, sealed.
pub fn header(parent_hash: Hash, number: u32, state_root: Hash) -> RelayHeader {
    let empty_root = trie::root::<Vec<u8>, Vec<u8>>(TrieHash::Blake2, Layout::V1, Vec::new())
        .unwrap_or_default();
    let mut header = RelayHeader {
        parent_hash,
        number,
        state_root,
        extrinsics_root: empty_root,
        digest: alloc::vec![DigestItem::PreRuntime(
            BABE_ENGINE_ID,
            secondary_plain_pre_digest(0, u64::from(number)),
        )],
    };
    let signature = seal(&header.hash());
    header
        .digest
        .push(DigestItem::Seal(BABE_ENGINE_ID, signature.to_vec()));
    header
}

/// The emulated headers a block of `para` with relay parent
/// `relay_parent` and `descendants` descendants carries: the relay
/// parent's header, then one per following timeslot, each with the state
/// root `state_root(t)` gives for its timeslot `t` (the emulated relay
/// state's root, [`crate::relay_state::RelayState::root`]). `None` if a
/// timeslot overflows or `state_root` has none.
pub fn header_chain(
    para: ParaId,
    relay_parent: u32,
    descendants: u32,
    mut state_root: impl FnMut(u32) -> Option<Hash>,
) -> Option<Vec<RelayHeader>> {
    let last = relay_parent.checked_add(descendants)?;
    let mut parent_hash = base_parent_hash(para, relay_parent);
    let mut chain = Vec::with_capacity(descendants as usize + 1);
    for number in relay_parent..=last {
        let header = header(parent_hash, number, state_root(number)?);
        parent_hash = header.hash();
        chain.push(header);
    }
    Some(chain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host_functions::Hasher;

    #[test]
    fn the_published_public_key_is_the_seeds() {
        assert_eq!(AUTHORITY_PUBLIC, authority().public.to_bytes());
    }

    #[test]
    fn the_authorities_key_is_babes() {
        let key = [
            Hasher::Twox128.hash(b"Babe"),
            Hasher::Twox128.hash(b"Authorities"),
        ]
        .concat();
        assert_eq!(AUTHORITIES.to_vec(), key);
    }

    #[test]
    fn the_chain_is_linked_rooted_and_sealed() {
        let para = ParaId(2000);
        let root = |t: u32| Some([u8::try_from(t).unwrap_or(0); 32]);
        let chain = header_chain(para, 7, 2, root).expect("a chain");
        assert_eq!(chain.len(), 3);
        assert_eq!(chain[0].parent_hash, base_parent_hash(para, 7));
        for (i, h) in chain.iter().enumerate() {
            let t = 7 + u32::try_from(i).unwrap_or(0);
            assert_eq!(h.number, t);
            assert_eq!(Some(h.state_root), root(t));
            if i > 0 {
                assert_eq!(h.parent_hash, chain[i - 1].hash());
            }
            // The seal is over the pre-seal hash.
            let mut pre = h.clone();
            let Some(DigestItem::Seal(engine, signature)) = pre.digest.pop() else {
                panic!("sealed last");
            };
            assert_eq!(engine, BABE_ENGINE_ID);
            assert!(verify_seal(&pre.hash(), &signature));
            assert!(!verify_seal(&h.hash(), &signature));
            assert_eq!(
                pre.digest,
                alloc::vec![DigestItem::PreRuntime(
                    BABE_ENGINE_ID,
                    secondary_plain_pre_digest(0, u64::from(t))
                )]
            );
        }
        // Deterministic, and each input matters.
        assert_eq!(Some(chain.clone()), header_chain(para, 7, 2, root));
        assert_ne!(Some(chain.clone()), header_chain(ParaId(2001), 7, 2, root));
        let other_root = |t: u32| Some([u8::try_from(t).unwrap_or(0) ^ 1; 32]);
        assert_ne!(Some(chain), header_chain(para, 7, 2, other_root));
        assert!(header_chain(para, u32::MAX, 1, root).is_none());
        assert!(header_chain(para, 7, 2, |t| (t < 9).then_some([0; 32])).is_none());
    }

    #[test]
    fn the_encoding_is_the_relay_chains() {
        // `generic::Header<u32, BlakeTwo256>`: parent, compact number,
        // roots, then the digest's items (Seal = 5, PreRuntime = 6).
        let h = header([1; 32], 300, [2; 32]);
        let bytes = h.encode();
        assert_eq!(&bytes[..32], &[1; 32]);
        assert_eq!(
            &bytes[32..34],
            &parity_scale_codec::Compact(300u32).encode()[..]
        );
        assert_eq!(&bytes[34..66], &[2; 32]);
        let digest = &bytes[98..];
        assert_eq!(digest[0], 2 << 2, "two items");
        assert_eq!(digest[1], 6);
        assert_eq!(&digest[2..6], b"BABE");
        // Pre-digest: length 13, SecondaryPlain, authority 0, slot 300.
        assert_eq!(digest[6], 13 << 2);
        assert_eq!(digest[7], 2);
        assert_eq!(&digest[8..12], &0u32.to_le_bytes());
        assert_eq!(&digest[12..20], &300u64.to_le_bytes());
        assert_eq!(digest[20], 5);
        assert_eq!(&digest[21..25], b"BABE");
        assert_eq!(digest.len(), 25 + 2 + 64);
        assert_eq!(RelayHeader::decode(&mut &bytes[..]).ok(), Some(h));
    }
}
