//! The how-to knowledge base: short, practical answers in French and English to the questions
//! musicians ask while mixing ("comment faire un sidechain ?", "how do I tame harsh vocals"),
//! each with the settings the plugin can make for it, offered, never applied unasked.
//!
//! The topics are data, in `assets/knowledge/*.md` (one Markdown file per theme, the format is
//! described in `assets/knowledge/README.md`), compiled in and read once by [`topics`].
//! [`lookup`] finds the topic a question is about:
//!
//! * the question is [`normalise`]d (lower case, accents folded) and cut into words; a final
//!   plural "s" is dropped ("vocals" = "vocal"), but not a double one ("bass");
//! * each topic's keywords are matched as whole words: a phrase ("low end") must appear as
//!   written, a word ending in `*` is a stem ("compress*": compression, compressor,
//!   compresseur), parts joined by `+` must all appear, anywhere ("kick + bass");
//! * a keyword weighs 1 per part plus [`EXTRA_WORD_WEIGHT`] per further word of a phrase, and
//!   a word of the question counts for one keyword of a topic only. A topic scores the weight
//!   of its heaviest matching keyword plus [`FURTHER_STRONG_FACTOR`] of the others'. Keywords written in
//!   parentheses are weak ("(eq)"): [`WEAK_WEIGHT`], and only next to a strong one, so "how do
//!   I EQ the mud" is about mud, not about EQ in general;
//! * a question mark, a question word ("how", "comment", "pourquoi", "tips") or words that
//!   describe a problem ("there's a hum", "il y a", "trop", "sounds") add [`CUE_BONUS`]; so
//!   does a message of at most [`SHORT_MESSAGE_WORDS`] words ("de-essing");
//! * the best score wins if it reaches [`MIN_SCORE`]: one strong keyword in a question, or two
//!   in a statement. "What's the BPM?" and "hello" find nothing.
//!
//! The engine asks the knowledge base last: a short command that names a topic ("more punch",
//! "pan left 30%") or a question about the track's own numbers ("is it too loud for
//! Spotify?") matches a topic here too, and is better served by the command parser or the
//! analysis first.

use super::actions::{WireChange, WireReply, WireValue};
use super::names::normalise;
use audiocollab_core::lang::{self, Lang};
use std::sync::OnceLock;

/// The topic files, compiled in. A test checks that every `.md` file of the folder but the
/// README is listed here.
const SOURCES: &[(&str, &str)] = &[
    ("eq.md", include_str!("../../../assets/knowledge/eq.md")),
    ("dynamics.md", include_str!("../../../assets/knowledge/dynamics.md")),
    ("loudness.md", include_str!("../../../assets/knowledge/loudness.md")),
    ("stereo.md", include_str!("../../../assets/knowledge/stereo.md")),
    ("workflow.md", include_str!("../../../assets/knowledge/workflow.md")),
];

/// Lowest score a topic needs to answer a message (see the module documentation).
pub const MIN_SCORE: f32 = 1.5;
/// What a further word of a phrase keyword adds: "low end" (1.25) is a little more specific
/// than "bass" (1) alone.
pub const EXTRA_WORD_WEIGHT: f32 = 0.25;
/// Share of its weight each strong keyword but the heaviest adds: the most specific keyword
/// names the topic, the others confirm it, so a general topic that shares several common words
/// ("ratio", "compress*") with a question does not outscore the topic the question names
/// ("parallel compression").
pub const FURTHER_STRONG_FACTOR: f32 = 0.5;
/// What a weak keyword ("(eq)") adds to a topic one of whose strong keywords matched.
pub const WEAK_WEIGHT: f32 = 0.5;
/// What a question mark, a question or problem word, or a very short message adds.
pub const CUE_BONUS: f32 = 0.5;
/// Messages this short are taken as a request about what they name ("sidechain", "LUFS ?").
pub const SHORT_MESSAGE_WORDS: usize = 3;
/// Only the start of a message is read: a how-to question is a sentence or two, and a pasted
/// page must not cost more than one.
const MAX_MESSAGE_CHARS: usize = 1000;

