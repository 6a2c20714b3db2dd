//! The whole chain, measured: EQ response against the analytic curves, the compressor's static
//! curve, pan/width, bypass, NaN/Inf recovery, block-size independence, sample rates and
//! click-free parameter changes.

mod common;
use audiocollab_core::dsp::biquad::{Coefs, BUTTERWORTH4_Q, BUTTERWORTH_Q};
use audiocollab_core::dsp::compressor::gain_reduction_db;
use audiocollab_core::dsp::measure::tone_amplitude;
use audiocollab_core::dsp::Chain;
use audiocollab_core::spec::{ParamId as P, Settings};
use common::Rng;
use std::f64::consts::PI;

fn sine(sr: f64, freq: f64, amp: f64, len: usize) -> Vec<f32> {
    (0..len).map(|i| (amp * (2.0 * PI * freq * i as f64 / sr).sin()) as f32).collect()
}

/// A stereo test signal: two sines per side and seeded noise at −30 dBFS.
fn music_like(sr: f64, len: usize, seed: u64) -> [Vec<f32>; 2] {
    let mut rng = Rng(seed);
    let mut l = Vec::with_capacity(len);
    let mut r = Vec::with_capacity(len);
    for i in 0..len {
        let t = i as f64 / sr;
        let n = 0.03 * (rng.unit() * 2.0 - 1.0);
        l.push((0.3 * (2.0 * PI * 110.0 * t).sin() + 0.2 * (2.0 * PI * 2500.0 * t).sin() + n) as f32);
        r.push((0.25 * (2.0 * PI * 220.0 * t).sin() + 0.2 * (2.0 * PI * 7000.0 * t).sin() - n) as f32);
    }
    [l, r]
}

fn render(sr: f32, settings: &Settings, input: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let mut chain = Chain::new(sr);
    chain.reset(settings);
    let mut out: Vec<Vec<f32>> = input.to_vec();
    let mut slices: Vec<&mut [f32]> = out.iter_mut().map(|c| c.as_mut_slice()).collect();
    chain.process(&mut slices, settings);
    out
}

fn db(x: f64) -> f64 {
    20.0 * x.log10()
}

fn eq_settings() -> Settings {
    Settings::default()
        .with(P::HpOn, 1.0)
        .with(P::HpFreq, 40.0)
        .with(P::HpSlope, 1.0)
        .with(P::LowShelfFreq, 120.0)
        .with(P::LowShelfGain, 4.0)
        .with(P::Bell1Freq, 350.0)
        .with(P::Bell1Gain, -6.0)
        .with(P::Bell1Q, 1.5)
        .with(P::Bell2Freq, 3200.0)
        .with(P::Bell2Gain, 5.0)
        .with(P::Bell2Q, 0.8)
        .with(P::HighShelfFreq, 9000.0)
        .with(P::HighShelfGain, -3.0)
}

/// The analytic response of [`eq_settings`]: the product of its sections.
fn eq_analytic_db(sr: f64, f: f64) -> f64 {
    let sections = [
        Coefs::high_pass(sr, 40.0, BUTTERWORTH4_Q[0]),
        Coefs::high_pass(sr, 40.0, BUTTERWORTH4_Q[1]),
        Coefs::low_shelf(sr, 120.0, 4.0),
        Coefs::peaking(sr, 350.0, -6.0, 1.5),
        Coefs::peaking(sr, 3200.0, 5.0, 0.8),
        Coefs::high_shelf(sr, 9000.0, -3.0),
    ];
    sections.iter().map(|c| c.magnitude_db(sr, f)).sum()
}

#[test]
fn eq_chain_matches_analytic_response_within_0_05_db() {
    for sr in [44_100.0, 48_000.0, 96_000.0] {
        let settings = eq_settings();
        for f in [30.0, 60.0, 120.0, 350.0, 1000.0, 3200.0, 6000.0, 9000.0, 16_000.0] {
            let settle = (sr * 0.5) as usize;
            let input = sine(sr, f, 0.25, settle + sr as usize);
            let out = render(sr as f32, &settings, &[input.clone(), input]);
            let tail: Vec<f64> = out[0][settle..].iter().map(|&v| v as f64).collect();
            let measured = db(tone_amplitude(&tail, sr, f) / 0.25);
            let analytic = eq_analytic_db(sr, f);
            assert!(
                (measured - analytic).abs() < 0.05,
                "{sr} Hz, {f} Hz: measured {measured:.3} dB, analytic {analytic:.3} dB"
            );
        }
    }
}

