//! The measurements as a language model reads them: a short English summary of an analysis
//! and of the settings, the only description of the music that leaves the machine (no audio,
//! no file name, no path).
//!
//! Numbers keep their units and one decimal; times read `m:ss`. The summary stays short (about
//! 1–2 KB) so a request costs little: the seven tonal regions rather than 31 bands, the most
//! severe findings first, at most [`MAX_FINDINGS`] of them and [`MAX_SECTIONS`] sections.

use std::fmt::Write as _;

use serde::Serialize;

use audiocollab_core::analysis::targets;
use audiocollab_core::analysis::track::TrackAnalysis;
use audiocollab_core::spec::Settings;
use audiocollab_core::text::{clock, clock_span};

/// Most findings listed.
pub const MAX_FINDINGS: usize = 12;
/// Most sections listed.
pub const MAX_SECTIONS: usize = 12;

/// The summary of `analysis` (if there is one yet) and `settings`.
pub fn measurements(analysis: Option<&TrackAnalysis>, settings: &Settings) -> String {
    let mut out = String::new();
    if let Some(a) = analysis {
        track(&mut out, a);
    } else {
        out.push_str("No analysis yet (no audio has been measured).\n");
    }
    out.push_str(&settings_line(settings));
    out
}

/// The settings that differ from the defaults, in the parameter table's ids and units.
pub fn settings_line(settings: &Settings) -> String {
    let changed: Vec<String> =
        settings.changed().map(|(p, v)| format!("{}={}", p.spec().id, p.spec().format(v))).collect();
    if changed.is_empty() {
        "Current settings: all at their defaults (EQ flat, compressor and de-esser off, gains 0 dB).\n".into()
    } else {
        format!("Current settings (the others at their defaults): {}.\n", changed.join(", "))
    }
}

fn one(x: f64) -> String {
    format!("{x:.1}")
}

fn signed(x: f64) -> String {
    format!("{x:+.1}")
}

fn opt(x: Option<f64>, unit: &str) -> String {
    x.filter(|v| v.is_finite()).map_or_else(|| "not measurable".into(), |v| format!("{} {unit}", one(v)))
}

/// The serde name of an enum value (`full_mix`, `chorus`).
fn snake<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

fn track(out: &mut String, a: &TrackAnalysis) {
    let p = &a.platform;
    let genre = targets::genre(&a.genre).map_or(a.genre.as_str(), |g| g.name_en.as_str());
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "Genre target: {genre}. Platform: {} ({} LUFS integrated, {} dBTP true-peak ceiling).",
        p.name,
        one(p.integrated_lufs),
        one(p.true_peak_dbtp)
    );
    let whole = a.from_s <= 0.0 && (a.to_s - a.duration_s).abs() < 0.05;
    let span = if whole {
        format!("Length {}.", clock(a.duration_s))
    } else {
        format!("Length {}; this analysis covers {} only.", clock(a.duration_s), clock_span(a.from_s, a.to_s))
    };
    let tempo = a
        .tempo
        .as_ref()
        .map_or("tempo not detected".into(), |t| format!("tempo {} BPM (confidence {:.2})", one(t.bpm), t.confidence));
    let key = a
        .key
        .as_ref()
        .map_or("key not detected".into(), |k| format!("key {} (confidence {:.2})", k.name, k.confidence));
    let _ = writeln!(out, "{span} {}, {key}.", capitalise(&tempo));

    let l = &a.loudness;
    let _ = writeln!(
        out,
        "Loudness: integrated {}, true peak {}, sample peak {}, loudness range {}, PLR {}, max short-term {}.",
        opt(l.integrated_lufs, "LUFS"),
        opt(l.true_peak_dbtp, "dBTP"),
        opt(l.sample_peak_dbfs, "dBFS"),
        opt(l.loudness_range_lu, "LU"),
        opt(l.plr_lu, "LU"),
        opt(l.max_short_term_lufs, "LUFS"),
    );
    if let Some(c) = &a.character {
        let _ = write!(
            out,
            "Character: {} (energy {:.2}, brightness {:.2} on 0–1)",
            c.description_en, c.energy, c.brightness
        );
        match &a.source {
            Some(s) => {
                let _ =
                    writeln!(out, "; source: {} (confidence {:.2}).", snake(&s.kind).replace('_', " "), s.confidence);
            }
            None => out.push_str(".\n"),
        }
    }

    let t = &a.tonal_balance;
    if !t.regions.is_empty() {
        let regions: Vec<String> = t
            .regions
            .iter()
            .map(|r| {
                format!(
                    "{} {}–{} Hz {} dB (±{})",
                    snake(&r.region).replace('_', "-"),
                    r.low_hz.round(),
                    r.high_hz.round(),
                    signed(f64::from(r.balance_db)),
                    one(f64::from(r.tolerance_db))
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "Tonal balance against the {genre} target curve (each region relative to the rest of the spectrum, with its tolerance): {}.",
            regions.join(", ")
        );
    }

    if !a.sections.is_empty() {
        let sections: Vec<String> = a
            .sections
            .iter()
            .take(MAX_SECTIONS)
            .map(|s| {
                let role = s.role.map(|r| format!(" ({})", snake(&r))).unwrap_or_default();
                format!("{}{role} {} {}", s.label, clock_span(s.start_s, s.end_s), opt(s.loudness_lufs, "LUFS"))
            })
            .collect();
        let _ = writeln!(out, "Sections: {}.", sections.join("; "));
    }

    if a.findings.is_empty() {
        out.push_str("Findings: none; every measure is within the targets.\n");
    } else {
        let mut findings: Vec<_> = a.findings.iter().collect();
        findings.sort_by(|x, y| y.severity.cmp(&x.severity).then(x.start_s.total_cmp(&y.start_s)));
        out.push_str("Findings (most severe first):\n");
        for f in findings.iter().take(MAX_FINDINGS) {
            let when = clock_span(f.start_s, f.end_s);
            let _ = writeln!(
                out,
                "- {} ({}), {when}: {} {} (threshold {} {}). {}",
                f.kind.id(),
                snake(&f.severity),
                one(f.value),
                f.unit,
                one(f.threshold),
                f.unit,
                f.explanation_en
            );
        }
        if findings.len() > MAX_FINDINGS {
            let _ = writeln!(out, "- and {} less severe findings.", findings.len() - MAX_FINDINGS);
        }
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use audiocollab_core::spec::ParamId;

    #[test]
    fn the_settings_line_names_only_what_changed() {
        let line = settings_line(&Settings::default());
        assert!(line.contains("defaults"), "{line}");
        let line = settings_line(&Settings::default().with(ParamId::Bell1Gain, -4.5).with(ParamId::CompOn, 1.0));
        assert!(line.contains("b1_gain=-4.5 dB") && line.contains("cmp_on=On"), "{line}");
        assert!(!line.contains("b2_gain"), "{line}");
    }
}
