//! Times and numbers as the reader sees them, the same in the plugin, the assistant and the
//! command line: a moment reads the same on a finding, a suggestion card, the timeline and the
//! report.
//!
//! Its own module rather than part of [`crate::lang`]: `lang` decides which language a text
//! is in; this writes the values that go into a text, given the language.
//!
//! * Times: [`clock`] (`1:45`, `1:02:03` from an hour on), [`clock_tenths`] (`1:45.6`) for
//!   events located to a tenth, [`clock_millis`] (`1:45.612`) for a decoder's positions, and
//!   [`clock_span`] / [`clock_span_tenths`] for stretches (`1:45–2:00`). One rule for all:
//!   truncated to the unit shown, as DAW rulers and timecode do. A moment at 105.6 s is in
//!   second 1:45, reads 1:45 everywhere, and 1:45.6 where tenths are shown; rounding would
//!   make it 1:46 on one screen and 1:45.6 on another.
//! * Numbers: [`number`] and [`signed`], with a decimal point in English and a decimal comma
//!   in French; [`french_decimals`] does the same to a whole message written with points.

use crate::lang::Lang;

/// `m:ss`, or `h:mm:ss` from an hour on, truncated to the second (see the module
/// documentation). Negative, NaN and infinite times read `0:00`: there is no moment to show.
pub fn clock(seconds: f64) -> String {
    clock_in(seconds, 0, '.')
}

/// [`clock`] with tenths, truncated to the tenth: `m:ss.t`, or `m:ss,t` in French. The whole
/// seconds are always those [`clock`] shows.
pub fn clock_tenths(seconds: f64, lang: Lang) -> String {
    clock_in(seconds, 1, decimal_mark(lang))
}

/// [`clock`] with milliseconds, truncated to the millisecond (`m:ss.mmm`): where a decoder
/// found damage, close enough to find it in an editor.
pub fn clock_millis(seconds: f64) -> String {
    clock_in(seconds, 3, '.')
}

/// `start–end` in [`clock`] form, or a single time when both ends read the same.
pub fn clock_span(start: f64, end: f64) -> String {
    span(clock(start), clock(end))
}

/// `start–end` in [`clock_tenths`] form, or a single time when both ends read the same.
pub fn clock_span_tenths(start: f64, end: f64, lang: Lang) -> String {
    span(clock_tenths(start, lang), clock_tenths(end, lang))
}

fn span(a: String, b: String) -> String {
    if a == b {
        a
    } else {
        format!("{a}–{b}")
    }
}

/// Times computed in binary fall a hair short of the unit they mean (0.3 s × 10 is
/// 2.9999999999999996): they are nudged up by this much before truncating, s. Far under a
/// sample at any rate, so a position one sample before a boundary stays before it.
const NUDGE_S: f64 = 1e-7;

/// The one clock: `seconds` truncated to `decimals` (0, 1 or 3) decimals.
fn clock_in(seconds: f64, decimals: u32, mark: char) -> String {
    let per_second = 10u64.pow(decimals);
    // Negative, NaN and ±∞ become 0; a huge time saturates (`as` on a float) rather than wraps.
    let units =
        if seconds.is_finite() && seconds > 0.0 { ((seconds + NUDGE_S) * per_second as f64).floor() as u64 } else { 0 };
    let (whole, fraction) = (units / per_second, units % per_second);
    let (h, m, s) = (whole / 3600, whole / 60 % 60, whole % 60);
    let mut out = if h > 0 { format!("{h}:{m:02}:{s:02}") } else { format!("{m}:{s:02}") };
    if decimals > 0 {
        out.push(mark);
        out.push_str(&format!("{fraction:0width$}", width = decimals as usize));
    }
    out
}

fn decimal_mark(lang: Lang) -> char {
    match lang {
        Lang::En => '.',
        Lang::Fr => ',',
    }
}

/// `x` with `decimals` decimals (rounded), with the decimal mark of `lang`: `-14.3` / `-14,3`.
pub fn number(x: f64, decimals: usize, lang: Lang) -> String {
    with_mark(format!("{x:.decimals$}"), lang)
}

/// [`number`] with its sign always shown: `+5.8` / `+5,8`, `-0.3` / `-0,3`.
pub fn signed(x: f64, decimals: usize, lang: Lang) -> String {
    with_mark(format!("{x:+.decimals$}"), lang)
}

fn with_mark(english: String, lang: Lang) -> String {
    match lang {
        Lang::En => english,
        // A formatted number has at most one point: it is the decimal one.
        Lang::Fr => english.replace('.', ","),
    }
}

