//! Offline processing: decode an audio file, run it through the same [`crate::dsp::Chain`] the
//! plugin uses, and write a WAV, in blocks so that memory does not grow with the length of the
//! file ([`render_file`]); or measure a file in one streamed pass ([`measure_file`]), such as
//! a reference track ([`mod@reference`]). The `audiocollab` CLI and the plugin's reference loader
//! are thin shells around this module, and the tests call it directly.
//!
//! Nothing here depends on the plugin framework, so it builds and runs without a host.

pub mod decode;
pub mod measure;
pub mod reference;
pub mod render;
pub mod speakers;
pub mod write;

pub use decode::{
    decode_file, probe, read_audio, read_audio_with_progress, AudioReader, DecodeError, DecodeSummary, Decoded,
    StreamInfo,
};
pub use measure::{measure_file, segment_features, MeasureError, MeasuredFile};
pub use render::{
    render, render_file, RenderError, RenderFileError, RenderSummary, Rendered, Renderer, RENDER_BLOCK,
    SAMPLE_RATE_RANGE,
};
pub use write::{check_writable, write_wav, WavFormat, WavOutput, WriteError, WriteReport};

/// Decoded audio in memory: planar `f32` at full scale ±1.0, one `Vec` per channel.
///
/// Planar because the DSP chain takes one slice per channel; decoding straight into that
/// layout avoids an interleave/deinterleave pass over the whole file.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioBuffer {
    /// Frames per second.
    pub sample_rate: u32,
    /// One vector per channel, all the same length.
    pub channels: Vec<Vec<f32>>,
}

impl AudioBuffer {
    /// Number of channels.
    pub fn num_channels(&self) -> usize {
        self.channels.len()
    }

    /// Number of frames (samples per channel). Uses the shortest channel so that a buffer
    /// built by hand with unequal channels can never be indexed out of bounds.
    pub fn frames(&self) -> usize {
        self.channels.iter().map(Vec::len).min().unwrap_or(0)
    }

    /// Length in seconds (0 when the sample rate is 0).
    pub fn duration_secs(&self) -> f64 {
        if self.sample_rate == 0 {
            0.0
        } else {
            self.frames() as f64 / f64::from(self.sample_rate)
        }
    }

    /// Largest absolute sample value over all channels. NaN samples are ignored by `f32::max`,
    /// which is why [`render()`] checks for non-finite output separately.
    pub fn peak(&self) -> f32 {
        self.channels.iter().flatten().fold(0.0f32, |m, s| m.max(s.abs()))
    }

    /// [`AudioBuffer::peak`] in dBFS; `-inf` for digital silence.
    pub fn peak_dbfs(&self) -> f32 {
        crate::dsp::decibel::gain_to_db(f64::from(self.peak())) as f32
    }
}
