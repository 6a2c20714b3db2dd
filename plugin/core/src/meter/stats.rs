//! The audio-thread statistics meter: everything the analysis worker needs about the plugin's
//! output, summed into one fixed-size [`StatsFrame`] every [`FRAME_CELLS`] grid cells (100 ms).
//!
//! A frame carries the ten [`Cell`]s of the [`LoudnessGrid`] it covers (so the worker can feed
//! [`crate::analysis::loudness`] without a second ring), and, over the same samples: sample and
//! true peak, clipped samples and runs, DC, RMS, stereo correlation, mid/side mean squares and
//! the 31 one-third-octave band levels from 20 Hz to 20 kHz.
//!
//! # The grid
//!
//! Frame `n` covers the grid cells `10n .. 10n+10`, that is the stream samples
//! `⌊n·fs/10⌋ .. ⌊(n+1)·fs/10⌋` counted from [`StatsMeter::new`] or the last
//! [`StatsMeter::reset`], whatever the host's block sizes.
//!
//! # The bands
//!
//! Centre frequencies are the ISO 266 one-third-octave series, exact base-ten values
//! `f_c = 1000·10^(k/10)` Hz for `k = −17 ..= 13` (nominally 20, 25, 31.5 … 16 k, 20 kHz), and
//! band `k` spans `f_c·10^(−1/20) .. f_c·10^(1/20)` (IEC 61260-1 base-ten edges; 17.8–22.4 Hz for
//! the 20 Hz band, 17.8–22.4 kHz for the 20 kHz band). The upper edge is clipped at Nyquist; a
//! band wholly above Nyquist reads [`BAND_FLOOR_DB`].
//!
//! The spectrum is a Hann-windowed FFT of [`fft_size`] samples (4096 at 44.1 and 48 kHz, about
//! 85 ms) with 50 % overlap, whose power spectra are averaged over the channels (so a side-only
//! signal is not lost as it would be in a mono sum). Both channels go through one complex FFT,
//! left in the real and right in the imaginary part, and are separated by the symmetry of real
//! signals' spectra: half the cost of two real FFTs. Every FFT that completes inside a frame is
//! averaged into it; since the hop is shorter than a frame, there is at least one per frame once
//! the first full window is in (from the second frame on at the latest; a frame without one
//! repeats the previous levels). Each FFT bin `k` stands for the interval `(k ± ½)·fs/N` and
//! gives each band the fraction of its power that the band's interval overlaps. Bands narrower
//! than a bin (below about 100 Hz at 48 kHz, where the bin spacing is 11.7 Hz) therefore share
//! the power of the one or two bins they overlap: they are smoothed across neighbours rather
//! than resolved, and a tone there also leaks into the adjacent low bands through the Hann main
//! lobe.
//!
//! # The low band's stereo
//!
//! The same FFTs give the mid and side power of the low band, [`LOW_STEREO_HZ`]: the bins from
//! 20 Hz to that frequency, the channels' spectra separated as above and summed as
//! `M = (L + R)/2`, `S = (L − R)/2`. Mixes keep the bass near mono, so a low band whose side
//! outweighs its mid points to one channel in opposite polarity (see
//! `analysis::findings::stereo`).
//!
//! Realtime contract as for the rest of [`crate::meter`]: the FFT plan and every buffer are
//! allocated in [`StatsMeter::new`]; [`StatsMeter::process`] allocates nothing, takes no lock,
//! does no I/O.

use super::loudness_grid::{Cell, LoudnessGrid, MeterError, MAX_CHANNELS};
use super::true_peak::BLOCK;
use crate::dsp::decibel::power_to_db;
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

/// Grid cells (10 ms each) per [`StatsFrame`]: a frame is 100 ms.
pub const FRAME_CELLS: usize = 10;
/// Frames per second.
const FRAMES_PER_SECOND: u64 = 10;
/// Most channels the statistics meter takes (mono or stereo).
pub const STATS_MAX_CHANNELS: usize = 2;
/// Number of one-third-octave bands (ISO 266, 20 Hz to 20 kHz).
pub const BAND_COUNT: usize = 31;
/// Level reported for a band that received no power (above Nyquist, or digital silence), dB.
pub const BAND_FLOOR_DB: f32 = -200.0;
/// |x| at or above which a sample counts as clipped: 0 dBFS.
pub const CLIP_LEVEL: f32 = 1.0;
/// The FFT length in seconds that [`fft_size`] rounds up to a power of two (4096 at 48 kHz).
const FFT_SECONDS: f64 = 4096.0 / 48_000.0;
/// Top of the low band whose mid and side power each frame carries, Hz. Kick and bass
/// fundamentals sit below it, and mastering for vinyl and mono playback keeps them centred
/// (an elliptical equaliser sums the channels below about 150 Hz).
pub const LOW_STEREO_HZ: f64 = 150.0;
/// Bottom of that band, Hz: below it is rumble and DC rather than music.
const LOW_STEREO_FROM_HZ: f64 = 20.0;

