//! The rules: was the defect detected, fixed, made worse? Everything is read from the
//! evaluation's own [`Measures`] of the clean excerpt, the defective input and the product's
//! render, plus the findings `analyze --json` reported on the input.
//!
//! - **Detected**: a finding of one of the defect's expected kinds
//!   ([`Defect::expected_findings`]) as a warning or a problem.
//! - **Error** (per kind, the distance from the clean excerpt that the defect made):
//!   - tonal: the mean, over the bands where the injected filter's response is at least half its
//!     gain ("affected"), of the band level against the clean excerpt's, after removing the
//!     overall level change (the median difference over the bands the filter moves by less
//!     than 0.5 dB), dB;
//!   - level: integrated loudness against the −14 LUFS target, LU;
//!   - clipping: true peak, dBTP; DC: the larger channel mean, % of full scale;
//!   - polarity: the L/R correlation against the clean excerpt's;
//!   - narrow, wide: the side-to-mid ratio against the clean excerpt's, dB.
//! - **Fixed** (the rule): tonal, narrow, wide: |error| ≤ 1.5 dB or ≤ 40 % of the
//!   input's (60 % of the way back); level: within ±1 LU of the target, or below it with the true
//!   peak within 1 dB of the −1 dBTP ceiling (held by it); clipping: true peak ≤ −1 dBTP (0.1 dB
//!   of meter tolerance); DC: ≤ 0.1 % or ≤ 40 % of the input's; polarity: within 0.1 of the
//!   clean correlation or 60 % of the way ("undone"). And not made worse.
//! - **Made worse**: the error grew (tonal and stereo: by more than 1 dB; level: by more than
//!   1 LU, unless held by the ceiling; clipping: true peak up by more than 0.5 dB; DC: by more
//!   than 10 %; polarity: by more than 0.1); or the rest of the spectrum moved (the RMS, over the
//!   bands the defect left alone, of the shape difference from the clean excerpt grew by more
//!   than 1.5 dB); or the true peak went more than 0.5 dB above both the input's and the
//!   −1 dBTP ceiling.

use serde::Serialize;

use super::defects::{Defect, Kind};
use super::measure::{band_centres, Measures};
use super::pipeline::{Finding, CEILING_DBTP, TARGET_LUFS};

/// Tonal, narrow, wide: fixed within this of the clean excerpt, dB.
pub const FIX_TOLERANCE_DB: f64 = 1.5;
/// Or this share of the input's error left (60 % of the way back).
pub const FIX_SHARE_LEFT: f64 = 0.4;
/// Level: fixed within this of the target, LU.
pub const LEVEL_TOLERANCE_LU: f64 = 1.0;
/// Level: "held by the ceiling" when the true peak is within this of it, dB.
pub const HELD_WITHIN_DB: f64 = 1.0;
/// True-peak meter tolerance, dB.
pub const TP_TOLERANCE_DB: f64 = 0.1;
/// The rest of the spectrum "moved" when its shape error grew by more than this, dB RMS.
pub const COLLATERAL_DB: f64 = 1.5;
/// A band counts as affected by a filter whose response there is at least this share of its gain.
const AFFECTED_SHARE: f64 = 0.5;
/// A band counts as untouched by a filter whose response there is below this, dB.
const UNTOUCHED_DB: f64 = 0.5;

/// The verdict on one case.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// An expected finding was reported (always false for a clean excerpt).
    pub detected: bool,
    /// The render undid the defect by the rule of its kind (whatever else it did).
    pub undone: bool,
    /// Undone, and nothing made worse.
    pub fixed: bool,
    /// The render made it worse.
    pub worse: bool,
    /// The defect itself grew (the first of the reasons for "worse"; the others are the rest
    /// of the spectrum and the true peak).
    pub grew: bool,
    /// Why it is worse, when it is.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub worse_because: Vec<String>,
    /// The error of the input and of the render (see the module's notes; `None` on a clean
    /// excerpt or when a level cannot be measured).
    pub error_before: Option<f64>,
    /// See `error_before`.
    pub error_after: Option<f64>,
    /// Shape error of the bands the defect left alone, dB RMS, input and render.
    pub collateral_before: f64,
    /// See `collateral_before`.
    pub collateral_after: f64,
}

