//! `cargo xtask`: nice-plug's bundler, plus the command-line tool beside the bundles.
//!
//! `cargo xtask bundle audiocollab [cargo build options]` builds the plugin and the
//! `audiocollab` command line (package `audiocollab-cli`) in one `cargo build`, bundles the
//! plugin (`.clap`, `.vst3`) and copies the command line to `target/bundled/audiocollab`.
//! `cargo xtask eval-advice [OPTIONS]` runs the advice evaluation on real music
//! (`cargo run --release -p integration --bin eval-advice -- OPTIONS`; docs/advice.md).
//! Anything else goes to nice-plug's bundler as it is.

use std::path::{Path, PathBuf};

/// The plugin's package.
const PLUGIN_PACKAGE: &str = "audiocollab";
/// The command line's package and binary.
const CLI_PACKAGE: &str = "audiocollab-cli";
const CLI_NAME: &str = "audiocollab";
/// Display name in `bundler.toml`: the bundler copies a binary named like the plugin's package
/// (here the command line, built beside it) as a "standalone" under this name.
const BUNDLE_NAME: &str = "AudioCollab Assistant";

fn main() -> nice_plug_xtask::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [command, package, build_args @ ..] if command == "bundle" && package == PLUGIN_PACKAGE => {
            bundle_with_cli(build_args)
        }
        [command, options @ ..] if command == "eval-advice" => eval_advice(options),
        _ => nice_plug_xtask::main_with_args("cargo xtask", args),
    }
}

/// Builds the plugin and the command line together, bundles the plugin, copies the command line.
fn bundle_with_cli(build_args: &[String]) -> nice_plug_xtask::Result<()> {
    nice_plug_xtask::chdir_workspace_root()?;
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    nice_plug_xtask::build(&[PLUGIN_PACKAGE.to_string(), CLI_PACKAGE.to_string()], build_args)?;
    nice_plug_xtask::bundle(&target, PLUGIN_PACKAGE, build_args, false)?;
    let bundled = target.join("bundled");
    let misnamed = bundled.join(BUNDLE_NAME);
    if misnamed.is_file() {
        std::fs::remove_file(&misnamed)?;
    }
    let built = target.join(profile_dir(build_args)).join(format!("{CLI_NAME}{}", std::env::consts::EXE_SUFFIX));
    let copied = bundled.join(built.file_name().unwrap_or(CLI_NAME.as_ref()));
    std::fs::copy(&built, &copied)?;
    println!("Copied the command-line tool to '{}'", copied.display());
    Ok(())
}

/// Builds the `audiocollab` binary in release, then runs the evaluation binary in release
/// (which runs the `audiocollab` beside it), passing `options` through; exits with its status.
fn eval_advice(options: &[String]) -> nice_plug_xtask::Result<()> {
    nice_plug_xtask::chdir_workspace_root()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let built = std::process::Command::new(&cargo)
        .args(["build", "--release", "--quiet", "-p", CLI_PACKAGE, "--bin", CLI_NAME])
        .status()?;
    if !built.success() {
        std::process::exit(built.code().unwrap_or(1));
    }
    let status = std::process::Command::new(cargo)
        .args(["run", "--release", "--quiet", "-p", "integration", "--bin", "eval-advice", "--"])
        .args(options)
        .status()?;
    std::process::exit(status.code().unwrap_or(1));
}

/// The folder under the target directory that cargo builds `build_args` into.
fn profile_dir(build_args: &[String]) -> &Path {
    let mut dir = "debug";
    let mut args = build_args.iter();
    while let Some(arg) = args.next() {
        let profile = match arg.as_str() {
            "--release" => Some("release"),
            "--profile" => args.next().map(String::as_str),
            other => other.strip_prefix("--profile="),
        };
        if let Some(profile) = profile {
            dir = if profile == "dev" { "debug" } else { profile };
        }
    }
    Path::new(dir)
}
