//! The plugin window (egui): the spectrum against the genre's target with the EQ curve, the
//! meters, the findings timeline, every parameter (grouped as input, EQ, dynamics, stereo and
//! output), and the assistant's chat panel on the right.
//!
//! Everything here runs on the GUI thread and only while the window is open: the audio thread
//! publishes peaks and copies audio for the spectrum only while [`EguiEditorState::is_open`].
//!
//! Parameters are only ever changed through nice-plug's `ParamSetter` (begin / set / end), so
//! the host records automation and its own undo sees every move.

mod chat;
mod controls;
pub mod headless;
mod meters;
pub mod project;
pub mod reference;
pub mod settings;
pub mod spectrum;
pub mod timeline;

use crate::bridge::Meters;
use crate::live::AnalysisWorker;
use crate::panel::Panel;
use crate::params::AudioCollabParams;
use crate::prefs::Prefs;
use audiocollab_assistant::desk::Desk;
use audiocollab_assistant::route::Paths;
use audiocollab_core::analysis::targets;
use audiocollab_core::analysis::targets::DEFAULT_PLATFORM;
use audiocollab_core::lang::{self, Lang};
use audiocollab_core::spec::ParamId as P;
use egui::{Color32, RichText, Vec2};
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::prelude::*;
use nice_plug_egui::resizable_window::ResizableWindow;
use nice_plug_egui::{create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp, RepaintNotifier};
use std::sync::{Arc, OnceLock};

/// Smallest size at which every group and the chat panel still fit without scrolling.
const MIN_SIZE: LogicalSize<f32> = LogicalSize::new(1520.0, 760.0);
/// Height of the spectrum and the meters.
const SPECTRUM_HEIGHT: f32 = 200.0;
/// Width of the meters.
const METERS_WIDTH: f32 = 330.0;
/// Height of the findings timeline.
const TIMELINE_HEIGHT: f32 = 44.0;
/// Width of the chat panel.
const CHAT_WIDTH: f32 = 340.0;
const RESIZE_HINT: ResizeHint = ResizeHint::resizable().with_min_logical_size(MIN_SIZE);

/// Accent colour of the product.
pub(crate) const ACCENT: Color32 = Color32::from_rgb(92, 200, 180);

/// Initial window state.
pub fn default_state() -> Arc<EguiEditorState> {
    EguiEditorState::from_size(MIN_SIZE, 1.0)
}

/// Wraps the app into nice-plug's egui editor.
pub fn create(state: Arc<EguiEditorState>, app: Editor) -> Option<EguiEditor<Editor>> {
    create_egui_editor(
        state,
        RepaintNotifier::new(),
        EguiNiceSettings::new().with_tile("AudioCollab Assistant").with_resize_hint(RESIZE_HINT),
        app,
    )
}

/// GUI state. Lives as long as the plugin; the window may open and close many times.
pub struct Editor {
    params: Arc<AudioCollabParams>,
    meters: Arc<Meters>,
    analysis: Arc<OnceLock<Arc<AnalysisWorker>>>,
    /// Set while the window is open.
    gui: Option<GuiContext>,
    display: meters::Display,
    /// The output copied by the audio thread for the spectrum, while the window is open.
    scope: rtrb::Consumer<[f32; 2]>,
    analyser: Option<spectrum::Analyser>,
    panel: Panel,
    /// The assistant's thread, started the first time the window opens.
    desk: Option<Desk>,
    settings: settings::SettingsView,
}

impl Editor {
    /// The editor of one plugin instance.
    pub fn new(
        params: Arc<AudioCollabParams>,
        meters: Arc<Meters>,
        analysis: Arc<OnceLock<Arc<AnalysisWorker>>>,
        scope: rtrb::Consumer<[f32; 2]>,
    ) -> Self {
        let panel = Panel::new(params.chat.clone()).with_prefs(params.prefs.clone());
        Self {
            params,
            meters,
            analysis,
            gui: None,
            display: meters::Display::default(),
            scope,
            analyser: None,
            panel,
            desk: None,
            settings: settings::SettingsView::default(),
        }
    }

    /// Takes the audio that arrived for the spectrum and the meters' news; `dt` is the time
    /// since the last frame, seconds.
    fn update_meters(&mut self, dt: f32) {
        let levels = self.analysis.get().map(|w| w.levels()).unwrap_or_default();
        self.display.update(&self.meters, levels, dt);
        let relaxed = std::sync::atomic::Ordering::Relaxed;
        let format = (self.meters.sample_rate.load(relaxed), self.meters.channels.load(relaxed) as usize);
        let analyser = match &mut self.analyser {
            Some(a) if a.format() == spectrum::Analyser::format_of(format.0, format.1) => a,
            slot => slot.insert(spectrum::Analyser::new(format.0, format.1)),
        };
        let waiting = self.scope.slots();
        if let Ok(chunk) = self.scope.read_chunk(waiting) {
            let (a, b) = chunk.as_slices();
            analyser.feed(a.iter().chain(b).copied());
            chunk.commit_all();
        }
        analyser.update(dt);
    }
}

