//! Friendly names of the parameters, in French and English, as musicians say them ("aigus",
//! "grave", "voix", "compresseur", "panoramique", "largeur stéréo", "treble", "low end", …).
//!
//! A name resolves to one parameter: the one a musician means when the sentence gives a number
//! in that parameter's unit ("monte les aigus de 2 dB" → the high shelf's gain). Toggles have
//! their own names ("compresseur", "de-esser", "passe-haut"), and [`resolve`] also accepts
//! every parameter id (`b2_gain`) and display name (`Bell 2 Gain`, `Gain cloche 2`).
//!
//! The display names a musician reads when a change is described are here too
//! ([`display_name`], [`describe_change`]): the spec's host-visible names in English, and the
//! one French table.

pub use audiocollab_core::lang::normalise;
use audiocollab_core::lang::Lang;
use audiocollab_core::spec::{ParamId, PARAMS};
use std::sync::OnceLock;

/// Friendly names, lower case without accents (see [`normalise`]), longest first within a
/// parameter so that "largeur stereo" wins over "largeur".
const NAMES: &[(&str, ParamId)] = &[
    // Gains of the EQ bands.
    ("aigus", ParamId::HighShelfGain),
    ("aigu", ParamId::HighShelfGain),
    ("treble", ParamId::HighShelfGain),
    ("highs", ParamId::HighShelfGain),
    ("high end", ParamId::HighShelfGain),
    ("top end", ParamId::HighShelfGain),
    ("air", ParamId::HighShelfGain),
    ("brillance", ParamId::HighShelfGain),
    ("high shelf", ParamId::HighShelfGain),
    ("high-shelf", ParamId::HighShelfGain),
    ("treble shelf", ParamId::HighShelfGain),
    ("plateau aigu", ParamId::HighShelfGain),
    ("shelf aigu", ParamId::HighShelfGain),
    ("graves", ParamId::LowShelfGain),
    ("grave", ParamId::LowShelfGain),
    ("basses", ParamId::LowShelfGain),
    ("bass", ParamId::LowShelfGain),
    ("low end", ParamId::LowShelfGain),
    ("low-end", ParamId::LowShelfGain),
    ("bottom end", ParamId::LowShelfGain),
    ("le bas", ParamId::LowShelfGain),
    ("lows", ParamId::LowShelfGain),
    ("low shelf", ParamId::LowShelfGain),
    ("low-shelf", ParamId::LowShelfGain),
    ("bass shelf", ParamId::LowShelfGain),
    ("plateau grave", ParamId::LowShelfGain),
    ("shelf grave", ParamId::LowShelfGain),
    ("bas medium", ParamId::Bell1Gain),
    ("bas-medium", ParamId::Bell1Gain),
    ("bas mediums", ParamId::Bell1Gain),
    ("bas-mediums", ParamId::Bell1Gain),
    ("low mids", ParamId::Bell1Gain),
    ("low-mids", ParamId::Bell1Gain),
    ("mud", ParamId::Bell1Gain),
    ("boue", ParamId::Bell1Gain),
    ("mediums", ParamId::Bell2Gain),
    ("medium", ParamId::Bell2Gain),
    ("haut medium", ParamId::Bell2Gain),
    ("haut-medium", ParamId::Bell2Gain),
    ("haut mediums", ParamId::Bell2Gain),
    ("haut-mediums", ParamId::Bell2Gain),
    ("mids", ParamId::Bell2Gain),
    ("high mids", ParamId::Bell2Gain),
    ("presence", ParamId::Bell2Gain),
    ("voix", ParamId::Bell2Gain),
    ("voice", ParamId::Bell2Gain),
    ("vocals", ParamId::Bell2Gain),
    ("vocal", ParamId::Bell2Gain),
    // Levels.
    ("gain d'entree", ParamId::InputGain),
    ("entree", ParamId::InputGain),
    ("input", ParamId::InputGain),
    ("trim", ParamId::InputGain),
    ("gain de sortie", ParamId::OutputGain),
    ("sortie", ParamId::OutputGain),
    ("volume", ParamId::OutputGain),
    ("output", ParamId::OutputGain),
    ("level", ParamId::OutputGain),
    ("niveau", ParamId::OutputGain),
    // High-pass.
    ("passe-haut", ParamId::HpOn),
    ("passe haut", ParamId::HpOn),
    ("coupe-bas", ParamId::HpOn),
    ("coupe bas", ParamId::HpOn),
    ("high-pass", ParamId::HpOn),
    ("high pass", ParamId::HpOn),
    ("highpass", ParamId::HpOn),
    ("low cut", ParamId::HpOn),
    ("frequence du passe-haut", ParamId::HpFreq),
    ("high-pass frequency", ParamId::HpFreq),
    // Compressor.
    ("compresseur", ParamId::CompOn),
    ("compression", ParamId::CompOn),
    ("compressor", ParamId::CompOn),
    ("comp", ParamId::CompOn),
    ("seuil", ParamId::CompThreshold),
    ("threshold", ParamId::CompThreshold),
    ("ratio", ParamId::CompRatio),
    ("taux", ParamId::CompRatio),
    ("attaque", ParamId::CompAttack),
    ("attack", ParamId::CompAttack),
    ("relachement", ParamId::CompRelease),
    ("release", ParamId::CompRelease),
    ("genou", ParamId::CompKnee),
    ("knee", ParamId::CompKnee),
    ("makeup", ParamId::CompMakeup),
    ("make-up", ParamId::CompMakeup),
    ("compensation", ParamId::CompMakeup),
    ("mix du compresseur", ParamId::CompMix),
    ("compressor mix", ParamId::CompMix),
    ("comp mix", ParamId::CompMix),
    ("compression parallele", ParamId::CompMix),
    ("parallel compression", ParamId::CompMix),
    ("dry/wet", ParamId::CompMix),
    // De-esser.
    ("de-esser", ParamId::DeessOn),
    ("deesser", ParamId::DeessOn),
    ("de-esseur", ParamId::DeessOn),
    ("deesseur", ParamId::DeessOn),
    ("sibilantes", ParamId::DeessOn),
    ("sibilance", ParamId::DeessOn),
    // Stereo.
    ("panoramique", ParamId::Pan),
    ("panning", ParamId::Pan),
    ("pan", ParamId::Pan),
    ("largeur stereo", ParamId::Width),
    ("stereo width", ParamId::Width),
    ("largeur", ParamId::Width),
    ("width", ParamId::Width),
    ("stereo", ParamId::Width),
    ("polarite gauche", ParamId::PolarityL),
    ("polarite de gauche", ParamId::PolarityL),
    ("polarite du canal gauche", ParamId::PolarityL),
    ("left polarity", ParamId::PolarityL),
    ("left channel's polarity", ParamId::PolarityL),
    ("polarite droite", ParamId::PolarityR),
    ("polarite de droite", ParamId::PolarityR),
    ("polarite du canal droit", ParamId::PolarityR),
    ("right polarity", ParamId::PolarityR),
    ("right channel's polarity", ParamId::PolarityR),
    // Output switches.
    ("bypass", ParamId::Bypass),
    ("contournement", ParamId::Bypass),
    ("mute", ParamId::Mute),
    ("muet", ParamId::Mute),
    ("sourdine", ParamId::Mute),
];