/// ISO 266 nominal centre frequencies of the [`BAND_COUNT`] bands, Hz (for labels; the
/// computation uses the exact base-ten values, see the module documentation).
pub const BAND_NOMINAL_HZ: [f32; BAND_COUNT] = [
    20.0, 25.0, 31.5, 40.0, 50.0, 63.0, 80.0, 100.0, 125.0, 160.0, 200.0, 250.0, 315.0, 400.0, 500.0, 630.0, 800.0,
    1000.0, 1250.0, 1600.0, 2000.0, 2500.0, 3150.0, 4000.0, 5000.0, 6300.0, 8000.0, 10_000.0, 12_500.0, 16_000.0,
    20_000.0,
];

/// The frame (`seq`) that holds stream sample `sample` at `sample_rate` Hz: the `n` with
/// `⌊n·fs/10⌋ ≤ sample < ⌊(n+1)·fs/10⌋` (see the module documentation).
pub fn frame_of_sample(sample: u64, sample_rate: u32) -> u64 {
    (sample * FRAMES_PER_SECOND + FRAMES_PER_SECOND - 1) / u64::from(sample_rate.max(1))
}

/// Exact centre frequency of band `index` (0 = 20 Hz … 30 = 20 kHz), Hz.
pub fn band_centre_hz(index: usize) -> f64 {
    1000.0 * 10f64.powf((index as f64 - 17.0) / 10.0)
}

/// Lower and upper edge of band `index`, Hz (before clipping at Nyquist).
pub fn band_edges_hz(index: usize) -> (f64, f64) {
    let fc = band_centre_hz(index);
    let half = 10f64.powf(1.0 / 20.0);
    (fc / half, fc * half)
}

/// FFT length used at `sample_rate`: the power of two at or above 85.3 ms (4096 at 44.1 and
/// 48 kHz, 8192 at 96 kHz). The hop is half of it.
pub fn fft_size(sample_rate: f64) -> usize {
    ((sample_rate * FFT_SECONDS).ceil() as usize).next_power_of_two()
}

/// Why a statistics meter could not be built or fed.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
pub enum StatsError {
    /// The channel count is not 1 or 2.
    #[error("the statistics meter takes 1 or 2 channels, not {0}")]
    UnsupportedChannels(usize),
    /// The loudness grid refused the configuration or the block.
    #[error(transparent)]
    Meter(#[from] MeterError),
}

/// 100 ms of statistics of the plugin's output. `Copy` and fixed-size (about 1.9 KB), so it
/// can cross an `rtrb` ring. Per-channel arrays use index 0 (left or mono) and 1 (right; zero
/// for mono). Levels are raw linear values relative to full scale (`_fs`); convert to dB in the
/// consumer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StatsFrame {
    /// Frame number since the meter was built or reset (frame `n` covers grid cells
    /// `10n .. 10n+10`). A gap in `seq` at the consumer means frames were dropped.
    pub seq: u64,
    /// Sample rate of the stream, whole Hz.
    pub sample_rate_hz: u32,
    /// Channels measured (1 or 2).
    pub channels: u8,
    /// First sample of the frame, counted from the start of the stream: `⌊seq·fs/10⌋`.
    pub start_sample: u64,
    /// Samples per channel in the frame (`fs/10`, ±1 at rates not divisible by 10; fewer in
    /// the partial last frame of [`StatsMeter::finish`]).
    pub frames: u32,
    /// Grid cells in [`Self::cells`] (10, fewer only in a partial last frame).
    pub cell_count: u8,
    /// The loudness-grid cells of the frame, in order; push them into
    /// [`crate::analysis::loudness::LoudnessAnalysis::push`].
    pub cells: [Cell; FRAME_CELLS],
    /// Largest |x| per channel, linear full scale.
    pub sample_peak_fs: [f32; STATS_MAX_CHANNELS],
    /// Largest |x| of the 4× oversampled signal per channel (BS.1770-4 Annex 2), linear.
    pub true_peak_fs: [f32; STATS_MAX_CHANNELS],
    /// Samples with |x| ≥ [`CLIP_LEVEL`] (0 dBFS), per channel.
    pub clip_samples: [u32; STATS_MAX_CHANNELS],
    /// Runs of consecutive clipped samples that *start* in this frame, per channel (a run
    /// continuing from the previous frame or block is counted once, where it began).
    pub clip_runs: [u32; STATS_MAX_CHANNELS],
    /// Non-finite samples (NaN, ±∞) in the frame, summed over the channels. Every other
    /// figure measured them as silence.
    pub non_finite_samples: u32,
    /// Mean (DC offset) per channel, linear full scale.
    pub dc_fs: [f32; STATS_MAX_CHANNELS],
    /// RMS per channel, linear full scale (a full-scale sine reads 0.707).
    pub rms_fs: [f32; STATS_MAX_CHANNELS],
    /// Stereo correlation `Σlr / √(Σl²·Σr²)`, −1 ..= 1; `None` for mono or when either channel
    /// is silent.
    pub correlation: Option<f32>,
    /// Mean square of the mid signal `(l+r)/2` (full scale²); for mono, of the signal itself.
    pub mid_mean_square_fs2: f32,
    /// Mean square of the side signal `(l−r)/2` (full scale²); 0 for mono.
    pub side_mean_square_fs2: f32,
    /// Mean square of the mid signal between 20 Hz and [`LOW_STEREO_HZ`], from the frame's
    /// spectrum FFTs (full scale²; the previous frame's if none); 0 for mono.
    pub low_mid_mean_square_fs2: f32,
    /// The same for the side signal.
    pub low_side_mean_square_fs2: f32,
    /// Power per one-third-octave band (ISO 266 order, see [`BAND_NOMINAL_HZ`]), averaged over
    /// the channels, dB relative to full-scale DC: a full-scale sine inside a band reads
    /// −3.01 dB, a −20 dBFS sine −23.01 dB. [`BAND_FLOOR_DB`] when the band got no power.
    pub band_energy_db: [f32; BAND_COUNT],
    /// Spectrum FFTs averaged into [`Self::band_energy_db`] (2 or 3 at 48 kHz).
    pub band_fft_count: u8,
    /// Host transport position of the frame's first sample, in samples: the position the host
    /// reported for the block holding that sample plus the sample's offset in the block.
    /// `None` when the host gave no position.
    pub transport_pos_samples: Option<i64>,
}

