//! The closed loop: a suggestion (the engine's or a model's, already validated) is played
//! through the product's own chain on the analysed audio and measured again with the product's
//! own analysis before it is shown. Each move (the changes that act together,
//! [`ChangeSet::moves`]) must do what it claims, or it is halved, then refused, with the reason:
//!
//! * a tone move (an EQ gain, a de-esser, a compressor…) must bring the bands it moves closer
//!   to the target, must not move the rest of the spectrum by more than [`SPILL_DB`] RMS, and
//!   must not push the true peak over the platform's ceiling when no level move follows;
//! * the level move (output or input gain) is sized again from what was measured once the tone
//!   moves that held are in: the loudness at the platform's target, or as close as the true-peak
//!   ceiling allows, and the true peak under the ceiling whatever the source did.
//!
//! Each kept move says what it was predicted to do and what it measured ("harshness +4.1 →
//! +0.8 dB"). The audio is whatever the caller has: a stretch of the file (the CLI), the recent
//! audio of the plugin. Bounded: at most [`MAX_SECONDS`] of it, a fixed number of renders per
//! move; odd audio (silence, NaN, too short) leaves the suggestion unchecked, with a note.

use crate::actions::{finding_priority, max_step, ChangeSet, Priority};
use crate::suggest::estimated_loudness_change;
use audiocollab_core::analysis::targets;
use audiocollab_core::analysis::timeline::Timeline;
use audiocollab_core::analysis::track::{analyze_timeline, AnalyzeOptions, TrackAnalysis};
use audiocollab_core::dsp::eq;
use audiocollab_core::lang::Lang;
use audiocollab_core::meter::stats::{band_centre_hz, BAND_COUNT};
use audiocollab_core::offline::{Renderer, RENDER_BLOCK};
use audiocollab_core::spec::{ParamId, Settings};
use audiocollab_core::text;
use serde::Serialize;
use std::sync::Arc;

/// Most audio a check renders, seconds: long enough for the integrated loudness and the band
/// levels of a song's loudest passage, short enough that a dozen renders stay quick.
pub const MAX_SECONDS: f64 = 30.0;
/// Shortest audio worth checking on, seconds: the BS.1770 gate needs a few 400 ms blocks and
/// the band levels a few frames.
pub const MIN_SECONDS: f64 = 3.0;
/// A tone move may move the bands it does not aim at by this much, RMS, dB: the evaluation's
/// "rest of the spectrum moved" rule (docs/advice.md).
pub const SPILL_DB: f64 = 1.5;
/// Margin kept under the platform's true-peak ceiling when the level is sized, dB (as the
/// engine keeps: lossy re-encoding raises the true peak a little, AES TD1008).
pub const CEILING_MARGIN_DB: f64 = 0.3;
/// A level move smaller than this is no move, dB.
const LEVEL_STEP_DB: f64 = 0.3;
/// Renders of the level move's sizing at most (a compressor after the input gain makes the
/// gain-to-level relation less than linear).
const LEVEL_PASSES: usize = 3;

/// The largest raise of a gain a suggestion makes without audio to check it on, dB: the
/// validator lets a gain rise across its whole range (a master 20 LU under the target needs
/// 20 dB), because the true peak, not a step, is what bounds a raise; where the audio is not
/// at hand, the analysis' measured true peak bounds it instead ([`hold_blind`]).
pub const BLIND_RAISE_DB: f64 = 6.0;

/// Without audio to play `set` on (the plugin before it keeps any): holds each gain raise of
/// more than [`BLIND_RAISE_DB`] to the true-peak headroom `analysis` measured (the platform's
/// ceiling less [`CEILING_MARGIN_DB`]), or to [`BLIND_RAISE_DB`] when nothing was measured,
/// with a note saying so.
pub fn hold_blind(set: &mut ChangeSet, analysis: Option<&TrackAnalysis>, lang: Lang) {
    let headroom = analysis.and_then(|a| {
        let tp = a.loudness.true_peak_dbtp?;
        Some(a.platform.true_peak_dbtp - CEILING_MARGIN_DB - tp)
    });
    let limit = headroom.map_or(BLIND_RAISE_DB, |h| h.max(BLIND_RAISE_DB));
    for i in 0..set.changes().len() {
        let c = &set.changes()[i];
        if !matches!(c.param, ParamId::OutputGain | ParamId::InputGain) || f64::from(c.to - c.from) <= limit {
            continue;
        }
        let to = f64::from(c.from) + limit;
        let note = match lang {
            Lang::En => format!(
                "held to +{} dB: the measured true-peak headroom, without audio to check it on",
                text::number(limit, 1, lang)
            ),
            Lang::Fr => format!(
                "limité à +{} dB : la marge de true peak mesurée, faute d'audio pour le vérifier",
                text::number(limit, 1, lang)
            ),
        };
        set.resize(i, to, &note);
    }
}

