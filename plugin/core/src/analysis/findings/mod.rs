//! Findings: each problem the measurements show, with kind, severity, start–end time, the
//! measured value, the threshold it broke and a short explanation in French and English.
//!
//! Every check reads the [`Timeline`] (never the audio), one family per file:
//!
//! * `samples`: samples that are not numbers (NaN, ±∞), from the frames' counts (times
//!   within 100 ms);
//! * `peaks`: clipping, inter-sample overs, true peak above the platform's ceiling, from the
//!   10 ms cells (times within 10 ms);
//! * `dynamics`: too loud / too quiet for the platform, over-compression (PLR over the whole
//!   stretch and over 3 s windows), excessive loudness range;
//! * `spectrum`: harshness, sibilance, mud, boom, thin low end, dull top, against the genre's
//!   balance over 1 s windows, so a harsh chorus is found where it is;
//! * `stereo`: a channel in opposite polarity and narrow stereo, over the whole stretch; phase
//!   problems and mono fold-down loss, over 1 s windows;
//! * `resonance`: bumps and dips of the long-term spectrum against the track's own smoothed
//!   spectrum (boom, mud, boxiness, harshness, sibilance; thin low end, hollow mids, dull top),
//!   with their frequency, gain and Q, over the whole stretch (from the spectral features, not
//!   the timeline: [`resonance::measure`] and [`resonance::findings`]);
//! * `floor`: DC offset (5 s windows), noise floor of the quiet passages, silence at the
//!   head and tail (10 ms cells).
//!
//! Windowed checks place a window at its centre, so a change is located to within half a
//! window (the DC check, whose windows only pass when steady throughout, places them by their
//! extent); the threshold of each check and its reasoning sit next to it as a named constant,
//! with the severity rule of the kind. Explanations are short, plain, give the numbers and
//! what to try; the French uses a decimal comma.

mod dynamics;
mod floor;
mod peaks;
pub mod resonance;
mod samples;
mod spans;
mod spectrum;
mod stereo;
mod text;

pub use text::{kind_name, severity_name};

use super::loudness::LoudnessReport;
use super::targets::{GenreTarget, Platform};
use super::timeline::{CellPeak, FrameStats, Timeline};
use crate::dsp::decibel::{db_to_power, gain_to_db, power_to_db};
use serde::Serialize;

/// What kind of problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// Samples that are not numbers (NaN or ±∞), left out of every measure. Value: their
    /// count (summed over the channels).
    NonFiniteSamples,
    /// Runs of samples at full scale. Value: clipped samples (summed over the channels).
    Clipping,
    /// Inter-sample peaks above full scale with sample peaks below it. Value: highest true
    /// peak, dBTP.
    InterSampleOvers,
    /// True peak above the platform's ceiling. Value: highest true peak, dBTP.
    TruePeakOverTarget,
    /// Integrated loudness above the platform's target. Value: integrated loudness; threshold:
    /// the platform's target, LUFS.
    TooLoud,
    /// Integrated loudness below the platform's target. Value and threshold as [`Self::TooLoud`].
    TooQuiet,
    /// Low peak-to-loudness ratio. Value: PLR of the stretch, LU.
    OverCompressed,
    /// A loudness range too wide for the genre. Value: LRA, LU.
    ExcessiveDynamics,
    /// Too much 2–5 kHz. Value: balance of the region against the genre's, dB.
    Harshness,
    /// Too much 5–9 kHz. Value as [`Self::Harshness`].
    Sibilance,
    /// Too much 200–500 Hz. Value as [`Self::Harshness`].
    Mud,
    /// Too much below 120 Hz. Value as [`Self::Harshness`].
    Boom,
    /// Too little low end (40–160 Hz). Value as [`Self::Harshness`] (negative).
    ThinLowEnd,
    /// Too little top end (5–12.5 kHz). Value as [`Self::Harshness`] (negative).
    DullTop,
    /// Negative stereo correlation. Value: correlation of the stretch, −1 … 1.
    PhaseProblem,
    /// Loudness lost when folded down to mono. Value: mono level against the stereo one, dB.
    MonoCompatibility,
    /// A DC offset. Value: the mean, % of full scale (signed, the worse channel).
    DcOffset,
    /// Noise or hiss under quiet passages. Value: level of the passage's quieter half, dBFS RMS.
    NoiseFloor,
    /// Silence at the head. Value: its length, s.
    SilenceHead,
    /// Silence at the tail. Value: its length, s.
    SilenceTail,
    /// One channel in opposite polarity: the low band, which mixes keep near mono, has more
    /// side than mid. Value: the low band's correlation, −1 … 1.
    PolarityInverted,
    /// Stereo far narrower than released stereo music, without being mono. Value: side-to-mid
    /// ratio, dB.
    NarrowStereo,
    /// A bump of 400 Hz–1 kHz above the track's own smoothed spectrum ([`resonance`]). Value:
    /// its height, dB.
    Boxiness,
    /// A dip of 200 Hz–4.5 kHz below the track's own smoothed spectrum ([`resonance`]). Value:
    /// its depth, dB (negative).
    HollowMids,
}

