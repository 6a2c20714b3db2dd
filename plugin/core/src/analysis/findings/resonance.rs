//! The track against itself: resonances, bumps and dips of the long-term average spectrum
//! measured against the track's own smoothed spectrum, each with its frequency, gain and Q.
//!
//! A genre curve says whether a region is loud for the style; it cannot see a +5 dB bell at
//! 600 Hz on a master whose low mids are quiet for the style, and it calls a clean master that
//! differs from the average a problem. Here the reference is the track's own spectrum,
//! smoothed much more broadly than any EQ bell, so only what stands out of the track's own
//! shape is reported (issue 11, item 3).
//!
//! # Method
//!
//! 1. **Fine spectrum** `F`: the long-term average spectrum of the analysed stretch
//!    ([`crate::analysis::spectral::Features::ltas`], ~5 Hz bins of the 186 ms chroma
//!    transform) averaged in sixth-octave bands every 1/24 octave from [`LOW_HZ`] to
//!    [`HIGH_HZ`] (or 0.42 × the sample rate), dB. A sixth of an octave is the resolution room
//!    acousticians read resonances at; it also merges the single partials of notes.
//! 2. **Smooth spectrum** `S`: a robust local line through `F` over ±[`SMOOTH_OCTAVES`]
//!    octaves (median slope of the symmetric pairs, median level; the window kept symmetric
//!    near the ends), then [`PASSES`] times again with the points the previous pass found more than
//!    [`OUTLIER_DB`] away left out, so a bump does not lift its own reference.
//! 3. **Excess** `E = F − S`. Each local maximum of `E` (minimum, for dips) of at least
//!    [`CANDIDATE_DB`] is a candidate: the cookbook peaking filter (R. Bristow-Johnson, *Audio
//!    EQ Cookbook*; its analogue prototype) on a straight base that best fits `F` over
//!    ±[`SMOOTH_OCTAVES`] around it, by least squares over a grid of centres, Qs and gains,
//!    gives its frequency, gain and Q, so the bell that undoes it is the same filter with the
//!    gain negated. Its width is the midpoint-gain bandwidth `BW` (`1/Q = 2·sinh(ln 2 / 2 · BW)`).
//! 4. A bump narrower than [`MIN_BW_OCTAVES`] is a note or a partial, not a colour of the
//!    mix: left out. What is left and at least [`WARN_DB`] is reported as a warning (never a
//!    problem, see below): the kind follows the frequency ([`kind_of`]).
//!
//! **What it cannot do.** Measured on the 26 first clean excerpts of the advice evaluation's
//! tuning set, released masters carry bumps and dips of 4 to 15 dB against their own smoothed
//! spectrum (the bass hump, instruments' formants): as large as the ±4–8 dB defects the
//! evaluation injects. So these findings are warnings to read, and the engine does not act on
//! them alone; it uses them to size the bell of a problem the genre comparison found
//! (`suggest.rs`).
//!
//! The thresholds were measured on the tuning set of the advice evaluation (clean excerpts of
//! released music, `docs/advice.md`): see the constants.

use super::text::{num, signed};
use super::{Finding, FindingKind, Severity};
use crate::dsp::decibel::power_to_db;
use serde::Serialize;

/// Lowest frequency measured, Hz: below it the ~5 Hz bins are too coarse for a sixth octave.
pub const LOW_HZ: f64 = 45.0;
/// Highest frequency measured, Hz (or 0.42 × the sample rate, below the anti-alias roll-off).
pub const HIGH_HZ: f64 = 14_000.0;
/// Points per octave of the fine spectrum.
const STEPS_PER_OCTAVE: f64 = 24.0;
/// Width of the fine spectrum's bands, octaves.
const FINE_OCTAVES: f64 = 1.0 / 6.0;
/// Half-width of the running median, octaves: twice the width of the broadest bell worth a
/// bell (Q 1.4 is one octave between its midpoint-gain frequencies), so such a bell covers
/// less than half the window and cannot move the median far.
pub const SMOOTH_OCTAVES: f64 = 1.0;
/// Points further than this from the first smooth spectrum are left out of the second, dB.
const OUTLIER_DB: f64 = 1.0;
/// Passes that leave the outliers out: each lowers the reference under a bump a little more
/// (its skirts are outliers once the reference stops following them).
const PASSES: usize = 3;
/// Narrowest bump reported, octaves between its half-gain points (a Q of about 5.8): narrower
/// is a single note's partials.
pub const MIN_BW_OCTAVES: f64 = 0.25;
/// Smallest bump reported (as a warning), dB.
pub const WARN_DB: f64 = 3.0;

