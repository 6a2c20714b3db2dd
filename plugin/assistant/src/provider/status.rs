//! HTTP failures to [`ProviderError`]s, purely from the status, the `Retry-After` wait and the
//! error body. OpenAI, Anthropic, llama.cpp and vLLM all answer errors as
//! `{"error": {"type", "message", "code"?}}` (Anthropic wraps it in `{"type": "error", …}`),
//! Ollama as `{"error": "text"}`; one reader serves them all.

use super::keys::{redact, ApiKey};
use crate::llm::ProviderError;
use serde_json::Value;
use std::time::Duration;

/// Longest provider message kept in an error, characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// What an error body says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorBody {
    /// `error.type` (`insufficient_quota`, `rate_limit_error`, `overloaded_error`, …).
    pub kind: String,
    /// `error.code` as text (OpenAI: `insufficient_quota`, `invalid_api_key`; llama.cpp: 400).
    pub code: String,
    /// `error.message`, or the body's text when it is not JSON.
    pub message: String,
}

impl ErrorBody {
    /// Reads an error body; never fails (a body that is not JSON becomes the message).
    pub fn parse(body: &[u8]) -> ErrorBody {
        let text = String::from_utf8_lossy(body);
        let Ok(json) = serde_json::from_str::<Value>(&text) else {
            return ErrorBody { message: text.trim().to_string(), ..ErrorBody::default() };
        };
        Self::from_json(&json)
    }

