//! The real `.clap`, loaded by a CLAP host (`integration::clap_host`), checked against the
//! parameter table (`audiocollab_core::spec`) and the offline DSP (`audiocollab_core::dsp::Chain`).
//!
//! The plugin runs under nice-plug's `assert_process_allocs` in this build: an allocation on
//! the audio thread aborts the whole test process.

use audiocollab::panel::ChatLog;
use audiocollab::params::{AudioCollabParams, HpSlope};
use audiocollab::prefs::Prefs;
use audiocollab_core::spec::{Kind, ParamId, ParamSpec, Scale, Settings, PARAMS};
use integration::clap_host::{clap_param_id, state_json, ParamChange, TestHost};
use integration::signals::{at_block_starts, db, max_abs_diff, render_offline, rms, test_signal, Rng, SAMPLE_RATE};
use nice_plug::prelude::{Enum, Params};

/// Host vs offline render: −80 dBFS.
const RENDER_TOLERANCE: f32 = 1e-4;
/// Same plugin, different block sizes.
const BLOCKING_TOLERANCE: f32 = 1e-6;

/// A plain value from a CLAP host value, through the mapping nice-plug's parameter ranges use
/// and `spec.rs` documents: continuous parameters are normalized 0..1 with
/// `normalized = ((v - min) / (max - min))^factor` (factor 1 when linear); toggles are 0/1 and
/// choices are their index, which nice-plug reports as the step index.
fn plain_from_host(spec: &ParamSpec, host_value: f64) -> f32 {
    match spec.kind {
        Kind::Float { min, max, scale } => {
            let normalized = (host_value as f32).clamp(0.0, 1.0);
            let shaped = match scale {
                Scale::Linear => normalized,
                Scale::Skewed { .. } => normalized.powf(spec.skew_factor().expect("skewed range has a factor").recip()),
            };
            shaped * (max - min) + min
        }
        Kind::Toggle | Kind::Choice(_) => host_value.round() as f32,
    }
}

/// Tolerance for a plain value read back from display text (one display step or so).
fn text_tolerance(spec: &ParamSpec, plain: f32) -> f32 {
    let (min, max) = spec.range();
    (0.006 * plain.abs()).max(0.006 * (max - min))
}

/// The `Settings` the plugin's own parameter objects hold for these host values: a fresh
/// `AudioCollabParams` receives each value exactly as nice-plug's CLAP wrapper applies a
/// param-value event or flush (`normalized = host value / step count`, then
/// `_internal_set_normalized_value`, which snaps and unnormalizes through the parameter's own
/// range), and `settings()` is what the plugin's `process()` hands the chain.
fn plugin_settings(values: &[(u32, f64)]) -> Settings {
    let params = AudioCollabParams::default();
    let map = params.param_map();
    for &(id, value) in values {
        let (_, ptr, _) = map
            .iter()
            .find(|(string_id, _, _)| clap_param_id(string_id) == id)
            .unwrap_or_else(|| panic!("CLAP id {id} is not one of AudioCollabParams' ids"));
        // SAFETY: `ptr` points into `params`, which outlives this loop. The hidden setter is the
        // one nice-plug's wrapper itself calls (`update_plain_value_by_hash`).
        unsafe {
            let steps = ptr.step_count().unwrap_or(1) as f32;
            ptr._internal_set_normalized_value(value as f32 / steps);
        }
    }
    params.settings()
}

/// The plugin's current parameters as a `Settings` snapshot: the host values read with
/// `get_value`, turned into plain values by the plugin's own parameter objects
/// ([`plugin_settings`]), and cross-checked against the spec's documented mapping
/// ([`plain_from_host`]) and the plugin's own `value_to_text`.
fn settings_from_host(host: &mut TestHost) -> Settings {
    let values = host.values().expect("get_value for all");
    let settings = plugin_settings(&values);
    for spec in &PARAMS {
        let id = host.param_id(spec.id).expect("parameter exists");
        let value = values.iter().find(|(i, _)| *i == id).expect("value read").1;
        let plain = settings.get(spec.param);
        let (min, max) = spec.range();
        let mapped = plain_from_host(spec, value);
        assert!(
            (mapped - plain).abs() <= 1e-4 * (max - min),
            "{}: host value {value} is {plain} for the plugin but {mapped} by the spec's mapping",
            spec.id
        );
        let text = host.value_to_text(id, value).expect("value_to_text");
        let parsed =
            spec.parse(&text).unwrap_or_else(|e| panic!("{}: the plugin's text {text:?} does not parse: {e}", spec.id));
        assert!(
            (parsed - plain).abs() <= text_tolerance(spec, plain),
            "{}: host value {value} is {plain} but the plugin displays {text:?} ({parsed})",
            spec.id
        );
    }
    settings
}

