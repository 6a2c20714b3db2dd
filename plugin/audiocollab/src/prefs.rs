//! The musician's preferences for one plugin instance, saved with the DAW project (plugin
//! state, `prefs`): the language of the answers, the genre and platform the analysis is judged
//! against (or a reference track's curve: its numbers, never its audio or its path), and
//! whether proposals apply by themselves.
//!
//! The assistant's own settings (models, keys, budgets) are the user's, not the project's: they
//! live in `config.toml` ([`audiocollab_assistant::route::config_edit`]). Nothing secret is ever
//! kept here.
//!
//! A project file is untrusted, and may come from a later version: [`Prefs::sanitised`] turns
//! an unknown genre or platform into the default, an unknown language, a missing field or one
//! of the wrong type deserialises to its default, and an unknown field is ignored. The saved
//! form carries a `version` ([`crate::state::STATE_VERSION`]).

use serde::{Deserialize, Serialize};

use audiocollab_core::analysis::targets::{self, GenreTarget};
use audiocollab_core::analysis::targets::{DEFAULT_GENRE, DEFAULT_PLATFORM};
use audiocollab_core::analysis::track::AnalyzeOptions;
use audiocollab_core::lang::Lang;
pub use audiocollab_core::offline::reference::Reference;
use std::sync::Arc;

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
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(from = "serde_json::Value")]
pub struct Prefs {
    /// The language of the answers.
    pub lang: AnswerLang,
    /// Genre target id ([`targets::genre`]).
    pub genre: String,
    /// Platform target id ([`targets::platform`]).
    pub platform: String,
    /// A reference track judged against instead of the genre, when one is loaded.
    pub reference: Option<Reference>,
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
            reference: None,
            auto_apply: false,
        }
    }
}

impl Serialize for Prefs {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Saved<'a> {
            version: u32,
            lang: AnswerLang,
            genre: &'a str,
            platform: &'a str,
            reference: &'a Option<Reference>,
            auto_apply: bool,
        }
        Saved {
            version: crate::state::STATE_VERSION,
            lang: self.lang,
            genre: &self.genre,
            platform: &self.platform,
            reference: &self.reference,
            auto_apply: self.auto_apply,
        }
        .serialize(serializer)
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
            reference: field("reference")
                .and_then(|v| serde_json::from_value::<Reference>(v).ok())
                .and_then(Reference::sanitised),
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

    /// What the live analysis is judged against: this platform, the reference if one is
    /// loaded or else this genre, the whole track.
    pub fn analyze_options(&self) -> AnalyzeOptions {
        let clean = self.clone().sanitised();
        AnalyzeOptions {
            platform: clean.platform,
            genre: clean.genre,
            reference: clean.reference.as_ref().map(|r| Arc::new(r.target())),
            from_s: None,
            to_s: None,
        }
    }

    /// The tonal target: the reference's if one is loaded, else the genre's.
    pub fn target(&self) -> GenreTarget {
        match &self.reference {
            Some(r) => r.target(),
            None => targets::genre(&self.genre)
                .or_else(|| targets::genre(DEFAULT_GENRE))
                .unwrap_or(&targets::genres()[0])
                .clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use audiocollab_core::meter::stats::BAND_COUNT;

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
        let p = Prefs {
            lang: AnswerLang::French,
            genre: "metal".into(),
            platform: "youtube".into(),
            reference: Some(Reference {
                name: "mix final".into(),
                levels_db: (0..BAND_COUNT).map(|b| (b < 30).then_some(-10.0 - b as f32 * 0.5)).collect(),
                loudness_range_lu: Some(6.5),
            }),
            auto_apply: true,
        };
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Prefs>(&json).unwrap(), p);
        for tampered in [
            r#"{"lang":"klingon","genre":"polka","platform":7,"auto_apply":"yes","extra":[1]}"#,
            r#"{"reference":{"name":"x","levels_db":[1,2],"loudness_range_lu":3}}"#,
            r#"{"reference":{"name":"x","levels_db":[1e9,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null]}}"#,
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
