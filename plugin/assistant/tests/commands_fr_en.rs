//! Direct commands in French and English (at least 40 phrasings each), parsed and validated
//! against the default settings, mapped to the exact change expected.

use audiocollab_assistant::actions::{ChangeSet, Proposal, WireReply};
use audiocollab_assistant::commands::parse;
use audiocollab_assistant::engine::{respond, Context, Understood, MAX_MESSAGE_CHARS};
use audiocollab_core::spec::{ParamId, Settings};
use std::time::Instant;

/// Changes a phrase must produce from the defaults, as `(id, value)` in plain internal units
/// (width 1.0 = 100 %, pan −1…1).
fn run(text: &str, current: &Settings) -> Result<Vec<(&'static str, f32)>, String> {
    let changes = parse(text, current).ok_or("no command found")?;
    let reply = WireReply { message: String::new(), changes };
    let set = ChangeSet::try_from(Proposal { reply: &reply, current }).map_err(|e| e.to_string())?;
    Ok(set.changes().iter().map(|c| (c.param.spec().id, c.to)).collect())
}

fn check(cases: &[(&str, &[(&str, f32)])], language: &str) {
    // The compressor and de-esser on, so that switching them off is a change.
    let current = Settings::default().with(ParamId::CompOn, 1.0).with(ParamId::DeessOn, 1.0);
    let mut failures = Vec::new();
    for (text, expected) in cases {
        match run(text, &current) {
            Ok(got)
                if got.len() == expected.len()
                    && got.iter().zip(expected.iter()).all(|(g, e)| g.0 == e.0 && (g.1 - e.1).abs() < 1e-4) => {}
            other => failures.push(format!("{text:?}: expected {expected:?}, got {other:?}")),
        }
    }
    println!("{language}: {}/{} phrasings mapped right", cases.len() - failures.len(), cases.len());
    assert!(cases.len() >= 40);
    assert!(failures.is_empty(), "{language}:\n{}", failures.join("\n"));
}

#[test]
fn french_commands() {
    let cases: &[(&str, &[(&str, f32)])] = &[
        ("monte les aigus de 2 dB", &[("hs_gain", 2.0)]),
        ("Monte les aigus de 2dB", &[("hs_gain", 2.0)]),
        ("augmente les aigus de 3 dB", &[("hs_gain", 3.0)]),
        ("baisse les aigus de 1,5 dB", &[("hs_gain", -1.5)]),
        ("monte un peu les aigus", &[("hs_gain", 1.0)]),
        ("baisse beaucoup les aigus", &[("hs_gain", -4.0)]),
        ("monte les graves", &[("ls_gain", 2.0)]),
        ("baisse les basses de 3 dB", &[("ls_gain", -3.0)]),
        ("mets les graves à -2 dB", &[("ls_gain", -2.0)]),
        ("réduis le bas-médium de 2 dB", &[("b1_gain", -2.0)]),
        ("enlève un peu de boue", &[("b1_gain", -1.0)]),
        ("monte les médiums de 1 dB", &[("b2_gain", 1.0)]),
        ("plus de présence", &[("b2_gain", 2.0)]),
        ("monte la voix de 2 dB", &[("b2_gain", 2.0)]),
        ("baisse le volume de 3 dB", &[("out_gain", -3.0)]),
        ("monte le volume", &[("out_gain", 2.0)]),
        ("mets la sortie à -6 dB", &[("out_gain", -6.0)]),
        ("baisse le gain d'entrée de 4 dB", &[("in_gain", -4.0)]),
        ("panoramique à gauche 30 %", &[("pan", -0.3)]),
        ("pan à droite de 20%", &[("pan", 0.2)]),
        ("mets le panoramique au centre", &[]),
        ("largeur stéréo à 120 %", &[("width", 1.2)]),
        ("mets la largeur à 80%", &[("width", 0.8)]),
        ("augmente la largeur stéréo", &[("width", 1.2)]),
        ("réduis la largeur de 30 %", &[("width", 0.7)]),
        ("active le passe-haut", &[("hp_on", 1.0)]),
        ("coupe-bas à 100 Hz", &[("hp_freq", 100.0), ("hp_on", 1.0)]),
        ("passe-haut à 120 Hz", &[("hp_freq", 120.0), ("hp_on", 1.0)]),
        ("désactive le compresseur", &[("cmp_on", 0.0)]),
        ("éteins le de-esser", &[("ds_on", 0.0)]),
        ("mets le seuil à -24 dB", &[("cmp_thr", -24.0)]),
        ("baisse le seuil de 6 dB", &[("cmp_thr", -24.0)]),
        ("mets le ratio à 4:1", &[("cmp_ratio", 4.0)]),
        ("ratio 2", &[("cmp_ratio", 2.0)]),
        ("attaque à 30 ms", &[("cmp_att", 30.0)]),
        ("mets le relâchement à 250 ms", &[("cmp_rel", 250.0)]),
        ("monte le makeup de 2 dB", &[("cmp_mkup", 2.0)]),
        ("remets les aigus par défaut", &[]),
        ("coupe le son", &[("mute", 1.0)]),
        ("mute", &[("mute", 1.0)]),
        ("bypass", &[("bypass", 1.0)]),
        ("monte 3 kHz de 2 dB", &[("b2_gain", 2.0)]),
        ("baisse 250 Hz de 3 dB", &[("b1_freq", 250.0), ("b1_gain", -3.0)]),
        ("monte les aigus de 2 dB et baisse les graves de 1 dB", &[("hs_gain", 2.0), ("ls_gain", -1.0)]),
    ];
    check(cases, "French");
}