/// Audio to check a suggestion on: planar, 1 or 2 channels.
#[derive(Clone, Copy, Debug)]
pub struct Audio<'a> {
    /// Frames per second.
    pub sample_rate: u32,
    /// One slice per channel.
    pub channels: &'a [Vec<f32>],
    /// Where it starts in the track, seconds (for the text).
    pub from_s: f64,
}

/// One measured effect of a move.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Effect {
    /// What: a finding kind (`harshness`), `loudness` or `true_peak`.
    pub what: String,
    /// Unit of the values (`dB`, `LUFS`, `dBTP`).
    pub unit: String,
    /// Before the move.
    pub before: f64,
    /// What the settings predict (the EQ's response, the gain), when they can.
    pub predicted: Option<f64>,
    /// Measured on the audio after the move.
    pub measured: f64,
}

/// What happened to a move.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Kept as proposed.
    Kept,
    /// Kept with another size.
    Resized,
    /// Refused.
    Dropped,
}

/// One move as checked.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Checked {
    /// Its parameters (ids).
    pub params: Vec<String>,
    /// The finding it answers, if it says.
    pub finding: Option<String>,
    /// Kept, resized or dropped.
    pub verdict: Verdict,
    /// Why it was resized or dropped.
    pub why: Option<String>,
    /// Its effects, measured (after the resize when resized; what it would have done when
    /// dropped).
    pub effects: Vec<Effect>,
}

/// The result of a check: what it did to each move, and a line for the musician.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Report {
    /// Audio checked on, seconds `[from, to]`.
    pub span_s: (f64, f64),
    /// Every move, in the order of the set.
    pub moves: Vec<Checked>,
    /// Why nothing was checked, when nothing was.
    pub unchecked: Option<String>,
}

/// The measures a move is judged on, from the product's analysis.
#[derive(Clone, Debug)]
struct Measure {
    lufs: f64,
    true_peak: f64,
    /// (centre Hz, level relative to the loudness dB, balance against the target dB).
    bands: Vec<(f64, f64, f64)>,
}

impl Measure {
    /// Absolute level of band `i`, dB.
    fn level(&self, i: usize) -> f64 {
        self.bands[i].1 + self.lufs
    }
}

/// Plays `audio` through the chain set to `settings` and measures it; `None` when it cannot
/// (a channel count or rate the chain refuses, silence, non-finite output).
fn measure(audio: &Audio<'_>, settings: &Settings, options: &AnalyzeOptions) -> Option<Measure> {
    let mut renderer = Renderer::new(audio.sample_rate, audio.channels.len(), settings).ok()?;
    let mut out: Vec<Vec<f32>> = audio.channels.to_vec();
    let frames = out.iter().map(Vec::len).min().unwrap_or(0);
    out.iter_mut().for_each(|c| {
        c.truncate(frames);
        // Concealed, as the analysis conceals them: a NaN must not reach the filters' state.
        c.iter_mut().filter(|s| !s.is_finite()).for_each(|s| *s = 0.0);
    });
    let mut start = 0;
    while start < frames {
        let end = (start + RENDER_BLOCK).min(frames);
        match out.as_mut_slice() {
            [m] => renderer.process(&mut [&mut m[start..end]]),
            [l, r] => renderer.process(&mut [&mut l[start..end], &mut r[start..end]]),
            _ => return None,
        }
        start = end;
    }
    renderer.finish().ok()?;
    let views: Vec<&[f32]> = out.iter().map(Vec::as_slice).collect();
    let timeline = Timeline::of_audio(audio.sample_rate, &views, |_| {}).ok()?;
    let options = AnalyzeOptions { from_s: None, to_s: None, ..options.clone() };
    let a = analyze_timeline(&timeline, &[], &options).ok()?;
    Some(Measure {
        lufs: a.loudness.integrated_lufs.filter(|l| l.is_finite())?,
        true_peak: a.loudness.true_peak_dbtp.filter(|t| t.is_finite())?,
        bands: a
            .tonal_balance
            .bands
            .iter()
            .map(|b| (b.centre_hz as f64, b.level_db as f64, b.balance_db as f64))
            .collect(),
    })
}

