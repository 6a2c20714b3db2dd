//! The only I/O of the providers: one POST, then the body read chunk by chunk, every wait
//! bounded by a timeout and abandoned at once on cancellation.

use super::keys::ApiKey;
use super::retry::{parse_retry_after, parse_retry_after_ms};
use super::{CancelToken, ClientConfig};
use crate::llm::ProviderError;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use std::future::Future;
use std::time::{Duration, SystemTime};

/// How the key travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AuthHeader {
    /// `Authorization: Bearer KEY` (OpenAI and compatible servers).
    Bearer,
    /// `x-api-key: KEY` (Anthropic).
    XApiKey,
}

/// A request ready to send; the key is added by [`Http::post`], never stored here.
#[derive(Debug)]
pub(super) struct Outgoing {
    pub url: String,
    pub auth: AuthHeader,
    pub headers: &'static [(&'static str, &'static str)],
    pub body: Vec<u8>,
    pub stream: bool,
}

/// What a body reader wants after a chunk.
pub(super) enum Flow {
    /// Keep reading.
    More,
    /// Enough (the end-of-stream marker arrived): stop without waiting for the connection
    /// to close.
    Stop,
}

/// The reqwest client and the timeouts it is used with.
#[derive(Debug)]
pub(super) struct Http {
    client: reqwest::Client,
    pub config: ClientConfig,
}

impl Http {
    pub fn new(config: ClientConfig) -> Result<Http, ProviderError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            // An API never redirects; following one could carry the key elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("audiocollab/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ProviderError::Connection(format!("could not set up HTTPS: {}", chain(&e))))?;
        Ok(Http { client, config })
    }

    /// Sends the request and waits for the response headers (at most `response_timeout`).
    pub async fn post(
        &self,
        out: Outgoing,
        key: Option<&ApiKey>,
        cancel: &CancelToken,
    ) -> Result<reqwest::Response, ProviderError> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let accept = if out.stream { "text/event-stream" } else { "application/json" };
        headers.insert(ACCEPT, HeaderValue::from_static(accept));
        // INVARIANT: the provider modules pass lowercase ASCII constants, valid header names.
        for (name, value) in out.headers {
            headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        if let Some(key) = key {
            let (name, value) = match out.auth {
                AuthHeader::Bearer => (reqwest::header::AUTHORIZATION, format!("Bearer {}", key.expose())),
                AuthHeader::XApiKey => (HeaderName::from_static("x-api-key"), key.expose().to_string()),
            };
            // `ApiKey` holds visible ASCII only, so this cannot fail; if it did, say nothing more.
            let mut value = HeaderValue::from_str(&value).map_err(|_| ProviderError::Auth)?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let send = self.client.post(&out.url).headers(headers).body(out.body).send();
        guarded(send, self.config.response_timeout, cancel).await?.map_err(|e| transport(e, false))
    }
}

/// `fut`, unless `cancel` fires first (→ `Cancelled`) or `limit` passes (→ `Timeout`).
pub(super) async fn guarded<T>(
    fut: impl Future<Output = T>,
    limit: Duration,
    cancel: &CancelToken,
) -> Result<T, ProviderError> {
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(ProviderError::Cancelled),
        r = tokio::time::timeout(limit, fut) => r.map_err(|_| ProviderError::Timeout),
    }
}

/// Reads the body chunk by chunk into `sink` until it ends or `sink` says stop. A silence
/// longer than `idle` is a stalled stream (→ `Timeout`); a body past `limit` bytes is refused
/// as soon as it gets there, whether it comes whole or streamed.
pub(super) async fn read_body(
    resp: &mut reqwest::Response,
    idle: Duration,
    cancel: &CancelToken,
    limit: usize,
    mut sink: impl FnMut(&[u8]) -> Result<Flow, ProviderError>,
) -> Result<(), ProviderError> {
    let mut read = 0usize;
    loop {
        let chunk = guarded(resp.chunk(), idle, cancel).await?.map_err(|e| transport(e, true))?;
        let Some(chunk) = chunk else { return Ok(()) };
        read = read.saturating_add(chunk.len());
        if read > limit {
            return Err(too_large(limit));
        }
        if let Flow::Stop = sink(&chunk)? {
            return Ok(());
        }
    }
}

/// The whole body, at most `limit` bytes (a larger one is refused, not truncated).
pub(super) async fn read_all(
    resp: &mut reqwest::Response,
    idle: Duration,
    cancel: &CancelToken,
    limit: usize,
) -> Result<Vec<u8>, ProviderError> {
    let mut body = Vec::new();
    read_body(resp, idle, cancel, limit, |chunk| {
        body.extend_from_slice(chunk);
        Ok(Flow::More)
    })
    .await?;
    Ok(body)
}

/// A body larger than `limit` bytes.
fn too_large(limit: usize) -> ProviderError {
    let size =
        if limit.is_multiple_of(1 << 20) { format!("{} MiB", limit >> 20) } else { format!("{} KiB", limit >> 10) };
    ProviderError::Malformed(format!("the answer is larger than {size}, the most one answer may be: refused"))
}

/// The server's requested wait: `Retry-After` (seconds or a date), else OpenAI's
/// `retry-after-ms`.
pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    text(RETRY_AFTER)
        .and_then(|v| parse_retry_after(v, SystemTime::now()))
        .or_else(|| text(HeaderName::from_static("retry-after-ms")).and_then(parse_retry_after_ms))
}

/// A transport failure as a provider error. Before the response it is a connection problem;
/// inside the body it means the answer broke off. The URL is left out (a base URL may carry
/// credentials); headers are never part of a reqwest error.
fn transport(e: reqwest::Error, in_body: bool) -> ProviderError {
    if e.is_timeout() {
        return ProviderError::Timeout;
    }
    let what = chain(&e.without_url());
    if in_body {
        ProviderError::Malformed(format!("the answer broke off: {what}"))
    } else {
        ProviderError::Connection(what)
    }
}

/// An error and its sources, joined: "error sending request: tcp connect error: Connection
/// refused (os error 111)".
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}
