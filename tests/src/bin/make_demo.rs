//! `make-demo`: regenerates the demo song in `assets/` (see `assets/README.md`).
//!
//! ```text
//! cargo run -p integration --bin make-demo [-- OUT_DIR]
//! ```
//!
//! Composes a 10-bar piece with [`integration::music`] (intro / verse / chorus), writes
//! `demo.mid`, renders it twice with fluidsynth at 44.1 kHz and checks the two renders are
//! sample-identical, normalises the peak to −3 dBFS (a plain gain: no limiting, no
//! compression, so the level and dynamics stay realistic), quantises to 16 bits without
//! dither (deterministic), encodes `demo.flac` with `flac --best`, and writes the ground truth
//! to `demo.json`. Prints peak, RMS and duration. Fails if the render is silent, clipped,
//! non-deterministic or the FLAC is 2 MB or more.
//!
//! Needs the Debian packages `fluidsynth`, `fluid-soundfont-gm` and `flac`.

use std::path::{Path, PathBuf};
use std::process::Command;

use integration::music::{
    arrange, fluidsynth_args, render_with_fluidsynth, soundfont_path, write_smf, Energy, Instruments, Key, Meter, Mode,
    Piece, Section, PPQ,
};
use serde_json::json;

const SAMPLE_RATE: u32 = 44_100;
const TARGET_PEAK_DBFS: f64 = -3.0;
const MAX_FLAC_BYTES: u64 = 2_000_000;
const SEED: u64 = 2024;
/// Audio kept after the last bar (the final chord's release and reverb), faded out over
/// [`FADE_SECONDS`]; fluidsynth itself renders until every voice is silent (seconds more).
const TAIL_SECONDS: f64 = 0.75;
const FADE_SECONDS: f64 = 0.25;

/// The demo: E minor, 4/4, 136 BPM, intro 2 bars + verse 4 + chorus 4 (17.6 s + 0.75 s tail).
fn demo_piece() -> Piece {
    let mut piece = Piece::new(136.0, Key::new(4, Mode::Minor), Meter::FourFour, 10, SEED);
    piece.sections = vec![
        Section::new("intro", 0, 2, Energy::Low),
        Section::new("verse", 2, 4, Energy::Mid),
        Section::new("chorus", 6, 4, Energy::High),
    ];
    // Acoustic grand piano, fingered electric bass, flute.
    piece.instruments = Instruments { chords: 0, bass: 33, melody: 73 };
    piece
}

fn main() {
    if let Err(e) = run() {
        eprintln!("make-demo: error: {e}");
        std::process::exit(1);
    }
}

/// "GM program 34 (Electric Bass (finger))" for the 0-based program `p`.
fn gm_program(p: u8) -> String {
    let name = match p {
        0 => "Acoustic Grand Piano",
        2 => "Electric Grand Piano",
        4 => "Electric Piano 1",
        11 => "Vibraphone",
        25 => "Acoustic Guitar (steel)",
        32 => "Acoustic Bass",
        33 => "Electric Bass (finger)",
        34 => "Electric Bass (pick)",
        38 => "Synth Bass 1",
        40 => "Violin",
        56 => "Trumpet",
        65 => "Alto Sax",
        73 => "Flute",
        80 => "Lead 1 (square)",
        _ => "see the General MIDI program list",
    };
    format!("GM program {} ({name})", p as u32 + 1)
}

