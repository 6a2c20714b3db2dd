//! A channel in opposite polarity and narrow stereo, over the whole stretch; phase problems and
//! mono fold-down loss, from the frames' correlation and mid/side energy over 1 s windows (sliding by a frame, placed at their centres: stretch edges within half a
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
//!
//! Over the whole stretch (the frames above the gate, at least [`WHOLE_MIN_S`] of them):
//!
//! * Inverted channel: the low band's (20–150 Hz, `meter::stats::LOW_STEREO_HZ`) correlation
//!   `(M − S)/(M + S)`, from its mid and side power, at or below [`POLARITY_LOW_CORRELATION`],
//!   when that band holds at least [`LOW_SHARE_DB`] of the power. Kick and bass are mixed to the
//!   centre and masters keep the low end mono (for vinyl cutting and mono playback), so a low
//!   band with more side than mid is one channel in opposite polarity: inverting a channel swaps
//!   mid and side. Merely wide material keeps its low end in the middle, which is how the two
//!   are told apart (on the 48 clean tuning excerpts of the advice evaluation the low band's
//!   correlation is 0.21 … 1.00, median 0.85; inverted, −0.21 … −1.00). A track whose low end
//!   is itself wide, widened further, can also show more side than mid there: so the low band
//!   must also be at least as wide as the whole stretch, which an inversion makes it and a
//!   widening does not, unless its correlation is at or below [`POLARITY_STRONG`]. Problem: a fold-down
//!   to mono loses the bass. The windowed phase and mono checks are then skipped: they would
//!   report the same inversion again.
//! * Narrow stereo: the side-to-mid power ratio at or below [`NARROW_DB`] and above
//!   [`MONO_BY_DESIGN_DB`]. Warning. A track with (almost) no side at all is mono by design —
//!   a mono recording, a dual-mono file — and is not called narrow.
//! * Too wide: with no windowed finding, the side-to-mid ratio at or above [`WIDE_DB`] is a
//!   mono fold-down loss over the whole stretch (Warning).

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

/// Low-band correlation at or below which a channel is inverted: the low band holds more side
/// than mid. The midpoint of the clean (0.21 and up) and inverted (−0.21 and down) tuning
/// excerpts; 0 is also where the mid and side powers are equal.
const POLARITY_LOW_CORRELATION: f64 = 0.0;
/// A low-band correlation at or below this is an inverted channel even when the low band is
/// narrower than the whole (three quarters of its power in the side). With the "low band at
/// least as wide" rule, on the tuning excerpts: 47 of 48 inversions found, none of the clean
/// excerpts, and about 6 % of the widened ones (side × 1.6–2.5) taken for an inversion, against
/// 21 % (10 of 48) with the correlation alone.
const POLARITY_STRONG: f64 = -0.5;
/// The low band must hold at least this share of the stretch's power for its correlation to
/// mean anything, dB: above the residue of a codec or a high-pass. The clean tuning excerpts
/// hold −44.6 dB and up there, and even those read like the rest (correlation 0.77 and 0.65).
const LOW_SHARE_DB: f64 = -60.0;
/// Side-to-mid ratio at or below which the stereo is narrow, dB. Released stereo music sits far
/// above: the 48 clean tuning excerpts of the advice evaluation measure −20.4 … −2.2 dB (median
/// −8.3 dB), and only one (a near-mono cue at −20.4 dB) is under −15.6 dB; narrowing a track's
/// side to 0.3–0.6 of itself takes 4.4–10.5 dB off.
pub const NARROW_DB: f64 = -16.0;
/// Side-to-mid ratio below which a track is mono by design, not narrow, dB: a side 30 dB under
/// the mid is no audible width (the advice evaluation gives such excerpts no stereo defects), only
/// the residue of a lossy codec or of a dual-mono transfer.
pub const MONO_BY_DESIGN_DB: f64 = -30.0;
/// Side-to-mid ratio at or above which the whole stretch is too wide, dB (a fold-down to mono
/// then loses 2.4 dB or more). The clean tuning excerpts reach −2.2 dB at most.
pub const WIDE_DB: f64 = -1.5;
/// Shortest gated stretch judged as a whole, s.
const WHOLE_MIN_S: f64 = 3.0;

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

/// Mid and side power of the whole stretch, full band and low band, over the frames above the
/// gate (each weighted by its length).
#[derive(Clone, Copy, Default)]
struct Whole {
    mid: f64,
    side: f64,
    low_mid: f64,
    low_side: f64,
    seconds: f64,
}

