//! The defects injected into clean excerpts: what each kind is, how its parameters are drawn
//! (seeded), how it is applied, and which of the product's finding kinds name it.

use std::f64::consts::FRAC_1_SQRT_2;

use serde::Serialize;

use super::biquad::Biquad;

/// A kind of defect. The report counts per kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A peaking boost, +4 … +8 dB, 60 Hz … 12 kHz (log-uniform; at most 0.4 × the sample
    /// rate), Q 0.7 … 4 (log-uniform).
    BellBoost,
    /// A peaking cut, −4 … −8 dB, as [`Kind::BellBoost`].
    BellCut,
    /// A low shelf, +4 … +8 dB, corner 60 … 300 Hz, Q 0.7071.
    LowShelfBoost,
    /// A low shelf, −4 … −8 dB, as [`Kind::LowShelfBoost`].
    LowShelfCut,
    /// A high shelf, +4 … +8 dB, corner 2 … 12 kHz, Q 0.7071.
    HighShelfBoost,
    /// A high shelf, −4 … −8 dB, as [`Kind::HighShelfBoost`].
    HighShelfCut,
    /// The whole excerpt turned down to 4 … 20 LU below the platform target.
    LevelDown,
    /// The whole excerpt turned up to 4 … 10 LU above the platform target (float file: peaks
    /// above 0 dBFS are kept).
    LevelUp,
    /// Gain so that the sample peak reads +10 dBFS, then hard clipping at ±1.
    Clipping,
    /// A DC offset of 1 … 4 % of full scale added to both channels.
    Dc,
    /// One channel (left or right, drawn) inverted.
    Polarity,
    /// The side signal scaled by 0.3 … 0.6 (−10.5 … −4.4 dB).
    Narrow,
    /// The side signal scaled by 1.6 … 2.5 (+4.1 … +8 dB).
    Wide,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 13] = [
        Kind::BellBoost,
        Kind::BellCut,
        Kind::LowShelfBoost,
        Kind::LowShelfCut,
        Kind::HighShelfBoost,
        Kind::HighShelfCut,
        Kind::LevelDown,
        Kind::LevelUp,
        Kind::Clipping,
        Kind::Dc,
        Kind::Polarity,
        Kind::Narrow,
        Kind::Wide,
    ];

    /// The snake_case name.
    pub fn id(self) -> &'static str {
        match self {
            Kind::BellBoost => "bell_boost",
            Kind::BellCut => "bell_cut",
            Kind::LowShelfBoost => "low_shelf_boost",
            Kind::LowShelfCut => "low_shelf_cut",
            Kind::HighShelfBoost => "high_shelf_boost",
            Kind::HighShelfCut => "high_shelf_cut",
            Kind::LevelDown => "level_down",
            Kind::LevelUp => "level_up",
            Kind::Clipping => "clipping",
            Kind::Dc => "dc",
            Kind::Polarity => "polarity",
            Kind::Narrow => "narrow",
            Kind::Wide => "wide",
        }
    }

    /// Parses [`Kind::id`].
    pub fn from_id(id: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.id() == id)
    }

    /// Changes the spectrum (judged on band levels).
    pub fn is_tonal(self) -> bool {
        matches!(
            self,
            Kind::BellBoost
                | Kind::BellCut
                | Kind::LowShelfBoost
                | Kind::LowShelfCut
                | Kind::HighShelfBoost
                | Kind::HighShelfCut
        )
    }

    /// Needs a stereo image to act on (left out for excerpts that are mono in all but name).
    pub fn needs_stereo(self) -> bool {
        matches!(self, Kind::Polarity | Kind::Narrow | Kind::Wide)
    }
}

/// SplitMix64 (Steele, Lea and Flood, OOPSLA 2014): small, seeded, the same on every machine.
pub struct Rng(u64);

