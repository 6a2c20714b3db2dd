//! The evaluation's own measures, independent of the product's analysis code: what a defect
//! did to a clean excerpt, and what the product's render did to the defect, are read with
//! these and nothing of `audiocollab_core::analysis`.
//!
//! - **Band levels**: a Welch power spectrum (Hann window of 16384 samples, half overlap, the
//!   two channels' powers added) summed into the third-octave bands of IEC 61260 / ISO 266
//!   (exact centres 1000·10^(n/10) Hz, edges at 10^(±1/20) of the centre), 31.6 Hz to 15.8 kHz.
//!   Levels are relative (dB of summed bin power): only differences between files are used.
//! - **Loudness**: ITU-R BS.1770-4 integrated loudness, written here: the K-weighting's two
//!   stages (a high shelf of about +4 dB above 1.7 kHz and a 38 Hz high-pass) designed for any
//!   sample rate from the analogue prototypes whose bilinear transform gives the
//!   recommendation's 48 kHz coefficients (the parameters libebur128 publishes), 400 ms blocks
//!   every 100 ms, the −70 LUFS absolute and −10 LU relative gates.
//! - **True peak**: 4× oversampling by a windowed-sinc interpolator (16 input samples per
//!   output, Blackman window), as BS.1770-4 Annex 2 describes; the largest absolute value over
//!   the channels, dBTP.
//! - **DC**: each channel's mean. **Stereo**: the side-to-mid power ratio (M = (L+R)/2,
//!   S = (L−R)/2), dB, held within ±40 dB; and the L/R correlation coefficient.

use std::f64::consts::PI;

use realfft::RealFftPlanner;
use serde::Serialize;

use super::biquad::Biquad;

/// Welch window, samples.
const FFT_LEN: usize = 16_384;
/// Third-octave band indices n (centre 1000·10^(n/10) Hz): 31.6 Hz … 15.8 kHz.
const BAND_N: std::ops::RangeInclusive<i32> = -15..=12;
/// Floor of the side-to-mid ratio, dB (a mono file).
pub const SIDE_FLOOR_DB: f64 = -40.0;

/// What [`measure`] reads from one stereo file.
#[derive(Clone, Debug, Serialize)]
pub struct Measures {
    /// Band levels, dB (relative), one per [`band_centres`] entry below Nyquist.
    pub bands_db: Vec<f64>,
    /// Integrated loudness, LUFS (`None`: everything below the gates).
    pub lufs: Option<f64>,
    /// True peak, dBTP.
    pub true_peak_dbtp: f64,
    /// Mean of each channel, fraction of full scale.
    pub dc: [f64; 2],
    /// Side-to-mid power ratio, dB, within ±[`SIDE_FLOOR_DB`].
    pub side_to_mid_db: f64,
    /// L/R correlation coefficient, −1 … 1.
    pub correlation: f64,
}

/// The exact centres of the third-octave bands measured at `rate`, Hz.
pub fn band_centres(rate: u32) -> Vec<f64> {
    BAND_N
        .map(|n| 1000.0 * 10f64.powf(f64::from(n) / 10.0))
        .filter(|&c| c * 10f64.powf(0.05) < f64::from(rate) / 2.0)
        .collect()
}

/// Measures a stereo pair.
pub fn measure(channels: &[Vec<f32>; 2], rate: u32) -> Measures {
    let (l, r) = (&channels[0], &channels[1]);
    let n = l.len().min(r.len()).max(1) as f64;
    let dc = [l.iter().map(|&x| f64::from(x)).sum::<f64>() / n, r.iter().map(|&x| f64::from(x)).sum::<f64>() / n];
    let (mut mid, mut side, mut lr, mut ll, mut rr) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (&a, &b) in l.iter().zip(r) {
        let (a, b) = (f64::from(a), f64::from(b));
        mid += (0.5 * (a + b)).powi(2);
        side += (0.5 * (a - b)).powi(2);
        lr += a * b;
        ll += a * a;
        rr += b * b;
    }
    let side_to_mid_db = match (mid > 0.0, side > 0.0) {
        (_, false) => SIDE_FLOOR_DB,
        (false, true) => -SIDE_FLOOR_DB,
        (true, true) => (10.0 * (side / mid).log10()).clamp(SIDE_FLOOR_DB, -SIDE_FLOOR_DB),
    };
    let correlation = if ll > 0.0 && rr > 0.0 { lr / (ll * rr).sqrt() } else { 0.0 };
    Measures {
        bands_db: band_levels(channels, rate),
        lufs: integrated_lufs(channels, rate),
        true_peak_dbtp: true_peak_dbtp(channels),
        dc,
        side_to_mid_db,
        correlation,
    }
}

