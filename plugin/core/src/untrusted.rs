//! Text from outside (a model's reply, the musician's words, a log file, the command line) can
//! be of any length. Two helpers keep it bounded wherever it goes: [`excerpt`] when a message
//! repeats it, [`read_line`] when it is read line by line.

use std::borrow::Cow;
use std::io::{self, BufRead};

/// Most characters of untrusted text a message repeats.
pub const EXCERPT_CHARS: usize = 60;

/// `text` as a message may quote it: whole when it has at most [`EXCERPT_CHARS`] characters,
/// else their first [`EXCERPT_CHARS`] and "…". See [`excerpt_to`].
pub fn excerpt(text: &str) -> Cow<'_, str> {
    excerpt_to(text, EXCERPT_CHARS)
}

/// `text` cut to its first `max_chars` characters, with "…" when something was cut; control
/// characters (a terminal escape, a line break) become spaces. Reads at most `max_chars + 1`
/// characters of `text`, however long it is.
pub fn excerpt_to(text: &str, max_chars: usize) -> Cow<'_, str> {
    let mut end = text.len();
    let mut cut = false;
    for (n, (i, _)) in text.char_indices().enumerate() {
        if n == max_chars {
            (end, cut) = (i, true);
            break;
        }
    }
    let head = &text[..end];
    if !cut && !head.chars().any(char::is_control) {
        return Cow::Borrowed(head);
    }
    let mut out: String = head.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if cut {
        out.push('…');
    }
    Cow::Owned(out)
}

/// Most characters of a whole message built around untrusted text (a JSON error) kept.
const MESSAGE_CHARS: usize = 160;

/// A JSON parse error of untrusted text, its message cut short and its position kept:
/// serde_json repeats a value it did not expect in full (`invalid type: string "…"`, ``unknown
/// field `…` ``), whatever its length.
pub fn json_error(e: &serde_json::Error) -> String {
    let full = e.to_string();
    if e.line() == 0 {
        return excerpt_to(&full, MESSAGE_CHARS).into_owned();
    }
    let message = full.rfind(" at line ").map_or(full.as_str(), |i| &full[..i]);
    format!("{} at line {} column {}", excerpt_to(message, MESSAGE_CHARS), e.line(), e.column())
}

/// What [`read_line`] read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line {
    /// A whole line; its bytes are in the buffer, without the line end (`\n` or `\r\n`).
    Whole,
    /// A line longer than the limit: the buffer holds its first `limit` bytes, the rest was
    /// read and dropped. `bytes` is its whole length.
    TooLong {
        /// Bytes in the line, its end excluded.
        bytes: u64,
    },
}

/// Reads the next line of `input` into `buf` (emptied first), keeping at most `limit` bytes of
/// it: memory stays bounded whatever the input holds (`/dev/zero`, a pasted book). `None` at
/// the end of the input. The last line needs no line end.
pub fn read_line(input: &mut impl BufRead, buf: &mut Vec<u8>, limit: usize) -> io::Result<Option<Line>> {
    buf.clear();
    let mut bytes: u64 = 0;
    let (mut any, mut ended, mut last) = (false, false, None);
    while !ended {
        let chunk = match input.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            if !any {
                return Ok(None);
            }
            break;
        }
        any = true;
        let (piece, used) = match memchr::memchr(b'\n', chunk) {
            Some(i) => {
                ended = true;
                (&chunk[..i], i + 1)
            }
            None => (chunk, chunk.len()),
        };
        let room = limit.saturating_sub(buf.len());
        buf.extend_from_slice(&piece[..piece.len().min(room)]);
        bytes += piece.len() as u64;
        last = piece.last().copied().or(last);
        input.consume(used);
    }
    // A CRLF line end: the CR is not part of the line.
    if ended && last == Some(b'\r') {
        bytes -= 1;
        buf.truncate(bytes.min(buf.len() as u64) as usize);
    }
    Ok(Some(if bytes > limit as u64 { Line::TooLong { bytes } } else { Line::Whole }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept_and_long_text_is_cut_with_an_ellipsis() {
        assert_eq!(excerpt("b1_gain=-3dB"), "b1_gain=-3dB");
        assert!(matches!(excerpt("short"), Cow::Borrowed(_)));
        let long = "é".repeat(5_000_000);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with("é…"));
        assert_eq!(excerpt_to("abc", 3), "abc");
        assert_eq!(excerpt_to("abcd", 3), "abc…");
        assert_eq!(excerpt_to("a\u{1b}[2Jb\nc", 10), "a [2Jb c");
    }

    /// A reply with one field, read strictly, as the assistant reads a model's.
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Reply {
        message: String,
    }

    #[test]
    fn json_errors_keep_their_position_not_the_whole_value() {
        let text = format!("{{\"message\": 3, \"{}\": 1}}", "k".repeat(5_000_000));
        let e = serde_json::from_str::<Reply>(&text).unwrap_err();
        let short = json_error(&e);
        assert!(short.len() < 400, "{} bytes", short.len());
        assert!(short.starts_with("invalid type: integer `3`, expected a string at line 1 column 13"), "{short}");
        let e = serde_json::from_str::<Reply>(&text.replace("3", "\"m\"")).unwrap_err();
        let short = json_error(&e);
        assert!(short.starts_with("unknown field `kkk") && short.contains("…"), "{short}");
        assert!(short.ends_with("at line 1 column 5000019"), "{short}");
    }

    fn lines(input: &[u8], limit: usize) -> Vec<(String, Line)> {
        let mut reader = io::BufReader::with_capacity(3, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while let Some(line) = read_line(&mut reader, &mut buf, limit).unwrap() {
            out.push((String::from_utf8_lossy(&buf).into_owned(), line));
        }
        out
    }

    #[test]
    fn lines_are_read_whole_or_cut_at_the_limit() {
        let got = lines(b"one\r\ntwo\n\nlong line here\nlast", 8);
        let whole = |s: &str| (s.to_string(), Line::Whole);
        assert_eq!(
            got,
            [
                whole("one"),
                whole("two"),
                whole(""),
                ("long lin".to_string(), Line::TooLong { bytes: 14 }),
                whole("last")
            ]
        );
        assert!(lines(b"", 8).is_empty());
        assert_eq!(lines(b"12345678\r\n", 8), [whole("12345678")]);
        // An endless line is read in bounded memory.
        let zeros = io::Read::take(io::repeat(0), 10 << 20);
        let mut reader = io::BufReader::new(zeros);
        let mut buf = Vec::new();
        assert_eq!(read_line(&mut reader, &mut buf, 100).unwrap(), Some(Line::TooLong { bytes: 10 << 20 }));
        assert_eq!((buf.len(), buf.capacity() < 4096), (100, true));
        assert_eq!(read_line(&mut reader, &mut buf, 100).unwrap(), None);
    }
}
