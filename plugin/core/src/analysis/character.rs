//! Character: an energy / mood description with the measures behind it, and the kind of source
//! (drums, bass, vocal, guitar, keys, full mix) with a confidence.
//!
//! Everything is read from what the analysis already holds: the 100 ms [`FrameStats`] of the
//! [`Timeline`] (one-third-octave band powers, RMS, loudness cells) and the onset envelopes and
//! chroma of [`Features`]. No model is trained: every threshold is a named constant below with
//! the reason for its value.
//!
//! # Measures
//!
//! * **Loudness** — integrated loudness (BS.1770-4 / EBU R 128) and loudness range of the
//!   stretch, from the timeline's cells.
//! * **Onsets per second** — peaks of the onset-strength envelopes ([`onset_times`]). Each band's
//!   envelope is divided by its 99th percentile (so hi-hats count next to kicks), but never by
//!   less than [`ONSET_FLOOR`] (a band with nothing but leakage stays small); the largest of the
//!   three is peak-picked as in Böck, Krebs & Schedl (2012, "Evaluating the online capabilities
//!   of onset detection methods", ISMIR): a maximum over ±30 ms, at least [`ONSET_DELTA`] above
//!   the mean of −100…+70 ms, 30 ms after the previous onset. On solo pitched instruments
//!   rendered from MIDI this counts the note onsets to within 8 % (an organ's beating chords:
//!   23 % too many; tests/tests/structure.rs); soft hi-hats are mostly missed (a drum kit reads
//!   about half its hits), so busy drums read less busy than they are.
//! * **Tempo** — [`tempo::detect`].
//! * **Spectrum** — the band powers are averaged over the stretch (power, so loud frames weigh
//!   more); the spectral centroid is their power-weighted mean frequency, the high-frequency
//!   share the part of the power from the 1.6 kHz band up (1.41 kHz lower edge): MIRtoolbox's
//!   *brightness* (`mirbrightness`, default cut-off 1.5 kHz; Lartillot & Toiviainen 2007).
//!
//! # Energy and brightness
//!
//! Energy (0 calm … 1 energetic) is the weighted mean of three ramps, the three cues listeners
//! use most for arousal in music (Gabrielsson & Lindström 2010, "The role of structure in the
//! musical expression of emotions": loudness, tempo and articulation / note density):
//! loudness from [`CALM_LUFS`] to [`LOUD_LUFS`] (weight [`W_LOUDNESS`]), onsets per second from
//! [`CALM_ONSETS`] to [`BUSY_ONSETS`] on a log scale ([`W_ONSETS`]) and tempo from
//! [`SLOW_BPM`] to [`FAST_BPM`] ([`W_TEMPO`]; left out when there is no pulse). Loudness is the
//! level as played: the same song turned down 20 dB reads calmer, which is what a listener of
//! that playback hears.
//!
//! Brightness (0 dark … 1 bright) maps the high-frequency share on a log scale from
//! [`DARK_SHARE`] (1 %, a muffled or low-passed sound) to [`BRIGHT_SHARE`] (50 %, a distorted
//! guitar or cymbals); a typical pop mix holds 10–15 % and reads about 0.6.
//!
//! The words: below 1/3 calm / dark, above 2/3 energetic / bright, moderate / balanced between.
//!
//! # Source kind
//!
//! Each kind gets a score in 0…1: a product of soft conditions ([`ramp`]), each a physical cue
//! of that kind; the best score wins and the confidence is its share of the scores' sum.
//! The cues ([`SourceMeasures`]):
//!
//! * **Tonality** — 1 − the normalised entropy of each chroma frame, averaged with the frames'
//!   weights: pitched notes put their energy in a few pitch classes, drums spread it.
//! * **Chroma flux** — how much the chroma changes from one 46 ms frame to the next
//!   (1 − cosine): a voice glides between pitches and through formants; instruments hold notes.
//! * **Band shares** — power below 224 Hz (the 200 Hz band and under), from 1.41 kHz, and from
//!   5.62 kHz ("air": cymbals, string and breath noise).
//! * **Band flatness** — geometric over arithmetic mean of the band powers from 100 Hz to
//!   10 kHz: near 1 for a broadband sound (drums, a full mix), near 0 for a few partials.
//! * **Bass chroma** — the share of chroma amplitude found between 40 and 260 Hz, and how many
//!   pitch classes sound there at once (bass polyphony): a bass line plays one note, whose
//!   harmonics fall on one or two pitch classes; an organ's 16' chord plays three.
//! * **High onsets** — the share of onset strength in the 3–16 kHz band (hi-hats).
//!
//! The rules (the numbers are the ramps' ends in [`source_scores`]):
//!
//! * drums — no pitch (tonality under 0.08–0.14) and air (over 1–3 % of the power);
//! * bass — the pitch sits low (bass chroma over 25–35 %), one note at a time (bass
//!   polyphony under 1.7–2.2 pitch classes), hardly any highs (under 3–6 % from 1.4 kHz);
//! * vocal — gliding chroma (flux over 0.045–0.07), little tonality (under 0.2–0.3: formant
//!   speech smears the pitch classes), no lows (under 15–25 %) and no air (under 1.5–3 %);
//! * guitar — tonal, and either an electric guitar's bright spectrum that stops at the
//!   cabinet (over 30–50 % from 1.4 kHz but under 0.5–2 % of that above 5.6 kHz: guitar
//!   loudspeakers roll off above about 5 kHz) or an acoustic guitar's string noise (over 5–8 %
//!   of the high band above 5.6 kHz), and not broadband like a mix;
//! * full mix — broadband (flatness over 0.2–0.45), tonal, hi-hat onsets, and lows;
//! * keys — tonal and none of the above: piano, organ and pads are recognised by exclusion,
//!   the weakest of the rules.
//!
//! The thresholds were set on General MIDI renders (FluidR3_GM) and espeak-ng speech, and
//! checked on other programs and seeds than the ones tuned on (see tests/tests/structure.rs).
//! What they cannot tell: a nylon-string or a jazz guitar from a piano playing the same
//! chords (the same partials, no string noise), a stem with a bass line *and* chords, a
//! sparse mix without drums.

