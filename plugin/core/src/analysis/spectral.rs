//! Shared spectral front end of the tempo and key detectors: mono downmix, short-time Fourier
//! transforms (realfft, Hann window), a band-wise onset-strength envelope and chroma vectors.
//!
//! Everything is computed in one pass per transform size by a [`FeatureBuilder`], fed the signal
//! in pieces so that a long file never has to be held in memory ([`Features::compute`] gives it
//! the whole signal at once); the FFT plans and every buffer are created once, so the per-frame
//! work allocates nothing.
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
    let views: Vec<&[f32]> = channels.iter().map(Vec::as_slice).collect();
    let mut mono = Vec::new();
    downmix_into(&views, &mut mono);
    mono
}

/// Appends the average of the channels of a planar block to `mono` (nothing for no channel),
/// over the shortest channel's length.
pub fn downmix_into(channels: &[&[f32]], mono: &mut Vec<f32>) {
    let frames = channels.iter().map(|c| c.len()).min().unwrap_or(0);
    if channels.is_empty() {
        return;
    }
    let scale = 1.0 / channels.len() as f32;
    mono.extend((0..frames).map(|i| channels.iter().map(|c| c[i]).sum::<f32>() * scale));
}

/// The mono signal tempo, key, sections and character are measured on: the average of the
/// channels for mono and stereo ([`downmix_into`]), the average of the stereo fold-down for
/// surround ([`ChannelLayout::fold_down`]: the LFE is left out). `channels` are `layout`'s.
pub fn mono_fold_down(channels: &[&[f32]], layout: &ChannelLayout) -> Vec<f32> {
    let mut mono = Vec::new();
    fold_down_into(channels, layout, &mut mono);
    mono
}

/// Appends [`mono_fold_down`] of a planar block to `mono`.
pub fn fold_down_into(channels: &[&[f32]], layout: &ChannelLayout, mono: &mut Vec<f32>) {
    if !layout.is_surround() || channels.len() != layout.channels() {
        return downmix_into(channels, mono);
    }
    const BLOCK: usize = 4096;
    let frames = channels.iter().map(|c| c.len()).min().unwrap_or(0);
    let (mut lo, mut ro) = ([0.0f32; BLOCK], [0.0f32; BLOCK]);
    let mut views: Vec<&[f32]> = Vec::with_capacity(channels.len());
    mono.reserve(frames);
    for start in (0..frames).step_by(BLOCK) {
        let end = (start + BLOCK).min(frames);
        views.clear();
        views.extend(channels.iter().map(|c| &c[start..end]));
        let n = end - start;
        layout.fold_down(&views, &mut lo[..n], &mut ro[..n]);
        mono.extend(lo[..n].iter().zip(&ro[..n]).map(|(l, r)| 0.5 * (l + r)));
    }
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
        for frame in 0..self.frames(x.len()) {
            let (pad, span) = self.window_span(frame, x.len());
            f(frame, self.transform(pad, &x[span], bins.clone()));
        }
    }

    /// Where frame `frame` of a signal of `len` samples reads: the window covers samples
    /// `centre − half .. centre + half`; its first `pad` samples lie before the signal (zero
    /// padding), then come the samples of the returned range (the part past `len` is zero
    /// padding too).
    fn window_span(&self, frame: usize, len: usize) -> (usize, std::ops::Range<usize>) {
        let half = self.size() / 2;
        let centre = frame * self.hop;
        let pad = half.saturating_sub(centre);
        let from = (centre + pad - half).min(len);
        let to = (centre + half).min(len).max(from);
        (pad, from..to)
    }

    /// The amplitudes of the bins in `bins` of one frame: `pad` zeros, then `body` (at most a
    /// window's length), then zeros, windowed.
    fn transform(&mut self, pad: usize, body: &[f32], bins: std::ops::Range<usize>) -> &[f32] {
        let size = self.size();
        let half = size / 2;
        let bins = bins.start.min(half + 1)..bins.end.min(half + 1);
        let (lead, rest) = self.input.split_at_mut(pad.min(size));
        lead.fill(0.0);
        let (samples, tail) = rest.split_at_mut(body.len());
        for ((slot, &s), &w) in samples.iter_mut().zip(body).zip(&self.window[pad..]) {
            *slot = s * w;
        }
        tail.fill(0.0);
        // Buffer sizes come from the plan itself, so the transform cannot fail.
        let _ = self.fft.process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch);
        for (m, c) in self.magnitude[bins.clone()].iter_mut().zip(&self.spectrum[bins]) {
            // Not `Complex::norm` (`hypot`, a library call per bin): audio magnitudes are far
            // from the overflow and underflow that `hypot` guards against.
            *m = (c.re * c.re + c.im * c.im).sqrt() * self.scale;
        }
        &self.magnitude
    }
}

