//! What the evaluation found: every case, and per set the tally per defect kind and on the
//! clean excerpts; as a text table and as JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::corpus::Set;
use super::defects::{Defect, Kind};
use super::judge::Verdict;
use super::pipeline::Outcome;

/// The finding kinds about tonal balance: on a clean excerpt, a "problem" of one of these is a
/// false alarm. The last three are kinds the product does not have yet.
pub const TONAL_FINDINGS: [&str; 9] =
    ["boom", "thin_low_end", "mud", "harshness", "sibilance", "dull_top", "boxiness", "hollow_mids", "narrow_stereo"];

/// One excerpt run through the product, clean or with one defect.
#[derive(Clone, Debug, Serialize)]
pub struct Case {
    /// The set of its track.
    pub set: Set,
    /// The track's id (`package/name`).
    pub track: String,
    /// Where the excerpt starts in the track, s.
    pub start_s: f64,
    /// The defect injected (`None`: the clean excerpt).
    pub defect: Option<Defect>,
    /// The defect in words.
    pub description: String,
    /// The finding kinds that would have named it.
    pub expected_findings: Vec<&'static str>,
    /// What the product found and did.
    pub outcome: Outcome,
    /// The verdict.
    pub verdict: Verdict,
}

impl Case {
    /// Tonal findings of this severity.
    pub fn tonal_findings(&self, severity: &str) -> usize {
        self.outcome
            .findings
            .iter()
            .filter(|f| f.severity == severity && TONAL_FINDINGS.contains(&f.kind.as_str()))
            .count()
    }
}

/// Counts for one defect kind (or all of them).
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Tally {
    /// Cases.
    pub cases: usize,
    /// Detected.
    pub detected: usize,
    /// Undone by the rule of the kind (whatever else the render did).
    pub undone: usize,
    /// Undone and nothing made worse.
    pub fixed: usize,
    /// Made worse.
    pub worse: usize,
    /// Made worse because the defect itself grew.
    pub grew: usize,
}

impl Tally {
    fn add(&mut self, v: &Verdict) {
        self.cases += 1;
        self.detected += usize::from(v.detected);
        self.undone += usize::from(v.undone);
        self.fixed += usize::from(v.fixed);
        self.worse += usize::from(v.worse);
        self.grew += usize::from(v.grew);
    }
}

/// The clean excerpts of a set.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct CleanTally {
    /// Clean excerpts.
    pub excerpts: usize,
    /// Tonal "problem" findings on them: false alarms.
    pub tonal_problems: usize,
    /// Excerpts with at least one.
    pub excerpts_with_tonal_problem: usize,
    /// Tonal "warning" findings on them.
    pub tonal_warnings: usize,
    /// Excerpts the suggest → render chain made worse (the rest of the spectrum moved, or the
    /// true peak pushed over the ceiling).
    pub made_worse: usize,
}

/// One set's summary.
#[derive(Clone, Debug, Serialize)]
pub struct SetSummary {
    /// The set.
    pub set: Set,
    /// Per defect kind.
    pub kinds: BTreeMap<Kind, Tally>,
    /// All defect kinds together.
    pub all: Tally,
    /// The clean excerpts.
    pub clean: CleanTally,
}

/// The whole evaluation.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The seed of the draws.
    pub seed: u64,
    /// Excerpt length, s.
    pub excerpt_s: f64,
    /// Per set, in [`Set`] order.
    pub sets: Vec<SetSummary>,
    /// Every case.
    pub cases: Vec<Case>,
    /// Tracks or cases that could not be run, with why.
    pub errors: Vec<String>,
    /// Tracks the excerpt rule left out (too short or too quiet).
    pub left_out: Vec<String>,
    /// Wall time, s.
    pub seconds: f64,
}

