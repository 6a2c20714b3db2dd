//! Running a whole buffer through the plugin's [`Chain`], block by block, exactly as a host
//! would, so an offline render sounds like the plugin.

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

/// Processes `buffer` in place through a fresh [`Chain`] set to `settings`.
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
    let channels = buffer.num_channels();
    if !(1..=2).contains(&channels) {
        return Err(RenderError::UnsupportedChannels { channels });
    }
    if !(SAMPLE_RATE_RANGE.0..=SAMPLE_RATE_RANGE.1).contains(&buffer.sample_rate) {
        return Err(RenderError::UnsupportedSampleRate { sample_rate: buffer.sample_rate });
    }
    let frames = buffer.frames();
    if buffer.channels.iter().any(|c| c.len() != frames) {
        return Err(RenderError::InvalidBuffer("channels have different lengths".into()));
    }
    let block = block.max(1);
    let total = frames as u64;

    let mut chain = Chain::new(buffer.sample_rate as f32);
    chain.reset(settings);

    let mut done = 0u64;
    // One arm per layout so that the per-block slice list is a stack array, not a Vec.
    match buffer.channels.as_mut_slice() {
        [mono] => {
            for chunk in mono.chunks_mut(block) {
                done += chunk.len() as u64;
                chain.process(&mut [chunk], settings);
                progress(done, total);
            }
        }
        [left, right] => {
            for (l, r) in left.chunks_mut(block).zip(right.chunks_mut(block)) {
                done += l.len() as u64;
                chain.process(&mut [l, r], settings);
                progress(done, total);
            }
        }
        _ => unreachable!("channel count checked above"),
    }

    let mut count = 0u64;
    let mut first_frame = u64::MAX;
    for channel in &buffer.channels {
        for (i, s) in channel.iter().enumerate() {
            if !s.is_finite() {
                count += 1;
                first_frame = first_frame.min(i as u64);
            }
        }
    }
    if count > 0 {
        return Err(RenderError::NonFinite { count, first_frame });
    }
    Ok(())
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
