//! `audiocollab`: the command-line face of AudioCollab Assistant. It runs the same DSP chain
//! and the same analysis as the plugin on audio files.
//!
//! Exit codes: 0 ok, 2 usage error (clap), 3 input unreadable or unsupported, 4 output not
//! writable, 5 `analyze --fail-on` found a finding that severe, 1 anything else. Errors are one
//! `error: ...` line on stderr, never a panic trace.

mod analyze;
mod assist;
mod plot;
mod render;
mod report;

use std::io::{self, Write as _};
use std::panic;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use audiocollab_core::analysis::targets;
use audiocollab_core::analysis::track::AnalyzeOptions;
use audiocollab_core::lang::Lang;
use audiocollab_core::offline;
use audiocollab_core::text;

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
    Render(render::RenderArgs),
    /// List every parameter with its id, range and default.
    Params,
    /// Measure audio files: loudness, peaks, key, tempo, tonal balance, sections and the
    /// problems a mastering engineer would flag, with their times.
    #[command(after_help = analyze::ANALYZE_AFTER_HELP)]
    Analyze(analyze::AnalyzeArgs),
    /// Analyse a file and propose changes with their reasons: the embedded engine (offline,
    /// the default) or the model --provider or your config names. `--json` prints exactly
    /// what `render --apply` takes.
    Suggest(assist::SuggestArgs),
    /// Talk with the assistant about a file: questions, commands and suggestions applied to
    /// an in-memory set of parameters (/help inside lists the commands).
    Chat(assist::ChatArgs),
    /// Summarise the assistant's audit log: requests and cost per day and month, latency per
    /// task, error rate, cache hit rate, fallbacks.
    Audit(AuditArgs),
}

/// `audiocollab audit`: summarise the audit log.
#[derive(Clone, Debug, Args)]
struct AuditArgs {
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// Only the last DAYS days.
    #[arg(long, value_name = "DAYS")]
    since: Option<u32>,
    /// Read this log instead of the one in the user data folder.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
}

impl AuditArgs {
    fn query(self) -> audiocollab_assistant::route::audit::AuditQuery {
        audiocollab_assistant::route::audit::AuditQuery { json: self.json, since_days: self.since, log: self.log }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LangArg {
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

/// The delivery platform and genre a track is judged against (`analyze`, `suggest`, `chat`).
#[derive(Args)]
pub struct TargetArgs {
    /// Delivery platform whose loudness target and true-peak ceiling the track is judged against.
    #[arg(long, value_name = "PLATFORM", default_value = targets::DEFAULT_PLATFORM, ignore_case = true,
          value_parser = platform_ids())]
    pub platform: String,
    /// Genre whose tonal-balance and dynamics target the track is judged against.
    #[arg(long, value_name = "GENRE", default_value = targets::DEFAULT_GENRE, ignore_case = true,
          value_parser = genre_ids())]
    pub genre: String,
    /// A reference track (WAV, FLAC, MP3, Ogg Vorbis, AIFF) whose tonal balance and loudness
    /// range are the target instead of the genre's.
    #[arg(long, value_name = "FILE")]
    pub reference: Option<PathBuf>,
}

impl TargetArgs {
    /// Analysis options for the whole track against these targets (the reference, if any, is
    /// decoded and analysed here).
    pub fn options(&self) -> Result<AnalyzeOptions, Failure> {
        let reference = match &self.reference {
            Some(path) => {
                let loaded = audiocollab_core::offline::reference::Reference::load(path)
                    .map_err(|e| Failure::new(EXIT_INPUT, anyhow::anyhow!("reference {e}")))?;
                Some(std::sync::Arc::new(loaded.target()))
            }
            None => None,
        };
        Ok(AnalyzeOptions {
            platform: self.platform.clone(),
            genre: self.genre.clone(),
            reference,
            from_s: None,
            to_s: None,
        })
    }
}

/// The platform ids of `assets/targets/platforms.json`, with their names for `--help`.
pub fn platform_ids() -> PossibleValuesParser {
    PossibleValuesParser::new(
        targets::platforms().iter().map(|p| PossibleValue::new(p.id.as_str()).help(p.name.as_str())),
    )
}

/// The genre ids of `assets/targets/genres.json`, with their names for `--help`.
pub fn genre_ids() -> PossibleValuesParser {
    PossibleValuesParser::new(
        targets::genres().iter().map(|g| PossibleValue::new(g.id.as_str()).help(g.name_en.as_str())),
    )
}

