//! The analysis timeline: every [`StatsFrame`] of a stream, kept off the audio thread, with the
//! loudness of its 10 ms cells, so any segment ("what happens between 1:45 and 2:00?") can be
//! measured on its own.
//!
//! The live plugin and the CLI fill a timeline the same way: frames from a [`StatsMeter`]. The
//! plugin's worker pops them from the ring; [`Timeline::of_audio`] runs a meter over a decoded
//! file in blocks. Everything derived afterwards (loudness, tonal balance, findings) reads the
//! timeline, never the audio, so both paths give the same answers.
//!
//! # Surround
//!
//! A stream of more than two channels (up to 5.1, [`MAX_CHANNELS`]) is measured in two parts
//! ([`TimelineMeter`]): its loudness, sample and true peak on every channel,
//! each weighted for its speaker ([`ChannelLayout::weights`], BS.1770-4); everything else the
//! frames carry (band levels, RMS, DC, correlation, mid/side) on its stereo fold-down
//! ([`ChannelLayout::fold_down`], ITU-R BS.775), which is also what tempo, key and the tonal
//! balance read. The frames' peaks, clip and non-finite counts are of the stream's own
//! channels, all in index 0, so clipping in any channel is found where it is.
//!
//! Memory: about 260 bytes per 100 ms frame plus 32 bytes per 10 ms cell, about 20 MB per hour
//! (twice the cells for surround: the fold-down's loudness is kept for the tonal balance).

use super::loudness::{LoudnessAnalysis, LoudnessError, LoudnessReport};
use crate::meter::stats::{frame_of_sample, is_clipped, BAND_COUNT, STATS_MAX_CHANNELS};
use crate::meter::{
    Cell, ChannelLayout, LoudnessGrid, MeterError, StatsError, StatsFrame, StatsMeter, CELL_SECONDS, MAX_CHANNELS,
};
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
    /// Non-finite samples (NaN, ±∞) in this frame, all channels: found by the meter, or by the
    /// decoder that concealed them ([`Timeline::note_non_finite`]).
    pub non_finite: u32,
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
    /// Mean square of the mid and of the side signal between 20 and 150 Hz
    /// ([`crate::meter::stats::LOW_STEREO_HZ`]; 0 for mono).
    pub low_mid_ms: f32,
    /// See [`Self::low_mid_ms`].
    pub low_side_ms: f32,
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
            non_finite: frame.non_finite_samples,
            dc: frame.dc_fs,
            rms: frame.rms_fs,
            correlation: frame.correlation,
            mid_ms: frame.mid_mean_square_fs2,
            side_ms: frame.side_mean_square_fs2,
            low_mid_ms: frame.low_mid_mean_square_fs2,
            low_side_ms: frame.low_side_mean_square_fs2,
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
    /// Channels of the frames (1 or 2; 2 for a surround stream's fold-down).
    channels: usize,
    /// The stream's own channels.
    layout: ChannelLayout,
    frames: Vec<FrameStats>,
    /// Loudness of the stream, every channel.
    loudness: LoudnessAnalysis,
    /// Loudness of the fold-down the frames describe, for a surround stream.
    fold_down: Option<LoudnessAnalysis>,
    dropped_frames: u64,
}

/// What the frames of a surround stream take from its own channels rather than from the
/// fold-down: peaks, clip and non-finite counts of the frame being measured.
#[derive(Clone, Copy, Debug, Default)]
struct SurroundFrame {
    sample_peak: f32,
    true_peak: f32,
    clip_samples: u32,
    clip_runs: u32,
    non_finite: u32,
}

impl SurroundFrame {
    fn add_cell(&mut self, cell: &Cell) {
        for ch in 0..cell.channels as usize {
            self.sample_peak = self.sample_peak.max(cell.sample_peak[ch]);
            self.true_peak = self.true_peak.max(cell.true_peak[ch]);
        }
    }

    /// Counts the clipped and non-finite samples of `block`; `in_clip` carries each channel's
    /// run across blocks.
    fn add_samples(&mut self, block: &[&[f32]], in_clip: &mut [bool; MAX_CHANNELS]) {
        for (samples, in_clip) in block.iter().zip(in_clip.iter_mut()) {
            for &x in samples.iter() {
                let clipped = is_clipped(x);
                self.clip_samples += clipped as u32;
                self.clip_runs += (clipped && !*in_clip) as u32;
                self.non_finite += !x.is_finite() as u32;
                *in_clip = clipped;
            }
        }
    }

