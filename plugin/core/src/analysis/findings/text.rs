//! Wording shared by the explanations, which carry both languages: each value formatted once
//! per language by [`crate::text`] (times truncated as a DAW ruler shows them, `2:34`; a
//! decimal point in English, a comma in French).

use super::spans::Span;
use super::{FindingKind, Scope, Severity};
use crate::lang::Lang;
use crate::text;

pub(super) use crate::text::clock;

/// `f` in English and in French.
fn both(f: impl Fn(Lang) -> String) -> (String, String) {
    (f(Lang::En), f(Lang::Fr))
}

/// [`text::clock_tenths`] in English and French: `0:12.3`, `0:12,3`.
pub(super) fn clock_tenths(t: f64) -> (String, String) {
    both(|lang| text::clock_tenths(t, lang))
}

/// [`text::number`] in English and French.
pub(super) fn num(x: f64, decimals: usize) -> (String, String) {
    both(|lang| text::number(x, decimals, lang))
}

/// [`text::signed`] in English and French.
pub(super) fn signed(x: f64, decimals: usize) -> (String, String) {
    both(|lang| text::signed(x, decimals, lang))
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

/// The name of a finding kind, capitalised, for the report and the plot.
pub fn kind_name(kind: FindingKind, lang: Lang) -> &'static str {
    use FindingKind as K;
    match lang {
        Lang::En => match kind {
            K::NonFiniteSamples => "Invalid samples",
            K::Clipping => "Clipping",
            K::InterSampleOvers => "Inter-sample overs",
            K::TruePeakOverTarget => "True peak over target",
            K::TooLoud => "Too loud",
            K::TooQuiet => "Too quiet",
            K::OverCompressed => "Over-compressed",
            K::ExcessiveDynamics => "Excessive dynamics",
            K::Harshness => "Harshness",
            K::Sibilance => "Sibilance",
            K::Mud => "Mud",
            K::Boom => "Boom",
            K::ThinLowEnd => "Thin low end",
            K::DullTop => "Dull top",
            K::PhaseProblem => "Phase problem",
            K::MonoCompatibility => "Mono compatibility",
            K::DcOffset => "DC offset",
            K::NoiseFloor => "Noise floor",
            K::SilenceHead => "Silence at the head",
            K::SilenceTail => "Silence at the tail",
            K::PolarityInverted => "Inverted channel",
            K::NarrowStereo => "Narrow stereo",
            K::Boxiness => "Boxiness",
            K::HollowMids => "Hollow mids",
        },
        Lang::Fr => match kind {
            K::NonFiniteSamples => "Échantillons invalides",
            K::Clipping => "Écrêtage",
            K::InterSampleOvers => "Dépassements inter-échantillons",
            K::TruePeakOverTarget => "Crête vraie au-dessus de la cible",
            K::TooLoud => "Trop fort",
            K::TooQuiet => "Trop faible",
            K::OverCompressed => "Surcompression",
            K::ExcessiveDynamics => "Dynamique excessive",
            K::Harshness => "Dureté",
            K::Sibilance => "Sibilance",
            K::Mud => "Bas-médiums boueux",
            K::Boom => "Graves envahissants",
            K::ThinLowEnd => "Manque de graves",
            K::DullTop => "Aigus ternes",
            K::PhaseProblem => "Problème de phase",
            K::MonoCompatibility => "Compatibilité mono",
            K::DcOffset => "Composante continue",
            K::NoiseFloor => "Bruit de fond",
            K::SilenceHead => "Silence en début",
            K::SilenceTail => "Silence en fin",
            K::PolarityInverted => "Canal inversé",
            K::NarrowStereo => "Stéréo étroite",
            K::Boxiness => "Son cartonneux",
            K::HollowMids => "Médiums creusés",
        },
    }
}

/// `problem` / `problème`.
pub fn severity_name(severity: Severity, lang: Lang) -> &'static str {
    match (severity, lang) {
        (Severity::Info, _) => "info",
        (Severity::Warning, Lang::En) => "warning",
        (Severity::Warning, Lang::Fr) => "attention",
        (Severity::Problem, Lang::En) => "problem",
        (Severity::Problem, Lang::Fr) => "problème",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_and_numbers_in_both_languages() {
        assert_eq!(clock(154.9), "2:34");
        assert_eq!(clock(3725.0), "1:02:05");
        assert_eq!(clock_tenths(12.34), ("0:12.3".into(), "0:12,3".into()));
        assert_eq!(signed(5.83, 1), ("+5.8".into(), "+5,8".into()));
        assert_eq!(num(-14.26, 1), ("-14.3".into(), "-14,3".into()));
    }
}
