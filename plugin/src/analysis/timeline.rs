//! The analysis timeline: every [`StatsFrame`] of a stream, kept off the audio thread, with the
//! loudness of its 10 ms cells, so any segment ("what happens between 1:45 and 2:00?") can be
//! measured on its own.
//!
//! The live plugin and the CLI fill a timeline the same way: frames from a [`StatsMeter`]. The
//! plugin's worker pops them from the ring; [`Timeline::of_audio`] runs a meter over a decoded
//! file in blocks. Everything derived afterwards (loudness, tonal balance, findings) reads the
//! timeline, never the audio, so both paths give the same answers.
//!
//! Memory: about 260 bytes per 100 ms frame plus 32 bytes per 10 ms cell, 12 MB per hour.

use super::loudness::{LoudnessAnalysis, LoudnessError, LoudnessReport};
use crate::meter::stats::{BAND_COUNT, STATS_MAX_CHANNELS};
use crate::meter::{StatsError, StatsFrame, StatsMeter, CELL_SECONDS};
use std::ops::Range;

/// Samples per block when a timeline is measured from a file (the meter's results do not depend
/// on it; it only sets how often progress is reported).
pub const OFFLINE_BLOCK: usize = 4096;

/// Why a timeline could not be built or extended.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
pub enum TimelineError {
    /// The meter refused the configuration (channels other than 1 or 2, sample rate).
    #[error(transparent)]
    Stats(#[from] StatsError),
    /// The cells of a frame did not fit the loudness analysis (a restarted meter).
    #[error(transparent)]
    Loudness(#[from] LoudnessError),
    /// A frame arrived with a `seq` at or before one already received.
    #[error("frame {got} arrived after frame {last}; the meter restarted, start a new timeline")]
    OutOfOrder {
        /// Last frame received.
        last: u64,
        /// The offending frame.
        got: u64,
    },
    /// A frame was measured at another sample rate or channel count than the timeline's.
    #[error("a frame of {got_rate} Hz / {got_channels} ch does not belong to a {rate} Hz / {channels} ch timeline")]
    Format {
        /// The timeline's sample rate.
        rate: u32,
        /// The timeline's channels.
        channels: usize,
        /// The frame's sample rate.
        got_rate: u32,
        /// The frame's channels.
        got_channels: usize,
    },
}

/// One 100 ms frame of statistics as the analysis keeps it: a [`StatsFrame`] without its cells
/// (those live in the timeline's [`LoudnessAnalysis`]). Linear levels relative to full scale,
/// per channel (index 1 is zero for mono), as in [`StatsFrame`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameStats {
    /// Frame number in the stream.
    pub seq: u64,
    /// Start of the frame, seconds from the start of the stream.
    pub start_s: f64,
    /// Length of the frame, seconds.
    pub duration_s: f64,
    /// Host transport time of the frame's first sample, seconds, when the host gave one.
    pub transport_s: Option<f64>,
    /// Largest |x| per channel.
    pub sample_peak: [f32; STATS_MAX_CHANNELS],
    /// Largest |x| of the 4× oversampled signal per channel.
    pub true_peak: [f32; STATS_MAX_CHANNELS],
    /// Samples at or above full scale, per channel.
    pub clip_samples: [u32; STATS_MAX_CHANNELS],
    /// Runs of clipped samples starting in this frame, per channel.
    pub clip_runs: [u32; STATS_MAX_CHANNELS],
    /// Mean per channel.
    pub dc: [f32; STATS_MAX_CHANNELS],
    /// RMS per channel.
    pub rms: [f32; STATS_MAX_CHANNELS],
    /// Stereo correlation, −1 ..= 1 (`None` for mono or a silent channel).
    pub correlation: Option<f32>,
    /// Mean square of the mid signal `(l+r)/2` (of the signal itself for mono).
    pub mid_ms: f32,
    /// Mean square of the side signal `(l−r)/2` (0 for mono).
    pub side_ms: f32,
    /// One-third-octave band powers, dB re full-scale DC (see [`StatsFrame::band_energy_db`]).
    pub bands_db: [f32; BAND_COUNT],
}

impl FrameStats {
    /// End of the frame, seconds from the start of the stream.
    pub fn end_s(&self) -> f64 {
        self.start_s + self.duration_s
    }

    /// Largest sample peak over the channels, linear.
    pub fn peak(&self) -> f32 {
        self.sample_peak[0].max(self.sample_peak[1])
    }