    /// Reads the `error` member of a JSON value (a whole body or a stream event).
    pub fn from_json(json: &Value) -> ErrorBody {
        let as_text = |v: Option<&Value>| match v {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        match json.get("error") {
            Some(Value::String(message)) => ErrorBody { message: message.clone(), ..ErrorBody::default() },
            Some(e @ Value::Object(_)) => ErrorBody {
                kind: as_text(e.get("type")),
                code: as_text(e.get("code")),
                message: as_text(e.get("message")),
            },
            _ => ErrorBody { message: as_text(json.get("message")), ..ErrorBody::default() },
        }
    }

    /// The account is out of credit: OpenAI's `insufficient_quota` (sent with HTTP 429, and it
    /// must not be retried like a rate limit), Anthropic's `billing_error` and "credit balance
    /// is too low" (sent with HTTP 400).
    pub fn is_quota(&self) -> bool {
        let message = self.message.to_lowercase();
        self.code == "insufficient_quota"
            || self.kind == "insufficient_quota"
            || self.kind == "billing_error"
            || message.contains("credit balance")
            || message.contains("exceeded your current quota")
    }

    /// The provider's message, shortened, with anything key-shaped removed.
    pub fn safe_message(&self, key: Option<&ApiKey>) -> String {
        let message: String = self.message.chars().filter(|c| !c.is_control()).take(MAX_MESSAGE_CHARS).collect();
        let message = redact(&message, key);
        if message.is_empty() {
            if self.kind.is_empty() {
                "no details".into()
            } else {
                self.kind.clone()
            }
        } else {
            message
        }
    }

    /// The error an in-stream error event stands for (no HTTP status there: the stream had
    /// started with 200).
    pub fn to_stream_error(&self, key: Option<&ApiKey>) -> ProviderError {
        match self.kind.as_str() {
            _ if self.is_quota() => ProviderError::Quota,
            "rate_limit_error" | "rate_limit_exceeded" | "requests" | "tokens" => {
                ProviderError::RateLimited { retry_after: None }
            }
            "authentication_error" | "permission_error" | "invalid_api_key" => ProviderError::Auth,
            // Anthropic sends overload as HTTP 529 before a stream, as this event inside one.
            "overloaded_error" => ProviderError::Server(529),
            "api_error" | "server_error" => ProviderError::Server(500),
            _ => ProviderError::Malformed(format!("the stream carried an error: {}", self.safe_message(key))),
        }
    }
}

/// The error for an HTTP status that is not a success.
///
/// 429 → rate limited (with the server's wait), unless the body says the quota is spent;
/// 401/403 → credentials; 402 or a quota body → quota; 408 → timeout; 5xx (and Anthropic's
/// 529) → server; anything else → refused, with the provider's message made safe.
pub fn from_status(status: u16, retry_after: Option<Duration>, body: &[u8], key: Option<&ApiKey>) -> ProviderError {
    let err = ErrorBody::parse(body);
    match status {
        402 => ProviderError::Quota,
        400 | 403 | 429 if err.is_quota() => ProviderError::Quota,
        429 => ProviderError::RateLimited { retry_after },
        401 | 403 => ProviderError::Auth,
        408 => ProviderError::Timeout,
        500..=599 => ProviderError::Server(status),
        _ => ProviderError::Refused { status, message: err.safe_message(key) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_what_the_router_needs() {
        let secs = Some(Duration::from_secs(7));
        assert_eq!(from_status(429, secs, b"{}", None), ProviderError::RateLimited { retry_after: secs });
        let quota = br#"{"error":{"message":"You exceeded your current quota, please check your plan.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#;
        assert_eq!(from_status(429, secs, quota, None), ProviderError::Quota);
        let credit = br#"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API."}}"#;
        assert_eq!(from_status(400, None, credit, None), ProviderError::Quota);
        let billing = br#"{"type":"error","error":{"type":"billing_error","message":"Payment required"}}"#;
        assert_eq!(from_status(400, None, billing, None), ProviderError::Quota);
        assert_eq!(from_status(401, None, b"", None), ProviderError::Auth);
        assert_eq!(from_status(403, None, b"forbidden", None), ProviderError::Auth);
        assert_eq!(from_status(500, None, b"oops", None), ProviderError::Server(500));
        assert_eq!(
            from_status(529, None, br#"{"type":"error","error":{"type":"overloaded_error"}}"#, None),
            ProviderError::Server(529)
        );
        assert_eq!(from_status(408, None, b"", None), ProviderError::Timeout);
        assert!(!from_status(401, None, b"", None).is_retryable());
        assert!(!from_status(429, None, quota, None).is_retryable());
    }

    #[test]
    fn refusals_carry_a_short_safe_message() {
        let key = ApiKey::new("sk-live-0123456789abcdef").unwrap();
        let body = br#"{"error":{"message":"model 'gpt-9' not found for key sk-live-0123456789abcdef","type":"invalid_request_error","code":"model_not_found"}}"#;
        let err = from_status(404, None, body, Some(&key));
        let ProviderError::Refused { status: 404, message } = &err else { panic!("{err:?}") };
        assert!(message.starts_with("model 'gpt-9' not found") && !message.contains("0123456789"), "{message}");
        assert!(!err.to_string().contains("0123456789"));
        // Ollama's shape, a non-JSON body, a huge body.
        assert_eq!(ErrorBody::parse(br#"{"error":"model \"x\" not found"}"#).message, "model \"x\" not found");
        assert_eq!(ErrorBody::parse(b"Bad Gateway\n").message, "Bad Gateway");
        let huge = "x".repeat(10_000);
        assert_eq!(ErrorBody::parse(huge.as_bytes()).safe_message(None).len(), MAX_MESSAGE_CHARS);
        // llama.cpp's numeric code.
        let llama =
            ErrorBody::parse(br#"{"error":{"code":400,"message":"bad grammar","type":"invalid_request_error"}}"#);
        assert_eq!((llama.code.as_str(), llama.message.as_str()), ("400", "bad grammar"));
    }

    #[test]
    fn stream_errors() {
        let e = |kind: &str| ErrorBody { kind: kind.into(), ..ErrorBody::default() }.to_stream_error(None);
        assert_eq!(e("overloaded_error"), ProviderError::Server(529));
        assert_eq!(e("rate_limit_error"), ProviderError::RateLimited { retry_after: None });
        assert!(matches!(e("weird"), ProviderError::Malformed(m) if m.contains("weird")));
    }
}