/// The options the track was analysed with (platform and genre), for the re-measures.
pub fn options_of(analysis: &TrackAnalysis) -> AnalyzeOptions {
    // The target the analysis judged against, band by band (a reference track's, or the
    // genre's), so the check measures against the same one.
    // The bands past the Nyquist frequency of a low rate are not measured: they keep the
    // genre's values.
    let reference = targets::genre(&analysis.genre).map(|genre| {
        let mut target = genre.clone();
        for band in &analysis.tonal_balance.bands {
            let centre = f64::from(band.centre_hz);
            let index = (0..BAND_COUNT).find(|&b| (band_centre_hz(b) / centre - 1.0).abs() < 0.05);
            if let Some(b) = index.filter(|&b| b < target.bands_db.len() && b < target.tolerance_db.len()) {
                target.bands_db[b] = band.target_db;
                target.tolerance_db[b] = band.tolerance_db;
            }
        }
        Arc::new(target)
    });
    AnalyzeOptions {
        platform: analysis.platform.id.clone(),
        genre: analysis.genre.clone(),
        reference,
        ..Default::default()
    }
}

/// The loudest stretch of `seconds` in `timeline` (by the mean square of its 100 ms frames),
/// `(from, to)` seconds: where a check hears the peaks and the body of the track. The whole
/// track when it is shorter.
pub fn loudest_window(timeline: &Timeline, seconds: f64) -> (f64, f64) {
    let frames = timeline.frames();
    let duration = timeline.duration_s();
    let channels = timeline.channels();
    if duration <= seconds || frames.is_empty() {
        return (0.0, duration);
    }
    let len = ((seconds / frames[0].duration_s.max(1e-3)).round() as usize).clamp(1, frames.len());
    let energy: Vec<f64> = frames.iter().map(|f| f.mean_square(channels)).collect();
    let mut sum: f64 = energy[..len].iter().sum();
    let (mut best, mut best_at) = (sum, 0);
    for i in len..energy.len() {
        sum += energy[i] - energy[i - len];
        if sum > best {
            (best, best_at) = (sum, i + 1 - len);
        }
    }
    let from = frames[best_at].start_s;
    (from, (from + seconds).min(duration))
}

/// `settings` with the changes at `indices` of `set` applied.
fn with(settings: &Settings, set: &ChangeSet, indices: &[usize]) -> Settings {
    let mut s = *settings;
    for &i in indices {
        let c = &set.changes()[i];
        s.set(c.param, c.to);
    }
    s
}

/// The tonal verdict of going from `before` to `after` settings, measured `m0` → `m1`: the
/// effect on the bands the EQ aims at, and why it fails if it does.
struct Tonal {
    effect: Option<Effect>,
    fails: Option<String>,
    /// The rest of the spectrum stayed within [`SPILL_DB`].
    spill_ok: bool,
}

