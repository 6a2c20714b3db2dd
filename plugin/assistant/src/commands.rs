//! Direct commands in French and English: set, raise, lower or reset a parameter, switch a
//! stage on or off ("monte les aigus de 2 dB", "pan left 30%", "mute", "bypass the
//! compressor", "coupe-bas à 80 Hz", "cut 250 Hz by 3 dB", "remets la largeur par défaut",
//! "passe en mono", "faster attack", "compresse plus fort", "turn it down 3 dB").
//!
//! [`parse`] turns a message into [`WireChange`]s, the same type a language model emits, so
//! every command goes through the one validator ([`super::actions`]). A message holding no
//! command gives `None`: it is then an intent, a question or conversation for the engine (or
//! the model, when one is configured). When a clause is ambiguous the parser leaves it alone:
//! a miss costs the musician a second try, a wrong move costs trust.
//!
//! Amounts: a number with its unit ("2 dB", "1,5 dB", "moins 6", "minus 4", "120 Hz",
//! "3 kHz", "30 %", "4:1", "8 pour 1", "10 ms", "0,5 s"); introduced by "to / à / at" it is a
//! target, by "by / de" a step. Without an amount, "a bit / un peu" is 1 dB, "a lot /
//! beaucoup" 4 dB, otherwise 2 dB; times, ratios and frequencies move by a factor.
//!
//! How a message is read, in order:
//! * it is cut into clauses (punctuation, "et", "and", "puis", "then"). A clause that names
//!   nothing ("enlève 3 dB") after one that named a parameter without saying what to do
//!   ("y'a trop de basses") is read with it, and so is a lone amount after a command ("moins
//!   de boue, genre 2 dB");
//! * rules that read the whole clause: mono, back to stereo, more or less compression, a cut
//!   below a frequency (the high-pass);
//! * the parameters the clause names ([`find_in`]), each once, qualified by the stage named
//!   with them ("seuil du de-esser" is the de-esser's threshold, not the compressor's);
//! * without a name: mute and the plugin's bypass, a band by its frequency ("cut 250 Hz by
//!   3 dB"), the pan by its side ("hard right"), and the output level when the clause moves a
//!   level ("turn it down 3 dB", "un peu plus fort").

use super::actions::{WireChange, WireValue};
use super::names::{find_in, normalise};
use audiocollab_core::lang::Lang;
use audiocollab_core::spec::{Format, Kind, ParamId, Settings};
use audiocollab_core::untrusted::excerpt_to;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Gain step when a command gives no amount, dB.
const DEFAULT_STEP_DB: f64 = 2.0;
/// Gain step for "a bit" / "un peu", dB.
const SMALL_STEP_DB: f64 = 1.0;
/// Gain step for "a lot" / "beaucoup", dB.
const LARGE_STEP_DB: f64 = 4.0;
/// Pan step when a command gives no amount (25 %), and for "a bit" (10 %).
const DEFAULT_STEP_PAN: f64 = 0.25;
const SMALL_STEP_PAN: f64 = 0.1;
/// Width step when a command gives no amount, percent ("a bit": half, "a lot": double).
const DEFAULT_STEP_WIDTH_PCT: f64 = 20.0;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Verb {
    Raise,
    Lower,
    Set,
    Reset,
    On,
    Off,
    /// "enlève", "remove": a switch off, a level down.
    Remove,
    /// "coupe", "cut": a level down, a stage off ("coupe le compresseur").
    Cut,
}

/// Words that name a verb, normalised (see [`normalise`]), matched as whole words or phrases
/// outside the parameter names ("cut" in "low cut" is a name, not a verb).
const VERBS: &[(&str, Verb)] = &[
    ("remets par defaut", Verb::Reset),
    ("remets a zero", Verb::Reset),
    ("par defaut", Verb::Reset),
    ("a zero", Verb::Reset),
    ("reinitialise", Verb::Reset),
    ("reset", Verb::Reset),
    ("back to default", Verb::Reset),
    ("to default", Verb::Reset),
    ("desactive", Verb::Off),
    ("desactiver", Verb::Off),
    ("eteindre", Verb::Off),
    ("eteins", Verb::Off),
    ("contourne", Verb::Off),
    ("disable", Verb::Off),
    ("turn off", Verb::Off),
    ("switch off", Verb::Off),
    ("shut off", Verb::Off),
    ("kill", Verb::Off),
    ("unmute", Verb::Off),
    ("un-bypass", Verb::Off),
    ("unbypass", Verb::Off),
    ("enleve", Verb::Remove),
    ("enlever", Verb::Remove),
    ("retirer", Verb::Remove),
    ("supprime", Verb::Remove),
    ("retire", Verb::Remove),
    ("vire", Verb::Remove),
    ("ote", Verb::Remove),
    ("remove", Verb::Remove),
    ("take out", Verb::Remove),
    ("take off", Verb::Remove),
    ("pull out", Verb::Remove),
    ("get rid of", Verb::Remove),
    ("lose", Verb::Remove),
    ("reactive", Verb::On),
    ("active", Verb::On),
    ("activer", Verb::On),
    ("reactiver", Verb::On),
    ("rallume", Verb::On),
    ("allume", Verb::On),
    ("enclenche", Verb::On),
    ("enable", Verb::On),
    ("turn on", Verb::On),
    ("switch on", Verb::On),
    ("engage", Verb::On),
    ("augmente", Verb::Raise),
    ("augmenter", Verb::Raise),
    ("monter", Verb::Raise),
    ("remonter", Verb::Raise),
    ("ajouter", Verb::Raise),
    ("rajouter", Verb::Raise),
    ("remonte", Verb::Raise),
    ("monte", Verb::Raise),
    ("booste", Verb::Raise),
    ("boost", Verb::Raise),
    ("raise", Verb::Raise),
    ("increase", Verb::Raise),
    ("turn up", Verb::Raise),
    ("push", Verb::Raise),
    ("pousse", Verb::Raise),
    ("bump", Verb::Raise),
    ("lift", Verb::Raise),
    ("renforce", Verb::Raise),
    ("accentue", Verb::Raise),
    ("hausse", Verb::Raise),
    ("elargis", Verb::Raise),
    ("widen", Verb::Raise),
    ("plus de", Verb::Raise),
    ("plus d", Verb::Raise),
    ("more", Verb::Raise),
    ("de plus", Verb::Raise),
    ("ajoute", Verb::Raise),
    ("rajoute", Verb::Raise),
    ("add", Verb::Raise),
    ("give", Verb::Raise),
    ("donne", Verb::Raise),
    ("diminue", Verb::Lower),
    ("diminuer", Verb::Lower),
    ("baisser", Verb::Lower),
    ("reduire", Verb::Lower),
    ("descendre", Verb::Lower),
    ("attenuer", Verb::Lower),
    ("baisse", Verb::Lower),
    ("rabaisse", Verb::Lower),
    ("reduis", Verb::Lower),
    ("reduit", Verb::Lower),
    ("attenue", Verb::Lower),
    ("attenuate", Verb::Lower),
    ("descends", Verb::Lower),
    ("descend", Verb::Lower),
    ("lower", Verb::Lower),
    ("reduce", Verb::Lower),
    ("decrease", Verb::Lower),
    ("turn down", Verb::Lower),
    ("drop", Verb::Lower),
    ("pull", Verb::Lower),
    ("tame", Verb::Lower),
    ("calme", Verb::Lower),
    ("creuse", Verb::Lower),
    ("creux", Verb::Lower),
    ("scoop", Verb::Lower),
    ("dip", Verb::Lower),
    ("notch", Verb::Lower),
    ("shave", Verb::Lower),
    ("resserre", Verb::Lower),
    ("narrow", Verb::Lower),
    ("moins de", Verb::Lower),
    ("moins d", Verb::Lower),
    ("de moins", Verb::Lower),
    ("less", Verb::Lower),
    ("coupe", Verb::Cut),
    ("couper", Verb::Cut),
    ("cut", Verb::Cut),
    ("mets", Verb::Set),
    ("mettre", Verb::Set),
    ("passer", Verb::Set),
    ("regler", Verb::Set),
    ("met", Verb::Set),
    ("regle", Verb::Set),
    ("passe", Verb::Set),
    ("fixe", Verb::Set),
    ("place", Verb::Set),
    ("set", Verb::Set),
    ("put", Verb::Set),
    ("make", Verb::Set),
];

