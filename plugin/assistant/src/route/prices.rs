//! What a request is estimated to cost: the price table (`assets/prices.json`, US dollars per
//! million tokens, ESTIMATES read from the providers' public pages on the date the file says)
//! and the token estimate made before a call.
//!
//! The musician can replace the shipped table by putting an edited copy named `prices.json` in
//! the config folder. A model the table does not list is priced conservatively, at the highest
//! price listed for its provider, so a budget is never overrun because a name was new. Models
//! on an OpenAI-compatible server (usually local) cost nothing unless the table lists them.

use super::super::llm::{ModelRef, ProviderKind, Request, Usage};
use serde::Deserialize;
use std::path::Path;

/// The name of the override file in the config folder.
pub const PRICES_FILE: &str = "prices.json";

/// The shipped table.
const SHIPPED: &str = include_str!("../../../../assets/prices.json");

/// Characters per token for the estimate before a call: about 4 for English text in the BPE
/// tokenizers of the OpenAI and Anthropic models (OpenAI's "What are tokens" help article gives
/// "1 token ≈ 4 characters in English"). French and JSON run a little denser; the output side of
/// the estimate (all of `max_tokens`) is the larger, deliberately pessimistic, term.
pub const CHARS_PER_TOKEN: usize = 4;

/// Prices of one model, US dollars per million tokens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Price {
    /// Per million prompt tokens.
    pub input_usd_per_mtok: f64,
    /// Per million generated tokens.
    pub output_usd_per_mtok: f64,
    /// False when the model is not in the table and the price is the provider's highest.
    pub listed: bool,
}

impl Price {
    /// The cost of `usage` at this price, in US dollars.
    pub fn cost_usd(&self, usage: Usage) -> f64 {
        (f64::from(usage.input_tokens) * self.input_usd_per_mtok
            + f64::from(usage.output_tokens) * self.output_usd_per_mtok)
            / 1e6
    }
}

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct PriceRow {
    /// The provider.
    pub provider: ProviderKind,
    /// The model name, without a date suffix (`gpt-4o-mini` also prices
    /// `gpt-4o-mini-2024-07-18`).
    pub model: String,
    /// US dollars per million prompt tokens.
    pub input: f64,
    /// US dollars per million generated tokens.
    pub output: f64,
}

#[derive(Deserialize)]
struct PriceFile {
    read_on: String,
    models: Vec<PriceRow>,
}

/// Why a price table was not used.
#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    /// Unreadable or not the expected JSON.
    #[error("price table {path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// The price table.
#[derive(Clone, Debug, PartialEq)]
pub struct Prices {
    rows: Vec<PriceRow>,
    read_on: String,
}

impl Prices {
    /// The table shipped in `assets/prices.json`.
    pub fn shipped() -> Prices {
        // INVARIANT: the shipped file is checked by `the_shipped_table_parses_and_is_sane`.
        Self::parse(SHIPPED).unwrap_or_else(|_| Prices { rows: Vec::new(), read_on: String::new() })
    }