#[test]
fn english_commands() {
    let cases: &[(&str, &[(&str, f32)])] = &[
        ("raise the treble by 2 dB", &[("hs_gain", 2.0)]),
        ("turn up the highs 3dB", &[("hs_gain", 3.0)]),
        ("lower the treble by 1.5 dB", &[("hs_gain", -1.5)]),
        ("a bit more treble", &[("hs_gain", 1.0)]),
        ("cut the highs a lot", &[("hs_gain", -4.0)]),
        ("boost the bass", &[("ls_gain", 2.0)]),
        ("reduce the low end by 3 dB", &[("ls_gain", -3.0)]),
        ("set the bass to -2 dB", &[("ls_gain", -2.0)]),
        ("cut the low mids by 2 dB", &[("b1_gain", -2.0)]),
        ("less mud", &[("b1_gain", -2.0)]),
        ("raise the mids by 1 dB", &[("b2_gain", 1.0)]),
        ("more presence", &[("b2_gain", 2.0)]),
        ("push the vocals 2 dB", &[("b2_gain", 2.0)]),
        ("turn down the volume by 3 dB", &[("out_gain", -3.0)]),
        ("turn the output up", &[("out_gain", 2.0)]),
        ("set the output to -6 dB", &[("out_gain", -6.0)]),
        ("lower the input by 4 dB", &[("in_gain", -4.0)]),
        ("pan left 30%", &[("pan", -0.3)]),
        ("pan right 20 %", &[("pan", 0.2)]),
        ("pan it hard left 100%", &[("pan", -1.0)]),
        ("set the stereo width to 120%", &[("width", 1.2)]),
        ("width 80%", &[("width", 0.8)]),
        ("increase the stereo width", &[("width", 1.2)]),
        ("reduce the width by 30%", &[("width", 0.7)]),
        ("enable the high-pass", &[("hp_on", 1.0)]),
        ("high-pass at 100 Hz", &[("hp_freq", 100.0), ("hp_on", 1.0)]),
        ("low cut at 120 Hz", &[("hp_freq", 120.0), ("hp_on", 1.0)]),
        ("bypass the compressor", &[("cmp_on", 0.0)]),
        ("turn off the de-esser", &[("ds_on", 0.0)]),
        ("set the threshold to -24 dB", &[("cmp_thr", -24.0)]),
        ("lower the threshold by 6 dB", &[("cmp_thr", -24.0)]),
        ("set the ratio to 4:1", &[("cmp_ratio", 4.0)]),
        ("ratio 2", &[("cmp_ratio", 2.0)]),
        ("attack 30 ms", &[("cmp_att", 30.0)]),
        ("set the release to 250 ms", &[("cmp_rel", 250.0)]),
        ("raise the makeup by 2 dB", &[("cmp_mkup", 2.0)]),
        ("reset the treble", &[]),
        ("mute", &[("mute", 1.0)]),
        ("bypass", &[("bypass", 1.0)]),
        ("boost 3 kHz by 2 dB", &[("b2_gain", 2.0)]),
        ("cut 250 Hz by 3 dB", &[("b1_freq", 250.0), ("b1_gain", -3.0)]),
        ("raise the treble by 2 dB and lower the bass by 1 dB", &[("hs_gain", 2.0), ("ls_gain", -1.0)]),
    ];
    check(cases, "English");
}

