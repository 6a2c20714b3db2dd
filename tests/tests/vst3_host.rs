//! The real plugin library loaded as a VST3 module by a VST3 host (`integration::vst3_host`),
//! checked against the parameter table (`audiocollab_core::spec`), the plugin's own parameter objects
//! (`audiocollab::params`) and the offline DSP (`audiocollab_core::dsp::Chain`).
//!
//! The plugin runs under nice-plug's `assert_process_allocs` in this build: an allocation inside
//! `process()` (the host's `IParameterChanges` callbacks included) aborts the test process.
//!
//! What nice-plug 0.4.2's VST3 wrapper does with `inputParameterChanges`, as observed here and
//! read in `src/wrapper/vst3/wrapper.rs`: with `SAMPLE_ACCURATE_AUTOMATION = true` every queue
//! point becomes a step change at its sample offset; the wrapper splits the host's block at each
//! offset and calls the plugin's `process()` once per piece, after applying the points at the
//! piece's start. Points are steps, not the linear ramps the VST3 docs describe between points.
//! A change at offset 0 of the first block is applied after `setProcessing(true)` (which calls
//! the plugin's `reset()` with the values at that moment) and before the first sample, so the
//! chain glides from the activation values to the new ones.

use audiocollab::params::AudioCollabParams;
use audiocollab_core::spec::{Kind, ParamId, Settings, PARAMS};
use integration::clap_host::clap_param_id;
use integration::signals::{at_block_starts, max_abs_diff, render_offline, test_signal, Rng, SAMPLE_RATE};
use integration::vst3_host::{
    loaded_library_path, module_entry_result, Buffers, Factory, MemoryStream, ParamChange, Processed, Vst3Host,
    AUDIO_MODULE_CLASS, CLASS_ID, HOST_NAME, PLUGIN_NAME,
};
use nice_plug::prelude::Params;
use vst3::Steinberg::Vst::{IComponent, SpeakerArr};
use vst3::Steinberg::{kNoInterface, kResultFalse, kResultOk, IPluginFactory};

/// Host vs offline render: −80 dBFS.
const RENDER_TOLERANCE: f32 = 1e-4;
/// Default settings vs the dry input.
const TRANSPARENT_TOLERANCE: f32 = 1e-6;
/// Varying block sizes, 1, 7 and 512 included (512 is the maximum block size).
const BLOCK_SIZES: [usize; 10] = [7, 1, 512, 64, 1, 333, 7, 512, 128, 1];

fn new_host() -> Vst3Host {
    Vst3Host::new().unwrap_or_else(|e| panic!("cannot load the plugin as VST3: {e:#}"))
}

fn spec_of(string_id: &str) -> &'static audiocollab_core::spec::ParamSpec {
    ParamId::from_id(string_id).unwrap_or_else(|| panic!("{string_id} is not in the table")).spec()
}

/// The `Settings` the plugin's `process()` hands its chain after nice-plug's VST3 wrapper
/// applied these normalized values: a fresh `AudioCollabParams` receives each value exactly as
/// the wrapper does (`set_normalized_value_by_hash` → `_internal_set_normalized_value(value as
/// f32)`), and `settings()` is what the plugin reads. Each plain value is cross-checked against
/// the parameter's own `preview_plain(normalized)`.
fn plugin_settings(values: &[(&str, f64)]) -> Settings {
    let params = AudioCollabParams::default();
    let map = params.param_map();
    for &(string_id, normalized) in values {
        let (_, ptr, _) = map
            .iter()
            .find(|(id, _, _)| id == string_id)
            .unwrap_or_else(|| panic!("{string_id} is not one of AudioCollabParams' ids"));
        // SAFETY: `ptr` points into `params`, which outlives this loop. The hidden setter is the
        // one nice-plug's wrapper itself calls.
        unsafe { ptr._internal_set_normalized_value(normalized as f32) };
    }
    let settings = params.settings();
    for &(string_id, normalized) in values {
        let (_, ptr, _) = map.iter().find(|(id, _, _)| id == string_id).expect("found");
        let spec = spec_of(string_id);
        // SAFETY: as above.
        let preview = unsafe { ptr.preview_plain(normalized as f32) };
        let plain = settings.get(spec.param);
        let (min, max) = spec.range();
        assert!(
            (preview - plain).abs() <= 1e-5 * (max - min),
            "{string_id}: normalized {normalized} previews as {preview} but the plugin holds {plain}"
        );
    }
    settings
}

