//! The closed loop of issue 11 ("never make it worse"): suggestions, the engine's or a model's,
//! are checked on the audio through the real chain before they are shown. Real values: the
//! result is rendered with the chain and measured again with the product's analysis.

#[path = "../../core/tests/synth/mod.rs"]
mod synth;

use audiocollab_assistant::actions::{ChangeSet, Evidence, Proposal, WireChange, WireReply, WireValue};
use audiocollab_assistant::suggest::suggest;
use audiocollab_assistant::verify::{self, Audio, Verdict};
use audiocollab_core::analysis::findings::FindingKind;
use audiocollab_core::analysis::targets;
use audiocollab_core::analysis::track::{analyze, AnalyzeOptions, TrackAnalysis};
use audiocollab_core::dsp::biquad::Coefs;
use audiocollab_core::lang::Lang;
use audiocollab_core::offline::{render, AudioBuffer, RENDER_BLOCK};
use audiocollab_core::spec::{ParamId, Settings};
use std::f64::consts::PI;
use synth::{filter, shaped_noise};

const RATE: u32 = 48_000;
const SECONDS: usize = 12;

/// A mix-like stereo signal: noise shaped to the neutral curve, two tones, at `lufs`.
fn mix(lufs: f64) -> Vec<Vec<f32>> {
    let len = SECONDS * RATE as usize;
    let model = targets::genre("neutral").expect("neutral").model;
    let shape = |f: f64| model.shape_db(f);
    let rate = RATE as f64;
    let (c, l0, r0) =
        (shaped_noise(31, len, rate, shape), shaped_noise(32, len, rate, shape), shaped_noise(33, len, rate, shape));
    let (a, b) = (0.6f64.sqrt(), 0.4f64.sqrt());
    let (mut l, mut r) = (vec![0.0f32; len], vec![0.0f32; len]);
    for i in 0..len {
        let t = i as f64 / rate;
        let tone = 0.1 * (2.0 * PI * 110.0 * t).sin() + 0.05 * (2.0 * PI * 440.0 * t).sin();
        l[i] = (a * c[i] as f64 + b * l0[i] as f64 + tone) as f32;
        r[i] = (a * c[i] as f64 + b * r0[i] as f64 + tone) as f32;
    }
    gain_to(vec![l, r], lufs)
}

/// Judged against the neutral genre's model alone, the curve [`mix`] is shaped to (the shipped
/// neutral curve adds the measured mean of released masters), with its tolerances.
fn analysis(audio: &[Vec<f32>]) -> TrackAnalysis {
    let neutral = targets::genre("neutral").expect("neutral");
    let model = targets::GenreTarget { bands_db: neutral.model.curve_db().to_vec(), ..neutral.clone() };
    let options = AnalyzeOptions { reference: Some(std::sync::Arc::new(model)), ..AnalyzeOptions::default() };
    analyze(RATE, audio, &options, |_| {}).expect("analysis")
}

fn gain_to(mut audio: Vec<Vec<f32>>, lufs: f64) -> Vec<Vec<f32>> {
    let now = analysis(&audio).loudness.integrated_lufs.expect("loud");
    let g = 10f64.powf((lufs - now) / 20.0) as f32;
    audio.iter_mut().flatten().for_each(|x| *x *= g);
    audio
}

/// The settings `set` leads to, rendered through the chain and analysed: (LUFS, dBTP).
fn rendered(audio: &[Vec<f32>], set: &ChangeSet) -> (f64, f64, TrackAnalysis) {
    let mut settings = Settings::default();
    set.apply(&mut settings);
    let mut buffer = AudioBuffer { sample_rate: RATE, channels: audio.to_vec() };
    render(&mut buffer, &settings, RENDER_BLOCK, &mut |_, _| {}).expect("render");
    let a = analysis(&buffer.channels);
    (a.loudness.integrated_lufs.expect("loud"), a.loudness.true_peak_dbtp.expect("tp"), a)
}

