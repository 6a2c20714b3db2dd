//! Edits of the user's `config.toml` from the plugin window: a tier's model, an API key, the
//! budget caps. The file is the musician's: their comments, their layout and every key these
//! edits do not touch stay as they were (the edits go through `toml_edit`, which keeps them).
//!
//! The functions on text ([`set_tier`], [`set_key`], [`set_budget`]) are pure; [`save`] reads
//! the file, applies one of them and writes it back owner-only (0600) through a temporary file
//! and a rename. Two rules:
//!
//! * a file that does not load today (bad syntax, a wrong type, a value out of range) is never
//!   overwritten: the edit is refused with the loader's message, and the musician fixes it by
//!   hand (overwriting could lose what they meant);
//! * an edit whose result would not load is refused too (an openai-compatible tier without a
//!   base URL, a negative budget): nothing half-right is written.
//!
//! A key is checked ([`ApiKey::new`]) before it is written, never quoted in an error, and the
//! texts that held it are wiped ([`zeroize`]) once written.

use super::super::llm::{ModelRef, ProviderKind, Tier};
use super::budget::BudgetLimits;
use super::config::{self, ApiKey, ConfigError, Keys};
use super::Paths;
use toml_edit::{DocumentMut, Item, Table, Value};
use zeroize::Zeroize;

/// Why an edit was not made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The file as it is does not load; it is left alone.
    #[error("{0}. The file was not changed: fix it by hand first (docs/config.md)")]
    Malformed(String),
    /// The edit would give a file that does not load.
    #[error("not saved: {0}")]
    Invalid(String),
    /// The file could not be read or written.
    #[error("could not save {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The system's reason.
        message: String,
    },
}

/// Where a provider's key comes from. Never the key itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// In this environment variable (it wins over the file).
    Environment(&'static str),
    /// In the config file.
    ConfigFile,
    /// Nowhere.
    NotSet,
}

impl KeyStatus {
    /// As the settings show it.
    pub fn describe(self) -> String {
        match self {
            KeyStatus::Environment(var) => format!("set in the environment ({var})"),
            KeyStatus::ConfigFile => "set in the config file".to_string(),
            KeyStatus::NotSet => "not set".to_string(),
        }
    }
}

/// Where `provider`'s key comes from: the environment (looked up with `env`, as the loader
/// does), else the keys read from the file (`file_keys`, loaded without the environment).
pub fn key_status(provider: ProviderKind, file_keys: &Keys, env: &dyn Fn(&str) -> Option<String>) -> KeyStatus {
    let var = match provider {
        ProviderKind::Openai => Some(config::OPENAI_KEY_ENV),
        ProviderKind::Anthropic => Some(config::ANTHROPIC_KEY_ENV),
        ProviderKind::OpenaiCompatible | ProviderKind::Embedded => None,
    };
    if let Some(var) = var {
        let mut value = env(var).unwrap_or_default();
        let usable = ApiKey::new(&value).is_ok();
        value.zeroize();
        if usable {
            return KeyStatus::Environment(var);
        }
    }
    if file_keys.get(provider).is_some() {
        KeyStatus::ConfigFile
    } else {
        KeyStatus::NotSet
    }
}

/// The table name of a tier in the file.
pub fn tier_name(tier: Tier) -> &'static str {
    match tier {
        Tier::Cheap => "cheap",
        Tier::Balanced => "balanced",
        Tier::Premium => "premium",
    }
}

/// The key name of a provider under `[keys]`.
fn key_name(provider: ProviderKind) -> Option<&'static str> {
    match provider {
        ProviderKind::Openai => Some("openai"),
        ProviderKind::Anthropic => Some("anthropic"),
        ProviderKind::OpenaiCompatible => Some("openai-compatible"),
        ProviderKind::Embedded => None,
    }
}

/// Makes `tier` answer with `model`; `None` (or the embedded provider) removes the tier, so
/// the embedded engine answers it. Other keys of the tier's table stay.
pub fn set_tier(text: &str, tier: Tier, model: Option<&ModelRef>) -> Result<String, EditError> {
    let mut doc = document(text)?;
    let name = tier_name(tier);
    match model.filter(|m| m.provider != ProviderKind::Embedded) {
        None => {
            if let Some(tiers) = doc.get_mut("tiers").and_then(Item::as_table_like_mut) {
                tiers.remove(name);
            }
        }
        Some(m) => {
            let tiers = table(doc.as_table_mut(), "tiers")?;
            let t = table(tiers, name)?;
            set(t, "provider", m.provider.to_string());
            set(t, "model", m.model.trim());
            match m.base_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
                Some(url) => set(t, "base_url", url),
                None => {
                    t.remove("base_url");
                }
            }
        }
    }
    finish(doc)
}

