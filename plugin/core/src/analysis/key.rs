//! Key and mode detection from the chroma of [`crate::analysis::spectral`].
//!
//! The chroma frames are normalised and summed over the track, each weighted by how tonal it
//! is (its loudness relative to the loudest frame, so reverb tails and near-silence count
//! little), into a 12-bin profile; the same is done for the bass register (40–260 Hz, where
//! the bass plays chord roots). Both profiles are correlated (Pearson) with the 24 rotations of
//! two published key profiles and the correlations averaged:
//!
//! * Krumhansl & Kessler (1982), probe-tone ratings — the classic profiles;
//! * Temperley (2007, *Music and Probability*), pitch-class frequencies in the Kostka–Payne
//!   corpus — sharper on the scale degrees, better at major/minor.
//!
//! The combined score is `corr(chroma) + BASS_WEIGHT · corr(bass chroma)`.
//!
//! A relative major and minor (C major, A minor) share their seven pitch classes, so the
//! profile correlation tells them apart only by the weights of the scale degrees, and a loop
//! like Am–F–C–G fits C major's profile better than A minor's. So the mode is decided again
//! inside the relative pair, after Chai & Vercoe (2005, "Detection of key change in classical
//! piano music", ISMIR: key signature first, then the mode by its tonic), from two cues of the
//! track chroma ([`relative_pair_evidence`]): which of the two tonics sounds more (the tonic
//! leads the tonal hierarchy, Krumhansl 1990), and the raised seventh of harmonic minor (G# in
//! A minor), which only the minor key uses. Measured on the tuning set (FluidR3_GM renders) and
//! reported on a held-out set: see `docs/advice.md`, "Key detection". [`mirex_score`] is the
//! MIREX key-estimation score used to evaluate the result.

use crate::analysis::spectral::{AnalysisError, Features};

/// Krumhansl–Kessler major profile, tonic first.
pub const KRUMHANSL_MAJOR: [f64; 12] = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88];
/// Krumhansl–Kessler minor profile, tonic first.
pub const KRUMHANSL_MINOR: [f64; 12] = [6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17];
/// Temperley (Kostka–Payne) major profile, tonic first.
pub const TEMPERLEY_MAJOR: [f64; 12] =
    [0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400];
/// Temperley (Kostka–Payne) minor profile, tonic first.
pub const TEMPERLEY_MINOR: [f64; 12] =
    [0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330];

/// Weight of the bass-register correlation in the key score.
const BASS_WEIGHT: f64 = 0.5;

/// Weight of the minor key's raised seventh against the tonic difference in
/// [`relative_pair_evidence`]. Chosen on the tuning set only: 0.4 to 1.6 all score MIREX
/// 0.95–0.97 there (0.92 without the pair decision); 0.8 is the middle of that range.
const LEADING_TONE_WEIGHT: f64 = 0.8;

/// A difference of this much in [`relative_pair_evidence`] (a share of the chroma) is a sure
/// call between the relative major and minor: the pair decision's confidence is
/// `|evidence| / PAIR_SCALE`, at most 1.
const PAIR_SCALE: f64 = 0.05;

const NAMES: [&str; 12] = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"];

/// Major or minor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Major (Ionian).
    Major,
    /// Minor (Aeolian / harmonic minor).
    Minor,
}

/// A detected key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Key {
    /// Tonic pitch class, `0..12`, `0` = C.
    pub tonic: u8,
    /// Major or minor.
    pub mode: Mode,
    /// 0 (the runner-up fits as well) to 1 (clear winner).
    pub confidence: f64,
}

impl Key {
    /// A key with the given tonic (modulo 12) and mode, confidence 1.
    pub fn new(tonic: u8, mode: Mode) -> Key {
        Key { tonic: tonic % 12, mode, confidence: 1.0 }
    }

