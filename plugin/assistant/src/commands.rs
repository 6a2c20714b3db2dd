//! Direct commands in French and English: set, raise, lower or reset a parameter, switch a
//! stage on or off ("monte les aigus de 2 dB", "pan left 30%", "mute", "bypass the
//! compressor", "coupe-bas à 80 Hz", "cut 250 Hz by 3 dB", "remets la largeur par défaut").
//!
//! [`parse`] turns a message into [`WireChange`]s, the same type a language model emits, so
//! every command goes through the one validator ([`super::actions`]). A message holding no
//! command gives `None`: it is then an intent, a question or conversation for the engine.
//!
//! Amounts: a number with its unit ("2 dB", "1,5 dB", "120 Hz", "3 kHz", "30 %", "4:1",
//! "10 ms"); without one, "a bit / un peu" is 1 dB, "a lot / beaucoup" 4 dB, otherwise 2 dB.

use super::actions::{WireChange, WireValue};
use super::names::{find_in, normalise};
use audiocollab_core::spec::{Kind, ParamId, Settings};
use audiocollab_core::untrusted::excerpt_to;

/// Gain step when a command gives no amount, dB.
const DEFAULT_STEP_DB: f64 = 2.0;
/// Gain step for "a bit" / "un peu", dB.
const SMALL_STEP_DB: f64 = 1.0;
/// Gain step for "a lot" / "beaucoup", dB.
const LARGE_STEP_DB: f64 = 4.0;
/// Pan step when a command gives no amount (25 %).
const DEFAULT_STEP_PAN: f64 = 0.25;
/// Width step when a command gives no amount, percent.
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
}

/// Words that name a verb, normalised (see [`normalise`]), matched as whole words or phrases.
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
    ("eteins", Verb::Off),
    ("enleve", Verb::Remove),
    ("supprime", Verb::Remove),
    ("disable", Verb::Off),
    ("turn off", Verb::Off),
    ("switch off", Verb::Off),
    ("remove", Verb::Remove),
    ("take out", Verb::Remove),
    ("unmute", Verb::Off),
    ("active", Verb::On),
    ("allume", Verb::On),
    ("enable", Verb::On),
    ("turn on", Verb::On),
    ("switch on", Verb::On),
    ("engage", Verb::On),
    ("augmente", Verb::Raise),
    ("remonte", Verb::Raise),
    ("monte", Verb::Raise),
    ("booste", Verb::Raise),
    ("boost", Verb::Raise),
    ("raise", Verb::Raise),
    ("increase", Verb::Raise),
    ("turn up", Verb::Raise),
    ("push", Verb::Raise),
    ("plus de", Verb::Raise),
    ("more", Verb::Raise),
    ("ajoute", Verb::Raise),
    ("add", Verb::Raise),
    ("diminue", Verb::Lower),
    ("baisse", Verb::Lower),
    ("reduis", Verb::Lower),
    ("attenue", Verb::Lower),
    ("descends", Verb::Lower),
    ("lower", Verb::Lower),
    ("reduce", Verb::Lower),
    ("decrease", Verb::Lower),
    ("turn down", Verb::Lower),
    ("cut", Verb::Lower),
    ("moins de", Verb::Lower),
    ("less", Verb::Lower),
    ("mets", Verb::Set),
    ("regle", Verb::Set),
    ("passe", Verb::Set),
    ("fixe", Verb::Set),
    ("set", Verb::Set),
    ("put", Verb::Set),
    ("make", Verb::Set),
];

/// A number with the unit written after it.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Amount {
    value: f64,
    unit: Unit,
    /// Introduced by "to / à / at": an absolute target rather than a step.
    absolute: bool,
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

fn verb_of(clause: &str) -> Option<(usize, Verb)> {
    let verb = VERBS.iter().filter_map(|&(w, v)| find_word(clause, w).map(|i| (i, v))).min_by_key(|&(i, _)| i);
    // "turn the output up", "bring the bass down".
    verb.or_else(|| {
        let last = clause.rsplit(' ').next().unwrap_or("");
        match last {
            "up" => Some((clause.len() - 2, Verb::Raise)),
            "down" => Some((clause.len() - 4, Verb::Lower)),
            _ => None,
        }
    })
}

