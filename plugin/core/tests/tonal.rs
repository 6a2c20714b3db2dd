//! Tonal balance on noises whose spectrum is known exactly (synthesised in the frequency
//! domain), against an analytic oracle: each band's power and the K-weighted loudness
//! integrated from the noise's density (`synth::Expected`).
//!
//! * pink noise reads flat third-octave levels (±1 dB over 50 Hz–16 kHz), each band within
//!   0.5 dB of the oracle, and its deviation from a curve is the curve's shape turned over;
//! * white noise tilts +3.01 dB per octave;
//! * a +6 dB bell at 3 kHz on pink noise reads +6 dB (±1.5) in the balance of the 3.15 kHz band,
//!   within 0.5 dB of the oracle, while the deviation (relative to the loudness, which the bell
//!   raises too) rises by the band's gain less the loudness rise. The 2–5 kHz region reads what
//!   the oracle says, +4.4 dB: a bell is not flat over a region 1.3 octaves wide (its gain falls
//!   to 4–5 dB at the region's edge bands) and its skirts lift the median reference by 0.7 dB;
//! * a flat +6 dB boost of exactly the 2–5 kHz region reads +6 dB (±0.5) there.

mod synth;

use audiocollab_core::analysis::targets::{self, GenreTarget};
use audiocollab_core::analysis::timeline::Timeline;
use audiocollab_core::analysis::tonal::{self, Region, TonalBalance, REFERENCE_BANDS};
use audiocollab_core::dsp::biquad::Coefs;
use audiocollab_core::meter::stats::{band_centre_hz, BAND_COUNT, BAND_NOMINAL_HZ};
use synth::{filter, power_gain, shaped_noise, Expected};

const RATE: f64 = 48_000.0;
/// Long enough that the 50 Hz band (11 Hz wide) is steady to about 0.2 dB.
const SECONDS: usize = 30;
/// Bands 50 Hz … 16 kHz.
const CHECKED: std::ops::RangeInclusive<usize> = 4..=29;

fn neutral() -> &'static GenreTarget {
    targets::genre("neutral").expect("neutral genre")
}

/// Tonal balance and integrated loudness of planar audio.
fn analyse(channels: &[&[f32]], genre: &GenreTarget) -> (TonalBalance, f64) {
    let t = Timeline::of_audio(RATE as u32, channels, |_| {}).expect("timeline");
    let lufs = t.loudness_between(0.0, t.duration_s()).integrated_lufs.expect("not silent");
    (tonal::measure(t.frames(), Some(lufs), genre), lufs)
}

fn scaled(x: Vec<f32>, gain: f32) -> Vec<f32> {
    x.into_iter().map(|s| s * gain).collect()
}

/// Measured band `b` (all bands are below Nyquist at 48 kHz).
fn band(t: &TonalBalance, b: usize) -> &tonal::BandBalance {
    t.bands.iter().find(|x| x.centre_hz == BAND_NOMINAL_HZ[b]).expect("band measured")
}

fn region(t: &TonalBalance, r: Region) -> &tonal::RegionBalance {
    t.regions.iter().find(|x| x.region == r).expect("region measured")
}

/// The oracle's balance of each band and of a region, as `tonal` defines them.
struct OracleBalance {
    band_db: [f64; BAND_COUNT],
    deviation_db: [f64; BAND_COUNT],
    offset_db: f64,
}

impl OracleBalance {
    fn of(e: &Expected, g: &GenreTarget) -> Self {
        let deviation_db: [f64; BAND_COUNT] = std::array::from_fn(|b| e.level_db(b) - g.bands_db[b] as f64);
        let mut reference: Vec<f64> = REFERENCE_BANDS.map(|b| deviation_db[b]).collect();
        reference.sort_by(f64::total_cmp);
        let offset_db = reference[reference.len() / 2];
        Self { band_db: deviation_db.map(|d| d - offset_db), deviation_db, offset_db }
    }

    fn region_db(&self, e: &Expected, g: &GenreTarget, r: Region) -> f64 {
        let (p, t) = r.bands().fold((0.0, 0.0), |(p, t), b| {
            (p + 10f64.powf(e.level_db(b) / 10.0), t + 10f64.powf(g.bands_db[b] as f64 / 10.0))
        });
        10.0 * (p / t).log10() - self.offset_db
    }
}

