//! The vocabulary shared by the language-model providers and what routes requests to them:
//! tasks, tiers, provider kinds, a provider-neutral request and completion, and the errors a
//! provider reports. No I/O here.
//!
//! A request carries only what may leave the machine: the system prompt, measurements rendered
//! as text, and the musician's own words (scrubbed of e-mail addresses and phone numbers
//! before they get here). Never audio, file paths or keys.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// What the assistant is asked to do; the router maps each task to a [`Tier`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// A conversation turn.
    Chat,
    /// Parameter suggestions from an analysis.
    Suggestion,
    /// A whole-mix pass over several tracks.
    AutoMix,
    /// A description of a track.
    Description,
    /// A digest of a session.
    Digest,
    /// Coaching: explaining, teaching.
    Coaching,
    /// Songwriting help.
    Songwriting,
}

impl Task {
    /// Every task.
    pub const ALL: [Task; 7] = [
        Task::Chat,
        Task::Suggestion,
        Task::AutoMix,
        Task::Description,
        Task::Digest,
        Task::Coaching,
        Task::Songwriting,
    ];

    /// The snake_case name used in the config file and the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Task::Chat => "chat",
            Task::Suggestion => "suggestion",
            Task::AutoMix => "auto_mix",
            Task::Description => "description",
            Task::Digest => "digest",
            Task::Coaching => "coaching",
            Task::Songwriting => "songwriting",
        }
    }
}

/// A price/quality class of model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Fast and cheap.
    Cheap,
    /// The default.
    Balanced,
    /// The best available.
    Premium,
}

impl Tier {
    /// The next cheaper tier, if any (for the 429 fallback).
    pub fn cheaper(self) -> Option<Tier> {
        match self {
            Tier::Premium => Some(Tier::Balanced),
            Tier::Balanced => Some(Tier::Cheap),
            Tier::Cheap => None,
        }
    }
}

/// Who answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderKind {
    /// The embedded offline engine (no network).
    Embedded,
    /// OpenAI's chat completions API.
    Openai,
    /// Anthropic's messages API.
    Anthropic,
    /// Any server speaking OpenAI's chat completions (llama.cpp, Ollama, LM Studio, vLLM).
    OpenaiCompatible,
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProviderKind::Embedded => "embedded",
            ProviderKind::Openai => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::OpenaiCompatible => "openai-compatible",
        })
    }
}

/// A model at a provider.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModelRef {
    /// Which provider.
    pub provider: ProviderKind,
    /// The provider's model name (`gpt-4o-mini`, `claude-…`, whatever a local server serves).
    pub model: String,
    /// Base URL for OpenAI-compatible servers (`http://127.0.0.1:8080/v1`); `None` for the
    /// providers' own endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

/// Who speaks in a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The musician (their words) or the measurements sent on their behalf.
    User,
    /// A previous answer.
    Assistant,
}

/// One message of the conversation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Message {
    /// Who.
    pub role: Role,
    /// What.
    pub content: String,
}

/// A provider-neutral request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// What for (routing, cache key, audit).
    pub task: Task,
    /// The system prompt (`assets/prompts/system.md` with the parameter table).
    pub system: String,
    /// The conversation, oldest first; the last is the user's.
    pub messages: Vec<Message>,
    /// JSON schema the answer must follow (`assets/schema/reply.schema.json`), or `None` for
    /// free text.
    pub schema: Option<serde_json::Value>,
    /// Most tokens to generate.
    pub max_tokens: u32,
    /// Sampling temperature (0 for reproducible answers).
    pub temperature: f32,
}

/// Tokens counted by the provider (or estimated when it does not say).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Generated tokens.
    pub output_tokens: u32,
}

/// A finished answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// The text (JSON when the request had a schema).
    pub text: String,
    /// Token counts.
    pub usage: Usage,
    /// The model that answered, as the provider names it.
    pub model: String,
}

/// Why a provider gave no answer.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// HTTP 429: too many requests; retry after the given time if the server said.
    #[error("rate limited by the provider{}", .retry_after.map(|d| format!(" (retry after {} s)", d.as_secs_f32())).unwrap_or_default())]
    RateLimited {
        /// The server's Retry-After.
        retry_after: Option<Duration>,
    },
    /// The key is missing, wrong or lacks access (401/403). Never retried.
    #[error("the provider refused the credentials (check the API key)")]
    Auth,
    /// The account is out of quota or credit. Never retried.
    #[error("the provider account is out of quota")]
    Quota,
    /// HTTP 5xx.
    #[error("the provider had a server error (HTTP {0})")]
    Server(u16),
    /// Another HTTP status the request cannot recover from (400, 404, …).
    #[error("the provider refused the request (HTTP {status}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The provider's message, shortened.
        message: String,
    },
    /// No connection, reset, DNS, TLS.
    #[error("could not reach the provider: {0}")]
    Connection(String),
    /// The answer (or stream) broke the protocol or stopped half-way.
    #[error("the provider's answer was malformed: {0}")]
    Malformed(String),
    /// No answer in time.
    #[error("the provider did not answer in time")]
    Timeout,
    /// Cancelled by the musician.
    #[error("cancelled")]
    Cancelled,
}

impl ProviderError {
    /// Whether trying again (later, or elsewhere) can help.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ProviderError::RateLimited { .. }
                | ProviderError::Server(_)
                | ProviderError::Connection(_)
                | ProviderError::Timeout
                | ProviderError::Malformed(_)
        )
    }
}
