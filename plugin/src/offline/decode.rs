//! Decoding audio files (WAV, AIFF, FLAC, MP3, Ogg Vorbis) into an [`AudioBuffer`] with
//! symphonia.
//!
//! Every failure is a [`DecodeError`] whose message names the file and says what the user can
//! do about it; nothing in here panics on a bad file (decoder panics are caught, see
//! [`decode_file`]).

use std::fs::File;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use symphonia::core::audio::{AudioBuffer as SymBuffer, AudioBufferRef, Signal};
use symphonia::core::codecs::{
    CodecParameters, CodecType, DecoderOptions, CODEC_TYPE_MP1, CODEC_TYPE_MP2, CODEC_TYPE_MP3, CODEC_TYPE_NULL,
    CODEC_TYPE_VORBIS,
};
use symphonia::core::conv::IntoSample;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;
use symphonia::core::sample::Sample;

use super::{speakers, AudioBuffer};
use crate::analysis::sanitize::{NonFinite, Sanitizer};
use crate::meter::ChannelLayout;

/// What the user can do when the format itself is the problem.
const CONVERT_HINT: &str = "convert it to WAV or FLAC first, e.g. `ffmpeg -i IN -c:a pcm_f32le out.wav`";

/// Why a file could not be decoded. Every message starts with `cannot read '<file>':`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The path does not exist.
    #[error("cannot read '{}': no such file; check the path and spelling", .path.display())]
    NotFound {
        /// The file.
        path: PathBuf,
    },
    /// The path is a directory or a device, not a file.
    #[error("cannot read '{}': it is not a regular file (a directory?); give the path of an audio file", .path.display())]
    NotAFile {
        /// The file.
        path: PathBuf,
    },
    /// Opening or reading failed (permissions, I/O error).
    #[error("cannot read '{}': {error}; check that the file is readable (permissions, disk, network share)", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error. Part of the message rather than a `#[source]`, so that
        /// printing the error chain does not repeat it.
        error: io::Error,
    },
    /// The file has zero bytes.
    #[error("cannot read '{}': the file is empty (0 bytes); it was probably not exported or copied completely", .path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// No supported container was recognised in the file's content.
    #[error(
        "cannot read '{}': not a recognised audio file (supported: WAV, AIFF, FLAC, MP3, Ogg Vorbis); \
         if it is audio in another format, {hint}", .path.display(), hint = CONVERT_HINT
    )]
    Unrecognised {
        /// The file.
        path: PathBuf,
    },
    /// The container was recognised but uses a codec or feature we cannot decode.
    #[error("cannot read '{}': unsupported {what}; {hint}", .path.display(), hint = CONVERT_HINT)]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What is unsupported, e.g. "codec ADPCM" or "feature: wav: ...".
        what: String,
    },
    /// The container has no track that carries audio.
    #[error("cannot read '{}': the file contains no audio track", .path.display())]
    NoAudioTrack {
        /// The file.
        path: PathBuf,
    },
    /// The data is malformed.
    #[error("cannot read '{}': the file is damaged ({detail}); re-export it from the source or repair it, e.g. `ffmpeg -i IN out.wav`", .path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where and what, for the user.
        detail: String,
    },
    /// A lossless file ends before the length its header declares.
    #[error(
        "cannot read '{}': the file is truncated: its header declares {expected} frames but only {decoded} \
         could be read ({missing:.3} s missing); it was probably cut short while copying or exporting, re-export it",
        .path.display(), missing = missing_secs(.expected, .decoded, .sample_rate)
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Frames declared by the header.
        expected: u64,
        /// Frames actually decoded.
        decoded: u64,
        /// Sample rate, for the message.
        sample_rate: u32,
    },
    /// Sample rate or channel count changes in the middle of the stream (chained Ogg, spliced
    /// MP3): one buffer cannot hold that.
    #[error("cannot read '{}': the stream changes {detail} part-way through; {hint}", .path.display(), hint = CONVERT_HINT)]
    FormatChange {
        /// The file.
        path: PathBuf,
        /// E.g. "sample rate from 44100 Hz to 48000 Hz".
        detail: String,
    },
    /// The file decodes to zero frames.
    #[error("cannot read '{}': the file contains no audio (0 samples)", .path.display())]
    ZeroLength {
        /// The file.
        path: PathBuf,
    },
    /// Every sample of the file is NaN or infinite: there is nothing to measure or process.
    #[error(
        "cannot read '{}': it has no valid samples (all {samples} are NaN or infinite); \
         the program that wrote it failed, export it again", .path.display()
    )]
    NoValidSamples {
        /// The file.
        path: PathBuf,
        /// Samples in the file (frames × channels).
        samples: u64,
    },
    /// The decoder library panicked on this file. Caught so that a damaged file can never
    /// crash the caller; the message is kept for bug reports.
    #[error("cannot read '{}': the decoder failed on damaged or unusual data ({message}); re-export the file as WAV or FLAC", .path.display())]
    DecoderPanic {
        /// The file.
        path: PathBuf,
        /// The panic message.
        message: String,
    },
}

