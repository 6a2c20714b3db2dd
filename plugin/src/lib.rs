//! AudioCollab Assistant: a mixing chain (EQ, compressor, de-esser, pan/width) with an AI
//! assistant that explains every move. See the README for the thread model.
#![deny(missing_docs)]

pub mod dsp;
pub mod spec;
