//! The plugin window (egui): every parameter, grouped as input, EQ, dynamics, stereo and
//! output, with the EQ curve and the meters, and the assistant's chat panel on the right.
//!
//! Parameters are only ever changed through nice-plug's `ParamSetter` (begin / set / end), so
//! the host records automation and its own undo sees every move.

mod chat;
mod controls;
mod curve;
mod meters;
pub mod settings;

use crate::analysis::live::AnalysisWorker;
use crate::assistant::desk::Desk;
use crate::assistant::panel::Panel;
use crate::assistant::route::Paths;
use crate::bridge::Meters;
use crate::params::AudioCollabParams;
use crate::spec::ParamId as P;
use egui::{Color32, RichText, Vec2};
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::prelude::*;
use nice_plug_egui::resizable_window::ResizableWindow;
use nice_plug_egui::{create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp, RepaintNotifier};
use std::sync::{Arc, OnceLock};

/// Smallest size at which every group and the chat panel still fit without scrolling.
const MIN_SIZE: LogicalSize<f32> = LogicalSize::new(1520.0, 700.0);
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
    ) -> Self {
        let panel = Panel::new(params.chat.clone()).with_prefs(params.prefs.clone());
        let settings = settings::SettingsView::default();
        Self { params, meters, analysis, gui: None, display: meters::Display::default(), panel, desk: None, settings }
    }
}

impl NiceEguiApp for Editor {
    fn build(
        &mut self,
        egui_ctx: egui::Context,
        nice_gui_ctx: GuiContext,
        _frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        apply_style(&egui_ctx);
        self.gui = Some(nice_gui_ctx);
        if self.desk.is_none() {
            // Without a thread the panel still shows the conversation; it cannot answer.
            self.desk = Desk::spawn(Paths::system()).ok();
        }
        Ok(())
    }

    fn editor_closed(&mut self) {
        self.gui = None;
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut nice_plug_egui::Frame) {
        let Some(gui) = self.gui.clone() else {
            return;
        };
        let setter = gui.param_setter();
        // Meters move at about 30 frames per second while the window is open.
        ui.ctx().request_repaint_after(std::time::Duration::from_millis(33));
        self.display.update(&self.meters, ui.input(|i| i.stable_dt));
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
        ui.horizontal(|ui| {
            let meter_width = 150.0;
            let curve_width = ui.available_width() - meter_width - 12.0;
            curve::eq_curve(ui, &settings, sample_rate, Vec2::new(curve_width, 190.0));
            ui.add_space(8.0);
            self.display.draw(ui, Vec2::new(meter_width, 190.0));
        });
        ui.add_space(8.0);

        if self.settings.is_open() {
            let analysis = self.analysis.get().map(|w| &**w);
            let ctx = settings::SettingsCtx { prefs: &self.params.prefs, desk: self.desk.as_ref(), analysis };
            return self.settings.draw(ui, ctx);
        }
        ui.columns(5, |cols| {
            controls::group(&mut cols[0], "Input", |ui| {
                controls::rows(ui, params, &[("Trim", P::InputGain)], setter);
            });
            controls::group(&mut cols[0], "Stereo", |ui| {
                controls::rows(ui, params, &[("Pan", P::Pan), ("Width", P::Width)], setter);
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

fn apply_style(ctx: &egui::Context) {
    ctx.set_theme(egui::Theme::Dark);
    ctx.all_styles_mut(|style| {
        style.spacing.item_spacing = Vec2::new(8.0, 6.0);
        style.visuals.selection.bg_fill = ACCENT.gamma_multiply(0.6);
        style.visuals.widgets.hovered.bg_stroke.color = ACCENT;
    });
}
