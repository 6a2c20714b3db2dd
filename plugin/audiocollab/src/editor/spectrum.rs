//! The spectrum view: the live spectrum of the output, the mix's long-term band levels and the
//! genre's target curve with its tolerance, and the EQ curve of the current settings, on one
//! log-frequency axis.
//!
//! # Scales
//!
//! Levels are one-third-octave band powers in dB re full scale, summed over the channels,
//! the quantity the tonal balance of [`audiocollab_core::analysis::tonal`] describes: at every display
//! frequency `f` the live spectrum shows the power in `f·2^(±1/6)`, so a −20 dBFS sine in one
//! channel reads −23.01 dB wherever its band is, and the same sine in both channels −20.0 dB.
//! The mix's levels (`level + integrated loudness`) and the target (`target + integrated +
//! offset`, the curve placed where the mix sits as a whole) are on that scale, so the gap
//! between the mix's dot and the target line is the band's balance, exactly as the findings
//! judge it. With no analysis yet, the target sits where a track at the platform's loudness
//! would have it.
//!
//! The EQ curve uses the right-hand scale (gain, ±[`EQ_RANGE_DB`]) on the same frequency axis.
//!
//! # The analyser
//!
//! [`Analyser`] runs in the window (never on the audio thread): it keeps the last
//! [`fft_length`] frames the audio thread copied into the scope ring, and at every repaint (30
//! to 60 per second) makes a Hann-windowed FFT of them, sums the bins into the display bands and
//! lets the display follow with ballistics (fast rise, slow fall), which is what makes it
//! smooth.

use audiocollab_core::analysis::targets::GenreTarget;
use audiocollab_core::analysis::tonal::TonalBalance;
use audiocollab_core::dsp::decibel::power_to_db;
use audiocollab_core::dsp::eq;
use audiocollab_core::meter::stats::{band_centre_hz, BAND_COUNT, BAND_NOMINAL_HZ};
use audiocollab_core::spec::{audio_band_hz, Settings, EQ_GAIN_DB};
use egui::{pos2, Color32, Rect, Sense, Shape, Stroke, Ui, Vec2};
use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// Display points across the audio band.
pub const POINTS: usize = 240;
/// Lowest level drawn, dB.
pub const FLOOR_DB: f32 = -96.0;
/// Highest level drawn, dB.
const TOP_DB: f32 = 0.0;
/// Gain range of the EQ curve's scale (right-hand side), ± dB.
pub const EQ_RANGE_DB: f64 = EQ_GAIN_DB.1 as f64 + 6.0;
/// Time constant of a rising band, seconds.
const RISE_S: f32 = 0.03;
/// Time constant of a falling band, seconds (about 17 dB per second at first).
const FALL_S: f32 = 0.25;
/// Sample rate assumed before the host has activated the plugin.
const FALLBACK_RATE: f32 = 48_000.0;

/// FFT length at `sample_rate`: the power of two at or above 170 ms (8192 at 44.1 and 48 kHz):
/// bins of 5.9 Hz at 48 kHz resolve the 20 Hz third-octave (4.6 Hz wide) to about one bin.
pub fn fft_length(sample_rate: f32) -> usize {
    ((sample_rate.max(8_000.0) * 0.17).ceil() as usize).next_power_of_two()
}

/// The window's spectrum analyser (see the module documentation).
pub struct Analyser {
    sample_rate: f32,
    channels: usize,
    /// The last `len` frames per channel, circular, `write` the next slot.
    history: [Vec<f32>; 2],
    write: usize,
    /// Frames received since the last FFT.
    fresh: usize,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    input: Vec<f32>,
    output: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    /// Power scale of a bin: `2 / (N · Σ w²)` (one-sided, so a sine's bins sum to A²/2).
    bin_scale: f64,
    /// Σ of the bin powers below each bin (`cumulative[k]` = bins `0 .. k`), summed channels.
    cumulative: Vec<f64>,
    /// Display frequencies, Hz, and their band edges in bins.
    freqs: Vec<f32>,
    edges: Vec<(f64, f64)>,
    /// The latest FFT's band levels, dB.
    target_db: Vec<f32>,
    /// What is drawn: `target_db` followed with ballistics, dB.
    shown_db: Vec<f32>,
}

