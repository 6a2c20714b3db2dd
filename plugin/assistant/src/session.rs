//! A conversation with the assistant about one track: the musician's words in, answers with
//! validated changes out, the settings they act on, and the undo history.
//!
//! Who answers:
//! * a direct command ("monte les aigus de 2 dB", "bypass the compressor") is the embedded
//!   engine's, always: it is exact, instant and free, and a model could only get it wrong.
//!   Its changes apply at once — the musician asked for them ([`Turn::command`]);
//! * anything else goes through the [`Router`] when an [`Assistant`] is given (the model the
//!   configuration names for the task, with its cache, budget, rate limit and fallbacks), and
//!   to the embedded engine otherwise or when the router says so. Proposed changes wait until
//!   the musician applies them.
//!
//! A model's answer is untrusted: it must parse as a [`WireReply`] and goes through
//! [`ChangeSet::try_from`] like any other; an answer that does not parse is dropped from the
//! cache and the embedded engine answers instead, with a note saying so.
//!
//! Who owns what: every piece of a conversation has one owner, and the others only borrow it.
//! * What was said, as a model is told it next time, is a [`Dialogue`]. It must follow the
//!   order in which questions are answered, so whoever answers owns it: the plugin's assistant
//!   thread, or the terminal's [`Conversation`].
//! * The changes (the proposals, what was applied, the undo history) belong to whoever writes
//!   the parameters. In the plugin that is the window's chat panel (`audiocollab::panel`): its
//!   cards hold the validated changes of each [`Turn`], and Apply, Undo and A/B must act within
//!   a frame through the host's gestures, while the assistant thread may be busy for seconds
//!   with a model. So that thread keeps no proposal and no history. On the command line one
//!   thread does both: [`Conversation`] is a dialogue plus the settings, the proposal that
//!   waits ([`Conversation::pending`]) and the undo history, which [`Conversation::undo`] and
//!   [`Conversation::redo`] walk. The audit log records applied and undone model answers.

use tokio::runtime::Runtime;

use super::actions::{ChangeSet, Proposal, Rejection, WireReply};
use super::brief;
use super::engine::{self, Context, Understood};
use super::history::{Applied, History};
use super::llm::{Message, ModelRef, ProviderError, Role, Usage};
use super::provider::{parse_wire_reply, prompt, CancelToken, Client, ClientConfig};
use super::route::clock::SystemClock;
use super::route::config::Config;
use super::route::prices::Prices;
use super::route::router::{on_this_machine, Note, Outcome, RouteOptions, Router, Streamed};
use super::route::Paths;
use super::stream::MessageText;
use super::suggest::suggest;
use super::verify::{self, Audio, Report};
use audiocollab_core::analysis::track::TrackAnalysis;
use audiocollab_core::lang::{self, Lang};
use audiocollab_core::spec::Settings;
use audiocollab_core::untrusted::{excerpt, excerpt_to};

/// The model side of the assistant: a router over the HTTP providers, on its own
/// current-thread tokio runtime. Built once per worker (or per CLI run).
pub struct Assistant {
    runtime: Runtime,
    router: Router<Client, SystemClock>,
}

impl Assistant {
    /// An assistant with `config` (its tiers, keys, budgets). The cache, budget counters and
    /// audit log live under `paths`, or in memory only when `None`.
    pub fn new(config: Config, prices: Prices, paths: Option<&Paths>) -> Result<Assistant, ProviderError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ProviderError::Connection(format!("cannot start the network runtime: {e}")))?;
        // A server on this machine reads a long prompt on the CPU before its first token: it
        // may stay silent far longer than a cloud API, so only the deadline bounds it.
        let mut client_config = ClientConfig::default();
        if config.tiers.values().any(on_this_machine) {
            client_config.response_timeout = client_config.response_timeout.max(config.policy.deadline);
            client_config.idle_timeout = client_config.idle_timeout.max(config.policy.deadline);
        }
        let client = Client::new(client_config)?;
        let router = match paths {
            Some(paths) => Router::new(config, prices, paths, client, SystemClock::new()),
            None => Router::in_memory(config, prices, client, SystemClock::new()),
        };
        Ok(Assistant { runtime, router })
    }

    /// The router (its config, budget state, audit log).
    pub fn router(&self) -> &Router<Client, SystemClock> {
        &self.router
    }
}

