//! `audiocollab`: the command-line face of AudioCollab Assistant. It runs the same DSP chain
//! and the same analysis as the plugin on audio files.
//!
//! Exit codes: 0 ok, 2 usage error (clap), 3 input unreadable or unsupported, 4 output not
//! writable, 5 `analyze --fail-on` found a finding that severe, 1 anything else. Errors are one
//! `error: ...` line on stderr, never a panic trace.

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write as _};
use std::panic;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::anyhow;
use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use audiocollab::analysis::findings::Severity;
use audiocollab::analysis::spectral::mono_downmix;
use audiocollab::analysis::targets;
use audiocollab::analysis::timeline::Timeline;
use audiocollab::analysis::track::{self, AnalyzeError, AnalyzeOptions, TrackAnalysis};
use audiocollab::offline::plot;
use audiocollab::offline::report::{self, DecoderInfo, JsonDocument, JsonError, JsonFile, Lang};
use audiocollab::offline::{self, DecodeError, Decoded, RenderError, WavFormat, RENDER_BLOCK, SAMPLE_RATE_RANGE};
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
    /// Measure audio files: loudness, peaks, key, tempo, tonal balance, sections and the
    /// problems a mastering engineer would flag, with their times.
    #[command(after_help = ANALYZE_AFTER_HELP)]
    Analyze(AnalyzeArgs),
    /// Analyse a file and propose changes with their reasons (the embedded engine, offline).
    /// `--json` prints exactly what `render --apply` takes.
    Suggest(SuggestArgs),
    /// Summarise the assistant's audit log: requests and cost per day and month, latency per
    /// task, error rate, cache hit rate, fallbacks.
    Audit(audiocollab::assistant::route::audit::AuditArgs),
}

const ANALYZE_AFTER_HELP: &str = "\
Times (--from, --to): SS, SS.s, M:SS, M:SS.s or H:MM:SS(.s), e.g. 95, 1:35.5, 1:02:03.

Exit codes:
  0  every file was analysed (and, with --fail-on, no finding reached that severity)
  2  usage error (bad option or value, --to not after --from)
  3  at least one file could not be read, decoded or analysed (the others were)
  4  the plot could not be written
  5  --fail-on: a finding of that severity or above was found

The JSON (--json) is described in docs/analyze.md and assets/schema/analysis.schema.json.";

#[derive(Args)]
struct AnalyzeArgs {
    /// Audio files: WAV, AIFF, FLAC, MP3 or Ogg Vorbis, mono or stereo.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Print one JSON document on stdout instead of the report.
    #[arg(long)]
    json: bool,
    /// Delivery platform whose loudness target and true-peak ceiling the track is judged against.
    #[arg(long, value_name = "PLATFORM", default_value = track::DEFAULT_PLATFORM, ignore_case = true,
          value_parser = platform_ids())]
    platform: String,
    /// Genre whose tonal-balance and dynamics target the track is judged against.
    #[arg(long, value_name = "GENRE", default_value = track::DEFAULT_GENRE, ignore_case = true,
          value_parser = genre_ids())]
    genre: String,
    /// Language of the report (and of the plot's labels).
    #[arg(long, value_enum, default_value_t = LangArg::En)]
    lang: LangArg,
    /// Analyse from this time on (see Times below).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    from: Option<f64>,
    /// Analyse up to this time (see Times below).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    to: Option<f64>,
    /// Also draw the waveform, spectrogram and findings into this PNG (1200 x 600). With several
    /// files, OUT.png becomes OUT-1.png, OUT-2.png, … numbered in the order of the files.
    #[arg(long, value_name = "OUT.png")]
    plot: Option<PathBuf>,
    /// Exit with code 5 when a finding of this severity or above is found (for CI).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    fail_on: Option<FailOn>,
}

