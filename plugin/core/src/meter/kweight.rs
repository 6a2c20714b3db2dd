//! The K-weighting filter of ITU-R BS.1770-4 §2.1: a high-shelf "pre-filter" modelling the
//! acoustic effect of the head, then the "RLB" high-pass, as two biquads.
//!
//! The recommendation only tabulates the 48 kHz coefficients (Tables 1 and 2). Other rates
//! need the analog prototype behind them; we use the second-order prototypes that reproduce
//! the 48 kHz tables through the bilinear transform with pre-warping (the parameters below are
//! the ones published by the libebur128 / pyloudnorm authors, fitted to the tables; the code
//! here is our own):
//!
//! * shelf: `H(s) = (Vh·s² + Vb·(ω0/Q)·s + ω0²) / (s² + (ω0/Q)·s + ω0²)`, f0 ≈ 1681.97 Hz,
//!   gain ≈ +4.0 dB, Q ≈ 0.7072;
//! * RLB: `H(s) = s² / (s² + (ω0/Q)·s + ω0²)`, f0 ≈ 38.14 Hz, Q ≈ 0.5003.
//!
//! As in the recommendation, the RLB numerator stays `1, −2, 1` at every rate (not normalised
//! to unity high-frequency gain): the −0.691 dB in the loudness formula (BS.1770-4 eq. 2) was
//! calibrated with exactly these coefficients, and keeping them makes a 997 Hz sine at 0 dBFS
//! read −3.01 LKFS per channel at every rate.

use crate::dsp::biquad::Coefs;
use crate::dsp::decibel::db_to_gain;
use std::f64::consts::PI;

/// Shelf centre frequency of the analog prototype, in Hz.
const SHELF_F0: f64 = 1_681.974_450_955_533;
/// Shelf high-frequency gain of the analog prototype, in dB.
const SHELF_GAIN_DB: f64 = 3.999_843_853_973_347;
/// Shelf quality factor.
const SHELF_Q: f64 = 0.707_175_236_955_419_6;
/// Exponent giving the band (mid) gain `Vb = Vh^SHELF_VB_EXP` of the shelf prototype.
const SHELF_VB_EXP: f64 = 0.499_666_774_154_541_6;
/// RLB high-pass corner of the analog prototype, in Hz.
const RLB_F0: f64 = 38.135_470_876_024_44;
/// RLB high-pass quality factor.
const RLB_Q: f64 = 0.500_327_037_323_877_3;

/// BS.1770-4 Table 1 (pre-filter, 48 kHz), as printed.
pub const BS1770_SHELF_48K: Coefs = Coefs {
    b0: 1.535_124_859_586_97,
    b1: -2.691_696_189_406_38,
    b2: 1.198_392_810_852_85,
    a1: -1.690_659_293_182_41,
    a2: 0.732_480_774_215_85,
};

/// BS.1770-4 Table 2 (RLB high-pass, 48 kHz), as printed.
pub const BS1770_RLB_48K: Coefs =
    Coefs { b0: 1.0, b1: -2.0, b2: 1.0, a1: -1.990_047_454_833_98, a2: 0.990_072_250_366_21 };

/// The pre-filter (high shelf) coefficients at `sample_rate` Hz.
pub fn shelf_coefs(sample_rate: f64) -> Coefs {
    let k = (PI * SHELF_F0 / sample_rate).tan();
    let vh = db_to_gain(SHELF_GAIN_DB);
    let vb = vh.powf(SHELF_VB_EXP);
    let a0 = 1.0 + k / SHELF_Q + k * k;
    Coefs {
        b0: (vh + vb * k / SHELF_Q + k * k) / a0,
        b1: 2.0 * (k * k - vh) / a0,
        b2: (vh - vb * k / SHELF_Q + k * k) / a0,
        a1: 2.0 * (k * k - 1.0) / a0,
        a2: (1.0 - k / SHELF_Q + k * k) / a0,
    }
}

/// The RLB high-pass coefficients at `sample_rate` Hz (numerator `1, −2, 1`, see the module
/// documentation).
pub fn rlb_coefs(sample_rate: f64) -> Coefs {
    let k = (PI * RLB_F0 / sample_rate).tan();
    let a0 = 1.0 + k / RLB_Q + k * k;
    Coefs { b0: 1.0, b1: -2.0, b2: 1.0, a1: 2.0 * (k * k - 1.0) / a0, a2: (1.0 - k / RLB_Q + k * k) / a0 }
}