/// Who wrote an answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Answerer {
    /// The embedded engine.
    Engine,
    /// A language model.
    Model {
        /// Which.
        model: ModelRef,
        /// Served from the response cache.
        cached: bool,
        /// Tokens used (0 when cached).
        usage: Usage,
        /// Estimated cost, US dollars (0 when cached or served from this machine).
        usd: f64,
    },
}

/// One exchange.
#[derive(Clone, Debug, PartialEq)]
pub struct Turn {
    /// The musician's words.
    pub words: String,
    /// The language of the answer.
    pub lang: Lang,
    /// The answer.
    pub message: String,
    /// Who answered.
    pub by: Answerer,
    /// Why the engine answered instead of a model, or what went wrong, in `lang`.
    pub note: Option<String>,
    /// The validated changes.
    pub changes: ChangeSet,
    /// What was refused, with reasons.
    pub rejected: Vec<Rejection>,
    /// A direct command ("monte les aigus de 2 dB"): its changes apply at once, the musician
    /// asked for them; otherwise they are a proposal that waits for the musician.
    pub command: bool,
    /// Whether `message` reached the text sink as it was written (else show it now).
    pub streamed: bool,
    /// Cancelled before an answer.
    pub cancelled: bool,
    /// The audit log's id of the model request (for applied/undone and feedback records).
    pub request_id: Option<String>,
    /// What checking the changes on the audio did ([`verify::check`]), when there was audio.
    pub checked: Option<Report>,
}

/// Analyses a stretch `[from, to]` seconds of the track.
pub type SegmentFn = dyn Fn(f64, f64) -> Option<TrackAnalysis> + Send;

/// What a streamed turn hands its sink: the answer's message text, piece by piece.
pub type TextSink<'a> = &'a mut (dyn FnMut(Streamed<'_>) + Send);

/// The track and the settings an answer rests on, lent for one question by whoever owns them.
#[derive(Clone, Copy)]
pub struct Grounds<'a> {
    /// The settings now.
    pub settings: &'a Settings,
    /// The analysis of the track, if there is one yet.
    pub analysis: Option<&'a TrackAnalysis>,
    /// Analyses a stretch of the track on demand ("what happens at 1:45?").
    pub segment: Option<&'a SegmentFn>,
    /// Audio of the track to check proposals on before they are shown ([`verify`]).
    pub audio: Option<Audio<'a>>,
}

/// What was said, as a model is told it with the next question: the musician's words and the
/// answers, oldest first, and the language to answer in. It follows the order in which the
/// questions are answered, so it belongs to whoever answers them: the plugin's assistant
/// thread ([`super::desk`]), the terminal's [`Conversation`]. It holds no change: a [`Turn`]
/// hands its validated changes to whoever writes the parameters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dialogue {
    lang: Option<Lang>,
    messages: Vec<Message>,
}

impl Dialogue {
    /// Answer in this language; `None` (the default): in the language of each message.
    pub fn set_lang(&mut self, lang: Option<Lang>) {
        self.lang = lang;
    }

    /// What was said so far, oldest first.
    pub fn history(&self) -> &[Message] {
        &self.messages
    }

