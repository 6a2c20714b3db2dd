//! What `audiocollab analyze` prints: the readable report (English or French) and the JSON
//! document, both built from a [`TrackAnalysis`].
//!
//! Conventions of the readable report:
//! * Times are `m:ss.s` (`h:mm:ss.s` past an hour; `m:ss,s` in French), tenths kept because
//!   clipping is located to 0.1 s, truncated like every clock of the product
//!   ([`audiocollab_core::text`]: 105.96 s is 1:45.9 here and 1:45 on a finding); ranges use
//!   an en dash, `2:34.0–2:51.2`.
//! * Units as EBU R 128 writes them: LUFS, LU, dBTP, dBFS. Numbers take the decimal mark of
//!   the language ([`audiocollab_core::text::number`]): `-16.6 LUFS`, `-16,6 LUFS` in French,
//!   as the findings' own explanations and the assistant write them.
//! * A level that is `None` (silence, or a stretch too short to measure) is written as a dash
//!   with the reason, never as a number.
//!
//! The JSON document is [`JsonDocument`]; its schema is `assets/schema/analysis.schema.json`
//! and `docs/analyze.md` documents every field.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use audiocollab_core::analysis::findings::Finding;
use audiocollab_core::analysis::targets::{self, Platform};
use audiocollab_core::analysis::tonal::{Region, RegionBalance};
use audiocollab_core::analysis::track::TrackAnalysis;
use audiocollab_core::text::{clock_span_tenths, clock_tenths, number, signed};

/// Version of the JSON document's layout. Bumped when a field is renamed or removed or its
/// meaning changes; adding a field does not bump it.
pub const SCHEMA_VERSION: u32 = 1;

/// Language of the readable report: the assistant's.
pub use audiocollab_core::analysis::findings::{kind_name, severity_name};
pub use audiocollab_core::lang::Lang;

/// How the file was read, for the report's first line and the JSON's `decoder` object.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DecoderInfo {
    /// Codec name as the decoder reports it (`"FLAC"`, `"PCM Signed 16-bit …"`, `"MPEG Audio Layer 3"`).
    pub codec: String,
    /// Damaged packets of a lossy stream that were replaced by silence (0 for lossless files).
    pub concealed_packets: u64,
    /// The speaker of each channel, in order, as the file states it or by default
    /// (`"L R"`, `"L R C LFE Ls Rs"`; see [`audiocollab_core::meter::layout`]).
    pub channel_layout: String,
    /// Samples that were NaN or infinite, concealed before anything was measured (see
    /// [`audiocollab_core::analysis::sanitize`]).
    pub non_finite_samples: u64,
}

/// The JSON document `audiocollab analyze --json` prints: one entry per input, in the order
/// given on the command line.
#[derive(Clone, Debug, Serialize)]
pub struct JsonDocument<'a> {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Version of the `audiocollab` that wrote it.
    pub audiocollab_version: &'static str,
    /// One entry per input file.
    pub files: Vec<JsonFile<'a>>,
}

/// One input of a [`JsonDocument`]: analysed, or the reason it could not be.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum JsonFile<'a> {
    /// The file was analysed.
    Analysed {
        /// The path as given on the command line.
        path: &'a str,
        /// Always `true`.
        ok: bool,
        /// How it was decoded.
        decoder: &'a DecoderInfo,
        /// Everything measured.
        analysis: &'a TrackAnalysis,
    },
    /// The file could not be read, decoded or analysed.
    Failed {
        /// The path as given on the command line.
        path: &'a str,
        /// Always `false`.
        ok: bool,
        /// What went wrong.
        error: JsonError<'a>,
    },
}

/// Why a file could not be analysed.
#[derive(Clone, Debug, Serialize)]
pub struct JsonError<'a> {
    /// A stable machine-readable reason (`not_found`, `corrupt`, `unsupported_channels`, … see
    /// `docs/analyze.md`).
    pub kind: &'a str,
    /// The one-line message printed on stderr.
    pub message: &'a str,
}