use super::spectral::Features;
use super::tempo;
use super::timeline::{FrameStats, Timeline};
use crate::dsp::decibel::db_to_power;
use crate::lang::Lang;
use crate::meter::stats::{band_centre_hz, BAND_COUNT};
use crate::text;
use serde::Serialize;

/// Floor of an onset band's normaliser: a mean rise of `ln(1 + 1000·a)` of 0.3 per 10 ms frame
/// (about 2.6 dB over the band's bins), so that a band holding only leakage is not scaled up.
pub const ONSET_FLOOR: f64 = 0.3;
/// How far an onset peak must rise above its local mean, in units of the band's normaliser.
pub const ONSET_DELTA: f64 = 0.4;

/// Loudness that reads as calm (0), LUFS: a quiet acoustic recording.
pub const CALM_LUFS: f64 = -35.0;
/// Loudness that reads as energetic (1), LUFS: the streaming platforms' reference level
/// (Spotify, YouTube, Tidal normalise to −14 LUFS); loud masters sit at or above it.
pub const LOUD_LUFS: f64 = -14.0;
/// Onset rate that reads as calm (0), per second: a chord every two seconds.
pub const CALM_ONSETS: f64 = 0.5;
/// Onset rate that reads as busy (1), per second: sixteenth notes at 120 BPM.
pub const BUSY_ONSETS: f64 = 8.0;
/// Tempo that reads as slow (0), BPM (largo / adagio).
pub const SLOW_BPM: f64 = 60.0;
/// Tempo that reads as fast (1), BPM (presto; dance music).
pub const FAST_BPM: f64 = 160.0;
/// Weight of loudness in the energy.
pub const W_LOUDNESS: f64 = 0.45;
/// Weight of the onset rate in the energy.
pub const W_ONSETS: f64 = 0.35;
/// Weight of the tempo in the energy.
pub const W_TEMPO: f64 = 0.20;
/// High-frequency share that reads as dark (0).
pub const DARK_SHARE: f64 = 0.01;
/// High-frequency share that reads as bright (1).
pub const BRIGHT_SHARE: f64 = 0.5;
/// Lower edge of the high-frequency share, Hz (the 1.6 kHz band starts at 1.41 kHz).
pub const HIGH_FROM_HZ: f64 = 1410.0;
/// Lower edge of the "air" share, Hz (the 6.3 kHz band starts at 5.62 kHz).
pub const AIR_FROM_HZ: f64 = 5620.0;
/// Upper edge of the low share, Hz (the 200 Hz band ends at 224 Hz).
pub const LOW_TO_HZ: f64 = 224.0;

