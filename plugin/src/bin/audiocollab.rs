//! `audiocollab`: the command-line face of AudioCollab Assistant. It runs the same DSP chain
//! as the plugin on audio files.
//!
//! Exit codes: 0 ok, 2 usage error (clap), 3 input unreadable or unsupported, 4 output not
//! writable, 1 anything else. Errors are one `error: ...` line on stderr, never a panic trace.

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write as _};
use std::panic;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::anyhow;
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use audiocollab::offline::{self, RenderError, WavFormat, RENDER_BLOCK, SAMPLE_RATE_RANGE};
use audiocollab::spec::{Kind, ParamId, Settings, PARAMS};

#[derive(Parser)]
#[command(
    name = "audiocollab",
    version,
    about = "AudioCollab Assistant on the command line: the plugin's mixing chain applied to audio files",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render an audio file through the mixing chain and write a WAV file.
    Render(RenderArgs),
    /// List every parameter with its id, range and default.
    Params,
    /// Summarise the assistant's audit log: requests and cost per day and month, latency per
    /// task, error rate, cache hit rate, fallbacks.
    Audit(audiocollab::assistant::route::audit::AuditArgs),
}

#[derive(Args)]
struct RenderArgs {
    /// Input audio file: WAV, AIFF, FLAC, MP3 or Ogg Vorbis, mono or stereo.
    input: PathBuf,
    /// Output WAV file (replaced if it exists).
    output: PathBuf,
    /// Set a parameter, e.g. `--set b2_gain=-3dB --set hp_on=on --set hp_freq=120Hz`.
    /// Repeatable; unset parameters keep their defaults. See `audiocollab params`.
    #[arg(long = "set", value_name = "PARAM=VALUE", value_parser = parse_assignment)]
    set: Vec<Assignment>,
    /// Output sample format. 32-bit float keeps peaks above 0 dBFS; 16 and 24 clip them.
    #[arg(long, value_enum, value_name = "BITS", default_value_t = Bits::F32)]
    bits: Bits,
}

#[derive(Clone, Copy, ValueEnum)]
enum Bits {
    /// 16-bit integer
    #[value(name = "16")]
    I16,
    /// 24-bit integer
    #[value(name = "24")]
    I24,
    /// 32-bit float
    #[value(name = "32f")]
    F32,
}

impl From<Bits> for WavFormat {
    fn from(bits: Bits) -> Self {
        match bits {
            Bits::I16 => WavFormat::Int16,
            Bits::I24 => WavFormat::Int24,
            Bits::F32 => WavFormat::Float32,
        }
    }
}

/// One validated `--set`. Parsed while clap parses the command line, so a bad id or value is
/// a usage error (exit 2) before any audio is read.
#[derive(Clone, Copy, Debug)]
struct Assignment {
    param: ParamId,
    /// The value used: what was asked, clamped into the parameter's range.
    value: f32,
    /// What was asked, when it was out of range.
    clamped_from: Option<f32>,
}

fn parse_assignment(text: &str) -> Result<Assignment, String> {
    let (id, value) =
        text.split_once('=').ok_or_else(|| format!("expected PARAM=VALUE, e.g. b2_gain=-3dB (got '{text}')"))?;
    let id = id.trim();
    let Some(param) = ParamId::from_id(id) else {
        let hint = match closest_id(id) {
            Some(close) => format!("did you mean '{close}'?"),
            None => format!("valid ids: {}", PARAMS.iter().map(|p| p.id).collect::<Vec<_>>().join(", ")),
        };
        return Err(format!("unknown parameter '{id}'; {hint} (`audiocollab params` lists them with ranges)"));
    };
    let spec = param.spec();
    let requested = spec.parse_unclamped(value).map_err(|e| e.to_string())?;
    let value = spec.clamp(requested);
    Ok(Assignment { param, value, clamped_from: (value != requested).then_some(requested) })
}

/// The parameter id nearest to a mistyped one, if it is plausibly a typo (edit distance ≤ 2).
fn closest_id(id: &str) -> Option<&'static str> {
    let id = id.to_lowercase();
    PARAMS
        .iter()
        .map(|p| (edit_distance(&id, p.id), p.id))
        .filter(|&(d, _)| d <= 2)
        .min_by_key(|&(d, _)| d)
        .map(|(_, id)| id)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (prev + usize::from(ca != cb)).min(row[j] + 1).min(row[j + 1] + 1);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// An error with the exit code it maps to.
struct Failure {
    code: u8,
    error: anyhow::Error,
}

const EXIT_OTHER: u8 = 1;
const EXIT_INPUT: u8 = 3;
const EXIT_OUTPUT: u8 = 4;

impl Failure {
    fn new(code: u8, error: impl Into<anyhow::Error>) -> Self {
        Self { code, error: error.into() }
    }
}

/// The message of the last panic, recorded by the hook so `main` can print it as one line.
static PANIC_MESSAGE: Mutex<Option<String>> = Mutex::new(None);