/// Checks what every block returned and that the output is finite.
fn assert_healthy(processed: &Processed, frames: usize) {
    assert_eq!(processed.blocks.iter().map(|b| b.frames).sum::<usize>(), frames, "the blocks cover the signal");
    assert!(processed.blocks.iter().all(|b| b.result == kResultOk));
    assert!(
        processed.output.iter().flatten().all(|x| x.is_finite()),
        "non-finite output (the output buffers are NaN-poisoned before each block)"
    );
}

/// Normalized changes used by several tests: every section of the chain moves.
const CHANGES: &[(&str, f64)] = &[
    ("in_gain", 0.5625),  // +3 dB
    ("hp_on", 1.0),       // On
    ("hp_freq", 0.5),     // 120 Hz (the skew centre)
    ("hp_slope", 1.0),    // 24 dB/oct
    ("ls_gain", 0.625),   // +4.5 dB
    ("b1_gain", 0.75),    // +9 dB
    ("b2_q", 0.3),        // narrower
    ("hs_gain", 0.25),    // −9 dB
    ("cmp_on", 1.0),      // On
    ("cmp_thr", 0.5),     // −30 dB
    ("cmp_ratio", 0.5),   // 4:1
    ("ds_on", 1.0),       // On
    ("ds_thr", 0.5),      // −30 dB
    ("pan", 0.7),         // R40
    ("width", 0.75),      // 150 %
    ("out_gain", 0.4375), // −3 dB
];

fn changes_at(host: &Vst3Host, time: usize, values: &[(&str, f64)]) -> Vec<ParamChange> {
    values.iter().map(|&(id, value)| ParamChange { time, id: host.param_id(id).expect("parameter"), value }).collect()
}

#[test]
fn factory_describes_one_audio_effect_class() {
    println!("library: {}", loaded_library_path().expect("library").display());
    let entry = module_entry_result().expect("library");
    if cfg!(all(unix, not(target_os = "macos"))) {
        assert_eq!(entry, Some(true), "ModuleEntry");
    }

    let factory = Factory::new().expect("GetPluginFactory");
    assert_eq!(factory.versions(), (true, true), "IPluginFactory2 and IPluginFactory3");
    let info = factory.info().expect("getFactoryInfo");
    println!("factory: {info:?}");
    assert_eq!(info.vendor, "AudioCollab");
    assert_eq!(info.url, "https://github.com/audiocollab/assistant");
    assert_eq!(info.email, "dev@audiocollab.invalid");
    let unicode = vst3::Steinberg::PFactoryInfo_::FactoryFlags_::kUnicode as i32;
    assert_eq!(info.flags & unicode, unicode, "kUnicode");

    assert_eq!(factory.class_count(), 1);
    let class = factory.class(0).expect("getClassInfo(0)");
    println!("class 0: {class:#?}");
    assert_eq!(class.cid, CLASS_ID);
    assert_eq!(class.name, PLUGIN_NAME);
    assert_eq!(class.category, AUDIO_MODULE_CLASS);
    assert_eq!(class.cardinality, 0x7FFF_FFFF, "kManyInstances");

    let info2 = class.info2.as_ref().expect("PClassInfo2");
    assert_eq!(info2.name, PLUGIN_NAME);
    assert_eq!(info2.vendor, "AudioCollab");
    assert_eq!(info2.version, env!("CARGO_PKG_VERSION"), "workspace version");
    assert!(info2.sdk_version.starts_with("VST 3"), "{}", info2.sdk_version);
    let subcategories = info2.sub_category_list();
    assert!(subcategories.contains(&"Fx"), "{subcategories:?}");
    assert_eq!(subcategories, ["Fx", "EQ", "Dynamics"]);
    assert_eq!(class.info_w.as_ref(), Some(info2), "getClassInfoUnicode agrees with getClassInfo2");

    // Out of range and unknown classes are refused without crashing.
    assert_ne!(factory.class_info_result(1), kResultOk);
    assert_ne!(factory.class_info_result(-1), kResultOk);
    let (result, object) = factory.create::<IComponent>(&[0; 16]);
    assert_ne!(result, kResultOk, "unknown class id");
    assert!(object.is_none());
    let (result, object) = factory.create::<IPluginFactory>(&CLASS_ID);
    assert_eq!(result, kNoInterface, "the component is no IPluginFactory");
    assert!(object.is_none());
}

