//! `stf/<family>/{tiny,full}/*.bin`: the state-transition vectors. Each file
//! is a `TestCase { input, pre_state, output, post_state }` in the JAM codec.
//! A case decodes it (and checks the re-encoding is exact), runs the family's
//! transition of `parajam-stf` on `pre_state` and `input`, and checks
//!
//! * the output, including the exact error code when the vector expects one;
//! * the post-state, field by field (a readable diff names each differing
//!   field, map key or sequence index with both values);
//! * on error, that the vector's post-state is its pre-state (parajam's
//!   transitions return no state on error, so the pre-state stands).
//!
//! A family plugs in by implementing the `Family` trait (a few lines: types,
//! how to run, how to diff the state) and adding one line to [`collect`].
//! The vectors' own layouts are in `vectors` (adapted to and from the
//! node's role-named `State`/`Input` of each `parajam-stf` module), their
//! error codes in `codes`.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::Path;

use parajam_primitives::codec::{Decode, Encode};
use parajam_primitives::ProtocolParameters;
use parajam_stf::{preimages, safrole, statistics};

use super::{decode_round_trip, files_with_ext, read, stem, PARAM_SETS};
use crate::{Case, Failure, Outcome};

mod codes;
mod vectors;

use codes::Code;

/// Lists one case per vector file of every STF family and parameter set.
pub fn collect(dir: &Path, cases: &mut Vec<Case>) {
    // Safrole's ring proofs need the KZG setup shipped with its vectors.
    let _ = SRS_PATH.set(dir.join("stf/safrole/zcash-srs-2-11-uncompressed.bin"));
    collect_family::<Authorizations>(dir, cases);
    collect_family::<Disputes>(dir, cases);
    collect_family::<History>(dir, cases);
    collect_family::<Preimages>(dir, cases);
    collect_family::<Safrole>(dir, cases);
    collect_family::<Statistics>(dir, cases);
    collect_family::<Assurances>(dir, cases);
    collect_family::<Reports>(dir, cases);
}

/// An STF vector family and how parajam runs it.
trait Family: 'static {
    /// The directory under `stf/`.
    const DIR: &'static str;
    /// The case family (`stf-<dir>`).
    const ID: &'static str;
    /// The vector's `Input`.
    type Input: Decode + Encode + Debug;
    /// The vector's `State`.
    type State: Decode + Encode + Debug + PartialEq + Clone;
    /// The vector's `Output`, as encoded.
    type Output: Decode + Encode + Debug + PartialEq + VectorOutput;

    /// Runs the transition: the output, and the post-state if it succeeded.
    /// A failed transition also yields its error message for the report.
    fn run(pre: &Self::State, input: &Self::Input, params: &ProtocolParameters) -> Run<Self>;

    /// The differing fields of two states, one line each.
    fn diff(got: &Self::State, want: &Self::State, out: &mut Diff);
}

/// `out.seq`, `out.value` or `out.map` of fields named alike in `got`, in
/// `want` and in the report: `diff_fields!(out, got, want; seq a, value b)`.
macro_rules! diff_fields {
    ($out:ident, $got:ident, $want:ident; $($how:ident $field:ident),+ $(,)?) => {
        $( diff_fields!(@$how $out, $got, $want, $field); )+
    };
    (@seq $out:ident, $got:ident, $want:ident, $field:ident) => {
        $out.seq(stringify!($field), &$got.$field, &$want.$field, Diff::value)
    };
    (@map $out:ident, $got:ident, $want:ident, $field:ident) => {
        $out.map(stringify!($field), &$got.$field, &$want.$field, Diff::value)
    };
    (@value $out:ident, $got:ident, $want:ident, $field:ident) => {
        $out.value(stringify!($field), &$got.$field, &$want.$field)
    };
}

/// A vector's output: an error (`Choice::Err`) or not.
trait VectorOutput {
    /// Whether the vector's output is an error.
    fn is_error(&self) -> bool;
}

impl<T> VectorOutput for Choice<T> {
    fn is_error(&self) -> bool {
        matches!(self, Choice::Err(_))
    }
}

/// A NULL output: never an error.
impl VectorOutput for () {
    fn is_error(&self) -> bool {
        false
    }
}

