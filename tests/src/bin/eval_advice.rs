//! `eval-advice`: the advice evaluation on real music (docs/advice.md). Run it with
//! `cargo xtask eval-advice [OPTIONS]`, which builds it and the `audiocollab` binary in release;
//! it runs `AUDIOCOLLAB_BIN` if set, else the `audiocollab` next to it.

use std::path::PathBuf;
use std::process::ExitCode;

use integration::advice_eval::corpus::{self, Set};
use integration::advice_eval::defects::Kind;
use integration::advice_eval::{run, Config, Plan};

const USAGE: &str = "\
usage: eval-advice [OPTIONS]

Injects known defects into clean excerpts of released music (Debian packages, see
docs/advice.md), runs `audiocollab suggest --json` -> `render --apply` on each, and
re-measures the result against the clean excerpt.

options:
  --quick              4 excerpts per set, 4 defects each (about a minute)
  --set SET            tuning, held-out or both (default both)
  --excerpts N         excerpts per set, spread over its tracks (default: every track)
  --kinds-per-excerpt N  defects per excerpt, taken in turn (default 13: every kind)
  --kinds K1,K2,...    only these kinds, on every excerpt (ids as in the report)
  --seed N             seed of the defect draws (default 11)
  --excerpt-s S        excerpt length in seconds (default 25)
  --jobs N             excerpts run at once (default: the number of CPUs)
  --json FILE          also write the full report (every case) as JSON to FILE
  --keep DIR           keep every case's files in DIR
  -v, --verbose        one line per case on stderr
  -h, --help           this text";

fn main() -> ExitCode {
    match main_inner() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// `AUDIOCOLLAB_BIN`, or the `audiocollab` built next to this program (`cargo xtask
/// eval-advice` builds both in release).
fn audiocollab_binary() -> anyhow::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("AUDIOCOLLAB_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let exe = std::env::current_exe()?;
    let bin = exe.with_file_name(format!("audiocollab{}", std::env::consts::EXE_SUFFIX));
    anyhow::ensure!(
        bin.is_file(),
        "{} does not exist: run `cargo xtask eval-advice`, or build it (`cargo build --release -p audiocollab-cli`) \
         or point AUDIOCOLLAB_BIN at one",
        bin.display()
    );
    Ok(bin)
}

fn main_inner() -> anyhow::Result<ExitCode> {
    let mut args = std::env::args().skip(1);
    let mut sets = vec![Set::Tuning, Set::HeldOut];
    let (mut per_set, mut kinds_per_excerpt, mut only_kinds) = (None, Kind::ALL.len(), None::<Vec<Kind>>);
    let (mut seed, mut excerpt_s, mut json, mut keep, mut verbose) = (11u64, corpus::EXCERPT_S, None, None, false);
    let mut jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    let value = |args: &mut dyn Iterator<Item = String>, name: &str| {
        args.next().ok_or_else(|| anyhow::anyhow!("{name} needs a value\n\n{USAGE}"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => {
                per_set = Some(4);
                kinds_per_excerpt = 4;
            }
            "--set" => {
                sets = match value(&mut args, "--set")?.as_str() {
                    "tuning" => vec![Set::Tuning],
                    "held-out" => vec![Set::HeldOut],
                    "both" => vec![Set::Tuning, Set::HeldOut],
                    other => anyhow::bail!("--set: '{other}' is not tuning, held-out or both"),
                }
            }
            "--excerpts" => per_set = Some(value(&mut args, "--excerpts")?.parse()?),
            "--kinds-per-excerpt" => kinds_per_excerpt = value(&mut args, "--kinds-per-excerpt")?.parse()?,
            "--kinds" => {
                let list = value(&mut args, "--kinds")?;
                only_kinds = Some(
                    list.split(',')
                        .map(|k| Kind::from_id(k.trim()).ok_or_else(|| anyhow::anyhow!("--kinds: unknown kind '{k}'")))
                        .collect::<anyhow::Result<_>>()?,
                );
            }
            "--seed" => seed = value(&mut args, "--seed")?.parse()?,
            "--excerpt-s" => excerpt_s = value(&mut args, "--excerpt-s")?.parse()?,
            "--jobs" => jobs = value(&mut args, "--jobs")?.parse()?,
            "--json" => json = Some(PathBuf::from(value(&mut args, "--json")?)),
            "--keep" => keep = Some(PathBuf::from(value(&mut args, "--keep")?)),
            "-v" | "--verbose" => verbose = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            other => anyhow::bail!("unknown option '{other}'\n\n{USAGE}"),
        }
    }
    anyhow::ensure!((5.0..=120.0).contains(&excerpt_s), "--excerpt-s must be within 5 … 120 s");
    let plan = Plan::Spread { per_set, kinds_per_excerpt, only: only_kinds };
    let work = keep.clone().unwrap_or_else(|| std::env::temp_dir().join(format!("eval-advice-{}", std::process::id())));
    let config = Config {
        seed,
        excerpt_s,
        sets,
        plan,
        jobs,
        bin: audiocollab_binary()?,
        work: work.clone(),
        keep: keep.is_some(),
        verbose,
    };
    let report = run(&config)?;
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&work);
    }
    print!("{}", report.text());
    if let Some(path) = json {
        std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")?;
        eprintln!("wrote {}", path.display());
    }
    Ok(if report.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