#[test]
fn pink_noise_reads_flat_and_deviates_by_the_curve_shape() {
    let g = neutral();
    let pink = scaled(shaped_noise(1, SECONDS * RATE as usize, RATE, |_| 0.0), 0.1);
    let (t, lufs) = analyse(&[&pink], g);
    let e = Expected::of(RATE, |_| 0.0, |_| 1.0);
    assert!(t.skipped_bands_hz.is_empty());
    // Unit-RMS noise at −20 dB: total power 0.01.
    let lufs_oracle = e.loudness_db - e.total_db - 20.0;
    assert!((lufs - lufs_oracle).abs() < 0.1, "{lufs} LUFS vs {lufs_oracle}");

    let levels: Vec<f64> = CHECKED.map(|b| band(&t, b).level_db as f64).collect();
    let mean = levels.iter().sum::<f64>() / levels.len() as f64;
    println!("pink −20 dBFS, {lufs:.2} LUFS; band: level (oracle), deviation from neutral");
    for b in CHECKED {
        let x = band(&t, b);
        println!("  {:>7} Hz: {:6.2} dB ({:6.2}), {:+6.2} dB", x.centre_hz, x.level_db, e.level_db(b), x.deviation_db);
        assert!((x.level_db as f64 - mean).abs() <= 1.0, "{} Hz: {:.2} dB vs mean {mean:.2}", x.centre_hz, x.level_db);
        assert!(
            (x.level_db as f64 - e.level_db(b)).abs() <= 0.5,
            "{} Hz: {:.2} vs {:.2}",
            x.centre_hz,
            x.level_db,
            e.level_db(b)
        );
        assert!((x.deviation_db - (x.level_db - g.bands_db[b])).abs() < 1e-4);
        // Flat level: the deviation is the curve turned over, around the level.
        let shape = g.bands_db[b] as f64 - g.bands_db[17] as f64;
        let dev_shape = x.deviation_db as f64 - band(&t, 17).deviation_db as f64;
        assert!((dev_shape + shape).abs() <= 1.0, "{} Hz: deviation shape {dev_shape:.2} vs −{shape:.2}", x.centre_hz);
    }

    // Dual mono reads as its mono original: the band powers are summed over the channels.
    let (stereo, stereo_lufs) = analyse(&[&pink, &pink], g);
    assert!((stereo_lufs - lufs - 3.0103).abs() < 0.01);
    for (m, s) in t.bands.iter().zip(&stereo.bands) {
        assert!(
            (m.level_db - s.level_db).abs() < 0.02,
            "{} Hz: mono {} vs dual mono {}",
            m.centre_hz,
            m.level_db,
            s.level_db
        );
    }
}

#[test]
fn white_noise_tilts_three_db_per_octave() {
    let g = neutral();
    let white = scaled(shaped_noise(2, SECONDS * RATE as usize, RATE, |f| 10.0 * (f / 1000.0).log10()), 0.1);
    let (t, _) = analyse(&[&white], g);
    let e = Expected::of(RATE, |f| 10.0 * (f / 1000.0).log10(), |_| 1.0);
    // Least-squares line of level against octaves.
    let pts: Vec<(f64, f64)> = CHECKED.map(|b| (band_centre_hz(b).log2(), band(&t, b).level_db as f64)).collect();
    let n = pts.len() as f64;
    let (mx, my) = (pts.iter().map(|p| p.0).sum::<f64>() / n, pts.iter().map(|p| p.1).sum::<f64>() / n);
    let slope =
        pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>() / pts.iter().map(|p| (p.0 - mx).powi(2)).sum::<f64>();
    let worst = pts.iter().map(|p| (p.1 - (my + slope * (p.0 - mx))).abs()).fold(0.0, f64::max);
    println!("white noise: {slope:.3} dB/octave (expected 3.010), largest residual {worst:.2} dB");
    assert!((slope - 3.0103).abs() < 0.1, "slope {slope}");
    assert!(worst < 0.75, "residual {worst}");
    for b in CHECKED {
        let x = band(&t, b);
        assert!(
            (x.level_db as f64 - e.level_db(b)).abs() <= 0.5,
            "{} Hz: {:.2} vs {:.2}",
            x.centre_hz,
            x.level_db,
            e.level_db(b)
        );
    }
}

