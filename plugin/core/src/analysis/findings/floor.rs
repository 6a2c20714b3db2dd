//! What sits under the music: DC offset, the noise floor of the quiet passages, and silence
//! at the head and the tail.
//!
//! * DC offset: the mean of each channel over 5 s windows (sliding by a frame; long enough that
//!   the unfinished cycles of a bass note average out), at or above [`DC_WARNING`] and steady:
//!   the window's five 1 s means spread by at most [`DC_STEADY`] of it. Heavy distortion puts
//!   real sub-sonic content near 0 Hz whose 5 s means wander from sign to sign; an offset does
//!   not wander. A flagged window stands for its whole extent: an offset over the whole file
//!   spans it exactly, one over a pasted clip is placed within a sub-window (1 s).
//! * Noise floor: passages of at least [`GAP_MIN_S`] whose frames all sit [`GAP_BELOW_DB`] or
//!   more under the body of the track without being digital silence (a break, an intro, the
//!   room before the first note). Their level is the power mean of their quieter half (so a
//!   fade or a reverb tail crossing the passage does not count), reported when at or above
//!   [`NOISE_WARNING_DBFS`] and steady (standard deviation of the frame levels of that half
//!   under [`NOISE_STEADY_DB`]: noise is steady, quiet music is not). Its spectrum says what it
//!   is: hiss (mostly above 4.5 kHz), hum (mostly 45–140 Hz) or broadband noise.
//! * Silence: leading or trailing 10 ms cells whose sample peak stays under
//!   [`SILENCE_PEAK_DBFS`] (to the cell: within 10 ms), reported from [`HEAD_MIN_S`] at the head
//!   and [`TAIL_MIN_S`] at the tail, only when the analysed stretch starts (ends) with the
//!   stream. A stretch that is silent throughout is one head finding.
//!
//! Severity: DC Warning, Problem from [`DC_PROBLEM`]; noise Warning, Problem from
//! [`NOISE_PROBLEM_DBFS`]; head silence Info, Warning over [`HEAD_WARNING_S`]; tail silence
//! Info, Warning over [`TAIL_WARNING_S`]; a silent stretch Problem.

use super::spans::{flagged, join, window_extents};
use super::text::{clock, num, signed, span as span_text};
use super::{amp_db, power_db, Finding, FindingKind, Scope, Severity};
use crate::analysis::timeline::FrameStats;
use crate::analysis::tonal::BandPowers;
use crate::dsp::decibel::{db_to_gain, db_to_power};
use crate::meter::CELL_SECONDS;

