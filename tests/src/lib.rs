//! Integration tests for AudioCollab Assistant that need more than the plugin crate itself.
//!
//! [`clap_host`] is a small CLAP host (built on `clack-host`) that loads the real `.clap` built
//! by the same `cargo test` invocation; the tests live in `tests/tests/`.
#![deny(missing_docs)]

pub mod clap_host;
pub mod music;
pub mod vst3_host;
