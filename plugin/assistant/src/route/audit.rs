//! The audit log: one JSON line per request the router handled, in `audit.jsonl` in the user
//! data folder, and the summary `audiocollab audit` prints.
//!
//! A request line holds the time (RFC 3339 with the musician's UTC offset, so the local day is
//! in the line), the task, tier, provider and model, tokens in and out, the estimated cost,
//! the latency, whether the cache answered, the outcome, the fallback reason if any, and the
//! *length* of what was sent. Never a key, never the musician's words, never a reply. Whether
//! a suggestion was applied or undone is added later by appending an event that names the
//! request's id; nothing is ever rewritten.
//!
//! Reading is forgiving: a line that does not parse (a crash mid-write, a hand edit) is counted
//! and skipped.

use super::super::llm::{ProviderKind, Task, Tier};
use super::Paths;
use audiocollab_core::untrusted::{self, Line};
use jiff::{Timestamp, ZonedDateTime};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The log's name in the data folder.
pub const AUDIT_FILE: &str = "audit.jsonl";

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// A model answered (from the network or the cache).
    Model,
    /// The embedded engine answered: by configuration, or as a fallback (see `fallback`).
    Embedded,
    /// The musician cancelled.
    Cancelled,
}

/// One routed request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Unique id, for the applied/undone events.
    pub id: String,
    /// When it started: RFC 3339, milliseconds, the local UTC offset.
    pub time: String,
    /// What for.
    pub task: Task,
    /// The tier that answered or was last tried (`None`: the embedded engine by configuration).
    pub tier: Option<Tier>,
    /// The provider that answered or was last tried.
    pub provider: ProviderKind,
    /// Its model.
    pub model: Option<String>,
    /// Prompt tokens of the answer (0 when no model answered).
    pub input_tokens: u32,
    /// Generated tokens of the answer.
    pub output_tokens: u32,
    /// Estimated cost in US dollars (0 for the cache and the embedded engine).
    pub usd: f64,
    /// From the request to the answer (or the fallback), retries and waits included.
    pub latency_ms: u64,
    /// Whether the cache was consulted.
    #[serde(default)]
    pub cache_checked: bool,
    /// Whether the cache answered.
    pub cache_hit: bool,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// Why it did not get the configured tier's model: a reason code (`rate_limited`,
    /// `budget`, `deadline`, `auth`, …; `cheaper_tier` when a cheaper model answered).
    pub fallback: Option<String>,
    /// Calls sent to providers (retries included).
    pub attempts: u32,
    /// Calls that failed.
    pub errors: u32,
    /// Characters of the request (system prompt, messages, schema): its size, not its text.
    pub request_chars: u64,
}

/// A line of the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AuditEvent {
    /// A routed request.
    Request(RequestRecord),
    /// The changes of request `id` were applied.
    Applied {
        /// The request.
        id: String,
        /// When.
        time: String,
    },
    /// The changes of request `id` were undone.
    Undone {
        /// The request.
        id: String,
        /// When.
        time: String,
    },
    /// The musician rated the answer to request `id`.
    Feedback {
        /// The request.
        id: String,
        /// When.
        time: String,
        /// Thumbs up (`true`) or down.
        up: bool,
    },
}

impl AuditEvent {
    fn time(&self) -> &str {
        match self {
            AuditEvent::Request(r) => &r.time,
            AuditEvent::Applied { time, .. } | AuditEvent::Undone { time, .. } | AuditEvent::Feedback { time, .. } => {
                time
            }
        }
    }
}

