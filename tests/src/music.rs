//! A small, seeded, deterministic music composer that writes Standard MIDI Files, and a renderer
//! that turns them into audio through the `fluidsynth` command-line synthesiser.
//!
//! It exists to make *test material with a known ground truth*: tempo, key, mode, meter, swing,
//! section boundaries and the chord of every bar are all chosen by the caller (or by a seed), so
//! tempo/key/section detectors and the mix analysis can be checked against exact answers.
//!
//! # Model
//!
//! A [`Piece`] describes what to write: [`Piece::tempo_bpm`] (quarter notes per minute; the beat
//! is always a quarter note), [`Piece::key`] (a [`Key`]: tonic pitch class `0..12`, `0` = C, and a
//! [`Mode`]), [`Piece::meter`] ([`Meter::FourFour`] or [`Meter::ThreeFour`]), [`Piece::swing`]
//! (where the off-beat eighth lands, see [`Piece::swing_ratio`]), [`Piece::bars`], the
//! [`Piece::seed`] and a list of [`Section`]s (name, first bar, length, [`Energy`]) that tile the
//! bars. [`Piece::new`] fills sections and instruments with sensible defaults and
//! [`test_suite`] builds 24 excerpts covering all 24 keys, tempos 60–180 BPM, some in 3/4 and
//! some swung.
//!
//! [`arrange`] turns a piece into a [`Composition`]: the [`Note`]s of four [`Part`]s plus the
//! [`Chord`] of every bar; [`compose`] writes it as a Standard MIDI File (format 1, 480 ticks per
//! quarter, a conductor track with tempo, time- and key-signature and a marker per section,
//! then one track per part). The same piece (same seed) always gives the same bytes: the only
//! randomness is a tiny xorshift generator seeded from [`Piece::seed`].
//!
//! What is written, per bar (one chord per bar):
//!
//! * **Harmony** — a diatonic four-chord loop typical of the mode (major: I–V–vi–IV, I–vi–IV–V,
//!   …; minor: i–VI–III–VII, i–VI–iv–V, …), one loop for mid and one for high-energy sections;
//!   low-energy sections stay on the tonic chord. The last three bars of the piece are always IV → V → I (iv → V → i) so the key
//!   is unambiguous and resolves.
//!   In minor the dominant is the major V of harmonic minor (E major in A minor): the raised
//!   seventh is the only pitch outside the natural minor scale, see [`Key::pitch_classes`].
//! * **Drums** (channel 10, GM kit) — low energy: closed hi-hat on the beats only; mid: kick on
//!   1 (and 3), snare on the back-beats (2 and 4; 2 and 3 in 3/4), eighth hi-hats; high: busier
//!   kick, louder snare, sixteenth hats (eighths when swung), a crash on the section's
//!   downbeat. The last beat of every section but the last is a fill (snare or toms).
//! * **Bass** — chord root and fifth (and the root's octave) in E2–D#4: whole notes at low
//!   energy, a root–fifth figure at mid, driving eighths at high energy.
//! * **Chords** — the triad voiced in close position between G3 and F#4 (around middle C),
//!   sustained at low energy, on every beat at mid energy (on beats 2 and 3 in 3/4), a
//!   syncopated pattern plus the root an octave up at high energy.
//! * **Melody** — none at low energy; otherwise two-bar rhythmic motifs from the key's scale
//!   with a chord tone on every strong beat (beat 1, and beat 3 in 4/4), the chord's root at
//!   the start of every 4-bar phrase and on the long note closing each section, a fifth higher
//!   and louder in high-energy sections, ending on the tonic.
//!
//! Timing is on the grid (no humanisation) apart from swing; velocities vary slightly.
//! The final bar is an ending: the tonic chord held for all but the last beat, so the release
//! (and reverb) decays inside the piece's length.
//!
//! # Rendering
//!
//! [`render_with_fluidsynth`] runs `fluidsynth` (Debian packages `fluidsynth` and
//! `fluid-soundfont-gm`) in fast-render mode with chorus off and reverb on; the result is a
//! 32-bit float stereo WAV whose samples are identical from run to run (see the tests; the
//! header's PEAK chunk carries a timestamp, so compare samples, not file bytes). fluidsynth
//! keeps rendering until every voice has died away, so the file is longer than
//! [`Piece::duration_seconds`] by the release/reverb tail (several seconds, mostly far below
//! −60 dBFS); trim it if you need the exact length.
//!
//! [`parse_smf`] is a small reader used by the tests (and usable by later ones) to check what was
//! written.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Ticks per quarter note of the written MIDI files.
pub const PPQ: u16 = 480;

/// Where Debian's `fluid-soundfont-gm` installs the General MIDI soundfont.
pub const DEFAULT_SOUNDFONT: &str = "/usr/share/sounds/sf2/FluidR3_GM.sf2";

/// Environment variable that overrides [`DEFAULT_SOUNDFONT`].
pub const SOUNDFONT_ENV: &str = "AUDIOCOLLAB_SOUNDFONT";

/// Gain passed to fluidsynth (`-g`). With the channel volumes [`compose`] writes, dense
/// sections peak around −6…−3 dBFS in the float output; nothing clips because the output is
/// float anyway.
pub const FLUIDSYNTH_GAIN: f64 = 0.5;

const TPQ: u32 = PPQ as u32;
const SIXTEENTH: u32 = TPQ / 4;

// ---------------------------------------------------------------------------------------------
// Keys, meters, sections
// ---------------------------------------------------------------------------------------------

/// Major or (natural/harmonic) minor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Ionian.
    Major,
    /// Aeolian, with the raised seventh of harmonic minor on the dominant chord.
    Minor,
}

impl Mode {
    /// `"major"` or `"minor"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Major => "major",
            Mode::Minor => "minor",
        }
    }
}

/// A key: tonic pitch class (`0` = C, `1` = C#/Db, …, `11` = B) and mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    /// Pitch class of the tonic, `0..12` (`0` = C).
    pub tonic: u8,
    /// Major or minor.
    pub mode: Mode,
}

const SHARP_NAMES: [&str; 12] = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
const FLAT_NAMES: [&str; 12] = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"];
/// Key-signature accidentals (sharps > 0, flats < 0) of the major key on each tonic.
const MAJOR_SIGNATURE: [i8; 12] = [0, -5, 2, -3, 4, -1, 6, 1, -4, 3, -2, 5];
/// Key-signature accidentals of the minor key on each tonic (Eb minor rather than D# minor).
const MINOR_SIGNATURE: [i8; 12] = [-3, 4, -1, -6, 1, -4, 3, -2, 5, 0, -5, 2];

impl Key {
    /// The key on `tonic` (taken modulo 12) in `mode`.
    pub const fn new(tonic: u8, mode: Mode) -> Key {
        Key { tonic: tonic % 12, mode }
    }

    /// All 24 keys: C major, C minor, C#/Db major, C# minor, …, B minor.
    pub fn all() -> Vec<Key> {
        (0..12u8).flat_map(|t| [Key::new(t, Mode::Major), Key::new(t, Mode::Minor)]).collect()
    }

    /// The seven pitch classes of the scale, starting on the tonic (natural minor for
    /// [`Mode::Minor`]).
    pub fn scale(&self) -> [u8; 7] {
        let steps: [u8; 7] = match self.mode {
            Mode::Major => [0, 2, 4, 5, 7, 9, 11],
            Mode::Minor => [0, 2, 3, 5, 7, 8, 10],
        };
        steps.map(|s| (self.tonic + s) % 12)
    }

    /// Every pitch class [`compose`] may use in this key: the scale, plus for minor keys the
    /// raised seventh (leading tone) of harmonic minor, which appears in the major V chord and
    /// in the melody over it. Sorted ascending.
    pub fn pitch_classes(&self) -> Vec<u8> {
        let mut pcs = self.scale().to_vec();
        if self.mode == Mode::Minor {
            pcs.push(self.leading_tone());
        }
        pcs.sort_unstable();
        pcs
    }

    /// The pitch class a semitone below the tonic.
    pub fn leading_tone(&self) -> u8 {
        (self.tonic + 11) % 12
    }

    /// Sharps (> 0) or flats (< 0) of the key signature, as in the SMF key-signature event.
    pub fn signature(&self) -> i8 {
        match self.mode {
            Mode::Major => MAJOR_SIGNATURE[self.tonic as usize],
            Mode::Minor => MINOR_SIGNATURE[self.tonic as usize],
        }
    }

    /// The name of pitch class `pc` spelled for this key (flats in flat keys, sharps otherwise).
    pub fn spell(&self, pc: u8) -> &'static str {
        if self.signature() < 0 {
            FLAT_NAMES[(pc % 12) as usize]
        } else {
            SHARP_NAMES[(pc % 12) as usize]
        }
    }

    /// The tonic's name, e.g. `"Bb"`.
    pub fn tonic_name(&self) -> &'static str {
        self.spell(self.tonic)
    }

    /// E.g. `"A minor"`, `"Eb major"`.
    pub fn name(&self) -> String {
        format!("{} {}", self.tonic_name(), self.mode.as_str())
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Time signature; the beat is always a quarter note.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Meter {
    /// Four quarter notes per bar.
    FourFour,
    /// Three quarter notes per bar.
    ThreeFour,
}

impl Meter {
    /// 4 or 3.
    pub fn beats_per_bar(self) -> u32 {
        match self {
            Meter::FourFour => 4,
            Meter::ThreeFour => 3,
        }
    }
}

impl fmt::Display for Meter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/4", self.beats_per_bar())
    }
}

/// How full a section is arranged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Energy {
    /// Intro-like: hi-hat on the beats only, sustained bass and chords, no melody.
    Low,
    /// Verse-like: full groove, melody in the middle register.
    Mid,
    /// Chorus-like: busier drums with a crash, driving bass, fuller chords, higher and louder
    /// melody.
    High,
}

impl Energy {
    /// `"low"`, `"mid"` or `"high"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Energy::Low => "low",
            Energy::Mid => "mid",
            Energy::High => "high",
        }
    }
}

