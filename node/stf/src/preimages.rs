//! Preimage integration (GP §12.4, eq. 12.35 – 12.38) and the provision part
//! of the service activity statistics `π_S` (GP §13.2, eq. 13.12 and 13.15).
//!
//! The lookup extrinsic `E_P` is a sequence of `(s, p)`: a service index and
//! a blob. It is valid when
//!
//! * it is ordered by `(s, p)` and free of duplicates (eq. 12.36), and
//! * every item is *providable* in the **prior** accounts `δ`: the service
//!   exists and has requested `(H(p), |p|)` without it having been supplied
//!   yet, i.e. its request history is the empty sequence (`Y`, eq. 12.22;
//!   required by eq. 12.37).
//!
//! The posterior accounts are `δ' = I(δ‡, E_P)` (eq. 12.38): every item still
//! providable in the post-accumulation accounts `δ‡` gets its request
//! history set to `[τ']` and its blob stored under `H(p)` (`I`, eq. 12.21);
//! items no longer providable are disregarded "without prejudice".
//!
//! Each item also counts towards its service's provision statistics
//! `π_S'[s]_p = Σ_{(s, p) ∈ E_P} (1, |p|)` (eq. 13.12; services in `s^P`,
//! eq. 13.15).

use std::collections::BTreeMap;

use jam_codec::{Decode, Encode};
use parajam_primitives::codec::{BoundedSeq, ParamLen};
use parajam_primitives::types::{
    OpaqueHash, PreimagesExtrinsic, ServiceAccount, ServiceActivityRecord, ServiceId, TimeSlot,
};
use parajam_primitives::{ByteArray, Bytes, ProtocolParameters};

/// The bound `3` on a request history `⟦N_T⟧_{:3}` (GP eq. 9.3, `a_l`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RequestHistoryBound;

impl ParamLen for RequestHistoryBound {
    const NAME: &'static str = "3 (request history)";
    fn get(_: &ProtocolParameters) -> usize {
        3
    }
}

/// A request history `a_l[(h, z)] ∈ ⟦N_T⟧_{:3}` (GP eq. 9.3): empty while
/// requested but not yet provided, then the slots of provision, forgetting
/// and re-provision.
pub type RequestHistory = BoundedSeq<TimeSlot, RequestHistoryBound>;

/// The key `(h, z)` of a preimage request: the blob's hash and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Encode, Decode)]
pub struct RequestKey {
    /// `h = H(p)`.
    pub hash: OpaqueHash,
    /// `z = |p|`.
    pub length: u32,
}

/// The parts of a service account `δ[s]` this transition touches (GP eq. 9.3).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode)]
pub struct Account {
    /// `a_p`: preimages by hash.
    pub preimages: BTreeMap<OpaqueHash, Bytes>,
    /// `a_l`: request histories by `(hash, length)`.
    pub requests: BTreeMap<RequestKey, RequestHistory>,
}

/// Service accounts by index (the relevant part of `δ`).
pub type Accounts = BTreeMap<ServiceId, Account>;

/// `π_S`: service activity of the block under construction, by service.
pub type ServiceStatistics = BTreeMap<ServiceId, ServiceActivityRecord>;

/// The state the preimage transition reads and writes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    /// `δ` (only preimages and requests).
    pub accounts: Accounts,
    /// `π_S` as built so far for this block; only `provided_count` and
    /// `provided_size` are written here.
    pub services_statistics: ServiceStatistics,
}

/// What the transition reads from the block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Input {
    /// `E_P`.
    pub preimages: PreimagesExtrinsic,
    /// `τ' = H_t`.
    pub slot: TimeSlot,
}