#[test]
fn twelve_db_high_pass_is_minus_3_db_at_its_corner() {
    let sr = 48_000.0;
    let s = Settings::default().with(P::HpOn, 1.0).with(P::HpFreq, 100.0);
    let input = sine(sr, 100.0, 0.5, 96_000);
    let out = render(sr as f32, &s, &[input]);
    let tail: Vec<f64> = out[0][48_000..].iter().map(|&v| v as f64).collect();
    let measured = db(tone_amplitude(&tail, sr, 100.0) / 0.5);
    let analytic = Coefs::high_pass(sr, 100.0, BUTTERWORTH_Q).magnitude_db(sr, 100.0);
    assert!((measured - analytic).abs() < 0.05 && (measured + 3.01).abs() < 0.06, "{measured}");
}

/// Output peak of a steady 100 Hz sine through the compressor, after it settled.
fn compressed_peak_db(s: &Settings, input_db: f64) -> f64 {
    let sr = 48_000.0;
    let input = sine(sr, 100.0, 10f64.powf(input_db / 20.0), 3 * 48_000);
    let out = render(sr as f32, s, &[input.clone(), input]);
    let peak = out[0][2 * 48_000..].iter().fold(0.0f32, |m, v| m.max(v.abs()));
    db(peak as f64)
}

#[test]
fn compressor_static_curve_within_0_2_db() {
    for (threshold, ratio, knee) in [(-20.0, 4.0, 0.0), (-30.0, 2.0, 12.0), (-12.0, 10.0, 6.0)] {
        // Fast attack and slow release so the detector holds the sine's peak: the static curve.
        let s = Settings::default()
            .with(P::CompOn, 1.0)
            .with(P::CompThreshold, threshold as f32)
            .with(P::CompRatio, ratio as f32)
            .with(P::CompKnee, knee as f32)
            .with(P::CompAttack, 0.1)
            .with(P::CompRelease, 1000.0);
        for input_db in [-40.0, -30.0, -24.0, -18.0, -12.0, -6.0, -1.0] {
            let expected = input_db - gain_reduction_db(input_db, threshold, ratio, knee);
            let measured = compressed_peak_db(&s, input_db);
            assert!(
                (measured - expected).abs() < 0.2,
                "T {threshold} R {ratio} K {knee}: in {input_db} dB -> {measured:.2} dB, expected {expected:.2}"
            );
        }
    }
}

#[test]
fn makeup_and_parallel_mix() {
    // Makeup adds its dB to the compressed signal; a 50 % mix sums dry and wet in phase.
    let base = Settings::default()
        .with(P::CompOn, 1.0)
        .with(P::CompThreshold, -20.0)
        .with(P::CompRatio, 4.0)
        .with(P::CompKnee, 0.0)
        .with(P::CompAttack, 0.1)
        .with(P::CompRelease, 1000.0);
    let wet = compressed_peak_db(&base, -8.0);
    assert!((wet - (-17.0)).abs() < 0.2, "{wet}");
    let with_makeup = compressed_peak_db(&base.with(P::CompMakeup, 6.0), -8.0);
    assert!((with_makeup - wet - 6.0).abs() < 0.05, "{with_makeup}");
    let half = compressed_peak_db(&base.with(P::CompMix, 0.5), -8.0);
    let expected = db(0.5 * 10f64.powf(-8.0 / 20.0) + 0.5 * 10f64.powf(wet / 20.0));
    assert!((half - expected).abs() < 0.1, "mix 50 %: {half:.2} dB, expected {expected:.2}");
}

#[test]
fn pan_and_width_through_the_chain() {
    let sr = 48_000.0;
    let [l, r] = music_like(sr, 24_000, 7);
    // Width 0: exactly mono.
    let out = render(sr as f32, &Settings::default().with(P::Width, 0.0), &[l.clone(), r.clone()]);
    assert!(out[0].iter().zip(&out[1]).all(|(a, b)| a == b));
    // Hard left: nothing on the right, left up by √2 (+3.01 dB).
    let out = render(sr as f32, &Settings::default().with(P::Pan, -1.0), &[l.clone(), r.clone()]);
    assert!(out[1].iter().all(|v| v.abs() < 1e-6));
    let rms = |y: &[f32]| (y.iter().map(|&v| v as f64 * v as f64).sum::<f64>() / y.len() as f64).sqrt();
    let gain_db = db(rms(&out[0]) / rms(&l));
    assert!((gain_db - 3.0103).abs() < 1e-3, "hard left: left channel {gain_db:.4} dB");
    // Centre and width 100 %: transparent.
    let out = render(sr as f32, &Settings::default(), &[l.clone(), r.clone()]);
    let err = out[0].iter().zip(&l).chain(out[1].iter().zip(&r)).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(err < 1e-6, "default settings are not transparent: {err}");
}

