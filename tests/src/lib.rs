//! Integration tests for AudioCollab Assistant that need more than the plugin crate itself.
//!
//! [`clap_host`] is a small CLAP host (built on `clack-host`) that loads the real `.clap` built
//! by the same `cargo test` invocation, and [`vst3_host`] loads the same library as a VST3 module;
//! the tests live in `tests/tests/`. [`signals`] holds the seeded test signals and the offline
//! reference renders both host tests compare against. [`music`] composes and renders seeded
//! MIDI test music with a known ground truth, [`key_eval`] holds the key detector's tuning and
//! held-out sets, [`voice`] has `espeak-ng` speak test sentences.
//! [`cli`] runs the `audiocollab` binary; [`fake_llm`] stands in for the model APIs.
//! [`advice_eval`] is the advice evaluation on real music (`cargo xtask eval-advice`).
#![deny(missing_docs)]

pub mod advice_eval;
pub mod clap_host;
pub mod cli;
pub mod fake_llm;
mod harness;
pub mod key_eval;
pub mod music;
pub mod signals;
pub mod voice;
pub mod vst3_host;
