//! The real music: released game soundtracks from Debian packages (installed from
//! `.ci/apt-packages.txt`, never committed), split into a tuning set and a held-out set by
//! package, and cut into clean excerpts by a fixed rule.
//!
//! Split: by package, so that no composer or production of the held-out set is heard while
//! tuning. Tuning: hyperrogue-music, drascula-music, asc-music. Held out: planetblupi-music-ogg,
//! warzone2100-music.
//!
//! Excerpt rule: [`EXCERPT_S`] seconds (or what the caller asks) starting at 30 % of the room the
//! track leaves (`0.3 × (duration − length)`), so past most intros and before the end; tracks
//! shorter than the excerpt plus [`MARGIN_S`] and excerpts quieter than [`QUIET_DBFS`] RMS
//! (a near-silent stretch) are left out. Mono tracks become dual mono.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, bail, Context as _, Result};
use serde::Serialize;

/// Default excerpt length, s.
pub const EXCERPT_S: f64 = 25.0;
/// A track must be this much longer than its excerpt, s.
pub const MARGIN_S: f64 = 2.0;
/// Excerpts quieter than this (RMS over both channels, dBFS) are left out.
pub const QUIET_DBFS: f64 = -45.0;

/// Which side of the split a track is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Set {
    /// What later work may tune the engine on.
    Tuning,
    /// What it must not look at.
    HeldOut,
}

impl Set {
    /// `tuning` / `held-out`.
    pub fn id(self) -> &'static str {
        match self {
            Set::Tuning => "tuning",
            Set::HeldOut => "held-out",
        }
    }
}

/// The packages, their set and the folder their music is in.
pub const PACKAGES: [(&str, Set, &str); 5] = [
    ("hyperrogue-music", Set::Tuning, "/usr/share/hyperrogue/music/"),
    ("drascula-music", Set::Tuning, "/usr/share/scummvm/drascula/audio/"),
    ("asc-music", Set::Tuning, "/usr/share/games/asc/music/"),
    ("planetblupi-music-ogg", Set::HeldOut, "/usr/share/planetblupi/music/"),
    ("warzone2100-music", Set::HeldOut, "/usr/share/games/warzone2100/music/"),
];

/// One music file.
#[derive(Clone, Debug, Serialize)]
pub struct Track {
    /// `package/relative/path` without the extension: the name seeds and reports use.
    pub id: String,
    /// The installed file.
    pub path: PathBuf,
    /// Its set.
    pub set: Set,
}

/// The tracks of every package, sorted by id; an error naming the packages to install when
/// one is missing.
pub fn tracks() -> Result<Vec<Track>> {
    let mut missing = Vec::new();
    let mut found = Vec::new();
    for (package, set, folder) in PACKAGES {
        let out = Command::new("dpkg").args(["-L", package]).output().context("cannot run dpkg")?;
        if !out.status.success() {
            missing.push(package);
            continue;
        }
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Some(rest) = line.strip_prefix(folder) else { continue };
            let path = Path::new(line);
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !matches!(ext, "ogg" | "mp3" | "opus") || !path.is_file() {
                continue;
            }
            let stem = rest.strip_suffix(&format!(".{ext}")).unwrap_or(rest);
            found.push(Track { id: format!("{package}/{stem}"), path: path.to_path_buf(), set });
        }
    }
    if !missing.is_empty() {
        bail!(
            "the evaluation's music is not installed: apt-get install {} (listed in .ci/apt-packages.txt)",
            missing.join(" ")
        );
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(found)
}

/// A clean excerpt in memory.
pub struct Excerpt {
    /// The track it is from.
    pub track: Track,
    /// Start in the track, s.
    pub start_s: f64,
    /// Frames per second.
    pub rate: u32,
    /// Left and right.
    pub channels: [Vec<f32>; 2],
}

