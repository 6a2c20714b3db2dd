//! The embedded engine: the offline, deterministic assistant that answers when no language
//! model is configured (the default), and whenever a model cannot (budget, deadline, errors).
//!
//! A message is read in this order, first match wins:
//! 1. a time in the message ("à 1:45", "at 2:10", "between 1:45 and 2:00") → what the analysis
//!    shows at that moment only (its findings, section, levels), with 2–3 concrete options
//!    (timeline feedback); a time past the end of the track says where the track stops;
//! 2. a question about the audio (BPM, key, loudness for a platform, peaks, dynamics, what is
//!    wrong) → answered from the analysis;
//! 3. a direct command ([`super::commands`]) → the changes;
//! 4. an intent ("plus clair", "more punch", "moins agressif", "plus chaud", "prepare it for
//!    Spotify", "analyse") → changes grounded in the analysis ([`super::suggest`] for findings);
//! 5. a how-to question → the knowledge base ([`super::knowledge`]), with its offer;
//! 6. otherwise, what the assistant can do.
//!
//! Every answer is a [`WireReply`], the same type a model sends, so the caller validates it into
//! a [`super::actions::ChangeSet`] the same way.

use super::actions::{Evidence, WireChange, WireReply, WireValue};
use super::commands;
use super::knowledge;
use super::names::normalise;
use super::suggest::suggest;
use audiocollab_core::analysis::character::{Source, SourceKind};
use audiocollab_core::analysis::findings::kind_name;
use audiocollab_core::analysis::findings::{Finding, FindingKind};
use audiocollab_core::analysis::targets;
use audiocollab_core::analysis::tonal::Region;
use audiocollab_core::analysis::track::TrackAnalysis;
use audiocollab_core::lang::{self, Lang};
use audiocollab_core::spec::{ParamId, Settings};
use audiocollab_core::text::{self, clock, clock_span};

/// What the engine knows when it answers.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The analysis of the whole track (or stream so far), if there is one.
    pub analysis: Option<&'a TrackAnalysis>,
    /// Analyses a segment `[from, to]` seconds on request (timeline feedback), if possible.
    pub segment: Option<&'a dyn Fn(f64, f64) -> Option<TrackAnalysis>>,
    /// The settings now.
    pub settings: &'a Settings,
    /// Answer in this language; `None` = the message's language.
    pub lang: Option<Lang>,
}

/// How the engine understood the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Understood {
    /// A comment or question about a moment of the track.
    Moment,
    /// A moment after the end of the track (or of what was heard so far): said so, with no
    /// change. A fact, answered by the engine even when a model is configured.
    PastTheEnd,
    /// A question about the audio.
    Question,
    /// A direct command.
    Command,
    /// An intent ("brighter", "ready for Spotify").
    Intent,
    /// A how-to question.
    HowTo,
    /// Nothing the engine knows.
    Unknown,
    /// Longer than [`MAX_MESSAGE_CHARS`]: refused unread.
    TooLong,
}

/// Longest message the assistant reads, characters (a page of text; a chat message is a line
/// or two). A longer one (a pasted log, a book) is refused unread, with a message that says
/// why: the plugin's chat runs in the musician's DAW, which must not run short of memory or
/// time because of a paste, and a model would be sent all of it.
pub const MAX_MESSAGE_CHARS: usize = 4000;

/// Whether `message` is longer than [`MAX_MESSAGE_CHARS`] (reads at most that many characters).
pub fn is_too_long(message: &str) -> bool {
    message.len() > MAX_MESSAGE_CHARS && message.chars().nth(MAX_MESSAGE_CHARS).is_some()
}

/// The refusal of a message longer than [`MAX_MESSAGE_CHARS`].
pub fn too_long_message(lang: Lang) -> String {
    t(
        lang,
        "That message is too long for me: I read at most 4,000 characters (about a page). Shorten it, or ask one thing at a time.",
        "Ce message est trop long pour moi : je lis au plus 4 000 caractères (environ une page). Raccourcissez-le, ou posez une question à la fois.",
    )
}

/// The engine's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// How the message was understood.
    pub understood: Understood,
    /// The language of the answer.
    pub lang: Lang,
    /// Message and proposed changes.
    pub reply: WireReply,
}

fn t(lang: Lang, en: impl Into<String>, fr: impl Into<String>) -> String {
    match lang {
        Lang::En => en.into(),
        Lang::Fr => fr.into(),
    }
}

fn has(text: &str, words: &[&str]) -> bool {
    words.iter().any(|w| {
        let mut from = 0;
        while let Some(i) = text[from..].find(w).map(|i| i + from) {
            let end = i + w.len();
            let b = text.as_bytes();
            if (i == 0 || !b[i - 1].is_ascii_alphanumeric()) && (end == b.len() || !b[end].is_ascii_alphanumeric()) {
                return true;
            }
            from = end;
        }
        false
    })
}

/// Answers a message; a message longer than [`MAX_MESSAGE_CHARS`] is refused unread.
pub fn respond(message: &str, ctx: &Context) -> Answer {
    if is_too_long(message) {
        let head = audiocollab_core::untrusted::excerpt_to(message, MAX_MESSAGE_CHARS);
        let lang = ctx.lang.unwrap_or_else(|| lang::detect(&head));
        let message = too_long_message(lang);
        return Answer { understood: Understood::TooLong, lang, reply: WireReply { message, changes: Vec::new() } };
    }
    let mut answer = read(message, ctx);
    if answer.lang == Lang::Fr {
        let reply = &mut answer.reply;
        reply.message = text::french_decimals(&reply.message);
        for c in &mut reply.changes {
            c.reason = text::french_decimals(&c.reason);
        }
    }
    answer
}

