//! Tempo (BPM) detection from the onset envelope of [`crate::analysis::spectral`].
//!
//! 1. **Envelope** — the band onset strengths are summed with the hi-hat band down-weighted
//!    (cymbals mostly mark subdivisions, not beats), the local mean (±0.25 s) is subtracted and
//!    the result half-wave rectified.
//! 2. **Periodicity** — the normalised autocorrelation of that envelope, read at fractional lags
//!    (linear interpolation) through a comb of the first four multiples of each candidate
//!    period, on a log-spaced grid over [`BPM_RANGE`] (0.1 % steps).
//! 3. **Prior** — a log-Gaussian around [`PRIOR_CENTRE_BPM`] (one octave standard deviation
//!    [`PRIOR_OCTAVES`]) weights the periodicity, and the best peak is refined on a finer grid.
//! 4. **Metrical level** — the best peak may sit at half, double, 2/3 or 3/2 of the tempo a
//!    musician counts. For each related candidate the pulse train is aligned with the onsets
//!    (best phase) and the onset strength *between* the pulses is compared with that *on* them
//!    ([`MetricalEvidence`]): a level whose off-beat (half-period) positions are nearly as
//!    strong as the beats is subdivided by real beats, so the faster level is counted; a level
//!    whose half-period positions are weak is the beat (or slower). The candidate with the best
//!    product of periodicity, prior and this evidence is reported.

use crate::analysis::spectral::{AnalysisError, Features};

/// Tempi considered, in BPM.
pub const BPM_RANGE: (f64, f64) = (40.0, 240.0);
/// Centre of the perceptual tempo prior, in BPM.
pub const PRIOR_CENTRE_BPM: f64 = 120.0;
/// Standard deviation of the prior, in octaves (log2 of the tempo ratio).
pub const PRIOR_OCTAVES: f64 = 1.0;

/// Weight of each onset band ([`crate::analysis::spectral::Band`] order) in the envelope.
const BAND_WEIGHTS: [f32; 3] = [1.0, 1.0, 0.5];
/// Latest position of a swung off-beat, as a fraction of the beat period.
const MAX_SWING: f64 = 0.7;
const SWING_STEPS: usize = 10;
/// Subdivision-over-beat strength above which the subdivision counts as a beat itself.
const BEAT_RATIO: f64 = 0.66;
/// Score factor of a candidate that fails the metrical test.
const NOT_BEAT_PENALTY: f64 = 0.3;

/// A detected tempo.
#[derive(Clone, Debug, PartialEq)]
pub struct Tempo {
    /// Beats per minute of the counted beat.
    pub bpm: f64,
    /// 0 (no periodicity, or two metrical levels equally likely) to 1 (unambiguous).
    pub confidence: f64,
    /// Other metrical levels that were considered, `(bpm, relative score 0..1)`, best first.
    pub alternatives: Vec<(f64, f64)>,
}

/// How a candidate beat period fits the onsets; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricalEvidence {
    /// Candidate tempo.
    pub bpm: f64,
    /// Comb-filtered autocorrelation of the envelope at this period (0..1).
    pub periodicity: f64,
    /// The perceptual prior (0..1, 1 at [`PRIOR_CENTRE_BPM`]).
    pub prior: f64,
    /// Mean envelope at the subdivision between the aligned pulses (straight or swung) over
    /// the mean on them (0..): near 1 when the subdivision is itself a beat.
    pub half_ratio: f64,
    /// [`MetricalEvidence::half_ratio`] of the level twice as slow: near 1 when every pulse of
    /// this level is as strong as the others.
    pub parent_half_ratio: f64,
}

/// The tempo of planar audio: [`Features::from_channels`] then [`detect`].
pub fn detect_audio(channels: &[Vec<f32>], sample_rate: u32) -> Result<Tempo, AnalysisError> {
    Ok(detect(&Features::from_channels(channels, sample_rate)?))
}

/// The tempo from precomputed features.
pub fn detect(features: &Features) -> Tempo {
    let env: Vec<f32> = features.onset.iter().map(|b| b.iter().zip(BAND_WEIGHTS).map(|(x, w)| x * w).sum()).collect();
    from_envelope(&env, features.onset_rate)
}

/// The perceptual prior: `exp(-0.5 * (log2(bpm / 120) / PRIOR_OCTAVES)^2)`.
pub fn prior(bpm: f64) -> f64 {
    let z = (bpm / PRIOR_CENTRE_BPM).log2() / PRIOR_OCTAVES;
    (-0.5 * z * z).exp()
}

/// Normalised envelope ready for periodicity analysis: local mean removed, rectified.
fn prepare(env: &[f32], rate: f64) -> Vec<f64> {
    let half = ((0.25 * rate).round() as usize).max(1);
    let mut prefix = vec![0.0f64; env.len() + 1];
    for (i, &x) in env.iter().enumerate() {
        prefix[i + 1] = prefix[i] + f64::from(x);
    }
    let out: Vec<f64> = (0..env.len())
        .map(|i| {
            let (a, b) = (i.saturating_sub(half), (i + half + 1).min(env.len()));
            let mean = (prefix[b] - prefix[a]) / (b - a) as f64;
            (f64::from(env[i]) - mean).max(0.0)
        })
        .collect();
    let peak = out.iter().fold(0.0f64, |m, &x| m.max(x));
    if peak > 0.0 {
        out.iter().map(|x| x / peak).collect()
    } else {
        out
    }
}