/// Every number in the clause with its unit and whether "to/à/at" introduced it.
fn amounts(clause: &str) -> Vec<Amount> {
    let b = clause.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts =
            b[i].is_ascii_digit() || ((b[i] == b'-' || b[i] == b'+') && i + 1 < b.len() && b[i + 1].is_ascii_digit());
        if !starts || (i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.')) {
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
        let rest = clause[i..].trim_start();
        let word: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '%' || *c == ':').collect();
        let unit = match word.as_str() {
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
            w if w.starts_with(":1") || w == ":" => Unit::Ratio,
            _ if rest.starts_with('%') => Unit::Percent,
            _ => Unit::None,
        };
        let before = clause[..start].trim_end();
        let absolute = ["a", "to", "at", "sur", "="]
            .iter()
            .any(|w| before.ends_with(w) && is_word_at(before, before.len() - w.len(), w.len()))
            || before.ends_with('=');
        out.push(Amount { value, unit, absolute });
    }
    out
}

fn size_word(clause: &str) -> f64 {
    if ["un peu", "legerement", "a bit", "a little", "slightly", "a touch", "une touche"]
        .iter()
        .any(|w| find_word(clause, w).is_some())
    {
        SMALL_STEP_DB
    } else if ["beaucoup", "a lot", "much", "lots", "franchement", "nettement"]
        .iter()
        .any(|w| find_word(clause, w).is_some())
    {
        LARGE_STEP_DB
    } else {
        DEFAULT_STEP_DB
    }
}

/// The gain parameter of a band an EQ command at `hz` should use: the high-pass below 60 Hz is
/// left alone (it has no gain); low shelf up to 150 Hz, bell 1 up to 1 kHz, bell 2 up to 8 kHz,
/// high shelf above.
fn band_for(hz: f64) -> (Option<ParamId>, ParamId) {
    if hz <= 150.0 {
        (Some(ParamId::LowShelfFreq), ParamId::LowShelfGain)
    } else if hz <= 1000.0 {
        (Some(ParamId::Bell1Freq), ParamId::Bell1Gain)
    } else if hz <= 8000.0 {
        (Some(ParamId::Bell2Freq), ParamId::Bell2Gain)
    } else {
        (Some(ParamId::HighShelfFreq), ParamId::HighShelfGain)
    }
}