/// Validates `reply` and checks it on `audio`, as a conversation does.
fn checked(reply: &WireReply, audio: &[Vec<f32>], a: &TrackAnalysis) -> (ChangeSet, verify::Report) {
    let settings = Settings::default();
    let mut set = ChangeSet::try_from(Proposal { reply, current: &settings }).expect("valid");
    let report =
        verify::check(&mut set, &settings, a, &Audio { sample_rate: RATE, channels: audio, from_s: 0.0 }, Lang::En);
    println!("{}", verify::summary(&report, Lang::En));
    for r in set.rejected() {
        println!("  refused {}: {}", r.param, r.reason);
    }
    (set, report)
}

fn change(param: &str, value: f64, finding: Option<&str>) -> WireChange {
    WireChange {
        param: param.into(),
        value: Some(WireValue::Number(value)),
        delta: None,
        reason: format!("model: {param}"),
        evidence: finding.map(|f| Evidence { finding: Some(f.into()), ..Default::default() }),
    }
}

#[test]
fn a_clipped_master_ends_under_the_ceiling_after_suggest_and_render() {
    // Driven 10 dB into hard clipping at full scale.
    let mut audio = mix(-14.0);
    let peak = audio.iter().flatten().fold(0.0f32, |m, x| m.max(x.abs()));
    let g = 10f32.powf(10.0 / 20.0) / peak;
    audio.iter_mut().flatten().for_each(|x| *x = (*x * g).clamp(-1.0, 1.0));
    let a = analysis(&audio);
    assert!(a.findings.iter().any(|f| f.kind == FindingKind::Clipping), "{:?}", a.findings);
    let tp_in = a.loudness.true_peak_dbtp.unwrap();
    let reply = suggest(&a, &Settings::default(), Lang::En);
    let (set, report) = checked(&reply, &audio, &a);
    assert_eq!(set.changes()[0].param, ParamId::OutputGain, "the safety move leads: {set}");
    let (_, tp, _) = rendered(&audio, &set);
    println!("true peak {tp_in:+.2} → {tp:+.2} dBTP");
    assert!(tp <= -1.0, "{tp} dBTP after suggest → render");
    let level = report.moves.iter().find(|m| m.params.contains(&"out_gain".to_string())).expect("a level move");
    let measured = level.effects.iter().find(|e| e.what == "true_peak").expect("its true peak").measured;
    assert!((measured - tp).abs() < 0.3, "the card says {measured:+.2} dBTP, the render {tp:+.2}");
    assert!(set.changes()[0].reason.contains("checked on the audio"), "{}", set.changes()[0].reason);
}

#[test]
fn a_quiet_master_ends_at_the_target_or_held_by_the_ceiling() {
    for lufs_in in [-18.5, -19.5] {
        let audio = mix(lufs_in);
        let a = analysis(&audio);
        let quiet = a.findings.iter().find(|f| f.kind == FindingKind::TooQuiet).expect("too quiet");
        assert_eq!(quiet.severity, audiocollab_core::analysis::findings::Severity::Warning);
        let reply = suggest(&a, &Settings::default(), Lang::En);
        let (set, _) = checked(&reply, &audio, &a);
        let (lufs, tp, _) = rendered(&audio, &set);
        println!("{lufs_in} LUFS → {lufs:.2} LUFS, {tp:+.2} dBTP");
        let held = (-2.0..=-1.0).contains(&tp);
        assert!((lufs + 14.0).abs() <= 1.0 || held, "{lufs:.2} LUFS, {tp:+.2} dBTP");
        assert!(tp <= -1.0, "{tp}");
    }
}

