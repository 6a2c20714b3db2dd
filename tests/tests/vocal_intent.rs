//! "Rends les voix plus claires" / "make the vocals clearer" on real renders: a voice (espeak-ng)
//! gets the vocal EQ moves; piano and guitar chords (General MIDI through fluidsynth), where the
//! source classifier hears no voice, get none and an answer that says there is no vocal.
//! Both languages; the source reading behind each answer is checked so the test cannot pass on
//! a classifier that hears nothing.

use audiocollab_assistant::actions::{ChangeSet, Proposal};
use audiocollab_assistant::engine::{respond, Context, Understood};
use audiocollab_core::analysis::character::SourceKind;
use audiocollab_core::analysis::track::{analyze, AnalyzeOptions, TrackAnalysis};
use audiocollab_core::offline::read_audio;
use audiocollab_core::spec::{ParamId, Settings};
use integration::cli::TempDir;
use integration::music::{
    compose_parts, render_with_fluidsynth, Energy, Instruments, Key, Meter, Mode, Part, Piece, Section,
};
use integration::voice::{espeak_available, Utterance};

const RATE: u32 = 44_100;

fn analysed(wav: &std::path::Path) -> TrackAnalysis {
    let audio = read_audio(wav).unwrap_or_else(|e| panic!("{}: {e}", wav.display()));
    analyze(audio.sample_rate, &audio.channels, &AnalyzeOptions::default(), |_| {}).expect("analysis")
}

fn speech(dir: &TempDir, name: &str, u: &Utterance) -> TrackAnalysis {
    let wav = dir.path(&format!("{name}.wav"));
    u.speak(&wav).unwrap_or_else(|e| panic!("espeak-ng: {e}"));
    analysed(&wav)
}

/// Eight seconds of chords on General MIDI program `program`.
fn chords(dir: &TempDir, name: &str, program: u8) -> TrackAnalysis {
    let mut piece = Piece::new(96.0, Key::new(2, Mode::Major), Meter::FourFour, 4, 7);
    piece.sections = vec![Section::new("a", 0, 4, Energy::Mid)];
    piece.instruments = Instruments { chords: program, bass: 0, melody: 0 };
    let mid = dir.path(&format!("{name}.mid"));
    std::fs::write(&mid, compose_parts(&piece, &[Part::Chords])).unwrap();
    let wav = dir.path(&format!("{name}.wav"));
    render_with_fluidsynth(&mid, &wav, RATE).unwrap_or_else(|e| panic!("fluidsynth: {e}"));
    analysed(&wav)
}

/// The engine's answer and validated changes.
fn answer(a: &TrackAnalysis, words: &str) -> (String, Vec<(ParamId, f32)>) {
    let settings = Settings::default();
    let ctx = Context { analysis: Some(a), segment: None, settings: &settings, lang: None };
    let reply = respond(words, &ctx);
    assert_eq!(reply.understood, Understood::Intent, "{words}");
    let changes = if reply.reply.changes.is_empty() {
        Vec::new()
    } else {
        let set = ChangeSet::try_from(Proposal { reply: &reply.reply, current: &settings }).expect("valid changes");
        set.changes().iter().map(|c| (c.param, c.to)).collect()
    };
    println!("{words:?}: {}\n  {changes:?}", reply.reply.message);
    (reply.reply.message, changes)
}

#[test]
fn clearer_vocals_act_on_a_voice_and_say_there_is_none_on_instruments() {
    assert!(espeak_available(), "espeak-ng is required: apt-get install espeak-ng");
    let dir = TempDir::new("vocal-intent");
    let voices = [
        speech(
            &dir,
            "en",
            &Utterance::new("Every morning I walk down to the river and watch the boats go by.", "en-us", 150, 50),
        ),
        speech(
            &dir,
            "fr",
            &Utterance::new("Nous avons marché longtemps sous la pluie, puis le soleil est revenu.", "fr", 150, 45),
        ),
    ];
    for (v, a) in voices.iter().enumerate() {
        let source = a.source.as_ref().expect("a source reading");
        println!("voice {v}: {:?} {:.2} {:?}", source.kind, source.confidence, source.scores);
        assert_eq!(source.kind, SourceKind::Vocal, "voice {v}");
        for words in ["rends les voix plus claires", "make the vocals clearer"] {
            let (text, changes) = answer(a, words);
            let presence = changes.iter().find(|c| c.0 == ParamId::Bell2Gain).map(|c| c.1);
            assert!(presence.is_some_and(|g| (1.0..=3.0).contains(&g)), "{words} on a voice: {changes:?}");
            assert!(changes.contains(&(ParamId::DeessOn, 1.0)), "{changes:?}");
            assert!(text.contains("3 kHz"), "{text}");
        }
    }
    // Piano (GM 0) and steel-string guitar (GM 25) chords.
    for (name, program, kind) in [("piano", 0, SourceKind::Keys), ("guitar", 25, SourceKind::Guitar)] {
        let a = chords(&dir, name, program);
        let source = a.source.as_ref().expect("a source reading");
        println!("{name}: {:?} {:.2} {:?}", source.kind, source.confidence, source.scores);
        assert_eq!(source.kind, kind, "{name}");
        let (fr, changes) = answer(&a, "rends les voix plus claires");
        assert!(changes.is_empty(), "no EQ for a voice that is not there: {changes:?}");
        assert!(fr.starts_with("Je n'entends pas de voix dans ce morceau"), "{fr}");
        assert!(fr.contains(&format!("« {} »", kind.name(audiocollab_core::lang::Lang::Fr))), "{fr}");
        let (en, changes) = answer(&a, "make the vocals clearer");
        assert!(changes.is_empty(), "{changes:?}");
        assert!(en.starts_with("I hear no vocal in this track"), "{en}");
        // The whole track can still be brightened.
        let (_, changes) = answer(&a, "make it brighter");
        assert!(changes.iter().any(|c| c.0 == ParamId::HighShelfGain && c.1 > 0.0), "{changes:?}");
    }
}
