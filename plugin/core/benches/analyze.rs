//! The offline analysis of a 3-minute 48 kHz stereo track, one thread:
//! `cargo bench -p audiocollab-core --bench analyze`. Times the statistics pass
//! ([`Timeline::of_audio`], the same meter the plugin runs), the spectral features, the
//! detectors that read them (tempo and key; sections, character and source) and the whole
//! analysis ([`analyze`]: all of those plus loudness, tonal balance and findings), and prints
//! them in × realtime (seconds of audio analysed per second of one core).
//!
//! The track is synthesised here, seeded, so every run measures the same audio: a four-chord
//! progression of harmonic tones, a bass line, a kick on every beat, noise-burst hi-hats on the
//! off-beats and a snare on two and four, at 120 BPM, with a quieter breakdown in the middle.
//!
//! With `AUDIOCOLLAB_BENCH_FILE=path` it also times decoding and analysing that file, as the
//! `analyze` command does (`scripts/bench-vs-ffmpeg.sh` times the command itself against
//! ffmpeg).

mod common;
use audiocollab_core::analysis::spectral::{mono_downmix, Features};
use audiocollab_core::analysis::timeline::Timeline;
use audiocollab_core::analysis::track::{analyze, AnalyzeOptions};
use audiocollab_core::analysis::{character, key, sections, tempo};
use audiocollab_core::offline::read_audio;
use common::mean_ns;
use criterion::{criterion_group, Criterion};
use std::f64::consts::TAU;
use std::hint::black_box;
use std::time::Duration;

const SAMPLE_RATE: u32 = 48_000;
/// Length of the synthesised track, seconds.
const SECONDS: f64 = 180.0;
const BPM: f64 = 120.0;

/// A small seeded generator (xorshift64*), so the track is the same on every run.
struct Rng(u64);

