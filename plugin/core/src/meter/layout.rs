//! Which speaker each channel of a stream feeds, and what follows from it: the BS.1770-4
//! channel weight of every channel and the stereo fold-down the analysis measures surround
//! files on.
//!
//! Speakers are those of the WAV channel mask (`dwChannelMask` of `WAVE_FORMAT_EXTENSIBLE`,
//! bit `k` = [`Speaker::ALL`]`[k]`), which FLAC and symphonia use too. A stream whose layout is
//! not stated gets the ITU order for its channel count ([`ChannelLayout::itu`]).
//!
//! # Weights (ITU-R BS.1770-4)
//!
//! Table 3 weighs L, R and C 1.0 and the surrounds Ls, Rs 1.41 (+1.5 dB), and leaves the LFE
//! out. For layouts of up to six channels (the most a meter takes, [`MAX_CHANNELS`]) the side
//! and back pairs are the surrounds whatever the mask calls them (5.1 is written with the back
//! bits as often as with the side bits), so both weigh 1.41; the back centre weighs 1.0, as the
//! annex for advanced sound systems (Table 4) gives 1.41 only between 60° and 120° of azimuth;
//! height speakers weigh 1.0 for the same reason.
//!
//! # Fold-down
//!
//! Surround files are measured for loudness and peaks on every channel, but the spectral,
//! stereo and tonal statistics, tempo and key on a stereo fold-down: `Lo = L + 0.7071·C +
//! 0.7071·Ls`, `Ro = R + 0.7071·C + 0.7071·Rs`, the LFE left out (ITU-R BS.775-3, Table 2).
//! Back centre and height speakers fold like their horizontal counterparts (a centre speaker
//! into both sides at 0.7071, a surround at 0.7071, a front at 1).

use super::MAX_CHANNELS;

/// A speaker position, in the order of the WAV channel mask's bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Speaker {
    /// Front left (L).
    FrontLeft,
    /// Front right (R).
    FrontRight,
    /// Front centre (C).
    FrontCentre,
    /// Low-frequency effects (LFE).
    Lfe,
    /// Back left (the Ls of most 5.1 files).
    BackLeft,
    /// Back right (the Rs of most 5.1 files).
    BackRight,
    /// Front left of centre.
    FrontLeftOfCentre,
    /// Front right of centre.
    FrontRightOfCentre,
    /// Back centre.
    BackCentre,
    /// Side left (Ls).
    SideLeft,
    /// Side right (Rs).
    SideRight,
    /// Top centre.
    TopCentre,
    /// Top front left.
    TopFrontLeft,
    /// Top front centre.
    TopFrontCentre,
    /// Top front right.
    TopFrontRight,
    /// Top back left.
    TopBackLeft,
    /// Top back centre.
    TopBackCentre,
    /// Top back right.
    TopBackRight,
}

/// Which side of the listener a speaker is on, for the fold-down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Left,
    Right,
    Centre,
}

impl Speaker {
    /// Every speaker, in the order of the channel mask's bits (bit 0 = front left).
    pub const ALL: [Speaker; 18] = [
        Speaker::FrontLeft,
        Speaker::FrontRight,
        Speaker::FrontCentre,
        Speaker::Lfe,
        Speaker::BackLeft,
        Speaker::BackRight,
        Speaker::FrontLeftOfCentre,
        Speaker::FrontRightOfCentre,
        Speaker::BackCentre,
        Speaker::SideLeft,
        Speaker::SideRight,
        Speaker::TopCentre,
        Speaker::TopFrontLeft,
        Speaker::TopFrontCentre,
        Speaker::TopFrontRight,
        Speaker::TopBackLeft,
        Speaker::TopBackCentre,
        Speaker::TopBackRight,
    ];