/// State below this is flushed to zero at block boundaries: 300 dB under full scale, and
/// letting it decay further would reach subnormal `f64`s, which are slow on x86 unless the host
/// or wrapper set flush-to-zero (the CLI path does not).
const STATE_FLOOR: f64 = 1e-15;

/// K-weighting (the shelf, then the RLB high-pass) for up to two channels, `f64` state, in
/// direct form I. That form suits a meter: the cascade shares state (the RLB's input history is
/// the shelf's output history), and each section's feedback path is one multiply and one
/// subtraction long, so the two channels and the two sections overlap in the pipeline.
#[derive(Clone, Copy, Debug)]
pub struct KWeighting {
    shelf: Coefs,
    rlb: Coefs,
    /// Per channel slot: input `x[n−1]`, `x[n−2]`; shelf output `u[n−1]`, `u[n−2]`; RLB output
    /// `y[n−1]`, `y[n−2]`.
    x1: [f64; 2],
    x2: [f64; 2],
    u1: [f64; 2],
    u2: [f64; 2],
    y1: [f64; 2],
    y2: [f64; 2],
    /// Run the fused multiply-add loop (set only when the CPU has FMA).
    fma: bool,
}

impl KWeighting {
    /// A filter pair for `sample_rate` Hz with cleared state.
    pub fn new(sample_rate: f64) -> Self {
        Self {
            shelf: shelf_coefs(sample_rate),
            rlb: rlb_coefs(sample_rate),
            x1: [0.0; 2],
            x2: [0.0; 2],
            u1: [0.0; 2],
            u2: [0.0; 2],
            y1: [0.0; 2],
            y2: [0.0; 2],
            fma: super::avx2_fma(),
        }
    }

    /// The same filter without fused multiply-adds even where the CPU has them (for tests and
    /// benchmarks; the results differ only by rounding).
    pub fn portable(self) -> Self {
        Self { fma: false, ..self }
    }

    /// Filters `N` (1 or 2) channels of the same length, in slots `0 .. N`, and returns per
    /// channel `(Σ y², Σ x²)`: the K-weighted energy (BS.1770-4 eq. 1 before the division) and
    /// the unweighted energy. Longer slices are cut to the shortest.
    #[inline]
    pub fn energies<const N: usize>(&mut self, x: [&[f32]; N]) -> ([f64; N], [f64; N]) {
        #[cfg(target_arch = "x86_64")]
        if self.fma {
            // SAFETY: `fma` is set only when the CPU reported FMA (and AVX2).
            return unsafe { self.energies_fma(x) };
        }
        self.run::<N, false>(x)
    }

    /// [`Self::energies`] with fused multiply-adds: half the instructions and half the
    /// feedback latency.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "fma")]
    fn energies_fma<const N: usize>(&mut self, x: [&[f32]; N]) -> ([f64; N], [f64; N]) {
        self.run::<N, true>(x)
    }

    #[inline(always)]
    fn run<const N: usize, const FMA: bool>(&mut self, x: [&[f32]; N]) -> ([f64; N], [f64; N]) {
        const { assert!(N == 1 || N == 2, "one or two channel slots") };
        // `acc + a·b`, fused or not.
        let madd = |a: f64, b: f64, acc: f64| if FMA { a.mul_add(b, acc) } else { acc + a * b };
        let (s, r) = (self.shelf, self.rlb);
        let (mut x1, mut x2, mut u1, mut u2, mut y1, mut y2) = (self.x1, self.x2, self.u1, self.u2, self.y1, self.y2);
        let (mut k_energy, mut energy) = ([0.0f64; N], [0.0f64; N]);
        let len = x.iter().map(|c| c.len()).min().unwrap_or(0);
        let x = x.map(|c| &c[..len]);
        // Indexed, not zipped: one straight-line body over the channels of frame `k`, which the
        // compiler packs into SIMD pairs (an iterator of per-frame arrays cost 5 % more).
        #[allow(clippy::needless_range_loop)]
        for k in 0..len {
            for c in 0..N {
                let xn = x[c][k] as f64;
                // The feedback term last: the loop-carried path is one multiply-add.
                let u = madd(-s.a1, u1[c], madd(-s.a2, u2[c], madd(s.b2, x2[c], madd(s.b1, x1[c], s.b0 * xn))));
                let y = madd(-r.a1, y1[c], madd(r.b0, u, madd(-r.a2, y2[c], madd(r.b2, u2[c], r.b1 * u1[c]))));
                (x2[c], x1[c], u2[c], u1[c], y2[c], y1[c]) = (x1[c], xn, u1[c], u, y1[c], y);
                k_energy[c] = madd(y, y, k_energy[c]);
                energy[c] = madd(xn, xn, energy[c]);
            }
        }
        (self.x1, self.x2, self.u1, self.u2, self.y1, self.y2) = (x1, x2, u1, u2, y1, y2);
        (k_energy, energy)
    }