fn tonal(
    before: &Settings,
    after: &Settings,
    m0: &Measure,
    m1: &Measure,
    finding: Option<&str>,
    rate: f64,
    lang: Lang,
) -> Tonal {
    let n = m0.bands.len().min(m1.bands.len());
    let response: Vec<f64> = (0..n)
        .map(|i| eq::response_db(after, rate, m0.bands[i].0) - eq::response_db(before, rate, m0.bands[i].0))
        .collect();
    let peak = response.iter().fold(0.0f64, |m, r| if r.abs() > m.abs() { *r } else { m });
    let delta: Vec<f64> = (0..n).map(|i| m1.level(i) - m0.level(i)).collect();
    // The level-free reference: the median change of the bands the EQ leaves alone.
    let mut rest: Vec<usize> = (0..n).filter(|&i| response[i].abs() < 0.5).collect();
    if rest.is_empty() {
        rest = (0..n).collect();
    }
    let mut sorted: Vec<f64> = rest.iter().map(|&i| delta[i]).collect();
    sorted.sort_by(f64::total_cmp);
    let reference = if sorted.is_empty() { 0.0 } else { sorted[sorted.len() / 2] };
    let spill = if rest.is_empty() {
        0.0
    } else {
        (rest.iter().map(|&i| (delta[i] - reference).powi(2)).sum::<f64>() / rest.len() as f64).sqrt()
    };
    let mut fails = None;
    if spill > SPILL_DB {
        fails = Some(match lang {
            Lang::En => format!("it moved the rest of the spectrum by {} dB RMS", fmt1(spill)),
            Lang::Fr => format!("il déplaçait le reste du spectre de {} dB RMS", fmt1(spill)),
        });
    }
    // The bands it aims at: at least half its largest EQ effect, and at least 0.5 dB.
    let aimed: Vec<usize> = (0..n)
        .filter(|&i| response[i].abs() >= (peak.abs() / 2.0).max(0.5) && response[i].signum() == peak.signum())
        .collect();
    let effect = (!aimed.is_empty()).then(|| {
        let mean = |f: &dyn Fn(usize) -> f64| aimed.iter().map(|&i| f(i)).sum::<f64>() / aimed.len() as f64;
        let before = mean(&|i| m0.bands[i].2);
        let predicted = before + mean(&|i| response[i]);
        let measured = before + mean(&|i| delta[i] - reference);
        Effect {
            what: finding.unwrap_or("band").into(),
            unit: "dB".into(),
            before,
            predicted: Some(predicted),
            measured,
        }
    });
    if let (None, Some(e)) = (&fails, &effect) {
        // It must bring the bands it aims at closer to the target: not the wrong way, not past
        // it by more than it started from.
        if e.measured.abs() >= e.before.abs() - 0.1 {
            fails = Some(match lang {
                Lang::En => format!(
                    "it took the bands it moves from {} to {} dB against the target, no closer",
                    signed(e.before),
                    signed(e.measured)
                ),
                Lang::Fr => format!(
                    "il menait les bandes qu'il touche de {} à {} dB par rapport à la cible, pas plus près",
                    signed(e.before),
                    signed(e.measured)
                ),
            });
        }
    }
    Tonal { effect, fails, spill_ok: spill <= SPILL_DB }
}