#[test]
fn invert_one_channel_through_the_chain() {
    let sr = 48_000.0;
    let [l, r] = music_like(sr, 24_000, 11);
    let max_err =
        |a: &[f32], b: &[f32], sign: f32| a.iter().zip(b).map(|(x, y)| (x - sign * y).abs()).fold(0.0, f32::max);
    // Invert Right: the right channel is exactly the negated input, the left untouched.
    let out = render(sr as f32, &Settings::default().with(P::PolarityR, 1.0), &[l.clone(), r.clone()]);
    assert!(max_err(&out[0], &l, 1.0) < 1e-6 && max_err(&out[1], &r, -1.0) < 1e-6);
    // An inverted channel put back: inverting it again restores the pair.
    let flipped = [l.clone(), r.iter().map(|v| -v).collect::<Vec<_>>()];
    let out = render(sr as f32, &Settings::default().with(P::PolarityR, 1.0), &flipped);
    assert!(max_err(&out[1], &r, 1.0) < 1e-6, "the inversion is undone");
    // Invert Left works before the width stage: width 0 of an inverted pair is the side, not
    // the mid.
    let s = Settings::default().with(P::PolarityL, 1.0).with(P::Width, 0.0);
    let out = render(sr as f32, &s, &[l.clone(), r.clone()]);
    let side: Vec<f32> = l.iter().zip(&r).map(|(a, b)| 0.5 * (b - a)).collect();
    assert!(max_err(&out[0], &side, 1.0) < 1e-6 && max_err(&out[1], &side, 1.0) < 1e-6);
    // Mono: the one channel follows Invert Left, not Invert Right.
    let out = render(sr as f32, &Settings::default().with(P::PolarityL, 1.0), std::slice::from_ref(&l));
    assert!(max_err(&out[0], &l, -1.0) < 1e-6);
    let out = render(sr as f32, &Settings::default().with(P::PolarityR, 1.0), std::slice::from_ref(&l));
    assert!(max_err(&out[0], &l, 1.0) < 1e-6);
    // Switched while playing: a 10 ms fade through silence, then exactly inverted.
    let mut chain = Chain::new(sr as f32);
    chain.reset(&Settings::default());
    let (mut a, mut b) = (l.clone(), r.clone());
    chain.process(&mut [&mut a[..12_000], &mut b[..12_000]], &Settings::default());
    chain.process(&mut [&mut a[12_000..], &mut b[12_000..]], &Settings::default().with(P::PolarityR, 1.0));
    assert!(max_err(&b[..12_000], &r[..12_000], 1.0) < 1e-6);
    assert!(max_err(&b[12_480..], &r[12_480..], -1.0) < 1e-6, "settled after 10 ms (480 samples)");
    // Half-way (15 of the fade's 30 control ticks of 16 samples) the gain passes through 0.
    assert!(b[12_240].abs() < 1e-3 * r[12_240].abs().max(1.0), "{} against {}", b[12_240], r[12_240]);
}

#[test]
fn settled_bypass_is_bit_identical() {
    let sr = 48_000.0;
    let [l, r] = music_like(sr, 48_000, 11);
    let s = eq_settings().with(P::CompOn, 1.0).with(P::DeessOn, 1.0).with(P::Bypass, 1.0).with(P::Width, 1.7);
    let out = render(sr as f32, &s, &[l.clone(), r.clone()]);
    assert!(out[0].iter().zip(&l).all(|(a, b)| a.to_bits() == b.to_bits()));
    assert!(out[1].iter().zip(&r).all(|(a, b)| a.to_bits() == b.to_bits()));

    // Engaged while playing: bit-identical once the crossfade has finished.
    let mut chain = Chain::new(sr as f32);
    let active = s.with(P::Bypass, 0.0);
    chain.reset(&active);
    let (mut a, mut b) = (l.clone(), r.clone());
    chain.process(&mut [&mut a[..4800], &mut b[..4800]], &active);
    chain.process(&mut [&mut a[4800..], &mut b[4800..]], &s);
    let fade_end = 4800 + 2 * 480; // 10 ms crossfade, plus margin
    assert!(a[fade_end..].iter().zip(&l[fade_end..]).all(|(x, y)| x.to_bits() == y.to_bits()));
    assert!(a[..4800].iter().zip(&l[..4800]).any(|(x, y)| x != y), "the chain was active before");
}