/// Writes `provider`'s key under `[keys]` (`None` removes it). The key is checked first and
/// never quoted back.
pub fn set_key(text: &str, provider: ProviderKind, key: Option<&str>) -> Result<String, EditError> {
    let name = key_name(provider).ok_or_else(|| EditError::Invalid("the embedded engine needs no key".into()))?;
    let mut doc = document(text)?;
    match key {
        Some(key) => {
            let checked = ApiKey::new(key).map_err(|e| EditError::Invalid(e.to_string()))?;
            drop(checked);
            let keys = table(doc.as_table_mut(), "keys")?;
            set(keys, name, key.trim());
        }
        None => {
            if let Some(keys) = doc.get_mut("keys").and_then(Item::as_table_like_mut) {
                keys.remove(name);
            }
        }
    }
    finish(doc)
}

/// Writes the four budget caps under `[budget]`.
pub fn set_budget(text: &str, limits: &BudgetLimits) -> Result<String, EditError> {
    for usd in [limits.usd_per_day, limits.usd_per_month] {
        if !(usd.is_finite() && usd >= 0.0) {
            return Err(EditError::Invalid("a budget in US dollars must be a number, 0 or more".into()));
        }
    }
    let mut doc = document(text)?;
    let budget = table(doc.as_table_mut(), "budget")?;
    set(budget, "max_requests_per_day", i64::from(limits.requests_per_day));
    set(budget, "max_requests_per_month", i64::from(limits.requests_per_month));
    set(budget, "max_usd_per_day", limits.usd_per_day);
    set(budget, "max_usd_per_month", limits.usd_per_month);
    finish(doc)
}

/// Applies `edit` to the config file under `paths` and writes the result owner-only. A missing
/// file starts from the commented [`config::TEMPLATE`]; a file that does not load is refused.
pub fn save(paths: &Paths, edit: impl FnOnce(&str) -> Result<String, EditError>) -> Result<(), EditError> {
    let path = paths.config_file();
    let io = |e: std::io::Error| EditError::Io { path: path.display().to_string(), message: e.to_string() };
    let mut text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => config::TEMPLATE.to_string(),
        Err(e) => return Err(io(e)),
    };
    let loaded = config::parse(&text, &path.display().to_string(), &|_| None);
    let result = match loaded.error {
        Some(error) => Err(EditError::Malformed(error_text(&error, true))),
        None => edit(&text).and_then(|mut new| {
            let written = super::write_private(&path, new.as_bytes()).map_err(io);
            new.zeroize();
            written
        }),
    };
    text.zeroize();
    result
}

/// The loader's message; `whole` keeps the file and line, else only what is wrong.
fn error_text(error: &ConfigError, whole: bool) -> String {
    match error {
        ConfigError::Invalid { path, line, message } if whole => format!("{path}, line {line}: {message}"),
        ConfigError::Invalid { message, .. } => message.clone(),
        ConfigError::Unreadable { path, message } => format!("cannot read {path}: {message}"),
    }
}

fn document(text: &str) -> Result<DocumentMut, EditError> {
    text.parse::<DocumentMut>().map_err(|e| {
        let line = e
            .span()
            .map_or(1, |s| text.as_bytes()[..s.start.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1);
        // Never toml's own text verbatim: it can quote a value of the file (a key).
        EditError::Malformed(format!("config.toml, line {line}: {}", config::safe_message(e.message())))
    })
}

/// The result as text, if it loads.
fn finish(doc: DocumentMut) -> Result<String, EditError> {
    let mut text = doc.to_string();
    match config::parse(&text, "config.toml", &|_| None).error {
        None => Ok(text),
        Some(error) => {
            text.zeroize();
            Err(EditError::Invalid(error_text(&error, false)))
        }
    }
}

/// The table `name` under `parent`, created (as a `[section]`) when missing. A key of that name
/// that is not a table (an inline table, a value) is the musician's to change by hand.
fn table<'a>(parent: &'a mut Table, name: &str) -> Result<&'a mut Table, EditError> {
    let item = parent.entry(name).or_insert_with(|| {
        let mut t = Table::new();
        // `[tiers.cheap]` without an empty `[tiers]` above it.
        t.set_implicit(true);
        Item::Table(t)
    });
    item.as_table_mut()
        .ok_or_else(|| EditError::Invalid(format!("`{name}` is not written as a [section]; edit it by hand")))
}

