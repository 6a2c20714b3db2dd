//! Tonal balance: the track's one-third-octave band levels relative to its own loudness,
//! against a genre's target curve.
//!
//! SKELETON: owned by the tonal-balance work.

use super::targets::GenreTarget;
use super::timeline::FrameStats;
use serde::Serialize;

/// A broad frequency region, for summaries a musician reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    /// 20–60 Hz.
    Sub,
    /// 60–250 Hz.
    Bass,
    /// 250–500 Hz.
    LowMid,
    /// 500 Hz–2 kHz.
    Mid,
    /// 2–5 kHz.
    HighMid,
    /// 5–10 kHz.
    Presence,
    /// 10–20 kHz.
    Air,
}

/// One band against the target.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct BandBalance {
    /// Nominal centre frequency, Hz.
    pub centre_hz: f32,
    /// Measured level relative to the integrated loudness, dB.
    pub level_db: f32,
    /// Target level relative to the integrated loudness, dB.
    pub target_db: f32,
    /// `level_db − target_db`.
    pub deviation_db: f32,
}

/// One region against the target.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RegionBalance {
    /// Which region.
    pub region: Region,
    /// Lower edge, Hz.
    pub low_hz: f32,
    /// Upper edge, Hz.
    pub high_hz: f32,
    /// Power-weighted deviation of the region's bands from the target, dB.
    pub deviation_db: f32,
    /// Deviation beyond which the region is worth a remark, dB.
    pub tolerance_db: f32,
}

/// The tonal balance of a stretch of frames against one target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TonalBalance {
    /// Id of the genre target compared with.
    pub target: String,
    /// Every band.
    pub bands: Vec<BandBalance>,
    /// The regions.
    pub regions: Vec<RegionBalance>,
}

/// Measures `frames` (with their integrated loudness) against `target`.
pub fn measure(_frames: &[FrameStats], _integrated_lufs: Option<f64>, target: &GenreTarget) -> TonalBalance {
    TonalBalance { target: target.id.clone(), bands: Vec::new(), regions: Vec::new() }
}
