//! The whole analysis of a track or of a segment of it: loudness, tempo, key, sections,
//! character, tonal balance and findings, in one serialisable [`TrackAnalysis`].
//!
//! [`analyze`] measures decoded audio; [`analyze_with_features`] reads a [`Timeline`] and the
//! spectral features a [`StreamAnalyzer`] measured from a stream (the CLI, a file of any length
//! in bounded memory); [`analyze_timeline`] reads a timeline and a mono downmix that were
//! filled elsewhere (the plugin's worker). All run the same code once the timeline and the
//! features are measured.

use super::character::{self, Character, Source};
use super::findings::resonance::{self, Resonance};
use super::findings::{self, Context, Finding};
use super::key::{self, Mode};
use super::loudness::LoudnessReport;
use super::sanitize::Sanitizer;
use super::sections::{self, Section};
use super::spectral::Features;
use super::stream::{StreamAnalyzer, OFFLINE_BLOCK};
use super::targets::{self, GenreTarget, Platform};
use super::targets::{DEFAULT_GENRE, DEFAULT_PLATFORM};
use super::tempo;
use super::timeline::{Timeline, TimelineError};
use super::tonal::{self, TonalBalance};
use crate::meter::stats::{BAND_COUNT, BAND_NOMINAL_HZ};
use crate::meter::{ChannelLayout, MeterError, StatsError};
use serde::Serialize;
use std::sync::Arc;

/// What to analyse and what to judge it against.
#[derive(Clone, Debug, PartialEq)]
pub struct AnalyzeOptions {
    /// Platform id ([`targets::platform`]).
    pub platform: String,
    /// Genre target id ([`targets::genre`]).
    pub genre: String,
    /// A reference track's target ([`GenreTarget::reference`]), judged against instead of the
    /// genre's when set.
    pub reference: Option<Arc<GenreTarget>>,
    /// Analyse only from this time, seconds.
    pub from_s: Option<f64>,
    /// Analyse only up to this time, seconds.
    pub to_s: Option<f64>,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        Self {
            platform: DEFAULT_PLATFORM.into(),
            genre: DEFAULT_GENRE.into(),
            reference: None,
            from_s: None,
            to_s: None,
        }
    }
}

/// Why an analysis could not be made.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AnalyzeError {
    /// The statistics could not be measured (channel count, sample rate).
    #[error(transparent)]
    Timeline(#[from] TimelineError),
    /// Unknown platform id.
    #[error("unknown platform `{0}` (known: {1})")]
    UnknownPlatform(String, String),
    /// Unknown genre id.
    #[error("unknown genre `{0}` (known: {1})")]
    UnknownGenre(String, String),
    /// `--from` / `--to` do not describe a stretch of the track.
    #[error("the segment {from:.2}–{to:.2} s is empty or outside the track (0–{duration:.2} s)")]
    EmptySegment {
        /// Requested start, seconds.
        from: f64,
        /// Requested end, seconds.
        to: f64,
        /// Length of the track, seconds.
        duration: f64,
    },
}

/// A detected tempo, for reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TempoEstimate {
    /// Beats per minute.
    pub bpm: f64,
    /// 0 … 1.
    pub confidence: f64,
    /// Other metrical levels considered (half / double time), best first.
    pub alternatives_bpm: Vec<f64>,
}

/// A detected key, for reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KeyEstimate {
    /// `"E minor"`.
    pub name: String,
    /// Tonic pitch class, 0 = C.
    pub tonic: u8,
    /// `"major"` or `"minor"`.
    pub mode: &'static str,
    /// 0 … 1.
    pub confidence: f64,
}

/// Everything measured about a track or a segment of it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrackAnalysis {
    /// Sample rate, Hz.
    pub sample_rate: u32,
    /// Channels of the stream (up to 6; more than two are measured as the module
    /// [`super::timeline`] explains).
    pub channels: usize,
    /// Length of the whole track, seconds.
    pub duration_s: f64,
    /// The analysed stretch, seconds (the whole track unless a segment was asked for).
    pub from_s: f64,
    /// End of the analysed stretch, seconds.
    pub to_s: f64,
    /// Platform judged against.
    pub platform: Platform,
    /// Genre target judged against.
    pub genre: String,
    /// Loudness, peaks, LRA, PLR, RMS of the stretch.
    pub loudness: LoudnessReport,
    /// Tempo (absent when the stretch is too short or has no pulse).
    pub tempo: Option<TempoEstimate>,
    /// Key (absent when the stretch is too short or has no pitch).
    pub key: Option<KeyEstimate>,
    /// Sections of the stretch.
    pub sections: Vec<Section>,
    /// Energy / mood description.
    pub character: Option<Character>,
    /// What is playing.
    pub source: Option<Source>,
    /// Tonal balance against the genre target.
    pub tonal_balance: TonalBalance,
    /// Bumps and dips of the stretch's long-term spectrum against its own smoothed spectrum,
    /// largest first (empty when the stretch is too short for the spectral features).
    pub resonances: Vec<Resonance>,
    /// Problems found, in time order.
    pub findings: Vec<Finding>,
}

