//! The JAM conformance harness: finds the shared test vectors and turns each
//! vector into one [`Case`] that checks parajam against it.
//!
//! Both the `vectors` test target (one libtest test per case, so it works
//! under cargo-nextest) and the `parajam-vectors` binary (a summary table per family)
//! are thin front ends over [`collect`].
//!
//! A family whose directory is missing yields a failing case that says so:
//! missing vectors are never a silent pass.

pub mod families;

use std::fmt;
use std::path::Path;

pub use parajam_vectors::{locate as locate_vectors, MissingVectors};

/// The outcome of a failed check, explained for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for Failure {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// What a check returns.
pub type Outcome = Result<(), Failure>;

type Check = Box<dyn Fn() -> Outcome + Send + Sync>;

/// One conformance vector (or one case of a multi-case vector file).
pub struct Case {
    /// The vector family (`codec`, `erasure`, `shuffle`, `trie`, `traces-codec`).
    pub family: &'static str,
    /// The parameter set, where the family has one (`tiny`, `full`).
    pub params: Option<&'static str>,
    /// The vector's own name (file stem or case index).
    pub name: String,
    /// Why the case is skipped, if it is on the skip list.
    pub skip: Option<&'static str>,
    check: Check,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case")
            .field("id", &self.id())
            .field("skip", &self.skip)
            .finish_non_exhaustive()
    }
}

impl Case {
    /// Makes a case.
    pub fn new(
        family: &'static str,
        params: Option<&'static str>,
        name: impl Into<String>,
        check: impl Fn() -> Outcome + Send + Sync + 'static,
    ) -> Self {
        let name = name.into();
        let skip = skip_reason(family, params, &name);
        Self {
            family,
            params,
            name,
            skip,
            check: Box::new(check),
        }
    }

    /// A case that fails with `reason`: used when a family cannot even be listed.
    pub fn broken(family: &'static str, params: Option<&'static str>, reason: String) -> Self {
        Self::new(family, params, "listing", move || {
            Err(Failure(reason.clone()))
        })
    }

    /// `family::params::name`, the test name.
    pub fn id(&self) -> String {
        match self.params {
            Some(p) => format!("{}::{}::{}", self.family, p, self.name),
            None => format!("{}::{}", self.family, self.name),
        }
    }

    /// Runs the check. Panics inside the code under test are caught and
    /// reported as failures, so one bad vector cannot stop a run.
    pub fn run(&self) -> Outcome {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (self.check)())) {
            Ok(outcome) => outcome,
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(ToString::to_string)
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic payload".to_owned());
                Err(Failure(format!("panicked: {msg}")))
            }
        }
    }
}

/// Vectors that are known not to pass yet, each with the reason.
///
/// Every entry is printed by both front ends; nothing is skipped silently.
/// Matching is on the case id prefix.
pub const SKIP_LIST: &[(&str, &str)] = &[];

fn skip_reason(family: &str, params: Option<&str>, name: &str) -> Option<&'static str> {
    let id = match params {
        Some(p) => format!("{family}::{p}::{name}"),
        None => format!("{family}::{name}"),
    };
    SKIP_LIST
        .iter()
        .find(|(prefix, _)| id.starts_with(prefix))
        .map(|(_, why)| *why)
}

/// Every case of every family found under the vectors directory `dir`.
pub fn collect(dir: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    families::codec::collect(dir, &mut cases);
    families::erasure::collect(dir, &mut cases);
    families::shuffle::collect(dir, &mut cases);
    families::trie::collect(dir, &mut cases);
    families::traces_codec::collect(dir, &mut cases);
    families::traces::collect(dir, &mut cases);
    families::stf::collect(dir, &mut cases);
    families::accumulate::collect(dir, &mut cases);
    families::pvm::collect(dir, &mut cases);
    cases
}
