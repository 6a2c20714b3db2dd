//! The processing chain, in signal order:
//!
//! input trim and polarity → high-pass → low shelf → bell 1 → bell 2 → high shelf → de-esser → compressor
//! → width → pan → output gain → mute → bypass crossfade.
//!
//! Every parameter glides (see [`super::smooth`]), toggles included: a band switched off glides
//! its gain to 0 dB, a channel's polarity glides its gain from +1 through 0 to −1 (a 10 ms
//! fade, so the switch never clicks), the high-pass and compressor crossfade with their input, mute fades, and
//! bypass crossfades to the untouched input. A stage that has settled at "no effect" is skipped
//! and its state cleared, so a settled bypass leaves the buffer bit-identical. The chain has no
//! latency. It never allocates: all state is inline.

use super::biquad::Biquad;
use super::compressor::{Compressor, CompressorParams};
use super::decibel::db_to_gain;
use super::deesser::Deesser;
use super::eq::{band_coefs, high_pass_sections, BandKind};
use super::smooth::{Glide, Ramp, CONTROL_INTERVAL};
use super::stereo::{apply_width, pan_gains};
use crate::spec::{ParamId as P, Settings};

/// Input samples beyond ±1000 (+60 dBFS) are clamped: no real signal gets there, and it keeps
/// every internal value far from overflow whatever the EQ and makeup gains are.
const INPUT_LIMIT: f32 = 1000.0;

/// Sanitises one input sample: NaN, ±∞ and subnormals become 0, huge values are clamped.
#[inline(always)]
fn sanitize(x: f32) -> f64 {
    if x.is_normal() {
        x.clamp(-INPUT_LIMIT, INPUT_LIMIT) as f64
    } else {
        0.0
    }
}

fn glide(p: P, sample_rate: f32) -> Glide {
    Glide::new(p.spec().smoothing_ms, sample_rate, 0.0)
}

/// Targets in the domain each glide works in (log2 Hz for frequencies, dB for gains).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Targets {
    in_gain_db: f64,
    /// +1, or −1 for an inverted channel: left (or mono), right.
    polarity: [f64; 2],
    hp_on: bool,
    hp_slope: usize,
    hp_freq: f64,
    /// Low shelf, bell 1, bell 2, high shelf: the order of [`Chain::bands`].
    bands: [BandTargets; 4],
    comp: Comp<f64>,
    comp_linked: bool,
    deess: Deess<f64>,
    pan: f64,
    width: f64,
    out_gain_db: f64,
    mute: f64,
    bypass: f64,
}

impl Targets {
    fn from(s: &Settings) -> Self {
        let on = |t: P, v: P| if s.on(t) { s.get(v) as f64 } else { 0.0 };
        let log2 = |p: P| (s.get(p) as f64).log2();
        Self {
            in_gain_db: s.get(P::InputGain) as f64,
            polarity: [P::PolarityL, P::PolarityR].map(|p| if s.on(p) { -1.0 } else { 1.0 }),
            hp_on: s.on(P::HpOn),
            hp_slope: s.get(P::HpSlope) as usize,
            hp_freq: log2(P::HpFreq),
            bands: [
                // A shelf has no Q: its q glide sits at 0 and is never read.
                BandTargets {
                    freq_log2: log2(P::LowShelfFreq),
                    gain_db: on(P::LowShelfOn, P::LowShelfGain),
                    q_log2: 0.0,
                },
                BandTargets {
                    freq_log2: log2(P::Bell1Freq),
                    gain_db: on(P::Bell1On, P::Bell1Gain),
                    q_log2: log2(P::Bell1Q),
                },
                BandTargets {
                    freq_log2: log2(P::Bell2Freq),
                    gain_db: on(P::Bell2On, P::Bell2Gain),
                    q_log2: log2(P::Bell2Q),
                },
                BandTargets {
                    freq_log2: log2(P::HighShelfFreq),
                    gain_db: on(P::HighShelfOn, P::HighShelfGain),
                    q_log2: 0.0,
                },
            ],
            comp: Comp {
                threshold_db: s.get(P::CompThreshold) as f64,
                ratio: s.get(P::CompRatio) as f64,
                attack_ms: s.get(P::CompAttack) as f64,
                release_ms: s.get(P::CompRelease) as f64,
                knee_db: s.get(P::CompKnee) as f64,
                makeup_db: s.get(P::CompMakeup) as f64,
                mix: on(P::CompOn, P::CompMix),
            },
            comp_linked: s.on(P::CompLink),
            deess: Deess {
                freq_log2: log2(P::DeessFreq),
                threshold_db: s.get(P::DeessThreshold) as f64,
                range_db: on(P::DeessOn, P::DeessRange),
            },
            pan: s.get(P::Pan) as f64,
            width: s.get(P::Width) as f64,
            out_gain_db: s.get(P::OutputGain) as f64,
            mute: if s.on(P::Mute) { 0.0 } else { 1.0 },
            bypass: if s.on(P::Bypass) { 1.0 } else { 0.0 },
        }
    }
}