impl Analyser {
    /// An analyser for `channels` (1 or 2) channels at `sample_rate` Hz, showing silence.
    pub fn new(sample_rate: f32, channels: usize) -> Self {
        let (sample_rate, channels) = Self::format_of(sample_rate, channels);
        let n = fft_length(sample_rate);
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n);
        // Hann (periodic).
        let window: Vec<f32> =
            (0..n).map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos()) as f32).collect();
        let sum_sq: f64 = window.iter().map(|&w| (w as f64).powi(2)).sum();
        let (lo, hi) = audio_band_hz();
        let bin_hz = sample_rate as f64 / n as f64;
        let half_third = 2f64.powf(1.0 / 6.0);
        let freqs: Vec<f32> = (0..POINTS)
            .map(|i| (lo as f64 * (hi as f64 / lo as f64).powf(i as f64 / (POINTS - 1) as f64)) as f32)
            .collect();
        let edges = freqs.iter().map(|&f| (f as f64 / half_third / bin_hz, f as f64 * half_third / bin_hz)).collect();
        Self {
            sample_rate,
            channels,
            history: [vec![0.0; n], vec![0.0; n]],
            write: 0,
            fresh: 0,
            input: fft.make_input_vec(),
            output: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
            window,
            bin_scale: 2.0 / (n as f64 * sum_sq),
            cumulative: vec![0.0; n / 2 + 2],
            freqs,
            edges,
            target_db: vec![FLOOR_DB; POINTS],
            shown_db: vec![FLOOR_DB; POINTS],
        }
    }

    /// The sample rate and channel count an analyser made by `new(sample_rate, channels)`
    /// works with (the fallback rate before the host has set one, 1 or 2 channels).
    pub fn format_of(sample_rate: f32, channels: usize) -> (f32, usize) {
        let rate = if sample_rate.is_finite() && sample_rate >= 8_000.0 { sample_rate } else { FALLBACK_RATE };
        (rate, channels.clamp(1, 2))
    }

    /// The sample rate and channel count it was built for.
    pub fn format(&self) -> (f32, usize) {
        (self.sample_rate, self.channels)
    }

    /// Takes frames from the scope ring (only the last FFT length of them matter).
    pub fn feed(&mut self, frames: impl IntoIterator<Item = [f32; 2]>) {
        let n = self.history[0].len();
        for [l, r] in frames {
            self.history[0][self.write] = if l.is_finite() { l } else { 0.0 };
            self.history[1][self.write] = if r.is_finite() { r } else { 0.0 };
            self.write = (self.write + 1) % n;
            self.fresh += 1;
        }
    }

    /// Advances the display by `dt` seconds: a new FFT if audio arrived, then the ballistics.
    pub fn update(&mut self, dt: f32) {
        if self.fresh > 0 {
            self.fresh = 0;
            self.analyse();
        }
        let dt = dt.clamp(0.0, 0.5);
        let (rise, fall) = (1.0 - (-dt / RISE_S).exp(), 1.0 - (-dt / FALL_S).exp());
        for (shown, &target) in self.shown_db.iter_mut().zip(&self.target_db) {
            let k = if target > *shown { rise } else { fall };
            *shown += (target - *shown) * k;
        }
    }

    /// The FFT of the history into `target_db`.
    fn analyse(&mut self) {
        let n = self.input.len();
        self.cumulative.iter_mut().for_each(|c| *c = 0.0);
        for ch in 0..self.channels {
            let history = &self.history[ch];
            for (i, (x, w)) in self.input.iter_mut().zip(&self.window).enumerate() {
                *x = history[(self.write + i) % n] * w;
            }
            // The buffers are the plan's own size: this cannot fail.
            let _ = self.fft.process_with_scratch(&mut self.input, &mut self.output, &mut self.scratch);
            // Accumulate powers in `cumulative[k + 1]` first, then turn them into running sums.
            for (k, z) in self.output.iter().enumerate() {
                self.cumulative[k + 1] += z.norm_sqr() as f64 * self.bin_scale;
            }
        }
        // DC and Nyquist have no mirror image: half the one-sided scale.
        let last = self.output.len();
        self.cumulative[1] *= 0.5;
        self.cumulative[last] *= 0.5;
        for k in 1..self.cumulative.len() {
            self.cumulative[k] += self.cumulative[k - 1];
        }
        let cumulative = &self.cumulative;
        for (level, &(lo, hi)) in self.target_db.iter_mut().zip(&self.edges) {
            let power = power_below(cumulative, hi) - power_below(cumulative, lo);
            *level = if power > 0.0 { power_to_db(power) as f32 } else { FLOOR_DB }.max(FLOOR_DB);
        }
    }

    /// The display frequencies, Hz.
    pub fn freqs(&self) -> &[f32] {
        &self.freqs
    }

    /// What is drawn at each display frequency, dB.
    pub fn levels_db(&self) -> &[f32] {
        &self.shown_db
    }

    /// The level shown at `freq`, dB (the nearest display point).
    pub fn level_at(&self, freq: f32) -> f32 {
        let i = self.freqs.partition_point(|&f| f < freq).min(POINTS - 1);
        self.shown_db[i]
    }
}

