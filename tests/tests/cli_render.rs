//! Offline decode/render/write (`audiocollab_core::offline`) and the `audiocollab` CLI, end to end.
//!
//! Test signals are generated here and written with hound; FLAC, MP3, Ogg Vorbis and AIFF are
//! made from them at run time with the Debian command-line tools `flac`, `lame`, `oggenc`
//! (package vorbis-tools) and `sox`. A missing tool fails the test with the package to install.
//!
//! The CLI tests run the real binary. Cargo only exposes `CARGO_BIN_EXE_*` to tests of the
//! binary's own package, so [`binary`] asks cargo to build `audiocollab` (a no-op when it is
//! up to date) next to this test executable; set `AUDIOCOLLAB_BIN` to test another build.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use audiocollab_core::offline::{self, read_audio, AudioBuffer, DecodeError};
use audiocollab_core::spec::PARAMS;
use integration::cli::{binary, TempDir};

const RATE: u32 = 48_000;
/// Amplitude 0.5: −6.0206 dBFS peak, −9.0309 dBFS RMS for a sine.
const AMP: f32 = 0.5;
const PEAK_DB: f64 = -6.0206;
const RMS_DB: f64 = -9.0309;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// `channels` × `frames` of a `freq` sine at amplitude [`AMP`]. The right channel is phase
/// shifted so that a channel swap or mono fold would be caught.
fn sine(frames: usize, channels: usize, freq: f64, rate: u32) -> Vec<Vec<f32>> {
    (0..channels)
        .map(|c| {
            (0..frames)
                .map(|n| {
                    let phase = 2.0 * std::f64::consts::PI * freq * n as f64 / f64::from(rate) + c as f64 * 0.5;
                    (f64::from(AMP) * phase.sin()) as f32
                })
                .collect()
        })
        .collect()
}

#[derive(Clone, Copy, Debug)]
enum Fmt {
    I16,
    I24,
    I32,
    F32,
}

/// Writes planar `channels` with hound in `fmt`, independently of `offline::write_wav`.
fn write_wav_hound(path: &Path, channels: &[Vec<f32>], rate: u32, fmt: Fmt) {
    let (bits, sample_format) = match fmt {
        Fmt::I16 => (16, hound::SampleFormat::Int),
        Fmt::I24 => (24, hound::SampleFormat::Int),
        Fmt::I32 => (32, hound::SampleFormat::Int),
        Fmt::F32 => (32, hound::SampleFormat::Float),
    };
    let spec =
        hound::WavSpec { channels: channels.len() as u16, sample_rate: rate, bits_per_sample: bits, sample_format };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    let full_scale = 2f64.powi(i32::from(bits) - 1);
    for n in 0..channels[0].len() {
        for ch in channels {
            let x = ch[n];
            match fmt {
                Fmt::F32 => w.write_sample(x).unwrap(),
                Fmt::I16 => w.write_sample((f64::from(x) * full_scale).round() as i16).unwrap(),
                Fmt::I24 | Fmt::I32 => w.write_sample((f64::from(x) * full_scale).round() as i32).unwrap(),
            }
        }
    }
    w.finalize().unwrap();
}

/// Reads any WAV with hound into planar f32 (integers scaled by 2^(bits−1)), plus its spec.
fn read_wav_hound(path: &Path) -> (hound::WavSpec, Vec<Vec<f32>>) {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("hound cannot read {}: {e}", path.display()));
    let spec = r.spec();
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().map(Result::unwrap).collect(),
        hound::SampleFormat::Int => {
            let scale = 2f32.powi(i32::from(spec.bits_per_sample) - 1);
            r.samples::<i32>().map(|s| s.unwrap() as f32 / scale).collect()
        }
    };
    let n = usize::from(spec.channels);
    let channels = (0..n).map(|c| interleaved.iter().skip(c).step_by(n).copied().collect()).collect();
    (spec, channels)
}

fn db(x: f64) -> f64 {
    20.0 * x.log10()
}

fn peak_db(channels: &[Vec<f32>]) -> f64 {
    db(channels.iter().flatten().fold(0.0f64, |m, &s| m.max(f64::from(s).abs())))
}

/// RMS over the middle half of every channel, so codec fade-in/out at the edges is excluded.
fn rms_db(channels: &[Vec<f32>]) -> f64 {
    let (mut sum, mut count) = (0.0f64, 0usize);
    for ch in channels {
        let (a, b) = (ch.len() / 4, ch.len() * 3 / 4);
        sum += ch[a..b].iter().map(|&s| f64::from(s).powi(2)).sum::<f64>();
        count += b - a;
    }
    db((sum / count as f64).sqrt())
}

fn assert_close(actual: f64, expected: f64, tol: f64, what: &str) {
    assert!((actual - expected).abs() <= tol, "{what}: {actual:.4} is not {expected:.4} ± {tol}");
}

fn max_abs_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len(), "channel count");
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| {
            assert_eq!(x.len(), y.len(), "channel length");
            x.iter().zip(y).map(|(p, q)| (p - q).abs())
        })
        .fold(0.0, f32::max)
}

/// Runs an external encoder; a missing one fails with the Debian package that provides it.
fn tool(program: &str, package: &str, args: &[&OsStr]) {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run `{program}` ({e}): install the Debian package `{package}` (apt-get install {package})")
    });
    assert!(out.status.success(), "`{program} {args:?}` failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// The 16-bit stereo 1 kHz source that the encoders read (lame and oggenc read 16-bit PCM
/// WAV everywhere; wider formats depend on how they were built).
fn source16(dir: &TempDir, seconds: f64) -> (PathBuf, Vec<Vec<f32>>) {
    let path = dir.path("source16.wav");
    let signal = sine((seconds * f64::from(RATE)) as usize, 2, 1000.0, RATE);
    write_wav_hound(&path, &signal, RATE, Fmt::I16);
    (path, signal)
}

fn cli<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(binary()).args(args).output().expect("run audiocollab")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A failed CLI run: exit `code`, exactly one line on stderr starting with `error:` that
/// contains `needle`, and no trace of a Rust panic.
fn assert_cli_error(out: &Output, code: i32, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "exit code; stderr: {err}");
    assert!(err.starts_with("error: "), "stderr must start with `error: `: {err:?}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line on stderr: {err:?}");
    assert!(err.contains(needle), "stderr should mention {needle:?}: {err:?}");
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "panic on stderr: {err:?}");
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

