//! Tonal balance: the track's one-third-octave band levels relative to its own loudness,
//! against a genre's target curve.
//!
//! # What is measured
//!
//! For each of the 31 ISO 266 bands `b`:
//!
//! ```text
//! level_b     = 10·log10(C · mean_f P_b,f) − integrated LUFS      the quantity the curves describe
//! deviation_b = level_b − target_b
//! offset      = median of deviation_b over the reference bands (40 Hz … 12.5 kHz)
//! balance_b   = deviation_b − offset
//! ```
//!
//! `P_b,f` is the band power of frame `f` as the meter reports it (averaged over the channels);
//! multiplying by the channel count `C` gives the sum over the channels, which is what
//! BS.1770-4 sums for the loudness, so a dual-mono stereo file reads like its mono original.
//! The mean runs over the non-silent frames (band power above [`SILENCE_DB`]).
//!
//! The **deviation** is the level against the curve, exactly as [`super::targets`] defines it.
//! It moves with anything that moves the loudness: a +6 dB boost of 2–5 kHz also raises the
//! K-weighted loudness by a dB or two (K-weighting lifts the highs), so those bands' deviation
//! rises by less than 6 dB and every other band's falls. The **balance** takes the spectrum's
//! own typical deviation (the median over the reference bands, which a boost of a few bands
//! does not move) as the reference instead, so the same boost reads +6 dB there and about 0
//! elsewhere: how a band sits against the rest of the mix, compared with the target. The
//! spectral findings ([`super::findings`]) judge the balance.
//!
//! Regions sum their bands' powers (a power-weighted deviation, so a loud band counts for more
//! than a quiet neighbour): `10·log10(Σ 10^(level/10) / Σ 10^(target/10))` over the region.
//!
//! Bands wholly above Nyquist get no power from the meter ([`BAND_FLOOR_DB`] in every frame):
//! they are skipped and listed in [`TonalBalance::skipped_bands_hz`]. A band cut by Nyquist
//! (20 kHz at 44.1 kHz) is measured over the part that exists.

use super::targets::GenreTarget;
use super::timeline::FrameStats;
use crate::dsp::decibel::{db_to_power, power_to_db};
use crate::meter::stats::{BAND_COUNT, BAND_FLOOR_DB, BAND_NOMINAL_HZ, STATS_MAX_CHANNELS};
use serde::Serialize;

/// Total band power under which a frame counts as silent, dB re full scale: the absolute
/// gate of BS.1770-4 §2.3 (−70 LUFS) used as a plain level, so the frames the loudness
/// ignores as silence are ignored here too.
pub const SILENCE_DB: f64 = -70.0;
/// Reference bands for the offset: 40 Hz … 12.5 kHz, where [`super::targets`] keeps the
/// tolerance unwidened (programme material and monitoring vary most outside it).
pub const REFERENCE_BANDS: std::ops::RangeInclusive<usize> = 3..=28;
/// Band power a band above Nyquist reads (the meter's floor), linear.
const FLOOR_POWER: f64 = 1e-20;

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

impl Region {
    /// Every region, low to high.
    pub const ALL: [Region; 7] =
        [Region::Sub, Region::Bass, Region::LowMid, Region::Mid, Region::HighMid, Region::Presence, Region::Air];

    /// Lower and upper edge, Hz. A band belongs to the region whose range holds its nominal
    /// centre (`low ≤ f < high`; 20 kHz belongs to [`Region::Air`]).
    pub fn edges_hz(self) -> (f32, f32) {
        match self {
            Region::Sub => (20.0, 60.0),
            Region::Bass => (60.0, 250.0),
            Region::LowMid => (250.0, 500.0),
            Region::Mid => (500.0, 2000.0),
            Region::HighMid => (2000.0, 5000.0),
            Region::Presence => (5000.0, 10_000.0),
            Region::Air => (10_000.0, 20_000.0),
        }
    }

    /// The bands of the region.
    pub fn bands(self) -> impl Iterator<Item = usize> {
        let (lo, hi) = self.edges_hz();
        let last = self == Region::Air;
        (0..BAND_COUNT).filter(move |&b| {
            let f = BAND_NOMINAL_HZ[b];
            f >= lo && (f < hi || (last && f <= hi))
        })
    }
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
    /// `deviation_db − offset_db` of the balance: the band against the rest of the spectrum,
    /// compared with the target (see the module documentation), dB.
    pub balance_db: f32,
    /// Deviation beyond which the band is worth a remark, dB (the genre's tolerance).
    pub tolerance_db: f32,
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
    /// `deviation_db − offset_db` of the balance, dB.
    pub balance_db: f32,
    /// Deviation beyond which the region is worth a remark, dB (mean of its bands' tolerances).
    pub tolerance_db: f32,
}

