//! `audiocollab analyze`, end to end: the real binary on the bundled demo song and on signals
//! this file synthesises and writes with hound. Reference values come from the library
//! (`LoudnessAnalysis` on the decoded samples) or from the signal's construction; the JSON is
//! validated against `assets/schema/analysis.schema.json` with an independent validator (boon),
//! and the plot is decoded with the `png` crate.
//!
//! [`binary`] builds the `audiocollab` binary the same way `cli_render.rs` does (cargo only
//! gives `CARGO_BIN_EXE_*` to tests of the binary's own package); `AUDIOCOLLAB_BIN` overrides.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use audiocollab_core::analysis::loudness::{LoudnessAnalysis, LoudnessReport};
use audiocollab_core::offline::read_audio;
use integration::cli::{binary, repo_root, TempDir};
use serde_json::Value;

const RATE: u32 = 48_000;

/// Size of the `--plot` image, as docs/analyze.md states it.
const PLOT_SIZE: (u32, u32) = (1200, 600);
/// Rows of the waveform panel in the plot, as docs/analyze.md states them.
const PLOT_WAVEFORM_ROWS: std::ops::Range<u32> = 30..210;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn demo() -> PathBuf {
    repo_root().join("assets/demo.flac")
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn analyze<S: AsRef<OsStr>>(args: &[S]) -> Run {
    let Output { status, stdout, stderr } = Command::new(binary())
        .arg("analyze")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary().display()));
    Run {
        code: status.code().expect("terminated by a signal"),
        stdout: String::from_utf8(stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(stderr).expect("stderr is UTF-8"),
    }
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout is not one JSON document ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr)
        })
    }

    fn expect(self, code: i32) -> Self {
        assert_eq!(self.code, code, "exit code\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
}

/// Validates `document` against the schema shipped in `assets/schema/` (which boon first
/// checks against the draft 2020-12 meta-schema).
fn assert_valid(document: &Value) {
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    let path = repo_root().join("assets/schema/analysis.schema.json");
    let index = compiler
        .compile(path.to_str().expect("UTF-8 path"), &mut schemas)
        .unwrap_or_else(|e| panic!("the schema does not compile: {e:#}"));
    if let Err(e) = schemas.validate(document, index) {
        panic!("the JSON does not validate against the schema:\n{e:#}\n{document:#}");
    }
}

/// The library's own loudness figures for the file (or for `[t0, t1]` seconds of it).
fn library_loudness(path: &Path, span: Option<(f64, f64)>) -> LoudnessReport {
    let audio = read_audio(path).expect("decode");
    let views: Vec<&[f32]> = audio.channels.iter().map(Vec::as_slice).collect();
    let analysis = LoudnessAnalysis::of_audio(f64::from(audio.sample_rate), &views).expect("loudness");
    match span {
        Some((t0, t1)) => analysis.report_between(t0, t1),
        None => analysis.report(),
    }
}

/// The first number on the report line whose label (after the indentation) is `label`.
fn report_value(report: &str, label: &str) -> f64 {
    let line = report
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no line '{label}' in the report:\n{report}"));
    let rest = &line.trim_start()[label.len()..];
    rest.split_whitespace()
        .find_map(|word| {
            word.trim_matches(|c: char| c == '(' || c == ')' || c == ',').replace(',', ".").parse::<f64>().ok()
        })
        .unwrap_or_else(|| panic!("no number on the line '{line}'"))
}

fn assert_close(actual: f64, expected: f64, tol: f64, what: &str) {
    assert!((actual - expected).abs() <= tol, "{what}: {actual:.3} is not {expected:.3} ± {tol}");
}

fn number(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer).and_then(Value::as_f64).unwrap_or_else(|| panic!("no number at {pointer} in\n{v:#}"))
}

/// Writes planar 32-bit float `channels` with hound.
fn write_wav(path: &Path, channels: &[Vec<f32>]) {
    write_wav_at(path, channels, RATE);
}

/// [`write_wav`] at `rate` Hz.
fn write_wav_at(path: &Path, channels: &[Vec<f32>], rate: u32) {
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: rate,
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
}

/// A 1 kHz sine, `seconds` long, whose amplitude is `amplitude(t)` at time `t`; the same on
/// `channels` channels.
fn sine(seconds: f64, channels: usize, amplitude: impl Fn(f64) -> f64) -> Vec<Vec<f32>> {
    let n = (seconds * f64::from(RATE)) as usize;
    let ch: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(RATE);
            (amplitude(t) * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()) as f32
        })
        .collect();
    vec![ch; channels]
}

