//! Server-sent events, incrementally: bytes in as they arrive, whole events out.
//!
//! The subset of the WHATWG HTML "Server-sent events" parsing rules both providers use:
//! lines end with LF, CRLF or CR; a blank line dispatches the event; `data:` lines are joined
//! with LF; `event:` names the event; a line starting with `:` is a comment (keep-alive);
//! a single space after the colon is dropped; `id:` and `retry:` are ignored. Bytes are
//! buffered until a line is complete, so a UTF-8 character split across two network chunks is
//! decoded whole.

/// One dispatched event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field (Anthropic names every event); `None` when absent (OpenAI).
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Longest line kept while waiting for its end, bytes. A provider's chunk is a few hundred
/// bytes; a server that never ends a line must not grow this buffer without bound.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// An incremental parser. Feed it with [`SseParser::push`]; it hands back the events completed
/// by those bytes.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the line not yet ended.
    line: Vec<u8>,
    /// The previous byte was a CR: a LF right after it belongs to the same line end.
    after_cr: bool,
    /// The event being assembled.
    event: Option<String>,
    data: Option<String>,
}

/// The stream broke the SSE framing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a server-sent event line is longer than {MAX_LINE_BYTES} bytes")]
pub struct LineTooLong;

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Consumes `bytes` and returns the events they complete, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<SseEvent>, LineTooLong> {
        let mut out = Vec::new();
        for &b in bytes {
            match b {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    if let Some(ev) = self.line_done(&line) {
                        out.push(ev);
                    }
                }
                _ => {
                    self.after_cr = false;
                    if self.line.len() == MAX_LINE_BYTES {
                        return Err(LineTooLong);
                    }
                    self.line.push(b);
                }
            }
        }
        Ok(out)
    }

    /// Whether bytes of an unfinished event are pending (a stream that ends here was cut).
    pub fn has_partial(&self) -> bool {
        !self.line.is_empty() || self.data.is_some()
    }

    fn line_done(&mut self, line: &[u8]) -> Option<SseEvent> {
        if line.is_empty() {
            // Blank line: dispatch, unless no data arrived (then only reset, as the spec says).
            let event = self.event.take();
            return self.data.take().map(|data| SseEvent { event, data });
        }
        let line = String::from_utf8_lossy(line);
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (&*line, ""),
        };
        match field {
            "data" => match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            "event" => self.event = Some(value.to_string()),
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(parser: &mut SseParser, chunks: &[&[u8]]) -> Vec<SseEvent> {
        chunks.iter().flat_map(|c| parser.push(c).unwrap()).collect()
    }

    fn ev(event: Option<&str>, data: &str) -> SseEvent {
        SseEvent { event: event.map(String::from), data: data.into() }
    }

    #[test]
    fn events_split_anywhere_come_out_whole() {
        let stream = "event: message_start\ndata: {\"a\":1}\n\n: keep-alive\n\ndata: x\ndata:  y\n\ndata: [DONE]\n\n";
        let whole = all(&mut SseParser::new(), &[stream.as_bytes()]);
        assert_eq!(whole, vec![ev(Some("message_start"), "{\"a\":1}"), ev(None, "x\n y"), ev(None, "[DONE]")]);
        // Byte by byte gives the same events.
        let bytes: Vec<&[u8]> = stream.as_bytes().chunks(1).collect();
        assert_eq!(all(&mut SseParser::new(), &bytes), whole);
    }

    #[test]
    fn crlf_cr_and_split_utf8() {
        let text = "data: é😀\r\n\r\ndata: b\r\rdata: c\n\n";
        let bytes = text.as_bytes();
        // Split inside the two-byte é and the four-byte emoji.
        let mut p = SseParser::new();
        let got = all(&mut p, &[&bytes[..7], &bytes[7..10], &bytes[10..]]);
        assert_eq!(got, vec![ev(None, "é😀"), ev(None, "b"), ev(None, "c")]);
        assert!(!p.has_partial());
    }

    #[test]
    fn a_cut_event_is_pending_and_a_runaway_line_is_refused() {
        let mut p = SseParser::new();
        assert!(p.push(b"data: {\"choices\":").unwrap().is_empty());
        assert!(p.has_partial());
        let mut p = SseParser::new();
        assert_eq!(p.push(&vec![b'a'; MAX_LINE_BYTES + 1]), Err(LineTooLong));
    }
}
