//! Harshness, sibilance, mud, boom, thin low end and dull top: a group of bands too strong or
//! too weak against the rest of the spectrum, compared with the genre's curve.
//!
//! The measure is the group's *balance* of [`crate::analysis::tonal`]: its power-weighted
//! deviation from the curve minus the median deviation of the reference bands, so a boost of
//! 2–5 kHz reads as its own size whatever it does to the loudness. It is taken over 1 s windows
//! (sliding by a frame, placed at their centres: stretch edges within half a second) that are
//! not more than [`GATE_DB`] under the body of the track, and reported for stretches of at least
//! [`MIN_S`] where it passes the genre's tolerance (the mean over the group's bands); the value
//! is the balance over the whole stretch.
//!
//! Severity: Warning, Problem beyond twice the tolerance.

use super::spans::{flagged, join, windows, Span};
use super::text::{signed, span as span_text};
use super::{Context, Finding, FindingKind, Scope, Severity};
use crate::analysis::tonal::BandPowers;
use crate::dsp::decibel::db_to_power;

/// Analysis window, frames: 1 s, long enough to steady the band powers of the 40 Hz bands
/// (about 10 Hz wide), short enough to place a change within half a second.
const WINDOW_FRAMES: usize = 10;
/// Windows quieter than the body of the track by more than this are not judged, dB: as for the
/// loudness range's relative gate (EBU Tech 3342, −20 LU), breaks and fades are not the mix.
const GATE_DB: f64 = 20.0;
/// Shortest stretch reported, s: about two bars; a single loud synth stab is not a
/// tonal-balance problem.
const MIN_S: f64 = 3.0;
/// Flagged windows closer than this make one stretch, s: a passage with a lighter bar inside is
/// still one passage (the balance is then measured over all of it, and a stretch whose whole
/// no longer breaks the tolerance is not reported).
const MERGE_S: f64 = 3.0;

/// A group of bands and what too much (or too little) of it means.
struct Group {
    kind: FindingKind,
    /// First and last band (ISO 266 index: 0 = 20 Hz … 30 = 20 kHz).
    bands: (usize, usize),
    /// Whether the problem is too much (else too little).
    excess: bool,
    what_en: &'static str,
    what_fr: &'static str,
    advice_en: &'static str,
    advice_fr: &'static str,
}

const GROUPS: [Group; 6] = [
    Group {
        kind: FindingKind::Boom,
        bands: (2, 7), // 31.5–100 Hz bands: 28 Hz–112 Hz
        excess: true,
        what_en: "Boomy low end (below 120 Hz)",
        what_fr: "Grave envahissant (sous 120 Hz)",
        advice_en: "Check the kick and bass levels, and high-pass what does not need the low end.",
        advice_fr: "Vérifiez le niveau du kick et de la basse, et filtrez le grave de ce qui n'en a pas besoin.",
    },
    Group {
        kind: FindingKind::ThinLowEnd,
        bands: (3, 9), // 40–160 Hz bands: 35 Hz–180 Hz
        excess: false,
        what_en: "Thin low end (40–160 Hz)",
        what_fr: "Grave maigre (40–160 Hz)",
        advice_en: "Bring up the bass or the kick, or ease the high-pass filters.",
        advice_fr: "Remontez la basse ou le kick, ou desserrez les filtres passe-haut.",
    },
    Group {
        kind: FindingKind::Mud,
        bands: (10, 13), // 200–400 Hz bands: 178 Hz–447 Hz
        excess: true,
        what_en: "Muddy low mids (200–500 Hz)",
        what_fr: "Bas-médium boueux (200–500 Hz)",
        advice_en: "Cut a little around 300 Hz on the pads, guitars or keys that overlap.",
        advice_fr: "Creusez un peu vers 300 Hz sur les nappes, guitares ou claviers qui se chevauchent.",
    },
    Group {
        kind: FindingKind::Harshness,
        bands: (20, 23), // 2–4 kHz bands: 1.78–4.47 kHz
        excess: true,
        what_en: "Harsh upper mids (2–5 kHz)",
        what_fr: "Haut-médium agressif (2–5 kHz)",
        advice_en: "Try a gentle cut around 3 kHz on the loudest instruments or the vocal.",
        advice_fr: "Essayez une légère coupe vers 3 kHz sur les instruments les plus forts ou la voix.",
    },
    Group {
        kind: FindingKind::Sibilance,
        bands: (24, 26), // 5–8 kHz bands: 4.47–8.91 kHz
        excess: true,
        what_en: "Sibilance (5–9 kHz)",
        what_fr: "Sifflantes (5–9 kHz)",
        advice_en: "Tame the esses with a de-esser on the vocal, or a narrow cut around 7 kHz.",
        advice_fr: "Calmez les « s » avec un de-esser sur la voix, ou une coupe étroite vers 7 kHz.",
    },
    Group {
        kind: FindingKind::DullTop,
        bands: (24, 28), // 5–12.5 kHz bands: 4.47–14.1 kHz
        excess: false,
        what_en: "Dull top end (5–12.5 kHz)",
        what_fr: "Aigus ternes (5–12,5 kHz)",
        advice_en: "A gentle high shelf, or brighter sources, would open it up.",
        advice_fr: "Une légère correction en plateau dans l'aigu, ou des sources plus brillantes, l'ouvriraient.",
    },
];

