//! The parameter table: ids, names, units, ranges, defaults and smoothing times.
//!
//! This is the one place where a parameter is defined. The plugin's host-visible parameters
//! (`params.rs`), the DSP [`Settings`] snapshot, the CLI's `--set id=value`, the GUI and (later)
//! the assistant's validator all read their ranges from here, so a range can never disagree
//! between two of them. Nothing here depends on the plugin framework.
//!
//! **Ids are a frozen public API**: hosts store automation and presets by id. Never rename one;
//! `tests/param_ids.rs` compares them with a golden list.

use crate::lang::Lang;
use crate::text;
use crate::untrusted::excerpt;
use std::fmt;

/// Every parameter, in display order. The discriminant indexes [`PARAMS`] and [`Settings`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(usize)]
#[allow(missing_docs)] // The names say it; `PARAMS` documents each one.
pub enum ParamId {
    InputGain,
    HpOn,
    HpFreq,
    HpSlope,
    LowShelfOn,
    LowShelfFreq,
    LowShelfGain,
    Bell1On,
    Bell1Freq,
    Bell1Gain,
    Bell1Q,
    Bell2On,
    Bell2Freq,
    Bell2Gain,
    Bell2Q,
    HighShelfOn,
    HighShelfFreq,
    HighShelfGain,
    CompOn,
    CompThreshold,
    CompRatio,
    CompAttack,
    CompRelease,
    CompKnee,
    CompMakeup,
    CompMix,
    CompLink,
    DeessOn,
    DeessFreq,
    DeessThreshold,
    DeessRange,
    Pan,
    Width,
    OutputGain,
    Bypass,
    Mute,
    PolarityL,
    PolarityR,
}

/// Number of parameters.
pub const NUM_PARAMS: usize = ParamId::PolarityR as usize + 1;

impl ParamId {
    /// All ids in table order.
    pub const ALL: [ParamId; NUM_PARAMS] = {
        let mut all = [ParamId::InputGain; NUM_PARAMS];
        let mut i = 0;
        while i < NUM_PARAMS {
            all[i] = PARAMS[i].param;
            i += 1;
        }
        all
    };

    /// This parameter's row in the table.
    pub fn spec(self) -> &'static ParamSpec {
        &PARAMS[self as usize]
    }

    /// Looks a parameter up by its frozen string id (`"hp_freq"`).
    pub fn from_id(id: &str) -> Option<ParamId> {
        PARAMS.iter().find(|p| p.id == id).map(|p| p.param)
    }
}

/// Where a parameter sits in the editor and in reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// Input trim.
    Input,
    /// High-pass and the four EQ bands.
    Eq,
    /// Compressor and de-esser.
    Dynamics,
    /// Pan, width and the channels' polarity.
    Stereo,
    /// Output gain, bypass, mute.
    Output,
}

impl Group {
    /// Display name.
    pub fn label(self) -> &'static str {
        match self {
            Group::Input => "Input",
            Group::Eq => "EQ",
            Group::Dynamics => "Dynamics",
            Group::Stereo => "Stereo",
            Group::Output => "Output",
        }
    }
}

/// How a float parameter maps onto a knob or a host's 0..1 range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scale {
    /// Evenly spread.
    Linear,
    /// Power-law skew so that `center` sits in the middle of the control (frequencies, times,
    /// ratios, Q): `normalized = ((v - min) / (max - min))^factor`.
    Skewed {
        /// Plain value at the middle of the control.
        center: f32,
    },
}

/// What kind of value a parameter holds. Toggles are 0.0/1.0 and choices are indices in
/// [`Settings`], so the whole snapshot is one `[f32; N]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// A continuous value in plain units.
    Float {
        /// Smallest plain value.
        min: f32,
        /// Largest plain value.
        max: f32,
        /// Control mapping.
        scale: Scale,
    },
    /// On/off.
    Toggle,
    /// One of a few named options.
    Choice(&'static [&'static str]),
}

/// Display/parse format of a float parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `-3.0 dB`
    Decibels,
    /// `120 Hz`, `2.50 kHz`
    Hertz,
    /// `10.0 ms`
    Milliseconds,
    /// `4.0:1`
    Ratio,
    /// `0.71`
    Plain,
    /// `75 %` for a plain value of 0.75.
    Percent,
    /// `L30`, `C`, `R100` for −0.3, 0, 1.
    Pan,
    /// Used by toggles and choices.
    Label,
}

