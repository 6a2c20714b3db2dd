//! The analysis measured block by block (`analysis::stream`, what the CLI runs on a file in
//! bounded memory) against the whole-buffer measurement it replaced:
//!
//! * the spectral features of a signal fed to a `FeatureBuilder` in pieces of any size (down to
//!   one sample) are those of the whole signal, to the bit;
//! * `track::analyze` (a `StreamAnalyzer` fed blocks) and `measure_file` on a file give the
//!   analysis that `analyze_timeline` gives from a whole timeline and a whole mono downmix,
//!   field for field, for the whole track and for passages (`--from`/`--to`);
//! * on the demo, the figures are those the whole-buffer code printed before streaming
//!   (recorded from `audiocollab analyze assets/demo.flac --json` at commit 5fd1c1b).

mod common;

use audiocollab_core::analysis::spectral::{mono_downmix, FeatureBuilder, Features};
use audiocollab_core::analysis::timeline::Timeline;
use audiocollab_core::analysis::track::{analyze, analyze_timeline, analyze_with_features, AnalyzeOptions};
use audiocollab_core::offline::{measure_file, read_audio, segment_features};
use common::{demo_path, Rng};

/// A synthetic track at `rate`: a four-chord pad over a bass line, kicks on the beat at
/// 120 BPM and hats off the beat, the second half a semitone higher and louder, a little noise.
fn synthetic(rate: u32, seconds: f64, channels: usize) -> Vec<Vec<f32>> {
    let sr = f64::from(rate);
    let n = (seconds * sr) as usize;
    let beat = 0.5;
    let chords: [[f64; 3]; 4] =
        [[220.0, 261.63, 329.63], [174.61, 220.0, 261.63], [196.0, 246.94, 293.66], [164.81, 207.65, 246.94]];
    let mut rng = Rng(0x5eed);
    let mut left = Vec::with_capacity(n);
    for i in 0..n {
        let t = i as f64 / sr;
        let second_half = t >= seconds / 2.0;
        let shift = if second_half { 2f64.powf(1.0 / 12.0) } else { 1.0 };
        let chord = chords[((t / (4.0 * beat)) as usize) % 4];
        let tau = std::f64::consts::TAU;
        let pad: f64 = chord.iter().map(|&f| (tau * f * shift * t).sin()).sum::<f64>() * 0.08;
        let bass = (tau * chord[0] * shift / 2.0 * t).sin() * 0.15;
        let since_beat = t % beat;
        let kick = (tau * 55.0 * since_beat).sin() * (-since_beat * 30.0).exp() * 0.5;
        let since_hat = (t + beat / 2.0) % beat;
        let hat = rng.bipolar() as f64 * (-since_hat * 200.0).exp() * 0.2;
        let gain = if second_half { 1.4 } else { 1.0 };
        left.push(((pad + bass + kick + hat) * gain + rng.bipolar() as f64 * 0.002) as f32);
    }
    (0..channels).map(|c| if c == 0 { left.clone() } else { left.iter().map(|&s| s * 0.8).collect() }).collect()
}

/// The passages every comparison covers: the whole track, a middle, from a point on, up to a
/// point, and one too short for the detectors.
fn passages() -> [(Option<f64>, Option<f64>); 5] {
    [(None, None), (Some(3.2), Some(11.7)), (Some(5.0), None), (None, Some(9.05)), (Some(4.0), Some(5.5))]
}

fn options(from_s: Option<f64>, to_s: Option<f64>) -> AnalyzeOptions {
    AnalyzeOptions { from_s, to_s, ..AnalyzeOptions::default() }
}

#[test]
fn features_fed_in_pieces_of_any_size_are_those_of_the_whole_signal() {
    let demo = read_audio(&demo_path()).expect("demo");
    let signals = [
        (demo.sample_rate, mono_downmix(&demo.channels)),
        (48_000, synthetic(48_000, 6.0, 1).remove(0)),
        (44_100, synthetic(44_100, 3.3, 1).remove(0)),
        (96_000, synthetic(96_000, 2.5, 1).remove(0)),
    ];
    let mut rng = Rng(42);
    for (rate, mono) in &signals {
        let whole = Features::compute(mono, *rate).expect("long enough");
        assert!(whole.onset.len() > 200 && whole.chroma.len() > 40, "{rate} Hz: {} onset frames", whole.onset.len());
        for piece in [1usize, 5, 1000, 4096, 65_536, 0] {
            let mut builder = FeatureBuilder::new(*rate).unwrap();
            let mut at = 0;
            while at < mono.len() {
                // 0: random sizes from one sample to a few windows.
                let size = if piece == 0 { rng.range(1, 20_000) } else { piece };
                let end = (at + size).min(mono.len());
                builder.push(&mono[at..end]);
                at = end;
                if piece == 1 && at >= 30_000 {
                    // One-sample pieces over the first windows only; the rest in one go.
                    builder.push(&mono[at..]);
                    at = mono.len();
                }
            }
            assert_eq!(builder.len(), mono.len());
            let streamed = builder.finish().expect("long enough");
            assert!(streamed == whole, "{rate} Hz, pieces of {piece}: the streamed features differ");
        }
    }
}

