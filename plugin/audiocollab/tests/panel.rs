//! The chat panel's logic without a window: the real assistant thread (embedded engine) on
//! the analysis of the bundled demo, a [`Settings`] standing in for the host's parameters.
//! Typing and sending produces a reply with cards; Apply moves the parameters; Undo restores
//! them; A/B switches loudness-matched; a command that arrives while the window is closed
//! waits, visibly, and applies when the window opens; a card applies its answer's validated
//! change as it is; the saved conversation survives a round trip and a tampered one is checked
//! once, on load, and never moves a parameter outside its range.

mod common;
use common::{demo_analysis, wait_for_answer};
use std::sync::{Arc, RwLock};

use audiocollab::panel::{CardState, ChatLog, Panel, ParamWriter};
use audiocollab_assistant::actions::{max_step, Adjustment, ChangeSet, Proposal, WireChange, WireReply, WireValue};
use audiocollab_assistant::desk::Desk;
use audiocollab_assistant::session::{Answerer, Turn};
use audiocollab_core::analysis::tonal::Region;
use audiocollab_core::lang::Lang;
use audiocollab_core::spec::{ParamId, Settings};
use serde_json::{json, Value};

/// The host's parameters, recording every value written as it is asked (before the host's own
/// clamp): one entry is one begin / set / end gesture.
#[derive(Default)]
struct Recorder {
    settings: Settings,
    written: Vec<(ParamId, f32)>,
}

impl ParamWriter for Recorder {
    fn settings(&self) -> Settings {
        self.settings
    }

    fn write(&mut self, changes: &[(ParamId, f32)]) {
        self.written.extend_from_slice(changes);
        self.settings.write(changes);
    }
}

#[test]
fn send_apply_ab_undo_redo() {
    let analysis = demo_analysis();
    let desk = Desk::spawn(None).expect("assistant thread");
    assert_eq!(desk.answering().label, "embedded engine");
    let log = Arc::new(RwLock::new(ChatLog::default()));
    let mut panel = Panel::new(log.clone());
    let mut params = Settings::default();

    panel.input = "rends les voix plus claires".into();
    assert!(panel.send(&desk, params, Some(analysis.clone())));
    assert!(panel.input.is_empty() && panel.is_waiting());
    wait_for_answer(&mut panel, &desk, Some(&mut params));
    let entries = panel.entries();
    assert_eq!(entries.len(), 2);
    assert!(entries[0].from_musician && entries[0].text == "rends les voix plus claires");
    let reply = &entries[1];
    assert_eq!(reply.by, "embedded engine");
    assert!(reply.text.contains("Voix plus claires"), "{}", reply.text);
    let cards: Vec<(ParamId, f32)> = reply.cards.iter().map(|c| (c.change().param, c.change().to)).collect();
    println!("{}\n{cards:?}", reply.text);
    // The presence boost is sized from the measured 2–5 kHz deviation from the genre curve:
    // 1 dB above what lacks, 1 to 3 dB.
    let high_mid = analysis.tonal_balance.regions.iter().find(|r| r.region == Region::HighMid).expect("2–5 kHz");
    let boost = (1.0 - f64::from(high_mid.deviation_db)).clamp(1.0, 3.0) as f32;
    let &(_, b2_gain) = cards.iter().find(|(p, _)| *p == ParamId::Bell2Gain).expect("a presence card");
    assert!((b2_gain - boost).abs() < 0.05, "{b2_gain} for {boost}: {cards:?}");
    assert!(cards.contains(&(ParamId::DeessOn, 1.0)), "{cards:?}");
    assert!(reply.cards.iter().all(|c| c.state == CardState::Proposed && !c.change().reason.is_empty()));
    assert_eq!(params, Settings::default(), "a proposal does not move anything by itself");

    // Apply one card, then the rest.
    let b2 = reply.cards.iter().position(|c| c.change().param == ParamId::Bell2Gain).unwrap();
    let set = panel.apply(1, Some(b2), &mut params).expect("apply one");
    assert_eq!(set.changes().len(), 1);
    assert_eq!(params.get(ParamId::Bell2Gain), b2_gain);
    assert!(!params.on(ParamId::DeessOn), "only the card asked for");
    panel.apply(1, None, &mut params).expect("apply all");
    assert!(params.on(ParamId::DeessOn));
    assert!(panel.entries()[1].cards.iter().all(|c| c.state == CardState::Applied));
    assert!(panel.apply(1, None, &mut params).is_err(), "nothing left to apply");
    let after = params;

    // A/B, loudness-matched: "before" and "after" differ by the estimated loudness of the
    // EQ moves; the louder side plays with its output gain lowered by that much.
    let flipped = panel.toggle_ab(&mut params, Some(&analysis));
    assert_eq!(flipped, Some(false));
    let louder = panel.ab().unwrap().louder_lu;
    println!("after is {louder:+.2} LU against before");
    assert!(louder.abs() > 0.05 && louder.abs() < 3.0, "{louder}");
    assert!(!params.on(ParamId::DeessOn), "A is the settings before the last apply");
    let expected_out = if louder < 0.0 { louder as f32 } else { 0.0 };
    assert!((params.get(ParamId::OutputGain) - expected_out).abs() < 1e-4, "{}", params.get(ParamId::OutputGain));
    assert_eq!(panel.toggle_ab(&mut params, Some(&analysis)), Some(true));
    assert_eq!(params.get(ParamId::Bell2Gain), b2_gain);
    let expected_out = if louder > 0.0 { -louder as f32 } else { 0.0 };
    assert!((params.get(ParamId::OutputGain) - expected_out).abs() < 1e-4);
    panel.end_ab(&mut params);
    assert_eq!(params, after, "leaving A/B keeps the applied settings as they are");

    // Undo twice restores the defaults; redo brings the last set back.
    assert!(panel.undo(&mut params));
    assert!(params.get(ParamId::Bell2Gain) == b2_gain && !params.on(ParamId::DeessOn));
    assert!(panel.undo(&mut params));
    assert_eq!(params, Settings::default());
    assert!(!panel.undo(&mut params));
    assert!(panel.entries()[1].cards.iter().all(|c| c.state == CardState::Undone));
    assert!(panel.redo(&mut params));
    assert_eq!(params.get(ParamId::Bell2Gain), b2_gain);
    assert_eq!(panel.can_undo_redo(), (true, true));
    // The embedded engine's answers have no audit id: nothing to record.
    panel.feedback(1, true);
    assert_eq!(panel.entries()[1].feedback, Some(true));
    assert!(panel.take_records().is_empty());
}