/// Checks `set`, proposed on `settings` for the track analysed as `analysis`, on `audio`:
/// drops or resizes the moves that do not hold (see the module documentation) and notes each
/// kept move's measured effect in its reason. Returns what it did.
pub fn check(
    set: &mut ChangeSet,
    settings: &Settings,
    analysis: &TrackAnalysis,
    audio: &Audio<'_>,
    lang: Lang,
) -> Report {
    let frames = audio.channels.iter().map(Vec::len).min().unwrap_or(0);
    let seconds = frames as f64 / f64::from(audio.sample_rate.max(1));
    let mut report = Report { span_s: (audio.from_s, audio.from_s + seconds), ..Default::default() };
    let unchecked = |why_en: &str, why_fr: &str| match lang {
        Lang::En => why_en.to_string(),
        Lang::Fr => why_fr.to_string(),
    };
    if set.is_empty() {
        return report;
    }
    if seconds < MIN_SECONDS || audio.channels.is_empty() || audio.channels.len() > 2 {
        report.unchecked = Some(unchecked(
            "not checked on the audio: too little of it, or more than two channels",
            "non vérifié sur l'audio : trop court, ou plus de deux canaux",
        ));
        return report;
    }
    // Bounded: only the first MAX_SECONDS of what the caller gives.
    let keep = ((MAX_SECONDS * f64::from(audio.sample_rate)) as usize).min(frames);
    let bounded: Vec<Vec<f32>> = audio.channels.iter().map(|c| c[..keep].to_vec()).collect();
    let audio = Audio { channels: &bounded, ..*audio };
    report.span_s.1 = audio.from_s + keep as f64 / f64::from(audio.sample_rate);
    let options = options_of(analysis);
    let Some(base) = measure(&audio, settings, &options) else {
        report.unchecked = Some(unchecked(
            "not checked on the audio: silent, or the chain cannot play it",
            "non vérifié sur l'audio : silencieux, ou illisible par la chaîne",
        ));
        return report;
    };
    let rate = f64::from(audio.sample_rate);
    let ceiling = analysis.platform.true_peak_dbtp;
    let moves = set.moves();
    let level_moves: Vec<bool> = moves
        .iter()
        .map(|m| m.iter().all(|&i| matches!(set.changes()[i].param, ParamId::OutputGain | ParamId::InputGain)))
        .collect();
    let has_level = level_moves.contains(&true);
    // What each move became: kept indices (possibly resized), dropped indices with the reason.
    let mut kept: Vec<usize> = Vec::new();
    let mut refusals: Vec<(Vec<usize>, String)> = Vec::new();
    let mut notes: Vec<(usize, String)> = Vec::new();
    let mut checked: Vec<(usize, Checked)> = Vec::new();
    let mut current = base.clone();
    for (k, m) in moves.iter().enumerate() {
        if level_moves[k] {
            continue;
        }
        let finding = m.iter().find_map(|&i| set.changes()[i].evidence.as_ref().and_then(|e| e.finding.clone()));
        let before = with(settings, set, &kept);
        let eq_gain = m.iter().any(|&i| {
            matches!(
                set.changes()[i].param,
                ParamId::LowShelfGain | ParamId::Bell1Gain | ParamId::Bell2Gain | ParamId::HighShelfGain
            )
        });
        let mut verdict = Verdict::Kept;
        let mut why: Option<String> = None;
        let mut outcome = None;
        let mut first_effects = Vec::new();
        for attempt in 0..2 {
            if attempt == 1 {
                // Halve what can be halved (gains, thresholds, ranges: the loud parameters).
                let halvable: Vec<usize> =
                    m.iter().copied().filter(|&i| max_step(set.changes()[i].param).is_some()).collect();
                if halvable.is_empty() {
                    break;
                }
                for &i in &halvable {
                    let c = &set.changes()[i];
                    let half = f64::from(c.from) + f64::from(c.to - c.from) / 2.0;
                    set.resize(i, half, "");
                }
            }
            let after = with(&before, set, m);
            let Some(m1) = measure(&audio, &after, &options) else { break };
            let mut t = tonal(&before, &after, &current, &m1, finding.as_deref(), rate, lang);
            // Only a move of an EQ gain claims a tonal balance (a high-pass removing DC claims
            // the DC, which the spread and peak checks cover); the spread holds for all.
            // A move that cites no finding is the musician's wish ("more presence"), not a fix:
            // it is held to the spread and the ceiling only.
            if (!eq_gain || finding.is_none()) && t.fails.as_deref().is_some_and(|_| t.spill_ok) {
                t.fails = None;
                t.effect = None;
            }
            let mut fails = t.fails;
            if fails.is_none() && !has_level && m1.true_peak > ceiling && m1.true_peak > current.true_peak + 0.1 {
                fails = Some(match lang {
                    Lang::En => format!(
                        "it took the true peak to {} dBTP, over the {} dBTP ceiling",
                        signed(m1.true_peak),
                        signed(ceiling)
                    ),
                    Lang::Fr => format!(
                        "il portait le true peak à {} dBTP, au-delà du plafond de {} dBTP",
                        signed(m1.true_peak),
                        signed(ceiling)
                    ),
                });
            }
            let mut effects: Vec<Effect> = t.effect.into_iter().collect();
            if (m1.true_peak - current.true_peak).abs() >= 0.5 {
                effects.push(Effect {
                    what: "true_peak".into(),
                    unit: "dBTP".into(),
                    before: current.true_peak,
                    predicted: None,
                    measured: m1.true_peak,
                });
            }
            match fails {
                None => {
                    if attempt == 1 {
                        verdict = Verdict::Resized;
                    }
                    outcome = Some((m1, effects));
                    break;
                }
                Some(f) => {
                    if attempt == 0 {
                        // What the move would have done as proposed: the dropped move's report.
                        first_effects = effects;
                        why = Some(f);
                    }
                }
            }
        }
        match outcome {
            Some((m1, effects)) => {
                let why = (verdict == Verdict::Resized).then(|| match lang {
                    Lang::En => format!("halved: at full size {}", why.clone().unwrap_or_default()),
                    Lang::Fr => format!("réduit de moitié : en entier, {}", why.clone().unwrap_or_default()),
                });
                let note = joined(why.as_deref(), &effects_text(&effects, lang));
                if let (Some(&i), false) = (m.first(), note.is_empty()) {
                    notes.push((i, checked_text(&note, lang)));
                }
                kept.extend(m.iter().copied());
                current = m1;
                checked.push((k, Checked { params: params(set, m), finding, verdict, why, effects }));
            }
            None => {
                let why = why.unwrap_or_else(|| unchecked("it could not be measured", "il n'a pas pu être mesuré"));
                let reason = match lang {
                    Lang::En => format!("checked on the audio and refused: {why}"),
                    Lang::Fr => format!("vérifié sur l'audio et refusé : {why}"),
                };
                refusals.push((m.clone(), reason));
                checked.push((
                    k,
                    Checked {
                        params: params(set, m),
                        finding,
                        verdict: Verdict::Dropped,
                        why: Some(why),
                        effects: first_effects,
                    },
                ));
            }
        }
    }
    // The level move last, sized on what the kept tone moves did.
    for (k, m) in moves.iter().enumerate() {
        if !level_moves[k] {
            continue;
        }
        let c = level(set, m, settings, &kept, analysis, &audio, &options, &base, lang);
        match c.verdict {
            Verdict::Dropped => refusals.push((
                m.clone(),
                match lang {
                    Lang::En => format!("checked on the audio and refused: {}", c.why.clone().unwrap_or_default()),
                    Lang::Fr => format!("vérifié sur l'audio et refusé : {}", c.why.clone().unwrap_or_default()),
                },
            )),
            _ => {
                let note = joined(c.why.as_deref(), &effects_text(&c.effects, lang));
                if let (Some(&i), false) = (m.first(), note.is_empty()) {
                    notes.push((i, checked_text(&note, lang)));
                }
                kept.extend(m.iter().copied());
            }
        }
        checked.push((k, c));
    }
    checked.sort_by_key(|(k, _)| *k);
    report.moves = checked.into_iter().map(|(_, c)| c).collect();
    for (i, note) in &notes {
        set.annotate(*i, note);
    }
    // Refused one move at a time, highest index first, so the indices stay right.
    refusals.sort_by_key(|(m, _)| std::cmp::Reverse(m.iter().copied().max().unwrap_or(0)));
    for (m, reason) in &refusals {
        match lang {
            Lang::En => set.refuse(m, reason),
            Lang::Fr => set.refuse(m, &text::french_decimals(reason)),
        }
    }
    report
}

