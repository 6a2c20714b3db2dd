//! Language-model providers over HTTP: OpenAI chat completions, Anthropic messages, and any
//! OpenAI-compatible server by base URL (llama.cpp's `llama-server`, Ollama, LM Studio, vLLM).
//!
//! # Shape
//! Each wire format is pure mapping ([`openai`], [`anthropic`]: request body in, reply or
//! stream events out, tested without a network); [`http`] does the one I/O call. The router
//! (`assistant::router`) owns retries, fallbacks, budgets and the cache; it calls
//!
//! ```ignore
//! let client = Client::new(ClientConfig::default())?;          // once per worker thread
//! let cancel = CancelToken::new();                              // cancel() from any thread
//! let completion = client
//!     .complete(&model, key.as_ref(), &request, Some(&mut |delta: &str| show(delta)), &cancel)
//!     .await?;                                                   // Result<Completion, ProviderError>
//! let reply = parse_wire_reply(&completion.text)?;              // then ChangeSet::try_from
//! ```
//!
//! on the worker's current-thread tokio runtime (built with time and I/O enabled). With a
//! delta sink the reply is streamed (server-sent events) and every piece of text is handed to
//! the sink as it arrives, in order; the completion's text is their concatenation. Without
//! one the reply comes whole.
//!
//! # Failures
//! Every failure is a [`ProviderError`]: HTTP 429 → `RateLimited` with the server's
//! `Retry-After`; 401/403 → `Auth`; an exhausted account → `Quota`; 5xx → `Server`; no bytes
//! for [`ClientConfig::idle_timeout`] → `Timeout`; a stream cut before its end marker →
//! `Malformed`; [`CancelToken::cancel`] → `Cancelled` at once. [`retry::backoff`] and
//! [`retry::parse_retry_after`] are the router's pure building blocks.
//!
//! # What leaves the machine
//! Only what is in the [`Request`]: the system prompt, measurements as text and the musician's
//! words, scrubbed by [`scrub::scrub`] (see [`prompt::user_message`]). Keys ([`ApiKey`]) go
//! in one header, marked sensitive, and never into a message: text a server sends back is
//! redacted ([`keys::redact`]) before it reaches an error.

pub mod anthropic;
mod http;
pub mod keys;
pub mod openai;
pub mod prompt;
pub mod retry;
pub mod scrub;
pub mod sse;
pub mod status;

pub use keys::{ApiKey, KeyError};

use crate::actions::WireReply;
use crate::llm::{Completion, ModelRef, ProviderError, ProviderKind, Request};
use audiocollab_core::untrusted::json_error;
use http::{AuthHeader, Flow, Http, Outgoing};
use serde_json::Value;
use sse::SseParser;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// OpenAI's API, when a model names no base URL.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// Anthropic's API, when a model names no base URL.
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com/v1";

/// Largest reply read, bytes on the wire, streamed or whole (a reply is a few KiB; this only
/// stops a runaway server). The text it carries is bounded tighter, by [`max_reply_text`].
pub const MAX_REPLY_BYTES: usize = 4 << 20;
/// Most bytes of text one generated token may stand for. English BPE tokens average four
/// bytes (see [`estimate_text_tokens`]); the longest in common vocabularies (runs of spaces,
/// long words) stay well under 32.
const MAX_BYTES_PER_TOKEN: usize = 32;
/// Largest error body read, bytes.
const MAX_ERROR_BYTES: usize = 64 << 10;

/// Timeouts and sampling settings of a [`Client`].
#[derive(Clone, Debug, PartialEq)]
pub struct ClientConfig {
    /// TCP and TLS connection set-up.
    pub connect_timeout: Duration,
    /// From sending a request to the response headers. A streamed reply starts within a few
    /// seconds; a whole reply arrives only once the model has finished, so this bounds the
    /// whole generation then.
    pub response_timeout: Duration,
    /// Longest silence inside a body: a stream quiet for longer has stalled (→ `Timeout`).
    pub idle_timeout: Duration,
    /// Sampling seed sent to OpenAI-format servers (reproducible answers where supported).
    pub seed: Option<u64>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: Duration::from_secs(10),
            response_timeout: Duration::from_secs(90),
            idle_timeout: Duration::from_secs(30),
            seed: None,
        }
    }
}

