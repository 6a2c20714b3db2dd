//! Cheap `log2` / `exp2` for the per-sample work of the dynamics processors.
//!
//! The compressor and de-esser need a level in dB and a gain from dB on every frame; libm's
//! `log10` and `exp` cost more than the rest of a frame's filtering. These split the float
//! into exponent and mantissa and approximate the mantissa part with short series; the errors
//! (checked by the tests below against `std`) are far under anything audible or any tolerance
//! of the tests that use them. The dB forms built on them are
//! [`super::decibel::fast_gain_to_db`] and [`super::decibel::fast_db_to_gain`].

use std::f64::consts::LN_2;

/// `log2(x)` for `x > 0` (normal numbers). Absolute error < 1e-6.
#[inline(always)]
pub fn log2(x: f64) -> f64 {
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i64 - 1023;
    // Mantissa in [1, 2).
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    // log(m) = 2·atanh(t) with t = (m − 1)/(m + 1) in [0, 1/3): odd series to t¹¹.
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let series =
        t * (2.0 + t2 * (2.0 / 3.0 + t2 * (2.0 / 5.0 + t2 * (2.0 / 7.0 + t2 * (2.0 / 9.0 + t2 * (2.0 / 11.0))))));
    exponent as f64 + series * std::f64::consts::LOG2_E
}

/// `2^y`, for `y` in about ±1000. Relative error < 2e-7.
#[inline(always)]
pub fn exp2(y: f64) -> f64 {
    // Round to the nearest integer by the 1.5·2⁵² trick (no libm `floor` call, which is a
    // function call on baseline x86-64): exact for |y| < 2⁵¹.
    const ROUND: f64 = 6_755_399_441_055_744.0;
    let y = y.clamp(-1000.0, 1000.0);
    let n = (y + ROUND) - ROUND;
    // e^(f·ln2) for f in [−0.5, 0.5]: Taylor series to the 7th power (error < 5e-9).
    let z = (y - n) * LN_2;
    let p = 1.0
        + z * (1.0
            + z * (1.0 / 2.0
                + z * (1.0 / 6.0 + z * (1.0 / 24.0 + z * (1.0 / 120.0 + z * (1.0 / 720.0 + z * (1.0 / 5040.0)))))));
    p * f64::from_bits(((n as i64 + 1023) as u64) << 52)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log2_matches_std() {
        let mut worst: f64 = 0.0;
        let mut x = 1e-12;
        while x < 1e6 {
            worst = worst.max((log2(x) - x.log2()).abs());
            x *= 1.0137;
        }
        assert!(worst < 1e-6, "log2 error {worst:e}");
    }

    #[test]
    fn exp2_matches_std() {
        let mut worst: f64 = 0.0;
        let mut y = -60.0;
        while y < 60.0 {
            worst = worst.max((exp2(y) / y.exp2() - 1.0).abs());
            y += 0.00731;
        }
        assert!(worst < 2e-7, "exp2 relative error {worst:e}");
    }
}
