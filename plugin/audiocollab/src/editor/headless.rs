//! Running the window without a DAW: a host stand-in that sets parameter values as a host
//! does and records every gesture, and an analysis worker that has heard a file as the plugin's
//! audio thread would have fed it. The interaction tests and the frame-time benchmark drive
//! [`super::Editor::show`] with them.

use crate::bridge::StatsQueues;
use crate::live::AnalysisWorker;
use audiocollab_core::analysis::track::AnalyzeOptions;
use audiocollab_core::meter::StatsMeter;
use audiocollab_core::offline::AudioBuffer;
use nice_plug::context::gui::{GuiContext, GuiContextInner};
use nice_plug::context::PluginApi;
use nice_plug::plugin::PluginState;
use nice_plug::prelude::ParamPtr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// One gesture the host received, with the parameter's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gesture {
    /// `begin_set_parameter`.
    Begin(String),
    /// `set_parameter` (the value is set).
    Set(String),
    /// `end_set_parameter`.
    End(String),
}

/// The host stand-in.
#[derive(Debug, Default)]
pub struct Headless {
    gestures: Mutex<Vec<Gesture>>,
}

impl Headless {
    /// A new host and the [`GuiContext`] the editor writes through.
    pub fn new() -> (Arc<Headless>, GuiContext) {
        let host = Arc::new(Headless::default());
        let context = GuiContext::new(host.clone());
        (host, context)
    }

    /// The gestures received so far, and forgets them.
    pub fn take_gestures(&self) -> Vec<Gesture> {
        std::mem::take(&mut *self.gestures.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn record(&self, gesture: Gesture) {
        self.gestures.lock().unwrap_or_else(PoisonError::into_inner).push(gesture);
    }
}

impl GuiContextInner for Headless {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Clap
    }

    unsafe fn raw_begin_set_parameter(&self, param: ParamPtr) {
        // SAFETY: the editor passes pointers to parameters of its own `AudioCollabParams`,
        // which outlive the window.
        self.record(Gesture::Begin(unsafe { param.name() }.to_string()));
    }

    unsafe fn raw_set_parameter_normalized(&self, param: ParamPtr, normalized: f32) {
        // SAFETY: as above.
        unsafe { param._internal_set_normalized_value(normalized) };
        self.record(Gesture::Set(unsafe { param.name() }.to_string()));
    }

    unsafe fn raw_end_set_parameter(&self, param: ParamPtr) {
        // SAFETY: as above.
        self.record(Gesture::End(unsafe { param.name() }.to_string()));
    }

    fn get_state(&self) -> PluginState {
        PluginState { version: String::new(), params: Default::default(), fields: Default::default() }
    }

    fn set_state(&self, _state: PluginState) {}

    fn request_restart(&self) {}
}

/// An analysis worker that has been fed `audio` through the statistics meter and the rings in
/// 100 ms blocks (faster than real time, waiting for the worker to keep up), and has published
/// its analysis of all of it. Errors if the audio cannot be metered or the worker does not
/// finish within a minute.
pub fn worker_for(audio: &AudioBuffer) -> Result<Arc<AnalysisWorker>, String> {
    let queues = StatsQueues::new();
    let (mut ends, worker_ends) = (queues.audio, queues.worker);
    let worker = AnalysisWorker::spawn(worker_ends, AnalyzeOptions::default()).map_err(|e| e.to_string())?;
    let mut meter = StatsMeter::new(audio.sample_rate as f64, audio.channels.len()).map_err(|e| e.to_string())?;
    let frames = audio.channels.first().map_or(0, Vec::len);
    let block = (audio.sample_rate / 10) as usize;
    let deadline = Instant::now() + Duration::from_secs(60);
    let late = || format!("the analysis worker did not keep up within a minute: {:?}", worker.last_error());
    for start in (0..frames).step_by(block.max(1)) {
        let views: Vec<&[f32]> = audio.channels.iter().map(|c| &c[start..(start + block).min(frames)]).collect();
        ends.push_downmix(&views);
        meter
            .process(&views, None, |f| {
                ends.push_frame(f);
            })
            .map_err(|e| e.to_string())?;
        while !ends.is_drained() {
            if Instant::now() > deadline {
                return Err(late());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let length = frames as f64 / audio.sample_rate as f64;
    while worker.latest().is_none_or(|a| a.duration_s < length - 0.2) {
        if Instant::now() > deadline {
            return Err(late());
        }
        worker.request();
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(Arc::new(worker))
}
