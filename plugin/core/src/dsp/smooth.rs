//! Parameter smoothing on a fixed control grid.
//!
//! Every parameter glides to a new value in its `smoothing_ms` (from the parameter table). The
//! glide advances once per control tick of [`CONTROL_INTERVAL`] samples, counted from the start
//! of the stream rather than of the host's block, so the output does not depend on how the host
//! cuts the audio into blocks. Gains are then interpolated per sample between ticks with
//! [`Ramp`], so a fade never steps.

/// Samples per control tick: 0.33 ms at 48 kHz. Filter coefficients are recomputed at most
/// this often, and only while a glide is moving.
pub const CONTROL_INTERVAL: usize = 16;

/// A linear glide, advanced one control tick at a time. It reaches its target exactly after
/// its duration, so "settled" is an exact test and settled stages can be skipped.
#[derive(Clone, Copy, Debug)]
pub struct Glide {
    value: f64,
    target: f64,
    step: f64,
    ticks_left: u32,
    ticks_per_glide: u32,
}

impl Glide {
    /// A glide lasting `ms` at `sample_rate`, starting settled at `value`.
    pub fn new(ms: f32, sample_rate: f32, value: f64) -> Self {
        let ticks = (ms as f64 * 1e-3 * sample_rate as f64 / CONTROL_INTERVAL as f64).round();
        Self { value, target: value, step: 0.0, ticks_left: 0, ticks_per_glide: ticks.max(1.0) as u32 }
    }

    /// Jumps to `value` with no glide.
    pub fn reset(&mut self, value: f64) {
        self.value = value;
        self.target = value;
        self.ticks_left = 0;
    }

    /// Starts gliding towards `target` (from wherever it is now) unless it is the target
    /// already.
    #[inline]
    pub fn set_target(&mut self, target: f64) {
        if target != self.target {
            self.target = target;
            self.ticks_left = self.ticks_per_glide;
            self.step = (target - self.value) / self.ticks_per_glide as f64;
        }
    }

    /// Advances one control tick; returns whether the value changed.
    #[inline]
    pub fn tick(&mut self) -> bool {
        if self.ticks_left == 0 {
            return false;
        }
        self.ticks_left -= 1;
        self.value = if self.ticks_left == 0 { self.target } else { self.value + self.step };
        true
    }

    /// Current value.
    #[inline]
    pub fn value(&self) -> f64 {
        self.value
    }

    /// Whether the glide has reached its target.
    #[inline]
    pub fn is_settled(&self) -> bool {
        self.ticks_left == 0
    }

    /// Settled at exactly `v`.
    #[inline]
    pub fn is_at(&self, v: f64) -> bool {
        self.ticks_left == 0 && self.value == v
    }
}

/// A per-sample linear ramp between control-tick values, for gains.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ramp {
    value: f64,
    inc: f64,
    end: f64,
}

impl Ramp {
    /// Jumps to `v`.
    pub fn reset(&mut self, v: f64) {
        *self = Self { value: v, inc: 0.0, end: v };
    }

    /// At a tick boundary: ramp from the previous tick's value to `end` over the next tick.
    #[inline]
    pub fn retarget(&mut self, end: f64) {
        self.value = self.end;
        self.inc = (end - self.end) * (1.0 / CONTROL_INTERVAL as f64);
        self.end = end;
    }

    /// At a tick boundary when nothing moved: stay at the last value.
    #[inline]
    pub fn hold(&mut self) {
        self.value = self.end;
        self.inc = 0.0;
    }

    /// The value for this sample, then step.
    #[inline(always)]
    pub fn advance(&mut self) -> f64 {
        let v = self.value;
        self.value += self.inc;
        v
    }

    /// Whether the ramp is flat at `v`.
    #[inline]
    pub fn is_flat_at(&self, v: f64) -> bool {
        self.inc == 0.0 && self.value == v && self.end == v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glide_takes_its_duration_and_lands_exactly() {
        // 20 ms at 48 kHz = 960 samples = 60 ticks.
        let mut g = Glide::new(20.0, 48_000.0, 0.0);
        g.set_target(-12.0);
        let mut ticks = 0;
        while g.tick() {
            ticks += 1;
        }
        assert_eq!(ticks, 60);
        assert_eq!(g.value(), -12.0);
        assert!(g.is_at(-12.0));
    }

    #[test]
    fn ramp_interpolates_between_ticks() {
        let mut r = Ramp::default();
        r.reset(1.0);
        r.retarget(2.0);
        let v: Vec<f64> = (0..CONTROL_INTERVAL).map(|_| r.advance()).collect();
        assert_eq!(v[0], 1.0);
        assert!((v[8] - 1.5).abs() < 1e-12);
        r.retarget(2.0);
        assert!((r.advance() - 2.0).abs() < 1e-12);
    }
}
