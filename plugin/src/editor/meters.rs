//! Input/output peak meters and the gain-reduction meters, with a falling peak display.

use crate::bridge::Meters;
use egui::{pos2, Color32, Rect, RichText, Sense, Ui, Vec2};

/// Bottom of the level scale, dBFS.
const FLOOR_DB: f32 = -60.0;
/// Display fall rate after a peak, dB per second (a typical PPM-like fall).
const FALL_DB_PER_S: f32 = 20.0;
/// Full scale of the gain-reduction bars, dB.
const GR_SCALE_DB: f32 = 24.0;

/// What the meters currently show. Only touched by the GUI thread.
#[derive(Debug, Clone)]
pub struct Display {
    input_db: [f32; 2],
    output_db: [f32; 2],
    gain_reduction_db: f32,
    deess_db: f32,
}

impl Default for Display {
    fn default() -> Self {
        Self { input_db: [FLOOR_DB; 2], output_db: [FLOOR_DB; 2], gain_reduction_db: 0.0, deess_db: 0.0 }
    }
}

fn to_db(linear: f32) -> f32 {
    if linear > 0.0 {
        (20.0 * linear.log10()).max(FLOOR_DB)
    } else {
        FLOOR_DB
    }
}

impl Display {
    /// Takes the audio thread's peaks since the last frame and lets the display fall.
    pub fn update(&mut self, meters: &Meters, dt: f32) {
        let fall = FALL_DB_PER_S * dt.clamp(0.0, 0.25);
        for ch in 0..2 {
            let input = to_db(Meters::take(&meters.input_peak[ch]));
            let output = to_db(Meters::take(&meters.output_peak[ch]));
            self.input_db[ch] = input.max(self.input_db[ch] - fall);
            self.output_db[ch] = output.max(self.output_db[ch] - fall);
        }
        let relaxed = std::sync::atomic::Ordering::Relaxed;
        self.gain_reduction_db = meters.gain_reduction_db.load(relaxed);
        self.deess_db = meters.deess_reduction_db.load(relaxed);
    }

    /// Draws IN L/R, OUT L/R, GR and DS bars in a box of `size`.
    pub fn draw(&self, ui: &mut Ui, size: Vec2) {
        ui.allocate_ui(size, |ui| {
            ui.vertical(|ui| {
                ui.horizontal(|ui| {
                    ui.label(RichText::new("In").small());
                    ui.add_space(38.0);
                    ui.label(RichText::new("Out").small());
                    ui.add_space(30.0);
                    ui.label(RichText::new("GR  DS").small());
                });
                let bar_height = size.y - 40.0;
                ui.horizontal(|ui| {
                    for db in self.input_db {
                        level_bar(ui, db, bar_height);
                    }
                    ui.add_space(10.0);
                    for db in self.output_db {
                        level_bar(ui, db, bar_height);
                    }
                    ui.add_space(10.0);
                    reduction_bar(ui, self.gain_reduction_db, bar_height);
                    reduction_bar(ui, self.deess_db, bar_height);
                });
                let out = self.output_db[0].max(self.output_db[1]);
                let text = if out <= FLOOR_DB { "-inf".to_string() } else { format!("{out:.1} dBFS") };
                ui.label(RichText::new(format!("out {text}  GR {:.1} dB", self.gain_reduction_db)).small().monospace());
            });
        });
    }
}

fn bar_rect(ui: &mut Ui, height: f32) -> Rect {
    let (rect, _) = ui.allocate_exact_size(Vec2::new(12.0, height), Sense::hover());
    ui.painter().rect_filled(rect, 2.0, Color32::from_gray(25));
    rect
}

fn level_bar(ui: &mut Ui, db: f32, height: f32) {
    let rect = bar_rect(ui, height);
    let t = (db - FLOOR_DB) / -FLOOR_DB;
    let top = rect.bottom() - t.clamp(0.0, 1.0) * rect.height();
    let colour = if db > -1.0 {
        Color32::from_rgb(230, 70, 60)
    } else if db > -12.0 {
        Color32::from_rgb(230, 190, 70)
    } else {
        super::ACCENT
    };
    ui.painter().rect_filled(Rect::from_min_max(pos2(rect.left(), top), rect.right_bottom()), 2.0, colour);
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