    /// Answers the musician's `words` on `grounds`; a model's message streams into `sink` as it
    /// is written. The exchange is remembered once the answer is complete.
    pub fn ask(
        &mut self,
        words: &str,
        grounds: Grounds<'_>,
        assistant: Option<&Assistant>,
        cancel: &CancelToken,
        sink: Option<TextSink<'_>>,
    ) -> Turn {
        // The language from the words the engine reads at most (see below for longer ones).
        let lang = self.lang.unwrap_or_else(|| lang::detect(&excerpt_to(words, engine::MAX_MESSAGE_CHARS)));
        let answer = {
            let segment = grounds.segment.map(|f| f as &dyn Fn(f64, f64) -> Option<TrackAnalysis>);
            let ctx = Context { analysis: grounds.analysis, segment, settings: grounds.settings, lang: Some(lang) };
            engine::respond(words, &ctx)
        };
        if answer.understood == Understood::TooLong {
            // Refused unread: sent to no model, and kept out of the history a model is sent.
            return engine_turn(&excerpt(words), lang, answer.reply, None, grounds.settings);
        }
        let mut turn = match assistant {
            // A command, and a moment past the end of the track, are facts the engine has.
            Some(assistant) if !matches!(answer.understood, Understood::Command | Understood::PastTheEnd) => {
                let measurements = brief::measurements(grounds.analysis, grounds.settings);
                let request = prompt::chat_request(&measurements, &self.messages, words);
                routed(words, lang, assistant, &request, answer.reply, cancel, sink, grounds.settings)
            }
            _ => engine_turn(words, lang, answer.reply, None, grounds.settings),
        };
        turn.command = answer.understood == Understood::Command;
        if !turn.command {
            checked(&mut turn, &grounds);
        }
        self.remember(&turn);
        turn
    }

    /// Proposes changes for the whole track, as `audiocollab suggest` does: the configured
    /// model for suggestions, or the embedded engine's findings-to-changes rules.
    pub fn suggest(
        &mut self,
        lang: Lang,
        grounds: Grounds<'_>,
        assistant: Option<&Assistant>,
        cancel: &CancelToken,
        sink: Option<TextSink<'_>>,
    ) -> Turn {
        let words = match lang {
            Lang::En => "Which changes does this track need? Propose the most useful ones.",
            Lang::Fr => "Quels réglages ce morceau demande-t-il ? Propose les plus utiles.",
        };
        let engine_reply = match grounds.analysis {
            Some(a) => suggest(a, grounds.settings, lang),
            None => WireReply {
                message: match lang {
                    Lang::En => "Nothing measured yet: play the track first.".into(),
                    Lang::Fr => "Rien de mesuré pour l'instant : lancez d'abord la lecture.".into(),
                },
                changes: Vec::new(),
            },
        };
        let turn = match assistant {
            Some(assistant) => {
                let measurements = brief::measurements(grounds.analysis, grounds.settings);
                let request = prompt::suggestion_request(&measurements, words);
                routed(words, lang, assistant, &request, engine_reply, cancel, sink, grounds.settings)
            }
            None => engine_turn(words, lang, engine_reply, None, grounds.settings),
        };
        let mut turn = turn;
        checked(&mut turn, &grounds);
        self.remember(&turn);
        turn
    }

    fn remember(&mut self, turn: &Turn) {
        self.messages.push(Message { role: Role::User, content: turn.words.clone() });
        self.messages.push(Message { role: Role::Assistant, content: turn.message.clone() });
    }
}

/// A conversation about one track on the command line (`audiocollab chat` and `suggest`), its
/// one owner: the [`Dialogue`], the track, the settings the changes act on, the proposal that
/// waits and the undo history. (In the plugin the same state is split by thread: the assistant
/// thread keeps the dialogue, the window's chat panel the changes; see `audiocollab::panel`.)
pub struct Conversation {
    dialogue: Dialogue,
    settings: Settings,
    analysis: Option<TrackAnalysis>,
    segment: Option<Box<SegmentFn>>,
    audio: Option<(u32, Vec<Vec<f32>>, f64)>,
    pending: Option<Applied>,
    history: History,
}

impl Conversation {
    /// A conversation about a track analysed as `analysis` (if yet), starting from `settings`.
    pub fn new(analysis: Option<TrackAnalysis>, settings: Settings) -> Conversation {
        Conversation {
            dialogue: Dialogue::default(),
            settings,
            analysis,
            segment: None,
            audio: None,
            pending: None,
            history: History::default(),
        }
    }