/// What a transition produced.
struct Run<F: Family + ?Sized> {
    output: F::Output,
    /// `None` on error: the pre-state stands.
    post: Option<F::State>,
    /// The error's description, on error.
    error: Option<String>,
}

/// `Output ::= CHOICE { ok T, err ErrorCode }` of the STF schemas: the
/// error is the index of the schema's `ErrorCode` enumeration.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
// jam-codec's derive casts the variant index to `u8`.
#[allow(clippy::cast_possible_truncation)]
enum Choice<T> {
    #[codec(index = 0)]
    Ok(T),
    #[codec(index = 1)]
    Err(u8),
}

/// `TestCase ::= SEQUENCE { input, pre-state, output, post-state }`.
type Vector<F> = (
    <F as Family>::Input,
    <F as Family>::State,
    <F as Family>::Output,
    <F as Family>::State,
);

fn collect_family<F: Family>(dir: &Path, cases: &mut Vec<Case>) {
    for params in PARAM_SETS {
        let sub = dir.join("stf").join(F::DIR).join(params.name);
        match files_with_ext(&sub, "bin") {
            Ok(files) => {
                for bin in files {
                    cases.push(Case::new(F::ID, Some(params.name), stem(&bin), move || {
                        check_file::<F>(&bin, &params)
                    }));
                }
            }
            Err(e) => cases.push(Case::broken(F::ID, Some(params.name), e)),
        }
    }
}

fn check_file<F: Family>(bin: &Path, params: &ProtocolParameters) -> Outcome {
    let bytes = read(bin)?;
    let (input, pre, want_output, want_post): Vector<F> = decode_round_trip(&bytes, params)?;
    let run = F::run(&pre, &input, params);

    let mut problems = Vec::new();
    if run.output != want_output {
        problems.push(format!(
            "output differs\n  got:  {:?}{}\n  want: {:?}",
            run.output,
            run.error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default(),
            want_output
        ));
    }
    if let (Some(error), false) = (&run.error, want_output.is_error()) {
        problems.push(format!(
            "transition failed where the vector succeeds: {error}"
        ));
    }
    if want_output.is_error() && want_post != pre {
        problems.push("vector expects an error but its post-state is not its pre-state".into());
    }
    let got_post = run.post.as_ref().unwrap_or(&pre);
    let mut diff = Diff::default();
    F::diff(got_post, &want_post, &mut diff);
    diff.report_post_state(*got_post != want_post, &mut problems);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure(problems.join("\n")))
    }
}

fn choice<T, E>(result: Result<T, E>, code: impl Fn(&E) -> u8) -> Choice<T> {
    match result {
        Ok(v) => Choice::Ok(v),
        Err(e) => Choice::Err(code(&e)),
    }
}

/// The run of a transition whose vector output is `Choice<T>`: the exact
/// error code on error, with its code, name and message for the report.
fn run_choice<F, S, T, E: std::fmt::Display>(
    result: Result<(S, T), E>,
    code: impl Fn(&E) -> Code,
) -> Run<F>
where
    F: Family<Output = Choice<T>>,
    F::State: From<S>,
{
    let error = result.as_ref().err().map(|e| {
        let (index, name) = code(e);
        format!("{index} = {name}: {e}")
    });
    let (post, output) = match result {
        Ok((post, out)) => (Some(F::State::from(post)), Ok(out)),
        Err(e) => (None, Err(e)),
    };
    Run {
        output: choice(output, |e| code(e).0),
        post,
        error,
    }
}

/// The run of a transition whose vector output is NULL: an error shows up as
/// a failed run (and a post-state that did not move).
fn run_unit<F, S, E: std::fmt::Display>(result: Result<(S, ()), E>) -> Run<F>
where
    F: Family<Output = ()>,
    F::State: From<S>,
{
    match result {
        Ok((post, ())) => Run {
            output: (),
            post: Some(F::State::from(post)),
            error: None,
        },
        Err(e) => Run {
            output: (),
            post: None,
            error: Some(e.to_string()),
        },
    }
}

// ---------------------------------------------------------------------------
// Families.

/// `stf/preimages` (`preimages.asn`).
struct Preimages;