/// Calm ↔ energetic and dark ↔ bright, with the measures behind them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Character {
    /// 0 (calm) … 1 (energetic).
    pub energy: f32,
    /// 0 (dark) … 1 (bright).
    pub brightness: f32,
    /// A short description, English.
    pub description_en: String,
    /// The same in French.
    pub description_fr: String,
    /// Integrated loudness, LUFS (absent for silence).
    pub loudness_lufs: Option<f64>,
    /// Loudness range, LU (absent when too short).
    pub loudness_range_lu: Option<f64>,
    /// Note or hit onsets per second.
    pub onsets_per_second: f64,
    /// Tempo, BPM (absent without a pulse).
    pub tempo_bpm: Option<f64>,
    /// Power-weighted mean frequency of the band spectrum, Hz.
    pub spectral_centroid_hz: f64,
    /// Share of the power from 1.41 kHz up, 0 … 1.
    pub high_frequency_share: f64,
}

/// What is playing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A drum kit or percussion.
    Drums,
    /// A bass instrument.
    Bass,
    /// A voice.
    Vocal,
    /// A guitar.
    Guitar,
    /// Piano, organ, synth pads.
    Keys,
    /// A full mix.
    FullMix,
}

impl SourceKind {
    /// What `lang` calls it ("keys", "claviers"), lower case, for inside a sentence.
    pub fn name(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (SourceKind::Drums, Lang::En) => "drums",
            (SourceKind::Bass, Lang::En) => "bass",
            (SourceKind::Vocal, Lang::En) => "vocal",
            (SourceKind::Guitar, Lang::En) => "guitar",
            (SourceKind::Keys, Lang::En) => "keys",
            (SourceKind::FullMix, Lang::En) => "full mix",
            (SourceKind::Drums, Lang::Fr) => "batterie",
            (SourceKind::Bass, Lang::Fr) => "basse",
            (SourceKind::Vocal, Lang::Fr) => "voix",
            (SourceKind::Guitar, Lang::Fr) => "guitare",
            (SourceKind::Keys, Lang::Fr) => "claviers",
            (SourceKind::FullMix, Lang::Fr) => "mix complet",
        }
    }

    /// Every kind, in the order of [`SourceScores`].
    pub const ALL: [SourceKind; 6] = [
        SourceKind::Drums,
        SourceKind::Bass,
        SourceKind::Vocal,
        SourceKind::Guitar,
        SourceKind::Keys,
        SourceKind::FullMix,
    ];
}

/// The score of every kind, 0 … 1 (see the module documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct SourceScores {
    /// Drums or percussion.
    pub drums: f32,
    /// Bass.
    pub bass: f32,
    /// Voice.
    pub vocal: f32,
    /// Guitar.
    pub guitar: f32,
    /// Piano, organ, pads.
    pub keys: f32,
    /// A full mix.
    pub full_mix: f32,
}

impl SourceScores {
    /// The score of `kind`.
    pub fn get(&self, kind: SourceKind) -> f32 {
        match kind {
            SourceKind::Drums => self.drums,
            SourceKind::Bass => self.bass,
            SourceKind::Vocal => self.vocal,
            SourceKind::Guitar => self.guitar,
            SourceKind::Keys => self.keys,
            SourceKind::FullMix => self.full_mix,
        }
    }
}

/// The cues the source kind is read from (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SourceMeasures {
    /// 1 − normalised chroma entropy, 0 (noise) … 1 (one pitch class).
    pub tonality: f64,
    /// Mean change of the chroma between frames, 0 … 1.
    pub chroma_flux: f64,
    /// Share of the power below 224 Hz.
    pub low_share: f64,
    /// Share of the power from 1.41 kHz.
    pub high_share: f64,
    /// Share of the power from 5.62 kHz.
    pub air_share: f64,
    /// Flatness of the band spectrum from 100 Hz to 10 kHz, 0 … 1.
    pub band_flatness: f64,
    /// Share of the chroma amplitude between 40 and 260 Hz.
    pub bass_chroma_share: f64,
    /// Pitch classes sounding at once between 40 and 260 Hz (≥ 30 % of the strongest).
    pub bass_polyphony: f64,
    /// Share of the onset strength in the 3–16 kHz band.
    pub high_onset_share: f64,
}

