//! Wording shared by the explanations: times as a musician reads them on a DAW ruler
//! (`2:34`), numbers with a decimal point in English and a decimal comma in French.

use super::spans::Span;
use super::Scope;

/// `m:ss` (or `h:mm:ss`), rounded down to the second.
pub(super) fn clock(t: f64) -> String {
    let s = t.max(0.0).floor() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// `m:ss.t`, rounded down to the tenth, in English and French (`m:ss,t`).
pub(super) fn clock_tenths(t: f64) -> (String, String) {
    let tenths = (t.max(0.0) * 10.0 + 1e-6).floor() as u64;
    let whole = clock((tenths / 10) as f64);
    let d = tenths % 10;
    (format!("{whole}.{d}"), format!("{whole},{d}"))
}

/// `x` with `decimals` decimals, English and French.
pub(super) fn num(x: f64, decimals: usize) -> (String, String) {
    let en = format!("{x:.decimals$}");
    let fr = en.replace('.', ",");
    (en, fr)
}

/// `x` with a sign always shown (`+1.5`, `-0.3`), English and French.
pub(super) fn signed(x: f64, decimals: usize) -> (String, String) {
    let en = format!("{x:+.decimals$}");
    let fr = en.replace('.', ",");
    (en, fr)
}

/// An event shorter than this is told as an instant ("at 0:12.3"), s.
const INSTANT_S: f64 = 0.5;

/// "at 0:12.3" / "à 0:12,3" for an event shorter than [`INSTANT_S`], else "from 1:02 to
/// 1:30" / "de 1:02 à 1:30".
pub(super) fn when(span: Span) -> (String, String) {
    if span.len() <= INSTANT_S {
        let (en, fr) = clock_tenths(span.start);
        (format!("at {en}"), format!("à {fr}"))
    } else {
        let (a, b) = (clock(span.start), clock(span.end));
        (format!("from {a} to {b}"), format!("de {a} à {b}"))
    }
}

/// `n` and the noun in the singular or the plural: "1 sample", "3 samples".
pub(super) fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "from 0:40 to 0:50" / "de 0:40 à 0:50", or "throughout" / "sur toute la durée"
/// when the span covers the whole stretch.
pub(super) fn span(scope: &Scope, s: Span) -> (String, String) {
    if scope.is_whole(s.start, s.end) {
        ("throughout".into(), "sur toute la durée".into())
    } else {
        let (a, b) = (clock(s.start), clock(s.end));
        (format!("from {a} to {b}"), format!("de {a} à {b}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_and_numbers() {
        assert_eq!(clock(154.9), "2:34");
        assert_eq!(clock(3725.0), "1:02:05");
        assert_eq!(clock_tenths(12.34), ("0:12.3".into(), "0:12,3".into()));
        assert_eq!(signed(5.83, 1), ("+5.8".into(), "+5,8".into()));
        assert_eq!(num(-14.26, 1).1, "-14,3");
    }
}