#[test]
fn component_initializes_as_a_single_component_with_stereo_and_mono_buses() {
    let host = new_host();
    assert!(host.is_single_component(), "the component implements IEditController itself");
    assert_eq!(host.controller_class_id_result(), kNoInterface, "getControllerClassId: no separate controller class");
    let counts = host.host_counts();
    println!("host callbacks after initialize: {counts:?}");
    assert_eq!((counts.get_name, counts.create_instance), (0, 0), "nice-plug 0.4.2 ignores the initialize() context");
    // The context itself works (this call is the host's own, hence the count of 1).
    assert_eq!(host.host_name().expect("getName"), HOST_NAME);
    assert_eq!(host.host_counts().get_name, 1);

    // Buses: one main audio bus each way, stereo by default; no event buses (no MIDI).
    assert_eq!(host.bus_count(true, true), 1);
    assert_eq!(host.bus_count(true, false), 1);
    assert_eq!(host.bus_count(false, true), 0);
    assert_eq!(host.bus_count(false, false), 0);
    for input in [true, false] {
        let bus = host.audio_bus(input, 0).expect("bus 0");
        println!("audio bus (input {input}): {bus:?}");
        assert_eq!(bus.channels, 2);
        assert_eq!(bus.bus_type, 0, "kMain");
        assert_eq!(bus.flags & 1, 1, "kDefaultActive");
        assert!(host.audio_bus(input, 1).is_err(), "there is no bus 1");
    }

    assert_eq!(host.can_process_sample_size(false), kResultOk, "32-bit");
    assert_eq!(host.can_process_sample_size(true), kResultFalse, "64-bit");

    // Layouts: mono and stereo are accepted, 5.1 and mixed counts refused.
    assert_eq!(host.set_bus_arrangements(SpeakerArr::kMono, SpeakerArr::kMono), kResultOk);
    assert_eq!(host.bus_arrangement(true).expect("arrangement"), SpeakerArr::kMono);
    assert_eq!(host.audio_bus(false, 0).expect("bus").channels, 1);
    assert_eq!(host.set_bus_arrangements(SpeakerArr::k51, SpeakerArr::k51), kResultFalse);
    assert_eq!(host.set_bus_arrangements(SpeakerArr::kStereo, SpeakerArr::kMono), kResultFalse);
    assert_eq!(
        host.bus_arrangement(false).expect("arrangement"),
        SpeakerArr::kMono,
        "a refused layout changes nothing"
    );
    assert_eq!(host.set_bus_arrangements(SpeakerArr::kStereo, SpeakerArr::kStereo), kResultOk);
    assert_eq!(host.bus_arrangement(true).expect("arrangement"), SpeakerArr::kStereo);
    assert_eq!(host.bus_arrangement(false).expect("arrangement"), SpeakerArr::kStereo);

    assert_eq!(host.latency_samples(), 0, "the chain has no latency");
    assert_eq!(host.tail_samples(), 0);
}

