//! Loudness targets of the streaming platforms and tonal-balance target curves of genres, read
//! from the data files in `assets/targets/` (compiled in; their provenance is written next to
//! them in `assets/targets/README.md`).
//!
//! SKELETON: owned by the tonal-balance work; the data files and loader land there.

use serde::{Deserialize, Serialize};

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
}

/// A genre's tonal-balance target: one-third-octave band levels relative to the track's
/// integrated loudness.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenreTarget {
    /// Short id used on the command line (`pop`, `rock`, `hiphop`, `electronic`, `lofi`,
    /// `jazz`, `classical`, `metal`, `rnb`, `neutral`).
    pub id: String,
    /// English name.
    pub name_en: String,
    /// French name.
    pub name_fr: String,
    /// Target level of each of the 31 ISO 266 bands (20 Hz … 20 kHz), dB relative to the
    /// integrated loudness.
    pub bands_db: Vec<f32>,
    /// How far a band may stray before it is worth a remark, dB, per band.
    pub tolerance_db: Vec<f32>,
}

/// Every platform target.
pub fn platforms() -> &'static [Platform] {
    &[]
}

/// The platform with this id (case-insensitive).
pub fn platform(id: &str) -> Option<&'static Platform> {
    platforms().iter().find(|p| p.id.eq_ignore_ascii_case(id))
}

/// Every genre target.
pub fn genres() -> &'static [GenreTarget] {
    &[]
}

/// The genre with this id (case-insensitive).
pub fn genre(id: &str) -> Option<&'static GenreTarget> {
    genres().iter().find(|g| g.id.eq_ignore_ascii_case(id))
}