/// One EQ band's targets.
#[derive(Clone, Copy, Debug, PartialEq)]
struct BandTargets {
    freq_log2: f64,
    /// 0 when the band is switched off.
    gain_db: f64,
    q_log2: f64,
}

/// The compressor's continuous settings by name: their targets (`Comp<f64>`, in each glide's
/// domain) and their glides (`Comp<Glide>`). Named fields, not an array: nothing can read the
/// makeup where it meant the mix.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Comp<T> {
    threshold_db: T,
    ratio: T,
    attack_ms: T,
    release_ms: T,
    knee_db: T,
    makeup_db: T,
    /// Dry/wet, 0..1; 0 when the compressor is switched off.
    mix: T,
}

impl Comp<Glide> {
    fn new(sample_rate: f32) -> Self {
        let g = |p| glide(p, sample_rate);
        Self {
            threshold_db: g(P::CompThreshold),
            ratio: g(P::CompRatio),
            attack_ms: g(P::CompAttack),
            release_ms: g(P::CompRelease),
            knee_db: g(P::CompKnee),
            makeup_db: g(P::CompMakeup),
            mix: g(P::CompMix),
        }
    }

    /// `f` on each glide with its target: the one place that pairs the fields.
    fn each(&mut self, t: &Comp<f64>, mut f: impl FnMut(&mut Glide, f64)) {
        f(&mut self.threshold_db, t.threshold_db);
        f(&mut self.ratio, t.ratio);
        f(&mut self.attack_ms, t.attack_ms);
        f(&mut self.release_ms, t.release_ms);
        f(&mut self.knee_db, t.knee_db);
        f(&mut self.makeup_db, t.makeup_db);
        f(&mut self.mix, t.mix);
    }

    fn params(&self, linked: bool) -> CompressorParams {
        CompressorParams {
            threshold_db: self.threshold_db.value(),
            ratio: self.ratio.value(),
            attack_ms: self.attack_ms.value(),
            release_ms: self.release_ms.value(),
            knee_db: self.knee_db.value(),
            linked,
        }
    }
}

/// The de-esser's settings by name, as [`Comp`] is for the compressor.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Deess<T> {
    freq_log2: T,
    threshold_db: T,
    /// Most reduction, dB; 0 when the de-esser is switched off.
    range_db: T,
}

impl Deess<Glide> {
    fn new(sample_rate: f32) -> Self {
        let g = |p| glide(p, sample_rate);
        Self { freq_log2: g(P::DeessFreq), threshold_db: g(P::DeessThreshold), range_db: g(P::DeessRange) }
    }

    /// `f` on each glide with its target.
    fn each(&mut self, t: &Deess<f64>, mut f: impl FnMut(&mut Glide, f64)) {
        f(&mut self.freq_log2, t.freq_log2);
        f(&mut self.threshold_db, t.threshold_db);
        f(&mut self.range_db, t.range_db);
    }
}