/// Every label of the report in one language. Sentences with numbers are built in the
/// functions below, one `match` per language.
struct Labels {
    segment: &'static str,
    of: &'static str,
    mono: &'static str,
    stereo: &'static str,
    channels: &'static str,
    concealed: &'static str,
    non_finite: &'static str,
    key: &'static str,
    tempo: &'static str,
    confidence: &'static str,
    alternatives: &'static str,
    not_detected: &'static str,
    loudness: &'static str,
    integrated: &'static str,
    true_peak: &'static str,
    sample_peak: &'static str,
    lra: &'static str,
    max_momentary: &'static str,
    max_short_term: &'static str,
    plr: &'static str,
    rms: &'static str,
    silence: &'static str,
    too_short_integrated: &'static str,
    too_short_lra: &'static str,
    tonal: &'static str,
    tonal_note: &'static str,
    more: &'static str,
    less: &'static str,
    ok: &'static str,
    not_measured: &'static str,
    sections: &'static str,
    none_found: &'static str,
    character: &'static str,
    energy: &'static str,
    brightness: &'static str,
    source: &'static str,
    findings: &'static str,
    no_findings: &'static str,
    threshold: &'static str,
}

const EN: Labels = Labels {
    segment: "Segment",
    of: "of",
    mono: "mono",
    stereo: "stereo",
    channels: "channels",
    concealed: "damaged packet(s) replaced by silence",
    non_finite: "NaN or infinite sample(s) left out of every measure (see the findings)",
    key: "Key",
    tempo: "Tempo",
    confidence: "confidence",
    alternatives: "other readings",
    not_detected: "not detected (too short, or no clear pulse or pitch)",
    loudness: "Loudness (EBU R 128)",
    integrated: "Integrated",
    true_peak: "True peak",
    sample_peak: "Sample peak",
    lra: "Loudness range (LRA)",
    max_momentary: "Max momentary",
    max_short_term: "Max short-term",
    plr: "PLR (peak to loudness)",
    rms: "RMS",
    silence: "- (silence)",
    too_short_integrated: "- (silence, or shorter than 0.4 s)",
    too_short_lra: "- (silence, or shorter than 3 s)",
    tonal: "Tonal balance against the target",
    tonal_note: "balance against the target curve; each mark is 1 dB, the tolerance is in brackets",
    more: "too much",
    less: "too little",
    ok: "ok",
    not_measured: "not measured",
    sections: "Sections",
    none_found: "none found",
    character: "Character",
    energy: "energy",
    brightness: "brightness",
    source: "Source",
    findings: "Findings",
    no_findings: "no problem found",
    threshold: "threshold",
};

const FR: Labels = Labels {
    segment: "Extrait",
    of: "sur",
    mono: "mono",
    stereo: "stéréo",
    channels: "canaux",
    concealed: "paquet(s) abîmé(s) remplacé(s) par du silence",
    non_finite: "échantillon(s) NaN ou infini(s) exclu(s) de toutes les mesures (voir les problèmes relevés)",
    key: "Tonalité",
    tempo: "Tempo",
    confidence: "confiance",
    alternatives: "autres lectures",
    not_detected: "non détecté (trop court, ou sans pulsation ni hauteur nette)",
    loudness: "Sonie (EBU R 128)",
    integrated: "Sonie intégrée",
    true_peak: "Crête vraie",
    sample_peak: "Crête échantillon",
    lra: "Plage de sonie (LRA)",
    max_momentary: "Sonie momentanée max.",
    max_short_term: "Sonie court terme max.",
    plr: "PLR (crête/sonie)",
    rms: "RMS",
    silence: "- (silence)",
    too_short_integrated: "- (silence, ou moins de 0,4 s)",
    too_short_lra: "- (silence, ou moins de 3 s)",
    tonal: "Équilibre tonal par rapport à la cible",
    tonal_note: "équilibre par rapport à la courbe cible ; chaque trait vaut 1 dB, la tolérance est entre crochets",
    more: "trop",
    less: "pas assez",
    ok: "ok",
    not_measured: "non mesuré",
    sections: "Sections",
    none_found: "aucune trouvée",
    character: "Caractère",
    energy: "énergie",
    brightness: "brillance",
    source: "Source",
    findings: "Problèmes relevés",
    no_findings: "aucun problème relevé",
    threshold: "seuil",
};

/// The labels in `lang`.
fn labels(lang: Lang) -> &'static Labels {
    match lang {
        Lang::En => &EN,
        Lang::Fr => &FR,
    }
}

/// Width of the label column of the report.
const LABEL_WIDTH: usize = 24;
/// Characters per line of running text (explanations, the platform verdict).
const TEXT_WIDTH: usize = 88;
/// Other metrical levels of the tempo shown (best first, as the tempo detector ranks them).
const MAX_TEMPO_ALTERNATIVES: usize = 3;