/// `(string id, text)` pairs, set through the plugin's `text_to_value`: every EQ band, the
/// compressor and de-esser on, pan and width moved.
const MIX: &[(&str, &str)] = &[
    ("in_gain", "2.0 dB"),
    ("hp_on", "On"),
    ("hp_freq", "120 Hz"),
    ("hp_slope", "24 dB/oct"),
    ("ls_freq", "150 Hz"),
    ("ls_gain", "4.5 dB"),
    ("b1_freq", "250 Hz"),
    ("b1_gain", "-3.0 dB"),
    ("b1_q", "0.70"),
    ("b2_freq", "2.50 kHz"),
    ("b2_gain", "6.0 dB"),
    ("b2_q", "2.00"),
    ("hs_freq", "9.00 kHz"),
    ("hs_gain", "-2.0 dB"),
    ("cmp_on", "On"),
    ("cmp_thr", "-24.0 dB"),
    ("cmp_ratio", "4.0:1"),
    ("cmp_att", "5.0 ms"),
    ("cmp_rel", "120.0 ms"),
    ("cmp_mkup", "3.0 dB"),
    ("ds_on", "On"),
    ("ds_thr", "-35.0 dB"),
    ("pan", "L20"),
    ("width", "130 %"),
    ("out_gain", "-1.5 dB"),
];

/// Applies [`MIX`] through `params.flush()` and checks that each value reads back as its text.
fn apply_mix(host: &mut TestHost) {
    for &(id, text) in MIX {
        let value = host.set_text(id, text).unwrap_or_else(|e| panic!("setting {id} to {text:?}: {e:#}"));
        let spec = ParamId::from_id(id).expect("id in spec").spec();
        let wanted = spec.parse(text).expect("spec parses its own text");
        let plain = plain_from_host(spec, value);
        assert!(
            (plain - wanted).abs() <= 1e-3 * wanted.abs().max(1.0),
            "{id}: {text:?} became host value {value} = plain {plain}, expected {wanted}"
        );
    }
}

fn new_host() -> TestHost {
    TestHost::new().unwrap_or_else(|e| panic!("cannot load the plugin: {e:#}"))
}

#[test]
fn the_bundle_is_the_library_built_by_this_invocation() {
    let bundle = integration::clap_host::plugin_bundle();
    if std::env::var_os(integration::clap_host::BUNDLE_ENV).is_none() {
        assert!(bundle.ends_with("clap-test/AudioCollab Assistant.clap"), "{}", bundle.display());
    }
    let bytes = std::fs::read(&bundle).expect("bundle exists");
    println!("bundle: {} ({} bytes)", bundle.display(), bytes.len());
    assert!(bytes.len() > 100_000, "the bundle is only {} bytes", bytes.len());
    // cargo names the cdylib without a feature hash, so a `cargo build -p audiocollab` (no
    // `assert_process_allocs`) and this test build overwrite the same file and cargo may still
    // consider this build's copy fresh. The debug bundle must contain the allocation guard.
    if cfg!(debug_assertions) && std::env::var_os(integration::clap_host::BUNDLE_ENV).is_none() {
        let needle = b"nice_assert_no_alloc";
        assert!(
            bytes.windows(needle.len()).any(|w| w == needle),
            "the bundle was built without `assert_process_allocs` (another build overwrote \
             target/debug/deps/libaudiocollab.so); `touch plugin/audiocollab/src/lib.rs` and rerun"
        );
    }
}

