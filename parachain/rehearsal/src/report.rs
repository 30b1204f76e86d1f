//! What checking one block found: each engine's verdict, whether they agree
//! (with a field-by-field diff when not), sizes against the JAM limits,
//! timings, gas, and what accumulate did.

use std::fmt;
use std::time::Duration;

use parajam_corechains_types::{CandidateOutput, NewCode, ValidationResult};
use parity_scale_codec::DecodeAll;

/// The relay chain's verdict on a block (its PVF executor on the wasm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegacyVerdict {
    /// Valid: the octets `validate_block` returned.
    Valid(Vec<u8>),
    /// Invalid: the executor's error.
    Invalid(String),
}

/// The CoreChains service's verdict (refine on the PVM, within `Ξ`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PvmVerdict {
    /// Valid: refine's output.
    Valid(Box<CandidateOutput>),
    /// Refine found the block invalid, for this reason.
    Invalid(String),
    /// Refine or `Ξ` itself failed (a work error, a package over a limit).
    Failed(String),
}

/// A size and the limit it must stay within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sized {
    /// Octets.
    pub size: u64,
    /// The limit, octets.
    pub limit: u64,
}

impl Sized {
    /// Whether the size is within the limit.
    pub fn fits(&self) -> bool {
        self.size <= self.limit
    }
}

impl fmt::Display for Sized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        #[allow(clippy::cast_precision_loss)]
        let percent = if self.limit == 0 {
            f64::INFINITY
        } else {
            self.size as f64 * 100.0 / self.limit as f64
        };
        write!(f, "{} B ({percent:.1}% of {})", self.size, self.limit)?;
        if !self.fits() {
            write!(f, " OVER THE LIMIT")?;
        }
        Ok(())
    }
}

/// What checking one block found.
#[derive(Debug, Clone)]
pub struct BlockReport {
    /// The para block's number.
    pub number: u32,
    /// Extrinsics in it (inherents included), when the rehearsal built it.
    pub extrinsics: Option<usize>,
    /// The relay parent (JAM timeslot) it was built on.
    pub relay_parent: u32,
    /// The relay chain's verdict and how long it took (execute only; the
    /// code was prepared once).
    pub legacy: LegacyVerdict,
    /// Time of the legacy execution.
    pub legacy_time: Duration,
    /// For the first block on its code (cold): how long the relay chain's
    /// prepare of that code took, before the block. `Ξ` of such a block
    /// includes compiling the PVF (issue 19 compares the two).
    pub legacy_prepare: Option<Duration>,
    /// The service's verdict.
    pub pvm: PvmVerdict,
    /// Time of `Ξ` (is-authorized, refine with the PVF as inner machine,
    /// the audit bundle and its erasure coding).
    pub pvm_time: Duration,
    /// Gas refine used (the service's and the PVF's), and the item's limit.
    pub gas: (u64, u64),
    /// Whether both engines agree: both valid with the same octets, or
    /// both invalid.
    pub identical: bool,
    /// Where the two results differ (empty when identical).
    pub diff: Vec<String>,
    /// The PoV (block data) against `max_pov_size`.
    pub pov: Sized,
    /// The relay-state proof in the PoV's parachain inherent, in octets
    /// (when the rehearsal built the block).
    pub relay_proof: Option<u64>,
    /// The new head against the host configuration's `max_head_data_size`.
    pub head: Option<Sized>,
    /// The work package's audit bundle against `W_B`.
    pub bundle: Option<Sized>,
    /// Refine's output against `W_R`.
    pub output: Option<Sized>,
    /// A code upgrade the block asked for.
    pub new_code: Option<NewCode>,
    /// Whether accumulate enacted the block (its head is the para's head).
    pub enacted: bool,
    /// Whether enacting it made a pending code upgrade current.
    pub upgrade_enacted: bool,
    /// What accumulate said when it did not enact it.
    pub rejection: Option<String>,
}

