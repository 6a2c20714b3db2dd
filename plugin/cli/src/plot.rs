//! `audiocollab analyze --plot`: a PNG of the analysed stretch, [`PLOT_WIDTH`] × [`PLOT_HEIGHT`]
//! pixels, drawn into a small RGB raster of our own and encoded with the `png` crate.
//!
//! From top to bottom:
//! * a title line (file, stretch, integrated loudness, true peak) and the severity legend;
//! * the waveform: per pixel column, the minimum and maximum sample of each channel (left
//!   above right; one lane for mono), full scale at the lane edges, gathered from the blocks
//!   of the analysis' pass over the file ([`Waveform`]);
//! * the spectrogram: the timeline's 31 third-octave band powers (one frame every 100 ms, power
//!   averaged over the frames of a column), interpolated along a logarithmic frequency axis
//!   from 20 Hz (bottom) to 20 kHz (top), coloured over the [`SPECTRUM_RANGE_DB`] below the
//!   loudest band of the stretch;
//! * the findings: each one shades its time span over the waveform and spectrogram in the colour
//!   of its severity, and gets a box with its kind in the lane below;
//! * the time axis, with `m:ss` ticks (`m:ss.s` for stretches of a few seconds).
//!
//! Text uses a built-in 5 × 7 bitmap font (ASCII capitals, digits and a little punctuation;
//! accented letters lose their accent, anything else prints as `?`).

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use audiocollab_core::analysis::findings::Severity;
use audiocollab_core::analysis::timeline::FrameStats;
use audiocollab_core::analysis::track::TrackAnalysis;
use audiocollab_core::dsp::decibel::{db_to_power, power_to_db};
use audiocollab_core::meter::stats::{BAND_COUNT, BAND_FLOOR_DB};

use super::report::{kind_name, severity_name, Lang};
use audiocollab_core::analysis::stream::OFFLINE_BLOCK;
use audiocollab_core::offline::decode::{AudioReader, DecodeError};
use audiocollab_core::text::{clock, clock_tenths, number};

/// Width of the image, pixels.
pub const PLOT_WIDTH: usize = 1200;
/// Height of the image, pixels.
pub const PLOT_HEIGHT: usize = 600;
/// Dynamic range of the spectrogram's colour scale, dB below the loudest band.
pub const SPECTRUM_RANGE_DB: f32 = 72.0;

/// Why the plot could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// Creating or writing the file failed.
    #[error("cannot write the plot '{}': {error}; check the folder exists and is writable", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        error: io::Error,
    },
    /// The PNG encoder refused the image (a bug: the image is always well formed).
    #[error("cannot write the plot '{}': PNG encoding failed ({message})", .path.display())]
    Encode {
        /// The file.
        path: PathBuf,
        /// The encoder's message.
        message: String,
    },
}

/// An 8-bit RGB colour.
pub type Rgb = [u8; 3];

/// A raster of RGB pixels, row-major, top row first.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    width: usize,
    height: usize,
    pixels: Vec<Rgb>,
}

impl Image {
    /// A `width` × `height` image filled with `colour`.
    pub fn new(width: usize, height: usize, colour: Rgb) -> Self {
        Self { width, height, pixels: vec![colour; width * height] }
    }

    /// Width, pixels.
    #[cfg(test)]
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height, pixels.
    #[cfg(test)]
    pub fn height(&self) -> usize {
        self.height
    }

    /// The pixel at column `x`, row `y` (`None` outside the image).
    pub fn pixel(&self, x: usize, y: usize) -> Option<Rgb> {
        (x < self.width && y < self.height).then(|| self.pixels[y * self.width + x])
    }

    /// Sets a pixel; outside the image it does nothing.
    fn set(&mut self, x: usize, y: usize, colour: Rgb) {
        if x < self.width && y < self.height {
            self.pixels[y * self.width + x] = colour;
        }
    }

    /// Mixes `colour` into a pixel with weight `alpha` (0 … 1).
    fn blend(&mut self, x: usize, y: usize, colour: Rgb, alpha: f32) {
        if let Some(old) = self.pixel(x, y) {
            self.set(x, y, mix(old, colour, alpha));
        }
    }

    fn fill(&mut self, r: Rect, colour: Rgb) {
        for y in r.y..(r.y + r.h).min(self.height) {
            for x in r.x..(r.x + r.w).min(self.width) {
                self.pixels[y * self.width + x] = colour;
            }
        }
    }

    /// Writes `text` with its top-left corner at `(x, y)`, each font pixel `scale` pixels wide;
    /// returns the x after the last character.
    fn text(&mut self, x: usize, y: usize, text: &str, scale: usize, colour: Rgb) -> usize {
        let mut cx = x;
        for c in text.chars() {
            let rows = glyph(c);
            for (gy, bits) in rows.iter().enumerate() {
                for gx in 0..GLYPH_W {
                    if bits & (1 << (GLYPH_W - 1 - gx)) != 0 {
                        for dy in 0..scale {
                            for dx in 0..scale {
                                self.set(cx + gx * scale + dx, y + gy * scale + dy, colour);
                            }
                        }
                    }
                }
            }
            cx += advance(scale);
        }
        cx
    }

