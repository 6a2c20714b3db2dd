//! Host-visible parameters, built from the parameter table in [`audiocollab_core::spec`].
//!
//! Names, ranges, defaults, units, formatters and parsers all come from the table; this file
//! only lays the parameters out in groups for the host and maps them back to a
//! [`Settings`] snapshot. The `#[id]` strings are frozen (`tests/param_ids.rs` checks them
//! against the table and a golden list).
//!
//! Smoothing: nice-plug's per-parameter smoothers are deliberately not used. Every parameter is
//! smoothed inside [`audiocollab_core::dsp::Chain`] with the time given in the table, on a control grid that
//! is independent of the host's block size, so the plugin, the CLI and the tests render the
//! same samples for the same settings.

use crate::panel::ChatLog;
use crate::prefs::Prefs;
use audiocollab_core::spec::{Kind, ParamId, Scale, Settings, NUM_PARAMS};
use nice_plug::prelude::*;
use std::sync::{Arc, RwLock};

/// High-pass slope, host-visible as a choice.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum HpSlope {
    /// Second-order Butterworth.
    #[id = "12"]
    #[name = "12 dB/oct"]
    Db12,
    /// Fourth-order Butterworth.
    #[id = "24"]
    #[name = "24 dB/oct"]
    Db24,
}

/// A float parameter from its table row.
fn float(p: ParamId) -> FloatParam {
    let spec = p.spec();
    let Kind::Float { min, max, scale } = spec.kind else {
        unreachable!("{} is not a float parameter in the table", spec.id)
    };
    let range = match (scale, spec.skew_factor()) {
        (Scale::Skewed { .. }, Some(factor)) => FloatRange::Skewed { min, max, factor },
        _ => FloatRange::Linear { min, max },
    };
    FloatParam::new(spec.name, spec.default, range)
        .with_unit(spec.unit)
        .with_value_to_string(Arc::new(move |v| spec.format_without_unit(v)))
        .with_string_to_value(Arc::new(move |s| spec.parse(s).ok()))
}

/// A toggle from its table row.
fn toggle(p: ParamId) -> BoolParam {
    let spec = p.spec();
    BoolParam::new(spec.name, spec.default >= 0.5)
        .with_value_to_string(Arc::new(move |v| spec.format(if v { 1.0 } else { 0.0 })))
        .with_string_to_value(Arc::new(move |s| spec.parse(s).ok().map(|v| v >= 0.5)))
}

/// Input group.
#[derive(Params)]
pub struct InputParams {
    /// Input trim, dB.
    #[id = "in_gain"]
    pub gain: FloatParam,
}

/// High-pass and EQ group.
#[derive(Params)]
#[allow(missing_docs)] // Each field is documented by its table row in `spec.rs`.
pub struct EqParams {
    #[id = "hp_on"]
    pub hp_on: BoolParam,
    #[id = "hp_freq"]
    pub hp_freq: FloatParam,
    #[id = "hp_slope"]
    pub hp_slope: EnumParam<HpSlope>,
    #[id = "ls_on"]
    pub ls_on: BoolParam,
    #[id = "ls_freq"]
    pub ls_freq: FloatParam,
    #[id = "ls_gain"]
    pub ls_gain: FloatParam,
    #[id = "b1_on"]
    pub b1_on: BoolParam,
    #[id = "b1_freq"]
    pub b1_freq: FloatParam,
    #[id = "b1_gain"]
    pub b1_gain: FloatParam,
    #[id = "b1_q"]
    pub b1_q: FloatParam,
    #[id = "b2_on"]
    pub b2_on: BoolParam,
    #[id = "b2_freq"]
    pub b2_freq: FloatParam,
    #[id = "b2_gain"]
    pub b2_gain: FloatParam,
    #[id = "b2_q"]
    pub b2_q: FloatParam,
    #[id = "hs_on"]
    pub hs_on: BoolParam,
    #[id = "hs_freq"]
    pub hs_freq: FloatParam,
    #[id = "hs_gain"]
    pub hs_gain: FloatParam,
}

