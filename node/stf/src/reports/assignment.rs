//! Guarantor assignments (GP §11.3 "Guarantor Assignments", eq. 11.18 –
//! 11.22).
//!
//! Every validator is assigned one core per rotation: the sequence
//! `[⌊C·i/V⌋ | i ∈ N_V]` (three validators per core in the full
//! configuration) shuffled with epochal entropy (the Fisher–Yates shuffle
//! `F` of appendix F) and rotated by the rotation index within the epoch:
//!
//! * `R(c, n) = [(x + n) mod C | x ∈ c]` (eq. 11.19);
//! * `P(e, t) = R(F([⌊C·i/V⌋ | i ∈ N_V], e), ⌊(t mod E)/R⌋)` (eq. 11.20);
//! * `M = (P(η'_2, τ'), Φ(κ'))` (eq. 11.21);
//! * `M*`, the same under the previous rotation: `P(e, τ' − R)` with
//!   `(e, k) = (η'_2, κ')` if `τ' − R` is in the same epoch as `τ'`, else
//!   `(η'_3, λ')` (eq. 11.22).
//!
//! `Φ` (eq. 6.14) replaces the keys of offenders `ψ'_o` by zero keys.

use std::collections::BTreeSet;

use parajam_primitives::types::{
    CoreIndex, Ed25519Public, Entropy, TimeSlot, ValidatorData, ValidatorsData,
};
use parajam_primitives::ProtocolParameters;

/// A guarantor assignment: the core of every validator and the keys they
/// sign with (`M` or `M*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// `c ∈ ⟦N_C⟧_V`: each validator's core.
    pub cores: Vec<CoreIndex>,
    /// `k = Φ(κ')` or `Φ(λ')`: each validator's keys, offenders zeroed.
    pub keys: Vec<ValidatorData>,
    /// Whether each validator is an offender (its key zeroed by `Φ`).
    pub banned: Vec<bool>,
}

impl Assignment {
    fn new(
        cores: Vec<CoreIndex>,
        keys: &ValidatorsData,
        offenders: &BTreeSet<Ed25519Public>,
    ) -> Self {
        Self {
            cores,
            keys: without_offenders(keys, offenders),
            banned: keys
                .iter()
                .map(|k| offenders.contains(&k.ed25519))
                .collect(),
        }
    }
}

/// `R(c, n)` (eq. 11.19): every core index moved on by `n`, modulo `C`.
pub fn rotate(cores: &[CoreIndex], n: u32, params: &ProtocolParameters) -> Vec<CoreIndex> {
    let count = u32::from(params.core_count).max(1);
    cores
        .iter()
        .map(|&c| {
            let moved = (u32::from(c) + n % count) % count;
            // `moved < C ≤ u16::MAX`.
            CoreIndex::try_from(moved).unwrap_or(CoreIndex::MAX)
        })
        .collect()
}

/// `P(e, t)` (eq. 11.20): the core of every validator at slot `t` under
/// epochal entropy `e`.
pub fn permute(entropy: &Entropy, slot: TimeSlot, params: &ProtocolParameters) -> Vec<CoreIndex> {
    let validators = u64::from(params.validators_count);
    let cores = u64::from(params.core_count);
    let base: Vec<CoreIndex> = (0..validators)
        .map(|i| CoreIndex::try_from(cores * i / validators.max(1)).unwrap_or(CoreIndex::MAX))
        .collect();
    let shuffled = parajam_crypto::shuffle(base, &entropy.0);
    let rotation = (slot % params.epoch_length) / u32::from(params.rotation_period).max(1);
    rotate(&shuffled, rotation, params)
}

/// `Φ(k)` (eq. 6.14): `k` with the keys of every validator whose Ed25519 key
/// is an offender replaced by zero keys.
pub fn without_offenders(
    keys: &ValidatorsData,
    offenders: &BTreeSet<Ed25519Public>,
) -> Vec<ValidatorData> {
    keys.iter()
        .map(|k| {
            if offenders.contains(&k.ed25519) {
                ValidatorData::default()
            } else {
                k.clone()
            }
        })
        .collect()
}

/// `M` (eq. 11.21): the assignment of the rotation of `τ'`.
pub fn current(
    entropy: &[Entropy; 4],
    slot: TimeSlot,
    active_validators: &ValidatorsData,
    offenders: &BTreeSet<Ed25519Public>,
    params: &ProtocolParameters,
) -> Assignment {
    Assignment::new(
        permute(&entropy[2], slot, params),
        active_validators,
        offenders,
    )
}

/// `M*` (eq. 11.22): the assignment of the rotation before that of `τ'`,
/// under `(η'_2, κ')` if it is in the same epoch, else `(η'_3, λ')`.
///
/// Before genesis (`τ' < R`) there is no previous rotation; the previous
/// epoch's entropy and keys are used at slot 0's rotation index, which no
/// guarantee can name (their slot would be negative).
pub fn previous(
    entropy: &[Entropy; 4],
    slot: TimeSlot,
    active_validators: &ValidatorsData,
    previous_validators: &ValidatorsData,
    offenders: &BTreeSet<Ed25519Public>,
    params: &ProtocolParameters,
) -> Assignment {
    let earlier = slot.checked_sub(u32::from(params.rotation_period));
    let same_epoch = earlier.is_some_and(|t| t / params.epoch_length == slot / params.epoch_length);
    let (entropy, keys) = if same_epoch {
        (&entropy[2], active_validators)
    } else {
        (&entropy[3], previous_validators)
    };
    Assignment::new(
        permute(entropy, earlier.unwrap_or(0), params),
        keys,
        offenders,
    )
}

#[cfg(test)]
mod tests {
    use parajam_primitives::ByteArray;

    use super::*;

    #[test]
    fn rotation_wraps_around_the_cores() {
        let p = ProtocolParameters::TINY;
        assert_eq!(rotate(&[0, 1, 1, 0], 1, &p), vec![1, 0, 0, 1]);
        assert_eq!(rotate(&[0, 1], 4, &p), vec![0, 1]);
    }

    #[test]
    fn every_core_gets_its_share_of_validators() {
        for p in ProtocolParameters::ALL {
            let cores = permute(&ByteArray([3; 32]), 5, &p);
            assert_eq!(cores.len(), usize::from(p.validators_count));
            let per_core = usize::from(p.validators_count) / usize::from(p.core_count);
            for c in 0..p.core_count {
                assert_eq!(cores.iter().filter(|&&x| x == c).count(), per_core);
            }
        }
    }

    #[test]
    fn permutation_moves_on_one_core_per_rotation() {
        let p = ProtocolParameters::TINY;
        let e = ByteArray([9; 32]);
        let first = permute(&e, 0, &p);
        assert_eq!(permute(&e, 3, &p), first);
        assert_eq!(permute(&e, 4, &p), rotate(&first, 1, &p));
        // The rotation index restarts each epoch.
        assert_eq!(permute(&e, 12, &p), first);
    }
}
