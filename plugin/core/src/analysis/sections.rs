//! Sections: where the music changes (verse/chorus-like boundaries), found in the audio, with a
//! letter per kind of material and a guess at each section's role.
//!
//! # Features
//!
//! One row per 100 ms frame of the [`Timeline`]: the level (dB of the mean square), the power
//! in seven coarse bands (20–90, 90–180, 180–450, 450–1100, 1100–2800, 2800–7000 Hz and
//! above, dB), the mean onset strength of the three [`Features`] onset bands over the frame
//! (log-compressed: how busy the kick / bass, the mid instruments and the hi-hats are) and the
//! normalised chroma (which chords). Every column is standardised (z-score) over the stretch,
//! so a change counts by how large it is compared with how much that measure moves in this
//! piece, whatever its unit.
//!
//! # Boundaries
//!
//! Novelty after Foote (2000, "Automatic audio segmentation using a measure of audio novelty",
//! ICME): at every frame, the distance between the mean rows of the window before it and of
//! the window after it (the checkerboard kernel of a Euclidean self-similarity matrix, reduced
//! to its two blocks of means), with the chroma left out: chords change every bar inside a
//! section, arrangement (level, spectrum, busyness) changes at its edges. The window is
//! [`WINDOW_BEATS`] beats at the detected tempo (two bars of 4/4: long enough to average a
//! bar's pattern, short enough for a two-bar intro), kept within [`WINDOW_RANGE_S`]. Windows
//! shrink at the ends of the stretch.
//!
//! A boundary is a local maximum of the novelty over ±half a window that reaches
//! [`BOUNDARY_NOVELTY`] (standard deviations, RMS over the columns); the strongest are taken
//! first, each at least [`MIN_SECTION_WINDOWS`] windows from the others and from the ends of
//! the stretch. On the rendered test songs true boundaries score 0.5–2, changes inside a
//! section at most 0.3. A closing chord held over its reverb tail, when it lasts long enough,
//! differs from the groove before it and comes out as a short last section of its own (an
//! outro). Boundaries are placed on the 100 ms frame grid; on the test songs they fall within
//! 0.75 s of the bar line (most within 0.4 s; the drum fill before a new section pulls them
//! early).
//!
//! # Labels
//!
//! Each section's mean row (chroma included, so the verse's chords tell it from the chorus's)
//! is compared with the sections labelled so far: the closest label within
//! [`LABEL_DISTANCE`] is reused (average linkage), otherwise the next letter is taken. On the
//! test songs a repeated verse or chorus lies at most 0.23 from its first occurrence, a verse
//! at least 0.40 from a chorus.
//!
//! # Roles
//!
//! A guess from the labels and each section's [`energy`](super::character::energy_between):
//! the first section is an intro and the last an outro when they are calmer than the median of
//! the sections between them and their material does not come back between; among the other
//! labels the most energetic is the chorus; the others are verses, except a label heard only
//! once after the first chorus, which is a bridge. The confidence grows with the energy gap
//! that decided the role (0.5 at no gap, 1 at [`ROLE_CLEAR_GAP`]).

use super::character;
use super::spectral::Features;
use super::tempo;
use super::timeline::Timeline;
use crate::dsp::decibel::{db_to_power, power_to_db};
use crate::meter::stats::{band_centre_hz, BAND_COUNT};
use serde::Serialize;

/// Novelty window length in beats (two bars of 4/4).
pub const WINDOW_BEATS: f64 = 8.0;
/// Shortest and longest novelty window, seconds.
pub const WINDOW_RANGE_S: (f64, f64) = (3.0, 6.0);
/// Window used when there is no pulse, seconds.
pub const DEFAULT_WINDOW_S: f64 = 4.0;
/// Novelty a boundary must reach (RMS of the standardised column differences).
pub const BOUNDARY_NOVELTY: f64 = 0.4;
/// Shortest section, in novelty windows.
pub const MIN_SECTION_WINDOWS: f64 = 0.75;
/// Largest distance between a section and a label's sections for it to take that label.
pub const LABEL_DISTANCE: f64 = 0.3;
/// Energy gap at which a role is certain.
pub const ROLE_CLEAR_GAP: f64 = 0.2;

