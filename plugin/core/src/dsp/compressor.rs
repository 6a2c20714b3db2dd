//! Feed-forward compressor: peak detection, a soft-knee gain computer in the log domain and
//! smooth branching attack/release ballistics on the gain reduction, after Giannoulis,
//! Massberg & Reiss, "Digital Dynamic Range Compressor Design — A Tutorial and Analysis",
//! JAES 60(6), 2012 (eq. 4 for the knee, eq. 17 for the ballistics).

use super::decibel::{db_to_gain, fast_db_to_gain, fast_gain_to_db};

/// Levels below this (−160 dBFS) count as silence for the detector.
const SILENCE: f64 = 1e-8;
/// Gain reductions below this (dB) are treated as none, so the envelope settles to exactly 0
/// instead of decaying through subnormal numbers.
const GR_FLOOR_DB: f64 = 1e-6;

/// Parameters of the gain computer and ballistics, in plain units, as glided by the chain.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompressorParams {
    /// Threshold, dBFS (peak).
    pub threshold_db: f64,
    /// Ratio, ≥ 1.
    pub ratio: f64,
    /// Knee width, dB (0 = hard knee).
    pub knee_db: f64,
    /// Attack time constant, ms (time to 63 % of a gain-reduction step).
    pub attack_ms: f64,
    /// Release time constant, ms.
    pub release_ms: f64,
    /// Whether both channels share one detector (the louder one) and one gain.
    pub linked: bool,
}

/// Static gain computer: gain reduction in dB (≥ 0) for a detector level in dBFS.
#[inline]
pub fn gain_reduction_db(level_db: f64, threshold_db: f64, ratio: f64, knee_db: f64) -> f64 {
    let over = level_db - threshold_db;
    let slope = 1.0 - 1.0 / ratio;
    if 2.0 * over <= -knee_db {
        0.0
    } else if 2.0 * over.abs() < knee_db {
        let x = over + knee_db / 2.0;
        slope * x * x / (2.0 * knee_db)
    } else {
        slope * over
    }
}

/// Compressor state for up to two channels.
#[derive(Clone, Copy, Debug)]
pub struct Compressor {
    params: CompressorParams,
    /// Detector levels below this linear peak cannot reach the knee: skip the log.
    knee_start_lin: f64,
    /// `1 − 1/ratio`, the gain-reduction slope above the knee.
    slope: f64,
    /// `slope / (2·knee)`, the knee's quadratic coefficient (0 for a hard knee).
    knee_coef: f64,
    attack_coef: f64,
    release_coef: f64,
    /// Smoothed gain reduction per channel, dB.
    gr_db: [f64; 2],
}

impl Compressor {
    /// A compressor at `sample_rate` with `params`.
    pub fn new(sample_rate: f64, params: CompressorParams) -> Self {
        let mut c = Self {
            params,
            knee_start_lin: 0.0,
            slope: 0.0,
            knee_coef: 0.0,
            attack_coef: 0.0,
            release_coef: 0.0,
            gr_db: [0.0; 2],
        };
        c.set_params(sample_rate, params);
        c
    }

    /// Updates the parameters (called at most once per control tick).
    pub fn set_params(&mut self, sample_rate: f64, p: CompressorParams) {
        self.params = p;
        self.knee_start_lin = db_to_gain(p.threshold_db - p.knee_db / 2.0);
        self.slope = 1.0 - 1.0 / p.ratio;
        self.knee_coef = if p.knee_db > 0.0 { self.slope / (2.0 * p.knee_db) } else { 0.0 };
        // One-pole coefficient for a time constant τ: exp(−1 / (τ·fs)).
        self.attack_coef = (-1.0 / (p.attack_ms * 1e-3 * sample_rate)).exp();
        self.release_coef = (-1.0 / (p.release_ms * 1e-3 * sample_rate)).exp();
    }