/// One EQ band: its glides and its filter.
#[derive(Clone, Copy, Debug)]
struct Band {
    kind: BandKind,
    freq: Glide,
    gain: Glide,
    q: Glide,
    filter: Biquad,
    active: bool,
}

impl Band {
    fn new(kind: BandKind, freq: P, gain: P, q: Option<P>, sample_rate: f32) -> Self {
        Self {
            kind,
            freq: glide(freq, sample_rate),
            gain: glide(gain, sample_rate),
            q: glide(q.unwrap_or(freq), sample_rate),
            filter: Biquad::default(),
            active: false,
        }
    }

    fn set_targets(&mut self, t: BandTargets) {
        self.freq.set_target(t.freq_log2);
        self.gain.set_target(t.gain_db);
        self.q.set_target(t.q_log2);
    }

    fn reset(&mut self, t: BandTargets, sample_rate: f64) {
        self.freq.reset(t.freq_log2);
        self.gain.reset(t.gain_db);
        self.q.reset(t.q_log2);
        self.filter.reset();
        self.update(sample_rate);
    }

    /// Recomputes coefficients and the active flag after the glides moved.
    fn update(&mut self, sample_rate: f64) {
        let active = !self.gain.is_at(0.0);
        if active {
            let (f, g, q) = (self.freq.value().exp2(), self.gain.value(), self.q.value().exp2());
            self.filter.set_coefs(band_coefs(self.kind, sample_rate, f, g, q));
        } else if self.active {
            self.filter.reset();
        }
        self.active = active;
    }

    /// One control tick; returns whether anything moved.
    fn tick(&mut self, sample_rate: f64) -> bool {
        let moved = self.freq.tick() | self.gain.tick() | self.q.tick();
        if moved {
            self.update(sample_rate);
        }
        moved
    }
}

/// Which stages run during the current control tick.
#[derive(Clone, Copy, Debug, Default)]
struct Active {
    hp: bool,
    hp_sections: usize,
    deess: bool,
    comp: bool,
    bypassed: bool,
}

/// The chain. Mono or stereo (a mono channel follows Invert Left); a third and later channels
/// are left untouched.
#[derive(Clone, Debug)]
pub struct Chain {
    sample_rate: f64,
    /// Position inside the current control tick, 0..CONTROL_INTERVAL.
    phase: usize,
    targets: Targets,

    in_gain: Glide,
    /// Left (or mono) and right polarity, +1 … −1.
    polarity: [Glide; 2],
    hp_freq: Glide,
    hp_level: Glide,
    /// Slope the high-pass is running at; a new slope waits until the section has faded out.
    hp_slope: usize,
    hp: [Biquad; 2],
    /// Low shelf, bell 1, bell 2, high shelf, in signal order.
    bands: [Band; 4],
    comp_glides: Comp<Glide>,
    compressor: Compressor,
    comp_linked: bool,
    deess_glides: Deess<Glide>,
    deesser: Deesser,
    pan: Glide,
    width: Glide,
    out_gain: Glide,
    mute: Glide,
    bypass: Glide,

    in_ramp: Ramp,
    polarity_ramps: [Ramp; 2],
    hp_ramp: Ramp,
    mix_ramp: Ramp,
    makeup_ramp: Ramp,
    pan_l_ramp: Ramp,
    pan_r_ramp: Ramp,
    width_ramp: Ramp,
    out_ramp: Ramp,
    bypass_ramp: Ramp,

    active: Active,
    /// Nothing is gliding and the targets have not changed since the last full control tick:
    /// the tick can skip straight to housekeeping. Most of the time a mix is static.
    quiet: bool,
    /// Times the chain met a non-finite internal value and reset itself.
    recoveries: u64,
}