#[test]
fn a_command_waits_while_the_window_is_closed_and_applies_when_it_opens() {
    let desk = Desk::spawn(None).expect("assistant thread");
    let mut panel = Panel::new(Arc::new(RwLock::new(ChatLog::default())));
    let mut params = Settings::default();
    assert!(panel.ask("monte les aigus de 2 dB", &desk, params, None));
    wait_for_answer(&mut panel, &desk, None);
    assert!(panel.has_waiting());
    assert_eq!(panel.entries()[1].cards[0].state, CardState::Waiting);
    assert_eq!(params, Settings::default());
    panel.apply_waiting(&mut params);
    assert_eq!(params.get(ParamId::HighShelfGain), 2.0);
    assert!(!panel.has_waiting());

    // With the window open, a command applies at once.
    assert!(panel.ask("pan left 30%", &desk, params, None));
    wait_for_answer(&mut panel, &desk, Some(&mut params));
    assert!((params.get(ParamId::Pan) + 0.3).abs() < 1e-6, "{}", params.get(ParamId::Pan));
    assert_eq!(panel.entries()[3].cards[0].state, CardState::Applied);
}

#[test]
fn the_saved_conversation_round_trips_and_a_tampered_one_is_checked_on_load() {
    let desk = Desk::spawn(None).expect("assistant thread");
    let log = Arc::new(RwLock::new(ChatLog::default()));
    let mut panel = Panel::new(log.clone());
    let params = Settings::default();
    panel.ask("baisse le grave de 3 dB, s'il te plaît — c'est « boueux » !", &desk, params, None);
    wait_for_answer(&mut panel, &desk, None);
    let saved = serde_json::to_string(&*log.read().unwrap()).unwrap();
    let restored: ChatLog = serde_json::from_str(&saved).unwrap();
    assert_eq!(restored, *log.read().unwrap(), "accents and punctuation survive");
    assert!(saved.contains("« boueux »"));

    // A project file edited by hand: an absurd value and an unknown parameter.
    let mut tampered: Value = serde_json::from_str(&saved).unwrap();
    let cards = tampered["entries"][1]["cards"].as_array_mut().unwrap();
    cards[0]["state"] = json!("proposed");
    cards[0]["to"] = json!(1e9);
    let mut unknown = cards[0].clone();
    unknown["param"] = json!("self_destruct");
    cards.push(unknown);
    let tampered: ChatLog = serde_json::from_value(tampered).unwrap();
    let cards = &tampered.entries[1].cards;
    assert_eq!(cards.len(), 1, "the unknown parameter is skipped on load");
    let change = cards[0].change().clone();
    let (lo, hi) = change.param.spec().range();
    let step = max_step(change.param).unwrap();
    assert_eq!(change.to, change.from + step, "clamped into the range, then one step at most: {change:?}");
    let mut panel = Panel::new(Arc::new(RwLock::new(tampered)));
    let mut params = Settings::default();
    let set = panel.apply(1, None, &mut params).expect("the known card applies");
    assert_eq!(set.changes().len(), 1);
    assert!((lo..=hi).contains(&params.get(change.param)), "inside the range");
    assert_eq!(params.get(change.param), change.from + step);
}