    /// Puts these figures into the fold-down's frame, in index 0.
    fn apply(self, frame: &mut StatsFrame) {
        frame.sample_peak_fs = [self.sample_peak, 0.0];
        frame.true_peak_fs = [self.true_peak, 0.0];
        frame.clip_samples = [self.clip_samples, 0];
        frame.clip_runs = [self.clip_runs, 0];
        frame.non_finite_samples = self.non_finite;
    }
}

/// Measures a stream into a [`Timeline`] block by block (any block sizes), with the same
/// [`StatsMeter`] the plugin runs: for mono and stereo on the stream itself; for surround
/// (see the module documentation) a [`LoudnessGrid`] on every channel feeds the loudness and a
/// [`StatsMeter`] on the fold-down the frames. Blocks are cut at the frames' edges, so the
/// figures taken from the stream's own channels (peaks, clip and non-finite counts) cover
/// exactly the samples of the frame they go into.
#[derive(Debug)]
pub struct TimelineMeter {
    layout: ChannelLayout,
    stats: StatsMeter,
    timeline: Timeline,
    surround: Option<Surround>,
    /// The first error a frame or cell met; later ones are dropped.
    result: Result<(), TimelineError>,
}

/// The surround half of a [`TimelineMeter`].
#[derive(Debug)]
struct Surround {
    grid: LoudnessGrid,
    /// The fold-down of the current piece, at most one frame long.
    lo: Vec<f32>,
    ro: Vec<f32>,
    current: SurroundFrame,
    in_clip: [bool; MAX_CHANNELS],
    /// Frames of the stream measured so far.
    position: u64,
}

impl TimelineMeter {
    /// A meter for a stream of `layout`'s channels at `sample_rate` Hz.
    pub fn new(sample_rate: u32, layout: &ChannelLayout) -> Result<Self, TimelineError> {
        let timeline = Timeline::with_layout(sample_rate, layout)?;
        let stats = StatsMeter::new(sample_rate as f64, timeline.channels)?;
        let surround = layout
            .is_surround()
            .then(|| -> Result<Surround, TimelineError> {
                let longest_frame = (sample_rate as usize).div_ceil(10);
                Ok(Surround {
                    grid: LoudnessGrid::new(sample_rate as f64, layout.channels()).map_err(StatsError::from)?,
                    lo: vec![0.0; longest_frame],
                    ro: vec![0.0; longest_frame],
                    current: SurroundFrame::default(),
                    in_clip: [false; MAX_CHANNELS],
                    position: 0,
                })
            })
            .transpose()?;
        Ok(Self { layout: *layout, stats, timeline, surround, result: Ok(()) })
    }

    /// Measures the next block (`block[ch][frame]`, the layout's channels, all as long).
    pub fn process(&mut self, block: &[&[f32]]) -> Result<(), TimelineError> {
        if block.len() != self.layout.channels() {
            let mismatch = MeterError::ChannelCountMismatch { expected: self.layout.channels(), got: block.len() };
            return Err(StatsError::Meter(mismatch).into());
        }
        let Self { stats, timeline, surround, result, layout } = self;
        let Some(s) = surround else {
            stats.process(block, None, |f| keep(result, timeline.push(f)))?;
            return std::mem::replace(result, Ok(()));
        };
        let len = block.iter().map(|c| c.len()).min().unwrap_or(0);
        let rate = timeline.sample_rate;
        let mut start = 0;
        while start < len {
            let frame_end = (frame_of_sample(s.position, rate) + 1) * u64::from(rate) / 10;
            let end = len.min(start + (frame_end - s.position) as usize);
            let mut views: [&[f32]; MAX_CHANNELS] = [&[]; MAX_CHANNELS];
            for (v, ch) in views.iter_mut().zip(block) {
                *v = &ch[start..end];
            }
            let views = &views[..block.len()];
            let (current, loudness) = (&mut s.current, &mut timeline.loudness);
            s.grid
                .process(views, |c| {
                    current.add_cell(c);
                    keep(result, loudness.push(c).map_err(TimelineError::from));
                })
                .map_err(StatsError::from)?;
            s.current.add_samples(views, &mut s.in_clip);
            let n = end - start;
            layout.fold_down(views, &mut s.lo[..n], &mut s.ro[..n]);
            stats.process(&[&s.lo[..n], &s.ro[..n]], None, |f| {
                let mut frame = *f;
                std::mem::take(&mut s.current).apply(&mut frame);
                keep(result, timeline.push(&frame));
            })?;
            s.position += n as u64;
            start = end;
        }
        std::mem::replace(result, Ok(()))
    }

