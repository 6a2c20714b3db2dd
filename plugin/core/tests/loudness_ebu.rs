//! EBU Tech 3341 (loudness meters) and Tech 3342 (loudness range) conformance cases, from the
//! shared corpus `../shared/corpus/ebu-loudness-cases.json`: every case's signal is generated
//! here from its description, measured (a) as a file in one go and (b) through the realtime
//! meter fed random block sizes, and every expected value is checked within its tolerance.
//!
//! Readings of the descriptions, where they leave a choice:
//! * Tones are 1 kHz sines, `A·sin(2π·1000·n/fs)` with `A` the per-channel peak in dBFS, the
//!   phase running on across level changes; every channel carries the same tone.
//!   Segment boundaries fall on `round(t·fs)`.
//! * 3341-06 (5.0): channel order L, R, C, Ls, Rs with the BS.1770-4 weights (surrounds 1.41).
//!   Measured here as the corpus describes it, and again as WAV files through the decoder and
//!   the analysis `audiocollab analyze` runs ([`surround_files_are_measured_per_bs1770`]),
//!   with an LFE channel and channel masks that move the channels around.
//! * "M/S constant after 1 s / 3 s" (3341-12, 3341-09): every momentary (short-term) value on
//!   the 10 ms grid from 1 s (3 s) on must be within tolerance; the worst one is reported.
//! * Per-segment maxima (3341-11, 3341-14): the largest value whose window ends inside the
//!   segment, the measurement running continuously over the whole file ("live").
//! * 3341-15..19: `A·sin(2π·f·n/fs + φ)` for 3 s with 10 ms linear fades in and out.
//! * 3341-20..23: at 4·fs, 1.5 s of the fs/6 sine at 0.5, one period (16 samples) of the fs/4
//!   sine at 1.0, then 1.5 s of the fs/6 sine again, each starting at phase 0 (3 s + 4 samples
//!   at fs, matching the 3.000083 s duration); low-passed at 20.5 kHz by a linear-phase
//!   windowed-sinc FIR (delay compensated); scaled to a 4·fs peak of exactly 1.0 (the
//!   description's +0.205 dB); then every 4th sample from the offset.

mod common;
use audiocollab_core::analysis::loudness::{LoudnessAnalysis, LoudnessReport, TimelinePoint};
use audiocollab_core::analysis::spectral::mono_fold_down;
use audiocollab_core::analysis::timeline::Timeline;
use audiocollab_core::analysis::track::{analyze_timeline, AnalyzeOptions, TrackAnalysis};
use audiocollab_core::meter::LoudnessGrid;
use audiocollab_core::offline::decode_file;
use common::Rng;
use serde_json::Value;
use std::f64::consts::PI;
use std::path::{Path, PathBuf};

// The allocation guard the plugin's process() runs under (nice-plug installs the same allocator
// when `assert_process_allocs` is on); the core crate never links nice-plug, so it is installed
// here. `assert_no_alloc` then aborts on any allocation.
#[global_allocator]
static GUARD: nice_assert_no_alloc::AllocDisabler = nice_assert_no_alloc::AllocDisabler;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus/ebu-loudness-cases.json");

/// A sequence of 1 kHz tone segments: (seconds, level in dBFS or `None` for silence).
fn tone_sequence(sr: f64, segments: &[(f64, Option<f64>)]) -> Vec<f32> {
    let mut out = Vec::new();
    let mut t = 0.0;
    for &(dur, level) in segments {
        let end = ((t + dur) * sr).round() as usize;
        let amp = level.map_or(0.0, |db| 10f64.powf(db / 20.0));
        for n in out.len()..end {
            out.push((amp * (2.0 * PI * 1000.0 * n as f64 / sr).sin()) as f32);
        }
        t += dur;
    }
    out
}