    /// The raw RGB bytes, row-major.
    fn bytes(&self) -> Vec<u8> {
        self.pixels.iter().flatten().copied().collect()
    }
}

fn mix(a: Rgb, b: Rgb, alpha: f32) -> Rgb {
    let alpha = alpha.clamp(0.0, 1.0);
    [0, 1, 2].map(|i| (a[i] as f32 + (b[i] as f32 - a[i] as f32) * alpha).round() as u8)
}

#[derive(Clone, Copy, Debug)]
struct Rect {
    x: usize,
    y: usize,
    w: usize,
    h: usize,
}

const BACKGROUND: Rgb = [22, 24, 30];
const PANEL: Rgb = [12, 13, 18];
const TEXT: Rgb = [215, 218, 226];
const DIM: Rgb = [120, 126, 140];
const ZERO_LINE: Rgb = [52, 56, 70];
const WAVE: Rgb = [96, 200, 232];

/// Colour of a finding's span and box.
fn severity_colour(severity: Severity) -> Rgb {
    match severity {
        Severity::Info => [90, 160, 255],
        Severity::Warning => [255, 176, 40],
        Severity::Problem => [255, 64, 64],
    }
}

/// Scale of the bitmap font (each font pixel is 2 × 2 image pixels: 10 × 14 characters).
const FONT_SCALE: usize = 2;
const LEFT: usize = 64;
const RIGHT: usize = 16;
const TITLE_Y: usize = 6;
const WAVE_TOP: usize = 30;
const WAVE_H: usize = 180;
const SPEC_TOP: usize = 216;
const SPEC_H: usize = 290;
const LANE_TOP: usize = SPEC_TOP + SPEC_H + 6;
const LANE_ROW_H: usize = 18;
const LANE_ROWS: usize = 2;
const AXIS_TOP: usize = LANE_TOP + LANE_ROWS * LANE_ROW_H + 4;
const _: () = assert!(AXIS_TOP + 6 + 4 + 7 * FONT_SCALE <= PLOT_HEIGHT, "the time labels fit");

/// Draws the plot of the stretch `analysis.from_s … analysis.to_s` of a file. `wave` is the
/// waveform of that stretch ([`Waveform::matches`] it), `frames` the timeline's frames (any
/// range; those of the stretch are used), `title` the first words of the title line (the file
/// name).
pub fn draw(wave: &Waveform, frames: &[FrameStats], analysis: &TrackAnalysis, title: &str, lang: Lang) -> Image {
    let mut img = Image::new(PLOT_WIDTH, PLOT_HEIGHT, BACKGROUND);
    let plot_w = PLOT_WIDTH - LEFT - RIGHT;
    let (t0, t1) = (analysis.from_s, analysis.to_s.max(analysis.from_s + 1e-3));
    // Left edge of column `x` (0 = the plot's left edge) in seconds, and back.
    let time_of = |x: f64| t0 + x / plot_w as f64 * (t1 - t0);
    let column_of = |t: f64| ((t - t0) / (t1 - t0) * plot_w as f64).clamp(0.0, plot_w as f64);

    title_line(&mut img, analysis, title, lang);
    waveform(&mut img, wave);
    spectrogram(&mut img, frames, plot_w, &time_of);

    // Findings: shade the spans, then box and name them in the lane, in the first row where
    // box and name do not overlap what is already there.
    let mut rows: [Vec<(usize, usize)>; LANE_ROWS] = Default::default();
    let right = LEFT + plot_w;
    for f in &analysis.findings {
        if f.end_s < t0 || f.start_s > t1 || !(f.start_s.is_finite() && f.end_s.is_finite()) {
            continue;
        }
        let colour = severity_colour(f.severity);
        let x0 = (LEFT + column_of(f.start_s) as usize).min(right - 2);
        let x1 = (LEFT + column_of(f.end_s).ceil() as usize).clamp(x0 + 2, right);
        for x in x0..x1 {
            let edge = x == x0 || x + 1 == x1;
            for y in WAVE_TOP..SPEC_TOP + SPEC_H {
                img.blend(x, y, colour, if edge { 0.8 } else { 0.18 });
            }
        }
        // The name goes inside the box when it fits, else after it, else before it.
        let label = kind_name(f.kind, lang);
        let label_w = label.chars().count() * advance(FONT_SCALE);
        let (label_x, text_colour) = if label_w + 6 <= x1 - x0 {
            (x0 + 3, PANEL)
        } else if x1 + 4 + label_w <= right {
            (x1 + 4, colour)
        } else {
            (x0.saturating_sub(4 + label_w).max(LEFT), colour)
        };
        let extent = (x0.min(label_x), x1.max(label_x + label_w) + 8);
        let row = (0..LANE_ROWS)
            .find(|&r| rows[r].iter().all(|&(a, b)| extent.1 <= a || b <= extent.0))
            .unwrap_or(LANE_ROWS - 1);
        rows[row].push(extent);
        let y = LANE_TOP + row * LANE_ROW_H;
        img.fill(Rect { x: x0, y, w: x1 - x0, h: LANE_ROW_H - 2 }, colour);
        img.text(label_x, y + 1, label, FONT_SCALE, text_colour);
    }

    time_axis(&mut img, plot_w, t0, t1, &column_of, lang);
    img
}