impl Group {
    fn bands(&self) -> impl Iterator<Item = usize> {
        self.bands.0..=self.bands.1
    }

    fn tolerance(&self, ctx: &Context) -> f64 {
        let t: f64 = self.bands().map(|b| ctx.genre.tolerance_db[b] as f64).sum();
        t / (self.bands.1 + 1 - self.bands.0) as f64
    }

    /// Whether `balance` is on the wrong side of the tolerance.
    fn breaks(&self, balance: f64, tolerance: f64) -> bool {
        if self.excess {
            balance > tolerance
        } else {
            balance < -tolerance
        }
    }
}

pub(super) fn detect(scope: &Scope, ctx: &Context, out: &mut Vec<Finding>) {
    let Some(active) = scope.active_ms else {
        return;
    };
    let gate = active * db_to_power(-GATE_DB);
    let channels = scope.channels;
    // The band powers of each window, once for every group; `None` for a window under the gate.
    let powers = windows(scope.frames, WINDOW_FRAMES, |w| {
        let ms = w.iter().map(|f| f.mean_square(channels)).sum::<f64>() / w.len() as f64;
        if ms < gate {
            None
        } else {
            BandPowers::mean_of(w, channels)
        }
    });
    for group in &GROUPS {
        let tolerance = group.tolerance(ctx);
        let balance = |p: &BandPowers| p.group_balance_db(group.bands(), ctx.genre);
        let over = flagged(&powers, |p| p.as_ref().and_then(balance).is_some_and(|b| group.breaks(b, tolerance)));
        for span in join(over, MERGE_S, MIN_S) {
            let whole = BandPowers::mean_of(scope.frames_in(span.start, span.end), channels);
            if let Some(b) = whole.as_ref().and_then(balance).filter(|&b| group.breaks(b, tolerance)) {
                out.push(finding(scope, ctx, group, span, b, tolerance));
            }
        }
    }
}

fn finding(scope: &Scope, ctx: &Context, group: &Group, span: Span, balance: f64, tolerance: f64) -> Finding {
    let (b_en, b_fr) = signed(balance, 1);
    let (t_en, t_fr) = (format!("{tolerance:.0}"), format!("{tolerance:.0}"));
    let (w_en, w_fr) = span_text(scope, span);
    let (g_en, g_fr) = (&ctx.genre.name_en, &ctx.genre.name_fr);
    Finding {
        kind: group.kind,
        severity: if balance.abs() > 2.0 * tolerance { Severity::Problem } else { Severity::Warning },
        start_s: span.start,
        end_s: span.end,
        value: balance,
        threshold: if group.excess { tolerance } else { -tolerance },
        unit: "dB".into(),
        explanation_en: format!(
            "{} {w_en}: {b_en} dB against the rest of the mix, compared with the {g_en} balance (tolerance \
             ±{t_en} dB). {}",
            group.what_en, group.advice_en
        ),
        explanation_fr: format!(
            "{} {w_fr} : {b_fr} dB par rapport au reste du mix, comparé à l'équilibre {g_fr} (tolérance \
             ±{t_fr} dB). {}",
            group.what_fr, group.advice_fr
        ),
    }
}
