//! The assistant's thread in the plugin: the window asks, this thread answers, the audio thread
//! never waits on either.
//!
//! [`Desk::spawn`] starts one thread that owns the [`Dialogue`] (what was said, as a model is
//! told it) and, when the user's configuration names a model, the [`Assistant`] (one HTTP
//! client and tokio runtime for the plugin instance). The window sends the musician's words
//! with the settings and analysis of the moment ([`Desk::ask`]) and polls [`Desk::events`]
//! every frame: pieces of a streamed answer, then the finished [`Turn`]. [`Desk::cancel`] stops a request in flight.
//! [`Desk::set_lang`] fixes the language of the answers; [`Desk::reload`] reads the user's
//! configuration again (the settings view saved it) and rebuilds the [`Assistant`] on the
//! thread, after the request in flight if there is one.
//!
//! The changes of a turn are not kept here: the [`Turn`] hands them to the window's chat panel,
//! their one owner, which applies them through the host's parameter gestures (so automation and
//! the host's undo see them) and keeps the undo history (see [`super::session`] for why).

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use super::actions::ChangeSet;
use super::engine;
use super::provider::CancelToken;
use super::route::config;
use super::route::prices::Prices;
use super::route::router::Streamed;
use super::route::Paths;
use super::session::{Answerer, Assistant, Dialogue, Grounds, Turn};
use audiocollab_core::analysis::track::TrackAnalysis;
use audiocollab_core::lang::{self, Lang};
use audiocollab_core::spec::Settings;
use audiocollab_core::untrusted::{excerpt, excerpt_to};

/// What the window hears back.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// More of the answer being written.
    Text(String),
    /// The text so far is void (a retry starts over).
    Restart,
    /// The answer, finished.
    Turn(Box<Turn>),
}

enum Job {
    Ask { words: String, settings: Settings, analysis: Option<Arc<TrackAnalysis>>, cancel: CancelToken },
    Record { request_id: String, what: Record },
    SetLang(Option<Lang>),
    Reload(Option<Paths>),
    Stop,
}

/// What the musician did with a model's answer, for the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    /// Its changes were applied.
    Applied,
    /// Its changes were undone.
    Undone,
    /// Thumbs up (`true`) or down.
    Rated(bool),
}

/// Who answers, as the window shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answering {
    /// `"embedded engine"` or `"model (provider)"` for chat.
    pub label: String,
    /// Why the configuration could not be used, if it could not.
    pub warning: Option<String>,
}

/// The assistant thread of one plugin instance.
pub struct Desk {
    jobs: Sender<Job>,
    events: Receiver<Event>,
    cancel: Mutex<CancelToken>,
    /// Written by the thread when it (re)builds the assistant.
    answering: Arc<Mutex<Answering>>,
    thread: Option<JoinHandle<()>>,
}

impl Desk {
    /// Starts the thread with the user's configuration (`paths`; `None`: the embedded engine
    /// only, as in tests and when the system gives no home folder).
    pub fn spawn(paths: Option<Paths>) -> std::io::Result<Desk> {
        Desk::spawn_tapped(paths, None)
    }

    /// [`Desk::spawn`] with a [`Tap`] on the text turns stream (tests only).
    #[doc(hidden)]
    pub fn spawn_tapped(paths: Option<Paths>, tap: Option<Tap>) -> std::io::Result<Desk> {
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (event_tx, events) = mpsc::channel::<Event>();
        let (assistant, answering) = build(paths.as_ref());
        let answering = Arc::new(Mutex::new(answering));
        let worker = Worker {
            paths,
            assistant,
            dialogue: Dialogue::default(),
            answering: answering.clone(),
            events: event_tx,
            tap,
        };
        let thread =
            std::thread::Builder::new().name("audiocollab-assistant".into()).spawn(move || worker.serve(job_rx))?;
        Ok(Desk { jobs, events, cancel: Mutex::new(CancelToken::new()), answering, thread: Some(thread) })
    }

