//! A minimal CLAP host for integration tests, built on `clack-host` 0.2.
//!
//! It loads the real `AudioCollab Assistant.clap` produced by the same `cargo test` invocation
//! (see [`plugin_bundle`]) and drives it the way a DAW does: instantiate, read the parameter
//! list, set values through `params.flush()`, pick a mono or stereo port layout, activate,
//! process `f32` blocks of any size with sample-accurate parameter events, save and load state,
//! and answer the plugin's callbacks.
//!
//! # Threads
//!
//! A [`TestHost`] is `!Send`: the thread that creates it is the plugin's *main thread* (nice-plug
//! takes the thread that created the instance as its main thread when the host does not offer
//! the `thread-check` extension, and this host does not). Audio is processed on a separate,
//! scoped *audio thread* for each [`TestHost::process`] call, so the plugin's real-time paths
//! (task queue + `request_callback`) are the ones a DAW exercises. Main-thread callbacks the
//! plugin asks for are run by [`TestHost::pump_main_thread`], which every main-thread method of
//! the harness calls on its way out. Host callbacks only bump atomic counters
//! ([`TestHost::callbacks`]): some run inside the plugin's `process()`, where the
//! `assert_process_allocs` build aborts on any allocation.
//!
//! Instances may live on several test threads at once. The library is loaded once and never
//! unloaded (see [`TestHost::load`] for why).
//!
//! # Parameter values as CLAP sees them (nice-plug 0.4.2)
//!
//! nice-plug's CLAP wrapper (`src/wrapper/clap/wrapper.rs`) never exposes plain values:
//!
//! * every parameter is reported with `min_value = 0` and `max_value = step_count` (or `1` for
//!   continuous parameters); the *host value* is the normalized value times the step count:
//!   continuous `FloatParam`s are **normalized 0..1** (skew included), `BoolParam`s are `0`/`1`,
//!   `IntParam`/`EnumParam` are the **step index** `0..=step_count`;
//! * `default_value`, `get_value`, `value_to_text`, `text_to_value`, param-value events and
//!   `flush` all use these host values; `value_to_text` includes the unit (`"120 Hz"`);
//! * the CLAP parameter id is a hash of nice-plug's string id, see [`clap_param_id`];
//! * the state (`state.save`) is an 8-byte little-endian length followed by JSON
//!   `{"version", "params": {string_id: {"f32"|"i32"|"bool"|"string": plain value}},
//!   "fields"}`, see [`state_json`].
//!
//! So to set a parameter by its *plain* value, go through the plugin's own parser:
//! [`TestHost::set_text`]`(id, "120 Hz")`, or compute the host value yourself and use
//! [`TestHost::set_values`].

use std::cell::Cell;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use clack_extensions::audio_ports::{AudioPortFlags, AudioPortInfoBuffer, PluginAudioPorts};
use clack_extensions::audio_ports_config::{AudioPortsConfigBuffer, PluginAudioPortsConfig};
use clack_extensions::latency::{HostLatency, HostLatencyImpl};
use clack_extensions::params::{
    HostParams, HostParamsImplMainThread, HostParamsImplShared, ParamClearFlags, ParamInfoBuffer, ParamInfoFlags,
    ParamRescanFlags, PluginParams,
};
use clack_extensions::state::{HostState, HostStateImpl, PluginState};
use clack_host::events::event_types::ParamValueEvent;
use clack_host::prelude::*;

pub use crate::harness::ParamChange;
use crate::harness::{check_process, cut_into_blocks, on_audio_thread};

/// The CLAP id of the plugin (`ClapPlugin::CLAP_ID`).
pub const PLUGIN_ID: &str = "com.audiocollab.assistant";

/// File name of the bundle that [`plugin_bundle`] creates.
pub const BUNDLE_NAME: &str = "AudioCollab Assistant.clap";

/// Name of the plugin's shared library as cargo writes it on this platform.
const LIBRARY_NAME: &str = if cfg!(target_os = "windows") {
    "audiocollab.dll"
} else if cfg!(target_os = "macos") {
    "libaudiocollab.dylib"
} else {
    "libaudiocollab.so"
};

