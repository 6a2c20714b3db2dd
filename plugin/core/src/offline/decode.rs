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
    CodecParameters, CodecType, Decoder, DecoderOptions, CODEC_TYPE_MP1, CODEC_TYPE_MP2, CODEC_TYPE_MP3,
    CODEC_TYPE_NULL, CODEC_TYPE_VORBIS,
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

/// What reading a whole stream took, known once [`AudioReader::finish`] has checked its end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeSummary {
    /// Codec name, as in [`Decoded::codec`].
    pub codec: String,
    /// Frames in the stream: all that [`AudioReader::read`] can hand out.
    pub frames: u64,
    /// As in [`Decoded::concealed_packets`].
    pub concealed_packets: u64,
    /// As in [`Decoded::first_concealed_frame`].
    pub first_concealed_frame: Option<u64>,
    /// As in [`Decoded::non_finite`].
    pub non_finite: NonFinite,
}

/// Decodes a whole file. See [`decode_file`] for the policy on damaged data.
pub fn read_audio(path: &Path) -> Result<AudioBuffer, DecodeError> {
    read_audio_with_progress(path, &mut |_, _| {})
}

/// [`read_audio`] that calls `progress(frames_done, total_frames_if_known)` as it goes.
pub fn read_audio_with_progress(
    path: &Path,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<AudioBuffer, DecodeError> {
    decode_file(path, progress).map(|d| d.audio)
}

/// Frames per [`AudioReader::read`] when [`decode_file`] fills a whole buffer: only sets how
/// often `progress` is called.
const DECODE_CHUNK: usize = 4096;

/// Decodes a whole file into planar `f32`, reporting progress as `(frames_done, total)`.
///
/// This is [`AudioReader`] read to the end into one buffer, for callers that need all of the
/// audio at once (the plugin's demo player, tests); the CLI streams instead, so its memory does
/// not grow with the length of the file.
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
    catch_decoder_panic(path, || {
        let mut reader = AudioReader::open(path)?;
        let total = reader.header_frames();
        let reserve = total.unwrap_or(0).min(MAX_RESERVE_FRAMES) as usize;
        let mut channels: Vec<Vec<f32>> = (0..reader.channels()).map(|_| Vec::with_capacity(reserve)).collect();
        let mut done = 0u64;
        loop {
            let n = reader.read(&mut channels, DECODE_CHUNK)?;
            if n == 0 {
                break;
            }
            done += n as u64;
            progress(done, total);
        }
        let (sample_rate, layout) = (reader.sample_rate(), reader.layout());
        let summary = reader.finish()?;
        Ok(Decoded {
            audio: AudioBuffer { sample_rate, channels },
            codec: summary.codec,
            concealed_packets: summary.concealed_packets,
            first_concealed_frame: summary.first_concealed_frame,
            layout,
            non_finite: summary.non_finite,
        })
    })
}

/// Runs `f`, turning a panic into [`DecodeError::DecoderPanic`].
fn catch_decoder_panic<T>(path: &Path, f: impl FnOnce() -> Result<T, DecodeError>) -> Result<T, DecodeError> {
    // `AssertUnwindSafe`: after a panic everything `f` touched (reader, decoder, partial
    // buffers) is dropped or, for an [`AudioReader`], refuses further use, so no broken state
    // can be observed.
    panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        Err(DecodeError::DecoderPanic { path: path.to_path_buf(), message: panic_message(payload) })
    })
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
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

