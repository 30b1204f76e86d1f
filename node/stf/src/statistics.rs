//! Validator activity statistics `π_V`, `π_L` (GP §13.1, eq. 13.1 – 13.5).
//!
//! Per epoch, each validator's record counts blocks authored, tickets,
//! preimages and preimage octets introduced, reports guaranteed and
//! availability assurances made. With `e = ⌊τ/E⌋` and `e' = ⌊τ'/E⌋`
//! (eq. 13.3), a new epoch starts a zeroed accumulator and moves the old one
//! to `π_L` (eq. 13.4); then the block's activity is added to the
//! accumulator (eq. 13.5):
//!
//! * the author `H_i` gets `+1` block, `+|E_T|` tickets, `+|E_P|` preimages
//!   and `+Σ|p|` preimage octets;
//! * every validator `v` whose key `κ'[v]_e` is in the reporters set `G`
//!   (eq. 11.26, the guarantors of `E_G`) gets `+1` guarantee;
//! * every validator with an assurance in `E_A` gets `+1` assurance.
//!
//! The paper's counters are unbounded naturals but the state encodes them as
//! `E_4` fields (`ValidatorActivityRecord`); they saturate at `2^32 − 1`.
//!
//! Core and service statistics (`π_C`, `π_S`) are rebuilt per block from the
//! reports, availability and accumulation transitions and are not handled
//! here (preimage provisions: see [`crate::preimages::record_provisions`]).

use std::collections::BTreeSet;

use parajam_primitives::types::{
    Ed25519Public, Extrinsic, TimeSlot, ValidatorActivityRecord, ValidatorIndex, ValidatorsData,
    ValidatorsStatistics,
};
use parajam_primitives::ProtocolParameters;

/// The state the validator-statistics transition reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// `π_V`: this epoch's accumulator.
    pub vals_curr: ValidatorsStatistics,
    /// `π_L`: the previous epoch's statistics.
    pub vals_last: ValidatorsStatistics,
    /// `τ`: the prior timeslot (read only; `τ'` is the safrole transition's).
    pub timeslot: TimeSlot,
    /// `κ'`: the posterior active validators (read only).
    pub active_validators: ValidatorsData,
}

/// What the transition reads from the block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// `τ' = H_t`.
    pub slot: TimeSlot,
    /// `H_i`: the block author.
    pub author_index: ValidatorIndex,
    /// `E`.
    pub extrinsic: Extrinsic,
}

/// Why the statistics cannot be updated. These are header or state
/// inconsistencies that earlier checks exclude; the test vectors have none.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// `H_i ∉ N_V`.
    #[error("author index {index} is not below the validator count {count}")]
    BadAuthorIndex {
        /// The header's author index.
        index: ValidatorIndex,
        /// `V`.
        count: usize,
    },
    /// A state sequence does not have `V` items.
    #[error("state component {what} has {found} validator entries, expected {expected}")]
    BadStateLength {
        /// The component.
        what: &'static str,
        /// Its length.
        found: usize,
        /// `V`.
        expected: usize,
    },
}

/// The reporters set `G` (GP eq. 11.26) with every credential keyed by the
/// posterior active set `κ'`: the Ed25519 keys of all validators signing a
/// guarantee in `E_G`. Indices outside `κ'` contribute nothing.
///
/// The paper keys guarantees of the previous rotation by the previous
/// assignment's key set; a block importer that has `G` from the reports
/// transition passes it to [`update_validators`] instead.
pub fn reporters_under(
    extrinsic: &Extrinsic,
    validators: &ValidatorsData,
) -> BTreeSet<Ed25519Public> {
    extrinsic
        .guarantees
        .iter()
        .flat_map(|g| g.signatures.iter())
        .filter_map(|s| validators.get(usize::from(s.validator_index)))
        .map(|k| k.ed25519)
        .collect()
}

fn bump(counter: &mut u32, by: usize) {
    *counter = counter.saturating_add(u32::try_from(by).unwrap_or(u32::MAX));
}