/// `now` as the log writes it: RFC 3339 with milliseconds and the UTC offset,
/// `2026-11-23T22:00:00.000+01:00`. The first ten characters are the local date.
pub fn stamp(now: &ZonedDateTime) -> String {
    now.strftime("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
}

/// The log writer. Appends whole lines; several processes may append to the same file.
#[derive(Clone, Debug)]
pub struct AuditLog {
    path: Option<PathBuf>,
}

impl AuditLog {
    /// A log at `path`; `None` records nothing.
    pub fn new(path: Option<PathBuf>) -> Self {
        Self { path }
    }

    /// Where it writes.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Appends one event as one line (created owner-only).
    pub fn append(&self, event: &AuditEvent) -> std::io::Result<()> {
        let Some(path) = &self.path else { return Ok(()) };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut line = serde_json::to_vec(event).map_err(std::io::Error::other)?;
        line.push(b'\n');
        // One write of the whole line: appends of a few hundred bytes are not interleaved.
        super::private_options().create(true).append(true).open(path)?.write_all(&line)
    }

    /// Records that the changes of request `id` were applied (`applied: true`) or undone.
    pub fn mark(&self, id: &str, applied: bool, now: &ZonedDateTime) -> std::io::Result<()> {
        let (id, time) = (id.to_string(), stamp(now));
        self.append(&if applied { AuditEvent::Applied { id, time } } else { AuditEvent::Undone { id, time } })
    }

    /// Appends the musician's rating of the answer to request `id`.
    pub fn feedback(&self, id: &str, up: bool, now: &ZonedDateTime) -> std::io::Result<()> {
        self.append(&AuditEvent::Feedback { id: id.to_string(), time: stamp(now), up })
    }
}

/// Longest line read, bytes: a request line is a few hundred bytes; a longer one is not a
/// line this program wrote, and is skipped without being held in memory.
pub const MAX_LINE_BYTES: usize = 64 << 10;
/// Most of a log read, bytes (about 700,000 requests): what goes past it is left out, so
/// reading ends, in bounded memory and time, whatever the file is (`--log /dev/zero`).
pub const MAX_LOG_BYTES: u64 = 256 << 20;

/// A log as read by [`read_log`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogRead {
    /// The events, oldest first.
    pub events: Vec<AuditEvent>,
    /// Lines skipped: unreadable, or longer than [`MAX_LINE_BYTES`].
    pub skipped: usize,
    /// Of those, lines longer than [`MAX_LINE_BYTES`].
    pub too_long: usize,
    /// Whether part of the log was left out, and which (see [`MAX_LOG_BYTES`]).
    pub partial: Option<Partial>,
}

/// Which part of a log larger than [`MAX_LOG_BYTES`] was left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Partial {
    /// A file larger than the limit: its oldest lines (only its last part was read).
    Oldest,
    /// Input that did not end within the limit (a device, a pipe): what came after it.
    Rest,
}

/// Reads a log. A missing file is an empty log; unparsable and over-long lines are counted,
/// not fatal; at most [`MAX_LOG_BYTES`] are read (a file's last ones).
pub fn read_log(path: &Path) -> std::io::Result<LogRead> {
    use std::io::{Read as _, Seek as _};
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LogRead::default()),
        Err(e) => return Err(e),
    };
    let mut log = LogRead::default();
    let size = file.metadata()?.len();
    let tail = file.metadata()?.is_file() && size > MAX_LOG_BYTES;
    if tail {
        file.seek(std::io::SeekFrom::Start(size - MAX_LOG_BYTES))?;
        log.partial = Some(Partial::Oldest);
    }
    let mut reader = std::io::BufReader::with_capacity(64 << 10, file.take(MAX_LOG_BYTES));
    let mut line = Vec::new();
    if tail {
        // The seek lands inside a line: its rest is not a line.
        untrusted::read_line(&mut reader, &mut line, 0)?;
    }
    while let Some(read) = untrusted::read_line(&mut reader, &mut line, MAX_LINE_BYTES)? {
        if let Line::TooLong { .. } = read {
            (log.skipped, log.too_long) = (log.skipped + 1, log.too_long + 1);
            continue;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<AuditEvent>(&line) {
            Ok(event) if event.time().parse::<Timestamp>().is_ok() => log.events.push(event),
            _ => log.skipped += 1,
        }
    }
    if !tail && reader.into_inner().limit() == 0 {
        log.partial = Some(Partial::Rest);
    }
    Ok(log)
}

/// Requests and cost in one day or month.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PeriodRow {
    /// `YYYY-MM-DD` or `YYYY-MM`, local.
    pub period: String,
    /// Requests routed.
    pub requests: usize,
    /// Calls sent to providers.
    pub attempts: u64,
    /// Estimated US dollars.
    pub usd: f64,
}

/// Latency of one task's answers from the network.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskRow {
    /// The task.
    pub task: Task,
    /// Requests routed.
    pub requests: usize,
    /// Answered by a model over the network (the latency sample).
    pub answered: usize,
    /// Median latency, nearest rank.
    pub latency_median_ms: Option<u64>,
    /// 95th percentile latency, nearest rank.
    pub latency_p95_ms: Option<u64>,
    /// Estimated US dollars.
    pub usd: f64,
}