/// DC window, frames (5 s).
const DC_WINDOW_FRAMES: usize = 50;
/// Sub-windows of a DC window whose means must agree, frames (1 s).
const DC_PART_FRAMES: usize = 10;
/// Largest spread (standard deviation) of the sub-window means, as a fraction of the window's
/// mean, for the mean to count as an offset.
const DC_STEADY: f64 = 0.25;
/// Mean at or above which a channel has a DC offset, full scale (−60 dBFS, 0.1 %): good
/// converters and plugins stay far under it, so an offset this large was added somewhere
/// upstream; it shifts the waveform off centre and makes clicks at edit points.
const DC_WARNING: f64 = 0.001;
/// DC offset that is a Problem, full scale (−40 dBFS, 1 %): it costs headroom and thumps
/// audibly where the track starts, stops or is cut.
const DC_PROBLEM: f64 = 0.01;
/// Frames this far under the body of the track are a quiet passage, dB: more than the
/// loudness range of most music, so what is left there is not the mix.
const GAP_BELOW_DB: f64 = 30.0;
/// Shortest quiet passage measured, s.
const GAP_MIN_S: f64 = 1.0;
/// Mean square under which a frame is digital silence, not noise (−140 dBFS, below 24-bit
/// dither).
const DIGITAL_SILENCE_MS: f64 = 1e-14;
/// Noise floor at or above which it is reported, dBFS RMS: with playback loud enough for the
/// music (0 dBFS near 100 dB SPL), −70 dBFS is about 30 dB SPL, audible in a quiet room.
const NOISE_WARNING_DBFS: f64 = -70.0;
/// Noise floor that is a Problem, dBFS RMS: audible at any listening level.
const NOISE_PROBLEM_DBFS: f64 = -50.0;
/// Largest spread of the quiet half's frame levels for it to count as noise, dB.
const NOISE_STEADY_DB: f64 = 2.0;
/// Share of the noise power above 4.47 kHz (the 5 kHz band and up) that makes it hiss.
const HISS_SHARE: f64 = 0.5;
/// Share of the noise power in the 50–125 Hz bands (45–141 Hz: mains at 50 or 60 Hz and
/// their second harmonic) that makes it hum.
const HUM_SHARE: f64 = 0.5;
/// Sample peak under which a cell is silent, dBFS: with 0 dBFS near 100 dB SPL, peaks of
/// −70 dBFS are at the threshold of hearing in a quiet room.
const SILENCE_PEAK_DBFS: f64 = -70.0;
/// Leading silence reported from this length, s: up to half a second is the usual pre-roll of
/// a master; longer, the listener notices the wait.
const HEAD_MIN_S: f64 = 0.5;
/// Leading silence longer than this is a Warning, s.
const HEAD_WARNING_S: f64 = 2.0;
/// Trailing silence reported from this length, s: one to two seconds after the last sound is
/// customary; more adds a gap before the next track in a playlist.
const TAIL_MIN_S: f64 = 2.0;
/// Trailing silence longer than this is a Warning, s.
const TAIL_WARNING_S: f64 = 5.0;

pub(super) fn detect(scope: &Scope, out: &mut Vec<Finding>) {
    dc(scope, out);
    noise(scope, out);
    silence(scope, out);
}

/// Duration-weighted mean of each channel over `frames`.
fn mean_dc(frames: &[FrameStats], channels: usize) -> [f64; 2] {
    let d: f64 = frames.iter().map(|f| f.duration_s).sum();
    let mut m = [0.0; 2];
    for (ch, m) in m.iter_mut().enumerate().take(channels) {
        *m = frames.iter().map(|f| f.dc[ch] as f64 * f.duration_s).sum::<f64>() / d.max(1e-9);
    }
    m
}

/// The channel with the larger offset and its offset.
fn worst(dc: [f64; 2]) -> (usize, f64) {
    if dc[1].abs() > dc[0].abs() {
        (1, dc[1])
    } else {
        (0, dc[0])
    }
}

/// The steady offset of the worse channel of a window, if its sub-window means agree.
fn steady_dc(w: &[FrameStats], channels: usize) -> Option<f64> {
    let (ch, dc) = worst(mean_dc(w, channels));
    let parts: Vec<f64> = w.chunks(DC_PART_FRAMES).map(|p| mean_dc(p, channels)[ch]).collect();
    let spread = (parts.iter().map(|p| (p - dc).powi(2)).sum::<f64>() / parts.len() as f64).sqrt();
    (spread <= DC_STEADY * dc.abs()).then_some(dc)
}

