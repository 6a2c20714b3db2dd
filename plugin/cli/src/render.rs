//! `render` and `params`: the chain applied to a file, and the parameters it takes.

use std::fmt::Write as _;
use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use clap::{Args, ValueEnum};

use audiocollab_core::analysis::sanitize::NonFinite;
use audiocollab_core::dsp::decibel::gain_to_db;
use audiocollab_core::lang::Lang;
use audiocollab_core::offline::{self, RenderError, RenderFileError, WavFormat, RENDER_BLOCK, SAMPLE_RATE_RANGE};
use audiocollab_core::spec::{Kind, ParamId, Settings, PARAMS};
use audiocollab_core::text::clock_span_tenths;
use audiocollab_core::untrusted::{excerpt, json_error};

use crate::{print_stdout, warn_concealed, Failure, FileProgress, EXIT_INPUT, EXIT_OTHER, EXIT_OUTPUT};

#[derive(Args)]
pub struct RenderArgs {
    /// Input audio file: WAV, AIFF, FLAC, MP3 or Ogg Vorbis, mono or stereo.
    pub input: PathBuf,
    /// Output WAV file (replaced if it exists).
    pub output: PathBuf,
    /// Set a parameter, e.g. `--set b2_gain=-3dB --set hp_on=on --set hp_freq=120Hz`.
    /// Repeatable; unset parameters keep their defaults. See `audiocollab params`.
    #[arg(long = "set", value_name = "PARAM=VALUE", value_parser = parse_assignment)]
    pub set: Vec<Assignment>,
    /// Output sample format. 32-bit float keeps peaks above 0 dBFS; 16 and 24 clip them.
    #[arg(long, value_enum, value_name = "BITS", default_value_t = Bits::F32)]
    pub bits: Bits,
    /// Apply the changes of an assistant reply (what `audiocollab suggest --json` prints),
    /// validated like any reply: unknown parameters refused, values clamped, steps limited.
    /// Applied after the `--set` values.
    #[arg(long, value_name = "CHANGES.json")]
    pub apply: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Bits {
    /// 16-bit integer
    #[value(name = "16")]
    I16,
    /// 24-bit integer
    #[value(name = "24")]
    I24,
    /// 32-bit float
    #[value(name = "32f")]
    F32,
}

impl From<Bits> for WavFormat {
    fn from(bits: Bits) -> Self {
        match bits {
            Bits::I16 => WavFormat::Int16,
            Bits::I24 => WavFormat::Int24,
            Bits::F32 => WavFormat::Float32,
        }
    }
}

/// One validated `--set`. Parsed while clap parses the command line, so a bad id or value is
/// a usage error (exit 2) before any audio is read.
#[derive(Clone, Copy, Debug)]
pub struct Assignment {
    pub param: ParamId,
    /// The value used: what was asked, clamped into the parameter's range.
    pub value: f32,
    /// What was asked, when it was out of range.
    pub clamped_from: Option<f32>,
}

fn parse_assignment(text: &str) -> Result<Assignment, String> {
    let (id, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected PARAM=VALUE, e.g. b2_gain=-3dB (got '{}')", excerpt(text)))?;
    let id = id.trim();
    let Some(param) = ParamId::from_id(id) else {
        let hint = match closest_id(id) {
            Some(close) => format!("did you mean '{close}'?"),
            None => format!("valid ids: {}", PARAMS.iter().map(|p| p.id).collect::<Vec<_>>().join(", ")),
        };
        return Err(format!(
            "unknown parameter '{}'; {hint} (`audiocollab params` lists them with ranges)",
            excerpt(id)
        ));
    };
    let spec = param.spec();
    let requested = spec.parse_unclamped(value).map_err(|e| e.to_string())?;
    let value = spec.clamp(requested);
    Ok(Assignment { param, value, clamped_from: (value != requested).then_some(requested) })
}

/// The parameter id nearest to a mistyped one, if it is plausibly a typo (edit distance ≤ 2).
fn closest_id(id: &str) -> Option<&'static str> {
    // Farther than 2 edits from every id by its length alone (and a long one costs time).
    if id.chars().nth(PARAMS.iter().map(|p| p.id.len()).max().unwrap_or(0) + 2).is_some() {
        return None;
    }
    let id = id.to_lowercase();
    PARAMS
        .iter()
        .map(|p| (edit_distance(&id, p.id), p.id))
        .filter(|&(d, _)| d <= 2)
        .min_by_key(|&(d, _)| d)
        .map(|(_, id)| id)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (prev + usize::from(ca != cb)).min(row[j] + 1).min(row[j + 1] + 1);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

pub fn params_table() -> String {
    let rows: Vec<[String; 4]> = PARAMS
        .iter()
        .map(|p| {
            let range = match p.kind {
                Kind::Float { min, max, .. } => format!("{} .. {}", p.format(min), p.format(max)),
                Kind::Toggle => "Off | On".to_string(),
                Kind::Choice(options) => options.join(" | "),
            };
            [p.id.to_string(), p.name.to_string(), range, p.format(p.default)]
        })
        .collect();
    let header = ["ID", "NAME", "RANGE", "DEFAULT"].map(String::from);
    let widths: Vec<usize> =
        (0..3).map(|c| rows.iter().chain([&header]).map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in [&header].into_iter().chain(&rows) {
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    }
    out.push_str("\nSet with `audiocollab render IN OUT --set ID=VALUE`; units are optional (120Hz, 2.5k, -3dB, 40ms, L30, 75%, on).\n");
    out
}

pub fn render(args: RenderArgs) -> Result<(), Failure> {
    let mut settings = Settings::default();
    for a in &args.set {
        if let Some(requested) = a.clamped_from {
            let spec = a.param.spec();
            let (min, max) = spec.range();
            eprintln!(
                "note: {}={} is outside {} … {}; using {}",
                spec.id,
                spec.format(requested),
                spec.format(min),
                spec.format(max),
                spec.format(a.value)
            );
        }
        settings.set(a.param, a.value);
    }
    if let Some(path) = &args.apply {
        apply_reply(path, &mut settings)?;
    }
    let format = WavFormat::from(args.bits);
    let interactive = io::stderr().is_terminal();

    // Fail fast on a bad output path, before spending minutes decoding and rendering.
    offline::check_writable(&args.output).map_err(|e| Failure::new(EXIT_OUTPUT, e))?;
    let info = offline::probe(&args.input).map_err(|e| Failure::new(EXIT_INPUT, e))?;
    if let Some(channels) = info.channels.filter(|&c| c > 2) {
        // Checked before decoding for the same reason; `render` checks again after decoding
        // because not every header states the channel count.
        return Err(Failure::new(EXIT_INPUT, input_channels_error(&args.input, channels)));
    }
    if let Some(sample_rate) = info.sample_rate {
        let (min, max) = SAMPLE_RATE_RANGE;
        if !(min..=max).contains(&sample_rate) {
            let reason = RenderError::UnsupportedSampleRate { sample_rate };
            return Err(Failure::new(EXIT_INPUT, anyhow!("cannot render '{}': {reason}", args.input.display())));
        }
    }

    // Decoded, processed and written in blocks: memory does not depend on the file's length.
    let mut progress = FileProgress::new("rendering", &info, interactive);
    let rendered =
        offline::render_file(&args.input, &args.output, &settings, format, RENDER_BLOCK, &mut |done, total| {
            progress.update(done, total)
        });
    progress.finish();
    let rendered = rendered.map_err(|e| match e {
        RenderFileError::Decode(e) => Failure::new(EXIT_INPUT, e),
        RenderFileError::Write(e) => Failure::new(EXIT_OUTPUT, e),
        RenderFileError::Render(RenderError::UnsupportedChannels { channels }) => {
            Failure::new(EXIT_INPUT, input_channels_error(&args.input, channels))
        }
        // The file is fine, the chain cannot take it: an unsupported input, like >2 channels.
        RenderFileError::Render(e @ RenderError::UnsupportedSampleRate { .. }) => {
            Failure::new(EXIT_INPUT, anyhow!("cannot render '{}': {e}", args.input.display()))
        }
        RenderFileError::Render(other) => {
            Failure::new(EXIT_OTHER, anyhow!("cannot render '{}': {other}", args.input.display()))
        }
    })?;
    warn_concealed(&args.input, &rendered.decoded, rendered.sample_rate);
    if !rendered.decoded.non_finite.is_empty() {
        eprintln!("{}", non_finite_warning(&args.input, &rendered.decoded.non_finite));
    }
    if rendered.written.clipped_samples > 0 {
        eprintln!(
            "warning: {} samples above 0 dBFS were clipped in the {} output; use --bits 32f to keep them",
            rendered.written.clipped_samples,
            format.label()
        );
    }

    print_stdout(&summary(&args, &rendered, &settings, format))
}

/// Reads an assistant reply from `path` (untrusted JSON), validates it against `settings` and
/// applies it, telling on stderr what was applied, adjusted or refused.
fn apply_reply(path: &Path, settings: &mut Settings) -> Result<(), Failure> {
    use audiocollab_assistant::actions::{ChangeSet, Proposal, WireReply};
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::new(EXIT_INPUT, anyhow!("cannot read '{}': {e}", path.display())))?;
    let reply: WireReply = serde_json::from_str(&text).map_err(|e| {
        Failure::new(
            EXIT_INPUT,
            anyhow!(
                "'{}' is not an assistant reply (see assets/schema/reply.schema.json): {}",
                path.display(),
                json_error(&e)
            ),
        )
    })?;
    let set = ChangeSet::try_from(Proposal { reply: &reply, current: settings })
        .map_err(|e| Failure::new(EXIT_INPUT, anyhow!("'{}': {e}", path.display())))?;
    for c in set.changes() {
        let adjusted = if c.adjustments.is_empty() { "" } else { " (adjusted by the validator)" };
        eprintln!("applying {}{adjusted}: {}", c.describe(), c.reason);
    }
    for r in set.rejected() {
        eprintln!("warning: refused {}: {}", r.param, r.reason);
    }
    set.apply(settings);
    Ok(())
}

/// Stretches listed by [`non_finite_warning`]; the rest are counted.
const LISTED_PLACES: usize = 5;

/// What the decoder did with NaN and infinite samples, and where they were (stretches less
/// than a second apart are one place, as in the analysis's findings).
fn non_finite_warning(path: &Path, found: &NonFinite) -> String {
    let spans = found.spans(1.0);
    let mut places: Vec<String> =
        spans.iter().take(LISTED_PLACES).map(|s| clock_span_tenths(s.start_s, s.end_s, Lang::En)).collect();
    if spans.len() > LISTED_PLACES {
        places.push(format!("and {} more places", spans.len() - LISTED_PLACES));
    }
    format!(
        "warning: {} samples of '{}' were NaN or infinite; they were replaced by interpolating between \
         their neighbours, at {}",
        found.samples,
        path.display(),
        places.join(", ")
    )
}

fn input_channels_error(path: &Path, channels: usize) -> anyhow::Error {
    let reason = RenderError::UnsupportedChannels { channels };
    anyhow!("cannot render '{}': {reason}", path.display())
}

fn summary(args: &RenderArgs, rendered: &offline::RenderSummary, settings: &Settings, format: WavFormat) -> String {
    let channels = match rendered.channels {
        1 => "mono".to_string(),
        2 => "stereo".to_string(),
        n => format!("{n} channels"),
    };
    let changed: Vec<String> =
        settings.changed().map(|(p, v)| format!("{}={}", p.spec().id, p.spec().format(v))).collect();
    let changed = if changed.is_empty() { "none (default settings)".to_string() } else { changed.join(", ") };
    let peak = gain_to_db(f64::from(rendered.rendered.peak));
    let peak = if peak.is_finite() { format!("{peak:.2} dBFS") } else { "-inf dBFS (silence)".to_string() };
    format!(
        "rendered '{}' -> '{}': {:.2} s, {} Hz, {channels}, {}; changed: {changed}; output peak {peak}\n",
        args.input.display(),
        args.output.display(),
        rendered.duration_secs(),
        rendered.sample_rate,
        format.label(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_parse_units_and_reject_unknown_ids_with_a_suggestion() {
        let a = parse_assignment("hp_freq=120Hz").unwrap();
        assert_eq!((a.param, a.value), (ParamId::HpFreq, 120.0));
        let a = parse_assignment(" b2_gain = -3 dB").unwrap();
        assert_eq!((a.param, a.value), (ParamId::Bell2Gain, -3.0));
        let err = parse_assignment("b2_gian=-3dB").unwrap_err();
        assert!(err.contains("did you mean 'b2_gain'"), "{err}");
        let err = parse_assignment("nope=1").unwrap_err();
        assert!(err.contains("unknown parameter 'nope'") && err.contains("out_gain"), "{err}");
        assert!(parse_assignment("b2_gain").unwrap_err().contains("PARAM=VALUE"));
        assert!(parse_assignment("b2_gain=loud").unwrap_err().contains("b2_gain"));
        let a = parse_assignment("b1_gain=40dB").unwrap();
        assert_eq!((a.value, a.clamped_from), (18.0, Some(40.0)), "out of range is clamped and remembered");
    }

    #[test]
    fn the_non_finite_warning_counts_and_locates() {
        let found = NonFinite {
            samples: 9,
            total: 48_000 * 20,
            sample_rate: 48_000,
            frames: (0..7).map(|k| (k * 20, 1)).chain([(141, 2)]).collect(),
        };
        let text = non_finite_warning(Path::new("in.wav"), &found);
        assert!(text.starts_with("warning: 9 samples of 'in.wav' were NaN or infinite"), "{text}");
        assert!(
            text.ends_with(
                "at 0:00.0–0:00.1, 0:02.0–0:02.1, 0:04.0–0:04.1, 0:06.0–0:06.1, 0:08.0–0:08.1, and 3 more places"
            ),
            "{text}"
        );
    }

    #[test]
    fn params_table_lists_every_parameter_once() {
        let table = params_table();
        for p in &PARAMS {
            assert_eq!(table.lines().filter(|l| l.starts_with(&format!("{} ", p.id))).count(), 1, "{}", p.id);
        }
        assert!(table.contains("20 Hz .. 1.00 kHz"), "hp_freq range\n{table}");
    }
}
