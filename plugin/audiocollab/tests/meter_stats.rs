//! The audio-thread statistics meter (`meter::stats`) and the worker rings (`bridge`), on
//! signals whose statistics are known exactly. Every per-block call runs under
//! `assert_no_alloc`, which aborts the test on any allocation.

mod common;
use audiocollab::bridge::{StatsQueues, DOWNMIX_RING_CAPACITY, STATS_RING_CAPACITY};
use audiocollab_core::analysis::loudness::LoudnessAnalysis;
use audiocollab_core::meter::stats::{band_edges_hz, BAND_COUNT, BAND_NOMINAL_HZ, FRAME_CELLS};
use audiocollab_core::meter::{StatsError, StatsFrame, StatsMeter};
use common::Rng;
use nice_assert_no_alloc::assert_no_alloc;
use std::f64::consts::PI;
use std::sync::atomic::Ordering;

// The allocation guard the plugin's process() runs under: nice-plug installs this allocator
// itself when `assert_process_allocs` is on (the workspace test build); a test run of this
// package alone installs it here. Either way `assert_no_alloc` aborts on any allocation.
#[cfg(not(feature = "assert_process_allocs"))]
#[global_allocator]
static GUARD: nice_assert_no_alloc::AllocDisabler = nice_assert_no_alloc::AllocDisabler;

fn sine(sr: f64, freq: f64, amp: f64, len: usize) -> Vec<f32> {
    (0..len).map(|n| (amp * (2.0 * PI * freq * n as f64 / sr).sin()) as f32).collect()
}

fn noise(seed: u64, amp: f32, len: usize) -> Vec<f32> {
    let mut rng = Rng(seed);
    (0..len).map(|_| amp * rng.bipolar()).collect()
}

/// Runs `audio` (`audio[ch]`) through a fresh meter in blocks of `sizes` (cycled), each call
/// under `assert_no_alloc`, with transport position `transport0 + block start`, and returns
/// the frames (plus the partial last one if `finish`).
fn measure(sr: f64, audio: &[Vec<f32>], sizes: &[usize], transport0: Option<i64>, finish: bool) -> Vec<StatsFrame> {
    let mut meter = StatsMeter::new(sr, audio.len()).expect("valid meter");
    let len = audio[0].len();
    let mut frames = Vec::with_capacity(len / 1000 + 16);
    let (mut pos, mut k) = (0, 0);
    while pos < len {
        let n = sizes[k % sizes.len()].min(len - pos);
        let views: Vec<&[f32]> = audio.iter().map(|ch| &ch[pos..pos + n]).collect();
        let transport = transport0.map(|t| t + pos as i64);
        let result = assert_no_alloc(|| meter.process(&views, transport, |f| frames.push(*f)));
        result.expect("block accepted");
        pos += n;
        k += 1;
    }
    if finish {
        meter.finish(|f| frames.push(*f));
    }
    frames
}

#[test]
fn sine_lands_in_its_third_octave_band() {
    let sr = 48_000.0;
    // −20 dBFS peak: mean square 0.005, −23.01 dB.
    let tone = sine(sr, 1000.0, 0.1, 2 * 48_000);
    let frames = measure(sr, &[tone.clone(), tone], &[512], None, false);
    assert_eq!(frames.len(), 20);
    for f in &frames[1..] {
        let b = &f.band_energy_db;
        let (k1, k_lo, k_hi) = (17, 15, 19);
        assert_eq!(BAND_NOMINAL_HZ[k1], 1000.0);
        let loudest = (0..BAND_COUNT).max_by(|&a, &c| b[a].total_cmp(&b[c])).expect("bands");
        assert_eq!(loudest, k1, "frame {}: loudest band {} Hz", f.seq, BAND_NOMINAL_HZ[loudest]);
        assert!((b[k1] + 23.01).abs() < 0.1, "frame {}: 1 kHz band {:.2} dB, expected −23.01", f.seq, b[k1]);
        assert!(b[k_lo] <= b[k1] - 30.0, "630 Hz band {:.1} dB vs {:.1}", b[k_lo], b[k1]);
        assert!(b[k_hi] <= b[k1] - 30.0, "1.6 kHz band {:.1} dB vs {:.1}", b[k_hi], b[k1]);
        assert!(f.band_fft_count >= 2);
    }
    let f = &frames[10];
    println!(
        "1 kHz −20 dBFS: 1 kHz band {:.3} dB, 630 Hz {:.1} dB, 1.6 kHz {:.1} dB, 20 Hz {:.1} dB, {} FFTs",
        f.band_energy_db[17], f.band_energy_db[15], f.band_energy_db[19], f.band_energy_db[0], f.band_fft_count
    );
    let (lo, hi) = band_edges_hz(17);
    assert!((lo - 891.25).abs() < 0.01 && (hi - 1122.02).abs() < 0.01, "edges {lo} {hi}");
}