/// The first number in `text` after `after` (e.g. the silence before the tone).
fn number_after(text: &str, after: &str) -> f64 {
    let rest = &text[text.find(after).unwrap_or_else(|| panic!("{after:?} not in {text:?}")) + after.len()..];
    let num: String = rest.trim_start().chars().take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-').collect();
    num.parse().unwrap_or_else(|_| panic!("no number after {after:?} in {text:?}"))
}

fn sine_with_fades(sr: f64, freq: f64, amp: f64, phase_deg: f64, secs: f64) -> Vec<f32> {
    let len = (secs * sr).round() as usize;
    let fade = (0.010 * sr).round() as usize;
    (0..len)
        .map(|n| {
            let g = (n.min(len - 1 - n) as f64 / fade as f64).min(1.0);
            (g * amp * (2.0 * PI * freq * n as f64 / sr + phase_deg.to_radians()).sin()) as f32
        })
        .collect()
}

/// 3341-20..23, see the module documentation.
fn inter_sample_peak_signal(offset: usize) -> Vec<f32> {
    let half = 288_000; // 1.5 s at 192 kHz
    let mut x4: Vec<f64> = (0..half).map(|m| 0.5 * (2.0 * PI * m as f64 / 24.0).sin()).collect();
    x4.extend((0..16).map(|m| (2.0 * PI * m as f64 / 16.0).sin()));
    x4.extend((0..half).map(|m| 0.5 * (2.0 * PI * m as f64 / 24.0).sin()));
    // Linear-phase low-pass at 20.5 kHz (192 kHz), 255 taps, Blackman window, unity DC gain.
    let taps = 255usize;
    let c = (taps / 2) as f64;
    let fc = 20_500.0 / 192_000.0;
    let mut h: Vec<f64> = (0..taps)
        .map(|k| {
            let t = k as f64 - c;
            let sinc = if t == 0.0 { 2.0 * fc } else { (2.0 * PI * fc * t).sin() / (PI * t) };
            let w = 0.42 - 0.5 * (2.0 * PI * k as f64 / (taps - 1) as f64).cos()
                + 0.08 * (4.0 * PI * k as f64 / (taps - 1) as f64).cos();
            sinc * w
        })
        .collect();
    let dc: f64 = h.iter().sum();
    h.iter_mut().for_each(|v| *v /= dc);
    let half_len = taps / 2;
    let y: Vec<f64> = (0..x4.len())
        .map(|m| {
            let mut acc = 0.0;
            for (k, hk) in h.iter().enumerate() {
                let idx = m as isize + half_len as isize - k as isize;
                if idx >= 0 && (idx as usize) < x4.len() {
                    acc += hk * x4[idx as usize];
                }
            }
            acc
        })
        .collect();
    let peak = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    (offset..y.len()).step_by(4).map(|m| (y[m] / peak) as f32).collect()
}