/// Third-octave band levels (see the module's notes), dB.
pub fn band_levels(channels: &[Vec<f32>; 2], rate: u32) -> Vec<f64> {
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(FFT_LEN);
    let window: Vec<f64> = (0..FFT_LEN).map(|i| 0.5 - 0.5 * (2.0 * PI * i as f64 / FFT_LEN as f64).cos()).collect();
    let mut power = vec![0.0f64; FFT_LEN / 2 + 1];
    let (mut input, mut spectrum) = (fft.make_input_vec(), fft.make_output_vec());
    let frames = channels[0].len().min(channels[1].len());
    let hop = FFT_LEN / 2;
    let mut start = 0;
    while start + FFT_LEN <= frames.max(FFT_LEN) {
        for ch in channels {
            for (i, slot) in input.iter_mut().enumerate() {
                *slot = ch.get(start + i).map_or(0.0, |&x| f64::from(x)) * window[i];
            }
            fft.process(&mut input, &mut spectrum).expect("FFT sizes match");
            for (p, c) in power.iter_mut().zip(&spectrum) {
                *p += c.norm_sqr();
            }
        }
        start += hop;
    }
    let bin_hz = f64::from(rate) / FFT_LEN as f64;
    band_centres(rate)
        .iter()
        .map(|&c| {
            let (lo, hi) = (c * 10f64.powf(-0.05), c * 10f64.powf(0.05));
            let sum: f64 = power
                .iter()
                .enumerate()
                .filter(|(k, _)| (lo..hi).contains(&(*k as f64 * bin_hz)))
                .map(|(_, p)| p)
                .sum();
            10.0 * sum.max(1e-30).log10()
        })
        .collect()
}

/// The two K-weighting stages of BS.1770-4 at `rate` (see the module's notes).
pub fn k_weighting(rate: u32) -> [Biquad; 2] {
    let fs = f64::from(rate);
    // Stage 1: the head's acoustic effect, a high shelf.
    let (f0, gain_db, q) = (1_681.974_450_955_533, 3.999_843_853_973_347, 0.707_175_236_955_419_6);
    let k = (PI * f0 / fs).tan();
    let vh = 10f64.powf(gain_db / 20.0);
    let vb = vh.powf(0.499_666_774_154_541_6);
    let shelf = Biquad::new(
        [vh + vb * k / q + k * k, 2.0 * (k * k - vh), vh - vb * k / q + k * k],
        1.0 + k / q + k * k,
        2.0 * (k * k - 1.0),
        1.0 - k / q + k * k,
    );
    // Stage 2: the RLB high-pass.
    let (f0, q) = (38.135_470_876_024_44, 0.500_327_037_323_877_3);
    let k = (PI * f0 / fs).tan();
    let a0 = 1.0 + k / q + k * k;
    let highpass = Biquad::new([a0, -2.0 * a0, a0], a0, 2.0 * (k * k - 1.0), 1.0 - k / q + k * k);
    [shelf, highpass]
}

