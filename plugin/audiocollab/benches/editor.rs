//! Frame time of the window: one whole frame of the editor (layout of every widget, the
//! spectrum's FFT of a frame's worth of new audio, the meters, the findings timeline, the chat
//! panel with a conversation) and egui's tessellation into triangles, on the CPU. What the GPU
//! does with the triangles afterwards is not counted.
//!
//! The window shows the bundled demo's analysis and receives 1/30 s of its audio per frame, as
//! at 30 frames per second during playback.
//!
//! `cargo bench -p audiocollab --bench editor`

use audiocollab::bridge::{push_scope, scope_ring, Meters};
use audiocollab::editor::headless::{self, Headless};
use audiocollab::editor::Editor;
use audiocollab::panel::Panel;
use audiocollab::params::AudioCollabParams;
use audiocollab_assistant::desk::Desk;
use audiocollab_core::offline::read_audio;
use criterion::{criterion_group, criterion_main, Criterion};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

fn frame(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/demo.flac");
    let audio = read_audio(&path).expect("demo");
    let worker = headless::worker_for(&audio).expect("analysis");
    let params = Arc::new(AudioCollabParams::default());
    // A conversation with a reply and its cards, as after a first question.
    let desk = Desk::spawn(None).expect("assistant thread");
    let mut panel = Panel::new(params.chat.clone());
    panel.ask("rends les voix plus claires", &desk, params.settings(), worker.latest());
    while panel.is_waiting() {
        std::thread::sleep(std::time::Duration::from_millis(5));
        panel.poll(&desk, None);
    }
    assert!(panel.entries().last().is_some_and(|e| !e.cards.is_empty()), "the reply has cards");
    let meters = Arc::new(Meters::default());
    meters.sample_rate.store(audio.sample_rate as f32, Ordering::Relaxed);
    meters.channels.store(audio.channels.len() as u32, Ordering::Relaxed);
    let slot = Arc::new(OnceLock::new());
    let _ = slot.set(worker);
    let (mut scope, scope_rx) = scope_ring();
    let mut editor = Editor::new(params, meters, slot, scope_rx);
    let ctx = egui::Context::default();
    let (_host, gui) = Headless::new();
    editor.open(&ctx, gui, None);

    let input = || egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1520.0, 760.0))),
        predicted_dt: 1.0 / 30.0,
        ..Default::default()
    };

    let per_frame = audio.sample_rate as usize / 30;
    let mut position = 0;
    let (left, right) = (&audio.channels[0], audio.channels.get(1).unwrap_or(&audio.channels[0]));
    c.bench_function("editor frame (1520x760, playing)", |b| {
        b.iter(|| {
            let start = position % (left.len() - per_frame);
            push_scope(&mut scope, &[&left[start..start + per_frame], &right[start..start + per_frame]]);
            position += per_frame;
            let mut output = ctx.run_ui(input(), |ui| editor.show(ui));
            // No GPU here to upload the font atlas to.
            output.textures_delta.clear();
            ctx.tessellate(std::mem::take(&mut output.shapes), output.pixels_per_point)
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(200);
    targets = frame
}
criterion_main!(benches);