    /// `"E minor"`, `"Bb major"`, `"F# minor"`.
    pub fn name(&self) -> String {
        let mode = match self.mode {
            Mode::Major => "major",
            Mode::Minor => "minor",
        };
        format!("{} {mode}", NAMES[usize::from(self.tonic % 12)])
    }
}

/// The MIREX key score of `detected` against `truth`: 1.0 same key, 0.5 a perfect fifth away
/// (either direction) in the same mode, 0.3 relative major/minor, 0.2 parallel major/minor,
/// else 0. Confidence is ignored.
pub fn mirex_score(detected: &Key, truth: &Key) -> f64 {
    let up = (i32::from(detected.tonic) - i32::from(truth.tonic)).rem_euclid(12);
    match (truth.mode, detected.mode) {
        (a, b) if a == b && up == 0 => 1.0,
        (a, b) if a == b && (up == 7 || up == 5) => 0.5,
        (Mode::Minor, Mode::Major) if up == 3 => 0.3,
        (Mode::Major, Mode::Minor) if up == 9 => 0.3,
        _ if up == 0 => 0.2,
        _ => 0.0,
    }
}

/// Pearson correlation of `chroma` with `profile` rotated so that its tonic sits on `tonic`.
pub fn profile_correlation(chroma: &[f64; 12], profile: &[f64; 12], tonic: usize) -> f64 {
    let mc = chroma.iter().sum::<f64>() / 12.0;
    let mp = profile.iter().sum::<f64>() / 12.0;
    let (mut num, mut vc, mut vp) = (0.0, 0.0, 0.0);
    for pc in 0..12 {
        let c = chroma[pc] - mc;
        let p = profile[(pc + 12 - tonic % 12) % 12] - mp;
        num += c * p;
        vc += c * c;
        vp += p * p;
    }
    if vc <= 0.0 || vp <= 0.0 {
        0.0
    } else {
        num / (vc * vp).sqrt()
    }
}

/// Scores of the 24 keys (index `tonic + 12 * (mode == Minor)`) for a track chroma and bass
/// chroma profile.
pub fn key_scores(chroma: &[f64; 12], bass: &[f64; 12]) -> [f64; 24] {
    let mut out = [0.0; 24];
    for tonic in 0..12 {
        for (m, (kk, tp)) in [(KRUMHANSL_MAJOR, TEMPERLEY_MAJOR), (KRUMHANSL_MINOR, TEMPERLEY_MINOR)].iter().enumerate()
        {
            let fit = |c: &[f64; 12]| 0.5 * (profile_correlation(c, kk, tonic) + profile_correlation(c, tp, tonic));
            out[tonic + 12 * m] = fit(chroma) + BASS_WEIGHT * fit(bass);
        }
    }
    out
}

/// The best key for the given scores ([`key_scores`] layout), with confidence from the margin
/// to the runner-up.
pub fn best_key(scores: &[f64; 24]) -> Key {
    let mut order: Vec<usize> = (0..24).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (best, second) = (scores[order[0]], scores[order[1]]);
    let scale = 1.0 + BASS_WEIGHT;
    let confidence = if best > 0.0 { ((best - second) / scale * 5.0).clamp(0.0, 1.0) } else { 0.0 };
    Key { tonic: (order[0] % 12) as u8, mode: if order[0] < 12 { Mode::Major } else { Mode::Minor }, confidence }
}

/// Track-level chroma profiles `(full, bass)`, each frame normalised and weighted by its
/// loudness relative to the loudest frame.
pub fn track_profiles(features: &Features) -> ([f64; 12], [f64; 12]) {
    fn sum(frames: &[[f32; 12]]) -> [f64; 12] {
        let energy: Vec<f64> = frames.iter().map(|c| c.iter().map(|&x| f64::from(x)).sum()).collect();
        let loudest = energy.iter().fold(0.0f64, |m, &e| m.max(e));
        let mut out = [0.0; 12];
        if loudest <= 0.0 {
            return out;
        }
        for (c, &e) in frames.iter().zip(&energy) {
            if e <= loudest * 1e-3 {
                continue;
            }
            // Loudness weight on a log scale: 1 at the loudest frame, 0 at −60 dB.
            let w = (1.0 + (e / loudest).log10() / 3.0).max(0.0);
            for pc in 0..12 {
                out[pc] += w * f64::from(c[pc]) / e;
            }
        }
        out
    }
    (sum(&features.chroma), sum(&features.bass_chroma))
}