impl Chain {
    /// A chain for `sample_rate`, at the default settings. Call [`Chain::reset`] with the real
    /// settings before processing.
    pub fn new(sample_rate: f32) -> Self {
        let sr = sample_rate;
        let comp_params = CompressorParams {
            threshold_db: -18.0,
            ratio: 3.0,
            knee_db: 6.0,
            attack_ms: 10.0,
            release_ms: 150.0,
            linked: true,
        };
        let mut chain = Self {
            sample_rate: sr as f64,
            phase: 0,
            targets: Targets::from(&Settings::default()),
            in_gain: glide(P::InputGain, sr),
            polarity: [glide(P::PolarityL, sr), glide(P::PolarityR, sr)],
            hp_freq: glide(P::HpFreq, sr),
            hp_level: glide(P::HpOn, sr),
            hp_slope: 0,
            hp: [Biquad::default(); 2],
            bands: [
                Band::new(BandKind::LowShelf, P::LowShelfFreq, P::LowShelfGain, None, sr),
                Band::new(BandKind::Bell, P::Bell1Freq, P::Bell1Gain, Some(P::Bell1Q), sr),
                Band::new(BandKind::Bell, P::Bell2Freq, P::Bell2Gain, Some(P::Bell2Q), sr),
                Band::new(BandKind::HighShelf, P::HighShelfFreq, P::HighShelfGain, None, sr),
            ],
            comp_glides: Comp::new(sr),
            compressor: Compressor::new(sr as f64, comp_params),
            comp_linked: true,
            deess_glides: Deess::new(sr),
            deesser: Deesser::new(sr as f64),
            pan: glide(P::Pan, sr),
            width: glide(P::Width, sr),
            out_gain: glide(P::OutputGain, sr),
            mute: glide(P::Mute, sr),
            bypass: glide(P::Bypass, sr),
            in_ramp: Ramp::default(),
            polarity_ramps: [Ramp::default(); 2],
            hp_ramp: Ramp::default(),
            mix_ramp: Ramp::default(),
            makeup_ramp: Ramp::default(),
            pan_l_ramp: Ramp::default(),
            pan_r_ramp: Ramp::default(),
            width_ramp: Ramp::default(),
            out_ramp: Ramp::default(),
            bypass_ramp: Ramp::default(),
            active: Active::default(),
            quiet: false,
            recoveries: 0,
        };
        chain.reset(&Settings::default());
        chain
    }

    /// Sample rate the chain was built for.
    pub fn sample_rate(&self) -> f32 {
        self.sample_rate as f32
    }

    /// Clears all state and jumps every glide to `settings` (no smoothing), as after a
    /// transport reset or when a host activates the plugin.
    pub fn reset(&mut self, settings: &Settings) {
        let t = Targets::from(settings);
        let sr = self.sample_rate;
        self.targets = t;
        self.quiet = false;
        self.phase = 0;
        self.in_gain.reset(t.in_gain_db);
        for (g, p) in self.polarity.iter_mut().zip(t.polarity) {
            g.reset(p);
        }
        self.hp_freq.reset(t.hp_freq);
        self.hp_slope = t.hp_slope;
        self.hp_level.reset(if t.hp_on { 1.0 } else { 0.0 });
        for (band, targets) in self.bands.iter_mut().zip(t.bands) {
            band.reset(targets, sr);
        }
        self.comp_glides.each(&t.comp, |g, v| g.reset(v));
        self.deess_glides.each(&t.deess, |g, v| g.reset(v));
        self.pan.reset(t.pan);
        self.width.reset(t.width);
        self.out_gain.reset(t.out_gain_db);
        self.mute.reset(t.mute);
        self.bypass.reset(t.bypass);
        self.comp_linked = t.comp_linked;
        self.clear_state();
        self.update_hp_coefs();
        self.update_compressor();
        self.update_deesser();
        self.update_active();
        self.in_ramp.reset(db_to_gain(t.in_gain_db));
        for (r, p) in self.polarity_ramps.iter_mut().zip(t.polarity) {
            r.reset(p);
        }
        self.hp_ramp.reset(self.hp_level.value());
        self.mix_ramp.reset(self.comp_glides.mix.value());
        self.makeup_ramp.reset(db_to_gain(self.comp_glides.makeup_db.value()));
        let (l, r) = pan_gains(t.pan);
        self.pan_l_ramp.reset(l);
        self.pan_r_ramp.reset(r);
        self.width_ramp.reset(t.width);
        self.out_ramp.reset(db_to_gain(t.out_gain_db) * t.mute);
        self.bypass_ramp.reset(t.bypass);
    }

