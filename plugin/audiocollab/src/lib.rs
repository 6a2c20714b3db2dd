//! AudioCollab Assistant: a mixing chain (EQ, compressor, de-esser, pan/width) with an AI
//! assistant that explains every move. See the README for the thread model.
//!
//! `lib.rs` is wiring only: the DSP, the meters and the parameter table live in the core crate
//! (`audiocollab_core`), the assistant in `audiocollab_assistant`; here are the host-visible
//! parameters ([`params`]), the project's preferences ([`prefs`]), the rings between the audio
//! thread and the rest ([`bridge`]), the analysis worker ([`live`]), the chat panel's logic
//! ([`panel`]) and the window ([`editor`]).
#![deny(missing_docs)]

pub mod bridge;
pub mod editor;
pub mod live;
pub mod panel;
pub mod params;
pub mod player;
pub mod prefs;
pub mod state;

use audiocollab_core::dsp::Chain;
use audiocollab_core::meter::stats::STATS_MAX_CHANNELS;
use audiocollab_core::meter::StatsMeter;
use bridge::{channel_peak, AudioEnds, Meters, StatsQueues, Telemetry, WorkerEnds};
use live::AnalysisWorker;
use nice_plug::prelude::*;
use nice_plug_egui::EguiEditorState;
use params::AudioCollabParams;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, PoisonError};

/// The plugin instance.
pub struct AudioCollab {
    params: Arc<AudioCollabParams>,
    /// Audio thread only. Rebuilt in `activate()` for the host's sample rate.
    chain: Chain,
    meters: Arc<Meters>,
    /// Audio thread only. Statistics of the output; rebuilt in `activate()` for the host's
    /// sample rate and channel count (`None` before the first activation).
    stats: Option<StatsMeter>,
    /// Audio thread only. Producer ends of the worker rings.
    audio_ends: AudioEnds,
    /// Consumer ends of the worker rings until the analysis worker starts (first activation).
    worker_ends: Option<WorkerEnds>,
    /// The analysis thread, started by the first `activate()`; shared with the editor.
    worker: Arc<OnceLock<Arc<AnalysisWorker>>>,
    /// Drop counters of the worker rings.
    telemetry: Arc<Telemetry>,
    editor_state: Arc<EguiEditorState>,
    /// Handed to the editor the one time the host asks for it.
    editor: Option<editor::Editor>,
    /// Audio thread only. The output for the window's spectrum, pushed while it is open.
    scope: rtrb::Producer<[f32; 2]>,
    /// The standalone's file player (`AUDIOCOLLAB_PLAY`), made in `activate()`.
    #[cfg(feature = "standalone")]
    player: Option<player::Player>,
}

impl Default for AudioCollab {
    fn default() -> Self {
        let params = Arc::new(AudioCollabParams::default());
        let meters = Arc::new(Meters::default());
        let editor_state = editor::default_state();
        let queues = StatsQueues::new();
        let worker = Arc::new(OnceLock::new());
        let (scope, scope_rx) = bridge::scope_ring();
        Self {
            scope,
            #[cfg(feature = "standalone")]
            player: None,
            telemetry: queues.audio.telemetry().clone(),
            audio_ends: queues.audio,
            worker_ends: Some(queues.worker),
            worker: worker.clone(),
            stats: None,
            chain: Chain::new(48_000.0),
            editor: Some(editor::Editor::new(params.clone(), meters.clone(), worker, scope_rx)),
            params,
            meters,
            editor_state,
        }
    }
}

impl AudioCollab {
    /// The analysis worker, once the plugin has been activated (and the thread could start).
    pub fn analysis(&self) -> Option<&Arc<AnalysisWorker>> {
        self.worker.get()
    }

    /// The drop counters of the statistics rings.
    pub fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }
}