/// Gated integrated loudness (BS.1770-4), LUFS; `None` when every block is gated out.
pub fn integrated_lufs(channels: &[Vec<f32>; 2], rate: u32) -> Option<f64> {
    let stages = k_weighting(rate);
    let hop = (rate as usize) / 10;
    let block = 4 * hop;
    let frames = channels[0].len().min(channels[1].len());
    if frames < block {
        return None;
    }
    // Squared K-weighted samples summed over the channels (weights 1 for L and R), then summed
    // per 100 ms hop; a block is four hops.
    let mut hops = vec![0.0f64; frames / hop];
    for ch in channels {
        let mut x: Vec<f64> = ch[..frames].iter().map(|&s| f64::from(s)).collect();
        for stage in &stages {
            stage.run_f64(&mut x);
        }
        for (h, sum) in hops.iter_mut().enumerate() {
            *sum += x[h * hop..(h + 1) * hop].iter().map(|v| v * v).sum::<f64>();
        }
    }
    let blocks: Vec<f64> = hops.windows(4).map(|w| w.iter().sum::<f64>() / block as f64).collect();
    let loudness = |power: f64| -0.691 + 10.0 * power.log10();
    let above: Vec<f64> = blocks.iter().copied().filter(|&p| p > 0.0 && loudness(p) > -70.0).collect();
    if above.is_empty() {
        return None;
    }
    let relative = loudness(above.iter().sum::<f64>() / above.len() as f64) - 10.0;
    let gated: Vec<f64> = above.into_iter().filter(|&p| loudness(p) > relative).collect();
    (!gated.is_empty()).then(|| loudness(gated.iter().sum::<f64>() / gated.len() as f64))
}

/// Input samples on each side of an interpolated point.
const TP_HALF: usize = 8;
/// Oversampling factor.
const TP_FACTOR: usize = 4;