/// Cancels a request in flight, from any thread. Cloning shares the token.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<CancelState>);

#[derive(Debug, Default)]
struct CancelState {
    cancelled: AtomicBool,
    notify: Notify,
}

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Cancels every request watching this token (now and later).
    pub fn cancel(&self) {
        // Release: a request that sees the flag also sees what happened before `cancel`.
        self.0.cancelled.store(true, Ordering::Release);
        self.0.notify.notify_waiters();
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::Acquire)
    }

    /// Completes once the token is cancelled.
    pub async fn cancelled(&self) {
        loop {
            let notified = self.0.notify.notified();
            tokio::pin!(notified);
            // Registered before the flag is read, so a `cancel` in between is not missed.
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// A sink for streamed text.
pub type DeltaSink<'a> = &'a mut (dyn FnMut(&str) + Send);

/// The provider client of one worker: one connection pool, built once.
#[derive(Debug)]
pub struct Client {
    http: Http,
}

/// The wire format a provider speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wire {
    OpenAi(openai::Flavor),
    Anthropic,
}

/// A streamed reply being decoded.
enum Decoder {
    OpenAi(openai::Stream),
    Anthropic(anthropic::Stream),
}

impl Decoder {
    fn on_event(&mut self, ev: &sse::SseEvent, key: Option<&ApiKey>) -> Result<Option<String>, ProviderError> {
        match self {
            Decoder::OpenAi(s) => s.on_event(ev, key),
            Decoder::Anthropic(s) => s.on_event(ev, key),
        }
    }

    fn is_done(&self) -> bool {
        match self {
            Decoder::OpenAi(s) => s.is_done(),
            Decoder::Anthropic(s) => s.is_done(),
        }
    }

    fn finish(self, req: &Request) -> Result<Completion, ProviderError> {
        match self {
            Decoder::OpenAi(s) => s.finish(req),
            Decoder::Anthropic(s) => s.finish(req),
        }
    }
}

impl Client {
    /// A client with `config`'s timeouts. Fails only if TLS cannot be set up.
    pub fn new(config: ClientConfig) -> Result<Client, ProviderError> {
        Ok(Client { http: Http::new(config)? })
    }

    /// The settings this client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.http.config
    }

    /// Asks `model` for a completion of `req`, authenticated with `key` (required by OpenAI
    /// and Anthropic, optional for compatible servers). Streams into `on_delta` when one is
    /// given. Returns as soon as `cancel` fires.
    pub async fn complete(
        &self,
        model: &ModelRef,
        key: Option<&ApiKey>,
        req: &Request,
        on_delta: Option<DeltaSink<'_>>,
        cancel: &CancelToken,
    ) -> Result<Completion, ProviderError> {
        if cancel.is_cancelled() {
            return Err(ProviderError::Cancelled);
        }
        let wire = match model.provider {
            ProviderKind::Openai => Wire::OpenAi(openai::Flavor::OpenAi),
            ProviderKind::OpenaiCompatible => Wire::OpenAi(openai::Flavor::Compatible),
            ProviderKind::Anthropic => Wire::Anthropic,
            ProviderKind::Embedded => {
                return Err(ProviderError::Connection("the embedded engine is not reached over HTTP".into()))
            }
        };
        if key.is_none() && wire != Wire::OpenAi(openai::Flavor::Compatible) {
            return Err(ProviderError::Auth);
        }
        let stream = on_delta.is_some();
        let out = outgoing(model, wire, req, stream, self.http.config.seed)?;
        let idle = self.http.config.idle_timeout;
        let mut resp = self.http.post(out, key, cancel).await?;

        let status = resp.status().as_u16();
        if !resp.status().is_success() {
            let retry_after = http::retry_after(resp.headers());
            // A body that cannot be read still leaves the status to go by.
            let body = http::read_all(&mut resp, idle, cancel, MAX_ERROR_BYTES).await.or_else(|e| match e {
                ProviderError::Cancelled => Err(e),
                _ => Ok(Vec::new()),
            })?;
            return Err(status::from_status(status, retry_after, &body, key));
        }
        let is_sse = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("text/event-stream"));

        match on_delta {
            Some(on_delta) if is_sse => {
                let mut decoder = match wire {
                    Wire::OpenAi(_) => Decoder::OpenAi(openai::Stream::new(&model.model)),
                    Wire::Anthropic => Decoder::Anthropic(anthropic::Stream::new(req, &model.model)),
                };
                let mut parser = SseParser::new();
                let mut text_bytes = 0usize;
                http::read_body(&mut resp, idle, cancel, MAX_REPLY_BYTES, |bytes| {
                    let events = parser.push(bytes).map_err(|e| ProviderError::Malformed(e.to_string()))?;
                    for ev in events {
                        if let Some(delta) = decoder.on_event(&ev, key)? {
                            // Counted as it streams: a server writing past the tokens asked for
                            // is stopped there, not at the deadline.
                            text_bytes += delta.len();
                            check_reply_text(text_bytes, req)?;
                            on_delta(&delta);
                        }
                        if decoder.is_done() {
                            return Ok(Flow::Stop);
                        }
                    }
                    Ok(Flow::More)
                })
                .await?;
                decoder.finish(req)
            }
            on_delta => {
                // Not streamed (or a server that answered a stream request whole).
                let body = http::read_all(&mut resp, idle, cancel, MAX_REPLY_BYTES).await?;
                let completion = match wire {
                    Wire::OpenAi(_) => openai::parse_reply(&body, req, &model.model)?,
                    Wire::Anthropic => anthropic::parse_reply(&body, req, &model.model)?,
                };
                check_reply_text(completion.text.len(), req)?;
                if let Some(on_delta) = on_delta {
                    on_delta(&completion.text);
                }
                Ok(completion)
            }
        }
    }
}

