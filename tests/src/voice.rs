//! Speech test material: `espeak-ng` (Debian package `espeak-ng`) speaks a text into a WAV file.
//! A formant synthesiser rather than a recording, but a real voice signal: a glottal source at a
//! speaking pitch that glides, vowel formants, fricatives and pauses, which is what the source
//! classifier has to tell from pitched instruments.

use std::path::Path;
use std::process::Command;

/// One `espeak-ng` utterance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Utterance {
    /// What is said.
    pub text: String,
    /// `espeak-ng -v`: a language, optionally with a variant (`en-us`, `fr+f3`).
    pub voice: String,
    /// Words per minute (`-s`, 80–450).
    pub words_per_minute: u32,
    /// Base pitch (`-p`, 0–99, default 50).
    pub pitch: u32,
}

impl Utterance {
    /// `text` in `voice` at `words_per_minute` and `pitch`.
    pub fn new(text: &str, voice: &str, words_per_minute: u32, pitch: u32) -> Utterance {
        Utterance { text: text.to_string(), voice: voice.to_string(), words_per_minute, pitch }
    }

    /// The arguments passed to `espeak-ng` to write `wav_out`.
    pub fn args(&self, wav_out: &Path) -> Vec<String> {
        vec![
            "-v".into(),
            self.voice.clone(),
            "-s".into(),
            self.words_per_minute.to_string(),
            "-p".into(),
            self.pitch.to_string(),
            "-w".into(),
            wav_out.display().to_string(),
            self.text.clone(),
        ]
    }

    /// Speaks into `wav_out` (16-bit mono WAV at espeak-ng's 22.05 kHz).
    pub fn speak(&self, wav_out: &Path) -> Result<(), String> {
        let _ = std::fs::remove_file(wav_out);
        let output = Command::new("espeak-ng").args(self.args(wav_out)).output().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                "`espeak-ng` not found on PATH: install the Debian package `espeak-ng`".to_string()
            } else {
                format!("could not run espeak-ng: {e}")
            }
        })?;
        if !output.status.success() {
            return Err(format!("espeak-ng failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr)));
        }
        match std::fs::metadata(wav_out) {
            Ok(m) if m.len() > 44 => Ok(()),
            _ => Err(format!("espeak-ng wrote no audio to {}", wav_out.display())),
        }
    }
}

/// Whether `espeak-ng` runs here.
pub fn espeak_available() -> bool {
    Command::new("espeak-ng").arg("--version").output().is_ok_and(|o| o.status.success())
}
