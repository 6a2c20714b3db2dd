//! The plugin state a DAW keeps in a project, across versions of the plugin.
//!
//! * `golden/state-v1.json` is the whole state as nice-plug writes it for a host (the bytes a
//!   VST3 host stores; a CLAP host stores the same after an 8-byte length), written by format
//!   version 1: non-default parameters, a conversation with cards in every state, preferences
//!   with a reference curve. Every later version must load it whole: these tests read its
//!   persisted fields through nice-plug's own `deserialize_fields`, and
//!   `tests/tests/clap_host.rs` loads it through the real `.clap`.
//! * `golden/state-future.json` is that state as a later version might write it: fields this
//!   version does not know at every level, an unknown parameter and persisted field, a message
//!   of an unknown kind, a card in an unknown state. Loading it must keep everything this
//!   version knows, which is all of `state-v1.json`.
//!
//! Parameters appended to the table after `state-v1.json` was written ([`ADDED_SINCE_V1`]) are
//! not in it: an old project loads them at their defaults, and this version's state is the
//! golden one plus those parameters at their defaults. The golden files are not re-blessed for
//! a new parameter.
//!
//! Re-bless (rewrite `golden/state-v{STATE_VERSION}.json` and `golden/state-future.json` from
//! [`golden_params`]) with `AUDIOCOLLAB_BLESS=1 cargo test -p audiocollab --test state`, and
//! only when what this version writes changes on purpose. A golden file of an older version is
//! never re-blessed: when `STATE_VERSION` goes up, blessing writes a new file and the old one
//! stays, with its test.

use std::collections::BTreeMap;
use std::path::PathBuf;

use audiocollab::panel::{Card, CardState, ChatLog, Entry, MAX_ENTRIES};
use audiocollab::params::AudioCollabParams;
use audiocollab::prefs::{AnswerLang, Prefs, Reference};
use audiocollab::state::{filter_state, STATE_VERSION};
use audiocollab_core::meter::stats::BAND_COUNT;
use audiocollab_core::spec::{ParamId, PARAMS};
use nice_plug::plugin::{ParamValue, PluginState};
use nice_plug::prelude::{Param, ParamPtr, Params, Plugin};
use serde_json::{json, Value};

/// Parameters appended after `state-v1.json` was written, in table order (issue 11: the
/// channels' polarity). Append only.
const ADDED_SINCE_V1: [&str; 2] = ["polarity_l", "polarity_r"];

/// The state this version writes, less the parameters added since version 1 — which must be
/// there, at their defaults (`false`).
fn without_added_params(mut state: Value) -> Value {
    let params = state["params"].as_object_mut().expect("params");
    for id in ADDED_SINCE_V1 {
        assert_eq!(params.remove(id), Some(json!({"bool": false})), "{id} is saved at its default");
    }
    state
}

fn golden(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(file)
}

/// The parameters of the golden state, plain values in the table's units (toggles 0/1, the
/// slope its index). Every other parameter is at its default.
const GOLDEN_SETTINGS: [(&str, f32); 16] = [
    ("in_gain", -3.5),
    ("hp_on", 1.0),
    ("hp_freq", 85.0),
    ("hp_slope", 1.0),
    ("b1_freq", 250.0),
    ("b1_gain", -4.5),
    ("b1_q", 1.4),
    ("hs_on", 1.0),
    ("hs_gain", 2.0),
    ("cmp_on", 1.0),
    ("cmp_thr", -18.0),
    ("cmp_ratio", 3.0),
    ("ds_on", 1.0),
    ("pan", -0.25),
    ("width", 1.2),
    ("out_gain", 1.5),
];