    /// Clears the envelopes.
    pub fn reset(&mut self) {
        self.gr_db = [0.0; 2];
    }

    /// Whether the envelopes hold finite values.
    pub fn is_finite(&self) -> bool {
        self.gr_db.iter().all(|v| v.is_finite())
    }

    /// Current gain reduction, dB (the larger of the channels).
    pub fn gain_reduction_db(&self) -> f64 {
        self.gr_db[0].max(self.gr_db[1])
    }

    #[inline(always)]
    fn target_gr(&self, peak: f64) -> f64 {
        if peak < self.knee_start_lin {
            return 0.0;
        }
        // `gain_reduction_db` with its divisions precomputed.
        let p = &self.params;
        let over = fast_gain_to_db(peak.max(SILENCE)) - p.threshold_db;
        if 2.0 * over < p.knee_db {
            let x = (over + 0.5 * p.knee_db).max(0.0);
            self.knee_coef * x * x
        } else {
            self.slope * over
        }
    }

    #[inline(always)]
    fn follow(&mut self, ch: usize, target: f64) -> f64 {
        let next = ballistics(self.gr_db[ch], target, self.attack_coef, self.release_coef);
        self.gr_db[ch] = next;
        next
    }

    /// At control ticks: lets a released envelope settle to exactly zero instead of decaying
    /// through ever smaller (eventually subnormal) values.
    pub fn tidy(&mut self) {
        for gr in &mut self.gr_db {
            if *gr < GR_FLOOR_DB {
                *gr = 0.0;
            }
        }
    }

    /// Linear gains (≤ 1) for each frame of `frames` (at most [`MAX_BLOCK`] frames; `N` is 1
    /// or 2), written to `gains`.
    ///
    /// Three passes: levels to targets (a log per frame, independent across frames), the
    /// attack/release recurrence (two operations per frame), targets to gains (an exp per
    /// frame, independent). Done per frame in one pass, each frame's log → recurrence → exp
    /// would wait on the previous one; split, the logs and exps of a block overlap in the CPU.
    #[inline(always)]
    pub fn gains<const N: usize>(&mut self, frames: &[[f64; N]], gains: &mut [[f64; N]]) {
        let n = frames.len().min(MAX_BLOCK);
        let mut gr = [[0.0; N]; MAX_BLOCK];
        let linked = N == 2 && self.params.linked;
        for (target, frame) in gr.iter_mut().zip(&frames[..n]) {
            if linked {
                target[0] = self.target_gr(frame[0].abs().max(frame[N - 1].abs()));
            } else {
                for ch in 0..N {
                    target[ch] = self.target_gr(frame[ch].abs());
                }
            }
        }
        let channels = if linked { 1 } else { N };
        for frame_gr in &mut gr[..n] {
            for (ch, gr) in frame_gr.iter_mut().enumerate().take(channels) {
                *gr = self.follow(ch, *gr);
            }
        }
        if linked {
            self.gr_db[1] = self.gr_db[0];
        }
        for (g, frame_gr) in gains.iter_mut().zip(&gr[..n]) {
            for ch in 0..N {
                let r = frame_gr[if linked { 0 } else { ch }];
                g[ch] = if r == 0.0 { 1.0 } else { fast_db_to_gain(-r) };
            }
        }
    }
}

/// Most frames [`Compressor::gains`] and `Deesser::process` take at once: one control tick.
pub const MAX_BLOCK: usize = super::smooth::CONTROL_INTERVAL;

