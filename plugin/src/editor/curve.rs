//! The EQ curve: the magnitude response of the high-pass and the four bands, on a log
//! frequency axis, computed with the same design functions the chain runs.

use crate::dsp::eq;
use crate::spec::{audio_band_hz, Settings, EQ_GAIN_DB};
use egui::{pos2, Color32, Rect, Sense, Stroke, Ui, Vec2};

const POINTS: usize = 240;
/// Sample rate assumed before the host has activated the plugin.
const FALLBACK_RATE: f32 = 48_000.0;

/// Maps a frequency to x on a log axis spanning the audio band.
fn x_of(freq: f64, rect: Rect) -> f32 {
    let (lo, hi) = audio_band_hz();
    let t = (freq / lo as f64).ln() / (hi as f64 / lo as f64).ln();
    rect.left() + t as f32 * rect.width()
}

/// Draws the curve in a box of `size`; hovering shows frequency and gain under the pointer.
pub fn eq_curve(ui: &mut Ui, settings: &Settings, sample_rate: f32, size: Vec2) {
    let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 6.0, Color32::from_gray(22));
    let sr = if sample_rate > 0.0 { sample_rate } else { FALLBACK_RATE } as f64;
    let range_db = EQ_GAIN_DB.1 as f64 + 6.0;
    let y_of = |db: f64| rect.center().y - (db.clamp(-range_db, range_db) / range_db) as f32 * rect.height() * 0.5;

    // Grid: decades and octaves of interest, and every 6 dB.
    let grid = Stroke::new(1.0, Color32::from_gray(45));
    for f in [30.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10_000.0] {
        let x = x_of(f, rect);
        painter.line_segment([pos2(x, rect.top()), pos2(x, rect.bottom())], grid);
        let label = if f >= 1000.0 { format!("{}k", f / 1000.0) } else { format!("{f}") };
        painter.text(
            pos2(x + 2.0, rect.bottom() - 2.0),
            egui::Align2::LEFT_BOTTOM,
            label,
            egui::FontId::proportional(10.0),
            Color32::GRAY,
        );
    }
    let mut db = -18.0;
    while db <= 18.0 {
        let y = y_of(db);
        let stroke = if db == 0.0 { Stroke::new(1.0, Color32::from_gray(80)) } else { grid };
        painter.line_segment([pos2(rect.left(), y), pos2(rect.right(), y)], stroke);
        painter.text(
            pos2(rect.left() + 2.0, y),
            egui::Align2::LEFT_BOTTOM,
            format!("{db:+}"),
            egui::FontId::proportional(10.0),
            Color32::GRAY,
        );
        db += 6.0;
    }

    let (lo, hi) = audio_band_hz();
    let points: Vec<egui::Pos2> = (0..POINTS)
        .map(|i| {
            let f = lo as f64 * (hi as f64 / lo as f64).powf(i as f64 / (POINTS - 1) as f64);
            pos2(x_of(f, rect), y_of(eq::response_db(settings, sr, f)))
        })
        .collect();
    painter.add(egui::Shape::line(points, Stroke::new(2.0, super::ACCENT)));

    // Band handles.
    for (_, f, g, _) in eq::bands(settings) {
        if g != 0.0 {
            painter.circle_filled(pos2(x_of(f, rect), y_of(g)), 4.0, super::ACCENT.gamma_multiply(0.8));
        }
    }

    if let Some(pos) = response.hover_pos() {
        let t = ((pos.x - rect.left()) / rect.width()) as f64;
        let f = lo as f64 * (hi as f64 / lo as f64).powf(t);
        let text = format!("{f:.0} Hz  {:+.1} dB", eq::response_db(settings, sr, f));
        painter.text(
            rect.right_top() + Vec2::new(-6.0, 6.0),
            egui::Align2::RIGHT_TOP,
            text,
            egui::FontId::proportional(12.0),
            Color32::WHITE,
        );
    }
}
