//! State-transition functions of the Gray Paper (v0.7.2), one module per
//! state component (GP section 4.2, eq. 4.4).
//!
//! Every module follows the same shape:
//!
//! * a `State` holding the part of the state the transition reads and writes,
//!   an `Input` holding what it reads from the block, and an `Error` naming
//!   every way the block can be invalid for this component;
//! * `transition(pre, input, params) -> Result<(State, Output), Error>`, a pure
//!   function: it **validates** the input against the prior state first and
//!   only then **applies** it to a copy. On error the prior state is returned
//!   untouched (the caller simply keeps `pre`);
//! * smaller public functions for each equation, so that a block importer can
//!   run the pieces in the order the paper prescribes (e.g. preimages are
//!   validated against `δ` but integrated into the post-accumulation `δ‡`).
//!
//! Each module's `State` and `Input` name the GP quantities it reads and
//! writes by role, one name per quantity in every module, the same as
//! `parajam_state::State`'s (`κ` is `active_validators`, `λ`
//! `previous_validators`, `ρ` `availability`, `τ` `timeslot`, ...; the
//! symbol is in each field's doc). They are not the test vectors' layouts:
//! the conformance harness adapts the vectors to them.
//!
//! Families so far (those needing no PVM):
//!
//! | module | GP | state |
//! |---|---|---|
//! | [`history`] | §7 "Recent History", eq. 7.5 – 7.8 (MMR append and super-peak of appendix E.2) | `β = (β_H, β_B)` |
//! | [`authorizations`] | §8 "Authorization", eq. 8.1 – 8.3 | `α` (with `φ'` read) |
//! | [`disputes`] | §10 "Disputes, Verdicts and Judgments", eq. 10.2 – 10.20 | `ψ`, `ρ†` (with `τ`, `κ`, `λ` read) |
//! | [`assurances`] | §11.2 "Package Availability Assurances", eq. 11.10 – 11.17 | `ρ†` → `ρ‡` (with `κ` read), `W` |
//! | [`reports`] | §11.3 – 11.4 "Guarantor Assignments", "Work Report Guarantees", eq. 11.18 – 11.43; §13.2 (refinement load of `π_C`, `π_S`) | `ρ‡` → `ρ'` (with `κ'`, `λ'`, `η'`, `ψ'_o`, `β`, `α`, `δ` read), `π_C`, `π_S` |
//! | [`accumulate`] | §12.1 "History and Queuing", eq. 12.1 – 12.12 (queue rules only so far; execution is next) | `ω`, `ξ` (read) |
//! | [`preimages`] | §12.4 "Preimage integration", eq. 12.35 – 12.38 (with `I`, `Y` of eq. 12.21 – 12.22); §13 eq. 13.12, 13.15 | `δ` (preimage parts), `π_S` provisions |
//! | [`header`] | §5 "The Header", eq. 5.2 – 5.9 (`H_X` eq. 5.4 – 5.6); §6.4 seal and entropy source, eq. 6.15 – 6.20; markers eq. 6.27, 6.28, 10.20 | none (checks `κ'`, `γ'_s`, `η'_3` and the markers) |
//! | [`statistics`] | §13.1 "Validator activity", eq. 13.3 – 13.5 | `π_V`, `π_L` |

pub mod accumulate;
pub mod assurances;
pub mod authorizations;
pub mod block;
pub mod disputes;
pub mod header;
pub mod history;
pub mod preimages;
pub mod reports;
pub mod safrole;
pub mod statistics;
#[cfg(test)]
mod test_keys;
