//! Framework-free DSP: processors on plain `f32` slices, driven by a [`Settings`] snapshot.
//! The plugin, the CLI and the tests all run this same code.

pub mod chain;

pub use chain::Chain;
pub use crate::spec::Settings;