#[test]
fn parameter_list_matches_the_spec_table() {
    let host = new_host();
    let params = host.params();
    println!("{} parameters:", params.len());
    for p in params {
        println!(
            "  {:>2} {:>10} {:<24} units {:<5?} steps {} default {:.4} unit {} flags {:#x}",
            p.index, p.id, p.title, p.units, p.step_count, p.default_normalized, p.unit_id, p.flags
        );
    }
    // No hidden extras: with MIDI_INPUT = None the wrapper adds no MIDI CC parameters, and the
    // plugin's own bypass is the host's bypass (no wrapper-made one).
    assert_eq!(params.len(), PARAMS.len(), "every parameter of the table, nothing added");
    let ids: Vec<u32> = params.iter().map(|p| p.id).collect();
    let spec_ids: Vec<u32> = PARAMS.iter().map(|s| clap_param_id(s.id)).collect();
    assert_eq!(ids, spec_ids, "ParamIDs are the hashed string ids, in table order");
    let mut titles: Vec<&str> = params.iter().map(|p| p.title.as_str()).collect();
    let mut names: Vec<&str> = PARAMS.iter().map(|s| s.name).collect();
    titles.sort_unstable();
    names.sort_unstable();
    assert_eq!(titles, names, "every spec name is a title");

    let bypass: Vec<&str> = params.iter().filter(|p| p.is_bypass()).map(|p| p.title.as_str()).collect();
    assert_eq!(bypass, ["Bypass"], "exactly one kIsBypass parameter");

    // Units (parameter groups) through IUnitInfo.
    let units = host.units().expect("IUnitInfo");
    println!("units: {units:?}");
    // One unit per group, children of the root unit (kRootUnitId = 0), which nice-plug does not
    // list itself.
    let mut unit_names: Vec<&str> = units.iter().map(|u| u.name.as_str()).collect();
    unit_names.sort_unstable();
    assert_eq!(unit_names, ["Dynamics", "EQ", "Input", "Output", "Stereo"]);
    assert!(units.iter().all(|u| u.parent == 0 && u.id > 0), "{units:?}");

    let fresh = AudioCollabParams::default();
    let map = fresh.param_map();
    for (p, spec) in params.iter().zip(PARAMS.iter()) {
        let id = spec.id;
        assert_eq!(p.title, spec.name, "{id}");
        assert_eq!(p.short_title, spec.name, "{id}");
        assert!(p.can_automate(), "{id} is automatable");
        assert!(!p.is_hidden() && !p.is_read_only(), "{id} is visible and writable");
        assert_eq!(p.units, spec.unit, "{id} unit suffix");
        let steps = match spec.kind {
            Kind::Float { .. } => 0,
            Kind::Toggle => 1,
            Kind::Choice(options) => options.len() as i32 - 1,
        };
        assert_eq!(p.step_count, steps, "{id} stepCount");
        let unit =
            units.iter().find(|u| u.id == p.unit_id).unwrap_or_else(|| panic!("{id}: unit {} not listed", p.unit_id));
        assert_eq!(unit.name, spec.group.label(), "{id} unit");

        // Defaults: normalized in VST3, and they map back to the table's plain default.
        let (_, ptr, _) = map.iter().find(|(s, _, _)| s == id).expect("in param_map");
        // SAFETY: `ptr` points into `fresh`, alive for the loop.
        let preview = unsafe { ptr.preview_plain(p.default_normalized as f32) };
        let (min, max) = spec.range();
        let tolerance = 1e-5 * (max - min);
        assert!(
            (preview - spec.default).abs() <= tolerance,
            "{id}: default normalized {} is {preview}, table says {}",
            p.default_normalized,
            spec.default
        );
        assert_eq!(host.normalized(p.id), p.default_normalized, "{id}: a fresh instance sits at its default");
        let plain = host.to_plain(p.id, p.default_normalized) as f32;
        assert!((plain - spec.default).abs() <= tolerance, "{id}: normalizedParamToPlain gives {plain}");
        let back = host.to_normalized(p.id, spec.default as f64);
        assert!((back - p.default_normalized).abs() < 1e-5, "{id}: plainParamToNormalized gives {back}");

        // Display text comes from the table's formatter (without the unit the host appends).
        let text = host.value_string(p.id, p.default_normalized).expect("getParamStringByValue");
        assert_eq!(text, spec.format_without_unit(spec.default), "{id} text");
        let full = spec.format(spec.default);
        let (result, parsed) = host.value_from_string(p.id, &full);
        assert_eq!(result, kResultOk, "{id}: getParamValueByString({full:?})");
        assert!(
            (parsed - p.default_normalized).abs() < 1e-5,
            "{id}: {full:?} parses to {parsed}, default is {}",
            p.default_normalized
        );
    }
    let (result, _) = host.value_from_string(host.param_id("b1_gain").unwrap(), "loud");
    assert_eq!(result, kResultFalse, "unparsable text is refused");
    println!("host callbacks: {:?}", host.host_counts());
}

#[test]
fn defaults_are_transparent_in_blocks_of_any_size() {
    let mut host = new_host();
    host.activate(SAMPLE_RATE as f64, 512, 2).expect("activate");
    let frames = SAMPLE_RATE as usize;
    let input = test_signal(2, frames, 7);
    let processed = host.process(&input, &BLOCK_SIZES, &[], Buffers::Separate).expect("process");
    assert_healthy(&processed, frames);
    for size in [1, 7, 512] {
        assert!(processed.blocks.iter().any(|b| b.frames == size), "a block of {size} frames was processed");
    }
    let dry = max_abs_diff(&processed.output, &input);
    let offline = render_offline(&input, &Settings::default(), &[], 512);
    let vs_offline = max_abs_diff(&processed.output, &offline);
    let micros: f64 = processed.blocks.iter().map(|b| b.elapsed.as_secs_f64() * 1e6).sum();
    println!(
        "{} blocks ({frames} frames, {micros:.0} µs in process()): max |out - in| = {dry:.3e}, \
         max |out - offline chain| = {vs_offline:.3e}, output parameter points {}",
        processed.blocks.len(),
        processed.output_param_points
    );
    assert!(dry <= TRANSPARENT_TOLERANCE, "defaults colour the signal by {dry:e}");
    assert!(vs_offline <= TRANSPARENT_TOLERANCE, "offline chain differs by {vs_offline:e}");
    assert_eq!(processed.output_param_points, 0);

    // The state carries over to a second call (continuing the stream).
    let more = test_signal(2, 4096, 8);
    let processed = host.process(&more, &[512], &[], Buffers::Separate).expect("process again");
    assert_healthy(&processed, 4096);
    assert!(max_abs_diff(&processed.output, &more) <= TRANSPARENT_TOLERANCE);
    host.deactivate().expect("deactivate");
    assert!(!host.is_active());
}