#[test]
fn nan_and_inf_input_give_finite_output_and_the_chain_recovers() {
    let sr = 48_000.0;
    let s = eq_settings().with(P::CompOn, 1.0).with(P::DeessOn, 1.0).with(P::Width, 1.5);
    let [l, r] = music_like(sr, 48_000, 3);
    let mut bad_l = l.clone();
    let mut bad_r = r.clone();
    let garbage = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, -f32::MAX, 1e-40, -1e-39];
    for i in 0..2000 {
        bad_l[10_000 + i] = garbage[i % garbage.len()];
        bad_r[10_000 + i] = garbage[(i + 3) % garbage.len()];
    }
    let out = render(sr as f32, &s, &[bad_l.clone(), bad_r]);
    assert!(out.iter().flatten().all(|v| v.is_finite()));

    // Recovery: garbage is treated as silence (±f32::MAX as a clamped +60 dBFS burst), so a
    // second after the burst the output matches the same signal with that part zeroed.
    let mut zeroed_l = l.clone();
    let mut zeroed_r = r.clone();
    for i in 0..2000 {
        zeroed_l[10_000 + i] = 0.0;
        zeroed_r[10_000 + i] = 0.0;
    }
    let s_no_comp = s.with(P::CompOn, 0.0).with(P::DeessOn, 0.0);
    let garbage_out = render(sr as f32, &s_no_comp, &[bad_l, zeroed_r.clone()]);
    let clean_out = render(sr as f32, &s_no_comp, &[zeroed_l, zeroed_r]);
    // Only the clamped ±f32::MAX samples differ; the EQ's memory of them decays.
    let tail_err =
        garbage_out[0][40_000..].iter().zip(&clean_out[0][40_000..]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(tail_err < 1e-4, "{tail_err}");
}

#[test]
fn any_block_sizes_give_the_same_output_as_one_block() {
    let sr = 48_000.0;
    let [l, r] = music_like(sr, 96_000, 5);
    // Start from the defaults and move to new settings in the first block, so glides run
    // across block boundaries.
    let target = eq_settings().with(P::CompOn, 1.0).with(P::DeessOn, 1.0).with(P::Pan, 0.3).with(P::Width, 1.4);
    let mut one = Chain::new(sr as f32);
    one.reset(&Settings::default());
    let (mut l1, mut r1) = (l.clone(), r.clone());
    one.process(&mut [&mut l1, &mut r1], &target);

    for seed in [1, 2, 3] {
        let mut rng = Rng(seed);
        let mut chain = Chain::new(sr as f32);
        chain.reset(&Settings::default());
        let (mut l2, mut r2) = (l.clone(), r.clone());
        let mut pos = 0;
        while pos < l2.len() {
            let n = rng.range(1, 8192).min(l2.len() - pos);
            chain.process(&mut [&mut l2[pos..pos + n], &mut r2[pos..pos + n]], &target);
            pos += n;
        }
        assert!(l1 == l2 && r1 == r2, "seed {seed}: block-split output differs");
    }
}

#[test]
fn sample_rates_from_22_05_to_192_khz() {
    for sr in [22_050.0, 32_000.0, 44_100.0, 48_000.0, 88_200.0, 96_000.0, 176_400.0, 192_000.0] {
        // A bell at 1 kHz: its design gain at the centre, at every rate.
        let s = Settings::default().with(P::Bell1Freq, 1000.0).with(P::Bell1Gain, 6.0).with(P::Bell1Q, 2.0);
        let len = (sr * 0.5) as usize;
        let input = sine(sr, 1000.0, 0.25, 2 * len);
        let out = render(sr as f32, &s, &[input]);
        let tail: Vec<f64> = out[0][len..].iter().map(|&v| v as f64).collect();
        let gain = db(tone_amplitude(&tail, sr, 1000.0) / 0.25);
        assert!((gain - 6.0).abs() < 0.05, "{sr} Hz: bell centre {gain:.3} dB");
        // The high shelf at its maximum frequency stays stable and finite near Nyquist.
        let s = Settings::default().with(P::HighShelfFreq, 20_000.0).with(P::HighShelfGain, 12.0);
        let [l, r] = music_like(sr, len, 9);
        let out = render(sr as f32, &s, &[l, r]);
        assert!(out.iter().flatten().all(|v| v.is_finite() && v.abs() < 8.0));
    }
}

