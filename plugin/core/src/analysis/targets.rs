//! Loudness targets of the delivery platforms and tonal-balance targets of genres, read from the
//! data files in `assets/targets/` (compiled in; their provenance is written in each entry and in
//! `assets/targets/README.md`).
//!
//! # The genre curves
//!
//! A genre's tonal target is the level of each of the 31 ISO 266 third-octave bands (20 Hz …
//! 20 kHz) relative to the track's integrated loudness, in dB: the same quantity
//! [`crate::analysis::tonal`] measures (mean band power over the analysed frames, dB re full
//! scale, minus the integrated loudness in LUFS). The files hold a small model per genre rather
//! than 31 numbers, so a curve stays smooth and its intent readable:
//!
//! ```text
//! shape(f) = tilt · log2(f / 1 kHz)                    third-octave band power; pink noise = 0 dB/oct
//!          + low_db / (1 + (f / low_hz)²)              lift of the low end below low_hz
//!          − 10·log10(1 + (sub_hz / f)⁴)               12 dB/oct roll-off below sub_hz
//!          − 10·log10(1 + (f / top_hz)⁴)               12 dB/oct roll-off above top_hz
//! ```
//!
//! The curve is `shape + c`, with the constant `c` chosen so that a signal whose band powers follow
//! the curve exactly has an integrated loudness equal to its own reference: by BS.1770-4 eq. 2,
//! `Σ_b 10^(curve_b/10) · |K(f_b)|² = 10^(0.691/10)`, where `|K|²` is the power response of the
//! K-weighting filter (pre-filter and RLB, BS.1770-4 Annex 1) at the band centre, taken at 48 kHz.

use crate::dsp::biquad::Coefs;
use crate::dsp::decibel::{db_to_power, power_to_db};
use crate::meter::kweight::{rlb_coefs, shelf_coefs};
use crate::meter::stats::{band_centre_hz, BAND_COUNT};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// A delivery platform's loudness normalisation target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Platform {
    /// Short id used on the command line (`spotify`, `apple`, `youtube`, `tidal`, `amazon`,
    /// `deezer`, `ebu`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Integrated loudness the platform normalises to, LUFS.
    pub integrated_lufs: f64,
    /// Highest true peak it recommends, dBTP.
    pub true_peak_dbtp: f64,
    /// Where the numbers come from.
    pub provenance: String,
}

/// The model a genre curve is drawn from (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurveModel {
    /// Slope of the third-octave band power around 1 kHz, dB per octave (pink noise: 0).
    pub tilt_db_per_octave: f64,
    /// Lift of the low end, dB.
    pub low_db: f64,
    /// Corner of the low-end lift, Hz.
    pub low_hz: f64,
    /// Corner of the sub-bass roll-off, Hz.
    pub sub_hz: f64,
    /// Corner of the top roll-off, Hz.
    pub top_hz: f64,
}

impl CurveModel {
    /// The unlevelled shape at `f` Hz, dB.
    pub fn shape_db(&self, f: f64) -> f64 {
        self.tilt_db_per_octave * (f / 1000.0).log2() + self.low_db / (1.0 + (f / self.low_hz).powi(2))
            - power_to_db(1.0 + (self.sub_hz / f).powi(4))
            - power_to_db(1.0 + (f / self.top_hz).powi(4))
    }

    /// The 31 band levels relative to the integrated loudness, dB (levelled as the module
    /// documentation says).
    pub fn curve_db(&self) -> [f32; BAND_COUNT] {
        self.curve_with(&[0.0; BAND_COUNT])
    }

