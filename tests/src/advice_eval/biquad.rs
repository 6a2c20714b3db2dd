//! Biquads from R. Bristow-Johnson's "Cookbook formulae for audio EQ biquad filter
//! coefficients" (the RBJ Audio EQ Cookbook, W3C Audio EQ Cookbook note, 2021), written here so
//! that the defects the evaluation injects come from filters of its own and not from the
//! product's DSP. Computed in `f64`, direct form I.

use std::f64::consts::PI;

/// One second-order section, normalised so that `a0 = 1`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Biquad {
    b: [f64; 3],
    a: [f64; 2],
}

impl Biquad {
    /// From raw coefficients (`a0` divided out).
    pub fn new(b: [f64; 3], a0: f64, a1: f64, a2: f64) -> Self {
        Self { b: [b[0] / a0, b[1] / a0, b[2] / a0], a: [a1 / a0, a2 / a0] }
    }

    /// Peaking EQ ("bell"): `gain_db` at `freq_hz`, bandwidth set by `q`.
    pub fn peaking(rate: f64, freq_hz: f64, q: f64, gain_db: f64) -> Self {
        let (big_a, cos, alpha) = Self::terms(rate, freq_hz, q, gain_db);
        Self::new(
            [1.0 + alpha * big_a, -2.0 * cos, 1.0 - alpha * big_a],
            1.0 + alpha / big_a,
            -2.0 * cos,
            1.0 - alpha / big_a,
        )
    }

    /// Low shelf: `gain_db` below `freq_hz` (the midpoint of the transition), slope set by `q`
    /// (0.7071 is the cookbook's steepest slope without overshoot, S = 1).
    pub fn low_shelf(rate: f64, freq_hz: f64, q: f64, gain_db: f64) -> Self {
        let (a, cos, alpha) = Self::terms(rate, freq_hz, q, gain_db);
        let s = 2.0 * a.sqrt() * alpha;
        Self::new(
            [
                a * ((a + 1.0) - (a - 1.0) * cos + s),
                2.0 * a * ((a - 1.0) - (a + 1.0) * cos),
                a * ((a + 1.0) - (a - 1.0) * cos - s),
            ],
            (a + 1.0) + (a - 1.0) * cos + s,
            -2.0 * ((a - 1.0) + (a + 1.0) * cos),
            (a + 1.0) + (a - 1.0) * cos - s,
        )
    }

    /// High shelf: `gain_db` above `freq_hz`, as [`Self::low_shelf`].
    pub fn high_shelf(rate: f64, freq_hz: f64, q: f64, gain_db: f64) -> Self {
        let (a, cos, alpha) = Self::terms(rate, freq_hz, q, gain_db);
        let s = 2.0 * a.sqrt() * alpha;
        Self::new(
            [
                a * ((a + 1.0) + (a - 1.0) * cos + s),
                -2.0 * a * ((a - 1.0) + (a + 1.0) * cos),
                a * ((a + 1.0) + (a - 1.0) * cos - s),
            ],
            (a + 1.0) - (a - 1.0) * cos + s,
            2.0 * ((a - 1.0) - (a + 1.0) * cos),
            (a + 1.0) - (a - 1.0) * cos - s,
        )
    }

    /// The cookbook's `A`, `cos w0` and `alpha`.
    fn terms(rate: f64, freq_hz: f64, q: f64, gain_db: f64) -> (f64, f64, f64) {
        let w0 = 2.0 * PI * freq_hz / rate;
        (10f64.powf(gain_db / 40.0), w0.cos(), w0.sin() / (2.0 * q))
    }