/// True peak by 4× oversampling (see the module's notes), dBTP; −200 for silence.
pub fn true_peak_dbtp(channels: &[Vec<f32>; 2]) -> f64 {
    // taps[p - 1][j]: weight of x[n + 1 - TP_HALF + j] for the point n + p/4.
    let taps: Vec<[f64; 2 * TP_HALF]> = (1..TP_FACTOR)
        .map(|p| {
            let frac = p as f64 / TP_FACTOR as f64;
            std::array::from_fn(|j| {
                let t = frac - (j as f64 + 1.0 - TP_HALF as f64);
                let sinc = if t == 0.0 { 1.0 } else { (PI * t).sin() / (PI * t) };
                let w = t / (TP_HALF as f64 + 0.5);
                sinc * (0.42 + 0.5 * (PI * w).cos() + 0.08 * (2.0 * PI * w).cos())
            })
        })
        .collect();
    // No interpolated point can exceed the largest sample of its window times this, so a block
    // whose samples are all below peak / gain cannot raise the peak and is skipped (the
    // evaluation runs in debug builds too).
    let gain = taps.iter().map(|t| t.iter().map(|c| c.abs()).sum::<f64>()).fold(1.0, f64::max);
    let mut peak = channels.iter().flatten().fold(0.0f64, |m, &s| m.max(f64::from(s).abs()));
    const BLOCK: usize = 64;
    for ch in channels {
        let x: Vec<f64> = ch.iter().map(|&s| f64::from(s)).collect();
        if x.len() < 2 * TP_HALF {
            continue;
        }
        let last = x.len() - TP_HALF; // points n in TP_HALF - 1 .. last
        let mut start = TP_HALF - 1;
        while start < last {
            let end = (start + BLOCK).min(last);
            let around = &x[start + 1 - TP_HALF..end + TP_HALF];
            let loudest = around.iter().fold(0.0f64, |m, &s| m.max(s.abs()));
            if loudest * gain > peak {
                for n in start..end {
                    let window = &x[n + 1 - TP_HALF..n + 1 + TP_HALF];
                    for t in &taps {
                        let mut y = 0.0;
                        for (a, b) in window.iter().zip(t) {
                            y += a * b;
                        }
                        peak = peak.max(y.abs());
                    }
                }
            }
            start = end;
        }
    }
    if peak > 0.0 {
        20.0 * peak.log10()
    } else {
        -200.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, freq: f64, amp: f64, phase: f64, seconds: f64) -> Vec<f32> {
        (0..(f64::from(rate) * seconds) as usize)
            .map(|n| (amp * (2.0 * PI * freq * n as f64 / f64::from(rate) + phase).sin()) as f32)
            .collect()
    }

    #[test]
    fn k_weighting_at_48_khz_is_the_recommendations_filter() {
        // BS.1770-4, Tables 1 and 2.
        let [shelf, highpass] = k_weighting(48_000);
        let want_shelf = [
            1.535_124_859_586_97,
            -2.691_696_189_406_38,
            1.198_392_810_852_85,
            -1.690_659_293_182_41,
            0.732_480_774_215_85,
        ];
        let want_hp = [1.0, -2.0, 1.0, -1.990_047_454_833_85, 0.990_072_250_366_21];
        for (got, want) in
            shelf.coefficients().iter().zip(want_shelf).chain(highpass.coefficients().iter().zip(want_hp))
        {
            assert!((got - want).abs() < 1e-8, "{got} vs {want}");
        }
    }

    #[test]
    fn a_1_khz_sine_at_minus_20_dbfs_per_channel_reads_minus_20_lufs_in_stereo() {
        // BS.1770: a 0 dBFS 997 Hz sine in one channel reads −3.01 LUFS; in both, 0 LUFS;
        // at −20 dBFS peak in both channels, −20 LUFS (EBU Tech 3341 test 1 is −23 on this scale).
        for rate in [44_100, 48_000] {
            let amp = 10f64.powf(-20.0 / 20.0);
            let s = sine(rate, 997.0, amp, 0.0, 10.0);
            let lufs = integrated_lufs(&[s.clone(), s], rate).unwrap();
            assert!((lufs + 20.0).abs() < 0.05, "{rate}: {lufs}");
        }
    }

    #[test]
    fn the_true_peak_of_a_sine_between_samples_is_found() {
        // fs/4 with a 45° phase: every sample is at 0.707 of the peak (−3 dB), the peak is between.
        let s = sine(48_000, 12_000.0, 0.5, PI / 4.0, 0.5);
        let sample_peak = s.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
        assert!((20.0 * f64::from(sample_peak).log10() - (-9.03)).abs() < 0.05);
        let tp = true_peak_dbtp(&[s.clone(), s]);
        assert!((tp - (-6.02)).abs() < 0.15, "{tp}");
    }

    #[test]
    fn a_short_burst_in_a_quiet_passage_is_not_skipped() {
        let quiet = sine(48_000, 440.0, 0.01, 0.0, 1.0);
        let burst = sine(48_000, 12_000.0, 0.5, PI / 4.0, 0.004);
        let mut x = quiet.clone();
        x[20_000..20_000 + burst.len()].copy_from_slice(&burst);
        let tp = true_peak_dbtp(&[quiet, x]);
        assert!((tp - (-6.02)).abs() < 0.3, "{tp}");
    }

    #[test]
    fn band_levels_see_a_tone_in_its_band_only() {
        let rate = 48_000;
        let s = sine(rate, 1000.0, 0.5, 0.0, 3.0);
        let bands = band_levels(&[s.clone(), s], rate);
        let centres = band_centres(rate);
        let loudest = bands.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        assert!((centres[loudest] - 1000.0).abs() < 1.0);
        // The Hann window's leakage two bands away is far down.
        assert!(bands[loudest] - bands[loudest + 2] > 60.0);
    }

    #[test]
    fn stereo_measures_read_width_and_polarity() {
        let rate = 48_000;
        let l = sine(rate, 440.0, 0.5, 0.0, 1.0);
        let inverted: Vec<f32> = l.iter().map(|x| -x).collect();
        let m = measure(&[l.clone(), inverted], rate);
        assert!((m.correlation + 1.0).abs() < 1e-9);
        assert_eq!(m.side_to_mid_db, -SIDE_FLOOR_DB);
        let mono = measure(&[l.clone(), l], rate);
        assert_eq!(mono.side_to_mid_db, SIDE_FLOOR_DB);
        assert!((mono.correlation - 1.0).abs() < 1e-9);
    }
}
