//! Anthropic messages (`POST {base}/messages`, headers `x-api-key` and `anthropic-version`).
//!
//! Pure: the request body from a [`Request`], the reply (whole or streamed) back to a
//! [`Completion`]. A structured answer is asked for as a forced tool call: one tool, `reply`,
//! whose `input_schema` is the reply schema, and `tool_choice: {type: "tool", name: "reply"}`;
//! the tool's input is the answer.
//!
//! Streaming: named events `message_start` (model, input tokens), `content_block_start`,
//! `content_block_delta` (`text_delta` text or `input_json_delta` partial JSON),
//! `content_block_stop`, `message_delta` (stop reason, output tokens), `message_stop`, plus
//! `ping` and `error`. A stream that ends without `message_stop` was cut.

use super::sse::SseEvent;
use super::status::ErrorBody;
use super::{estimate_text_tokens, estimate_tokens, wire_schema, ApiKey};
use crate::llm::{Completion, ProviderError, Request, Role, Usage};
use audiocollab_core::untrusted::json_error;
use serde_json::{json, Value};

/// The API version sent in `anthropic-version`.
pub const API_VERSION: &str = "2023-06-01";

/// Name of the tool the structured answer is asked for through.
pub const TOOL_NAME: &str = "reply";

/// Anthropic accepts temperatures in 0..=1.
const MAX_TEMPERATURE: f32 = 1.0;

/// The JSON body of a messages request.
pub fn request_body(model: &str, req: &Request, stream: bool) -> Value {
    let messages: Vec<Value> = req
        .messages
        .iter()
        .map(|m| {
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            json!({"role": role, "content": m.content})
        })
        .collect();
    let temperature = if req.temperature.is_finite() { req.temperature.clamp(0.0, MAX_TEMPERATURE) } else { 0.0 };
    let mut body = json!({
        "model": model,
        "max_tokens": req.max_tokens,
        "messages": messages,
        "temperature": temperature,
    });
    if !req.system.is_empty() {
        body["system"] = json!(req.system);
    }
    if let Some(schema) = &req.schema {
        body["tools"] = json!([{
            "name": TOOL_NAME,
            "description": "Give your answer: a message for the musician and the parameter changes you propose.",
            "input_schema": wire_schema(schema),
        }]);
        body["tool_choice"] = json!({"type": "tool", "name": TOOL_NAME});
    }
    if stream {
        body["stream"] = json!(true);
    }
    body
}

/// Reads a whole (not streamed) reply.
pub fn parse_reply(body: &[u8], req: &Request, requested_model: &str) -> Result<Completion, ProviderError> {
    let reply: Value = serde_json::from_slice(body)
        .map_err(|e| ProviderError::Malformed(format!("the message is not JSON: {}", json_error(&e))))?;
    let blocks = reply
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| ProviderError::Malformed("the message has no content".into()))?;
    let mut text = String::new();
    let mut tool_input = None;
    for block in blocks {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(block.get("text").and_then(Value::as_str).unwrap_or_default()),
            Some("tool_use") if block.get("name").and_then(Value::as_str) == Some(TOOL_NAME) => {
                tool_input = block.get("input").map(Value::to_string);
            }
            _ => {}
        }
    }
    let usage = reply.get("usage");
    let count =
        |name: &str| usage.and_then(|u| u.get(name)).and_then(Value::as_u64).map(|n| n.min(u64::from(u32::MAX)) as u32);
    finished(Finished {
        req,
        model: reply.get("model").and_then(Value::as_str).unwrap_or(requested_model).to_string(),
        text: if req.schema.is_some() { tool_input.unwrap_or_default() } else { text },
        stop_reason: reply.get("stop_reason").and_then(Value::as_str).map(String::from),
        input_tokens: count("input_tokens"),
        output_tokens: count("output_tokens"),
    })
}

struct Finished<'a> {
    req: &'a Request,
    model: String,
    text: String,
    stop_reason: Option<String>,
    input_tokens: Option<u32>,
    output_tokens: Option<u32>,
}

fn finished(f: Finished<'_>) -> Result<Completion, ProviderError> {
    match f.stop_reason.as_deref() {
        Some("max_tokens") if f.req.schema.is_some() => {
            return Err(ProviderError::Malformed(format!(
                "the answer was cut at the token limit ({} tokens) before its JSON ended",
                f.req.max_tokens
            )))
        }
        Some("refusal") => {
            return Err(ProviderError::Refused { status: 200, message: "the model declined to answer".into() })
        }
        _ => {}
    }
    if f.text.is_empty() {
        let what = if f.req.schema.is_some() { "no `reply` tool call in the answer" } else { "the answer is empty" };
        return Err(ProviderError::Malformed(what.into()));
    }
    let usage = Usage {
        input_tokens: f.input_tokens.unwrap_or_else(|| estimate_tokens(f.req)),
        output_tokens: f.output_tokens.unwrap_or_else(|| estimate_text_tokens(&f.text)),
    };
    Ok(Completion { text: f.text, usage, model: f.model })
}

