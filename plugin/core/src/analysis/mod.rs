//! Measurements of what is played, off the audio thread: loudness, a timeline of statistics
//! frames, tempo, key, sections, character, tonal balance against targets, and findings.
//! Nothing here depends on the plugin framework; the plugin's worker and the CLI run the same
//! code ([`track::analyze`], [`track::analyze_timeline`]).

pub mod character;
pub mod findings;
pub mod key;
pub mod levels;
pub mod loudness;
pub mod sanitize;
pub mod sections;
pub mod spectral;
pub mod stream;
pub mod targets;
pub mod tempo;
pub mod timeline;
pub mod tonal;
pub mod track;