/// One row of the parameter table.
#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    /// Enum key.
    pub param: ParamId,
    /// Frozen host-visible id. Never rename.
    pub id: &'static str,
    /// Host-visible name.
    pub name: &'static str,
    /// Editor group.
    pub group: Group,
    /// Value kind and range.
    pub kind: Kind,
    /// Default plain value.
    pub default: f32,
    /// Unit suffix shown by hosts (`" dB"`), empty when the formatter says it.
    pub unit: &'static str,
    /// Text format.
    pub format: Format,
    /// Time the DSP takes to glide to a new value, in milliseconds. Toggles and choices use
    /// it for their crossfade. See `dsp::smooth`.
    pub smoothing_ms: f32,
}

/// Frequency range of the EQ bells, also used by the spectrum display and validator.
pub const fn audio_band_hz() -> (f32, f32) {
    (20.0, 20_000.0)
}

/// Gain range of every EQ band, in dB.
pub const EQ_GAIN_DB: (f32, f32) = (-18.0, 18.0);
/// Range of the input and output gain, in dB.
pub const TRIM_DB: (f32, f32) = (-24.0, 24.0);
/// Options of [`ParamId::HpSlope`], as their dB/octave.
pub const HP_SLOPES: &[&str] = &["12 dB/oct", "24 dB/oct"];

const fn float(min: f32, max: f32) -> Kind {
    Kind::Float { min, max, scale: Scale::Linear }
}

const fn skewed(min: f32, max: f32, center: f32) -> Kind {
    Kind::Float { min, max, scale: Scale::Skewed { center } }
}

/// Gains glide in 20 ms: fast enough to feel immediate, slow enough not to click.
const GAIN_MS: f32 = 20.0;
/// Filter frequency/Q glide (in log frequency), a little slower so sweeps sound continuous.
const FILTER_MS: f32 = 30.0;
/// Crossfade time for toggles and choices.
const SWITCH_MS: f32 = 10.0;

macro_rules! row {
    ($param:ident, $id:literal, $name:literal, $group:ident, $kind:expr, $default:expr, $unit:literal, $format:ident, $ms:expr) => {
        ParamSpec {
            param: ParamId::$param,
            id: $id,
            name: $name,
            group: Group::$group,
            kind: $kind,
            default: $default,
            unit: $unit,
            format: Format::$format,
            smoothing_ms: $ms,
        }
    };
}

const BAND: (f32, f32) = audio_band_hz();
const EQ: Kind = float(EQ_GAIN_DB.0, EQ_GAIN_DB.1);