/// The channels of a case's signal, generated from its id and description.
fn generate(id: &str, description: &str, sr: f64, channels: usize) -> Vec<Vec<f32>> {
    let db = Some;
    let mono: Vec<f32> = match id {
        "3341-01" => tone_sequence(sr, &[(20.0, db(-23.0))]),
        "3341-02" => tone_sequence(sr, &[(20.0, db(-33.0))]),
        "3341-03" => tone_sequence(sr, &[(10.0, db(-36.0)), (60.0, db(-23.0)), (10.0, db(-36.0))]),
        "3341-04" => tone_sequence(
            sr,
            &[(10.0, db(-72.0)), (10.0, db(-36.0)), (60.0, db(-23.0)), (10.0, db(-36.0)), (10.0, db(-72.0))],
        ),
        "3341-05" => tone_sequence(sr, &[(20.0, db(-26.0)), (20.1, db(-20.0)), (20.0, db(-26.0))]),
        "3341-06" => {
            // L, R −28; C −24; Ls, Rs −30 dBFS.
            return [-28.0, -28.0, -24.0, -30.0, -30.0].iter().map(|&l| tone_sequence(sr, &[(20.0, db(l))])).collect();
        }
        "3341-09" => tone_sequence(sr, &[(1.34, db(-20.0)), (1.66, db(-30.0))].repeat(5)),
        "3341-12" => tone_sequence(sr, &[(0.18, db(-20.0)), (0.22, db(-30.0))].repeat(25)),
        "3341-11" => {
            let segs: Vec<_> = (0..20)
                .flat_map(|i| {
                    let lead = i as f64 * 0.15;
                    [(lead, None), (3.0, db(-38.0 + i as f64)), (6.0 - 3.0 - lead, None)]
                })
                .collect();
            tone_sequence(sr, &segs)
        }
        "3341-14" => {
            let segs: Vec<_> = (0..20)
                .flat_map(|i| {
                    let lead = i as f64 * 0.02;
                    [(lead, None), (0.4, db(-38.0 + i as f64)), (0.8 - 0.4 - lead, None)]
                })
                .collect();
            tone_sequence(sr, &segs)
        }
        _ if id.starts_with("3341-10-") => {
            let lead = number_after(description, "");
            tone_sequence(sr, &[(lead, None), (3.0, db(-23.0)), (1.0, None)])
        }
        _ if id.starts_with("3341-13-") => {
            let lead = number_after(description, "");
            tone_sequence(sr, &[(lead, None), (0.4, db(-23.0)), (1.0, None)])
        }
        "3341-15" | "3341-16" | "3341-17" | "3341-18" | "3341-19" => {
            let divisor = number_after(description, "fs/");
            let amp = number_after(description, "amplitude");
            let phase = number_after(description, "phase");
            sine_with_fades(sr, sr / divisor, amp, phase, 3.0)
        }
        "3341-20" | "3341-21" | "3341-22" | "3341-23" => {
            inter_sample_peak_signal(number_after(description, "offset") as usize)
        }
        _ if id.starts_with("3342-") => {
            // "20 s each at -20, -30 dBFS (Tech 3342 case 1)"
            let list =
                &description[description.find(" at ").expect("levels") + 4..description.find(" dBFS").expect("unit")];
            let segs: Vec<_> = list.split(',').map(|l| (20.0, db(l.trim().parse::<f64>().expect("level")))).collect();
            tone_sequence(sr, &segs)
        }
        _ => panic!("case {id} ({description}) has no generator: add one"),
    };
    vec![mono; channels]
}

/// The report and the timeline of one way of measuring.
struct Measured {
    report: LoudnessReport,
    timeline: Vec<TimelinePoint>,
}

fn offline(sr: f64, audio: &[Vec<f32>]) -> Measured {
    let chans: Vec<&[f32]> = audio.iter().map(Vec::as_slice).collect();
    let a = LoudnessAnalysis::of_audio(sr, &chans).expect("valid case");
    Measured { report: a.report(), timeline: a.timeline() }
}

fn realtime(sr: f64, audio: &[Vec<f32>], seed: u64) -> Measured {
    let mut grid = LoudnessGrid::new(sr, audio.len()).expect("valid case");
    let mut analysis = LoudnessAnalysis::new(sr, audio.len()).expect("valid case");
    let mut rng = Rng(seed);
    let len = audio[0].len();
    let mut pos = 0;
    while pos < len {
        let n = rng.range(1, 4096).min(len - pos);
        let block: Vec<&[f32]> = audio.iter().map(|ch| &ch[pos..pos + n]).collect();
        grid.process(&block, |c| analysis.push(c).expect("cells in order")).expect("block");
        pos += n;
    }
    grid.finish(|c| analysis.push(c).expect("cells in order"));
    Measured { report: analysis.report(), timeline: analysis.timeline() }
}