/// Reads the message (see the module documentation) and answers it.
fn read(message: &str, ctx: &Context) -> Answer {
    let lang = ctx.lang.unwrap_or_else(|| lang::detect(message));
    let text = normalise(message);
    let answer = |understood, message: String, changes: Vec<WireChange>| Answer {
        understood,
        lang,
        reply: WireReply { message, changes },
    };
    if text.is_empty() {
        return answer(Understood::Unknown, help(lang), Vec::new());
    }
    if let Some(asked) = moment_in(&text) {
        if let Some(end) = past_the_end(&asked, ctx) {
            return answer(Understood::PastTheEnd, past_the_end_message(&asked, end, ctx, lang), Vec::new());
        }
        return answer(Understood::Moment, String::new(), Vec::new()).with(moment(&asked, ctx, lang));
    }
    // "tu peux baisser le trim ?", "can you pull the input down 2 dB?": requests, not questions.
    let question = (text.contains('?') || starts_like_question(&text)) && !commands::is_request(&text);
    if let Some(reply) = question_about_audio(&text, ctx, lang) {
        return answer(Understood::Question, reply, Vec::new());
    }
    if !question {
        if let Some(changes) = commands::parse_in(message, ctx.settings, Some(lang)) {
            let msg = t(lang, "Done as you asked — here are the changes.", "C'est noté — voici les réglages.");
            return answer(Understood::Command, msg, changes);
        }
    }
    if let Some(reply) = intent(&text, ctx, lang) {
        return Answer { understood: Understood::Intent, lang, reply };
    }
    if let Some(found) = knowledge::lookup(message) {
        let topic = found.topic;
        let msg = format!("{}\n\n{}", topic.title(lang), topic.answer(lang));
        return answer(Understood::HowTo, msg, topic.changes(lang));
    }
    if let Some(changes) = commands::parse_in(message, ctx.settings, Some(lang)) {
        let msg = t(lang, "Here are the changes.", "Voici les réglages.");
        return answer(Understood::Command, msg, changes);
    }
    answer(Understood::Unknown, help(lang), Vec::new())
}

impl Answer {
    fn with(mut self, reply: WireReply) -> Self {
        self.reply = reply;
        self
    }
}

fn starts_like_question(text: &str) -> bool {
    const STARTS: &[&str] = &[
        "quel",
        "quelle",
        "quels",
        "est-ce",
        "est ce",
        "combien",
        "comment",
        "pourquoi",
        "qu'est",
        "c'est quoi",
        "y a-t-il",
        "what",
        "which",
        "how",
        "why",
        "is it",
        "is the",
        "is my",
        "are",
        "does",
        "do i",
        "can",
        "should",
    ];
    STARTS.iter().any(|s| text.starts_with(s))
}

fn help(lang: Lang) -> String {
    t(
        lang,
        "I can: analyse the track (\"analyse\"), answer questions (\"what's the BPM?\", \"is it too loud for Spotify?\", \"what's wrong at 1:45?\"), apply commands (\"raise the treble by 2 dB\", \"pan left 30%\"), follow intents (\"brighter vocals\", \"more punch\", \"warmer\", \"prepare it for Spotify\") and explain techniques (\"how do I de-ess?\").",
        "Je peux : analyser le morceau (« analyse »), répondre à vos questions (« quel est le BPM ? », « c'est trop fort pour Spotify ? », « qu'est-ce qui ne va pas à 1:45 ? »), appliquer des commandes (« monte les aigus de 2 dB », « panoramique à gauche 30 % »), suivre vos intentions (« voix plus claires », « plus de punch », « plus chaud », « prépare pour Spotify ») et expliquer des techniques (« comment dé-esser ? »).",
    )
}

// ---------------------------------------------------------------------------------------------
// Times

/// A moment a message asks about: one time, or a range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Moment {
    /// The time said, when one was ("à 1:20"); `None` for a range.
    pub at: Option<f64>,
    /// Start of the stretch looked at, seconds.
    pub from: f64,
    /// Its end, seconds.
    pub to: f64,
}

/// Half the stretch looked at around a single time, seconds.
const AROUND_S: f64 = 5.0;

/// The moment in a (normalised) message: see [`times_in`].
pub fn moment_in(text: &str) -> Option<Moment> {
    match clock_times(text).as_slice() {
        [] => None,
        &[t] => Some(Moment { at: Some(t), from: (t - AROUND_S).max(0.0), to: t + AROUND_S }),
        &[a, b, ..] => Some(Moment { at: None, from: a.min(b), to: a.max(b) }),
    }
}

/// A time or range in the message: "1:45", "1:45-2:00", "between 1:45 and 2:00", "à 95 s".
/// A single time gives a 10 s window around it. A ratio ("4:1", seconds of one digit) is not
/// a time, nor are seconds said of the compressor's attack or release ("release à 1 s").
pub fn times_in(text: &str) -> Option<(f64, f64)> {
    moment_in(text).map(|m| (m.from, m.to))
}

fn clock_times(text: &str) -> Vec<f64> {
    let of_a_setting = has(text, &["attack", "attaque", "release", "relachement", "relache"]);
    let mut times = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            let start = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b':') {
                i += 1;
            }
            let token = &text[start..i];
            let rest = text[i..].trim_start();
            if token.contains(':') {
                let parts: Vec<&str> = token.split(':').collect();
                let clock = parts[1..].iter().all(|p| p.len() == 2);
                if clock && parts.iter().all(|p| !p.is_empty() && p.len() <= 2) && parts.len() <= 3 {
                    let v = parts.iter().fold(0.0, |acc, p| acc * 60.0 + p.parse::<f64>().unwrap_or(0.0));
                    times.push(v);
                }
            } else if !of_a_setting && (["s ", "sec", "seconde"].iter().any(|u| rest.starts_with(u)) || rest == "s") {
                times.push(token.parse().unwrap_or(0.0));
            } else if let Some(after) = rest.strip_prefix("min") {
                let secs =
                    after.trim_start().split(|c: char| !c.is_ascii_digit()).next().and_then(|s| s.parse::<f64>().ok());
                times.push(token.parse::<f64>().unwrap_or(0.0) * 60.0 + secs.unwrap_or(0.0));
            }
        }
        i += 1;
    }
    times
}

