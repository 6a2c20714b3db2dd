//! Values shared between the audio thread and the editor.
//!
//! Every cross-thread channel lives in this file: the editor's meter readings ([`Meters`]) and
//! the two rings from the audio thread to the analysis worker, all created by
//! [`StatsQueues::new`].
//!
//! # The worker rings
//!
//! * [`StatsFrame`]s, one per 100 ms ([`STATS_RING_CAPACITY`]);
//! * the mono downmix of the output, for tempo and key ([`DOWNMIX_RING_CAPACITY`]).
//!
//! Both are `rtrb` single-producer single-consumer rings, allocated once.
//!
//! # The scope ring
//!
//! While the window is open, the audio thread also copies its output into a third ring
//! ([`scope_ring`]), which the window's spectrum analyser drains every frame. Nothing is
//! pushed while the window is closed. The audio thread owns
//! the producers ([`AudioEnds`]) and never waits: a push to a full ring drops the value and
//! counts it in [`Telemetry`]. The worker owns the consumers ([`WorkerEnds`]) and polls them
//! (rtrb has no way to wait): see [`crate::live::AnalysisWorker`], which the plugin
//! starts at its first activation.

use audiocollab_core::meter::StatsFrame;
use nice_plug::prelude::AtomicF32;
use rtrb::{Consumer, Producer, RingBuffer};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Capacity of the [`StatsFrame`] ring. Frames come 10 per second, so 64 frames let the
/// worker stall for 6.4 s before any is dropped, for about 120 KB (a frame is about 1.9 KB).
pub const STATS_RING_CAPACITY: usize = 64;

/// Capacity of the mono downmix ring, in samples: 2^17 = 131 072, 2.7 s at 48 kHz (1.4 s at
/// 96 kHz), 512 KB. Tempo and key analysis read it in hops far shorter than that.
pub const DOWNMIX_RING_CAPACITY: usize = 1 << 17;

/// Counters of what the audio thread could not deliver. Written by the audio thread only
/// (`Relaxed`), read by anyone.
#[derive(Debug, Default)]
pub struct Telemetry {
    /// [`StatsFrame`]s dropped because the frame ring was full.
    pub dropped_frames: AtomicU64,
    /// Downmix samples dropped because the downmix ring was full.
    pub dropped_samples: AtomicU64,
    /// [`StatsFrame`]s pushed into the ring.
    pub pushed_frames: AtomicU64,
    /// Downmix samples pushed into the ring.
    pub pushed_samples: AtomicU64,
}

/// The producer ends, owned by the audio thread. Every method is realtime-safe: no allocation,
/// lock or wait.
#[derive(Debug)]
pub struct AudioEnds {
    frames: Producer<StatsFrame>,
    downmix: Producer<f32>,
    telemetry: Arc<Telemetry>,
}

/// The consumer ends, owned by the analysis worker. Poll them; nothing wakes the worker.
#[derive(Debug)]
pub struct WorkerEnds {
    /// Statistics frames in `seq` order (a gap in `seq` means frames were dropped).
    pub frames: Consumer<StatsFrame>,
    /// Mono downmix samples of the output, `(l+r)/2` for stereo.
    pub downmix: Consumer<f32>,
    /// The drop counters, shared with the audio side.
    pub telemetry: Arc<Telemetry>,
}

/// Every worker queue, created together: split it into its two ends.
#[derive(Debug)]
pub struct StatsQueues {
    /// The producers, for the audio thread.
    pub audio: AudioEnds,
    /// The consumers, for the worker.
    pub worker: WorkerEnds,
}

impl StatsQueues {
    /// Allocates both rings (with [`STATS_RING_CAPACITY`] and [`DOWNMIX_RING_CAPACITY`]) and
    /// the shared [`Telemetry`]. Not for the audio thread.
    pub fn new() -> Self {
        Self::with_capacities(STATS_RING_CAPACITY, DOWNMIX_RING_CAPACITY)
    }