/// Returns the path of a `.clap` bundle holding the plugin built by this `cargo test` run.
///
/// The `integration` package depends on `audiocollab`, whose `crate-type` includes `cdylib`, so
/// cargo builds the shared library alongside the test executable: the test binary is
/// `<target>/<profile>/deps/<test>-<hash>` and the library is `<target>/<profile>/deps/` (and
/// hard-linked to `<target>/<profile>/` when `audiocollab` is itself a root of the build, as with
/// `cargo test --workspace`). Both places are looked at and the newer file wins;
/// `$CARGO_TARGET_DIR/debug` and the workspace's `target/debug` are fallbacks for a test binary
/// that was moved away from its target directory.
///
/// On Linux a `.clap` is just the shared library renamed, so the library is copied (once per
/// process) to `<target>/<profile>/clap-test/AudioCollab Assistant.clap` through a temporary file
/// and an atomic rename, so a concurrently running test process never sees a half-written file.
///
/// Note that cargo gives the library no metadata hash: `cargo build -p audiocollab` (without the
/// `assert_process_allocs` feature) and `cargo test` overwrite the same file, so the bundle is
/// whatever the latest build of this invocation produced.
///
/// Set [`BUNDLE_ENV`] to test another bundle instead (for example a release bundle made by
/// `cargo xtask bundle`); it is used as is.
///
/// # Panics
///
/// Panics with the searched paths if the library cannot be found or copied.
pub fn plugin_bundle() -> PathBuf {
    static BUNDLE: OnceLock<PathBuf> = OnceLock::new();
    BUNDLE
        .get_or_init(|| {
            if let Some(path) = std::env::var_os(BUNDLE_ENV) {
                return PathBuf::from(path);
            }
            match make_bundle() {
                Ok(path) => path,
                Err(err) => panic!("cannot prepare the plugin bundle: {err:#}"),
            }
        })
        .clone()
}

/// Environment variable naming a `.clap` to test instead of the one built by this invocation.
pub const BUNDLE_ENV: &str = "AUDIOCOLLAB_CLAP";

/// Directories where cargo may have written the plugin library, best first.
fn library_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        // <target>/<profile>/deps/<test binary>
        if let Some(deps) = exe.parent() {
            dirs.push(deps.to_path_buf());
            if let Some(profile) = deps.parent() {
                dirs.push(profile.to_path_buf());
            }
        }
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        let profile = Path::new(&target).join("debug");
        dirs.push(profile.join("deps"));
        dirs.push(profile);
    }
    let workspace_target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug");
    dirs.push(workspace_target.join("deps"));
    dirs.push(workspace_target);
    dirs
}

fn make_bundle() -> Result<PathBuf> {
    let dirs = library_dirs();
    // Candidates next to the test binary come first; among them take the newest file.
    let mut best: Option<(PathBuf, std::time::SystemTime)> = None;
    for (rank, dir) in dirs.iter().enumerate() {
        let candidate = dir.join(LIBRARY_NAME);
        let Ok(modified) = candidate.metadata().and_then(|m| m.modified()) else {
            continue;
        };
        // Only fall back to the CARGO_TARGET_DIR/workspace guesses when nothing sits next to
        // the test binary.
        if rank >= 2 && best.is_some() {
            break;
        }
        if best.as_ref().is_none_or(|(_, t)| modified > *t) {
            best = Some((candidate, modified));
        }
    }
    let Some((library, _)) = best else {
        bail!(
            "{LIBRARY_NAME} not found in any of {dirs:?}; build the plugin in the same cargo \
             invocation (`cargo test -p integration` builds it as a dependency)"
        );
    };

    // The bundle directory sits in the profile directory (the parent of `deps`).
    let profile_dir = match library.parent() {
        Some(dir) if dir.ends_with("deps") => dir.parent().unwrap_or(dir),
        Some(dir) => dir,
        None => bail!("{} has no parent directory", library.display()),
    };
    let bundle_dir = profile_dir.join("clap-test");
    std::fs::create_dir_all(&bundle_dir).with_context(|| format!("creating {}", bundle_dir.display()))?;
    let bundle = bundle_dir.join(BUNDLE_NAME);
    let temporary = bundle_dir.join(format!(".{BUNDLE_NAME}.{}", std::process::id()));
    std::fs::copy(&library, &temporary)
        .with_context(|| format!("copying {} to {}", library.display(), temporary.display()))?;
    std::fs::rename(&temporary, &bundle)
        .with_context(|| format!("renaming {} to {}", temporary.display(), bundle.display()))?;
    Ok(bundle)
}