    /// Lets the engine analyse a stretch of the track on its own ("what happens at 1:45?").
    pub fn with_segments(mut self, segment: impl Fn(f64, f64) -> Option<TrackAnalysis> + Send + 'static) -> Self {
        self.segment = Some(Box::new(segment));
        self
    }

    /// Audio of the track (`channels` at `sample_rate`, starting `from_s` seconds in) to check
    /// proposals on before they are shown ([`verify`]; at most [`verify::MAX_SECONDS`] of it
    /// is used).
    pub fn with_audio(mut self, sample_rate: u32, channels: Vec<Vec<f32>>, from_s: f64) -> Self {
        self.audio = Some((sample_rate, channels, from_s));
        self
    }

    /// Answer in this language; `None` (the default): in the language of each message.
    pub fn set_lang(&mut self, lang: Option<Lang>) {
        self.dialogue.set_lang(lang);
    }

    /// A newer analysis.
    pub fn set_analysis(&mut self, analysis: Option<TrackAnalysis>) {
        self.analysis = analysis;
    }

    /// The analysis the answers rest on.
    pub fn analysis(&self) -> Option<&TrackAnalysis> {
        self.analysis.as_ref()
    }

    /// The settings now.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The conversation so far, oldest first.
    pub fn history(&self) -> &[Message] {
        self.dialogue.history()
    }

    /// Changes proposed and not applied yet.
    pub fn pending(&self) -> Option<&ChangeSet> {
        self.pending.as_ref().map(|p| &p.set)
    }

    /// Replaces the settings.
    pub fn set_settings(&mut self, settings: Settings) {
        self.settings = settings;
    }

    /// Answers the musician's `words`; a model's message streams into `sink` as it is written.
    /// A command's changes apply at once; others wait as [`Conversation::pending`].
    pub fn ask(
        &mut self,
        words: &str,
        assistant: Option<&Assistant>,
        cancel: &CancelToken,
        sink: Option<TextSink<'_>>,
    ) -> Turn {
        let grounds = grounds_of(&self.settings, self.analysis.as_ref(), self.segment.as_deref(), self.audio.as_ref());
        let turn = self.dialogue.ask(words, grounds, assistant, cancel, sink);
        self.take(turn)
    }

    /// Proposes changes for the whole track ([`Dialogue::suggest`]); they wait as
    /// [`Conversation::pending`].
    pub fn suggest(
        &mut self,
        lang: Lang,
        assistant: Option<&Assistant>,
        cancel: &CancelToken,
        sink: Option<TextSink<'_>>,
    ) -> Turn {
        let grounds = grounds_of(&self.settings, self.analysis.as_ref(), self.segment.as_deref(), self.audio.as_ref());
        let turn = self.dialogue.suggest(lang, grounds, assistant, cancel, sink);
        self.take(turn)
    }

    /// Applies the pending changes; returns them.
    pub fn apply_pending(&mut self, assistant: Option<&Assistant>) -> Option<&ChangeSet> {
        let applied = self.pending.take()?;
        applied.set.apply(&mut self.settings);
        mark(assistant, &applied, true);
        self.history.push(applied);
        self.history.last().map(|a| &a.set)
    }

    /// Drops the pending changes.
    pub fn reject_pending(&mut self) -> Option<ChangeSet> {
        self.pending.take().map(|p| p.set)
    }

    /// Undoes the last applied change set; returns it.
    pub fn undo(&mut self, assistant: Option<&Assistant>) -> Option<&ChangeSet> {
        let applied = self.history.undo()?;
        applied.set.inverse().apply(&mut self.settings);
        mark(assistant, applied, false);
        Some(&applied.set)
    }

    /// Applies again the last change set undone; returns it.
    pub fn redo(&mut self, assistant: Option<&Assistant>) -> Option<&ChangeSet> {
        let applied = self.history.redo()?;
        applied.set.apply(&mut self.settings);
        mark(assistant, applied, true);
        Some(&applied.set)
    }

