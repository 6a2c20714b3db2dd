//! Writing an [`AudioBuffer`] to a WAV file with hound.

use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use super::AudioBuffer;

/// Sample format of the written file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WavFormat {
    /// 16-bit integer. Values beyond full scale are clipped (and counted).
    Int16,
    /// 24-bit integer. Values beyond full scale are clipped (and counted).
    Int24,
    /// 32-bit float: the default, because a boost in the chain can push peaks above 0 dBFS and
    /// float keeps them, so the user can turn the file down later without damage.
    #[default]
    Float32,
}

impl WavFormat {
    /// Bits per sample.
    pub fn bits(self) -> u16 {
        match self {
            WavFormat::Int16 => 16,
            WavFormat::Int24 => 24,
            WavFormat::Float32 => 32,
        }
    }

    /// Human-readable name ("16-bit", "32-bit float").
    pub fn label(self) -> &'static str {
        match self {
            WavFormat::Int16 => "16-bit",
            WavFormat::Int24 => "24-bit",
            WavFormat::Float32 => "32-bit float",
        }
    }

    /// Full-scale factor of an integer format. Matches how symphonia decodes integers
    /// (`s / 2^(bits-1)`), so decode → write at the same depth is bit-exact.
    fn full_scale(self) -> f32 {
        match self {
            WavFormat::Int16 => 32_768.0,
            WavFormat::Int24 => 8_388_608.0,
            WavFormat::Float32 => 1.0,
        }
    }
}

/// What writing did to the signal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Samples (not frames) that were beyond full scale and were clipped. Always 0 for float.
    pub clipped_samples: u64,
}