/// The readable report of one analysed file, in `lang`. `path` is printed as given.
pub fn text_report(path: &Path, decoder: &DecoderInfo, a: &TrackAnalysis, lang: Lang) -> String {
    let l = labels(lang);
    let mut out = String::new();
    // Writing to a String cannot fail: the `let _ =` below discard an always-Ok result.
    let channels = match a.channels {
        1 => l.mono.to_string(),
        2 => l.stereo.to_string(),
        n => format!("{n} {} ({})", l.channels, decoder.channel_layout),
    };
    let _ = writeln!(
        out,
        "{}\n  {}, {}, {} Hz, {channels}",
        path.display(),
        clock_tenths(a.duration_s, lang),
        decoder.codec,
        a.sample_rate
    );
    if decoder.concealed_packets > 0 {
        let _ = writeln!(out, "  {} {}", decoder.concealed_packets, l.concealed);
    }
    if decoder.non_finite_samples > 0 {
        let _ = writeln!(out, "  {} {}", decoder.non_finite_samples, l.non_finite);
    }
    if a.from_s > 0.0 || a.to_s < a.duration_s {
        let _ = writeln!(
            out,
            "  {} {} ({} {})",
            l.segment,
            clock_span_tenths(a.from_s, a.to_s, lang),
            l.of,
            clock_tenths(a.duration_s, lang)
        );
    }
    out.push('\n');

    let row = |out: &mut String, label: &str, value: &str| {
        let _ = writeln!(out, "  {label:<LABEL_WIDTH$}{value}");
    };
    let key = match &a.key {
        Some(k) => format!(
            "{}  ({} {})",
            key_name(k.tonic, k.mode, lang, &k.name),
            l.confidence,
            number(k.confidence, 2, lang)
        ),
        None => l.not_detected.to_string(),
    };
    row(&mut out, l.key, &key);
    let tempo = match &a.tempo {
        Some(t) => {
            let mut s = format!("{} BPM  ({} {}", number(t.bpm, 1, lang), l.confidence, number(t.confidence, 2, lang));
            if !t.alternatives_bpm.is_empty() {
                let alts: Vec<String> =
                    t.alternatives_bpm.iter().take(MAX_TEMPO_ALTERNATIVES).map(|&b| number(b, 1, lang)).collect();
                let _ =
                    write!(s, "{}{}{}{} BPM", semicolon(lang), l.alternatives, lang.colon(), alts.join(list_sep(lang)));
            }
            s.push(')');
            s
        }
        None => l.not_detected.to_string(),
    };
    row(&mut out, l.tempo, &tempo);

    let d = &a.loudness;
    let _ = writeln!(out, "\n{}", l.loudness);
    let level = |v: Option<f64>, unit: &str, none: &str| match v {
        Some(v) => format!("{:>6} {unit}", number(tenths(v), 1, lang)),
        None => none.to_string(),
    };
    row(&mut out, l.integrated, &level(d.integrated_lufs, "LUFS", l.too_short_integrated));
    row(&mut out, l.true_peak, &level(d.true_peak_dbtp, "dBTP", l.silence));
    row(&mut out, l.sample_peak, &level(d.sample_peak_dbfs, "dBFS", l.silence));
    row(&mut out, l.lra, &level(d.loudness_range_lu, "LU", l.too_short_lra));
    row(&mut out, l.max_momentary, &level(d.max_momentary_lufs, "LUFS", l.silence));
    row(&mut out, l.max_short_term, &level(d.max_short_term_lufs, "LUFS", l.too_short_lra));
    row(&mut out, l.plr, &level(d.plr_lu, "LU", l.too_short_integrated));
    row(&mut out, l.rms, &level(d.rms_dbfs, "dBFS", l.silence));
    let verdict = platform_verdict(&a.platform, d.integrated_lufs, d.true_peak_dbtp, lang);
    for (i, line) in wrap(&verdict, TEXT_WIDTH).iter().enumerate() {
        let _ = writeln!(out, "{}{line}", if i == 0 { "  " } else { "    " });
    }

    tonal_section(&mut out, a, lang);

    let _ = writeln!(out, "\n{}", l.sections);
    if a.sections.is_empty() {
        let _ = writeln!(out, "  {}", l.none_found);
    }
    for s in &a.sections {
        let loud =
            s.loudness_lufs.map_or_else(|| l.silence.to_string(), |v| format!("{} LUFS", number(tenths(v), 1, lang)));
        let _ = writeln!(out, "  {:<4}{:<LABEL_WIDTH$}{loud}", s.label, clock_span_tenths(s.start_s, s.end_s, lang));
    }

    let _ = writeln!(out);
    let character = match &a.character {
        Some(c) => format!(
            "{} {}{}{} {}{}{}",
            l.energy,
            number(f64::from(c.energy), 2, lang),
            list_sep(lang),
            l.brightness,
            number(f64::from(c.brightness), 2, lang),
            lang.colon(),
            match lang {
                Lang::En => &c.description_en,
                Lang::Fr => &c.description_fr,
            }
        ),
        None => l.not_measured.to_string(),
    };
    let _ = writeln!(out, "{:<w$}{character}", l.character, w = LABEL_WIDTH + 2);
    let source = match &a.source {
        Some(s) => {
            format!("{}  ({} {})", s.kind.name(lang), l.confidence, number(f64::from(s.confidence), 2, lang))
        }
        None => l.not_measured.to_string(),
    };
    let _ = writeln!(out, "{:<w$}{source}", l.source, w = LABEL_WIDTH + 2);

    findings_section(&mut out, &a.findings, lang);
    out
}

