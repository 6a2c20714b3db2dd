//! The chat panel's logic, apart from its drawing: the conversation as the project saves it,
//! sending, streaming, suggestion cards with Apply / Reject, undo / redo, a loudness-matched
//! A/B, applies that wait while the window is closed, and auto-apply (a preference of the
//! project, off by default): proposals then apply as they arrive, through the same path as
//! "Apply all", undoable, and the answer says so.
//!
//! The panel is the one owner of the plugin's conversation as the musician sees it: the
//! messages, the cards with the validated changes of each answer, what was applied and undone,
//! A/B. The assistant thread ([`Desk`]) only answers: it keeps what a model is told and hands
//! each answer over as a [`Turn`], keeping no proposal and no history. Why this side: Apply,
//! Undo and A/B move the host's parameters, on the window's thread and within a frame, while
//! the assistant thread may be busy for seconds with a model (see
//! [`audiocollab_assistant::session`]).
//!
//! A card holds its answer's [`Change`] as the validator made it, and Apply writes it as it is
//! (from the value now, so Undo puts back what was there). Parameters are written through a
//! [`ParamWriter`]: in the window, nice-plug's `ParamSetter` (one begin / set / end gesture per
//! parameter, so the host records automation and its own undo); in tests, a plain
//! [`Settings`]. The saved conversation is untrusted (a project file): each saved card is
//! checked once, when the project loads, by the same checks as a reply's change
//! ([`Change::restore`]); one that fails them is skipped, a value out of range is clamped.
//!
//! The saved conversation outlives this version: it is written with a version number
//! ([`crate::state::STATE_VERSION`]) and read leniently ([`ChatLog`]'s `From<serde_json::Value>`): a field this
//! version does not know is ignored, and a message or card it cannot read (an unknown kind or
//! state, a wrong type) is skipped on its own while the rest is kept. Reading never fails, so
//! nice-plug never drops the whole conversation (and a save never loses it for good).

use std::borrow::Cow;
use std::sync::{Arc, PoisonError, RwLock};

use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::prefs::Prefs;
use crate::state::STATE_VERSION;
use audiocollab_assistant::actions::{Change, ChangeSet, MAX_CHANGES};
use audiocollab_assistant::desk::{Desk, Event, Record};
use audiocollab_assistant::engine;
use audiocollab_assistant::history::{Applied, History};
use audiocollab_assistant::names;
use audiocollab_assistant::session::{Answerer, Turn};
use audiocollab_assistant::suggest::estimated_loudness_change;
use audiocollab_core::analysis::track::TrackAnalysis;
use audiocollab_core::lang::{self, Lang};
use audiocollab_core::spec::{ParamId, Settings};
use audiocollab_core::untrusted::excerpt_to;

/// Most entries kept in the saved conversation; the oldest go first.
pub const MAX_ENTRIES: usize = 200;

/// The kind of every entry this version writes (`kind` in the saved conversation); an entry of
/// another kind comes from a later version and is skipped.
const MESSAGE_KIND: &str = "message";

/// Writes parameters the host can see.
pub trait ParamWriter {
    /// The values now.
    fn settings(&self) -> Settings;
    /// Sets each `(parameter, plain value)`, one host gesture each.
    fn write(&mut self, changes: &[(ParamId, f32)]);
}

impl ParamWriter for Settings {
    fn settings(&self) -> Settings {
        *self
    }

    fn write(&mut self, changes: &[(ParamId, f32)]) {
        for &(p, v) in changes {
            self.set(p, p.spec().clamp(v));
        }
    }
}

/// Where a card stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardState {
    /// Proposed, waiting for the musician.
    #[default]
    Proposed,
    /// Applied, waiting for the window to open (the parameters can only move then).
    Waiting,
    /// Applied.
    Applied,
    /// Rejected.
    Rejected,
    /// Undone after being applied.
    Undone,
}

/// One proposed change, as shown and saved (read back by [`Card::from_saved`]): the validated
/// change of an answer, its evidence as text, and where it stands. Made only from an answer's
/// validated changes or from a saved card checked again, so its change is always a valid one.
#[derive(Clone, Debug, PartialEq)]
pub struct Card {
    /// The change as validated (without its adjustments and structured evidence: a card shows
    /// and saves neither).
    change: Change,
    /// The measurement behind it, as text ("mud 0:00–0:18: +6.6 dB").
    evidence: Option<String>,
    /// Where it stands.
    pub state: CardState,
}