impl Plugin for AudioCollab {
    const NAME: &'static str = "AudioCollab Assistant";
    const VENDOR: &'static str = "AudioCollab";
    const URL: &'static str = "https://github.com/audiocollab/assistant";
    const EMAIL: &'static str = "dev@audiocollab.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(2),
            main_output_channels: NonZeroU32::new(2),
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(1),
            main_output_channels: NonZeroU32::new(1),
            ..AudioIOLayout::const_default()
        },
    ];

    // Parameter changes land on the exact sample: the chain's glides start there, so a render
    // with the same automation is identical whatever the host's block size.
    const SAMPLE_ACCURATE_AUTOMATION: bool = true;

    type Editor = nice_plug_egui::EguiEditor<editor::Editor>;
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn filter_state(state: &mut PluginState) {
        state::filter_state(state);
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        let app = self.editor.take()?;
        editor::create(self.editor_state.clone(), app)
    }

    fn activate(
        &mut self,
        layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        _context: &mut impl ActivateContext<Self>,
    ) -> bool {
        // `Chain` is plain inline data: building it here allocates nothing on the heap.
        self.chain = Chain::new(buffer_config.sample_rate);
        // The statistics meter allocates its FFT plan and buffers: here, not in `process()`.
        // A configuration it cannot measure leaves the plugin working, unmetered.
        let channels = layout.main_output_channels.map_or(0, |c| c.get() as usize);
        self.stats = StatsMeter::new(buffer_config.sample_rate as f64, channels).ok();
        self.meters.sample_rate.store(buffer_config.sample_rate, Ordering::Relaxed);
        self.meters.channels.store(channels as u32, Ordering::Relaxed);
        #[cfg(feature = "standalone")]
        {
            self.player = match player::Player::from_env(buffer_config.sample_rate) {
                Some(Ok(p)) => Some(p),
                Some(Err(message)) => {
                    eprintln!("{message}");
                    None
                }
                None => None,
            };
        }
        // The analysis thread starts once and lives as long as the plugin. If the system
        // refuses a thread, the plugin works on without analysis (the rings fill and count
        // their drops).
        let options = self.params.prefs.read().unwrap_or_else(PoisonError::into_inner).analyze_options();
        if let Some(ends) = self.worker_ends.take() {
            if let Ok(worker) = AnalysisWorker::spawn(ends, options) {
                let _ = self.worker.set(Arc::new(worker));
            }
        } else if let Some(worker) = self.worker.get() {
            // A project loaded after the first activation brings its own targets.
            worker.set_options(options);
        }
        true
    }

    fn reset(&mut self) {
        self.chain.reset(&self.params.settings());
        if let Some(stats) = &mut self.stats {
            stats.reset();
        }
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let settings = self.params.settings();
        let metering = self.editor_state.is_open();
        let channels = buffer.as_slice();
        #[cfg(feature = "standalone")]
        if let Some(player) = &mut self.player {
            player.fill(channels);
        }
        if metering {
            for (meter, ch) in self.meters.input_peak.iter().zip(channels.iter()) {
                Meters::raise(meter, channel_peak(ch));
            }
        }
        self.chain.process(channels, &settings);
        let mut views: [&[f32]; STATS_MAX_CHANNELS] = [&[]; STATS_MAX_CHANNELS];
        let n = channels.len().min(STATS_MAX_CHANNELS);
        for (v, ch) in views.iter_mut().zip(channels.iter()) {
            *v = ch;
        }
        let views = &views[..n];
        if metering {
            for (meter, ch) in self.meters.output_peak.iter().zip(views) {
                Meters::raise(meter, channel_peak(ch));
            }
            self.meters.gain_reduction_db.store(self.chain.gain_reduction_db(), Ordering::Relaxed);
            self.meters.deess_reduction_db.store(self.chain.deess_reduction_db(), Ordering::Relaxed);
            bridge::push_scope(&mut self.scope, views);
        }
        if let Some(stats) = &mut self.stats {
            let ends = &mut self.audio_ends;
            // The downmix goes first: once the worker sees a frame, the audio it covers is
            // already in the downmix ring, so tempo and key see what the loudness saw.
            ends.push_downmix(views);
            // A mismatch with the activated layout is impossible; if it happened anyway the
            // block is simply not measured.
            let _ = stats.process(views, context.transport().pos_samples(), |frame| {
                ends.push_frame(frame);
            });
        }
        ProcessStatus::Normal
    }
}

impl ClapPlugin for AudioCollab {
    const CLAP_ID: &'static str = "com.audiocollab.assistant";
    const CLAP_DESCRIPTION: Option<&'static str> = Some("Mixing chain with an AI assistant that explains every move");
    const CLAP_MANUAL_URL: Option<&'static str> = Some(Self::URL);
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::Stereo,
        ClapFeature::Mono,
        ClapFeature::Equalizer,
        ClapFeature::Compressor,
        ClapFeature::Mixing,
    ];
}

impl Vst3Plugin for AudioCollab {
    const VST3_CLASS_ID: [u8; 16] = *b"AudioCollabAsst1";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Fx, Vst3SubCategory::Eq, Vst3SubCategory::Dynamics];
}

nice_export_clap!(AudioCollab);
nice_export_vst3!(AudioCollab);
