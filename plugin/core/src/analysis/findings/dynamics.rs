//! Loudness against the platform, over-compression and loudness range.
//!
//! * Too loud / too quiet: the integrated loudness of the stretch against the platform's
//!   target, once it is more than [`LOUDNESS_TOLERANCE_LU`] away. A quiet track is judged by
//!   what the platform can do about it: raising it to the target must keep its true peak under
//!   the platform's ceiling, or it will play quieter than its neighbours.
//! * Over-compressed: the peak-to-loudness ratio (true peak − integrated loudness, EBU R 128
//!   s1) of the whole stretch below the genre's `plr_min_lu`; when the whole is fine, the
//!   stretches where the short-term PLR (true peak of a 3 s window minus its short-term
//!   loudness) stays below it for [`SQUASHED_MIN_S`] or more, such as a limited-to-death chorus.
//!   Windows are placed at their centres, so stretch edges are within 1.5 s.
//! * Excessive dynamics: the loudness range (EBU Tech 3342) above the genre's usual range.
//!
//! Severity:
//! * too loud: Info, Warning more than [`LOUD_WARNING_LU`] over (the platform turns it down, so
//!   the dynamics given up for it are lost for nothing);
//! * too quiet: Warning more than [`QUIET_WARNING_LU`] under the target, or when the platform
//!   could not raise it to the target within its ceiling (it would play more than
//!   [`LOUDNESS_TOLERANCE_LU`] quieter than other tracks); Info otherwise;
//! * over-compressed: Warning, Problem more than [`PLR_PROBLEM_LU`] below the genre's minimum;
//! * excessive dynamics: Info (a wide range can be the point), Warning more than
//!   [`LRA_WARNING_LU`] over.

use super::spans::{flagged, join, windows, Span};
use super::text::{clock, num, span as span_text};
use super::{Context, Finding, FindingKind, Scope, Severity};
use crate::analysis::loudness::TimelinePoint;

/// Distance from the platform's target beyond which the loudness is reported, LU: the
/// tolerance EBU R 128 allows live programmes (±1 LU); closer than that, normalisation changes
/// the level by less than listeners notice between tracks.
const LOUDNESS_TOLERANCE_LU: f64 = 1.0;
/// Too loud by more than this is a Warning, LU.
const LOUD_WARNING_LU: f64 = 3.0;
/// Too quiet by more than this is a Warning, LU, even when the platform could raise it: not
/// every listener gets the raise (normalisation can be switched off in the players, and some
/// services only ever turn loud tracks down: YouTube's "content loudness" normalisation never
/// adds gain), and past twice the ±1 LU tolerance of EBU R 128 the difference from the
/// neighbouring tracks is no longer within what the recommendation calls the same level. A
/// judgement on the cited tolerance, not a measured threshold.
const QUIET_WARNING_LU: f64 = 2.0;
/// Window of the short-term PLR, frames: 3 s, the short-term loudness window (EBU Tech 3341).
const PLR_WINDOW_FRAMES: usize = 30;
/// Windows quieter than the integrated loudness by more than this are not judged, LU: the
/// relative gate of the loudness range (EBU Tech 3342, −20 LU); fades and breaks are not the
/// body of the track.
const PLR_GATE_LU: f64 = 20.0;
/// Shortest squashed stretch reported, s: one short-term window; a single limited hit is not
/// over-compression.
const SQUASHED_MIN_S: f64 = 3.0;
/// Squashed windows closer than this make one stretch, s.
const MERGE_S: f64 = 1.0;
/// PLR more than this below the genre's minimum is a Problem, LU.
const PLR_PROBLEM_LU: f64 = 3.0;
/// LRA more than this above the genre's range is a Warning, LU.
const LRA_WARNING_LU: f64 = 3.0;
/// Short-term window, s (EBU Tech 3341).
const SHORT_TERM_S: f64 = 3.0;
/// Low percentile of the loudness range (EBU Tech 3342).
const LRA_LOW_PERCENTILE: f64 = 0.10;

pub(super) fn detect(scope: &Scope, ctx: &Context, out: &mut Vec<Finding>) {
    let Some(integrated) = scope.report.integrated_lufs else {
        return;
    };
    out.extend(platform_loudness(scope, ctx, integrated));
    let points = scope.timeline.loudness().timeline_between(scope.t0, scope.t1);
    compression(scope, ctx, integrated, &points, out);
    out.extend(loudness_range(scope, ctx, integrated, &points));
}