fn db_to_gain(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

// ---------------------------------------------------------------------------------------------
// The demo song
// ---------------------------------------------------------------------------------------------

#[test]
fn the_demo_report_prints_key_tempo_loudness_and_findings() {
    let run = analyze(&[demo()]).expect(0);
    let report = &run.stdout;
    let reference = library_loudness(&demo(), None);

    let key = report.lines().find(|l| l.trim_start().starts_with("Key")).expect("a key line");
    assert!(key.contains("E minor"), "{key}");
    assert_close(report_value(report, "Tempo"), 136.0, 1.0, "tempo (BPM)");
    assert_close(
        report_value(report, "Integrated"),
        reference.integrated_lufs.expect("the demo has a loudness"),
        0.1,
        "integrated loudness (LUFS)",
    );
    assert_close(report_value(report, "True peak"), reference.true_peak_dbtp.unwrap(), 0.1, "true peak (dBTP)");
    assert_close(report_value(report, "Sample peak"), reference.sample_peak_dbfs.unwrap(), 0.1, "sample peak (dBFS)");
    assert_close(report_value(report, "Loudness range (LRA)"), reference.loudness_range_lu.unwrap(), 0.1, "LRA (LU)");
    assert_close(report_value(report, "PLR"), reference.plr_lu.unwrap(), 0.1, "PLR (LU)");
    assert!(report.contains("Spotify's -14 LUFS"), "the default platform is judged against:\n{report}");
    assert!(report.lines().any(|l| l.starts_with("Findings (")), "a findings section:\n{report}");
    assert!(report.lines().any(|l| l.starts_with("Tonal balance")), "a tonal-balance section:\n{report}");
    assert!(run.stderr.is_empty(), "nothing on stderr for a good file: {}", run.stderr);
}

#[test]
fn the_demo_json_validates_and_carries_the_measurements() {
    let doc = analyze(&[demo().as_os_str(), OsStr::new("--json"), OsStr::new("--platform"), OsStr::new("apple")])
        .expect(0)
        .json();
    assert_valid(&doc);
    assert_eq!(doc["schema_version"], 1);
    let file = &doc["files"][0];
    assert_eq!(file["ok"], true);
    assert!(file["path"].as_str().unwrap().ends_with("demo.flac"));
    let a = &file["analysis"];
    let reference = library_loudness(&demo(), None);
    assert_eq!(a["key"]["name"], "E minor");
    assert_eq!(a["key"]["mode"], "minor");
    assert_close(number(a, "/tempo/bpm"), 136.0, 1.0, "tempo (BPM)");
    assert_close(number(a, "/loudness/integrated_lufs"), reference.integrated_lufs.unwrap(), 0.1, "integrated (LUFS)");
    assert_close(number(a, "/loudness/true_peak_dbtp"), reference.true_peak_dbtp.unwrap(), 0.1, "true peak (dBTP)");
    assert_close(number(a, "/loudness/loudness_range_lu"), reference.loudness_range_lu.unwrap(), 0.1, "LRA (LU)");
    assert_close(number(a, "/duration_s"), 18.397, 0.01, "duration (s)");
    assert_eq!((number(a, "/sample_rate"), number(a, "/channels")), (44_100.0, 2.0));
    assert_eq!(a["platform"]["id"], "apple");
    assert_eq!(number(a, "/platform/integrated_lufs"), -16.0);
    assert!(a["findings"].is_array());
}

#[test]
fn french_labels_with_lang_fr() {
    let report = analyze(&[demo().as_os_str(), OsStr::new("--lang"), OsStr::new("fr")]).expect(0).stdout;
    for label in [
        "Tonalité",
        "mi mineur",
        "Sonie intégrée",
        "Crête vraie",
        "Crête échantillon",
        "Plage de sonie (LRA)",
        "Équilibre tonal",
        "Caractère",
        "Problèmes relevés",
        "LUFS de Spotify",
    ] {
        assert!(report.contains(label), "missing '{label}' in the French report:\n{report}");
    }
    for english in ["Key ", "E minor", "Integrated", "True peak", "Findings", "Tonal balance", "confidence", "quieter"]
    {
        assert!(!report.contains(english), "English '{english}' in the French report:\n{report}");
    }
    // Decimal commas and French clocks throughout ("0:18,3", "-16,6 LUFS", "confiance 0,86").
    let point = report
        .lines()
        .find(|l| l.as_bytes().windows(3).any(|w| w[0].is_ascii_digit() && w[1] == b'.' && w[2].is_ascii_digit()));
    assert!(point.is_none(), "a decimal point in the French report: {point:?}\n{report}");
    assert!(report.contains("  0:18,3, ") && report.contains("A   0:00,0–"), "{report}");
    // The numbers are the same in both languages.
    let english = analyze(&[demo()]).expect(0).stdout;
    assert_eq!(report_value(&report, "Sonie intégrée"), report_value(&english, "Integrated"));
}

#[test]
fn help_documents_the_exit_codes_and_time_syntax() {
    let help = analyze(&["--help"]).expect(0).stdout;
    for needle in ["Exit codes", "  3  ", "  4  ", "  5  ", "--fail-on", "M:SS", "spotify", "lofi", "docs/analyze.md"] {
        assert!(help.contains(needle), "'{needle}' missing from --help:\n{help}");
    }
}

// ---------------------------------------------------------------------------------------------
// Batches and errors
// ---------------------------------------------------------------------------------------------

#[test]
fn a_batch_reports_each_bad_file_on_one_line_and_still_analyses_the_good_one() {
    let dir = TempDir::new("batch");
    let good = dir.path("good.wav");
    write_wav(&good, &sine(4.0, 2, |_| db_to_gain(-20.0)));
    let missing = dir.path("missing.wav");
    // The demo's first 200 kB: a FLAC stream that stops in the middle.
    let corrupt = dir.path("corrupt.flac");
    fs::write(&corrupt, &fs::read(demo()).unwrap()[..200_000]).unwrap();

    let run = analyze(&[&missing, &corrupt, &good]).expect(3);
    let errors: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(errors.len(), 2, "one line per bad file:\n{}", run.stderr);
    assert!(errors[0].starts_with("error: ") && errors[0].contains("missing.wav"), "{}", errors[0]);
    assert!(errors[1].starts_with("error: ") && errors[1].contains("corrupt.flac"), "{}", errors[1]);
    assert!(run.stdout.contains("good.wav"), "the good file is reported:\n{}", run.stdout);
    assert_close(report_value(&run.stdout, "Integrated"), -20.0, 0.1, "the good file's loudness (LUFS)");
    assert!(!run.stdout.contains("corrupt.flac"), "a bad file has no report:\n{}", run.stdout);

    let doc =
        analyze(&[missing.as_os_str(), corrupt.as_os_str(), good.as_os_str(), OsStr::new("--json")]).expect(3).json();
    assert_valid(&doc);
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), 3, "one entry per input, in order");
    assert_eq!((&files[0]["ok"], &files[0]["error"]["kind"]), (&Value::Bool(false), &Value::from("not_found")));
    assert_eq!(files[1]["ok"], false);
    assert!(["truncated", "corrupt"].contains(&files[1]["error"]["kind"].as_str().unwrap()), "{}", files[1]);
    assert_eq!(files[1]["error"]["message"].as_str().unwrap(), errors[1].trim_start_matches("error: "));
    assert_eq!(files[2]["ok"], true);
}