/// The likeliest source kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Source {
    /// The likeliest kind.
    pub kind: SourceKind,
    /// 0 … 1: the winning score's share of all scores.
    pub confidence: f32,
    /// Every kind's score.
    pub scores: SourceScores,
    /// The cues behind the scores.
    pub measures: SourceMeasures,
}

/// `0` at `from`, `1` at `to`, linear between (either direction), clamped.
pub fn ramp(x: f64, from: f64, to: f64) -> f64 {
    if from == to {
        return if x >= to { 1.0 } else { 0.0 };
    }
    ((x - from) / (to - from)).clamp(0.0, 1.0)
}

fn percentile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize]
}

/// Length covered by `features`, seconds (the last onset frame's time).
pub fn features_seconds(features: &Features) -> f64 {
    features.onset.len().saturating_sub(1) as f64 / features.onset_rate.max(1.0)
}

/// Onset times, seconds from the features' time 0 (see the module documentation).
pub fn onset_times(features: &Features) -> Vec<f64> {
    let rate = features.onset_rate.max(1.0);
    let mut scale = [0.0f64; 3];
    for (b, s) in scale.iter_mut().enumerate() {
        let mut band: Vec<f64> = features.onset.iter().map(|o| f64::from(o[b])).collect();
        *s = percentile(&mut band, 0.99).max(ONSET_FLOOR);
    }
    let env: Vec<f64> =
        features.onset.iter().map(|o| (0..3).map(|b| f64::from(o[b]) / scale[b]).fold(0.0, f64::max)).collect();
    // Böck et al. (2012) at 100 frames per second: ±3 frames maximum, −10…+7 frames mean,
    // 3 frames between onsets.
    const MAX_BEFORE: usize = 3;
    const MAX_AFTER: usize = 3;
    const MEAN_BEFORE: usize = 10;
    const MEAN_AFTER: usize = 7;
    const WAIT: usize = 3;
    let mut out = Vec::new();
    let mut last: Option<usize> = None;
    for n in 0..env.len() {
        let around = &env[n.saturating_sub(MAX_BEFORE)..(n + MAX_AFTER + 1).min(env.len())];
        if around.iter().any(|&v| v > env[n]) {
            continue;
        }
        let near = &env[n.saturating_sub(MEAN_BEFORE)..(n + MEAN_AFTER + 1).min(env.len())];
        let mean = near.iter().sum::<f64>() / near.len() as f64;
        if env[n] < mean + ONSET_DELTA || last.is_some_and(|l| n - l <= WAIT) {
            continue;
        }
        last = Some(n);
        out.push(n as f64 / rate);
    }
    out
}

/// Band powers of `frames` averaged (linear power), and their total.
fn mean_band_power(frames: &[FrameStats]) -> ([f64; BAND_COUNT], f64) {
    let mut power = [0.0f64; BAND_COUNT];
    for f in frames {
        for (p, &b) in power.iter_mut().zip(&f.bands_db) {
            *p += db_to_power(f64::from(b));
        }
    }
    let n = frames.len().max(1) as f64;
    for p in &mut power {
        *p /= n;
    }
    let total = power.iter().sum();
    (power, total)
}

/// The share of `power` in the bands whose centre lies in `[lo, hi)` Hz.
fn band_share(power: &[f64; BAND_COUNT], total: f64, lo: f64, hi: f64) -> f64 {
    if total <= 0.0 {
        return 0.0;
    }
    let part: f64 = (0..BAND_COUNT).filter(|&k| (lo..hi).contains(&band_centre_hz(k))).map(|k| power[k]).sum();
    part / total
}

