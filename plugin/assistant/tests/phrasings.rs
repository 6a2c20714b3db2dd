//! The phrasing set of direct commands (`assets/phrasings/{fr,en}.tsv`, format and split in
//! `docs/commands.md`) through the real engine and validator, scored per half and language.
//!
//! Each line starts from the same settings (plus its `given` column), goes through
//! [`respond`] as a chat message does, and, when the engine reads it as a command, through
//! [`ChangeSet::try_from`]; the settings after are compared with what the line expects:
//! * right: every expected parameter moved as expected, and nothing else moved but the
//!   switch of an expected parameter's stage (turned on);
//! * limited: moved the right way, but the validator's step limit ([`max_step`], shown to
//!   the musician as an adjustment) stopped it short of what was asked;
//! * miss: nothing moved, or only part of what was expected (the engine then answers with
//!   help, or a model does);
//! * wrong parameter / wrong sign / wrong amount: a move the musician did not ask for. These
//!   must never happen, on either half.
//!
//! `PHRASINGS_HALF=tuning` scores the tuning half only and lists its failures (the held-out
//! half and the fresh sets are then neither run nor shown: they are for judging, not for
//! tuning).

use audiocollab_assistant::actions::{Adjustment, ChangeSet, Proposal};
use audiocollab_assistant::engine::{respond, Context, Understood};
use audiocollab_core::spec::{Format, Kind, ParamId, Settings};
use std::fmt;

/// What a line expects of one parameter, in display units (dB, Hz, ms, ratio, % for width,
/// mix and pan, on/off for switches).
#[derive(Clone, Copy, Debug)]
enum Want {
    /// Ends at this value.
    Value(f64),
    /// Moves by this much.
    Delta(f64),
    /// Moves up (`small`: by at most [`SMALL_DB`]).
    Up { small: bool },
    /// Moves down (`small`: by at most [`SMALL_DB`]).
    Down { small: bool },
}

/// The largest move "a bit" / "un peu" may make, dB.
const SMALL_DB: f32 = 1.5;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Right,
    Limited,
    Miss,
    WrongAmount,
    WrongSign,
    WrongParam,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Right => "right",
            Outcome::Limited => "limited by the step cap",
            Outcome::Miss => "miss",
            Outcome::WrongAmount => "WRONG AMOUNT",
            Outcome::WrongSign => "WRONG SIGN",
            Outcome::WrongParam => "WRONG PARAMETER",
        })
    }
}

struct Line {
    number: usize,
    family: String,
    phrase: String,
    want: Vec<(ParamId, Want)>,
    given: Vec<(ParamId, f32)>,
    held_out: bool,
}

/// Which lines of a file are scored.
#[derive(Clone, Copy, PartialEq)]
enum Half {
    Tuning,
    HeldOut,
}

/// A display value ("120" for width, "on" for a switch) in the parameter's plain unit.
fn plain(param: ParamId, text: &str) -> f32 {
    let spec = param.spec();
    match (spec.kind, text) {
        (Kind::Toggle, "on") => 1.0,
        (Kind::Toggle, "off") => 0.0,
        _ => {
            let v: f32 = text.parse().unwrap_or_else(|_| panic!("bad number {text:?}"));
            match spec.format {
                Format::Percent | Format::Pan => v / 100.0,
                _ => v,
            }
        }
    }
}

fn param(id: &str) -> ParamId {
    ParamId::from_id(id).unwrap_or_else(|| panic!("unknown parameter id {id:?}"))
}

/// One expectation: `id=V`, `id+V`, `id-V`, `id+`, `id-`, `id+s`, `id-s`.
fn want(word: &str) -> (ParamId, Want) {
    if let Some((id, v)) = word.split_once('=') {
        let p = param(id);
        return (p, Want::Value(plain(p, v) as f64));
    }
    let at = word.find(['+', '-']).unwrap_or_else(|| panic!("bad expectation {word:?}"));
    let (id, rest) = word.split_at(at);
    let p = param(id);
    let up = rest.starts_with('+');
    let w = match &rest[1..] {
        "" => {
            if up {
                Want::Up { small: false }
            } else {
                Want::Down { small: false }
            }
        }
        "s" => {
            if up {
                Want::Up { small: true }
            } else {
                Want::Down { small: true }
            }
        }
        v => {
            let d = plain(p, v) as f64;
            Want::Delta(if up { d } else { -d })
        }
    };
    (p, w)
}