    /// Ends the stream (the meters' tails and partial last cell and frame) and returns its
    /// timeline.
    pub fn finish(mut self) -> Result<Timeline, TimelineError> {
        let Self { stats, timeline, surround, result, .. } = &mut self;
        match surround {
            None => stats.finish(|f| keep(result, timeline.push(f))),
            Some(s) => {
                let (current, loudness) = (&mut s.current, &mut timeline.loudness);
                s.grid.finish(|c| {
                    current.add_cell(c);
                    keep(result, loudness.push(c).map_err(TimelineError::from));
                });
                stats.finish(|f| {
                    let mut frame = *f;
                    std::mem::take(&mut s.current).apply(&mut frame);
                    keep(result, timeline.push(&frame));
                });
            }
        }
        std::mem::replace(result, Ok(()))?;
        Ok(self.timeline)
    }
}

/// Keeps the first error of a run of callbacks.
fn keep(first: &mut Result<(), TimelineError>, next: Result<(), TimelineError>) {
    if first.is_ok() {
        *first = next;
    }
}

impl Timeline {
    /// An empty timeline for a meter of `channels` (1 or 2) at `sample_rate` Hz.
    pub fn new(sample_rate: u32, channels: usize) -> Result<Self, TimelineError> {
        let layout = ChannelLayout::itu(channels)
            .filter(|_| channels <= STATS_MAX_CHANNELS)
            .ok_or(StatsError::UnsupportedChannels(channels))?;
        Self::with_layout(sample_rate, &layout)
    }

    /// An empty timeline for a stream of `layout`'s channels at `sample_rate` Hz: frames of its
    /// own channels for mono and stereo, of its fold-down for surround (see the module
    /// documentation).
    pub fn with_layout(sample_rate: u32, layout: &ChannelLayout) -> Result<Self, TimelineError> {
        let fold_down =
            layout.is_surround().then(|| LoudnessAnalysis::new(sample_rate as f64, STATS_MAX_CHANNELS)).transpose()?;
        Ok(Self {
            sample_rate,
            channels: layout.channels().min(STATS_MAX_CHANNELS),
            layout: *layout,
            frames: Vec::new(),
            loudness: LoudnessAnalysis::with_layout(sample_rate as f64, layout)?,
            fold_down,
            dropped_frames: 0,
        })
    }

    /// Measures a whole decoded stream (`audio[ch][frame]`, 1 to [`MAX_CHANNELS`] channels in
    /// the default order for their count, [`ChannelLayout::itu`]); see
    /// [`Self::of_audio_with_layout`].
    pub fn of_audio(sample_rate: u32, audio: &[&[f32]], progress: impl FnMut(usize)) -> Result<Self, TimelineError> {
        let layout =
            ChannelLayout::itu(audio.len()).ok_or(StatsError::Meter(MeterError::UnsupportedChannels(audio.len())))?;
        Self::of_audio_with_layout(sample_rate, audio, &layout, progress)
    }