/// The table. Order = [`ParamId`] discriminants (checked by a test).
#[rustfmt::skip]
pub static PARAMS: [ParamSpec; NUM_PARAMS] = [
    row!(InputGain, "in_gain", "Input Trim", Input, float(TRIM_DB.0, TRIM_DB.1), 0.0, " dB", Decibels, GAIN_MS),
    row!(HpOn, "hp_on", "High-Pass On", Eq, Kind::Toggle, 0.0, "", Label, SWITCH_MS),
    row!(HpFreq, "hp_freq", "High-Pass Freq", Eq, skewed(20.0, 1000.0, 120.0), 80.0, "", Hertz, FILTER_MS),
    row!(HpSlope, "hp_slope", "High-Pass Slope", Eq, Kind::Choice(HP_SLOPES), 0.0, "", Label, SWITCH_MS),
    row!(LowShelfOn, "ls_on", "Low Shelf On", Eq, Kind::Toggle, 1.0, "", Label, GAIN_MS),
    row!(LowShelfFreq, "ls_freq", "Low Shelf Freq", Eq, skewed(20.0, 1000.0, 150.0), 100.0, "", Hertz, FILTER_MS),
    row!(LowShelfGain, "ls_gain", "Low Shelf Gain", Eq, EQ, 0.0, " dB", Decibels, GAIN_MS),
    row!(Bell1On, "b1_on", "Bell 1 On", Eq, Kind::Toggle, 1.0, "", Label, GAIN_MS),
    row!(Bell1Freq, "b1_freq", "Bell 1 Freq", Eq, skewed(BAND.0, BAND.1, 1000.0), 400.0, "", Hertz, FILTER_MS),
    row!(Bell1Gain, "b1_gain", "Bell 1 Gain", Eq, EQ, 0.0, " dB", Decibels, GAIN_MS),
    row!(Bell1Q, "b1_q", "Bell 1 Q", Eq, skewed(0.1, 10.0, 1.0), 1.0, "", Plain, FILTER_MS),
    row!(Bell2On, "b2_on", "Bell 2 On", Eq, Kind::Toggle, 1.0, "", Label, GAIN_MS),
    row!(Bell2Freq, "b2_freq", "Bell 2 Freq", Eq, skewed(BAND.0, BAND.1, 1000.0), 3000.0, "", Hertz, FILTER_MS),
    row!(Bell2Gain, "b2_gain", "Bell 2 Gain", Eq, EQ, 0.0, " dB", Decibels, GAIN_MS),
    row!(Bell2Q, "b2_q", "Bell 2 Q", Eq, skewed(0.1, 10.0, 1.0), 1.0, "", Plain, FILTER_MS),
    row!(HighShelfOn, "hs_on", "High Shelf On", Eq, Kind::Toggle, 1.0, "", Label, GAIN_MS),
    row!(HighShelfFreq, "hs_freq", "High Shelf Freq", Eq, skewed(1000.0, 20_000.0, 6000.0), 8000.0, "", Hertz, FILTER_MS),
    row!(HighShelfGain, "hs_gain", "High Shelf Gain", Eq, EQ, 0.0, " dB", Decibels, GAIN_MS),
    row!(CompOn, "cmp_on", "Compressor On", Dynamics, Kind::Toggle, 0.0, "", Label, SWITCH_MS),
    row!(CompThreshold, "cmp_thr", "Comp Threshold", Dynamics, float(-60.0, 0.0), -18.0, " dB", Decibels, GAIN_MS),
    row!(CompRatio, "cmp_ratio", "Comp Ratio", Dynamics, skewed(1.0, 20.0, 4.0), 3.0, "", Ratio, GAIN_MS),
    row!(CompAttack, "cmp_att", "Comp Attack", Dynamics, skewed(0.1, 200.0, 15.0), 10.0, "", Milliseconds, GAIN_MS),
    row!(CompRelease, "cmp_rel", "Comp Release", Dynamics, skewed(10.0, 2000.0, 200.0), 150.0, "", Milliseconds, GAIN_MS),
    row!(CompKnee, "cmp_knee", "Comp Knee", Dynamics, float(0.0, 24.0), 6.0, " dB", Decibels, GAIN_MS),
    row!(CompMakeup, "cmp_mkup", "Comp Makeup", Dynamics, float(0.0, 24.0), 0.0, " dB", Decibels, GAIN_MS),
    row!(CompMix, "cmp_mix", "Comp Mix", Dynamics, float(0.0, 1.0), 1.0, "", Percent, GAIN_MS),
    row!(CompLink, "cmp_link", "Comp Stereo Link", Dynamics, Kind::Toggle, 1.0, "", Label, SWITCH_MS),
    row!(DeessOn, "ds_on", "De-esser On", Dynamics, Kind::Toggle, 0.0, "", Label, SWITCH_MS),
    row!(DeessFreq, "ds_freq", "De-esser Freq", Dynamics, skewed(2000.0, 12_000.0, 6000.0), 6500.0, "", Hertz, FILTER_MS),
    row!(DeessThreshold, "ds_thr", "De-esser Threshold", Dynamics, float(-60.0, 0.0), -30.0, " dB", Decibels, GAIN_MS),
    row!(DeessRange, "ds_range", "De-esser Max Reduction", Dynamics, float(0.0, 24.0), 6.0, " dB", Decibels, GAIN_MS),
    row!(Pan, "pan", "Pan", Stereo, float(-1.0, 1.0), 0.0, "", Pan, GAIN_MS),
    row!(Width, "width", "Stereo Width", Stereo, float(0.0, 2.0), 1.0, "", Percent, GAIN_MS),
    row!(OutputGain, "out_gain", "Output Gain", Output, float(TRIM_DB.0, TRIM_DB.1), 0.0, " dB", Decibels, GAIN_MS),
    row!(Bypass, "bypass", "Bypass", Output, Kind::Toggle, 0.0, "", Label, SWITCH_MS),
    row!(Mute, "mute", "Mute", Output, Kind::Toggle, 0.0, "", Label, SWITCH_MS),
    // Appended after the last id (issue 11): a channel wired or recorded in opposite polarity.
    row!(PolarityL, "polarity_l", "Invert Left", Stereo, Kind::Toggle, 0.0, "", Label, SWITCH_MS),
    row!(PolarityR, "polarity_r", "Invert Right", Stereo, Kind::Toggle, 0.0, "", Label, SWITCH_MS),
];