/// The energy of a stretch from its loudness, onset rate and tempo (see the module docs).
pub fn energy_of(loudness_lufs: Option<f64>, onsets_per_second: f64, tempo_bpm: Option<f64>) -> f32 {
    let loud = loudness_lufs.map_or(0.0, |l| ramp(l, CALM_LUFS, LOUD_LUFS));
    let onsets = ramp(onsets_per_second.max(1e-6).log2(), CALM_ONSETS.log2(), BUSY_ONSETS.log2());
    let (sum, weights) = match tempo_bpm {
        Some(bpm) => (W_LOUDNESS * loud + W_ONSETS * onsets + W_TEMPO * ramp(bpm, SLOW_BPM, FAST_BPM), 1.0),
        None => (W_LOUDNESS * loud + W_ONSETS * onsets, W_LOUDNESS + W_ONSETS),
    };
    (sum / weights) as f32
}

/// The energy of `[t0, t1]` (timeline seconds) of the stretch whose [`onset_times`] are
/// `onsets` (time 0 at `start_s`), at the given tempo; `None` when the interval holds no frame.
/// The onsets are found once by the caller: finding them sorts the whole stretch's envelope,
/// which, once per section of a long file, took most of its analysis.
pub fn energy_between(
    onsets: &[f64],
    start_s: f64,
    timeline: &Timeline,
    t0: f64,
    t1: f64,
    tempo_bpm: Option<f64>,
) -> Option<f32> {
    if t1 <= t0 || timeline.frames_between(t0, t1).is_empty() {
        return None;
    }
    let onsets = onsets.iter().filter(|&&t| (t0..t1).contains(&(start_s + t))).count();
    let loudness = timeline.loudness_between(t0, t1).integrated_lufs;
    Some(energy_of(loudness, onsets as f64 / (t1 - t0), tempo_bpm))
}

/// Brightness from the high-frequency share (see the module documentation).
pub fn brightness_of(high_frequency_share: f64) -> f32 {
    ramp(high_frequency_share.max(1e-9).ln(), DARK_SHARE.ln(), BRIGHT_SHARE.ln()) as f32
}

/// Describes the character of the stretch of `timeline` that `features` were computed on
/// (the features' time 0 is `start_s` seconds into the timeline). `None` when the timeline
/// holds no frame of it or it is silent.
pub fn describe(features: &Features, start_s: f64, timeline: &Timeline) -> Option<Character> {
    let t1 = start_s + features_seconds(features);
    let frames = timeline.frames_between(start_s, t1);
    let (power, total) = mean_band_power(frames);
    if frames.is_empty() || total <= 0.0 || !total.is_finite() {
        return None;
    }
    let loudness = timeline.loudness_between(start_s, t1);
    let onsets_per_second = onset_times(features).len() as f64 / (t1 - start_s).max(1e-3);
    let tempo = tempo::detect(features);
    let tempo_bpm = (tempo.confidence > 0.0 && tempo.bpm.is_finite()).then_some(tempo.bpm);
    let centroid = (0..BAND_COUNT).map(|k| power[k] * band_centre_hz(k)).sum::<f64>() / total;
    let high = band_share(&power, total, HIGH_FROM_HZ, f64::INFINITY);
    let energy = energy_of(loudness.integrated_lufs, onsets_per_second, tempo_bpm);
    let brightness = brightness_of(high);
    let (description_en, description_fr) =
        describe_in_words(energy, brightness, loudness.integrated_lufs, onsets_per_second, tempo_bpm, high, centroid);
    Some(Character {
        energy,
        brightness,
        description_en,
        description_fr,
        loudness_lufs: loudness.integrated_lufs,
        loudness_range_lu: loudness.loudness_range_lu,
        onsets_per_second,
        tempo_bpm,
        spectral_centroid_hz: centroid,
        high_frequency_share: high,
    })
}

/// A number in `lang` ([`text::number`]) with a typographic minus: the descriptions are prose.
fn prose_number(x: f64, decimals: usize, lang: Lang) -> String {
    text::number(x, decimals, lang).replace('-', "\u{2212}")
}

fn en(x: f64, decimals: usize) -> String {
    prose_number(x, decimals, Lang::En)
}

fn fr(x: f64, decimals: usize) -> String {
    prose_number(x, decimals, Lang::Fr)
}