/// Sets `key` to `value`, keeping the old value's surroundings (a comment after it).
fn set(table: &mut Table, key: &str, value: impl Into<Value>) {
    let mut value = value.into();
    if let Some(old) = table.get(key).and_then(Item::as_value) {
        *value.decor_mut() = old.decor().clone();
    }
    table.insert(key, Item::Value(value));
}

#[cfg(test)]
mod tests {
    use super::super::super::llm::Task;
    use super::super::config::{parse, Config, TEMPLATE};
    use super::*;

    fn load(text: &str) -> Config {
        let loaded = parse(text, "config.toml", &|_| None);
        assert!(loaded.error.is_none(), "{:?}\n{text}", loaded.error);
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        loaded.config
    }

    fn openai(model: &str) -> ModelRef {
        ModelRef { provider: ProviderKind::Openai, model: model.into(), base_url: None }
    }

    #[test]
    fn a_tier_is_set_changed_and_removed_and_the_comments_stay() {
        let text = set_tier(TEMPLATE, Tier::Balanced, Some(&openai("gpt-4o-mini"))).unwrap();
        for line in TEMPLATE.lines().filter(|l| l.starts_with('#')) {
            assert!(text.contains(line), "comment lost: {line}");
        }
        let c = load(&text);
        assert_eq!(c.model_for(Tier::Balanced), Some(&openai("gpt-4o-mini")));
        assert_eq!(c.model_for(c.tier_for(Task::Chat)).unwrap().model, "gpt-4o-mini");
        assert_eq!(Config { tiers: Default::default(), ..c.clone() }, Config::default(), "nothing else changed");

        let local = ModelRef {
            provider: ProviderKind::OpenaiCompatible,
            model: "qwen2.5-7b-instruct".into(),
            base_url: Some("http://127.0.0.1:8080/v1".into()),
        };
        let text = set_tier(&text, Tier::Balanced, Some(&local)).unwrap();
        assert_eq!(load(&text).model_for(Tier::Balanced), Some(&local));
        assert_eq!(text.lines().filter(|l| *l == "[tiers.balanced]").count(), 1, "{text}");
        assert!(!text.contains("\n[tiers]\n"), "no empty [tiers] header: {text}");
        // Back to a cloud model: the base URL goes.
        let text = set_tier(&text, Tier::Balanced, Some(&openai("gpt-4o"))).unwrap();
        assert_eq!(load(&text).model_for(Tier::Balanced), Some(&openai("gpt-4o")));
        assert!(!text.contains("\nbase_url = "), "{text}");

        let text = set_tier(&text, Tier::Balanced, None).unwrap();
        assert!(load(&text).is_offline());
        assert!(text.contains("# AudioCollab Assistant: language-model settings."));
        let embedded = ModelRef { provider: ProviderKind::Embedded, model: String::new(), base_url: None };
        assert!(load(&set_tier(&text, Tier::Premium, Some(&embedded)).unwrap()).is_offline());
    }

    #[test]
    fn unknown_keys_and_trailing_comments_of_the_user_stay() {
        let text = "# mine\n[budget]\nmax_usd_per_day = 2.0 # my cap\n\n[tiers.cheap]\nprovider = \"openai\"\nmodel = \"a\"\ntemperature = 0.3 # kept\n";
        let edited = set_tier(text, Tier::Cheap, Some(&openai("b"))).unwrap();
        assert!(edited.contains("temperature = 0.3 # kept"), "{edited}");
        assert!(edited.contains("model = \"b\""), "{edited}");
        let limits =
            BudgetLimits { requests_per_day: 20, requests_per_month: 300, usd_per_day: 0.25, usd_per_month: 3.5 };
        let edited = set_budget(&edited, &limits).unwrap();
        assert!(edited.starts_with("# mine\n[budget]\nmax_usd_per_day = 0.25 # my cap\n"), "{edited}");
        let c = parse(&edited, "config.toml", &|_| None).config;
        assert_eq!(c.budget, limits);
        assert_eq!(c.model_for(Tier::Cheap).unwrap().model, "b");
    }

