//! Clipping, inter-sample overs and true peak against the platform's ceiling, from the 10 ms
//! cells of the timeline (so times are within 10 ms) and the clip counts of its frames.
//!
//! Cells over full scale (a sample at or above it, or a true peak above it) closer than
//! [`EVENT_MERGE_S`] make one event. An event with a clipped sample is a clipping finding,
//! from its first to its last clipped cell, with the clipped samples and runs of its frames
//! counted; an event with none is an inter-sample-overs finding.
//!
//! Severity:
//! * clipping: Problem when the runs average [`OVER_RUN_SAMPLES`] samples or more, Warning for
//!   shorter runs (a peak touching full scale);
//! * inter-sample overs: Warning, Problem from [`OVERS_PROBLEM_DBTP`];
//! * true peak over the ceiling: Warning, Problem more than [`CEILING_PROBLEM_DB`] over.

use super::spans::{join, Span};
use super::text::{clock, clock_tenths, num, plural, signed, when};
use super::{amp_db, Context, Finding, FindingKind, Scope, Severity};
use crate::analysis::timeline::CellPeak;
use crate::dsp::decibel::db_to_gain;
use crate::meter::stats::CLIP_LEVEL;
use crate::meter::CELL_SECONDS;

/// Overs closer than this are one event, s: clipping on every beat of a chorus is one finding
/// with a count, not fifty (one beat at 60 BPM).
const EVENT_MERGE_S: f64 = 1.0;
/// Mean run length, in samples, from which clipping is a Problem: three consecutive samples at
/// full scale is the usual definition of an "over" on digital peak meters, the point where
/// clipping stops being a peak that merely touches 0 dBFS.
const OVER_RUN_SAMPLES: f64 = 3.0;
/// Inter-sample peak from which overs are a Problem, dBTP: a full dB over is clipped audibly by
/// converters and lossy encoders without headroom (AES TD1008 asks for −1 dBTP precisely to
/// leave room for the encoders' own overshoot).
const OVERS_PROBLEM_DBTP: f64 = 1.0;
/// True peak above the platform's ceiling by more than this is a Problem, dB.
const CEILING_PROBLEM_DB: f64 = 1.0;

pub(super) fn detect(scope: &Scope, ctx: &Context, out: &mut Vec<Finding>) {
    let over = scope.cells.iter().filter(|c| c.sample_peak >= CLIP_LEVEL || c.true_peak > 1.0);
    for event in join(over.map(cell_span), EVENT_MERGE_S, 0.0) {
        let cells = cells_in(&scope.cells, event);
        let clipped: Vec<&CellPeak> = cells.iter().filter(|c| c.sample_peak >= CLIP_LEVEL).collect();
        match (clipped.first(), clipped.last()) {
            (Some(first), Some(last)) => {
                let span = Span { start: first.start_s, end: (last.start_s + CELL_SECONDS).min(scope.t1) };
                out.push(clipping(scope, span));
            }
            _ => out.push(overs(cells, event)),
        }
    }
    if let Some(f) = ceiling(scope, ctx) {
        out.push(f);
    }
}

fn cell_span(c: &CellPeak) -> (f64, f64) {
    (c.start_s, c.start_s + CELL_SECONDS)
}

/// The cells starting inside `span` (`cells` in time order).
fn cells_in(cells: &[CellPeak], span: Span) -> &[CellPeak] {
    let a = cells.partition_point(|c| c.start_s < span.start - 1e-9);
    let b = cells.partition_point(|c| c.start_s < span.end - 1e-9).max(a);
    &cells[a..b]
}

fn clipping(scope: &Scope, span: Span) -> Finding {
    let frames = scope.frames_in(span.start, span.end);
    let samples: u64 = frames.iter().flat_map(|f| f.clip_samples).map(u64::from).sum();
    let runs: u64 = frames.iter().flat_map(|f| f.clip_runs).map(u64::from).sum::<u64>().max(1);
    let mean_run = samples as f64 / runs as f64;
    let (at_en, at_fr) = when(span);
    Finding {
        kind: FindingKind::Clipping,
        severity: if mean_run >= OVER_RUN_SAMPLES { Severity::Problem } else { Severity::Warning },
        start_s: span.start,
        end_s: span.end,
        value: samples as f64,
        threshold: 0.0,
        unit: "samples".into(),
        explanation_en: format!(
            "Clipping {at_en}: {} at full scale in {}; lower the level before the limiter.",
            plural(samples, "sample", "samples"),
            plural(runs, "run", "runs"),
        ),
        explanation_fr: format!(
            "Écrêtage {at_fr} : {} à pleine échelle, en {} ; baissez le niveau avant le limiteur.",
            plural(samples, "échantillon", "échantillons"),
            plural(runs, "plage", "plages"),
        ),
    }
}