/// The name a musician reads for `p` in `lang`, wherever a change is described (cards, chat,
/// the command line): the host-visible name ([`ParamSpec::name`]) in English, its French
/// counterpart in French. Hosts always see the English name; ids never change.
///
/// [`ParamSpec::name`]: audiocollab_core::spec::ParamSpec::name
pub fn display_name(p: ParamId, lang: Lang) -> &'static str {
    use ParamId::*;
    if lang == Lang::En {
        return p.spec().name;
    }
    match p {
        InputGain => "Gain d'entrée",
        HpOn => "Passe-haut",
        HpFreq => "Fréquence du passe-haut",
        HpSlope => "Pente du passe-haut",
        LowShelfOn => "Plateau grave",
        LowShelfFreq => "Fréquence plateau grave",
        LowShelfGain => "Gain plateau grave",
        Bell1On => "Cloche 1",
        Bell1Freq => "Fréquence cloche 1",
        Bell1Gain => "Gain cloche 1",
        Bell1Q => "Q cloche 1",
        Bell2On => "Cloche 2",
        Bell2Freq => "Fréquence cloche 2",
        Bell2Gain => "Gain cloche 2",
        Bell2Q => "Q cloche 2",
        HighShelfOn => "Plateau aigu",
        HighShelfFreq => "Fréquence plateau aigu",
        HighShelfGain => "Gain plateau aigu",
        CompOn => "Compresseur",
        CompThreshold => "Seuil du compresseur",
        CompRatio => "Ratio du compresseur",
        CompAttack => "Attaque du compresseur",
        CompRelease => "Relâchement du compresseur",
        CompKnee => "Genou du compresseur",
        CompMakeup => "Gain de compensation",
        CompMix => "Mix du compresseur",
        CompLink => "Couplage stéréo du compresseur",
        DeessOn => "De-esser",
        DeessFreq => "Fréquence du de-esser",
        DeessThreshold => "Seuil du de-esser",
        DeessRange => "Réduction max. du de-esser",
        Pan => "Panoramique",
        Width => "Largeur stéréo",
        OutputGain => "Gain de sortie",
        Bypass => "Contournement",
        Mute => "Sourdine",
        PolarityL => "Inversion de polarité gauche",
        PolarityR => "Inversion de polarité droite",
    }
}

