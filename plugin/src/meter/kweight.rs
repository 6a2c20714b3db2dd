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

use crate::dsp::biquad::{Biquad, Coefs};
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
    let vh = 10f64.powf(SHELF_GAIN_DB / 20.0);
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

/// K-weighting for two channels (`f64` state), the shelf then the RLB high-pass.
#[derive(Clone, Copy, Debug)]
pub struct KWeighting {
    shelf: Biquad,
    rlb: Biquad,
}

impl KWeighting {
    /// A filter pair for `sample_rate` Hz with cleared state.
    pub fn new(sample_rate: f64) -> Self {
        Self { shelf: Biquad::new(shelf_coefs(sample_rate)), rlb: Biquad::new(rlb_coefs(sample_rate)) }
    }

    /// Filters one sample of channel `slot` (0 or 1).
    #[inline(always)]
    pub fn tick(&mut self, slot: usize, x: f64) -> f64 {
        let y = self.shelf.tick(slot, x);
        self.rlb.tick(slot, y)
    }

    /// Flushes near-zero state (call once per block); returns whether the state is finite.
    pub fn tidy(&mut self) -> bool {
        let a = self.shelf.tidy();
        let b = self.rlb.tidy();
        a && b
    }

    /// Clears the state.
    pub fn reset(&mut self) {
        self.shelf.reset();
        self.rlb.reset();
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
}