/// Parses `text` and says how long it took.
fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = f();
    let took = started.elapsed();
    println!("{what}: {took:.2?}");
    // Generous: only a runaway (the old parser did not finish a 1 MB line in 300 s) fails it.
    assert!(took.as_secs_f64() < 5.0, "{what} took {took:?}");
    out
}

#[test]
fn a_pasted_page_is_refused_fast_and_parsing_stays_linear() {
    let settings = Settings::default();
    let ctx = Context { analysis: None, segment: None, settings: &settings, lang: None };
    // One clause naming a parameter tens of thousands of times (read once each), thousands of
    // clauses, and thousands of amounts that each refine the clause before ("…, 2 dB, 2 dB").
    let one_clause =
        |size: usize| format!("monte {}", "les aigus la voix le panoramique le compresseur ".repeat(size / 48));
    let clauses = |size: usize| "raise the treble by 2 dB, ".repeat(size / 26);
    let refinements = |size: usize| format!("monte les aigus{}", ", 2 dB de plus".repeat(size / 14));
    for size in [100_000, 1_000_000] {
        let cases = [
            (one_clause(size), "trop long", 2..=4),
            (clauses(size), "too long", size / 100..=size),
            (refinements(size), "trop long", 1..=size),
        ];
        for (text, refusal, count) in cases {
            let answer = timed(&format!("respond, {} bytes", text.len()), || respond(&text, &ctx));
            assert_eq!(answer.understood, Understood::TooLong);
            assert!(answer.reply.message.contains(refusal), "{}", answer.reply.message);
            assert!(answer.reply.message.contains("4,000") || answer.reply.message.contains("4 000"));
            assert!(answer.reply.changes.is_empty());
            // The parser itself, which the limit spares such text: linear, short reasons.
            let changes = timed(&format!("parse, {} bytes", text.len()), || parse(&text, &settings)).unwrap();
            assert!(count.contains(&changes.len()), "{} changes", changes.len());
            assert!(changes.iter().all(|c| c.reason.chars().count() < 120), "{}", changes[0].reason);
        }
    }
    // Just within the limit, a command still works (its reason quotes the start of it).
    let within = format!("monte les aigus de 2 dB{}", " ".repeat(MAX_MESSAGE_CHARS - 40));
    let answer = respond(&within, &ctx);
    assert_eq!(answer.understood, Understood::Command);
    assert_eq!(run(&within, &settings).unwrap(), [("hs_gain", 2.0)]);
    let long_clause = format!("monte les aigus de 2 dB {}", "vraiment ".repeat(400));
    let reason = &parse(&long_clause, &settings).unwrap()[0].reason;
    assert!(
        reason.starts_with("à votre demande : «\u{a0}monte les aigus de 2 db vraiment") && reason.contains('…'),
        "{reason}"
    );
    assert!(reason.chars().count() < 120, "{reason}");
}