/// Compressor and de-esser group.
#[derive(Params)]
#[allow(missing_docs)]
pub struct DynamicsParams {
    #[id = "cmp_on"]
    pub cmp_on: BoolParam,
    #[id = "cmp_thr"]
    pub cmp_thr: FloatParam,
    #[id = "cmp_ratio"]
    pub cmp_ratio: FloatParam,
    #[id = "cmp_att"]
    pub cmp_att: FloatParam,
    #[id = "cmp_rel"]
    pub cmp_rel: FloatParam,
    #[id = "cmp_knee"]
    pub cmp_knee: FloatParam,
    #[id = "cmp_mkup"]
    pub cmp_mkup: FloatParam,
    #[id = "cmp_mix"]
    pub cmp_mix: FloatParam,
    #[id = "cmp_link"]
    pub cmp_link: BoolParam,
    #[id = "ds_on"]
    pub ds_on: BoolParam,
    #[id = "ds_freq"]
    pub ds_freq: FloatParam,
    #[id = "ds_thr"]
    pub ds_thr: FloatParam,
    #[id = "ds_range"]
    pub ds_range: FloatParam,
}

/// Pan and width group.
#[derive(Params)]
#[allow(missing_docs)]
pub struct StereoParams {
    #[id = "pan"]
    pub pan: FloatParam,
    #[id = "width"]
    pub width: FloatParam,
}

/// Output group.
#[derive(Params)]
#[allow(missing_docs)]
pub struct OutputParams {
    #[id = "out_gain"]
    pub gain: FloatParam,
    /// The host's bypass switch (`make_bypass`): crossfades to the untouched input.
    #[id = "bypass"]
    pub bypass: BoolParam,
    #[id = "mute"]
    pub mute: BoolParam,
}

/// The channels' polarity. In the Stereo group, but a struct of its own after the output
/// group: host-visible parameters keep the table's order, and these were appended to it.
#[derive(Params)]
#[allow(missing_docs)]
pub struct PolarityParams {
    #[id = "polarity_l"]
    pub invert_left: BoolParam,
    #[id = "polarity_r"]
    pub invert_right: BoolParam,
}

/// Every parameter, grouped as the editor and the host show them.
#[derive(Params)]
pub struct AudioCollabParams {
    /// Input trim.
    #[nested(group = "Input")]
    pub input: InputParams,
    /// High-pass and EQ.
    #[nested(group = "EQ")]
    pub eq: EqParams,
    /// Compressor and de-esser.
    #[nested(group = "Dynamics")]
    pub dynamics: DynamicsParams,
    /// Pan and width.
    #[nested(group = "Stereo")]
    pub stereo: StereoParams,
    /// Output gain, bypass, mute.
    #[nested(group = "Output")]
    pub output: OutputParams,
    /// Invert left, invert right.
    #[nested(group = "Stereo")]
    pub polarity: PolarityParams,
    /// The conversation with the assistant, saved with the project: words, answers, cards
    /// and their states. Never an API key. Read back as untrusted data (each card's change is
    /// checked again as it loads, as a reply's is).
    #[persist = "chat"]
    pub chat: Arc<RwLock<ChatLog>>,
    /// The musician's preferences for this project: answer language, genre and platform
    /// targets, auto-apply. Never an API key. Read back sanitised.
    #[persist = "prefs"]
    pub prefs: Arc<RwLock<Prefs>>,
}

impl Default for AudioCollabParams {
    fn default() -> Self {
        use ParamId as P;
        let slope_default = HpSlope::from_index(P::HpSlope.spec().default as usize);
        Self {
            input: InputParams { gain: float(P::InputGain) },
            eq: EqParams {
                hp_on: toggle(P::HpOn),
                hp_freq: float(P::HpFreq),
                hp_slope: EnumParam::new(P::HpSlope.spec().name, slope_default),
                ls_on: toggle(P::LowShelfOn),
                ls_freq: float(P::LowShelfFreq),
                ls_gain: float(P::LowShelfGain),
                b1_on: toggle(P::Bell1On),
                b1_freq: float(P::Bell1Freq),
                b1_gain: float(P::Bell1Gain),
                b1_q: float(P::Bell1Q),
                b2_on: toggle(P::Bell2On),
                b2_freq: float(P::Bell2Freq),
                b2_gain: float(P::Bell2Gain),
                b2_q: float(P::Bell2Q),
                hs_on: toggle(P::HighShelfOn),
                hs_freq: float(P::HighShelfFreq),
                hs_gain: float(P::HighShelfGain),
            },
            dynamics: DynamicsParams {
                cmp_on: toggle(P::CompOn),
                cmp_thr: float(P::CompThreshold),
                cmp_ratio: float(P::CompRatio),
                cmp_att: float(P::CompAttack),
                cmp_rel: float(P::CompRelease),
                cmp_knee: float(P::CompKnee),
                cmp_mkup: float(P::CompMakeup),
                cmp_mix: float(P::CompMix),
                cmp_link: toggle(P::CompLink),
                ds_on: toggle(P::DeessOn),
                ds_freq: float(P::DeessFreq),
                ds_thr: float(P::DeessThreshold),
                ds_range: float(P::DeessRange),
            },
            stereo: StereoParams { pan: float(P::Pan), width: float(P::Width) },
            output: OutputParams {
                gain: float(P::OutputGain),
                bypass: toggle(P::Bypass).make_bypass(),
                mute: toggle(P::Mute),
            },
            polarity: PolarityParams { invert_left: toggle(P::PolarityL), invert_right: toggle(P::PolarityR) },
            chat: Arc::default(),
            prefs: Arc::default(),
        }
    }
}

