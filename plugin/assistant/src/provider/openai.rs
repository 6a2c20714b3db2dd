//! OpenAI chat completions (`POST {base}/chat/completions`), spoken by OpenAI and by
//! OpenAI-compatible servers (llama.cpp's `llama-server`, Ollama, LM Studio, vLLM).
//!
//! Pure: the request body from a [`Request`], the reply (whole or streamed) back to a
//! [`Completion`]. Structured answers use `response_format: {type: "json_schema", json_schema:
//! {name, strict: true, schema}}`, never tools: small local models cannot call tools, and
//! llama.cpp turns the schema into a grammar, so their output always parses.
//!
//! Streaming (`stream: true`): `data: {chunk}` events whose `choices[0].delta.content` carry
//! the text, an optional last chunk with `usage` (asked for with
//! `stream_options.include_usage`), then `data: [DONE]`. A stream that ends without `[DONE]`
//! was cut.

use super::sse::SseEvent;
use super::status::ErrorBody;
use super::{estimate_tokens, wire_schema, ApiKey};
use crate::llm::{Completion, ProviderError, Request, Role, Usage};
use audiocollab_core::untrusted::json_error;
use serde::Deserialize;
use serde_json::{json, Value};

/// Which server speaks the format: the differences are small and listed here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// api.openai.com: `max_completion_tokens` (reasoning models refuse `max_tokens`).
    OpenAi,
    /// Any other server: `max_tokens`, which they all read.
    Compatible,
}

/// Name given to the reply schema in `response_format`.
pub const SCHEMA_NAME: &str = "reply";

/// OpenAI accepts temperatures in 0..=2.
const MAX_TEMPERATURE: f32 = 2.0;

/// Longest `message` a grammar-bound server may write, characters (three sentences).
pub const MESSAGE_MAX_CHARS: u64 = 480;
/// Longest `reason`, characters (one sentence).
pub const REASON_MAX_CHARS: u64 = 160;
/// Longest other string (an id, a unit, a value as text), characters.
pub const WORD_MAX_CHARS: u64 = 48;

/// `schema` with a `maxLength` on every string. Compatible servers (llama.cpp, vLLM) compile
/// the schema into a grammar, and a small model held only by "no extra fields" can write a
/// reason until it runs out of tokens; bounded strings make every reply that follows the
/// grammar fit the token budget. OpenAI's strict mode is not sent these: it may refuse them.
fn bounded(mut schema: Value) -> Value {
    fn walk(node: &mut Value, name: &str) {
        let Some(obj) = node.as_object_mut() else { return };
        let is_string = match obj.get("type") {
            Some(Value::String(t)) => t == "string",
            Some(Value::Array(ts)) => ts.iter().any(|t| t == "string"),
            _ => false,
        };
        if is_string && !obj.contains_key("maxLength") {
            let max = match name {
                "message" => MESSAGE_MAX_CHARS,
                "reason" => REASON_MAX_CHARS,
                _ => WORD_MAX_CHARS,
            };
            obj.insert("maxLength".into(), json!(max));
        }
        if let Some(Value::Object(props)) = obj.get_mut("properties") {
            for (key, child) in props.iter_mut() {
                walk(child, key);
            }
        }
        if let Some(items) = obj.get_mut("items") {
            walk(items, name);
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(options)) = obj.get_mut(key) {
                for option in options {
                    walk(option, name);
                }
            }
        }
    }
    walk(&mut schema, "");
    schema
}

