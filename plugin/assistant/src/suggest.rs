//! Findings → suggestions: the embedded engine's mixing advice, grounded in the measurements.
//!
//! Each finding the plugin can act on becomes one or two parameter changes sized from the
//! measurement (a 4 dB excess of 2–5 kHz → a cut of about 4 dB at 3.2 kHz, capped by the
//! validator's step limit), with the finding's time range and value as evidence. Findings the
//! chain cannot fix (silence, noise, clipping baked into the source) are explained, not
//! "fixed". The plugin measures its own output, so output level moves fix output overs.

use super::actions::{ChangeSet, Evidence, Proposal, WireChange, WireReply, WireValue};
use super::verify::CEILING_MARGIN_DB;
use audiocollab_core::analysis::findings::resonance::Resonance;
use audiocollab_core::analysis::findings::{kind_name, Finding, FindingKind, Severity};
use audiocollab_core::analysis::targets;
use audiocollab_core::analysis::track::TrackAnalysis;
use audiocollab_core::dsp::decibel::{db_to_power, power_to_db};
use audiocollab_core::dsp::eq;
use audiocollab_core::lang::Lang;
use audiocollab_core::spec::{ParamId, Settings};
use audiocollab_core::text;

/// Largest cut or boost the engine proposes for one tonal problem, dB: beyond that, the fix
/// belongs on the instrument's own track (and the validator's step limit is 6 dB anyway).
const MAX_EQ_MOVE_DB: f64 = 6.0;
/// Crest factor assumed for the de-esser's detector (peak of the band over its RMS), dB:
/// sibilants and noise-like material sit around 9–12 dB.
const SIBILANT_CREST_DB: f64 = 9.0;
/// Share of the analysed stretch beyond which a 5–9 kHz excess is treated as tonal balance
/// (an EQ cut) rather than sibilance in bursts (the de-esser).
const STATIC_SHARE: f64 = 0.5;

fn id(p: ParamId) -> String {
    p.spec().id.to_string()
}

fn evidence(f: &Finding) -> Evidence {
    Evidence {
        finding: Some(f.kind.id().into()),
        from_s: Some(f.start_s),
        to_s: Some(f.end_s),
        value: Some(f.value),
        unit: Some(f.unit.clone()),
    }
}

/// When `f` happened, as the finding itself says it: `1:02–1:30`, or `1:02`.
fn span(f: &Finding) -> String {
    text::clock_span(f.start_s, f.end_s)
}

struct Builder<'a> {
    lang: Lang,
    settings: &'a Settings,
    changes: Vec<WireChange>,
    lines: Vec<String>,
}

