//! The advice evaluation (`src/advice_eval`, `cargo xtask eval-advice`) on a small fixed
//! subset of the real music: four 12 s excerpts, two from each set, five defects each, run through
//! the real `audiocollab` binary (`analyze --json`, `suggest --json` → `render --apply`).
//!
//! The floors below are what the product scored when this test was written (issue 11, item 1:
//! the evaluation comes before the fixes), with a margin of one case: a regression fails here.
//! They are today's numbers, not the goal: raise them as issue 11's items land (its acceptance:
//! detected ≥ 90 %, fixed ≥ 85 %, made worse 0, at most one tonal problem per two clean
//! excerpts). The music comes from the Debian packages of `.ci/apt-packages.txt`.

use integration::advice_eval::corpus::Set;
use integration::advice_eval::defects::Kind;
use integration::advice_eval::{run, Config, Plan};
use integration::cli::{binary, TempDir};

/// Short excerpts keep the debug build's measures within the CI budget.
const EXCERPT_S: f64 = 12.0;

fn plan() -> Plan {
    use Kind::*;
    Plan::Fixed(vec![
        ("hyperrogue-music/hr3-caves".into(), vec![LowShelfBoost, LevelDown, Dc, Polarity, BellCut]),
        ("asc-music/frontiers".into(), vec![HighShelfCut, Clipping, LevelUp, Wide, BellBoost]),
        ("planetblupi-music-ogg/music004".into(), vec![BellBoost, LevelDown, Clipping, Dc, Narrow]),
        (
            "warzone2100-music/albums/original_soundtrack/track1".into(),
            vec![HighShelfBoost, LowShelfCut, Polarity, LevelUp, Wide],
        ),
    ])
}

#[test]
fn advice_on_real_music_does_not_regress() {
    let work = TempDir::new("advice-eval");
    let config = Config {
        seed: 11,
        excerpt_s: EXCERPT_S,
        sets: vec![Set::Tuning, Set::HeldOut],
        plan: plan(),
        jobs: 2,
        bin: binary().to_path_buf(),
        work: work.path("cases"),
        keep: false,
        verbose: false,
    };
    let report = run(&config).expect("the evaluation runs (its music installed: .ci/apt-packages.txt)");
    println!("{}", report.text());
    assert!(report.errors.is_empty(), "cases that did not run: {:#?}", report.errors);
    assert!(report.left_out.is_empty(), "left out by the excerpt rule: {:?}", report.left_out);
    assert_eq!(report.cases.len(), 24, "4 clean excerpts and 20 defects");

    let total =
        |f: fn(&integration::advice_eval::report::Tally) -> usize| report.sets.iter().map(|s| f(&s.all)).sum::<usize>();
    let clean_problems: usize = report.sets.iter().map(|s| s.clean.tonal_problems).sum();
    let (detected, undone, fixed, worse) =
        (total(|t| t.detected), total(|t| t.undone), total(|t| t.fixed), total(|t| t.worse));
    // Today's numbers (see the module's notes), one case of margin each way.
    assert!(detected + 1 >= DETECTED, "detected {detected} of 20, was {DETECTED}");
    assert!(undone + 1 >= UNDONE, "undone {undone} of 20, was {UNDONE}");
    assert!(fixed + 1 >= FIXED, "fixed {fixed} of 20, was {FIXED}");
    assert!(worse <= WORSE + 1, "made worse {worse} of 20, was {WORSE}");
    assert!(
        clean_problems <= CLEAN_PROBLEMS + 1,
        "{clean_problems} tonal problems on 4 clean excerpts, was {CLEAN_PROBLEMS}"
    );
}

/// Measured when the test was written (seed 11, 12 s excerpts; 24 cases in 26 s in a debug
/// build on 2 cores, 37 s for the whole test): 11 detected, 8 undone, 5 fixed, 7 made worse,
/// 1 clean problem. Raised as issue 11's items landed: the measured neutral curve, the
/// resonances, the stereo findings and polarity control, the closed loop (17, 11, 11, 1, 0;
/// 24 cases in about 40 s, the checks' renders included).
const DETECTED: usize = 17;
const UNDONE: usize = 11;
const FIXED: usize = 11;
const WORSE: usize = 1;
const CLEAN_PROBLEMS: usize = 0;