/// Why a lookup extrinsic is invalid.
///
/// The STF test vectors (`preimages.asn`) number these errors; the
/// conformance harness maps each variant to its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Error {
    /// An item is not providable in the prior state (eq. 12.37): its service
    /// does not exist, never requested it, or already has it.
    #[error("preimage not solicited (or already provided) for service {service}")]
    PreimageUnneeded {
        /// The service the item is for.
        service: ServiceId,
    },
    /// The items are not strictly ordered by `(service, blob)` (eq. 12.36).
    #[error("preimages not sorted by (service, blob) or not unique, at item {index}")]
    PreimagesNotSortedUnique {
        /// Index of the first item not greater than its predecessor.
        index: usize,
    },
}

/// The request key `(H(p), |p|)` of a blob, or `None` if its length exceeds
/// any requestable length (`N_L = N_{2^32}`), so that no request can match.
pub fn request_key(blob: &[u8]) -> Option<RequestKey> {
    let length = u32::try_from(blob.len()).ok()?;
    Some(RequestKey {
        hash: ByteArray(parajam_crypto::blake2b_256(blob)),
        length,
    })
}

/// Service accounts as far as preimage integration is concerned: which
/// requests are open (`Y`, GP eq. 12.22) and how a provision is recorded
/// (`I`, eq. 12.21). Implemented by the vectors' account shape
/// ([`Accounts`]) and by the node's ([`ServiceAccount`]s).
pub trait PreimageStore {
    /// `Y(d, s, i)`: service `service` exists and has requested `key`
    /// without it having been provided, i.e. `d[s]_l[(h, z)] = []`.
    fn providable(&self, service: ServiceId, key: &RequestKey) -> bool;
    /// Records the provision of `blob` (with request key `key`) at `slot`:
    /// `d[s]_l[(h, z)] = [slot]`, `d[s]_p[h] = blob`.
    fn provide(&mut self, service: ServiceId, key: &RequestKey, blob: &[u8], slot: TimeSlot);
}

impl PreimageStore for Accounts {
    fn providable(&self, service: ServiceId, key: &RequestKey) -> bool {
        self.get(&service)
            .and_then(|account| account.requests.get(key))
            .is_some_and(|history| history.is_empty())
    }

    fn provide(&mut self, service: ServiceId, key: &RequestKey, blob: &[u8], slot: TimeSlot) {
        if let Some(account) = self.get_mut(&service) {
            account
                .requests
                .insert(*key, RequestHistory::new(vec![slot]));
            account.preimages.insert(key.hash, Bytes(blob.to_vec()));
        }
    }
}

impl PreimageStore for BTreeMap<ServiceId, ServiceAccount> {
    fn providable(&self, service: ServiceId, key: &RequestKey) -> bool {
        self.get(&service)
            .and_then(|account| account.request(&key.hash, key.length))
            .is_some_and(|history| history.is_empty())
    }

    fn provide(&mut self, service: ServiceId, key: &RequestKey, blob: &[u8], slot: TimeSlot) {
        if let Some(account) = self.get_mut(&service) {
            account.set_request(&key.hash, key.length, Some(&[slot]));
            account.set_preimage(&key.hash, Some(blob.to_vec()));
        }
    }
}

/// `Y(d, s, i)` (GP eq. 12.22) on the vectors' accounts.
pub fn providable(accounts: &Accounts, service: ServiceId, key: &RequestKey) -> bool {
    PreimageStore::providable(accounts, service, key)
}

/// Checks `E_P` against the prior accounts `δ`: ordered and unique by
/// `(s, p)` (eq. 12.36), and every item providable (eq. 12.37).
///
/// Ordering is checked over the whole extrinsic before providability.
pub fn validate(
    accounts: &impl PreimageStore,
    preimages: &PreimagesExtrinsic,
) -> Result<(), Error> {
    if let Some(index) = preimages
        .windows(2)
        .position(|w| (w[0].requester, &w[0].blob) >= (w[1].requester, &w[1].blob))
    {
        return Err(Error::PreimagesNotSortedUnique { index: index + 1 });
    }
    for item in preimages {
        let needed =
            request_key(&item.blob).is_some_and(|key| accounts.providable(item.requester, &key));
        if !needed {
            return Err(Error::PreimageUnneeded {
                service: item.requester,
            });
        }
    }
    Ok(())
}