#[test]
fn parameter_changes_at_offset_zero_glide_from_the_activation_values() {
    let mut host = new_host();
    let expected_settings = plugin_settings(CHANGES);
    println!("changes (normalized → plugin text):");
    for &(id, value) in CHANGES {
        let pid = host.param_id(id).expect("parameter");
        println!(
            "  {id:>9} {value:.4} → {:?} (plain {})",
            host.value_string(pid, value).expect("text"),
            expected_settings.get(spec_of(id).param)
        );
    }
    let changes = changes_at(&host, 0, CHANGES);

    host.activate(SAMPLE_RATE as f64, 512, 2).expect("activate");
    let frames = SAMPLE_RATE as usize;
    let input = test_signal(2, frames, 11);
    let processed = host.process(&input, &BLOCK_SIZES, &changes, Buffers::Separate).expect("process");
    assert_healthy(&processed, frames);
    assert_eq!(processed.blocks[0].param_points, CHANGES.len());
    assert!(processed.blocks[1..].iter().all(|b| b.param_points == 0));

    // The plugin reset to the defaults in setProcessing(true), then received the changes
    // before its first sample: the chain glides from the defaults to the new settings.
    let offline = render_offline(&input, &Settings::default(), &[(0, expected_settings)], 512);
    let diff = max_abs_diff(&processed.output, &offline);
    // How much the glide matters: a chain reset straight to the new settings.
    let snapped = render_offline(&input, &expected_settings, &[], 512);
    let sensitivity = max_abs_diff(&snapped, &offline);
    let wet = max_abs_diff(&processed.output, &input);
    println!(
        "max |host - offline (glide from defaults)| = {diff:.3e}; a chain snapped to the new \
         settings differs from it by {sensitivity:.3e}; the output differs from the dry input by \
         {wet:.3e}"
    );
    assert!(diff < RENDER_TOLERANCE, "host and offline differ by {diff:e}");
    assert!(sensitivity > 10.0 * RENDER_TOLERANCE, "the glide should be visible: {sensitivity:e}");
    assert!(wet > 0.1, "the settings should change the sound: {wet}");

    // The controller reports the values the host sent.
    for &(id, value) in CHANGES {
        let now = host.normalized(host.param_id(id).unwrap());
        assert!((now - value).abs() < 1e-6, "{id}: getParamNormalized {now}, sent {value}");
    }
    let counts = host.host_counts();
    println!("host callbacks: {counts:?}");
    assert_eq!(processed.output_param_points, 0);
}

#[test]
fn parameter_changes_inside_blocks_are_sample_accurate() {
    let mut host = new_host();
    let block = 512;
    // (time, string id, normalized): offset 0 of block 0, offset 300 of block 3, offset 77 of
    // block 40, and two points of one parameter in block 60 (offsets 10 and 400).
    let timeline: [(usize, &str, f64); 6] = [
        (0, "hp_on", 1.0),
        (3 * block + 300, "b1_gain", 0.75),
        (3 * block + 300, "pan", 0.2),
        (40 * block + 77, "hp_freq", 0.8),
        (60 * block + 10, "out_gain", 0.3),
        (60 * block + 400, "out_gain", 0.6),
    ];
    let mut changes = Vec::new();
    let mut applied: Vec<(&str, f64)> = Vec::new();
    let mut settings_after: Vec<(usize, Settings)> = Vec::new();
    for &(time, id, value) in &timeline {
        changes.push(ParamChange { time, id: host.param_id(id).expect("parameter"), value });
        applied.retain(|(i, _)| *i != id);
        applied.push((id, value));
        settings_after.push((time, plugin_settings(&applied)));
    }

    host.activate(SAMPLE_RATE as f64, block, 2).expect("activate");
    let frames = SAMPLE_RATE as usize;
    let input = test_signal(2, frames, 12);
    let processed = host.process(&input, &[block], &changes, Buffers::Separate).expect("process");
    assert_healthy(&processed, frames);
    let points: Vec<(usize, usize)> = processed
        .blocks
        .iter()
        .enumerate()
        .filter(|(_, b)| b.param_points > 0)
        .map(|(i, b)| (i, b.param_points))
        .collect();
    assert_eq!(points, [(0, 1), (3, 2), (40, 1), (60, 2)], "points per block");

    let offline = render_offline(&input, &Settings::default(), &settings_after, block);
    let diff = max_abs_diff(&processed.output, &offline);
    // Sensitivity: the same changes applied at the start of their blocks.
    let early = render_offline(&input, &Settings::default(), &at_block_starts(&settings_after, block), block);
    let sensitivity = max_abs_diff(&early, &offline);
    println!(
        "max |host - offline split at the exact samples| = {diff:.3e}; applying the changes at \
         their block starts instead would differ by {sensitivity:.3e}"
    );
    assert!(diff < RENDER_TOLERANCE, "event timing: {diff:e}");
    assert!(sensitivity > 10.0 * RENDER_TOLERANCE, "the signal should reveal a misplaced point");
    // The last point of a queue wins.
    let out_gain = host.normalized(host.param_id("out_gain").unwrap());
    assert!((out_gain - 0.6).abs() < 1e-6, "out_gain ends at {out_gain}");
}