impl NiceEguiApp for Editor {
    fn build(
        &mut self,
        egui_ctx: egui::Context,
        nice_gui_ctx: GuiContext,
        _frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        self.open(&egui_ctx, nice_gui_ctx, Paths::system());
        Ok(())
    }

    fn editor_closed(&mut self) {
        self.close();
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut nice_plug_egui::Frame) {
        self.show(ui);
    }
}

impl Editor {
    /// The window opens: parameters are written through `gui`; the assistant's thread starts
    /// the first time, with the user's configuration from `paths` (`None`: the embedded engine).
    pub fn open(&mut self, ctx: &egui::Context, gui: GuiContext, paths: Option<Paths>) {
        apply_style(ctx);
        self.gui = Some(gui);
        if self.desk.is_none() {
            // Without a thread the panel still shows the conversation; it cannot answer.
            self.desk = Desk::spawn(paths).ok();
        }
    }

    /// The window closed.
    pub fn close(&mut self) {
        self.gui = None;
    }

    /// One frame of the whole window (nothing before [`Self::open`]).
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let Some(gui) = self.gui.clone() else {
            return;
        };
        let setter = gui.param_setter();
        // Meters and spectrum move at about 30 frames per second while the window is open.
        ui.ctx().request_repaint_after(std::time::Duration::from_millis(33));
        self.update_meters(ui.input(|i| i.stable_dt));
        self.assistant(ui, &setter);
        ResizableWindow::new("audiocollab-main").min_size(Vec2::new(MIN_SIZE.width, MIN_SIZE.height)).show(ui, |ui| {
            egui::Panel::right("audiocollab-chat").exact_size(CHAT_WIDTH).resizable(false).show(ui, |ui| {
                if let Some(desk) = &self.desk {
                    let mut writer = chat::HostWriter { params: &self.params, setter: &setter };
                    let analysis = self.analysis.get().and_then(|w| w.latest());
                    let settings = self.params.settings();
                    let latest = analysis.clone();
                    let mut ask = |panel: &mut Panel, words: &str| {
                        panel.ask(words, desk, settings, latest.clone());
                    };
                    chat::draw(ui, &mut self.panel, desk, &mut writer, analysis.as_deref(), &mut ask);
                }
            });
            egui::Frame::new().inner_margin(egui::Margin::same(10)).show(ui, |ui| {
                self.draw(ui, &setter);
            });
        });
    }
}

