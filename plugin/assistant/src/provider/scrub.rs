//! Privacy: what is removed from the musician's words before they leave the machine.
//!
//! [`scrub`] replaces e-mail addresses, phone numbers (international `+33 6 12 34 56 78`,
//! `0033 …`, French national `06 12 34 56 78`, `06.12.34.56.78`, `0612345678`) and file
//! paths (`/home/…`, `~/…`, `C:\…`, `\\server\share`, `file://…`) with a placeholder. It is
//! tuned to leave mixing talk alone: "−3 dB at 250 Hz", "1:45", "4:1", "24 dB/oct",
//! "-14 LUFS", "AC/DC" pass unchanged.
//!
//! Hand-written scanners rather than regular expressions: the plugin binary needs no regex
//! engine for three small patterns, and each rule below is spelled out where it is decided.

/// Stands for a removed e-mail address.
pub const EMAIL: &str = "[email]";
/// Stands for a removed phone number.
pub const PHONE: &str = "[phone]";
/// Stands for a removed file path.
pub const PATH: &str = "[path]";

/// Longest phone number looked at, characters (`+33 (0)6 12 34 56 78` is 20).
const MAX_PHONE_CHARS: usize = 32;

/// `text` without e-mail addresses, phone numbers and file paths.
pub fn scrub(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let chars = replace_spans(&chars, email_spans(&chars), EMAIL);
    let chars = replace_spans(&chars, path_spans(&chars), PATH);
    let chars = replace_spans(&chars, phone_spans(&chars), PHONE);
    chars.into_iter().collect()
}

/// `chars` with each (sorted, disjoint) `start..end` span replaced by `with`.
fn replace_spans(chars: &[char], spans: Vec<(usize, usize)>, with: &str) -> Vec<char> {
    let mut out = Vec::with_capacity(chars.len());
    let mut at = 0;
    for (start, end) in spans {
        out.extend_from_slice(&chars[at..start]);
        out.extend(with.chars());
        at = end;
    }
    out.extend_from_slice(&chars[at..]);
    out
}

fn is_local_char(c: char) -> bool {
    c.is_alphanumeric() || "._%+-".contains(c)
}

fn is_domain_char(c: char) -> bool {
    c.is_alphanumeric() || c == '.' || c == '-'
}

/// `local@domain.tld`: a non-empty local part, a domain with a dot and a top-level label of at
/// least two letters.
fn email_spans(chars: &[char]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '@' {
            i += 1;
            continue;
        }
        let mut start = i;
        while start > 0 && is_local_char(chars[start - 1]) {
            start -= 1;
        }
        while start < i && chars[start] == '.' {
            start += 1;
        }
        let mut end = i + 1;
        while end < chars.len() && is_domain_char(chars[end]) {
            end += 1;
        }
        while end > i + 1 && matches!(chars[end - 1], '.' | '-') {
            end -= 1;
        }
        let domain: String = chars[i + 1..end].iter().collect();
        let tld_ok = domain.rsplit_once('.').is_some_and(|(host, tld)| {
            !host.is_empty() && tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic)
        });
        let after_previous = spans.last().is_none_or(|&(_, e)| start >= e);
        if start < i && tld_ok && after_previous {
            spans.push((start, end));
            i = end;
        } else {
            i += 1;
        }
    }
    spans
}

/// Whitespace-separated tokens as `start..end` char ranges.
fn tokens(chars: &[char]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() {
            i += 1;
        }
        out.push((start, i));
    }
    out
}

fn is_separator(c: char) -> bool {
    c == '/' || c == '\\'
}

/// Whether the token (without leading quotes or brackets) starts a file path.
fn starts_path(t: &[char]) -> bool {
    let s: String = t.iter().take(8).collect();
    let lower = s.to_lowercase();
    if lower.starts_with("file://") || s.starts_with("~/") || s.starts_with("~\\") || lower.starts_with("$home/") {
        return true;
    }
    // `C:\…` or `C:/…`
    if t.len() >= 3 && t[0].is_ascii_alphabetic() && t[1] == ':' && is_separator(t[2]) {
        return true;
    }
    // `\\server\share`
    if t.len() >= 3 && t[0] == '\\' && t[1] == '\\' && t[2].is_alphanumeric() {
        return true;
    }
    // An absolute Unix path of two components or more: `/home/x`, not `/s` or a lone `/`.
    t.first() == Some(&'/') && t.len() > 1 && t[1].is_alphanumeric() && t[2..].contains(&'/')
}