/// A conversation that uses every field a message and a card have, every card state, and
/// text that JSON must escape.
fn golden_log() -> ChatLog {
    // A card is only ever made from a validated change: here, read back as from a project.
    let saved = |param: &str, from: f32, to: f32, state: &str, evidence: Value| {
        let card = json!({"param": param, "from": from, "to": to, "reason": format!("raison « {param} »"),
            "evidence": evidence, "state": state});
        Card::from_saved(&card).unwrap_or_else(|| panic!("{card} is a valid card"))
    };
    let card = |param: &str, from: f32, to: f32, state| saved(param, from, to, state, json!("mud 0:00–0:18: +6.6 dB"));
    ChatLog {
        entries: vec![
            Entry {
                from_musician: true,
                text: "le mix est boueux, tu proposes quoi ? \"vite\" 🎛️\nmerci".into(),
                ..Entry::default()
            },
            Entry {
                from_musician: false,
                text: "Il y a trop de 250 Hz : je creuse un peu.".into(),
                by: "gpt-4o-mini · openai".into(),
                cost: Some("321+42 tokens, $0.0004".into()),
                note: Some("the cheaper tier answered".into()),
                cards: vec![
                    card("b1_freq", 400.0, 250.0, "applied"),
                    card("b1_gain", 0.0, -4.5, "applied"),
                    card("b2_gain", 0.0, 3.0, "rejected"),
                    card("hs_gain", 0.0, 2.0, "undone"),
                ],
                refused: vec!["loudness_maximizer: unknown parameter".into()],
                feedback: Some(true),
                request_id: Some("r-20250101-0001".into()),
                auto_applied: false,
            },
            Entry { from_musician: true, text: "et la voix ?".into(), ..Entry::default() },
            Entry {
                from_musician: false,
                text: "Un de-esser, et un peu d'air.".into(),
                by: "embedded engine".into(),
                cards: vec![card("ds_on", 0.0, 1.0, "waiting"), saved("hs_gain", 0.0, 1.5, "proposed", Value::Null)],
                feedback: Some(false),
                auto_applied: true,
                ..Entry::default()
            },
        ],
    }
}

fn golden_prefs() -> Prefs {
    Prefs {
        lang: AnswerLang::French,
        genre: "rock".into(),
        platform: "apple".into(),
        reference: Some(Reference {
            name: "mix de référence.flac".into(),
            levels_db: (0..BAND_COUNT).map(|b| (b < 29).then_some(-30.0 + b as f32 * 0.75)).collect(),
            loudness_range_lu: Some(6.5),
        }),
        auto_apply: true,
    }
}

/// The plugin's parameters as the golden state holds them.
fn golden_params() -> AudioCollabParams {
    let params = AudioCollabParams::default();
    for (id, ptr, _) in params.param_map() {
        let Some(&(_, plain)) = GOLDEN_SETTINGS.iter().find(|(g, _)| *g == id) else { continue };
        // SAFETY: `ptr` points into `params`, alive for the loop. This is the setter nice-plug's
        // wrappers call for a host's change.
        unsafe { ptr._internal_set_normalized_value(ptr.preview_normalized(plain)) };
    }
    *params.chat.write().unwrap() = golden_log();
    *params.prefs.write().unwrap() = golden_prefs();
    params
}

/// The state nice-plug's wrappers save for `params` (`wrapper::state::serialize_object`, which
/// is crate-private): every parameter's unmodulated plain value by id (an enum with ids by its
/// id), and the persisted fields. `tests/tests/clap_host.rs` checks that the real `.clap`
/// saves the golden state back unchanged.
fn state_of(params: &AudioCollabParams) -> PluginState {
    let values = params
        .param_map()
        .into_iter()
        .map(|(id, ptr, _)| {
            // SAFETY: as above.
            let value = unsafe {
                match ptr {
                    ParamPtr::FloatParam(p) => ParamValue::F32((*p).unmodulated_plain_value()),
                    ParamPtr::IntParam(p) => ParamValue::I32((*p).unmodulated_plain_value()),
                    ParamPtr::BoolParam(p) => ParamValue::Bool((*p).unmodulated_plain_value()),
                    ParamPtr::EnumParam(p) => match (*p).unmodulated_plain_id() {
                        Some(variant) => ParamValue::String(variant.to_string()),
                        None => ParamValue::I32((*p).unmodulated_plain_value()),
                    },
                }
            };
            (id, value)
        })
        .collect();
    PluginState {
        version: audiocollab::AudioCollab::VERSION.to_string(),
        params: values,
        fields: params.serialize_fields(),
    }
}