    /// Processes `channels` in place with `settings` as the new targets. Any block length,
    /// including 0; the result does not depend on how a stream is cut into blocks.
    pub fn process(&mut self, channels: &mut [&mut [f32]], settings: &Settings) {
        let targets = Targets::from(settings);
        if targets != self.targets {
            self.targets = targets;
            self.quiet = false;
        }
        match channels.len() {
            0 => {}
            1 => self.process_n::<1>(channels),
            _ => self.process_n::<2>(channels),
        }
    }

    /// Current compressor gain reduction, dB (≥ 0), for meters.
    pub fn gain_reduction_db(&self) -> f32 {
        if self.active.comp {
            self.compressor.gain_reduction_db() as f32
        } else {
            0.0
        }
    }

    /// Current de-esser reduction of the sibilance band, dB (≥ 0).
    pub fn deess_reduction_db(&self) -> f32 {
        if self.active.deess {
            self.deesser.reduction_db() as f32
        } else {
            0.0
        }
    }

    /// How many times a non-finite internal value forced a reset (0 in normal use).
    pub fn recoveries(&self) -> u64 {
        self.recoveries
    }

    /// Samples of latency the chain adds: none.
    pub const LATENCY_SAMPLES: u32 = 0;

    fn clear_state(&mut self) {
        for f in &mut self.hp {
            f.reset();
        }
        for b in &mut self.bands {
            b.filter.reset();
        }
        self.compressor.reset();
        self.deesser.reset();
    }

    fn update_hp_coefs(&mut self) {
        let sections = high_pass_sections(self.sample_rate, self.hp_freq.value().exp2(), self.hp_slope);
        for (filter, coefs) in self.hp.iter_mut().zip(sections) {
            filter.set_coefs(coefs);
        }
    }

    fn update_compressor(&mut self) {
        self.compressor.set_params(self.sample_rate, self.comp_glides.params(self.comp_linked));
    }

    fn update_deesser(&mut self) {
        let g = &self.deess_glides;
        self.deesser.set_params(
            self.sample_rate,
            g.freq_log2.value().exp2(),
            g.threshold_db.value(),
            g.range_db.value(),
        );
    }

    fn update_active(&mut self) {
        let was = self.active;
        let bypassed = self.bypass.is_at(1.0);
        self.active = Active {
            hp: !self.hp_level.is_at(0.0),
            hp_sections: if self.hp_slope == 0 { 1 } else { 2 },
            deess: !self.deess_glides.range_db.is_at(0.0),
            comp: !self.comp_glides.mix.is_at(0.0),
            bypassed,
        };
        if bypassed && !was.bypassed {
            // Resume from silence when bypass is released, not from stale state.
            self.clear_state();
        }
        if was.hp && !self.active.hp {
            self.hp.iter_mut().for_each(Biquad::reset);
        }
        if was.comp && !self.active.comp {
            self.compressor.reset();
        }
        if was.deess && !self.active.deess {
            self.deesser.reset();
        }
    }