#[test]
fn a_move_that_makes_things_worse_is_dropped_or_resized_with_its_reason() {
    // Too much 250–400 Hz already: a model boosting it more, and an output move of +12 dB on a
    // track at the target.
    let bump = Coefs::peaking(RATE as f64, 300.0, 8.0, 1.0);
    let audio: Vec<Vec<f32>> = gain_to(mix(-14.0).iter().map(|ch| filter(&bump, ch)).collect(), -14.0);
    let a = analysis(&audio);
    let reply = WireReply {
        message: "More warmth and louder.".into(),
        changes: vec![
            change("b1_freq", 300.0, Some("mud")),
            change("b1_gain", 6.0, Some("mud")),
            change("b1_q", 1.0, Some("mud")),
            change("out_gain", 12.0, None),
        ],
    };
    let (set, report) = checked(&reply, &audio, &a);
    let bell = report.moves.iter().find(|m| m.params.contains(&"b1_gain".to_string())).expect("the bell");
    assert_eq!(bell.verdict, Verdict::Dropped, "{bell:?}");
    assert!(bell.why.as_deref().unwrap_or("").contains("no closer"), "{bell:?}");
    assert!(set.changes().iter().all(|c| c.param != ParamId::Bell1Gain), "{set}");
    assert!(set.rejected().iter().any(|r| r.param == "b1_gain" && r.reason.contains("checked on the audio")));
    // The output: +12 asked (the validator lets a gain cross its range); a wish, not a fix (no
    // finding), so it is kept as far as the true-peak ceiling allows, and says so.
    let out = report.moves.iter().find(|m| m.params.contains(&"out_gain".to_string())).expect("the output");
    assert_eq!(out.verdict, Verdict::Resized, "{out:?}");
    assert!(out.why.as_deref().unwrap_or("").contains("resized from +12.0"), "{out:?}");
    let (lufs, tp, _) = rendered(&audio, &set);
    println!("after: {lufs:.2} LUFS, {tp:+.2} dBTP");
    assert!((-1.6..=-1.0).contains(&tp), "held just under the ceiling: {lufs:.2} LUFS, {tp:+.2} dBTP");
}

#[test]
fn a_tone_move_that_helps_is_kept_with_its_measured_effect() {
    let bump = Coefs::peaking(RATE as f64, 300.0, 8.0, 1.0);
    let audio: Vec<Vec<f32>> = gain_to(mix(-14.0).iter().map(|ch| filter(&bump, ch)).collect(), -16.0);
    let a = analysis(&audio);
    let reply = WireReply {
        message: "Less mud.".into(),
        changes: vec![
            change("b1_freq", 300.0, Some("mud")),
            change("b1_gain", -6.0, Some("mud")),
            change("b1_q", 1.0, Some("mud")),
        ],
    };
    let (set, report) = checked(&reply, &audio, &a);
    let bell = &report.moves[0];
    assert_eq!(bell.verdict, Verdict::Kept, "{bell:?}");
    let e = &bell.effects[0];
    assert!(e.before > 3.0 && e.measured.abs() < e.before - 3.0, "{e:?}");
    assert!((e.predicted.unwrap() - e.measured).abs() < 1.5, "predicted and measured agree: {e:?}");
    assert!(set.changes().iter().any(|c| c.reason.contains("mud +")), "{set}");
}

#[test]
fn odd_audio_leaves_the_suggestion_unchecked_without_a_panic() {
    let a = analysis(&mix(-14.0));
    let reply = WireReply { message: String::new(), changes: vec![change("b1_gain", -3.0, None)] };
    let settings = Settings::default();
    let cases: Vec<(u32, Vec<Vec<f32>>)> = vec![
        (RATE, vec![vec![0.0; RATE as usize * 5]; 2]),      // silence
        (RATE, vec![vec![0.1; 100]]),                       // too short, mono
        (RATE, vec![vec![f32::NAN; RATE as usize * 4]; 2]), // all NaN
        (RATE, vec![vec![0.1; RATE as usize * 4]; 3]),      // three channels
        (4_000, vec![vec![0.1; 4_000 * 4]]),                // a rate the chain refuses
        (RATE, vec![]),                                     // nothing
    ];
    for (rate, channels) in cases {
        let mut set = ChangeSet::try_from(Proposal { reply: &reply, current: &settings }).unwrap();
        let report = verify::check(
            &mut set,
            &settings,
            &a,
            &Audio { sample_rate: rate, channels: &channels, from_s: 0.0 },
            Lang::Fr,
        );
        assert!(report.unchecked.is_some(), "{report:?}");
        assert_eq!(set.changes().len(), 1, "left as it was");
    }
    // Mono music with a few NaN: checked.
    let mut mono = vec![mix(-14.0).swap_remove(0)];
    mono[0][1000] = f32::NAN;
    let mut set = ChangeSet::try_from(Proposal { reply: &reply, current: &settings }).unwrap();
    let report =
        verify::check(&mut set, &settings, &a, &Audio { sample_rate: RATE, channels: &mono, from_s: 0.0 }, Lang::Fr);
    assert!(report.unchecked.is_none() && report.moves.len() == 1, "{report:?}");
}
