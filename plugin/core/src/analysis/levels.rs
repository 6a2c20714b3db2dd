//! The window's loudness meter: the figures of [`super::loudness`] kept up to date cell by cell
//! for a stream that never ends, at a cost that does not grow with its length.
//!
//! [`LoudnessAnalysis`](super::loudness::LoudnessAnalysis) answers any question about any
//! stretch, and pays for it: each report walks every cell (an hour is 360 000 cells, times a
//! 3 s window for the short-term maxima). A meter asks the same few questions ten times a second
//! about "everything since the last reset", so [`Levels`] keeps what those answers need as the
//! cells arrive:
//!
//! * the last 3 s of cells, for momentary and short-term loudness and their maxima;
//! * the mean square of every 400 ms gating block (every 100 ms) and of every 3 s short-term
//!   window (every 100 ms) that passes the absolute gate, for the integrated loudness and the
//!   loudness range (8 bytes each, 10 per second: 288 KB per hour each);
//! * the peaks and the unweighted energy.
//!
//! The gating is the very code [`LoudnessAnalysis`](super::loudness::LoudnessAnalysis) uses, and
//! the blocks are the same, so a reading equals the report of the same cells (tested to 1e-9).

use super::loudness::{
    absolute_gate, db, gated_integrated, gated_range, lufs, CellSum, LoudnessReport, GATING_STEP_CELLS, LRA_STEP_CELLS,
    MOMENTARY_CELLS, SHORT_TERM_CELLS,
};
use crate::meter::{bs1770_weights, Cell, MAX_CHANNELS};
use std::collections::VecDeque;

/// The loudness meter of one stream since its start or the last [`Levels::reset`].
#[derive(Clone, Debug)]
pub struct Levels {
    sample_rate: f64,
    channels: usize,
    weights: [f64; MAX_CHANNELS],
    /// Cells since the start, missing ones included.
    cells: u64,
    /// Grid index the next cell should have; `None` before the first.
    next_index: Option<u64>,
    /// The last [`SHORT_TERM_CELLS`] cells (silent stand-ins for missing ones).
    recent: VecDeque<CellSum>,
    /// Gating blocks above the absolute gate, mean squares.
    blocks: Vec<f64>,
    /// Short-term windows (every [`LRA_STEP_CELLS`]) above the absolute gate, mean squares.
    short_terms: Vec<f64>,
    max_momentary: f64,
    max_short_term: f64,
    frames: f64,
    energy: f64,
    sample_peak: f32,
    true_peak: f32,
    /// The loudness range and how many short-term values it was computed from (the sort is
    /// the one costly step; it is redone once a second at most).
    range: (usize, Option<f64>),
}

impl Levels {
    /// A meter for cells of `channels` channels at `sample_rate` Hz.
    pub fn new(sample_rate: f64, channels: usize) -> Self {
        Self {
            sample_rate,
            channels: channels.clamp(1, MAX_CHANNELS),
            weights: bs1770_weights(channels),
            cells: 0,
            next_index: None,
            recent: VecDeque::with_capacity(SHORT_TERM_CELLS),
            blocks: Vec::new(),
            short_terms: Vec::new(),
            max_momentary: 0.0,
            max_short_term: 0.0,
            frames: 0.0,
            energy: 0.0,
            sample_peak: 0.0,
            true_peak: 0.0,
            range: (0, None),
        }
    }

    /// Starts again from the next cell, as if the stream began there.
    pub fn reset(&mut self) {
        *self = Self::new(self.sample_rate, self.channels);
    }

    /// Seconds measured since the start or the last reset.
    pub fn duration_s(&self) -> f64 {
        self.frames / self.sample_rate
    }

    /// Adds the next cell. A gap in the grid indices (cells dropped on the way) counts as
    /// silence, as in [`LoudnessAnalysis`](super::loudness::LoudnessAnalysis); a cell from
    /// before the last one is ignored.
    pub fn push(&mut self, cell: &Cell) {
        if let Some(next) = self.next_index {
            if cell.index < next {
                return;
            }
            let gap = cell.index - next;
            // Beyond one short-term window of silence, further silent cells change nothing
            // but the count: no window over them passes the gate.
            let skipped = gap.saturating_sub(SHORT_TERM_CELLS as u64);
            self.cells += skipped;
            self.frames += skipped as f64 * self.nominal_frames();
            let nominal = self.nominal_frames().round() as u32;
            for _ in skipped..gap {
                self.add(CellSum { frames: nominal, ..CellSum::default() });
            }
        }
        self.next_index = Some(cell.index + 1);
        self.add(CellSum::of(cell, &self.weights));
    }

    fn nominal_frames(&self) -> f64 {
        self.sample_rate * crate::meter::CELL_SECONDS
    }

