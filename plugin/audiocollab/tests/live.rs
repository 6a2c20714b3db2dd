//! The live path: an "audio thread" runs the statistics meter over random block sizes and
//! pushes into the real rings; the analysis worker drains them on its own thread. Its analysis
//! must equal the offline analysis of the same audio; restarts and dropped frames are handled.

mod common;
use audiocollab::bridge::{AudioEnds, StatsQueues};
use audiocollab::live::{AnalysisWorker, LiveAnalysis};
use audiocollab_core::analysis::track::{analyze, AnalyzeOptions};
use audiocollab_core::meter::StatsMeter;
use common::Rng;
use std::f64::consts::PI;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const SR: u32 = 48_000;

/// `secs` of stereo: a 220 Hz tone, a 3 kHz tone on the right, noise, with a slow swell.
fn music_like(secs: f64, level: f32, seed: u64) -> Vec<Vec<f32>> {
    let n = (secs * SR as f64) as usize;
    let mut rng = Rng(seed);
    let (mut l, mut r) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let t = i as f64 / SR as f64;
        let swell = 0.6 + 0.4 * (2.0 * PI * 0.25 * t).sin();
        let a = (2.0 * PI * 220.0 * t).sin() * 0.5;
        let b = (2.0 * PI * 3000.0 * t).sin() * 0.1;
        let noise = rng.bipolar() as f64 * 0.1;
        l.push(((a + noise) * swell) as f32 * level);
        r.push(((a + b + 0.8 * noise) * swell) as f32 * level);
    }
    vec![l, r]
}

/// Plays `audio` through a meter into the rings in random blocks of 1..=2048 frames, the way
/// the plugin's `process()` does.
fn play(meter: &mut StatsMeter, ends: &mut AudioEnds, audio: &[Vec<f32>], rng: &mut Rng, finish: bool) {
    let len = audio[0].len();
    let mut pos = 0;
    while pos < len {
        let n = rng.range(1, 2048).min(len - pos);
        let block: Vec<&[f32]> = audio.iter().map(|c| &c[pos..pos + n]).collect();
        // Same order as the plugin: the downmix before the frames it completes.
        ends.push_downmix(&block);
        meter
            .process(&block, Some(pos as i64 + 96_000), |f| {
                ends.push_frame(f);
            })
            .expect("block");
        pos += n;
    }
    if finish {
        meter.finish(|f| {
            ends.push_frame(f);
        });
    }
}

