//! The advice evaluation on real music (issue 11, item 1): known defects injected into clean
//! excerpts of released music, the product run on them as a user runs it
//! (`analyze --json`, `suggest --json` → `render --apply`), and the result re-measured against
//! the clean excerpt with measures of the evaluation's own. `cargo xtask eval-advice` runs it
//! (`src/bin/eval_advice.rs`); `tests/advice_eval.rs` runs a small fixed subset in CI.
//! The method is in `docs/advice.md`.
//!
//! - [`corpus`]: the music, the tuning/held-out split, the excerpt rule;
//! - [`defects`] (with [`biquad`]): what is injected, seeded;
//! - [`pipeline`]: the `audiocollab` binary;
//! - [`measure`] and [`judge`]: the independent measures and the rules;
//! - [`report`]: the tallies, as text and JSON.

pub mod biquad;
pub mod corpus;
pub mod defects;
pub mod judge;
pub mod measure;
pub mod pipeline;
pub mod report;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{anyhow, Result};

use corpus::{Excerpt, Set, Track};
use defects::{Defect, Kind, Rng};
use measure::{measure, Measures};
use report::{Case, Report};

/// Excerpts whose side-to-mid ratio is below this are mono in all but name: the stereo defects
/// are left out for them, dB.
pub const MONO_SIDE_DB: f64 = -30.0;

/// Which excerpts and defects to run.
#[derive(Clone, Debug)]
pub enum Plan {
    /// Excerpts spread evenly over each set's sorted tracks (`None`: every track), each with
    /// `kinds_per_excerpt` kinds taken in turn from [`Kind::ALL`] (the i-th excerpt of a set
    /// starts at kind `i × kinds_per_excerpt`), so that every kind gets about the same count.
    Spread {
        /// Excerpts per set.
        per_set: Option<usize>,
        /// Defects per excerpt (13 or more: all).
        kinds_per_excerpt: usize,
        /// Instead, exactly these kinds on every excerpt.
        only: Option<Vec<Kind>>,
    },
    /// These tracks (ids) with these kinds.
    Fixed(Vec<(String, Vec<Kind>)>),
}

/// How to run.
#[derive(Clone, Debug)]
pub struct Config {
    /// Seed of the defect draws.
    pub seed: u64,
    /// Excerpt length, s.
    pub excerpt_s: f64,
    /// The sets to run.
    pub sets: Vec<Set>,
    /// What to run.
    pub plan: Plan,
    /// Excerpts run at once (each runs its cases in turn).
    pub jobs: usize,
    /// The `audiocollab` binary.
    pub bin: PathBuf,
    /// A scratch folder (emptied first).
    pub work: PathBuf,
    /// Keep every case's files (input, changes, render) in `work`.
    pub keep: bool,
    /// Print a line per case on stderr.
    pub verbose: bool,
}

/// One excerpt's worth of work: the first of `candidates` the excerpt rule keeps.
struct Unit {
    set: Set,
    index: usize,
    candidates: Vec<Track>,
    kinds: Option<Vec<Kind>>,
}

/// Runs the evaluation.
pub fn run(config: &Config) -> Result<Report> {
    let started = Instant::now();
    let tracks = corpus::tracks()?;
    let units = units(config, &tracks)?;
    let _ = std::fs::remove_dir_all(&config.work);
    std::fs::create_dir_all(&config.work)?;
    let next = AtomicUsize::new(0);
    let cases = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    let left_out = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..config.jobs.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(unit) = units.get(i) else { break };
                let dir = config.work.join(format!("{}-{:03}", unit.set.id(), unit.index));
                match run_unit(config, unit, &dir) {
                    Ok(None) => left_out.lock().unwrap().extend(unit.candidates.iter().map(|t| t.id.clone())),
                    Ok(Some((mut done, mut failed))) => {
                        cases.lock().unwrap().append(&mut done);
                        errors.lock().unwrap().append(&mut failed);
                    }
                    Err(e) => errors.lock().unwrap().push(format!("{}: {e:#}", unit.candidates[0].id)),
                }
                if !config.keep {
                    let _ = std::fs::remove_dir_all(&dir);
                }
            });
        }
    });
    let (mut errors, mut left_out) = (errors.into_inner().unwrap(), left_out.into_inner().unwrap());
    errors.sort();
    left_out.sort();
    let seconds = started.elapsed().as_secs_f64();
    Ok(Report::new(config.seed, config.excerpt_s, cases.into_inner().unwrap(), errors, left_out, seconds))
}

fn units(config: &Config, tracks: &[Track]) -> Result<Vec<Unit>> {
    let mut units = Vec::new();
    match &config.plan {
        Plan::Spread { per_set, .. } => {
            for &set in &config.sets {
                let mine: Vec<&Track> = tracks.iter().filter(|t| t.set == set).collect();
                let n = mine.len();
                let k = per_set.unwrap_or(n).min(n);
                for i in 0..k {
                    let (from, to) = (i * n / k, (i + 1) * n / k);
                    let candidates = mine[from..to].iter().map(|&t| t.clone()).collect();
                    units.push(Unit { set, index: i, candidates, kinds: None });
                }
            }
        }
        Plan::Fixed(list) => {
            for (index, (id, kinds)) in list.iter().enumerate() {
                let track = tracks.iter().find(|t| &t.id == id).ok_or_else(|| anyhow!("no track '{id}' installed"))?;
                if config.sets.contains(&track.set) {
                    units.push(Unit {
                        set: track.set,
                        index,
                        candidates: vec![track.clone()],
                        kinds: Some(kinds.clone()),
                    });
                }
            }
        }
    }
    Ok(units)
}