/// One bump or dip of the long-term spectrum against the track's own smoothed spectrum.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Resonance {
    /// The finding kind it is reported as.
    pub kind: FindingKind,
    /// Centre, Hz.
    pub freq_hz: f64,
    /// Height above the smoothed spectrum (negative for a dip), dB.
    pub gain_db: f64,
    /// Q of the cookbook peaking filter of the same width.
    pub q: f64,
    /// Width between the half-gain points, octaves.
    pub bandwidth_octaves: f64,
    /// RMS of what the fitted bell and its straight base leave of the fine spectrum over the
    /// fitted window, dB: how well a single bell explains the bump (small for an EQ bell on a
    /// smooth mix, large for a lumpy region of the music).
    pub fit_rms_db: f64,
}

impl Resonance {
    /// Whether it is measured with enough confidence to act on: a single bell explains it
    /// (fit RMS at most [`CONFIDENT_FIT_DB`]) and the fit is inside its grid (gain under
    /// [`CONFIDENT_MAX_DB`], Q 0.5–6).
    pub fn is_confident(&self) -> bool {
        self.fit_rms_db <= CONFIDENT_FIT_DB && self.gain_db.abs() < CONFIDENT_MAX_DB && (0.5..=6.0).contains(&self.q)
    }
}

/// Largest fit RMS of a bump the engine acts on, dB.
pub const CONFIDENT_FIT_DB: f64 = 0.6;
/// A fit at or beyond this gain, dB, leans on the end of its grid: a region of the music
/// rather than a bell.
pub const CONFIDENT_MAX_DB: f64 = 12.0;

/// The kind a bump (`excess`) or dip at `hz` is reported as: the detection table of
/// `docs/advice.md` (boom below 120 Hz, mud to 400 Hz, boxiness to 1 kHz, harshness to
/// 4.5 kHz, sibilance above; a dip is thin low end below 200 Hz, hollow mids to 4.5 kHz, dull
/// top above).
pub fn kind_of(hz: f64, excess: bool) -> FindingKind {
    match (excess, hz) {
        (true, h) if h < 120.0 => FindingKind::Boom,
        (true, h) if h < 400.0 => FindingKind::Mud,
        (true, h) if h < 1000.0 => FindingKind::Boxiness,
        (true, h) if h < 4500.0 => FindingKind::Harshness,
        (true, _) => FindingKind::Sibilance,
        (false, h) if h < 200.0 => FindingKind::ThinLowEnd,
        (false, h) if h < 4500.0 => FindingKind::HollowMids,
        (false, _) => FindingKind::DullTop,
    }
}

