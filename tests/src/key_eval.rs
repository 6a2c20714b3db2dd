//! The key detector's tuning and held-out sets, their cached renders and the MIREX score with
//! its confusion breakdown.
//!
//! Two kinds of excerpt ([`Cut`]): a whole 8-bar piece of the composer (tonic intro, loops, and
//! the IV → V → I ending held on the tonic), and an 8-bar window from the middle of a 20-bar
//! song ([`music::verse_chorus_form`]`(2, 4, 4)`, bars 2–9: verse and chorus loops only, no
//! intro, no final cadence) — the way a key detector meets an excerpt of a real song.
//!
//! # The split (do not tune on the held-out set)
//!
//! * **Tuning set** — FluidR3_GM (`fluid-soundfont-gm`), the tuning instrument pool
//!   ([`music::Instruments::from_seed`]): the whole pieces of [`music::test_suite`] for the
//!   seeds [`TUNING_WHOLE_SEEDS`] (seed 1 is what `tests/tempo_key.rs` checks in CI) and the
//!   song windows of [`music::test_suite`]`(seed)` re-formed as songs for [`TUNING_SONG_SEEDS`]:
//!   192 excerpts. The detector's profiles and weights are chosen by looking at this set only.
//! * **Held-out set** — the soundfonts the detector was never tuned on, TimGM6mb
//!   (`timgm6mb-soundfont`) and MuseScore_General (`musescore-general-soundfont`), and
//!   [`music::held_out_suite`] (GM programs outside the tuning pool, another pairing of tempos,
//!   meters and swing with keys, piece seeds in another range): whole pieces for
//!   [`HELD_OUT_WHOLE_SEEDS`] and song windows for [`HELD_OUT_SONG_SEEDS`], each rendered with
//!   both soundfonts: 144 excerpts, every key six times. It is scored, never used to choose.
//! * **CI subset** ([`held_out_ci_subset`]) — 24 of those, one per key: TimGM6mb for the even
//!   tonics and MuseScore_General for the odd ones; a whole piece or a song window (first song
//!   seed) so that each soundfont has six of each kind and both modes in both kinds.
//!
//! Renders are cached (the tests use `target/tmp/key_eval/`) by set, soundfont, kind, seed and
//! index (a render is deterministic).

use crate::music::{self, compose, render_with_soundfont, verse_chorus_form, Piece};
use audiocollab_core::analysis::key::{self, mirex_score, Key, Mode};
use audiocollab_core::analysis::spectral::Features;
use audiocollab_core::offline::read_audio;
use std::fmt;
use std::path::Path;

/// Suite seeds of the tuning set's whole pieces (FluidR3_GM).
pub const TUNING_WHOLE_SEEDS: [u64; 4] = [1, 2, 3, 4];
/// Suite seeds of the tuning set's song windows (FluidR3_GM).
pub const TUNING_SONG_SEEDS: [u64; 4] = [5, 6, 7, 8];
/// Suite seeds of the held-out whole pieces (TimGM6mb and MuseScore_General).
pub const HELD_OUT_WHOLE_SEEDS: [u64; 1] = [1000];
/// Suite seeds of the held-out song windows (TimGM6mb and MuseScore_General).
pub const HELD_OUT_SONG_SEEDS: [u64; 2] = [1001, 1002];

/// Sample rate of the renders.
pub const SAMPLE_RATE: u32 = 44_100;

/// The bars of a song that a [`Cut::SongWindow`] keeps: verse and chorus, not the intro (bars
/// 0–1) nor the last verse, chorus and outro that end on the cadence.
pub const SONG_WINDOW_BARS: std::ops::Range<u32> = 2..10;

/// A General MIDI soundfont from a Debian package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Soundfont {
    /// FluidR3_GM (`fluid-soundfont-gm`): the tuning set's.
    FluidR3,
    /// TimGM6mb (`timgm6mb-soundfont`): a small 6 MB GM set; held out.
    TimGm6mb,
    /// MuseScore_General (`musescore-general-soundfont`, Vorbis-compressed `.sf3`); held out.
    MuseScore,
}