/// The end of what was measured, when the moment asked starts at or after it: the track's
/// length for a file, what was heard so far in the plugin.
fn past_the_end(asked: &Moment, ctx: &Context) -> Option<f64> {
    let a = ctx.analysis?;
    let start = asked.at.unwrap_or(asked.from);
    (start >= a.duration_s).then_some(a.duration_s)
}

/// "The track stops at 3:12: there is nothing at 5:30." A file's length is known (the command
/// line can analyse any stretch of it: `segment`); the plugin has heard the stream so far.
fn past_the_end_message(asked: &Moment, end: f64, ctx: &Context, lang: Lang) -> String {
    let when = match asked.at {
        Some(at) => t(lang, format!("at {}", clock(at)), format!("à {}", clock(at))),
        None => t(
            lang,
            format!("between {} and {}", clock(asked.from), clock(asked.to)),
            format!("entre {} et {}", clock(asked.from), clock(asked.to)),
        ),
    };
    let end = clock(end);
    if ctx.segment.is_some() {
        t(
            lang,
            format!("The track stops at {end}: there is nothing {when}. Ask me about a moment before {end}."),
            format!("Le morceau s'arrête à {end} : il n'y a rien {when}. Demandez-moi un moment avant {end}."),
        )
    } else {
        t(
            lang,
            format!("I have heard the first {end} of the track so far: nothing {when} yet. Play it up to there and ask again."),
            format!("Je n'ai entendu que {end} du morceau pour l'instant : rien {when}. Lancez la lecture jusque-là et redemandez."),
        )
    }
}

/// Findings covering at least this share of the analysed stretch are about the whole track, not
/// a moment: a moment names them in one line instead of explaining them again.
const WHOLE_TRACK_SHARE: f64 = 0.9;

/// What the analysis shows at a moment, and only there: the findings that overlap it (those
/// about the whole track only named), the section it is in, its loudness and peaks, and the
/// region that differs most from the rest of the track, with a change for it.
fn moment(asked: &Moment, ctx: &Context, lang: Lang) -> WireReply {
    let Some(whole) = ctx.analysis else {
        return WireReply {
            message: t(
                lang,
                "Play the track (or analyse a file) first: I have no measurements yet.",
                "Lancez la lecture (ou analysez un fichier) d'abord : je n'ai pas encore de mesures.",
            ),
            changes: Vec::new(),
        };
    };
    // A stretch running past the end is looked at up to the end.
    let (from, to) = (asked.from, asked.to.min(whole.duration_s));
    let seg = ctx.segment.and_then(|f| f(from, to));
    let span = clock_span(from, to);
    let header = match asked.at {
        Some(at) => t(lang, format!("Around {} ({span}):", clock(at)), format!("Autour de {} ({span}) :", clock(at))),
        None => {
            t(lang, format!("From {} to {}:", clock(from), clock(to)), format!("De {} à {} :", clock(from), clock(to)))
        }
    };
    let mut lines = vec![header];
    if asked.to > whole.duration_s && asked.at.is_none() {
        let end = clock(whole.duration_s);
        lines.push(t(lang, format!("• The track stops at {end}."), format!("• Le morceau s'arrête à {end}.")));
    }
    // The section the moment is in (or the sections it spans), with its loudness.
    for sec in whole.sections.iter().filter(|s| s.start_s < to && s.end_s > from) {
        let level = sec.loudness_lufs.map(|l| format!(", {} LUFS", f1(l))).unwrap_or_default();
        lines.push(t(
            lang,
            format!("• Section {} ({}){level}.", sec.label, clock_span(sec.start_s, sec.end_s)),
            format!("• Partie {} ({}){level}.", sec.label, clock_span(sec.start_s, sec.end_s)),
        ));
    }
    // Findings that overlap the moment: explained when they are about it, named when they are
    // about the whole track.
    let length = (whole.to_s - whole.from_s).max(f64::EPSILON);
    let (overall, here): (Vec<&Finding>, Vec<&Finding>) = whole
        .findings
        .iter()
        .filter(|f| f.start_s < to && f.end_s > from)
        .partition(|f| (f.end_s - f.start_s) / length >= WHOLE_TRACK_SHARE);
    for f in &here {
        lines.push(format!(
            "• {}",
            match lang {
                Lang::En => &f.explanation_en,
                Lang::Fr => &f.explanation_fr,
            }
        ));
    }
    let mut changes = Vec::new();
    if let Some(seg) = &seg {
        if let (Some(a), Some(b)) = (seg.loudness.integrated_lufs, whole.loudness.integrated_lufs) {
            let d = a - b;
            let peak = seg.loudness.true_peak_dbtp.map(|tp| format!(", true peak {} dBTP", f1(tp))).unwrap_or_default();
            lines.push(t(
                lang,
                format!("• This part is {} LUFS{peak}, {:+.1} LU against the whole track.", f1(a), d),
                format!("• Ce passage est à {} LUFS{peak}, {:+.1} LU par rapport au morceau entier.", f1(a), d),
            ));
        }
        // The region that differs most from the rest of the track.
        let mut worst: Option<(Region, f64)> = None;
        for (r, w) in seg.tonal_balance.regions.iter().zip(&whole.tonal_balance.regions) {
            let d = (r.deviation_db - w.deviation_db) as f64;
            if d.is_finite() && worst.is_none_or(|(_, x)| d.abs() > x.abs()) {
                worst = Some((r.region, d));
            }
        }
        if let Some((region, d)) = worst.filter(|(_, d)| d.abs() >= 1.5) {
            let (en, fr, hz) = region_words(region);
            lines.push(t(
                lang,
                format!("• The {en} are {:+.1} dB against the rest of the track.", d),
                format!("• Les {fr} sont à {:+.1} dB par rapport au reste du morceau.", d),
            ));
            let reason = t(lang, format!("{en} {:+.1} dB at {span}", d), format!("{fr} {:+.1} dB à {span}", d));
            let evidence = Evidence {
                finding: Some("segment_balance".into()),
                from_s: Some(from),
                to_s: Some(to),
                value: Some(d),
                unit: Some("dB".into()),
            };
            let gain = band_gain_for(hz);
            changes.push(WireChange {
                param: gain.spec().id.into(),
                value: None,
                delta: Some((-d).clamp(-3.0, 3.0)),
                reason,
                evidence: Some(evidence),
            });
        }
    }
    if !overall.is_empty() {
        let names: Vec<String> = overall.iter().map(|f| lower_first(kind_name(f.kind, lang))).collect();
        lines.push(t(
            lang,
            format!("• On the whole track, not only here: {} (ask \"what's wrong?\").", names.join(", ")),
            format!(
                "• Sur tout le morceau, pas seulement ici : {} (demandez « qu'est-ce qui ne va pas ? »).",
                names.join(", ")
            ),
        ));
    }
    if here.is_empty() && changes.is_empty() {
        lines.push(t(
            lang,
            "• Nothing stands out in the measurements here. Options: automate the level of this part by 1–2 dB, try a 2 dB lift around 3 kHz for presence, or compare with a reference track at the same loudness.",
            "• Rien ne ressort des mesures ici. Pistes : automatiser le niveau de ce passage de 1 à 2 dB, essayer +2 dB vers 3 kHz pour la présence, ou comparer avec un morceau de référence au même niveau.",
        ));
    } else {
        lines.push(t(
            lang,
            "Options: apply the change below, automate it only on this part in your DAW, or ask me about another moment.",
            "Pistes : appliquer le réglage proposé, l'automatiser seulement sur ce passage dans votre DAW, ou me demander un autre moment.",
        ));
    }
    WireReply { message: lines.join("\n"), changes }
}