fn describe_in_words(
    energy: f32,
    brightness: f32,
    lufs: Option<f64>,
    onsets: f64,
    bpm: Option<f64>,
    high: f64,
    centroid: f64,
) -> (String, String) {
    let third = |x: f32| {
        if x < 1.0 / 3.0 {
            0
        } else if x > 2.0 / 3.0 {
            2
        } else {
            1
        }
    };
    let (energy_en, energy_fr) = [("Calm", "Calme"), ("Moderate", "Modéré"), ("Energetic", "Énergique")][third(energy)];
    let (tone_en, tone_fr) = [("dark", "sombre"), ("balanced", "équilibré"), ("bright", "brillant")][third(brightness)];
    let mut en_parts = vec![format!("{} onsets per second", en(onsets, 1))];
    let mut fr_parts = vec![format!("{} attaques par seconde", fr(onsets, 1))];
    if let Some(l) = lufs {
        en_parts.push(format!("{} LUFS", en(l, 1)));
        fr_parts.push(format!("{} LUFS", fr(l, 1)));
    }
    if let Some(b) = bpm {
        en_parts.push(format!("{b:.0} BPM"));
        fr_parts.push(format!("{b:.0} BPM"));
    }
    let pct = 100.0 * high;
    let khz = centroid / 1000.0;
    en_parts.push(format!("{pct:.0} % of the power above 1.4 kHz (spectral centroid {} kHz)", en(khz, 1)));
    fr_parts.push(format!(
        "{pct:.0}\u{a0}% de la puissance au-dessus de 1,4\u{a0}kHz (centroïde spectral {}\u{a0}kHz)",
        fr(khz, 1)
    ));
    (
        format!("{energy_en} and {tone_en}: {}.", en_parts.join(", ")),
        format!("{energy_fr} et {tone_fr}\u{a0}: {}.", fr_parts.join(", ")),
    )
}

/// The source cues of the stretch (see the module documentation); `None` without frames or
/// power.
pub fn source_measures(features: &Features, start_s: f64, timeline: &Timeline) -> Option<SourceMeasures> {
    let t1 = start_s + features_seconds(features);
    let frames = timeline.frames_between(start_s, t1);
    let (power, total) = mean_band_power(frames);
    if frames.is_empty() || total <= 0.0 || !total.is_finite() {
        return None;
    }
    let mid: Vec<f64> =
        (0..BAND_COUNT).filter(|&k| (100.0..10_500.0).contains(&band_centre_hz(k))).map(|k| power[k]).collect();
    let geometric = (mid.iter().map(|p| p.max(1e-30).ln()).sum::<f64>() / mid.len() as f64).exp();
    let arithmetic = mid.iter().sum::<f64>() / mid.len() as f64;

    let (mut tonal, mut flux, mut weight, mut flux_weight) = (0.0, 0.0, 0.0, 0.0);
    let mut previous: Option<&[f32; 12]> = None;
    for c in &features.chroma {
        let sum: f32 = c.iter().sum();
        if sum <= 0.0 || !sum.is_finite() {
            previous = None;
            continue;
        }
        let entropy: f64 =
            c.iter().map(|&x| f64::from(x / sum)).filter(|&p| p > 0.0).map(|p| -p * p.ln()).sum::<f64>() / 12f64.ln();
        let w = f64::from(sum);
        tonal += w * (1.0 - entropy);
        weight += w;
        if let Some(p) = previous {
            let dot: f32 = p.iter().zip(c).map(|(a, b)| a * b).sum();
            let norms = p.iter().map(|a| a * a).sum::<f32>().sqrt() * c.iter().map(|a| a * a).sum::<f32>().sqrt();
            flux += w * (1.0 - f64::from(dot / norms.max(1e-12)));
            flux_weight += w;
        }
        previous = Some(c);
    }
    let amplitude = |frames: &[[f32; 12]]| frames.iter().flatten().map(|&x| f64::from(x)).sum::<f64>();
    let polyphony = |frames: &[[f32; 12]]| {
        let (mut count, mut w) = (0.0, 0.0);
        for c in frames {
            let strongest = c.iter().fold(0.0f32, |m, &x| m.max(x));
            if strongest > 0.0 {
                let frame_weight = f64::from(c.iter().sum::<f32>());
                count += frame_weight * c.iter().filter(|&&x| x >= 0.3 * strongest).count() as f64;
                w += frame_weight;
            }
        }
        if w > 0.0 {
            count / w
        } else {
            0.0
        }
    };
    let onset_bands = features.onset.iter().fold([0.0f64; 3], |mut acc, o| {
        for (a, &x) in acc.iter_mut().zip(o) {
            *a += f64::from(x);
        }
        acc
    });
    let onset_total: f64 = onset_bands.iter().sum();
    let chroma_amplitude = amplitude(&features.chroma);
    Some(SourceMeasures {
        tonality: if weight > 0.0 { tonal / weight } else { 0.0 },
        chroma_flux: if flux_weight > 0.0 { flux / flux_weight } else { 0.0 },
        low_share: band_share(&power, total, 0.0, LOW_TO_HZ),
        high_share: band_share(&power, total, HIGH_FROM_HZ, f64::INFINITY),
        air_share: band_share(&power, total, AIR_FROM_HZ, f64::INFINITY),
        band_flatness: if arithmetic > 0.0 { geometric / arithmetic } else { 0.0 },
        bass_chroma_share: if chroma_amplitude > 0.0 {
            amplitude(&features.bass_chroma) / chroma_amplitude
        } else {
            0.0
        },
        bass_polyphony: polyphony(&features.bass_chroma),
        high_onset_share: if onset_total > 0.0 { onset_bands[2] / onset_total } else { 0.0 },
    })
}