/// Verbs of quantity ("more", "moins de"): with nothing named they say nothing about the
/// level ("more punch" is an intent, not the output).
const QUANTITY_VERBS: &[&str] =
    &["plus de", "plus d", "more", "de plus", "moins de", "moins d", "de moins", "less", "add", "ajoute", "rajoute"];

/// A number with the unit written after it.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Amount {
    value: f64,
    unit: Unit,
    /// Introduced by "to / à / at": an absolute target rather than a step.
    absolute: bool,
    /// Introduced by "by / de": a step.
    relative: bool,
    /// Written with a sign ("-3", "+2", "moins 6").
    signed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Unit {
    Db,
    Hz,
    Percent,
    Ms,
    Ratio,
    None,
}

/// How much a clause asks for when it gives no number.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Size {
    Small,
    Normal,
    Large,
}

fn is_word_at(text: &str, i: usize, len: usize) -> bool {
    let b = text.as_bytes();
    (i == 0 || !b[i - 1].is_ascii_alphanumeric()) && (i + len == b.len() || !b[i + len].is_ascii_alphanumeric())
}

fn find_word(text: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(word).map(|i| i + from) {
        if is_word_at(text, i, word.len()) {
            return Some(i);
        }
        from = i + word.len();
    }
    None
}

fn any_word(text: &str, words: &[&str]) -> bool {
    words.iter().any(|w| find_word(text, w).is_some())
}

/// The words of a clause (runs of letters and digits), read once: a clause is matched against
/// a few hundred phrases, and searching the text for each was most of the time of a long
/// message.
struct Words(Vec<String>);

fn words_of(text: &str) -> impl Iterator<Item = &str> + Clone {
    text.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty())
}

impl Words {
    fn of(text: &str) -> Words {
        Words(words_of(text).map(str::to_string).collect())
    }

    /// Where `phrase` (its words in a row) starts, in words.
    fn find(&self, phrase: &str) -> Option<usize> {
        let mut parts = words_of(phrase);
        let first = parts.next()?;
        (0..self.0.len()).find(|&i| {
            self.0[i] == first && parts.clone().enumerate().all(|(k, p)| self.0.get(i + 1 + k).is_some_and(|w| w == p))
        })
    }

    fn any(&self, phrases: &[&str]) -> bool {
        phrases.iter().any(|p| self.find(p).is_some())
    }

    fn last(&self) -> &str {
        self.0.last().map_or("", String::as_str)
    }
}

/// Phrases by their first word, so that a clause is read once whatever the size of the
/// vocabulary (searching the text once per phrase was most of the time of a long message).
struct Lexicon<T: 'static> {
    by_first: HashMap<&'static str, Vec<Entry<T>>>,
}

/// A phrase, its words, and what it says.
type Entry<T> = (&'static str, Vec<&'static str>, T);

impl<T: Copy> Lexicon<T> {
    fn new(entries: impl Iterator<Item = (&'static str, T)>) -> Lexicon<T> {
        let mut by_first: HashMap<&'static str, Vec<Entry<T>>> = HashMap::new();
        for (phrase, t) in entries {
            let parts: Vec<&'static str> = words_of(phrase).collect();
            if let Some(&first) = parts.first() {
                by_first.entry(first).or_default().push((phrase, parts, t));
            }
        }
        Lexicon { by_first }
    }

    /// Every phrase found in `words`: where (in words), which, and what it says.
    fn scan<'a>(&'a self, words: &'a Words) -> impl Iterator<Item = (usize, &'static str, T)> + 'a {
        words.0.iter().enumerate().flat_map(move |(i, w)| {
            self.by_first.get(w.as_str()).into_iter().flatten().filter_map(move |(phrase, parts, t)| {
                let here = words.0.len() >= i + parts.len() && parts.iter().zip(&words.0[i..]).all(|(p, w)| p == w);
                here.then_some((i, *phrase, *t))
            })
        })
    }
}

/// The earliest verb of the clause, with the word that said it (the longest where two start
/// at the same word: "turn down" before "turn").
fn verb_of(words: &Words) -> Option<(Verb, &'static str)> {
    static LEXICON: OnceLock<Lexicon<Verb>> = OnceLock::new();
    let lexicon = LEXICON.get_or_init(|| Lexicon::new(VERBS.iter().copied()));
    lexicon.scan(words).min_by_key(|&(i, w, _)| (i, std::cmp::Reverse(w.len()))).map(|(_, w, v)| (v, w))
}

/// "up" / "down" anywhere ("turn it down", "bring the threshold up a touch"), "on" / "off" at
/// the end ("switch the comp on"); "off" or "out" with a gain ("shave 3 dB off the input",
/// "take 2 dB out at 3 kHz") lowers it.
fn particle(words: &Words, has_db: bool) -> Option<Verb> {
    let last = words.last();
    if words.any(&["up"]) {
        Some(Verb::Raise)
    } else if words.any(&["down"]) || (words.any(&["off", "out"]) && has_db) {
        Some(Verb::Lower)
    } else if last == "off" {
        Some(Verb::Off)
    } else if last == "on" {
        Some(Verb::On)
    } else {
        None
    }
}