    /// Who answers (after a [`Desk::reload`], once the thread has rebuilt the assistant).
    pub fn answering(&self) -> Answering {
        self.answering.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Answers in `lang` from the next question on; `None`: in the language of each message.
    pub fn set_lang(&self, lang: Option<Lang>) {
        let _ = self.jobs.send(Job::SetLang(lang));
    }

    /// Reads the configuration under `paths` again and rebuilds the assistant on the thread
    /// (after the request in flight, if any). The conversation goes on.
    pub fn reload(&self, paths: Option<Paths>) {
        let _ = self.jobs.send(Job::Reload(paths));
    }

    /// Asks; the answer arrives through [`Desk::events`]. A request still in flight goes on;
    /// this one is answered after it.
    pub fn ask(&self, words: &str, settings: Settings, analysis: Option<Arc<TrackAnalysis>>) {
        let cancel = CancelToken::new();
        *self.cancel.lock().unwrap_or_else(PoisonError::into_inner) = cancel.clone();
        // A closed channel means the thread is gone; the window shows no answer.
        let _ = self.jobs.send(Job::Ask { words: words.into(), settings, analysis, cancel });
    }

    /// Records in the audit log what happened to the answer to `request_id`.
    pub fn record(&self, request_id: &str, what: Record) {
        let _ = self.jobs.send(Job::Record { request_id: request_id.into(), what });
    }

    /// Cancels the request in flight.
    pub fn cancel(&self) {
        self.cancel.lock().unwrap_or_else(PoisonError::into_inner).cancel();
    }

    /// Everything that arrived since the last call.
    pub fn events(&self) -> Vec<Event> {
        let mut out = Vec::new();
        loop {
            match self.events.try_recv() {
                Ok(e) => out.push(e),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return out,
            }
        }
    }
}

impl Drop for Desk {
    fn drop(&mut self) {
        self.cancel();
        let _ = self.jobs.send(Job::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The assistant the configuration asks for, and how to describe it.
fn build(paths: Option<&Paths>) -> (Option<Assistant>, Answering) {
    let embedded = |warning| (None, Answering { label: "embedded engine".into(), warning });
    let Some(paths) = paths else { return embedded(None) };
    let loaded = config::load(paths);
    let warning = loaded.notice();
    let config = loaded.config;
    let Some(model) = config.model_for(config.tier_for(super::llm::Task::Chat)).cloned() else {
        return embedded(warning);
    };
    let (prices, _) = Prices::load(&paths.config);
    match Assistant::new(config, prices, Some(paths)) {
        Ok(a) => (Some(a), Answering { label: format!("{} ({})", model.model, model.provider), warning }),
        Err(e) => embedded(Some(format!("the assistant could not start its network client: {e}"))),
    }
}

/// Sees every piece of text a turn streams, on the assistant thread, before the window does;
/// a panic in it is a panic in the turn. For tests of the thread's panic guard: the plugin
/// passes none.
#[doc(hidden)]
pub type Tap = Box<dyn FnMut(&str) + Send>;

/// The assistant thread's state.
struct Worker {
    /// Where the configuration is (kept to rebuild the assistant).
    paths: Option<Paths>,
    assistant: Option<Assistant>,
    dialogue: Dialogue,
    answering: Arc<Mutex<Answering>>,
    events: Sender<Event>,
    tap: Option<Tap>,
}

impl Worker {
    fn serve(mut self, jobs: Receiver<Job>) {
        while let Ok(job) = jobs.recv() {
            let stop = match job {
                Job::Ask { words, settings, analysis, cancel } => !self.ask(&words, settings, analysis, &cancel),
                Job::Stop => true,
                other => {
                    // A panic here (reading the configuration, writing the audit log) must not
                    // end the thread either; the model side is rebuilt (see `ask`).
                    if catch_unwind(AssertUnwindSafe(|| self.other(other))).is_err() {
                        self.rebuild();
                    }
                    false
                }
            };
            if stop {
                return;
            }
        }
    }

    fn other(&mut self, job: Job) {
        match job {
            Job::Record { request_id, what } => {
                if let Some(router) = self.assistant.as_ref().map(Assistant::router) {
                    // The audit log is a record, never a reason to fail.
                    let _ = match what {
                        Record::Applied => router.mark(&request_id, true),
                        Record::Undone => router.mark(&request_id, false),
                        Record::Rated(up) => router.feedback(&request_id, up),
                    };
                }
            }
            Job::SetLang(lang) => self.dialogue.set_lang(lang),
            Job::Reload(paths) => {
                self.paths = paths;
                self.rebuild();
            }
            Job::Ask { .. } | Job::Stop => {}
        }
    }

    /// The assistant again from the configuration (the old client goes first: one runtime at
    /// a time).
    fn rebuild(&mut self) {
        drop(self.assistant.take());
        let (rebuilt, now) = match catch_unwind(|| build(self.paths.as_ref())) {
            Ok(built) => built,
            Err(_) => (None, Answering { label: "embedded engine".into(), warning: Some(BUILD_FAILED.into()) }),
        };
        self.assistant = rebuilt;
        *self.answering.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }

    /// Answers one question; `false` when the window is gone.
    ///
    /// A panic in the turn (a bug, in this code or a crate it uses, reached by what a model or
    /// the musician wrote) is caught: the window is told the turn failed, the embedded engine
    /// answers it, and the next turn works. Why going on after it is sound
    /// (`AssertUnwindSafe`): the dialogue is changed only once a turn's answer is complete
    /// ([`Dialogue::ask`] remembers it last; a panic in between leaves the dialogue as it
    /// was); the model side (its runtime, its router's locks, cache and counters) may be
    /// left half-way, so it is dropped and built again from the configuration; the event
    /// channel holds whole events only.
    fn ask(
        &mut self,
        words: &str,
        settings: Settings,
        analysis: Option<Arc<TrackAnalysis>>,
        cancel: &CancelToken,
    ) -> bool {
        let grounds = Grounds { settings: &settings, analysis: analysis.as_deref(), segment: None, audio: None };
        let asked = catch_unwind(AssertUnwindSafe(|| {
            let (events, tap) = (&self.events, &mut self.tap);
            let mut sink = |e: Streamed<'_>| {
                if let (Some(tap), Streamed::Text(text)) = (tap.as_mut(), &e) {
                    tap(text);
                }
                let _ = events.send(match e {
                    Streamed::Text(t) => Event::Text(t.to_string()),
                    Streamed::Restart => Event::Restart,
                });
            };
            self.dialogue.ask(words, grounds, self.assistant.as_ref(), cancel, Some(&mut sink))
        }));
        let turn = match asked {
            Ok(turn) => turn,
            Err(panic) => {
                // What was streamed of the failed answer is void.
                let _ = self.events.send(Event::Restart);
                self.rebuild();
                self.after_panic(words, grounds, cancel, &panic_text(panic.as_ref()))
            }
        };
        self.events.send(Event::Turn(Box::new(turn))).is_ok()
    }

    /// The embedded engine's answer to a turn that panicked, with a note saying so.
    fn after_panic(&mut self, words: &str, grounds: Grounds<'_>, cancel: &CancelToken, what: &str) -> Turn {
        let engine = catch_unwind(AssertUnwindSafe(|| self.dialogue.ask(words, grounds, None, cancel, None)));
        match engine {
            Ok(mut turn) => {
                turn.note = Some(failed_note(turn.lang, what));
                turn
            }
            // The engine too: nothing to show but the failure.
            Err(panic) => {
                let lang = lang::detect(&excerpt_to(words, engine::MAX_MESSAGE_CHARS));
                Turn {
                    words: excerpt(words).into_owned(),
                    lang,
                    message: failed_note(lang, &panic_text(panic.as_ref())),
                    by: Answerer::Engine,
                    note: None,
                    changes: ChangeSet::default(),
                    rejected: Vec::new(),
                    command: false,
                    streamed: false,
                    cancelled: false,
                    request_id: None,
                    checked: None,
                }
            }
        }
    }
}

/// What the window says when the assistant could not be rebuilt after a failure.
const BUILD_FAILED: &str =
    "the assistant failed while reading its configuration (an internal error); the embedded engine answers";

/// A panic's message, short.
fn panic_text(panic: &(dyn Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown");
    excerpt(text).into_owned()
}

/// The note of a turn that failed.
fn failed_note(lang: Lang, what: &str) -> String {
    match lang {
        Lang::En => format!("This turn failed (an internal error: {what}); the embedded engine answered instead."),
        Lang::Fr => format!("Ce tour a échoué (une erreur interne : {what}) ; le moteur intégré a répondu à la place."),
    }
}
