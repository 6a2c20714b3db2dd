//! The live analysis of the plugin's output, off the audio thread: a [`LiveAnalysis`] drains the
//! audio thread's rings ([`WorkerEnds`]) into a [`Timeline`] and a bounded mono downmix, and an
//! [`AnalysisWorker`] thread does that every [`POLL_INTERVAL`] and publishes a fresh
//! [`TrackAnalysis`] every [`ANALYSIS_INTERVAL`] (or at once when asked).
//!
//! Streams restart: when the host resets or reactivates the plugin, the meter starts again at
//! frame 0 (or at another sample rate or channel count). The frame that cannot continue the
//! timeline starts a new one; the old one is dropped with its downmix.
//!
//! The downmix covers the last [`DOWNMIX_SECONDS`] only (tempo, key, sections and character are
//! judged on that stretch); the timeline keeps the whole stream (about 12 MB per hour).

use crate::bridge::WorkerEnds;
use audiocollab_core::analysis::levels::Levels;
use audiocollab_core::analysis::loudness::LoudnessReport;
use audiocollab_core::analysis::timeline::{Timeline, TimelineError};
use audiocollab_core::analysis::track::{analyze_timeline, AnalyzeError, AnalyzeOptions, TrackAnalysis};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How much recent mono downmix is kept for tempo, key, sections and character, seconds.
pub const DOWNMIX_SECONDS: f64 = 90.0;
/// How often the worker drains the rings. The frame ring holds 6.4 s, so this leaves a wide
/// margin before any frame is dropped.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// How often the worker publishes a new analysis while audio flows (tempo and key over
/// [`DOWNMIX_SECONDS`] take a few tens of milliseconds; every 5 s keeps the thread mostly idle).
pub const ANALYSIS_INTERVAL: Duration = Duration::from_secs(5);

/// The timeline and recent downmix of the stream being played, and the window's loudness
/// meter over it.
#[derive(Debug, Default)]
pub struct LiveAnalysis {
    timeline: Option<Timeline>,
    downmix: VecDeque<f32>,
    restarts: u64,
    levels: Option<Levels>,
    correlation: Option<f32>,
}

/// What the window's meters show, published by the worker after every drain.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LiveLevels {
    /// Loudness, peaks, range and PLR since the stream started or the meter was reset.
    pub loudness: LoudnessReport,
    /// Stereo correlation of the last 100 ms frame (`None` for mono or a silent channel).
    pub correlation: Option<f32>,
    /// Length of the stream so far, seconds (the findings timeline's "now").
    pub stream_s: f64,
    /// Restarts of the stream so far (a new stream starts the timeline again).
    pub restarts: u64,
}

impl LiveAnalysis {
    /// Nothing measured yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves everything waiting in the rings into the timeline and the downmix; returns the
    /// frames taken. A frame that cannot continue the timeline (the meter restarted) starts a
    /// new one.
    pub fn drain(&mut self, ends: &mut WorkerEnds) -> usize {
        let mut taken = 0;
        while let Ok(frame) = ends.frames.pop() {
            taken += 1;
            let pushed = match &mut self.timeline {
                Some(t) => t.push(&frame),
                None => Err(TimelineError::OutOfOrder { last: 0, got: 0 }),
            };
            if pushed.is_err() {
                // A restart (or the first frame): a new stream from this frame on. A frame the
                // meter could not have made (bad rate) leaves no timeline until a good one.
                // On a restart the downmix read so far belongs to the old stream (or, for up to
                // one frame, already to the new one: lost, a few tens of milliseconds). Before
                // the first frame ever, everything read belongs to this stream: keep it.
                if self.timeline.is_some() {
                    self.restarts += 1;
                    self.downmix.clear();
                }
                self.timeline = Timeline::new(frame.sample_rate_hz, frame.channels as usize)
                    .ok()
                    .and_then(|mut t| t.push(&frame).ok().map(|()| t));
                self.levels = self.timeline.as_ref().map(|t| Levels::new(t.sample_rate() as f64, t.channels()));
            }
            if let Some(levels) = &mut self.levels {
                let count = (frame.cell_count as usize).min(frame.cells.len());
                frame.cells[..count].iter().for_each(|c| levels.push(c));
                self.correlation = frame.correlation;
            }
        }
        let waiting = ends.downmix.slots();
        if let Ok(chunk) = ends.downmix.read_chunk(waiting) {
            let (a, b) = chunk.as_slices();
            self.downmix.extend(a.iter().chain(b));
            chunk.commit_all();
        }
        // Before the first frame (which comes after 100 ms of audio) the rate is unknown: keep
        // at most a ring's worth.
        let keep = self
            .timeline
            .as_ref()
            .map_or(crate::bridge::DOWNMIX_RING_CAPACITY, |t| (t.sample_rate() as f64 * DOWNMIX_SECONDS) as usize);
        let excess = self.downmix.len().saturating_sub(keep);
        self.downmix.drain(..excess);
        taken
    }

    /// The timeline of the current stream, if any frame arrived.
    pub fn timeline(&self) -> Option<&Timeline> {
        self.timeline.as_ref()
    }

