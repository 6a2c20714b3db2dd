//! Framework-free DSP: processors on plain `f32` slices, driven by a [`Settings`] snapshot.
//! The plugin, the CLI and the tests all run this same code; nothing here knows about
//! nice-plug.

pub mod biquad;
pub mod chain;
pub mod compressor;
pub mod decibel;
pub mod deesser;
pub mod eq;
pub mod fastmath;
pub mod measure;
pub mod smooth;
pub mod stereo;

pub use crate::spec::Settings;
pub use chain::Chain;