/// Lower edges of the coarse spectral columns, Hz (the last runs to the top).
const SHAPE_EDGES_HZ: [f64; 7] = [20.0, 90.0, 180.0, 450.0, 1100.0, 2800.0, 7000.0];
const SHAPE: usize = SHAPE_EDGES_HZ.len();
const ONSET_COL: usize = 1 + SHAPE;
const CHROMA_COL: usize = ONSET_COL + 3;
/// Columns: level, coarse bands, onset bands, chroma.
const COLUMNS: usize = CHROMA_COL + 12;
/// Onset strength that counts as 1 in `ln(1 + x / ONSET_SCALE)` (a light, steady flux).
const ONSET_SCALE: f64 = 0.05;
/// Levels are floored this far under the loudest frame, dB (silence is not infinitely far).
const LEVEL_RANGE_DB: f64 = 60.0;

/// The guessed role of a section in the song.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionRole {
    /// The calm opening.
    Intro,
    /// A verse: lower energy than the chorus, usually repeated.
    Verse,
    /// The most energetic repeated material.
    Chorus,
    /// Material heard once, after a chorus.
    Bridge,
    /// The calm ending.
    Outro,
}

/// One section of the track.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Section {
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// A letter per kind of material: sections that sound alike share it (`A`, `B`, …).
    pub label: String,
    /// Integrated loudness of the section, LUFS.
    pub loudness_lufs: Option<f64>,
    /// Energy of the section, 0 (calm) … 1 (energetic), as in [`character`].
    pub energy: Option<f32>,
    /// Guessed role (absent when the stretch is one section).
    pub role: Option<SectionRole>,
    /// Confidence of the role, 0.5 … 1 (0 without a role).
    pub role_confidence: f32,
    /// Novelty of the boundary this section starts at (absent for the first).
    pub boundary_novelty: Option<f32>,
}

/// Standardised feature rows on the timeline's 100 ms grid.
struct Rows {
    /// Start of each row, timeline seconds.
    times: Vec<f64>,
    rows: Vec<[f64; COLUMNS]>,
}

fn db(x: f64) -> f64 {
    power_to_db(x.max(1e-20))
}

fn rows(features: &Features, start_s: f64, end_s: f64, timeline: &Timeline) -> Rows {
    let frames = timeline.frames_between(start_s, end_s);
    let channels = timeline.channels();
    let column_of: Vec<Option<usize>> =
        (0..BAND_COUNT).map(|k| SHAPE_EDGES_HZ.iter().rposition(|&e| band_centre_hz(k) >= e)).collect();
    let loudest = frames.iter().map(|f| db(f.mean_square(channels))).fold(f64::NEG_INFINITY, f64::max);
    let floor = loudest - LEVEL_RANGE_DB;
    let index = |t: f64, rate: f64, len: usize| (((t - start_s) * rate).round().max(0.0) as usize).min(len);
    let mut times = Vec::with_capacity(frames.len());
    let mut rows = Vec::with_capacity(frames.len());
    for f in frames {
        let mut row = [0.0f64; COLUMNS];
        row[0] = db(f.mean_square(channels)).max(floor);
        let mut shape = [0.0f64; SHAPE];
        for (&column, &b) in column_of.iter().zip(&f.bands_db) {
            if let Some(c) = column {
                shape[c] += db_to_power(f64::from(b));
            }
        }
        for (c, p) in shape.iter().enumerate() {
            row[1 + c] = db(*p).max(floor);
        }
        let (o0, o1) = (
            index(f.start_s, features.onset_rate, features.onset.len()),
            index(f.end_s(), features.onset_rate, features.onset.len()),
        );
        if o1 > o0 {
            for b in 0..3 {
                let mean = features.onset[o0..o1].iter().map(|o| f64::from(o[b])).sum::<f64>() / (o1 - o0) as f64;
                row[ONSET_COL + b] = (1.0 + mean / ONSET_SCALE).ln();
            }
        }
        let (c0, c1) = (
            index(f.start_s, features.chroma_rate, features.chroma.len()),
            index(f.end_s(), features.chroma_rate, features.chroma.len()),
        );
        let c1 = c1.max(c0 + 1).min(features.chroma.len());
        let mut chroma = [0.0f64; 12];
        for c in &features.chroma[c0..c1] {
            for (a, &x) in chroma.iter_mut().zip(c) {
                *a += f64::from(x);
            }
        }
        let norm = chroma.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 0.0 {
            for (slot, x) in row[CHROMA_COL..].iter_mut().zip(chroma) {
                *slot = x / norm;
            }
        }
        times.push(f.start_s);
        rows.push(row);
    }
    let n = rows.len().max(1) as f64;
    for j in 0..COLUMNS {
        let mean = rows.iter().map(|r| r[j]).sum::<f64>() / n;
        let sd = (rows.iter().map(|r| (r[j] - mean).powi(2)).sum::<f64>() / n).sqrt();
        for r in &mut rows {
            r[j] = if sd > 1e-9 { (r[j] - mean) / sd } else { 0.0 };
        }
    }
    Rows { times, rows }
}

