//! Measurements of what is played, off the audio thread: tempo, key (and, as they land,
//! loudness and tonal balance). Nothing here depends on the plugin framework.

pub mod key;
pub mod loudness;
pub mod spectral;
pub mod tempo;