impl Builder<'_> {
    fn t(&self, en: String, fr: String) -> String {
        match self.lang {
            Lang::En => en,
            Lang::Fr => fr,
        }
    }

    fn push(&mut self, param: ParamId, value: Option<f64>, delta: Option<f64>, reason: String, f: Option<&Finding>) {
        if self.changes.iter().any(|c| c.param == param.spec().id) {
            return;
        }
        self.changes.push(WireChange {
            param: id(param),
            value: value.map(WireValue::Number),
            delta,
            reason,
            evidence: f.map(evidence),
        });
    }

    fn on(&mut self, param: ParamId, reason: &str) {
        if !self.settings.on(param) {
            self.push(param, None, None, reason.into(), None);
            if let Some(last) = self.changes.last_mut() {
                last.value = Some(WireValue::Bool(true));
            }
        }
    }

    /// An EQ move on the band that suits `hz`, sized `db` (signed).
    fn eq(&mut self, hz: f64, db: f64, q: Option<f64>, reason: String, f: &Finding) {
        self.eq_on(hz, db, q, hz <= 1000.0, reason, f);
    }

    /// Whether the bell `low` (the first, else the second) is free in this suggestion.
    fn bell_free(&self, low: bool) -> bool {
        let gain = if low { ParamId::Bell1Gain } else { ParamId::Bell2Gain };
        !self.changes.iter().any(|c| c.param == gain.spec().id)
    }

    /// [`Self::eq`] with the band chosen: `low` is the first bell or the low shelf.
    fn eq_on(&mut self, hz: f64, db: f64, q: Option<f64>, low: bool, reason: String, f: &Finding) {
        let db = db.clamp(-MAX_EQ_MOVE_DB, MAX_EQ_MOVE_DB);
        // A width (`q`) asks for a bell: the first under 1 kHz, the second above. Without one,
        // a shelf on the side of the spectrum the frequency is on.
        let (on, freq, gain, qp) = match q {
            Some(_) if low => (ParamId::Bell1On, ParamId::Bell1Freq, ParamId::Bell1Gain, Some(ParamId::Bell1Q)),
            Some(_) => (ParamId::Bell2On, ParamId::Bell2Freq, ParamId::Bell2Gain, Some(ParamId::Bell2Q)),
            None if low => (ParamId::LowShelfOn, ParamId::LowShelfFreq, ParamId::LowShelfGain, None),
            None => (ParamId::HighShelfOn, ParamId::HighShelfFreq, ParamId::HighShelfGain, None),
        };
        // The band is already in use elsewhere in this suggestion: leave it.
        if self.changes.iter().any(|c| c.param == gain.spec().id) {
            return;
        }
        self.push(freq, Some(hz), None, reason.clone(), Some(f));
        self.push(gain, Some(self.settings.get(gain) as f64 + db), None, reason.clone(), Some(f));
        if let (Some(qp), Some(q)) = (qp, q) {
            self.push(qp, Some(q), None, reason.clone(), Some(f));
        }
        self.on(on, &reason);
    }
}