/// Running sums of the frame being built.
#[derive(Clone, Copy, Debug, Default)]
struct Sums {
    clip_samples: [u32; STATS_MAX_CHANNELS],
    clip_runs: [u32; STATS_MAX_CHANNELS],
    non_finite: u32,
    sum: [f64; STATS_MAX_CHANNELS],
    sum_lr: f64,
    sum_ll: f64,
    sum_rr: f64,
    mid: f64,
    side: f64,
}

/// The audio-thread statistics accumulator. Build it in `activate` (it allocates the FFT plan
/// and buffers); feed every output block to [`StatsMeter::process`].
pub struct StatsMeter {
    sample_rate: u64,
    channels: usize,
    grid: LoudnessGrid,
    /// Next frame to be completed.
    seq: u64,
    /// Samples in the current frame so far, and when it is full.
    frame_pos: u32,
    frame_len: u32,
    cells: [Cell; FRAME_CELLS],
    cell_count: usize,
    sums: Sums,
    /// Was the last sample of each channel clipped (a run continues across blocks)?
    in_clip: [bool; STATS_MAX_CHANNELS],
    transport_at_start: Option<i64>,
    // Spectrum.
    fft: Arc<dyn Fft<f32>>,
    window: Vec<f32>,
    /// Last `N` frames, circular, written at `history_pos`: the left (or mono) channel in the
    /// real parts, the right channel (or 0) in the imaginary parts.
    history: Vec<Complex<f32>>,
    history_pos: usize,
    /// Samples seen since the last FFT, and in total (capped at `N`, to wait for a full window).
    since_fft: usize,
    filled: usize,
    /// The windowed history, transformed in place.
    fft_buf: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    /// `|Z_k|² + |Z_{N−k}|²` of the last FFT, bins `0 ..= N/2` (see [`Self::run_fft`]).
    bin_power: Vec<f32>,
    /// Σ of the band powers of the FFTs done in this frame, mean square (full scale²).
    band_power: [f64; BAND_COUNT],
    fft_count: u32,
    /// Scale turning |X_k|² into mean-square power (one-sided).
    power_scale: f64,
    /// Per band: the first and last bin it overlaps (`last < first` for an empty band).
    band_spans: [BandSpan; BAND_COUNT],
    last_bands: [f32; BAND_COUNT],
    /// Bins of the low band (`first .. last`, empty for mono).
    low_bins: std::ops::Range<usize>,
    /// Σ of the low band's mid and side power over the FFTs of this frame, and the last frame's
    /// means.
    low_power: [f64; 2],
    last_low: [f32; 2],
}

/// The FFT bins of one band and how much of each counts: bin `k` stands for the interval
/// `k ± ½` (in bins), and gets the fraction of it the band overlaps, which is 1 for every bin but
/// the first and the last.
#[derive(Clone, Copy, Debug)]
struct BandSpan {
    /// First and last bin (`last < first` for a band above Nyquist).
    first: usize,
    last: usize,
    /// Weights of the first and the last bin (one weight when they are the same bin).
    w_first: f64,
    w_last: f64,
}