/// A file decoded as a stream: [`AudioReader::read`] hands out planar `f32` frames in the
/// order of the file, as many as asked for, so a consumer can work in blocks of its own size
/// (the renderer's 1024 frames, the analysis' 4096) and memory does not grow with the length of
/// the file. [`decode_file`] is this reader read to the end into one buffer; both apply the
/// same policy on damaged data (see there).
///
/// The checks that need the whole stream (a lossless file shorter than its header declares, a
/// FLAC MD5 mismatch, too many concealed packets) run in [`AudioReader::finish`]: a consumer
/// must call it, and discard what it made from the audio when it fails.
///
/// Every decoded packet goes through `load_packet` (symphonia's buffer to our planar `f32`):
/// per-packet steps on the samples belong there, once, for every caller.
///
/// Panics inside symphonia are caught as in [`decode_file`]; after one, the reader refuses
/// further use with the same [`DecodeError::DecoderPanic`].
pub struct AudioReader {
    path: PathBuf,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track_id: u32,
    params: CodecParameters,
    codec_name: String,
    lossy: bool,
    /// Length the header declares, if it does (and is not 0).
    total: Option<u64>,
    /// Frames beyond this are dropped: the AIFF over-read (see `aiff_declared_frames`). Other
    /// formats keep everything that decodes.
    limit: Option<u64>,
    /// Known once the first packet decoded, which [`AudioReader::open`] waits for.
    sample_rate: Option<u32>,
    /// The current packet in planar `f32`, one `Vec` per channel, and how much of it was read.
    packet: Vec<Vec<f32>>,
    packet_pos: usize,
    /// Silence for concealed packets or gaps, to hand out before the current packet.
    owed_silence: u64,
    /// Frames decoded or concealed so far (positions in messages; before the first good packet
    /// the silence owed for damaged ones is not counted yet, it starts the stream).
    frames: u64,
    /// Frames handed out by `read`.
    emitted: u64,
    packets: u64,
    concealed: u64,
    first_concealed: Option<u64>,
    concealed_frames: u64,
    /// Where the next packet should start, to detect data skipped by the demuxer.
    next_ts: Option<u64>,
    ended: bool,
    /// The message of a panic caught in an earlier call.
    panicked: Option<String>,
    /// Conceals and counts non-finite samples, packet by packet.
    sanitizer: Sanitizer,
    /// Which speaker each channel feeds (known with the channel count).
    layout: Option<ChannelLayout>,
}

impl AudioReader {
    /// Opens `path` and decodes up to its first audio, so that [`AudioReader::sample_rate`] and
    /// [`AudioReader::channels`] are known. Errors as [`decode_file`]'s.
    pub fn open(path: &Path) -> Result<AudioReader, DecodeError> {
        catch_decoder_panic(path, || {
            let owned = || path.to_path_buf();
            let Opened { format, track_id, params, codec_name, aiff, wav_mask } = open(path)?;
            // `verify` makes the FLAC decoder compute the MD5 of the decoded audio, checked in
            // `finish` against STREAMINFO: the one check that catches silently corrupted FLAC data.
            let decoder = symphonia::default::get_codecs().make(&params, &DecoderOptions { verify: true }).map_err(
                |e| match e {
                    SymError::Unsupported(_) => {
                        DecodeError::Unsupported { path: owned(), what: format!("codec ({codec_name})") }
                    }
                    e => stream_error(path, e, 0, params.sample_rate),
                },
            )?;
            let lossy = is_lossy(params.codec);
            let total = params.n_frames.filter(|&n| n > 0);
            let mut reader = AudioReader {
                path: owned(),
                format,
                decoder,
                track_id,
                codec_name,
                lossy,
                total,
                limit: total.filter(|_| aiff && !lossy),
                params,
                sample_rate: None,
                packet: Vec::new(),
                packet_pos: 0,
                owed_silence: 0,
                frames: 0,
                emitted: 0,
                packets: 0,
                concealed: 0,
                first_concealed: None,
                concealed_frames: 0,
                next_ts: None,
                ended: false,
                panicked: None,
                sanitizer: Sanitizer::new(),
                layout: None,
            };
            while reader.sample_rate.is_none() && reader.pull()? {}
            if reader.sample_rate.is_none() {
                // Packets existed but none decoded: the stream is garbage, not empty.
                return Err(if reader.concealed > 0 {
                    DecodeError::Corrupt {
                        path: owned(),
                        detail: format!("none of its {} packets could be decoded", reader.concealed),
                    }
                } else {
                    DecodeError::ZeroLength { path: owned() }
                });
            }
            reader.layout =
                speakers::layout_of(reader.params.codec, reader.params.channels, wav_mask, reader.channels());
            Ok(reader)
        })
    }