/// A change of `p` from `from` to `to` as `lang` reads it: "Bell 1 Gain: 0.0 dB → -6.0 dB",
/// "Gain cloche 1 : 0,0 dB → -6,0 dB", "Compresseur : désactivé → activé". `arrow` is `→`,
/// or `->` where the fonts have no arrow (the plugin's window).
pub fn describe_change(p: ParamId, from: f32, to: f32, lang: Lang, arrow: &str) -> String {
    let spec = p.spec();
    format!(
        "{}{}{} {arrow} {}",
        display_name(p, lang),
        lang.colon(),
        spec.format_in(from, lang),
        spec.format_in(to, lang)
    )
}

/// The parameter a name stands for: an id (`b2_gain`), a display name (`Bell 2 Gain`) or a
/// friendly name in French or English ("aigus", "largeur stéréo"). `None` when nothing matches.
pub fn resolve(name: &str) -> Option<ParamId> {
    let key = normalise(name);
    if let Some(p) = ParamId::from_id(&key.replace(' ', "_")) {
        return Some(p);
    }
    if let Some(spec) = PARAMS.iter().find(|s| normalise(s.name) == key) {
        return Some(spec.param);
    }
    let key = key
        .strip_prefix("les ")
        .or_else(|| key.strip_prefix("le "))
        .or_else(|| key.strip_prefix("la "))
        .unwrap_or(&key);
    let key = key.strip_prefix("the ").unwrap_or(key);
    // A friendly name first: "plateau grave" is the shelf's gain when a musician says it,
    // though the shelf's switch is displayed so.
    let friendly = NAMES.iter().find(|(n, _)| *n == key).map(|&(_, p)| p);
    friendly.or_else(|| ParamId::ALL.into_iter().find(|&p| normalise(display_name(p, Lang::Fr)) == key))
}

/// Every friendly name with the parameter it stands for (for the assistant's prompt and help).
pub fn friendly_names() -> impl Iterator<Item = (&'static str, ParamId)> {
    NAMES.iter().copied()
}