    /// Holds the turn's changes as the proposal; applies them now if it was a command.
    fn take(&mut self, turn: Turn) -> Turn {
        if !turn.changes.is_empty() {
            self.pending = Some(Applied { set: turn.changes.clone(), request_id: turn.request_id.clone() });
            if turn.command {
                self.apply_pending(None);
            }
        }
        turn
    }
}

/// The grounds of a conversation's fields, borrowed apart from its dialogue.
fn grounds_of<'a>(
    settings: &'a Settings,
    analysis: Option<&'a TrackAnalysis>,
    segment: Option<&'a SegmentFn>,
    audio: Option<&'a (u32, Vec<Vec<f32>>, f64)>,
) -> Grounds<'a> {
    let audio =
        audio.map(|(sample_rate, channels, from_s)| Audio { sample_rate: *sample_rate, channels, from_s: *from_s });
    Grounds { settings, analysis, segment, audio }
}

/// Checks a proposal's changes on the audio of `grounds`, when there is some and an analysis
/// ([`verify::check`]): the moves that do not hold are refused with their reason, the others
/// carry their measured effect. Without either, a large gain raise is held to the measured
/// true-peak headroom ([`verify::hold_blind`]).
fn checked(turn: &mut Turn, grounds: &Grounds<'_>) {
    if turn.changes.is_empty() || turn.cancelled {
        return;
    }
    let (Some(audio), Some(analysis)) = (&grounds.audio, grounds.analysis) else {
        verify::hold_blind(&mut turn.changes, grounds.analysis, turn.lang);
        return;
    };
    let report = verify::check(&mut turn.changes, grounds.settings, analysis, audio, turn.lang);
    turn.rejected = turn.changes.rejected().to_vec();
    turn.checked = Some(report);
}

/// The embedded engine's `reply`, validated against `settings`.
fn engine_turn(words: &str, lang: Lang, reply: WireReply, note: Option<String>, settings: &Settings) -> Turn {
    let (changes, rejected) = validate(&reply, settings);
    Turn {
        words: words.into(),
        lang,
        message: reply.message,
        by: Answerer::Engine,
        note,
        changes,
        rejected,
        command: false,
        streamed: false,
        cancelled: false,
        request_id: None,
        checked: None,
    }
}

/// A model's answer through the router (the engine's `engine_reply` when the router says so or
/// the model's cannot be used), validated against `settings`.
#[allow(clippy::too_many_arguments)]
fn routed(
    words: &str,
    lang: Lang,
    assistant: &Assistant,
    request: &super::llm::Request,
    engine_reply: WireReply,
    cancel: &CancelToken,
    mut sink: Option<TextSink<'_>>,
    settings: &Settings,
) -> Turn {
    let mut text = MessageText::new();
    let mut shown = String::new();
    let routed = {
        let mut forward = |event: Streamed<'_>| {
            let Some(sink) = sink.as_deref_mut() else { return };
            match event {
                Streamed::Restart => {
                    text = MessageText::new();
                    shown.clear();
                    sink(Streamed::Restart);
                }
                Streamed::Text(piece) => {
                    let decoded = text.push(piece);
                    if !decoded.is_empty() {
                        shown.push_str(&decoded);
                        sink(Streamed::Text(&decoded));
                    }
                }
            }
        };
        let router = &assistant.router;
        assistant.runtime.block_on(router.route_streaming(request, RouteOptions::default(), cancel, Some(&mut forward)))
    };
    let note_text = |note: &Note| match lang {
        Lang::En => note.en.clone(),
        Lang::Fr => note.fr.clone(),
    };
    match &routed.outcome {
        Outcome::Cancelled => Turn {
            message: String::new(),
            cancelled: true,
            ..engine_turn(words, lang, WireReply::default(), None, settings)
        },
        Outcome::Embedded { note } => engine_turn(words, lang, engine_reply, note.as_ref().map(note_text), settings),
        Outcome::Model { completion, model, cached, note, .. } => match parse_wire_reply(&completion.text) {
            Ok(reply) => {
                let (changes, rejected) = validate(&reply, settings);
                let usd = if *cached || on_this_machine(model) {
                    0.0
                } else {
                    assistant.router.prices().price(model).cost_usd(completion.usage)
                };
                let streamed = !shown.is_empty() && shown == reply.message;
                Turn {
                    words: words.into(),
                    lang,
                    message: reply.message,
                    by: Answerer::Model {
                        model: model.clone(),
                        cached: *cached,
                        usage: if *cached { Usage::default() } else { completion.usage },
                        usd,
                    },
                    note: note.as_ref().map(note_text),
                    changes,
                    rejected,
                    command: false,
                    streamed,
                    cancelled: false,
                    request_id: Some(routed.id.clone()),
                    checked: None,
                }
            }
            Err(e) => {
                assistant.router.discard(&routed);
                let why = match lang {
                    Lang::En => {
                        format!("{}'s answer could not be used ({e}); the embedded engine answered.", model.model)
                    }
                    Lang::Fr => {
                        format!("La réponse de {} était inutilisable ({e}) ; le moteur intégré a répondu.", model.model)
                    }
                };
                engine_turn(words, lang, engine_reply, Some(why), settings)
            }
        },
    }
}

