//! Actions: what the assistant (the embedded engine or a language model) proposes, and the
//! validated change sets that reach the parameters.
//!
//! Two types, on purpose:
//! * [`WireReply`] is what arrives: deserialised from the model's JSON (the schema is
//!   `assets/schema/reply.schema.json`) or built by the embedded engine. Untrusted: any string,
//!   any number.
//! * [`ChangeSet`] is what may be applied. The only way to make one from a reply is
//!   [`ChangeSet::try_from`] with the current settings ([`Proposal`]), which
//!   - rejects unknown parameters and non-finite or unparsable values, with a reason;
//!   - clamps out-of-range values into the parameter's range and flags it;
//!   - limits each change to a step ([`max_step`]: no ±18 dB jump from one reply; level may
//!     come down 12 dB, go up 6; the pan may go from the centre to a side, not from side to
//!     side; the width may go to mono, and up by half) and flags it;
//!   - merges duplicates (the last value wins, the reasons are kept) and drops no-ops;
//!   - keeps at most [`MAX_CHANGES`] changes, the rest rejected with a reason.
//!
//! Values are in plain units (dB, Hz, ms, ratio, pan −1…1, width %), never normalised: `value`
//! is absolute, `delta` relative (dB for gains, a factor for frequencies is *not* accepted:
//! frequencies move by absolute value only). Every change keeps its reason and the measurement
//! behind it. A change set has an inverse ([`ChangeSet::inverse`]) for undo.
//!
//! A validated change stays validated: the window's cards hold the [`Change`]s of their answer
//! and apply them as they are ([`ChangeSet::picked`]); the wire form is only ever made back from
//! a set ([`ChangeSet::to_wire`], for `render --apply`). A change read from storage (a card in
//! a saved project) is untrusted again and goes through [`Change::restore`], the same checks.

use super::names::{self, describe_change};
use audiocollab_core::lang::Lang;
use audiocollab_core::spec::{Format, Kind, ParamId, Settings};
use audiocollab_core::untrusted::excerpt_to;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Most changes one suggestion may carry: a handful a musician can follow and undo.
pub const MAX_CHANGES: usize = 6;
/// Longest reason a change keeps, characters, duplicates merged into it included.
pub const MAX_REASON_CHARS: usize = 500;
/// Most adjustments a change keeps (the latest): merged duplicates each bring theirs.
const MAX_ADJUSTMENTS: usize = 4;
/// Longest parameter name a refusal repeats, characters.
const MAX_PARAM_CHARS: usize = 64;

/// What a reply carries: a message for the musician and the changes it proposes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireReply {
    /// Text shown to the musician (never executed).
    #[serde(default)]
    pub message: String,
    /// Proposed changes.
    #[serde(default)]
    pub changes: Vec<WireChange>,
}

/// One proposed change, as it arrives. Written with every field (`null` when absent), as the
/// strict reply schema wants.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireChange {
    /// Parameter id (`b2_gain`) or friendly name ("aigus", "stereo width").
    pub param: String,
    /// New absolute value in the parameter's plain unit: a number, or text with a unit
    /// ("3 kHz", "-2 dB", "on", "L30").
    #[serde(default)]
    pub value: Option<WireValue>,
    /// Relative change in the parameter's plain unit (dB, ms, ratio, pan, width in %).
    #[serde(default)]
    pub delta: Option<f64>,
    /// Why, in words the musician understands.
    #[serde(default)]
    pub reason: String,
    /// The measurement behind it.
    #[serde(default)]
    pub evidence: Option<Evidence>,
}

/// A value as it arrives: a number or text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WireValue {
    /// A plain number in the parameter's unit (width in %: 120 means 120 %).
    Number(f64),
    /// Text the parameter's parser understands ("3 kHz", "on", "L30").
    Text(String),
    /// A switch.
    Bool(bool),
}

/// The measurement a change rests on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// Finding kind (`harshness`, `clipping`, …) or measure name.
    #[serde(default)]
    pub finding: Option<String>,
    /// Start of the stretch it was measured on, seconds.
    #[serde(default)]
    pub from_s: Option<f64>,
    /// End of the stretch, seconds.
    #[serde(default)]
    pub to_s: Option<f64>,
    /// The measured value.
    #[serde(default)]
    pub value: Option<f64>,
    /// Its unit.
    #[serde(default)]
    pub unit: Option<String>,
}

/// A reply to validate against the settings it would change.
#[derive(Clone, Copy, Debug)]
pub struct Proposal<'a> {
    /// What arrived.
    pub reply: &'a WireReply,
    /// The settings now.
    pub current: &'a Settings,
}

/// Something the validator changed in a proposed value, shown to the musician.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Adjustment {
    /// The value was outside the parameter's range and was clamped to it.
    Clamped {
        /// What was asked.
        asked: f64,
    },
    /// The move was larger than one suggestion may make and was shortened.
    StepLimited {
        /// What was asked.
        asked: f64,
        /// The largest move allowed.
        limit: f32,
    },
}

