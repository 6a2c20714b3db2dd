//! The drawn window without a window: the real editor (`Editor::show`) driven through egui by
//! egui_kittest, which finds widgets through AccessKit, clicks and types like a musician. A
//! host stand-in records the parameter gestures and sets the values, as a DAW does.
//!
//! The analysis worker is the real one, fed by the statistics meter over the bundled demo, so
//! the meters and the assistant see real measurements.

mod common;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use audiocollab::bridge::{scope_ring, Meters};
use audiocollab::editor::headless::{self, Gesture, Headless};
use audiocollab::editor::Editor;
use audiocollab::live::AnalysisWorker;
use audiocollab::params::AudioCollabParams;
use audiocollab_core::offline::read_audio;
use audiocollab_core::spec::{ParamId, Settings};
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use nice_plug::context::gui::GuiContext;

/// A worker that has analysed the demo as the plugin's audio thread would have fed it.
fn demo_worker() -> Arc<AnalysisWorker> {
    headless::worker_for(&read_audio(&common::demo_path()).expect("demo")).expect("analysis worker")
}

struct Window {
    harness: Harness<'static, Editor>,
    params: Arc<AudioCollabParams>,
    host: Arc<Headless>,
    worker: Arc<AnalysisWorker>,
}

fn open_window() -> Window {
    let params = Arc::new(AudioCollabParams::default());
    let meters = Arc::new(Meters::default());
    meters.sample_rate.store(48_000.0, Ordering::Relaxed);
    meters.channels.store(2, Ordering::Relaxed);
    let worker = demo_worker();
    let slot = Arc::new(OnceLock::new());
    let _ = slot.set(worker.clone());
    let (_scope_tx, scope_rx) = scope_ring();
    let editor = Editor::new(params.clone(), meters, slot, scope_rx);
    let mut harness = Harness::builder()
        .with_size([1520.0, 760.0])
        .with_max_steps(1_000)
        .build_ui_state(|ui, e: &mut Editor| e.show(ui), editor);
    let (host, gui) = Headless::new();
    let ctx = harness.ctx.clone();
    harness.state_mut().open(&ctx, gui, None);
    harness.step();
    Window { harness, params, host, worker }
}