/// Eq. 13.3 – 13.5 on the two validator-statistics sequences, returning
/// `(π_V', π_L')`. `reporters` is `G`; `validators` is `κ'`.
///
/// Validates the author index and the sequence lengths before building
/// anything.
pub fn update_validators(
    vals_curr: &ValidatorsStatistics,
    vals_last: &ValidatorsStatistics,
    prior_slot: TimeSlot,
    input: &Input,
    validators: &ValidatorsData,
    reporters: &BTreeSet<Ed25519Public>,
    params: &ProtocolParameters,
) -> Result<(ValidatorsStatistics, ValidatorsStatistics), Error> {
    let count = usize::from(params.validators_count);
    for (what, found) in [
        ("π_V", vals_curr.len()),
        ("π_L", vals_last.len()),
        ("κ'", validators.len()),
    ] {
        if found != count {
            return Err(Error::BadStateLength {
                what,
                found,
                expected: count,
            });
        }
    }
    let author = usize::from(input.author_index);
    if author >= count {
        return Err(Error::BadAuthorIndex {
            index: input.author_index,
            count,
        });
    }

    // Eq. 13.3 – 13.4: epoch rollover.
    let epoch = prior_slot / params.epoch_length;
    let next_epoch = input.slot / params.epoch_length;
    let (mut acc, last) = if next_epoch == epoch {
        (vals_curr.clone(), vals_last.clone())
    } else {
        (
            ValidatorsStatistics::new(vec![ValidatorActivityRecord::default(); count]),
            vals_curr.clone(),
        )
    };

    // Eq. 13.5.
    let extrinsic = &input.extrinsic;
    if let Some(record) = acc.get_mut(author) {
        bump(&mut record.blocks, 1);
        bump(&mut record.tickets, extrinsic.tickets.len());
        bump(&mut record.pre_images, extrinsic.preimages.len());
        let octets = extrinsic
            .preimages
            .iter()
            .fold(0usize, |sum, p| sum.saturating_add(p.blob.len()));
        bump(&mut record.pre_images_size, octets);
    }
    for (record, key) in acc.iter_mut().zip(validators.iter()) {
        if reporters.contains(&key.ed25519) {
            bump(&mut record.guarantees, 1);
        }
    }
    let assurers: BTreeSet<usize> = extrinsic
        .assurances
        .iter()
        .map(|a| usize::from(a.validator_index))
        .collect();
    for v in assurers {
        if let Some(record) = acc.get_mut(v) {
            bump(&mut record.assurances, 1);
        }
    }
    Ok((acc, last))
}

/// The validator-statistics transition of the STF test vectors: eq. 13.3 –
/// 13.5 with `G` taken from `E_G` under `κ'` ([`reporters_under`]). `τ` and
/// `κ'` are carried over unchanged. On error `pre` stands.
pub fn transition(
    pre: &State,
    input: &Input,
    params: &ProtocolParameters,
) -> Result<(State, ()), Error> {
    let reporters = reporters_under(&input.extrinsic, &pre.active_validators);
    let (vals_curr, vals_last) = update_validators(
        &pre.vals_curr,
        &pre.vals_last,
        pre.timeslot,
        input,
        &pre.active_validators,
        &reporters,
        params,
    )?;
    Ok((
        State {
            vals_curr,
            vals_last,
            timeslot: pre.timeslot,
            active_validators: pre.active_validators.clone(),
        },
        (),
    ))
}

#[cfg(test)]
mod tests {
    use parajam_primitives::codec::FixedBytes;
    use parajam_primitives::types::{
        AvailAssurance, Preimage, ReportGuarantee, ValidatorData, ValidatorSignature, WorkReport,
    };
    use parajam_primitives::{ByteArray, Bytes};

    use super::*;

    const P: ProtocolParameters = ProtocolParameters::TINY;

    fn validators() -> ValidatorsData {
        ValidatorsData::new(
            (0..6u8)
                .map(|i| ValidatorData {
                    ed25519: ByteArray([i + 1; 32]),
                    ..ValidatorData::default()
                })
                .collect(),
        )
    }

    fn record(n: u32) -> ValidatorActivityRecord {
        ValidatorActivityRecord {
            blocks: n,
            tickets: n,
            pre_images: n,
            pre_images_size: n,
            guarantees: n,
            assurances: n,
        }
    }