/// Between the items of a list of numbers: a comma in English, a semicolon in French, where
/// the comma is the decimal mark (`68,0 ; 90,6 BPM`).
fn list_sep(lang: Lang) -> &'static str {
    match lang {
        Lang::En => ", ",
        Lang::Fr => " ; ",
    }
}

/// A semicolon, spaced as the language writes it.
fn semicolon(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "; ",
        Lang::Fr => " ; ",
    }
}

/// `v` rounded to 0.1, without the minus sign of a negative zero (`-0.04` prints `0.0`).
fn tenths(v: f64) -> f64 {
    let r = (v * 10.0).round() / 10.0;
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

/// `E minor` / `mi mineur`. `english` is the analysis's own name, used as is in English.
pub fn key_name(tonic: u8, mode: &str, lang: Lang, english: &str) -> String {
    const FR_NAMES: [&str; 12] = ["do", "do#", "ré", "mib", "mi", "fa", "fa#", "sol", "lab", "la", "sib", "si"];
    match lang {
        Lang::En => english.to_string(),
        Lang::Fr => {
            let mode = if mode == "minor" { "mineur" } else { "majeur" };
            format!("{} {mode}", FR_NAMES[usize::from(tonic % 12)])
        }
    }
}

/// Loudness differences within this many LU of the platform's target count as on target: the
/// EBU R 128 tolerance for non-live programmes (±0.5 LU).
const ON_TARGET_LU: f64 = 0.5;

/// One sentence: how the platform will treat the track's loudness, and whether its true peak
/// is over the platform's ceiling.
pub fn platform_verdict(p: &Platform, integrated: Option<f64>, true_peak: Option<f64>, lang: Lang) -> String {
    let (target, ceiling) = (p.integrated_lufs, p.true_peak_dbtp);
    let n1 = |v: f64| number(v, 1, lang);
    let Some(lufs) = integrated else {
        return match lang {
            Lang::En => format!("{}: no integrated loudness to compare with its {target:.0} LUFS target.", p.name),
            Lang::Fr => format!("{} : pas de sonie intégrée à comparer à sa cible de {target:.0} LUFS.", p.name),
        };
    };
    let delta = lufs - target;
    let mut s = if delta > ON_TARGET_LU {
        match lang {
            Lang::En => format!(
                "{delta:.1} LU louder than {}'s {target:.0} LUFS: it will be turned down by {delta:.1} dB.",
                p.name
            ),
            Lang::Fr => {
                format!(
                    "{} LU au-dessus des {target:.0} LUFS de {} : le titre sera baissé de {} dB.",
                    n1(delta),
                    p.name,
                    n1(delta)
                )
            }
        }
    } else if delta < -ON_TARGET_LU {
        let gap = -delta;
        // Platforms that turn quiet tracks up do so only as far as the true-peak ceiling
        // allows (Spotify and Apple limit or stop there); others never turn up.
        let headroom = true_peak.map(|tp| ceiling - tp);
        match (lang, headroom) {
            (Lang::En, Some(h)) if h < gap => format!(
                "{gap:.1} LU quieter than {}'s {target:.0} LUFS: it will sound quieter than other tracks, \
                 or be turned up by at most {:.1} dB before its true peak reaches the {ceiling:.0} dBTP ceiling.",
                p.name,
                h.max(0.0)
            ),
            (Lang::En, _) => format!(
                "{gap:.1} LU quieter than {}'s {target:.0} LUFS: it will sound quieter than other tracks, \
                 unless the platform turns it up ({gap:.1} dB fits under the {ceiling:.0} dBTP ceiling).",
                p.name
            ),
            (Lang::Fr, Some(h)) if h < gap => format!(
                "{} LU sous les {target:.0} LUFS de {} : le titre sonnera moins fort que les autres morceaux, \
                 ou ne sera remonté que de {} dB au plus avant que sa crête vraie n'atteigne le plafond de {ceiling:.0} dBTP.",
                n1(gap),
                p.name,
                n1(h.max(0.0))
            ),
            (Lang::Fr, _) => format!(
                "{} LU sous les {target:.0} LUFS de {} : le titre sonnera moins fort que les autres morceaux, \
                 sauf si la plateforme le remonte ({} dB tiennent sous le plafond de {ceiling:.0} dBTP).",
                n1(gap),
                p.name,
                n1(gap)
            ),
        }
    } else {
        match lang {
            Lang::En => format!("On {}'s {target:.0} LUFS target ({delta:+.1} LU).", p.name),
            Lang::Fr => format!("Dans la cible de {} à {target:.0} LUFS ({} LU).", p.name, signed(delta, 1, lang)),
        }
    };
    if let Some(tp) = true_peak.filter(|&tp| tp > ceiling) {
        let over = tp - ceiling;
        let _ = match lang {
            Lang::En => write!(s, " True peak {over:.1} dB over its {ceiling:.0} dBTP ceiling."),
            Lang::Fr => write!(s, " Crête vraie {} dB au-dessus de son plafond de {ceiling:.0} dBTP.", n1(over)),
        };
    }
    s
}

/// Half-width of the tonal-balance bar, in marks of 1 dB.
const BAR_HALF: usize = 8;

/// `[    ====|        ]`: the deviation as marks of 1 dB left (less) or right (more) of the
/// centre, with `<`/`>` at the ends when it goes beyond [`BAR_HALF`] dB.
fn deviation_bar(deviation_db: f32) -> String {
    let marks = (deviation_db.abs().round() as usize).min(BAR_HALF);
    let overflow = deviation_db.abs().round() as usize > BAR_HALF;
    let mut left = vec![' '; BAR_HALF];
    let mut right = vec![' '; BAR_HALF];
    if deviation_db < 0.0 {
        left[BAR_HALF - marks..].fill('=');
        if overflow {
            left[0] = '<';
        }
    } else {
        right[..marks].fill('=');
        if overflow {
            right[BAR_HALF - 1] = '>';
        }
    }
    format!("[{}|{}]", left.into_iter().collect::<String>(), right.into_iter().collect::<String>())
}

fn region_name(region: Region, lang: Lang) -> &'static str {
    match (region, lang) {
        (Region::Sub, Lang::En) => "Sub",
        (Region::Bass, Lang::En) => "Bass",
        (Region::LowMid, Lang::En) => "Low mids",
        (Region::Mid, Lang::En) => "Mids",
        (Region::HighMid, Lang::En) => "High mids",
        (Region::Presence, Lang::En) => "Presence",
        (Region::Air, Lang::En) => "Air",
        (Region::Sub, Lang::Fr) => "Infragrave",
        (Region::Bass, Lang::Fr) => "Graves",
        (Region::LowMid, Lang::Fr) => "Bas-médiums",
        (Region::Mid, Lang::Fr) => "Médiums",
        (Region::HighMid, Lang::Fr) => "Haut-médiums",
        (Region::Presence, Lang::Fr) => "Présence",
        (Region::Air, Lang::Fr) => "Air",
    }
}

