//! Shared spectral front end of the tempo and key detectors: mono downmix, short-time Fourier
//! transforms (realfft, Hann window), a band-wise onset-strength envelope and chroma vectors.
//!
//! Everything is computed in one pass per transform size by [`Features::compute`]; the FFT plans
//! and every buffer are created once, so the per-frame work allocates nothing.
//!
//! * **Onset strength** — log-magnitude spectral flux, half-wave rectified, averaged per bin
//!   inside three bands ([`Band`]): low (30–250 Hz: kick, bass), mid (250–3000 Hz: chords,
//!   snare body, melody) and high (3–16 kHz: hi-hats, cymbals). A ~46 ms window and a 10 ms hop
//!   give an envelope at ~100 frames per second.
//! * **Chroma** — a ~186 ms window (fine enough to separate semitones down to ~80 Hz) with a
//!   ~46 ms hop; the spectral peaks between 50 Hz and 5 kHz (parabolic interpolation of the
//!   log magnitude gives their exact frequency) are mapped to the nearest equal-tempered pitch
//!   class at A4 = 440 Hz, weighted by how close they fall to it. A second "bass" chroma keeps
//!   only the peaks between 40 and 260 Hz (E1–C4), where the bass line plays the chord roots.

use super::sanitize::Sanitizer;
use crate::meter::ChannelLayout;
use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// Sample rates the analysis accepts, in Hz.
pub const SAMPLE_RATE_RANGE: std::ops::RangeInclusive<u32> = 8_000..=384_000;

/// The shortest input the detectors accept, in seconds.
pub const MIN_SECONDS: f64 = 2.0;

/// Onset envelope frames per second (the hop is `round(sample_rate / ONSET_FRAME_RATE)`).
pub const ONSET_FRAME_RATE: f64 = 100.0;

/// Tuning reference for the chroma mapping (A4), in Hz.
pub const TUNING_A4_HZ: f64 = 440.0;

/// Why the spectral features (and so tempo or key) could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalysisError {
    /// The buffer has no channel.
    #[error("the audio has no channel")]
    NoChannels,
    /// The sample rate is outside [`SAMPLE_RATE_RANGE`].
    #[error("sample rate {0} Hz is outside the supported 8–384 kHz")]
    SampleRate(u32),
    /// Fewer than [`MIN_SECONDS`] of audio.
    #[error("{seconds:.2} s of audio is too short: tempo and key need at least {min:.1} s")]
    TooShort {
        /// Length of the input.
        seconds: f64,
        /// The minimum ([`MIN_SECONDS`]).
        min: f64,
    },
}

/// The three onset bands, in the order of [`Features::onset`]'s inner arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Band {
    /// 30–250 Hz.
    Low = 0,
    /// 250–3000 Hz.
    Mid = 1,
    /// 3–16 kHz.
    High = 2,
}

const BAND_EDGES_HZ: [(f64, f64); 3] = [(30.0, 250.0), (250.0, 3000.0), (3000.0, 16000.0)];
const CHROMA_RANGE_HZ: (f64, f64) = (50.0, 5000.0);
const BASS_RANGE_HZ: (f64, f64) = (40.0, 260.0);
/// `ln(1 + LOG_GAIN * amplitude)` compresses the magnitudes before the flux.
const LOG_GAIN: f32 = 1000.0;

/// Averages the channels of a planar buffer into one (an empty vector for no channel).
pub fn mono_downmix(channels: &[Vec<f32>]) -> Vec<f32> {
    let frames = channels.iter().map(Vec::len).min().unwrap_or(0);
    if channels.is_empty() {
        return Vec::new();
    }
    let scale = 1.0 / channels.len() as f32;
    (0..frames).map(|i| channels.iter().map(|c| c[i]).sum::<f32>() * scale).collect()
}

/// The mono signal tempo, key, sections and character are measured on: the average of the
/// channels for mono and stereo ([`mono_downmix`]), the average of the stereo fold-down for
/// surround ([`ChannelLayout::fold_down`]: the LFE is left out). `channels` are `layout`'s.
pub fn mono_fold_down(channels: &[&[f32]], layout: &ChannelLayout) -> Vec<f32> {
    let frames = channels.iter().map(|c| c.len()).min().unwrap_or(0);
    if !layout.is_surround() || channels.len() != layout.channels() {
        let scale = 1.0 / channels.len().max(1) as f32;
        return (0..frames).map(|i| channels.iter().map(|c| c[i]).sum::<f32>() * scale).collect();
    }
    const BLOCK: usize = 4096;
    let (mut lo, mut ro) = ([0.0f32; BLOCK], [0.0f32; BLOCK]);
    let mut out = Vec::with_capacity(frames);
    let mut views: Vec<&[f32]> = Vec::with_capacity(channels.len());
    for start in (0..frames).step_by(BLOCK) {
        let end = (start + BLOCK).min(frames);
        views.clear();
        views.extend(channels.iter().map(|c| &c[start..end]));
        let n = end - start;
        layout.fold_down(&views, &mut lo[..n], &mut ro[..n]);
        out.extend(lo[..n].iter().zip(&ro[..n]).map(|(l, r)| 0.5 * (l + r)));
    }
    out
}

