//! Samples that are not numbers (NaN, ±∞): a plugin that blew up or a broken export wrote
//! them. The decoder conceals them before anything is measured (and the meters measure any
//! that get through as silence), so they are left out of every figure; this check says where
//! they were, from the frames' counts (times within 100 ms).
//!
//! Frames with such samples closer than [`EVENT_MERGE_S`] make one finding, with their count.
//! Severity: always Problem. Players and converters turn them into full-scale clicks or
//! mute the output, and the file can break a session it is imported into.

use super::spans::{join, Span};
use super::text::{plural, span as whole_or_range, when};
use super::{Finding, FindingKind, Scope, Severity};

/// Frames with non-finite samples closer than this are one finding, s (as clipping events).
const EVENT_MERGE_S: f64 = 1.0;

/// Adds the findings; returns whether the stretch has no valid sample at all.
pub(super) fn detect(scope: &Scope, out: &mut Vec<Finding>) -> bool {
    let flagged = scope.frames.iter().filter(|f| f.non_finite > 0).map(|f| (f.start_s, f.end_s()));
    for span in join(flagged, EVENT_MERGE_S, 0.0) {
        let span = Span { start: span.start.max(scope.t0), end: span.end.min(scope.t1) };
        let frames = scope.frames_in(span.start, span.end);
        let samples: u64 = frames.iter().map(|f| u64::from(f.non_finite)).sum();
        let rate = f64::from(scope.timeline.sample_rate());
        let channels = scope.timeline.layout().channels() as u64;
        let in_span: u64 = frames.iter().map(|f| (f.duration_s * rate).round() as u64 * channels).sum();
        if samples >= in_span && scope.is_whole(span.start, span.end) {
            out.push(none_valid(scope, span, samples));
            return true;
        }
        out.push(non_finite(span, samples));
    }
    false
}

fn non_finite(span: Span, samples: u64) -> Finding {
    let (at_en, at_fr) = when(span);
    Finding {
        kind: FindingKind::NonFiniteSamples,
        severity: Severity::Problem,
        start_s: span.start,
        end_s: span.end,
        value: samples as f64,
        threshold: 0.0,
        unit: "samples".into(),
        explanation_en: format!(
            "{} {at_en} {} not numbers (NaN or infinite): a plugin or the export failed there, and \
             players may turn them into loud clicks. They were left out of every measure. Find the faulty \
             plugin and export again.",
            plural(samples, "sample", "samples"),
            if samples == 1 { "is" } else { "are" },
        ),
        explanation_fr: format!(
            "{} {at_fr} : des valeurs qui ne sont pas des nombres (NaN ou infini). Un plug-in ou l'export \
             a échoué à cet endroit, et les lecteurs peuvent les rendre en clics violents. Elles ont été \
             exclues de toutes les mesures. Trouvez le plug-in fautif et exportez à nouveau.",
            plural(samples, "échantillon invalide", "échantillons invalides"),
        ),
    }
}

/// Nothing but non-finite samples in the whole stretch: no valid samples, rather than the
/// silence the measures read.
fn none_valid(scope: &Scope, span: Span, samples: u64) -> Finding {
    let (all_en, all_fr) = whole_or_range(scope, span);
    Finding {
        kind: FindingKind::NonFiniteSamples,
        severity: Severity::Problem,
        start_s: span.start,
        end_s: span.end,
        value: samples as f64,
        threshold: 0.0,
        unit: "samples".into(),
        explanation_en: format!(
            "No valid samples: all {samples} samples are NaN or infinite ({all_en}), so nothing could be \
             measured (the levels read as silence, but it is not). The program that wrote the file failed: \
             export it again."
        ),
        explanation_fr: format!(
            "Aucun échantillon valide : les {samples} échantillons sont NaN ou infinis ({all_fr}), rien n'a \
             pu être mesuré (les niveaux se lisent comme un silence, qui n'en est pas un). Le programme qui a \
             écrit le fichier a échoué : exportez-le à nouveau."
        ),
    }
}