/// Words that make a message a question or a request for advice, normalised.
#[rustfmt::skip]
const QUESTION_WORDS: &[&str] = &[
    "how", "what", "whats", "combien", "why", "when", "which", "should", "is", "are", "do", "does", "can", "mean",
    "settings", "explain", "tip", "tips", "help", "advice", "way", "best", "comment", "pourquoi", "quoi", "quel",
    "quelle", "quels", "quelles", "quand", "faut", "dois", "est", "sont", "reglage", "reglages", "meilleur",
    "meilleurs", "veut", "signifie", "explique", "conseil", "conseils", "astuce", "astuces", "aide", "methode",
    "difference", "vs", "versus",
];

/// Words that describe a problem, which is asking for help too: "there's a hum", "il y a du
/// souffle", "my snare sounds boxy", "trop de bas-médium". Normalised.
#[rustfmt::skip]
const PROBLEM_WORDS: &[&str] = &[
    "there", "too", "problem", "issue", "fix", "sound", "sounds", "y", "trop", "probleme", "souci", "sonne",
    "sonnent", "corriger", "lack", "lacks", "lacking", "missing", "manque",
];

/// A change a topic offers to make, with its reason in both languages.
#[derive(Clone, Debug, PartialEq)]
pub struct Offer {
    /// Parameter id (`ds_on`) or friendly name.
    pub param: String,
    /// New value in the parameter's plain unit (a number, or text with a unit: "6.5 kHz").
    pub value: Option<WireValue>,
    /// Relative change in the parameter's plain unit.
    pub delta: Option<f64>,
    /// Why, in English.
    pub reason_en: String,
    /// Why, in French.
    pub reason_fr: String,
}

/// One how-to topic.
#[derive(Clone, Debug)]
pub struct Topic {
    /// Stable id (`sidechain`, `deessing`), lower case.
    pub id: String,
    /// Title in English.
    pub title_en: String,
    /// Title in French.
    pub title_fr: String,
    /// Answer in English: 60–150 words, paragraphs separated by a blank line.
    pub answer_en: String,
    /// Answer in French.
    pub answer_fr: String,
    /// English keywords as written in the data file.
    pub keywords_en: Vec<String>,
    /// French keywords as written in the data file.
    pub keywords_fr: Vec<String>,
    /// What the plugin can set for it (empty when the plugin cannot help: reverb, saturation…).
    pub offers: Vec<Offer>,
    /// Both lists compiled, strong before weak, heaviest first.
    matchers: Vec<Keyword>,
}

impl Topic {
    /// The title in `lang`.
    pub fn title(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.title_en,
            Lang::Fr => &self.title_fr,
        }
    }

    /// The answer in `lang`.
    pub fn answer(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.answer_en,
            Lang::Fr => &self.answer_fr,
        }
    }

    /// The offered changes as the assistant's wire type, reasons in `lang`, to be validated
    /// against the current settings like any other proposal.
    pub fn changes(&self, lang: Lang) -> Vec<WireChange> {
        self.offers
            .iter()
            .map(|o| WireChange {
                param: o.param.clone(),
                value: o.value.clone(),
                delta: o.delta,
                reason: match lang {
                    Lang::En => o.reason_en.clone(),
                    Lang::Fr => o.reason_fr.clone(),
                },
                evidence: None,
            })
            .collect()
    }

    /// The answer and the offered changes as one reply.
    pub fn reply(&self, lang: Lang) -> WireReply {
        WireReply { message: self.answer(lang).to_string(), changes: self.changes(lang) }
    }
}

/// The topic a question is about.
#[derive(Clone, Copy, Debug)]
pub struct Match {
    /// The topic.
    pub topic: &'static Topic,
    /// The language the question is in (English when it gives no clue).
    pub lang: Lang,
    /// How well it matched, ≥ [`MIN_SCORE`].
    pub score: f32,
}