/// Judges one case. `defect` is `None` for a clean excerpt (then only "made worse" applies:
/// the render moved the spectrum or pushed the true peak over the ceiling).
pub fn judge(
    defect: Option<&Defect>,
    rate: u32,
    clean: &Measures,
    input: &Measures,
    output: &Measures,
    findings: &[Finding],
) -> Verdict {
    let centres = band_centres(rate);
    let response: Vec<f64> = match defect.and_then(|d| d.filter(rate)) {
        Some(f) => centres.iter().map(|&c| f.response_db(f64::from(rate), c)).collect(),
        None => vec![0.0; centres.len()],
    };
    let gain = defect.and_then(|d| d.gain_db).unwrap_or(0.0);
    let is_tonal = defect.is_some_and(|d| d.kind.is_tonal());
    let affected: Vec<bool> = response.iter().map(|r| is_tonal && r.abs() >= AFFECTED_SHARE * gain.abs()).collect();
    let untouched: Vec<bool> = response.iter().map(|r| r.abs() < UNTOUCHED_DB).collect();
    let collateral_before = shape_rms(&clean.bands_db, &input.bands_db, &untouched);
    let collateral_after = shape_rms(&clean.bands_db, &output.bands_db, &untouched);

    let mut worse_because = Vec::new();
    if collateral_after > collateral_before + COLLATERAL_DB {
        worse_because.push(format!(
            "the rest of the spectrum moved: {collateral_before:.1} → {collateral_after:.1} dB RMS from the clean excerpt"
        ));
    }
    if output.true_peak_dbtp > input.true_peak_dbtp.max(CEILING_DBTP) + 0.5 {
        worse_because.push(format!(
            "true peak raised over the ceiling: {:.1} → {:.1} dBTP",
            input.true_peak_dbtp, output.true_peak_dbtp
        ));
    }

    let Some(defect) = defect else {
        return Verdict {
            detected: false,
            undone: false,
            fixed: false,
            worse: !worse_because.is_empty(),
            grew: false,
            worse_because,
            error_before: None,
            error_after: None,
            collateral_before,
            collateral_after,
        };
    };

    let detected = findings.iter().any(|f| {
        defect.expected_findings().contains(&f.kind.as_str()) && matches!(f.severity.as_str(), "warning" | "problem")
    });
    let share_rule = |before: f64, after: f64, tolerance: f64| {
        after.abs() <= tolerance || after.abs() <= FIX_SHARE_LEFT * before.abs()
    };
    let held =
        |m: &Measures| m.lufs.is_some_and(|l| l < TARGET_LUFS) && m.true_peak_dbtp >= CEILING_DBTP - HELD_WITHIN_DB;
    let (before, after, fixed_primary, worse_primary) = match defect.kind {
        k if k.is_tonal() => {
            let (b, a) = (
                band_error(&clean.bands_db, &input.bands_db, &affected, &untouched),
                band_error(&clean.bands_db, &output.bands_db, &affected, &untouched),
            );
            (Some(b), Some(a), share_rule(b, a, FIX_TOLERANCE_DB), a.abs() > b.abs() + 1.0)
        }
        Kind::LevelDown | Kind::LevelUp => {
            let (b, a) = (input.lufs.map(|l| l - TARGET_LUFS), output.lufs.map(|l| l - TARGET_LUFS));
            let fixed = a.is_some_and(|a| a.abs() <= LEVEL_TOLERANCE_LU) || held(output);
            let worse = match (b, a) {
                (Some(b), Some(a)) => a.abs() > b.abs() + 1.0 && !held(output),
                _ => true,
            };
            (b, a, fixed, worse)
        }
        Kind::Clipping => {
            let (b, a) = (input.true_peak_dbtp, output.true_peak_dbtp);
            (Some(b), Some(a), a <= CEILING_DBTP + TP_TOLERANCE_DB, a > b + 0.5)
        }
        Kind::Dc => {
            let dc = |m: &Measures| 100.0 * m.dc[0].abs().max(m.dc[1].abs());
            let (b, a) = (dc(input), dc(output));
            (Some(b), Some(a), a <= 0.1 || a <= FIX_SHARE_LEFT * b, a > 1.1 * b)
        }
        Kind::Polarity => {
            let (b, a) = (input.correlation - clean.correlation, output.correlation - clean.correlation);
            (Some(b), Some(a), share_rule(b, a, 0.1), a.abs() > b.abs() + 0.1)
        }
        Kind::Narrow | Kind::Wide => {
            let (b, a) = (input.side_to_mid_db - clean.side_to_mid_db, output.side_to_mid_db - clean.side_to_mid_db);
            (Some(b), Some(a), share_rule(b, a, FIX_TOLERANCE_DB), a.abs() > b.abs() + 1.0)
        }
        _ => unreachable!("every kind is handled"),
    };
    if worse_primary {
        worse_because.insert(
            0,
            format!(
                "the defect grew: {} → {}",
                before.map_or("-".into(), |b| format!("{b:.2}")),
                after.map_or("-".into(), |a| format!("{a:.2}"))
            ),
        );
    }
    let worse = !worse_because.is_empty();
    Verdict {
        detected,
        undone: fixed_primary,
        fixed: fixed_primary && !worse,
        worse,
        grew: worse_primary,
        worse_because,
        error_before: before,
        error_after: after,
        collateral_before,
        collateral_after,
    }
}