/// Autocorrelation normalised by overlap and by lag 0, up to `max_lag` inclusive.
fn autocorrelation(x: &[f64], max_lag: usize) -> Vec<f64> {
    let n = x.len();
    let mut r: Vec<f64> = (0..=max_lag.min(n.saturating_sub(1)))
        .map(|lag| x[..n - lag].iter().zip(&x[lag..]).map(|(a, b)| a * b).sum::<f64>() / (n - lag) as f64)
        .collect();
    let r0 = r.first().copied().unwrap_or(0.0);
    if r0 > 0.0 {
        r.iter_mut().for_each(|v| *v /= r0);
    }
    r
}

fn interp(r: &[f64], lag: f64) -> f64 {
    let i = lag.floor() as usize;
    if i + 1 >= r.len() {
        return 0.0;
    }
    let f = lag - i as f64;
    r[i] * (1.0 - f) + r[i + 1] * f
}

struct Analysis {
    env: Vec<f64>,
    acf: Vec<f64>,
    rate: f64,
}

impl Analysis {
    /// Comb over the first multiples of the period that fit in half the envelope.
    fn periodicity(&self, bpm: f64) -> f64 {
        let period = 60.0 * self.rate / bpm;
        let max_lag = (self.acf.len() - 1) as f64;
        let mut sum = 0.0;
        let mut count = 0;
        for k in 1..=4 {
            let lag = period * k as f64;
            if lag > max_lag {
                break;
            }
            sum += interp(&self.acf, lag);
            count += 1;
        }
        if count == 0 {
            0.0
        } else {
            (sum / count as f64).max(0.0)
        }
    }

    /// Local maximum of the periodicity within ±`span` (relative) of `bpm`, 0.05 % steps.
    fn refine(&self, bpm: f64, span: f64) -> f64 {
        let steps = (span / 0.0005).ceil() as i32;
        let mut best = (bpm, f64::MIN);
        for s in -steps..=steps {
            let b = bpm * (1.0 + 0.0005 * f64::from(s));
            if !(BPM_RANGE.0..=BPM_RANGE.1).contains(&b) {
                continue;
            }
            let p = self.periodicity(b);
            if p > best.1 {
                best = (b, p);
            }
        }
        best.0
    }

    /// Mean envelope on the best-aligned pulse train, and the strongest mean envelope at the
    /// subdivision between its pulses: straight (half the period) or swung (up to 0.7 of it).
    fn pulse_profile(&self, bpm: f64) -> (f64, f64) {
        let period = 60.0 * self.rate / bpm;
        let n = self.env.len();
        let phases = period.ceil() as usize;
        let mean_at = |phase: f64| {
            let (mut sum, mut count) = (0.0, 0usize);
            let mut t = phase;
            while t + 1.0 < n as f64 {
                // A ±1 frame window tolerates timing jitter between the grid and the onsets.
                let i = t.round() as usize;
                let lo = i.saturating_sub(1);
                let hi = (i + 1).min(n - 1);
                sum += self.env[lo..=hi].iter().fold(0.0f64, |m, &x| m.max(x));
                count += 1;
                t += period;
            }
            if count == 0 {
                0.0
            } else {
                sum / count as f64
            }
        };
        let mut best = (0.0, f64::MIN);
        for p in 0..phases {
            let m = mean_at(p as f64);
            if m > best.1 {
                best = (p as f64, m);
            }
        }
        let off = (0..=SWING_STEPS)
            .map(|s| 0.5 + (MAX_SWING - 0.5) * s as f64 / SWING_STEPS as f64)
            .map(|f| mean_at(best.0 + f * period))
            .fold(0.0f64, f64::max);
        (best.1.max(0.0), off)
    }

    fn subdivision_ratio(&self, bpm: f64) -> f64 {
        let (on, off) = self.pulse_profile(bpm);
        if on > 0.0 {
            off / on
        } else {
            0.0
        }
    }

    fn evidence(&self, bpm: f64) -> MetricalEvidence {
        MetricalEvidence {
            bpm,
            periodicity: self.periodicity(bpm),
            prior: prior(bpm),
            half_ratio: self.subdivision_ratio(bpm),
            parent_half_ratio: self.subdivision_ratio(bpm / 2.0),
        }
    }
}