/// A streamed reply being read, event by event.
#[derive(Debug)]
pub struct Stream {
    /// Tool input is the answer (the request had a schema), not text blocks.
    structured: bool,
    model: String,
    text: String,
    stop_reason: Option<String>,
    input_tokens: Option<u32>,
    output_tokens: Option<u32>,
    done: bool,
}

impl Stream {
    /// Ready for the first event of a reply to `req` for `requested_model`.
    pub fn new(req: &Request, requested_model: &str) -> Stream {
        Stream {
            structured: req.schema.is_some(),
            model: requested_model.to_string(),
            text: String::new(),
            stop_reason: None,
            input_tokens: None,
            output_tokens: None,
            done: false,
        }
    }

    /// Takes one event; returns the text it adds to the answer, if any.
    pub fn on_event(&mut self, ev: &SseEvent, key: Option<&ApiKey>) -> Result<Option<String>, ProviderError> {
        if self.done {
            return Ok(None);
        }
        let data: Value = serde_json::from_str(&ev.data)
            .map_err(|e| ProviderError::Malformed(format!("a stream event is not JSON: {}", json_error(&e))))?;
        let kind = data.get("type").and_then(Value::as_str).or(ev.event.as_deref()).unwrap_or_default();
        let count = |v: Option<&Value>, name: &str| {
            v.and_then(|u| u.get(name)).and_then(Value::as_u64).map(|n| n.min(u64::from(u32::MAX)) as u32)
        };
        match kind {
            "message_start" => {
                let message = data.get("message");
                if let Some(model) = message.and_then(|m| m.get("model")).and_then(Value::as_str) {
                    self.model = model.to_string();
                }
                let usage = message.and_then(|m| m.get("usage"));
                self.input_tokens = count(usage, "input_tokens").or(self.input_tokens);
                self.output_tokens = count(usage, "output_tokens").or(self.output_tokens);
            }
            "content_block_delta" => {
                let delta = data.get("delta");
                let piece = match (delta.and_then(|d| d.get("type")).and_then(Value::as_str), self.structured) {
                    (Some("text_delta"), false) => delta.and_then(|d| d.get("text")),
                    (Some("input_json_delta"), true) => delta.and_then(|d| d.get("partial_json")),
                    _ => None,
                };
                if let Some(piece) = piece.and_then(Value::as_str).filter(|p| !p.is_empty()) {
                    self.text.push_str(piece);
                    return Ok(Some(piece.to_string()));
                }
            }
            "message_delta" => {
                if let Some(reason) = data.get("delta").and_then(|d| d.get("stop_reason")).and_then(Value::as_str) {
                    self.stop_reason = Some(reason.to_string());
                }
                // Cumulative count of the output so far.
                self.output_tokens = count(data.get("usage"), "output_tokens").or(self.output_tokens);
            }
            "message_stop" => self.done = true,
            "error" => return Err(ErrorBody::from_json(&data).to_stream_error(key)),
            // ping, content_block_start/stop, and events added after this was written.
            _ => {}
        }
        Ok(None)
    }