impl Editor {
    /// Takes the assistant's news: streamed text, finished answers (a command's changes are
    /// applied now that the window can), and forwards what happened to answers to the audit log.
    fn assistant(&mut self, ui: &egui::Ui, setter: &ParamSetter) {
        let Some(desk) = &self.desk else { return };
        let mut writer = chat::HostWriter { params: &self.params, setter };
        self.panel.apply_waiting(&mut writer);
        self.panel.poll(desk, Some(&mut writer));
        for (id, what) in self.panel.take_records() {
            desk.record(&id, what);
        }
        if self.panel.is_waiting() {
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(16));
        }
    }

    fn draw(&mut self, ui: &mut egui::Ui, setter: &ParamSetter) {
        let params = &*self.params;
        ui.horizontal(|ui| {
            ui.label(RichText::new("AudioCollab Assistant").size(20.0).strong().color(ACCENT));
            ui.label(RichText::new(format!("v{}", env!("CARGO_PKG_VERSION"))).weak());
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                controls::toggle(ui, params, P::Mute, "Mute", setter);
                controls::toggle(ui, params, P::Bypass, "Bypass", setter);
                self.settings.toggle(ui);
            });
        });
        ui.add_space(6.0);

        let settings = params.settings();
        let sample_rate = self.meters.sample_rate.load(std::sync::atomic::Ordering::Relaxed);
        let analysis = self.analysis.get().and_then(|w| w.latest());
        let prefs = self.params.prefs.read().map(|p| p.clone()).unwrap_or_default();
        let platform = platform_of(&prefs);
        let target = prefs.target();
        let genre = &target;
        ui.horizontal(|ui| {
            let spectrum_width = ui.available_width() - METERS_WIDTH - 12.0;
            if let Some(analyser) = &self.analyser {
                // The mix against the chosen genre (an analysis against another one is about to
                // be replaced: the settings just changed).
                let mix = analysis
                    .as_deref()
                    .filter(|a| a.genre == genre.id)
                    .and_then(|a| Some((&a.tonal_balance, a.loudness.integrated_lufs?)));
                let overlay = spectrum::Overlay {
                    settings: &settings,
                    sample_rate,
                    genre,
                    mix,
                    platform_lufs: platform.integrated_lufs,
                };
                spectrum::draw(ui, analyser, &overlay, Vec2::new(spectrum_width, SPECTRUM_HEIGHT));
            }
            ui.add_space(8.0);
            if self.display.draw(ui, Vec2::new(METERS_WIDTH, SPECTRUM_HEIGHT), platform) {
                if let Some(worker) = self.analysis.get() {
                    worker.reset_levels();
                }
            }
        });
        ui.add_space(6.0);
        let length = self.display.levels().stream_s;
        let lang = prefs.lang.lang().unwrap_or_else(|| self.conversation_lang());
        let size = Vec2::new(ui.available_width(), TIMELINE_HEIGHT);
        if let Some(question) = timeline::draw(ui, analysis.as_deref(), length, lang, size) {
            if let Some(desk) = &self.desk {
                self.panel.ask(&question, desk, settings, analysis.clone());
            }
        }
        ui.add_space(8.0);

        if self.settings.is_open() {
            let analysis = self.analysis.get().map(|w| &**w);
            let ctx = project::SettingsCtx { prefs: &self.params.prefs, desk: self.desk.as_ref(), analysis };
            // The audit view can be longer than the window: it scrolls.
            egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| self.settings.draw(ui, ctx));
            return;
        }
        ui.columns(5, |cols| {
            controls::group(&mut cols[0], "Input", |ui| {
                controls::rows(ui, params, &[("Trim", P::InputGain)], setter);
            });
            controls::group(&mut cols[0], "Stereo", |ui| {
                controls::rows(ui, params, &[("Pan", P::Pan), ("Width", P::Width)], setter);
                ui.horizontal(|ui| {
                    controls::toggle(ui, params, P::PolarityL, "Ø L", setter);
                    controls::toggle(ui, params, P::PolarityR, "Ø R", setter);
                });
            });
            controls::group(&mut cols[0], "Output", |ui| {
                controls::rows(ui, params, &[("Gain", P::OutputGain)], setter);
            });

            controls::group(&mut cols[1], "High-pass", |ui| {
                controls::toggle(ui, params, P::HpOn, "On", setter);
                controls::rows(ui, params, &[("Freq", P::HpFreq), ("Slope", P::HpSlope)], setter);
            });
            controls::group(&mut cols[1], "Low shelf", |ui| {
                controls::toggle(ui, params, P::LowShelfOn, "On", setter);
                controls::rows(ui, params, &[("Freq", P::LowShelfFreq), ("Gain", P::LowShelfGain)], setter);
            });

            for (title, on, freq, gain, q) in [
                ("Bell 1", P::Bell1On, P::Bell1Freq, P::Bell1Gain, P::Bell1Q),
                ("Bell 2", P::Bell2On, P::Bell2Freq, P::Bell2Gain, P::Bell2Q),
            ] {
                controls::group(&mut cols[2], title, |ui| {
                    controls::toggle(ui, params, on, "On", setter);
                    controls::rows(ui, params, &[("Freq", freq), ("Gain", gain), ("Q", q)], setter);
                });
            }

            controls::group(&mut cols[3], "High shelf", |ui| {
                controls::toggle(ui, params, P::HighShelfOn, "On", setter);
                controls::rows(ui, params, &[("Freq", P::HighShelfFreq), ("Gain", P::HighShelfGain)], setter);
            });
            controls::group(&mut cols[3], "De-esser", |ui| {
                controls::toggle(ui, params, P::DeessOn, "On", setter);
                controls::rows(
                    ui,
                    params,
                    &[("Freq", P::DeessFreq), ("Threshold", P::DeessThreshold), ("Max cut", P::DeessRange)],
                    setter,
                );
            });

            controls::group(&mut cols[4], "Compressor", |ui| {
                ui.horizontal(|ui| {
                    controls::toggle(ui, params, P::CompOn, "On", setter);
                    controls::toggle(ui, params, P::CompLink, "Stereo link", setter);
                });
                controls::rows(
                    ui,
                    params,
                    &[
                        ("Threshold", P::CompThreshold),
                        ("Ratio", P::CompRatio),
                        ("Attack", P::CompAttack),
                        ("Release", P::CompRelease),
                        ("Knee", P::CompKnee),
                        ("Makeup", P::CompMakeup),
                        ("Mix", P::CompMix),
                    ],
                    setter,
                );
            });
        });
    }
}

impl Editor {
    /// The language the musician writes in: that of their last message (English before any).
    fn conversation_lang(&self) -> Lang {
        let entries = self
            .params
            .chat
            .read()
            .map(|log| log.entries.iter().rev().find(|e| e.from_musician).map(|e| lang::detect(&e.text)));
        entries.ok().flatten().unwrap_or(Lang::En)
    }
}

/// The platform chosen in the settings (the default for an id not in the table).
fn platform_of(prefs: &Prefs) -> &'static targets::Platform {
    let platform = targets::platform(&prefs.platform).or_else(|| targets::platform(DEFAULT_PLATFORM));
    // The default is in the shipped table (tested in `analysis::targets`).
    platform.unwrap_or(&targets::platforms()[0])
}

fn apply_style(ctx: &egui::Context) {
    ctx.set_theme(egui::Theme::Dark);
    ctx.all_styles_mut(|style| {
        style.spacing.item_spacing = Vec2::new(8.0, 6.0);
        style.visuals.selection.bg_fill = ACCENT.gamma_multiply(0.6);
        style.visuals.widgets.hovered.bg_stroke.color = ACCENT;
    });
}