#[test]
fn low_bands_are_smoothed_not_lost() {
    // 25 Hz is narrower than an FFT bin (11.7 Hz): its power is shared with the neighbouring
    // low bands, and the total in 20..40 Hz is the tone's mean square less what the Hann main
    // lobe (±2 bins, ±23 Hz) spreads below the 20 Hz band's lower edge (17.8 Hz): about 0.5 dB.
    let sr = 48_000.0;
    let tone = sine(sr, 25.0, 0.5, 2 * 48_000);
    let frames = measure(sr, &[tone], &[1024], None, false);
    let b = &frames[10].band_energy_db;
    let total: f64 = b[..4].iter().map(|&db| 10f64.powf(db as f64 / 10.0)).sum();
    let total_db = 10.0 * total.log10();
    println!(
        "25 Hz at 0.5: bands 20/25/31.5/40 Hz = {:.1} {:.1} {:.1} {:.1} dB, sum {total_db:.2} dB",
        b[0], b[1], b[2], b[3]
    );
    assert!(b[0] > -20.0 && b[2] > -20.0, "the neighbours share the power");
    assert!((total_db - 10.0 * (0.125f64).log10()).abs() < 1.0, "sum of the low bands {total_db:.2} dB");
}

#[test]
fn clipped_runs_and_samples_are_counted() {
    let sr = 48_000.0;
    let mut x = vec![0.5f32; 9600];
    // Frame 0 (samples 0..4800): a run of 5 at +1.0, a single −1.2, a run of 20 that starts at
    // 4790 and runs into frame 1 (10 samples in each); 0.999 is not a clip.
    x[100..105].fill(1.0);
    x[1000] = -1.2;
    x[2000] = 0.999;
    x[4790..4810].fill(1.0);
    // Frame 1: a run of 7 straddling the block boundary at 6144 (blocks of 1024), and a
    // negative run of 3 right after a positive one (one run: |x| stays ≥ 1).
    x[6140..6147].fill(1.5);
    x[8000..8002].fill(1.0);
    x[8002..8005].fill(-1.0);
    let frames = measure(sr, &[x], &[1024], None, false);
    assert_eq!(frames.len(), 2);
    println!(
        "clips: frame 0 {} samples / {} runs, frame 1 {} samples / {} runs",
        frames[0].clip_samples[0], frames[0].clip_runs[0], frames[1].clip_samples[0], frames[1].clip_runs[0]
    );
    assert_eq!((frames[0].clip_samples[0], frames[0].clip_runs[0]), (5 + 1 + 10, 3));
    assert_eq!((frames[1].clip_samples[0], frames[1].clip_runs[0]), (10 + 7 + 5, 2));
    assert_eq!(frames[0].sample_peak_fs[0], 1.2);
    assert_eq!(frames[1].sample_peak_fs[0], 1.5);
}