/// An [`Stft`] fed a signal in pieces: it keeps the samples its next frames need and nothing
/// older, and computes each frame as soon as its window is complete, exactly as
/// [`Stft::for_each_frame_in`] does on the whole signal.
struct StftStream {
    stft: Stft,
    bins: std::ops::Range<usize>,
    /// Samples from stream position `base` on.
    buf: Vec<f32>,
    base: usize,
    /// The next frame to compute.
    next: usize,
}

impl StftStream {
    fn new(stft: Stft, bins: std::ops::Range<usize>) -> StftStream {
        let keep = stft.size() * 2;
        StftStream { stft, bins, buf: Vec::with_capacity(keep), base: 0, next: 0 }
    }

    /// Samples received so far.
    fn len(&self) -> usize {
        self.base + self.buf.len()
    }

    /// Appends `x` and calls `f(frame, amplitudes)` for every frame whose window it completes.
    fn push(&mut self, x: &[f32], mut f: impl FnMut(usize, &[f32])) {
        self.buf.extend_from_slice(x);
        let half = self.stft.size() / 2;
        while self.next * self.stft.hop + half <= self.len() {
            self.emit(&mut f);
        }
        // Drop the samples before the next window, once they are half of the buffer (so each
        // sample is moved at most about once).
        let start = (self.next * self.stft.hop).saturating_sub(half).min(self.len());
        let dead = start - self.base;
        if dead > 0 && dead >= self.buf.len() / 2 {
            self.buf.drain(..dead);
            self.base = start;
        }
    }

    /// Ends the signal: computes the frames left, whose windows run past its end (zero padding).
    fn finish(&mut self, mut f: impl FnMut(usize, &[f32])) {
        while self.next < self.stft.frames(self.len()) {
            self.emit(&mut f);
        }
    }

    fn emit(&mut self, f: &mut impl FnMut(usize, &[f32])) {
        let (pad, span) = self.stft.window_span(self.next, self.len());
        let body = &self.buf[span.start - self.base..span.end - self.base];
        f(self.next, self.stft.transform(pad, body, self.bins.clone()));
        self.next += 1;
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
    /// Long-term average spectrum of the signal: the mean power of each bin of the chroma
    /// transform over all its frames, full scale² (a full-scale sinusoid on a bin centre reads
    /// 1.0), bin `k` at `k · ltas_bin_hz` Hz. The finest spectrum the analysis keeps (about 5 Hz
    /// bins, 2 049 to 16 385 numbers whatever the length): what resonances and bumps are measured
    /// on ([`super::findings::resonance`]).
    pub ltas: Vec<f32>,
    /// Width of one bin of [`Features::ltas`], Hz.
    pub ltas_bin_hz: f64,
}

impl Features {
    /// Computes onset envelopes and chroma of `mono` sampled at `sample_rate`: a
    /// [`FeatureBuilder`] given the whole signal.
    pub fn compute(mono: &[f32], sample_rate: u32) -> Result<Features, AnalysisError> {
        let mut builder = FeatureBuilder::new(sample_rate)?;
        if mono.iter().all(|x| x.is_finite()) {
            builder.push(mono);
        } else {
            // The decoder conceals non-finite samples; one that got here another way would make
            // every transform it reaches NaN (and lose the key), so it is concealed the same way.
            let mut copy = [mono.to_vec()];
            Sanitizer::new().conceal(&mut copy, 0, sample_rate);
            builder.push(&copy[0]);
        }
        builder.finish()
    }