/// Every number in the clause with its unit and how it was introduced.
fn amounts(clause: &str) -> Vec<Amount> {
    let b = clause.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let sign = (b[i] == b'-' || b[i] == b'+') && i + 1 < b.len() && b[i + 1].is_ascii_digit();
        let starts = b[i].is_ascii_digit() || sign;
        if !starts || (i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.' || b[i - 1] == b',')) {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < b.len()
            && (b[i].is_ascii_digit()
                || ((b[i] == b'.' || b[i] == b',') && i + 1 < b.len() && b[i + 1].is_ascii_digit()))
        {
            i += 1;
        }
        let Ok(mut value) = clause[start..i].replace(',', ".").parse::<f64>() else { continue };
        let before = clause[..start].trim_end();
        let ends_with = |w: &str| before.ends_with(w) && is_word_at(before, before.len() - w.len(), w.len());
        let mut signed = sign;
        if !sign && (ends_with("moins") || ends_with("minus")) {
            value = -value;
            signed = true;
        }
        let rest = clause[i..].trim_start();
        let word: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '%' || *c == ':').collect();
        // "4:1", "8 pour 1", "8 to 1": a ratio; its "1" is not another amount.
        let ratio_tail = [":1", "pour 1", "to 1", "sur 1", "for 1"].iter().find(|t| {
            rest.starts_with(**t) && rest[t.len()..].chars().next().is_none_or(|c| !c.is_ascii_digit() && c != '.')
        });
        let unit = if let Some(tail) = ratio_tail {
            i = clause.len() - rest.len() + tail.len();
            Unit::Ratio
        } else {
            match word.as_str() {
                "db" => Unit::Db,
                "hz" => Unit::Hz,
                "khz" | "k" => {
                    value *= 1000.0;
                    Unit::Hz
                }
                "%" | "pourcent" | "percent" => Unit::Percent,
                "ms" => Unit::Ms,
                "s" | "sec" | "seconde" | "secondes" | "second" | "seconds" => {
                    value *= 1000.0;
                    Unit::Ms
                }
                _ if rest.starts_with('%') => Unit::Percent,
                _ => Unit::None,
            }
        };
        let absolute = ["a", "to", "at", "sur", "on", "="].iter().any(|w| ends_with(w)) || before.ends_with('=');
        let relative = ["de", "d", "by", "of"].iter().any(|w| ends_with(w)) || before.ends_with("d'");
        out.push(Amount { value, unit, absolute, relative, signed });
    }
    out
}

/// Words of a clause that qualify what it asks, read once per clause (reading them again for
/// each name made a long clause quadratic).
struct Cues {
    size: Size,
    left: bool,
    right: bool,
    centre: bool,
    /// "hard left", "tout à droite": the end of the pan.
    hard: bool,
    /// "move", "décale", "nudge": a pan step from where it is.
    moving: bool,
    louder: bool,
    quieter: bool,
    faster: bool,
    slower: bool,
    softer: bool,
    harder: bool,
    wider: bool,
    narrower: bool,
    /// "it", "tout", "the whole thing": the whole signal.
    whole: bool,
}

/// What a cue word says.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Cue {
    Small,
    Large,
    Left,
    Right,
    Centre,
    Hard,
    Moving,
    Louder,
    Quieter,
    Faster,
    Slower,
    Softer,
    Harder,
    Wider,
    Narrower,
    Whole,
}

/// Cue words, normalised.
const CUES: &[(&[&str], Cue)] = &[
    (
        &[
            "un peu",
            "legerement",
            "a bit",
            "a little",
            "slightly",
            "a touch",
            "une touche",
            "un chouia",
            "un poil",
            "a hair",
            "a tad",
            "a smidge",
        ],
        Cue::Small,
    ),
    (&["beaucoup", "a lot", "much", "lots", "franchement", "nettement"], Cue::Large),
    (&["left", "gauche"], Cue::Left),
    (&["right", "droite"], Cue::Right),
    (&["center", "centre", "middle", "milieu", "recentre", "recenter"], Cue::Centre),
    (&["hard", "completement", "tout a", "all the way", "fully", "a fond", "extreme"], Cue::Hard),
    (&["move", "shift", "nudge", "slide", "decale", "deplace", "glisse", "pousse", "push"], Cue::Moving),
    (&["plus fort", "plus forte", "louder"], Cue::Louder),
    (&["moins fort", "moins forte", "quieter"], Cue::Quieter),
    (
        &[
            "faster",
            "quicker",
            "shorter",
            "speed up",
            "snappier",
            "fast",
            "quick",
            "short",
            "plus rapide",
            "rapide",
            "plus court",
            "plus courte",
            "court",
            "courte",
            "raccourcis",
            "raccourcir",
        ],
        Cue::Faster,
    ),
    (
        &[
            "slower",
            "longer",
            "lengthen",
            "stretch",
            "slow",
            "long",
            "plus lent",
            "plus lente",
            "lent",
            "lente",
            "plus long",
            "plus longue",
            "longue",
            "allonge",
            "rallonge",
        ],
        Cue::Slower,
    ),
    (&["softer", "soft", "plus doux", "plus douce", "doux", "douce"], Cue::Softer),
    (&["harder", "plus dur", "plus dure", "dur", "dure"], Cue::Harder),
    (&["wider", "widen", "plus large", "elargis", "elargir", "more width"], Cue::Wider),
    (&["narrower", "narrow", "moins large", "plus etroit", "plus etroite", "resserre", "resserrer"], Cue::Narrower),
    (
        &["it", "tout", "everything", "whole", "track", "song", "morceau", "titre", "mix", "master", "son", "sound"],
        Cue::Whole,
    ),
];

impl Cues {
    fn of(words: &Words, masked: &str) -> Cues {
        static LEXICON: OnceLock<Lexicon<Cue>> = OnceLock::new();
        let lexicon =
            LEXICON.get_or_init(|| Lexicon::new(CUES.iter().flat_map(|&(ps, c)| ps.iter().map(move |&p| (p, c)))));
        let said: Vec<Cue> = lexicon.scan(words).map(|(_, _, c)| c).collect();
        let any = |c: Cue| said.contains(&c);
        let size = if any(Cue::Small) {
            Size::Small
        } else if any(Cue::Large) {
            Size::Large
        } else {
            Size::Normal
        };
        Cues {
            size,
            left: any(Cue::Left),
            right: any(Cue::Right),
            centre: any(Cue::Centre),
            hard: any(Cue::Hard),
            moving: any(Cue::Moving),
            louder: any(Cue::Louder),
            quieter: any(Cue::Quieter),
            faster: any(Cue::Faster),
            slower: any(Cue::Slower),
            softer: any(Cue::Softer),
            harder: any(Cue::Harder),
            wider: any(Cue::Wider),
            narrower: any(Cue::Narrower),
            // "baisse-le", "monte-la": the thing just named, or the whole signal.
            whole: any(Cue::Whole) || ["-le", "-la", "-les"].iter().any(|c| masked.split(' ').any(|w| w.ends_with(c))),
        }
    }
}