/// A Hann-windowed short-time Fourier transform with its plan and buffers allocated once.
pub struct Stft {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    magnitude: Vec<f32>,
    hop: usize,
    /// Turns a bin magnitude into the amplitude of the sinusoid that produced it.
    scale: f32,
}

impl Stft {
    /// A transform of `size` samples (a power of two is fastest) advancing by `hop` samples.
    pub fn new(size: usize, hop: usize) -> Stft {
        let size = size.max(4);
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(size);
        let window: Vec<f32> =
            (0..size).map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / size as f32).cos()).collect();
        let scale = 2.0 / window.iter().sum::<f32>();
        Stft {
            input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            magnitude: vec![0.0; size / 2 + 1],
            window,
            fft,
            hop: hop.max(1),
            scale,
        }
    }

    /// Transform size in samples.
    pub fn size(&self) -> usize {
        self.window.len()
    }

    /// Number of frames [`Stft::for_each_frame`] produces for `len` samples.
    pub fn frames(&self, len: usize) -> usize {
        len / self.hop + 1
    }

    /// Calls `f(frame_index, amplitudes)` for every frame of `x`; frame `i` is centred on sample
    /// `i * hop` (zero-padded at both ends). `amplitudes[k]` is the amplitude of bin `k`
    /// (a full-scale sinusoid on a bin centre reads 1.0).
    pub fn for_each_frame(&mut self, x: &[f32], f: impl FnMut(usize, &[f32])) {
        let bins = self.size() / 2 + 1;
        self.for_each_frame_in(x, 0..bins, f);
    }

    /// [`Stft::for_each_frame`] computing the amplitudes of the bins in `bins` only (the others
    /// read 0): the detectors look at a band of the spectrum, and the square root per bin is a
    /// good part of the cost.
    pub fn for_each_frame_in(&mut self, x: &[f32], bins: std::ops::Range<usize>, mut f: impl FnMut(usize, &[f32])) {
        let size = self.size();
        let half = size / 2;
        let bins = bins.start.min(half + 1)..bins.end.min(half + 1);
        for frame in 0..self.frames(x.len()) {
            // The window covers samples `centre − half .. centre + half`; the part outside `x`
            // is zero padding.
            let centre = frame * self.hop;
            let pad = half.saturating_sub(centre);
            let from = (centre + pad - half).min(x.len());
            let to = (centre + half).min(x.len()).max(from);
            let (lead, rest) = self.input.split_at_mut(pad.min(size));
            lead.fill(0.0);
            let (body, tail) = rest.split_at_mut(to - from);
            for ((slot, &s), &w) in body.iter_mut().zip(&x[from..to]).zip(&self.window[pad..]) {
                *slot = s * w;
            }
            tail.fill(0.0);
            // Buffer sizes come from the plan itself, so the transform cannot fail.
            let _ = self.fft.process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch);
            for (m, c) in self.magnitude[bins.clone()].iter_mut().zip(&self.spectrum[bins.clone()]) {
                // Not `Complex::norm` (`hypot`, a library call per bin): audio magnitudes are far
                // from the overflow and underflow that `hypot` guards against.
                *m = (c.re * c.re + c.im * c.im).sqrt() * self.scale;
            }
            f(frame, &self.magnitude);
        }
    }
}

/// Onset envelopes and chroma of one mono signal.
#[derive(Clone, Debug, PartialEq)]
pub struct Features {
    /// Frames per second of [`Features::onset`].
    pub onset_rate: f64,
    /// Onset strength per frame and [`Band`]: mean half-wave-rectified log-magnitude flux of
    /// the band's bins.
    pub onset: Vec<[f32; 3]>,
    /// Frames per second of [`Features::chroma`] and [`Features::bass_chroma`].
    pub chroma_rate: f64,
    /// Pitch-class amplitude per chroma frame, `0` = C, 50 Hz–5 kHz.
    pub chroma: Vec<[f32; 12]>,
    /// The same for 40–260 Hz only (the bass register).
    pub bass_chroma: Vec<[f32; 12]>,
}