    /// How many times the stream restarted.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    /// The meters' figures now.
    pub fn levels(&mut self) -> LiveLevels {
        LiveLevels {
            loudness: self.levels.as_mut().map(Levels::reading).unwrap_or_default(),
            correlation: self.correlation,
            stream_s: self.timeline.as_ref().map_or(0.0, Timeline::duration_s),
            restarts: self.restarts,
        }
    }

    /// Starts the meters' integrated loudness, range and peaks again from the next frame.
    pub fn reset_levels(&mut self) {
        if let Some(levels) = &mut self.levels {
            levels.reset();
        }
    }

    /// Analyses the current stream; `None` before the first frame.
    pub fn analyze(&self, options: &AnalyzeOptions) -> Option<Result<TrackAnalysis, AnalyzeError>> {
        let timeline = self.timeline.as_ref()?;
        let mut mono = Vec::with_capacity(self.downmix.len());
        mono.extend(self.downmix.iter());
        Some(analyze_timeline(timeline, &mono, options))
    }
}

struct Shared {
    stop: AtomicBool,
    /// Bumped to ask for an analysis now.
    requests: AtomicU64,
    options: Mutex<AnalyzeOptions>,
    latest: Mutex<Option<Arc<TrackAnalysis>>>,
    /// The meters' figures after the last drain.
    levels: Mutex<LiveLevels>,
    /// Bumped to reset the meters.
    level_resets: AtomicU64,
    /// The last analysis error, for display.
    error: Mutex<Option<AnalyzeError>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks leaves plain data behind; keep using it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The analysis thread. Dropping it stops and joins the thread.
pub struct AnalysisWorker {
    shared: Arc<Shared>,
    handle: Option<JoinHandle<WorkerEnds>>,
}

impl std::fmt::Debug for AnalysisWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalysisWorker").field("running", &self.handle.is_some()).finish_non_exhaustive()
    }
}

impl AnalysisWorker {
    /// Starts the thread on the rings' consumer ends.
    pub fn spawn(ends: WorkerEnds, options: AnalyzeOptions) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            requests: AtomicU64::new(0),
            options: Mutex::new(options),
            latest: Mutex::new(None),
            levels: Mutex::new(LiveLevels::default()),
            level_resets: AtomicU64::new(0),
            error: Mutex::new(None),
        });
        let thread_shared = shared.clone();
        let handle =
            std::thread::Builder::new().name("audiocollab-analysis".into()).spawn(move || run(ends, &thread_shared))?;
        Ok(Self { shared, handle: Some(handle) })
    }

    /// The newest analysis, if one was made.
    pub fn latest(&self) -> Option<Arc<TrackAnalysis>> {
        lock(&self.shared.latest).clone()
    }

    /// The meters' figures, at most one poll interval old.
    pub fn levels(&self) -> LiveLevels {
        *lock(&self.shared.levels)
    }

    /// Starts the meters' integrated loudness, range and peaks again (the "reset" button); the
    /// analysis and its timeline are not touched.
    pub fn reset_levels(&self) {
        self.shared.level_resets.fetch_add(1, Ordering::Relaxed);
    }

    /// Why the last analysis failed, if it did.
    pub fn last_error(&self) -> Option<AnalyzeError> {
        lock(&self.shared.error).clone()
    }

    /// Changes what the analysis is judged against (and the segment); takes effect at the next
    /// analysis, which this also asks for.
    pub fn set_options(&self, options: AnalyzeOptions) {
        *lock(&self.shared.options) = options;
        self.request();
    }

    /// Asks for an analysis at the next poll, whatever the interval.
    pub fn request(&self) {
        self.shared.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Stops the thread and gives the ring ends back (with what was left in them).
    pub fn stop(mut self) -> Option<WorkerEnds> {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.handle.take().and_then(|h| h.join().ok())
    }
}

impl Drop for AnalysisWorker {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn run(mut ends: WorkerEnds, shared: &Shared) -> WorkerEnds {
    let mut live = LiveAnalysis::new();
    let mut last = Instant::now();
    let mut seen_requests = 0;
    let mut fresh = false;
    let mut seen_resets = 0;
    while !shared.stop.load(Ordering::Relaxed) {
        let resets = shared.level_resets.load(Ordering::Relaxed);
        let reset = resets != seen_resets;
        if reset {
            seen_resets = resets;
            live.reset_levels();
        }
        let taken = live.drain(&mut ends);
        if taken > 0 || reset {
            *lock(&shared.levels) = live.levels();
        }
        fresh |= taken > 0;
        let requests = shared.requests.load(Ordering::Relaxed);
        let due = fresh && last.elapsed() >= ANALYSIS_INTERVAL;
        if due || requests != seen_requests {
            seen_requests = requests;
            last = Instant::now();
            fresh = false;
            let options = lock(&shared.options).clone();
            match live.analyze(&options) {
                Some(Ok(analysis)) => {
                    *lock(&shared.latest) = Some(Arc::new(analysis));
                    *lock(&shared.error) = None;
                }
                Some(Err(e)) => *lock(&shared.error) = Some(e),
                None => {}
            }
        }
        std::thread::sleep(POLL_INTERVAL);
    }
    ends
}