/// What `audiocollab audit` prints.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Only events of the last this many days (`None`: all).
    pub since_days: Option<u32>,
    /// Requests routed.
    pub requests: usize,
    /// Requests answered by a model (network or cache).
    pub answered_by_model: usize,
    /// Requests answered by the embedded engine (configured or fallback).
    pub answered_offline: usize,
    /// Requests cancelled.
    pub cancelled: usize,
    /// Calls sent to providers (retries included).
    pub attempts: u64,
    /// Calls that failed.
    pub failed_attempts: u64,
    /// `failed_attempts / attempts`; `None` with no attempt.
    pub error_rate: Option<f64>,
    /// Requests that consulted the cache.
    pub cache_lookups: usize,
    /// Requests the cache answered.
    pub cache_hits: usize,
    /// `cache_hits / cache_lookups`; `None` with no lookup.
    pub cache_hit_rate: Option<f64>,
    /// Requests that did not get their configured model (cheaper tier or embedded engine).
    pub fallbacks: usize,
    /// Fallbacks by reason code.
    pub fallback_reasons: BTreeMap<String, usize>,
    /// Estimated US dollars.
    pub usd: f64,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
    /// Suggestions applied.
    pub applied: usize,
    /// Suggestions undone.
    pub undone: usize,
    /// Answers rated thumbs up.
    pub thumbs_up: usize,
    /// Answers rated thumbs down.
    pub thumbs_down: usize,
    /// Per local calendar month, oldest first.
    pub months: Vec<PeriodRow>,
    /// Per local day, oldest first.
    pub days: Vec<PeriodRow>,
    /// Per task, in [`Task::ALL`] order, tasks without requests left out.
    pub tasks: Vec<TaskRow>,
    /// Lines that could not be read.
    pub skipped_lines: usize,
    /// Of those, lines longer than [`MAX_LINE_BYTES`].
    pub long_lines: usize,
    /// Part of the log was left out (larger than [`MAX_LOG_BYTES`]).
    pub partial: Option<Partial>,
}