    fn add(&mut self, cell: CellSum) {
        if self.recent.len() == SHORT_TERM_CELLS {
            self.recent.pop_front();
        }
        self.recent.push_back(cell);
        self.cells += 1;
        self.frames += cell.frames as f64;
        self.energy += cell.energy;
        self.sample_peak = self.sample_peak.max(cell.sample_peak);
        self.true_peak = self.true_peak.max(cell.true_peak);

        let momentary = self.window_mean_square(MOMENTARY_CELLS);
        let short_term = self.window_mean_square(SHORT_TERM_CELLS);
        self.max_momentary = self.max_momentary.max(momentary);
        self.max_short_term = self.max_short_term.max(short_term);
        let gate = absolute_gate();
        // Whole windows only, one every step, counted from the start (as the report does).
        let whole = |window: usize, step: usize| {
            self.cells >= window as u64 && (self.cells - window as u64).is_multiple_of(step as u64)
        };
        if whole(MOMENTARY_CELLS, GATING_STEP_CELLS) && momentary > gate {
            self.blocks.push(momentary);
        }
        if whole(SHORT_TERM_CELLS, LRA_STEP_CELLS) && short_term > gate {
            self.short_terms.push(short_term);
        }
    }

    /// Mean square of the last `window` cells; before the start counts as silence (the live
    /// readings of EBU Tech 3341 §2.4).
    fn window_mean_square(&self, window: usize) -> f64 {
        let cells = self.recent.iter().rev().take(window);
        let (mut power, mut frames, mut n) = (0.0, 0.0, 0usize);
        for c in cells {
            power += c.k_power;
            frames += c.frames as f64;
            n += 1;
        }
        frames += (window - n) as f64 * self.nominal_frames();
        if frames > 0.0 {
            power / frames
        } else {
            0.0
        }
    }

    /// Every figure since the start or the last reset. The loudness range is recomputed
    /// when a second of short-term values has come in since the last time.
    pub fn reading(&mut self) -> LoudnessReport {
        let n = self.short_terms.len();
        if n < self.range.0 || n >= self.range.0 + 10 || (self.range.1.is_none() && n > 0) {
            self.range = (n, gated_range(self.short_terms.iter().copied()));
        }
        self.report_with_range(self.range.1)
    }

    /// [`Self::reading`] with the loudness range computed now from every value.
    pub fn exact_reading(&self) -> LoudnessReport {
        self.report_with_range(gated_range(self.short_terms.iter().copied()))
    }