/// The lines of a file; `all_held_out` for a fresh set, else the alternating split.
fn read(text: &str, all_held_out: bool) -> Vec<Line> {
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.trim();
        if raw.is_empty() || raw.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = raw.split(" | ").map(str::trim).collect();
        assert!((3..=4).contains(&cols.len()), "line {}: {raw:?}", i + 1);
        let given = cols
            .get(3)
            .map(|g| {
                g.split_whitespace()
                    .map(|w| {
                        let (id, v) = w.split_once('=').expect("given: id=value");
                        let p = param(id);
                        (p, plain(p, v))
                    })
                    .collect()
            })
            .unwrap_or_default();
        // The split: data lines alternate, tuning first.
        let held_out = all_held_out || lines.len() % 2 == 1;
        lines.push(Line {
            number: i + 1,
            family: cols[0].into(),
            phrase: cols[1].into(),
            want: cols[2].split_whitespace().map(want).collect(),
            given,
            held_out,
        });
    }
    lines
}

/// The settings every line starts from: the defaults with the compressor and de-esser on, so
/// that switching them off is a change.
fn base() -> Settings {
    Settings::default().with(ParamId::CompOn, 1.0).with(ParamId::DeessOn, 1.0)
}

/// The stage switch of a parameter (`b1_gain` → `b1_on`), if it has one.
fn stage_switch(p: ParamId) -> Option<ParamId> {
    let id = p.spec().id;
    let (prefix, _) = id.split_once('_')?;
    ParamId::from_id(&format!("{prefix}_on")).filter(|&s| s != p)
}

/// What the engine does with the line, and how that compares with what it expects.
fn score(line: &Line) -> (Outcome, String) {
    let mut start = base();
    for &(p, v) in &line.given {
        start.set(p, v);
    }
    let ctx = Context { analysis: None, segment: None, settings: &start, lang: None };
    let answer = respond(&line.phrase, &ctx);
    let mut end = start;
    let mut limited = Vec::new();
    if answer.understood == Understood::Command {
        if let Ok(set) = ChangeSet::try_from(Proposal { reply: &answer.reply, current: &start }) {
            set.apply(&mut end);
            limited.extend(
                set.changes()
                    .iter()
                    .filter(|c| c.adjustments.iter().any(|a| matches!(a, Adjustment::StepLimited { .. })))
                    .map(|c| c.param),
            );
        }
    }
    let moved: Vec<ParamId> = ParamId::ALL.iter().copied().filter(|&p| start.get(p) != end.get(p)).collect();
    let shown: Vec<String> = moved
        .iter()
        .map(|&p| format!("{} {}→{}", p.spec().id, p.spec().format(start.get(p)), p.spec().format(end.get(p))))
        .collect();
    let got =
        format!("{:?}: {}", answer.understood, if shown.is_empty() { "nothing".into() } else { shown.join(", ") });
    if moved.is_empty() {
        return (Outcome::Miss, got);
    }
    let mut outcome = Outcome::Right;
    let mut worse = |o: Outcome| outcome = outcome.max(o);
    for &p in &moved {
        let expected = line.want.iter().any(|&(w, _)| w == p);
        let switch_on = end.get(p) == 1.0 && line.want.iter().any(|&(w, _)| stage_switch(w) == Some(p));
        if !expected && !switch_on {
            worse(Outcome::WrongParam);
        }
    }
    for &(p, w) in &line.want {
        let (from, to) = (start.get(p) as f64, end.get(p) as f64);
        let d = to - from;
        let near = |a: f64, b: f64| (a - b).abs() <= 0.01 * (1.0 + b.abs() * 0.001);
        let target = match w {
            Want::Value(v) => Some(v),
            Want::Delta(v) => Some(from + v),
            _ => None,
        };
        let o = if let Some(t) = target {
            if near(to, t) {
                Outcome::Right
            } else if d == 0.0 {
                Outcome::Miss
            } else if (t - from).signum() != d.signum() {
                Outcome::WrongSign
            } else if limited.contains(&p) {
                Outcome::Limited
            } else {
                Outcome::WrongAmount
            }
        } else {
            let (up, small) = match w {
                Want::Up { small } => (true, small),
                Want::Down { small } => (false, small),
                _ => unreachable!(),
            };
            let is_db = p.spec().format == Format::Decibels;
            if d == 0.0 {
                Outcome::Miss
            } else if (d > 0.0) != up {
                Outcome::WrongSign
            } else if small && is_db && d.abs() > f64::from(SMALL_DB) + 1e-6 {
                Outcome::WrongAmount
            } else {
                Outcome::Right
            }
        };
        worse(o);
    }
    (outcome, got)
}

