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
    /// Everything received.
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
    /// empty).
    pub fn push(&mut self, piece: &str) -> String {
        self.raw.push_str(piece);
        let mut out = String::new();
        loop {
            match self.state {
                State::Seeking => {
                    if !self.seek() {
                        return out;
                    }
                }
                State::Inside => {
                    self.decode(&mut out);
                    return out;
                }
                State::Done => return out,
            }
        }
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

/// The escape at the start of `text` (which starts with a backslash).
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
    let unit = |at: usize| -> Option<Result<u16, ()>> {
        let hex = text.get(at..at + 4)?;
        Some(u16::from_str_radix(hex, 16).map_err(|_| ()))
    };
    let high = match unit(2) {
        None => return if text.len() < 6 { Escape::Incomplete } else { Escape::Invalid },
        Some(Err(())) => return Escape::Invalid,
        Some(Ok(u)) => u,
    };
    if !(0xD800..0xDC00).contains(&high) {
        return char::from_u32(u32::from(high)).map_or(Escape::Invalid, |c| Escape::Char(c, 6));
    }
    // A surrogate pair: `\uD83D\uDE00`.
    if text.len() < 12 {
        return if text.get(6..).is_some_and(|t| !"\\u".starts_with(&t[..t.len().min(2)])) {
            Escape::Invalid
        } else {
            Escape::Incomplete
        };
    }
    if &text[6..8] != "\\u" {
        return Escape::Invalid;
    }
    match unit(8) {
        Some(Ok(low)) if (0xDC00..0xE000).contains(&low) => {
            let c = 0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
            char::from_u32(c).map_or(Escape::Invalid, |c| Escape::Char(c, 12))
        }
        _ => Escape::Invalid,
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
}