#[test]
fn parameter_list_matches_the_spec_table() {
    let mut host = new_host();
    let params = host.params().to_vec();
    println!("{} parameters", params.len());

    let mut host_ids: Vec<u32> = params.iter().map(|p| p.id).collect();
    let mut spec_ids: Vec<u32> = PARAMS.iter().map(|s| clap_param_id(s.id)).collect();
    host_ids.sort_unstable();
    spec_ids.sort_unstable();
    let unknown: Vec<_> = params.iter().filter(|p| !spec_ids.contains(&p.id)).map(|p| &p.name).collect();
    let missing: Vec<_> = PARAMS.iter().filter(|s| !host_ids.contains(&clap_param_id(s.id))).map(|s| s.id).collect();
    assert!(unknown.is_empty() && missing.is_empty(), "not in spec: {unknown:?}; missing: {missing:?}");
    spec_ids.dedup();
    assert_eq!(spec_ids.len(), PARAMS.len(), "two spec ids hash to the same CLAP id");
    assert_eq!(host_ids, spec_ids);

    let mut bypass_params = Vec::new();
    for spec in &PARAMS {
        let info = host.param(spec.id).expect("present").clone();
        assert_eq!(info.name, spec.name, "name of {}", spec.id);
        let (stepped, max) = match spec.kind {
            Kind::Float { .. } => (false, 1.0),
            Kind::Toggle => (true, 1.0),
            Kind::Choice(options) => (true, (options.len() - 1) as f64),
        };
        assert_eq!(info.is_stepped(), stepped, "{}: stepped flag", spec.id);
        assert_eq!((info.min, info.max), (0.0, max), "{}: host range", spec.id);
        assert!(info.is_automatable(), "{} is not automatable", spec.id);
        if info.is_bypass() {
            bypass_params.push(spec.id);
        }

        let default = plain_from_host(spec, info.default);
        let (min, max) = spec.range();
        assert!(
            (default - spec.default).abs() <= 1e-4 * (max - min),
            "{}: host default {} maps to {default}, spec default {}",
            spec.id,
            info.default,
            spec.default
        );
        let current = host.value(info.id).expect("get_value");
        assert!((current - info.default).abs() < 1e-6, "{}: value {current} != default {}", spec.id, info.default);

        // The default's text is the spec's text for the default.
        let text = host.value_to_text(info.id, info.default).expect("value_to_text");
        assert_eq!(text, spec.format(spec.default), "{}: text of the default", spec.id);
        println!("  {:<10} {:<24} {:>9} module {:?}", spec.id, spec.name, text, info.module);
    }
    println!("bypass-flagged parameters: {bypass_params:?}");
    assert_eq!(bypass_params, ["bypass"], "exactly the bypass parameter should carry CLAP_PARAM_IS_BYPASS");

    // text → host value → text round trips.
    for (id, text) in [
        ("hp_freq", "120 Hz"),
        ("b2_freq", "2.50 kHz"),
        ("b1_gain", "-3.0 dB"),
        ("b1_q", "0.70"),
        ("cmp_ratio", "4.0:1"),
        ("cmp_att", "10.0 ms"),
        ("pan", "L30"),
        ("width", "150 %"),
        ("cmp_mix", "50 %"),
        ("cmp_on", "On"),
        ("hp_slope", "24 dB/oct"),
    ] {
        let pid = host.param_id(id).expect("param");
        let value = host.text_to_value(pid, text).unwrap_or_else(|e| panic!("{e:#}"));
        let back = host.value_to_text(pid, value).expect("value_to_text");
        println!("  {id}: {text:?} -> {value:.6} -> {back:?}");
        assert_eq!(back, text, "{id}: {text:?} does not round-trip");
    }
    // Shorthands the spec accepts, and garbage it refuses.
    let hp = host.param_id("hp_freq").expect("hp_freq");
    let a = host.text_to_value(hp, "120").expect("bare number");
    let b = host.text_to_value(hp, "120 Hz").expect("with unit");
    assert!((a - b).abs() < 1e-9, "\"120\" -> {a}, \"120 Hz\" -> {b}");
    let gain = host.param_id("b1_gain").expect("b1_gain");
    assert!(host.text_to_value(gain, "loud").is_err(), "\"loud\" must be refused");
}

#[test]
fn audio_ports_offer_stereo_and_mono() {
    let mut host = new_host();
    assert_eq!(host.main_ports().expect("audio ports"), (Some(2), Some(2)), "stereo by default");
    let configs = host.port_configs().expect("port configs");
    println!("{configs:?}");
    for channels in [2, 1] {
        assert!(
            configs.iter().any(|c| c.main_input_channels == Some(channels) && c.main_output_channels == Some(channels)),
            "no {channels}-channel configuration"
        );
    }
    host.select_channels(1).expect("mono");
    assert_eq!(host.main_ports().expect("audio ports"), (Some(1), Some(1)));
    host.select_channels(2).expect("back to stereo");
}

