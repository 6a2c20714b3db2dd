//! Local stand-ins for the language-model APIs: a tokio `TcpListener` on 127.0.0.1 that speaks
//! enough HTTP/1.1 and the wire format of OpenAI chat completions or Anthropic messages for the
//! provider tests (`tests/providers.rs`).
//!
//! Like the real services, a [`FakeLlm`] checks the path and the credentials (`Authorization:
//! Bearer` or `x-api-key` plus `anthropic-version`), answers whole JSON or a server-sent event
//! stream depending on the request's `stream` flag, and for an Anthropic request with tools
//! answers with a `tool_use` block. What it says is scripted per connection ([`Reply`]), and it
//! records every request it receives so a test can check what left the client.
//!
//! Each connection carries one exchange and is closed (`Connection: close`). A streamed reply
//! is sent chunk-encoded, each event split in two chunks a few milliseconds apart, so the
//! client's parser sees events cut across reads.

use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The wire format a fake speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    /// `POST /v1/chat/completions`, `Authorization: Bearer`.
    OpenAi,
    /// `POST /v1/messages`, `x-api-key`, `anthropic-version`.
    Anthropic,
}

/// Prompt tokens a fake reports.
pub const INPUT_TOKENS: u64 = 321;
/// Completion tokens a fake reports.
pub const OUTPUT_TOKENS: u64 = 42;
/// Model name a fake reports.
pub const MODEL: &str = "fake-model-2025";

/// Pause between the two halves of an event and between events.
const GAP: Duration = Duration::from_millis(2);

/// What a fake answers to one connection.
#[derive(Clone, Debug)]
pub enum Reply {
    /// An answer made of these pieces of text: one event each when streamed, joined when not.
    Text(Vec<String>),
    /// Streams these pieces, then falls silent for the duration with the connection open.
    Stall(Vec<String>, Duration),
    /// Streams these pieces, then ends the body cleanly without the end-of-stream marker.
    Truncate(Vec<String>),
    /// Streams these pieces, then drops the connection in the middle of a chunk.
    Drop(Vec<String>),
    /// An HTTP error: status, extra headers, body.
    Status(u16, Vec<(String, String)>, String),
    /// Reads the request, then says nothing (not even the status line) for the duration, with
    /// the connection open.
    Silent(Duration),
    /// A runaway server: streams `what` over and over, in chunks of about 64 KiB as fast as
    /// the client reads, until `max_bytes` are sent (then ends the stream properly) or the
    /// client hangs up.
    Flood {
        /// What each event carries.
        what: Flood,
        /// Bytes after which the server stops on its own.
        max_bytes: u64,
    },
    /// An endless slow stream: one event carrying this piece of text every `every`, until
    /// the client hangs up.
    Trickle(String, Duration),
}

/// What a [`Reply::Flood`] repeats.
#[derive(Clone, Debug)]
pub enum Flood {
    /// An event carrying this piece of text.
    Text(String),
    /// An SSE comment line (a keep-alive): bytes without any text.
    Comments,
}

impl Reply {
    /// [`Reply::Text`] from string slices.
    pub fn text(pieces: &[&str]) -> Reply {
        Reply::Text(pieces.iter().map(|p| p.to_string()).collect())
    }
}

/// One request as received.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Request target (`/v1/chat/completions`).
    pub path: String,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The JSON body (`Value::Null` if it was not JSON).
    pub body: Value,
    /// The body's raw text.
    pub raw: String,
}