/// Evidence for the minor key of the relative pair whose major tonic is `major_tonic` (A minor
/// against C major for 0): positive for minor. With the chroma as shares of its total,
/// `share(minor tonic) − share(major tonic) + LEADING_TONE_WEIGHT · share(raised seventh)`.
pub fn relative_pair_evidence(chroma: &[f64; 12], major_tonic: u8) -> f64 {
    let total: f64 = chroma.iter().sum();
    if total <= 0.0 || !total.is_finite() {
        return 0.0;
    }
    let share = |pc: u8| chroma[usize::from(pc % 12)] / total;
    let minor_tonic = major_tonic + 9;
    share(minor_tonic) - share(major_tonic) + LEADING_TONE_WEIGHT * share(minor_tonic + 11)
}

/// `key` with its mode decided again inside its relative pair by [`relative_pair_evidence`];
/// when that changes the key, the confidence is the lower of `key`'s and the pair decision's.
pub fn decide_relative_mode(chroma: &[f64; 12], key: Key) -> Key {
    let major_tonic = match key.mode {
        Mode::Major => key.tonic,
        Mode::Minor => (key.tonic + 3) % 12,
    };
    let evidence = relative_pair_evidence(chroma, major_tonic);
    let decided =
        if evidence > 0.0 { Key::new(major_tonic + 9, Mode::Minor) } else { Key::new(major_tonic, Mode::Major) };
    if decided.mode == key.mode {
        return key;
    }
    let pair_confidence = (evidence.abs() / PAIR_SCALE).min(1.0);
    Key { confidence: key.confidence.min(pair_confidence), ..decided }
}

/// The key from precomputed features: the best profile fit ([`key_scores`], [`best_key`]), its
/// mode decided again inside the relative pair ([`decide_relative_mode`]).
pub fn detect(features: &Features) -> Key {
    let (chroma, bass) = track_profiles(features);
    decide_relative_mode(&chroma, best_key(&key_scores(&chroma, &bass)))
}