/// Flushed settings, 2 s at 48 kHz in 512-frame blocks, against the offline chain.
fn flushed_settings_match_offline(channels: usize) {
    let mut host = new_host();
    if channels == 1 {
        host.select_channels(1).expect("mono layout");
    }
    apply_mix(&mut host);
    let settings = settings_from_host(&mut host);
    host.activate(SAMPLE_RATE as f64, 512).expect("activate");

    let input = test_signal(channels, 2 * SAMPLE_RATE as usize, 7);
    let processed = host.process(&input, &[512], &[]).expect("process");
    let offline = render_offline(&input, &settings, &[], 512);
    let diff = max_abs_diff(&processed.output, &offline);
    let changed = max_abs_diff(&processed.output, &input);
    println!(
        "{channels} ch: max |host - offline| = {diff:.3e} ({:.1} dB); output differs from input by up to {changed:.3}; \
         out RMS {:.1} dBFS, in RMS {:.1} dBFS",
        db(diff),
        db(rms(&processed.output[0])),
        db(rms(&input[0]))
    );
    assert!(diff < RENDER_TOLERANCE, "{channels} ch: host and offline renders differ by {diff:e}");
    assert!(changed > 0.01, "the mix settings should audibly change the signal");
}

#[test]
fn flushed_settings_match_offline_chain_stereo() {
    flushed_settings_match_offline(2);
}

#[test]
fn flushed_settings_match_offline_chain_mono() {
    flushed_settings_match_offline(1);
}

#[test]
fn parameter_events_mid_block_are_sample_accurate() {
    let mut host = new_host();
    apply_mix(&mut host);
    let s0 = settings_from_host(&mut host);

    // Two changes inside 512-frame blocks, at offsets 300 and 77 of their blocks.
    let changes_text =
        [(3 * 512 + 300, "b1_gain", "9.0 dB"), (3 * 512 + 300, "pan", "R40"), (40 * 512 + 77, "hp_freq", "300 Hz")];
    let mut changes = Vec::new();
    let mut settings_after = Vec::new();
    let mut values = host.values().expect("get_value for all");
    for &(time, id, text) in &changes_text {
        let pid = host.param_id(id).expect("param");
        let value = host.text_to_value(pid, text).expect("text_to_value");
        changes.push(ParamChange { time, id: pid, value });
        values.iter_mut().find(|(i, _)| *i == pid).expect("listed").1 = value;
        settings_after.push((time, plugin_settings(&values)));
    }

    host.activate(SAMPLE_RATE as f64, 512).expect("activate");
    let input = test_signal(2, SAMPLE_RATE as usize, 11);
    let processed = host.process(&input, &[512], &changes).expect("process");

    // Offline: the same 512-frame blocks, split where a setting changes (as nice-plug does).
    let offline = render_offline(&input, &s0, &settings_after, 512);
    let diff = max_abs_diff(&processed.output, &offline);

    // How much the timing matters: the same changes applied at their block's start instead.
    let early = render_offline(&input, &s0, &at_block_starts(&settings_after, 512), 512);
    let sensitivity = max_abs_diff(&early, &offline);
    println!(
        "max |host - offline| = {diff:.3e}; applying the changes at block starts instead would differ by {sensitivity:.3e}"
    );
    let callbacks = host.callbacks();
    println!("host callbacks: {callbacks:?}");
    assert!(diff < RENDER_TOLERANCE, "event timing: host and offline differ by {diff:e}");
    assert!(sensitivity > 10.0 * RENDER_TOLERANCE, "the test signal should reveal a misplaced event");
    assert_eq!(callbacks.unanswered_callbacks, 0, "a request_callback was not answered");
    assert!(
        callbacks.request_callback == 0 || callbacks.on_main_thread > 0,
        "request_callback was never answered with on_main_thread"
    );

    // The host sees the new values.
    for &(_, id, text) in &changes_text {
        let pid = host.param_id(id).expect("param");
        let value = host.value(pid).expect("get_value");
        assert_eq!(host.value_to_text(pid, value).expect("text"), text, "{id} after automation");
    }

    // A flush while active (transport stopped, plugin still active) reaches the plugin too.
    let value = host.set_text("out_gain", "-6.0 dB").expect("flush while active");
    let out_gain = host.param_id("out_gain").expect("param");
    assert_eq!(host.value(out_gain).expect("get_value"), value);
    let more = host.process(&test_signal(2, 4096, 12), &[512], &[]).expect("process after flush");
    assert!(more.output.iter().flatten().all(|x| x.is_finite()));
}