/// `text` with French decimal commas: a point between two digits becomes a comma ("-16.6
/// LUFS" → "-16,6 LUFS"). For a message composed in English number format and written in
/// French; where the numbers are formatted one by one, [`number`] says it directly.
pub fn french_decimals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let between_digits =
                i > 0 && chars[i - 1].is_ascii_digit() && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
            if c == '.' && between_digits {
                ','
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_truncates_to_the_unit_shown() {
        assert_eq!(clock(0.0), "0:00");
        assert_eq!(clock(105.6), "1:45");
        assert_eq!(clock_tenths(105.6, Lang::En), "1:45.6");
        assert_eq!(clock_tenths(105.6, Lang::Fr), "1:45,6");
        assert_eq!(clock(154.9), "2:34");
        assert_eq!(clock_tenths(12.34, Lang::En), "0:12.3");
        assert_eq!(clock_tenths(1.52, Lang::En), "0:01.5");
        assert_eq!(clock_millis(75.5), "1:15.500");
        assert_eq!(clock_millis(75.4999), "1:15.499");
    }

    #[test]
    fn the_clock_never_reaches_sixty_and_switches_to_hours_at_an_hour() {
        assert_eq!(clock(59.96), "0:59");
        assert_eq!(clock_tenths(59.96, Lang::En), "0:59.9");
        assert_eq!(clock_millis(59.9996), "0:59.999");
        assert_eq!(clock(60.0), "1:00");
        assert_eq!(clock(3599.95), "59:59");
        assert_eq!(clock_tenths(3599.95, Lang::En), "59:59.9");
        assert_eq!(clock(3600.0), "1:00:00");
        assert_eq!(clock(3725.25), "1:02:05");
        assert_eq!(clock_tenths(3725.25, Lang::Fr), "1:02:05,2");
    }

    #[test]
    fn times_computed_in_binary_read_the_unit_they_mean() {
        // 0.1 + 0.2 = 0.30000000000000004 and 0.3 × 10 = 2.9999999999999996.
        assert_eq!(clock_tenths(0.3, Lang::En), "0:00.3");
        assert_eq!(clock_tenths(0.1 + 0.2, Lang::En), "0:00.3");
        assert_eq!(clock_millis(4.1), "0:04.100");
        // One sample before a tenth, at 192 kHz, is still before it.
        assert_eq!(clock_tenths(19_199.0 / 192_000.0, Lang::En), "0:00.0");
        assert_eq!(clock_millis(1_151_999.0 / 48_000.0), "0:23.999");
    }

    #[test]
    fn no_moment_reads_zero() {
        for bad in [-3.0, -0.01, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(clock(bad), "0:00", "{bad}");
            assert_eq!(clock_tenths(bad, Lang::Fr), "0:00,0", "{bad}");
            assert_eq!(clock_millis(bad), "0:00.000", "{bad}");
        }
        // A huge time is long but bounded, not wrapped or a panic.
        assert!(clock(1e300).len() < 30, "{}", clock(1e300));
    }

    /// The whole seconds of every form are those of `clock`: a finding, a card and the report
    /// agree on the second, whatever else they show.
    #[test]
    fn every_form_agrees_on_the_second() {
        let mut t = 0.0;
        while t < 4000.0 {
            let whole = clock(t);
            assert!(clock_tenths(t, Lang::En).starts_with(&format!("{whole}.")), "{t}");
            assert!(clock_millis(t).starts_with(&format!("{whole}.")), "{t}");
            t += 0.0137;
        }
        for frame in (0..2_000_000u64).step_by(4_799) {
            let t = frame as f64 / 48_000.0;
            let tenths = clock_tenths(t, Lang::En);
            assert!(clock_millis(t).starts_with(&tenths), "{t}");
        }
    }

    #[test]
    fn spans_read_one_time_when_both_ends_agree() {
        assert_eq!(clock_span(154.0, 171.0), "2:34–2:51");
        assert_eq!(clock_span(10.2, 10.9), "0:10");
        assert_eq!(clock_span_tenths(154.0, 171.0, Lang::En), "2:34.0–2:51.0");
        assert_eq!(clock_span_tenths(1.50, 1.52, Lang::En), "0:01.5");
        assert_eq!(clock_span_tenths(1.50, 1.62, Lang::Fr), "0:01,5–0:01,6");
    }

    #[test]
    fn numbers_take_the_decimal_mark_of_the_language() {
        assert_eq!(number(-14.26, 1, Lang::En), "-14.3");
        assert_eq!(number(-14.26, 1, Lang::Fr), "-14,3");
        assert_eq!(number(3.0, 0, Lang::Fr), "3");
        assert_eq!(signed(5.83, 1, Lang::En), "+5.8");
        assert_eq!(signed(5.83, 1, Lang::Fr), "+5,8");
        assert_eq!(signed(-0.25, 2, Lang::Fr), "-0,25");
        assert_eq!(number(1234.5, 1, Lang::Fr), "1234,5");
    }

    #[test]
    fn french_decimals_change_only_points_between_digits() {
        assert_eq!(french_decimals("-16.6 LUFS, 2.0 dB. Fin. 1:45"), "-16,6 LUFS, 2,0 dB. Fin. 1:45");
    }
}