/// Sizes the level move `m` again on the audio with the kept moves in, and says what it does.
#[allow(clippy::too_many_arguments)]
fn level(
    set: &mut ChangeSet,
    m: &[usize],
    settings: &Settings,
    kept: &[usize],
    analysis: &TrackAnalysis,
    audio: &Audio<'_>,
    options: &AnalyzeOptions,
    base: &Measure,
    lang: Lang,
) -> Checked {
    // The gain that is sized: the output's when the move has one (after everything, linear),
    // else the input's.
    let target = m
        .iter()
        .copied()
        .find(|&i| set.changes()[i].param == ParamId::OutputGain)
        .or_else(|| m.first().copied())
        .unwrap_or(0);
    let asked = set.changes()[target].to;
    let from = set.changes()[target].from;
    let p = &analysis.platform;
    let finding = m.iter().find_map(|&i| set.changes()[i].evidence.as_ref().and_then(|e| e.finding.clone()));
    // A level move answers the loudness unless it says it only answers the peaks; one that
    // cites no finding is the musician's wish ("louder"), held to the ceiling only.
    let peaks_only = finding.as_deref().is_none_or(|f| finding_priority(f) == Priority::Safety)
        && !(finding.is_some() && analysis.findings.iter().any(|f| matches!(f.kind.id(), "too_loud" | "too_quiet")));
    let whole_lufs = analysis.loudness.integrated_lufs.unwrap_or(base.lufs);
    let whole_tp = analysis.loudness.true_peak_dbtp.unwrap_or(base.true_peak);
    let ceiling = p.true_peak_dbtp - CEILING_MARGIN_DB;
    // What the settings predict, before the audio says: the band levels through the EQ, and
    // the gains (the engine's own estimate).
    let mut proposed: Vec<usize> = kept.to_vec();
    proposed.extend_from_slice(m);
    let predicted = estimated_loudness_change(analysis, settings, &with(settings, set, &proposed));
    let mut last = None;
    for _ in 0..LEVEL_PASSES {
        let mut indices: Vec<usize> = kept.to_vec();
        indices.extend_from_slice(m);
        let after = with(settings, set, &indices);
        let Some(m1) = measure(audio, &after, options) else { break };
        // The whole track's figures, moved by what the stretch measured; the stretch's own
        // true peak counts too (it may hold the loudest peak).
        let lufs = whole_lufs + (m1.lufs - base.lufs);
        let tp = (whole_tp + (m1.true_peak - base.true_peak)).max(m1.true_peak);
        // A wish is held to the ceiling only; a move for the peaks alone keeps the loudness the
        // track had (what the tone moves took or added is given back) unless the ceiling stops
        // it; a move for the loudness goes to the platform's target.
        let mut wanted = match (peaks_only, finding.is_some()) {
            (true, false) => 0.0f64.min(ceiling - tp),
            (true, true) => whole_lufs - lufs,
            (false, _) => p.integrated_lufs - lufs,
        };
        wanted = wanted.min(ceiling - tp);
        last = Some((lufs, tp));
        if wanted.abs() < 0.1 {
            break;
        }
        let now = set.changes()[target].to;
        let to = ((f64::from(now) + wanted) * 10.0).round() / 10.0;
        if (to - f64::from(now)).abs() < 0.05 {
            break;
        }
        let got = set.resize(target, to, "").unwrap_or(now);
        if got == now {
            break;
        }
    }
    let params = params(set, m);
    let to = set.changes()[target].to;
    let Some((lufs, tp)) = last else {
        return Checked {
            params,
            finding,
            verdict: Verdict::Kept,
            why: Some(match lang {
                Lang::En => "not measured".into(),
                Lang::Fr => "non mesuré".into(),
            }),
            effects: Vec::new(),
        };
    };
    let effects = vec![
        Effect {
            what: "loudness".into(),
            unit: "LUFS".into(),
            before: whole_lufs,
            predicted: Some(whole_lufs + predicted),
            measured: lufs,
        },
        Effect {
            what: "true_peak".into(),
            unit: "dBTP".into(),
            before: whole_tp,
            predicted: Some(whole_tp + f64::from(asked - from)),
            measured: tp,
        },
    ];
    if f64::from(to - from).abs() < LEVEL_STEP_DB {
        return Checked {
            params,
            finding,
            verdict: Verdict::Dropped,
            why: Some(match lang {
                Lang::En => format!(
                    "once measured, no level change is needed ({} LUFS, {} dBTP)",
                    fmt1(whole_lufs),
                    signed(whole_tp)
                ),
                Lang::Fr => format!(
                    "mesure faite, aucun changement de niveau n'est utile ({} LUFS, {} dBTP)",
                    fmt1(whole_lufs),
                    signed(whole_tp)
                ),
            }),
            effects,
        };
    }
    let resized = f64::from(to - asked).abs() >= 0.2;
    let why = resized.then(|| match lang {
        Lang::En => format!(
            "resized from {} to {} dB on the audio",
            signed(f64::from(asked - from)),
            signed(f64::from(to - from))
        ),
        Lang::Fr => {
            format!("ajusté de {} à {} dB sur l'audio", signed(f64::from(asked - from)), signed(f64::from(to - from)))
        }
    });
    Checked { params, finding, verdict: if resized { Verdict::Resized } else { Verdict::Kept }, why, effects }
}

