//! Protocol parameters (GP 0.7.2, appendix I.4 "Constants").
//!
//! The Gray Paper fixes one set of constants; the conformance vectors also use a
//! reduced `tiny` set. Both are values of one type, chosen at run time, so one
//! binary serves both (see `../shared/SPEC.md`).

use std::fmt;
use std::str::FromStr;

/// Every protocol constant whose value differs between chain configurations,
/// plus the ones that do not (kept here so that code reads them from one place).
///
/// Field names follow the Gray Paper symbol they stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProtocolParameters {
    /// Human-readable name of this parameter set (`tiny`, `full`).
    pub name: &'static str,
    /// `V`: the total number of validators.
    pub validators_count: u16,
    /// `C`: the total number of cores.
    pub core_count: u16,
    /// `E`: the length of an epoch in timeslots.
    pub epoch_length: u32,
    /// `Y`: the number of slots into an epoch at which ticket submission ends.
    pub ticket_submission_end: u32,
    /// `K`: the maximum number of tickets which may be submitted in a single extrinsic.
    pub max_tickets_per_block: u8,
    /// `N`: the number of ticket entries per validator.
    pub tickets_per_validator: u8,
    /// `R`: the rotation period of validator-core assignments, in timeslots.
    pub rotation_period: u16,
    /// `H`: the size of recent history, in blocks.
    pub recent_history_size: u16,
    /// `O`: the maximum number of items in the authorizations pool.
    pub auth_pool_max_size: u16,
    /// `Q`: the number of items in the authorizations queue.
    pub auth_queue_size: u16,
    /// `I`: the maximum amount of work items in a package.
    pub max_work_items: u16,
    /// `J`: the maximum sum of dependency items in a work-report.
    pub max_report_dependencies: u16,
    /// `T`: the maximum number of extrinsics in a work-package.
    pub max_package_extrinsics: u16,
    /// `W_M`: the maximum number of imports in a work-package.
    pub max_package_imports: u16,
    /// `W_X`: the maximum number of exports in a work-package.
    pub max_package_exports: u16,
    /// `U`: the period in timeslots after which reported but unavailable work may be replaced.
    pub assurance_timeout_period: u32,
    /// `L`: the maximum age in timeslots of the lookup anchor.
    pub max_lookup_anchor_age: u32,
    /// `D`: the period in timeslots after which an unreferenced preimage may be expunged.
    pub preimage_expunge_period: u32,
    /// `G_A`: the gas allocated to invoke a work-report's accumulation logic.
    pub gas_accumulate_report: u64,
    /// `G_I`: the gas allocated to invoke a work-package's is-authorized logic.
    pub gas_is_authorized: u64,
    /// `G_R`: the gas allocated to invoke a work-package's refine logic.
    pub gas_refine: u64,
    /// `G_T`: the total gas allocated across all accumulation in a block.
    pub gas_total_accumulation: u64,
    /// `W_P`: the number of erasure-coded pieces in a segment.
    pub erasure_pieces_per_segment: u32,
    /// `W_E`: the basic size of erasure-coded pieces in octets.
    pub erasure_piece_size: u32,
    /// `W_G = W_P * W_E`: the size of a segment in octets.
    pub segment_size: u32,
    /// `W_B`: the maximum size of an encoded work-package with extrinsic data and imports.
    pub max_bundle_size: u32,
    /// `W_R`: the maximum total size of all output blobs in a work-report.
    pub max_report_output_size: u32,
    /// `W_A`: the maximum size of is-authorized code in octets.
    pub max_authorizer_code_size: u32,
    /// `W_C`: the maximum size of service code in octets.
    pub max_service_code_size: u32,
    /// `W_T`: the size of a transfer memo in octets.
    pub transfer_memo_size: u32,
    /// `B_I`: the additional minimum balance required per item of elective service state.
    pub deposit_per_item: u64,
    /// `B_L`: the additional minimum balance required per octet of elective service state.
    pub deposit_per_octet: u64,
    /// `B_S`: the basic minimum balance which all services require.
    pub deposit_per_service: u64,
    /// `S`: the minimum public service index; services of lower index are privileged.
    pub min_public_service_index: u32,
    /// `P`: the slot period, in seconds.
    pub slot_period_secs: u32,
}

impl ProtocolParameters {
    /// The Gray Paper's own values (appendix I.4).
    pub const FULL: Self = Self {
        name: "full",
        validators_count: 1023,
        core_count: 341,
        epoch_length: 600,
        ticket_submission_end: 500,
        max_tickets_per_block: 16,
        tickets_per_validator: 2,
        rotation_period: 10,
        recent_history_size: 8,
        auth_pool_max_size: 8,
        auth_queue_size: 80,
        max_work_items: 16,
        max_report_dependencies: 8,
        max_package_extrinsics: 128,
        max_package_imports: 3072,
        max_package_exports: 3072,
        assurance_timeout_period: 5,
        max_lookup_anchor_age: 14_400,
        preimage_expunge_period: 19_200,
        gas_accumulate_report: 10_000_000,
        gas_is_authorized: 50_000_000,
        gas_refine: 5_000_000_000,
        gas_total_accumulation: 3_500_000_000,
        erasure_pieces_per_segment: 6,
        erasure_piece_size: 684,
        segment_size: 4104,
        max_bundle_size: 13_791_360,
        max_report_output_size: 48 * 1024,
        max_authorizer_code_size: 64_000,
        max_service_code_size: 4_000_000,
        transfer_memo_size: 128,
        deposit_per_item: 10,
        deposit_per_octet: 1,
        deposit_per_service: 100,
        min_public_service_index: 1 << 16,
        slot_period_secs: 6,
    };