#[test]
fn too_short_signals_are_refused_by_the_builder_as_by_compute() {
    let mono = vec![0.1f32; 2 * 48_000 - 1];
    let mut builder = FeatureBuilder::new(48_000).unwrap();
    builder.push(&mono[..1000]);
    builder.push(&mono[1000..]);
    assert_eq!(builder.finish().unwrap_err(), Features::compute(&mono, 48_000).unwrap_err());
    assert!(FeatureBuilder::new(1_000).is_err(), "a sample rate the detectors do not take");
}

#[test]
fn the_streamed_analysis_is_the_whole_buffer_one_for_the_track_and_its_passages() {
    let demo = read_audio(&demo_path()).expect("demo");
    let tracks = [
        ("demo", demo.sample_rate, demo.channels),
        ("synthetic stereo 48 kHz", 48_000, synthetic(48_000, 16.0, 2)),
        ("synthetic mono 44.1 kHz", 44_100, synthetic(44_100, 14.0, 1)),
    ];
    for (name, rate, channels) in &tracks {
        let views: Vec<&[f32]> = channels.iter().map(Vec::as_slice).collect();
        let timeline = Timeline::of_audio(*rate, &views, |_| {}).expect("timeline");
        let mono = mono_downmix(channels);
        for (from, to) in passages() {
            let options = options(from, to);
            // The whole-buffer path: the timeline and the downmix of all of the track.
            let whole = analyze_timeline(&timeline, &mono, &options).expect("analysis");
            let streamed = analyze(*rate, channels, &options, |_| {}).expect("analysis");
            assert_eq!(streamed, whole, "{name}, {from:?}–{to:?}");
            if from.is_none() && to.is_none() {
                assert!(
                    whole.tempo.is_some() && whole.key.is_some() && !whole.sections.is_empty(),
                    "{name}: {whole:?}"
                );
            }
        }
        let short = analyze(*rate, channels, &options(Some(4.0), Some(5.5)), |_| {}).unwrap();
        assert!(short.tempo.is_none() && short.sections.is_empty(), "{name}: 1.5 s is too short for the detectors");
    }
}

#[test]
fn a_file_measured_in_one_streaming_pass_gives_the_whole_buffer_analysis() {
    let path = demo_path();
    let demo = read_audio(&path).expect("demo");
    let views: Vec<&[f32]> = demo.channels.iter().map(Vec::as_slice).collect();
    let timeline = Timeline::of_audio(demo.sample_rate, &views, |_| {}).expect("timeline");
    let mono = mono_downmix(&demo.channels);
    for (from, to) in passages() {
        let options = options(from, to);
        let mut calls = 0;
        let file = measure_file(&path, from, to, &mut |_, _| {}, &mut |_, _| calls += 1).expect("demo");
        assert_eq!((file.sample_rate, file.layout.channels()), (demo.sample_rate, 2));
        assert_eq!(file.decoded.frames, demo.frames() as u64);
        assert_eq!(calls, demo.frames().div_ceil(4096), "one call per block of 4096");
        let streamed =
            analyze_with_features(&file.measured.timeline, file.measured.features.as_ref(), &options).unwrap();
        assert_eq!(streamed, analyze_timeline(&timeline, &mono, &options).unwrap(), "{from:?}–{to:?}");
        // A passage measured again from the file (the chat's questions) has the same features.
        let again = segment_features(&path, from, to).expect("demo");
        assert!(again == file.measured.features, "{from:?}–{to:?}: segment features differ");
    }
}

/// What `audiocollab analyze assets/demo.flac --json` printed before streaming (commit
/// 5fd1c1b). Tolerances allow the last bits of the FFT kernels of another CPU, nothing more.
#[test]
fn the_demo_reads_what_the_whole_buffer_code_read() {
    let file = measure_file(&demo_path(), None, None, &mut |_, _| {}, &mut |_, _| {}).expect("demo");
    let a = analyze_with_features(&file.measured.timeline, file.measured.features.as_ref(), &AnalyzeOptions::default())
        .unwrap();
    let close = |got: f64, want: f64, what: &str| {
        assert!((got - want).abs() <= 1e-6 * want.abs().max(1.0), "{what}: {got} (before: {want})");
    };
    let tempo = a.tempo.as_ref().expect("tempo");
    close(tempo.bpm, 136.3556250328864, "tempo");
    close(tempo.confidence, 0.7892714014363476, "tempo confidence");
    let key = a.key.as_ref().expect("key");
    assert_eq!(key.name, "E minor");
    close(key.confidence, 0.8600433548102027, "key confidence");
    close(a.loudness.integrated_lufs.unwrap(), -16.601130073933987, "integrated loudness");
    close(a.loudness.loudness_range_lu.unwrap(), 6.510217580808339, "loudness range");
    let bounds: Vec<(f64, f64)> = a.sections.iter().map(|s| (s.start_s, s.end_s)).collect();
    assert_eq!(bounds, [(0.0, 3.3), (3.3, 10.2), (10.2, 15.8), (15.8, 18.39)]);
    let character = a.character.as_ref().expect("character");
    close(character.onsets_per_second, 2.6101141924959217, "onsets per second");
    close(f64::from(character.energy), 0.75558263, "energy");
    let source = a.source.as_ref().expect("source");
    close(source.measures.chroma_flux, 0.032000667337300774, "chroma flux");
    close(source.measures.bass_polyphony, 2.143526997983667, "bass polyphony");
}
