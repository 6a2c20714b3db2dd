//! The whole processing chain (interface placeholder: being written now).
use crate::spec::Settings;

/// The processing chain.
pub struct Chain {
    sample_rate: f32,
}

impl Chain {
    /// A chain for this sample rate, 1 or 2 channels.
    pub fn new(sample_rate: f32) -> Self {
        Self { sample_rate }
    }
    /// Clears state and jumps every smoother to `settings`.
    pub fn reset(&mut self, settings: &Settings) {
        let _ = (settings, self.sample_rate);
    }
    /// Processes in place.
    pub fn process(&mut self, channels: &mut [&mut [f32]], settings: &Settings) {
        let _ = (channels, settings);
    }
    /// Current gain reduction of the compressor, dB (positive).
    pub fn gain_reduction_db(&self) -> f32 {
        0.0
    }
}
