//! The assistant's thread in the plugin: the window asks, this thread answers, the audio thread
//! never waits on either.
//!
//! [`Desk::spawn`] starts one thread that owns the [`Conversation`] and, when the user's
//! configuration names a model, the [`Assistant`] (one HTTP client and tokio runtime for the
//! plugin instance). The window sends the musician's words with the settings and analysis of
//! the moment ([`Desk::ask`]) and polls [`Desk::events`] every frame: pieces of a streamed
//! answer, then the finished [`Turn`]. [`Desk::cancel`] stops a request in flight.
//! [`Desk::set_lang`] fixes the language of the answers; [`Desk::reload`] reads the user's
//! configuration again (the settings view saved it) and rebuilds the [`Assistant`] on the
//! thread, after the request in flight if there is one.
//!
//! The changes of a turn are not applied here: the window applies them through the host's
//! parameter gestures, so automation and the host's undo see them.

use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use super::lang::Lang;
use super::provider::CancelToken;
use super::route::config;
use super::route::prices::Prices;
use super::route::router::Streamed;
use super::route::Paths;
use super::session::{Assistant, Conversation, Turn};
use crate::analysis::track::TrackAnalysis;
use crate::spec::Settings;

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
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (event_tx, events) = mpsc::channel::<Event>();
        let (assistant, answering) = build(paths.as_ref());
        let answering = Arc::new(Mutex::new(answering));
        let shared = answering.clone();
        let thread = std::thread::Builder::new()
            .name("audiocollab-assistant".into())
            .spawn(move || serve(job_rx, event_tx, assistant, &shared))?;
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

fn serve(jobs: Receiver<Job>, events: Sender<Event>, assistant: Option<Assistant>, answering: &Mutex<Answering>) {
    let mut assistant = assistant;
    let mut conversation = Conversation::new(None, Settings::default());
    while let Ok(job) = jobs.recv() {
        let (words, settings, analysis, cancel) = match job {
            Job::Ask { words, settings, analysis, cancel } => (words, settings, analysis, cancel),
            Job::Record { request_id, what } => {
                if let Some(router) = assistant.as_ref().map(Assistant::router) {
                    // The audit log is a record, never a reason to fail.
                    let _ = match what {
                        Record::Applied => router.mark(&request_id, true),
                        Record::Undone => router.mark(&request_id, false),
                        Record::Rated(up) => router.feedback(&request_id, up),
                    };
                }
                continue;
            }
            Job::SetLang(lang) => {
                conversation.set_lang(lang);
                continue;
            }
            Job::Reload(paths) => {
                // The old client goes first: one runtime at a time.
                drop(assistant.take());
                let (rebuilt, now) = build(paths.as_ref());
                assistant = rebuilt;
                *answering.lock().unwrap_or_else(PoisonError::into_inner) = now;
                continue;
            }
            Job::Stop => return,
        };
        conversation.set_settings(settings);
        conversation.set_analysis(analysis.map(|a| (*a).clone()));
        let mut sink = |e: Streamed<'_>| {
            let _ = events.send(match e {
                Streamed::Text(t) => Event::Text(t.to_string()),
                Streamed::Restart => Event::Restart,
            });
        };
        let turn = conversation.ask(&words, assistant.as_ref(), &cancel, Some(&mut sink));
        // Proposals wait in the window, not here.
        conversation.reject_pending();
        if events.send(Event::Turn(Box::new(turn))).is_err() {
            return;
        }
    }
}