#[test]
fn odd_block_sizes_match_a_one_block_render() {
    let frames = SAMPLE_RATE as usize;
    let input = test_signal(2, frames, 23);

    let mut rng = Rng::new(0x5eed);
    let mut sizes = vec![1, 7, 33, 127, 1000, 4096, 1, 1, 2, 3];
    while sizes.iter().sum::<usize>() < frames {
        // Half tiny blocks (they straddle the chain's control grid), the rest medium or large.
        sizes.push(match rng.range(0, 3) {
            0 | 1 => rng.range(1, 64),
            2 => rng.range(65, 1024),
            _ => rng.range(1025, 4096),
        });
    }

    let mut varying = new_host();
    apply_mix(&mut varying);
    varying.activate(SAMPLE_RATE as f64, 4096).expect("activate");
    let a = varying.process(&input, &sizes, &[]).expect("process in odd blocks");

    let mut whole = new_host();
    apply_mix(&mut whole);
    whole.activate(SAMPLE_RATE as f64, frames).expect("activate for one block");
    let b = whole.process(&input, &[frames], &[]).expect("process in one block");
    assert_eq!(b.blocks.len(), 1);

    let diff = max_abs_diff(&a.output, &b.output);
    let tiny = a.blocks.iter().filter(|b| b.frames < 64).count();
    println!(
        "{} blocks of 1..=4096 frames ({tiny} under 64) vs one block of {frames}: max diff {diff:.3e}",
        a.blocks.len()
    );
    assert!(diff <= BLOCKING_TOLERANCE, "block size changes the output by {diff:e}");
}

/// Host values of every parameter, for state comparisons.
fn snapshot(host: &mut TestHost) -> Vec<(u32, f64)> {
    host.values().expect("get_value for all")
}

fn assert_same_values(a: &[(u32, f64)], b: &[(u32, f64)], what: &str) {
    assert_eq!(a.len(), b.len());
    for (&(id_a, va), &(id_b, vb)) in a.iter().zip(b) {
        assert_eq!(id_a, id_b);
        assert!((va - vb).abs() < 1e-6, "{what}: parameter {id_a}: {va} vs {vb}");
    }
}

/// A parameter value as nice-plug stores it.
#[derive(Clone, Debug, PartialEq)]
enum Stored {
    /// `{"f32": 1.5}`, `{"i32": 1}` or `{"bool": true}` (as 0/1).
    Number(f64),
    /// `{"string": "24"}`: an enum parameter with stable variant ids.
    Id(String),
}

impl Stored {
    fn close_to(&self, other: &Stored) -> bool {
        match (self, other) {
            (Stored::Number(a), Stored::Number(b)) => (a - b).abs() <= 1e-6 * a.abs().max(1.0),
            (a, b) => a == b,
        }
    }
}

/// The `params` object of nice-plug's JSON state, in its (sorted) order.
fn state_params(state: &[u8]) -> Vec<(String, Stored)> {
    let json = state_json(state).expect("nice-plug state format");
    let params = json["params"].as_object().expect("a params object");
    params
        .iter()
        .map(|(k, v)| {
            let tagged = v.as_object().filter(|o| o.len() == 1);
            let value = match tagged.and_then(|o| o.iter().next()) {
                Some((tag, serde_json::Value::Bool(b))) if tag == "bool" => Stored::Number(f64::from(u8::from(*b))),
                Some((tag, serde_json::Value::Number(n))) if tag == "f32" || tag == "i32" => {
                    Stored::Number(n.as_f64().expect("finite"))
                }
                Some((tag, serde_json::Value::String(id))) if tag == "string" => Stored::Id(id.clone()),
                _ => panic!("{k}: unexpected state value {v}"),
            };
            (k.clone(), value)
        })
        .collect()
}

