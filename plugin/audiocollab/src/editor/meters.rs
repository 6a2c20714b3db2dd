//! The meters: input and output peaks (falling display), momentary / short-term / integrated
//! loudness bars with the platform's target drawn across them, compressor and de-esser gain
//! reduction, stereo correlation, and the figures (integrated, LRA, true peak, PLR) with a
//! reset button.
//!
//! Peaks and gain reduction come from the audio thread ([`Meters`]), loudness from the analysis
//! worker ([`LiveLevels`], up to 50 ms old, measured as in [`audiocollab_core::analysis::loudness`]).

use crate::bridge::Meters;
use crate::live::LiveLevels;
use audiocollab_core::analysis::targets::Platform;
use audiocollab_core::dsp::decibel::gain_to_db;
use audiocollab_core::text::clock;
use egui::{pos2, Color32, Rect, RichText, Sense, Stroke, Ui, Vec2};

/// Bottom of the peak scale, dBFS.
const FLOOR_DB: f32 = -60.0;
/// Bottom of the loudness scale, LUFS (top is 0).
const LOUDNESS_FLOOR: f32 = -48.0;
/// Display fall rate after a peak, dB per second (a typical PPM-like fall).
const FALL_DB_PER_S: f32 = 20.0;
/// Full scale of the gain-reduction bars, dB.
const GR_SCALE_DB: f32 = 24.0;
/// Time constant of the correlation display, seconds.
const CORRELATION_S: f32 = 0.3;
/// How close to the platform's target the integrated loudness reads as "on target", LU.
const ON_TARGET_LU: f64 = 1.0;

const BAR_WIDTH: f32 = 12.0;
const WARN: Color32 = Color32::from_rgb(230, 190, 70);
const OVER: Color32 = Color32::from_rgb(230, 70, 60);
const TARGET_LINE: Color32 = Color32::from_rgb(235, 200, 90);

/// What the meters currently show. Only touched by the GUI thread.
#[derive(Debug, Clone)]
pub struct Display {
    input_db: [f32; 2],
    output_db: [f32; 2],
    gain_reduction_db: f32,
    deess_db: f32,
    levels: LiveLevels,
    correlation: Option<f32>,
}

impl Default for Display {
    fn default() -> Self {
        Self {
            input_db: [FLOOR_DB; 2],
            output_db: [FLOOR_DB; 2],
            gain_reduction_db: 0.0,
            deess_db: 0.0,
            levels: LiveLevels::default(),
            correlation: None,
        }
    }
}

fn to_db(linear: f32) -> f32 {
    if linear > 0.0 {
        (gain_to_db(f64::from(linear)) as f32).max(FLOOR_DB)
    } else {
        FLOOR_DB
    }
}

impl Display {
    /// Takes the audio thread's peaks since the last frame and the worker's loudness figures,
    /// and lets the displays fall and glide.
    pub fn update(&mut self, meters: &Meters, levels: LiveLevels, dt: f32) {
        let dt = if dt.is_finite() { dt.clamp(0.0, 0.25) } else { 0.0 };
        let fall = FALL_DB_PER_S * dt;
        for ch in 0..2 {
            let input = to_db(Meters::take(&meters.input_peak[ch]));
            let output = to_db(Meters::take(&meters.output_peak[ch]));
            self.input_db[ch] = input.max(self.input_db[ch] - fall);
            self.output_db[ch] = output.max(self.output_db[ch] - fall);
        }
        let relaxed = std::sync::atomic::Ordering::Relaxed;
        self.gain_reduction_db = meters.gain_reduction_db.load(relaxed);
        self.deess_db = meters.deess_reduction_db.load(relaxed);
        self.correlation = match (levels.correlation, self.correlation) {
            (Some(new), Some(old)) => Some(old + (new - old) * (1.0 - (-dt / CORRELATION_S).exp())),
            (new, _) => new,
        };
        self.levels = levels;
    }