/// A turn as the assistant thread hands it over: `reply` validated against `current`.
fn turn_of(reply: &WireReply, current: &Settings) -> Turn {
    let changes = ChangeSet::try_from(Proposal { reply, current }).expect("valid");
    Turn {
        words: "plus de présence".into(),
        lang: Lang::Fr,
        message: reply.message.clone(),
        by: Answerer::Engine,
        note: None,
        rejected: changes.rejected().to_vec(),
        changes,
        command: false,
        streamed: false,
        cancelled: false,
        request_id: None,
        checked: None,
    }
}

fn value(param: &str, value: WireValue) -> WireChange {
    WireChange {
        param: param.into(),
        value: Some(value),
        delta: None,
        reason: format!("{param} because"),
        evidence: None,
    }
}

#[test]
fn a_card_applies_its_validated_change_as_it_is() {
    let reply = WireReply {
        message: "Plus de présence.".into(),
        changes: vec![
            value("b2_gain", WireValue::Number(30.0)),
            value("hp_freq", WireValue::Number(5.0)),
            value("width", WireValue::Number(150.0)),
        ],
    };
    let turn = turn_of(&reply, &Settings::default());
    let validated: Vec<(ParamId, f32, f32)> = turn.changes.changes().iter().map(|c| (c.param, c.from, c.to)).collect();
    assert_eq!(
        validated,
        [(ParamId::Bell2Gain, 0.0, 6.0), (ParamId::HpFreq, 80.0, 20.0), (ParamId::Width, 1.0, 1.5)],
        "clamped, step-limited"
    );
    assert_eq!(turn.changes.changes()[1].adjustments, [Adjustment::Clamped { asked: 5.0 }]);

    let mut panel = Panel::new(Arc::new(RwLock::new(ChatLog::default())));
    panel.add_turn(&turn, None);
    let entry = &panel.entries()[0];
    let cards: Vec<(ParamId, f32, f32, CardState)> =
        entry.cards.iter().map(|c| (c.change().param, c.change().from, c.change().to, c.state)).collect();
    assert_eq!(
        cards,
        [
            (ParamId::Bell2Gain, 0.0, 6.0, CardState::Proposed),
            (ParamId::HpFreq, 80.0, 20.0, CardState::Proposed),
            (ParamId::Width, 1.0, 1.5, CardState::Proposed),
        ]
    );
    // The answer is French, so are its cards (hosts keep the English names).
    assert_eq!(entry.lang(None), Lang::Fr);
    assert_eq!(entry.cards[0].describe(entry.lang(None)), "Gain cloche 2 : 0,0 dB -> 6,0 dB");
    assert_eq!(entry.cards[2].describe(Lang::Fr), "Largeur stéréo : 100 % -> 150 %");
    assert_eq!(entry.cards[0].describe(entry.lang(Some(Lang::En))), "Bell 2 Gain: 0.0 dB -> 6.0 dB");
    assert_eq!(entry.cards[0].change().reason, "b2_gain because");

    // The musician turns Bell 2 down by hand before applying. Validated again against the
    // settings now, the card would only go up one step from there (to 1 dB); it applies the
    // value it showed, from the value now, which Undo puts back.
    let mut host = Recorder::default();
    host.settings.set(ParamId::Bell2Gain, -5.0);
    let set = panel.apply(0, None, &mut host).expect("apply all");
    assert_eq!(
        host.written,
        [(ParamId::Bell2Gain, 6.0), (ParamId::HpFreq, 20.0), (ParamId::Width, 1.5)],
        "the validated values, one gesture each"
    );
    assert_eq!(set.changes()[0].from, -5.0);
    assert!(set.rejected().is_empty());
    assert!(panel.entries()[0].cards.iter().all(|c| c.state == CardState::Applied));
    assert!(panel.undo(&mut host));
    assert_eq!(host.settings.get(ParamId::Bell2Gain), -5.0);
    assert_eq!(host.settings.get(ParamId::HpFreq), 80.0);
    assert_eq!(host.settings.get(ParamId::Width), 1.0);

    // Saved and loaded again, the clamped card is the same card.
    let log = ChatLog { entries: panel.entries() };
    let saved = serde_json::to_string(&log).unwrap();
    assert_eq!(serde_json::from_str::<ChatLog>(&saved).unwrap(), log);
}