struct Tally {
    total: usize,
    counts: [usize; 6],
}

impl Tally {
    fn right(&self) -> usize {
        self.counts[0]
    }
    fn share(&self) -> f64 {
        self.right() as f64 / self.total.max(1) as f64
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [right, limited, miss, amount, sign, param] = self.counts;
        write!(
            f,
            "{right}/{} right ({:.1} %), {limited} limited by the step cap, {miss} missed, \
             wrong: {param} parameter, {sign} sign, {amount} amount",
            self.total,
            100.0 * self.share()
        )
    }
}

/// Scores one language's lines of one half; the failures listed in `report`.
fn run_half(lines: &[Line], half: Half, report: &mut Vec<String>, wrongs: &mut Vec<String>) -> Tally {
    let mut tally = Tally { total: 0, counts: [0; 6] };
    for line in lines.iter().filter(|l| l.held_out == (half == Half::HeldOut)) {
        let (outcome, got) = score(line);
        tally.total += 1;
        tally.counts[outcome as usize] += 1;
        if outcome != Outcome::Right {
            let text = format!("  line {} [{}] {:?}: {outcome}; {got}", line.number, line.family, line.phrase);
            if outcome > Outcome::Miss {
                wrongs.push(text.clone());
            }
            report.push(text);
        }
    }
    tally
}

#[test]
fn phrasings_move_the_right_parameter_the_right_way() {
    let tuning_only = std::env::var("PHRASINGS_HALF").is_ok_and(|h| h == "tuning");
    let sets = [
        ("French", read(include_str!("../../../assets/phrasings/fr.tsv"), false)),
        ("English", read(include_str!("../../../assets/phrasings/en.tsv"), false)),
    ];
    let fresh = [
        ("French", read(include_str!("../../../assets/phrasings/fr.fresh.tsv"), true)),
        ("English", read(include_str!("../../../assets/phrasings/en.fresh.tsv"), true)),
    ];
    let mut wrongs = Vec::new();
    let mut held_out_shares = Vec::new();
    for (language, lines) in &sets {
        assert!(lines.len() >= 200, "{language}: {} lines", lines.len());
        let mut failures = Vec::new();
        let tuning = run_half(lines, Half::Tuning, &mut failures, &mut wrongs);
        println!("{language}, tuning half: {tuning}");
        if tuning_only {
            println!("{}", failures.join("\n"));
            continue;
        }
        let held = run_half(lines, Half::HeldOut, &mut failures, &mut wrongs);
        println!("{language}, held-out half: {held}");
        println!("{}", failures.join("\n"));
        held_out_shares.push((language, held.share()));
    }
    if !tuning_only {
        for (language, lines) in &fresh {
            let mut failures = Vec::new();
            let tally = run_half(lines, Half::HeldOut, &mut failures, &mut wrongs);
            println!("{language}, fresh set: {tally}\n{}", failures.join("\n"));
        }
    }
    assert!(wrongs.is_empty(), "moves nobody asked for:\n{}", wrongs.join("\n"));
    for (language, share) in held_out_shares {
        assert!(share >= 0.90, "{language}: {:.1} % of the held-out half right, under 90 %", 100.0 * share);
    }
}
