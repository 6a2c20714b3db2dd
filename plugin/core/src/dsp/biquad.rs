//! Second-order sections: the designs of R. Bristow-Johnson's "Cookbook formulae for audio EQ
//! biquad filter coefficients" (the RBJ cookbook, W3C Audio EQ Cookbook note), run in transposed
//! direct form II with `f64` state, so low corners at high sample rates stay accurate.
//!
//! The shelves' and bell's `A = 10^(dB/40)` (the square root of the band's linear gain) is kept
//! in the cookbook's own form rather than `db_to_gain(dB / 2)`: it is the cookbook's variable,
//! and the chain's output stays bit for bit what it was.

use std::f64::consts::PI;

use super::decibel::power_to_db;

/// Normalised coefficients (`a0 = 1`) of `H(z) = (b0 + b1 z⁻¹ + b2 z⁻²) / (1 + a1 z⁻¹ + a2 z⁻²)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coefs {
    /// Feed-forward.
    pub b0: f64,
    /// Feed-forward.
    pub b1: f64,
    /// Feed-forward.
    pub b2: f64,
    /// Feedback.
    pub a1: f64,
    /// Feedback.
    pub a2: f64,
}

/// Q of a second-order Butterworth section.
pub const BUTTERWORTH_Q: f64 = std::f64::consts::FRAC_1_SQRT_2;
/// Qs of the two sections of a fourth-order Butterworth high-pass: 1 / (2 cos(kπ/8)), k = 1, 3.
pub const BUTTERWORTH4_Q: [f64; 2] = [0.541_196_100_146_197, 1.306_562_964_876_376_5];

/// Highest design frequency as a fraction of the sample rate. Above this the bilinear warp
/// squeezes the response against Nyquist; a 20 kHz shelf at 44.1 kHz lands at 19.8 kHz.
const MAX_FREQ_RATIO: f64 = 0.45;
const MIN_FREQ_HZ: f64 = 5.0;

impl Coefs {
    /// The identity filter.
    pub const IDENTITY: Coefs = Coefs { b0: 1.0, b1: 0.0, b2: 0.0, a1: 0.0, a2: 0.0 };

    fn normalise(b0: f64, b1: f64, b2: f64, a0: f64, a1: f64, a2: f64) -> Self {
        let inv = 1.0 / a0;
        Self { b0: b0 * inv, b1: b1 * inv, b2: b2 * inv, a1: a1 * inv, a2: a2 * inv }
    }

    /// `(cos w0, sin w0)` for a design frequency, clamped into the usable band.
    fn omega(sample_rate: f64, freq_hz: f64) -> (f64, f64) {
        let f = freq_hz.min(MAX_FREQ_RATIO * sample_rate).max(MIN_FREQ_HZ.min(0.1 * sample_rate));
        let w0 = 2.0 * PI * f / sample_rate;
        (w0.cos(), w0.sin())
    }

    /// Second-order high-pass (12 dB/oct), −3 dB at `freq_hz` when `q` = [`BUTTERWORTH_Q`].
    pub fn high_pass(sample_rate: f64, freq_hz: f64, q: f64) -> Self {
        let (cos, sin) = Self::omega(sample_rate, freq_hz);
        let alpha = sin / (2.0 * q);
        let b = (1.0 + cos) / 2.0;
        Self::normalise(b, -(1.0 + cos), b, 1.0 + alpha, -2.0 * cos, 1.0 - alpha)
    }

    /// Second-order low-pass (12 dB/oct), −3 dB at `freq_hz` when `q` = [`BUTTERWORTH_Q`].
    pub fn low_pass(sample_rate: f64, freq_hz: f64, q: f64) -> Self {
        let (cos, sin) = Self::omega(sample_rate, freq_hz);
        let alpha = sin / (2.0 * q);
        let b = (1.0 - cos) / 2.0;
        Self::normalise(b, 1.0 - cos, b, 1.0 + alpha, -2.0 * cos, 1.0 - alpha)
    }