/// One validated change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// The parameter.
    #[serde(serialize_with = "ser_param")]
    pub param: ParamId,
    /// Its value before, plain units.
    pub from: f32,
    /// Its value after, plain units, inside the range.
    pub to: f32,
    /// Why.
    pub reason: String,
    /// The measurement behind it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// What the validator had to change, if anything.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub adjustments: Vec<Adjustment>,
}

fn ser_param<S: serde::Serializer>(p: &ParamId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(p.spec().id)
}

impl Change {
    /// "Bell 2 Gain: 0.0 dB → -3.0 dB", "Gain cloche 2 : 0,0 dB → -3,0 dB" ([`describe_change`]).
    pub fn describe(&self, lang: Lang) -> String {
        describe_change(self.param, self.from, self.to, lang, "→")
    }

    /// A change read back from storage (a card of a saved project, which anyone may have
    /// edited), checked as a reply's change is: `param` must be a parameter's id and `from`,
    /// `to` finite numbers in its plain unit; `from` is brought into the range, `to` is clamped
    /// and its move from `from` limited to a step, and the reason is cut. A change the
    /// validator made reads back unchanged (its reason may already end in the "…" of a cut,
    /// one character past [`MAX_REASON_CHARS`]). Refused, with the reason, when the id is
    /// unknown, a value is not finite, or nothing would change.
    pub fn restore(param: &str, from: f32, to: f32, reason: &str) -> Result<Change, Rejection> {
        let reject =
            |why: &str| Rejection { param: excerpt_to(param, MAX_PARAM_CHARS).into_owned(), reason: why.into() };
        let Some(id) = ParamId::from_id(param) else { return Err(reject("unknown parameter")) };
        if !from.is_finite() || !to.is_finite() {
            return Err(reject("the value is not a finite number"));
        }
        let from = id.spec().clamp(from);
        let (to, adjustments) = checked(id, f64::from(to), from);
        if to == from {
            return Err(reject("no change"));
        }
        let reason = excerpt_to(reason, MAX_REASON_CHARS + 1).into_owned();
        Ok(Change { param: id, from, to, reason, evidence: None, adjustments })
    }
}

impl Change {
    /// Adds `note` to the reason (a measured effect, a resize), kept short.
    fn annotate(&mut self, note: &str) {
        if note.is_empty() {
            return;
        }
        let joined = if self.reason.is_empty() { note.to_string() } else { format!("{} — {note}", self.reason) };
        // Room for the note past the reason's own limit, still bounded.
        self.reason = excerpt_to(&joined, 2 * MAX_REASON_CHARS).into_owned();
    }
}

/// How urgent a change is, most urgent first: what protects the listener and the platform's
/// ceiling, then the level, then the tone (and everything else).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// Clipping and true peak.
    Safety,
    /// Loudness: the input and output gains.
    Level,
    /// The rest: EQ, dynamics, stereo.
    Tone,
}

/// Finding kinds (ids) that ask for a safety move, and those that ask for a level move. A DC
/// offset is a safety matter too: it eats headroom and pushes speaker cones off centre.
const SAFETY_FINDINGS: [&str; 4] = ["clipping", "inter_sample_overs", "true_peak_over_target", "dc_offset"];
const LEVEL_FINDINGS: [&str; 2] = ["too_loud", "too_quiet"];

/// The priority of a change: from the finding it answers, else from its parameter (the input
/// and output gains are level moves).
pub fn priority(c: &Change) -> Priority {
    let finding = c.evidence.as_ref().and_then(|e| e.finding.as_deref()).unwrap_or("");
    let gain = matches!(c.param, ParamId::OutputGain | ParamId::InputGain);
    match finding_priority(finding) {
        Priority::Safety if gain => Priority::Safety,
        Priority::Tone if !gain => Priority::Tone,
        _ => Priority::Level,
    }
}

/// The priority of what answers the finding of kind `id`: safety for clipping and true peak,
/// level for the loudness, tone for the rest.
pub fn finding_priority(id: &str) -> Priority {
    if SAFETY_FINDINGS.contains(&id) {
        Priority::Safety
    } else if LEVEL_FINDINGS.contains(&id) {
        Priority::Level
    } else {
        Priority::Tone
    }
}

/// The section of the chain a parameter belongs to: its id up to the first `_` (`b1`, `ls`,
/// `out`), so a band's frequency, gain, width and switch are one move.
fn section(p: ParamId) -> &'static str {
    let id = p.spec().id;
    id.split('_').next().unwrap_or(id)
}

/// A proposed change that was refused, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rejection {
    /// The parameter as it was named.
    pub param: String,
    /// Why it was refused.
    pub reason: String,
}

