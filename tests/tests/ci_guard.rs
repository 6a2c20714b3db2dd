//! The CI's guards, run for real.
//!
//! * Dependencies (`.ci/check-pkg-config`): a pkg-config module the build probed must come from a
//!   Debian package `.ci/apt-packages.txt` installs. Checked against the real package database,
//!   with `jack` — the module whose package was once missing from the list while developers had
//!   it installed by hand.
//! * Layers (`.ci/check-layers`): no crate's `cargo tree` holds a package `.ci/layers.txt`
//!   forbids it (the core crate no plugin framework, window, async runtime or network; the plugin
//!   no command-line parsing or PNG).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

static RUN: AtomicUsize = AtomicUsize::new(0);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// Runs the guard on a log holding `calls` (one pkg-config invocation per line) with the
/// package list `packages` (None: the repository's own).
fn guard(calls: &str, packages: Option<&str>, fresh: bool) -> Output {
    let dir = std::env::temp_dir().join(format!(
        "audiocollab-guard-{}-{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("pkg-config.log");
    std::fs::write(&log, calls).unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg(workspace_root().join(".ci/check-pkg-config"));
    if fresh {
        cmd.arg("--fresh");
    }
    cmd.arg(&log);
    if let Some(list) = packages {
        let file = dir.join("apt-packages.txt");
        std::fs::write(&file, list).unwrap();
        cmd.env("AUDIOCOLLAB_APT_PACKAGES", &file);
    }
    let out = cmd.output().expect("run .ci/check-pkg-config");
    std::fs::remove_dir_all(&dir).ok();
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_repository_list_provides_every_module_the_build_probes() {
    // What jack-sys, alsa-sys and x11-dl ask (pkg-config crate's argument form).
    let calls = "--libs --cflags jack\n--libs --cflags alsa\n--libs --cflags x11\n--modversion x11-xcb\n";
    let out = guard(calls, None, true);
    assert!(out.status.success(), "guard refused the repository's own list:\n{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("'jack' from 'libjack-jackd2-dev'"), "{said}");
    assert!(said.contains("'alsa' from 'libasound2-dev'"), "{said}");
}

#[test]
fn a_module_from_an_unlisted_package_fails_naming_the_package() {
    // The list as it was before jack's package was added.
    let list = "pkg-config\nlibasound2-dev\nlibx11-dev\n";
    let out = guard("--libs --cflags alsa\n--libs --cflags jack\n", Some(list), true);
    assert!(!out.status.success(), "guard passed without libjack-jackd2-dev listed");
    let err = stderr(&out);
    assert!(err.contains("'jack'") && err.contains("'libjack-jackd2-dev'"), "{err}");
    assert!(!err.contains("'alsa'"), "alsa is listed, only jack should be named: {err}");
}

#[test]
fn a_module_pulled_in_by_a_listed_package_passes() {
    // libx11-dev depends on libxcb1-dev (xcb.pc): installing the list brings it.
    let out = guard("--libs --cflags xcb\n", Some("libx11-dev\n"), true);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn an_empty_log_fails_a_fresh_build_only() {
    let fresh = guard("", None, true);
    assert!(!fresh.status.success());
    assert!(stderr(&fresh).contains("PKG_CONFIG"), "{}", stderr(&fresh));
    assert!(guard("", None, false).status.success());
}

/// Runs the layering guard with `rules` written to a file (None: the repository's own).
fn layers(rules: Option<&str>) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(workspace_root().join(".ci/check-layers"));
    let dir = std::env::temp_dir().join(format!(
        "audiocollab-layers-{}-{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    ));
    if let Some(rules) = rules {
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("layers.txt");
        std::fs::write(&file, rules).unwrap();
        cmd.arg(&file);
    }
    let out = cmd.output().expect("run .ci/check-layers");
    std::fs::remove_dir_all(&dir).ok();
    out
}

#[test]
fn the_workspace_keeps_its_layers() {
    let out = layers(None);
    assert!(out.status.success(), "the layering guard failed:\n{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    for crate_name in ["audiocollab-core", "audiocollab-assistant", "audiocollab", "audiocollab-cli"] {
        assert!(said.contains(&format!("'{crate_name}' holds none of:")), "{crate_name} unchecked:\n{said}");
    }
    assert!(said.contains("'audiocollab-core' holds none of: nice-plug nice-plug-egui egui tokio reqwest"), "{said}");
    assert!(said.contains("'audiocollab' holds none of: clap png"), "{said}");
}

#[test]
fn a_forbidden_dependency_fails_naming_it_and_the_path_that_brings_it() {
    // serde reaches the core crate directly and through serde_json; the CLI really links clap.
    let out = layers(Some("# a comment\naudiocollab-core: serde egui\naudiocollab-cli: clap\n"));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("'audiocollab-core' depends on 'serde'"), "{err}");
    assert!(err.contains("serde_json"), "the path through serde_json is not shown:\n{err}");
    assert!(err.contains("'audiocollab-cli' depends on 'clap'"), "{err}");
    assert!(!err.contains("'egui'"), "egui is not in the core crate's tree:\n{err}");
}

#[test]
fn a_rule_for_a_crate_that_does_not_exist_fails() {
    let out = layers(Some("audiocollab-dsp: egui\n"));
    assert!(!out.status.success(), "a misspelt crate passed:\n{}", String::from_utf8_lossy(&out.stdout));
    let out = layers(Some("# nothing but comments\n"));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no rule"), "{}", stderr(&out));
}