impl Whole {
    fn of(frames: &[FrameStats], gate: f64) -> Self {
        let mut w = Whole::default();
        for f in frames.iter().filter(|f| f.mean_square(2) >= gate) {
            let d = f.duration_s;
            w.mid += f.mid_ms as f64 * d;
            w.side += f.side_ms as f64 * d;
            w.low_mid += f.low_mid_ms as f64 * d;
            w.low_side += f.low_side_ms as f64 * d;
            w.seconds += d;
        }
        w
    }

    /// Correlation of the low band, when it holds enough of the power.
    fn low_correlation(&self) -> Option<f64> {
        let low = self.low_mid + self.low_side;
        (low > 0.0 && low >= (self.mid + self.side) * db_to_power(LOW_SHARE_DB))
            .then(|| (self.low_mid - self.low_side) / low)
    }

    /// The low band's correlation if it says a channel is inverted: more side than mid there,
    /// and the low band at least as wide as the whole (an inversion turns the mix's centred bass
    /// into side, so the low band becomes the widest part; widening moves every band alike) or
    /// its correlation at or below [`POLARITY_STRONG`].
    fn inverted(&self) -> Option<f64> {
        let c = self.low_correlation()?;
        let low_wider = self.low_side * self.mid >= self.side * self.low_mid;
        (c <= POLARITY_LOW_CORRELATION && (low_wider || c <= POLARITY_STRONG)).then_some(c)
    }

    /// Side-to-mid power ratio, dB.
    fn side_to_mid_db(&self) -> f64 {
        power_db(self.side / self.mid.max(1e-20))
    }
}

pub(super) fn detect(scope: &Scope, out: &mut Vec<Finding>) {
    let Some(active) = scope.active_ms.filter(|_| scope.channels == 2) else {
        return;
    };
    let gate = active * db_to_power(-GATE_DB);
    let whole = Whole::of(scope.frames, gate);
    let judged = whole.seconds >= WHOLE_MIN_S && whole.mid > 0.0;
    if judged {
        if let Some(c) = whole.inverted() {
            out.push(polarity(scope, c));
            return;
        }
        let width = whole.side_to_mid_db();
        if width > MONO_BY_DESIGN_DB && width <= NARROW_DB {
            out.push(narrow(scope, width));
        }
    }
    let before = out.len();
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
    let width = whole.side_to_mid_db();
    if judged && out.len() == before && width >= WIDE_DB {
        // The stereo power (l² + r²)/2 is mid + side.
        let drop_db = power_db(whole.mid / (whole.mid + whole.side));
        out.push(mono(scope, Span { start: scope.t0, end: scope.t1 }, drop_db));
    }
}

fn polarity(scope: &Scope, correlation: f64) -> Finding {
    let (c_en, c_fr) = num(correlation, 2);
    Finding {
        kind: FindingKind::PolarityInverted,
        severity: Severity::Problem,
        start_s: scope.t0,
        end_s: scope.t1,
        value: correlation,
        threshold: POLARITY_LOW_CORRELATION,
        unit: "correlation".into(),
        explanation_en: format!(
            "One channel is polarity-inverted: below 150 Hz, where a mix is nearly mono, the channels \
             are opposite (correlation {c_en}). In mono the bass cancels; invert one channel."
        ),
        explanation_fr: format!(
            "Un canal est inversé en polarité : sous 150 Hz, où un mix est presque mono, les canaux \
             s'opposent (corrélation de {c_fr}). En mono, le grave s'annule ; inversez un canal."
        ),
    }
}

fn narrow(scope: &Scope, side_to_mid_db: f64) -> Finding {
    let (v_en, v_fr) = num(side_to_mid_db, 1);
    let (t_en, t_fr) = num(NARROW_DB, 0);
    Finding {
        kind: FindingKind::NarrowStereo,
        severity: Severity::Warning,
        start_s: scope.t0,
        end_s: scope.t1,
        value: side_to_mid_db,
        threshold: NARROW_DB,
        unit: "dB".into(),
        explanation_en: format!(
            "Narrow stereo: the side signal is {v_en} dB against the mid (released stereo music sits \
             above {t_en} dB). Widen the image a little."
        ),
        explanation_fr: format!(
            "Stéréo étroite : le signal latéral est à {v_fr} dB du signal central (la musique stéréo \
             publiée est au-dessus de {t_fr} dB). Élargissez un peu l'image."
        ),
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