    /// Advances every glide one control tick, recomputes what moved, and sets the per-sample
    /// ramps for the next `CONTROL_INTERVAL` samples.
    fn control_tick(&mut self) {
        if self.quiet {
            if !self.tidy_state() {
                self.recover();
            }
            return;
        }
        let t = self.targets;
        let sr = self.sample_rate;
        let mut moved = false;

        self.in_gain.set_target(t.in_gain_db);
        if self.in_gain.tick() {
            moved = true;
            self.in_ramp.retarget(db_to_gain(self.in_gain.value()));
        } else {
            self.in_ramp.hold();
        }
        for ((g, r), p) in self.polarity.iter_mut().zip(&mut self.polarity_ramps).zip(t.polarity) {
            g.set_target(p);
            if g.tick() {
                moved = true;
                r.retarget(g.value());
            } else {
                r.hold();
            }
        }

        // High-pass: a slope change fades the section out, switches, and fades back in.
        if self.hp_level.is_at(0.0) && t.hp_slope != self.hp_slope {
            self.hp_slope = t.hp_slope;
            self.hp.iter_mut().for_each(Biquad::reset);
            self.update_hp_coefs();
        }
        self.hp_level.set_target(if t.hp_on && t.hp_slope == self.hp_slope { 1.0 } else { 0.0 });
        self.hp_freq.set_target(t.hp_freq);
        moved |= self.hp_level.tick();
        if self.hp_freq.tick() {
            moved = true;
            self.update_hp_coefs();
        }
        self.hp_ramp.retarget(self.hp_level.value());

        for (band, targets) in self.bands.iter_mut().zip(t.bands) {
            band.set_targets(targets);
            moved |= band.tick(sr);
        }

        let mut comp_moved = self.comp_linked != t.comp_linked;
        self.comp_linked = t.comp_linked;
        self.comp_glides.each(&t.comp, |g, v| {
            g.set_target(v);
            comp_moved |= g.tick();
        });
        if comp_moved {
            moved = true;
            self.update_compressor();
        }
        self.mix_ramp.retarget(self.comp_glides.mix.value());
        self.makeup_ramp.retarget(db_to_gain(self.comp_glides.makeup_db.value()));

        let mut deess_moved = false;
        self.deess_glides.each(&t.deess, |g, v| {
            g.set_target(v);
            deess_moved |= g.tick();
        });
        if deess_moved {
            moved = true;
            self.update_deesser();
        }

        self.pan.set_target(t.pan);
        if self.pan.tick() {
            moved = true;
            let (l, r) = pan_gains(self.pan.value());
            self.pan_l_ramp.retarget(l);
            self.pan_r_ramp.retarget(r);
        } else {
            self.pan_l_ramp.hold();
            self.pan_r_ramp.hold();
        }
        self.width.set_target(t.width);
        moved |= self.width.tick();
        self.width_ramp.retarget(self.width.value());

        self.out_gain.set_target(t.out_gain_db);
        self.mute.set_target(t.mute);
        let out_moved = self.out_gain.tick() | self.mute.tick();
        if out_moved {
            moved = true;
            self.out_ramp.retarget(db_to_gain(self.out_gain.value()) * self.mute.value());
        } else {
            self.out_ramp.hold();
        }
        self.bypass.set_target(t.bypass);
        moved |= self.bypass.tick();
        self.bypass_ramp.retarget(self.bypass.value());

        if !self.tidy_state() {
            self.recover();
        }
        self.update_active();
        // A tick where nothing moved has just flattened every ramp: until the targets change,
        // later ticks have nothing to do but housekeeping.
        self.quiet = !moved;
    }

    /// Flushes near-zero filter state; false if any state is not finite.
    fn tidy_state(&mut self) -> bool {
        let mut finite = true;
        for f in &mut self.hp {
            finite &= f.tidy();
        }
        for band in &mut self.bands {
            finite &= band.filter.tidy();
        }
        self.compressor.tidy();
        finite & self.deesser.tidy() & self.compressor.is_finite()
    }

    /// A non-finite value got into the state (only possible with pathological settings or a
    /// bug): clear everything and carry on rather than output NaN forever.
    fn recover(&mut self) {
        self.clear_state();
        self.recoveries += 1;
    }

    fn process_n<const N: usize>(&mut self, channels: &mut [&mut [f32]]) {
        let len = channels.iter().take(N).map(|c| c.len()).min().unwrap_or(0);
        let mut pos = 0;
        while pos < len {
            if self.phase == 0 {
                self.control_tick();
            }
            let seg = (CONTROL_INTERVAL - self.phase).min(len - pos);
            if !self.active.bypassed {
                let range = pos..pos + seg;
                let finite = if N == 1 {
                    self.segment_mono(&mut channels[0][range])
                } else {
                    let (left, right) = channels.split_at_mut(1);
                    self.segment_stereo(&mut left[0][range.clone()], &mut right[0][range])
                };
                if !finite {
                    self.recover();
                }
            }
            self.phase = (self.phase + seg) % CONTROL_INTERVAL;
            pos += seg;
        }
    }