    /// [`Self::curve_db`] with `correction` (dB per band) added to the shape before levelling.
    pub fn curve_with(&self, correction: &[f64; BAND_COUNT]) -> [f32; BAND_COUNT] {
        let (shelf, rlb) = (shelf_coefs(K_RATE), rlb_coefs(K_RATE));
        let k_power = |f: f64| db_to_power(k_db(&shelf, f) + k_db(&rlb, f));
        let shape: Vec<f64> = (0..BAND_COUNT).map(|b| self.shape_db(band_centre_hz(b)) + correction[b]).collect();
        let weighted: f64 = shape.iter().enumerate().map(|(b, s)| db_to_power(*s) * k_power(band_centre_hz(b))).sum();
        let level = 0.691 - power_to_db(weighted);
        let mut out = [0.0; BAND_COUNT];
        for (o, s) in out.iter_mut().zip(&shape) {
            *o = (s + level) as f32;
        }
        out
    }
}

/// Sample rate at which the K-weighting response is taken for levelling the curves.
const K_RATE: f64 = 48_000.0;

fn k_db(coefs: &Coefs, f: f64) -> f64 {
    coefs.magnitude_db(K_RATE, f)
}

/// Gain of the BS.1770 K-weighting (pre-filter and RLB) at `freq_hz`, dB: how much a band
/// counts in the loudness.
pub fn k_weighting_db(freq_hz: f64) -> f64 {
    k_db(&shelf_coefs(K_RATE), freq_hz) + k_db(&rlb_coefs(K_RATE), freq_hz)
}

/// A genre's tonal-balance and dynamics target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GenreTarget {
    /// Short id used on the command line (`pop`, `rock`, `hiphop`, `electronic`, `lofi`,
    /// `jazz`, `classical`, `metal`, `rnb`, `neutral`).
    pub id: String,
    /// English name.
    pub name_en: String,
    /// French name.
    pub name_fr: String,
    /// The curve's model.
    pub model: CurveModel,
    /// Target level of each of the 31 ISO 266 bands (20 Hz … 20 kHz), dB relative to the
    /// integrated loudness.
    pub bands_db: Vec<f32>,
    /// How far each band may stray before it is worth a remark, dB: one standard deviation of
    /// the band's balance across clean released masters (measured, `assets/targets/README.md`),
    /// so a warning is one deviation out and a problem (twice the tolerance) two.
    pub tolerance_db: Vec<f32>,
    /// Usual loudness range for the genre, LU (EBU Tech 3342): `[low, high]`.
    pub lra_lu: [f64; 2],
    /// Lowest peak-to-loudness ratio before a master of the genre sounds squashed, LU.
    pub plr_min_lu: f64,
}

/// The id of a target made from a reference track ([`GenreTarget::reference`]).
pub const REFERENCE_ID: &str = "reference";

/// How far the loudness range of a track may stray from its reference's before it is worth a
/// remark, LU.
const REFERENCE_LRA_SPREAD_LU: f64 = 3.0;

impl GenreTarget {
    /// The target a reference track sets: its own band levels relative to its integrated
    /// loudness (`levels_db`, `None` for a band it did not measure, such as one above its
    /// Nyquist frequency, which then keeps the neutral curve), with the neutral genre's
    /// tolerances and PLR floor, and its loudness range ± 3 LU. `name` names it in the
    /// reports. Non-finite levels count as unmeasured.
    pub fn reference(name: &str, levels_db: &[Option<f32>; BAND_COUNT], loudness_range_lu: Option<f64>) -> GenreTarget {
        // The neutral genre is in the shipped table (tested below).
        let neutral = genre(DEFAULT_GENRE).unwrap_or(&genres()[0]);
        let bands_db = (0..BAND_COUNT)
            .map(|b| levels_db[b].filter(|v| v.is_finite()).map_or(neutral.bands_db[b], |v| v.clamp(-80.0, 20.0)))
            .collect();
        let lra_lu = match loudness_range_lu.filter(|v| v.is_finite() && *v >= 0.0) {
            Some(lra) => [(lra - REFERENCE_LRA_SPREAD_LU).max(0.0), lra + REFERENCE_LRA_SPREAD_LU],
            None => neutral.lra_lu,
        };
        GenreTarget {
            id: REFERENCE_ID.into(),
            name_en: format!("reference \"{name}\""),
            name_fr: format!("référence « {name} »"),
            model: neutral.model,
            bands_db,
            tolerance_db: neutral.tolerance_db.clone(),
            lra_lu,
            plr_min_lu: neutral.plr_min_lu,
        }
    }
}

