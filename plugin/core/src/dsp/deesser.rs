//! Split-band de-esser.
//!
//! - Detection: a second-order high-pass at the de-esser frequency, so a loud low end never
//!   triggers it. When the detected peak passes the threshold, the reduction is the excess, at
//!   most the maximum reduction (a band limiter).
//! - Processing: the band is the complement of a *first-order* low-pass at the same frequency
//!   (`band = x − lowpass(x)`), and the output is `lowpass(x) + g·band`: exactly `x` when
//!   `g = 1`. A first-order low-pass never turns its phase past −90°, so `|y| ≥ g·|x|` at every
//!   frequency and the total cut can never exceed the maximum reduction (a second-order split
//!   overshoots it by up to 2 dB above the corner, measured).

use super::biquad::{Biquad, Coefs, BUTTERWORTH_Q};

use super::compressor::{ballistics, MAX_BLOCK};
use super::decibel::{db_to_gain, fast_db_to_gain, fast_gain_to_db};

/// Detector attack: fast enough to catch the onset of an "s" (≈ 5 ms long).
const ATTACK_MS: f64 = 0.5;
/// Detector release: slow enough not to modulate the sibilant's own waveform.
const RELEASE_MS: f64 = 60.0;
const SILENCE: f64 = 1e-8;
const GR_FLOOR_DB: f64 = 1e-6;

/// De-esser state for up to two channels.
#[derive(Clone, Copy, Debug)]
pub struct Deesser {
    /// Detector filter (second-order high-pass).
    detector: Biquad,
    /// The first-order low-pass whose complement is the processed band.
    split: Biquad,
    threshold_lin: f64,
    threshold_db: f64,
    max_reduction_db: f64,
    attack_coef: f64,
    release_coef: f64,
    gr_db: f64,
}

impl Deesser {
    /// A de-esser at `sample_rate`.
    pub fn new(sample_rate: f64) -> Self {
        Self {
            detector: Biquad::default(),
            split: Biquad::default(),
            threshold_lin: 1.0,
            threshold_db: 0.0,
            max_reduction_db: 0.0,
            attack_coef: (-1.0 / (ATTACK_MS * 1e-3 * sample_rate)).exp(),
            release_coef: (-1.0 / (RELEASE_MS * 1e-3 * sample_rate)).exp(),
            gr_db: 0.0,
        }
    }

    /// Updates the band frequency, threshold (dBFS peak of the band) and maximum reduction (dB).
    pub fn set_params(&mut self, sample_rate: f64, freq_hz: f64, threshold_db: f64, max_reduction_db: f64) {
        self.detector.set_coefs(Coefs::high_pass(sample_rate, freq_hz, BUTTERWORTH_Q));
        self.split.set_coefs(Coefs::low_pass_1st(sample_rate, freq_hz));
        self.set_levels(threshold_db, max_reduction_db);
    }

    /// Updates only the threshold and maximum reduction.
    pub fn set_levels(&mut self, threshold_db: f64, max_reduction_db: f64) {
        self.threshold_db = threshold_db;
        self.threshold_lin = db_to_gain(threshold_db);
        self.max_reduction_db = max_reduction_db;
    }

    /// Clears filter and envelope.
    pub fn reset(&mut self) {
        self.detector.reset();
        self.split.reset();
        self.gr_db = 0.0;
    }

    /// At control ticks: flushes tiny state (a released envelope settles to exactly zero);
    /// false if the state is not finite.
    pub fn tidy(&mut self) -> bool {
        if self.gr_db < GR_FLOOR_DB {
            self.gr_db = 0.0;
        }
        self.detector.tidy() & self.split.tidy() && self.gr_db.is_finite()
    }

    /// Current reduction of the sibilance band, dB.
    pub fn reduction_db(&self) -> f64 {
        self.gr_db
    }

    /// Processes up to [`MAX_BLOCK`] frames in place. `N` is 1 or 2; both channels share one
    /// detector. Split into passes like [`super::compressor::Compressor::gains`], so the logs and
    /// exps of a block overlap instead of waiting on each other.
    #[inline(always)]
    pub fn process<const N: usize>(&mut self, frames: &mut [[f64; N]]) {
        let n = frames.len().min(MAX_BLOCK);
        let mut band = [[0.0; N]; MAX_BLOCK];
        let mut level = [0.0f64; MAX_BLOCK];
        for i in 0..n {
            let low = self.split.tick_frame(frames[i]);
            let detected = self.detector.tick_frame(frames[i]);
            for ch in 0..N {
                band[i][ch] = frames[i][ch] - low[ch];
                level[i] = level[i].max(detected[ch].abs());
            }
        }
        for l in &mut level[..n] {
            *l = if *l <= self.threshold_lin {
                0.0
            } else {
                (fast_gain_to_db(l.max(SILENCE)) - self.threshold_db).min(self.max_reduction_db)
            };
        }
        // `level` now holds the target reduction; the recurrence turns it into the envelope.
        for target in &mut level[..n] {
            self.gr_db = ballistics(self.gr_db, *target, self.attack_coef, self.release_coef);
            *target = self.gr_db;
        }
        for i in 0..n {
            if level[i] > 0.0 {
                let cut = 1.0 - fast_db_to_gain(-level[i]);
                for ch in 0..N {
                    frames[i][ch] -= cut * band[i][ch];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::decibel::gain_to_db;
    use crate::dsp::measure::tone_amplitude;
    use std::f64::consts::PI;

    fn run(freq: f64, amp_db: f64) -> (f64, f64) {
        let sr = 48_000.0;
        let mut d = Deesser::new(sr);
        d.set_params(sr, 6000.0, -30.0, 8.0);
        let amp = db_to_gain(amp_db);
        let mut out = Vec::new();
        for i in 0..(sr as usize) {
            let mut f = [[amp * (2.0 * PI * freq * i as f64 / sr).sin()]];
            d.process(&mut f);
            if i >= 24_000 {
                out.push(f[0][0]);
            }
        }
        (gain_to_db(tone_amplitude(&out, sr, freq) / amp), d.reduction_db())
    }

    #[test]
    fn cuts_loud_sibilance_only_and_at_most_the_range() {
        // A loud 9 kHz tone: the band sits ~−6 dB, far above −30 dB: reduction hits the 8 dB cap.
        let (change, gr) = run(9000.0, -6.0);
        assert!((gr - 8.0).abs() < 0.01, "gr {gr}");
        assert!(change < -4.0, "9 kHz change {change:.2} dB");
        // Never more than the maximum reduction, anywhere above the corner.
        for f in [6000.0, 7000.0, 9000.0, 12_000.0, 16_000.0] {
            let (change, _) = run(f, -6.0);
            assert!(change >= -8.0 - 0.02, "{f} Hz cut {change:.2} dB exceeds the 8 dB maximum");
        }
        // Close to the full reduction an octave above the corner.
        assert!(run(16_000.0, -6.0).0 < -6.5);
        // A quiet 9 kHz tone below the threshold: untouched.
        let (change, gr) = run(9000.0, -45.0);
        assert_eq!(gr, 0.0);
        assert!(change.abs() < 0.01, "{change}");
        // A loud 200 Hz tone: the high-passed band stays under −30 dB, nothing happens.
        let (change, gr) = run(200.0, -6.0);
        assert_eq!(gr, 0.0);
        assert!(change.abs() < 0.01, "{change}");
    }
}