#[test]
fn a_six_db_bell_at_3_khz_reads_six_db_in_its_band() {
    let g = neutral();
    let bell = Coefs::peaking(RATE, 3000.0, 6.0, 0.8);
    let pink = scaled(shaped_noise(3, SECONDS * RATE as usize, RATE, |_| 0.0), 0.1);
    let boosted = filter(&bell, &pink);
    let (plain, plain_lufs) = analyse(&[&pink], g);
    let (bright, bright_lufs) = analyse(&[&boosted], g);
    let (e0, e1) = (Expected::of(RATE, |_| 0.0, |_| 1.0), Expected::of(RATE, |_| 0.0, |f| power_gain(&bell, RATE, f)));
    let (o0, o1) = (OracleBalance::of(&e0, g), OracleBalance::of(&e1, g));

    let k = 22; // 3.15 kHz
    let d_balance = (band(&bright, k).balance_db - band(&plain, k).balance_db) as f64;
    let d_balance_oracle = o1.band_db[k] - o0.band_db[k];
    let d_region = (region(&bright, Region::HighMid).balance_db - region(&plain, Region::HighMid).balance_db) as f64;
    let d_region_oracle = o1.region_db(&e1, g, Region::HighMid) - o0.region_db(&e0, g, Region::HighMid);
    let d_lufs = bright_lufs - plain_lufs;
    let d_lufs_oracle = e1.loudness_db - e0.loudness_db;
    let d_dev = (band(&bright, k).deviation_db - band(&plain, k).deviation_db) as f64;
    let d_dev_oracle = o1.deviation_db[k] - o0.deviation_db[k];
    println!(
        "+6 dB bell at 3 kHz, Q 0.8: 3.15 kHz balance {d_balance:+.2} dB (oracle {d_balance_oracle:+.2}), \
         2–5 kHz balance {d_region:+.2} dB (oracle {d_region_oracle:+.2}), loudness {d_lufs:+.2} LU (oracle \
         {d_lufs_oracle:+.2}), 3.15 kHz deviation {d_dev:+.2} dB (oracle {d_dev_oracle:+.2})"
    );
    assert!((d_balance - 6.0).abs() <= 1.5 && (d_balance - d_balance_oracle).abs() <= 0.5, "{d_balance}");
    assert!((d_region - d_region_oracle).abs() <= 0.5, "{d_region}");
    assert!((d_lufs - d_lufs_oracle).abs() <= 0.1, "{d_lufs}");
    assert!((d_dev - d_dev_oracle).abs() <= 0.5, "{d_dev}");
    // The deviation rises by the band's gain less the loudness rise.
    let gain_k = e1.bands_db[k] - e0.bands_db[k];
    assert!((d_dev - (gain_k - d_lufs)).abs() <= 0.5, "{d_dev} vs {gain_k} − {d_lufs}");
    // Far from the bell, the balance does not move.
    for b in [5, 8, 11, 14] {
        let d = (band(&bright, b).balance_db - band(&plain, b).balance_db) as f64;
        assert!((d - (o1.band_db[b] - o0.band_db[b])).abs() <= 0.5, "{} Hz moved {d:+.2}", BAND_NOMINAL_HZ[b]);
    }
}

#[test]
fn a_flat_boost_of_a_region_reads_its_size() {
    let g = neutral();
    let (lo, hi) = (synth_edge(20).0, synth_edge(23).1);
    let boost = |f: f64| if (lo..hi).contains(&f) { 6.0 } else { 0.0 };
    let pink = scaled(shaped_noise(4, SECONDS * RATE as usize, RATE, |_| 0.0), 0.1);
    let boosted = scaled(shaped_noise(4, SECONDS * RATE as usize, RATE, boost), 0.1);
    let (plain, _) = analyse(&[&pink], g);
    let (bright, _) = analyse(&[&boosted], g);
    let d = (region(&bright, Region::HighMid).balance_db - region(&plain, Region::HighMid).balance_db) as f64;
    let mid = (region(&bright, Region::Mid).balance_db - region(&plain, Region::Mid).balance_db) as f64;
    println!("flat +6 dB over 1.78–4.47 kHz: 2–5 kHz balance {d:+.2} dB, 0.5–2 kHz {mid:+.2} dB");
    assert!((d - 6.0).abs() <= 0.5, "{d}");
    assert!(mid.abs() <= 0.5, "{mid}");
}

/// Edges of band `b`, Hz.
fn synth_edge(b: usize) -> (f64, f64) {
    audiocollab_core::meter::stats::band_edges_hz(b)
}