impl BlockReport {
    /// The block is a success of the migration: identical on both
    /// engines, and valid blocks within the JAM limits and enacted.
    pub fn ok(&self) -> bool {
        let valid = matches!(self.legacy, LegacyVerdict::Valid(_));
        let fits = [self.head, self.bundle, self.output]
            .iter()
            .flatten()
            .all(Sized::fits)
            && self.pov.fits();
        self.identical && (!valid || (fits && self.enacted))
    }
}

impl fmt::Display for BlockReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = match (&self.legacy, &self.pvm) {
            (LegacyVerdict::Valid(_), PvmVerdict::Valid(_)) => "valid on both".to_owned(),
            (LegacyVerdict::Invalid(_), PvmVerdict::Invalid(_) | PvmVerdict::Failed(_)) => {
                "invalid on both".to_owned()
            }
            (LegacyVerdict::Valid(_), _) => "valid on wasm only".to_owned(),
            (LegacyVerdict::Invalid(_), PvmVerdict::Valid(_)) => "valid on the PVM only".to_owned(),
        };
        writeln!(
            f,
            "block #{} (relay parent {}{}): {verdict}; results {}",
            self.number,
            self.relay_parent,
            self.extrinsics
                .map(|n| format!(", {n} extrinsics"))
                .unwrap_or_default(),
            if self.identical {
                "identical"
            } else {
                "DIFFERENT"
            },
        )?;
        if let LegacyVerdict::Invalid(why) = &self.legacy {
            for (i, line) in readable_error(why).iter().enumerate() {
                writeln!(f, "  {}{line}", if i == 0 { "wasm:  " } else { "       " })?;
            }
        }
        match &self.pvm {
            PvmVerdict::Invalid(why) | PvmVerdict::Failed(why) => writeln!(f, "  pvm:   {why}")?,
            PvmVerdict::Valid(_) => {}
        }
        for line in &self.diff {
            writeln!(f, "  diff:  {line}")?;
        }
        let ratio = ratio(self.pvm_time, self.legacy_time);
        writeln!(
            f,
            "  time:  wasm {:.2} ms, PVM refine (Ξ) {:.2} ms ({ratio:.2}×); gas {} of {}",
            millis(self.legacy_time),
            millis(self.pvm_time),
            self.gas.0,
            self.gas.1,
        )?;
        if let Some(prepare) = self.legacy_prepare {
            let legacy = prepare + self.legacy_time;
            writeln!(
                f,
                "  cold:  first block on this code: wasm prepare {:.2} ms + execute = {:.2} ms; Ξ with the PVF compiled in it {:.2} ms ({:.2}×)",
                millis(prepare),
                millis(legacy),
                millis(self.pvm_time),
                self::ratio(self.pvm_time, legacy),
            )?;
        }
        writeln!(f, "  PoV:   {}", self.pov)?;
        if let Some(proof) = self.relay_proof {
            writeln!(f, "  relay-state proof (in the PoV): {proof} B")?;
        }
        if let Some(head) = self.head {
            writeln!(f, "  head:  {head}")?;
        }
        if let Some(bundle) = self.bundle {
            writeln!(f, "  work package bundle: {bundle}")?;
        }
        if let Some(output) = self.output {
            writeln!(f, "  refine output: {output}")?;
        }
        if let Some(code) = &self.new_code {
            writeln!(
                f,
                "  asks for new code 0x{} ({} B)",
                hex(&code.code_hash.0),
                code.code_len
            )?;
        }
        if self.upgrade_enacted {
            writeln!(f, "  the pending code upgrade is now current")?;
        }
        match (&self.rejection, self.enacted) {
            (_, true) => write!(f, "  enacted by accumulate"),
            (Some(why), false) => write!(f, "  not enacted: {why}"),
            (None, false) => write!(f, "  not enacted"),
        }
    }
}

