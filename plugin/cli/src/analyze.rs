//! `analyze`: measurements, findings and the report of audio files.

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use clap::{Args, ValueEnum};

use crate::plot::{self, Waveform};
use crate::report::{self, DecoderInfo, JsonDocument, JsonError, JsonFile, Lang};
use audiocollab_core::analysis::findings::Severity;
use audiocollab_core::analysis::timeline::Timeline;
use audiocollab_core::analysis::track::{self, AnalyzeError, AnalyzeOptions, TrackAnalysis};
use audiocollab_core::meter::MAX_CHANNELS;
use audiocollab_core::offline::{self, DecodeError, MeasureError};
use audiocollab_core::text::clock_tenths;

use crate::{
    parse_time, print_stdout, progress_bar, warn_concealed, Failure, FileProgress, LangArg, TargetArgs, EXIT_FINDINGS,
    EXIT_INPUT, EXIT_OK, EXIT_OTHER, EXIT_OUTPUT, SPINNER_TICK,
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
    pub timeline: Timeline,
    /// The waveform of the stretch, when a plot was asked for.
    pub waveform: Option<Waveform>,
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
        let done = match analyse_file(path, &options, interactive, plot_path.is_some()) {
            Ok(done) => done,
            Err(failure) => {
                eprintln!("error: {}", failure.message);
                results.push(Err(failure));
                continue;
            }
        };
        if let (Some(plot_path), Some(wave)) = (plot_path, &done.waveform) {
            let title = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into());
            let image = plot::draw(wave, done.timeline.frames(), &done.analysis, &title, lang);
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

/// Decodes and analyses one file in one streaming pass: the statistics are measured over the
/// whole file and the spectral features over the stretch asked for, block by block (memory
/// holds those, never the audio), then the stretch is judged. With `plot`, the waveform of the
/// stretch is drawn from the same blocks.
pub fn analyse_file(
    path: &Path,
    options: &AnalyzeOptions,
    interactive: bool,
    plot: bool,
) -> Result<Analysed, FileFailure> {
    let decode_failure = |e: DecodeError| FileFailure::new(decode_error_kind(&e), e);
    let info = offline::probe(path).map_err(decode_failure)?;
    // Checked before decoding to fail fast, and again once decoding started: not every header
    // states it.
    if let Some(channels) = info.channels.filter(|&c| c > MAX_CHANNELS) {
        return Err(channels_failure(path, channels));
    }
    let analysis_failure = |e: AnalyzeError| {
        let kind = match &e {
            AnalyzeError::EmptySegment { .. } => "segment_outside_track",
            _ => "unsupported_stream",
        };
        FileFailure::new(kind, format!("cannot analyse '{}': {e}", path.display()))
    };

    // The plot's columns divide the stretch, whose end is known for sure only once the file is
    // read: predicted from the header's length, and drawn again in a second pass when wrong.
    let predicted = |rate: u32, frames: u64| {
        let duration = frames as f64 / f64::from(rate.max(1));
        let from = options.from_s.unwrap_or(0.0).max(0.0);
        let to = options.to_s.unwrap_or(duration).min(duration);
        Waveform::stretch(rate, frames, from, to)
    };
    let mut wave: Option<Waveform> = None;
    let mut on_block = |start: u64, block: &[&[f32]]| {
        if let (true, Some(rate), Some(frames)) = (plot, info.sample_rate, info.frames) {
            wave.get_or_insert_with(|| Waveform::new(block.len(), predicted(rate, frames))).push(start, block);
        }
    };
    let mut progress = FileProgress::new("analysing", &info, interactive);
    let measured = offline::measure_file(
        path,
        options.from_s,
        options.to_s,
        &mut |done, total| progress.update(done, total),
        &mut on_block,
    );
    let shown = progress.finish();
    let file = measured.map_err(|e| match e {
        MeasureError::Decode(e) => decode_failure(e),
        MeasureError::Channels(channels) => channels_failure(path, channels),
        MeasureError::Timeline(e) => analysis_failure(e.into()),
    })?;
    warn_concealed(path, &file.decoded, file.sample_rate);

    let duration = file.duration_secs();
    let outside = |what: String| {
        FileFailure::new("segment_outside_track", format!("cannot analyse '{}': {what}", path.display()))
    };
    if let Some(from) = options.from_s.filter(|&f| f >= duration) {
        return Err(outside(format!(
            "--from {} is at or past the end of the track ({})",
            clock_tenths(from, Lang::En),
            clock_tenths(duration, Lang::En)
        )));
    }
    if let Some(to) = options.to_s.filter(|&t| t > duration + SEGMENT_END_TOLERANCE_S) {
        return Err(outside(format!(
            "--to {} is past the end of the track ({}); leave --to out to analyse to the end",
            clock_tenths(to, Lang::En),
            clock_tenths(duration, Lang::En)
        )));
    }

    // Tempo, key and the rest report no progress: a spinner says the program is still busy.
    let spinner = shown.then(|| {
        let spinner = progress_bar("analysing", None);
        spinner.set_message("tempo, key, sections");
        spinner.enable_steady_tick(SPINNER_TICK);
        spinner
    });
    let timeline = file.measured.timeline;
    let result = track::analyze_with_features(&timeline, file.measured.features.as_ref(), options);
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let analysis = result.map_err(analysis_failure)?;
    let waveform = match wave.filter(|w| w.matches(file.sample_rate, file.decoded.frames, &analysis)) {
        Some(wave) => Some(wave),
        None if plot => Some(plot::waveform_of_file(path, file.decoded.frames, &analysis).map_err(decode_failure)?),
        None => None,
    };
    let decoder = DecoderInfo {
        codec: file.decoded.codec,
        concealed_packets: file.decoded.concealed_packets,
        channel_layout: file.layout.describe(),
        non_finite_samples: file.decoded.non_finite.samples,
    };
    Ok(Analysed { decoder, analysis, timeline, waveform })
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