/// Suggestions for every finding of `analysis` the chain can act on, most severe first, as
/// the same wire reply a language model sends (validate it with
/// [`super::actions::ChangeSet::try_from`]).
pub fn suggest(analysis: &TrackAnalysis, settings: &Settings, lang: Lang) -> WireReply {
    let mut b = Builder { lang, settings, changes: Vec::new(), lines: Vec::new() };
    let mut findings: Vec<&Finding> = analysis.findings.iter().collect();
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.start_s.total_cmp(&b.start_s)));
    // The level findings get one output move, sized once the EQ moves are known (they change
    // the loudness too); its line goes where the first of them came.
    let mut level_line: Option<(usize, &Finding)> = None;
    let genre = targets::genre(&analysis.genre);
    for f in findings {
        let when = span(f);
        let line = match f.kind {
            FindingKind::Mud
            | FindingKind::Harshness
            | FindingKind::Sibilance
            | FindingKind::Boom
            | FindingKind::DullTop
            | FindingKind::ThinLowEnd
            | FindingKind::Boxiness
            | FindingKind::HollowMids
                if resonance_of(analysis, f).is_some() =>
            {
                // A bump or dip measured against the track's own spectrum: a bell at its
                // frequency and Q that undoes its gain — only when one bell explains it well
                // (`Resonance::is_confident`): clean released masters carry lumpy bumps of
                // 4–15 dB of their own (docs/advice.md), which are reported and left alone.
                let Some(r) = resonance_of(analysis, f).filter(|r| r.is_confident()) else {
                    b.lines
                        .push(b.t(format!("{when}: {}", f.explanation_en), format!("{when} : {}", f.explanation_fr)));
                    continue;
                };
                let (hz, gain, q) = (r.freq_hz, -r.gain_db, r.q);
                let reason = b.t(
                    format!(
                        "{} {when}: {} dB at {}, Q {}, against the track's own spectrum",
                        kind_name(f.kind, Lang::En),
                        signed(r.gain_db),
                        hz_text(hz),
                        fmt1(r.q)
                    ),
                    format!(
                        "{} {when} : {} dB à {}, Q {}, par rapport au spectre du morceau",
                        kind_name(f.kind, Lang::Fr),
                        signed(r.gain_db),
                        hz_text(hz),
                        fmt1(r.q)
                    ),
                );
                // Beyond one band's step limit, the second bell takes the rest (same centre and
                // Q: two bells in series add their dB), so the measured bump is undone, not
                // capped; the first bell alone still does most of it if the second must give way.
                let moved = if gain.abs() > MAX_EQ_MOVE_DB && b.bell_free(true) && b.bell_free(false) {
                    let first = gain.clamp(-MAX_EQ_MOVE_DB, MAX_EQ_MOVE_DB);
                    b.eq_on(hz, first, Some(q), true, reason.clone(), f);
                    b.eq_on(hz, gain - first, Some(q), false, reason, f);
                    signed(gain.clamp(-2.0 * MAX_EQ_MOVE_DB, 2.0 * MAX_EQ_MOVE_DB))
                } else {
                    b.eq(hz, gain, Some(q), reason, f);
                    signed(gain.clamp(-MAX_EQ_MOVE_DB, MAX_EQ_MOVE_DB))
                };
                b.t(
                    format!(
                        "{when}: {} ({} dB at {}, Q {}) — a bell of {moved} dB there.",
                        kind_name(f.kind, Lang::En).to_lowercase(),
                        signed(r.gain_db),
                        hz_text(hz),
                        fmt1(r.q)
                    ),
                    format!(
                        "{when} : {} ({} dB à {}, Q {}) — une cloche de {moved} dB à cet endroit.",
                        kind_name(f.kind, Lang::Fr).to_lowercase(),
                        signed(r.gain_db),
                        hz_text(hz),
                        fmt1(r.q)
                    ),
                )
            }
            FindingKind::Mud
            | FindingKind::Harshness
            | FindingKind::Sibilance
            | FindingKind::Boom
            | FindingKind::DullTop
            | FindingKind::ThinLowEnd => {
                // Against the genre curve: act only on a problem (beyond twice the measured
                // spread of released masters), so a clean master is left alone.
                if f.severity < Severity::Problem {
                    b.lines
                        .push(b.t(format!("{when}: {}", f.explanation_en), format!("{when} : {}", f.explanation_fr)));
                    continue;
                }
                // Back to the target curve (the value is the signed balance of the group).
                let (range, default_hz, q) = match f.kind {
                    FindingKind::Mud => ((178.0, 447.0), 300.0, Some(1.0)),
                    FindingKind::Harshness => ((1780.0, 4470.0), 3150.0, Some(1.0)),
                    FindingKind::Boom => ((28.0, 112.0), 80.0, None),
                    FindingKind::ThinLowEnd => ((35.0, 180.0), 100.0, None),
                    FindingKind::DullTop => ((4470.0, 14_100.0), 10_000.0, None),
                    _ => ((4470.0, 8910.0), 7000.0, Some(1.4)),
                };
                // Centre the move on the band that strays most (the finding names a group).
                // Centred on the band that strays most and sized by it, so a bell of the
                // same width undoes a bell-shaped excess.
                let (hz, excess) = extreme_band(analysis, range, f.value > 0.0)
                    .filter(|&(_, peak)| peak.signum() == f.value.signum() && peak.abs() >= f.value.abs())
                    .unwrap_or((default_hz, f.value));
                // A bell sized from the measured bump of the same kind inside the range, when
                // there is one: its frequency and Q, its gain up to the region's excess.
                let measured = q.and_then(|_| {
                    analysis.resonances.iter().find(|r| {
                        r.kind == f.kind
                            && (range.0..=range.1).contains(&r.freq_hz)
                            && r.gain_db.signum() == f.value.signum()
                    })
                });
                let (hz, excess, q) = match measured {
                    Some(r) => {
                        (r.freq_hz, r.gain_db.signum() * r.gain_db.abs().min(excess.abs()), Some(r.q.clamp(0.3, 8.0)))
                    }
                    None => (hz, excess, q),
                };
                let span_share = (f.end_s - f.start_s) / (analysis.to_s - analysis.from_s).max(1e-9);
                // Sibilance that lasts through most of the stretch is a tonal excess (a bell
                // cut); in bursts it is what a de-esser is for.
                if f.kind == FindingKind::Sibilance && span_share < STATIC_SHARE {
                    // The de-esser's threshold is a peak level of its band: the band's power
                    // (from the tonal balance) plus a crest factor, less the excess to remove.
                    let band_db = band_power_db(analysis, (hz / 1.5).max(2000.0), 20_000.0);
                    let threshold = band_db.map(|p| p + SIBILANT_CREST_DB - f.value);
                    let reason = b.t(
                        format!("sibilance {when}: 5–9 kHz {} dB above the target", fmt1(f.value)),
                        format!("sibilantes {when} : 5–9 kHz {} dB au-dessus de la cible", fmt1(f.value)),
                    );
                    b.push(ParamId::DeessFreq, Some((hz / 1.3).clamp(4000.0, 9000.0)), None, reason.clone(), Some(f));
                    if let Some(thr) = threshold {
                        b.push(ParamId::DeessThreshold, Some(thr.clamp(-60.0, -6.0)), None, reason.clone(), Some(f));
                    }
                    b.push(ParamId::DeessRange, Some((f.value + 2.0).clamp(3.0, 12.0)), None, reason.clone(), Some(f));
                    b.on(ParamId::DeessOn, &reason);
                    b.t(
                        format!(
                            "{when}: sibilance (+{} dB at 5–9 kHz) — the de-esser from {}.",
                            fmt1(f.value),
                            hz_text((hz / 1.3).clamp(4000.0, 9000.0))
                        ),
                        format!(
                            "{when} : sibilantes (+{} dB à 5–9 kHz) — le de-esser dès {}.",
                            fmt1(f.value),
                            hz_text((hz / 1.3).clamp(4000.0, 9000.0))
                        ),
                    )
                } else {
                    let reason = b.t(
                        format!(
                            "{} {when}: {} dB against the {} target",
                            kind_name(f.kind, Lang::En),
                            signed(f.value),
                            genre.map_or(analysis.genre.as_str(), |g| g.name_en.as_str())
                        ),
                        format!(
                            "{} {when} : {} dB par rapport à la cible {}",
                            kind_name(f.kind, Lang::Fr),
                            signed(f.value),
                            genre.map_or(analysis.genre.as_str(), |g| g.name_fr.as_str())
                        ),
                    );
                    b.eq(hz, -excess, q, reason, f);
                    b.t(
                        format!(
                            "{when}: {} ({} dB) — {} dB around {}.",
                            kind_name(f.kind, Lang::En).to_lowercase(),
                            signed(f.value),
                            signed(-excess.clamp(-MAX_EQ_MOVE_DB, MAX_EQ_MOVE_DB)),
                            hz_text(hz)
                        ),
                        format!(
                            "{when} : {} ({} dB) — {} dB vers {}.",
                            kind_name(f.kind, Lang::Fr).to_lowercase(),
                            signed(f.value),
                            signed(-excess.clamp(-MAX_EQ_MOVE_DB, MAX_EQ_MOVE_DB)),
                            hz_text(hz)
                        ),
                    )
                }
            }
            FindingKind::Clipping
            | FindingKind::InterSampleOvers
            | FindingKind::TruePeakOverTarget
            | FindingKind::TooLoud
            | FindingKind::TooQuiet => {
                level_line.get_or_insert((b.lines.len(), f));
                continue;
            }
            FindingKind::PolarityInverted => {
                // Either channel restores the pair; the right one by convention. The plugin
                // measures its own output, so a channel it already inverts is put back instead.
                let param = ParamId::PolarityR;
                let invert = !settings.on(param);
                let reason = b.t(
                    format!("{} {when}: low-band correlation {}", kind_name(f.kind, Lang::En), fmt2(f.value)),
                    format!("{} {when} : corrélation du grave {}", kind_name(f.kind, Lang::Fr), fmt2(f.value)),
                );
                b.push(param, None, None, reason, Some(f));
                if let Some(last) = b.changes.last_mut() {
                    last.value = Some(WireValue::Bool(invert));
                }
                b.t(
                    format!(
                        "{when}: one channel is polarity-inverted (low-band correlation {}) — the right channel is {}.",
                        fmt2(f.value),
                        if invert { "inverted back" } else { "no longer inverted" }
                    ),
                    format!(
                        "{when} : un canal est inversé en polarité (corrélation du grave {}) — le canal droit est {}.",
                        fmt2(f.value),
                        if invert { "réinversé" } else { "remis à l'endroit" }
                    ),
                )
            }
            FindingKind::PhaseProblem | FindingKind::MonoCompatibility | FindingKind::NarrowStereo => {
                let Some(side_to_mid) = side_to_mid_db(f) else { continue };
                let target_db = if f.kind == FindingKind::NarrowStereo { NARROW_TARGET_DB } else { WIDE_TARGET_DB };
                let width = settings.get(ParamId::Width) as f64;
                let (min, max) = ParamId::Width.spec().range();
                // The side scales with the width: move it by the excess (or deficit), in dB.
                let target = (width * 10f64.powf((target_db - side_to_mid) / 20.0)).clamp(min as f64, max as f64);
                if (target - width).abs() < 0.01 {
                    continue;
                }
                let target = (target * 100.0).round();
                let reason = b.t(
                    format!("{} {when}: {} {}", kind_name(f.kind, Lang::En), fmt1(f.value), f.unit),
                    format!("{} {when} : {} {}", kind_name(f.kind, Lang::Fr), fmt1(f.value), f.unit),
                );
                b.push(ParamId::Width, Some(target), None, reason, Some(f));
                let (en, fr) = if target > width * 100.0 { ("up", "portée") } else { ("down", "ramenée") };
                b.t(
                    format!(
                        "{when}: {} (side {} dB against the mid) — stereo width {en} to {target} %, towards {} dB.",
                        kind_name(f.kind, Lang::En).to_lowercase(),
                        fmt1(side_to_mid),
                        fmt1(target_db)
                    ),
                    format!(
                        "{when} : {} (latéral à {} dB du central) — largeur stéréo {fr} à {target} %, vers {} dB.",
                        kind_name(f.kind, Lang::Fr).to_lowercase(),
                        fmt1(side_to_mid),
                        fmt1(target_db)
                    ),
                )
            }
            FindingKind::DcOffset => {
                let reason = b.t(format!("DC offset {} %", fmt1(f.value)), format!("offset DC {} %", fmt1(f.value)));
                if !settings.on(ParamId::HpOn) {
                    b.push(ParamId::HpFreq, Some(25.0), None, reason.clone(), Some(f));
                }
                b.on(ParamId::HpOn, &reason);
                b.t(
                    "DC offset: the high-pass filter removes it.".into(),
                    "Offset DC : le filtre passe-haut le supprime.".into(),
                )
            }
            FindingKind::OverCompressed => {
                if settings.on(ParamId::CompOn) {
                    let reason = b.t(
                        format!("PLR {} LU, under {} LU", fmt1(f.value), fmt1(f.threshold)),
                        format!("PLR {} LU, sous {} LU", fmt1(f.value), fmt1(f.threshold)),
                    );
                    b.push(
                        ParamId::CompRatio,
                        Some((settings.get(ParamId::CompRatio) as f64 * 0.6).max(1.5)),
                        None,
                        reason.clone(),
                        Some(f),
                    );
                    b.push(ParamId::CompMix, Some(70.0), None, reason, Some(f));
                }
                b.t(
                    format!("Peak-to-loudness ratio {} LU: squashed. Ease the compression/limiting (here: a gentler ratio, 70 % mix).", fmt1(f.value)),
                    format!("Rapport crête/loudness de {} LU : c'est écrasé. Allégez la compression/limitation (ici : ratio plus doux, mix à 70 %).", fmt1(f.value)),
                )
            }
            _ => b.t(format!("{when}: {}", f.explanation_en), format!("{when} : {}", f.explanation_fr)),
        };
        b.lines.push(line);
    }
    if let Some((at, f)) = level_line {
        let (eq_change, eq_peak) = eq_effect_db(analysis, settings, &b.changes);
        if let Some((gain, reason)) = level_move(analysis, eq_change, eq_peak, lang) {
            if gain != 0.0 {
                b.push(ParamId::OutputGain, None, Some(gain), reason.clone(), Some(f));
                // Safety and level first (issue 11): the output move leads the list, so
                // whatever trims the list trims tone moves, never this one.
                let level = b.changes.pop().expect("just pushed");
                b.changes.insert(0, level);
            }
            b.lines.insert(at, reason);
        }
    }
    let message = if b.lines.is_empty() {
        b.t(
            "Nothing to fix: no problem found against the targets.".into(),
            "Rien à corriger : aucun problème par rapport aux cibles.".into(),
        )
    } else {
        b.lines.join("\n")
    };
    let mut reply = WireReply { message, changes: b.changes };
    if lang == Lang::Fr {
        reply.message = text::french_decimals(&reply.message);
        for c in &mut reply.changes {
            c.reason = text::french_decimals(&c.reason);
        }
    }
    reply
}