/// "Trop faible" → "trop faible": a name inside a sentence.
fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default()
}

fn region_words(r: Region) -> (&'static str, &'static str, f64) {
    match r {
        Region::Sub => ("sub-bass", "infra-graves", 40.0),
        Region::Bass => ("bass", "graves", 100.0),
        Region::LowMid => ("low mids", "bas-médiums", 300.0),
        Region::Mid => ("mids", "médiums", 1000.0),
        Region::HighMid => ("upper mids", "haut-médiums", 3000.0),
        Region::Presence => ("presence highs", "aigus de présence", 7000.0),
        Region::Air => ("air", "extrêmes aigus", 12_000.0),
    }
}

fn band_gain_for(hz: f64) -> ParamId {
    if hz <= 150.0 {
        ParamId::LowShelfGain
    } else if hz <= 1000.0 {
        ParamId::Bell1Gain
    } else if hz <= 6000.0 {
        ParamId::Bell2Gain
    } else {
        ParamId::HighShelfGain
    }
}

fn f1(v: f64) -> String {
    format!("{v:.1}")
}

// ---------------------------------------------------------------------------------------------
// Questions about the audio

const FR_NOTES: [&str; 12] =
    ["do", "do dièse", "ré", "mi bémol", "mi", "fa", "fa dièse", "sol", "la bémol", "la", "si bémol", "si"];