/// The fine and smooth spectra of a long-term spectrum (`ltas`, power per bin of `bin_hz`) at
/// `sample_rate`: `(frequencies, fine dB, smooth dB)` on the 1/24-octave grid; empty when the
/// spectrum is too short or silent.
pub fn spectra(ltas: &[f32], bin_hz: f64, sample_rate: u32) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let top = HIGH_HZ.min(0.42 * f64::from(sample_rate));
    if ltas.len() < 8 || bin_hz.is_nan() || bin_hz <= 0.0 || top <= LOW_HZ * 2.0 {
        return (Vec::new(), Vec::new(), Vec::new());
    }
    let n = ((top / LOW_HZ).log2() * STEPS_PER_OCTAVE).floor() as usize + 1;
    let freqs: Vec<f64> = (0..n).map(|i| LOW_HZ * 2f64.powf(i as f64 / STEPS_PER_OCTAVE)).collect();
    let half = 2f64.powf(FINE_OCTAVES / 2.0);
    let mut fine = Vec::with_capacity(n);
    for &f in &freqs {
        let (lo, hi) = (f / half / bin_hz, f * half / bin_hz);
        let (a, b) = ((lo.ceil() as usize).max(1), (hi.floor() as usize).min(ltas.len() - 1));
        let p = if b >= a {
            ltas[a..=b].iter().map(|&x| f64::from(x).max(0.0)).sum::<f64>() / (b + 1 - a) as f64
        } else {
            // Narrower than a bin (the lowest bands): the power at `f`, between its two bins.
            let k = (f / bin_hz).floor() as usize;
            let t = f / bin_hz - k as f64;
            let at = |i: usize| f64::from(ltas[i.min(ltas.len() - 1)]).max(0.0);
            (1.0 - t) * at(k) + t * at(k + 1)
        };
        fine.push(power_to_db(p.max(1e-20)));
    }
    if fine.iter().all(|&x| x <= -190.0) {
        return (Vec::new(), Vec::new(), Vec::new());
    }
    let reach = (SMOOTH_OCTAVES * STEPS_PER_OCTAVE).round() as usize;
    let mut smooth = running_median(&fine, reach, |_| true);
    for _ in 0..PASSES {
        let previous = smooth;
        smooth = running_median(&fine, reach, |j| (fine[j] - previous[j]).abs() <= OUTLIER_DB);
    }
    (freqs, fine, smooth)
}

/// A robust local line through `x` at each `i`, over `i ± reach` (shrunk to stay symmetric at
/// the ends), using only the points `keep` accepts (all of them when it accepts fewer than a
/// third): the slope is the median of the symmetric pairs' slopes `(x[i+k] − x[i−k]) / 2k`,
/// the level the median of `x[j] − slope·(j − i)`. A median follows a tilted spectrum without
/// lag and is moved little by a bump that covers less than half the window.
fn running_median(x: &[f64], reach: usize, keep: impl Fn(usize) -> bool) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    let mut values: Vec<f64> = Vec::with_capacity(2 * reach + 1);
    for i in 0..x.len() {
        let r = reach.min(i).min(x.len() - 1 - i);
        if r == 0 {
            out.push(x[i]);
            continue;
        }
        let pairs_kept = (1..=r).filter(|&k| keep(i - k) && keep(i + k)).count();
        let all = pairs_kept * 3 < r;
        values.clear();
        values.extend(
            (1..=r).filter(|&k| all || (keep(i - k) && keep(i + k))).map(|k| (x[i + k] - x[i - k]) / (2 * k) as f64),
        );
        let slope = median(&mut values);
        let kept = (i - r..=i + r).filter(|&j| keep(j)).count();
        let all = kept * 3 < 2 * r + 1;
        values.clear();
        values.extend((i - r..=i + r).filter(|&j| all || keep(j)).map(|j| x[j] - slope * (j as f64 - i as f64)));
        out.push(median(&mut values));
    }
    out
}

/// Median of a non-empty slice (sorts it).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

/// Every bump and dip of `ltas` (see the module documentation) at least [`WARN_DB`] high and
/// [`MIN_BW_OCTAVES`] wide, largest first.
pub fn measure(ltas: &[f32], bin_hz: f64, sample_rate: u32) -> Vec<Resonance> {
    let (freqs, fine, smooth) = spectra(ltas, bin_hz, sample_rate);
    let excess: Vec<f64> = fine.iter().zip(&smooth).map(|(f, s)| f - s).collect();
    let mut out = Vec::new();
    for sign in [1.0, -1.0] {
        let e: Vec<f64> = excess.iter().map(|x| sign * x).collect();
        let mut peaks: Vec<usize> = (1..e.len().saturating_sub(1))
            .filter(|&i| e[i] >= CANDIDATE_DB && e[i] >= e[i - 1] && e[i] > e[i + 1])
            .collect();
        peaks.sort_by(|&a, &b| e[b].total_cmp(&e[a]));
        for &i in peaks.iter().take(MAX_CANDIDATES) {
            let Some(fit) = fit_bell(&freqs, &fine, i, sign) else { continue };
            let bw = bandwidth_of_q(fit.q);
            if fit.gain_db.abs() < WARN_DB || bw < MIN_BW_OCTAVES {
                continue;
            }
            // Two peaks of the excess can fit the same bell: keep it once.
            if out.iter().any(|r: &Resonance| {
                r.gain_db.signum() == fit.gain_db.signum() && (r.freq_hz / fit.freq_hz).log2().abs() < 0.5 * bw
            }) {
                continue;
            }
            out.push(Resonance {
                kind: kind_of(fit.freq_hz, sign > 0.0),
                freq_hz: fit.freq_hz,
                gain_db: fit.gain_db,
                q: fit.q,
                bandwidth_octaves: bw,
                fit_rms_db: fit.rms_db,
            });
        }
    }
    out.sort_by(|a, b| b.gain_db.abs().total_cmp(&a.gain_db.abs()));
    out
}

