//! Pan and stereo width.
//!
//! Pan is constant power: `θ = (p + 1)·π/4`, `gL = √2·cos θ`, `gR = √2·sin θ`, so
//! `gL² + gR² = 2` for every position and the centre is unity (0 dB on both sides).
//! Width works on mid/side: `M = (L + R)/2`, `S = (L − R)/2 · w`, then `L = M + S`,
//! `R = M − S`; `w = 0` folds to mono (L = R), 1 is unchanged, 2 doubles the side signal.

use std::f64::consts::{FRAC_PI_4, SQRT_2};

/// `(gL, gR)` for a pan position in −1 (left) ..= 1 (right).
#[inline]
pub fn pan_gains(pan: f64) -> (f64, f64) {
    let p = pan.clamp(-1.0, 1.0);
    // sin θ written as cos(π/2 − θ) so the law is exactly mirror-symmetric: the centre gives
    // bit-identical gains on both sides (width 0 stays exactly mono after the pan stage).
    let gain = |p: f64| SQRT_2 * ((p + 1.0) * FRAC_PI_4).cos();
    (gain(p), gain(-p))
}

/// Applies width `w` (0..=2) to a stereo frame.
#[inline(always)]
pub fn apply_width(l: f64, r: f64, w: f64) -> (f64, f64) {
    let m = 0.5 * (l + r);
    let s = 0.5 * (l - r) * w;
    (m + s, m - s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pan_is_constant_power_with_unity_centre() {
        for i in 0..=200 {
            let p = -1.0 + i as f64 / 100.0;
            let (l, r) = pan_gains(p);
            assert!((l * l + r * r - 2.0).abs() < 1e-12, "p {p}");
        }
        let (l, r) = pan_gains(0.0);
        assert!((l - 1.0).abs() < 1e-12 && (r - 1.0).abs() < 1e-12);
        let (l, r) = pan_gains(-1.0);
        assert!((l - SQRT_2).abs() < 1e-12 && r.abs() < 1e-12);
        let (l, r) = pan_gains(1.0);
        assert!(l.abs() < 1e-12 && (r - SQRT_2).abs() < 1e-12);
        // Half left: −3 dB law between the sides, left louder by 20·log10(tan(3π/8)) = 7.66 dB.
        let (l, r) = pan_gains(-0.5);
        assert!((crate::dsp::decibel::gain_to_db(l / r) - 7.6555).abs() < 1e-3);
    }

    #[test]
    fn width_zero_is_mono_one_is_identity_two_doubles_side() {
        let (l, r) = apply_width(0.8, -0.2, 0.0);
        assert_eq!(l, r);
        assert!((l - 0.3).abs() < 1e-12);
        let (l, r) = apply_width(0.8, -0.2, 1.0);
        assert!((l - 0.8).abs() < 1e-12 && (r + 0.2).abs() < 1e-12);
        let (l, r) = apply_width(0.8, -0.2, 2.0);
        assert!((0.5 * (l - r) - 1.0).abs() < 1e-12 && (0.5 * (l + r) - 0.3).abs() < 1e-12);
    }
}
