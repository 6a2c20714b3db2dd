//! Running audio through the plugin's [`Chain`], block by block, exactly as a host would, so an
//! offline render sounds like the plugin: a whole buffer ([`render`]) or a file streamed from
//! decoder to WAV writer ([`render_file`]).

use std::path::Path;

use super::decode::{AudioReader, DecodeError, DecodeSummary};
use super::write::{WavFormat, WavOutput, WriteError, WriteReport};
use super::AudioBuffer;
use crate::dsp::Chain;
use crate::spec::Settings;

/// Block size used by the CLI: a typical host buffer, so the chain's once-per-block work
/// (parameter snapshots, smoother targets) runs at the rate it does in a DAW.
pub const RENDER_BLOCK: usize = 1024;

/// Sample rates the offline renderer accepts, in Hz. The chain's filters clamp their
/// frequencies to 0.45 × the sample rate, which stops making sense (and trips a `clamp`
/// assertion below about 11 Hz); 8 kHz is the lowest rate real audio files use, and 768 kHz
/// the highest any converter produces.
pub const SAMPLE_RATE_RANGE: (u32, u32) = (8_000, 768_000);

/// Why a buffer could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The chain handles mono and stereo only.
    #[error(
        "the chain processes mono or stereo audio, but this file has {channels} channels; \
         downmix it first, e.g. `ffmpeg -i IN -ac 2 out.wav`"
    )]
    UnsupportedChannels {
        /// Channels in the buffer.
        channels: usize,
    },
    /// The sample rate is outside [`SAMPLE_RATE_RANGE`].
    #[error(
        "the chain runs at {min} Hz to {max} Hz, but this file is {sample_rate} Hz; \
         resample it first, e.g. `ffmpeg -i IN -ar 48000 out.wav`",
        min = SAMPLE_RATE_RANGE.0, max = SAMPLE_RATE_RANGE.1
    )]
    UnsupportedSampleRate {
        /// The buffer's sample rate.
        sample_rate: u32,
    },
    /// A hand-built buffer whose channels differ in length.
    #[error("invalid audio buffer: {0}")]
    InvalidBuffer(String),
    /// The chain produced NaN or infinity. The chain guards against this, so it is a bug; it is
    /// reported rather than written because NaN in a WAV can damage speakers and DAW sessions.
    #[error(
        "the processing chain produced {count} invalid (NaN/infinite) samples, the first at frame {first_frame}; \
         this is a bug, please report it with the --set options you used"
    )]
    NonFinite {
        /// Number of non-finite samples.
        count: u64,
        /// Frame of the first one.
        first_frame: u64,
    },
}

/// Processes `buffer` in place through a fresh [`Chain`] set to `settings`: a [`Renderer`]
/// given the buffer block by block.
///
/// The chain is [`Chain::reset`] to `settings` first, so smoothers start at their targets and
/// the render has no fade-in from the defaults. `block` is the processing block size (the
/// CLI uses [`RENDER_BLOCK`]); 0 is treated as 1. `progress(frames_done, total_frames)` is
/// called after every block.
pub fn render(
    buffer: &mut AudioBuffer,
    settings: &Settings,
    block: usize,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), RenderError> {
    let mut renderer = Renderer::new(buffer.sample_rate, buffer.num_channels(), settings)?;
    let frames = buffer.frames();
    if buffer.channels.iter().any(|c| c.len() != frames) {
        return Err(RenderError::InvalidBuffer("channels have different lengths".into()));
    }
    let block = block.max(1);
    let total = frames as u64;
    // One arm per layout so that the per-block slice list is a stack array, not a Vec.
    match buffer.channels.as_mut_slice() {
        [mono] => {
            for chunk in mono.chunks_mut(block) {
                renderer.process(&mut [chunk]);
                progress(renderer.frames(), total);
            }
        }
        [left, right] => {
            for (l, r) in left.chunks_mut(block).zip(right.chunks_mut(block)) {
                renderer.process(&mut [l, r]);
                progress(renderer.frames(), total);
            }
        }
        _ => unreachable!("channel count checked by Renderer::new"),
    }
    renderer.finish().map(|_| ())
}

/// What a render produced, measured as it went.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rendered {
    /// Frames processed.
    pub frames: u64,
    /// Largest absolute output sample over all channels (NaN is ignored, as in
    /// [`AudioBuffer::peak`]).
    pub peak: f32,
}

/// The chain applied to a stream, block by block: the blocks a caller passes, in order, are
/// processed exactly as [`render`] processes a whole buffer cut into blocks of the same sizes,
/// so a streamed render and an in-memory one are identical to the bit. Keeps the figures the
/// report needs (output peak, non-finite samples) as it goes, so nothing has to be kept.
pub struct Renderer {
    chain: Chain,
    settings: Settings,
    channels: usize,
    frames: u64,
    peak: f32,
    non_finite: u64,
    first_non_finite: u64,
}

impl Renderer {
    /// A fresh chain for `channels` (1 or 2) at `sample_rate` Hz, [`Chain::reset`] to `settings`.
    pub fn new(sample_rate: u32, channels: usize, settings: &Settings) -> Result<Renderer, RenderError> {
        if !(1..=2).contains(&channels) {
            return Err(RenderError::UnsupportedChannels { channels });
        }
        if !(SAMPLE_RATE_RANGE.0..=SAMPLE_RATE_RANGE.1).contains(&sample_rate) {
            return Err(RenderError::UnsupportedSampleRate { sample_rate });
        }
        let mut chain = Chain::new(sample_rate as f32);
        chain.reset(settings);
        Ok(Renderer {
            chain,
            settings: *settings,
            channels,
            frames: 0,
            peak: 0.0,
            non_finite: 0,
            first_non_finite: u64::MAX,
        })
    }