impl Recorded {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A fake API server on 127.0.0.1; stops when the runtime that started it stops.
pub struct FakeLlm {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    sent: Arc<AtomicU64>,
}

impl FakeLlm {
    /// Starts a fake for `wire` that accepts `key` (`None`: no credentials checked) and answers
    /// the n-th connection with `replies[n]` (the last one once they run out).
    pub async fn start(wire: Wire, key: Option<&str>, replies: Vec<Reply>) -> FakeLlm {
        assert!(!replies.is_empty(), "a fake needs at least one reply");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let sent = Arc::new(AtomicU64::new(0));
        let counter = sent.clone();
        let key = key.map(String::from);
        tokio::spawn(async move {
            for n in 0.. {
                let Ok((socket, _)) = listener.accept().await else { return };
                let reply = replies[n.min(replies.len() - 1)].clone();
                let socket = Counted { socket, sent: counter.clone() };
                tokio::spawn(serve(socket, wire, key.clone(), reply, recorded.clone()));
            }
        });
        FakeLlm { addr, requests, sent }
    }

    /// Bytes of answers written to the clients so far (what the kernel accepted: a client
    /// that stopped reading has up to its socket buffers more than it read).
    pub fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// The base URL clients are given (`http://127.0.0.1:PORT/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("requests lock").clone()
    }
}

/// A connection that counts the bytes written to it.
struct Counted {
    socket: TcpStream,
    sent: Arc<AtomicU64>,
}

impl Counted {
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.socket.read(buf).await
    }

    async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.socket.write_all(bytes).await?;
        self.sent.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        self.socket.flush().await
    }

    async fn shutdown(&mut self) -> std::io::Result<()> {
        self.socket.shutdown().await
    }
}

/// One exchange on one connection. I/O errors (the client went away) end it quietly.
async fn serve(mut socket: Counted, wire: Wire, key: Option<String>, reply: Reply, log: Arc<Mutex<Vec<Recorded>>>) {
    let Some(req) = read_request(&mut socket).await else { return };
    log.lock().expect("requests lock").push(req.clone());
    let reply = check(wire, key.as_deref(), &req).unwrap_or(reply);
    let _ = answer(&mut socket, wire, &req, reply).await;
}

/// Reads a request head and its `Content-Length` body.
async fn read_request(socket: &mut Counted) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let path = lines.next()?.split(' ').nth(1)?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let raw = String::from_utf8_lossy(&body).to_string();
    Some(Recorded { path, headers, body: serde_json::from_str(&raw).unwrap_or(Value::Null), raw })
}

/// What the real service says to a wrong path or missing credentials, if anything.
fn check(wire: Wire, key: Option<&str>, req: &Recorded) -> Option<Reply> {
    let (path, given) = match wire {
        Wire::OpenAi => ("/v1/chat/completions", req.header("authorization").and_then(|v| v.strip_prefix("Bearer "))),
        Wire::Anthropic => ("/v1/messages", req.header("x-api-key")),
    };
    if req.path != path {
        return Some(Reply::Status(404, vec![], error_body(wire, "not_found_error", "no such endpoint")));
    }
    if wire == Wire::Anthropic && req.header("anthropic-version").is_none() {
        return Some(Reply::Status(
            400,
            vec![],
            error_body(wire, "invalid_request_error", "anthropic-version header is required"),
        ));
    }
    match key {
        Some(k) if given != Some(k) => {
            Some(Reply::Status(401, vec![], error_body(wire, "authentication_error", "invalid x-api-key")))
        }
        _ => None,
    }
}

/// An error body in the service's shape.
pub fn error_body(wire: Wire, kind: &str, message: &str) -> String {
    match wire {
        Wire::OpenAi => json!({"error": {"message": message, "type": kind, "param": null, "code": kind}}),
        Wire::Anthropic => json!({"type": "error", "error": {"type": kind, "message": message}}),
    }
    .to_string()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Error",
    }
}