fn title_line(img: &mut Image, analysis: &TrackAnalysis, title: &str, lang: Lang) {
    let l = &analysis.loudness;
    let level = |v: Option<f64>, unit: &str| {
        v.map_or_else(|| format!("- {unit}"), |v| format!("{} {unit}", number(v, 1, lang)))
    };
    let text = format!(
        "{title}  {}-{}  {}  TP {}",
        clock_tenths(analysis.from_s, lang),
        clock_tenths(analysis.to_s, lang),
        level(l.integrated_lufs, "LUFS"),
        level(l.true_peak_dbtp, "DBTP"),
    );
    // The legend takes the right end; the title is cut to what is left.
    let legend: Vec<(Severity, &str)> = [Severity::Problem, Severity::Warning, Severity::Info]
        .into_iter()
        .map(|s| (s, severity_name(s, lang)))
        .collect();
    let legend_w: usize =
        legend.iter().map(|(_, name)| 14 + name.chars().count() * advance(FONT_SCALE) + 12).sum::<usize>();
    let legend_x = PLOT_WIDTH - RIGHT - legend_w;
    let room = (legend_x - LEFT - 12) / advance(FONT_SCALE);
    let text: String = text.chars().take(room).collect();
    img.text(LEFT, TITLE_Y, &text, FONT_SCALE, TEXT);
    let mut x = legend_x;
    for (severity, name) in legend {
        img.fill(Rect { x, y: TITLE_Y + 2, w: 10, h: 10 }, severity_colour(severity));
        x = img.text(x + 14, TITLE_Y, name, FONT_SCALE, DIM) + 12;
    }
}

/// Width of the plot area (the waveform's columns), pixels.
const PLOT_W: usize = PLOT_WIDTH - LEFT - RIGHT;

/// The waveform lanes of a plot: per pixel column, the smallest and largest finite sample of
/// each channel over the column's frames. Filled from blocks of a stream in order
/// ([`Waveform::push`]), so drawing a long file needs no more than the columns.
#[derive(Clone, Debug, PartialEq)]
pub struct Waveform {
    lanes: usize,
    /// The stretch drawn, frames `first .. last` of the file.
    first: u64,
    last: u64,
    /// `(lo, hi)` per column and lane; `lo > hi` for a column without a finite sample.
    columns: Vec<[(f32, f32); 2]>,
    /// The first column not complete yet.
    cursor: usize,
}

impl Waveform {
    /// The frames `first .. last` the plot of `analysis.from_s … analysis.to_s` shows, for a
    /// file of `frames` frames at `sample_rate`.
    pub fn stretch(sample_rate: u32, frames: u64, from_s: f64, to_s: f64) -> (u64, u64) {
        let (t0, t1) = (from_s, to_s.max(from_s + 1e-3));
        let rate = f64::from(sample_rate.max(1));
        let first = ((t0 * rate).round() as u64).min(frames);
        let last = ((t1 * rate).round() as u64).clamp(first, frames);
        (first, last)
    }

    /// An empty waveform of `channels` channels (the first two are drawn) over the frames
    /// `first .. last` (see [`Waveform::stretch`]).
    pub fn new(channels: usize, (first, last): (u64, u64)) -> Waveform {
        Waveform {
            lanes: channels.clamp(1, 2),
            first,
            last: last.max(first),
            columns: vec![[(f32::INFINITY, f32::NEG_INFINITY); 2]; PLOT_W],
            cursor: 0,
        }
    }

    /// The waveform of the stretch `analysis` covers, from a whole decoded file.
    #[cfg(test)]
    pub fn of_audio(audio: &audiocollab_core::offline::AudioBuffer, analysis: &TrackAnalysis) -> Waveform {
        let stretch = Waveform::stretch(audio.sample_rate, audio.frames() as u64, analysis.from_s, analysis.to_s);
        let mut wave = Waveform::new(audio.num_channels(), stretch);
        let views: Vec<&[f32]> = audio.channels.iter().map(|c| &c[..audio.frames()]).collect();
        wave.push(0, &views);
        wave
    }

    /// Whether this is the waveform [`draw`] needs for `analysis` of a file of `frames` frames
    /// at `sample_rate` (its stretch was predicted before the file's length was known).
    pub fn matches(&self, sample_rate: u32, frames: u64, analysis: &TrackAnalysis) -> bool {
        (self.first, self.last) == Waveform::stretch(sample_rate, frames, analysis.from_s, analysis.to_s)
    }

