//! A file measured for the analysis in one streaming pass: decoded block by block into a
//! [`StreamAnalyzer`], so memory holds the timeline and the features, never the audio (see
//! [`crate::analysis::stream`]). The analysis itself then reads what was measured
//! ([`track::analyze_with_features`](crate::analysis::track::analyze_with_features)).

use std::path::Path;

use super::decode::{AudioReader, DecodeError, DecodeSummary};
use crate::analysis::spectral::Features;
use crate::analysis::stream::{Measured, SegmentFeatures, StreamAnalyzer, OFFLINE_BLOCK};
use crate::analysis::timeline::TimelineError;
use crate::meter::{ChannelLayout, MAX_CHANNELS};

/// Why a file could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    /// The file could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The file has more channels than the meters take ([`MAX_CHANNELS`], 5.1).
    #[error("{0} channels: the analysis takes up to {MAX_CHANNELS} (5.1)")]
    Channels(usize),
    /// The statistics meter refused the stream (sample rate).
    #[error(transparent)]
    Timeline(#[from] TimelineError),
}

/// A measured file.
pub struct MeasuredFile {
    /// Frames per second.
    pub sample_rate: u32,
    /// Which speaker each channel feeds.
    pub layout: ChannelLayout,
    /// The timeline (its non-finite samples noted, [`Timeline::note_non_finite`]) and the
    /// features.
    ///
    /// [`Timeline::note_non_finite`]: crate::analysis::timeline::Timeline::note_non_finite
    pub measured: Measured,
    /// What decoding did.
    pub decoded: DecodeSummary,
}

impl MeasuredFile {
    /// Length in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.decoded.frames as f64 / f64::from(self.sample_rate.max(1))
    }
}

/// Decodes `path` and measures it, the features covering `[from_s, to_s)` seconds (see
/// [`segment_frames`](crate::analysis::stream::segment_frames)). `progress(frames_done,
/// total_if_known)` is called after every block, and `on_block(first_frame, block)` sees every
/// block too (the plot's waveform is drawn from it).
pub fn measure_file(
    path: &Path,
    from_s: Option<f64>,
    to_s: Option<f64>,
    progress: &mut dyn FnMut(u64, Option<u64>),
    on_block: &mut dyn FnMut(u64, &[&[f32]]),
) -> Result<MeasuredFile, MeasureError> {
    let mut reader = AudioReader::open(path)?;
    let (sample_rate, channels, total) = (reader.sample_rate(), reader.channels(), reader.header_frames());
    let layout = reader.layout().ok_or(MeasureError::Channels(channels))?;
    let mut analyzer = StreamAnalyzer::new(sample_rate, &layout, from_s, to_s)?;
    let mut block: Vec<Vec<f32>> = (0..channels).map(|_| Vec::with_capacity(OFFLINE_BLOCK)).collect();
    loop {
        block.iter_mut().for_each(Vec::clear);
        let start = reader.frames_read();
        if reader.read(&mut block, OFFLINE_BLOCK)? == 0 {
            break;
        }
        let views: Vec<&[f32]> = block.iter().map(Vec::as_slice).collect();
        analyzer.push(&views)?;
        on_block(start, &views);
        progress(reader.frames_read(), total);
    }
    let decoded = reader.finish()?;
    let mut measured = analyzer.finish()?;
    // The decoder concealed them; the findings say where they were.
    measured.timeline.note_non_finite(&decoded.non_finite.frames);
    Ok(MeasuredFile { sample_rate, layout, measured, decoded })
}

/// The spectral features of `[from_s, to_s)` seconds of `path`, decoding only up to `to_s`:
/// for analysing a stretch again after [`measure_file`] (the chat's questions about a passage),
/// without having kept the audio. `None` when the stretch is too short for the detectors.
///
/// The file is decoded from its start (exact for every format, where seeking is not); the
/// end-of-stream checks do not run, [`measure_file`] ran them.
pub fn segment_features(path: &Path, from_s: Option<f64>, to_s: Option<f64>) -> Result<Option<Features>, DecodeError> {
    let mut reader = AudioReader::open(path)?;
    let Some(layout) = reader.layout() else { return Ok(None) };
    let mut features = SegmentFeatures::new(reader.sample_rate(), &layout, from_s, to_s);
    let mut block = Vec::new();
    while !features.is_complete() {
        block.iter_mut().for_each(Vec::clear);
        if reader.read(&mut block, OFFLINE_BLOCK)? == 0 {
            break;
        }
        let views: Vec<&[f32]> = block.iter().map(Vec::as_slice).collect();
        features.push(&views);
    }
    Ok(features.finish())
}
