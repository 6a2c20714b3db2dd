//! The assistant: turns measurements and the musician's words into parameter changes with
//! reasons. Off the audio thread; nothing here depends on the plugin framework or the window
//! (the plugin crate draws the chat and owns the host gestures).
//!
//! * [`actions`]: the wire type a model or the embedded engine emits, and the validated
//!   [`actions::ChangeSet`] that alone may reach the parameters.
//! * [`names`]: friendly parameter names in French and English.
//! * [`brief`]: the measurements as a language model reads them (no audio, no file names).
//! * [`llm`]: tasks, tiers, provider-neutral requests and errors shared by the providers
//!   and the router.
//! * [`commands`]: direct commands ("monte les aigus de 2 dB", "pan left 30%").
//! * [`engine`]: the embedded offline engine (the default assistant) and [`suggest`], its
//!   findings-to-changes rules.
//! * [`history`]: the undo/redo history of applied change sets.
//! * [`knowledge`]: the how-to knowledge base (`assets/knowledge/`), French and English.
//! * [`provider`]: the OpenAI, Anthropic and OpenAI-compatible clients (HTTP, streaming).
//! * [`desk`]: the assistant's thread in the plugin (the chat panel's logic is the plugin
//!   crate's `panel`).
//! * [`session`]: a conversation about one track (who answers, pending changes, undo).
//! * [`stream`]: the `message` of a reply while it streams, for display.
//! * [`verify`]: the closed loop: a suggestion played through the chain on the audio and
//!   measured again before it is shown.
//! * [`route`]: which model answers which task, with the cache, budgets, rate limits,
//!   fallbacks and the audit log in between.

#![deny(missing_docs)]

pub mod actions;
pub mod brief;
pub mod commands;
pub mod desk;
pub mod engine;
pub mod history;
pub mod knowledge;
pub mod llm;
pub mod names;
pub mod provider;
pub mod route;
pub mod session;
pub mod stream;
pub mod suggest;
pub mod verify;