/// Why a value could not be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecError {
    /// The id is not in the table.
    #[error("unknown parameter '{0}' (run `audiocollab params` for the list)")]
    UnknownParam(String),
    /// The text is not a value of this parameter.
    #[error("'{text}' is not a valid value for {id} (expected {expected})")]
    BadValue {
        /// Parameter id.
        id: &'static str,
        /// What the user wrote (cut short, see [`excerpt`]).
        text: String,
        /// A hint such as "a number between 20 and 1000 Hz".
        expected: String,
    },
}

impl ParamSpec {
    /// `(min, max)` in plain units. Toggles are (0, 1), choices (0, n − 1).
    pub fn range(&self) -> (f32, f32) {
        match self.kind {
            Kind::Float { min, max, .. } => (min, max),
            Kind::Toggle => (0.0, 1.0),
            Kind::Choice(options) => (0.0, (options.len() - 1) as f32),
        }
    }

    /// Brings any value, including NaN, into this parameter's domain: clamped into range,
    /// toggles and choices rounded to a valid index. NaN becomes the default.
    pub fn clamp(&self, value: f32) -> f32 {
        if value.is_nan() {
            return self.default;
        }
        let (min, max) = self.range();
        let v = value.clamp(min, max);
        match self.kind {
            Kind::Float { .. } => v,
            Kind::Toggle | Kind::Choice(_) => v.round(),
        }
    }

    /// Skew exponent of a [`Scale::Skewed`] range: the one that puts `center` at 0.5.
    pub fn skew_factor(&self) -> Option<f32> {
        match self.kind {
            Kind::Float { min, max, scale: Scale::Skewed { center } } => {
                Some(0.5f32.ln() / ((center - min) / (max - min)).ln())
            }
            _ => None,
        }
    }

    /// Text for a plain value, with its unit (`"2.50 kHz"`, `"-3.0 dB"`, `"L30"`, `"On"`).
    pub fn format(&self, value: f32) -> String {
        match (self.kind, self.format) {
            (Kind::Toggle, _) => if value >= 0.5 { "On" } else { "Off" }.to_string(),
            (Kind::Choice(options), _) => {
                let i = (value.round().max(0.0) as usize).min(options.len() - 1);
                options[i].to_string()
            }
            (_, format) => format_value(format, value),
        }
    }

    /// [`ParamSpec::format`] as `lang` writes it, for a musician reading a change: in French
    /// toggles read "activé" / "désactivé", pan `G30` / `D30` (gauche / droite) and numbers
    /// take the decimal comma (`-3,0 dB`, `2,50 kHz`). Hosts keep [`ParamSpec::format`].
    pub fn format_in(&self, value: f32, lang: Lang) -> String {
        match (lang, self.kind, self.format) {
            (Lang::En, ..) => self.format(value),
            (Lang::Fr, Kind::Toggle, _) => if value >= 0.5 { "activé" } else { "désactivé" }.to_string(),
            (Lang::Fr, _, Format::Pan) => {
                let english = self.format(value);
                match english.split_at(1) {
                    ("L", pct) => format!("G{pct}"),
                    ("R", pct) => format!("D{pct}"),
                    _ => english,
                }
            }
            (Lang::Fr, ..) => text::french_decimals(&self.format(value)),
        }
    }

    /// Text for a plain value without a unit suffix that the host appends itself.
    pub fn format_without_unit(&self, value: f32) -> String {
        let text = self.format(value);
        match text.strip_suffix(self.unit) {
            Some(stripped) if !self.unit.is_empty() => stripped.to_string(),
            _ => text,
        }
    }