impl DecodeError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            DecodeError::NotFound { path }
            | DecodeError::NotAFile { path }
            | DecodeError::Io { path, .. }
            | DecodeError::Empty { path }
            | DecodeError::Unrecognised { path }
            | DecodeError::Unsupported { path, .. }
            | DecodeError::NoAudioTrack { path }
            | DecodeError::Corrupt { path, .. }
            | DecodeError::Truncated { path, .. }
            | DecodeError::FormatChange { path, .. }
            | DecodeError::ZeroLength { path }
            | DecodeError::NoValidSamples { path, .. }
            | DecodeError::DecoderPanic { path, .. } => path,
        }
    }
}

/// A decoded file plus what the decoder had to do to get there.
#[derive(Clone, Debug)]
pub struct Decoded {
    /// The audio.
    pub audio: AudioBuffer,
    /// Codec name for reports ("PCM Signed 16-bit Little-Endian Interleaved", "MPEG Audio Layer 3"…).
    pub codec: String,
    /// Packets of a lossy stream that could not be decoded and were replaced by silence of the
    /// same length (see [`decode_file`]). Always 0 for lossless formats, which fail instead.
    pub concealed_packets: u64,
    /// Position of the first concealed packet, in frames.
    pub first_concealed_frame: Option<u64>,
    /// Which speaker each channel feeds, as the file states it or by default
    /// ([`speakers`]); `None` for more channels than the meters take (six).
    pub layout: Option<ChannelLayout>,
    /// Non-finite samples (NaN, ±∞) found in the file, which were concealed
    /// ([`crate::analysis::sanitize`]).
    pub non_finite: NonFinite,
}

/// Decodes a whole file. See [`decode_file`] for the policy on damaged data.
pub fn read_audio(path: &Path) -> Result<AudioBuffer, DecodeError> {
    read_audio_with_progress(path, &mut |_, _| {})
}

/// [`read_audio`] that calls `progress(frames_done, total_frames_if_known)` after each packet.
pub fn read_audio_with_progress(
    path: &Path,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<AudioBuffer, DecodeError> {
    decode_file(path, progress).map(|d| d.audio)
}

/// Decodes a whole file into planar `f32`, reporting progress as `(frames_done, total)`.
///
/// Policy on damaged data:
/// - **Lossless** (PCM WAV/AIFF, FLAC): any undecodable packet, a length shorter than the header
///   declares, or a FLAC MD5 mismatch is an error. A lossless file that does not decode exactly
///   is broken, and rendering it would silently produce a different song.
/// - **Lossy** (MP3, Vorbis): a damaged packet is replaced by silence of the same length, as
///   players do, because MP3s cut from streams routinely start with an undecodable frame. The
///   silence keeps later audio at its original time so stems stay aligned. More than a couple
///   of damaged packets, or more than 1 % of them, is an error.
/// - Data a demuxer skips while resynchronising shows up as a jump in packet timestamps: an
///   error for lossless formats, silence for Vorbis. (symphonia's MP3 reader numbers packets
///   itself, so frames it skips cannot be seen; the concealment count above still catches
///   the packets around real damage.)
/// - NaN and infinite samples of a float file are replaced by the line between their
///   neighbours and counted with their times ([`crate::analysis::sanitize`]); a file with no
///   other sample is [`DecodeError::NoValidSamples`].
///
/// Panics inside symphonia (it has had some on fuzzed input) are caught and returned as
/// [`DecodeError::DecoderPanic`]. A panic in `progress` is reported the same way.
pub fn decode_file(path: &Path, progress: &mut dyn FnMut(u64, Option<u64>)) -> Result<Decoded, DecodeError> {
    catch_decoder_panic(path, || decode_inner(path, progress))
}

/// Runs `f`, turning a panic into [`DecodeError::DecoderPanic`].
fn catch_decoder_panic<T>(path: &Path, f: impl FnOnce() -> Result<T, DecodeError>) -> Result<T, DecodeError> {
    // `AssertUnwindSafe`: after a panic everything `f` touched (reader, decoder, partial
    // buffers) is dropped, so no broken state can be observed.
    panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        Err(DecodeError::DecoderPanic { path: path.to_path_buf(), message })
    })
}