    /// The usual short label: `L`, `R`, `C`, `LFE`, `Ls`, `Rs`, ….
    pub fn label(self) -> &'static str {
        match self {
            Speaker::FrontLeft => "L",
            Speaker::FrontRight => "R",
            Speaker::FrontCentre => "C",
            Speaker::Lfe => "LFE",
            Speaker::BackLeft => "Lb",
            Speaker::BackRight => "Rb",
            Speaker::FrontLeftOfCentre => "Lc",
            Speaker::FrontRightOfCentre => "Rc",
            Speaker::BackCentre => "Cb",
            Speaker::SideLeft => "Ls",
            Speaker::SideRight => "Rs",
            Speaker::TopCentre => "Tc",
            Speaker::TopFrontLeft => "Tfl",
            Speaker::TopFrontCentre => "Tfc",
            Speaker::TopFrontRight => "Tfr",
            Speaker::TopBackLeft => "Tbl",
            Speaker::TopBackCentre => "Tbc",
            Speaker::TopBackRight => "Tbr",
        }
    }

    /// BS.1770-4 weight `G_i` (see the module documentation).
    pub fn weight(self) -> f64 {
        match self {
            Speaker::Lfe => 0.0,
            Speaker::BackLeft | Speaker::BackRight | Speaker::SideLeft | Speaker::SideRight => 1.41,
            _ => 1.0,
        }
    }

    fn side(self) -> Side {
        use Speaker::*;
        match self {
            FrontLeft | BackLeft | FrontLeftOfCentre | SideLeft | TopFrontLeft | TopBackLeft => Side::Left,
            FrontRight | BackRight | FrontRightOfCentre | SideRight | TopFrontRight | TopBackRight => Side::Right,
            FrontCentre | Lfe | BackCentre | TopCentre | TopFrontCentre | TopBackCentre => Side::Centre,
        }
    }

    /// Gains into `(Lo, Ro)` of the fold-down (see the module documentation).
    fn fold_gains(self) -> (f32, f32) {
        const HALF_POWER: f32 = std::f32::consts::FRAC_1_SQRT_2;
        let level = match self {
            Speaker::Lfe => return (0.0, 0.0),
            Speaker::FrontLeft | Speaker::FrontRight | Speaker::FrontLeftOfCentre | Speaker::FrontRightOfCentre => 1.0,
            Speaker::TopFrontLeft | Speaker::TopFrontRight => 1.0,
            _ => HALF_POWER,
        };
        match self.side() {
            Side::Left => (level, 0.0),
            Side::Right => (0.0, level),
            // A centre speaker is already "level" 1; it goes into both sides at −3 dB.
            Side::Centre => (HALF_POWER, HALF_POWER),
        }
    }
}

/// The speaker of each channel of a stream of 1 to [`MAX_CHANNELS`] channels. `Copy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelLayout {
    speakers: [Speaker; MAX_CHANNELS],
    count: usize,
}

impl ChannelLayout {
    /// The layout a stream of `count` channels has when nothing says otherwise (`None` for 0 or
    /// more than [`MAX_CHANNELS`]): mono C; stereo L R; 3.0 L R C; quad L R Ls Rs (the order
    /// FLAC and Vorbis define for four channels); 5.0 L R C Ls Rs; 5.1 L R C LFE Ls Rs (ITU-R
    /// BS.775 and SMPTE order, as FLAC and the WAV mask bits have it).
    pub fn itu(count: usize) -> Option<Self> {
        use Speaker::*;
        let speakers: &[Speaker] = match count {
            1 => &[FrontCentre],
            2 => &[FrontLeft, FrontRight],
            3 => &[FrontLeft, FrontRight, FrontCentre],
            4 => &[FrontLeft, FrontRight, SideLeft, SideRight],
            5 => &[FrontLeft, FrontRight, FrontCentre, SideLeft, SideRight],
            6 => &[FrontLeft, FrontRight, FrontCentre, Lfe, SideLeft, SideRight],
            _ => return None,
        };
        Self::from_speakers(speakers)
    }

    /// The layout a WAV channel mask states for `count` channels: the channels are in the order
    /// of the mask's set bits, lowest first. `None` when the mask does not describe exactly
    /// `count` known speakers (a mask of 0 means "not stated"), or for more than
    /// [`MAX_CHANNELS`] channels.
    pub fn from_mask(mask: u32, count: usize) -> Option<Self> {
        if mask == 0 || mask >> Speaker::ALL.len() != 0 || mask.count_ones() as usize != count {
            return None;
        }
        let speakers: Vec<Speaker> =
            Speaker::ALL.iter().enumerate().filter(|(bit, _)| mask & (1 << bit) != 0).map(|(_, &s)| s).collect();
        Self::from_speakers(&speakers)
    }

    /// A layout from its speakers, in channel order (`None` for none, more than
    /// [`MAX_CHANNELS`] or a speaker listed twice).
    pub fn from_speakers(speakers: &[Speaker]) -> Option<Self> {
        if speakers.is_empty() || speakers.len() > MAX_CHANNELS {
            return None;
        }
        if speakers.iter().enumerate().any(|(i, s)| speakers[..i].contains(s)) {
            return None;
        }
        let mut out = [Speaker::FrontCentre; MAX_CHANNELS];
        out[..speakers.len()].copy_from_slice(speakers);
        Some(Self { speakers: out, count: speakers.len() })
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.count
    }