    /// Frames processed so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Processes one block in place: one slice per channel (as many as [`Renderer::new`] was
    /// given), all the same length. The block size is the host buffer the chain sees.
    pub fn process(&mut self, block: &mut [&mut [f32]]) {
        debug_assert_eq!(block.len(), self.channels, "one slice per channel");
        self.chain.process(block, &self.settings);
        let len = block.iter().map(|c| c.len()).min().unwrap_or(0);
        for channel in block.iter() {
            for (i, &s) in channel.iter().enumerate() {
                self.peak = self.peak.max(s.abs());
                if !s.is_finite() {
                    self.non_finite += 1;
                    self.first_non_finite = self.first_non_finite.min(self.frames + i as u64);
                }
            }
        }
        self.frames += len as u64;
    }

    /// [`Renderer::process`] for a block held as one `Vec` per channel.
    pub fn process_planar(&mut self, block: &mut [Vec<f32>]) {
        match block {
            [mono] => self.process(&mut [mono.as_mut_slice()]),
            [left, right] => self.process(&mut [left.as_mut_slice(), right.as_mut_slice()]),
            // `new` refused other counts; a mismatched block is a caller's bug, left untouched.
            _ => debug_assert!(false, "{} channels for a {}-channel renderer", block.len(), self.channels),
        }
    }

    /// The figures of the whole render, or [`RenderError::NonFinite`] when the chain produced
    /// NaN or infinity anywhere.
    pub fn finish(self) -> Result<Rendered, RenderError> {
        if self.non_finite > 0 {
            return Err(RenderError::NonFinite { count: self.non_finite, first_frame: self.first_non_finite });
        }
        Ok(Rendered { frames: self.frames, peak: self.peak })
    }
}

/// Why [`render_file`] failed: the input, the chain or the output.
#[derive(Debug, thiserror::Error)]
pub enum RenderFileError {
    /// The input could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The chain cannot process it, or produced invalid samples.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The output could not be written.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// What [`render_file`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderSummary {
    /// Frames per second.
    pub sample_rate: u32,
    /// Channels.
    pub channels: usize,
    /// The render's figures.
    pub rendered: Rendered,
    /// What writing did to the signal.
    pub written: WriteReport,
    /// What decoding did.
    pub decoded: DecodeSummary,
}

impl RenderSummary {
    /// Length in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.rendered.frames as f64 / f64::from(self.sample_rate.max(1))
    }
}

/// Decodes `input`, runs it through the chain and writes `output` in blocks of `block` frames
/// (0 is treated as 1): memory does not depend on the length of the file, and the output is
/// the one [`decode_file`](super::decode_file), [`render`] and [`write_wav`](super::write_wav)
/// give. `progress(frames_done, total_if_known)` is called after every block.
///
/// The output appears only once everything succeeded, including the decoder's end-of-stream
/// checks (see [`AudioReader::finish`]); on any error it is left as it was.
pub fn render_file(
    input: &Path,
    output: &Path,
    settings: &Settings,
    format: WavFormat,
    block: usize,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<RenderSummary, RenderFileError> {
    let mut reader = AudioReader::open(input)?;
    let (sample_rate, channels, total) = (reader.sample_rate(), reader.channels(), reader.header_frames());
    let mut renderer = Renderer::new(sample_rate, channels, settings)?;
    let mut out = WavOutput::create(output, sample_rate, channels, format)?;
    let block = block.max(1);
    let mut buffer: Vec<Vec<f32>> = (0..channels).map(|_| Vec::with_capacity(block)).collect();
    loop {
        buffer.iter_mut().for_each(Vec::clear);
        if reader.read(&mut buffer, block)? == 0 {
            break;
        }
        renderer.process_planar(&mut buffer);
        out.write(&buffer)?;
        progress(renderer.frames(), total);
    }
    // In the order a whole-buffer render meets them: the input, the chain, the output.
    let decoded = reader.finish()?;
    let rendered = renderer.finish()?;
    let written = out.finish()?;
    Ok(RenderSummary { sample_rate, channels, rendered, written, decoded })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_more_than_two_channels_and_bad_buffers() {
        let mut quad = AudioBuffer { sample_rate: 48_000, channels: vec![vec![0.0; 8]; 4] };
        let err = render(&mut quad, &Settings::default(), 4, &mut |_, _| {}).unwrap_err();
        assert_eq!(err, RenderError::UnsupportedChannels { channels: 4 });
        assert!(err.to_string().contains("4 channels"));
        let mut ragged = AudioBuffer { sample_rate: 48_000, channels: vec![vec![0.0; 8], vec![0.0; 7]] };
        assert!(matches!(
            render(&mut ragged, &Settings::default(), 4, &mut |_, _| {}),
            Err(RenderError::InvalidBuffer(_))
        ));
        for sample_rate in [0, 1, 7_999, 768_001] {
            let mut odd = AudioBuffer { sample_rate, channels: vec![vec![0.1; 8]] };
            let err = render(&mut odd, &Settings::default(), 4, &mut |_, _| {}).unwrap_err();
            assert_eq!(err, RenderError::UnsupportedSampleRate { sample_rate });
        }
    }

    #[test]
    fn reports_progress_to_the_last_frame_with_a_partial_block() {
        let mut audio = AudioBuffer { sample_rate: 48_000, channels: vec![vec![0.1; 2500]; 2] };
        let mut calls = Vec::new();
        render(&mut audio, &Settings::default(), 1024, &mut |done, total| calls.push((done, total))).unwrap();
        assert_eq!(calls, vec![(1024, 2500), (2048, 2500), (2500, 2500)]);
    }
}
