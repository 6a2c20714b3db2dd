//! The musician's configuration: which tier answers each task, which model each tier is, API
//! keys, budgets, rate limits, the response cache and the network deadline. A TOML file,
//! `config.toml` in the user config folder, documented key by key in `docs/config.md`.
//!
//! * No file: the defaults. Every tier is the embedded engine; nothing leaves the machine.
//! * A malformed file (bad syntax, a wrong type, a value out of range): a [`ConfigError`] naming
//!   the line, and the defaults. A broken file never sends requests nobody configured.
//! * An unknown key: a warning naming the line; the rest of the file applies.
//! * Keys: from the file or from `OPENAI_API_KEY` / `ANTHROPIC_API_KEY`; the environment wins.
//!   An [`ApiKey`] never prints (its `Debug` is redacted), and is never written by this code.
//!   The keys of a file its group or other users may read are refused (with a warning saying
//!   `chmod 600`): the rest of the file applies, and the environment's keys still do.
//! * Messages never quote a value of the file: a key pasted in the wrong place would be
//!   printed on stderr and in the plugin window. They name the line and the key, and say what
//!   kind of value is wrong ([`safe_message`]).

use super::super::llm::{ModelRef, ProviderKind, Task, Tier};
use super::budget::BudgetLimits;
use super::cache::CacheSettings;
use super::ratelimit::{BucketConfig, RateLimits};
use super::Paths;
use crate::provider::keys;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;
use std::time::Duration;
use zeroize::Zeroizing;

/// The config file's name in the config folder.
pub const CONFIG_FILE: &str = "config.toml";
/// The environment variable holding an OpenAI key (wins over the file).
pub const OPENAI_KEY_ENV: &str = "OPENAI_API_KEY";
/// The environment variable holding an Anthropic key (wins over the file).
pub const ANTHROPIC_KEY_ENV: &str = "ANTHROPIC_API_KEY";

/// The commented file [`init`] writes. It states every default, and parses to
/// [`Config::default`] (tested). `docs/config.md` shows the same text.
pub const TEMPLATE: &str = r#"# AudioCollab Assistant: language-model settings.
# Every key is optional; a key left out keeps the default shown here.
# The reference for every key is docs/config.md.

# Which tier answers each task: "cheap", "balanced" or "premium".
[tasks]
chat = "balanced"
suggestion = "balanced"
auto_mix = "premium"
description = "cheap"
digest = "cheap"
coaching = "balanced"
songwriting = "premium"

# Which model each tier is. A tier not set here is the embedded engine: offline,
# no key, nothing sent. With no tier set (the default), nothing leaves the machine.
# provider = "openai", "anthropic", "openai-compatible" or "embedded".
#
# [tiers.cheap]
# provider = "openai"
# model = "gpt-4o-mini"
#
# [tiers.balanced]
# provider = "anthropic"
# model = "claude-sonnet-4-5"
#
# [tiers.premium]
# provider = "openai-compatible"
# model = "qwen2.5-7b-instruct"
# base_url = "http://127.0.0.1:8080/v1"

# API keys. OPENAI_API_KEY and ANTHROPIC_API_KEY in the environment win over
# these. This file is created readable by you only; keep it that way.
[keys]
# openai = "sk-..."
# anthropic = "sk-ant-..."
# openai-compatible = "..."

# Caps per local day and calendar month, checked before every request. The
# costs are estimates in US dollars from the price table. When a cap is
# reached, the embedded engine answers until the day or month is over.
[budget]
max_requests_per_day = 100
max_requests_per_month = 1000
max_usd_per_day = 0.5
max_usd_per_month = 5.0

# Requests per minute on average, and how many may go at once, per provider.
# A request waits at most max_wait_seconds for its turn.
[rate_limit]
max_wait_seconds = 5.0

[rate_limit.openai]
requests_per_minute = 60.0
burst = 5

[rate_limit.anthropic]
requests_per_minute = 50.0
burst = 5

[rate_limit.openai-compatible]
requests_per_minute = 120.0
burst = 10

# Answers to the same request, kept in memory and on disk.
[cache]
enabled = true
ttl_hours = 168.0
memory_entries = 256
disk = true
disk_entries = 2000

# Retries and the overall deadline of one request (retries included). Past the
# deadline, the embedded engine answers.
[network]
deadline_seconds = 45.0
attempts = 3
max_retry_after_seconds = 10.0
"#;

pub use crate::provider::ApiKey;

/// The keys known, from the file and the environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keys {
    /// OpenAI.
    pub openai: Option<ApiKey>,
    /// Anthropic.
    pub anthropic: Option<ApiKey>,
    /// For an OpenAI-compatible server that wants one (most local servers do not).
    pub openai_compatible: Option<ApiKey>,
}

impl Keys {
    /// The key for a provider.
    pub fn get(&self, provider: ProviderKind) -> Option<&ApiKey> {
        match provider {
            ProviderKind::Openai => self.openai.as_ref(),
            ProviderKind::Anthropic => self.anthropic.as_ref(),
            ProviderKind::OpenaiCompatible => self.openai_compatible.as_ref(),
            ProviderKind::Embedded => None,
        }
    }
}

/// Largest config file read, bytes: the whole template is 3 KB, so anything near this is not
/// a config file (and is not read into memory whole).
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Retries and deadline (the `[network]` table of the config).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Policy {
    /// From the request to the answer, retries and waits included.
    pub deadline: Duration,
    /// Most calls to one tier's model for server and connection errors (first call included).
    pub attempts: u32,
    /// The longest Retry-After worth waiting for; a longer one goes to the cheaper tier at once.
    pub max_retry_after: Duration,
}

impl Default for Policy {
    /// 45 s: a long streamed answer from a large model takes 20–30 s. 3 calls. 10 s of
    /// Retry-After.
    fn default() -> Self {
        Self { deadline: Duration::from_secs(45), attempts: 3, max_retry_after: Duration::from_secs(10) }
    }
}