/// Peaks of the excess at least this high are fitted, dB.
const CANDIDATE_DB: f64 = 2.0;
/// Fitted peaks per sign, the highest first: bounds the work.
const MAX_CANDIDATES: usize = 6;

/// A fitted bell.
struct Bell {
    freq_hz: f64,
    gain_db: f64,
    q: f64,
    rms_db: f64,
}

/// The cookbook bell (on a straight base, in dB against log frequency) that best fits the
/// fine spectrum `fine` over ±[`SMOOTH_OCTAVES`] around grid point `i`, by least squares over
/// a grid of centres (± 1/16 octave), Qs (0.5 … 8) and gains (of `sign`, 1 … 15 dB); the base
/// line is solved exactly for each. `None` when the window is too short.
fn fit_bell(freqs: &[f64], fine: &[f64], i: usize, sign: f64) -> Option<Bell> {
    let reach = (SMOOTH_OCTAVES * STEPS_PER_OCTAVE).round() as usize;
    let (a, b) = (i.saturating_sub(reach), (i + reach).min(freqs.len() - 1));
    if b - a < 8 {
        return None;
    }
    let xs: Vec<f64> = (a..=b).map(|j| (freqs[j] / freqs[i]).log2()).collect();
    let ys = &fine[a..=b];
    let n = xs.len() as f64;
    let mx = xs.iter().sum::<f64>() / n;
    let sxx = xs.iter().map(|x| (x - mx) * (x - mx)).sum::<f64>();
    let mut best: Option<(f64, Bell)> = None;
    let mut resid = vec![0.0; xs.len()];
    for d in -3..=3 {
        let f0 = freqs[i] * 2f64.powf(f64::from(d) / 48.0);
        for qi in 0..=24 {
            let q = 0.5 * 2f64.powf(f64::from(qi) / 6.0);
            for gi in 0..=56 {
                let g = sign * (1.0 + 0.25 * f64::from(gi));
                for (r, (&x, &y)) in resid.iter_mut().zip(xs.iter().zip(ys)) {
                    *r = y - bell_db(freqs[i] * 2f64.powf(x) / f0, g, q);
                }
                let my = resid.iter().sum::<f64>() / n;
                let slope = xs.iter().zip(&resid).map(|(x, r)| (x - mx) * (r - my)).sum::<f64>() / sxx;
                let sse: f64 = xs.iter().zip(&resid).map(|(x, r)| (r - my - slope * (x - mx)).powi(2)).sum();
                if best.as_ref().is_none_or(|(e, _)| sse < *e) {
                    best = Some((sse, Bell { freq_hz: f0, gain_db: g, q, rms_db: (sse / n).sqrt() }));
                }
            }
        }
    }
    best.map(|(_, bell)| bell)
}

/// Response of the analogue prototype of the cookbook peaking filter at `w = f / f0`, dB:
/// `|H|² = ((1 − w²)² + (w·A/Q)²) / ((1 − w²)² + (w/(A·Q))²)`, `A = 10^(gain/40)`.
fn bell_db(w: f64, gain_db: f64, q: f64) -> f64 {
    let a = 10f64.powf(gain_db / 40.0);
    let d = (1.0 - w * w).powi(2);
    let num = d + (w * a / q).powi(2);
    let den = d + (w / (a * q)).powi(2);
    10.0 * (num / den).log10()
}