/// A card as a project holds it.
fn saved_card(param: &str, from: Value, to: Value, state: &str) -> Value {
    json!({"param": param, "from": from, "to": to, "reason": "r", "evidence": null, "state": state})
}

#[test]
fn a_tampered_card_is_skipped_or_clamped_on_load_and_never_leaves_a_range() {
    // NaN cannot be written in JSON: serde_json saves it as null, a hand edit as text.
    let saved = json!({"version": 1, "entries": [{"kind": "message", "text": "voilà", "cards": [
        saved_card("self_destruct", json!(0.0), json!(1.0), "proposed"),
        saved_card("b1_gain", json!(0.0), json!(1e9), "proposed"),
        saved_card("pan", json!(5.0), json!(-7.0), "waiting"),
        saved_card("hp_freq", json!(80.0), json!("NaN"), "proposed"),
        saved_card("b2_gain", json!(0.0), Value::Null, "proposed"),
        saved_card("width", json!(1.0), json!(1e39), "proposed"),
        saved_card("out_gain", json!(null), json!(-3.0), "proposed"),
        saved_card("ls_gain", json!(-2.0), json!(-2.0), "proposed"),
        saved_card("hs_gain", json!(0.0), json!(-1e9), "proposed"),
        saved_card("ds_on", json!(0.0), json!(0.7), "proposed"),
    ]}]});
    let log: ChatLog = serde_json::from_value(saved).unwrap();
    let cards: Vec<(ParamId, f32, f32, CardState)> =
        log.entries[0].cards.iter().map(|c| (c.change().param, c.change().from, c.change().to, c.state)).collect();
    assert_eq!(
        cards,
        [
            (ParamId::Bell1Gain, 0.0, 6.0, CardState::Proposed),
            (ParamId::Pan, 1.0, 0.0, CardState::Waiting),
            (ParamId::HighShelfGain, 0.0, -6.0, CardState::Proposed),
            (ParamId::DeessOn, 0.0, 1.0, CardState::Proposed),
        ],
        "unknown, not finite and no-change cards skipped; the rest clamped and step-limited as a reply is"
    );

    // Applied when the window opens (the waiting card takes its answer's other cards along),
    // nothing the host is asked to take is outside its parameter's range.
    let mut panel = Panel::new(Arc::new(RwLock::new(log)));
    // The host's pan elsewhere than the card's centre, so that the card moves it.
    let mut host = Recorder { settings: Settings::default().with(ParamId::Pan, 0.6), ..Recorder::default() };
    assert!(panel.has_waiting());
    panel.apply_waiting(&mut host);
    assert_eq!(host.written.len(), 4, "{:?}", host.written);
    for &(param, v) in &host.written {
        let (lo, hi) = param.spec().range();
        assert!((lo..=hi).contains(&v), "{} asked {v}", param.spec().id);
    }
    assert_eq!(host.settings.get(ParamId::Pan), 0.0);
    assert_eq!(host.settings.get(ParamId::Bell1Gain), 6.0);

    // More cards than one answer may propose: the first ones are kept.
    let many: Vec<Value> = ["b1_gain", "b2_gain", "ls_gain", "hs_gain", "in_gain", "out_gain", "cmp_mkup", "pan"]
        .iter()
        .map(|p| saved_card(p, json!(0.0), json!(1.0), "proposed"))
        .collect();
    let log: ChatLog = serde_json::from_value(json!({"entries": [{"text": "x", "cards": many}]})).unwrap();
    assert_eq!(log.entries[0].cards.len(), audiocollab_assistant::actions::MAX_CHANGES);
}