/// The configuration in force.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The tier of every task.
    pub tasks: BTreeMap<Task, Tier>,
    /// The model of each configured tier; a tier missing here is the embedded engine.
    pub tiers: BTreeMap<Tier, ModelRef>,
    /// API keys.
    pub keys: Keys,
    /// Budget caps.
    pub budget: BudgetLimits,
    /// Rate limits.
    pub rate_limits: RateLimits,
    /// The response cache.
    pub cache: CacheSettings,
    /// Retries and deadline.
    pub policy: Policy,
}

impl Default for Config {
    /// Everything embedded: no tier has a model.
    fn default() -> Self {
        let tasks = Task::ALL.into_iter().map(|t| (t, default_tier(t))).collect();
        Self {
            tasks,
            tiers: BTreeMap::new(),
            keys: Keys::default(),
            budget: BudgetLimits::default(),
            rate_limits: RateLimits::default(),
            cache: CacheSettings::default(),
            policy: Policy::default(),
        }
    }
}

/// The default tier of a task: creative and whole-mix work gets the best model, short texts the
/// cheapest, conversation and suggestions the middle.
pub fn default_tier(task: Task) -> Tier {
    match task {
        Task::AutoMix | Task::Songwriting => Tier::Premium,
        Task::Description | Task::Digest => Tier::Cheap,
        Task::Chat | Task::Suggestion | Task::Coaching => Tier::Balanced,
    }
}

impl Config {
    /// The tier that answers `task`.
    pub fn tier_for(&self, task: Task) -> Tier {
        self.tasks.get(&task).copied().unwrap_or_else(|| default_tier(task))
    }

    /// The model of `tier`; `None` means the embedded engine.
    pub fn model_for(&self, tier: Tier) -> Option<&ModelRef> {
        self.tiers.get(&tier)
    }

    /// Whether no tier has a model: nothing will be sent.
    pub fn is_offline(&self) -> bool {
        self.tiers.is_empty()
    }

    /// Makes every tier `model` (the command line's `--provider/--model/--base-url`); the
    /// embedded provider makes everything offline.
    pub fn use_model_everywhere(&mut self, model: ModelRef) {
        self.tiers.clear();
        if model.provider != ProviderKind::Embedded {
            for tier in [Tier::Cheap, Tier::Balanced, Tier::Premium] {
                self.tiers.insert(tier, model.clone());
            }
        }
    }
}

/// Why the file was not used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read {path}: {message}. Using the defaults: the embedded engine answers everything")]
    Unreadable {
        /// The file.
        path: String,
        /// The system's reason.
        message: String,
    },
    /// Bad syntax, a wrong type or a value out of range.
    #[error("{path}, line {line}: {message}. Using the defaults: the embedded engine answers everything")]
    Invalid {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// What is wrong (English; TOML and serde messages are English).
        message: String,
    },
}

impl ConfigError {
    /// The same in French.
    pub fn message_fr(&self) -> String {
        match self {
            ConfigError::Unreadable { path, message } => {
                format!("impossible de lire {path} : {message}. Réglages par défaut : le moteur intégré répond à tout")
            }
            ConfigError::Invalid { path, line, message } => {
                format!("{path}, ligne {line} : {message}. Réglages par défaut : le moteur intégré répond à tout")
            }
        }
    }
}

/// What loading gave: the configuration to use, and what to tell the musician.
#[derive(Debug)]
pub struct Loaded {
    /// The file's configuration, or the defaults when it was missing or invalid.
    pub config: Config,
    /// Unknown keys and similar, each naming its line.
    pub warnings: Vec<String>,
    /// Why the file was not used, if it was not.
    pub error: Option<ConfigError>,
    /// Why the file's API keys were not used (the file is open to other users), if they were
    /// not. The same text is the first of `warnings`.
    pub refused_keys: Option<String>,
}

impl Loaded {
    /// What the musician must see first, if anything: why the file was not used, else why its
    /// keys were not.
    pub fn notice(&self) -> Option<String> {
        self.error.as_ref().map(ToString::to_string).or_else(|| self.refused_keys.clone())
    }
}

/// Reads `paths.config_file()` with the process environment's keys.
pub fn load(paths: &Paths) -> Loaded {
    load_file(&paths.config_file(), &|name| std::env::var(name).ok())
}

/// Reads `path`, taking keys from `env` (a lookup, so tests need not touch the process
/// environment). A missing file is the defaults, without error. The keys of a file its group
/// or other users may read are not used (see [`Loaded::refused_keys`]).
pub fn load_file(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Loaded {
    let source = path.display().to_string();
    match read_file(path) {
        Ok(Some(file)) => parse_from(&file.text, &source, env, file.open_mode),
        Ok(None) => parse_from("", &source, env, None),
        Err(message) => Loaded {
            config: with_env_keys(Config::default(), env),
            warnings: Vec::new(),
            error: Some(ConfigError::Unreadable { path: source, message }),
            refused_keys: None,
        },
    }
}

/// The config file as read.
struct FileText {
    /// The text; it may hold keys, so it is wiped when dropped.
    text: Zeroizing<String>,
    /// The file's mode when its group or other users may use it.
    open_mode: Option<u32>,
}

/// The file at `path`; `Ok(None)` when there is none. The mode is read from the open file, so
/// it is the mode of the text read.
fn read_file(path: &Path) -> Result<Option<FileText>, String> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    let mut text = Zeroizing::new(String::new());
    file.take(MAX_CONFIG_BYTES + 1).read_to_string(&mut text).map_err(|e| e.to_string())?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(format!("it is larger than {} KiB, too large for a config file", MAX_CONFIG_BYTES / 1024));
    }
    Ok(Some(FileText { text, open_mode: keys::open_to_others(&meta) }))
}

/// Parses config text; `source` names it in messages.
pub fn parse(text: &str, source: &str, env: &dyn Fn(&str) -> Option<String>) -> Loaded {
    parse_from(text, source, env, None)
}