    /// Frames `a .. b` of column `x`: the stretch cut into [`PLOT_W`] equal parts, each at
    /// least one frame (a short stretch repeats frames over neighbouring columns).
    fn column(&self, x: usize) -> (u64, u64) {
        let (span, w) = (self.last - self.first, PLOT_W as u64);
        let a = self.first + x as u64 * span / w;
        let b = (self.first + (x as u64 + 1) * span / w).max(a + 1).min(self.last);
        (a, b)
    }

    /// Takes the next block of the file, which starts at frame `start` (blocks in order, one
    /// slice per channel, equal lengths).
    pub fn push(&mut self, start: u64, block: &[&[f32]]) {
        let end = start + block.iter().map(|c| c.len()).min().unwrap_or(0) as u64;
        while self.cursor < PLOT_W {
            let (a, b) = self.column(self.cursor);
            if a >= end {
                break;
            }
            let (from, to) = (a.max(start), b.min(end));
            for (lane, channel) in block.iter().take(self.lanes).enumerate() {
                let range = &mut self.columns[self.cursor][lane];
                for &s in channel.get((from.min(to) - start) as usize..(to - start) as usize).unwrap_or(&[]) {
                    if s.is_finite() {
                        *range = (range.0.min(s), range.1.max(s));
                    }
                }
            }
            if b > end {
                // The column goes on in the next block.
                break;
            }
            self.cursor += 1;
        }
    }
}

/// The waveform of the stretch `analysis` covers of the file at `path` (of `frames` frames),
/// decoded again up to the stretch's end: for when [`Waveform::matches`] says the one drawn
/// while analysing predicted the stretch wrong (a header without the length, or a wrong one).
pub fn waveform_of_file(path: &Path, frames: u64, analysis: &TrackAnalysis) -> Result<Waveform, DecodeError> {
    let mut reader = AudioReader::open(path)?;
    let stretch = Waveform::stretch(reader.sample_rate(), frames, analysis.from_s, analysis.to_s);
    let mut wave = Waveform::new(reader.channels(), stretch);
    let mut block = Vec::new();
    while reader.frames_read() < stretch.1 {
        block.iter_mut().for_each(Vec::clear);
        let start = reader.frames_read();
        if reader.read(&mut block, OFFLINE_BLOCK)? == 0 {
            break;
        }
        let views: Vec<&[f32]> = block.iter().map(Vec::as_slice).collect();
        wave.push(start, &views);
    }
    Ok(wave)
}

fn waveform(img: &mut Image, wave: &Waveform) {
    let lanes = wave.lanes;
    let gap = 4;
    let lane_h = (WAVE_H - gap * (lanes - 1)) / lanes;
    for lane in 0..lanes {
        let top = WAVE_TOP + lane * (lane_h + gap);
        img.fill(Rect { x: LEFT, y: top, w: PLOT_W, h: lane_h }, PANEL);
        let centre = top + lane_h / 2;
        for x in 0..PLOT_W {
            img.set(LEFT + x, centre, ZERO_LINE);
        }
        let name = match (lanes, lane) {
            (1, _) => "M",
            (_, 0) => "L",
            _ => "R",
        };
        img.text(LEFT - 12 - advance(FONT_SCALE), centre - 7, name, FONT_SCALE, DIM);
        if wave.last == wave.first {
            continue;
        }
        let half = (lane_h / 2) as f32 - 1.0;
        let y_of = |v: f32| (centre as f32 - v.clamp(-1.0, 1.0) * half).round() as usize;
        for (x, column) in wave.columns.iter().enumerate() {
            let (lo, hi) = column[lane];
            if lo > hi {
                continue;
            }
            for y in y_of(hi)..=y_of(lo) {
                img.set(LEFT + x, y, WAVE);
            }
        }
    }
}

/// Colour stops of the spectrogram scale, from the floor (dark) to the loudest band (light):
/// a perceptually ordered dark-purple-orange-yellow ramp.
const RAMP: [Rgb; 5] = [[6, 4, 20], [80, 18, 112], [186, 54, 86], [248, 140, 20], [252, 250, 170]];

fn ramp(x: f32) -> Rgb {
    let x = x.clamp(0.0, 1.0) * (RAMP.len() - 1) as f32;
    let i = (x.floor() as usize).min(RAMP.len() - 2);
    mix(RAMP[i], RAMP[i + 1], x - i as f32)
}

/// Lowest and highest frequency of the spectrogram, Hz (the first and last band centre).
const SPEC_LOW_HZ: f64 = 20.0;
const SPEC_HIGH_HZ: f64 = 20_000.0;

/// Fractional band index of `f` Hz (band 17 is 1 kHz, ten bands a decade; ISO 266).
fn band_position(f: f64) -> f64 {
    17.0 + 10.0 * (f / 1000.0).log10()
}