/// The JSON body of a chat completion request.
pub fn request_body(model: &str, req: &Request, flavor: Flavor, stream: bool, seed: Option<u64>) -> Value {
    let mut messages = Vec::with_capacity(req.messages.len() + 1);
    if !req.system.is_empty() {
        messages.push(json!({"role": "system", "content": req.system}));
    }
    for m in &req.messages {
        let role = match m.role {
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        messages.push(json!({"role": role, "content": m.content}));
    }
    let temperature = if req.temperature.is_finite() { req.temperature.clamp(0.0, MAX_TEMPERATURE) } else { 0.0 };
    let mut body = json!({
        "model": model,
        "messages": messages,
        "temperature": temperature,
    });
    let max_key = match flavor {
        Flavor::OpenAi => "max_completion_tokens",
        Flavor::Compatible => "max_tokens",
    };
    body[max_key] = json!(req.max_tokens);
    if let Some(schema) = &req.schema {
        let schema = match flavor {
            Flavor::OpenAi => wire_schema(schema),
            Flavor::Compatible => bounded(wire_schema(schema)),
        };
        body["response_format"] = json!({
            "type": "json_schema",
            "json_schema": {"name": SCHEMA_NAME, "strict": true, "schema": schema},
        });
    }
    if let Some(seed) = seed {
        body["seed"] = json!(seed);
    }
    if stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u32>,
    #[serde(default)]
    completion_tokens: Option<u32>,
}

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<ReplyChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct ReplyChoice {
    message: ReplyMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ReplyMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

/// Reads a whole (not streamed) reply.
pub fn parse_reply(body: &[u8], req: &Request, requested_model: &str) -> Result<Completion, ProviderError> {
    let reply: Reply = serde_json::from_slice(body).map_err(|e| {
        ProviderError::Malformed(format!("the chat completion is not the expected JSON: {}", json_error(&e)))
    })?;
    let choice = reply
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| ProviderError::Malformed("the chat completion has no choice".into()))?;
    let text = choice.message.content.unwrap_or_default();
    finished(Finished {
        req,
        model: reply.model.unwrap_or_else(|| requested_model.to_string()),
        text,
        refusal: choice.message.refusal.unwrap_or_default(),
        finish_reason: choice.finish_reason,
        usage: reply.usage,
    })
}

/// What both reply paths end with.
struct Finished<'a> {
    req: &'a Request,
    model: String,
    text: String,
    refusal: String,
    finish_reason: Option<String>,
    usage: Option<WireUsage>,
}

