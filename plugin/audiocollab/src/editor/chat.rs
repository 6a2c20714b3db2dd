//! The chat panel's drawing. The logic (sending, cards, undo, A/B, the saved conversation) is
//! [`crate::panel::Panel`]; parameters move through [`HostWriter`], one host gesture
//! per parameter.

use egui::{Align, Color32, Layout, RichText, ScrollArea, Ui};
use nice_plug::prelude::*;

use super::ACCENT;
use crate::panel::{CardState, Entry, Panel, ParamWriter};
use crate::params::{AudioCollabParams, ParamRef};
use audiocollab_assistant::desk::Desk;
use audiocollab_assistant::engine::MAX_MESSAGE_CHARS;
use audiocollab_core::analysis::track::TrackAnalysis;
use audiocollab_core::lang::Lang;
use audiocollab_core::spec::{ParamId, Settings};

/// Quick prompts under the conversation.
const QUICK_PROMPTS: [&str; 3] = ["Analyse", "Rends les voix plus claires", "Prêt pour Spotify ?"];

/// Writes through nice-plug's `ParamSetter`: begin / set / end per parameter, so the host
/// records automation and its undo sees each move; the chain's own smoothing ramps it.
pub struct HostWriter<'a> {
    /// The parameters.
    pub params: &'a AudioCollabParams,
    /// The host's setter.
    pub setter: &'a ParamSetter<'a>,
}

impl ParamWriter for HostWriter<'_> {
    fn settings(&self) -> Settings {
        self.params.settings()
    }

    fn write(&mut self, changes: &[(ParamId, f32)]) {
        for &(id, value) in changes {
            let value = id.spec().clamp(value);
            match self.params.get(id) {
                ParamRef::Float(p) => {
                    self.setter.begin_set_parameter(p);
                    self.setter.set_parameter(p, value);
                    self.setter.end_set_parameter(p);
                }
                ParamRef::Toggle(p) => {
                    self.setter.begin_set_parameter(p);
                    self.setter.set_parameter(p, value >= 0.5);
                    self.setter.end_set_parameter(p);
                }
                ParamRef::Slope(p) => {
                    let normalized = p.preview_normalized(Enum::from_index(value.round().max(0.0) as usize));
                    self.setter.begin_set_parameter(p);
                    self.setter.set_parameter_normalized(p, normalized);
                    self.setter.end_set_parameter(p);
                }
            }
        }
    }
}

/// What the musician clicked in the conversation this frame.
enum Click {
    Apply(usize, Option<usize>),
    Reject(usize, Option<usize>),
    Rate(usize, bool),
}

/// Draws the panel and acts on what was clicked.
pub fn draw(
    ui: &mut Ui,
    panel: &mut Panel,
    desk: &Desk,
    writer: &mut HostWriter<'_>,
    analysis: Option<&TrackAnalysis>,
    ask: &mut dyn FnMut(&mut Panel, &str),
) {
    let answering = desk.answering();
    ui.horizontal(|ui| {
        ui.label(RichText::new("Assistant").strong().size(16.0).color(ACCENT));
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            // Right to left: Redo, Undo keep their places; A/B comes and goes on their left.
            let (can_undo, can_redo) = panel.can_undo_redo();
            if ui.add_enabled(can_redo, egui::Button::new("Redo")).clicked() {
                panel.redo(writer);
            }
            if ui.add_enabled(can_undo, egui::Button::new("Undo")).clicked() {
                panel.undo(writer);
            }
            if let Some(ab) = panel.ab().copied() {
                let label = if ab.showing_after { "B (after)" } else { "A (before)" };
                let hint = format!("loudness-matched: after is {:+.1} LU against before", ab.louder_lu);
                if ui.button(label).on_hover_text(hint).clicked() {
                    panel.toggle_ab(writer, analysis);
                }
            }
        });
    });
    // Its own line: a model's name is long, and A/B takes room in the row above.
    ui.label(RichText::new(format!("answers: {}", answering.label)).weak().small())
        .on_hover_text("who answers (Settings, or config.toml)");
    if let Some(w) = &answering.warning {
        ui.label(RichText::new(w).color(Color32::from_rgb(230, 170, 60)).small());
    }
    ui.separator();

    let input_height = 80.0;
    let mut clicks = Vec::new();
    ScrollArea::vertical()
        .max_height((ui.available_height() - input_height).max(80.0))
        .stick_to_bottom(true)
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let forced = panel.forced_lang();
            for (i, entry) in panel.entries().iter().enumerate() {
                entry_ui(ui, i, entry, entry.lang(forced), &mut clicks);
            }
            if let Some(text) = panel.streaming() {
                ui.label(format!("{text}…"));
            }
        });
    for click in clicks {
        match click {
            Click::Apply(e, c) => {
                let _ = panel.apply(e, c, writer);
            }
            Click::Reject(e, c) => panel.reject(e, c),
            Click::Rate(e, up) => panel.feedback(e, up),
        }
    }

    ui.horizontal_wrapped(|ui| {
        for prompt in QUICK_PROMPTS {
            if ui.small_button(prompt).clicked() {
                ask(panel, prompt);
            }
        }
    });
    ui.horizontal(|ui| {
        let edit = egui::TextEdit::singleline(&mut panel.input)
            .hint_text("Écrivez au plugin… / Ask the assistant…")
            .desired_width(ui.available_width() - 70.0)
            // A paste is cut one past the limit: laying out megabytes would stall the window,
            // and the assistant then says the message is too long.
            .char_limit(MAX_MESSAGE_CHARS + 1);
        let response = ui.add(edit);
        let enter = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let send = ui.add_enabled(!panel.is_waiting(), egui::Button::new("Send")).clicked();
        if (enter || send) && !panel.is_waiting() {
            let words = std::mem::take(&mut panel.input);
            ask(panel, words.trim());
            response.request_focus();
        }
        if panel.is_waiting() && ui.small_button("Stop").clicked() {
            desk.cancel();
        }
    });
    // Clear of the window's edge and its resize corner.
    ui.add_space(10.0);
}