/// One clause, read.
struct Reading {
    text: String,
    /// The text with the parameter names blanked, for verbs and cues.
    masked: String,
    names: Vec<ParamId>,
    verb: Option<Verb>,
    verb_word: &'static str,
    particle: Option<Verb>,
    amounts: Vec<Amount>,
    cues: Cues,
    words: Words,
    /// Part of a question ("c'est en mono ?"): only what names a parameter is read.
    asking: bool,
}

impl Reading {
    fn of(clause: &str, asking: bool) -> Reading {
        // "plus d'aigus" reads as "plus d aigus", "d'1 dB" as "d 1 dB" (same length, so the
        // names' positions hold); the reason quotes the words as they were.
        let plain = clause.replace("d'", "d ");
        let found = find_in(&plain);
        let mut masked = plain.clone();
        for &(at, _, name) in &found {
            masked.replace_range(at..at + name.len(), &"#".repeat(name.len()));
        }
        let amounts = amounts(&plain);
        let words = Words::of(&masked);
        let (verb, verb_word) = verb_of(&words).map_or((None, ""), |(v, w)| (Some(v), w));
        let particle = particle(&words, amounts.iter().any(|a| a.unit == Unit::Db));
        let names = qualified(found.iter().map(|&(_, p, _)| p).collect(), &words, &amounts);
        let cues = Cues::of(&words, &masked);
        Reading { text: clause.to_string(), cues, masked, names, verb, verb_word, particle, amounts, words, asking }
    }

    fn amount(&self, unit: Unit) -> Option<Amount> {
        self.amounts.iter().find(|a| a.unit == unit).copied()
    }

    fn has(&self, phrases: &[&str]) -> bool {
        self.words.any(phrases)
    }

    /// The verb, or the particle where it says more ("pull it up", "switch the comp on").
    fn action(&self) -> Option<Verb> {
        match (self.verb, self.particle) {
            (Some(Verb::Reset | Verb::On | Verb::Off), _) | (_, None) => self.verb,
            (_, p) => p,
        }
    }

    /// Up or down, as a level verb says it ("enlève" and "coupe" lower a level).
    fn direction(&self) -> Option<Verb> {
        match self.action()? {
            Verb::Raise => Some(Verb::Raise),
            Verb::Lower | Verb::Remove | Verb::Cut => Some(Verb::Lower),
            _ => None,
        }
    }
}

/// The parameters named, each once, as the clause qualifies them: the de-esser's threshold,
/// frequency and range when the de-esser is named with them; a stage's switch dropped when one
/// of its settings is named ("compressor attack").
fn qualified(mut names: Vec<ParamId>, words: &Words, amounts: &[Amount]) -> Vec<ParamId> {
    use ParamId as P;
    let mut seen = Vec::new();
    names.retain(|p| {
        let first = !seen.contains(p);
        seen.push(*p);
        first
    });
    if names.contains(&P::DeessOn) {
        let mut sub = Vec::new();
        if let Some(i) = names.iter().position(|&p| p == P::CompThreshold) {
            names.remove(i);
            sub.push(P::DeessThreshold);
        }
        if words.any(&["range", "reduction"]) {
            sub.push(P::DeessRange);
        }
        if words.any(&["frequence", "frequency", "freq"]) || amounts.iter().any(|a| a.unit == Unit::Hz) {
            sub.push(P::DeessFreq);
        }
        if !sub.is_empty() {
            names.retain(|&p| p != P::DeessOn);
            names.extend(sub);
        }
    }
    let switches: Vec<ParamId> =
        names.iter().copied().filter(|&p| p.spec().kind == Kind::Toggle && stage_switch(p) == Some(p)).collect();
    for s in switches {
        if names.iter().any(|&p| p != s && stage_switch(p) == Some(s)) && !matches!(s, P::Bypass | P::Mute) {
            names.retain(|&p| p != s);
        }
    }
    names
}

/// The gain parameter of a band an EQ command at `hz` should use: low shelf up to 150 Hz,
/// bell 1 up to 1 kHz, bell 2 up to 8 kHz, high shelf above.
fn band_for(hz: f64) -> (ParamId, ParamId) {
    if hz <= 150.0 {
        (ParamId::LowShelfFreq, ParamId::LowShelfGain)
    } else if hz <= 1000.0 {
        (ParamId::Bell1Freq, ParamId::Bell1Gain)
    } else if hz <= 8000.0 {
        (ParamId::Bell2Freq, ParamId::Bell2Gain)
    } else {
        (ParamId::HighShelfFreq, ParamId::HighShelfGain)
    }
}

/// The frequency of the band a gain parameter belongs to.
fn band_freq(gain: ParamId) -> Option<ParamId> {
    use ParamId as P;
    Some(match gain {
        P::LowShelfGain => P::LowShelfFreq,
        P::Bell1Gain => P::Bell1Freq,
        P::Bell2Gain => P::Bell2Freq,
        P::HighShelfGain => P::HighShelfFreq,
        _ => return None,
    })
}

fn change(param: ParamId, value: Option<WireValue>, delta: Option<f64>, reason: &str) -> WireChange {
    WireChange { param: param.spec().id.into(), value, delta, reason: reason.into(), evidence: None }
}

fn set(param: ParamId, value: f64, reason: &str) -> WireChange {
    change(param, Some(WireValue::Number(value)), None, reason)
}

fn switch(param: ParamId, on: bool, reason: &str) -> WireChange {
    change(param, Some(WireValue::Bool(on)), None, reason)
}

/// The toggle that switches the stage a parameter belongs to.
fn stage_switch(param: ParamId) -> Option<ParamId> {
    use ParamId as P;
    Some(match param {
        P::HpOn | P::HpFreq | P::HpSlope => P::HpOn,
        P::LowShelfOn | P::LowShelfFreq | P::LowShelfGain => P::LowShelfOn,
        P::Bell1On | P::Bell1Freq | P::Bell1Gain | P::Bell1Q => P::Bell1On,
        P::Bell2On | P::Bell2Freq | P::Bell2Gain | P::Bell2Q => P::Bell2On,
        P::HighShelfOn | P::HighShelfFreq | P::HighShelfGain => P::HighShelfOn,
        P::CompOn
        | P::CompThreshold
        | P::CompRatio
        | P::CompAttack
        | P::CompRelease
        | P::CompKnee
        | P::CompMakeup
        | P::CompMix
        | P::CompLink => P::CompOn,
        P::DeessOn | P::DeessFreq | P::DeessThreshold | P::DeessRange => P::DeessOn,
        P::Bypass => P::Bypass,
        P::Mute => P::Mute,
        _ => return None,
    })
}