    /// Largest true peak over the channels, linear.
    pub fn true_peak_max(&self) -> f32 {
        self.true_peak[0].max(self.true_peak[1])
    }

    /// Mean square over the channels (unweighted), full scale².
    pub fn mean_square(&self, channels: usize) -> f64 {
        let n = channels.clamp(1, STATS_MAX_CHANNELS);
        self.rms[..n].iter().map(|&r| (r as f64) * (r as f64)).sum::<f64>() / n as f64
    }

    fn from_frame(frame: &StatsFrame) -> Self {
        let rate = frame.sample_rate_hz.max(1) as f64;
        Self {
            seq: frame.seq,
            start_s: frame.start_sample as f64 / rate,
            duration_s: frame.frames as f64 / rate,
            transport_s: frame.transport_pos_samples.map(|p| p as f64 / rate),
            sample_peak: frame.sample_peak_fs,
            true_peak: frame.true_peak_fs,
            clip_samples: frame.clip_samples,
            clip_runs: frame.clip_runs,
            dc: frame.dc_fs,
            rms: frame.rms_fs,
            correlation: frame.correlation,
            mid_ms: frame.mid_mean_square_fs2,
            side_ms: frame.side_mean_square_fs2,
            bands_db: frame.band_energy_db,
        }
    }
}

/// Sample and true peak of one 10 ms cell (the finest time resolution of the timeline), linear,
/// the largest over the channels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CellPeak {
    /// Start of the cell, seconds.
    pub start_s: f64,
    /// Largest |x|.
    pub sample_peak: f32,
    /// Largest |x| of the 4× oversampled signal.
    pub true_peak: f32,
}

/// Every frame of a stream so far, in order, and the loudness of its cells.
#[derive(Clone, Debug)]
pub struct Timeline {
    sample_rate: u32,
    channels: usize,
    frames: Vec<FrameStats>,
    loudness: LoudnessAnalysis,
    dropped_frames: u64,
}

impl Timeline {
    /// An empty timeline for a meter of `channels` (1 or 2) at `sample_rate` Hz.
    pub fn new(sample_rate: u32, channels: usize) -> Result<Self, TimelineError> {
        if channels == 0 || channels > STATS_MAX_CHANNELS {
            return Err(StatsError::UnsupportedChannels(channels).into());
        }
        Ok(Self {
            sample_rate,
            channels,
            frames: Vec::new(),
            loudness: LoudnessAnalysis::new(sample_rate as f64, channels)?,
            dropped_frames: 0,
        })
    }

    /// Measures a whole decoded stream (`audio[ch][frame]`, 1 or 2 channels) with the same
    /// [`StatsMeter`] the plugin runs: a [`TimelineMeter`] given blocks of [`OFFLINE_BLOCK`];
    /// `progress` gets the frames done after every block.
    pub fn of_audio(
        sample_rate: u32,
        audio: &[&[f32]],
        mut progress: impl FnMut(usize),
    ) -> Result<Self, TimelineError> {
        let mut meter = TimelineMeter::new(sample_rate, audio.len())?;
        let len = audio.iter().map(|c| c.len()).min().unwrap_or(0);
        let mut start = 0;
        while start < len {
            let end = (start + OFFLINE_BLOCK).min(len);
            let mut views: [&[f32]; STATS_MAX_CHANNELS] = [&[]; STATS_MAX_CHANNELS];
            for (v, ch) in views.iter_mut().zip(audio) {
                *v = &ch[start..end];
            }
            meter.process(&views[..audio.len()])?;
            start = end;
            progress(end);
        }
        meter.finish()
    }

    /// Adds the next frame from the meter. Frames must come in `seq` order; missing ones (a
    /// full ring) leave a gap in [`Self::frames`], count as silence in the loudness and are
    /// counted in [`Self::dropped_frames`].
    pub fn push(&mut self, frame: &StatsFrame) -> Result<(), TimelineError> {
        if frame.sample_rate_hz != self.sample_rate || frame.channels as usize != self.channels {
            return Err(TimelineError::Format {
                rate: self.sample_rate,
                channels: self.channels,
                got_rate: frame.sample_rate_hz,
                got_channels: frame.channels as usize,
            });
        }
        let next = self.frames.last().map_or(0, |f| f.seq + 1);
        if frame.seq < next {
            return Err(TimelineError::OutOfOrder { last: next.saturating_sub(1), got: frame.seq });
        }
        for cell in &frame.cells[..(frame.cell_count as usize).min(frame.cells.len())] {
            self.loudness.push(cell)?;
        }
        self.dropped_frames += frame.seq - next;
        self.frames.push(FrameStats::from_frame(frame));
        Ok(())
    }