#[test]
fn the_worker_thread_agrees_with_the_offline_analysis() {
    let audio = music_like(12.0, 0.5, 7);
    let offline = analyze(SR, &audio, &AnalyzeOptions::default(), |_| {}).expect("offline analysis");

    let queues = StatsQueues::new();
    let (mut audio_ends, worker_ends) = (queues.audio, queues.worker);
    let worker = AnalysisWorker::spawn(worker_ends, AnalyzeOptions::default()).expect("thread");
    let mut meter = StatsMeter::new(SR as f64, 2).expect("meter");
    let mut rng = Rng(11);
    // Played in real-time-ish chunks so the worker drains while audio flows.
    let second = SR as usize;
    for chunk in 0..12 {
        let part: Vec<Vec<f32>> = audio.iter().map(|c| c[chunk * second..(chunk + 1) * second].to_vec()).collect();
        play(&mut meter, &mut audio_ends, &part, &mut rng, chunk == 11);
        // Faster than real time, so wait for the worker to catch up (as real time would): the
        // downmix ring holds under 3 s and an analysis can keep the worker busy for a while.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !audio_ends.is_drained() {
            assert!(Instant::now() < deadline, "the worker stopped draining");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    assert_eq!(audio_ends.telemetry().dropped_frames.load(Ordering::Relaxed), 0);
    assert_eq!(audio_ends.telemetry().dropped_samples.load(Ordering::Relaxed), 0);

    // Wait (not a speed assertion: a generous deadline) for an analysis of all 12 s.
    let deadline = Instant::now() + Duration::from_secs(60);
    let live = loop {
        worker.request();
        std::thread::sleep(Duration::from_millis(100));
        if let Some(a) = worker.latest().filter(|a| (a.duration_s - 12.0).abs() < 1e-6) {
            break a;
        }
        assert!(Instant::now() < deadline, "no full analysis from the worker; error: {:?}", worker.last_error());
    };
    let (lo, ll) = (offline.loudness, live.loudness);
    println!("offline {:?}\nlive    {:?}", lo, ll);
    let close = |a: Option<f64>, b: Option<f64>, tol: f64| (a.unwrap() - b.unwrap()).abs() <= tol;
    assert!(close(lo.integrated_lufs, ll.integrated_lufs, 1e-9));
    assert!(close(lo.loudness_range_lu, ll.loudness_range_lu, 1e-9));
    assert!(close(lo.true_peak_dbtp, ll.true_peak_dbtp, 1e-9));
    assert!(close(lo.max_momentary_lufs, ll.max_momentary_lufs, 1e-9));
    // The offline file and the live stream measure the same: about -13 LUFS for this signal.
    assert!((-20.0..-8.0).contains(&ll.integrated_lufs.unwrap()), "{ll:?}");
    assert_eq!(offline.tonal_balance, live.tonal_balance);
    // The same findings; values within 1e-6 (the stereo findings sum the frames' mid and side
    // powers in another order in the worker: 1e-9 dB apart).
    assert_eq!(offline.findings.len(), live.findings.len(), "{:?}\n{:?}", offline.findings, live.findings);
    for (o, l) in offline.findings.iter().zip(&live.findings) {
        assert!((o.value - l.value).abs() <= 1e-6, "{o:?}\n{l:?}");
        let same = |f: &audiocollab_core::analysis::findings::Finding| {
            (f.kind, f.severity, f.start_s, f.end_s, f.unit.clone())
        };
        assert_eq!(same(o), same(l));
    }
    // Tempo and key come from the downmix ring: the same samples as the file.
    assert_eq!(offline.key, live.key);
    // The window's meters read the same figures (the range is refreshed once a second).
    let meters = worker.levels();
    assert!((meters.stream_s - 12.0).abs() < 1e-9, "{meters:?}");
    assert!(close(meters.loudness.integrated_lufs, lo.integrated_lufs, 1e-9), "{meters:?}");
    assert!(close(meters.loudness.true_peak_dbtp, lo.true_peak_dbtp, 1e-9));
    assert!(close(meters.loudness.plr_lu, lo.plr_lu, 1e-9));
    assert!(close(meters.loudness.loudness_range_lu, lo.loudness_range_lu, 0.5), "{meters:?}");
    assert!(meters.correlation.is_some_and(|c| (-1.0..=1.0).contains(&c)));
    let ends = worker.stop().expect("the worker gives its ring ends back");
    assert_eq!(ends.frames.slots(), 0, "every frame was drained");
}

#[test]
fn a_restarted_meter_starts_a_new_timeline() {
    let queues = StatsQueues::new();
    let (mut audio_ends, mut worker_ends) = (queues.audio, queues.worker);
    let mut live = LiveAnalysis::new();
    let mut meter = StatsMeter::new(SR as f64, 2).expect("meter");
    let mut rng = Rng(3);
    play(&mut meter, &mut audio_ends, &music_like(3.0, 0.5, 1), &mut rng, false);
    live.drain(&mut worker_ends);
    assert!((live.timeline().expect("timeline").duration_s() - 3.0).abs() < 0.1001);

    // The host resets the plugin (transport jump): the meter restarts at frame 0.
    meter.reset();
    play(&mut meter, &mut audio_ends, &music_like(2.0, 0.05, 2), &mut rng, true);
    live.drain(&mut worker_ends);
    assert_eq!(live.restarts(), 1);
    let t = live.timeline().expect("timeline");
    assert!((t.duration_s() - 2.0).abs() < 1e-9, "{}", t.duration_s());
    // Only the quiet second stream is measured: 20 dB below the first.
    let quiet = live.analyze(&AnalyzeOptions::default()).expect("frames").expect("analysis");
    let loud = analyze(SR, &music_like(2.0, 0.5, 2), &AnalyzeOptions::default(), |_| {}).expect("analysis");
    let drop = loud.loudness.integrated_lufs.unwrap() - quiet.loudness.integrated_lufs.unwrap();
    assert!((drop - 20.0).abs() < 0.05, "{drop}");

    // Another sample rate (the host reactivated at 44.1 kHz) is another stream too.
    let mut meter = StatsMeter::new(44_100.0, 1).expect("meter");
    let mono = vec![music_like(1.0, 0.5, 3).swap_remove(0)];
    play(&mut meter, &mut audio_ends, &mono, &mut rng, true);
    live.drain(&mut worker_ends);
    assert_eq!(live.restarts(), 2);
    assert_eq!(live.timeline().map(|t| (t.sample_rate(), t.channels())), Some((44_100, 1)));
}

#[test]
fn downmix_read_before_the_first_frame_is_kept() {
    // The worker may drain while the first 100 ms frame is still being made: the samples it
    // took then are the start of the stream, and tempo and key must see them.
    let audio = music_like(6.0, 0.5, 9);
    let offline = analyze(SR, &audio, &AnalyzeOptions::default(), |_| {}).expect("offline analysis");
    let queues = StatsQueues::new();
    let (mut audio_ends, mut worker_ends) = (queues.audio, queues.worker);
    let mut live = LiveAnalysis::new();
    let mut meter = StatsMeter::new(SR as f64, 2).expect("meter");
    let mut rng = Rng(12);
    let split = (0.05 * SR as f64) as usize;
    let head: Vec<Vec<f32>> = audio.iter().map(|c| c[..split].to_vec()).collect();
    play(&mut meter, &mut audio_ends, &head, &mut rng, false);
    live.drain(&mut worker_ends);
    assert!(live.timeline().is_none(), "no frame yet");
    // The rest in 1 s pieces, drained in between (the downmix ring holds 2.7 s).
    let mut start = split;
    while start < audio[0].len() {
        let end = (start + SR as usize).min(audio[0].len());
        let piece: Vec<Vec<f32>> = audio.iter().map(|c| c[start..end].to_vec()).collect();
        play(&mut meter, &mut audio_ends, &piece, &mut rng, end == audio[0].len());
        live.drain(&mut worker_ends);
        start = end;
    }
    assert_eq!(audio_ends.telemetry().dropped_samples.load(Ordering::Relaxed), 0);
    let analysis = live.analyze(&AnalyzeOptions::default()).expect("frames").expect("analysis");
    assert_eq!(offline.key, analysis.key);
    assert_eq!(offline.tempo, analysis.tempo);
}

#[test]
fn the_meters_reset_without_touching_the_analysis() {
    let queues = StatsQueues::new();
    let (mut audio_ends, mut worker_ends) = (queues.audio, queues.worker);
    let mut live = LiveAnalysis::new();
    let mut meter = StatsMeter::new(SR as f64, 2).expect("meter");
    let mut rng = Rng(8);
    play(&mut meter, &mut audio_ends, &music_like(3.0, 0.5, 6), &mut rng, false);
    live.drain(&mut worker_ends);
    let loud = live.levels().loudness.integrated_lufs.expect("loud part measured");

    // Reset, then 2 s 20 dB quieter: the meters see only those 2 s, the analysis all 5.
    live.reset_levels();
    let quiet_audio = music_like(2.0, 0.05, 6);
    play(&mut meter, &mut audio_ends, &quiet_audio, &mut rng, true);
    live.drain(&mut worker_ends);
    let levels = live.levels();
    assert!((levels.loudness.duration_s - 2.0).abs() < 1e-9, "{levels:?}");
    assert!((levels.stream_s - 5.0).abs() < 1e-9, "{levels:?}");
    let quiet = analyze(SR, &quiet_audio, &AnalyzeOptions::default(), |_| {}).expect("analysis");
    let (now, alone) = (levels.loudness.integrated_lufs.unwrap(), quiet.loudness.integrated_lufs.unwrap());
    // The K-weighting filters remember the loud part for a few milliseconds.
    assert!((now - alone).abs() < 0.05, "{now} vs {alone}");
    // 20 dB quieter, less the swell of the first 3 s (its louder half).
    assert!((15.0..21.0).contains(&(loud - now)), "{loud} {now}");
    let whole = live.analyze(&AnalyzeOptions::default()).expect("frames").expect("analysis");
    assert!((whole.duration_s - 5.0).abs() < 1e-9);
}

#[test]
fn frames_lost_to_a_stalled_worker_are_counted_and_measured_as_silence() {
    // A ring of 8 frames (0.8 s) that nobody drains while 2 s play.
    let queues = StatsQueues::with_capacities(8, 1 << 16);
    let (mut audio_ends, mut worker_ends) = (queues.audio, queues.worker);
    let mut meter = StatsMeter::new(SR as f64, 2).expect("meter");
    let mut rng = Rng(5);
    play(&mut meter, &mut audio_ends, &music_like(2.0, 0.5, 4), &mut rng, false);
    let dropped = audio_ends.telemetry().dropped_frames.load(Ordering::Relaxed);
    assert_eq!(dropped, 12, "20 frames made, 8 fit");
    // The worker wakes up: the 8 it gets are frames 0..8; the next ones continue with a gap.
    let mut live = LiveAnalysis::new();
    live.drain(&mut worker_ends);
    play(&mut meter, &mut audio_ends, &music_like(0.5, 0.5, 5), &mut rng, true);
    live.drain(&mut worker_ends);
    let t = live.timeline().expect("timeline");
    assert_eq!(t.dropped_frames(), 12);
    assert_eq!(t.frames().len(), 13);
    assert!((t.duration_s() - 2.5).abs() < 1e-9);
    assert_eq!(t.loudness().missing_cells(), 120);
    // The host transport position travels with the frames: 2 s of host time = 96 000 samples
    // ahead of the stream at the start of the first play() call.
    assert!((t.transport_time(0.0).unwrap() - 2.0).abs() < 1e-9);
}
