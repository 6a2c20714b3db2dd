//! Decibels: the one place levels turn into linear amplitudes or powers and back.
//!
//! * [`db_to_gain`] / [`gain_to_db`]: amplitude (20·log10), for gains, peaks, sample values.
//! * [`db_to_power`] / [`power_to_db`]: power (10·log10), for mean squares, band powers,
//!   loudness.
//! * [`fast_db_to_gain`] / [`fast_gain_to_db`]: approximations of the amplitude pair for the
//!   per-frame work of the compressor and de-esser on the audio thread, where libm's `log10`
//!   and `exp` would cost more than the rest of a frame's filtering. Errors under 1e-4 dB
//!   (tested below against the exact pair); use them nowhere else.
//!
//! The exact ones are libm to the last bit or two: `gain_to_db(0.0)` is −∞, a negative or NaN
//! input gives NaN; callers that need a floor (a meter, a report) apply it themselves, where
//! they say what the floor is.

use std::f64::consts::{LN_10, LOG2_10};

use super::fastmath::{exp2, log2};

/// dB to linear amplitude: 10^(dB/20).
#[inline(always)]
pub fn db_to_gain(db: f64) -> f64 {
    // e^(dB·ln10/20): the form the chain's gain ramps have always used, so its output stays
    // bit for bit what it was.
    (db * (LN_10 / 20.0)).exp()
}

/// Linear amplitude to dB: 20·log10(gain); −∞ for 0.
#[inline(always)]
pub fn gain_to_db(gain: f64) -> f64 {
    20.0 * gain.log10()
}

/// dB to linear power (or mean square): 10^(dB/10).
#[inline(always)]
pub fn db_to_power(db: f64) -> f64 {
    (db * (LN_10 / 10.0)).exp()
}

/// Linear power (or mean square) to dB: 10·log10(power); −∞ for 0.
#[inline(always)]
pub fn power_to_db(power: f64) -> f64 {
    10.0 * power.log10()
}

/// [`gain_to_db`], approximated for the audio thread's per-frame work, for `gain > 0`
/// (normal numbers). Error < 1e-4 dB.
#[inline(always)]
pub fn fast_gain_to_db(gain: f64) -> f64 {
    // 20·log10(x) = 20·log2(x) / log2(10)
    log2(gain) * (20.0 / LOG2_10)
}

/// [`db_to_gain`], approximated for the audio thread's per-frame work, for dB in about
/// ±6000. Relative error < 2e-7 (under 2e-6 dB).
#[inline(always)]
pub fn fast_db_to_gain(db: f64) -> f64 {
    exp2(db * (LOG2_10 / 20.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_pairs_agree_with_the_textbook_forms() {
        for db in [-200.0, -96.0, -18.0, -6.0, 0.0, 3.0, 6.0, 24.0] {
            let g = db_to_gain(db);
            assert!((g / 10f64.powf(db / 20.0) - 1.0).abs() < 1e-14, "{db}");
            assert!((gain_to_db(g) - db).abs() < 1e-12, "{db}");
            let p = db_to_power(db);
            assert!((p / 10f64.powf(db / 10.0) - 1.0).abs() < 1e-14, "{db}");
            assert!((power_to_db(p) - db).abs() < 1e-12, "{db}");
        }
        assert!((gain_to_db(0.5) + 6.0206).abs() < 1e-4);
        assert!((power_to_db(0.5) + 3.0103).abs() < 1e-4);
        assert_eq!(gain_to_db(0.0), f64::NEG_INFINITY);
        assert_eq!(power_to_db(0.0), f64::NEG_INFINITY);
        assert!(gain_to_db(-1.0).is_nan() && power_to_db(f64::NAN).is_nan());
        assert_eq!(db_to_gain(f64::NEG_INFINITY), 0.0);
    }

    #[test]
    fn fast_pair_is_within_1e_4_db_of_the_exact_one() {
        let mut worst_db: f64 = 0.0;
        let mut worst_gain: f64 = 0.0;
        let mut db = -160.0;
        while db < 40.0 {
            worst_db = worst_db.max((fast_gain_to_db(db_to_gain(db)) - db).abs());
            worst_gain = worst_gain.max((fast_db_to_gain(db) / db_to_gain(db) - 1.0).abs());
            db += 0.0173;
        }
        assert!(worst_db < 1e-4, "fast_gain_to_db error {worst_db:e} dB");
        assert!(worst_gain < 2e-7, "fast_db_to_gain relative error {worst_gain:e}");
        // A round trip through both approximations stays within the same bound.
        for db in [-160.0, -60.0, -18.0, -0.01, 0.0, 6.0, 24.0] {
            assert!((fast_gain_to_db(fast_db_to_gain(db)) - db).abs() < 1e-4, "{db}");
        }
    }
}