/// The measured value(s) for one expected key; several values for per-segment keys.
fn measure(key: &str, m: &Measured, exp: &Value) -> Vec<Option<f64>> {
    let r = &m.report;
    let worst_after = |t0: f64, pick: fn(&TimelinePoint) -> Option<f64>, target: f64| {
        m.timeline
            .iter()
            .filter(|p| p.time_s >= t0 - 1e-9)
            .map(pick)
            .max_by(|a, b| {
                let d = |v: &Option<f64>| v.map_or(f64::INFINITY, |v| (v - target).abs());
                d(a).total_cmp(&d(b))
            })
            .flatten()
    };
    let per_segment = |pick: fn(&TimelinePoint) -> Option<f64>| {
        let seg = exp["segment_s"].as_f64().expect("segment_s");
        let n = exp["values"].as_array().expect("values").len();
        (0..n)
            .map(|k| {
                let (a, b) = (k as f64 * seg, (k + 1) as f64 * seg);
                m.timeline
                    .iter()
                    .filter(|p| p.time_s > a + 1e-9 && p.time_s <= b + 1e-9)
                    .filter_map(pick)
                    .max_by(f64::total_cmp)
            })
            .collect()
    };
    let target = exp["value"].as_f64().unwrap_or(0.0);
    match key {
        "integrated_lufs" => vec![r.integrated_lufs],
        "momentary_lufs_final" => vec![r.momentary_lufs],
        "short_term_lufs_final" => vec![r.short_term_lufs],
        "max_momentary_lufs" => vec![r.max_momentary_lufs],
        "max_short_term_lufs" => vec![r.max_short_term_lufs],
        "sample_peak_dbfs" => vec![r.sample_peak_dbfs],
        "true_peak_dbtp" => vec![r.true_peak_dbtp],
        "lra_lu" => vec![r.loudness_range_lu],
        "momentary_lufs_after_1s" => vec![worst_after(1.0, |p| p.momentary_lufs, target)],
        "short_term_lufs_after_3s" => vec![worst_after(3.0, |p| p.short_term_lufs, target)],
        "max_momentary_lufs_per_segment" => per_segment(|p| p.momentary_lufs),
        "max_short_term_lufs_per_segment" => per_segment(|p| p.short_term_lufs),
        _ => panic!("unknown expected key {key}: teach the test to measure it"),
    }
}

fn show(v: Option<f64>) -> String {
    v.map_or("-inf".into(), |v| format!("{v:.3}"))
}

/// Checks one case; returns its table rows and whether every value passed.
fn run_case(case: &Value, seed: u64) -> (Vec<String>, bool) {
    let id = case["id"].as_str().expect("id");
    let description = case["description"].as_str().expect("description");
    let sr = case["sample_rate"].as_f64().unwrap_or(48_000.0);
    let channels = case["channels"].as_u64().expect("channels") as usize;
    let audio = generate(id, description, sr, channels);
    let want_len = case["duration_s"].as_f64().expect("duration_s") * sr;
    assert!(
        (audio[0].len() as f64 - want_len).abs() <= 1.0,
        "{id}: generated {} samples, the case says {want_len}",
        audio[0].len()
    );
    let off = offline(sr, &audio);
    let rt = realtime(sr, &audio, seed);
    let mut rows = Vec::new();
    let mut ok = true;
    let expected = case["expected"].as_object().expect("expected");
    for (key, exp) in expected {
        let (tm, tp) = (exp["tol_minus"].as_f64().expect("tol"), exp["tol_plus"].as_f64().expect("tol"));
        let values: Vec<f64> = match exp.get("values") {
            Some(v) => v.as_array().expect("values").iter().map(|v| v.as_f64().expect("value")).collect(),
            None => vec![exp["value"].as_f64().expect("value")],
        };
        let (mo, mr) = (measure(key, &off, exp), measure(key, &rt, exp));
        for (k, want) in values.iter().enumerate() {
            let pass = |m: Option<f64>| m.is_some_and(|m| m >= want - tm - 1e-9 && m <= want + tp + 1e-9);
            let same = match (mo[k], mr[k]) {
                (Some(a), Some(b)) => (a - b).abs() < 1e-6,
                (None, None) => true,
                _ => false,
            };
            let good = pass(mo[k]) && pass(mr[k]) && same;
            ok &= good;
            let name = if values.len() > 1 { format!("{key}[{k}]") } else { key.clone() };
            rows.push(format!(
                "{id:<11} {name:<36} {want:>8.3} (-{tm}/+{tp}) {:>9} {:>9} {}",
                show(mo[k]),
                show(mr[k]),
                if good { "pass" } else { "FAIL" }
            ));
        }
    }
    (rows, ok)
}