fn main() -> ExitCode {
    // A silent hook: the default one prints a multi-line "thread 'main' panicked" report. Panics
    // that the decoder catches (damaged files) become ordinary errors; any other reaches `main`
    // below and is printed as a single `error:` line.
    panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        if let Ok(mut slot) = PANIC_MESSAGE.lock() {
            *slot = Some(format!("{payload}{location}"));
        }
    }));

    let cli = Cli::parse();
    match panic::catch_unwind(panic::AssertUnwindSafe(|| run(cli))) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(failure)) => {
            eprintln!("error: {:#}", failure.error);
            ExitCode::from(failure.code)
        }
        Err(_) => {
            let message = PANIC_MESSAGE.lock().ok().and_then(|m| m.clone()).unwrap_or_default();
            eprintln!("error: internal error ({message}); this is a bug, please report it");
            ExitCode::from(EXIT_OTHER)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Render(args) => render(args),
        Command::Params => print_stdout(&params_table()),
        Command::Audit(args) => print_stdout(
            &audiocollab::assistant::route::audit::run(&args, jiff::Timestamp::now())
                .map_err(|e| Failure::new(EXIT_INPUT, e))?,
        ),
    }
}

/// Writes to stdout, treating a closed pipe (`audiocollab params | head`) as success: the
/// reader has what it wanted, and `println!` would panic there.
fn print_stdout(text: &str) -> Result<(), Failure> {
    match io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Failure::new(EXIT_OTHER, e)),
        _ => Ok(()),
    }
}