/// Whether the text ends with a file extension (`.wav`, `.flac`, `.als`): 2–5 alphanumerics
/// with at least one letter, after a dot that follows something.
fn has_extension(t: &[char]) -> bool {
    let Some(dot) = t.iter().rposition(|&c| c == '.') else { return false };
    let ext = &t[dot + 1..];
    dot > 0
        && (2..=5).contains(&ext.len())
        && ext.iter().all(|c| c.is_ascii_alphanumeric())
        && ext.iter().any(|c| c.is_ascii_alphabetic())
}

/// Punctuation that ends a sentence or closes a bracket, not part of a path.
fn is_trailing_punct(c: char) -> bool {
    ".,;:!?)]}\"'»>".contains(c)
}

/// File paths. A path token may continue over spaces (`/home/me/My Music/mix.wav`): following
/// tokens are taken while they hold a separator or end with a file extension, until the
/// path ends with one (at most four tokens ahead).
fn path_spans(chars: &[char]) -> Vec<(usize, usize)> {
    let toks = tokens(chars);
    let mut spans = Vec::new();
    let mut k = 0;
    while k < toks.len() {
        let (mut start, end) = toks[k];
        while start < end && "([{\"'«<".contains(chars[start]) {
            start += 1;
        }
        if !starts_path(&chars[start..end]) {
            k += 1;
            continue;
        }
        let mut last = k;
        let trimmed = |(s, e): (usize, usize)| {
            let mut e = e;
            while e > s && is_trailing_punct(chars[e - 1]) {
                e -= 1;
            }
            (s, e)
        };
        while !has_extension(&chars[start..trimmed(toks[last]).1]) {
            let ahead = (last + 1..toks.len().min(last + 5)).find(|&j| {
                let (s, e) = trimmed(toks[j]);
                chars[s..e].iter().any(|&c| is_separator(c)) || has_extension(&chars[s..e])
            });
            match ahead {
                Some(j) => last = j,
                None => break,
            }
        }
        spans.push((start, trimmed(toks[last]).1));
        k = last + 1;
    }
    spans
}

/// A phone number starting at `i`: returns its end if the digits there form one.
///
/// Read as digit groups separated by one space, dot or hyphen, with an optional `+` in front
/// and an optional trunk prefix `(0)`. It is a phone number when it is
/// * international: `+` and 8 to 15 digits (ITU-T E.164 allows at most 15), or `00` then a
///   total of 10 to 15 digits;
/// * French national: 10 digits starting `0` then `1`–`9` (ARCEP numbering plan), written in
///   one run or as five pairs.
fn phone_at(chars: &[char], i: usize) -> Option<usize> {
    let plus = chars[i] == '+';
    let mut p = i + usize::from(plus);
    let mut groups: Vec<usize> = Vec::new();
    let mut digits = String::new();
    let limit = chars.len().min(i + MAX_PHONE_CHARS);
    let mut end = p;
    // The trunk prefix of international numbers written the French way: +33 (0)6 …
    let trunk_at = |q: usize| plus && q + 2 < limit && chars[q] == '(' && chars[q + 1] == '0' && chars[q + 2] == ')';
    loop {
        if trunk_at(p) {
            p += 3;
            if chars.get(p) == Some(&' ') {
                p += 1;
            }
        }
        let run_start = p;
        while p < limit && chars[p].is_ascii_digit() {
            digits.push(chars[p]);
            p += 1;
        }
        if p == run_start {
            break;
        }
        groups.push(p - run_start);
        end = p;
        if trunk_at(p) {
            continue;
        }
        let continues =
            p + 1 < limit && matches!(chars[p], ' ' | '.' | '-') && (chars[p + 1].is_ascii_digit() || trunk_at(p + 1));
        if !continues {
            break;
        }
        p += 1;
    }
    // A number glued to letters or more digits ("06dB", a longer serial) is not one.
    if groups.is_empty() || chars.get(end).is_some_and(|c| c.is_alphanumeric()) {
        return None;
    }
    let n = digits.len();
    let b = digits.as_bytes();
    let phone = if plus {
        (8..=15).contains(&n)
    } else if digits.starts_with("00") {
        (10..=15).contains(&n) && groups[0] >= 2
    } else {
        n == 10 && b[0] == b'0' && b[1] != b'0' && (groups == [10] || groups == [2, 2, 2, 2, 2])
    };
    phone.then_some(end)
}