#[test]
fn dc_and_rms() {
    let sr = 48_000.0;
    // 100 Hz: exactly 10 periods per 100 ms frame, so the sine's mean is 0.
    let x: Vec<f32> = sine(sr, 100.0, 0.5, 48_000).iter().map(|s| s + 0.1).collect();
    let y: Vec<f32> = sine(sr, 100.0, 0.5, 48_000).iter().map(|s| s - 0.25).collect();
    let frames = measure(sr, &[x, y], &[333, 4096, 1], None, false);
    assert_eq!(frames.len(), 10);
    let expected_rms = [(0.01f64 + 0.125).sqrt(), (0.0625f64 + 0.125).sqrt()];
    for f in &frames {
        assert!((f.dc_fs[0] - 0.1).abs() < 1e-4, "frame {}: DC {}", f.seq, f.dc_fs[0]);
        assert!((f.dc_fs[1] + 0.25).abs() < 1e-4, "frame {}: DC {}", f.seq, f.dc_fs[1]);
        for (rms, expected) in f.rms_fs.iter().zip(expected_rms) {
            assert!((*rms as f64 - expected).abs() < 1e-4, "RMS {rms} vs {expected}");
        }
    }
    println!(
        "DC {:.6} / {:.6}, RMS {:.6} / {:.6}",
        frames[3].dc_fs[0], frames[3].dc_fs[1], frames[3].rms_fs[0], frames[3].rms_fs[1]
    );
}

#[test]
fn stereo_correlation_and_mid_side() {
    let sr = 48_000.0;
    let len = 2 * 48_000;
    let a = noise(1, 0.5, len);
    let neg: Vec<f32> = a.iter().map(|v| -v).collect();
    let b = noise(2, 0.5, len);
    let ms = 0.25 / 3.0; // mean square of uniform noise of amplitude 0.5

    let same = measure(sr, &[a.clone(), a.clone()], &[700], None, false);
    let opposite = measure(sr, &[a.clone(), neg], &[700], None, false);
    let independent = measure(sr, &[a.clone(), b], &[700], None, false);
    let mono = measure(sr, &[a], &[700], None, false);
    let worst_independent = independent.iter().map(|f| f.correlation.expect("stereo").abs()).fold(0.0f32, f32::max);
    println!(
        "correlation: L=R {:.6}, L=−R {:.6}, independent worst |c| {worst_independent:.4} over {} frames",
        same[5].correlation.expect("stereo"),
        opposite[5].correlation.expect("stereo"),
        independent.len()
    );
    for f in &same {
        assert!((f.correlation.expect("stereo") - 1.0).abs() < 1e-6);
        assert_eq!(f.side_mean_square_fs2, 0.0);
        assert!((f.mid_mean_square_fs2 as f64 / ms - 1.0).abs() < 0.05);
    }
    for f in &opposite {
        assert!((f.correlation.expect("stereo") + 1.0).abs() < 1e-6);
        assert_eq!(f.mid_mean_square_fs2, 0.0);
        assert!((f.side_mean_square_fs2 as f64 / ms - 1.0).abs() < 0.05);
    }
    assert!(worst_independent < 0.05, "independent noise correlates at {worst_independent}");
    for f in &independent {
        // Independent channels: mid and side each carry half the power.
        let ratio = f.mid_mean_square_fs2 / f.side_mean_square_fs2;
        assert!((ratio - 1.0).abs() < 0.15, "mid/side {ratio}");
    }
    assert!(mono.iter().all(|f| f.correlation.is_none() && f.side_mean_square_fs2 == 0.0));
    // Silence has no correlation.
    let silent = measure(sr, &[vec![0.0; 4800], vec![0.0; 4800]], &[4800], None, false);
    assert_eq!(silent[0].correlation, None);
}