/// [`parse`] of a file whose mode is `open_mode` when its group or other users may use it:
/// then its keys are refused.
fn parse_from(text: &str, source: &str, env: &dyn Fn(&str) -> Option<String>, open_mode: Option<u32>) -> Loaded {
    match parse_strict(text, source) {
        Ok((mut config, mut warnings)) => {
            let refused_keys = match open_mode {
                Some(mode) if config.keys != Keys::default() => {
                    config.keys = Keys::default();
                    let message = format!(
                        "{source} can be read by other users (mode {mode:03o}), so the API keys in it are not used: \
                         run `chmod 600 {source}` (or set the keys in the environment)"
                    );
                    warnings.insert(0, message.clone());
                    Some(message)
                }
                _ => None,
            };
            Loaded { config: with_env_keys(config, env), warnings, error: None, refused_keys }
        }
        Err(error) => Loaded {
            config: with_env_keys(Config::default(), env),
            warnings: Vec::new(),
            error: Some(error),
            refused_keys: None,
        },
    }
}

/// Writes [`TEMPLATE`] to the config file, owner-only, unless a file is already there.
/// Returns whether it wrote.
pub fn init(paths: &Paths) -> std::io::Result<bool> {
    let path = paths.config_file();
    if path.exists() {
        return Ok(false);
    }
    super::write_private(&path, TEMPLATE.as_bytes())?;
    Ok(true)
}

fn with_env_keys(mut config: Config, env: &dyn Fn(&str) -> Option<String>) -> Config {
    if let Some(key) = env(OPENAI_KEY_ENV).as_deref().and_then(|k| ApiKey::new(k).ok()) {
        config.keys.openai = Some(key);
    }
    if let Some(key) = env(ANTHROPIC_KEY_ENV).as_deref().and_then(|k| ApiKey::new(k).ok()) {
        config.keys.anthropic = Some(key);
    }
    config
}

// The file as written. Every field optional. `Serialize` so that the keys serde understood can
// be told from those it ignored: serialised back to TOML (which leaves out `None` fields), the
// understood keys are exactly those present in both (see `walk`).

#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
struct RawConfig {
    tasks: Option<RawTasks>,
    tiers: Option<RawTiers>,
    keys: Option<RawKeys>,
    budget: Option<RawBudget>,
    rate_limit: Option<RawRateLimit>,
    cache: Option<RawCache>,
    network: Option<RawNetwork>,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
struct RawTasks {
    chat: Option<Tier>,
    suggestion: Option<Tier>,
    auto_mix: Option<Tier>,
    description: Option<Tier>,
    digest: Option<Tier>,
    coaching: Option<Tier>,
    songwriting: Option<Tier>,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
struct RawTiers {
    cheap: Option<RawTier>,
    balanced: Option<RawTier>,
    premium: Option<RawTier>,
}

#[derive(Serialize, Deserialize)]
struct RawTier {
    provider: ProviderKind,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    base_url: Option<String>,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
struct RawKeys {
    openai: Option<String>,
    anthropic: Option<String>,
    #[serde(rename = "openai-compatible")]
    openai_compatible: Option<String>,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
struct RawBudget {
    max_requests_per_day: Option<u32>,
    max_requests_per_month: Option<u32>,
    max_usd_per_day: Option<f64>,
    max_usd_per_month: Option<f64>,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
struct RawRateLimit {
    max_wait_seconds: Option<f64>,
    openai: Option<RawBucket>,
    anthropic: Option<RawBucket>,
    #[serde(rename = "openai-compatible")]
    openai_compatible: Option<RawBucket>,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
struct RawBucket {
    requests_per_minute: Option<f64>,
    burst: Option<u32>,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
struct RawCache {
    enabled: Option<bool>,
    ttl_hours: Option<f64>,
    memory_entries: Option<u32>,
    disk: Option<bool>,
    disk_entries: Option<u32>,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
struct RawNetwork {
    deadline_seconds: Option<f64>,
    attempts: Option<u32>,
    max_retry_after_seconds: Option<f64>,
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Dotted key path → line, for every key in the file.
type Lines = HashMap<String, usize>;

fn parse_strict(text: &str, source: &str) -> Result<(Config, Vec<String>), ConfigError> {
    let invalid = |line: usize, message: String| ConfigError::Invalid { path: source.to_string(), line, message };
    let toml_error = |e: toml::de::Error, document: Option<&toml::de::DeTable<'_>>| {
        let at = e.span().map(|s| s.start);
        let line = at.map_or(1, |at| line_of(text, at));
        let message = safe_message(e.message());
        match at.zip(document).and_then(|(at, document)| key_at(document, at, "")) {
            Some(key) => invalid(line, format!("`{}`: {message}", shown_key(&key))),
            None => invalid(line, message),
        }
    };
    let document = toml::de::DeTable::parse(text).map_err(|e| toml_error(e, None))?;
    let raw: RawConfig = toml::from_str(text).map_err(|e| toml_error(e, Some(document.get_ref())))?;

    let mut lines = Lines::new();
    let mut unknown = Vec::new();
    // INVARIANT: RawConfig holds only strings, numbers, booleans and tables: it serialises.
    let understood = toml::Table::try_from(&raw).unwrap_or_default();
    walk(text, document.get_ref(), &understood, "", &mut lines, &mut |path, line| {
        unknown.push((line, path.to_string()));
    });
    unknown.sort();
    let warnings = unknown
        .into_iter()
        .map(|(line, path)| format!("{source}, line {line}: unknown key `{}`, ignored", shown_key(&path)))
        .collect();