impl Rng {
    /// A generator for `parts` (FNV-1a of each, mixed), so that a case's draw depends only on
    /// the seed and its own names, not on which other cases run.
    pub fn for_case(seed: u64, parts: &[&str]) -> Self {
        let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
        for part in parts {
            for b in part.bytes().chain([0xff]) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        Self(h)
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Log-uniform in `[lo, hi)`.
    pub fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        self.uniform(lo.ln(), hi.ln()).exp()
    }
}

/// One drawn defect.
#[derive(Clone, Debug, Serialize)]
pub struct Defect {
    /// Its kind.
    pub kind: Kind,
    /// Filter frequency, Hz (tonal kinds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freq_hz: Option<f64>,
    /// Filter gain, dB (tonal kinds); level offset from the platform target, LU (level kinds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gain_db: Option<f64>,
    /// Filter Q (tonal kinds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<f64>,
    /// DC (fraction of full scale), the side scale (stereo kinds) or the inverted channel
    /// (0 left, 1 right).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
}

/// Ranges of the draws (documented in `docs/advice.md`).
const TONAL_GAIN_DB: (f64, f64) = (4.0, 8.0);
const BELL_HZ: (f64, f64) = (60.0, 12_000.0);
const BELL_Q: (f64, f64) = (0.7, 4.0);
const LOW_SHELF_HZ: (f64, f64) = (60.0, 300.0);
const HIGH_SHELF_HZ: (f64, f64) = (2000.0, 12_000.0);
const LEVEL_DOWN_LU: (f64, f64) = (4.0, 20.0);
const LEVEL_UP_LU: (f64, f64) = (4.0, 10.0);
/// The sample peak the clipping defect drives the excerpt to before clipping, dBFS.
pub const CLIP_DRIVE_DBFS: f64 = 10.0;
const DC: (f64, f64) = (0.01, 0.04);
const NARROW: (f64, f64) = (0.3, 0.6);
const WIDE: (f64, f64) = (1.6, 2.5);

impl Defect {
    /// Draws a defect of `kind` for an excerpt at `rate`: filter frequencies stay below
    /// 0.4 × `rate` (8.8 kHz for the 22.05 kHz MP3s), where the cookbook's filters still have
    /// their analogue shape.
    pub fn draw(kind: Kind, rate: u32, rng: &mut Rng) -> Self {
        let top = |hz: f64| hz.min(0.4 * f64::from(rate));
        let mut d = Defect { kind, freq_hz: None, gain_db: None, q: None, amount: None };
        let gain = |rng: &mut Rng, sign: f64| sign * rng.uniform(TONAL_GAIN_DB.0, TONAL_GAIN_DB.1);
        match kind {
            Kind::BellBoost | Kind::BellCut => {
                d.freq_hz = Some(rng.log_uniform(BELL_HZ.0, top(BELL_HZ.1)));
                d.q = Some(rng.log_uniform(BELL_Q.0, BELL_Q.1));
                d.gain_db = Some(gain(rng, if kind == Kind::BellBoost { 1.0 } else { -1.0 }));
            }
            Kind::LowShelfBoost | Kind::LowShelfCut => {
                d.freq_hz = Some(rng.log_uniform(LOW_SHELF_HZ.0, LOW_SHELF_HZ.1));
                d.q = Some(FRAC_1_SQRT_2);
                d.gain_db = Some(gain(rng, if kind == Kind::LowShelfBoost { 1.0 } else { -1.0 }));
            }
            Kind::HighShelfBoost | Kind::HighShelfCut => {
                d.freq_hz = Some(rng.log_uniform(HIGH_SHELF_HZ.0, top(HIGH_SHELF_HZ.1)));
                d.q = Some(FRAC_1_SQRT_2);
                d.gain_db = Some(gain(rng, if kind == Kind::HighShelfBoost { 1.0 } else { -1.0 }));
            }
            Kind::LevelDown => d.gain_db = Some(-rng.uniform(LEVEL_DOWN_LU.0, LEVEL_DOWN_LU.1)),
            Kind::LevelUp => d.gain_db = Some(rng.uniform(LEVEL_UP_LU.0, LEVEL_UP_LU.1)),
            Kind::Clipping => d.gain_db = Some(CLIP_DRIVE_DBFS),
            Kind::Dc => d.amount = Some(rng.uniform(DC.0, DC.1)),
            Kind::Polarity => d.amount = Some((rng.next_u64() & 1) as f64),
            Kind::Narrow => d.amount = Some(rng.uniform(NARROW.0, NARROW.1)),
            Kind::Wide => d.amount = Some(rng.uniform(WIDE.0, WIDE.1)),
        }
        d
    }