/// The metrical evidence for the candidates related to the strongest periodicity peak
/// (×1/3, ×1/2, ×2/3, ×1, ×3/2, ×2, ×3, inside [`BPM_RANGE`]), for inspection and tests.
pub fn candidates(env: &[f32], rate: f64) -> Vec<MetricalEvidence> {
    let Some(a) = analyse(env, rate) else { return Vec::new() };
    let peak = strongest_peak(&a);
    let mut out: Vec<MetricalEvidence> = Vec::new();
    for ratio in [1.0 / 3.0, 0.5, 2.0 / 3.0, 1.0, 1.5, 2.0, 3.0] {
        let b = peak * ratio;
        if b < BPM_RANGE.0 * 0.98 || b > BPM_RANGE.1 * 1.02 {
            continue;
        }
        let b = a.refine(b.clamp(BPM_RANGE.0, BPM_RANGE.1), 0.03);
        out.push(a.evidence(b));
    }
    out
}

fn analyse(env: &[f32], rate: f64) -> Option<Analysis> {
    if env.len() < 4 || rate <= 0.0 {
        return None;
    }
    let env = prepare(env, rate);
    if env.iter().all(|&x| x == 0.0) {
        return None;
    }
    let max_lag = ((60.0 * rate / BPM_RANGE.0) * 4.0).ceil() as usize;
    let max_lag = max_lag.min(env.len() / 2).max(2);
    let acf = autocorrelation(&env, max_lag);
    Some(Analysis { env, acf, rate })
}

fn strongest_peak(a: &Analysis) -> f64 {
    let steps = ((BPM_RANGE.1 / BPM_RANGE.0).ln() / 0.001f64.ln_1p()).ceil() as usize;
    let mut best = (PRIOR_CENTRE_BPM, f64::MIN);
    for s in 0..=steps {
        let bpm = BPM_RANGE.0 * 1.001f64.powi(s as i32);
        let score = a.periodicity(bpm) * prior(bpm);
        if score > best.1 {
            best = (bpm, score);
        }
    }
    a.refine(best.0, 0.01)
}

/// Score of a candidate metrical level: periodicity × prior, times a bonus when the level is
/// metrically the beat — all its pulses are comparably strong (the slower level's subdivision
/// is a beat too) while its own subdivisions are clearly weaker.
fn level_score(e: &MetricalEvidence) -> f64 {
    let is_beat = e.parent_half_ratio >= BEAT_RATIO && e.half_ratio < BEAT_RATIO;
    e.periodicity * e.prior * if is_beat { 1.0 } else { NOT_BEAT_PENALTY }
}

/// The tempo of an onset-strength envelope sampled at `rate` frames per second.
pub fn from_envelope(env: &[f32], rate: f64) -> Tempo {
    let cands = candidates(env, rate);
    if cands.is_empty() {
        return Tempo { bpm: PRIOR_CENTRE_BPM, confidence: 0.0, alternatives: Vec::new() };
    }
    let mut scored: Vec<(f64, f64)> = cands.iter().map(|e| (e.bpm, level_score(e))).collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    let best = scored[0];
    let second = scored.get(1).map_or(0.0, |s| s.1);
    let periodicity = cands.iter().find(|e| e.bpm == best.0).map_or(0.0, |e| e.periodicity);
    let margin = if best.1 > 0.0 { 1.0 - second / best.1 } else { 0.0 };
    let confidence = (margin * (periodicity * 2.0).min(1.0)).clamp(0.0, 1.0);
    let alternatives = scored[1..].iter().map(|&(b, s)| (b, if best.1 > 0.0 { s / best.1 } else { 0.0 })).collect();
    Tempo { bpm: best.0, confidence, alternatives }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An envelope of clicks every `60/bpm` s at 100 frames/s, with optional off-beat clicks.
    fn clicks(bpm: f64, seconds: f64, offbeat: f32) -> Vec<f32> {
        let rate = 100.0;
        let mut env = vec![0.0f32; (seconds * rate) as usize];
        let period = 60.0 * rate / bpm;
        let mut t: f64 = 10.0;
        while (t as usize) < env.len() {
            env[t.round() as usize] = 1.0;
            let half = (t + period / 2.0).round() as usize;
            if half < env.len() {
                env[half] = env[half].max(offbeat);
            }
            t += period;
        }
        env
    }

    #[test]
    fn prior_peaks_at_120() {
        assert!((prior(120.0) - 1.0).abs() < 1e-12);
        assert!(prior(60.0) < prior(90.0) && prior(240.0) < prior(160.0));
        assert!((prior(60.0) - prior(240.0)).abs() < 1e-12);
    }

    #[test]
    fn click_track_at_97_bpm() {
        let t = from_envelope(&clicks(97.0, 20.0, 0.0), 100.0);
        assert!((t.bpm - 97.0).abs() < 0.5, "{t:?}");
        assert!(t.confidence > 0.0);
    }

    #[test]
    fn click_tracks_over_the_range() {
        for bpm in [62.0, 75.0, 110.0, 143.0, 176.0] {
            let t = from_envelope(&clicks(bpm, 20.0, 0.3), 100.0);
            assert!((t.bpm / bpm - 1.0).abs() < 0.01, "{bpm}: {t:?}");
        }
    }

    #[test]
    fn silence_has_no_confidence() {
        let t = from_envelope(&[0.0; 1000], 100.0);
        assert_eq!(t.confidence, 0.0);
    }
}