/// The key of planar audio: [`Features::from_channels`] then [`detect`].
pub fn detect_audio(channels: &[Vec<f32>], sample_rate: u32) -> Result<Key, AnalysisError> {
    Ok(detect(&Features::from_channels(channels, sample_rate)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirex_table() {
        let a_minor = Key::new(9, Mode::Minor);
        assert_eq!(mirex_score(&a_minor, &a_minor), 1.0);
        assert_eq!(mirex_score(&Key::new(4, Mode::Minor), &a_minor), 0.5);
        assert_eq!(mirex_score(&Key::new(2, Mode::Minor), &a_minor), 0.5);
        assert_eq!(mirex_score(&Key::new(0, Mode::Major), &a_minor), 0.3);
        assert_eq!(mirex_score(&Key::new(9, Mode::Major), &a_minor), 0.2);
        assert_eq!(mirex_score(&Key::new(4, Mode::Major), &a_minor), 0.0);
        let c = Key::new(0, Mode::Major);
        assert_eq!(mirex_score(&Key::new(9, Mode::Minor), &c), 0.3);
        assert_eq!(mirex_score(&Key::new(7, Mode::Major), &c), 0.5);
        assert_eq!(mirex_score(&Key::new(5, Mode::Major), &c), 0.5);
        assert_eq!(mirex_score(&Key::new(0, Mode::Minor), &c), 0.2);
        assert_eq!(mirex_score(&Key::new(1, Mode::Major), &c), 0.0);
        // Relative in the wrong direction scores nothing.
        assert_eq!(mirex_score(&Key::new(3, Mode::Minor), &c), 0.0);
    }

    #[test]
    fn names() {
        assert_eq!(Key::new(4, Mode::Minor).name(), "E minor");
        assert_eq!(Key::new(10, Mode::Major).name(), "Bb major");
        assert_eq!(Key::new(18, Mode::Minor).name(), "F# minor");
    }

    #[test]
    fn profiles_recover_every_key() {
        for tonic in 0..12u8 {
            for (mode, profile) in [(Mode::Major, KRUMHANSL_MAJOR), (Mode::Minor, KRUMHANSL_MINOR)] {
                let mut chroma = [0.0; 12];
                for pc in 0..12 {
                    chroma[(pc + usize::from(tonic)) % 12] = profile[pc];
                }
                let k = best_key(&key_scores(&chroma, &chroma));
                assert_eq!((k.tonic, k.mode), (tonic, mode), "{}", Key::new(tonic, mode).name());
                assert!(k.confidence > 0.0);
            }
        }
    }

    #[test]
    fn triad_chroma_of_a_minor_cadence() {
        // i–iv–V–i in A minor: A C E, D F A, E G# B, A C E.
        let mut chroma = [0.0; 12];
        for pcs in [[9, 0, 4], [2, 5, 9], [4, 8, 11], [9, 0, 4]] {
            for pc in pcs {
                chroma[pc] += 1.0;
            }
        }
        let mut bass = [0.0; 12];
        bass[9] = 2.0;
        bass[2] = 1.0;
        bass[4] = 1.0;
        let k = best_key(&key_scores(&chroma, &bass));
        assert_eq!(k.name(), "A minor");
    }

    #[test]
    fn relative_pair_goes_to_the_tonic_that_sounds_more() {
        // Am–F–C–G, one bar each, the loop starting and ending on Am (five bars): the pitch
        // classes of C major, with A the most present.
        let mut chroma = [0.0; 12];
        for pcs in [[9, 0, 4], [5, 9, 0], [0, 4, 7], [7, 11, 2], [9, 0, 4]] {
            for pc in pcs {
                chroma[pc] += 1.0;
            }
        }
        chroma[9] += 2.0; // the bass and the melody dwell on A
        let c_major = Key { tonic: 0, mode: Mode::Major, confidence: 0.3 };
        let k = decide_relative_mode(&chroma, c_major);
        assert_eq!(k.name(), "A minor");
        assert!(k.confidence > 0.0 && k.confidence <= 0.3, "{k:?}");
        // C–G–Am–F with C the most present stays C major, unchanged.
        let mut chroma = [0.0; 12];
        for pcs in [[0, 4, 7], [7, 11, 2], [9, 0, 4], [5, 9, 0], [0, 4, 7]] {
            for pc in pcs {
                chroma[pc] += 1.0;
            }
        }
        assert_eq!(decide_relative_mode(&chroma, c_major), c_major);
        // A minor asked about as "A minor" and found minor keeps its confidence.
        let a_minor = Key { tonic: 9, mode: Mode::Minor, confidence: 0.7 };
        let mut harmonic = chroma;
        harmonic[9] += 2.0;
        harmonic[8] += 1.0; // G#, the raised seventh
        assert_eq!(decide_relative_mode(&harmonic, a_minor), a_minor);
    }

    #[test]
    fn relative_pair_of_silence_is_major_with_no_evidence() {
        assert_eq!(relative_pair_evidence(&[0.0; 12], 0), 0.0);
        assert_eq!(relative_pair_evidence(&[f64::NAN; 12], 3), 0.0);
        let silent = Key { tonic: 0, mode: Mode::Major, confidence: 0.0 };
        assert_eq!(decide_relative_mode(&[0.0; 12], silent), silent);
    }

    #[test]
    fn flat_chroma_has_no_correlation() {
        assert_eq!(profile_correlation(&[1.0; 12], &KRUMHANSL_MAJOR, 3), 0.0);
    }
}