/// The kinds for the `index`-th excerpt of a set under [`Plan::Spread`].
fn spread_kinds(index: usize, per_excerpt: usize, stereo: bool) -> Vec<Kind> {
    let applicable: Vec<Kind> = Kind::ALL.into_iter().filter(|k| stereo || !k.needs_stereo()).collect();
    if per_excerpt >= applicable.len() {
        return applicable;
    }
    let mut picked: Vec<Kind> =
        (0..per_excerpt).map(|j| applicable[(index * per_excerpt + j) % applicable.len()]).collect();
    picked.sort();
    picked
}

/// Runs one excerpt: clean, then each defect. Returns the cases and the errors of single cases,
/// or `None` when the excerpt rule leaves every candidate track out.
fn run_unit(config: &Config, unit: &Unit, dir: &Path) -> Result<Option<(Vec<Case>, Vec<String>)>> {
    let mut excerpt = None;
    for track in &unit.candidates {
        if let Some(e) = corpus::excerpt(track, config.excerpt_s)? {
            excerpt = Some(e);
            break;
        }
    }
    let Some(excerpt) = excerpt else { return Ok(None) };
    std::fs::create_dir_all(dir)?;
    std::fs::create_dir_all(dir.join("home"))?;
    let clean = measure(&excerpt.channels, excerpt.rate);
    let stereo = clean.side_to_mid_db >= MONO_SIDE_DB;
    let kinds: Vec<Kind> = match (&unit.kinds, &config.plan) {
        (Some(kinds), _) => kinds.iter().copied().filter(|k| stereo || !k.needs_stereo()).collect(),
        (None, Plan::Spread { only: Some(kinds), .. }) => {
            kinds.iter().copied().filter(|k| stereo || !k.needs_stereo()).collect()
        }
        (None, Plan::Spread { kinds_per_excerpt, .. }) => spread_kinds(unit.index, *kinds_per_excerpt, stereo),
        (None, Plan::Fixed(_)) => Vec::new(),
    };
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    let mut one = |defect: Option<Defect>| match run_case(config, &excerpt, &clean, defect.as_ref(), dir) {
        Ok(case) => {
            if config.verbose {
                let v = &case.verdict;
                eprintln!(
                    "{} {:<40} {:<48} detected {:<5} fixed {:<5} worse {}",
                    excerpt.track.set.id(),
                    excerpt.track.id,
                    case.description,
                    v.detected,
                    v.fixed,
                    v.worse
                );
            }
            cases.push(case);
        }
        Err(e) => errors.push(format!(
            "{} ({}): {e:#}",
            excerpt.track.id,
            defect.as_ref().map_or("clean".to_string(), Defect::describe)
        )),
    };
    one(None);
    for kind in kinds {
        let defect = Defect::draw(kind, excerpt.rate, &mut Rng::for_case(config.seed, &[&excerpt.track.id, kind.id()]));
        one(Some(defect));
    }
    Ok(Some((cases, errors)))
}

fn run_case(config: &Config, excerpt: &Excerpt, clean: &Measures, defect: Option<&Defect>, dir: &Path) -> Result<Case> {
    let name = defect.map_or("clean", |d| d.kind.id());
    let (input_path, changes, output_path) = (
        dir.join(format!("{name}.wav")),
        dir.join(format!("{name}.changes.json")),
        dir.join(format!("{name}.out.wav")),
    );
    let (input, input_m) = match defect {
        Some(d) => {
            let lufs = clean.lufs.unwrap_or(-70.0);
            let input = d.apply(&excerpt.channels, excerpt.rate, lufs, pipeline::TARGET_LUFS);
            let m = measure(&input, excerpt.rate);
            (input, m)
        }
        None => (excerpt.channels.clone(), clean.clone()),
    };
    corpus::write_wav(&input_path, &input, excerpt.rate)?;
    drop(input);
    let outcome = pipeline::run_product(&config.bin, &dir.join("home"), &input_path, &changes, &output_path)?;
    let (rate, output) = corpus::read_wav(&output_path)?;
    anyhow::ensure!(rate == excerpt.rate, "the render changed the sample rate: {} → {rate}", excerpt.rate);
    let output_m = measure(&output, rate);
    let verdict = judge::judge(defect, rate, clean, &input_m, &output_m, &outcome.findings);
    if !config.keep {
        for p in [&input_path, &changes, &output_path] {
            let _ = std::fs::remove_file(p);
        }
    }
    Ok(Case {
        set: excerpt.track.set,
        track: excerpt.track.id.clone(),
        start_s: excerpt.start_s,
        description: defect.map_or("clean".to_string(), Defect::describe),
        expected_findings: defect.map_or(Vec::new(), |d| d.expected_findings().to_vec()),
        defect: defect.cloned(),
        outcome,
        verdict,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_kinds_cover_every_kind_in_turn() {
        let mut counts = std::collections::HashMap::new();
        for i in 0..13 {
            for k in spread_kinds(i, 4, true) {
                *counts.entry(k).or_insert(0) += 1;
            }
        }
        assert_eq!(counts.len(), 13);
        assert!(counts.values().all(|&c| c == 4), "{counts:?}");
        assert!(spread_kinds(3, 4, false).iter().all(|k| !k.needs_stereo()));
        assert_eq!(spread_kinds(0, 20, true).len(), 13);
    }
}
