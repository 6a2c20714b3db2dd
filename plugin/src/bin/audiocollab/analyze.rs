//! `analyze`: measurements, findings and the report of audio files.

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use clap::{Args, ValueEnum};

use audiocollab::analysis::findings::Severity;
use audiocollab::analysis::spectral::mono_fold_down;
use audiocollab::analysis::timeline::Timeline;
use audiocollab::analysis::track::{self, AnalyzeError, AnalyzeOptions, TrackAnalysis};
use audiocollab::meter::MAX_CHANNELS;
use audiocollab::offline::plot;
use audiocollab::offline::report::{self, DecoderInfo, JsonDocument, JsonError, JsonFile, Lang};
use audiocollab::offline::{self, DecodeError};

use crate::{
    decode_with_progress, parse_time, print_stdout, progress_bar, Failure, LangArg, TargetArgs, EXIT_FINDINGS,
    EXIT_INPUT, EXIT_OK, EXIT_OTHER, EXIT_OUTPUT, PROGRESS_MIN_SECONDS, SPINNER_TICK,
};

pub const ANALYZE_AFTER_HELP: &str = "\
Times (--from, --to): SS, SS.s, M:SS, M:SS.s or H:MM:SS(.s), e.g. 95, 1:35.5, 1:02:03.

Exit codes:
  0  every file was analysed (and, with --fail-on, no finding reached that severity)
  2  usage error (bad option or value, --to not after --from)
  3  at least one file could not be read, decoded or analysed (the others were)
  4  the plot could not be written
  5  --fail-on: a finding of that severity or above was found

The JSON (--json) is described in docs/analyze.md and assets/schema/analysis.schema.json.";

#[derive(Args)]
pub struct AnalyzeArgs {
    /// Audio files: WAV, AIFF, FLAC, MP3 or Ogg Vorbis; mono, stereo or surround up to 5.1.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print one JSON document on stdout instead of the report.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Language of the report (and of the plot's labels).
    #[arg(long, value_enum, default_value_t = LangArg::En)]
    pub lang: LangArg,
    /// Analyse from this time on (see Times below).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub from: Option<f64>,
    /// Analyse up to this time (see Times below).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub to: Option<f64>,
    /// Also draw the waveform, spectrogram and findings into this PNG (1200 x 600). With several
    /// files, OUT.png becomes OUT-1.png, OUT-2.png, … numbered in the order of the files.
    #[arg(long, value_name = "OUT.png")]
    pub plot: Option<PathBuf>,
    /// Exit with code 5 when a finding of this severity or above is found (for CI).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum FailOn {
    /// A warning or a problem
    Warning,
    /// A problem
    Problem,
}

impl From<FailOn> for Severity {
    fn from(level: FailOn) -> Self {
        match level {
            FailOn::Warning => Severity::Warning,
            FailOn::Problem => Severity::Problem,
        }
    }
}

/// `--to` may pass the end of the track by this much, seconds: half the 0.1 s the report
/// prints times with, so a `--to` copied from the report's duration is accepted.
const SEGMENT_END_TOLERANCE_S: f64 = 0.05;

/// Why one input of a batch could not be analysed: a stable `kind` for the JSON and the line
/// printed on stderr.
pub struct FileFailure {
    pub kind: &'static str,
    pub message: String,
}

impl FileFailure {
    fn new(kind: &'static str, message: impl std::fmt::Display) -> Self {
        Self { kind, message: message.to_string() }
    }
}

/// One analysed input, with what the plot needs.
pub struct Analysed {
    pub decoder: DecoderInfo,
    pub analysis: TrackAnalysis,
    pub audio: offline::AudioBuffer,
    pub timeline: Timeline,
}