    /// First-order low-pass (6 dB/oct, bilinear transform), −3 dB at `freq_hz`. Its phase
    /// never passes −90°, which is what makes it a safe crossover for the de-esser.
    pub fn low_pass_1st(sample_rate: f64, freq_hz: f64) -> Self {
        let f = freq_hz.min(MAX_FREQ_RATIO * sample_rate).max(MIN_FREQ_HZ.min(0.1 * sample_rate));
        let k = (PI * f / sample_rate).tan();
        let inv = 1.0 / (1.0 + k);
        Self { b0: k * inv, b1: k * inv, b2: 0.0, a1: (k - 1.0) * inv, a2: 0.0 }
    }

    /// Peaking (bell) EQ: `gain_db` at `freq_hz`, bandwidth set by `q`.
    pub fn peaking(sample_rate: f64, freq_hz: f64, gain_db: f64, q: f64) -> Self {
        let (cos, sin) = Self::omega(sample_rate, freq_hz);
        let a = 10f64.powf(gain_db / 40.0);
        let alpha = sin / (2.0 * q);
        Self::normalise(1.0 + alpha * a, -2.0 * cos, 1.0 - alpha * a, 1.0 + alpha / a, -2.0 * cos, 1.0 - alpha / a)
    }

    /// Low shelf with the cookbook's shelf slope S = 1 (steepest without overshoot):
    /// `gain_db` below `freq_hz`, half of it (in dB) at `freq_hz`.
    pub fn low_shelf(sample_rate: f64, freq_hz: f64, gain_db: f64) -> Self {
        let (cos, sin) = Self::omega(sample_rate, freq_hz);
        let a = 10f64.powf(gain_db / 40.0);
        let k = 2.0 * a.sqrt() * sin / 2.0 * std::f64::consts::SQRT_2; // 2·√A·α with S = 1
        Self::normalise(
            a * ((a + 1.0) - (a - 1.0) * cos + k),
            2.0 * a * ((a - 1.0) - (a + 1.0) * cos),
            a * ((a + 1.0) - (a - 1.0) * cos - k),
            (a + 1.0) + (a - 1.0) * cos + k,
            -2.0 * ((a - 1.0) + (a + 1.0) * cos),
            (a + 1.0) + (a - 1.0) * cos - k,
        )
    }

    /// High shelf, S = 1: `gain_db` above `freq_hz`, half of it at `freq_hz`.
    pub fn high_shelf(sample_rate: f64, freq_hz: f64, gain_db: f64) -> Self {
        let (cos, sin) = Self::omega(sample_rate, freq_hz);
        let a = 10f64.powf(gain_db / 40.0);
        let k = 2.0 * a.sqrt() * sin / 2.0 * std::f64::consts::SQRT_2;
        Self::normalise(
            a * ((a + 1.0) + (a - 1.0) * cos + k),
            -2.0 * a * ((a - 1.0) + (a + 1.0) * cos),
            a * ((a + 1.0) + (a - 1.0) * cos - k),
            (a + 1.0) - (a - 1.0) * cos + k,
            2.0 * ((a - 1.0) - (a + 1.0) * cos),
            (a + 1.0) - (a - 1.0) * cos - k,
        )
    }

    /// Analytic magnitude `|H(e^{jω})|` at `freq_hz`, in dB. Used by tests as the oracle and
    /// by the editor to draw the EQ curve.
    pub fn magnitude_db(&self, sample_rate: f64, freq_hz: f64) -> f64 {
        let w = 2.0 * PI * freq_hz / sample_rate;
        let (c1, s1) = (w.cos(), w.sin());
        let (c2, s2) = ((2.0 * w).cos(), (2.0 * w).sin());
        let num_re = self.b0 + self.b1 * c1 + self.b2 * c2;
        let num_im = -(self.b1 * s1 + self.b2 * s2);
        let den_re = 1.0 + self.a1 * c1 + self.a2 * c2;
        let den_im = -(self.a1 * s1 + self.a2 * s2);
        power_to_db((num_re * num_re + num_im * num_im) / (den_re * den_re + den_im * den_im))
    }
}