    /// The loudness figures shown.
    pub fn levels(&self) -> &LiveLevels {
        &self.levels
    }

    /// Draws the meters for `platform` in a box of `size`; returns whether Reset was clicked.
    pub fn draw(&self, ui: &mut Ui, size: Vec2, platform: &Platform) -> bool {
        let mut reset = false;
        ui.allocate_ui(size, |ui| {
            ui.set_min_size(size);
            ui.horizontal_top(|ui| {
                let bar_height = size.y - 40.0;
                ui.vertical(|ui| {
                    ui.horizontal(|ui| {
                        ui.spacing_mut().item_spacing.x = 4.0;
                        for (label, width) in
                            [("In", 2), ("Out", 2), ("M", 1), ("S", 1), ("I", 1), ("GR", 1), ("DS", 1)]
                        {
                            let w = width as f32 * BAR_WIDTH + (width - 1) as f32 * 4.0;
                            ui.add_sized([w, 14.0], egui::Label::new(RichText::new(label).small()));
                        }
                    });
                    ui.horizontal(|ui| {
                        ui.spacing_mut().item_spacing.x = 4.0;
                        for db in self.input_db.into_iter().chain(self.output_db) {
                            peak_bar(ui, db, bar_height);
                        }
                        let l = &self.levels.loudness;
                        for lufs in [l.momentary_lufs, l.short_term_lufs, l.integrated_lufs] {
                            loudness_bar(ui, lufs, platform.integrated_lufs, bar_height);
                        }
                        reduction_bar(ui, self.gain_reduction_db, bar_height);
                        reduction_bar(ui, self.deess_db, bar_height);
                    });
                    correlation_bar(ui, self.correlation, 7.0 * BAR_WIDTH + 8.0 * 4.0 + 2.0 * BAR_WIDTH);
                });
                ui.add_space(4.0);
                ui.vertical(|ui| {
                    reset = self.figures(ui, platform);
                });
            });
        });
        reset
    }

    /// The numbers, coloured against the platform, and the reset button.
    fn figures(&self, ui: &mut Ui, platform: &Platform) -> bool {
        let l = &self.levels.loudness;
        let lufs = |v: Option<f64>| v.map_or("-inf".to_string(), |v| format!("{v:.1}"));
        let integrated_colour = match l.integrated_lufs {
            Some(i) if (i - platform.integrated_lufs).abs() <= ON_TARGET_LU => super::ACCENT,
            Some(_) => WARN,
            None => Color32::GRAY,
        };
        let peak_colour = match l.true_peak_dbtp {
            Some(tp) if tp > platform.true_peak_dbtp => OVER,
            _ => Color32::LIGHT_GRAY,
        };
        let row = |ui: &mut Ui, name: &str, value: String, unit: &str, colour: Color32| {
            ui.label(RichText::new(name).small());
            ui.label(RichText::new(value).monospace().color(colour));
            ui.label(RichText::new(unit).small());
            ui.end_row();
        };
        egui::Grid::new("audiocollab-loudness").num_columns(3).spacing([6.0, 2.0]).show(ui, |ui| {
            row(ui, "Momentary", lufs(l.momentary_lufs), "LUFS", Color32::LIGHT_GRAY);
            row(ui, "Short-term", lufs(l.short_term_lufs), "LUFS", Color32::LIGHT_GRAY);
            row(ui, "Integrated", lufs(l.integrated_lufs), "LUFS", integrated_colour);
            row(ui, "Range", l.loudness_range_lu.map_or("-".into(), |v| format!("{v:.1}")), "LU", Color32::LIGHT_GRAY);
            row(ui, "True peak", lufs(l.true_peak_dbtp), "dBTP", peak_colour);
            row(ui, "PLR", l.plr_lu.map_or("-".into(), |v| format!("{v:.1}")), "LU", Color32::LIGHT_GRAY);
            row(ui, "GR", format!("{:.1}", self.gain_reduction_db), "dB", Color32::LIGHT_GRAY);
            let corr = self.correlation.map_or("-".into(), |c| format!("{c:+.2}"));
            row(ui, "Correlation", corr, "", Color32::LIGHT_GRAY);
        });
        ui.label(
            RichText::new(format!(
                "{}: {:.0} LUFS, {:.0} dBTP",
                platform.name, platform.integrated_lufs, platform.true_peak_dbtp
            ))
            .small()
            .color(TARGET_LINE),
        );
        ui.horizontal(|ui| {
            let clicked =
                ui.button("Reset").on_hover_text("Start integrated loudness, range and peaks again from now").clicked();
            ui.label(RichText::new(clock(self.levels.loudness.duration_s)).small().weak());
            clicked
        })
        .inner
    }
}