/// Power of the bins below `x` (in bins; bin `k` covers `k ± ½`) from the running sums
/// `cumulative` (`cumulative[k]` = bins `0 .. k`), fractions of a bin linear.
fn power_below(cumulative: &[f64], x: f64) -> f64 {
    let bins = cumulative.len() - 1;
    let pos = (x + 0.5).clamp(0.0, bins as f64);
    let k = (pos.floor() as usize).min(bins - 1);
    let frac = pos - k as f64;
    cumulative[k] + frac * (cumulative[k + 1] - cumulative[k])
}

/// What is drawn over the live spectrum.
pub struct Overlay<'a> {
    /// The current settings, for the EQ curve.
    pub settings: &'a Settings,
    /// The host's sample rate (0 before activation).
    pub sample_rate: f32,
    /// The genre target.
    pub genre: &'a GenreTarget,
    /// The latest analysis' tonal balance and integrated loudness, if there is one with a
    /// measured loudness.
    pub mix: Option<(&'a TonalBalance, f64)>,
    /// The platform's integrated target, LUFS (places the target when there is no mix yet).
    pub platform_lufs: f64,
}

impl Overlay<'_> {
    /// The target's level of band `b` on the display scale, dB.
    fn target_db(&self, b: usize) -> f64 {
        let curve = self.genre.bands_db.get(b).copied().unwrap_or(0.0) as f64;
        match self.mix {
            Some((tonal, integrated)) => curve + integrated + tonal.offset_db as f64,
            None => curve + self.platform_lufs,
        }
    }

    fn tolerance_db(&self, b: usize) -> f64 {
        self.genre.tolerance_db.get(b).copied().unwrap_or(3.0) as f64
    }
}

/// Maps a frequency to x on a log axis spanning the audio band.
fn x_of(freq: f64, rect: Rect) -> f32 {
    let (lo, hi) = audio_band_hz();
    let t = (freq / lo as f64).ln() / (hi as f64 / lo as f64).ln();
    rect.left() + t as f32 * rect.width()
}

fn freq_at(x: f32, rect: Rect) -> f64 {
    let (lo, hi) = audio_band_hz();
    let t = ((x - rect.left()) / rect.width()).clamp(0.0, 1.0) as f64;
    lo as f64 * (hi as f64 / lo as f64).powf(t)
}

fn y_of_level(db: f64, rect: Rect) -> f32 {
    let t = ((db - FLOOR_DB as f64) / (TOP_DB - FLOOR_DB) as f64).clamp(0.0, 1.0);
    rect.bottom() - t as f32 * rect.height()
}

fn y_of_gain(db: f64, rect: Rect) -> f32 {
    rect.center().y - (db.clamp(-EQ_RANGE_DB, EQ_RANGE_DB) / EQ_RANGE_DB) as f32 * rect.height() * 0.5
}