#[test]
fn unsupported_inputs_are_refused_clearly() {
    let dir = TempDir::new("unsupported");
    let text = dir.path("notes.txt");
    fs::write(&text, "not audio at all\n").unwrap();
    let surround = dir.path("seven.wav");
    write_wav(&surround, &sine(1.0, 7, |_| 0.1));

    let run = analyze(&[&text, &surround]).expect(3);
    let errors: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(errors.len(), 2, "{}", run.stderr);
    assert!(errors[0].contains("notes.txt") && errors[0].contains("not a recognised audio file"), "{}", errors[0]);
    assert!(errors[1].contains("seven.wav") && errors[1].contains("7 channels"), "{}", errors[1]);
    assert!(run.stdout.is_empty());
}

#[test]
fn silence_gives_nulls_not_numbers() {
    let dir = TempDir::new("silence");
    let silent = dir.path("silent.wav");
    write_wav(&silent, &vec![vec![0.0; 2 * RATE as usize]; 2]);
    let doc = analyze(&[silent.as_os_str(), OsStr::new("--json")]).expect(0).json();
    assert_valid(&doc);
    let loudness = &doc["files"][0]["analysis"]["loudness"];
    for field in ["integrated_lufs", "true_peak_dbtp", "sample_peak_dbfs", "rms_dbfs", "plr_lu", "max_momentary_lufs"] {
        assert!(loudness[field].is_null(), "{field} of silence is {}", loudness[field]);
    }
    let report = analyze(&[&silent]).expect(0).stdout;
    let integrated = report.lines().find(|l| l.trim_start().starts_with("Integrated")).unwrap();
    assert!(integrated.contains("silence") && !integrated.contains("inf"), "{integrated}");
    assert!(report.contains("no integrated loudness"), "{report}");
}

// ---------------------------------------------------------------------------------------------
// Segments
// ---------------------------------------------------------------------------------------------