fn spectrogram(img: &mut Image, frames: &[FrameStats], plot_w: usize, time_of: &dyn Fn(f64) -> f64) {
    let area = Rect { x: LEFT, y: SPEC_TOP, w: plot_w, h: SPEC_H };
    img.fill(area, RAMP[0]);
    // Band powers of each column: mean power of the frames that start in it, or of the frame
    // that covers its middle when the column is shorter than a frame.
    let columns: Vec<Option<[f32; BAND_COUNT]>> = (0..plot_w)
        .map(|x| {
            let (a, b) = (time_of(x as f64), time_of(x as f64 + 1.0));
            let from = frames.partition_point(|f| f.start_s < a);
            let to = frames.partition_point(|f| f.start_s < b);
            let chosen = if to > from {
                &frames[from..to]
            } else {
                let mid = 0.5 * (a + b);
                let i = frames.partition_point(|f| f.end_s() <= mid);
                match frames.get(i) {
                    Some(f) if f.start_s <= mid => std::slice::from_ref(f),
                    _ => return None,
                }
            };
            let mut bands = [0.0f32; BAND_COUNT];
            for (b, out) in bands.iter_mut().enumerate() {
                let power: f64 = chosen
                    .iter()
                    .map(|f| f.bands_db[b])
                    .filter(|db| db.is_finite() && *db > BAND_FLOOR_DB)
                    .map(|db| db_to_power(f64::from(db)))
                    .sum::<f64>()
                    / chosen.len() as f64;
                *out = if power > 0.0 { power_to_db(power) as f32 } else { BAND_FLOOR_DB };
            }
            Some(bands)
        })
        .collect();
    let top = columns.iter().flatten().flatten().copied().filter(|&db| db > BAND_FLOOR_DB).fold(f32::MIN, f32::max);
    // Frequency labels and ticks on the left.
    for (f, label) in [(50.0, "50"), (100.0, "100"), (200.0, "200"), (500.0, "500"), (1e3, "1K"), (2e3, "2K")]
        .into_iter()
        .chain([(5e3, "5K"), (1e4, "10K")])
    {
        let y = SPEC_TOP + SPEC_H
            - ((f / SPEC_LOW_HZ).log10() / (SPEC_HIGH_HZ / SPEC_LOW_HZ).log10() * SPEC_H as f64) as usize;
        for x in LEFT - 6..LEFT {
            img.set(x, y, DIM);
        }
        let w = label.len() * advance(FONT_SCALE);
        img.text(LEFT - 8 - w, y.saturating_sub(7), label, FONT_SCALE, DIM);
    }
    img.text(4, SPEC_TOP + 2, "HZ", FONT_SCALE, DIM);
    if top == f32::MIN {
        return; // Silence: the panel stays dark.
    }
    let floor = top - SPECTRUM_RANGE_DB;
    // Band position of every row, bottom row 20 Hz, top row 20 kHz.
    let rows: Vec<f64> = (0..SPEC_H)
        .map(|r| {
            let up = (SPEC_H - 1 - r) as f64 / (SPEC_H - 1) as f64;
            band_position(SPEC_LOW_HZ * (SPEC_HIGH_HZ / SPEC_LOW_HZ).powf(up))
        })
        .collect();
    for (x, bands) in columns.iter().enumerate() {
        let Some(bands) = bands else { continue };
        for (r, &pos) in rows.iter().enumerate() {
            let pos = pos.clamp(0.0, (BAND_COUNT - 1) as f64);
            let i = (pos.floor() as usize).min(BAND_COUNT - 2);
            let frac = (pos - i as f64) as f32;
            let (a, b) = (bands[i], bands[i + 1]);
            // A band with no power (above Nyquist) stays at the floor instead of smearing.
            let db = if a <= BAND_FLOOR_DB || b <= BAND_FLOOR_DB { a.min(b) } else { a + (b - a) * frac };
            img.set(LEFT + x, SPEC_TOP + r, ramp((db - floor) / SPECTRUM_RANGE_DB));
        }
    }
}

/// Tick spacings the time axis chooses from, seconds.
const TICK_STEPS_S: [f64; 17] =
    [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0];
/// Least distance between two time ticks, pixels (a `m:ss` label is 48 px wide).
const TICK_MIN_PX: f64 = 90.0;

fn time_axis(img: &mut Image, plot_w: usize, t0: f64, t1: f64, column_of: &dyn Fn(f64) -> f64, lang: Lang) {
    let px_per_s = plot_w as f64 / (t1 - t0);
    let step = TICK_STEPS_S.into_iter().find(|s| s * px_per_s >= TICK_MIN_PX).unwrap_or(7200.0);
    for x in 0..plot_w {
        img.set(LEFT + x, AXIS_TOP, DIM);
    }
    let mut k = (t0 / step).ceil() as i64;
    loop {
        let t = k as f64 * step;
        if t > t1 + 1e-9 {
            break;
        }
        let x = LEFT + (column_of(t).round() as usize).min(plot_w - 1);
        for y in AXIS_TOP..AXIS_TOP + 6 {
            img.set(x, y, DIM);
        }
        // Tenths only when the ticks are closer than a second; the decimal mark of the
        // language, as in the report.
        let label = if step < 1.0 { clock_tenths(t, lang) } else { clock(t) };
        let w = label.chars().count() * advance(FONT_SCALE);
        let lx = x.saturating_sub(w / 2).clamp(4, PLOT_WIDTH - 4 - w);
        img.text(lx, AXIS_TOP + 10, &label, FONT_SCALE, TEXT);
        k += 1;
    }
}