/// `20 Hz`, `250 Hz`, `2 kHz`, `12.5 kHz` (`12,5 kHz` in French).
fn hz(f: f32, lang: Lang) -> String {
    if f >= 1000.0 {
        let k = f / 1000.0;
        if (k - k.round()).abs() < 0.05 {
            format!("{k:.0} kHz")
        } else {
            format!("{} kHz", number(f64::from(k), 1, lang))
        }
    } else {
        format!("{f:.0} Hz")
    }
}

fn tonal_section(out: &mut String, a: &TrackAnalysis, lang: Lang) {
    let l = labels(lang);
    let target = match targets::genre(&a.tonal_balance.target) {
        Some(g) => match lang {
            Lang::En => g.name_en.clone(),
            Lang::Fr => g.name_fr.clone(),
        },
        None => a.tonal_balance.target.clone(),
    };
    let _ = writeln!(out, "\n{} ({target})", l.tonal);
    if a.tonal_balance.regions.is_empty() {
        let _ = writeln!(out, "  {}", l.not_measured);
        return;
    }
    let _ = writeln!(out, "  ({})", l.tonal_note);
    for r in &a.tonal_balance.regions {
        // The balance (the region against the rest of the spectrum, compared with the curve) is
        // what a musician can act on; the overall offset is the loudness section's business.
        let RegionBalance { region, low_hz, high_hz, balance_db: deviation_db, tolerance_db, .. } = *r;
        let verdict = if deviation_db > tolerance_db {
            l.more
        } else if deviation_db < -tolerance_db {
            l.less
        } else {
            l.ok
        };
        let _ = writeln!(
            out,
            "  {:<13}{:<17}{:>6} dB  {}  {verdict} [±{}]",
            region_name(region, lang),
            format!("{}–{}", hz(low_hz, lang), hz(high_hz, lang)),
            signed(f64::from(deviation_db), 1, lang),
            deviation_bar(deviation_db),
            number(f64::from(tolerance_db), 1, lang),
        );
    }
}