fn params_table() -> String {
    let rows: Vec<[String; 4]> = PARAMS
        .iter()
        .map(|p| {
            let range = match p.kind {
                Kind::Float { min, max, .. } => format!("{} .. {}", p.format(min), p.format(max)),
                Kind::Toggle => "Off | On".to_string(),
                Kind::Choice(options) => options.join(" | "),
            };
            [p.id.to_string(), p.name.to_string(), range, p.format(p.default)]
        })
        .collect();
    let header = ["ID", "NAME", "RANGE", "DEFAULT"].map(String::from);
    let widths: Vec<usize> =
        (0..3).map(|c| rows.iter().chain([&header]).map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in [&header].into_iter().chain(&rows) {
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    }
    out.push_str("\nSet with `audiocollab render IN OUT --set ID=VALUE`; units are optional (120Hz, 2.5k, -3dB, 40ms, L30, 75%, on).\n");
    out
}

/// Renders shorter than this run without a progress bar: they finish before it would be read.
const PROGRESS_MIN_SECONDS: f64 = 30.0;

fn render(args: RenderArgs) -> Result<(), Failure> {
    let mut settings = Settings::default();
    for a in &args.set {
        if let Some(requested) = a.clamped_from {
            let spec = a.param.spec();
            let (min, max) = spec.range();
            eprintln!(
                "note: {}={} is outside {} … {}; using {}",
                spec.id,
                spec.format(requested),
                spec.format(min),
                spec.format(max),
                spec.format(a.value)
            );
        }
        settings.set(a.param, a.value);
    }
    let format = WavFormat::from(args.bits);
    let interactive = io::stderr().is_terminal();

    // Fail fast on a bad output path, before spending minutes decoding and rendering.
    offline::check_writable(&args.output).map_err(|e| Failure::new(EXIT_OUTPUT, e))?;
    let info = offline::probe(&args.input).map_err(|e| Failure::new(EXIT_INPUT, e))?;
    if let Some(channels) = info.channels.filter(|&c| c > 2) {
        // Checked before decoding for the same reason; `render` checks again after decoding
        // because not every header states the channel count.
        return Err(Failure::new(EXIT_INPUT, input_channels_error(&args.input, channels)));
    }
    if let Some(sample_rate) = info.sample_rate {
        let (min, max) = SAMPLE_RATE_RANGE;
        if !(min..=max).contains(&sample_rate) {
            let reason = RenderError::UnsupportedSampleRate { sample_rate };
            return Err(Failure::new(EXIT_INPUT, anyhow!("cannot render '{}': {reason}", args.input.display())));
        }
    }

    let show_bar = |seconds: f64| interactive && seconds > PROGRESS_MIN_SECONDS;
    let rate = f64::from(info.sample_rate.unwrap_or(48_000).max(1));
    let mut bar: Option<ProgressBar> = None;
    let decoded = offline::decode_file(&args.input, &mut |done, total| {
        // A header that lies about the length must not push the bar past 100 %.
        let total = total.filter(|&t| t >= done);
        // Created lazily: when the length is unknown, a spinner appears once the audio decoded
        // so far is itself long.
        if bar.is_none() && show_bar(total.unwrap_or(done) as f64 / rate) {
            bar = Some(progress_bar("decoding", total));
        }
        if let Some(bar) = &bar {
            bar.set_position(done);
            if bar.length().is_none() {
                bar.set_message(format!("{:.0} s", done as f64 / rate));
            }
        }
    });
    if let Some(bar) = bar.take() {
        bar.finish_and_clear();
    }
    let decoded = decoded.map_err(|e| Failure::new(EXIT_INPUT, e))?;
    if decoded.concealed_packets > 0 {
        let at = decoded.first_concealed_frame.unwrap_or(0) as f64 / f64::from(decoded.audio.sample_rate);
        eprintln!(
            "warning: {} damaged packet(s) in '{}' were replaced by silence (first at {at:.3} s)",
            decoded.concealed_packets,
            args.input.display()
        );
    }

    let mut audio = decoded.audio;
    let total = audio.frames() as u64;
    let bar = show_bar(audio.duration_secs()).then(|| progress_bar("rendering", Some(total)));
    let rendered = offline::render(&mut audio, &settings, RENDER_BLOCK, &mut |done, _| {
        if let Some(bar) = &bar {
            bar.set_position(done);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    rendered.map_err(|e| match e {
        RenderError::UnsupportedChannels { channels } => {
            Failure::new(EXIT_INPUT, input_channels_error(&args.input, channels))
        }
        // The file is fine, the chain cannot take it: an unsupported input, like >2 channels.
        e @ RenderError::UnsupportedSampleRate { .. } => {
            Failure::new(EXIT_INPUT, anyhow!("cannot render '{}': {e}", args.input.display()))
        }
        other => Failure::new(EXIT_OTHER, anyhow!("cannot render '{}': {other}", args.input.display())),
    })?;

    let report = offline::write_wav(&args.output, &audio, format).map_err(|e| Failure::new(EXIT_OUTPUT, e))?;
    if report.clipped_samples > 0 {
        eprintln!(
            "warning: {} samples above 0 dBFS were clipped in the {} output; use --bits 32f to keep them",
            report.clipped_samples,
            format.label()
        );
    }

    print_stdout(&summary(&args, &audio, &settings, format))
}

fn input_channels_error(path: &Path, channels: usize) -> anyhow::Error {
    let reason = RenderError::UnsupportedChannels { channels };
    anyhow!("cannot render '{}': {reason}", path.display())
}

fn summary(args: &RenderArgs, audio: &offline::AudioBuffer, settings: &Settings, format: WavFormat) -> String {
    let channels = match audio.num_channels() {
        1 => "mono".to_string(),
        2 => "stereo".to_string(),
        n => format!("{n} channels"),
    };
    let changed: Vec<String> =
        settings.changed().map(|(p, v)| format!("{}={}", p.spec().id, p.spec().format(v))).collect();
    let changed = if changed.is_empty() { "none (default settings)".to_string() } else { changed.join(", ") };
    let peak = audio.peak_dbfs();
    let peak = if peak.is_finite() { format!("{peak:.2} dBFS") } else { "-inf dBFS (silence)".to_string() };
    format!(
        "rendered '{}' -> '{}': {:.2} s, {} Hz, {channels}, {}; changed: {changed}; output peak {peak}\n",
        args.input.display(),
        args.output.display(),
        audio.duration_secs(),
        audio.sample_rate,
        format.label(),
    )
}

/// A bar on stderr, or a spinner showing the decoded seconds when the length is unknown.
fn progress_bar(stage: &'static str, total: Option<u64>) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    let template = match total {
        Some(_) => "{prefix:>9} [{bar:40}] {percent:>3}%  eta {eta}",
        None => "{prefix:>9} {spinner} {msg}",
    };
    // The templates are constants; if indicatif ever rejected one the default style is fine.
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(stage);
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_parse_units_and_reject_unknown_ids_with_a_suggestion() {
        let a = parse_assignment("hp_freq=120Hz").unwrap();
        assert_eq!((a.param, a.value), (ParamId::HpFreq, 120.0));
        let a = parse_assignment(" b2_gain = -3 dB").unwrap();
        assert_eq!((a.param, a.value), (ParamId::Bell2Gain, -3.0));
        let err = parse_assignment("b2_gian=-3dB").unwrap_err();
        assert!(err.contains("did you mean 'b2_gain'"), "{err}");
        let err = parse_assignment("nope=1").unwrap_err();
        assert!(err.contains("unknown parameter 'nope'") && err.contains("out_gain"), "{err}");
        assert!(parse_assignment("b2_gain").unwrap_err().contains("PARAM=VALUE"));
        assert!(parse_assignment("b2_gain=loud").unwrap_err().contains("b2_gain"));
        let a = parse_assignment("b1_gain=40dB").unwrap();
        assert_eq!((a.value, a.clamped_from), (18.0, Some(40.0)), "out of range is clamped and remembered");
    }

    #[test]
    fn params_table_lists_every_parameter_once() {
        let table = params_table();
        for p in &PARAMS {
            assert_eq!(table.lines().filter(|l| l.starts_with(&format!("{} ", p.id))).count(), 1, "{}", p.id);
        }
        assert!(table.contains("20 Hz .. 1.00 kHz"), "hp_freq range\n{table}");
    }
}