fn finished(f: Finished<'_>) -> Result<Completion, ProviderError> {
    if !f.refusal.is_empty() {
        return Err(ProviderError::Refused { status: 200, message: f.refusal.chars().take(300).collect() });
    }
    match f.finish_reason.as_deref() {
        Some("length") if f.req.schema.is_some() => {
            return Err(ProviderError::Malformed(format!(
                "the answer was cut at the token limit ({} tokens) before its JSON ended",
                f.req.max_tokens
            )))
        }
        Some("content_filter") => {
            return Err(ProviderError::Refused {
                status: 200,
                message: "the provider's content filter stopped the answer".into(),
            })
        }
        _ => {}
    }
    if f.text.is_empty() {
        return Err(ProviderError::Malformed("the answer is empty".into()));
    }
    let usage = Usage {
        input_tokens: f.usage.as_ref().and_then(|u| u.prompt_tokens).unwrap_or_else(|| estimate_tokens(f.req)),
        output_tokens: f
            .usage
            .as_ref()
            .and_then(|u| u.completion_tokens)
            .unwrap_or_else(|| super::estimate_text_tokens(&f.text)),
    };
    Ok(Completion { text: f.text, usage, model: f.model })
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Option<ChunkDelta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChunkDelta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

/// A streamed reply being read, event by event.
#[derive(Debug)]
pub struct Stream {
    model: String,
    text: String,
    refusal: String,
    finish_reason: Option<String>,
    usage: Option<(Option<u32>, Option<u32>)>,
    done: bool,
}

impl Stream {
    /// Ready for the first event of a reply to a request for `requested_model`.
    pub fn new(requested_model: &str) -> Stream {
        Stream {
            model: requested_model.to_string(),
            text: String::new(),
            refusal: String::new(),
            finish_reason: None,
            usage: None,
            done: false,
        }
    }

    /// Takes one event; returns the text it adds, if any.
    pub fn on_event(&mut self, ev: &SseEvent, key: Option<&ApiKey>) -> Result<Option<String>, ProviderError> {
        if self.done {
            return Ok(None);
        }
        let data = ev.data.trim();
        if data == "[DONE]" {
            self.done = true;
            return Ok(None);
        }
        let json: Value = serde_json::from_str(data)
            .map_err(|e| ProviderError::Malformed(format!("a stream chunk is not JSON: {}", json_error(&e))))?;
        if json.get("error").is_some() {
            return Err(ErrorBody::from_json(&json).to_stream_error(key));
        }
        let chunk: Chunk = serde_json::from_value(json).map_err(|e| {
            ProviderError::Malformed(format!("a stream chunk is not a chat completion chunk: {}", json_error(&e)))
        })?;
        if let Some(model) = chunk.model.filter(|m| !m.is_empty()) {
            self.model = model;
        }
        if let Some(u) = chunk.usage {
            self.usage = Some((u.prompt_tokens, u.completion_tokens));
        }
        let mut added = String::new();
        for choice in chunk.choices {
            if let Some(reason) = choice.finish_reason {
                self.finish_reason = Some(reason);
            }
            if let Some(delta) = choice.delta {
                added.push_str(delta.content.as_deref().unwrap_or_default());
                self.refusal.push_str(delta.refusal.as_deref().unwrap_or_default());
            }
        }
        self.text.push_str(&added);
        Ok((!added.is_empty()).then_some(added))
    }

    /// Whether `[DONE]` arrived (nothing more to read).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The completion, once the stream has ended; a stream without `[DONE]` was cut.
    pub fn finish(self, req: &Request) -> Result<Completion, ProviderError> {
        if !self.done {
            return Err(ProviderError::Malformed("the stream ended before [DONE]: the answer was cut off".into()));
        }
        finished(Finished {
            req,
            model: self.model,
            text: self.text,
            refusal: self.refusal,
            finish_reason: self.finish_reason,
            usage: self.usage.map(|(p, c)| WireUsage { prompt_tokens: p, completion_tokens: c }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{Message, Task};
    use crate::provider::sse::SseParser;

    fn request(schema: bool) -> Request {
        Request {
            task: Task::Suggestion,
            system: "You are a mixing assistant.".into(),
            messages: vec![
                Message { role: Role::User, content: "Too bright?".into() },
                Message { role: Role::Assistant, content: "A little.".into() },
                Message { role: Role::User, content: "Fix it.".into() },
            ],
            schema: schema
                .then(|| json!({"$schema": "x", "type": "object", "properties": {"message": {"type": "string"}}})),
            max_tokens: 300,
            temperature: 0.0,
        }
    }

    #[test]
    fn request_bodies_per_flavor() {
        let body = request_body("gpt-4o-mini", &request(true), Flavor::OpenAi, true, Some(7));
        assert_eq!(body["model"], "gpt-4o-mini");
        let roles: Vec<&str> =
            body["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
        assert_eq!(roles, ["system", "user", "assistant", "user"]);
        assert_eq!(body["messages"][0]["content"], "You are a mixing assistant.");
        assert_eq!(body["max_completion_tokens"], 300);
        assert!(body.get("max_tokens").is_none());
        let rf = &body["response_format"];
        assert_eq!((rf["type"].as_str(), rf["json_schema"]["name"].as_str()), (Some("json_schema"), Some(SCHEMA_NAME)));
        assert_eq!(rf["json_schema"]["strict"], true);
        assert!(rf["json_schema"]["schema"].get("$schema").is_none(), "meta keys are not sent");
        assert_eq!(rf["json_schema"]["schema"]["type"], "object");
        assert_eq!(
            (body["stream"].as_bool(), body["stream_options"]["include_usage"].as_bool()),
            (Some(true), Some(true))
        );
        assert_eq!(body["seed"], 7);
        assert!(body.get("tools").is_none());

        // A compatible server gets every string bounded; OpenAI does not.
        let mut reply = request(true);
        reply.schema = Some(super::super::prompt::reply_schema());
        let body = request_body("qwen", &reply, Flavor::Compatible, false, None);
        let schema = &body["response_format"]["json_schema"]["schema"];
        assert_eq!(schema["properties"]["message"]["maxLength"], MESSAGE_MAX_CHARS);
        let change = &schema["properties"]["changes"]["items"]["properties"];
        assert_eq!(change["reason"]["maxLength"], REASON_MAX_CHARS);
        assert_eq!(change["param"]["maxLength"], WORD_MAX_CHARS);
        assert_eq!(change["evidence"]["properties"]["unit"]["maxLength"], WORD_MAX_CHARS);
        assert!(change["delta"].get("maxLength").is_none(), "numbers are left alone");
        let openai = request_body("gpt", &reply, Flavor::OpenAi, false, None);
        assert!(!openai["response_format"].to_string().contains("maxLength"));

        let body = request_body("qwen", &request(false), Flavor::Compatible, false, None);
        assert_eq!(body["max_tokens"], 300);
        assert!(body.get("max_completion_tokens").is_none() && body.get("response_format").is_none());
        assert!(body.get("stream").is_none() && body.get("seed").is_none() && body.get("tools").is_none());
        let mut hot = request(false);
        hot.temperature = f32::NAN;
        assert_eq!(request_body("m", &hot, Flavor::Compatible, false, None)["temperature"], 0.0);
    }

    #[test]
    fn whole_replies() {
        let req = request(true);
        let body = br#"{"id":"c1","object":"chat.completion","model":"gpt-4o-mini-2024","choices":[{"index":0,
            "message":{"role":"assistant","content":"{\"message\":\"ok\",\"changes\":[]}","refusal":null},
            "finish_reason":"stop"}],"usage":{"prompt_tokens":120,"completion_tokens":9,"total_tokens":129}}"#;
        let c = parse_reply(body, &req, "gpt-4o-mini").unwrap();
        assert_eq!(c.text, r#"{"message":"ok","changes":[]}"#);
        assert_eq!((c.usage.input_tokens, c.usage.output_tokens, c.model.as_str()), (120, 9, "gpt-4o-mini-2024"));

        let cut = br#"{"choices":[{"message":{"content":"{\"message\":\"o"},"finish_reason":"length"}]}"#;
        assert!(matches!(parse_reply(cut, &req, "m"), Err(ProviderError::Malformed(m)) if m.contains("token limit")));
        let refusal =
            br#"{"choices":[{"message":{"content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}"#;
        assert!(matches!(parse_reply(refusal, &req, "m"), Err(ProviderError::Refused { status: 200, .. })));
        assert!(matches!(parse_reply(b"<html>", &req, "m"), Err(ProviderError::Malformed(_))));
        assert!(matches!(parse_reply(br#"{"choices":[]}"#, &req, "m"), Err(ProviderError::Malformed(_))));
        // No usage from the server: estimated, never zero.
        let bare = br#"{"choices":[{"message":{"content":"hello there"},"finish_reason":"stop"}]}"#;
        let c = parse_reply(bare, &request(false), "local").unwrap();
        assert_eq!(c.model, "local");
        assert!(c.usage.input_tokens > 0 && c.usage.output_tokens > 0);
    }

    fn run(stream: &str) -> (Vec<String>, Result<Completion, ProviderError>) {
        let mut parser = SseParser::new();
        let mut s = Stream::new("m");
        let mut deltas = Vec::new();
        for ev in parser.push(stream.as_bytes()).unwrap() {
            match s.on_event(&ev, None) {
                Ok(Some(d)) => deltas.push(d),
                Ok(None) => {}
                Err(e) => return (deltas, Err(e)),
            }
        }
        (deltas, s.finish(&request(true)))
    }

    #[test]
    fn streamed_replies() {
        let stream = "data: {\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n\
            data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"{\\\"message\\\":\"}}]}\n\n\
            data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\\\"hé\\\",\\\"changes\\\":[]}\"},\"finish_reason\":\"stop\"}]}\n\n\
            data: {\"choices\":[],\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":12}}\n\n\
            data: [DONE]\n\n";
        let (deltas, done) = run(stream);
        let c = done.unwrap();
        assert_eq!(deltas, ["{\"message\":", "\"hé\",\"changes\":[]}"]);
        assert_eq!(c.text, deltas.concat());
        assert_eq!((c.model.as_str(), c.usage.input_tokens, c.usage.output_tokens), ("gpt-x", 50, 12));

        let (_, cut) = run("data: {\"choices\":[{\"delta\":{\"content\":\"{\"}}]}\n\n");
        assert!(matches!(cut, Err(ProviderError::Malformed(m)) if m.contains("[DONE]")));
        let (_, err) = run("data: {\"error\":{\"message\":\"quota\",\"type\":\"insufficient_quota\"}}\n\n");
        assert_eq!(err, Err(ProviderError::Quota));
        let (_, garbage) = run("data: {not json\n\n");
        assert!(matches!(garbage, Err(ProviderError::Malformed(_))));
    }
}