impl TrackAnalysis {
    /// Its level in each ISO 266 band relative to its integrated loudness, dB (`None` for a
    /// band not measured); `None` when it is silent (no band measured).
    pub fn band_levels(&self) -> Option<[Option<f32>; BAND_COUNT]> {
        if self.tonal_balance.bands.is_empty() {
            return None;
        }
        let mut levels = [None; BAND_COUNT];
        for band in &self.tonal_balance.bands {
            if let Some(i) = BAND_NOMINAL_HZ.iter().position(|&f| f == band.centre_hz) {
                levels[i] = Some(band.level_db);
            }
        }
        Some(levels)
    }

    /// This track as the reference for others ([`GenreTarget::reference`]): its band levels
    /// and its loudness range. `None` when it is silent.
    pub fn as_reference(&self, name: &str) -> Option<GenreTarget> {
        Some(GenreTarget::reference(name, &self.band_levels()?, self.loudness.loudness_range_lu))
    }
}

fn resolve(options: &AnalyzeOptions) -> Result<(&'static Platform, &GenreTarget), AnalyzeError> {
    let platform = targets::platform(&options.platform).ok_or_else(|| {
        let known: Vec<_> = targets::platforms().iter().map(|p| p.id.as_str()).collect();
        AnalyzeError::UnknownPlatform(options.platform.clone(), known.join(", "))
    })?;
    if let Some(reference) = &options.reference {
        return Ok((platform, reference));
    }
    let genre = targets::genre(&options.genre).ok_or_else(|| {
        let known: Vec<_> = targets::genres().iter().map(|g| g.id.as_str()).collect();
        AnalyzeError::UnknownGenre(options.genre.clone(), known.join(", "))
    })?;
    Ok((platform, genre))
}

/// Analyses decoded planar audio (`channels[ch][frame]`, 1 to 6 channels in the default
/// order for their count, [`ChannelLayout::itu`]). `progress` gets the fraction done (0 … 1)
/// as the statistics are measured.
///
/// The buffer goes through a [`StreamAnalyzer`] in blocks of [`OFFLINE_BLOCK`], as a file
/// streamed by the CLI does, so both give the same analysis. Non-finite samples are concealed
/// (on a copy of each block) and reported as the decoder does it ([`super::sanitize`]), so
/// audio that did not come from the decoder is measured the same way.
pub fn analyze(
    sample_rate: u32,
    channels: &[Vec<f32>],
    options: &AnalyzeOptions,
    mut progress: impl FnMut(f64),
) -> Result<TrackAnalysis, AnalyzeError> {
    resolve(options)?;
    let layout = ChannelLayout::itu(channels.len())
        .ok_or(StatsError::Meter(MeterError::UnsupportedChannels(channels.len())))
        .map_err(TimelineError::from)?;
    let mut analyzer = StreamAnalyzer::new(sample_rate, &layout, options.from_s, options.to_s)?;
    let mut sanitizer = Sanitizer::new();
    let mut block: Vec<Vec<f32>> = vec![Vec::with_capacity(OFFLINE_BLOCK); channels.len()];
    let len = channels.iter().map(Vec::len).min().unwrap_or(0);
    let mut start = 0;
    while start < len {
        let end = (start + OFFLINE_BLOCK).min(len);
        for (copy, channel) in block.iter_mut().zip(channels) {
            copy.clear();
            copy.extend_from_slice(&channel[start..end]);
        }
        sanitizer.conceal(&mut block, start as u64, sample_rate);
        let views: Vec<&[f32]> = block.iter().map(Vec::as_slice).collect();
        analyzer.push(&views)?;
        start = end;
        progress(end as f64 / len.max(1) as f64);
    }
    let mut measured = analyzer.finish()?;
    measured.timeline.note_non_finite(&sanitizer.finish().frames);
    analyze_with_features(&measured.timeline, measured.features.as_ref(), options)
}