    let config =
        resolve(raw).map_err(|(path, message)| invalid(line_for(&lines, &path), format!("`{path}` {message}")))?;
    Ok((config, warnings))
}

/// The line of the key at `path`, else of the nearest table holding it (a missing key).
fn line_for(lines: &Lines, path: &str) -> usize {
    let mut key = path;
    loop {
        if let Some(&line) = lines.get(key) {
            return line;
        }
        match key.rsplit_once('.') {
            Some((table, _)) => key = table,
            None => return 1,
        }
    }
}

/// The dotted path of the innermost key whose value (or name) holds byte `offset` of the file.
fn key_at(table: &toml::de::DeTable<'_>, offset: usize, prefix: &str) -> Option<String> {
    table.iter().find_map(|(key, value)| {
        let name: &str = key.get_ref();
        let path = if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") };
        // A `[table]`'s own span is its header: its keys are looked at whatever it says.
        let inner = match value.get_ref() {
            toml::de::DeValue::Table(inner) => key_at(inner, offset, &path),
            _ => None,
        };
        inner.or_else(|| (key.span().contains(&offset) || value.span().contains(&offset)).then_some(path))
    })
}

/// A dotted key path of the file as messages show it: a part that looks like a secret (a
/// key pasted as a key name: `sk-…`, long, or with many digits) is shown as `…`.
fn shown_key<'a>(path: &'a str) -> String {
    let part = |p: &'a str| -> &'a str {
        let digits = p.chars().filter(char::is_ascii_digit).count();
        if p.chars().count() > 40 || digits >= 4 || keys::redact(p, None) != p {
            "…"
        } else {
            p
        }
    };
    path.split('.').map(part).collect::<Vec<_>>().join(".")
}

/// toml's or serde's message without any value of the file in it. serde quotes the value it
/// did not expect (`invalid type: string "sk-proj-…", expected f64`, `unknown variant
/// `sk-…`, expected one of …`), and that value can be a key written in the wrong place. What
/// is kept: the kind of error, the kind of value found (`string`, `integer`…), what was
/// expected, and quoted pieces that are names of this file's schema (a word of [`TEMPLATE`])
/// or TOML punctuation. Anything else quoted is dropped, quotes and all.
pub(crate) fn safe_message(message: &str) -> String {
    let message = message.trim().replace("'`'", "a backquote");
    // What follows the last ", expected " is serde's or toml's own text (type names, the
    // allowed words, grammar tokens); the value, if any, comes before it.
    let (head, expected) = match message.rfind(", expected ") {
        Some(at) => message.split_at(at),
        None => (message.as_str(), ""),
    };
    let head = ["invalid type: ", "invalid value: "]
        .into_iter()
        .find_map(|kind| head.strip_prefix(kind).map(|value| format!("{kind}{}", value_kind(value))))
        .unwrap_or_else(|| match head.find(['"', '`']) {
            // "missing field `model`" keeps a schema name; "unknown variant `…`" loses the value.
            Some(at) if known_quoted(&head[at..]) => head.to_string(),
            Some(at) => head[..at].trim_end().to_string(),
            None => head.to_string(),
        });
    // "expected struct RawKeys" is a table of the file.
    let expected = match expected.find("struct Raw") {
        Some(at) => format!("{}a table", &expected[..at]),
        None => expected.to_string(),
    };
    let text = keep_known_quotes(&format!("{head}{expected}"));
    // Last line of defence: anything still shaped like a provider key.
    keys::redact(&text, None)
}

/// The kind of value serde names before quoting it (`string "…"`, `integer `5``), from the
/// names serde and toml use; anything else is "a value".
fn value_kind(value: &str) -> &'static str {
    const KINDS: [&str; 17] = [
        "boolean",
        "integer",
        "floating point",
        "character",
        "string",
        "byte array",
        "unit value",
        "sequence",
        "map",
        "unit variant",
        "newtype variant",
        "offset datetime",
        "local datetime",
        "local date",
        "local time",
        "datetime",
        "enum",
    ];
    KINDS.into_iter().find(|k| value.starts_with(k)).unwrap_or("a value")
}

/// Whether `text` is exactly one quoted name of the schema (`` `model` ``).
fn known_quoted(text: &str) -> bool {
    let mut chars = text.chars();
    match (chars.next(), chars.next_back()) {
        (Some(open), Some(close)) if open == close && text.len() >= 2 => known(&text[1..text.len() - 1]),
        _ => false,
    }
}

/// A name of the schema (a word of the template: a table, key, tier or provider) or a piece of
/// TOML punctuation (`=`, `]`, `"""`).
fn known(word: &str) -> bool {
    let punctuation = !word.is_empty() && word.len() <= 3 && word.chars().all(|c| c.is_ascii_punctuation());
    let name = !word.is_empty()
        && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && TEMPLATE.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).any(|w| w == word);
    punctuation || name
}

/// `text` without the quoted pieces (`"…"`, `` `…` ``) that are not [`known`]; an unmatched
/// quote drops the rest.
fn keep_known_quotes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find(['"', '`']) {
        out.push_str(&rest[..open]);
        let quote = &rest[open..=open];
        let after = &rest[open + 1..];
        let Some(close) = after.find(quote) else {
            rest = "";
            break;
        };
        if known(&after[..close]) {
            out.push_str(&rest[open..open + close + 2]);
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    // Dropped pieces leave doubled spaces and " ," behind.
    let mut tidy = out.split_whitespace().collect::<Vec<_>>().join(" ");
    while let Some(at) = tidy.find(" ,") {
        tidy.remove(at);
    }
    tidy.trim_end_matches([' ', ',', ':']).to_string()
}

/// Records the line of every key, and reports those serde did not understand.
fn walk(
    text: &str,
    table: &toml::de::DeTable<'_>,
    understood: &toml::Table,
    prefix: &str,
    lines: &mut Lines,
    unknown: &mut dyn FnMut(&str, usize),
) {
    for (key, value) in table.iter() {
        let name: &str = key.get_ref();
        let path = if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") };
        let line = line_of(text, key.span().start);
        lines.insert(path.clone(), line);
        let Some(known) = understood.get(name) else {
            unknown(&path, line);
            continue;
        };
        if let (toml::de::DeValue::Table(inner), Some(known)) = (value.get_ref(), known.as_table()) {
            walk(text, inner, known, &path, lines, unknown);
        }
    }
}

type Invalid = (String, String);

fn check(ok: bool, path: &str, message: &str) -> Result<(), Invalid> {
    if ok {
        Ok(())
    } else {
        Err((path.to_string(), message.to_string()))
    }
}

fn seconds(value: Option<f64>, default: Duration, path: &str, max: f64) -> Result<Duration, Invalid> {
    match value {
        None => Ok(default),
        Some(s) => {
            check(s.is_finite() && (0.0..=max).contains(&s), path, &format!("must be between 0 and {max} seconds"))?;
            Ok(Duration::from_secs_f64(s))
        }
    }
}

fn resolve(raw: RawConfig) -> Result<Config, Invalid> {
    let mut config = Config::default();

    if let Some(t) = raw.tasks {
        let pairs = [
            (Task::Chat, t.chat),
            (Task::Suggestion, t.suggestion),
            (Task::AutoMix, t.auto_mix),
            (Task::Description, t.description),
            (Task::Digest, t.digest),
            (Task::Coaching, t.coaching),
            (Task::Songwriting, t.songwriting),
        ];
        for (task, tier) in pairs {
            if let Some(tier) = tier {
                config.tasks.insert(task, tier);
            }
        }
    }

    if let Some(t) = raw.tiers {
        for (tier, name, raw_tier) in [
            (Tier::Cheap, "cheap", t.cheap),
            (Tier::Balanced, "balanced", t.balanced),
            (Tier::Premium, "premium", t.premium),
        ] {
            let Some(raw_tier) = raw_tier else { continue };
            if let Some(model) = resolve_tier(raw_tier, &format!("tiers.{name}"))? {
                config.tiers.insert(tier, model);
            }
        }
    }

    if let Some(k) = raw.keys {
        for (slot, value, path) in [
            (&mut config.keys.openai, k.openai, "keys.openai"),
            (&mut config.keys.anthropic, k.anthropic, "keys.anthropic"),
            (&mut config.keys.openai_compatible, k.openai_compatible, "keys.openai-compatible"),
        ] {
            let Some(value) = value else { continue };
            // The key itself is never quoted back.
            check(
                value.trim().is_empty() || ApiKey::new(&value).is_ok(),
                path,
                "contains spaces, line breaks or characters a key cannot hold (check the copy and paste)",
            )?;
            *slot = ApiKey::new(&value).ok();
        }
    }

    if let Some(b) = raw.budget {
        let l = &mut config.budget;
        l.requests_per_day = b.max_requests_per_day.unwrap_or(l.requests_per_day);
        l.requests_per_month = b.max_requests_per_month.unwrap_or(l.requests_per_month);
        for (slot, value, path) in [
            (&mut l.usd_per_day, b.max_usd_per_day, "budget.max_usd_per_day"),
            (&mut l.usd_per_month, b.max_usd_per_month, "budget.max_usd_per_month"),
        ] {
            if let Some(usd) = value {
                check(usd.is_finite() && usd >= 0.0, path, "must be a number of US dollars, 0 or more")?;
                *slot = usd;
            }
        }
    }

    if let Some(r) = raw.rate_limit {
        let limits = &mut config.rate_limits;
        limits.max_wait = seconds(r.max_wait_seconds, limits.max_wait, "rate_limit.max_wait_seconds", 60.0)?;
        for (slot, bucket, path) in [
            (&mut limits.openai, r.openai, "rate_limit.openai"),
            (&mut limits.anthropic, r.anthropic, "rate_limit.anthropic"),
            (&mut limits.openai_compatible, r.openai_compatible, "rate_limit.openai-compatible"),
        ] {
            let Some(bucket) = bucket else { continue };
            *slot = resolve_bucket(*slot, bucket, path)?;
        }
    }

    if let Some(c) = raw.cache {
        let s = &mut config.cache;
        s.enabled = c.enabled.unwrap_or(s.enabled);
        s.disk = c.disk.unwrap_or(s.disk);
        if let Some(hours) = c.ttl_hours {
            let ten_years = 10.0 * 365.0 * 24.0;
            check(
                hours.is_finite() && (0.0..=ten_years).contains(&hours),
                "cache.ttl_hours",
                "must be between 0 and 87600 hours",
            )?;
            s.ttl = Duration::from_secs_f64(hours * 3600.0);
        }
        if let Some(n) = c.memory_entries {
            check(n <= 100_000, "cache.memory_entries", "must be at most 100000")?;
            s.memory_entries = n as usize;
        }
        if let Some(n) = c.disk_entries {
            check(n <= 1_000_000, "cache.disk_entries", "must be at most 1000000")?;
            s.disk_entries = n as usize;
        }
    }

    if let Some(n) = raw.network {
        let p = &mut config.policy;
        p.deadline = seconds(n.deadline_seconds, p.deadline, "network.deadline_seconds", 600.0)?;
        check(!p.deadline.is_zero(), "network.deadline_seconds", "must be more than 0 seconds")?;
        p.max_retry_after =
            seconds(n.max_retry_after_seconds, p.max_retry_after, "network.max_retry_after_seconds", 300.0)?;
        if let Some(attempts) = n.attempts {
            check((1..=10).contains(&attempts), "network.attempts", "must be between 1 and 10")?;
            p.attempts = attempts;
        }
    }

    Ok(config)
}

fn resolve_tier(raw: RawTier, path: &str) -> Result<Option<ModelRef>, Invalid> {
    if raw.provider == ProviderKind::Embedded {
        return Ok(None);
    }
    let model = raw.model.as_deref().map(str::trim).unwrap_or("");
    check(!model.is_empty(), &format!("{path}.model"), "is missing: name the provider's model, e.g. \"gpt-4o-mini\"")?;
    check(model.len() <= 200 && !model.chars().any(char::is_control), &format!("{path}.model"), "is not a model name")?;
    let base_url = raw.base_url.as_deref().map(str::trim).filter(|u| !u.is_empty());
    if raw.provider == ProviderKind::OpenaiCompatible && base_url.is_none() {
        return Err((
            path.to_string(),
            "needs `base_url` for an openai-compatible server, e.g. \"http://127.0.0.1:8080/v1\"".to_string(),
        ));
    }
    if let Some(url) = base_url {
        check(
            (url.starts_with("http://") || url.starts_with("https://")) && !url.chars().any(char::is_whitespace),
            &format!("{path}.base_url"),
            "must be an http:// or https:// URL",
        )?;
    }
    Ok(Some(ModelRef { provider: raw.provider, model: model.to_string(), base_url: base_url.map(String::from) }))
}

fn resolve_bucket(default: BucketConfig, raw: RawBucket, path: &str) -> Result<BucketConfig, Invalid> {
    let mut bucket = default;
    if let Some(rpm) = raw.requests_per_minute {
        check(
            rpm.is_finite() && rpm > 0.0 && rpm <= 10_000.0,
            &format!("{path}.requests_per_minute"),
            "must be more than 0 and at most 10000",
        )?;
        bucket.requests_per_minute = rpm;
    }
    if let Some(burst) = raw.burst {
        check((1..=1000).contains(&burst), &format!("{path}.burst"), "must be between 1 and 1000")?;
        bucket.burst = burst;
    }
    Ok(bucket)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse_text(text: &str) -> Loaded {
        parse(text, "config.toml", &no_env)
    }

    #[test]
    fn the_template_is_the_defaults_and_says_so_without_warnings() {
        let loaded = parse_text(TEMPLATE);
        assert!(loaded.error.is_none(), "{:?}", loaded.error);
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        assert_eq!(loaded.config, Config::default());
        assert!(loaded.config.is_offline());
    }

    #[test]
    fn the_documentation_shows_the_template() {
        let doc = include_str!("../../../../docs/config.md");
        let block = doc.split("```toml\n").nth(1).and_then(|rest| rest.split("```").next()).expect("a toml block");
        assert_eq!(block, TEMPLATE, "docs/config.md's first toml block must be config::TEMPLATE");
    }

    #[test]
    fn a_missing_file_is_the_defaults_without_error() {
        let dir = super::super::test_dir("config-missing");
        let loaded = load_file(&dir.join(CONFIG_FILE), &no_env);
        assert!(loaded.error.is_none() && loaded.warnings.is_empty());
        assert_eq!(loaded.config, Config::default());
    }

    #[test]
    fn a_full_file_maps_tasks_to_tiers_to_models() {
        let text = r#"
[tasks]
chat = "cheap"

[tiers.cheap]
provider = "openai-compatible"
model = "qwen2.5-0.5b-instruct"
base_url = "http://127.0.0.1:8080/v1"

[tiers.premium]
provider = "anthropic"
model = "claude-sonnet-4-5"

[tiers.balanced]
provider = "embedded"

[keys]
anthropic = "sk-ant-from-file"

[budget]
max_usd_per_day = 2
max_requests_per_month = 50

[rate_limit.openai-compatible]
burst = 2

[network]
deadline_seconds = 20
attempts = 2
"#;
        let loaded = parse_text(text);
        assert!(loaded.error.is_none(), "{:?}", loaded.error);
        let c = loaded.config;
        assert_eq!(c.tier_for(Task::Chat), Tier::Cheap);
        assert_eq!(c.tier_for(Task::Songwriting), Tier::Premium);
        let cheap = c.model_for(Tier::Cheap).unwrap();
        assert_eq!(cheap.provider, ProviderKind::OpenaiCompatible);
        assert_eq!(cheap.base_url.as_deref(), Some("http://127.0.0.1:8080/v1"));
        assert_eq!(c.model_for(Tier::Balanced), None, "an embedded tier has no model");
        assert_eq!(c.model_for(Tier::Premium).unwrap().model, "claude-sonnet-4-5");
        assert_eq!(c.keys.get(ProviderKind::Anthropic), Some(&ApiKey::new("sk-ant-from-file").unwrap()));
        assert_eq!((c.budget.usd_per_day, c.budget.requests_per_month), (2.0, 50));
        assert_eq!(c.budget.requests_per_day, 100, "unset keys keep their defaults");
        assert_eq!(c.rate_limits.openai_compatible, BucketConfig { requests_per_minute: 120.0, burst: 2 });
        assert_eq!((c.policy.deadline, c.policy.attempts), (Duration::from_secs(20), 2));
    }

    #[test]
    fn environment_keys_win_over_the_file_and_keys_never_print() {
        let text = "[keys]\nopenai = \"sk-file-secret\"\nanthropic = \"sk-ant-file-secret\"\n";
        let env = |name: &str| match name {
            OPENAI_KEY_ENV => Some("sk-env-secret".to_string()),
            ANTHROPIC_KEY_ENV => Some("   ".to_string()),
            _ => None,
        };
        let loaded = parse(text, "config.toml", &env);
        assert_eq!(loaded.config.keys.openai.as_ref(), Some(&ApiKey::new("sk-env-secret").unwrap()));
        assert_eq!(
            loaded.config.keys.anthropic.as_ref(),
            Some(&ApiKey::new("sk-ant-file-secret").unwrap()),
            "a blank variable is no key"
        );
        let printed = format!("{:?} {:#?}", loaded.config, loaded);
        assert!(!printed.contains("secret"), "{printed}");
        assert!(printed.contains("ApiKey(sk-…redacted)"));
        // A malformed file still takes the environment's keys, and still does not print them.
        let broken = parse("[keys\nopenai = 1", "config.toml", &env);
        assert!(broken.error.is_some());
        assert_eq!(broken.config.keys.openai.as_ref(), Some(&ApiKey::new("sk-env-secret").unwrap()));
        let bad_key = parse_text("[keys]\nopenai = \"sk-abc def-secret\"\n");
        let message = bad_key.error.unwrap().to_string();
        assert!(message.contains("line 2") && message.contains("spaces") && !message.contains("secret"), "{message}");
    }

    #[test]
    fn syntax_and_type_errors_name_the_line_and_give_the_defaults() {
        let cases = [
            ("[budget]\nmax_requests_per_day = 10\nmax_usd_per_day = \"ten\"\n", 3, "invalid type"),
            ("[tasks]\nchat = \"premum\"\n", 2, "unknown variant"),
            ("\n\n[network\nattempts = 2\n", 3, ""),
            ("[tiers.cheap]\nmodel = \"gpt-4o-mini\"\n", 1, "provider"),
            ("[network]\nattempts = 0\n", 2, "`network.attempts` must be between 1 and 10"),
            ("[budget]\nmax_usd_per_day = -1.0\n", 2, "0 or more"),
            ("[budget]\nmax_usd_per_day = nan\n", 2, "0 or more"),
            ("[cache]\nttl_hours = inf\n", 2, "ttl_hours"),
            ("[rate_limit.openai]\nrequests_per_minute = 0.0\n", 2, "more than 0"),
            ("[tiers.premium]\nprovider = \"openai-compatible\"\nmodel = \"m\"\n", 1, "needs `base_url`"),
            (
                "[tiers.premium]\nprovider = \"openai-compatible\"\nmodel = \"m\"\nbase_url = \"file:///etc\"\n",
                4,
                "http://",
            ),
            ("[tiers.premium]\nprovider = \"openai\"\n", 1, "`tiers.premium.model` is missing"),
            ("[tiers.premium]\nprovider = \"openai\"\nmodel = \" \"\n", 3, "`tiers.premium.model` is missing"),
        ];
        for (text, line, needle) in cases {
            let loaded = parse_text(text);
            let error = loaded.error.unwrap_or_else(|| panic!("no error for {text:?}"));
            let ConfigError::Invalid { line: got, ref message, .. } = error else { panic!("{error:?}") };
            assert_eq!(got, line, "{text:?}: {message}");
            assert!(error.to_string().contains(needle), "{text:?}: {error}");
            assert!(error.to_string().contains("Using the defaults"));
            assert!(error.message_fr().contains(&format!("ligne {line}")));
            assert_eq!(loaded.config, Config::default());
        }
    }

    /// Fails if `shown` holds `secret` or any 6-character piece of it.
    pub(crate) fn assert_no_piece_of(shown: &str, secret: &str) {
        let chars: Vec<char> = secret.chars().collect();
        for piece in chars.windows(6) {
            let piece: String = piece.iter().collect();
            assert!(!shown.contains(&piece), "{piece:?} of the secret is shown: {shown}");
        }
    }

    #[test]
    fn no_message_repeats_a_value_of_the_file() {
        // A provider key, and a key of no known shape (a local server's token).
        for secret in ["sk-proj-Ab12Cd34Ef56Gh78Ij90KlMn", "Zq9xW2vB7nM4kL8pR3tY6uH1sD5f"] {
            let cases = [
                // (file, line, what the message must name)
                (format!("keys = \"{secret}\"\n"), 1, "`keys`: invalid type: string, expected a table"),
                (
                    format!("[budget]\nmax_usd_per_day = \"{secret}\"\n"),
                    2,
                    "`budget.max_usd_per_day`: invalid type: string",
                ),
                (format!("[network]\nattempts = [\"{secret}\"]\n"), 2, "`network.attempts`: invalid type: sequence"),
                (format!("[cache]\nenabled = \"{secret}\"\n"), 2, "`cache.enabled`: invalid type: string"),
                (
                    format!("[tasks]\nchat = \"{secret}\"\n"),
                    2,
                    "`tasks.chat`: unknown variant, expected one of `cheap`",
                ),
                (
                    format!("[tiers.cheap]\nprovider = \"{secret}\"\nmodel = \"m\"\n"),
                    2,
                    "`tiers.cheap.provider`: unknown",
                ),
                (
                    format!("tiers = {{ cheap = \"{secret}\" }}\n"),
                    1,
                    "`tiers.cheap`: invalid type: string, expected a table",
                ),
                (format!("[keys]\nopenai = {secret}\n"), 2, "must be quoted"),
                (format!("[keys]\nopenai: \"{secret}\"\n"), 2, "expected `=`"),
                (format!("\n{secret}\n"), 2, "key with no value"),
                (format!("[keys]\nopenai = \"{secret}\n"), 2, "invalid basic string"),
                (format!("[keys]\nopenai = \"{secret} x\"\n"), 2, "`keys.openai` contains spaces"),
                (format!("[tasks]\nchat = \"a`{secret}`b\"\n"), 2, "`tasks.chat`: unknown variant"),
            ];
            for (text, line, needle) in cases {
                let error = parse_text(&text).error.unwrap_or_else(|| panic!("no error for {text:?}"));
                let ConfigError::Invalid { line: got, .. } = error else { panic!("{error:?}") };
                let (en, fr) = (error.to_string(), error.message_fr());
                assert_eq!(got, line, "{text:?}: {en}");
                assert!(en.contains(needle), "{text:?}: {en}");
                assert_no_piece_of(&en, secret);
                assert_no_piece_of(&fr, secret);
            }
            // The wrong table, and the key as a key's name: warnings that name the line.
            let text = format!("openai = \"{secret}\"\n[budget]\nopenai = \"{secret}\"\n{secret} = 1\n");
            let loaded = parse_text(&text);
            assert!(loaded.error.is_none(), "{:?}", loaded.error);
            assert_eq!(
                loaded.warnings,
                [
                    "config.toml, line 1: unknown key `openai`, ignored",
                    "config.toml, line 3: unknown key `budget.openai`, ignored",
                    "config.toml, line 4: unknown key `budget.…`, ignored",
                ]
            );
        }
    }

    #[test]
    fn safe_messages_keep_the_kind_of_error_and_the_schema_names() {
        for (raw, safe) in [
            (r#"invalid type: string "ten", expected f64"#, "invalid type: string, expected f64"),
            ("invalid value: integer `-1`, expected u32", "invalid value: integer, expected u32"),
            (
                "unknown variant `premum`, expected one of `cheap`, `balanced`, `premium`",
                "unknown variant, expected one of `cheap`, `balanced`, `premium`",
            ),
            // A value that fakes serde's own punctuation.
            ("unknown variant `x`, expected `y`, expected one of `cheap`", "unknown variant, expected one of `cheap`"),
            (r#"invalid type: string "a: b, expected c", expected f64"#, "invalid type: string, expected f64"),
            ("missing field `provider`", "missing field `provider`"),
            ("missing field `secret_thing`", "missing field"),
            (r#"invalid type: string "k", expected struct RawKeys"#, "invalid type: string, expected a table"),
            ("key with no value, expected `=`", "key with no value, expected `=`"),
            ("invalid basic string, expected `\"`", "invalid basic string, expected `\"`"),
            ("something new `Zq9xW2vB7nM4kL8pR3` here", "something new"),
            ("dangling `Zq9xW2vB7nM4kL8pR3", "dangling"),
        ] {
            assert_eq!(safe_message(raw), safe, "{raw}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_keys_of_a_file_others_can_read_are_refused_and_the_rest_applies() {
        use std::os::unix::fs::PermissionsExt;
        const SECRET: &str = "sk-proj-Ab12Cd34Ef56Gh78Ij90KlMn";
        let dir = super::super::test_dir("config-mode");
        let path = dir.join(CONFIG_FILE);
        let text = format!("[tiers.cheap]\nprovider = \"openai\"\nmodel = \"gpt-4o-mini\"\n\n[keys]\nopenai = \"{SECRET}\"\nanthropic = \"sk-ant-Zz99Yy88Xx77Ww66\"\n");
        std::fs::write(&path, &text).unwrap();
        let chmod = format!("chmod 600 {}", path.display());
        for mode in [0o644, 0o640, 0o604, 0o660, 0o700 | 0o020] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let loaded = load_file(&path, &no_env);
            assert!(loaded.error.is_none(), "{:?}", loaded.error);
            assert_eq!(loaded.config.keys, Keys::default(), "mode {mode:o}: no key from the file");
            assert_eq!(loaded.config.model_for(Tier::Cheap).unwrap().model, "gpt-4o-mini", "the rest applies");
            let refused = loaded.refused_keys.clone().expect("a refusal");
            assert!(refused.contains(&chmod) && refused.contains(&format!("mode {:03o}", mode & 0o777)), "{refused}");
            assert_eq!(loaded.warnings.first(), Some(&refused));
            assert_eq!(loaded.notice(), Some(refused.clone()));
            assert_no_piece_of(&format!("{loaded:?}"), SECRET);
            // The environment's key still works.
            let env = |name: &str| (name == OPENAI_KEY_ENV).then(|| "sk-env-Qq11Rr22Ss33".to_string());
            let with_env = load_file(&path, &env);
            assert_eq!(with_env.config.keys.openai, Some(ApiKey::new("sk-env-Qq11Rr22Ss33").unwrap()));
            assert_eq!(with_env.config.keys.anthropic, None);
        }
        for mode in [0o600, 0o400] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let loaded = load_file(&path, &no_env);
            assert_eq!(loaded.config.keys.openai, Some(ApiKey::new(SECRET).unwrap()), "mode {mode:o}");
            assert!(loaded.refused_keys.is_none() && loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        }
        // Without keys, an open file is nobody's secret: no warning.
        std::fs::write(&path, "[budget]\nmax_requests_per_day = 7\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let loaded = load_file(&path, &no_env);
        assert!(loaded.refused_keys.is_none() && loaded.warnings.is_empty());
        assert_eq!(loaded.config.budget.requests_per_day, 7);
        // A directory, and a file far too large, are not read.
        assert!(matches!(load_file(&dir, &no_env).error, Some(ConfigError::Unreadable { .. })));
        std::fs::write(&path, "#".repeat(MAX_CONFIG_BYTES as usize + 1)).unwrap();
        let big = load_file(&path, &no_env).error.expect("refused").to_string();
        assert!(big.contains("too large"), "{big}");
    }

    #[test]
    fn unknown_keys_are_warnings_with_their_line_and_the_rest_applies() {
        let text = "colour = \"blue\"\n[budget]\nmax_requests_per_dya = 5\nmax_requests_per_day = 7\n\n[tiers.cheap]\nprovider = \"openai\"\nmodel = \"gpt-4o-mini\"\ntemperature = 0.3\n[extra]\nx = 1\n";
        let loaded = parse_text(text);
        assert!(loaded.error.is_none(), "{:?}", loaded.error);
        assert_eq!(
            loaded.warnings,
            vec![
                "config.toml, line 1: unknown key `colour`, ignored",
                "config.toml, line 3: unknown key `budget.max_requests_per_dya`, ignored",
                "config.toml, line 9: unknown key `tiers.cheap.temperature`, ignored",
                "config.toml, line 10: unknown key `extra`, ignored",
            ]
        );
        assert_eq!(loaded.config.budget.requests_per_day, 7);
        assert_eq!(loaded.config.model_for(Tier::Cheap).unwrap().model, "gpt-4o-mini");
    }

    proptest::proptest! {
        /// Whatever the file holds, loading gives a configuration and never panics; if it is
        /// rejected, the configuration is the defaults.
        #[test]
        fn any_file_loads_without_panicking(text in "\\PC{0,300}") {
            let loaded = parse_text(&text);
            if loaded.error.is_some() {
                proptest::prop_assert_eq!(loaded.config, Config::default());
            }
        }

        /// Lines of keys the file knows, with values of any shape.
        #[test]
        fn known_keys_with_any_value_load_without_panicking(
            lines in proptest::collection::vec(
                "(\\[(tasks|budget|cache|network|rate_limit|tiers\\.cheap|rate_limit\\.openai)\\]|(chat|provider|model|base_url|burst|attempts|ttl_hours|max_usd_per_day|max_requests_per_day|deadline_seconds|requests_per_minute) = (-?[0-9]{1,12}(\\.[0-9]{1,3})?|\"[a-z:/.0-9-]{0,20}\"|true|nan|inf|-inf))",
                0..12,
            )
        ) {
            let _ = parse_text(&lines.join("\n"));
        }
    }

    #[test]
    fn init_writes_an_owner_only_template_once() {
        let dir = super::super::test_dir("config-init");
        let paths = Paths::under(&dir);
        assert!(init(&paths).unwrap());
        assert_eq!(std::fs::read_to_string(paths.config_file()).unwrap(), TEMPLATE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(paths.config_file()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(paths.config_file(), "[tasks]\nchat = \"cheap\"\n").unwrap();
        assert!(!init(&paths).unwrap(), "an existing file is left alone");
        assert_eq!(load(&paths).config.tier_for(Task::Chat), Tier::Cheap);
    }

    #[test]
    fn the_command_line_model_replaces_every_tier() {
        let mut c = Config::default();
        let local = ModelRef {
            provider: ProviderKind::OpenaiCompatible,
            model: "m".into(),
            base_url: Some("http://127.0.0.1:8080/v1".into()),
        };
        c.use_model_everywhere(local.clone());
        assert!(Task::ALL.iter().all(|&t| c.model_for(c.tier_for(t)) == Some(&local)));
        c.use_model_everywhere(ModelRef { provider: ProviderKind::Embedded, model: String::new(), base_url: None });
        assert!(c.is_offline());
    }
}