/// A finding's value with its unit: `-0.3 dBTP` (`-0,3 dBTP` in French), `12 %`.
fn with_unit(value: f64, unit: &str, lang: Lang) -> String {
    let v = if value.is_finite() { number(tenths(value), 1, lang) } else { "-".to_string() };
    match unit {
        "" => v,
        "%" => format!("{v} %"),
        u => format!("{v} {u}"),
    }
}

fn findings_section(out: &mut String, findings: &[Finding], lang: Lang) {
    let l = labels(lang);
    let _ = writeln!(out, "\n{} ({})", l.findings, findings.len());
    if findings.is_empty() {
        let _ = writeln!(out, "  {}", l.no_findings);
        return;
    }
    for f in findings {
        let explanation = match lang {
            Lang::En => &f.explanation_en,
            Lang::Fr => &f.explanation_fr,
        };
        let _ = writeln!(
            out,
            "  {:<17}{:<10}{}{}{} ({} {})",
            clock_span_tenths(f.start_s, f.end_s, lang),
            severity_name(f.severity, lang),
            kind_name(f.kind, lang),
            lang.colon(),
            with_unit(f.value, &f.unit, lang),
            l.threshold,
            with_unit(f.threshold, &f.unit, lang),
        );
        for line in wrap(explanation, TEXT_WIDTH - 27) {
            let _ = writeln!(out, "  {:<27}{line}", "");
        }
    }
}

