//! Helpers shared by the integration tests of the core and plugin crates (each test file includes this module, and
//! not every file uses every helper).
#![allow(dead_code)]

/// A small seeded generator (xorshift64*), so the tests need no RNG crate and every run sees
/// the same numbers.
pub struct Rng(pub u64);

impl Rng {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in 0 ..< 1.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in −1 ..= 1, as an audio sample.
    pub fn bipolar(&mut self) -> f32 {
        (self.unit() * 2.0 - 1.0) as f32
    }

    /// Uniform integer in `lo ..= hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }
}

/// The bundled demo song.
pub fn demo_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/demo.flac")
}

/// The offline analysis of the demo.
pub fn demo_analysis() -> std::sync::Arc<audiocollab_core::analysis::track::TrackAnalysis> {
    use audiocollab_core::analysis::track::{analyze, AnalyzeOptions};
    let audio = audiocollab_core::offline::read_audio(&demo_path()).expect("demo");
    std::sync::Arc::new(
        analyze(audio.sample_rate, &audio.channels, &AnalyzeOptions::default(), |_| {}).expect("analysis"),
    )
}