#[test]
fn low_band_mid_and_side() {
    // A 60 Hz tone in phase plus a 2 kHz tone in opposite phase: the low band (20–150 Hz) holds
    // the tone's mid power and no side; with the right channel inverted, the reverse. The
    // 2 kHz side stays out of the low band.
    let sr = 44_100.0;
    let len = 44_100;
    let (low, high) = (sine(sr, 60.0, 0.5, len), sine(sr, 2000.0, 0.3, len));
    let l: Vec<f32> = low.iter().zip(&high).map(|(a, b)| a + b).collect();
    let r: Vec<f32> = low.iter().zip(&high).map(|(a, b)| a - b).collect();
    let tone_ms = 0.125; // 0.5² / 2
    let inverted: Vec<f32> = r.iter().map(|v| -v).collect();
    for (name, right, mid, side) in [("in phase", r, tone_ms, 0.0), ("right inverted", inverted, 0.0, tone_ms)] {
        let frames = measure(sr, &[l.clone(), right], &[512], None, false);
        for f in &frames[2..] {
            let (m, s) = (f.low_mid_mean_square_fs2 as f64, f.low_side_mean_square_fs2 as f64);
            assert!((m - mid).abs() < 0.01 * tone_ms && (s - side).abs() < 0.01 * tone_ms, "{name}: mid {m}, side {s}");
        }
    }
    let mono = measure(sr, &[l], &[512], None, false);
    assert!(mono.iter().all(|f| f.low_mid_mean_square_fs2 == 0.0 && f.low_side_mean_square_fs2 == 0.0));
}

#[test]
fn a_frame_every_100_ms_whatever_the_block_sizes() {
    for (sr, seed) in [(48_000.0, 7u64), (44_100.0, 8), (11_025.0, 9)] {
        let len = (10.37 * sr) as usize;
        let audio = [noise(seed, 0.3, len), noise(seed + 100, 0.3, len)];
        let mut rng = Rng(seed * 31 + 1);
        let sizes: Vec<usize> = (0..4096).map(|_| rng.range(1, 4096)).collect();
        let random = measure(sr, &audio, &sizes, Some(-5000), false);
        let whole = measure(sr, &audio, &[len], Some(-5000), false);
        let expected = len * 10 / sr as usize;
        println!("{sr} Hz: {} frames from {} random blocks (expected {expected})", random.len(), sizes.len());
        assert_eq!(random.len(), expected);
        assert_eq!(whole.len(), expected);
        let sr_u = sr as u64;
        for (n, (f, g)) in random.iter().zip(&whole).enumerate() {
            let n = n as u64;
            assert_eq!(f.seq, n);
            assert_eq!(f.start_sample, n * sr_u / 10);
            assert_eq!(f.frames as u64, (n + 1) * sr_u / 10 - n * sr_u / 10);
            assert_eq!(f.transport_pos_samples, Some(-5000 + f.start_sample as i64));
            assert_eq!(f.cell_count as usize, FRAME_CELLS);
            for (c, cell) in f.cells.iter().enumerate() {
                assert_eq!(cell.index, n * 10 + c as u64);
            }
            assert_eq!(f.cells.iter().map(|c| c.frames).sum::<u32>(), f.frames);
            assert_eq!(f.sample_peak_fs, g.sample_peak_fs);
            assert_eq!(f.clip_samples, g.clip_samples);
            assert!((f.rms_fs[0] - g.rms_fs[0]).abs() < 1e-6);
            assert!((f.correlation.expect("stereo") - g.correlation.expect("stereo")).abs() < 1e-5);
            assert_eq!(f.band_fft_count, g.band_fft_count);
            for (x, y) in f.band_energy_db.iter().zip(&g.band_energy_db) {
                assert!((x - y).abs() < 1e-3, "band {x} vs {y}");
            }
        }
    }
}

#[test]
fn frame_cells_give_the_same_loudness_as_the_file() {
    let sr = 48_000.0;
    let len = 5 * 48_000 + 1234;
    let l: Vec<f32> = sine(sr, 440.0, 0.3, len).iter().zip(noise(3, 0.05, len)).map(|(a, b)| a + b).collect();
    let r = noise(4, 0.2, len);
    let mut rng = Rng(99);
    let sizes: Vec<usize> = (0..512).map(|_| rng.range(1, 4096)).collect();
    let frames = measure(sr, &[l.clone(), r.clone()], &sizes, None, true);
    assert_eq!(frames.len(), 51, "50 full frames and a partial one");
    assert_eq!(frames.last().map(|f| f.frames), Some(1234));
    let mut live = LoudnessAnalysis::new(sr, 2).expect("analysis");
    for f in &frames {
        for c in &f.cells[..f.cell_count as usize] {
            live.push(c).expect("in order");
        }
    }
    let file = LoudnessAnalysis::of_audio(sr, &[&l, &r]).expect("file");
    let (a, b) = (live.report(), file.report());
    let (ia, ib) = (a.integrated_lufs.expect("loud"), b.integrated_lufs.expect("loud"));
    println!("integrated from frames {ia:.4} LUFS, from the file {ib:.4} LUFS");
    assert!((ia - ib).abs() < 0.05);
    assert_eq!(a.true_peak_dbtp, b.true_peak_dbtp);
    assert_eq!(live.missing_cells(), 0);
}