impl Features {
    /// Computes onset envelopes and chroma of `mono` sampled at `sample_rate`.
    pub fn compute(mono: &[f32], sample_rate: u32) -> Result<Features, AnalysisError> {
        if !SAMPLE_RATE_RANGE.contains(&sample_rate) {
            return Err(AnalysisError::SampleRate(sample_rate));
        }
        let sr = f64::from(sample_rate);
        let seconds = mono.len() as f64 / sr;
        if seconds < MIN_SECONDS {
            return Err(AnalysisError::TooShort { seconds, min: MIN_SECONDS });
        }
        // The decoder conceals non-finite samples; one that got here another way would make
        // every transform it reaches NaN (and lose the key), so it is concealed the same way.
        let concealed;
        let mono = if mono.iter().all(|x| x.is_finite()) {
            mono
        } else {
            let mut copy = [mono.to_vec()];
            Sanitizer::new().conceal(&mut copy, 0, sample_rate);
            let [copy] = copy;
            concealed = copy;
            &concealed[..]
        };
        let (onset_rate, onset) = onset_envelopes(mono, sr);
        let (chroma_rate, chroma, bass_chroma) = chromagram(mono, sr);
        Ok(Features { onset_rate, onset, chroma_rate, chroma, bass_chroma })
    }

    /// [`Features::compute`] on the mono downmix of planar `channels`.
    pub fn from_channels(channels: &[Vec<f32>], sample_rate: u32) -> Result<Features, AnalysisError> {
        if channels.is_empty() {
            return Err(AnalysisError::NoChannels);
        }
        Features::compute(&mono_downmix(channels), sample_rate)
    }
}

/// Smallest power of two ≥ `seconds * sr`.
fn pow2_window(seconds: f64, sr: f64) -> usize {
    ((seconds * sr).round().max(4.0) as usize).next_power_of_two()
}

fn onset_envelopes(mono: &[f32], sr: f64) -> (f64, Vec<[f32; 3]>) {
    let hop = (sr / ONSET_FRAME_RATE).round().max(1.0) as usize;
    let mut stft = Stft::new(pow2_window(0.04, sr), hop);
    let bin_hz = sr / stft.size() as f64;
    let bins = stft.size() / 2 + 1;
    // Each band is a contiguous run of bins: `k` with `lo ≤ k·bin_hz < hi`.
    let first_at = |hz: f64| (0..bins).find(|&k| k as f64 * bin_hz >= hz).unwrap_or(bins);
    let ranges = BAND_EDGES_HZ.map(|(lo, hi)| first_at(lo)..first_at(hi));
    let used = ranges[0].start..ranges[2].end;
    let mut previous = vec![0.0f32; bins];
    let mut out = vec![[0.0f32; 3]; stft.frames(mono.len())];
    stft.for_each_frame_in(mono, used, |frame, amp| {
        for (b, range) in ranges.iter().enumerate() {
            let mut flux = 0.0f32;
            for (&a, prev) in amp[range.clone()].iter().zip(&mut previous[range.clone()]) {
                let l = (1.0 + LOG_GAIN * a).ln();
                flux += (l - *prev).max(0.0);
                *prev = l;
            }
            out[frame][b] = if range.is_empty() { 0.0 } else { flux / range.len() as f32 };
        }
    });
    if let Some(first) = out.first_mut() {
        // The first frame's "flux" is the onset of the whole signal from silence.
        *first = [0.0; 3];
    }
    (sr / hop as f64, out)
}

type Chromagram = (f64, Vec<[f32; 12]>, Vec<[f32; 12]>);

