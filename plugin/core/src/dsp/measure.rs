//! Small measurements on rendered audio, shared by tests, benchmarks and reports.

use std::f64::consts::PI;

use super::decibel::{gain_to_db, power_to_db};

/// Amplitude of the `freq_hz` sinusoid in `y` (Hann-windowed single-bin DFT). Accurate to a
/// few thousandths of a dB when `y` spans many periods.
pub fn tone_amplitude(y: &[f64], sample_rate: f64, freq_hz: f64) -> f64 {
    let n = y.len() as f64;
    let (mut re, mut im, mut wsum) = (0.0, 0.0, 0.0);
    for (i, v) in y.iter().enumerate() {
        let w = 0.5 - 0.5 * (2.0 * PI * i as f64 / n).cos();
        let ph = 2.0 * PI * freq_hz * i as f64 / sample_rate;
        re += w * v * ph.cos();
        im += w * v * ph.sin();
        wsum += w;
    }
    2.0 * (re * re + im * im).sqrt() / wsum
}

/// Largest absolute sample, in dBFS (−inf for silence).
pub fn peak_dbfs(y: &[f32]) -> f64 {
    let peak = y.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    gain_to_db(f64::from(peak))
}

/// RMS level, in dBFS (a full-scale sine reads −3.01).
pub fn rms_dbfs(y: &[f32]) -> f64 {
    if y.is_empty() {
        return f64::NEG_INFINITY;
    }
    let ms = y.iter().map(|&v| v as f64 * v as f64).sum::<f64>() / y.len() as f64;
    power_to_db(ms)
}