fn change(param: ParamId, value: Option<WireValue>, delta: Option<f64>, reason: &str) -> WireChange {
    WireChange { param: param.spec().id.into(), value, delta, reason: reason.into(), evidence: None }
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

/// Words of a clause that qualify every parameter it names, read once per clause (reading
/// them again for each name made a long clause quadratic).
struct Said {
    /// The gain step when no amount is given ("a bit", "a lot").
    step_db: f64,
    left: bool,
    right: bool,
    centre: bool,
}

impl Said {
    fn of(clause: &str) -> Said {
        let any = |words: &[&str]| words.iter().any(|w| find_word(clause, w).is_some());
        Said {
            step_db: size_word(clause),
            left: any(&["left", "gauche"]),
            right: any(&["right", "droite"]),
            centre: any(&["center", "centre", "middle", "milieu"]),
        }
    }
}

/// One clause ("monte les aigus de 2 dB") into changes.
fn parse_clause(clause: &str, current: &Settings) -> Vec<WireChange> {
    let verb = verb_of(clause).map(|(_, v)| v);
    // On a level, "remove" means less of it.
    let level_verb = if verb == Some(Verb::Remove) { Some(Verb::Lower) } else { verb };
    let mut names = find_in(clause);
    // "bypass the compressor": here "bypass" is the verb, not the plugin's bypass switch.
    if names.len() > 1 {
        names.retain(|&(_, p, _)| p != ParamId::Bypass);
    }
    let amounts = amounts(clause);
    // The clause quoted, cut short: a reason is a line on a card, copied into every change.
    let quote = excerpt_to(clause, REASON_QUOTE_CHARS);
    let reason = match audiocollab_core::lang::detect(clause) {
        audiocollab_core::lang::Lang::En => format!("you asked: \u{201c}{quote}\u{201d}"),
        audiocollab_core::lang::Lang::Fr => format!("à votre demande : \u{ab}\u{a0}{quote}\u{a0}\u{bb}"),
    };
    let mut out = Vec::new();

    // Bare switches: "mute", "unmute", "bypass", "coupe le son".
    if names.is_empty() {
        if find_word(clause, "unmute").is_some() || find_word(clause, "remets le son").is_some() {
            return vec![change(ParamId::Mute, Some(WireValue::Bool(false)), None, &reason)];
        }
        if find_word(clause, "coupe le son").is_some() {
            return vec![change(ParamId::Mute, Some(WireValue::Bool(true)), None, &reason)];
        }
        // "cut 250 Hz by 3 dB", "boost 3 kHz": a frequency and a gain without a band name.
        let hz = amounts.iter().find(|a| a.unit == Unit::Hz);
        if let (Some(hz), Some(v @ (Verb::Raise | Verb::Lower))) = (hz, verb) {
            let (freq, gain) = band_for(hz.value);
            let db = amounts.iter().find(|a| a.unit == Unit::Db).map_or(size_word(clause), |a| a.value.abs());
            let sign = if v == Verb::Raise { 1.0 } else { -1.0 };
            if let Some(freq) = freq {
                out.push(change(freq, Some(WireValue::Number(hz.value)), None, &reason));
            }
            out.push(change(gain, None, Some(sign * db), &reason));
            if let Some(on) = stage_switch(gain) {
                out.push(change(on, Some(WireValue::Bool(true)), None, &reason));
            }
        }
        return out;
    }

    let said = Said::of(clause);
    let bypass_said = find_word(clause, "bypass").is_some();
    for &(_, param, _) in &names {
        let spec = param.spec();
        let pick = |unit: Unit| amounts.iter().find(|a| a.unit == unit).copied();
        match spec.kind {
            Kind::Toggle => {
                let on = match verb {
                    Some(Verb::Off | Verb::Remove) => Some(false),
                    Some(Verb::On) => Some(true),
                    // "bypass the compressor": the stage off; "bypass" alone: the plugin.
                    _ if param != ParamId::Bypass && bypass_said => Some(false),
                    _ if matches!(param, ParamId::Mute | ParamId::Bypass) => Some(verb != Some(Verb::Lower)),
                    _ => None,
                };
                // "coupe-bas à 80 Hz": the switch on and its frequency.
                let hz = pick(Unit::Hz);
                if param == ParamId::HpOn {
                    if let Some(hz) = hz {
                        out.push(change(ParamId::HpFreq, Some(WireValue::Number(hz.value)), None, &reason));
                        out.push(change(ParamId::HpOn, Some(WireValue::Bool(on.unwrap_or(true))), None, &reason));
                        continue;
                    }
                }
                if param == ParamId::CompOn {
                    // "compresseur à -20 dB" sets the threshold; "ratio" has its own name.
                    if let Some(db) = pick(Unit::Db) {
                        let value = if db.absolute || verb == Some(Verb::Set) || verb.is_none() {
                            Some(db.value)
                        } else {
                            None
                        };
                        let delta = match (value, verb) {
                            (None, Some(Verb::Lower)) => Some(-db.value.abs()),
                            (None, _) => Some(db.value.abs()),
                            _ => None,
                        };
                        out.push(change(ParamId::CompThreshold, value.map(WireValue::Number), delta, &reason));
                        out.push(change(ParamId::CompOn, Some(WireValue::Bool(true)), None, &reason));
                        continue;
                    }
                }
                if let Some(on) = on {
                    out.push(change(param, Some(WireValue::Bool(on)), None, &reason));
                }
            }
            Kind::Choice(_) => {
                if let Some(a) = amounts.first() {
                    out.push(change(param, Some(WireValue::Text(format!("{}", a.value))), None, &reason));
                }
            }
            Kind::Float { .. } => {
                if verb == Some(Verb::Reset) {
                    out.push(change(param, Some(WireValue::Number(display_default(param))), None, &reason));
                    continue;
                }
                if verb == Some(Verb::Off) {
                    if let Some(on) = stage_switch(param) {
                        out.push(change(on, Some(WireValue::Bool(false)), None, &reason));
                    }
                    continue;
                }
                if let Some(c) = float_change(param, &said, level_verb, &amounts, current, &reason) {
                    out.extend(c);
                }
            }
        }
    }
    out
}

/// The default of a parameter in the unit a wire value uses (percent for width and mix).
fn display_default(param: ParamId) -> f64 {
    let spec = param.spec();
    match spec.format {
        audiocollab_core::spec::Format::Percent => spec.default as f64 * 100.0,
        _ => spec.default as f64,
    }
}

fn float_change(
    param: ParamId,
    said: &Said,
    verb: Option<Verb>,
    amounts: &[Amount],
    _current: &Settings,
    reason: &str,
) -> Option<Vec<WireChange>> {
    use audiocollab_core::spec::Format as F;
    let spec = param.spec();
    let unit = match spec.format {
        F::Decibels => Unit::Db,
        F::Hertz => Unit::Hz,
        F::Percent | F::Pan => Unit::Percent,
        F::Milliseconds => Unit::Ms,
        F::Ratio => Unit::Ratio,
        _ => Unit::None,
    };
    // The amount in this parameter's unit, or a bare number.
    let amount =
        amounts.iter().find(|a| a.unit == unit).or_else(|| amounts.iter().find(|a| a.unit == Unit::None)).copied();
    let mut out = Vec::new();
    if param == ParamId::Pan {
        let (left, right, centre) = (said.left, said.right, said.centre);
        let side = if left { -1.0 } else { 1.0 };
        let value = if centre {
            Some(0.0)
        } else if left || right {
            Some(side * amount.map_or(DEFAULT_STEP_PAN * 100.0, |a| a.value.abs()))
        } else {
            amount.map(|a| a.value)
        }?;
        out.push(change(param, Some(WireValue::Text(format!("{}", value / 100.0))), None, reason));
        return Some(out);
    }
    let step = match unit {
        Unit::Db => said.step_db,
        Unit::Percent => DEFAULT_STEP_WIDTH_PCT,
        _ => return amount.map(|a| vec![change(param, Some(WireValue::Number(a.value)), None, reason)]),
    };
    match (verb, amount) {
        (Some(Verb::Raise), Some(a)) if !a.absolute => out.push(change(param, None, Some(a.value.abs()), reason)),
        (Some(Verb::Lower), Some(a)) if !a.absolute => out.push(change(param, None, Some(-a.value.abs()), reason)),
        (_, Some(a)) => out.push(change(param, Some(WireValue::Number(a.value)), None, reason)),
        (Some(Verb::Raise), None) => out.push(change(param, None, Some(step), reason)),
        (Some(Verb::Lower), None) => out.push(change(param, None, Some(-step), reason)),
        _ => return None,
    }
    // A band gain moved while its band is off: switch it on too.
    if let Some(on) = stage_switch(param).filter(|&s| s != param && !matches!(s, ParamId::Bypass | ParamId::Mute)) {
        if matches!(param, ParamId::LowShelfGain | ParamId::Bell1Gain | ParamId::Bell2Gain | ParamId::HighShelfGain) {
            out.push(change(on, Some(WireValue::Bool(true)), None, reason));
        }
    }
    Some(out)
}

/// Splits at `;`, `!`, `?` and at `,` or `.` that are not inside a number ("1,5 dB", "1.5 dB").
fn clauses(text: &str) -> impl Iterator<Item = &str> {
    let b = text.as_bytes();
    let mut cuts = vec![0];
    for (i, &c) in b.iter().enumerate() {
        let in_number = i > 0 && i + 1 < b.len() && b[i - 1].is_ascii_digit() && b[i + 1].is_ascii_digit();
        if matches!(c, b';' | b'!' | b'?') || (matches!(c, b',' | b'.') && !in_number) {
            cuts.push(i);
            cuts.push(i + 1);
        }
    }
    cuts.push(b.len());
    cuts.chunks(2).map(move |w| &text[w[0]..w[1]]).collect::<Vec<_>>().into_iter()
}

/// Splits a message into clauses ("… et …", "… and …", ",", ";", ".") and parses each;
/// `None` when no clause holds a command.
pub fn parse(message: &str, current: &Settings) -> Option<Vec<WireChange>> {
    let text = normalise(message);
    let mut changes = Vec::new();
    for clause in clauses(&text).flat_map(|c| c.split(" et ")).flat_map(|c| c.split(" and ")) {
        let clause = clause.trim();
        if !clause.is_empty() {
            changes.extend(parse_clause(clause, current));
        }
    }
    (!changes.is_empty()).then_some(changes)
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
        assert_eq!(run("bypass the compressor"), vec![(ParamId::CompOn, 0.0)]);
        assert_eq!(run("coupe-bas à 100 Hz"), vec![(ParamId::HpFreq, 100.0), (ParamId::HpOn, 1.0)]);
        assert_eq!(run("cut 250 Hz by 3 dB"), vec![(ParamId::Bell1Freq, 250.0), (ParamId::Bell1Gain, -3.0)]);
    }
}
