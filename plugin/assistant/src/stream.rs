//! The text of a reply's `message` while the reply is still being written.
//!
//! A model answers with a JSON object whose `message` comes first (the schema's order, see
//! [`super::provider::encode`]). Showing the raw JSON as it streams would be noise; showing
//! nothing until the end wastes the seconds the model takes. [`MessageText`] decodes the
//! `message` string as its pieces arrive, escapes included, even when a piece ends halfway
//! through an escape, and stops at its closing quote.

/// Decodes the `message` field of a JSON reply from its streamed pieces.
#[derive(Clone, Debug, Default)]
pub struct MessageText {
    /// What was received and not decoded yet (a partial key or escape).
    raw: String,
    /// Where decoding resumes in `raw`.
    at: usize,
    state: State,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    /// Looking for `"message"` `:` `"`.
    #[default]
    Seeking,
    /// Inside the string.
    Inside,
    /// Past its closing quote.
    Done,
}

const KEY: &str = "\"message\"";

impl MessageText {
    /// Nothing received yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next piece of the reply; returns the message text it completes (possibly
    /// empty). Only what decoding still needs is kept (a partial key or escape), so memory
    /// does not grow with the reply.
    pub fn push(&mut self, piece: &str) -> String {
        if self.state == State::Done {
            return String::new();
        }
        self.raw.push_str(piece);
        let mut out = String::new();
        if self.state == State::Inside || self.seek() {
            self.decode(&mut out);
        }
        if self.state == State::Done {
            self.raw = String::new();
        } else {
            self.raw.drain(..self.at);
        }
        self.at = 0;
        out
    }

    /// Whether the whole message has been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Finds the start of the string value; `false` when more input is needed.
    fn seek(&mut self) -> bool {
        while let Some(found) = self.raw[self.at..].find(KEY) {
            let key_at = self.at + found;
            let rest = &self.raw[key_at + KEY.len()..];
            let after_ws = rest.trim_start();
            match after_ws.chars().next() {
                None => {
                    self.at = key_at;
                    return false;
                }
                Some(':') => {
                    let value = after_ws[1..].trim_start();
                    match value.chars().next() {
                        None => {
                            self.at = key_at;
                            return false;
                        }
                        Some('"') => {
                            self.at = self.raw.len() - value.len() + 1;
                            self.state = State::Inside;
                            return true;
                        }
                        // Not a string: not the field we want.
                        Some(_) => self.at = key_at + KEY.len(),
                    }
                }
                // `"message"` as a value, not a key.
                Some(_) => self.at = key_at + KEY.len(),
            }
        }
        // Keep the tail that could be the start of the key.
        self.at = self.raw.len().saturating_sub(KEY.len());
        while !self.raw.is_char_boundary(self.at) {
            self.at -= 1;
        }
        false
    }

    /// Decodes as far as the input allows.
    fn decode(&mut self, out: &mut String) {
        let bytes = self.raw.as_bytes();
        let mut i = self.at;
        while i < bytes.len() {
            match bytes[i] {
                b'"' => {
                    self.state = State::Done;
                    i += 1;
                    break;
                }
                b'\\' => match escape(&self.raw[i..]) {
                    Escape::Char(c, len) => {
                        out.push(c);
                        i += len;
                    }
                    Escape::Incomplete => break,
                    // A broken escape is shown as written rather than lost.
                    Escape::Invalid => {
                        out.push('\\');
                        i += 1;
                    }
                },
                _ => {
                    // Up to the next quote or backslash, whole characters.
                    let end = self.raw[i..].find(['"', '\\']).map_or(self.raw.len(), |n| i + n);
                    out.push_str(&self.raw[i..end]);
                    i = end;
                }
            }
        }
        self.at = i;
    }
}

enum Escape {
    Char(char, usize),
    Incomplete,
    Invalid,
}

/// The four hex digits of a `\uXXXX` escape at `at` in `b`.
enum Hex {
    Unit(u16),
    Incomplete,
    Invalid,
}

fn hex4(b: &[u8], at: usize) -> Hex {
    let digits = b.get(at..).unwrap_or_default();
    let mut unit = 0u16;
    for (n, &d) in digits.iter().take(4).enumerate() {
        // Hex digits only: `u16::from_str_radix` would also take a sign ("\u+123").
        let Some(v) = (d as char).to_digit(16) else { return Hex::Invalid };
        unit = unit << 4 | v as u16;
        if n == 3 {
            return Hex::Unit(unit);
        }
    }
    Hex::Incomplete
}