/// Midpoint-gain bandwidth, octaves, of the cookbook peaking filter of quality `q`.
pub fn bandwidth_of_q(q: f64) -> f64 {
    2.0 / std::f64::consts::LN_2 * (1.0 / (2.0 * q.max(1e-3))).asinh()
}

/// Q of the cookbook peaking filter whose midpoint-gain bandwidth is `bw` octaves.
pub fn q_of_bandwidth(bw: f64) -> f64 {
    1.0 / (2.0 * (std::f64::consts::LN_2 / 2.0 * bw.max(1e-3)).sinh())
}

/// Findings for the resonances over `[t0, t1]` seconds (the stretch the long-term spectrum
/// covers): one per kind, the largest.
pub fn findings(resonances: &[Resonance], t0: f64, t1: f64) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for r in resonances {
        if out.iter().any(|f| f.kind == r.kind) {
            continue;
        }
        out.push(finding(r, t0, t1));
    }
    out
}

fn finding(r: &Resonance, t0: f64, t1: f64) -> Finding {
    let (g_en, g_fr) = signed(r.gain_db, 1);
    let (q_en, q_fr) = num(r.q, 1);
    let hz = |lang_fr: bool| {
        if r.freq_hz >= 1000.0 {
            let (en, fr) = num(r.freq_hz / 1000.0, 1);
            format!("{} kHz", if lang_fr { fr } else { en })
        } else {
            format!("{:.0} Hz", r.freq_hz)
        }
    };
    let (what_en, what_fr, advice_en, advice_fr) = if r.gain_db > 0.0 {
        (
            "A bump",
            "Une bosse",
            "A bell cut of the same size, frequency and width would even it out.",
            "Une coupe en cloche de même taille, fréquence et largeur l'aplanirait.",
        )
    } else {
        (
            "A dip",
            "Un creux",
            "A bell boost of the same size, frequency and width would fill it.",
            "Une bosse en cloche de même taille, fréquence et largeur le comblerait.",
        )
    };
    let threshold = if r.gain_db > 0.0 { WARN_DB } else { -WARN_DB };
    Finding {
        kind: r.kind,
        // Never a problem: clean released masters carry bumps of 4–15 dB of their own (measured
        // on the advice evaluation's tuning set), as large as the defects worth finding.
        severity: Severity::Warning,
        start_s: t0,
        end_s: t1,
        value: r.gain_db,
        threshold,
        unit: "dB".into(),
        explanation_en: format!(
            "{what_en} at {}: {g_en} dB against the track's own smoothed spectrum, Q {q_en}. {advice_en}",
            hz(false)
        ),
        explanation_fr: format!(
            "{what_fr} à {} : {g_fr} dB par rapport au spectre lissé du morceau lui-même, Q {q_fr}. {advice_fr}",
            hz(true)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_and_bandwidth_follow_the_cookbook() {
        // One octave ↔ Q 1.414; two octaves ↔ Q 0.667.
        assert!((q_of_bandwidth(1.0) - std::f64::consts::SQRT_2).abs() < 1e-3);
        assert!((q_of_bandwidth(2.0) - 2.0 / 3.0).abs() < 1e-3);
    }

    #[test]
    fn kinds_follow_the_detection_table() {
        assert_eq!(kind_of(80.0, true), FindingKind::Boom);
        assert_eq!(kind_of(250.0, true), FindingKind::Mud);
        assert_eq!(kind_of(600.0, true), FindingKind::Boxiness);
        assert_eq!(kind_of(3500.0, true), FindingKind::Harshness);
        assert_eq!(kind_of(7000.0, true), FindingKind::Sibilance);
        assert_eq!(kind_of(100.0, false), FindingKind::ThinLowEnd);
        assert_eq!(kind_of(1000.0, false), FindingKind::HollowMids);
        assert_eq!(kind_of(8000.0, false), FindingKind::DullTop);
    }

    #[test]
    fn a_flat_or_empty_spectrum_has_no_bump() {
        assert!(measure(&[], 5.0, 44_100).is_empty());
        assert!(measure(&[0.0; 4097], 5.38, 44_100).is_empty());
        assert!(measure(&[1e-3; 4097], 5.38, 44_100).is_empty());
    }
}