async fn answer(socket: &mut Counted, wire: Wire, req: &Recorded, reply: Reply) -> std::io::Result<()> {
    let streamed = req.body.get("stream").and_then(Value::as_bool) == Some(true);
    let (pieces, end) = match reply {
        Reply::Status(status, headers, body) => {
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                reason(status),
                body.len()
            );
            for (n, v) in headers {
                head.push_str(&format!("{n}: {v}\r\n"));
            }
            head.push_str("\r\n");
            socket.write_all(head.as_bytes()).await?;
            return socket.write_all(body.as_bytes()).await;
        }
        Reply::Text(p) if !streamed => {
            let body = whole(wire, req, &p.concat()).to_string();
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            socket.write_all(head.as_bytes()).await?;
            return socket.write_all(body.as_bytes()).await;
        }
        Reply::Silent(d) => {
            tokio::time::sleep(d).await;
            return Ok(());
        }
        Reply::Flood { what, max_bytes } => return flood(socket, wire, req, what, max_bytes).await,
        Reply::Trickle(piece, every) => {
            socket.write_all(STREAM_HEAD.as_bytes()).await?;
            let (opening, middle, _) = events(wire, req, &[piece]);
            for ev in &opening {
                send_event(socket, ev).await?;
            }
            loop {
                send_event(socket, &middle[0]).await?;
                tokio::time::sleep(every).await;
            }
        }
        Reply::Text(p) => (p, End::Finish),
        Reply::Stall(p, d) => (p, End::Stall(d)),
        Reply::Truncate(p) => (p, End::Truncate),
        Reply::Drop(p) => (p, End::Drop),
    };
    socket.write_all(STREAM_HEAD.as_bytes()).await?;
    let (opening, middle, closing) = events(wire, req, &pieces);
    for ev in opening.iter().chain(&middle) {
        send_event(socket, ev).await?;
    }
    match end {
        End::Finish => {
            for ev in &closing {
                send_event(socket, ev).await?;
            }
            socket.write_all(b"0\r\n\r\n").await
        }
        End::Truncate => socket.write_all(b"0\r\n\r\n").await,
        End::Stall(d) => {
            tokio::time::sleep(d).await;
            Ok(())
        }
        End::Drop => {
            // Announce a chunk, send half of it, hang up.
            socket.write_all(b"40\r\ndata: {\"choi").await?;
            socket.shutdown().await
        }
    }
}

/// The head of a streamed answer.
const STREAM_HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n\
                           cache-control: no-cache\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";

/// A [`Reply::Flood`]: the opening events, then `what` in 64 KiB chunks up to `max_bytes`,
/// then the closing events.
async fn flood(socket: &mut Counted, wire: Wire, req: &Recorded, what: Flood, max_bytes: u64) -> std::io::Result<()> {
    socket.write_all(STREAM_HEAD.as_bytes()).await?;
    let (opening, middle, closing) = events(
        wire,
        req,
        &[match &what {
            Flood::Text(piece) => piece.clone(),
            Flood::Comments => String::new(),
        }],
    );
    for ev in &opening {
        send_event(socket, ev).await?;
    }
    let unit = match what {
        Flood::Text(_) => middle[0].clone(),
        Flood::Comments => format!(": {}\n", "keep-alive ".repeat(90)),
    };
    let mut chunk = unit.repeat((64 << 10) / unit.len() + 1).into_bytes();
    let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
    framed.append(&mut chunk);
    framed.extend_from_slice(b"\r\n");
    let start = socket.sent.load(Ordering::Relaxed);
    while socket.sent.load(Ordering::Relaxed) - start < max_bytes {
        socket.write_all(&framed).await?;
    }
    for ev in &closing {
        send_event(socket, ev).await?;
    }
    socket.write_all(b"0\r\n\r\n").await
}

enum End {
    Finish,
    Stall(Duration),
    Truncate,
    Drop,
}

/// Sends one SSE event as two chunks.
async fn send_event(socket: &mut Counted, event: &str) -> std::io::Result<()> {
    let bytes = event.as_bytes();
    let mid = bytes.len() / 2;
    for part in [&bytes[..mid], &bytes[mid..]] {
        socket.write_all(format!("{:x}\r\n", part.len()).as_bytes()).await?;
        socket.write_all(part).await?;
        socket.write_all(b"\r\n").await?;
        socket.flush().await?;
        tokio::time::sleep(GAP).await;
    }
    Ok(())
}