    /// Parses user text into a plain value, clamped into range. Accepts plain numbers and
    /// the units of the parameter's format: `"120"`, `"120 Hz"`, `"2.5k"`, `"-3 dB"`, `"75%"`,
    /// `"L30"`, `"on"`, `"24 dB/oct"` (English and French words for toggles).
    pub fn parse(&self, text: &str) -> Result<f32, SpecError> {
        self.parse_unclamped(text).map(|v| self.clamp(v))
    }

    /// As [`ParamSpec::parse`], without the clamp, so callers can tell the user that a value
    /// was out of range (and what was used instead).
    pub fn parse_unclamped(&self, text: &str) -> Result<f32, SpecError> {
        let t = text.trim().to_lowercase();
        let bad = |expected: String| SpecError::BadValue { id: self.id, text: excerpt(text).into_owned(), expected };
        match self.kind {
            Kind::Toggle => match t.as_str() {
                "on" | "1" | "true" | "yes" | "oui" | "activé" | "active" => Ok(1.0),
                "off" | "0" | "false" | "no" | "non" | "désactivé" | "inactive" => Ok(0.0),
                _ => Err(bad("on or off".into())),
            },
            Kind::Choice(options) => {
                if let Some(i) = options.iter().position(|o| o.to_lowercase() == t) {
                    return Ok(i as f32);
                }
                let digits: String = t.chars().take_while(|c| c.is_ascii_digit()).collect();
                if let Some(i) = options.iter().position(|o| !digits.is_empty() && o.starts_with(&digits)) {
                    return Ok(i as f32);
                }
                match t.parse::<usize>() {
                    Ok(i) if i < options.len() => Ok(i as f32),
                    _ => Err(bad(format!("one of {}", options.join(", ")))),
                }
            }
            Kind::Float { min, max, .. } => {
                let hint = || format!("a value between {} and {}", self.format(min), self.format(max));
                parse_value(self.format, &t).ok_or_else(|| bad(hint()))
            }
        }
    }
}

fn format_value(format: Format, v: f32) -> String {
    match format {
        Format::Decibels => format!("{v:.1} dB"),
        Format::Hertz if v >= 1000.0 => format!("{:.2} kHz", v / 1000.0),
        Format::Hertz => format!("{v:.0} Hz"),
        Format::Milliseconds if v < 1.0 => format!("{v:.2} ms"),
        Format::Milliseconds => format!("{v:.1} ms"),
        Format::Ratio => format!("{v:.1}:1"),
        Format::Plain => format!("{v:.2}"),
        Format::Percent => format!("{:.0} %", v * 100.0),
        Format::Pan => {
            let pct = (v * 100.0).round();
            if pct == 0.0 {
                "C".to_string()
            } else if pct < 0.0 {
                format!("L{:.0}", -pct)
            } else {
                format!("R{pct:.0}")
            }
        }
        Format::Label => format!("{v}"),
    }
}

/// Parses `t` (already trimmed and lower-cased) in the given format.
fn parse_value(format: Format, t: &str) -> Option<f32> {
    let number = |s: &str| s.trim().replace(',', ".").parse::<f32>().ok().filter(|v| v.is_finite());
    match format {
        Format::Hertz => {
            let s = t.trim_end_matches("hz").trim();
            match s.strip_suffix('k') {
                Some(k) => number(k).map(|v| v * 1000.0),
                None => number(s),
            }
        }
        Format::Decibels => number(t.trim_end_matches("db")),
        Format::Milliseconds => match t.strip_suffix("ms") {
            Some(ms) => number(ms),
            None => match t.strip_suffix('s') {
                Some(s) => number(s).map(|v| v * 1000.0),
                None => number(t),
            },
        },
        Format::Ratio => number(t.trim_end_matches(":1")),
        Format::Plain | Format::Label => number(t),
        Format::Percent => match t.strip_suffix('%') {
            Some(p) => number(p).map(|v| v / 100.0),
            // A bare number above 2 can only be meant as a percentage ("150" width).
            None => number(t).map(|v| if v.abs() > 2.0 { v / 100.0 } else { v }),
        },
        Format::Pan => {
            let t = t.trim_end_matches('%').trim();
            if t == "c" || t == "center" || t == "centre" {
                Some(0.0)
            } else if let Some(l) = ["left", "gauche", "l", "g"].iter().find_map(|p| t.strip_prefix(p)) {
                number(l).map(|v| -v / 100.0)
            } else if let Some(r) = ["right", "droite", "r", "d"].iter().find_map(|p| t.strip_prefix(p)) {
                number(r).map(|v| v / 100.0)
            } else {
                number(t).map(|v| if v.abs() > 1.0 { v / 100.0 } else { v })
            }
        }
    }
}