/// A borrowed parameter of any kind, addressed by [`ParamId`].
#[derive(Clone, Copy)]
pub enum ParamRef<'a> {
    /// Continuous.
    Float(&'a FloatParam),
    /// On/off.
    Toggle(&'a BoolParam),
    /// High-pass slope.
    Slope(&'a EnumParam<HpSlope>),
}

impl ParamRef<'_> {
    /// Current plain value in the table's units (toggles 0/1, choices their index).
    #[inline]
    pub fn plain(&self) -> f32 {
        match self {
            ParamRef::Float(p) => p.value(),
            ParamRef::Toggle(p) => {
                if p.value() {
                    1.0
                } else {
                    0.0
                }
            }
            ParamRef::Slope(p) => p.value().to_index() as f32,
        }
    }
}

impl AudioCollabParams {
    /// The parameter with this id.
    pub fn get(&self, id: ParamId) -> ParamRef<'_> {
        use ParamId as P;
        use ParamRef::{Float as F, Toggle as T};
        let (e, d) = (&self.eq, &self.dynamics);
        match id {
            P::InputGain => F(&self.input.gain),
            P::HpOn => T(&e.hp_on),
            P::HpFreq => F(&e.hp_freq),
            P::HpSlope => ParamRef::Slope(&e.hp_slope),
            P::LowShelfOn => T(&e.ls_on),
            P::LowShelfFreq => F(&e.ls_freq),
            P::LowShelfGain => F(&e.ls_gain),
            P::Bell1On => T(&e.b1_on),
            P::Bell1Freq => F(&e.b1_freq),
            P::Bell1Gain => F(&e.b1_gain),
            P::Bell1Q => F(&e.b1_q),
            P::Bell2On => T(&e.b2_on),
            P::Bell2Freq => F(&e.b2_freq),
            P::Bell2Gain => F(&e.b2_gain),
            P::Bell2Q => F(&e.b2_q),
            P::HighShelfOn => T(&e.hs_on),
            P::HighShelfFreq => F(&e.hs_freq),
            P::HighShelfGain => F(&e.hs_gain),
            P::CompOn => T(&d.cmp_on),
            P::CompThreshold => F(&d.cmp_thr),
            P::CompRatio => F(&d.cmp_ratio),
            P::CompAttack => F(&d.cmp_att),
            P::CompRelease => F(&d.cmp_rel),
            P::CompKnee => F(&d.cmp_knee),
            P::CompMakeup => F(&d.cmp_mkup),
            P::CompMix => F(&d.cmp_mix),
            P::CompLink => T(&d.cmp_link),
            P::DeessOn => T(&d.ds_on),
            P::DeessFreq => F(&d.ds_freq),
            P::DeessThreshold => F(&d.ds_thr),
            P::DeessRange => F(&d.ds_range),
            P::Pan => F(&self.stereo.pan),
            P::Width => F(&self.stereo.width),
            P::OutputGain => F(&self.output.gain),
            P::Bypass => T(&self.output.bypass),
            P::Mute => T(&self.output.mute),
            P::PolarityL => T(&self.polarity.invert_left),
            P::PolarityR => T(&self.polarity.invert_right),
        }
    }

    /// The current values as a DSP snapshot. Allocation-free; called once per block.
    pub fn settings(&self) -> Settings {
        let mut s = Settings::default();
        for id in ParamId::ALL {
            s.set(id, self.get(id).plain());
        }
        s
    }
}

const _: () = assert!(NUM_PARAMS == 38, "a parameter was added: give it a field and a match arm");