#[test]
fn state_round_trips_and_garbage_is_refused() {
    let mut host = new_host();
    apply_mix(&mut host);
    let before = snapshot(&mut host);
    let saved = host.save_state().expect("save");
    let saved_params = state_params(&saved);
    println!(
        "state: {} bytes, {} params, version {}",
        saved.len(),
        saved_params.len(),
        state_json(&saved).unwrap()["version"]
    );
    assert_eq!(saved_params.len(), PARAMS.len(), "every parameter is saved");
    for &(id, text) in MIX {
        let spec = ParamId::from_id(id).expect("spec").spec();
        let stored = &saved_params.iter().find(|(k, _)| k == id).unwrap_or_else(|| panic!("{id} not in state")).1;
        let wanted = spec.parse(text).expect("parse") as f64;
        match stored {
            Stored::Number(v) => {
                assert!((v - wanted).abs() <= 1e-3 * wanted.abs().max(1.0), "{id}: state holds {v}, set {wanted}")
            }
            Stored::Id(variant) => {
                println!("  {id} = {text:?} is stored as the enum id {variant:?}")
            }
        }
    }

    // Change things, then restore.
    host.set_text("b1_gain", "12.0 dB").expect("set");
    host.set_text("cmp_on", "Off").expect("set");
    host.set_text("hp_slope", "12 dB/oct").expect("set");
    host.set_text("width", "0 %").expect("set");
    assert_ne!(snapshot(&mut host), before, "the changes took effect");
    host.load_state(&saved).expect("load the saved state");
    assert_same_values(&snapshot(&mut host), &before, "after load");
    let resaved = host.save_state().expect("save again");
    let resaved_params = state_params(&resaved);
    assert_eq!(resaved_params.len(), saved_params.len());
    for ((ka, va), (kb, vb)) in saved_params.iter().zip(&resaved_params) {
        assert_eq!(ka, kb);
        assert!(va.close_to(vb), "{ka}: saved {va:?}, re-saved {vb:?}");
    }
    println!("re-saved state identical bytes: {}", saved == resaved);
    let callbacks = host.callbacks();
    println!("host callbacks: {callbacks:?}");

    // Garbage: every one must be refused and leave the parameters alone.
    let mut rng = Rng::new(99);
    let random: Vec<u8> = (0..4096).map(|_| rng.next_u64() as u8).collect();
    let mut huge = u64::MAX.to_le_bytes().to_vec();
    huge.extend_from_slice(b"{}");
    let mut not_json = 8u64.to_le_bytes().to_vec();
    not_json.extend_from_slice(b"not json");
    let mut truncated = (saved.len() as u64 + 100).to_le_bytes().to_vec();
    truncated.extend_from_slice(&saved[8..saved.len() / 2]);
    let mut wrong_shape = 14u64.to_le_bytes().to_vec();
    wrong_shape.extend_from_slice(b"[1, 2, 3, 4.5]");
    let garbage: [(&str, &[u8]); 7] = [
        ("empty", &[]),
        ("3 bytes", &[1, 2, 3]),
        ("length u64::MAX", &huge),
        ("not JSON", &not_json),
        ("truncated", &truncated),
        ("JSON of the wrong shape", &wrong_shape),
        ("4 KiB of noise", &random),
    ];
    for (what, bytes) in garbage {
        let result = host.load_state(bytes);
        println!("  load {what}: {result:?}");
        assert!(result.is_err(), "loading {what} must fail");
        assert_same_values(&snapshot(&mut host), &before, what);
    }

    // Still a working plugin, and loading state while active works too.
    host.activate(SAMPLE_RATE as f64, 256).expect("activate");
    host.load_state(&saved).expect("load while active");
    let input = test_signal(2, 4800, 3);
    let out = host.process(&input, &[256], &[]).expect("process");
    assert!(out.output.iter().flatten().all(|x| x.is_finite()), "output after state loads");
}

/// A state file as a CLAP host hands it back: nice-plug's JSON after its 8-byte length.
fn clap_stream(json: &[u8]) -> Vec<u8> {
    let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(json);
    bytes
}

/// The persisted fields of a state, read as this version reads them.
fn state_fields(state: &serde_json::Value) -> (ChatLog, Prefs) {
    let field = |name: &str| state["fields"][name].as_str().unwrap_or_else(|| panic!("no {name} field")).to_string();
    (serde_json::from_str(&field("chat")).expect("chat"), serde_json::from_str(&field("prefs")).expect("prefs"))
}