fn dc(scope: &Scope, out: &mut Vec<Finding>) {
    let channels = scope.channels;
    let means = window_extents(scope.frames, DC_WINDOW_FRAMES, |w| steady_dc(w, channels));
    for span in join(flagged(&means, |m| m.is_some_and(|m| m.abs() >= DC_WARNING)), 0.5, 0.0) {
        let (ch, dc) = worst(mean_dc(scope.frames_in(span.start, span.end), channels));
        if dc.abs() < DC_WARNING {
            continue;
        }
        let (p_en, p_fr) = signed(100.0 * dc, 2);
        let (db_en, db_fr) = num(amp_db(dc.abs()), 0);
        let (w_en, w_fr) = span_text(scope, span);
        let (c_en, c_fr) = match (channels, ch) {
            (1, _) => ("", ""),
            (_, 0) => (" on the left channel", " sur le canal gauche"),
            _ => (" on the right channel", " sur le canal droit"),
        };
        out.push(Finding {
            kind: FindingKind::DcOffset,
            severity: if dc.abs() >= DC_PROBLEM { Severity::Problem } else { Severity::Warning },
            start_s: span.start,
            end_s: span.end,
            value: 100.0 * dc,
            threshold: 100.0 * DC_WARNING,
            unit: "%".into(),
            explanation_en: format!(
                "DC offset of {p_en} % of full scale ({db_en} dBFS){c_en} {w_en}: it shifts the waveform off \
                 centre, wastes headroom and clicks at edits. Remove it with a DC filter (a high-pass at \
                 10–20 Hz)."
            ),
            explanation_fr: format!(
                "Composante continue (DC) de {p_fr} % de la pleine échelle ({db_fr} dBFS){c_fr} {w_fr} : elle \
                 décentre la forme d'onde, gaspille de la marge et claque aux coupes. Supprimez-la avec un \
                 filtre DC (passe-haut à 10–20 Hz)."
            ),
        });
    }
}

fn noise(scope: &Scope, out: &mut Vec<Finding>) {
    let Some(active) = scope.active_ms else {
        return;
    };
    let channels = scope.channels;
    let quiet_max = active * db_to_power(-GAP_BELOW_DB);
    let quiet = scope.frames.iter().filter(|f| (DIGITAL_SILENCE_MS..quiet_max).contains(&f.mean_square(channels)));
    for gap in join(quiet.map(|f| (f.start_s, f.end_s())), 1e-6, GAP_MIN_S) {
        let frames = scope.frames_in(gap.start, gap.end);
        let mut by_level: Vec<&FrameStats> = frames.iter().collect();
        by_level.sort_by(|a, b| a.mean_square(channels).total_cmp(&b.mean_square(channels)));
        let half: Vec<FrameStats> = by_level[..by_level.len().div_ceil(2)].iter().map(|&&f| f).collect();
        let levels: Vec<f64> = half.iter().map(|f| power_db(f.mean_square(channels))).collect();
        let floor = power_db(half.iter().map(|f| f.mean_square(channels)).sum::<f64>() / half.len() as f64);
        let mean = levels.iter().sum::<f64>() / levels.len() as f64;
        let spread = (levels.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / levels.len() as f64).sqrt();
        if floor < NOISE_WARNING_DBFS || spread > NOISE_STEADY_DB {
            continue;
        }
        // The spectrum of the gap's first frame includes FFT windows (85 ms) reaching back into
        // the music before it; the later frames' windows lie inside the gap.
        let first = frames.first().map_or(-1.0, |f| f.start_s);
        let steady: Vec<FrameStats> = half.iter().copied().filter(|f| f.start_s > first).collect();
        let (what_en, what_fr) = match BandPowers::mean_of(if steady.is_empty() { &half } else { &steady }, channels) {
            Some(p) => {
                let total: f64 = p.0.iter().sum();
                let share = |bands: std::ops::RangeInclusive<usize>| p.0[bands].iter().sum::<f64>() / total;
                if share(24..=30) >= HISS_SHARE {
                    ("mostly hiss", "surtout du souffle")
                } else if share(4..=8) >= HUM_SHARE {
                    ("mostly hum", "surtout du ronflement")
                } else {
                    ("broadband noise", "un bruit large bande")
                }
            }
            None => ("noise", "du bruit"),
        };
        let (l_en, l_fr) = num(floor, 0);
        let (a, b) = (clock(gap.start), clock(gap.end));
        out.push(Finding {
            kind: FindingKind::NoiseFloor,
            severity: if floor >= NOISE_PROBLEM_DBFS { Severity::Problem } else { Severity::Warning },
            start_s: gap.start,
            end_s: gap.end,
            value: floor,
            threshold: NOISE_WARNING_DBFS,
            unit: "dBFS".into(),
            explanation_en: format!(
                "Noise floor of {l_en} dBFS in the quiet passage from {a} to {b}, {what_en}: it will be heard \
                 between the notes. Gate or denoise that passage, or find the noisy source."
            ),
            explanation_fr: format!(
                "Bruit de fond à {l_fr} dBFS dans le passage calme de {a} à {b}, {what_fr} : on l'entendra entre \
                 les notes. Passez un gate ou un débruiteur sur ce passage, ou trouvez la source bruyante."
            ),
        });
    }
}