    /// [`Features::compute`] on the mono downmix of planar `channels`.
    pub fn from_channels(channels: &[Vec<f32>], sample_rate: u32) -> Result<Features, AnalysisError> {
        if channels.is_empty() {
            return Err(AnalysisError::NoChannels);
        }
        Features::compute(&mono_downmix(channels), sample_rate)
    }
}

/// [`Features`] computed from a mono signal given in pieces of any length, so the signal never
/// has to be kept: it holds the last window of each transform (under 0.4 s of audio) and the
/// features so far (about 3.5 KB per second of audio at 48 kHz, 12 MB per hour). The result
/// is the one [`Features::compute`] gives on the whole signal, to the bit.
pub struct FeatureBuilder {
    sample_rate: u32,
    onset: StftStream,
    onset_bands: [std::ops::Range<usize>; 3],
    /// Log magnitudes of the previous onset frame.
    previous: Vec<f32>,
    onset_rate: f64,
    onsets: Vec<[f32; 3]>,
    chroma: StftStream,
    chroma_bins: (usize, usize),
    chroma_bin_hz: f64,
    chroma_rate: f64,
    chromas: Vec<[f32; 12]>,
    bass: Vec<[f32; 12]>,
    /// Sum of the chroma frames' bin powers (f64: an hour is 80 000 frames).
    ltas: Vec<f64>,
}

impl FeatureBuilder {
    /// A builder for a signal at `sample_rate` (within [`SAMPLE_RATE_RANGE`]).
    pub fn new(sample_rate: u32) -> Result<FeatureBuilder, AnalysisError> {
        if !SAMPLE_RATE_RANGE.contains(&sample_rate) {
            return Err(AnalysisError::SampleRate(sample_rate));
        }
        let sr = f64::from(sample_rate);

        let hop = (sr / ONSET_FRAME_RATE).round().max(1.0) as usize;
        let stft = Stft::new(pow2_window(0.04, sr), hop);
        let bin_hz = sr / stft.size() as f64;
        let bins = stft.size() / 2 + 1;
        // Each band is a contiguous run of bins: `k` with `lo ≤ k·bin_hz < hi`.
        let first_at = |hz: f64| (0..bins).find(|&k| k as f64 * bin_hz >= hz).unwrap_or(bins);
        let onset_bands = BAND_EDGES_HZ.map(|(lo, hi)| first_at(lo)..first_at(hi));
        let used = onset_bands[0].start..onset_bands[2].end;
        let onset = StftStream::new(stft, used);

        let size = pow2_window(0.16, sr);
        let chroma_hop = size / 4;
        let chroma_bin_hz = sr / size as f64;
        let lo = ((CHROMA_RANGE_HZ.0.min(BASS_RANGE_HZ.0) / chroma_bin_hz).floor() as usize).max(1);
        let hi = ((CHROMA_RANGE_HZ.1 / chroma_bin_hz).ceil() as usize).min(size / 2 - 1);
        // The peak picking reads the bins `lo − 1 ..= hi + 1`; the long-term spectrum every bin.
        let chroma = StftStream::new(Stft::new(size, chroma_hop), 0..size / 2 + 1);

        Ok(FeatureBuilder {
            sample_rate,
            onset,
            onset_bands,
            previous: vec![0.0; bins],
            onset_rate: sr / hop as f64,
            onsets: Vec::new(),
            chroma,
            chroma_bins: (lo, hi),
            chroma_bin_hz,
            chroma_rate: sr / chroma_hop as f64,
            chromas: Vec::new(),
            bass: Vec::new(),
            ltas: vec![0.0; size / 2 + 1],
        })
    }

    /// Samples received so far.
    pub fn len(&self) -> usize {
        self.onset.len()
    }