/// The totals of a run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Blocks checked.
    pub blocks: usize,
    /// Blocks whose results were identical.
    pub identical: usize,
    /// Blocks valid on both engines.
    pub valid: usize,
    /// Blocks enacted.
    pub enacted: usize,
    /// Blocks that are [`BlockReport::ok`].
    pub ok: usize,
    /// Total legacy execution time.
    pub legacy_time: Duration,
    /// Total `Ξ` time.
    pub pvm_time: Duration,
    /// The first blocks on each code (cold): how many, the relay chain's
    /// prepare and execute of them, and their `Ξ` (the PVF compiled).
    pub cold: (usize, Duration, Duration),
    /// Total gas.
    pub gas: u64,
    /// Largest PoV.
    pub max_pov: u64,
    /// Largest work-package bundle, and `W_B`.
    pub max_bundle: Option<Sized>,
    /// Most refine gas one block used, and its item's limit.
    pub max_gas: (u64, u64),
    /// Largest relay-state proof.
    pub max_relay_proof: Option<u64>,
    /// Code upgrades enacted.
    pub upgrades: usize,
}

impl Summary {
    /// The totals of `reports`.
    pub fn of(reports: &[BlockReport]) -> Self {
        let mut s = Self::default();
        for r in reports {
            s.blocks += 1;
            s.identical += usize::from(r.identical);
            s.valid += usize::from(matches!(
                (&r.legacy, &r.pvm),
                (LegacyVerdict::Valid(_), PvmVerdict::Valid(_))
            ));
            s.enacted += usize::from(r.enacted);
            s.ok += usize::from(r.ok());
            s.legacy_time += r.legacy_time;
            s.pvm_time += r.pvm_time;
            if let Some(prepare) = r.legacy_prepare {
                s.cold.0 += 1;
                s.cold.1 += prepare + r.legacy_time;
                s.cold.2 += r.pvm_time;
            }
            s.gas += r.gas.0;
            s.max_pov = s.max_pov.max(r.pov.size);
            if let Some(b) = r.bundle {
                if s.max_bundle.is_none_or(|m| b.size > m.size) {
                    s.max_bundle = Some(b);
                }
            }
            if r.gas.0 >= s.max_gas.0 {
                s.max_gas = r.gas;
            }
            if let Some(p) = r.relay_proof {
                s.max_relay_proof = Some(s.max_relay_proof.unwrap_or(0).max(p));
            }
            s.upgrades += usize::from(r.upgrade_enacted);
        }
        s
    }

    /// Whether every block is [`BlockReport::ok`].
    pub fn all_ok(&self) -> bool {
        self.ok == self.blocks
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} blocks: {} identical on wasm and PVM, {} valid, {} enacted, {} code upgrade(s) enacted",
            self.blocks, self.identical, self.valid, self.enacted, self.upgrades
        )?;
        writeln!(
            f,
            "time: wasm {:.1} ms, PVM refine (Ξ) {:.1} ms ({:.2}×); gas {}; largest PoV {} B",
            millis(self.legacy_time),
            millis(self.pvm_time),
            ratio(self.pvm_time, self.legacy_time),
            self.gas,
            self.max_pov
        )?;
        let (cold, legacy, pvm) = self.cold;
        if cold > 0 {
            writeln!(
                f,
                "cold: the first block on each code ({cold}): wasm prepare+execute {:.1} ms, PVM refine (Ξ, the PVF compiled) {:.1} ms ({:.2}×)",
                millis(legacy),
                millis(pvm),
                ratio(pvm, legacy),
            )?;
        }
        #[allow(clippy::cast_precision_loss)]
        let gas_percent = if self.max_gas.1 == 0 {
            0.0
        } else {
            self.max_gas.0 as f64 * 100.0 / self.max_gas.1 as f64
        };
        write!(
            f,
            "largest per block: refine gas {} ({gas_percent:.1}% of the item's limit {})",
            self.max_gas.0, self.max_gas.1
        )?;
        if let Some(bundle) = self.max_bundle {
            write!(f, ", work package bundle {bundle} (W_B)")?;
        }
        if let Some(proof) = self.max_relay_proof {
            write!(f, ", relay-state proof {proof} B")?;
        }
        writeln!(f)?;
        write!(
            f,
            "{}",
            if self.all_ok() {
                "MIGRATION OK: every block gives the same result on JAM"
            } else {
                "MIGRATION NOT OK: see the blocks above"
            }
        )
    }
}