/// A mistake in a topic file, with where it is.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{file}, line {line}: {message}")]
pub struct KnowledgeError {
    /// File name.
    pub file: String,
    /// Line number, from 1.
    pub line: usize,
    /// What is wrong, and how to write it.
    pub message: String,
}

/// Every topic, in file order. Parsed once; the files are compiled in and a test parses them,
/// so a mistake in them is caught before release (should one slip through, the knowledge base
/// is empty rather than the plugin crashing).
pub fn topics() -> &'static [Topic] {
    static TOPICS: OnceLock<Vec<Topic>> = OnceLock::new();
    TOPICS.get_or_init(|| load().unwrap_or_default())
}

/// Parses every compiled-in file and checks that ids are unique.
fn load() -> Result<Vec<Topic>, KnowledgeError> {
    let mut all: Vec<Topic> = Vec::new();
    for (file, text) in SOURCES {
        for topic in parse(file, text)? {
            if all.iter().any(|t| t.id == topic.id) {
                return Err(KnowledgeError {
                    file: file.to_string(),
                    line: 0,
                    message: format!("topic id `{}` is used twice", topic.id),
                });
            }
            all.push(topic);
        }
    }
    Ok(all)
}

/// The topic with this id.
pub fn get(id: &str) -> Option<&'static Topic> {
    topics().iter().find(|t| t.id == id)
}