/// The escape at the start of `text` (which starts with a backslash). Works on bytes and
/// consumes ASCII only, so decoding always resumes on a character boundary, whatever follows.
/// A surrogate without its other half (`\uD83D` alone, `\uDE00` first) is U+FFFD, as in
/// WHATWG and most JSON decoders that do not refuse it.
fn escape(text: &str) -> Escape {
    let b = text.as_bytes();
    let Some(&kind) = b.get(1) else { return Escape::Incomplete };
    let simple = match kind {
        b'"' => Some('"'),
        b'\\' => Some('\\'),
        b'/' => Some('/'),
        b'b' => Some('\u{8}'),
        b'f' => Some('\u{c}'),
        b'n' => Some('\n'),
        b'r' => Some('\r'),
        b't' => Some('\t'),
        b'u' => None,
        _ => return Escape::Invalid,
    };
    if let Some(c) = simple {
        return Escape::Char(c, 2);
    }
    let high = match hex4(b, 2) {
        Hex::Unit(u) => u,
        Hex::Incomplete => return Escape::Incomplete,
        Hex::Invalid => return Escape::Invalid,
    };
    match high {
        0xD800..=0xDBFF => {}
        0xDC00..=0xDFFF => return Escape::Char(char::REPLACEMENT_CHARACTER, 6),
        // Not a surrogate: every other unit is a scalar value.
        _ => return char::from_u32(u32::from(high)).map_or(Escape::Invalid, |c| Escape::Char(c, 6)),
    }
    // A high surrogate wants `\uDC00`..`\uDFFF` right after it.
    let lone = Escape::Char(char::REPLACEMENT_CHARACTER, 6);
    match (b.get(6), b.get(7)) {
        (None, _) | (Some(b'\\'), None) => return Escape::Incomplete,
        (Some(b'\\'), Some(b'u')) => {}
        _ => return lone,
    }
    match hex4(b, 8) {
        Hex::Incomplete => Escape::Incomplete,
        Hex::Unit(low @ 0xDC00..=0xDFFF) => {
            let c = 0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
            char::from_u32(c).map_or(Escape::Invalid, |c| Escape::Char(c, 12))
        }
        // Another escape follows: it is read on its own.
        Hex::Unit(_) | Hex::Invalid => lone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `reply` cut into pieces of `size` characters.
    fn streamed(reply: &str, size: usize) -> (String, bool) {
        let mut m = MessageText::new();
        let chars: Vec<char> = reply.chars().collect();
        let text: String = chars.chunks(size).map(|c| m.push(&c.iter().collect::<String>())).collect();
        (text, m.is_done())
    }

    #[test]
    fn the_message_comes_out_whole_however_the_reply_is_cut() {
        let reply = r#"{ "message" : "Trop de 250 Hz \u00e0 1:45 \ud83c\udfb8 \"boueux\"\n\\ fin", "changes": [{"param": "b1_gain", "reason": "message"}]}"#;
        let expected = "Trop de 250 Hz à 1:45 🎸 \"boueux\"\n\\ fin";
        for size in 1..=reply.len() {
            assert_eq!(streamed(reply, size), (expected.to_string(), true), "pieces of {size}");
        }
    }

    #[test]
    fn text_before_the_key_and_other_fields_are_ignored() {
        // Changes first (a server that ignores the order), with "message" inside a reason.
        let reply = r#"{"changes":[{"reason":"the \"message\": \"x\" here"}],"message":"Voilà."}"#;
        assert_eq!(streamed(reply, 3), ("Voilà.".to_string(), true));
        // Not JSON at all: nothing to show, and never done.
        assert_eq!(streamed("Sure! Here is my answer.", 4), (String::new(), false));
        // A message that is not a string.
        assert_eq!(streamed(r#"{"message": 12, "x": "message"}"#, 2), (String::new(), false));
    }

    #[test]
    fn a_broken_escape_is_shown_not_lost() {
        assert_eq!(streamed(r#"{"message":"a\qb\uZZZZc"}"#, 2).0, "a\\qb\\uZZZZc");
    }

    #[test]
    fn a_lone_surrogate_is_a_replacement_character_whatever_follows() {
        // The reply that crashed `suggest` and `chat`: a high surrogate, then a two-byte é.
        let reply = r#"{"message":"a\uD83Dé b\udE00c\uD83D\u0041 \uD83D\n\uD83D\uD83D\uDE00!"}"#;
        let expected = "a\u{FFFD}é b\u{FFFD}c\u{FFFD}A \u{FFFD}\n\u{FFFD}😀!";
        for size in 1..=reply.chars().count() {
            assert_eq!(streamed(reply, size), (expected.to_string(), true), "pieces of {size}");
        }
    }

    #[test]
    fn memory_stays_bounded_by_what_decoding_needs() {
        let mut m = MessageText::new();
        m.push(&"x".repeat(100_000));
        assert!(m.raw.len() <= KEY.len());
        m.push("{\"message\": \"");
        for _ in 0..1000 {
            assert_eq!(m.push(&"é".repeat(100)).chars().count(), 100);
        }
        assert!(m.raw.is_empty());
        m.push("\\u00");
        assert_eq!(m.raw, "\\u00");
        assert_eq!(m.push("e9\" and after"), "é");
        assert_eq!(m.push(&"y".repeat(10_000)), "");
        assert!(m.is_done() && m.raw.is_empty());
    }

    mod props {
        use super::super::MessageText;
        use proptest::prelude::*;

        /// One element of a JSON string's inside: a character as it is (multi-byte ones
        /// included), a short escape, a `\uXXXX` of any unit (surrogates more often), or a
        /// broken escape.
        fn element() -> impl Strategy<Value = String> {
            prop_oneof![
                3 => any::<char>().prop_filter("not a quote or backslash", |c| !matches!(c, '"' | '\\')).prop_map(String::from),
                1 => prop::sample::select(vec!["\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"]).prop_map(String::from),
                2 => (any::<u16>(), any::<bool>())
                    .prop_map(|(u, upper)| if upper { format!("\\u{u:04X}") } else { format!("\\u{u:04x}") }),
                2 => (0xD800u16..0xE000).prop_map(|u| format!("\\u{u:04X}")),
                1 => prop::sample::select(vec!["\\q", "\\u12", "\\uZZZZ", "\\u+123", "\\", "\\u", "\\uD83D\\u", "\\uD83D\\uZ"])
                    .prop_map(String::from),
            ]
        }

        /// `text` cut at the given points (moved back to character boundaries).
        fn split<'a>(text: &'a str, cuts: &[prop::sample::Index]) -> Vec<&'a str> {
            let mut at: Vec<usize> = cuts
                .iter()
                .map(|c| {
                    let mut i = c.index(text.len() + 1);
                    while !text.is_char_boundary(i) {
                        i -= 1;
                    }
                    i
                })
                .collect();
            at.sort_unstable();
            at.dedup();
            let mut pieces = Vec::new();
            let mut from = 0;
            for i in at.into_iter().chain([text.len()]) {
                pieces.push(&text[from..i]);
                from = i;
            }
            pieces
        }

        fn decode(pieces: &[&str]) -> (String, bool) {
            let mut m = MessageText::new();
            let text = pieces.iter().map(|p| m.push(p)).collect();
            (text, m.is_done())
        }

        /// `s` as a JSON string with every character outside ASCII escaped, as an
        /// `ensure_ascii` encoder writes it (surrogate pairs above U+FFFF).
        fn ascii_json(s: &str) -> String {
            let mut out = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    ' '..='~' => out.push(c),
                    _ => {
                        let mut units = [0u16; 2];
                        for u in c.encode_utf16(&mut units) {
                            out.push_str(&format!("\\u{u:04x}"));
                        }
                    }
                }
            }
            out.push('"');
            out
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn any_escapes_split_anywhere_never_panic_and_decode_as_serde_json_does(
                parts in prop::collection::vec(element(), 0..40),
                cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
            ) {
                let doc = format!("{{\"message\": \"{}\", \"changes\": []}}", parts.concat());
                let (text, done) = decode(&split(&doc, &cuts));
                // However the reply is cut, the same text as in one piece.
                prop_assert_eq!(&text, &decode(&[doc.as_str()]).0);
                // Valid JSON decodes exactly as serde_json decodes it.
                if let Ok(value) = serde_json::from_str::<serde_json::Value>(&doc) {
                    prop_assert_eq!(Some(text.as_str()), value["message"].as_str());
                    prop_assert!(done);
                }
            }

            #[test]
            fn any_string_json_encoded_decodes_to_itself(
                s in any::<String>(),
                ascii in any::<bool>(),
                cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
            ) {
                let encoded = if ascii { ascii_json(&s) } else { serde_json::to_string(&s).unwrap() };
                let doc = format!("{{\"message\":{encoded},\"changes\":[]}}");
                let value: serde_json::Value = serde_json::from_str(&doc).unwrap();
                prop_assert_eq!(value["message"].as_str(), Some(s.as_str()));
                prop_assert_eq!(decode(&split(&doc, &cuts)), (s, true));
            }
        }
    }
}