impl BandSpan {
    /// The span of the band `lo .. hi` (in bins) over bins `0 ..= max_bin`.
    fn new(lo: f64, hi: f64, max_bin: usize) -> Self {
        if lo >= hi {
            return Self { first: 1, last: 0, w_first: 0.0, w_last: 0.0 };
        }
        let first = (lo + 0.5).floor() as usize;
        let last = ((hi + 0.5).ceil() as usize).saturating_sub(1).min(max_bin);
        let overlap = |k: usize| (hi.min(k as f64 + 0.5) - lo.max(k as f64 - 0.5)).max(0.0);
        Self { first, last, w_first: overlap(first), w_last: overlap(last) }
    }

    /// The band's share of `bins` (indexed by bin).
    fn power(&self, bins: &[f32]) -> f64 {
        let (first, last) = (self.first, self.last.min(bins.len().saturating_sub(1)));
        if last < first {
            return 0.0;
        }
        if last == first {
            return self.w_first * bins[first] as f64;
        }
        // Four running sums: one chain of dependent `f64` additions over the ~2000 bins of the
        // upper bands cost more than the rest of the band analysis.
        let (groups, rest) = bins[first + 1..last].as_chunks::<4>();
        let mut lanes = [0.0f64; 4];
        for g in groups {
            for (s, &p) in lanes.iter_mut().zip(g) {
                *s += p as f64;
            }
        }
        let inner = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + rest.iter().map(|&p| p as f64).sum::<f64>();
        self.w_first * bins[first] as f64 + inner + self.w_last * bins[last] as f64
    }
}

/// A zeroed cell, for the unused slots of a frame.
fn empty_cell(channels: usize) -> Cell {
    Cell {
        index: 0,
        frames: 0,
        channels: channels as u8,
        k_energy: [0.0; MAX_CHANNELS],
        energy: [0.0; MAX_CHANNELS],
        sample_peak: [0.0; MAX_CHANNELS],
        true_peak: [0.0; MAX_CHANNELS],
    }
}

/// The sample, or silence if it is not finite.
#[inline(always)]
fn finite(x: f32) -> f32 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

/// Is a sample clipped (finite and at or above [`CLIP_LEVEL`] in magnitude)?
#[inline(always)]
pub(crate) fn is_clipped(x: f32) -> bool {
    let a = x.abs();
    (CLIP_LEVEL..f32::INFINITY).contains(&a)
}

/// The sums of one block of at most [`BLOCK`] frames, non-finite samples counted as silence.
/// `f32` loses nothing that matters over so few terms, and counts stay exact.
#[derive(Clone, Copy, Debug, Default)]
struct BlockSums {
    /// Σx per channel.
    sum: [f32; STATS_MAX_CHANNELS],
    /// Clipped samples per channel.
    clips: [f32; STATS_MAX_CHANNELS],
    /// Non-finite samples, all channels.
    bad: f32,
    /// Σlr, Σl², Σr² (stereo only).
    lr: f32,
    ll: f32,
    rr: f32,
    /// Σ((l+r)/2)² and Σ((l−r)/2)² (for mono: Σx² and 0).
    mid: f32,
    side: f32,
}

/// Running sums of [`BlockSums`] kept in [`LANES`] independent lanes, so the loops below
/// compile to vector code (one chain of dependent additions per sum would not; with four lanes
/// they took twice as long).
const LANES: usize = 8;

/// The sum of the lanes.
fn lane_sum(v: [f32; LANES]) -> f32 {
    v.iter().sum()
}

/// 1 for a non-finite sample, else 0.
#[inline(always)]
fn bad_count(x: f32) -> f32 {
    if x.is_finite() {
        0.0
    } else {
        1.0
    }
}

/// 1 for a clipped sample, else 0.
#[inline(always)]
fn clip_count(x: f32) -> f32 {
    if is_clipped(x) {
        1.0
    } else {
        0.0
    }
}