#[test]
fn in_place_buffers_give_the_same_output() {
    let frames = SAMPLE_RATE as usize / 2;
    let input = test_signal(2, frames, 21);
    let render = |buffers| {
        let mut host = new_host();
        let changes = changes_at(&host, 0, CHANGES);
        host.activate(SAMPLE_RATE as f64, 512, 2).expect("activate");
        let processed = host.process(&input, &BLOCK_SIZES, &changes, buffers).expect("process");
        assert_healthy(&processed, frames);
        processed.output
    };
    let separate = render(Buffers::Separate);
    let in_place = render(Buffers::InPlace);
    let diff = max_abs_diff(&separate, &in_place);
    let wet = max_abs_diff(&separate, &input);
    println!("separate vs in-place buffers: max diff {diff:e} (output vs dry: {wet:.3})");
    assert!(wet > 0.1, "the settings should change the sound");
    assert_eq!(diff, 0.0, "in-place processing changes the output");
}

#[test]
fn bypass_parameter_crossfades_to_the_untouched_input() {
    let mut host = new_host();
    let bypass = host.param("bypass").expect("bypass").clone();
    assert!(bypass.is_bypass());
    let before = plugin_settings(CHANGES);
    let mut with_bypass = CHANGES.to_vec();
    with_bypass.push(("bypass", 1.0));
    let after = plugin_settings(&with_bypass);
    assert!(after.on(ParamId::Bypass));

    host.activate(SAMPLE_RATE as f64, 512, 2).expect("activate");
    let frames = SAMPLE_RATE as usize / 2;
    let input = test_signal(2, frames, 31);
    let first = frames / 2;
    let head: Vec<Vec<f32>> = input.iter().map(|c| c[..first].to_vec()).collect();
    let tail: Vec<Vec<f32>> = input.iter().map(|c| c[first..].to_vec()).collect();
    let a = host.process(&head, &BLOCK_SIZES, &changes_at(&host, 0, CHANGES), Buffers::Separate).expect("process");
    let b = host
        .process(&tail, &BLOCK_SIZES, &changes_at(&host, 0, &[("bypass", 1.0)]), Buffers::Separate)
        .expect("process with bypass");
    assert_healthy(&a, first);
    assert_healthy(&b, frames - first);
    let output: Vec<Vec<f32>> =
        a.output.iter().zip(&b.output).map(|(x, y)| x.iter().chain(y).copied().collect()).collect();

    let offline = render_offline(&input, &Settings::default(), &[(0, before), (first, after)], 512);
    let diff = max_abs_diff(&output, &offline);
    // After the 10 ms crossfade (plus a control tick) the bypass is bit-exact.
    let settled = first + (0.011 * SAMPLE_RATE) as usize + 16;
    let dry: Vec<Vec<f32>> = input.iter().map(|c| c[settled..].to_vec()).collect();
    let out: Vec<Vec<f32>> = output.iter().map(|c| c[settled..].to_vec()).collect();
    let bypassed = max_abs_diff(&out, &dry);
    let wet = max_abs_diff(&a.output, &head);
    println!(
        "bypass: max |host - offline| = {diff:.3e}; after the crossfade |out - in| = {bypassed:e} \
         (before the bypass the output differed from the input by {wet:.3})"
    );
    assert!(diff < RENDER_TOLERANCE, "host and offline differ by {diff:e}");
    assert!(wet > 0.1, "the processing was audible before the bypass");
    assert_eq!(bypassed, 0.0, "a settled bypass passes the input untouched");
}

/// `getParamNormalized` for every parameter.
fn snapshot(host: &Vst3Host) -> Vec<(u32, f64)> {
    host.normalized_values()
}