/// `I(d, p)` (GP eq. 12.21), in place: every item still providable in
/// `accounts` gets its request history set to `[slot]` and its blob stored
/// under its hash; the others are disregarded.
pub fn integrate(
    accounts: &mut impl PreimageStore,
    preimages: &PreimagesExtrinsic,
    slot: TimeSlot,
) {
    for item in preimages {
        let Some(key) = request_key(&item.blob) else {
            continue;
        };
        if accounts.providable(item.requester, &key) {
            accounts.provide(item.requester, &key, &item.blob, slot);
        }
    }
}

/// Adds the provision statistics `Σ_{(s, p) ∈ E_P} (1, |p|)` of every item
/// to its service's record in `π_S` (GP eq. 13.12 and 13.15), creating the
/// record if the service has none yet. Counters saturate at their encoded
/// width.
pub fn record_provisions(statistics: &mut ServiceStatistics, preimages: &PreimagesExtrinsic) {
    for item in preimages {
        let record = statistics.entry(item.requester).or_default();
        record.provided_count = record.provided_count.saturating_add(1);
        let size = u32::try_from(item.blob.len()).unwrap_or(u32::MAX);
        record.provided_size = record.provided_size.saturating_add(size);
    }
}

/// The preimage transition of the STF test vectors: validate `E_P` against
/// `pre.accounts` (eq. 12.36 – 12.37), then `δ' = I(δ, E_P)` (eq. 12.38,
/// with `δ‡ = δ` as no accumulation happens here) and the provision
/// statistics (eq. 13.12). On error nothing is built and `pre` stands.
pub fn transition(
    pre: &State,
    input: &Input,
    _params: &ProtocolParameters,
) -> Result<(State, ()), Error> {
    validate(&pre.accounts, &input.preimages)?;
    let mut post = pre.clone();
    integrate(&mut post.accounts, &input.preimages, input.slot);
    record_provisions(&mut post.services_statistics, &input.preimages);
    Ok((post, ()))
}

#[cfg(test)]
mod tests {
    use parajam_primitives::types::Preimage;

    use super::*;

    const P: ProtocolParameters = ProtocolParameters::TINY;

    fn item(requester: ServiceId, blob: &[u8]) -> Preimage {
        Preimage {
            requester,
            blob: Bytes(blob.to_vec()),
        }
    }

    fn key(blob: &[u8]) -> RequestKey {
        request_key(blob).expect("short blob")
    }

    /// Service 1 requested `b"abc"` and `b"xyz"` (unprovided) and has
    /// `b"old"` already provided at slot 5; service 2 requested `b"abc"`.
    fn pre_state() -> State {
        let mut one = Account::default();
        one.requests.insert(key(b"abc"), RequestHistory::default());
        one.requests.insert(key(b"xyz"), RequestHistory::default());
        one.requests
            .insert(key(b"old"), RequestHistory::new(vec![5]));
        one.preimages
            .insert(key(b"old").hash, Bytes(b"old".to_vec()));
        let mut two = Account::default();
        two.requests.insert(key(b"abc"), RequestHistory::default());
        State {
            accounts: BTreeMap::from([(1, one), (2, two)]),
            services_statistics: ServiceStatistics::new(),
        }
    }

    fn run(preimages: Vec<Preimage>) -> Result<(State, ()), Error> {
        let input = Input {
            preimages,
            slot: 42,
        };
        transition(&pre_state(), &input, &P)
    }