fn overs(cells: &[CellPeak], event: Span) -> Finding {
    let loudest = cells.iter().max_by(|a, b| a.true_peak.total_cmp(&b.true_peak));
    let (peak, at) = loudest.map_or((1.0, event.start), |c| (c.true_peak as f64, c.start_s));
    let peak_db = amp_db(peak);
    let (p_en, p_fr) = signed(peak_db, 1);
    let (at_en, at_fr) = clock_tenths(at);
    Finding {
        kind: FindingKind::InterSampleOvers,
        severity: if peak_db >= OVERS_PROBLEM_DBTP { Severity::Problem } else { Severity::Warning },
        start_s: event.start,
        end_s: event.end,
        value: peak_db,
        threshold: 0.0,
        unit: "dBTP".into(),
        explanation_en: format!(
            "Inter-sample peaks up to {p_en} dBTP at {at_en}, though no sample reaches full scale: \
             they will clip in converters and lossy encoders (MP3, AAC). Use the limiter's true-peak \
             mode or lower its ceiling."
        ),
        explanation_fr: format!(
            "Pics inter-échantillons jusqu'à {p_fr} dBTP à {at_fr}, sans qu'aucun échantillon \
             n'atteigne la pleine échelle : ils satureront à la conversion et à l'encodage (MP3, AAC). \
             Activez le mode true peak du limiteur ou baissez son plafond."
        ),
    }
}

fn ceiling(scope: &Scope, ctx: &Context) -> Option<Finding> {
    let limit_db = ctx.platform.true_peak_dbtp;
    let limit = db_to_gain(limit_db);
    let over: Vec<&CellPeak> = scope.cells.iter().filter(|c| c.true_peak as f64 > limit).collect();
    let (first, last) = (over.first()?, over.last()?);
    let loudest = over.iter().max_by(|a, b| a.true_peak.total_cmp(&b.true_peak))?;
    let places = join(over.iter().map(|c| cell_span(c)), EVENT_MERGE_S, 0.0).len() as u64;
    let peak_db = amp_db(loudest.true_peak as f64);
    let span = Span { start: first.start_s, end: (last.start_s + CELL_SECONDS).min(scope.t1) };
    let name = &ctx.platform.name;
    let (p_en, p_fr) = signed(peak_db, 1);
    let (c_en, c_fr) = num(limit_db, 1);
    let at = clock(loudest.start_s);
    let (a, b) = (clock(span.start), clock(span.end));
    let (where_en, where_fr) = if places == 1 {
        ("it goes over once".to_string(), "il le dépasse une fois".to_string())
    } else {
        (
            format!("it goes over in {places} places from {a} to {b}"),
            format!("il le dépasse à {places} endroits, de {a} à {b}"),
        )
    };
    Some(Finding {
        kind: FindingKind::TruePeakOverTarget,
        severity: if peak_db > limit_db + CEILING_PROBLEM_DB { Severity::Problem } else { Severity::Warning },
        start_s: span.start,
        end_s: span.end,
        value: peak_db,
        threshold: limit_db,
        unit: "dBTP".into(),
        explanation_en: format!(
            "True peak {p_en} dBTP at {at}, above {name}'s {c_en} dBTP ceiling; {where_en}. \
             Set the limiter's ceiling to {c_en} dBTP or lower, in true-peak mode."
        ),
        explanation_fr: format!(
            "True peak de {p_fr} dBTP à {at}, au-dessus du plafond de {c_fr} dBTP de {name} ; \
             {where_fr}. Réglez le plafond du limiteur à {c_fr} dBTP ou moins, en mode true peak."
        ),
    })
}