/// Validated changes, safe to apply. Made only by [`ChangeSet::try_from`], from changes it
/// made ([`ChangeSet::picked`]) or as the [`ChangeSet::inverse`] of one.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ChangeSet {
    changes: Vec<Change>,
    rejected: Vec<Rejection>,
}

/// A reply whose every proposed change was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("no change could be applied: {}", listed(.rejected))]
pub struct AllRejected {
    /// Every refusal with its reason.
    pub rejected: Vec<Rejection>,
}

/// The first refusals as "param (reason); …", and how many more: a reply may carry thousands.
fn listed(rejected: &[Rejection]) -> String {
    const SHOWN: usize = 5;
    let mut text =
        rejected.iter().take(SHOWN).map(|r| format!("{} ({})", r.param, r.reason)).collect::<Vec<_>>().join("; ");
    if rejected.len() > SHOWN {
        text.push_str(&format!("; and {} more", rejected.len() - SHOWN));
    }
    text
}

/// The largest move of `param` one suggestion may make, either way, in its plain unit; `None`
/// for no limit but the range: frequencies, Q, times and switches (moving them is not loud),
/// and the input and output gains, whose raise is bounded by the true peak, which the closed
/// loop measures ([`crate::verify`]; without audio, the analysis' true peak,
/// [`crate::verify::hold_blind`]) — a master 20 LU under the target needs 20 dB. The pan may go
/// from the centre to either side in one move ("hard right"), never from one side to the other;
/// the width may go all the way down to mono ("make it mono": narrowing adds no level) and up
/// to double (the side alone grows: the mono fold-down keeps its level, and a narrowed master
/// needs up to that to come back).
pub fn max_step(param: ParamId) -> Option<f32> {
    use ParamId as P;
    match param {
        P::LowShelfGain | P::Bell1Gain | P::Bell2Gain | P::HighShelfGain => Some(6.0),
        P::CompMakeup => Some(6.0),
        P::CompThreshold | P::DeessThreshold => Some(12.0),
        P::DeessRange => Some(9.0),
        P::Pan | P::Width => Some(1.0),
        P::CompMix => Some(0.5),
        _ => None,
    }
}

impl ChangeSet {
    /// The changes, in the order first proposed.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// What was refused, with reasons.
    pub fn rejected(&self) -> &[Rejection] {
        &self.rejected
    }

    /// No change to apply.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Applies the changes to `settings`.
    pub fn apply(&self, settings: &mut Settings) {
        for c in &self.changes {
            settings.set(c.param, c.to);
        }
    }