/// The tonal balance of a stretch of frames against one target. `bands` and `regions` are
/// empty when the stretch is silent (no integrated loudness to be relative to).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TonalBalance {
    /// Id of the genre target compared with.
    pub target: String,
    /// Every measured band, low to high.
    pub bands: Vec<BandBalance>,
    /// The regions that hold at least one measured band, low to high.
    pub regions: Vec<RegionBalance>,
    /// Median deviation of the reference bands (40 Hz … 12.5 kHz), dB: where the spectrum as a
    /// whole sits against the curve; the balances are relative to it.
    pub offset_db: f32,
    /// Nominal centres of the bands not measured because they lie above Nyquist, Hz.
    pub skipped_bands_hz: Vec<f32>,
}

/// Mean band powers of a stretch of frames, linear (full scale², summed over the channels).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BandPowers(pub [f64; BAND_COUNT]);

impl BandPowers {
    /// Mean over the non-silent frames of `frames` (`channels` 1 or 2); `None` when all are
    /// silent.
    pub fn mean_of(frames: &[FrameStats], channels: usize) -> Option<Self> {
        let silence = db_to_power(SILENCE_DB);
        let mut sum = [0.0f64; BAND_COUNT];
        let mut n = 0usize;
        for f in frames {
            let p = frame_band_powers(f);
            if p.iter().sum::<f64>() < silence {
                continue;
            }
            for (s, x) in sum.iter_mut().zip(p) {
                *s += x;
            }
            n += 1;
        }
        if n == 0 {
            return None;
        }
        let scale = channels.clamp(1, STATS_MAX_CHANNELS) as f64 / n as f64;
        Some(Self(sum.map(|s| s * scale)))
    }

    /// Whether band `b` received any power (it is below Nyquist).
    pub fn is_measured(&self, b: usize) -> bool {
        self.0[b] > 10.0 * FLOOR_POWER
    }

    /// Band power, dB re full scale.
    pub fn db(&self, b: usize) -> f64 {
        power_to_db(self.0[b].max(FLOOR_POWER))
    }

    /// Band power against the target, without the loudness: `db(b) − target_b`, dB.
    fn raw_deviation(&self, b: usize, target: &GenreTarget) -> f64 {
        self.db(b) - target.bands_db[b] as f64
    }

    /// Median of the reference bands' raw deviations (loudness not subtracted), dB; `None` when
    /// no reference band was measured.
    pub fn raw_offset_db(&self, target: &GenreTarget) -> Option<f64> {
        let mut d: Vec<f64> =
            REFERENCE_BANDS.filter(|&b| self.is_measured(b)).map(|b| self.raw_deviation(b, target)).collect();
        if d.is_empty() {
            return None;
        }
        d.sort_by(f64::total_cmp);
        let m = d.len() / 2;
        Some(if d.len() % 2 == 1 { d[m] } else { 0.5 * (d[m - 1] + d[m]) })
    }

    /// Power-weighted raw deviation of a group of bands (loudness not subtracted), dB; only the
    /// measured bands count; `None` when none was measured.
    pub fn raw_group_deviation_db(&self, bands: impl Iterator<Item = usize>, target: &GenreTarget) -> Option<f64> {
        let (mut p, mut t) = (0.0f64, 0.0f64);
        for b in bands.filter(|&b| self.is_measured(b)) {
            p += self.0[b];
            t += db_to_power(f64::from(target.bands_db[b]));
        }
        (t > 0.0).then(|| power_to_db(p.max(FLOOR_POWER) / t))
    }

    /// Balance of a group of bands: its power-weighted deviation minus the offset, dB (the
    /// loudness cancels out, so none is needed).
    pub fn group_balance_db(&self, bands: impl Iterator<Item = usize>, target: &GenreTarget) -> Option<f64> {
        Some(self.raw_group_deviation_db(bands, target)? - self.raw_offset_db(target)?)
    }
}

/// Band powers of one frame, linear, averaged over the channels (as the meter reports them).
fn frame_band_powers(f: &FrameStats) -> [f64; BAND_COUNT] {
    f.bands_db.map(|db| if db <= BAND_FLOOR_DB { 0.0 } else { db_to_power(f64::from(db)) })
}

/// Channels the frames were measured with: 2 when any frame has a right channel.
fn channels_of(frames: &[FrameStats]) -> usize {
    if frames.iter().any(|f| f.correlation.is_some() || f.rms[1] > 0.0) {
        2
    } else {
        1
    }
}

/// Measures `frames` (with their integrated loudness) against `target`. The channel count is
/// read from the frames (a stereo stream whose right channel is digital silence throughout
/// reads as mono, 3 dB low); [`measure_channels`] takes it explicitly.
pub fn measure(frames: &[FrameStats], integrated_lufs: Option<f64>, target: &GenreTarget) -> TonalBalance {
    measure_channels(frames, channels_of(frames), integrated_lufs, target)
}

