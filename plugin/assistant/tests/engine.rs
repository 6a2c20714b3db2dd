//! The embedded engine end to end, in French and English: questions answered from a real
//! analysis (of a rendered 140 BPM signal in A minor), intents and commands turned into
//! changes that validate, moments pinned to a time, how-to questions, and help for the rest.

use audiocollab_assistant::actions::{ChangeSet, Proposal};
use audiocollab_assistant::engine::{respond, Context, Understood};
use audiocollab_core::analysis::track::{analyze, AnalyzeOptions, TrackAnalysis};
use audiocollab_core::lang::Lang;
use audiocollab_core::spec::{ParamId, Settings};
use std::f64::consts::PI;
use std::sync::OnceLock;

const RATE: u32 = 44_100;

/// 16 s of a 140 BPM pulse: a kick-like thump on every beat, an A-minor triad (A, C, E) with
/// its bass note, a noisy hi-hat on the off-beats; the second half 6 dB louder.
fn song() -> Vec<Vec<f32>> {
    let n = 16 * RATE as usize;
    let beat = 60.0 / 140.0;
    let mut seed = 1u64;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    let mut out = vec![0.0f32; n];
    for (i, x) in out.iter_mut().enumerate() {
        let t = i as f64 / RATE as f64;
        let pos = t % beat;
        let kick = (-pos / 0.06).exp() * (2.0 * PI * 55.0 * pos).sin() * 0.6;
        let off = (t + beat / 2.0) % beat;
        let hat = (-off / 0.01).exp() * noise() * 0.15;
        let chord: f64 = [220.0, 261.63, 329.63, 110.0].iter().map(|f| (2.0 * PI * f * t).sin() * 0.08).sum();
        let level = if t < 8.0 { 0.35 } else { 0.7 };
        *x = ((kick + hat + chord) * level) as f32;
    }
    vec![out.clone(), out]
}

fn analysis() -> &'static TrackAnalysis {
    static A: OnceLock<TrackAnalysis> = OnceLock::new();
    A.get_or_init(|| analyze(RATE, &song(), &AnalyzeOptions::default(), |_| {}).expect("analysis"))
}

fn ask(message: &str) -> (Understood, Lang, String, Vec<(ParamId, f32)>) {
    let settings = Settings::default();
    let segment = |from: f64, to: f64| {
        let options = AnalyzeOptions { from_s: Some(from), to_s: Some(to), ..AnalyzeOptions::default() };
        analyze(RATE, &song(), &options, |_| {}).ok()
    };
    let ctx = Context { analysis: Some(analysis()), segment: Some(&segment), settings: &settings, lang: None };
    let a = respond(message, &ctx);
    let changes = if a.reply.changes.is_empty() {
        Vec::new()
    } else {
        let set = ChangeSet::try_from(Proposal { reply: &a.reply, current: &settings })
            .expect("the engine's changes validate");
        assert!(set.rejected().is_empty(), "{message}: {:?}", set.rejected());
        set.changes().iter().map(|c| (c.param, c.to)).collect()
    };
    println!("{message:?} → {:?} {:?}\n{}\n{changes:?}\n", a.understood, a.lang, a.reply.message);
    (a.understood, a.lang, a.reply.message, changes)
}

fn moves(changes: &[(ParamId, f32)], p: ParamId) -> Option<f32> {
    changes.iter().find(|c| c.0 == p).map(|c| c.1)
}

#[test]
fn questions_about_the_audio_are_answered_from_the_analysis() {
    let bpm = analysis().tempo.as_ref().expect("tempo").bpm;
    assert!((bpm - 140.0).abs() < 2.0, "{bpm}");
    let (u, lang, text, _) = ask("Quel est le BPM ?");
    assert_eq!((u, lang), (Understood::Question, Lang::Fr));
    assert!(text.contains(&format!("{bpm:.0} BPM")) && text.contains("tempo"), "{text}");
    let (u, lang, text, _) = ask("what key is it in?");
    assert_eq!((u, lang), (Understood::Question, Lang::En));
    assert!(text.contains("A minor"), "{text}");
    let (_, _, text, _) = ask("c'est dans quelle tonalité ?");
    assert!(text.contains("la mineur"), "{text}");
    let (u, _, text, _) = ask("is it too loud for Apple Music?");
    assert_eq!(u, Understood::Question);
    let lufs = analysis().loudness.integrated_lufs.unwrap();
    assert!(
        text.contains(&format!("{lufs:.1} LUFS")) && text.contains("Apple Music") && text.contains("-16"),
        "{text}"
    );
}

#[test]
fn intents_become_grounded_changes() {
    let (u, lang, text, changes) = ask("rends les voix plus claires");
    assert_eq!((u, lang), (Understood::Intent, Lang::Fr));
    assert!(moves(&changes, ParamId::Bell2Gain).is_some_and(|g| g > 0.0), "{changes:?}");
    assert_eq!(moves(&changes, ParamId::DeessOn), Some(1.0));
    assert!(text.contains("3 kHz"), "{text}");
    let (_, _, _, changes) = ask("more punch please");
    assert_eq!(moves(&changes, ParamId::CompOn), Some(1.0));
    assert_eq!(moves(&changes, ParamId::CompAttack), Some(30.0));
    let (_, _, text, changes) = ask("prépare-le pour Spotify");
    let lufs = analysis().loudness.integrated_lufs.unwrap();
    let tp = analysis().loudness.true_peak_dbtp.unwrap();
    let gain = moves(&changes, ParamId::OutputGain).expect("an output move") as f64;
    // Up to −14 LUFS, but never past −1.3 dBTP.
    let expected = (-14.0 - lufs).min(-1.3 - tp);
    assert!((gain - expected).abs() < 0.11, "{gain} vs {expected}: {text}");
    let (_, _, _, changes) = ask("make it warmer");
    assert_eq!(moves(&changes, ParamId::LowShelfGain), Some(2.0));
}

#[test]
fn commands_moments_howto_and_help() {
    let (u, _, _, changes) = ask("monte les aigus de 2 dB et pan left 30%");
    assert_eq!(u, Understood::Command);
    assert_eq!(changes, vec![(ParamId::HighShelfGain, 2.0), (ParamId::Pan, -0.3)]);
    let (u, lang, text, _) = ask("j'aime pas trop cette partie à 0:12");
    assert_eq!((u, lang), (Understood::Moment, Lang::Fr));
    assert!(text.contains("0:07–0:17"), "{text}");
    // The second half is 6 dB louder than the first: the moment says how it sits in the track.
    assert!(text.contains("LUFS") && text.contains("LU par rapport au morceau"), "{text}");
    let (u, _, text, _) = ask("comment faire un sidechain ?");
    assert_eq!(u, Understood::HowTo);
    assert!(text.to_lowercase().contains("sidechain"), "{text}");
    let (u, lang, text, _) = ask("bonjour, tu peux m'aider ?");
    assert_eq!((u, lang), (Understood::Unknown, Lang::Fr));
    assert!(text.starts_with("Je peux"), "{text}");
}