/// A contiguous run of bars with one arrangement energy.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    /// Free-form name (`"intro"`, `"verse"`, `"chorus"`…); written as an SMF marker.
    pub name: String,
    /// First bar, counted from 0.
    pub start_bar: u32,
    /// Length in bars (≥ 1).
    pub bars: u32,
    /// How full the arrangement is.
    pub energy: Energy,
}

impl Section {
    /// A section named `name` over bars `start_bar..start_bar + bars`.
    pub fn new(name: &str, start_bar: u32, bars: u32, energy: Energy) -> Section {
        Section { name: name.to_string(), start_bar, bars, energy }
    }

    /// One past the last bar.
    pub fn end_bar(&self) -> u32 {
        self.start_bar + self.bars
    }
}

/// General MIDI programs (0-based, i.e. 0 = Acoustic Grand Piano) of the pitched parts. The
/// drums always use the standard kit on channel 10.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Instruments {
    /// Program of the chord part.
    pub chords: u8,
    /// Program of the bass part.
    pub bass: u8,
    /// Program of the melody part.
    pub melody: u8,
}

impl Instruments {
    /// Acoustic grand piano, fingered electric bass, flute.
    pub const DEFAULT: Instruments = Instruments { chords: 0, bass: 33, melody: 73 };

    /// A seeded pick among a few clearly pitched GM programs: chords from piano, electric
    /// grand, electric piano, steel guitar; bass from acoustic, fingered, picked and synth
    /// bass; melody from vibraphone, violin, trumpet, alto sax, flute and square lead.
    pub fn from_seed(seed: u64) -> Instruments {
        const CHORDS: [u8; 4] = [0, 2, 4, 25];
        const BASS: [u8; 4] = [32, 33, 34, 38];
        const MELODY: [u8; 6] = [11, 40, 56, 65, 73, 80];
        Instruments::pick(seed, &CHORDS, &BASS, &MELODY)
    }

    /// A seeded pick among GM programs [`Instruments::from_seed`] never uses, for the held-out
    /// key set ([`held_out_suite`]): chords from bright piano, electric piano 2, harpsichord,
    /// drawbar organ, nylon guitar and string ensemble; bass from fretless, slap, synth bass 2
    /// and contrabass; melody from celesta, church organ, harmonica, viola, trombone, oboe,
    /// clarinet and sawtooth lead (organs, reeds and the sawtooth are rich in harmonics).
    pub fn held_out_from_seed(seed: u64) -> Instruments {
        const CHORDS: [u8; 6] = [1, 5, 6, 16, 24, 48];
        const BASS: [u8; 4] = [35, 36, 39, 43];
        const MELODY: [u8; 8] = [8, 19, 22, 41, 57, 68, 71, 81];
        Instruments::pick(seed, &CHORDS, &BASS, &MELODY)
    }

    fn pick(seed: u64, chords: &[u8], bass: &[u8], melody: &[u8]) -> Instruments {
        let mut rng = Rng::new(seed ^ 0x1175_7275_6d65_6e74);
        Instruments { chords: *rng.pick(chords), bass: *rng.pick(bass), melody: *rng.pick(melody) }
    }
}

/// Everything [`compose`] needs to write a piece. See the [module docs](self).
#[derive(Clone, Debug, PartialEq)]
pub struct Piece {
    /// Tempo in quarter notes per minute (the beat is a quarter note in both meters).
    /// 20–300.
    pub tempo_bpm: f64,
    /// Key and mode.
    pub key: Key,
    /// 4/4 or 3/4.
    pub meter: Meter,
    /// Where the off-beat eighth of each beat lands, as a fraction of the beat: `0.0` (or
    /// `0.5`) is straight, `0.6` a light swing, `2/3` triplet swing; valid: `0.0` or
    /// `0.5..=0.75`. Sixteenths are stretched the same way.
    pub swing: f64,
    /// Length in bars (≥ 1). The last bar is the ending.
    pub bars: u32,
    /// Seeds every random choice (progressions, patterns, melody, velocities).
    pub seed: u64,
    /// Sections in order; they must tile `0..bars` without gaps.
    pub sections: Vec<Section>,
    /// GM programs of the pitched parts.
    pub instruments: Instruments,
}

impl Piece {
    /// A straight piece with [`Piece::default_sections`] and [`Instruments::from_seed`].
    pub fn new(tempo_bpm: f64, key: Key, meter: Meter, bars: u32, seed: u64) -> Piece {
        Piece {
            tempo_bpm,
            key,
            meter,
            swing: 0.0,
            bars,
            seed,
            sections: Piece::default_sections(bars),
            instruments: Instruments::from_seed(seed),
        }
    }

    /// Intro (low energy) + verse (mid) + chorus (high): for ≥ 8 bars a 2-bar intro and the
    /// rest split evenly (the chorus gets the odd bar); for 4–7 bars a 1-bar intro; shorter
    /// pieces are a single verse.
    pub fn default_sections(bars: u32) -> Vec<Section> {
        if bars < 4 {
            return vec![Section::new("verse", 0, bars, Energy::Mid)];
        }
        let intro = if bars >= 8 { 2 } else { 1 };
        let verse = (bars - intro) / 2;
        let chorus = bars - intro - verse;
        vec![
            Section::new("intro", 0, intro, Energy::Low),
            Section::new("verse", intro, verse, Energy::Mid),
            Section::new("chorus", intro + verse, chorus, Energy::High),
        ]
    }

    /// The same piece with [`Piece::swing`] set.
    pub fn with_swing(mut self, swing: f64) -> Piece {
        self.swing = swing;
        self
    }

    /// The same piece with another form: `sections` (which must tile `0..n` bars from bar 0),
    /// and as many bars as they cover.
    pub fn with_sections(mut self, sections: Vec<Section>) -> Piece {
        self.bars = sections.last().map_or(0, Section::end_bar);
        self.sections = sections;
        self
    }

    /// Checks tempo, swing, bar count and that the sections tile the bars.
    pub fn validate(&self) -> Result<(), String> {
        if !(20.0..=300.0).contains(&self.tempo_bpm) {
            return Err(format!("tempo {} BPM is outside 20..=300", self.tempo_bpm));
        }
        if !(self.swing == 0.0 || (0.5..=0.75).contains(&self.swing)) {
            return Err(format!("swing {} must be 0 or within 0.5..=0.75", self.swing));
        }
        if self.key.tonic >= 12 {
            return Err(format!("tonic pitch class {} is not in 0..12", self.key.tonic));
        }
        if self.bars == 0 {
            return Err("a piece needs at least one bar".into());
        }
        let mut next = 0;
        for s in &self.sections {
            if s.start_bar != next || s.bars == 0 {
                return Err(format!(
                    "section {:?} starts at bar {} with {} bars; expected a non-empty section \
                     starting at bar {next}",
                    s.name, s.start_bar, s.bars
                ));
            }
            next = s.end_bar();
        }
        if next != self.bars {
            return Err(format!("sections cover {next} bars but the piece has {}", self.bars));
        }
        Ok(())
    }

    /// 4 or 3.
    pub fn beats_per_bar(&self) -> u32 {
        self.meter.beats_per_bar()
    }

    /// Seconds per quarter note at the tempo actually written (see
    /// [`Piece::tempo_micros_per_quarter`]).
    pub fn seconds_per_beat(&self) -> f64 {
        self.tempo_micros_per_quarter() as f64 / 1e6
    }

    /// The SMF tempo: microseconds per quarter note, `round(60e6 / tempo_bpm)`.
    pub fn tempo_micros_per_quarter(&self) -> u32 {
        (60e6 / self.tempo_bpm).round() as u32
    }

    /// Seconds per bar.
    pub fn bar_seconds(&self) -> f64 {
        self.seconds_per_beat() * self.beats_per_bar() as f64
    }

    /// When bar `bar` (from 0) starts, in seconds.
    pub fn bar_start_seconds(&self, bar: u32) -> f64 {
        self.bar_seconds() * bar as f64
    }

    /// Length of the piece in seconds (`bars` bars; the MIDI file ends there).
    pub fn duration_seconds(&self) -> f64 {
        self.bar_start_seconds(self.bars)
    }

    /// MIDI ticks per bar.
    pub fn ticks_per_bar(&self) -> u32 {
        TPQ * self.beats_per_bar()
    }

    /// The section bar `bar` belongs to.
    pub fn section_at_bar(&self, bar: u32) -> &Section {
        self.sections
            .iter()
            .find(|s| (s.start_bar..s.end_bar()).contains(&bar))
            .unwrap_or_else(|| panic!("bar {bar} is in no section"))
    }

    /// The off-beat eighth position as a fraction of the beat: `0.5` when straight.
    pub fn swing_ratio(&self) -> f64 {
        if self.swing == 0.0 {
            0.5
        } else {
            self.swing
        }
    }

    /// Whether the eighths are swung.
    pub fn is_swung(&self) -> bool {
        self.swing_ratio() > 0.5
    }

    /// Maps a straight-grid tick to the swung tick (identity when straight).
    pub fn swing_tick(&self, tick: u32) -> u32 {
        let s = self.swing_ratio();
        let beat = tick / TPQ * TPQ;
        let f = (tick % TPQ) as f64;
        let half = TPQ as f64 / 2.0;
        let swung = if f <= half {
            f * (s * TPQ as f64) / half
        } else {
            s * TPQ as f64 + (f - half) * ((1.0 - s) * TPQ as f64) / half
        };
        beat + swung.round() as u32
    }
}

/// The 24 excerpts for tempo/key detection tests: one per key (in [`Key::all`] order), 8 bars
/// each with [`Piece::default_sections`], tempos spread over 60–180 BPM (every key gets a
/// different tempo, shuffled so tempo and key are unrelated), every fourth excerpt in 3/4 and
/// every third one swung (ratio 0.62). `seed` varies the material, not the truth.
pub fn test_suite(seed: u64) -> Vec<Piece> {
    let keys = Key::all();
    let n = keys.len() as u32;
    keys.into_iter()
        .enumerate()
        .map(|(i, key)| {
            let i = i as u32;
            // 7 is coprime with 24: a permutation of 0..24.
            let slot = (i * 7 + 3) % n;
            let tempo = 60.0 + (120.0 * slot as f64 / (n - 1) as f64).round();
            let meter = if i % 4 == 3 { Meter::ThreeFour } else { Meter::FourFour };
            let piece = Piece::new(tempo, key, meter, 8, seed.wrapping_mul(31).wrapping_add(i as u64));
            if i % 3 == 2 {
                piece.with_swing(0.62)
            } else {
                piece
            }
        })
        .collect()
}