fn platform_loudness(scope: &Scope, ctx: &Context, integrated: f64) -> Option<Finding> {
    let p = ctx.platform;
    let diff = integrated - p.integrated_lufs;
    if diff.abs() <= LOUDNESS_TOLERANCE_LU {
        return None;
    }
    let (i_en, i_fr) = num(integrated, 1);
    let (t_en, t_fr) = num(p.integrated_lufs, 1);
    let (d_en, d_fr) = num(diff.abs(), 1);
    let name = &p.name;
    let (kind, severity, en, fr) = if diff > 0.0 {
        (
            FindingKind::TooLoud,
            if diff > LOUD_WARNING_LU { Severity::Warning } else { Severity::Info },
            format!(
                "Integrated loudness {i_en} LUFS, {d_en} LU above {name}'s {t_en} LUFS: {name} will turn it \
                 down by {d_en} dB, so the dynamics given up to get it this loud are lost for nothing."
            ),
            format!(
                "Loudness intégrée de {i_fr} LUFS, {d_fr} LU au-dessus des {t_fr} LUFS de {name} : la \
                 plateforme le baissera de {d_fr} dB, et la dynamique sacrifiée pour ce niveau sera perdue \
                 pour rien."
            ),
        )
    } else {
        // Raising it by −diff moves its true peak up as much; the ceiling caps what is possible.
        let raised_tp = scope.report.true_peak_dbtp.map(|tp| tp - diff);
        let short = raised_tp.map_or(0.0, |tp| (tp - p.true_peak_dbtp).max(0.0));
        let (c_en, c_fr) = num(p.true_peak_dbtp, 1);
        let (tp_en, tp_fr) = num(raised_tp.unwrap_or(f64::NEG_INFINITY).max(-99.0), 1);
        let (s_en, s_fr) = num(short, 1);
        // Any amount over the ceiling is said as such; the severity (below) weighs how much.
        let (then_en, then_fr) = if short > 0.05 {
            (
                format!(
                    "raising it to the target would put its true peak at {tp_en} dBTP, over the {c_en} dBTP \
                     ceiling, so it will play up to {s_en} dB quieter than other tracks. Master it louder with \
                     a limiter."
                ),
                format!(
                    "le remonter jusqu'à la cible porterait son true peak à {tp_fr} dBTP, au-delà du plafond \
                     de {c_fr} dBTP : il sonnera jusqu'à {s_fr} dB plus bas que les autres morceaux. \
                     Masterisez-le plus fort, avec un limiteur."
                ),
            )
        } else {
            (
                format!(
                    "raising it to the target keeps its true peak at {tp_en} dBTP, within the {c_en} dBTP \
                     ceiling, so it will play at the same level as other tracks."
                ),
                format!(
                    "le remonter jusqu'à la cible laisse son true peak à {tp_fr} dBTP, sous le plafond de \
                     {c_fr} dBTP : il sonnera au même niveau que les autres morceaux."
                ),
            )
        };
        (
            FindingKind::TooQuiet,
            if short > LOUDNESS_TOLERANCE_LU || -diff > QUIET_WARNING_LU { Severity::Warning } else { Severity::Info },
            format!("Integrated loudness {i_en} LUFS, {d_en} LU below {name}'s {t_en} LUFS; {then_en}"),
            format!("Loudness intégrée de {i_fr} LUFS, {d_fr} LU sous les {t_fr} LUFS de {name} ; {then_fr}"),
        )
    };
    Some(Finding {
        kind,
        severity,
        start_s: scope.t0,
        end_s: scope.t1,
        value: integrated,
        threshold: p.integrated_lufs,
        unit: "LUFS".into(),
        explanation_en: en,
        explanation_fr: fr,
    })
}

/// The point of `points` (every 10 ms) whose windows end at `t`.
fn point_at(points: &[TimelinePoint], t: f64) -> Option<&TimelinePoint> {
    points.get(points.partition_point(|p| p.time_s < t - 0.005))
}

fn compression(scope: &Scope, ctx: &Context, integrated: f64, points: &[TimelinePoint], out: &mut Vec<Finding>) {
    let min = ctx.genre.plr_min_lu;
    if let Some(plr) = scope.report.plr_lu.filter(|&plr| plr < min) {
        out.push(squashed(scope, ctx, Span { start: scope.t0, end: scope.t1 }, plr));
        return;
    }
    let squashed_windows = windows(scope.frames, PLR_WINDOW_FRAMES, |w| {
        let end = w[w.len() - 1].end_s();
        let Some(short_term) = point_at(points, end).and_then(|p| p.short_term_lufs) else {
            return false;
        };
        let peak = w.iter().map(|f| f.true_peak_max()).fold(0.0f32, f32::max);
        short_term >= integrated - PLR_GATE_LU && super::amp_db(peak as f64) - short_term < min
    });
    for span in join(flagged(&squashed_windows, |&f| f), MERGE_S, SQUASHED_MIN_S) {
        if let Some(plr) = scope.timeline.loudness_between(span.start, span.end).plr_lu.filter(|&p| p < min) {
            out.push(squashed(scope, ctx, span, plr));
        }
    }
}