#[derive(Args)]
struct SuggestArgs {
    /// Audio file: WAV, AIFF, FLAC, MP3 or Ogg Vorbis, mono or stereo.
    file: PathBuf,
    /// Print the proposal as JSON (the assistant's reply format, `assets/schema/reply.schema.json`),
    /// ready for `audiocollab render FILE OUT --apply changes.json`.
    #[arg(long)]
    json: bool,
    /// Delivery platform whose loudness target and true-peak ceiling the track is judged against.
    #[arg(long, value_name = "PLATFORM", default_value = track::DEFAULT_PLATFORM, ignore_case = true,
          value_parser = platform_ids())]
    platform: String,
    /// Genre whose tonal-balance and dynamics target the track is judged against.
    #[arg(long, value_name = "GENRE", default_value = track::DEFAULT_GENRE, ignore_case = true,
          value_parser = genre_ids())]
    genre: String,
    /// Language of the explanations.
    #[arg(long, value_enum, default_value_t = LangArg::En)]
    lang: LangArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum LangArg {
    /// English
    En,
    /// French
    Fr,
}

impl From<LangArg> for Lang {
    fn from(lang: LangArg) -> Self {
        match lang {
            LangArg::En => Lang::En,
            LangArg::Fr => Lang::Fr,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum FailOn {
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

/// The platform ids of `assets/targets/platforms.json`, with their names for `--help`.
fn platform_ids() -> PossibleValuesParser {
    PossibleValuesParser::new(
        targets::platforms().iter().map(|p| PossibleValue::new(p.id.as_str()).help(p.name.as_str())),
    )
}

/// The genre ids of `assets/targets/genres.json`, with their names for `--help`.
fn genre_ids() -> PossibleValuesParser {
    PossibleValuesParser::new(
        targets::genres().iter().map(|g| PossibleValue::new(g.id.as_str()).help(g.name_en.as_str())),
    )
}

/// Parses `SS`, `SS.s`, `M:SS`, `M:SS.s`, `H:MM:SS` or `H:MM:SS.s` into seconds.
fn parse_time(text: &str) -> Result<f64, String> {
    const SYNTAX: &str = "use SS, SS.s, M:SS, M:SS.s or H:MM:SS, e.g. 95, 1:35.5 or 1:02:03";
    let invalid = || format!("'{text}' is not a time; {SYNTAX}");
    let is_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = text.trim().split(':').collect();
    let (seconds, larger) = parts.split_last().ok_or_else(invalid)?;
    if larger.len() > 2 {
        return Err(invalid());
    }
    let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, "0"));
    if !is_digits(whole) || !is_digits(fraction) || larger.iter().any(|p| !is_digits(p)) {
        return Err(invalid());
    }
    // Digits only, so these parse; an absurdly long number is the one failure left.
    let seconds: f64 = seconds.parse().map_err(|_| invalid())?;
    let numbers: Vec<u64> = larger.iter().map(|p| p.parse()).collect::<Result<_, _>>().map_err(|_| invalid())?;
    if !larger.is_empty() && seconds >= 60.0 {
        return Err(format!("'{text}': seconds must be below 60 after a colon; {SYNTAX}"));
    }
    if let [_, minutes] = numbers[..] {
        if minutes >= 60 {
            return Err(format!("'{text}': minutes must be below 60 after the hours; {SYNTAX}"));
        }
    }
    // [M] or [H, M] before the seconds.
    let total = numbers.iter().fold(0.0, |acc, &n| acc * 60.0 + n as f64) * 60.0 + seconds;
    if !total.is_finite() {
        return Err(invalid());
    }
    Ok(total)
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
    /// Apply the changes of an assistant reply (what `audiocollab suggest --json` prints),
    /// validated like any reply: unknown parameters refused, values clamped, steps limited.
    /// Applied after the `--set` values.
    #[arg(long, value_name = "CHANGES.json")]
    apply: Option<PathBuf>,
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

const EXIT_OK: u8 = 0;
const EXIT_OTHER: u8 = 1;
const EXIT_INPUT: u8 = 3;
const EXIT_OUTPUT: u8 = 4;
const EXIT_FINDINGS: u8 = 5;

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
    if let Err(e) = check_arguments(&cli) {
        e.exit();
    }
    match panic::catch_unwind(panic::AssertUnwindSafe(|| run(cli))) {
        Ok(Ok(code)) => ExitCode::from(code),
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

/// Checks that span several arguments, as clap usage errors (exit 2).
fn check_arguments(cli: &Cli) -> Result<(), clap::Error> {
    if let Command::Analyze(AnalyzeArgs { from: Some(from), to: Some(to), .. }) = &cli.command {
        if to <= from {
            let message = format!("--to ({}) must be after --from ({})", report::clock(*to), report::clock(*from));
            return Err(Cli::command().error(ErrorKind::ArgumentConflict, message));
        }
    }
    Ok(())
}

/// Runs the command; `Ok` carries the exit code of a run that printed its own diagnostics.
fn run(cli: Cli) -> Result<u8, Failure> {
    match cli.command {
        Command::Render(args) => render(args).map(|()| EXIT_OK),
        Command::Params => print_stdout(&params_table()).map(|()| EXIT_OK),
        Command::Analyze(args) => analyze(args),
        Command::Suggest(args) => suggest(args),
        Command::Audit(args) => print_stdout(
            &audiocollab::assistant::route::audit::run(&args, jiff::Timestamp::now())
                .map_err(|e| Failure::new(EXIT_INPUT, e))?,
        )
        .map(|()| EXIT_OK),
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
/// How often a spinner turns when the work reports no progress of its own.
const SPINNER_TICK: std::time::Duration = std::time::Duration::from_millis(120);

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
    if let Some(path) = &args.apply {
        apply_reply(path, &mut settings)?;
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
    let decoded = decode_with_progress(&args.input, &info, interactive).map_err(|e| Failure::new(EXIT_INPUT, e))?;
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

/// Reads an assistant reply from `path` (untrusted JSON), validates it against `settings` and
/// applies it, telling on stderr what was applied, adjusted or refused.
fn apply_reply(path: &Path, settings: &mut Settings) -> Result<(), Failure> {
    use audiocollab::assistant::actions::{ChangeSet, Proposal, WireReply};
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::new(EXIT_INPUT, anyhow!("cannot read '{}': {e}", path.display())))?;
    let reply: WireReply = serde_json::from_str(&text).map_err(|e| {
        Failure::new(
            EXIT_INPUT,
            anyhow!("'{}' is not an assistant reply (see assets/schema/reply.schema.json): {e}", path.display()),
        )
    })?;
    let set = ChangeSet::try_from(Proposal { reply: &reply, current: settings })
        .map_err(|e| Failure::new(EXIT_INPUT, anyhow!("'{}': {e}", path.display())))?;
    for c in set.changes() {
        let adjusted = if c.adjustments.is_empty() { "" } else { " (adjusted by the validator)" };
        eprintln!("applying {}{adjusted}: {}", c.describe(), c.reason);
    }
    for r in set.rejected() {
        eprintln!("warning: refused {}: {}", r.param, r.reason);
    }
    set.apply(settings);
    Ok(())
}

/// `suggest`: analyse, ask the embedded engine for suggestions, print them (text or the reply
/// JSON that `render --apply` takes).
fn suggest(args: SuggestArgs) -> Result<u8, Failure> {
    use audiocollab::assistant::actions::{ChangeSet, Proposal, WireChange, WireReply, WireValue};
    use audiocollab::assistant::suggest::suggest as engine_suggest;
    let options =
        AnalyzeOptions { platform: args.platform.clone(), genre: args.genre.clone(), from_s: None, to_s: None };
    let analysed = analyse_file(&args.file, &options, io::stderr().is_terminal())
        .map_err(|f| Failure::new(EXIT_INPUT, anyhow!("{}", f.message)))?;
    let current = Settings::default();
    let lang = Lang::from(args.lang);
    let reply = engine_suggest(&analysed.analysis, &current, lang);
    let set = ChangeSet::try_from(Proposal { reply: &reply, current: &current })
        .map_err(|e| Failure::new(EXIT_OTHER, anyhow!("the engine's suggestion did not validate: {e}")))?;
    if args.json {
        // The validated values, absolute and in the reply's plain units (percent for width/mix).
        let changes = set
            .changes()
            .iter()
            .map(|c| {
                let spec = c.param.spec();
                let value = match spec.kind {
                    Kind::Toggle => WireValue::Bool(c.to >= 0.5),
                    _ if matches!(spec.format, audiocollab::spec::Format::Percent) => {
                        WireValue::Number(c.to as f64 * 100.0)
                    }
                    _ => WireValue::Number(c.to as f64),
                };
                WireChange {
                    param: spec.id.into(),
                    value: Some(value),
                    delta: None,
                    reason: c.reason.clone(),
                    evidence: c.evidence.clone(),
                }
            })
            .collect();
        let out = WireReply { message: reply.message, changes };
        let json = serde_json::to_string_pretty(&out).map_err(|e| Failure::new(EXIT_OTHER, anyhow!(e)))?;
        print_stdout(&format!("{json}\n"))?;
    } else {
        let mut text = format!("{}\n\n{}\n", args.file.display(), reply.message);
        if !set.is_empty() {
            text.push_str(match lang {
                Lang::En => "\nProposed changes:\n",
                Lang::Fr => "\nRéglages proposés :\n",
            });
            for c in set.changes() {
                let _ = writeln!(text, "  {}  — {}", c.describe(), c.reason);
            }
            let _ = writeln!(
                text,
                "\n{}: audiocollab suggest {} --json > changes.json && audiocollab render {} out.wav --apply changes.json",
                match lang {
                    Lang::En => "To hear it",
                    Lang::Fr => "Pour l'écouter",
                },
                args.file.display(),
                args.file.display()
            );
        }
        print_stdout(&text)?;
    }
    Ok(EXIT_OK)
}

/// Decodes `path` with a progress bar on stderr when `interactive` and the file is long, and
/// warns on stderr about damaged packets that were concealed.
fn decode_with_progress(path: &Path, info: &offline::StreamInfo, interactive: bool) -> Result<Decoded, DecodeError> {
    let show_bar = |seconds: f64| interactive && seconds > PROGRESS_MIN_SECONDS;
    let rate = f64::from(info.sample_rate.unwrap_or(48_000).max(1));
    let mut bar: Option<ProgressBar> = None;
    let decoded = offline::decode_file(path, &mut |done, total| {
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
    let decoded = decoded?;
    if decoded.concealed_packets > 0 {
        let at = decoded.first_concealed_frame.unwrap_or(0) as f64 / f64::from(decoded.audio.sample_rate.max(1));
        eprintln!(
            "warning: {} damaged packet(s) in '{}' were replaced by silence (first at {at:.3} s)",
            decoded.concealed_packets,
            path.display()
        );
    }
    Ok(decoded)
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

// ---------------------------------------------------------------------------------------------
// analyze
// ---------------------------------------------------------------------------------------------

/// `--to` may pass the end of the track by this much, seconds: half the 0.1 s the report
/// prints times with, so a `--to` copied from the report's duration is accepted.
const SEGMENT_END_TOLERANCE_S: f64 = 0.05;

/// Why one input of a batch could not be analysed: a stable `kind` for the JSON and the line
/// printed on stderr.
struct FileFailure {
    kind: &'static str,
    message: String,
}

impl FileFailure {
    fn new(kind: &'static str, message: impl std::fmt::Display) -> Self {
        Self { kind, message: message.to_string() }
    }
}

/// One analysed input, with what the plot needs.
struct Analysed {
    decoder: DecoderInfo,
    analysis: TrackAnalysis,
    audio: offline::AudioBuffer,
    timeline: Timeline,
}

fn analyze(args: AnalyzeArgs) -> Result<u8, Failure> {
    let lang = Lang::from(args.lang);
    let options = AnalyzeOptions { platform: args.platform, genre: args.genre, from_s: args.from, to_s: args.to };
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
        DecodeError::DecoderPanic { .. } => "decoder_failure",
        _ => "decode_failed",
    }
}

fn channels_failure(path: &Path, channels: usize) -> FileFailure {
    FileFailure::new(
        "unsupported_channels",
        format!(
            "cannot analyse '{}': it has {channels} channels; analyze takes mono or stereo files, \
             downmix it first, e.g. `ffmpeg -i IN -ac 2 out.wav`",
            path.display()
        ),
    )
}

/// Decodes and analyses one file. The statistics are measured once over the whole file (the
/// same steps as [`track::analyze`], kept here so the plot can read the timeline), then the
/// stretch asked for is judged.
fn analyse_file(path: &Path, options: &AnalyzeOptions, interactive: bool) -> Result<Analysed, FileFailure> {
    let decode_failure = |e: DecodeError| FileFailure::new(decode_error_kind(&e), e);
    let info = offline::probe(path).map_err(decode_failure)?;
    // Checked before decoding to fail fast, and again after: not every header states it.
    if let Some(channels) = info.channels.filter(|&c| c > 2) {
        return Err(channels_failure(path, channels));
    }
    let decoded = decode_with_progress(path, &info, interactive).map_err(decode_failure)?;
    let audio = decoded.audio;
    if audio.num_channels() > 2 {
        return Err(channels_failure(path, audio.num_channels()));
    }

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
    let timeline = Timeline::of_audio(audio.sample_rate, &views, |done| {
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
    let result = timeline.map_err(AnalyzeError::from).and_then(|timeline| {
        let mono = mono_downmix(&audio.channels);
        track::analyze_timeline(&timeline, &mono, options).map(|analysis| (timeline, analysis))
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let (timeline, analysis) = result.map_err(analysis_failure)?;
    let decoder = DecoderInfo { codec: decoded.codec, concealed_packets: decoded.concealed_packets };
    Ok(Analysed { decoder, analysis, audio, timeline })
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
    fn times_parse_in_every_documented_syntax_and_nothing_else() {
        for (text, seconds) in [
            ("95", 95.0),
            ("7.25", 7.25),
            ("0:07", 7.0),
            ("1:45", 105.0),
            ("1:45.5", 105.5),
            ("12:00", 720.0),
            ("1:02:03", 3723.0),
            ("1:02:03.5", 3723.5),
            (" 2:00 ", 120.0),
        ] {
            assert_eq!(parse_time(text), Ok(seconds), "{text}");
        }
        for (text, reason) in [
            ("", "is not a time"),
            ("-3", "is not a time"),
            ("1:", "is not a time"),
            (":30", "is not a time"),
            ("1.5:00", "is not a time"),
            ("1:2:3:4", "is not a time"),
            ("1e3", "is not a time"),
            ("inf", "is not a time"),
            ("NaN", "is not a time"),
            ("+5", "is not a time"),
            ("5.", "is not a time"),
            ("1:60", "seconds must be below 60"),
            ("1:59.99", ""),
            ("1:60:00", "minutes must be below 60"),
            ("99999999999999999999999:00", "is not a time"),
        ] {
            match parse_time(text) {
                Ok(_) if reason.is_empty() => {}
                Ok(v) => panic!("'{text}' parsed as {v}"),
                Err(e) => assert!(!reason.is_empty() && e.contains(reason), "'{text}': {e}"),
            }
        }
    }

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

    #[test]
    fn params_table_lists_every_parameter_once() {
        let table = params_table();
        for p in &PARAMS {
            assert_eq!(table.lines().filter(|l| l.starts_with(&format!("{} ", p.id))).count(), 1, "{}", p.id);
        }
        assert!(table.contains("20 Hz .. 1.00 kHz"), "hp_freq range\n{table}");
    }
}
