//! Realtime statistics for the audio thread: K-weighted energy, sample peak and true peak on a
//! fixed 10 ms grid ([`LoudnessGrid`] emits [`Cell`]s). The loudness figures themselves
//! (momentary, short-term, integrated, LRA) are computed from the cells, off the audio thread,
//! by [`crate::analysis::loudness`].
//!
//! Realtime contract: everything is allocated in the constructors; the per-block functions do
//! no allocation, take no lock and do no I/O. Nothing here knows about nice-plug.

pub mod kweight;
pub mod layout;
pub mod loudness_grid;
pub mod stats;
pub mod true_peak;

pub use layout::{ChannelLayout, Speaker};
pub use loudness_grid::{Cell, LoudnessGrid, MeterError, CELL_SECONDS, MAX_CHANNELS};
pub use stats::{StatsError, StatsFrame, StatsMeter};

/// BS.1770-4 channel weights `G_i` (Table 3) of the default layout for a channel count
/// ([`ChannelLayout::itu`]): mono and stereo weigh 1.0; five channels are L, R, C, Ls, Rs
/// (surrounds 1.41); six are L, R, C, LFE, Ls, Rs with the LFE excluded. A mono signal is
/// measured as one channel (BS.1770-4 does not add the +3 dB some meters apply to "dual
/// mono"). A stream whose layout is known uses [`ChannelLayout::weights`] instead.
pub fn bs1770_weights(channels: usize) -> [f64; MAX_CHANNELS] {
    ChannelLayout::itu(channels).map_or([1.0; MAX_CHANNELS], |layout| layout.weights())
}

/// Does the CPU run AVX2 and FMA instructions? The meters ask once, in their constructors, and
/// then run their inner loops compiled for those instructions too (the plugin is built for
/// baseline x86-64, which has neither).
pub fn avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}