    /// The reduced `tiny` configuration of the conformance vectors
    /// (`lib/tiny-const.asn` and `../shared/SPEC.md`).
    pub const TINY: Self = Self {
        name: "tiny",
        validators_count: 6,
        core_count: 2,
        epoch_length: 12,
        ticket_submission_end: 10,
        max_tickets_per_block: 3,
        tickets_per_validator: 3,
        rotation_period: 4,
        max_lookup_anchor_age: 24,
        preimage_expunge_period: 32,
        gas_total_accumulation: 20_000_000,
        gas_refine: 1_000_000_000,
        erasure_pieces_per_segment: 1026,
        erasure_piece_size: 4,
        ..Self::FULL
    };

    /// `tiny` with twice the validators and cores (`V` = 12, `C` = 4, three
    /// validators a core as in `full`), for measuring how a network grows
    /// from six validators to twelve on one machine. Not a set of the
    /// conformance vectors. The erasure code keeps `full`'s rate of one
    /// third: `W_E` = 8 (4 data shards of 12), `W_P` = 513, `W_G` = 4104.
    pub const TINY_12: Self = Self {
        name: "tiny-12",
        validators_count: 12,
        core_count: 4,
        erasure_pieces_per_segment: 513,
        erasure_piece_size: 8,
        ..Self::TINY
    };

    /// `⌊2V/3⌋ + 1`: the number of votes in a verdict (GP eq. 10.3, "super-majority").
    pub fn validators_super_majority(&self) -> usize {
        usize::from(self.validators_count) * 2 / 3 + 1
    }

    /// `⌈C/8⌉`: octets of an availability bitfield (GP eq. 11.10).
    pub fn avail_bitfield_bytes(&self) -> usize {
        usize::from(self.core_count).div_ceil(8)
    }

    /// Number of data shards of the erasure code (`W_E / 2`): 342 full, 2 tiny.
    pub fn erasure_data_shards(&self) -> usize {
        self.erasure_piece_size as usize / 2
    }

    /// Number of erasure-coded chunks, one per validator.
    pub fn erasure_total_shards(&self) -> usize {
        usize::from(self.validators_count)
    }

    /// Every named parameter set, for lookups by name.
    pub const ALL: [Self; 3] = [Self::TINY, Self::FULL, Self::TINY_12];
}

impl fmt::Display for ProtocolParameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// The name did not match any known parameter set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown protocol parameter set `{0}` (expected `tiny`, `full` or `tiny-12`)")]
pub struct UnknownParameters(pub String);

impl FromStr for ProtocolParameters {
    type Err = UnknownParameters;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.name.eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownParameters(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_values_match_the_vector_constants() {
        // lib/tiny-const.asn: validators-super-majority 5, avail-bitfield-bytes 1.
        assert_eq!(ProtocolParameters::TINY.validators_super_majority(), 5);
        assert_eq!(ProtocolParameters::TINY.avail_bitfield_bytes(), 1);
        // lib/full-const.asn: 683 and 43.
        assert_eq!(ProtocolParameters::FULL.validators_super_majority(), 683);
        assert_eq!(ProtocolParameters::FULL.avail_bitfield_bytes(), 43);
        for p in ProtocolParameters::ALL {
            assert_eq!(
                p.segment_size,
                p.erasure_piece_size * p.erasure_pieces_per_segment
            );
            // Three validators a core; about a third of the shards recover
            // (342 of 1023 in `full`).
            assert_eq!(p.validators_count, 3 * p.core_count, "{p}");
            assert!(
                3 * p.erasure_data_shards() <= p.erasure_total_shards() + 3,
                "{p}"
            );
            assert!(
                3 * p.erasure_data_shards() >= p.erasure_total_shards(),
                "{p}"
            );
            // Two thirds plus one of the validators can fill the ticket
            // contest (JAM chain-spec constraint on `N`).
            assert!(
                p.validators_super_majority() * usize::from(p.tickets_per_validator)
                    >= p.epoch_length as usize,
                "{p}"
            );
            assert!(p.ticket_submission_end < p.epoch_length, "{p}");
        }
    }

    #[test]
    fn parses_by_name() {
        assert_eq!(
            "tiny".parse::<ProtocolParameters>(),
            Ok(ProtocolParameters::TINY)
        );
        assert_eq!(
            "FULL".parse::<ProtocolParameters>(),
            Ok(ProtocolParameters::FULL)
        );
        assert_eq!(
            "tiny-12".parse::<ProtocolParameters>(),
            Ok(ProtocolParameters::TINY_12)
        );
        assert!("medium".parse::<ProtocolParameters>().is_err());
    }
}