/// Parses `SS`, `SS.s`, `M:SS`, `M:SS.s`, `H:MM:SS` or `H:MM:SS.s` into seconds.
pub fn parse_time(text: &str) -> Result<f64, String> {
    const SYNTAX: &str = "use SS, SS.s, M:SS, M:SS.s or H:MM:SS, e.g. 95, 1:35.5 or 1:02:03";
    let shown = audiocollab_core::untrusted::excerpt(text);
    let invalid = || format!("'{shown}' is not a time; {SYNTAX}");
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
        return Err(format!("'{shown}': seconds must be below 60 after a colon; {SYNTAX}"));
    }
    if let [_, minutes] = numbers[..] {
        if minutes >= 60 {
            return Err(format!("'{shown}': minutes must be below 60 after the hours; {SYNTAX}"));
        }
    }
    // [M] or [H, M] before the seconds.
    let total = numbers.iter().fold(0.0, |acc, &n| acc * 60.0 + n as f64) * 60.0 + seconds;
    if !total.is_finite() {
        return Err(invalid());
    }
    Ok(total)
}

/// An error with the exit code it maps to.
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

pub const EXIT_OK: u8 = 0;
pub const EXIT_OTHER: u8 = 1;
pub const EXIT_INPUT: u8 = 3;
pub const EXIT_OUTPUT: u8 = 4;
pub const EXIT_FINDINGS: u8 = 5;

impl Failure {
    pub fn new(code: u8, error: impl Into<anyhow::Error>) -> Self {
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
    if let Command::Analyze(analyze::AnalyzeArgs { from: Some(from), to: Some(to), .. }) = &cli.command {
        if to <= from {
            let message = format!(
                "--to ({}) must be after --from ({})",
                text::clock_tenths(*to, Lang::En),
                text::clock_tenths(*from, Lang::En)
            );
            return Err(Cli::command().error(ErrorKind::ArgumentConflict, message));
        }
    }
    Ok(())
}

/// Runs the command; `Ok` carries the exit code of a run that printed its own diagnostics.
fn run(cli: Cli) -> Result<u8, Failure> {
    match cli.command {
        Command::Render(args) => render::render(args).map(|()| EXIT_OK),
        Command::Params => print_stdout(&render::params_table()).map(|()| EXIT_OK),
        Command::Analyze(args) => analyze::analyze(args),
        Command::Suggest(args) => assist::suggest(args),
        Command::Chat(args) => assist::chat(args),
        Command::Audit(args) => print_stdout(
            &audiocollab_assistant::route::audit::run(&args.query(), jiff::Timestamp::now())
                .map_err(|e| Failure::new(EXIT_INPUT, e))?,
        )
        .map(|()| EXIT_OK),
    }
}

/// Writes to stdout, treating a closed pipe (`audiocollab params | head`) as success: the
/// reader has what it wanted, and `println!` would panic there.
pub fn print_stdout(text: &str) -> Result<(), Failure> {
    match io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Failure::new(EXIT_OTHER, e)),
        _ => Ok(()),
    }
}

/// Renders shorter than this run without a progress bar: they finish before it would be read.
pub const PROGRESS_MIN_SECONDS: f64 = 30.0;
/// How often a spinner turns when the work reports no progress of its own.
pub const SPINNER_TICK: std::time::Duration = std::time::Duration::from_millis(120);

/// A progress bar on stderr for the work on a long file, fed `(frames_done, total_if_known)` as
/// the file streams through. Shown only when `interactive` and the file is long: created once
/// the header's length, or when it states none the audio done so far, passes
/// [`PROGRESS_MIN_SECONDS`].
pub struct FileProgress {
    stage: &'static str,
    interactive: bool,
    rate: f64,
    bar: Option<ProgressBar>,
}

impl FileProgress {
    pub fn new(stage: &'static str, info: &offline::StreamInfo, interactive: bool) -> Self {
        Self { stage, interactive, rate: f64::from(info.sample_rate.unwrap_or(48_000).max(1)), bar: None }
    }

    pub fn update(&mut self, done: u64, total: Option<u64>) {
        // A header that lies about the length must not push the bar past 100 %.
        let total = total.filter(|&t| t >= done);
        if self.bar.is_none() && self.interactive && total.unwrap_or(done) as f64 / self.rate > PROGRESS_MIN_SECONDS {
            self.bar = Some(progress_bar(self.stage, total));
        }
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            if bar.length().is_none() {
                bar.set_message(format!("{:.0} s", done as f64 / self.rate));
            }
        }
    }

    /// Removes the bar; `true` when one was shown.
    pub fn finish(self) -> bool {
        self.bar.map(|bar| bar.finish_and_clear()).is_some()
    }
}

/// Warns on stderr about damaged packets of `path` that were replaced by silence.
pub fn warn_concealed(path: &Path, decoded: &offline::DecodeSummary, sample_rate: u32) {
    if decoded.concealed_packets > 0 {
        let at = decoded.first_concealed_frame.unwrap_or(0) as f64 / f64::from(sample_rate.max(1));
        eprintln!(
            "warning: {} damaged packet(s) in '{}' were replaced by silence (first at {at:.3} s)",
            decoded.concealed_packets,
            path.display()
        );
    }
}

/// A bar on stderr, or a spinner showing the decoded seconds when the length is unknown.
pub fn progress_bar(stage: &'static str, total: Option<u64>) -> ProgressBar {
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
}