/// The CLAP parameter id nice-plug derives from a string parameter id.
///
/// nice-plug (`wrapper::util::hash_param_id`) hashes the UTF-8 bytes with the Java-style
/// `hash = hash * 31 + byte` (wrapping `u32`) and clears bit 31 (reserved by VST3). The ids are
/// therefore stable as long as the string ids are; collisions are possible in principle.
pub fn clap_param_id(string_id: &str) -> u32 {
    let hash = string_id.bytes().fold(0u32, |hash, byte| hash.wrapping_mul(31).wrapping_add(u32::from(byte)));
    hash & !(1 << 31)
}

/// Parses nice-plug's CLAP state: an 8-byte little-endian length, then that many bytes of JSON
/// `{"version": "0.1.0", "params": {"hp_freq": {"f32": 80.0}, "hp_on": {"bool": false},
/// "hp_slope": {"i32": 0}, ...}, "fields": {...}}`. Parameter values are *plain* values tagged
/// with their type (`f32`, `i32`, `bool`, or `string` for enums with stable ids); float values
/// are the plain value after the normalized round trip (`"b1_freq": {"f32": 249.99997}`).
pub fn state_json(state: &[u8]) -> Result<serde_json::Value> {
    ensure!(state.len() >= 8, "state is {} bytes, shorter than its length prefix", state.len());
    let (prefix, body) = state.split_at(8);
    let mut length = [0u8; 8];
    length.copy_from_slice(prefix);
    let length = u64::from_le_bytes(length);
    ensure!(length == body.len() as u64, "state length prefix says {length} bytes, {} follow", body.len());
    serde_json::from_slice(body).context("state body is not JSON")
}

/// One parameter as the host sees it (`clap_param_info`), in host units (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct ParamInfo {
    /// CLAP id: [`clap_param_id`] of the plugin's string id.
    pub id: u32,
    /// Display name.
    pub name: String,
    /// Group path ("module"), slash-separated.
    pub module: String,
    /// Smallest host value (always 0 with nice-plug).
    pub min: f64,
    /// Largest host value: the step count for stepped parameters, 1 otherwise.
    pub max: f64,
    /// Default host value.
    pub default: f64,
    /// CLAP flags (stepped, automatable, bypass, hidden...).
    pub flags: ParamInfoFlags,
}

impl ParamInfo {
    /// Whether the host value is an integer step index (toggles, choices).
    pub fn is_stepped(&self) -> bool {
        self.flags.contains(ParamInfoFlags::IS_STEPPED)
    }

    /// Whether the host may automate this parameter.
    pub fn is_automatable(&self) -> bool {
        self.flags.contains(ParamInfoFlags::IS_AUTOMATABLE)
    }

    /// Whether this is the host-facing bypass switch.
    pub fn is_bypass(&self) -> bool {
        self.flags.contains(ParamInfoFlags::IS_BYPASS)
    }
}

/// One of the plugin's audio port configurations (`audio-ports-config` extension).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortConfig {
    /// Config id, to pass to `select`.
    pub id: u32,
    /// Display name (`"Stereo"`, `"Mono"`...).
    pub name: String,
    /// Channels of the main input port, if there is one.
    pub main_input_channels: Option<u32>,
    /// Channels of the main output port, if there is one.
    pub main_output_channels: Option<u32>,
}

/// Timing and status of one `process()` call made by [`TestHost::process`].
#[derive(Clone, Copy, Debug)]
pub struct BlockStat {
    /// Frames in the block.
    pub frames: usize,
    /// Wall time spent inside the plugin's `process()`.
    pub elapsed: Duration,
    /// What the plugin returned.
    pub status: ProcessStatus,
}

/// Result of [`TestHost::process`].
#[derive(Clone, Debug)]
pub struct Processed {
    /// Output audio, one `Vec` per channel, as long as the input.
    pub output: Vec<Vec<f32>>,
    /// One entry per `process()` call, in order.
    pub blocks: Vec<BlockStat>,
    /// Number of events the plugin wrote to its output event queue.
    pub output_events: usize,
}

/// How often the plugin called each host callback. See [`TestHost::callbacks`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallbackCounts {
    /// `clap_host.request_callback` (answered by [`TestHost::pump_main_thread`]).
    pub request_callback: u32,
    /// `clap_plugin.on_main_thread` calls the host made in answer. Requests made before the
    /// host gets to run the callback are coalesced into one call, so this can be lower.
    pub on_main_thread: u32,
    /// Requests not answered yet (0 after any [`TestHost`] method returns).
    pub unanswered_callbacks: u32,
    /// `clap_host.request_restart` (counted, not acted upon).
    pub request_restart: u32,
    /// `clap_host.request_process`.
    pub request_process: u32,
    /// `clap_host_params.request_flush`.
    pub params_request_flush: u32,
    /// `clap_host_params.rescan`.
    pub params_rescan: u32,
    /// `clap_host_params.clear`.
    pub params_clear: u32,
    /// `clap_host_state.mark_dirty`.
    pub state_mark_dirty: u32,
    /// `clap_host_latency.changed`.
    pub latency_changed: u32,
}

