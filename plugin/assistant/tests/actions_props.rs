//! Property tests of the validator: whatever a "model" sends, nothing unknown, out of range,
//! non-finite or larger than a step reaches the parameters, and undo restores the settings; a
//! validated change stored (a card in a project) and checked again on load reads back the same.

use audiocollab_assistant::actions::{max_step, Change, ChangeSet, Proposal, WireReply, MAX_CHANGES};
use audiocollab_core::spec::{ParamId, Settings, PARAMS};
use proptest::prelude::*;
use serde_json::{json, Value};

/// A parameter name a model might send: a real id, a friendly name, or junk.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(PARAMS.iter().map(|s| s.id.to_string()).collect::<Vec<_>>()),
        prop::sample::select(vec!["aigus", "grave", "voix", "largeur stéréo", "pan", "compresseur", "treble"])
            .prop_map(String::from),
        "[a-zA-Z_ ]{0,12}",
    ]
}

/// A value a model might send: any number (huge, tiny, negative), text, a bool, or junk types.
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<f64>().prop_filter("JSON has no NaN/inf", |v| v.is_finite()).prop_map(|v| json!(v)),
        (-1e6f64..1e6).prop_map(|v| json!(v)),
        "[-0-9a-zA-Z. %]{0,10}".prop_map(|s| json!(s)),
        any::<bool>().prop_map(|b| json!(b)),
        Just(json!(null)),
        Just(json!([1, 2])),
        Just(json!({"x": 1})),
    ]
}

fn change() -> impl Strategy<Value = Value> {
    (name(), prop::option::of(value()), prop::option::of(value()), "[ -~]{0,30}").prop_map(|(param, v, d, reason)| {
        let mut c = json!({ "param": param, "reason": reason });
        if let Some(v) = v {
            c["value"] = v;
        }
        if let Some(d) = d {
            c["delta"] = d;
        }
        c
    })
}

/// Random but valid settings to start from.
fn settings() -> impl Strategy<Value = Settings> {
    prop::collection::vec(0.0f32..=1.0, PARAMS.len()).prop_map(|u| {
        let mut s = Settings::default();
        for (spec, u) in PARAMS.iter().zip(u) {
            let (lo, hi) = spec.range();
            s.set(spec.param, lo + (hi - lo) * u);
        }
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn no_reply_escapes_validation(changes in prop::collection::vec(change(), 0..12), current in settings()) {
        let json = json!({ "message": "x", "changes": changes });
        // Replies that do not even parse never reach validation: that is a refusal too.
        let Ok(reply) = serde_json::from_value::<WireReply>(json) else { return Ok(()) };
        let Ok(set) = ChangeSet::try_from(Proposal { reply: &reply, current: &current }) else { return Ok(()) };
        prop_assert!(set.changes().len() <= MAX_CHANGES);
        let mut after = current;
        set.apply(&mut after);
        for c in set.changes() {
            let (lo, hi) = c.param.spec().range();
            prop_assert!(c.to.is_finite() && (lo..=hi).contains(&c.to), "{:?} -> {}", c.param, c.to);
            prop_assert_eq!(c.from, current.get(c.param));
            if let Some(limit) = max_step(c.param) {
                prop_assert!((c.to - c.from).abs() <= limit + 1e-4, "{:?} moved {}", c.param, c.to - c.from);
            }
            prop_assert!(ParamId::ALL.contains(&c.param));
        }
        for p in ParamId::ALL {
            prop_assert!(after.get(p).is_finite());
            if !set.changes().iter().any(|c| c.param == p) {
                prop_assert_eq!(after.get(p), current.get(p));
            }
        }
        set.inverse().apply(&mut after);
        prop_assert_eq!(after, current);
    }

    #[test]
    fn a_validated_change_reads_back_unchanged(
        changes in prop::collection::vec(change(), 0..12),
        current in settings(),
    ) {
        let json = json!({ "message": "x", "changes": changes });
        let Ok(reply) = serde_json::from_value::<WireReply>(json) else { return Ok(()) };
        let Ok(set) = ChangeSet::try_from(Proposal { reply: &reply, current: &current }) else { return Ok(()) };
        for c in set.changes() {
            let back = Change::restore(c.param.spec().id, c.from, c.to, &c.reason);
            prop_assert!(back.is_ok(), "{:?} refused: {:?}", c, back);
            let back = back.unwrap();
            prop_assert_eq!((back.param, back.from, back.to, &back.reason), (c.param, c.from, c.to, &c.reason));
        }
    }
}
