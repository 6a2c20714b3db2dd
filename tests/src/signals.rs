//! Deterministic test signals, comparisons and offline reference renders shared by the CLAP and
//! VST3 host tests: the same seed gives the same samples in both, and both hold the plugin
//! against the same offline [`Chain`] render.

use audiocollab_core::dsp::Chain;
use audiocollab_core::spec::Settings;

/// Sample rate of the test signals and of the offline renders.
pub const SAMPLE_RATE: f32 = 48_000.0;

/// A small deterministic generator (xorshift64*), so failures reproduce.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (0, which xorshift never leaves, is taken as 1).
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [-1, 1).
    pub fn bipolar(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }
}

/// `channels` channels of `frames` samples at [`SAMPLE_RATE`]: a few sines per channel (low,
/// mid, sibilant, air; even and odd channels differ) plus noise seeded by `seed`; peaks around
/// 0.7. The channels are generated in order from one generator, so a mono signal is the first
/// channel of the stereo one with the same seed.
pub fn test_signal(channels: usize, frames: usize, seed: u64) -> Vec<Vec<f32>> {
    let tones: [&[(f32, f32)]; 2] = [
        &[(0.30, 110.0), (0.20, 1250.0), (0.10, 6800.0), (0.04, 12_000.0)],
        &[(0.25, 82.0), (0.20, 660.0), (0.12, 5200.0), (0.05, 15_000.0)],
    ];
    let mut rng = Rng::new(seed);
    (0..channels)
        .map(|c| {
            (0..frames)
                .map(|i| {
                    let t = i as f32 / SAMPLE_RATE;
                    let tonal: f32 = tones[c % 2]
                        .iter()
                        .enumerate()
                        .map(|(k, &(a, f))| a * (std::f32::consts::TAU * f * t + k as f32).sin())
                        .sum();
                    tonal + 0.05 * rng.bipolar()
                })
                .collect()
        })
        .collect()
}

/// Largest absolute difference; NaN anywhere counts as infinitely different.
///
/// # Panics
///
/// If the channel counts or the channel lengths differ.
pub fn max_abs_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len(), "channel counts differ");
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| {
            assert_eq!(x.len(), y.len(), "lengths differ");
            x.iter().zip(y).map(|(p, q)| {
                let d = (p - q).abs();
                if d.is_nan() {
                    f32::INFINITY
                } else {
                    d
                }
            })
        })
        .fold(0.0, f32::max)
}

/// Root mean square of `x` (0 when empty).
pub fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

/// `x` in decibels (`20 log10`), floored at −240 dB.
pub fn db(x: f32) -> f32 {
    20.0 * x.max(1e-12).log10()
}

/// Renders `input` through the offline chain reset to `start`, switching to each
/// `(sample, settings)` of `changes` (ascending; at equal samples the last wins) at its sample,
/// in pieces that end at every multiple of `block` and at every change, as nice-plug's wrappers
/// split the host's blocks.
pub fn render_offline(
    input: &[Vec<f32>],
    start: &Settings,
    changes: &[(usize, Settings)],
    block: usize,
) -> Vec<Vec<f32>> {
    let mut chain = Chain::new(SAMPLE_RATE);
    chain.reset(start);
    let mut output = input.to_vec();
    let frames = input[0].len();
    let mut settings = *start;
    let mut next = 0;
    let mut at = 0;
    while at < frames {
        while let Some(&(_, s)) = changes.get(next).filter(|(t, _)| *t <= at) {
            settings = s;
            next += 1;
        }
        let mut end = ((at / block) + 1) * block;
        if let Some(&(time, _)) = changes.get(next) {
            end = end.min(time);
        }
        let end = end.min(frames);
        let mut piece: Vec<&mut [f32]> = output.iter_mut().map(|c| &mut c[at..end]).collect();
        chain.process(&mut piece, &settings);
        at = end;
    }
    output
}

/// `changes` for [`render_offline`] moved to the start of their `block`: how the render would
/// look if a host applied parameter changes at block starts instead of at their samples.
pub fn at_block_starts(changes: &[(usize, Settings)], block: usize) -> Vec<(usize, Settings)> {
    changes.iter().map(|&(time, settings)| (time / block * block, settings)).collect()
}