/// Thread-safe host data. Every callback only bumps an atomic counter: some of them
/// (`request_callback`, `request_flush`) are called from inside the plugin's `process()`, where
/// nice-plug's `assert_process_allocs` aborts on any allocation.
#[derive(Default)]
struct Shared {
    request_callback: AtomicU32,
    pending_callback: AtomicU32,
    on_main_thread: AtomicU32,
    request_restart: AtomicU32,
    request_process: AtomicU32,
    params_request_flush: AtomicU32,
    params_rescan: AtomicU32,
    params_clear: AtomicU32,
    state_mark_dirty: AtomicU32,
    latency_changed: AtomicU32,
}

impl Shared {
    fn bump(counter: &AtomicU32) {
        counter.fetch_add(1, Ordering::SeqCst);
    }

    fn counts(&self) -> CallbackCounts {
        let get = |c: &AtomicU32| c.load(Ordering::SeqCst);
        CallbackCounts {
            request_callback: get(&self.request_callback),
            on_main_thread: get(&self.on_main_thread),
            unanswered_callbacks: get(&self.pending_callback),
            request_restart: get(&self.request_restart),
            request_process: get(&self.request_process),
            params_request_flush: get(&self.params_request_flush),
            params_rescan: get(&self.params_rescan),
            params_clear: get(&self.params_clear),
            state_mark_dirty: get(&self.state_mark_dirty),
            latency_changed: get(&self.latency_changed),
        }
    }
}

impl SharedHandler<'_> for Shared {
    fn request_restart(&self) {
        Self::bump(&self.request_restart);
    }

    fn request_process(&self) {
        Self::bump(&self.request_process);
    }

    fn request_callback(&self) {
        Self::bump(&self.request_callback);
        Self::bump(&self.pending_callback);
    }
}

impl HostParamsImplShared for Shared {
    fn request_flush(&self) {
        Self::bump(&self.params_request_flush);
    }
}

/// Main-thread host data: forwards to the shared counters.
struct MainThread<'a> {
    shared: &'a Shared,
    /// Keeps the type `!Sync`, as main-thread data is.
    _not_sync: Cell<()>,
}

impl<'a> MainThreadHandler<'a> for MainThread<'a> {}

impl HostParamsImplMainThread for MainThread<'_> {
    fn rescan(&self, _flags: ParamRescanFlags) {
        Shared::bump(&self.shared.params_rescan);
    }

    fn clear(&self, _param_id: ClapId, _flags: ParamClearFlags) {
        Shared::bump(&self.shared.params_clear);
    }
}

impl HostStateImpl for MainThread<'_> {
    fn mark_dirty(&self) {
        Shared::bump(&self.shared.state_mark_dirty);
    }
}

impl HostLatencyImpl for MainThread<'_> {
    fn changed(&self) {
        Shared::bump(&self.shared.latency_changed);
    }
}

/// The host's handler types, tied together for `clack-host`.
struct Handlers;

impl HostHandlers for Handlers {
    type Shared<'a> = Shared;
    type MainThread<'a> = MainThread<'a>;
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        builder.register::<HostParams>().register::<HostState>().register::<HostLatency>();
    }
}

/// A loaded and instantiated AudioCollab Assistant, driven like a DAW would. See the module docs.
pub struct TestHost {
    instance: PluginInstance<Handlers>,
    params: PluginParams,
    state: PluginState,
    audio_ports: Option<PluginAudioPorts>,
    ports_config: Option<PluginAudioPortsConfig>,
    param_list: Vec<ParamInfo>,
    /// Present while activated.
    processor: Option<PluginAudioProcessor<Handlers>>,
    /// Channels per port and maximum block size of the current activation.
    channels: usize,
    max_frames: usize,
    /// CLAP `steady_time`: frames processed since activation.
    steady_time: u64,
}

impl TestHost {
    /// Loads [`plugin_bundle`] and instantiates [`PLUGIN_ID`].
    pub fn new() -> Result<Self> {
        Self::load(&plugin_bundle())
    }