/// The friendly names found in `text` (already [`normalise`]d), longest match first, each
/// with its byte position; overlapping shorter names are skipped.
pub fn find_in(text: &str) -> Vec<(usize, ParamId, &'static str)> {
    // The names by their first letter, longest first, built once: a name starts a word, so
    // only the words' starts are tried (trying every name on the whole text was slow).
    static BY_FIRST: OnceLock<Vec<Vec<(&'static str, ParamId)>>> = OnceLock::new();
    let by_first = BY_FIRST.get_or_init(|| {
        let mut table = vec![Vec::new(); 128];
        for &(name, param) in NAMES {
            table[usize::from(name.as_bytes()[0] & 0x7f)].push((name, param));
        }
        for names in &mut table {
            names.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
        }
        table
    });
    let b = text.as_bytes();
    let bounded_end = |end: usize| end == b.len() || !b[end].is_ascii_alphanumeric();
    let mut matches = Vec::new();
    for i in 0..b.len() {
        if !b[i].is_ascii_alphanumeric() || (i > 0 && b[i - 1].is_ascii_alphanumeric()) {
            continue;
        }
        for &(name, param) in &by_first[usize::from(b[i] & 0x7f)] {
            let end = i + name.len();
            if text.as_bytes().get(i..end) == Some(name.as_bytes()) && bounded_end(end) {
                matches.push((i, param, name));
            }
        }
    }
    // Longest first, then leftmost; a match overlapping one already taken is skipped.
    matches.sort_by_key(|&(i, _, n)| (std::cmp::Reverse(n.len()), i));
    let mut taken = vec![false; text.len()];
    let mut found = Vec::new();
    for (i, param, name) in matches {
        let span = i..i + name.len();
        if !taken[span.clone()].iter().any(|&t| t) {
            taken[span].iter_mut().for_each(|t| *t = true);
            found.push((i, param, name));
        }
    }
    found.sort_by_key(|&(i, _, _)| i);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_in_both_languages_and_by_id() {
        assert_eq!(resolve("Aigus"), Some(ParamId::HighShelfGain));
        assert_eq!(resolve("les aigus"), Some(ParamId::HighShelfGain));
        assert_eq!(resolve("the treble"), Some(ParamId::HighShelfGain));
        assert_eq!(resolve("grave"), Some(ParamId::LowShelfGain));
        assert_eq!(resolve("Largeur  Stéréo"), Some(ParamId::Width));
        assert_eq!(resolve("panoramique"), Some(ParamId::Pan));
        assert_eq!(resolve("compresseur"), Some(ParamId::CompOn));
        assert_eq!(resolve("voix"), Some(ParamId::Bell2Gain));
        assert_eq!(resolve("b2_gain"), Some(ParamId::Bell2Gain));
        assert_eq!(resolve("Bell 2 Gain"), Some(ParamId::Bell2Gain));
        assert_eq!(resolve("dé-esseur"), Some(ParamId::DeessOn));
        assert_eq!(resolve("la polarité de droite"), Some(ParamId::PolarityR));
        assert_eq!(resolve("left polarity"), Some(ParamId::PolarityL));
        assert_eq!(resolve("Invert Right"), Some(ParamId::PolarityR));
        assert_eq!(resolve("reverb"), None);
        assert_eq!(resolve(""), None);
    }

    #[test]
    fn every_parameter_has_one_french_display_name_that_resolves_back() {
        for p in ParamId::ALL {
            let fr = display_name(p, Lang::Fr);
            assert_eq!(display_name(p, Lang::En), p.spec().name);
            assert_ne!(fr, p.spec().name, "{} has no French name", p.spec().id);
            let friendly = NAMES.iter().any(|(n, _)| *n == normalise(fr));
            assert!(friendly || resolve(fr) == Some(p), "{fr}");
            assert_eq!(ParamId::ALL.iter().filter(|&&q| display_name(q, Lang::Fr) == fr).count(), 1, "{fr} twice");
        }
    }

    #[test]
    fn changes_read_in_the_language_of_the_reader() {
        assert_eq!(describe_change(ParamId::CompOn, 0.0, 1.0, Lang::Fr, "→"), "Compresseur : désactivé → activé");
        assert_eq!(
            describe_change(ParamId::Bell1Freq, 400.0, 1250.0, Lang::Fr, "→"),
            "Fréquence cloche 1 : 400 Hz → 1,25 kHz"
        );
        assert_eq!(describe_change(ParamId::Bell1Gain, 0.0, -6.0, Lang::Fr, "->"), "Gain cloche 1 : 0,0 dB -> -6,0 dB");
        assert_eq!(describe_change(ParamId::CompOn, 0.0, 1.0, Lang::En, "→"), "Compressor On: Off → On");
        assert_eq!(describe_change(ParamId::Bell1Gain, 0.0, -6.0, Lang::En, "→"), "Bell 1 Gain: 0.0 dB → -6.0 dB");
    }

    #[test]
    fn every_friendly_name_is_normalised_and_unique() {
        for (name, _) in friendly_names() {
            assert_eq!(normalise(name), name, "{name} is not in normal form");
            assert_eq!(NAMES.iter().filter(|(n, _)| *n == name).count(), 1, "{name} twice");
        }
    }

    #[test]
    fn names_are_found_inside_sentences() {
        let text = normalise("Monte les aigus et baisse la largeur stéréo");
        let found: Vec<ParamId> = find_in(&text).into_iter().map(|(_, p, _)| p).collect();
        assert_eq!(found, vec![ParamId::HighShelfGain, ParamId::Width]);
        // "bass" inside "basse" is not a match, "stereo" inside "largeur stereo" is not double.
        assert!(find_in("contrebasse").is_empty());
    }
}