fn entry_ui(ui: &mut Ui, index: usize, entry: &Entry, lang: Lang, clicks: &mut Vec<Click>) {
    if entry.from_musician {
        ui.with_layout(Layout::top_down(Align::Max), |ui| {
            egui::Frame::new().fill(ACCENT.gamma_multiply(0.25)).corner_radius(6.0).inner_margin(6).show(ui, |ui| {
                ui.label(&entry.text);
            });
        });
        return;
    }
    ui.label(&entry.text);
    let mut meta = entry.by.clone();
    if let Some(cost) = &entry.cost {
        meta.push_str(" · ");
        meta.push_str(cost);
    }
    ui.horizontal(|ui| {
        ui.label(RichText::new(meta).weak().small());
        // Words, not emoji: the window's fonts have no thumbs.
        let up = ui.selectable_label(entry.feedback == Some(true), "+1").on_hover_text("useful answer");
        let down = ui.selectable_label(entry.feedback == Some(false), "-1").on_hover_text("not useful");
        if up.clicked() {
            clicks.push(Click::Rate(index, true));
        }
        if down.clicked() {
            clicks.push(Click::Rate(index, false));
        }
    });
    if let Some(note) = &entry.note {
        ui.label(RichText::new(note).color(Color32::from_rgb(230, 170, 60)).small());
    }
    for (c, card) in entry.cards.iter().enumerate() {
        egui::Frame::group(ui.style()).inner_margin(6).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new(card.describe(lang)).strong());
            ui.label(RichText::new(&card.change().reason).small());
            if let Some(evidence) = card.evidence() {
                ui.label(RichText::new(evidence).weak().small());
            }
            ui.horizontal(|ui| match card.state {
                CardState::Proposed => {
                    if ui.button("Apply").clicked() {
                        clicks.push(Click::Apply(index, Some(c)));
                    }
                    if ui.button("Reject").clicked() {
                        clicks.push(Click::Reject(index, Some(c)));
                    }
                }
                CardState::Waiting => {
                    ui.label(RichText::new("waiting for the window to apply").italics());
                }
                CardState::Applied => {
                    let said = if entry.auto_applied { "auto-applied (Undo takes it back)" } else { "applied" };
                    ui.label(RichText::new(said).color(ACCENT));
                }
                CardState::Rejected => {
                    ui.label(RichText::new("rejected").weak());
                }
                CardState::Undone => {
                    ui.label(RichText::new("undone").weak());
                }
            });
        });
    }
    if entry.cards.iter().filter(|c| c.state == CardState::Proposed).count() > 1 && ui.button("Apply all").clicked() {
        clicks.push(Click::Apply(index, None));
    }
    for refused in &entry.refused {
        ui.label(RichText::new(format!("refused: {refused}")).color(Color32::from_rgb(220, 90, 90)).small());
    }
    ui.add_space(8.0);
}