impl Card {
    /// A card for a validated change of an answer, proposed.
    fn proposed(change: &Change, evidence: Option<String>) -> Card {
        let change = Change { evidence: None, adjustments: Vec::new(), ..change.clone() };
        Card { change, evidence, state: CardState::Proposed }
    }

    /// The change: its parameter, value when proposed (`from`), proposed value (`to`), plain
    /// units, and why.
    pub fn change(&self) -> &Change {
        &self.change
    }

    /// The measurement behind it, as text ("mud 0:00–0:18: +6.6 dB").
    pub fn evidence(&self) -> Option<&str> {
        self.evidence.as_deref()
    }

    /// "Bell 1 Gain: 0.0 dB -> -6.0 dB", "Gain cloche 1 : 0,0 dB -> -6,0 dB" (ASCII arrow: the
    /// window's fonts have no arrow).
    pub fn describe(&self, lang: Lang) -> String {
        let c = &self.change;
        names::describe_change(c.param, c.from, c.to, lang, "->")
    }
}

impl Serialize for Card {
    /// `{"param": id, "from", "to", "reason", "evidence", "state"}`: the saved form.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Saved<'a> {
            param: &'a str,
            from: f32,
            to: f32,
            reason: &'a str,
            evidence: &'a Option<String>,
            state: CardState,
        }
        let c = &self.change;
        let saved = Saved {
            param: c.param.spec().id,
            from: c.from,
            to: c.to,
            reason: &c.reason,
            evidence: &self.evidence,
            state: self.state,
        };
        saved.serialize(serializer)
    }
}

/// One message of the conversation, as shown and saved (read back by [`Entry::from_saved`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Entry {
    /// Written by the musician (else by the assistant).
    pub from_musician: bool,
    /// The text.
    pub text: String,
    /// Who answered ("embedded engine", "gpt-4o-mini · openai").
    pub by: String,
    /// What the answer cost ("321+42 tokens, $0.0004"), when a model answered.
    pub cost: Option<String>,
    /// A fallback or error note.
    pub note: Option<String>,
    /// The proposed changes.
    pub cards: Vec<Card>,
    /// What the validator refused, "param: reason".
    pub refused: Vec<String>,
    /// Thumbs up (`true`) or down.
    pub feedback: Option<bool>,
    /// The audit id of the model request.
    pub request_id: Option<String>,
    /// Its proposals were applied by auto-apply, not by a click.
    pub auto_applied: bool,
}

/// The conversation the project saves (plugin state, `chat`): `{"version": 1, "entries":
/// [{"kind": "message", …Entry's fields}]}`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(from = "serde_json::Value")]
pub struct ChatLog {
    /// Oldest first.
    pub entries: Vec<Entry>,
}

impl Serialize for ChatLog {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Saved<'a> {
            version: u32,
            entries: Vec<SavedEntry<'a>>,
        }
        #[derive(Serialize)]
        struct SavedEntry<'a> {
            kind: &'static str,
            #[serde(flatten)]
            entry: &'a Entry,
        }
        let entries = self.entries.iter().map(|entry| SavedEntry { kind: MESSAGE_KIND, entry }).collect();
        Saved { version: STATE_VERSION, entries }.serialize(serializer)
    }
}

impl From<Value> for ChatLog {
    /// Whatever the project holds, from this version, an older or a later one: every entry
    /// this version can read ([`Entry::from_saved`]), the newest [`MAX_ENTRIES`]. Never fails.
    fn from(value: Value) -> ChatLog {
        let entries = match value.get("entries") {
            Some(Value::Array(saved)) => saved.iter().filter_map(Entry::from_saved).collect(),
            _ => Vec::new(),
        };
        let mut log = ChatLog { entries };
        trim(&mut log);
        log
    }
}

impl Entry {
    /// The language the entry is read in: `forced` (the project's answer language) or that of
    /// its text. An answer is written in its turn's language, so its cards are described in
    /// it too; the saved conversation keeps no language of its own.
    pub fn lang(&self, forced: Option<Lang>) -> Lang {
        forced.unwrap_or_else(|| lang::detect(&self.text))
    }