/// Cuts the excerpt of `track` by the rule above; `Ok(None)` when the rule leaves it out.
///
/// Decoded by the formats' reference libraries through their command-line tools, not by the
/// product: Ogg Vorbis and MP3 by `sox` (libvorbisfile; libmad from libsox-fmt-mp3), which
/// seeks to the excerpt; Opus by `opusdec` (libopus, opus-tools), whose whole output is read
/// (it cannot seek) at its 48 kHz.
pub fn excerpt(track: &Track, length_s: f64) -> Result<Option<Excerpt>> {
    let is_opus = track.path.extension().is_some_and(|e| e == "opus");
    let (rate, channels, start_s) = if is_opus {
        let rate = 48_000;
        let whole = raw_f32(
            Command::new("opusdec").args(["--quiet", "--float", "--force-stereo"]).arg(&track.path).arg("-"),
            "opus-tools",
        )?;
        let frames = whole.len() / 2;
        let length = (length_s * f64::from(rate)).round() as usize;
        if (frames as f64) < (length_s + MARGIN_S) * f64::from(rate) {
            return Ok(None);
        }
        let start = (0.3 * (frames - length) as f64).round() as usize;
        let cut = &whole[2 * start..2 * (start + length)];
        (rate, deinterleave(cut), start as f64 / f64::from(rate))
    } else {
        let duration: f64 = soxi(&track.path, "-D")?;
        let rate: u32 = soxi(&track.path, "-r")?;
        if duration < length_s + MARGIN_S {
            return Ok(None);
        }
        // Whole frames, so that the start is exact.
        let start = (0.3 * (duration - length_s) * f64::from(rate)).round() as usize;
        let length = (length_s * f64::from(rate)).round() as usize;
        let raw = raw_f32(
            Command::new("sox")
                .arg(&track.path)
                .args(["-t", "raw", "-e", "floating-point", "-b", "32", "-L", "-c", "2", "-"])
                .args(["trim", &format!("{start}s"), &format!("{length}s")]),
            "sox libsox-fmt-mp3",
        )?;
        anyhow::ensure!(raw.len() == 2 * length, "sox gave {} frames of {} for {}", raw.len() / 2, length, track.id);
        (rate, deinterleave(&raw), start as f64 / f64::from(rate))
    };
    let n = (2 * channels[0].len()).max(1) as f64;
    let rms_db = 10.0 * (channels.iter().flatten().map(|&x| f64::from(x).powi(2)).sum::<f64>() / n).max(1e-30).log10();
    if rms_db < QUIET_DBFS {
        return Ok(None);
    }
    Ok(Some(Excerpt { track: track.clone(), start_s, rate, channels }))
}

/// Runs a decoder that writes interleaved stereo 32-bit float little-endian on stdout.
fn raw_f32(command: &mut Command, package: &str) -> Result<Vec<f32>> {
    let out = command.output().map_err(|e| anyhow!("cannot run {command:?} ({e}): apt-get install {package}"))?;
    if !out.status.success() {
        bail!("{command:?} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(out.stdout.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

/// One `soxi` field of `path`.
fn soxi<T: std::str::FromStr>(path: &Path, option: &str) -> Result<T> {
    let out = Command::new("soxi")
        .arg(option)
        .arg(path)
        .output()
        .map_err(|e| anyhow!("cannot run soxi ({e}): apt-get install sox libsox-fmt-mp3"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().parse().map_err(|_| {
        anyhow!("soxi {option} {}: '{}' {}", path.display(), text.trim(), String::from_utf8_lossy(&out.stderr).trim())
    })
}

fn deinterleave(raw: &[f32]) -> [Vec<f32>; 2] {
    [raw.iter().step_by(2).copied().collect(), raw.iter().skip(1).step_by(2).copied().collect()]
}

fn stereo(mut channels: Vec<Vec<f32>>) -> Result<[Vec<f32>; 2]> {
    match channels.len() {
        1 => {
            let only = channels.remove(0);
            Ok([only.clone(), only])
        }
        2 => {
            let r = channels.remove(1);
            Ok([channels.remove(0), r])
        }
        n => bail!("{n} channels: the evaluation takes mono or stereo"),
    }
}

/// Reads a WAV (integer or float) into stereo `f32` with hound.
pub fn read_wav(path: &Path) -> Result<(u32, [Vec<f32>; 2])> {
    let mut reader = hound::WavReader::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let spec = reader.spec();
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().collect::<Result<_, _>>()?,
        hound::SampleFormat::Int => {
            let full = 2f32.powi(i32::from(spec.bits_per_sample) - 1);
            reader.samples::<i32>().map(|s| s.map(|v| v as f32 / full)).collect::<Result<_, _>>()?
        }
    };
    let n = usize::from(spec.channels.max(1));
    let planar = (0..n).map(|c| samples.iter().skip(c).step_by(n).copied().collect()).collect();
    Ok((spec.sample_rate, stereo(planar)?))
}

/// Writes stereo 32-bit float WAV with hound (peaks above full scale are kept).
pub fn write_wav(path: &Path, channels: &[Vec<f32>; 2], rate: u32) -> Result<()> {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).with_context(|| format!("cannot write {}", path.display()))?;
    for (l, r) in channels[0].iter().zip(&channels[1]) {
        w.write_sample(*l)?;
        w.write_sample(*r)?;
    }
    w.finalize()?;
    Ok(())
}