#[derive(Deserialize)]
struct GenreEntry {
    id: String,
    name_en: String,
    name_fr: String,
    #[serde(flatten)]
    model: CurveModel,
    /// Whether the measured mean correction is added to the model's curve (the neutral genre).
    #[serde(default)]
    measured_correction: bool,
    lra_lu: [f64; 2],
    plr_min_lu: f64,
}

/// What was measured on clean released masters (see `assets/targets/README.md`).
#[derive(Deserialize)]
struct Measured {
    /// Mean balance of each band against the neutral model, dB.
    correction_db: Vec<f64>,
    /// Standard deviation of each band's balance across the masters, dB.
    spread_db: Vec<f32>,
}

#[derive(Deserialize)]
struct GenreFile {
    measured: Measured,
    genres: Vec<GenreEntry>,
}

#[derive(Deserialize)]
struct PlatformFile {
    platforms: Vec<Platform>,
}

/// Platform used when none is chosen.
pub const DEFAULT_PLATFORM: &str = "spotify";
/// Genre target used when none is chosen.
pub const DEFAULT_GENRE: &str = "neutral";

const PLATFORMS_JSON: &str = include_str!("../../../../assets/targets/platforms.json");
const GENRES_JSON: &str = include_str!("../../../../assets/targets/genres.json");

/// Every platform target, in the file's order.
pub fn platforms() -> &'static [Platform] {
    static PLATFORMS: OnceLock<Vec<Platform>> = OnceLock::new();
    // The file is compiled in and checked by the tests: a parse failure is a build defect.
    PLATFORMS.get_or_init(|| {
        serde_json::from_str::<PlatformFile>(PLATFORMS_JSON).expect("assets/targets/platforms.json").platforms
    })
}

/// The platform with this id (case-insensitive).
pub fn platform(id: &str) -> Option<&'static Platform> {
    platforms().iter().find(|p| p.id.eq_ignore_ascii_case(id))
}

/// Every genre target, in the file's order.
pub fn genres() -> &'static [GenreTarget] {
    static GENRES: OnceLock<Vec<GenreTarget>> = OnceLock::new();
    GENRES.get_or_init(|| {
        let file: GenreFile = serde_json::from_str(GENRES_JSON).expect("assets/targets/genres.json");
        let m = &file.measured;
        assert!(m.correction_db.len() == BAND_COUNT && m.spread_db.len() == BAND_COUNT, "31 measured bands");
        file.genres
            .into_iter()
            .map(|g| {
                let correction: [f64; BAND_COUNT] =
                    std::array::from_fn(|b| if g.measured_correction { m.correction_db[b] } else { 0.0 });
                GenreTarget {
                    bands_db: g.model.curve_with(&correction).to_vec(),
                    tolerance_db: m.spread_db.clone(),
                    id: g.id,
                    name_en: g.name_en,
                    name_fr: g.name_fr,
                    model: g.model,
                    lra_lu: g.lra_lu,
                    plr_min_lu: g.plr_min_lu,
                }
            })
            .collect()
    })
}