    #[test]
    fn solicited_preimages_are_integrated_and_counted() {
        let (post, ()) =
            run(vec![item(1, b"abc"), item(1, b"xyz"), item(2, b"abc")]).expect("valid");
        let one = &post.accounts[&1];
        assert_eq!(one.requests[&key(b"abc")].0, vec![42]);
        assert_eq!(one.requests[&key(b"xyz")].0, vec![42]);
        assert_eq!(one.preimages[&key(b"xyz").hash].0, b"xyz");
        assert_eq!(post.accounts[&2].requests[&key(b"abc")].0, vec![42]);
        assert_eq!(post.services_statistics[&1].provided_count, 2);
        assert_eq!(post.services_statistics[&1].provided_size, 6);
        assert_eq!(post.services_statistics[&2].provided_count, 1);
        assert_eq!(post.services_statistics[&2].provided_size, 3);
    }

    #[test]
    fn empty_extrinsic_changes_nothing() {
        let (post, ()) = run(vec![]).expect("valid");
        assert_eq!(post, pre_state());
    }

    #[test]
    fn unsolicited_preimage_is_rejected() {
        let err = run(vec![item(1, b"abc"), item(1, b"nope")]).expect_err("unsolicited");
        assert_eq!(err, Error::PreimageUnneeded { service: 1 });
    }

    #[test]
    fn already_provided_preimage_is_rejected() {
        let err = run(vec![item(1, b"old")]).expect_err("already provided");
        assert_eq!(err, Error::PreimageUnneeded { service: 1 });
    }

    #[test]
    fn preimage_for_unknown_service_is_rejected() {
        let err = run(vec![item(9, b"abc")]).expect_err("no such service");
        assert_eq!(err, Error::PreimageUnneeded { service: 9 });
    }

    #[test]
    fn unsorted_services_are_rejected() {
        let err = run(vec![item(2, b"abc"), item(1, b"abc")]).expect_err("unsorted");
        assert_eq!(err, Error::PreimagesNotSortedUnique { index: 1 });
    }

    #[test]
    fn unsorted_blobs_of_one_service_are_rejected() {
        let err = run(vec![item(1, b"xyz"), item(1, b"abc")]).expect_err("unsorted");
        assert_eq!(err, Error::PreimagesNotSortedUnique { index: 1 });
    }

    #[test]
    fn duplicates_are_rejected() {
        let err = run(vec![item(1, b"abc"), item(1, b"abc")]).expect_err("duplicate");
        assert_eq!(err, Error::PreimagesNotSortedUnique { index: 1 });
    }

    #[test]
    fn order_is_checked_before_providability() {
        let err = run(vec![item(1, b"nope"), item(1, b"abc")]).expect_err("both wrong");
        assert_eq!(err, Error::PreimagesNotSortedUnique { index: 1 });
    }

    #[test]
    fn prior_state_is_untouched_on_error() {
        let pre = pre_state();
        let input = Input {
            preimages: vec![item(1, b"abc"), item(1, b"nope")],
            slot: 42,
        };
        assert!(transition(&pre, &input, &P).is_err());
        assert_eq!(pre, pre_state());
    }

    #[test]
    fn integration_disregards_items_no_longer_providable() {
        // Validated against δ, integrated into a δ‡ where accumulation
        // dropped service 2 and already provided service 1's "xyz".
        let pre = pre_state();
        let extrinsic = vec![item(1, b"abc"), item(1, b"xyz"), item(2, b"abc")];
        validate(&pre.accounts, &extrinsic).expect("valid against δ");
        let mut after_acc = pre.accounts.clone();
        after_acc.remove(&2);
        if let Some(one) = after_acc.get_mut(&1) {
            one.requests
                .insert(key(b"xyz"), RequestHistory::new(vec![40]));
        }
        integrate(&mut after_acc, &extrinsic, 42);
        assert_eq!(after_acc[&1].requests[&key(b"abc")].0, vec![42]);
        assert_eq!(after_acc[&1].requests[&key(b"xyz")].0, vec![40]);
        assert!(!after_acc[&1].preimages.contains_key(&key(b"xyz").hash));
        assert!(!after_acc.contains_key(&2));
    }
}