/// What `changes` do to the level when applied to `settings`: how much the integrated
/// loudness moves (LU) and the largest boost the EQ adds anywhere in the measured spectrum
/// (dB, 0 when it only cuts) — an upper bound of what it adds to the true peak, so the output
/// move is sized for the peaks the EQ makes, not only those it was measured with.
fn eq_effect_db(a: &TrackAnalysis, settings: &Settings, changes: &[WireChange]) -> (f64, f64) {
    let reply = WireReply { message: String::new(), changes: changes.to_vec() };
    let Ok(set) = ChangeSet::try_from(Proposal { reply: &reply, current: settings }) else { return (0.0, 0.0) };
    let mut after = *settings;
    set.apply(&mut after);
    let peak = a
        .tonal_balance
        .bands
        .iter()
        .map(|b| {
            let f = b.centre_hz as f64;
            eq::response_db(&after, 48_000.0, f) - eq::response_db(settings, 48_000.0, f)
        })
        .fold(0.0, f64::max);
    (estimated_loudness_change(a, settings, &after), peak)
}

/// How much louder (LU) the track measured as `a` plays through `after` than through
/// `before`: the measured band levels, weighted as BS.1770 weighs them, through each EQ and
/// the output gains. A cut where the music has energy lowers the loudness.
pub fn estimated_loudness_change(a: &TrackAnalysis, before: &Settings, after: &Settings) -> f64 {
    let (mut before_power, mut after_power) = (0.0, 0.0);
    for band in &a.tonal_balance.bands {
        let f = band.centre_hz as f64;
        let weighted = band.level_db as f64 + targets::k_weighting_db(f);
        before_power += db_to_power(weighted + eq::response_db(before, 48_000.0, f));
        after_power += db_to_power(weighted + eq::response_db(after, 48_000.0, f));
    }
    let gains = |s: &Settings| f64::from(s.get(ParamId::InputGain) + s.get(ParamId::OutputGain));
    if before_power > 0.0 && after_power > 0.0 {
        power_to_db(after_power / before_power) + gains(after) - gains(before)
    } else {
        gains(after) - gains(before)
    }
}