impl FindingKind {
    /// The snake_case name, as in the JSON.
    pub fn id(self) -> &'static str {
        match self {
            FindingKind::NonFiniteSamples => "non_finite_samples",
            FindingKind::Clipping => "clipping",
            FindingKind::InterSampleOvers => "inter_sample_overs",
            FindingKind::TruePeakOverTarget => "true_peak_over_target",
            FindingKind::TooLoud => "too_loud",
            FindingKind::TooQuiet => "too_quiet",
            FindingKind::OverCompressed => "over_compressed",
            FindingKind::ExcessiveDynamics => "excessive_dynamics",
            FindingKind::Harshness => "harshness",
            FindingKind::Sibilance => "sibilance",
            FindingKind::Mud => "mud",
            FindingKind::Boom => "boom",
            FindingKind::ThinLowEnd => "thin_low_end",
            FindingKind::DullTop => "dull_top",
            FindingKind::PhaseProblem => "phase_problem",
            FindingKind::MonoCompatibility => "mono_compatibility",
            FindingKind::DcOffset => "dc_offset",
            FindingKind::NoiseFloor => "noise_floor",
            FindingKind::SilenceHead => "silence_head",
            FindingKind::SilenceTail => "silence_tail",
            FindingKind::PolarityInverted => "polarity_inverted",
            FindingKind::NarrowStereo => "narrow_stereo",
            FindingKind::Boxiness => "boxiness",
            FindingKind::HollowMids => "hollow_mids",
        }
    }
}

/// How much it matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Worth fixing.
    Warning,
    /// Must be fixed before release.
    Problem,
}

/// One problem, where it happens and why it is one.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// What kind of problem.
    pub kind: FindingKind,
    /// How much it matters.
    pub severity: Severity,
    /// Start, seconds from the start of the file (or stream).
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// The measured value.
    pub value: f64,
    /// The threshold it broke.
    pub threshold: f64,
    /// Unit of `value` and `threshold` (`dBFS`, `dBTP`, `LUFS`, `LU`, `dB`, `%`, `s`,
    /// `samples`, `correlation`).
    pub unit: String,
    /// A short plain explanation, English.
    pub explanation_en: String,
    /// The same in French.
    pub explanation_fr: String,
}

/// What the findings are judged against.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// Delivery platform (loudness and true-peak targets).
    pub platform: &'a Platform,
    /// Genre (tonal balance and dynamics expectations).
    pub genre: &'a GenreTarget,
}

/// Every finding in `[t0, t1]` seconds of the timeline, in time order (then in the order of
/// [`FindingKind`]).
pub fn detect(timeline: &Timeline, t0: f64, t1: f64, ctx: &Context) -> Vec<Finding> {
    let Some(scope) = Scope::new(timeline, t0, t1) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if samples::detect(&scope, &mut out) {
        // Nothing but NaN and infinity: every other check would judge the silence they were
        // measured as.
        return out;
    }
    peaks::detect(&scope, ctx, &mut out);
    dynamics::detect(&scope, ctx, &mut out);
    spectrum::detect(&scope, ctx, &mut out);
    stereo::detect(&scope, &mut out);
    floor::detect(&scope, &mut out);
    out.sort_by(|a, b| a.start_s.total_cmp(&b.start_s).then((a.kind as u8).cmp(&(b.kind as u8))));
    out
}

/// The stretch being judged, with what every check needs from it.
struct Scope<'a> {
    timeline: &'a Timeline,
    /// Start and end, seconds, clamped to the stream.
    t0: f64,
    t1: f64,
    /// Frames inside the stretch.
    frames: &'a [FrameStats],
    /// 10 ms cells starting inside the stretch.
    cells: Vec<CellPeak>,
    /// Loudness of the stretch.
    report: LoudnessReport,
    /// 1 or 2.
    channels: usize,
    /// Power mean of the frames' mean squares over the non-silent frames, full scale²: the
    /// level of the body of the track, which quiet passages are measured against.
    active_ms: Option<f64>,
}

impl<'a> Scope<'a> {
    fn new(timeline: &'a Timeline, t0: f64, t1: f64) -> Option<Self> {
        let t0 = if t0.is_finite() { t0.max(0.0) } else { 0.0 };
        let t1 = if t1.is_finite() { t1.min(timeline.duration_s()) } else { timeline.duration_s() };
        let frames = timeline.frames_between(t0, t1);
        if t1 <= t0 || frames.is_empty() {
            return None;
        }
        let eps = 1e-6;
        let cells: Vec<CellPeak> =
            timeline.cell_peaks().filter(|c| c.start_s >= t0 - eps && c.start_s < t1 - eps).collect();
        let channels = timeline.channels();
        let silence = db_to_power(super::tonal::SILENCE_DB);
        let (sum, n) = frames
            .iter()
            .map(|f| f.mean_square(channels))
            .filter(|&ms| ms >= silence)
            .fold((0.0, 0usize), |(s, n), ms| (s + ms, n + 1));
        Some(Self {
            timeline,
            t0,
            t1,
            frames,
            cells,
            report: timeline.loudness_between(t0, t1),
            channels,
            active_ms: (n > 0).then(|| sum / n as f64),
        })
    }

    /// Whether `[start, end]` covers the whole stretch (within a frame).
    fn is_whole(&self, start: f64, end: f64) -> bool {
        start <= self.t0 + 0.1 && end >= self.t1 - 0.1
    }

    /// Frames overlapping `[start, end)`.
    fn frames_in(&self, start: f64, end: f64) -> &'a [FrameStats] {
        let a = self.frames.partition_point(|f| f.end_s() <= start + 1e-9);
        let b = self.frames.partition_point(|f| f.start_s < end - 1e-9).max(a);
        &self.frames[a..b]
    }
}

/// Level in dB of a power ratio or mean square, floored at −200 dB so no −∞ or NaN escapes.
fn power_db(x: f64) -> f64 {
    power_to_db(x.max(1e-20))
}

/// Level in dB of an amplitude ratio, floored at −200 dB.
fn amp_db(x: f64) -> f64 {
    gain_to_db(x.max(1e-10))
}