    /// [`Self::new`] with other capacities (for tests).
    pub fn with_capacities(frames: usize, samples: usize) -> Self {
        let telemetry = Arc::new(Telemetry::default());
        let (frames_tx, frames_rx) = RingBuffer::new(frames);
        let (downmix_tx, downmix_rx) = RingBuffer::new(samples);
        Self {
            audio: AudioEnds { frames: frames_tx, downmix: downmix_tx, telemetry: telemetry.clone() },
            worker: WorkerEnds { frames: frames_rx, downmix: downmix_rx, telemetry },
        }
    }
}

impl Default for StatsQueues {
    fn default() -> Self {
        Self::new()
    }
}

impl AudioEnds {
    /// Pushes a frame; if the ring is full, drops it, counts it and returns `false`.
    pub fn push_frame(&mut self, frame: &StatsFrame) -> bool {
        let ok = self.frames.push(*frame).is_ok();
        let counter = if ok { &self.telemetry.pushed_frames } else { &self.telemetry.dropped_frames };
        counter.fetch_add(1, Ordering::Relaxed);
        ok
    }

    /// Pushes the mono downmix of `block` (`block[ch][frame]`: the channel mean, non-finite
    /// samples as 0) as far as the ring has room; drops and counts the rest. Returns the
    /// samples pushed.
    pub fn push_downmix(&mut self, block: &[&[f32]]) -> usize {
        let Some(first) = block.first() else { return 0 };
        let len = first.len();
        let room = self.downmix.slots().min(len);
        let scale = 1.0 / block.len() as f32;
        let pushed = match self.downmix.write_chunk_uninit(room) {
            Ok(chunk) => chunk.fill_from_iter((0..room).map(|i| {
                let sum: f32 = block.iter().map(|ch| ch.get(i).copied().filter(|x| x.is_finite()).unwrap_or(0.0)).sum();
                sum * scale
            })),
            Err(_) => 0,
        };
        self.telemetry.pushed_samples.fetch_add(pushed as u64, Ordering::Relaxed);
        self.telemetry.dropped_samples.fetch_add((len - pushed) as u64, Ordering::Relaxed);
        pushed
    }

    /// Whether the worker has taken everything pushed so far (both rings empty).
    pub fn is_drained(&self) -> bool {
        self.frames.slots() == self.frames.buffer().capacity()
            && self.downmix.slots() == self.downmix.buffer().capacity()
    }

    /// The drop counters.
    pub fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }
}

/// Capacity of the scope ring, in stereo frames: 2^15 = 32 768, 0.68 s at 48 kHz, 256 KB. The
/// window drains it at 30 frames per second or faster; what a stalled window misses is
/// dropped (a spectrum only needs the latest audio).
pub const SCOPE_RING_CAPACITY: usize = 1 << 15;

/// The ring from the audio thread to the window's spectrum analyser: `[left, right]` frames of
/// the output (a mono output is copied into both).
pub fn scope_ring() -> (Producer<[f32; 2]>, Consumer<[f32; 2]>) {
    RingBuffer::new(SCOPE_RING_CAPACITY)
}

/// Audio thread: copies `block` (`block[ch][frame]`, 1 or 2 channels) into the scope ring as
/// far as it has room. Realtime-safe. Returns the frames pushed.
pub fn push_scope(scope: &mut Producer<[f32; 2]>, block: &[&[f32]]) -> usize {
    let (Some(left), right) = (block.first(), block.get(1)) else { return 0 };
    let right = right.unwrap_or(left);
    let room = scope.slots().min(left.len()).min(right.len());
    match scope.write_chunk_uninit(room) {
        Ok(chunk) => chunk.fill_from_iter(left.iter().zip(right.iter()).map(|(&l, &r)| [l, r])),
        Err(_) => 0,
    }
}

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
    /// Output channels, set in `activate()` (1 or 2; 0 before), for the spectrum's scale.
    pub channels: std::sync::atomic::AtomicU32,
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
