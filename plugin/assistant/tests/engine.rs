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
    // The song has no voice (a kick, a bass note and a chord: the source reads as a bass):
    // "clearer vocals" says so and moves nothing (tests/tests/vocal_intent.rs has a voice).
    let source = analysis().source.as_ref().expect("a source reading");
    assert!(source.scores.vocal < 0.5 * source.scores.get(source.kind), "{source:?}");
    for words in ["rends les voix plus claires", "make the vocals clearer"] {
        let (u, _, text, changes) = ask(words);
        assert_eq!(u, Understood::Intent);
        assert!(changes.is_empty(), "{words}: {changes:?}");
        assert!(text.contains("pas de voix") || text.contains("no vocal"), "{text}");
    }
    let (u, lang, text, changes) = ask("rends le morceau plus clair");
    assert_eq!((u, lang), (Understood::Intent, Lang::Fr));
    assert!(moves(&changes, ParamId::HighShelfGain).is_some_and(|g| g > 0.0), "{changes:?}");
    assert!(text.contains("8 kHz"), "{text}");
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
    // 0:07–0:17 around 0:12, up to the song's end at 0:16.
    assert!(text.starts_with("Autour de 0:12 (0:07–0:16) :"), "{text}");
    // The two parts it straddles, the 6 dB step between them.
    assert!(text.contains("Partie A (0:00–0:08)") && text.contains("Partie B (0:08–0:16)"), "{text}");
    // The second half is 6 dB louder than the first: the moment says how it sits in the track.
    assert!(text.contains("LUFS") && text.contains("LU par rapport au morceau"), "{text}");
    let (u, _, text, _) = ask("comment faire un sidechain ?");
    assert_eq!(u, Understood::HowTo);
    assert!(text.to_lowercase().contains("sidechain"), "{text}");
    let (u, lang, text, _) = ask("bonjour, tu peux m'aider ?");
    assert_eq!((u, lang), (Understood::Unknown, Lang::Fr));
    assert!(text.starts_with("Je peux"), "{text}");
}

/// The song with its 10.0–10.5 s hard-clipped (four times louder, cut at full scale).
fn clipped_song() -> Vec<Vec<f32>> {
    let mut audio = song();
    for ch in &mut audio {
        for x in &mut ch[10 * RATE as usize..21 * RATE as usize / 2] {
            *x = (*x * 4.0).clamp(-1.0, 1.0);
        }
    }
    audio
}

fn ask_clipped(message: &str) -> (Understood, String) {
    static A: OnceLock<TrackAnalysis> = OnceLock::new();
    let whole = A.get_or_init(|| analyze(RATE, &clipped_song(), &AnalyzeOptions::default(), |_| {}).expect("analysis"));
    let settings = Settings::default();
    let segment = |from: f64, to: f64| {
        let options = AnalyzeOptions { from_s: Some(from), to_s: Some(to), ..AnalyzeOptions::default() };
        analyze(RATE, &clipped_song(), &options, |_| {}).ok()
    };
    let ctx = Context { analysis: Some(whole), segment: Some(&segment), settings: &settings, lang: None };
    let a = respond(message, &ctx);
    println!("{message:?} → {:?}\n{}\n", a.understood, a.reply.message);
    (a.understood, a.reply.message)
}

/// A question about a moment answers about that moment: the clipping at 0:10 is named at 0:10
/// and not at 0:03, in both languages; the section and the level are those of the moment.
#[test]
fn a_moment_answers_about_that_moment_only() {
    let (u, at_ten) = ask_clipped("qu'est-ce qui ne va pas à 0:10 ?");
    assert_eq!(u, Understood::Moment);
    assert!(at_ten.starts_with("Autour de 0:10 (0:05–0:15) :"), "{at_ten}");
    assert!(at_ten.to_lowercase().contains("écrêt"), "the clipping at 0:10: {at_ten}");
    let (_, at_three) = ask_clipped("what happens at 0:03?");
    assert!(at_three.starts_with("Around 0:03 (0:00–0:08):"), "{at_three}");
    assert!(!at_three.to_lowercase().contains("clip"), "no clipping at 0:03: {at_three}");
    // The quiet first half: its part, and a level well under the whole song's.
    assert!(at_three.contains("Section A (0:00–0:08)") && !at_three.contains("Section B"), "{at_three}");
    let line = at_three.lines().find(|l| l.contains("This part is")).expect("the level there");
    let lu: f64 = line.split(", ").last().and_then(|w| w.split(' ').next()).and_then(|n| n.parse().ok()).expect(line);
    assert!((-7.0..-2.0).contains(&lu), "the first half is quieter than the whole: {line}");
}

/// A time past the end says where the track stops, and proposes nothing; a range that runs
/// past it is looked at up to the end.
#[test]
fn a_time_past_the_end_says_where_the_track_stops() {
    let (u, fr) = ask_clipped("qu'est-ce qui ne va pas à 5:30 ?");
    assert_eq!(u, Understood::PastTheEnd);
    assert_eq!(fr, "Le morceau s'arrête à 0:16 : il n'y a rien à 5:30. Demandez-moi un moment avant 0:16.");
    let (u, en) = ask_clipped("what happens at 0:45?");
    assert_eq!(u, Understood::PastTheEnd);
    assert_eq!(en, "The track stops at 0:16: there is nothing at 0:45. Ask me about a moment before 0:16.");
    let (u, fr) = ask_clipped("monte les aigus de 2 dB entre 0:20 et 0:30");
    assert_eq!(u, Understood::PastTheEnd);
    assert!(fr.contains("entre 0:20 et 0:30"), "{fr}");
    let (u, en) = ask_clipped("what's wrong between 0:12 and 0:40?");
    assert_eq!(u, Understood::Moment);
    assert!(en.starts_with("From 0:12 to 0:16:\n• The track stops at 0:16."), "{en}");
    // Without a file (the plugin), what was heard so far is the end.
    let settings = Settings::default();
    let ctx = Context { analysis: Some(analysis()), segment: None, settings: &settings, lang: None };
    let live = respond("à 1:20 ça sonne bizarre", &ctx);
    assert_eq!(live.understood, Understood::PastTheEnd);
    assert!(live.reply.message.starts_with("Je n'ai entendu que 0:16 du morceau"), "{}", live.reply.message);
    assert!(live.reply.changes.is_empty());
}