/// 20 s of a stereo 1 kHz sine at -20 dBFS, then -30 dBFS from 10 s on. A 1 kHz stereo sine
/// at L dBFS reads L LUFS (EBU Tech 3341 case 1: -23 dBFS → -23 LUFS).
fn two_levels(dir: &TempDir) -> PathBuf {
    let path = dir.path("two-levels.wav");
    write_wav(&path, &sine(20.0, 2, |t| db_to_gain(if t < 10.0 { -20.0 } else { -30.0 })));
    path
}

#[test]
fn from_and_to_analyse_only_the_segment() {
    let dir = TempDir::new("segment");
    let path = two_levels(&dir);
    let segment = |from: &str, to: &str| {
        let doc = analyze(&[
            path.as_os_str(),
            "--json".as_ref(),
            "--from".as_ref(),
            from.as_ref(),
            "--to".as_ref(),
            to.as_ref(),
        ])
        .expect(0)
        .json();
        assert_valid(&doc);
        doc["files"][0]["analysis"].clone()
    };
    let loud = segment("2", "0:09.5");
    assert_eq!((number(&loud, "/from_s"), number(&loud, "/to_s")), (2.0, 9.5));
    assert_close(number(&loud, "/loudness/integrated_lufs"), -20.0, 0.1, "first half (LUFS)");
    assert_close(number(&loud, "/loudness/duration_s"), 7.5, 0.011, "measured length (s)");
    let quiet = segment("0:11", "19.5");
    assert_close(number(&quiet, "/loudness/integrated_lufs"), -30.0, 0.1, "second half (LUFS)");
    assert_close(number(&quiet, "/loudness/sample_peak_dbfs"), -30.0, 0.05, "second half peak (dBFS)");
    // Across the step: the library's own figure for the same span.
    let across = segment("0:05", "0:15");
    let reference = library_loudness(&path, Some((5.0, 15.0)));
    assert_close(
        number(&across, "/loudness/integrated_lufs"),
        reference.integrated_lufs.unwrap(),
        0.1,
        "across (LUFS)",
    );
    // The whole file for comparison: the gate keeps both halves (10 LU apart), so it sits between.
    let whole = analyze(&[path.as_os_str(), "--json".as_ref()]).expect(0).json();
    let whole = number(&whole, "/files/0/analysis/loudness/integrated_lufs");
    assert!(whole < -20.5 && whole > -30.0, "whole file {whole}");

    let report = analyze(&[path.as_os_str(), "--from".as_ref(), "0:11".as_ref()]).expect(0).stdout;
    assert!(report.contains("Segment 0:11.0–0:20.0 (of 0:20.0)"), "{report}");
}

#[test]
fn bad_times_are_usage_errors_and_times_past_the_end_are_input_errors() {
    let dir = TempDir::new("times");
    let path = two_levels(&dir);
    let p = path.as_os_str();
    for (args, needle) in [
        (vec!["--from", "1:75"], "seconds must be below 60"),
        (vec!["--from", "1:2:3:4"], "is not a time"),
        (vec!["--to=-3"], "is not a time"),
        (vec!["--from", "abc"], "is not a time"),
        (vec!["--from", "1h"], "is not a time"),
        (vec!["--from", "1:60:00"], "minutes must be below 60"),
        (vec!["--from", "0:12", "--to", "11"], "--to (0:11.0) must be after --from (0:12.0)"),
        (vec!["--from", "5", "--to", "5.0"], "must be after"),
        (vec!["--platform", "napster"], "napster"),
        (vec!["--genre", "polka"], "polka"),
    ] {
        let mut all = vec![p];
        all.extend(args.iter().map(OsStr::new));
        let run = analyze(&all).expect(2);
        assert!(run.stderr.contains(needle), "{args:?}: '{needle}' not in\n{}", run.stderr);
        assert!(run.stdout.is_empty());
    }
    // Accepted syntaxes, checked through the segment they produce.
    for (from, seconds) in [("7", 7.0), ("7.25", 7.25), ("0:07", 7.0), ("0:07.5", 7.5), ("0:00:07", 7.0)] {
        let doc = analyze(&[p, "--json".as_ref(), "--from".as_ref(), from.as_ref()]).expect(0).json();
        assert_eq!(number(&doc, "/files/0/analysis/from_s"), seconds, "--from {from}");
    }

    let run = analyze(&[p, "--from".as_ref(), "0:25".as_ref()]).expect(3);
    assert!(run.stderr.contains("--from 0:25.0 is at or past the end of the track (0:20.0)"), "{}", run.stderr);
    let run =
        analyze(&[p, "--from".as_ref(), "15".as_ref(), "--to".as_ref(), "21".as_ref(), "--json".as_ref()]).expect(3);
    assert!(run.stderr.contains("--to 0:21.0 is past the end"), "{}", run.stderr);
    let doc = run.json();
    assert_valid(&doc);
    assert_eq!(doc["files"][0]["error"]["kind"], "segment_outside_track");
}