impl Window {
    /// Steps frames until `found` holds (a generous deadline: the assistant answers on its
    /// own thread).
    fn step_until(&mut self, what: &str, found: impl Fn(&Harness<'static, Editor>) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            self.harness.step();
            if found(&self.harness) {
                return;
            }
            assert!(Instant::now() < deadline, "{what} never appeared");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn settings(&self) -> Settings {
        self.params.settings()
    }

    /// Every parameter equals `expected` (to the float round trip of a host's normalised value).
    fn assert_settings(&self, expected: &Settings) {
        let now = self.settings();
        for id in ParamId::ALL {
            let (a, b) = (now.get(id), expected.get(id));
            assert!((a - b).abs() <= 1e-4 * b.abs().max(1.0), "{}: {a} vs {b}", id.spec().id);
        }
    }

    /// Clicks into the message box and types `text` (not sent yet).
    fn type_message(&mut self, text: &str) {
        self.harness.get_by_role(egui::accesskit::Role::TextInput).focus();
        self.harness.step();
        self.harness.get_by_role(egui::accesskit::Role::TextInput).type_text(text);
        self.harness.step();
    }

    fn click(&mut self, label: &str) {
        self.harness.get_by_label(label).click();
        self.harness.step();
        self.harness.step();
    }
}

#[test]
fn typing_applying_ab_and_undo_in_the_drawn_window() {
    let mut w = open_window();
    let defaults = w.settings();

    // The meters read the worker's loudness of the demo.
    let integrated = w.worker.levels().loudness.integrated_lufs.expect("the demo is not silent");
    let shown = format!("{integrated:.1}");
    w.step_until("the integrated loudness", |h| h.query_by_label(&shown).is_some());
    println!("meters show {shown} LUFS integrated");

    // Type in the message box and press Enter.
    w.type_message("rends les voix plus claires");
    w.harness.key_press(egui::Key::Enter);
    w.harness.step();
    w.step_until("the answer's cards", |h| h.query_by_label("Apply all").is_some());
    assert!(w.harness.query_by_label_contains("Voix plus claires").is_some(), "the reply is shown");
    assert!(w.harness.query_all_by_label("Apply").count() >= 2, "one Apply per card");
    assert_eq!(w.settings(), defaults, "a proposal moves nothing by itself");

    // Apply all: the EQ and de-esser move, through complete host gestures.
    w.host.take_gestures();
    w.click("Apply all");
    let applied = w.settings();
    // The presence boost, sized from the measured 2–5 kHz deviation: 1 to 3 dB.
    let presence = applied.get(ParamId::Bell2Gain);
    assert!((1.0..=3.0).contains(&presence), "{presence}");
    assert!(applied.on(ParamId::DeessOn));
    let gestures = w.host.take_gestures();
    assert!(!gestures.is_empty());
    for triple in gestures.chunks(3) {
        let [Gesture::Begin(a), Gesture::Set(b), Gesture::End(c)] = triple else {
            panic!("not a begin/set/end gesture: {triple:?}");
        };
        assert!(a == b && b == c, "{triple:?}");
    }
    assert!(w.harness.query_all_by_label("applied").count() >= 2);

    // A/B: back to the settings before, loudness-matched, then after again.
    w.click("B (after)");
    assert!(!w.settings().on(ParamId::DeessOn), "A plays the settings before");
    w.click("A (before)");
    assert_eq!(w.settings().get(ParamId::Bell2Gain), presence);
    assert!(w.settings().on(ParamId::DeessOn));

    // Undo restores every parameter; Redo brings the set back.
    w.click("Undo");
    w.assert_settings(&defaults);
    w.click("Redo");
    w.assert_settings(&applied);
}

#[test]
fn a_command_sent_before_the_window_closed_applies_when_it_reopens() {
    let mut w = open_window();
    w.type_message("baisse la sortie de 2 dB");
    // Enter goes down, and in the same frame the window closes (the answer comes later).
    w.harness.key_down(egui::Key::Enter);
    w.harness.step();
    w.harness.state_mut().close();
    std::thread::sleep(Duration::from_millis(500));
    w.harness.step();
    assert_eq!(w.settings().get(ParamId::OutputGain), 0.0);
    // It opens again: the command applies through the host.
    let ctx = w.harness.ctx.clone();
    w.harness.state_mut().open(&ctx, GuiContext::new(w.host.clone()), None);
    w.step_until("the command applied", |h| h.query_by_label("applied").is_some());
    assert!((w.settings().get(ParamId::OutputGain) + 2.0).abs() < 1e-6, "{}", w.settings().get(ParamId::OutputGain));
}

#[test]
fn the_meters_reset_button_starts_the_loudness_again() {
    let mut w = open_window();
    assert!(w.worker.levels().loudness.integrated_lufs.is_some());
    w.click("Reset");
    let deadline = Instant::now() + Duration::from_secs(30);
    while w.worker.levels().loudness.duration_s > 0.0 {
        assert!(Instant::now() < deadline, "the meters were not reset");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(w.worker.levels().loudness.integrated_lufs, None);
    // The analysis (and the findings timeline) is untouched.
    assert!(w.worker.latest().is_some_and(|a| a.duration_s > 10.0));
    w.step_until("the reset integrated reading", |h| h.query_all_by_label("-inf").count() >= 3);
}

#[test]
fn clicking_the_findings_timeline_asks_about_that_stretch() {
    let mut w = open_window();
    let analysis = w.worker.latest().expect("analysis");
    assert!(!analysis.sections.is_empty(), "the demo has sections");
    w.click("Findings timeline");
    // The middle of the timeline: a finding there, or else the section around it.
    w.step_until("the question about the stretch", |h| h.query_by_label_contains("What happens between").is_some());
    let question = w.params.chat.read().unwrap().entries[0].text.clone();
    println!("asked: {question}");
    let middle = w.worker.levels().stream_s / 2.0;
    let clock = |s: &str| {
        let (m, s) = s.split_once(':').expect("m:ss");
        m.parse::<f64>().unwrap() * 60.0 + s.parse::<f64>().unwrap()
    };
    let times: Vec<f64> =
        question.trim_start_matches("What happens between ").trim_end_matches('?').split(" and ").map(clock).collect();
    assert!(times[0] <= middle + 1.0 && middle - 1.0 <= times[1], "{times:?} around {middle}");
    // The engine answers about that stretch.
    w.step_until("the answer", |h| h.query_all_by_label_contains("LUFS").count() > 0);
    assert!(w.params.chat.read().unwrap().entries.len() >= 2);
}