    /// Measures a whole decoded stream (`audio[ch][frame]`, the channels of `layout`) with a
    /// [`TimelineMeter`], in blocks of [`OFFLINE_BLOCK`]; `progress` gets the frames done
    /// after every block.
    pub fn of_audio_with_layout(
        sample_rate: u32,
        audio: &[&[f32]],
        layout: &ChannelLayout,
        mut progress: impl FnMut(usize),
    ) -> Result<Self, TimelineError> {
        let mut meter = TimelineMeter::new(sample_rate, layout)?;
        let len = audio.iter().map(|c| c.len()).min().unwrap_or(0);
        let mut views: Vec<&[f32]> = Vec::with_capacity(audio.len());
        let mut start = 0;
        while start < len {
            let end = (start + OFFLINE_BLOCK).min(len);
            views.clear();
            views.extend(audio.iter().map(|ch| &ch[start..end]));
            meter.process(&views)?;
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
        // A surround stream's own loudness comes from its own grid; the frames' cells are the
        // fold-down's.
        let loudness = self.fold_down.as_mut().unwrap_or(&mut self.loudness);
        for cell in &frame.cells[..(frame.cell_count as usize).min(frame.cells.len())] {
            loudness.push(cell)?;
        }
        self.dropped_frames += frame.seq - next;
        self.frames.push(FrameStats::from_frame(frame));
        Ok(())
    }

    /// Sample rate, Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Channels of the frames (1 or 2; 2 for a surround stream, whose frames describe its
    /// fold-down).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The stream's own channels.
    pub fn layout(&self) -> &ChannelLayout {
        &self.layout
    }

    /// Adds non-finite samples found outside the meter (the decoder conceals them before the
    /// meter sees them, [`super::sanitize`]) to the frames that held them: `(frame seq,
    /// count)` pairs. Counts for frames the timeline does not have are ignored.
    pub fn note_non_finite(&mut self, counts: &[(u64, u32)]) {
        for &(seq, count) in counts {
            if let Ok(i) = self.frames.binary_search_by_key(&seq, |f| f.seq) {
                self.frames[i].non_finite = self.frames[i].non_finite.saturating_add(count);
            }
        }
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

    /// For a surround stream, the loudness of the fold-down its frames describe over `[t0, t1]`
    /// (band levels are relative to it); `None` for mono and stereo, whose frames describe the
    /// stream itself ([`Self::loudness_between`]).
    pub fn fold_down_loudness_between(&self, t0: f64, t1: f64) -> Option<LoudnessReport> {
        self.fold_down.as_ref().map(|f| f.report_between(t0, t1))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_surround_stream_measures_the_same_in_any_blocks() {
        let layout = ChannelLayout::itu(6).expect("5.1");
        let len = 48_000 + 1234;
        // A tone per channel, and one clipped sample in each channel at 30 000 + channel
        // (frame 6).
        let audio: Vec<Vec<f32>> = (0..6)
            .map(|c| {
                (0..len)
                    .map(|i| if i == 30_000 + c { 1.2 } else { 0.3 * (i as f32 * 0.01 * (c + 1) as f32).sin() })
                    .collect()
            })
            .collect();
        let views: Vec<&[f32]> = audio.iter().map(Vec::as_slice).collect();
        let whole = Timeline::of_audio_with_layout(48_000, &views, &layout, |_| {}).expect("timeline");
        let mut meter = TimelineMeter::new(48_000, &layout).expect("meter");
        let (mut start, mut k) = (0, 0);
        while start < len {
            let end = (start + [1, 777, 4800, 13, 9000][k % 5]).min(len);
            let block: Vec<&[f32]> = audio.iter().map(|c| &c[start..end]).collect();
            meter.process(&block).expect("block");
            (start, k) = (end, k + 1);
        }
        let pieces = meter.finish().expect("timeline");
        assert_eq!(whole.frames().len(), 11);
        assert_eq!(pieces.frames().len(), 11);
        for (a, b) in whole.frames().iter().zip(pieces.frames()) {
            // The sums run in `f32` per block: equal up to rounding.
            assert_eq!(
                (a.seq, a.clip_samples, a.clip_runs, a.sample_peak, a.true_peak),
                (b.seq, b.clip_samples, b.clip_runs, b.sample_peak, b.true_peak)
            );
            for (x, y) in a.rms.iter().chain(&a.dc).chain(&a.bands_db).zip(b.rms.iter().chain(&b.dc).chain(&b.bands_db))
            {
                assert!((x - y).abs() <= 1e-5 * x.abs().max(1.0), "frame {}: {x} vs {y}", a.seq);
            }
        }
        let (a, b) = (whole.loudness_between(0.0, 2.0), pieces.loudness_between(0.0, 2.0));
        assert_eq!(a.sample_peak_dbfs, b.sample_peak_dbfs);
        let (a, b) = (a.integrated_lufs.expect("loud"), b.integrated_lufs.expect("loud"));
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        assert_eq!(whole.layout().channels(), 6);
        assert_eq!(whole.channels(), 2);
        // The clipped samples of every channel, the LFE's included, counted where they are.
        let clips: Vec<u32> = whole.frames().iter().map(|f| f.clip_samples[0]).collect();
        assert_eq!(clips, [0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0]);
        assert_eq!(whole.frames()[6].clip_runs[0], 6);
        assert_eq!(whole.frames()[6].sample_peak[0], 1.2);
        assert!(whole.fold_down_loudness_between(0.0, 1.0).is_some());
    }
}
