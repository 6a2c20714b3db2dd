//! Sections, character (energy / brightness) and source kind on material the tests compose and
//! render themselves: seeded MIDI through fluidsynth and the GM soundfont, speech through
//! espeak-ng, and the bundled demo song.
//!
//! Renders are cached in `target/tmp/structure/`, named after a hash of what they were made
//! from (the MIDI bytes or the espeak-ng arguments): a render is deterministic, and a changed
//! composition gets a new file.
//!
//! * Sections: the five songs of `music::song_suite` (intro, verse, chorus, verse, chorus,
//!   outro; 84–150 BPM, one in 3/4, one swung) and `assets/demo.flac`. A boundary is found when
//!   a detected one lies within ±[`BOUNDARY_TOLERANCE_S`] of the bar line (one detected boundary
//!   per true one). Recall and precision over all songs are printed and asserted, and so are the
//!   labels (both verses share one, both choruses another) and the roles.
//! * Character: a slow, soft solo piano against fast drums with a distorted guitar, and the
//!   same rock clip low-passed at 800 Hz.
//! * Source kind: 24 clips (drums, basses, guitars, keys, full mixes, four espeak-ng voices).
//!   `STRUCTURE_SEED` changes the seed and `STRUCTURE_VALIDATION=1` adds 18 clips of other GM
//!   programs and voices than the rules were tuned on (held-out checks, not part of CI; seed 1:
//!   39/42 right, the jazz and the muted guitar read as keys, a drum-light mix as a guitar). On the
//!   same clips the onset rate is checked against the MIDI's distinct note onsets.

use audiocollab_core::analysis::character::{self, SourceKind};
use audiocollab_core::analysis::sections::{self, SectionRole};
use audiocollab_core::analysis::spectral::Features;
use audiocollab_core::analysis::timeline::Timeline;
use audiocollab_core::offline::{read_audio, AudioBuffer};
use integration::music::{
    self, compose_parts, render_with_fluidsynth, Energy, Instruments, Key, Meter, Mode, Part, Piece, Section,
};
use integration::voice::{espeak_available, Utterance};
use std::path::{Path, PathBuf};
use std::time::Instant;

const SAMPLE_RATE: u32 = 44_100;
/// How far a detected boundary may lie from the true bar line, seconds.
const BOUNDARY_TOLERANCE_S: f64 = 1.0;
/// Issue 3's goal for sections: at least 90 % of the true boundaries found…
const BOUNDARY_RECALL_GOAL: f64 = 0.9;
/// … with few false ones.
const BOUNDARY_PRECISION_GOAL: f64 = 0.85;
/// Issue 3's goal for the source kind.
const SOURCE_ACCURACY_GOAL: f64 = 0.8;