/// Lossy codecs get packet concealment instead of hard errors; see [`decode_file`].
fn is_lossy(codec: CodecType) -> bool {
    // A-law/µ-law are lossy encodings too, but they are plain per-sample PCM with a header
    // that states the exact length, so they are checked as strictly as linear PCM.
    [CODEC_TYPE_MP1, CODEC_TYPE_MP2, CODEC_TYPE_MP3, CODEC_TYPE_VORBIS].contains(&codec)
}

/// Upper bound on frames reserved up front. A damaged header can declare any length, and
/// trusting it could abort the process on allocation; beyond this the vectors simply grow.
const MAX_RESERVE_FRAMES: u64 = 1 << 24;

/// Upper bound on the silence inserted for one damaged packet, for the same reason: `dur` comes
/// from the (damaged) stream. Real MP3/Vorbis packets are at most a few thousand frames.
const MAX_CONCEAL_FRAMES: u64 = 8192;

/// Upper bound, in seconds, on the silence inserted for one gap in the timestamps.
const MAX_GAP_SECONDS: u64 = 10;

/// Total concealed frames after which a lossy file is given up as garbage (about 6 minutes at
/// 48 kHz): bounds the memory a stream of undecodable packets can make us allocate.
const MAX_CONCEALED_TOTAL: u64 = 1 << 24;

/// A container opened and its audio track chosen.
struct Opened {
    format: Box<dyn FormatReader>,
    track_id: u32,
    params: CodecParameters,
    codec_name: String,
    /// An AIFF/AIFC whose length comes from its COMM chunk.
    aiff: bool,
    /// The channel mask of a `WAVE_FORMAT_EXTENSIBLE` WAV.
    wav_mask: Option<u32>,
}

fn open(path: &Path) -> Result<Opened, DecodeError> {
    let owned = || path.to_path_buf();
    let io_error = |source: io::Error| match source.kind() {
        io::ErrorKind::NotFound => DecodeError::NotFound { path: owned() },
        _ => DecodeError::Io { path: owned(), error: source },
    };

    // Checked before opening: on Linux a directory opens fine and only fails on read, with a
    // less helpful message, and an empty file would otherwise surface as "unexpected EOF".
    let meta = std::fs::metadata(path).map_err(io_error)?;
    if !meta.is_file() {
        return Err(DecodeError::NotAFile { path: owned() });
    }
    if meta.len() == 0 {
        return Err(DecodeError::Empty { path: owned() });
    }
    let mut file = File::open(path).map_err(io_error)?;
    let aiff_frames = aiff_declared_frames(&mut file).map_err(io_error)?;
    let wav_mask = speakers::wav_channel_mask(&mut file).map_err(io_error)?;

    let mss = MediaSourceStream::new(Box::new(file), MediaSourceStreamOptions::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    // Gapless: MP3 (LAME tag) and Vorbis carry encoder delay/padding; trimming it keeps a
    // rendered file the same length as the original and aligned with its other stems.
    let format_opts = FormatOptions { enable_gapless: true, ..Default::default() };
    let probed = symphonia::default::get_probe()
        .format(&hint, mss, &format_opts, &MetadataOptions::default())
        .map_err(|e| open_error(path, e))?;
    let format = probed.format;

    let track = format
        .default_track()
        .filter(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .or_else(|| format.tracks().iter().find(|t| t.codec_params.codec != CODEC_TYPE_NULL))
        .ok_or_else(|| DecodeError::NoAudioTrack { path: owned() })?;
    let track_id = track.id;
    let mut params = track.codec_params.clone();
    if aiff_frames.is_some() {
        params.n_frames = aiff_frames;
    }
    let codec_name = symphonia::default::get_codecs()
        .get_codec(params.codec)
        .map(|d| d.long_name.to_string())
        .unwrap_or_else(|| format!("codec id {}", params.codec));
    Ok(Opened { format, track_id, params, codec_name, aiff: aiff_frames.is_some(), wav_mask })
}

/// The length an AIFF/AIFC file declares in its COMM chunk, or `None` for other files.
///
/// symphonia 0.5 derives an AIFF's length from the SSND chunk size without subtracting that
/// chunk's 8-byte offset/block-size header, so it over-counts by `8 / bytes_per_frame` frames
/// and, when another chunk follows SSND, decodes up to 8 bytes of that chunk as audio
/// (symphonia issue #309). COMM's `numSampleFrames` is the authoritative length; the decoder
/// output is cut to it. Leaves `file` positioned at the start.
fn aiff_declared_frames(file: &mut File) -> io::Result<Option<u64>> {
    use std::io::{Read, Seek, SeekFrom};

    let result = (|| -> io::Result<Option<u64>> {
        let mut header = [0u8; 12];
        if file.read_exact(&mut header).is_err()
            || &header[0..4] != b"FORM"
            || !matches!(&header[8..12], b"AIFF" | b"AIFC")
        {
            return Ok(None);
        }
        let len = file.metadata()?.len();
        let mut pos = 12u64;
        // Chunks are id + big-endian size + data padded to an even length. A damaged size just
        // ends the walk; symphonia then reports the damage itself.
        while pos + 8 <= len {
            file.seek(SeekFrom::Start(pos))?;
            let mut chunk = [0u8; 8];
            file.read_exact(&mut chunk)?;
            let size = u64::from(u32::from_be_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]));
            if &chunk[0..4] == b"COMM" {
                let mut comm = [0u8; 6];
                if size < 6 || file.read_exact(&mut comm).is_err() {
                    return Ok(None);
                }
                return Ok(Some(u64::from(u32::from_be_bytes([comm[2], comm[3], comm[4], comm[5]]))));
            }
            pos += 8 + size + (size & 1);
        }
        Ok(None)
    })();
    file.seek(SeekFrom::Start(0))?;
    result
}

