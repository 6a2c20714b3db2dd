//! The musician's preferences for one plugin instance, saved with the DAW project (plugin
//! state, `prefs`): the language of the answers, the genre and platform the analysis is judged
//! against, and whether proposals apply by themselves.
//!
//! The assistant's own settings (models, keys, budgets) are the user's, not the project's: they
//! live in `config.toml` ([`crate::assistant::route::config_edit`]). Nothing secret is ever
//! kept here.
//!
//! A project file is untrusted: [`Prefs::sanitised`] turns an unknown genre or platform into
//! the default, and an unknown language or a missing field deserialises to its default.

use serde::{Deserialize, Serialize};

use crate::analysis::targets;
use crate::analysis::track::{AnalyzeOptions, DEFAULT_GENRE, DEFAULT_PLATFORM};
use crate::assistant::lang::Lang;

/// The language the assistant answers in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerLang {
    /// The language of each message.
    #[default]
    Auto,
    /// Always English.
    English,
    /// Always French.
    French,
}

impl AnswerLang {
    /// Every choice, in the order the settings show them.
    pub const ALL: [AnswerLang; 3] = [AnswerLang::Auto, AnswerLang::English, AnswerLang::French];

    /// The language to force on the conversation (`None`: each message's own).
    pub fn lang(self) -> Option<Lang> {
        match self {
            AnswerLang::Auto => None,
            AnswerLang::English => Some(Lang::En),
            AnswerLang::French => Some(Lang::Fr),
        }
    }

    /// How the settings show it.
    pub fn label(self) -> &'static str {
        match self {
            AnswerLang::Auto => "Same as my message",
            AnswerLang::English => "English",
            AnswerLang::French => "Français",
        }
    }
}

/// The preferences of one plugin instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "serde_json::Value")]
pub struct Prefs {
    /// The language of the answers.
    pub lang: AnswerLang,
    /// Genre target id ([`targets::genre`]).
    pub genre: String,
    /// Platform target id ([`targets::platform`]).
    pub platform: String,
    /// Apply a model's or the engine's proposals as soon as they arrive (undoable). Off by
    /// default: the musician decides.
    pub auto_apply: bool,
}

impl Default for Prefs {
    fn default() -> Self {
        Self {
            lang: AnswerLang::Auto,
            genre: DEFAULT_GENRE.into(),
            platform: DEFAULT_PLATFORM.into(),
            auto_apply: false,
        }
    }
}

impl From<serde_json::Value> for Prefs {
    /// Whatever the project file holds: a field missing, of the wrong type or unknown is its
    /// default; then [`Prefs::sanitised`]. Never fails, so a tampered project still loads.
    fn from(value: serde_json::Value) -> Prefs {
        let default = Prefs::default();
        let field = |name: &str| value.get(name).cloned();
        let text = |name: &str, or: String| field(name).and_then(|v| v.as_str().map(String::from)).unwrap_or(or);
        Prefs {
            lang: field("lang").and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default(),
            genre: text("genre", default.genre),
            platform: text("platform", default.platform),
            auto_apply: field("auto_apply").and_then(|v| v.as_bool()).unwrap_or(false),
        }
        .sanitised()
    }
}

impl Prefs {
    /// The same with an unknown genre or platform replaced by the default, and known ones
    /// spelled by their canonical id (`hip-hop` becomes `hiphop`).
    pub fn sanitised(mut self) -> Prefs {
        self.genre = targets::genre(&self.genre).map_or_else(|| DEFAULT_GENRE.to_string(), |g| g.id.clone());
        self.platform =
            targets::platform(&self.platform).map_or_else(|| DEFAULT_PLATFORM.to_string(), |p| p.id.clone());
        self
    }

    /// What the live analysis is judged against: this genre and platform, the whole track.
    pub fn analyze_options(&self) -> AnalyzeOptions {
        let clean = self.clone().sanitised();
        AnalyzeOptions { platform: clean.platform, genre: clean.genre, from_s: None, to_s: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_analysis_defaults_and_auto_apply_is_off() {
        let p = Prefs::default();
        assert!(!p.auto_apply);
        assert_eq!(p.lang.lang(), None);
        assert_eq!(p.analyze_options(), AnalyzeOptions::default());
    }

    #[test]
    fn aliases_become_canonical_ids_and_unknown_ids_the_defaults() {
        let p = Prefs { genre: "Hip-Hop".into(), platform: "APPLE".into(), ..Prefs::default() }.sanitised();
        assert_eq!((p.genre.as_str(), p.platform.as_str()), ("hiphop", "apple"));
        let p = Prefs { genre: "polka\u{0}".into(), platform: "".into(), ..Prefs::default() }.sanitised();
        assert_eq!((p.genre.as_str(), p.platform.as_str()), (DEFAULT_GENRE, DEFAULT_PLATFORM));
    }

    #[test]
    fn a_round_trip_keeps_everything_and_a_tampered_project_loads_sanitised() {
        let p = Prefs { lang: AnswerLang::French, genre: "metal".into(), platform: "youtube".into(), auto_apply: true };
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Prefs>(&json).unwrap(), p);
        for tampered in [
            r#"{"lang":"klingon","genre":"polka","platform":7,"auto_apply":"yes","extra":[1]}"#,
            r#"[1,2,3]"#,
            r#"null"#,
            r#"{}"#,
        ] {
            assert_eq!(serde_json::from_str::<Prefs>(tampered).unwrap(), Prefs::default(), "{tampered}");
        }
        let partial: Prefs = serde_json::from_str(r#"{"genre":"rap","auto_apply":true}"#).unwrap();
        assert_eq!((partial.genre.as_str(), partial.auto_apply, partial.lang), ("hiphop", true, AnswerLang::Auto));
    }
}