fn params(set: &ChangeSet, m: &[usize]) -> Vec<String> {
    m.iter().map(|&i| set.changes()[i].param.spec().id.to_string()).collect()
}

/// "harshness +4.1 → +0.8 dB (predicted +0.5)", one per effect, joined.
pub fn effects_text(effects: &[Effect], lang: Lang) -> String {
    let parts: Vec<String> = effects
        .iter()
        .map(|e| {
            let what = match (e.what.as_str(), lang) {
                ("loudness", _) => "",
                ("true_peak", Lang::En) => "true peak ",
                ("true_peak", Lang::Fr) => "true peak ",
                (other, _) => other,
            };
            let (b, m) = match e.unit.as_str() {
                "LUFS" => (fmt1(e.before), fmt1(e.measured)),
                _ => (signed(e.before), signed(e.measured)),
            };
            let sep = if what.is_empty() || what.ends_with(' ') { "" } else { " " };
            let predicted = e
                .predicted
                .filter(|p| (p - e.measured).abs() >= 0.5)
                .map(|p| match lang {
                    Lang::En => format!(" (predicted {})", if e.unit == "LUFS" { fmt1(p) } else { signed(p) }),
                    Lang::Fr => format!(" (prévu {})", if e.unit == "LUFS" { fmt1(p) } else { signed(p) }),
                })
                .unwrap_or_default();
            format!("{what}{sep}{b} → {m} {}{predicted}", e.unit)
        })
        .collect();
    let text = parts.join(", ");
    match lang {
        Lang::En => text,
        Lang::Fr => audiocollab_core::text::french_decimals(&text),
    }
}