/// The held-out key excerpts: like [`test_suite`] one piece per key (24), 8 bars, but with
/// [`Instruments::held_out_from_seed`] (no program of the tuning pool), another pairing of
/// tempos with keys (60–180 BPM), other bars in 3/4 and swung, and piece seeds from
/// `1_000_003 · (seed + 1)` on, far from the ones `test_suite` uses for any small seed.
/// `seed` varies the material, not the truth. See `integration::key_eval` for the split.
pub fn held_out_suite(seed: u64) -> Vec<Piece> {
    let keys = Key::all();
    let n = keys.len() as u32;
    keys.into_iter()
        .enumerate()
        .map(|(i, key)| {
            let i = i as u32;
            // 5 is coprime with 24: another permutation of 0..24 than test_suite's.
            let slot = (i * 5 + 11) % n;
            let tempo = 60.0 + (120.0 * slot as f64 / (n - 1) as f64).round();
            let meter = if i % 4 == 1 { Meter::ThreeFour } else { Meter::FourFour };
            let piece_seed = seed.wrapping_add(1).wrapping_mul(1_000_003).wrapping_add(i as u64);
            let mut piece = Piece::new(tempo, key, meter, 8, piece_seed);
            piece.instruments = Instruments::held_out_from_seed(piece_seed);
            if i.is_multiple_of(3) {
                piece.with_swing(0.6)
            } else {
                piece
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Random numbers
// ---------------------------------------------------------------------------------------------

/// xorshift64* seeded through splitmix64 (so every seed, 0 included, is usable).
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n` > 0; the modulo bias is irrelevant here).
    fn below(&mut self, n: u32) -> u32 {
        ((self.next_u64() >> 32) % n as u64) as u32
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i32, hi: i32) -> i32 {
        lo + self.below((hi - lo + 1) as u32) as i32
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u32) as usize]
    }
}

// ---------------------------------------------------------------------------------------------
// Arrangement
// ---------------------------------------------------------------------------------------------

/// The four parts, each on its own track and MIDI channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    /// GM drum kit, channel 10.
    Drums,
    /// Bass line, channel 3.
    Bass,
    /// Chord comping, channel 2.
    Chords,
    /// Lead melody, channel 1.
    Melody,
}

impl Part {
    /// All parts in track order.
    pub const ALL: [Part; 4] = [Part::Drums, Part::Bass, Part::Chords, Part::Melody];

    /// 0-based MIDI channel (drums: 9, i.e. channel 10).
    pub fn channel(self) -> u8 {
        match self {
            Part::Melody => 0,
            Part::Chords => 1,
            Part::Bass => 2,
            Part::Drums => 9,
        }
    }

    /// Track name.
    pub fn name(self) -> &'static str {
        match self {
            Part::Drums => "drums",
            Part::Bass => "bass",
            Part::Chords => "chords",
            Part::Melody => "melody",
        }
    }
}

/// One note of a [`Composition`]; times in ticks ([`PPQ`] per quarter), swing applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Note {
    /// Which part plays it.
    pub part: Part,
    /// MIDI note number (for drums: the GM percussion key).
    pub key: u8,
    /// 1..=127.
    pub velocity: u8,
    /// Note-on tick.
    pub start: u32,
    /// Note-off tick (> `start`).
    pub end: u32,
}

/// The chord of one bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chord {
    /// Bar index.
    pub bar: u32,
    /// Scale degree of the root, 0-based (0 = I/i, 4 = V).
    pub degree: u8,
    /// Pitch classes root, third, fifth.
    pub pitch_classes: [u8; 3],
    /// E.g. `"Am"`, `"E"`, `"Bdim"`.
    pub name: String,
}

impl Chord {
    /// Root pitch class.
    pub fn root(&self) -> u8 {
        self.pitch_classes[0]
    }

    /// Whether `pc` is a chord tone.
    pub fn contains(&self, pc: u8) -> bool {
        self.pitch_classes.contains(&(pc % 12))
    }
}

/// The diatonic triad on scale degree `degree` (0-based); in minor, degree 4 is the major V of
/// harmonic minor.
pub fn diatonic_chord(key: &Key, degree: u8, bar: u32) -> Chord {
    let scale = key.scale();
    let d = degree as usize % 7;
    let mut pcs = [scale[d], scale[(d + 2) % 7], scale[(d + 4) % 7]];
    if key.mode == Mode::Minor && d == 4 {
        pcs[1] = key.leading_tone();
    }
    let third = (pcs[1] + 12 - pcs[0]) % 12;
    let fifth = (pcs[2] + 12 - pcs[0]) % 12;
    let suffix = match (third, fifth) {
        (4, 7) => "",
        (3, 7) => "m",
        (3, 6) => "dim",
        _ => "?",
    };
    Chord { bar, degree: d as u8, pitch_classes: pcs, name: format!("{}{}", key.spell(pcs[0]), suffix) }
}

/// The scale the melody uses over `chord`: the key's scale, with the raised seventh instead of
/// the natural one when the chord contains the leading tone (minor keys' V).
pub fn scale_for_chord(key: &Key, chord: &Chord) -> Vec<u8> {
    let lt = key.leading_tone();
    let mut pcs: Vec<u8> = key.scale().to_vec();
    if key.mode == Mode::Minor && chord.contains(lt) {
        let natural7 = (key.tonic + 10) % 12;
        pcs.retain(|&pc| pc != natural7);
        pcs.push(lt);
    }
    pcs.sort_unstable();
    pcs
}

/// What [`arrange`] produces: the notes of all parts (sorted by start, part, key) and the chord
/// of every bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Composition {
    /// All notes.
    pub notes: Vec<Note>,
    /// `chords[bar]` is the chord of that bar.
    pub chords: Vec<Chord>,
    /// Tick at which the piece ends (`bars * ticks_per_bar`).
    pub end_tick: u32,
}

impl Composition {
    /// The notes of one part.
    pub fn part(&self, part: Part) -> impl Iterator<Item = &Note> + '_ {
        self.notes.iter().filter(move |n| n.part == part)
    }
}

// Degree loops (0-based scale degrees). The first four of each list are "verse" loops that
// start on the tonic; high-energy sections pick from the whole list.
const MAJOR_LOOPS: [[u8; 4]; 6] = [[0, 4, 5, 3], [0, 5, 3, 4], [0, 3, 4, 3], [0, 3, 0, 4], [3, 4, 0, 5], [5, 3, 0, 4]];
const MINOR_LOOPS: [[u8; 4]; 6] = [[0, 5, 2, 6], [0, 3, 6, 5], [0, 5, 3, 4], [0, 6, 5, 4], [0, 3, 6, 2], [5, 6, 0, 0]];

// GM percussion keys.
const KICK: u8 = 36;
const SNARE: u8 = 38;
const CLOSED_HAT: u8 = 42;
const OPEN_HAT: u8 = 46;
const CRASH: u8 = 49;
const TOMS: [u8; 4] = [50, 48, 47, 45];

struct Builder<'a> {
    piece: &'a Piece,
    notes: Vec<Note>,
    end_tick: u32,
}

impl Builder<'_> {
    /// Adds a note on the straight grid at `start`/`len` sixteenths from the start of `bar`,
    /// swing applied, shortened by a small articulation gap.
    fn add(&mut self, part: Part, key: u8, velocity: i32, bar: u32, start16: u32, len16: u32) {
        let bar_tick = bar * self.piece.ticks_per_bar();
        let on = self.piece.swing_tick(bar_tick + start16 * SIXTEENTH);
        let off_grid = self.piece.swing_tick(bar_tick + (start16 + len16) * SIXTEENTH);
        let gap = if part == Part::Drums { 0 } else { ((off_grid - on) / 12).clamp(10, 60) };
        let off = if part == Part::Drums { (on + 60).min(off_grid.max(on + 30)) } else { off_grid - gap };
        let off = off.min(self.end_tick);
        if off <= on {
            return;
        }
        self.notes.push(Note { part, key, velocity: velocity.clamp(1, 127) as u8, start: on, end: off });
    }
}

/// Places pitch class `pc` as the lowest MIDI note ≥ `low`.
fn place(pc: u8, low: u8) -> u8 {
    low + ((pc as i32 - low as i32).rem_euclid(12)) as u8
}

/// Arranges `piece` into notes and chords. Panics if [`Piece::validate`] fails.
pub fn arrange(piece: &Piece) -> Composition {
    if let Err(e) = piece.validate() {
        panic!("invalid piece: {e}");
    }
    let key = piece.key;
    let bpb = piece.beats_per_bar();
    let n16 = bpb * 4;
    let mut rng_harmony = Rng::new(piece.seed ^ 0x6861_726d_6f6e_7921);
    let mut rng_drums = Rng::new(piece.seed ^ 0x6472_756d_7321_2121);
    let mut rng_bass = Rng::new(piece.seed ^ 0x6261_7373_2121_2121);
    let mut rng_chords = Rng::new(piece.seed ^ 0x6368_6f72_6473_2121);
    let mut rng_melody = Rng::new(piece.seed ^ 0x6d65_6c6f_6479_2121);

    // Harmony: tonic for low sections, one loop for mid, one for high; the last three IV → V → I.
    let loops = match key.mode {
        Mode::Major => &MAJOR_LOOPS,
        Mode::Minor => &MINOR_LOOPS,
    };
    let verse_loop = loops[rng_harmony.below(4) as usize];
    let chorus_loop = *rng_harmony.pick(loops);
    let mut chords: Vec<Chord> = (0..piece.bars)
        .map(|bar| {
            let s = piece.section_at_bar(bar);
            let degree = match s.energy {
                // Low-energy sections (intros) vamp on the tonic: it states the key.
                Energy::Low => 0,
                Energy::Mid => verse_loop[((bar - s.start_bar) % 4) as usize],
                Energy::High => chorus_loop[((bar - s.start_bar) % 4) as usize],
            };
            diatonic_chord(&key, degree, bar)
        })
        .collect();
    let last = piece.bars - 1;
    chords[last as usize] = diatonic_chord(&key, 0, last);
    if piece.bars >= 2 {
        chords[last as usize - 1] = diatonic_chord(&key, 4, last - 1);
    }
    if piece.bars >= 3 {
        // The subdominant pins the key down (the dominant key lacks the fourth degree).
        chords[last as usize - 2] = diatonic_chord(&key, 3, last - 2);
    }

    let mut b = Builder { piece, notes: Vec::new(), end_tick: piece.bars * piece.ticks_per_bar() };
    let swung = piece.is_swung();

    // Per-section pattern choices.
    let kick_variant: Vec<u32> = piece.sections.iter().map(|_| rng_drums.below(3)).collect();

    // Melody register: tonic placed in E4..D#5 is the centre of mid sections.
    let tonic_mid = place(key.tonic, 64) as i32;
    let mut prev_melody = tonic_mid;
    let mut motif: Vec<Vec<(u32, u32)>> = Vec::new();

    for bar in 0..piece.bars {
        let (si, sec) = piece
            .sections
            .iter()
            .enumerate()
            .find(|(_, s)| (s.start_bar..s.end_bar()).contains(&bar))
            .expect("validated");
        let energy = sec.energy;
        let chord = chords[bar as usize].clone();
        let is_final = bar == last;
        let first_of_section = bar == sec.start_bar;
        let last_of_section = bar + 1 == sec.end_bar();
        let fill = last_of_section && !is_final;
        let ending_len = (bpb - 1) * 4; // the final bar holds all but the last beat

        // ---- drums ----
        {
            let r = &mut rng_drums;
            let jitter = |r: &mut Rng| r.range(-4, 4);
            let mut hits: Vec<(u8, i32, u32)> = Vec::new(); // key, velocity, sixteenth
            if is_final {
                if energy > Energy::Low || bar > 0 {
                    hits.push((KICK, 110, 0));
                    hits.push((CRASH, 100, 0));
                }
            } else {
                match energy {
                    Energy::Low => {
                        for beat in 0..bpb {
                            hits.push((CLOSED_HAT, if beat == 0 { 58 } else { 48 }, beat * 4));
                        }
                    }
                    Energy::Mid | Energy::High => {
                        let high = energy == Energy::High;
                        let mut kicks = vec![0];
                        if bpb == 4 {
                            kicks.push(8);
                            match (kick_variant[si], high) {
                                (1, _) => kicks.push(10),
                                (2, true) => kicks.extend([6, 10]),
                                (_, true) => kicks.push(14),
                                _ => {}
                            }
                        } else if high {
                            kicks.push(6);
                        }
                        for k in kicks {
                            hits.push((KICK, if k == 0 { 112 } else { 100 }, k));
                        }
                        let snares: &[u32] = if bpb == 4 { &[4, 12] } else { &[4, 8] };
                        for &s in snares {
                            let v = match (high, bpb) {
                                (true, _) => 112,
                                (false, 4) => 98,
                                (false, _) => 84,
                            };
                            hits.push((SNARE, v, s));
                        }
                        let step = if high && !swung { 1 } else { 2 };
                        for p in (0..n16).step_by(step as usize) {
                            let v = if p % 4 == 0 {
                                if high {
                                    84
                                } else {
                                    76
                                }
                            } else if p % 2 == 0 {
                                if high {
                                    64
                                } else {
                                    56
                                }
                            } else {
                                46
                            };
                            // High energy: open hat on the off-beat of the last beat.
                            let hat = if high && p == n16 - 2 { OPEN_HAT } else { CLOSED_HAT };
                            hits.push((hat, v, p));
                        }
                        if first_of_section && (bar > 0 || high) {
                            hits.push((CRASH, if high { 104 } else { 92 }, 0));
                        }
                    }
                }
                if fill {
                    let from = n16 - 4;
                    hits.retain(|&(_, _, p)| p < from);
                    match energy {
                        Energy::Low => {
                            hits.push((SNARE, 62, n16 - 2));
                            hits.push((SNARE, 76, n16 - 1));
                        }
                        Energy::Mid => {
                            for (i, v) in [72, 82, 92, 104].into_iter().enumerate() {
                                hits.push((SNARE, v, from + i as u32));
                            }
                        }
                        Energy::High => {
                            hits.push((KICK, 104, from));
                            for (i, (tom, v)) in TOMS.into_iter().zip([100, 104, 108, 114]).enumerate() {
                                hits.push((tom, v, from + i as u32));
                            }
                        }
                    }
                }
            }
            hits.sort_by_key(|&(k, _, p)| (p, k));
            for (k, v, p) in hits {
                let v = v + jitter(r);
                b.add(Part::Drums, k, v, bar, p, 1);
            }
        }

        // ---- bass ----
        {
            let r = &mut rng_bass;
            let root = place(chord.root(), 40);
            let fifth = root + (chord.pitch_classes[2] + 12 - chord.root()) % 12;
            let oct = root + 12;
            let base = match energy {
                Energy::Low => 72,
                Energy::Mid => 88,
                Energy::High => 100,
            };
            let figure: Vec<(u8, u32, u32)> = if is_final {
                vec![(root, 0, ending_len)]
            } else {
                match (energy, bpb) {
                    (Energy::Low, _) => vec![(root, 0, n16)],
                    (Energy::Mid, 4) => {
                        vec![(root, 0, 6), (root, 6, 2), (fifth, 8, 4), (root, 12, 4)]
                    }
                    (Energy::Mid, _) => vec![(root, 0, 8), (fifth, 8, 4)],
                    (Energy::High, 4) => [root, root, oct, root, fifth, fifth, oct, root]
                        .into_iter()
                        .enumerate()
                        .map(|(i, k)| (k, i as u32 * 2, 2))
                        .collect(),
                    (Energy::High, _) => [root, root, fifth, fifth, oct, root]
                        .into_iter()
                        .enumerate()
                        .map(|(i, k)| (k, i as u32 * 2, 2))
                        .collect(),
                }
            };
            for (k, p, l) in figure {
                let accent = if p == 0 { 6 } else { 0 };
                let v = base + accent + r.range(-4, 4);
                b.add(Part::Bass, k, v, bar, p, l);
            }
        }

        // ---- chords ----
        {
            let r = &mut rng_chords;
            let mut voicing: Vec<u8> = chord.pitch_classes.iter().map(|&pc| place(pc, 55)).collect();
            if energy == Energy::High {
                voicing.push(place(chord.root(), 67));
            }
            voicing.sort_unstable();
            let (base, hits): (i32, Vec<(u32, u32)>) = if is_final {
                (if energy == Energy::Low { 60 } else { 84 }, vec![(0, ending_len)])
            } else {
                match (energy, bpb) {
                    (Energy::Low, _) => (58, vec![(0, n16)]),
                    (Energy::Mid, 4) => (70, vec![(0, 3), (4, 3), (8, 3), (12, 3)]),
                    (Energy::Mid, _) => (70, vec![(0, 3), (4, 3), (8, 3)]),
                    (Energy::High, 4) => (86, vec![(0, 3), (4, 2), (6, 2), (8, 3), (12, 2), (14, 2)]),
                    (Energy::High, _) => (86, vec![(0, 4), (4, 4), (8, 2), (10, 2)]),
                }
            };
            for (p, l) in hits {
                let accent = if p == 0 {
                    6
                } else if p % 4 != 0 {
                    -8
                } else {
                    0
                };
                let v = base + accent + r.range(-3, 3);
                for &k in &voicing {
                    b.add(Part::Chords, k, v, bar, p, l);
                }
            }
        }

        // ---- melody ----
        if energy > Energy::Low {
            let r = &mut rng_melody;
            let high = energy == Energy::High;
            let centre = if high { tonic_mid + 7 } else { tonic_mid };
            let (lo, hi) = (centre - 7, centre + 10);
            // Rhythms in eighths: (start, length).
            let patterns: Vec<Vec<(u32, u32)>> = match (high, bpb) {
                (false, 4) => vec![
                    vec![(0, 2), (2, 2), (4, 3), (7, 1)],
                    vec![(0, 3), (3, 1), (4, 2), (6, 2)],
                    vec![(0, 2), (2, 1), (3, 1), (4, 4)],
                    vec![(0, 4), (4, 2), (6, 2)],
                ],
                (true, 4) => vec![
                    vec![(0, 1), (1, 1), (2, 2), (4, 1), (5, 1), (6, 2)],
                    vec![(0, 2), (2, 1), (3, 1), (4, 2), (6, 1), (7, 1)],
                    vec![(0, 3), (3, 1), (4, 1), (5, 1), (6, 2)],
                    vec![(0, 2), (2, 2), (4, 1), (5, 1), (6, 2)],
                ],
                (false, _) => vec![vec![(0, 2), (2, 2), (4, 2)], vec![(0, 3), (3, 1), (4, 2)], vec![(0, 4), (4, 2)]],
                (true, _) => vec![
                    vec![(0, 1), (1, 1), (2, 2), (4, 1), (5, 1)],
                    vec![(0, 2), (2, 1), (3, 1), (4, 2)],
                    vec![(0, 2), (2, 2), (4, 1), (5, 1)],
                ],
            };
            if first_of_section {
                // A two-bar motif repeated through the section: bars A B A B'…
                motif = vec![r.pick(&patterns).clone(), r.pick(&patterns).clone()];
            }
            let pos = bar - sec.start_bar;
            let mut rhythm = motif[(pos % 2) as usize].clone();
            if last_of_section || is_final {
                // Phrase end: land on a long chord tone on beat 3 (the last beat in 3/4).
                let land = 4;
                rhythm.retain(|&(s, _)| s < land);
                if let Some(lastn) = rhythm.last_mut() {
                    lastn.1 = land - lastn.0;
                }
                rhythm.push((land, bpb * 2 - land));
            }
            if is_final {
                rhythm = vec![(0, ending_len / 2)];
            }
            let scale = scale_for_chord(&key, &chord);
            let pool = |pcs: &[u8]| -> Vec<i32> { (lo..=hi).filter(|&k| pcs.contains(&((k % 12) as u8))).collect() };
            let chord_pool = pool(&chord.pitch_classes);
            let scale_pool = pool(&scale);
            let base = if high { 100 } else { 86 };
            let n = rhythm.len();
            for (i, &(s8, l8)) in rhythm.iter().enumerate() {
                let strong = s8 == 0 || (bpb == 4 && s8 == 4);
                let phrase_end = i + 1 == n && (last_of_section || is_final);
                let key_num = if is_final {
                    *pool(&[key.tonic]).iter().min_by_key(|&&k| (k - centre).abs()).expect("range spans an octave")
                } else if phrase_end || (i == 0 && pos % 4 == 0) {
                    // Phrases start and end on the chord's root (the tonic on I): a clear key.
                    // A phrase starts near the section's centre, a phrase end stays close.
                    let target = if phrase_end { prev_melody } else { centre };
                    nearest(&pool(&[chord.root()]), target)
                } else if strong {
                    let target = prev_melody + r.range(-5, 5) + (centre - prev_melody) / 3;
                    nearest(&chord_pool, target)
                } else {
                    let dir = if prev_melody > centre + 4 {
                        -1
                    } else if prev_melody < centre - 4 || r.chance(0.5) {
                        1
                    } else {
                        -1
                    };
                    let step = if r.chance(0.75) { 1 } else { 2 };
                    step_in(&scale_pool, prev_melody, dir * step)
                };
                prev_melody = key_num;
                let accent = if strong { 8 } else { 0 };
                let v = base + accent + r.range(-5, 5);
                b.add(Part::Melody, key_num as u8, v, bar, s8 * 2, l8 * 2);
            }
        }
    }

    let mut notes = b.notes;
    notes.sort_by_key(|n| (n.start, n.part, n.key));
    Composition { notes, chords, end_tick: piece.bars * piece.ticks_per_bar() }
}

/// The element of `pool` (sorted, non-empty) nearest to `target` (lower one on ties).
fn nearest(pool: &[i32], target: i32) -> i32 {
    *pool.iter().min_by_key(|&&k| ((k - target).abs(), k)).expect("non-empty pool")
}

/// Moves `steps` positions through `pool` from the element nearest `from`, staying in range.
fn step_in(pool: &[i32], from: i32, steps: i32) -> i32 {
    let i = pool.iter().position(|&k| k == nearest(pool, from)).expect("in pool") as i32;
    let j = (i + steps).clamp(0, pool.len() as i32 - 1);
    let j = if j == i { (i - steps).clamp(0, pool.len() as i32 - 1) } else { j };
    pool[j as usize]
}

// ---------------------------------------------------------------------------------------------
// Standard MIDI File writer
// ---------------------------------------------------------------------------------------------

fn write_vlq(mut v: u32, out: &mut Vec<u8>) {
    let mut buf = [0u8; 5];
    let mut i = 4;
    buf[i] = (v & 0x7f) as u8;
    v >>= 7;
    while v > 0 {
        i -= 1;
        buf[i] = (v & 0x7f) as u8 | 0x80;
        v >>= 7;
    }
    out.extend_from_slice(&buf[i..]);
}

/// Builds one `MTrk` chunk; uses running status for channel messages.
struct TrackWriter {
    data: Vec<u8>,
    tick: u32,
    running: Option<u8>,
}

impl TrackWriter {
    fn new() -> TrackWriter {
        TrackWriter { data: Vec::new(), tick: 0, running: None }
    }

    fn delta(&mut self, tick: u32) {
        debug_assert!(tick >= self.tick, "events must be in time order");
        write_vlq(tick - self.tick, &mut self.data);
        self.tick = tick;
    }

    fn meta(&mut self, tick: u32, kind: u8, payload: &[u8]) {
        self.delta(tick);
        self.data.extend_from_slice(&[0xff, kind]);
        write_vlq(payload.len() as u32, &mut self.data);
        self.data.extend_from_slice(payload);
        self.running = None; // meta events cancel running status
    }

    fn channel(&mut self, tick: u32, status: u8, payload: &[u8]) {
        self.delta(tick);
        if self.running != Some(status) {
            self.data.push(status);
            self.running = Some(status);
        }
        self.data.extend_from_slice(payload);
    }

    fn finish(mut self, end_tick: u32) -> Vec<u8> {
        let t = end_tick.max(self.tick);
        self.meta(t, 0x2f, &[]);
        let mut chunk = b"MTrk".to_vec();
        chunk.extend_from_slice(&(self.data.len() as u32).to_be_bytes());
        chunk.extend_from_slice(&self.data);
        chunk
    }
}

/// Writes `composition` (arranged from `piece`) as a format-1 Standard MIDI File.
///
/// Track 0 (conductor): track name, time signature, key signature, tempo, one marker per
/// section. Tracks 1–4: drums, bass, chords, melody, each with a track name, program change,
/// volume (CC7), pan (CC10), reverb send (CC91) and chorus send (CC93 = 0) at tick 0, then the
/// notes (note-off as note-on with velocity 0, running status). Every track ends at the
/// composition's end tick.
pub fn write_smf(piece: &Piece, composition: &Composition) -> Vec<u8> {
    let end = composition.end_tick;
    let mut out = Vec::new();
    out.extend_from_slice(b"MThd");
    out.extend_from_slice(&6u32.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes()); // format 1
    out.extend_from_slice(&(1 + Part::ALL.len() as u16).to_be_bytes());
    out.extend_from_slice(&PPQ.to_be_bytes());

    // Conductor track.
    let mut t = TrackWriter::new();
    let title =
        format!("AudioCollab test piece: {} {} BPM {} seed {}", piece.key, piece.tempo_bpm, piece.meter, piece.seed);
    t.meta(0, 0x03, title.as_bytes());
    // nn/dd (2 = quarter), 24 MIDI clocks per click, 8 32nds per quarter.
    t.meta(0, 0x58, &[piece.beats_per_bar() as u8, 2, 24, 8]);
    let mi = u8::from(piece.key.mode == Mode::Minor);
    t.meta(0, 0x59, &[piece.key.signature() as u8, mi]);
    let us = piece.tempo_micros_per_quarter();
    t.meta(0, 0x51, &us.to_be_bytes()[1..]);
    for s in &piece.sections {
        t.meta(s.start_bar * piece.ticks_per_bar(), 0x06, s.name.as_bytes());
    }
    out.extend(t.finish(end));

    for part in Part::ALL {
        let ch = part.channel();
        let mut t = TrackWriter::new();
        t.meta(0, 0x03, part.name().as_bytes());
        let (program, volume, pan, reverb) = match part {
            Part::Drums => (0, 100, 64, 30),
            Part::Bass => (piece.instruments.bass, 100, 64, 10),
            Part::Chords => (piece.instruments.chords, 108, 44, 40),
            Part::Melody => (piece.instruments.melody, 86, 84, 45),
        };
        t.channel(0, 0xc0 | ch, &[program]);
        for (cc, v) in [(7u8, volume), (10, pan), (91, reverb), (93, 0)] {
            t.channel(0, 0xb0 | ch, &[cc, v]);
        }
        // (tick, 0 = off / 1 = on, key, velocity)
        let mut events: Vec<(u32, u8, u8, u8)> = Vec::new();
        for n in composition.part(part) {
            events.push((n.start, 1, n.key, n.velocity));
            events.push((n.end, 0, n.key, 0));
        }
        events.sort_unstable();
        for (tick, _, k, v) in events {
            t.channel(tick, 0x90 | ch, &[k, v]);
        }
        out.extend(t.finish(end));
    }
    out
}

/// Arranges `piece` and writes it as a Standard MIDI File (see [`write_smf`]). Deterministic:
/// the same piece gives the same bytes. Panics if [`Piece::validate`] fails.
pub fn compose(piece: &Piece) -> Vec<u8> {
    write_smf(piece, &arrange(piece))
}

// ---------------------------------------------------------------------------------------------
// Standard MIDI File reader (for tests)
// ---------------------------------------------------------------------------------------------

/// One event of a parsed track, at an absolute tick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmfEvent {
    /// A channel message: status byte (with channel) and its one or two data bytes.
    Channel {
        /// Absolute tick.
        tick: u32,
        /// Status byte, e.g. `0x90 | channel`.
        status: u8,
        /// Data bytes.
        data: Vec<u8>,
    },
    /// A meta event (`FF kind len data`).
    Meta {
        /// Absolute tick.
        tick: u32,
        /// Meta type, e.g. `0x51` tempo.
        kind: u8,
        /// Payload.
        data: Vec<u8>,
    },
    /// A SysEx event (`F0`/`F7`).
    SysEx {
        /// Absolute tick.
        tick: u32,
        /// Payload.
        data: Vec<u8>,
    },
}

/// A parsed Standard MIDI File.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Smf {
    /// 0, 1 or 2.
    pub format: u16,
    /// Ticks per quarter note (SMPTE division is rejected).
    pub ppq: u16,
    /// Events of every track, in file order.
    pub tracks: Vec<Vec<SmfEvent>>,
}

/// A note paired from a parsed file's note-on/off events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SmfNote {
    /// Track index.
    pub track: usize,
    /// 0-based channel.
    pub channel: u8,
    /// MIDI key.
    pub key: u8,
    /// Note-on velocity.
    pub velocity: u8,
    /// Note-on tick.
    pub start: u32,
    /// Note-off tick.
    pub end: u32,
}

impl Smf {
    /// The first tempo event's microseconds per quarter note.
    pub fn tempo_micros(&self) -> Option<u32> {
        self.metas(0x51).next().map(|(_, d)| u32::from_be_bytes([0, d[0], d[1], d[2]]))
    }

    /// All meta events of type `kind` as `(tick, payload)`.
    pub fn metas(&self, kind: u8) -> impl Iterator<Item = (u32, &[u8])> + '_ {
        self.tracks.iter().flatten().filter_map(move |e| match e {
            SmfEvent::Meta { tick, kind: k, data } if *k == kind => Some((*tick, data.as_slice())),
            _ => None,
        })
    }

    /// All notes, note-offs matched first-in first-out per (track, channel, key); sorted by
    /// start tick.
    pub fn notes(&self) -> Result<Vec<SmfNote>, String> {
        use std::collections::HashMap;
        let mut notes = Vec::new();
        for (ti, track) in self.tracks.iter().enumerate() {
            let mut open: HashMap<(u8, u8), Vec<(u32, u8)>> = HashMap::new();
            for e in track {
                if let SmfEvent::Channel { tick, status, data } = e {
                    let ch = status & 0x0f;
                    match status & 0xf0 {
                        0x90 if data[1] > 0 => open.entry((ch, data[0])).or_default().push((*tick, data[1])),
                        0x80 | 0x90 => {
                            let q = open.get_mut(&(ch, data[0])).filter(|q| !q.is_empty()).ok_or_else(|| {
                                format!("track {ti}: note-off for key {} at tick {tick} without note-on", data[0])
                            })?;
                            let (start, velocity) = q.remove(0);
                            notes.push(SmfNote { track: ti, channel: ch, key: data[0], velocity, start, end: *tick });
                        }
                        _ => {}
                    }
                }
            }
            if let Some(((ch, k), _)) = open.iter().find(|(_, q)| !q.is_empty()) {
                return Err(format!("track {ti}: channel {ch} key {k} never released"));
            }
        }
        notes.sort_by_key(|n| (n.start, n.track, n.key));
        Ok(notes)
    }
}

fn read_vlq(bytes: &[u8], pos: &mut usize) -> Result<u32, String> {
    let mut v: u32 = 0;
    for _ in 0..4 {
        let b = *bytes.get(*pos).ok_or("truncated variable-length quantity")?;
        *pos += 1;
        v = (v << 7) | (b & 0x7f) as u32;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err("variable-length quantity longer than 4 bytes".into())
}

/// Parses a Standard MIDI File strictly: the header must be 6 bytes, every chunk length must
/// match its content, every track must end with exactly one End-of-Track meta event and
/// nothing may follow the last chunk.
pub fn parse_smf(bytes: &[u8]) -> Result<Smf, String> {
    let chunk = |pos: usize| -> Result<(&[u8], &[u8]), String> {
        let head = bytes.get(pos..pos + 8).ok_or(format!("truncated chunk header at byte {pos}"))?;
        let len = u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let body = bytes
            .get(pos + 8..pos + 8 + len)
            .ok_or(format!("chunk at byte {pos} claims {len} bytes but the file ends first"))?;
        Ok((&head[..4], body))
    };
    let (id, hdr) = chunk(0)?;
    if id != b"MThd" || hdr.len() != 6 {
        return Err("missing 6-byte MThd header".into());
    }
    let format = u16::from_be_bytes([hdr[0], hdr[1]]);
    let ntracks = u16::from_be_bytes([hdr[2], hdr[3]]) as usize;
    let division = u16::from_be_bytes([hdr[4], hdr[5]]);
    if division & 0x8000 != 0 {
        return Err("SMPTE time division is not supported".into());
    }
    let mut pos = 14;
    let mut tracks = Vec::new();
    for ti in 0..ntracks {
        let (id, body) = chunk(pos)?;
        if id != b"MTrk" {
            return Err(format!("chunk {ti} is not MTrk"));
        }
        pos += 8 + body.len();
        let mut events = Vec::new();
        let (mut p, mut tick, mut running, mut ended) = (0usize, 0u32, None::<u8>, false);
        while p < body.len() {
            if ended {
                return Err(format!("track {ti}: events after End of Track"));
            }
            tick += read_vlq(body, &mut p)?;
            let first = *body.get(p).ok_or("truncated event")?;
            match first {
                0xff => {
                    let kind = *body.get(p + 1).ok_or("truncated meta event")?;
                    p += 2;
                    let len = read_vlq(body, &mut p)? as usize;
                    let data = body.get(p..p + len).ok_or("truncated meta payload")?.to_vec();
                    p += len;
                    running = None;
                    ended = kind == 0x2f;
                    events.push(SmfEvent::Meta { tick, kind, data });
                }
                0xf0 | 0xf7 => {
                    p += 1;
                    let len = read_vlq(body, &mut p)? as usize;
                    let data = body.get(p..p + len).ok_or("truncated sysex")?.to_vec();
                    p += len;
                    running = None;
                    events.push(SmfEvent::SysEx { tick, data });
                }
                _ => {
                    let status = if first & 0x80 != 0 {
                        p += 1;
                        running = Some(first);
                        first
                    } else {
                        running.ok_or(format!("track {ti}: data byte without running status"))?
                    };
                    let n = if matches!(status & 0xf0, 0xc0 | 0xd0) { 1 } else { 2 };
                    let data = body.get(p..p + n).ok_or("truncated channel message")?.to_vec();
                    if data.iter().any(|&d| d & 0x80 != 0) {
                        return Err(format!("track {ti}: data byte ≥ 0x80"));
                    }
                    p += n;
                    events.push(SmfEvent::Channel { tick, status, data });
                }
            }
        }
        if !ended {
            return Err(format!("track {ti} has no End of Track event"));
        }
        tracks.push(events);
    }
    if pos != bytes.len() {
        return Err(format!("{} trailing bytes after the last track", bytes.len() - pos));
    }
    Ok(Smf { format, ppq: division, tracks })
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

/// The soundfont to render with: `$AUDIOCOLLAB_SOUNDFONT` if set, else [`DEFAULT_SOUNDFONT`].
pub fn soundfont_path() -> PathBuf {
    std::env::var_os(SOUNDFONT_ENV).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(DEFAULT_SOUNDFONT))
}

/// The arguments [`render_with_fluidsynth`] passes to `fluidsynth`:
///
/// `-n -i -q` (no MIDI driver, no shell, quiet), `-C 0` (chorus off), `-R 1` (reverb on — it is
/// deterministic), `-g` [`FLUIDSYNTH_GAIN`], `-r <rate>`, `-o synth.cpu-cores=1`,
/// `-T wav -O float` (32-bit float WAV: no clipping inside fluidsynth), `-F <wav>`, then the
/// soundfont and the MIDI file.
pub fn fluidsynth_args(midi: &Path, wav_out: &Path, sample_rate: u32, soundfont: &Path) -> Vec<String> {
    let mut args: Vec<String> = [
        "-n",
        "-i",
        "-q",
        "-C",
        "0",
        "-R",
        "1",
        "-g",
        &FLUIDSYNTH_GAIN.to_string(),
        "-r",
        &sample_rate.to_string(),
        "-o",
        "synth.cpu-cores=1",
        "-T",
        "wav",
        "-O",
        "float",
        "-F",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(wav_out.display().to_string());
    args.push(soundfont.display().to_string());
    args.push(midi.display().to_string());
    args
}

/// Renders the MIDI file `midi` to a stereo 32-bit float WAV at `sample_rate` with the
/// `fluidsynth` binary and the GM soundfont ([`soundfont_path`]); see [`fluidsynth_args`] for
/// the exact command. The samples are identical from run to run (the header's PEAK chunk
/// carries a timestamp); the file runs past [`Piece::duration_seconds`] until every voice has
/// died away.
///
/// Errors name the Debian packages to install when `fluidsynth` or the soundfont is missing,
/// and carry fluidsynth's output when it fails.
pub fn render_with_fluidsynth(midi: &Path, wav_out: &Path, sample_rate: u32) -> Result<(), String> {
    render_with_soundfont(midi, wav_out, sample_rate, &soundfont_path())
}

/// [`render_with_fluidsynth`] with the soundfont `sf` (a `.sf2`, or a Vorbis-compressed `.sf3`
/// such as MuseScore_General: for those fluidsynth is told to load only the samples the song's
/// presets use, which gives the same samples in a quarter of the time: decoding all of
/// MuseScore_General takes ~12 s per render).
pub fn render_with_soundfont(midi: &Path, wav_out: &Path, sample_rate: u32, sf: &Path) -> Result<(), String> {
    if !sf.is_file() {
        return Err(format!(
            "soundfont {} not found: install the Debian package `fluid-soundfont-gm` \
             (apt-get install fluidsynth fluid-soundfont-gm; the held-out key set also needs \
             timgm6mb-soundfont and musescore-general-soundfont) or point ${SOUNDFONT_ENV} at a GM .sf2",
            sf.display()
        ));
    }
    if !midi.is_file() {
        return Err(format!("MIDI file {} not found", midi.display()));
    }
    let _ = std::fs::remove_file(wav_out);
    let mut args = fluidsynth_args(midi, wav_out, sample_rate, sf);
    if sf.extension().is_some_and(|e| e.eq_ignore_ascii_case("sf3")) {
        args.splice(0..0, ["-o".to_string(), "synth.dynamic-sample-loading=1".to_string()]);
    }
    let output = Command::new("fluidsynth").args(args).output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            "`fluidsynth` not found on PATH: install the Debian packages `fluidsynth` and \
                 `fluid-soundfont-gm` (apt-get install fluidsynth fluid-soundfont-gm)"
                .to_string()
        } else {
            format!("could not run fluidsynth: {e}")
        }
    })?;
    let log = || format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if !output.status.success() {
        return Err(format!("fluidsynth failed ({}): {}", output.status, log()));
    }
    match std::fs::metadata(wav_out) {
        Ok(m) if m.len() > 44 => Ok(()),
        _ => Err(format!("fluidsynth wrote no audio to {}: {}", wav_out.display(), log())),
    }
}

/// Whether `fluidsynth` and the soundfont are available (for tests that skip without them).
pub fn fluidsynth_available() -> bool {
    soundfont_path().is_file() && Command::new("fluidsynth").arg("--version").output().is_ok_and(|o| o.status.success())
}

// ---------------------------------------------------------------------------------------------
// Song forms and solo parts (section and source-kind tests)
// ---------------------------------------------------------------------------------------------

/// A pop song form in `bars`-bar blocks: intro (low energy, `intro` bars), verse (mid, `verse`
/// bars), chorus (high, `chorus` bars), verse, chorus, outro (low, `intro` bars). The two verses
/// share their chord loop and groove (only the melody's motif is drawn again), and so do the
/// two choruses; every boundary is a change of arrangement energy.
pub fn verse_chorus_form(intro: u32, verse: u32, chorus: u32) -> Vec<Section> {
    let blocks = [
        ("intro", intro, Energy::Low),
        ("verse", verse, Energy::Mid),
        ("chorus", chorus, Energy::High),
        ("verse", verse, Energy::Mid),
        ("chorus", chorus, Energy::High),
        ("outro", intro, Energy::Low),
    ];
    let mut start = 0;
    blocks
        .iter()
        .map(|&(name, bars, energy)| {
            let s = Section::new(name, start, bars, energy);
            start += bars;
            s
        })
        .collect()
}

/// Songs for section detection: [`verse_chorus_form`] at several tempos (84–150 BPM), keys,
/// meters (one in 3/4, one swung) and instrument sets. `seed` varies the material, not the
/// form. Between 31 and 58 seconds each.
pub fn song_suite(seed: u64) -> Vec<Piece> {
    /// Tempo, key, meter, swing and the bars of the intro, verse and chorus.
    struct Form {
        tempo: f64,
        key: Key,
        meter: Meter,
        swing: f64,
        bars: [u32; 3],
    }
    let form = |tempo, tonic, mode, meter, swing, bars| Form { tempo, key: Key::new(tonic, mode), meter, swing, bars };
    let forms = [
        form(84.0, 9, Mode::Minor, Meter::FourFour, 0.0, [2, 4, 4]),
        form(100.0, 0, Mode::Major, Meter::FourFour, 0.62, [2, 4, 4]),
        form(128.0, 7, Mode::Major, Meter::FourFour, 0.0, [2, 4, 4]),
        form(112.0, 2, Mode::Minor, Meter::ThreeFour, 0.0, [2, 4, 4]),
        form(150.0, 5, Mode::Major, Meter::FourFour, 0.0, [2, 8, 4]),
    ];
    forms
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let sections = verse_chorus_form(f.bars[0], f.bars[1], f.bars[2]);
            let bars = sections.last().map_or(0, Section::end_bar);
            let mut piece = Piece::new(f.tempo, f.key, f.meter, bars, seed.wrapping_mul(7919).wrapping_add(i as u64));
            piece.sections = sections;
            piece.with_swing(f.swing)
        })
        .collect()
}

/// [`compose`] with only the notes of `parts`: the other tracks are still written (name,
/// program, controllers) but play nothing. For solo renders of one instrument.
pub fn compose_parts(piece: &Piece, parts: &[Part]) -> Vec<u8> {
    let mut composition = arrange(piece);
    composition.notes.retain(|n| parts.contains(&n.part));
    write_smf(piece, &composition)
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces() -> Vec<Piece> {
        let mut v = test_suite(7);
        v.push(Piece::new(100.0, Key::new(9, Mode::Minor), Meter::FourFour, 10, 1));
        v.push(Piece::new(90.0, Key::new(2, Mode::Major), Meter::ThreeFour, 5, 2).with_swing(0.66));
        v.push(Piece::new(140.0, Key::new(7, Mode::Major), Meter::FourFour, 1, 3));
        v
    }

    #[test]
    fn same_seed_gives_identical_bytes_and_other_seeds_differ() {
        for p in pieces() {
            assert_eq!(compose(&p), compose(&p.clone()), "{}", p.key);
        }
        let a = Piece::new(120.0, Key::new(0, Mode::Major), Meter::FourFour, 8, 1);
        let mut b = a.clone();
        b.seed = 2;
        b.instruments = a.instruments;
        assert_ne!(compose(&a), compose(&b));
    }

    #[test]
    fn smf_structure_is_valid() {
        for p in pieces() {
            let bytes = compose(&p);
            assert_eq!(&bytes[..4], b"MThd");
            assert_eq!(u32::from_be_bytes(bytes[4..8].try_into().unwrap()), 6);
            // Walk the chunks by their declared lengths: they must end exactly at EOF and every
            // track must end with FF 2F 00.
            let mut pos = 14;
            let mut n = 0;
            while pos < bytes.len() {
                assert_eq!(&bytes[pos..pos + 4], b"MTrk");
                let len = u32::from_be_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
                let end = pos + 8 + len;
                assert!(end <= bytes.len());
                assert_eq!(&bytes[end - 3..end], &[0xff, 0x2f, 0x00]);
                pos = end;
                n += 1;
            }
            assert_eq!(pos, bytes.len());
            let smf = parse_smf(&bytes).unwrap();
            assert_eq!((smf.format, smf.ppq, smf.tracks.len()), (1, PPQ, 5));
            assert_eq!(n, 5);
            // Every track ends at the piece's end.
            let end_tick = p.bars * p.ticks_per_bar();
            for t in &smf.tracks {
                assert_eq!(t.last(), Some(&SmfEvent::Meta { tick: end_tick, kind: 0x2f, data: vec![] }));
            }
            // Time and key signature, markers.
            let ts: Vec<_> = smf.metas(0x58).collect();
            assert_eq!(ts, vec![(0, &[p.beats_per_bar() as u8, 2, 24, 8][..])]);
            let ks: Vec<_> = smf.metas(0x59).collect();
            assert_eq!(ks.len(), 1);
            assert_eq!(ks[0].1[0] as i8, p.key.signature());
            assert_eq!(ks[0].1[1], u8::from(p.key.mode == Mode::Minor));
            let markers: Vec<_> = smf.metas(0x06).map(|(t, d)| (t, String::from_utf8_lossy(d).into_owned())).collect();
            let want: Vec<_> = p.sections.iter().map(|s| (s.start_bar * p.ticks_per_bar(), s.name.clone())).collect();
            assert_eq!(markers, want);
            // The notes read back are the notes arranged.
            let comp = arrange(&p);
            let read = smf.notes().unwrap();
            assert_eq!(read.len(), comp.notes.len());
            let mut a: Vec<_> =
                comp.notes.iter().map(|n| (n.part.channel(), n.key, n.velocity, n.start, n.end)).collect();
            let mut b: Vec<_> = read.iter().map(|n| (n.channel, n.key, n.velocity, n.start, n.end)).collect();
            a.sort_unstable();
            b.sort_unstable();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn vlq_round_trips() {
        for v in [0u32, 1, 0x7f, 0x80, 0x3fff, 0x4000, 0x1f_ffff, 0x20_0000, 0x0fff_ffff] {
            let mut out = Vec::new();
            write_vlq(v, &mut out);
            let mut pos = 0;
            assert_eq!(read_vlq(&out, &mut pos).unwrap(), v);
            assert_eq!(pos, out.len());
        }
        let mut out = Vec::new();
        write_vlq(0x80, &mut out);
        assert_eq!(out, [0x81, 0x00]);
    }

    #[test]
    fn tempo_meta_encodes_the_requested_bpm() {
        for bpm in [60.0, 72.5, 100.0, 120.0, 133.0, 180.0] {
            let p = Piece::new(bpm, Key::new(4, Mode::Minor), Meter::FourFour, 4, 9);
            let smf = parse_smf(&compose(&p)).unwrap();
            let tempos: Vec<_> = smf.metas(0x51).collect();
            assert_eq!(tempos.len(), 1, "exactly one tempo event");
            assert_eq!(tempos[0].0, 0);
            let us = smf.tempo_micros().unwrap();
            assert_eq!(us, (60e6 / bpm).round() as u32);
            assert!((60e6 / us as f64 - bpm).abs() < 0.001, "{bpm} → {us} µs");
        }
        // 100 BPM = 600 000 µs = 0x09 0x27 0xC0.
        let p = Piece::new(100.0, Key::new(9, Mode::Minor), Meter::FourFour, 2, 0);
        let bytes = compose(&p);
        assert!(bytes.windows(6).any(|w| w == [0xff, 0x51, 0x03, 0x09, 0x27, 0xc0]));
    }

    #[test]
    fn pitched_notes_stay_in_key_and_on_the_chords() {
        for p in pieces() {
            let comp = arrange(&p);
            let pcs = p.key.pitch_classes();
            let tpb = p.ticks_per_bar();
            assert_eq!(comp.chords.len() as u32, p.bars);
            for c in &comp.chords {
                assert!(c.pitch_classes.iter().all(|pc| pcs.contains(pc)), "{} {}", p.key, c.name);
                assert!(!c.name.contains('?') && !c.name.ends_with("dim"), "{} uses {}", p.key, c.name);
            }
            // Ends IV → V → I.
            assert_eq!(comp.chords.last().unwrap().degree, 0);
            if p.bars >= 3 {
                assert_eq!(comp.chords[p.bars as usize - 3].degree, 3);
            }
            if p.bars >= 2 {
                assert_eq!(comp.chords[p.bars as usize - 2].degree, 4);
            }
            for n in comp.notes.iter().filter(|n| n.part != Part::Drums) {
                let pc = n.key % 12;
                let chord = &comp.chords[(n.start / tpb) as usize];
                assert!(pcs.contains(&pc), "{}: {:?} not in key", p.key, n);
                match n.part {
                    Part::Bass | Part::Chords => {
                        assert!(chord.contains(pc), "{}: {:?} not in {}", p.key, n, chord.name)
                    }
                    Part::Melody => {
                        assert!(scale_for_chord(&p.key, chord).contains(&pc), "{}: {:?} over {}", p.key, n, chord.name);
                        let in_bar = n.start % tpb;
                        let strong = in_bar == 0 || (p.beats_per_bar() == 4 && in_bar == 2 * TPQ);
                        if strong {
                            assert!(chord.contains(pc), "{}: strong-beat {:?} not a tone of {}", p.key, n, chord.name);
                        }
                    }
                    Part::Drums => unreachable!(),
                }
            }
            // The melody ends on the tonic.
            if let Some(last) = comp.part(Part::Melody).last() {
                assert_eq!(last.key % 12, p.key.tonic);
            }
        }
    }

    #[test]
    fn note_counts_per_bar_are_sensible() {
        for p in pieces() {
            let comp = arrange(&p);
            let tpb = p.ticks_per_bar();
            let bpb = p.beats_per_bar() as usize;
            for bar in 0..p.bars {
                let energy = p.section_at_bar(bar).energy;
                let count = |part: Part| comp.part(part).filter(|n| n.start / tpb == bar).count();
                let (d, b, c, m) = (count(Part::Drums), count(Part::Bass), count(Part::Chords), count(Part::Melody));
                let ctx =
                    format!("{} {} bar {bar} ({energy:?}): drums {d} bass {b} chords {c} melody {m}", p.key, p.meter);
                assert!(b >= 1 && b <= 2 * bpb, "{ctx}");
                assert!(c >= 3 && c <= 4 * 2 * bpb, "{ctx}");
                assert!(d <= 8 * bpb, "{ctx}");
                assert!(m <= 2 * bpb, "{ctx}");
                if bar + 1 < p.bars {
                    match energy {
                        Energy::Low => assert!(d >= bpb - 1 && m == 0, "{ctx}"),
                        Energy::Mid => assert!(d >= 2 * bpb && m >= 1, "{ctx}"),
                        Energy::High => assert!(d >= 3 * bpb && m >= 2, "{ctx}"),
                    }
                }
            }
            // Nothing runs past the end, and no (part, key) overlaps itself.
            let mut by_key: Vec<&Note> = comp.notes.iter().collect();
            by_key.sort_by_key(|n| (n.part, n.key, n.start));
            for w in by_key.windows(2) {
                if w[0].part == w[1].part && w[0].key == w[1].key {
                    assert!(w[0].end <= w[1].start, "{} overlap {:?} {:?}", p.key, w[0], w[1]);
                }
            }
            assert!(comp.notes.iter().all(|n| n.start < n.end && n.end <= comp.end_tick));
        }
    }

    #[test]
    fn sections_differ_in_energy() {
        let p = Piece::new(110.0, Key::new(4, Mode::Minor), Meter::FourFour, 10, 5);
        let comp = arrange(&p);
        let tpb = p.ticks_per_bar();
        let stats = |s: &Section| {
            let notes: Vec<&Note> =
                comp.notes.iter().filter(|n| (s.start_bar..s.end_bar() - 1).contains(&(n.start / tpb))).collect();
            let vel = notes.iter().map(|n| n.velocity as f64).sum::<f64>() / notes.len() as f64;
            let kicks = notes.iter().filter(|n| n.part == Part::Drums && n.key == KICK).count();
            let mel: Vec<_> = notes.iter().filter(|n| n.part == Part::Melody).map(|n| n.key as f64).collect();
            let mel_mean = if mel.is_empty() { 0.0 } else { mel.iter().sum::<f64>() / mel.len() as f64 };
            (notes.len() as f64 / (s.bars - 1) as f64, vel, kicks, mel_mean)
        };
        let [intro, verse, chorus] = [&p.sections[0], &p.sections[1], &p.sections[2]].map(stats);
        assert_eq!(intro.2, 0, "no kick in the intro");
        assert!(verse.2 > 0);
        assert!(intro.0 < verse.0 && verse.0 < chorus.0, "density {intro:?} {verse:?} {chorus:?}");
        assert!(intro.1 < verse.1 && verse.1 < chorus.1, "velocity {intro:?} {verse:?} {chorus:?}");
        assert!(chorus.3 > verse.3 + 3.0, "chorus melody higher: {verse:?} {chorus:?}");
    }

    #[test]
    fn swing_moves_offbeat_eighths() {
        let straight = Piece::new(100.0, Key::new(0, Mode::Major), Meter::FourFour, 4, 4);
        let swung = straight.clone().with_swing(0.6);
        assert_eq!(straight.swing_tick(240), 240);
        assert_eq!(swung.swing_tick(240), 288);
        assert_eq!(swung.swing_tick(480), 480);
        assert_eq!(swung.swing_tick(480 + 240), 480 + 288);
        // Off-beat hats land at 0.6 of the beat when swung, 0.5 when straight.
        let offbeats = |p: &Piece| -> Vec<u32> {
            arrange(p)
                .part(Part::Drums)
                .filter(|n| n.key == CLOSED_HAT && n.start % TPQ != 0)
                .map(|n| n.start % TPQ)
                .collect()
        };
        let s = offbeats(&straight);
        assert!(!s.is_empty() && s.iter().all(|&t| t == 240 || t % 120 == 0), "{s:?}");
        let w = offbeats(&swung);
        assert!(!w.is_empty() && w.iter().all(|&t| t == 288), "{w:?}");
    }

    #[test]
    fn validation_rejects_bad_pieces() {
        let ok = Piece::new(100.0, Key::new(0, Mode::Major), Meter::FourFour, 8, 0);
        assert!(ok.validate().is_ok());
        let mut gap = ok.clone();
        gap.sections[1].start_bar += 1;
        assert!(gap.validate().is_err());
        let mut short = ok.clone();
        short.bars = 9;
        assert!(short.validate().is_err());
        assert!(ok.clone().with_swing(0.3).validate().is_err());
        let mut slow = ok;
        slow.tempo_bpm = 5.0;
        assert!(slow.validate().is_err());
    }

    #[test]
    fn suite_covers_all_keys_tempos_meters_and_swing() {
        let suite = test_suite(0);
        assert_eq!(suite.len(), 24);
        let mut keys: Vec<_> = suite.iter().map(|p| (p.key.tonic, p.key.mode == Mode::Minor)).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 24);
        let mut tempos: Vec<u32> = suite.iter().map(|p| p.tempo_bpm as u32).collect();
        tempos.sort_unstable();
        tempos.dedup();
        assert_eq!(tempos.len(), 24);
        assert_eq!((tempos[0], tempos[23]), (60, 180));
        assert!(suite.iter().filter(|p| p.meter == Meter::ThreeFour).count() >= 4);
        assert!(suite.iter().filter(|p| p.is_swung()).count() >= 4);
        assert!(suite.iter().all(|p| p.validate().is_ok()));
        let names: Vec<String> = suite.iter().map(|p| p.key.name()).collect();
        assert!(names.contains(&"Eb minor".to_string()) && names.contains(&"F# major".to_string()));
        assert!(names.contains(&"Db major".to_string()) && names.contains(&"C# minor".to_string()));
    }

    #[test]
    fn key_helpers() {
        let am = Key::new(9, Mode::Minor);
        assert_eq!(am.name(), "A minor");
        assert_eq!(am.signature(), 0);
        assert_eq!(am.pitch_classes(), vec![0, 2, 4, 5, 7, 8, 9, 11]);
        let v = diatonic_chord(&am, 4, 0);
        assert_eq!((v.name.as_str(), v.pitch_classes), ("E", [4, 8, 11]));
        assert_eq!(diatonic_chord(&am, 5, 0).name, "F");
        assert_eq!(diatonic_chord(&Key::new(10, Mode::Major), 5, 0).name, "Gm");
        assert_eq!(Key::new(3, Mode::Major).signature(), -3);
        assert_eq!(Key::new(6, Mode::Major).name(), "F# major");
    }

    /// Renders a short piece twice; the samples must be identical, non-silent and unclipped.
    /// Skipped (with a note) when fluidsynth or the soundfont is not installed.
    #[test]
    fn fluidsynth_render_is_deterministic() {
        if !fluidsynth_available() {
            eprintln!("skipping: fluidsynth / {} not available", soundfont_path().display());
            return;
        }
        let dir = std::env::temp_dir().join(format!("audiocollab-music-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = Piece::new(150.0, Key::new(2, Mode::Minor), Meter::FourFour, 4, 11);
        let mid = dir.join("t.mid");
        std::fs::write(&mid, compose(&p)).unwrap();
        let (a, b) = (dir.join("a.wav"), dir.join("b.wav"));
        render_with_fluidsynth(&mid, &a, 44100).unwrap();
        render_with_fluidsynth(&mid, &b, 44100).unwrap();
        let (wa, wb) = (read_f32_wav(&a), read_f32_wav(&b));
        // Compare samples, not bytes: libsndfile's PEAK chunk in the header carries a timestamp.
        assert!(
            wa.len() == wb.len() && wa.iter().zip(&wb).all(|(x, y)| x.to_bits() == y.to_bits()),
            "two renders differ"
        );
        // The render runs until every voice has died away, so it is longer than the piece.
        let secs = wa.len() as f64 / 2.0 / 44100.0;
        assert!(
            secs >= p.duration_seconds() && secs < p.duration_seconds() + 20.0,
            "{secs} s vs {} s",
            p.duration_seconds()
        );
        let peak = wa.iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!(peak > 0.05 && peak < 1.0, "peak {peak}");
        // Loud during the piece, silent long after it.
        let rms = |from: f64, to: f64| {
            let seg = &wa[2 * (from * 44100.0) as usize..(2 * (to * 44100.0) as usize).min(wa.len())];
            (seg.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / seg.len().max(1) as f64).sqrt()
        };
        assert!(rms(1.0, p.duration_seconds() - 1.0) > 0.01);
        assert!(rms(secs - 0.5, secs) < 1e-4);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The interleaved samples of a 32-bit float WAV (as fluidsynth writes it).
    fn read_f32_wav(path: &Path) -> Vec<f32> {
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(&bytes[..4], b"RIFF");
        let mut pos = 12;
        while pos + 8 <= bytes.len() {
            let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
            if &bytes[pos..pos + 4] == b"fmt " {
                let format = u16::from_le_bytes([bytes[pos + 8], bytes[pos + 9]]);
                let bits = u16::from_le_bytes([bytes[pos + 22], bytes[pos + 23]]);
                assert!(format == 3 || format == 0xfffe, "not float: {format}");
                assert_eq!(bits, 32);
            }
            if &bytes[pos..pos + 4] == b"data" {
                return bytes[pos + 8..pos + 8 + len]
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                    .collect();
            }
            pos += 8 + len + (len & 1);
        }
        panic!("no data chunk in {}", path.display());
    }

    #[test]
    fn missing_midi_is_a_clear_error() {
        let e = render_with_fluidsynth(Path::new("/nonexistent.mid"), Path::new("/tmp/x.wav"), 44100);
        assert!(e.is_err());
    }
}