fn chromagram(mono: &[f32], sr: f64) -> Chromagram {
    let size = pow2_window(0.16, sr);
    let hop = size / 4;
    let mut stft = Stft::new(size, hop);
    let bin_hz = sr / size as f64;
    let lo = ((CHROMA_RANGE_HZ.0.min(BASS_RANGE_HZ.0) / bin_hz).floor() as usize).max(1);
    let hi = ((CHROMA_RANGE_HZ.1 / bin_hz).ceil() as usize).min(size / 2 - 1);
    let frames = stft.frames(mono.len());
    let mut chroma = vec![[0.0f32; 12]; frames];
    let mut bass = vec![[0.0f32; 12]; frames];
    // The peak picking reads the bins `lo − 1 ..= hi + 1`.
    stft.for_each_frame_in(mono, lo - 1..hi + 2, |frame, amp| {
        let peak = amp[lo..=hi].iter().fold(0.0f32, |m, &a| m.max(a));
        // Peaks more than 60 dB under the loudest are leakage or reverb noise.
        let floor = (peak * 1e-3).max(1e-7);
        for k in lo..=hi {
            let a = amp[k];
            if a < floor || a <= amp[k - 1] || a < amp[k + 1] {
                continue;
            }
            // Parabolic interpolation of the log magnitude around the local maximum.
            let (l0, l1, l2) = (amp[k - 1].max(1e-12).ln(), a.ln(), amp[k + 1].max(1e-12).ln());
            let denom = l0 - 2.0 * l1 + l2;
            let delta = if denom.abs() > 1e-12 { (0.5 * (l0 - l2) / denom).clamp(-0.5, 0.5) } else { 0.0 };
            let freq = (k as f64 + f64::from(delta)) * bin_hz;
            let midi = 69.0 + 12.0 * (freq / TUNING_A4_HZ).log2();
            let nearest = midi.round();
            // 1 on the semitone, 0 a quarter tone away.
            let closeness = (1.0 - 2.0 * (midi - nearest).abs()) as f32;
            if closeness <= 0.0 {
                continue;
            }
            let weight = a * closeness;
            let pc = (nearest as i64).rem_euclid(12) as usize;
            if freq >= CHROMA_RANGE_HZ.0 && freq <= CHROMA_RANGE_HZ.1 {
                chroma[frame][pc] += weight;
            }
            if freq >= BASS_RANGE_HZ.0 && freq <= BASS_RANGE_HZ.1 {
                bass[frame][pc] += weight;
            }
        }
    });
    (sr / hop as f64, chroma, bass)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, sr: f64, seconds: f64) -> Vec<f32> {
        (0..(sr * seconds) as usize)
            .map(|i| (0.5 * (2.0 * std::f64::consts::PI * freq * i as f64 / sr).sin()) as f32)
            .collect()
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            Features::compute(&[0.0; 100], 44_100).unwrap_err(),
            AnalysisError::TooShort { seconds: 100.0 / 44_100.0, min: MIN_SECONDS }
        );
        assert_eq!(Features::compute(&[0.0; 100], 1_000).unwrap_err(), AnalysisError::SampleRate(1_000));
        assert_eq!(Features::from_channels(&[], 44_100).unwrap_err(), AnalysisError::NoChannels);
    }

    #[test]
    fn stft_reads_sinusoid_amplitude() {
        let sr = 48_000.0;
        let mut stft = Stft::new(1024, 512);
        // Bin 32 exactly.
        let x = sine(32.0 * sr / 1024.0, sr, 0.2);
        let mut amp = 0.0;
        stft.for_each_frame(&x, |i, a| {
            if i == 5 {
                amp = a[32];
            }
        });
        assert!((amp - 0.5).abs() < 0.01, "{amp}");
    }

    #[test]
    fn chroma_of_a_sine_is_its_pitch_class() {
        for (freq, pc) in [(440.0, 9), (82.41, 4), (261.63, 0), (1174.66, 2)] {
            let f = Features::compute(&sine(freq, 44_100.0, 3.0), 44_100).unwrap();
            let total: Vec<f32> = (0..12).map(|p| f.chroma.iter().map(|c| c[p]).sum()).collect();
            let best = (0..12).max_by(|&a, &b| total[a].total_cmp(&total[b])).unwrap();
            assert_eq!(best, pc, "{freq} Hz: {total:?}");
        }
    }

    #[test]
    fn non_finite_samples_do_not_poison_the_features() {
        let clean = sine(440.0, 44_100.0, 3.0);
        let mut bad = clean.clone();
        for (k, i) in (1000..bad.len()).step_by(4999).enumerate() {
            bad[i] = if k % 2 == 0 { f32::NAN } else { f32::INFINITY };
        }
        let (a, b) = (Features::compute(&clean, 44_100).unwrap(), Features::compute(&bad, 44_100).unwrap());
        let values =
            |f: &Features| -> Vec<f32> { f.chroma.iter().flatten().chain(f.onset.iter().flatten()).copied().collect() };
        assert!(values(&b).iter().all(|x| x.is_finite()));
        let total = |f: &Features, p: usize| f.chroma.iter().map(|c| c[p]).sum::<f32>();
        let (ta, tb) = (total(&a, 9), total(&b, 9));
        assert!((ta - tb).abs() < 1e-3 * ta, "A: {ta} vs {tb}");
    }

    #[test]
    fn onset_envelope_marks_clicks() {
        let sr = 44_100u32;
        let mut x = vec![0.0f32; sr as usize * 3];
        for c in [sr as usize / 2, sr as usize * 3 / 2] {
            for (j, s) in x[c..c + 200].iter_mut().enumerate() {
                *s = if j % 2 == 0 { 0.8 } else { -0.8 };
            }
        }
        let f = Features::compute(&x, sr).unwrap();
        let strongest = (0..f.onset.len()).max_by(|&a, &b| f.onset[a][2].total_cmp(&f.onset[b][2])).unwrap();
        let t = strongest as f64 / f.onset_rate;
        assert!((t - 0.5).abs() < 0.03 || (t - 1.5).abs() < 0.03, "{t}");
    }
}
