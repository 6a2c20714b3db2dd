//! The audio-thread half of the loudness meter: K-weighted energy, sample peak and true peak
//! summed over a fixed grid of [`CELL_SECONDS`] (10 ms) cells counted from the start of the
//! stream, whatever the host's block sizes.
//!
//! 10 ms divides every window of EBU Tech 3341/3342 (400 ms momentary and gating blocks, 100 ms
//! gating step, 3 s short-term) and the 20 ms / 150 ms offsets of the Tech 3341 maximum cases,
//! so the analysis can slide its windows on this grid and find exact maxima. At rates where
//! 10 ms is not a whole number of samples (22.05 kHz), cell `k` covers the samples
//! `⌊k·fs/100⌋ .. ⌊(k+1)·fs/100⌋`, so the grid never drifts; every cell carries its frame count.

use super::kweight::KWeighting;
use super::true_peak::{Interpolator, TruePeak, BLOCK, TAPS_PER_PHASE};

/// Most channels a meter takes (5.1: L, R, C, LFE, Ls, Rs).
pub const MAX_CHANNELS: usize = 6;
/// Length of a grid cell in seconds.
pub const CELL_SECONDS: f64 = 0.01;
/// Cells per second.
const CELLS_PER_SECOND: u64 = 100;

/// Why a meter could not be built or fed.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
pub enum MeterError {
    /// The channel count is 0 or above [`MAX_CHANNELS`].
    #[error("the loudness meter takes 1 to {MAX_CHANNELS} channels, not {0}")]
    UnsupportedChannels(usize),
    /// The sample rate is not a finite rate between 8 kHz and 768 kHz.
    #[error("the loudness meter needs a sample rate between 8 kHz and 768 kHz, not {0} Hz")]
    UnsupportedSampleRate(f64),
    /// A block had a different number of channels than the meter was built for.
    #[error("the meter was built for {expected} channels but was given {got}")]
    ChannelCountMismatch {
        /// Channels the meter was built for.
        expected: usize,
        /// Channels in the block.
        got: usize,
    },
    /// The channels of a block had different lengths.
    #[error("the channels of a block have different lengths")]
    RaggedBlock,
}

/// One completed grid cell: raw sums, not yet loudness. `Copy` and fixed-size, so it can cross
/// an `rtrb` ring from the audio thread.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cell {
    /// Position on the grid, counted from the start of the stream (cell `k` starts at
    /// `k · CELL_SECONDS`).
    pub index: u64,
    /// Frames summed in this cell (a full cell has `fs · CELL_SECONDS`; the last cell of a
    /// stream may be shorter).
    pub frames: u32,
    /// Channels in use (the rest of the arrays is zero).
    pub channels: u8,
    /// Σ y² of the K-weighted signal, per channel (BS.1770-4 eq. 1 before the division).
    pub k_energy: [f64; MAX_CHANNELS],
    /// Σ x² of the unweighted signal, per channel (for RMS).
    pub energy: [f64; MAX_CHANNELS],
    /// Largest `|x|` per channel.
    pub sample_peak: [f32; MAX_CHANNELS],
    /// Largest `|x|` of the oversampled signal per channel (BS.1770-4 Annex 2), never below
    /// [`Self::sample_peak`]; interpolated points land in the cell up to 8 samples late (see
    /// [`super::true_peak`]).
    pub true_peak: [f32; MAX_CHANNELS],
}

impl Cell {
    fn empty(index: u64, channels: usize) -> Self {
        Self {
            index,
            frames: 0,
            channels: channels as u8,
            k_energy: [0.0; MAX_CHANNELS],
            energy: [0.0; MAX_CHANNELS],
            sample_peak: [0.0; MAX_CHANNELS],
            true_peak: [0.0; MAX_CHANNELS],
        }
    }
}

/// The audio-thread accumulator. Build it in `initialize`/`activate` (or per file); feed it every
/// block with [`LoudnessGrid::process`], which calls `emit` for each cell the block completes.
#[derive(Clone, Debug)]
pub struct LoudnessGrid {
    sample_rate: u64,
    channels: usize,
    /// K-weighting, two channels per filter pair.
    kweight: [KWeighting; MAX_CHANNELS / 2],
    interpolator: Interpolator,
    true_peak: [TruePeak; MAX_CHANNELS],
    current: Cell,
    /// Frames in the current cell when it is full.
    cell_len: u32,
}