/// Column weights: level, spectrum and onsets count alike; chroma only when `with_chroma`.
fn weights(with_chroma: bool) -> [f64; COLUMNS] {
    let mut w = [0.0; COLUMNS];
    w[0] = 1.0;
    for x in &mut w[1..ONSET_COL] {
        *x = 1.0 / SHAPE as f64;
    }
    for x in &mut w[ONSET_COL..CHROMA_COL] {
        *x = 1.0 / 3.0;
    }
    if with_chroma {
        for x in &mut w[CHROMA_COL..] {
            *x = 1.0 / 12.0;
        }
    }
    w
}

fn distance(a: &[f64; COLUMNS], b: &[f64; COLUMNS], w: &[f64; COLUMNS]) -> f64 {
    let total: f64 = w.iter().sum();
    (a.iter().zip(b).zip(w).map(|((x, y), w)| w * (x - y) * (x - y)).sum::<f64>() / total).sqrt()
}

/// The novelty of every row: the weighted distance between the mean rows of the `w` rows
/// before and after it; 0 where either side has fewer than `w / 2` rows.
fn novelty(rows: &[[f64; COLUMNS]], w: usize, weights: &[f64; COLUMNS]) -> Vec<f64> {
    let n = rows.len();
    let mut prefix = vec![[0.0f64; COLUMNS]; n + 1];
    for i in 0..n {
        for j in 0..COLUMNS {
            prefix[i + 1][j] = prefix[i][j] + rows[i][j];
        }
    }
    let mean = |a: usize, b: usize| {
        let mut m = [0.0f64; COLUMNS];
        for (j, x) in m.iter_mut().enumerate() {
            *x = (prefix[b][j] - prefix[a][j]) / (b - a) as f64;
        }
        m
    };
    (0..n)
        .map(|i| {
            let (left, right) = (i.saturating_sub(w), (i + w).min(n));
            if i - left < w.div_ceil(2) || right - i < w.div_ceil(2) {
                return 0.0;
            }
            distance(&mean(left, i), &mean(i, right), weights)
        })
        .collect()
}

/// The novelty window for `features`, seconds (see the module documentation).
pub fn window_seconds(features: &Features) -> f64 {
    window_for(&tempo::detect(features))
}

fn window_for(t: &tempo::Tempo) -> f64 {
    if t.confidence > 0.0 && t.bpm.is_finite() && t.bpm > 0.0 {
        (WINDOW_BEATS * 60.0 / t.bpm).clamp(WINDOW_RANGE_S.0, WINDOW_RANGE_S.1)
    } else {
        DEFAULT_WINDOW_S
    }
}

/// Row indices where sections start (after the first) and their novelty.
fn boundaries(rows: &[[f64; COLUMNS]], w: usize) -> Vec<(usize, f64)> {
    let n = rows.len();
    let min_len = ((MIN_SECTION_WINDOWS * w as f64).round() as usize).max(1);
    let mut nov = novelty(rows, w, &weights(false));
    for (i, v) in nov.iter_mut().enumerate() {
        if i < min_len || n - i < min_len {
            *v = 0.0;
        }
    }
    let half = w / 2;
    let mut peaks: Vec<(usize, f64)> = (0..n)
        .filter(|&i| {
            let around = &nov[i.saturating_sub(half)..(i + half + 1).min(n)];
            nov[i] >= BOUNDARY_NOVELTY && around.iter().all(|&v| v <= nov[i])
        })
        .map(|i| (i, nov[i]))
        .collect();
    peaks.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut chosen: Vec<(usize, f64)> = Vec::new();
    for (i, v) in peaks {
        if chosen.iter().all(|&(c, _)| c.abs_diff(i) >= min_len) {
            chosen.push((i, v));
        }
    }
    chosen.sort_by_key(|&(i, _)| i);
    chosen
}