/// The output gain that answers every level finding at once, with its reason: down to the
/// platform's true-peak ceiling (less a margin) when peaks pass it, down or up to the
/// platform's loudness when it is too loud or too quiet (counting `eq_change`, the loudness
/// the EQ moves add or take) — never up past the ceiling (less `eq_peak`, the most the EQ moves
/// can add to the peaks), and saying so when the ceiling is what stops it.
fn level_move(a: &TrackAnalysis, eq_change: f64, eq_peak: f64, lang: Lang) -> Option<(f64, String)> {
    let kinds: Vec<FindingKind> = a.findings.iter().map(|f| f.kind).collect();
    let peaks = kinds
        .iter()
        .any(|k| matches!(k, FindingKind::Clipping | FindingKind::InterSampleOvers | FindingKind::TruePeakOverTarget));
    let loudness = kinds.iter().any(|k| matches!(k, FindingKind::TooLoud | FindingKind::TooQuiet));
    let p = &a.platform;
    let ceiling = p.true_peak_dbtp - CEILING_MARGIN_DB;
    let headroom = a.loudness.true_peak_dbtp.map(|tp| ceiling - tp - eq_peak);
    let to_target = a.loudness.integrated_lufs.map(|l| p.integrated_lufs - (l + eq_change));
    let mut gain = f64::INFINITY;
    if peaks {
        gain = gain.min(headroom?.min(0.0));
    }
    let mut capped = false;
    if loudness {
        let wanted = to_target?;
        gain = gain.min(wanted);
        if let Some(h) = headroom.filter(|&h| h < gain) {
            gain = h;
            capped = wanted - h >= 0.5;
        }
    }
    if !gain.is_finite() || (gain.abs() < 0.3 && !capped) {
        return None;
    }
    // Under 0.3 dB (only when the ceiling stops it): no move, but the reason still says why.
    let gain = if gain.abs() < 0.3 { 0.0 } else { (gain * 10.0).round() / 10.0 };
    let output = match (gain == 0.0, lang) {
        (true, Lang::En) => "output unchanged".to_string(),
        (true, Lang::Fr) => "sortie inchangée".to_string(),
        (false, Lang::En) => format!("output {} dB", signed(gain)),
        (false, Lang::Fr) => format!("sortie {} dB", signed(gain)),
    };
    let tp = a.loudness.true_peak_dbtp.map_or("—".into(), fmt1);
    let lufs = a.loudness.integrated_lufs.map_or("—".into(), fmt1);
    let mut reason = match lang {
        Lang::En => format!(
            "{lufs} LUFS and {tp} dBTP against {}'s {} LUFS and {} dBTP ceiling: {output}{}",
            p.name,
            fmt1(p.integrated_lufs),
            fmt1(p.true_peak_dbtp),
            if peaks { " (if the source itself clips, fix it before this plugin)" } else { "" }
        ),
        Lang::Fr => format!(
            "{lufs} LUFS et {tp} dBTP pour {} LUFS et un plafond de {} dBTP chez {} : {output}{}",
            fmt1(p.integrated_lufs),
            fmt1(p.true_peak_dbtp),
            p.name,
            if peaks { " (si la source sature déjà, corrigez-la en amont)" } else { "" }
        ),
    };
    if eq_change.abs() >= 0.3 {
        reason.push_str(&match lang {
            Lang::En => format!(", counting the {} LU the EQ moves change", signed(eq_change)),
            Lang::Fr => format!(", en comptant les {} LU que l'égalisation change", signed(eq_change)),
        });
    }
    if capped {
        let short = to_target.map_or(0.0, |w| w - gain);
        reason.push_str(&match lang {
            Lang::En => format!(
                "; the true-peak ceiling stops it {} dB short of the target: the rest needs a limiter after this plugin",
                fmt1(short)
            ),
            Lang::Fr => format!(
                " ; le plafond de true peak l'arrête à {} dB de la cible : le reste demande un limiteur après ce plugin",
                fmt1(short)
            ),
        });
    }
    Some((gain, reason))
}