/// [`BlockSums`] of a stereo block.
fn stereo_block(l: &[f32], r: &[f32]) -> BlockSums {
    let n = l.len().min(r.len());
    let ((l, l_rest), (r, r_rest)) = (l[..n].as_chunks::<LANES>(), r[..n].as_chunks::<LANES>());
    let z = [0.0f32; LANES];
    let (mut sum_l, mut sum_r, mut clip_l, mut clip_r, mut bad) = (z, z, z, z, z);
    let (mut lr, mut ll, mut rr, mut mid, mut side) = (z, z, z, z, z);
    for (a, b) in l.iter().zip(r) {
        for k in 0..LANES {
            bad[k] += bad_count(a[k]) + bad_count(b[k]);
            let (a, b) = (finite(a[k]), finite(b[k]));
            sum_l[k] += a;
            sum_r[k] += b;
            clip_l[k] += clip_count(a);
            clip_r[k] += clip_count(b);
            lr[k] += a * b;
            ll[k] += a * a;
            rr[k] += b * b;
            let (m, s) = (0.5 * (a + b), 0.5 * (a - b));
            mid[k] += m * m;
            side[k] += s * s;
        }
    }
    let mut out = BlockSums {
        sum: [lane_sum(sum_l), lane_sum(sum_r)],
        clips: [lane_sum(clip_l), lane_sum(clip_r)],
        bad: lane_sum(bad),
        lr: lane_sum(lr),
        ll: lane_sum(ll),
        rr: lane_sum(rr),
        mid: lane_sum(mid),
        side: lane_sum(side),
    };
    for (&a, &b) in l_rest.iter().zip(r_rest) {
        out.bad += bad_count(a) + bad_count(b);
        let (a, b) = (finite(a), finite(b));
        out.sum[0] += a;
        out.sum[1] += b;
        out.clips[0] += clip_count(a);
        out.clips[1] += clip_count(b);
        out.lr += a * b;
        out.ll += a * a;
        out.rr += b * b;
        let (m, s) = (0.5 * (a + b), 0.5 * (a - b));
        out.mid += m * m;
        out.side += s * s;
    }
    out
}

/// [`BlockSums`] of a mono block.
fn mono_block(x: &[f32]) -> BlockSums {
    let (x, rest) = x.as_chunks::<LANES>();
    let z = [0.0f32; LANES];
    let (mut sum, mut clips, mut squares, mut bad) = (z, z, z, z);
    for v in x {
        for k in 0..LANES {
            bad[k] += bad_count(v[k]);
            let v = finite(v[k]);
            sum[k] += v;
            clips[k] += clip_count(v);
            squares[k] += v * v;
        }
    }
    let mut out = BlockSums {
        sum: [lane_sum(sum), 0.0],
        clips: [lane_sum(clips), 0.0],
        bad: lane_sum(bad),
        mid: lane_sum(squares),
        ..BlockSums::default()
    };
    for &v in rest {
        out.bad += bad_count(v);
        let v = finite(v);
        out.sum[0] += v;
        out.clips[0] += clip_count(v);
        out.mid += v * v;
    }
    out
}

impl std::fmt::Debug for StatsMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatsMeter")
            .field("sample_rate", &self.sample_rate)
            .field("channels", &self.channels)
            .field("fft_size", &self.window.len())
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