    /// Loads the bundle at `path` and instantiates [`PLUGIN_ID`], then reads the parameter list.
    pub fn load(path: &Path) -> Result<Self> {
        // SAFETY: loading a library runs its initialisers; this is the plugin built from this
        // workspace, which is exactly the code under test.
        let entry = unsafe { PluginEntry::load(path) }.map_err(|e| anyhow!("loading {}: {e}", path.display()))?;
        // Never unload the library, as DAWs don't: nice-plug's copy of `std` registers
        // thread-exit destructors (pthread keys) on every thread that touched the plugin, and if
        // the last instance's drop `dlclose`d the library, those threads would jump into unmapped
        // code when they exit (seen as SIGSEGV in `__nptl_deallocate_tsd` with parallel tests).
        // Leaking one reference to clack-host's entry cache keeps it loaded for the process.
        std::mem::forget(entry.clone());
        let factory = entry.get_plugin_factory().context("the entry has no plugin factory")?;
        let ids: Vec<String> =
            factory.plugin_descriptors().filter_map(|d| d.id().map(|id| id.to_string_lossy().into_owned())).collect();
        ensure!(ids.iter().any(|id| id == PLUGIN_ID), "{PLUGIN_ID} not in the factory's plugins {ids:?}");

        let host_info = HostInfo::new("AudioCollab test host", "AudioCollab", "https://localhost", "0.1.0")
            .map_err(|e| anyhow!("host info: {e}"))?;
        let plugin_id = CString::new(PLUGIN_ID).context("plugin id")?;
        let instance = PluginInstance::<Handlers>::new(
            |_| Shared::default(),
            |shared| MainThread { shared, _not_sync: Cell::new(()) },
            &entry,
            &plugin_id,
            &host_info,
        )
        .map_err(|e| anyhow!("instantiating {PLUGIN_ID}: {e}"))?;

        let shared = instance.plugin_shared_handle();
        let params = shared.get_extension::<PluginParams>().context("no params extension")?;
        let state = shared.get_extension::<PluginState>().context("no state extension")?;
        let audio_ports = shared.get_extension::<PluginAudioPorts>();
        let ports_config = shared.get_extension::<PluginAudioPortsConfig>();

        let mut host = Self {
            instance,
            params,
            state,
            audio_ports,
            ports_config,
            param_list: Vec::new(),
            processor: None,
            channels: 0,
            max_frames: 0,
            steady_time: 0,
        };
        host.param_list = host.read_param_list()?;
        host.pump_main_thread();
        Ok(host)
    }

    fn read_param_list(&mut self) -> Result<Vec<ParamInfo>> {
        let handle = self.instance.plugin_handle();
        let count = self.params.count(&handle);
        let mut list = Vec::with_capacity(count as usize);
        let mut buffer = ParamInfoBuffer::new();
        // Only 0..count: nice-plug 0.4.2's get_info checks `index > count`, so `index == count`
        // would index out of bounds inside the plugin (and abort across the FFI boundary).
        for index in 0..count {
            let info = self
                .params
                .get_info(&handle, index, &mut buffer)
                .with_context(|| format!("params.get_info({index}) failed"))?;
            list.push(ParamInfo {
                id: info.id.get(),
                name: String::from_utf8_lossy(info.name).into_owned(),
                module: String::from_utf8_lossy(info.module).into_owned(),
                min: info.min_value,
                max: info.max_value,
                default: info.default_value,
                flags: info.flags,
            });
        }
        Ok(list)
    }

    /// The parameter list read at instantiation, in the plugin's order.
    pub fn params(&self) -> &[ParamInfo] {
        &self.param_list
    }

    /// The parameter whose nice-plug string id is `string_id` (`"hp_freq"`), via
    /// [`clap_param_id`].
    pub fn param(&self, string_id: &str) -> Result<&ParamInfo> {
        let id = clap_param_id(string_id);
        self.param_list
            .iter()
            .find(|p| p.id == id)
            .with_context(|| format!("no parameter with string id {string_id:?} (CLAP id {id})"))
    }

    /// CLAP id of the parameter whose string id is `string_id`, checked against the list.
    pub fn param_id(&self, string_id: &str) -> Result<u32> {
        self.param(string_id).map(|p| p.id)
    }

    /// Current host value of a parameter (`params.get_value`).
    pub fn value(&mut self, id: u32) -> Result<f64> {
        let handle = self.instance.plugin_handle();
        self.params.get_value(&handle, ClapId::new(id)).with_context(|| format!("params.get_value({id}) failed"))
    }