/// The relay chain executor's error made readable: each line with crate
/// hashes (`[0123abcd]`) and generic arguments (`<...>`) left out, the
/// wasm backtrace's frames as `in <function>`, at most 12 lines.
pub fn readable_error(error: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for line in error.split('\n') {
        let mut out = String::new();
        let (mut hash, mut generics) = (false, 0usize);
        for c in line.chars() {
            match c {
                '[' if generics == 0 => hash = true,
                ']' if hash => hash = false,
                '<' => {
                    if generics == 0 {
                        out.push_str("<…>");
                    }
                    generics += 1;
                }
                '>' if generics > 0 => generics -= 1,
                _ if hash || generics > 0 => {}
                _ => out.push(c),
            }
        }
        let out = match out.split_once(".wasm!") {
            Some((_, function)) => format!("in {function}"),
            None => out.trim().to_owned(),
        };
        if !out.is_empty() {
            lines.push(out);
        }
    }
    lines.truncate(12);
    lines
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn ratio(a: Duration, b: Duration) -> f64 {
    if b.is_zero() {
        f64::INFINITY
    } else {
        a.as_secs_f64() / b.as_secs_f64()
    }
}

pub(crate) fn hex(octets: &[u8]) -> String {
    use std::fmt::Write as _;
    octets.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A short rendering of octets: the length and the first 16 in hex.
fn short(octets: &[u8]) -> String {
    if octets.len() <= 16 {
        format!("0x{}", hex(octets))
    } else {
        format!("0x{}… ({} B)", hex(&octets[..16]), octets.len())
    }
}

/// Where two encoded `ValidationResult`s differ, field by field (or as
/// octets when one does not decode).
pub fn diff_results(wasm: &[u8], pvm: &[u8]) -> Vec<String> {
    if wasm == pvm {
        return Vec::new();
    }
    let (Ok(a), Ok(b)) = (
        ValidationResult::decode_all(&mut &wasm[..]),
        ValidationResult::decode_all(&mut &pvm[..]),
    ) else {
        return vec![format!(
            "octets: wasm {} vs PVM {}",
            short(wasm),
            short(pvm)
        )];
    };
    let mut out = Vec::new();
    let mut field = |name: &str, x: String, y: String| {
        if x != y {
            out.push(format!("{name}: wasm {x} vs PVM {y}"));
        }
    };
    field("head_data", short(&a.head_data.0), short(&b.head_data.0));
    field(
        "new_validation_code",
        a.new_validation_code
            .as_ref()
            .map_or("none".into(), |c| short(&c.0)),
        b.new_validation_code
            .as_ref()
            .map_or("none".into(), |c| short(&c.0)),
    );
    field(
        "upward_messages",
        format!("{:?}", a.upward_messages),
        format!("{:?}", b.upward_messages),
    );
    field(
        "horizontal_messages",
        format!("{:?}", a.horizontal_messages),
        format!("{:?}", b.horizontal_messages),
    );
    field(
        "processed_downward_messages",
        a.processed_downward_messages.to_string(),
        b.processed_downward_messages.to_string(),
    );
    field(
        "hrmp_watermark",
        a.hrmp_watermark.to_string(),
        b.hrmp_watermark.to_string(),
    );
    if out.is_empty() {
        out.push(format!(
            "octets (same fields): wasm {} vs PVM {}",
            short(wasm),
            short(pvm)
        ));
    }
    out
}