    /// The filter of a tonal defect.
    pub fn filter(&self, rate: u32) -> Option<Biquad> {
        let (f, g, q) = (self.freq_hz?, self.gain_db?, self.q?);
        let rate = f64::from(rate);
        Some(match self.kind {
            Kind::BellBoost | Kind::BellCut => Biquad::peaking(rate, f, q, g),
            Kind::LowShelfBoost | Kind::LowShelfCut => Biquad::low_shelf(rate, f, q, g),
            Kind::HighShelfBoost | Kind::HighShelfCut => Biquad::high_shelf(rate, f, q, g),
            _ => return None,
        })
    }

    /// The defect applied to a copy of `clean` (stereo, at `rate`). `clean_lufs` is the clean
    /// excerpt's integrated loudness, `target_lufs` the platform's target (level kinds).
    pub fn apply(&self, clean: &[Vec<f32>; 2], rate: u32, clean_lufs: f64, target_lufs: f64) -> [Vec<f32>; 2] {
        let mut out = clean.clone();
        let scale = |out: &mut [Vec<f32>; 2], gain_db: f64| {
            let g = 10f64.powf(gain_db / 20.0) as f32;
            out.iter_mut().flatten().for_each(|x| *x *= g);
        };
        let mid_side = |out: &mut [Vec<f32>; 2], side_scale: f64| {
            let [l, r] = out;
            for (a, b) in l.iter_mut().zip(r.iter_mut()) {
                let (m, s) =
                    (0.5 * (f64::from(*a) + f64::from(*b)), 0.5 * (f64::from(*a) - f64::from(*b)) * side_scale);
                (*a, *b) = ((m + s) as f32, (m - s) as f32);
            }
        };
        match self.kind {
            k if k.is_tonal() => {
                let filter = self.filter(rate).expect("tonal defects have a filter");
                out.iter_mut().for_each(|ch| filter.run(ch));
            }
            Kind::LevelDown | Kind::LevelUp => scale(&mut out, target_lufs + self.gain_db.unwrap_or(0.0) - clean_lufs),
            Kind::Clipping => {
                let peak = clean.iter().flatten().fold(0.0f32, |m, &x| m.max(x.abs()));
                scale(&mut out, CLIP_DRIVE_DBFS - 20.0 * f64::from(peak.max(1e-9)).log10());
                out.iter_mut().flatten().for_each(|x| *x = x.clamp(-1.0, 1.0));
            }
            Kind::Dc => {
                let dc = self.amount.unwrap_or(0.0) as f32;
                out.iter_mut().flatten().for_each(|x| *x += dc);
            }
            Kind::Polarity => {
                let ch = usize::from(self.amount.unwrap_or(0.0) > 0.5);
                out[ch].iter_mut().for_each(|x| *x = -*x);
            }
            Kind::Narrow | Kind::Wide => mid_side(&mut out, self.amount.unwrap_or(1.0)),
            _ => unreachable!("every kind is handled"),
        }
        out
    }

    /// The finding kinds (`analyze --json`) that name this defect: it is detected when one of
    /// them is reported as a warning or a problem. Names the product does not have yet
    /// (`boxiness`, `hollow_mids`) are listed so that the defect counts as
    /// undetected until it does; see `docs/advice.md` for the regions.
    pub fn expected_findings(&self) -> &'static [&'static str] {
        let f = self.freq_hz.unwrap_or(1000.0);
        match self.kind {
            // Too much: the region the boost's centre falls in.
            Kind::BellBoost => match f {
                f if f < 100.0 => &["boom"],
                f if f < 180.0 => &["boom", "mud"],
                f if f < 400.0 => &["mud"],
                f if f < 500.0 => &["mud", "boxiness"],
                f if f < 900.0 => &["boxiness"],
                f if f < 1800.0 => &["boxiness", "harshness"],
                f if f < 4500.0 => &["harshness"],
                f if f < 6000.0 => &["harshness", "sibilance"],
                _ => &["sibilance"],
            },
            // Too little: the lows are thin, the top is dull; a cut in the middle leaves them
            // hollow, which has no kind today.
            Kind::BellCut => match f {
                f if f < 200.0 => &["thin_low_end"],
                f if f < 2000.0 => &["hollow_mids"],
                f if f < 4500.0 => &["hollow_mids", "dull_top"],
                _ => &["dull_top"],
            },
            Kind::LowShelfBoost if f >= 200.0 => &["boom", "mud"],
            Kind::LowShelfBoost => &["boom"],
            Kind::LowShelfCut => &["thin_low_end"],
            Kind::HighShelfBoost if f < 4500.0 => &["harshness", "sibilance"],
            Kind::HighShelfBoost => &["sibilance"],
            Kind::HighShelfCut => &["dull_top"],
            Kind::LevelDown => &["too_quiet"],
            Kind::LevelUp => &["too_loud"],
            Kind::Clipping => &["clipping"],
            Kind::Dc => &["dc_offset"],
            Kind::Polarity => &["polarity_inverted", "phase_problem", "mono_compatibility"],
            Kind::Narrow => &["narrow_stereo"],
            Kind::Wide => &["phase_problem", "mono_compatibility"],
        }
    }