impl LoudnessGrid {
    /// A meter for `channels` channels at `sample_rate` Hz (rounded to a whole number of Hz).
    pub fn new(sample_rate: f64, channels: usize) -> Result<Self, MeterError> {
        if channels == 0 || channels > MAX_CHANNELS {
            return Err(MeterError::UnsupportedChannels(channels));
        }
        if !(8_000.0..=768_000.0).contains(&sample_rate) {
            return Err(MeterError::UnsupportedSampleRate(sample_rate));
        }
        let mut grid = Self {
            sample_rate: sample_rate.round() as u64,
            channels,
            kweight: [KWeighting::new(sample_rate); MAX_CHANNELS / 2],
            interpolator: Interpolator::new(sample_rate),
            true_peak: [TruePeak::default(); MAX_CHANNELS],
            current: Cell::empty(0, channels),
            cell_len: 0,
        };
        grid.cell_len = grid.cell_length(0);
        Ok(grid)
    }

    /// The same meter on the portable kernels (SSE2 on x86-64) even where the CPU has AVX2 and
    /// FMA, for tests and benchmarks: the results differ only by rounding.
    pub fn portable(mut self) -> Self {
        self.interpolator = self.interpolator.portable();
        self.kweight = self.kweight.map(KWeighting::portable);
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

    /// Frames in cell `index`: `⌊(k+1)·fs/100⌋ − ⌊k·fs/100⌋`.
    fn cell_length(&self, index: u64) -> u32 {
        let start = index * self.sample_rate / CELLS_PER_SECOND;
        let end = (index + 1) * self.sample_rate / CELLS_PER_SECOND;
        (end - start) as u32
    }

    /// Restarts the stream: clears the filters and the grid (the next cell is index 0).
    pub fn reset(&mut self) {
        self.kweight.iter_mut().for_each(KWeighting::reset);
        self.true_peak.iter_mut().for_each(TruePeak::reset);
        self.current = Cell::empty(0, self.channels);
        self.cell_len = self.cell_length(0);
    }

    /// Measures one block (`block[ch][frame]`, any length, all channels the same length) and
    /// calls `emit` for every cell it completes, in order. Realtime-safe: no allocation, lock
    /// or I/O. Non-finite samples are measured as silence so one bad sample cannot poison the
    /// integrated loudness.
    pub fn process(&mut self, block: &[&[f32]], mut emit: impl FnMut(&Cell)) -> Result<(), MeterError> {
        if block.len() != self.channels {
            return Err(MeterError::ChannelCountMismatch { expected: self.channels, got: block.len() });
        }
        let len = block[0].len();
        if block.iter().any(|ch| ch.len() != len) {
            return Err(MeterError::RaggedBlock);
        }
        let mut pos = 0;
        while pos < len {
            let take = (len - pos).min((self.cell_len - self.current.frames) as usize).min(BLOCK);
            // Straight into the true-peak interpolators' input, which the K-weighting reads too.
            for (tp, samples) in self.true_peak.iter_mut().zip(block) {
                for (c, &x) in tp.input(take).iter_mut().zip(&samples[pos..pos + take]) {
                    *c = if x.is_finite() { x } else { 0.0 };
                }
            }
            self.measure();
            self.current.frames += take as u32;
            pos += take;
            if self.current.frames == self.cell_len {
                emit(&self.current);
                let next = self.current.index + 1;
                self.current = Cell::empty(next, self.channels);
                self.cell_len = self.cell_length(next);
            }
        }
        for k in self.kweight.iter_mut().take(self.channels.div_ceil(2)) {
            if !k.tidy() {
                // Cannot happen with finite input (the filters are stable); recover anyway.
                k.reset();
            }
        }
        Ok(())
    }

    /// Accumulates the run of samples pending in the true-peak interpolators (at most [`BLOCK`]
    /// per channel) into the current cell: the K-weighting runs on channel pairs, the peaks on
    /// each channel. The K-weighting goes first: by the time the true-peak kernel reads the
    /// samples back, their writes have landed (see [`TruePeak::input`]).
    fn measure(&mut self) {
        let c = &mut self.current;
        let tp = &self.true_peak;
        for (pair, kw) in self.kweight.iter_mut().enumerate().take(self.channels.div_ceil(2)) {
            let a = 2 * pair;
            if a + 1 < self.channels {
                let (k, e) = kw.energies([tp[a].pending(), tp[a + 1].pending()]);
                c.k_energy[a..a + 2].iter_mut().zip(k).for_each(|(s, k)| *s += k);
                c.energy[a..a + 2].iter_mut().zip(e).for_each(|(s, e)| *s += e);
            } else {
                let ([k], [e]) = kw.energies([tp[a].pending()]);
                c.k_energy[a] += k;
                c.energy[a] += e;
            }
        }
        for (ch, tp) in self.true_peak.iter_mut().enumerate().take(self.channels) {
            let peaks = tp.measure(&self.interpolator, c.true_peak[ch]);
            c.sample_peak[ch] = c.sample_peak[ch].max(peaks.sample);
            c.true_peak[ch] = peaks.true_peak;
        }
    }

    /// Ends the stream: runs the true-peak interpolators out (so a peak in the last samples is
    /// seen) and emits the partial last cell, if any frames are in it. Call [`Self::reset`]
    /// before measuring a new stream.
    pub fn finish(&mut self, mut emit: impl FnMut(&Cell)) {
        for (ch, tp) in self.true_peak.iter_mut().enumerate().take(self.channels) {
            let peak = &mut self.current.true_peak[ch];
            *peak = tp.peak(&self.interpolator, &[0.0; TAPS_PER_PHASE], *peak).true_peak;
        }
        if self.current.frames > 0 {
            emit(&self.current);
            let next = self.current.index + 1;
            self.current = Cell::empty(next, self.channels);
            self.cell_len = self.cell_length(next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_is_independent_of_block_size() {
        let sr = 22_050.0;
        let sig: Vec<f32> = (0..30_000).map(|i| ((i as f32) * 0.05).sin() * 0.3).collect();
        let run = |sizes: &[usize]| {
            let mut g = LoudnessGrid::new(sr, 1).expect("valid");
            let mut cells = Vec::new();
            let mut pos = 0;
            let mut k = 0;
            while pos < sig.len() {
                let n = sizes[k % sizes.len()].min(sig.len() - pos);
                g.process(&[&sig[pos..pos + n]], |c| cells.push(*c)).expect("mono");
                pos += n;
                k += 1;
            }
            g.finish(|c| cells.push(*c));
            cells
        };
        let a = run(&[30_000]);
        let b = run(&[1, 7, 300, 4096, 13]);
        assert_eq!(a.len(), b.len());
        // 22.05 kHz: cells alternate 220 and 221 frames; 30 000 frames = 136 cells + 12 frames.
        assert_eq!(a.len(), 137);
        assert_eq!(a.iter().map(|c| c.frames as usize).sum::<usize>(), 30_000);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.index, y.index);
            assert_eq!(x.frames, y.frames);
            assert_eq!(x.sample_peak, y.sample_peak);
            assert_eq!(x.true_peak, y.true_peak);
            assert!((x.k_energy[0] - y.k_energy[0]).abs() <= 1e-12 * x.k_energy[0].max(1e-30));
        }
    }

    #[test]
    fn rejects_bad_configurations() {
        assert_eq!(LoudnessGrid::new(48_000.0, 0).err(), Some(MeterError::UnsupportedChannels(0)));
        assert_eq!(LoudnessGrid::new(48_000.0, 7).err(), Some(MeterError::UnsupportedChannels(7)));
        assert!(matches!(LoudnessGrid::new(f64::NAN, 2), Err(MeterError::UnsupportedSampleRate(_))));
        let mut g = LoudnessGrid::new(48_000.0, 2).expect("valid");
        let a = [0.0f32; 4];
        let b = [0.0f32; 3];
        assert_eq!(g.process(&[&a], |_| ()), Err(MeterError::ChannelCountMismatch { expected: 2, got: 1 }));
        assert_eq!(g.process(&[&a, &b], |_| ()), Err(MeterError::RaggedBlock));
    }

    #[test]
    fn kernels_agree() {
        // The kernels this machine runs (AVX2 + FMA where available) and the portable ones
        // round differently and nothing more.
        let mut state = 0x2545_f491_u32;
        let sig: Vec<f32> = (0..48_000)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let level = [0.9, 0.05, 0.0, 1.2][(i / 5000) % 4];
                level * (state as f32 / u32::MAX as f32 - 0.5) + 0.3 * ((i as f32) * 0.01).sin()
            })
            .collect();
        let cells = |grid: LoudnessGrid| {
            let mut g = grid;
            let mut out = Vec::new();
            for block in sig.chunks(333) {
                g.process(&[block, block], |c| out.push(*c)).expect("stereo");
            }
            g.finish(|c| out.push(*c));
            out
        };
        let grid = LoudnessGrid::new(48_000.0, 2).expect("valid");
        let (a, b) = (cells(grid.clone()), cells(grid.portable()));
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.sample_peak, y.sample_peak);
            for ch in 0..2 {
                let tp = (x.true_peak[ch] - y.true_peak[ch]).abs();
                assert!(tp <= 2e-6 * x.true_peak[ch].max(1e-3), "cell {}: {x:?} vs {y:?}", x.index);
                let k = (x.k_energy[ch] - y.k_energy[ch]).abs();
                assert!(k <= 1e-9 * x.k_energy[ch].max(1e-20), "cell {}: {k:e}", x.index);
                assert!((x.energy[ch] - y.energy[ch]).abs() <= 1e-9 * x.energy[ch].max(1e-20));
            }
        }
    }
}
