//! Phase problems and mono fold-down loss, from the frames' correlation and mid/side energy
//! over 1 s windows (sliding by a frame, placed at their centres: stretch edges within half a
//! second). Windows more than [`GATE_DB`] under the body of the track are not judged (reverb
//! tails and fades are naturally decorrelated). Mono streams have neither.
//!
//! * Phase problem: the energy-weighted correlation `Σlr / √(Σl²·Σr²)` of the window at or
//!   below [`PHASE_CORRELATION_MAX`] for at least [`MIN_S`].
//! * Mono compatibility: the mid signal's energy `Σ((l+r)/2)²` against the stereo energy
//!   `Σ(l²+r²)/2`, in dB (0 dB for a centred mono source, −3.01 dB for uncorrelated channels,
//!   −∞ for opposite ones), at or below [`MONO_DROP_DB`] for at least [`MIN_S`]. A mono loss
//!   that is mostly inside a phase problem is not reported again: the phase finding says it.
//!
//! Severity: phase Warning, Problem at or below [`PHASE_PROBLEM`]; mono Warning, Problem at or
//! below [`MONO_PROBLEM_DB`].

use super::spans::{flagged, join, windows, Span};
use super::text::{num, span as span_text};
use super::{power_db, Finding, FindingKind, Scope, Severity};
use crate::analysis::timeline::FrameStats;
use crate::dsp::decibel::db_to_power;

/// Window, frames (1 s).
const WINDOW_FRAMES: usize = 10;
/// Quieter windows are not judged, dB under the body of the track (as the spectral checks).
const GATE_DB: f64 = 20.0;
/// Correlation at or below which the stereo is out of phase. Correlation meters sit around 0
/// for wide, decorrelated material (reverbs, doubled guitars, ping-pong delays); a reading
/// clearly below it, held for a second, means much of the signal is in opposite polarity.
const PHASE_CORRELATION_MAX: f64 = -0.3;
/// Correlation at or below which a phase problem is a Problem: more than half of the energy
/// then cancels in mono.
const PHASE_PROBLEM: f64 = -0.5;
/// Mono level against the stereo one at or below which the fold-down loses too much, dB:
/// uncorrelated channels lose 3.01 dB; half a dB more means parts of the mix cancel, beyond
/// what wide stereo alone explains.
const MONO_DROP_DB: f64 = -3.5;
/// A mono loss at or below this is a Problem, dB (half the energy and more gone).
const MONO_PROBLEM_DB: f64 = -6.0;
/// Shortest stretch reported, s.
const MIN_S: f64 = 1.0;
/// Flagged windows closer than this make one stretch, s.
const MERGE_S: f64 = 0.5;
/// A mono stretch overlapping phase stretches for more than this fraction of its length is
/// left to the phase finding.
const COVERED: f64 = 0.5;

/// Energy sums of a stretch of stereo frames.
#[derive(Clone, Copy, Default)]
struct Sums {
    ll: f64,
    rr: f64,
    lr: f64,
    mid: f64,
}

impl Sums {
    fn of(frames: &[FrameStats]) -> Self {
        let mut s = Sums::default();
        for f in frames {
            let (l, r, d) = (f.rms[0] as f64, f.rms[1] as f64, f.duration_s);
            s.ll += l * l * d;
            s.rr += r * r * d;
            s.lr += f.correlation.map_or(0.0, |c| c as f64) * l * r * d;
            s.mid += f.mid_ms as f64 * d;
        }
        s
    }

    fn correlation(&self) -> Option<f64> {
        (self.ll > 0.0 && self.rr > 0.0).then(|| (self.lr / (self.ll * self.rr).sqrt()).clamp(-1.0, 1.0))
    }

    fn mono_db(&self) -> Option<f64> {
        let stereo = 0.5 * (self.ll + self.rr);
        (stereo > 0.0).then(|| power_db(self.mid / stereo))
    }
}

pub(super) fn detect(scope: &Scope, out: &mut Vec<Finding>) {
    let Some(active) = scope.active_ms.filter(|_| scope.channels == 2) else {
        return;
    };
    let gate = active * db_to_power(-GATE_DB);
    let sums = windows(scope.frames, WINDOW_FRAMES, |w| {
        let s = Sums::of(w);
        let duration: f64 = w.iter().map(|f| f.duration_s).sum();
        (0.5 * (s.ll + s.rr) >= gate * duration).then_some(s)
    });
    let phase_spans = join(
        flagged(&sums, |s| s.and_then(|s| s.correlation()).is_some_and(|c| c <= PHASE_CORRELATION_MAX)),
        MERGE_S,
        MIN_S,
    );
    for &span in &phase_spans {
        if let Some(c) = Sums::of(scope.frames_in(span.start, span.end)).correlation() {
            out.push(phase(scope, span, c));
        }
    }
    let mono_spans =
        join(flagged(&sums, |s| s.and_then(|s| s.mono_db()).is_some_and(|m| m <= MONO_DROP_DB)), MERGE_S, MIN_S);
    for span in mono_spans {
        let covered: f64 = phase_spans.iter().map(|p| p.overlap(&span)).sum();
        if covered > COVERED * span.len() {
            continue;
        }
        if let Some(m) = Sums::of(scope.frames_in(span.start, span.end)).mono_db().filter(|&m| m <= MONO_DROP_DB) {
            out.push(mono(scope, span, m));
        }
    }
}

fn phase(scope: &Scope, span: Span, correlation: f64) -> Finding {
    let (c_en, c_fr) = num(correlation, 2);
    let (t_en, t_fr) = num(PHASE_CORRELATION_MAX, 1);
    let (w_en, w_fr) = span_text(scope, span);
    Finding {
        kind: FindingKind::PhaseProblem,
        severity: if correlation <= PHASE_PROBLEM { Severity::Problem } else { Severity::Warning },
        start_s: span.start,
        end_s: span.end,
        value: correlation,
        threshold: PHASE_CORRELATION_MAX,
        unit: "correlation".into(),
        explanation_en: format!(
            "Out-of-phase stereo {w_en}: correlation {c_en} (at or below {t_en}). One channel may be \
             polarity-inverted, or a stereo effect cancels; listen in mono."
        ),
        explanation_fr: format!(
            "Stéréo en opposition de phase {w_fr} : corrélation de {c_fr} (seuil {t_fr}). Un canal est \
             peut-être inversé en polarité, ou un effet stéréo s'annule ; écoutez en mono."
        ),
    }
}

fn mono(scope: &Scope, span: Span, drop_db: f64) -> Finding {
    let (d_en, d_fr) = num(-drop_db, 1);
    let (t_en, t_fr) = num(-MONO_DROP_DB, 1);
    let (w_en, w_fr) = span_text(scope, span);
    Finding {
        kind: FindingKind::MonoCompatibility,
        severity: if drop_db <= MONO_PROBLEM_DB { Severity::Problem } else { Severity::Warning },
        start_s: span.start,
        end_s: span.end,
        value: drop_db,
        threshold: MONO_DROP_DB,
        unit: "dB".into(),
        explanation_en: format!(
            "In mono the level drops by {d_en} dB {w_en} (more than {t_en} dB): parts of the stereo image \
             cancel. Narrow the widening effects or check the polarity of stereo pairs."
        ),
        explanation_fr: format!(
            "En mono, le niveau chute de {d_fr} dB {w_fr} (plus de {t_fr} dB) : une partie de l'image \
             stéréo s'annule. Resserrez les effets d'élargissement ou vérifiez la polarité des paires \
             stéréo."
        ),
    }
}
