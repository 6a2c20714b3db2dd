//! The product, run exactly as a user runs it: the `audiocollab` binary's `analyze --json`
//! (what it finds), then `suggest --json` → `render --apply` (what it does about it), with the
//! embedded engine and no user configuration.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

use anyhow::{bail, Context as _, Result};
use serde::Serialize;
use serde_json::Value;

/// The platform judged against: Spotify, −14 LUFS, −1 dBTP (`assets/targets/platforms.json`).
pub const PLATFORM: &str = "spotify";
/// Its loudness target, LUFS.
pub const TARGET_LUFS: f64 = -14.0;
/// Its true-peak ceiling, dBTP.
pub const CEILING_DBTP: f64 = -1.0;
/// The genre judged against (the product's default).
pub const GENRE: &str = "neutral";

/// One finding of `analyze --json`.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// Its kind (`mud`, `clipping`…).
    pub kind: String,
    /// `info`, `warning` or `problem`.
    pub severity: String,
}

/// One change `suggest --json` proposed.
#[derive(Clone, Debug, Serialize)]
pub struct Change {
    /// Parameter id.
    pub param: String,
    /// Its value or delta, as written.
    pub value: Value,
}

/// What the product made of one input file.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// `analyze --json`'s findings.
    pub findings: Vec<Finding>,
    /// `suggest --json`'s changes.
    pub changes: Vec<Change>,
    /// `warning: refused …` lines of `suggest` and `render` (the validator's refusals).
    pub refused: Vec<String>,
}

/// Runs analyze, suggest and render on `input`, writing the render to `output` and the
/// suggestion to `changes`. `home` is an empty folder standing in for the user's.
pub fn run_product(bin: &Path, home: &Path, input: &Path, changes: &Path, output: &Path) -> Result<Outcome> {
    let target = ["--platform", PLATFORM, "--genre", GENRE];
    let analysis = json(&run(bin, home, &[OsStr::new("analyze"), input.as_os_str(), OsStr::new("--json")], &target)?)?;
    let file = &analysis["files"][0];
    if file["ok"] != Value::Bool(true) {
        bail!("analyze failed on {}: {}", input.display(), file["error"]);
    }
    let findings = file["analysis"]["findings"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|f| Finding {
                    kind: f["kind"].as_str().unwrap_or("").to_string(),
                    severity: f["severity"].as_str().unwrap_or("").to_string(),
                })
                .collect()
        })
        .unwrap_or_default();

    let suggested = run(
        bin,
        home,
        &[
            OsStr::new("suggest"),
            input.as_os_str(),
            OsStr::new("--json"),
            OsStr::new("--provider"),
            OsStr::new("embedded"),
        ],
        &target,
    )?;
    std::fs::write(changes, &suggested.stdout).with_context(|| format!("cannot write {}", changes.display()))?;
    let reply = json(&suggested)?;
    let changes_list = reply["changes"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|c| Change {
                    param: c["param"].as_str().unwrap_or("").to_string(),
                    value: if c["value"].is_null() { c["delta"].clone() } else { c["value"].clone() },
                })
                .collect()
        })
        .unwrap_or_default();

    let rendered = run(
        bin,
        home,
        &[OsStr::new("render"), input.as_os_str(), output.as_os_str(), OsStr::new("--apply"), changes.as_os_str()],
        &[],
    )?;
    let refused = [&suggested, &rendered]
        .iter()
        .flat_map(|o| String::from_utf8_lossy(&o.stderr).lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| l.starts_with("warning: refused"))
        .collect();
    Ok(Outcome { findings, changes: changes_list, refused })
}

fn run(bin: &Path, home: &Path, args: &[&OsStr], extra: &[&str]) -> Result<Output> {
    let out = Command::new(bin)
        .args(args)
        .args(extra)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env_remove("OPENAI_API_KEY")
        .env_remove("ANTHROPIC_API_KEY")
        .output()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    if !out.status.success() {
        bail!(
            "`audiocollab {}` failed ({}): {}",
            args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out)
}

fn json(out: &Output) -> Result<Value> {
    serde_json::from_slice(&out.stdout).context("the command's --json output is not JSON")
}