#[test]
fn a_track_judged_against_itself_as_reference_is_on_target_everywhere() {
    use audiocollab_core::analysis::findings::FindingKind;
    use audiocollab_core::analysis::track::{analyze, AnalyzeOptions};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/demo.flac");
    let audio = audiocollab_core::offline::read_audio(&path).expect("demo");
    // Against the pop curve (authored; the neutral one carries the measured mean of released
    // masters, whose low mids are as full as the demo's).
    let pop = AnalyzeOptions { genre: "pop".into(), ..AnalyzeOptions::default() };
    let by_genre = analyze(audio.sample_rate, &audio.channels, &pop, |_| {}).expect("analysis");
    let spectral = |kinds: &[FindingKind]| {
        kinds.iter().any(|k| {
            matches!(
                k,
                FindingKind::Mud
                    | FindingKind::Harshness
                    | FindingKind::Sibilance
                    | FindingKind::Boom
                    | FindingKind::DullTop
                    | FindingKind::ThinLowEnd
            )
        })
    };
    let kinds =
        |a: &audiocollab_core::analysis::track::TrackAnalysis| a.findings.iter().map(|f| f.kind).collect::<Vec<_>>();
    assert!(spectral(&kinds(&by_genre)), "the demo is muddy against the pop curve");

    let reference = by_genre.as_reference("demo").expect("not silent");
    assert_eq!(reference.id, targets::REFERENCE_ID);
    assert_eq!(reference.bands_db.len(), BAND_COUNT);
    // 44.1 kHz: the 20 kHz band is measured up to Nyquist only; the curve keeps every band.
    assert!(reference.bands_db.iter().all(|v| v.is_finite()));
    let lra = by_genre.loudness.loudness_range_lu.expect("range");
    assert!((reference.lra_lu[1] - reference.lra_lu[0] - 6.0).abs() < 1e-9 || reference.lra_lu[0] == 0.0);
    assert!((reference.lra_lu[1] - (lra + 3.0)).abs() < 1e-9);

    let options = AnalyzeOptions { reference: Some(std::sync::Arc::new(reference)), ..AnalyzeOptions::default() };
    let by_itself = analyze(audio.sample_rate, &audio.channels, &options, |_| {}).expect("analysis");
    assert_eq!(by_itself.genre, targets::REFERENCE_ID);
    for band in &by_itself.tonal_balance.bands {
        assert!(band.deviation_db.abs() < 1e-3 && band.balance_db.abs() < 1e-3, "{band:?}");
    }
    // Findings are local: a passage muddier than the track's own average still is, but far
    // less of the track is than against the neutral curve.
    let mud_seconds = |a: &audiocollab_core::analysis::track::TrackAnalysis| -> f64 {
        a.findings.iter().filter(|f| f.kind == FindingKind::Mud).map(|f| f.end_s - f.start_s).sum()
    };
    assert!(
        mud_seconds(&by_itself) < mud_seconds(&by_genre) / 3.0,
        "{} {}",
        mud_seconds(&by_itself),
        mud_seconds(&by_genre)
    );

    // Unmeasured or broken levels fall back to the neutral curve; the range too.
    let mut levels = [Some(-20.0f32); BAND_COUNT];
    levels[3] = None;
    levels[4] = Some(f32::NAN);
    let made = GenreTarget::reference("x", &levels, Some(f64::INFINITY));
    assert_eq!(made.bands_db[3], neutral().bands_db[3]);
    assert_eq!(made.bands_db[4], neutral().bands_db[4]);
    assert_eq!(made.bands_db[5], -20.0);
    assert_eq!(made.lra_lu, neutral().lra_lu);
    assert_eq!(made.tolerance_db, neutral().tolerance_db);
}

/// The track against itself ([`audiocollab_core::analysis::findings::resonance`]): a +6 dB bell
/// at 600 Hz, Q 2, on pink noise is found as boxiness at its frequency (± 1/6 octave), its gain
/// (± 1.5 dB) and its Q (± 30 %); a −6 dB bell at 1.5 kHz, Q 1.5, as hollow mids; the plain
/// pink noise has no bump or dip at all.
#[test]
fn bumps_and_dips_are_measured_against_the_track_itself() {
    use audiocollab_core::analysis::findings::FindingKind;
    use audiocollab_core::analysis::track::{analyze, AnalyzeOptions};
    let pink = scaled(shaped_noise(5, 20 * RATE as usize, RATE, |_| 0.0), 0.1);
    let run = |x: &[f32]| analyze(RATE as u32, &[x.to_vec()], &AnalyzeOptions::default(), |_| {}).unwrap();

    let plain = run(&pink);
    assert!(plain.resonances.is_empty(), "{:?}", plain.resonances);
    assert!(
        !plain.findings.iter().any(|f| matches!(f.kind, FindingKind::Boxiness | FindingKind::HollowMids)),
        "{:?}",
        plain.findings
    );

    for (hz, gain, q, kind) in [(600.0, 6.0, 2.0, FindingKind::Boxiness), (1500.0, -6.0, 1.5, FindingKind::HollowMids)]
    {
        let a = run(&filter(&Coefs::peaking(RATE, hz, gain, q), &pink));
        let r = a.resonances.first().unwrap_or_else(|| panic!("{hz} Hz: nothing found"));
        println!("{gain:+} dB at {hz} Hz, Q {q}: found {:+.2} dB at {:.0} Hz, Q {:.2}", r.gain_db, r.freq_hz, r.q);
        assert_eq!(r.kind, kind);
        assert!((r.freq_hz / hz).log2().abs() <= 1.0 / 6.0, "{} Hz", r.freq_hz);
        assert!((r.gain_db - gain).abs() <= 1.5, "{} dB", r.gain_db);
        assert!((r.q / q - 1.0).abs() <= 0.3, "Q {}", r.q);
        let f = a.findings.iter().find(|f| f.kind == kind).expect("a finding of the kind");
        assert!(
            (f.value - r.gain_db).abs() < 1e-9 && f.severity >= audiocollab_core::analysis::findings::Severity::Warning
        );
    }
}