/// "why; effects", either may be empty.
fn joined(why: Option<&str>, effects: &str) -> String {
    match (why.filter(|w| !w.is_empty()), effects.is_empty()) {
        (Some(w), false) => format!("{w}; {effects}"),
        (Some(w), true) => w.to_string(),
        (None, _) => effects.to_string(),
    }
}

fn checked_text(note: &str, lang: Lang) -> String {
    match lang {
        Lang::En => format!("checked on the audio: {note}"),
        Lang::Fr => text::french_decimals(&format!("vérifié sur l'audio : {note}")),
    }
}

/// The report as lines for the musician: what was checked where, and what changed.
pub fn summary(report: &Report, lang: Lang) -> String {
    if let Some(why) = &report.unchecked {
        return format!("({why})");
    }
    if report.moves.is_empty() {
        return String::new();
    }
    let span = text::clock_span(report.span_s.0, report.span_s.1);
    let mut lines = vec![match lang {
        Lang::En => format!("Checked on {span} of the audio, through the plugin's own chain:"),
        Lang::Fr => format!("Vérifié sur {span} de l'audio, avec la chaîne du plugin :"),
    }];
    for c in &report.moves {
        let name = c.finding.clone().unwrap_or_else(|| c.params.join(", "));
        let effects = effects_text(&c.effects, lang);
        let effects = if effects.is_empty() {
            match lang {
                Lang::En => "no measurable change".to_string(),
                Lang::Fr => "pas de changement mesurable".to_string(),
            }
        } else {
            effects
        };
        let line = match (c.verdict, lang) {
            (Verdict::Kept, _) => format!("  {name}: {effects}"),
            (Verdict::Resized, Lang::En) => format!("  {name}: {effects} ({})", c.why.clone().unwrap_or_default()),
            (Verdict::Resized, Lang::Fr) => format!("  {name} : {effects} ({})", c.why.clone().unwrap_or_default()),
            (Verdict::Dropped, Lang::En) => format!("  {name}: dropped, {}", c.why.clone().unwrap_or_default()),
            (Verdict::Dropped, Lang::Fr) => format!("  {name} : retiré, {}", c.why.clone().unwrap_or_default()),
        };
        lines.push(line);
    }
    let text = lines.join("\n");
    match lang {
        Lang::En => text,
        Lang::Fr => audiocollab_core::text::french_decimals(&text),
    }
}

fn fmt1(v: f64) -> String {
    format!("{v:.1}")
}

fn signed(v: f64) -> String {
    format!("{v:+.1}")
}
