//! Character: an energy / mood description with the measures behind it, and the kind of source
//! (drums, bass, vocal, guitar, keys, full mix) with a confidence.
//!
//! SKELETON: owned by the structure work.

use super::spectral::Features;
use super::timeline::Timeline;
use serde::Serialize;

/// Calm ↔ energetic and dark ↔ bright, with the measures behind them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Character {
    /// 0 (calm) … 1 (energetic).
    pub energy: f32,
    /// 0 (dark) … 1 (bright).
    pub brightness: f32,
    /// A short description, English.
    pub description_en: String,
    /// The same in French.
    pub description_fr: String,
}

/// What is playing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A drum kit or percussion.
    Drums,
    /// A bass instrument.
    Bass,
    /// A voice.
    Vocal,
    /// A guitar.
    Guitar,
    /// Piano, organ, synth pads.
    Keys,
    /// A full mix.
    FullMix,
}

/// The likeliest source kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Source {
    /// The likeliest kind.
    pub kind: SourceKind,
    /// 0 … 1.
    pub confidence: f32,
}

/// Describes the character of the stretch of `timeline` that `features` were computed on
/// (the features' time 0 is `start_s` seconds into the timeline).
pub fn describe(_features: &Features, _start_s: f64, _timeline: &Timeline) -> Option<Character> {
    None
}

/// Guesses what is playing.
pub fn source(_features: &Features, _start_s: f64, _timeline: &Timeline) -> Option<Source> {
    None
}