/// [`measure`] for frames of `channels` channels (1 or 2).
pub fn measure_channels(
    frames: &[FrameStats],
    channels: usize,
    integrated_lufs: Option<f64>,
    target: &GenreTarget,
) -> TonalBalance {
    let mut out = TonalBalance {
        target: target.id.clone(),
        bands: Vec::new(),
        regions: Vec::new(),
        offset_db: 0.0,
        skipped_bands_hz: Vec::new(),
    };
    let (Some(lufs), Some(powers)) = (integrated_lufs.filter(|l| l.is_finite()), BandPowers::mean_of(frames, channels))
    else {
        return out;
    };
    let offset = powers.raw_offset_db(target).map_or(0.0, |o| o - lufs);
    out.offset_db = offset as f32;
    for (b, &centre_hz) in BAND_NOMINAL_HZ.iter().enumerate() {
        if !powers.is_measured(b) {
            out.skipped_bands_hz.push(centre_hz);
            continue;
        }
        let level = powers.db(b) - lufs;
        let deviation = level - target.bands_db[b] as f64;
        out.bands.push(BandBalance {
            centre_hz,
            level_db: level as f32,
            target_db: target.bands_db[b],
            deviation_db: deviation as f32,
            balance_db: (deviation - offset) as f32,
            tolerance_db: target.tolerance_db[b],
        });
    }
    for region in Region::ALL {
        let Some(raw) = powers.raw_group_deviation_db(region.bands(), target) else {
            continue;
        };
        let tolerances: Vec<f32> =
            region.bands().filter(|&b| powers.is_measured(b)).map(|b| target.tolerance_db[b]).collect();
        let (low_hz, high_hz) = region.edges_hz();
        let deviation = raw - lufs;
        out.regions.push(RegionBalance {
            region,
            low_hz,
            high_hz,
            deviation_db: deviation as f32,
            balance_db: (deviation - offset) as f32,
            tolerance_db: tolerances.iter().sum::<f32>() / tolerances.len().max(1) as f32,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::targets;

    fn frame(bands_db: [f32; BAND_COUNT]) -> FrameStats {
        FrameStats {
            seq: 0,
            start_s: 0.0,
            duration_s: 0.1,
            transport_s: None,
            sample_peak: [0.5; 2],
            true_peak: [0.5; 2],
            clip_samples: [0; 2],
            clip_runs: [0; 2],
            non_finite: 0,
            dc: [0.0; 2],
            rms: [0.1, 0.1],
            correlation: Some(0.5),
            mid_ms: 0.0075,
            side_ms: 0.0025,
            low_mid_ms: 0.0,
            low_side_ms: 0.0,
            bands_db,
        }
    }

    #[test]
    fn a_signal_on_the_curve_reads_zero_everywhere() {
        let g = targets::genre("pop").unwrap();
        // Stereo: each channel carries half the curve's power, so the sum over channels is on it.
        let bands: [f32; BAND_COUNT] = std::array::from_fn(|b| g.bands_db[b] - 20.0 - 3.0103);
        let t = measure(&[frame(bands), frame(bands)], Some(-20.0), g);
        assert_eq!(t.bands.len(), BAND_COUNT);
        for b in &t.bands {
            assert!(b.deviation_db.abs() < 1e-3 && b.balance_db.abs() < 1e-3, "{b:?}");
        }
        assert_eq!(t.regions.len(), 7);
        for r in &t.regions {
            assert!(r.deviation_db.abs() < 1e-3, "{r:?}");
        }
    }

    #[test]
    fn silence_and_bands_above_nyquist() {
        let g = targets::genre("neutral").unwrap();
        let t = measure(&[frame([BAND_FLOOR_DB; BAND_COUNT])], None, g);
        assert!(t.bands.is_empty() && t.regions.is_empty());
        // 22.05 kHz sample rate: 12.5, 16 and 20 kHz bands get nothing.
        let mut bands = [-30.0f32; BAND_COUNT];
        bands[28..].fill(BAND_FLOOR_DB);
        let t = measure(&[frame(bands)], Some(-20.0), g);
        assert_eq!(t.skipped_bands_hz, vec![12_500.0, 16_000.0, 20_000.0]);
        assert_eq!(t.bands.len(), 28);
        assert!(t.regions.iter().all(|r| r.deviation_db.is_finite()));
        let air = t.regions.iter().find(|r| r.region == Region::Air).unwrap();
        // Only the 10 kHz band is left in the region.
        let ten = t.bands.iter().find(|b| b.centre_hz == 10_000.0).unwrap();
        assert!((air.deviation_db - ten.deviation_db).abs() < 1e-4);
    }

    #[test]
    fn regions_partition_the_bands() {
        let n: usize = Region::ALL.iter().map(|r| r.bands().count()).sum();
        assert_eq!(n, BAND_COUNT);
        assert_eq!(Region::Sub.bands().collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
        assert_eq!(Region::HighMid.bands().collect::<Vec<_>>(), vec![20, 21, 22, 23]);
        assert_eq!(Region::Air.bands().collect::<Vec<_>>(), vec![27, 28, 29, 30]);
    }
}