/// Letters for `means` (one mean row per section), in order of first appearance.
fn labels(means: &[[f64; COLUMNS]]) -> Vec<usize> {
    let w = weights(true);
    let mut out: Vec<usize> = Vec::with_capacity(means.len());
    let mut next = 0;
    for (i, m) in means.iter().enumerate() {
        let best = (0..next)
            .map(|label| {
                let members: Vec<usize> = (0..i).filter(|&j| out[j] == label).collect();
                let d = members.iter().map(|&j| distance(m, &means[j], &w)).sum::<f64>() / members.len() as f64;
                (label, d)
            })
            .min_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((label, d)) if d <= LABEL_DISTANCE => out.push(label),
            _ => {
                out.push(next);
                next += 1;
            }
        }
    }
    out
}

fn letter(label: usize) -> String {
    let mut s = String::new();
    let mut n = label;
    loop {
        s.insert(0, char::from(b'A' + (n % 26) as u8));
        if n < 26 {
            return s;
        }
        n = n / 26 - 1;
    }
}

/// Roles and confidences from labels and energies (see the module documentation).
fn roles(labels: &[usize], energy: &[f64]) -> Vec<(Option<SectionRole>, f32)> {
    let n = labels.len();
    if n < 2 {
        return vec![(None, 0.0); n];
    }
    let confidence = |gap: f64| (0.5 + 0.5 * (gap / ROLE_CLEAR_GAP).clamp(0.0, 1.0)) as f32;
    let median = |items: &[f64]| {
        let mut v = items.to_vec();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            f64::NAN
        } else {
            v[v.len() / 2]
        }
    };
    let mut out: Vec<(Option<SectionRole>, f32)> = vec![(None, 0.0); n];
    let (mut first, mut last) = (0, n);
    // The sections strictly between the first and the last.
    let inner = |a: usize, b: usize| (a + 1..b.saturating_sub(1)).collect::<Vec<usize>>();
    if n >= 3 {
        let middle = inner(0, n);
        let m = median(&middle.iter().map(|&i| energy[i]).collect::<Vec<_>>());
        let recurs = |i: usize| middle.iter().any(|&j| labels[j] == labels[i]);
        if energy[0] < m && !recurs(0) {
            out[0] = (Some(SectionRole::Intro), confidence(m - energy[0]));
            first = 1;
        }
        if energy[n - 1] < m && !recurs(n - 1) {
            out[n - 1] = (Some(SectionRole::Outro), confidence(m - energy[n - 1]));
            last = n - 1;
        }
    }
    let body: Vec<usize> = (first..last).collect();
    let mut label_energy: Vec<(usize, f64, usize)> = Vec::new(); // label, mean energy, count
    for &i in &body {
        match label_energy.iter_mut().find(|(l, _, _)| *l == labels[i]) {
            Some((_, e, c)) => {
                *e += energy[i];
                *c += 1;
            }
            None => label_energy.push((labels[i], energy[i], 1)),
        }
    }
    for (_, e, c) in &mut label_energy {
        *e /= *c as f64;
    }
    label_energy.sort_by(|a, b| b.1.total_cmp(&a.1));
    let Some(&(chorus, chorus_energy, _)) = label_energy.first() else {
        return out;
    };
    let runner_up = label_energy.get(1).map_or(chorus_energy - ROLE_CLEAR_GAP, |x| x.1);
    let first_chorus = body.iter().copied().find(|&i| labels[i] == chorus).unwrap_or(0);
    for &i in &body {
        let (_, e, count) = *label_energy.iter().find(|(l, _, _)| *l == labels[i]).unwrap_or(&(0, 0.0, 1));
        out[i] = if labels[i] == chorus {
            (Some(SectionRole::Chorus), confidence(chorus_energy - runner_up))
        } else if count == 1 && i > first_chorus {
            (Some(SectionRole::Bridge), 0.5)
        } else {
            (Some(SectionRole::Verse), confidence(chorus_energy - e))
        };
    }
    out
}