fn bar_rect(ui: &mut Ui, height: f32) -> Rect {
    let (rect, _) = ui.allocate_exact_size(Vec2::new(BAR_WIDTH, height), Sense::hover());
    ui.painter().rect_filled(rect, 2.0, Color32::from_gray(25));
    rect
}

fn fill_from_bottom(ui: &Ui, rect: Rect, t: f32, colour: Color32) {
    let top = rect.bottom() - t.clamp(0.0, 1.0) * rect.height();
    ui.painter().rect_filled(Rect::from_min_max(pos2(rect.left(), top), rect.right_bottom()), 2.0, colour);
}

fn peak_bar(ui: &mut Ui, db: f32, height: f32) {
    let rect = bar_rect(ui, height);
    let colour = if db > -1.0 {
        OVER
    } else if db > -12.0 {
        WARN
    } else {
        super::ACCENT
    };
    fill_from_bottom(ui, rect, (db - FLOOR_DB) / -FLOOR_DB, colour);
}

fn loudness_bar(ui: &mut Ui, lufs: Option<f64>, target: f64, height: f32) {
    let rect = bar_rect(ui, height);
    let t_of = |v: f64| ((v as f32 - LOUDNESS_FLOOR) / -LOUDNESS_FLOOR).clamp(0.0, 1.0);
    if let Some(v) = lufs {
        let colour = if v > target + ON_TARGET_LU { WARN } else { Color32::from_rgb(120, 150, 210) };
        fill_from_bottom(ui, rect, t_of(v), colour);
    }
    let y = rect.bottom() - t_of(target) * rect.height();
    ui.painter().line_segment([pos2(rect.left() - 2.0, y), pos2(rect.right() + 2.0, y)], Stroke::new(2.0, TARGET_LINE));
}

fn reduction_bar(ui: &mut Ui, db: f32, height: f32) {
    let rect = bar_rect(ui, height);
    let t = (db / GR_SCALE_DB).clamp(0.0, 1.0);
    let bottom = rect.top() + t * rect.height();
    ui.painter().rect_filled(
        Rect::from_min_max(rect.left_top(), pos2(rect.right(), bottom)),
        2.0,
        Color32::from_rgb(240, 140, 60),
    );
}

/// −1 … +1, drawn from the centre; red when the channels are out of phase.
fn correlation_bar(ui: &mut Ui, correlation: Option<f32>, width: f32) {
    let (rect, _) = ui.allocate_exact_size(Vec2::new(width, 8.0), Sense::hover());
    let painter = ui.painter();
    painter.rect_filled(rect, 2.0, Color32::from_gray(25));
    painter.line_segment(
        [pos2(rect.center().x, rect.top()), pos2(rect.center().x, rect.bottom())],
        Stroke::new(1.0, Color32::GRAY),
    );
    if let Some(c) = correlation {
        let x = rect.center().x + c.clamp(-1.0, 1.0) * rect.width() * 0.5;
        let colour = if c < 0.0 { OVER } else { super::ACCENT };
        let span = Rect::from_x_y_ranges(rect.center().x.min(x)..=rect.center().x.max(x), rect.y_range());
        painter.rect_filled(span, 2.0, colour);
    }
}
