//! Writing WAV files with hound: a whole [`AudioBuffer`] ([`write_wav`]) or a stream of blocks
//! ([`WavOutput`]).

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

/// Writes `audio` as a WAV file in `format`: a [`WavOutput`] given the whole buffer at once.
///
/// The data goes to a temporary file next to `path` that is renamed over `path` only once it
/// is complete, so a failed or interrupted write never leaves a truncated WAV that looks valid
/// (or destroys an existing file of that name).
pub fn write_wav(path: &Path, audio: &AudioBuffer, format: WavFormat) -> Result<WriteReport, WriteError> {
    let invalid = |detail: String| WriteError::InvalidBuffer { path: path.to_path_buf(), detail };
    check_target(path, audio.num_channels(), audio.sample_rate)?;
    let frames = audio.frames();
    if audio.channels.iter().any(|c| c.len() != frames) {
        return Err(invalid("the channels have different lengths".into()));
    }
    // Checked before creating the file, with the whole length (the stream checks as it goes).
    let bytes = frames as u64 * audio.num_channels() as u64 * u64::from(format.bits() / 8);
    if bytes > MAX_DATA_BYTES {
        return Err(WriteError::TooLarge { path: path.to_path_buf(), bytes });
    }
    let mut output = WavOutput::create(path, audio.sample_rate, audio.num_channels(), format)?;
    output.write(&audio.channels)?;
    output.finish()
}

/// Largest sample data a WAV file holds: hound's 32-bit size fields, less [`HEADER_ALLOWANCE`].
const MAX_DATA_BYTES: u64 = u32::MAX as u64 - HEADER_ALLOWANCE;

/// The checks of an output that need no audio: not a directory, a channel count and a sample
/// rate a WAV file can store.
fn check_target(path: &Path, channels: usize, sample_rate: u32) -> Result<(), WriteError> {
    let invalid = |detail: String| WriteError::InvalidBuffer { path: path.to_path_buf(), detail };
    if path.is_dir() {
        return Err(WriteError::IsDirectory { path: path.to_path_buf() });
    }
    if channels == 0 || channels > usize::from(u16::MAX) {
        return Err(invalid(format!("{channels} channels cannot be stored in a WAV file")));
    }
    if sample_rate == 0 {
        return Err(invalid("the sample rate is 0 Hz".into()));
    }
    Ok(())
}

/// A WAV file written block by block, so a render never holds more than one block of audio.
///
/// Like [`write_wav`] it writes to a temporary file next to `path`, renamed over `path` by
/// [`WavOutput::finish`]; dropped without `finish` (an error upstream, a panic), it deletes the
/// temporary file and leaves `path` as it was. Samples beyond full scale are clipped and
/// counted as they are written, for integer formats.
pub struct WavOutput {
    path: PathBuf,
    tmp: PathBuf,
    /// `None` once finished.
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    format: WavFormat,
    channels: usize,
    bytes: u64,
    report: WriteReport,
}

impl WavOutput {
    /// Creates the temporary file for `channels` channels at `sample_rate` Hz in `format`.
    pub fn create(path: &Path, sample_rate: u32, channels: usize, format: WavFormat) -> Result<WavOutput, WriteError> {
        check_target(path, channels, sample_rate)?;
        let spec = hound::WavSpec {
            channels: channels as u16,
            sample_rate,
            bits_per_sample: format.bits(),
            sample_format: match format {
                WavFormat::Float32 => hound::SampleFormat::Float,
                WavFormat::Int16 | WavFormat::Int24 => hound::SampleFormat::Int,
            },
        };
        let tmp = temp_path(path);
        let writer = File::create(&tmp)
            .map_err(hound::Error::IoError)
            .and_then(|file| hound::WavWriter::new(BufWriter::new(file), spec));
        match writer {
            Ok(writer) => Ok(WavOutput {
                path: path.to_path_buf(),
                tmp,
                writer: Some(writer),
                format,
                channels,
                bytes: 0,
                report: WriteReport::default(),
            }),
            Err(e) => {
                // Best effort: the temp file is ours and useless now; a failure to delete it
                // must not hide the real error.
                let _ = fs::remove_file(&tmp);
                Err(io_error(path, e))
            }
        }
    }

    /// Appends a block: one slice per channel, all the same length (extra frames of a longer
    /// channel are not written).
    pub fn write<C: AsRef<[f32]>>(&mut self, block: &[C]) -> Result<(), WriteError> {
        if block.len() != self.channels {
            return Err(WriteError::InvalidBuffer {
                path: self.path.clone(),
                detail: format!("a block of {} channels for a {}-channel file", block.len(), self.channels),
            });
        }
        let frames = block.iter().map(|c| c.as_ref().len()).min().unwrap_or(0);
        let bytes = self.bytes + frames as u64 * self.channels as u64 * u64::from(self.format.bits() / 8);
        if bytes > MAX_DATA_BYTES {
            return Err(WriteError::TooLarge { path: self.path.clone(), bytes });
        }
        self.bytes = bytes;
        let Some(writer) = self.writer.as_mut() else { return Ok(()) };
        write_frames(writer, block, frames, self.format, &mut self.report).map_err(|e| io_error(&self.path, e))
    }

    /// Completes the file and renames it over the output path.
    pub fn finish(mut self) -> Result<WriteReport, WriteError> {
        let Some(writer) = self.writer.take() else { return Ok(self.report) };
        writer.finalize().map_err(|e| io_error(&self.path, e))?;
        fs::rename(&self.tmp, &self.path).map_err(|e| io_error(&self.path, hound::Error::IoError(e)))?;
        // Renamed: nothing left for `drop` to delete.
        self.tmp = PathBuf::new();
        Ok(self.report)
    }
}

impl Drop for WavOutput {
    fn drop(&mut self) {
        // Closed first, so hound's own finalisation in its `drop` does not write to a file we
        // are deleting (harmless on Unix, an error on Windows).
        drop(self.writer.take());
        if !self.tmp.as_os_str().is_empty() {
            // Best effort, as in `create`.
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

fn io_error(path: &Path, e: hound::Error) -> WriteError {
    let error = match e {
        hound::Error::IoError(io) => io,
        other => io::Error::other(other.to_string()),
    };
    WriteError::Io { path: path.to_path_buf(), error }
}

/// Interleaves `frames` frames of `block` into `writer`, rounding and clipping integers.
fn write_frames<C: AsRef<[f32]>>(
    writer: &mut hound::WavWriter<BufWriter<File>>,
    block: &[C],
    frames: usize,
    format: WavFormat,
    report: &mut WriteReport,
) -> hound::Result<()> {
    let scale = format.full_scale();
    // Largest/smallest integer codes; beyond them a sample clips.
    let (lo, hi) = (-scale, scale - 1.0);
    for frame in 0..frames {
        for channel in block {
            let x = channel.as_ref()[frame];
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
    Ok(())
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