#[test]
fn rejects_bad_configurations() {
    assert_eq!(StatsMeter::new(48_000.0, 0).err(), Some(StatsError::UnsupportedChannels(0)));
    assert_eq!(StatsMeter::new(48_000.0, 3).err(), Some(StatsError::UnsupportedChannels(3)));
    assert!(matches!(StatsMeter::new(1_000.0, 2), Err(StatsError::Meter(_))));
    let mut m = StatsMeter::new(48_000.0, 2).expect("valid");
    let a = [0.0f32; 4];
    let b = [0.0f32; 3];
    assert!(m.process(&[&a], None, |_| ()).is_err());
    assert!(m.process(&[&a, &b], None, |_| ()).is_err());
}

#[test]
fn full_rings_drop_and_count_without_blocking() {
    let queues = StatsQueues::with_capacities(4, 1000);
    let (mut audio, mut worker) = (queues.audio, queues.worker);
    let mut meter = StatsMeter::new(48_000.0, 2).expect("valid");
    let block = noise(5, 0.2, 4800);
    // 10 frames and 4800·10 samples with nobody reading: the rings hold 4 frames, 1000 samples.
    for _ in 0..10 {
        assert_no_alloc(|| {
            meter
                .process(&[&block, &block], None, |f| {
                    audio.push_frame(f);
                })
                .expect("block");
            audio.push_downmix(&[&block, &block]);
        });
    }
    let t = &worker.telemetry;
    let (df, ds) = (t.dropped_frames.load(Ordering::Relaxed), t.dropped_samples.load(Ordering::Relaxed));
    println!("no consumer: dropped {df} frames, {ds} samples");
    assert_eq!(df, 6);
    assert_eq!(t.pushed_frames.load(Ordering::Relaxed), 4);
    assert_eq!(ds, 48_000 - 1000);
    assert_eq!(t.pushed_samples.load(Ordering::Relaxed), 1000);
    // The first four frames are the ones kept, in order; the downmix is the channel mean.
    let seqs: Vec<u64> = std::iter::from_fn(|| worker.frames.pop().ok()).map(|f| f.seq).collect();
    assert_eq!(seqs, vec![0, 1, 2, 3]);
    let first = worker.downmix.pop().expect("sample");
    assert_eq!(first, block[0]);
    // Capacities of the real rings.
    assert_eq!(STATS_RING_CAPACITY, 64);
    assert_eq!(DOWNMIX_RING_CAPACITY, 131_072);
}

