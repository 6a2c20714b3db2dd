//! The assistant: turns measurements and the musician's words into parameter changes with
//! reasons. Off the audio thread; nothing here depends on the plugin framework.
//!
//! * [`actions`]: the wire type a model or the embedded engine emits, and the validated
//!   [`actions::ChangeSet`] that alone may reach the parameters.
//! * [`names`]: friendly parameter names in French and English.
//! * [`llm`]: tasks, tiers, provider-neutral requests and errors shared by the providers
//!   and the router.
//! * [`commands`]: direct commands ("monte les aigus de 2 dB", "pan left 30%").

pub mod actions;
pub mod commands;
pub mod llm;
pub mod names;
pub mod provider;