    /// Current host value of every parameter, in list order.
    pub fn values(&mut self) -> Result<Vec<(u32, f64)>> {
        let ids: Vec<u32> = self.param_list.iter().map(|p| p.id).collect();
        ids.into_iter().map(|id| Ok((id, self.value(id)?))).collect()
    }

    /// The plugin's text for a host value, unit included (`params.value_to_text`).
    pub fn value_to_text(&mut self, id: u32, value: f64) -> Result<String> {
        let handle = self.instance.plugin_handle();
        let mut buffer = [0u8; 256];
        let text = self
            .params
            .value_to_text(&handle, ClapId::new(id), value, &mut buffer)
            .map_err(|_| anyhow!("params.value_to_text({id}, {value}) failed"))?;
        Ok(String::from_utf8_lossy(text).into_owned())
    }

    /// The host value the plugin parses from `text` (`params.text_to_value`).
    pub fn text_to_value(&mut self, id: u32, text: &str) -> Result<f64> {
        let handle = self.instance.plugin_handle();
        let c_text = CString::new(text).context("text contains a NUL byte")?;
        self.params
            .text_to_value(&handle, ClapId::new(id), &c_text)
            .with_context(|| format!("params.text_to_value({id}, {text:?}) was refused"))
    }

    /// Sends host values to the plugin through `params.flush()` (all at time 0), as a DAW does
    /// when the transport is stopped. Works inactive or active (while no `process()` runs).
    pub fn set_values(&mut self, changes: &[(u32, f64)]) -> Result<()> {
        let events: Vec<ParamValueEvent> = changes
            .iter()
            .map(|&(id, value)| ParamValueEvent::new(0, ClapId::new(id), Pckn::match_all(), value))
            .collect();
        let mut output = EventBuffer::with_capacity(64);
        let input = InputEvents::from_buffer(&events);
        let mut output_events = OutputEvents::from_buffer(&mut output);
        match self.processor.as_mut() {
            Some(processor) => self.params.flush_active(&mut processor.plugin_handle(), &input, &mut output_events),
            None => {
                let mut handle =
                    self.instance.inactive_plugin_handle().context("plugin is active without a processor")?;
                self.params.flush(&mut handle, &input, &mut output_events);
            }
        }
        self.pump_main_thread();
        Ok(())
    }

    /// Parses `text` with the plugin's `text_to_value` and flushes the result; returns the host
    /// value. This is how to set a plain value: `set_text("hp_freq", "120 Hz")`.
    pub fn set_text(&mut self, string_id: &str, text: &str) -> Result<f64> {
        let id = self.param_id(string_id)?;
        let value = self.text_to_value(id, text)?;
        self.set_values(&[(id, value)])?;
        Ok(value)
    }

    /// Channel counts of the main input and output ports in the current layout
    /// (`audio-ports` extension); `None` for a missing main port.
    pub fn main_ports(&mut self) -> Result<(Option<u32>, Option<u32>)> {
        let ports = self.audio_ports.context("no audio-ports extension")?;
        let handle = self.instance.plugin_handle();
        let mut buffer = AudioPortInfoBuffer::new();
        let mut main = |is_input: bool| -> Option<u32> {
            (0..ports.count(&handle, is_input))
                .filter_map(|i| ports.get(&handle, i, is_input, &mut buffer).map(|p| (p.flags, p.channel_count)))
                .find(|(flags, _)| flags.contains(AudioPortFlags::IS_MAIN))
                .map(|(_, channels)| channels)
        };
        Ok((main(true), main(false)))
    }

    /// The plugin's audio port configurations (`audio-ports-config` extension).
    pub fn port_configs(&mut self) -> Result<Vec<PortConfig>> {
        let config = self.ports_config.context("no audio-ports-config extension")?;
        let handle = self.instance.plugin_handle();
        let mut buffer = AudioPortsConfigBuffer::new();
        let mut configs = Vec::new();
        for index in 0..config.count(&handle) {
            let c = config
                .get(&handle, index, &mut buffer)
                .with_context(|| format!("audio_ports_config.get({index}) failed"))?;
            configs.push(PortConfig {
                id: c.id.get(),
                name: String::from_utf8_lossy(c.name).into_owned(),
                main_input_channels: c.main_input.map(|p| p.channel_count),
                main_output_channels: c.main_output.map(|p| p.channel_count),
            });
        }
        Ok(configs)
    }