    /// Frames per second.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate.unwrap_or_default()
    }

    /// Channels.
    pub fn channels(&self) -> usize {
        self.packet.len()
    }

    /// Which speaker each channel feeds, as the file states it or by default ([`speakers`]);
    /// `None` for more channels than the meters take (six).
    pub fn layout(&self) -> Option<ChannelLayout> {
        self.layout
    }

    /// The length the header declares, if it does (an estimate for MP3 without a Xing/LAME tag).
    pub fn header_frames(&self) -> Option<u64> {
        self.total
    }

    /// Frames handed out so far.
    pub fn frames_read(&self) -> u64 {
        self.emitted
    }

    /// Appends up to `max_frames` frames to `out`, one `Vec` per channel (`out` is given one per
    /// channel first), and returns how many; fewer only at the end of the stream, 0 after it.
    pub fn read(&mut self, out: &mut Vec<Vec<f32>>, max_frames: usize) -> Result<usize, DecodeError> {
        out.resize_with(self.channels(), Vec::new);
        self.guarded(|reader| {
            let mut n = 0;
            while n < max_frames {
                let room = (max_frames - n) as u64;
                if reader.owed_silence > 0 {
                    let take = reader.owed_silence.min(room);
                    reader.owed_silence -= take;
                    let keep = reader.keep(take);
                    for ch in out.iter_mut() {
                        ch.resize(ch.len() + keep, 0.0);
                    }
                    n += keep;
                } else if reader.packet_left() > 0 {
                    let take = (reader.packet_left() as u64).min(room);
                    let (from, keep) = (reader.packet_pos, reader.keep(take));
                    for (ch, src) in out.iter_mut().zip(&reader.packet) {
                        ch.extend_from_slice(&src[from..from + keep]);
                    }
                    reader.packet_pos += take as usize;
                    n += keep;
                } else if !reader.pull()? {
                    break;
                }
            }
            Ok(n)
        })
    }

    /// Reads the rest of the stream, if any, and runs the checks that need its end (see
    /// [`decode_file`]); the summary of the whole stream when it passes.
    pub fn finish(mut self) -> Result<DecodeSummary, DecodeError> {
        self.guarded(|reader| {
            let path = reader.path.clone();
            // What was not read is counted, then dropped, up to the end.
            loop {
                reader.keep(reader.owed_silence);
                reader.owed_silence = 0;
                let left = reader.packet_left();
                reader.keep(left as u64);
                reader.packet_pos += left;
                if !reader.pull()? {
                    break;
                }
            }
            let sample_rate = reader.sample_rate();
            if reader.frames == 0 {
                return Err(DecodeError::ZeroLength { path });
            }
            let (concealed, packets) = (reader.concealed, reader.packets);
            // Two packets of slack covers the usual undecodable first frame of a cut MP3 (its bit
            // reservoir points into a frame that is not in the file) and a damaged last one.
            if concealed > 2 && concealed * 100 > packets {
                return Err(DecodeError::Corrupt {
                    path,
                    detail: format!(
                        "{concealed} of {packets} packets could not be decoded, the first at {}",
                        timestamp(reader.first_concealed.unwrap_or(0), sample_rate)
                    ),
                });
            }
            if !reader.lossy {
                // `frames` counts what decoded, before the AIFF cut: never less than was kept.
                if let Some(expected) = reader.total {
                    if reader.frames < expected && !is_streamed_wav_length(&reader.params, expected) {
                        return Err(DecodeError::Truncated { path, expected, decoded: reader.frames, sample_rate });
                    }
                }
                if reader.decoder.finalize().verify_ok == Some(false) {
                    return Err(DecodeError::Corrupt {
                        path,
                        detail: "the decoded audio does not match the file's MD5 checksum".into(),
                    });
                }
            }
            let non_finite = std::mem::take(&mut reader.sanitizer).finish();
            if non_finite.all_invalid() {
                return Err(DecodeError::NoValidSamples { path, samples: non_finite.total });
            }
            Ok(DecodeSummary {
                codec: reader.codec_name.clone(),
                frames: reader.emitted,
                concealed_packets: reader.concealed,
                first_concealed_frame: reader.first_concealed,
                non_finite,
            })
        })
    }

    /// Runs `f` on the reader, turning a panic into [`DecodeError::DecoderPanic`] now and on
    /// every later call.
    fn guarded<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, DecodeError>) -> Result<T, DecodeError> {
        let panicked =
            |reader: &Self, message: String| DecodeError::DecoderPanic { path: reader.path.clone(), message };
        if let Some(message) = &self.panicked {
            return Err(panicked(self, message.clone()));
        }
        match panic::catch_unwind(AssertUnwindSafe(|| f(&mut *self))) {
            Ok(result) => result,
            Err(payload) => {
                let message = panic_message(payload);
                self.panicked = Some(message.clone());
                Err(panicked(self, message))
            }
        }
    }

    /// Frames of the current packet not read yet.
    fn packet_left(&self) -> usize {
        self.packet.first().map_or(0, |p| p.len() - self.packet_pos)
    }

    /// Of `frames` about to be handed out, how many to keep under `limit`; counts them.
    fn keep(&mut self, frames: u64) -> usize {
        let keep = self.limit.map_or(frames, |limit| frames.min(limit.saturating_sub(self.emitted)));
        self.emitted += keep;
        keep as usize
    }

    /// Reads the next packet of the track: decoded into `packet`, or silence owed for a damaged
    /// one or a gap before it. `false` at the end of the stream.
    fn pull(&mut self) -> Result<bool, DecodeError> {
        if self.ended {
            return Ok(false);
        }
        let packet = loop {
            match self.format.next_packet() {
                Ok(packet) if packet.track_id() == self.track_id => break packet,
                Ok(_) => {}
                // How every symphonia demuxer signals the end of the stream.
                Err(SymError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.ended = true;
                    return Ok(false);
                }
                // The demuxer found a new logical stream (chained Ogg): the track list changed.
                Err(SymError::ResetRequired) => {
                    return Err(DecodeError::FormatChange {
                        path: self.path.clone(),
                        detail: "to a new chained stream".into(),
                    })
                }
                Err(e) => return Err(stream_error(&self.path, e, self.frames, self.rate())),
            }
        };
        self.packets += 1;

        // A timestamp beyond the end of the previous packet means the demuxer skipped damaged
        // data to resynchronise (the FLAC and Ogg readers do this silently).
        if let Some(expected) = self.next_ts.filter(|&e| packet.ts > e) {
            let gap = packet.ts - expected;
            if !self.lossy {
                return Err(DecodeError::Corrupt {
                    path: self.path.clone(),
                    detail: match self.rate() {
                        Some(sr) => format!("{gap} frames are missing at {}", timestamp(self.frames, sr)),
                        None => format!("{gap} frames are missing"),
                    },
                });
            }
            // A lost Ogg page can hold a second or more, so gaps get a larger cap than packets.
            let cap = u64::from(self.rate().unwrap_or(48_000)) * MAX_GAP_SECONDS;
            self.conceal(gap.min(cap));
        }
        self.next_ts = Some(packet.ts.saturating_add(packet.dur));

        match self.decoder.decode(&packet) {
            Ok(decoded) => {
                let spec = *decoded.spec();
                let n_channels = spec.channels.count();
                match self.sample_rate {
                    None => {
                        if spec.rate == 0 || n_channels == 0 {
                            return Err(DecodeError::Corrupt {
                                path: self.path.clone(),
                                detail: format!("{} Hz, {n_channels} channels", spec.rate),
                            });
                        }
                        self.sample_rate = Some(spec.rate);
                        self.packet = vec![Vec::new(); n_channels];
                        // The silence owed for damaged packets before this one starts the stream.
                        self.frames = self.owed_silence;
                    }
                    Some(rate) if rate != spec.rate => {
                        return Err(DecodeError::FormatChange {
                            path: self.path.clone(),
                            detail: format!(
                                "sample rate from {rate} Hz to {} Hz at {}",
                                spec.rate,
                                timestamp(self.frames, rate)
                            ),
                        });
                    }
                    Some(rate) if self.packet.len() != n_channels => {
                        return Err(DecodeError::FormatChange {
                            path: self.path.clone(),
                            detail: format!(
                                "channel count from {} to {n_channels} at {}",
                                self.packet.len(),
                                timestamp(self.frames, rate)
                            ),
                        });
                    }
                    Some(_) => {}
                }
                load_packet(&decoded, &mut self.packet);
                self.packet_pos = 0;
                self.sanitizer.conceal(&mut self.packet, self.frames, spec.rate);
                self.frames += decoded.frames() as u64;
            }
            Err(e @ (SymError::DecodeError(_) | SymError::IoError(_))) if self.lossy => {
                // An `IoError` from `decode` means the packet's own bytes ran out (a damaged
                // frame), not the file; the file's end is reported by `next_packet`.
                if let SymError::IoError(ref io) = e {
                    if io.kind() != io::ErrorKind::UnexpectedEof {
                        return Err(stream_error(&self.path, e, self.frames, self.rate()));
                    }
                }
                self.conceal(packet.dur.min(MAX_CONCEAL_FRAMES));
            }
            Err(SymError::Unsupported(what)) => {
                return Err(DecodeError::Unsupported { path: self.path.clone(), what: format!("feature ({what})") })
            }
            Err(e) => return Err(stream_error(&self.path, e, self.frames, self.rate())),
        }
        if self.concealed_frames > MAX_CONCEALED_TOTAL {
            // Checked per packet: a stream of garbage must not owe silence without bound.
            return Err(DecodeError::Corrupt {
                path: self.path.clone(),
                detail: format!(
                    "{} packets could not be decoded, the first at frame {}",
                    self.concealed,
                    self.first_concealed.unwrap_or(0)
                ),
            });
        }
        Ok(true)
    }

    /// The sample rate decoded so far, else the header's.
    fn rate(&self) -> Option<u32> {
        self.sample_rate.or(self.params.sample_rate)
    }

    /// Conceals lost audio in a lossy stream with `frames` of silence.
    fn conceal(&mut self, frames: u64) {
        self.concealed += 1;
        self.first_concealed.get_or_insert(self.frames);
        self.owed_silence += frames;
        self.concealed_frames += frames;
        if self.sample_rate.is_some() {
            self.frames += frames;
        }
    }
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

/// Replaces `out` (one `Vec` per channel, already the packet's channel count) with one decoded
/// packet in planar `f32`. The one place a decoded packet becomes our samples: per-packet steps
/// (sanitising, a channel layout) go here.
fn load_packet(decoded: &AudioBufferRef<'_>, out: &mut [Vec<f32>]) {
    for ch in out.iter_mut() {
        ch.clear();
    }
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

/// Where `frame` is, `m:ss.mmm` ([`crate::text::clock_millis`]), so the user can find the
/// damage in an editor.
fn timestamp(frame: u64, sample_rate: u32) -> String {
    crate::text::clock_millis(seconds(frame, sample_rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_like_an_editor() {
        assert_eq!(timestamp(48_000 * 75 + 24_000, 48_000), "1:15.500");
        assert_eq!(timestamp(0, 44_100), "0:00.000");
        // Truncated, not rounded: the last frame of a minute is still in it.
        assert_eq!(timestamp(48_000 * 60 - 1, 48_000), "0:59.999");
        assert_eq!(timestamp(48_000 * 3600, 48_000), "1:00:00.000");
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