impl Rng {
    fn bipolar(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
        bits as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// Equal-tempered frequency of MIDI note `n`, Hz.
fn midi_hz(n: f64) -> f64 {
    440.0 * 2f64.powf((n - 69.0) / 12.0)
}

/// The synthesised track, `[left, right]`.
fn track() -> [Vec<f32>; 2] {
    let sr = SAMPLE_RATE as f64;
    let len = (SECONDS * sr) as usize;
    let beat_len = (60.0 / BPM * sr) as usize;
    // C, A minor, F, G: chord tones as MIDI notes, one chord per bar.
    let chords: [[f64; 3]; 4] = [[60.0, 64.0, 67.0], [57.0, 60.0, 64.0], [53.0, 57.0, 60.0], [55.0, 59.0, 62.0]];
    let mut rng = Rng(0x5eed_0fa1_1c0d);
    let (mut left, mut right) = (Vec::with_capacity(len), Vec::with_capacity(len));
    let (mut hat, mut snare) = (0.0f64, 0.0f64);
    for n in 0..len {
        let t = n as f64 / sr;
        let (beat, in_beat) = (n / beat_len, n % beat_len);
        let since_beat = in_beat as f64 / sr;
        let bar = beat / 4;
        let chord = chords[bar % chords.len()];
        // The breakdown: bars 40 to 47 without drums, pads quieter.
        let breakdown = (40..48).contains(&bar);
        let mut pad = 0.0;
        for (i, &note) in chord.iter().enumerate() {
            let f = midi_hz(note) * (1.0 + 0.0007 * i as f64);
            for h in 1..=3 {
                pad += (TAU * f * h as f64 * t).sin() / (h * h) as f64;
            }
        }
        let pad = pad * if breakdown { 0.03 } else { 0.06 };
        let bass = 0.25 * (TAU * midi_hz(chord[0] - 24.0) * t).sin() * (-since_beat * 3.0).exp();
        let mut kick = 0.0;
        if !breakdown {
            // A falling sine, 150 Hz to 50 Hz, on every beat.
            let f = 50.0 + 100.0 * (-since_beat * 30.0).exp();
            kick = 0.6 * (TAU * f * since_beat).sin() * (-since_beat * 12.0).exp();
            // Hi-hat on the off-beats, snare on two and four: noise bursts.
            if in_beat == beat_len / 2 {
                hat = 1.0;
            }
            if in_beat == 0 && beat % 2 == 1 {
                snare = 1.0;
            }
        }
        hat *= 0.9985;
        snare *= 0.9995;
        let (noise_l, noise_r) = (rng.bipolar(), rng.bipolar());
        let hat_l = 0.12 * hat * (noise_l - 0.7 * noise_r);
        let centre = bass + kick + 0.25 * snare * (0.6 * noise_l + 0.4 * (TAU * 190.0 * t).sin());
        left.push((centre + 1.1 * pad + hat_l) as f32);
        right.push((centre + 0.9 * pad - 0.5 * hat_l) as f32);
    }
    [left, right]
}

fn bench_analysis(c: &mut Criterion) {
    let [l, r] = track();
    let views = [l.as_slice(), r.as_slice()];
    let channels = vec![l.clone(), r.clone()];
    let options = AnalyzeOptions::default();
    let mut group = c.benchmark_group("analyze");
    // Each iteration analyses three minutes of audio: a few samples are plenty.
    group.sample_size(10).measurement_time(Duration::from_secs(20)).warm_up_time(Duration::from_secs(2));
    group.bench_function("timeline_3min", |b| {
        b.iter(|| Timeline::of_audio(SAMPLE_RATE, black_box(&views), |_| ()).expect("stereo timeline"))
    });
    // The parts of the analysis one by one, in `analyze`'s order: the spectral features of the
    // mono downmix, then the detectors that read them (and the timeline).
    let timeline = Timeline::of_audio(SAMPLE_RATE, &views, |_| ()).expect("stereo timeline");
    let mono = mono_downmix(&channels);
    group.bench_function("features_3min", |b| b.iter(|| Features::compute(black_box(&mono), SAMPLE_RATE)));
    let features = Features::compute(&mono, SAMPLE_RATE).expect("features");
    group.bench_function("tempo_key_3min", |b| {
        b.iter(|| (tempo::detect(black_box(&features)), key::detect(black_box(&features))))
    });
    group.bench_function("sections_character_3min", |b| {
        b.iter(|| {
            let f = black_box(&features);
            (
                sections::detect(f, 0.0, &timeline),
                character::describe(f, 0.0, &timeline),
                character::source(f, 0.0, &timeline),
            )
        })
    });
    group.bench_function("full_3min", |b| {
        b.iter(|| analyze(SAMPLE_RATE, black_box(&channels), &options, |_| ()).expect("analysis"))
    });
    if let Some(path) = bench_file() {
        group.bench_function("file", |b| {
            b.iter(|| {
                let audio = read_audio(black_box(&path)).expect("decodable file");
                analyze(audio.sample_rate, &audio.channels, &options, |_| ())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_analysis);

/// The file named by `AUDIOCOLLAB_BENCH_FILE`, if any.
fn bench_file() -> Option<std::path::PathBuf> {
    std::env::var_os("AUDIOCOLLAB_BENCH_FILE").map(Into::into)
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    println!("\noffline analysis of a {SECONDS:.0} s 48 kHz stereo track, one core:");
    for (name, id) in [
        ("statistics (Timeline::of_audio)", "analyze/timeline_3min"),
        ("spectral features (Features::compute)", "analyze/features_3min"),
        ("tempo and key", "analyze/tempo_key_3min"),
        ("sections, character, source", "analyze/sections_character_3min"),
        ("full analysis (analyze)", "analyze/full_3min"),
    ] {
        if let Some(ns) = mean_ns(id) {
            println!("{name:>44} {:>8.3} s {:>8.0} x realtime", ns * 1e-9, SECONDS / (ns * 1e-9));
        }
    }
    if let (Some(path), Some(ns)) = (bench_file(), mean_ns("analyze/file")) {
        if let Ok(audio) = read_audio(&path) {
            let seconds = audio.duration_secs();
            println!(
                "decode + analyze {} ({seconds:.1} s): {:.3} s, {:.0} x realtime",
                path.display(),
                ns * 1e-9,
                seconds / (ns * 1e-9)
            );
        }
    }
}