    fn report_with_range(&self, loudness_range_lu: Option<f64>) -> LoudnessReport {
        if self.cells == 0 {
            return LoudnessReport::default();
        }
        let integrated_lufs = gated_integrated(self.blocks.iter().copied());
        let true_peak_dbtp = db(self.true_peak as f64);
        LoudnessReport {
            duration_s: self.duration_s(),
            integrated_lufs,
            momentary_lufs: lufs(self.window_mean_square(MOMENTARY_CELLS)),
            short_term_lufs: lufs(self.window_mean_square(SHORT_TERM_CELLS)),
            max_momentary_lufs: lufs(self.max_momentary),
            max_short_term_lufs: lufs(self.max_short_term),
            loudness_range_lu,
            true_peak_dbtp,
            sample_peak_dbfs: db(self.sample_peak as f64),
            plr_lu: true_peak_dbtp.zip(integrated_lufs).map(|(tp, i)| tp - i),
            rms_dbfs: if self.frames > 0.0 {
                db((self.energy / (self.frames * self.channels as f64)).sqrt())
            } else {
                None
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::loudness::LoudnessAnalysis;
    use crate::meter::LoudnessGrid;

    /// 40 s of a two-tone signal whose level steps every 2.5 s between −40 and −8 dBFS
    /// with two stretches of silence, in stereo with a different level per channel.
    fn programme(sr: f64) -> (Vec<f32>, Vec<f32>) {
        let n = (sr * 40.0) as usize;
        let levels = [-20.0, -8.0, -30.0, -200.0, -14.0, -40.0, -11.0, -200.0, -18.0, -9.0, -25.0, -16.0];
        let mut l = Vec::with_capacity(n);
        let mut r = Vec::with_capacity(n);
        for i in 0..n {
            let t = i as f64 / sr;
            let db = levels[((t / 2.5) as usize) % levels.len()];
            let a = crate::dsp::decibel::db_to_gain(db);
            let x =
                (2.0 * std::f64::consts::PI * 440.0 * t).sin() + 0.3 * (2.0 * std::f64::consts::PI * 3_100.0 * t).sin();
            l.push((a * x * 0.7) as f32);
            r.push((a * x * 0.5) as f32);
        }
        (l, r)
    }

    fn cells(sr: f64, audio: &[&[f32]]) -> Vec<Cell> {
        let mut grid = LoudnessGrid::new(sr, audio.len()).expect("grid");
        let mut out = Vec::new();
        grid.process(audio, &mut |c: &Cell| out.push(*c)).expect("block");
        grid.finish(&mut |c: &Cell| out.push(*c));
        out
    }

    fn assert_close(a: Option<f64>, b: Option<f64>, what: &str) {
        match (a, b) {
            (Some(a), Some(b)) => assert!((a - b).abs() < 1e-9, "{what}: {a} vs {b}"),
            _ => assert_eq!(a, b, "{what}"),
        }
    }

    fn assert_same(live: &LoudnessReport, full: &LoudnessReport) {
        assert!((live.duration_s - full.duration_s).abs() < 1e-9);
        assert_close(live.integrated_lufs, full.integrated_lufs, "integrated");
        assert_close(live.momentary_lufs, full.momentary_lufs, "momentary");
        assert_close(live.short_term_lufs, full.short_term_lufs, "short-term");
        assert_close(live.max_momentary_lufs, full.max_momentary_lufs, "max momentary");
        assert_close(live.max_short_term_lufs, full.max_short_term_lufs, "max short-term");
        assert_close(live.loudness_range_lu, full.loudness_range_lu, "LRA");
        assert_close(live.true_peak_dbtp, full.true_peak_dbtp, "true peak");
        assert_close(live.sample_peak_dbfs, full.sample_peak_dbfs, "sample peak");
        assert_close(live.plr_lu, full.plr_lu, "PLR");
        assert_close(live.rms_dbfs, full.rms_dbfs, "RMS");
    }

    #[test]
    fn reading_equals_the_full_report_of_the_same_cells() {
        let sr = 48_000.0;
        let (l, r) = programme(sr);
        let cells = cells(sr, &[&l, &r]);
        let mut levels = Levels::new(sr, 2);
        let mut full = LoudnessAnalysis::new(sr, 2).expect("stereo");
        for (i, c) in cells.iter().enumerate() {
            levels.push(c);
            full.push(c).expect("in order");
            // Check along the way too, where windows are still filling.
            if [5, 39, 40, 41, 299, 300, 1234].contains(&i) {
                assert_same(&levels.exact_reading(), &full.report());
            }
        }
        let reading = levels.exact_reading();
        assert_same(&reading, &full.report());
        // The programme is loud enough to have every figure.
        let i = reading.integrated_lufs.expect("integrated");
        assert!((-30.0..-8.0).contains(&i), "{i}");
        assert!(reading.loudness_range_lu.expect("range") > 5.0);
    }

    #[test]
    fn reset_measures_as_if_the_stream_started_there() {
        let sr = 44_100.0;
        let (l, _) = programme(sr);
        let cells = cells(sr, &[&l]);
        let mut levels = Levels::new(sr, 1);
        let mut full = LoudnessAnalysis::new(sr, 1).expect("mono");
        let reset_at = 1_700;
        for (i, c) in cells.iter().enumerate() {
            if i == reset_at {
                levels.reset();
            }
            levels.push(c);
            full.push(c).expect("in order");
        }
        let t0 = reset_at as f64 * crate::meter::CELL_SECONDS;
        assert_same(&levels.exact_reading(), &full.report_between(t0, f64::INFINITY));
        assert!(levels.exact_reading().integrated_lufs.is_some());
    }

    #[test]
    fn missing_cells_count_as_silence_and_long_gaps_cost_nothing() {
        let sr = 48_000.0;
        let (l, r) = programme(sr);
        let mut cells = cells(sr, &[&l, &r]);
        // Drop 50 cells (a full ring) and then jump a day ahead.
        cells.drain(600..650);
        let jump = 24 * 3600 * 100;
        for c in cells.iter_mut().skip(3_000) {
            c.index += jump;
        }
        let mut levels = Levels::new(sr, 2);
        let mut full = LoudnessAnalysis::new(sr, 2).expect("stereo");
        for c in cells.iter().take(3_000) {
            levels.push(c);
            full.push(c).expect("in order");
        }
        assert_same(&levels.exact_reading(), &full.report());
        for c in cells.iter().skip(3_000) {
            levels.push(c);
        }
        let reading = levels.exact_reading();
        assert!((reading.duration_s - (40.0 + 24.0 * 3600.0)).abs() < 0.02, "{}", reading.duration_s);
        // A day of silence does not move the gated figures of what was played.
        assert!(reading.integrated_lufs.is_some());
        // An old cell (before the last) is ignored.
        let before = levels.exact_reading();
        levels.push(&cells[10]);
        assert_eq!(levels.exact_reading(), before);
    }

    #[test]
    fn silence_and_nothing_read_as_nothing() {
        let mut levels = Levels::new(48_000.0, 2);
        assert_eq!(levels.reading(), LoudnessReport::default());
        let z = vec![0.0f32; 48_000];
        for c in cells(48_000.0, &[&z, &z]) {
            levels.push(&c);
        }
        let r = levels.reading();
        assert_eq!(
            (r.integrated_lufs, r.momentary_lufs, r.true_peak_dbtp, r.loudness_range_lu),
            (None, None, None, None)
        );
        assert!((r.duration_s - 1.0).abs() < 1e-9);
    }
}