impl Soundfont {
    /// Where the Debian package installs it.
    pub fn path(self) -> &'static Path {
        Path::new(match self {
            Soundfont::FluidR3 => "/usr/share/sounds/sf2/FluidR3_GM.sf2",
            Soundfont::TimGm6mb => "/usr/share/sounds/sf2/TimGM6mb.sf2",
            Soundfont::MuseScore => "/usr/share/sounds/sf3/MuseScore_General_Full.sf3",
        })
    }

    /// Short name for file names and tables.
    pub fn name(self) -> &'static str {
        match self {
            Soundfont::FluidR3 => "fluidr3",
            Soundfont::TimGm6mb => "timgm6mb",
            Soundfont::MuseScore => "musescore",
        }
    }

    /// The Debian package that installs it.
    pub fn package(self) -> &'static str {
        match self {
            Soundfont::FluidR3 => "fluid-soundfont-gm",
            Soundfont::TimGm6mb => "timgm6mb-soundfont",
            Soundfont::MuseScore => "musescore-general-soundfont",
        }
    }
}

/// Which part of the rendered piece is analysed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// The whole piece (to its last bar; the release tail is trimmed).
    Whole,
    /// [`SONG_WINDOW_BARS`] of a [`song`].
    SongWindow,
}

/// `piece` re-formed as a 20-bar song: intro, verse, chorus, verse, chorus, outro
/// ([`verse_chorus_form`]`(2, 4, 4)`).
pub fn song(piece: Piece) -> Piece {
    piece.with_sections(verse_chorus_form(2, 4, 4))
}

/// One excerpt of a set: the piece, its soundfont and where it comes from.
#[derive(Clone, Debug)]
pub struct Excerpt {
    /// What is played (its key is the truth).
    pub piece: Piece,
    /// What it is played with.
    pub soundfont: Soundfont,
    /// What part of it is analysed.
    pub cut: Cut,
    /// `"tuning"` or `"heldout"` (the cache's file-name prefix).
    pub set: &'static str,
    /// Suite seed.
    pub seed: u64,
    /// Index in the suite.
    pub index: usize,
}

impl Excerpt {
    /// The true key.
    pub fn truth(&self) -> Key {
        let mode = match self.piece.key.mode {
            music::Mode::Major => Mode::Major,
            music::Mode::Minor => Mode::Minor,
        };
        Key::new(self.piece.key.tonic, mode)
    }

    /// The analysed span, in seconds.
    pub fn span_seconds(&self) -> (f64, f64) {
        match self.cut {
            Cut::Whole => (0.0, self.piece.duration_seconds()),
            Cut::SongWindow => (
                self.piece.bar_start_seconds(SONG_WINDOW_BARS.start),
                self.piece.bar_start_seconds(SONG_WINDOW_BARS.end),
            ),
        }
    }

    /// A name for tables and the cache.
    pub fn stem(&self) -> String {
        let kind = match self.cut {
            Cut::Whole => "whole",
            Cut::SongWindow => "song",
        };
        format!("{}_{}_{kind}_seed{}_{:02}", self.set, self.soundfont.name(), self.seed, self.index)
    }
}

fn excerpts(
    set: &'static str,
    soundfonts: &[Soundfont],
    whole_seeds: &[u64],
    song_seeds: &[u64],
    suite: fn(u64) -> Vec<Piece>,
) -> Vec<Excerpt> {
    let mut out = Vec::new();
    for (cut, seeds) in [(Cut::Whole, whole_seeds), (Cut::SongWindow, song_seeds)] {
        for &seed in seeds {
            for &soundfont in soundfonts {
                for (index, piece) in suite(seed).into_iter().enumerate() {
                    let piece = if cut == Cut::SongWindow { song(piece) } else { piece };
                    out.push(Excerpt { piece, soundfont, cut, set, seed, index });
                }
            }
        }
    }
    out
}

/// The tuning set: FluidR3_GM, [`music::test_suite`], whole pieces for [`TUNING_WHOLE_SEEDS`]
/// and song windows for [`TUNING_SONG_SEEDS`].
pub fn tuning_set() -> Vec<Excerpt> {
    excerpts("tuning", &[Soundfont::FluidR3], &TUNING_WHOLE_SEEDS, &TUNING_SONG_SEEDS, music::test_suite)
}

/// The full held-out set: [`music::held_out_suite`] rendered with TimGM6mb and with
/// MuseScore_General, whole pieces for [`HELD_OUT_WHOLE_SEEDS`] and song windows for
/// [`HELD_OUT_SONG_SEEDS`].
pub fn held_out_set() -> Vec<Excerpt> {
    excerpts(
        "heldout",
        &[Soundfont::TimGm6mb, Soundfont::MuseScore],
        &HELD_OUT_WHOLE_SEEDS,
        &HELD_OUT_SONG_SEEDS,
        music::held_out_suite,
    )
}

