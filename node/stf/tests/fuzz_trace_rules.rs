//! Rules of GP 0.7.2 that the public vectors never exercise, each shown by a
//! step of the jam-conformance fuzz traces (`jam-conformance/traces/<id>/`
//! among the unpacked vectors) on which parajam once diverged: the step's
//! block imports on its pre-state, the component the rule governs equals
//! the trace's post-state value, and so does the whole state root.

#![allow(clippy::unwrap_used)]

use parajam_primitives::types::{StateComponent, TraceStep};
use parajam_state::State;

mod common;

use common::{import_on, vectors_dir, PARAMS};

fn step(trace: &str, step: &str) -> TraceStep {
    let path = vectors_dir()
        .join("jam-conformance/traces")
        .join(trace)
        .join(format!("{step}.bin"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parajam_primitives::decode(&bytes, &PARAMS).unwrap()
}

/// Imports the step's block on its pre-state; checks `component` and the
/// root against the step's post-state.
fn imports_as_the_trace_says(trace: &str, name: &str, component: Option<StateComponent>) {
    let step = step(trace, name);
    assert_ne!(
        step.pre_state.state_root, step.post_state.state_root,
        "a valid block"
    );
    let pre = State::from_key_values(&step.pre_state.keyvals, &PARAMS).unwrap();
    let imported = import_on(&pre, step.pre_state.state_root, &step.block)
        .unwrap_or_else(|e| panic!("{trace}/{name}: rejected: {e}"));
    if let Some(c) = component {
        let want = step
            .post_state
            .keyvals
            .iter()
            .find(|kv| kv.key == c.key())
            .unwrap();
        assert_eq!(
            imported.state.encode_component(c),
            want.value.to_vec(),
            "{trace}/{name}: {c:?}"
        );
    }
    let got = imported.state.to_key_values();
    let diff = parajam_state::diff::diff_key_values(&step.post_state.keyvals, &got, &PARAMS);
    assert!(
        diff.is_empty(),
        "{trace}/{name}:\n{}",
        diff.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(imported.state.root(), step.post_state.state_root);
}

/// GP eq. B.10 (`I(e, s)`): a created service's id comes from
/// `H(E(s, η'_0, H_T))` with the general natural encoding `E` (eq. C.6).
#[test]
fn new_service_id_uses_general_natural_encoding_eq_b10() {
    imports_as_the_trace_says("1766241814", "00000179", None);
}

/// GP eq. 11.13: assurance signatures are verified against the prior
/// active set `κ`, also on the first block of an epoch, where `κ' ≠ κ`.
#[test]
fn assurances_verify_under_prior_kappa_eq_11_13() {
    imports_as_the_trace_says(
        "1766243113",
        "00000058",
        Some(StateComponent::AvailabilityAssignments),
    );
}

/// GP eq. 13.5 with the reporters set `R` of eq. 11.26: guarantees count
/// for the validators whose Ed25519 keys signed, keyed from `λ'` for a
/// guarantee of the previous rotation, matched by key in `κ'`.
#[test]
fn guarantee_statistics_credit_reporters_by_key_eq_13_5() {
    imports_as_the_trace_says(
        "1767891325_1291",
        "00003129",
        Some(StateComponent::Statistics),
    );
}

/// GP §6.3 key rotation (`γ'_Z = O([k_b | k <− γ'_P])`) with appendix G's
/// ring (eq. G.3): at an epoch change, a pending Bandersnatch key that is a
/// curve point outside the prime-order subgroup stays in the ring; only a
/// key with "no corresponding Bandersnatch point" becomes the padding point.
#[test]
fn ring_root_keeps_points_outside_the_subgroup_eq_g3() {
    imports_as_the_trace_says("1766243493_1016", "00000035", Some(StateComponent::Safrole));
}

/// GP B.9 `solicit`: a length `z ≥ 2^32` is answered FULL (its footprint
/// exceeds the balance), which the fuzzy service folds into its storage.
#[test]
fn solicit_beyond_32_bit_lengths_is_full_b9() {
    imports_as_the_trace_says("1768066437_3920", "00000012", None);
}

/// GP B.7 `gas` (`ω'_7 = ϱ'`) under §A's one gas per instruction run: a
/// host call sees the gas left after the `ecalli`, not after the rest of
/// its basic block (which polkavm charges on entering the block).
#[test]
fn host_calls_see_gas_per_instruction_run_b7() {
    imports_as_the_trace_says("1767896003_7482", "00000127", None);
}