/// The request to send, without the key: URL, headers, body.
fn outgoing(
    model: &ModelRef,
    wire: Wire,
    req: &Request,
    stream: bool,
    seed: Option<u64>,
) -> Result<Outgoing, ProviderError> {
    let base = match (&model.base_url, wire) {
        (Some(url), _) => url.as_str(),
        (None, Wire::OpenAi(openai::Flavor::OpenAi)) => OPENAI_BASE_URL,
        (None, Wire::Anthropic) => ANTHROPIC_BASE_URL,
        (None, Wire::OpenAi(openai::Flavor::Compatible)) => {
            return Err(ProviderError::Connection(
                "no base URL is set for the OpenAI-compatible server (e.g. http://127.0.0.1:8080/v1)".into(),
            ))
        }
    };
    let base = base.trim().trim_end_matches('/');
    let scheme_ok = base.starts_with("https://") || base.starts_with("http://");
    if !scheme_ok || reqwest::Url::parse(base).is_err() {
        return Err(ProviderError::Connection("the provider's base URL is not an http(s) URL".into()));
    }
    let (path, auth, headers, body): (_, _, &'static [(&str, &str)], _) = match wire {
        Wire::OpenAi(flavor) => {
            ("chat/completions", AuthHeader::Bearer, &[], openai::request_body(&model.model, req, flavor, stream, seed))
        }
        Wire::Anthropic => (
            "messages",
            AuthHeader::XApiKey,
            &[("anthropic-version", anthropic::API_VERSION)],
            anthropic::request_body(&model.model, req, stream),
        ),
    };
    let body = encode(&body)?;
    Ok(Outgoing { url: format!("{base}/{path}"), auth, headers, body, stream })
}