fn silence(scope: &Scope, out: &mut Vec<Finding>) {
    let limit = db_to_gain(SILENCE_PEAK_DBFS) as f32;
    let cells = &scope.cells;
    let at_start = scope.t0 <= CELL_SECONDS;
    let at_end = scope.t1 >= scope.timeline.duration_s() - CELL_SECONDS;
    let end_of = |i: usize| (cells[i].start_s + CELL_SECONDS).min(scope.t1);
    let Some(first) = cells.iter().position(|c| c.sample_peak >= limit) else {
        if at_start && !cells.is_empty() {
            out.push(silent_throughout(scope));
        }
        return;
    };
    let last = cells.iter().rposition(|c| c.sample_peak >= limit).unwrap_or(first);
    let head = cells[first].start_s - scope.t0;
    if at_start && head >= HEAD_MIN_S - 1e-9 {
        let (s_en, s_fr) = num(head, 1);
        out.push(Finding {
            kind: FindingKind::SilenceHead,
            severity: if head > HEAD_WARNING_S { Severity::Warning } else { Severity::Info },
            start_s: scope.t0,
            end_s: cells[first].start_s,
            value: head,
            threshold: HEAD_MIN_S,
            unit: "s".into(),
            explanation_en: format!(
                "{s_en} s of silence at the start: listeners wait before anything plays. Trim it to under half \
                 a second, unless the pause is meant."
            ),
            explanation_fr: format!(
                "{s_fr} s de silence au début : l'auditeur attend avant que quoi que ce soit ne joue. \
                 Réduisez-le à moins d'une demi-seconde, sauf si la pause est voulue."
            ),
        });
    }
    let tail = scope.t1 - end_of(last);
    if at_end && tail >= TAIL_MIN_S - 1e-9 {
        let (s_en, s_fr) = num(tail, 1);
        out.push(Finding {
            kind: FindingKind::SilenceTail,
            severity: if tail > TAIL_WARNING_S { Severity::Warning } else { Severity::Info },
            start_s: end_of(last),
            end_s: scope.t1,
            value: tail,
            threshold: TAIL_MIN_S,
            unit: "s".into(),
            explanation_en: format!(
                "{s_en} s of silence at the end: in a playlist it leaves a gap before the next track. Trim it \
                 to a second or two after the last sound."
            ),
            explanation_fr: format!(
                "{s_fr} s de silence à la fin : dans une playlist, cela laisse un trou avant le morceau \
                 suivant. Coupez à une ou deux secondes après le dernier son."
            ),
        });
    }
}

fn silent_throughout(scope: &Scope) -> Finding {
    let length = scope.t1 - scope.t0;
    let (s_en, s_fr) = num(length, 1);
    Finding {
        kind: FindingKind::SilenceHead,
        severity: Severity::Problem,
        start_s: scope.t0,
        end_s: scope.t1,
        value: length,
        threshold: HEAD_MIN_S,
        unit: "s".into(),
        explanation_en: format!("All {s_en} s are silent: nothing reaches {SILENCE_PEAK_DBFS} dBFS."),
        explanation_fr: format!(
            "Les {s_fr} s sont entièrement silencieuses : rien n'atteint {SILENCE_PEAK_DBFS} dBFS."
        ),
    }
}