    /// Changes the validator made, picked to apply on `current` (the cards a musician applies,
    /// perhaps long after they were proposed), as one set: each starts from the value now, so
    /// the inverse puts back what was there; one already made is dropped; a parameter named
    /// twice takes the last value. The values are not checked again (they were, when made):
    /// they are only kept inside their ranges.
    pub fn picked<'a>(changes: impl IntoIterator<Item = &'a Change>, current: &Settings) -> ChangeSet {
        let mut set = ChangeSet::default();
        for c in changes {
            let to = c.param.spec().clamp(c.to);
            match set.changes.iter_mut().find(|s| s.param == c.param) {
                Some(same) => same.to = to,
                None => set.changes.push(Change { from: current.get(c.param), to, ..c.clone() }),
            }
        }
        set.changes.retain(|c| c.to != c.from);
        set
    }

    /// The validated changes as a wire reply with absolute values in the reply's plain units
    /// (percent for width and mix): what `render --apply` reads back to the same settings.
    pub fn to_wire(&self, message: String) -> WireReply {
        let changes = self
            .changes
            .iter()
            .map(|c| {
                let spec = c.param.spec();
                let value = match (spec.kind, spec.format) {
                    (Kind::Toggle, _) => WireValue::Bool(c.to >= 0.5),
                    (_, Format::Percent) => WireValue::Number(f64::from(c.to) * 100.0),
                    _ => WireValue::Number(f64::from(c.to)),
                };
                WireChange {
                    param: spec.id.into(),
                    value: Some(value),
                    delta: None,
                    reason: c.reason.clone(),
                    evidence: c.evidence.clone(),
                }
            })
            .collect();
        WireReply { message, changes }
    }

    /// The changes grouped into moves: the indices of changes that act together — the same
    /// section of the chain (`b1_freq`, `b1_gain`, `b1_on`), the same reason or the same
    /// finding — in the order of their first change.
    pub fn moves(&self) -> Vec<Vec<usize>> {
        let n = self.changes.len();
        let mut group: Vec<usize> = (0..n).collect();
        fn root(group: &mut [usize], mut i: usize) -> usize {
            while group[i] != i {
                group[i] = group[group[i]];
                i = group[i];
            }
            i
        }
        for i in 0..n {
            for j in 0..i {
                let (a, b) = (&self.changes[i], &self.changes[j]);
                let finding = |c: &Change| c.evidence.as_ref().and_then(|e| e.finding.clone());
                let together = section(a.param) == section(b.param)
                    || (!a.reason.is_empty() && a.reason == b.reason)
                    || finding(a).is_some_and(|f| Some(f) == finding(b));
                if together {
                    let (ra, rb) = (root(&mut group, i), root(&mut group, j));
                    group[ra.max(rb)] = ra.min(rb);
                }
            }
        }
        let mut moves: Vec<Vec<usize>> = Vec::new();
        let mut roots: Vec<usize> = Vec::new();
        for i in 0..n {
            let r = root(&mut group, i);
            match roots.iter().position(|&x| x == r) {
                Some(k) => moves[k].push(i),
                None => {
                    roots.push(r);
                    moves.push(vec![i]);
                }
            }
        }
        moves
    }

    /// Keeps at most [`MAX_CHANGES`] changes, refusing whole moves (each section of the chain
    /// apart) of the lowest priority ([`priority`]: tone before level before safety), the last
    /// proposed first: a cap on the
    /// count never drops a level move for a tone move.
    fn cap(&mut self) {
        if self.changes.len() <= MAX_CHANGES {
            return;
        }
        // A move split by section of the chain: a cut shared by both bells loses its second
        // bell before the whole cut goes.
        let mut moves: Vec<Vec<usize>> = Vec::new();
        for m in self.moves() {
            let mut parts: Vec<Vec<usize>> = Vec::new();
            for i in m {
                let s = section(self.changes[i].param);
                match parts.iter_mut().find(|p| section(self.changes[p[0]].param) == s) {
                    Some(p) => p.push(i),
                    None => parts.push(vec![i]),
                }
            }
            moves.extend(parts);
        }
        let rank = |m: &Vec<usize>| m.iter().map(|&i| priority(&self.changes[i])).min().unwrap_or(Priority::Tone);
        // Lowest priority first, and within one, the last proposed first.
        let mut order: Vec<usize> = (0..moves.len()).collect();
        order.sort_by(|&x, &y| rank(&moves[y]).cmp(&rank(&moves[x])).then(y.cmp(&x)));
        let mut dropped = vec![false; self.changes.len()];
        let mut kept = self.changes.len();
        for &m in &order {
            if kept <= MAX_CHANGES {
                break;
            }
            if rank(&moves[m]) <= Priority::Level {
                // Safety and level moves stay whole: what is left goes change by change below.
                continue;
            }
            for &i in &moves[m] {
                dropped[i] = true;
                kept -= 1;
            }
        }
        // Still over (a reply naming many level or safety parameters): the last ones go.
        for i in (0..self.changes.len()).rev() {
            if kept <= MAX_CHANGES {
                break;
            }
            if !dropped[i] && !matches!(self.changes[i].param, ParamId::OutputGain | ParamId::InputGain) {
                dropped[i] = true;
                kept -= 1;
            }
        }
        let mut i = 0;
        let mut refused = Vec::new();
        self.changes.retain(|c| {
            let drop = dropped[i];
            i += 1;
            if drop {
                let what = match priority(c) {
                    Priority::Tone => "a tone move",
                    _ => "a lower-priority move",
                };
                refused.push(Rejection {
                    param: c.param.spec().id.into(),
                    reason: format!(
                        "more than {MAX_CHANGES} changes in one suggestion: {what} gives way to the safety and \
                         level moves"
                    ),
                });
            }
            !drop
        });
        self.rejected.extend(refused);
    }

    /// Moves change `index` to `to` (checked as a reply's value is: clamped, step-limited
    /// from where it started) and adds `note` to its reason: a move resized after it was
    /// checked on the audio. Returns the value it got.
    pub fn resize(&mut self, index: usize, to: f64, note: &str) -> Option<f32> {
        let c = self.changes.get_mut(index)?;
        let (to, adjustments) = checked(c.param, to, c.from);
        c.to = to;
        c.adjustments.extend(adjustments);
        let extra = c.adjustments.len().saturating_sub(MAX_ADJUSTMENTS);
        c.adjustments.drain(..extra);
        c.annotate(note);
        Some(to)
    }

    /// Adds `note` to the reason of change `index`.
    pub fn annotate(&mut self, index: usize, note: &str) {
        if let Some(c) = self.changes.get_mut(index) {
            c.annotate(note);
        }
    }

    /// Refuses the changes at `indices` with `reason` (a move that did not hold when checked).
    pub fn refuse(&mut self, indices: &[usize], reason: &str) {
        let mut i = 0;
        let mut refused = Vec::new();
        let reason = excerpt_to(reason, MAX_REASON_CHARS).into_owned();
        self.changes.retain(|c| {
            let drop = indices.contains(&i);
            i += 1;
            if drop {
                refused.push(Rejection { param: c.param.spec().id.into(), reason: reason.clone() });
            }
            !drop
        });
        self.rejected.extend(refused);
    }

    /// The change set that undoes this one (from and to swapped, same reasons).
    pub fn inverse(&self) -> ChangeSet {
        ChangeSet {
            changes: self
                .changes
                .iter()
                .rev()
                .map(|c| Change { from: c.to, to: c.from, adjustments: Vec::new(), ..c.clone() })
                .collect(),
            rejected: Vec::new(),
        }
    }
}

