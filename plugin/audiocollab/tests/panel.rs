//! The chat panel's logic without a window: the real assistant thread (embedded engine) on
//! the analysis of the bundled demo, a [`Settings`] standing in for the host's parameters.
//! Typing and sending produces a reply with cards; Apply moves the parameters; Undo restores
//! them; A/B switches loudness-matched; a command that arrives while the window is closed
//! waits, visibly, and applies when the window opens; the saved conversation survives a
//! round trip and a tampered one is validated again.

mod common;
use common::{demo_analysis, wait_for_answer};
use std::sync::{Arc, RwLock};

use audiocollab::panel::{CardState, ChatLog, Panel};
use audiocollab_assistant::desk::Desk;
use audiocollab_core::spec::{ParamId, Settings};

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
    let cards: Vec<(String, f32)> = reply.cards.iter().map(|c| (c.param.clone(), c.to)).collect();
    println!("{}\n{cards:?}", reply.text);
    assert!(cards.contains(&("b2_gain".to_string(), 3.0)), "{cards:?}");
    assert!(cards.contains(&("ds_on".to_string(), 1.0)), "{cards:?}");
    assert!(reply.cards.iter().all(|c| c.state == CardState::Proposed && !c.reason.is_empty()));
    assert_eq!(params, Settings::default(), "a proposal does not move anything by itself");

    // Apply one card, then the rest.
    let b2 = reply.cards.iter().position(|c| c.param == "b2_gain").unwrap();
    let set = panel.apply(1, Some(b2), &mut params).expect("apply one");
    assert_eq!(set.changes().len(), 1);
    assert_eq!(params.get(ParamId::Bell2Gain), 3.0);
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
    assert_eq!(params.get(ParamId::Bell2Gain), 3.0);
    let expected_out = if louder > 0.0 { -louder as f32 } else { 0.0 };
    assert!((params.get(ParamId::OutputGain) - expected_out).abs() < 1e-4);
    panel.end_ab(&mut params);
    assert_eq!(params, after, "leaving A/B keeps the applied settings as they are");

    // Undo twice restores the defaults; redo brings the last set back.
    assert!(panel.undo(&mut params));
    assert!(params.get(ParamId::Bell2Gain) == 3.0 && !params.on(ParamId::DeessOn));
    assert!(panel.undo(&mut params));
    assert_eq!(params, Settings::default());
    assert!(!panel.undo(&mut params));
    assert!(panel.entries()[1].cards.iter().all(|c| c.state == CardState::Undone));
    assert!(panel.redo(&mut params));
    assert_eq!(params.get(ParamId::Bell2Gain), 3.0);
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
fn the_saved_conversation_round_trips_and_a_tampered_one_is_validated_again() {
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
    let mut tampered = restored.clone();
    let card = &mut tampered.entries[1].cards[0];
    card.state = CardState::Proposed;
    card.to = 1e9;
    let mut unknown = card.clone();
    unknown.param = "self_destruct".into();
    tampered.entries[1].cards.push(unknown);
    let mut panel = Panel::new(Arc::new(RwLock::new(tampered)));
    let mut params = Settings::default();
    let set = panel.apply(1, None, &mut params).expect("the known card applies");
    let (lo, hi) = set.changes()[0].param.spec().range();
    assert!((lo..=hi).contains(&params.get(set.changes()[0].param)), "clamped into range");
    assert_eq!(set.rejected().len(), 1, "the unknown parameter is refused: {:?}", set.rejected());
}