fn db(x: f64) -> f64 {
    20.0 * x.max(1e-12).log10()
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn read_float_wav(path: &Path) -> Result<(hound::WavSpec, Vec<f32>), String> {
    let mut r = hound::WavReader::open(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let spec = r.spec();
    if spec.sample_format != hound::SampleFormat::Float || spec.bits_per_sample != 32 {
        return Err(format!("{}: expected 32-bit float WAV, got {spec:?}", path.display()));
    }
    let samples = r.samples::<f32>().collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
    Ok((spec, samples))
}

/// Peak (linear) and RMS (linear) over interleaved samples.
fn peak_rms(samples: &[f64]) -> (f64, f64) {
    let peak = samples.iter().fold(0.0f64, |m, s| m.max(s.abs()));
    let rms = (samples.iter().map(|s| s * s).sum::<f64>() / samples.len().max(1) as f64).sqrt();
    (peak, rms)
}

fn run() -> Result<(), String> {
    let out_dir = match std::env::args_os().nth(1) {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("assets"),
    };
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("creating {}: {e}", out_dir.display()))?;
    let out_dir = out_dir.canonicalize().map_err(|e| e.to_string())?;
    let piece = demo_piece();
    piece.validate()?;
    let comp = arrange(&piece);
    let midi = write_smf(&piece, &comp);
    let mid_path = out_dir.join("demo.mid");
    std::fs::write(&mid_path, &midi).map_err(|e| format!("writing {}: {e}", mid_path.display()))?;

    // Render twice; the two renders must be sample-identical.
    let tmp = std::env::temp_dir().join(format!("audiocollab-make-demo-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let result = render_and_encode(&piece, &comp, &mid_path, &out_dir, &tmp);
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn render_and_encode(
    piece: &Piece,
    comp: &integration::music::Composition,
    mid_path: &Path,
    out_dir: &Path,
    tmp: &Path,
) -> Result<(), String> {
    let (wav_a, wav_b) = (tmp.join("render-a.wav"), tmp.join("render-b.wav"));
    render_with_fluidsynth(mid_path, &wav_a, SAMPLE_RATE)?;
    render_with_fluidsynth(mid_path, &wav_b, SAMPLE_RATE)?;
    let (spec, a) = read_float_wav(&wav_a)?;
    let (_, b) = read_float_wav(&wav_b)?;
    if spec.channels != 2 || spec.sample_rate != SAMPLE_RATE {
        return Err(format!("unexpected render format {spec:?}"));
    }
    let identical = a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits());
    if !identical {
        let first = a.iter().zip(&b).position(|(x, y)| x.to_bits() != y.to_bits());
        return Err(format!(
            "fluidsynth is not deterministic: renders of {} and {} samples differ (first at {first:?})",
            a.len(),
            b.len()
        ));
    }
    println!("determinism: two fluidsynth renders are sample-identical ({} samples)", a.len());

    let render_frames = a.len() / 2;
    let music_end = piece.duration_seconds();
    let frames = (((music_end + TAIL_SECONDS) * SAMPLE_RATE as f64).round() as usize).min(render_frames);
    let duration = frames as f64 / SAMPLE_RATE as f64;
    let mut raw: Vec<f64> = a.iter().map(|&s| s as f64).collect();
    let (cut_peak, _) = peak_rms(&raw[2 * frames..]);
    raw.truncate(2 * frames);
    let (raw_peak, raw_rms) = peak_rms(&raw);
    println!(
        "fluidsynth render: {:.3} s (music ends at {music_end:.3} s), peak {:.2} dBFS, RMS {:.2} dBFS \
         (float, before normalisation); kept {duration:.3} s, the cut tail peaks at {:.1} dB below the peak",
        render_frames as f64 / SAMPLE_RATE as f64,
        db(raw_peak),
        db(raw_rms),
        db(raw_peak) - db(cut_peak)
    );
    // Raised-cosine fade over the last FADE_SECONDS of the kept tail.
    let fade = ((FADE_SECONDS * SAMPLE_RATE as f64) as usize).min(frames);
    for i in 0..fade {
        let g = 0.5 * (1.0 + (std::f64::consts::PI * (i + 1) as f64 / fade as f64).cos());
        let f = frames - fade + i;
        raw[2 * f] *= g;
        raw[2 * f + 1] *= g;
    }
    if raw_peak < 1e-3 {
        return Err(format!("the render is (nearly) silent: peak {:.1} dBFS", db(raw_peak)));
    }

    // Plain gain to a −3 dBFS peak, then 16-bit quantisation by rounding (no dither).
    let gain = 10f64.powf(TARGET_PEAK_DBFS / 20.0) / raw_peak;
    let pcm: Vec<i16> = raw.iter().map(|&s| (s * gain * 32768.0).round().clamp(-32768.0, 32767.0) as i16).collect();
    let clipped = pcm.iter().filter(|&&s| s == i16::MAX || s == i16::MIN).count();
    if clipped > 0 {
        return Err(format!("{clipped} samples at full scale after normalisation"));
    }
    let norm: Vec<f64> = pcm.iter().map(|&s| s as f64 / 32768.0).collect();
    let (peak, rms) = peak_rms(&norm);
    let per_channel = |ch: usize| peak_rms(&norm.iter().skip(ch).step_by(2).copied().collect::<Vec<_>>());
    let ((peak_l, rms_l), (peak_r, rms_r)) = (per_channel(0), per_channel(1));
    let crest = db(peak) - db(rms);
    println!(
        "demo.flac audio: {duration:.3} s, 44.1 kHz stereo 16-bit, gain {:+.2} dB, peak {:.2} dBFS, RMS {:.2} dBFS \
         (L {:.2}/{:.2}, R {:.2}/{:.2}), crest {crest:.1} dB, clipped samples 0",
        db(gain),
        db(peak),
        db(rms),
        db(peak_l),
        db(rms_l),
        db(peak_r),
        db(rms_r)
    );

    // Per-section levels (the sections are meant to differ in energy).
    let mut sections = Vec::new();
    for s in &piece.sections {
        let (t0, t1) = (piece.bar_start_seconds(s.start_bar), piece.bar_start_seconds(s.end_bar()));
        let (f0, f1) = ((t0 * SAMPLE_RATE as f64) as usize, ((t1 * SAMPLE_RATE as f64) as usize).min(frames));
        let (sp, sr) = peak_rms(&norm[2 * f0..2 * f1]);
        println!(
            "  {:<7} bars {:>2}–{:<2} {:>7.3}–{:>7.3} s  energy {:<4}  peak {:6.2} dBFS  RMS {:6.2} dBFS",
            s.name,
            s.start_bar + 1,
            s.end_bar(),
            t0,
            t1,
            s.energy.as_str(),
            db(sp),
            db(sr)
        );
        sections.push(json!({
            "name": s.name,
            "energy": s.energy.as_str(),
            "start_bar": s.start_bar,
            "bars": s.bars,
            "start_seconds": round6(t0),
            "end_seconds": round6(t1),
            "peak_dbfs": round2(db(sp)),
            "rms_dbfs": round2(db(sr)),
        }));
    }

    // 16-bit WAV → FLAC.
    let wav16 = tmp.join("demo.wav");
    {
        let spec16 = hound::WavSpec {
            channels: 2,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&wav16, spec16).map_err(|e| e.to_string())?;
        for &s in &pcm {
            w.write_sample(s).map_err(|e| e.to_string())?;
        }
        w.finalize().map_err(|e| e.to_string())?;
    }
    let flac_path = out_dir.join("demo.flac");
    let flac_args: Vec<String> = [
        "--best",
        "--verify",
        "--force",
        "--silent",
        "--tag=TITLE=AudioCollab Assistant demo",
        "--tag=COMMENT=Generated by `cargo run -p integration --bin make-demo`; ground truth in demo.json",
        "-o",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([flac_path.display().to_string(), wav16.display().to_string()])
    .collect();
    let out = Command::new("flac").args(&flac_args).output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            "`flac` not found on PATH: install the Debian package `flac`".to_string()
        } else {
            format!("could not run flac: {e}")
        }
    })?;
    if !out.status.success() {
        return Err(format!("flac failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let flac_size = std::fs::metadata(&flac_path).map_err(|e| e.to_string())?.len();
    if flac_size >= MAX_FLAC_BYTES {
        return Err(format!("{} is {flac_size} bytes; it must stay under {MAX_FLAC_BYTES}", flac_path.display()));
    }

    // Ground truth.
    let fluidsynth_version = Command::new("fluidsynth")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).lines().find(|l| l.contains("version")).map(str::to_string))
        .unwrap_or_else(|| "unknown".into());
    let sf = soundfont_path();
    let render_cmd = format!(
        "fluidsynth {}",
        fluidsynth_args(Path::new("demo.mid"), Path::new("render.wav"), SAMPLE_RATE, &sf).join(" ")
    );
    let chords: Vec<_> = comp
        .chords
        .iter()
        .map(|c| json!({ "bar": c.bar, "start_seconds": round6(piece.bar_start_seconds(c.bar)), "chord": c.name }))
        .collect();
    let truth = json!({
        "description": "Synthetic demo song for AudioCollab Assistant: a seeded MIDI composition rendered with \
                        fluidsynth and the FluidR3_GM soundfont. Every value below is exact ground truth.",
        "files": { "audio": "demo.flac", "midi": "demo.mid" },
        "audio": {
            "sample_rate": SAMPLE_RATE,
            "channels": 2,
            "bits_per_sample": 16,
            "frames": frames,
            "duration_seconds": round6(duration),
            "music_end_seconds": round6(music_end),
            "tail": format!(
                "{TAIL_SECONDS} s of release/reverb after the last bar, the last {FADE_SECONDS} s faded out"
            ),
            "peak_dbfs": round2(db(peak)),
            "rms_dbfs": round2(db(rms)),
            "crest_factor_db": round2(crest),
            "flac_bytes": flac_size,
        },
        "tempo_bpm": piece.tempo_bpm,
        "tempo_micros_per_quarter": piece.tempo_micros_per_quarter(),
        "beat_seconds": round6(piece.seconds_per_beat()),
        "key": piece.key.name(),
        "tonic": piece.key.tonic_name(),
        "tonic_pitch_class": piece.key.tonic,
        "mode": piece.key.mode.as_str(),
        "meter": piece.meter.to_string(),
        "beats_per_bar": piece.beats_per_bar(),
        "swing": piece.swing,
        "bars": piece.bars,
        "bar_seconds": round6(piece.bar_seconds()),
        "first_downbeat_seconds": 0.0,
        "sections": sections,
        "chords": chords,
        "instruments": {
            "drums": "GM standard kit (channel 10)",
            "bass": gm_program(piece.instruments.bass),
            "chords": gm_program(piece.instruments.chords),
            "melody": gm_program(piece.instruments.melody),
        },
        "how_made": {
            "regenerate": "cargo run -p integration --bin make-demo",
            "composer": "tests/src/music.rs (integration::music::compose), seed below",
            "seed": piece.seed,
            "midi_ppq": PPQ,
            "renderer": fluidsynth_version,
            "render_command": render_cmd,
            "soundfont": sf.display().to_string(),
            "soundfont_license": "MIT (FluidR3_GM by Frank Wen; Debian package fluid-soundfont-gm)",
            "post_processing": format!(
                "plain gain of {:+.2} dB to a {TARGET_PEAK_DBFS} dBFS sample peak, 16-bit rounding without \
                 dither, no limiting or compression",
                db(gain)
            ),
            "encoder": "flac --best --verify",
            "deterministic": "yes: two fluidsynth renders are compared sample by sample on every run",
        },
    });
    let json_path = out_dir.join("demo.json");
    let text = serde_json::to_string_pretty(&truth).map_err(|e| e.to_string())? + "\n";
    std::fs::write(&json_path, text).map_err(|e| format!("writing {}: {e}", json_path.display()))?;

    println!("render command: {render_cmd}");
    for p in [&flac_path, &mid_path.to_path_buf(), &json_path] {
        let size = std::fs::metadata(p).map_err(|e| e.to_string())?.len();
        println!("wrote {} ({size} bytes)", p.display());
    }
    Ok(())
}