pub fn analyze(args: AnalyzeArgs) -> Result<u8, Failure> {
    let lang = Lang::from(args.lang);
    let options = AnalyzeOptions { from_s: args.from, to_s: args.to, ..args.target.options()? };
    let interactive = io::stderr().is_terminal();

    let plots = plot_paths(args.plot.as_deref(), args.files.len());
    // Fail fast on a bad plot path, before spending minutes decoding.
    for path in plots.iter().flatten() {
        check_plot_path(path).map_err(|e| Failure::new(EXIT_OUTPUT, e))?;
    }

    let mut results: Vec<Result<(DecoderInfo, TrackAnalysis), FileFailure>> = Vec::new();
    let (mut plot_failed, mut printed) = (false, 0);
    for (path, plot_path) in args.files.iter().zip(&plots) {
        let done = match analyse_file(path, &options, interactive) {
            Ok(done) => done,
            Err(failure) => {
                eprintln!("error: {}", failure.message);
                results.push(Err(failure));
                continue;
            }
        };
        if let Some(plot_path) = plot_path {
            let title = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into());
            let image = plot::draw(&done.audio, done.timeline.frames(), &done.analysis, &title, lang);
            if let Err(e) = plot::write_png(plot_path, &image) {
                eprintln!("error: {e}");
                plot_failed = true;
            }
        }
        if !args.json {
            let separator = if printed > 0 { "\n" } else { "" };
            print_stdout(&format!("{separator}{}", report::text_report(path, &done.decoder, &done.analysis, lang)))?;
            printed += 1;
        }
        results.push(Ok((done.decoder, done.analysis)));
    }

    if args.json {
        let names: Vec<String> = args.files.iter().map(|p| p.display().to_string()).collect();
        let files = names
            .iter()
            .zip(&results)
            .map(|(path, result)| match result {
                Ok((decoder, analysis)) => JsonFile::Analysed { path, ok: true, decoder, analysis },
                Err(f) => JsonFile::Failed { path, ok: false, error: JsonError { kind: f.kind, message: &f.message } },
            })
            .collect();
        let document = JsonDocument {
            schema_version: report::SCHEMA_VERSION,
            audiocollab_version: env!("CARGO_PKG_VERSION"),
            files,
        };
        let mut text = serde_json::to_string_pretty(&document).map_err(|e| Failure::new(EXIT_OTHER, e))?;
        text.push('\n');
        print_stdout(&text)?;
    }

    let worst = results.iter().flatten().flat_map(|(_, a)| a.findings.iter().map(|f| f.severity)).max();
    Ok(if results.iter().any(Result::is_err) {
        EXIT_INPUT
    } else if plot_failed {
        EXIT_OUTPUT
    } else if args.fail_on.is_some_and(|level| worst >= Some(Severity::from(level))) {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

/// Where each input's plot goes: `out.png` for a single input; `out-1.png`, `out-2.png`, … in
/// the order of the inputs for several.
fn plot_paths(plot: Option<&Path>, inputs: usize) -> Vec<Option<PathBuf>> {
    (1..=inputs)
        .map(|n| {
            let plot = plot?;
            if inputs == 1 {
                return Some(plot.to_path_buf());
            }
            let stem = plot.file_stem().map_or_else(|| "plot".into(), |s| s.to_string_lossy().into_owned());
            let name = match plot.extension() {
                Some(ext) => format!("{stem}-{n}.{}", ext.to_string_lossy()),
                None => format!("{stem}-{n}"),
            };
            Some(plot.with_file_name(name))
        })
        .collect()
}

fn check_plot_path(path: &Path) -> anyhow::Result<()> {
    if path.is_dir() {
        return Err(anyhow!(
            "cannot write the plot '{}': it is a directory; give a file name such as '{}'",
            path.display(),
            path.join("plot.png").display()
        ));
    }
    offline::check_writable(path)?;
    Ok(())
}

/// A stable name for each reason a file cannot be decoded (the JSON's `error.kind`).
fn decode_error_kind(e: &DecodeError) -> &'static str {
    match e {
        DecodeError::NotFound { .. } => "not_found",
        DecodeError::NotAFile { .. } => "not_a_file",
        DecodeError::Io { .. } => "io",
        DecodeError::Empty { .. } => "empty_file",
        DecodeError::Unrecognised { .. } => "unrecognised_format",
        DecodeError::Unsupported { .. } => "unsupported_codec",
        DecodeError::NoAudioTrack { .. } => "no_audio_track",
        DecodeError::Corrupt { .. } => "corrupt",
        DecodeError::Truncated { .. } => "truncated",
        DecodeError::FormatChange { .. } => "format_change",
        DecodeError::ZeroLength { .. } => "no_audio",
        DecodeError::NoValidSamples { .. } => "no_valid_samples",
        DecodeError::DecoderPanic { .. } => "decoder_failure",
        _ => "decode_failed",
    }
}

fn channels_failure(path: &Path, channels: usize) -> FileFailure {
    FileFailure::new(
        "unsupported_channels",
        format!(
            "cannot analyse '{}': it has {channels} channels; analyze takes up to {MAX_CHANNELS} (5.1), \
             downmix it first, e.g. `ffmpeg -i IN -ac 6 out.wav`",
            path.display()
        ),
    )
}

/// Decodes and analyses one file. The statistics are measured once over the whole file (the
/// same steps as [`track::analyze`], kept here so the plot can read the timeline), then the
/// stretch asked for is judged.
pub fn analyse_file(path: &Path, options: &AnalyzeOptions, interactive: bool) -> Result<Analysed, FileFailure> {
    let decode_failure = |e: DecodeError| FileFailure::new(decode_error_kind(&e), e);
    let info = offline::probe(path).map_err(decode_failure)?;
    // Checked before decoding to fail fast, and again after: not every header states it.
    if let Some(channels) = info.channels.filter(|&c| c > MAX_CHANNELS) {
        return Err(channels_failure(path, channels));
    }
    let decoded = decode_with_progress(path, &info, interactive).map_err(decode_failure)?;
    let audio = decoded.audio;
    let Some(layout) = decoded.layout else {
        return Err(channels_failure(path, audio.num_channels()));
    };

    let duration = audio.duration_secs();
    let outside = |what: String| {
        FileFailure::new("segment_outside_track", format!("cannot analyse '{}': {what}", path.display()))
    };
    if let Some(from) = options.from_s.filter(|&f| f >= duration) {
        return Err(outside(format!(
            "--from {} is at or past the end of the track ({})",
            report::clock(from),
            report::clock(duration)
        )));
    }
    if let Some(to) = options.to_s.filter(|&t| t > duration + SEGMENT_END_TOLERANCE_S) {
        return Err(outside(format!(
            "--to {} is past the end of the track ({}); leave --to out to analyse to the end",
            report::clock(to),
            report::clock(duration)
        )));
    }

    let analysis_failure = |e: AnalyzeError| {
        let kind = match &e {
            AnalyzeError::EmptySegment { .. } => "segment_outside_track",
            _ => "unsupported_stream",
        };
        FileFailure::new(kind, format!("cannot analyse '{}': {e}", path.display()))
    };
    let bar = (interactive && duration > PROGRESS_MIN_SECONDS)
        .then(|| progress_bar("analysing", Some(audio.frames() as u64)));
    let views: Vec<&[f32]> = audio.channels.iter().map(Vec::as_slice).collect();
    let timeline = Timeline::of_audio_with_layout(audio.sample_rate, &views, &layout, |done| {
        if let Some(bar) = &bar {
            bar.set_position(done as u64);
        }
    });
    // Tempo, key and the rest report no progress: a spinner says the program is still busy.
    let bar = bar.map(|bar| {
        bar.finish_and_clear();
        let spinner = progress_bar("analysing", None);
        spinner.set_message("tempo, key, sections");
        spinner.enable_steady_tick(SPINNER_TICK);
        spinner
    });
    let result = timeline.map_err(AnalyzeError::from).and_then(|mut timeline| {
        // The decoder concealed them; the findings say where they were.
        timeline.note_non_finite(&decoded.non_finite.frames);
        let mono = mono_fold_down(&views, &layout);
        track::analyze_timeline(&timeline, &mono, options).map(|analysis| (timeline, analysis))
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let (timeline, analysis) = result.map_err(analysis_failure)?;
    let decoder = DecoderInfo {
        codec: decoded.codec,
        concealed_packets: decoded.concealed_packets,
        channel_layout: layout.describe(),
        non_finite_samples: decoded.non_finite.samples,
    };
    Ok(Analysed { decoder, analysis, audio, timeline })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_plots_are_numbered_in_input_order() {
        let one = plot_paths(Some(Path::new("out/p.png")), 1);
        assert_eq!(one, [Some(PathBuf::from("out/p.png"))]);
        let three = plot_paths(Some(Path::new("out/p.png")), 3);
        let names: Vec<_> = three.iter().flatten().map(|p| p.to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["out/p-1.png", "out/p-2.png", "out/p-3.png"]);
        assert_eq!(plot_paths(Some(Path::new("plot")), 2)[1], Some(PathBuf::from("plot-2")));
        assert_eq!(plot_paths(None, 2), [None, None]);
    }
}