/// The genre with this id (case-insensitive; `hip-hop`, `r&b`, `lo-fi` and `acoustic` are
/// accepted for `hiphop`, `rnb`, `lofi` and `jazz`).
pub fn genre(id: &str) -> Option<&'static GenreTarget> {
    let id = match id.to_ascii_lowercase().as_str() {
        "hip-hop" | "hip hop" | "rap" => "hiphop".to_string(),
        "r&b" | "r'n'b" | "randb" => "rnb".to_string(),
        "lo-fi" => "lofi".to_string(),
        "acoustic" | "jazz/acoustic" => "jazz".to_string(),
        "edm" | "electro" => "electronic".to_string(),
        other => other.to_string(),
    };
    genres().iter().find(|g| g.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_platform_of_the_issue_is_there_with_its_target() {
        let expect = [
            ("spotify", -14.0),
            ("apple", -16.0),
            ("youtube", -14.0),
            ("tidal", -14.0),
            ("amazon", -14.0),
            ("deezer", -15.0),
            ("ebu", -23.0),
        ];
        for (id, lufs) in expect {
            let p = platform(id).unwrap_or_else(|| panic!("platform {id}"));
            assert_eq!(p.integrated_lufs, lufs, "{id}");
            assert!((-3.0..=0.0).contains(&p.true_peak_dbtp), "{id}");
            assert!(!p.provenance.is_empty(), "{id} has no provenance");
        }
        assert_eq!(platform("Spotify").map(|p| p.true_peak_dbtp), Some(-1.0));
        assert!(platform("napster").is_none());
    }

    #[test]
    fn every_genre_of_the_issue_is_there_and_well_formed() {
        for id in ["pop", "rock", "hiphop", "electronic", "lofi", "jazz", "classical", "metal", "rnb", "neutral"] {
            let g = genre(id).unwrap_or_else(|| panic!("genre {id}"));
            assert_eq!(g.bands_db.len(), BAND_COUNT);
            assert_eq!(g.tolerance_db.len(), BAND_COUNT);
            assert!(g.bands_db.iter().all(|x| x.is_finite()), "{id}");
            assert!(g.lra_lu[0] < g.lra_lu[1] && g.plr_min_lu > 0.0, "{id}");
            assert!(!g.name_fr.is_empty());
        }
        assert_eq!(genre("Hip-Hop").map(|g| g.id.as_str()), Some("hiphop"));
        assert_eq!(genre("lo-fi").map(|g| g.id.as_str()), Some("lofi"));
        assert!(genre("polka").is_none());
    }

    /// The levelling: a signal that follows a curve exactly reads 0 LU against it.
    #[test]
    fn curves_are_levelled_to_the_loudness_they_describe() {
        let (shelf, rlb) = (shelf_coefs(K_RATE), rlb_coefs(K_RATE));
        for g in genres() {
            let sum: f64 = g
                .bands_db
                .iter()
                .enumerate()
                .map(|(b, &l)| {
                    let f = band_centre_hz(b);
                    db_to_power(f64::from(l) + k_db(&shelf, f) + k_db(&rlb, f))
                })
                .sum();
            let lufs = -0.691 + power_to_db(sum);
            assert!(lufs.abs() < 1e-6, "{}: {lufs}", g.id);
        }
    }

    /// The shapes mean what the data says: hip-hop has more low end than classical relative to
    /// 1 kHz, lo-fi less top than electronic.
    #[test]
    fn shapes_follow_the_genre_intent() {
        let at = |id: &str, hz: f64| {
            let g = genre(id).unwrap();
            let b = (0..BAND_COUNT)
                .min_by(|&a, &b| (band_centre_hz(a) / hz).ln().abs().total_cmp(&(band_centre_hz(b) / hz).ln().abs()));
            let k1 = (0..BAND_COUNT).find(|&b| (band_centre_hz(b) - 1000.0).abs() < 1.0).unwrap();
            g.bands_db[b.unwrap()] - g.bands_db[k1]
        };
        assert!(at("hiphop", 63.0) > at("classical", 63.0) + 5.0);
        assert!(at("lofi", 12_500.0) < at("electronic", 12_500.0) - 6.0);
        // Pop keeps the authored model: tilt -1.5 dB/oct from 1 to 4 kHz, about -3 dB (the
        // roll-offs barely act there). Neutral adds the measured mean
        // correction of the 4 kHz band less that of the 1 kHz band: -3 − 4.2 − 3.2 = -10.4 dB.
        assert!((at("pop", 4000.0) + 3.0).abs() < 0.2, "{}", at("pop", 4000.0));
        assert!((at("neutral", 4000.0) + 10.4).abs() < 0.2, "{}", at("neutral", 4000.0));
    }
}