// ---------------------------------------------------------------------------------------------
// The plot
// ---------------------------------------------------------------------------------------------

/// Decodes a PNG into (width, height, RGB rows).
fn read_png(path: &Path) -> (u32, u32, Vec<Vec<[u8; 3]>>) {
    let file = fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file)).read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    assert_eq!((info.color_type, info.bit_depth), (png::ColorType::Rgb, png::BitDepth::Eight));
    let rows = buf[..info.buffer_size()]
        .chunks(info.line_size)
        .map(|row| row.chunks(3).map(|p| [p[0], p[1], p[2]]).collect())
        .collect();
    (info.width, info.height, rows)
}

#[test]
fn plot_writes_a_png_of_the_stated_size_with_a_waveform_and_a_spectrogram() {
    let dir = TempDir::new("plot");
    let out = dir.path("demo.png");
    let run = analyze(&[demo().as_os_str(), "--plot".as_ref(), out.as_os_str()]).expect(0);
    assert!(run.stdout.contains("Integrated"), "the report is still printed");
    let (w, h, rows) = read_png(&out);
    assert_eq!((w, h), PLOT_SIZE);

    let mut colours: HashMap<[u8; 3], usize> = HashMap::new();
    rows.iter().flatten().for_each(|&c| *colours.entry(c).or_default() += 1);
    assert!(colours.len() > 200, "only {} colours: the spectrogram is missing", colours.len());

    // The waveform panel: its most common colour is the background; the music must draw a
    // good share of it in another colour, and differently from column to column.
    let panel: Vec<&Vec<[u8; 3]>> =
        rows[PLOT_WAVEFORM_ROWS.start as usize..PLOT_WAVEFORM_ROWS.end as usize].iter().collect();
    let mut counts: HashMap<[u8; 3], usize> = HashMap::new();
    panel.iter().copied().flatten().for_each(|&c| *counts.entry(c).or_default() += 1);
    let (&background, _) = counts.iter().max_by_key(|(_, &n)| n).unwrap();
    let total = panel.len() * w as usize;
    let drawn = total - counts[&background];
    assert!(drawn > total / 10, "the waveform covers {drawn} of {total} pixels");
    let column_height = |x: usize| panel.iter().filter(|row| row[x] != background).count();
    // The demo's intro is about 10 dB quieter than its chorus (assets/README.md): the
    // envelope is visibly taller in the chorus (14 s) than in the intro (1 s).
    let x_at = |t: f64| 64 + (t / 18.397 * (1200.0 - 80.0)) as usize;
    let (intro, chorus) = (
        (x_at(0.8)..x_at(1.2)).map(column_height).max().unwrap(),
        (x_at(13.8)..x_at(14.2)).map(column_height).max().unwrap(),
    );
    assert!(chorus > intro * 3 / 2, "chorus envelope {chorus} px vs intro {intro} px");
}