    /// A saved entry, if this version can read it: an object of the message kind (or of no
    /// kind: before versions) with a text. Every other field that is missing or of the wrong
    /// type is its default; a card or refusal that cannot be read is skipped on its own.
    pub fn from_saved(value: &Value) -> Option<Entry> {
        let saved = value.as_object()?;
        if saved.get("kind").is_some_and(|kind| kind != MESSAGE_KIND) {
            return None;
        }
        let list = |name: &str| saved.get(name).and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        Some(Entry {
            from_musician: flag(saved, "from_musician"),
            text: saved.get("text")?.as_str()?.to_string(),
            by: text(saved, "by").unwrap_or_default(),
            cost: text(saved, "cost"),
            note: text(saved, "note"),
            // At most as many as one answer may propose.
            cards: list("cards").iter().filter_map(Card::from_saved).take(MAX_CHANGES).collect(),
            refused: list("refused").iter().filter_map(|r| r.as_str().map(String::from)).collect(),
            feedback: saved.get("feedback").and_then(Value::as_bool),
            request_id: text(saved, "request_id"),
            auto_applied: flag(saved, "auto_applied"),
        })
    }
}

impl Card {
    /// A saved card, if this version can read it and its change passes the checks of a
    /// reply's ([`Change::restore`]): a known parameter id, finite `from` and `to` (clamped
    /// into the range, the move limited to a step), and a state this version knows (a card in
    /// a later version's state is skipped rather than guessed at: it could offer again a change
    /// already made). Missing `reason`, `evidence` or `state` are their defaults. A card this
    /// version saved reads back the same.
    pub fn from_saved(value: &Value) -> Option<Card> {
        let saved = value.as_object()?;
        let number = |name: &str| saved.get(name)?.as_f64().map(|v| v as f32);
        let state = match saved.get("state") {
            None | Some(Value::Null) => CardState::default(),
            Some(state) => serde_json::from_value(state.clone()).ok()?,
        };
        let reason = text(saved, "reason").unwrap_or_default();
        let change = Change::restore(&text(saved, "param")?, number("from")?, number("to")?, &reason).ok()?;
        Some(Card { change, evidence: text(saved, "evidence"), state })
    }
}

/// A text field of a saved object; `None` when missing or not a string.
fn text(saved: &Map<String, Value>, name: &str) -> Option<String> {
    saved.get(name).and_then(Value::as_str).map(String::from)
}

/// A true/false field of a saved object; `false` when missing or not a boolean.
fn flag(saved: &Map<String, Value>, name: &str) -> bool {
    saved.get(name).and_then(Value::as_bool).unwrap_or(false)
}

/// A/B between the settings before and after the last applied set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ab {
    /// Settings before.
    pub before: Settings,
    /// Settings after.
    pub after: Settings,
    /// How much louder "after" plays, LU (estimated from the analysis).
    pub louder_lu: f64,
    /// Playing "after" (B).
    pub showing_after: bool,
}

/// The panel's state (the window's part that is not drawing).
pub struct Panel {
    log: Arc<RwLock<ChatLog>>,
    prefs: Arc<RwLock<Prefs>>,
    /// The message being typed.
    pub input: String,
    streaming: Option<String>,
    waiting: bool,
    history: History,
    ab: Option<Ab>,
    records: Vec<(String, Record)>,
}

impl Panel {
    /// A panel over the saved conversation `log`.
    pub fn new(log: Arc<RwLock<ChatLog>>) -> Panel {
        Panel {
            log,
            prefs: Arc::default(),
            input: String::new(),
            streaming: None,
            waiting: false,
            history: History::default(),
            ab: None,
            records: Vec::new(),
        }
    }

    /// Reads the answer language and auto-apply from the project's preferences `prefs`
    /// (the defaults otherwise: each message's language, auto-apply off).
    pub fn with_prefs(mut self, prefs: Arc<RwLock<Prefs>>) -> Panel {
        self.prefs = prefs;
        self
    }

    /// The answer language the project forces, if any (else each message's own).
    pub fn forced_lang(&self) -> Option<Lang> {
        self.prefs().lang.lang()
    }