    /// Whether `message_stop` arrived (nothing more to read).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The completion, once the stream has ended; a stream without `message_stop` was cut.
    pub fn finish(self, req: &Request) -> Result<Completion, ProviderError> {
        if !self.done {
            return Err(ProviderError::Malformed(
                "the stream ended before message_stop: the answer was cut off".into(),
            ));
        }
        finished(Finished {
            req,
            model: self.model,
            text: self.text,
            stop_reason: self.stop_reason,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
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
            task: Task::Chat,
            system: "You are a mixing assistant.".into(),
            messages: vec![Message { role: Role::User, content: "Too bright?".into() }],
            schema: schema
                .then(|| json!({"$id": "x", "type": "object", "properties": {"message": {"type": "string"}}})),
            max_tokens: 512,
            temperature: 1.7,
        }
    }

    #[test]
    fn request_bodies() {
        let body = request_body("claude-x", &request(true), true);
        assert_eq!((body["model"].as_str(), body["max_tokens"].as_u64()), (Some("claude-x"), Some(512)));
        assert_eq!(body["system"], "You are a mixing assistant.");
        assert_eq!(body["messages"], json!([{"role": "user", "content": "Too bright?"}]));
        assert_eq!(body["temperature"], 1.0, "clamped to Anthropic's range");
        assert_eq!(body["tools"][0]["name"], TOOL_NAME);
        assert_eq!(
            body["tools"][0]["input_schema"],
            json!({"type": "object", "properties": {"message": {"type": "string"}}})
        );
        assert_eq!(body["tool_choice"], json!({"type": "tool", "name": TOOL_NAME}));
        assert_eq!(body["stream"], true);
        let plain = request_body("claude-x", &request(false), false);
        assert!(plain.get("tools").is_none() && plain.get("tool_choice").is_none() && plain.get("stream").is_none());
    }

    #[test]
    fn whole_replies() {
        let body = br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-x-2025",
            "content":[{"type":"tool_use","id":"toolu_1","name":"reply","input":{"message":"ok","changes":[]}}],
            "stop_reason":"tool_use","usage":{"input_tokens":210,"output_tokens":31}}"#;
        let c = parse_reply(body, &request(true), "claude-x").unwrap();
        assert_eq!(serde_json::from_str::<Value>(&c.text).unwrap(), json!({"message": "ok", "changes": []}));
        assert_eq!((c.usage.input_tokens, c.usage.output_tokens, c.model.as_str()), (210, 31, "claude-x-2025"));
        let text =
            br#"{"content":[{"type":"text","text":"Hello "},{"type":"text","text":"there"}],"stop_reason":"end_turn"}"#;
        assert_eq!(parse_reply(text, &request(false), "m").unwrap().text, "Hello there");
        assert!(
            matches!(parse_reply(text, &request(true), "m"), Err(ProviderError::Malformed(m)) if m.contains("tool"))
        );
        let cut = br#"{"content":[{"type":"tool_use","name":"reply","input":{}}],"stop_reason":"max_tokens"}"#;
        assert!(
            matches!(parse_reply(cut, &request(true), "m"), Err(ProviderError::Malformed(m)) if m.contains("token limit"))
        );
    }

    fn run(req: &Request, stream: &str) -> (Vec<String>, Result<Completion, ProviderError>) {
        let mut parser = SseParser::new();
        let mut s = Stream::new(req, "m");
        let mut deltas = Vec::new();
        for ev in parser.push(stream.as_bytes()).unwrap() {
            match s.on_event(&ev, None) {
                Ok(Some(d)) => deltas.push(d),
                Ok(None) => {}
                Err(e) => return (deltas, Err(e)),
            }
        }
        (deltas, s.finish(req))
    }

    const TOOL_STREAM: &str = "event: message_start\n\
        data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-x\",\"content\":[],\"usage\":{\"input_tokens\":472,\"output_tokens\":2}}}\n\n\
        event: content_block_start\n\
        data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"reply\",\"input\":{}}}\n\n\
        event: ping\ndata: {\"type\": \"ping\"}\n\n\
        event: content_block_delta\n\
        data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"message\\\": \\\"Moins\"}}\n\n\
        event: content_block_delta\n\
        data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\" de boue.\\\", \\\"changes\\\": []}\"}}\n\n\
        event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
        event: message_delta\n\
        data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":89}}\n\n";

    #[test]
    fn streamed_tool_replies() {
        let req = request(true);
        let (deltas, c) =
            run(&req, &format!("{TOOL_STREAM}event: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n"));
        let c = c.unwrap();
        assert_eq!(deltas.len(), 2);
        assert_eq!(c.text, deltas.concat());
        assert_eq!(serde_json::from_str::<Value>(&c.text).unwrap()["message"], "Moins de boue.");
        assert_eq!((c.usage.input_tokens, c.usage.output_tokens, c.model.as_str()), (472, 89, "claude-x"));
        let (_, cut) = run(&req, TOOL_STREAM);
        assert!(matches!(cut, Err(ProviderError::Malformed(m)) if m.contains("message_stop")));
        let (_, overloaded) = run(
            &req,
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
        );
        assert_eq!(overloaded, Err(ProviderError::Server(529)));
    }

    #[test]
    fn streamed_text_replies() {
        let req = request(false);
        let stream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"c\",\"usage\":{\"input_tokens\":5}}}\n\n\
            event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Bon\"}}\n\n\
            event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"jour\"}}\n\n\
            event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\n\
            event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        let (deltas, c) = run(&req, stream);
        assert_eq!(deltas, ["Bon", "jour"]);
        assert_eq!(c.unwrap().text, "Bonjour");
    }
}