/// The `params` object of nice-plug's JSON state.
fn state_params(state: &[u8]) -> serde_json::Map<String, serde_json::Value> {
    let json: serde_json::Value =
        serde_json::from_slice(state).unwrap_or_else(|e| panic!("the VST3 state is bare JSON: {e}"));
    json["params"].as_object().expect("a params object").clone()
}

#[test]
fn state_round_trips_and_garbage_is_refused() {
    let host = new_host();
    let defaults = snapshot(&host);
    for &(id, value) in CHANGES {
        let result = host.set_normalized(host.param_id(id).unwrap(), value);
        assert_eq!(result, kResultOk, "setParamNormalized({id})");
    }
    let before = snapshot(&host);
    assert_ne!(before, defaults, "setParamNormalized took effect");
    let saved = host.get_state().expect("getState");
    let params = state_params(&saved);
    println!(
        "state: {} bytes of JSON, {} params; b1_gain {}, hp_on {}, hp_slope {}",
        saved.len(),
        params.len(),
        params["b1_gain"],
        params["hp_on"],
        params["hp_slope"]
    );
    assert_eq!(params.len(), PARAMS.len(), "every parameter is saved");
    let expected = plugin_settings(CHANGES);
    for &(id, _) in CHANGES {
        let stored = &params[id];
        let plain = expected.get(spec_of(id).param);
        let ok = if let Some(v) = stored.get("f32").and_then(|v| v.as_f64()) {
            (v as f32 - plain).abs() <= 1e-4 * plain.abs().max(1.0)
        } else if let Some(b) = stored.get("bool").and_then(|v| v.as_bool()) {
            b == (plain >= 0.5)
        } else if let Some(s) = stored.get("string").and_then(|v| v.as_str()) {
            // The slope's stable enum ids are "12" and "24".
            s == ["12", "24"][plain as usize]
        } else {
            stored.get("i32").and_then(|v| v.as_f64()) == Some(plain as f64)
        };
        assert!(ok, "{id}: state holds {stored}, expected plain {plain}");
    }

    // A fresh instance restores every value.
    let other = new_host();
    assert_eq!(snapshot(&other), defaults);
    assert_eq!(other.set_state(&saved), kResultOk, "setState");
    assert_eq!(snapshot(&other), before, "values after a round trip");
    assert_eq!(
        other.set_component_state_on_controller(&saved),
        kResultOk,
        "setComponentState (a no-op for a single component)"
    );
    assert_eq!(snapshot(&other), before);
    let resaved = other.get_state().expect("getState again");
    assert_eq!(state_params(&resaved), params, "re-saved state");
    println!("re-saved state identical bytes: {}", resaved == saved);

    // A host may have read its own header first: the plugin reads from the current position.
    let mut with_header = b"HOSTHEADER".to_vec();
    with_header.extend_from_slice(&saved);
    for &(id, _) in CHANGES {
        host.set_normalized(host.param_id(id).unwrap(), 0.0);
    }
    assert_ne!(snapshot(&host), before);
    let stream = MemoryStream::with_bytes(&with_header, 10);
    assert_eq!(host.set_state_stream(&stream), kResultOk, "setState after a header");
    assert_eq!(snapshot(&host), before, "values after loading behind a header");
    assert_eq!(stream.position(), with_header.len(), "the plugin read to the end");

    // Garbage: refused, values untouched, no crash.
    let mut rng = Rng::new(99);
    let noise: Vec<u8> = (0..4096).map(|_| rng.next_u64() as u8).collect();
    let truncated = &saved[..saved.len() / 2];
    let garbage: [(&str, &[u8]); 6] = [
        ("empty", &[]),
        ("3 bytes", &[1, 2, 3]),
        ("not JSON", b"not json"),
        ("truncated JSON", truncated),
        ("JSON of the wrong shape", b"[1, 2, 3, 4.5]"),
        ("4 KiB of noise", &noise),
    ];
    for (what, bytes) in garbage {
        let result = host.set_state(bytes);
        println!("  setState({what}): {result} ({})", integration::vst3_host::result_name(result));
        assert_ne!(result, kResultOk, "loading {what} must fail");
        assert_eq!(snapshot(&host), before, "{what} changed the values");
    }
    // Well-formed but odd: a wrong value type is skipped, an out-of-range value clamped.
    let odd = br#"{"params": {"b1_gain": {"bool": true}, "b2_gain": {"f32": 1000.0}}, "fields": {}}"#;
    let result = host.set_state(odd);
    let b1 = host.normalized(host.param_id("b1_gain").unwrap());
    let b2 = host.normalized(host.param_id("b2_gain").unwrap());
    println!("  setState(odd but valid JSON): {result}; b1_gain {b1}, b2_gain {b2}");
    assert_eq!(result, kResultOk, "a well-formed state with odd values loads");
    assert_eq!(b1, 0.75, "a value of the wrong type is ignored");
    assert!((0.0..=1.0).contains(&b2), "b2_gain normalized {b2} out of range");

    // Still a working plugin afterwards.
    drop(other);
    let mut host = host;
    assert_eq!(host.set_state(&saved), kResultOk);
    host.activate(SAMPLE_RATE as f64, 256, 2).expect("activate");
    let input = test_signal(2, 4800, 3);
    let out = host.process(&input, &[256], &[], Buffers::Separate).expect("process");
    assert_healthy(&out, 4800);
    // It processes at the loaded settings: reset() in setProcessing(true) took them.
    let offline = render_offline(&input, &expected, &[], 256);
    let diff = max_abs_diff(&out.output, &offline);
    println!("processing at the loaded state: max |host - offline| = {diff:.3e}");
    assert!(diff < RENDER_TOLERANCE, "{diff:e}");
}