/// Largest sample-to-sample step in `y[range]`.
fn max_step(y: &[f32]) -> f32 {
    y.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0, f32::max)
}

#[test]
fn parameter_jumps_are_click_free() {
    let sr = 48_000.0;
    // A 100 Hz sine at −6 dBFS: its own largest step is 0.5·2π·100/48000 = 0.0065.
    let input = sine(sr, 100.0, 0.5, 48_000);
    let steady_step = 0.5 * 2.0 * PI * 100.0 / sr;
    let jumps: &[(&str, Settings, Settings)] = &[
        (
            "out_gain -24 → +12",
            Settings::default().with(P::OutputGain, -24.0),
            Settings::default().with(P::OutputGain, 12.0),
        ),
        (
            "in_gain +12 → -24",
            Settings::default().with(P::InputGain, 12.0),
            Settings::default().with(P::InputGain, -24.0),
        ),
        ("mute on", Settings::default(), Settings::default().with(P::Mute, 1.0)),
        (
            "bypass on",
            eq_settings().with(P::OutputGain, 6.0),
            eq_settings().with(P::OutputGain, 6.0).with(P::Bypass, 1.0),
        ),
        (
            "bell 100 Hz -18 → +18",
            Settings::default().with(P::Bell1Freq, 100.0).with(P::Bell1Gain, -18.0),
            Settings::default().with(P::Bell1Freq, 100.0).with(P::Bell1Gain, 18.0),
        ),
        (
            "bell off",
            Settings::default().with(P::Bell1Freq, 100.0).with(P::Bell1Gain, 12.0),
            Settings::default().with(P::Bell1Freq, 100.0).with(P::Bell1Gain, 12.0).with(P::Bell1On, 0.0),
        ),
        (
            "hp on at 200 Hz",
            Settings::default().with(P::HpFreq, 200.0),
            Settings::default().with(P::HpFreq, 200.0).with(P::HpOn, 1.0),
        ),
        (
            "hp slope 12 → 24",
            Settings::default().with(P::HpOn, 1.0).with(P::HpFreq, 150.0),
            Settings::default().with(P::HpOn, 1.0).with(P::HpFreq, 150.0).with(P::HpSlope, 1.0),
        ),
        (
            "hp freq 20 → 1000",
            Settings::default().with(P::HpOn, 1.0).with(P::HpFreq, 20.0),
            Settings::default().with(P::HpOn, 1.0).with(P::HpFreq, 1000.0),
        ),
        (
            "compressor on, -50 dB threshold, 20:1, +24 dB makeup",
            Settings::default(),
            Settings::default()
                .with(P::CompOn, 1.0)
                .with(P::CompThreshold, -50.0)
                .with(P::CompRatio, 20.0)
                .with(P::CompMakeup, 24.0),
        ),
        ("pan L → R", Settings::default().with(P::Pan, -1.0), Settings::default().with(P::Pan, 1.0)),
        ("width 0 → 200 %", Settings::default().with(P::Width, 0.0), Settings::default().with(P::Width, 2.0)),
        ("invert left", Settings::default(), Settings::default().with(P::PolarityL, 1.0)),
        ("invert right off", Settings::default().with(P::PolarityR, 1.0), Settings::default()),
    ];
    for (name, before, after) in jumps {
        let mut chain = Chain::new(sr as f32);
        chain.reset(before);
        // Left and right differ (right is inverted) so width and pan changes show up.
        let (mut l, mut r) = (input.clone(), input.iter().map(|v| -v * 0.5).collect::<Vec<_>>());
        let half = 24_000;
        chain.process(&mut [&mut l[..half], &mut r[..half]], before);
        chain.process(&mut [&mut l[half..], &mut r[half..]], after);
        let around = half - 480..half + 4800;
        let before_step = max_step(&l[half - 4800..half]).max(max_step(&r[half - 4800..half]));
        let after_step = max_step(&l[l.len() - 4800..]).max(max_step(&r[r.len() - 4800..]));
        let worst = max_step(&l[around.clone()]).max(max_step(&r[around]));
        // A click would be a jump of the order of the signal itself (0.1 … 2); a smooth change
        // stays within a small factor of the steeper side's own slope.
        let bound = 3.0 * before_step.max(after_step).max(steady_step as f32);
        assert!(worst <= bound, "{name}: step {worst:.4} > bound {bound:.4}");
    }
}