/// The measured bump or dip a finding of the track against itself stands for.
fn resonance_of<'a>(a: &'a TrackAnalysis, f: &Finding) -> Option<&'a Resonance> {
    a.resonances.iter().find(|r| r.kind == f.kind && (r.gain_db - f.value).abs() < 1e-9)
}

/// Centre (Hz) and balance (dB) of the band inside `range` whose balance strays most (highest
/// when `high`).
fn extreme_band(a: &TrackAnalysis, range: (f64, f64), high: bool) -> Option<(f64, f64)> {
    let bands = a.tonal_balance.bands.iter().filter(|b| (range.0..=range.1).contains(&(b.centre_hz as f64)));
    let best = if high {
        bands.max_by(|x, y| x.balance_db.total_cmp(&y.balance_db))
    } else {
        bands.min_by(|x, y| x.balance_db.total_cmp(&y.balance_db))
    };
    best.map(|b| (b.centre_hz as f64, b.balance_db as f64))
}

/// Power of the bands between `lo` and `hi` Hz, dBFS (from the tonal balance: levels relative
/// to the integrated loudness).
fn band_power_db(a: &TrackAnalysis, lo: f64, hi: f64) -> Option<f64> {
    let lufs = a.loudness.integrated_lufs?;
    let sum: f64 = a
        .tonal_balance
        .bands
        .iter()
        .filter(|b| (lo..=hi).contains(&(b.centre_hz as f64)))
        .map(|b| db_to_power(f64::from(b.level_db)))
        .sum();
    (sum > 0.0).then(|| lufs + power_to_db(sum))
}