/// The how-to topic `question` asks about, if any scores at least [`MIN_SCORE`]; on a tie, the
/// topic that comes first in the files.
pub fn lookup(question: &str) -> Option<Match> {
    let question: String = question.chars().take(MAX_MESSAGE_CHARS).collect();
    let words = words(&question);
    if words.is_empty() {
        return None;
    }
    let cue = question.contains('?')
        || words.len() <= SHORT_MESSAGE_WORDS
        || words.iter().any(|w| QUESTION_WORDS.contains(&w.raw.as_str()) || PROBLEM_WORDS.contains(&w.raw.as_str()));
    let mut best: Option<(&'static Topic, f32)> = None;
    for topic in topics() {
        let score = score(topic, &words, cue);
        if score >= MIN_SCORE && best.is_none_or(|(_, b)| score > b) {
            best = Some((topic, score));
        }
    }
    best.map(|(topic, score)| Match { topic, lang: lang::detect(&question), score })
}

/// `topic`'s score for a message cut into `words` (see the module documentation).
fn score(topic: &Topic, words: &[Token], cue: bool) -> f32 {
    let mut taken = vec![false; words.len()];
    let (mut best, mut others, mut weak) = (0.0f32, 0.0, 0.0);
    for keyword in &topic.matchers {
        if keyword.matches(words, &mut taken) {
            if keyword.weak {
                weak += WEAK_WEIGHT;
            } else {
                let w = keyword.weight();
                others += best.min(w);
                best = best.max(w);
            }
        }
    }
    if best == 0.0 {
        return 0.0;
    }
    best + FURTHER_STRONG_FACTOR * others + weak + if cue { CUE_BONUS } else { 0.0 }
}

/// A word of a message: as written (normalised) and with a final plural "s" dropped.
#[derive(Clone, Debug)]
struct Token {
    raw: String,
    folded: String,
}

/// Drops one final "s" from words longer than three letters, unless doubled: "vocals" →
/// "vocal", "graves" → "grave", but "bass" and "mix" stay.
fn fold(word: &str) -> String {
    if word.len() > 3 && word.ends_with('s') && !word.ends_with("ss") {
        word[..word.len() - 1].to_string()
    } else {
        word.to_string()
    }
}

/// The words of a message, normalised; anything not a letter or digit separates them
/// ("de-esser" is "de esser", "c'est" is "c est").
fn words(text: &str) -> Vec<Token> {
    normalise(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| Token { raw: w.to_string(), folded: fold(w) })
        .collect()
}

/// One word of a keyword.
#[derive(Clone, Debug, PartialEq)]
enum Pattern {
    /// The word, plural folded.
    Word(String),
    /// A stem: any word starting with it.
    Stem(String),
}

impl Pattern {
    fn matches(&self, token: &Token) -> bool {
        match self {
            Pattern::Word(w) => token.folded == *w,
            Pattern::Stem(s) => token.raw.starts_with(s.as_str()),
        }
    }
}

/// A compiled keyword: phrases that must all appear.
#[derive(Clone, Debug, PartialEq)]
struct Keyword {
    parts: Vec<Vec<Pattern>>,
    weak: bool,
}

impl Keyword {
    /// Compiles one keyword as written in a topic file ("kick + bass", "compress*", "(eq)").
    fn parse(text: &str) -> Result<Keyword, String> {
        let trimmed = text.trim();
        let (body, weak) = match trimmed.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
            Some(inner) => (inner, true),
            None => (trimmed, false),
        };
        let mut parts = Vec::new();
        for part in body.split('+') {
            let mut phrase = Vec::new();
            for piece in normalise(part).split(|c: char| !(c.is_alphanumeric() || c == '*')).filter(|p| !p.is_empty()) {
                match piece.strip_suffix('*') {
                    Some(stem) if !stem.is_empty() && !stem.contains('*') => phrase.push(Pattern::Stem(stem.into())),
                    None if !piece.contains('*') => phrase.push(Pattern::Word(fold(piece))),
                    _ => return Err(format!("`{piece}`: a `*` goes at the end of a word, once")),
                }
            }
            if phrase.is_empty() {
                return Err(format!("`{trimmed}` has an empty part: write words around each `+`"));
            }
            parts.push(phrase);
        }
        Ok(Keyword { parts, weak })
    }

    /// Strong weight: 1 per part, plus [`EXTRA_WORD_WEIGHT`] per further word of a phrase.
    fn weight(&self) -> f32 {
        self.parts.iter().map(|p| 1.0 + EXTRA_WORD_WEIGHT * (p.len() - 1) as f32).sum()
    }

    /// Whether every part appears among the words not yet `taken`; if so, takes them.
    fn matches(&self, words: &[Token], taken: &mut [bool]) -> bool {
        let mut mine = taken.to_vec();
        for part in &self.parts {
            let n = part.len();
            let found = (0..(words.len() + 1).saturating_sub(n))
                .find(|&i| (0..n).all(|j| !mine[i + j] && part[j].matches(&words[i + j])));
            match found {
                Some(i) => mine[i..i + n].iter_mut().for_each(|t| *t = true),
                None => return false,
            }
        }
        taken.copy_from_slice(&mine);
        true
    }
}

/// Which part of a topic the parser is reading.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Section {
    Fields,
    Answer(Lang),
}

/// A topic being read.
struct Draft {
    line: usize,
    section: Section,
    topic: Topic,
    /// Answer lines per language, blank lines kept (they separate paragraphs).
    lines_en: Vec<String>,
    lines_fr: Vec<String>,
}