    /// The override in `config_dir/prices.json` if there is one and it is valid, else the
    /// shipped table; an invalid override is reported (and not used).
    pub fn load(config_dir: &Path) -> (Prices, Option<PriceError>) {
        let path = config_dir.join(PRICES_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Self::shipped(), None),
            Err(e) => return (Self::shipped(), Some(invalid(&path, e.to_string()))),
        };
        match Self::parse(&text) {
            Ok(prices) => (prices, None),
            Err(message) => (Self::shipped(), Some(invalid(&path, message))),
        }
    }

    /// Parses a table; every price must be finite and ≥ 0.
    pub fn parse(text: &str) -> Result<Prices, String> {
        let file: PriceFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if let Some(bad) = file.models.iter().find(|r| !(r.input.is_finite() && r.output.is_finite())) {
            return Err(format!("{}: prices must be finite numbers", bad.model));
        }
        if let Some(bad) = file.models.iter().find(|r| r.input < 0.0 || r.output < 0.0) {
            return Err(format!("{}: prices cannot be negative", bad.model));
        }
        Ok(Prices { rows: file.models, read_on: file.read_on })
    }

    /// The date the prices were read (`YYYY-MM-DD`), as the table says.
    pub fn read_on(&self) -> &str {
        &self.read_on
    }

    /// The rows.
    pub fn rows(&self) -> &[PriceRow] {
        &self.rows
    }

    /// The price of `model`: its row (the longest listed name that is the model's name or the
    /// model's name less a date or version suffix of digits and dashes), else the provider's
    /// highest prices (`listed: false`), else free (OpenAI-compatible servers, the embedded
    /// engine).
    pub fn price(&self, model: &ModelRef) -> Price {
        let listed = self
            .rows
            .iter()
            .filter(|r| r.provider == model.provider && names_match(&r.model, &model.model))
            .max_by_key(|r| r.model.len());
        if let Some(row) = listed {
            return Price { input_usd_per_mtok: row.input, output_usd_per_mtok: row.output, listed: true };
        }
        let same_provider = self.rows.iter().filter(|r| r.provider == model.provider);
        match model.provider {
            ProviderKind::Openai | ProviderKind::Anthropic => Price {
                input_usd_per_mtok: same_provider.clone().map(|r| r.input).fold(0.0, f64::max),
                output_usd_per_mtok: same_provider.map(|r| r.output).fold(0.0, f64::max),
                listed: false,
            },
            ProviderKind::OpenaiCompatible | ProviderKind::Embedded => {
                Price { input_usd_per_mtok: 0.0, output_usd_per_mtok: 0.0, listed: true }
            }
        }
    }

    /// The estimate before a call: the prompt's tokens from its length and all of
    /// `max_tokens` generated, with its cost at `model`'s price.
    pub fn estimate(&self, model: &ModelRef, request: &Request) -> Estimate {
        let usage = estimate_usage(request);
        Estimate { usage, usd: self.price(model).cost_usd(usage) }
    }
}

fn invalid(path: &Path, message: String) -> PriceError {
    PriceError::Invalid { path: path.display().to_string(), message }
}

/// Whether a table name prices a model name: equal, or the model name is the table name followed
/// by `-` and a suffix made of digits and dashes (`-2024-07-18`, `-20250929`) or `-latest`.
fn names_match(listed: &str, model: &str) -> bool {
    if listed.eq_ignore_ascii_case(model) {
        return true;
    }
    let (model, listed) = (model.to_ascii_lowercase(), listed.to_ascii_lowercase());
    match model.strip_prefix(&listed).and_then(|rest| rest.strip_prefix('-')) {
        Some("latest") => true,
        Some(rest) => !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit() || b == b'-'),
        None => false,
    }
}

/// Tokens and cost estimated before a call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// Prompt tokens (from the length) and generated tokens (`max_tokens`).
    pub usage: Usage,
    /// US dollars.
    pub usd: f64,
}

