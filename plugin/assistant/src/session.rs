//! A conversation with the assistant about one track, as the chat window and `audiocollab
//! chat` hold it: the musician's words in, answers with validated changes out, the settings
//! they act on, and the undo history.
//!
//! Who answers:
//! * a direct command ("monte les aigus de 2 dB", "bypass the compressor") is the embedded
//!   engine's, always: it is exact, instant and free, and a model could only get it wrong.
//!   Its changes apply at once — the musician asked for them;
//! * anything else goes through the [`Router`] when an [`Assistant`] is given (the model the
//!   configuration names for the task, with its cache, budget, rate limit and fallbacks), and
//!   to the embedded engine otherwise or when the router says so. Proposed changes wait as
//!   [`Conversation::pending`] until the musician applies them.
//!
//! A model's answer is untrusted: it must parse as a [`WireReply`] and goes through
//! [`ChangeSet::try_from`] like any other; an answer that does not parse is dropped from the
//! cache and the embedded engine answers instead, with a note saying so.
//!
//! Every change set applied goes on the undo stack; [`Conversation::undo`] and
//! [`Conversation::redo`] walk it. The audit log records applied and undone model answers.

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
    /// The changes were applied at once (a direct command); otherwise they are pending.
    pub applied: bool,
    /// Whether `message` reached the text sink as it was written (else show it now).
    pub streamed: bool,
    /// Cancelled before an answer.
    pub cancelled: bool,
    /// The audit log's id of the model request (for applied/undone and feedback records).
    pub request_id: Option<String>,
}

/// Analyses a stretch `[from, to]` seconds of the track.
pub type SegmentFn = dyn Fn(f64, f64) -> Option<TrackAnalysis> + Send;