#[test]
fn plot_with_several_inputs_numbers_the_files_and_a_bad_path_exits_4() {
    let dir = TempDir::new("plots");
    let a = dir.path("a.wav");
    let b = dir.path("b.wav");
    write_wav(&a, &sine(2.0, 1, |_| 0.5));
    write_wav(&b, &sine(2.0, 2, |_| 0.25));
    let out = dir.path("plot.png");
    analyze(&[a.as_os_str(), b.as_os_str(), "--plot".as_ref(), out.as_os_str()]).expect(0);
    assert!(!out.exists(), "with two inputs the plain name is not used");
    for name in ["plot-1.png", "plot-2.png"] {
        let (w, h, _) = read_png(&dir.path(name));
        assert_eq!((w, h), PLOT_SIZE, "{name}");
    }

    let nowhere = dir.path("no/such/folder/plot.png");
    let run = analyze(&[a.as_os_str(), "--plot".as_ref(), nowhere.as_os_str()]).expect(4);
    assert!(run.stderr.starts_with("error: ") && run.stderr.contains("plot.png"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "a bad plot path fails before the analysis");
}

// ---------------------------------------------------------------------------------------------
// Findings and --fail-on
// ---------------------------------------------------------------------------------------------

#[test]
fn fail_on_exits_5_exactly_when_a_finding_is_that_severe() {
    for level in ["warning", "problem"] {
        let run = analyze(&[demo().as_os_str(), "--json".as_ref(), "--fail-on".as_ref(), level.as_ref()]);
        let doc = run.json();
        let rank = |s: &str| ["info", "warning", "problem"].iter().position(|&x| x == s).unwrap();
        let severe = doc["files"][0]["analysis"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| rank(f["severity"].as_str().unwrap()) >= rank(level));
        run.expect(if severe { 5 } else { 0 });
    }
}

/// A sine at -6 dBFS whose stretch from 1.50 s to 1.60 s is pushed to +3 dBFS and hard-clipped
/// at full scale. Needs the findings detectors (`analysis::findings`).
#[test]
fn a_clipped_file_has_a_clipping_finding_at_the_right_time_and_fails_on_problem() {
    let dir = TempDir::new("clipped");
    let path = dir.path("clipped.wav");
    let clip = |x: f32| x.clamp(-1.0, 1.0);
    let mut audio = sine(3.0, 2, |t| db_to_gain(if (1.5..1.6).contains(&t) { 3.0 } else { -6.0 }));
    for ch in &mut audio {
        ch.iter_mut().for_each(|x| *x = clip(*x));
    }
    write_wav(&path, &audio);

    let doc = analyze(&[path.as_os_str(), "--json".as_ref()]).expect(0).json();
    assert_valid(&doc);
    let findings = doc["files"][0]["analysis"]["findings"].as_array().unwrap();
    let clipping = findings
        .iter()
        .find(|f| f["kind"] == "clipping")
        .unwrap_or_else(|| panic!("no clipping finding in {findings:#?}"));
    assert_close(number(clipping, "/start_s"), 1.5, 0.1, "clipping start (s)");
    assert_close(number(clipping, "/end_s"), 1.6, 0.1, "clipping end (s)");

    analyze(&[path.as_os_str(), "--fail-on".as_ref(), "problem".as_ref()]).expect(5);
    let report = analyze(&[&path]).expect(0).stdout;
    assert!(report.contains("0:01.") && report.contains("Clipping"), "{report}");
}

#[test]
fn a_reference_track_replaces_the_genre_curve() {
    // The demo against itself: every band on target, no tonal finding left.
    let doc = analyze(&[demo().as_os_str(), OsStr::new("--json"), OsStr::new("--reference"), demo().as_os_str()])
        .expect(0)
        .json();
    assert_valid(&doc);
    let a = &doc["files"][0]["analysis"];
    assert_eq!(a["genre"], "reference");
    assert_eq!(a["tonal_balance"]["target"], "reference");
    let bands = a["tonal_balance"]["bands"].as_array().expect("bands");
    assert!(bands.len() >= 30);
    for band in bands {
        let balance = band["balance_db"].as_f64().expect("balance");
        assert!(balance.abs() < 0.01, "{band}");
    }
    // Against the pop curve (authored; the neutral one carries the measured mean of released
    // masters, whose low mids are as full as the demo's) the whole demo is muddy; against itself
    // only the passages muddier than its own average are.
    let mud_seconds = |analysis: &Value| -> f64 {
        let findings = analysis["findings"].as_array().expect("findings");
        let mud = findings.iter().filter(|f| f["kind"] == "mud");
        mud.map(|f| f["end_s"].as_f64().unwrap() - f["start_s"].as_f64().unwrap()).sum()
    };
    let by_genre =
        analyze(&[demo().as_os_str(), OsStr::new("--json"), OsStr::new("--genre"), OsStr::new("pop")]).expect(0).json();
    let (genre_mud, own_mud) = (mud_seconds(&by_genre["files"][0]["analysis"]), mud_seconds(a));
    println!("mud against the pop genre: {genre_mud:.1} s; against itself: {own_mud:.1} s");
    assert!(genre_mud > 15.0 && own_mud < genre_mud / 3.0, "{genre_mud} {own_mud}");

    // A reference that cannot be read: an input error naming it, nothing analysed.
    let run = analyze(&[demo().as_os_str(), OsStr::new("--reference"), OsStr::new("/nonexistent/ref.wav")]).expect(3);
    assert!(run.stderr.contains("reference ref.wav"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------------
// Samples that are not numbers
// ---------------------------------------------------------------------------------------------

/// The demo song decoded and written as a 32-bit float WAV (its own sample rate), after
/// `damage` has been done to its samples.
fn demo_as_float_wav(path: &Path, damage: impl FnOnce(&mut [Vec<f32>])) {
    let mut audio = read_audio(&demo()).expect("demo");
    damage(&mut audio.channels);
    write_wav_at(path, &audio.channels, audio.sample_rate);
}

/// Findings of one kind in an analysis.
fn findings_of<'a>(analysis: &'a Value, kind: &str) -> Vec<&'a Value> {
    analysis["findings"].as_array().expect("findings").iter().filter(|f| f["kind"] == kind).collect()
}

/// 100 infinite samples in three bursts of the demo song (40 at 2.0 s, 30 at 7.5 s, 30 at
/// 12.25 s, both signs, both channels): every measure reads as for the clean file, and one
/// finding per burst gives its count and time. Zeroed as the meters used to, they raised the
/// 2–5 kHz bands by ~17 dB and the air band by ~30 dB and lost the key.
#[test]
fn infinite_samples_are_left_out_of_every_measure_and_reported_where_they_are() {
    let dir = TempDir::new("infinite");
    let (clean, damaged) = (dir.path("clean.wav"), dir.path("infinite.wav"));
    demo_as_float_wav(&clean, |_| {});
    let rate = 44_100.0;
    let bursts = [(2.0, 40), (7.5, 30), (12.25, 30)];
    demo_as_float_wav(&damaged, |channels| {
        for &(at, count) in &bursts {
            for k in 0..count {
                // Every 37th sample from `at`, alternating channel and sign.
                let i = (at * rate) as usize + 37 * k;
                channels[k % 2][i] = if k % 3 == 0 { f32::NEG_INFINITY } else { f32::INFINITY };
            }
        }
    });
    let doc = analyze(&[clean.as_os_str(), damaged.as_os_str(), OsStr::new("--json")]).expect(0).json();
    assert_valid(&doc);
    let (a, b) = (&doc["files"][0]["analysis"], &doc["files"][1]["analysis"]);
    assert_eq!(doc["files"][1]["decoder"]["non_finite_samples"], 100);
    assert_eq!(doc["files"][0]["decoder"]["non_finite_samples"], 0);

    let bands = |x: &Value| -> Vec<(f64, f64)> {
        x["tonal_balance"]["bands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| (number(b, "/centre_hz"), number(b, "/level_db")))
            .collect()
    };
    let (clean_bands, damaged_bands) = (bands(a), bands(b));
    assert_eq!(clean_bands.len(), damaged_bands.len());
    let worst = clean_bands
        .iter()
        .zip(&damaged_bands)
        .map(|(&(hz, x), &(_, y))| (hz, (y - x).abs()))
        .max_by(|p, q| p.1.total_cmp(&q.1))
        .unwrap();
    println!("largest band difference: {:.4} dB at {} Hz", worst.1, worst.0);
    assert!(worst.1 <= 0.1, "band {} Hz moved by {:.3} dB", worst.0, worst.1);
    for field in ["integrated_lufs", "true_peak_dbtp", "sample_peak_dbfs", "loudness_range_lu", "rms_dbfs"] {
        let pointer = format!("/loudness/{field}");
        assert_close(number(b, &pointer), number(a, &pointer), 0.1, field);
    }
    assert_eq!(a["key"]["name"], b["key"]["name"]);
    assert_eq!(a["key"]["name"], "E minor");
    assert_eq!(a["tempo"]["bpm"], b["tempo"]["bpm"]);

    assert!(findings_of(a, "non_finite_samples").is_empty());
    let found = findings_of(b, "non_finite_samples");
    assert_eq!(found.len(), bursts.len(), "{found:#?}");
    for (f, &(at, count)) in found.iter().zip(&bursts) {
        assert_eq!(f["severity"], "problem");
        assert_eq!(number(f, "/value"), count as f64);
        assert_eq!(f["unit"], "samples");
        // Each burst spans 37 × count samples (≤ 34 ms): within the 100 ms frames around it.
        let end = at + 37.0 * count as f64 / rate;
        assert!(number(f, "/start_s") <= at && number(f, "/start_s") > at - 0.1, "{f}");
        assert!(number(f, "/end_s") >= end && number(f, "/end_s") < end + 0.1, "{f}");
    }
    let text = found[1]["explanation_en"].as_str().unwrap();
    assert!(text.starts_with("30 samples at 0:07.5 are not numbers (NaN or infinite)"), "{text}");

    let report = analyze(&[&damaged]).expect(0).stdout;
    assert!(report.contains("100 NaN or infinite sample(s) left out of every measure"), "{report}");
    assert!(report.contains("Invalid samples: 40.0 samples"), "{report}");
    let rapport = analyze(&[damaged.as_os_str(), OsStr::new("--lang"), OsStr::new("fr")]).expect(0).stdout;
    assert!(
        rapport.contains("Échantillons invalides") && rapport.contains("30 échantillons invalides à 0:07,5"),
        "{rapport}"
    );
}

/// A few NaN samples in a chord: found where they are, nothing else changes.
#[test]
fn a_few_nan_samples_are_found_at_their_time() {
    let dir = TempDir::new("nan");
    let path = dir.path("nan.wav");
    let mut audio = sine(6.0, 2, |_| 0.3);
    for i in [0, 7, 8] {
        audio[1][(4.5 * f64::from(RATE)) as usize + i] = f32::NAN;
    }
    write_wav(&path, &audio);
    let doc = analyze(&[path.as_os_str(), OsStr::new("--json")]).expect(0).json();
    assert_valid(&doc);
    let a = &doc["files"][0]["analysis"];
    let found = findings_of(a, "non_finite_samples");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(number(found[0], "/value"), 3.0);
    assert_close(number(found[0], "/start_s"), 4.5, 1e-9, "start");
    assert_close(number(found[0], "/end_s"), 4.6, 1e-9, "end");
    let text = found[0]["explanation_en"].as_str().unwrap();
    assert!(text.starts_with("3 samples at 0:04.5 are not numbers"), "{text}");
    // The sine at 0.3 (−10.5 dBFS): nothing of the NaN shows in the level.
    assert_close(number(a, "/loudness/sample_peak_dbfs"), 20.0 * 0.3f64.log10(), 0.01, "sample peak");
}

/// A file of nothing but NaN is not silence: it has no valid samples.
#[test]
fn an_all_nan_file_has_no_valid_samples() {
    let dir = TempDir::new("all-nan");
    let path = dir.path("all-nan.wav");
    write_wav(&path, &vec![vec![f32::NAN; RATE as usize]; 2]);
    let run = analyze(&[path.as_os_str(), OsStr::new("--json")]).expect(3);
    assert_valid(&run.json());
    let file = &run.json()["files"][0];
    assert_eq!(file["error"]["kind"], "no_valid_samples");
    let message = file["error"]["message"].as_str().unwrap();
    assert!(message.contains("no valid samples (all 96000 are NaN or infinite)"), "{message}");
    assert!(!message.contains("silence"));
    let run = analyze(&[&path]).expect(3);
    assert!(run.stderr.contains("no valid samples") && !run.stdout.contains("silence"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------------
// Surround
// ---------------------------------------------------------------------------------------------

/// Sets the channel mask of a `WAVE_FORMAT_EXTENSIBLE` file written by hound (which writes the
/// lowest bits: 0x1F, "L R C LFE Lb", for five channels).
fn set_channel_mask(path: &Path, mask: u32) {
    let mut bytes = fs::read(path).expect("read wav");
    assert_eq!(&bytes[12..16], b"fmt ", "hound writes fmt first");
    assert_eq!(u16::from_le_bytes([bytes[20], bytes[21]]), 0xFFFE, "WAVE_FORMAT_EXTENSIBLE");
    bytes[40..44].copy_from_slice(&mask.to_le_bytes());
    fs::write(path, bytes).expect("write wav");
}

/// EBU Tech 3341 case 6 (5.0: L, R −28, C −24, Ls, Rs −30 dBFS, 1 kHz, 20 s) reads
/// −23.0 ± 0.1 LUFS, with the surround weights of BS.1770-4; a mask that says the fourth
/// channel is an LFE is obeyed.
#[test]
fn a_surround_file_reads_its_bs1770_loudness() {
    let dir = TempDir::new("surround");
    let levels = [-28.0, -28.0, -24.0, -30.0, -30.0];
    let case6: Vec<Vec<f32>> = levels.iter().map(|&l| sine(20.0, 1, |_| db_to_gain(l)).remove(0)).collect();
    let (side, hound_mask) = (dir.path("case6.wav"), dir.path("case6-hound-mask.wav"));
    write_wav(&side, &case6);
    set_channel_mask(&side, 0x607);
    write_wav(&hound_mask, &case6);

    let doc = analyze(&[side.as_os_str(), hound_mask.as_os_str(), OsStr::new("--json")]).expect(0).json();
    assert_valid(&doc);
    let file = &doc["files"][0];
    assert_eq!(file["decoder"]["channel_layout"], "L R C Ls Rs");
    assert_eq!(file["analysis"]["channels"], 5);
    let lufs = number(file, "/analysis/loudness/integrated_lufs");
    println!("3341-06 through the CLI: {lufs:.3} LUFS");
    assert_close(lufs, -23.0, 0.1, "3341-06 integrated");
    assert_close(number(file, "/analysis/loudness/sample_peak_dbfs"), -24.0, 0.01, "sample peak (the centre)");
    // hound's mask 0x1F makes the fourth channel an LFE (left out) and the fifth a surround:
    // (2·10^−2.8 + 10^−2.4 + 1.41·10^−3)/2 → −23.68 LUFS.
    let other = &doc["files"][1];
    assert_eq!(other["decoder"]["channel_layout"], "L R C LFE Lb");
    assert_close(number(other, "/analysis/loudness/integrated_lufs"), -23.68, 0.1, "4.1 integrated");

    let report = analyze(&[&side]).expect(0).stdout;
    assert!(report.contains("48000 Hz, 5 channels (L R C Ls Rs)"), "{report}");
    assert_close(report_value(&report, "Integrated"), -23.0, 0.1, "report integrated");
}