/// The nearest-rank percentile `p` (0 < p ≤ 1) of sorted values: the smallest value with at
/// least `p` of the values at or below it.
fn nearest_rank(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// Summarises `events`, keeping those at most `since` old at `now` (`None`: all).
pub fn summarise(events: &[AuditEvent], skipped_lines: usize, now: Timestamp, since_days: Option<u32>) -> Summary {
    let cutoff = since_days.map(|d| now.as_millisecond().saturating_sub(i64::from(d) * 86_400_000));
    let in_window = |time: &str| {
        let Ok(t) = time.parse::<Timestamp>() else { return false };
        cutoff.is_none_or(|c| t.as_millisecond() >= c)
    };
    let mut s = Summary {
        since_days,
        requests: 0,
        answered_by_model: 0,
        answered_offline: 0,
        cancelled: 0,
        attempts: 0,
        failed_attempts: 0,
        error_rate: None,
        cache_lookups: 0,
        cache_hits: 0,
        cache_hit_rate: None,
        fallbacks: 0,
        fallback_reasons: BTreeMap::new(),
        usd: 0.0,
        input_tokens: 0,
        output_tokens: 0,
        applied: 0,
        undone: 0,
        thumbs_up: 0,
        thumbs_down: 0,
        months: Vec::new(),
        days: Vec::new(),
        tasks: Vec::new(),
        skipped_lines,
        long_lines: 0,
        partial: None,
    };
    let mut days: BTreeMap<String, PeriodRow> = BTreeMap::new();
    let mut months: BTreeMap<String, PeriodRow> = BTreeMap::new();
    let mut latencies: BTreeMap<Task, Vec<u64>> = BTreeMap::new();
    let mut tasks: BTreeMap<Task, TaskRow> = BTreeMap::new();

    for event in events.iter().filter(|e| in_window(e.time())) {
        let r = match event {
            AuditEvent::Applied { .. } => {
                s.applied += 1;
                continue;
            }
            AuditEvent::Undone { .. } => {
                s.undone += 1;
                continue;
            }
            AuditEvent::Feedback { up, .. } => {
                *if *up { &mut s.thumbs_up } else { &mut s.thumbs_down } += 1;
                continue;
            }
            AuditEvent::Request(r) => r,
        };
        let usd = if r.usd.is_finite() && r.usd > 0.0 { r.usd } else { 0.0 };
        s.requests += 1;
        match r.outcome {
            AuditOutcome::Model => s.answered_by_model += 1,
            AuditOutcome::Embedded => s.answered_offline += 1,
            AuditOutcome::Cancelled => s.cancelled += 1,
        }
        s.attempts += u64::from(r.attempts);
        s.failed_attempts += u64::from(r.errors.min(r.attempts));
        s.cache_lookups += usize::from(r.cache_checked);
        s.cache_hits += usize::from(r.cache_hit);
        if let Some(reason) = &r.fallback {
            s.fallbacks += 1;
            *s.fallback_reasons.entry(reason.clone()).or_default() += 1;
        }
        s.usd += usd;
        s.input_tokens += u64::from(r.input_tokens);
        s.output_tokens += u64::from(r.output_tokens);

        // The time carries the local offset it was written with: its date is the local date.
        let day = r.time.get(..10).unwrap_or_default().to_string();
        let month = r.time.get(..7).unwrap_or_default().to_string();
        for (map, key) in [(&mut days, day), (&mut months, month)] {
            let row = map.entry(key.clone()).or_insert(PeriodRow { period: key, requests: 0, attempts: 0, usd: 0.0 });
            row.requests += 1;
            row.attempts += u64::from(r.attempts);
            row.usd += usd;
        }
        let row = tasks.entry(r.task).or_insert(TaskRow {
            task: r.task,
            requests: 0,
            answered: 0,
            latency_median_ms: None,
            latency_p95_ms: None,
            usd: 0.0,
        });
        row.requests += 1;
        row.usd += usd;
        if r.outcome == AuditOutcome::Model && !r.cache_hit {
            row.answered += 1;
            latencies.entry(r.task).or_default().push(r.latency_ms);
        }
    }

    for (task, mut sample) in latencies {
        sample.sort_unstable();
        if let Some(row) = tasks.get_mut(&task) {
            row.latency_median_ms = nearest_rank(&sample, 0.5);
            row.latency_p95_ms = nearest_rank(&sample, 0.95);
        }
    }
    s.error_rate = ratio(s.failed_attempts, s.attempts);
    s.cache_hit_rate = ratio(s.cache_hits as u64, s.cache_lookups as u64);
    s.days = days.into_values().collect();
    s.months = months.into_values().collect();
    s.tasks = Task::ALL.iter().filter_map(|t| tasks.remove(t)).collect();
    s
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or("n/a".to_string(), |r| format!("{:.1} %", r * 100.0))
}

/// The summary as a table for a terminal.
pub fn render_text(s: &Summary, log: &Path, exists: bool) -> String {
    let mut out = String::new();
    let window =
        s.since_days.map_or("all time".to_string(), |d| format!("last {d} day{}", if d == 1 { "" } else { "s" }));
    // Writing to a String cannot fail.
    let _ = writeln!(out, "Audit log: {} ({window})", log.display());
    if !exists {
        let _ = writeln!(out, "No log yet: no request has been routed to a language model.");
    }
    let _ = writeln!(
        out,
        "Requests: {}: {} answered by a model ({} of them from the cache), {} answered offline, {} cancelled",
        s.requests, s.answered_by_model, s.cache_hits, s.answered_offline, s.cancelled
    );
    let _ = writeln!(out, "Estimated cost: ${:.4} ({} tokens in, {} out)", s.usd, s.input_tokens, s.output_tokens);
    let _ =
        writeln!(out, "Error rate: {} ({} failed of {} calls)", percent(s.error_rate), s.failed_attempts, s.attempts);
    let _ = writeln!(
        out,
        "Cache hit rate: {} ({} of {} lookups)",
        percent(s.cache_hit_rate),
        s.cache_hits,
        s.cache_lookups
    );
    let reasons: Vec<String> = s.fallback_reasons.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let reasons = if reasons.is_empty() { String::new() } else { format!(" ({})", reasons.join(", ")) };
    let _ = writeln!(out, "Fallbacks: {}{reasons}", s.fallbacks);
    let _ = writeln!(out, "Suggestions applied: {}, undone: {}", s.applied, s.undone);
    let _ = writeln!(out, "Answers rated: {} thumbs up, {} thumbs down", s.thumbs_up, s.thumbs_down);
    if s.skipped_lines > 0 {
        let long = match s.long_lines {
            0 => String::new(),
            n => format!(" ({n} longer than {} KiB)", MAX_LINE_BYTES >> 10),
        };
        let _ = writeln!(out, "Unreadable lines skipped: {}{long}", s.skipped_lines);
    }
    let limit = MAX_LOG_BYTES >> 20;
    match s.partial {
        Some(Partial::Oldest) => {
            let _ = writeln!(out, "The log is larger than {limit} MiB: only its last {limit} MiB were read.");
        }
        Some(Partial::Rest) => {
            let _ = writeln!(out, "The log did not end within {limit} MiB: only its first {limit} MiB were read.");
        }
        None => {}
    }
    for (title, rows) in [("Month", &s.months), ("Day", &s.days)] {
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{title:<12} {:>8} {:>6} {:>10}", "requests", "calls", "cost");
        for r in rows.iter() {
            let _ =
                writeln!(out, "{:<12} {:>8} {:>6} {:>10}", r.period, r.requests, r.attempts, format!("${:.4}", r.usd));
        }
    }
    if !s.tasks.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<12} {:>8} {:>8} {:>10} {:>10} {:>10}",
            "Task", "requests", "answered", "median", "p95", "cost"
        );
        let ms = |v: Option<u64>| v.map_or("-".to_string(), |v| format!("{v} ms"));
        for r in &s.tasks {
            let _ = writeln!(
                out,
                "{:<12} {:>8} {:>8} {:>10} {:>10} {:>10}",
                r.task.name(),
                r.requests,
                r.answered,
                ms(r.latency_median_ms),
                ms(r.latency_p95_ms),
                format!("${:.4}", r.usd)
            );
        }
        let _ = writeln!(out, "\nLatency: answers from the network only (not the cache), retries included.");
    }
    out
}

