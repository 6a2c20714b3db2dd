//! A reference track's tonal curve: what the analysis is judged against instead of a genre's
//! target when the musician picks a released track they like. Only its numbers are kept (never
//! its audio or its path); the project saves it, so it is read back untrusted ([`Reference::sanitised`]).

use serde::{Deserialize, Serialize};

use crate::analysis::targets::GenreTarget;
use crate::analysis::track::{AnalyzeOptions, TrackAnalysis};
use crate::meter::stats::BAND_COUNT;

/// A reference track's tonal curve, as the project keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    /// The track's name (its file name, without the folders).
    pub name: String,
    /// Its level in each ISO 266 band relative to its integrated loudness, dB (`None`: not
    /// measured, such as a band above its Nyquist frequency).
    pub levels_db: Vec<Option<f32>>,
    /// Its loudness range, LU.
    pub loudness_range_lu: Option<f64>,
}

/// Longest reference name kept, characters.
const REFERENCE_NAME_CHARS: usize = 80;

impl Reference {
    /// The reference `analysis` of a track called `name` sets; `None` when it is silent.
    pub fn of(analysis: &TrackAnalysis, name: &str) -> Option<Reference> {
        // A band far under the rest (a low-passed top octave) is kept, at the target's floor.
        let levels_db = analysis.band_levels()?.iter().map(|l| l.map(|v| v.clamp(-80.0, 20.0))).collect();
        Reference { name: name.into(), levels_db, loudness_range_lu: analysis.loudness.loudness_range_lu }.sanitised()
    }

    /// Decodes and analyses the track at `path` (WAV, FLAC, MP3, Ogg Vorbis, AIFF) into the
    /// reference it sets, named by its file name. Streamed, so a long reference costs no more
    /// memory than a short one.
    pub fn load(path: &std::path::Path) -> Result<Reference, String> {
        use crate::analysis::track::analyze_with_features;
        let name = path.file_name().map_or_else(|| "reference".into(), |n| n.to_string_lossy().into_owned());
        let file = crate::offline::measure_file(path, None, None, &mut |_, _| {}, &mut |_, _| {})
            .map_err(|e| format!("{name}: {e}"))?;
        let (timeline, features) = (&file.measured.timeline, file.measured.features.as_ref());
        let analysis = analyze_with_features(timeline, features, &AnalyzeOptions::default())
            .map_err(|e| format!("{name}: {e}"))?;
        Reference::of(&analysis, &name).ok_or_else(|| format!("{name} is silent: nothing to compare with"))
    }

    /// The target it sets ([`GenreTarget::reference`]).
    pub fn target(&self) -> GenreTarget {
        let mut levels = [None; BAND_COUNT];
        for (slot, level) in levels.iter_mut().zip(&self.levels_db) {
            *slot = *level;
        }
        GenreTarget::reference(&self.name, &levels, self.loudness_range_lu)
    }

    /// `None` unless it has one level per band, each finite and within ±80 dB, and at least one
    /// measured; the name loses control characters and is cut to 80 characters.
    pub fn sanitised(mut self) -> Option<Reference> {
        let sane = |v: &Option<f32>| v.is_none_or(|v| v.is_finite() && v.abs() <= 80.0);
        if self.levels_db.len() != BAND_COUNT
            || !self.levels_db.iter().all(sane)
            || self.levels_db.iter().all(Option::is_none)
        {
            return None;
        }
        self.name = self.name.chars().filter(|c| !c.is_control()).take(REFERENCE_NAME_CHARS).collect();
        self.loudness_range_lu = self.loudness_range_lu.filter(|v| v.is_finite() && (0.0..=100.0).contains(v));
        Some(self)
    }
}