/// Whether an Anthropic request asked for a tool answer, and the tool's name.
fn tool_name(req: &Recorded) -> Option<String> {
    req.body.get("tools")?.get(0)?.get("name")?.as_str().map(String::from)
}

/// A whole (not streamed) answer carrying `text`.
fn whole(wire: Wire, req: &Recorded, text: &str) -> Value {
    match wire {
        Wire::OpenAi => json!({
            "id": "chatcmpl-fake", "object": "chat.completion", "created": 1_700_000_000, "model": MODEL,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": null}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": INPUT_TOKENS, "completion_tokens": OUTPUT_TOKENS, "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS},
        }),
        Wire::Anthropic => {
            // A tool answer carries JSON input; text that is not JSON comes as a text block.
            let (block, stop) = match (tool_name(req), serde_json::from_str::<Value>(text)) {
                (Some(name), Ok(input)) => {
                    (json!({"type": "tool_use", "id": "toolu_fake", "name": name, "input": input}), "tool_use")
                }
                _ => (json!({"type": "text", "text": text}), "end_turn"),
            };
            json!({
                "id": "msg_fake", "type": "message", "role": "assistant", "model": MODEL, "content": [block],
                "stop_reason": stop, "stop_sequence": null,
                "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS},
            })
        }
    }
}

/// A streamed answer as SSE events: the opening ones, one per piece, the closing ones.
fn events(wire: Wire, req: &Recorded, pieces: &[String]) -> (Vec<String>, Vec<String>, Vec<String>) {
    let data = |v: Value| format!("data: {v}\n\n");
    let named = |name: &str, v: Value| format!("event: {name}\ndata: {v}\n\n");
    match wire {
        Wire::OpenAi => {
            let chunk = |delta: Value, finish: Value| {
                json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": MODEL,
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
            };
            let opening = vec![data(chunk(json!({"role": "assistant", "content": ""}), Value::Null))];
            let middle = pieces.iter().map(|p| data(chunk(json!({"content": p}), Value::Null))).collect();
            let mut closing = vec![data(chunk(json!({}), json!("stop")))];
            if req.body.pointer("/stream_options/include_usage") == Some(&json!(true)) {
                closing.push(data(
                    json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": MODEL, "choices": [],
                    "usage": {"prompt_tokens": INPUT_TOKENS, "completion_tokens": OUTPUT_TOKENS}}),
                ));
            }
            closing.push("data: [DONE]\n\n".to_string());
            (opening, middle, closing)
        }
        Wire::Anthropic => {
            let tool = tool_name(req);
            let (block, delta_kind, field, stop) = match &tool {
                Some(name) => (
                    json!({"type": "tool_use", "id": "toolu_fake", "name": name, "input": {}}),
                    "input_json_delta",
                    "partial_json",
                    "tool_use",
                ),
                None => (json!({"type": "text", "text": ""}), "text_delta", "text", "end_turn"),
            };
            let opening = vec![
                named(
                    "message_start",
                    json!({"type": "message_start", "message": {"id": "msg_fake", "type": "message",
                    "role": "assistant", "model": MODEL, "content": [], "stop_reason": null,
                    "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": 1}}}),
                ),
                named(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": 0, "content_block": block}),
                ),
                named("ping", json!({"type": "ping"})),
            ];
            let middle = pieces
                .iter()
                .map(|p| {
                    named(
                        "content_block_delta",
                        json!({"type": "content_block_delta", "index": 0, "delta": {"type": delta_kind, field: p}}),
                    )
                })
                .collect();
            let closing = vec![
                named("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
                named(
                    "message_delta",
                    json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
                    "usage": {"output_tokens": OUTPUT_TOKENS}}),
                ),
                named("message_stop", json!({"type": "message_stop"})),
            ];
            (opening, middle, closing)
        }
    }
}