/// A snapshot of every parameter in plain units (dB, Hz, ms, ratio, 0..1, −1..1): what the
/// DSP chain reads once per block. `Copy`, fixed size, no allocation.
#[derive(Clone, Copy, PartialEq)]
pub struct Settings {
    values: [f32; NUM_PARAMS],
}

impl Default for Settings {
    fn default() -> Self {
        let mut values = [0.0; NUM_PARAMS];
        for spec in &PARAMS {
            values[spec.param as usize] = spec.default;
        }
        Self { values }
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(PARAMS.iter().map(|s| (s.id, self.values[s.param as usize]))).finish()
    }
}

impl Settings {
    /// Plain value of a parameter.
    #[inline]
    pub fn get(&self, id: ParamId) -> f32 {
        self.values[id as usize]
    }

    /// A toggle's state.
    #[inline]
    pub fn on(&self, id: ParamId) -> bool {
        self.values[id as usize] >= 0.5
    }

    /// Sets a plain value, clamped into the parameter's range (NaN becomes the default).
    pub fn set(&mut self, id: ParamId, value: f32) {
        self.values[id as usize] = id.spec().clamp(value);
    }

    /// Builder form of [`Settings::set`].
    pub fn with(mut self, id: ParamId, value: f32) -> Self {
        self.set(id, value);
        self
    }

    /// Parses and applies `id=value` text, as the CLI's `--set` does.
    pub fn set_text(&mut self, id: &str, value: &str) -> Result<ParamId, SpecError> {
        let param = ParamId::from_id(id.trim()).ok_or_else(|| SpecError::UnknownParam(excerpt(id).into_owned()))?;
        let v = param.spec().parse(value)?;
        self.set(param, v);
        Ok(param)
    }