/// Parameters appended to the table after `state-v1.json` was written (as in
/// `plugin/audiocollab/tests/state.rs`).
const ADDED_SINCE_V1: [&str; 2] = ["polarity_l", "polarity_r"];

/// The golden states of `plugin/audiocollab/tests/golden` (see `plugin/audiocollab/tests/state.rs`), loaded by the real
/// plugin as a DAW loads a saved project: the parameters take their values, and saving again
/// gives the same parameters and the same conversation and preferences. The state of a later
/// version loads to the same.
#[test]
fn golden_states_load_through_the_real_plugin() {
    let golden = integration::cli::repo_root().join("plugin/audiocollab/tests/golden");
    let v1 = std::fs::read(golden.join("state-v1.json")).expect("state-v1.json");
    let v1_json: serde_json::Value = serde_json::from_slice(&v1).expect("JSON");
    let (v1_chat, v1_prefs) = state_fields(&v1_json);
    assert!(v1_chat.entries.len() >= 4 && v1_prefs.reference.is_some(), "a golden state worth the name");

    let mut host = new_host();
    let defaults = settings_from_host(&mut host);
    host.load_state(&clap_stream(&v1)).expect("load state-v1.json");
    let loaded = settings_from_host(&mut host);
    let mut changed = 0;
    for (id, stored) in state_params(&clap_stream(&v1)) {
        let param = ParamId::from_id(&id).unwrap_or_else(|| panic!("{id} is not a parameter"));
        let want = match stored {
            Stored::Number(v) => v as f32,
            Stored::Id(variant) => {
                HpSlope::ids().expect("slope ids").iter().position(|i| *i == variant).expect("a slope id") as f32
            }
        };
        let got = loaded.get(param);
        assert!((got - want).abs() <= 1e-4 * want.abs().max(1.0), "{id}: loaded {got}, saved {want}");
        changed += usize::from(loaded.get(param) != defaults.get(param));
    }
    println!("state-v1.json: {changed} parameters away from their defaults");
    assert!(changed >= 10, "the golden parameters are not the defaults");

    // Parameters appended since the file was written load at their defaults.
    for id in ADDED_SINCE_V1 {
        let param = ParamId::from_id(id).expect("a parameter");
        assert_eq!(loaded.get(param), param.spec().default, "{id}");
    }

    // Saved again: the same parameters (exactly), the newer ones at their defaults, and the same
    // persisted fields.
    let mut v1_params = v1_json["params"].clone();
    for id in ADDED_SINCE_V1 {
        v1_params[id] = serde_json::json!({"bool": false});
    }
    let resaved = state_json(&host.save_state().expect("save")).expect("state JSON");
    assert_eq!(resaved["params"], v1_params);
    assert_eq!(state_fields(&resaved), (v1_chat.clone(), v1_prefs.clone()));

    // A later version's state, into a fresh instance: everything this version knows.
    let future = std::fs::read(golden.join("state-future.json")).expect("state-future.json");
    let mut host = new_host();
    host.load_state(&clap_stream(&future)).expect("load state-future.json");
    assert_same_values(
        &snapshot(&mut host),
        &{
            let mut h = new_host();
            h.load_state(&clap_stream(&v1)).expect("load");
            snapshot(&mut h)
        },
        "future vs v1",
    );
    let resaved = state_json(&host.save_state().expect("save")).expect("state JSON");
    assert_eq!(resaved["params"], v1_params, "the unknown parameter is skipped");
    assert_eq!(state_fields(&resaved), (v1_chat, v1_prefs));

    // Values out of range (a hand edit, or a later version's wider range) stay in range.
    let mut wide = v1_json.clone();
    wide["params"]["b1_gain"] = serde_json::json!({"f32": 30.0});
    wide["params"]["pan"] = serde_json::json!({"f32": -7.5});
    let mut host = new_host();
    host.load_state(&clap_stream(&serde_json::to_vec(&wide).unwrap())).expect("load");
    let loaded = settings_from_host(&mut host);
    assert_eq!((loaded.get(ParamId::Bell1Gain), loaded.get(ParamId::Pan)), (18.0, -1.0));
    let resaved = state_json(&host.save_state().expect("save")).expect("state JSON");
    assert_eq!(
        (resaved["params"]["b1_gain"]["f32"].as_f64(), resaved["params"]["pan"]["f32"].as_f64()),
        (Some(18.0), Some(-1.0))
    );
}