/// Analyses a filled timeline with the mono downmix of the same stream (for tempo, key,
/// sections and character; it may be shorter than the timeline, or empty, when only recent
/// audio was kept: it is taken to end where the timeline ends).
pub fn analyze_timeline(
    timeline: &Timeline,
    mono: &[f32],
    options: &AnalyzeOptions,
) -> Result<TrackAnalysis, AnalyzeError> {
    let (platform, genre) = resolve(options)?;
    let (from, to) = segment(timeline, options)?;
    let rate = timeline.sample_rate() as f64;
    let mono_start_s = timeline.duration_s() - mono.len() as f64 / rate;
    let a = (((from - mono_start_s) * rate).round().max(0.0) as usize).min(mono.len());
    let b = (((to - mono_start_s) * rate).round().max(0.0) as usize).clamp(a, mono.len());
    // Too short (or no downmix kept): no tempo, key, sections or character, the rest stands.
    let features = Features::compute(&mono[a..b], timeline.sample_rate()).ok();
    Ok(judge(timeline, features.as_ref(), (from, to), platform, genre))
}

/// Analyses a filled timeline with the spectral features of the stretch `options` asks for
/// (`None` when it is too short for them), as a [`StreamAnalyzer`] measured them.
pub fn analyze_with_features(
    timeline: &Timeline,
    features: Option<&Features>,
    options: &AnalyzeOptions,
) -> Result<TrackAnalysis, AnalyzeError> {
    let (platform, genre) = resolve(options)?;
    let segment = segment(timeline, options)?;
    Ok(judge(timeline, features, segment, platform, genre))
}

/// The stretch `options` ask for, inside the timeline: `(from, to)` seconds.
fn segment(timeline: &Timeline, options: &AnalyzeOptions) -> Result<(f64, f64), AnalyzeError> {
    let duration = timeline.duration_s();
    let from = options.from_s.unwrap_or(0.0).max(0.0);
    let to = options.to_s.unwrap_or(duration).min(duration);
    // Written so that a NaN bound (never from the CLI, but this is a library) is refused too.
    if to.partial_cmp(&from) != Some(std::cmp::Ordering::Greater) {
        return Err(AnalyzeError::EmptySegment {
            from: options.from_s.unwrap_or(0.0),
            to: options.to_s.unwrap_or(duration),
            duration,
        });
    }
    Ok((from, to))
}

/// Everything measured about the stretch `from`–`to` of `timeline`, whose spectral features
/// are `features`.
fn judge(
    timeline: &Timeline,
    features: Option<&Features>,
    (from, to): (f64, f64),
    platform: &Platform,
    genre: &GenreTarget,
) -> TrackAnalysis {
    let duration = timeline.duration_s();
    let loudness = timeline.loudness_between(from, to);
    let frames = timeline.frames_between(from, to);
    // Band levels are relative to the loudness of what the frames measured (a surround
    // stream's fold-down).
    let frames_lufs =
        timeline.fold_down_loudness_between(from, to).map_or(loudness.integrated_lufs, |r| r.integrated_lufs);
    let tonal_balance = tonal::measure(frames, frames_lufs, genre);
    let mut findings = findings::detect(timeline, from, to, &Context { platform, genre });
    // The track against itself: the bumps and dips of its long-term spectrum.
    let resonances =
        features.map_or_else(Vec::new, |f| resonance::measure(&f.ltas, f.ltas_bin_hz, timeline.sample_rate()));
    findings.extend(resonance::findings(&resonances, from, to));
    findings.sort_by(|a, b| a.start_s.total_cmp(&b.start_s).then((a.kind as u8).cmp(&(b.kind as u8))));

    let (tempo, key, sections, character, source) = match features {
        Some(f) => {
            let t = tempo::detect(f);
            let k = key::detect(f);
            (
                (t.confidence > 0.0).then(|| TempoEstimate {
                    bpm: t.bpm,
                    confidence: t.confidence,
                    alternatives_bpm: t.alternatives.iter().map(|&(bpm, _)| bpm).collect(),
                }),
                // No pitch at all (silence, pure noise): every key scores alike, confidence 0.
                (k.confidence > 0.0).then(|| KeyEstimate {
                    name: k.name(),
                    tonic: k.tonic,
                    mode: match k.mode {
                        Mode::Major => "major",
                        Mode::Minor => "minor",
                    },
                    confidence: k.confidence,
                }),
                sections::detect(f, from, timeline),
                character::describe(f, from, timeline),
                character::source(f, from, timeline),
            )
        }
        None => (None, None, Vec::new(), None, None),
    };
    TrackAnalysis {
        sample_rate: timeline.sample_rate(),
        channels: timeline.layout().channels(),
        duration_s: duration,
        from_s: from,
        to_s: to,
        platform: platform.clone(),
        genre: genre.id.clone(),
        loudness,
        tempo,
        key,
        sections,
        character,
        source,
        tonal_balance,
        resonances,
        findings,
    }
}