#[test]
fn mono_layout_processes_one_channel() {
    let mut host = new_host();
    let changes = changes_at(&host, 0, &[("b1_gain", 0.75), ("out_gain", 0.4375)]);
    let expected = plugin_settings(&[("b1_gain", 0.75), ("out_gain", 0.4375)]);
    host.activate(SAMPLE_RATE as f64, 512, 1).expect("activate mono");
    assert_eq!(host.bus_arrangement(true).unwrap(), SpeakerArr::kMono);
    let frames = 24_000;
    let input = test_signal(1, frames, 41);
    let processed = host.process(&input, &BLOCK_SIZES, &changes, Buffers::Separate).expect("process mono");
    assert_healthy(&processed, frames);
    let offline = render_offline(&input, &Settings::default(), &[(0, expected)], 512);
    let diff = max_abs_diff(&processed.output, &offline);
    println!("mono: max |host - offline| = {diff:.3e}");
    assert!(diff < RENDER_TOLERANCE, "{diff:e}");
}

/// Pins a nice-plug 0.4.2 VST3 wrapper bug, so it is noticed when the dependency changes:
/// `IEditController::getParameterInfo` checks `param_index > getParameterCount()` instead of
/// `>=`, so `index == count` passes the check, `param_hashes[count]` panics ("index out of
/// bounds") inside an `extern "system"` function, and the panic aborts the host process. A
/// host asking for one past the end (a validator, say) dies. The harness only asks for
/// `0..count`. Run in a child process, which must die of `SIGABRT` with that panic message.
#[test]
fn known_wrapper_bug_get_parameter_info_at_count_aborts() {
    const PROBE: &str = "AUDIOCOLLAB_VST3_PROBE_PAST_END";
    const NAME: &str = "known_wrapper_bug_get_parameter_info_at_count_aborts";
    if std::env::var_os(PROBE).is_some() {
        // The child: ask for index == count.
        let host = new_host();
        let count = host.params().len() as i32;
        // SAFETY: plain C struct; valid out pointer.
        let mut info: vst3::Steinberg::Vst::ParameterInfo = unsafe { std::mem::zeroed() };
        use vst3::Steinberg::Vst::IEditControllerTrait;
        let result = unsafe { host.raw_controller().getParameterInfo(count, &mut info) };
        println!("PROBE: getParameterInfo({count}) returned {result}");
        return;
    }
    let exe = std::env::current_exe().expect("test binary");
    let child = std::process::Command::new(exe)
        .args([NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(PROBE, "1")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run the probe");
    let stdout = String::from_utf8_lossy(&child.stdout);
    let stderr = String::from_utf8_lossy(&child.stderr);
    let panic_line = stderr.lines().find(|l| l.contains("index out of bounds")).unwrap_or("");
    println!(
        "probe exit: {:?}; panic: {panic_line:?}; probe stdout says returned: {}",
        child.status,
        stdout.contains("PROBE:")
    );
    assert!(
        !child.status.success() && !stdout.contains("PROBE:"),
        "getParameterInfo(count) no longer aborts: the wrapper bug is fixed, update the docs in \
         integration::vst3_host and this test.\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let n = audiocollab_core::spec::NUM_PARAMS;
    assert!(panic_line.contains(&format!("the len is {n} but the index is {n}")), "unexpected failure: {stderr}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(child.status.signal(), Some(6), "SIGABRT");
    }
}