/// A request body as bytes, every schema's properties in the order of its `required` list.
///
/// `serde_json::Value` keeps object keys sorted, but the order matters: OpenAI's structured
/// outputs and llama.cpp's schema grammars make the model write the fields in the schema's
/// order, and a model that writes its `message` before its `changes` (and a change's `param`
/// before its `value`) answers better than one forced into alphabetical order.
pub fn encode(body: &Value) -> Result<Vec<u8>, ProviderError> {
    serde_json::to_vec(&SchemaOrder { value: body, order: None })
        .map_err(|e| ProviderError::Malformed(format!("could not encode the request: {e}")))
}

/// A JSON value serialised with the keys of a `properties` object ordered by its sibling
/// `required` list (the other keys after, sorted).
struct SchemaOrder<'a> {
    value: &'a Value,
    order: Option<&'a Vec<Value>>,
}

impl serde::Serialize for SchemaOrder<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                if let Some(order) = self.order {
                    // Stable: keys not in the list stay sorted, after those in it.
                    keys.sort_by_key(|k| {
                        order.iter().position(|r| r.as_str() == Some(k.as_str())).unwrap_or(usize::MAX)
                    });
                }
                let required = map.get("required").and_then(Value::as_array);
                let mut out = s.serialize_map(Some(keys.len()))?;
                for k in keys {
                    let order = if k == "properties" { required } else { None };
                    out.serialize_entry(k, &SchemaOrder { value: &map[k], order })?;
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    out.serialize_element(&SchemaOrder { value: v, order: None })?;
                }
                out.end()
            }
            scalar => scalar.serialize(s),
        }
    }
}

/// The schema as sent: without the meta keywords (`$schema`, `$id`) that strict modes and
/// grammar converters do not need and some refuse.
pub fn wire_schema(schema: &Value) -> Value {
    let mut schema = schema.clone();
    if let Some(obj) = schema.as_object_mut() {
        obj.remove("$schema");
        obj.remove("$id");
    }
    schema
}

/// Longest text a reply to `req` may carry, bytes: what its `max_tokens` can write at most
/// ([`MAX_BYTES_PER_TOKEN`] each), never more than [`MAX_REPLY_BYTES`]. The one limit of both
/// paths: checked as a streamed reply grows and on a whole one.
pub fn max_reply_text(req: &Request) -> usize {
    usize::try_from(req.max_tokens).unwrap_or(usize::MAX).saturating_mul(MAX_BYTES_PER_TOKEN).min(MAX_REPLY_BYTES)
}

/// Refuses a reply whose text reached `len` bytes, if that is more than [`max_reply_text`].
fn check_reply_text(len: usize, req: &Request) -> Result<(), ProviderError> {
    let max = max_reply_text(req);
    if len <= max {
        return Ok(());
    }
    Err(ProviderError::Malformed(format!(
        "the answer is longer than the {} tokens asked for (more than {} KiB of text): refused",
        req.max_tokens,
        max.div_ceil(1024)
    )))
}

/// Rough token count of a text when the server gives none: one token per four bytes, the usual
/// rule of thumb for English BPE tokenisers (OpenAI, "What are tokens and how to count them").
pub fn estimate_text_tokens(text: &str) -> u32 {
    u32::try_from(text.len().div_ceil(4)).unwrap_or(u32::MAX)
}

/// Rough prompt size of a request (see [`estimate_text_tokens`]).
pub fn estimate_tokens(req: &Request) -> u32 {
    let mut n = estimate_text_tokens(&req.system);
    for m in &req.messages {
        // About four tokens of role and framing per message (OpenAI cookbook, "How to count
        // tokens with tiktoken").
        n = n.saturating_add(estimate_text_tokens(&m.content)).saturating_add(4);
    }
    n
}