/// What a streamed turn hands its sink: the answer's message text, piece by piece.
pub type TextSink<'a> = &'a mut (dyn FnMut(Streamed<'_>) + Send);

/// A conversation about one track.
pub struct Conversation {
    settings: Settings,
    analysis: Option<TrackAnalysis>,
    segment: Option<Box<SegmentFn>>,
    lang: Option<Lang>,
    messages: Vec<Message>,
    pending: Option<Applied>,
    history: History,
}

impl Conversation {
    /// A conversation about a track analysed as `analysis` (if yet), starting from `settings`.
    pub fn new(analysis: Option<TrackAnalysis>, settings: Settings) -> Conversation {
        Conversation {
            settings,
            analysis,
            segment: None,
            lang: None,
            messages: Vec::new(),
            pending: None,
            history: History::default(),
        }
    }

    /// Lets the engine analyse a stretch of the track on its own ("what happens at 1:45?").
    pub fn with_segments(mut self, segment: impl Fn(f64, f64) -> Option<TrackAnalysis> + Send + 'static) -> Self {
        self.segment = Some(Box::new(segment));
        self
    }

    /// Answer in this language; `None` (the default): in the language of each message.
    pub fn set_lang(&mut self, lang: Option<Lang>) {
        self.lang = lang;
    }

    /// A newer analysis (the plugin measures as the song plays).
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
        &self.messages
    }

    /// Changes proposed and not applied yet.
    pub fn pending(&self) -> Option<&ChangeSet> {
        self.pending.as_ref().map(|p| &p.set)
    }

    /// Replaces the settings (the plugin's parameters moved by hand or by automation).
    pub fn set_settings(&mut self, settings: Settings) {
        self.settings = settings;
    }

    /// Answers the musician's `words`; a model's message streams into `sink` as it is written.
    pub fn ask(
        &mut self,
        words: &str,
        assistant: Option<&Assistant>,
        cancel: &CancelToken,
        sink: Option<TextSink<'_>>,
    ) -> Turn {
        // The language from the words the engine reads at most (see below for longer ones).
        let lang = self.lang.unwrap_or_else(|| lang::detect(&excerpt_to(words, engine::MAX_MESSAGE_CHARS)));
        let answer = {
            let segment = self.segment.as_deref().map(|f| f as &dyn Fn(f64, f64) -> Option<TrackAnalysis>);
            let ctx = Context { analysis: self.analysis.as_ref(), segment, settings: &self.settings, lang: Some(lang) };
            engine::respond(words, &ctx)
        };
        if answer.understood == Understood::TooLong {
            // Refused unread: sent to no model, and kept out of the history a model is sent.
            return self.engine_turn(&excerpt(words), lang, answer.reply, None);
        }
        let turn = match assistant {
            Some(assistant) if answer.understood != Understood::Command => {
                let measurements = brief::measurements(self.analysis.as_ref(), &self.settings);
                let request = prompt::chat_request(&measurements, &self.messages, words);
                self.routed(words, lang, assistant, &request, answer.reply, cancel, sink)
            }
            _ => self.engine_turn(words, lang, answer.reply, None),
        };
        let command = answer.understood == Understood::Command;
        self.record(turn, command)
    }

    /// Proposes changes for the whole track, as `audiocollab suggest` does: the configured
    /// model for suggestions, or the embedded engine's findings-to-changes rules.
    pub fn suggest(
        &mut self,
        lang: Lang,
        assistant: Option<&Assistant>,
        cancel: &CancelToken,
        sink: Option<TextSink<'_>>,
    ) -> Turn {
        let words = match lang {
            Lang::En => "Which changes does this track need? Propose the most useful ones.",
            Lang::Fr => "Quels réglages ce morceau demande-t-il ? Propose les plus utiles.",
        };
        let engine_reply = match &self.analysis {
            Some(a) => suggest(a, &self.settings, lang),
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
                let measurements = brief::measurements(self.analysis.as_ref(), &self.settings);
                let request = prompt::suggestion_request(&measurements, words);
                self.routed(words, lang, assistant, &request, engine_reply, cancel, sink)
            }
            None => self.engine_turn(words, lang, engine_reply, None),
        };
        self.record(turn, false)
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

    /// Keeps the turn in the history; applies a command's changes, holds the others.
    fn record(&mut self, mut turn: Turn, command: bool) -> Turn {
        self.messages.push(Message { role: Role::User, content: turn.words.clone() });
        self.messages.push(Message { role: Role::Assistant, content: turn.message.clone() });
        if !turn.changes.is_empty() {
            self.pending = Some(Applied { set: turn.changes.clone(), request_id: turn.request_id.clone() });
            if command {
                self.apply_pending(None);
                turn.applied = true;
            }
        }
        turn
    }

    fn engine_turn(&self, words: &str, lang: Lang, reply: WireReply, note: Option<String>) -> Turn {
        let (changes, rejected) = validate(&reply, &self.settings);
        Turn {
            words: words.into(),
            lang,
            message: reply.message,
            by: Answerer::Engine,
            note,
            changes,
            rejected,
            applied: false,
            streamed: false,
            cancelled: false,
            request_id: None,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn routed(
        &mut self,
        words: &str,
        lang: Lang,
        assistant: &Assistant,
        request: &super::llm::Request,
        engine_reply: WireReply,
        cancel: &CancelToken,
        mut sink: Option<TextSink<'_>>,
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
            assistant.runtime.block_on(router.route_streaming(
                request,
                RouteOptions::default(),
                cancel,
                Some(&mut forward),
            ))
        };
        let note_text = |note: &Note| match lang {
            Lang::En => note.en.clone(),
            Lang::Fr => note.fr.clone(),
        };
        match &routed.outcome {
            Outcome::Cancelled => Turn {
                message: String::new(),
                cancelled: true,
                ..self.engine_turn(words, lang, WireReply::default(), None)
            },
            Outcome::Embedded { note } => self.engine_turn(words, lang, engine_reply, note.as_ref().map(note_text)),
            Outcome::Model { completion, model, cached, note, .. } => match parse_wire_reply(&completion.text) {
                Ok(reply) => {
                    let (changes, rejected) = validate(&reply, &self.settings);
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
                        applied: false,
                        streamed,
                        cancelled: false,
                        request_id: Some(routed.id.clone()),
                    }
                }
                Err(e) => {
                    assistant.router.discard(&routed);
                    let why = match lang {
                        Lang::En => {
                            format!("{}'s answer could not be used ({e}); the embedded engine answered.", model.model)
                        }
                        Lang::Fr => format!(
                            "La réponse de {} était inutilisable ({e}) ; le moteur intégré a répondu.",
                            model.model
                        ),
                    };
                    self.engine_turn(words, lang, engine_reply, Some(why))
                }
            },
        }
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