/// Reads the topics of one file (see `assets/knowledge/README.md` for the format). `file`
/// names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Vec<Topic>, KnowledgeError> {
    let mut topics = Vec::new();
    let mut draft: Option<Draft> = None;
    for (i, line) in text.lines().enumerate() {
        let err = |message: String| KnowledgeError { file: file.to_string(), line: i + 1, message };
        let trimmed = line.trim();
        if let Some(id) = trimmed.strip_prefix("## ") {
            if let Some(done) = draft.take() {
                topics.push(finish(file, done)?);
            }
            let id = id.trim();
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
                return Err(err(format!("topic id `{id}`: use lower-case letters, digits and `_` only")));
            }
            draft = Some(Draft {
                line: i + 1,
                section: Section::Fields,
                topic: Topic {
                    id: id.to_string(),
                    title_en: String::new(),
                    title_fr: String::new(),
                    answer_en: String::new(),
                    answer_fr: String::new(),
                    keywords_en: Vec::new(),
                    keywords_fr: Vec::new(),
                    offers: Vec::new(),
                    matchers: Vec::new(),
                },
                lines_en: Vec::new(),
                lines_fr: Vec::new(),
            });
            continue;
        }
        // Anything before the first topic is the file's own introduction.
        let Some(d) = draft.as_mut() else { continue };
        if let Some(heading) = trimmed.strip_prefix("### ") {
            d.section = match normalise(heading).as_str() {
                "en" | "english" => Section::Answer(Lang::En),
                "fr" | "francais" => Section::Answer(Lang::Fr),
                other => return Err(err(format!("`### {other}`: the answers go under `### en` and `### fr`"))),
            };
            continue;
        }
        match d.section {
            Section::Answer(Lang::En) => d.lines_en.push(trimmed.to_string()),
            Section::Answer(Lang::Fr) => d.lines_fr.push(trimmed.to_string()),
            Section::Fields if trimmed.is_empty() => {}
            Section::Fields => {
                let field = trimmed
                    .strip_prefix("- ")
                    .and_then(|f| f.split_once(':'))
                    .ok_or_else(|| err(format!("`{trimmed}`: expected `- name: value` or `### en`")))?;
                read_field(&mut d.topic, field.0.trim(), field.1.trim()).map_err(err)?;
            }
        }
    }
    if let Some(done) = draft.take() {
        topics.push(finish(file, done)?);
    }
    Ok(topics)
}

/// Stores one `- name: value` line of a topic.
fn read_field(topic: &mut Topic, name: &str, value: &str) -> Result<(), String> {
    let keywords = |value: &str| -> Result<Vec<String>, String> {
        let list: Vec<String> = value.split(',').map(str::trim).filter(|k| !k.is_empty()).map(String::from).collect();
        for k in &list {
            Keyword::parse(k)?;
        }
        Ok(list)
    };
    match name {
        "title_en" => topic.title_en = value.to_string(),
        "title_fr" => topic.title_fr = value.to_string(),
        "keywords_en" => topic.keywords_en.extend(keywords(value)?),
        "keywords_fr" => topic.keywords_fr.extend(keywords(value)?),
        "offer" => topic.offers.push(read_offer(value)?),
        other => {
            return Err(format!(
                "unknown field `{other}`: the fields are title_en, title_fr, keywords_en, keywords_fr and offer"
            ))
        }
    }
    Ok(())
}

/// Reads `param = value | reason | raison`, `param += 2 | …` or `param -= 3 | …`.
fn read_offer(text: &str) -> Result<Offer, String> {
    let form = "write `param = value | reason in English | raison en français` (or `+=` / `-=` a number)";
    let pieces: Vec<&str> = text.split('|').map(str::trim).collect();
    let [setting, reason_en, reason_fr] = pieces[..] else {
        return Err(format!("offer `{text}`: {form}"));
    };
    let (left, right) = setting.split_once('=').ok_or_else(|| format!("offer `{setting}`: {form}"))?;
    let number = |s: &str| s.trim().parse::<f64>().ok().filter(|v| v.is_finite());
    let (param, value, delta) = if let Some(p) = left.strip_suffix('+') {
        (p, None, Some(number(right).ok_or_else(|| format!("offer `{setting}`: `+=` takes a number"))?))
    } else if let Some(p) = left.strip_suffix('-') {
        (p, None, Some(-number(right).ok_or_else(|| format!("offer `{setting}`: `-=` takes a number"))?))
    } else {
        let value = match number(right) {
            Some(v) => WireValue::Number(v),
            None => WireValue::Text(right.trim().to_string()),
        };
        (left, Some(value), None)
    };
    let param = param.trim();
    if param.is_empty() || reason_en.is_empty() || reason_fr.is_empty() {
        return Err(format!("offer `{text}`: {form}"));
    }
    Ok(Offer { param: param.into(), value, delta, reason_en: reason_en.into(), reason_fr: reason_fr.into() })
}

