//! Helpers shared by the plugin crate's integration tests: the core crate's (the seeded
//! generator, the demo song and its analysis) and the chat panel's.
#![allow(dead_code, unused_imports)]

#[path = "../../../core/tests/common/mod.rs"]
mod core_common;
pub use core_common::*;

/// Polls the panel until the assistant's answer is in (a generous deadline, not a speed
/// test), applying what applies at once to `writer`.
pub fn wait_for_answer(
    panel: &mut audiocollab::panel::Panel,
    desk: &audiocollab_assistant::desk::Desk,
    mut writer: Option<&mut audiocollab_core::spec::Settings>,
) {
    use audiocollab::panel::ParamWriter;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while panel.is_waiting() {
        assert!(std::time::Instant::now() < deadline, "no answer from the assistant thread");
        std::thread::sleep(std::time::Duration::from_millis(10));
        panel.poll(desk, writer.as_mut().map(|w| &mut **w as &mut dyn ParamWriter));
    }
}
