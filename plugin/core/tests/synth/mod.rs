//! Seeded test signals for the tonal-balance and findings tests: Gaussian noise with any
//! third-octave shape (synthesised in the frequency domain, so its spectrum is known exactly),
//! and the analytic band powers and loudness such a noise should read.
#![allow(dead_code)]

use audiocollab_core::dsp::biquad::Coefs;
use audiocollab_core::meter::kweight::{rlb_coefs, shelf_coefs};
use audiocollab_core::meter::stats::{band_edges_hz, BAND_COUNT};
use realfft::num_complex::Complex;
use realfft::RealFftPlanner;

#[path = "../common/mod.rs"]
mod common;
pub use common::Rng;

/// Lowest frequency the noises carry, Hz (below the 20 Hz band's lower edge, 17.8 Hz).
pub const LOWEST_HZ: f64 = 12.0;

impl Rng {
    /// A standard normal deviate (Box–Muller).
    pub fn gauss(&mut self) -> f64 {
        let u = self.unit().max(1e-300);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// `len` samples of Gaussian noise at `rate` Hz whose third-octave band power follows
/// `shape_db(f)` (0 everywhere = pink, `10·log10 f` = white), from [`LOWEST_HZ`] to Nyquist,
/// scaled to unit RMS. Synthesised as one inverse FFT of random complex Gaussian bins with a
/// power spectral density `10^(shape/10) / f`.
pub fn shaped_noise(seed: u64, len: usize, rate: f64, shape_db: impl Fn(f64) -> f64) -> Vec<f32> {
    let n = len.next_power_of_two().max(2);
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut spectrum: Vec<Complex<f64>> = (0..=n / 2)
        .map(|k| {
            let f = k as f64 * rate / n as f64;
            if f < LOWEST_HZ || k == n / 2 {
                return Complex::new(0.0, 0.0);
            }
            let g = (10f64.powf(shape_db(f) / 10.0) / f).sqrt();
            Complex::new(g * rng.gauss(), g * rng.gauss())
        })
        .collect();
    let mut out = vec![0.0f64; n];
    let ifft = RealFftPlanner::<f64>::new().plan_fft_inverse(n);
    ifft.process(&mut spectrum, &mut out).expect("FFT buffers sized by the plan");
    out.truncate(len);
    let rms = (out.iter().map(|x| x * x).sum::<f64>() / len as f64).sqrt().max(1e-30);
    out.iter().map(|&x| (x / rms) as f32).collect()
}

/// Power response of a biquad at `f` Hz, linear.
pub fn power_gain(c: &Coefs, rate: f64, f: f64) -> f64 {
    10f64.powf(c.magnitude_db(rate, f) / 10.0)
}

/// Runs `x` through a biquad (transposed direct form II, `f64` state).
pub fn filter(c: &Coefs, x: &[f32]) -> Vec<f32> {
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    x.iter()
        .map(|&x| {
            let x = x as f64;
            let y = c.b0 * x + s1;
            s1 = c.b1 * x - c.a1 * y + s2;
            s2 = c.b2 * x - c.a2 * y;
            y as f32
        })
        .collect()
}

/// What a noise of spectral shape `shape_db`, through an extra power response `gain(f)`,
/// should read: every band's power (relative, any scale) and the K-weighted power in the same
/// scale, by numerical integration of the density `10^(shape/10)·gain/f` from [`LOWEST_HZ`]
/// to Nyquist (bands are clipped at Nyquist).
pub struct Expected {
    /// Band powers, dB (same arbitrary reference as `loudness_db`).
    pub bands_db: [f64; BAND_COUNT],
    /// `−0.691 + 10·log10(K-weighted power)`: the loudness in the same reference, "LUFS".
    pub loudness_db: f64,
    /// Total power, dB (same reference).
    pub total_db: f64,
}

impl Expected {
    pub fn of(rate: f64, shape_db: impl Fn(f64) -> f64, gain: impl Fn(f64) -> f64) -> Self {
        let (shelf, rlb) = (shelf_coefs(rate), rlb_coefs(rate));
        let nyquist = 0.5 * rate;
        // Trapezoids in ln f: ∫ p(f) df = ∫ p(f)·f d(ln f).
        let steps = 40_000;
        let (a, b) = (LOWEST_HZ.ln(), nyquist.ln());
        let dl = (b - a) / steps as f64;
        let mut bands = [0.0f64; BAND_COUNT];
        let (mut k_power, mut total) = (0.0f64, 0.0f64);
        for i in 0..steps {
            let f = (a + (i as f64 + 0.5) * dl).exp();
            let p = 10f64.powf(shape_db(f) / 10.0) * gain(f) * dl; // density/f · f · dln f
            total += p;
            k_power += p * power_gain(&shelf, rate, f) * power_gain(&rlb, rate, f);
            for (bi, band) in bands.iter_mut().enumerate() {
                let (lo, hi) = band_edges_hz(bi);
                if f >= lo && f < hi {
                    *band += p;
                }
            }
        }
        Self {
            bands_db: bands.map(|p| 10.0 * p.max(1e-30).log10()),
            loudness_db: -0.691 + 10.0 * k_power.log10(),
            total_db: 10.0 * total.log10(),
        }
    }

    /// Band level relative to the loudness, dB: what `tonal` should read as `level_db`.
    pub fn level_db(&self, band: usize) -> f64 {
        self.bands_db[band] - self.loudness_db
    }
}