/// Checks a topic read to its end and compiles its keywords.
fn finish(file: &str, mut d: Draft) -> Result<Topic, KnowledgeError> {
    let err = |message: String| KnowledgeError { file: file.to_string(), line: d.line, message };
    let t = &mut d.topic;
    t.answer_en = paragraphs(&d.lines_en);
    t.answer_fr = paragraphs(&d.lines_fr);
    let missing = [
        ("title_en", t.title_en.is_empty()),
        ("title_fr", t.title_fr.is_empty()),
        ("keywords_en", t.keywords_en.is_empty()),
        ("keywords_fr", t.keywords_fr.is_empty()),
        ("### en answer", t.answer_en.is_empty()),
        ("### fr answer", t.answer_fr.is_empty()),
    ];
    if let Some((name, _)) = missing.iter().find(|(_, m)| *m) {
        return Err(err(format!("topic `{}` has no {name}", t.id)));
    }
    let mut matchers = Vec::new();
    for k in t.keywords_en.iter().chain(&t.keywords_fr) {
        matchers.push(Keyword::parse(k).map_err(&err)?);
    }
    // Heaviest first, so a phrase takes its words before a single word of it can.
    matchers.sort_by(|a, b| a.weak.cmp(&b.weak).then(b.weight().total_cmp(&a.weight())));
    matchers.dedup();
    t.matchers = matchers;
    Ok(d.topic)
}