/// `state-v1.json` as a later version might write it (see the module docs).
fn future_of(v1: &Value) -> Value {
    let mut state = v1.clone();
    state["preset_name"] = json!("Voix lead");
    state["params"]["sat_drive"] = json!({"f32": 3.0});
    let fields = state["fields"].as_object_mut().unwrap();
    fields.insert("mixer_snapshots".into(), json!(r#"{"version":2,"slots":[]}"#));

    let mut chat: Value = serde_json::from_str(fields["chat"].as_str().unwrap()).unwrap();
    chat["version"] = json!(STATE_VERSION + 1);
    chat["pinned"] = json!([1]);
    let entries = chat["entries"].as_array_mut().unwrap();
    for entry in entries.iter_mut() {
        entry["reactions"] = json!({"👍": 1});
        for card in entry["cards"].as_array_mut().unwrap() {
            card["confidence"] = json!(0.8);
        }
    }
    entries[1]["cards"]
        .as_array_mut()
        .unwrap()
        .insert(1, json!({"param": "b1_q", "from": 0.7, "to": 2.0, "reason": "r", "state": "scheduled"}));
    entries[1]["refused"].as_array_mut().unwrap().push(json!({"param": "x", "why": "a later shape"}));
    entries.insert(2, json!({"kind": "audio_clip", "from_musician": true, "text": "écoute ça", "clip": "c1"}));
    fields.insert("chat".into(), json!(chat.to_string()));

    let mut prefs: Value = serde_json::from_str(fields["prefs"].as_str().unwrap()).unwrap();
    prefs["version"] = json!(STATE_VERSION + 1);
    prefs["theme"] = json!("dark");
    prefs["reference"]["lufs"] = json!(-9.5);
    fields.insert("prefs".into(), json!(prefs.to_string()));
    state
}

/// The persisted fields of `state`, loaded as nice-plug loads them.
fn load_fields(state: &PluginState) -> (ChatLog, Prefs) {
    let params = AudioCollabParams::default();
    params.deserialize_fields(&state.fields);
    let chat = params.chat.read().unwrap().clone();
    let prefs = params.prefs.read().unwrap().clone();
    (chat, prefs)
}

fn read_state(file: &str) -> (Vec<u8>, PluginState) {
    let path = golden(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let state = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{file} is not nice-plug's state: {e}"));
    (bytes, state)
}

#[test]
fn this_version_writes_its_golden_state() {
    // Through the text, as a host stores it: `f32` values keep their shortest form.
    let written: Value = serde_json::from_slice(&serde_json::to_vec(&state_of(&golden_params())).unwrap()).unwrap();
    let written = serde_json::to_vec(&without_added_params(written)).unwrap();
    let file = format!("state-v{STATE_VERSION}.json");
    let future = future_of(&serde_json::from_slice(&written).unwrap());
    if std::env::var_os("AUDIOCOLLAB_BLESS").is_some() {
        std::fs::create_dir_all(golden("")).unwrap();
        std::fs::write(golden(&file), &written).unwrap();
        std::fs::write(golden("state-future.json"), serde_json::to_vec(&future).unwrap()).unwrap();
        println!("blessed {file} ({} bytes) and state-future.json", written.len());
        return;
    }
    let (bytes, _) = read_state(&file);
    // The plugin's own version string (`version`) is not part of the format.
    let as_json = |b: &[u8]| {
        let mut state = serde_json::from_slice::<Value>(b).unwrap();
        state.as_object_mut().unwrap().remove("version");
        state
    };
    assert_eq!(
        as_json(&written),
        as_json(&bytes),
        "this version no longer writes {file}: if that is on purpose, re-bless (see this file's docs)"
    );
    let mut future_without_version = future;
    future_without_version.as_object_mut().unwrap().remove("version");
    assert_eq!(as_json(&std::fs::read(golden("state-future.json")).unwrap()), future_without_version);
}

#[test]
fn the_golden_state_of_version_1_loads_whole() {
    let (bytes, state) = read_state("state-v1.json");
    println!("state-v1.json: {} bytes, plugin {}", bytes.len(), state.version);
    // Every parameter of version 1 is there, the golden ones at their values.
    assert_eq!(state.params.len(), PARAMS.len() - ADDED_SINCE_V1.len());
    for spec in &PARAMS {
        if ADDED_SINCE_V1.contains(&spec.id) {
            assert!(!state.params.contains_key(spec.id), "{} is newer than the file", spec.id);
            continue;
        }
        let stored = state.params.get(spec.id).unwrap_or_else(|| panic!("{} not saved", spec.id));
        let want = GOLDEN_SETTINGS.iter().find(|(id, _)| *id == spec.id).map_or(spec.default, |&(_, v)| v);
        let got = match stored {
            ParamValue::F32(v) => *v,
            ParamValue::Bool(b) => f32::from(u8::from(*b)),
            ParamValue::String(variant) if spec.param == ParamId::HpSlope => {
                if variant == "24" {
                    1.0
                } else {
                    0.0
                }
            }
            other => panic!("{}: unexpected {other:?}", spec.id),
        };
        assert!((got - want).abs() <= 1e-4 * want.abs().max(1.0), "{}: saved {got}, set {want}", spec.id);
    }
    // The conversation and the preferences, whole.
    let (chat, prefs) = load_fields(&state);
    assert_eq!(chat, golden_log());
    let cards: Vec<(ParamId, f32, f32, CardState)> = chat
        .entries
        .iter()
        .flat_map(|e| &e.cards)
        .map(|c| (c.change().param, c.change().from, c.change().to, c.state))
        .collect();
    use CardState as S;
    use ParamId as P;
    assert_eq!(
        cards,
        [
            (P::Bell1Freq, 400.0, 250.0, S::Applied),
            (P::Bell1Gain, 0.0, -4.5, S::Applied),
            (P::Bell2Gain, 0.0, 3.0, S::Rejected),
            (P::HighShelfGain, 0.0, 2.0, S::Undone),
            (P::DeessOn, 0.0, 1.0, S::Waiting),
            (P::HighShelfGain, 0.0, 1.5, S::Proposed),
        ],
        "the saved cards, checked on load, are the validated changes they were"
    );
    assert_eq!(prefs, golden_prefs());
    for field in ["chat", "prefs"] {
        let saved: Value = serde_json::from_str(&state.fields[field]).unwrap();
        assert_eq!(saved["version"], 1, "{field} carries its format version");
    }
}

#[test]
fn a_state_from_a_later_version_keeps_everything_this_version_knows() {
    let (_, future) = read_state("state-future.json");
    // The file does hold what this version cannot know.
    let chat: Value = serde_json::from_str(&future.fields["chat"]).unwrap();
    assert!(chat["version"].as_u64() > Some(u64::from(STATE_VERSION)));
    assert_eq!(chat["entries"].as_array().unwrap().len(), golden_log().entries.len() + 1);
    assert!(chat.to_string().contains("\"scheduled\"") && chat.to_string().contains("\"audio_clip\""));
    assert!(future.fields.contains_key("mixer_snapshots") && future.params.contains_key("sat_drive"));

    let (chat, prefs) = load_fields(&future);
    assert_eq!(chat, golden_log(), "every message and card this version knows, in order");
    assert_eq!(prefs, golden_prefs());
    // Saved again by this version, it is this version's state.
    let (_, v1) = read_state("state-v1.json");
    let params = AudioCollabParams::default();
    params.deserialize_fields(&future.fields);
    assert_eq!(params.serialize_fields(), v1.fields);
}

#[test]
fn a_conversation_saved_before_versions_loads() {
    // What version 0 wrote: the derived form, no `version`, no `kind`.
    let old = r#"{"entries":[{"from_musician":true,"text":"baisse le grave"},{"from_musician":false,"text":"Voilà.","by":"embedded engine","cost":null,"note":null,"cards":[{"param":"ls_gain","from":0.0,"to":-3.0,"reason":"à votre demande","evidence":null,"state":"applied"}],"refused":[],"feedback":null,"request_id":null,"auto_applied":false}]}"#;
    let log: ChatLog = serde_json::from_str(old).unwrap();
    assert_eq!(log.entries.len(), 2);
    assert_eq!(log.entries[0].text, "baisse le grave");
    let card = &log.entries[1].cards[0];
    assert_eq!((card.change().param, card.change().to, card.state), (ParamId::LowShelfGain, -3.0, CardState::Applied));
    // Written back, it carries the version and the kind, and reads back the same.
    let saved = serde_json::to_value(&log).unwrap();
    assert_eq!(saved["version"], STATE_VERSION);
    assert!(saved["entries"].as_array().unwrap().iter().all(|e| e["kind"] == "message"));
    assert_eq!(serde_json::from_value::<ChatLog>(saved).unwrap(), log);
}

#[test]
fn what_cannot_be_read_is_skipped_one_by_one_and_reading_never_fails() {
    let saved = json!({"version": 7, "entries": [
        1,
        {"text": 5},
        {"kind": "poll", "text": "a later kind"},
        {"kind": "message", "from_musician": "yes", "text": "kept", "by": 3, "feedback": "up",
         "cards": [
            {"param": "b1_gain", "from": 0, "to": -3, "state": "snoozed"},
            {"param": "b1_gain", "from": 0, "to": -3},
            {"param": "b2_gain", "from": 0, "to": "-3"},
            {"param": "b2_gain", "from": 0, "to": 1e39},
            "junk"
         ],
         "refused": ["a: why", 3]},
        {"text": "second"}
    ]});
    let log: ChatLog = serde_json::from_value(saved).unwrap();
    let texts: Vec<&str> = log.entries.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(texts, ["kept", "second"]);
    let kept = &log.entries[0];
    assert!(!kept.from_musician && kept.by.is_empty() && kept.feedback.is_none(), "{kept:?}");
    assert_eq!(kept.cards.len(), 1, "{:?}", kept.cards);
    assert_eq!((kept.cards[0].change().to, kept.cards[0].state), (-3.0, CardState::Proposed));
    assert_eq!(kept.refused, ["a: why"]);

    for anything in ["null", "[]", "\"x\"", "{}", "{\"entries\": {}}", "7"] {
        let log: ChatLog = serde_json::from_str(anything).unwrap_or_else(|e| panic!("{anything}: {e}"));
        assert!(log.entries.is_empty(), "{anything}");
    }

    // A project with more messages than the panel keeps: the newest stay.
    let many: Vec<Value> = (0..MAX_ENTRIES + 50).map(|i| json!({"text": i.to_string()})).collect();
    let log: ChatLog = serde_json::from_value(json!({ "entries": many })).unwrap();
    assert_eq!(log.entries.len(), MAX_ENTRIES);
    assert_eq!(log.entries[0].text, "50");
}

#[test]
fn parameter_values_out_of_range_are_clamped_before_loading() {
    let (_, mut state) = read_state("state-v1.json");
    state.params.insert("b1_gain".into(), ParamValue::F32(30.0));
    state.params.insert("b2_gain".into(), ParamValue::F32(f32::INFINITY));
    state.params.insert("hp_slope".into(), ParamValue::I32(7));
    state.params.insert("sat_drive".into(), ParamValue::F32(1e9));
    let before: BTreeMap<String, String> = state.params.iter().map(|(k, v)| (k.clone(), format!("{v:?}"))).collect();
    filter_state(&mut state);
    let value = |id: &str| state.params.get(id).map(|v| format!("{v:?}"));
    assert_eq!(value("b1_gain"), Some("F32(18.0)".into()), "a later version's wider range");
    assert_eq!(value("b2_gain"), None, "not finite: the parameter keeps its value");
    assert_eq!(value("hp_slope"), Some("I32(1)".into()));
    assert_eq!(value("sat_drive"), before.get("sat_drive").cloned(), "unknown ids are nice-plug's to skip");
    assert_eq!(value("in_gain"), before.get("in_gain").cloned());
}