/// Writes `image` to `path` as an 8-bit RGB PNG.
pub fn write_png(path: &Path, image: &Image) -> Result<(), PlotError> {
    let io_error = |error: io::Error| PlotError::Io { path: path.to_path_buf(), error };
    let file = File::create(path).map_err(io_error)?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), image.width as u32, image.height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let encoding = |e: png::EncodingError| match e {
        png::EncodingError::IoError(error) => io_error(error),
        other => PlotError::Encode { path: path.to_path_buf(), message: other.to_string() },
    };
    let mut writer = encoder.write_header().map_err(encoding)?;
    writer.write_image_data(&image.bytes()).map_err(encoding)?;
    writer.finish().map_err(encoding)
}

// ---------------------------------------------------------------------------------------------
// A 5 × 7 bitmap font
// ---------------------------------------------------------------------------------------------

const GLYPH_W: usize = 5;

/// Horizontal distance from one character to the next at `scale`.
fn advance(scale: usize) -> usize {
    (GLYPH_W + 1) * scale
}

/// The seven rows of `c`, top first; bit 4 is the leftmost pixel. Lower case prints as upper
/// case and accented Latin letters lose their accent.
fn glyph(c: char) -> [u8; 7] {
    let c = match c {
        'à' | 'â' | 'ä' | 'À' | 'Â' | 'Ä' => 'A',
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'E',
        'î' | 'ï' | 'Î' | 'Ï' => 'I',
        'ô' | 'ö' | 'Ô' | 'Ö' => 'O',
        'ù' | 'û' | 'ü' | 'Ù' | 'Û' | 'Ü' => 'U',
        'ç' | 'Ç' => 'C',
        '–' | '—' | '−' => '-',
        c => c.to_ascii_uppercase(),
    };
    match c {
        ' ' => [0; 7],
        '0' => [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110],
        '1' => [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
        '2' => [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111],
        '3' => [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110],
        '4' => [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010],
        '5' => [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110],
        '6' => [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110],
        '7' => [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000],
        '8' => [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110],
        '9' => [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100],
        'A' => [0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001],
        'B' => [0b11110, 0b10001, 0b10001, 0b11110, 0b10001, 0b10001, 0b11110],
        'C' => [0b01110, 0b10001, 0b10000, 0b10000, 0b10000, 0b10001, 0b01110],
        'D' => [0b11110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b11110],
        'E' => [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111],
        'F' => [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b10000],
        'G' => [0b01110, 0b10001, 0b10000, 0b10111, 0b10001, 0b10001, 0b01111],
        'H' => [0b10001, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001],
        'I' => [0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
        'J' => [0b00111, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100],
        'K' => [0b10001, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0b10001],
        'L' => [0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111],
        'M' => [0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001],
        'N' => [0b10001, 0b10001, 0b11001, 0b10101, 0b10011, 0b10001, 0b10001],
        'O' => [0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110],
        'P' => [0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000, 0b10000],
        'Q' => [0b01110, 0b10001, 0b10001, 0b10001, 0b10101, 0b10010, 0b01101],
        'R' => [0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001],
        'S' => [0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110],
        'T' => [0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100],
        'U' => [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110],
        'V' => [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100],
        'W' => [0b10001, 0b10001, 0b10001, 0b10101, 0b10101, 0b10101, 0b01010],
        'X' => [0b10001, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b10001],
        'Y' => [0b10001, 0b10001, 0b10001, 0b01010, 0b00100, 0b00100, 0b00100],
        'Z' => [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b11111],
        ':' => [0b00000, 0b01100, 0b01100, 0b00000, 0b01100, 0b01100, 0b00000],
        '.' => [0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b01100, 0b01100],
        ',' => [0b00000, 0b00000, 0b00000, 0b00000, 0b01100, 0b00100, 0b01000],
        '-' => [0b00000, 0b00000, 0b00000, 0b11111, 0b00000, 0b00000, 0b00000],
        '+' => [0b00000, 0b00100, 0b00100, 0b11111, 0b00100, 0b00100, 0b00000],
        '=' => [0b00000, 0b00000, 0b11111, 0b00000, 0b11111, 0b00000, 0b00000],
        '/' => [0b00000, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b00000],
        '_' => [0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b11111],
        '(' => [0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0b00100, 0b00010],
        ')' => [0b01000, 0b00100, 0b00010, 0b00010, 0b00010, 0b00100, 0b01000],
        '[' => [0b01110, 0b01000, 0b01000, 0b01000, 0b01000, 0b01000, 0b01110],
        ']' => [0b01110, 0b00010, 0b00010, 0b00010, 0b00010, 0b00010, 0b01110],
        '%' => [0b11000, 0b11001, 0b00010, 0b00100, 0b01000, 0b10011, 0b00011],
        '\'' => [0b01100, 0b00100, 0b01000, 0b00000, 0b00000, 0b00000, 0b00000],
        '&' => [0b01100, 0b10010, 0b10100, 0b01000, 0b10101, 0b10010, 0b01101],
        '#' => [0b01010, 0b01010, 0b11111, 0b01010, 0b11111, 0b01010, 0b01010],
        _ => [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b00000, 0b00100], // '?'
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use audiocollab_core::offline::AudioBuffer;

    #[test]
    fn every_printable_ascii_letter_and_digit_has_its_own_glyph() {
        let unknown = glyph('\u{1}');
        let mut seen = std::collections::HashSet::new();
        for c in ('A'..='Z').chain('0'..='9').chain(":.,-+=/_()[]%'&#".chars()) {
            let g = glyph(c);
            assert_ne!(g, unknown, "{c:?} falls back to '?'");
            assert!(g.iter().all(|row| row < &(1 << GLYPH_W)), "{c:?} is wider than {GLYPH_W}");
            assert!(seen.insert(g), "{c:?} looks like another character");
        }
        assert_eq!(glyph('é'), glyph('E'));
        assert_eq!(glyph('q'), glyph('Q'));
    }

    #[test]
    fn text_draws_inside_its_box_and_returns_the_next_x() {
        let mut img = Image::new(40, 20, PANEL);
        let end = img.text(2, 3, "H1", 2, TEXT);
        assert_eq!(end, 2 + 2 * advance(2));
        let lit: Vec<(usize, usize)> = (0..20)
            .flat_map(|y| (0..40).map(move |x| (x, y)))
            .filter(|&(x, y)| img.pixel(x, y) == Some(TEXT))
            .collect();
        assert!(!lit.is_empty());
        assert!(lit.iter().all(|&(x, y)| (2..end).contains(&x) && (3..3 + 14).contains(&y)), "{lit:?}");
        // 'H' has its left column fully lit: 7 rows × 2 px high at x = 2 and 3.
        assert!((3..17).all(|y| img.pixel(2, y) == Some(TEXT)));
    }

    #[test]
    fn the_ramp_runs_from_its_first_to_its_last_stop() {
        assert_eq!(ramp(-1.0), RAMP[0]);
        assert_eq!(ramp(0.0), RAMP[0]);
        assert_eq!(ramp(1.0), RAMP[4]);
        assert_eq!(ramp(0.5), RAMP[2]);
        let brightness = |c: Rgb| c.iter().map(|&v| v as u32).sum::<u32>();
        assert!((0..10).all(|i| brightness(ramp(i as f32 / 10.0)) < brightness(ramp((i + 1) as f32 / 10.0))));
    }

    /// A 4 s stereo tone with a clipped burst, analysed for real, plus findings of each
    /// severity placed by hand (the detectors are tested elsewhere): the plot shades each span
    /// in its severity's colour, boxes it in the lane, and the PNG round-trips.
    #[test]
    fn findings_are_shaded_and_boxed_in_their_colours() {
        use audiocollab_core::analysis::findings::{Finding, FindingKind};
        use audiocollab_core::analysis::track::{analyze, AnalyzeOptions};
        let rate = 48_000;
        let tone: Vec<f32> = (0..4 * rate)
            .map(|n| (0.3 * (2.0 * std::f64::consts::PI * 440.0 * n as f64 / rate as f64).sin()) as f32)
            .collect();
        let audio = AudioBuffer { sample_rate: rate as u32, channels: vec![tone.clone(), tone] };
        let timeline_audio: Vec<&[f32]> = audio.channels.iter().map(Vec::as_slice).collect();
        let timeline =
            audiocollab_core::analysis::timeline::Timeline::of_audio(rate as u32, &timeline_audio, |_| {}).unwrap();
        let mut analysis = analyze(rate as u32, &audio.channels, &AnalyzeOptions::default(), |_| {}).unwrap();
        let finding = |kind, severity, start_s, end_s| Finding {
            kind,
            severity,
            start_s,
            end_s,
            value: 0.0,
            threshold: 0.0,
            unit: "dB".into(),
            explanation_en: String::new(),
            explanation_fr: String::new(),
        };
        analysis.findings = vec![
            finding(FindingKind::Harshness, Severity::Warning, 0.4, 2.4),
            finding(FindingKind::Clipping, Severity::Problem, 1.5, 1.6),
            finding(FindingKind::SilenceTail, Severity::Info, 3.5, 4.0),
        ];
        let img = draw(&Waveform::of_audio(&audio, &analysis), timeline.frames(), &analysis, "tone.wav", Lang::En);
        assert_eq!((img.width(), img.height()), (PLOT_WIDTH, PLOT_HEIGHT));
        let plot_w = (PLOT_WIDTH - LEFT - RIGHT) as f64;
        let x_at = |t: f64| LEFT + (t / 4.0 * plot_w) as usize;
        let reddish = |c: Rgb| c[0] as i32 - c[2] as i32 > 40;
        // Inside the clipping span, the waveform lane's background is tinted red; well outside
        // any span it is the plain panel colour.
        let clip_x = x_at(1.55);
        assert!(reddish(img.pixel(clip_x, WAVE_TOP + 2).unwrap()), "{:?}", img.pixel(clip_x, WAVE_TOP + 2));
        assert_eq!(img.pixel(x_at(3.0), WAVE_TOP + 2), Some(PANEL));
        // Each finding has a box of its colour in the lane, at its start.
        let lane_has = |x: usize, colour: Rgb| {
            (0..LANE_ROWS).any(|r| img.pixel(x + 1, LANE_TOP + r * LANE_ROW_H + 15) == Some(colour))
        };
        assert!(lane_has(x_at(0.4), severity_colour(Severity::Warning)));
        assert!(lane_has(x_at(1.5), severity_colour(Severity::Problem)));
        assert!(lane_has(x_at(3.5), severity_colour(Severity::Info)));
        // The waveform is drawn, and the spectrogram is lit at 440 Hz but dark at 10 kHz.
        assert!((WAVE_TOP..WAVE_TOP + 80).any(|y| img.pixel(x_at(3.0), y) == Some(WAVE)));
        let row_of = |f: f64| {
            SPEC_TOP + SPEC_H
                - 1
                - ((f / SPEC_LOW_HZ).log10() / (SPEC_HIGH_HZ / SPEC_LOW_HZ).log10() * (SPEC_H - 1) as f64) as usize
        };
        let lum = |c: Rgb| c.iter().map(|&v| v as u32).sum::<u32>();
        assert!(lum(img.pixel(x_at(3.0), row_of(440.0)).unwrap()) > 500, "440 Hz is bright");
        assert!(lum(img.pixel(x_at(3.0), row_of(10_000.0)).unwrap()) < 150, "10 kHz is dark");

        let path = std::env::temp_dir().join(format!("audiocollab-plot-unit-{}.png", std::process::id()));
        write_png(&path, &img).unwrap();
        let decoder = png::Decoder::new(std::io::BufReader::new(File::open(&path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width as usize, info.height as usize), (PLOT_WIDTH, PLOT_HEIGHT));
        assert_eq!(&buf[..info.buffer_size()], img.bytes().as_slice(), "the PNG holds the image");
        if std::env::var_os("AUDIOCOLLAB_KEEP_PLOT").is_none() {
            let _ = std::fs::remove_file(&path);
        }
    }

    /// The waveform gathered from blocks of any size has, in every column, the minimum and
    /// maximum of exactly the frames the column covers (computed here directly from the audio,
    /// the way the plot did when it had the whole file), for stretches wider and narrower than
    /// the plot and an empty one.
    #[test]
    fn the_waveform_from_blocks_is_that_of_the_whole_file() {
        let frames = 50_000u64;
        let audio: Vec<Vec<f32>> =
            (0..2).map(|c| (0..frames).map(|n| ((n * (7 + c) % 1013) as f32 / 506.0 - 1.0) * 0.9).collect()).collect();
        let mut audio = audio;
        audio[1][12_345] = f32::NAN;
        for stretch in [(0, frames), (1_000, 1_700), (20_000, 20_000 + PLOT_W as u64 + 1), (400, 400), (49_000, 50_000)]
        {
            let (first, last) = stretch;
            let span = last - first;
            for block in [1, 999, 4096, frames as usize] {
                let mut wave = Waveform::new(2, stretch);
                for start in (0..frames as usize).step_by(block) {
                    let end = (start + block).min(frames as usize);
                    wave.push(start as u64, &[&audio[0][start..end], &audio[1][start..end]]);
                }
                for x in 0..PLOT_W {
                    let a = (first + x as u64 * span / PLOT_W as u64) as usize;
                    let b = ((first + (x as u64 + 1) * span / PLOT_W as u64) as usize).max(a + 1).min(last as usize);
                    for (lane, channel) in audio.iter().enumerate() {
                        let samples = channel.get(a..b).unwrap_or(&[]);
                        let finite = samples.iter().copied().filter(|s| s.is_finite());
                        let want =
                            finite.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), s| (lo.min(s), hi.max(s)));
                        let got = wave.columns[x][lane];
                        let empty = |(lo, hi): (f32, f32)| lo > hi;
                        assert!(
                            got == want || (span == 0 && empty(got)),
                            "stretch {stretch:?}, blocks of {block}, column {x}, lane {lane}: {got:?}, want {want:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn band_positions_follow_iso_266() {
        assert!((band_position(1000.0) - 17.0).abs() < 1e-9);
        assert!((band_position(20.0) - 0.0103).abs() < 1e-3);
        assert!((band_position(20_000.0) - 30.0103).abs() < 1e-3);
    }
}