    /// One line: `bell_boost +6.2 dB at 612 Hz, Q 1.3`.
    pub fn describe(&self) -> String {
        let kind = self.kind.id();
        match (self.freq_hz, self.gain_db, self.q, self.amount) {
            (Some(f), Some(g), Some(q), _) => format!("{kind} {g:+.1} dB at {f:.0} Hz, Q {q:.2}"),
            (_, Some(g), _, _) if self.kind == Kind::Clipping => format!("{kind}: peak driven to {g:+.0} dBFS"),
            (_, Some(g), _, _) => format!("{kind} to {g:+.1} LU from the target"),
            (_, _, _, Some(a)) if self.kind == Kind::Dc => format!("{kind} {:+.1} % of full scale", a * 100.0),
            (_, _, _, Some(a)) if self.kind == Kind::Polarity => {
                format!("{kind}: {} channel inverted", if a > 0.5 { "right" } else { "left" })
            }
            (_, _, _, Some(a)) => format!("{kind}: side × {a:.2}"),
            _ => kind.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_seeded_and_within_their_ranges() {
        for i in 0..200 {
            let name = format!("track{i}");
            for kind in Kind::ALL {
                let a = Defect::draw(kind, 48_000, &mut Rng::for_case(11, &[&name, kind.id()]));
                let b = Defect::draw(kind, 48_000, &mut Rng::for_case(11, &[&name, kind.id()]));
                assert_eq!(a.describe(), b.describe());
                if let (Some(f), Some(g)) = (a.freq_hz, a.gain_db) {
                    assert!((60.0..=12_000.0).contains(&f), "{f}");
                    assert!((4.0..=8.0).contains(&g.abs()), "{g}");
                }
                if let Some(q) = a.q {
                    assert!((0.7..=4.0).contains(&q));
                }
            }
        }
        let a = Defect::draw(Kind::BellBoost, 48_000, &mut Rng::for_case(11, &["x"]));
        let b = Defect::draw(Kind::BellBoost, 48_000, &mut Rng::for_case(12, &["x"]));
        assert_ne!(a.freq_hz, b.freq_hz);
    }

    #[test]
    fn defects_do_what_they_say() {
        let rate = 48_000;
        let l: Vec<f32> = (0..4800).map(|n| (n as f32 * 0.05).sin() * 0.25).collect();
        let r: Vec<f32> = (0..4800).map(|n| (n as f32 * 0.07).sin() * 0.25).collect();
        let clean = [l, r];
        let d = Defect { kind: Kind::Polarity, freq_hz: None, gain_db: None, q: None, amount: Some(1.0) };
        let out = d.apply(&clean, rate, -20.0, -14.0);
        assert_eq!(out[0], clean[0]);
        assert!(out[1].iter().zip(&clean[1]).all(|(a, b)| *a == -*b));
        let d = Defect { kind: Kind::Clipping, freq_hz: None, gain_db: Some(10.0), q: None, amount: None };
        let out = d.apply(&clean, rate, -20.0, -14.0);
        assert_eq!(out.iter().flatten().fold(0.0f32, |m, &x| m.max(x.abs())), 1.0);
        let d = Defect { kind: Kind::LevelDown, freq_hz: None, gain_db: Some(-6.0), q: None, amount: None };
        let out = d.apply(&clean, rate, -20.0, -14.0);
        // −14 − 6 − (−20) = 0 dB: unchanged.
        assert!(out[0].iter().zip(&clean[0]).all(|(a, b)| (a - b).abs() < 1e-6));
        let d = Defect { kind: Kind::Narrow, freq_hz: None, gain_db: None, q: None, amount: Some(0.0) };
        let out = d.apply(&clean, rate, -20.0, -14.0);
        assert_eq!(out[0], out[1]);
    }
}