    /// Sample rate, Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Channels measured (1 or 2).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Every frame received, in order.
    pub fn frames(&self) -> &[FrameStats] {
        &self.frames
    }

    /// Frames that never arrived.
    pub fn dropped_frames(&self) -> u64 {
        self.dropped_frames
    }

    /// Length of the stream so far, seconds (dropped frames included).
    pub fn duration_s(&self) -> f64 {
        self.frames.last().map_or(0.0, FrameStats::end_s)
    }

    /// The loudness of the cells received.
    pub fn loudness(&self) -> &LoudnessAnalysis {
        &self.loudness
    }

    /// Every loudness figure of `[t0, t1]` seconds, as if the stream started at `t0`.
    pub fn loudness_between(&self, t0: f64, t1: f64) -> LoudnessReport {
        self.loudness.report_between(t0, t1)
    }

    /// Index range of the frames that lie inside `[t0, t1]` seconds (a frame is inside when its
    /// middle is).
    pub fn frame_range(&self, t0: f64, t1: f64) -> Range<usize> {
        let mid = |f: &FrameStats| f.start_s + 0.5 * f.duration_s;
        let a = self.frames.partition_point(|f| mid(f) < t0);
        let b = self.frames.partition_point(|f| mid(f) <= t1).max(a);
        a..b
    }

    /// The frames inside `[t0, t1]` seconds.
    pub fn frames_between(&self, t0: f64, t1: f64) -> &[FrameStats] {
        &self.frames[self.frame_range(t0, t1)]
    }

    /// Sample and true peak of every 10 ms cell.
    pub fn cell_peaks(&self) -> impl Iterator<Item = CellPeak> + '_ {
        self.loudness.cell_peaks().enumerate().map(|(i, (sample_peak, true_peak))| CellPeak {
            start_s: i as f64 * CELL_SECONDS,
            sample_peak,
            true_peak,
        })
    }

    /// The host transport time (seconds) of a stream time, from the nearest frame that carried
    /// a transport position; `None` when the host never gave one.
    pub fn transport_time(&self, stream_s: f64) -> Option<f64> {
        let i = self.frames.partition_point(|f| f.start_s <= stream_s);
        let near = self.frames[..i].iter().rev().find(|f| f.transport_s.is_some())?;
        Some(near.transport_s? + (stream_s - near.start_s))
    }
}

/// A [`Timeline`] measured from audio given block by block: a [`StatsMeter`] whose frames go
/// straight into the timeline, so only the statistics are kept, never the audio.
///
/// The meter sums some statistics in `f32` within a block, so the figures depend on the block
/// sizes by rounding only; blocks of [`OFFLINE_BLOCK`] frames (the last one shorter) give the
/// figures of [`Timeline::of_audio`] to the bit.
pub struct TimelineMeter {
    meter: StatsMeter,
    timeline: Timeline,
    /// The first error of [`Timeline::push`], reported by [`TimelineMeter::finish`].
    result: Result<(), TimelineError>,
}

impl TimelineMeter {
    /// A meter for `channels` (1 or 2) at `sample_rate` Hz.
    pub fn new(sample_rate: u32, channels: usize) -> Result<Self, TimelineError> {
        let meter = StatsMeter::new(sample_rate as f64, channels)?;
        let timeline = Timeline::new(sample_rate, channels)?;
        Ok(Self { meter, timeline, result: Ok(()) })
    }

    /// Measures the next block (`block[ch][frame]`, one slice per channel, equal lengths).
    pub fn process(&mut self, block: &[&[f32]]) -> Result<(), TimelineError> {
        let (timeline, result) = (&mut self.timeline, &mut self.result);
        self.meter.process(block, None, |f| {
            if result.is_ok() {
                *result = timeline.push(f);
            }
        })?;
        Ok(())
    }

    /// Ends the stream (the partial last frame is measured) and returns the timeline.
    pub fn finish(mut self) -> Result<Timeline, TimelineError> {
        let (timeline, result) = (&mut self.timeline, &mut self.result);
        self.meter.finish(|f| {
            if result.is_ok() {
                *result = timeline.push(f);
            }
        });
        self.result?;
        Ok(self.timeline)
    }
}
