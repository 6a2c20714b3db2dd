//! AudioCollab Assistant's sound layer, shared by the plugin, the assistant and the command
//! line: the parameter table ([`spec`]), the processing chain ([`dsp`]), the realtime meters
//! ([`meter`]), the measurements ([`analysis`]), audio files in and out ([`offline`]), the
//! languages ([`lang`]), times and numbers as the reader sees them ([`text`]), and the guards
//! for untrusted text ([`untrusted`]).
//!
//! No plugin framework, window, async runtime or network here: everything runs the same in a
//! host, on the command line and in the tests.
#![deny(missing_docs)]

pub mod analysis;
pub mod dsp;
pub mod lang;
pub mod meter;
pub mod offline;
pub mod spec;
pub mod text;
pub mod untrusted;