    /// Selects the port configuration whose main input and output both have `channels`
    /// channels, then checks through the `audio-ports` extension that it took effect.
    /// Only allowed while inactive.
    pub fn select_channels(&mut self, channels: u32) -> Result<()> {
        ensure!(self.processor.is_none(), "port layouts can only change while inactive");
        let configs = self.port_configs()?;
        let wanted = configs
            .iter()
            .find(|c| c.main_input_channels == Some(channels) && c.main_output_channels == Some(channels))
            .with_context(|| format!("no {channels}-in/{channels}-out configuration in {configs:?}"))?;
        let config = self.ports_config.context("no audio-ports-config extension")?;
        let handle = self.instance.plugin_handle();
        config
            .select(&handle, ClapId::new(wanted.id))
            .map_err(|_| anyhow!("selecting port config {wanted:?} was refused"))?;
        let ports = self.main_ports()?;
        ensure!(ports == (Some(channels), Some(channels)), "after selecting {wanted:?} the ports are {ports:?}");
        Ok(())
    }

    /// Activates the plugin at `sample_rate` for blocks of 1 to `max_frames` frames, with the
    /// channel count of the current main ports (stereo unless [`Self::select_channels`] chose
    /// otherwise). Processing starts on the first [`Self::process`] call.
    pub fn activate(&mut self, sample_rate: f64, max_frames: usize) -> Result<()> {
        ensure!(self.processor.is_none(), "already active");
        ensure!(max_frames >= 1, "max_frames must be at least 1");
        let (inputs, outputs) = self.main_ports()?;
        let channels = match (inputs, outputs) {
            (Some(i), Some(o)) if i == o && (1..=2).contains(&i) => i as usize,
            other => bail!("unsupported main ports (in, out) = {other:?}"),
        };
        let configuration = PluginAudioConfiguration {
            sample_rate,
            min_frames_count: 1,
            max_frames_count: u32::try_from(max_frames).context("max_frames too large")?,
        };
        let stopped = self
            .instance
            .activate(|_, _| (), configuration)
            .map_err(|e| anyhow!("activate({sample_rate} Hz, {max_frames} frames): {e}"))?;
        self.processor = Some(stopped.into());
        self.channels = channels;
        self.max_frames = max_frames;
        self.steady_time = 0;
        self.pump_main_thread();
        Ok(())
    }

    /// Whether the plugin is active.
    pub fn is_active(&self) -> bool {
        self.processor.is_some()
    }

    /// Channels per port of the current activation (0 while inactive).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Stops processing (on an audio thread) and deactivates. Does nothing while inactive.
    pub fn deactivate(&mut self) {
        if let Some(mut processor) = self.processor.take() {
            on_audio_thread(|| processor.ensure_processing_stopped());
            self.instance.deactivate(processor.into_stopped());
            self.channels = 0;
            self.max_frames = 0;
        }
        self.pump_main_thread();
    }

    /// Processes `input` (one slice per channel, all the same length) on an audio thread, cut
    /// into blocks whose sizes cycle through `block_sizes` (the last block is shortened to fit),
    /// with `changes` sent as param-value events at their sample offsets. Starts processing on
    /// the first call after activation; the plugin's state carries over between calls.
    ///
    /// Returns the output and per-block timings. Fails if the plugin returns an error.
    pub fn process<S: AsRef<[f32]> + Sync>(
        &mut self,
        input: &[S],
        block_sizes: &[usize],
        changes: &[ParamChange],
    ) -> Result<Processed> {
        let channels = self.channels;
        let max_frames = self.max_frames;
        let processor = self.processor.as_mut().context("process() before activate()")?;
        let (frames, changes) = check_process(input, channels, block_sizes, max_frames, changes)?;

        let steady_time = self.steady_time;
        let result = on_audio_thread(|| run_blocks(processor, input, block_sizes, &changes, max_frames, steady_time));
        self.steady_time += frames as u64;
        self.pump_main_thread();
        result
    }

    /// Saves the plugin state (`state.save`). See [`state_json`] for the format.
    pub fn save_state(&mut self) -> Result<Vec<u8>> {
        let handle = self.instance.plugin_handle();
        let mut bytes = Vec::new();
        self.state.save(&handle, &mut bytes).map_err(|e| anyhow!("{e}"))?;
        self.pump_main_thread();
        Ok(bytes)
    }

    /// Loads a state saved by [`Self::save_state`] (`state.load`). Garbage must make this return
    /// an error, not crash the plugin.
    pub fn load_state(&mut self, bytes: &[u8]) -> Result<()> {
        let handle = self.instance.plugin_handle();
        let mut reader = bytes;
        let result = self.state.load(&handle, &mut reader).map_err(|e| anyhow!("{e}"));
        self.pump_main_thread();
        result
    }