#[test]
fn a_concurrent_consumer_gets_every_frame_in_order() {
    let queues = StatsQueues::new();
    let (mut audio, mut worker) = (queues.audio, queues.worker);
    let total_frames = 300u64;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let producer_done = done.clone();
    let consumer = std::thread::spawn(move || {
        let mut seqs = Vec::new();
        let mut samples = 0u64;
        loop {
            // Read the flag first: everything pushed before it was set is drained below.
            let finished = done.load(Ordering::Acquire);
            while let Ok(f) = worker.frames.pop() {
                seqs.push(f.seq);
            }
            while worker.downmix.pop().is_ok() {
                samples += 1;
            }
            if finished {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        (seqs, samples, worker.telemetry)
    });
    let mut meter = StatsMeter::new(48_000.0, 1).expect("valid");
    let block = noise(6, 0.2, 480);
    for _ in 0..total_frames * 10 {
        assert_no_alloc(|| {
            meter
                .process(&[&block], None, |f| {
                    audio.push_frame(f);
                })
                .expect("block");
            audio.push_downmix(&[&block]);
        });
        // Pace the producer a little so the consumer keeps up (a 64-frame ring is 6.4 s).
        if audio.telemetry().pushed_frames.load(Ordering::Relaxed) % 32 == 31 {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
    producer_done.store(true, Ordering::Release);
    let (seqs, samples, telemetry) = consumer.join().expect("consumer");
    let dropped = telemetry.dropped_frames.load(Ordering::Relaxed);
    println!("consumer got {} frames, {samples} samples; {dropped} frames dropped", seqs.len());
    assert_eq!(dropped, 0);
    assert_eq!(seqs, (0..total_frames).collect::<Vec<_>>());
    assert_eq!(samples + telemetry.dropped_samples.load(Ordering::Relaxed), total_frames * 4800);
}

#[test]
fn scope_ring_copies_stereo_and_mono_and_drops_when_full_without_allocating() {
    use audiocollab::bridge::{push_scope, scope_ring, SCOPE_RING_CAPACITY};
    let (mut tx, mut rx) = scope_ring();
    let (l, r) = (noise(1, 0.5, 1000), noise(2, 0.5, 1000));
    assert_eq!(assert_no_alloc(|| push_scope(&mut tx, &[&l, &r])), 1000);
    assert_eq!(assert_no_alloc(|| push_scope(&mut tx, &[&l[..10]])), 10, "mono");
    assert_eq!(assert_no_alloc(|| push_scope(&mut tx, &[])), 0);
    let got: Vec<[f32; 2]> = std::iter::from_fn(|| rx.pop().ok()).collect();
    assert_eq!(got.len(), 1010);
    assert!(got[..1000].iter().zip(l.iter().zip(&r)).all(|(g, (&a, &b))| *g == [a, b]));
    assert!(got[1000..].iter().zip(&l[..10]).all(|(g, &a)| *g == [a, a]), "mono goes to both sides");
    // Nobody drains (the window stalls): the ring takes what fits and the rest is dropped.
    let long = noise(3, 0.5, SCOPE_RING_CAPACITY + 500);
    assert_eq!(assert_no_alloc(|| push_scope(&mut tx, &[&long, &long])), SCOPE_RING_CAPACITY);
    assert_eq!(assert_no_alloc(|| push_scope(&mut tx, &[&long, &long])), 0);
}

#[test]
fn the_standalone_player_fills_blocks_without_allocating() {
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/demo.flac");
    let mut player = audiocollab::player::Player::open(&demo, 44_100.0).expect("demo at its own rate");
    let (mut l, mut r) = (vec![0.0f32; 512], vec![0.0f32; 512]);
    let mut energy = 0.0f64;
    // 20 s of 512-sample blocks: past the 18.4 s demo's end, so the loop is crossed.
    for _ in 0..(20 * 44_100 / 512) {
        assert_no_alloc(|| player.fill(&mut [&mut l, &mut r]));
        energy += l.iter().chain(&r).map(|&x| (x as f64).powi(2)).sum::<f64>();
    }
    assert!(energy > 1.0, "the demo is heard");
}

#[test]
fn non_finite_samples_are_counted_and_measured_as_silence() {
    let sr = 48_000.0;
    for channels in [1, 2] {
        let mut audio = vec![vec![0.25f32; 9600]; channels];
        audio[0][10] = f32::NAN;
        audio[channels - 1][11] = f32::INFINITY;
        audio[0][4799] = f32::NEG_INFINITY;
        // 13 across the block boundary at 6144 (blocks of 1024).
        audio[channels - 1][6140..6153].fill(f32::NAN);
        let frames = measure(sr, &audio, &[1024], None, false);
        assert_eq!(frames.len(), 2);
        assert_eq!((frames[0].non_finite_samples, frames[1].non_finite_samples), (3, 13), "{channels} ch");
        for f in &frames {
            assert_eq!(f.sample_peak_fs[0], 0.25);
            assert!(f.rms_fs[0] > 0.24 && f.rms_fs[0] <= 0.25, "{}", f.rms_fs[0]);
            assert!(f.band_energy_db.iter().all(|b| b.is_finite()));
        }
    }
}