fn phone_spans(chars: &[char]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let boundary = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '.' || chars[i - 1] == ',');
        if boundary && (c.is_ascii_digit() || (c == '+' && chars.get(i + 1).is_some_and(char::is_ascii_digit))) {
            if let Some(end) = phone_at(chars, i) {
                spans.push((i, end));
                i = end;
                continue;
            }
        }
        i += 1;
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_go() {
        assert_eq!(scrub("écris-moi à jean.dupont+mix@exemple.fr."), "écris-moi à [email].");
        assert_eq!(scrub("mail: Bob_99@studio-x.co.uk, thanks"), "mail: [email], thanks");
        assert_eq!(scrub("a @ b, @mention, x@y, me@host.c1"), "a @ b, @mention, x@y, me@host.c1");
    }

    #[test]
    fn phones_go_in_french_and_international_formats() {
        for (text, want) in [
            ("appelle-moi au +33 6 12 34 56 78 stp", "appelle-moi au [phone] stp"),
            ("06.12.34.56.78", "[phone]"),
            ("tel 06 12 34 56 78, merci", "tel [phone], merci"),
            ("0612345678", "[phone]"),
            ("01-23-45-67-89", "[phone]"),
            ("+33 (0)6 12 34 56 78", "[phone]"),
            ("+33(0)612345678", "[phone]"),
            ("+33612345678.", "[phone]."),
            ("0033 6 12 34 56 78", "[phone]"),
            ("call +1 415-555-0132 or +44 20 7946 0958", "call [phone] or [phone]"),
        ] {
            assert_eq!(scrub(text), want, "{text}");
        }
    }

    #[test]
    fn paths_go() {
        for (text, want) in [
            ("my file /home/alice/mixes/song.wav is harsh", "my file [path] is harsh"),
            ("see (/Users/bob/Music/take 3.wav).", "see ([path])."),
            ("open C:\\Users\\Jean\\Mes Documents\\voix.flac please", "open [path] please"),
            ("'C:/Music/x.mp3'", "'[path]'"),
            ("~/projets/album, then", "[path], then"),
            ("\\\\nas\\share\\bounce.wav", "[path]"),
            ("file:///home/me/a.wav", "[path]"),
            ("it is in /home/me/My Great Song.wav ok", "it is in [path] ok"),
        ] {
            assert_eq!(scrub(text), want, "{text}");
        }
    }

    #[test]
    fn mixing_talk_is_left_alone() {
        for text in [
            "cut 3 dB at 250 Hz between 1:23 and 1:45",
            "monte les aigus de 1,5 dB vers 10 kHz, ratio 4:1, 24 dB/oct",
            "-14 LUFS for Spotify, true peak -1 dBTP, 120 BPM, 44.1/48 kHz",
            "AC/DC style guitars, 1/4 note delay, Q 0.7, 2 3 4 5 6 7 8 9 10 11",
            "levels 0 5 10 15 20 25 and 06 dB",
            "2024-05-12 version, 12.5.2024, take 0123",
            "+3 dB, +12.5 %, -6",
        ] {
            assert_eq!(scrub(text), text);
        }
    }

    #[test]
    fn everything_at_once_and_nothing_panics() {
        let text = "Salut, c'est Léa (lea@exemple.fr, 06 12 34 56 78). Le mix est dans /home/lea/mix.wav.";
        assert_eq!(scrub(text), "Salut, c'est Léa ([email], [phone]). Le mix est dans [path].");
        for weird in ["", "@", "+", "/", "\\\\", "C:", "0", "+(0)", "~/", "a@b.", "é@é.éé", "06 12 34 56 7"] {
            let _ = scrub(weird);
        }
        assert_eq!(scrub("06 12 34 56 7"), "06 12 34 56 7");
    }
}