impl StatsMeter {
    /// A meter for `channels` (1 or 2) channels at `sample_rate` Hz (8 kHz to 768 kHz, rounded
    /// to a whole number of Hz). Allocates: call it outside the audio thread's `process`.
    pub fn new(sample_rate: f64, channels: usize) -> Result<Self, StatsError> {
        if channels == 0 || channels > STATS_MAX_CHANNELS {
            return Err(StatsError::UnsupportedChannels(channels));
        }
        let grid = LoudnessGrid::new(sample_rate, channels)?;
        let n = fft_size(sample_rate);
        let fft = FftPlanner::<f32>::new().plan_fft_forward(n);
        let window: Vec<f32> =
            (0..n).map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos()) as f32).collect();
        let window_power: f64 = window.iter().map(|&w| (w as f64) * (w as f64)).sum();
        let bin_hz = grid.sample_rate() / n as f64;
        let nyquist = grid.sample_rate() / 2.0;
        let band_spans = std::array::from_fn(|b| {
            let (lo, hi) = band_edges_hz(b);
            BandSpan::new(lo / bin_hz, hi.min(nyquist) / bin_hz, n / 2)
        });
        let low_bins = if channels == 2 {
            (LOW_STEREO_FROM_HZ / bin_hz).ceil() as usize..((LOW_STEREO_HZ / bin_hz).floor() as usize + 1).min(n / 2)
        } else {
            0..0
        };
        let mut meter = Self {
            low_bins,
            low_power: [0.0; 2],
            last_low: [0.0; 2],
            sample_rate: grid.sample_rate() as u64,
            channels,
            grid,
            seq: 0,
            frame_pos: 0,
            frame_len: 0,
            cells: [empty_cell(channels); FRAME_CELLS],
            cell_count: 0,
            sums: Sums::default(),
            in_clip: [false; STATS_MAX_CHANNELS],
            transport_at_start: None,
            history: vec![Complex::default(); n],
            history_pos: 0,
            since_fft: 0,
            filled: 0,
            fft_buf: vec![Complex::default(); n],
            scratch: vec![Complex::default(); fft.get_inplace_scratch_len()],
            bin_power: vec![0.0; n / 2 + 1],
            band_power: [0.0; BAND_COUNT],
            fft_count: 0,
            // Parseval with the window: Σ_k |X_k|² = N·Σ w²x², so |X_k|²/(N·Σw²) sums (both
            // sides) to the windowed mean square; one-sided bins count twice.
            power_scale: 2.0 / (n as f64 * window_power),
            band_spans,
            last_bands: [BAND_FLOOR_DB; BAND_COUNT],
            fft,
            window,
        };
        meter.frame_len = meter.frame_length(0);
        Ok(meter)
    }

    /// The same meter on the portable kernels (SSE2 on x86-64) even where the CPU has AVX2 and
    /// FMA, for tests and benchmarks: the results differ only by rounding.
    pub fn portable(mut self) -> Self {
        self.grid = self.grid.portable();
        self
    }

    /// Channels this meter was built for.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Sample rate in whole Hz.
    pub fn sample_rate(&self) -> f64 {
        self.sample_rate as f64
    }

    /// FFT length of the band analysis.
    pub fn fft_size(&self) -> usize {
        self.window.len()
    }

    /// Samples in frame `seq`: `⌊(n+1)·fs/10⌋ − ⌊n·fs/10⌋`, the same samples as its ten grid
    /// cells.
    fn frame_length(&self, seq: u64) -> u32 {
        (self.frame_start(seq + 1) - self.frame_start(seq)) as u32
    }

    fn frame_start(&self, seq: u64) -> u64 {
        seq * self.sample_rate / FRAMES_PER_SECOND
    }

    /// Restarts the stream: clears the filters, the spectrum history and the grid (the next
    /// frame is `seq` 0 at sample 0). Realtime-safe.
    pub fn reset(&mut self) {
        self.grid.reset();
        self.seq = 0;
        self.frame_pos = 0;
        self.frame_len = self.frame_length(0);
        self.cell_count = 0;
        self.sums = Sums::default();
        self.in_clip = [false; STATS_MAX_CHANNELS];
        self.transport_at_start = None;
        self.history.fill(Complex::default());
        self.history_pos = 0;
        self.since_fft = 0;
        self.filled = 0;
        self.band_power = [0.0; BAND_COUNT];
        self.fft_count = 0;
        self.last_bands = [BAND_FLOOR_DB; BAND_COUNT];
        self.low_power = [0.0; 2];
        self.last_low = [0.0; 2];
    }

    /// Measures one block (`block[ch][frame]`, any length, all channels the same length) and
    /// calls `emit` for every frame it completes, in order. `transport_pos_samples` is the
    /// host's transport position of the block's first sample, if it gave one. Realtime-safe: no
    /// allocation, lock or I/O. Non-finite samples are measured as silence, and counted
    /// ([`StatsFrame::non_finite_samples`]).
    pub fn process(
        &mut self,
        block: &[&[f32]],
        transport_pos_samples: Option<i64>,
        mut emit: impl FnMut(&StatsFrame),
    ) -> Result<(), StatsError> {
        if block.len() != self.channels {
            return Err(MeterError::ChannelCountMismatch { expected: self.channels, got: block.len() }.into());
        }
        let len = block[0].len();
        if block.iter().any(|ch| ch.len() != len) {
            return Err(MeterError::RaggedBlock.into());
        }
        let mut pos = 0;
        while pos < len {
            if self.frame_pos == 0 {
                self.transport_at_start = transport_pos_samples.map(|p| p + pos as i64);
            }
            let take = (len - pos).min((self.frame_len - self.frame_pos) as usize);
            let mut views: [&[f32]; STATS_MAX_CHANNELS] = [&[]; STATS_MAX_CHANNELS];
            for (v, ch) in views.iter_mut().zip(block) {
                *v = &ch[pos..pos + take];
            }
            let views = &views[..self.channels];
            let (cells, count) = (&mut self.cells, &mut self.cell_count);
            self.grid.process(views, |c| {
                if *count < FRAME_CELLS {
                    cells[*count] = *c;
                    *count += 1;
                }
            })?;
            self.accumulate(views);
            self.spectrum(views);
            self.frame_pos += take as u32;
            pos += take;
            if self.frame_pos == self.frame_len {
                let frame = self.build_frame();
                emit(&frame);
                self.next_frame();
            }
        }
        Ok(())
    }

    /// Ends the stream: flushes the loudness grid (true-peak tail and the partial last cell)
    /// and emits the partial last frame, if it holds any samples. Call [`Self::reset`] before
    /// measuring a new stream.
    pub fn finish(&mut self, mut emit: impl FnMut(&StatsFrame)) {
        let (cells, count) = (&mut self.cells, &mut self.cell_count);
        self.grid.finish(|c| {
            if *count < FRAME_CELLS {
                cells[*count] = *c;
                *count += 1;
            }
        });
        if self.frame_pos > 0 {
            let frame = self.build_frame();
            emit(&frame);
            self.next_frame();
        }
    }

    /// Clip, DC, correlation and mid/side sums of a run of samples inside one frame, summed in
    /// `f32` per block of at most [`BLOCK`] frames and in `f64` across blocks.
    fn accumulate(&mut self, views: &[&[f32]]) {
        let len = views[0].len();
        let mut start = 0;
        while start < len {
            let end = (start + BLOCK).min(len);
            let b = match views {
                [l, r] => stereo_block(&l[start..end], &r[start..end]),
                _ => mono_block(&views[0][start..end]),
            };
            let s = &mut self.sums;
            for (ch, samples) in views.iter().enumerate() {
                s.sum[ch] += b.sum[ch] as f64;
                let clips = b.clips[ch] as u32;
                s.clip_samples[ch] += clips;
                if clips > 0 {
                    // Rare: walk the block for the runs.
                    let mut in_clip = self.in_clip[ch];
                    for &x in &samples[start..end] {
                        let clipped = is_clipped(x);
                        s.clip_runs[ch] += (clipped && !in_clip) as u32;
                        in_clip = clipped;
                    }
                    self.in_clip[ch] = in_clip;
                } else {
                    self.in_clip[ch] = false;
                }
            }
            s.non_finite += b.bad as u32;
            s.sum_lr += b.lr as f64;
            s.sum_ll += b.ll as f64;
            s.sum_rr += b.rr as f64;
            s.mid += b.mid as f64;
            s.side += b.side as f64;
            start = end;
        }
    }

    /// Feeds the spectrum history and runs an FFT every hop once a full window is in.
    fn spectrum(&mut self, views: &[&[f32]]) {
        let n = self.window.len();
        let hop = n / 2;
        let len = views[0].len();
        let mut pos = 0;
        while pos < len {
            let take = (len - pos).min(hop - self.since_fft).min(n - self.history_pos);
            let history = &mut self.history[self.history_pos..self.history_pos + take];
            if let [l, r] = views {
                for (h, (&l, &r)) in history.iter_mut().zip(l[pos..pos + take].iter().zip(&r[pos..pos + take])) {
                    *h = Complex::new(finite(l), finite(r));
                }
            } else {
                for (h, &x) in history.iter_mut().zip(&views[0][pos..pos + take]) {
                    *h = Complex::new(finite(x), 0.0);
                }
            }
            self.history_pos += take;
            if self.history_pos == n {
                self.history_pos = 0;
            }
            self.since_fft += take;
            self.filled = (self.filled + take).min(n);
            pos += take;
            if self.since_fft == hop {
                self.since_fft = 0;
                if self.filled == n {
                    self.run_fft();
                }
            }
        }
    }

    /// One windowed FFT of the last `N` frames, its band powers added to `self.band_power`.
    ///
    /// Both channels go through one complex FFT, `z = l + i·r`: since `l` and `r` are real,
    /// `L_k = (Z_k + Z*_{N−k})/2` and `R_k = (Z_k − Z*_{N−k})/2i`, so the channels' mean power
    /// `(|L_k|² + |R_k|²)/2` is `(|Z_k|² + |Z_{N−k}|²)/4`; for mono (`r = 0`) the sum is
    /// `2·|L_k|²`. Either way the mean power is the sum over `2 × channels`.
    // Not inlined: it runs once per hop, and inlined it made every call of `spectrum` pay for
    // its setup.
    #[inline(never)]
    fn run_fft(&mut self) {
        let n = self.window.len();
        // Oldest sample first: the history is circular with its oldest at `history_pos`.
        let (newer, older) = self.history.split_at(self.history_pos);
        let (w_older, w_newer) = self.window.split_at(older.len());
        let (b_older, b_newer) = self.fft_buf.split_at_mut(older.len());
        for ((dst, &x), &w) in b_older.iter_mut().zip(older).zip(w_older) {
            *dst = x * w;
        }
        for ((dst, &x), &w) in b_newer.iter_mut().zip(newer).zip(w_newer) {
            *dst = x * w;
        }
        // INVARIANT: `fft_buf` holds one transform and `scratch` its in-place scratch (both
        // sized in `new`), so this cannot panic.
        self.fft.process_with_scratch(&mut self.fft_buf, &mut self.scratch);
        let (z, half) = (&self.fft_buf, n / 2);
        // Bins 1 .. N/2 with their mirrors N − 1 … N/2 + 1; DC and Nyquist are their own
        // mirrors and appear once in the two-sided spectrum (half weight on the doubled sum).
        let mirrors = z[half + 1..].iter().rev();
        for (p, (a, b)) in self.bin_power[1..half].iter_mut().zip(z[1..half].iter().zip(mirrors)) {
            *p = a.norm_sqr() + b.norm_sqr();
        }
        for k in [0, half] {
            self.bin_power[k] = z[k].norm_sqr();
        }
        let scale = self.power_scale / (2 * self.channels) as f64;
        for (sum, span) in self.band_power.iter_mut().zip(&self.band_spans) {
            *sum += scale * span.power(&self.bin_power);
        }
        // The low band's mid and side: with `W = Z*_{N−k}`, `L = (Z + W)/2` and
        // `R = (Z − W)/2i`, so `M = (L + R)/2` and `S = (L − R)/2` per bin.
        let (mut mid, mut side) = (0.0f64, 0.0f64);
        for k in self.low_bins.clone() {
            let (zk, w) = (z[k], z[n - k].conj());
            let l = (zk + w) * 0.5;
            let r = (zk - w) * Complex::new(0.0, -0.5);
            mid += ((l + r) * 0.5).norm_sqr() as f64;
            side += ((l - r) * 0.5).norm_sqr() as f64;
        }
        self.low_power[0] += self.power_scale * mid;
        self.low_power[1] += self.power_scale * side;
        self.fft_count += 1;
    }

    /// The low band's mid and side mean squares of the FFTs in this frame (the previous
    /// frame's if none).
    fn low_band(&mut self) -> [f32; 2] {
        if self.fft_count > 0 {
            let count = self.fft_count as f64;
            self.last_low = self.low_power.map(|p| (p / count) as f32);
        }
        self.last_low
    }

    /// Band levels of the FFTs averaged in this frame (the previous frame's if none).
    fn bands(&mut self) -> [f32; BAND_COUNT] {
        if self.fft_count == 0 {
            return self.last_bands;
        }
        let mut out = [BAND_FLOOR_DB; BAND_COUNT];
        let count = self.fft_count as f64;
        for (o, &sum) in out.iter_mut().zip(&self.band_power) {
            let e = sum / count;
            if e > 0.0 {
                *o = (power_to_db(e) as f32).max(BAND_FLOOR_DB);
            }
        }
        self.last_bands = out;
        out
    }

    #[inline(never)]
    fn build_frame(&mut self) -> StatsFrame {
        let frames = self.frame_pos;
        let nf = frames.max(1) as f64;
        let s = self.sums;
        let mut sample_peak = [0.0f32; STATS_MAX_CHANNELS];
        let mut true_peak = [0.0f32; STATS_MAX_CHANNELS];
        let mut dc = [0.0f32; STATS_MAX_CHANNELS];
        let mut rms = [0.0f32; STATS_MAX_CHANNELS];
        for ch in 0..self.channels {
            let cells = &self.cells[..self.cell_count];
            sample_peak[ch] = cells.iter().fold(0.0f32, |m, c| m.max(c.sample_peak[ch]));
            true_peak[ch] = cells.iter().fold(0.0f32, |m, c| m.max(c.true_peak[ch]));
            let energy: f64 = cells.iter().map(|c| c.energy[ch]).sum();
            rms[ch] = (energy / nf).sqrt() as f32;
            dc[ch] = (s.sum[ch] / nf) as f32;
        }
        let correlation = (self.channels == 2 && s.sum_ll > 0.0 && s.sum_rr > 0.0)
            .then(|| (s.sum_lr / (s.sum_ll * s.sum_rr).sqrt()).clamp(-1.0, 1.0) as f32);
        let band_fft_count = self.fft_count.min(u8::MAX as u32) as u8;
        let [low_mid, low_side] = self.low_band();
        StatsFrame {
            seq: self.seq,
            sample_rate_hz: self.sample_rate as u32,
            channels: self.channels as u8,
            start_sample: self.frame_start(self.seq),
            frames,
            cell_count: self.cell_count as u8,
            cells: self.cells,
            sample_peak_fs: sample_peak,
            true_peak_fs: true_peak,
            clip_samples: s.clip_samples,
            clip_runs: s.clip_runs,
            non_finite_samples: s.non_finite,
            dc_fs: dc,
            rms_fs: rms,
            correlation,
            mid_mean_square_fs2: (s.mid / nf) as f32,
            side_mean_square_fs2: (s.side / nf) as f32,
            low_mid_mean_square_fs2: low_mid,
            low_side_mean_square_fs2: low_side,
            band_energy_db: self.bands(),
            band_fft_count,
            transport_pos_samples: self.transport_at_start,
        }
    }

    fn next_frame(&mut self) {
        self.seq += 1;
        self.frame_pos = 0;
        self.frame_len = self.frame_length(self.seq);
        self.cell_count = 0;
        self.sums = Sums::default();
        self.band_power = [0.0; BAND_COUNT];
        self.low_power = [0.0; 2];
        self.fft_count = 0;
    }
}