impl fmt::Display for ChangeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.changes {
            writeln!(f, "{} ({})", c.describe(Lang::En), c.reason)?;
        }
        for r in &self.rejected {
            writeln!(f, "refused: {}: {}", r.param, r.reason)?;
        }
        Ok(())
    }
}

/// The value a wire change asks for, before clamping: `Err(reason)` if it cannot be read.
fn asked_value(change: &WireChange, param: ParamId, current: f32) -> Result<f64, String> {
    let spec = param.spec();
    let number_in_unit = |v: f64| match spec.format {
        // Width and the compressor mix are 0..2 / 0..1 inside, percent to people and models.
        Format::Percent => v / 100.0,
        _ => v,
    };
    match (&change.value, change.delta) {
        (Some(_), Some(_)) => Err("both a value and a delta".into()),
        (None, None) => Err("neither a value nor a delta".into()),
        (None, Some(d)) => {
            if !d.is_finite() {
                return Err("the delta is not a finite number".into());
            }
            if matches!(spec.kind, Kind::Toggle | Kind::Choice(_)) {
                return Err("a switch takes a value, not a delta".into());
            }
            Ok(current as f64 + number_in_unit(d))
        }
        (Some(WireValue::Number(v)), None) => {
            if !v.is_finite() {
                return Err("the value is not a finite number".into());
            }
            Ok(match spec.kind {
                Kind::Toggle => {
                    if *v >= 0.5 {
                        1.0
                    } else {
                        0.0
                    }
                }
                _ => number_in_unit(*v),
            })
        }
        (Some(WireValue::Bool(b)), None) => match spec.kind {
            Kind::Toggle => Ok(if *b { 1.0 } else { 0.0 }),
            _ => Err("a true/false value for a parameter that is not a switch".into()),
        },
        (Some(WireValue::Text(t)), None) => {
            spec.parse_unclamped(t).map(f64::from).map_err(|e| format!("cannot read the value: {e}"))
        }
    }
}

impl TryFrom<Proposal<'_>> for ChangeSet {
    type Error = AllRejected;

    /// Validates a reply against the current settings (see the module documentation). A reply
    /// with no change gives an empty set; a reply whose every change is refused is an error
    /// that carries the reasons.
    fn try_from(p: Proposal<'_>) -> Result<Self, AllRejected> {
        let mut set = ChangeSet::default();
        for wire in &p.reply.changes {
            let reject =
                |reason: String| Rejection { param: excerpt_to(&wire.param, MAX_PARAM_CHARS).into_owned(), reason };
            let Some(param) = names::resolve(&wire.param) else {
                set.rejected.push(reject("unknown parameter".into()));
                continue;
            };
            // Where this set already moved the parameter, the next change starts from there.
            let current = set.changes.iter().find(|c| c.param == param).map_or(p.current.get(param), |c| c.to);
            let asked = match asked_value(wire, param, current) {
                Ok(v) => v,
                Err(reason) => {
                    set.rejected.push(reject(reason));
                    continue;
                }
            };
            let from = p.current.get(param);
            let (to, adjustments) = checked(param, asked, from);
            let reason = excerpt_to(&wire.reason, MAX_REASON_CHARS).into_owned();
            if let Some(existing) = set.changes.iter_mut().find(|c| c.param == param) {
                existing.to = to;
                merge_reason(&mut existing.reason, &reason);
                existing.adjustments.extend(adjustments);
                let extra = existing.adjustments.len().saturating_sub(MAX_ADJUSTMENTS);
                existing.adjustments.drain(..extra);
                existing.evidence = wire.evidence.clone().or(existing.evidence.take());
                continue;
            }
            // Bounded without a cap here: duplicates merge, so there are at most as many
            // changes as parameters; the cap below picks which to keep.
            set.changes.push(Change { param, from, to, reason, evidence: wire.evidence.clone(), adjustments });
        }
        set.changes.retain(|c| c.to != c.from);
        set.cap();
        if set.changes.is_empty() && !set.rejected.is_empty() {
            return Err(AllRejected { rejected: set.rejected });
        }
        Ok(set)
    }
}