/// One step of the smooth branching ballistics (Giannoulis et al., eq. 17): the envelope `y`
/// moves towards `target` with the attack coefficient when rising, the release one when
/// falling. Written as `c·y + (1 − c)·target` for both branches and then a pick, so the part
/// that depends on the previous step is one multiply-add and a select; the usual form
/// (compare, pick the coefficient, then multiply) makes the per-frame loop twice as long.
#[inline(always)]
pub fn ballistics(y: f64, target: f64, attack_coef: f64, release_coef: f64) -> f64 {
    let rising = attack_coef * y + (1.0 - attack_coef) * target;
    let falling = release_coef * y + (1.0 - release_coef) * target;
    if target > y {
        rising
    } else {
        falling
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::decibel::gain_to_db;

    fn params(threshold_db: f64, ratio: f64, knee_db: f64, attack_ms: f64, release_ms: f64) -> CompressorParams {
        CompressorParams { threshold_db, ratio, knee_db, attack_ms, release_ms, linked: true }
    }

    #[test]
    fn static_curve_hard_and_soft_knee() {
        // Hard knee: above threshold the output rises 1/ratio dB per dB.
        assert_eq!(gain_reduction_db(-30.0, -20.0, 4.0, 0.0), 0.0);
        assert!((gain_reduction_db(-8.0, -20.0, 4.0, 0.0) - 9.0).abs() < 1e-12);
        // Soft knee of 10 dB: continuous at both knee edges, a quarter of the slope in the middle.
        let edge_lo = gain_reduction_db(-25.0, -20.0, 4.0, 10.0);
        let edge_hi = gain_reduction_db(-15.0, -20.0, 4.0, 10.0);
        assert!(edge_lo.abs() < 1e-12);
        assert!((edge_hi - 0.75 * 5.0).abs() < 1e-12);
        assert!((gain_reduction_db(-20.0, -20.0, 4.0, 10.0) - 0.75 * 25.0 / 20.0).abs() < 1e-12);
    }

    /// Time for the gain reduction to cover 63.2 % of a step, measured on a DC step.
    fn time_to_fraction(sr: f64, p: CompressorParams, from: f64, to: f64, fraction: f64) -> f64 {
        let mut c = Compressor::new(sr, p);
        for _ in 0..(sr as usize) {
            c.gains::<2>(&[[from, from]], &mut [[0.0; 2]]);
        }
        let start = c.gain_reduction_db();
        let end = c.target_gr(to);
        let goal = start + fraction * (end - start);
        for n in 0..(10.0 * sr) as usize {
            c.gains::<2>(&[[to, to]], &mut [[0.0; 2]]);
            let gr = c.gain_reduction_db();
            if (end > start && gr >= goal) || (end < start && gr <= goal) {
                return n as f64 / sr * 1e3;
            }
        }
        f64::INFINITY
    }

    #[test]
    fn attack_and_release_time_constants() {
        for sr in [44_100.0, 48_000.0, 96_000.0, 192_000.0] {
            for (attack, release) in [(1.0, 50.0), (10.0, 150.0), (30.0, 800.0)] {
                let p = params(-30.0, 4.0, 0.0, attack, release);
                let up = time_to_fraction(sr, p, 0.01, 1.0, 1.0 - (-1f64).exp());
                let down = time_to_fraction(sr, p, 1.0, 0.01, 1.0 - (-1f64).exp());
                // Within one sample (plus rounding) of the analytic time constant.
                let one_sample_ms = 1.01e3 / sr;
                assert!((up - attack).abs() <= one_sample_ms, "attack {attack} ms @ {sr}: {up:.3} ms");
                assert!((down - release).abs() <= one_sample_ms, "release {release} ms @ {sr}: {down:.3} ms");
            }
        }
    }

    #[test]
    fn unlinked_channels_are_independent() {
        let mut p = params(-20.0, 4.0, 0.0, 0.1, 100.0);
        p.linked = false;
        let mut c = Compressor::new(48_000.0, p);
        let mut g = [[1.0; 2]; 16];
        for _ in 0..3000 {
            c.gains::<2>(&[[1.0, 0.01]; 16], &mut g);
        }
        let g = g[15];
        assert!((gain_to_db(g[0]) + 15.0).abs() < 1e-4, "{g:?}");
        assert_eq!(g[1], 1.0);
    }
}