    /// Runs one segment (within one control tick) of a mono stream; false if any output was
    /// not finite (it is written as 0).
    fn segment_mono(&mut self, samples: &mut [f32]) -> bool {
        let mut frames = [[0.0; 1]; CONTROL_INTERVAL];
        for (f, s) in frames.iter_mut().zip(samples.iter()) {
            *f = [sanitize(*s)];
        }
        let n = samples.len();
        self.stages::<1>(&mut frames[..n]);
        let mut finite = true;
        for (s, [y]) in samples.iter_mut().zip(frames) {
            let v = y as f32;
            finite &= v.is_finite();
            *s = if v.is_finite() { v } else { 0.0 };
        }
        finite
    }

    /// As [`Chain::segment_mono`], for a stereo pair.
    fn segment_stereo(&mut self, left: &mut [f32], right: &mut [f32]) -> bool {
        let mut frames = [[0.0; 2]; CONTROL_INTERVAL];
        for (f, (l, r)) in frames.iter_mut().zip(left.iter().zip(right.iter())) {
            *f = [sanitize(*l), sanitize(*r)];
        }
        let n = left.len().min(right.len());
        self.stages::<2>(&mut frames[..n]);
        let mut finite = true;
        for ((l, r), [yl, yr]) in left.iter_mut().zip(right.iter_mut()).zip(frames) {
            let (vl, vr) = (yl as f32, yr as f32);
            let ok = vl.is_finite() & vr.is_finite();
            finite &= ok;
            *l = if ok { vl } else { 0.0 };
            *r = if ok { vr } else { 0.0 };
        }
        finite
    }

    /// Every active stage over the frames of one segment (at most one control tick long),
    /// stage after stage: each stage's state stays in registers through its loop, and work
    /// that does not depend on the previous frame (the dynamics' logs and exps) overlaps.
    #[inline(always)]
    fn stages<const N: usize>(&mut self, frames: &mut [[f64; N]]) {
        let a = self.active;
        let mut dry = [[0.0; N]; CONTROL_INTERVAL];
        dry[..frames.len()].copy_from_slice(frames);

        for f in frames.iter_mut() {
            let g = self.in_ramp.advance();
            for (v, r) in f.iter_mut().zip(&mut self.polarity_ramps) {
                *v *= g * r.advance();
            }
        }
        if a.hp {
            for f in frames.iter_mut() {
                let level = self.hp_ramp.advance();
                let mut y = self.hp[0].tick_frame(*f);
                if a.hp_sections == 2 {
                    y = self.hp[1].tick_frame(y);
                }
                for ch in 0..N {
                    f[ch] += level * (y[ch] - f[ch]);
                }
            }
        }
        for band in &mut self.bands {
            if band.active {
                for f in frames.iter_mut() {
                    *f = band.filter.tick_frame(*f);
                }
            }
        }
        if a.deess {
            self.deesser.process(frames);
        }
        if a.comp {
            let mut gains = [[1.0; N]; CONTROL_INTERVAL];
            self.compressor.gains(frames, &mut gains);
            for (f, g) in frames.iter_mut().zip(gains) {
                let mix = self.mix_ramp.advance();
                let makeup = self.makeup_ramp.advance();
                for ch in 0..N {
                    let wet = f[ch] * g[ch] * makeup;
                    f[ch] += mix * (wet - f[ch]);
                }
            }
        }
        for (f, d) in frames.iter_mut().zip(dry) {
            if N == 2 {
                let (l, r) = apply_width(f[0], f[N - 1], self.width_ramp.advance());
                f[0] = l * self.pan_l_ramp.advance();
                f[N - 1] = r * self.pan_r_ramp.advance();
            }
            let g_out = self.out_ramp.advance();
            let b = self.bypass_ramp.advance();
            for ch in 0..N {
                f[ch] *= g_out;
                f[ch] += b * (d[ch] - f[ch]);
            }
        }
    }
}