/// Records in the audit log that a model's changes were applied or undone. The log is a
/// record, never a reason to refuse.
fn mark(assistant: Option<&Assistant>, applied: &Applied, done: bool) {
    if let (Some(a), Some(id)) = (assistant, &applied.request_id) {
        let _ = a.router.mark(id, done);
    }
}

/// Validates a reply against `settings`: the changes to apply and the refusals.
fn validate(reply: &WireReply, settings: &Settings) -> (ChangeSet, Vec<Rejection>) {
    match ChangeSet::try_from(Proposal { reply, current: settings }) {
        Ok(set) => {
            let rejected = set.rejected().to_vec();
            (set, rejected)
        }
        Err(all) => (ChangeSet::default(), all.rejected),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use audiocollab_core::spec::ParamId;

    fn bare(settings: &Settings) -> Grounds<'_> {
        Grounds { settings, analysis: None, segment: None, audio: None }
    }

    #[test]
    fn a_dialogue_remembers_what_was_said_and_hands_the_changes_over() {
        let mut dialogue = Dialogue::default();
        let settings = Settings::default();
        let cancel = CancelToken::new();
        let turn = dialogue.ask("monte les aigus de 2 dB", bare(&settings), None, &cancel, None);
        assert!(turn.command, "{turn:?}");
        let changes: Vec<(ParamId, f32)> = turn.changes.changes().iter().map(|c| (c.param, c.to)).collect();
        assert_eq!(changes, [(ParamId::HighShelfGain, 2.0)]);
        let said: Vec<&str> = dialogue.history().iter().map(|m| m.content.as_str()).collect();
        assert_eq!(said, ["monte les aigus de 2 dB", turn.message.as_str()]);
        // A message refused unread is kept out of what a model is told.
        let long = "a".repeat(engine::MAX_MESSAGE_CHARS + 1);
        let refused = dialogue.ask(&long, bare(&settings), None, &cancel, None);
        assert!(!refused.command && refused.changes.is_empty());
        assert_eq!(dialogue.history().len(), 2);
    }

    #[test]
    fn a_conversation_applies_a_command_and_walks_its_history() {
        let mut chat = Conversation::new(None, Settings::default());
        let cancel = CancelToken::new();
        let turn = chat.ask("monte les aigus de 2 dB", None, &cancel, None);
        assert!(turn.command);
        assert_eq!(chat.settings().get(ParamId::HighShelfGain), 2.0);
        assert!(chat.pending().is_none(), "a command is applied, not proposed");
        assert_eq!(chat.history().len(), 2);
        assert!(chat.undo(None).is_some());
        assert_eq!(*chat.settings(), Settings::default());
        assert!(chat.redo(None).is_some());
        assert_eq!(chat.settings().get(ParamId::HighShelfGain), 2.0);
    }
}