/// The 24 held-out excerpts CI scores, one per key: TimGM6mb for the even tonics (C, D, E, F#,
/// Ab, Bb) and MuseScore_General for the odd ones; a whole piece when ⌊tonic / 2⌋ + mode
/// (0 major, 1 minor) is even, else a window of the first song seed — so each soundfont gets
/// three of each mode in each kind.
pub fn held_out_ci_subset() -> Vec<Excerpt> {
    held_out_set()
        .into_iter()
        .filter(|e| {
            let tonic = e.piece.key.tonic;
            let minor = u8::from(e.piece.key.mode == music::Mode::Minor);
            let sf = if tonic % 2 == 0 { Soundfont::TimGm6mb } else { Soundfont::MuseScore };
            let (cut, seed) = if (tonic / 2 + minor) % 2 == 0 {
                (Cut::Whole, HELD_OUT_WHOLE_SEEDS[0])
            } else {
                (Cut::SongWindow, HELD_OUT_SONG_SEEDS[0])
            };
            e.soundfont == sf && e.cut == cut && e.seed == seed
        })
        .collect()
}

/// Whether fluidsynth and every soundfont of `set` are installed.
pub fn available(set: &[Excerpt]) -> Result<(), String> {
    if !music::fluidsynth_available() {
        return Err("fluidsynth is not installed: apt-get install fluidsynth".into());
    }
    for e in set {
        if !e.soundfont.path().is_file() {
            return Err(format!(
                "{} not found: apt-get install {}",
                e.soundfont.path().display(),
                e.soundfont.package()
            ));
        }
    }
    Ok(())
}

/// Renders (or reuses) `excerpt` in the cache folder `dir` (created if missing; the tests use
/// `target/tmp/key_eval`), trimmed to the piece's length, as planar channels.
pub fn render(excerpt: &Excerpt, dir: &Path) -> Result<(Vec<Vec<f32>>, u32), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let stem = excerpt.stem();
    let wav = dir.join(format!("{stem}.wav"));
    if !wav.is_file() {
        let mid = dir.join(format!("{stem}.mid"));
        std::fs::write(&mid, compose(&excerpt.piece)).map_err(|e| e.to_string())?;
        let tmp = dir.join(format!("{stem}.partial.wav"));
        render_with_soundfont(&mid, &tmp, SAMPLE_RATE, excerpt.soundfont.path())?;
        std::fs::rename(&tmp, &wav).map_err(|e| e.to_string())?;
    }
    let mut audio = read_audio(&wav).map_err(|e| e.to_string())?;
    let (from, to) = excerpt.span_seconds();
    let rate = f64::from(audio.sample_rate);
    for ch in &mut audio.channels {
        ch.truncate((to * rate).round() as usize);
        ch.drain(..((from * rate).round() as usize).min(ch.len()));
    }
    Ok((audio.channels, audio.sample_rate))
}

/// The detected key of every excerpt, rendered ([`render`] into `dir`) on two threads
/// (fluidsynth is single-threaded per render), in `set`'s order.
pub fn detect_all(set: &[Excerpt], dir: &Path) -> Result<Vec<Key>, String> {
    std::thread::scope(|s| {
        let halves: Vec<_> = (0..2)
            .map(|t| {
                s.spawn(move || {
                    set.iter()
                        .enumerate()
                        .filter(|(i, _)| i % 2 == t)
                        .map(|(i, e)| {
                            let (channels, rate) = render(e, dir).map_err(|err| format!("{}: {err}", e.stem()))?;
                            let features = Features::from_channels(&channels, rate).map_err(|err| err.to_string())?;
                            Ok((i, key::detect(&features)))
                        })
                        .collect::<Result<Vec<_>, String>>()
                })
            })
            .collect();
        let mut all = Vec::new();
        for h in halves {
            all.extend(h.join().map_err(|_| "a render thread panicked".to_string())??);
        }
        all.sort_by_key(|(i, _)| *i);
        Ok(all.into_iter().map(|(_, k)| k).collect())
    })
}

/// How a detected key relates to the truth, in the MIREX categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    /// Same key (score 1).
    Correct,
    /// Same mode, tonic a fifth above (score 0.5).
    FifthUp,
    /// Same mode, tonic a fifth below (a fourth above; score 0.5).
    FifthDown,
    /// Relative major/minor (score 0.3).
    Relative,
    /// Parallel major/minor (score 0.2).
    Parallel,
    /// Anything else (score 0).
    Other,
}