/// Band differences from `clean`, less their median over `reference` bands (the overall level
/// change).
fn shape(clean: &[f64], other: &[f64], reference: &[bool]) -> Vec<f64> {
    let diff: Vec<f64> = clean.iter().zip(other).map(|(c, o)| o - c).collect();
    let mut refs: Vec<f64> = diff.iter().zip(reference).filter(|(_, &r)| r).map(|(d, _)| *d).collect();
    refs.sort_by(f64::total_cmp);
    let median = if refs.is_empty() { 0.0 } else { refs[refs.len() / 2] };
    diff.iter().map(|d| d - median).collect()
}

/// Mean shape difference over the `affected` bands, dB.
fn band_error(clean: &[f64], other: &[f64], affected: &[bool], untouched: &[bool]) -> f64 {
    let s = shape(clean, other, untouched);
    let picked: Vec<f64> = s.iter().zip(affected).filter(|(_, &a)| a).map(|(d, _)| *d).collect();
    if picked.is_empty() {
        0.0
    } else {
        picked.iter().sum::<f64>() / picked.len() as f64
    }
}

/// RMS of the shape difference over the `untouched` bands, dB.
fn shape_rms(clean: &[f64], other: &[f64], untouched: &[bool]) -> f64 {
    let s = shape(clean, other, untouched);
    let picked: Vec<f64> = s.iter().zip(untouched).filter(|(_, &u)| u).map(|(d, _)| d * d).collect();
    if picked.is_empty() {
        0.0
    } else {
        (picked.iter().sum::<f64>() / picked.len() as f64).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measures(bands: Vec<f64>, lufs: f64, tp: f64) -> Measures {
        Measures {
            bands_db: bands,
            lufs: Some(lufs),
            true_peak_dbtp: tp,
            dc: [0.0; 2],
            side_to_mid_db: -12.0,
            correlation: 0.8,
        }
    }

    #[test]
    fn a_bell_undone_is_fixed_one_doubled_is_worse() {
        let rate = 48_000;
        let d = Defect { kind: Kind::BellBoost, freq_hz: Some(1000.0), gain_db: Some(6.0), q: Some(2.0), amount: None };
        let f = d.filter(rate).unwrap();
        let centres = band_centres(rate);
        let clean: Vec<f64> = centres.iter().map(|c| -c.log10() * 3.0).collect();
        let with = |times: f64, offset: f64| -> Vec<f64> {
            clean.iter().zip(&centres).map(|(l, &c)| l + times * f.response_db(48_000.0, c) + offset).collect()
        };
        let clean_m = measures(clean.clone(), -10.0, -1.0);
        let input = measures(with(1.0, 0.0), -9.0, -0.5);
        let findings = [Finding { kind: "boxiness".into(), severity: "warning".into() }];
        // Undone, and 3 dB quieter overall: fixed (the level change is not a tonal error).
        let v = judge(Some(&d), rate, &clean_m, &input, &measures(with(0.0, -3.0), -13.0, -4.0), &findings);
        assert!(v.detected && v.fixed && !v.worse, "{v:?}");
        assert!(v.error_before.unwrap() > 4.0 && v.error_after.unwrap().abs() < 1e-9);
        // Doubled: worse.
        let v = judge(Some(&d), rate, &clean_m, &input, &measures(with(2.0, 0.0), -8.0, 0.0), &[]);
        assert!(!v.detected && !v.fixed && v.worse, "{v:?}");
        // Undone, but a 6 dB dent elsewhere: not fixed, worse.
        let mut dented = with(0.0, 0.0);
        dented[2] -= 9.0;
        dented[3] -= 9.0;
        let v = judge(Some(&d), rate, &clean_m, &input, &measures(dented, -10.0, -1.0), &findings);
        assert!(!v.fixed && v.worse, "{v:?}");
    }

    #[test]
    fn level_rules() {
        let rate = 48_000;
        let d = Defect { kind: Kind::LevelDown, freq_hz: None, gain_db: Some(-14.0), q: None, amount: None };
        let bands = vec![0.0; band_centres(rate).len()];
        let clean = measures(bands.clone(), -9.0, -0.3);
        let input = measures(bands.clone(), -28.0, -14.3);
        let at_target = measures(bands.clone(), -14.4, -5.0);
        assert!(judge(Some(&d), rate, &clean, &input, &at_target, &[]).fixed);
        let held = measures(bands.clone(), -16.0, -1.05);
        assert!(judge(Some(&d), rate, &clean, &input, &held, &[]).fixed);
        let quieter = measures(bands.clone(), -31.0, -17.0);
        let v = judge(Some(&d), rate, &clean, &input, &quieter, &[]);
        assert!(!v.fixed && v.worse);
        let clip = Defect { kind: Kind::Clipping, freq_hz: None, gain_db: Some(10.0), q: None, amount: None };
        let input = measures(bands.clone(), -5.0, 1.9);
        let v = judge(Some(&clip), rate, &clean, &input, &measures(bands, -4.0, 4.6), &[]);
        assert!(!v.fixed && v.worse);
    }
}
