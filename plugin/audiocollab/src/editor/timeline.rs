//! The findings timeline: the song's sections along the time played, and every problem the
//! analysis found, in one lane per severity (problems on top). Hovering shows the measured
//! values; clicking a finding (or anywhere on a section) asks the assistant about that stretch.

use audiocollab_core::analysis::findings::kind_name;
use audiocollab_core::analysis::findings::{Finding, Severity};
use audiocollab_core::analysis::track::TrackAnalysis;
use audiocollab_core::lang::Lang;
use audiocollab_core::text::{clock, clock_span};
use egui::{pos2, Color32, Rect, Sense, Stroke, Ui, Vec2};

/// Severity colours: information, warning, problem.
pub fn severity_colour(severity: Severity) -> Color32 {
    match severity {
        Severity::Info => Color32::from_rgb(110, 150, 200),
        Severity::Warning => Color32::from_rgb(230, 180, 60),
        Severity::Problem => Color32::from_rgb(230, 70, 60),
    }
}

/// The shortest a finding is drawn, pixels (a 10 ms click must stay visible and clickable).
const MIN_WIDTH: f32 = 4.0;

/// Draws the timeline of `analysis` over `[0, length_s]` seconds in a box of `size`. Returns the
/// question to ask when the musician clicked a finding or a section, in `lang`.
pub fn draw(ui: &mut Ui, analysis: Option<&TrackAnalysis>, length_s: f64, lang: Lang, size: Vec2) -> Option<String> {
    let (rect, response) = ui.allocate_exact_size(size, Sense::click());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "Findings timeline"));
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 4.0, Color32::from_gray(22));
    let Some(analysis) = analysis else {
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            "Findings appear here once the track has played for a few seconds",
            egui::FontId::proportional(12.0),
            Color32::GRAY,
        );
        return None;
    };
    let length = length_s.max(analysis.to_s).max(1.0);
    let x_of = |t: f64| rect.left() + (t / length).clamp(0.0, 1.0) as f32 * rect.width();
    let t_of = |x: f32| ((x - rect.left()) / rect.width()).clamp(0.0, 1.0) as f64 * length;

    // Sections: alternating shades with their letters.
    for (i, s) in analysis.sections.iter().enumerate() {
        let r = Rect::from_x_y_ranges(x_of(s.start_s)..=x_of(s.end_s), rect.y_range());
        painter.rect_filled(r, 0.0, Color32::from_gray(if i % 2 == 0 { 30 } else { 36 }));
        painter.text(
            r.left_bottom() + Vec2::new(3.0, -2.0),
            egui::Align2::LEFT_BOTTOM,
            &s.label,
            egui::FontId::proportional(10.0),
            Color32::GRAY,
        );
    }
    // Time ticks every 30 s (every 10 s for short stretches).
    let step = if length > 120.0 { 30.0 } else { 10.0 };
    let mut t = step;
    while t < length {
        let x = x_of(t);
        painter.line_segment([pos2(x, rect.bottom() - 5.0), pos2(x, rect.bottom())], Stroke::new(1.0, Color32::GRAY));
        painter.text(
            pos2(x + 2.0, rect.bottom()),
            egui::Align2::LEFT_BOTTOM,
            clock(t),
            egui::FontId::proportional(9.0),
            Color32::from_gray(110),
        );
        t += step;
    }

    // Findings in three lanes above the labels.
    let lanes_top = rect.top() + 3.0;
    let lane_height = ((rect.height() - 16.0) / 3.0).max(4.0);
    let lane_of = |s: Severity| match s {
        Severity::Problem => 0.0,
        Severity::Warning => 1.0,
        Severity::Info => 2.0,
    };
    let mut shapes = Vec::new();
    for f in &analysis.findings {
        let (x0, x1) = (x_of(f.start_s), x_of(f.end_s));
        let x1 = x1.max(x0 + MIN_WIDTH);
        let y = lanes_top + lane_of(f.severity) * lane_height;
        let r = Rect::from_min_max(pos2(x0, y), pos2(x1, y + lane_height - 2.0));
        painter.rect_filled(r, 2.0, severity_colour(f.severity).gamma_multiply(0.85));
        shapes.push((r, f));
    }
    // The analysed stretch ends here: what was played since is not judged yet.
    let now = x_of(analysis.to_s);
    painter.line_segment([pos2(now, rect.top()), pos2(now, rect.bottom())], Stroke::new(1.0, Color32::from_gray(140)));

    let pointer = response.hover_pos();
    let under: Vec<&Finding> = pointer
        .map(|p| shapes.iter().filter(|(r, _)| r.expand2(Vec2::new(2.0, 0.0)).contains(p)).map(|(_, f)| *f).collect())
        .unwrap_or_default();
    if let Some(p) = pointer {
        let text = if under.is_empty() {
            let t = t_of(p.x);
            match analysis.sections.iter().find(|s| s.start_s <= t && t < s.end_s) {
                Some(s) => format!(
                    "{}  {}{}\nClick to ask the assistant about it",
                    s.label,
                    clock_span(s.start_s, s.end_s),
                    s.loudness_lufs.map_or(String::new(), |l| format!(", {l:.1} LUFS"))
                ),
                None => clock(t),
            }
        } else {
            under.iter().map(|f| describe(f, lang)).collect::<Vec<_>>().join("\n")
                + "\nClick to ask the assistant about it"
        };
        response.clone().on_hover_text_at_pointer(text);
    }
    if !response.clicked() {
        return None;
    }
    let (t0, t1) = match under.first() {
        Some(f) => (f.start_s, f.end_s.max(f.start_s + 1.0)),
        None => {
            let t = t_of(pointer?.x);
            let s = analysis.sections.iter().find(|s| s.start_s <= t && t < s.end_s)?;
            (s.start_s, s.end_s)
        }
    };
    Some(question(t0, t1, lang))
}

/// A finding as the hover shows it: what, when, the value against its threshold, why.
pub fn describe(f: &Finding, lang: Lang) -> String {
    let explanation = match lang {
        Lang::En => &f.explanation_en,
        Lang::Fr => &f.explanation_fr,
    };
    format!(
        "{} ({}): {:.1} {} (threshold {:.1})\n{}",
        kind_name(f.kind, lang),
        clock_span(f.start_s, f.end_s),
        f.value,
        f.unit,
        f.threshold,
        explanation
    )
}

/// The question about `[t0, t1]` seconds, as the assistant's time parser reads it.
pub fn question(t0: f64, t1: f64, lang: Lang) -> String {
    match lang {
        Lang::En => format!("What happens between {} and {}?", clock(t0), clock(t1.max(t0 + 1.0))),
        Lang::Fr => format!("Que se passe-t-il entre {} et {} ?", clock(t0), clock(t1.max(t0 + 1.0))),
    }
}