    fn prefs(&self) -> Prefs {
        self.prefs.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// A copy of the conversation.
    pub fn entries(&self) -> Vec<Entry> {
        self.log.read().unwrap_or_else(PoisonError::into_inner).entries.clone()
    }

    fn with_log<R>(&self, f: impl FnOnce(&mut ChatLog) -> R) -> R {
        f(&mut self.log.write().unwrap_or_else(PoisonError::into_inner))
    }

    /// The answer being written, if one is.
    pub fn streaming(&self) -> Option<&str> {
        self.streaming.as_deref()
    }

    /// Waiting for an answer.
    pub fn is_waiting(&self) -> bool {
        self.waiting
    }

    /// Sends what was typed; `false` when there is nothing to send.
    pub fn send(&mut self, desk: &Desk, settings: Settings, analysis: Option<Arc<TrackAnalysis>>) -> bool {
        let words = std::mem::take(&mut self.input);
        self.ask(words.trim(), desk, settings, analysis)
    }

    /// Asks `words` (a quick prompt, or what was typed).
    pub fn ask(&mut self, words: &str, desk: &Desk, settings: Settings, analysis: Option<Arc<TrackAnalysis>>) -> bool {
        if words.is_empty() {
            return false;
        }
        // A paste too long to read is kept (in the project, and on its way to the assistant,
        // which refuses it) cut just past the limit.
        let words = if engine::is_too_long(words) {
            excerpt_to(words, engine::MAX_MESSAGE_CHARS)
        } else {
            Cow::Borrowed(words)
        };
        self.with_log(|log| {
            log.entries.push(Entry { from_musician: true, text: words.to_string(), ..Entry::default() });
            trim(log);
        });
        desk.set_lang(self.prefs().lang.lang());
        desk.ask(&words, settings, analysis);
        self.waiting = true;
        self.streaming = Some(String::new());
        true
    }

    /// Takes what the assistant sent. A command's changes apply at once through `writer`, or
    /// wait (visibly) when there is no writer (window closed).
    pub fn poll(&mut self, desk: &Desk, writer: Option<&mut dyn ParamWriter>) {
        let mut writer = writer;
        for event in desk.events() {
            match event {
                Event::Text(t) => self.streaming.get_or_insert_with(String::new).push_str(&t),
                Event::Restart => self.streaming = Some(String::new()),
                Event::Turn(turn) => {
                    self.streaming = None;
                    self.waiting = false;
                    self.add_turn(&turn, writer.as_deref_mut());
                }
            }
        }
    }

    /// Adds a finished answer to the conversation, its validated changes as cards. A command's
    /// changes (or, with auto-apply, a proposal's) apply at once through `writer`, or wait
    /// (visibly) when there is no writer (window closed).
    pub fn add_turn(&mut self, turn: &Turn, writer: Option<&mut (dyn ParamWriter + '_)>) {
        let proposed = !turn.changes.is_empty();
        let auto = !turn.command && proposed && self.prefs().auto_apply;
        let at_once = (turn.command && proposed) || auto;
        let index = self.with_log(|log| {
            log.entries.push(entry_of(turn));
            trim(log);
            log.entries.len() - 1
        });
        if auto {
            self.with_log(|log| log.entries[index].auto_applied = true);
        }
        if at_once {
            // A command (the musician asked for it) or auto-apply: now, or when possible.
            match writer {
                Some(w) => {
                    let _ = self.apply(index, None, w);
                }
                None => self.with_log(|log| {
                    for c in &mut log.entries[index].cards {
                        c.state = CardState::Waiting;
                    }
                }),
            }
        }
    }

    /// Applies the cards of entry `entry` (one card, or every proposed one): their validated
    /// changes as they are, each from the value now. Returns the changes written.
    pub fn apply(
        &mut self,
        entry: usize,
        card: Option<usize>,
        writer: &mut dyn ParamWriter,
    ) -> Result<ChangeSet, String> {
        let current = writer.settings();
        let (cards, request_id) = self
            .with_log(|log| {
                let e = log.entries.get(entry)?;
                let picked: Vec<(usize, Change)> = e
                    .cards
                    .iter()
                    .enumerate()
                    .filter(|(i, c)| {
                        card.is_none_or(|k| k == *i) && matches!(c.state, CardState::Proposed | CardState::Waiting)
                    })
                    .map(|(i, c)| (i, c.change.clone()))
                    .collect();
                Some((picked, e.request_id.clone()))
            })
            .ok_or("no such message")?;
        if cards.is_empty() {
            return Err("nothing to apply".into());
        }
        let set = ChangeSet::picked(cards.iter().map(|(_, c)| c), &current);
        let before = current;
        let writes: Vec<(ParamId, f32)> = set.changes().iter().map(|c| (c.param, c.to)).collect();
        writer.write(&writes);
        let mut after = before;
        set.apply(&mut after);
        self.with_log(|log| {
            if let Some(e) = log.entries.get_mut(entry) {
                for (i, _) in &cards {
                    if let Some(c) = e.cards.get_mut(*i) {
                        c.state = CardState::Applied;
                    }
                }
            }
        });
        if let Some(id) = &request_id {
            self.records.push((id.clone(), Record::Applied));
        }
        self.history.push(Applied { set: set.clone(), request_id });
        self.ab = Some(Ab { before, after, louder_lu: 0.0, showing_after: true });
        Ok(set)
    }

    /// Applies what waited for the window (commands that arrived while it was closed).
    pub fn apply_waiting(&mut self, writer: &mut dyn ParamWriter) {
        let waiting: Vec<usize> = self.with_log(|log| {
            log.entries
                .iter()
                .enumerate()
                .filter(|(_, e)| e.cards.iter().any(|c| c.state == CardState::Waiting))
                .map(|(i, _)| i)
                .collect()
        });
        for i in waiting {
            let _ = self.apply(i, None, writer);
        }
    }

    /// Whether some applied changes wait for the window.
    pub fn has_waiting(&self) -> bool {
        self.log
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .entries
            .iter()
            .any(|e| e.cards.iter().any(|c| c.state == CardState::Waiting))
    }

    /// Rejects a card (or every proposed card of the entry).
    pub fn reject(&mut self, entry: usize, card: Option<usize>) {
        self.with_log(|log| {
            if let Some(e) = log.entries.get_mut(entry) {
                for (i, c) in e.cards.iter_mut().enumerate() {
                    if card.is_none_or(|k| k == i) && c.state == CardState::Proposed {
                        c.state = CardState::Rejected;
                    }
                }
            }
        });
    }

    /// Takes back the last applied set.
    pub fn undo(&mut self, writer: &mut dyn ParamWriter) -> bool {
        let Some(applied) = self.history.undo() else { return false };
        if let Some(id) = &applied.request_id {
            self.records.push((id.clone(), Record::Undone));
        }
        let inverse = applied.set.inverse();
        let writes: Vec<(ParamId, f32)> = inverse.changes().iter().map(|c| (c.param, c.to)).collect();
        let undone: Vec<ParamId> = applied.set.changes().iter().map(|c| c.param).collect();
        writer.write(&writes);
        self.mark_undone(&undone, CardState::Applied, CardState::Undone);
        self.ab = None;
        true
    }

    /// Applies again the last set undone.
    pub fn redo(&mut self, writer: &mut dyn ParamWriter) -> bool {
        let Some(applied) = self.history.redo() else { return false };
        if let Some(id) = &applied.request_id {
            self.records.push((id.clone(), Record::Applied));
        }
        let writes: Vec<(ParamId, f32)> = applied.set.changes().iter().map(|c| (c.param, c.to)).collect();
        let redone: Vec<ParamId> = applied.set.changes().iter().map(|c| c.param).collect();
        writer.write(&writes);
        self.mark_undone(&redone, CardState::Undone, CardState::Applied);
        true
    }

    /// Whether undo / redo have something to do.
    pub fn can_undo_redo(&self) -> (bool, bool) {
        (self.history.can_undo(), self.history.can_redo())
    }

    /// Moves the newest cards of these parameters from one state to another.
    fn mark_undone(&mut self, params: &[ParamId], from: CardState, to: CardState) {
        self.with_log(|log| {
            for &p in params {
                let card = log
                    .entries
                    .iter_mut()
                    .rev()
                    .flat_map(|e| e.cards.iter_mut())
                    .find(|c| c.change.param == p && c.state == from);
                if let Some(c) = card {
                    c.state = to;
                }
            }
        });
    }

    /// The A/B state, if a set was applied since the last undo.
    pub fn ab(&self) -> Option<&Ab> {
        self.ab.as_ref()
    }

    /// Switches between before (A) and after (B), loudness-matched: the louder side plays
    /// with its output gain lowered by the estimated difference, so "after" does not win by
    /// being louder. Returns whether "after" now plays.
    pub fn toggle_ab(&mut self, writer: &mut dyn ParamWriter, analysis: Option<&TrackAnalysis>) -> Option<bool> {
        let ab = self.ab.as_mut()?;
        if let Some(a) = analysis {
            ab.louder_lu = estimated_loudness_change(a, &ab.before, &ab.after);
        }
        ab.showing_after = !ab.showing_after;
        let (mut side, louder) = if ab.showing_after { (ab.after, ab.louder_lu) } else { (ab.before, -ab.louder_lu) };
        if louder > 0.0 {
            let out = side.get(ParamId::OutputGain) - louder as f32;
            side.set(ParamId::OutputGain, ParamId::OutputGain.spec().clamp(out));
        }
        let writes: Vec<(ParamId, f32)> =
            ParamId::ALL.iter().map(|&p| (p, side.get(p))).filter(|&(p, v)| writer.settings().get(p) != v).collect();
        writer.write(&writes);
        Some(ab.showing_after)
    }

    /// Leaves A/B on "after" as applied (its real output gain).
    pub fn end_ab(&mut self, writer: &mut dyn ParamWriter) {
        if let Some(ab) = self.ab.take() {
            let writes: Vec<(ParamId, f32)> = ParamId::ALL
                .iter()
                .map(|&p| (p, ab.after.get(p)))
                .filter(|&(p, v)| writer.settings().get(p) != v)
                .collect();
            writer.write(&writes);
        }
    }

    /// Records a thumbs up or down on an answer.
    pub fn feedback(&mut self, entry: usize, up: bool) {
        let id = self.with_log(|log| {
            let e = log.entries.get_mut(entry)?;
            e.feedback = Some(up);
            e.request_id.clone()
        });
        if let Some(id) = id {
            self.records.push((id, Record::Rated(up)));
        }
    }

    /// What happened to model answers since the last call, for the audit log
    /// ([`Desk::record`]).
    pub fn take_records(&mut self) -> Vec<(String, Record)> {
        std::mem::take(&mut self.records)
    }
}

fn trim(log: &mut ChatLog) {
    let excess = log.entries.len().saturating_sub(MAX_ENTRIES);
    log.entries.drain(..excess);
}

fn entry_of(turn: &Turn) -> Entry {
    let (by, cost) = match &turn.by {
        Answerer::Engine => ("embedded engine".to_string(), None),
        Answerer::Model { model, cached, usage, usd } => (
            format!("{} · {}", model.model, model.provider),
            Some(if *cached {
                "cached, free".to_string()
            } else {
                format!("{}+{} tokens, ${usd:.4}", usage.input_tokens, usage.output_tokens)
            }),
        ),
    };
    let cards = turn
        .changes
        .changes()
        .iter()
        .map(|c| {
            let evidence = c.evidence.as_ref().map(|e| {
                let what = e.finding.clone().unwrap_or_default();
                let when = match (e.from_s, e.to_s) {
                    (Some(a), Some(b)) => format!(" {}", audiocollab_core::text::clock_span(a, b)),
                    _ => String::new(),
                };
                let value = match (e.value, &e.unit) {
                    (Some(v), Some(u)) => format!(": {v:+.1} {u}"),
                    _ => String::new(),
                };
                format!("{what}{when}{value}")
            });
            Card::proposed(c, evidence)
        })
        .collect();
    Entry {
        from_musician: false,
        text: if turn.cancelled { "(cancelled)".into() } else { turn.message.clone() },
        by,
        cost,
        note: turn.note.clone(),
        cards,
        refused: turn.rejected.iter().map(|r| format!("{}: {}", r.param, r.reason)).collect(),
        feedback: None,
        request_id: turn.request_id.clone(),
        auto_applied: false,
    }
}