/// Severity as a word.
pub fn severity_word(s: Severity, lang: Lang) -> &'static str {
    match (s, lang) {
        (Severity::Info, Lang::En) => "info",
        (Severity::Warning, Lang::En) => "warning",
        (Severity::Problem, Lang::En) => "problem",
        (Severity::Info, Lang::Fr) => "info",
        (Severity::Warning, Lang::Fr) => "attention",
        (Severity::Problem, Lang::Fr) => "problème",
    }
}

/// Side-to-mid ratio the engine brings too-wide stereo to, dB: just inside the range of released
/// music (the clean tuning excerpts of the advice evaluation reach −2.2 dB; the wide finding
/// starts at −1.5 dB), so the move is the smallest that answers the finding.
const WIDE_TARGET_DB: f64 = -4.5;
/// Side-to-mid ratio the engine brings narrow stereo to, dB: inside the range of released music
/// (median −8.3 dB on the clean tuning excerpts; the narrow finding starts at −16 dB), on the
/// narrow side of it so that a track narrow by choice is not made wide.
const NARROW_TARGET_DB: f64 = -10.0;

/// The side-to-mid power ratio, dB, that a stereo finding measured: narrow stereo gives it; a
/// phase problem's correlation `c` of two channels at equal level is `(M − S)/(M + S)`; a mono
/// fold-down loss `d` is `M/(M + S)` in dB.
fn side_to_mid_db(f: &Finding) -> Option<f64> {
    let ratio = match f.kind {
        FindingKind::NarrowStereo => return Some(f.value),
        FindingKind::PhaseProblem => (1.0 - f.value) / (1.0 + f.value).max(1e-3),
        FindingKind::MonoCompatibility => 1.0 / db_to_power(f.value) - 1.0,
        _ => return None,
    };
    (ratio > 0.0).then(|| power_to_db(ratio))
}

fn fmt2(v: f64) -> String {
    format!("{v:.2}")
}

fn fmt1(v: f64) -> String {
    format!("{v:.1}")
}

fn signed(v: f64) -> String {
    format!("{v:+.1}")
}

fn hz_text(hz: f64) -> String {
    if hz >= 1000.0 {
        format!("{:.1} kHz", hz / 1000.0)
    } else {
        format!("{hz:.0} Hz")
    }
}
