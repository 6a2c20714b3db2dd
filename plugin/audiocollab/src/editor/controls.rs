//! Parameter widgets: framed groups, labelled sliders and toggles, all writing through the
//! host-visible `ParamSetter` path.

use crate::params::{AudioCollabParams, ParamRef};
use audiocollab_core::spec::ParamId;
use egui::{RichText, Ui};
use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;

/// A framed group with a heading.
pub fn group(ui: &mut Ui, title: &str, add: impl FnOnce(&mut Ui)) {
    egui::Frame::group(ui.style()).inner_margin(egui::Margin::same(8)).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new(title).strong().size(15.0));
        add(ui);
    });
    ui.add_space(6.0);
}

/// Width of the row labels ("Threshold").
const LABEL_WIDTH: f32 = 62.0;
/// Room the slider's value box needs ("-18.0 dB").
const VALUE_WIDTH: f32 = 70.0;

/// Label + slider rows in a two-column grid, the sliders as wide as the group allows.
pub fn rows(ui: &mut Ui, params: &AudioCollabParams, rows: &[(&str, ParamId)], setter: &ParamSetter) {
    ui.spacing_mut().slider_width = (ui.available_width() - LABEL_WIDTH - VALUE_WIDTH - 16.0).max(60.0);
    egui::Grid::new(rows.first().map_or("", |r| r.1.spec().id)).num_columns(2).spacing([8.0, 4.0]).show(ui, |ui| {
        for &(label, id) in rows {
            ui.add_sized([LABEL_WIDTH, 18.0], egui::Label::new(label)).on_hover_text(id.spec().name);
            slider(ui, params, id, setter);
            ui.end_row();
        }
    });
}

/// nice-plug's parameter slider: drag, double-click to reset, ctrl-click or right-click to
/// type a value; it handles the begin/set/end gesture itself.
fn slider(ui: &mut Ui, params: &AudioCollabParams, id: ParamId, setter: &ParamSetter) {
    let width = ui.spacing().slider_width;
    let response = match params.get(id) {
        ParamRef::Float(p) => ui.add(ParamSlider::for_param(p, setter).with_width(width)),
        ParamRef::Toggle(p) => ui.add(ParamSlider::for_param(p, setter).with_width(width)),
        ParamRef::Slope(p) => ui.add(ParamSlider::for_param(p, setter).with_width(width)),
    };
    response.on_hover_text(format!("{} ({})", id.spec().name, id.spec().id));
}

/// A toggle button for an on/off parameter, as one complete host gesture per click.
pub fn toggle(ui: &mut Ui, params: &AudioCollabParams, id: ParamId, label: &str, setter: &ParamSetter) {
    let ParamRef::Toggle(param) = params.get(id) else {
        return;
    };
    let on = param.value();
    // A framed button (filled when on) so "off" still reads as a control, in a horizontal
    // layout so it keeps its natural size inside a vertical group.
    let response = ui.horizontal(|ui| ui.add(egui::Button::new(label).selected(on))).inner;
    if response.on_hover_text(id.spec().name).clicked() {
        setter.begin_set_parameter(param);
        setter.set_parameter(param, !on);
        setter.end_set_parameter(param);
    }
}