fn question_about_audio(text: &str, ctx: &Context, lang: Lang) -> Option<String> {
    let asks_tempo = has(text, &["bpm", "tempo"]);
    let asks_key = has(text, &["key", "tonalite", "gamme", "tonality"]);
    let platform = targets::platforms().iter().find(|p| {
        let name = normalise(&p.name);
        has(text, &[p.id.as_str()])
            || has(text, &[name.as_str()])
            || (p.id == "apple" && has(text, &["apple music", "itunes"]))
    });
    let asks_loud = has(text, &["loud", "fort", "lufs", "loudness", "niveau", "quiet", "faible", "volume"])
        || platform.is_some() && (has(text, &["ready", "pret", "prete", "ok"]));
    // "par défaut" is a default, not a defect.
    let asks_wrong = has(
        &text.replace("par defaut", ""),
        &[
            "wrong",
            "problem",
            "problems",
            "issue",
            "issues",
            "ne va pas",
            "probleme",
            "problemes",
            "defaut",
            "defauts",
            "souci",
        ],
    );
    let asks_peak =
        has(text, &["peak", "crete", "crete", "true peak", "clip", "clipping", "sature", "saturation", "clippe"]);
    let asks_dyn = has(text, &["lra", "dynamic", "dynamics", "dynamique", "plr", "compressed", "compresse"]);
    if !(asks_tempo || asks_key || asks_loud || asks_wrong || asks_peak || asks_dyn) {
        return None;
    }
    let question = (text.contains('?') || starts_like_question(text)) && !commands::is_request(text);
    // "monte le volume" is a command, not a question about loudness.
    if !question && !asks_tempo && !asks_key && !asks_wrong {
        return None;
    }
    let Some(a) = ctx.analysis else {
        return Some(t(
            lang,
            "I have no measurements yet: play the track (or analyse a file) and ask again.",
            "Je n'ai pas encore de mesures : lancez la lecture (ou analysez un fichier) et redemandez.",
        ));
    };
    let mut lines = Vec::new();
    if asks_tempo {
        lines.push(match &a.tempo {
            Some(tp) => {
                let alt = tp
                    .alternatives_bpm
                    .first()
                    .map(|b| {
                        t(
                            lang,
                            format!(" ({:.0} BPM is possible if you count in half/double time)", b),
                            format!(" ({:.0} BPM possible si vous comptez en demi/double temps)", b),
                        )
                    })
                    .unwrap_or_default();
                t(
                    lang,
                    format!("The tempo is about {:.0} BPM (confidence {:.0} %){alt}.", tp.bpm, tp.confidence * 100.0),
                    format!(
                        "Le tempo est d'environ {:.0} BPM (confiance {:.0} %){alt}.",
                        tp.bpm,
                        tp.confidence * 100.0
                    ),
                )
            }
            None => t(
                lang,
                "I can't find a steady tempo (too short, or no clear pulse).",
                "Je ne trouve pas de tempo stable (trop court, ou pas de pulsation nette).",
            ),
        });
    }
    if asks_key {
        lines.push(match &a.key {
            Some(k) => {
                let fr = format!(
                    "{} {}",
                    FR_NOTES[usize::from(k.tonic % 12)],
                    if k.mode == "major" { "majeur" } else { "mineur" }
                );
                t(
                    lang,
                    format!("The key is {} (confidence {:.0} %).", k.name, k.confidence * 100.0),
                    format!("La tonalité est {fr} ({}, confiance {:.0} %).", k.name, k.confidence * 100.0),
                )
            }
            None => t(
                lang,
                "I can't tell the key (too short, or no clear pitch).",
                "Je ne peux pas dire la tonalité (trop court, ou pas de hauteur nette).",
            ),
        });
    }
    if asks_loud || platform.is_some() {
        let p = platform.unwrap_or(&a.platform);
        match a.loudness.integrated_lufs {
            Some(l) => {
                let d = l - p.integrated_lufs;
                let verdict = if d > 1.0 {
                    t(
                        lang,
                        format!(
                            "{:.1} LU louder than {}'s {:.0} LUFS: it will be turned down by that much.",
                            d, p.name, p.integrated_lufs
                        ),
                        format!(
                            "{:.1} LU au-dessus des {:.0} LUFS de {} : la plateforme le baissera d'autant.",
                            d, p.integrated_lufs, p.name
                        ),
                    )
                } else if d < -2.0 {
                    t(lang, format!("{:.1} LU under {}'s {:.0} LUFS: it may be turned up, or sound quieter than other tracks.", -d, p.name, p.integrated_lufs), format!("{:.1} LU sous les {:.0} LUFS de {} : il sera peut-être remonté, ou paraîtra moins fort que les autres.", -d, p.integrated_lufs, p.name))
                } else {
                    t(
                        lang,
                        format!("right for {} ({:.0} LUFS).", p.name, p.integrated_lufs),
                        format!("c'est bon pour {} ({:.0} LUFS).", p.name, p.integrated_lufs),
                    )
                };
                lines.push(t(
                    lang,
                    format!("Integrated loudness {:.1} LUFS — {verdict}", l),
                    format!("Loudness intégrée {:.1} LUFS — {verdict}", l),
                ));
                if let Some(tp) = a.loudness.true_peak_dbtp {
                    if tp > p.true_peak_dbtp {
                        lines.push(t(
                            lang,
                            format!(
                                "True peak {:.1} dBTP is above {}'s {:.0} dBTP ceiling.",
                                tp, p.name, p.true_peak_dbtp
                            ),
                            format!(
                                "Le true peak de {:.1} dBTP dépasse le plafond de {:.0} dBTP de {}.",
                                tp, p.true_peak_dbtp, p.name
                            ),
                        ));
                    }
                }
            }
            None => lines.push(t(
                lang,
                "It is silent: no loudness to measure.",
                "C'est silencieux : pas de loudness à mesurer.",
            )),
        }
    }
    if asks_peak {
        let tp = a.loudness.true_peak_dbtp.map_or("—".into(), f1);
        let sp = a.loudness.sample_peak_dbfs.map_or("—".into(), f1);
        lines.push(t(
            lang,
            format!("True peak {tp} dBTP, sample peak {sp} dBFS."),
            format!("True peak {tp} dBTP, crête échantillon {sp} dBFS."),
        ));
        for f in a.findings.iter().filter(|f| {
            matches!(f.kind, FindingKind::Clipping | FindingKind::InterSampleOvers | FindingKind::TruePeakOverTarget)
        }) {
            lines.push(format!("• {}", if lang == Lang::En { &f.explanation_en } else { &f.explanation_fr }));
        }
    }
    if asks_dyn {
        let lra = a.loudness.loudness_range_lu.map_or("—".into(), f1);
        let plr = a.loudness.plr_lu.map_or("—".into(), f1);
        lines.push(t(
            lang,
            format!("Loudness range {lra} LU, peak-to-loudness ratio {plr} LU."),
            format!("Plage de loudness {lra} LU, rapport crête/loudness {plr} LU."),
        ));
    }
    if asks_wrong {
        if a.findings.is_empty() {
            lines.push(t(lang, "Nothing is wrong against the targets.", "Rien ne cloche par rapport aux cibles."));
        } else {
            let mut worst: Vec<&Finding> = a.findings.iter().collect();
            worst.sort_by_key(|f| std::cmp::Reverse(f.severity));
            for f in worst.into_iter().take(5) {
                lines.push(format!("• {}", if lang == Lang::En { &f.explanation_en } else { &f.explanation_fr }));
            }
            lines.push(t(
                lang,
                "Say \"analyse\" and I'll propose fixes.",
                "Dites « analyse » et je propose des corrections.",
            ));
        }
    }
    Some(lines.join("\n"))
}