/// Longest quote of the musician's words in a change's reason, characters.
const REASON_QUOTE_CHARS: usize = 80;

fn reason_for(clause: &str, lang: Option<Lang>) -> String {
    // The clause quoted, cut short: a reason is a line on a card, copied into every change.
    let quote = excerpt_to(clause, REASON_QUOTE_CHARS);
    match lang.unwrap_or_else(|| audiocollab_core::lang::detect(clause)) {
        audiocollab_core::lang::Lang::En => format!("you asked: \u{201c}{quote}\u{201d}"),
        audiocollab_core::lang::Lang::Fr => format!("à votre demande : \u{ab}\u{a0}{quote}\u{a0}\u{bb}"),
    }
}

/// One clause into changes, each with the clause quoted as its reason.
fn parse_clause(r: &Reading, current: &Settings, lang: Option<Lang>) -> Vec<WireChange> {
    let mut out = changes_of(r, current);
    // Quoted once there is something to quote (reading the language costs a little).
    if !out.is_empty() {
        let reason = reason_for(&r.text, lang);
        for c in &mut out {
            c.reason.clone_from(&reason);
        }
    }
    out
}

fn changes_of(r: &Reading, current: &Settings) -> Vec<WireChange> {
    let reason = "";
    if r.asking && r.names.is_empty() {
        return Vec::new();
    }
    for rule in [mono, back_to_stereo, compression, cut_below] {
        if let Some(changes) = rule(r, current, reason) {
            return changes;
        }
    }
    if r.names.is_empty() {
        return unnamed(r, current, reason);
    }
    let mut out = Vec::new();
    let bypass_said = find_word(&r.text, "bypass").is_some();
    // "bypass the compressor": here "bypass" is the verb, not the plugin's bypass switch.
    let names: Vec<ParamId> = if r.names.len() > 1 {
        r.names.iter().copied().filter(|&p| p != ParamId::Bypass).collect()
    } else {
        r.names.clone()
    };
    for param in names {
        match param.spec().kind {
            Kind::Toggle => toggle(param, r, current, bypass_said, reason, &mut out),
            Kind::Choice(_) => {
                if let Some(a) = r.amounts.first() {
                    out.push(change(param, Some(WireValue::Text(format!("{}", a.value))), None, reason));
                }
            }
            Kind::Float { .. } if param == ParamId::Pan => out.extend(pan(r, reason)),
            Kind::Float { .. } => float(param, r, current, reason, &mut out),
        }
    }
    out
}

/// "passe en mono", "make it mono", "collapse it to mono": the width at 0 %. "Plus mono" /
/// "more mono" is a step, left to the width's own words; "make the bass mono" names something
/// this plugin cannot do alone, and is left alone.
fn mono(r: &Reading, _: &Settings, reason: &str) -> Option<Vec<WireChange>> {
    let at = find_word(&r.masked, "mono")?;
    let before = r.masked[..at].trim_end();
    if ["plus", "more", "less", "moins", "compatible", "compatibility"].iter().any(|w| before.ends_with(w))
        || r.names.iter().any(|&p| p != ParamId::Width)
    {
        return None;
    }
    let asked = matches!(r.verb, Some(Verb::Set | Verb::On))
        || ["en", "to", "in", "into"].iter().any(|w| before.ends_with(w))
        || r.has(&["collapse", "sum", "fold"]);
    asked.then(|| vec![set(ParamId::Width, 0.0, reason)])
}

/// "back to stereo", "repasse en stéréo": the width back to its default.
fn back_to_stereo(r: &Reading, _: &Settings, reason: &str) -> Option<Vec<WireChange>> {
    if !r.text.contains("stereo") {
        return None;
    }
    let said = ["back to stereo", "repasse en stereo", "remets en stereo", "retour en stereo", "stereo again"]
        .iter()
        .any(|w| find_word(&r.text, w).is_some());
    said.then(|| vec![set(ParamId::Width, display_default(ParamId::Width), reason)])
}

/// "compresse plus fort", "more compression", "squash it more": a higher ratio (and the
/// compressor on); "less compression": a lower one.
fn compression(r: &Reading, current: &Settings, reason: &str) -> Option<Vec<WireChange>> {
    if !["compr", "squash", "ecrase"].iter().any(|w| r.text.contains(w)) {
        return None;
    }
    let compress_verb = any_word(&r.text, &["compresse", "compress", "comprime", "squash", "ecrase"]);
    let more = any_word(&r.text, &["plus de compression", "more compression"])
        || compress_verb && any_word(&r.text, &["plus", "more", "harder", "fort", "davantage"]);
    let less = any_word(&r.text, &["moins de compression", "less compression"])
        || compress_verb && any_word(&r.text, &["moins", "less"]);
    let named_only = r.names == [ParamId::CompOn] && r.amounts.is_empty();
    let up = if more && !less {
        true
    } else if less && !more {
        false
    } else if named_only && r.verb == Some(Verb::Raise) {
        true
    } else if named_only && r.verb == Some(Verb::Lower) {
        false
    } else {
        return None;
    };
    if r.names.iter().any(|&p| stage_switch(p) != Some(ParamId::CompOn)) || !r.amounts.is_empty() {
        // "more compression on the vocals": not something one setting does; left alone.
        return Some(Vec::new());
    }
    let on = current.on(ParamId::CompOn);
    if !up && !on {
        return None;
    }
    let ratio = f64::from(current.get(ParamId::CompRatio));
    let factor = step_factor(1.5, r.cues.size);
    let to = if up { ratio * factor } else { (ratio / factor).max(1.0) };
    let mut out = vec![set(ParamId::CompRatio, round_to(to, 0.1), reason)];
    if up && !on {
        out.push(switch(ParamId::CompOn, true, reason));
    }
    Some(out)
}

/// "coupe le bas en dessous de 80 Hz", "cut everything below 80 Hz": the high-pass on there.
fn cut_below(r: &Reading, _: &Settings, reason: &str) -> Option<Vec<WireChange>> {
    let hz = r.amount(Unit::Hz)?;
    let below = r.has(&["below", "under", "sous", "en dessous", "en-dessous", "au-dessous", "au dessous"]);
    let removes = matches!(r.direction(), Some(Verb::Lower))
        || r.has(&["filtre", "filter", "nettoie", "clean", "roll off", "rolloff"])
        || r.names.contains(&ParamId::HpOn);
    (below && removes).then(|| vec![set(ParamId::HpFreq, hz.value, reason), switch(ParamId::HpOn, true, reason)])
}