/// What the file's header says, without decoding the audio.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamInfo {
    /// Sample rate, if the header states it.
    pub sample_rate: Option<u32>,
    /// Channel count, if the header states it.
    pub channels: Option<usize>,
    /// Length in frames, if the header states it (an estimate for MP3 without a Xing/LAME tag).
    pub frames: Option<u64>,
    /// Codec name.
    pub codec: String,
}

impl StreamInfo {
    /// Declared length in seconds, when both length and rate are known.
    pub fn duration_secs(&self) -> Option<f64> {
        Some(self.frames? as f64 / f64::from(self.sample_rate.filter(|&r| r > 0)?))
    }
}

/// Reads the header of `path` only: cheap, for deciding e.g. whether to show a progress bar
/// before a long decode. Errors are the same as [`decode_file`]'s for a bad header.
pub fn probe(path: &Path) -> Result<StreamInfo, DecodeError> {
    catch_decoder_panic(path, || {
        let opened = open(path)?;
        Ok(StreamInfo {
            sample_rate: opened.params.sample_rate,
            channels: opened.params.channels.map(|c| c.count()),
            frames: opened.params.n_frames,
            codec: opened.codec_name,
        })
    })
}

fn decode_inner(path: &Path, progress: &mut dyn FnMut(u64, Option<u64>)) -> Result<Decoded, DecodeError> {
    let owned = || path.to_path_buf();
    let Opened { mut format, track_id, params, codec_name, aiff, wav_mask } = open(path)?;

    let codecs = symphonia::default::get_codecs();
    // `verify` makes the FLAC decoder compute the MD5 of the decoded audio, checked in
    // `finalize` against STREAMINFO: the one check that catches silently corrupted FLAC data.
    let mut decoder = codecs.make(&params, &DecoderOptions { verify: true }).map_err(|e| match e {
        SymError::Unsupported(_) => DecodeError::Unsupported { path: owned(), what: format!("codec ({codec_name})") },
        e => stream_error(path, e, 0, params.sample_rate),
    })?;

    let lossy = is_lossy(params.codec);
    let total = params.n_frames.filter(|&n| n > 0);

    let mut sample_rate: Option<u32> = None;
    let mut channels: Vec<Vec<f32>> = Vec::new();
    let mut frames: u64 = 0;
    let mut packets: u64 = 0;
    let mut concealed: u64 = 0;
    let mut first_concealed: Option<u64> = None;
    // Silence owed for damaged packets seen before the first good one told us the channel count.
    let mut pending_silence: u64 = 0;
    // Where the next packet should start, to detect data skipped by the demuxer.
    let mut next_ts: Option<u64> = None;
    let mut concealed_frames: u64 = 0;
    let mut sanitizer = Sanitizer::new();

    loop {
        let packet = match format.next_packet() {
            Ok(packet) => packet,
            // How every symphonia demuxer signals the end of the stream.
            Err(SymError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            // The demuxer found a new logical stream (chained Ogg): the track list changed.
            Err(SymError::ResetRequired) => {
                return Err(DecodeError::FormatChange { path: owned(), detail: "to a new chained stream".into() })
            }
            Err(e) => return Err(stream_error(path, e, frames, sample_rate.or(params.sample_rate))),
        };
        if packet.track_id() != track_id {
            continue;
        }
        packets += 1;

        // A timestamp beyond the end of the previous packet means the demuxer skipped damaged
        // data to resynchronise (the FLAC and Ogg readers do this silently).
        if let Some(expected) = next_ts.filter(|&e| packet.ts > e) {
            let gap = packet.ts - expected;
            if !lossy {
                return Err(DecodeError::Corrupt {
                    path: owned(),
                    detail: match sample_rate.or(params.sample_rate) {
                        Some(sr) => format!("{gap} frames are missing at {}", timestamp(frames, sr)),
                        None => format!("{gap} frames are missing"),
                    },
                });
            }
            concealed += 1;
            first_concealed.get_or_insert(frames);
            // A lost Ogg page can hold a second or more, so gaps get a larger cap than packets.
            let cap = u64::from(sample_rate.or(params.sample_rate).unwrap_or(48_000)) * MAX_GAP_SECONDS;
            concealed_frames += insert_silence(&mut channels, &mut frames, &mut pending_silence, gap.min(cap));
        }
        next_ts = Some(packet.ts.saturating_add(packet.dur));

        match decoder.decode(&packet) {
            Ok(decoded) => {
                let spec = *decoded.spec();
                let n_channels = spec.channels.count();
                match sample_rate {
                    None => {
                        if spec.rate == 0 || n_channels == 0 {
                            return Err(DecodeError::Corrupt {
                                path: owned(),
                                detail: format!("{} Hz, {n_channels} channels", spec.rate),
                            });
                        }
                        sample_rate = Some(spec.rate);
                        let reserve = total.unwrap_or(0).min(MAX_RESERVE_FRAMES) as usize;
                        channels = (0..n_channels).map(|_| Vec::with_capacity(reserve)).collect();
                        for ch in &mut channels {
                            ch.resize(pending_silence as usize, 0.0);
                        }
                        frames = pending_silence;
                    }
                    Some(rate) if rate != spec.rate => {
                        return Err(DecodeError::FormatChange {
                            path: owned(),
                            detail: format!(
                                "sample rate from {rate} Hz to {} Hz at {}",
                                spec.rate,
                                timestamp(frames, rate)
                            ),
                        });
                    }
                    Some(rate) if channels.len() != n_channels => {
                        return Err(DecodeError::FormatChange {
                            path: owned(),
                            detail: format!(
                                "channel count from {} to {n_channels} at {}",
                                channels.len(),
                                timestamp(frames, rate)
                            ),
                        });
                    }
                    Some(_) => {}
                }
                append(&decoded, &mut channels);
                let mut fresh: Vec<&mut [f32]> = channels.iter_mut().map(|c| &mut c[frames as usize..]).collect();
                sanitizer.conceal(&mut fresh, frames, spec.rate);
                frames += decoded.frames() as u64;
            }
            Err(e @ (SymError::DecodeError(_) | SymError::IoError(_))) if lossy => {
                // An `IoError` from `decode` means the packet's own bytes ran out (a damaged
                // frame), not the file; the file's end is reported by `next_packet`.
                if let SymError::IoError(ref io) = e {
                    if io.kind() != io::ErrorKind::UnexpectedEof {
                        return Err(stream_error(path, e, frames, sample_rate.or(params.sample_rate)));
                    }
                }
                concealed += 1;
                first_concealed.get_or_insert(frames);
                let silence = packet.dur.min(MAX_CONCEAL_FRAMES);
                concealed_frames += insert_silence(&mut channels, &mut frames, &mut pending_silence, silence);
            }
            Err(SymError::Unsupported(what)) => {
                return Err(DecodeError::Unsupported { path: owned(), what: format!("feature ({what})") })
            }
            Err(e) => return Err(stream_error(path, e, frames, sample_rate.or(params.sample_rate))),
        }
        if concealed_frames > MAX_CONCEALED_TOTAL {
            // Checked inside the loop: a stream of garbage could otherwise grow the buffers
            // with silence without bound before the ratio check below ever runs.
            return Err(DecodeError::Corrupt {
                path: owned(),
                detail: format!(
                    "{concealed} packets could not be decoded, the first at frame {}",
                    first_concealed.unwrap_or(0)
                ),
            });
        }
        progress(frames, total);
    }

    let Some(sample_rate) = sample_rate else {
        // Packets existed but none decoded: the stream is garbage, not empty.
        return Err(if concealed > 0 {
            DecodeError::Corrupt { path: owned(), detail: format!("none of its {concealed} packets could be decoded") }
        } else {
            DecodeError::ZeroLength { path: owned() }
        });
    };
    if frames == 0 {
        return Err(DecodeError::ZeroLength { path: owned() });
    }
    // Two packets of slack covers the usual undecodable first frame of a cut MP3 (its bit
    // reservoir points into a frame that is not in the file) and a damaged last one.
    if concealed > 2 && concealed * 100 > packets {
        return Err(DecodeError::Corrupt {
            path: owned(),
            detail: format!(
                "{concealed} of {packets} packets could not be decoded, the first at {}",
                timestamp(first_concealed.unwrap_or(0), sample_rate)
            ),
        });
    }

    if !lossy {
        if let Some(expected) = total {
            if frames > expected && aiff {
                // The AIFF over-read (see `aiff_declared_frames`): the extra frames are bytes of
                // the next chunk, not audio. Other formats keep everything that decoded.
                for ch in &mut channels {
                    ch.truncate(expected as usize);
                }
                frames = expected;
            }
            if frames < expected && !is_streamed_wav_length(&params, expected) {
                return Err(DecodeError::Truncated { path: owned(), expected, decoded: frames, sample_rate });
            }
        }
        if decoder.finalize().verify_ok == Some(false) {
            return Err(DecodeError::Corrupt {
                path: owned(),
                detail: "the decoded audio does not match the file's MD5 checksum".into(),
            });
        }
    }

    let non_finite = sanitizer.finish();
    if non_finite.all_invalid() {
        return Err(DecodeError::NoValidSamples { path: owned(), samples: non_finite.total });
    }
    Ok(Decoded {
        layout: speakers::layout_of(params.codec, params.channels, wav_mask, channels.len()),
        audio: AudioBuffer { sample_rate, channels },
        codec: codec_name,
        concealed_packets: concealed,
        first_concealed_frame: first_concealed,
        non_finite,
    })
}

/// Conceals lost audio in a lossy stream with `frames` of silence, or owes it in `pending` until
/// the first good packet has told us the channel count. Returns `frames`.
fn insert_silence(channels: &mut [Vec<f32>], total: &mut u64, pending: &mut u64, frames: u64) -> u64 {
    if channels.is_empty() {
        *pending += frames;
    } else {
        for ch in channels.iter_mut() {
            ch.resize(ch.len() + frames as usize, 0.0);
        }
        *total += frames;
    }
    frames
}

/// Tools that write WAV to a pipe (`ffmpeg ... -f wav -`) cannot know the length and store
/// 0xFFFFFFFF as the data size. Such a file is shorter than its header "declares" without
/// being truncated, so it must not trip the truncation check.
fn is_streamed_wav_length(params: &CodecParameters, n_frames: u64) -> bool {
    let (Some(bits), Some(ch)) = (params.bits_per_coded_sample, params.channels) else {
        return false;
    };
    let frame_bytes = u64::from(bits.div_ceil(8)) * ch.count() as u64;
    frame_bytes > 0 && (n_frames + 1) * frame_bytes > u64::from(u32::MAX)
}

/// Copies one decoded packet onto the end of the planar output.
fn append(decoded: &AudioBufferRef<'_>, out: &mut [Vec<f32>]) {
    match decoded {
        AudioBufferRef::U8(b) => append_planes(b, out),
        AudioBufferRef::U16(b) => append_planes(b, out),
        AudioBufferRef::U24(b) => append_planes(b, out),
        AudioBufferRef::U32(b) => append_planes(b, out),
        AudioBufferRef::S8(b) => append_planes(b, out),
        AudioBufferRef::S16(b) => append_planes(b, out),
        AudioBufferRef::S24(b) => append_planes(b, out),
        AudioBufferRef::S32(b) => append_planes(b, out),
        AudioBufferRef::F32(b) => append_planes(b, out),
        AudioBufferRef::F64(b) => append_planes(b, out),
    }
}

fn append_planes<S: Sample + IntoSample<f32>>(src: &SymBuffer<S>, out: &mut [Vec<f32>]) {
    for (i, dst) in out.iter_mut().enumerate() {
        dst.extend(src.chan(i).iter().map(|&s| s.into_sample()));
    }
}

/// Classifies an error from probing/opening the container.
fn open_error(path: &Path, e: SymError) -> DecodeError {
    let path_buf = path.to_path_buf();
    match e {
        // The probe's own "no format reader found" means we do not know the content at all;
        // other `Unsupported` errors come from a reader that recognised its container.
        SymError::Unsupported(what) if what.starts_with("core (probe)") => DecodeError::Unrecognised { path: path_buf },
        SymError::Unsupported(what) => DecodeError::Unsupported { path: path_buf, what: format!("feature ({what})") },
        SymError::IoError(e) if e.kind() == io::ErrorKind::UnexpectedEof => DecodeError::Corrupt {
            path: path_buf,
            detail: "it ends inside its header; the file is truncated or is not audio".into(),
        },
        SymError::IoError(source) => DecodeError::Io { path: path_buf, error: source },
        SymError::DecodeError(msg) => DecodeError::Corrupt { path: path_buf, detail: msg.to_string() },
        other => DecodeError::Corrupt { path: path_buf, detail: other.to_string() },
    }
}

/// Classifies an error while reading or decoding packets at `frame`.
fn stream_error(path: &Path, e: SymError, frame: u64, sample_rate: Option<u32>) -> DecodeError {
    let path_buf = path.to_path_buf();
    let at = sample_rate.map(|sr| format!(" at {}", timestamp(frame, sr))).unwrap_or_default();
    match e {
        SymError::IoError(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            DecodeError::Corrupt { path: path_buf, detail: format!("data ends inside a packet{at}") }
        }
        SymError::IoError(source) => DecodeError::Io { path: path_buf, error: source },
        SymError::DecodeError(msg) => DecodeError::Corrupt { path: path_buf, detail: format!("{msg}{at}") },
        SymError::Unsupported(what) => DecodeError::Unsupported { path: path_buf, what: format!("feature ({what})") },
        other => DecodeError::Corrupt { path: path_buf, detail: format!("{other}{at}") },
    }
}

fn missing_secs(expected: &u64, decoded: &u64, sample_rate: &u32) -> f64 {
    seconds(expected.saturating_sub(*decoded), *sample_rate)
}

fn seconds(frames: u64, sample_rate: u32) -> f64 {
    if sample_rate == 0 {
        0.0
    } else {
        frames as f64 / f64::from(sample_rate)
    }
}

/// `m:ss.mmm`, the way editors show positions, so the user can find the damage.
fn timestamp(frame: u64, sample_rate: u32) -> String {
    let s = seconds(frame, sample_rate);
    format!("{}:{:06.3}", (s / 60.0).floor() as u64, s % 60.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_like_an_editor() {
        assert_eq!(timestamp(48_000 * 75 + 24_000, 48_000), "1:15.500");
        assert_eq!(timestamp(0, 44_100), "0:00.000");
    }

    #[test]
    fn missing_and_empty_files_are_errors_not_panics() {
        let dir = std::env::temp_dir().join(format!("audiocollab-decode-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.wav");
        assert!(matches!(read_audio(&missing), Err(DecodeError::NotFound { .. })));
        assert!(matches!(read_audio(&dir), Err(DecodeError::NotAFile { .. })));
        let empty = dir.join("empty.flac");
        std::fs::write(&empty, b"").unwrap();
        let err = read_audio(&empty).unwrap_err();
        assert!(matches!(err, DecodeError::Empty { .. }));
        assert!(err.to_string().starts_with(&format!("cannot read '{}'", empty.display())));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