    /// Flushes near-zero state (call once per block); returns whether the state is finite.
    pub fn tidy(&mut self) -> bool {
        let mut finite = true;
        for state in [&mut self.u1, &mut self.u2, &mut self.y1, &mut self.y2] {
            for s in state {
                *s = if s.abs() < STATE_FLOOR { 0.0 } else { *s };
                finite &= s.is_finite();
            }
        }
        finite
    }

    /// Clears the state.
    pub fn reset(&mut self) {
        for s in [&mut self.x1, &mut self.x2, &mut self.u1, &mut self.u2, &mut self.y1, &mut self.y2] {
            *s = [0.0; 2];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn max_diff(a: Coefs, b: Coefs) -> f64 {
        [a.b0 - b.b0, a.b1 - b.b1, a.b2 - b.b2, a.a1 - b.a1, a.a2 - b.a2].iter().fold(0.0, |m, d| m.max(d.abs()))
    }

    #[test]
    fn reproduces_the_bs1770_tables_at_48k() {
        let shelf = max_diff(shelf_coefs(48_000.0), BS1770_SHELF_48K);
        let rlb = max_diff(rlb_coefs(48_000.0), BS1770_RLB_48K);
        assert!(shelf < 1e-8, "shelf differs from BS.1770-4 Table 1 by {shelf:e}");
        assert!(rlb < 1e-8, "RLB differs from BS.1770-4 Table 2 by {rlb:e}");
    }

    #[test]
    fn response_is_rate_independent_below_10k() {
        // The bilinear warp is pre-compensated at f0, so the curves agree closely in the band
        // that matters for loudness.
        let k48 = |f| shelf_coefs(48_000.0).magnitude_db(48_000.0, f) + rlb_coefs(48_000.0).magnitude_db(48_000.0, f);
        for sr in [44_100.0, 88_200.0, 96_000.0, 192_000.0] {
            let k = |f| shelf_coefs(sr).magnitude_db(sr, f) + rlb_coefs(sr).magnitude_db(sr, f);
            for f in [20.0, 50.0, 100.0, 500.0, 997.0, 2000.0, 5000.0, 10_000.0] {
                let d = k(f) - k48(f);
                assert!(d.abs() < 0.05, "{sr} Hz at {f} Hz: {d:.4} dB from 48 kHz");
            }
        }
        // 997 Hz: the stage gains that the −0.691 dB offset cancels.
        assert!((k48(997.0) - 0.691).abs() < 0.01, "{}", k48(997.0));
    }

    #[test]
    fn filter_follows_the_analytic_response() {
        // A sine through the direct-form-I cascade: its energy gain is the analytic |H|² of the
        // two sections, within 0.01 dB.
        for sr in [44_100.0, 48_000.0, 96_000.0] {
            let analytic = |f| shelf_coefs(sr).magnitude_db(sr, f) + rlb_coefs(sr).magnitude_db(sr, f);
            for f in [30.0, 100.0, 997.0, 3000.0, 10_000.0] {
                let mut k = KWeighting::new(sr);
                let n = sr as usize;
                let x: Vec<f32> =
                    (0..2 * n).map(|i| (0.5 * (2.0 * std::f64::consts::PI * f * i as f64 / sr).sin()) as f32).collect();
                k.energies([&x[..n]]);
                let ([ke], [e]) = k.energies([&x[n..]]);
                let db = crate::dsp::decibel::power_to_db(ke / e);
                assert!((db - analytic(f)).abs() < 0.01, "{sr} Hz at {f} Hz: {db:.4} vs {:.4}", analytic(f));
                // Two slots give the same as one.
                let mut pair = KWeighting::new(sr);
                pair.energies([&x[..n], &x[..n]]);
                let (ke2, _) = pair.energies([&x[n..], &x[n..]]);
                assert_eq!(ke2, [ke, ke]);
            }
        }
    }
}
