//! Findings: each problem the measurements show, with kind, severity, start–end time, the
//! measured value, the threshold it broke and a short explanation in French and English.
//!
//! SKELETON: owned by the findings work.

use super::targets::{GenreTarget, Platform};
use super::timeline::Timeline;
use serde::Serialize;

/// What kind of problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// Runs of samples at full scale.
    Clipping,
    /// Inter-sample peaks above full scale with sample peaks below it.
    InterSampleOvers,
    /// True peak above the platform's ceiling.
    TruePeakOverTarget,
    /// Integrated loudness above the platform's target.
    TooLoud,
    /// Integrated loudness below the platform's target.
    TooQuiet,
    /// Low peak-to-loudness ratio.
    OverCompressed,
    /// A loudness range too wide for the genre.
    ExcessiveDynamics,
    /// Too much 2–5 kHz.
    Harshness,
    /// Too much 5–9 kHz.
    Sibilance,
    /// Too much 200–500 Hz.
    Mud,
    /// Too much below 120 Hz.
    Boom,
    /// Too little low end.
    ThinLowEnd,
    /// Too little top end.
    DullTop,
    /// Negative stereo correlation.
    PhaseProblem,
    /// Loudness lost when folded down to mono.
    MonoCompatibility,
    /// A DC offset.
    DcOffset,
    /// Noise or hiss under quiet passages.
    NoiseFloor,
    /// Silence at the head.
    SilenceHead,
    /// Silence at the tail.
    SilenceTail,
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
    /// Unit of `value` and `threshold` (`dBFS`, `dBTP`, `LUFS`, `LU`, `dB`, `%`, `s`, …).
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

/// Every finding in `[t0, t1]` seconds of the timeline, in time order.
pub fn detect(_timeline: &Timeline, _t0: f64, _t1: f64, _ctx: &Context) -> Vec<Finding> {
    Vec::new()
}