/// Mean time per block of `blocks`, in microseconds.
fn mean_us(blocks: &[integration::clap_host::BlockStat]) -> f64 {
    blocks.iter().map(|b| b.elapsed.as_secs_f64()).sum::<f64>() / blocks.len().max(1) as f64 * 1e6
}

#[test]
fn subnormal_input_gives_zero_or_normal_output() {
    let mut host = new_host();
    apply_mix(&mut host);
    host.activate(SAMPLE_RATE as f64, 512).expect("activate");
    let second = SAMPLE_RATE as usize;

    let loud = test_signal(2, second, 5);
    let normal = host.process(&loud, &[512], &[]).expect("loud");
    // 1 s of subnormals right after: constant, alternating and random-mantissa ones.
    let mut rng = Rng::new(1234);
    let tiny: Vec<Vec<f32>> = (0..2)
        .map(|c| {
            (0..second)
                .map(|i| match (i / 4800 + c) % 3 {
                    0 => 1e-40,
                    1 => {
                        if i % 2 == 0 {
                            1e-40
                        } else {
                            -1e-40
                        }
                    }
                    _ => f32::from_bits((rng.next_u64() as u32) & 0x807f_ffff),
                })
                .collect()
        })
        .collect();
    assert!(tiny.iter().flatten().all(|x| x.is_subnormal() || *x == 0.0));
    let denormal = host.process(&tiny, &[512], &[]).expect("subnormal input");

    let bad: Vec<(usize, usize, f32)> = denormal
        .output
        .iter()
        .enumerate()
        .flat_map(|(c, ch)| ch.iter().enumerate().map(move |(i, &x)| (c, i, x)))
        .filter(|&(_, _, x)| !(x == 0.0 || x.is_normal()))
        .collect();
    let nonzero = denormal.output.iter().flatten().filter(|x| **x != 0.0).count();
    println!(
        "per 512-frame block: {:.1} µs with the loud signal, {:.1} µs with subnormal input; \
         {nonzero} non-zero output samples, {} subnormal or non-finite",
        mean_us(&normal.blocks),
        mean_us(&denormal.blocks),
        bad.len()
    );
    assert!(
        bad.is_empty(),
        "{} output samples are subnormal or not finite, first {:?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
}

#[test]
fn nan_and_infinite_input_is_contained() {
    let frames = 2 * SAMPLE_RATE as usize;
    let clean = test_signal(2, frames, 31);
    let bad_start = SAMPLE_RATE as usize / 2;
    let bad_end = bad_start + 4800;
    let mut poisoned = clean.clone();
    let mut silenced = clean.clone();
    for i in bad_start..bad_end {
        poisoned[0][i] = match i % 3 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            _ => f32::NEG_INFINITY,
        };
        if i % 7 == 0 {
            poisoned[1][i] = f32::NAN;
        }
        silenced[0][i] = 0.0;
        if i % 7 == 0 {
            silenced[1][i] = 0.0;
        }
    }

    let run = |input: &[Vec<f32>]| {
        let mut host = new_host();
        apply_mix(&mut host);
        host.activate(SAMPLE_RATE as f64, 512).expect("activate");
        host.process(input, &[512], &[]).expect("process").output
    };
    let out = run(&poisoned);
    // What a plugin that treats bad samples as silence would produce.
    let reference = run(&silenced);

    let non_finite = out.iter().flatten().filter(|x| !x.is_finite()).count();
    let settle = bad_end + SAMPLE_RATE as usize / 2;
    let tail = |x: &[Vec<f32>]| x.iter().map(|c| c[settle..].to_vec()).collect::<Vec<_>>();
    let tail_diff = max_abs_diff(&tail(&out), &tail(&reference));
    let (tail_rms, reference_rms) = (rms(&out[0][settle..]), rms(&reference[0][settle..]));
    println!(
        "{non_finite} non-finite output samples; 0.5 s after clean input resumed: RMS {:.2} dBFS vs {:.2} dBFS \
         without the bad samples, max diff {tail_diff:.3e}",
        db(tail_rms),
        db(reference_rms)
    );
    assert_eq!(non_finite, 0, "NaN/Inf input leaked to the output");
    assert!((db(tail_rms) - db(reference_rms)).abs() < 1.0, "the output did not recover after the bad samples");
    assert!(db(tail_rms) > -40.0, "the output is stuck near silence");
}
