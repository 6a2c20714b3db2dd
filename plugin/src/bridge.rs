//! Values shared between the audio thread and the editor.
//!
//! Today this is a handful of meter readings; the statistics rings of the analysis worker are
//! created here too when they arrive, so every cross-thread channel lives in one file.

use nice_plug::prelude::AtomicF32;
use std::sync::atomic::Ordering;

/// Meter readings the audio thread publishes for the editor, only while the editor is open.
///
/// Single writer (audio thread), single reader (GUI thread). Peaks are "largest since the
/// editor last looked": the audio thread raises them, the editor takes them and resets them to
/// zero. A race between the two can at worst drop one block's peak from the display.
#[derive(Debug, Default)]
pub struct Meters {
    /// Input sample peak per channel since the last read, linear.
    pub input_peak: [AtomicF32; 2],
    /// Output sample peak per channel since the last read, linear.
    pub output_peak: [AtomicF32; 2],
    /// Compressor gain reduction at the end of the last block, dB (≥ 0).
    pub gain_reduction_db: AtomicF32,
    /// De-esser reduction of the sibilance band at the end of the last block, dB (≥ 0).
    pub deess_reduction_db: AtomicF32,
    /// The host's sample rate, set in `activate()` (0 before), for the EQ curve.
    pub sample_rate: AtomicF32,
}

impl Meters {
    /// Audio thread: raises a peak reading.
    #[inline]
    pub fn raise(meter: &AtomicF32, value: f32) {
        if value > meter.load(Ordering::Relaxed) {
            meter.store(value, Ordering::Relaxed);
        }
    }

    /// GUI thread: takes a peak reading and resets it.
    pub fn take(meter: &AtomicF32) -> f32 {
        meter.swap(0.0, Ordering::Relaxed)
    }
}

/// Largest absolute sample of a channel.
#[inline]
pub fn channel_peak(samples: &[f32]) -> f32 {
    samples.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}