#[test]
fn wav_int_and_float_round_trip_exactly() {
    let dir = TempDir::new("wav-round-trip");
    // 0.5 s of stereo at 48 kHz and mono at 44.1 kHz, with an odd length so no packet or block
    // size divides it.
    for (channels, rate, frames) in [(2, RATE, 24_001), (1, 44_100, 22_051)] {
        let signal = sine(frames, channels, 1000.0, rate);
        for (fmt, step) in
            [(Fmt::I16, 1.0 / 32_768.0), (Fmt::I24, 1.0 / 8_388_608.0), (Fmt::I32, 1e-7), (Fmt::F32, 0.0)]
        {
            let path = dir.path(&format!("{fmt:?}-{channels}ch.wav"));
            write_wav_hound(&path, &signal, rate, fmt);
            let audio = read_audio(&path).unwrap_or_else(|e| panic!("{fmt:?}: {e}"));
            assert_eq!(audio.sample_rate, rate, "{fmt:?}");
            assert_eq!(audio.num_channels(), channels, "{fmt:?}");
            assert_eq!(audio.frames(), frames, "{fmt:?}");
            // Rounding to the format's grid moves a sample by at most half a step.
            let err = max_abs_diff(&audio.channels, &signal);
            println!(
                "{fmt:?} {channels} ch: max error {err:e}, peak {:.4} dBFS, RMS {:.4} dBFS",
                peak_db(&audio.channels),
                rms_db(&audio.channels)
            );
            assert!(err <= step * 0.5 + 1e-9, "{fmt:?}: max error {err:e} > half step {step:e}");
            assert_close(peak_db(&audio.channels), PEAK_DB, 0.05, "peak dBFS");
            assert_close(rms_db(&audio.channels), RMS_DB, 0.05, "RMS dBFS");
        }
    }
}