/// A model's text as a [`WireReply`]; tolerates a code fence around the JSON (models without
/// a schema grammar add one). The error says the reply was not the expected JSON.
pub fn parse_wire_reply(text: &str) -> Result<WireReply, ProviderError> {
    let t = text.trim();
    let t = t
        .strip_prefix("```json")
        .or_else(|| t.strip_prefix("```"))
        .and_then(|inner| inner.trim_end().strip_suffix("```"))
        .unwrap_or(t);
    serde_json::from_str(t.trim()).map_err(|e| {
        ProviderError::Malformed(format!(
            "the model's reply is not valid JSON for the reply schema: {}",
            json_error(&e)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Task;

    #[test]
    fn wire_replies_parse_or_say_why_not() {
        let ok = parse_wire_reply("```json\n{\"message\":\"hi\",\"changes\":[]}\n```").unwrap();
        assert_eq!(ok.message, "hi");
        let err = parse_wire_reply("{\"message\": \"hi\", \"changes\": [").unwrap_err();
        assert!(matches!(&err, ProviderError::Malformed(m) if m.contains("not valid JSON")), "{err}");
        assert!(parse_wire_reply("{\"message\":\"x\",\"run\":\"rm -rf\"}").is_err());
    }

    #[test]
    fn schemas_are_sent_in_their_required_order() {
        let body = serde_json::json!({"response_format": {"schema": wire_schema(&prompt::reply_schema())}});
        let text = String::from_utf8(encode(&body).unwrap()).unwrap();
        let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle} in {text}"));
        assert!(at(r#""properties":{"message":"#) < at(r#""changes":{"#));
        let item = at(r#""properties":{"param":{"#);
        let value = at(r#""value":{"description":"New absolute"#);
        assert!(item < value && value < at(r#""delta":{"#));
        assert!(at(r#""delta":{"#) < at(r#""reason":{"#) && at(r#""reason":{"#) < at(r#""evidence":{"#));
        assert!(at(r#""properties":{"finding":"#) < at(r#""unit":{"type""#));
        // The same JSON as the plain encoding, only reordered.
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), body);
    }

    #[test]
    fn endpoints() {
        let req = Request {
            task: Task::Chat,
            system: String::new(),
            messages: vec![],
            schema: None,
            max_tokens: 10,
            temperature: 0.0,
        };
        let m =
            |provider, base: Option<&str>| ModelRef { provider, model: "m".into(), base_url: base.map(String::from) };
        let openai = Wire::OpenAi(openai::Flavor::OpenAi);
        let compat = Wire::OpenAi(openai::Flavor::Compatible);
        let url = |model: ModelRef, wire| outgoing(&model, wire, &req, false, None).map(|o| o.url);
        assert_eq!(url(m(ProviderKind::Openai, None), openai).unwrap(), "https://api.openai.com/v1/chat/completions");
        assert_eq!(
            url(m(ProviderKind::Anthropic, None), Wire::Anthropic).unwrap(),
            "https://api.anthropic.com/v1/messages"
        );
        assert_eq!(
            url(m(ProviderKind::OpenaiCompatible, Some("http://127.0.0.1:8089/v1/")), compat).unwrap(),
            "http://127.0.0.1:8089/v1/chat/completions"
        );
        assert!(url(m(ProviderKind::OpenaiCompatible, None), compat).is_err());
        assert!(url(m(ProviderKind::OpenaiCompatible, Some("ftp://x")), compat).is_err());
        assert!(url(m(ProviderKind::OpenaiCompatible, Some("localhost:8080")), compat).is_err());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn cancel_wakes_waiters_on_other_threads() {
        let token = CancelToken::new();
        let remote = token.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            remote.cancel();
        });
        tokio::time::timeout(Duration::from_secs(5), token.cancelled()).await.unwrap();
        assert!(token.is_cancelled());
        t.join().unwrap();
        // Already cancelled: returns at once.
        token.cancelled().await;
    }
}