/// A clause that names no parameter: mute, the plugin's bypass, a band by its frequency, the
/// pan by its side, the width by "wider", and the output level.
fn unnamed(r: &Reading, current: &Settings, reason: &str) -> Vec<WireChange> {
    let text = &r.text;
    let action = r.action();
    // The sound: "coupe le son", "remets le son", "bring the sound back", "silence it".
    if find_word(text, "unmute").is_some() {
        return vec![switch(ParamId::Mute, false, reason)];
    }
    if r.has(&["son", "sound", "audio"]) && r.amounts.is_empty() && !r.cues.left && !r.cues.right {
        if matches!(action, Some(Verb::On)) || r.has(&["remets", "back"]) {
            return vec![switch(ParamId::Mute, false, reason)];
        }
        if matches!(action, Some(Verb::Off | Verb::Cut)) {
            return vec![switch(ParamId::Mute, true, reason)];
        }
    }
    if text.starts_with("silence") && !text.contains('?') {
        return vec![switch(ParamId::Mute, true, reason)];
    }
    // "coupe tout", "kill it": the sound off, not a step of the level.
    if matches!(action, Some(Verb::Cut | Verb::Off))
        && r.cues.whole
        && r.amounts.is_empty()
        && r.cues.size == Size::Normal
    {
        return vec![switch(ParamId::Mute, true, reason)];
    }
    // The whole plugin: "désactive le plugin" bypasses it, "enable the plugin" brings it back.
    if r.has(&["plugin", "plug-in", "l'effet", "the effect"]) {
        return match action {
            Some(Verb::Off | Verb::Remove | Verb::Cut) => vec![switch(ParamId::Bypass, true, reason)],
            Some(Verb::On) => vec![switch(ParamId::Bypass, false, reason)],
            _ => Vec::new(),
        };
    }
    // "cut 250 Hz by 3 dB", "200 Hz moins 3 dB": a band by its frequency.
    if let Some(hz) = r.amount(Unit::Hz) {
        let db = r.amount(Unit::Db);
        let step = match (r.direction(), db) {
            (Some(Verb::Raise), Some(a)) => Some(a.value.abs()),
            (Some(_), Some(a)) => Some(-a.value.abs()),
            (Some(Verb::Raise), None) => Some(step_db(r.cues.size)),
            (Some(_), None) => Some(-step_db(r.cues.size)),
            (None, Some(a)) if a.signed => Some(a.value),
            (None, _) => None,
        };
        let Some(step) = step else { return Vec::new() };
        let (freq, gain) = band_for(hz.value);
        let mut out = vec![set(freq, hz.value, reason), change(gain, None, Some(step), reason)];
        if let Some(on) = stage_switch(gain) {
            out.push(switch(on, true, reason));
        }
        return out;
    }
    // The pan by its side: "hard right", "move it 20 % to the left", "put it back in the middle".
    let side = r.cues.left != r.cues.right;
    let pan_asked = (side
        && (r.cues.hard || r.cues.moving || r.amount(Unit::Percent).is_some() || matches!(r.verb, Some(Verb::Set))))
        || (r.cues.centre && (r.cues.moving || r.has(&["back", "recentre", "recenter"]) || r.verb.is_some()));
    if pan_asked {
        return pan(r, reason).into_iter().collect();
    }
    // "wider" / "plus large" without a name is the engine's intent, which first checks that
    // the track holds up in mono.
    // The output level: "turn it down 3 dB", "baisse de 3 dB", "un peu plus fort", "quieter".
    let level_amount = r.amounts.iter().all(|a| matches!(a.unit, Unit::Db | Unit::None));
    let cue = r.cues.louder || r.cues.quieter;
    let moves_level = match r.direction() {
        Some(_) if r.amounts.iter().any(|a| a.unit == Unit::Db) => true,
        Some(_) if QUANTITY_VERBS.contains(&r.verb_word) => false,
        Some(_) => r.cues.whole || r.cues.size != Size::Normal || !r.amounts.is_empty(),
        None => false,
    };
    if level_amount && (cue || moves_level) && !names_something_unknown(&r.masked) {
        let mut out = Vec::new();
        float(ParamId::OutputGain, r, current, reason, &mut out);
        return out;
    }
    Vec::new()
}

/// Words that may stand for the whole signal after an article ("the whole thing", "le son"),
/// or be part of a size ("un peu", "a bit", "a notch").
const NOT_AN_OBJECT: &[&str] = &[
    "whole", "entire", "track", "song", "morceau", "titre", "mix", "master", "son", "sound", "volume", "peu", "bit",
    "little", "touch", "lot", "chouia", "poil", "hair", "tad", "smidge", "notch", "cran", "touche", "tout", "fois",
];

/// Whether the clause names something the parser does not know after an article ("boost the
/// kick 2 dB", "booste le bas"): then a bare level verb is not about the output, and the
/// clause is left alone rather than guessed.
fn names_something_unknown(masked: &str) -> bool {
    const ARTICLES: &[&str] =
        &["le", "la", "les", "l'", "the", "un", "une", "des", "du", "a", "some", "my", "mon", "ma", "mes"];
    let words: Vec<&str> = masked.split([' ', '-']).filter(|w| !w.is_empty()).collect();
    let elided =
        masked.split(' ').filter_map(|w| w.strip_prefix("l'")).filter(|w| !w.is_empty() && !w.starts_with('#'));
    let after_article = words.windows(2).filter(|w| ARTICLES.contains(&w[0])).map(|w| w[1]);
    after_article
        .chain(elided)
        .any(|w| w.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && !NOT_AN_OBJECT.contains(&w))
}

/// A switch: on, off, or (for the high-pass, the de-esser and the compressor) the setting a
/// number names ("coupe-bas à 80 Hz", "compresseur à -20 dB").
fn toggle(param: ParamId, r: &Reading, current: &Settings, bypass_said: bool, reason: &str, out: &mut Vec<WireChange>) {
    use ParamId as P;
    let action = r.action();
    // "un-bypass": the name is inside the verb.
    let unbypass = param == P::Bypass && any_word(&r.text, &["un-bypass", "unbypass"]);
    let on = match action {
        _ if unbypass => Some(false),
        Some(Verb::Off | Verb::Remove) => Some(false),
        Some(Verb::Cut) if param != P::Mute => Some(false),
        Some(Verb::On) => Some(true),
        Some(Verb::Set) if r.amounts.is_empty() => Some(true),
        _ if param != P::Bypass && bypass_said => Some(false),
        _ if matches!(param, P::Mute | P::Bypass) => Some(!matches!(action, Some(Verb::Lower | Verb::Reset))),
        // "inverse la polarité de droite", "flip the right channel's polarity": the name says
        // what to do, so with no other verb it flips the switch.
        _ if matches!(param, P::PolarityL | P::PolarityR) && action.is_none() => Some(!current.on(param)),
        _ => None,
    };
    if param == P::HpOn {
        if let Some(hz) = r.amount(Unit::Hz) {
            out.push(set(P::HpFreq, hz.value, reason));
            out.push(switch(P::HpOn, on.unwrap_or(true), reason));
            return;
        }
        // "monte le coupe-bas": its frequency.
        if on.is_none() && r.direction().is_some() {
            float(P::HpFreq, r, current, reason, out);
            return;
        }
    }
    if param == P::CompOn && on.is_none() {
        // "compresseur à -20 dB" sets the threshold; "ratio" has its own name.
        if let Some(db) = r.amount(Unit::Db) {
            let delta = match r.direction() {
                Some(Verb::Raise) if !db.absolute => Some(db.value.abs()),
                Some(Verb::Lower) if !db.absolute => Some(-db.value.abs()),
                _ => None,
            };
            match delta {
                Some(d) => out.push(change(P::CompThreshold, None, Some(d), reason)),
                None => out.push(set(P::CompThreshold, db.value, reason)),
            }
            out.push(switch(P::CompOn, true, reason));
            return;
        }
    }
    if let Some(on) = on {
        out.push(switch(param, on, reason));
    }
}