/// Colours of the view.
const LIVE: Color32 = Color32::from_rgb(120, 150, 210);
const TARGET: Color32 = Color32::from_rgb(235, 200, 90);
const MIX: Color32 = Color32::from_rgb(240, 240, 240);
const OUT_OF_TOLERANCE: Color32 = Color32::from_rgb(240, 110, 80);

/// Draws the view in a box of `size`; hovering reads the band under the pointer.
pub fn draw(ui: &mut Ui, analyser: &Analyser, overlay: &Overlay<'_>, size: Vec2) {
    let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "Spectrum"));
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 6.0, Color32::from_gray(22));
    let label_font = egui::FontId::proportional(10.0);

    // Grid: frequencies, band levels every 12 dB (left), EQ gain 0 dB (right).
    let grid = Stroke::new(1.0, Color32::from_gray(42));
    for f in [30.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10_000.0] {
        let x = x_of(f, rect);
        painter.line_segment([pos2(x, rect.top()), pos2(x, rect.bottom())], grid);
        let label = if f >= 1000.0 { format!("{}k", f / 1000.0) } else { format!("{f}") };
        painter.text(
            pos2(x + 2.0, rect.bottom() - 2.0),
            egui::Align2::LEFT_BOTTOM,
            label,
            label_font.clone(),
            Color32::GRAY,
        );
    }
    let mut db = FLOOR_DB + 12.0;
    while db < TOP_DB {
        let y = y_of_level(db as f64, rect);
        painter.line_segment([pos2(rect.left(), y), pos2(rect.right(), y)], grid);
        painter.text(
            pos2(rect.left() + 2.0, y),
            egui::Align2::LEFT_BOTTOM,
            format!("{db}"),
            label_font.clone(),
            Color32::GRAY,
        );
        db += 12.0;
    }
    for gain in [-12.0, 0.0, 12.0] {
        let y = y_of_gain(gain, rect);
        painter.text(
            pos2(rect.right() - 3.0, y),
            egui::Align2::RIGHT_BOTTOM,
            format!("EQ {gain:+}"),
            label_font.clone(),
            crate::editor::ACCENT.gamma_multiply(0.7),
        );
    }

    painter.text(
        rect.left_top() + Vec2::new(34.0, 4.0),
        egui::Align2::LEFT_TOP,
        format!("target: {}  (dots: the mix so far, red out of tolerance)", overlay.genre.name_en),
        egui::FontId::proportional(11.0),
        TARGET,
    );

    // Target and tolerance: a band through the band centres.
    let centres: Vec<usize> =
        (0..BAND_COUNT).filter(|&b| band_centre_hz(b) < overlay.sample_rate.max(FALLBACK_RATE) as f64 / 2.0).collect();
    let mut band = egui::Mesh::default();
    for (i, &b) in centres.iter().enumerate() {
        let x = x_of(band_centre_hz(b), rect);
        let (t, tol) = (overlay.target_db(b), overlay.tolerance_db(b));
        band.colored_vertex(pos2(x, y_of_level(t + tol, rect)), TARGET.gamma_multiply(0.12));
        band.colored_vertex(pos2(x, y_of_level(t - tol, rect)), TARGET.gamma_multiply(0.12));
        if i > 0 {
            let v = (2 * i) as u32;
            band.add_triangle(v - 2, v - 1, v);
            band.add_triangle(v - 1, v + 1, v);
        }
    }
    painter.add(Shape::mesh(band));
    let target_line: Vec<_> =
        centres.iter().map(|&b| pos2(x_of(band_centre_hz(b), rect), y_of_level(overlay.target_db(b), rect))).collect();
    painter.add(Shape::dashed_line(&target_line, Stroke::new(1.5, TARGET), 6.0, 4.0));

    // Live spectrum: a filled area under a line.
    let points: Vec<_> = analyser
        .freqs()
        .iter()
        .zip(analyser.levels_db())
        .map(|(&f, &db)| pos2(x_of(f as f64, rect), y_of_level(db as f64, rect)))
        .collect();
    let mut fill = egui::Mesh::default();
    for (i, p) in points.iter().enumerate() {
        fill.colored_vertex(*p, LIVE.gamma_multiply(0.35));
        fill.colored_vertex(pos2(p.x, rect.bottom()), LIVE.gamma_multiply(0.05));
        if i > 0 {
            let v = (2 * i) as u32;
            fill.add_triangle(v - 2, v - 1, v);
            fill.add_triangle(v - 1, v + 1, v);
        }
    }
    painter.add(Shape::mesh(fill));
    painter.add(Shape::line(points, Stroke::new(1.2, LIVE)));

    // The mix's long-term band levels: dots, red where the balance is out of tolerance.
    if let Some((tonal, integrated)) = overlay.mix {
        for band in &tonal.bands {
            let x = x_of(band.centre_hz as f64, rect);
            let y = y_of_level(band.level_db as f64 + integrated, rect);
            let out = band.balance_db.abs() > band.tolerance_db;
            painter.circle_filled(pos2(x, y), 3.0, if out { OUT_OF_TOLERANCE } else { MIX });
        }
    }

    // The EQ curve of the current settings (right-hand scale).
    let sr = if overlay.sample_rate > 0.0 { overlay.sample_rate } else { FALLBACK_RATE } as f64;
    let curve: Vec<_> = analyser
        .freqs()
        .iter()
        .map(|&f| pos2(x_of(f as f64, rect), y_of_gain(eq::response_db(overlay.settings, sr, f as f64), rect)))
        .collect();
    painter.add(Shape::line(curve, Stroke::new(2.0, crate::editor::ACCENT)));
    for (_, f, g, _) in eq::bands(overlay.settings) {
        if g != 0.0 {
            painter.circle_filled(
                pos2(x_of(f, rect), y_of_gain(g, rect)),
                4.0,
                crate::editor::ACCENT.gamma_multiply(0.8),
            );
        }
    }

    if let Some(pos) = response.hover_pos() {
        let f = freq_at(pos.x, rect);
        painter.line_segment(
            [pos2(pos.x, rect.top()), pos2(pos.x, rect.bottom())],
            Stroke::new(1.0, Color32::from_gray(90)),
        );
        let text = hover_text(f, analyser, overlay, sr);
        let galley = painter.layout_no_wrap(text, egui::FontId::proportional(12.0), Color32::WHITE);
        let at = rect.right_top() + Vec2::new(-8.0 - galley.size().x, 6.0);
        painter.rect_filled(
            Rect::from_min_size(at - Vec2::splat(4.0), galley.size() + Vec2::splat(8.0)),
            4.0,
            Color32::from_black_alpha(200),
        );
        painter.galley(at, galley, Color32::WHITE);
    }
}