/// Prompt tokens ≈ characters / [`CHARS_PER_TOKEN`] (rounded up) over the system prompt, the
/// messages and the schema; generated tokens = `max_tokens`.
pub fn estimate_usage(request: &Request) -> Usage {
    let schema_chars = request.schema.as_ref().map_or(0, |s| s.to_string().chars().count());
    let chars = request.system.chars().count()
        + request.messages.iter().map(|m| m.content.chars().count()).sum::<usize>()
        + schema_chars;
    Usage {
        input_tokens: u32::try_from(chars.div_ceil(CHARS_PER_TOKEN)).unwrap_or(u32::MAX),
        output_tokens: request.max_tokens,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{Message, Role, Task};

    fn model(provider: ProviderKind, name: &str) -> ModelRef {
        ModelRef { provider, model: name.into(), base_url: None }
    }

    #[test]
    fn the_shipped_table_parses_and_is_sane() {
        let prices = Prices::parse(SHIPPED).expect("assets/prices.json");
        assert!(prices.rows().len() >= 10);
        assert_eq!(prices.read_on().len(), 10, "YYYY-MM-DD");
        for row in prices.rows() {
            assert!(row.input > 0.0 && row.output >= row.input, "{row:?}: output costs more than input");
            assert!(row.output <= 200.0, "{row:?}: per million tokens, not per thousand");
        }
    }

    #[test]
    fn dated_model_names_find_their_row_and_longer_names_win() {
        let prices = Prices::shipped();
        let mini = prices.price(&model(ProviderKind::Openai, "gpt-4o-mini-2024-07-18"));
        assert_eq!((mini.input_usd_per_mtok, mini.output_usd_per_mtok, mini.listed), (0.15, 0.60, true));
        let four_o = prices.price(&model(ProviderKind::Openai, "gpt-4o"));
        assert_eq!((four_o.input_usd_per_mtok, four_o.output_usd_per_mtok), (2.50, 10.0));
        let sonnet = prices.price(&model(ProviderKind::Anthropic, "claude-sonnet-4-5-20250929"));
        assert_eq!((sonnet.input_usd_per_mtok, sonnet.output_usd_per_mtok), (3.0, 15.0));
        let haiku = prices.price(&model(ProviderKind::Anthropic, "claude-3-5-haiku-latest"));
        assert_eq!((haiku.input_usd_per_mtok, haiku.output_usd_per_mtok), (0.80, 4.0));
    }

    #[test]
    fn an_unlisted_model_costs_its_providers_highest_price_and_local_models_are_free() {
        let prices = Prices::shipped();
        let max_out =
            prices.rows().iter().filter(|r| r.provider == ProviderKind::Openai).map(|r| r.output).fold(0.0, f64::max);
        // "o3-pro" is not "o3" with a date: it must not get o3's price.
        let unknown = prices.price(&model(ProviderKind::Openai, "o3-pro"));
        assert!(!unknown.listed);
        assert_eq!(unknown.output_usd_per_mtok, max_out);
        let local = prices.price(&model(ProviderKind::OpenaiCompatible, "qwen2.5-0.5b-instruct"));
        assert_eq!((local.input_usd_per_mtok, local.output_usd_per_mtok, local.listed), (0.0, 0.0, true));
    }

    #[test]
    fn the_estimate_is_a_quarter_of_the_characters_plus_max_tokens() {
        let request = Request {
            task: Task::Chat,
            system: "s".repeat(400),
            messages: vec![Message { role: Role::User, content: "é".repeat(401) }],
            schema: None,
            max_tokens: 1000,
            temperature: 0.0,
        };
        // 801 characters (not bytes: "é" is two bytes) → 201 tokens, rounded up.
        assert_eq!(estimate_usage(&request), Usage { input_tokens: 201, output_tokens: 1000 });
        let e = Prices::shipped().estimate(&model(ProviderKind::Openai, "gpt-4o-mini"), &request);
        let expected = (201.0 * 0.15 + 1000.0 * 0.60) / 1e6;
        assert!((e.usd - expected).abs() < 1e-12, "{} vs {expected}", e.usd);
    }

    #[test]
    fn a_bad_override_is_reported_and_the_shipped_table_used() {
        let dir = super::super::test_dir("prices");
        let (prices, error) = Prices::load(&dir);
        assert!(prices == Prices::shipped() && error.is_none(), "no override: the shipped table");
        std::fs::write(
            dir.join(PRICES_FILE),
            r#"{"read_on":"2026-01-01","models":[{"provider":"openai","model":"x","input":-1,"output":1}]}"#,
        )
        .unwrap();
        let (prices, error) = Prices::load(&dir);
        assert_eq!(prices, Prices::shipped());
        assert!(error.unwrap().to_string().contains("cannot be negative"));
        std::fs::write(
            dir.join(PRICES_FILE),
            r#"{"read_on":"2026-01-01","models":[{"provider":"openai","model":"x","input":1,"output":2}]}"#,
        )
        .unwrap();
        let (prices, error) = Prices::load(&dir);
        assert!(error.is_none());
        assert_eq!(prices.price(&model(ProviderKind::Openai, "x")).output_usd_per_mtok, 2.0);
    }
}