/// The score of every kind from the cues (see the module documentation for the reasons).
pub fn source_scores(m: &SourceMeasures) -> SourceScores {
    let tonal = ramp(m.tonality, 0.06, 0.10);
    let drums = ramp(m.tonality, 0.14, 0.08) * ramp(m.air_share, 0.01, 0.03);
    let bass =
        ramp(m.bass_chroma_share, 0.25, 0.35) * ramp(m.bass_polyphony, 2.2, 1.7) * ramp(m.high_share, 0.06, 0.03);
    let vocal = ramp(m.chroma_flux, 0.045, 0.07)
        * ramp(m.tonality, 0.3, 0.2)
        * ramp(m.low_share, 0.25, 0.15)
        * ramp(m.air_share, 0.03, 0.015);
    // Of the power above 1.4 kHz, how much reaches above 5.6 kHz.
    let air_of_high = if m.high_share > 0.0 { m.air_share / m.high_share } else { 0.0 };
    let electric = ramp(m.high_share, 0.3, 0.5) * ramp(air_of_high, 0.02, 0.005);
    let acoustic = ramp(m.high_share, 0.01, 0.03) * ramp(air_of_high, 0.05, 0.08);
    let guitar = electric.max(acoustic) * tonal * ramp(m.low_share, 0.4, 0.3) * ramp(m.band_flatness, 0.5, 0.42);
    let full_mix = ramp(m.band_flatness, 0.2, 0.45)
        * ramp(m.tonality, 0.1, 0.16)
        * ramp(m.high_onset_share, 0.08, 0.12)
        * ramp(m.low_share, 0.08, 0.2);
    let keys = ramp(m.tonality, 0.12, 0.2) * (1.0 - bass) * (1.0 - guitar) * (1.0 - vocal) * (1.0 - full_mix);
    SourceScores {
        drums: drums as f32,
        bass: bass as f32,
        vocal: vocal as f32,
        guitar: guitar as f32,
        keys: keys as f32,
        full_mix: full_mix as f32,
    }
}