/// The [`Relation`] of `detected` to `truth` (the categories of [`mirex_score`]).
pub fn relation(detected: &Key, truth: &Key) -> Relation {
    let up = (i32::from(detected.tonic) - i32::from(truth.tonic)).rem_euclid(12);
    match (truth.mode, detected.mode, up) {
        (t, d, 0) if t == d => Relation::Correct,
        (t, d, 7) if t == d => Relation::FifthUp,
        (t, d, 5) if t == d => Relation::FifthDown,
        (Mode::Minor, Mode::Major, 3) | (Mode::Major, Mode::Minor, 9) => Relation::Relative,
        (_, _, 0) => Relation::Parallel,
        _ => Relation::Other,
    }
}

/// Mean MIREX score and the count per [`Relation`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Breakdown {
    /// Excerpts scored.
    pub n: usize,
    /// Mean MIREX key score.
    pub mirex: f64,
    /// Same key.
    pub correct: usize,
    /// A fifth above.
    pub fifth_up: usize,
    /// A fifth below.
    pub fifth_down: usize,
    /// Relative major/minor.
    pub relative: usize,
    /// Parallel major/minor.
    pub parallel: usize,
    /// Other errors.
    pub other: usize,
}

impl Breakdown {
    /// Scores `detected[i]` against `truth[i]`.
    pub fn new(detected: &[Key], truth: &[Key]) -> Breakdown {
        let mut b = Breakdown { n: detected.len().min(truth.len()), ..Breakdown::default() };
        let mut total = 0.0;
        for (d, t) in detected.iter().zip(truth) {
            total += mirex_score(d, t);
            match relation(d, t) {
                Relation::Correct => b.correct += 1,
                Relation::FifthUp => b.fifth_up += 1,
                Relation::FifthDown => b.fifth_down += 1,
                Relation::Relative => b.relative += 1,
                Relation::Parallel => b.parallel += 1,
                Relation::Other => b.other += 1,
            }
        }
        b.mirex = if b.n == 0 { 0.0 } else { total / b.n as f64 };
        b
    }
}

impl fmt::Display for Breakdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "n {:3}  MIREX {:.3}  correct {:3}  fifth {:2} (up {}, down {})  relative {:2}  parallel {:2}  other {:2}",
            self.n,
            self.mirex,
            self.correct,
            self.fifth_up + self.fifth_down,
            self.fifth_up,
            self.fifth_down,
            self.relative,
            self.parallel,
            self.other
        )
    }
}

/// Detects every excerpt of `set` (renders cached in `dir`), prints one line per excerpt (when `verbose`) and the
/// breakdown per soundfont and overall; returns the overall breakdown.
pub fn evaluate(label: &str, set: &[Excerpt], dir: &Path, verbose: bool) -> Result<Breakdown, String> {
    let detected = detect_all(set, dir)?;
    let truth: Vec<Key> = set.iter().map(Excerpt::truth).collect();
    if verbose {
        for ((e, d), t) in set.iter().zip(&detected).zip(&truth) {
            println!(
                "{:<34} prog {:>2}/{:>2}/{:>2}  {:<9} {:<9} {:4.2} {:?}",
                e.stem(),
                e.piece.instruments.chords,
                e.piece.instruments.bass,
                e.piece.instruments.melody,
                t.name(),
                d.name(),
                d.confidence,
                relation(d, t)
            );
        }
    }
    let part = |name: &str, keep: &dyn Fn(&Excerpt) -> bool| {
        let idx: Vec<usize> = (0..set.len()).filter(|&i| keep(&set[i])).collect();
        if !idx.is_empty() && idx.len() < set.len() {
            let d: Vec<Key> = idx.iter().map(|&i| detected[i]).collect();
            let t: Vec<Key> = idx.iter().map(|&i| truth[i]).collect();
            println!("{label} {name:<10} {}", Breakdown::new(&d, &t));
        }
    };
    for sf in [Soundfont::FluidR3, Soundfont::TimGm6mb, Soundfont::MuseScore] {
        part(sf.name(), &|e| e.soundfont == sf);
    }
    part("whole", &|e| e.cut == Cut::Whole);
    part("song", &|e| e.cut == Cut::SongWindow);
    let all = Breakdown::new(&detected, &truth);
    println!("{label} {:<10} {all}", "all");
    Ok(all)
}