    /// Whether no sample was received yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the next samples of the signal.
    pub fn push(&mut self, mono: &[f32]) {
        let (bands, previous, onsets) = (&self.onset_bands, &mut self.previous, &mut self.onsets);
        self.onset.push(mono, |_, amp| onsets.push(onset_frame(amp, bands, previous)));
        let (bins, bin_hz, chromas, bass) = (self.chroma_bins, self.chroma_bin_hz, &mut self.chromas, &mut self.bass);
        let ltas = &mut self.ltas;
        self.chroma.push(mono, |_, amp| {
            let (c, b) = chroma_frame(amp, bins, bin_hz);
            chromas.push(c);
            bass.push(b);
            accumulate_power(ltas, amp);
        });
    }

    /// Ends the signal: the features of all of it, or [`AnalysisError::TooShort`] under
    /// [`MIN_SECONDS`].
    pub fn finish(mut self) -> Result<Features, AnalysisError> {
        let seconds = self.len() as f64 / f64::from(self.sample_rate);
        if seconds < MIN_SECONDS {
            return Err(AnalysisError::TooShort { seconds, min: MIN_SECONDS });
        }
        let (bands, previous, onsets) = (&self.onset_bands, &mut self.previous, &mut self.onsets);
        self.onset.finish(|_, amp| onsets.push(onset_frame(amp, bands, previous)));
        if let Some(first) = onsets.first_mut() {
            // The first frame's "flux" is the onset of the whole signal from silence.
            *first = [0.0; 3];
        }
        let (bins, bin_hz, chromas, bass) = (self.chroma_bins, self.chroma_bin_hz, &mut self.chromas, &mut self.bass);
        let ltas = &mut self.ltas;
        self.chroma.finish(|_, amp| {
            let (c, b) = chroma_frame(amp, bins, bin_hz);
            chromas.push(c);
            bass.push(b);
            accumulate_power(ltas, amp);
        });
        let frames = self.chromas.len().max(1) as f64;
        Ok(Features {
            onset_rate: self.onset_rate,
            onset: self.onsets,
            chroma_rate: self.chroma_rate,
            chroma: self.chromas,
            bass_chroma: self.bass,
            ltas: self.ltas.iter().map(|&p| (p / frames) as f32).collect(),
            ltas_bin_hz: self.chroma_bin_hz,
        })
    }
}

/// Adds the power of each bin of one frame (`amp²`) to `sum`.
fn accumulate_power(sum: &mut [f64], amp: &[f32]) {
    for (s, &a) in sum.iter_mut().zip(amp) {
        *s += f64::from(a) * f64::from(a);
    }
}

/// Smallest power of two ≥ `seconds * sr`.
fn pow2_window(seconds: f64, sr: f64) -> usize {
    ((seconds * sr).round().max(4.0) as usize).next_power_of_two()
}

/// The onset strength of one frame per band: the mean half-wave-rectified rise of the log
/// magnitudes since the `previous` frame, which becomes this one.
fn onset_frame(amp: &[f32], bands: &[std::ops::Range<usize>; 3], previous: &mut [f32]) -> [f32; 3] {
    let mut out = [0.0f32; 3];
    for (b, range) in bands.iter().enumerate() {
        let mut flux = 0.0f32;
        for (&a, prev) in amp[range.clone()].iter().zip(&mut previous[range.clone()]) {
            let l = (1.0 + LOG_GAIN * a).ln();
            flux += (l - *prev).max(0.0);
            *prev = l;
        }
        out[b] = if range.is_empty() { 0.0 } else { flux / range.len() as f32 };
    }
    out
}

/// The chroma and bass chroma of one frame: its spectral peaks between bins `lo` and `hi`
/// mapped to pitch classes.
fn chroma_frame(amp: &[f32], (lo, hi): (usize, usize), bin_hz: f64) -> ([f32; 12], [f32; 12]) {
    let mut chroma = [0.0f32; 12];
    let mut bass = [0.0f32; 12];
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
            chroma[pc] += weight;
        }
        if freq >= BASS_RANGE_HZ.0 && freq <= BASS_RANGE_HZ.1 {
            bass[pc] += weight;
        }
    }
    (chroma, bass)
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