/// One biquad with state for up to two channels.
#[derive(Clone, Copy, Debug)]
pub struct Biquad {
    coefs: Coefs,
    /// The coefficients b0, b1, b2, a1, a2, each duplicated for the two channels, so a stereo
    /// frame loads them as pairs instead of broadcasting every sample.
    pairs: [[f64; 2]; 5],
    s1: [f64; 2],
    s2: [f64; 2],
}

impl Default for Biquad {
    fn default() -> Self {
        let mut b = Self { coefs: Coefs::IDENTITY, pairs: [[0.0; 2]; 5], s1: [0.0; 2], s2: [0.0; 2] };
        b.set_coefs(Coefs::IDENTITY);
        b
    }
}

/// State below this is flushed to zero at block boundaries: it is 300 dB under full scale, and
/// letting it decay further would reach subnormal `f64`s, which are slow on x86 unless the
/// host or wrapper set flush-to-zero (the CLI path does not).
const STATE_FLOOR: f64 = 1e-15;

impl Biquad {
    /// A filter with these coefficients and cleared state.
    pub fn new(coefs: Coefs) -> Self {
        let mut b = Self::default();
        b.set_coefs(coefs);
        b
    }

    /// Current coefficients.
    pub fn coefs(&self) -> Coefs {
        self.coefs
    }

    /// Replaces the coefficients, keeping the state (for glides).
    pub fn set_coefs(&mut self, c: Coefs) {
        self.coefs = c;
        self.pairs = [[c.b0; 2], [c.b1; 2], [c.b2; 2], [c.a1; 2], [c.a2; 2]];
    }

    /// Filters one sample of channel `ch` (0 or 1).
    #[inline(always)]
    pub fn tick(&mut self, ch: usize, x: f64) -> f64 {
        let [y] = self.tick_channels([x], ch);
        y
    }

    /// Filters one frame of `N` (1 or 2) channels; written on whole arrays so the stereo case
    /// compiles to paired (SIMD) arithmetic.
    #[inline(always)]
    pub fn tick_frame<const N: usize>(&mut self, x: [f64; N]) -> [f64; N] {
        self.tick_channels(x, 0)
    }

    /// Transposed direct form II on channels `first..first + N`.
    #[inline(always)]
    fn tick_channels<const N: usize>(&mut self, x: [f64; N], first: usize) -> [f64; N] {
        let [b0, b1, b2, a1, a2] = self.pairs;
        let mut y = [0.0; N];
        for i in 0..N {
            let ch = first + i;
            y[i] = b0[ch] * x[i] + self.s1[ch];
            self.s1[ch] = b1[ch] * x[i] - a1[ch] * y[i] + self.s2[ch];
            self.s2[ch] = b2[ch] * x[i] - a2[ch] * y[i];
        }
        y
    }

    /// Clears the state.
    pub fn reset(&mut self) {
        self.s1 = [0.0; 2];
        self.s2 = [0.0; 2];
    }