/// The sections of the stretch of `timeline` that `features` were computed on; the features'
/// time 0 is `start_s` seconds into the timeline. Times in the result are timeline times and
/// the sections tile `[start_s, start_s + the features' length]`. Empty when the timeline holds
/// no frame of the stretch.
pub fn detect(features: &Features, start_s: f64, timeline: &Timeline) -> Vec<Section> {
    let end_s = start_s + character::features_seconds(features);
    let table = rows(features, start_s, end_s, timeline);
    if table.rows.is_empty() || end_s.partial_cmp(&start_s) != Some(std::cmp::Ordering::Greater) {
        return Vec::new();
    }
    let frame_s = timeline.frames().first().map_or(0.1, |f| f.duration_s).max(1e-3);
    let tempo = tempo::detect(features);
    let w = ((window_for(&tempo) / frame_s).round() as usize).max(2);
    let cuts = boundaries(&table.rows, w);
    let mut edges: Vec<(f64, Option<f64>, usize)> = vec![(start_s, None, 0)];
    edges.extend(cuts.iter().map(|&(i, v)| (table.times[i], Some(v), i)));
    let spans: Vec<(f64, f64, Option<f64>, std::ops::Range<usize>)> = edges
        .iter()
        .enumerate()
        .map(|(k, &(t, v, i))| {
            let (end, j) = edges.get(k + 1).map_or((end_s, table.rows.len()), |e| (e.0, e.2));
            (t, end, v, i..j)
        })
        .collect();
    let means: Vec<[f64; COLUMNS]> = spans
        .iter()
        .map(|(_, _, _, r)| {
            let mut m = [0.0f64; COLUMNS];
            for row in &table.rows[r.clone()] {
                for (a, x) in m.iter_mut().zip(row) {
                    *a += x / r.len().max(1) as f64;
                }
            }
            m
        })
        .collect();
    let letters = labels(&means);
    let bpm = (tempo.confidence > 0.0 && tempo.bpm.is_finite()).then_some(tempo.bpm);
    let onsets = character::onset_times(features);
    let energies: Vec<Option<f32>> =
        spans.iter().map(|&(a, b, _, _)| character::energy_between(&onsets, start_s, timeline, a, b, bpm)).collect();
    let role_of = roles(&letters, &energies.iter().map(|e| e.map_or(0.0, f64::from)).collect::<Vec<_>>());
    spans
        .iter()
        .zip(&letters)
        .zip(energies.iter().zip(role_of))
        .map(|((&(a, b, v, _), &label), (&energy, (role, role_confidence)))| Section {
            start_s: a,
            end_s: b,
            label: letter(label),
            loudness_lufs: timeline.loudness_between(a, b).integrated_lufs,
            energy,
            role,
            role_confidence,
            boundary_novelty: v.map(|v| v as f32),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_run_past_z() {
        assert_eq!(letter(0), "A");
        assert_eq!(letter(25), "Z");
        assert_eq!(letter(26), "AA");
        assert_eq!(letter(27), "AB");
    }

    #[test]
    fn roles_of_a_pop_form() {
        // intro verse chorus verse chorus outro
        let labels = [0, 1, 2, 1, 2, 0];
        let energy = [0.2, 0.5, 0.8, 0.5, 0.8, 0.25];
        let r: Vec<_> = roles(&labels, &energy).into_iter().map(|(r, _)| r.unwrap()).collect();
        use SectionRole::*;
        assert_eq!(r, [Intro, Verse, Chorus, Verse, Chorus, Outro]);
        // A label heard once after the first chorus is a bridge.
        let labels = [0, 1, 2, 3, 2];
        let energy = [0.2, 0.5, 0.8, 0.6, 0.8];
        let r: Vec<_> = roles(&labels, &energy).into_iter().map(|(r, _)| r.unwrap()).collect();
        assert_eq!(r, [Intro, Verse, Chorus, Bridge, Chorus]);
        // One section: no role.
        assert_eq!(roles(&[0], &[0.5]), vec![(None, 0.0)]);
    }

    #[test]
    fn novelty_peaks_at_a_step() {
        let mut rows = vec![[0.0f64; COLUMNS]; 100];
        for r in &mut rows[60..] {
            r[0] = 1.0;
            r[ONSET_COL] = 1.0;
        }
        let nov = novelty(&rows, 20, &weights(false));
        let best = (0..100).max_by(|&a, &b| nov[a].total_cmp(&nov[b])).unwrap();
        assert_eq!(best, 60);
        assert_eq!(nov[10], 0.0, "too close to the start for a full half window");
        assert_eq!(boundaries(&rows, 20).iter().map(|b| b.0).collect::<Vec<_>>(), vec![60]);
    }
}
