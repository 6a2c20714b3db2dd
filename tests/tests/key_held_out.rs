//! Key detection on material it was not tuned on: the held-out excerpts of
//! `integration::key_eval` (other soundfonts, other GM programs, other seeds; see the module
//! for the split), scored with the MIREX key score.
//!
//! * `key_on_the_held_out_ci_subset` (CI): 24 held-out excerpts, one per key, half TimGM6mb and
//!   half MuseScore_General, half whole pieces and half song windows.
//! * `key_on_the_full_held_out_set` (ignored: several minutes): the 144 held-out excerpts.
//! * `key_on_the_tuning_set` (ignored): the 192 FluidR3_GM excerpts the detector is tuned on.
//!
//! Run the long ones with
//! `cargo test -p integration --test key_held_out -- --ignored --nocapture`.
//! Renders are cached in `target/tmp/key_eval/`.

use integration::key_eval::{self, Breakdown, Cut, Excerpt, Soundfont};
use integration::music::{self, Instruments};
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

/// Lowest mean MIREX score the CI subset may reach. Measured 0.938 (22 of 24 right, one
/// relative and one parallel major/minor); one more wrong excerpt (−0.042 at most) still
/// passes. See docs/advice.md, "Key detection".
const CI_SUBSET_MIREX_MIN: f64 = 0.89;
/// The same for the full held-out set: measured 0.951, about three more wrong excerpts pass.
const HELD_OUT_MIREX_MIN: f64 = 0.93;
/// The same for the tuning set: measured 0.970.
const TUNING_MIREX_MIN: f64 = 0.95;

fn cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("key_eval")
}

fn run(label: &str, set: &[Excerpt]) -> Breakdown {
    if let Err(e) = key_eval::available(set) {
        panic!("the {label} set cannot be rendered: {e}");
    }
    let start = Instant::now();
    let b = key_eval::evaluate(label, set, &cache(), true).unwrap_or_else(|e| panic!("{label}: {e}"));
    println!("{label}: {:.1} s", start.elapsed().as_secs_f64());
    b
}

#[test]
fn key_on_the_held_out_ci_subset() {
    let b = run("held-out CI subset", &key_eval::held_out_ci_subset());
    assert_eq!(b.n, 24);
    assert!(b.mirex >= CI_SUBSET_MIREX_MIN, "held-out MIREX {:.3} < {CI_SUBSET_MIREX_MIN}: {b}", b.mirex);
}

#[test]
#[ignore = "the full held-out evaluation renders 144 excerpts (~5 min cold): run with --ignored"]
fn key_on_the_full_held_out_set() {
    let b = run("held-out", &key_eval::held_out_set());
    assert_eq!(b.n, 144);
    assert!(b.mirex >= HELD_OUT_MIREX_MIN, "held-out MIREX {:.3}: {b}", b.mirex);
}

#[test]
#[ignore = "the tuning-set evaluation renders 192 excerpts (~4 min cold): run with --ignored"]
fn key_on_the_tuning_set() {
    let b = run("tuning", &key_eval::tuning_set());
    assert_eq!(b.n, 192);
    assert!(b.mirex >= TUNING_MIREX_MIN, "tuning MIREX {:.3}: {b}", b.mirex);
}

/// The confusion categories agree with the MIREX score.
#[test]
fn relations_follow_the_mirex_table() {
    use audiocollab_core::analysis::key::{mirex_score, Key, Mode};
    use key_eval::Relation;
    let score = |r: Relation| match r {
        Relation::Correct => 1.0,
        Relation::FifthUp | Relation::FifthDown => 0.5,
        Relation::Relative => 0.3,
        Relation::Parallel => 0.2,
        Relation::Other => 0.0,
    };
    for truth in (0..24u8).map(|i| Key::new(i % 12, if i < 12 { Mode::Major } else { Mode::Minor })) {
        for detected in (0..24u8).map(|i| Key::new(i % 12, if i < 12 { Mode::Major } else { Mode::Minor })) {
            let r = key_eval::relation(&detected, &truth);
            assert_eq!(score(r), mirex_score(&detected, &truth), "{} for {}: {r:?}", detected.name(), truth.name());
        }
    }
    let g = Key::new(7, Mode::Major);
    assert_eq!(key_eval::relation(&Key::new(2, Mode::Major), &g), Relation::FifthUp);
    assert_eq!(key_eval::relation(&Key::new(0, Mode::Major), &g), Relation::FifthDown);
    assert_eq!(key_eval::relation(&Key::new(4, Mode::Minor), &g), Relation::Relative);
}

/// The split itself: the held-out set shares no soundfont, no GM program and no piece seed with
/// the tuning set, and covers every key equally.
#[test]
fn held_out_set_is_disjoint_from_the_tuning_set() {
    let tuning = key_eval::tuning_set();
    let held = key_eval::held_out_set();
    assert_eq!(held.len(), 144);
    assert!(tuning.iter().all(|e| e.soundfont == Soundfont::FluidR3));
    assert!(held.iter().all(|e| e.soundfont != Soundfont::FluidR3));

    // Every program the tuning pool can draw (over many seeds) versus the held-out ones.
    let programs = |i: &Instruments| [i.chords, i.bass, i.melody];
    let pool: HashSet<u8> = (0..10_000).flat_map(|s| programs(&Instruments::from_seed(s))).collect();
    let held_programs: HashSet<u8> = held.iter().flat_map(|e| programs(&e.piece.instruments)).collect();
    assert!(pool.is_disjoint(&held_programs), "shared programs: {:?}", pool.intersection(&held_programs));
    assert!(held_programs.len() >= 12, "held-out programs {held_programs:?}");

    let tuning_seeds: HashSet<u64> = (0..100).flat_map(music::test_suite).map(|p| p.seed).collect();
    assert!(held.iter().all(|e| !tuning_seeds.contains(&e.piece.seed)));

    let ci = key_eval::held_out_ci_subset();
    for key in music::Key::all() {
        assert_eq!(held.iter().filter(|e| e.piece.key == key).count(), 6, "{key}");
        assert_eq!(ci.iter().filter(|e| e.piece.key == key).count(), 1, "{key}");
    }
    for sf in [Soundfont::TimGm6mb, Soundfont::MuseScore] {
        for cut in [Cut::Whole, Cut::SongWindow] {
            for mode in [music::Mode::Major, music::Mode::Minor] {
                let n = ci.iter().filter(|e| e.soundfont == sf && e.cut == cut && e.piece.key.mode == mode).count();
                assert_eq!(n, 3, "{sf:?} {cut:?} {mode:?}");
            }
        }
    }
    // The song windows hold neither the intro nor the final cadence.
    for e in held.iter().filter(|e| e.cut == Cut::SongWindow) {
        assert_eq!(e.piece.bars, 20);
        let (from, to) = e.span_seconds();
        assert!(from >= e.piece.bar_start_seconds(2) && to <= e.piece.bar_start_seconds(e.piece.bars - 3));
    }
}