/// Guesses what is playing in the stretch of `timeline` that `features` were computed on.
/// `None` for silence, or when no kind scores at all.
pub fn source(features: &Features, start_s: f64, timeline: &Timeline) -> Option<Source> {
    let measures = source_measures(features, start_s, timeline)?;
    let scores = source_scores(&measures);
    let total: f32 = SourceKind::ALL.iter().map(|&k| scores.get(k)).sum();
    let kind = SourceKind::ALL.into_iter().max_by(|&a, &b| scores.get(a).total_cmp(&scores.get(b)))?;
    let best = scores.get(kind);
    if !(best > 0.0 && total.is_finite()) {
        return None;
    }
    Some(Source { kind, confidence: best / total, scores, measures })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramps_go_both_ways_and_clamp() {
        assert_eq!(ramp(0.5, 0.0, 1.0), 0.5);
        assert_eq!(ramp(2.0, 0.0, 1.0), 1.0);
        assert_eq!(ramp(0.25, 1.0, 0.0), 0.75);
        assert_eq!(ramp(-1.0, 1.0, 0.0), 1.0);
        assert_eq!(ramp(1.0, 1.0, 1.0), 1.0);
    }

    #[test]
    fn energy_follows_loudness_density_and_tempo() {
        let calm = energy_of(Some(-34.0), 0.6, Some(62.0));
        let busy = energy_of(Some(-14.5), 7.5, Some(158.0));
        assert!(calm < 0.1 && busy > 0.9, "{calm} {busy}");
        // Without a pulse the two other cues decide alone.
        assert_eq!(energy_of(Some(-14.0), 8.0, None), 1.0);
        assert_eq!(energy_of(None, 0.1, None), 0.0);
        // Brightness: 1 % dark, 50 % bright, 7 % in the middle.
        assert_eq!(brightness_of(0.005), 0.0);
        assert_eq!(brightness_of(0.6), 1.0);
        assert!((brightness_of((0.01f64 * 0.5).sqrt()) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn words_match_the_numbers_in_both_languages() {
        let (en, fr) = describe_in_words(0.9, 0.1, Some(-9.5), 6.24, Some(150.0), 0.0123, 420.0);
        assert_eq!(
            en,
            "Energetic and dark: 6.2 onsets per second, \u{2212}9.5 LUFS, 150 BPM, 1 % of the power above 1.4 kHz \
             (spectral centroid 0.4 kHz)."
        );
        assert!(
            fr.starts_with("Énergique et sombre\u{a0}: 6,2 attaques par seconde, \u{2212}9,5 LUFS, 150 BPM"),
            "{fr}"
        );
        let (en, fr) = describe_in_words(0.5, 0.5, None, 1.0, None, 0.1, 1500.0);
        assert!(en.starts_with("Moderate and balanced: 1.0 onsets per second, 10 %"), "{en}");
        assert!(fr.starts_with("Modéré et équilibré\u{a0}: 1,0 attaques par seconde, 10\u{a0}%"), "{fr}");
    }

    fn measures() -> SourceMeasures {
        SourceMeasures {
            tonality: 0.3,
            chroma_flux: 0.01,
            low_share: 0.1,
            high_share: 0.1,
            air_share: 0.001,
            band_flatness: 0.1,
            bass_chroma_share: 0.1,
            bass_polyphony: 1.0,
            high_onset_share: 0.02,
        }
    }

    #[test]
    fn each_rule_picks_its_kind() {
        let best = |m: &SourceMeasures| {
            let s = source_scores(m);
            SourceKind::ALL.into_iter().max_by(|&a, &b| s.get(a).total_cmp(&s.get(b))).unwrap()
        };
        // A tonal, narrow, quiet-topped sound with no special cue is keys.
        assert_eq!(best(&measures()), SourceKind::Keys);
        let drums = SourceMeasures { tonality: 0.06, air_share: 0.06, band_flatness: 0.5, ..measures() };
        assert_eq!(best(&drums), SourceKind::Drums);
        let bass = SourceMeasures { low_share: 0.7, high_share: 0.0, bass_chroma_share: 0.5, ..measures() };
        assert_eq!(best(&bass), SourceKind::Bass);
        let organ = SourceMeasures { bass_polyphony: 3.0, ..bass };
        assert_eq!(best(&organ), SourceKind::Keys);
        let voice = SourceMeasures { tonality: 0.13, chroma_flux: 0.09, band_flatness: 0.35, ..measures() };
        assert_eq!(best(&voice), SourceKind::Vocal);
        let electric = SourceMeasures { high_share: 0.7, air_share: 0.001, ..measures() };
        assert_eq!(best(&electric), SourceKind::Guitar);
        let acoustic = SourceMeasures { high_share: 0.1, air_share: 0.02, band_flatness: 0.35, ..measures() };
        assert_eq!(best(&acoustic), SourceKind::Guitar);
        let mix = SourceMeasures {
            tonality: 0.2,
            low_share: 0.3,
            air_share: 0.012,
            band_flatness: 0.6,
            high_onset_share: 0.16,
            ..measures()
        };
        assert_eq!(best(&mix), SourceKind::FullMix);
    }
}
