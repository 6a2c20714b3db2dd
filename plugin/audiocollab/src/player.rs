//! The standalone application's file player: with `AUDIOCOLLAB_PLAY=FILE` in the environment,
//! `audiocollab-standalone` plays the file, looped, into the chain in place of its audio input,
//! so the window's meters, spectrum, findings and assistant can be tried without a DAW or an
//! audio interface (`--backend dummy`; with a real backend the result is heard).
//!
//! Used only by the standalone build (feature `standalone`); the CLAP and VST3 plugins have no
//! such path. The file is decoded in `activate()`; [`Player::fill`] only copies.

use audiocollab_core::offline::read_audio;
use std::path::Path;

/// The environment variable naming the file.
pub const PLAY_ENV: &str = "AUDIOCOLLAB_PLAY";

/// A decoded file and where playback is.
#[derive(Debug)]
pub struct Player {
    channels: Vec<Vec<f32>>,
    position: usize,
}

impl Player {
    /// The player for the file named by [`PLAY_ENV`], if set. A file that cannot be decoded, is
    /// empty, or has another sample rate than `sample_rate` is refused with a message (the
    /// player does not resample: start the standalone with `--sample-rate` of the file).
    pub fn from_env(sample_rate: f32) -> Option<Result<Player, String>> {
        let path = std::env::var_os(PLAY_ENV)?;
        Some(Self::open(Path::new(&path), sample_rate))
    }

    /// The player for `path` at `sample_rate` Hz.
    pub fn open(path: &Path, sample_rate: f32) -> Result<Player, String> {
        let audio = read_audio(path).map_err(|e| format!("{PLAY_ENV}: {}: {e}", path.display()))?;
        if audio.sample_rate as f32 != sample_rate {
            return Err(format!(
                "{PLAY_ENV}: {} is {} Hz and the standalone runs at {sample_rate} Hz; start it with --sample-rate {}",
                path.display(),
                audio.sample_rate,
                audio.sample_rate
            ));
        }
        if audio.channels.first().is_none_or(Vec::is_empty) {
            return Err(format!("{PLAY_ENV}: {} has no audio", path.display()));
        }
        Ok(Player { channels: audio.channels, position: 0 })
    }

    /// Writes the next stretch of the file, looped, over `out` (`out[ch][frame]`): a mono file
    /// into every channel, a stereo file into a mono output as the mean of its channels.
    /// Realtime-safe: copies only.
    pub fn fill(&mut self, out: &mut [&mut [f32]]) {
        let len = self.channels[0].len();
        let frames = out.first().map_or(0, |c| c.len());
        let sources = self.channels.len();
        for i in 0..frames {
            let at = (self.position + i) % len;
            if out.len() == 1 && sources > 1 {
                out[0][i] = self.channels.iter().map(|c| c[at]).sum::<f32>() / sources as f32;
            } else {
                for (ch, channel) in out.iter_mut().enumerate() {
                    channel[i] = self.channels[ch.min(sources - 1)][at];
                }
            }
        }
        self.position = (self.position + frames) % len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_and_maps_channels() {
        let mut p = Player { channels: vec![vec![1.0, 2.0, 3.0], vec![-1.0, -2.0, -3.0]], position: 0 };
        let (mut l, mut r) = (vec![0.0; 4], vec![0.0; 4]);
        p.fill(&mut [&mut l, &mut r]);
        assert_eq!((l.as_slice(), r.as_slice()), (&[1.0, 2.0, 3.0, 1.0][..], &[-1.0, -2.0, -3.0, -1.0][..]));
        let mut mono = vec![9.0; 2];
        p.fill(&mut [&mut mono]);
        assert_eq!(mono, vec![0.0, 0.0]);
        let mut one = Player { channels: vec![vec![0.5]], position: 0 };
        one.fill(&mut [&mut l, &mut r]);
        assert!(l.iter().chain(&r).all(|&x| x == 0.5));
    }

    #[test]
    fn refuses_what_it_cannot_play() {
        let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/demo.flac");
        let wrong_rate = Player::open(&demo, 48_000.0).unwrap_err();
        assert!(wrong_rate.contains("--sample-rate 44100"), "{wrong_rate}");
        assert!(Player::open(Path::new("/nonexistent.wav"), 48_000.0).is_err());
        assert!(Player::open(&demo, 44_100.0).is_ok());
    }
}