/// Joins answer lines into paragraphs: lines of a paragraph with a space, paragraphs with a
/// blank line.
fn paragraphs(lines: &[String]) -> String {
    lines.split(|l| l.is_empty()).filter(|p| !p.is_empty()).map(|p| p.join(" ")).collect::<Vec<_>>().join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# Sample\n\nIntroduction, ignored.\n\n## low_end\n\n\
        - title_en: Kick and bass\n- title_fr: Kick et basse\n\
        - keywords_en: kick + bass, low end, (eq)\n- keywords_fr: grosse caisse + basse, bas du spectre\n\
        - offer: hp_freq = 30 Hz | Rumble | Grondement\n- offer: ls_gain -= 2 | Less boom | Moins de boum\n\n\
        ### en\n\nFirst line\nsame paragraph.\n\nSecond paragraph.\n\n### fr\n\nPremière ligne.\n";

    fn tokens(text: &str) -> Vec<Token> {
        words(text)
    }

    #[test]
    fn a_topic_file_is_read_with_paragraphs_offers_and_keywords() {
        let topics = parse("sample.md", SAMPLE).unwrap();
        assert_eq!(topics.len(), 1);
        let t = &topics[0];
        assert_eq!(t.id, "low_end");
        assert_eq!(t.answer_en, "First line same paragraph.\n\nSecond paragraph.");
        assert_eq!(t.answer_fr, "Première ligne.");
        assert_eq!(t.keywords_en, vec!["kick + bass", "low end", "(eq)"]);
        assert_eq!(t.offers[0].value, Some(WireValue::Text("30 Hz".into())));
        assert_eq!((t.offers[1].value.clone(), t.offers[1].delta), (None, Some(-2.0)));
        let fr = t.changes(Lang::Fr);
        assert_eq!((fr[1].param.as_str(), fr[1].reason.as_str()), ("ls_gain", "Moins de boum"));
        // Strong keywords first, heaviest first: "kick + bass" (2), "grosse caisse + basse"
        // (2.25), "low end" (1.25), "bas du spectre" (1.5), then "(eq)".
        let weights: Vec<(f32, bool)> = t.matchers.iter().map(|k| (k.weight(), k.weak)).collect();
        assert_eq!(weights, vec![(2.25, false), (2.0, false), (1.5, false), (1.25, false), (1.0, true)]);
    }

    #[test]
    fn mistakes_are_reported_with_their_line() {
        let cases = [
            ("## Bad Id\n", 1, "lower-case"),
            ("## a\n- title_en x\n", 2, "expected `- name: value`"),
            ("## a\n- colour: red\n", 2, "unknown field `colour`"),
            ("## a\n- offer: b1_gain = 3\n", 2, "reason in English"),
            ("## a\n- offer: b1_gain += loud | r | r\n", 2, "`+=` takes a number"),
            ("## a\n- keywords_en: com*press\n", 2, "at the end of a word"),
            ("## a\n- keywords_en: mix, *\n", 2, "at the end of a word"),
            ("## a\n- keywords_en: kick + \n", 2, "empty part"),
            ("## a\n### de\n", 2, "`### en` and `### fr`"),
            ("x\n## a\n- title_en: A\n", 2, "no title_fr"),
        ];
        for (text, line, message) in cases {
            let e = parse("t.md", text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.message.contains(message), "{text:?}: {e}");
        }
    }

    #[test]
    fn keywords_match_whole_words_stems_and_parts_anywhere() {
        let k = |s: &str| Keyword::parse(s).unwrap();
        let hit = |kw: &str, text: &str| k(kw).matches(&tokens(text), &mut vec![false; tokens(text).len()]);
        assert!(hit("compress*", "Compresseur ou compression ?"));
        assert!(hit("vocal", "my VOCALS"), "plural folded");
        assert!(hit("de-esser", "le dé-esseur ? non, le de esser"));
        assert!(hit("kick + bass", "the bass fights the kick"));
        assert!(!hit("kick + bass", "the kick drum"));
        assert!(!hit("bass", "contrebasse"), "whole words only");
        assert!(!hit("bass", "bas"), "a double s is not a plural");
        assert!(!hit("low end", "end low"), "a phrase keeps its order");
        // A word counts once: "bass" taken by the phrase is not there for a second keyword.
        let words = tokens("bass guitar");
        let mut taken = vec![false; words.len()];
        assert!(k("bass guitar").matches(&words, &mut taken));
        assert!(!k("bass").matches(&words, &mut taken));
    }

    #[test]
    fn long_or_odd_messages_are_safe() {
        let page = "how do I use a de-esser? ".repeat(10_000);
        assert_eq!(lookup(&page).map(|m| m.topic.id.as_str()), Some("deessing"));
        for odd in ["", " ", "?!?", "\u{0}\u{feff}", "*", "+ + +", "ééé", "日本語の質問"] {
            assert!(lookup(odd).is_none(), "{odd:?}");
        }
    }

    #[test]
    fn weak_keywords_only_add_to_a_strong_one() {
        let topic = &parse("s.md", SAMPLE).unwrap()[0];
        assert_eq!(score(topic, &tokens("how do I use an eq"), true), 0.0);
        let s = score(topic, &tokens("how do I eq the low end"), true);
        assert!((s - (1.25 + WEAK_WEIGHT + CUE_BONUS)).abs() < 1e-6, "{s}");
    }

    #[test]
    fn the_heaviest_keyword_counts_in_full_and_the_others_in_part() {
        let topic = &parse("s.md", SAMPLE).unwrap()[0];
        // "kick + bass" (2) names the topic, "low end" (1.25) confirms it.
        let s = score(topic, &tokens("low end: kick and bass"), false);
        assert!((s - (2.0 + FURTHER_STRONG_FACTOR * 1.25)).abs() < 1e-6, "{s}");
    }

    #[test]
    fn the_compiled_in_topics_parse() {
        let topics = load().unwrap_or_else(|e| panic!("{e}"));
        assert!(topics.len() >= 30, "{} topics", topics.len());
        assert_eq!(topics.len(), super::topics().len());
    }

    #[test]
    fn every_topic_file_of_the_folder_is_compiled_in() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/knowledge");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".md") && n != "README.md")
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = SOURCES.iter().map(|(n, _)| n.to_string()).collect();
        listed.sort();
        assert_eq!(on_disk, listed, "add new files to SOURCES in knowledge.rs");
    }
}