/// The value `asked` for `param`, as far as one suggestion may take it from `from`: clamped
/// into the range, the move limited to a step ([`max_step`]), with what had to change.
fn checked(param: ParamId, asked: f64, from: f32) -> (f32, Vec<Adjustment>) {
    let spec = param.spec();
    let mut adjustments = Vec::new();
    let (min, max) = spec.range();
    let mut to = spec.clamp(asked as f32);
    if (to as f64 - asked).abs() > 1e-6 * (max - min) as f64 {
        adjustments.push(Adjustment::Clamped { asked });
    }
    if let Some(limit) = max_step(param) {
        if (to - from).abs() > limit {
            adjustments.push(Adjustment::StepLimited { asked, limit });
            to = from + limit.copysign(to - from);
        }
    }
    (to, adjustments)
}

/// Adds the reason of a merged duplicate to `reason`, up to [`MAX_REASON_CHARS`] in all ("…"
/// once full): a reply repeating one parameter ten thousand times keeps one short reason.
fn merge_reason(reason: &mut String, more: &str) {
    if more.is_empty() || reason == more || reason.chars().count() >= MAX_REASON_CHARS {
        return;
    }
    let merged = if reason.is_empty() { more.to_string() } else { format!("{reason}; {more}") };
    *reason = excerpt_to(&merged, MAX_REASON_CHARS).into_owned();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(param: &str, value: Option<WireValue>, delta: Option<f64>) -> WireChange {
        WireChange { param: param.into(), value, delta, reason: "test".into(), evidence: None }
    }

    fn validate(changes: Vec<WireChange>) -> Result<ChangeSet, AllRejected> {
        let reply = WireReply { message: String::new(), changes };
        ChangeSet::try_from(Proposal { reply: &reply, current: &Settings::default() })
    }

    #[test]
    fn values_in_plain_units_by_id_or_friendly_name() {
        let set = validate(vec![
            change("aigus", None, Some(2.0)),
            change("b1_freq", Some(WireValue::Text("250 Hz".into())), None),
            change("largeur stéréo", Some(WireValue::Number(120.0)), None),
            change("compresseur", Some(WireValue::Bool(true)), None),
        ])
        .unwrap();
        let got: Vec<(ParamId, f32)> = set.changes().iter().map(|c| (c.param, c.to)).collect();
        assert_eq!(
            got,
            vec![
                (ParamId::HighShelfGain, 2.0),
                (ParamId::Bell1Freq, 250.0),
                (ParamId::Width, 1.2),
                (ParamId::CompOn, 1.0)
            ]
        );
        assert!(set.changes().iter().all(|c| c.adjustments.is_empty()));
    }

    #[test]
    fn unknown_and_unreadable_are_refused_with_reasons() {
        let set = validate(vec![
            change("reverb", Some(WireValue::Number(1.0)), None),
            change("b2_gain", Some(WireValue::Text("loud".into())), None),
            change("b2_gain", None, Some(f64::NAN)),
            change("b2_gain", Some(WireValue::Number(1.0)), Some(1.0)),
            change("cmp_on", None, Some(1.0)),
            change("b1_gain", None, Some(-3.0)),
        ])
        .unwrap();
        assert_eq!(set.changes().len(), 1);
        let reasons: Vec<&str> = set.rejected().iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(reasons.len(), 5, "{reasons:?}");
        assert_eq!(reasons[0], "unknown parameter");
        let err = validate(vec![change("reverb", Some(WireValue::Number(1.0)), None)]).unwrap_err();
        assert!(err.to_string().contains("reverb (unknown parameter)"), "{err}");
    }

    #[test]
    fn out_of_range_is_clamped_and_big_steps_are_limited() {
        let set = validate(vec![
            change("b2_gain", Some(WireValue::Number(30.0)), None),
            change("hp_freq", Some(WireValue::Number(5.0)), None),
            change("pan", Some(WireValue::Number(-3.0)), None),
        ])
        .unwrap();
        let c = &set.changes()[0];
        assert_eq!((c.param, c.from, c.to), (ParamId::Bell2Gain, 0.0, 6.0));
        assert_eq!(
            c.adjustments,
            vec![Adjustment::Clamped { asked: 30.0 }, Adjustment::StepLimited { asked: 30.0, limit: 6.0 }]
        );
        let hp = &set.changes()[1];
        assert_eq!(hp.to, 20.0);
        assert_eq!(hp.adjustments, vec![Adjustment::Clamped { asked: 5.0 }]);
        assert_eq!(set.changes()[2].to, -1.0, "from the centre, the pan reaches a side in one move");
        // From one side, it moves at most to the centre; the width goes up by 100 points at
        // most (from 50 %: to 150 %), down to mono at once.
        let hard_right = Settings::default().with(ParamId::Pan, 1.0).with(ParamId::Width, 0.5);
        let reply = WireReply {
            message: String::new(),
            changes: vec![
                change("pan", Some(WireValue::Number(-1.0)), None),
                change("width", Some(WireValue::Number(200.0)), None),
            ],
        };
        let set = ChangeSet::try_from(Proposal { reply: &reply, current: &hard_right }).unwrap();
        assert_eq!((set.changes()[0].to, set.changes()[1].to), (0.0, 1.5));
        assert_eq!(validate(vec![change("width", Some(WireValue::Number(0.0)), None)]).unwrap().changes()[0].to, 0.0);
    }

    #[test]
    fn ten_thousand_duplicates_merge_into_one_short_reason() {
        let many: Vec<WireChange> = (0..10_000)
            .map(|i| WireChange { reason: format!("reason number {i}"), ..change("b1_gain", None, Some(100.0)) })
            .collect();
        let started = std::time::Instant::now();
        let set = validate(many).unwrap();
        println!("10,000 duplicates merged in {:?}", started.elapsed());
        assert!(started.elapsed().as_secs_f64() < 5.0, "{:?}", started.elapsed());
        let c = &set.changes()[0];
        assert_eq!((set.changes().len(), c.to), (1, 6.0), "each +100 dB clamped and step-limited");
        assert_eq!(c.reason.chars().count(), MAX_REASON_CHARS + 1, "{}", c.reason);
        assert!(c.reason.starts_with("reason number 0; reason number 1; ") && c.reason.ends_with('…'));
        assert_eq!(c.adjustments.len(), MAX_ADJUSTMENTS);
        // A refusal list in an error names a few and counts the rest.
        let unknown: Vec<WireChange> = (0..1000).map(|i| change(&format!("knob{i}"), None, Some(1.0))).collect();
        let err = validate(unknown).unwrap_err().to_string();
        assert!(err.ends_with("knob4 (unknown parameter); and 995 more"), "{err}");
        let long = change(&"x".repeat(5_000_000), None, Some(1.0));
        let err = validate(vec![long]).unwrap_err();
        assert_eq!(err.rejected[0].param.chars().count(), MAX_PARAM_CHARS + 1);
    }

    #[test]
    fn duplicates_merge_noops_vanish_and_the_count_is_capped() {
        let set = validate(vec![
            change("b1_gain", None, Some(-2.0)),
            change("bell 1 gain", None, Some(-1.0)),
            change("b2_gain", Some(WireValue::Number(0.0)), None),
        ])
        .unwrap();
        assert_eq!(set.changes().len(), 1);
        assert_eq!(set.changes()[0].to, -3.0, "the second delta starts where the first left it");
        let many: Vec<WireChange> = ["b1_gain", "b2_gain", "ls_gain", "hs_gain", "out_gain", "in_gain", "cmp_mkup"]
            .iter()
            .map(|p| change(p, None, Some(1.0)))
            .collect();
        let set = validate(many).unwrap();
        assert_eq!(set.changes().len(), MAX_CHANGES);
        assert_eq!(set.rejected().len(), 1);
    }

    #[test]
    fn the_cap_keeps_the_level_move_and_refuses_whole_tone_moves() {
        let tone = |param: &str, reason: &str| WireChange { reason: reason.into(), ..change(param, None, Some(-2.0)) };
        // Eight tone moves (four bands, two changes each, the level move proposed last).
        let mut changes = Vec::new();
        for (band, hz) in [("b1", 250.0), ("b2", 3500.0), ("ls", 80.0), ("hs", 9500.0)] {
            let reason = format!("tone at {hz} Hz");
            changes.push(WireChange {
                value: Some(WireValue::Number(hz)),
                delta: None,
                ..tone(&format!("{band}_freq"), &reason)
            });
            changes.push(tone(&format!("{band}_gain"), &reason));
        }
        changes.push(WireChange {
            evidence: Some(Evidence { finding: Some("clipping".into()), ..Default::default() }),
            ..tone("out_gain", "clipping")
        });
        let set = validate(changes).unwrap();
        let kept: Vec<ParamId> = set.changes().iter().map(|c| c.param).collect();
        assert!(kept.contains(&ParamId::OutputGain), "{set}");
        assert_eq!(kept.len(), 5, "two whole bands and the output: {set}");
        assert_eq!(&kept[..4], [ParamId::Bell1Freq, ParamId::Bell1Gain, ParamId::Bell2Freq, ParamId::Bell2Gain]);
        let refused: Vec<&str> = set.rejected().iter().map(|r| r.param.as_str()).collect();
        assert_eq!(refused, ["ls_freq", "ls_gain", "hs_freq", "hs_gain"]);
        assert!(set.rejected()[0].reason.contains("a tone move gives way"), "{}", set.rejected()[0].reason);
        assert_eq!(priority(set.changes().last().unwrap()), Priority::Safety);
        // Moves: a band's changes are one, whatever their reasons say.
        let bands = validate(vec![tone("b1_gain", "a"), tone("b2_gain", "b"), tone("b1_q", "c")]).unwrap();
        assert_eq!(bands.moves(), vec![vec![0, 2], vec![1]]);
    }

    #[test]
    fn the_inverse_undoes_the_set() {
        let set =
            validate(vec![change("b1_gain", None, Some(-3.0)), change("width", Some(WireValue::Number(150.0)), None)])
                .unwrap();
        let mut s = Settings::default();
        set.apply(&mut s);
        assert_eq!(s.get(ParamId::Bell1Gain), -3.0);
        assert_eq!(s.get(ParamId::Width), 1.5);
        set.inverse().apply(&mut s);
        assert_eq!(s, Settings::default());
    }

    #[test]
    fn a_stored_change_is_checked_as_a_reply_is_and_a_validated_one_reads_back_unchanged() {
        let set = validate(vec![
            change("b2_gain", Some(WireValue::Number(30.0)), None),
            change("hp_freq", Some(WireValue::Number(5.0)), None),
            change("out_gain", None, Some(-40.0)),
            WireChange { reason: "x".repeat(2 * MAX_REASON_CHARS), ..change("width", None, Some(30.0)) },
        ])
        .unwrap();
        for c in set.changes() {
            let back = Change::restore(c.param.spec().id, c.from, c.to, &c.reason).unwrap();
            assert_eq!((back.param, back.from, back.to, &back.reason), (c.param, c.from, c.to, &c.reason));
            assert!(back.adjustments.is_empty(), "{back:?}");
        }
        // Edited by hand: clamped and step-limited from a `from` brought into range, or refused.
        let c = Change::restore("pan", 5.0, -7.0, "r").unwrap();
        assert_eq!((c.param, c.from, c.to), (ParamId::Pan, 1.0, 0.0));
        assert_eq!(
            c.adjustments,
            vec![Adjustment::Clamped { asked: -7.0 }, Adjustment::StepLimited { asked: -7.0, limit: 1.0 }]
        );
        assert_eq!(Change::restore("ds_on", 0.0, 0.7, "r").unwrap().to, 1.0);
        let refused = |param: &str, from: f32, to: f32| Change::restore(param, from, to, "r").unwrap_err().reason;
        assert_eq!(refused("reverb", 0.0, 1.0), "unknown parameter");
        assert_eq!(refused("aigus", 0.0, 1.0), "unknown parameter", "stored by id only");
        assert_eq!(refused("b1_gain", f32::NAN, 1.0), "the value is not a finite number");
        assert_eq!(refused("b1_gain", 0.0, f32::INFINITY), "the value is not a finite number");
        assert_eq!(refused("b1_gain", -2.0, -2.0), "no change");
        let long = Change::restore("b1_gain", 0.0, -1.0, &"y".repeat(5_000_000)).unwrap();
        assert_eq!(long.reason.chars().count(), MAX_REASON_CHARS + 2);
    }

    #[test]
    fn picked_changes_apply_as_validated_from_the_values_now() {
        let set = validate(vec![change("b1_gain", None, Some(-3.0)), change("pan", None, Some(-0.3))]).unwrap();
        let mut now = Settings::default();
        now.set(ParamId::Bell1Gain, -10.0);
        now.set(ParamId::Pan, -0.3);
        let picked = ChangeSet::picked(set.changes(), &now);
        let got: Vec<(ParamId, f32, f32)> = picked.changes().iter().map(|c| (c.param, c.from, c.to)).collect();
        assert_eq!(got, [(ParamId::Bell1Gain, -10.0, -3.0)], "not step-limited again; the pan already there");
        picked.inverse().apply(&mut now);
        assert_eq!(now.get(ParamId::Bell1Gain), -10.0);
        // Only kept inside the range, whatever a caller made.
        let wild = Change { to: 1e9, ..set.changes()[0].clone() };
        assert_eq!(ChangeSet::picked([&wild], &Settings::default()).changes()[0].to, 18.0);
    }

    #[test]
    fn replies_parse_from_json_and_refuse_unknown_fields() {
        let json = r#"{"message":"Less mud.","changes":[{"param":"b1_gain","delta":-3,"reason":"mud at 250 Hz",
            "evidence":{"finding":"mud","from_s":12.0,"to_s":30.5,"value":4.1,"unit":"dB"}}]}"#;
        let reply: WireReply = serde_json::from_str(json).unwrap();
        assert_eq!(reply.changes[0].evidence.as_ref().unwrap().value, Some(4.1));
        assert!(serde_json::from_str::<WireReply>(r#"{"message":"x","exec":"rm -rf /"}"#).is_err());
        // The strict form of `assets/schema/reply.schema.json`: every field present, nulls.
        let strict = r#"{"message":"ok","changes":[{"param":"hs_gain","value":null,"delta":1.5,"reason":"dull",
            "evidence":{"finding":"dull_top","from_s":null,"to_s":null,"value":-4.0,"unit":"dB"}}]}"#;
        let reply: WireReply = serde_json::from_str(strict).unwrap();
        assert_eq!((reply.changes[0].value.clone(), reply.changes[0].delta), (None, Some(1.5)));
    }
}
