//! Which language a message is written in: French or English, from its words.
//!
//! Musicians mix the two ("comment je fais un sidechain sur le kick ?"), so the guess counts
//! function words, which a sentence cannot avoid and which do not travel between the
//! languages ("le", "comment", "pourquoi" against "the", "how", "should"), not the jargon both
//! share ("mix", "kick", "reverb"). Accented letters count for French.

/// A language the assistant speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    /// French.
    Fr,
    /// English (the default when a message gives no clue).
    #[default]
    En,
}

impl Lang {
    /// A colon before what follows, spaced as the language writes it (French puts a space
    /// before it).
    pub fn colon(self) -> &'static str {
        match self {
            Lang::En => ": ",
            Lang::Fr => " : ",
        }
    }
}

/// French function words, normalised (see [`normalise`]). Words English uses too ("on", "a",
/// "son", "plus") are left out.
const FRENCH: &[&str] = &[
    "le",
    "la",
    "les",
    "un",
    "une",
    "des",
    "du",
    "de",
    "au",
    "aux",
    "est",
    "sont",
    "c",
    "j",
    "l",
    "d",
    "qu",
    "n",
    "je",
    "tu",
    "il",
    "elle",
    "nous",
    "vous",
    "ils",
    "mon",
    "ma",
    "mes",
    "ton",
    "ta",
    "tes",
    "votre",
    "vos",
    "notre",
    "ce",
    "cet",
    "cette",
    "ces",
    "ca",
    "et",
    "ou",
    "mais",
    "pour",
    "avec",
    "sans",
    "sur",
    "dans",
    "par",
    "pas",
    "trop",
    "moins",
    "tres",
    "comment",
    "pourquoi",
    "quoi",
    "quel",
    "quelle",
    "quels",
    "quelles",
    "quand",
    "que",
    "qui",
    "faut",
    "faire",
    "fait",
    "fais",
    "mettre",
    "mets",
    "dois",
    "doit",
    "peux",
    "peut",
    "veux",
    "bien",
    "mieux",
    "voix",
    "aigus",
    "graves",
    "niveau",
    "morceau",
    "titre",
    "chanson",
    "avoir",
    "suis",
    "bonjour",
    "merci",
    "salut",
    "oui",
    "non",
    "en",
    "fort",
    "monte",
    "baisse",
    "coupe",
    "compresse",
];

/// English function words, normalised.
const ENGLISH: &[&str] = &[
    "the", "an", "is", "are", "was", "how", "what", "why", "when", "which", "who", "do", "does", "did", "i", "my",
    "me", "you", "your", "to", "of", "and", "or", "with", "without", "for", "should", "can", "could", "would", "it",
    "its", "in", "this", "that", "these", "those", "too", "much", "many", "more", "less", "get", "make", "way", "best",
    "there", "not", "don", "be", "about", "from", "have", "has", "sound", "sounds", "song", "track", "hello", "thanks",
    "thank", "yes", "no", "please", "hi",
];

/// Letters that only French writing uses among the two languages.
const FRENCH_LETTERS: &[char] = &['é', 'è', 'ê', 'à', 'ù', 'ç', 'â', 'î', 'ô', 'û', 'ë', 'ï', 'œ'];

/// The language `text` is most likely written in, or `None` when nothing tells them apart
/// ("sidechain ?", "LUFS").
pub fn guess(text: &str) -> Option<Lang> {
    let normal = normalise(text);
    let words = normal.split(|c: char| !c.is_alphanumeric());
    let (mut fr, mut en) = (0usize, 0usize);
    for word in words.filter(|w| !w.is_empty()) {
        fr += usize::from(FRENCH.contains(&word));
        en += usize::from(ENGLISH.contains(&word));
    }
    // An accented letter weighs as much as two French words: "réglage" alone says French.
    let lower = text.to_lowercase();
    if lower.chars().any(|c| FRENCH_LETTERS.contains(&c)) {
        fr += 2;
    }
    match fr.cmp(&en) {
        std::cmp::Ordering::Greater => Some(Lang::Fr),
        std::cmp::Ordering::Less => Some(Lang::En),
        std::cmp::Ordering::Equal => None,
    }
}

/// The language of `text`; English when nothing tells (see [`guess`] to know that).
pub fn detect(text: &str) -> Lang {
    guess(text).unwrap_or_default()
}

/// Lower case, accents folded to ASCII (é → e, ç → c, …), runs of spaces and underscores made
/// one space, typographic apostrophes made straight. "Largeur Stéréo" → "largeur stereo".
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.trim().chars().flat_map(char::to_lowercase) {
        let c = match c {
            'à' | 'â' | 'ä' | 'á' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' => 'i',
            'ô' | 'ö' | 'ó' => 'o',
            'ù' | 'û' | 'ü' | 'ú' => 'u',
            'ç' => 'c',
            'ÿ' => 'y',
            '’' | '`' | '´' => '\'',
            '_' | '\t' | '\n' => ' ',
            c => c,
        };
        if c == ' ' {
            if !space && !out.is_empty() {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    out.truncate(out.trim_end().len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_and_english_questions_are_told_apart() {
        for fr in [
            "comment faire un sidechain ?",
            "c'est quoi la compression parallèle",
            "Pourquoi ma voix sonne dure ?",
            "faut-il couper le bas partout",
            "réglage du de-esser",
            "J'ai trop de basses sur le kick",
        ] {
            assert_eq!(guess(fr), Some(Lang::Fr), "{fr}");
        }
        // Commands too: "passe en mono", "compresse plus fort".
        for fr in ["passe en mono", "compresse plus fort", "coupe le bas", "monte un peu"] {
            assert_eq!(guess(fr), Some(Lang::Fr), "{fr}");
        }
        for en in [
            "how do I tame harsh vocals",
            "should I high-pass everything?",
            "What's the best way to sidechain the bass to the kick",
            "is my mix too loud for Spotify",
        ] {
            assert_eq!(guess(en), Some(Lang::En), "{en}");
        }
    }

    #[test]
    fn jargon_alone_gives_no_guess_and_detect_falls_back_to_english() {
        assert_eq!(guess("sidechain"), None);
        assert_eq!(guess("LUFS ?"), None);
        assert_eq!(guess(""), None);
        assert_eq!(detect("reverb"), Lang::En);
    }
}