    #[test]
    fn a_key_is_written_under_keys_checked_and_removed() {
        let text = set_key(TEMPLATE, ProviderKind::Openai, Some("  sk-test-0123456789\n")).unwrap();
        assert!(text.contains("openai = \"sk-test-0123456789\""), "{text}");
        let c = load(&text);
        assert_eq!(c.keys.get(ProviderKind::Openai), Some(&ApiKey::new("sk-test-0123456789").unwrap()));
        assert_eq!(key_status(ProviderKind::Openai, &c.keys, &|_| None), KeyStatus::ConfigFile);
        assert_eq!(key_status(ProviderKind::Anthropic, &c.keys, &|_| None), KeyStatus::NotSet);
        let env = |v: &str| (v == config::OPENAI_KEY_ENV).then(|| "sk-env".to_string());
        assert_eq!(key_status(ProviderKind::Openai, &c.keys, &env), KeyStatus::Environment("OPENAI_API_KEY"));
        assert_eq!(KeyStatus::Environment("OPENAI_API_KEY").describe(), "set in the environment (OPENAI_API_KEY)");

        let err = set_key(&text, ProviderKind::Anthropic, Some("sk-ant secret-with-space")).unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
        let removed = set_key(&text, ProviderKind::Openai, None).unwrap();
        assert_eq!(load(&removed).keys.get(ProviderKind::Openai), None);
        let compat = set_key(TEMPLATE, ProviderKind::OpenaiCompatible, Some("local-key")).unwrap();
        assert!(load(&compat).keys.openai_compatible.is_some());
    }

    #[test]
    fn the_budget_is_written_and_a_bad_one_refused() {
        let limits = BudgetLimits { requests_per_day: 7, requests_per_month: 70, usd_per_day: 0.1, usd_per_month: 1.0 };
        let text = set_budget(TEMPLATE, &limits).unwrap();
        assert_eq!(load(&text).budget, limits);
        assert!(text.contains("# Caps per local day and calendar month"));
        assert_eq!(text.matches("max_usd_per_day").count(), 1, "replaced in place, not added");
        let bad = BudgetLimits { usd_per_day: f64::NAN, ..limits };
        assert!(matches!(set_budget(TEMPLATE, &bad), Err(EditError::Invalid(_))));
        let bad = BudgetLimits { usd_per_month: -1.0, ..limits };
        assert!(matches!(set_budget(TEMPLATE, &bad), Err(EditError::Invalid(_))));
    }

    #[test]
    fn an_edit_that_would_not_load_is_refused() {
        let no_url = ModelRef { provider: ProviderKind::OpenaiCompatible, model: "m".into(), base_url: None };
        let err = set_tier(TEMPLATE, Tier::Cheap, Some(&no_url)).unwrap_err();
        assert!(err.to_string().contains("base_url"), "{err}");
        let err = set_tier(TEMPLATE, Tier::Cheap, Some(&openai("  "))).unwrap_err();
        assert!(err.to_string().contains("model` is missing"), "{err}");
        let inline = "tiers = { cheap = { provider = \"openai\", model = \"a\" } }\n";
        assert!(matches!(set_tier(inline, Tier::Cheap, Some(&openai("b"))), Err(EditError::Invalid(_))));
    }

    #[test]
    fn a_malformed_file_is_never_overwritten() {
        let dir = super::super::test_dir("config-edit-malformed");
        let paths = Paths::under(&dir);
        std::fs::create_dir_all(&paths.config).unwrap();
        for broken in ["[budget\nmax_usd_per_day = 1\n", "[network]\nattempts = 0\n"] {
            std::fs::write(paths.config_file(), broken).unwrap();
            let err = save(&paths, |t| set_key(t, ProviderKind::Openai, Some("sk-x"))).unwrap_err();
            assert!(matches!(err, EditError::Malformed(_)), "{err:?}");
            assert!(err.to_string().contains("line"), "{err}");
            assert_eq!(std::fs::read_to_string(paths.config_file()).unwrap(), broken);
        }
        assert!(matches!(document("[a\n"), Err(EditError::Malformed(_))));
    }

    #[test]
    fn save_starts_from_the_template_and_writes_owner_only() {
        let dir = super::super::test_dir("config-edit-save");
        let paths = Paths::under(&dir);
        save(&paths, |t| set_key(t, ProviderKind::Anthropic, Some("sk-ant-0123"))).unwrap();
        let text = std::fs::read_to_string(paths.config_file()).unwrap();
        assert!(text.starts_with("# AudioCollab Assistant: language-model settings."));
        assert_eq!(load(&text).keys.get(ProviderKind::Anthropic), Some(&ApiKey::new("sk-ant-0123").unwrap()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(paths.config_file(), std::fs::Permissions::from_mode(0o644)).unwrap();
            save(&paths, |t| set_tier(t, Tier::Cheap, Some(&openai("gpt-4o-mini")))).unwrap();
            let mode = std::fs::metadata(paths.config_file()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let c = load(&std::fs::read_to_string(paths.config_file()).unwrap());
        assert_eq!(c.model_for(Tier::Cheap), Some(&openai("gpt-4o-mini")));
        assert!(c.keys.anthropic.is_some(), "the key written before is still there");
        assert!(!dir.join("config/config.toml.tmp").exists());
    }
}
