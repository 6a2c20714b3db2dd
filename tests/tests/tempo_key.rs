//! Tempo and key accuracy on the 24 composed excerpts of `integration::music::test_suite` and on
//! the bundled demo song.
//!
//! The excerpts are rendered with fluidsynth into `target/tmp/tempo_key/` once (cached by seed
//! and index: a render is deterministic) and trimmed to `Piece::duration_seconds()`.
//! Tempo metrics follow MIREX: Acc1 counts a hit within ±4 % of the MIDI tempo, Acc2 also
//! accepts ×2, ×1/2, ×3 and ×1/3. Key accuracy is the mean MIREX key score; the key detector is
//! tuned on these renders, so `tests/key_held_out.rs` scores it on a held-out set too.

use audiocollab_core::analysis::key::{self, mirex_score, Key, Mode};
use audiocollab_core::analysis::spectral::Features;
use audiocollab_core::analysis::tempo;
use audiocollab_core::offline::{read_audio, AudioBuffer};
use integration::music::{self, compose, render_with_fluidsynth, test_suite, Piece};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The suite's seed; `TEMPO_KEY_SEED` overrides it (held-out checks, not part of CI).
const SEED: u64 = 1;

fn seed() -> u64 {
    std::env::var("TEMPO_KEY_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(SEED)
}
const SAMPLE_RATE: u32 = 44_100;

/// Issue 3's goals. essentia and librosa reach Acc1 0.875 and MIREX 0.93 / 0.88 on this kind of
/// material.
const ACC1_GOAL: f64 = 0.95;
const MIREX_GOAL: f64 = 0.95;

fn cache_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tempo_key");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Renders (or reuses) excerpt `index` and returns it trimmed to the piece's length.
fn render(piece: &Piece, index: usize) -> Result<AudioBuffer, String> {
    let dir = cache_dir();
    let wav = dir.join(format!("seed{}_{index:02}.wav", seed()));
    if !wav.is_file() {
        let mid = dir.join(format!("seed{}_{index:02}.mid", seed()));
        std::fs::write(&mid, compose(piece)).map_err(|e| e.to_string())?;
        let tmp = dir.join(format!("seed{}_{index:02}.partial.wav", seed()));
        render_with_fluidsynth(&mid, &tmp, SAMPLE_RATE)?;
        std::fs::rename(&tmp, &wav).map_err(|e| e.to_string())?;
    }
    let mut audio = read_audio(&wav).map_err(|e| e.to_string())?;
    let frames = (piece.duration_seconds() * f64::from(audio.sample_rate)).round() as usize;
    for ch in &mut audio.channels {
        ch.truncate(frames);
    }
    Ok(audio)
}

fn to_detected_mode(mode: music::Mode) -> Mode {
    match mode {
        music::Mode::Major => Mode::Major,
        music::Mode::Minor => Mode::Minor,
    }
}

fn within(detected: f64, truth: f64, factor: f64) -> bool {
    (detected / (truth * factor) - 1.0).abs() <= 0.04
}

struct Row {
    tempo_hit1: bool,
    tempo_hit2: bool,
    mirex: f64,
}

#[test]
fn tempo_and_key_on_the_test_suite() {
    if !music::fluidsynth_available() {
        panic!("fluidsynth and the GM soundfont are required: apt-get install fluidsynth fluid-soundfont-gm");
    }
    let start = Instant::now();
    let pieces = test_suite(seed());
    // Two render threads (fluidsynth is single-threaded per render).
    let renders: Vec<Result<AudioBuffer, String>> = std::thread::scope(|s| {
        let halves: Vec<_> = (0..2)
            .map(|t| {
                let pieces = &pieces;
                s.spawn(move || {
                    (0..pieces.len()).filter(|i| i % 2 == t).map(|i| (i, render(&pieces[i], i))).collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<_> = halves.into_iter().flat_map(|h| h.join().unwrap()).collect();
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, r)| r).collect()
    });
    let rendered = start.elapsed();

    println!(
        "{:>2} {:>4} {:>5} {:>5} | {:>6} {:>8} | {:>8} {:>4} {:>4} {:>4} | {:<9} {:<9} {:>4} {:>5}",
        "#", "mtr", "swing", "secs", "bpm", "detected", "conf", "acc1", "acc2", "", "key", "detected", "conf", "mirex"
    );
    let mut rows = Vec::new();
    for (i, (piece, audio)) in pieces.iter().zip(renders).enumerate() {
        let audio = audio.unwrap_or_else(|e| panic!("excerpt {i}: {e}"));
        let features = Features::from_channels(&audio.channels, audio.sample_rate).unwrap();
        let t = tempo::detect(&features);
        let k = key::detect(&features);
        let truth = Key::new(piece.key.tonic, to_detected_mode(piece.key.mode));
        let row = Row {
            tempo_hit1: within(t.bpm, piece.tempo_bpm, 1.0),
            tempo_hit2: [1.0, 2.0, 0.5, 3.0, 1.0 / 3.0].iter().any(|&f| within(t.bpm, piece.tempo_bpm, f)),
            mirex: mirex_score(&k, &truth),
        };
        println!(
            "{:>2} {:>4} {:>5} {:>5.1} | {:>6.1} {:>8.2} | {:>8.2} {:>4} {:>4} {:>4} | {:<9} {:<9} {:>4.2} {:>5.1}",
            i,
            if piece.beats_per_bar() == 3 { "3/4" } else { "4/4" },
            if piece.is_swung() { "yes" } else { "" },
            piece.duration_seconds(),
            piece.tempo_bpm,
            t.bpm,
            t.confidence,
            if row.tempo_hit1 { "hit" } else { "MISS" },
            if row.tempo_hit2 { "hit" } else { "MISS" },
            "",
            truth.name(),
            k.name(),
            k.confidence,
            row.mirex,
        );
        if std::env::var_os("TEMPO_DEBUG").is_some() {
            let env: Vec<f32> = features.onset.iter().map(|b| b[0] + b[1] + 0.5 * b[2]).collect();
            for c in tempo::candidates(&env, features.onset_rate) {
                println!(
                    "      cand {:7.2} per {:.3} prior {:.3} half {:.3} parent {:.3}",
                    c.bpm, c.periodicity, c.prior, c.half_ratio, c.parent_half_ratio
                );
            }
        }
        rows.push(row);
    }
    let n = rows.len() as f64;
    let acc1 = rows.iter().filter(|r| r.tempo_hit1).count() as f64 / n;
    let acc2 = rows.iter().filter(|r| r.tempo_hit2).count() as f64 / n;
    let mirex = rows.iter().map(|r| r.mirex).sum::<f64>() / n;
    println!("Acc1 {acc1:.3}  Acc2 {acc2:.3}  mean MIREX {mirex:.3}");
    println!("render {:.1} s, total {:.1} s", rendered.as_secs_f64(), start.elapsed().as_secs_f64());
    assert!(acc2 >= 1.0, "Acc2 {acc2:.3}");
    assert!(acc1 >= ACC1_GOAL, "Acc1 {acc1:.3} < goal {ACC1_GOAL}");
    assert!(mirex >= MIREX_GOAL, "MIREX {mirex:.3} < goal {MIREX_GOAL}");
}

#[test]
fn demo_song_is_136_bpm_e_minor() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo.flac");
    let audio = read_audio(&path).unwrap();
    let features = Features::from_channels(&audio.channels, audio.sample_rate).unwrap();
    let t = tempo::detect(&features);
    let k = key::detect(&features);
    println!("demo: {:.2} BPM (confidence {:.2}), {} (confidence {:.2})", t.bpm, t.confidence, k.name(), k.confidence);
    assert_eq!(t.bpm.round(), 136.0, "{t:?}");
    assert_eq!((k.tonic, k.mode), (4, Mode::Minor), "{}", k.name());
}