fn squashed(scope: &Scope, ctx: &Context, span: Span, plr: f64) -> Finding {
    let min = ctx.genre.plr_min_lu;
    let (p_en, p_fr) = num(plr, 1);
    let (m_en, m_fr) = num(min, 0);
    let (w_en, w_fr) = span_text(scope, span);
    let (g_en, g_fr) = (&ctx.genre.name_en, &ctx.genre.name_fr);
    Finding {
        kind: FindingKind::OverCompressed,
        severity: if plr < min - PLR_PROBLEM_LU { Severity::Problem } else { Severity::Warning },
        start_s: span.start,
        end_s: span.end,
        value: plr,
        threshold: min,
        unit: "LU".into(),
        explanation_en: format!(
            "Peak-to-loudness ratio {p_en} LU {w_en}, under the {m_en} LU a {g_en} master usually keeps: the \
             transients are squashed and it will sound flat next to other tracks at the same loudness. Ease \
             the limiter or the bus compression."
        ),
        explanation_fr: format!(
            "Rapport crête/loudness (PLR) de {p_fr} LU {w_fr}, sous les {m_fr} LU que garde d'habitude un \
             master {g_fr} : les transitoires sont écrasés et, à loudness égale, il sonnera plat à côté des \
             autres morceaux. Relâchez le limiteur ou la compression de bus."
        ),
    }
}

fn loudness_range(scope: &Scope, ctx: &Context, integrated: f64, points: &[TimelinePoint]) -> Option<Finding> {
    let lra = scope.report.loudness_range_lu?;
    let [low, high] = ctx.genre.lra_lu;
    if lra <= high {
        return None;
    }
    let quiet = quiet_part(scope, integrated, points).map(clock);
    let (l_en, l_fr) = num(lra, 1);
    let (lo, hi) = (num(low, 0).0, num(high, 0).0);
    let (g_en, g_fr) = (&ctx.genre.name_en, &ctx.genre.name_fr);
    let (q_en, q_fr) =
        quiet.map_or((String::new(), String::new()), |t| (format!(" (around {t})"), format!(" (vers {t})")));
    Some(Finding {
        kind: FindingKind::ExcessiveDynamics,
        severity: if lra > high + LRA_WARNING_LU { Severity::Warning } else { Severity::Info },
        start_s: scope.t0,
        end_s: scope.t1,
        value: lra,
        threshold: high,
        unit: "LU".into(),
        explanation_en: format!(
            "Loudness range {l_en} LU, wider than the {lo}–{hi} LU usual for {g_en}: the quietest part{q_en} \
             may get lost in a car or on earbuds. Ride the levels or compress gently."
        ),
        explanation_fr: format!(
            "Plage de loudness (LRA) de {l_fr} LU, plus large que les {lo} à {hi} LU habituels en {g_fr} : le \
             passage le plus calme{q_fr} risque de se perdre en voiture ou aux écouteurs. Automatisez les \
             niveaux ou compressez légèrement."
        ),
    })
}

/// Centre of the quiet part that widens the range: the longest run of short-term windows at or
/// under the range's low end (the 10th percentile of the gated short-term loudness, EBU Tech
/// 3342), so a short dip at the edge of a break does not stand for a quiet verse. `None` when
/// no window passes the gate.
fn quiet_part(scope: &Scope, integrated: f64, points: &[TimelinePoint]) -> Option<f64> {
    // Whole windows only, at their centres, gated as the range is.
    let gated: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.time_s >= scope.t0 + SHORT_TERM_S - 0.005)
        .filter_map(|p| Some((p.time_s - 0.5 * SHORT_TERM_S, p.short_term_lufs?)))
        .filter(|&(_, s)| s >= integrated - PLR_GATE_LU)
        .collect();
    let mut levels: Vec<f64> = gated.iter().map(|&(_, s)| s).collect();
    levels.sort_by(f64::total_cmp);
    let low = *levels.get(((levels.len() as f64 - 1.0) * LRA_LOW_PERCENTILE).round() as usize)?;
    let (mut best, mut run): (Option<Span>, Option<Span>) = (None, None);
    for &(t, s) in &gated {
        run = (s <= low).then(|| Span { start: run.map_or(t, |r| r.start), end: t });
        if let Some(r) = run.filter(|r| best.is_none_or(|b| r.len() > b.len())) {
            best = Some(r);
        }
    }
    best.map(|b| 0.5 * (b.start + b.end))
}