/// The pan: the centre, a side (hard, by an amount, or a step from where it is).
fn pan(r: &Reading, reason: &str) -> Option<WireChange> {
    let c = &r.cues;
    if c.centre && !c.left && !c.right {
        return Some(set(ParamId::Pan, 0.0, reason));
    }
    let amount = r.amount(Unit::Percent).or_else(|| r.amount(Unit::None));
    if c.left == c.right {
        // No side, or both: only a signed or plain number says where ("pan -30 %").
        let a = amount.filter(|_| !c.left)?;
        return Some(set(ParamId::Pan, a.value / 100.0, reason));
    }
    let side = if c.left { -1.0 } else { 1.0 };
    if c.hard {
        return Some(set(ParamId::Pan, side, reason));
    }
    let stepping = c.moving || r.direction() == Some(Verb::Raise);
    match amount {
        Some(a) if stepping && !a.absolute => {
            Some(change(ParamId::Pan, None, Some(side * a.value.abs() / 100.0), reason))
        }
        Some(a) => Some(set(ParamId::Pan, side * a.value.abs() / 100.0, reason)),
        None if stepping => {
            let step = if c.size == Size::Small { SMALL_STEP_PAN } else { DEFAULT_STEP_PAN };
            Some(change(ParamId::Pan, None, Some(side * step), reason))
        }
        None => Some(set(ParamId::Pan, side * DEFAULT_STEP_PAN, reason)),
    }
}

fn step_db(size: Size) -> f64 {
    match size {
        Size::Small => SMALL_STEP_DB,
        Size::Normal => DEFAULT_STEP_DB,
        Size::Large => LARGE_STEP_DB,
    }
}

/// A factor for a step by `size`: "a bit" moves half as far (in log terms), "a lot" twice.
fn step_factor(factor: f64, size: Size) -> f64 {
    match size {
        Size::Small => factor.sqrt(),
        Size::Normal => factor,
        Size::Large => factor * factor,
    }
}

fn round_to(v: f64, step: f64) -> f64 {
    (v / step).round() * step
}

/// The default of a parameter in the unit a wire value uses (percent for width and mix).
fn display_default(param: ParamId) -> f64 {
    let spec = param.spec();
    match spec.format {
        Format::Percent => spec.default as f64 * 100.0,
        _ => spec.default as f64,
    }
}

/// Up or down for this parameter, from the words that qualify it ("faster" shortens a time,
/// "softer" widens a knee, "louder" raises a gain) or from the verb.
fn direction_for(param: ParamId, r: &Reading) -> Option<Verb> {
    let c = &r.cues;
    let pick = |up: bool, down: bool| match (up, down) {
        (true, false) => Some(Verb::Raise),
        (false, true) => Some(Verb::Lower),
        _ => None,
    };
    let by_words = match param.spec().format {
        Format::Milliseconds => pick(c.slower, c.faster),
        _ if param == ParamId::CompKnee => pick(c.softer, c.harder),
        _ if param == ParamId::Width => pick(c.wider, c.narrower),
        Format::Decibels => pick(c.louder, c.quieter),
        _ => None,
    };
    by_words.or_else(|| r.direction())
}

/// A setting with a value: set to an amount, moved by one, reset, or stepped by the clause's
/// size words.
fn float(param: ParamId, r: &Reading, current: &Settings, reason: &str, out: &mut Vec<WireChange>) {
    let spec = param.spec();
    if r.action() == Some(Verb::Reset) {
        out.push(set(param, display_default(param), reason));
        return;
    }
    if r.action() == Some(Verb::Off) {
        if let Some(on) = stage_switch(param) {
            out.push(switch(on, false, reason));
        }
        return;
    }
    // A band named with a frequency: "plateau aigu à 10 kHz", "le shelf grave à 80 Hz".
    if let (Some(freq), Some(hz)) = (band_freq(param), r.amount(Unit::Hz)) {
        out.push(set(freq, hz.value, reason));
        if r.amount(Unit::Db).is_none() {
            return;
        }
    }
    let unit = match spec.format {
        Format::Decibels => Unit::Db,
        Format::Hertz => Unit::Hz,
        Format::Percent | Format::Pan => Unit::Percent,
        Format::Milliseconds => Unit::Ms,
        Format::Ratio => Unit::Ratio,
        _ => Unit::None,
    };
    let amount = r.amount(unit).or_else(|| r.amount(Unit::None));
    let dir = direction_for(param, r);
    let (_, max) = spec.range();
    let sign = |v: Verb| if v == Verb::Raise { 1.0 } else { -1.0 };
    let now = f64::from(current.get(param));
    let wire = match (dir, amount) {
        (Some(d), Some(a)) => {
            // A threshold is always below 0 dB: "-25" is where it goes, not a step of 25.
            let level = a.signed && a.value < 0.0 && max <= 0.0;
            let relative = match unit {
                Unit::Db | Unit::Percent => !a.absolute && !level,
                _ => a.relative,
            };
            if relative {
                change(param, None, Some(sign(d) * a.value.abs()), reason)
            } else {
                set(param, a.value, reason)
            }
        }
        (None, Some(a)) => set(param, a.value, reason),
        (Some(d), None) => match unit {
            Unit::Db => change(param, None, Some(sign(d) * step_db(r.cues.size)), reason),
            Unit::Percent => {
                let step = match r.cues.size {
                    Size::Small => DEFAULT_STEP_WIDTH_PCT / 2.0,
                    Size::Normal => DEFAULT_STEP_WIDTH_PCT,
                    Size::Large => DEFAULT_STEP_WIDTH_PCT * 2.0,
                };
                change(param, None, Some(sign(d) * step), reason)
            }
            _ => {
                // Times, ratios, frequencies and Q move by a factor from where they are.
                let base = match unit {
                    Unit::Ms => 2.0,
                    Unit::Hz => 1.25,
                    _ => 1.5,
                };
                let f = step_factor(base, r.cues.size);
                let to = if d == Verb::Raise { now * f } else { now / f };
                let to = if unit == Unit::Ratio { round_to(to.max(1.0), 0.1) } else { round_to(to, 0.1) };
                set(param, to, reason)
            }
        },
        (None, None) => return,
    };
    out.push(wire);
    // A band gain moved while its band is off: switch it on too.
    if matches!(param, ParamId::LowShelfGain | ParamId::Bell1Gain | ParamId::Bell2Gain | ParamId::HighShelfGain) {
        if let Some(on) = stage_switch(param) {
            out.push(switch(on, true, reason));
        }
    }
}