// ---------------------------------------------------------------------------------------------
// Intents

fn change(p: ParamId, value: Option<f64>, delta: Option<f64>, reason: &str) -> WireChange {
    WireChange {
        param: p.spec().id.into(),
        value: value.map(WireValue::Number),
        delta,
        reason: reason.into(),
        evidence: None,
    }
}

fn switch_on(p: ParamId, reason: &str) -> WireChange {
    WireChange {
        param: p.spec().id.into(),
        value: Some(WireValue::Bool(true)),
        delta: None,
        reason: reason.into(),
        evidence: None,
    }
}

/// The deviation of a region from the genre target, if measured.
fn region_dev(a: Option<&TrackAnalysis>, region: Region) -> Option<f64> {
    a?.tonal_balance
        .regions
        .iter()
        .find(|r| r.region == region)
        .map(|r| r.deviation_db as f64)
        .filter(|d| d.is_finite())
}

fn intent(text: &str, ctx: &Context, lang: Lang) -> Option<WireReply> {
    let a = ctx.analysis;
    let vocal = has(text, &["voix", "vocal", "vocals", "voice", "chant", "chanteur", "chanteuse", "singer"]);
    if has(
        text,
        &[
            "analyse",
            "analyze",
            "analysis",
            "suggest",
            "suggestion",
            "suggestions",
            "propose",
            "fix it",
            "corrige",
            "ameliore",
            "improve",
            "qu'est-ce que tu proposes",
            "what do you suggest",
            "mixe",
            "mix it",
        ],
    ) {
        let Some(a) = a else {
            return Some(WireReply {
                message: t(
                    lang,
                    "Play the track (or analyse a file) first: I have no measurements yet.",
                    "Lancez la lecture (ou analysez un fichier) d'abord : je n'ai pas encore de mesures.",
                ),
                changes: Vec::new(),
            });
        };
        return Some(suggest(a, ctx.settings, lang));
    }
    if let Some(p) = targets::platforms().iter().find(|p| has(text, &[p.id.as_str(), normalise(&p.name).as_str()])) {
        if has(text, &["prepare", "prepa", "ready", "pret", "prete", "master", "masterise", "for", "pour"]) {
            return Some(prepare_for(p, ctx, lang));
        }
    }
    let brighter = has(
        text,
        &[
            "plus clair",
            "plus claire",
            "plus claires",
            "plus clairs",
            "clarte",
            "plus brillant",
            "plus brillante",
            "brighter",
            "clearer",
            "clarity",
            "more air",
            "plus d'air",
            "plus de brillance",
            "crisper",
            "plus net",
            "plus nette",
            "plus nettes",
        ],
    );
    let warmer =
        has(text, &["plus chaud", "plus chaude", "chaleur", "warmer", "warmth", "plus rond", "plus ronde", "rounder"]);
    let softer = has(
        text,
        &[
            "moins agressif",
            "moins agressive",
            "moins dur",
            "moins dure",
            "less harsh",
            "less aggressive",
            "softer",
            "adoucis",
            "adoucir",
            "smoother",
            "plus doux",
            "plus douce",
            "too harsh",
            "trop agressif",
            "trop dur",
        ],
    );
    let punch = has(text, &["punch", "punchy", "punchier", "percutant", "percutante", "plus d'impact", "more impact"]);
    let muddy = has(
        text,
        &[
            "moins de boue",
            "less muddy",
            "moins boueux",
            "moins confus",
            "too muddy",
            "trop boueux",
            "plus defini",
            "more defined",
        ],
    );
    let wider = has(text, &["plus large", "wider", "elargis", "elargir", "widen", "more stereo", "plus stereo"]);
    let narrower = has(text, &["moins large", "narrower", "plus etroit", "resserre", "more mono", "plus mono"]);
    if vocal && brighter {
        if let Some(source) = instrument_only(a) {
            return Some(no_vocal(source, lang));
        }
    }
    let mut changes = Vec::new();
    let mut lines = Vec::new();
    if brighter {
        let presence = region_dev(a, Region::Presence);
        let air = region_dev(a, Region::Air);
        let highmid = region_dev(a, Region::HighMid);
        let lowmid = region_dev(a, Region::LowMid);
        let measured = |d: Option<f64>| {
            d.map(|d| {
                t(
                    lang,
                    format!(" (measured {d:+.1} dB against the target)"),
                    format!(" (mesuré {d:+.1} dB par rapport à la cible)"),
                )
            })
            .unwrap_or_default()
        };
        if vocal {
            let boost = highmid.map_or(2.0, |d| (-d + 1.0).clamp(1.0, 3.0));
            let r = t(
                lang,
                format!("vocal presence around 3 kHz{}", measured(highmid)),
                format!("présence de la voix vers 3 kHz{}", measured(highmid)),
            );
            changes.push(change(ParamId::Bell2Freq, Some(3000.0), None, &r));
            changes.push(change(ParamId::Bell2Gain, None, Some(boost), &r));
            changes.push(switch_on(ParamId::Bell2On, &r));
            let r2 = t(
                lang,
                format!("less low-mid fog around 300 Hz{}", measured(lowmid)),
                format!("moins de brouillard vers 300 Hz{}", measured(lowmid)),
            );
            let cut = lowmid.map_or(-2.0, |d| (-d - 1.0).clamp(-3.0, -1.0));
            changes.push(change(ParamId::Bell1Freq, Some(300.0), None, &r2));
            changes.push(change(ParamId::Bell1Gain, None, Some(cut), &r2));
            let r3 = t(
                lang,
                "more presence brings out the S sounds: the de-esser keeps them in check",
                "plus de présence fait ressortir les « s » : le de-esser les contient",
            );
            changes.push(switch_on(ParamId::DeessOn, &r3));
            lines.push(t(lang, format!("Clearer vocals: +{boost:.1} dB at 3 kHz for presence, {cut:.1} dB at 300 Hz to clear the fog, and the de-esser on so the S sounds don't bite."), format!("Voix plus claires : +{boost:.1} dB à 3 kHz pour la présence, {cut:.1} dB à 300 Hz pour dégager le brouillard, et le de-esser activé pour que les « s » ne piquent pas.")));
        } else {
            let d = presence.into_iter().chain(air).fold(f64::NAN, f64::min);
            let boost = if d.is_finite() { (-d + 1.0).clamp(1.0, 3.0) } else { 2.0 };
            let r =
                t(lang, format!("more top end{}", measured(presence)), format!("plus d'aigus{}", measured(presence)));
            changes.push(change(ParamId::HighShelfFreq, Some(8000.0), None, &r));
            changes.push(change(ParamId::HighShelfGain, None, Some(boost), &r));
            changes.push(switch_on(ParamId::HighShelfOn, &r));
            lines.push(t(
                lang,
                format!("Brighter: +{boost:.1} dB high shelf from 8 kHz."),
                format!("Plus de brillance : +{boost:.1} dB en plateau aigu dès 8 kHz."),
            ));
        }
    }
    if warmer {
        let r = t(
            lang,
            "warmth lives around 150–250 Hz; a touch less top softens the edge",
            "la chaleur se joue vers 150–250 Hz ; un peu moins d'aigu adoucit l'ensemble",
        );
        changes.push(change(ParamId::LowShelfFreq, Some(200.0), None, &r));
        changes.push(change(ParamId::LowShelfGain, None, Some(2.0), &r));
        changes.push(change(ParamId::HighShelfGain, None, Some(-1.5), &r));
        lines.push(t(
            lang,
            "Warmer: +2 dB low shelf at 200 Hz, −1.5 dB high shelf.",
            "Plus chaud : +2 dB en plateau grave à 200 Hz, −1,5 dB en plateau aigu.",
        ));
    }
    if softer {
        let harsh = a.and_then(|a| a.findings.iter().find(|f| f.kind == FindingKind::Harshness));
        let cut = harsh.map_or(2.5, |f| f.value.clamp(1.5, 4.0));
        let r = harsh.map_or_else(
            || t(lang, "the 2–5 kHz range is where harshness lives", "la dureté se loge entre 2 et 5 kHz"),
            |f| {
                t(
                    lang,
                    format!("harshness measured {:+.1} dB at 2–5 kHz ({})", f.value, clock_span(f.start_s, f.end_s)),
                    format!(
                        "dureté mesurée à {:+.1} dB entre 2 et 5 kHz ({})",
                        f.value,
                        clock_span(f.start_s, f.end_s)
                    ),
                )
            },
        );
        changes.push(change(ParamId::Bell2Freq, Some(3500.0), None, &r));
        changes.push(change(ParamId::Bell2Gain, None, Some(-cut), &r));
        changes.push(switch_on(ParamId::Bell2On, &r));
        lines.push(t(
            lang,
            format!("Less harsh: −{cut:.1} dB around 3.5 kHz."),
            format!("Moins agressif : −{cut:.1} dB vers 3,5 kHz."),
        ));
        if a.is_some_and(|a| a.findings.iter().any(|f| f.kind == FindingKind::Sibilance)) {
            changes.push(switch_on(ParamId::DeessOn, &t(lang, "sibilance measured", "sibilantes mesurées")));
        }
    }
    if punch {
        let r = t(lang, "a 30 ms attack lets the transients through before the compressor clamps down, 4:1 and a quick release add snap", "une attaque de 30 ms laisse passer les transitoires avant que le compresseur n'agisse ; 4:1 et un relâchement rapide donnent du mordant");
        let thr = a.and_then(|a| a.loudness.integrated_lufs).map_or(-20.0, |l| (l - 4.0).clamp(-40.0, -6.0));
        changes.push(switch_on(ParamId::CompOn, &r));
        changes.push(change(ParamId::CompAttack, Some(30.0), None, &r));
        changes.push(change(ParamId::CompRelease, Some(120.0), None, &r));
        changes.push(change(ParamId::CompRatio, Some(4.0), None, &r));
        changes.push(change(ParamId::CompThreshold, Some(thr.round()), None, &r));
        changes.push(change(ParamId::CompMakeup, Some(2.0), None, &r));
        lines.push(t(lang, format!("More punch: compressor at 4:1, threshold {:.0} dB, 30 ms attack, 120 ms release, +2 dB makeup.", thr.round()), format!("Plus de punch : compresseur à 4:1, seuil {:.0} dB, attaque 30 ms, relâchement 120 ms, +2 dB de compensation.", thr.round())));
    }
    if muddy {
        let d = region_dev(a, Region::LowMid);
        let cut = d.map_or(2.5, |d| d.clamp(1.5, 4.0));
        let r = t(
            lang,
            format!(
                "200–500 Hz is where mud builds up{}",
                d.map(|d| format!(" (measured {d:+.1} dB)")).unwrap_or_default()
            ),
            format!(
                "la boue s'accumule entre 200 et 500 Hz{}",
                d.map(|d| format!(" (mesuré {d:+.1} dB)")).unwrap_or_default()
            ),
        );
        changes.push(change(ParamId::Bell1Freq, Some(300.0), None, &r));
        changes.push(change(ParamId::Bell1Gain, None, Some(-cut), &r));
        changes.push(switch_on(ParamId::Bell1On, &r));
        lines.push(t(
            lang,
            format!("Less mud: −{cut:.1} dB at 300 Hz."),
            format!("Moins de boue : −{cut:.1} dB à 300 Hz."),
        ));
    }
    if wider || narrower {
        let mono_risk = a.is_some_and(|a| {
            a.findings.iter().any(|f| matches!(f.kind, FindingKind::MonoCompatibility | FindingKind::PhaseProblem))
        });
        if wider && mono_risk {
            lines.push(t(
                lang,
                "I'd rather not widen: the track already loses level in mono.",
                "Je préfère ne pas élargir : le morceau perd déjà du niveau en mono.",
            ));
        } else {
            let step = if wider { 20.0 } else { -20.0 };
            let r = t(lang, "stereo width (mid/side)", "largeur stéréo (mid/side)");
            changes.push(WireChange {
                param: "width".into(),
                value: None,
                delta: Some(step),
                reason: r,
                evidence: None,
            });
            lines.push(t(lang, format!("Width {step:+.0} %."), format!("Largeur {step:+.0} %.")));
        }
    }
    if lines.is_empty() {
        return None;
    }
    Some(WireReply { message: lines.join("\n"), changes })
}