/// What `audiocollab audit` asks for.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    /// The summary as JSON instead of text.
    pub json: bool,
    /// Only the last this many days.
    pub since_days: Option<u32>,
    /// This log instead of the one in the user data folder.
    pub log: Option<PathBuf>,
}

/// Why `audiocollab audit` could not run.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// No `--log` and the system does not say where the data folder is.
    #[error("no user data folder on this system; pass --log FILE")]
    NoDataDir,
    /// The log exists but cannot be read.
    #[error("cannot read the audit log '{path}': {source}")]
    Unreadable {
        /// The log.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Runs `audiocollab audit` at `now` and returns what to print.
pub fn run(args: &AuditQuery, now: Timestamp) -> Result<String, AuditError> {
    let path = match &args.log {
        Some(path) => path.clone(),
        None => Paths::system().ok_or(AuditError::NoDataDir)?.audit_file(),
    };
    let exists = path.exists();
    let log = read_log(&path).map_err(|source| AuditError::Unreadable { path: path.display().to_string(), source })?;
    let mut summary = summarise(&log.events, log.skipped, now, args.since_days);
    (summary.long_lines, summary.partial) = (log.too_long, log.partial);
    Ok(if args.json {
        // INVARIANT: strings, integers and finite floats (rates only with a non-zero
        // denominator, costs from parsed JSON numbers) always serialise.
        serde_json::to_string_pretty(&summary).unwrap_or_default() + "\n"
    } else {
        render_text(&summary, &path, exists)
    })
}

/// Milliseconds of a duration, saturating.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, time: &str, task: Task, latency_ms: u64) -> RequestRecord {
        RequestRecord {
            id: id.into(),
            time: time.into(),
            task,
            tier: Some(Tier::Balanced),
            provider: ProviderKind::Openai,
            model: Some("gpt-4o-mini".into()),
            input_tokens: 1000,
            output_tokens: 200,
            usd: 0.00027,
            latency_ms,
            cache_checked: true,
            cache_hit: false,
            outcome: AuditOutcome::Model,
            fallback: None,
            attempts: 1,
            errors: 0,
            request_chars: 4000,
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=20).map(|i| i * 100).collect();
        assert_eq!(nearest_rank(&v, 0.5), Some(1000));
        assert_eq!(nearest_rank(&v, 0.95), Some(1900));
        assert_eq!(nearest_rank(&[7], 0.95), Some(7));
        assert_eq!(nearest_rank(&[], 0.5), None);
    }

    #[test]
    fn lines_round_trip_and_bad_lines_are_skipped() {
        let dir = super::super::test_dir("audit-rw");
        let log = AuditLog::new(Some(dir.join(AUDIT_FILE)));
        let r = record("r1", "2026-11-23T10:00:00.250+01:00", Task::Chat, 800);
        log.append(&AuditEvent::Request(r.clone())).unwrap();
        let now: Timestamp = "2026-11-23T10:05:00Z".parse().unwrap();
        log.mark("r1", true, &now.to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(1)))).unwrap();
        let mut file = std::fs::OpenOptions::new().append(true).open(dir.join(AUDIT_FILE)).unwrap();
        file.write_all(b"{\"event\":\"request\",\"id\":\n\xff\xfe garbage\n\n{\"event\":\"applied\",\"id\":\"x\",\"time\":\"yesterday\"}\n").unwrap();
        // A line longer than the limit, of bytes that would be an event if it were read.
        let mut long = serde_json::to_vec(&AuditEvent::Request(r.clone())).unwrap();
        long.splice(1..1, format!("\"pad\":\"{}\",", "x".repeat(MAX_LINE_BYTES)).into_bytes());
        long.push(b'\n');
        file.write_all(&long).unwrap();
        let read = read_log(&dir.join(AUDIT_FILE)).unwrap();
        assert_eq!((read.skipped, read.too_long, read.partial), (4, 1, None));
        let events = read.events;
        assert_eq!(events.len(), 2);
        assert_eq!(events[0], AuditEvent::Request(r));
        assert_eq!(events[1], AuditEvent::Applied { id: "r1".into(), time: "2026-11-23T11:05:00.000+01:00".into() });
        let bytes = std::fs::read(dir.join(AUDIT_FILE)).unwrap();
        assert!(bytes.starts_with(b"{\"event\":\"request\",\"id\":\"r1\""));
        assert_eq!(read_log(&dir.join("missing.jsonl")).unwrap(), LogRead::default());
    }

    #[test]
    fn the_summary_of_a_synthetic_log() {
        let mut events = Vec::new();
        // 20 chat answers on 2026-10-31 local time (UTC+1), still 2026-10-30 in UTC, with
        // latencies 100..2000 ms.
        for i in 1..=20u64 {
            let time = format!("2026-10-31T00:{i:02}:00.000+01:00");
            events.push(AuditEvent::Request(record(&format!("c{i}"), &time, Task::Chat, i * 100)));
        }
        // On 2026-11-01: a cache hit, a 429 then a cheaper tier, a budget fallback, a
        // configured-embedded request and a suggestion with two failed attempts.
        let mut hit = record("h", "2026-11-01T00:10:00+01:00", Task::Chat, 3);
        (hit.cache_hit, hit.usd, hit.input_tokens, hit.output_tokens) = (true, 0.0, 0, 0);
        let mut cheaper = record("k", "2026-11-01T09:00:00+01:00", Task::Suggestion, 4000);
        (cheaper.fallback, cheaper.attempts, cheaper.errors, cheaper.tier) =
            (Some("cheaper_tier".into()), 3, 2, Some(Tier::Cheap));
        let mut budget = record("b", "2026-11-01T10:00:00+01:00", Task::Suggestion, 0);
        (budget.outcome, budget.fallback, budget.attempts, budget.usd) =
            (AuditOutcome::Embedded, Some("budget".into()), 0, 0.0);
        let mut offline = record("o", "2026-11-01T11:00:00+01:00", Task::Digest, 0);
        (
            offline.outcome,
            offline.provider,
            offline.tier,
            offline.model,
            offline.attempts,
            offline.cache_checked,
            offline.usd,
        ) = (AuditOutcome::Embedded, ProviderKind::Embedded, None, None, 0, false, 0.0);
        events.extend([hit, cheaper, budget, offline].map(AuditEvent::Request));
        events.push(AuditEvent::Applied { id: "k".into(), time: "2026-11-01T09:01:00+01:00".into() });
        events.push(AuditEvent::Undone { id: "k".into(), time: "2026-11-01T09:02:00+01:00".into() });

        let now: Timestamp = "2026-11-02T12:00:00Z".parse().unwrap();
        let s = summarise(&events, 1, now, None);
        assert_eq!(s.requests, 24);
        assert_eq!((s.answered_by_model, s.answered_offline, s.cancelled), (22, 2, 0));
        assert_eq!((s.attempts, s.failed_attempts), (20 + 1 + 3, 2));
        assert!((s.error_rate.unwrap() - 2.0 / 24.0).abs() < 1e-12);
        assert_eq!((s.cache_hits, s.cache_lookups), (1, 23));
        assert_eq!(s.fallbacks, 2);
        assert_eq!(s.fallback_reasons, BTreeMap::from([("budget".into(), 1), ("cheaper_tier".into(), 1)]));
        assert!((s.usd - 21.0 * 0.00027).abs() < 1e-12);
        assert_eq!((s.applied, s.undone, s.skipped_lines), (1, 1, 1));
        // Local days and months, from the offset written in each line.
        let periods: Vec<(&str, usize)> = s.days.iter().map(|d| (d.period.as_str(), d.requests)).collect();
        assert_eq!(periods, vec![("2026-10-31", 20), ("2026-11-01", 4)]);
        let months: Vec<(&str, usize)> = s.months.iter().map(|d| (d.period.as_str(), d.requests)).collect();
        assert_eq!(months, vec![("2026-10", 20), ("2026-11", 4)]);
        // Chat latency: the 20 network answers (the cache hit left out).
        let chat = &s.tasks[0];
        assert_eq!((chat.task, chat.requests, chat.answered), (Task::Chat, 21, 20));
        assert_eq!((chat.latency_median_ms, chat.latency_p95_ms), (Some(1000), Some(1900)));
        let suggestion = &s.tasks[1];
        assert_eq!(
            (suggestion.task, suggestion.answered, suggestion.latency_p95_ms),
            (Task::Suggestion, 1, Some(4000))
        );
        assert_eq!(
            s.tasks.iter().map(|t| t.task).collect::<Vec<_>>(),
            vec![Task::Chat, Task::Suggestion, Task::Digest]
        );

        // --since counts back from now: one day is after every request, two days reach back to
        // 2026-10-31T12:00Z, after the chats (2026-10-30T23:xxZ).
        let recent = summarise(&events, 0, now, Some(1));
        assert_eq!((recent.requests, recent.applied), (0, 0));
        let two = summarise(&events, 0, now, Some(2));
        assert_eq!((two.requests, two.applied, two.undone), (4, 1, 1));

        let text = render_text(&s, Path::new("audit.jsonl"), true);
        assert!(
            text.contains(
                "Requests: 24: 22 answered by a model (1 of them from the cache), 2 answered offline, 0 cancelled"
            ),
            "{text}"
        );
        assert!(text.contains("Error rate: 8.3 % (2 failed of 24 calls)"), "{text}");
        assert!(text.contains("Cache hit rate: 4.3 % (1 of 23 lookups)"), "{text}");
        assert!(text.contains("Fallbacks: 2 (budget 1, cheaper_tier 1)"), "{text}");
        assert!(text.contains("chat               21       20    1000 ms    1900 ms"), "{text}");
        assert!(text.contains("2026-10-31         20     20"), "{text}");
    }

    proptest::proptest! {
        /// Any bytes in the log file: reading and summarising never panic, and every rate is a
        /// number in 0..=1 or absent.
        #[test]
        fn any_log_file_is_read_without_panicking(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000)) {
            let dir = super::super::test_dir("audit-prop");
            std::fs::write(dir.join(AUDIT_FILE), &bytes).unwrap();
            let log = read_log(&dir.join(AUDIT_FILE)).unwrap();
            let s = summarise(&log.events, log.skipped, Timestamp::UNIX_EPOCH, None);
            for rate in [s.error_rate, s.cache_hit_rate].into_iter().flatten() {
                proptest::prop_assert!((0.0..=1.0).contains(&rate));
            }
        }
    }

    #[test]
    fn an_empty_log_has_no_rates_rather_than_nan() {
        let s = summarise(&[], 0, Timestamp::UNIX_EPOCH, Some(30));
        assert_eq!((s.error_rate, s.cache_hit_rate), (None, None));
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"error_rate\":null") && !json.contains("NaN"), "{json}");
        assert!(render_text(&s, Path::new("x"), false).contains("No log yet"));
    }
}