    /// The speaker of each channel, in channel order.
    pub fn speakers(&self) -> &[Speaker] {
        &self.speakers[..self.count]
    }

    /// More than two channels.
    pub fn is_surround(&self) -> bool {
        self.count > 2
    }

    /// BS.1770-4 weight of each channel (zero past the last channel).
    pub fn weights(&self) -> [f64; MAX_CHANNELS] {
        let mut w = [0.0; MAX_CHANNELS];
        for (w, s) in w.iter_mut().zip(self.speakers()) {
            *w = s.weight();
        }
        w
    }

    /// The speakers' labels in channel order, e.g. `"L R C LFE Ls Rs"`.
    pub fn describe(&self) -> String {
        self.speakers().iter().map(|s| s.label()).collect::<Vec<_>>().join(" ")
    }

    /// Writes the stereo fold-down of one block (`block[ch][frame]`, this layout's channels) into
    /// `lo` and `ro`, which must be as long as the block. Allocates nothing.
    pub fn fold_down(&self, block: &[&[f32]], lo: &mut [f32], ro: &mut [f32]) {
        lo.fill(0.0);
        ro.fill(0.0);
        for (speaker, samples) in self.speakers().iter().zip(block) {
            let (gl, gr) = speaker.fold_gains();
            for ((l, r), &x) in lo.iter_mut().zip(ro.iter_mut()).zip(samples.iter()) {
                *l += gl * x;
                *r += gr * x;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn itu_defaults_weigh_surrounds_and_drop_the_lfe() {
        assert_eq!(ChannelLayout::itu(5).unwrap().weights()[..5], [1.0, 1.0, 1.0, 1.41, 1.41]);
        assert_eq!(ChannelLayout::itu(6).unwrap().weights(), [1.0, 1.0, 1.0, 0.0, 1.41, 1.41]);
        assert_eq!(ChannelLayout::itu(2).unwrap().weights()[..3], [1.0, 1.0, 0.0]);
        assert_eq!(ChannelLayout::itu(6).unwrap().describe(), "L R C LFE Ls Rs");
        assert!(ChannelLayout::itu(0).is_none() && ChannelLayout::itu(7).is_none());
    }

    #[test]
    fn masks_give_the_order_of_their_bits() {
        // 5.1 with the back bits (0x3F) and with the side bits (0x60F).
        let back = ChannelLayout::from_mask(0x3F, 6).unwrap();
        assert_eq!(back.describe(), "L R C LFE Lb Rb");
        assert_eq!(back.weights(), [1.0, 1.0, 1.0, 0.0, 1.41, 1.41]);
        assert_eq!(ChannelLayout::from_mask(0x60F, 6).unwrap().weights(), [1.0, 1.0, 1.0, 0.0, 1.41, 1.41]);
        // 4.1 without a centre: the LFE is the third channel.
        let four_one = ChannelLayout::from_mask(0x3B, 5).unwrap();
        assert_eq!(four_one.weights()[..5], [1.0, 1.0, 0.0, 1.41, 1.41]);
        // A mask that does not match the count, a reserved bit, or no mask at all.
        assert!(ChannelLayout::from_mask(0x3F, 5).is_none());
        assert!(ChannelLayout::from_mask(0x8000_0001, 2).is_none());
        assert!(ChannelLayout::from_mask(0, 2).is_none());
        assert!(ChannelLayout::from_speakers(&[Speaker::FrontLeft, Speaker::FrontLeft]).is_none());
    }

    #[test]
    fn fold_down_follows_bs775() {
        let layout = ChannelLayout::itu(6).unwrap();
        let ch: Vec<[f32; 1]> = vec![[1.0], [2.0], [4.0], [100.0], [8.0], [16.0]];
        let block: Vec<&[f32]> = ch.iter().map(|c| &c[..]).collect();
        let (mut lo, mut ro) = ([0.0f32], [0.0f32]);
        layout.fold_down(&block, &mut lo, &mut ro);
        let h = std::f32::consts::FRAC_1_SQRT_2;
        assert!((lo[0] - (1.0 + h * 4.0 + h * 8.0)).abs() < 1e-5, "{lo:?}");
        assert!((ro[0] - (2.0 + h * 4.0 + h * 16.0)).abs() < 1e-5, "{ro:?}");
    }
}
