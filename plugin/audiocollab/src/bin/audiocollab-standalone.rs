//! The plugin as a standalone application, to open the window and play audio without a DAW.
//! `audiocollab-standalone --backend dummy` runs with no audio hardware (used by the tests).

fn main() {
    nice_plug::nice_export_standalone::<audiocollab::AudioCollab>();
}