impl Report {
    /// Summarises `cases`.
    pub fn new(
        seed: u64,
        excerpt_s: f64,
        mut cases: Vec<Case>,
        errors: Vec<String>,
        left_out: Vec<String>,
        seconds: f64,
    ) -> Self {
        cases.sort_by(|a, b| {
            (a.set, &a.track, a.defect.as_ref().map(|d| d.kind)).cmp(&(
                b.set,
                &b.track,
                b.defect.as_ref().map(|d| d.kind),
            ))
        });
        let mut sets: Vec<SetSummary> = Vec::new();
        for set in [Set::Tuning, Set::HeldOut] {
            let mine: Vec<&Case> = cases.iter().filter(|c| c.set == set).collect();
            if mine.is_empty() {
                continue;
            }
            let mut s = SetSummary { set, kinds: BTreeMap::new(), all: Tally::default(), clean: CleanTally::default() };
            for c in mine {
                match &c.defect {
                    Some(d) => {
                        s.kinds.entry(d.kind).or_default().add(&c.verdict);
                        s.all.add(&c.verdict);
                    }
                    None => {
                        let problems = c.tonal_findings("problem");
                        s.clean.excerpts += 1;
                        s.clean.tonal_problems += problems;
                        s.clean.excerpts_with_tonal_problem += usize::from(problems > 0);
                        s.clean.tonal_warnings += c.tonal_findings("warning");
                        s.clean.made_worse += usize::from(c.verdict.worse);
                    }
                }
            }
            sets.push(s);
        }
        Report { seed, excerpt_s, sets, cases, errors, left_out, seconds }
    }

    /// The summary of `set`, if it ran.
    pub fn set(&self, set: Set) -> Option<&SetSummary> {
        self.sets.iter().find(|s| s.set == set)
    }

    /// The text table.
    pub fn text(&self) -> String {
        let mut t = String::new();
        for s in &self.sets {
            let _ = writeln!(
                t,
                "\n{} set: {} clean excerpts of {} s, seed {}",
                s.set.id(),
                s.clean.excerpts,
                self.excerpt_s,
                self.seed
            );
            let _ = writeln!(
                t,
                "  {:<18} {:>6} {:>9} {:>7} {:>7} {:>7} {:>10}",
                "defect", "cases", "detected", "undone", "fixed", "worse", "(it grew)"
            );
            let row = |t: &mut String, name: &str, k: &Tally| {
                let _ = writeln!(
                    t,
                    "  {:<18} {:>6} {:>9} {:>7} {:>7} {:>7} {:>10}",
                    name, k.cases, k.detected, k.undone, k.fixed, k.worse, k.grew
                );
            };
            for (kind, tally) in &s.kinds {
                row(&mut t, kind.id(), tally);
            }
            row(&mut t, "all defects", &s.all);
            let pct = |n: usize| if s.all.cases == 0 { 0.0 } else { 100.0 * n as f64 / s.all.cases as f64 };
            let _ = writeln!(
                t,
                "  {:<18} {:>6} {:>8.0}% {:>6.0}% {:>6.0}% {:>6.0}% {:>9.0}%",
                "",
                "",
                pct(s.all.detected),
                pct(s.all.undone),
                pct(s.all.fixed),
                pct(s.all.worse),
                pct(s.all.grew)
            );
            let c = &s.clean;
            let _ = writeln!(
                t,
                "  clean excerpts: {} tonal problems on {} of {} (false alarms), {} tonal warnings; made worse by suggest → render: {}",
                c.tonal_problems, c.excerpts_with_tonal_problem, c.excerpts, c.tonal_warnings, c.made_worse
            );
        }
        if !self.left_out.is_empty() {
            let _ =
                writeln!(t, "\nleft out by the excerpt rule (too short or too quiet): {}", self.left_out.join(", "));
        }
        for e in &self.errors {
            let _ = writeln!(t, "error: {e}");
        }
        let _ = writeln!(t, "\n{} cases in {:.0} s", self.cases.len(), self.seconds);
        t
    }
}