/// The band nearest to `f` on a log scale.
fn nearest_band(f: f64) -> usize {
    (0..BAND_COUNT)
        .min_by(|&a, &b| (f / band_centre_hz(a)).ln().abs().total_cmp(&(f / band_centre_hz(b)).ln().abs()))
        .unwrap_or(0)
}

/// What the pointer reads at `f`: the live level, the band against the target, the EQ gain.
pub fn hover_text(f: f64, analyser: &Analyser, overlay: &Overlay<'_>, sample_rate: f64) -> String {
    let b = nearest_band(f);
    let name = |hz: f32| if hz >= 1000.0 { format!("{} kHz", hz / 1000.0) } else { format!("{hz} Hz") };
    let mut lines = vec![format!("{:.0} Hz   live {:.1} dB", f, analyser.level_at(f as f32))];
    let band = overlay.mix.and_then(|(tonal, integrated)| {
        let centre = BAND_NOMINAL_HZ[b];
        tonal.bands.iter().find(|x| x.centre_hz == centre).map(|x| (x, integrated))
    });
    match band {
        Some((x, integrated)) => lines.push(format!(
            "{} band: mix {:.1} dB, target {:.1} +/- {:.1} dB: {:+.1} dB",
            name(x.centre_hz),
            x.level_db as f64 + integrated,
            overlay.target_db(b),
            x.tolerance_db,
            x.balance_db
        )),
        None => lines.push(format!(
            "{} band: target {:.1} +/- {:.1} dB (no analysis yet)",
            name(BAND_NOMINAL_HZ[b]),
            overlay.target_db(b),
            overlay.tolerance_db(b)
        )),
    }
    lines.push(format!("EQ {:+.1} dB", eq::response_db(overlay.settings, sample_rate, f)));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(sr: f32, freq: f64, amp: f64, frames: usize) -> Vec<f32> {
        (0..frames).map(|i| (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / sr as f64).sin()) as f32).collect()
    }

    fn settled(analyser: &mut Analyser) {
        for _ in 0..100 {
            analyser.update(1.0 / 30.0);
        }
    }

    #[test]
    fn a_sine_reads_its_band_power_at_its_frequency() {
        for (sr, freq) in [(48_000.0, 1_000.0), (44_100.0, 63.0), (96_000.0, 8_000.0)] {
            let n = fft_length(sr);
            let x = sine(sr, freq, 0.1, 2 * n);
            // In one channel (the other silent): −20 dBFS peak is −23.01 dB of power.
            let mut one = Analyser::new(sr, 2);
            one.feed(x.iter().map(|&v| [v, 0.0]));
            settled(&mut one);
            let level = one.level_at(freq as f32);
            assert!((level + 23.01).abs() < 0.3, "{sr} Hz, {freq} Hz: {level}");
            // In both channels: the channels' powers add, −20.0 dB.
            let mut both = Analyser::new(sr, 2);
            both.feed(x.iter().map(|&v| [v, v]));
            settled(&mut both);
            assert!((both.level_at(freq as f32) + 20.0).abs() < 0.3);
            // Two octaves away there is only the window's leakage.
            assert!(both.level_at((freq * 4.0) as f32) < -80.0, "{}", both.level_at((freq * 4.0) as f32));
        }
    }

    #[test]
    fn white_noise_rises_three_db_per_octave_in_third_octave_bands() {
        let sr = 48_000.0;
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let noise: Vec<f32> = (0..fft_length(sr) * 2)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 40) as f32 / (1u64 << 24) as f32 * 0.2 - 0.1
            })
            .collect();
        let mut a = Analyser::new(sr, 1);
        a.feed(noise.iter().map(|&v| [v, v]));
        settled(&mut a);
        // A band twice as wide holds twice the power: +3.01 dB per octave. One FFT of noise
        // scatters single bands by a dB or two, so fit a line over 7 octaves.
        let points: Vec<(f64, f64)> = (0..15)
            .map(|i| 100.0 * 2f64.powf(i as f64 * 0.5))
            .map(|f| (f.log2(), a.level_at(f as f32) as f64))
            .collect();
        let n = points.len() as f64;
        let (mx, my) = (points.iter().map(|p| p.0).sum::<f64>() / n, points.iter().map(|p| p.1).sum::<f64>() / n);
        let slope = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>()
            / points.iter().map(|p| (p.0 - mx).powi(2)).sum::<f64>();
        assert!((slope - 3.01).abs() < 0.3, "{slope} dB per octave");
    }

    #[test]
    fn the_display_rises_fast_and_falls_slowly() {
        let sr = 48_000.0;
        let mut a = Analyser::new(sr, 1);
        a.feed(sine(sr, 1_000.0, 0.5, fft_length(sr)).into_iter().map(|v| [v, v]));
        a.update(0.1);
        let up = a.level_at(1_000.0);
        assert!(up > -15.0, "{up}");
        a.feed(std::iter::repeat_n([0.0, 0.0], fft_length(sr)));
        a.update(0.1);
        let down = a.level_at(1_000.0);
        // 0.1 s after the tone stops the display has fallen part of the way only.
        assert!(down < up - 5.0 && down > FLOOR_DB + 20.0, "{up} -> {down}");
    }

    #[test]
    fn bad_samples_and_rates_are_harmless() {
        let mut a = Analyser::new(f32::NAN, 7);
        assert_eq!(a.format(), (FALLBACK_RATE, 2));
        a.feed([[f32::NAN, f32::INFINITY]; 100]);
        a.update(f32::NAN.max(0.1));
        assert!(a.levels_db().iter().all(|d| d.is_finite() && *d >= FLOOR_DB));
    }
}