    /// Flushes near-zero state and reports whether the state is finite.
    pub fn tidy(&mut self) -> bool {
        let mut finite = true;
        for s in self.s1.iter_mut().chain(self.s2.iter_mut()) {
            if s.abs() < STATE_FLOOR {
                *s = 0.0;
            }
            finite &= s.is_finite();
        }
        finite
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::decibel::gain_to_db;
    use crate::dsp::measure::tone_amplitude;

    fn measured_db(coefs: Coefs, sample_rate: f64, freq: f64) -> f64 {
        let mut bq = Biquad::new(coefs);
        let settle = (sample_rate * 0.5) as usize;
        let len = (sample_rate * 1.0) as usize;
        let mut out = Vec::with_capacity(len);
        for i in 0..settle + len {
            // f32 input and output, as in the plugin.
            let x = (0.5 * (2.0 * PI * freq * i as f64 / sample_rate).sin()) as f32;
            let y = bq.tick(0, x as f64) as f32;
            if i >= settle {
                out.push(y as f64);
            }
        }
        gain_to_db(tone_amplitude(&out, sample_rate, freq) / 0.5)
    }

    #[test]
    fn measured_response_matches_analytic_within_0_05_db() {
        for sr in [44_100.0, 48_000.0, 96_000.0] {
            let designs = [
                ("hp 80", Coefs::high_pass(sr, 80.0, BUTTERWORTH_Q)),
                ("lp 6k", Coefs::low_pass(sr, 6000.0, BUTTERWORTH_Q)),
                ("lp1 5k", Coefs::low_pass_1st(sr, 5000.0)),
                ("hp 30 q1.31", Coefs::high_pass(sr, 30.0, BUTTERWORTH4_Q[1])),
                ("bell 400 +6 q1", Coefs::peaking(sr, 400.0, 6.0, 1.0)),
                ("bell 3k -9 q4", Coefs::peaking(sr, 3000.0, -9.0, 4.0)),
                ("low shelf 100 +8", Coefs::low_shelf(sr, 100.0, 8.0)),
                ("high shelf 8k -6", Coefs::high_shelf(sr, 8000.0, -6.0)),
            ];
            for (name, coefs) in designs {
                for f in [40.0, 100.0, 400.0, 1000.0, 3000.0, 8000.0, 15_000.0] {
                    let analytic = coefs.magnitude_db(sr, f);
                    let measured = measured_db(coefs, sr, f);
                    assert!(
                        (measured - analytic).abs() < 0.05,
                        "{name} @ {sr} Hz, {f} Hz: measured {measured:.3} dB, analytic {analytic:.3} dB"
                    );
                }
            }
        }
    }

    #[test]
    fn designs_hit_their_targets() {
        for sr in [22_050.0, 44_100.0, 48_000.0, 96_000.0, 192_000.0] {
            // Bell: exactly its gain at the centre.
            let bell = Coefs::peaking(sr, 1000.0, 6.0, 2.0);
            assert!((bell.magnitude_db(sr, 1000.0) - 6.0).abs() < 1e-9);
            // Butterworth: −3.01 dB at the corner, 12 dB/oct well below it.
            let hp = Coefs::high_pass(sr, 100.0, BUTTERWORTH_Q);
            assert!((hp.magnitude_db(sr, 100.0) + 3.0103).abs() < 1e-3);
            let slope = hp.magnitude_db(sr, 20.0) - hp.magnitude_db(sr, 10.0);
            assert!((slope - 12.04).abs() < 0.1, "slope {slope}");
            // Fourth-order Butterworth: −3.01 dB at the corner, 24 dB/oct.
            let h4 =
                |f| BUTTERWORTH4_Q.iter().map(|&q| Coefs::high_pass(sr, 100.0, q).magnitude_db(sr, f)).sum::<f64>();
            assert!((h4(100.0) + 3.0103).abs() < 1e-3, "{}", h4(100.0));
            assert!((h4(20.0) - h4(10.0) - 24.08).abs() < 0.2);
            // Shelves: full gain far from the corner, half gain at it.
            let ls = Coefs::low_shelf(sr, 200.0, 10.0);
            assert!((ls.magnitude_db(sr, 10.0) - 10.0).abs() < 0.05);
            assert!((ls.magnitude_db(sr, 200.0) - 5.0).abs() < 1e-6);
            let hs = Coefs::high_shelf(sr, 2000.0, -8.0);
            assert!((hs.magnitude_db(sr, 2000.0) + 4.0).abs() < 1e-6);
            assert!((hs.magnitude_db(sr, 0.45 * sr) + 8.0).abs() < 0.25);
            // First order: −3.01 dB at the corner, 6 dB/oct well above it.
            let lp1 = Coefs::low_pass_1st(sr, 1000.0);
            assert!((lp1.magnitude_db(sr, 1000.0) + 3.0103).abs() < 1e-6);
            let lp1_100 = Coefs::low_pass_1st(sr, 100.0);
            assert!((lp1_100.magnitude_db(sr, 1000.0) - lp1_100.magnitude_db(sr, 2000.0) - 6.0).abs() < 0.2);
            // 0 dB designs are the identity.
            assert!(Coefs::peaking(sr, 500.0, 0.0, 1.0).magnitude_db(sr, 500.0).abs() < 1e-12);
        }
    }
}
