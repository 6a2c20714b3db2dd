//! Measuring a stream for the analysis block by block, so that a file of any length is analysed
//! in bounded memory: the [`Timeline`] of all of it (about 20 MB per hour: 9 MB of 100 ms
//! frames, 12 MB of 10 ms loudness cells, twice the cells for surround) and the spectral [`Features`] of the stretch asked for
//! (about 12 MB per hour at 48 kHz), never the audio itself.
//!
//! The tempo, key, section and character detectors read only the features (onset envelopes and
//! chroma, a few numbers per 10 ms or 43 ms hop), so none of them needs the audio: the
//! [`FeatureBuilder`] keeps the last transform window (under 0.4 s) and nothing older.
//!
//! [`track::analyze`](super::track::analyze) on a whole buffer and the CLI on a file both
//! measure through a [`StreamAnalyzer`] in blocks of [`OFFLINE_BLOCK`], so they give the same
//! figures to the bit.

use std::ops::Range;

use super::spectral::{fold_down_into, FeatureBuilder, Features};
use super::timeline::{Timeline, TimelineError, TimelineMeter};
use crate::meter::ChannelLayout;

pub use super::timeline::OFFLINE_BLOCK;

/// The stream frames `[from_s, to_s)` seconds cover at `sample_rate`, as
/// [`track::analyze_timeline`](super::track::analyze_timeline) cuts them from a whole downmix
/// (no start means 0, no end means the end of the stream).
pub fn segment_frames(sample_rate: u32, from_s: Option<f64>, to_s: Option<f64>) -> Range<u64> {
    let rate = f64::from(sample_rate);
    // `max` also turns a NaN start into 0, as the analysis does.
    let start = (from_s.unwrap_or(0.0).max(0.0) * rate).round() as u64;
    let end = to_s.filter(|t| !t.is_nan()).map_or(u64::MAX, |t| ((t * rate).round().max(0.0) as u64).max(start));
    start..end
}

/// The [`Features`] of one stretch of a stream given block by block: the mono downmix of the
/// frames inside the stretch ([`fold_down_into`]) goes to a [`FeatureBuilder`], the rest is
/// skipped.
pub struct SegmentFeatures {
    layout: ChannelLayout,
    /// `None` when the sample rate is outside what the detectors take (no features then).
    builder: Option<FeatureBuilder>,
    segment: Range<u64>,
    /// Stream frames received.
    pos: u64,
    /// The downmix of the current block (reused).
    mono: Vec<f32>,
}

impl SegmentFeatures {
    /// Features of `[from_s, to_s)` seconds (see [`segment_frames`]) of a stream of `layout`'s
    /// channels at `sample_rate`.
    pub fn new(sample_rate: u32, layout: &ChannelLayout, from_s: Option<f64>, to_s: Option<f64>) -> SegmentFeatures {
        SegmentFeatures {
            layout: *layout,
            builder: FeatureBuilder::new(sample_rate).ok(),
            segment: segment_frames(sample_rate, from_s, to_s),
            pos: 0,
            mono: Vec::new(),
        }
    }

    /// Takes the next block of the stream (one slice per channel, equal lengths).
    pub fn push(&mut self, block: &[&[f32]]) {
        let len = block.iter().map(|c| c.len()).min().unwrap_or(0) as u64;
        let (start, end) = (self.pos, self.pos + len);
        self.pos = end;
        let Some(builder) = self.builder.as_mut() else { return };
        let (a, b) = (self.segment.start.max(start), self.segment.end.min(end));
        if a >= b {
            return;
        }
        let (a, b) = ((a - start) as usize, (b - start) as usize);
        let views: Vec<&[f32]> = block.iter().map(|ch| &ch[a..b]).collect();
        self.mono.clear();
        fold_down_into(&views, &self.layout, &mut self.mono);
        builder.push(&self.mono);
    }

    /// Whether the stretch is complete: later blocks would be skipped.
    pub fn is_complete(&self) -> bool {
        self.pos >= self.segment.end
    }

    /// The features of the stretch; `None` when it is too short for the detectors (or the
    /// sample rate unsupported), as [`Features::compute`] refuses it.
    pub fn finish(self) -> Option<Features> {
        self.builder?.finish().ok()
    }
}

/// What the analysis needs from a stream: the timeline of all of it and the features of the
/// stretch asked for.
pub struct Measured {
    /// Every statistics frame of the stream.
    pub timeline: Timeline,
    /// The features of the stretch; `None` when it is too short (see [`SegmentFeatures::finish`]).
    pub features: Option<Features>,
}

/// A stream measured block by block: a [`TimelineMeter`] and the [`SegmentFeatures`] of the
/// stretch asked for, fed the same blocks.
pub struct StreamAnalyzer {
    timeline: TimelineMeter,
    features: SegmentFeatures,
}

impl StreamAnalyzer {
    /// Measures a stream of `layout`'s channels (mono to 5.1) at `sample_rate` Hz; the
    /// features cover `[from_s, to_s)` seconds of it (see [`segment_frames`]).
    pub fn new(
        sample_rate: u32,
        layout: &ChannelLayout,
        from_s: Option<f64>,
        to_s: Option<f64>,
    ) -> Result<StreamAnalyzer, TimelineError> {
        Ok(StreamAnalyzer {
            timeline: TimelineMeter::new(sample_rate, layout)?,
            features: SegmentFeatures::new(sample_rate, layout, from_s, to_s),
        })
    }

    /// Measures the next block (one slice per channel, equal lengths). Blocks of
    /// [`OFFLINE_BLOCK`] frames give the figures of [`track::analyze`](super::track::analyze)
    /// exactly (see [`TimelineMeter`]).
    pub fn push(&mut self, block: &[&[f32]]) -> Result<(), TimelineError> {
        self.timeline.process(block)?;
        self.features.push(block);
        Ok(())
    }

    /// Frames received.
    pub fn frames(&self) -> u64 {
        self.features.pos
    }

    /// Ends the stream.
    pub fn finish(self) -> Result<Measured, TimelineError> {
        Ok(Measured { timeline: self.timeline.finish()?, features: self.features.finish() })
    }
}