    fn pre_state() -> State {
        State {
            vals_curr: ValidatorsStatistics::new(vec![record(10); 6]),
            vals_last: ValidatorsStatistics::new(vec![record(7); 6]),
            timeslot: 13, // epoch 1 of tiny (E = 12)
            active_validators: validators(),
        }
    }

    fn signature(validator_index: ValidatorIndex) -> ValidatorSignature {
        ValidatorSignature {
            validator_index,
            signature: ByteArray([0; 64]),
        }
    }

    fn busy_extrinsic() -> Extrinsic {
        let guarantee = |signers: &[ValidatorIndex]| ReportGuarantee {
            report: WorkReport::default(),
            slot: 13,
            signatures: signers.iter().copied().map(signature).collect(),
        };
        let assurance = |v| AvailAssurance {
            anchor: ByteArray([0; 32]),
            bitfield: FixedBytes::new(vec![0]),
            validator_index: v,
            signature: ByteArray([0; 64]),
        };
        Extrinsic {
            preimages: vec![
                Preimage {
                    requester: 1,
                    blob: Bytes(vec![1, 2, 3]),
                },
                Preimage {
                    requester: 2,
                    blob: Bytes(vec![4]),
                },
            ],
            // Validator 1 guarantees twice: still one increment (`κ'_v ∈ G`).
            guarantees: vec![guarantee(&[0, 1]), guarantee(&[1, 2])].into(),
            assurances: vec![assurance(3), assurance(4)].into(),
            ..Extrinsic::default()
        }
    }

    #[test]
    fn same_epoch_accumulates() {
        let input = Input {
            slot: 14,
            author_index: 5,
            extrinsic: busy_extrinsic(),
        };
        let (post, ()) = transition(&pre_state(), &input, &P).expect("valid");
        assert_eq!(post.vals_last, pre_state().vals_last);
        let author = post.vals_curr[5];
        assert_eq!(
            (author.blocks, author.pre_images, author.pre_images_size),
            (11, 12, 14)
        );
        let guarantees: Vec<u32> = post.vals_curr.iter().map(|r| r.guarantees).collect();
        assert_eq!(guarantees, [11, 11, 11, 10, 10, 10]);
        let assurances: Vec<u32> = post.vals_curr.iter().map(|r| r.assurances).collect();
        assert_eq!(assurances, [10, 10, 10, 11, 11, 10]);
        assert_eq!(post.timeslot, 13);
    }

    #[test]
    fn new_epoch_rolls_over() {
        let input = Input {
            slot: 24,
            author_index: 0,
            extrinsic: Extrinsic::default(),
        };
        let (post, ()) = transition(&pre_state(), &input, &P).expect("valid");
        assert_eq!(post.vals_last, pre_state().vals_curr);
        assert_eq!(
            post.vals_curr[0],
            ValidatorActivityRecord {
                blocks: 1,
                ..ValidatorActivityRecord::default()
            }
        );
        assert_eq!(post.vals_curr[1], ValidatorActivityRecord::default());
    }

    #[test]
    fn author_out_of_range_is_rejected_and_state_untouched() {
        let pre = pre_state();
        let input = Input {
            slot: 14,
            author_index: 6,
            extrinsic: Extrinsic::default(),
        };
        let err = transition(&pre, &input, &P).expect_err("bad author");
        assert_eq!(err, Error::BadAuthorIndex { index: 6, count: 6 });
        assert_eq!(pre, pre_state());
    }

    #[test]
    fn wrong_state_length_is_rejected() {
        let mut pre = pre_state();
        pre.vals_last.pop();
        let input = Input {
            slot: 14,
            author_index: 0,
            extrinsic: Extrinsic::default(),
        };
        let err = transition(&pre, &input, &P).expect_err("short π_L");
        assert!(matches!(err, Error::BadStateLength { what: "π_L", .. }));
    }

    #[test]
    fn counters_saturate() {
        let mut pre = pre_state();
        pre.vals_curr[0] = record(u32::MAX);
        let input = Input {
            slot: 14,
            author_index: 0,
            extrinsic: busy_extrinsic(),
        };
        let (post, ()) = transition(&pre, &input, &P).expect("valid");
        assert_eq!(post.vals_curr[0], record(u32::MAX));
    }
}