    /// Ids and values that differ from the defaults, for reports.
    pub fn changed(&self) -> impl Iterator<Item = (ParamId, f32)> + '_ {
        let defaults = Settings::default();
        ParamId::ALL.into_iter().filter(move |&p| self.get(p) != defaults.get(p)).map(|p| (p, self.get(p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_order_matches_enum() {
        for (i, spec) in PARAMS.iter().enumerate() {
            assert_eq!(spec.param as usize, i, "{} is out of order", spec.id);
        }
    }

    #[test]
    fn defaults_are_inside_ranges_and_ids_are_unique_and_short() {
        for spec in &PARAMS {
            let (min, max) = spec.range();
            assert!((min..=max).contains(&spec.default), "{}", spec.id);
            assert!(spec.id.len() <= 10 && spec.id.is_ascii(), "{}", spec.id);
            assert_eq!(PARAMS.iter().filter(|s| s.id == spec.id).count(), 1, "{}", spec.id);
            if let Some(factor) = spec.skew_factor() {
                assert!(factor.is_finite() && factor > 0.0, "{}", spec.id);
            }
        }
    }

    #[test]
    fn parses_units_and_words() {
        let mut s = Settings::default();
        s.set_text("hp_freq", "120 Hz").unwrap();
        assert_eq!(s.get(ParamId::HpFreq), 120.0);
        s.set_text("b2_freq", "2.5k").unwrap();
        assert_eq!(s.get(ParamId::Bell2Freq), 2500.0);
        s.set_text("b2_gain", "-3dB").unwrap();
        assert_eq!(s.get(ParamId::Bell2Gain), -3.0);
        s.set_text("pan", "L30").unwrap();
        assert!((s.get(ParamId::Pan) + 0.3).abs() < 1e-6);
        s.set_text("width", "150%").unwrap();
        assert!((s.get(ParamId::Width) - 1.5).abs() < 1e-6);
        s.set_text("cmp_on", "oui").unwrap();
        assert!(s.on(ParamId::CompOn));
        s.set_text("hp_slope", "24").unwrap();
        assert_eq!(s.get(ParamId::HpSlope), 1.0);
        s.set_text("cmp_att", "0.5 s").unwrap();
        assert_eq!(s.get(ParamId::CompAttack), 200.0, "clamped to the 200 ms maximum");
        assert!(matches!(s.set_text("nope", "1"), Err(SpecError::UnknownParam(_))));
        assert!(matches!(s.set_text("b1_gain", "loud"), Err(SpecError::BadValue { .. })));
        assert!(matches!(s.set_text("b1_gain", "NaN"), Err(SpecError::BadValue { .. })));
    }

    #[test]
    fn out_of_range_and_nan_are_made_safe() {
        let mut s = Settings::default();
        s.set(ParamId::Bell1Gain, 99.0);
        assert_eq!(s.get(ParamId::Bell1Gain), EQ_GAIN_DB.1);
        s.set(ParamId::Bell1Gain, f32::NAN);
        assert_eq!(s.get(ParamId::Bell1Gain), 0.0);
        s.set(ParamId::Bell1Gain, f32::NEG_INFINITY);
        assert_eq!(s.get(ParamId::Bell1Gain), EQ_GAIN_DB.0);
        s.set(ParamId::HpSlope, 7.0);
        assert_eq!(s.get(ParamId::HpSlope), 1.0);
    }

    #[test]
    fn formats_round_trip_through_parse() {
        for spec in &PARAMS {
            let (min, max) = spec.range();
            for v in [min, spec.default, max, min + (max - min) * 0.3] {
                let v = spec.clamp(v);
                // What hosts show, and what a French musician reads: both parse back.
                for text in [spec.format(v), spec.format_in(v, Lang::En), spec.format_in(v, Lang::Fr)] {
                    let back = spec.parse(&text).unwrap_or_else(|e| panic!("{}: {e}", spec.id));
                    let tol = (max - min) * 0.01;
                    assert!((back - spec.clamp(v)).abs() <= tol, "{}: {v} -> {text} -> {back}", spec.id);
                }
            }
        }
    }

    #[test]
    fn french_values_read_in_french() {
        let fr = |p: ParamId, v: f32| p.spec().format_in(v, Lang::Fr);
        assert_eq!(fr(ParamId::CompOn, 1.0), "activé");
        assert_eq!(fr(ParamId::CompOn, 0.0), "désactivé");
        assert_eq!(fr(ParamId::Bell1Gain, -6.0), "-6,0 dB");
        assert_eq!(fr(ParamId::Bell2Freq, 2500.0), "2,50 kHz");
        assert_eq!(fr(ParamId::Bell1Freq, 250.0), "250 Hz");
        assert_eq!(fr(ParamId::CompRatio, 4.0), "4,0:1");
        assert_eq!(fr(ParamId::CompAttack, 0.5), "0,50 ms");
        assert_eq!(fr(ParamId::Bell1Q, 0.71), "0,71");
        assert_eq!(fr(ParamId::Pan, -0.3), "G30");
        assert_eq!(fr(ParamId::Pan, 1.0), "D100");
        assert_eq!(fr(ParamId::Pan, 0.0), "C");
        assert_eq!(fr(ParamId::Width, 1.5), "150 %");
        assert_eq!(fr(ParamId::HpSlope, 1.0), "24 dB/oct");
        // English is what hosts show, unchanged.
        assert_eq!(ParamId::CompOn.spec().format_in(1.0, Lang::En), "On");
        assert_eq!(ParamId::Bell1Gain.spec().format_in(-6.0, Lang::En), ParamId::Bell1Gain.spec().format(-6.0));
        assert_eq!(ParamId::Pan.spec().format_in(-0.3, Lang::En), "L30");
        // "left" and "gauche" parse whole (the single letters are tried last).
        assert!((ParamId::Pan.spec().parse("left 30").unwrap() + 0.3).abs() < 1e-6);
        assert!((ParamId::Pan.spec().parse("droite 20").unwrap() - 0.2).abs() < 1e-6);
    }
}