impl Family for Preimages {
    const DIR: &'static str = "preimages";
    const ID: &'static str = "stf-preimages";
    type Input = vectors::PreimagesInput;
    type State = vectors::PreimagesState;
    type Output = Choice<()>;

    fn run(pre: &Self::State, input: &Self::Input, params: &ProtocolParameters) -> Run<Self> {
        run_choice(
            preimages::transition(&pre.clone().into(), &input.clone().into(), params),
            codes::preimages,
        )
    }

    fn diff(got: &Self::State, want: &Self::State, out: &mut Diff) {
        out.map(
            "accounts",
            &got.accounts,
            &want.accounts,
            |d, path, g, w| {
                d.map(
                    &format!("{path}.preimages"),
                    &g.preimages,
                    &w.preimages,
                    Diff::value,
                );
                d.map(
                    &format!("{path}.requests"),
                    &g.requests,
                    &w.requests,
                    Diff::value,
                );
            },
        );
        diff_fields!(out, got, want; map statistics);
    }
}

/// Where the ring-proof SRS is (set by [`collect`]).
pub(super) static SRS_PATH: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Ring contexts by ring size, built once per process (building one for the
/// full ring of 1023 keys takes a while).
pub(super) fn ring_context(
    size: usize,
) -> Result<std::sync::Arc<parajam_bandersnatch::RingContext>, String> {
    use std::sync::{Arc, Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<BTreeMap<usize, Arc<parajam_bandersnatch::RingContext>>>> =
        OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    let mut cache = cache
        .lock()
        .map_err(|_| "ring context cache poisoned".to_owned())?;
    if let Some(ctx) = cache.get(&size) {
        return Ok(Arc::clone(ctx));
    }
    let path = SRS_PATH.get().ok_or("SRS path not set")?;
    let srs = std::fs::read(path).map_err(|e| format!("SRS {}: {e}", path.display()))?;
    let ctx = Arc::new(
        parajam_bandersnatch::RingContext::from_srs(&srs, size).map_err(|e| e.to_string())?,
    );
    cache.insert(size, Arc::clone(&ctx));
    Ok(ctx)
}

/// `stf/safrole` (`safrole.asn`).
struct Safrole;

impl Family for Safrole {
    const DIR: &'static str = "safrole";
    const ID: &'static str = "stf-safrole";
    type Input = vectors::SafroleInput;
    type State = vectors::SafroleState;
    type Output = Choice<safrole::Output>;

    fn run(pre: &Self::State, input: &Self::Input, params: &ProtocolParameters) -> Run<Self> {
        let ring = match ring_context(usize::from(params.validators_count)) {
            Ok(ring) => ring,
            Err(e) => {
                return Run {
                    output: Choice::Err(u8::MAX),
                    post: None,
                    error: Some(format!("no ring context: {e}")),
                }
            }
        };
        run_choice(
            safrole::transition(&pre.clone().into(), &input.clone().into(), params, &ring),
            codes::safrole,
        )
    }

    fn diff(got: &Self::State, want: &Self::State, out: &mut Diff) {
        diff_fields!(out, got, want; value tau, seq eta, seq lambda, seq kappa, seq gamma_k, seq iota, seq gamma_a, value gamma_s, value gamma_z, value post_offenders);
    }
}

/// `stf/history` (`history.asn`).
struct History;

impl Family for History {
    const DIR: &'static str = "history";
    const ID: &'static str = "stf-history";
    type Input = vectors::HistoryInput;
    type State = vectors::HistoryState;
    type Output = ();

    fn run(pre: &Self::State, input: &Self::Input, params: &ProtocolParameters) -> Run<Self> {
        run_unit(parajam_stf::history::transition(
            &pre.clone().into(),
            &input.clone().into(),
            params,
        ))
    }

    fn diff(got: &Self::State, want: &Self::State, out: &mut Diff) {
        out.seq(
            "beta.history",
            &got.beta.history,
            &want.beta.history,
            Diff::value,
        );
        out.seq(
            "beta.mmr.peaks",
            &got.beta.mmr.peaks,
            &want.beta.mmr.peaks,
            Diff::value,
        );
    }
}

/// `stf/authorizations` (`authorizations.asn`).
struct Authorizations;

impl Family for Authorizations {
    const DIR: &'static str = "authorizations";
    const ID: &'static str = "stf-authorizations";
    type Input = vectors::AuthorizationsInput;
    type State = vectors::AuthorizationsState;
    type Output = ();

    fn run(pre: &Self::State, input: &Self::Input, params: &ProtocolParameters) -> Run<Self> {
        run_unit(parajam_stf::authorizations::transition(
            &pre.clone().into(),
            &input.clone().into(),
            params,
        ))
    }

    fn diff(got: &Self::State, want: &Self::State, out: &mut Diff) {
        diff_fields!(out, got, want; seq auth_pools, seq auth_queues);
    }
}

/// `stf/disputes` (`disputes.asn`).
struct Disputes;

impl Family for Disputes {
    const DIR: &'static str = "disputes";
    const ID: &'static str = "stf-disputes";
    type Input = vectors::DisputesInput;
    type State = vectors::DisputesState;
    type Output = Choice<parajam_stf::disputes::Output>;

    fn run(pre: &Self::State, input: &Self::Input, params: &ProtocolParameters) -> Run<Self> {
        run_choice(
            parajam_stf::disputes::transition(&pre.clone().into(), &input.clone().into(), params),
            codes::disputes,
        )
    }

    fn diff(got: &Self::State, want: &Self::State, out: &mut Diff) {
        out.seq("psi.good", &got.psi.good, &want.psi.good, Diff::value);
        out.seq("psi.bad", &got.psi.bad, &want.psi.bad, Diff::value);
        out.seq("psi.wonky", &got.psi.wonky, &want.psi.wonky, Diff::value);
        out.seq(
            "psi.offenders",
            &got.psi.offenders,
            &want.psi.offenders,
            Diff::value,
        );
        diff_fields!(out, got, want; seq rho, value tau, seq kappa, seq lambda);
    }
}

/// `stf/statistics` (`statistics.asn`).
struct Statistics;

impl Family for Statistics {
    const DIR: &'static str = "statistics";
    const ID: &'static str = "stf-statistics";
    type Input = vectors::StatisticsInput;
    type State = vectors::StatisticsState;
    type Output = ();

    fn run(pre: &Self::State, input: &Self::Input, params: &ProtocolParameters) -> Run<Self> {
        run_unit(statistics::transition(
            &pre.clone().into(),
            &input.clone().into(),
            params,
        ))
    }

    fn diff(got: &Self::State, want: &Self::State, out: &mut Diff) {
        diff_fields!(out, got, want; seq vals_curr, seq vals_last, value slot, seq curr_validators);
    }
}

/// `stf/assurances` (`assurances.asn`).
struct Assurances;

impl Family for Assurances {
    const DIR: &'static str = "assurances";
    const ID: &'static str = "stf-assurances";
    type Input = vectors::AssurancesInput;
    type State = vectors::AssurancesState;
    type Output = Choice<parajam_stf::assurances::Output>;

    fn run(pre: &Self::State, input: &Self::Input, params: &ProtocolParameters) -> Run<Self> {
        run_choice(
            parajam_stf::assurances::transition(&pre.clone().into(), &input.clone().into(), params),
            codes::assurances,
        )
    }

    fn diff(got: &Self::State, want: &Self::State, out: &mut Diff) {
        diff_fields!(out, got, want; seq avail_assignments, seq curr_validators);
    }
}

/// `stf/reports` (`reports.asn`).
struct Reports;

impl Family for Reports {
    const DIR: &'static str = "reports";
    const ID: &'static str = "stf-reports";
    type Input = vectors::ReportsInput;
    type State = vectors::ReportsState;
    type Output = Choice<parajam_stf::reports::Output>;

    fn run(pre: &Self::State, input: &Self::Input, params: &ProtocolParameters) -> Run<Self> {
        run_choice(
            parajam_stf::reports::transition(&pre.clone().into(), &input.clone().into(), params),
            |e| codes::reports(&e.kind),
        )
    }

    fn diff(got: &Self::State, want: &Self::State, out: &mut Diff) {
        diff_fields!(out, got, want; seq avail_assignments, seq curr_validators, seq prev_validators, value entropy, value offenders, value recent_blocks, seq auth_pools, map accounts, seq cores_statistics, map services_statistics);
    }
}

// ---------------------------------------------------------------------------
// Field-by-field differences.

/// The differences found so far, one line each, capped.
#[derive(Debug, Default)]
pub(super) struct Diff {
    pub(super) lines: Vec<String>,
}

impl Diff {
    const MAX_LINES: usize = 24;
    const MAX_VALUE: usize = 400;

    fn push(&mut self, line: String) {
        if self.lines.len() < Self::MAX_LINES {
            self.lines.push(line);
        } else if self.lines.len() == Self::MAX_LINES {
            self.lines.push("… (more differences)".into());
        }
    }

    /// Adds "post-state differs" with these lines to `problems`, or with
    /// a note when the states `differ` but no field diff was found.
    pub(super) fn report_post_state(mut self, differ: bool, problems: &mut Vec<String>) {
        if self.lines.is_empty() && differ {
            self.lines
                .push("post-state differs (no field diff found)".into());
        }
        if !self.lines.is_empty() {
            problems.push(format!(
                "post-state differs:\n  {}",
                self.lines.join("\n  ")
            ));
        }
    }

    fn clip(value: &impl Debug) -> String {
        let s = format!("{value:?}");
        if s.len() > Self::MAX_VALUE {
            let cut = (0..=Self::MAX_VALUE)
                .rev()
                .find(|&i| s.is_char_boundary(i))
                .unwrap_or(0);
            format!("{}…", &s[..cut])
        } else {
            s
        }
    }

    /// A leaf: `path: got X, want Y`.
    pub(super) fn value<T: PartialEq + Debug>(&mut self, path: &str, got: &T, want: &T) {
        if got != want {
            self.push(format!(
                "{path}: got {}, want {}",
                Self::clip(got),
                Self::clip(want)
            ));
        }
    }

    /// A sequence: its length, then each index with `inner`.
    pub(super) fn seq<T: PartialEq>(
        &mut self,
        path: &str,
        got: &[T],
        want: &[T],
        inner: impl Fn(&mut Self, &str, &T, &T),
    ) {
        if got.len() != want.len() {
            self.push(format!("{path}: {} items, want {}", got.len(), want.len()));
        }
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            if g != w {
                inner(self, &format!("{path}[{i}]"), g, w);
            }
        }
    }

    /// A dictionary: missing and unexpected keys, then each common key with `inner`.
    pub(super) fn map<K: Ord + Debug, V: PartialEq + Debug>(
        &mut self,
        path: &str,
        got: &BTreeMap<K, V>,
        want: &BTreeMap<K, V>,
        inner: impl Fn(&mut Self, &str, &V, &V),
    ) {
        for (k, w) in want {
            match got.get(k) {
                None => self.push(format!("{path}[{k:?}]: missing, want {}", Self::clip(w))),
                Some(g) if g != w => inner(self, &format!("{path}[{k:?}]"), g, w),
                Some(_) => {}
            }
        }
        for (k, g) in got {
            if !want.contains_key(k) {
                self.push(format!("{path}[{k:?}]: unexpected {}", Self::clip(g)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_names_fields_keys_and_indices() {
        let mut d = Diff::default();
        d.value("slot", &1u32, &2u32);
        d.seq("v", &[1, 2, 3], &[1, 5], Diff::value);
        let got = BTreeMap::from([(1u8, 'a'), (2, 'b')]);
        let want = BTreeMap::from([(1u8, 'x'), (3, 'c')]);
        d.map("m", &got, &want, Diff::value);
        assert_eq!(
            d.lines,
            [
                "slot: got 1, want 2",
                "v: 3 items, want 2",
                "v[1]: got 2, want 5",
                "m[1]: got 'a', want 'x'",
                "m[3]: missing, want 'c'",
                "m[2]: unexpected 'b'",
            ]
        );
    }

    #[test]
    fn missing_family_directory_is_a_failing_case() {
        let mut cases = Vec::new();
        collect_family::<Preimages>(Path::new("/nonexistent"), &mut cases);
        assert_eq!(cases.len(), PARAM_SETS.len());
        assert!(cases.iter().all(|c| c.run().is_err()));
    }
}