fn seed() -> u64 {
    std::env::var("STRUCTURE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(1)
}

fn require_tools() {
    assert!(
        music::fluidsynth_available(),
        "fluidsynth and the GM soundfont are required: apt-get install fluidsynth fluid-soundfont-gm"
    );
    assert!(espeak_available(), "espeak-ng is required: apt-get install espeak-ng");
}

fn cache_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("structure");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// FNV-1a, 64 bits: names a cached render after what it was made from.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Renders (or reuses) a MIDI file, trimmed to `seconds`.
fn render_midi(midi: &[u8], seconds: f64) -> Result<AudioBuffer, String> {
    let dir = cache_dir();
    let stem = format!("{:016x}", fnv1a(midi));
    let wav = dir.join(format!("{stem}.wav"));
    if !wav.is_file() {
        let mid = dir.join(format!("{stem}.mid"));
        std::fs::write(&mid, midi).map_err(|e| e.to_string())?;
        let tmp = dir.join(format!("{stem}.partial.wav"));
        render_with_fluidsynth(&mid, &tmp, SAMPLE_RATE)?;
        std::fs::rename(&tmp, &wav).map_err(|e| e.to_string())?;
    }
    let mut audio = read_audio(&wav).map_err(|e| e.to_string())?;
    let frames = (seconds * f64::from(audio.sample_rate)).round() as usize;
    for ch in &mut audio.channels {
        ch.truncate(frames);
    }
    Ok(audio)
}

/// Speaks (or reuses) an utterance: mono, 22.05 kHz.
fn render_speech(u: &Utterance) -> Result<AudioBuffer, String> {
    let dir = cache_dir();
    let stem = format!("speech_{:016x}", fnv1a(u.args(Path::new("")).join("\u{1f}").as_bytes()));
    let wav = dir.join(format!("{stem}.wav"));
    if !wav.is_file() {
        let tmp = dir.join(format!("{stem}.partial.wav"));
        u.speak(&tmp)?;
        std::fs::rename(&tmp, &wav).map_err(|e| e.to_string())?;
    }
    read_audio(&wav).map_err(|e| e.to_string())
}

/// The timeline and spectral features of a whole buffer, as `track::analyze` builds them.
fn measure(audio: &AudioBuffer) -> (Timeline, Features) {
    let views: Vec<&[f32]> = audio.channels.iter().map(Vec::as_slice).collect();
    let timeline = Timeline::of_audio(audio.sample_rate, &views, |_| {}).unwrap();
    let features = Features::from_channels(&audio.channels, audio.sample_rate).unwrap();
    (timeline, features)
}

/// Runs `f` on every item on two threads (fluidsynth renders one file per process), in order.
fn in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    std::thread::scope(|s| {
        let f = &f;
        let halves: Vec<_> = (0..2)
            .map(|t| {
                s.spawn(move || {
                    items.iter().enumerate().filter(|(i, _)| i % 2 == t).map(|(i, x)| (i, f(x))).collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<(usize, R)> = halves.into_iter().flat_map(|h| h.join().unwrap()).collect();
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, r)| r).collect()
    })
}

// ---------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------

struct Song {
    name: String,
    audio: AudioBuffer,
    /// True boundaries, seconds.
    boundaries: Vec<f64>,
    /// Section names in order (`intro`, `verse`, …).
    names: Vec<String>,
}

/// Pairs every true boundary with the nearest unused detected one within the tolerance.
fn match_boundaries(truth: &[f64], found: &[f64]) -> Vec<Option<usize>> {
    let mut used = vec![false; found.len()];
    truth
        .iter()
        .map(|&t| {
            let best = (0..found.len())
                .filter(|&j| !used[j] && (found[j] - t).abs() <= BOUNDARY_TOLERANCE_S)
                .min_by(|&a, &b| (found[a] - t).abs().total_cmp(&(found[b] - t).abs()))?;
            used[best] = true;
            Some(best)
        })
        .collect()
}

fn role_name(role: Option<SectionRole>) -> &'static str {
    match role {
        Some(SectionRole::Intro) => "intro",
        Some(SectionRole::Verse) => "verse",
        Some(SectionRole::Chorus) => "chorus",
        Some(SectionRole::Bridge) => "bridge",
        Some(SectionRole::Outro) => "outro",
        None => "-",
    }
}

#[test]
fn sections_of_composed_songs_and_the_demo() {
    require_tools();
    let start = Instant::now();
    let pieces = music::song_suite(seed());
    let rendered: Vec<AudioBuffer> = in_parallel(&pieces, |p| {
        render_midi(&music::compose(p), p.duration_seconds()).unwrap_or_else(|e| panic!("{e}"))
    });
    let mut songs: Vec<Song> = pieces
        .iter()
        .zip(rendered)
        .enumerate()
        .map(|(i, (p, audio))| Song {
            name: format!("song {i}: {} BPM {}{}", p.tempo_bpm, p.meter, if p.is_swung() { " swung" } else { "" }),
            audio,
            boundaries: p.sections.iter().skip(1).map(|s| p.bar_start_seconds(s.start_bar)).collect(),
            names: p.sections.iter().map(|s| s.name.clone()).collect(),
        })
        .collect();
    // assets/demo.json: intro 0–3.529 s, verse –10.588 s, chorus –17.647 s, then 0.75 s of tail.
    let demo = read_audio(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo.flac")).unwrap();
    songs.push(Song {
        name: "assets/demo.flac: 136 BPM 4/4".into(),
        audio: demo,
        boundaries: vec![3.529408, 10.588224],
        names: vec!["intro".into(), "verse".into(), "chorus".into()],
    });
    let rendered_s = start.elapsed().as_secs_f64();
    let measured = in_parallel(&songs, |song| measure(&song.audio));

    let (mut hits, mut truths, mut found_total) = (0usize, 0usize, 0usize);
    let (mut errors, mut roles_right, mut roles_total) = (Vec::new(), 0usize, 0usize);
    for (song, (timeline, features)) in songs.iter().zip(&measured) {
        let found = sections::detect(features, 0.0, timeline);
        let end = character::features_seconds(features);
        // The sections tile the stretch.
        assert!(!found.is_empty(), "{}: no section", song.name);
        assert_eq!(found[0].start_s, 0.0, "{}", song.name);
        assert!((found.last().unwrap().end_s - end).abs() < 1e-9, "{}", song.name);
        assert!(found.windows(2).all(|w| w[0].end_s == w[1].start_s && w[0].start_s < w[0].end_s), "{}", song.name);

        let starts: Vec<f64> = found.iter().skip(1).map(|s| s.start_s).collect();
        let matched = match_boundaries(&song.boundaries, &starts);
        let song_hits = matched.iter().flatten().count();
        println!(
            "{}: {} of {} boundaries found, {} detected",
            song.name,
            song_hits,
            song.boundaries.len(),
            starts.len()
        );
        for s in &found {
            println!(
                "    {:>6.2}–{:>6.2} s  {}  {:<6} ({:.2})  energy {:.2}  {:>6.1} LUFS  novelty {}",
                s.start_s,
                s.end_s,
                s.label,
                role_name(s.role),
                s.role_confidence,
                s.energy.unwrap_or(f32::NAN),
                s.loudness_lufs.unwrap_or(f64::NAN),
                s.boundary_novelty.map_or("-".to_string(), |v| format!("{v:.2}")),
            );
        }
        for (&t, m) in song.boundaries.iter().zip(&matched) {
            match m {
                Some(j) => errors.push(starts[*j] - t),
                None => println!("    MISSED the boundary at {t:.2} s"),
            }
        }
        hits += song_hits;
        truths += song.boundaries.len();
        found_total += starts.len();

        // Each true section is represented by the detected section holding its middle: both
        // verses must share a label, both choruses another, and the roles must match the names.
        let true_spans: Vec<(f64, f64)> = std::iter::once(0.0)
            .chain(song.boundaries.iter().copied())
            .zip(song.boundaries.iter().copied().chain(std::iter::once(end)))
            .collect();
        let at_middle: Vec<&sections::Section> = true_spans
            .iter()
            .map(|&(a, b)| {
                let mid = 0.5 * (a + b);
                found.iter().find(|s| s.start_s <= mid && mid < s.end_s).unwrap_or(found.last().unwrap())
            })
            .collect();
        let label_of = |name: &str| -> Vec<&str> {
            song.names.iter().zip(&at_middle).filter(|(n, _)| *n == name).map(|(_, s)| s.label.as_str()).collect()
        };
        let (verses, choruses) = (label_of("verse"), label_of("chorus"));
        assert!(verses.windows(2).all(|w| w[0] == w[1]), "{}: verses labelled {verses:?}", song.name);
        assert!(choruses.windows(2).all(|w| w[0] == w[1]), "{}: choruses labelled {choruses:?}", song.name);
        assert_ne!(verses[0], choruses[0], "{}: verse and chorus share a label", song.name);
        for (name, s) in song.names.iter().zip(&at_middle) {
            roles_total += 1;
            roles_right += usize::from(role_name(s.role) == name);
        }
    }
    let recall = hits as f64 / truths as f64;
    let precision = hits as f64 / found_total.max(1) as f64;
    let f = 2.0 * precision * recall / (precision + recall).max(1e-9);
    let mean_error = errors.iter().map(|e| e.abs()).sum::<f64>() / errors.len().max(1) as f64;
    let max_error = errors.iter().fold(0.0f64, |m, e| m.max(e.abs()));
    println!(
        "boundaries within ±{BOUNDARY_TOLERANCE_S} s: recall {recall:.3} ({hits}/{truths}), precision {precision:.3} \
         ({hits}/{found_total}), F {f:.3}; |error| mean {mean_error:.2} s, max {max_error:.2} s"
    );
    println!("roles right: {roles_right}/{roles_total}");
    println!("render {rendered_s:.1} s, total {:.1} s", start.elapsed().as_secs_f64());
    assert!(recall >= BOUNDARY_RECALL_GOAL, "recall {recall:.3}");
    assert!(precision >= BOUNDARY_PRECISION_GOAL, "precision {precision:.3}");
    assert!(roles_total > 0 && roles_right as f64 >= 0.9 * roles_total as f64, "roles {roles_right}/{roles_total}");
}

// ---------------------------------------------------------------------------------------------
// Character
// ---------------------------------------------------------------------------------------------

/// About `seconds` (whole bars, at least two) of one section of `energy` in 4/4.
fn one_section_piece(tempo: f64, key: Key, energy: Energy, seconds: f64, seed: u64, instruments: Instruments) -> Piece {
    let mut piece = Piece::new(tempo, key, Meter::FourFour, 1, seed);
    let bars = (seconds / piece.bar_seconds()).ceil().max(2.0) as u32;
    piece.bars = bars;
    piece.sections = vec![Section::new("a", 0, bars, energy)];
    piece.instruments = instruments;
    piece
}

/// Two passes of an RBJ-cookbook second-order low-pass (Butterworth Q): a 24 dB/octave slope.
fn low_pass(audio: &AudioBuffer, cutoff_hz: f64) -> AudioBuffer {
    let w = 2.0 * std::f64::consts::PI * cutoff_hz / f64::from(audio.sample_rate);
    let alpha = w.sin() / (2.0 * std::f64::consts::FRAC_1_SQRT_2);
    let a0 = 1.0 + alpha;
    let b = [(1.0 - w.cos()) / 2.0 / a0, (1.0 - w.cos()) / a0, (1.0 - w.cos()) / 2.0 / a0];
    let a = [-2.0 * w.cos() / a0, (1.0 - alpha) / a0];
    let mut out = audio.clone();
    for ch in &mut out.channels {
        for _ in 0..2 {
            let (mut x1, mut x2, mut y1, mut y2) = (0.0f64, 0.0, 0.0, 0.0);
            for s in ch.iter_mut() {
                let x = f64::from(*s);
                let y = b[0] * x + b[1] * x1 + b[2] * x2 - a[0] * y1 - a[1] * y2;
                (x2, x1, y2, y1) = (x1, x, y1, y);
                *s = y as f32;
            }
        }
    }
    out
}

#[test]
fn character_orders_energy_and_brightness() {
    require_tools();
    let piano = one_section_piece(64.0, Key::new(2, Mode::Major), Energy::Low, 12.0, seed(), Instruments::DEFAULT);
    // Drums, bass and a distorted guitar (GM 31) playing the chords, fast.
    let rock_instruments = Instruments { chords: 30, bass: 33, melody: 30 };
    let rock = one_section_piece(160.0, Key::new(4, Mode::Minor), Energy::High, 12.0, seed() + 1, rock_instruments);
    let piano_audio = render_midi(&compose_parts(&piano, &[Part::Chords]), piano.duration_seconds()).unwrap();
    let rock_audio =
        render_midi(&compose_parts(&rock, &[Part::Drums, Part::Bass, Part::Chords]), rock.duration_seconds()).unwrap();
    let dull_audio = low_pass(&rock_audio, 800.0);
    let describe = |audio: &AudioBuffer| {
        let (timeline, features) = measure(audio);
        character::describe(&features, 0.0, &timeline).unwrap()
    };
    let (calm, loud, dull) = (describe(&piano_audio), describe(&rock_audio), describe(&dull_audio));
    for (name, c) in [("solo piano", &calm), ("drums + distorted guitar", &loud), ("the same, low-passed", &dull)] {
        println!(
            "{name}: energy {:.2}, brightness {:.2}, {:.1} LUFS, {:.2} onsets/s, {:?} BPM, centroid {:.0} Hz, \
             high share {:.3}\n    {}\n    {}",
            c.energy,
            c.brightness,
            c.loudness_lufs.unwrap_or(f64::NAN),
            c.onsets_per_second,
            c.tempo_bpm.map(|b| b.round()),
            c.spectral_centroid_hz,
            c.high_frequency_share,
            c.description_en,
            c.description_fr
        );
    }
    assert!(loud.energy - calm.energy >= 0.4, "energy {} vs {}", loud.energy, calm.energy);
    assert!(loud.onsets_per_second > 3.0 * calm.onsets_per_second);
    assert!(loud.loudness_lufs.unwrap() > calm.loudness_lufs.unwrap() + 6.0);
    assert!(loud.brightness - dull.brightness >= 0.3, "brightness {} vs {}", loud.brightness, dull.brightness);
    assert!(loud.spectral_centroid_hz > 2.0 * dull.spectral_centroid_hz);
    // Low-passing takes the highs, not the pulse: the energy barely moves.
    assert!((loud.energy - dull.energy).abs() < 0.15, "{} vs {}", loud.energy, dull.energy);
    assert!(calm.description_en.starts_with("Calm and ") && calm.description_fr.starts_with("Calme et "));
    assert!(loud.description_en.starts_with("Energetic and bright:"), "{}", loud.description_en);
    assert!(loud.description_fr.starts_with("Énergique et brillant\u{a0}:"), "{}", loud.description_fr);
    assert!(dull.description_en.contains(" and dark:"), "{}", dull.description_en);
    assert!(dull.description_fr.contains(" et sombre\u{a0}:"), "{}", dull.description_fr);
}

// ---------------------------------------------------------------------------------------------
// Source kind (and onsets)
// ---------------------------------------------------------------------------------------------

enum Material {
    Midi { piece: Piece, parts: Vec<Part> },
    Speech(Utterance),
}

struct Clip {
    name: String,
    kind: SourceKind,
    material: Material,
}

/// The source-kind clips of `seed` (about 8 s each). With `validation`, 18 more of other GM
/// programs and voices.
fn clips(seed: u64, validation: bool) -> Vec<Clip> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let mut out = Vec::new();
    let mut midi = |name: &str, kind: SourceKind, parts: &[Part], energy: Energy, inst: Instruments| {
        let tempo = 80.0 + (next() % 70) as f64;
        let key = Key::new((next() % 12) as u8, if next() % 2 == 0 { Mode::Major } else { Mode::Minor });
        let piece = one_section_piece(tempo, key, energy, 8.0, next(), inst);
        out.push(Clip { name: name.to_string(), kind, material: Material::Midi { piece, parts: parts.to_vec() } });
    };
    // GM programs, 0-based: chords, bass, melody.
    let gm = |chords: u8, bass: u8, melody: u8| Instruments { chords, bass, melody };
    use Energy::{High, Low, Mid};
    use SourceKind::*;
    let kit = Instruments::DEFAULT;
    midi("drums (verse groove)", Drums, &[Part::Drums], Mid, kit);
    midi("drums (chorus groove)", Drums, &[Part::Drums], High, kit);
    midi("drums (chorus groove) 2", Drums, &[Part::Drums], High, kit);
    midi("fingered bass", Bass, &[Part::Bass], Mid, gm(0, 33, 0));
    midi("picked bass", Bass, &[Part::Bass], High, gm(0, 34, 0));
    midi("synth bass", Bass, &[Part::Bass], Mid, gm(0, 38, 0));
    midi("acoustic bass", Bass, &[Part::Bass], High, gm(0, 32, 0));
    midi("steel guitar chords", Guitar, &[Part::Chords], Mid, gm(25, 0, 0));
    midi("nylon guitar chords", Guitar, &[Part::Chords], High, gm(24, 0, 0));
    midi("overdriven guitar chords", Guitar, &[Part::Chords], High, gm(29, 0, 0));
    midi("clean electric guitar line", Guitar, &[Part::Melody], Mid, gm(0, 0, 27));
    midi("distortion guitar line", Guitar, &[Part::Melody], High, gm(0, 0, 30));
    midi("piano chords", Keys, &[Part::Chords], Mid, gm(0, 0, 0));
    midi("electric piano chords", Keys, &[Part::Chords], High, gm(4, 0, 0));
    midi("drawbar organ chords", Keys, &[Part::Chords], Mid, gm(16, 0, 0));
    midi("warm pad chords", Keys, &[Part::Chords], Low, gm(89, 0, 0));
    midi("piano line", Keys, &[Part::Melody], Mid, gm(0, 0, 0));
    midi("full mix (verse)", FullMix, &Part::ALL, Mid, Instruments::from_seed(seed));
    midi("full mix (chorus)", FullMix, &Part::ALL, High, Instruments::from_seed(seed + 1));
    midi("full mix (chorus) 2", FullMix, &Part::ALL, High, Instruments::from_seed(seed + 2));
    if validation {
        midi("drums (verse groove) 2", Drums, &[Part::Drums], Mid, kit);
        midi("fretless bass", Bass, &[Part::Bass], Mid, gm(0, 35, 0));
        midi("slap bass", Bass, &[Part::Bass], High, gm(0, 36, 0));
        midi("synth bass 2", Bass, &[Part::Bass], High, gm(0, 39, 0));
        midi("jazz guitar chords", Guitar, &[Part::Chords], Mid, gm(26, 0, 0));
        midi("muted guitar chords", Guitar, &[Part::Chords], High, gm(28, 0, 0));
        midi("nylon guitar line", Guitar, &[Part::Melody], Mid, gm(0, 0, 24));
        midi("steel guitar line", Guitar, &[Part::Melody], High, gm(0, 0, 25));
        midi("overdriven guitar chords (verse)", Guitar, &[Part::Chords], Mid, gm(29, 0, 0));
        midi("bright piano chords", Keys, &[Part::Chords], High, gm(1, 0, 0));
        midi("electric piano 2 chords", Keys, &[Part::Chords], Mid, gm(5, 0, 0));
        midi("church organ chords", Keys, &[Part::Chords], Mid, gm(19, 0, 0));
        midi("new age pad chords", Keys, &[Part::Chords], Mid, gm(88, 0, 0));
        midi("rock organ chords", Keys, &[Part::Chords], High, gm(18, 0, 0));
        midi("full mix (intro)", FullMix, &Part::ALL, Low, Instruments::from_seed(seed + 5));
        midi("full mix (verse) 2", FullMix, &Part::ALL, Mid, Instruments::from_seed(seed + 6));
    }
    let mut speech = vec![
        (
            "en-us",
            150,
            50,
            "Every morning I walk down to the river and watch the boats go by, and I wonder where they go.",
        ),
        (
            "en+f3",
            140,
            60,
            "She said the light was changing over the hills, so we packed the car and drove all night long.",
        ),
        ("fr", 150, 45, "Nous avons marché longtemps sous la pluie, puis le soleil est revenu sur la ville endormie."),
        ("en-gb", 90, 70, "Oh la la, sing along with me, the summer sun is shining on the sea, la la la."),
    ];
    if validation {
        speech.push((
            "de",
            145,
            50,
            "Wir fahren heute Abend mit dem Zug nach Hamburg und besuchen unsere Freunde am Hafen.",
        ));
        speech.push((
            "es",
            155,
            55,
            "Mañana por la mañana vamos a caminar por la playa y cantar canciones bajo el sol.",
        ));
    }
    for (i, (voice, wpm, pitch, text)) in speech.into_iter().enumerate() {
        // The seed nudges the pitch: other seeds, other voices.
        let pitch = pitch + ((seed + i as u64) % 5) as u32;
        out.push(Clip {
            name: format!("voice ({voice}, espeak-ng)"),
            kind: Vocal,
            material: Material::Speech(Utterance::new(text, voice, wpm, pitch)),
        });
    }
    out
}

fn render_clip(clip: &Clip) -> AudioBuffer {
    match &clip.material {
        Material::Midi { piece, parts } => render_midi(&compose_parts(piece, parts), piece.duration_seconds()),
        Material::Speech(u) => render_speech(u),
    }
    .unwrap_or_else(|e| panic!("{}: {e}", clip.name))
}

/// Distinct note onsets per second of `parts` of `piece` (notes within 30 ms are one onset).
fn midi_onset_rate(piece: &Piece, parts: &[Part], seconds: f64) -> f64 {
    let seconds_per_tick = piece.seconds_per_beat() / f64::from(music::PPQ);
    let mut onsets: Vec<f64> = music::arrange(piece)
        .notes
        .iter()
        .filter(|n| parts.contains(&n.part))
        .map(|n| f64::from(n.start) * seconds_per_tick)
        .collect();
    onsets.sort_by(f64::total_cmp);
    onsets.dedup_by(|a, b| (*a - *b).abs() < 0.03);
    onsets.len() as f64 / seconds
}

#[test]
fn source_kind_of_instruments_voices_and_mixes() {
    require_tools();
    let start = Instant::now();
    let validation = std::env::var_os("STRUCTURE_VALIDATION").is_some();
    let clips = clips(seed(), validation);
    let measured = in_parallel(&clips, |c| measure(&render_clip(c)));
    println!(
        "{:<34} {:<8} {:<8} {:>4} | {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} | {:>5} {:>5} {:>5} {:>5} {:>6} {:>5} {:>5} {:>5} {:>5}",
        "clip", "truth", "found", "conf", "drums", "bass", "vocal", "guitr", "keys", "mix",
        "tonal", "cflux", "low", "high", "air", "flat", "bassc", "bpoly", "honst"
    );
    let mut right = 0;
    let mut onset_lines = Vec::new();
    let mut worst_onset_error: f64 = 0.0;
    let mut per_kind: Vec<(SourceKind, usize, usize)> = SourceKind::ALL.iter().map(|&k| (k, 0, 0)).collect();
    for (clip, (timeline, features)) in clips.iter().zip(&measured) {
        let source = character::source(features, 0.0, timeline).unwrap();
        // The onset rate against the MIDI's note onsets. Solo pitched parts with clear attacks
        // are judged; drums, pads and church organ (slow attacks), mixes are printed only (soft hi-hats under a mix and a pad's
        // slow attacks have no exact count), speech has no MIDI.
        if let Material::Midi { piece, parts } = &clip.material {
            let detected = character::onset_times(features).len() as f64 / character::features_seconds(features);
            let truth = midi_onset_rate(piece, parts, character::features_seconds(features));
            let error = detected / truth - 1.0;
            let slow_attack = clip.name.contains("pad") || clip.name.contains("church organ");
            let judged = matches!(clip.kind, SourceKind::Bass | SourceKind::Guitar | SourceKind::Keys) && !slow_attack;
            if judged {
                worst_onset_error = worst_onset_error.max(error.abs());
            }
            onset_lines.push(format!(
                "{:<34} {:>5.2} onsets/s, MIDI {:>5.2}/s ({:+.0} %){}",
                clip.name,
                detected,
                truth,
                100.0 * error,
                if judged { "" } else { " (not judged)" }
            ));
        }
        let (s, m) = (source.scores, source.measures);
        let ok = source.kind == clip.kind;
        right += usize::from(ok);
        let slot = per_kind.iter_mut().find(|(k, _, _)| *k == clip.kind).unwrap();
        slot.1 += usize::from(ok);
        slot.2 += 1;
        println!(
            "{:<34} {:<8} {:<8} {:>4.2} | {:>5.2} {:>5.2} {:>5.2} {:>5.2} {:>5.2} {:>5.2} | {:>5.3} {:>5.3} {:>5.3} {:>5.3} {:>6.4} {:>5.3} {:>5.2} {:>5.2} {:>5.2}{}",
            clip.name,
            format!("{:?}", clip.kind),
            format!("{:?}", source.kind),
            source.confidence,
            s.drums,
            s.bass,
            s.vocal,
            s.guitar,
            s.keys,
            s.full_mix,
            m.tonality,
            m.chroma_flux,
            m.low_share,
            m.high_share,
            m.air_share,
            m.band_flatness,
            m.bass_chroma_share,
            m.bass_polyphony,
            m.high_onset_share,
            if ok { "" } else { "  WRONG" }
        );
    }
    let accuracy = right as f64 / clips.len() as f64;
    let by_kind: Vec<String> = per_kind.iter().map(|(k, r, n)| format!("{k:?} {r}/{n}")).collect();
    println!("source kind: {right}/{} right, accuracy {accuracy:.3} ({})", clips.len(), by_kind.join(", "));
    for line in &onset_lines {
        println!("{line}");
    }
    println!("total {:.1} s", start.elapsed().as_secs_f64());
    assert!(worst_onset_error <= 0.25, "worst onset-rate error {:.0} %", 100.0 * worst_onset_error);
    assert!(per_kind.iter().all(|(_, _, n)| *n >= 2), "at least two clips per kind");
    assert!(accuracy >= SOURCE_ACCURACY_GOAL, "accuracy {accuracy:.3} < goal {SOURCE_ACCURACY_GOAL}");
}