#[test]
fn streamed_wav_with_unknown_length_decodes_completely() {
    // `ffmpeg ... -f wav -` writes 0xFFFFFFFF as the RIFF and data sizes; such a file is not
    // truncated even though it is shorter than its header "declares".
    let dir = TempDir::new("streamed-wav");
    let path = dir.path("streamed.wav");
    let signal = sine(12_345, 2, 1000.0, RATE);
    write_wav_hound(&path, &signal, RATE, Fmt::I16);
    let mut bytes = fs::read(&path).unwrap();
    let data = bytes.windows(4).position(|w| w == b"data").expect("data chunk");
    bytes[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    bytes[data + 4..data + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    fs::write(&path, &bytes).unwrap();
    let audio = read_audio(&path).expect("streamed WAV");
    assert_eq!(audio.frames(), 12_345);
    assert!(max_abs_diff(&audio.channels, &signal) <= 0.5 / 32_768.0 + 1e-9);
}

#[test]
fn flac_decodes_sample_exactly() {
    let dir = TempDir::new("flac");
    let wav = dir.path("in24.wav");
    let signal = sine(48_013, 2, 1000.0, RATE);
    write_wav_hound(&wav, &signal, RATE, Fmt::I24);
    let flac = dir.path("in.flac");
    tool("flac", "flac", &["--silent".as_ref(), "--force".as_ref(), "-o".as_ref(), flac.as_os_str(), wav.as_os_str()]);
    let from_wav = read_audio(&wav).unwrap();
    let audio = read_audio(&flac).unwrap();
    assert_eq!((audio.sample_rate, audio.num_channels(), audio.frames()), (RATE, 2, 48_013));
    assert_eq!(max_abs_diff(&audio.channels, &from_wav.channels), 0.0, "FLAC is lossless");
    assert_close(peak_db(&audio.channels), PEAK_DB, 0.05, "peak dBFS");
}

#[test]
fn mp3_decodes_gapless_at_the_right_level() {
    let dir = TempDir::new("mp3");
    let (wav, _) = source16(&dir, 1.0);
    let mp3 = dir.path("in.mp3");
    tool("lame", "lame", &["--quiet".as_ref(), "-b".as_ref(), "192".as_ref(), wav.as_os_str(), mp3.as_os_str()]);
    let decoded = offline::decode_file(&mp3, &mut |_, _| {}).unwrap();
    assert_eq!(decoded.concealed_packets, 0, "a clean file needs no concealment");
    let audio = decoded.audio;
    assert_eq!((audio.sample_rate, audio.num_channels()), (RATE, 2));
    // LAME's tag records encoder delay and padding; with gapless trimming the length is exact.
    // One MP3 frame (1152) of slack allows for encoders that write an imprecise tag.
    let frames = audio.frames() as i64;
    println!(
        "mp3: {frames} frames, peak {:.3} dBFS, RMS {:.3} dBFS",
        peak_db(&audio.channels),
        rms_db(&audio.channels)
    );
    assert!((frames - 48_000).abs() <= 1152, "MP3 length {frames} vs 48000");
    assert_close(peak_db(&audio.channels), PEAK_DB, 0.5, "MP3 peak dBFS");
    assert_close(rms_db(&audio.channels), RMS_DB, 0.5, "MP3 RMS dBFS");
}

#[test]
fn ogg_vorbis_decodes_gapless_at_the_right_level() {
    let dir = TempDir::new("ogg");
    let (wav, _) = source16(&dir, 1.0);
    let ogg = dir.path("in.ogg");
    tool(
        "oggenc",
        "vorbis-tools",
        &["-Q".as_ref(), "-q".as_ref(), "6".as_ref(), "-o".as_ref(), ogg.as_os_str(), wav.as_os_str()],
    );
    let decoded = offline::decode_file(&ogg, &mut |_, _| {}).unwrap();
    assert_eq!(decoded.concealed_packets, 0, "a clean file needs no concealment");
    let audio = decoded.audio;
    assert_eq!((audio.sample_rate, audio.num_channels()), (RATE, 2));
    // The last page's granule position gives the exact length; allow one Vorbis long block.
    let frames = audio.frames() as i64;
    println!(
        "vorbis: {frames} frames, peak {:.3} dBFS, RMS {:.3} dBFS",
        peak_db(&audio.channels),
        rms_db(&audio.channels)
    );
    assert!((frames - 48_000).abs() <= 2048, "Vorbis length {frames} vs 48000");
    assert_close(peak_db(&audio.channels), PEAK_DB, 0.5, "Vorbis peak dBFS");
    assert_close(rms_db(&audio.channels), RMS_DB, 0.5, "Vorbis RMS dBFS");
}

#[test]
fn aiff_has_its_declared_length_even_with_a_chunk_after_the_sound_data() {
    let dir = TempDir::new("aiff");
    let (wav, signal) = source16(&dir, 0.25);
    let aiff = dir.path("in.aiff");
    tool("sox", "sox", &[wav.as_os_str(), aiff.as_os_str()]);
    let audio = read_audio(&aiff).unwrap();
    assert_eq!((audio.sample_rate, audio.num_channels(), audio.frames()), (RATE, 2, 12_000));
    assert!(max_abs_diff(&audio.channels, &signal) <= 0.5 / 32_768.0 + 1e-9);

    // symphonia 0.5 over-reads SSND by 8 bytes: with a chunk after it, those bytes would come
    // back as two extra (garbage) frames at the end. An "ANNO" chunk of 0x7F bytes makes them
    // loud enough to see.
    let mut bytes = fs::read(&aiff).unwrap();
    bytes.extend_from_slice(b"ANNO");
    bytes.extend_from_slice(&16u32.to_be_bytes());
    bytes.extend_from_slice(&[0x7F; 16]);
    let form_len = (bytes.len() - 8) as u32;
    bytes[4..8].copy_from_slice(&form_len.to_be_bytes());
    let trailing = dir.path("trailing.aiff");
    fs::write(&trailing, &bytes).unwrap();
    let audio = read_audio(&trailing).unwrap();
    assert_eq!(audio.frames(), 12_000);
    assert!(max_abs_diff(&audio.channels, &signal) <= 0.5 / 32_768.0 + 1e-9, "no garbage frames at the end");
}

#[test]
fn more_than_two_channels_decode_and_expose_the_count() {
    let dir = TempDir::new("quad");
    let path = dir.path("quad.wav");
    write_wav_hound(&path, &sine(4_800, 4, 1000.0, RATE), RATE, Fmt::I16);
    let audio = read_audio(&path).unwrap();
    assert_eq!((audio.num_channels(), audio.frames()), (4, 4_800));
}

#[test]
fn progress_reports_reach_the_total() {
    let dir = TempDir::new("progress");
    let path = dir.path("p.wav");
    write_wav_hound(&path, &sine(10_000, 2, 1000.0, RATE), RATE, Fmt::I16);
    let mut calls = Vec::new();
    let audio = offline::read_audio_with_progress(&path, &mut |done, total| calls.push((done, total))).unwrap();
    assert_eq!(audio.frames(), 10_000);
    assert!(calls.len() >= 2, "one call per packet: {calls:?}");
    assert!(calls.windows(2).all(|w| w[0].0 < w[1].0), "monotonic: {calls:?}");
    assert_eq!(calls.last(), Some(&(10_000, Some(10_000))));
}

// ---------------------------------------------------------------------------------------------
// Streaming: the reader, the writer and the render in blocks
// ---------------------------------------------------------------------------------------------

/// Every decodable format of the tests, made from one signal: WAV 16/24/32-bit float stereo,
/// WAV 16-bit mono at 44.1 kHz, FLAC, MP3, Ogg Vorbis, AIFF with a chunk after its sound data
/// (the reader cuts the over-read), and an MP3 with damaged frames (concealed by silence).
fn stream_inputs(dir: &TempDir) -> Vec<PathBuf> {
    let signal = sine(2 * 48_000 + 77, 2, 440.0, RATE);
    let mut paths = Vec::new();
    for fmt in [Fmt::I16, Fmt::I24, Fmt::F32] {
        let path = dir.path(&format!("s-{fmt:?}.wav"));
        write_wav_hound(&path, &signal, RATE, fmt);
        paths.push(path);
    }
    let mono = dir.path("s-mono.wav");
    write_wav_hound(&mono, &sine(44_100 + 5, 1, 440.0, 44_100), 44_100, Fmt::I16);
    paths.push(mono);
    let wav = paths[0].clone();
    let flac = dir.path("s.flac");
    tool("flac", "flac", &["--silent".as_ref(), "--force".as_ref(), "-o".as_ref(), flac.as_os_str(), wav.as_os_str()]);
    let mp3 = dir.path("s.mp3");
    tool("lame", "lame", &["--quiet".as_ref(), wav.as_os_str(), mp3.as_os_str()]);
    let ogg = dir.path("s.ogg");
    tool("oggenc", "vorbis-tools", &["-Q".as_ref(), "-o".as_ref(), ogg.as_os_str(), wav.as_os_str()]);
    let aiff = dir.path("s.aiff");
    tool("sox", "sox", &[wav.as_os_str(), aiff.as_os_str()]);
    let mut bytes = fs::read(&aiff).unwrap();
    bytes.extend_from_slice(b"ANNO");
    bytes.extend_from_slice(&16u32.to_be_bytes());
    bytes.extend_from_slice(&[0x7F; 16]);
    let form_len = (bytes.len() - 8) as u32;
    bytes[4..8].copy_from_slice(&form_len.to_be_bytes());
    fs::write(&aiff, &bytes).unwrap();
    // Two frames' worth of garbage in the middle of the MP3: those frames are concealed.
    let mut bytes = fs::read(&mp3).unwrap();
    let mid = bytes.len() / 2;
    for (i, b) in bytes[mid..mid + 600].iter_mut().enumerate() {
        *b = (i * 37 % 251) as u8;
    }
    let damaged = dir.path("s-damaged.mp3");
    fs::write(&damaged, &bytes).unwrap();
    paths.extend([flac, mp3, ogg, aiff, damaged]);
    paths
}

#[test]
fn streamed_blocks_concatenate_to_the_one_shot_decode() {
    let dir = TempDir::new("stream-decode");
    let mut concealing = 0;
    for path in stream_inputs(&dir) {
        let whole = offline::decode_file(&path, &mut |_, _| {}).unwrap_or_else(|e| panic!("{e}"));
        concealing += usize::from(whole.concealed_packets > 0);
        for block in [1, 1000, 4096, 1 << 20] {
            let mut reader = offline::AudioReader::open(&path).unwrap();
            assert_eq!(
                (reader.sample_rate(), reader.channels()),
                (whole.audio.sample_rate, whole.audio.num_channels())
            );
            let mut streamed: Vec<Vec<f32>> = Vec::new();
            let mut buffer = Vec::new();
            loop {
                buffer.iter_mut().for_each(Vec::clear);
                let n = reader.read(&mut buffer, block).unwrap();
                if n == 0 {
                    break;
                }
                assert!(buffer.iter().all(|c: &Vec<f32>| c.len() == n), "{}: a block of {n} frames", path.display());
                streamed.resize_with(buffer.len(), Vec::new);
                for (all, part) in streamed.iter_mut().zip(&buffer) {
                    all.extend_from_slice(part);
                }
                assert!(n == block || reader.read(&mut buffer, block).unwrap() == 0, "only the last block is short");
            }
            let summary = reader.finish().unwrap();
            assert_eq!(summary.frames, whole.audio.frames() as u64, "{}", path.display());
            assert_eq!(summary.concealed_packets, whole.concealed_packets);
            assert_eq!(summary.first_concealed_frame, whole.first_concealed_frame);
            assert!(streamed == whole.audio.channels, "{}, blocks of {block}: samples differ", path.display());
        }
    }
    assert_eq!(concealing, 1, "the damaged MP3 exercises concealment");
}

#[test]
fn a_stream_fails_at_its_end_as_the_one_shot_decode_does() {
    let dir = TempDir::new("stream-end");
    let good = dir.path("good.wav");
    write_wav_hound(&good, &sine(48_000, 2, 1000.0, RATE), RATE, Fmt::I16);
    let bytes = fs::read(&good).unwrap();
    let truncated = dir.path("truncated.wav");
    fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let mut reader = offline::AudioReader::open(&truncated).unwrap();
    let mut buffer = Vec::new();
    while reader.read(&mut buffer, 4096).unwrap() > 0 {}
    let err = reader.finish().unwrap_err();
    assert!(matches!(err, DecodeError::Truncated { expected: 48_000, .. }), "{err:?}");

    // A render of it writes nothing: neither the output nor a temporary file is left.
    let out = dir.path("out.wav");
    let result =
        offline::render_file(&truncated, &out, &Default::default(), offline::WavFormat::Int16, 1024, &mut |_, _| {});
    assert!(matches!(result, Err(offline::RenderFileError::Decode(DecodeError::Truncated { .. }))), "{result:?}");
    let left: Vec<_> = fs::read_dir(dir.root()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(!left.iter().any(|n| n.to_string_lossy().contains("out.wav")), "{left:?}");

    // A reader that is not read to the end still checks the end.
    let reader = offline::AudioReader::open(&truncated).unwrap();
    assert!(matches!(reader.finish(), Err(DecodeError::Truncated { .. })));
}

#[test]
fn a_streamed_render_is_bit_identical_to_the_in_memory_render() {
    let dir = TempDir::new("stream-render");
    let mut settings = audiocollab_core::spec::Settings::default();
    for (id, value) in [
        ("hp_on", 1.0),
        ("hp_freq", 90.0),
        ("b2_gain", 5.0),
        ("hs_on", 1.0),
        ("hs_gain", -4.0),
        ("cmp_on", 1.0),
        ("out_gain", 9.0),
    ] {
        settings.set(audiocollab_core::spec::ParamId::from_id(id).expect(id), value);
    }
    let inputs = stream_inputs(&dir);
    for path in &inputs {
        for format in [offline::WavFormat::Int16, offline::WavFormat::Int24, offline::WavFormat::Float32] {
            // Before streaming: decode all, render the buffer, write it.
            let mut audio = read_audio(path).unwrap();
            offline::render(&mut audio, &settings, offline::RENDER_BLOCK, &mut |_, _| {}).unwrap();
            let in_memory = dir.path("in-memory.wav");
            let written = offline::write_wav(&in_memory, &audio, format).unwrap();

            let streamed = dir.path("streamed.wav");
            let mut calls = Vec::new();
            let summary =
                offline::render_file(path, &streamed, &settings, format, offline::RENDER_BLOCK, &mut |done, _| {
                    calls.push(done)
                })
                .unwrap();
            let what = format!("{} as {format:?}", path.display());
            assert!(fs::read(&streamed).unwrap() == fs::read(&in_memory).unwrap(), "{what}: the files differ");
            assert_eq!(summary.rendered.frames, audio.frames() as u64, "{what}");
            assert_eq!(summary.rendered.peak, audio.peak(), "{what}");
            assert_eq!(summary.written, written, "{what}");
            assert_eq!((summary.sample_rate, summary.channels), (audio.sample_rate, audio.num_channels()));
            assert_eq!(calls.len(), audio.frames().div_ceil(offline::RENDER_BLOCK), "{what}: one call per block");
        }
    }
    // The +9 dB output gain clips the integer formats somewhere: the counts above compared
    // something.
    let mut audio = read_audio(&inputs[0]).unwrap();
    offline::render(&mut audio, &settings, offline::RENDER_BLOCK, &mut |_, _| {}).unwrap();
    assert!(audio.peak() > 1.0, "peak {}", audio.peak());
}

#[test]
fn a_wav_output_dropped_unfinished_leaves_nothing() {
    let dir = TempDir::new("wav-output-drop");
    let path = dir.path("out.wav");
    fs::write(&path, b"the user's old file").unwrap();
    let mut output = offline::WavOutput::create(&path, RATE, 2, offline::WavFormat::Int16).unwrap();
    output.write(&sine(1000, 2, 440.0, RATE)).unwrap();
    drop(output);
    assert_eq!(fs::read(&path).unwrap(), b"the user's old file", "the old file is untouched");
    assert_eq!(fs::read_dir(dir.root()).unwrap().count(), 1, "no temporary file is left");

    // Written in uneven blocks, the file is the one `write_wav` makes of the whole buffer.
    let signal = sine(1000, 2, 440.0, RATE);
    let mut output = offline::WavOutput::create(&path, RATE, 2, offline::WavFormat::Int24).unwrap();
    assert!(output.write(&sine(10, 3, 440.0, RATE)).is_err(), "a block of the wrong channel count");
    for (a, b) in [(0, 1), (1, 300), (300, 301), (301, 1000)] {
        output.write(&[&signal[0][a..b], &signal[1][a..b]]).unwrap();
    }
    output.finish().unwrap();
    let whole = dir.path("whole.wav");
    offline::write_wav(&whole, &AudioBuffer { sample_rate: RATE, channels: signal }, offline::WavFormat::Int24)
        .unwrap();
    assert!(fs::read(&path).unwrap() == fs::read(&whole).unwrap());
}

// ---------------------------------------------------------------------------------------------
// Bad input files
// ---------------------------------------------------------------------------------------------

/// A bad input file, a word its error message must contain, and the variant it must be.
type BadInput = (PathBuf, &'static str, fn(&DecodeError) -> bool);

/// The bad inputs of the error tests.
fn bad_inputs(dir: &TempDir) -> Vec<BadInput> {
    let good = dir.path("good.wav");
    write_wav_hound(&good, &sine(48_000, 2, 1000.0, RATE), RATE, Fmt::I16);
    let bytes = fs::read(&good).unwrap();

    let text = dir.path("notes.wav");
    fs::write(&text, "These are my mix notes, not audio.\n".repeat(20)).unwrap();
    let empty = dir.path("empty.wav");
    fs::write(&empty, b"").unwrap();
    let truncated = dir.path("truncated.wav");
    fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let no_samples = dir.path("no-samples.wav");
    write_wav_hound(&no_samples, &[vec![], vec![]], RATE, Fmt::I16);
    let header_only = dir.path("header-only.wav");
    fs::write(&header_only, &bytes[..20]).unwrap();
    // symphonia 0.5 panics on a 0 Hz sample rate (TimeBase with denominator 0); it must still
    // come back as an error.
    let zero_rate = dir.path("zero-rate.wav");
    let mut patched = bytes.clone();
    assert_eq!(&patched[12..16], b"fmt ", "hound's canonical header layout");
    patched[24..28].copy_from_slice(&0u32.to_le_bytes());
    fs::write(&zero_rate, &patched).unwrap();

    vec![
        (dir.path("does-not-exist.mp3"), "no such file", |e| matches!(e, DecodeError::NotFound { .. })),
        (text, "not a recognised audio file", |e| matches!(e, DecodeError::Unrecognised { .. })),
        (empty, "empty", |e| matches!(e, DecodeError::Empty { .. })),
        (truncated, "truncated", |e| {
            // 48000 frames declared; a third of the file holds 15994 of them.
            matches!(e, DecodeError::Truncated { expected: 48_000, decoded, .. } if (15_900..16_100).contains(decoded))
        }),
        (no_samples, "no audio", |e| matches!(e, DecodeError::ZeroLength { .. })),
        (header_only, "damaged", |e| matches!(e, DecodeError::Corrupt { .. })),
        (zero_rate, "zero-rate.wav", |e| matches!(e, DecodeError::DecoderPanic { .. } | DecodeError::Corrupt { .. })),
        (dir.root().to_path_buf(), "not a regular file", |e| matches!(e, DecodeError::NotAFile { .. })),
    ]
}

#[test]
fn bad_files_are_clean_library_errors() {
    let dir = TempDir::new("bad-lib");
    for (path, needle, is_expected) in bad_inputs(&dir) {
        let err = read_audio(&path).expect_err(&format!("{} must not decode", path.display()));
        assert!(is_expected(&err), "{}: unexpected error {err:?}", path.display());
        let msg = err.to_string();
        assert!(msg.starts_with(&format!("cannot read '{}': ", path.display())), "{msg}");
        assert!(msg.contains(needle), "{msg}");
        assert_eq!(err.path(), path);
    }
}

#[test]
fn bad_files_make_the_cli_exit_3_with_one_line() {
    let dir = TempDir::new("bad-cli");
    for (path, needle, _) in bad_inputs(&dir) {
        let out = cli([OsStr::new("render"), path.as_os_str(), dir.path("out.wav").as_os_str()]);
        assert_cli_error(&out, 3, needle);
        assert!(stderr(&out).starts_with(&format!("error: cannot read '{}'", path.display())));
        assert!(!dir.path("out.wav").exists(), "no output for a failed render");
    }
}

#[test]
fn damaged_files_never_panic_and_lossless_damage_is_reported() {
    let dir = TempDir::new("damage");
    let (wav, _) = source16(&dir, 0.25);
    let flac = dir.path("d.flac");
    let mp3 = dir.path("d.mp3");
    let ogg = dir.path("d.ogg");
    tool("flac", "flac", &["--silent".as_ref(), "--force".as_ref(), "-o".as_ref(), flac.as_os_str(), wav.as_os_str()]);
    tool("lame", "lame", &["--quiet".as_ref(), wav.as_os_str(), mp3.as_os_str()]);
    tool("oggenc", "vorbis-tools", &["-Q".as_ref(), "-o".as_ref(), ogg.as_os_str(), wav.as_os_str()]);

    for source in [&wav, &flac, &mp3, &ogg] {
        let bytes = fs::read(source).unwrap();
        let lossless = source == &wav || source == &flac;
        // Cut at several points, header included.
        for cut in [7, 40, 200, bytes.len() / 2, bytes.len() - 3] {
            let path = dir.path("cut");
            fs::write(&path, &bytes[..cut]).unwrap();
            let result = read_audio(&path);
            if lossless {
                assert!(result.is_err(), "{} cut at {cut}/{} decoded", source.display(), bytes.len());
            }
        }
        // Overwrite a run of bytes in the audio data with a pattern. (Not the first third: flac
        // writes an 8 KiB PADDING block there, which nobody reads.)
        for (seed, start) in [(1u32, bytes.len() / 2), (7, bytes.len() * 2 / 3), (13, bytes.len() * 5 / 6)] {
            let mut damaged = bytes.clone();
            let mut x = seed;
            for b in &mut damaged[start..start + 64] {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                *b = (x >> 16) as u8;
            }
            let path = dir.path("flipped");
            fs::write(&path, &damaged).unwrap();
            // Whatever happens must come back as a value: `read_audio` returning at all is half
            // of this test (a decoder panic would be caught and returned as an error).
            let result = read_audio(&path);
            // FLAC frames carry CRCs and the stream an MD5, so damage cannot go unnoticed.
            // (PCM WAV has no checksum; lossy formats conceal damaged packets.)
            if source == &flac {
                assert!(result.is_err(), "damaged FLAC (seed {seed}) decoded without error");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------

#[test]
fn render_with_settings_keeps_length_rate_and_channels() {
    let dir = TempDir::new("render-set");
    let input = dir.path("in.wav");
    write_wav_hound(&input, &sine(48_011, 2, 1000.0, RATE), RATE, Fmt::I24);
    let output = dir.path("out.wav");
    let out = cli([
        "render".as_ref(),
        input.as_os_str(),
        output.as_os_str(),
        "--set".as_ref(),
        "b2_gain=-6dB".as_ref(),
        "--set".as_ref(),
        "hp_on=on".as_ref(),
        "--set".as_ref(),
        "hp_freq=120Hz".as_ref(),
    ]);
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(stderr(&out), "", "quiet when stderr is not a terminal");
    let summary = stdout(&out);
    println!("{summary}");
    assert_eq!(summary.lines().count(), 1, "{summary}");
    for part in
        ["1.00 s", "48000 Hz", "stereo", "32-bit float", "hp_on=On", "hp_freq=120 Hz", "b2_gain=-6.0 dB", "output peak"]
    {
        assert!(summary.contains(part), "summary lacks {part:?}: {summary}");
    }
    let (spec, channels) = read_wav_hound(&output);
    assert_eq!((spec.sample_rate, spec.channels, spec.bits_per_sample), (RATE, 2, 32));
    assert_eq!(spec.sample_format, hound::SampleFormat::Float);
    assert_eq!(channels[0].len(), 48_011);
    // A 1 kHz tone sits well inside the 120 Hz high-pass and away from the 3 kHz bell, so it
    // must come out close to its input level (not silence, not doubled).
    assert_close(rms_db(&channels), RMS_DB, 1.0, "1 kHz through HP 120 Hz and a 3 kHz cut");
}

#[test]
fn identity_render_at_default_settings_is_transparent() {
    let dir = TempDir::new("identity");
    for channels in [1, 2] {
        let input = dir.path(&format!("in{channels}.wav"));
        let signal = sine(30_000, channels, 1000.0, RATE);
        write_wav_hound(&input, &signal, RATE, Fmt::F32);
        let output = dir.path(&format!("out{channels}.wav"));
        let out = cli(["render".as_ref(), input.as_os_str(), output.as_os_str()]);
        assert!(out.status.success(), "stderr: {}", stderr(&out));
        assert!(stdout(&out).contains("changed: none (default settings)"), "{}", stdout(&out));
        let (spec, rendered) = read_wav_hound(&output);
        assert_eq!((spec.sample_rate, usize::from(spec.channels)), (RATE, channels));
        let err = max_abs_diff(&rendered, &signal);
        println!("identity render, {channels} ch: max |out - in| = {err:e}");
        assert!(err <= 1e-6, "{channels} ch: default settings changed the audio by up to {err:e}");
    }
}

/// NaN and infinite input samples are replaced by the line between their neighbours, and
/// `render` says how many and where; a file of nothing but NaN is refused.
#[test]
fn non_finite_input_samples_are_replaced_and_reported() {
    let dir = TempDir::new("non-finite-cli");
    let input = dir.path("nan.wav");
    let mut signal = sine(3 * RATE as usize, 2, 1000.0, RATE);
    let at = |t: f64| (t * f64::from(RATE)) as usize;
    for (ch, i, bad) in [(0, at(0.5), f32::NAN), (1, at(0.5) + 3, f32::INFINITY), (0, at(2.25), f32::NEG_INFINITY)] {
        signal[ch][i] = bad;
    }
    write_wav_hound(&input, &signal, RATE, Fmt::F32);
    let output = dir.path("out.wav");
    let out = cli(["render".as_ref(), input.as_os_str(), output.as_os_str()]);
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("warning: 3 samples of '{}' were NaN or infinite; they were replaced", input.display())),
        "{err}"
    );
    assert!(err.trim_end().ends_with("at 0:00.5–0:00.6, 0:02.2–0:02.3"), "{err}");
    // The identity render is transparent: the replaced samples sit on the sine (a 1 kHz sine
    // moves by at most 2π·1000/48000·AMP per sample, and the line between two neighbours is
    // closer than that).
    let (_, rendered) = read_wav_hound(&output);
    assert!(rendered.iter().flatten().all(|x| x.is_finite()));
    let clean = sine(3 * RATE as usize, 2, 1000.0, RATE);
    let worst = max_abs_diff(&rendered, &clean);
    println!("largest change from the clean sine: {worst:e}");
    assert!(worst < 0.01, "{worst}");

    let all_nan = dir.path("all-nan.wav");
    write_wav_hound(&all_nan, &vec![vec![f32::NAN; 4_800]; 2], RATE, Fmt::F32);
    let out = cli(["render".as_ref(), all_nan.as_os_str(), dir.path("out2.wav").as_os_str()]);
    assert_cli_error(&out, 3, "no valid samples (all 9600 are NaN or infinite)");
}

#[test]
fn output_gain_minus_6_db_lowers_the_peak_by_6_02_db() {
    let dir = TempDir::new("out-gain");
    let input = dir.path("in.wav");
    let signal = sine(24_000, 2, 1000.0, RATE);
    write_wav_hound(&input, &signal, RATE, Fmt::F32);
    let output = dir.path("out.wav");
    let out =
        cli(["render".as_ref(), input.as_os_str(), output.as_os_str(), "--set".as_ref(), "out_gain=-6dB".as_ref()]);
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let (_, rendered) = read_wav_hound(&output);
    // −6 dB is a gain of 0.5012 (−6.00 dB); the brief's "6.02" is the same within the tolerance.
    let drop = peak_db(&signal) - peak_db(&rendered);
    println!("out_gain=-6dB: peak {:.4} -> {:.4} dBFS, drop {drop:.4} dB", peak_db(&signal), peak_db(&rendered));
    assert_close(drop, 6.02, 0.05, "peak reduction in dB");
    assert!(stdout(&out).contains("out_gain=-6.0 dB"), "{}", stdout(&out));
}

#[test]
fn integer_output_formats_are_written_as_asked() {
    let dir = TempDir::new("bits");
    let input = dir.path("in.wav");
    let signal = sine(9_600, 2, 1000.0, RATE);
    write_wav_hound(&input, &signal, RATE, Fmt::F32);
    for (bits, depth) in [("16", 16u16), ("24", 24), ("32f", 32)] {
        let output = dir.path(&format!("out{bits}.wav"));
        let out = cli(["render".as_ref(), input.as_os_str(), output.as_os_str(), "--bits".as_ref(), bits.as_ref()]);
        assert!(out.status.success(), "--bits {bits}: {}", stderr(&out));
        let (spec, rendered) = read_wav_hound(&output);
        assert_eq!(spec.bits_per_sample, depth);
        let step = if bits == "32f" { 0.0 } else { 2f32.powi(1 - i32::from(depth)) };
        let err = max_abs_diff(&rendered, &signal);
        assert!(err <= step * 0.5 + 1e-6, "--bits {bits}: error {err:e}");
    }

    // A +12 dB boost of a −6 dBFS tone peaks near +6 dBFS: 16-bit must clip it (and say so),
    // 32-bit float must keep it.
    let boost = ["--set", "out_gain=12dB"];
    let clipped = dir.path("clipped.wav");
    let out = cli([
        "render".as_ref(),
        input.as_os_str(),
        clipped.as_os_str(),
        "--bits".as_ref(),
        "16".as_ref(),
        boost[0].as_ref(),
        boost[1].as_ref(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).starts_with("warning: ") && stderr(&out).contains("clipped"), "{}", stderr(&out));
    assert_close(peak_db(&read_wav_hound(&clipped).1), 0.0, 0.01, "16-bit clips at full scale");
    let kept = dir.path("kept.wav");
    let out = cli(["render".as_ref(), input.as_os_str(), kept.as_os_str(), boost[0].as_ref(), boost[1].as_ref()]);
    assert!(out.status.success() && stderr(&out).is_empty(), "{}", stderr(&out));
    assert_close(peak_db(&read_wav_hound(&kept).1), PEAK_DB + 12.0, 0.05, "float keeps +6 dBFS");
}

#[test]
fn every_input_format_renders_through_the_cli() {
    let dir = TempDir::new("cli-formats");
    let (wav, _) = source16(&dir, 0.5);
    let flac = dir.path("in.flac");
    let mp3 = dir.path("in.mp3");
    let ogg = dir.path("in.ogg");
    let aiff = dir.path("in.aiff");
    tool("flac", "flac", &["--silent".as_ref(), "--force".as_ref(), "-o".as_ref(), flac.as_os_str(), wav.as_os_str()]);
    tool("lame", "lame", &["--quiet".as_ref(), wav.as_os_str(), mp3.as_os_str()]);
    tool("oggenc", "vorbis-tools", &["-Q".as_ref(), "-o".as_ref(), ogg.as_os_str(), wav.as_os_str()]);
    tool("sox", "sox", &[wav.as_os_str(), aiff.as_os_str()]);
    for input in [&wav, &flac, &mp3, &ogg, &aiff] {
        let output = dir.path("out.wav");
        let out =
            cli(["render".as_ref(), input.as_os_str(), output.as_os_str(), "--set".as_ref(), "b1_gain=-3dB".as_ref()]);
        assert!(out.status.success(), "{}: {}", input.display(), stderr(&out));
        let (spec, channels) = read_wav_hound(&output);
        assert_eq!((spec.sample_rate, spec.channels), (RATE, 2), "{}", input.display());
        assert!((channels[0].len() as i64 - 24_000).abs() <= 1152, "{}: {} frames", input.display(), channels[0].len());
    }
}

#[test]
fn unknown_parameter_is_a_usage_error_naming_it() {
    let dir = TempDir::new("bad-set");
    let input = dir.path("in.wav");
    write_wav_hound(&input, &sine(480, 1, 1000.0, RATE), RATE, Fmt::I16);
    let output = dir.path("out.wav");
    for (set, needle) in [
        ("nope=1", "'nope'"),
        ("b2_gian=-3dB", "did you mean 'b2_gain'"),
        ("b2_gain=loud", "b2_gain"),
        ("b2_gain", "PARAM=VALUE"),
    ] {
        let out = cli(["render".as_ref(), input.as_os_str(), output.as_os_str(), "--set".as_ref(), set.as_ref()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "--set {set}: {err}");
        assert!(err.starts_with("error: ") && err.contains(needle), "--set {set}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!output.exists());
    }
    let out = cli(["render".as_ref(), input.as_os_str(), output.as_os_str(), "--bits".as_ref(), "8".as_ref()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn unwritable_output_exits_4_before_decoding() {
    let dir = TempDir::new("unwritable");
    let input = dir.path("in.wav");
    write_wav_hound(&input, &sine(480, 2, 1000.0, RATE), RATE, Fmt::I16);
    let missing_dir = dir.path("no-such-folder").join("out.wav");
    assert_cli_error(&cli(["render".as_ref(), input.as_os_str(), missing_dir.as_os_str()]), 4, "cannot write");
    assert_cli_error(&cli(["render".as_ref(), input.as_os_str(), dir.root().as_os_str()]), 4, "is a directory");
    // The output is checked first: a bad output with a bad input reports the output.
    let out = cli(["render".as_ref(), dir.path("missing.wav").as_os_str(), missing_dir.as_os_str()]);
    assert_cli_error(&out, 4, "cannot write");
}

#[test]
fn more_than_two_channels_exit_3_with_a_downmix_hint() {
    let dir = TempDir::new("quad-cli");
    let input = dir.path("quad.wav");
    write_wav_hound(&input, &sine(480, 4, 1000.0, RATE), RATE, Fmt::I16);
    let out = cli(["render".as_ref(), input.as_os_str(), dir.path("out.wav").as_os_str()]);
    assert_cli_error(&out, 3, "4 channels");
    assert!(stderr(&out).contains("downmix"), "{}", stderr(&out));
}

#[test]
fn sample_rates_the_chain_cannot_run_exit_3_with_a_resample_hint() {
    let dir = TempDir::new("rate-cli");
    let input = dir.path("4k.wav");
    write_wav_hound(&input, &sine(400, 1, 100.0, 4_000), 4_000, Fmt::I16);
    let out = cli(["render".as_ref(), input.as_os_str(), dir.path("out.wav").as_os_str()]);
    assert_cli_error(&out, 3, "4000 Hz");
    assert!(stderr(&out).contains("resample"), "{}", stderr(&out));
}

#[test]
fn params_lists_every_parameter_with_range_and_default() {
    let out = cli(["params"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for spec in &PARAMS {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(spec.id))
            .unwrap_or_else(|| panic!("{} missing from:\n{text}", spec.id));
        assert!(line.contains(spec.name), "{line}");
        assert!(line.trim_end().ends_with(&spec.format(spec.default)), "default of {}: {line}", spec.id);
        let (min, max) = spec.range();
        if let audiocollab_core::spec::Kind::Float { .. } = spec.kind {
            assert!(
                line.contains(&format!("{} .. {}", spec.format(min), spec.format(max))),
                "range of {}: {line}",
                spec.id
            );
        }
    }
    assert!(text.contains("hp_freq") && text.contains("20 Hz .. 1.00 kHz"), "{text}");
}

#[test]
fn write_wav_round_trips_through_read_audio() {
    let dir = TempDir::new("write-lib");
    let audio = AudioBuffer { sample_rate: 44_100, channels: sine(4_410, 2, 440.0, 44_100) };
    for (format, step) in [
        (offline::WavFormat::Int16, 1.0 / 32_768.0),
        (offline::WavFormat::Int24, 1.0 / 8_388_608.0),
        (offline::WavFormat::Float32, 0.0),
    ] {
        let path = dir.path(&format!("{format:?}.wav"));
        let report = offline::write_wav(&path, &audio, format).unwrap();
        assert_eq!(report.clipped_samples, 0);
        let back = read_audio(&path).unwrap();
        assert_eq!((back.sample_rate, back.num_channels(), back.frames()), (44_100, 2, 4_410));
        let err = max_abs_diff(&back.channels, &audio.channels);
        assert!(err <= step * 0.5 + 1e-9, "{format:?}: {err:e}");
    }
}