/// Splits `text` into lines of at most `width` characters at spaces (a longer word stands alone).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use audiocollab_core::analysis::findings::{FindingKind, Severity};

    /// The report's times are the product's one clock, with tenths and the decimal mark of the
    /// language: a finding at 105.96 s is at 1:45.9 (1:45,9) here and at 1:45 on the finding.
    #[test]
    fn report_times_are_the_one_clock_in_tenths() {
        let a = Finding {
            kind: FindingKind::Clipping,
            severity: Severity::Problem,
            start_s: 105.96,
            end_s: 106.04,
            value: 12.0,
            threshold: 1.0,
            unit: "samples".into(),
            explanation_en: String::new(),
            explanation_fr: String::new(),
        };
        for (lang, span) in [(Lang::En, "1:45.9–1:46.0 "), (Lang::Fr, "1:45,9–1:46,0 ")] {
            let mut out = String::new();
            findings_section(&mut out, std::slice::from_ref(&a), lang);
            assert!(out.contains(span), "{out}");
            assert!(out.contains(&format!("{} samples", number(12.0, 1, lang))), "{out}");
        }
        assert_eq!(audiocollab_core::text::clock(a.start_s), "1:45");
        assert_eq!(clock_tenths(59.96, Lang::Fr), "0:59,9");
        assert_eq!(clock_span_tenths(1.50, 1.52, Lang::En), "0:01.5");
    }

    #[test]
    fn the_bar_shows_one_mark_per_db_and_overflows_with_an_arrow() {
        assert_eq!(deviation_bar(0.2), "[        |        ]");
        assert_eq!(deviation_bar(3.0), "[        |===     ]");
        assert_eq!(deviation_bar(-2.6), "[     ===|        ]");
        assert_eq!(deviation_bar(-20.0), "[<=======|        ]");
        assert_eq!(deviation_bar(9.0), "[        |=======>]");
    }

    fn spotify() -> &'static Platform {
        targets::platform("spotify").unwrap()
    }

    #[test]
    fn platform_verdict_says_which_way_and_by_how_much() {
        let loud = platform_verdict(spotify(), Some(-10.8), Some(-0.5), Lang::En);
        assert!(loud.starts_with("3.2 LU louder than Spotify's -14 LUFS: it will be turned down by 3.2 dB."), "{loud}");
        assert!(loud.contains("True peak 0.5 dB over its -1 dBTP ceiling"), "{loud}");
        let quiet = platform_verdict(spotify(), Some(-19.0), Some(-3.0), Lang::En);
        assert!(quiet.contains("5.0 LU quieter") && quiet.contains("at most 2.0 dB"), "{quiet}");
        let quiet_room = platform_verdict(spotify(), Some(-16.0), Some(-8.0), Lang::En);
        assert!(quiet_room.contains("2.0 dB fits under"), "{quiet_room}");
        let on = platform_verdict(spotify(), Some(-14.3), Some(-2.0), Lang::Fr);
        assert_eq!(on, "Dans la cible de Spotify à -14 LUFS (-0,3 LU).");
        let quiet = platform_verdict(spotify(), Some(-19.0), Some(-3.0), Lang::Fr);
        assert!(quiet.starts_with("5,0 LU sous") && quiet.contains("que de 2,0 dB au plus"), "{quiet}");
        let loud = platform_verdict(spotify(), Some(-10.8), Some(-0.5), Lang::Fr);
        assert!(loud.contains("baissé de 3,2 dB") && loud.contains("Crête vraie 0,5 dB au-dessus"), "{loud}");
        let silent = platform_verdict(spotify(), None, None, Lang::En);
        assert!(silent.contains("no integrated loudness"), "{silent}");
    }

    #[test]
    fn french_key_names_follow_the_tonic() {
        assert_eq!(key_name(4, "minor", Lang::Fr, "E minor"), "mi mineur");
        assert_eq!(key_name(10, "major", Lang::Fr, "Bb major"), "sib majeur");
        assert_eq!(key_name(4, "minor", Lang::En, "E minor"), "E minor");
    }

    /// A real analysis of a tone, with every section the other analyses fill set by hand, in
    /// both languages: each part is printed, in the right words, with units.
    #[test]
    fn a_full_report_has_every_part_in_both_languages() {
        use audiocollab_core::analysis::character::{Character, Source, SourceKind, SourceMeasures, SourceScores};
        use audiocollab_core::analysis::sections::Section;
        use audiocollab_core::analysis::track::{analyze, AnalyzeOptions};
        let rate = 48_000u32;
        let tone: Vec<f32> = (0..5 * rate as usize)
            .map(|n| (0.25 * (2.0 * std::f64::consts::PI * 1000.0 * n as f64 / f64::from(rate)).sin()) as f32)
            .collect();
        let mut a = analyze(rate, &[tone.clone(), tone], &AnalyzeOptions::default(), |_| {}).unwrap();
        a.sections = vec![
            Section {
                start_s: 0.0,
                end_s: 2.5,
                label: "A".into(),
                loudness_lufs: Some(-15.0),
                energy: None,
                role: None,
                role_confidence: 0.0,
                boundary_novelty: None,
            },
            Section {
                start_s: 2.5,
                end_s: 5.0,
                label: "B".into(),
                loudness_lufs: None,
                energy: None,
                role: None,
                role_confidence: 0.0,
                boundary_novelty: None,
            },
        ];
        a.character = Some(Character {
            energy: 0.7,
            brightness: 0.2,
            description_en: "energetic and dark".into(),
            description_fr: "énergique et sombre".into(),
            loudness_lufs: Some(-12.0),
            loudness_range_lu: Some(5.0),
            onsets_per_second: 4.0,
            tempo_bpm: Some(120.0),
            spectral_centroid_hz: 900.0,
            high_frequency_share: 0.1,
        });
        a.source = Some(Source {
            kind: SourceKind::Keys,
            confidence: 0.6,
            scores: SourceScores { drums: 0.1, bass: 0.1, vocal: 0.1, guitar: 0.3, keys: 0.6, full_mix: 0.2 },
            measures: SourceMeasures {
                tonality: 0.5,
                chroma_flux: 0.1,
                low_share: 0.2,
                high_share: 0.1,
                air_share: 0.01,
                band_flatness: 0.3,
                bass_chroma_share: 0.2,
                bass_polyphony: 1.0,
                high_onset_share: 0.1,
            },
        });
        a.tonal_balance.regions = vec![RegionBalance {
            region: Region::LowMid,
            low_hz: 250.0,
            high_hz: 500.0,
            deviation_db: 5.0,
            balance_db: 4.2,
            tolerance_db: 3.0,
        }];
        a.findings = vec![Finding {
            kind: FindingKind::Clipping,
            severity: Severity::Problem,
            start_s: 1.5,
            end_s: 1.6,
            value: 12.0,
            threshold: 1.0,
            unit: "samples".into(),
            explanation_en: "Samples sit at full scale: the waveform was cut flat.".into(),
            explanation_fr: "Des échantillons sont à pleine échelle : la forme d'onde a été écrêtée.".into(),
        }];
        let decoder = DecoderInfo {
            codec: "PCM".into(),
            concealed_packets: 0,
            channel_layout: "L R".into(),
            non_finite_samples: 0,
        };
        let en = text_report(Path::new("tone.wav"), &decoder, &a, Lang::En);
        for needle in [
            "tone.wav\n  0:05.0, PCM, 48000 Hz, stereo",
            "  Integrated               -12.0 LUFS",
            "2.0 LU louder than Spotify's -14 LUFS: it will be turned down by 2.0 dB.",
            "  Low mids     250 Hz–500 Hz      +4.2 dB  [        |====    ]  too much [±3.0]",
            "  A   0:00.0–0:02.5           -15.0 LUFS",
            "  B   0:02.5–0:05.0           - (silence)",
            "energy 0.70, brightness 0.20: energetic and dark",
            "keys  (confidence 0.60)",
            "Findings (1)\n  0:01.5–0:01.6    problem   Clipping: 12.0 samples (threshold 1.0 samples)",
            "the waveform was cut flat.",
        ] {
            assert!(en.contains(needle), "'{needle}' missing from\n{en}");
        }
        let fr = text_report(Path::new("tone.wav"), &decoder, &a, Lang::Fr);
        for needle in [
            "tone.wav\n  0:05,0, PCM, 48000 Hz, stéréo",
            "  Sonie intégrée           -12,0 LUFS",
            "  Bas-médiums  250 Hz–500 Hz      +4,2 dB  [        |====    ]  trop [±3,0]",
            "  A   0:00,0–0:02,5           -15,0 LUFS",
            "énergie 0,70 ; brillance 0,20 : énergique et sombre",
            "claviers  (confiance 0,60)",
            "  0:01,5–0:01,6    problème  Écrêtage : 12,0 samples (seuil 1,0 samples)",
            "Des échantillons sont à pleine échelle : la forme d'onde a\n",
            "au-dessus des -14 LUFS de Spotify : le titre sera baissé de 2,0 dB.",
        ] {
            assert!(fr.contains(needle), "'{needle}' missing from\n{fr}");
        }
        // Decimal commas only: no number in the French report has a point.
        assert!(!has_decimal_point(&fr), "{fr}");
        assert!(has_decimal_point(&en));
        if std::env::var_os("AUDIOCOLLAB_SHOW_REPORT").is_some() {
            println!("{en}\n{fr}");
        }
    }

    fn has_decimal_point(text: &str) -> bool {
        text.as_bytes().windows(3).any(|w| w[0].is_ascii_digit() && w[1] == b'.' && w[2].is_ascii_digit())
    }

    #[test]
    fn wrap_keeps_words_whole() {
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert!(wrap("", 10).is_empty());
        assert_eq!(format!("{:.1}", tenths(-0.04)), "0.0");
        assert_eq!(format!("{:.1}", tenths(-0.06)), "-0.1");
    }
}