/// What the track reads as when the source classifier hears no voice in it: its likeliest kind
/// is an instrument (drums, bass, guitar, keys) and the voice scores under half as much. A full
/// mix may carry a voice the classifier cannot single out, and a voice is a voice: `None`.
fn instrument_only(a: Option<&TrackAnalysis>) -> Option<&Source> {
    let s = a?.source.as_ref()?;
    let instrument = matches!(s.kind, SourceKind::Drums | SourceKind::Bass | SourceKind::Guitar | SourceKind::Keys);
    (instrument && s.scores.vocal < 0.5 * s.scores.get(s.kind)).then_some(s)
}

/// The answer to "clearer vocals" on a track without one: no EQ move aimed at a voice that is
/// not there, the reading that says so, and what to ask instead.
fn no_vocal(source: &Source, lang: Lang) -> WireReply {
    let confidence = text::number(f64::from(source.confidence) * 100.0, 0, lang);
    let (en, fr) = match source.kind {
        SourceKind::Drums => ("drums", "de la batterie"),
        SourceKind::Bass => ("a bass", "une basse"),
        SourceKind::Guitar => ("a guitar", "une guitare"),
        _ => ("keys", "des claviers"),
    };
    let kind = source.kind.name(lang);
    WireReply {
        message: t(
            lang,
            format!("I hear no vocal in this track, only {en} (the source reads as {kind}, confidence {confidence} %): I leave the EQ as it is. To open up the whole track, ask for \"brighter\"."),
            format!("Je n'entends pas de voix dans ce morceau, seulement {fr} (la source se lit comme « {kind} », confiance {confidence} %) : je ne touche pas à l'égaliseur. Pour éclaircir tout le morceau, demandez « plus clair »."),
        ),
        changes: Vec::new(),
    }
}

