//! The static part of the chain as filter sections: the high-pass and the four EQ bands.
//! The chain designs its filters with these functions and the editor draws its EQ curve with
//! them, so the curve on screen is the filter that runs.

use super::biquad::{Coefs, BUTTERWORTH4_Q, BUTTERWORTH_Q};
use crate::spec::{ParamId as P, Settings};

/// Shape of an EQ band.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BandKind {
    /// Low shelf (S = 1).
    LowShelf,
    /// Peaking bell.
    Bell,
    /// High shelf (S = 1).
    HighShelf,
}

/// Coefficients of one EQ band.
pub fn band_coefs(kind: BandKind, sample_rate: f64, freq_hz: f64, gain_db: f64, q: f64) -> Coefs {
    match kind {
        BandKind::LowShelf => Coefs::low_shelf(sample_rate, freq_hz, gain_db),
        BandKind::Bell => Coefs::peaking(sample_rate, freq_hz, gain_db, q),
        BandKind::HighShelf => Coefs::high_shelf(sample_rate, freq_hz, gain_db),
    }
}

/// Sections of the high-pass for a slope index (0 = 12 dB/oct: one section, 1 = 24 dB/oct:
/// two Butterworth sections). Unused sections are the identity.
pub fn high_pass_sections(sample_rate: f64, freq_hz: f64, slope: usize) -> [Coefs; 2] {
    if slope == 0 {
        [Coefs::high_pass(sample_rate, freq_hz, BUTTERWORTH_Q), Coefs::IDENTITY]
    } else {
        BUTTERWORTH4_Q.map(|q| Coefs::high_pass(sample_rate, freq_hz, q))
    }
}

/// The four bands of a settings snapshot: kind, frequency, gain (0 dB when off), Q.
pub fn bands(s: &Settings) -> [(BandKind, f64, f64, f64); 4] {
    let gain = |on: P, g: P| if s.on(on) { s.get(g) as f64 } else { 0.0 };
    let f = |p: P| s.get(p) as f64;
    [
        (BandKind::LowShelf, f(P::LowShelfFreq), gain(P::LowShelfOn, P::LowShelfGain), 1.0),
        (BandKind::Bell, f(P::Bell1Freq), gain(P::Bell1On, P::Bell1Gain), f(P::Bell1Q)),
        (BandKind::Bell, f(P::Bell2Freq), gain(P::Bell2On, P::Bell2Gain), f(P::Bell2Q)),
        (BandKind::HighShelf, f(P::HighShelfFreq), gain(P::HighShelfOn, P::HighShelfGain), 1.0),
    ]
}

/// Magnitude response of the high-pass and EQ of `settings` at `freq_hz`, in dB, once every
/// glide has settled.
pub fn response_db(settings: &Settings, sample_rate: f64, freq_hz: f64) -> f64 {
    let mut db = 0.0;
    if settings.on(P::HpOn) {
        let slope = settings.get(P::HpSlope) as usize;
        for c in high_pass_sections(sample_rate, settings.get(P::HpFreq) as f64, slope) {
            db += c.magnitude_db(sample_rate, freq_hz);
        }
    }
    for (kind, f, g, q) in bands(settings) {
        if g != 0.0 {
            db += band_coefs(kind, sample_rate, f, g, q).magnitude_db(sample_rate, freq_hz);
        }
    }
    db
}