/// Why the output file could not be written. Every message starts with `cannot write '<file>':`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// Creating, writing or renaming failed.
    #[error("cannot write '{}': {error}; check that the folder exists, is writable and the disk is not full", .path.display())]
    Io {
        /// The output file.
        path: PathBuf,
        /// The operating system's error, part of the message (not a `#[source]`, so that printing
        /// the chain does not repeat it).
        error: io::Error,
    },
    /// The output path names a directory.
    #[error("cannot write '{}': it is a directory; give a file name such as '{}'", .path.display(), .path.join("out.wav").display())]
    IsDirectory {
        /// The output path.
        path: PathBuf,
    },
    /// The audio does not fit in a WAV file (4 GiB limit of its 32-bit size fields).
    #[error("cannot write '{}': {bytes} bytes of audio exceed the 4 GiB limit of WAV; use a smaller bit depth or split the file", .path.display())]
    TooLarge {
        /// The output file.
        path: PathBuf,
        /// Bytes of sample data that would have been written.
        bytes: u64,
    },
    /// The buffer cannot be stored as WAV (no channels, sample rate 0, channels of unequal length).
    #[error("cannot write '{}': {detail}", .path.display())]
    InvalidBuffer {
        /// The output file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

/// Headroom for the RIFF header inside hound's 32-bit size fields (the largest header it
/// writes, WAVE_FORMAT_EXTENSIBLE, is well under this). Checked up front because hound's size
/// counter is a `u32` that would overflow (and panic in debug builds) instead of erroring.
const HEADER_ALLOWANCE: u64 = 1024;

/// Writes `audio` as a WAV file in `format`.
///
/// The data goes to a temporary file next to `path` that is renamed over `path` only once it
/// is complete, so a failed or interrupted write never leaves a truncated WAV that looks valid
/// (or destroys an existing file of that name).
pub fn write_wav(path: &Path, audio: &AudioBuffer, format: WavFormat) -> Result<WriteReport, WriteError> {
    let owned = || path.to_path_buf();
    let invalid = |detail: String| WriteError::InvalidBuffer { path: owned(), detail };

    if path.is_dir() {
        return Err(WriteError::IsDirectory { path: owned() });
    }
    let n_channels = audio.num_channels();
    if n_channels == 0 || n_channels > usize::from(u16::MAX) {
        return Err(invalid(format!("{n_channels} channels cannot be stored in a WAV file")));
    }
    if audio.sample_rate == 0 {
        return Err(invalid("the sample rate is 0 Hz".into()));
    }
    let frames = audio.frames();
    if audio.channels.iter().any(|c| c.len() != frames) {
        return Err(invalid("the channels have different lengths".into()));
    }
    let bytes = frames as u64 * n_channels as u64 * u64::from(format.bits() / 8);
    if bytes > u64::from(u32::MAX) - HEADER_ALLOWANCE {
        return Err(WriteError::TooLarge { path: owned(), bytes });
    }

    let spec = hound::WavSpec {
        channels: n_channels as u16,
        sample_rate: audio.sample_rate,
        bits_per_sample: format.bits(),
        sample_format: match format {
            WavFormat::Float32 => hound::SampleFormat::Float,
            WavFormat::Int16 | WavFormat::Int24 => hound::SampleFormat::Int,
        },
    };

    let tmp = temp_path(path);
    let result = write_to(&tmp, spec, audio, format).and_then(|report| {
        fs::rename(&tmp, path)?;
        Ok(report)
    });
    result.map_err(|e| {
        // Best effort: the temp file is ours and useless now; a failure to delete it must not
        // hide the real error.
        let _ = fs::remove_file(&tmp);
        let error = match e {
            hound::Error::IoError(io) => io,
            other => io::Error::other(other.to_string()),
        };
        WriteError::Io { path: owned(), error }
    })
}

fn write_to(tmp: &Path, spec: hound::WavSpec, audio: &AudioBuffer, format: WavFormat) -> hound::Result<WriteReport> {
    let file = File::create(tmp)?;
    let mut writer = hound::WavWriter::new(BufWriter::new(file), spec)?;
    let mut report = WriteReport::default();
    let scale = format.full_scale();
    // Largest/smallest integer codes; beyond them a sample clips.
    let (lo, hi) = (-scale, scale - 1.0);
    for frame in 0..audio.frames() {
        for channel in &audio.channels {
            let x = channel[frame];
            match format {
                WavFormat::Float32 => writer.write_sample(x)?,
                WavFormat::Int16 | WavFormat::Int24 => {
                    // Plain rounding, no dither: the renders are mixing references, not
                    // masters, and undithered output keeps identity renders bit-exact.
                    let v = (x * scale).round();
                    if !(lo..=hi).contains(&v) {
                        report.clipped_samples += 1;
                    }
                    let v = v.clamp(lo, hi) as i32;
                    if format == WavFormat::Int16 {
                        writer.write_sample(v as i16)?;
                    } else {
                        writer.write_sample(v)?;
                    }
                }
            }
        }
    }
    writer.finalize()?;
    Ok(report)
}

/// Checks, without touching `path` itself, that a WAV could be created there: not a directory,
/// and its folder accepts a new file. The CLI calls this before decoding so that a typo in the
/// output path fails in a millisecond instead of after minutes of rendering.
pub fn check_writable(path: &Path) -> Result<(), WriteError> {
    if path.is_dir() {
        return Err(WriteError::IsDirectory { path: path.to_path_buf() });
    }
    let tmp = temp_path(path);
    File::create(&tmp).map_err(|error| WriteError::Io { path: path.to_path_buf(), error })?;
    // Best effort: an empty hidden file left behind is harmless, an error here is not the user's.
    let _ = fs::remove_file(&tmp);
    Ok(())
}

/// Hidden sibling of `path`, unique per process, so two renders into the same folder do not
/// collide.
fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out.wav".into());
    path.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_formats_round_and_count_clipping() {
        let dir = std::env::temp_dir().join(format!("audiocollab-write-unit-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("clip.wav");
        let audio = AudioBuffer { sample_rate: 48_000, channels: vec![vec![0.5, -1.0, 1.0, 1.5, -2.0]] };
        let report = write_wav(&path, &audio, WavFormat::Int16).unwrap();
        // 1.0 → 32768 does not fit (max 32767), 1.5 and −2.0 neither; −1.0 → −32768 does.
        assert_eq!(report.clipped_samples, 3);
        let samples: Vec<i16> = hound::WavReader::open(&path).unwrap().samples().map(Result::unwrap).collect();
        assert_eq!(samples, vec![16_384, -32_768, 32_767, 32_767, -32_768]);
        assert!(!temp_path(&path).exists(), "temp file must be renamed away");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unwritable_destinations_are_errors() {
        let audio = AudioBuffer { sample_rate: 48_000, channels: vec![vec![0.0; 4]] };
        let dir = std::env::temp_dir();
        assert!(matches!(write_wav(&dir, &audio, WavFormat::Float32), Err(WriteError::IsDirectory { .. })));
        let missing = dir.join("audiocollab-no-such-dir-9f3c/out.wav");
        let err = write_wav(&missing, &audio, WavFormat::Float32).unwrap_err();
        assert!(matches!(err, WriteError::Io { .. }), "{err}");
        assert!(err.to_string().starts_with("cannot write '"), "{err}");
        let empty = AudioBuffer { sample_rate: 48_000, channels: vec![] };
        assert!(matches!(write_wav(&missing, &empty, WavFormat::Float32), Err(WriteError::InvalidBuffer { .. })));
    }
}