fn prepare_for(p: &targets::Platform, ctx: &Context, lang: Lang) -> WireReply {
    let Some(a) = ctx.analysis else {
        return WireReply {
            message: t(
                lang,
                "Play the track (or analyse a file) first: I need its loudness.",
                "Lancez la lecture (ou analysez un fichier) d'abord : il me faut sa loudness.",
            ),
            changes: Vec::new(),
        };
    };
    let (Some(l), Some(tp)) = (a.loudness.integrated_lufs, a.loudness.true_peak_dbtp) else {
        return WireReply {
            message: t(lang, "It is silent: nothing to prepare.", "C'est silencieux : rien à préparer."),
            changes: Vec::new(),
        };
    };
    let ceiling = p.true_peak_dbtp - 0.3;
    let want = p.integrated_lufs - l;
    let gain = want.min(ceiling - tp);
    let mut lines = vec![t(
        lang,
        format!(
            "For {}: {:.0} LUFS integrated, true peak at most {:.0} dBTP. Now: {:.1} LUFS, {:.1} dBTP.",
            p.name, p.integrated_lufs, p.true_peak_dbtp, l, tp
        ),
        format!(
            "Pour {} : {:.0} LUFS intégrés, true peak au plus {:.0} dBTP. Actuellement : {:.1} LUFS, {:.1} dBTP.",
            p.name, p.integrated_lufs, p.true_peak_dbtp, l, tp
        ),
    )];
    let mut changes = Vec::new();
    if gain.abs() >= 0.3 {
        let r = t(
            lang,
            format!(
                "{:.1} LUFS → {:.0} LUFS for {}, true peak kept ≤ {:.1} dBTP",
                l, p.integrated_lufs, p.name, ceiling
            ),
            format!(
                "{:.1} LUFS → {:.0} LUFS pour {}, true peak gardé ≤ {:.1} dBTP",
                l, p.integrated_lufs, p.name, ceiling
            ),
        );
        changes.push(WireChange {
            param: "out_gain".into(),
            value: None,
            delta: Some((gain * 10.0).round() / 10.0),
            reason: r,
            evidence: Some(Evidence {
                finding: Some("integrated_loudness".into()),
                from_s: None,
                to_s: None,
                value: Some(l),
                unit: Some("LUFS".into()),
            }),
        });
        lines.push(t(lang, format!("Output {gain:+.1} dB."), format!("Sortie {gain:+.1} dB.")));
    }
    if want > gain + 0.5 {
        lines.push(t(lang, format!("The peaks stop me {:.1} dB short: reaching {:.0} LUFS needs a limiter after this plugin (or more compression).", want - gain, p.integrated_lufs), format!("Les crêtes m'arrêtent à {:.1} dB de la cible : atteindre {:.0} LUFS demande un limiteur après ce plugin (ou plus de compression).", want - gain, p.integrated_lufs)));
    }
    if changes.is_empty() && want <= gain + 0.5 {
        lines.push(t(lang, "It's ready as it is.", "C'est prêt tel quel."));
    }
    WireReply { message: lines.join("\n"), changes }
}