    /// Runs the plugin's main-thread callback as long as it asked for one
    /// (`request_callback`), as a DAW's event loop would. Returns how many were run.
    pub fn pump_main_thread(&mut self) -> u32 {
        let mut runs = 0;
        // Bounded: a plugin that re-requests from its own callback must not hang the test.
        while runs < 64 {
            let pending = self.instance.access_shared_handler(|s| s.pending_callback.swap(0, Ordering::SeqCst));
            if pending == 0 {
                break;
            }
            self.instance.call_on_main_thread_callback();
            self.instance.access_shared_handler(|s| Shared::bump(&s.on_main_thread));
            runs += 1;
        }
        runs
    }

    /// How often the plugin called each host callback so far.
    pub fn callbacks(&self) -> CallbackCounts {
        self.instance.access_shared_handler(|s| s.counts())
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        // The plugin must be deactivated before it is destroyed; clack-host leaks it otherwise.
        // Skip this while unwinding from a panic inside the plugin: its locks may be poisoned.
        if !std::thread::panicking() {
            self.deactivate();
        }
    }
}

/// The audio-thread side of [`TestHost::process`]: slices the signal into blocks, routes each
/// parameter change into the block that contains it, and calls the plugin's `process()`.
/// All buffers are allocated before the first block so the host itself never allocates while
/// the plugin runs (nice-plug's `assert_process_allocs` guard only covers the plugin, but the
/// events and callbacks it calls back into run inside it).
fn run_blocks<S: AsRef<[f32]>>(
    processor: &mut PluginAudioProcessor<Handlers>,
    input: &[S],
    block_sizes: &[usize],
    changes: &[ParamChange],
    max_frames: usize,
    mut steady_time: u64,
) -> Result<Processed> {
    let channels = input.len();
    let frames = input[0].as_ref().len();
    let processor = processor.ensure_processing_started().map_err(|e| anyhow!("start_processing: {e}"))?;

    let mut input_scratch = vec![vec![0.0f32; max_frames]; channels];
    let mut output_scratch = vec![vec![0.0f32; max_frames]; channels];
    let mut output = vec![Vec::with_capacity(frames); channels];
    let mut input_ports = AudioPorts::with_capacity(channels, 1);
    let mut output_ports = AudioPorts::with_capacity(channels, 1);
    let mut block_events: Vec<ParamValueEvent> = Vec::with_capacity(changes.len());
    let mut output_events = EventBuffer::with_capacity(1024);
    let mut output_event_count = 0;
    let plan = cut_into_blocks(frames, block_sizes, changes);
    let mut blocks = Vec::with_capacity(plan.len());

    for (range, block_changes) in plan {
        let (start, n) = (range.start, range.len());
        for (scratch, channel) in input_scratch.iter_mut().zip(input) {
            scratch[..n].copy_from_slice(&channel.as_ref()[start..start + n]);
        }
        // Poison the output so a plugin that leaves it untouched is noticed.
        for scratch in &mut output_scratch {
            scratch[..n].fill(f32::NAN);
        }
        block_events.clear();
        for change in block_changes {
            let time = u32::try_from(change.time - start).context("event offset")?;
            block_events.push(ParamValueEvent::new(time, ClapId::new(change.id), Pckn::match_all(), change.value));
        }
        output_events.clear();

        let audio_inputs = input_ports.with_input_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_input_only(
                input_scratch.iter_mut().map(|b| InputChannel::variable(&mut b[..n])),
            ),
        }]);
        let mut audio_outputs = output_ports.with_output_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_output_only(output_scratch.iter_mut().map(|b| &mut b[..n])),
        }]);
        let started = Instant::now();
        let status = processor
            .process(
                &audio_inputs,
                &mut audio_outputs,
                &InputEvents::from_buffer(&block_events),
                &mut OutputEvents::from_buffer(&mut output_events),
                Some(steady_time),
                None,
            )
            .map_err(|e| anyhow!("process() of block {} ({n} frames at {start}): {e}", blocks.len()))?;
        let elapsed = started.elapsed();

        for (out, scratch) in output.iter_mut().zip(&output_scratch) {
            out.extend_from_slice(&scratch[..n]);
        }
        output_event_count += output_events.len() as usize;
        blocks.push(BlockStat { frames: n, elapsed, status });
        steady_time += n as u64;
    }
    Ok(Processed { output, blocks, output_events: output_event_count })
}