/// Splits at `;`, `!`, `?`, and at `,`, `.` or `:` that are not inside a number ("1,5 dB",
/// "1.5 dB", "4:1").
fn clauses(text: &str) -> impl Iterator<Item = &str> {
    let b = text.as_bytes();
    let mut cuts = vec![0];
    for (i, &c) in b.iter().enumerate() {
        let in_number = i > 0 && i + 1 < b.len() && b[i - 1].is_ascii_digit() && b[i + 1].is_ascii_digit();
        if matches!(c, b';' | b'!' | b'?') || (matches!(c, b',' | b'.' | b':') && !in_number) {
            cuts.push(i);
            cuts.push(i + 1);
        }
    }
    cuts.push(b.len());
    cuts.chunks(2).map(move |w| &text[w[0]..w[1]]).collect::<Vec<_>>().into_iter()
}

/// Longest pair of clauses read together, bytes (a sentence or two).
const MAX_JOINED_BYTES: usize = 400;

/// Words that join two commands in one clause.
const JOINS: &[&str] = &[" et puis ", " and then ", " et ", " and ", " puis ", " then "];

fn split_joins(clause: &str) -> Vec<&str> {
    // One pass over the spaces (splitting once per join word cost more than the reading).
    let mut parts = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < clause.len() {
        let join =
            (clause.as_bytes()[i] == b' ').then(|| JOINS.iter().find(|j| clause[i..].starts_with(**j))).flatten();
        match join {
            Some(j) => {
                parts.push(&clause[start..i]);
                start = i + j.len();
                i = start;
            }
            None => i += 1,
        }
    }
    parts.push(&clause[start..]);
    parts
}

/// Splits a message into clauses ("… et …", "… and …", ",", ";", ".") and parses each;
/// `None` when no clause holds a command.
pub fn parse(message: &str, current: &Settings) -> Option<Vec<WireChange>> {
    parse_in(message, current, None)
}

/// [`parse`], the reasons written in `lang` (the answer's language; `None`: each clause's).
pub fn parse_in(message: &str, current: &Settings, lang: Option<Lang>) -> Option<Vec<WireChange>> {
    let text = normalise(message);
    let asking = text.contains('?') && !is_request(&text);
    let mut changes: Vec<WireChange> = Vec::new();
    // The clause before, read, and where its changes start in `changes`.
    let mut before: Option<(Reading, usize)> = None;
    for clause in clauses(&text).flat_map(split_joins) {
        let clause = clause.trim();
        if clause.is_empty() {
            continue;
        }
        let here = Reading::of(clause, asking);
        // "y'a trop de basses, enlève 3 dB", "moins de boue, genre 2 dB": read with the clause
        // before when this one names nothing and that one named something without a command,
        // or this one only gives an amount.
        if let Some((prev, start)) = &before {
            let prev_did = changes.len() > *start;
            let topic = !prev_did && (!prev.names.is_empty() || prev.amount(Unit::Hz).is_some());
            let refinement = prev_did && here.verb.is_none() && here.particle.is_none() && !here.amounts.is_empty();
            // Bounded: a page of ", 2 dB" must not re-read an ever longer clause.
            let short = prev.text.len() + here.text.len() <= MAX_JOINED_BYTES;
            if here.names.is_empty() && (topic || refinement) && short {
                let joined = Reading::of(&format!("{} {}", prev.text, here.text), asking);
                let merged = parse_clause(&joined, current, lang);
                if !merged.is_empty() {
                    let start = *start;
                    changes.truncate(start);
                    changes.extend(merged);
                    before = Some((joined, start));
                    continue;
                }
            }
        }
        let start = changes.len();
        changes.extend(parse_clause(&here, current, lang));
        before = Some((here, start));
    }
    (!changes.is_empty()).then_some(changes)
}

/// Whether a message (normalised) is a request put as a question ("tu peux baisser le trim ?",
/// "can you pull the input down 2 dB?"): a command, not a question.
pub fn is_request(text: &str) -> bool {
    const POLITE: &[&str] = &[
        "tu peux",
        "tu pourrais",
        "peux-tu",
        "peux tu",
        "pourrais-tu",
        "vous pouvez",
        "pouvez-vous",
        "pourriez-vous",
        "can you",
        "could you",
        "would you",
        "will you",
        "can u",
        "please",
    ];
    POLITE.iter().any(|p| text.starts_with(p))
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{ChangeSet, Proposal, WireReply};

    fn run(text: &str) -> Vec<(ParamId, f32)> {
        let current = Settings::default().with(ParamId::CompOn, 1.0);
        let changes = parse(text, &current).unwrap_or_else(|| panic!("no command in {text:?}"));
        let reply = WireReply { message: String::new(), changes };
        let set = ChangeSet::try_from(Proposal { reply: &reply, current: &current }).expect("valid");
        set.changes().iter().map(|c| (c.param, c.to)).collect()
    }

    #[test]
    fn a_few_commands() {
        assert_eq!(run("monte les aigus de 2 dB"), vec![(ParamId::HighShelfGain, 2.0)]);
        assert_eq!(run("pan left 30%"), vec![(ParamId::Pan, -0.3)]);
        assert_eq!(run("mute"), vec![(ParamId::Mute, 1.0)]);
        assert_eq!(run("inverse la polarité de droite"), vec![(ParamId::PolarityR, 1.0)]);
        assert_eq!(run("flip the left channel's polarity"), vec![(ParamId::PolarityL, 1.0)]);
        assert_eq!(run("bypass the compressor"), vec![(ParamId::CompOn, 0.0)]);
        assert_eq!(run("coupe-bas à 100 Hz"), vec![(ParamId::HpFreq, 100.0), (ParamId::HpOn, 1.0)]);
        assert_eq!(run("cut 250 Hz by 3 dB"), vec![(ParamId::Bell1Freq, 250.0), (ParamId::Bell1Gain, -3.0)]);
    }
}