#[test]
fn ebu_tech_3341_and_3342_cases() {
    let text = std::fs::read_to_string(CORPUS).unwrap_or_else(|e| {
        panic!("cannot read the EBU case corpus at {CORPUS} ({e}); it lives in the shared folder beside the repository")
    });
    let corpus: Value = serde_json::from_str(&text).expect("the corpus is valid JSON");
    let cases = corpus["cases"].as_array().expect("cases");
    assert!(cases.len() > 50, "the corpus has {} cases; expected the full set", cases.len());
    // Two workers: the cases are independent and the machine has two cores.
    let results: Vec<(usize, Vec<String>, bool)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|w| {
                s.spawn(move || {
                    cases
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| i % 2 == w)
                        .map(|(i, c)| {
                            let (rows, ok) = run_case(c, 0x9e37_79b9_7f4a_7c15 ^ i as u64);
                            (i, rows, ok)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<_> = workers.into_iter().flat_map(|w| w.join().expect("worker")).collect();
        all.sort_by_key(|r| r.0);
        all
    });
    println!("{:<11} {:<36} {:>8} {:<11} {:>9} {:>9}", "case", "measure", "expected", "(tol)", "offline", "realtime");
    let mut failed = Vec::new();
    for (i, rows, ok) in &results {
        rows.iter().for_each(|r| println!("{r}"));
        if !ok {
            failed.push(cases[*i]["id"].as_str().unwrap_or("?").to_string());
        }
    }
    assert!(failed.is_empty(), "cases out of tolerance: {failed:?}");
}

#[test]
fn the_meter_does_not_allocate_per_block() {
    let sr = 48_000.0;
    let x = tone_sequence(sr, &[(2.0, Some(-20.0))]);
    let mut grid = LoudnessGrid::new(sr, 2).expect("stereo");
    let mut last = None;
    let mut cells = 0usize;
    let mut rng = Rng(7);
    let mut pos = 0;
    let mut failed = false;
    // Aborts the test process if anything inside allocates.
    nice_assert_no_alloc::assert_no_alloc(|| {
        while pos < x.len() {
            let n = rng.range(1, 4096).min(x.len() - pos);
            let block = [&x[pos..pos + n], &x[pos..pos + n]];
            let result = grid.process(&block, |c| {
                last = Some(*c);
                cells += 1;
            });
            pos += n;
            if result.is_err() {
                failed = true;
                break;
            }
        }
        grid.finish(|c| last = Some(*c));
    });
    assert!(!failed, "the meter refused a valid block");
    assert_eq!(cells, 200);
    assert_eq!(last.map(|c| c.index), Some(199));
}

// ---------------------------------------------------------------------------------------------
// Surround files, through the decoder and the analysis the CLI runs
// ---------------------------------------------------------------------------------------------

/// A folder for this test's files, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("audiocollab-ebu-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes planar 32-bit float `channels` at 48 kHz with hound (which writes a
/// `WAVE_FORMAT_EXTENSIBLE` header whose mask is the lowest bits, 0x1F for five channels),
/// then sets the header's channel mask to `mask` (0: "not stated").
fn write_surround_wav(path: &Path, channels: &[Vec<f32>], mask: u32) {
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: 48_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for n in 0..channels[0].len() {
        for ch in channels {
            w.write_sample(ch[n]).expect("write sample");
        }
    }
    w.finalize().expect("finalize wav");
    let mut bytes = std::fs::read(path).expect("read back");
    // RIFF header (12 bytes), then chunks: hound writes `fmt ` first.
    assert_eq!(&bytes[12..16], b"fmt ", "hound's layout changed");
    let fmt = 20;
    assert_eq!(u16::from_le_bytes([bytes[fmt], bytes[fmt + 1]]), 0xFFFE, "not WAVE_FORMAT_EXTENSIBLE");
    bytes[fmt + 20..fmt + 24].copy_from_slice(&mask.to_le_bytes());
    std::fs::write(path, bytes).expect("write back");
}

/// What `audiocollab analyze` measures in a file: decoded, its channel layout read from the
/// file, the timeline and the analysis (the same library calls the CLI makes).
fn analyse_file(path: &Path) -> (String, TrackAnalysis) {
    let decoded = decode_file(path, &mut |_, _| {}).expect("decode");
    let layout = decoded.layout.expect("a layout for up to six channels");
    let views: Vec<&[f32]> = decoded.audio.channels.iter().map(Vec::as_slice).collect();
    let timeline =
        Timeline::of_audio_with_layout(decoded.audio.sample_rate, &views, &layout, |_| {}).expect("timeline");
    let mono = mono_fold_down(&views, &layout);
    let analysis = analyze_timeline(&timeline, &mono, &AnalyzeOptions::default()).expect("analysis");
    (layout.describe(), analysis)
}

/// Loudness of 1 kHz sines of peak level `levels[i]` dBFS on channels of BS.1770-4 weight
/// `weights[i]`, computed from the definition: a stereo 1 kHz sine at L dBFS reads L LUFS
/// (3341-01), so each channel adds `G·10^(L/10)/2` to the weighted power.
fn expected_lufs(levels: &[f64], weights: &[f64]) -> f64 {
    10.0 * levels.iter().zip(weights).map(|(l, g)| g * 10f64.powf(l / 10.0) / 2.0).sum::<f64>().log10()
}

fn tone(level_db: f64, freq: f64, seconds: f64) -> Vec<f32> {
    let amp = 10f64.powf(level_db / 20.0);
    (0..(seconds * 48_000.0) as usize).map(|n| (amp * (2.0 * PI * freq * n as f64 / 48_000.0).sin()) as f32).collect()
}

fn integrated(a: &TrackAnalysis) -> f64 {
    a.loudness.integrated_lufs.expect("loud enough to gate")
}

#[test]
fn surround_files_are_measured_per_bs1770() {
    let dir = Scratch::new("surround");
    let case6: Vec<Vec<f32>> = [-28.0, -28.0, -24.0, -30.0, -30.0].iter().map(|&l| tone(l, 1000.0, 20.0)).collect();

    // 3341-06 with no stated layout (mask 0: the ITU order L R C Ls Rs) and with a mask
    // naming the same speakers (FL FR FC SL SR).
    for (name, mask, layout) in [("unstated", 0, "L R C Ls Rs"), ("side", 0x607, "L R C Ls Rs")] {
        let path = dir.0.join(format!("case6-{name}.wav"));
        write_surround_wav(&path, &case6, mask);
        let (described, a) = analyse_file(&path);
        println!("3341-06 ({name} mask): {:.3} LUFS", integrated(&a));
        assert_eq!(described, layout);
        assert_eq!(a.channels, 5);
        assert!((integrated(&a) + 23.0).abs() <= 0.1, "3341-06 {name}: {:.3} LUFS", integrated(&a));
        // Every channel's peak is measured: the centre, at −24 dBFS, is the highest.
        assert!((a.loudness.sample_peak_dbfs.unwrap() + 24.0).abs() < 0.01, "{:?}", a.loudness.sample_peak_dbfs);
        // The tonal balance is measured on the fold-down.
        assert!(!a.tonal_balance.bands.is_empty());
    }

    // 5.1 in the ITU order (no mask) with a loud LFE: 60 Hz at −3 dBFS, which would read
    // about −2 LUFS if it were weighed like a main channel. It is left out of the loudness but
    // its peak counts.
    let mut five_one = case6.clone();
    five_one.insert(3, tone(-3.0, 60.0, 20.0));
    let path = dir.0.join("five-one.wav");
    write_surround_wav(&path, &five_one, 0);
    let (described, a) = analyse_file(&path);
    println!(
        "5.1 with a loud LFE: {:.3} LUFS, sample peak {:.2} dBFS",
        integrated(&a),
        a.loudness.sample_peak_dbfs.unwrap()
    );
    assert_eq!(described, "L R C LFE Ls Rs");
    assert_eq!(a.channels, 6);
    assert!((integrated(&a) + 23.0).abs() <= 0.1, "5.1: {:.3} LUFS", integrated(&a));
    assert!((a.loudness.sample_peak_dbfs.unwrap() + 3.0).abs() < 0.01);
    assert!(a.loudness.true_peak_dbtp.unwrap() >= -3.01);

    // The same 5.1 with the back-speaker mask most files carry (0x3F: FL FR FC LFE BL BR).
    let path = dir.0.join("five-one-back.wav");
    write_surround_wav(&path, &five_one, 0x3F);
    let (described, a) = analyse_file(&path);
    assert_eq!(described, "L R C LFE Lb Rb");
    assert!((integrated(&a) + 23.0).abs() <= 0.1, "5.1 back: {:.3} LUFS", integrated(&a));

    // A mask that puts the channels in another order: 4.1 without a centre (0x3B: FL FR LFE BL
    // BR), so the third channel is the LFE, not the centre the default order would make it.
    let four_one: Vec<Vec<f32>> = vec![
        tone(-28.0, 1000.0, 20.0),
        tone(-28.0, 1000.0, 20.0),
        tone(-3.0, 60.0, 20.0),
        tone(-30.0, 1000.0, 20.0),
        tone(-30.0, 1000.0, 20.0),
    ];
    let path = dir.0.join("four-one.wav");
    write_surround_wav(&path, &four_one, 0x3B);
    let (described, a) = analyse_file(&path);
    let want = expected_lufs(&[-28.0, -28.0, -30.0, -30.0], &[1.0, 1.0, 1.41, 1.41]);
    println!("4.1 (mask 0x3B): {:.3} LUFS, expected {want:.3}", integrated(&a));
    assert_eq!(described, "L R LFE Lb Rb");
    assert!((integrated(&a) - want).abs() <= 0.1, "4.1: {:.3} LUFS, expected {want:.3}", integrated(&a));

    // Quad (0x33: FL FR BL BR): the back pair weighs 1.41, 0.5 LU more than plain channels.
    let quad: Vec<Vec<f32>> = [-28.0, -28.0, -24.0, -24.0].iter().map(|&l| tone(l, 1000.0, 20.0)).collect();
    let path = dir.0.join("quad.wav");
    write_surround_wav(&path, &quad, 0x33);
    let (described, a) = analyse_file(&path);
    let want = expected_lufs(&[-28.0, -28.0, -24.0, -24.0], &[1.0, 1.0, 1.41, 1.41]);
    let unweighted = expected_lufs(&[-28.0, -28.0, -24.0, -24.0], &[1.0; 4]);
    println!("quad (mask 0x33): {:.3} LUFS, expected {want:.3} (unweighted {unweighted:.3})", integrated(&a));
    assert_eq!(described, "L R Lb Rb");
    assert!((integrated(&a) - want).abs() <= 0.1 && (want - unweighted).abs() > 0.5, "quad: {:.3}", integrated(&a));
}