    /// Magnitude response at `freq_hz`, dB.
    pub fn response_db(&self, rate: f64, freq_hz: f64) -> f64 {
        let w = 2.0 * PI * freq_hz / rate;
        // H(e^jw) = (b0 + b1 e^-jw + b2 e^-2jw) / (1 + a1 e^-jw + a2 e^-2jw)
        let (c1, s1, c2, s2) = (w.cos(), -w.sin(), (2.0 * w).cos(), -(2.0 * w).sin());
        let num = ((self.b[0] + self.b[1] * c1 + self.b[2] * c2), (self.b[1] * s1 + self.b[2] * s2));
        let den = ((1.0 + self.a[0] * c1 + self.a[1] * c2), (self.a[0] * s1 + self.a[1] * s2));
        10.0 * ((num.0 * num.0 + num.1 * num.1) / (den.0 * den.0 + den.1 * den.1)).log10()
    }

    /// Filters `x` in place, from rest.
    pub fn run(&self, x: &mut [f32]) {
        let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
        for s in x.iter_mut() {
            let x0 = f64::from(*s);
            let y0 = self.b[0] * x0 + self.b[1] * x1 + self.b[2] * x2 - self.a[0] * y1 - self.a[1] * y2;
            (x2, x1, y2, y1) = (x1, x0, y1, y0);
            *s = y0 as f32;
        }
    }

    /// Filters `x` (as `f64`) in place, from rest.
    pub fn run_f64(&self, x: &mut [f64]) {
        let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
        for s in x.iter_mut() {
            let x0 = *s;
            let y0 = self.b[0] * x0 + self.b[1] * x1 + self.b[2] * x2 - self.a[0] * y1 - self.a[1] * y2;
            (x2, x1, y2, y1) = (x1, x0, y1, y0);
            *s = y0;
        }
    }

    /// The normalised coefficients `[b0, b1, b2, a1, a2]`.
    pub fn coefficients(&self) -> [f64; 5] {
        [self.b[0], self.b[1], self.b[2], self.a[0], self.a[1]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bell_has_its_gain_at_its_frequency_and_none_far_away() {
        let f = Biquad::peaking(48_000.0, 1000.0, 2.0, 6.0);
        assert!((f.response_db(48_000.0, 1000.0) - 6.0).abs() < 1e-9);
        assert!(f.response_db(48_000.0, 30.0).abs() < 0.05);
        assert!(f.response_db(48_000.0, 18_000.0).abs() < 0.05);
        // Bandwidth: at the band edges of Q = 2 (about 0.7 octave) the gain is half in dB terms
        // (the cookbook's definition of bandwidth for a peaking EQ uses the midpoint gain).
        let cut = Biquad::peaking(44_100.0, 250.0, 1.0, -8.0);
        assert!((cut.response_db(44_100.0, 250.0) + 8.0).abs() < 1e-9);
    }

    #[test]
    fn shelves_reach_their_gain_on_their_side_and_half_at_the_corner() {
        let rate = 48_000.0;
        let low = Biquad::low_shelf(rate, 200.0, std::f64::consts::FRAC_1_SQRT_2, 6.0);
        assert!((low.response_db(rate, 20.0) - 6.0).abs() < 0.1);
        assert!((low.response_db(rate, 200.0) - 3.0).abs() < 0.01);
        assert!(low.response_db(rate, 10_000.0).abs() < 0.05);
        let high = Biquad::high_shelf(rate, 5000.0, std::f64::consts::FRAC_1_SQRT_2, -6.0);
        assert!((high.response_db(rate, 20_000.0) + 6.0).abs() < 0.2);
        assert!((high.response_db(rate, 5000.0) + 3.0).abs() < 0.01);
        assert!(high.response_db(rate, 100.0).abs() < 0.05);
    }

    #[test]
    fn filtering_a_sine_matches_the_computed_response() {
        let rate = 48_000.0;
        let f = Biquad::peaking(rate, 3000.0, 1.5, 7.0);
        let freq = 2000.0;
        let mut x: Vec<f32> = (0..48_000).map(|n| (2.0 * PI * freq * n as f64 / rate).sin() as f32).collect();
        f.run(&mut x);
        let tail = &x[24_000..];
        let rms = (tail.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / tail.len() as f64).sqrt();
        let measured = 20.0 * (rms * 2f64.sqrt()).log10();
        assert!((measured - f.response_db(rate, freq)).abs() < 0.02, "{measured}");
    }
}
